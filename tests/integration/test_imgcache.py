"""The cache of packed images (vmm/imgcache.c): `wisp run PROGRAM` keeps the
archive it packed in $XDG_CACHE_HOME/wisp and maps it in later runs whose
inputs are unchanged.

Each test has a cache directory of its own and runs wisp with
WISP_VERBOSE=1, whose "wisp: image cache: hit|miss|stored|not stored|off"
lines say what the cache did; the output of the program says what ran.
Nothing here is timed.
"""

import os
import shutil
import time

import pytest

from conftest import WISP, execute, kvm_available


def backend():
    return "kvm" if kvm_available() else "qemu"


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def wisp_run(cache, args, verbose=True, **env):
    e = dict(os.environ, XDG_CACHE_HOME=str(cache), **env)
    e.pop("WISP_VERBOSE", None)
    if verbose:
        e["WISP_VERBOSE"] = "1"
    return execute([WISP, "run", "--backend", backend(), *args], env=e, timeout=120)


def ok(res, rc=0):
    assert res.rc == rc, "exit status %d\nstdout: %r\nstderr: %r" % (res.rc, res.stdout, res.stderr)
    return res


def said(res, what):
    return "wisp: image cache: " + what in res.stderr


def entries(cache):
    d = cache / "wisp"
    return sorted(d.glob("*.wimg")) if d.is_dir() else []


def settle(*paths):
    """wisp does not cache an archive whose inputs changed less than a second
    before packing (their next change could keep size and times): wait."""
    newest = max(max(os.stat(p).st_mtime, os.stat(p).st_ctime) for p in paths)
    delay = newest + 1.1 - time.time()
    if delay > 0:
        time.sleep(delay)


def test_second_run_hits(cache, progs):
    hello = progs("hello")
    settle(hello)
    first = ok(wisp_run(cache, [hello, "a"]))
    assert said(first, "miss") and said(first, "stored")
    assert len(entries(cache)) == 1
    second = ok(wisp_run(cache, [hello, "b", "c"]))   # arguments are not in the archive
    assert said(second, "hit")
    assert "hello from wisp" in second.stdout and "argc=3" in second.stdout
    assert len(entries(cache)) == 1


def test_quiet_without_verbose(cache, progs):
    hello = progs("hello")
    settle(hello)
    for _ in range(2):
        res = ok(wisp_run(cache, [hello], verbose=False))
        assert "image cache" not in res.stderr
    assert len(entries(cache)) == 1


def test_changed_program_misses(cache, progs, tmp_path):
    prog = tmp_path / "prog"
    shutil.copy(progs("hello"), prog)
    settle(prog)
    assert said(ok(wisp_run(cache, [str(prog)])), "stored")
    assert said(ok(wisp_run(cache, [str(prog)])), "hit")
    # Same size, same inode, new content.
    data = prog.read_bytes()
    assert b"hello from wisp" in data
    with open(prog, "r+b") as f:
        f.write(data.replace(b"hello from wisp", b"HELLO FROM WISP"))
    res = ok(wisp_run(cache, [str(prog)]))
    assert said(res, "miss") and "an input changed" in res.stderr
    assert "HELLO FROM WISP" in res.stdout
    # Replaced by another program altogether.
    settle(prog)
    shutil.copy(progs("exitcode"), prog)
    res = ok(wisp_run(cache, [str(prog), "7"]), rc=7)
    assert said(res, "miss")


def test_changed_added_file_misses(cache, tmp_path):
    busybox = "/bin/busybox"
    if not os.access(busybox, os.X_OK):
        pytest.skip("no /bin/busybox on this host")
    data = tmp_path / "data"
    data.mkdir()
    (data / "x").write_text("one\n")
    settle(data, data / "x", busybox)
    args = ["--add", "%s:/data" % data, busybox, "cat", "/data/x"]
    assert ok(wisp_run(cache, args)).stdout == "one\n"
    res = ok(wisp_run(cache, args))
    assert said(res, "hit") and res.stdout == "one\n"
    (data / "x").write_text("two\n")
    res = ok(wisp_run(cache, args))
    assert said(res, "miss") and res.stdout == "two\n"
    # A file that appears in an added directory is in the next run.
    settle(data, data / "x")
    ok(wisp_run(cache, args))
    (data / "y").write_text("new\n")
    res = ok(wisp_run(cache, ["--add", "%s:/data" % data, busybox, "cat", "/data/y"]))
    assert said(res, "miss") and res.stdout == "new\n"


@pytest.mark.parametrize("damage", ["truncate", "header", "foreign", "empty"])
def test_damaged_entry_is_rebuilt(cache, progs, damage):
    hello = progs("hello")
    settle(hello)
    ok(wisp_run(cache, [hello]))
    [entry] = entries(cache)
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[:len(data) // 2])
    elif damage == "header":
        entry.write_bytes(data[:20] + bytes([data[20] ^ 0xff]) + data[21:])
    elif damage == "foreign":
        entry.write_bytes(os.urandom(len(data)))
    else:
        entry.write_bytes(b"")
    res = ok(wisp_run(cache, [hello]))
    assert said(res, "miss") and said(res, "stored")
    assert "hello from wisp" in res.stdout
    assert said(ok(wisp_run(cache, [hello])), "hit")


def test_no_cache(cache, progs):
    hello = progs("hello")
    settle(hello)
    res = ok(wisp_run(cache, ["--no-cache", hello]))
    assert said(res, "off (--no-cache)") and "hello from wisp" in res.stdout
    res = ok(wisp_run(cache, [hello], WISP_NO_CACHE="1"))
    assert said(res, "off (WISP_NO_CACHE)")
    assert not (cache / "wisp").exists()
    ok(wisp_run(cache, [hello]))
    res = ok(wisp_run(cache, ["--no-cache", hello]))   # leaves the entry alone
    assert not said(res, "hit") and len(entries(cache)) == 1


@pytest.mark.parametrize("where", ["file", "proc"])
def test_unwritable_cache_dir_falls_back(tmp_path, progs, where):
    hello = progs("hello")
    settle(hello)
    if where == "file":
        cache = tmp_path / "not-a-dir"
        cache.write_text("")
    else:
        cache = "/proc/self/wisp-cache"   # nothing can be made there
    res = ok(wisp_run(cache, [hello], verbose=False))
    assert res.stderr == "hello on stderr\n" and "hello from wisp" in res.stdout
    res = ok(wisp_run(cache, [hello]))
    assert said(res, "not stored")


def test_python3_hits(cache):
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip("no python3 on this host")
    args = [python, "-c", "import json; print(json.dumps([6 * 7]))"]
    first = ok(wisp_run(cache, args))
    if said(first, "not stored"):
        pytest.skip("python3's files changed within the last second: " + first.stderr)
    res = ok(wisp_run(cache, args))
    assert said(res, "hit") and res.stdout == "[42]\n"
