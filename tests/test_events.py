"""Event counts of the timed loops (pagecore/_loops.pxi), instrumented build.

The suites store these counts beside every timing, so they must be what
the variant's source executes, per operation, and the same on every run.
A region counts the events of the thread that times it: a waiter woken
inside the region may run its finish_wait() before the region ends (on one
CPU it always does), and that is the waiter's work.  test_woken_waiters_events_stay_out
checks it on one CPU.  least() still takes the least of many runs, where a
stray event of the timed thread's own (a spin retry) could add to one.
"""

import os
import sys

import pytest

from pagecore.benchmark.run import bench_dir
from pagecore.model import _core, _core_instr

# the suites' shared module, where pagecore finds the suites: installed, or beside a source tree
sys.path.insert(0, bench_dir())

from _harness import format_events  # noqa: E402
from eventcounts import as_stated, only  # noqa: E402

N = 256


def counts(loop, variant, n=N, *args, bits=8, setup=None):
    _core_instr.configure(variant, bits)
    if setup:
        setup(_core_instr)
    _core_instr.region_events_reset()
    getattr(_core_instr, loop)(n, *args)
    return {k: v / n for k, v in _core_instr.region_events().items()}


def least(loop, variant, *args, runs=48, bits=8):
    """Per event, the least count of one operation of @loop over @runs runs."""
    _core_instr.configure(variant, bits)
    out = None
    for _ in range(runs):
        _core_instr.region_events_reset()
        getattr(_core_instr, loop)(1, *args)
        ev = _core_instr.region_events()
        out = ev if out is None else {k: min(v, out[k]) for k, v in ev.items()}
    return out


def _expected():
    # each variant file's Expect: lines, read off its source (docs/VARIANTS.md)
    from pagecore.model.variants import VARIANTS

    return [(name, loop, ev) for name, v in VARIANTS.items()
            for loop, ev in sorted(v.expect.items())]


@pytest.mark.parametrize("variant, loop, expected", _expected())
def test_counts_are_what_the_variant_file_expects(variant, loop, expected):
    assert as_stated(counts("bench_" + loop, variant), expected)


def test_every_writeback_builtin_states_its_counts():
    from pagecore.model.variants import VARIANTS

    for v in VARIANTS.values():
        if v.builtin and v.kind == "writeback":
            assert set(v.expect) >= {"end_page_writeback_no_waiters",
                                     "end_page_writeback_queued_waiter"}, v.name


def test_no_waiters_pair_differs_by_a_reference():
    a = counts("bench_end_page_writeback_no_waiters", "original")
    b = counts("bench_end_page_writeback_no_waiters", "get-put")
    assert {k: b[k] - a[k] for k in a if b[k] != a[k]} == {"atomic_rmw": 2}


@pytest.mark.parametrize("variant", ["original", "get-put", "folio-6.7", "pre-5.8"])
def test_unlock_and_wait_without_waiters(variant):
    # 6.7 enters through mm/folio-compat.c's wrapper, which jumps into the folio function
    tail = 1 if variant == "folio-6.7" else 0
    assert counts("bench_unlock_page_no_waiters", variant) == only(atomic_rmw=1, call=1,
                                                                    fcall=1, tailcall=tail)
    assert counts("bench_wait_on_page_writeback_clear", variant) == only(call=1, fcall=1,
                                                                          tailcall=tail)


def test_writeback_cycle():
    # One page, so each end clears the mapping's last writeback tag.  The
    # start (__test_set_page_writeback): the i_pages lock, TestSetPageWriteback,
    # the mark in the leaf, its parent and the root, inc_wb_stat, the inode
    # onto the superblock's list under its lock, the lruvec's three counters
    # and the node's and the zone's; the end the same way back (and the
    # writeout's two proportions and WB_WRITTEN, and NR_WRITTEN).
    assert as_stated(counts("bench_writeback_cycle", "original"),
                     dict(atomic_rmw=2, lock=4, barrier=1, percpu=13, percpu_cmpxchg=3,
                          xa_mark=6, call=2, fcall=29))


def test_writeback_cycle_6_7():
    # 6.7 adds wb_inode_writeback_start()/_end(): an atomic each on
    # wb->writeback_inodes, and at the end the work_lock and the bandwidth
    # update's pending bit; folio_get()/folio_put(); one memcg counter fewer
    # at the start (no lruvec_stat_local), one rstat count more at each end;
    # both entered through mm/folio-compat.c's wrappers
    assert as_stated(counts("bench_writeback_cycle", "folio-6.7"),
                     dict(atomic_rmw=7, lock=5, percpu=13, percpu_cmpxchg=3, xa_mark=6, call=2,
                          fcall=29, tailcall=2))


def test_fold_comes_every_batch():
    # WB_WRITTEN, the two writeout proportions and NR_WRITTEN only grow as
    # writebacks end: each folds once per batch of its count (fewer folds
    # with more CPUs, never none in 4096 ends).  The counters that the start
    # raises and the end lowers fold too, since the loop starts 64 and then
    # ends 64: at most once per batch each (WB_WRITEBACK, NR_WRITEBACK's
    # node, memcg and lruvec parts, NR_ZONE_WRITE_PENDING)
    from pagecore.model import _core_instr as c

    n = 4096
    ev = counts("bench_end_page_writeback_no_waiters", "original", n)
    c.configure("original")
    batches = c.stat_batches()
    want = sum(n // b for b in (batches["wb_stat"], batches["prop"], batches["percpu_counter"]))
    assert want > 0
    # NR_WRITTEN folds past the stat threshold, then restarts half a threshold
    # below zero (mod_node_state()'s overstep)
    t = batches["stat_threshold"]
    written = 1 + (n - (t + 1)) // (t + 1 + t // 2) if n > t else 0
    folds = round(ev["fold"] * n)
    assert want + written <= folds <= want + written + n // batches["wb_stat"] + 4 * n // t


def _queued():
    from pagecore.model.variants import VARIANTS

    return [(n, v.expect["end_page_writeback_queued_waiter"]) for n, v in VARIANTS.items()
            if "end_page_writeback_queued_waiter" in v.expect]


@pytest.mark.parametrize("variant, expected", _queued())
def test_one_waiter_really_sleeps(variant, expected):
    # the queued waiter's counts, and the sleep; one page, whose leaf of the
    # xarray another page keeps marked: no chunk empties it
    ev = least("bench_end_page_writeback_one_waiter", variant)
    assert as_stated(ev, dict(expected, sleeps=1, xa_mark=1))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_woken_waiters_events_stay_out():
    # On one CPU, the wake preempts the waker: loop-in-wait's woken waiter
    # re-checks PG_writeback and runs finish_wait() (the bucket lock, a call)
    # before the timed region ends, every time.  The region still counts
    # the waker's own path, run by run.
    from pagecore.model.variants import VARIANTS

    expected = dict(VARIANTS["loop-in-wait"].expect["end_page_writeback_queued_waiter"],
                    sleeps=1, xa_mark=1)
    was = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(was)})
    try:
        for _ in range(8):
            assert as_stated(counts("bench_end_page_writeback_one_waiter", "loop-in-wait", 1),
                             expected)
    finally:
        os.sched_setaffinity(0, was)


def test_unlock_page_waiters():
    ev = least("bench_unlock_page_waiters", "original")
    # the unlock's byte op and ClearPageWaiters; the waiter asleep in lock_page
    assert ev == only(atomic_rmw=2, lock=1, walked=1, wakeups=1, sleeps=1, call=1, fcall=2)


@pytest.mark.parametrize("variant, chain, lock", [
    # i_pages + bucket; past 64 entries a bookmark adds a breather
    ("original", 63, 2), ("original", 64, 2), ("original", 65, 3),
    # 6.7 walks without bookmarks, and so do both 2024 proposals: a breather
    # would drop the lock that makes clear and wake one step
    ("folio-6.7", 65, 2),
    ("clear-under-waitqueue-lock", 65, 2),
    ("clear-under-waitqueue-lock", 200, 2),
    ("loop-break-on-mapping-change", 65, 2),
])
def test_hash_chain_walk(variant, chain, lock):
    ev = least("bench_end_page_writeback_one_waiter", variant, chain)
    assert ev["walked"] == chain + 1
    assert ev["lock"] == lock
    assert ev["wakeups"] == ev["sleeps"] == 1


@pytest.mark.parametrize("chain", [0, 65])
def test_ipages_hold_is_the_variant_less_its_lock(chain):
    # bench_ipages_hold times the variant's own critical section (its
    # hold_ns); what it counts inside the lock is the variant's walk and
    # wake, its atomics and the bdi_writeback's statistics, but not the
    # i_pages round trip, the call, or the lruvec, zone and node counters,
    # which wake-under-i_pages keeps before it takes the lock
    whole = least("bench_end_page_writeback_one_waiter", "wake-under-i_pages", chain)
    hold = least("bench_ipages_hold", "wake-under-i_pages", chain)
    for k in ("walked", "wakeups", "atomic_rmw", "xa_mark", "sleeps"):
        assert hold[k] == whole[k], k
    assert hold["lock"] == whole["lock"] - 1
    assert hold["call"] == 0 and whole["call"] == 1
    # dec_wb_stat(), and __wb_writeout_inc()'s three
    assert hold["percpu"] == 4 and whole["percpu"] == 8 and whole["percpu_cmpxchg"] == 2


def test_ipages_hold_needs_an_i_pages_hold():
    # any variant's end of writeback can be timed under its i_pages lock; a
    # mapping without writeback tags (swap) gives 6.7's none to time
    from pagecore import PagecoreError

    _core.configure("original")
    assert _core.bench_ipages_hold(1, 0) > 0
    _core.configure("folio-6.7")
    _core.set_mapping_writeback_tags(0, False)
    with pytest.raises(PagecoreError, match="took no i_pages lock"):
        _core.bench_ipages_hold(1, 0)


@pytest.mark.parametrize("loop, expected", [
    ("bench_empty_loop", only()),
    ("bench_locked_rmw", only(atomic_rmw=1)),
    ("bench_cmpxchg", only(cmpxchg=1)),
    ("bench_spinlock", only(lock=1)),
    ("bench_wake_no_waiter", only()),
])
def test_floor(loop, expected):
    _core_instr.region_events_reset()
    getattr(_core_instr, loop)(N)
    assert {k: v / N for k, v in _core_instr.region_events().items()} == expected


@pytest.mark.parametrize("threads", [1, 2])
def test_contention_distinct_pages(threads):
    # nobody waits on a page of its own: lock_page, set, unlock, end
    _core_instr.configure("original", 8, 256, 16)
    _core_instr.region_events_reset()
    _core_instr.bench_writeback_cycles(N, threads, False)
    ev = {k: v / (N * threads) for k, v in _core_instr.region_events().items()}
    # each page the only one of its mapping: every end clears the last tag
    # (as test_writeback_cycle), and lock_page and unlock_page add theirs
    assert as_stated(ev, dict(atomic_rmw=4, lock=4, barrier=1, percpu=13, percpu_cmpxchg=3,
                              xa_mark=6, call=5, fcall=31))


@pytest.mark.parametrize("variant", ["original", "clear-under-waitqueue-lock-cmpxchg"])
def test_contention_bucket_every_end_has_a_waiter(variant):
    # each thread's own page and waiter, every page in one bucket
    _core_instr.configure(variant, 8, _core_instr.cycle_pool(2, "bucket"), 16)
    _core_instr.region_events_reset()
    _core_instr.bench_writeback_cycles(N, 2, "bucket")
    ev = {k: v / (N * 2) for k, v in _core_instr.region_events().items()}
    assert ev["wakeups"] == 1 and ev["walked"] >= 1 and ev["sleeps"] == 0
    assert ev["call"] == 3     # set, end, and the waiter's wait_on_page_writeback()


def test_contention_shared_page_finishes():
    _core.configure("loop-in-wait", 8, 256, 16)
    _core.set_bench_timeout(60)
    assert _core.bench_writeback_cycles(2000, 3, True) > 0
    assert _core.bugs()["bug_on"] == 0


def dirty_counts(variant, state):
    def setup(core):
        core.dirty_configure(4, 1, 0)
    return counts("bench_cpdfio_writepage", variant, 128, state, setup=setup)


def test_dirty_shapes_differ_only_where_a_pte_was_dirty():
    for state in ("unmapped", "mapped_clean"):
        assert dirty_counts("cpdfio-2.6.19", state) == dirty_counts("cpdfio-set-page-dirty",
                                                                   state)
    a = dirty_counts("cpdfio-2.6.19", "mapped_dirty")
    b = dirty_counts("cpdfio-set-page-dirty", "mapped_dirty")
    # set_page_dirty: the private_lock round trip, every buffer and PG_dirty
    assert b["lock"] - a["lock"] == 1
    assert b["atomic_rmw"] - a["atomic_rmw"] == 4 + 1


def test_timed_build_counts_nothing():
    _core.configure("original")
    _core.region_events_reset()
    _core.bench_end_page_writeback_no_waiters(N)
    assert set(_core.region_events().values()) == {0}


def test_format_events():
    text = format_events({"atomic_rmw": 6, "lock": 3, "walked": 1}, 3)
    assert text == ("atomic_rmw=2 barrier=0 call=0 cmpxchg=0 cold=0 fcall=0 fold=0 lock=1 "
                    "percpu=0 percpu_cmpxchg=0 sleeps=0 tailcall=0 wakeups=0 walked=0.333 "
                    "xa_mark=0")


@pytest.mark.parametrize("loop", ["bench_locked_rmw", "bench_end_page_writeback_no_waiters"])
def test_loops_must_be_positive(loop):
    from pagecore import PagecoreError

    _core.configure("original")
    with pytest.raises(PagecoreError):
        getattr(_core, loop)(0)
