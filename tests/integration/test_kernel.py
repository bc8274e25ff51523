"""Kernel mechanisms seen from programs (tests/progs/sched.c): preemption,
copy-on-write fork, shared and PROT_NONE mappings, the vDSO, #! scripts."""

import pytest

CHECKS = ["preempt", "cow", "shared", "protnone", "vdso", "script"]


@pytest.mark.parametrize("check", CHECKS)
def test_kernel_feature(run, progs, backend, variant, check):
    rc, out, err = run([progs("sched", variant), check], backend)
    assert (rc, out) == (0, "ok %s\n" % check), err


def test_out_of_memory_kills_with_a_message(run, progs, backend, variant):
    rc, out, err = run(["--mem", "32M", progs("oom", variant)], backend)
    assert rc == 128 + 9, (out, err)
    assert "out of guest memory" in err and "killed by SIGKILL" in err, err
