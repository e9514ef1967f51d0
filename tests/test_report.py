"""The overhead report: built from the small result set in tests/data/report.

The data (two machines, see tests/data/report/make_data.py) is synthetic, so every number the
report prints can be recomputed here from the pyperf files themselves.  Nothing here needs
the compiled core: the report reads JSON only.
"""

import json
import math
import os
import re
import statistics
import subprocess
import sys

import pyperf
import pytest

from pagecore import cli as _cli
from pagecore._errors import PagecoreError
from pagecore.cli import report as cli_report
from pagecore.report import checks, choose, formats, results, stats, verdicts, writer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "report")
ALPHA = os.path.join(DATA, "alpha")
BETA = os.path.join(DATA, "beta")


@pytest.fixture(autouse=True)
def only_report_commands(monkeypatch):
    # The CLI also registers verify and bench, which need the compiled core; these tests
    # drive the real main() with just the report's commands.
    monkeypatch.setattr(_cli, "_registrars", lambda: iter([cli_report.register]))


def run_cli(capsys, *argv, verify=False):
    """main(@argv); report and choose with --no-verify unless @verify: the synthetic
    results measure variants they hold no verdict for, and these tests read what they
    hold (test_report_verifies_what_has_no_verdict runs the verification)."""
    argv = list(argv)
    if argv and argv[0] in ("report", "choose") and not verify:
        argv.append("--no-verify")
    rc = _cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def raw_mean(machine, suite, name):
    """A benchmark's cost straight from pyperf: the mean of its per-run means."""
    suite_ = pyperf.BenchmarkSuite.load(os.path.join(DATA, machine, suite + ".json"))
    bench = suite_.get_benchmark(name)
    return statistics.fmean(statistics.fmean(r.values) for r in bench.get_runs())


# -- loading ------------------------------------------------------------------------------

def test_root_machine_dir_and_single_files_load_alike():
    root = results.load_results([DATA])
    assert list(root.machines) == ["alpha", "beta"]
    one = results.load_results([ALPHA])
    assert list(one.machines) == ["alpha"]
    files = results.load_results([os.path.join(ALPHA, "hotpath.json"),
                                  os.path.join(ALPHA, "verify.json")])
    assert list(files.machines) == ["alpha"]
    assert files.has_verify
    assert {r.suite for r in files.results()} == {"hotpath"}
    # the same file named twice is read once
    twice = results.load_results([DATA, ALPHA])
    assert len(list(twice.results())) == len(list(root.results()))


def test_names_params_and_events_are_parsed():
    rs = results.load_results([ALPHA])
    r = rs.machines["alpha"].results[
        "hashchain/end_page_writeback/folio-6.7/bits=8/chain=64/entries=warm"]
    assert (r.suite, r.case, r.variant) == ("hashchain", "end_page_writeback", "folio-6.7")
    assert r.param("chain") == 64 and r.param("bits") == 8 and r.param("entries") == "warm"
    assert r.events["walked"] == 65
    assert r.n == 5   # five worker processes, each a sample
    assert sorted(r.by_worker) == [0, 1, 2, 3, 4]
    assert r.impl == "end_wb=folio folio_layout=true wake_gen=5.9 bookmarks=false"
    assert r.mean == pytest.approx(raw_mean("alpha", "hashchain", r.name))
    # a benchmark without pagecore_events metadata has unknown, not zero, counts
    cycle = rs.machines["alpha"].results["hotpath/writeback_cycle/original"]
    assert cycle.events is None
    assert formats.fmt_events(cycle.events) == "–"


def test_parse_name_rejects_what_is_not_suite_case_variant():
    assert results.parse_name("2to3") is None
    assert results.parse_name("hotpath/x") is None
    assert results.parse_name("hotpath/x/v/chain") is None
    assert results.parse_name("hotpath/x/v/chain=4") == ("hotpath", "x", "v", (("chain", "4"),))


# -- statistics ---------------------------------------------------------------------------

def test_welch_separates_shifted_samples_and_not_noise():
    a = [10.0, 10.1, 9.9, 10.05, 9.95]
    assert stats.welch(a, [x + 1 for x in a])[0] is True
    assert stats.welch(a, [10.02, 9.98, 10.1, 9.9, 10.0])[0] is False
    # one run: significance is unknown, not guessed
    assert stats.welch([1.0], [2.0]) == (None, None)


def test_change_text_marks_significance():
    rs = results.load_results([ALPHA])
    res = rs.machines["alpha"].results
    base = res["hotpath/end_page_writeback_no_waiters/original"]
    getput = res["hotpath/end_page_writeback_no_waiters/get-put"]
    ch = stats.change(base, getput)
    # get/put adds two atomics: about +60% in the synthetic data, far outside the noise
    assert 50 < ch.pct < 70
    assert ch.significant is True
    assert re.fullmatch(r"\+\d+\.\d% ±\d+\.\d% \*", ch.text())
    unlock = [res[f"hotpath/unlock_page_no_waiters/{v}"] for v in ("original", "get-put")]
    assert stats.change(*unlock).text().endswith(" ~")


def test_linfit_recovers_slope():
    xs = [0, 1, 4, 16, 64, 256]
    fit = stats.linfit(xs, [3.0 + 2.5 * x for x in xs])
    assert fit.slope == pytest.approx(2.5) and fit.intercept == pytest.approx(3.0)
    assert fit.slope_se == pytest.approx(0, abs=1e-9)
    assert fit.solve(3.0 + 2.5 * 100) == pytest.approx(100)
    noisy = stats.linfit(xs, [3.0 + 2.5 * x + (-1) ** i for i, x in enumerate(xs)])
    assert noisy.slope_ci > noisy.slope_se > 0
    assert abs(noisy.slope - 2.5) < noisy.slope_ci


def test_paired_change_sees_through_a_slow_process():
    # every process of the synthetic data has a speed of its own (up to 35% slow), shared by
    # all its variants: wake-under-i_pages costs 1 ns (7%) more than original on the
    # no-waiter path, which per-process pairing finds and unpaired Welch does not
    rs = results.load_results([ALPHA])
    res = rs.machines["alpha"].results
    base = res["hotpath/end_page_writeback_no_waiters/original"]
    wui = res["hotpath/end_page_writeback_no_waiters/wake-under-i_pages"]
    paired = stats.change(base, wui)
    assert paired.paired and paired.n == 5 and paired.significant is True
    assert 4 < paired.pct < 10 and paired.lo > 0
    unpaired = stats.change(base, wui, paired=False)
    assert not unpaired.paired and unpaired.significant is False


def test_identical_source_is_never_called_significant():
    rs = results.load_results([ALPHA])
    res = rs.machines["alpha"].results
    base = res["hotpath/end_page_writeback_no_waiters/original"]
    same = res["hotpath/end_page_writeback_no_waiters/loop-in-wait"]
    assert base.impl == same.impl
    ch = stats.change(base, same, same_source=True)
    assert ch.significant is None and "same source" in ch.text()
    groups = checks.aa_groups(rs)
    keys = {(g.key, frozenset(r.variant for r in g.members)) for g in groups}
    assert ("hotpath/end_page_writeback_no_waiters",
            frozenset({"original", "loop-in-wait"})) in keys
    assert ("hotpath/wait_on_page_writeback_clear",
            frozenset({"original", "loop-in-wait", "get-put", "wake-under-i_pages",
                       "shipped-5.10", "folio-6.7"})) in keys
    assert not [g for g in groups if g.artefact]


def test_an_identical_source_group_that_differs_is_flagged_an_artefact():
    rs = results.load_results([ALPHA])
    (g,) = [g for g in checks.aa_groups(rs)
            if g.key == "hotpath/end_page_writeback_no_waiters"
            and "original" in {r.variant for r in g.members}]
    slow = g.members[1]
    g.members[1] = results.Result(slow.machine, slow.name, slow.suite, slow.case, slow.variant,
                                  slow.params, tuple(x * 1.5 for x in slow.samples),
                                  by_worker={k: v * 1.5 for k, v in slow.by_worker.items()},
                                  impl=slow.impl)
    assert g.artefact and g.spread == pytest.approx(0.5, rel=0.1)


def test_a_group_that_wakes_a_sleeping_cpu_is_judged_by_medians_and_a_test():
    # 60 values each: 10 to 15 us, a few whole values at 2.8 ms where the host ran both vCPUs
    # on one CPU; the same distribution in both members, hit 3 and 12 times
    import random

    rng = random.Random(7)

    def member(variant, slow, scale=1.0):
        vals = [rng.uniform(10e-6, 15e-6) * scale for _ in range(60 - slow)] + [2.8e-3] * slow
        rng.shuffle(vals)
        return results.Result("m", f"hotpath/unlock_page_sleeping_waiter/{variant}", "hotpath",
                              "unlock_page_sleeping_waiter", variant, (), tuple(vals),
                              events={"sleeps": 1, "wakeups": 1}, impl="x")

    g = checks.Group("m", "hotpath/unlock_page_sleeping_waiter", "x",
                     [member("original", 3), member("loop-in-wait", 12)])
    assert g.host
    # the means are 4x apart, the medians within a few percent: not an artefact
    assert max(r.mean for r in g.members) / min(r.mean for r in g.members) > 2
    assert g.spread < 0.1 and not g.artefact
    # a member whose values are all 40% slower is one, by both
    g.members[1] = member("loop-in-wait", 3, scale=1.4)
    assert g.spread > 0.2 and g.host_p < checks.AA_HOST_P and g.artefact


# -- choosing a fix -----------------------------------------------------------------------

def test_choice_ranks_only_clean_variants_by_weighted_cost():
    rs = results.load_results([DATA])
    (alpha, beta) = choose.choose(rs, kind="writeback")
    assert alpha.machine == "alpha" and alpha.verified
    assert [r.variant for r in alpha.ranked] == ["folio-6.7", "shipped-5.10"]
    excluded = {v: why for v, why, _ in alpha.excluded}
    assert "writeback-set-again" in excluded["original"]
    assert "page-reuse" in excluded["loop-in-wait"]
    # the weighted cost is sum(weight x cost), recomputed from the raw pyperf files
    for rk in alpha.ranked:
        want = sum(w * raw_mean("alpha", key.split("/")[0],
                                _bench_name(key, rk.variant))
                   for key, w in choose.DEFAULT_MIX.items() if not key.startswith("dirty"))
        assert rk.cost == pytest.approx(want)
    # beta ran no hashchain suite: that term is dropped there, not silently zero
    key = "hashchain/end_page_writeback/bits=8/chain=4/entries=cold"
    assert [k for k, _ in beta.dropped] == [key]
    assert key not in beta.mix
    # ranked by the paired difference against the baseline, with its interval
    for rk in alpha.ranked:
        d = rk.vs_baseline
        assert d.lo <= d.mean <= d.hi
        assert d.mean == pytest.approx(rk.cost - alpha.baseline.cost)


def _bench_name(key, variant):
    parts = key.split("/")
    return "/".join(parts[:2] + [variant] + parts[2:])


def test_flip_point_is_where_the_order_changes():
    rs = results.load_results([ALPHA])
    # a mix in which the leader is dearer in one term (alpha's folio-6.7 wakes a waiter dearer)
    base = {"hotpath/end_page_writeback_no_waiters": 0.6,
            "hotpath/wait_on_page_writeback_clear": 0.2,
            "hotpath/end_page_writeback_one_waiter": 0.1,
            "hashchain/end_page_writeback/bits=8/chain=4/entries=cold": 0.1}
    (c,) = choose.choose(rs, base, kind="writeback")
    g = c.gaps()[0]
    assert g.flip is not None
    key, w, at = g.flip
    first = g.cheaper.variant
    for nudge, expect_first in ((-0.05, True), (0.05, False)):
        mix = dict(base, **{key: at + nudge if at > w else at - nudge})
        (c2,) = choose.choose(rs, mix, kind="writeback")
        assert (c2.ranked[0].variant == first) is expect_first


def test_without_verify_results_everything_is_ranked_with_a_warning():
    rs = results.load_results([BETA])
    (c,) = choose.choose(rs, kind="writeback")
    assert not c.verified
    assert {r.variant for r in c.ranked} >= {"original", "get-put", "folio-6.7"}
    assert not c.excluded
    assert "No verification results" in choose.reasoning(c)[0]


def test_dirty_path_is_ranked_against_its_own_baseline():
    rs = results.load_results([ALPHA])
    (c,) = choose.choose(rs, kind="dirty")
    assert [r.variant for r in c.ranked] == ["cpdfio-set-page-dirty"]
    assert c.baseline.variant == "cpdfio-2.6.19"
    reasons = choose.reasoning(c, verdicts.verdicts(rs))
    assert any("closes mmap-lost-write" in line for line in reasons)


def test_weights_from_toml_replace_the_kind_they_name(tmp_path):
    f = tmp_path / "w.toml"
    f.write_text('[weights]\n"hotpath/wait_on_page_writeback_clear" = 1.0\n')
    mix = choose.make_mix(str(f))
    assert {k: w for k, w in mix.items() if not k.startswith("dirty")} == {
        "hotpath/wait_on_page_writeback_clear": 1.0}
    # the dirty part of the default mix is kept
    assert "dirty/cpdfio_writepage/state=unmapped" in mix
    rs = results.load_results([ALPHA])
    (c,) = choose.choose(rs, mix, kind="writeback")
    # wait_on_page_writeback_clear alone: the same code in every variant, so whatever was
    # measured the answer is a tie, never a winner
    assert c.gaps()[0].same_source and c.gaps()[0].tie
    assert c.winner() is None
    assert [rk.variant for rk in c.tied_with_leader()] == [rk.variant for rk in c.ranked]
    assert any(line.startswith("**Tie**") for line in choose.reasoning(c))


def test_example_weights_file_is_valid():
    example = os.path.join(ROOT, "reports", "weights.example.toml")
    mix = choose.make_mix(example)
    assert sum(w for k, w in mix.items() if not k.startswith("dirty")) == pytest.approx(1.0)


# -- the report ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    # matplotlib makes a report take seconds: build the two-machine one once
    return writer.write_report([DATA], outdir=str(tmp_path_factory.mktemp("reports")))


def test_write_report_is_self_contained(full_report):
    page = full_report
    d = os.path.dirname(page)
    assert os.path.basename(d) == "alpha+beta"
    pngs = sorted(f for f in os.listdir(d) if f.endswith(".png"))
    assert pngs == ["fig-contention.png", "fig-dirty.png", "fig-floor.png",
                    "fig-hashchain-end_page_writeback.png", "fig-hashchain-ipages_hold.png",
                    "fig-hotpath.png"]
    html = read(page)
    # every figure is inlined; nothing is fetched from beside the file
    assert html.count("data:image/png;base64,") == len(pngs)
    assert not re.search(r'src="(?!data:)', html)
    assert re.search(r'<td class="[^"]*\bracy\b', html)
    assert re.search(r'<td class="[^"]*\bclean\b', html)
    # each matrix cell links to its evidence, folded under the matrix
    for anchor in re.findall(r'<a href="#(ev-[a-z0-9-]+)">', html):
        assert f'<details id="{anchor}" class="ev">' in html
    md = read(os.path.join(d, "report.md"))
    for png in pngs:
        assert f"({png})" in md
    for section in ("## Answer", "## Choosing a fix", "## Verification matrix",
                    "## Hot path", "## Hash chains", "## Contention", "## Dirty path",
                    "## Floor"):
        assert section in md


def _md_table(text):
    """The first Markdown table in text, as a list of dicts."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    rows = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    head, body = rows[0], rows[2:]
    return [dict(zip(head, r)) for r in body]


def test_recommendation_agrees_with_the_reports_own_numbers(full_report):
    md = read(os.path.join(os.path.dirname(full_report), "report.md"))
    for machine in ("alpha", "beta"):
        answer = re.search(rf"On \*\*{machine}\*\* the cheapest \S+ writeback fix is "
                           r"\*\*(\S+)\*\*", md).group(1)
        section = md[md.index(f"### {machine}: writeback fixes"):]
        ranking = _md_table(section)
        breakdown = _md_table(section[section.index("Term by term"):])
        # weighted = sum(w x cost) within print rounding, and the answer is the cheapest
        # variant not marked racy
        clean = {}
        for row in breakdown:
            cost = 0.0
            for col, cell in row.items():
                m = re.search(r"\(w ([0-9.]+)\)", col)
                if m:
                    cost += float(m.group(1)) * float(cell.replace(",", ""))
            assert cost == pytest.approx(float(row["weighted"].replace(",", "")), rel=0.01)
            if "(racy)" not in row["variant"]:
                clean[row["variant"]] = cost
        assert answer == min(clean, key=clean.get)
        assert ranking[0]["variant"] == answer and ranking[0]["rank"] == "1"


def test_report_for_one_machine_without_verify_says_so(tmp_path):
    page = writer.write_report(BETA, outdir=str(tmp_path))
    md = read(os.path.join(os.path.dirname(page), "report.md"))
    assert os.path.basename(os.path.dirname(page)) == "beta"
    assert "No verify results were given" in md
    assert "(unverified)" in md


# -- commands -----------------------------------------------------------------------------

def test_report_command_prints_where_the_report_is(tmp_path, capsys):
    rc, out, err = run_cli(capsys, "report", DATA, "-o", str(tmp_path), "--name", "x")
    assert rc == 0, err
    assert out.splitlines()[0] == "report: " + str(tmp_path / "x" / "report.html")
    assert (tmp_path / "x" / "report.md").exists()


def test_choose_command_prints_ranking_and_reasons(capsys):
    rc, out, err = run_cli(capsys, "choose", DATA, "--kind", "writeback")
    assert rc == 0, err
    assert out.startswith("alpha: writeback variants")
    assert re.search(r"^\s*1\s+folio-6.7\s", out, re.MULTILINE)
    assert "original is excluded: fails writeback-set-again" in out
    rc, out, _ = run_cli(capsys, "choose", ALPHA, "--kind", "writeback",
                         "--weight", "hotpath/end_page_writeback_one_waiter=5")
    assert re.search(r"^\s*1\s+shipped-5.10\s", out, re.MULTILINE)


def test_choose_json_gives_the_answer_to_a_script(capsys):
    rc, out, err = run_cli(capsys, "choose", ALPHA, "--kind", "writeback", "--json")
    assert rc == 0, err
    (c,) = json.loads(out)["choices"]
    assert c["winner"] == "folio-6.7" and c["tie"] == []
    assert [r["variant"] for r in c["ranking"]] == ["folio-6.7", "shipped-5.10"]
    (g,) = c["gaps"]
    assert g["gap_ns"]["lo"] <= g["gap_ns"]["diff"] <= g["gap_ns"]["hi"] and not g["tie"]
    excluded = {e["variant"]: e for e in c["excluded"]}
    assert excluded["original"]["failures"]["writeback-set-again"] == ["bug_on"]
    # the same-source term alone: a tie, and no winner
    rc, out, _ = run_cli(capsys, "choose", ALPHA, "--kind", "writeback", "--json",
                         "--weights", str(_only_wait_clear()))
    (c,) = json.loads(out)["choices"]
    assert c["winner"] is None and set(c["tie"]) == {"folio-6.7", "shipped-5.10"}


def _only_wait_clear():
    import tempfile

    f = os.path.join(tempfile.mkdtemp(), "w.toml")
    with open(f, "w") as out:
        out.write('[weights]\n"hotpath/wait_on_page_writeback_clear" = 1.0\n')
    return f


def test_choose_predict_ranks_from_another_machines_floor(capsys):
    rc, out, err = run_cli(capsys, "choose", ALPHA, "--kind", "writeback", "--json",
                           "--predict", os.path.join(BETA, "floor.json"))
    assert rc == 0, err
    (p,) = json.loads(out)["predicted"]
    # beta's floor: locked RMW 0.8 x 4.4 x 1.04 ns; get/put's two more RMWs per end of
    # writeback price shipped-5.10 above folio-6.7, whose events count the same RMWs but no
    # barrier: both predicted from events x unit costs, nothing measured on beta
    rmw = p["unit_costs_ns"]["atomic_rmw"]
    assert rmw == pytest.approx(0.8 * 4.4 * 1.04, rel=0.1)
    ranked = {r["variant"]: r for r in p["ranking"]}
    assert set(ranked) == {"folio-6.7", "shipped-5.10"}
    no_waiters = "hotpath/end_page_writeback_no_waiters"
    assert ranked["shipped-5.10"]["terms_ns"][no_waiters] == pytest.approx(
        p["unit_costs_ns"]["loop"] + 3 * rmw + p["unit_costs_ns"]["lock"])


def test_compare_command_pairs_benchmarks_with_significance(capsys):
    rc, out, err = run_cli(capsys, "compare", os.path.join(ALPHA, "hotpath.json"),
                           os.path.join(BETA, "hotpath.json"))
    assert rc == 0, err
    # beta's synthetic numbers are 20% below alpha's everywhere
    row = next(ln for ln in out.splitlines()
               if ln.startswith("hotpath/end_page_writeback_no_waiters/original "))
    pct = float(re.search(r"([-+]\d+\.\d)% ±", row).group(1))
    # two runs do not pair by worker number: compare is unpaired
    assert -25 < pct < -15 and row.endswith("faster")
    assert re.search(r"^42 benchmarks: 0 slower, \d+ faster", out.splitlines()[-1])


# -- bad input: one line, exit 2 ----------------------------------------------------------

def _bad_files(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"benchmarks": [')
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"name": "something else", "items": [1, 2]}))
    other_suite = tmp_path / "pyperformance.json"
    run = pyperf.Run([0.1, 0.2], metadata={"name": "2to3"}, collect_metadata=False)
    pyperf.BenchmarkSuite([pyperf.Benchmark([run])]).dump(str(other_suite))
    bad_pyperf = tmp_path / "badpyperf.json"
    bad_pyperf.write_text(json.dumps({"version": "1.0", "benchmarks": [{"runs": 3}]}))
    bad_verify = tmp_path / "verify.json"
    bad_verify.write_text(json.dumps({"results": [{"scenario": "page-reuse"}]}))
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[weights\n")
    neg_toml = tmp_path / "neg.toml"
    neg_toml.write_text('[weights]\n"hotpath/writeback_cycle" = -1\n')
    return locals()


@pytest.mark.parametrize("argv, message", [
    (["report", "{tmp}/missing"], "no such file or directory"),
    (["report", "{empty}"], "empty file"),
    (["report", "{corrupt}"], "not valid JSON"),
    (["report", "{foreign}"], "neither a pyperf result file nor a pagecore verify file"),
    (["report", "{other_suite}"], "not a pagecore result file"),
    (["report", "{bad_pyperf}"], "not a valid pyperf result file"),
    (["report", "{bad_verify}"], "has no 'variant' string"),
    (["report", "{empty_dir}"], "no result files"),
    (["report", DATA, "--baseline", "nope"], "unknown variant 'nope'"),
    (["report", BETA, "--baseline", "cpdfio-2.6.19"], "has no results"),
    (["choose", DATA, "--weights", "{bad_toml}"], "not valid TOML"),
    (["choose", DATA, "--weights", "{neg_toml}"], "must be a number in 0..1e+06"),
    (["choose", DATA, "--weights", "{tmp}/missing.toml"], "cannot read"),
    (["choose", DATA, "--weight", "hotpath/no_such_case=1"], "matches no benchmark"),
    (["choose", DATA, "--weight", "hotpath/writeback_cycle"], "must be KEY=WEIGHT"),
    (["choose", DATA, "--weight", "hotpath/writeback_cycle=x"], "must be a number"),
    (["choose", DATA, "--weight", "bogus/case=1"], "unknown suite 'bogus'"),
    (["compare", ALPHA, "{empty}"], "empty file"),
    (["compare", ALPHA, os.path.join(ALPHA, "verify.json")], "no benchmark results to compare"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, capsys, argv, message):
    files = {k: str(v) for k, v in _bad_files(tmp_path).items()}
    files["tmp"] = str(tmp_path)
    argv = [a.format(**files) for a in argv]
    rc, _, err = run_cli(capsys, *argv)
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("pagecore: ") and message in err


def test_bad_input_through_the_real_entry_point(tmp_path):
    # the installed command as a user runs it: no traceback, exit 2
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    code = ("import sys; from pagecore import cli as _cli;"
            "from pagecore.cli import report as cli_report;"
            "_cli._registrars = lambda: iter([cli_report.register]);"
            "sys.exit(_cli.main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, "-c", code, "report", str(bad)],
                       check=False, capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert p.returncode == 2
    assert p.stderr.startswith("pagecore: ") and "Traceback" not in p.stderr


def test_no_results_at_all_says_how_to_make_them(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = run_cli(capsys, "report")
    assert rc == 2 and "run `tox -e bench` first" in err


def test_write_report_raises_pagecore_error_for_bad_results(tmp_path):
    with pytest.raises(PagecoreError, match="no such file"):
        writer.write_report([str(tmp_path / "absent")], outdir=str(tmp_path))


# -- liveness: writeback-starvation ------------------------------------------------------

def _starvation_row(variant, starved):
    # shaped like pagecore.verify.starvation's result
    waits = [500.0] if starved else [1.1 + 0.01 * i for i in range(50)]
    lv = {"wait": "while" if starved else "if", "starved": starved, "throttle_us": 1000,
          "writers": 1, "bound_ms": 100.0, "io_us": 500, "gap_us": 0, "seconds": 0.5,
          "waits": len(waits), "immediate": 1, "wakes": 440 if starved else 50,
          "resleeps": 439 if starved else 0, "max_resleeps": 439 if starved else 0,
          "resleeps_per_wait": 439.0 if starved else 0.0, "mapping_breaks": 0,
          "wait_p50_ms": waits[len(waits) // 2], "wait_p99_ms": max(waits),
          "wait_max_ms": max(waits), "waits_over_bound": 1 if starved else 0,
          "longest_wait_writebacks": 880 if starved else 1, "writebacks": 880,
          "wait_ms": waits}
    return {"variant": variant, "scenario": "writeback-starvation", "mode": "replay",
            "failures": ["starved"] if starved else [],
            "counts": {"waits": len(waits), "resleeps": lv["resleeps"], "writebacks": 880,
                       "ops": 880 + len(waits)},
            "evidence": ["the slow waiter: ..."], "liveness": lv}


@pytest.fixture
def with_liveness(tmp_path):
    import shutil

    d = tmp_path / "alpha"
    shutil.copytree(ALPHA, d)
    doc = json.loads((d / "verify.json").read_text())
    loops = {"loop-in-wait", "shipped-5.10", "folio-6.7"}
    for v in ("original", "get-put", "loop-in-wait", "shipped-5.10", "wake-under-i_pages",
              "folio-6.7"):
        doc["results"].append(_starvation_row(v, v in loops))
    (d / "verify.json").write_text(json.dumps(doc))
    return d


def test_starved_is_liveness_not_a_race(with_liveness):
    rs = results.load_results([str(with_liveness)])
    table = verdicts.verdicts(rs)
    # folio-6.7 and shipped-5.10 pass every safety scenario and starve
    for v in ("folio-6.7", "shipped-5.10"):
        assert verdicts.status(rs, v, table)[0] == "clean"
        state, why = verdicts.liveness(rs, v, table)
        assert state == "starved" and "500 ms" in why and "439 times" in why
    assert verdicts.liveness(rs, "original", table)[0] == "live"
    assert verdicts.status(rs, "original", table)[0] == "racy"
    # verify results without the liveness scenario leave liveness unmeasured, not unverified
    old = results.load_results([ALPHA])
    assert verdicts.liveness(old, "folio-6.7")[0] == "unmeasured"
    assert verdicts.status(old, "folio-6.7")[0] == "clean"


def test_choose_exclude_starving(with_liveness, capsys):
    rc, out, err = run_cli(capsys, "choose", str(with_liveness), "--kind", "writeback")
    assert rc == 0, err
    assert re.search(r"^\s*1\s+folio-6.7\s", out, re.MULTILINE)
    assert "starve a slow waiter in writeback-starvation" in out
    rc, out, err = run_cli(capsys, "choose", str(with_liveness), "--kind", "writeback",
                           "--exclude-starving")
    assert rc == 1, err     # nothing left to recommend
    # the trade-off that remains, and the correct fix that starves least
    assert "No variant both closes every race and keeps a slow waiter live" in out
    assert "The correct fix that starves least is folio-6.7: p99 wait 500 ms" in out
    assert not re.search(r"^\s*\d+\s+(folio-6.7|shipped-5.10)\s", out, re.MULTILINE)
    assert "folio-6.7 is excluded: starves a slow waiter in writeback-starvation" in out
    assert "No variant passes every scenario" in out
    c = choose.choose(results.load_results([str(with_liveness)]), kind="writeback",
                      exclude_starving=True)[0]
    assert not c.ranked
    assert {v for v, _, _ in c.excluded} >= {"folio-6.7", "shipped-5.10", "original"}


def test_report_has_a_liveness_column_and_the_wait_time_plot(with_liveness, tmp_path):
    page = writer.write_report([str(with_liveness)], str(tmp_path / "out"), name="x")
    md = read(os.path.join(os.path.dirname(page), "report.md"))
    head = next(ln for ln in md.splitlines() if ln.startswith("| variant") and "verdict" in ln)
    cols = [c.strip() for c in head.strip("|").split("|")]
    assert cols[-2:] == ["verdict", "liveness"] and "writeback-starvation" not in cols
    row = next(ln for ln in md.splitlines() if ln.startswith("| folio-6.7 ") and "starved" in ln)
    assert "| clean " in row and "starved (439 re-sleeps, p99 500 ms)" in row
    assert os.path.exists(tmp_path / "out" / "x" / "fig-wait-times.png")
    assert "fig-wait-times.png" in md
    html = read(page)
    assert re.search(r'<td class="[^"]*\bstarved\b', html)
    assert re.search(r'<td class="[^"]*\blive\b', html)
    line = next(ln for ln in md.splitlines() if "a slow waiter starved in" in ln)
    starving = line.split(" with ", 1)[1].split(" (their waits loop)")[0].split(", ")
    assert sorted(starving) == ["folio-6.7", "loop-in-wait", "shipped-5.10"]


def test_report_exclude_starving_ranks_neither_racy_nor_starving(with_liveness, tmp_path, capsys):
    rc, out, err = run_cli(capsys, "report", str(with_liveness), "-o", str(tmp_path / "o"),
                           "--name", "x", "--exclude-starving")
    assert rc == 1, err     # written, and nothing left to recommend
    md = read(str(tmp_path / "o" / "x" / "report.md"))
    assert "folio-6.7 is excluded: starves a slow waiter in writeback-starvation" in md


# -- an answer that guides, a report that reads well ---------------------------------------

def test_a_tie_says_what_separates_the_tied_fixes(with_liveness, capsys):
    rc, out, err = run_cli(capsys, "choose", str(with_liveness), "--kind", "writeback",
                           "--json", "--weights", str(_only_wait_clear()))
    assert rc == 0, err
    (c,) = json.loads(out)["choices"]
    assert c["winner"] is None and set(c["tie"]) == {"folio-6.7", "shipped-5.10"}
    g = c["guide"]
    assert g["kind"] == "tie" and set(g["variants"]) == set(c["tie"])
    aspects = {a["aspect"]: a for a in g["aspects"]}
    assert set(aspects) >= {"races", "starvation", "worst case under contention",
                            "hash-chain slope"}
    # both close the same races and both starve: neither separates them
    assert not aspects["races"]["separates"] and not aspects["starvation"]["separates"]
    assert "starved (p99 wait 500 ms" in aspects["starvation"]["by_variant"]["folio-6.7"]
    # the synthetic data give folio-6.7 no bookmarks: its slope is the lower, far apart
    slope = aspects["hash-chain slope"]
    assert slope["separates"] and slope["favours"] == ["folio-6.7"]
    assert any(line.startswith("Choose on ") and "hash-chain slope" in line
               for line in g["lines"])
    rc, out, _ = run_cli(capsys, "choose", str(with_liveness), "--kind", "writeback",
                         "--weights", str(_only_wait_clear()))
    assert "what else tells them apart" in out and "> Choose on " in out


def test_json_counts_are_integers(capsys):
    rc, out, _ = run_cli(capsys, "choose", DATA, "--json")
    assert rc == 0
    text = out
    assert not re.search(r'"n": \d+\.\d', text)
    doc = json.loads(text)
    for c in doc["choices"]:
        for r in c["ranking"]:
            assert isinstance(r["rank"], int)
            if r["vs_baseline_ns"]:
                assert isinstance(r["vs_baseline_ns"]["n"], int)
        for g in c["gaps"]:
            assert isinstance(g["gap_ns"]["n"], int)


def test_one_process_gives_no_interval_and_no_significance():
    r = results.Result("m", "hotpath/x/original", "hotpath", "x", "original", (), (1e-8,))
    assert r.n == 1 and math.isinf(r.se)
    assert formats.fmt_cost(r) == "10.0 ±?"
    d = stats.combine([(1e-9, r.se ** 2, 1)])
    assert d.includes_zero and d.as_dict() == {"diff": 1.0, "lo": None, "hi": None, "n": 2}


def test_one_process_shows_no_interval_rather_than_one_of_width_zero():
    # a reader takes "±0.0%" or "[-29.4, -29.4]" for an exact measurement: one process per
    # variant (a --smoke run) measured no spread at all
    from pagecore.report import costs

    def one(variant, value):
        return results.Result("m", f"hotpath/x/{variant}", "hotpath", "x", variant, (),
                              (value,))
    ch = stats.change(one("original", 1e-8), one("get-put", 1.2e-8))
    assert ch.text() == "+20.0% ±? ?"
    assert ch.interval_text() == "[?, ?]"
    assert costs._ci(one("get-put", 1.2e-8)) == "?"
    rs = results.load_results([ALPHA])
    res = rs.machines["alpha"].results
    two = [res[f"hotpath/end_page_writeback_no_waiters/{v}"] for v in ("original", "get-put")]
    assert re.fullmatch(r"\[[-+]\d+\.\d, [-+]\d+\.\d\]", stats.change(*two).interval_text())
    assert costs._ci(two[0]) == formats.fmt_ns(two[0].ci)


def test_stress_evidence_gives_the_seed_to_pass_back_and_no_python_reprs():
    # seed=699,469,994 cannot be pasted into pagecore verify --seed; widened=['a', 'b'] is
    # Python's repr, not the report's
    row = {"mode": "stress", "evidence": [
        {"seed": 699469994, "ops": 4210, "widened": ["ewb_after_clear", "wake_after_clear"],
         "race_point_hits": {"ewb_after_clear": 1418}}]}
    line = verdicts._chunks(row)[0][0]
    assert line == ("seed=699469994, ops=4,210, widened=[ewb_after_clear, wake_after_clear], "
                    "race_point_hits={ewb_after_clear: 1418}")


def test_differences_against_the_baseline_are_written_as_costs_are():
    # the answer and the ranking said -2393.80 ns where the sentences beside them say 2,394
    assert formats.fmt_signed_ns(-2393.8e-9) == "-2,394"
    assert formats.fmt_signed_ns(36.79e-9) == "+36.8"
    assert formats.fmt_signed_ns(0.0) == "+0.00"
    assert formats.fmt_signed_ns(math.nan) == "?"


def test_an_explore_that_ran_nothing_is_not_called_clean_in_the_matrix():
    # a --smoke budget can end before explore runs one schedule: the cell said "clean ...
    # replay, stress agree" (or "disagree: explore clean") for a search that never ran
    from pagecore.report.verification import _cell

    def vd(stress_failures):
        return verdicts.Verdict([
            ("vm", {"mode": "explore", "failures": [], "preemptions": 1, "complete": False,
                    "counts": {"schedules": 0},
                    "inconclusive": "no schedule ran before the budget (20 s) ended"}),
            ("vm", {"mode": "stress", "failures": stress_failures,
                    "counts": {"ops": 5000}})])
    cell, _ = _cell(vd([]))
    assert (cell.text, cell.cls) == ("inconclusive", "unverified")
    assert cell.sub == ("explore ≤1 preemption: no schedule ran before the budget (20 s) "
                        "ended; stress: 5,000 ops")
    cell, _ = _cell(vd(["bug_on"]))
    assert (cell.text, cell.cls) == ("racy: bug_on", "racy")
    assert "explore clean" not in cell.text


def test_term_by_term_says_why_a_variant_is_not_ranked(tmp_path):
    # every variant left out of the ranking was labelled "(racy)", an unverified one too
    import shutil

    d = tmp_path / "alpha"
    shutil.copytree(ALPHA, d)
    doc = json.loads((d / "verify.json").read_text())
    for r in doc["results"]:
        if r["variant"] == "shipped-5.10":
            r["failures"], r["inconclusive"] = [], "the harness could not run it"
    (d / "verify.json").write_text(json.dumps(doc))
    page = writer.write_report([str(d)], str(tmp_path / "out"))
    md = read(os.path.join(os.path.dirname(page), "report.md"))
    assert re.search(r"^\| shipped-5\.10 \(unverified\) +\|", md, re.M)
    assert "shipped-5.10 (racy)" not in md
    assert re.search(r"^\| original \(racy\) +\|", md, re.M)


def test_a_tie_of_one_process_each_does_not_speak_of_an_interval(tmp_path, capsys):
    # a --smoke run: the tie bullet spoke of "the 95% interval of each one's paired
    # difference" where the next one says there is none
    import shutil

    d = tmp_path / "alpha"
    shutil.copytree(ALPHA, d)
    for suite in ("hotpath", "hashchain"):
        doc = json.loads((d / f"{suite}.json").read_text())
        for b in doc["benchmarks"]:
            b["runs"] = b["runs"][:1]
            b["runs"][0]["values"] = b["runs"][0]["values"][:1]
        (d / f"{suite}.json").write_text(json.dumps(doc))
    rc, out, err = run_cli(capsys, "choose", str(d), "--kind", "writeback")
    assert rc == 0, err
    tie = next(ln for ln in out.splitlines() if ln.startswith("- Tie between"))
    assert "one process per variant gives no interval" in tie
    assert "includes zero" not in tie


def test_report_md_is_small_and_every_image_is_inlined_once(full_report):
    d = os.path.dirname(full_report)
    md = read(os.path.join(d, "report.md"))
    assert len(md.encode()) < 100_000
    html = read(full_report)
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    pngs = [f for f in os.listdir(d) if f.endswith(".png")]
    assert len(images) == len(set(images)) == len(pngs)
    # what the Markdown leaves out is in the HTML's folds, and the JSON has it whole
    assert "folded in report.html" in md
    doc = json.loads(read(os.path.join(d, "report.json")))
    assert doc["verify"] and doc["choices"]
    assert all("evidence" in row for row in doc["verify"])


def test_report_says_what_pyperf_check_says(full_report):
    d = os.path.dirname(full_report)
    md = read(os.path.join(d, "report.md"))
    assert "## Stability: what pyperf check says" in md
    # the synthetic values are 1000 loops of tens of ns: pyperf's 1 ms rule flags them
    assert "the shortest raw value took under 1 ms. What to do:" in md
    assert " ⚠ |" in md


def test_pyperf_checks_follow_pyperf(tmp_path):
    import pyperf

    from pagecore.report.stability import pyperf_checks

    def bench(values, loops=10**6):
        runs = [pyperf.Run([v], metadata={"name": "hotpath/x/original", "loops": loops},
                           collect_metadata=False) for v in values]
        return pyperf.Benchmark(runs)
    steady = bench([1.0e-8 * (1 + 0.001 * i) for i in range(20)])
    assert pyperf_checks(steady) == []
    noisy = [k for k, _ in pyperf_checks(bench([1e-8, 1.5e-8, 1e-8, 2e-8, 1e-8]))]
    assert "sd" in noisy
    short = [k for k, _ in pyperf_checks(bench([1e-8] * 5, loops=1000))]
    assert short == ["short"]


def test_matrix_is_a_table_per_kind_with_the_verdict_first(full_report):
    html = read(full_report)
    tables = re.findall(r'<p class="cap">(\w+) variants</p>\s*<div class="tw"><table '
                        r'class="matrix">', html)
    assert tables == ["writeback", "dirty"]
    md = read(os.path.join(os.path.dirname(full_report), "report.md"))
    row = next(ln for ln in md.splitlines() if ln.startswith("| original ") and "racy: " in ln)
    assert "| racy: bug_on (replay; stress: 200,000 ops)" in row


def test_choose_says_when_the_baseline_was_not_measured(tmp_path, capsys):
    d = tmp_path / "m"
    d.mkdir()
    for suite in ("hotpath", "hashchain"):
        doc = json.loads(read(os.path.join(ALPHA, suite + ".json")))
        doc["benchmarks"] = [b for b in doc["benchmarks"]
                             if b["metadata"].get("name", "").split("/")[2]
                             in ("folio-6.7", "shipped-5.10")]
        (d / (suite + ".json")).write_text(json.dumps(doc))
    rc, out, err = run_cli(capsys, "choose", str(d), "--kind", "writeback")
    assert rc == 0, err
    assert ("original was not measured on m: the paired differences are against folio-6.7, "
            "the first writeback variant measured there") in out
    assert "vs original" not in out and "vs folio-6.7 (paired)" in out
    rc, out, err = run_cli(capsys, "report", str(d), "-o", str(tmp_path / "r"))
    assert rc == 0, err
    md = read(str(tmp_path / "r" / "m" / "report.md"))
    assert "`original` was not measured: writeback changes are against `folio-6.7`" in md


def _without_verdicts_of(tmp_path, variant):
    """alpha's results, less every verify row of @variant."""
    import shutil

    d = tmp_path / "alpha"
    shutil.copytree(ALPHA, d)
    doc = json.loads((d / "verify.json").read_text())
    doc["results"] = [r for r in doc["results"] if r["variant"] != variant]
    (d / "verify.json").write_text(json.dumps(doc))
    return d


def test_report_verifies_what_has_no_verdict_and_the_cache_keeps_it(tmp_path, capsys):
    d = _without_verdicts_of(tmp_path, "get-put")
    rc, out, err = run_cli(capsys, "report", str(d), "-o", str(tmp_path / "r"), "--name", "x",
                           "--verify-plan", "smoke", verify=True)
    assert rc in (0, 1), err
    assert "verify: verifying get-put: no verdict in these results" in err
    assert "explore [1/" in err         # progress, cell by cell
    doc = json.loads(read(tmp_path / "r" / "x" / "report.json"))
    md = read(tmp_path / "r" / "x" / "report.md")
    assert "Verdicts of get-put were not in these results: 0 of their" in md
    # every mode of every scenario of get-put has a row now, from running it
    from pagecore.model.variants import VARIANTS

    rows = [r for r in _verify_rows(doc) if r["variant"] == "get-put"]
    assert {r["scenario"] for r in rows} == set(VARIANTS["get-put"].all_scenarios)
    assert {"explore", "replay"} <= {r["mode"] for r in rows}
    n = len(rows)
    # choose finds them all in the cache now: nothing runs again
    rc, out, err = run_cli(capsys, "choose", str(d), "--kind", "writeback", "--verify-plan",
                           "smoke", verify=True)
    assert rc in (0, 1), err
    assert "explore [1/" not in err
    assert f"{n} of their {n} cells came from the cache of verdicts" in out
    # a variant that has verdicts in the results is not verified again
    assert "verifying original" not in err and "verifying get-put, " not in err


def _verify_rows(doc):
    found = []

    def walk(x):
        if isinstance(x, dict):
            if "variant" in x and "scenario" in x and "mode" in x:
                found.append(x)
            else:
                for v in x.values():
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    return found


def test_choose_without_verify_excludes_the_unjudged_as_not_verified(tmp_path, capsys):
    d = _without_verdicts_of(tmp_path, "get-put")
    rc, out, err = run_cli(capsys, "choose", str(d), "--kind", "writeback", "--json",
                           "--weight", "hashchain/end_page_writeback/bits=8/chain=4/entries=cold=0")
    assert "verify:" not in err
    excluded = {e["variant"]: e["reason"] for e in json.loads(out)["choices"][0]["excluded"]}
    assert excluded["get-put"].startswith("not verified: ")


def test_bad_input_is_refused_before_any_verification(tmp_path, capsys):
    d = _without_verdicts_of(tmp_path, "get-put")
    for argv in (["choose", str(d), "--weight", "bogus/case=1"],
                 ["report", str(d), "-o", str(tmp_path / "r"), "--name", "a/b"],
                 ["choose", str(d), "--predict", str(tmp_path / "missing.json")]):
        rc, out, err = run_cli(capsys, *argv, verify=True)
        assert rc == 2, (argv, err)
        assert "verify:" not in err and err.count("\n") == 1, err


def test_a_table_of_long_benchmark_names_can_wrap_to_the_page(tmp_path):
    # headers such as hotpath/unlock_page_no_waiters have no space to break at: without a
    # break opportunity after / and _ a table of a few of them runs off a 1400 px page
    from pagecore.report.html import Doc, render_html, render_markdown

    doc = Doc("t")
    doc.table(["variant", "hotpath/unlock_page_no_waiters (w 0.25)", "`dirty/state_x`"],
              [["get-put", "8%", "1%"]], ["left", "right", "right"])
    page = render_html(doc, str(tmp_path))
    heads = re.findall(r"<th[^>]*>(.*?)</th>", page)
    assert heads[1] == "hotpath/<wbr>unlock_<wbr>page_<wbr>no_<wbr>waiters (w 0.25)"
    assert heads[2] == "<code>dirty/<wbr>state_<wbr>x</code>"     # never inside a tag
    # cells keep to one line and the Markdown has no markup of the HTML's
    assert "<td>get-put</td>" in page
    assert "wbr" not in render_markdown(doc)


def test_identical_source_groups_wrap_their_members(full_report):
    # a group's members are many variants on one line: that column wraps, not the page
    html = read(full_report)
    i = html.index("identical-source groups</summary>")
    row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", html[i:]).group(1)
    members = re.search(r"<td[^>]*>get-put [\d.]+, shipped-5\.10 [\d.]+</td>", row)
    assert members.group(0).startswith('<td class="w">')
    # the spread in ns is written as every cost is (93,840 ns, not 93840.00 ns)
    spreads = re.findall(r"<td[^>]*>\d+\.\d% \(([^)]*) ns\)</td>", html[i:])
    assert spreads and all(re.fullmatch(r"[\d,]+|\d{2}\.\d|\d\.\d\d", x) for x in spreads)


def test_the_hot_path_table_is_a_fold_and_the_floor_shows_primitives_only(full_report):
    # report.md keeps to the answer and the figures: the 96-row hot-path table is in the
    # HTML page (and in report.md with --full); the floor's calibration paths are in the
    # section on predictions, not among the primitives
    md = read(os.path.join(os.path.dirname(full_report), "report.md"))
    html = read(full_report)
    hot_md = md[md.index("## Hot path"):md.index("## Contention")]
    assert "Every hotpath benchmark" in hot_md and "end_page_writeback_no_waiters |" not in hot_md
    i = html.index("Every hotpath benchmark")
    assert "end_page_writeback_no_waiters" in html[i:html.index("</details>", i)]
    floor_md = md[md.index("## Floor"):md.index("## Hot path")]
    assert "| path" not in floor_md
