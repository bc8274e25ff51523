"""Dynamically linked host programs (Debian's coreutils, python3, sqlite3) as
unmodified guests: wisp packs their loader and libraries at their host paths.
Also `wisp build` and `wisp run --image`.

Each test is skipped when the host lacks the program, or is not dynamically
linked (then there is nothing new to test).
"""

import hashlib
import os
import shutil
import struct
import subprocess

import pytest

from test_errors import assert_one_error_line, is_dynamic


def need(path):
    if not os.access(path, os.X_OK):
        pytest.skip("%s is not installed on this host" % path)
    if not is_dynamic(path):
        pytest.skip("%s is not a dynamic executable on this host" % path)
    return path


def check(res, rc=0):
    assert res.rc == rc, "exit status %d\nstdout: %r\nstderr: %r" % (res.rc, res.stdout, res.stderr)
    return res


def test_true(run, backend):
    check(run([need("/bin/true")], backend))


def test_false(run, backend):
    check(run([need("/bin/false")], backend), rc=1)


def test_echo(run, backend):
    res = check(run([need("/bin/echo"), "hello", "", "wor ld"], backend))
    assert res.stdout == "hello  wor ld\n"


def test_sha256sum_added_file(run, backend, tmp_path):
    data = os.urandom(100000)
    (tmp_path / "blob").write_bytes(data)
    res = check(run(["--add", "%s:/data/blob" % (tmp_path / "blob"),
                     need("/usr/bin/sha256sum"), "/data/blob"], backend))
    assert res.stdout == "%s  /data/blob\n" % hashlib.sha256(data).hexdigest()


def test_ls_root(run, backend):
    res = check(run([need("/bin/ls"), "/"], backend))
    names = res.stdout.split()
    for d in ("etc", "tmp", "usr"):
        assert d in names, res.stdout
    # The host's merged-/usr symlinks are recreated.
    if os.path.islink("/lib"):
        assert "lib" in names, res.stdout


def test_ls_long_shows_symlinks(run, backend):
    if not os.path.islink("/lib"):
        pytest.skip("/lib is not a symlink on this host")
    res = run([need("/bin/ls"), "-l", "/"], backend)
    assert "lib -> %s" % os.readlink("/lib") in res.stdout, res
    assert "root root" in res.stdout, res   # getpwuid(0) through the generated /etc/passwd


def test_python(run, backend):
    res = check(run([need("/usr/bin/python3"), "-c", "print(6*7)"], backend))
    assert res.stdout == "42\n"


def test_python_stdlib_and_extensions(run, backend):
    code = ("import json, sqlite3, zlib, decimal; "
            "print(json.dumps([zlib.crc32(b'x'), str(decimal.Decimal('1.5') * 2), "
            "sqlite3.connect(':memory:').execute('select 6*7').fetchone()[0]]))")
    res = check(run([need("/usr/bin/python3"), "-c", code], backend))
    assert res.stdout == '[2363233923, "3.0", 42]\n'


def test_sqlite3(run, backend):
    res = check(run([need("/usr/bin/sqlite3"), ":memory:",
                     "create table t(a); insert into t values (2),(40); select sum(a) from t;"],
                    backend))
    assert res.stdout == "42\n"


@pytest.fixture
def cc():
    if not shutil.which("gcc"):
        pytest.skip("gcc is not installed")
    return "gcc"


def compile_c(cc, tmp_path, name, src, *flags):
    (tmp_path / (name + ".c")).write_text(src)
    out = tmp_path / name
    subprocess.run([cc, "-O2", "-o", str(out), str(tmp_path / (name + ".c")), *flags],
                   check=True, capture_output=True)
    return out


def test_runpath_origin(run, backend, cc, tmp_path):
    """A private library found through DT_RUNPATH $ORIGIN/lib."""
    (tmp_path / "lib").mkdir()
    compile_c(cc, tmp_path, "lib/libwisptest.so.1", "int f(void) { return 42; }\n",
              "-shared", "-fPIC", "-Wl,-soname,libwisptest.so.1")
    prog = compile_c(cc, tmp_path, "prog", "int f(void); int main(void) { return f(); }\n",
                     "-L%s" % (tmp_path / "lib"), "-l:libwisptest.so.1",
                     "-Wl,-rpath,$ORIGIN/lib")
    check(run([str(prog)], backend), rc=42)


def test_musl_dynamic(run, backend, tmp_path):
    if not shutil.which("musl-gcc"):
        pytest.skip("musl-gcc is not installed")
    prog = compile_c("musl-gcc", tmp_path, "m", "#include <stdio.h>\n"
                     "int main(void) { puts(\"musl\"); return 3; }\n")
    if not is_dynamic(str(prog)):
        pytest.skip("musl-gcc made a static program")
    res = check(run([str(prog)], backend), rc=3)
    assert res.stdout == "musl\n"


# ---- wisp build / wisp run --image ----

def test_build_and_run_image(wisp_cmd, run, backend, tmp_path):
    img = tmp_path / "echo.img"
    res = wisp_cmd(["build", "-o", str(img), "-e", "X=1", need("/bin/echo"), "stored", "args"])
    assert res.rc == 0 and res.stdout == "" and res.stderr == "", res
    assert img.read_bytes()[:8] == b"WISPIMG1"
    res = check(run(["--image", str(img)], backend))
    assert res.stdout == "stored args\n"
    res = check(run(["--image", str(img), "--", "new", "-n"], backend))
    assert res.stdout == "new -n\n"


def test_image_env_and_add(wisp_cmd, run, backend, tmp_path):
    img = tmp_path / "py.img"
    (tmp_path / "in.txt").write_text("from the host\n")
    code = "import os; print(os.environ['A'], os.environ['B'], open('/data/in.txt').read().strip())"
    res = wisp_cmd(["build", "-o", str(img), "-e", "A=stored", "-e", "B=stored",
                    need("/usr/bin/python3"), "-c", code])
    assert res.rc == 0, res
    res = check(run(["--image", str(img), "-e", "B=run",
                     "--add", "%s:/data/in.txt" % (tmp_path / "in.txt")], backend))
    assert res.stdout == "stored run from the host\n"


def test_image_errors(wisp_cmd, tmp_path, host_backend):
    bad = tmp_path / "bad.img"
    bad.write_bytes(b"WISPIMG1" + struct.pack("<II", 1, 72) + bytes(100))
    assert_one_error_line(wisp_cmd(["run", "--backend", host_backend, "--image", str(bad)]),
                          str(bad), "corrupt", rc=1)
    bad.write_bytes(b"#!/bin/sh\n")
    assert_one_error_line(wisp_cmd(["run", "--backend", host_backend, "--image", str(bad)]),
                          "not a wisp image", rc=1)
    assert_one_error_line(wisp_cmd(["run", "--image", str(tmp_path / "nope")]),
                          "No such file", rc=1)
    assert_one_error_line(wisp_cmd(["build", "/bin/true"]), "-o", rc=2)
    assert_one_error_line(wisp_cmd(["build", "-o", str(bad), "--mem", "64M", "/bin/true"]),
                          "--mem", rc=2)
