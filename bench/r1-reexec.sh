#!/usr/bin/env bash
# R1 (issue 20): supctl daemon-reexec with N jobs (default 1000; RUNS re-execs, default 5), and the output lines lost
# over REEXECS re-execs (default 100) under a log flood (must be 0). Uses the native binaries (bench/binaries.sh).
set -euo pipefail
source "$(dirname "$0")/binaries.sh"
exec python3 "$(dirname "$0")/r1-reexec.py" --supd "$SUPD" --supctl "$SUPCTL" --jobs "${N:-1000}" --runs "${RUNS:-5}" --reexecs "${REEXECS:-100}" "$@"
