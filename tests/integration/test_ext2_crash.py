"""Crash safety: wisp-vmm is killed with SIGKILL at a random point while
the guest appends records to an ext2 disk, each fsynced or fdatasynced
(and churns other files with writes, renames and unlinks). Afterwards
e2fsck must be able to repair the image, and every record the guest
acknowledged (printed after its sync returned) must be in the log, whole
and in order. 20 kill points, and 10 more with memory pressure; each run
first recovers the log the way a database would. Also:
O_DSYNC writes and the idle write-back reach the image while the VM runs."""

import os
import random
import select
import signal
import subprocess
import time

import pytest

from conftest import backend_skip_reason
from ext2img import assert_fsck_clean, disk  # noqa: F401

RUNS = 20

# The guest's program: recovers the log as a database would (keeps the
# whole records, cuts what a crash left after them), then appends records,
# printing each number once its fsync has returned, and churns other files.
WORKLOAD = r"""
import os, sys

def whole(data):
    good = i = 0
    for line in data.split(b'\n')[:-1]:
        w = line.split(b' ')
        if len(w) != 3 or w[0] != b'record' or w[1] != b'%08d' % i or w[2] != b'x' * (i * 37 % 3000):
            break
        good += len(line) + 1
        i += 1
    return good, i

try:
    good, i = whole(open('/data/log', 'rb').read())
except FileNotFoundError:
    good, i = 0, 0
log = os.open('/data/log', os.O_WRONLY | os.O_CREAT | os.O_APPEND)
os.ftruncate(log, good)
os.fsync(log)
while True:
    os.write(log, b'record %08d %s\n' % (i, b'x' * (i * 37 % 3000)))
    (os.fdatasync if i % 2 else os.fsync)(log)
    print(i, flush=True)
    with open('/data/tmp', 'wb') as f:
        f.write(os.urandom(1000 + i * 131 % 20000))
    os.rename('/data/tmp', '/data/side%d' % (i % 7))
    if i % 5 == 0:
        os.makedirs('/data/dir%d' % (i % 3), exist_ok=True)
        with open('/data/dir%d/f%d' % (i % 3, i), 'w') as f:
            f.write('y' * (i % 5000))
    if i % 11 == 0 and os.path.exists('/data/dir0'):
        for name in os.listdir('/data/dir0'):
            os.unlink('/data/dir0/' + name)
    if len(sys.argv) > 1 and i % 8 == 0:  # more than memory holds: write-back under pressure
        with open('/data/big%d' % (i % 3), 'wb') as f:
            for k in range(int(sys.argv[1])):
                f.write(os.urandom(1 << 20))
    i += 1
"""


def records(data):
    """The numbers of the whole records at the start of a log. What follows
    them is a record whose fsync never returned: e2fsck may have grown the
    file over a block written without its inode, so it can be zeros."""
    out = []
    for line in data.split(b"\n")[:-1]:
        words = line.split(b" ")
        n = len(out)
        if words != [b"record", b"%08d" % n, b"x" * (n * 37 % 3000)]:
            break
        out.append(n)
    return out


def dump(img, path, tmp_path):
    """A file of the image as debugfs reads it (b"" if missing)."""
    out = tmp_path / "dumped"
    out.unlink(missing_ok=True)
    subprocess.run(["debugfs", "-R", "dump %s %s" % (path, out), str(img)],
                   capture_output=True, check=True)
    return out.read_bytes() if out.exists() else b""


def run_and_kill(run_command, img, delay, errlog, opts=(), args=()):
    """Starts the workload, reads acknowledgements for delay seconds, kills
    wisp with SIGKILL; returns the acknowledged record numbers."""
    argv, env = run_command([*opts, "--disk", "%s:/data" % img, "/usr/bin/python3",
                             "-c", WORKLOAD, *args], "kvm")
    with open(errlog, "wb") as err:
        p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err,
                             start_new_session=True)
    acked, buf = [], b""
    deadline = time.monotonic() + delay
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([p.stdout], [], [], left)[0]:
            break
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        acked += [int(x) for x in lines]
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    assert p.returncode == -signal.SIGKILL, "wisp ended before the kill (rc %d): %s" % (
        p.returncode, errlog.read_text(errors="replace")[-2000:])
    return acked


@pytest.mark.kvm
@pytest.mark.skipif(backend_skip_reason("kvm") is not None, reason=str(backend_skip_reason("kvm")))
@pytest.mark.parametrize("pressure", [False, True], ids=["plain", "memory-pressure"])
def test_fsynced_records_survive_sigkill(run_command, disk, tmp_path, pressure):
    """With memory pressure, the guest (128 MiB, about 80 MiB free beside
    python3) also writes 40 MiB files without syncing them, so dirty data
    is written back and clean pages dropped between the syncs."""
    img = disk(size_mb=512 if pressure else 256)
    opts, args = (["--mem", "128M"], ["40"]) if pressure else ((), ())
    rng = random.Random(7)
    total_acked = 0
    for attempt in range(RUNS // 2 if pressure else RUNS):
        acked = run_and_kill(run_command, img, rng.uniform(0.05, 1.5 if not pressure else 4),
                             tmp_path / "stderr", opts, args)
        fsck = subprocess.run(["e2fsck", "-fy", str(img)], capture_output=True, text=True)
        assert fsck.returncode in (0, 1), "kill %d: e2fsck could not repair:\n%s" % (
            attempt, fsck.stdout)
        assert_fsck_clean(img)
        on_disk = records(dump(img, "/log", tmp_path))
        missing = sorted(set(acked) - set(on_disk))
        assert not missing, "kill %d: acknowledged records lost or damaged: %s\n%s" % (
            attempt, missing[:10], fsck.stdout)
        total_acked += len(acked)
    # The kills must have hit while records were being written.
    assert total_acked > (RUNS // 2 if pressure else RUNS), total_acked


SYNC_AND_IDLE = r"""
import os, time
fd = os.open('/data/dsync', os.O_WRONLY | os.O_CREAT | os.O_DSYNC)
os.write(fd, b'written with O_DSYNC\n')
print('dsync', flush=True)
with open('/data/lazy', 'w') as f:
    f.write('written, never synced\n')
print('lazy', flush=True)
time.sleep(60)
"""


def read_until(p, want, timeout):
    deadline, buf = time.monotonic() + timeout, b""
    while want not in buf and (left := deadline - time.monotonic()) > 0:
        if select.select([p.stdout], [], [], left)[0]:
            buf += os.read(p.stdout.fileno(), 4096) or b"\0"
    return want in buf


@pytest.mark.kvm
@pytest.mark.skipif(backend_skip_reason("kvm") is not None, reason=str(backend_skip_reason("kvm")))
def test_o_dsync_and_idle_write_back_reach_the_image_while_running(run_command, disk, tmp_path):
    """An O_DSYNC write is in the image when write() returns; an unsynced
    one within seconds even while the VM sits idle (the write-back after
    5 s), so a SIGKILL then loses neither."""
    img = disk()
    argv, env = run_command(["--disk", "%s:/data" % img, "/usr/bin/python3", "-c",
                             SYNC_AND_IDLE], "kvm")
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        assert read_until(p, b"lazy\n", 30), "the guest program did not start"
        assert dump(img, "/dsync", tmp_path) == b"written with O_DSYNC\n"
        deadline = time.monotonic() + 10
        while dump(img, "/lazy", tmp_path) != b"written, never synced\n":
            assert time.monotonic() < deadline, "unsynced data never reached the image"
            time.sleep(0.5)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        p.stdout.close()
