"""Shared pytest fixtures for the wisp test suite.

Fixtures and helpers:
  wisp          path to build/wisp (fails the test if it was not built)
  kernel        path to build/wisp-kernel.elf (fails if not built)
  progs         session fixture: builds tests/progs/*.c (`make test-progs`)
                and returns prog(name, variant) -> absolute path
  run           run(args, backend, input=None, timeout=None, text=True)
                -> Result(rc, stdout, stderr) for `wisp run --backend B ARGS`
                (see backend_command)
  run_command   run_command(args, backend) -> (argv, env) of the same command,
                for tests that read its output as it comes
  wisp_cmd      wisp_cmd(args, ...) -> Result for `wisp ARGS` (no backend added)
  backend       parametrized over BACKENDS (see backend_skip_reason):
                  kvm   wisp's own VMM on /dev/kvm
                  qemu  `--backend qemu`: QEMU with KVM where /dev/kvm is
                        usable, TCG elsewhere (wisp's own choice)
                  tcg   `--backend qemu` with WISP_QEMU_ACCEL=tcg: the kernel in
                        ring 0 under TCG even on a host with /dev/kvm;
                        skipped where there is no /dev/kvm, as "qemu" is TCG
                        there already. Only tests that use `run` or
                        `run_command` get tcg rows.
  variant       how a test program was built (musl/glibc, static/static-pie);
                with a backend, the qemu and tcg backends only get
                QEMU_VARIANTS unless the test is marked all_variants or
                WISP_TEST_ALL=1 is set

Environment knobs:
  WISP_BUILD         build directory (default: <repo>/build)
  WISP_TEST_ALL=1    run every test-program variant on the qemu and tcg backends too
  WISP_TEST_TIMEOUT  per-VM timeout in seconds (default 30 kvm, 120 qemu and tcg)
  WISP_QEMU          QEMU binary (default qemu-system-x86_64 on PATH)
  WISP_KVM_LAPIC=0   (wisp-vmm's own) on a PVM-style host, the timer injected
                     by wisp-vmm instead of NMIs from KVM's local APIC

`wisp run` caches packed images in $XDG_CACHE_HOME/wisp: the suite points
XDG_CACHE_HOME at a temporary directory of its own (removed at the end), so
it never writes into the user's home, and clears WISP_NO_CACHE and
WISP_VERBOSE. tests/integration/test_imgcache.py gives each test its own.
"""

import collections
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("WISP_BUILD", ROOT / "build")).resolve()
WISP = BUILD / "wisp"
KERNEL = BUILD / "wisp-kernel.elf"
PROGS_DIR = BUILD / "tests" / "progs"
UNIT_DIR = BUILD / "tests" / "unit"

BACKENDS = ["kvm", "qemu", "tcg"]
# Backends that are `wisp run --backend qemu` with WISP_QEMU_ACCEL set so
# (None: unset, wisp chooses).
QEMU_ACCEL = {"qemu": None, "tcg": "tcg"}
VARIANTS = ["musl-static", "musl-static-pie", "glibc-static", "glibc-static-pie"]
# QEMU is slower to start: on the qemu and tcg backends most programs run in
# two builds only, which between them cover both libcs and both static and
# static-pie.
QEMU_VARIANTS = ["musl-static", "glibc-static-pie"]

QEMU_BIN = "qemu-system-x86_64"

CACHE_HOME = tempfile.mkdtemp(prefix="wisp-test-cache-")
os.environ["XDG_CACHE_HOME"] = CACHE_HOME
os.environ.pop("WISP_NO_CACHE", None)
os.environ.pop("WISP_VERBOSE", None)

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
    if backend in QEMU_ACCEL and qemu_path() is None:
        return "%s backend: %s not found on PATH" % (backend, QEMU_BIN)
    if backend == "tcg" and not kvm_available():
        return ("tcg backend: same as the qemu backend without /dev/kvm "
                "(QEMU uses TCG there already)")
    return None


def default_timeout(backend):
    env = os.environ.get("WISP_TEST_TIMEOUT")
    if env:
        return float(env)
    return 120.0 if backend in QEMU_ACCEL else 30.0


def backend_command(backend, args):
    """(argv, env) that run `wisp run` with ARGS on `backend`: tcg is the
    qemu backend with WISP_QEMU_ACCEL=tcg; for qemu the variable is removed,
    so that wisp itself chooses (KVM when it can)."""
    assert backend in BACKENDS, backend
    env = dict(os.environ)
    env.pop("WISP_QEMU_ACCEL", None)
    if QEMU_ACCEL.get(backend):
        env["WISP_QEMU_ACCEL"] = QEMU_ACCEL[backend]
    wisp_backend = "qemu" if backend in QEMU_ACCEL else backend
    return [WISP, "run", "--backend", wisp_backend, *args], env


def _backend_param(backend, *values, id=None):
    marks = [getattr(pytest.mark, backend)]
    reason = backend_skip_reason(backend)
    if reason:
        marks.append(pytest.mark.skip(reason=reason))
    return pytest.param(backend, *values, marks=marks, id=id or backend)


def pytest_unconfigure(config):
    shutil.rmtree(CACHE_HOME, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "kvm: runs a VM with the kvm backend (needs /dev/kvm)")
    config.addinivalue_line(
        "markers", "qemu: runs a VM under QEMU (with KVM where /dev/kvm is usable, else TCG)")
    config.addinivalue_line(
        "markers", "tcg: runs a VM under QEMU with TCG on a host that has /dev/kvm")
    config.addinivalue_line(
        "markers", "all_variants: run every test-program build on the qemu and tcg backends too")


def pytest_generate_tests(metafunc):
    names = metafunc.fixturenames
    # The tcg backend exists in `run` and `run_command` only: a test that
    # starts wisp some other way (test_compat.py's runner) gets kvm and qemu.
    backends = [b for b in BACKENDS
                if b != "tcg" or "run" in names or "run_command" in names]
    if "backend" in names and "variant" in names:
        every = (metafunc.definition.get_closest_marker("all_variants") is not None
                 or os.environ.get("WISP_TEST_ALL") == "1")
        params = []
        for b in backends:
            variants = VARIANTS if (b == "kvm" or every) else QEMU_VARIANTS
            for v in variants:
                params.append(_backend_param(b, v, id="%s-%s" % (b, v)))
        metafunc.parametrize(("backend", "variant"), params)
    elif "backend" in names:
        metafunc.parametrize("backend", [_backend_param(b) for b in backends])
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
        if input is not None and backend != "kvm":
            raise ValueError("stdin is only forwarded by the kvm backend")
        argv, env = backend_command(backend, args)
        return _execute(argv, input=input, env=env,
                        timeout=timeout or default_timeout(backend), text=text)
    return call


@pytest.fixture(scope="session")
def run_command(wisp, kernel):
    """run_command(args, backend) -> (argv, env) for `wisp run` on backend,
    for a test that drives the process itself (backend_command)."""
    def command(args, backend):
        return backend_command(backend, args)
    return command


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
