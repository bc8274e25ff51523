"""Advisory file locks with tests/progs/locks.c: flock(2), fcntl(2) POSIX record locks and OFD locks between forked processes."""

import pytest

# In the order locks.c runs them.
CHECKS = ["flock_owners", "flock_convert", "flock_wait", "ranges", "offsets",
          "posix_release", "setlkw", "ofd", "independent"]


@pytest.mark.all_variants
def test_locks(run, progs, backend, variant):
    rc, out, err = run([progs("locks", variant)], backend)
    assert rc == 0, (out, err)
    assert out.splitlines() == ["ok " + c for c in CHECKS], err


def test_unknown_check_fails(run, progs, backend, variant):
    rc, out, err = run([progs("locks", variant), "nosuch"], backend)
    assert rc == 1, (out, err)
    assert out == ""
    assert "CHECK failed" in err
