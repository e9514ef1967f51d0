"""Variant files: the header, composition with the library, and the build.

Every test works on small files of its own (a library, an include dir, the
variants), so that it says what the composer does whatever the model's own
C files hold at the moment.
"""

import ctypes
import os
import re
import shutil
import subprocess
import textwrap

import pytest

from pagecore import registry
from pagecore._errors import PagecoreError
from pagecore.model import build as vbuild
from pagecore.model import compose as vc
from pagecore.model.build import VariantBuildError
from pagecore.model.compose import VariantFileError

needs_cc = pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc").split()[0]) is None,
                              reason="no C compiler")


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def header(name="v1", kind="writeback", extra=""):
    return ("/*\n * Variant: %s\n * Kind: %s\n * Source: 0123456789ab (\"mm: x\")\n"
            " * Summary: a test variant\n%s */\n" % (name, kind, extra))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    # Neither the model's built-in variants nor the caller's environment may
    # decide what a test finds.
    monkeypatch.setattr(vc, "BUILTIN_DIR", str(tmp_path / "no-builtins"))
    monkeypatch.delenv("PAGECORE_VARIANT_PATH", raising=False)
    monkeypatch.delenv("PAGECORE_VARIANT_CFLAGS", raising=False)
    monkeypatch.setenv("PAGECORE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def lib(tmp_path):
    """A library of two files, and an include dir whose ops.def asks for two functions."""
    d = tmp_path / "lib"
    write(d / "mm" / "a.c", """
        /* the library's end of writeback */
        #define A_FLAG 1

        static inline void
        end_page_writeback(struct page *page)
        {
        \tpage->flags = 0;
        }

        int helper(int a,
        \t   int b)
        {
        \treturn a + b;
        }
        """)
    write(d / "b.c", """
        static int table[SIZE(2)] = {
        \t1,
        };

        static int twice(int x) { return helper(x, x); }
        """)
    write(d / "include" / "ignored.c", "this is not C\n")
    inc = tmp_path / "inc"
    write(inc / "pagecore" / "ops.def", """
        PC_OPVX(end_page_writeback, (struct page *page), (page))
        PC_OP(int, helper,
              (int a, int b), (a, b))
        """)
    write(inc / "pagecore" / "registry.def", """
        PC_WINDOW(EWB_AFTER_CLEAR, ewb_after_clear, "file", "after the clear")
        PC_WINDOW(WAIT_QUEUED, wait_queued, "file", "queued (not yet asleep)")
        PC_WINDOW(SCHED, after_schedule, "primitive", "back from the sleep")
        """)
    write(inc / "pagecore" / "mm.h", """
        #define SIZE(n) (n)
        struct page { unsigned long flags; };
        void pagecore_window_at(const char *name);
        #define pagecore_window(name) pagecore_window_at(#name)
        """)
    write(inc / "pagecore" / "ops_table.h", """
        __attribute__((visibility("default"))) const char *pagecore_variant_name =
        \tPAGECORE_VARIANT_NAME;
        __attribute__((visibility("default"))) void (*pagecore_variant_ewb)(struct page *) =
        \tend_page_writeback;
        #ifdef PAGECORE_INSTRUMENT
        __attribute__((visibility("default"))) int pagecore_variant_instrumented = 1;
        #else
        __attribute__((visibility("default"))) int pagecore_variant_instrumented = 0;
        #endif
        """)
    return {"library_dir": str(d), "include_dir": str(inc)}


def one_line_error(exc, path, line):
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("%s:%d: " % (path, line)), msg
    return msg


# --------------------------------------------------------------------------
# The header


def test_header_all_tags(tmp_path):
    p = write(tmp_path / "folio.c", """
        /*
         * Variant: folio-6.7
         * Kind: writeback
         * Base: library
         * Source: 2580d554585c ("mm: ...") (v6.7)
         * Summary: folio_get; i_pages lock; folio_xor_flags_has_waiters (PG_writeback
         *          bit 1); unlock; folio_wake_bit without bookmarks; folio_put
         * Page-flags: 6.6
         * Scenarios: writeback-set-again, page-reuse
         * Liveness: writeback-starvation
         * Expect: no_waiters atomic_rmw=3 lock=1 barrier=0
         * Expect: queued_waiter atomic_rmw=5
         *         lock=2
         *
         * Why this variant exists.
         *   An indented line of the notes.
         */

        void end_page_writeback(struct page *page)
        {
        }
        """)
    vs = vc.load(str(p))
    assert vs.name == "folio-6.7" and vs.kind == "writeback" and vs.base is None
    assert vs.source == '2580d554585c ("mm: ...") (v6.7)'
    assert vs.summary == ("folio_get; i_pages lock; folio_xor_flags_has_waiters (PG_writeback "
                          "bit 1); unlock; folio_wake_bit without bookmarks; folio_put")
    assert vs.page_flags == "6.6"
    assert vs.scenarios == ("writeback-set-again", "page-reuse")
    assert vs.liveness == ("writeback-starvation",)
    assert vs.expect == {"no_waiters": {"atomic_rmw": 3, "lock": 1, "barrier": 0},
                         "queued_waiter": {"atomic_rmw": 5, "lock": 2}}
    assert vs.notes == "Why this variant exists.\n  An indented line of the notes."
    assert vs.path == str(p) and not vs.builtin
    assert vs.text == p.read_text()
    assert len(vs.sha256) == 64


def test_header_defaults_by_kind(tmp_path):
    wb = vc.load(str(write(tmp_path / "w.c", header("w"))))
    assert (wb.page_flags, wb.scenarios, wb.liveness, wb.expect, wb.notes) == \
        ("5.10", ("writeback-set-again", "page-reuse"), ("writeback-starvation",), {}, "")
    d = vc.load(str(write(tmp_path / "d.c", header("d", "dirty"))))
    assert (d.scenarios, d.liveness) == (("mmap-lost-write",), ())


def test_base_inheritance(tmp_path):
    write(tmp_path / "a.c", header("a", extra=" * Page-flags: 6.6\n * Scenarios: one, two\n"
                                              " * Expect: s lock=1\n"))
    write(tmp_path / "b.c", header("b", extra=" * Base: a\n * Liveness:\n"))
    write(tmp_path / "c.c", header("c", extra=" * Base: b\n * Scenarios: three\n"))
    found = vc.discover([str(tmp_path)])
    b, c = found["b"], found["c"]
    assert (b.base, b.page_flags, b.scenarios, b.liveness, b.expect) == \
        ("a", "6.6", ("one", "two"), (), {})
    assert (c.base, c.page_flags, c.scenarios, c.liveness) == ("b", "6.6", ("three",), ())
    # a file given by path finds its base beside it
    assert vc.load(str(tmp_path / "c.c")).liveness == ()


@pytest.mark.parametrize("extra, line, pattern", [
    (" * Colour: blue\n", 6, r"unknown tag 'Colour'"),
    (" * Kind: dirty\n", 6, r"Kind given twice"),
    (" * Page-flags: 6.1\n", 6, r"Page-flags: '6.1'"),
    (" * Expect: s lock=1 bogus=2\n", 6, r"unknown event 'bogus'"),
    (" * Expect: s lock=x\n", 6, r"'lock=x' is not event=count"),
    (" * Scenarios: ok, Not OK\n", 6, r"bad name"),
])
def test_header_errors_are_one_line(tmp_path, extra, line, pattern):
    p = write(tmp_path / "bad.c", header(extra=extra))
    with pytest.raises(VariantFileError) as e:
        vc.load(str(p))
    assert re.search(pattern, one_line_error(e, p, line))
    assert isinstance(e.value, PagecoreError)


def test_header_missing_and_bad_values(tmp_path):
    p = write(tmp_path / "m.c", "/*\n * Kind: writeback\n * Source: x\n * Summary: y\n */\n")
    with pytest.raises(VariantFileError) as e:
        vc.load(str(p))
    assert "Variant" in one_line_error(e, p, 1)
    p = write(tmp_path / "k.c", header(kind="clean"))
    with pytest.raises(VariantFileError) as e:
        vc.load(str(p))
    one_line_error(e, p, 3)
    p = write(tmp_path / "n.c", header(name="Folio 6.7"))
    with pytest.raises(VariantFileError) as e:
        vc.load(str(p))
    one_line_error(e, p, 2)
    p = write(tmp_path / "h.c", "void f(void)\n{\n}\n")
    with pytest.raises(VariantFileError) as e:
        vc.load(str(p))
    one_line_error(e, p, 1)
    with pytest.raises(VariantFileError) as e:
        vc.load(str(tmp_path / "absent.c"))
    assert str(e.value).startswith(str(tmp_path / "absent.c")) and "\n" not in str(e.value)


def test_builtin_and_display_paths(tmp_path, monkeypatch):
    builtin = tmp_path / "builtins"
    write(builtin / "orig.c", header("orig"))
    monkeypatch.setattr(vc, "BUILTIN_DIR", str(builtin))
    found = vc.discover()
    assert list(found) == ["orig"] and found["orig"].builtin
    assert vc.display_path(os.path.join(vc.PACKAGE_DIR, "variants", "x.c")) == \
        "pagecore/variants/x.c"
    assert vc.display_path("some/where.c") == "some/where.c"
    monkeypatch.setenv("PAGECORE_VARIANT_PATH", str(tmp_path / "missing"))
    with pytest.raises(VariantFileError, match="no such directory"):
        vc.discover()


def test_unknown_base_and_cycle(tmp_path):
    p = write(tmp_path / "x.c", header("x", extra=" * Base: nowhere\n"))
    with pytest.raises(VariantFileError) as e:
        vc.load(str(p))
    assert one_line_error(e, p, 6).endswith("unknown base variant 'nowhere'")
    write(tmp_path / "x.c", header("x", extra=" * Base: y\n"))
    write(tmp_path / "y.c", header("y", extra=" * Base: x\n"))
    with pytest.raises(VariantFileError, match=r"unknown base variant '[xy]'"):
        vc.discover([str(tmp_path)])


def test_discover_duplicates_and_path(tmp_path, monkeypatch):
    one, two = tmp_path / "one", tmp_path / "two"
    write(one / "first.c", header("same"))
    write(two / "second.c", header("same"))
    write(two / "other.c", header("other"))
    monkeypatch.setenv("PAGECORE_VARIANT_PATH", str(two))
    assert sorted(vc.discover()) == ["other", "same"]
    assert vc.discover()["same"].path == str(two / "second.c")
    monkeypatch.setenv("PAGECORE_VARIANT_PATH", os.pathsep.join([str(one), str(two)]))
    with pytest.raises(VariantFileError) as e:
        vc.discover()
    msg = one_line_error(e, two / "second.c", 2)
    assert str(one / "first.c") in msg


# --------------------------------------------------------------------------
# Definitions and composition


def test_definitions_kernel_style():
    lines = textwrap.dedent("""
        /* a comment that mentions f(x)
        g(y) at column 0 inside it
        */
        #define M(x) \\
        \tfoo(x)
        static struct s table[N(1)] = {
        \t{ 0 },
        };
        EXPORT_SYMBOL(foo);
        int proto(int a);

        static inline int
        first(struct page *page,
        \t  int nr)
        {
        \treturn 0;
        }

        void second(void) {
        }
        __always_inline int third(void) { return g(h(1)); }
        """).lstrip("\n").split("\n")
    defs = vc.definitions("t.c", lines)
    assert [(d.name, d.start, d.sig_end, d.end) for d in defs] == \
        [("first", 11, 13, 16), ("second", 18, 18, 19), ("third", 20, 20, 20)]
    assert defs[0].prototype == "int first(struct page *page, int nr);"
    assert defs[2].prototype == "int third(void);"


def test_compose_layers_and_override(tmp_path, lib):
    base = write(tmp_path / "v" / "base.c", header("base", extra=" * Page-flags: 6.6\n") + """
static void end_page_writeback(struct page *page)
{
\tpagecore_window(ewb_after_clear);
}
""")
    top = write(tmp_path / "v" / "top.c", header("top", extra=" * Base: base\n") + """
int
helper(int a, int b)
{
\t/* pagecore_window(wait_queued); only mentioned */
\treturn a - b;
}
""")
    found = vc.discover([str(tmp_path / "v")])
    out = vc.compose(found["top"], variants=found, **lib)
    libdir = lib["library_dir"]
    a_c, b_c = os.path.join(libdir, "mm", "a.c"), os.path.join(libdir, "b.c")
    assert out.layers == [b_c, a_c, str(base), str(top)]
    assert out.defined == {"twice": b_c, "end_page_writeback": str(base), "helper": str(top)}
    head = out.text.split("#line", 1)[0].split("\n")
    assert head[:4] == ["#define PAGECORE_VARIANT 1", '#define PAGECORE_VARIANT_NAME "top"',
                        "#define PAGECORE_PAGE_FLAGS_6_6 1", '#include "pagecore/mm.h"']
    # a function written without `static` is called, never inlined, and counts its calls;
    # a static one (twice) is the compiler's to inline
    noinline = "__attribute__((__noinline__)) "
    assert "int twice(int x);" in head and noinline + "int helper(int a, int b);" in head
    assert "void end_page_writeback(struct page *page);" in head
    assert "helper(int a, int b)\n{ PAGECORE_FENTRY();" in out.text
    assert out.text.endswith('#include "pagecore/ops_table.h"\n')
    # each layer keeps its file's line count, overridden definitions blanked
    parts = re.split(r'^#line 1 "([^"]*)"\n', out.text, flags=re.M)[1:]
    for path, body in zip(parts[::2], parts[1::2]):
        body = body.replace('#include "pagecore/ops_table.h"\n', "")
        original = open(path).read()
        assert body.count("\n") == original.count("\n"), path
        if path == a_c:
            assert "end_page_writeback" not in body and "helper" not in body
            assert "#define A_FLAG 1" in body
            assert body.split("\n")[:3] == original.split("\n")[:3]
    assert "static" not in out.text.split(str(base))[1].split("#line")[0].split("*/")[-1]
    assert "static int table[SIZE(2)]" in out.text     # a variable keeps its storage
    assert re.search(r"^ {7}int twice\(int x\)", out.text, re.M)
    assert out.sha256 == vc.hashlib.sha256(out.text.encode()).hexdigest()
    assert vc.windows_placed(out) == {"ewb_after_clear"}
    assert vc.windows_unplaced(out, lib["include_dir"]) == ["wait_queued"]


def test_compose_missing_required_op(tmp_path, lib):
    os.remove(os.path.join(lib["library_dir"], "mm", "a.c"))
    p = write(tmp_path / "v.c", header("v") + "void end_page_writeback(struct page *p)\n{\n}\n")
    with pytest.raises(VariantFileError) as e:
        vc.compose(vc.load(str(p)), **lib)
    assert one_line_error(e, p, 1) == \
        "%s:1: defines no helper, and neither does its base nor the library" % p


def test_registry_readers(lib):
    assert "atomic_rmw" in registry.events() and "lock" in registry.events()
    assert all(w.where in ("file", "library", "primitive") for w in registry.windows())
    assert "bug_on" in [b.name for b in registry.bug_kinds()]
    assert "end_page_writeback" in registry.scenario_ops()
    assert "end_page_writeback" in registry.ops()
    inc = lib["include_dir"]
    assert registry.ops(inc) == ("end_page_writeback", "helper")
    assert registry.windows(inc)[1] == ("wait_queued", "file", "queued (not yet asleep)")


# --------------------------------------------------------------------------
# The build


def variant(tmp_path, body="", name="t1"):
    return vc.load(str(write(tmp_path / (name + ".c"), header(name) + """
void end_page_writeback(struct page *page)
{
\tpage->flags = 2;
%s}
""" % body)))


@needs_cc
def test_build_and_cache(tmp_path, lib, monkeypatch):
    vs = variant(tmp_path)
    so = vbuild.build(vs, instrument=False, **lib)
    assert os.path.isfile(so) and os.path.isfile(so[:-3] + ".c")
    assert re.fullmatch(r"t1-t-[0-9a-f]{16}\.so", os.path.basename(so))
    assert os.path.dirname(so) == str(tmp_path / "cache" / "variants")
    dll = ctypes.CDLL(so)
    assert ctypes.c_char_p.in_dll(dll, "pagecore_variant_name").value == b"t1"
    assert ctypes.c_int.in_dll(dll, "pagecore_variant_instrumented").value == 0
    mtime = os.stat(so).st_mtime_ns

    def no_compile(*a, **k):
        raise AssertionError("compiled again")
    monkeypatch.setattr(subprocess, "run", no_compile)
    assert vbuild.build(vs, instrument=False, **lib) == so
    assert os.stat(so).st_mtime_ns == mtime
    monkeypatch.undo()
    monkeypatch.setenv("PAGECORE_CACHE", str(tmp_path / "cache"))
    si = vbuild.build(vs, instrument=True, **lib)
    assert os.path.basename(si).startswith("t1-i-") and si != so
    assert ctypes.c_int.in_dll(ctypes.CDLL(si), "pagecore_variant_instrumented").value == 1
    leftovers = [f for f in os.listdir(os.path.dirname(so)) if f.startswith(".build-")]
    assert leftovers == []


@needs_cc
def test_build_error_names_variant_line(tmp_path, lib):
    vs = variant(tmp_path, "\tundeclared_thing = 1;\n", name="broken")
    with pytest.raises(VariantBuildError) as e:
        vbuild.build(vs, instrument=False, cache_dir=str(tmp_path / "c2"), **lib)
    msg = str(e.value)
    assert "\n" not in msg and isinstance(e.value, PagecoreError)
    assert re.match(r"^%s:\d+: .*undeclared_thing" % re.escape(vs.path), msg), msg
    line = vs.text.split("\n").index("\tundeclared_thing = 1;") + 1
    assert msg.startswith("%s:%d: " % (vs.path, line))      # the line in the file as written


@needs_cc
def test_build_error_in_library_names_library_file(tmp_path, lib):
    a_c = os.path.join(lib["library_dir"], "mm", "a.c")
    with open(a_c) as f:
        text = f.read()
    with open(a_c, "w") as f:
        f.write(text.replace("return a + b;", "return a + missing_b;"))
    vs = variant(tmp_path, name="lib-error")
    with pytest.raises(VariantBuildError) as e:
        vbuild.build(vs, instrument=False, **lib)
    line = text.split("\n").index("\treturn a + b;") + 1
    assert str(e.value).startswith("%s:%d: " % (a_c, line)), str(e.value)


@needs_cc
def test_build_cflags_appended(tmp_path, lib, monkeypatch):
    vs = variant(tmp_path, "\tpage->flags = PC_TEST_FLAG;\n", name="flag")
    with pytest.raises(VariantBuildError, match="PC_TEST_FLAG"):
        vbuild.build(vs, instrument=False, **lib)
    monkeypatch.setenv("PAGECORE_VARIANT_CFLAGS", "-DPC_TEST_FLAG=3 -O1")
    assert vbuild.cflags(False, lib["include_dir"])[-2:] == ["-DPC_TEST_FLAG=3", "-O1"]
    assert os.path.isfile(vbuild.build(vs, instrument=False, **lib))


def test_no_compiler(tmp_path, lib, monkeypatch):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(VariantBuildError) as e:
        vbuild.build(variant(tmp_path), instrument=False, **lib)
    assert str(e.value).startswith("no C compiler (set CC): ") and "\n" not in str(e.value)


def test_error_line_picks_first_error():
    stderr = ("In file included from x.c:3:\n"
              "v.c: In function 'f':\n"
              "v.c:7:5: warning: unused\n"
              "v.c:9:2: error: 'y' undeclared (first use in this function)\n"
              "lib/a.c:4: error: later\n")
    assert vbuild.error_line(stderr) == "v.c:9: 'y' undeclared (first use in this function)"
    assert vbuild.error_line("\ncc1: fatal: odd\n") == "cc1: fatal: odd"


@needs_cc
@pytest.mark.skipif(shutil.which("nm") is None, reason="no nm")
def test_check_symbols(tmp_path, lib):
    so = vbuild.build(variant(tmp_path, "\tpagecore_window(ewb_after_clear);\n", name="sym"),
                      instrument=False, **lib)
    assert vbuild.check_symbols(so) == ["pagecore_window_at"]
