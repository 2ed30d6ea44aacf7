#!/usr/bin/env bash
# C2 (issue 19): what a setuid spawn would cost from a fork server, measured before anyone builds one. Publishes
# bench/fork-server-probe (NativeAOT) and times N spawns of /bin/true, one after another, each waited for, three ways:
# posix_spawn (a plain job today), fork plus raw setresgid/setresuid/execve in the child of a NativeAOT process (what a
# long-lived fork server would do per request), and posix_spawn of supd-exec --exec-helper --uid 65534 (a setuid job
# today). As root. N (default 1000), RUNS (default 3); SUPD_EXEC names the helper (default: the native build's).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-1000}"
runs="${RUNS:-3}"
[[ $(id -u) -eq 0 ]] || { echo "c2: needs root (setresuid)" >&2; exit 2; }
helper="${SUPD_EXEC:-$PWD/artifacts/bin/supd-exec}"
[[ -x $helper ]] || { echo "c2: no supd-exec at $helper (./build.sh, or SUPD_EXEC=PATH)" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dotnet publish bench/fork-server-probe -c Release -o "$out" --nologo -v quiet >/dev/null
for _ in $(seq "$runs"); do
    "$out/fork-server-probe" "$n" spawn
    "$out/fork-server-probe" "$n" fork
    "$out/fork-server-probe" "$n" helper "$helper"
done
