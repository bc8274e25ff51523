"""Test programs from tests/progs/, each built with musl and glibc, static and
static-pie (see conftest.VARIANTS), run as unmodified guest programs."""

import os
import re

import pytest

DEFAULT_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/"}


def parse_hello(out):
    """Decodes hello.c's output into (argv list, env list)."""
    lines = out.splitlines()
    assert lines and lines[0] == "hello from wisp", out
    argc = int(lines[1].split("=", 1)[1])
    argv, env = [], []
    for line in lines[2:]:
        key, _, val = line.partition("=")
        raw = bytes.fromhex(val).decode("utf-8", errors="surrogateescape")
        if key.startswith("argv["):
            assert key == "argv[%d]" % len(argv), out
            argv.append(raw)
        elif key == "env":
            env.append(raw)
        else:
            pytest.fail("unexpected line %r in:\n%s" % (line, out))
    assert len(argv) == argc, out
    return argv, env


def env_dict(env):
    d = {}
    for e in env:
        name, _, value = e.partition("=")
        assert name not in d, "duplicate environment entry %r in %r" % (name, env)
        d[name] = value
    return d


# ---- hello: output, argv, environment ----

@pytest.mark.all_variants
def test_hello(run, progs, backend, variant):
    prog = progs("hello", variant)
    rc, out, err = run([prog], backend)
    assert rc == 0, err
    argv, env = parse_hello(out)
    assert argv == [prog]          # the program lives at its absolute host path
    assert "hello on stderr\n" in err
    assert "hello on stderr" not in out
    assert env_dict(env) == DEFAULT_ENV


ODD_ARGS = ["a b", "", "double\"quote", "single'quote", "back\\slash", "\\",
            "trailing\\", "\\\\two", "tab\there", "  lead and trail  ", "--mem",
            "-e", "X=1", "--", "ünïcødé ✓", "$HOME", "*", "=", ""]


@pytest.mark.all_variants
def test_argv_passed_exactly(run, progs, backend, variant):
    prog = progs("hello", variant)
    rc, out, err = run([prog, *ODD_ARGS], backend)
    assert rc == 0, err
    argv, _ = parse_hello(out)
    assert argv == [prog, *ODD_ARGS]


def test_argv_many(run, progs, backend, variant):
    args = ["arg%d-%s" % (i, "x" * (i % 50)) for i in range(500)]
    prog = progs("hello", variant)
    rc, out, err = run([prog, *args], backend)
    assert rc == 0, err
    assert parse_hello(out)[0] == [prog, *args]


def test_env(run, progs, backend, variant):
    prog = progs("hello", variant)
    rc, out, err = run(["-e", "FOO=bar", "--env", "SPACES=a b  c", "-e", "EQ=x=y=z",
                        "-e", "EMPTY=", "-e", "BS=back\\slash", "-e", "HOME=/tmp",
                        prog], backend)
    assert rc == 0, err
    env = env_dict(parse_hello(out)[1])
    assert env["FOO"] == "bar"
    assert env["SPACES"] == "a b  c"
    assert env["EQ"] == "x=y=z"
    assert env["EMPTY"] == ""
    assert env["BS"] == "back\\slash"
    assert env["HOME"] == "/tmp"      # -e overrides a default


# ---- exit status ----

@pytest.mark.all_variants
def test_exit_42(run, progs, backend, variant):
    rc, out, err = run([progs("exitcode", variant)], backend)
    assert rc == 42, (out, err)


@pytest.mark.parametrize("status", [0, 1, 255])
def test_exit_status(run, progs, backend, status):
    rc, out, err = run([progs("exitcode"), str(status)], backend)
    assert rc == status, (out, err)


# ---- auxv ----

def test_auxv(run, progs, backend, variant):
    prog = progs("auxv", variant)
    rc, out, err = run([prog], backend)
    assert rc == 0, err
    vals = dict(line.split("=", 1) for line in out.splitlines())
    assert vals["AT_PAGESZ"] == "4096"
    assert vals["AT_RANDOM_nonnull"] == "1"
    assert vals["AT_RANDOM_nonzero"] == "1"
    assert vals["AT_EXECFN"] == prog
    assert vals["AT_PHDR_nonnull"] == "1"
    assert vals["AT_PHENT"] == "56"
    assert vals["AT_PHNUM_nonzero"] == "1"
    assert vals["AT_ENTRY_nonnull"] == "1"
    assert vals["AT_PHDR_has_load"] == "1"


# ---- syscalls by area ----

def test_fileio(run, progs, backend, variant):
    rc, out, err = run([progs("fileio", variant)], backend)
    assert rc == 0, err
    assert out == "fileio: ok\n"


def test_fileio_reads_added_file(run, progs, backend, tmp_path):
    data = "".join("row %d\n" % i for i in range(3000))  # > one page, several reads
    (tmp_path / "input.txt").write_text(data)
    rc, out, err = run(["--add", "%s:/data" % tmp_path, progs("fileio"), "/data/input.txt"],
                       backend)
    assert rc == 0, err
    assert out == data


def test_file_mappings(run, progs, backend, variant, tmp_path):
    # 64 KiB and more: the image puts the data on a page boundary, and the
    # kernel maps those pages from the initramfs instead of copying them.
    (tmp_path / "big").write_bytes(bytes(i * 7 % 251 for i in range(100 * 1024)))
    rc, out, err = run(["--add", "%s:/data" % tmp_path, progs("filemap", variant), "/data/big"],
                       backend)
    assert rc == 0, err
    assert out == "filemap: ok\n"


def test_memory(run, progs, backend, variant):
    rc, out, err = run([progs("memory", variant)], backend)
    assert rc == 0, err
    assert out == "memory: ok\n"


def test_timing(run, progs, backend, variant):
    rc, out, err = run([progs("timing", variant)], backend)
    assert rc == 0, err
    m = re.search(r"^slept_ns=(\d+)$", out, re.M)
    assert m, out
    slept = int(m.group(1))
    assert slept >= 50_000_000
    assert slept < 5_000_000_000, "nanosleep(50 ms) took %.2f s" % (slept / 1e9)
    assert out.endswith("timing: ok\n")


def test_getrandom(run, progs, backend, variant):
    prog = progs("random", variant)
    outs = []
    for _ in range(2):
        rc, out, err = run([prog], backend)
        assert rc == 0, err
        assert out.endswith("random: ok\n")
        outs.append(out)
    assert outs[0] != outs[1], "getrandom returned the same bytes in two VMs"


def test_uname(run, progs, backend, variant):
    rc, out, err = run([progs("uname", variant)], backend)
    assert rc == 0, err
    u = dict(line.split("=", 1) for line in out.splitlines())
    assert u["sysname"] == "Linux"
    assert u["machine"] == "x86_64"
    assert re.match(r"^\d+\.\d+", u["release"]), u


def test_unknown_syscall_enosys(run, progs, backend, variant):
    rc, out, err = run([progs("enosys", variant)], backend)
    assert rc == 0, err
    assert out == "enosys: ok\n"


def test_stdin_cat(run, progs, backend, variant):
    if backend != "kvm":
        pytest.skip("stdin is forwarded by the kvm backend only")
    data = os.urandom(300_000)
    rc, out, err = run([progs("cat", variant)], backend, input=data, text=False)
    assert rc == 0, err
    assert out == data
    assert b"cat: 300000 bytes" in err


def test_stdin_empty(run, progs, backend):
    if backend != "kvm":
        pytest.skip("stdin is forwarded by the kvm backend only")
    rc, out, err = run([progs("cat")], backend, input=b"")
    assert rc == 0, err
    assert out == ""
    assert "cat: 0 bytes" in err


# ---- fatal signals ----

def test_segv_null(run, progs, backend, variant):
    prog = progs("segv", variant)
    rc, out, err = run([prog, "null"], backend)
    assert rc == 139, (out, err)
    assert out == "before fault\n"        # output written before the fault survives
    assert "killed by SIGSEGV (fault address 0x10)" in err
    assert "wisp: %s killed by SIGSEGV (fault address 0x10)" % prog in err


@pytest.mark.parametrize("mode", ["ro", "unmap"])
def test_segv_address(run, progs, backend, mode):
    rc, out, err = run([progs("segv"), mode], backend)
    assert rc == 139, (out, err)
    m = re.match(r"^addr=0x([0-9a-f]+)$", out.strip())
    assert m, out
    assert "killed by SIGSEGV (fault address 0x%x)" % int(m.group(1), 16) in err


def test_abort(run, progs, backend, variant):
    rc, out, err = run([progs("abort", variant)], backend)
    assert rc == 134, (out, err)
    assert out == "raising SIGABRT\n"
    assert "killed by SIGABRT" in err


# ---- --trace-syscalls ----

def test_trace_syscalls(run, progs, backend, tmp_path):
    # fileio with a path argument copies the file to stdout with read(2) and
    # write(2) (printf would use writev in musl).
    (tmp_path / "in.txt").write_text("traced\n")
    rc, out, err = run(["--trace-syscalls", "--add", "%s:/data" % tmp_path,
                        progs("fileio"), "/data/in.txt"], backend)
    assert rc == 0, err
    assert out == "traced\n"                  # tracing does not touch stdout
    lines = err.splitlines()
    assert any("write(" in l for l in lines), err
    assert any("read(" in l for l in lines), err


def test_no_trace_by_default(run, progs, backend):
    rc, out, err = run([progs("hello")], backend)
    assert rc == 0
    assert "write(" not in err
