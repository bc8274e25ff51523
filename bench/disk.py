#!/usr/bin/python3
"""Storage benchmark (issue 7): file I/O natively on a host directory and
under `wisp run --disk IMAGE:/bench` (kvm backend) on an ext2 image in the
same directory, so on the same host file system, side by side in one run,
with the ratios wisp/native:

  seq_write     64 x 1 MiB write() of pseudo-random data + fsync: MB/s,
                the fsync included (also shown alone)          (bench/progs/diskio.c)
  seq_read      the file read whole in 1 MiB read()s, in a fresh
                process (wisp: a fresh VM), the open included:
                in wisp, 1 MiB reads of data not in guest memory go
                from the disk straight into the buffer. Twice:
                with the host page cache warm, and cold, after
                posix_fadvise(DONTNEED) of the native file / of
                the image, checked with mincore
  rand_read     2000 pread() of 4 KiB at random aligned offsets,
                after the warm read: IOPS
  rand_write    2000 pwrite() of 4 KiB at random aligned offsets
                into the 64 MiB file + one fsync: IOPS (the
                open not timed)
  fsync         4 KiB append + fdatasync, 200 times, each timed:
                median and p90 in µs
  sqlite3       /usr/bin/sqlite3 (dynamic) running N separate
                autocommit INSERTs with synchronous=FULL, rollback
                journal (the default) and WAL; timed from
                outside, minus the same command with 0 inserts:
                inserts per second

diskio times its own calls with clock_gettime(CLOCK_MONOTONIC), so VM boot
is excluded; each of its cells is the median of --reps rounds (default 3),
each round on a fresh image (mke2fs -t ext2, 1G: 4 KiB blocks, as mke2fs
makes them from 512M on) and a fresh native file. sqlite3 is the median over --runs pairs (default 10, after a warm-up
pair) of an N-insert run and a 0-insert run, each pair giving
N / (t_N - t_0). Data is never all zeros (wisp keeps zero blocks as holes).

Without /dev/kvm the wisp column is skipped with the reason and the
targets are not checked. --backend qemu (accepted so that one BENCH_ARGS
serves micro.py too) skips it as well: this script measures the kvm backend.

Prints markdown on stdout; --write also puts it into docs/benchmarks.md,
replacing the section between the bench/disk.py markers, or inserting it
after bench/micro.py's section (bench/boot.py --write and bench/micro.py
--write keep it).
Usage: python3 bench/disk.py [--runs N] [--reps N] [--write] [--mib N]
                             [--inserts N] [--dir DIR]
"""

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import hostinfo
from runner import kvm_available, progress, ratio, reason, run, verdict

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("WISP_BUILD", ROOT / "build")).resolve()
WISP = BUILD / "wisp"
KERNEL = BUILD / "wisp-kernel.elf"
DISKIO = BUILD / "bench" / "diskio"
SQLITE = "/usr/bin/sqlite3"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench/disk.py: begin -->"
END = "<!-- bench/disk.py: end -->"
MICRO_END = "<!-- bench/micro.py: end -->"
TIMEOUT = 300
IMAGE_SIZE = "1G"
MOUNT = "/bench"
RAND_N = 2000
FSYNC_N = 200
# Above this share of the file still cached after DONTNEED, the cold read
# is not cold and is reported as such.
COLD_MAX_RESIDENT = 5.0
TARGET_SEQ = 1.5     # sequential throughput within 1.5x native
TARGET_FSYNC = 2.0   # fsync latency within 2x native
NO_RATIO = ("open_load", "open_load_cold", "fsync_trend")
RESULT_RE = re.compile(r"^RESULT (\w+) (-?[\d.]+) (\S+) (\d+)\s*$", re.M)


def failure(rc, err):
    """reason() with what a disk run says: the ext2 driver and diskio."""
    return reason(rc, err, TIMEOUT, ("wisp-kernel: ext2", "diskio: "))


def results(argv):
    """Runs argv once; returns {name: (value, unit)} from its RESULT lines,
    or raises RuntimeError(reason)."""
    _, rc, out, err = run(argv, TIMEOUT)
    if rc != 0:
        raise RuntimeError(failure(rc, err))
    found = {m.group(1): (float(m.group(2)), m.group(3))
             for m in RESULT_RE.finditer(out.decode("utf-8", "replace"))}
    if not found:
        raise RuntimeError("no RESULT line in the output")
    return found


def mke2fs(path):
    subprocess.run([shutil.which("mke2fs") or "/sbin/mke2fs", "-q", "-t", "ext2", "-F",
                    str(path), IMAGE_SIZE], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=TIMEOUT)


def mountinfo(path):
    """'TYPE on SOURCE (MOUNTPOINT)' of the file system holding path."""
    best, desc = "", "unknown file system"
    try:
        real = os.path.realpath(path)
        for line in open("/proc/self/mountinfo"):
            left, right = line.split(" - ", 1)
            mnt = left.split()[4]
            fstype, source = right.split()[:2]
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, desc = mnt, "%s on %s (mounted at %s)" % (fstype, source, mnt)
    except (OSError, ValueError, IndexError):
        pass
    return desc


def fmt(v, unit, rng=None):
    """A value with its unit, and (min–max) when they differ."""
    if v is None:
        return ""

    def num(x):
        if unit == "x":
            return "%.2f" % x
        return ("%.0f" if abs(x) >= 100 else "%.3g" if abs(x) < 10 else "%.1f") % x
    unit = unit.replace("us/", "µs/")
    text = "%s%s" % (num(v), "×" if unit == "x" else " " + unit)
    if rng and num(rng[0]) != num(rng[1]):
        text += " (%s–%s)" % (num(rng[0]), num(rng[1]))
    return text


def summary(vals):
    return statistics.median(vals), (min(vals), max(vals))


def ensure_built():
    for f in (WISP, KERNEL):
        if not f.exists():
            sys.exit("disk.py: %s missing: run `make` first" % f)
    if not DISKIO.exists():
        subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "BUILD=%s" % BUILD,
                        str(DISKIO)], check=True)


def write_doc(text):
    section = "%s\n%s%s" % (BEGIN, text, END)
    old = DOC.read_text() if DOC.exists() else ""
    if BEGIN in old and END in old:
        a, b = old.index(BEGIN), old.index(END) + len(END)
        new = old[:a] + section + old[b:]
    elif MICRO_END in old:
        # Right after micro.py's section: bench/boot.py --write keeps
        # everything from micro.py's begin marker on.
        a = old.index(MICRO_END) + len(MICRO_END)
        new = old[:a] + "\n\n" + section + old[a:]
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "") + section + "\n"
    DOC.write_text(new)


class Column:
    """How to run diskio and sqlite3 one way: natively on a host directory,
    or in wisp on a mounted image. path(name) is the file's name as the
    program sees it."""

    def __init__(self, key, label, tmp, wisp_opts=None, mem=None):
        self.key, self.label, self.wisp = key, label, wisp_opts is not None
        self.opts, self.mem = wisp_opts, mem
        self.dir = Path(tmp) / key
        self.image = Path(tmp) / ("%s.img" % key)

    def fresh(self):
        """A fresh file system for a round: an empty directory natively, a
        new ext2 image for wisp."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir()
        if self.wisp:
            mke2fs(self.image)

    def path(self, name):
        return "%s/%s" % (MOUNT, name) if self.wisp else str(self.dir / name)

    def argv(self, prog, *args, mem=True):
        if not self.wisp:
            return [prog, *args]
        return ([str(WISP), "run"] + self.opts + (["--mem", self.mem] if mem else []) +
                ["--disk", "%s:%s" % (self.image, MOUNT), prog, *args])

    def drop(self, name):
        """Drops the file's pages (natively) or the image's (wisp) from the
        host page cache; returns the percentage still resident."""
        target = self.image if self.wisp else self.dir / name
        got = results([DISKIO, "drop", target])
        return got["resident"][0]


def diskio_round(col, mib, vals, resid):
    """One round of every diskio mode on a fresh file system; appends each
    RESULT to vals[name] and the resident percentage after each drop to
    resid."""
    col.fresh()
    data, lat = col.path("data"), col.path("fsync")
    io = str(DISKIO)
    steps = [
        ("write", col.argv(io, "write", data, mib), {}),
        ("read", col.argv(io, "read", data, mib, RAND_N), {}),
        ("cold", col.argv(io, "read", data, mib, 0), {"seq_read": "seq_read_cold",
                                                      "open_load": "open_load_cold"}),
        ("randwrite", col.argv(io, "randwrite", data, RAND_N), {}),
        ("fsync", col.argv(io, "fsync", lat, FSYNC_N), {}),
    ]
    for step, argv, rename in steps:
        try:
            if step == "cold":
                resid.append(col.drop("data"))
            got = results(argv)
        except RuntimeError as e:
            # Later steps need this one's file: the round stops here.
            raise RuntimeError("%s: %s" % (step, e)) from None
        for name, (v, unit) in got.items():
            vals.setdefault(rename.get(name, name), []).append((v, unit))


def sqlite_rate(col, mode, n, runs):
    """sqlite3 inserts per second in journal mode `mode` (delete or wal),
    synchronous=FULL: N separate autocommit INSERTs, minus a 0-insert run of
    the same command; returns (median rate, (min, max), median empty-run
    seconds)."""
    db = col.path("%s.db" % mode)
    # Schema and journal mode first, untimed (WAL is persistent in the file).
    _, rc, out, err = run(col.argv(SQLITE, db, "PRAGMA journal_mode=%s; "
                                   "CREATE TABLE t(k INTEGER, v TEXT);" % mode, mem=False),
                          TIMEOUT)
    if rc != 0 or out.decode().strip() != mode:
        raise RuntimeError(failure(rc, err) if rc != 0 else
                           "journal_mode %s not set: %r" % (mode, out[:80]))
    head = "PRAGMA synchronous=FULL; "
    tail = "SELECT count(*) FROM t;"
    ins = "".join("INSERT INTO t VALUES(%d, 'row %d of the sqlite3 benchmark');" % (i, i)
                  for i in range(n))
    rows = 0
    times = {0: [], n: []}
    for i in range(runs + 1):          # the first pair is a warm-up
        for k, sql in ((n, head + ins + tail), (0, head + tail)):
            dt, rc, out, err = run(col.argv(SQLITE, db, sql, mem=False), TIMEOUT)
            if rc != 0:
                raise RuntimeError(failure(rc, err))
            rows += k
            # Every insert must have happened: no fast figure from a no-op.
            if out.decode().strip() != str(rows):
                raise RuntimeError("expected %d rows, sqlite3 printed %r" % (rows, out[:80]))
            if i:
                times[k].append(dt)
    rates = []
    for t_n, t_0 in zip(times[n], times[0]):
        if t_n <= t_0:
            raise RuntimeError("%d inserts took no longer than none" % n)
        rates.append(n / (t_n - t_0))
    med, rng = summary(rates)
    return med, rng, statistics.median(times[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10,
                    help="timed pairs of sqlite3 runs, after a warm-up pair (default 10)")
    ap.add_argument("--reps", type=int, default=3,
                    help="rounds of the diskio benchmarks; the median is shown (default 3)")
    ap.add_argument("--write", action="store_true", help="also write into docs/benchmarks.md")
    ap.add_argument("--mib", type=int, default=64,
                    help="size of the sequential file in MiB (default 64)")
    ap.add_argument("--inserts", type=int, default=300,
                    help="sqlite3 INSERTs per timed run (default 300)")
    ap.add_argument("--dir", default=tempfile.gettempdir(),
                    help="host directory for the image and the native files "
                    "(default %(default)s); a temporary directory in it is removed at the end")
    # Accepted so that one BENCH_ARGS works for boot.py, micro.py and disk.py.
    ap.add_argument("--backend", choices=("kvm", "qemu"), help=argparse.SUPPRESS)
    ap.add_argument("--no-mem-search", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--wisp-qemu", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-wisp-qemu", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.runs < 1 or args.reps < 1 or args.mib < 1 or args.inserts < 1:
        ap.error("--runs, --reps, --mib and --inserts must be >= 1")
    ensure_built()

    kvm = kvm_available()
    skip = None
    if args.backend == "qemu":
        skip = "skipped: --backend qemu (bench/disk.py measures the kvm backend)"
    elif not kvm:
        skip = "skipped: /dev/kvm not available"
    elif not (shutil.which("mke2fs") or os.access("/sbin/mke2fs", os.X_OK)):
        skip = "skipped: mke2fs not found (package e2fsprogs; `make deps`)"
    # Dirty data is written back from a quarter of guest memory on: leave
    # room for the whole file, so that only the fsync writes it, as natively.
    mem = "%dM" % min(3072, max(1024, 4 * args.mib + 256))
    wisp_opts = ["--backend", "kvm"]

    res = {}       # (name, key) -> (median, unit, (min, max)) or error text
    cold = {}      # key -> list of resident percentages after the drops
    startup = {}   # (mode, key) -> median seconds of the 0-insert run
    with tempfile.TemporaryDirectory(prefix="wisp-bench-disk-", dir=args.dir) as tmp:
        fs_desc = mountinfo(tmp)
        cols = [Column("native", "native", tmp)]
        cols.append(Column("kvm", "wisp (kvm)", tmp, wisp_opts, mem))
        active = [c for c in cols if not (c.wisp and skip)]

        # diskio: rounds alternate native and wisp, so a change in the
        # host's load falls on both columns.
        vals = {c.key: {} for c in active}
        failed = {}
        for r in range(args.reps):
            for c in active:
                if c.key in failed:
                    continue
                progress("diskio round %d/%d: %s ..." % (r + 1, args.reps, c.label))
                try:
                    diskio_round(c, args.mib, vals[c.key], cold.setdefault(c.key, []))
                except (RuntimeError, subprocess.SubprocessError) as e:
                    failed[c.key] = "fails: %s" % (
                        e if isinstance(e, RuntimeError) else
                        getattr(e, "stderr", b"").decode(errors="replace").strip()[:100] or e)
        for c in active:
            for name, got in vals[c.key].items():
                if c.key not in failed:
                    res[name, c.key] = summary([v for v, _ in got]) + (got[0][1],)

        # sqlite3: its own fresh file system per column.
        for c in active:
            c.fresh()
            for mode in ("delete", "wal"):
                name = "sqlite_%s" % mode
                if not os.access(SQLITE, os.X_OK):
                    res[name, c.key] = "fails: %s not installed (package sqlite3)" % SQLITE
                    continue
                progress("sqlite3 %s journal: %s ..." % (mode, c.label))
                try:
                    med, rng, t0 = sqlite_rate(c, mode, args.inserts, args.runs)
                    res[name, c.key] = (med, rng, "inserts/s")
                    startup[mode, c.key] = t0
                except RuntimeError as e:
                    res[name, c.key] = "fails: %s" % e
        # The image and the native directory must share a file system, or
        # the comparison is of two file systems.
        devs = {os.stat(c.image if c.wisp else c.dir).st_dev
                for c in active if (c.image if c.wisp else c.dir).exists()}
        same_fs = len(devs) <= 1

    rows = [
        ("seq_write", "sequential write: %d × 1 MiB `write()` + `fsync`" % args.mib),
        ("seq_write_fsync", "… of which the final `fsync`"),
        ("seq_read", "sequential read, 1 MiB `read()`s, fresh process/VM, `open` included; "
                     "host page cache warm"),
        ("open_load", "… of which the `open`"),
        ("seq_read_cold", "sequential read as above, cold: file (native) or image (wisp) "
                          "dropped from the host page cache"),
        ("open_load_cold", "… of which the `open`"),
        ("rand_read", "random 4 KiB `pread`, %d, file open and read already" % RAND_N),
        ("rand_write", "random 4 KiB `pwrite`, %d, + one `fsync`" % RAND_N),
        ("rand_write_fsync", "… of which the `fsync`"),
        ("fsync_p50", "4 KiB append + `fdatasync`, %d times: median" % FSYNC_N),
        ("fsync_p90", "… p90"),
        ("fsync_trend", "… median of the last 20 / of the first 20"),
        ("sqlite_delete", "sqlite3: %d autocommit INSERTs, rollback journal, "
                          "synchronous=FULL" % args.inserts),
        ("sqlite_wal", "sqlite3: the same in WAL mode, synchronous=FULL"),
    ]
    keys = [c.key for c in cols]

    def cell(name, key):
        if key == "kvm" and skip:
            return skip
        if key in failed and not name.startswith("sqlite"):
            return failed[key]
        got = res.get((name, key))
        if got is None:
            return ""
        if isinstance(got, str):
            return got
        med, rng, unit = got
        text = fmt(med, unit, rng)
        if name == "seq_read_cold" and cold.get(key) and max(cold[key]) > COLD_MAX_RESIDENT:
            text += " (not cold: %.0f%% still cached)" % max(cold[key])
        return text

    def value(name, key):
        got = res.get((name, key))
        return got[0] if isinstance(got, tuple) else None

    command = "python3 bench/disk.py " + shlex.join(sys.argv[1:])
    L = []
    L.append("## Storage (bench/disk.py)")
    L.append("")
    L += hostinfo.run_lines(command, "from the repository root; `make bench` runs it after "
                            "`bench/micro.py`", ROOT, kvm)
    L.append("- Host file system of the image and of the native files: %s%s" % (
        fs_desc, "" if same_fs else " (**not the same device for both**)"))
    L.append("- wisp column: `wisp run %s --mem %s --disk IMAGE:%s PROGRAM` (sqlite3 with "
             "the default --mem); IMAGE made by `mke2fs -q -t ext2 -F IMAGE %s` afresh for "
             "each round" % (" ".join(wisp_opts), mem, MOUNT, IMAGE_SIZE))
    L.append("")
    head = ["benchmark"] + [c.label for c in cols] + ["wisp / native"]
    L.append("| %s |" % " | ".join(head))
    L.append("|---|%s" % ("---:|" * (len(head) - 1)))
    for name, desc in rows:
        cells = [desc] + [cell(name, k) for k in keys]
        # No ratio where native does no comparable work: its open reads
        # nothing, and the trend is a ratio already.
        cells.append("" if name in NO_RATIO else ratio(value(name, "kvm"),
                                                       value(name, "native")))
        L.append("| %s |" % " | ".join(cells))
    L.append("")
    L.append("- diskio rows (`bench/progs/diskio.c`, musl, `-static`) time their own calls "
             "with `clock_gettime(CLOCK_MONOTONIC)`, so VM boot is excluded; median (min–max) "
             "of %d rounds, each on a fresh image and a fresh native directory, native and "
             "wisp alternating. MB/s are 10⁶ bytes/s. Every mode is a process (a VM) of its "
             "own: write, read warm, drop, read cold, random writes, fsync." % args.reps)
    L.append("- Higher is better for MB/s, IOPS and inserts/s (a ratio below 1 means wisp "
             "is slower), lower for ms and µs.")
    L.append("- Warm read: natively the file is in the host page cache (written by the "
             "previous process); in wisp the image's blocks are, and each 1 MiB `read()` "
             "goes through virtio-blk straight into the program's buffer (a read of 256 KiB "
             "or more of data not in guest memory does). Cold: the native file, or "
             "the whole image, was fsynced and dropped with `posix_fadvise(POSIX_FADV_DONTNEED)` "
             "beforehand (no root, no system-wide cache drop); `mincore` afterwards found "
             "%s still cached. The host's disk may itself be cached below this kernel." %
             "; ".join("%s at most %.1f%%" % (c.label, max(cold[c.key]))
                       for c in active if cold.get(c.key)))
    L.append("- Random reads run in the warm-read process after its sequential read: "
             "natively the file is in the page cache; in wisp it is not in guest memory (the "
             "large reads bypassed it), so each 4 KiB `pread` that misses is a request to "
             "the host.")
    for mode, label in (("delete", "rollback journal"), ("wal", "WAL")):
        st = ["%s %.1f ms" % (c.label, startup[mode, c.key] * 1e3)
              for c in active if (mode, c.key) in startup]
        if st:
            L.append("- sqlite3, %s: 0-insert run (start-up, subtracted): %s." % (
                label, "; ".join(st)))
    L.append("- sqlite3 rows: `sqlite3 DB 'PRAGMA synchronous=FULL; INSERT ...; ... "
             "SELECT count(*) FROM t;'` with %d INSERTs (each its own transaction), timed from "
             "outside, minus the same command without INSERTs; median (min–max) over %d "
             "such pairs after a warm-up pair; the printed count is checked. With "
             "synchronous=FULL a rollback-journal commit syncs the journal, its directory, the "
             "journal header and the database (4 `fdatasync`s); a WAL commit syncs the WAL "
             "once." % (args.inserts, args.runs))
    L.append("- The native column runs on this host, which may itself be a VM: the ratios "
             "compare with what the host kernel does here, not with bare metal.")
    busy = hostinfo.busy_note()
    if busy:
        L.append("- %s." % busy)

    L.append("")
    if skip:
        L.append("Targets (kvm backend): not checked: wisp column %s." % skip[len("skipped: "):])
    else:
        def slower(name, higher_better=True):
            """How many times worse wisp is than native; None if unknown."""
            w, n = value(name, "kvm"), value(name, "native")
            if not w or not n or w <= 0 or n <= 0:
                return None
            return n / w if higher_better else w / n

        L.append("Targets (kvm backend):")
        L.append("")
        for name, what in (("seq_write", "sequential write"),
                           ("seq_read", "sequential read, warm host cache"),
                           ("seq_read_cold", "sequential read, cold (for reference)")):
            s = slower(name)
            if s is None:
                how = "n/a"
            else:
                how = "wisp %s, native %s: %.2f× %s" % (
                    cell(name, "kvm"), cell(name, "native"), max(s, 1 / s),
                    "slower" if s >= 1 else "faster")
            L.append("- %s within %.1f× native: %s (%s)" % (
                what, TARGET_SEQ, verdict(None if s is None else s <= TARGET_SEQ), how))
        for name, what in (("fsync_p50", "median"), ("fsync_p90", "p90")):
            s = slower(name, higher_better=False)
            L.append("- fsync latency within %.0f× native (%s): %s (%s)" % (
                TARGET_FSYNC, what, verdict(None if s is None else s <= TARGET_FSYNC),
                "n/a" if s is None else "wisp %s, native %s: %.2f×" % (
                    cell(name, "kvm"), cell(name, "native"), s)))
    text = "\n".join(L) + "\n"
    print(text, end="")
    if args.write:
        write_doc(text)
        progress("wrote %s" % DOC)


if __name__ == "__main__":
    main()
