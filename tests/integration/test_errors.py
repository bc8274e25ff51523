"""Bad input: each case makes wisp exit non-zero with exactly one line on
stderr starting "wisp: " and nothing on stdout.

None of these starts a VM, so they run on every host: they use the kvm
backend where /dev/kvm exists and the qemu backend otherwise (so that the
/dev/kvm check cannot hide the error under test). The /dev/kvm test itself
runs only where KVM is absent.
"""

import os
import shutil
import struct
import subprocess

import pytest

from conftest import kvm_available

BUSYBOX = "/bin/busybox"


def assert_one_error_line(res, *needles, rc=None):
    """rc: exact expected status, or None for any non-zero status."""
    what = "exit status %d\nstdout: %r\nstderr: %r" % (res.rc, res.stdout, res.stderr)
    if rc is None:
        assert res.rc != 0, what
    else:
        assert res.rc == rc, what
    assert res.rc < 128, "wisp died of a signal\n" + what
    assert res.stdout == "", what
    lines = res.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0], "expected exactly one line on stderr\n" + what
    assert lines[0].startswith("wisp: "), what
    low = lines[0].lower()
    for n in needles:
        alternatives = n if isinstance(n, tuple) else (n,)
        assert any(a.lower() in low for a in alternatives), \
            "stderr should mention %s\n%s" % (" or ".join(map(repr, alternatives)), what)
    return lines[0]


@pytest.fixture
def bad_run(wisp_cmd, host_backend):
    def call(*args):
        return wisp_cmd(["run", "--backend", host_backend, *args], timeout=30)
    return call


# ---- ELF files crafted for the tests ----

# aarch64: mov x8, #93; mov x0, #0; svc #0  (exit(0))
AARCH64_EXIT = struct.pack("<III", 0xd2800ba8, 0xd2800000, 0xd4000001)


def elf64(machine=62, etype=2, code=AARCH64_EXIT):
    entry = 0x400000 + 64 + 56
    size = 64 + 56 + len(code)
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr += struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, 64, 0, 0,
                        64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, size, size, 0x1000)
    return ehdr + phdr + code


def elf32_crafted():
    # i386: mov $1,%eax; xor %ebx,%ebx; int $0x80
    code = b"\xb8\x01\x00\x00\x00\x31\xdb\xcd\x80"
    entry = 0x8048000 + 52 + 32
    size = 52 + 32 + len(code)
    ehdr = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    ehdr += struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, 0, 52, 32, 1, 40, 0, 0)
    phdr = struct.pack("<IIIIIIII", 1, 0, 0x8048000, 0x8048000, size, size, 5, 0x1000)
    return ehdr + phdr + code


def make_exe(path, data):
    path.write_bytes(data)
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def elf32(tmp_path):
    """A 32-bit x86 static ELF: built with gcc -m32 where multilib exists,
    otherwise crafted byte by byte."""
    src = tmp_path / "tiny32.c"
    src.write_text("void _start(void){ __asm__ volatile(\"movl $1,%eax; xorl %ebx,%ebx; int $0x80\"); }\n")
    out = tmp_path / "tiny32"
    if shutil.which("gcc"):
        r = subprocess.run(["gcc", "-m32", "-static", "-nostdlib", "-o", str(out), str(src)],
                           capture_output=True)
        if r.returncode == 0:
            return str(out)
    return make_exe(out, elf32_crafted())


def is_dynamic(path):
    """True if the ELF at path has a PT_INTERP program header."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 3 for i in range(phnum))


# ---- the program ----

def test_missing_program_argument(bad_run):
    assert_one_error_line(bad_run())


def test_program_not_found(bad_run):
    assert_one_error_line(bad_run("/nonexistent/program"), "/nonexistent/program")


def test_program_is_directory(bad_run, tmp_path):
    assert_one_error_line(bad_run(str(tmp_path)))


def test_not_an_elf_script(bad_run, tmp_path):
    prog = make_exe(tmp_path / "script.sh", b"#!/bin/sh\necho hi\n")
    assert_one_error_line(bad_run(prog), "ELF")


def test_not_an_elf_garbage(bad_run, tmp_path):
    prog = make_exe(tmp_path / "garbage", os.urandom(4096).replace(b"\x7f", b"\x00"))
    assert_one_error_line(bad_run(prog), "ELF")


def test_truncated_elf(bad_run, tmp_path):
    prog = make_exe(tmp_path / "truncated", elf64()[:40])
    assert_one_error_line(bad_run(prog))


def test_32bit_elf(bad_run, elf32):
    assert_one_error_line(bad_run(elf32), ("32-bit", "elfclass32", "64-bit", "x86-64", "x86_64"))


def test_aarch64_elf(bad_run, tmp_path):
    prog = make_exe(tmp_path / "arm64", elf64(machine=183))
    assert_one_error_line(bad_run(prog), ("x86-64", "x86_64", "aarch64", "machine", "architecture"))


def test_dynamic_executable_missing_library(bad_run, tmp_path):
    """Dynamic programs run; one whose library is not on the host is refused
    before a VM starts, naming the library."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is not installed")
    (tmp_path / "lib.c").write_text("int wisp_gone(void) { return 0; }\n")
    (tmp_path / "main.c").write_text("int wisp_gone(void); int main(void) { return wisp_gone(); }\n")
    lib = tmp_path / "libwispgone.so.1"
    prog = tmp_path / "needs-gone"
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libwispgone.so.1", "-o", str(lib),
                    str(tmp_path / "lib.c")], check=True, capture_output=True)
    subprocess.run(["gcc", "-o", str(prog), str(tmp_path / "main.c"), str(lib)],
                   check=True, capture_output=True)
    lib.unlink()
    assert_one_error_line(bad_run(str(prog)), str(prog), "needs libwispgone.so.1",
                          "not found", rc=1)


# ---- options ----

def test_mem_too_small(bad_run):
    assert_one_error_line(bad_run("--mem", "1M", BUSYBOX, "true"), "is too small", rc=1)


def test_mem_too_large(bad_run):
    assert_one_error_line(bad_run("--mem", "4096G", BUSYBOX, "true"), "too large", rc=1)


def test_mem_malformed(bad_run):
    assert_one_error_line(bad_run("--mem", "abc", BUSYBOX, "true"), "abc", rc=1)


def test_mem_malformed_short_option(bad_run):
    assert_one_error_line(bad_run("-m", "12Q", BUSYBOX, "true"), "12Q", rc=1)


def test_unknown_flag(bad_run):
    assert_one_error_line(bad_run("--frobnicate", BUSYBOX, "true"), "--frobnicate")


def test_unknown_backend(wisp_cmd):
    assert_one_error_line(wisp_cmd(["run", "--backend", "vmware", BUSYBOX, "true"]), "vmware")


def test_unknown_command(wisp_cmd):
    assert_one_error_line(wisp_cmd(["frobnicate"]), "frobnicate")


def test_add_missing_host_path(bad_run):
    assert_one_error_line(bad_run("--add", "/nonexistent/dir:/data", BUSYBOX, "true"),
                          "/nonexistent/dir")


def test_kernel_of_another_abi(bad_run, tmp_path):
    # The kernel's wisp ABI note patched to another version: refused at
    # once, not booted to hang without its boot info.
    from conftest import KERNEL
    data = bytearray(KERNEL.read_bytes())
    note = struct.pack("<III", 5, 4, 1) + b"wisp\0\0\0\0"
    at = data.find(note)
    assert at > 0, "no wisp ABI note in %s" % KERNEL
    data[at + len(note):at + len(note) + 4] = struct.pack("<I", 2)
    old = tmp_path / "old-kernel.elf"
    old.write_bytes(bytes(data))
    assert_one_error_line(bad_run("--kernel", str(old), BUSYBOX, "true"),
                          "old-kernel.elf", "guest ABI 2")


def test_kernel_missing(bad_run):
    assert_one_error_line(bad_run("--kernel", "/nonexistent/kernel.elf", BUSYBOX, "true"),
                          "/nonexistent/kernel.elf")


def test_pack_without_output(wisp_cmd):
    assert_one_error_line(wisp_cmd(["pack", BUSYBOX, "true"]))


# ---- /dev/kvm ----

@pytest.mark.parametrize("opts", [["--backend", "kvm"], []], ids=["explicit", "default"])
def test_dev_kvm_missing(wisp_cmd, opts):
    if kvm_available():
        pytest.skip("/dev/kvm is available here; this test needs a host without KVM")
    res = wisp_cmd(["run", *opts, BUSYBOX, "true"], timeout=30)
    assert_one_error_line(res, "/dev/kvm", ("not found", "not available"), rc=1)


# ---- help ----

def test_help(wisp_cmd):
    res = wisp_cmd(["--help"])
    assert res.rc == 0, res
    assert "wisp run" in res.stdout + res.stderr
    assert "--mem" in res.stdout + res.stderr


# ---- --disk ----

@pytest.fixture
def ext2_image(tmp_path):
    path = tmp_path / "disk.img"
    mke2fs = shutil.which("mke2fs") or "/sbin/mke2fs"
    subprocess.run([mke2fs, "-q", "-t", "ext2", "-F", str(path), "4M"], check=True)
    return path


def test_disk_missing_image(wisp_cmd, tmp_path):
    res = wisp_cmd(["run", "--disk", "%s/none.img:/data" % tmp_path, BUSYBOX, "true"])
    assert_one_error_line(res, "none.img", "no such file")


def test_disk_not_ext2(wisp_cmd, tmp_path):
    img = tmp_path / "junk.img"
    img.write_bytes(os.urandom(1 << 20))
    res = wisp_cmd(["run", "--disk", "%s:/data" % img, BUSYBOX, "true"])
    assert_one_error_line(res, "junk.img", "not an ext2")


@pytest.mark.parametrize("value", ["disk.img", "disk.img:data", "disk.img:/", "disk.img:/d:rw",
                                   ":/data"])
def test_disk_bad_syntax(wisp_cmd, value):
    res = wisp_cmd(["run", "--disk", value, BUSYBOX, "true"])
    assert_one_error_line(res, "--disk")


def test_disk_in_use(wisp_cmd, ext2_image):
    import fcntl
    with open(ext2_image, "rb+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        res = wisp_cmd(["run", "--disk", "%s:/data" % ext2_image, BUSYBOX, "true"])
    assert_one_error_line(res, "disk.img", "in use")


def test_disk_read_only_host_file(wisp_cmd, ext2_image):
    if os.geteuid() == 0:
        pytest.skip("running as root: a mode 0444 file is still writable")
    ext2_image.chmod(0o444)
    res = wisp_cmd(["run", "--disk", "%s:/data" % ext2_image, BUSYBOX, "true"])
    assert_one_error_line(res, "disk.img", "read-only", ":ro")
