#!/usr/bin/env bash
# Log capture throughput (issue 8): a job writing SIZE MiB (default 512) of 100-byte lines into its supd log, against
# the same generator piped into `cat > file` on the same disk. Prints both rates, their ratio, and the CPU time each
# spent per MiB (supd: utime+stime from /proc/PID/stat, before and after; cat: /usr/bin/time). Not a test: run it on a
# quiet machine (the ratio is wall time, so other load on the machine moves it a lot; the CPU figures move little).
#   CONFIGURATION=Release bench/capture.sh         (build first: dotnet build -c Release)
#   SIZE_MIB=512 RUNS=3 TIMESTAMPS=1 ROTATE="10M 5" bench/capture.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cfg="${CONFIGURATION:-Release}"
# SUPD and SUPCTL (as bench/run-all.sh passes them) win over the build tree's binaries.
supd="${SUPD:-$repo/Supervisor.Daemon/bin/$cfg/net10.0/supd}"
supctl="${SUPCTL:-$repo/Supervisor.Ctl/bin/$cfg/net10.0/supctl}"
[ -x "$supd" ] && [ -x "$supctl" ] || { echo "build first: dotnet build -c $cfg" >&2; exit 1; }
size_mib="${SIZE_MIB:-512}"
runs="${RUNS:-3}"
rotate="${ROTATE:-1G 1}"
bytes=$((size_mib * 1024 * 1024))
line="$(printf '%099d' 0)"   # 99 characters and the newline: 100-byte lines
generator="yes $line | head -c $bytes"

dir="$(mktemp -d "${BENCH_DIR:-/tmp}/supd-capture-XXXXXX")"
mkdir -p "$dir/init"
{
    echo "task"
    echo "log rotate $rotate"
    [ -n "${TIMESTAMPS:-}" ] && echo "log timestamps"
    # The job notes when it starts, so supctl's own start-up is not counted against supd.
    echo "exec /bin/sh -c 'date +%s.%N > $dir/started; $generator'"
} > "$dir/init/writer.conf"
"$supd" --job-dir "$dir/init" --socket "$dir/s.sock" --log-dir "$dir/log" --state-dir "$dir/state" >"$dir/supd.out" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$dir"' EXIT
ctl() { "$supctl" --socket "$dir/s.sock" "$@"; }
until ctl status writer >/dev/null 2>&1; do sleep 0.05; done

now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$daemon/stat"; }
logged() { stat -c %s "$dir"/log/writer.log* 2>/dev/null | awk '{n += $1} END {print n + 0}'; }
# With timestamps every 100-byte line gains a 30-byte prefix ("2026-11-24T18:17:35.375+00:00 ").
expected=$bytes
[ -n "${TIMESTAMPS:-}" ] && expected=$((bytes + bytes / 100 * 30))

echo "machine: $(nproc) cores, kernel $(uname -r), $(df -T "$dir" | awk 'NR==2 {print $2}') on $(df "$dir" | awk 'NR==2 {print $1}'); $cfg build"
echo "payload: $size_mib MiB of 100-byte lines; log rotate $rotate${TIMESTAMPS:+; log timestamps}"
hz=$(getconf CLK_TCK)
results=()
for run in $(seq 1 "$runs"); do
    rm -f "$dir/cat.out" "$dir"/log/writer.log*
    sync
    t0=$(now); sh -c "$generator | /usr/bin/time -f '%U %S' -o '$dir/cat.cpu' cat > '$dir/cat.out'"; t1=$(now)
    cat_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
    cat_cpu=$(awk '{print $1 + $2}' "$dir/cat.cpu")
    rm -f "$dir/cat.out"
    sync

    rm -f "$dir/started"
    c0=$(cpu_ticks)
    ctl start writer >/dev/null
    until [ "$(logged)" -ge "$expected" ]; do sleep 0.01; done
    t1=$(now); c1=$(cpu_ticks); t0=$(cat "$dir/started")
    supd_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
    results+=("$(awk -v c="$cat_s" -v s="$supd_s" -v ticks=$((c1 - c0)) -v hz="$hz" -v m="$size_mib" 'BEGIN {printf "%.3f %.3f", c / s, ticks * 1000 / hz / m}')")
    awk -v m="$size_mib" -v c="$cat_s" -v s="$supd_s" -v ticks=$((c1 - c0)) -v hz="$hz" -v r="$run" -v cc="$cat_cpu" 'BEGIN {
        printf "run %d: cat %.0f MiB/s (%.2f s, CPU %.2f ms/MiB), supd %.0f MiB/s (%.2f s, CPU %.2f ms/MiB), ratio %.2f\n",
            r, m / c, c, cc * 1000 / m, m / s, s, ticks * 1000 / hz / m, c / s }'
done
# One JSON line for bench/report.py (scenario S5 of bench/run-all.sh): the ratio's median and p90, and CPU per MiB.
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [tuple(map(float, line.split())) for line in sys.stdin if line.strip()]
ratios = sorted(r for r, _ in rows)
p90 = ratios[max(0, min(len(ratios) - 1, int(round(0.9 * len(ratios) + 0.5)) - 1))]
print(json.dumps({"key": "capture", "scenario": "S5", "metric": "capture", "unit": "ratio", "runs": len(rows),
                  "median": round(statistics.median(ratios), 3), "p90": round(p90, 3),
                  "cpu_ms_per_mib": round(statistics.median(c for _, c in rows), 3)}))'
