#!/usr/bin/python3
"""Boot benchmark: time from starting a command to its exit, for a static
"hello" program (tests/progs/hello.c, musl, -static) and for
`/bin/busybox true`, side by side in one run:

  native       the program on the host
  wisp (kvm)   build/wisp run PROG                (skipped without /dev/kvm)
  wisp (qemu)  build/wisp run --backend qemu PROG: QEMU microvm booting the
               same kernel, with KVM when /dev/kvm is usable, else TCG
               (--no-wisp-qemu leaves it out)
  qemu         hello only: plain qemu-system-x86_64 -M microvm booting
               build/wisp-kernel.elf with the initramfs from `wisp pack`, as
               docs/usage.md shows (accel=kvm, or tcg without KVM)

Reports median, p90 and min over --runs runs (default 20) after one
untimed warm-up run each, the ratios wisp/native, wisp/qemu, the
`wisp run /bin/busybox true` target (under 10 ms), and the smallest --mem
(MiB) that still runs hello under wisp.

Prints markdown on stdout; --write also writes it to docs/benchmarks.md,
keeping what follows the boot section there (bench/micro.py's section and
any notes after it).
Usage: python3 bench/boot.py [--runs N] [--write] [--no-mem-search]
                             [--no-wisp-qemu]
"""

import argparse
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import hostinfo
from runner import kvm_available, private_image_cache, progress, run_timed

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("WISP_BUILD", ROOT / "build")).resolve()
WISP = BUILD / "wisp"
KERNEL = BUILD / "wisp-kernel.elf"
HELLO = BUILD / "tests" / "progs" / "hello-musl-static"
QEMU = os.environ.get("WISP_QEMU") or "qemu-system-x86_64"
BUSYBOX = "/bin/busybox"
EXPECT = b"hello from wisp"
TIMEOUT = 120
TARGET_BUSYBOX_MS = 10
MICRO_BEGIN = "<!-- bench/micro.py: begin -->"


class BenchError(Exception):
    pass


def run_once(argv, check=None, timeout=TIMEOUT):
    """Runs argv with output to /dev/null (or captured when check is given)
    and returns (seconds, returncode or None on timeout, stdout+stderr)."""
    dt, rc, out, err = run_timed(argv, timeout, capture=check is not None)
    return dt, rc, out + err


def measure(name, argv, runs, ok_rc=0, verify=None):
    """Warm-up run (checked), then `runs` timed runs. verify(output) -> bool
    checks the warm-up output; for QEMU the output is in the serial file."""
    _, rc, out = run_once(argv, check=True)
    if rc is None:
        raise BenchError("%s: timed out after %d s: %s" % (name, TIMEOUT, shlex.join(map(str, argv))))
    if rc != ok_rc:
        raise BenchError("%s: exit status %d (expected %d): %s\n%s"
                         % (name, rc, ok_rc, shlex.join(map(str, argv)),
                            out.decode(errors="replace")[-1000:]))
    if verify and not verify(out):
        raise BenchError("%s: unexpected output: %r" % (name, out[-500:]))
    times = []
    for _ in range(runs):
        dt, rc, _ = run_once(argv)
        if rc != ok_rc:
            raise BenchError("%s: exit status %s in a timed run" % (name, rc))
        times.append(dt)
    return times


def p90(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def fmt(sec):
    if sec < 0.001:
        return "%.0f µs" % (sec * 1e6)
    if sec < 1:
        return "%.2f ms" % (sec * 1e3)
    return "%.3f s" % sec


def wisp_pack(tmp):
    initrd = Path(tmp) / "initramfs.cpio"
    p = subprocess.run([str(WISP), "pack", "-o", str(initrd), str(HELLO)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 0:
        raise BenchError("wisp pack failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return initrd, p.stdout.strip()


def qemu_argv(accel, initrd, cmdline, serial):
    return [shutil.which(QEMU), "-M", "microvm,accel=%s" % accel, "-m", "128M",
            "-nodefaults", "-no-user-config", "-nographic",
            "-kernel", str(KERNEL), "-initrd", str(initrd), "-append", cmdline,
            "-serial", "file:%s" % serial,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def smallest_mem(backend):
    """Binary search over MiB for the smallest --mem that runs hello. The
    guest's needs are the same under either backend: same kernel, same image."""
    def works(mib):
        _, rc, out = run_once([str(WISP), "run", "--backend", backend,
                               "--mem", "%dM" % mib, str(HELLO)],
                              check=True, timeout=60)
        return rc == 0 and EXPECT in out
    lo, hi = 0, 128          # lo: known not to work (0 MiB), hi: works
    if not works(hi):
        raise BenchError("hello does not run with --mem 128M")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    return hi


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="timed runs per row (>= 1, default 20)")
    ap.add_argument("--write", action="store_true", help="also write docs/benchmarks.md")
    ap.add_argument("--no-mem-search", action="store_true", help="skip the smallest --mem search")
    ap.add_argument("--no-wisp-qemu", action="store_true",
                    help="leave out the `wisp run --backend qemu` rows (slow without KVM)")
    # Accepted so that one BENCH_ARGS works for boot.py and micro.py; the
    # wisp --backend qemu rows are on by default now.
    ap.add_argument("--wisp-qemu", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--backend", choices=("kvm", "qemu"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    private_image_cache()
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    for f in (WISP, KERNEL):
        if not f.exists():
            sys.exit("boot.py: %s missing: run `make` first" % f)
    if not HELLO.exists():
        subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "BUILD=%s" % BUILD,
                        str(HELLO)], check=True)

    kvm = kvm_available()
    accel = "kvm" if kvm else "tcg"
    command = "python3 bench/boot.py " + shlex.join(sys.argv[1:])
    rows = []      # (name, times or None, note)
    notes = []
    med = {}       # (program, runner) -> median seconds

    def row(prog, runner, name, argv, ok_rc=0, verify=None, skip=None):
        if skip:
            progress("%s: %s" % (name, skip))
            rows.append((name, None, skip))
            return
        progress("%s ..." % name)
        t = measure(name, argv, args.runs, ok_rc=ok_rc, verify=verify)
        rows.append((name, t, ""))
        med[prog, runner] = statistics.median(t)

    no_kvm = None if kvm else "skipped: /dev/kvm not available"
    no_wq = "skipped (--no-wisp-qemu)" if args.no_wisp_qemu else None
    hello_ok = lambda o: EXPECT in o  # noqa: E731

    row("hello", "native", "native `hello`", [str(HELLO)], verify=hello_ok)
    row("hello", "kvm", "`wisp run hello` (kvm)", [str(WISP), "run", str(HELLO)],
        verify=hello_ok, skip=no_kvm)
    row("hello", "qemu", "`wisp run --backend qemu hello` (%s)" % accel,
        [str(WISP), "run", "--backend", "qemu", str(HELLO)], verify=hello_ok, skip=no_wq)

    with tempfile.TemporaryDirectory(prefix="wisp-bench-") as tmp:
        if shutil.which(QEMU) is None:
            row("hello", "raw", "QEMU microvm `hello`", None,
                skip="skipped: %s not found" % QEMU)
        else:
            initrd, cmdline = wisp_pack(tmp)
            serial = Path(tmp) / "serial.txt"

            def serial_ok(_out):
                return EXPECT in serial.read_bytes()
            # isa-debug-exit: QEMU exits with (status << 1) | 1, so 1 means 0.
            row("hello", "raw", "plain QEMU `-M microvm,accel=%s` `hello`" % accel,
                qemu_argv(accel, initrd, cmdline, serial), ok_rc=1, verify=serial_ok)

    have_bb = os.access(BUSYBOX, os.X_OK)
    no_bb = None if have_bb else "skipped: %s not installed" % BUSYBOX
    row("busybox", "native", "native `busybox true`", [BUSYBOX, "true"], skip=no_bb)
    row("busybox", "kvm", "`wisp run /bin/busybox true` (kvm)",
        [str(WISP), "run", BUSYBOX, "true"], skip=no_bb or no_kvm)
    row("busybox", "qemu", "`wisp run --backend qemu /bin/busybox true` (%s)" % accel,
        [str(WISP), "run", "--backend", "qemu", BUSYBOX, "true"], skip=no_bb or no_wq)
    if not kvm:
        notes.append("wisp (kvm): skipped: /dev/kvm not available")
        notes.append("QEMU ran with accel=tcg (no /dev/kvm on this host): "
                     "its time is software emulation, not comparable to KVM.")

    mem = None
    if args.no_mem_search:
        mem_line = "skipped (--no-mem-search)"
    else:
        backend = "kvm" if kvm else "qemu"
        progress("smallest --mem (%s backend) ..." % backend)
        mem = smallest_mem(backend)
        mem_line = "%d MiB (`wisp run --backend %s --mem %dM` runs hello; %dM does not)" % (
            mem, backend, mem, mem - 1)

    def ratio(prog, a, b):
        x, y = med.get((prog, a)), med.get((prog, b))
        if not x or not y:
            return "n/a"
        return ("%.1f×" if x / y >= 1 else "%.2f×") % (x / y)

    lines = []
    lines.append("# wisp boot benchmark")
    lines.append("")
    lines.append("Time from starting the command to its exit, for a static hello "
                 "program (`tests/progs/hello.c`, musl, `-static`) and for `/bin/busybox true`; "
                 "%d timed runs per row after one warm-up run." % args.runs)
    lines.append("")
    lines += hostinfo.run_lines(command, "from the repository root, after `make`", ROOT)
    lines.append("- KVM: %s; QEMU accel: %s" % ("yes" if kvm else "no (/dev/kvm not available)", accel))
    lines.append("")
    lines.append("| | median | p90 | min | runs |")
    lines.append("|---|---:|---:|---:|---:|")
    for name, times, note in rows:
        if times is None:
            lines.append("| %s | %s | | | |" % (name, note))
        else:
            lines.append("| %s | %s | %s | %s | %d |" % (name, fmt(statistics.median(times)),
                                                        fmt(p90(times)), fmt(min(times)), len(times)))
    lines.append("")
    for prog in ("hello", "busybox"):
        lines.append("- `%s`, ratios of medians: wisp (kvm)/native %s; wisp --backend "
                     "qemu/native %s; wisp (kvm)/wisp --backend qemu %s" % (
                         "hello" if prog == "hello" else "busybox true",
                         ratio(prog, "kvm", "native"), ratio(prog, "qemu", "native"),
                         ratio(prog, "kvm", "qemu")))
    lines.append("- plain QEMU `hello`, ratio of medians: to wisp (kvm) %s; to wisp --backend "
                 "qemu %s (same QEMU, booted with wisp's options)" % (
                     ratio("hello", "raw", "kvm"), ratio("hello", "raw", "qemu")))
    bb = med.get(("busybox", "kvm"))
    if bb is None:
        lines.append("- Target `wisp run /bin/busybox true` under %d ms: n/a (not measured)"
                     % TARGET_BUSYBOX_MS)
    else:
        lines.append("- Target `wisp run /bin/busybox true` under %d ms (kvm, median): %s (%s)" % (
            TARGET_BUSYBOX_MS, "**met**" if bb * 1e3 < TARGET_BUSYBOX_MS else "**not met**",
            fmt(bb)))
    lines.append("- Smallest `--mem` for hello: %s" % mem_line)
    for n in notes:
        lines.append("- %s" % n)
    if hostinfo.busy_note():
        lines.append("- %s." % hostinfo.busy_note())
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.write:
        out = ROOT / "docs" / "benchmarks.md"
        old = out.read_text() if out.exists() else ""
        keep = old[old.index(MICRO_BEGIN):] if MICRO_BEGIN in old else ""
        out.write_text(text + ("\n" + keep if keep else ""))
        progress("wrote %s" % out)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit("boot.py: %s" % e)
    except subprocess.TimeoutExpired as e:
        sys.exit("boot.py: timed out: %s" % shlex.join(map(str, e.cmd)))
