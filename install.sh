#!/usr/bin/env bash
# Installs supd and supctl (the native binaries of ./build.sh) with their directories and systemd unit.
# Idempotent: run it again to upgrade; job files, logs and state are never touched.
#
#   sudo ./install.sh                       build if needed, install under /usr/local, then:
#                                           systemctl daemon-reload && systemctl enable --now supd
#   ./install.sh --destdir /tmp/root        stage everything under /tmp/root (packaging, tests); DESTDIR=… works too
#
# Options: --prefix DIR (default /usr/local: DIR/bin, DIR/share), --destdir DIR, --bin-from DIR (default
# artifacts/bin), --no-systemd (skip the unit, e.g. in a container).
set -euo pipefail
repo="$(cd "$(dirname "$0")" && pwd)"
prefix=/usr/local
destdir="${DESTDIR:-}"
from="$repo/artifacts/bin"
systemd=true

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --destdir) destdir="$2"; shift 2 ;;
        --bin-from) from="$2"; shift 2 ;;
        --no-systemd) systemd=false; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [ ! -x "$from/supd" ] || [ ! -x "$from/supctl" ]; then
    [ "$from" = "$repo/artifacts/bin" ] || { echo "install.sh: no supd and supctl in $from" >&2; exit 1; }
    echo "install.sh: building the native binaries first (./build.sh)"
    "$repo/build.sh"
fi

root="${destdir%/}"
say() { echo "  $*"; }

# Binaries: install(1) replaces the file (a running supd keeps its old inode), so upgrading in place is safe.
install -d -m 0755 "$root$prefix/bin"
install -m 0755 "$from/supd" "$from/supctl" "$root$prefix/bin/"
say "$prefix/bin/supd, $prefix/bin/supctl"
# supd's exec helper, found beside supd (without it supd runs itself as the helper, ~4x slower per spawn).
if [ -x "$from/supd-exec" ]; then
    install -m 0755 "$from/supd-exec" "$root$prefix/bin/"
    say "$prefix/bin/supd-exec"
fi

# supd's directories as root (the defaults of docs/ARCHITECTURE.md): jobs, logs, state. Existing ones keep their
# contents and mode.
for dir in /etc/supd/init:0755 /var/log/supd:0750 /var/lib/supd:0750; do
    path="${dir%%:*}" mode="${dir##*:}"
    if [ ! -d "$root$path" ]; then install -d -m "$mode" "$root$path"; say "$path (created)"; else say "$path (kept)"; fi
done

# Completion and documentation.
if [ -f "$repo/completion/supctl.bash" ]; then
    install -D -m 0644 "$repo/completion/supctl.bash" "$root$prefix/share/bash-completion/completions/supctl"
    say "$prefix/share/bash-completion/completions/supctl"
fi
install -d -m 0755 "$root$prefix/share/doc/supd"
install -m 0644 "$repo/README.md" "$root$prefix/share/doc/supd/"
for doc in "$repo"/docs/*.md; do install -m 0644 "$doc" "$root$prefix/share/doc/supd/"; done
say "$prefix/share/doc/supd/"

# The systemd unit, pointing at the binary just installed.
if $systemd; then
    unit="$root/etc/systemd/system/supd.service"
    install -d -m 0755 "$(dirname "$unit")"
    sed -e "s|/usr/local/bin/supd|$prefix/bin/supd|g" -e "s|/usr/local/share/doc|$prefix/share/doc|g" \
        "$repo/samples/systemd/supd.service" > "$unit.tmp"
    chmod 0644 "$unit.tmp"
    mv "$unit.tmp" "$unit"
    say "/etc/systemd/system/supd.service"
    if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl daemon-reload
        say "systemctl daemon-reload done; start it with: systemctl enable --now supd"
    fi
fi

echo "installed: $("$root$prefix/bin/supd" --version)"

# An upgrade of a running supd: it re-executes the new binary in place (same pid, every job left running). One that
# cannot (an older supd without daemon-reexec, or a job that would not come to rest) keeps running the old binary
# until it is restarted.
if [ -z "$root" ] && "$prefix/bin/supctl" version >/dev/null 2>&1; then
    if "$prefix/bin/supctl" daemon-reexec; then
        say "the running supd now runs the new binary; its jobs kept running"
    else
        say "the running supd still runs the old binary: restart it when its jobs may stop (systemctl restart supd)"
    fi
fi
