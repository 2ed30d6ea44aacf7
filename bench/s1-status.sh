#!/usr/bin/env bash
# S1: supctl status JOB wall time. Prints one JSON line per figure (median and p90); RUNS=N measurements (default 30).
set -euo pipefail
source "$(dirname "$0")/binaries.sh"
exec python3 "$(dirname "$0")/scenarios.py" --supd "$SUPD" --supctl "$SUPCTL" --runs "${RUNS:-30}" --s4-runs "${S4_RUNS:-3}" S1
