"""runner.py: what the benchmark scripts (bench/boot.py, micro.py, disk.py)
share: running one command and timing it, and the small pieces of their
reports.

subprocess.run(..., timeout=T) waits by polling with sleeps that double from
0.5 ms (Popen._wait), which rounds a 5 ms command up to 7.5 or 15.5 ms. Here
the wait blocks in waitpid and a timer thread kills the command on timeout.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

# The lines of a failed run's stderr that say best why it failed.
FAILURE_LINES = ("wisp-kernel: panic", "wisp-kernel: out of guest memory", "wisp: ",
                 "wisp-kernel: unimplemented syscall")


def kvm_available():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def private_image_cache():
    """Points wisp's image cache ($XDG_CACHE_HOME/wisp) at a directory of
    this run's, removed at exit: every benchmark starts with an empty cache
    (its warm-up run packs and stores, the timed runs hit) and none writes
    into the user's home."""
    d = tempfile.mkdtemp(prefix="wisp-bench-cache-")
    os.environ["XDG_CACHE_HOME"] = d
    os.environ.pop("WISP_NO_CACHE", None)
    atexit.register(shutil.rmtree, d, True)


def run_timed(argv, timeout, capture=True, cwd=None):
    """Runs argv with stdin from /dev/null; returns (seconds, returncode,
    stdout, stderr), returncode None if it was killed after timeout seconds.
    Without capture, output goes to /dev/null and comes back as b""."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out,
                         stderr=out, cwd=cwd)
    expired = threading.Event()

    def kill():
        expired.set()
        p.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        stdout, stderr = p.communicate()
    finally:
        timer.cancel()
    dt = time.perf_counter() - t0
    return dt, None if expired.is_set() else p.returncode, stdout or b"", stderr or b""


def run(argv, timeout):
    """run_timed with output captured, from /; on a timeout stderr says so."""
    dt, rc, out, err = run_timed(argv, timeout, cwd="/")
    return dt, rc, out, b"timed out after %d s" % timeout if rc is None else err


def reason(rc, err, timeout, more_lines=()):
    """A short reason why a run failed, for a table cell: the first line of
    stderr starting with one of FAILURE_LINES or more_lines, else the exit
    status and the last line."""
    lines = err.decode("utf-8", "replace").splitlines()
    for pref in FAILURE_LINES + tuple(more_lines):
        hit = next((l for l in lines if l.startswith(pref)), None)
        if hit:
            return hit.replace("|", "/")[:120]
    if rc is None:
        return "timed out after %d s" % timeout
    tail = next((l for l in reversed(lines) if l.strip()), "")
    return ("exit status %s%s" % (rc, ": " + tail[:80] if tail else "")).replace("|", "/")


def ratio(a, b):
    if not a or not b or a <= 0 or b <= 0:
        return "n/a"
    return ("%.1f×" if a / b >= 1 else "%.2f×") % (a / b)


def verdict(ok):
    """A target's line: met, not met, or n/a when it could not be measured."""
    return "n/a (not measured)" if ok is None else ("**met**" if ok else "**not met**")
