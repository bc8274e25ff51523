"""Signal delivery with tests/progs/signals.c: handlers with siginfo, masks, nesting, alternate stacks, timers, restarts, FPU state and fatal defaults."""

import pytest

# In the order signals.c runs them.
CHECKS = ["segv", "fpe", "ill", "raise", "mask", "nested", "altstack", "alignment",
          "fpu", "alarm", "sigsuspend", "sigtimedwait", "restart", "children", "sleep"]


@pytest.mark.all_variants
def test_signal_handlers(run, progs, backend, variant):
    rc, out, err = run([progs("signals", variant)], backend)
    assert rc == 0, (out, err)
    assert out.splitlines() == ["ok " + c for c in CHECKS], err


def test_abort_runs_handler_then_dies(run, progs, backend, variant):
    # abort() runs the SIGABRT handler; when it returns, abort kills anyway.
    rc, out, err = run([progs("signals", variant), "abort"], backend)
    assert rc == 134, (out, err)
    assert out == "handler ran\n"
    assert "killed by SIGABRT" in err


def test_kill_self_default_action(run, progs, backend, variant):
    rc, out, err = run([progs("signals", variant), "term"], backend)
    assert rc == 143, (out, err)
    assert out == ""
    assert "killed by SIGTERM" in err


def test_resethand(run, progs, backend, variant):
    # SA_RESETHAND: the handler runs once, then the default action kills.
    rc, out, err = run([progs("signals", variant), "resethand"], backend)
    assert rc == 138, (out, err)
    assert out == "first ran 1\n"
    assert "killed by SIGUSR1" in err
