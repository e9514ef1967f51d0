"""The queued-waiter loops, the floor's wake of a sleeping thread, hash
chains placed as the kernel's are (warm and cold), placement seeds and CPU
pinning (pagecore/model/_loops.pxi, _api.pxi).

Event counts come from the instrumented build and must be exact: a
queued waiter is woken without a thread beside the timed one, so nothing
but the waker's own path can land in a timed region.
"""

import os

import pytest
from eventcounts import as_stated, only

from pagecore import PagecoreError
from pagecore.model import _core, _core_instr

# 2a9127fcf229's wake and wait, a variant file of the tests' own
WAKE_58 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "variants", "original-5.8.c")

# The statistics fold every batch and an xarray leaf empties once per chunk
# of pages: those counts are fractions per operation.
FRACTIONAL = ("fold", "xa_mark", "percpu")


def counts(loop, variant, n, *args, bits=8, npages=256, **kw):
    _core_instr.configure(variant, bits, npages)
    _core_instr.region_events_reset()
    getattr(_core_instr, loop)(n, *args, **kw)
    ev = _core_instr.region_events()
    out = {k: v / n for k, v in ev.items()}
    # every operation counted alike: the per-op count is a whole number (but
    # where a thread beside the timed one can add its own now and then)
    if loop != "bench_end_page_writeback_one_waiter":
        assert all(v == int(v) for k, v in out.items() if k not in FRACTIONAL), (loop, ev)
    return out


def least(loop, variant, *args, runs=48, **kw):
    """Per event, the least count of one operation of @loop over @runs runs.  With a thread
    that really sleeps, the woken thread's own events land in the timed region whenever the
    timed thread is descheduled between its wake and the region's end (the counters are
    shared); they only ever add, so the least count over many one-operation runs is the
    timed thread's own path (tests/test_events.py)."""
    _core_instr.configure(variant, 8, 256)
    out = None
    for _ in range(runs):
        _core_instr.region_events_reset()
        getattr(_core_instr, loop)(1, *args, **kw)
        ev = _core_instr.region_events()
        out = ev if out is None else {k: min(v, out[k]) for k, v in ev.items()}
    return out


def all_buckets_empty(core):
    return sum(core.bucket_len(b) for b in range(1 << core.table_bits())) == 0


# ---- end_page_writeback with one queued waiter -------------------------------

def _queued():
    # what each variant file expects of one queued waiter (its Expect: line)
    from pagecore.model.variants import VARIANTS

    return [(n, v.expect["end_page_writeback_queued_waiter"]) for n, v in VARIANTS.items()
            if "end_page_writeback_queued_waiter" in v.expect]


@pytest.mark.parametrize("variant, expected", _queued())
def test_end_page_writeback_queued_waiter(variant, expected):
    # i_pages and the bucket lock; one entry walked; one task woken, none slept
    ev = counts("bench_end_page_writeback_queued_waiter", variant, 256)
    assert as_stated(ev, expected)
    assert ev["walked"] == 1 and ev["wakeups"] == 1 and ev["sleeps"] == 0
    assert all_buckets_empty(_core_instr)


def test_queued_waiter_pair_differs_by_a_reference():
    a = counts("bench_end_page_writeback_queued_waiter", "original", 200)
    b = counts("bench_end_page_writeback_queued_waiter", "get-put", 200)
    assert {k: b[k] - a[k] for k in a if b[k] != a[k]} == {"atomic_rmw": 2}


def test_queued_waiter_is_the_sleeping_waiter_less_its_sleep():
    # the same code path as the loop with a real sleeping thread, less the
    # sleep and the futex wake (which is no event)
    queued = counts("bench_end_page_writeback_queued_waiter", "original", 64)
    # the woken thread runs on another CPU: its own events can fall inside the waker's
    # region, and only add to it, so the waker's path is the least count of one operation
    sleeping = least("bench_end_page_writeback_one_waiter", "original")
    assert sleeping.pop("sleeps") == 1
    queued.pop("sleeps")
    # the queued loop's pages fill a leaf of the xarray, and empty it once
    # per chunk; the sleeping waiter's one page never does
    assert queued.pop("xa_mark") == 1 + 1 / 64 and sleeping.pop("xa_mark") == 1
    # the queued loop's 64 operations fold a per-CPU batch now and then (a
    # fraction of a fold, and of its lock, per operation); one operation
    # seldom does, and the least count is one without
    assert set(sleeping) == set(queued)
    assert all(abs(sleeping[k] - queued[k]) < 0.25 for k in queued), (sleeping, queued)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 200])
def test_queued_waiter_any_loop_count(n):
    # whole chunks and a partial one
    ev = counts("bench_end_page_writeback_queued_waiter", "original", n)
    assert ev["wakeups"] == 1 and ev["walked"] == 1


def test_queued_waiter_small_pool():
    # fewer pages than a chunk: smaller chunks, the same counts
    ev = counts("bench_end_page_writeback_queued_waiter", "get-put", 100, npages=3)
    # (three slots, one leaf, which the page kept under writeback keeps marked)
    assert as_stated(ev, dict(atomic_rmw=4, barrier=1, lock=2, walked=1, wakeups=1, percpu=8,
                              percpu_cmpxchg=2, xa_mark=1, call=1, fcall=17))


# ---- unlock_page with one queued exclusive waiter ----------------------------

@pytest.mark.parametrize("variant", ["original", "pre-5.8", "get-put", "folio-6.7"])
def test_unlock_page_queued_waiter(variant):
    # the unlock's byte op and ClearPageWaiters; 5.9 (and pre-5.8) only test
    # the bit for a first-attempt exclusive waiter
    ev = counts("bench_unlock_page_queued_waiter", variant, 200)
    # unlock_page() and the walk's entry (6.7: entered through its folio-compat
    # wrapper, which jumps on; pre-5.8: and autoremove_wake_function(), which its
    # wake function calls)
    assert ev == only(atomic_rmw=2, lock=1, walked=1, wakeups=1, call=1,
                      fcall=3 if variant == "pre-5.8" else 2,
                      tailcall=1 if variant == "folio-6.7" else 0)


def test_unlock_page_queued_waiter_58_hands_off():
    # 2a9127fcf229: the waker takes the lock for the waiter, one more RMW
    _core_instr.configure(WAKE_58)
    _core_instr.region_events_reset()
    _core_instr.bench_unlock_page_queued_waiter(130)
    ev = {k: v / 130 for k, v in _core_instr.region_events().items()}
    assert ev == only(atomic_rmw=3, lock=1, walked=1, wakeups=1, call=1, fcall=2)


# ---- ipages_hold with a queued waiter ----------------------------------------

@pytest.mark.parametrize("chain", [0, 65])
def test_ipages_hold_queued_is_the_variant_less_its_lock(chain):
    # inside the hold: the clear, the tag, the walk and wake, the
    # bdi_writeback's statistics; outside: the i_pages round trip, the call,
    # and the lruvec, zone and node counters, kept before the lock
    whole = counts("bench_end_page_writeback_queued_waiter", "wake-under-i_pages", 32, chain)
    hold = counts("bench_ipages_hold_queued", "wake-under-i_pages", 32, chain)
    for k in ("walked", "wakeups", "atomic_rmw", "xa_mark", "sleeps"):
        assert hold[k] == whole[k], k
    assert hold["lock"] == whole["lock"] - 1
    assert hold["call"] == 0 and whole["call"] == 1
    assert hold["percpu"] == 4 and whole["percpu"] == 8 and whole["percpu_cmpxchg"] == 2


@pytest.mark.parametrize("variant, bucket_percpu", [
    # the walk and wake alone under the bucket lock
    ("folio-6.7", 0), ("original", 0),
    # 6.7's __folio_end_writeback() runs under the bucket lock, statistics
    # and all
    ("clear-under-waitqueue-lock", 8), ("clear-under-waitqueue-lock-cmpxchg", 8)])
def test_bucket_hold_shows_what_runs_under_it(variant, bucket_percpu):
    hold = counts("bench_lock_hold_queued", variant, 64, 4, cold=True, lock="bucket")
    assert hold["walked"] == 5 and hold["wakeups"] == 1 and hold["cold"] == 4
    assert hold["percpu"] == bucket_percpu
    assert _core_instr.last_lock_holds() == (64, 64)


def test_no_waiter_holds():
    # nobody waits: one i_pages hold per end, and no bucket lock taken
    hold = counts("bench_lock_hold_no_waiters", "original", 128, lock="i_pages")
    assert hold["atomic_rmw"] == 1 and hold["percpu"] == 4 and hold["lock"] == 0
    assert _core_instr.last_lock_holds() == (128, 128)
    _core.configure("original")
    assert _core.bench_lock_hold_no_waiters(64, lock="bucket") == 0


def test_ipages_hold_queued_needs_an_i_pages_hold():
    _core.configure("folio-6.7")
    _core.set_mapping_writeback_tags(0, False)
    with pytest.raises(PagecoreError, match="took no i_pages lock"):
        _core.bench_ipages_hold_queued(1)


# ---- hash chains: placement, warm and cold -----------------------------------

@pytest.mark.parametrize("cold", [False, True])
@pytest.mark.parametrize("variant, chain, lock", [
    # i_pages + bucket; past 64 entries a bookmark adds a breather
    ("original", 1, 2), ("original", 64, 2), ("original", 65, 3), ("original", 300, 6),
    # 6.7 walks without bookmarks
    ("folio-6.7", 65, 2),
])
def test_queued_chain_walk(variant, chain, lock, cold):
    ev = counts("bench_end_page_writeback_queued_waiter", variant, 40, chain, cold=cold)
    assert ev["walked"] == chain + 1
    # the evicted entries each a line loaded from memory, the waiter's not
    assert ev["cold"] == (chain if cold else 0)
    assert ev["lock"] == lock
    assert ev["wakeups"] == 1 and ev["sleeps"] == 0
    # PG_waiters stays set: the bucket still holds other pages' entries
    # ("The next waker will clear it")
    assert all_buckets_empty(_core_instr)


@pytest.mark.parametrize("cold", [False, True])
def test_sleeping_waiter_chain_cold_and_freed(cold):
    ev = least("bench_end_page_writeback_one_waiter", "original", 20, cold=cold)
    assert ev["walked"] == 21
    assert all_buckets_empty(_core_instr)


@pytest.mark.parametrize("cold", [False, True])
@pytest.mark.parametrize("chain", [0, 1, 100])
def test_walk_colliding(chain, cold):
    # the bucket lock, the walk, ClearPageWaiters (no match: key.page_match 0)
    ev = counts("bench_walk_colliding", "original", 50, chain, cold=cold)
    # a breather after every 65 entries walked
    # (wake_up_page_bit() is static, as in 5.10; the walk's entry is not)
    assert ev == only(atomic_rmw=1, lock=1 + (max(chain, 1) - 1) // 65, walked=chain, call=1,
                      fcall=1 + (max(chain, 1) - 1) // 65, cold=chain if cold else 0)
    assert all_buckets_empty(_core_instr)


def test_colliding_entries_placed_like_stack_entries():
    _core.configure("original", placement_seed=7)
    _core.park_colliding(0, 200)
    [addrs] = _core.parked_entries()
    assert len(addrs) == 200
    # one cache line and one 4 KiB page each
    assert all(a % 64 == 0 for a in addrs)
    assert len({a >> 12 for a in addrs}) == 200
    # not in address order, and not all in one cache set
    assert addrs != sorted(addrs) and addrs != sorted(addrs, reverse=True)
    assert len({(a >> 6) & 63 for a in addrs}) > 16
    assert _core.bucket_len(_core.bucket_of(0)) == 200
    assert _core.evict_colliding() in ("clflush", "eviction-buffer")
    _core.unpark_colliding()
    assert _core.parked_entries() == []
    assert all_buckets_empty(_core)


def test_colliding_order_is_seeded():
    def order(seed):
        _core.configure("original", placement_seed=seed)
        _core.park_colliding(0, 50)
        [addrs] = _core.parked_entries()
        base = min(addrs) >> 12
        # the page of each entry within the block, and its line
        return [((a >> 12) - base, (a >> 6) & 63) for a in addrs]

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_park_colliding_many_entries_share_pages_on_distinct_lines():
    _core.configure("original")
    _core.park_colliding(0, 20000)
    [addrs] = _core.parked_entries()
    assert len(set(addrs)) == 20000
    _core.unpark_colliding()


@pytest.mark.parametrize("bad", [-1, (1 << 20) + 1])
def test_chain_bounds(bad):
    _core.configure("original")
    with pytest.raises(PagecoreError):
        _core.bench_end_page_writeback_queued_waiter(1, bad)
    with pytest.raises(PagecoreError):
        _core.park_colliding(0, bad)


def test_cold_chains_cost_more():
    # 256 entries on distinct pages, flushed before each operation, against
    # the same entries left in the cache: the gap is far above noise
    def best(cold):
        vals = []
        for _ in range(3):
            _core.configure("original")
            vals.append(_core.bench_end_page_writeback_queued_waiter(200, 256, cold=cold))
        return min(vals)

    assert best(True) > 2 * best(False)


# ---- the wake of a sleeping thread -------------------------------------------

def test_wake_sleeping_thread_wakes_a_sleeper_each_time():
    _core_instr.region_events_reset()
    secs = _core_instr.bench_wake_sleeping_thread(40)
    assert secs > 0
    assert _core_instr.region_events() == only(wakeups=40, sleeps=40)


def test_wake_sleeping_thread_timed_build():
    assert _core.bench_wake_sleeping_thread(20) > 0


# ---- the timed build ----------------------------------------------------------

@pytest.mark.parametrize("loop, args", [
    ("bench_end_page_writeback_queued_waiter", ()),
    ("bench_end_page_writeback_queued_waiter", (10, True)),
    ("bench_unlock_page_queued_waiter", ()),
    ("bench_walk_colliding", (10,)),
])
def test_timed_build_runs_and_counts_nothing(loop, args):
    _core.configure("get-put")
    _core.region_events_reset()
    assert getattr(_core, loop)(300, *args) > 0
    assert set(_core.region_events().values()) == {0}
    assert all_buckets_empty(_core)


@pytest.mark.parametrize("loop", ["bench_end_page_writeback_queued_waiter",
                                  "bench_unlock_page_queued_waiter",
                                  "bench_wake_sleeping_thread"])
def test_new_loops_must_be_positive(loop):
    _core.configure("original")
    with pytest.raises(PagecoreError):
        getattr(_core, loop)(0)


# ---- placement seeds -----------------------------------------------------------

def test_placement_seed_moves_the_model_not_its_behaviour():
    offsets = set()
    expected = None
    for seed in range(6):
        _core_instr.configure("get-put", placement_seed=seed)
        pl = _core_instr.placement()
        assert pl["seed"] == seed
        assert all(pl[k] % 64 == 0 for k in ("pages", "wait_table", "mappings"))
        offsets.add((pl["pages"], pl["wait_table"], pl["mappings"]))
        _core_instr.region_events_reset()
        _core_instr.bench_end_page_writeback_queued_waiter(128)
        _core_instr.bench_end_page_writeback_no_waiters(128)
        ev = _core_instr.region_events()
        expected = expected or ev
        assert ev == expected
    assert len(offsets) > 1


def test_placement_seed_is_reproducible():
    _core.configure("original", placement_seed=12345)
    a = _core.placement()
    _core.configure("original", placement_seed=12345)
    assert _core.placement() == a
    _core.configure("original")
    assert _core.placement()["seed"] is None


@pytest.mark.parametrize("bad", [-1, "x", 1.5])
def test_placement_seed_bad(bad):
    with pytest.raises(PagecoreError):
        _core.configure("original", placement_seed=bad)


# ---- CPUs ----------------------------------------------------------------------

def test_pin_cpu_and_back():
    allowed = sorted(os.sched_getaffinity(0))
    assert _core.current_cpu() in allowed
    try:
        for cpu in allowed[:2]:
            _core.pin_cpu(cpu)
            assert _core.pinned_cpu() == cpu
            assert _core.current_cpu() == cpu
            assert os.sched_getaffinity(0) == {cpu}
    finally:
        _core.unpin_cpu()
    assert _core.pinned_cpu() is None
    assert sorted(os.sched_getaffinity(0)) == allowed


def test_pin_cpu_bad():
    with pytest.raises(PagecoreError):
        _core.pin_cpu(-1)
    with pytest.raises(PagecoreError):
        _core.pin_cpu(max(os.sched_getaffinity(0)) + 1000)
    assert _core.pinned_cpu() is None


def test_pinned_timed_thread_still_has_a_waiter_beside_it():
    # the waiter thread does not inherit the pin: it still sleeps and is woken
    allowed = sorted(os.sched_getaffinity(0))
    _core_instr.configure("original")
    _core_instr.pin_cpu(allowed[-1])
    try:
        _core_instr.region_events_reset()
        _core_instr.bench_end_page_writeback_one_waiter(16)
        _core_instr.bench_wake_sleeping_thread(8)
    finally:
        _core_instr.unpin_cpu()
    ev = _core_instr.region_events()
    assert ev["wakeups"] == 24
    assert ev["sleeps"] >= 24
