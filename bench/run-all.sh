#!/usr/bin/env bash
# Runs every scenario (S1-S6) against the peers' figures and writes the table into docs/BENCHMARKS.md.
# Binaries: see bench/binaries.sh (SUPD/SUPCTL, else artifacts/bin from ./build.sh, else a Release build).
# Safe to run repeatedly: each scenario uses its own supd in a temp dir and kills what it started.
# RUNS=N (default 30) measurements per scenario; S4_RUNS (default 3); S5_RUNS (default 7: the capture ratio swings
# 0.73-0.97 between medians of 3 on a shared VM); SKIP_S5=1 skips the 512 MiB capture.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

source bench/binaries.sh
machine="on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r), $(date -u +%Y-%m-%d), binaries: ${SUPD#$repo/}"
echo "machine: $machine" >&2

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
python3 bench/scenarios.py --supd "$SUPD" --supctl "$SUPCTL" --runs "${RUNS:-30}" --s4-runs "${S4_RUNS:-3}" \
    S1 S2 S3 S4 S6 | tee "$out"
if [ -z "${SKIP_S5:-}" ] && [ -x bench/capture.sh ]; then
    SUPD="$SUPD" SUPCTL="$SUPCTL" RUNS="${S5_RUNS:-7}" bench/capture.sh | tee -a "$out"
fi
python3 bench/report.py docs/BENCHMARKS.md "$machine" < "$out"
