"""The fast part of the compatibility suite (tests/compat) as pytest tests:
the busybox cases marked fast=True in tests/compat/cases.py, each run
natively and in wisp, on every available backend. They must pass; the full
suite (`make compat`) is a report, docs/compat.md, and may have failures.
"""

import sys

import pytest

from conftest import ROOT, default_timeout

sys.path.insert(0, str(ROOT / "tests" / "compat"))
import run as compat  # noqa: E402  (tests/compat/run.py)

FAST = compat.select_cases(fast_only=True)


@pytest.fixture(scope="module")
def prepared(wisp, kernel):
    compat.prepare()


@pytest.mark.parametrize("case", FAST, ids=[c["id"] for c in FAST])
def test_compat(prepared, backend, case):
    r = compat.run_case(case, backend, timeout=default_timeout(backend), trace=False)
    if r.status == "skip":
        pytest.skip(r.detail)
    assert r.status == "pass", (
        "%s: %s%s\nnative: rc=%r stdout=%r\nwisp:   rc=%r stdout=%r\nwisp stderr: %r"
        % (case["id"], r.detail, " (first missing syscall: %s)" % r.missing if r.missing else "",
           r.native and r.native[0], r.native and r.native[1][-1500:],
           r.guest and r.guest[0], r.guest and r.guest[1][-1500:],
           r.guest and r.guest[2][-1500:]))


def test_fast_subset_is_busybox_only():
    assert len(FAST) >= 10
    assert all(c["argv"][0] == compat.cases_mod.BB for c in FAST)
