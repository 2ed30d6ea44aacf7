#!/usr/bin/env bash
# C1 (issue 19): what a spawn through the exec helper costs. N jobs (default 200) `start on startup`, `exec sleep`,
# brought up by a fresh supd in three ways: plain jobs in process-group mode (posix_spawn only), `setuid nobody` jobs
# in process-group mode (each spawn through the exec helper), and plain jobs in cgroup mode (each spawn through the
# helper, which joins the job's cgroup before exec). Prints, per way, the median and worst time until all N run and
# the slowest `supctl status` answered during the bring-up: as a user sees it (supctl's own start included, which on
# a 2-core machine busy with the bring-up is most of it) and as the request itself (the same Status call through
# curl's HTTP/2 over the socket, timed by curl from connect to reply: supd's part), and the loop's own account from
# /metrics (supd_loop_turn_duration_seconds): its turns over 50 ms and the bucket of its longest. Also the median and
# 90th percentile of every supctl status and of every Status request of a bring-up (the worst run's), and of the
# whole curl call as a process: what a client written in C, with no runtime to start, takes on the same machine at
# the same time (the floor for any `supctl status`). The setuid way runs twice: through the fork server (supd's
# default) and with SUPD_FORK_SERVER=off, an exec helper started per spawn as before it.
# As root (setuid, cgroups). RUNS=R repetitions (default 3). Uses the native binaries (bench/binaries.sh).
set -euo pipefail
export LC_NUMERIC=C # $EPOCHREALTIME with a dot
source "$(dirname "$0")/binaries.sh"
n="${N:-200}"
runs="${RUNS:-3}"
[[ $(id -u) -eq 0 ]] || { echo "c1: needs root (setuid jobs, cgroups)" >&2; exit 2; }
# PIN=yes: supd (and so its jobs) on CPU 0, this script and every client it starts on CPU 1. The bring-up then
# saturates one core, and a client's own start is not slowed by it: what is left is supd's answer.
if [[ ${PIN:-} == yes && -z ${C1_PINNED:-} ]]; then C1_PINNED=1 exec taskset -c 1 "$0" "$@"; fi
pin=()
[[ ${PIN:-} == yes ]] && pin=(taskset -c 0)

one_run() { # MODE SETUID → "MS SLOWEST_STATUS_MS SLOWEST_REQUEST_MS LOOP_TURNS_OVER_50MS LONGEST_LOOP_TURN_BUCKET STATUS_MEDIAN_MS STATUS_P90_MS REQUEST_MEDIAN_MS REQUEST_P90_MS CURL_MEDIAN_MS CURL_P90_MS"
    local mode=$1 setuid=$2 dir pid start now ms slowest=0 request=0 running k=0 port=$((20000 + RANDOM % 20000)) turns
    dir="$(mktemp -d)"
    mkdir -p "$dir/init" "$dir/log" "$dir/state"
    for i in $(seq 1 "$n"); do
        { echo "start on startup"; [[ $setuid == yes ]] && echo "setuid nobody"; echo "exec sleep 1000"; } >"$dir/init/j$i.conf"
    done
    start=${EPOCHREALTIME/./}000
    SUPD_CONTAINMENT=$mode "${pin[@]}" "$SUPD" --job-dir "$dir/init" --socket "$dir/s.sock" --log-dir "$dir/log" --state-dir "$dir/state" \
        --http "127.0.0.1:$port" >"$dir/out" 2>&1 &
    pid=$!
    # The Status request for j1 as gRPC frames it (5-byte prefix, then the protobuf: field 1 "j1").
    printf '\x00\x00\x00\x00\x04\x0a\x02j1' >"$dir/status.req"
    while true; do
        # Times from bash's own clock ($EPOCHREALTIME, microseconds): a `date` process around each call would add its
        # own start (10-20 ms on two cores busy with the bring-up) to the figure.
        local asked=${EPOCHREALTIME/./}000
        if "$SUPCTL" --socket "$dir/s.sock" status j1 >/dev/null 2>&1; then
            ms=$(( (${EPOCHREALTIME/./}000 - asked) / 1000000 ))
            (( ms > slowest )) && slowest=$ms
            echo "$ms" >>"$dir/status.ms"
            asked=${EPOCHREALTIME/./}000
            ms=$(curl -s --http2-prior-knowledge --unix-socket "$dir/s.sock" -H "content-type: application/grpc" \
                -H "te: trailers" --data-binary @"$dir/status.req" -o /dev/null -w '%{time_total}' \
                http://localhost/supd.v1.Supervisor/Status | awk '{printf "%d", $1 * 1000}')
            echo $(( (${EPOCHREALTIME/./}000 - asked) / 1000000 )) >>"$dir/curl.ms"
            (( ms > request )) && request=$ms
            echo "$ms" >>"$dir/request.ms"
        fi
        # `list` of every job is itself a large query: every fifth round.
        (( k++ % 5 == 0 )) || continue
        running=$("$SUPCTL" --socket "$dir/s.sock" list 2>/dev/null | grep -c 'start/running' || true)
        [[ "$running" == "$n" ]] && break
        now=${EPOCHREALTIME/./}000
        (( (now - start) / 1000000000 > 600 )) && { echo "c1: $mode setuid=$setuid did not come up" >&2; break; }
    done
    now=${EPOCHREALTIME/./}000
    # The loop's own account of the bring-up (supd_loop_turn_duration_seconds): how many of its turns took over
    # 50 ms, and the bucket of the longest (its upper bound, in ms), so a slow status can be told from a busy loop.
    turns=$(curl -s "http://127.0.0.1:$port/metrics" | python3 -c '
import sys
buckets = [(float(l.split("le=\"")[1].split("\"")[0]), float(l.split()[-1])) for l in sys.stdin if l.startswith("supd_loop_turn_duration_seconds_bucket")]
total = max(c for _, c in buckets)
print(int(total - dict(buckets)[0.05]), next(int(le * 1000) if le != float("inf") else -1 for le, c in buckets if c == total))')
    kill -TERM "$pid"; wait "$pid" || true
    # Every supctl status of the bring-up: its median and 90th percentile.
    local spread
    spread=$(for f in status request curl; do sort -n "$dir/$f.ms" | awk '{v[NR]=$1} END {printf "%d %d ", v[int((NR+1)/2)], v[int(NR*0.9+0.5)]}'; done)
    rm -rf "$dir"
    echo "$(( (now - start) / 1000000 )) $slowest $request $turns $spread"
}

report() { # LABEL MODE SETUID
    local label=$1 times=() slow=0 slowreq=0 over=0 longest=0 median=0 p90=0 rmedian=0 rp90=0 cmedian=0 cp90=0 t s r o l m p rm rp cm cp
    for _ in $(seq 1 "$runs"); do
        read -r t s r o l m p rm rp cm cp < <(one_run "$2" "$3")
        times+=("$t"); (( s > slow )) && slow=$s; (( r > slowreq )) && slowreq=$r
        (( o > over )) && over=$o; (( l > longest )) && longest=$l
        (( m > median )) && median=$m; (( p > p90 )) && p90=$p
        (( rm > rmedian )) && rmedian=$rm; (( rp > rp90 )) && rp90=$rp
        (( cm > cmedian )) && cmedian=$cm; (( cp > cp90 )) && cp90=$cp
    done
    python3 - "$label" "$n" "$slow" "$slowreq" "$over" "$longest" "$median" "$p90" "$rmedian" "$rp90" "$cmedian" "$cp90" "${times[@]}" <<'EOF'
import json, os, statistics, sys
label, n, slow, slowreq, over, longest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
median, p90, rmedian, rp90, cmedian, cp90 = (int(a) for a in sys.argv[7:13])
times = [int(t) for t in sys.argv[13:]]
print(json.dumps({"scenario": "C1", "way": label, "jobs": n, "up_ms_median": statistics.median(times),
                  "up_ms_max": max(times), "per_spawn_ms": round(statistics.median(times) / n, 2),
                  "slowest_status_ms": slow, "status_ms_median_worst_run": median, "status_ms_p90_worst_run": p90,
                  "slowest_status_request_ms": slowreq, "request_ms_median_worst_run": rmedian,
                  "request_ms_p90_worst_run": rp90, "curl_process_ms_median_worst_run": cmedian, "curl_process_ms_p90_worst_run": cp90,
                  "loop_turns_over_50ms": over, "longest_loop_turn_ms_at_most": longest, "runs": len(times),
                  "pinned": os.environ.get("PIN") == "yes", "load_before": open("/proc/loadavg").read().split()[0]}))
EOF
}

report "plain, process groups" process-groups no
report "setuid nobody, process groups (fork server)" process-groups yes
report "plain, cgroup per instance (fork server)" auto no
# The way before the fork server, for comparison: an exec helper started per spawn.
SUPD_FORK_SERVER=off report "setuid nobody, process groups (a helper per spawn)" process-groups yes
