"""A smoke run of every suite through `pagecore bench --smoke` (one value
per benchmark), and the command's answers to bad input.  Nothing here
looks at a timing: the suites time, the tests check that they run and
store what the report reads."""

import os
import subprocess
import sys

import pyperf
import pytest

from pagecore import registry
from pagecore.model.machine import cpu_count

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = set(registry.events())
WB = ["original", "get-put", "wake-under-i_pages"]
DIRTY = ["cpdfio-2.6.19", "cpdfio-set-page-dirty"]


def environ(**kw):
    # the pagecore under test, installed or built in place
    import pagecore as pc

    where = os.path.dirname(os.path.dirname(os.path.abspath(pc.__file__)))
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=where + (os.pathsep + path if path else ""), **kw)


def pagecore(*args, cwd, **env):
    # the suites pagecore finds itself (installed with it, or beside a source tree), from a
    # directory of the test's own: nothing depends on where the tests run
    env = environ(**env)
    env.pop("PAGECORE_BENCH_DIR", None)
    return subprocess.run([sys.executable, "-m", "pagecore"] + list(args), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("smoke")
    # verification is the test of its own below; the variants come as one option, as
    # `verify --variant` takes them
    args = ["bench", "--smoke", "--no-verify", "-o", "results", "--machine", "ci",
            "--threads", "1,2", "--bits", "8", "--chain", "0,65", "--variant"] + WB + DIRTY
    res = pagecore(*args, cwd=cwd)
    assert res.returncode == 0, res.stdout + res.stderr
    return cwd, res.stdout


def load(cwd, suite):
    path = os.path.join(cwd, "results", "ci", suite + ".json")
    assert os.path.exists(path)
    return {b.get_name(): b for b in pyperf.BenchmarkSuite.load(path)}


def expected_names():
    plain = ("empty_loop", "locked_rmw", "cmpxchg", "spinlock", "wake_no_waiter",
             "cacheline_bounce")
    floor = ["floor/%s/%s" % (c, col) for c in plain for col in ("pagecore", "plain-c")]
    floor.append("floor/wake_sleeping_thread/pagecore")
    # the calibration set of the unit costs (pagecore.report.predict)
    floor += ["floor/%s/pagecore" % c for c in (
        "lock_rmw", "percpu_add", "percpu_cmpxchg", "fold", "call", "call_rmw", "fcall",
        "tailcall", "xa_mark", "cold_line", "walk", "wake_running", "start_writeback")]
    # the calibration paths: every hot-path case and the mix's hash-chain term, as original
    # runs them (bench/floor.py PATHS)
    floor += ["floor/path/pagecore/suite=hotpath/case=%s" % c for c in (
        "end_page_writeback_no_waiters", "end_page_writeback_one_waiter",
        "end_page_writeback_sleeping_waiter", "wait_on_page_writeback_clear", "writeback_cycle",
        "unlock_page_no_waiters", "unlock_page_one_waiter", "unlock_page_sleeping_waiter")]
    floor.append("floor/path/pagecore/suite=hashchain/case=end_page_writeback/bits=8/chain=4/"
                 "entries=cold")
    if cpu_count() < 2:
        floor = [n for n in floor if "cacheline_bounce" not in n and "sleeping" not in n]
    hot = ["hotpath/%s/%s" % (c, v) for c in (
        "end_page_writeback_no_waiters", "end_page_writeback_one_waiter",
        "end_page_writeback_sleeping_waiter", "wait_on_page_writeback_clear", "writeback_cycle",
        "unlock_page_no_waiters", "unlock_page_one_waiter", "unlock_page_sleeping_waiter")
        for v in WB]
    cont = ["contention/writeback_cycle_%s/%s/threads=%d" % (s, v, n)
            for s in ("shared", "distinct", "bucket") for v in WB for n in (1, 2)]
    hc = ["hashchain/end_page_writeback/%s/bits=8/chain=%d/entries=%s" % (v, n, e)
          for v in WB for n in (0, 65) for e in ("warm", "cold")]
    hc += ["hashchain/ipages_hold/wake-under-i_pages/bits=8/chain=%d/entries=%s" % (n, e)
           for n in (0, 65) for e in ("warm", "cold")]
    hc += ["hashchain/lock_hold/%s/lock=%s/waiter=%s/bits=8%s" % (v, lock, w, tail)
           for v in WB for lock, w, tail in (("i_pages", "none", ""),
                                             ("i_pages", "queued", "/collide=4"),
                                             ("bucket", "queued", "/collide=4"))]
    dirty = ["dirty/cpdfio_writepage/%s/state=%s" % (v, s) for v in DIRTY
             for s in ("unmapped", "mapped_clean", "mapped_dirty")]
    return {"floor": floor, "hotpath": hot, "contention": cont, "hashchain": hc,
            "dirty": dirty}


@pytest.mark.parametrize("suite", ["floor", "hotpath", "contention", "hashchain", "dirty"])
def test_suite_file(smoke, suite):
    cwd, _ = smoke
    benches = load(cwd, suite)
    want = expected_names()[suite]
    if suite == "floor" and not any(n.endswith("/plain-c") for n in benches):
        want = [n for n in want if n.endswith("/pagecore")]     # no C compiler here
    assert sorted(benches) == sorted(want)
    for name, b in benches.items():
        meta = b.get_metadata()
        assert meta["description"]
        events = dict(x.split("=") for x in meta["pagecore_events"].split())
        assert set(events) == EVENTS, name
        assert all(float(v) >= 0 for v in events.values())
        assert b.get_nvalue() == 1
        assert b.get_unit() == "second"
        # every run is a worker process that says where and what it measured
        (run,) = b.get_runs()
        rmeta = run.get_metadata()
        assert rmeta["pagecore_worker"] == 0
        assert rmeta["pagecore_impl"]
        assert len(rmeta["pagecore_cpus"].split()) == 1
        assert float(rmeta["pagecore_sentinel_ns"]) > 0
        if "/lock_hold/" in name:
            # holds per operation, read off the instrumented run
            assert float(meta["pagecore_holds"]) > 0, name


def test_events_stored_are_the_sources(smoke):
    cwd, _ = smoke
    hot = load(cwd, "hotpath")
    ev = hot["hotpath/end_page_writeback_no_waiters/original"].get_metadata()["pagecore_events"]
    assert ev.startswith("atomic_rmw=1 barrier=1 call=1 cmpxchg=0 cold=0 fcall=16 fold=")
    # (one operation per value here: its end empties the xarray leaf, so the
    # mark goes from the leaf's parent too)
    assert ev.endswith(" lock=1 percpu=8 percpu_cmpxchg=2 sleeps=0 tailcall=0 wakeups=0 walked=0 "
                       "xa_mark=2")
    ev = hot["hotpath/end_page_writeback_no_waiters/get-put"].get_metadata()["pagecore_events"]
    assert "atomic_rmw=3 " in ev


def test_progress_bars_and_report(smoke):
    cwd, out = smoke
    assert "[hotpath] process 1/1" in out
    for suite in ("floor", "hotpath", "contention", "hashchain", "dirty"):
        assert "== %s done" % suite in out
    assert "performance bars" in out
    assert "report: " in out


def test_compare_to_reads_the_files(smoke):
    cwd, _ = smoke
    path = os.path.join(cwd, "results", "ci", "hotpath.json")
    res = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", path, path],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_check(smoke):
    cwd, _ = smoke
    res = pagecore("bench", "--check", "-o", "results", "--machine", "ci", cwd=cwd)
    assert "1. floor locked_rmw" in res.stdout
    assert ("3. hotpath/end_page_writeback_no_waiters/original -> get-put "
            "(events atomic_rmw+2)") in res.stdout
    assert "4. A/A hotpath, identical source" in res.stdout


def test_identical_source_is_labelled_alike(smoke):
    cwd, _ = smoke
    hot = load(cwd, "hotpath")

    def impl(case, v):
        return hot["hotpath/%s/%s" % (case, v)].get_metadata()["pagecore_impl"]

    # the same end of writeback, and a test of a clear bit identical everywhere
    assert impl("end_page_writeback_no_waiters", "original") != impl(
        "end_page_writeback_no_waiters", "get-put")
    assert len({impl("wait_on_page_writeback_clear", v) for v in WB}) == 1
    assert len({impl("unlock_page_no_waiters", v) for v in WB}) == 1


@pytest.mark.parametrize("args, message", [
    (["--suite", "nope"], "unknown suite 'nope'"),
    (["--variant", "nope"], "unknown variant 'nope'"),
    (["--threads", "0"], "threads must be in 1..1024"),
    (["--chain", "x"], "chain must be a comma-separated list of integers"),
    (["--bits", "30"], "bits must be in 1..24"),
    (["--machine", "///"], "machine name"),
    (["--fast", "--rigorous"], "not allowed with argument"),
])
def test_bad_input(tmp_path, args, message):
    res = pagecore("bench", "-o", str(tmp_path), *args, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.startswith("pagecore: ")
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_scripts(tmp_path):
    env = environ(PAGECORE_BENCH_DIR=str(tmp_path))
    res = subprocess.run([sys.executable, "-m", "pagecore", "bench", "-o", str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 2
    assert "holds no suite scripts" in res.stderr


def test_the_suites_ship_with_pagecore():
    # found beside the package, never in the working directory
    from pagecore import _paths
    from pagecore.benchmark.run import bench_dir

    d = bench_dir()
    assert os.path.dirname(os.path.abspath(d)) in (_paths.PACKAGE, _paths.SOURCE)
    for f in ("_harness.py", "floor.py", "hotpath.py", "contention.py", "hashchain.py",
              "dirty.py", "floor.c", "README.md"):
        assert os.path.isfile(os.path.join(d, f)), f


def test_bench_verifies_only_what_has_no_verdict(tmp_path):
    # the dirty path alone: its two variants, every mode, in a few seconds; the second run
    # finds every cell's verdict kept for the variants' source and runs none
    env = {"PAGECORE_VERDICTS": str(tmp_path / "verdicts")}
    args = ["bench", "--smoke", "--suite", "dirty", "-o", "results", "--machine", "ci",
            "--variant", "cpdfio-2.6.19,cpdfio-set-page-dirty", "--no-report"]
    first = pagecore(*args, cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert "replay: 0 of 2 cells have a verdict for their variant's current source (cached); " \
        "verifying 2 cells of cpdfio-2.6.19, cpdfio-set-page-dirty" in first.stdout
    assert "racy: cpdfio-2.6.19" in first.stdout
    second = pagecore(*args, cwd=tmp_path, **env)
    assert second.returncode == 0, second.stderr
    for mode in ("explore", "replay", "stress"):
        assert "%s: all 2 cells have a verdict for their variant's current source (cached)" \
            % mode in second.stdout
    assert "(6 of 6 cells from the cache)" in second.stdout
    import json

    rows = json.loads((tmp_path / "results" / "ci" / "verify.json").read_text())["results"]
    assert len(rows) == 6 and all(r["cached"] for r in rows)
    assert {r["source"] for r in rows if r["variant"] == "cpdfio-2.6.19"} != \
        {r["source"] for r in rows if r["variant"] == "cpdfio-set-page-dirty"}


def test_a_subset_reports_against_the_first_variant_named(tmp_path):
    res = pagecore("bench", "--smoke", "--no-verify", "--suite", "hotpath", "-o", "results",
                   "--machine", "ci", "--variant", "shipped-5.10", "folio-6.7", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "report: not written" not in res.stdout
    md = open(os.path.join(tmp_path, "reports", "ci", "report.md"), encoding="utf-8").read()
    assert "Baseline: `shipped-5.10`" in md
    res = pagecore("bench", "--smoke", "--no-verify", "--suite", "hotpath", "-o", "results",
                   "--machine", "ci", "--variant", "shipped-5.10", "--baseline", "original",
                   cwd=tmp_path)
    assert res.returncode == 2 and "--baseline original is not among" in res.stderr
