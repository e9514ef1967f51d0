"""Race verdicts: the seeds' own claims by replay, the scripted-interleaving
API, short stress runs of each scenario, and `pagecore verify`.

Every threaded run here is under a watchdog (Interleaving.finish or
run_threads): a hang is reported as a failure, never kept.
"""

import json

import pytest

from pagecore import Model, PagecoreError
from pagecore.cli import main
from pagecore.verify.interleaving import Interleaving
from pagecore.verify.replay import page_reuse, replay, writeback_set_again
from pagecore.verify.stress import stress

# -- the seeds' claims, by replay -------------------------------------------


def test_seed_000_original_hits_bug_on_after_the_wait():
    r = replay("original", "writeback-set-again")
    assert r["failures"] == ["bug_on"]
    text = "\n".join(e for e in r["evidence"] if isinstance(e, str))
    assert "cpu3-write_cache_pages" in text and "BUG_ON(PageWriteback)" in text
    assert "PG_writeback set again by cpu2-write_cache_pages while cpu1 is paused" in text
    recs = [e for e in r["evidence"] if isinstance(e, dict)]
    assert recs and all(e["kind"] == "bug_on" and e["site"] == "write_cache_pages"
                        for e in recs)


def test_seed_000_the_exact_interleaving():
    run = writeback_set_again("original", "ewb_after_clear")
    assert run.failures == ["bug_on"]
    (rec,) = run.outcome.bug_log
    assert rec["comm"] == "cpu3-write_cache_pages"


@pytest.mark.parametrize("variant", ["loop-in-wait", "pre-5.8", "shipped-5.10", "folio-6.7",
                                     "loop-break-on-mapping-change"])
def test_seed_000_waiters_that_loop_are_clean(variant):
    r = replay(variant, "writeback-set-again")
    assert r["failures"] == []
    # 4 windows x 4 settings, swap included, and the late fdatawait waiter
    assert r["counts"]["runs"] == 17


def test_clear_under_waitqueue_lock_is_racy_between_its_test_and_its_clear():
    # Linus Torvalds' 30 Sep 2024 proposal, PG_waiters tested apart from the
    # clear: the one interleaving that fails is the waiter that queues in
    # between, whom the end wakes after the clear and outside the bucket
    # lock, as 6.7 does; its waiters no longer loop.
    r = replay("clear-under-waitqueue-lock", "writeback-set-again")
    assert r["failures"] == ["bug_on"]
    assert r["counts"]["runs"] == 17 and r["counts"]["bug_on"] == 1
    failing = [e for e in r["evidence"] if isinstance(e, str) and e.startswith("interleaving:")]
    assert failing == ["interleaving: cpu1 paused at ewb_after_clear; a filemap_fdatawait "
                       "waiter queued after cpu1 tested PG_waiters, before the clear"]
    text = "\n".join(e for e in r["evidence"] if isinstance(e, str))
    assert "paused at ewb_waiters_tested" in text and "BUG_ON(PageWriteback)" in text
    # with the waiter queued before the end, the bucket lock shuts the window
    assert "cpu1 paused at ewb_after_clear; a filemap_fdatawait waiter on the first " \
           "writeback: clean" in text


def test_the_late_waiter_needs_the_split_test():
    # 6.7 learns PG_waiters in the xor itself: no variant but the proposal
    # stops at ewb_waiters_tested, and the same interleaving is clean
    run = writeback_set_again("folio-6.7", "ewb_after_clear", bystander_late=True)
    assert run.failures == []
    assert any("blocked before ewb_waiters_tested" in line or
               "never reached ewb_waiters_tested" in line for line in run.log)


@pytest.mark.parametrize("variant", ["clear-under-waitqueue-lock", "loop-break-on-mapping-change"])
def test_2024_proposals_keep_the_reference(variant):
    # both keep 6.7's folio_get/folio_put around the wake
    r = replay(variant, "page-reuse")
    assert r["failures"] == []


# -- liveness: writeback-starvation ------------------------------------------


@pytest.mark.parametrize("variant, starved", [
    ("folio-6.7", True), ("loop-break-on-mapping-change", True), ("shipped-5.10", True),
    ("clear-under-waitqueue-lock", False), ("original", False)])
def test_starvation_separates_loops_from_ifs(variant, starved):
    from pagecore.verify.starvation import starvation

    r = starvation(variant, seconds=0.3)
    lv = r["liveness"]
    assert lv["starved"] is starved
    assert ("starved" in r["failures"]) is starved
    assert lv["writebacks"] > 50           # the writers made progress throughout
    assert lv["waits"] >= 1 and len(lv["wait_ms"]) == min(lv["waits"], 2000)
    if starved:
        # woken again and again, and never out within the bound
        assert lv["resleeps"] > 20 and lv["wait_max_ms"] > lv["bound_ms"]
        assert lv["longest_wait_writebacks"] > 20
    else:
        # one wake per wait, and out after it and the throttle
        assert lv["resleeps"] == 0 and lv["max_resleeps"] == 0
        assert lv["wait_p99_ms"] < lv["bound_ms"]
        assert lv["waits"] > 20


def test_starvation_mapping_never_changes_so_the_break_never_fires():
    from pagecore.verify.starvation import starvation

    r = starvation("loop-break-on-mapping-change", seconds=0.2)
    assert r["liveness"]["mapping_breaks"] == 0
    assert r["liveness"]["wait"] == "while, until ->mapping changes"


def test_starvation_is_liveness_not_a_race(tmp_path, capsys):
    out = tmp_path / "v.json"
    rc = main(["verify", "--variant", "folio-6.7", "clear-under-waitqueue-lock", "--scenario",
               "writeback-starvation", "--starve-seconds", "0.3", "--throttle-us", "800",
               "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "liveness" in text and "throttled to 800 us" in text
    rows = {r["variant"]: r for r in json.loads(out.read_text())["results"]}
    assert rows["folio-6.7"]["failures"] == ["starved"]
    assert rows["clear-under-waitqueue-lock"]["failures"] == []
    lines = {ln.split()[0]: ln for ln in text.splitlines()
             if ln.startswith(("folio", "clear")) and " / " not in ln}
    # no safety scenario ran: the safety verdict is '-', liveness says it
    assert lines["folio-6.7"].split()[-2:] == ["-", "starved"]
    assert lines["clear-under-waitqueue-lock"].split()[-2:] == ["-", "live"]
    for r in rows.values():
        assert r["liveness"]["throttle_us"] == 800 and r["liveness"]["writers"] == 1


def test_seed_001_original_touches_the_reused_page():
    r = replay("original", "page-reuse")
    assert "freed_page" in r["failures"]
    text = "\n".join(e for e in r["evidence"] if isinstance(e, str))
    assert "alloc_page gave page 0 back: the truncated page" in text
    assert "cpu1-end_page_writeback" in text and "after it was freed and allocated again" in text


def test_seed_001_get_put_does_not_touch_a_reused_page():
    r = replay("get-put", "page-reuse")
    assert "freed_page" not in r["failures"]
    assert r["failures"] == []
    # the truncation's put_page is not the last one: end_page_writeback holds one
    run = page_reuse("get-put", "ewb_after_clear")
    assert any("not freed" in line for line in run.log)
    assert any("alloc_page gave page 1" in line for line in run.log)


def test_seed_001_loop_in_wait_still_touches_the_freed_page():
    # c2407cf7d22d alone does not take a reference
    r = replay("loop-in-wait", "page-reuse")
    assert r["failures"] == ["freed_page"]


def test_seed_003_cpdfio_2619_loses_the_write():
    r = replay("cpdfio-2.6.19", "mmap-lost-write")
    assert r["failures"] == ["lost_write"]
    assert r["counts"]["lost_write"] == 2


def test_seed_003_cpdfio_set_page_dirty_does_not():
    r = replay("cpdfio-set-page-dirty", "mmap-lost-write")
    assert r["failures"] == []
    # a fault inside its window leaves the page mapped dirty with PG_dirty
    # clear: the FIXME of 7658cc289288, not a lost write
    assert any("clear_page_dirty_for_io: clean" in e and "FIXME" in e for e in r["evidence"])


def test_replay_says_when_a_window_is_never_reached_or_closed():
    r = replay("wake-under-i_pages", "writeback-set-again")
    # Holding i_pages across the wake closes the window for a file mapping,
    # whose set_page_writeback() needs that lock; swap's does not.
    assert r["failures"] == ["bug_on"]
    failing = [e for e in r["evidence"] if isinstance(e, str) and ": bug_on" in e]
    assert failing and all("without writeback tags" in e for e in failing)
    notes = "\n".join(e for e in r["evidence"] if isinstance(e, str))
    assert "never reached wake_before_clear" in notes
    assert "blocked: window closed: cpu2 cannot start a writeback while cpu1 waits at " \
           "ewb_under_i_pages (spinning on a held spinlock)" in notes


# -- the scripted-interleaving API -----------------------------------------


def test_interleaving_api_docstring_example():
    m = Model("original", instrumented=True)
    page = m.new_page()
    m.start_writeback(page)
    # Generous step: every wait below expects to succeed, so a slow machine
    # only makes it wait longer.
    with Interleaving(m, step=5.0) as s:
        s.start("cpu1", m.core.end_page_writeback_, page, park_at="ewb_after_clear")
        assert s.parked("cpu1", "ewb_after_clear")
        assert not m.PageWriteback(page)
        s.start("cpu2", m.core.write_cache_pages_in, page, 0, "start")
        assert s.done("cpu2") and s.result("cpu2") == ("started", 0)
        s.start("cpu3", m.core.write_cache_pages_in, page, 0, "wait")
        assert s.asleep("cpu3", bit=m.PG_writeback, page=page)
        s.release("ewb_after_clear")
        assert s.done("cpu1")
        # cpu3, woken by cpu1's stale wake, looks at PG_writeback while cpu2's writeback is
        # in flight: let it return before cpu2 ends that writeback, or the end can clear the
        # bit first (the script, not the model, would then decide the outcome)
        assert s.done("cpu3")
        s.start("cpu2-end", m.core.end_page_writeback_, page)
    assert s.outcome.failures == ["bug_on"]
    assert s.result("cpu3") == ("bug_on", 0)
    assert not m.PageWriteback(page)


def test_interleaving_reports_a_point_never_reached():
    m = Model("original", instrumented=True)
    page = m.new_page()
    m.start_writeback(page)
    with Interleaving(m, step=0.5) as s:
        s.start("cpu1", m.core.end_page_writeback_, page, park_at="wake_before_clear")
        assert not s.parked("cpu1", "wake_before_clear")
    assert s.outcome.failures == []
    assert any("never reached wake_before_clear" in line for line in s.log)


def test_interleaving_turns_a_hang_into_a_failure():
    # a waiter on a writeback that nobody ends
    m = Model("original", instrumented=True)
    page = m.new_page()
    m.start_writeback(page)
    with Interleaving(m, watchdog=0.3) as s:
        s.start("waiter", m.core.wait_on_page_writeback_, page)
        assert s.asleep("waiter")
        assert not s.done("waiter")
    assert s.outcome.failures == ["hang"]
    assert "waiter" in s.outcome.hung[0] and "PG_writeback" in s.outcome.hung[0]
    assert not m.core.aborted()


def test_interleaving_refuses_bad_steps():
    m = Model("original")
    with pytest.raises(PagecoreError, match="instrumented"):
        Interleaving(m)
    m = Model("original", instrumented=True)
    with Interleaving(m) as s:
        with pytest.raises(PagecoreError, match="unknown race point"):
            s.start("a", lambda: None, park_at="nowhere")
        s.start("b", lambda: None, park_at="ewb_after_clear")
        with pytest.raises(PagecoreError, match="already armed"):
            s.start("c", lambda: None, park_at="ewb_after_clear")
        with pytest.raises(PagecoreError, match="already started"):
            s.start("b", lambda: None)
    assert s.outcome.failures == []


def test_interleaving_of_my_own_the_sketch_wakes_before_it_clears():
    # Linus's sketch (25 Nov 2020) clears PG_writeback after the walk: a
    # waiter woken by the walk can look before the bit is clear.
    m = Model("cmpxchg-clear-in-wakeup", instrumented=True)
    page = m.new_page()
    m.start_writeback(page)
    with Interleaving(m) as s:
        s.start("waiter", m.core.write_cache_pages_in, page, 0, "wait",
                park_at="wait_after_schedule")
        assert s.asleep("waiter", bit=m.PG_writeback)
        s.start("ender", m.core.end_page_writeback_, page, park_at="wake_before_clear")
        assert s.parked("ender", "wake_before_clear")
        assert m.PageWriteback(page)
        assert s.woken("waiter")
        s.release("wake_before_clear")
    assert s.outcome.failures == ["bug_on"]


# -- stress ------------------------------------------------------------------


def stress_summary(r):
    return next(e for e in r["evidence"] if isinstance(e, dict) and "seed" in e)


@pytest.mark.parametrize("variant,scenario", [
    ("shipped-5.10", "writeback-set-again"),
    ("shipped-5.10", "page-reuse"),
    ("cpdfio-set-page-dirty", "mmap-lost-write"),
])
def test_stress_of_a_fixed_variant_ends_with_every_counter_at_zero(variant, scenario):
    r = stress(variant, scenario, seconds=0.5, threads=2, seed=1)
    assert r["failures"] == [], r["evidence"]
    assert r["counts"]["ops"] > 100
    summary = stress_summary(r)
    assert summary["seed"] == 1 and summary["ops"] == r["counts"]["ops"]
    assert any(summary["race_point_hits"].values())


@pytest.mark.parametrize("variant,scenario,kind", [
    ("original", "writeback-set-again", "bug_on"),
    ("original", "page-reuse", "freed_page"),
    ("cpdfio-2.6.19", "mmap-lost-write", "lost_write"),
])
def test_stress_finds_the_race(variant, scenario, kind):
    r = stress(variant, scenario, seconds=1.5, threads=2)
    assert kind in r["failures"]
    assert r["counts"][kind] >= 1
    assert "first_failure_s" in stress_summary(r)


# -- the command -------------------------------------------------------------


def test_verify_replay_json(tmp_path, capsys):
    out = tmp_path / "verify.json"
    rc = main(["verify", "--variant", "original", "shipped-5.10", "--scenario",
               "writeback-set-again", "--json", str(out)])
    assert rc == 1      # original, named, is racy
    text = capsys.readouterr().out
    assert "original" in text and "racy" in text and "BUG_ON(PageWriteback)" in text
    doc = json.loads(out.read_text())
    rows = {r["variant"]: r for r in doc["results"]}
    assert set(rows) == {"original", "shipped-5.10"}
    for r in rows.values():
        assert set(r) == {"variant", "scenario", "mode", "failures", "counts", "evidence",
                          "unplaced", "source", "outcomes"}
        assert r["mode"] == "replay" and r["scenario"] == "writeback-set-again"
        # windows the scripts pause at that these files do not place
        assert "ewb_under_i_pages" in r["unplaced"] and "ewb_after_clear" not in r["unplaced"]
    assert rows["original"]["failures"] == ["bug_on"]
    assert rows["shipped-5.10"]["failures"] == []


@pytest.mark.parametrize("argv, rc", [
    (["--variant", "cpdfio-set-page-dirty"], 0),
    (["--variant", "cpdfio-2.6.19"], 1),
    (["--variant", "cpdfio-set-page-dirty,cpdfio-2.6.19"], 1),
    # nothing named: nothing gated, unless every variant is
    (["--scenario", "mmap-lost-write"], 0),
    (["--scenario", "mmap-lost-write", "--fail-on-race"], 1),
    (["--variant", "cpdfio-set-page-dirty", "--fail-on-race"], 0),
])
def test_verify_exit_status_gates_the_variants_named(argv, rc, capsys):
    assert main(["verify"] + argv) == rc
    err = capsys.readouterr().err
    if rc == 1:
        (line,) = [ln for ln in err.splitlines() if "safety failure" in ln]
        assert line == "pagecore: verify: safety failure: cpdfio-2.6.19 in mmap-lost-write " \
            "(lost_write)"


def test_verify_exit_status_3_when_a_named_cell_is_inconclusive(monkeypatch, capsys):
    from pagecore.verify import matrix

    def run_cell(v, s, args, progress=None):
        return {"variant": v, "scenario": s, "mode": "replay", "failures": [],
                "counts": {"runs": 0}, "evidence": [], "inconclusive": "no operation ran"}
    monkeypatch.setattr(matrix, "run_cell", run_cell)
    assert main(["verify", "--variant", "cpdfio-set-page-dirty"]) == 3
    assert "inconclusive: cpdfio-set-page-dirty in mmap-lost-write" in capsys.readouterr().err


def test_verify_help_states_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = capsys.readouterr().out
    for line in ("0    no safety failure", "1    a safety failure", "2    bad input",
                 "3    no failure, but a cell", "130  stopped by SIGINT, 143 by SIGTERM"):
        assert line in text


def test_verify_stress_runs(tmp_path, capsys):
    out = tmp_path / "v.json"
    rc = main(["verify", "--mode", "stress", "--seconds", "0.3", "--variant",
               "cpdfio-set-page-dirty", "--json", str(out)])
    assert rc == 0
    (row,) = json.loads(out.read_text())["results"]
    assert row["mode"] == "stress" and row["failures"] == [] and row["counts"]["ops"] > 0


def test_verify_skips_a_scenario_that_does_not_apply(capsys):
    rc = main(["verify", "--variant", "original", "cpdfio-2.6.19", "--scenario",
               "mmap-lost-write"])
    assert rc == 1      # cpdfio-2.6.19 loses the write
    err = capsys.readouterr().err
    assert "mmap-lost-write does not apply to original" in err


@pytest.mark.parametrize("argv,msg", [
    (["--variant", "nope"], "unknown variant 'nope'"),
    (["--scenario", "nope"], "unknown scenario 'nope'"),
    (["--mode", "fast"], "--mode must be replay, stress or explore"),
    (["--seconds", "0"], "--seconds must be in 0.01..3600"),
    (["--seconds", "-1"], "--seconds must be in 0.01..3600"),
    (["--seconds", "x"], "invalid float value"),
    (["--seconds", "1e-300"], "--seconds must be in 0.01..3600"),
    (["--seconds", "1e308"], "--seconds must be in 0.01..3600"),
    (["--seconds", "nan"], "--seconds must be in 0.01..3600"),
    (["--threads", "5000"], "--threads must be in 1..1024"),
    (["--threads", "10000"], "--threads must be in 1..1024"),
    (["--threads", "1000000000000"], "--threads must be in 1..1024"),
    (["--threads", "0"], "--threads must be in 1..1024"),
    (["--threads", ""], "invalid int value"),
    (["--widen-ns", str(2**63)], "--widen-ns must be in 0..1000000000"),
    (["--widen-ns", "1000000000000", "--widen-prob", "1"], "--widen-ns must be in"),
    (["--widen-ns", "-1"], "--widen-ns must be in"),
    (["--widen-prob", "nan"], "--widen-prob must be in 0..1"),
    (["--widen-prob", "1.5"], "--widen-prob must be in 0..1"),
    (["--seed", "-1"], "--seed must be in 0..4294967295"),
    (["--seed", str(2**64)], "--seed must be in 0..4294967295"),
    (["--step", "0.000001"], "--step must be in 0.5..60"),
    (["--step", "inf"], "--step must be in 0.5..60"),
    (["--json", ""], "--json needs a file name"),
    (["--json", "/dev/null"], "not a regular file"),
    (["--starve-seconds", "1e308"], "--starve-seconds must be in 0.01..3600"),
    (["--starve-seconds", "1e-300"], "--starve-seconds must be in 0.01..3600"),
    (["--throttle-us", str(2**63)], "--throttle-us must be in 0..1000000"),
    (["--io-us", str(2**63)], "--io-us must be in 0..1000000"),
    (["--bound-ms", "1e308"], "--bound-ms must be in (0, 60000]"),
    (["--json", "/nonexistent-dir/v.json"], "does not exist"),
    (["--variant", "original", "--scenario", "mmap-lost-write"], "no scenario applies"),
    (["--writers", "0"], "--writers must be in 1..64"),
    (["--throttle-us", "-1"], "--throttle-us must be in 0..1000000"),
    (["--bound-ms", "0"], "--bound-ms must be in (0, 60000]"),
    (["--bound-ms", "nan"], "--bound-ms must be in (0, 60000]"),
    (["--starve-seconds", "0"], "--starve-seconds must be in 0.01..3600"),
    (["--io-us", "x"], "invalid int value"),
])
def test_verify_bad_input_exits_2_with_one_line(argv, msg, capsys):
    assert main(["verify"] + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pagecore: ") and msg in err


def test_verify_interrupted_keeps_what_it_finished(tmp_path, capsys, monkeypatch):
    import pagecore.verify.matrix as verify

    real, calls = verify.run_cell, []

    def run_cell(v, s, args, progress=None):
        calls.append((v, s))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(v, s, args, progress)

    monkeypatch.setattr(verify, "run_cell", run_cell)
    out = tmp_path / "v.json"
    rc = main(["verify", "--variant", "cpdfio-2.6.19", "original", "--json", str(out)])
    assert rc == 130
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True
    assert [(r["variant"], r["scenario"]) for r in doc["results"]] == [
        ("cpdfio-2.6.19", "mmap-lost-write")]
    captured = capsys.readouterr()
    assert "interrupted: 1 of 4 cells done" in captured.err
    assert "lost_write" in captured.out


# -- a broken harness gives no verdict -----------------------------------------


def test_stress_with_no_operation_is_inconclusive(monkeypatch):
    import pagecore.verify.stress as st

    monkeypatch.setattr(st._Workload, "running", lambda self: False)
    r = stress("shipped-5.10", "page-reuse", seconds=0.05, threads=2, seed=1)
    assert r["failures"] == [] and r["counts"]["ops"] == 0
    assert "no operation ran" in r["inconclusive"]


def test_stress_stopped_by_the_watchdog_while_moving_is_inconclusive(monkeypatch):
    # Windows widened so far that the run cannot drain before the watchdog:
    # the watchdog's abort must not surface as bug_on, bad_page or hang.
    import pagecore.verify.stress as st

    monkeypatch.setattr(st, "GRACE", 0.3)
    r = stress("shipped-5.10", "page-reuse", seconds=0.2, threads=6, seed=3,
               widen_ns=150_000_000, widen_prob=1.0)
    assert r["failures"] == [], r["evidence"]
    assert "still moving" in r["inconclusive"]


def test_a_step_too_short_to_tell_blocked_from_running_is_refused():
    m = Model("original", instrumented=True)
    with pytest.raises(PagecoreError, match="cannot tell a blocked task"):
        Interleaving(m, step=0.000001)


def test_the_matrix_says_inconclusive_never_clean(monkeypatch, capsys):
    import pagecore.verify.matrix as verify

    def run_cell(v, s, args, progress=None):
        return {"variant": v, "scenario": s, "mode": "stress", "failures": [],
                "counts": {"ops": 0}, "evidence": ["inconclusive: no operation ran"],
                "inconclusive": "no operation ran"}

    monkeypatch.setattr(verify, "run_cell", run_cell)
    assert main(["verify", "--mode", "stress", "--variant", "folio-6.7"]) == 3
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("folio-6.7"))
    assert " inconclusive " in row + " " and "clean" not in row
    assert "inconclusive: no operation ran" in out


def test_replay_with_a_failed_scripted_task_is_inconclusive(monkeypatch):
    from pagecore.model import _core_instr

    # the page under writeback is allocated; the new user's page is not: the
    # interleaving cannot run as written
    real = _core_instr.alloc_page_
    calls = []

    def alloc_page_():
        calls.append(1)
        return real() if len(calls) == 1 else -1

    def configure(*a, real_configure=_core_instr.configure, **k):
        calls.clear()
        return real_configure(*a, **k)

    monkeypatch.setattr(_core_instr, "alloc_page_", alloc_page_)
    monkeypatch.setattr(_core_instr, "configure", configure)
    r = replay("shipped-5.10", "page-reuse")
    assert r["failures"] == [], r["evidence"]
    assert "out of pages" in r["inconclusive"]


def test_bench_verify_writes_liveness_once(tmp_path, capsys):
    # `pagecore bench` verifies before its suites: replay and stress for races, and
    # writeback-starvation once (the same run in either mode)
    from pagecore.benchmark import run

    assert run._verify(str(tmp_path), "fast", ["folio-6.7"])
    rows = json.loads((tmp_path / "verify.json").read_text())["results"]
    cells = [(r["scenario"], r["mode"]) for r in rows]
    assert cells.count(("writeback-starvation", "replay")) == 1
    assert ("writeback-starvation", "stress") not in cells
    assert ("writeback-set-again", "stress") in cells
    assert "racy: none; starving: folio-6.7" in capsys.readouterr().out


def test_verbose_replay_shows_the_steps_of_clean_interleavings(capsys):
    assert main(["verify", "--variant", "cpdfio-set-page-dirty", "-v"]) == 0
    out = capsys.readouterr().out
    assert "interleaving: flush and second store before writeback: clean" in out
    # the steps themselves, as the tasks took them
    assert "    jbd-flush (pid " in out and "    writeback (pid " in out
    assert main(["verify", "--variant", "cpdfio-set-page-dirty"]) == 0
    assert "interleaving: " not in capsys.readouterr().out
