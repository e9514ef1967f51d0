"""The explorer: every schedule up to a preemption bound, on the instrumented
build, with replayable failing schedules and timelines derived from the run."""

import json

import pytest

from pagecore import PagecoreError
from pagecore.cli import main
from pagecore.verify.explore import Runner, explore, explore_setup, replay_schedule
from pagecore.verify.scenarios import SCENARIOS, Setup
from pagecore.verify.schedules import load_schedule
from pagecore.verify.timeline import render_timeline

SET_AGAIN = SCENARIOS["writeback-set-again"].setups
FILE_PAGE = (("page", "P", 0, 0), ("start_writeback", "P"))


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_the_timeline_follows_the_width_it_is_given(columns, monkeypatch):
    res = explore("original", "writeback-set-again", preemptions=1)
    lines = render_timeline(res["counterexample"], columns)
    assert max(len(ln) for ln in lines) <= columns
    monkeypatch.setenv("COLUMNS", str(columns))
    assert render_timeline(res["counterexample"]) == lines


def test_a_clean_variant_is_clean_at_the_bound_and_says_its_reach():
    _, st, best = explore_setup("shipped-5.10", SET_AGAIN[0], preemptions=2)
    assert best == {}
    assert st["complete"] and st["schedules"] > 100
    # every bound below was run too: iterative context bounding
    assert set(st["by_preemptions"]) == {0, 1, 2}


def test_a_racy_variant_is_racy_with_its_shortest_schedule():
    r, st, best = explore_setup("original", SET_AGAIN[0], preemptions=2)
    assert set(best) == {"bug_on"}
    f = best["bug_on"]
    # the race of c2407cf7d22d needs cpu1 stopped after its clear and cpu2 after its set
    assert f.preemptions == 2
    # no schedule with fewer preemptions fails: the bound-1 runs were all clean
    _, st1, best1 = explore_setup("original", SET_AGAIN[0], preemptions=1)
    assert best1 == {} and st1["schedules"] < st["schedules"]


def test_the_verdict_states_its_reach():
    res = explore("shipped-5.10", "writeback-set-again", preemptions=1)
    assert res["failures"] == []
    n = res["counts"]["schedules"]
    assert res["reach"] == ("clean: all {:,} schedules with at most 1 preemption "
                            "(4 tasks, {} scheduling points)".format(n, res["counts"]["points"]))
    res = explore("original", "writeback-set-again", preemptions=1)
    assert res["failures"] == ["bug_on"]
    assert res["reach"].startswith("racy: bug_on, shortest schedule has 1 preemption, ")


def test_a_saved_schedule_replays_to_the_same_failure_10_of_10(tmp_path):
    res = explore("original", "writeback-set-again", preemptions=1)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(res["schedule"]))
    doc = load_schedule(str(path))
    runs, tl = replay_schedule(doc, 10)
    assert [r["failures"] for r in runs] == [["bug_on"]] * 10
    assert tl["checks"][0]["kind"] == "bug_on"


def test_the_timeline_has_a_column_per_cpu_in_order_and_marks_the_failing_step():
    res = explore("original", "writeback-set-again", preemptions=1)
    tl = res["counterexample"]
    # the setup makes the bystander cpu0 last; the columns go by number
    assert tl["cpus"] == ["cpu1", "cpu2", "cpu3", "cpu0"]
    assert len(tl["rows"]) == tl["steps"] == res["schedule"]["steps"]
    lines = render_timeline(tl, 140)
    assert lines[0].split()[:5] == ["step", "cpu0", "cpu1", "cpu2", "cpu3"]
    (chk,) = tl["checks"]
    # the step where the check fired is marked, and the check comes right under it, in the
    # column of the CPU that hit it
    at = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("!!%d " % chk["step"]))
    below = next(i for i in range(at + 1, len(lines)) if lines[i].startswith("  !! "))
    assert "BUG_ON(PageWriteback)" in lines[below]
    assert "fails in step %d" % chk["step"] in lines[below]
    assert not any(ln.lstrip(" !").split(" ")[0].isdigit() for ln in lines[at + 1:below])
    col = lines[0].index(chk["cpu"])
    assert lines[below].index("BUG_ON") == col
    row = tl["rows"][chk["step"] - 1]
    assert row["cpu"] == chk["cpu"]
    does = [row["does"] for row in tl["rows"]]
    assert any(d.startswith("TestClearPageWriteback") for d in does)
    assert any(d.startswith("TestSetPageWriteback") for d in does)
    assert "try_to_wake_up(cpu3)" in does


def test_the_cmpxchg_sketch_fails_with_no_second_writer():
    # its window is a wake before the clear: the woken waiter runs while the
    # first writeback's PG_writeback is still set
    res = explore("cmpxchg-clear-in-wakeup", "writeback-set-again", preemptions=1)
    assert res["failures"] == ["bug_on"]
    story = " ".join(res["by_kind"]["bug_on"]["story"])
    assert "the wake came before the clear, and no second writer" in story
    assert "cpu2's writeback" not in story


def test_page_reuse_bad_page_is_the_set_again_race_through_truncation():
    setups = [s for s in SCENARIOS["page-reuse"].setups
              if s.title == "truncation racing a new writeback: a file page"]
    r, st, best = explore_setup("get-put", setups[0], preemptions=2)
    assert "bad_page" in best
    res = explore("get-put", "page-reuse", preemptions=2)
    story = " ".join(res["by_kind"]["bad_page"]["story"])
    assert "the set-again race reached through truncation" in story


def test_a_hang_is_found_at_once_with_every_task_position():
    # a waiter for a writeback nobody ends
    setup = Setup("nobody ends the writeback",
                  (("waiter", (("write_cache_pages", "P", 0, "wait"),)),
                   ("locker", (("lock_page", "P"), ("unlock_page", "P")))),
                  FILE_PAGE)
    r, st, best = explore_setup("original", setup, preemptions=0)
    assert "hang" in best
    from pagecore.verify.timeline import timeline
    tl = timeline(r, best["hang"])
    (waiter,) = [h for h in tl["hang"] if h["cpu"] == "waiter"]
    assert not waiter["done"] and waiter["where"] == "wait_on_page_bit_common"
    assert waiter["at"] == "io_schedule (asleep, not woken)"
    assert st["schedules"] >= 1 and st["max_steps"] < 50     # at once, not at a limit


def test_sleep_sets_find_what_the_full_search_finds():
    for variant in ("original", "get-put", "shipped-5.10"):
        _, st, best = explore_setup(variant, SET_AGAIN[1], preemptions=2)
        _, st0, best0 = explore_setup(variant, SET_AGAIN[1], preemptions=2, por=False)
        assert set(best) == set(best0)
        assert st["schedules"] <= st0["schedules"]


def test_max_schedules_makes_the_verdict_say_it_stopped():
    res = explore("shipped-5.10", "writeback-set-again", preemptions=2, max_schedules=50)
    assert not res["complete"]
    assert res["reach"].startswith("clean so far: 50 schedules explored")


def test_a_scenario_with_an_unknown_operation_is_bad_input():
    setup = Setup("bad", (("t", (("frobnicate_page", "P"),)),), FILE_PAGE)
    with pytest.raises(PagecoreError, match="frobnicate_page"):
        Runner("original", setup)


def test_every_registered_variant_has_its_scenarios_explorable():
    from pagecore.model.variants import VARIANTS
    for v in VARIANTS.values():
        for s in v.scenarios:
            if s in SCENARIOS:
                Runner(v.name, SCENARIOS[s].setups[0]).run(b"")


# -- the command line -------------------------------------------------------------

def test_cli_explore_saves_and_replays_a_schedule(tmp_path, capsys):
    out = tmp_path / "v.json"
    rc = main(["verify", "--mode", "explore", "--variant", "original", "--scenario",
               "writeback-set-again", "--preemptions", "1", "--jobs", "1",
               "--json", str(out), "--save-schedules", str(tmp_path / "new")])
    assert rc == 1     # original, named, fails
    text = capsys.readouterr().out
    assert "racy: bug_on, shortest schedule has 1 preemption" in text
    doc = json.loads(out.read_text())
    (r,) = doc["results"]
    assert r["mode"] == "explore" and r["counterexample"]["rows"]
    saved = tmp_path / "new" / "original.writeback-set-again.json"
    assert saved.exists()
    rc = main(["verify", "--replay-schedule", str(saved), "--times", "10"])
    assert rc == 0
    assert "replayed 10 of 10 times to the same failure" in capsys.readouterr().out


@pytest.mark.parametrize("argv, msg", [
    (["--mode", "explore", "--preemptions", "-1"], "--preemptions must be in 0..6"),
    (["--mode", "replay", "--preemptions", "1"], "--preemptions needs --mode explore"),
    (["--replay-schedule", "/nonexistent/s.json"], "--replay-schedule /nonexistent/s.json"),
    (["--mode", "explore", "--scenario", "writeback-starvation"],
     "writeback-starvation: not a scenario of --mode explore"),
    (["--mode", "explore", "--max-schedules", "0"], "--max-schedules must be > 0"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, msg, capsys):
    assert main(["verify"] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("pagecore: ") and msg in err and "Traceback" not in err


def test_the_report_matrix_rests_on_explore_and_draws_the_timeline(tmp_path):
    import os
    import shutil

    from pagecore.report import writer

    src = os.path.join(os.path.dirname(__file__), "data", "report", "alpha")
    mdir = tmp_path / "alpha"
    shutil.copytree(src, mdir)
    doc = json.loads((mdir / "verify.json").read_text())
    rows = [r for r in doc["results"]
            if (r["variant"], r["scenario"]) != ("original", "writeback-set-again")]
    ex = explore("original", "writeback-set-again", preemptions=1)
    clean = explore("shipped-5.10", "writeback-set-again", preemptions=1)
    # a cross-check that disagrees with explore, and one that agrees
    rows += [ex, {"variant": "original", "scenario": "writeback-set-again", "mode": "stress",
                  "failures": ["bug_on", "bad_page"], "counts": {"ops": 10}, "evidence": []},
             clean]
    doc["results"] = rows
    (mdir / "verify.json").write_text(json.dumps(doc))
    page = writer.write_report([str(mdir)], outdir=str(tmp_path / "out"))
    html = open(page, encoding="utf-8").read()
    assert '<table class="timeline">' in html
    assert "disagree: explore bug_on; stress bad_page, bug_on" in html
    assert "BUG_ON(PageWriteback)" in html and "try_to_wake_up(cpu3)" in html
    assert "clean: all {:,} schedules with at most 1 preemption".format(
        clean["counts"]["schedules"]) in html
    md = open(os.path.join(os.path.dirname(page), "report.md"), encoding="utf-8").read()
    # the timeline is drawn in the HTML, cpu0 first; the Markdown tells the story in brief
    assert "<th>step</th><th>cpu0</th><th>cpu1</th><th>cpu2</th><th>cpu3</th>" in html
    assert "original / writeback-set-again: disagree" in md


def test_a_scenario_added_to_the_explorer_list_needs_no_other_edit(tmp_path):
    # The explorer's list is the one list of safety scenarios: a scenario
    # added there is a cell of the matrix for the variants whose files name
    # it; replay, with no script for it, says so in one line.
    import os
    import subprocess
    import sys

    from pagecore.model import variants

    text = variants.template("original").replace(
        " * Variant: original", " * Variant: mine-with-scenario", 1).replace(
        " * Expect:", " * Scenarios: writeback-set-again, set-again-once\n * Expect:", 1)
    vfile = tmp_path / "mine.c"
    vfile.write_text(text)
    code = """
import sys
from pagecore.verify import scenarios as sc
sc.SCENARIOS["set-again-once"] = sc.Scenario(
    "set-again-once", "the set-again race under another name", "c2407cf7d22d",
    sc.SCENARIOS["writeback-set-again"].setups)
from pagecore.cli import main
sys.exit(main(sys.argv[1:]))
"""
    here = os.path.dirname(os.path.abspath(__file__))

    def run(*argv):
        return subprocess.run([sys.executable, "-c", code, "verify", "--variant-file",
                               str(vfile), "--scenario", "set-again-once"] + list(argv),
                              cwd=here, capture_output=True, text=True, timeout=300)

    r = run("--mode", "explore", "--preemptions", "2")
    assert "set-again-once" in r.stdout and "bug_on" in r.stdout, r.stdout + r.stderr
    r = run("--mode", "replay")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "pagecore: set-again-once: not a scenario of --mode replay (no script for it yet: "
        "use --mode explore)"]
