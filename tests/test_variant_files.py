"""Variants as files: a template compiles to the built-in's verdicts and cost, bad files
are refused with one line, a deadlocking file is a hang, a file dropped in a variants
directory is a variant, and README's table is the files' headers."""

import os
import re
import subprocess
import sys
import time

import pytest

from pagecore.model import _core, _core_instr, variants
from pagecore.verify.explore import explore
from pagecore.verify.replay import replay

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

HEADER = """/*
 * Variant: %s
 * Kind: writeback
 * Base: original
 * Source: a test
 * Summary: %s
 */
"""


def pagecore(*args, env=None):
    # Run from tests/, not the repository root: there `python -m pagecore`
    # would import the source tree, which has no compiled core, ahead of the
    # installed package.
    return subprocess.run([sys.executable, "-m", "pagecore"] + list(args), cwd=HERE,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


def write(tmp_path, name, body, summary="a test variant"):
    path = tmp_path / (name + ".c")
    path.write_text(HEADER % (name, summary) + body)
    return str(path)


def renamed_template(tmp_path, builtin, name):
    text = variants.template(builtin)
    text = re.sub(r"(?m)^ \* Variant: .*$", " * Variant: " + name, text, count=1)
    path = tmp_path / (name + ".c")
    path.write_text(text)
    return str(path)


def test_template_is_the_source_compiled_in():
    v = variants.get_variant("folio-6.7")
    with open(os.path.join(ROOT, "pagecore", "variants", "folio-6.7.c")) as f:
        assert variants.template("folio-6.7") == f.read()
    assert v.defined_in("folio_end_writeback") == "pagecore/variants/folio-6.7.c"
    assert v.defined_in("wake_page_function") == "pagecore/kernel/mm/filemap.c"


@pytest.mark.parametrize("builtin", ["folio-6.7", "original"])
def test_template_round_trip_gives_the_builtins_verdicts(tmp_path, builtin):
    mine = variants.register_file(renamed_template(tmp_path, builtin, "mine-" + builtin))
    for scenario in ("writeback-set-again", "page-reuse"):
        a, b = (explore(n, scenario, max_schedules=20000) for n in (builtin, mine.name))
        assert a["failures"] == b["failures"]
        assert a["counts"]["schedules"] == b["counts"]["schedules"]
        assert a["counts"]["steps"] == b["counts"]["steps"]
    a, b = (replay(n, "writeback-set-again") for n in (builtin, mine.name))
    assert a["failures"] == b["failures"]
    # the same code for every operation: an A/A pair to the harness
    ops = list(variants.OP_FIELDS)
    assert mine.implementation(ops) == variants.get_variant(builtin).implementation(ops)


def test_template_round_trip_costs_the_same(tmp_path):
    # Same source, built as two objects: the timed loop of each, alternated so that the
    # machine's drift falls on both, best of several.  The A/A bound of the suites is
    # 10%; a loop this short on a shared machine gets a wider margin, and only a
    # systematic difference (another object, another layout) could exceed it.
    mine = variants.register_file(renamed_template(tmp_path, "folio-6.7", "mine-aa"))
    best = {}
    for _ in range(15):
        for name in ("folio-6.7", mine.name):
            _core.configure(name)
            _core.bench_end_page_writeback_no_waiters(20000)
            t = _core.bench_end_page_writeback_no_waiters(200000)
            best[name] = min(best.get(name, t), t)
    ratio = best[mine.name] / best["folio-6.7"]
    assert 0.8 < ratio < 1.25, best


@pytest.mark.parametrize("body, message", [
    ("void end_page_writeback(struct page *page)\n{\n\tif (!test_clear_page_writeback(page)"
     "\n\t\tBUG();\n}\n", r"^pagecore: \S+syntax\.c:\d+: expected"),
    ("void end_page_writeback(struct page *page)\n{\n\ttest_clear_page_writeback_now(page);"
     "\n}\n", r"^pagecore: \S+unknown\.c:\d+: implicit declaration of function"),
    ("void helper(struct page *page);\n\nvoid end_page_writeback(struct page *page)\n{\n"
     "\thelper(page);\n}\n", r"^pagecore: \S+missing\.c: calls helper, which neither"),
])
def test_a_bad_file_gives_one_line_and_exit_2(tmp_path, body, message):
    name = re.search(r"S\+(\w+)", message).group(1)
    path = write(tmp_path, name, body)
    r = pagecore("try", path, "--budget", "30s", "-o", str(tmp_path / "out"),
                 env={"PAGECORE_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if not ln.startswith("try: ")]
    assert len(lines) == 1 and re.match(message, lines[0]), r.stderr
    assert "Traceback" not in r.stderr


def test_a_file_that_deadlocks_is_a_hang_and_the_tool_returns(tmp_path):
    path = write(tmp_path, "deadlock", """void end_page_writeback(struct page *page)
{
	wait_queue_head_t *q = page_waitqueue(page);

	spin_lock(&q->lock);
	spin_lock(&q->lock);
	TestClearPageWriteback(page);
	spin_unlock(&q->lock);
}
""")
    t0 = time.monotonic()
    r = pagecore("verify", "--variant-file", path, "--mode", "explore", "--scenario",
                 "writeback-set-again", "--max-schedules", "1000")
    assert r.returncode == 1, r.stderr     # the file, named, hangs: a safety failure
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("deadlock "))
    assert "hang" in row and "racy" in row
    assert time.monotonic() - t0 < 120


def test_the_watchdog_ends_a_deadlocked_replay(tmp_path):
    # replay runs real threads: the spinner on the lock it holds gives up when told to
    body = """void end_page_writeback(struct page *page)
{
	wait_queue_head_t *q = page_waitqueue(page);

	spin_lock(&q->lock);
	spin_lock(&q->lock);
}
"""
    variants.register_file(write(tmp_path, "deadlock2", body))
    from pagecore.model.machine import Model, run_threads

    m = Model("deadlock2", instrumented=True)
    p = m.new_page()
    m.start_writeback(p)
    run = run_threads(m.core, {"ender": lambda: m.end_page_writeback(p)}, timeout=2)
    assert run.hung


def test_a_file_dropped_in_a_variants_directory_is_listed(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    write(d, "dropped-in", "", summary="nothing changed")
    r = pagecore("variants", "--json", env={"PAGECORE_VARIANT_PATH": str(d)})
    assert r.returncode == 0, r.stderr
    import json

    rows = {x["name"]: x for x in json.loads(r.stdout)}
    assert rows["dropped-in"]["base"] == "original" and not rows["dropped-in"]["builtin"]
    assert {"folio-6.7", "shipped-5.10", "cpdfio-2.6.19"} <= set(rows)


def test_readme_table_is_the_headers():
    from pagecore.cli import variants_markdown

    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    table = text.split("<!-- variants: pagecore variants --markdown -->\n", 1)[1]
    table = table.split("<!-- /variants -->", 1)[0]
    builtins = [v.as_dict() for v in variants.VARIANTS.values() if v.builtin]
    assert table == variants_markdown(builtins)


def test_every_builtin_cites_its_source_and_builds():
    for name, v in variants.VARIANTS.items():
        if not v.builtin:
            continue
        assert v.commit and v.summary
        for instr in (False, True):
            assert os.path.exists(variants.shared_object(v, instrument=instr))
        _core_instr.configure(name)
        assert _core_instr.variant() == name


def test_try_exit_status_gates_the_file_or_every_variant():
    from pagecore.benchmark.trial import exit_status

    def doc(mine=None, other=None, unsure=()):
        return {"variant": "mine", "safety": {
            "mine": {"failures": mine or {}, "inconclusive": list(unsure)},
            "folio-6.7": {"failures": other or {}, "inconclusive": []}}}
    assert exit_status(doc()) == 0
    assert exit_status(doc(mine={"page-reuse": ["bug_on"]})) == 1
    assert exit_status(doc(other={"page-reuse": ["bug_on"]})) == 0
    assert exit_status(doc(other={"page-reuse": ["bug_on"]}), fail_on_race=True) == 1
    assert exit_status(doc(unsure=["writeback-set-again"])) == 3


@pytest.mark.parametrize("text,want", [("90s", 90.0), ("10m", 600.0), ("1h", 3600.0),
                                       ("45", 45.0), (".5m", 30.0), (120, 120.0)])
def test_try_reads_a_budget_as_verify_does(text, want):
    from pagecore.benchmark.trial import parse_budget

    assert parse_budget(text) == want


@pytest.mark.parametrize("text,why", [
    ("5x", "--budget must be a time: 90s, 10m, 1h or seconds, not '5x'"),
    ("10s", "--budget must be between 30s and 24h, not '10s'"),
    ("25h", "--budget must be between 30s and 24h, not '25h'")])
def test_try_refuses_a_budget_it_cannot_spend(text, why):
    from pagecore._errors import PagecoreError
    from pagecore.benchmark.trial import parse_budget

    with pytest.raises(PagecoreError) as e:
        parse_budget(text)
    assert str(e.value) == why
