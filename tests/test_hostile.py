"""Hostile input: whatever a user or a result file gives the command line, the answer is
exit 0, or exit 2 with one `pagecore: ...` line; never a traceback, never a hang, and
nothing written where it was not asked for.  Markup that comes from a result file never
comes out live in a report.

The property tests parse in-process (pagecore.cli.main), so they stay fast: each command's
options are drawn with random values, and result files are random or corrupted JSON.
"""

import json
import os
import re
import shutil
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagecore import cli as _cli
from pagecore.cli import bench as cli_bench
from pagecore.cli import report as cli_report
from pagecore.cli import verify as cli_verify

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "report")

EVIL = 'x"><img src=x onerror=alert(1)>'
SCRIPT = "<script>alert(1)</script>"


def one_line_or_ok(rc, err):
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("pagecore: "), err
    assert "Traceback" not in err


def run(capsys, argv):
    capsys.readouterr()     # a property test reuses the fixture: start clean
    argv = list(argv)
    if argv and argv[0] in ("report", "choose"):
        # the synthetic results measure variants they hold no verdict for: reading them is
        # under test here, not verifying them (tests/test_report.py runs that)
        argv.append("--no-verify")
    rc = _cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


# -- markup from result files ------------------------------------------------------------

@pytest.fixture(scope="module")
def evil_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("evil")
    res = root / "results"
    res.mkdir()
    shutil.copytree(os.path.join(DATA, "alpha"), res / EVIL)
    path = res / EVIL / "verify.json"
    doc = json.loads(path.read_text())
    for row in doc["results"]:
        if row["failures"]:
            row["evidence"] = [SCRIPT + " in `code` and **bold** " + SCRIPT] + row["evidence"]
    path.write_text(json.dumps(doc))
    rc = _cli.main(["report", str(res), "-o", str(root / "out"), "--name", "r", "--no-verify"])
    assert rc == 0
    d = root / "out" / "r"
    return (d / "report.html").read_text(), (d / "report.md").read_text()


def test_html_escapes_a_machine_directory_name_everywhere(evil_report):
    page, _ = evil_report
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    assert 'id="choose-x"' not in page and 'href="#choose-x"' not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_html_escapes_evidence(evil_report):
    page, _ = evil_report
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def outside_code(md):
    # a code span is inert: Markdown shows what it holds as text, markup and HTML included
    return re.sub(r"`[^`]*`", "", re.sub(r"(?ms)^(`{3,}).*?^\1", "", md))


def test_markdown_escapes_names_and_evidence(evil_report):
    _, md = evil_report
    plain = outside_code(md)
    assert "<script>" not in plain and "<img" not in plain
    # the evidence is there, inert: escaped, or inside a code fence
    fenced = "".join(m.group(0) for m in re.finditer(r"(?ms)^(`{3,})\n.*?^\1", md))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md or SCRIPT in fenced
    assert "&gt;&lt;img src=x onerror=alert(1)&gt;" in md


def test_markdown_escapes_markup_characters_but_keeps_code_and_bold():
    from pagecore.report.html import Doc, render_markdown

    doc = Doc("t")
    doc.para("a *b* [c](d) # e `f<g>` **h** i_pages _j_ ![k](l)")
    doc.para("- not a list")
    doc.pre("```\n<script>\n```")
    md = render_markdown(doc)
    assert r"a \*b\* \[c\](d) \# e `f<g>` **h** i_pages \_j\_ \!\[k\](l)" in md
    assert "\\- not a list" in md
    assert "````\n```\n<script>\n```\n````" in md


# -- result files ------------------------------------------------------------------------

@pytest.fixture
def report_only(monkeypatch):
    monkeypatch.setattr(_cli, "_registrars", lambda: iter([cli_report.register]))


def test_a_fifo_is_refused_not_read(tmp_path, capsys, report_only):
    fifo = tmp_path / "floor.json"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    rc, _, err = run(capsys, ["report", str(fifo), "-o", str(tmp_path / "out")])
    assert rc == 2 and "not a regular file" in err
    one_line_or_ok(rc, err)


@pytest.mark.parametrize("weights", ["/dev/zero", "fifo"])
def test_a_weights_file_that_never_ends_is_refused(tmp_path, capsys, report_only, weights):
    if weights == "fifo":
        weights = str(tmp_path / "w.toml")
        os.mkfifo(weights)
    rc, _, err = run(capsys, ["choose", DATA, "--weights", weights])
    assert rc == 2 and "not a regular file" in err


def test_bench_output_must_be_named(tmp_path, capsys, monkeypatch):
    no_spawn(monkeypatch)
    rc, _, err = run(capsys, ["bench", "--smoke", "-o", ""])
    assert rc == 2 and "-o needs a directory" in err


def test_json_nested_too_deeply(tmp_path, capsys, report_only):
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000)
    rc, _, err = run(capsys, ["report", str(f), "-o", str(tmp_path / "out")])
    assert rc == 2 and "nested too deeply" in err
    f.write_text("[" * 100_000 + "]" * 100_000)
    rc, _, err = run(capsys, ["report", str(f), "-o", str(tmp_path / "out")])
    assert rc == 2
    one_line_or_ok(rc, err)
    assert not (tmp_path / "out").exists()


def test_a_huge_weight_is_refused_and_leaves_no_directory(tmp_path, capsys, report_only):
    out = tmp_path / "out"
    rc, _, err = run(capsys, ["report", DATA, "-o", str(out), "--weight",
                              "hotpath/end_page_writeback_one_waiter=1e308"])
    assert rc == 2 and "must be a number in 0..1e+06" in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["../escape", "..", ".", "", "a/b", "/tmp/x", "x" * 300])
def test_report_name_stays_under_output(tmp_path, capsys, report_only, name):
    out = tmp_path / "out"
    rc, _, err = run(capsys, ["report", DATA, "-o", str(out), "--name", name])
    assert rc == 2 and "--name" in err
    assert sorted(os.listdir(tmp_path)) == []


def test_two_hosts_in_one_machine_directory_are_refused(tmp_path, capsys, report_only):
    m = tmp_path / "m"
    shutil.copytree(os.path.join(DATA, "alpha"), m)
    path = m / "hotpath.json"
    doc = json.loads(path.read_text())
    doc.setdefault("metadata", {})["hostname"] = "another-host"
    for b in doc["benchmarks"]:
        b.setdefault("metadata", {})["hostname"] = "another-host"
        for r in b.get("runs", []):
            r.setdefault("metadata", {})["hostname"] = "another-host"
    path.write_text(json.dumps(doc))
    rc, _, err = run(capsys, ["report", str(m), "-o", str(tmp_path / "out")])
    assert rc == 2 and "more than one host" in err and "another-host" in err


@pytest.mark.parametrize("row", [
    {"counts": "abc"},
    {"counts": {"bug_on": -1}},
    {"counts": {"bug_on": "1"}},
    {"failures": "bug_on"},
    {"failures": [1]},
    {"mode": 3},
    {"evidence": "x"},
    {"inconclusive": []},
])
def test_malformed_verify_rows_are_refused(tmp_path, capsys, report_only, row):
    base = {"variant": "original", "scenario": "page-reuse", "mode": "replay",
            "failures": [], "counts": {}, "evidence": []}
    f = tmp_path / "verify.json"
    f.write_text(json.dumps({"results": [dict(base, **row)]}))
    rc, _, err = run(capsys, ["report", str(f), "-o", str(tmp_path / "out")])
    assert rc == 2 and "verify result 0" in err
    one_line_or_ok(rc, err)


def test_bench_check_on_a_corrupt_floor_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_cli, "_registrars", lambda: iter([cli_bench.register]))
    d = tmp_path / "results" / "m"
    d.mkdir(parents=True)
    for text in ['{"benchmarks": [', '{"version": "1.0", "benchmarks": [{"runs": "x"}]}',
                 "[" * 100_000, "\xff\xfe"]:
        (d / "floor.json").write_text(text, errors="surrogateescape")
        rc, _, err = run(capsys, ["bench", "--check", "-o", str(tmp_path / "results"),
                                  "--machine", "m"])
        assert rc == 2 and "floor.json" in err
        one_line_or_ok(rc, err)


class Spawned(Exception):
    """A suite would have started here: the command line was accepted."""


def no_spawn(monkeypatch):
    import pagecore.benchmark.run as run_mod

    def popen(*a, **k):
        raise Spawned()

    monkeypatch.setattr(run_mod.subprocess, "Popen", popen)
    monkeypatch.setattr(run_mod, "_verify", lambda *a: True)
    monkeypatch.setattr(_cli, "_registrars", lambda: iter([cli_bench.register]))


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "1e308", " "])
def test_bench_timeout_is_checked_before_any_child(tmp_path, capsys, monkeypatch, value):
    no_spawn(monkeypatch)
    monkeypatch.setenv("PAGECORE_BENCH_TIMEOUT", value)
    rc, _, err = run(capsys, ["bench", "--smoke", "--no-report", "-o", str(tmp_path)])
    assert rc == 2 and "PAGECORE_BENCH_TIMEOUT" in err
    one_line_or_ok(rc, err)


def test_bench_timeout_empty_reads_as_unset(tmp_path, capsys, monkeypatch):
    no_spawn(monkeypatch)
    monkeypatch.setenv("PAGECORE_BENCH_TIMEOUT", "")
    with pytest.raises(Spawned):
        _cli.main(["bench", "--smoke", "--no-report", "-o", str(tmp_path)])


@pytest.mark.parametrize("opt", ["--threads", "--bits", "--chain"])
@pytest.mark.parametrize("value", ["", ",", "x", "1e9", "-1", "99999999999999999999"])
def test_bench_lists(tmp_path, capsys, monkeypatch, opt, value):
    no_spawn(monkeypatch)
    rc, _, err = run(capsys, ["bench", "--smoke", "--no-report", "-o", str(tmp_path),
                              opt, value])
    assert rc == 2
    one_line_or_ok(rc, err)


# -- property tests ----------------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "0", "-0", "1e308", "1e-300", "nan", "inf", "2**63", "0x10",
                     "9223372036854775808", "1_000", " 1 "]),
    text,
)


def argv_for(options):
    """Random argv made of @options (name -> strategy of its value, None for a flag)."""
    def pairs(names):
        out = []
        for n in names:
            out.append(st.just([n]) if options[n] is None
                       else options[n].map(lambda v, n=n: [n, v]))
        return st.tuples(*out).map(lambda parts: [x for p in parts for x in p])
    return st.lists(st.sampled_from(sorted(options)), max_size=4).flatmap(pairs)


VERIFY_OPTS = {"--seconds": number, "--threads": number, "--widen-ns": number,
               "--widen-prob": number, "--seed": number, "--step": number,
               "--mode": st.sampled_from(["replay", "stress", "x", ""]),
               "--variant": st.sampled_from(["original", "nope", ""]),
               "--scenario": st.sampled_from(["page-reuse", "nope", ""]),
               "--json": st.sampled_from(["", "/nonexistent/x.json", "/"]),
               "--throttle-us": number, "--writers": number, "--bound-ms": number,
               "--io-us": number, "--gap-us": number, "--starve-seconds": number}


@FAST
@given(argv=argv_for(VERIFY_OPTS))
def test_verify_arguments(argv, capsys, monkeypatch):
    # the cells are not run: what is checked is that parsing and validation answer
    monkeypatch.setattr(cli_verify.matrix, "run_cell", lambda *a, **k: pytest.skip("ran"))
    monkeypatch.setattr(_cli, "_registrars", lambda: iter([cli_verify.register]))
    try:
        rc, _, err = run(capsys, ["verify"] + argv)
    except pytest.skip.Exception:
        return      # accepted: a valid command line
    one_line_or_ok(rc, err)


BENCH_OPTS = {"--threads": number, "--bits": number, "--chain": number,
              "--suite": st.sampled_from(["floor", "nope", ""]),
              "--variant": st.sampled_from(["original", "nope", ""]),
              "--machine": text, "--fast": None, "--smoke": None}


@FAST
@given(argv=argv_for(BENCH_OPTS))
def test_bench_arguments(argv, capsys, monkeypatch, tmp_path):
    no_spawn(monkeypatch)
    try:
        rc, _, err = run(capsys, ["bench", "--no-report", "-o", str(tmp_path / "r")] + argv)
    except Spawned:
        return      # accepted: it got as far as starting a suite
    one_line_or_ok(rc, err)


REPORT_OPTS = {"--name": text, "--baseline": st.sampled_from(["original", "nope", ""]),
               "--weight": st.tuples(st.sampled_from(["hotpath/end_page_writeback_one_waiter",
                                                      "x", ""]), number).map("=".join)}


@FAST
@given(argv=argv_for(REPORT_OPTS), cmd=st.sampled_from(["choose", "report"]))
def test_report_and_choose_arguments(argv, cmd, capsys, monkeypatch, tmp_path):
    import pagecore.cli.report as cr

    monkeypatch.setattr(_cli, "_registrars", lambda: iter([cli_report.register]))
    from pagecore.report.writer import check_name

    # rendering is the report tests' business; here: every option is parsed and checked
    monkeypatch.setattr(cr, "_write", lambda rs, out, name, *a, **k: check_name(name))
    if cmd == "choose" and "--name" in argv:
        return
    rc, _, err = run(capsys, [cmd, DATA, "-o", str(tmp_path / "o")] + argv
                     if cmd == "report" else [cmd, DATA] + argv)
    one_line_or_ok(rc, err)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
    max_leaves=20)


def corrupt(raw, data):
    """Flip, cut or splice bytes of a valid result file."""
    how = data.draw(st.sampled_from(["cut", "flip", "insert"]))
    i = data.draw(st.integers(0, max(0, len(raw) - 1)))
    if how == "cut":
        return raw[:i]
    if how == "flip":
        return raw[:i] + bytes([raw[i] ^ data.draw(st.integers(1, 255))]) + raw[i + 1:]
    return raw[:i] + data.draw(st.binary(max_size=8)) + raw[i:]


@FAST
@given(data=st.data())
def test_result_files(data, capsys, monkeypatch, tmp_path_factory):
    import pagecore.cli.report as cr

    monkeypatch.setattr(_cli, "_registrars", lambda: iter([cli_report.register]))
    monkeypatch.setattr(cr, "_write", lambda *a, **k: None)     # loading is what is tested
    d = tmp_path_factory.mktemp("files") / "m"
    d.mkdir()
    kind = data.draw(st.sampled_from(["random", "verify", "corrupt"]))
    if kind == "random":
        raw = json.dumps(data.draw(json_values)).encode()
    elif kind == "verify":
        raw = json.dumps({"results": data.draw(st.lists(json_values, max_size=3))}).encode()
    else:
        src = data.draw(st.sampled_from(["floor.json", "hotpath.json", "verify.json"]))
        with open(os.path.join(DATA, "alpha", src), "rb") as f:
            raw = corrupt(f.read(), data)
    (d / "x.json").write_bytes(raw)
    rc, _, err = run(capsys, ["choose", str(d)])
    assert rc in (0, 2), err
    one_line_or_ok(rc, err)


def test_an_inconclusive_cell_makes_a_variant_unverified_never_clean(tmp_path):
    from pagecore.report import results, verdicts

    rows = [{"variant": "folio-6.7", "scenario": s, "mode": "stress", "failures": [],
             "counts": {"ops": 0}, "evidence": []} for s in ("writeback-set-again", "page-reuse")]
    rows[1]["inconclusive"] = "no operation ran in 0.01 s"
    f = tmp_path / "verify.json"
    f.write_text(json.dumps({"results": rows}))
    rs = results.load_results([str(f)])
    state, why = verdicts.status(rs, "folio-6.7")
    assert state == "unverified" and "inconclusive: page-reuse" in why
    del rows[1]["inconclusive"]
    f.write_text(json.dumps({"results": rows}))
    assert verdicts.status(results.load_results([str(f)]), "folio-6.7")[0] == "clean"
