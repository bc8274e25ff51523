"""Runs the C unit tests: every executable in build/tests/unit/ is one test.

Each binary prints a summary line "N passed, M failed" and exits non-zero on
failure. `make test` builds them from tests/unit/*.c first.
"""

import os
import re

import pytest

from conftest import ROOT, UNIT_DIR, execute


def unit_binaries():
    if not UNIT_DIR.is_dir():
        return []
    return sorted(p for p in UNIT_DIR.iterdir()
                  if p.is_file() and os.access(p, os.X_OK) and p.suffix not in (".d", ".o"))


BINARIES = unit_binaries()

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed\s*$", re.M)


@pytest.mark.parametrize("binary", BINARIES or [None],
                         ids=[p.name for p in BINARIES] or ["no-unit-tests"])
def test_unit(binary):
    if binary is None:
        pytest.fail("no unit test binaries in %s: run `make test` (builds tests/unit/*.c)"
                    % UNIT_DIR)
    rc, out, err = execute([binary], timeout=300)
    if rc == 77:   # the binary says why it cannot run here
        pytest.skip(out.strip().splitlines()[-1] if out.strip() else "exit status 77")
    report = "exit status %d\n--- stdout ---\n%s\n--- stderr ---\n%s" % (rc, out[-6000:], err[-6000:])
    summaries = SUMMARY.findall(out + "\n" + err)
    assert summaries, "no 'N passed, M failed' line\n" + report
    passed, failed = map(int, summaries[-1])
    assert failed == 0, report
    assert passed > 0, "the binary ran no tests\n" + report
    assert rc == 0, report


def test_every_unit_source_built():
    sources = sorted(p.stem for p in (ROOT / "tests" / "unit").glob("*.c"))
    missing = [s for s in sources if s not in {b.name for b in BINARIES}]
    assert not missing, "tests/unit/*.c without a binary in %s: %s (run `make test`)" % (
        UNIT_DIR, missing)
