#!/bin/sh
# nested-kvm.sh: runs wisp's kvm backend on KVM for AMD SVM, on any host.
#
# It boots a Debian Linux kernel under QEMU (always TCG, even where the host
# has /dev/kvm; `-cpu max`, which emulates AMD SVM with nested paging), loads
# kvm and kvm_amd in that Linux guest, and runs a list of shell commands
# there, each of which may call `wisp run` (a static build of wisp, with
# build/wisp-kernel.elf next to it). Results go to a second serial port,
# framed and base64-encoded, so they cannot mix with kernel messages;
# tests/integration/test_nested_kvm.py parses them.
#
#   tools/nested-kvm.sh [options] [CMDFILE]
#
#   CMDFILE      one shell command per line (blank lines and #-lines are
#                skipped); `wisp` is on PATH in the guest. Without it, a
#                short demo runs.
#   -f PATH      put PATH into the guest at the same path (repeatable). ELF
#                programs and #! scripts come with what `wisp pack` adds for
#                them (loader, libraries), so `wisp run PATH` works there.
#                /bin/busybox is always there.
#   -o FILE      results file (default build/nested/results.txt)
#   -t SECONDS   per-command timeout in the guest (default 60)
#   -T SECONDS   timeout for the whole boot (default 600)
#   -p           only prepare (fetch the kernel, build), do not boot
#
# Everything is cached in build/nested/: the kernel package is downloaded with
# `apt-get download` and unpacked there once (delete build/nested/kernel to
# fetch it again); the host's /boot and /lib/modules are never touched.
#
# Results file format, one record per command N (1-based):
#   @@ CMD N BEGIN <command, base64>
#   @@ STDOUT N      followed by the command's stdout, base64 (may be empty)
#   @@ STDERR N      followed by its stderr, base64
#   @@ CMD N rc=RC secs=SECONDS
# preceded by `@@ KVM ok` (or `@@ KVM missing`) and ended by `@@ END`.
#
# Exit status: 0 when every command ran (whatever their own status), 77 when
# a prerequisite is missing (no QEMU, no kernel package, no KVM in the guest;
# the reason is on stderr, starting "nested-kvm: unavailable:"), 1 otherwise.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${WISP_BUILD:-$ROOT/build}
NESTED=$BUILD/nested
QEMU=${WISP_QEMU:-qemu-system-x86_64}
# The cloud flavour is a third of the size of the generic one and has KVM.
KPKG=${WISP_NESTED_KERNEL_PKG:-linux-image-cloud-amd64}
KDIR=$NESTED/kernel
MODULES="kvm_amd"       # and what they depend on, loaded first

results=$NESTED/results.txt
cmd_timeout=60
boot_timeout=600
prepare_only=0
files=""

die() { echo "nested-kvm: $*" >&2; exit 1; }
unavailable() { echo "nested-kvm: unavailable: $*" >&2; exit 77; }

while getopts f:o:t:T:p opt; do
	case $opt in
	f) files="$files
$OPTARG" ;;
	o) results=$OPTARG ;;
	t) cmd_timeout=$OPTARG ;;
	T) boot_timeout=$OPTARG ;;
	p) prepare_only=1 ;;
	*) sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
cmdfile=${1:-}
[ -z "$cmdfile" ] || [ -r "$cmdfile" ] || die "cannot read $cmdfile"

# ---- the kernel: vmlinuz and the KVM modules, from a Debian package ----

# The .ko file of module NAME (kvm_amd -> kvm-amd.ko) under the unpacked tree.
find_module() {
	find "$1" -name "$2.ko*" -o -name "$(echo "$2" | tr _ -).ko*" | head -n 1
}

# Copies module $2 (after its dependencies) from tree $1 into $KDIR, and
# appends it to the load order. Compressed modules are decompressed, since
# busybox insmod may not do it.
add_module() {
	grep -qx "$2" "$KDIR/order.tmp" 2>/dev/null && return 0
	ko=$(find_module "$1" "$2")
	[ -n "$ko" ] || unavailable "module $2 is not in $KPKG"
	case $ko in
	*.xz) xz -dc "$ko" > "$KDIR/$2.ko" ;;
	*.zst) zstd -qdc "$ko" > "$KDIR/$2.ko" ;;
	*.gz) gzip -dc "$ko" > "$KDIR/$2.ko" ;;
	*) cp "$ko" "$KDIR/$2.ko" ;;
	esac
	deps=$(strings "$KDIR/$2.ko" | sed -n 's/^depends=//p' | tr , ' ')
	for d in $deps; do
		add_module "$1" "$d"
	done
	echo "$2" >> "$KDIR/order.tmp"
}

fetch_kernel() {
	[ -f "$KDIR/order" ] && [ -f "$KDIR/vmlinuz" ] && return 0
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
		unavailable "apt-get and dpkg-deb are needed to fetch $KPKG"
	command -v strings >/dev/null || unavailable "strings (binutils) is needed"
	# The metapackage names the current kernel: linux-image-<abi>-cloud-amd64.
	pkg=$(apt-cache depends "$KPKG" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || unavailable "apt-cache knows no $KPKG (run apt-get update?)"
	rm -rf "$KDIR" "$NESTED/download"
	mkdir -p "$KDIR" "$NESTED/download"
	echo "nested-kvm: downloading $pkg" >&2
	(cd "$NESTED/download" && apt-get download -q "$pkg" >&2) ||
		unavailable "apt-get download $pkg failed"
	dpkg-deb -x "$NESTED/download/"*.deb "$NESTED/download/tree"
	tree=$NESTED/download/tree
	cp "$tree"/boot/vmlinuz-* "$KDIR/vmlinuz"
	ls "$tree/lib/modules" > "$KDIR/version"
	: > "$KDIR/order.tmp"
	for m in $MODULES; do
		add_module "$tree/lib/modules" "$m"
	done
	mv "$KDIR/order.tmp" "$KDIR/order"
	rm -rf "$NESTED/download"
}

# ---- the initramfs of the Linux guest ----

QEMU_BIN=$(command -v "$QEMU" || true)
[ -n "$QEMU_BIN" ] || unavailable "$QEMU not found"
command -v cpio >/dev/null || unavailable "cpio is needed"
[ -x /bin/busybox ] || unavailable "/bin/busybox (busybox-static) is needed"
fetch_kernel
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/wisp" "$BUILD/wisp-static" "$BUILD/wisp-kernel.elf" >&2
[ "$prepare_only" = 1 ] && exit 0

# Per run, so that runs in parallel do not clash.
work=$(mktemp -d "$NESTED/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/root
mkdir -p "$stage/nested/modules" "$stage/nested/bin"

# Puts host file $1 into the guest at its own path, with whatever `wisp run`
# needs there to pack it (for a dynamic program: its loader and libraries).
add_file() {
	[ -e "$1" ] || die "-f $1: no such file"
	case $1 in /*) ;; *) die "-f $1: give an absolute path" ;; esac
	if [ -d "$1" ]; then
		mkdir -p "$stage$(dirname "$1")"
		cp -a "$1" "$stage$(dirname "$1")/"
		return
	fi
	magic=$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')
	case $magic in
	7f454c46|2321*)
		"$BUILD/wisp" pack -o "$work/pack.cpio" "$1" >/dev/null ||
			die "-f $1: wisp pack failed"
		(cd "$stage" && cpio -idmu --quiet < "$work/pack.cpio") ;;
	*)
		mkdir -p "$stage$(dirname "$1")"
		cp -L "$1" "$stage$1" ;;
	esac
}

add_file /bin/busybox
while IFS= read -r f; do
	[ -z "$f" ] || add_file "$f"
done <<FILES
$files
FILES
cp "$BUILD/wisp-static" "$stage/nested/wisp"
cp "$BUILD/wisp-kernel.elf" "$stage/nested/wisp-kernel.elf"
for m in $(cat "$KDIR/order"); do
	cp "$KDIR/$m.ko" "$stage/nested/modules/"
done
cp "$KDIR/order" "$stage/nested/modules/order"
if [ -n "$cmdfile" ]; then
	cp "$cmdfile" "$stage/nested/cmds"
else
	cat > "$stage/nested/cmds" <<'EOF'
wisp run /bin/busybox echo hello from wisp on nested KVM
wisp run /bin/busybox sh -c 'echo to stderr >&2; exit 7'
EOF
fi
echo "$cmd_timeout" > "$stage/nested/timeout"

# /init runs in the Linux guest; busybox applets are linked into /nested/bin,
# last on PATH, so that programs put there with -f are found first.
cat > "$stage/init" <<'EOF'
#!/bin/busybox sh
PATH=/nested:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:/nested/bin
export PATH HOME=/
/bin/busybox --install -s /nested/bin
# The initramfs root is a writable tmpfs: /tmp needs no mount of its own.
mkdir -p /proc /sys /dev /tmp
chmod 1777 /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec 3>/dev/ttyS1
for m in $(cat /nested/modules/order); do
	insmod /nested/modules/$m.ko || echo "nested: insmod $m failed"
done
if [ ! -c /dev/kvm ]; then
	echo "@@ KVM missing" >&3
	{ grep -o -w -E 'svm|vmx|npt' /proc/cpuinfo | sort -u; dmesg | grep -i -E 'kvm|svm'; } |
		base64 >&3
	echo "@@ END" >&3
	echo "nested: no /dev/kvm"
	poweroff -f
fi
read up rest < /proc/uptime
echo "@@ KVM ok uptime=$up" >&3
t=$(cat /nested/timeout)
n=0
while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	n=$((n + 1))
	echo "@@ CMD $n BEGIN $(printf %s "$line" | base64 | tr -d '\n')" >&3
	echo "nested: [$n] $line"
	read t0 rest < /proc/uptime
	# In a session of its own, so that the watchdog kills all of it (a wisp
	# in a pipeline too), not just the shell.
	setsid sh -c "$line" </dev/null >/tmp/.out 2>/tmp/.err &
	pid=$!
	(sleep "$t"; echo "nested: [$n] timed out after ${t}s"; kill -KILL -"$pid") &
	dog=$!
	wait "$pid"
	rc=$?
	kill "$dog" 2>/dev/null
	read t1 rest < /proc/uptime
	{ echo "@@ STDOUT $n"; base64 </tmp/.out; echo "@@ STDERR $n"; base64 </tmp/.err
	  echo "@@ CMD $n rc=$rc secs=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')"; } >&3
	echo "nested: [$n] rc=$rc"
done < /nested/cmds
# Kernel messages about KVM (unhandled MSRs, warnings) help diagnose failures.
echo "@@ DMESG" >&3
dmesg | grep -i -E 'kvm|svm|warn|bug' | base64 >&3
echo "@@ END" >&3
poweroff -f
EOF
chmod +x "$stage/init"
(cd "$stage" && find . | cpio -o -H newc --quiet) > "$work/initramfs.cpio"

# ---- boot ----
mkdir -p "$(dirname "$results")"
: > "$results"
echo "nested-kvm: booting $(cat "$KDIR/version") under $QEMU_BIN (TCG)" >&2
rc=0
timeout -s KILL "$boot_timeout" "$QEMU_BIN" -accel tcg -M q35 -cpu max -m 2G -smp 1 \
	-display none -monitor none -no-reboot -net none \
	-serial stdio -serial "file:$results" \
	-kernel "$KDIR/vmlinuz" -initrd "$work/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null || rc=$?
[ "$rc" = 137 ] && die "the guest did not finish within ${boot_timeout}s"
[ "$rc" = 0 ] || die "$QEMU exited with status $rc"
grep -q '^@@ KVM missing' "$results" &&
	unavailable "no /dev/kvm in the Linux guest (does this QEMU emulate SVM?)"
grep -q '^@@ END' "$results" || die "the guest stopped before the end (see the console above)"
exit 0
