"""hostinfo.py: facts about the host that reports print beside their figures."""
import os
import platform


def _cpu_busy(seconds=0.5):
    """The fraction of all CPUs' time spent busy (not idle or iowait) over
    `seconds`, from /proc/stat; None if unknown. The caller sleeps meanwhile,
    so this is other work on the host."""
    import time

    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v[:8]), v[3] + v[4]
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (i1 - i0) / (t1 - t0) if t1 > t0 else None


# Measured once, when the benchmark script starts (imports this module).
START_BUSY = _cpu_busy()


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe():
    """One line: CPU model, CPU count, kernel release and how busy the CPUs
    were with other work just before the benchmark started (it adds noise)."""
    busy = "" if START_BUSY is None else ", CPUs %.0f%% busy before the start" % (100 * START_BUSY)
    return "%s, %d CPUs, Linux %s%s" % (cpu_model(), os.cpu_count() or 0, platform.release(), busy)


def run_lines(command, where, root, kvm=None):
    """The lines every benchmark section starts with: the command (run from
    `where`), the date, the host (and whether it has KVM, unless kvm is
    None) and the build."""
    import datetime

    host = describe()
    if kvm is not None:
        host += "; KVM: %s" % ("yes" if kvm else "no (/dev/kvm not available)")
    return ["- Command: `%s` (%s)" % (command.strip(), where),
            "- Date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "- Host: %s" % host,
            "- Build: %s" % build_id(root)]


def busy_note():
    """A warning when other work kept the host's CPUs more than 25% busy in
    the half second before the benchmark started, else ''."""
    if START_BUSY is None or START_BUSY <= 0.25:
        return ""
    return ("The host was busy with other work (CPUs %.0f%% busy in the 0.5 s before the "
            "start): figures are noisier and slower than on an idle host" % (100 * START_BUSY))


def build_id(root):
    """The git commit the working tree is at, and whether (and where) it
    differs from it: the build the figures come from was made from that tree
    (`make` is run first). Untracked files, and docs/benchmarks.md (which
    the scripts write), are not counted."""
    import subprocess

    def git(*a):
        p = subprocess.run(["git", "-C", str(root)] + list(a), capture_output=True,
                           text=True, timeout=30)
        if p.returncode != 0:
            raise OSError(p.stderr.strip())
        return p.stdout

    try:
        head = git("rev-parse", "HEAD").strip()
        dirty = [l[3:] for l in git("status", "--porcelain", "--untracked-files=no").splitlines()
                 if l[3:] != "docs/benchmarks.md"]   # the benchmarks' own output
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    if not dirty:
        return "git commit %s, working tree clean" % head[:12]
    shown = ", ".join(dirty[:6]) + (", ..." if len(dirty) > 6 else "")
    return "git commit %s, working tree dirty (%d file%s: %s)" % (
        head[:12], len(dirty), "" if len(dirty) == 1 else "s", shown)
