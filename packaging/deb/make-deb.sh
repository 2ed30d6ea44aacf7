#!/usr/bin/env bash
# Makes supd's Debian package from the native binaries of ./build.sh, with dpkg-deb (no debhelper, no source package).
#
#   packaging/deb/make-deb.sh [--bin-from DIR] [--out DIR]     (./build.sh --deb builds, then runs this)
#
# DIR defaults: artifacts/bin and artifacts. Writes OUT/supd_VERSION_amd64.deb, VERSION being supd's own version
# (`supd --version`) with the Debian revision of packaging/deb/changelog's first entry, which must name that version.
# Layout: /usr/bin/{supd,supctl,supd-exec}, /lib/systemd/system/supd.service, bash completion, /usr/share/doc/supd (copyright,
# changelog.Debian.gz, README and docs), manual pages supd(8), supd-exec(8) and supctl(1), /etc/supd/init; maintainer scripts
# postinst, prerm, postrm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
from="$repo/artifacts/bin"
out="$repo/artifacts"

while [ $# -gt 0 ]; do
    case "$1" in
        --bin-from) from="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "make-deb.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
for tool in dpkg-deb gzip; do
    command -v "$tool" >/dev/null || { echo "make-deb.sh: $tool is needed (Debian's dpkg and gzip)" >&2; exit 1; }
done
[ -x "$from/supd" ] && [ -x "$from/supctl" ] && [ -x "$from/supd-exec" ] || { echo "make-deb.sh: no supd, supctl and supd-exec in $from (run ./build.sh)" >&2; exit 1; }

# "supd 0.1.0" or "supd 0.1.0+abc" -> 0.1.0 (the version of the binaries being packaged, not of the tree).
upstream="$("$from/supd" --version | grep -o '[0-9][0-9.]*' | head -n 1)"
[ -n "$upstream" ] || { echo "make-deb.sh: cannot read a version from '$from/supd --version'" >&2; exit 1; }
changelog_version="$(sed -n '1s/^supd (\([^)]*\)).*/\1/p' "$here/changelog")"
if [ "${changelog_version%-*}" != "$upstream" ]; then
    echo "make-deb.sh: packaging/deb/changelog's first entry is $changelog_version, supd is $upstream: add an entry" >&2
    exit 1
fi
version="$changelog_version"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
root="$stage/root"
doc="$root/usr/share/doc/supd"

install -d -m 0755 "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/bash-completion/completions" \
    "$doc" "$root/etc/supd/init" "$root/DEBIAN"
install -m 0755 "$from/supd" "$from/supctl" "$from/supd-exec" "$root/usr/bin/"
# The unit as install.sh ships it, with the package's paths.
sed -e 's|/usr/local/bin/supd|/usr/bin/supd|g' -e 's|/usr/local/share/doc|/usr/share/doc|g' \
    -e 's|^# supd as a system service\. install\.sh puts this file in .*|# supd as a system service (from the supd package).|' \
    "$repo/samples/systemd/supd.service" > "$root/lib/systemd/system/supd.service"
chmod 0644 "$root/lib/systemd/system/supd.service"
install -m 0644 "$repo/completion/supctl.bash" "$root/usr/share/bash-completion/completions/supctl"
install -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n < "$here/changelog" > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
install -m 0644 "$repo/README.md" "$repo"/docs/*.md "$doc/"
install -d -m 0755 "$root/usr/share/man/man1" "$root/usr/share/man/man8"
gzip -9n < "$here/supctl.1" > "$root/usr/share/man/man1/supctl.1.gz"
gzip -9n < "$here/supd.8" > "$root/usr/share/man/man8/supd.8.gz"
gzip -9n < "$here/supd-exec.8" > "$root/usr/share/man/man8/supd-exec.8.gz"
chmod 0644 "$root/usr/share/man/man1/supctl.1.gz" "$root/usr/share/man/man8/supd.8.gz" "$root/usr/share/man/man8/supd-exec.8.gz"

# Depends: the shared libraries the binaries link (dpkg-shlibdeps when dpkg-dev is there, else libc6 at the
# newest GLIBC_ symbol version they use).
depends=""
if command -v dpkg-shlibdeps >/dev/null; then
    mkdir -p "$stage/src/debian"
    printf 'Source: supd\n\nPackage: supd\nArchitecture: amd64\n' > "$stage/src/debian/control"
    depends="$(cd "$stage/src" && dpkg-shlibdeps -O "$root/usr/bin/supd" "$root/usr/bin/supctl" 2>/dev/null \
        | sed -n 's/^shlibs:Depends=//p')" || depends=""
fi
if [ -z "$depends" ]; then
    glibc="$(objdump -T "$root/usr/bin/supd" "$root/usr/bin/supctl" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed "s/GLIBC_//" | sort -V | tail -n 1 || true)"
    depends="libc6 (>= ${glibc:-2.34})"
fi

# Maintainer scripts and control file. No file of the package is under /etc, so there are no conffiles: job files
# in /etc/supd/init are the admin's, never the package's.
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
maintainer="$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$here/changelog" | head -n 1)"
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" \
    "$here/control.in" > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/supd_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "built: $deb"
