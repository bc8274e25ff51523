#!/usr/bin/python3
"""Micro-benchmarks: the same static programs natively, under `wisp run`
(kvm backend) and under `wisp run --backend qemu` (QEMU microvm booting the
same kernel, with KVM when /dev/kvm is usable), side by side in one run, with
the ratios wisp/native, qemu/native and wisp/qemu.

  getpid         syscall(SYS_getpid) round trip, N=100000   (bench/progs/getpid.c)
  fault_seq      page faults, sequential: mmap 64 MiB, one
                 write per 4 KiB page: ns per touched page  (bench/progs/fault.c)
  fault_stride   page-fault round trip: one write in each of
                 64 2 MiB blocks whose page table exists
                 already, so each is a trap of its own that
                 maps one page (no fault-around can cover
                 it); each write timed alone, median of
                 8 x 64                                     (bench/progs/fault.c)
  touch          mmap 256 MiB and write one byte per 4 KiB
                 page: ns per page                          (bench/progs/touch.c)
  timer_signal   setitimer(ITIMER_REAL) every 1 ms, empty
                 SIGALRM handler: the gap a spinning loop
                 sees per tick (interrupt + signal delivery
                 + rt_sigreturn)                            (bench/progs/timer.c)
  signal         kill(getpid(), SIGUSR1) + the same
                 handler: no interrupt, for comparison      (bench/progs/timer.c)
  timer_preempt  two spinning threads on one CPU: time from
                 the preempted thread's last TSC read to the
                 next thread's first (interrupt + context
                 switch)                                    (bench/progs/timer.c)
  host_trap      no wisp: int3 from ring 3 of a bare KVM guest
                 into a ring-0 iretq and back: the host's
                 floor for a trap (kvm only)                (bench/host/kick.c)
  host_kick      no wisp: a bare KVM guest spinning in ring 3,
                 KVM_RUN made to return by a ~1 ms timer signal
                 and re-entered; the gap per return: the
                 host's floor for a tick (kvm only)         (bench/host/kick.c)
  host_kick10    the same every ~10 ms, wisp's time slice     (bench/host/kick.c)
  host_nmi       no wisp: the same guest, ticked by NMIs from
                 KVM's local APIC every ~1 ms into a ring-0
                 handler of two instructions, with no exit to
                 user space: the floor for wisp's own ticks on
                 a PVM-style host (kvm only)                (bench/host/kick.c)
  host_nmi10     the same every ~10 ms                        (bench/host/kick.c)
  forkexec       fork + execv of a static program + waitpid,
                 N=50                                       (bench/progs/forkexec.c)
  python3        `python3 -c pass`, whole command from outside

All but python3 time their own inner loop inside the program (TSC or
clock_gettime(CLOCK_MONOTONIC)), so VM boot and program loading are
excluded; each cell is the median of --reps runs (default 3). python3
start-up is timed from outside, so for wisp it includes booting the VM (and
mapping the image of python's libraries and stdlib that the warm-up run
packed into wisp's image cache); it is the median of --runs runs
(default 10, after a warm-up run). Both scripts give wisp an empty image
cache of their own (runner.private_image_cache).

Without /dev/kvm the kvm column is skipped (with the reason) and the qemu
backend runs under TCG: those ratios are not representative. --backend
kvm|qemu runs only that backend. A benchmark that fails is reported as
"fails: REASON". After the table, the issue's targets are checked against the
kvm column.

Prints markdown on stdout; --write also puts it into docs/benchmarks.md,
replacing the section between the micro.py markers or appending it (run
after bench/boot.py --write, which keeps this section).
Usage: python3 bench/micro.py [--runs N] [--reps N] [--write] [--backend kvm|qemu]
"""

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import hostinfo
from runner import kvm_available, private_image_cache, progress, ratio, reason, run, verdict

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
RESULT_RE = re.compile(r"^RESULT (\w+) (-?[\d.]+) (\S+) (\d+)\s*$", re.M)
SKIP_RE = re.compile(r"^SKIP (\w+): (.*)$", re.M)
PROGS = ("getpid", "touch", "forkexec", "nop", "fault", "timer")


def inner(names, argv, reps):
    """Runs argv reps times; returns {name: (median value, unit, (min, max),
    "")} from its RESULT lines, or (None, None, None, why) for a name the
    program skipped ("SKIP name: why"), or raises RuntimeError(reason)."""
    vals = {n: [] for n in names}
    units, skipped = {}, {}
    for _ in range(reps):
        _, rc, out, err = run(argv, TIMEOUT)
        text = out.decode("utf-8", "replace")
        found = {m.group(1): m for m in RESULT_RE.finditer(text)}
        skipped.update(SKIP_RE.findall(text))
        if rc != 0 or not all(n in found or n in skipped for n in names):
            raise RuntimeError(reason(rc, err, TIMEOUT) if rc != 0 else
                               "no RESULT line in the output")
        for n in names:
            if n in found:
                vals[n].append(float(found[n].group(2)))
                units[n] = found[n].group(3)
    return {n: (statistics.median(vals[n]), units[n], (min(vals[n]), max(vals[n])), "")
            if vals[n] else (None, None, None, "skipped: " + skipped[n]) for n in names}


def outer(argv, runs):
    """Whole-command wall time: one warm-up run, then the median of runs."""
    _, rc, out, err = run(argv, TIMEOUT)
    if rc != 0:
        raise RuntimeError(reason(rc, err, TIMEOUT))
    times = []
    for _ in range(runs):
        dt, rc, out, err = run(argv, TIMEOUT)
        if rc != 0:
            raise RuntimeError(reason(rc, err, TIMEOUT))
        times.append(dt)
    return statistics.median(times) * 1e3, "ms", (min(times) * 1e3, max(times) * 1e3)


def fmt(v, unit, rng=None):
    """A value with its unit; ns figures of 10 µs and more are shown in µs.
    With rng (min, max), the range follows in brackets, in the same unit."""
    if v is None:
        return ""
    scale = 1
    if unit.startswith("ns/") and v >= 10000:
        scale, unit = 1e3, "µs/" + unit[3:]
    elif unit.startswith("us/"):
        unit = "µs/" + unit[3:]

    def num(x):
        x /= scale
        return ("%.0f" if x >= 100 else "%.3g" if x < 10 else "%.1f") % x
    text = "%s %s" % (num(v), unit)
    if rng and rng[0] != rng[1]:
        text += " (%s–%s)" % (num(rng[0]), num(rng[1]))
    return text


def us(v, unit):
    """v in µs, for a unit ns/... or us/...; None if unknown."""
    if v is None:
        return None
    return v / 1e3 if unit.startswith("ns/") else v if unit.startswith("us/") else None


def ensure_built():
    for f in (WISP, KERNEL):
        if not f.exists():
            sys.exit("micro.py: %s missing: run `make` first" % f)
    need = [BENCH / n for n in PROGS] + [BENCH / "host-kick"]
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
                    help="run only this wisp backend (default: both)")
    ap.add_argument("--write", action="store_true", help="also write into docs/benchmarks.md")
    # Accepted so that one BENCH_ARGS works for boot.py and micro.py.
    ap.add_argument("--no-mem-search", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--wisp-qemu", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    private_image_cache()
    if args.runs < 1 or args.reps < 1:
        ap.error("--runs and --reps must be >= 1")
    ensure_built()

    kvm = kvm_available()
    accel = "KVM" if kvm else "TCG"
    # Columns: (key, label, wisp argv prefix or None for native, skip reason)
    cols = [("native", "native", None, None)]
    if args.backend in (None, "kvm"):
        cols.append(("kvm", "wisp (kvm)", [str(WISP), "run", "--backend", "kvm"],
                     None if kvm else "skipped: /dev/kvm not available"))
    if args.backend in (None, "qemu"):
        cols.append(("qemu", "wisp --backend qemu (%s)" % accel,
                     [str(WISP), "run", "--backend", "qemu"], None))
    nop = str(BENCH / "nop")
    big = ["--mem", "1G"]

    # One entry per program run: (result names, native argv, wisp extra
    # options, program argv, kind).
    progs = [
        (["getpid"], [BENCH / "getpid", 100000], [], "inner"),
        (["fault_seq", "fault_stride"], [BENCH / "fault", 64, 64, 8], big, "inner"),
        (["touch"], [BENCH / "touch", 256], big, "inner"),
        (["timer_signal", "signal", "timer_preempt"], [BENCH / "timer", 200, 2000], [], "inner"),
        (["host_trap", "host_kick", "host_kick10", "host_nmi", "host_nmi10"],
         [BENCH / "host-kick", 200], [], "host"),
        (["forkexec"], [BENCH / "forkexec", nop, 50], ["--add", "%s:%s" % (nop, nop)], "inner"),
        (["python3"], [PYTHON, "-c", "pass"], [], "outer"),
    ]
    desc = {
        "getpid": "syscall round trip: `syscall(SYS_getpid)`, N=100000",
        "fault_seq": "page faults, sequential: 64 MiB, one write per 4 KiB page (per touched page)",
        "fault_stride": "page-fault round trip: one write per 2 MiB block (page table "
                        "present), each a trap of its own; median of 8 × 64, each timed",
        "touch": "touch 256 MiB of fresh memory, one write per 4 KiB page",
        "timer_signal": "timer interrupt + SIGALRM: setitimer 1 ms, empty handler, "
                        "gap seen by a spinning loop per tick",
        "signal": "signal delivery alone: `kill(getpid(), SIGUSR1)` + empty handler, N=2000",
        "timer_preempt": "timer preemption: two spinning threads on one CPU, "
                         "last instruction of one to first of the other",
        "forkexec": "fork + exec + wait of a static program, N=50",
        "python3": "`python3 -c pass`, whole run (wisp: includes VM boot; the image from wisp's cache)",
    }

    res = {}   # (name, col) -> (value, unit, error)
    for names, argv, opts, kind in progs:
        for key, label, prefix, skip in cols:
            if kind == "host" and not kvm:
                skip = "skipped: /dev/kvm not available"
            if kind == "host" and key != "native":
                continue
            if skip:
                for n in names:
                    res[n, key] = (None, None, None, skip)
                continue
            progress("%s: %s ..." % ("+".join(names), label))
            if names == ["python3"] and not os.access(PYTHON, os.X_OK):
                for n in names:
                    res[n, key] = (None, None, None, "fails: %s not installed" % PYTHON)
                continue
            full = argv if prefix is None else prefix + opts + argv
            try:
                if kind in ("inner", "host"):
                    got = inner(names, full, args.reps)
                else:
                    got = {names[0]: outer(full, args.runs) + ("",)}
                for n in names:
                    res[n, key] = got[n]
            except RuntimeError as e:
                for n in names:
                    res[n, key] = (None, None, None, "fails: %s" % e)

    order = [n for names, _, _, kind in progs if kind != "host" for n in names]
    keys = [c[0] for c in cols]
    command = "python3 bench/micro.py " + shlex.join(sys.argv[1:])
    L = []
    L.append("## Micro-benchmarks (bench/micro.py)")
    L.append("")
    L += hostinfo.run_lines(command, "from the repository root; `make bench` runs it after "
                            "`bench/boot.py`", ROOT, kvm)
    L.append("- wisp columns: %s" % "; ".join(
        "`%s`" % " ".join(["wisp"] + p[1:]) for _, _, p, _ in cols if p))
    L.append("")
    head = ["benchmark"] + [c[1] for c in cols]
    ratios = []
    if "kvm" in keys:
        ratios.append(("kvm", "native", "wisp / native"))
    if "qemu" in keys:
        ratios.append(("qemu", "native", "qemu / native"))
    if "kvm" in keys and "qemu" in keys:
        ratios.append(("kvm", "qemu", "wisp / qemu"))
    head += [r[2] for r in ratios]
    L.append("| %s |" % " | ".join(head))
    L.append("|---|%s" % ("---:|" * (len(head) - 1)))
    for n in order:
        cells = [desc[n]]
        for k in keys:
            v, u, rng, err = res[n, k]
            cells.append(fmt(v, u, rng) or err)
        for a, b, _ in ratios:
            cells.append(ratio(res[n, a][0], res[n, b][0]))
        L.append("| %s |" % " | ".join(cells))
    L.append("")
    L.append("- All rows but python3 time their own loop inside the program (TSC or "
             "`clock_gettime(CLOCK_MONOTONIC)`), so VM boot is excluded; median of %d runs. "
             "Programs: `bench/progs/*.c`, musl, `-static`; `fault` and `touch` run with "
             "`--mem 1G` in wisp." % args.reps)
    L.append("- Each cell: median (min–max over the runs).")
    L.append("- python3 is the wall time of the whole command, median of %d runs after a "
             "warm-up; for wisp it includes booting the VM and loading python's "
             "shared libraries and stdlib in the guest, and mapping the image that the "
             "warm-up run packed and stored in wisp's image cache (an empty one per "
             "benchmark run; without the cache, packing adds ~15 ms)." % args.runs)
    L.append("- Page faults: `fault_seq` is what a program touching memory in order pays "
             "per page (fewer traps than pages when the kernel maps several pages per fault, "
             "as wisp does when a fault creates a page table); the round trip is "
             "`fault_stride`: every write lands in a different 2 MiB page-table block whose "
             "table was made beforehand (the block's first page is a separate read-only "
             "mapping, read untimed), so each is one trap that maps one zeroed page, with "
             "no page-table allocation and no fault-around, natively and in wisp.")
    L.append("- Timer: no row is the interrupt alone (wisp is tickless: a lone spinning task "
             "gets no timer interrupt). `timer_signal` adds signal delivery and "
             "`rt_sigreturn`, `timer_preempt` a context switch; `timer_signal` − "
             "(`signal` − `getpid`) estimates the interrupt itself.")
    def host_cell(n):
        v, u, rng, err = res[n, "native"]
        return fmt(v, u, rng) or err

    L.append("- The host's floor for a trap, `host_trap` (bench/host/kick.c): `int3` from "
             "ring 3 of a bare KVM guest into a ring-0 handler that is a bare `iretq`, and "
             "back; median: %s. Any guest kernel pays this per trap here, and a page fault "
             "adds a guest page-table walk and the host's fill of its shadow entry; the rest "
             "of `fault_stride` is wisp's." % host_cell("host_trap"))
    L.append("- The host's floor for a tick, `host_kick` (bench/host/kick.c, run right after "
             "the timer rows): a bare KVM guest with no wisp in it spins in ring 3, a ~1 ms "
             "POSIX timer signal makes `KVM_RUN` return and the loop enters the guest again "
             "at once; the gap the guest sees per return, median: %s; `host_kick10`, the "
             "same every ~10 ms (wisp's time slice, the period of `timer_preempt`): %s. "
             "Any VMM that takes the timer in user space pays this per tick here. wisp does "
             "not, on a PVM-style host: KVM's local APIC fires its timer as NMIs. The floor "
             "for that, `host_nmi`: the same guest ticked every ~1 ms by such NMIs into a "
             "ring-0 handler of two instructions that counts them: %s; `host_nmi10`, every "
             "~10 ms: %s. The rest of a tick is wisp's." % (
                 host_cell("host_kick"), host_cell("host_kick10"), host_cell("host_nmi"),
                 host_cell("host_nmi10")))
    L.append("- The native column runs on this host, which may itself be a VM: the ratios "
             "compare with what the host kernel does here, not with bare metal.")
    if not kvm:
        L.append("- **No KVM on this host: the qemu column ran under QEMU TCG (software "
                 "emulation of the guest CPU). These ratios are not representative of wisp "
                 "on KVM.**")

    busy = hostinfo.busy_note()
    if busy:
        L.append("- %s; `timer_preempt` natively counts any other process that runs on the "
                 "threads' CPU between them." % busy)

    # The targets, checked against the kvm column.
    if "kvm" in keys and not kvm:
        L.append("")
        L.append("Targets (kvm backend): not checked: /dev/kvm not available.")
    elif "kvm" in keys:
        def val(n, k="kvm"):
            return res[n, k][0]

        def u_of(n, k="kvm"):
            return us(res[n, k][0], res[n, k][1] or "")

        L.append("")
        L.append("Targets (kvm backend):")
        L.append("")
        def cell(n):
            v, u, rng, _ = res[n, "kvm"]
            return fmt(v, u, rng) if v is not None else "not measured"

        f = u_of("fault_stride")
        tf = u_of("host_trap", "native")
        L.append("- page-fault round trip under 40 µs (median): %s (`fault_stride` %s; "
                 "`fault_seq` %s%s)" % (verdict(None if f is None else f < 40),
                                        cell("fault_stride"), cell("fault_seq"),
                                        "" if f is None or tf is None else
                                        "; over the host's trap floor (`host_trap` %.1f µs): "
                                        "%.1f µs" % (tf, f - tf)))
        ts, tp = u_of("timer_signal"), u_of("timer_preempt")
        sig, gp = u_of("signal"), u_of("getpid")
        est = ""
        if ts is not None and sig is not None and gp is not None:
            est = "; estimate of the interrupt alone %.0f µs" % (ts - (sig - gp))
        floor, floor10 = u_of("host_nmi", "native"), u_of("host_nmi10", "native")
        if ts is not None and floor is not None:
            est += "; over the host's floor: `timer_signal` − `host_nmi` (%.1f µs) " \
                   "%.1f µs" % (floor, ts - floor)
        if tp is not None and floor10 is not None:
            est += ", `timer_preempt` − `host_nmi10` (%.1f µs) %.1f µs" % (floor10, tp - floor10)
        L.append("- timer interrupt under 40 µs (median): %s (both must be: `timer_signal` %s, "
                 "`timer_preempt` %s%s)" % (
                     verdict(None if ts is None or tp is None else ts < 40 and tp < 40),
                     cell("timer_signal"), cell("timer_preempt"), est))
        t, tn = val("touch"), val("touch", "native")
        L.append("- touching 256 MiB within 3× native: %s (%s)" % (
            verdict(None if not t or not tn else t / tn <= 3), ratio(t, tn)))
        p, pn = val("python3"), val("python3", "native")
        L.append("- python3 start-up within 3× native: %s (%s)" % (
            verdict(None if not p or not pn else p / pn <= 3), ratio(p, pn)))
        L.append("- `wisp run /bin/busybox true` under 10 ms: see the boot table above.")
    text = "\n".join(L) + "\n"
    print(text, end="")
    if args.write:
        write_doc(text)
        progress("wrote %s" % DOC)


if __name__ == "__main__":
    main()
