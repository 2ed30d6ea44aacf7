#!/usr/bin/env bash
# Builds supd, supctl and supd-exec (supd's exec helper) as NativeAOT single files for linux-x64 (self-contained: no .NET runtime needed to run them).
#
#   ./build.sh                  publish both into artifacts/bin/ (OUT=DIR to choose another directory)
#   ./build.sh --test-native    publish, then run the integration fixtures against those binaries only
#                               (SUPD_TEST_BIN_DIR; .ci/run sets it too, so CI runs them against both builds)
#   ./build.sh --deb            publish, then make the Debian package artifacts/supd_VERSION_amd64.deb
#                               (packaging/deb/make-deb.sh: dpkg-deb, no debhelper needed)
#
# Needs the .NET 10 SDK and, for the native link, clang (or gcc) and zlib1g-dev. Any trim or AOT warning fails the
# publish (warnings are errors), so a binary built here has none.
set -euo pipefail
repo="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$repo/artifacts/bin}"
rid="${RID:-linux-x64}"
test_native=false
deb=false

for arg in "$@"; do
    case "$arg" in
        --test-native) test_native=true ;;
        --deb) deb=true ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

mkdir -p "$out"
publish="$(mktemp -d)"
trap 'rm -rf "$publish"' EXIT
# The package links the system's zlib (libz.so.1, Debian's zlib1g) instead of embedding the runtime's copy: Debian
# policy (and lintian's embedded-library check) wants one zlib on the system, patched in one place.
publish_args=()
if $deb; then publish_args+=(-p:UseSystemZlib=true); fi
for project in Supervisor.Daemon Supervisor.Ctl Supervisor.Daemon/ExecHelper/Supervisor.ExecHelper.csproj; do
    dotnet publish "$repo/$project" -c Release -r "$rid" -o "$publish/$(basename "$project" .csproj)" -v q -nologo "${publish_args[@]}"
done
# Only the three executables: the publish directory also holds debug symbols (*.dbg) and build leftovers. supd-exec
# is supd's exec helper (setuid, limits, cgroups…), found beside supd.
install -m 0755 "$publish/Supervisor.Daemon/supd" "$publish/Supervisor.Ctl/supctl" "$publish/Supervisor.ExecHelper/supd-exec" "$out/"
echo "built: $out/supd $out/supctl $out/supd-exec ($("$out/supd" --version))"

if $deb; then
    "$repo/packaging/deb/make-deb.sh" --bin-from "$out" --out "$repo/artifacts"
fi

if $test_native; then
    # The tests project builds normally; with SUPD_TEST_BIN_DIR every integration fixture also runs against the
    # native binaries, in category Native (Support/BinaryFlavor.cs).
    SUPD_TEST_BIN_DIR="$out" dotnet test "$repo/Supervisor.Tests" --filter "TestCategory=Native"
fi
