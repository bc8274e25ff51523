#!/usr/bin/python3
"""gen-syscalls-doc.py: writes docs/syscalls.md, the table of every x86-64
Linux system call and its status in the wisp kernel, from the sources.

Inputs
  kernel/syscalls/*.c   every `SYSCALL(name, handler, "args")` line registers
                        a system call; two comment markers annotate them:
                          /* syscall-partial: NAME: what is missing */
                          /* syscall-enosys: NAME: why it is left out */
                        NAME may be a comma-separated list (`a, b: note`).
  /usr/include/x86_64-linux-gnu/asm/unistd_64.h
                        the numbers and names of all x86-64 system calls.

Status of each system call
  implemented   registered with SYSCALL(), no marker
  partial       registered, with a syscall-partial marker (its note is shown)
  ENOSYS (on purpose: REASON)
                a syscall-enosys marker, registered (a stub returning
                -ENOSYS) or not
  ENOSYS (stub) registered, but the handler's whole body is
                `return -ENOSYS;` and there is no syscall-enosys marker
  ENOSYS        not registered: the kernel answers -ENOSYS and prints
                "wisp-kernel: unimplemented syscall NAME (N)" once

Usage
  tools/gen-syscalls-doc.py                  write docs/syscalls.md
  tools/gen-syscalls-doc.py -o FILE          write FILE instead ("-": stdout)
  tools/gen-syscalls-doc.py --check          exit 1 (with a diff) if
                                             docs/syscalls.md is stale
A marker that names an unknown system call, or a syscall-partial marker for
one that is not registered, is an error: the table cannot silently drift.
The output has no date or host details, so it only changes with the sources.
"""

import argparse
import difflib
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC_DIR = ROOT / "kernel" / "syscalls"
UNISTD = Path(os.environ.get("WISP_UNISTD", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"))
OUT = ROOT / "docs" / "syscalls.md"

SYSCALL_RE = re.compile(r'^\s*SYSCALL\(\s*(\w+)\s*,\s*(\w+)\s*,\s*"([^"]*)"\s*\)', re.M)
MARKER_RE = re.compile(
    r"syscall-(partial|enosys):\s*([\w\s,]+?)\s*:\s*(.*?)\s*(?:\*/|$)", re.M | re.S)
NR_RE = re.compile(r"^#define\s+__NR_(\w+)\s+(\d+)\s*$", re.M)


class DocError(Exception):
    pass


def read_unistd(path=UNISTD):
    try:
        text = path.read_text()
    except OSError as e:
        raise DocError("%s: %s" % (path, e.strerror))
    table = {name: int(nr) for name, nr in NR_RE.findall(text)}
    if not table:
        raise DocError("%s: no __NR_ definitions found" % path)
    return table


def strip_comments(code):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", code, flags=re.S)


def handler_is_enosys_stub(text, handler):
    """True if `handler` is defined in `text` with a body that only returns
    -ENOSYS."""
    m = re.search(r"\blong\s+%s\s*\([^)]*\)\s*\{(.*?)\n\}" % re.escape(handler), text, re.S)
    if not m:
        return False
    body = " ".join(strip_comments(m.group(1)).split())
    return body == "return -ENOSYS;"


def collect(src_dir=SRC_DIR):
    """Returns (registered, markers):
    registered: name -> dict(file, handler, line, stub)
    markers:    name -> dict(kind, note, file, line)"""
    registered = {}
    markers = {}
    files = sorted(src_dir.glob("*.c"))
    if not files:
        raise DocError("no kernel/syscalls/*.c files in %s" % src_dir)
    for f in files:
        text = f.read_text()
        rel = f.relative_to(ROOT).as_posix() if f.is_relative_to(ROOT) else str(f)
        for m in SYSCALL_RE.finditer(text):
            name, handler, _args = m.groups()
            line = text.count("\n", 0, m.start()) + 1
            if name in registered:
                raise DocError("%s:%d: %s registered twice (also %s:%d)"
                               % (rel, line, name, registered[name]["file"],
                                  registered[name]["line"]))
            registered[name] = dict(file=rel, handler=handler, line=line,
                                    stub=handler_is_enosys_stub(text, handler))
        for m in MARKER_RE.finditer(text):
            kind, names, note = m.groups()
            note = " ".join(note.split())
            line = text.count("\n", 0, m.start()) + 1
            for name in (n.strip() for n in names.split(",")):
                if not name:
                    continue
                if name in markers:
                    raise DocError("%s:%d: second syscall-%s marker for %s (first at %s:%d)"
                                   % (rel, line, kind, name, markers[name]["file"],
                                      markers[name]["line"]))
                markers[name] = dict(kind=kind, note=note, file=rel, line=line)
    return registered, markers


def build_rows(nrs, registered, markers):
    for name, info in registered.items():
        if name not in nrs:
            raise DocError("%s:%d: SYSCALL(%s, ...): no __NR_%s in %s"
                           % (info["file"], info["line"], name, name, UNISTD))
    for name, mk in markers.items():
        if name not in nrs:
            raise DocError("%s:%d: syscall-%s marker names unknown syscall %r"
                           % (mk["file"], mk["line"], mk["kind"], name))
        if mk["kind"] == "partial" and name not in registered:
            raise DocError("%s:%d: syscall-partial marker for %s, which is not registered "
                           "with SYSCALL() (use syscall-enosys, or register it)"
                           % (mk["file"], mk["line"], name))
    by_handler = {}
    for name, info in registered.items():
        by_handler.setdefault(info["handler"], []).append(name)

    rows = []
    for name, nr in sorted(nrs.items(), key=lambda kv: kv[1]):
        info = registered.get(name)
        mk = markers.get(name)
        notes = []
        if mk and mk["kind"] == "enosys":
            status = "ENOSYS (on purpose: %s)" % mk["note"] if mk["note"] else "ENOSYS (on purpose)"
            key = "enosys"
        elif info and info["stub"]:
            status, key = "ENOSYS (stub)", "stub"
            notes.append("handler only returns -ENOSYS; no `syscall-enosys` marker gives a reason")
        elif info and mk and mk["kind"] == "partial":
            status, key = "partial", "partial"
            notes.append(mk["note"])
        elif info:
            status, key = "implemented", "implemented"
        else:
            status, key = "ENOSYS", "missing"
        if info:
            others = [n for n in by_handler[info["handler"]] if n != name]
            if others:
                notes.append("same handler as %s" % ", ".join("`%s`" % o for o in sorted(others)))
        where = "`%s`" % info["file"].replace("kernel/syscalls/", "") if info else ""
        rows.append(dict(nr=nr, name=name, status=status, key=key, file=where,
                         notes="; ".join(n for n in notes if n)))
    return rows


def render(rows):
    def count(key):
        return sum(1 for r in rows if r["key"] == key)

    out = []
    out.append("# System calls")
    out.append("")
    out.append("<!-- Generated by tools/gen-syscalls-doc.py (`make docs`); do not edit. "
               "tests/test_docs.py fails when this file is stale. -->")
    out.append("")
    out.append("Every x86-64 Linux system call (from `asm/unistd_64.h`) and what the wisp "
               "kernel does with it, generated from the `SYSCALL(name, handler, \"args\")` "
               "lines in `kernel/syscalls/*.c`.")
    out.append("")
    out.append("## Status values and the comment convention")
    out.append("")
    out.append("| Status | Meaning |")
    out.append("|---|---|")
    out.append("| implemented | registered with `SYSCALL()` |")
    out.append("| partial | registered, and some source file has a comment "
               "`/* syscall-partial: NAME: what is missing */`; the text after the second "
               "colon is the note |")
    out.append("| ENOSYS (on purpose: reason) | a comment `/* syscall-enosys: NAME: reason */`: "
               "the call is deliberately answered with -ENOSYS (a stub handler, or not "
               "registered at all) |")
    out.append("| ENOSYS (stub) | registered, but the handler's body is only `return -ENOSYS;` "
               "and no `syscall-enosys` comment says why |")
    out.append("| ENOSYS | not registered: the kernel returns -ENOSYS and prints "
               "`wisp-kernel: unimplemented syscall NAME (N)` once per number |")
    out.append("")
    out.append("The markers may sit anywhere in `kernel/syscalls/*.c` (next to the handler is "
               "best), one per comment; `NAME` may be a comma-separated list "
               "(`/* syscall-partial: getuid, geteuid: always 0 */`). A marker for an "
               "unknown name, a second marker for the same name, or `syscall-partial` for a "
               "call that is not registered makes the generator fail. Regenerate with "
               "`make docs`.")
    out.append("")
    out.append("## Summary")
    out.append("")
    out.append("| | count |")
    out.append("|---|---:|")
    out.append("| implemented | %d |" % count("implemented"))
    out.append("| partial | %d |" % count("partial"))
    out.append("| ENOSYS on purpose | %d |" % count("enosys"))
    out.append("| ENOSYS stub (no reason given) | %d |" % count("stub"))
    out.append("| not implemented (ENOSYS) | %d |" % count("missing"))
    out.append("| **total** | **%d** |" % len(rows))
    out.append("")
    out.append("## Table")
    out.append("")
    out.append("| # | name | status | file | notes |")
    out.append("|---:|---|---|---|---|")
    for r in rows:
        out.append("| %d | `%s` | %s | %s | %s |" % (
            r["nr"], r["name"], r["status"].replace("|", "\\|"), r["file"],
            r["notes"].replace("|", "\\|")))
    return "\n".join(out) + "\n"


def generate():
    nrs = read_unistd()
    registered, markers = collect()
    return render(build_rows(nrs, registered, markers))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default=str(OUT), help="output file, '-' for stdout")
    ap.add_argument("--check", action="store_true",
                    help="compare with the output file instead of writing it")
    args = ap.parse_args()
    try:
        text = generate()
    except DocError as e:
        sys.exit("gen-syscalls-doc: %s" % e)
    if args.check:
        try:
            old = Path(args.output).read_text()
        except OSError:
            old = ""
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), text.splitlines(True), args.output, "generated"))
            sys.exit("gen-syscalls-doc: %s is stale: run `make docs`" % args.output)
        return
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
