"""Kernel mechanisms seen from programs (tests/progs/sched.c): preemption,
copy-on-write fork, shared and PROT_NONE mappings, the vDSO, #! scripts."""

import pytest

CHECKS = ["preempt", "cow", "shared", "protnone", "vdso", "script"]


@pytest.mark.parametrize("check", CHECKS)
def test_kernel_feature(run, progs, backend, variant, check):
    rc, out, err = run([progs("sched", variant), check], backend)
    assert (rc, out) == (0, "ok %s\n" % check), err
