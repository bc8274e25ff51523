"""runner.py: runs one command and times it, for bench/boot.py and
bench/micro.py.

subprocess.run(..., timeout=T) waits by polling with sleeps that double from
0.5 ms (Popen._wait), which rounds a 5 ms command up to 7.5 or 15.5 ms. Here
the wait blocks in waitpid and a timer thread kills the command on timeout.
"""
import subprocess
import threading
import time


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
