#!/usr/bin/env bash
# Installs supd with install.sh into a Debian bookworm that boots a real systemd (systemd-nspawn -b), enables the
# shipped unit, and checks what the unit and the README promise under systemd. As root; it needs the Debian mirror
# once (debootstrap) and a few minutes. Prints PASS/FAIL lines and exits non-zero if any check FAILs.
#
#   sudo samples/systemd/check-nspawn.sh
#   BIN_DIR=DIR    take supd and supctl from DIR (default: artifacts/bin, built with ./build.sh when missing)
#   ROOTFS=DIR     a bookworm root filesystem with systemd to use (default: artifacts/nspawn-rootfs/bookworm-systemd,
#                  made with debootstrap --include=systemd,systemd-sysv,dbus when missing); never written to: each run
#                  boots an overlay of it
#   MIRROR=URL     the Debian mirror for debootstrap (default http://deb.debian.org/debian)
#
# What it proves: Type=notify (the unit is active only once supd said READY=1), `systemctl reload` (SIGHUP, RELOADING=1
# then READY=1), supctl answering inside, the containment supd chose under systemd (Delegate=yes: a cgroup per job
# beside supd's own leaf) and its `supctl version` line, job lines in journald (`journalctl -t JOB`, with
# LogToJournal), `supctl daemon-reexec` (same MainPID, no restart, jobs kept with their pids and cgroups),
# `systemctl restart supd` and a SIGKILL of supd (Restart=on-failure) keeping every job with its pid, adopted by the
# new supd with its output pipe from systemd's fd store (every numbered line of a ticking job in its log once), and
# that no job process, not even a setsid'd one, outlives `systemctl stop supd`.
# What it does not prove: a host's systemd (the container's systemd runs under nspawn, with the cgroup hierarchy nspawn
# gives it: SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1, pure v2 here), nor a package install (see ./build.sh --deb).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin_dir="${BIN_DIR:-$repo/artifacts/bin}"
rootfs="${ROOTFS:-$repo/artifacts/nspawn-rootfs/bookworm-systemd}"
mirror="${MIRROR:-http://deb.debian.org/debian}"

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
die() { echo "check-nspawn: $*" >&2; exit 2; }
step() { echo "--- $*"; }

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, overlay mounts, systemd-nspawn)"
for tool in systemd-nspawn nsenter mountpoint; do command -v "$tool" >/dev/null || die "needs $tool (apt-get install systemd-container)"; done

work="$(mktemp -d /tmp/supd-nspawn-check.XXXXXX)"
nspawn_pid=""
cleanup() {
    if [[ -n "$nspawn_pid" ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
        # nspawn turns SIGTERM into an orderly poweroff of the container; SIGKILL if that does not end it.
        kill -TERM "$nspawn_pid" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$nspawn_pid" 2>/dev/null || true
        wait "$nspawn_pid" 2>/dev/null || true
    fi
    if mountpoint -q "$work/merged"; then umount "$work/merged" 2>/dev/null || umount -l "$work/merged" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

step "binaries"
if [[ ! -x "$bin_dir/supd" || ! -x "$bin_dir/supctl" ]]; then
    [[ -z "${BIN_DIR:-}" ]] || die "no supd/supctl in $bin_dir"
    "$repo/build.sh"
fi
echo "using $("$bin_dir/supd" --version) from $bin_dir"

step "root filesystem"
if [[ ! -x "$rootfs/lib/systemd/systemd" ]]; then
    command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install debootstrap)"
    mkdir -p "$(dirname "$rootfs")"
    debootstrap --include=systemd,systemd-sysv,dbus bookworm "$rootfs.partial" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
    mv "$rootfs.partial" "$rootfs"
fi
mkdir -p "$work/upper" "$work/overlay-work" "$work/merged"
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$work/upper,workdir=$work/overlay-work" "$work/merged"
root="$work/merged"

step "install.sh into it, the unit enabled, a few jobs"
"$repo/install.sh" --destdir "$root" --bin-from "$bin_dir" >/dev/null
systemctl --root="$root" enable supd.service >/dev/null 2>&1
install -d -m 0755 "$root/etc/supd/init"
cat >"$root/etc/supd/supd.json" <<'EOF'
{ "LogToJournal": true }
EOF
# The issue's reproduction: a stray that leaves the job's process group (setsid) must not outlive a stop.
cat >"$root/etc/supd/init/escaper.conf" <<'EOF'
start on runlevel [2345]
exec sh -c 'setsid sleep 7777 & exec sleep 8888'
EOF
cat >"$root/etc/supd/init/chatty.conf" <<'EOF'
start on runlevel [2345]
script
    echo "chatty says hello to the journal"
    echo "chatty complains on stderr" >&2
    exec sleep 9999
end script
EOF
# A steady writer of numbered lines: across a restart or a crash of supd its log must hold every line, in order.
cat >"$root/etc/supd/init/ticker.conf" <<'EOF'
start on runlevel [2345]
script
    n=0
    while true; do n=$((n + 1)); echo "tick $n"; sleep 0.05; done
end script
EOF
printf 'supd-nspawn\n' >"$root/etc/hostname"

step "boot"
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --register=no --keep-unit --quiet --console=passive \
    -b -D "$root" >"$work/console.log" 2>&1 &
nspawn_pid=$!
leader=""
for _ in $(seq 1 100); do
    leader="$(pgrep -P "$nspawn_pid" | head -1 || true)"
    [[ -n "$leader" ]] && break
    sleep 0.2
done
[[ -n "$leader" ]] || { cat "$work/console.log"; die "the container did not start"; }
inside() { nsenter -t "$leader" -a -- "$@"; }
state=""
for _ in $(seq 1 120); do
    state="$(inside systemctl is-system-running 2>/dev/null || true)"
    [[ "$state" == running || "$state" == degraded ]] && break
    sleep 0.5
done
echo "container systemd: $state"

step "Type=notify and supctl inside"
if [[ "$(inside systemctl show -p Type --value supd)" == notify && "$(inside systemctl is-active supd)" == active ]]; then
    pass "supd.service is Type=notify and active (it sent READY=1)"
else
    fail "supd.service: $(inside systemctl show -p Type,ActiveState,SubState,Result supd | tr '\n' ' ')"
fi
list="$(inside supctl list 2>&1 || true)"
if grep -q '^escaper start/running' <<<"$list" && grep -q '^chatty start/running' <<<"$list"; then
    pass "supctl list answers inside, the boot events started the jobs"
else
    fail "supctl list: $list"
fi

step "containment under systemd"
version="$(inside supctl version 2>&1 || true)"
if grep -q 'containment: cgroup v2' <<<"$version"; then pass "supctl version: $(grep containment <<<"$version")"; else fail "supctl version has no cgroup containment: $version"; fi
supd_pid="$(inside systemctl show -p MainPID --value supd)"
escaper_pid="$(inside supctl status escaper | sed -n 's/.*process \([0-9]*\).*/\1/p')"
supd_cgroup="$(inside cat "/proc/$supd_pid/cgroup" | sed -n 's/^0:://p')"
escaper_cgroup="$(inside cat "/proc/$escaper_pid/cgroup" 2>/dev/null | sed -n 's/^0:://p')"
echo "supd in $supd_cgroup, escaper's main in $escaper_cgroup"
unit_cgroup="$(inside systemctl show -p ControlGroup --value supd)"
if [[ "$supd_cgroup" == "$unit_cgroup"/* && "$escaper_cgroup" == "$unit_cgroup"/* && "$escaper_cgroup" != "$supd_cgroup" ]]; then
    pass "delegated tree: supd in its own leaf, the job in a cgroup of its own, both under $unit_cgroup"
else
    fail "cgroups: unit $unit_cgroup, supd $supd_cgroup, job $escaper_cgroup"
fi

step "reload"
if inside systemctl reload supd && [[ "$(inside systemctl is-active supd)" == active ]] && inside supctl list >/dev/null 2>&1; then
    pass "systemctl reload supd (SIGHUP, RELOADING=1 … READY=1): still active and answering"
else
    fail "systemctl reload: $(inside systemctl show -p ActiveState,SubState supd | tr '\n' ' ')"
fi

step "journald"
journal=""
for _ in $(seq 1 40); do
    journal="$(inside journalctl -q -t chatty -o cat 2>/dev/null || true)"
    grep -q "hello to the journal" <<<"$journal" && break
    sleep 0.25
done
if grep -q "chatty says hello to the journal" <<<"$journal" && grep -q "chatty complains on stderr" <<<"$journal"; then
    pass "journalctl -t chatty shows the job's lines"
else
    fail "journalctl -t chatty: '$journal'"
fi
warning="$(inside journalctl -q -t chatty -p warning -o cat 2>/dev/null || true)"
if grep -q "complains on stderr" <<<"$warning" && ! grep -q "hello" <<<"$warning"; then
    pass "stderr lines at priority warning, stdout lines below it"
else
    fail "journalctl -t chatty -p warning: '$warning'"
fi

step "supctl daemon-reexec"
# The upgrade path: supd re-executes itself (same pid, RELOADING=1 then READY=1); systemd sees no restart, the jobs
# keep their pids and their cgroups.
restarts_before="$(inside systemctl show -p NRestarts --value supd)"
if reexec="$(inside supctl daemon-reexec 2>&1)"; then
    after_pid="$(inside systemctl show -p MainPID --value supd)"
    after_escaper="$(inside supctl status escaper | sed -n 's/.*process \([0-9]*\).*/\1/p')"
    after_cgroup="$(inside cat "/proc/$after_escaper/cgroup" 2>/dev/null | sed -n 's/^0:://p')"
    if [[ "$after_pid" == "$supd_pid" && "$(inside systemctl is-active supd)" == active
          && "$(inside systemctl show -p NRestarts --value supd)" == "$restarts_before"
          && "$after_escaper" == "$escaper_pid" && "$after_cgroup" == "$escaper_cgroup"
          && "$(inside supctl version)" == *"(delegated $unit_cgroup)"* ]]; then
        pass "supctl daemon-reexec: $reexec; MainPID $supd_pid kept, unit active, no restart, escaper $escaper_pid kept in $escaper_cgroup, containment still delegated"
    else
        fail "after daemon-reexec: MainPID $after_pid (was $supd_pid), $(inside systemctl show -p ActiveState,NRestarts supd | tr '\n' ' '), escaper $after_escaper in $after_cgroup (was $escaper_pid in $escaper_cgroup), $(inside supctl version | grep containment)"
    fi
else
    fail "supctl daemon-reexec: $reexec"
fi

# The jobs' pids, one line: "escaper=PID chatty=PID ticker=PID".
job_pids() { for job in escaper chatty ticker; do printf '%s=%s ' "$job" "$(inside supctl status "$job" | sed -n 's/.*process \([0-9]*\).*/\1/p')"; done; }
# Every "tick N" line of ticker.log, N = 1, 2, 3... in order, once each: prints the count, or what went wrong.
ticks_in_order() { inside awk '/^tick /{n++; if ($2 != n) {print "line " NR " is \"" $0 "\", expected tick " n; exit 1}} END {print n " ticks"}' /var/log/supd/ticker.log; }
wait_for_new_supd() {
    local old="$1" pid=""
    for _ in $(seq 1 120); do
        pid="$(inside systemctl show -p MainPID --value supd)"
        [[ "$pid" != 0 && "$pid" != "$old" && "$(inside systemctl is-active supd)" == active ]] && inside supctl list >/dev/null 2>&1 && break
        sleep 0.25
    done
    echo "$pid"
}

step "systemctl restart supd"
# KillMode=process and RestartKillSignal=SIGUSR2: supd exits leaving its jobs, systemd keeps their pipes in its fd
# store and hands them to the next supd (LISTEN_FDS), which adopts every job with its pid.
pids_before="$(job_pids)"
supd_pid="$(inside systemctl show -p MainPID --value supd)"
inside systemctl restart supd
new_pid="$(wait_for_new_supd "$supd_pid")"
sleep 1
pids_after="$(job_pids)"
adopted="$(inside supctl status ticker)"
if [[ "$new_pid" != "$supd_pid" && "$pids_after" == "$pids_before" && "$adopted" == *"(adopted after supd restart)"* ]] && ticks="$(ticks_in_order)"; then
    pass "systemctl restart supd: new MainPID $new_pid, every job kept ($pids_after), adopted; ticker.log in order ($ticks)"
else
    fail "after systemctl restart supd: MainPID $new_pid (was $supd_pid), jobs $pids_after (were $pids_before), '$adopted', $(ticks_in_order || true)"
    inside journalctl -q -o short-monotonic | grep -v 'tick [0-9]' | tail -60
fi
kept="$(inside journalctl -q -u supd -o cat | grep -E "Job output pipes kept by|Adopted " | tail -2 | tr '\n' ' ')"
if grep -q "systemd's file descriptor store" <<<"$kept" && ! grep -q " 0 recovered" <<<"$kept"; then pass "pipes through the fd store: $kept"; else fail "fd store: $kept"; fi

step "kill -9 supd (a crash)"
supd_pid="$new_pid"
inside kill -KILL "$supd_pid"
new_pid="$(wait_for_new_supd "$supd_pid")"
sleep 1
pids_after="$(job_pids)"
if [[ "$new_pid" != "$supd_pid" && "$pids_after" == "$pids_before" ]] && ticks="$(ticks_in_order)"; then
    pass "after a SIGKILL systemd restarted supd (MainPID $new_pid), every job kept ($pids_after); ticker.log in order ($ticks)"
else
    fail "after kill -9 supd: MainPID $new_pid (was $supd_pid), jobs $pids_after (were $pids_before), $(ticks_in_order || true)"
fi

step "systemctl stop supd"
inside systemctl stop supd
left="$(inside pgrep -a -f 'sleep (7777|8888|9999)|tick' || true)"
if [[ -z "$left" ]]; then
    pass "no job process outlives systemctl stop supd (the setsid'd sleep 7777 included)"
else
    fail "left after systemctl stop supd: $left"
fi

echo
if ((failures > 0)); then echo "$failures check(s) FAILED"; exit 1; fi
echo "all checks passed"
