"""hostinfo.py: facts about the host that reports print beside their figures."""
import os
import platform


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe():
    """One line: CPU model, CPU count and kernel release."""
    return "%s, %d CPUs, Linux %s" % (cpu_model(), os.cpu_count() or 0, platform.release())
