#!/usr/bin/env bash
# Native binaries (docs/BENCHMARKS.md, "Native binaries"): supctl status wall time, supd idle RSS, and the cost of a
# spawn through the exec helper, for the NativeAOT binaries (BIN=artifacts/bin, from ./build.sh) next to the JIT build
# (Supervisor.*/bin/$CONFIGURATION, default Release: `dotnet build -c Release` first). Uses hyperfine when installed (apt-get install
# hyperfine), else a loop. Safe to run repeatedly; cleans up after itself.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
native="${BIN:-$repo/artifacts/bin}"
cfg="${CONFIGURATION:-Release}"
jit_supd="$repo/Supervisor.Daemon/bin/$cfg/net10.0/supd"
jit_supctl="$repo/Supervisor.Ctl/bin/$cfg/net10.0/supctl"
[ -x "$native/supd" ] && [ -x "$native/supctl" ] || { echo "build first: ./build.sh" >&2; exit 1; }

dir="$(mktemp -d /tmp/supd-native-XXXXXX)"
mkdir -p "$dir/init"
for i in $(seq 1 10); do printf 'start on startup\nrespawn\nexec sleep 100000\n' > "$dir/init/svc$i.conf"; done
"$native/supd" --job-dir "$dir/init" --socket "$dir/s.sock" --log-dir "$dir/log" --state-dir "$dir/state" >"$dir/supd.out" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$dir"' EXIT
until "$native/supctl" --socket "$dir/s.sock" status svc10 2>/dev/null | grep -q running; do sleep 0.05; done

echo "machine: $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sizes: supd $(du -k "$native/supd" | cut -f1) KiB, supctl $(du -k "$native/supctl" | cut -f1) KiB"

time_it() { # NAME COMMAND…: mean and min wall time (hyperfine runs it through sh and subtracts the shell's start)
    local name="$1"; shift
    if command -v hyperfine >/dev/null; then
        hyperfine -w 5 -r "${RUNS:-100}" --export-json "$dir/h.json" "$*" >/dev/null 2>&1
        python3 -c "import json; r=json.load(open('$dir/h.json'))['results'][0]; print('$name: mean %.1f ms, median %.1f ms, min %.1f ms, user+sys %.1f ms (hyperfine, %d runs)' % (r['mean']*1e3, r['median']*1e3, r['min']*1e3, (r['user']+r['system'])*1e3, len(r['times'])))"
    else
        local s e; s=$(date +%s%N); for _ in $(seq 1 "${RUNS:-100}"); do "$@" >/dev/null 2>&1; done; e=$(date +%s%N)
        echo "$name: mean $(( (e - s) / ${RUNS:-100} / 1000 )) us (loop of ${RUNS:-100})"
    fi
}

time_it "native supctl status" "$native/supctl" --socket "$dir/s.sock" status svc1
[ -x "$jit_supctl" ] && RUNS=20 time_it "JIT supctl status" "$jit_supctl" --socket "$dir/s.sock" status svc1

# The exec helper alone: supd --exec-helper applying a umask and exec'ing /bin/true (fd 3 is its status pipe).
time_it "native exec helper (start, umask, execve /bin/true)" "$native/supd --exec-helper --umask 22 --chdir / -- /bin/true true 3>/dev/null"
[ -x "$jit_supd" ] && RUNS=20 time_it "JIT exec helper" "DOTNET_TieredPGO=0 $jit_supd --exec-helper --umask 22 --chdir / -- /bin/true true 3>/dev/null"
time_it "/bin/true alone (baseline)" "/bin/true 3>/dev/null"

sleep "${IDLE:-10}"
echo "native supd idle RSS after ${IDLE:-10} s, 10 running jobs: $(awk '/VmRSS/ {print $2, $3}' /proc/$daemon/status)" \
     "(anon $(awk '/RssAnon/ {print $2}' /proc/$daemon/status) kB, file $(awk '/RssFile/ {print $2}' /proc/$daemon/status) kB), threads $(awk '/Threads/ {print $2}' /proc/$daemon/status)"
