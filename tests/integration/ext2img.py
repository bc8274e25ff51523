"""What the disk tests share: ext2 images made with the host's mke2fs,
a tree exercising the block maps, e2fsck, and running busybox sh with
disks attached."""

import hashlib
import os
import random
import shutil
import subprocess

import pytest

BUSYBOX = "/bin/busybox"

def mke2fs():
    path = shutil.which("mke2fs") or "/sbin/mke2fs"
    if not os.access(path, os.X_OK):
        pytest.fail("mke2fs missing: run `make deps` (package e2fsprogs)")
    return path


@pytest.fixture
def disk(tmp_path):
    """disk(name, size_mb=8, tree=None): a fresh ext2 image in tmp_path,
    holding the directory tree if given (mke2fs -d)."""
    def make(name="disk.img", size_mb=8, tree=None):
        path = tmp_path / name
        subprocess.run([mke2fs(), "-q", "-t", "ext2", "-F", *(["-d", str(tree)] if tree else []),
                        str(path), "%dM" % size_mb], check=True, stdout=subprocess.DEVNULL)
        return path
    return make


@pytest.fixture
def tree(tmp_path):
    """A directory tree exercising ext2's block maps and symlinks: a small
    file, one needing single and double indirect blocks (1 KiB blocks), a
    sparse one, fast and slow symlinks, a script and busybox itself."""
    t = tmp_path / "tree"
    (t / "sub" / "deep").mkdir(parents=True)
    (t / "hello.txt").write_text("hello from ext2\n")
    (t / "sub" / "big.bin").write_bytes(random.Random(3).randbytes(700 * 1024))
    with open(t / "sparse.bin", "wb") as f:
        f.seek(5 << 20)
        f.write(b"end")
    (t / "link").symlink_to("hello.txt")
    (t / "longlink").symlink_to("sub/" + "x" * 90)
    (t / "run.sh").write_text("#!/bin/busybox sh\necho script ran\n")
    (t / "run.sh").chmod(0o755)
    shutil.copy(BUSYBOX, t / "sub" / "deep" / "busybox")
    return t


def assert_fsck_clean(img):
    e2fsck = shutil.which("e2fsck") or "/sbin/e2fsck"
    r = subprocess.run([e2fsck, "-fn", str(img)], capture_output=True, text=True)
    assert r.returncode == 0, "e2fsck -fn %s: %s%s" % (img, r.stdout, r.stderr)


def md5(data):
    return hashlib.md5(data).hexdigest()


def sh(run, backend, script, *disks, ro=False, adds=()):
    args = []
    for i, d in enumerate(disks):
        args += ["--disk", "%s:/d%d%s" % (d, i, ":ro" if ro else "")]
    for a in adds:
        args += ["--add", a]
    return run(args + [BUSYBOX, "sh", "-c", script], backend)


