#!/usr/bin/env bash
# R2 (issue 20, crash survival): N jobs (default 1000) adopted after a SIGKILL of supd and after SIGUSR2 (RUNS restarts
# each, default 3), and the output lines lost over KILLS SIGKILLs (default 20) under a log flood. Native binaries
# (bench/binaries.sh); the fd holder keeps the pipes (no systemd here).
set -euo pipefail
source "$(dirname "$0")/binaries.sh"
exec python3 "$(dirname "$0")/r2-survival.py" --supd "$SUPD" --supctl "$SUPCTL" --jobs "${N:-1000}" --runs "${RUNS:-3}" --kills "${KILLS:-20}" "$@"
