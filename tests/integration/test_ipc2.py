"""signalfd, AF_UNIX socket pairs and /proc files with tests/progs/ipc2.c (each check also passes on native Linux)."""

import pytest

# In the order ipc2.c runs them.
CHECKS = ["signalfd", "signalfd_block", "stream", "stream_big", "dgram", "seqpacket",
          "shutdown", "sockopt", "rights", "maps", "proc"]


@pytest.mark.all_variants
def test_ipc2_checks(run, progs, backend, variant):
    rc, out, err = run([progs("ipc2", variant)], backend)
    assert rc == 0, (out, err)
    assert out.splitlines() == ["ok " + c for c in CHECKS], err


def test_socket_write_to_closed_peer_raises_sigpipe(run, progs, backend, variant):
    rc, out, err = run([progs("ipc2", variant), "sigpipe"], backend)
    assert rc == 141, (out, err)
    assert out == ""
    assert "killed by SIGPIPE" in err


def test_maps_names_the_program(run, progs, backend, variant):
    # The program's segments carry its path and file offsets, as on Linux;
    # names start at column 73.
    prog = progs("ipc2", variant)
    rc, out, err = run([prog, "cat", "/proc/self/maps"], backend)
    assert rc == 0, err
    lines = out.splitlines()
    named = [l for l in lines if l.endswith(" " + prog)]
    assert len(named) >= 2, out
    assert named[0].split()[2] == "00000000", out
    assert all(l.index(prog) == 73 for l in named), out
    for name in ("[stack]", "[vdso]", "[vvar]"):
        assert sum(l.endswith(" " + name) for l in lines) == 1, out


def test_proc_sys_values(run, progs, backend, variant):
    prog = progs("ipc2", variant)
    rc, out, err = run([prog, "cat", "/proc/sys/kernel/ostype", "/proc/sys/kernel/hostname",
                        "/proc/sys/kernel/pid_max", "/proc/sys/vm/overcommit_memory",
                        "/proc/self/comm"], backend)
    assert rc == 0, err
    comm = prog.rsplit("/", 1)[1][:15]
    assert out == "Linux\nwisp\n4194304\n0\n%s\n" % comm
