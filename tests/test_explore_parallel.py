"""Explore cut into jobs: the same schedules, counts and shortest schedule
whatever the cut and the number of workers (local processes, a dask
cluster); budgets that say how far they got."""

import pytest

from pagecore import PagecoreError
from pagecore.cli import main
from pagecore.verify import parallel as par
from pagecore.verify import scenarios as sc
from pagecore.verify.explore import (
    Failure,
    bounded_job,
    explore,
    explore_cells,
    explore_setup,
    runner_for,
)
from pagecore.verify.options import VerifyOptions, parse_budget, plan

FILE_PAGE = (("page", "P", 0, 0), ("start_writeback", "P"))
# two small setups whose every schedule is few: one has at most 5
# preemptions, the other at most 11
TINY = sc.Scenario("tiny", "a locker, a waiter and the end of writeback", "-", (
    sc.Setup("a locker and the end of writeback",
             (("a", (("lock_page", "P"), ("unlock_page", "P"))),
              ("io", (("end_page_writeback", "P"),))), FILE_PAGE),
    sc.Setup("a waiter and the end of writeback",
             (("w", (("wait_on_page_writeback", "P"),)),
              ("io", (("end_page_writeback", "P"),))), FILE_PAGE)))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(sc.SCENARIOS, "tiny", TINY)
    return "tiny"


def _same(a, b):
    """The parts of two results that must not depend on how they were run."""
    assert a["failures"] == b["failures"]
    for k in ("schedules", "pruned", "steps", "points"):
        assert a["counts"][k] == b["counts"][k], k
    assert [s["by_preemptions"] for s in a["setups"]] == [s["by_preemptions"]
                                                          for s in b["setups"]]
    assert [s["shortest"] for s in a["setups"]] == [s["shortest"] for s in b["setups"]]
    assert a.get("schedule") == b.get("schedule")
    assert a["reach"] == b["reach"]


@pytest.mark.parametrize("variant,scenario,setup", [
    ("original", "writeback-set-again", 0),
    ("shipped-5.10", "writeback-set-again", 1),
    ("original", "page-reuse", 0),
])
def test_the_jobs_of_a_setup_run_what_the_unsplit_search_runs(variant, scenario, setup):
    # bounded_job cut at 37 runs a job, its frontier fed back until none is
    # left: the same schedules as explore_setup's one search at bound 2
    _, st, best = explore_setup(variant, sc.SCENARIOS[scenario].setups[setup], 2)
    r = runner_for(variant, scenario, setup)
    todo = [par.Job(variant, scenario, setup, bound=2)]
    got = {"schedules": 0, "pruned": 0, "steps": 0, "by_preemptions": {}}
    fails, jobs = {}, 0
    while todo:
        job = todo.pop()
        res = bounded_job(r, job, 37)
        jobs += 1
        for k in ("schedules", "pruned", "steps"):
            got[k] += res[k]
        for b, n in res["by_preemptions"].items():
            got["by_preemptions"][b] = got["by_preemptions"].get(b, 0) + n
        for k, f in res["failures"].items():
            par.merge_failure(fails, k, f)
        for level, items in par.groups(res["frontier"]).items():
            assert job.level <= level <= 2
            todo.extend(job.child(p, z, level) for p, z, _ in items)
    assert jobs > 10        # it was cut
    for k in ("schedules", "pruned", "steps", "by_preemptions"):
        assert got[k] == st[k], k
    assert sorted(fails) == sorted(best)
    for k, f in best.items():
        assert (fails[k].preemptions, fails[k].steps) == (f.preemptions, f.steps)


def test_one_worker_cut_small_counts_what_the_unsplit_search_counts():
    sets = sc.SCENARIOS["writeback-set-again"].setups
    (res,) = explore_cells([("original", "writeback-set-again")], 2, jobs=1, chunk=101)
    for row, setup in zip(res["setups"], sets):
        _, st, best = explore_setup("original", setup, 2)
        assert row["schedules"] == st["schedules"] and row["pruned"] == st["pruned"]
        assert row["by_preemptions"] == {str(k): v for k, v in st["by_preemptions"].items()}
        assert row["failures"] == sorted(best)
    assert res["failures"] == ["bug_on"] and res["complete"]


def test_two_workers_give_what_one_gives():
    cells = [("original", "writeback-set-again"), ("shipped-5.10", "writeback-set-again")]
    one = list(explore_cells(cells, 2, jobs=1, chunk=500))
    two = list(explore_cells(cells, 2, jobs=2, chunk=500))
    two.sort(key=lambda r: cells.index((r["variant"], r["scenario"])))
    for a, b in zip(one, two):
        _same(a, b)
    assert one[0]["failures"] == ["bug_on"] and one[1]["failures"] == []


def test_a_dask_cluster_of_two_gives_what_one_worker_gives():
    pytest.importorskip("distributed")
    cell = [("original", "writeback-set-again")]
    (one,) = explore_cells(cell, 1, jobs=1, chunk=200)
    (dask,) = explore_cells(cell, 1, jobs=2, chunk=200, cluster="local")
    _same(one, dask)
    assert one["failures"] == ["bug_on"]


def test_a_worker_takes_a_scenario_added_at_run_time(tiny):
    # a worker process is a fresh interpreter: the scenario goes with the job
    (one,) = explore_cells([("original", tiny)], 3, jobs=1, chunk=7)
    (two,) = explore_cells([("original", tiny)], 3, jobs=2, chunk=7)
    _same(one, two)
    assert one["counts"]["schedules"] == sum(
        explore_setup("original", s, 3)[1]["schedules"] for s in TINY.setups)


def test_a_budget_that_ends_the_search_verifies_every_schedule(tiny):
    (res,) = explore_cells([("original", tiny)], None, jobs=1, budget=60, algo="bounded",
                           chunk=11)
    assert res["complete"] and res["failures"] == []
    deepest = max(int(b) for s in res["setups"] for b in s["by_preemptions"])
    # no schedule has more preemptions than the search found: the bounded
    # search one further runs the same ones
    full = [explore_setup("original", s, deepest + 1)[1] for s in TINY.setups]
    assert res["counts"]["schedules"] == sum(st["schedules"] for st in full)
    assert res["reach"] == ("verified: every schedule of the scenario ({:,} schedules, sleep "
                            "sets, no preemption bound)".format(res["counts"]["schedules"]))
    assert res["coverage"] == "complete; {:,} schedules".format(res["counts"]["schedules"])


def test_a_budget_that_cannot_finish_says_how_far_it_got():
    (res,) = explore_cells([("shipped-5.10", "page-reuse")], None, jobs=1, budget=2,
                           algo="bounded")
    assert not res["complete"] and res["failures"] == []
    k = res["levels"]
    assert k is not None and k >= 0
    # every schedule with at most k preemptions was run: as many as the bounded search's
    for row, setup in zip(res["setups"], sc.SCENARIOS["page-reuse"].setups[:1]):
        _, st, _ = explore_setup("shipped-5.10", setup, k)
        assert all(row["by_preemptions"][str(b)] == n for b, n in st["by_preemptions"].items())
    assert res["reach"].startswith("clean up to %d preemption" % k)
    assert "the budget (2 s) ended" in res["reach"]
    assert res["coverage"].startswith("complete up to %d preemption" % k)
    assert "of the known subtrees with %d" % (k + 1) in res["coverage"]


def test_a_budget_is_shared_over_the_cells():
    import time

    cells = [("shipped-5.10", "page-reuse"), ("original", "page-reuse")]
    t0 = time.monotonic()
    got = list(explore_cells(cells, None, jobs=1, budget=3, algo="bounded"))
    took = time.monotonic() - t0
    assert [(r["variant"], r["scenario"]) for r in got] == cells
    # each cell had its share, none had it all
    assert all(0 < r["counts"]["seconds"] < 3 for r in got)
    assert took < 3 + 2


def test_the_shortest_failure_has_one_answer_in_a_tie():
    a = Failure(["bug_on"], 1, b"\x01\x00", "done")
    b = Failure(["bug_on"], 1, b"\x00\x01", "done")
    for order in ((a, b), (b, a)):
        best = {}
        for f in order:
            par.merge_failure(best, "bug_on", f)
        assert best["bug_on"] is b


@pytest.mark.parametrize("text,secs", [("90s", 90), ("10m", 600), ("1h", 3600), ("30", 30),
                                       ("2.5", 2.5), (45, 45)])
def test_a_budget_is_a_time(text, secs):
    assert parse_budget(text) == secs


@pytest.mark.parametrize("argv,msg", [
    (["--budget", "10x"], "--budget must be a time: 90s, 10m, 1h or seconds, not '10x'"),
    (["--budget", "0"], "--budget must be more than 0 seconds, not '0'"),
    (["--budget", "1m", "--search", "bfs"], "--search must be dpor or sleep-sets, not 'bfs'"),
    (["--search", "sleep-sets"], "--search chooses the search without a bound: it needs "
                                 "--budget and no --preemptions"),
    (["--cluster", "remote"], "--cluster takes local"),
    (["--cluster", "local", "--scheduler", "tcp://h:8786"], "give one of them"),
    (["--jobs", "0"], "--jobs must be > 0"),
])
def test_bad_explore_options_are_one_line_and_exit_2(argv, msg, capsys):
    rc = main(["verify", "--mode", "explore", "--variant", "original", "--scenario",
               "writeback-set-again"] + argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and msg in err[0], err


def test_budget_and_cluster_need_explore(capsys):
    for argv in (["--budget", "1m"], ["--cluster", "local"], ["--scheduler", "tcp://h:1"]):
        assert main(["verify", "--mode", "replay"] + argv) == 2
        assert "needs --mode explore" in capsys.readouterr().err


def test_without_dask_the_cluster_says_how_to_get_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(PagecoreError, match=r"pip install pagecore\[cluster\]"):
        plan(VerifyOptions(mode="explore", variant=["original"], cluster="local"))


def test_cli_budget_states_its_reach_and_saves_a_replayable_schedule(tmp_path, capsys):
    argv = ["verify", "--mode", "explore", "--variant", "original", "--scenario",
            "writeback-set-again", "--budget", "4s", "--search", "sleep-sets", "--jobs", "2",
            "--save-schedules", str(tmp_path)]
    assert main(argv) == 1      # a safety failure in the variant named
    out = capsys.readouterr().out
    assert "original / writeback-set-again: racy: bug_on, shortest schedule has 1 " \
           "preemption, " in out
    assert "searched: complete up to" in out
    path = tmp_path / "original.writeback-set-again.json"
    assert main(["verify", "--replay-schedule", str(path), "--times", "3"]) == 0
    assert "replayed 3 of 3 times to the same failure" in capsys.readouterr().out


def test_a_budget_stopped_bounded_row_is_kept_as_far_as_it_ran():
    from pagecore.verify import cache

    opts = VerifyOptions(mode="explore", preemptions=2, budget=5.0)
    row = {"complete": False, "counts": {"schedules": 1234}}
    p = cache.plan(opts, "page-reuse", row)
    assert p["preemptions"] == 2 and p["max_schedules"] == 1234
    full = cache.plan(VerifyOptions(mode="explore", preemptions=2), "page-reuse")
    assert not cache.covers(p, full) and cache.covers(full, p)
    unbounded = cache.plan(VerifyOptions(mode="explore", budget=60.0,
                                         search="sleep-sets"), "page-reuse")
    assert not cache.covers(unbounded, full) and not cache.covers(full, unbounded)
    assert cache.covers(unbounded, dict(unbounded, budget=30.0))


def test_a_search_without_a_bound_that_ends_is_the_verdict(tiny):
    (res,) = explore_cells([("original", tiny)], None, jobs=1, budget=60, chunk=13)
    assert res["complete"] and res["search"] == "dpor" and res["failures"] == []
    n, k = res["counts"]["schedules"], res["counts"]["classes"]
    # one schedule per class, a few cut by the sleep sets: far fewer than
    # every schedule, which the bounded search with no bound runs
    full = sum(explore_setup("original", s, 40)[1]["schedules"] for s in TINY.setups)
    assert 0 < k <= n < full
    assert res["reach"] == ("verified: every schedule of the scenario ({:,} classes, {:,} "
                            "schedules)".format(k, n))
    assert res["coverage"] == "complete; {:,} classes".format(k)


def test_the_search_without_a_bound_counts_the_same_on_one_and_two_workers():
    # its jobs are cut at a fixed count of runs wherever they run: the same
    # cuts, so the same reduction and the same counts, for any number of workers
    cell = [("cpdfio-2.6.19", "mmap-lost-write")]
    (one,) = explore_cells(cell, None, jobs=1, budget=300)
    (two,) = explore_cells(cell, None, jobs=2, budget=300)
    assert one["complete"] and one["search"] == "dpor"
    _same(one, two)
    assert one["counts"]["classes"] == two["counts"]["classes"]
    assert one["failures"] == ["lost_write"]


def test_a_search_without_a_bound_that_does_not_end_gives_way_to_the_bounds():
    (res,) = explore_cells([("original", "page-reuse")], None, jobs=1, budget=3)
    # half the share went to the search without a bound, which did not end there
    assert res["search"] == "deepening" and not res["complete"]
    assert res["counts"]["seconds"] >= 2.5
    k = res["levels"]
    assert k >= 0 and res["reach"].startswith("racy: ")
    # the shortest failure is the least over both searches, fewest preemptions first: the
    # least a bounded search finds, once the bounds reached it (how far they reach in the
    # share depends on the machine's load; short of it, the search without a bound's, which
    # cannot be fewer)
    least = explore("original", "page-reuse", preemptions=1)["by_kind"]["bug_on"]["preemptions"]
    got = res["by_kind"]["bug_on"]["preemptions"]
    assert got == least if k >= least else got >= least


def test_a_cell_the_budget_left_no_time_is_inconclusive_and_loads(tmp_path):
    from pagecore.report.results import load_results
    from pagecore.verify import matrix

    cells = [("original", "writeback-set-again"), ("shipped-5.10", "page-reuse")]
    rows = list(explore_cells(cells, 1, jobs=1, budget=1e-6))
    idle = [r for r in rows if not r["counts"]["schedules"]]
    assert idle, [r["counts"] for r in rows]
    for r in idle:
        assert r["inconclusive"].startswith("no schedule ran before the budget")
        assert "per_second" not in r["counts"]
    path = tmp_path / "verify.json"
    matrix.write_json(str(path), rows)
    assert load_results([str(path)]).has_verify
