# Sourced by the bench scripts: sets SUPD and SUPCTL to the binaries under test.
# SUPD and SUPCTL if set, else the native ones from ./build.sh (artifacts/bin), else a Release build (built here).
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${SUPD:-}" ] || [ -z "${SUPCTL:-}" ]; then
    if [ -x "$repo/artifacts/bin/supd" ] && [ -x "$repo/artifacts/bin/supctl" ]; then
        SUPD="$repo/artifacts/bin/supd" SUPCTL="$repo/artifacts/bin/supctl"
    else
        dotnet build "$repo/Supervisor.sln" -c Release -v q >/dev/null
        SUPD="$repo/Supervisor.Daemon/bin/Release/net10.0/supd" SUPCTL="$repo/Supervisor.Ctl/bin/Release/net10.0/supctl"
    fi
fi
export SUPD SUPCTL
