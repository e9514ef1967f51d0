"""The names the C model and the Python side share, read from the C headers.

pagecore/kernel/include/pagecore/registry.def lists events, windows, bug
kinds and scenario operations once, as X-macro lines; ops.def lists the
kernel functions a variant must provide.  Reading those same lines here
means a name added to the C side is known to Python without a second list
that could drift.  Every reader takes an optional include dir (tests point
it at a fixture) and caches what it read.
"""

import functools
import os
import re
from collections import namedtuple

from pagecore._errors import PagecoreError

INCLUDE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel", "include")

Window = namedtuple("Window", "name where what")
BugKind = namedtuple("BugKind", "name what")

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(field):
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), field[1:-1])
    return field


def _split_fields(args):
    """Split a macro's arguments at the commas outside parentheses and strings
    (ops.def's parameter lists hold commas of their own)."""
    out, cur, depth, quote, i = [], [], 0, False, 0
    while i < len(args):
        c = args[i]
        if quote:
            if c == "\\":
                cur.append(args[i:i + 2])
                i += 2
                continue
            quote = c != '"'
        elif c == '"':
            quote = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(_unquote("".join(cur).strip()))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    out.append(_unquote("".join(cur).strip()))
    return tuple(out)


def _def_path(name, include_dir):
    return os.path.join(include_dir or INCLUDE_DIR, "pagecore", name)


@functools.lru_cache(maxsize=None)
def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise PagecoreError("%s: cannot read: %s" % (path, getattr(e, "strerror", None) or e)) \
            from None


def _depth(call):
    # parentheses inside the descriptions' strings do not count
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', call)
    return code.count("(") - code.count(")")


def _calls(text, prefix):
    """(macro, fields) of every line that starts with a call of a macro named
    @prefix..., with an entry that continues on the following lines joined.

    Only lines that start at column 0 count: the comments above each block
    show the same macros as documentation, indented."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"(%s\w*)\(" % re.escape(prefix), line)
        if not m:
            continue
        call, j = line, i
        while _depth(call) > 0 and j + 1 < len(lines):
            j += 1
            call += " " + lines[j].strip()
        yield m.group(1), _split_fields(call[m.end():call.rfind(")")])


@functools.lru_cache(maxsize=None)
def entries(macro, include_dir=None, file="registry.def"):
    """The argument tuples of every `MACRO(...)` entry of @file, in order."""
    text = _read(_def_path(file, include_dir))
    return tuple(f for name, f in _calls(text, macro) if name == macro)


def events(include_dir=None):
    """Names of the events the instrumented build counts (PC_EVENT), in enum order."""
    return tuple(e[1] for e in entries("PC_EVENT", include_dir))


def windows(include_dir=None):
    """The named windows (PC_WINDOW) as Window(name, where, what); where is
    "file" (a variant file places it), "library" or "primitive"."""
    return tuple(Window(*e[1:4]) for e in entries("PC_WINDOW", include_dir))


def bug_kinds(include_dir=None):
    """What the model records instead of crashing (PC_BUGKIND), as BugKind(name, what)."""
    return tuple(BugKind(*e[1:3]) for e in entries("PC_BUGKIND", include_dir))


def scenario_ops(include_dir=None):
    """Names of the operations a scenario task runs (PC_SCENARIO_OP)."""
    return tuple(e[1] for e in entries("PC_SCENARIO_OP", include_dir))


def sched_ops(include_dir=None):
    """What a task can be about to do at a scheduling point of the explorer
    (PC_XOP), in enum order."""
    return tuple(e[1] for e in entries("PC_XOP", include_dir))


@functools.lru_cache(maxsize=None)
def ops(include_dir=None):
    """Names of the kernel functions every variant provides (ops.def), in table order.

    PC_OP and PC_OPX carry the return type first; PC_OPV and PC_OPVX do not."""
    text = _read(_def_path("ops.def", include_dir))
    return tuple(f[0] if macro.startswith("PC_OPV") else f[1]
                 for macro, f in _calls(text, "PC_OP")
                 if macro in ("PC_OP", "PC_OPX", "PC_OPV", "PC_OPVX"))
