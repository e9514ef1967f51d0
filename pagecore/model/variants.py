"""The variants: one C file each, in the kernel's spelling.

The set of variants is the set of files: the built-in ones under
pagecore/variants/, then any under the directories of $PAGECORE_VARIANT_PATH,
then any file a command names by path.  Each file's header names the variant,
its kind, its base and its source (pagecore.model.compose reads it); nothing
here lists them.  A Variant is the face the rest of pagecore sees: its header
fields, and, read off its composed source, what code each operation runs.
"""

import hashlib
import os
import re

from pagecore._errors import PagecoreError
from pagecore.model import compose

# What each operation of a suite runs, by the kernel function it enters: two
# variants whose functions reachable from these entries are the same text run
# identical source there (an A/A pair), whatever their files are called.
OP_FIELDS = {
    "end_page_writeback": ("end_page_writeback",),
    "wake_page_function": ("wake_page_function",),
    "bookmarks": ("wake_up_page_bit",),
    "wait_on_page_writeback": ("wait_on_page_writeback",),
    # what a wait runs when the page is not under writeback: the entry alone
    "wait_entry": ("wait_on_page_writeback",),
    # what unlock_page() runs when nobody waits: the entry alone
    "unlock_entry": ("unlock_page",),
    "clear_page_dirty_for_io": ("clear_page_dirty_for_io",),
}
# Operations whose implementation is the entry's own body, not its callees (but for a wrapper,
# whose body is one call: the function it calls, as 6.7's mm/folio-compat.c's).
_SHALLOW = {"wait_entry", "unlock_entry"}

_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")


class Variant:
    """A variant file, read and composed: its header's fields (name, kind, base,
    commit, summary, scenarios) and, read off its composed source, what code
    each operation runs.

    >>> from pagecore import get_variant
    >>> v = get_variant("shipped-5.10")
    >>> v.kind, v.vs.base
    ('writeback', 'get-put')
    >>> v.wait_kind(), get_variant("original").wait_kind()
    ('while', 'if')
    >>> # loop-in-wait changes the wait only: its end of writeback is original's, to the byte
    >>> ops = ["end_page_writeback"]
    >>> a, b = get_variant("loop-in-wait"), get_variant("original")
    >>> a.implementation(ops) == b.implementation(ops)
    True
    """

    def __init__(self, vs):
        self.vs = vs
        self.name = vs.name
        self.kind = vs.kind
        self.summary = vs.summary
        self.commit = vs.source
        self.path = vs.path
        self.builtin = vs.builtin
        self.sha256 = vs.sha256
        self.page_flags = vs.page_flags
        self.scenarios = tuple(vs.scenarios)
        self.liveness = tuple(vs.liveness)
        self.expect = dict(vs.expect)
        self._composed = None
        self._bodies = None
        self._so = {}

    def __repr__(self):
        return "Variant(%r, %r)" % (self.name, self.path)

    @property
    def all_scenarios(self):
        return self.scenarios + self.liveness

    def composed(self):
        """The one translation unit compiled: library, bases and this file
        (pagecore/model/compose.py)."""
        if self._composed is None:
            self._composed = compose.compose(self.vs, variants=_pool())
        return self._composed

    def bodies(self):
        """Function name -> its definition's text, as composed."""
        if self._bodies is None:
            # layer by layer, lowest first: a higher definition replaces a lower one
            files = [(p, None) for p in compose.library_files()]
            files += [(v.path, v.text) for v in compose.chain(self.vs, _pool()) + [self.vs]]
            bodies = {}
            for path, text in files:
                if text is None:
                    with open(path, encoding="utf-8") as f:
                        text = f.read()
                lines = text.split("\n")
                for d in compose.definitions(path, lines):
                    bodies[d.name] = "\n".join(lines[d.start:d.end + 1])
            self._bodies = bodies
        return self._bodies

    def reachable(self, entry, shallow=False):
        """The functions @entry runs, itself first, as far as the composed
        source defines them."""
        bodies = self.bodies()
        seen, todo = [], [entry]
        while todo:
            name = todo.pop()
            if name in seen or name not in bodies:
                continue
            seen.append(name)
            if not shallow:
                todo.extend(n for n in _IDENT.findall(bodies[name])
                            if n in bodies and n != name)
            elif compose.wrapped(bodies[name]) in bodies:
                todo.append(compose.wrapped(bodies[name]))
        return seen

    def implementation(self, ops):
        """A digest of the code this variant runs for @ops (names of OP_FIELDS):
        two variants with the same answer run identical source there, so any
        difference measured between them is the harness's, not the kernel's."""
        parts = []
        for op in dict.fromkeys(ops):
            h = hashlib.sha256(self.page_flags.encode())
            for entry in OP_FIELDS[op]:
                for name in sorted(self.reachable(entry, op in _SHALLOW)):
                    h.update(self.bodies()[name].encode())
            parts.append("%s=%s" % (op, h.hexdigest()[:12]))
        return " ".join(parts) or "same"

    def source_key(self):
        """A digest of all the C this variant runs: its composed source (its
        file, its bases' and the library's, pagecore/model/compose.py) and
        the model's headers.  Two variants, or one variant before and after
        an edit, with the same key run the same code."""
        if getattr(self, "_source_key", None) is None:
            from pagecore import registry
            from pagecore.model.build import _headers_digest

            h = hashlib.sha256(self.composed().text.encode())
            _headers_digest(h, registry.INCLUDE_DIR)
            self._source_key = h.hexdigest()
        return self._source_key

    def defined_in(self, name):
        """The file whose definition of function @name the composed source keeps."""
        return self.composed().defined.get(name)

    def wait_kind(self):
        """How its wait_on_page_writeback() waits, read off the source: a
        `while` on the bit, maybe also on ->mapping; or an `if` (the pre-5.8
        wait re-queues inside wait_on_page_bit_common)."""
        funcs = self.reachable("wait_on_page_writeback")
        text = "\n".join(self.bodies()[f] for f in funcs
                         if "writeback" in f and "wait" in f)
        if re.search(r"\bwhile\s*\([^;{]*(?:PageWriteback|folio_test_writeback)", text):
            return ("while, until ->mapping changes"
                    if re.search(r"while\s*\([^{]*mapping", text) else "while")
        common = self.bodies().get("wait_on_page_bit_common", "")
        if "bit_is_set" in common:
            return "if; re-queues in wait_on_page_bit_common"
        return "if"

    def as_dict(self):
        """The variant as `pagecore variants --json` lists it."""
        return {"name": self.name, "kind": self.kind, "summary": self.summary,
                "commit": self.commit, "path": compose.display_path(self.path),
                "builtin": self.builtin, "sha256": self.sha256,
                "base": self.vs.base or "library", "page_flags": self.page_flags,
                "scenarios": list(self.scenarios), "liveness": list(self.liveness),
                "expect": self.expect,
                "implementations": {op: self.implementation([op]) for op in OP_FIELDS
                                    if (op == "clear_page_dirty_for_io")
                                    == (self.kind == "dirty")}}


_POOL = None
_BY_PATH = {}


def _pool():
    """The variants discover() finds, by name (built-ins first)."""
    global _POOL
    if _POOL is None:
        _POOL = compose.discover()
    return _POOL


# Variant files a command named by path, passed on to the processes it
# starts (the suites' workers look variants up by name).
FILES_ENV = "PAGECORE_VARIANT_FILES"


def _all():
    out = {name: Variant(vs) for name, vs in _pool().items()}
    for path in filter(None, os.environ.get(FILES_ENV, "").split(os.pathsep)):
        v = get_variant(path)
        out.setdefault(v.name, v)
    return out


def register_file(path):
    """Make the variant file at @path one of VARIANTS, under the name its
    header gives, here and in every process this one starts; its Variant."""
    v = get_variant(path)
    variants = __getattr__("VARIANTS") if "VARIANTS" not in globals() else VARIANTS  # noqa: F821
    known = variants.get(v.name)
    if known is not None and os.path.abspath(known.path) != os.path.abspath(v.path):
        raise PagecoreError("%s: variant %r is already %s: give the file a name of its own "
                            "on its Variant: line" % (path, v.name,
                                                      compose.display_path(known.path)))
    if known is None:
        variants[v.name] = v
        kinds = "WRITEBACK_VARIANTS" if v.kind == "writeback" else "DIRTY_VARIANTS"
        if kinds in globals():
            globals()[kinds].append(v.name)
        files = [p for p in os.environ.get(FILES_ENV, "").split(os.pathsep) if p]
        os.environ[FILES_ENV] = os.pathsep.join(files + [os.path.abspath(v.path)])
    return variants[v.name]


def __getattr__(attr):
    # VARIANTS, WRITEBACK_VARIANTS and DIRTY_VARIANTS are read off the files
    # on first use, not at import: importing pagecore reads no file, and a
    # bad file in $PAGECORE_VARIANT_PATH is reported by the command that
    # needs the variants, as one line.
    if attr == "VARIANTS":
        v = _all()
    elif attr == "WRITEBACK_VARIANTS":
        v = [n for n, x in __getattr__("VARIANTS").items() if x.kind == "writeback"]
    elif attr == "DIRTY_VARIANTS":
        v = [n for n, x in __getattr__("VARIANTS").items() if x.kind == "dirty"]
    else:
        raise AttributeError("module %r has no attribute %r" % (__name__, attr))
    globals()[attr] = v
    return v


def is_file(name):
    return isinstance(name, str) and (name.endswith(".c") or os.sep in name)


def get_variant(name):
    """The variant @name, or the variant file at path @name (ending in .c).

    >>> from pagecore import get_variant
    >>> get_variant("folio-6.7").commit.split(" ")[0]
    '2580d554585c'
    >>> get_variant("docs/examples/my-fix.c")     # a path: read and composed
    Traceback (most recent call last):
    ...
    pagecore._errors.PagecoreError: no variant file docs/examples/my-fix.c
    """
    if isinstance(name, Variant):
        return name
    if is_file(name):
        path = os.path.abspath(name)
        if path not in _BY_PATH:
            if not os.path.isfile(path):
                raise PagecoreError("no variant file %s" % name)
            _BY_PATH[path] = Variant(compose.load(path, variants=_pool()))
        return _BY_PATH[path]
    variants = __getattr__("VARIANTS") if "VARIANTS" not in globals() else VARIANTS  # noqa: F821
    try:
        return variants[name]
    except (KeyError, TypeError):
        raise PagecoreError("unknown variant %r (known: %s; or give a path to a .c file)"
                            % (name, ", ".join(variants))) from None


def shared_object(v, *, instrument):
    """The path of @v's shared object for the timed or the instrumented
    harness, built if it is not in the cache yet."""
    from pagecore.model import build

    # once per process and build: configure() asks for every schedule the
    # explorer runs, and composing and hashing is milliseconds
    so = v._so.get(instrument)
    if so is None:
        so = v._so[instrument] = build.build(v.vs, instrument=instrument, variants=_pool())
    return so


def template(name):
    """The very source of built-in variant @name, as compiled in."""
    v = get_variant(name)
    with open(v.path, encoding="utf-8") as f:
        return f.read()
