"""Shared pytest fixtures for the wisp test suite.

Fixtures and helpers:
  wisp          path to build/wisp (fails the test if it was not built)
  kernel        path to build/wisp-kernel.elf (fails if not built)
  progs         session fixture: builds tests/progs/*.c (`make test-progs`)
                and returns prog(name, variant) -> absolute path
  run           run(args, backend, input=None, timeout=None, text=True)
                -> Result(rc, stdout, stderr) for `wisp run --backend B ARGS`
  wisp_cmd      wisp_cmd(args, ...) -> Result for `wisp ARGS` (no backend added)
  backend       parametrized over BACKENDS; "kvm" is skipped without /dev/kvm,
                "qemu" without qemu-system-x86_64
  variant       how a test program was built (musl/glibc, static/static-pie);
                with a backend, the qemu backend only gets QEMU_VARIANTS unless
                the test is marked all_variants or WISP_TEST_ALL=1 is set

Environment knobs:
  WISP_BUILD         build directory (default: <repo>/build)
  WISP_TEST_ALL=1    run every test-program variant on the qemu backend too
  WISP_TEST_TIMEOUT  per-VM timeout in seconds (default 30 kvm, 120 qemu)
  WISP_QEMU          QEMU binary (default qemu-system-x86_64 on PATH)
"""

import collections
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("WISP_BUILD", ROOT / "build")).resolve()
WISP = BUILD / "wisp"
KERNEL = BUILD / "wisp-kernel.elf"
PROGS_DIR = BUILD / "tests" / "progs"
UNIT_DIR = BUILD / "tests" / "unit"

BACKENDS = ["kvm", "qemu"]
VARIANTS = ["musl-static", "musl-static-pie", "glibc-static", "glibc-static-pie"]
# TCG is slow: on the qemu backend most programs run in two builds only,
# which between them cover both libcs and both static and static-pie.
QEMU_VARIANTS = ["musl-static", "glibc-static-pie"]

QEMU_BIN = "qemu-system-x86_64"

Result = collections.namedtuple("Result", "rc stdout stderr")


def kvm_available():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def qemu_path():
    """The QEMU binary: $WISP_QEMU (as wisp itself uses it) or PATH lookup."""
    return shutil.which(os.environ.get("WISP_QEMU") or QEMU_BIN)


def backend_skip_reason(backend):
    """Why `backend` cannot run on this host, or None."""
    if backend == "kvm" and not kvm_available():
        return "kvm backend: /dev/kvm not available (no KVM on this host)"
    if backend == "qemu" and qemu_path() is None:
        return "qemu backend: %s not found on PATH" % QEMU_BIN
    return None


def default_timeout(backend):
    env = os.environ.get("WISP_TEST_TIMEOUT")
    if env:
        return float(env)
    return 120.0 if backend == "qemu" else 30.0


def _backend_param(backend, *values, id=None):
    marks = [getattr(pytest.mark, backend)]
    reason = backend_skip_reason(backend)
    if reason:
        marks.append(pytest.mark.skip(reason=reason))
    return pytest.param(backend, *values, marks=marks, id=id or backend)


def pytest_configure(config):
    config.addinivalue_line("markers", "kvm: runs a VM with the kvm backend (needs /dev/kvm)")
    config.addinivalue_line("markers", "qemu: runs a VM under QEMU (TCG when there is no KVM)")
    config.addinivalue_line(
        "markers", "all_variants: run every test-program build on the qemu backend too")


def pytest_generate_tests(metafunc):
    names = metafunc.fixturenames
    if "backend" in names and "variant" in names:
        every = (metafunc.definition.get_closest_marker("all_variants") is not None
                 or os.environ.get("WISP_TEST_ALL") == "1")
        params = []
        for b in BACKENDS:
            variants = VARIANTS if (b == "kvm" or every) else QEMU_VARIANTS
            for v in variants:
                params.append(_backend_param(b, v, id="%s-%s" % (b, v)))
        metafunc.parametrize(("backend", "variant"), params)
    elif "backend" in names:
        metafunc.parametrize("backend", [_backend_param(b) for b in BACKENDS])
    elif "variant" in names:
        metafunc.parametrize("variant", VARIANTS)


def _execute(argv, input=None, timeout=60.0, text=True, env=None):
    """Runs argv in its own process group (so a wisp that spawned QEMU is
    cleaned up completely on timeout) and returns a Result."""
    if isinstance(input, str):
        input = input.encode()
    proc = subprocess.Popen(
        [str(a) for a in argv],
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True, env=env)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        pytest.fail("timed out after %.0fs: %s\nstdout (tail): %r\nstderr (tail): %r"
                    % (timeout, shlex.join(str(a) for a in argv), out[-2000:], err[-2000:]))
    finally:
        # Nothing of the group may outlive the test (e.g. a QEMU child).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if text:
        out = out.decode("utf-8", errors="surrogateescape")
        err = err.decode("utf-8", errors="surrogateescape")
    return Result(proc.returncode, out, err)


def execute(argv, **kw):
    return _execute(argv, **kw)


@pytest.fixture(scope="session")
def wisp():
    if not os.access(WISP, os.X_OK):
        pytest.fail("%s not built: run `make` first" % WISP)
    return WISP


@pytest.fixture(scope="session")
def kernel():
    if not KERNEL.is_file():
        pytest.fail("%s not built: run `make` first" % KERNEL)
    return KERNEL


@pytest.fixture(scope="session")
def wisp_cmd(wisp):
    """wisp_cmd(args, input=None, timeout=60, text=True) runs `wisp ARGS`."""
    def call(args, input=None, timeout=60.0, text=True):
        return _execute([wisp, *args], input=input, timeout=timeout, text=text)
    return call


@pytest.fixture(scope="session")
def run(wisp, kernel):
    """run(args, backend, input=None, timeout=None, text=True) runs
    `wisp run --backend BACKEND ARGS...` and returns Result(rc, stdout, stderr).

    Without `input`, stdin is /dev/null. Stdin is only forwarded by the kvm
    backend, so pass `input` only with backend="kvm".
    """
    def call(args, backend, input=None, timeout=None, text=True):
        assert backend in BACKENDS, backend
        if input is not None and backend != "kvm":
            raise ValueError("stdin is only forwarded by the kvm backend")
        argv = [wisp, "run", "--backend", backend, *args]
        return _execute(argv, input=input,
                        timeout=timeout or default_timeout(backend), text=text)
    return call


@pytest.fixture(scope="session")
def progs():
    """Builds the test programs once per session (make test-progs, cached in
    build/tests/progs) and returns prog(name, variant) -> absolute path."""
    res = subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", "test-progs", "BUILD=%s" % BUILD],
        capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail("building the test programs failed (make test-progs):\n%s%s"
                    % (res.stdout[-4000:], res.stderr[-4000:]))

    def prog(name, variant="musl-static"):
        assert variant in VARIANTS, variant
        path = PROGS_DIR / ("%s-%s" % (name, variant))
        if not os.access(path, os.X_OK):
            pytest.fail("test program %s was not built" % path)
        return str(path)
    return prog


@pytest.fixture(scope="session")
def host_backend():
    """A backend for tests that never reach the point of starting a VM (bad
    input): kvm where /dev/kvm exists, otherwise qemu, so that the /dev/kvm
    check cannot mask the error under test."""
    return "kvm" if kvm_available() else "qemu"
