#!/usr/bin/python3
"""Compatibility suite runner: runs every case of tests/compat/cases.py on
the host and in wisp, compares stdout and exit status, and reports.

  python3 tests/compat/run.py [--write] [--backend kvm|qemu] [--jobs N]
                              [--timeout S] [-k SUBSTRING]... [--list]

The backend is --backend, else $WISP_COMPAT_BACKEND, else kvm when /dev/kvm
is usable and qemu otherwise. Each case gets --timeout seconds (default 30)
per run; cases run --jobs at a time (default 2). For a case that fails, the
"first missing syscall" is the first `wisp-kernel: unimplemented syscall NAME
(N)` line on its stderr; when there is none, the case is re-run with
--trace-syscalls and the first call answered `= -ENOSYS` is taken, skipping
calls that are ENOSYS on purpose (syscall-enosys markers and ENOSYS stubs,
see docs/syscalls.md, and rseq, which the kernel never reports).

--write writes the report to docs/compat.md. Failing cases do not make the
runner fail: it exits 0 unless it could not run at all (wisp not built, a
broken case, ...). tests/test_compat.py runs the cases marked fast=True.
"""

import argparse
import concurrent.futures
import datetime
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cases as cases_mod  # noqa: E402

sys.path.insert(0, str(HERE.parent.parent / "bench"))
import hostinfo  # noqa: E402

ROOT = cases_mod.ROOT
BUILD = cases_mod.BUILD
WISP = BUILD / "wisp"
KERNEL = BUILD / "wisp-kernel.elf"
DATA = Path(cases_mod.DATA)
SCRATCH = Path("/tmp/wisp-compat-scratch")
REPORT = ROOT / "docs" / "compat.md"
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/", "TZ": "UTC"}
DEFAULT_MEM = "512M"
DATA_VERSION = "3"      # bump when make_data() changes

UNIMPL_RE = re.compile(r"wisp-kernel: unimplemented syscall (\w+|\?) \((\d+)\)")
TRACE_ENOSYS_RE = re.compile(r"wisp-kernel: (?:\[\d+\] )?(\w+)\(.*\) = -ENOSYS\s*$")


class RunnerError(Exception):
    pass


# ---------------------------------------------------------------- helpers

def kvm_available():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def default_backend():
    b = os.environ.get("WISP_COMPAT_BACKEND")
    if b:
        if b not in ("kvm", "qemu"):
            raise RunnerError("WISP_COMPAT_BACKEND=%s: expected kvm or qemu" % b)
        return b
    return "kvm" if kvm_available() else "qemu"


def execute(argv, stdin=None, timeout=30.0, env=None, cwd="/"):
    """Runs argv in its own session; returns (rc, stdout, stderr, timed_out).
    On timeout the whole process group (wisp and its QEMU) is killed."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    p = subprocess.Popen([str(a) for a in argv], cwd=cwd, env=env,
                         stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    timed_out = False
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return p.returncode, out, err, timed_out


def load_gen_syscalls_doc():
    spec = importlib.util.spec_from_file_location(
        "gen_syscalls_doc", ROOT / "tools" / "gen-syscalls-doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def deliberate_enosys():
    """Syscall names that are ENOSYS on purpose or as a known stub: not a
    useful answer to "what is missing"."""
    names = {"rseq"}   # kernel/syscalls/table.c never reports it
    try:
        g = load_gen_syscalls_doc()
        registered, markers = g.collect()
        names |= {n for n, m in markers.items() if m["kind"] == "enosys"}
        names |= {n for n, r in registered.items() if r["stub"]}
    except Exception as e:  # the report still works without it
        print("compat: note: cannot read syscall markers: %s" % e, file=sys.stderr)
    return names


# ---------------------------------------------------------------- fixtures

WORDS = ("pear apple fig banana cherry apple grape kiwi banana mango orange cherry "
         "papaya apple lemon lime date fig banana coconut").split()


def make_data(root):
    """Writes the fixture tree. Everything is deterministic: contents,
    modes and mtimes."""
    tree = root / "tree"
    (tree / "b" / "d").mkdir(parents=True)
    (tree / "empty").mkdir()
    files = {
        "tree/a.txt": "alpha\nbeta\ngamma\n",
        "tree/b/c.txt": "see\nthe c file\n",
        "tree/b/d/e.txt": "deep file\n" * 50,
        "tree/b/run.sh": "#!/bin/sh\necho run\n",
        "tree/z.dat": "z" * 5000,
        "words.txt": "\n".join(WORDS) + "\n",
        "sorted-words.txt": "\n".join(sorted(WORDS)) + "\n",
        "numbers.txt": "\n".join(str((i * 37) % 101) for i in range(40)) + "\n",
        "data.csv": "name,city,age\n" + "".join(
            "person%02d,%s,%d\n" % (i, ["oslo", "rome", "lima", "kyiv"][i % 4], 20 + (i * 7) % 50)
            for i in range(30)),
        "data.json": '{"items": ["zero", "one", {"two": [2, 2.0]}], "ok": true}\n',
    }
    for rel, text in files.items():
        (root / rel).write_text(text)
    # 256 KiB of deterministic bytes (xorshift), incompressible enough.
    x, out = 0x2545F4914F6CDD1D, bytearray()
    for _ in range(256 * 1024 // 8):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        out += x.to_bytes(8, "little")
    (root / "blob.bin").write_bytes(bytes(out))
    os.chmod(tree / "b" / "run.sh", 0o755)
    with tarfile.open(root / "fixture.tar", "w", format=tarfile.USTAR_FORMAT) as tf:
        def clean(ti):
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mtime = 1700000000
            return ti
        for p in sorted(tree.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(root)), recursive=False, filter=clean)
    for p in sorted(root.rglob("*"), reverse=True):
        if p.is_file():
            os.chmod(p, 0o755 if p.name.endswith(".sh") else 0o644)
        else:
            os.chmod(p, 0o755)
        os.utime(p, (1700000000, 1700000000), follow_symlinks=False)
    (root / ".version").write_text(DATA_VERSION)
    os.utime(root / ".version", (1700000000, 1700000000))
    os.utime(root, (1700000000, 1700000000))


_data_lock = threading.Lock()


def prepare_data():
    """Creates DATA unless an up-to-date copy is there. Built in a temporary
    directory and renamed into place, so concurrent runners never see a
    half-written tree."""
    with _data_lock:
        stamp = DATA / ".version"
        if stamp.is_file() and stamp.read_text() == DATA_VERSION:
            return
        tmp = Path(tempfile.mkdtemp(prefix="wisp-compat-data.", dir=str(DATA.parent)))
        make_data(tmp)
        if DATA.exists():
            shutil.rmtree(DATA, ignore_errors=True)
        try:
            os.rename(tmp, DATA)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)   # another runner won
            if not (stamp.is_file() and stamp.read_text() == DATA_VERSION):
                raise RunnerError("cannot create %s" % DATA)


def build_cprog(fam, var):
    """Builds tests/compat/progs/FAM.c as VAR into build/compat/progs.
    Returns (path, None) or (None, reason)."""
    src = HERE / "progs" / ("%s.c" % fam)
    hdr = HERE / "progs" / "compat.h"
    out = cases_mod.PROGS / ("%s-%s" % (fam, var))
    cmd = cases_mod.C_VARIANTS[var]
    if shutil.which(cmd[0]) is None:
        return None, "%s not installed" % cmd[0]
    if out.exists() and out.stat().st_mtime >= max(src.stat().st_mtime, hdr.stat().st_mtime):
        return out, None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp%d" % os.getpid())
    p = subprocess.run(cmd + ["-Wall", "-Wextra", "-o", str(tmp), str(src)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, "build failed: %s" % (p.stderr.strip().splitlines() or ["?"])[-1]
    os.rename(tmp, out)
    return out, None


# ---------------------------------------------------------------- one case

NORMALISERS = {
    "sort": lambda b: b"".join(sorted(b.splitlines(True))),
    "drop_total": lambda b: b"".join(l for l in b.splitlines(True) if not l.startswith(b"total ")),
    "strip": lambda b: b.strip(),
}


def normalise(data, norms):
    for n in norms or ():
        if isinstance(n, str):
            data = NORMALISERS[n](data)
        else:
            pat, rep = n
            data = re.sub(pat.encode(), rep.encode(), data, flags=re.M)
    return data


class Result:
    def __init__(self, case, status, detail="", missing="", native=None, guest=None, secs=0.0):
        self.case = case
        self.status = status        # pass fail timeout skip broken
        self.detail = detail
        self.missing = missing
        self.native = native        # (rc, out, err, timed_out)
        self.guest = guest
        self.secs = secs

    @property
    def program(self):
        return self.case["id"].split("/", 1)[0]

    @property
    def name(self):
        return self.case["id"].split("/", 1)[1]


def scratch_dir(case):
    return SCRATCH / case["id"].replace("/", "-")


def fresh_scratch(case):
    """Empties the case's scratch directory (see cases.py)."""
    d = scratch_dir(case)
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def case_argv(case):
    d = str(scratch_dir(case))
    return [a.replace("{scratch}", d) for a in case["argv"]]


def uses_scratch(case):
    return any("{scratch}" in a for a in case["argv"])


def guest_argv(case, backend, trace=False):
    argv = [str(WISP), "run", "--backend", backend, "--mem", case.get("mem", DEFAULT_MEM),
            "--add", "%s:%s" % (DATA, DATA)]
    if uses_scratch(case):
        argv += ["--add", "%s:%s" % (scratch_dir(case), scratch_dir(case))]
    for spec in case.get("add", ()):
        argv += ["--add", spec if ":" in spec else "%s:%s" % (spec, spec)]
    for k, v in {**BASE_ENV, **case.get("env", {})}.items():
        if k not in ("PATH", "HOME") or v != BASE_ENV.get(k):
            argv += ["-e", "%s=%s" % (k, v)]
    if trace:
        argv.append("--trace-syscalls")
    return argv + ["--"] + case_argv(case)


def short(b, n=70):
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
    s = s.replace("|", "\\|").replace("`", "'")
    return s if len(s) <= n else s[:n - 1] + "…"


def explain(nrc, nout, nerr, grc, gout, gerr):
    """One line saying how the guest run differs from the native one."""
    all_lines = gerr.decode("utf-8", "replace").splitlines()
    glines = [l for l in all_lines if not l.startswith("wisp-kernel: ")]
    wisp_line = next((l for l in glines if l.startswith("wisp: ")), None)
    panic = next((l for l in all_lines if l.startswith("wisp-kernel: panic")), None)
    last_out = gout.decode("utf-8", "replace").rstrip("\n").rsplit("\n", 1)[-1]
    after = "; last stdout line: '%s'" % short(last_out, 50) if last_out else ""
    if panic:
        return panic + after
    if wisp_line:
        return wisp_line + after
    parts = []
    # The suite's C programs print "NAME: ok" / "NAME: FAIL (ERRNO)" lines.
    native_ok = set(re.findall(rb"^(.*): ok$", nout, re.M))
    failed = [(n, e) for n, e in re.findall(rb"^(.*): FAIL \((.*)\)$", gout, re.M)
              if n in native_ok]
    if failed:
        if grc != nrc:
            parts.append("exit %d (native %d)" % (grc, nrc))
        parts.append("failed checks: " + "; ".join(
            "%s%s" % (short(n, 50), "" if e == b"no errno" else " (%s)" % short(e))
            for n, e in failed[:6]) + ("; …" if len(failed) > 6 else ""))
        return "; ".join(parts)
    if grc != nrc:
        parts.append("exit %d (native %d)" % (grc, nrc))
    if gout != nout:
        a, b = gout.splitlines(), nout.splitlines()
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                if x is None:
                    parts.append("stdout ends at line %d (native has %d lines)" % (i + 1, len(b)))
                elif y is None:
                    parts.append("stdout has extra line %d: '%s'" % (i + 1, short(x, 50)))
                else:
                    # Show both lines from a little before the first difference.
                    k = next((j for j in range(min(len(x), len(y))) if x[j] != y[j]),
                             min(len(x), len(y)))
                    cut = max(0, k - 25)
                    pre = "…" if cut else ""
                    parts.append("stdout line %d: '%s%s', native '%s%s'"
                                 % (i + 1, pre, short(x[cut:], 45), pre, short(y[cut:], 45)))
                break
    native_err = set(nerr.decode("utf-8", "replace").splitlines())
    extra = [l for l in glines if l not in native_err and l.strip()]
    if extra:
        parts.append("stderr: '%s'" % short(extra[0], 60))
    return "; ".join(parts) or "differs"


def first_missing(err):
    m = UNIMPL_RE.search(err.decode("utf-8", "replace"))
    return m.group(1) if m else ""


def traced_missing(case, backend, timeout, ignore):
    if uses_scratch(case):
        fresh_scratch(case)
    rc, out, err, to = execute(guest_argv(case, backend, trace=True), stdin=case_stdin(case, backend),
                               timeout=timeout)
    for line in err.decode("utf-8", "replace").splitlines():
        m = TRACE_ENOSYS_RE.match(line)
        if m and m.group(1) not in ignore:
            return m.group(1)
    return ""


def case_stdin(case, backend):
    return case.get("stdin") if backend == "kvm" else None


def run_case(case, backend, timeout=30.0, ignore=frozenset(), trace=True):
    """Runs one case natively and in wisp. Returns a Result."""
    t0 = time.monotonic()
    if "cprog" in case:
        path, why = build_cprog(*case["cprog"])
        if path is None:
            return Result(case, "skip", why)
    if case.get("stdin") is not None and backend != "kvm":
        return Result(case, "skip", "stdin: the qemu backend does not forward stdin")
    missing_prog = next((a for a in case["argv"][:1] if not os.access(a, os.X_OK)), None)
    if missing_prog:
        return Result(case, "skip", "%s not installed on the host" % missing_prog)
    timeout = case.get("timeout", timeout)
    env = {**BASE_ENV, **case.get("env", {})}
    scratch = uses_scratch(case)
    # The guest run first: wisp packs the scratch directory while it is empty.
    if scratch:
        fresh_scratch(case)
    guest = execute(guest_argv(case, backend), stdin=case_stdin(case, backend), timeout=timeout)
    grc, gout, gerr, gto = guest
    if scratch:
        fresh_scratch(case)
    native = execute(case_argv(case), stdin=case.get("stdin"), timeout=timeout, env=env)
    nrc, nout, nerr, nto = native
    if nrc is not None and nrc < 0:
        # Killed by a signal: wisp reports that as 128 + the signal number.
        nrc = 128 - nrc
        native = (nrc, nout, nerr, nto)
    if nto:
        return Result(case, "broken", "native run timed out", native=native)
    norms = case.get("norm")
    same = (grc == nrc and normalise(gout, norms) == normalise(nout, norms)
            and (not case.get("stderr") or gerr == nerr))
    missing = first_missing(gerr)
    if gto:
        status, detail = "timeout", "no exit after %.0f s" % timeout
        tail = [l for l in gerr.decode("utf-8", "replace").splitlines()
                if l.strip() and "unimplemented syscall" not in l]
        if tail:
            detail += "; last stderr line: '%s'" % short(tail[-1], 60)
    elif same:
        status, detail = "pass", ""
    else:
        status = "fail"
        detail = explain(nrc, normalise(nout, norms), nerr, grc, normalise(gout, norms), gerr)
    if status != "pass" and not missing and trace and not detail.startswith("wisp: "):
        missing = traced_missing(case, backend, timeout, ignore)
    if scratch:
        shutil.rmtree(scratch_dir(case), ignore_errors=True)
    return Result(case, status, detail, missing, native, guest, time.monotonic() - t0)


# ---------------------------------------------------------------- driver

def select_cases(patterns=(), fast_only=False):
    out = []
    for c in cases_mod.CASES:
        if fast_only and not c.get("fast"):
            continue
        if patterns and not any(p in c["id"] for p in patterns):
            continue
        out.append(c)
    return out


def prepare():
    for f in (WISP, KERNEL):
        if not f.exists():
            raise RunnerError("%s missing: run `make` first" % f)
    prepare_data()


def render(results, backend, command, elapsed):
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    accel = ("KVM" if backend == "kvm" else
             "QEMU microvm, %s" % ("KVM" if kvm_available() else "TCG: no /dev/kvm"))
    L = []
    L.append("# Compatibility report")
    L.append("")
    L.append("<!-- Generated by tests/compat/run.py (`make compat`); do not edit. -->")
    L.append("")
    L.append("Real Debian programs and the suite's own C programs, run natively and in "
             "wisp with the same arguments, input and files; a case passes when stdout "
             "and the exit status match. Cases: `tests/compat/cases.py`; how it works: "
             "[testing.md](testing.md#compatibility-suite).")
    L.append("")
    L.append("- Command: `%s`" % command)
    L.append("- Date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    L.append("- Backend: %s (%s); kernel commit %s" % (backend, accel, git_rev()))
    L.append("- Host: %s; %.0f s wall time" % (hostinfo.describe(), elapsed))
    L.append("")
    L.append("**Totals: %d cases: %s**" % (len(results), ", ".join(
        "%d %s" % (counts[s], s) for s in ("pass", "fail", "timeout", "skip", "broken")
        if counts.get(s))))
    L.append("")
    # per program
    progs = []
    for r in results:
        if r.program not in progs:
            progs.append(r.program)
    L.append("| program | cases | pass | fail | timeout | skip |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for p in progs:
        rs = [r for r in results if r.program == p]
        L.append("| %s | %d | %d | %d | %d | %d |" % (
            p, len(rs), sum(r.status == "pass" for r in rs), sum(r.status == "fail" for r in rs),
            sum(r.status == "timeout" for r in rs), sum(r.status in ("skip", "broken") for r in rs)))
    L.append("")
    miss = {}
    for r in results:
        if r.status in ("fail", "timeout") and r.missing:
            miss.setdefault(r.missing, []).append(r.case["id"])
    if miss:
        L.append("## Missing system calls")
        L.append("")
        L.append("The first unimplemented syscall of each failing case, by how many cases "
                 "it is the first gap for:")
        L.append("")
        L.append("| syscall | cases | e.g. |")
        L.append("|---|---:|---|")
        for name, ids in sorted(miss.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            L.append("| `%s` | %d | %s |" % (name, len(ids), ", ".join(ids[:3])))
        L.append("")
    L.append("## Cases")
    L.append("")
    L.append("| program | case | result | first missing syscall | detail |")
    L.append("|---|---|---|---|---|")
    for r in results:
        res = {"pass": "pass", "fail": "**fail**", "timeout": "**timeout**"}.get(r.status, r.status)
        L.append("| %s | %s | %s | %s | %s |" % (
            r.program, r.name, res, "`%s`" % r.missing if r.missing else "",
            short(r.detail, 170)))
    L.append("")
    return "\n".join(L)


def git_rev():
    try:
        p = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        rev = p.stdout.strip() or "?"
        d = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "kernel", "vmm"],
                           capture_output=True, text=True, timeout=10)
        return rev + (" + uncommitted changes" if d.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("kvm", "qemu"))
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per run (default 30)")
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING",
                    help="only cases whose id contains SUBSTRING (repeatable)")
    ap.add_argument("--fast", action="store_true", help="only the fast=True cases")
    ap.add_argument("--no-trace", action="store_true", help="no --trace-syscalls re-runs")
    ap.add_argument("--write", action="store_true", help="write docs/compat.md")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print diffs of failures")
    args = ap.parse_args()

    cases = select_cases(args.k, args.fast)
    if args.list:
        for c in cases:
            print("%-28s %s" % (c["id"], shlex.join(c["argv"])[:100]))
        return 0
    backend = args.backend or default_backend()
    if backend == "kvm" and not kvm_available():
        raise RunnerError("kvm backend: /dev/kvm not available (use --backend qemu)")
    prepare()
    ignore = deliberate_enosys()
    command = "make compat" if os.environ.get("MAKELEVEL") else \
        "python3 tests/compat/run.py " + shlex.join(sys.argv[1:])
    print("compat: %d cases, backend %s, %d jobs, timeout %.0f s"
          % (len(cases), backend, args.jobs, args.timeout), flush=True)
    t0 = time.monotonic()
    results = [None] * len(cases)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = {ex.submit(run_case, c, backend, args.timeout, ignore, not args.no_trace): i
                for i, c in enumerate(cases)}
        for f in concurrent.futures.as_completed(futs):
            i = futs[f]
            r = f.result()
            results[i] = r
            extra = ""
            if r.status != "pass":
                extra = "  %s%s" % (r.detail, "  [first missing: %s]" % r.missing if r.missing else "")
            print("%-8s %-30s %5.1fs%s" % (r.status, r.case["id"], r.secs, extra[:200]), flush=True)
            if args.verbose and r.status == "fail" and r.guest:
                print("  native stdout: %r\n  wisp stdout:   %r\n  wisp stderr:   %r"
                      % (r.native[1][:500], r.guest[1][:500], r.guest[2][-800:]))
    elapsed = time.monotonic() - t0
    text = render(results, backend, command, elapsed)
    n = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "timeout", "skip", "broken")}
    print("compat: %s (%.0f s)" % (", ".join("%d %s" % (v, k) for k, v in n.items() if v), elapsed))
    if args.write:
        REPORT.write_text(text)
        print("compat: wrote %s" % REPORT.relative_to(ROOT))
    broken = [r for r in results if r.status == "broken"]
    if broken:
        print("compat: broken cases (they fail natively): %s"
              % ", ".join(r.case["id"] for r in broken), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunnerError as e:
        sys.exit("compat: %s" % e)
