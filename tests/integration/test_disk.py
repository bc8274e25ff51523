"""virtio-blk disks: `wisp run --disk IMAGE:MOUNT[:ro]` gives the guest the
image as a block device, /dev/vda, /dev/vdb, ... in --disk order, and
mounts its ext2 file system at MOUNT. Block device: reads and writes at any
offset, fsync to the host file, read-only disks. ext2 read side:
directories, files of every size class, symlinks, programs and scripts run
from the disk, sqlite3 and python3 reading it, EROFS for every change on a
read-only disk (writing: test_ext2_write.py). The same tests run on every
backend: wisp-vmm's own device (kvm) and QEMU microvm's virtio-mmio one
(qemu, tcg)."""

import random
import shutil
import subprocess

import pytest

from ext2img import BUSYBOX, assert_fsck_clean, disk, md5, mke2fs, sh, tree  # noqa: F401



def test_reads_the_whole_disk(run, backend, disk):
    img = disk()
    r = sh(run, backend, "md5sum /dev/vda; blockdev --getsize64 /dev/vda", img)
    assert r.rc == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == md5(img.read_bytes())
    assert int(out[2]) == img.stat().st_size


def test_writes_reach_the_host_file(run, backend, disk, tmp_path):
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
    r = sh(run, backend, script, img, adds=["%s:/in" % tmp_path])
    assert r.rc == 0 and r.stdout == "ok\n", r
    after = img.read_bytes()
    assert after[1234567:1234567 + 70000] == data
    assert after[1535:1538] == b"abc"
    want = bytearray(before)
    want[1234567:1234567 + 70000] = data
    want[1535:1538] = b"abc"
    assert md5(after) == md5(bytes(want)), "bytes outside the writes changed"


def test_read_only_disk_refuses_writes(run, backend, disk):
    img = disk()
    before = md5(img.read_bytes())
    r = sh(run, backend, "echo x | dd of=/dev/vda conv=notrunc 2>&1; md5sum /dev/vda", img, ro=True)
    assert r.rc == 0, r.stderr
    assert "Read-only file system" in r.stdout, r.stdout
    assert before in r.stdout
    assert md5(img.read_bytes()) == before


def test_two_disks_in_order(run, backend, disk):
    a, b = disk("a.img", 4), disk("b.img", 8)
    r = sh(run, backend, "blockdev --getsize64 /dev/vda; blockdev --getsize64 /dev/vdb; ls /dev/vdc",
           a, b)
    assert r.stdout.split()[:2] == [str(4 << 20), str(8 << 20)], r
    assert r.rc != 0 and "vdc" in r.stdout + r.stderr


def test_reads_past_the_end_stop_there(run, backend, disk):
    img = disk("small.img", 1)
    r = sh(run, backend, "dd if=/dev/vda of=/dev/null bs=4096 skip=255 2>&1; "
                "dd if=/dev/vda of=/dev/null bs=4096 skip=256 2>&1", img)
    assert r.rc == 0, r.stderr
    assert r.stdout.count("records in") == 2
    assert "1+0 records in" in r.stdout and "0+0 records in" in r.stdout, r.stdout


# ---- ext2, reading ----

def test_ext2_tree_reads_as_on_the_host(run, backend, disk, tree):
    img = disk(tree=tree, size_mb=16)
    script = ("cat /d0/hello.txt /d0/link; md5sum /d0/sub/big.bin /d0/sparse.bin;"
              " readlink /d0/longlink; ls /d0 /d0/sub | busybox tr '\\n' ' '; echo;"
              " stat -c '%s %a' /d0/sub/big.bin /d0/run.sh")
    r = sh(run, backend, script, img, ro=True)
    assert r.rc == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0:2] == ["hello from ext2", "hello from ext2"]
    assert lines[2].split()[0] == md5((tree / "sub" / "big.bin").read_bytes())
    assert lines[3].split()[0] == md5((tree / "sparse.bin").read_bytes())
    assert lines[4] == "sub/" + "x" * 90
    for name in ("hello.txt", "link", "longlink", "lost+found", "run.sh", "sparse.bin", "sub",
                 "big.bin", "deep"):
        assert name in lines[5].split(), lines[5]
    assert lines[6:8] == ["%d 644" % (700 * 1024), "34 755"]


def test_ext2_programs_run_from_the_disk(run, backend, disk, tree):
    img = disk(tree=tree, size_mb=16)
    r = run(["--disk", "%s:/mnt/app:ro" % img, BUSYBOX, "sh", "-c",
             "/mnt/app/run.sh; /mnt/app/sub/deep/busybox echo exec ok"], backend)
    assert r.rc == 0, r.stderr
    assert r.stdout == "script ran\nexec ok\n"


def test_ext2_read_only_disk_refuses_every_change(run, backend, disk, tree):
    img = disk(tree=tree)
    before = md5(img.read_bytes())
    steps = ["echo x > /d0/new", "echo x >> /d0/hello.txt", "rm /d0/hello.txt", "mkdir /d0/d",
             "mv /d0/hello.txt /d0/h2", "ln -s a /d0/l2", "ln /d0/hello.txt /d0/h3",
             "touch /d0/hello.txt", "chmod 600 /d0/hello.txt", "truncate -s 0 /d0/hello.txt"]
    r = sh(run, backend, "; ".join("%s 2>/dev/null || echo refused" % s for s in steps), img,
           ro=True)
    assert r.rc == 0, r.stderr
    assert r.stdout == "refused\n" * len(steps)
    assert md5(img.read_bytes()) == before
    assert_fsck_clean(img)


def test_ext2_sqlite_and_python_read_it(run, backend, disk, tmp_path):
    sqlite3 = shutil.which("sqlite3")
    if not sqlite3:
        pytest.fail("sqlite3 missing: run `make deps` (package sqlite3)")
    t = tmp_path / "data"
    t.mkdir()
    subprocess.run([sqlite3, str(t / "t.db"),
                    "create table t(x); insert into t values(1),(2),(3);"], check=True)
    (t / "notes.txt").write_text("line one\nline two\n")
    img = disk(tree=t)
    r = run(["--disk", "%s:/data:ro" % img, sqlite3, "/data/t.db", "select sum(x) from t;"], backend)
    assert r.rc == 0, r.stderr
    assert r.stdout == "6\n"
    r = run(["--disk", "%s:/data:ro" % img, "/usr/bin/python3", "-c",
             "print(open('/data/notes.txt').read().split())"], backend)
    assert r.rc == 0, r.stderr
    assert r.stdout == "['line', 'one', 'line', 'two']\n"
    assert_fsck_clean(img)


@pytest.mark.parametrize("block_kib", [1, 4])
def test_ext2_large_reads_match_the_host(run, backend, disk, tmp_path, block_kib):
    """Reads of 256 KiB and more of a file not in guest memory go from the
    disk straight into the program's buffer: at unaligned offsets, over
    holes, to the end of the file, and again once part of it is cached;
    every byte as on the host."""
    rng = random.Random(block_kib)
    data = bytearray(rng.randbytes(3 << 20))
    data[600000:900000] = bytes(300000)        # zeros, partly a hole on the disk
    data += rng.randbytes(12345)
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(bytes(data))
    img = disk(tree=tree, size_mb=16 if block_kib == 1 else 600)  # mke2fs's choice of block size
    cases = [(0, len(data)), (1000, 2 << 20), (4096, 300 << 10), (5, len(data)),
             (len(data) - 400000, 400000), (0, 100), (123, 1 << 20)]
    prog = ("import hashlib, sys\n"
            "f = open('/d/f', 'rb', buffering=0)\n"
            "for off, n in %r:\n"
            "    f.seek(off); b = f.read(n)\n"
            "    print(len(b), hashlib.md5(b).hexdigest())\n" % cases)
    r = run(["--disk", "%s:/d:ro" % img, "/usr/bin/python3", "-c", prog], backend, timeout=120)
    assert r.rc == 0, r.stderr
    want = ["%d %s" % (len(data[o:o + n]), md5(bytes(data[o:o + n]))) for o, n in cases]
    assert r.stdout.split("\n")[:-1] == want


def test_ext2_mount_point_must_be_empty(run, backend, disk, tmp_path):
    img = disk()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    r = run(["--add", "%s:/data" % (tmp_path / "full"), "--disk", "%s:/data:ro" % img,
             BUSYBOX, "cat", "/data/f"], backend)
    assert r.rc == 0 and r.stdout == "x", r
    assert "not mounted" in r.stderr and "not an empty directory" in r.stderr


def test_ext2_corrupt_file_system_is_contained(run, backend, disk, tree):
    img = disk(tree=tree)
    data = bytearray(img.read_bytes())
    data[5 * 1024:200 * 1024] = random.Random(5).randbytes(195 * 1024)  # inode tables
    img.write_bytes(bytes(data))
    r = sh(run, backend, "ls /d0; cat /d0/hello.txt; echo still here", img, ro=True)
    assert r.stdout.endswith("still here\n"), r
    assert r.rc == 0
    assert "panic" not in r.stderr
