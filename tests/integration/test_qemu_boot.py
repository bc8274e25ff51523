"""`wisp pack` and booting the wisp kernel under plain QEMU.

The same kernel that wisp-vmm runs also boots under
`qemu-system-x86_64 -M microvm -kernel build/wisp-kernel.elf -initrd INITRAMFS
-append CMDLINE` (PVH entry). Without wisp-vmm's boot info it uses legacy
devices: guest stdout on COM1 (here: QEMU's stdio), guest stderr on COM2 (here:
a file) and the exit status via isa-debug-exit, which makes QEMU exit with
(status << 1) | 1.
"""

import os

import pytest

from conftest import execute, kvm_available, qemu_path

BUSYBOX = "/bin/busybox"


def parse_newc(data):
    """Parses an uncompressed newc ("070701"/"070702") cpio archive into
    {name: (mode, bytes)}."""
    files, off = {}, 0
    while True:
        assert off + 110 <= len(data), "truncated cpio archive"
        hdr = data[off:off + 110]
        magic = hdr[:6]
        assert magic in (b"070701", b"070702"), "not a newc cpio archive: %r at %d" % (magic, off)
        fields = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        mode, filesize, namesize = fields[1], fields[6], fields[11]
        off += 110
        name = data[off:off + namesize - 1].decode("utf-8", "surrogateescape")
        off = (off + namesize + 3) & ~3
        body = data[off:off + filesize]
        off = (off + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return files
        files[name.lstrip("./").lstrip("/") if name not in (".", "/") else "."] = (mode, body)


@pytest.fixture
def pack(wisp_cmd, tmp_path):
    """pack(args) -> (initramfs path, cmdline) from `wisp pack -o FILE ARGS`."""
    def call(args):
        out = tmp_path / "initramfs.cpio"
        res = wisp_cmd(["pack", "-o", str(out), *args])
        assert res.rc == 0, res
        assert out.is_file() and out.stat().st_size > 0
        cmdline = res.stdout.strip()
        assert cmdline and "\n" not in cmdline, "pack should print one cmdline line: %r" % res.stdout
        return out, cmdline
    return call


def boot_qemu(kernel, initrd, cmdline, tmp_path, timeout=120):
    if qemu_path() is None:
        pytest.skip("qemu-system-x86_64 not found")
    com2 = tmp_path / "com2.txt"
    argv = [qemu_path(), "-M", "microvm", "-accel", "kvm" if kvm_available() else "tcg",
            "-m", "256M", "-nodefaults", "-no-user-config", "-nographic",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline,
            "-serial", "stdio",
            "-chardev", "file,id=com2,path=%s" % com2, "-device", "isa-serial,chardev=com2,index=1",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    res = execute(argv, timeout=timeout)
    err = com2.read_text(errors="replace") if com2.exists() else ""
    return res.rc, res.stdout.replace("\r\n", "\n"), err.replace("\r\n", "\n"), res.stderr


# ---- wisp pack ----

def test_pack_initramfs_contents(pack, progs, tmp_path):
    prog = progs("hello")
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "file.txt").write_text("packed data\n")
    initrd, _ = pack(["--add", "%s:/data" % data_dir, prog, "x"])
    files = parse_newc(initrd.read_bytes())
    key = prog.lstrip("/")
    assert key in files, "program not at its absolute host path; entries: %s" % sorted(files)[:50]
    mode, body = files[key]
    assert body == open(prog, "rb").read()
    assert mode & 0o111, "program is not executable in the initramfs"
    assert files.get("data/file.txt", (0, None))[1] == b"packed data\n", sorted(files)[:50]


def test_pack_cmdline(pack, progs):
    prog = progs("hello")
    _, cmdline = pack(["-e", "FOO=bar", "--trace-syscalls", prog, "arg1", "arg2"])
    head, sep, tail = cmdline.partition(" -- ")
    assert sep, cmdline
    assert "env=FOO=bar" in head.split()
    assert "trace=1" in head.split()
    assert tail.split()[-2:] == ["arg1", "arg2"]


# ---- plain QEMU boot ----

@pytest.mark.qemu
def test_qemu_boot_hello(pack, progs, kernel, tmp_path):
    prog = progs("hello")
    initrd, cmdline = pack([prog, "one", "two words"])
    rc, out, err, qerr = boot_qemu(kernel, initrd, cmdline, tmp_path)
    assert "hello from wisp" in out, (out, err, qerr)
    assert "argc=3\n" in out, "QEMU or the kernel changed the argument list:\n" + out
    assert "argv[1]=%s" % b"one".hex() in out
    assert "argv[2]=%s" % b"two words".hex() in out
    assert "hello on stderr" in err and "hello on stderr" not in out
    assert rc == (0 << 1) | 1, (rc, out, err, qerr)


@pytest.mark.qemu
def test_qemu_boot_exit_status(pack, progs, kernel, tmp_path):
    initrd, cmdline = pack([progs("exitcode"), "7"])
    rc, out, err, qerr = boot_qemu(kernel, initrd, cmdline, tmp_path)
    assert rc == (7 << 1) | 1, (rc, out, err, qerr)


@pytest.mark.qemu
def test_qemu_boot_busybox(pack, kernel, tmp_path):
    initrd, cmdline = pack([BUSYBOX, "echo", "hello from the serial port"])
    rc, out, err, qerr = boot_qemu(kernel, initrd, cmdline, tmp_path)
    assert "hello from the serial port\n" in out, (out, err, qerr)
    assert rc == 1, (rc, out, err, qerr)
