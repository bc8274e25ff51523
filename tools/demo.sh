#!/bin/sh
# demo.sh: boots a demo VM: busybox in a wisp VM on KVM, or under QEMU
# (software emulation) on hosts without /dev/kvm, saying so.
set -e
wisp=${1:-build/wisp}
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	backend=kvm
else
	backend=qemu
	echo "demo: /dev/kvm is not available here; using --backend qemu instead" >&2
fi
set -x
"$wisp" run --backend "$backend" /bin/busybox echo "hello from a wisp VM"
"$wisp" run --backend "$backend" /bin/busybox uname -a
"$wisp" run --backend "$backend" --mem 32M /bin/busybox sh -c 'echo "exiting with 7"; exit 7' || echo "exit status: $?"
