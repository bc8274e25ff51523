"""The compatibility suite's cases: real Debian programs with arguments,
optional stdin and files, run natively and in wisp; stdout and the exit
status must match. tests/compat/run.py runs them and writes docs/compat.md.

Each case is a dict:
  id       unique "group/name"; the group is the program column in the report
  argv     the command; the same argv runs on the host and in the guest
  stdin    optional str/bytes fed to stdin (the qemu backend cannot forward
           stdin, so there such a case is reported as "skip")
  add      extra host paths for `wisp run --add`, each "HOST" (same path in
           the guest) or "HOST:GUEST"; DATA (below) is always added
  env      extra environment, the same natively (-e in the guest)
  norm     normalisers applied to both outputs before comparing: names from
           NORMALISERS in run.py ("sort", "drop_total", "strip") or
           (regex, replacement) pairs
  stderr   True: compare stderr too (default: stdout and exit status only)
  mem      guest memory (--mem), default 512M
  timeout  seconds (default: the runner's --timeout, 30)
  fast     True: also a pytest test in tests/test_compat.py (must pass)

"{scratch}" in an argument stands for the case's own scratch directory,
/tmp/wisp-compat-scratch/ID: the runner empties it before every run and adds
it (empty) to the guest, so a case that writes files (a database, a tar
extraction) starts from the same state natively and in wisp.

Inputs are deterministic: DATA, a fixture tree that run.py creates under
/tmp/wisp-compat-data (fixed contents, modes and mtimes), is added to every
guest at the same absolute path, and both runs start in / with the same
environment (PATH=/usr/local/bin:/usr/bin:/bin, HOME=/, plus env).
"""

import os
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BUILD = Path(os.environ.get("WISP_BUILD", ROOT / "build")).resolve()
PROGS = BUILD / "compat" / "progs"
DATA = "/tmp/wisp-compat-data"
T = DATA + "/tree"

BB = "/bin/busybox"
PY = "/usr/bin/python3"
SQLITE = "/usr/bin/sqlite3"
PERL = "/usr/bin/perl"
AWK = "/usr/bin/mawk"

# C programs in tests/compat/progs, one per syscall family, and how each is
# built (run.py builds them into build/compat/progs/NAME-VARIANT).
C_FAMILIES = ["fs", "mm", "time", "signal", "process", "thread", "poll", "proc"]
C_VARIANTS = {
    "glibc": ["gcc", "-O2", "-pthread"],                  # dynamic, as Debian builds
    "glibc-static": ["gcc", "-O2", "-pthread", "-static"],
    "musl": ["musl-gcc", "-O2", "-static"],
}

CASES = []


def case(id, argv, **kw):
    assert not any(c["id"] == id for c in CASES), id
    CASES.append(dict(id=id, argv=list(argv), **kw))


def bb(name, *args, **kw):
    case("busybox/" + name, [BB, *args], **kw)


def sh(name, script, **kw):
    case("busybox/sh-" + name, [BB, "sh", "-c", script], **kw)


def py(name, script, **kw):
    case("python3/" + name, [PY, "-c", textwrap.dedent(script).strip() + "\n"], **kw)


# ---- busybox applets (each a single exec: no fork or pipe needed) ----
bb("echo", "echo", "hello", "from", "wisp", fast=True)
bb("cat", "cat", T + "/a.txt", T + "/b/c.txt", fast=True)
bb("ls", "ls", "-1", T, fast=True)
bb("ls-R", "ls", "-1R", T)
bb("ls-l", "ls", "-ln", "--full-time", T + "/b", norm=["drop_total"])
bb("wc", "wc", "-l", "-w", "-c", DATA + "/words.txt", fast=True)
bb("sort", "sort", DATA + "/words.txt", fast=True)
bb("sort-nru", "sort", "-n", "-r", "-u", DATA + "/numbers.txt")
bb("uniq-c", "uniq", "-c", DATA + "/sorted-words.txt")
bb("head", "head", "-n", "3", DATA + "/words.txt")
bb("tail", "tail", "-n", "2", DATA + "/words.txt")
bb("cut", "cut", "-d,", "-f2,3", DATA + "/data.csv", fast=True)
bb("sed", "sed", "-e", "s/an/AN/g", "-e", "/^c/d", DATA + "/words.txt", fast=True)
bb("awk", "awk", "-F,", "NR > 1 { s += $3; n++ } END { printf \"%d rows, sum %d\\n\", n, s }",
   DATA + "/data.csv", fast=True)
bb("grep", "grep", "-n", "-i", "AN", DATA + "/words.txt")
bb("grep-c-v", "grep", "-c", "-v", "a", DATA + "/words.txt")
bb("sha256sum", "sha256sum", DATA + "/blob.bin", T + "/a.txt", fast=True)
bb("md5sum", "md5sum", DATA + "/blob.bin")
bb("seq", "seq", "-s", " ", "1", "3", "30")
bb("expr", "expr", "6", "*", "7", fast=True)
bb("printf", "printf", "%05d|%-4s|%x\\n", "42", "ab", "255")
bb("basename", "basename", T + "/b/c.txt", ".txt")
bb("date", "date", "-u", "-d", "@86400", "+%Y-%m-%d %H:%M:%S %A")
bb("od", "od", "-A", "x", "-t", "x1z", T + "/a.txt")
bb("hexdump", "hexdump", "-C", DATA + "/numbers.txt")
bb("base64", "base64", T + "/b/c.txt")
bb("tar-t", "tar", "-tvf", DATA + "/fixture.tar")
bb("tar-xO", "tar", "-xOf", DATA + "/fixture.tar", "tree/b/c.txt")
bb("stat", "stat", "-c", "%n %s %a %F", T + "/a.txt", T + "/b")
bb("cmp", "cmp", DATA + "/words.txt", DATA + "/sorted-words.txt")
bb("diff", "diff", DATA + "/words.txt", DATA + "/sorted-words.txt",
   norm=[(r"^(---|\+\+\+) (\S+).*$", r"\1 \2")])
bb("find", "find", T, "-type", "f", "-name", "*.txt", norm=["sort"])
bb("env-i", "env", "-i", "A=1", "B=two", "env")
bb("false", "false")
bb("test", "test", "-d", T + "/b")

# ---- busybox sh: pipelines, subshells, command substitution, jobs ----
sh("builtins", 'x=5; y=$((x * 7)); echo "$x $y ${#HOME}"; set -- a b c; echo $#; shift; echo "$@"',
   fast=True)
sh("exit-status", "exit 7")
sh("pipeline", "seq 1 100 | awk '{ s += $1 } END { print s }'")
sh("pipeline-long", "cat %s/words.txt | sort | uniq -c | sort -rn -k1,1 -k2 | head -n 5" % DATA)
sh("subshell", "(echo a; echo b; echo c) | wc -l; (cd /tmp && pwd); pwd")
sh("cmd-subst", 'x=$(echo hello | tr a-z A-Z); y=$(echo $(echo nested)); echo "$x $y"')
sh("for-loop", "for i in 3 1 2; do echo item-$i; done | sort -r")
sh("while-read", 'while read w; do echo "<$w>"; done < %s/numbers.txt' % DATA)
sh("function", 'f() { echo "f($1)"; return 3; }; f one; f two; echo "rc=$?"')
sh("background", "sleep 0.1 & p=$!; echo started; wait $p; echo waited rc=$?")
sh("heredoc", "cat <<EOF\nline one\n  indented $((1+1))\nEOF")
sh("redirects", "cd {scratch}; echo data > f; echo more >> f; cat f; wc -l < f; "
   "rm f; ls f 2>&1 || echo gone")
sh("and-or", "false || echo recovered; true && echo chained; ! false && echo negated")
sh("nested-sh", 'sh -c "exit 3"; echo "inner rc=$?"; sh -c \'echo $0 $1\' zero one')
sh("trap", "trap 'echo trapped' EXIT; echo body")
sh("sigpipe", "yes | head -n 1000 | wc -l")
sh("xargs", "echo a b c | xargs -n 1 echo item")
sh("gzip-roundtrip", "gzip -c %s/blob.bin | gunzip -c | sha256sum" % DATA)
sh("tee", "echo teed | tee {scratch}/t1 | cat; cat {scratch}/t1")
sh("kill-self", "kill -0 $$ && echo alive; (kill -TERM $$) ; echo after")
sh("stdin", "while read l; do echo \"got $l\"; done", stdin="one\ntwo\n")

# ---- python3 (dynamic: ld.so, libpython's libs and the stdlib) ----
py("pass", "pass")
py("version", """
    import sys
    print(sys.version_info[:3], sys.platform, sys.byteorder, sys.maxsize)
""")
py("json", """
    import json
    doc = {"name": "wisp", "list": [1, 2.5, None, True], "nested": {"k": "v" * 3}}
    s = json.dumps(doc, sort_keys=True, indent=1)
    print(s)
    assert json.loads(s) == doc
    print(json.loads(open("%s/data.json").read())["items"][2])
""" % DATA)
py("hashlib", """
    import hashlib
    data = open("%s/blob.bin", "rb").read()
    for name in ("md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"):
        print(name, hashlib.new(name, data).hexdigest())
""" % DATA)
py("re", """
    import re
    text = open("%s/words.txt").read()
    print(sorted(set(re.findall(r"\\b\\w*an\\w*\\b", text))))
    print(re.sub(r"(\\w)(\\w*)", lambda m: m.group(1).upper() + m.group(2), "hello big world"))
    print(re.split(r"[,;]\\s*", "a, b;c ,d"))
""" % DATA)
py("threading", """
    import threading, queue
    results, lock = [], threading.Lock()
    q = queue.Queue()
    def work(n):
        s = sum(i * i for i in range(n * 1000))
        with lock:
            results.append((n, s))
        q.put(n)
    ts = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(sorted(results))
    print(sorted(q.get() for _ in range(8)))
    ev = threading.Event()
    threading.Timer(0.05, ev.set).start()
    print("event", ev.wait(10))
""")
py("subprocess", """
    import subprocess
    r = subprocess.run(["/bin/busybox", "echo", "from busybox"], capture_output=True, text=True)
    print(r.returncode, r.stdout, end="")
    r = subprocess.run(["/bin/busybox", "sh", "-c", "seq 1 10 | busybox awk '{s+=$1} END {print s}'"],
                       capture_output=True, text=True)
    print(r.returncode, r.stdout, end="")
    p = subprocess.Popen(["/bin/busybox", "tr", "a-z", "A-Z"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    print(p.communicate(b"piped through tr\\n")[0].decode(), end="")
    print(subprocess.call(["/bin/busybox", "false"]))
""", add=[BB])
py("tempfile", """
    import os, tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "f.txt")
        with open(p, "w") as f:
            f.write("x" * 1000)
        print(os.path.getsize(p), sorted(os.listdir(d)))
        with tempfile.NamedTemporaryFile(dir=d, delete=False) as f:
            f.write(b"named")
        print(open(f.name, "rb").read())
        os.rename(f.name, p)
        print(len(os.listdir(d)))
    print(os.path.exists(d))
""")
py("os-walk", """
    import os
    for root, dirs, files in os.walk("%s"):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            st = os.stat(p)
            print(os.path.relpath(p, "%s"), st.st_size, oct(st.st_mode & 0o777))
""" % (T, T))
py("signal", """
    import os, signal, time
    got = []
    signal.signal(signal.SIGUSR1, lambda s, f: got.append("usr1"))
    signal.signal(signal.SIGALRM, lambda s, f: got.append("alrm"))
    os.kill(os.getpid(), signal.SIGUSR1)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    t = time.monotonic()
    while "alrm" not in got and time.monotonic() - t < 10:
        time.sleep(0.01)
    print(got)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.kill(os.getpid(), signal.SIGTERM)
    print("survived SIGTERM")
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    os.kill(os.getpid(), signal.SIGUSR2)
    print(signal.sigpending())
""")
py("stdlib-mix", """
    import base64, collections, datetime, decimal, fractions, itertools, math, struct, zlib
    print(collections.Counter("mississippi").most_common(3))
    print(list(itertools.permutations("abc", 2))[:4])
    print(math.factorial(30), round(math.pi, 10))
    print(decimal.Decimal(1) / decimal.Decimal(7), fractions.Fraction(3, 12))
    print(datetime.datetime(2024, 2, 29, 12, 0) + datetime.timedelta(days=1))
    print(struct.pack("<IhQ", 1, -2, 3).hex(), base64.b64encode(b"wisp"))
    print(zlib.crc32(zlib.decompress(zlib.compress(b"x" * 10000))))
""")
py("sqlite3-module", """
    import sqlite3
    db = sqlite3.connect(":memory:")
    db.execute("create table t(k text, v int)")
    db.executemany("insert into t values(?, ?)", [("k%d" % i, i * i) for i in range(100)])
    print(db.execute("select count(*), sum(v), max(k) from t").fetchone())
""")
py("multiprocessing", """
    import multiprocessing as mp
    def sq(x):
        return x * x
    if __name__ == "__main__":
        with mp.get_context("fork").Pool(2) as p:
            print(p.map(sq, range(10)))
""")
py("select-pipe", """
    import os, select
    r, w = os.pipe()
    print(select.select([r], [], [], 0)[0] == [])
    os.write(w, b"ping")
    print(select.select([r], [], [], 1)[0] == [r], os.read(r, 10))
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    os.write(w, b"x")
    print([(fd == r, ev) for fd, ev in ep.poll(1)])
""")
py("stdin", "import sys; print(sorted(sys.stdin.read().split()))", stdin="pear apple fig\n")

# ---- sqlite3 ----
case("sqlite3/memory", [SQLITE, ":memory:",
     "create table t(a int, b text); insert into t values(1,'one'),(2,'two'),(3,'three');"
     "select a, upper(b) from t order by a desc; select count(*), sum(a) from t;"])
case("sqlite3/file-db", [SQLITE, "{scratch}/file.db",
     "create table n(i int primary key, sq int);"
     "with recursive c(x) as (select 1 union all select x+1 from c where x < 5000) "
     "insert into n select x, x*x from c;"
     "create index n_sq on n(sq); select count(*), sum(sq) % 1000007, max(i) from n;"
     "pragma integrity_check;"])
case("sqlite3/json", [SQLITE, "-json", ":memory:",
     "select 1 as a, 'x' as b, json_object('k', json_array(1,2,3)) as j;"])
case("sqlite3/csv-import", [SQLITE, "{scratch}/csv.db", ".mode csv",
     ".import %s/data.csv people" % DATA, ".mode list",
     "select name, age from people order by cast(age as int) desc limit 3;"])
case("sqlite3/wal", [SQLITE, "{scratch}/wal.db", "pragma journal_mode=wal;",
     "create table t(x); insert into t values(1),(2); select sum(x) from t;"])
case("sqlite3/stdin", [SQLITE, ":memory:"], stdin="select 6*7;\nselect 'done';\n")

# ---- coreutils, findutils, grep, sed, tar (dynamic glibc binaries) ----
case("coreutils/ls", ["/usr/bin/ls", "-1", T])
case("coreutils/ls-l", ["/usr/bin/ls", "-ln", "--time-style=+%Y-%m-%d %H:%M", T + "/b"],
     norm=["drop_total"])
case("coreutils/ls-R", ["/usr/bin/ls", "-R", T])
case("coreutils/sort", ["/usr/bin/sort", DATA + "/words.txt"])
case("coreutils/sort-k", ["/usr/bin/sort", "-t,", "-k3,3n", "-k1,1", DATA + "/data.csv"])
case("coreutils/sha256sum", ["/usr/bin/sha256sum", DATA + "/blob.bin", T + "/a.txt"])
case("coreutils/md5sum", ["/usr/bin/md5sum", DATA + "/blob.bin"])
case("coreutils/cat", ["/usr/bin/cat", "-n", T + "/a.txt"])
case("coreutils/wc", ["/usr/bin/wc", DATA + "/words.txt", DATA + "/numbers.txt"])
case("coreutils/head-c", ["/usr/bin/head", "-c", "100", DATA + "/words.txt"])
case("coreutils/seq", ["/usr/bin/seq", "-w", "1", "7", "50"])
case("coreutils/date", ["/usr/bin/date", "-u", "-d", "@1000000000", "+%F %T %Z"])
case("coreutils/stat", ["/usr/bin/stat", "-c", "%n %s %a %F", T + "/a.txt", T + "/b"])
case("coreutils/env", ["/usr/bin/env", "-i", "X=1", "/usr/bin/env"])
case("coreutils/tr-stdin", ["/usr/bin/tr", "a-z", "A-Z"], stdin="shout this\n")
case("coreutils/tar-t", ["/usr/bin/tar", "-tvf", DATA + "/fixture.tar", "--numeric-owner"])
case("coreutils/tar-xO", ["/usr/bin/tar", "-xOf", DATA + "/fixture.tar", "tree/a.txt"])
case("coreutils/tar-c", ["/usr/bin/tar", "-cf", "-", "--sort=name", "--mtime=@0", "--owner=0",
                         "--group=0", "--numeric-owner", "-C", T, "."])
case("coreutils/tar-x", ["/usr/bin/tar", "-xvf", DATA + "/fixture.tar", "-C", "{scratch}"])
case("coreutils/find", ["/usr/bin/find", T, "-name", "*.txt"], norm=["sort"])
case("coreutils/grep", ["/usr/bin/grep", "-n", "-E", "^(b|c)", DATA + "/words.txt"])
case("coreutils/sed", ["/usr/bin/sed", "-n", "s/a/@/gp", DATA + "/words.txt"])

# ---- awk (mawk) and perl ----
case("awk/sum", [AWK, "-F,", "NR > 1 { s[$2] += $3 } END { for (k in s) print k, s[k] }",
                 DATA + "/data.csv"], norm=["sort"])
case("awk/printf", [AWK, "BEGIN { for (i = 1; i <= 5; i++) printf \"%3d %5.2f %s\\n\", i, "
                    "sqrt(i), substr(\"abcdef\", i, 2) }"])
case("awk/wordfreq", [AWK, "{ c[$1]++ } END { for (w in c) print c[w], w }",
                      DATA + "/words.txt"], norm=["sort"])
case("perl/hello", [PERL, "-e", 'my %h = (b => 2, a => 1, c => 3); '
                    'print join(",", map { "$_=$h{$_}" } sort keys %h), "\\n"; '
                    'printf "%.3f %s\\n", atan2(1, 1) * 4, scalar reverse "wisp";'])
case("perl/ne", [PERL, "-ne", 'print "$.: $_" if /an/', DATA + "/words.txt"])
case("perl/modules", [PERL, "-MList::Util=sum,max", "-MPOSIX=strftime", "-e",
                      'print sum(1..100), " ", max(3, 9, 2), " ", '
                      'strftime("%Y-%m-%d", gmtime(86400 * 365)), "\\n"'])
case("perl/fork-pipe", [PERL, "-e", 'pipe(my $r, my $w) or die; my $pid = fork(); '
                        'if (!$pid) { close $r; print $w "from child\\n"; exit 3 } '
                        'close $w; print scalar <$r>; waitpid($pid, 0); print $? >> 8, "\\n";'])


# ---- C programs per syscall family ----
for fam in C_FAMILIES:
    for var in C_VARIANTS:
        case("c-%s/%s" % (var, fam), [str(PROGS / ("%s-%s" % (fam, var))), "arg"],
             cprog=(fam, var))
