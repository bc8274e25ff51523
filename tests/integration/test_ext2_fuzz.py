"""Differential test of ext2 writing: one seeded random sequence of file
system operations (create, write at offsets with holes, append, truncate,
mkdir, rmdir, rename over names and across directories, hard and symbolic
links, unlink, chmod) runs natively on a host directory and in wisp on a
disk, in two halves (two VMs: the second one starts from what the first
left on the disk). Afterwards the image, read by the host's debugfs, must
hold the same tree as the host directory, and e2fsck -fn must be clean."""

import hashlib
import os
import shutil
import stat
import subprocess

import pytest

from ext2img import assert_fsck_clean, disk  # noqa: F401

OPS = r"""
import os, random, sys
root, seed, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
SIZES = [0, 1, 100, 1023, 1024, 4095, 4096, 4097, 12 * 1024, 13 * 1024, 48 * 1024 + 1,
         270 * 1024, 1100 * 1024]

def entries():
    out = []
    for d, dirs, files in os.walk(root):
        if d == root and 'lost+found' in dirs:
            dirs.remove('lost+found')  # mke2fs's, not on the native side
        out += [os.path.join(d, n) for n in dirs + files]
    return sorted(out)

def pick(kind=None):
    c = [p for p in entries() if kind is None or
         (kind == 'dir' and os.path.isdir(p) and not os.path.islink(p)) or
         (kind == 'file' and os.path.isfile(p) and not os.path.islink(p))]
    return rng.choice(c) if c else None

def some_dir():
    return rng.choice([root] + [p for p in entries() if os.path.isdir(p) and not os.path.islink(p)])

def data(n):
    return bytes(rng.randrange(1, 256) for _ in range(min(n, 64))) * (n // 64 + 1)

def step(i):
    op = rng.choice(['create', 'create', 'write', 'append', 'truncate', 'mkdir', 'rmdir',
                     'rename', 'link', 'symlink', 'unlink', 'chmod'])
    name = 'n%d' % i
    try:
        if op == 'create':
            with open(os.path.join(some_dir(), name), 'wb') as f:
                f.write(data(rng.choice(SIZES))[:rng.choice(SIZES)])
        elif op == 'write' and (p := pick('file')):
            with open(p, 'r+b') as f:
                f.seek(rng.choice(SIZES) + rng.randrange(5000))
                f.write(data(rng.choice(SIZES[1:8])))
        elif op == 'append' and (p := pick('file')):
            with open(p, 'ab') as f:
                f.write(data(rng.randrange(1, 9000)))
        elif op == 'truncate' and (p := pick('file')):
            os.truncate(p, rng.choice(SIZES) + rng.randrange(3))
        elif op == 'mkdir':
            os.mkdir(os.path.join(some_dir(), name))
        elif op == 'rmdir' and (p := pick('dir')):
            os.rmdir(p)
        elif op == 'rename' and (p := pick()):
            target = rng.choice([pick(), os.path.join(some_dir(), name)])
            os.rename(p, target)
        elif op == 'link' and (p := pick('file')):
            os.link(p, os.path.join(some_dir(), name))
        elif op == 'symlink':
            os.symlink(rng.choice(['x', 'a/b/c', 'y' * 100, '../' + name]),
                       os.path.join(some_dir(), name))
        elif op == 'unlink' and (p := pick()) and not os.path.isdir(p):
            os.unlink(p)
        elif op == 'chmod' and (p := pick('file')):
            os.chmod(p, rng.choice([0o600, 0o644, 0o755, 0o400]))
    except OSError:
        pass  # the same error on both sides: rename into itself, rmdir of a full one

rng = random.Random(seed * 1000 + start)  # each half its own stream
for i in range(start, start + count):
    step(i)
print('done')
"""

HALF = 150


def tree_of(top):
    """{relative path: (kind, mode, content digest or link target)}."""
    out = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, top)
            st = os.lstat(p)
            if rel == "lost+found" or rel.startswith("lost+found/"):
                continue
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_size,
                                hashlib.md5(f.read()).hexdigest())
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_match_the_host(run, disk, tmp_path, seed):
    img = disk(size_mb=64)
    native = tmp_path / "native"
    native.mkdir()
    script = tmp_path / "ops.py"
    script.write_text(OPS)
    for start in (0, HALF):
        subprocess.run(["python3", str(script), str(native), str(seed), str(start), str(HALF)],
                       check=True, capture_output=True)
        r = run(["--mem", "512M", "--add", "%s:/ops.py" % script, "--disk", "%s:/data" % img,
                 "/usr/bin/python3", "/ops.py", "/data", str(seed), str(start), str(HALF)], "kvm")
        assert (r.rc, r.stdout) == (0, "done\n"), r
        assert_fsck_clean(img)
    out = tmp_path / "dumped"
    out.mkdir()
    debugfs = shutil.which("debugfs") or "/sbin/debugfs"
    subprocess.run([debugfs, "-R", "rdump / %s" % out, str(img)], check=True, capture_output=True)
    got, want = tree_of(out), tree_of(native)
    assert len(want) > 20, "the operations did too little to test anything"
    assert sorted(got) == sorted(want)
    for path in want:
        assert got[path] == want[path], path
