#!/usr/bin/env bash
# C3 (issue 19): what one `supctl status` costs while many jobs run, the machine otherwise idle. N jobs (default 1000)
# `exec sleep` in process-group mode (their figures summed over their processes), all up, 3 s of quiet; then the
# Status request through curl's HTTP/2 over the socket (connect to reply, ten times: supd's part), `supctl status`
# under `perf stat -r 20` (the whole call as a user sees it), and supd's own CPU over twenty calls (from
# /proc/PID/stat, in 10 ms ticks: a rough figure). No root needed. Uses the native binaries (bench/binaries.sh).
set -euo pipefail
source "$(dirname "$0")/binaries.sh"
n="${N:-1000}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/init" "$dir/log" "$dir/state"
for i in $(seq 1 "$n"); do printf 'start on startup\nexec sleep 1000\n' >"$dir/init/j$i.conf"; done
SUPD_CONTAINMENT=process-groups "$SUPD" --job-dir "$dir/init" --socket "$dir/s.sock" --log-dir "$dir/log" --state-dir "$dir/state" >"$dir/out" 2>&1 &
pid=$!
until [[ "$("$SUPCTL" --socket "$dir/s.sock" list 2>/dev/null | grep -c 'start/running' || true)" == "$n" ]]; do sleep 0.5; done
sleep 3
# The Status request for j1 as gRPC frames it (5-byte prefix, then the protobuf: field 1 "j1").
printf '\x00\x00\x00\x00\x04\x0a\x02j1' >"$dir/status.req"
for _ in $(seq 1 10); do
    curl -s --http2-prior-knowledge --unix-socket "$dir/s.sock" -H "content-type: application/grpc" -H "te: trailers" \
        --data-binary @"$dir/status.req" -o /dev/null -w '%{time_total}\n' http://localhost/supd.v1.Supervisor/Status
done | sort -n | awk '{v[NR]=$1*1000} END {printf "Status request: median %.1f ms (min %.1f, max %.1f)\n", v[int((NR+1)/2)], v[1], v[NR]}'
perf stat -r 20 -e task-clock,page-faults "$SUPCTL" --socket "$dir/s.sock" status j1 2>&1 >/dev/null | grep -E "task-clock|page-faults|elapsed"
before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
for _ in $(seq 1 20); do "$SUPCTL" --socket "$dir/s.sock" status j1 >/dev/null; done
after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
echo "supd's CPU per status: $(( (after - before) * 1000 / $(getconf CLK_TCK) / 20 )) ms"
kill -TERM "$pid"
wait "$pid" || true
