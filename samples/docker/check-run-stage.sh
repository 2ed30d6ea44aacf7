#!/usr/bin/env bash
# Replays the run stage of samples/docker/Dockerfile on a real Debian bookworm root filesystem and starts its
# ENTRYPOINT as PID 1 of new PID and mount namespaces, the way `docker run` would, then checks what the Dockerfile's
# header promises. For a machine without a Docker engine (as root; it needs the Debian mirror once, and a few minutes).
#
#   sudo samples/docker/check-run-stage.sh            (from anywhere; exits non-zero if any check FAILs)
#   BIN_DIR=DIR    take supd and supctl from DIR (default: artifacts/bin, built with ./build.sh when missing)
#   JOB_DIR=DIR    mount DIR at /etc/supd/init instead of the script's own jobs (e.g. samples/init); the checks that
#                  need the script's jobs (double fork, signal status) are then skipped
#   STOP_TIMEOUT=S how long SIGTERM may take before it counts as a failure (default 10, docker stop's own default)
#   MIRROR=URL     the Debian mirror for debootstrap (default http://deb.debian.org/debian)
#
# What it proves: the last stage's instructions (COPY of the two binaries, RUN, VOLUME, STOPSIGNAL, the exec-form
# ENTRYPOINT, all read from the Dockerfile, not copied here) give a filesystem on which supd runs as PID 1 with a
# read-only job directory mounted like `-v DIR:/etc/supd/init:ro`: `supctl list` answers from inside (like
# `docker exec`), job output reaches stdout as `JOB| line` (like `docker logs`), double-forked orphans are reaped, a
# job killed by a signal keeps its true status, the stop signal ends everything and supd exits 0 within the bound,
# and a `critical` job that fails for good makes supd exit 3.
#
# What it does not prove: it never runs `docker build` (the build stage, with its apt-get and dotnet-install network
# steps, is not replayed: the binaries come from ./build.sh on this machine), nor Docker's own runtime (runc, cgroups,
# its networking, /etc/hosts and resolv.conf, seccomp and capability limits). The root filesystem is
# `debootstrap --variant=minbase bookworm`, which is what debian:bookworm-slim is built from, near enough (the image
# additionally drops docs, man pages and locales), cached under artifacts/docker-rootfs/ and shared read-only by
# every run through an overlay, so runs are independent.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
dockerfile="$repo/samples/docker/Dockerfile"
bin_dir="${BIN_DIR:-$repo/artifacts/bin}"
stop_timeout="${STOP_TIMEOUT:-10}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
rootfs="$repo/artifacts/docker-rootfs/bookworm-minbase"
# What `docker run` puts in PID 1's environment when the image sets none.
container_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root HOSTNAME=supd-check)

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
die() { echo "check-run-stage: $*" >&2; exit 2; }
step() { echo "--- $*"; }

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, overlay mounts, PID namespaces)"
for tool in unshare nsenter mountpoint findmnt; do command -v "$tool" >/dev/null || die "needs $tool (util-linux)"; done

# --- clean-up: every container, overlay and temp dir this script made, also on failure or Ctrl-C ---
work="$(mktemp -d /tmp/supd-docker-check.XXXXXX)"
containers=()   # host pids of the `unshare` processes whose child is the container's PID 1, and of those PID 1s
overlays=()
cleanup() {
    local pid m
    # SIGKILL to a PID 1 (from outside its namespace it cannot be ignored) ends the whole namespace; --kill-child
    # does the same when unshare goes.
    for pid in "${containers[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    for pid in "${containers[@]}"; do wait "$pid" 2>/dev/null || true; done
    for m in "${overlays[@]}"; do
        if mountpoint -q "$m"; then umount "$m" 2>/dev/null || umount -l "$m" || true; fi
    done
    for m in "${overlays[@]}"; do
        if mountpoint -q "$m"; then echo "check-run-stage: $m is still mounted; leaving $work" >&2; return; fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v jq >/dev/null || { step "installing jq (to read exec-form JSON)"; apt-get install -y jq >/dev/null; }

# --- the last stage of the Dockerfile, one logical instruction per line ---
# Comment lines go (also inside continuations, as Docker drops them); a backslash-newline joins the next line.
mapfile -t stage < <(awk '
    /^[ \t]*#/ { next }
    { line = (cont ? line : "") $0; cont = sub(/\\[ \t]*$/, "", line); if (!cont && line ~ /[^ \t]/) print line }
' "$dockerfile" | awk 'toupper($1) == "FROM" { n = 0 } { s[n++] = $0 } END { for (i = 0; i < n; i++) print s[i] }')
[[ "$(awk '{ print toupper($1) }' <<<"${stage[0]:-}")" == FROM ]] || die "no FROM in $dockerfile"

entrypoint=()
cmd=()
stop_signal=TERM
volumes=()
json_strings() { # $1: a JSON array of strings, printed one per line; fails on anything else
    jq -er 'if type == "array" and all(type == "string") then .[] else error("not an array of strings") end' <<<"$1"
}
for instr in "${stage[@]}"; do
    keyword="$(awk '{ print toupper($1) }' <<<"$instr")"
    args="$(sed -E 's/^[ \t]*[^ \t]+[ \t]*//' <<<"$instr")"
    case "$keyword" in
        FROM)
            # The only base this check can stand in for.
            [[ "$(awk '{ print $1 }' <<<"$args")" == "debian:bookworm-slim" ]] \
                || die "the last stage is FROM $args; this check replays stages on debian:bookworm-slim only"
            ;;
        COPY|RUN|VOLUME|STOPSIGNAL|ENTRYPOINT|CMD) ;;
        *) die "the last stage has an instruction this check does not understand: $instr" ;;
    esac
done

# --- the base: debian:bookworm-slim's content, from the mirror once ---
unmount_under() { findmnt -rn -o TARGET | { grep -F "$1/" || true; } | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done; }
if [[ ! -x "$rootfs/bin/sh" ]]; then
    if ! command -v debootstrap >/dev/null; then
        step "installing debootstrap"
        apt-get install -y debootstrap >/dev/null
    fi
    step "debootstrap --variant=minbase bookworm (once; cached in $rootfs)"
    # debootstrap can leave its /proc mounted in the target (also when it was interrupted): the cache holds files only.
    unmount_under "$rootfs.partial"
    rm -rf "$rootfs.partial"
    mkdir -p "$(dirname "$rootfs")"
    debootstrap --variant=minbase bookworm "$rootfs.partial" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    unmount_under "$rootfs.partial"
    mv "$rootfs.partial" "$rootfs"
fi
findmnt -rn -o TARGET | grep -qF "$rootfs/" && die "something is mounted under $rootfs (findmnt); unmount it first"

# --- the binaries ---
if [[ ! -x "$bin_dir/supd" || ! -x "$bin_dir/supctl" ]]; then
    [[ -z "${BIN_DIR:-}" ]] || die "BIN_DIR=$BIN_DIR has no supd and supctl"
    step "building the native binaries (./build.sh)"
    "$repo/build.sh"
fi

# What Docker sets up around a container's process, rooted at ROOT: private mount, UTS and IPC namespaces hold a tmpfs
# /dev with the usual nodes, devpts, /dev/shm, a read-only /sys and (for a container, JOBS not empty) the job dir bound
# read-only at /etc/supd/init, plus a network namespace of its own; all of it goes away with the process. The inner
# unshare makes the PID namespace, mounts its /proc, chroots, and forks the command as PID 1 with Docker's environment.
# A RUN step of the build gets the same, with the host's network (as a build step has the network).
# shellcheck disable=SC2016
sandbox_setup='
    set -e
    root=$1 jobs=$2; shift 2
    mount -t tmpfs -o nosuid,mode=0755,size=65536k tmpfs "$root/dev"
    mknod -m 0666 "$root/dev/null" c 1 3; mknod -m 0666 "$root/dev/zero" c 1 5; mknod -m 0666 "$root/dev/full" c 1 7
    mknod -m 0666 "$root/dev/random" c 1 8; mknod -m 0666 "$root/dev/urandom" c 1 9; mknod -m 0666 "$root/dev/tty" c 5 0
    mkdir "$root/dev/pts" "$root/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts "$root/dev/pts"
    ln -s pts/ptmx "$root/dev/ptmx"
    mount -t tmpfs -o nosuid,nodev,noexec,size=65536k shm "$root/dev/shm"
    ln -s /proc/self/fd "$root/dev/fd"; ln -s /proc/self/fd/0 "$root/dev/stdin"
    ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
    mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
    if [ -n "$jobs" ]; then
        mount --bind "$jobs" "$root/etc/supd/init"
        mount -o remount,bind,ro "$root/etc/supd/init"
        hostname supd-check
    fi
    exec unshare --pid --fork --kill-child --mount-proc --root="$root" -- "$@"
'
sandbox() { # ROOT JOBS|"" COMMAND...: sets sandbox_argv, the command line to run
    local root="$1" jobs="$2" ns=(--mount --uts --ipc --propagation private)
    shift 2
    [[ -z "$jobs" ]] || ns+=(--net)
    sandbox_argv=(unshare "${ns[@]}" -- /bin/bash -c "$sandbox_setup" sandbox "$root" "$jobs"
        /usr/bin/env -i "${container_env[@]}" "$@")
}

# Applies the stage's filesystem instructions to ROOT (a fresh overlay) and reads the run-time ones.
apply_stage() {
    local root="$1" instr keyword args word from dest src srcs
    for instr in "${stage[@]}"; do
        keyword="$(awk '{ print toupper($1) }' <<<"$instr")"
        args="$(sed -E 's/^[ \t]*[^ \t]+[ \t]*//' <<<"$instr")"
        case "$keyword" in
            COPY)
                # COPY --from=STAGE /src/artifacts/bin/A [/src/artifacts/bin/B ...] DEST: the build stage's ./build.sh
                # output is this repository's artifacts/bin (or BIN_DIR).
                [[ "$args" != \[* ]] || die "COPY in JSON form is not understood: $instr"
                read -ra words <<<"$args"
                from=""
                srcs=()
                for word in "${words[@]}"; do
                    case "$word" in
                        --from=*) from="${word#--from=}" ;;
                        --*) die "COPY flag not understood: $word (in: $instr)" ;;
                        *) srcs+=("$word") ;;
                    esac
                done
                [[ -n "$from" ]] || die "COPY from the build context is not understood (only --from=the build stage): $instr"
                [[ ${#srcs[@]} -ge 2 ]] || die "COPY needs a source and a destination: $instr"
                dest="${srcs[-1]}"
                unset 'srcs[-1]'
                if [[ ${#srcs[@]} -gt 1 || "$dest" == */ ]]; then mkdir -p "$root/$dest"; fi
                for src in "${srcs[@]}"; do
                    [[ "$src" == /src/artifacts/bin/* ]] || die "COPY source outside the build's artifacts/bin: $src"
                    local file="$bin_dir/${src#/src/artifacts/bin/}"
                    [[ -f "$file" ]] || die "COPY source $src: no $file"
                    # Docker keeps the source's mode and makes root the owner.
                    local target="$root/$dest"
                    [[ -d "$target" ]] && target="$target/$(basename "$file")"
                    install -o root -g root -m "$(stat -c %a "$file")" "$file" "$target"
                    echo "COPY $src -> $dest"
                done
                ;;
            RUN)
                echo "RUN $args"
                # Its output goes to a log, shown if it fails (the build would stop there too).
                if [[ "$args" == \[* ]]; then
                    mapfile -t words < <(json_strings "$args") || die "RUN: bad JSON: $args"
                    sandbox "$root" "" "${words[@]}"
                else
                    sandbox "$root" "" /bin/sh -c "$args"
                fi
                "${sandbox_argv[@]}" </dev/null >"$root.build.log" 2>&1 \
                    || { tail -20 "$root.build.log" >&2; die "RUN failed (its output above): $instr"; }
                ;;
            VOLUME)
                if [[ "$args" == \[* ]]; then
                    mapfile -t volumes < <(json_strings "$args") || die "VOLUME: bad JSON: $args"
                else
                    read -ra volumes <<<"$args"
                fi
                for word in "${volumes[@]}"; do mkdir -p "$root/$word"; done
                ;;
            STOPSIGNAL)
                stop_signal="${args#SIG}"
                kill -l "$stop_signal" >/dev/null 2>&1 || die "STOPSIGNAL not understood: $args"
                ;;
            ENTRYPOINT|CMD)
                # The shell form would make /bin/sh PID 1, not supd: only the exec form is accepted.
                [[ "$args" == \[* ]] || die "$keyword must be in exec form (a JSON array): $instr"
                if [[ "$keyword" == ENTRYPOINT ]]; then
                    mapfile -t entrypoint < <(json_strings "$args") || die "ENTRYPOINT: bad JSON: $args"
                else
                    mapfile -t cmd < <(json_strings "$args") || die "CMD: bad JSON: $args"
                fi
                ;;
        esac
    done
    [[ ${#entrypoint[@]} -gt 0 ]] || die "the last stage has no ENTRYPOINT"
}

# --- a container: fresh overlay, the stage applied, PID 1 started; sets root, box, pid1, out, err ---
start_container() {
    local name="$1" jobs="$2" dir="$work/$1"
    mkdir -p "$dir/upper" "$dir/overlay-work" "$dir/root"
    root="$dir/root"
    mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/overlay-work" "$root"
    overlays+=("$root")
    step "container $name: the run stage on a fresh overlay"
    apply_stage "$root"
    out="$dir/stdout"
    err="$dir/stderr"
    sandbox "$root" "$jobs" "${entrypoint[@]}" "${cmd[@]}"
    "${sandbox_argv[@]}" </dev/null >"$out" 2>"$err" &
    box=$!
    containers+=("$box")
    # PID 1 is unshare's child once it has exec'd the ENTRYPOINT.
    pid1=""
    local i child
    for ((i = 0; i < 100; i++)); do
        child="$(cat "/proc/$box/task/$box/children" 2>/dev/null || true)"
        child="${child%% *}"
        if [[ -n "$child" && "$(tr '\0' '\n' 2>/dev/null <"/proc/$child/cmdline" | head -1)" == "${entrypoint[0]}" ]]; then
            pid1="$child"
            break
        fi
        kill -0 "$box" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "$pid1" ]] || { cat "$err" >&2; die "container $name: the ENTRYPOINT did not start"; }
    containers+=("$pid1")
    echo "container $name: ${entrypoint[*]}${cmd[*]:+ ${cmd[*]}} is pid $pid1 here; stdout and stderr in $out, $err"
}

# `docker exec`: a command in all of the container's namespaces and its root, with the container's environment.
in_container() {
    nsenter --target "$pid1" --mount --uts --ipc --net --pid --root --wd -- /usr/bin/env -i "${container_env[@]}" "$@"
}

# Polls a command until it succeeds or SECONDS pass.
eventually() {
    local seconds="$1" deadline
    shift
    deadline=$((SECONDS + seconds))
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# Like eventually, but gives up as soon as the container has ended.
while_running() {
    local seconds="$1" deadline
    shift
    deadline=$((SECONDS + seconds))
    until "$@"; do
        kill -0 "$pid1" 2>/dev/null && ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# Host pids of the processes in PID 1's namespace; and those among them that are zombies.
namespace_pids() {
    local ns p
    ns="$(readlink "/proc/$pid1/ns/pid")"
    for p in /proc/[0-9]*; do
        [[ "$(readlink "$p/ns/pid" 2>/dev/null)" == "$ns" ]] && echo "${p#/proc/}"
    done
    return 0
}
namespace_zombies() {
    local p stat
    for p in $(namespace_pids); do
        stat="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
        stat="${stat##*) }"
        [[ "${stat%% *}" == Z ]] && echo "$p"
    done
    return 0
}
no_zombies() { [[ -z "$(namespace_zombies)" ]]; }

# Waits up to SECONDS for the container to end; sets status to PID 1's exit status (unshare passes it on).
container_exit() {
    eventually "$1" bash -c "! kill -0 $box 2>/dev/null" || return 1
    status=0
    wait "$box" || status=$?
}

show_logs() { # the container's output, when a check failed
    echo "    stdout (last 15 lines):"; tail -15 "$out" | sed 's/^/    | /'
    echo "    stderr (last 15 lines):"; tail -15 "$err" | sed 's/^/    | /'
}

write_job() { printf '%s\n' "${@:3}" >"$1/$2.conf"; }

# --- the checks ---
own_jobs=true
if [[ -n "${JOB_DIR:-}" ]]; then
    own_jobs=false
    jobs="$(cd "$JOB_DIR" && pwd)"
else
    jobs="$work/init"
    mkdir -p "$jobs"
    write_job "$jobs" hello 'start on startup' task 'exec echo "hello from a job of PID 1"'
    write_job "$jobs" web 'start on startup' 'exec sleep 1000' 'post-stop exec echo "web stopped in order"'
    # Ignores SIGTERM: its kill timeout bounds the stop, then SIGKILL.
    write_job "$jobs" stubborn 'start on startup' 'kill timeout 1' "exec sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'"
    # Five daemons the classic way: each subshell forks, the child leaves the job's process group and session (setsid,
    # so supd's clean-up of the group at the task's end does not reach it) and the subshell exits: PID 1 inherits it.
    # The task ends only once every child has its own session (it touches a file after setsid): a child still on its
    # way there when the task ended would die with the group, and the check would count 4 of 5.
    # shellcheck disable=SC2016 # $i and $(...) are the job script's, expanded inside the container
    write_job "$jobs" forker task 'script' \
        '  for i in 1 2 3 4 5; do (setsid sh -c "touch /tmp/orphan.$i; exec sleep 3" &); done' \
        '  while [ "$(ls /tmp/orphan.* 2>/dev/null | wc -l)" -lt 5 ]; do sleep 0.05; done' \
        'end script'
    write_job "$jobs" killed task "exec sh -c 'kill -9 \$\$'"
fi

start_container main "$jobs"

ns_pid="$(awk '/^NSpid:/ { print $NF }' "/proc/$pid1/status")"
if [[ "$ns_pid" == 1 ]]; then pass "${entrypoint[0]} is PID 1 of its namespace (pid $pid1 outside)"
else fail "${entrypoint[0]} is pid $ns_pid in its namespace, not 1"; fi

if while_running 30 in_container supctl list >"$work/list" 2>&1; then
    missing=""
    for f in "$jobs"/*.conf; do
        name="$(basename "$f" .conf)"
        grep -qw -- "$name" "$work/list" || missing+=" $name"
    done
    if [[ -z "$missing" ]]; then pass "supctl list inside the container (docker exec) lists every job in the mounted dir"
    else fail "supctl list does not show:$missing"; sed 's/^/    | /' "$work/list"; fi
else
    fail "supctl list inside the container did not answer within 30 s"; sed 's/^/    | /' "$work/list"; show_logs
fi

if ! kill -0 "$pid1" 2>/dev/null; then
    fail "the container ended early; the checks that need it running are skipped"; show_logs
elif $own_jobs; then
    if while_running 15 grep -qFx 'hello| hello from a job of PID 1' "$out"; then pass "a job's output reaches stdout as 'hello| ...' (docker logs)"
    else fail "job output did not reach stdout as 'hello| hello from a job of PID 1'"; show_logs; fi

    forker_out="$(in_container supctl start forker 2>&1)" || true
    # The task has ended, so every subshell has; each child may still be on its way to exec'ing sleep.
    find_orphans() {
        orphans=()
        for p in $(namespace_pids); do
            [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" == "sleep 3 " ]] && orphans+=("$p")
        done
        [[ ${#orphans[@]} -eq 5 ]]
    }
    eventually 2 find_orphans || true
    adopted=0
    for p in "${orphans[@]}"; do
        [[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" == "$pid1" ]] && adopted=$((adopted + 1))
    done
    gone() { for p in "${orphans[@]}"; do [[ -e "/proc/$p" && "$(awk '/^State:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" != Z ]] && return 1; done; return 0; }
    if [[ $adopted -eq 5 ]] && eventually 15 gone && eventually 10 no_zombies; then
        pass "5 double-forked orphans were adopted by PID 1 and reaped: no zombie in the namespace"
    else
        fail "double fork: ${#orphans[@]} orphans found, $adopted of 5 adopted by PID 1; zombies now: $(namespace_zombies | tr '\n' ' ')"
        printf '%s\n' "supctl start forker: $forker_out" | sed 's/^/    | /'
        show_logs
    fi

    start_out="$(in_container supctl start killed 2>&1 || true)"
    status_out="$(in_container supctl status killed 2>&1 || true)"
    show_out="$(in_container supctl show killed 2>&1 || true)"
    if grep -q 'killed by signal KILL' <<<"$start_out" && grep -q 'signal KILL' <<<"$show_out$status_out"; then
        pass "a job killed by SIGKILL keeps its true status: supctl start says '$(grep -m1 -o 'main process killed by signal KILL' <<<"$start_out")', supctl status/show '$(grep -m1 'signal KILL' <<<"$show_out$status_out" | sed -E 's/^[[:space:]]+//')'"
    else
        fail "a job killed by SIGKILL does not show its true status"
        printf '%s\n' "start: $start_out" "status: $status_out" "show: $show_out" | sed 's/^/    | /'
    fi
    if in_container supctl status web 2>&1 | grep -q start/running && in_container supctl status stubborn 2>&1 | grep -q start/running; then
        pass "web and stubborn (ignores SIGTERM, kill timeout 1) are running before the stop"
    else fail "web and stubborn are not both running"; fi
else
    if while_running 15 grep -qE '^[^|[:space:]]+\| ' "$out"; then pass "job output reaches stdout as 'JOB| line' (docker logs): $(grep -m1 -E '^[^|[:space:]]+\| ' "$out")"
    else fail "no job output reached stdout as 'JOB| line' within 15 s"; show_logs; fi
    echo "SKIP: double fork and signal-status checks (they need the script's own jobs; JOB_DIR is set)"
fi

if ! kill -0 "$pid1" 2>/dev/null; then :
elif no_zombies; then pass "no zombie in the namespace before the stop"; else fail "zombies in the namespace: $(namespace_zombies | tr '\n' ' ')"; fi

start=$SECONDS
if ! kill -s "$stop_signal" "$pid1" 2>/dev/null; then
    container_exit 5 || true
    fail "PID 1 had already ended (status ${status:-unknown}) before SIG$stop_signal"
elif container_exit "$stop_timeout"; then
    if [[ "$status" == 0 ]]; then pass "SIG$stop_signal to PID 1 (docker stop): supd exited 0 after $((SECONDS - start)) s (bound ${stop_timeout} s)"
    else fail "SIG$stop_signal to PID 1: supd exited $status, not 0"; show_logs; fi
else
    fail "SIG$stop_signal to PID 1: the container still runs after ${stop_timeout} s (docker stop would SIGKILL it now)"; show_logs
fi
if $own_jobs; then
    if grep -qFx 'web| web stopped in order' "$out"; then pass "web's post-stop ran before PID 1 exited: the jobs were stopped, not killed with the namespace"
    else fail "web's post-stop output is missing: the jobs were not stopped in order"; show_logs; fi
fi

# A second, independent container: a critical job that fails for good ends it with status 3.
crit_jobs="$work/init-critical"
mkdir -p "$crit_jobs"
write_job "$crit_jobs" web 'start on startup' 'exec sleep 1000' 'post-stop exec echo "web stopped in order"'
write_job "$crit_jobs" db 'start on startup' critical respawn 'respawn limit 2 60' "exec sh -c 'sleep 0.3; exit 4'"
start_container critical "$crit_jobs"
start=$SECONDS
if container_exit 60; then
    if [[ "$status" == 3 ]] && grep -q 'Critical job db failed' "$out" "$err" && grep -qFx 'web| web stopped in order' "$out"; then
        pass "a critical job that fails for good: supd stopped web in order (its post-stop ran) and exited 3 after $((SECONDS - start)) s"
    else fail "critical job: supd exited $status, expected 3 with 'Critical job db failed' logged and web's post-stop output"; show_logs; fi
else
    fail "critical job: the container still runs after 60 s"; show_logs
fi

echo
if [[ $failures -eq 0 ]]; then echo "all checks passed"; else echo "$failures check(s) FAILED"; fi
[[ $failures -eq 0 ]]
