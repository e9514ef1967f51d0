"""The core model: primitives, each variant single-threaded, and with real
threads: wakeups, lock hand-off, long wake walks, hash collisions.

Every threaded test runs under run_threads()'s watchdog: a hang fails the
test within seconds and names the tasks that were stuck, and where.
"""

import os
import time

import pytest
from pagecore.model._core import atomic_dec_and_test_, bitop, cmpxchg_

import pagecore
from pagecore import Model, PagecoreError, run_threads
from pagecore.model import _core, _core_instr

NCPU = os.cpu_count() or 2
WB = pagecore.WRITEBACK_VARIANTS


def ran_clean(run):
    assert not run.hung, "hang: " + run.describe_hang()
    assert not run.errors, run.errors


def wait_until(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.002)
    return False


def sleepers(m, where="wait_on_page_bit_common"):
    return [t for t in m.tasks() if t["where"] == where and t["asleep"]]


# ---- primitives -------------------------------------------------------------

@pytest.mark.parametrize("op,word,arg,ret,new", [
    ("set_bit", 0, 15, 0, 1 << 15),
    ("clear_bit", 0xFF, 3, 0, 0xF7),
    ("test_bit", 0x80, 7, 1, 0x80),
    ("test_bit", 0x80, 6, 0, 0x80),
    ("test_and_set_bit", 0, 0, 0, 1),
    ("test_and_set_bit", 1, 0, 1, 1),
    ("test_and_set_bit_lock", 0, 0, 0, 1),
    ("test_and_clear_bit", 1 << 15, 15, 1, 0),
    ("test_and_clear_bit", 0, 15, 0, 0),
    ("clear_bit_unlock", 0x81, 0, 0, 0x80),
    # unlock_page(): PG_locked cleared, PG_waiters (bit 7, the byte's sign) reported
    ("clear_bit_unlock_is_negative_byte", 0x81, 0, 1, 0x80),
    ("clear_bit_unlock_is_negative_byte", 0x01, 0, 0, 0x00),
    # the high bits of the word are not touched by the byte operation
    ("clear_bit_unlock_is_negative_byte", (1 << 15) | 0x01, 0, 0, 1 << 15),
    # folio_xor_flags_has_waiters(): PG_writeback is bit 1 in the 6.6 layout
    ("xor_unlock_is_negative_byte", 0x82, 1 << 1, 1, 0x80),
    ("xor_unlock_is_negative_byte", 0x02, 1 << 1, 0, 0x00),
])
def test_bitops(op, word, arg, ret, new):
    assert bitop(op, word, arg) == (ret, new)


def test_cmpxchg_returns_what_it_found():
    assert cmpxchg_(5, 5, 7) == (5, 7)
    assert cmpxchg_(5, 4, 7) == (5, 5)


def test_atomic_dec_and_test():
    assert atomic_dec_and_test_(1) == (True, 0)
    assert atomic_dec_and_test_(2) == (False, 1)


def test_spinlock_excludes():
    _core.locked_counter(reset=True)
    n = 20000
    run = run_threads(_core, {"t%d" % i: (lambda: _core.locked_increments(n))
                              for i in range(NCPU + 1)}, timeout=30)
    ran_clean(run)
    assert _core.locked_counter(reset=True) == n * (NCPU + 1)


def test_futex_sleep_and_wake():
    pids = {}

    def sleeper():
        pids["s"] = _core.current_pid()
        return _core.sleep_until_woken()

    def waker():
        assert wait_until(lambda: "s" in pids)
        # Wait for the sleeper to set its state, give it time to reach the
        # futex, then wake it.
        assert wait_until(lambda: _core.task_state(pids["s"]) not in (None, 0))
        time.sleep(0.05)
        return _core.wake_up_pid(pids["s"])

    run = run_threads(_core, {"sleeper": sleeper, "waker": waker}, timeout=10)
    ran_clean(run)
    assert run.results == {"sleeper": True, "waker": True}


def test_watchdog_reports_a_sleeper_nobody_wakes():
    run = run_threads(_core, {"forgotten": _core.sleep_until_woken}, timeout=0.5)
    assert [t["comm"] for t in run.hung] == ["forgotten"]
    assert "forgotten" in run.describe_hang()
    assert not run.unrecoverable
    assert not _core.aborted()


def test_hash_ptr_is_the_golden_ratio_multiply():
    K = 0x61C8864680B583EB
    for v in (0, 1, 0xffff888012345640, 0xdeadbeef):
        for bits in (8, 10, 16):
            assert _core.hash_ptr_(v, bits) == ((v * K) % 2**64) >> (64 - bits)


# ---- single-threaded, every variant -------------------------------------------

@pytest.mark.parametrize("variant", WB)
def test_writeback_cycle_single_threaded(variant):
    m = Model(variant, instrumented=True)
    p = m.new_page()
    assert m.page_count(p) == 2          # ours + the page cache's
    m.start_writeback(p)
    assert m.PageWriteback(p) and not m.PageLocked(p)
    assert m.mapping_info()["writeback"] == 1
    m.SetPageReclaim(p)
    m.end_page_writeback(p)
    assert not m.PageWriteback(p)
    assert m.mapping_info()["writeback"] == 0
    assert m.info(p)["flags"] == 0        # PG_reclaim cleared too
    assert m.page_count(p) == 2          # get/put balanced
    assert not m.write_cache_pages(p, start_writeback=False)
    m.wait_on_page_writeback(p)          # returns at once
    assert sum(m.bugs().values()) == 0


@pytest.mark.parametrize("variant", WB)
def test_end_page_writeback_when_clear_is_a_bug(variant):
    m = Model(variant, instrumented=True)
    p = m.new_page()
    m.end_page_writeback(p)
    assert m.bugs()["not_under_writeback"] == 1


def test_folio_layout_moves_writeback_to_bit_1():
    m = Model("folio-6.7")
    assert (m.PG_writeback, m.PG_dirty, m.PG_waiters) == (1, 4, 7)
    p = m.new_page()
    m.start_writeback(p)
    assert m.flags(p) == 1 << 1
    m = Model("original")
    assert (m.PG_writeback, m.PG_dirty) == (15, 3)


def test_allocator_reuses_and_poisons():
    m = Model("original", npages=4)
    p = m.alloc_page()
    gen = m.info(p)["gen"]
    m.put_page(p)
    assert m.info(p)["free"]
    q = m.alloc_page()
    assert q == p and m.info(q)["gen"] == gen + 1   # LIFO: the same page, reused
    assert not m.info(q)["free"]


def test_truncation_frees_the_page():
    m = Model("original")
    p = m.new_page()
    m.truncate_inode_page(p)             # drops our reference and the cache's
    assert m.info(p)["free"] and m.info(p)["mapping"] == -1
    assert m.mapping_info()["nrpages"] == 0


def test_freeing_a_page_under_writeback_is_a_bad_page():
    m = Model("original", instrumented=True)
    p = m.alloc_page()
    m.lock_page(p)
    m.set_page_writeback(p)
    m.unlock_page(p)
    m.put_page(p)
    assert m.bugs()["bad_page"] == 1


def test_swap_mapping_has_no_writeback_tags():
    m = Model("original")
    m.core.set_mapping_writeback_tags(1, False)
    p = m.new_page(mapping=1)
    m.start_writeback(p)
    assert m.mapping_info(1)["writeback"] == 0
    m.end_page_writeback(p)
    assert not m.PageWriteback(p)


@pytest.mark.parametrize("variant,rmw,locks,barriers,cmpxchg", [
    # end_page_writeback with no waiter: the order of the source, counted.
    # The mapping's only page: its end clears the last writeback tag, which
    # takes the inode off the superblock's list under s_inode_wblist_lock.
    ("original", 1, 2, 1, 0),            # i_pages lock; TestClear; smp_mb__after_atomic
    ("pre-5.8", 1, 2, 1, 0),
    ("get-put", 3, 2, 1, 0),             # + get_page, put_page
    ("get-put-on-waiters", 1, 2, 0, 0),  # "No need for smp_mb__after_atomic() after TestClear"
    ("wake-under-i_pages", 1, 2, 0, 0),
    ("cmpxchg-clear-in-wakeup", 0, 2, 0, 1),
    # folio_get; xor; folio_put; and 6.7's wb_inode_writeback_end(): an atomic
    # on wb->writeback_inodes and, under wb->work_lock, the bandwidth work's
    # pending bit
    ("folio-6.7", 5, 3, 0, 0),
    # PG_waiters clear: folio_test_waiters is a plain load, then exactly 6.7
    ("clear-under-waitqueue-lock", 5, 3, 0, 0),
    ("loop-break-on-mapping-change", 5, 3, 0, 0),
])
def test_event_counts_follow_the_source(variant, rmw, locks, barriers, cmpxchg):
    m = Model(variant, instrumented=True)
    p = m.new_page()
    m.start_writeback(p)
    m.events_reset()
    m.end_page_writeback(p)
    ev = m.events()
    assert (ev["atomic_rmw"], ev["lock"], ev["barrier"], ev["cmpxchg"]) == \
        (rmw, locks, barriers, cmpxchg)
    assert ev["walked"] == ev["wakeups"] == ev["sleeps"] == 0


def test_timed_build_counts_nothing():
    m = Model("get-put")
    p = m.new_page()
    m.start_writeback(p)
    m.events_reset()
    m.end_page_writeback(p)
    # the counters compile to nothing there; the Model says so rather than answer zeros
    assert set(m.core.events().values()) == {0}
    with pytest.raises(PagecoreError, match="needs the instrumented build"):
        m.events()


# ---- real threads -------------------------------------------------------------

@pytest.mark.parametrize("variant", WB)
def test_all_waiters_woken_no_lost_wakeup(variant):
    m = Model(variant)
    p = m.new_page()
    nwait = 2 * NCPU
    for _ in range(5):
        m.start_writeback(p)
        fns = {"waiter%d" % i: (lambda: m.wait_on_page_writeback(p)) for i in range(nwait)}

        def ender():
            # End the writeback only once every waiter is asleep on it.
            assert wait_until(lambda: len(sleepers(m)) == nwait)
            m.end_page_writeback(p)

        fns["end_page_writeback"] = ender
        run = run_threads(m.core, fns, timeout=10)
        ran_clean(run)
        assert not m.PageWriteback(p)
    assert sum(m.bugs().values()) == 0


@pytest.mark.parametrize("variant,generation,n", [
    # 5.8's strict hand-off wakes a sleeper for every unlock: slow by design
    ("pre-5.8", None, 50000), ("original", "5.8", 2000), ("original", None, 50000),
    ("folio-6.7", None, 50000)])
def test_lock_page_excludes_and_hands_off(variant, generation, n):
    if generation == "5.8":
        # 2a9127fcf229's wake and wait, a variant file of the tests' own
        variant = os.path.join(os.path.dirname(os.path.abspath(__file__)), "variants",
                               "original-5.8.c")
    m = Model(variant, instrumented=True)
    p = m.new_page()
    m.core.page_lock_counter_(reset=True)
    nthreads = 2 * NCPU
    # Hold the lock until every locker sleeps on it, so the run starts with
    # a queue of waiters and unlock_page() must hand off from the start.
    m.lock_page(p)
    fns = {"locker%d" % i: (lambda: m.core.page_lock_increments(p, n)) for i in range(nthreads)}

    def opener():
        assert wait_until(lambda: len(sleepers(m)) == nthreads)
        m.unlock_page(p)

    fns["opener"] = opener
    run = run_threads(m.core, fns, timeout=60)
    ran_clean(run)
    assert m.core.page_lock_counter_(reset=True) == n * nthreads
    assert not m.PageLocked(p) and not m.PageWaiters(p)
    ev = m.events()
    assert ev["sleeps"] >= nthreads and ev["wakeups"] >= nthreads


def test_fair_handoff_after_unfairness_runs_out():
    # 5.9: a waiter that lost the race page_lock_unfairness times asks for
    # the hand-off (WQ_FLAG_CUSTOM): the waker takes PG_locked for it.  Hold
    # the lock, let a waiter queue, and unlock: under 5.9 the waiter owns
    # the lock on return without retrying.
    m = Model("original")
    p = m.new_page()
    m.lock_page(p)

    def waiter():
        m.lock_page(p)
        locked = m.PageLocked(p)
        m.unlock_page(p)
        return locked

    def unlocker():
        assert wait_until(lambda: len(sleepers(m)) == 1)
        m.unlock_page(p)

    run = run_threads(m.core, {"waiter": waiter, "unlocker": unlocker}, timeout=10)
    ran_clean(run)
    assert run.results["waiter"] is True
    assert not m.PageLocked(p) and not m.PageWaiters(p)


def test_put_and_wait_on_page_locked_drops_the_reference():
    m = Model("original")
    p = m.new_page()
    m.lock_page(p)
    m.get_page(p)
    before = m.page_count(p)

    def dropper():
        m.put_and_wait_on_page_locked(p)

    def unlocker():
        assert wait_until(lambda: m.page_count(p) == before - 1)
        assert wait_until(lambda: len(sleepers(m)) == 1)
        m.unlock_page(p)

    run = run_threads(m.core, {"dropper": dropper, "unlocker": unlocker}, timeout=10)
    ran_clean(run)
    assert m.page_count(p) == before - 1


@pytest.mark.parametrize("variant", ["original", "pre-5.8", "folio-6.7"])
@pytest.mark.parametrize("nparked", [0, 64, 65, 200])
def test_wake_walk_over_colliding_entries(variant, nparked):
    m = Model(variant, instrumented=True)
    p = m.new_page()
    bucket = m.bucket_of(p)
    m.park_colliding(p, nparked)
    assert m.bucket_len(bucket) == nparked
    m.start_writeback(p)

    def ender():
        assert wait_until(lambda: len(sleepers(m)) == 1)
        m.events_reset()
        m.core.rp_reset()
        m.end_page_writeback(p)
        return m.events(), m.core.rp_hits("wake_breather")

    run = run_threads(m.core, {"waiter": lambda: m.wait_on_page_writeback(p),
                               "ender": ender}, timeout=10)
    ran_clean(run)
    ev, breathers = run.results["ender"]
    # Every parked entry is walked past before the waiter behind them.
    assert ev["walked"] == nparked + 1
    assert ev["wakeups"] == 1
    # Bookmarks: a breather every WAITQUEUE_WALK_BREAK_CNT (64) entries
    # when more follow; 6.7 has none.
    expected = 0 if variant == "folio-6.7" else (nparked + 1 - 1) // 65
    assert breathers == expected
    assert m.bucket_len(bucket) == nparked
    # The walk matched this page and left other pages' entries queued, so
    # PG_waiters stays set: "That's okay, it's a rare case.  The next waker
    # will clear it."
    assert m.PageWaiters(p) == (nparked > 0)
    m.unpark_colliding()
    assert m.bucket_len(bucket) == 0


def test_hash_collision_between_pages():
    m = Model("original", table_bits=8, npages=300)
    pages = [m.new_page(index=i) for i in range(300)]
    seen = {}
    for q in pages:
        seen.setdefault(m.bucket_of(q), []).append(q)
    a, b = next(v for v in seen.values() if len(v) >= 2)[:2]
    assert m.bucket_of(a) == m.bucket_of(b)
    m.start_writeback(a)
    m.start_writeback(b)

    def ender():
        assert wait_until(lambda: len(sleepers(m)) == 2)
        m.end_page_writeback(a)
        # Only a's waiter wakes; b's stays asleep in the shared bucket.
        assert wait_until(lambda: len(sleepers(m)) == 1)
        time.sleep(0.05)
        left = sleepers(m)
        # b's waiter was seen in the walk, a's was woken: a's PG_waiters
        # stays set ("it's a rare case, the next waker will clear it").
        waiters_a = m.PageWaiters(a)
        m.end_page_writeback(b)
        return [t["page"] for t in left], waiters_a

    run = run_threads(m.core, {"wa": lambda: m.wait_on_page_writeback(a),
                               "wb": lambda: m.wait_on_page_writeback(b),
                               "ender": ender}, timeout=10)
    ran_clean(run)
    left, waiters_a = run.results["ender"]
    assert left == [b]
    assert waiters_a
    assert not m.PageWaiters(b)


def test_instrumented_and_timed_builds_are_separate_models():
    a = Model("original")
    b = Model("get-put", instrumented=True)
    assert a.core is _core and b.core is _core_instr
    assert _core.variant() == "original" and _core_instr.variant() == "get-put"


# ---- the 30 Sep 2024 proposals, and the tracked slow waiter ------------------

def _wait_thread(m, p, track=False, throttle_ns=0):
    def fn():
        if track:
            m.core.wait_track(m.core.current_pid(), throttle_ns, p)
        m.wait_on_page_writeback(p)
        return m.PageWriteback(p)
    return fn


def test_clear_under_waitqueue_lock_clears_and_wakes_in_one_hold():
    # The waiter is asleep, so PG_waiters is set: the end takes the bucket
    # lock before the clear.  Paused just after the clear, it still holds
    # it: a second waiter cannot even queue, so none can see the bit clear
    # before the wake.
    from pagecore.verify.interleaving import Interleaving

    m = Model("clear-under-waitqueue-lock", instrumented=True)
    p = m.new_page()
    m.start_writeback(p)
    with Interleaving(m) as s:
        s.start("waiter", m.wait_on_page_writeback, p)
        assert s.asleep("waiter", bit=m.PG_writeback)
        s.start("end", m.end_page_writeback, p, park_at="ewb_after_clear")
        assert s.parked("end", "ewb_after_clear")
        assert not m.PageWriteback(p)
        s.start("second", m.wait_on_page_bit, p, m.PG_writeback)
        assert wait_until(lambda: s.where("second") == "spinning on a held spinlock")
        assert s.where("waiter").startswith("asleep")
        s.release("ewb_after_clear")
        assert s.done("end") and s.done("waiter") and s.done("second")
    assert s.outcome.failures == []


def test_clear_under_waitqueue_lock_waits_with_an_if():
    # Woken, then PG_writeback is set again before the waiter looks: an
    # `if` waiter returns all the same (folio-6.7's `while` would sleep).
    from pagecore.verify.interleaving import Interleaving

    m = Model("clear-under-waitqueue-lock", instrumented=True)
    p = m.new_page()
    m.start_writeback(p)
    with Interleaving(m) as s:
        s.start("waiter", _wait_thread(m, p), park_at="wait_after_schedule")
        assert s.asleep("waiter", bit=m.PG_writeback)
        m.end_page_writeback(p)
        assert s.parked("waiter", "wait_after_schedule")
        m.start_writeback(p)
        s.release("wait_after_schedule")
        assert s.done("waiter")
        assert s.result("waiter") is True      # returned with PG_writeback set
    m.end_page_writeback(p)


@pytest.mark.parametrize("variant, breaks", [
    ("loop-break-on-mapping-change", True), ("folio-6.7", False)])
def test_loop_breaks_when_the_mapping_changed(variant, breaks):
    # A filemap_fdatawait waiter (no page lock) on a page truncated under
    # it: once woken it finds PG_writeback set again, on a page no longer in
    # its file.  Matthew Wilcox's loop returns; 6.7's sleeps again.
    from pagecore.verify.interleaving import Interleaving

    m = Model(variant, instrumented=True)
    p = m.new_page()
    m.start_writeback(p)
    with Interleaving(m) as s:
        s.start("waiter", _wait_thread(m, p, track=True), park_at="wait_after_schedule")
        assert s.asleep("waiter", bit=m.PG_writeback)
        m.delete_from_page_cache(p)           # ->mapping = NULL
        m.end_page_writeback(p)
        assert s.parked("waiter", "wait_after_schedule")
        m.start_writeback(p)                  # writeback again, for nobody's file
        s.release("wait_after_schedule")
        if breaks:
            assert s.done("waiter")
            assert s.result("waiter") is True
        else:
            assert not s.done("waiter")       # asleep again on the new writeback
            m.end_page_writeback(p)
            assert s.done("waiter")
            assert s.result("waiter") is False
    st = m.core.wait_track_stats()
    assert st["mapping_breaks"] == (1 if breaks else 0)
    assert st["resleeps"] == (0 if breaks else 1)
    if breaks:
        m.end_page_writeback(p)


@pytest.mark.parametrize("variant, resleeps", [
    ("folio-6.7", 1), ("loop-in-wait", 1), ("pre-5.8", 1),
    ("clear-under-waitqueue-lock", 0), ("original", 0)])
def test_tracker_counts_a_wake_that_sleeps_again(variant, resleeps):
    # One wake that finds PG_writeback set again: a waiter that loops (or
    # re-queues, before 5.8) sleeps a second time; an `if` waiter does not.
    from pagecore.verify.interleaving import Interleaving

    m = Model(variant, instrumented=True)
    p = m.new_page()
    m.start_writeback(p)
    with Interleaving(m) as s:
        s.start("waiter", _wait_thread(m, p, track=True), park_at="wait_after_schedule")
        assert s.asleep("waiter", bit=m.PG_writeback)
        m.end_page_writeback(p)
        assert s.parked("waiter", "wait_after_schedule")
        m.start_writeback(p)
        s.release("wait_after_schedule")
        if resleeps:
            assert s.asleep("waiter", bit=m.PG_writeback)
            m.end_page_writeback(p)
            assert s.done("waiter")
        else:
            assert s.done("waiter")     # back with PG_writeback set
            m.end_page_writeback(p)
    st = m.core.wait_track_stats()
    assert (st["waits"], st["wakes"], st["resleeps"]) == (1, 1 + resleeps, resleeps)
    assert st["page_ends"] == 2 and st["ends_during"] == [1 + resleeps]
    assert len(st["wait_ns"]) == 1


def test_tracker_throttles_only_its_task():
    m = Model("original", instrumented=True)
    p, q = m.new_page(), m.new_page(0, 1)
    m.start_writeback(p)
    m.start_writeback(q)
    fns = {"slow": _wait_thread(m, p, track=True, throttle_ns=30_000_000),
           "other": lambda: m.wait_on_page_writeback(q)}

    def ender():
        assert wait_until(lambda: len(sleepers(m)) == 2)
        m.end_page_writeback(p)
        m.end_page_writeback(q)

    fns["end"] = ender
    run = run_threads(m.core, fns, timeout=10)
    ran_clean(run)
    st = m.core.wait_track_stats()
    assert st["waits"] == 1 and st["wakes"] == 1
    assert st["wait_ns"][0] >= 30_000_000     # the pause after the wake is its own
    assert st["immediate"] == 0


def test_tracker_needs_the_instrumented_build():
    with pytest.raises(pagecore.PagecoreError):
        Model("original").core.wait_track(1, 0)
