"""A program that overwrites its guest kernel's memory (tests/progs/scribble.c).

Where the kernel runs in ring 0 (VMX, SVM, QEMU TCG) its pages are not
user-accessible: the write is a SIGSEGV like any other. On a PVM-style host
kernel pages must be user-accessible, so the program can break its own VM:
then wisp must still end with a one-line `wisp:` message and status 1 (or
the program's own status, if the damage went unnoticed), never hang and
never die itself. docs/usage.md, "Isolation", says what holds where.
"""

import re

import pytest

KERNEL_TEXT = 0xffffffff80100000      # kernel.ld: KERNEL_VMA + 1 MiB
DIRECT_MAP_RAM = 0xffffff0000100000   # mm/page.h: DIRECT_MAP_BASE + 1 MiB
MEM_MIB = 64

# (what, address, length, byte)
TARGETS = [
    ("kernel-text", KERNEL_TEXT, 64 * 1024, 0xcc),
    ("all-ram-zero", DIRECT_MAP_RAM, (MEM_MIB - 2) << 20, 0x00),
    ("all-ram-ones", DIRECT_MAP_RAM, (MEM_MIB - 2) << 20, 0xff),
]

# What wisp says when the guest breaks its VM (docs/usage.md).
VM_FAILURES = ("wisp: guest triple fault", "wisp: guest error:", "wisp: guest kernel panic:",
               "wisp: guest kernel stuck in ring 0", "wisp: KVM internal error",
               "wisp: guest access to unmapped memory", "wisp: guest halted")


def kernel_protected(backend):
    """Whether the guest kernel runs in ring 0 on this backend here."""
    if backend == "tcg":
        return True
    with open("/proc/cpuinfo") as f:
        flags = f.read().split()
    return "vmx" in flags or "svm" in flags


@pytest.mark.parametrize("what,addr,length,byte", TARGETS, ids=[t[0] for t in TARGETS])
def test_scribble_over_kernel(run, progs, backend, what, addr, length, byte):
    if backend == "qemu" and not kernel_protected(backend):
        pytest.skip("qemu backend on a PVM-style host: QEMU has no ring-0 watchdog, "
                    "a broken kernel can loop there (docs/usage.md, Isolation)")
    rc, out, err = run(["--mem", "%dM" % MEM_MIB, progs("scribble", "musl-static"),
                        hex(addr), str(length), str(byte)], backend, timeout=60)
    assert out.startswith("writing "), (out, err)
    if kernel_protected(backend):
        assert rc == 139, (rc, out, err)
        m = re.search(r"killed by SIGSEGV \(fault address (0x[0-9a-f]+)\)", err)
        assert m and addr <= int(m.group(1), 16) < addr + length, err
        return
    # wisp itself was not killed (rc < 0) and the run ended in time (the
    # fixture fails the test on a timeout).
    assert rc in (0, 1), (rc, out, err)
    if rc == 1:
        last = err.strip().splitlines()[-1]
        assert last.startswith(VM_FAILURES), err
    else:
        assert out.endswith("survived\n"), (out, err)
