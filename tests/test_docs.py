"""Generated documentation must match the sources.

docs/syscalls.md is generated from the SYSCALL() lines and the
syscall-partial / syscall-enosys comments in kernel/syscalls/*.c by
tools/gen-syscalls-doc.py. This test regenerates it into a temporary file
and fails, with a diff, if the committed file differs: run `make docs`.
"""

import difflib
import subprocess
import sys

from conftest import ROOT

GEN = ROOT / "tools" / "gen-syscalls-doc.py"
DOC = ROOT / "docs" / "syscalls.md"


def test_syscalls_md_is_current(tmp_path):
    fresh = tmp_path / "syscalls.md"
    res = subprocess.run([sys.executable, str(GEN), "-o", str(fresh)],
                         capture_output=True, text=True)
    assert res.returncode == 0, "tools/gen-syscalls-doc.py failed:\n" + res.stderr
    assert DOC.is_file(), "docs/syscalls.md is missing: run `make docs`"
    old, new = DOC.read_text(), fresh.read_text()
    if old != new:
        diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                            "docs/syscalls.md", "regenerated", n=1))
        raise AssertionError("docs/syscalls.md is stale: run `make docs`\n" + diff[:6000])
