#!/usr/bin/python3
"""Micro-benchmarks: the same static programs natively and in wisp, side by
side, in one run, each as a ratio to native.

  getpid     syscall(SYS_getpid) round trip, N=100000     (bench/progs/getpid.c)
  touch      first-touch page faults: mmap 256 MiB and
             write one byte per 4 KiB page                (bench/progs/touch.c)
  forkexec   fork + execv of a static program + waitpid,
             N=50                                         (bench/progs/forkexec.c)
  python3    `python3 -c pass`, whole command from outside

The first three time their own inner loop with clock_gettime(CLOCK_MONOTONIC)
inside the program, so VM boot and program loading are excluded; each row is
the median of --reps runs (default 3). python3 start-up is timed from
outside, so for wisp it includes booting the VM (and packing python's
libraries and stdlib); it is the median of --runs runs (default 10, after a
warm-up run).

The wisp backend is kvm when /dev/kvm is usable, else qemu; under QEMU's
TCG (no KVM) the guest is emulated and the ratios are not representative.
A benchmark that fails in wisp is reported as "fails: REASON".

Prints markdown on stdout; --write also puts it into docs/benchmarks.md,
replacing the section between the micro.py markers or appending it (run
after bench/boot.py --write, which rewrites the file).
Usage: python3 bench/micro.py [--runs N] [--reps N] [--write] [--backend kvm|qemu]
"""

import argparse
import datetime
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import hostinfo

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("WISP_BUILD", ROOT / "build")).resolve()
WISP = BUILD / "wisp"
KERNEL = BUILD / "wisp-kernel.elf"
BENCH = BUILD / "bench"
PYTHON = "/usr/bin/python3"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench/micro.py: begin -->"
END = "<!-- bench/micro.py: end -->"
TIMEOUT = 300
RESULT_RE = re.compile(r"^RESULT (\w+) ([\d.]+) (\S+) (\d+)\s*$", re.M)


def kvm_available():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def run(argv, timeout=TIMEOUT):
    """Returns (seconds, rc, stdout, stderr); rc None on timeout."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, cwd="/")
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, None, b"", b"timed out after %d s" % timeout
    return time.perf_counter() - t0, p.returncode, p.stdout, p.stderr


def reason(rc, out, err):
    """A short reason why a run failed."""
    lines = err.decode("utf-8", "replace").splitlines()
    for pref in ("wisp-kernel: panic", "wisp: ", "wisp-kernel: unimplemented syscall"):
        hit = next((l for l in lines if l.startswith(pref)), None)
        if hit:
            return hit.replace("|", "/")[:120]
    if rc is None:
        return "timed out after %d s" % TIMEOUT
    tail = next((l for l in reversed(lines) if l.strip()), "")
    return ("exit status %s%s" % (rc, ": " + tail[:80] if tail else "")).replace("|", "/")


def inner(name, argv, reps):
    """Runs argv reps times; returns (median value, unit, iterations) from its
    RESULT line, or raises RuntimeError(reason)."""
    vals = []
    unit = iters = None
    for _ in range(reps):
        _, rc, out, err = run(argv)
        m = RESULT_RE.search(out.decode("utf-8", "replace"))
        if rc != 0 or not m or m.group(1) != name:
            raise RuntimeError(reason(rc, out, err) if rc != 0 else
                               "no RESULT line in the output")
        vals.append(float(m.group(2)))
        unit, iters = m.group(3), int(m.group(4))
    return statistics.median(vals), unit, iters


def outer(argv, runs):
    """Whole-command wall time: one warm-up run, then the median of runs."""
    _, rc, out, err = run(argv)
    if rc != 0:
        raise RuntimeError(reason(rc, out, err))
    times = []
    for _ in range(runs):
        dt, rc, out, err = run(argv)
        if rc != 0:
            raise RuntimeError(reason(rc, out, err))
        times.append(dt)
    return statistics.median(times) * 1e3, "ms", runs


def fmt(v, unit):
    if v is None:
        return ""
    return ("%.0f %s" if v >= 100 else "%.2f %s") % (v, unit)


def ensure_built():
    for f in (WISP, KERNEL):
        if not f.exists():
            sys.exit("micro.py: %s missing: run `make` first" % f)
    need = [BENCH / n for n in ("getpid", "touch", "forkexec", "nop")]
    if not all(p.exists() for p in need):
        subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "BUILD=%s" % BUILD]
                       + [str(p) for p in need], check=True)


def write_doc(text):
    section = "%s\n%s%s\n" % (BEGIN, text, END)
    old = DOC.read_text() if DOC.exists() else ""
    if BEGIN in old and END in old:
        a = old.index(BEGIN)
        b = old.index(END) + len(END)
        new = old[:a] + section.rstrip("\n") + old[b:]
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "") + section
    DOC.write_text(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10,
                    help="timed runs of python3 start-up (default 10)")
    ap.add_argument("--reps", type=int, default=3,
                    help="runs of each in-program benchmark; the median is shown (default 3)")
    ap.add_argument("--backend", choices=("kvm", "qemu"),
                    help="wisp backend (default: kvm if /dev/kvm is usable, else qemu)")
    ap.add_argument("--write", action="store_true", help="also write into docs/benchmarks.md")
    # Accepted so that one BENCH_ARGS works for boot.py and micro.py.
    ap.add_argument("--no-mem-search", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--wisp-qemu", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.runs < 1 or args.reps < 1:
        ap.error("--runs and --reps must be >= 1")
    ensure_built()

    kvm = kvm_available()
    backend = args.backend or ("kvm" if kvm else "qemu")
    if backend == "qemu":
        label = "wisp, qemu backend (%s)" % ("KVM" if kvm else "TCG")
    else:
        label = "wisp, kvm backend"
    wisp = [str(WISP), "run", "--backend", backend]
    nop = str(BENCH / "nop")

    benches = [
        # name, description, native argv, wisp argv, kind
        ("getpid", "syscall round trip: `syscall(SYS_getpid)`, N=100000",
         [BENCH / "getpid", 100000], wisp + [BENCH / "getpid", 100000], "inner"),
        ("touch", "page faults: touch 256 MiB, one write per 4 KiB page",
         [BENCH / "touch", 256], wisp + ["--mem", "1G", BENCH / "touch", 256], "inner"),
        ("forkexec", "fork + exec + wait of a static program, N=50",
         [BENCH / "forkexec", nop, 50],
         wisp + ["--add", "%s:%s" % (nop, nop), BENCH / "forkexec", nop, 50], "inner"),
        ("python3", "`python3 -c pass`, whole run (wisp: includes VM boot and packing)",
         [PYTHON, "-c", "pass"], wisp + [PYTHON, "-c", "pass"], "outer"),
    ]

    rows = []
    for name, desc, nat_argv, wisp_argv, kind in benches:
        res = []
        for who, argv in (("native", nat_argv), (label, wisp_argv)):
            progress("%s: %s ..." % (name, who))
            if name == "python3" and not os.access(PYTHON, os.X_OK):
                res.append((None, None, "fails: %s not installed" % PYTHON))
                continue
            try:
                if kind == "inner":
                    v, unit, _ = inner(name, argv, args.reps)
                else:
                    v, unit, _ = outer(argv, args.runs)
                res.append((v, unit, ""))
            except RuntimeError as e:
                res.append((None, None, "fails: %s" % e))
        (nv, nu, nerr), (wv, wu, werr) = res
        ratio = "%.1f×" % (wv / nv) if nv and wv else "n/a"
        rows.append((desc, fmt(nv, nu) or nerr, fmt(wv, wu) or werr, ratio))

    command = "python3 bench/micro.py " + shlex.join(sys.argv[1:])
    L = []
    L.append("## Micro-benchmarks (bench/micro.py)")
    L.append("")
    L.append("- Command: `%s` (from the repository root; `make bench` runs it after "
             "`bench/boot.py`)" % command.strip())
    L.append("- Date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    L.append("- Host: %s; KVM: %s" % (
        hostinfo.describe(), "yes" if kvm else "no (/dev/kvm not available)"))
    L.append("- wisp: `wisp run --backend %s`" % backend)
    L.append("")
    L.append("| benchmark | native | %s | wisp / native |" % label)
    L.append("|---|---:|---:|---:|")
    for desc, n, w, r in rows:
        L.append("| %s | %s | %s | %s |" % (desc, n, w, r))
    L.append("")
    L.append("- getpid, touch and forkexec time their own loop inside the program "
             "(`clock_gettime(CLOCK_MONOTONIC)`), so VM boot is excluded; median of %d runs. "
             "Programs: `bench/progs/*.c`, musl, `-static`." % args.reps)
    L.append("- python3 is the wall time of the whole command, median of %d runs after a "
             "warm-up; for wisp it includes packing, booting the VM and loading python's "
             "shared libraries and stdlib in the guest." % args.runs)
    L.append("- A ratio below 1× means the guest kernel answered faster than the host "
             "kernel: wisp's system calls and page faults are handled inside the VM without "
             "an exit, and the host's own figures depend on how the host itself is "
             "virtualised.")
    if backend == "qemu" and not kvm:
        L.append("- **No KVM on this host: the wisp column ran under QEMU TCG (software "
                 "emulation of the guest CPU). These ratios are not representative of wisp "
                 "on KVM.**")
    text = "\n".join(L) + "\n"
    print(text, end="")
    if args.write:
        write_doc(text)
        progress("wrote %s" % DOC)


if __name__ == "__main__":
    main()
