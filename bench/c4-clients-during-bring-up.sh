#!/bin/bash
# C4: how long each of several client commands takes while 1000 `setuid nobody` jobs come up (root, native binaries).
# usage: bench/c4-clients-during-bring-up.sh CMD...   (SOCK in a command is replaced by supd's socket)
#   e.g. bench/c4-clients-during-bring-up.sh /bin/true "artifacts/bin/supctl --socket SOCK status j1"
# Every command runs once per round, in turn; `supctl list` every third round ends the run when all jobs run. Prints
# the median and p90 wall time per command. MODE=process-groups|cgroup (SUPD_CONTAINMENT), N jobs (1000).
set -euo pipefail
export LC_NUMERIC=C
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-$repo/artifacts/bin}"
n="${N:-1000}"
d=$(mktemp -d); mkdir -p "$d"/{init,log,state}
trap 'pkill -TERM -f "supd --job-dir $d/init" || true; while pgrep -f "supd --job-dir $d/init" >/dev/null; do sleep 0.1; done; rm -rf "$d"' EXIT
for i in $(seq "$n"); do printf 'start on startup\nsetuid nobody\nexec sleep 1000\n' > "$d/init/j$i.conf"; done
SUPD_CONTAINMENT=${MODE:-process-groups} "$bin/supd" --job-dir "$d/init" --socket "$d/s.sock" --log-dir "$d/log" --state-dir "$d/state" > "$d/out" 2>&1 &
until [ -S "$d/s.sock" ]; do sleep 0.01; done
k=0
while true; do
  i=0
  for c in "$@"; do
    cmd=${c//SOCK/$d/s.sock}
    a=$EPOCHREALTIME; $cmd >/dev/null 2>&1 || true; b=$EPOCHREALTIME
    echo "$a $b" | awk '{printf "%.1f\n", ($2-$1)*1000}' >> "$d/ms.$i"; i=$((i+1))
  done
  (( k++ % 3 == 0 )) || continue
  [ "$("$bin/supctl" --socket "$d/s.sock" list 2>/dev/null | grep -c start/running)" = "$n" ] && break
done
i=0; for c in "$@"; do echo "$(sort -n "$d/ms.$i" | awk '{v[NR]=$1} END{printf "n=%d median %.1f p90 %.1f", NR, v[int(NR/2)+1], v[int(NR*9/10)]}')  $c"; i=$((i+1)); done
