#!/bin/sh
# deps.sh: installs the Debian 12 packages that wisp's build, tests and
# benchmark need. Idempotent: does nothing (and never runs apt-get) when
# everything is already installed. Runs apt-get directly as root, via sudo
# otherwise. Called by `make deps`.
set -eu

PACKAGES="build-essential musl-tools busybox-static qemu-system-x86 python3-pytest cpio e2fsprogs sqlite3"

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: this script needs a Debian-based system (dpkg-query, apt-get)." >&2
	echo "deps.sh: install by hand: $PACKAGES" >&2
	exit 1
fi

missing=""
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps.sh: all packages present:$(printf ' %s' $PACKAGES)"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps.sh: missing packages:$missing; run as root or install sudo" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"
$SUDO apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing

for p in $missing; do
	installed "$p" || { echo "deps.sh: $p is still not installed" >&2; exit 1; }
done
echo "deps.sh: done"
