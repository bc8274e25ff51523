"""runner.py: runs one command and times it, for bench/boot.py and
bench/micro.py.

subprocess.run(..., timeout=T) waits by polling with sleeps that double from
0.5 ms (Popen._wait), which rounds a 5 ms command up to 7.5 or 15.5 ms. Here
the wait blocks in waitpid and a timer thread kills the command on timeout.
"""
import atexit
import os
import shutil
import subprocess
import tempfile
import threading
import time


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
