#!/usr/bin/env bash
# Quick measurements for the Foundation: supctl status wall time, SIGKILL-to-respawn time, supd idle RSS.
# Uses the Debug build (JIT); CONFIGURATION=Release for the Release build. Safe to run repeatedly; cleans up after itself.
# The full benchmark suite against the peers' figures is bench/'s later work (issue: benchmarks and stress).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cfg="${CONFIGURATION:-Debug}"
supd="$repo/Supervisor.Daemon/bin/$cfg/net10.0/supd"
supctl="$repo/Supervisor.Ctl/bin/$cfg/net10.0/supctl"
[ -x "$supd" ] && [ -x "$supctl" ] || { echo "build first: dotnet build -c $cfg" >&2; exit 1; }

dir="$(mktemp -d /tmp/supd-bench-XXXXXX)"
mkdir -p "$dir/init"
cat > "$dir/init/probe.conf" <<JOB
start on startup
respawn
respawn limit unlimited
exec bash -c 'echo \$EPOCHREALTIME >> $dir/starts; exec sleep 100000'
JOB
"$supd" --job-dir "$dir/init" --socket "$dir/s.sock" --log-dir "$dir/log" --state-dir "$dir/state" >"$dir/supd.out" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$dir"' EXIT
ctl() { "$supctl" --socket "$dir/s.sock" "$@"; }
until ctl status probe 2>/dev/null | grep -q running; do sleep 0.05; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p90() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.9); if (i<1) i=1; print a[i]}'; }

echo "machine: $(nproc) cores, kernel $(uname -r); $cfg build"
for i in $(seq 1 5); do ctl status probe >/dev/null; done
times=$(for i in $(seq 1 30); do s=$(date +%s%N); ctl status probe >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done)
echo "supctl status wall time: median $(echo "$times" | median) us, p90 $(echo "$times" | p90) us (30 runs)"

respawns=$(for i in $(seq 1 20); do
    pid=$(ctl status probe | grep -o '[0-9]*$')
    before=$(wc -l < "$dir/starts")
    t0=$(date +%s.%N); kill -9 "$pid"
    until [ "$(wc -l < "$dir/starts")" -gt "$before" ]; do :; done
    t1=$(tail -n 1 "$dir/starts")
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d\n", (b - a) * 1000000 }'
    until ctl status probe | grep -q "running, process" && [ "$(ctl status probe | grep -o '[0-9]*$')" != "$pid" ]; do sleep 0.01; done
done)
echo "SIGKILL to replacement started: median $(echo "$respawns" | median) us, p90 $(echo "$respawns" | p90) us (20 kills; includes bash start-up)"

sleep 10
echo "supd idle RSS after 10 s: $(awk '/VmRSS/ {print $2, $3}' /proc/$daemon/status), threads: $(awk '/Threads/ {print $2}' /proc/$daemon/status)"
