#!/usr/bin/env bash
# S7: root's `supctl status` latency and a crash-looping job's respawn gaps while a local user holds CONNECTIONS idle
# connections (default 20000) and clients send 100 000-variable requests (BIG_AS=nobody|root|none). Needs root,
# setpriv and perl. Prints JSON lines and a one-line summary.
set -euo pipefail
source "$(dirname "$0")/binaries.sh"
exec python3 "$(dirname "$0")/flood.py" --supd "$SUPD" --supctl "$SUPCTL" --connections "${CONNECTIONS:-20000}" \
    --big-as "${BIG_AS:-nobody}" --seconds "${SECONDS_PER_PHASE:-20}"
