"""virtio-blk disks: `wisp run --disk IMAGE:MOUNT[:ro]` gives the guest the
image as a block device, /dev/vda, /dev/vdb, ... in --disk order (mounting
its ext2 file system at MOUNT comes next). Reads and writes at any offset,
fsync to the host file, read-only disks. The kvm backend only: that is
where wisp-vmm serves the device."""

import hashlib
import os
import random
import shutil
import subprocess

import pytest

from conftest import kvm_available

BUSYBOX = "/bin/busybox"

pytestmark = [pytest.mark.kvm,
              pytest.mark.skipif(not kvm_available(),
                                 reason="kvm backend: /dev/kvm not available (no KVM on this host)")]


def mke2fs():
    path = shutil.which("mke2fs") or "/sbin/mke2fs"
    if not os.access(path, os.X_OK):
        pytest.fail("mke2fs missing: run `make deps` (package e2fsprogs)")
    return path


@pytest.fixture
def disk(tmp_path):
    """disk(name, size_mb=8): a fresh ext2 image in tmp_path."""
    def make(name="disk.img", size_mb=8):
        path = tmp_path / name
        subprocess.run([mke2fs(), "-q", "-t", "ext2", "-F", str(path), "%dM" % size_mb],
                       check=True)
        return path
    return make


def md5(data):
    return hashlib.md5(data).hexdigest()


def sh(run, script, *disks, ro=False, adds=()):
    args = []
    for i, d in enumerate(disks):
        args += ["--disk", "%s:/d%d%s" % (d, i, ":ro" if ro else "")]
    for a in adds:
        args += ["--add", a]
    return run(args + [BUSYBOX, "sh", "-c", script], "kvm")


def test_reads_the_whole_disk(run, disk):
    img = disk()
    r = sh(run, "md5sum /dev/vda; blockdev --getsize64 /dev/vda", img)
    assert r.rc == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == md5(img.read_bytes())
    assert int(out[2]) == img.stat().st_size


def test_writes_reach_the_host_file(run, disk, tmp_path):
    img = disk()
    before = img.read_bytes()
    data = bytes(random.Random(7).randrange(256) for _ in range(70000))
    (tmp_path / "data").write_bytes(data)
    # 70000 bytes at byte 1234567: unaligned start and end, over several
    # transfers; then 3 bytes across a sector boundary.
    (tmp_path / "abc").write_bytes(b"abc")
    script = ("dd if=/in/data of=/dev/vda bs=70000 seek=1234567 oflag=seek_bytes conv=notrunc,fsync"
              " 2>/dev/null && dd if=/in/abc of=/dev/vda bs=1 seek=1535 conv=notrunc,fsync"
              " 2>/dev/null && echo ok")
    r = sh(run, script, img, adds=["%s:/in" % tmp_path])
    assert r.rc == 0 and r.stdout == "ok\n", r
    after = img.read_bytes()
    assert after[1234567:1234567 + 70000] == data
    assert after[1535:1538] == b"abc"
    want = bytearray(before)
    want[1234567:1234567 + 70000] = data
    want[1535:1538] = b"abc"
    assert md5(after) == md5(bytes(want)), "bytes outside the writes changed"


def test_read_only_disk_refuses_writes(run, disk):
    img = disk()
    before = md5(img.read_bytes())
    r = sh(run, "echo x | dd of=/dev/vda conv=notrunc 2>&1; md5sum /dev/vda", img, ro=True)
    assert r.rc == 0, r.stderr
    assert "Read-only file system" in r.stdout, r.stdout
    assert before in r.stdout
    assert md5(img.read_bytes()) == before


def test_two_disks_in_order(run, disk):
    a, b = disk("a.img", 4), disk("b.img", 8)
    r = sh(run, "blockdev --getsize64 /dev/vda; blockdev --getsize64 /dev/vdb; ls /dev/vdc",
           a, b)
    assert r.stdout.split()[:2] == [str(4 << 20), str(8 << 20)], r
    assert r.rc != 0 and "vdc" in r.stdout + r.stderr


def test_reads_past_the_end_stop_there(run, disk):
    img = disk("small.img", 1)
    r = sh(run, "dd if=/dev/vda of=/dev/null bs=4096 skip=255 2>&1; "
                "dd if=/dev/vda of=/dev/null bs=4096 skip=256 2>&1", img)
    assert r.rc == 0, r.stderr
    assert r.stdout.count("records in") == 2
    assert "1+0 records in" in r.stdout and "0+0 records in" in r.stdout, r.stdout
