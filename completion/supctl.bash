# bash completion for supctl (install.sh puts it in PREFIX/share/bash-completion/completions/supctl).
# Completes verbs (read from `supctl --help`, so new verbs need no change here), options, and job names from
# `supctl list` on the same socket as the command line names (--socket PATH), for the verbs that take a job.
#
# `supctl completion bash [NAME…]` prints this script with _supctl_bin set to that supctl's own path, so completion
# needs no setup and works through an alias or a path: source <(supctl completion bash) in ~/.bashrc. Installed as
# it is here, _supctl_bin stays empty and the command word itself (supctl in PATH, or a path to it) is run.
_supctl_bin=""

_supctl_verbs() {
    "$1" --help 2>/dev/null | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }'
}

_supctl() {
    local cur prev program socket="" verb="" i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    program="${_supctl_bin:-${COMP_WORDS[0]}}"

    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --socket) socket="${COMP_WORDS[i+1]}"; ((i++)) ;;
            --socket=*) socket="${COMP_WORDS[i]#--socket=}" ;;
            -*) ;;
            *) [ -z "$verb" ] && verb="${COMP_WORDS[i]}" ;;
        esac
    done

    if [ "$prev" = "--socket" ]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--socket --json --help $([ -n "$verb" ] && "$program" "$verb" --help 2>/dev/null | grep -o -- ' --[a-z-]*' | sort -u)" -- "$cur"))
        return
    fi
    if [ -z "$verb" ]; then
        COMPREPLY=($(compgen -W "$(_supctl_verbs "$program")" -- "$cur"))
        return
    fi
    case "$verb" in
        status|start|stop|restart|reload|disable|enable|usage|is-running|show-config|check-config|show|log)
            local jobs
            jobs="$("$program" ${socket:+--socket "$socket"} list 2>/dev/null | awk '!/^\t/ { print $1 }' | sort -u)"
            COMPREPLY=($(compgen -W "$jobs" -- "$cur"))
            ;;
        help)
            COMPREPLY=($(compgen -W "$(_supctl_verbs "$program")" -- "$cur"))
            ;;
        completion)
            [ "$prev" = completion ] && COMPREPLY=($(compgen -W "bash" -- "$cur"))
            ;;
    esac
}

complete -F _supctl supctl
