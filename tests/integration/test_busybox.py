"""Debian's static busybox (/bin/busybox) as an unmodified guest program:
single applets, and shell scripts with pipelines, subshells, background
jobs and FIFOs. Input files are created in tmp_path and added with --add.
"""

import hashlib
import os
import shlex
import subprocess
import time

import pytest

BUSYBOX = "/bin/busybox"


@pytest.fixture(scope="module", autouse=True)
def need_busybox():
    if not os.access(BUSYBOX, os.X_OK):
        pytest.fail("%s missing: run `make deps` (package busybox-static)" % BUSYBOX)


def bb(run, backend, *args, add=(), opts=(), **kw):
    argv = list(opts)
    for spec in add:
        argv += ["--add", spec]
    return run(argv + [BUSYBOX, *args], backend, **kw)


def test_echo(run, backend):
    rc, out, err = bb(run, backend, "echo", "hello", "from", "wisp")
    assert (rc, out) == (0, "hello from wisp\n"), err


def test_echo_big_output(run, backend):
    # 20000 lines, ~109 kB: everything arrives, in order, nothing lost.
    rc, out, err = bb(run, backend, "seq", "1", "20000")
    assert rc == 0, err
    assert out == "".join("%d\n" % i for i in range(1, 20001))


def test_cat_added_file(run, backend, tmp_path):
    f = tmp_path / "greeting.txt"
    f.write_text("line one\nline two\n")
    rc, out, err = bb(run, backend, "cat", "/data/greeting.txt", add=["%s:/data" % tmp_path])
    assert (rc, out) == (0, "line one\nline two\n"), err


def test_cat_added_single_file(run, backend, tmp_path):
    f = tmp_path / "one.txt"
    f.write_text("just one file\n")
    rc, out, err = bb(run, backend, "cat", "/etc/one.txt", add=["%s:/etc/one.txt" % f])
    assert (rc, out) == (0, "just one file\n"), err


def test_ls_added_dir(run, backend, tmp_path):
    d = tmp_path / "dir"
    (d / "sub").mkdir(parents=True)
    for name in ("b.txt", "a.txt", "c.bin"):
        (d / name).write_bytes(b"x" * 10)
    rc, out, err = bb(run, backend, "ls", "/data", add=["%s:/data" % d])
    assert rc == 0, err
    assert out.split() == ["a.txt", "b.txt", "c.bin", "sub"]


def test_added_tree_metadata(run, backend, tmp_path):
    # The kvm backend builds the tree from wisp-vmm's index of the archive,
    # qemu from the archive's own headers: both must give the host's modes,
    # sizes, times, types and link targets. big.bin is large enough to be
    # page-aligned in the archive, behind a padding entry.
    d = tmp_path / "tree"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "small.txt").write_text("small\n")
    (d / "big.bin").write_bytes(bytes(range(256)) * 400)
    (d / "sub" / "run.sh").write_text("#!/bin/sh\n")
    (d / "sub" / "deeper" / "empty").write_bytes(b"")
    os.symlink("sub/run.sh", d / "link")
    os.chmod(d / "sub" / "run.sh", 0o751)
    os.chmod(d / "small.txt", 0o600)
    os.chmod(d / "sub", 0o710)
    for i, rel in enumerate(["small.txt", "big.bin", "sub/run.sh", "sub/deeper/empty",
                             "sub/deeper", "sub", "."]):
        os.utime(d / rel, (1_500_000_000 + i, 1_600_000_000 + i * 1000))
    script = ('busybox find /data | busybox sort | while read f; do '
              'busybox stat -c "%n|%a|%s|%Y|%F" "$f"; done; '
              'busybox readlink /data/link; busybox md5sum /data/big.bin; busybox stat -c %a /')
    rc, out, err = bb(run, backend, "sh", "-c", script, add=["%s:/data" % d])
    assert rc == 0, err
    kinds = {0o040000: "directory", 0o100000: "regular file", 0o120000: "symbolic link"}
    want = []
    for path in sorted(["/data"] + ["/data/" + str(p.relative_to(d)) for p in d.rglob("*")]):
        st = os.lstat(d / path[len("/data/"):]) if path != "/data" else os.stat(d)
        kind = kinds[st.st_mode & 0o170000]
        if kind == "regular file" and st.st_size == 0:
            kind = "regular empty file"
        want.append("%s|%o|%d|%d|%s" % (path, st.st_mode & 0o777, st.st_size,
                                        int(st.st_mtime), kind))
    want += ["sub/run.sh", hashlib.md5((d / "big.bin").read_bytes()).hexdigest() +
             "  /data/big.bin", "755"]
    # wisp's archives give symlinks no time of their own.
    got = [l.replace("|0|symbolic link", "|symbolic link") for l in out.splitlines()]
    want = [w[:w.rindex("|", 0, w.rindex("|"))] + "|symbolic link"
            if w.endswith("|symbolic link") else w for w in want]
    assert got == want


def test_wc(run, backend, tmp_path):
    (tmp_path / "words").write_text("one two three\nfour five\nsix\n")
    rc, out, err = bb(run, backend, "wc", "-l", "-w", "-c", "/in/words", add=["%s:/in" % tmp_path])
    assert rc == 0, err
    lines, words, chars, name = out.split()
    assert (int(lines), int(words), int(chars), name) == (3, 6, 28, "/in/words")


def test_sort(run, backend, tmp_path):
    words = ["pear", "apple", "fig", "banana", "cherry", "apple"]
    (tmp_path / "fruit").write_text("\n".join(words) + "\n")
    rc, out, err = bb(run, backend, "sort", "/in/fruit", add=["%s:/in" % tmp_path])
    assert rc == 0, err
    assert out.splitlines() == sorted(words)


def test_sha256sum(run, backend, tmp_path):
    blob = os.urandom(1 << 20) + b"tail"
    (tmp_path / "blob").write_bytes(blob)
    rc, out, err = bb(run, backend, "sha256sum", "/in/blob", add=["%s:/in" % tmp_path])
    assert rc == 0, err
    assert out == "%s  /in/blob\n" % hashlib.sha256(blob).hexdigest()


def test_sh_exit_status(run, backend):
    rc, out, err = bb(run, backend, "sh", "-c", "exit 7")
    assert rc == 7, (out, err)


def test_sh_stdout_stderr_separated(run, backend):
    rc, out, err = bb(run, backend, "sh", "-c", "echo out; echo err >&2")
    assert rc == 0
    assert out == "out\n"
    assert err == "err\n"


@pytest.mark.parametrize("applet,status", [("true", 0), ("false", 1)])
def test_true_false(run, backend, applet, status):
    rc, out, err = bb(run, backend, applet)
    assert rc == status, (out, err)
    assert out == ""


def test_sh_tmp_roundtrip(run, backend):
    # Builtins only: echo into a file in /tmp, read it back with `read`.
    script = ('echo "hello tmp" > /tmp/f; echo second >> /tmp/f; '
              '{ read a; read b; } < /tmp/f; echo "got:$a:$b"; '
              'test -f /tmp/f && echo exists; test -e /tmp/nope || echo absent')
    rc, out, err = bb(run, backend, "sh", "-c", script)
    assert rc == 0, err
    assert out == "got:hello tmp:second\nexists\nabsent\n"


def test_sh_env(run, backend):
    rc, out, err = bb(run, backend, "sh", "-c", 'echo "$GREETING|$HOME|$PATH"',
                      opts=["-e", "GREETING=hi there"])
    assert rc == 0, err
    assert out == "hi there|/|/usr/local/bin:/usr/bin:/bin\n"


def test_mem_option(run, backend):
    rc, out, err = bb(run, backend, "echo", "small", opts=["--mem", "64M"])
    assert (rc, out) == (0, "small\n"), err
    rc, out, err = bb(run, backend, "echo", "big", opts=["-m", "1G"])
    assert (rc, out) == (0, "big\n"), err


def test_stdin_cat(run, backend):
    if backend != "kvm":
        pytest.skip("stdin is forwarded by the kvm backend only")
    data = "".join("stdin line %d\n" % i for i in range(5000))
    rc, out, err = bb(run, backend, "cat", input=data)
    assert rc == 0, err
    assert out == data


@pytest.mark.parametrize("lapic", ["default", "off"])
def test_stdin_wait_lets_others_run(run_command, backend, lapic, tmp_path):
    # cat blocks reading a FIFO whose writer stays quiet for 20 s: the VM's
    # other task must still run (wisp-vmm cuts the wait short when the
    # timer is due; on a PVM-style host, with NMIs, when the next one is).
    if backend != "kvm":
        pytest.skip("stdin is forwarded by the kvm backend only")
    fifo = tmp_path / "stdin"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", "exec sleep 20 > %s" % shlex.quote(str(fifo))])
    try:
        argv, env = run_command([BUSYBOX, "sh", "-c", "exec 3<&0; busybox cat <&3 & "
                                 "busybox sleep 0.3; echo slept; kill $!"], backend)
        env.pop("WISP_KVM_LAPIC", None)
        if lapic == "off":
            env["WISP_KVM_LAPIC"] = "0"
        t0 = time.monotonic()
        with open(fifo, "rb") as stdin:
            res = subprocess.run(argv, env=env, stdin=stdin, capture_output=True,
                                 text=True, timeout=30)
        secs = time.monotonic() - t0
    finally:
        writer.kill()
        writer.wait()
    assert (res.returncode, res.stdout) == (0, "slept\n"), res
    assert secs < 10, "%.1f s: the read blocked the VM" % secs


def test_program_found_in_path(run, backend):
    # PROGRAM without a '/' is looked up in the host's PATH (here: /bin/busybox).
    rc, out, err = run(["busybox", "echo", "via PATH"], backend)
    assert (rc, out) == (0, "via PATH\n"), err


def test_sh_pipelines_and_subshells(run, backend):
    script = ("busybox seq 1 100 | busybox grep 7 | busybox wc -l; "
              "x=outer; (x=inner; echo $x); echo $x; "
              "echo $(busybox echo nested $(busybox echo deep)); "
              "busybox sleep 0.1 & wait $!; echo waited $?")
    rc, out, err = bb(run, backend, "sh", "-c", script)
    assert (rc, out) == (0, "19\ninner\nouter\nnested deep\nwaited 0\n"), err


def test_sh_fifo(run, backend):
    script = ("busybox mkfifo /tmp/f && (echo through the fifo > /tmp/f &) && "
              "busybox cat /tmp/f")
    rc, out, err = bb(run, backend, "sh", "-c", script)
    assert (rc, out) == (0, "through the fifo\n"), err


def test_sh_kill_child(run, backend):
    script = "busybox sleep 10 & busybox kill -TERM $!; wait $!; echo status $?"
    rc, out, err = bb(run, backend, "sh", "-c", script)
    assert (rc, out) == (0, "status 143\n"), err
