"""The kvm backend on a VMX/SVM-style KVM, on every host with QEMU:
tools/nested-kvm.sh boots a Debian Linux kernel under QEMU with TCG (which
emulates AMD SVM with nested paging), loads kvm_amd there and runs `wisp run`
(a static build) in that Linux guest. Its KVM runs the guest kernel in ring 0
(the ring0.c cpu ops) with wisp's own VMM, which neither a host without
/dev/kvm nor a PVM-style host (kvm backend: pvm.c) can show directly.

One boot runs every command in COMMANDS; each test checks one of them. The
module skips without QEMU and when the script exits with 77 (no kernel
package, or no /dev/kvm in the Linux guest).
"""
import base64
import collections
import hashlib
import os
import re
import shlex
import subprocess

import pytest

from conftest import BUILD, PROGS_DIR as PROGS, ROOT, qemu_path
from test_platform import CHECKS as PLATFORM_CHECKS

# ist guards a race of the PVM-style host only (interrupts while a trap
# stub runs) and takes 30 s under nested TCG.
NESTED_PLATFORM_CHECKS = [c for c in PLATFORM_CHECKS if c != "ist"]

SCRIPT = ROOT / "tools" / "nested-kvm.sh"
BUSYBOX = "/bin/busybox"
BOOT_TIMEOUT = 240     # the whole boot; it takes ~15 s on 2 cores
CMD_TIMEOUT = 60       # each command in the guest

Result = collections.namedtuple("Result", "rc stdout stderr secs")

SEQ = "".join("%d\n" % i for i in range(1, 20001))
STDIN = "".join("stdin line %d\n" % i for i in range(3000))


def wisp(*args):
    return "wisp run " + shlex.join(str(a) for a in args)


def prog(name, variant="musl-static"):
    return str(PROGS / ("%s-%s" % (name, variant)))


def commands(data_dir):
    """name -> shell command run in the Linux guest (`wisp` is on its PATH)."""
    return {
        "echo": wisp(BUSYBOX, "echo", "hello"),
        "exit7": wisp(BUSYBOX, "sh", "-c", "exit 7"),
        "streams": wisp(BUSYBOX, "sh", "-c", "echo out; echo err >&2"),
        "seq": wisp(BUSYBOX, "seq", "1", "20000") + " | busybox md5sum",
        "hello": wisp(prog("hello"), "a", "b c"),
        "hello_pie": wisp(prog("hello", "glibc-static-pie")),
        "segv": wisp(prog("segv")),
        "abort": wisp(prog("abort", "glibc-static")),
        "stdin": "printf 'abc\\ndef\\n' | " + wisp(BUSYBOX, "cat"),
        "stdin_big": "busybox cat %s | %s | busybox md5sum"
                     % (shlex.quote(str(data_dir / "stdin.txt")), wisp(BUSYBOX, "cat")),
        "stdin_eof": wisp(prog("cat")),
        "epipe": "set -o pipefail; %s | busybox head -n 2" % wisp(BUSYBOX, "yes"),
        "true": wisp("/bin/true"),
        "ls": wisp("/bin/ls", "/"),
        "add": wisp("--add", "%s:/data" % data_dir, BUSYBOX, "cat", "/data/greeting.txt"),
        "env_mem": wisp("--mem", "1G", "-e", "GREETING=hi", BUSYBOX, "sh", "-c",
                        'echo "$GREETING|$HOME"'),
        "timing": wisp(prog("timing")),
        "random": "%s; %s" % (wisp(prog("random")), wisp(prog("random"))),
        "trace": wisp("--trace-syscalls", prog("hello")) + " >/dev/null",
        # Needs the timer interrupt (WISP_HC_TIMER, KVM_INTERRUPT) to preempt
        # the spinning child.
        "preempt": wisp(BUSYBOX, "sh", "-c",
                        'busybox sh -c "while :; do :; done" & i=0; '
                        'while [ $i -lt 2000 ]; do i=$((i+1)); done; '
                        'kill $!; wait $!; echo "status $?"'),
        # alarm/setitimer with pause: timer interrupts that fire while the
        # guest has interrupts disabled (the interrupt-window path).
        "signals": wisp(prog("signals")),
        "signals_pie": wisp(prog("signals", "glibc-static-pie")),
        # The kernel spends seconds in one memcpy (a ring-0 rip that does
        # not move for a while): not a stuck kernel.
        "kcopy": wisp(prog("platform"), "kcopy", "5"),
        # The checks of test_platform.py (the kernel in ring 0 under KVM),
        # one VM each, so that one failure does not hide the others.
        **{"platform_" + c: wisp("--mem", "64M", prog("platform", "glibc-static-pie"), c, "1000")
           for c in NESTED_PLATFORM_CHECKS},
        # A task waiting for host stdin must not stop the others: stdin is a
        # FIFO that stays empty for 30 s. Were the VM stuck in cat's read,
        # "slept" would only come once the writer goes away.
        "stdin_wait": "busybox mkfifo /tmp/stdin_wait; "
                      "(busybox sleep 30 >/tmp/stdin_wait 2>/dev/null &); " + wisp(
            BUSYBOX, "sh", "-c",
            "exec 3<&0; busybox cat <&3 & busybox sleep 0.3; echo slept; kill $!")
                      + " </tmp/stdin_wait",
    }


def parse(text):
    """Parses the results file of tools/nested-kvm.sh into {n: Result}."""
    results, cur, field = {}, None, None
    for line in text.replace("\r", "").split("\n"):
        m = re.match(r"@@ CMD (\d+) BEGIN", line)
        if m:
            cur = {"stdout": "", "stderr": ""}
            results[int(m.group(1))] = cur
            field = None
            continue
        m = re.match(r"@@ (STDOUT|STDERR) (\d+)$", line)
        if m:
            field = m.group(1).lower()
            continue
        m = re.match(r"@@ CMD (\d+) rc=(\d+) secs=([\d.]+)", line)
        if m:
            cur["rc"], cur["secs"] = int(m.group(2)), float(m.group(3))
            field = None
            continue
        if line.startswith("@@"):
            field = None
        elif field and cur is not None:
            cur[field] += line
    out = {}
    for n, r in results.items():
        if "rc" not in r:
            continue
        dec = [base64.b64decode(r[k]).decode("utf-8", "surrogateescape")
               for k in ("stdout", "stderr")]
        out[n] = Result(r["rc"], dec[0], dec[1], r["secs"])
    return out


@pytest.fixture(scope="module")
def nested(tmp_path_factory, wisp, kernel, progs):
    if qemu_path() is None:
        pytest.skip("nested kvm: qemu-system-x86_64 not found on PATH")
    if not os.access(BUSYBOX, os.X_OK):
        pytest.fail("%s missing: run `make deps` (package busybox-static)" % BUSYBOX)
    progs("hello")  # builds the test programs
    tmp = tmp_path_factory.mktemp("nested")
    data = tmp / "data"
    data.mkdir()
    (data / "greeting.txt").write_text("line one\nline two\n")
    (data / "stdin.txt").write_text(STDIN)
    cmds = commands(data)
    (tmp / "cmds").write_text("".join(c + "\n" for c in cmds.values()))
    results = tmp / "results.txt"
    argv = [str(SCRIPT), "-o", str(results), "-t", str(CMD_TIMEOUT), "-T", str(BOOT_TIMEOUT),
            "-f", str(data)]
    # The test programs the commands use, and the dynamic ones.
    used = re.findall(re.escape(str(PROGS)) + r"/[\w.+-]+", "\n".join(cmds.values()))
    for f in sorted(set(used)) + ["/bin/true", "/bin/ls"]:
        argv += ["-f", f]
    argv.append(str(tmp / "cmds"))
    env = dict(os.environ, WISP_BUILD=str(BUILD))
    try:
        res = subprocess.run(argv, capture_output=True, text=True, env=env,
                             timeout=BOOT_TIMEOUT + 120)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout
        pytest.fail("tools/nested-kvm.sh timed out; console (tail):\n%s" % (out or "")[-4000:])
    if res.returncode == 77:
        reason = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "?"
        pytest.skip("nested kvm: %s" % reason.replace("nested-kvm: unavailable: ", ""))
    console = "console (tail):\n%s\nstderr (tail):\n%s" % (res.stdout[-4000:], res.stderr[-4000:])
    parsed = parse(results.read_text(errors="replace")) if results.exists() else {}
    if res.returncode != 0 and not parsed:
        pytest.fail("tools/nested-kvm.sh failed (status %d)\n%s" % (res.returncode, console))
    # A guest that hangs or dies keeps the results of the commands before;
    # the tests of the others fail with the script's message and the console.
    problem = None
    if res.returncode != 0:
        problem = "tools/nested-kvm.sh failed (status %d)\n%s" % (res.returncode, console)
    return Nested({name: parsed[i] for i, name in enumerate(cmds, 1) if i in parsed}, problem)


class Nested:
    def __init__(self, results, problem):
        self.results, self.problem = results, problem

    def __getitem__(self, name):
        if name not in self.results:
            pytest.fail("no result for %r: %s" % (name, self.problem or "not run"))
        return self.results[name]


def check(r, rc=0):
    assert r.rc == rc, r
    return r


def test_echo(nested):
    assert check(nested["echo"]).stdout == "hello\n"


def test_exit_status(nested):
    check(nested["exit7"], rc=7)


def test_stdout_stderr_separated(nested):
    r = check(nested["streams"])
    assert (r.stdout, r.stderr) == ("out\n", "err\n")


def test_big_output(nested):
    r = check(nested["seq"])
    assert r.stdout.split()[0] == hashlib.md5(SEQ.encode()).hexdigest(), r


@pytest.mark.parametrize("name", ["hello", "hello_pie"])
def test_hello(nested, name):
    r = check(nested[name])
    lines = r.stdout.splitlines()
    assert lines[0] == "hello from wisp", r
    assert r.stderr == "hello on stderr\n"
    if name == "hello":
        assert lines[1] == "argc=3"
        assert lines[3:5] == ["argv[1]=" + b"a".hex(), "argv[2]=" + b"b c".hex()]


def test_segv(nested):
    r = check(nested["segv"], rc=139)
    assert r.stdout == "before fault\n"
    assert "killed by SIGSEGV (fault address 0x10)" in r.stderr


def test_abort(nested):
    r = check(nested["abort"], rc=134)
    assert "killed by SIGABRT" in r.stderr


def test_stdin(nested):
    assert check(nested["stdin"]).stdout == "abc\ndef\n"


def test_stdin_big(nested):
    r = check(nested["stdin_big"])
    assert r.stdout.split()[0] == hashlib.md5(STDIN.encode()).hexdigest(), r


def test_stdin_wait_lets_others_run(nested):
    r = check(nested["stdin_wait"])
    assert r.stdout == "slept\n", r
    assert r.secs < 15, r  # about 1 s; 30 s if the read blocked the VM


def test_stdin_eof(nested):
    r = check(nested["stdin_eof"])
    assert (r.stdout, r.stderr) == ("", "cat: 0 bytes\n")


def test_closed_stdout_pipe(nested):
    # wisp ignores SIGPIPE: the guest's write fails with EPIPE and it exits.
    r = nested["epipe"]
    assert r.stdout == "y\ny\n", r
    assert r.rc == 1 and "Broken pipe" in r.stderr, r


def test_dynamic_true(nested):
    check(nested["true"])


def test_dynamic_ls(nested):
    r = check(nested["ls"])
    assert {"bin", "dev", "etc", "proc", "tmp", "usr"} <= set(r.stdout.split()), r


def test_add(nested):
    assert check(nested["add"]).stdout == "line one\nline two\n"


def test_env_and_mem(nested):
    assert check(nested["env_mem"]).stdout == "hi|/\n"


def test_timing(nested):
    assert "timing: ok" in check(nested["timing"]).stdout


def test_random_differs_between_vms(nested):
    lines = [l for l in check(nested["random"]).stdout.splitlines() if l.startswith("random=")]
    assert len(lines) == 2 and lines[0] != lines[1], lines


def test_trace_syscalls(nested):
    r = check(nested["trace"])
    assert "exit_group(0)" in r.stderr, r


def test_preemption(nested):
    assert check(nested["preempt"]).stdout == "status 143\n"


@pytest.mark.parametrize("name", ["signals", "signals_pie"])
def test_signals(nested, name):
    r = check(nested[name])
    lines = r.stdout.splitlines()
    assert lines and all(l.startswith("ok ") for l in lines), r
    assert {"ok alarm", "ok sigsuspend", "ok restart", "ok sleep"} <= set(lines), r


@pytest.mark.parametrize("name", NESTED_PLATFORM_CHECKS)
def test_platform(nested, name):
    r = check(nested["platform_" + name])
    assert r.stdout.endswith("ok %s\n" % name), r
    if name == "ticks":  # the kernel in ring 0 takes injected interrupts
        assert " nmi=0 " in r.stdout, r


def test_long_kernel_copy_is_not_stuck(nested):
    # vmm/watchdog.c ends a VM whose vCPU is seen at one ring-0 rip on three
    # kicks a second apart; `rep movsb` in memcpy is one rip for a whole copy.
    r = check(nested["kcopy"])
    assert r.stdout.startswith("kcopy_writes=") and r.stdout.endswith("ok kcopy\n"), r
