"""Writing ext2: what a program changes on `--disk IMAGE:MOUNT` is in the
image afterwards, as the host's own tools (debugfs, e2fsck) read it.

Every workload ends with e2fsck -fn clean. Covered: create, write, append,
truncate both ways, rename (over a name, across directories), hard and
symbolic links, unlink, mkdir/rmdir, chmod, utimes, sparse files, files
needing indirect blocks up to the triple one, a file of 2 GiB or more
(large_file set on the way), a full disk (ENOSPC, nothing else lost), a
file too large for guest memory (ENOMEM and a clear line), writing to a
corrupted image (contained, e2fsck still repairs it), statfs, sqlite3
(rollback journal and WAL) and python3 across runs, and a run that changes
nothing leaving the image byte for byte as it was. The crash test
(SIGKILL during fsync-heavy writing) is in test_ext2_crash.py."""

import os
import random
import shutil
import subprocess
import tempfile
import threading

import pytest

from conftest import backend_command, backend_skip_reason, default_timeout
from ext2img import BUSYBOX, assert_fsck_clean, disk, md5, sh, tree  # noqa: F401


def debugfs(img, request):
    path = shutil.which("debugfs") or "/sbin/debugfs"
    r = subprocess.run([path, "-R", request, str(img)], capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def host_read(img, path, tmp_path):
    out = tmp_path / "dumped"
    debugfs(img, "dump %s %s" % (path, out))
    data = out.read_bytes()
    out.unlink()
    return data


def test_changes_reach_the_image(run, backend, disk, tree, tmp_path):
    img = disk(tree=tree, size_mb=16)
    script = "; ".join([
        "set -e", "cd /d0",
        "echo new file > new.txt", "echo appended >> hello.txt",
        "mkdir -p a/b/c", "echo deep > a/b/c/f", "mv a/b/c/f a/moved",
        "mv a/b moved-dir", "mv moved-dir /tmp/x && mv /tmp/x moved-dir", "ln -s hello.txt sym", "ln -s " + "y" * 200 + " slowsym",
        "ln new.txt hard", "rm link",
        "mkdir gone", "rmdir gone", "chmod 600 new.txt",
        "touch -d '2001-02-03 04:05:06' hello.txt",
        "truncate -s 100 sub/big.bin", "truncate -s 3000 run.sh",
        "echo old > target", "echo replacement > tmpname", "mv tmpname target",
    ])
    r = sh(run, backend, script, img)
    assert r.rc == 0, r.stderr
    assert r.stderr == ""
    assert_fsck_clean(img)
    assert host_read(img, "/new.txt", tmp_path) == b"new file\n"
    assert host_read(img, "/hard", tmp_path) == b"new file\n"
    assert host_read(img, "/hello.txt", tmp_path) == b"hello from ext2\nappended\n"
    assert host_read(img, "/a/moved", tmp_path) == b"deep\n"
    assert host_read(img, "/target", tmp_path) == b"replacement\n"
    assert host_read(img, "/sub/big.bin", tmp_path) == (tree / "sub" / "big.bin").read_bytes()[:100]
    assert host_read(img, "/run.sh", tmp_path) == (tree / "run.sh").read_bytes().ljust(3000, b"\0")
    listing = debugfs(img, "ls -l /").decode()
    for gone in ("link", "tmpname", "gone"):
        assert " %s\n" % gone not in listing, listing
    assert "moved-dir" in listing
    stat = debugfs(img, "stat /new.txt").decode()
    assert "Mode:  0600" in stat and "Links: 2" in stat, stat
    assert "2001" in debugfs(img, "stat /hello.txt").decode()
    assert "Fast link dest: \"hello.txt\"" in debugfs(img, "stat /sym").decode()
    # .. of the moved directory names its new parent: e2fsck checks that too.
    r = sh(run, backend, "cat /d0/moved-dir/../new.txt; readlink /d0/slowsym | wc -c; "
           "ls /d0/moved-dir; stat -c '%a %Y' /d0/new.txt /d0/hello.txt", img)
    assert r.rc == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[:4] == ["new file", "201", "c", "600 %s" % lines[3].split()[1]]
    assert lines[4] == "644 981173106"


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 12 * 1024 + 1, 300 * 1024, 3 << 20])
def test_files_of_every_size_class(run, disk, tmp_path, size):
    """1 KiB blocks: direct, single, double indirect."""
    img = disk()
    data = random.Random(size).randbytes(size)
    (tmp_path / "in.bin").write_bytes(data)
    r = sh(run, "kvm", "cp /in.bin /d0/f && md5sum /d0/f", img, adds=["%s:/in.bin" % (tmp_path / "in.bin")])
    assert r.rc == 0, r.stderr
    assert r.stdout.split()[0] == md5(data)
    assert host_read(img, "/f", tmp_path) == data
    assert_fsck_clean(img)
    r = sh(run, "kvm", "md5sum /d0/f; rm /d0/f", img)
    assert r.stdout.split()[0] == md5(data)
    assert_fsck_clean(img)
    assert "f" not in debugfs(img, "ls /").decode().split()


def test_sparse_files_stay_sparse(run, backend, disk, tmp_path):
    img = disk()
    r = sh(run, backend, "printf abc | dd of=/d0/sparse bs=1 seek=3000000 2>/dev/null && "
           "printf xyz | dd of=/d0/sparse bs=1 seek=1000 conv=notrunc 2>/dev/null && "
           "stat -c %b /d0/sparse && sync && stat -c %b /d0/sparse", img)
    assert r.rc == 0, r.stderr
    before, after = map(int, r.stdout.split())  # st_blocks, 512-byte units
    assert before == 4 and 4 < after <= 12, r.stdout  # two 1 KiB blocks, then indirect ones
    assert_fsck_clean(img)
    data = host_read(img, "/sparse", tmp_path)
    assert len(data) == 3000003 and data[1000:1003] == b"xyz" and data[-3:] == b"abc"
    assert data.count(0) == len(data) - 6
    stat = debugfs(img, "stat /sparse").decode()
    blocks = stat.split("TOTAL: ")[1].split()[0]
    assert int(blocks) <= 6, stat  # two data blocks and their indirect blocks


def test_full_disk_gives_enospc_and_loses_nothing(run, backend, disk, tree):
    img = disk(tree=tree, size_mb=4)
    r = sh(run, backend, "dd if=/dev/urandom of=/d0/fill bs=64k count=200 2>&1 | grep -o 'No space.*'; "
           "sync; md5sum /d0/sub/big.bin; rm /d0/fill; echo after > /d0/after", img)
    assert r.rc == 0, r.stderr
    assert "No space left on device" in r.stdout, r.stdout
    assert md5((tree / "sub" / "big.bin").read_bytes()) in r.stdout
    assert_fsck_clean(img)
    r = sh(run, backend, "cat /d0/after /d0/hello.txt", img)
    assert r.stdout == "after\nhello from ext2\n", r


def test_statfs_reports_the_disk(run, backend, disk):
    img = disk(size_mb=8)
    r = sh(run, backend, "stat -f -c '%T %S %b' /d0; df -k /d0 | tail -1; grep /d0 /proc/mounts",
           img)
    assert r.rc == 0, r.stderr
    lines = r.stdout.split("\n")
    fstype, bsize, blocks = lines[0].split()
    assert fstype.startswith("ext2") and bsize == "1024"
    assert 7 * 1024 < int(blocks) <= 8 * 1024
    assert lines[1].split()[0] == "/dev/vda" and lines[1].split()[-1] == "/d0", lines[1]
    assert lines[2] == "/dev/vda /d0 ext2 rw 0 0"


def test_a_run_that_changes_nothing_leaves_the_image_as_it_was(run, backend, disk, tree):
    img = disk(tree=tree)
    before = md5(img.read_bytes())
    r = sh(run, backend, "ls -lR /d0 >/dev/null; cat /d0/hello.txt; sync", img)
    assert r.rc == 0 and r.stdout == "hello from ext2\n", r
    assert md5(img.read_bytes()) == before


def test_sqlite_across_runs(run, backend, disk, tmp_path):
    sqlite3 = shutil.which("sqlite3")
    if not sqlite3:
        pytest.fail("sqlite3 missing: run `make deps` (package sqlite3)")
    img = disk(size_mb=16)
    d = ["--disk", "%s:/data" % img, sqlite3]
    r = run(d + ["/data/t.db", "create table t(x); insert into t values(1);"], backend)
    assert r.rc == 0, r.stderr
    r = run(d + ["/data/t.db", "insert into t select x+1 from t; select count(*) from t;"], backend)
    assert (r.rc, r.stdout) == (0, "2\n"), r
    r = run(d + ["/data/w.db", "pragma journal_mode=wal; create table t(x);"
                 "insert into t values(1),(2),(3);"], backend)
    assert (r.rc, r.stdout) == (0, "wal\n"), r
    r = run(d + ["/data/w.db", "insert into t values(4); select sum(x) from t;"], backend)
    assert (r.rc, r.stdout) == (0, "10\n"), r
    assert_fsck_clean(img)
    # The host's sqlite3 reads what wisp wrote.
    (tmp_path / "t.db").write_bytes(host_read(img, "/t.db", tmp_path))
    out = subprocess.run([sqlite3, str(tmp_path / "t.db"), "select count(*) from t;"],
                         capture_output=True, text=True)
    assert out.stdout == "2\n", out


def test_python_writes_and_reads_files(run, backend, disk):
    img = disk(size_mb=16)
    write = ("import os\n"
             "os.makedirs('/data/py/x', exist_ok=True)\n"
             "for i in range(50):\n"
             "    with open('/data/py/x/f%d' % i, 'w') as f: f.write(str(i) * 1000)\n"
             "os.replace('/data/py/x/f0', '/data/py/first')\n"
             "with open('/data/py/log', 'a') as f:\n"
             "    f.write('one\\n'); f.flush(); os.fsync(f.fileno())\n"
             "print(len(os.listdir('/data/py/x')))\n")
    r = run(["--disk", "%s:/data" % img, "/usr/bin/python3", "-c", write], backend)
    assert (r.rc, r.stdout) == (0, "49\n"), r
    read = ("import os\n"
            "print(sum(len(open('/data/py/x/' + n).read()) for n in os.listdir('/data/py/x')),"
            " open('/data/py/first').read()[:3], open('/data/py/log').read().split())\n")
    r = run(["--disk", "%s:/data" % img, "/usr/bin/python3", "-c", read], backend)
    assert r.rc == 0, r.stderr
    total = sum(len(str(i) * 1000) for i in range(1, 50))
    assert r.stdout == "%d 000 ['one']\n" % total
    assert_fsck_clean(img)


def test_a_sparse_file_far_larger_than_guest_memory_reads_as_zeros(run, backend, disk, tmp_path):
    """File data is paged: holes take no memory, so a 100 MiB sparse file
    reads whole in a 64 MiB VM."""
    tree = tmp_path / "t"
    tree.mkdir()
    with open(tree / "huge", "wb") as f:
        f.truncate(100 << 20)
        f.seek(100 << 20)
        f.write(b"end")
    img = disk(tree=tree, size_mb=16)
    r = run(["--mem", "64M", "--disk", "%s:/d:ro" % img, BUSYBOX, "md5sum", "/d/huge"],
            backend, timeout=120)
    assert r.rc == 0, r.stderr
    assert r.stdout.split()[0] == md5(b"\0" * (100 << 20) + b"end")


@pytest.mark.kvm
@pytest.mark.skipif(backend_skip_reason("kvm") is not None, reason=str(backend_skip_reason("kvm")))
def test_a_file_larger_than_guest_memory_is_written_and_read(run, disk):
    """160 MiB of data through a 64 MiB VM: dirty pages are written back
    as memory fills, clean ones dropped and read again. A second VM reads
    the file from the disk, and so does the host."""
    img = disk(size_mb=256)
    want = md5(b"0123456789abcde\n" * (10 << 20))
    make = "yes 0123456789abcde | head -c 167772160 > /d/big; md5sum /d/big"
    r = run(["--mem", "64M", "--disk", "%s:/d" % img, BUSYBOX, "sh", "-c", make], "kvm",
            timeout=300)
    assert (r.rc, r.stdout.split()[:1]) == (0, [want]), r
    r = run(["--mem", "64M", "--disk", "%s:/d:ro" % img, BUSYBOX, "md5sum", "/d/big"], "kvm",
            timeout=300)
    assert (r.rc, r.stdout.split()[:1]) == (0, [want]), r
    assert_fsck_clean(img)
    assert md5(host_read(img, "/big", img.parent)) == want


def test_a_file_larger_than_4_gib(run, backend, disk):
    """Sizes from 2 GiB on need the large_file feature (i_size_high), which
    wisp sets as Linux does, and past 4 GiB its high word counts; with 1 KiB
    blocks the last block sits under the triple indirect block. Sparse, in
    the default guest memory: one block on the disk."""
    img = disk(size_mb=16)
    subprocess.run(["tune2fs", "-O", "^large_file", str(img)], check=True, capture_output=True)
    r = run(["--disk", "%s:/d" % img, BUSYBOX, "sh", "-c",
             "truncate -s 5G /d/f && printf END >> /d/f && tail -c 3 /d/f"], backend, timeout=120)
    assert (r.rc, r.stdout) == (0, "END"), r
    r = run(["--disk", "%s:/d:ro" % img, BUSYBOX, "sh", "-c", "stat -c %s /d/f; tail -c 3 /d/f"],
            backend, timeout=120)
    assert (r.rc, r.stdout) == (0, "%d\nEND" % ((5 << 30) + 3)), r
    assert_fsck_clean(img)
    assert "large_file" in subprocess.run(["dumpe2fs", "-h", str(img)], capture_output=True,
                                          text=True).stdout
    stat = debugfs(img, "stat /f").decode()
    assert "Size: %d" % ((5 << 30) + 3) in stat, stat
    assert "(TIND)" in stat, stat


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_writing_to_a_corrupt_file_system_is_contained(run, disk, tree, seed):
    """Random bytes over the group descriptors, bitmaps, inode tables and
    directory blocks, then a workload that writes: the kernel reports EIO
    where it must, never faults or hangs, the VM ends normally, and e2fsck
    can still repair the image."""
    img = disk(tree=tree, size_mb=8)
    data = bytearray(img.read_bytes())
    rng = random.Random(seed)
    for _ in range(12):
        at = rng.randrange(2048, 300 * 1024)
        data[at:at + 512] = rng.randbytes(512)
    img.write_bytes(bytes(data))
    script = "; ".join([
        "cd /d0", "echo x > new", "mkdir -p a/b", "echo y >> hello.txt", "mv hello.txt a/",
        "ln -s a l", "rm -rf sub", "dd if=/dev/urandom of=big bs=64k count=20 2>/dev/null",
        "truncate -s 1000 run.sh", "ls -lR >/dev/null", "sync", "echo still here"])
    r = run(["--disk", "%s:/d0" % img, BUSYBOX, "sh", "-c", script + " 2>/dev/null"], "kvm")
    assert r.rc == 0 and r.stdout.endswith("still here\n"), r
    assert "panic" not in r.stderr
    # Random bytes in the reserved inodes can take e2fsck itself two passes.
    for _ in range(3):
        fsck = subprocess.run(["e2fsck", "-fy", str(img)], capture_output=True, text=True)
        assert fsck.returncode < 4, fsck.stdout[-3000:]
        if fsck.returncode == 0:
            break
    assert_fsck_clean(img)


def bytes_written(argv, env, timeout):
    """Runs argv; returns (rc, stderr, the bytes its system calls wrote:
    wchar in /proc/PID/io, read after it exits and before it is reaped)."""
    with open(os.devnull, "rb") as null, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, env=env, stdin=null, stdout=subprocess.DEVNULL, stderr=err)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        try:
            os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
            with open("/proc/%d/io" % p.pid) as f:
                io = dict(line.split(": ") for line in f.read().splitlines())
        finally:
            killer.cancel()
            p.wait()
        err.seek(0)
        return p.returncode, err.read().decode(errors="replace"), int(io["wchar"])


def test_fsync_writes_new_data_once(wisp, kernel, disk):
    """An fsync of a file whose blocks it allocates sends each block to the
    disk once: wisp-vmm's writes to the image stay near the file's size (a
    node dirtied again by its own allocation was once queued twice)."""
    reason = backend_skip_reason("kvm")
    if reason:
        pytest.skip(reason)
    img = disk(size_mb=64)
    mib = 16
    argv, env = backend_command("kvm", [
        "--no-cache", "--disk", "%s:/d0" % img, BUSYBOX, "dd", "if=/dev/urandom", "of=/d0/f",
        "bs=1M", "count=%d" % mib, "conv=fsync"])
    rc, err, wrote = bytes_written(argv, env, default_timeout("kvm"))
    assert rc == 0, err
    assert_fsck_clean(img)
    assert mib << 20 <= wrote < (mib << 20) * 3 // 2, "%d bytes written for a %d MiB file" % (wrote, mib)
