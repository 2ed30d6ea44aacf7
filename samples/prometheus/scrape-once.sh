#!/bin/sh
# Runs a real Prometheus against a running supd once and checks that it scraped it: up == 1 and supd's own series
# arrived. Not part of CI (it needs the `prometheus` binary: Debian's `prometheus` package).
#
#   supd --http 127.0.0.1:9337 &     # or Http:Listen in supd.json
#   samples/prometheus/scrape-once.sh [SUPD_ADDRESS:PORT]   # default 127.0.0.1:9337
#
# Prints PASS/FAIL lines; exits 0 when every check passed.
set -u
target=${1:-127.0.0.1:9337}
prometheus=${PROMETHEUS:-prometheus}
port=${PROMETHEUS_PORT:-19090}
command -v "$prometheus" >/dev/null 2>&1 || { echo "FAIL: no prometheus binary (apt-get install prometheus)"; exit 2; }
command -v curl >/dev/null 2>&1 || { echo "FAIL: curl is needed"; exit 2; }

work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: supd
    static_configs:
      - targets: ['$target']
YAML

# Loopback only, its own temporary storage.
"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
pid=$!

query() {
    curl -fsS --max-time 5 "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1" 2>/dev/null
}

failed=0
check() { # NAME QUERY: passes when the query returns a sample whose value is 1 (or, with a third argument, any sample)
    i=0
    while [ $i -lt 60 ]; do
        answer=$(query "$2")
        case "$answer" in
            *'"result":[{'*) if [ $# -gt 2 ] || echo "$answer" | grep -q '"value":\[[0-9.]*,"1"\]'; then echo "PASS: $1"; return; fi ;;
        esac
        i=$((i + 1))
        sleep 1
    done
    echo "FAIL: $1 (last answer: ${answer:-none})"
    failed=1
}

check "prometheus scraped supd at $target (up == 1)" 'up{job="supd"}'
check "supd's own series arrived (supd_uptime_seconds)" 'supd_uptime_seconds{job="supd"}' any
check "per-job series arrived with their own labels (supd_job_up{supd_job=...})" 'count(supd_job_up{job="supd",supd_job!=""})' any
if [ $failed -ne 0 ]; then
    echo "prometheus's log:"; tail -n 20 "$work/prometheus.log"
fi
exit $failed
