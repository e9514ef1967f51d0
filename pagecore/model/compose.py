"""Variant files: read one, and compose it with the model's C library.

A variant file is kernel C with a comment header of `Name: value` tags.
Composition stacks the library (pagecore/kernel/**/*.c), the variant's base
chain and the file itself into one translation unit; a function defined in a
higher layer replaces the same-named one below it, so a variant writes only
the functions in which it differs.  Replaced definitions become empty lines
and every layer starts with a #line directive, so the compiler's messages
point at the line of the file a person wrote.
"""

import hashlib
import os
import re
from collections import namedtuple
from dataclasses import dataclass, field

from pagecore import registry
from pagecore._errors import PagecoreError

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY_DIR = os.path.join(PACKAGE_DIR, "kernel")
BUILTIN_DIR = os.path.join(PACKAGE_DIR, "variants")

KNOWN_TAGS = ("Variant", "Kind", "Base", "Source", "Summary", "Page-flags", "Scenarios",
              "Liveness", "Expect")
REQUIRED_TAGS = ("Variant", "Kind", "Source", "Summary")
KINDS = ("writeback", "dirty")
PAGE_FLAGS = ("5.10", "6.6")
DEFAULT_SCENARIOS = {"writeback": ("writeback-set-again", "page-reuse"),
                     "dirty": ("mmap-lost-write",)}
DEFAULT_LIVENESS = {"writeback": ("writeback-starvation",), "dirty": ()}

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_TAG = re.compile(r"([A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*):(?:[ \t]+(.*))?\Z")
_PAIR = re.compile(r"([a-z_][a-z0-9_]*)=(\d+(?:\.\d+)?)\Z")
# Comments and literals, left to right: a quote inside a comment is no string.
_LEXEMES = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"' + r"|'(?:[^'\\\n]|\\.)*'", re.S)
_STORAGE = re.compile(r"(?:\s*\b(?:static|inline|__always_inline)\b)+")
_ATTRIBUTE = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")


class VariantFileError(PagecoreError):
    """A variant file that cannot be used; the message is one line, PATH:LINE: what."""


@dataclass(frozen=True)
class VariantSource:
    name: str
    path: str
    kind: str
    base: "str | None"      # None: built directly on the library
    source: str
    summary: str
    page_flags: str
    scenarios: tuple
    liveness: tuple
    expect: dict            # {suite: {event: count}}
    notes: str
    text: str
    sha256: str             # of the file's bytes
    builtin: bool
    lines: dict = field(default_factory=dict, compare=False, repr=False)  # tag -> line


@dataclass(frozen=True)
class Composed:
    name: str
    text: str
    layers: list            # display paths, lowest first
    defined: dict           # function name -> display path of the layer that defines it
    sha256: str


def display_path(path):
    """How messages and #line name a file: package files relative to the
    package's parent (pagecore/...), anything else as it was given."""
    a = os.path.abspath(path)
    if a.startswith(PACKAGE_DIR + os.sep):
        return os.path.relpath(a, os.path.dirname(PACKAGE_DIR)).replace(os.sep, "/")
    return os.fspath(path)


def _fail(path, line, msg):
    raise VariantFileError("%s:%d: %s" % (display_path(path), line, msg))


def _read(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data, data.decode("utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "not UTF-8 (byte %d)" % e.start
        raise VariantFileError("%s: cannot read: %s" % (display_path(path), why or e)) from None


def _comment_lines(path, lines):
    """(line number, content) of each line of the first /* */ comment, the
    decoration (' * ') taken off; kernel files may put // lines above it."""
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("//")):
        i += 1
    if i == len(lines) or not lines[i].lstrip().startswith("/*"):
        _fail(path, 1, "no header comment: a variant file starts with /* Variant: ... */")
    # "/**" opens a kernel-doc style comment: its extra stars are decoration
    out, j, content = [], i, re.sub(r"^\*+(?!/)", "", lines[i].lstrip()[2:]).lstrip()
    while True:
        end = content.find("*/")
        if end >= 0:
            content = content[:end]
        if j > i:
            content = re.sub(r"^\s*\* ?", "", content)
        out.append((j + 1, content.rstrip()))
        if end >= 0:
            return out
        j += 1
        if j == len(lines):
            _fail(path, i + 1, "header comment never ends")
        content = lines[j]


def _header(path, lines):
    """The tags as [name, value, line] lists, and the notes."""
    tags, notes, in_notes = [], [], False
    for lineno, content in _comment_lines(path, lines):
        if in_notes:
            notes.append(content)
        elif not content.strip():
            in_notes = bool(tags)
        else:
            # an indented line, or one that is no tag, continues the tag above
            m = None if content[0] in " \t" else _TAG.match(content)
            if m is None and not tags:
                _fail(path, lineno, "expected a header tag (Name: value), got %r"
                      % content.strip())
            if m is None:
                tags[-1][1] = (tags[-1][1] + " " + content.strip()).strip()
            elif m.group(1) not in KNOWN_TAGS:
                _fail(path, lineno, "unknown tag '%s' (known: %s)"
                      % (m.group(1), ", ".join(KNOWN_TAGS)))
            else:
                tags.append([m.group(1), (m.group(2) or "").strip(), lineno])
    return tags, "\n".join(notes).strip("\n")


def _parse(path, builtin):
    """Everything the file itself says; what it inherits is filled in by _resolve."""
    data, text = _read(path)
    tags, notes = _header(path, text.split("\n"))
    raw = {"path": os.fspath(path), "text": text, "notes": notes, "builtin": builtin,
           "sha256": hashlib.sha256(data).hexdigest(), "expect": {}, "lines": {}}
    for tag, value, line in tags:
        key = tag.lower().replace("-", "_")
        if tag != "Expect" and key in raw["lines"]:
            _fail(path, line, "%s given twice (first on line %d)" % (tag, raw["lines"][key]))
        raw["lines"].setdefault(key, line)
        if tag != "Expect" and tag in REQUIRED_TAGS and not value:
            _fail(path, line, "%s: empty" % tag)
        if tag in ("Variant", "Base"):
            if not _NAME.match(value):
                _fail(path, line, "%s: bad name %r (lowercase letters, digits, '.', '_', '-')"
                      % (tag, value))
            if tag == "Variant" and value == "library":
                _fail(path, line, "Variant: 'library' names the base of every variant")
            raw[key] = None if tag == "Base" and value == "library" else value
        elif tag in ("Kind", "Page-flags"):
            allowed = KINDS if tag == "Kind" else PAGE_FLAGS
            if value not in allowed:
                _fail(path, line, "%s: %r is neither %s" % (tag, value, " nor ".join(allowed)))
            raw[key] = value
        elif tag in ("Scenarios", "Liveness"):
            raw[key] = tuple(s.strip() for s in value.split(",") if s.strip())
            for name in raw[key]:
                if not _NAME.match(name):
                    _fail(path, line, "%s: bad name %r" % (tag, name))
        elif tag == "Expect":
            _expect(path, line, value, raw["expect"])
        else:
            raw[key] = value
    for tag in REQUIRED_TAGS:
        if tag.lower() not in raw:
            _fail(path, 1, "no %s: tag in the header" % tag)
    return raw


def _expect(path, line, value, expect):
    words = value.split()
    if not words or "=" in words[0]:
        _fail(path, line, "Expect: a suite name comes first, then event=count pairs")
    suite, counts = words[0], {}
    if suite in expect:
        _fail(path, line, "Expect: suite %r given twice" % suite)
    known = registry.events()
    for w in words[1:]:
        m = _PAIR.match(w)
        if not m:
            _fail(path, line, "Expect: %r is not event=count" % w)
        if m.group(1) not in known:
            _fail(path, line, "Expect: unknown event %r (known: %s)"
                  % (m.group(1), ", ".join(known)))
        counts[m.group(1)] = float(m.group(2)) if "." in m.group(2) else int(m.group(2))
    expect[suite] = counts


def _resolve(raw, pool, seen=()):
    """A VariantSource from a parsed file, with what it inherits from its base
    (looked up by name in @pool, a dict of parsed files)."""
    base = raw.get("base")
    seen = seen + (raw["variant"],)
    if base is None:
        up = {"page_flags": "5.10", "scenarios": DEFAULT_SCENARIOS[raw["kind"]],
              "liveness": DEFAULT_LIVENESS[raw["kind"]]}
    else:
        if base not in pool or base in seen:
            why = " (a cycle: %s)" % " -> ".join(seen + (base,)) if base in seen else ""
            _fail(raw["path"], raw["lines"].get("base", 1),
                  "unknown base variant '%s'%s" % (base, why))
        up = vars(_resolve(pool[base], pool, seen))
    own = ("path", "kind", "source", "summary", "expect", "notes", "text", "sha256", "builtin",
           "lines")
    return VariantSource(name=raw["variant"], base=base, **{k: raw[k] for k in own},
                         **{k: raw.get(k, up[k]) for k in ("page_flags", "scenarios", "liveness")})


def _default_dirs():
    return [BUILTIN_DIR] + os.environ.get("PAGECORE_VARIANT_PATH", "").split(os.pathsep)


def _parse_dirs(dirs):
    pool = {}
    for d in dict.fromkeys(os.path.abspath(d) for d in dirs if d):
        if not os.path.isdir(d):
            if d == BUILTIN_DIR:
                continue        # a tree without built-in variants yet
            raise VariantFileError("%s: no such directory of variant files" % d)
        builtin = d == BUILTIN_DIR
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".c"):
                continue
            raw = _parse(os.path.join(d, fn), builtin)
            other = pool.get(raw["variant"])
            if other is not None:
                _fail(raw["path"], raw["lines"]["variant"], "variant '%s' is also defined by %s"
                      % (raw["variant"], display_path(other["path"])))
            pool[raw["variant"]] = raw
    return pool


def discover(dirs=None):
    """Every variant file of @dirs (default: the built-in ones, then each
    directory of $PAGECORE_VARIANT_PATH), by Variant name."""
    pool = _parse_dirs(_default_dirs() if dirs is None else list(dirs))
    return {name: _resolve(raw, pool) for name, raw in pool.items()}


def _pool_near(path):
    """Where a file given by path finds its base: the variants discover()
    knows, then the other files of its own directory."""
    pool = _parse_dirs(_default_dirs())
    d = os.path.dirname(os.path.abspath(path))
    for fn in sorted(os.listdir(d)) if os.path.isdir(d) else ():
        p = os.path.join(d, fn)
        if fn.endswith(".c") and os.path.abspath(p) != os.path.abspath(path):
            try:
                raw = _parse(p, False)
            except VariantFileError:
                continue        # a broken neighbour is not this file's problem
            pool.setdefault(raw["variant"], raw)
    return pool


def load(path, builtin=False, variants=None):
    """The variant file at @path.  A Base: is looked up in @variants (a dict
    from discover()), by default among the known variants and the file's
    neighbours."""
    raw = _parse(path, builtin)
    if raw.get("base") is None:
        return _resolve(raw, {})
    if variants is None:
        pool = _pool_near(path)
    else:
        # A resolved variant stands in for its parsed file: what it inherited
        # is already filled in, so resolving it again changes nothing.
        pool = {n: dict(vars(v), variant=n) for n, v in variants.items()}
    pool[raw["variant"]] = raw
    return _resolve(raw, pool)


# Lines are 0-based: the signature's first and last, and the closing '}'
# (the signature's own line for a one-line definition).
Definition = namedtuple("Definition", "name start sig_end end prototype")


def _code(text, literals=True):
    """@text with comments blanked and (unless not @literals) literals emptied."""
    return _LEXEMES.sub(lambda m: " " if m.group().startswith("/") else
                        ('""' if literals else m.group()), text)


def _signature_at(lines, i):
    """(sig_end, brace line or None for a one-line body) if a definition's
    signature starts at line i, else None."""
    depth, opened = 0, False
    for j in range(i, min(i + 16, len(lines))):
        line = lines[j]
        if j > i:
            if not line.strip() or line.startswith(("#", "}")):
                return None
            if line.rstrip() == "{":
                return (j - 1, j) if opened and depth == 0 else None
        code = _code(line)
        if "=" in code:
            return None         # an initialized variable, not a function
        depth += code.count("(") - code.count(")")
        opened = opened or "(" in code
        r = code.rstrip()
        if r.endswith(";") or depth < 0:
            return None
        if opened and depth == 0:
            if r.endswith("{"):
                return j, j
            if r.endswith("}") and "{" in r:
                return j, None
    return None


def _strip_storage(sig):
    """The signature lines with leading static/inline/__always_inline turned
    into spaces: every composed function is an ordinary external one, so the
    model's non-static prototypes in mm.h agree with a variant that wrote
    `static` as the kernel does.  Columns and line count stay."""
    out = list(sig)
    for k, line in enumerate(out):
        m = _STORAGE.match(line)
        out[k] = re.sub(r"\S", " ", m.group()) + line[m.end():] if m else line
        if out[k].strip():
            return out
    return out


_NOINLINE = "__attribute__((__noinline__)) "


def _is_static(sig_lines):
    """Whether a definition is written `static` (or `static inline`): a function the kernel
    keeps to its file, which the compiler may inline there."""
    m = _STORAGE.match(_code("\n".join(sig_lines)))
    return bool(m and re.search(r"\bstatic\b", m.group()))


# a body that is one call of another function, its value returned or none: `{ return f(...); }`
_WRAPPER = re.compile(r"\{\s*(?:return\s+)?([A-Za-z_]\w*)\s*\([^;{}]*\)\s*;\s*\}\Z")


def wrapped(text):
    """The function a wrapper's definition @text calls, its whole body being that one call
    (mm/folio-compat.c's); None for any other definition."""
    body = _code(text)
    i = body.find("{")
    m = _WRAPPER.match(body[i:].strip()) if i >= 0 else None
    return m.group(1) if m else None


def _is_wrapper(lines, d, k, external):
    """Whether the body opened on line @k is one call of another function and nothing else
    (mm/folio-compat.c's wrappers), a function that is never inlined (@external): the
    compiler ends the wrapper with a jump to it, no call and no return of its own.  A wrapper
    of a static function has that function's body inlined into it, and is a call like others."""
    body = _code("\n".join(lines[k:d.end + 1]))
    m = _WRAPPER.match(body[body.index("{"):].strip())
    return bool(m and m.group(1) in external and m.group(1) != d.name)


def _count_entry(lines, d, external=()):
    """A function written without `static` is one the kernel calls from other files, where no
    compiler inlines it: composed, it is never inlined (its prototype says noinline) and each
    call into it counts one `fcall` (PAGECORE_FENTRY(), pagecore/mm.h), after the `{` that
    opens its body, on the same line, so that line numbers stay.  A wrapper, whose body is one
    call of another function, counts a `tailcall` instead (PAGECORE_FENTRY_TAIL()): it is
    entered by a call like any other, but it leaves by a jump into the function it wraps,
    which returns for both."""
    for k in (d.sig_end, d.sig_end + 1):
        if k > d.end:
            return
        code = _code(lines[k]).rstrip()
        if code.endswith("{") and (k > d.sig_end or code.count("{") == 1):
            tail = _is_wrapper(lines, d, k, external)
            lines[k] = lines[k].rstrip() + (" PAGECORE_FENTRY_TAIL();" if tail
                                            else " PAGECORE_FENTRY();")
            return


def _prototype(sig_lines, one_line):
    text = _code("\n".join(sig_lines), literals=False)
    if one_line:
        # cut at the body's '{', the first one outside the parameter list
        depth = 0
        for k, c in enumerate(text):
            depth += (c == "(") - (c == ")")
            if c == "{" and depth == 0:
                text = text[:k]
                break
    text = " ".join(text.split()).rstrip("{ ")
    return text + ";"


def _definition_at(path, lines, i, prev_end):
    sig = _signature_at(lines, i)
    if sig is None:
        return None
    sig_end, brace = sig
    start = i
    # `static void\nname(...)`: the type on a line of its own above the name
    if i > 0 and prev_end != i - 1 and re.match(r"[A-Za-z_][\w \t*]*\Z", lines[i - 1]):
        start = i - 1
    sig_lines = lines[start:sig_end + 1]
    m = re.search(r"(\w+)\s*\(", _ATTRIBUTE.sub(" ", _code(" ".join(sig_lines))))
    if not m:
        return None
    end = sig_end
    if brace is not None:
        end = next((k for k in range(brace + 1, len(lines)) if lines[k].rstrip() == "}"), None)
        if end is None:
            _fail(path, i + 1, "%s: no closing '}' at column 0" % m.group(1))
    return Definition(m.group(1), start, sig_end, end,
                      _prototype(_strip_storage(sig_lines), brace is None))


def definitions(path, lines):
    """The top-level function definitions of a file in kernel style, in order."""
    out, i, in_comment = [], 0, False
    while i < len(lines):
        line = lines[i]
        d = None
        if not in_comment and "(" in line and re.match(r"[A-Za-z_]", line):
            d = _definition_at(path, lines, i, out[-1].end if out else -1)
        if d is not None:
            out.append(d)
            i = d.end + 1
            continue
        while line.startswith("#") and lines[i].endswith("\\") and i + 1 < len(lines):
            i += 1      # a macro continued over several lines
        in_comment = _comment_open(lines[i], in_comment)
        i += 1
    return out


def _comment_open(line, in_comment):
    """Whether a block comment is still open after @line."""
    if in_comment:
        if "*/" not in line:
            return True
        line = line[line.index("*/") + 2:]
    return "/*" in _code(line)


def library_files(library_dir=None):
    """Every *.c of the library, its include directory left out, sorted by path."""
    root = library_dir or LIBRARY_DIR
    out = []
    for d, subdirs, files in os.walk(root):
        if os.path.abspath(d) == os.path.abspath(root):
            subdirs[:] = [s for s in subdirs if s != "include"]
        out += [os.path.join(d, f) for f in files if f.endswith(".c")]
    return sorted(out, key=lambda p: os.path.relpath(p, root).replace(os.sep, "/"))


def _chain(vs, lookup):
    """The base chain of @vs, base of base first; @lookup finds a variant by name."""
    chain, cur, seen = [], vs, {vs.name}
    while cur.base is not None:
        b = lookup(cur.base)
        if b is None or b.name in seen:
            why = " (a cycle)" if b is not None else ""
            _fail(cur.path, cur.lines.get("base", 1),
                  "unknown base variant '%s'%s" % (cur.base, why))
        chain.append(b)
        seen.add(b.name)
        cur = b
    return chain[::-1]


def chain(vs, variants=None):
    """The variants @vs builds on, base of base first (@variants: name ->
    VariantSource, where bases are found; default: discover())."""
    pool = variants if variants is not None else discover()
    return _chain(vs, pool.get)


def _c_string(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def compose(vs, *, variants=None, library_dir=None, include_dir=None):
    """One translation unit: the library, @vs's base chain and @vs itself.

    @variants: where bases are found by name (default: discover() and the
    file's neighbours).  @include_dir: whose ops.def lists the functions the
    result must define (default: the model's)."""
    lookup = (variants or {}).get
    if vs.base is not None and variants is None:
        # resolved only when asked for: a broken file outside the chain of
        # the variant being composed does not stop it
        raws = _pool_near(vs.path)

        def lookup(name):
            return _resolve(raws[name], raws) if name in raws else None
    # (level, path, lines): the library files share level 0
    layers = [(0, p, _read(p)[1].split("\n")) for p in library_files(library_dir)]
    for level, v in enumerate(_chain(vs, lookup) + [vs], start=1):
        layers.append((level, v.path, v.text.split("\n")))
    defs = [definitions(p, lines) for _, p, lines in layers]
    # the highest layer that defines each name (levels only grow along the list)
    top = {d.name: level for (level, _, _), ds in zip(layers, defs) for d in ds}
    defined, protos, body = {}, {}, []
    # the functions composed never inlined: those the top layer defining them writes without static
    external = {d.name for (level, _, lines), ds in zip(layers, defs) for d in ds
                if level == top[d.name] and not _is_static(lines[d.start:d.sig_end + 1])}
    for (level, path, lines), ds in zip(layers, defs):
        lines = list(lines)
        for d in ds:
            if level < top[d.name]:
                lines[d.start:d.end + 1] = [""] * (d.end + 1 - d.start)
                continue
            lines[d.start:d.sig_end + 1] = _strip_storage(lines[d.start:d.sig_end + 1])
            if d.name in external:
                _count_entry(lines, d, external)
            defined[d.name] = display_path(path)
            protos[d.name] = (_NOINLINE if d.name in external else "") + d.prototype
        if lines and lines[-1] == "":
            lines.pop()
        body.append("#line 1 %s\n%s\n" % (_c_string(display_path(path)), "\n".join(lines)))
    for name in registry.ops(include_dir):
        if name not in defined:
            _fail(vs.path, 1, "defines no %s, and neither does its base nor the library" % name)
    # Prototypes name struct types a variant may only declare further down.
    tags = sorted(set(re.findall(r"\b((?:struct|union)\s+\w+)", " ".join(protos.values()))))
    head = ["#define PAGECORE_VARIANT 1", "#define PAGECORE_VARIANT_NAME %s" % _c_string(vs.name)]
    if vs.page_flags == "6.6":
        head.append("#define PAGECORE_PAGE_FLAGS_6_6 1")
    head.append('#include "pagecore/mm.h"')
    # a library of another include directory (the tests') may not count calls
    head += ["#ifndef PAGECORE_FENTRY", "#define PAGECORE_FENTRY() ((void)0)",
             "#define PAGECORE_FENTRY_TAIL() ((void)0)", "#endif"]
    head += ["%s;" % " ".join(t.split()) for t in tags]
    head += list(protos.values())
    text = "\n".join(head) + "\n" + "".join(body) + '#include "pagecore/ops_table.h"\n'
    return Composed(name=vs.name, text=text, layers=[display_path(p) for _, p, _ in layers],
                    defined=defined, sha256=hashlib.sha256(text.encode()).hexdigest())


def windows_placed(composed):
    """Names of the windows a composed unit (or any C text) places with
    pagecore_window(name), comments and strings left out."""
    text = composed.text if isinstance(composed, Composed) else composed
    return set(re.findall(r"\bpagecore_window\s*\(\s*(\w+)\s*\)", _code(text)))


def windows_unplaced(composed, include_dir=None):
    """The registry's "file" windows a composed unit never places: replay and
    stress cannot park a task there in this variant."""
    placed = windows_placed(composed)
    return [w.name for w in registry.windows(include_dir)
            if w.where == "file" and w.name not in placed]
