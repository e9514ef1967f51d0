# The timed loops of the pyperf suites (bench/*.py).
#
# Each bench_*() is the whole of one pyperf time function's work: it sets up
# outside the timed region, then, without the GIL, runs @loops operations in
# C between two reads of the monotonic clock, and returns the elapsed
# seconds.  Nothing in Python runs inside a timed region.  Both builds
# compile this file: pagecore.model._core times it, pagecore.model._core_instr runs the
# very same loop to count the events of the timed regions (region_events()),
# which the suites store beside each timing.
#
# Where an operation needs set-up that must not be timed (PG_writeback set
# again before each end_page_writeback, a waiter back asleep before each
# wake), the loop runs in chunks or one operation at a time, and only the
# operations themselves sit between pc_region_begin() and pc_region_end().
# Per-operation regions read the clock twice per operation; what a
# back-to-back pair of reads measures is subtracted (pc_clock_pair_ns()).
#
# The model must be configured (configure()) before each call: a loop
# allocates its pages from the fresh pool and leaves them to the next reset.

from libc.stdint cimport int64_t

from includes.team cimport *

# Pages per chunk, where set-up must come between operations: 64 struct pages
# (4 KiB) stay in L1, and the two clock reads per chunk add < 1 ns per op.
cdef enum:
    NCHUNK = 64

# How long a timed call may run before the harness decides the model hung.
cdef int64_t bench_timeout_ns = 120 * 1000000000LL

# A line of its own for the floor's single-word primitives.
cdef unsigned long *floor_line = NULL


def set_bench_timeout(double seconds):
    """A timed call that runs longer than @seconds is taken as a hang."""
    global bench_timeout_ns
    if not seconds > 0:
        raise PagecoreError("timeout must be > 0")
    bench_timeout_ns = <int64_t>(seconds * 1e9)


def region_events_reset():
    pc_region_reset()


def region_events():
    """Events counted inside timed regions since region_events_reset()
    (instrumented build; zeros in the timed build): a region of one timed
    thread counts that thread's own events, a team's the sum of its threads'."""
    return {name: pc_region_acc[i] for i, name in enumerate(EVENTS)}


cdef inline double _secs(int64_t ns) noexcept nogil:
    return (ns if ns > 0 else 0) * 1e-9


cdef unsigned long *_floor_line() except NULL:
    global floor_line
    if floor_line == NULL:
        if posix_memalign(<void **>&floor_line, 128, 128) != 0:
            floor_line = NULL
            raise MemoryError()
        memset(floor_line, 0, 128)
    return floor_line


cdef _need_model(long npages, int nmaps):
    if A.pages == NULL or page_wait_table == NULL:
        raise PagecoreError("the model is not configured: call configure() first")
    if A.nr_free < npages:
        raise PagecoreError("the loop needs %d free pages, the pool has %d: "
                            "configure(npages=...)" % (npages, A.nr_free))
    if nmappings < nmaps:
        raise PagecoreError("the loop needs %d mappings: configure(nmappings_=...)" % nmaps)


cdef _need_loops(long loops):
    if loops < 1:
        raise PagecoreError("loops must be >= 1")


# A page in the page cache of mapping @mid, with the allocation's reference
# still held, as a page under writeback would be.
cdef page *_cache_page(int mid, unsigned long index) except NULL:
    cdef page *p = alloc_page()
    if p == NULL:
        raise PagecoreError("out of pages")
    add_to_page_cache(p, &mappings[mid], index)
    return p


# Another page of mapping @mid, at @index, kept under writeback for the whole
# loop: the mapping keeps a writeback tag, so no end of writeback the loop
# times is the one that clears the mapping's last tag (that one also takes
# the inode off its superblock's list, sb_clear_inode_writeback()), as in a
# file with more of its writeback still in flight.  The writeback_cycle
# loops, one page at a time, time that last end instead.
cdef page *_keep_tagged(unsigned long index, int mid=0) except NULL:
    cdef page *p = _cache_page(mid, index)
    set_page_writeback(p)
    return p


# -------------------------------------------------------------------------
# floor: the primitives alone, in the same harness.  bench/floor.c runs the
# same loops as a plain C program for comparison.
# -------------------------------------------------------------------------

def bench_empty_loop(long loops):
    """The loop and a compiler barrier: what every other loop pays per op."""
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            barrier()
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_locked_rmw(long loops):
    """atomic_inc(): one `lock add` on a line of its own."""
    cdef atomic_t *v = <atomic_t *>_floor_line()
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            atomic_inc(v)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_cmpxchg(long loops):
    """cmpxchg(), always succeeding: one `lock cmpxchg` whose old value comes
    from the previous one, so each waits for the last."""
    cdef unsigned long *w = _floor_line()
    cdef unsigned long cur = w[0]
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            cur = cmpxchg(w, cur, cur + 1) + 1
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_spinlock(long loops):
    """spin_lock() + spin_unlock(), uncontended."""
    cdef spinlock_t *lk = <spinlock_t *>_floor_line()
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    spin_lock_init(lk)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            spin_lock(lk)
            spin_unlock(lk)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_wake_no_waiter(long loops):
    """FUTEX_WAKE on a word nobody sleeps on: the syscall that
    wake_up_state() issues for a task that went to sleep."""
    cdef int *w = <int *>_floor_line()
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_futex_wake(w)
        ns = pc_region_end(t0)
    return _secs(ns)


# ---- the wake of a sleeping thread, alone --------------------------------
#
# A helper thread sleeps in FUTEX_WAIT on a word of its own; per operation
# the timed thread waits until the kernel shows it asleep, changes the word
# (not timed), then times the one FUTEX_WAKE that wakes it: what
# wake_up_state() adds, for a task that really slept, to any wake of a
# waiter.  The two threads run on two CPUs where there are two.

cdef struct sleeper_ctl:
    int word        # futex word: the timed thread bumps it, then wakes
    int sleeping    # 1 + the value of word the helper sleeps on
    int acked       # the last value of word the helper saw
    int stop
    int tid
    int ready


cdef void sleeper_fn(void *arg) noexcept nogil:
    cdef sleeper_ctl *c = <sleeper_ctl *>arg
    cdef int last = 0
    cdef pc_pin pin
    pc_pin_begin(&pin, 1)
    c.tid = pc_gettid()
    __atomic_store_int(&c.ready, 1)
    while True:
        __atomic_store_int(&c.sleeping, last + 1)
        while __atomic_load_int(&c.word) == last:
            if __atomic_load_int(&c.stop) or pc_abort:
                return
            pc_futex_wait(&c.word, last)
        last = __atomic_load_int(&c.word)
        __atomic_store_int(&c.acked, last)
        if __atomic_load_int(&c.stop) or pc_abort:
            return


cdef inline int _wait_int(int *w, int val, int64_t timeout_ns) noexcept nogil:
    cdef int spins = 0
    cdef int64_t end = pc_clock_ns() + timeout_ns
    while __atomic_load_int(w) != val:
        if pc_clock_ns() > end:
            return 0
        pc_backoff(&spins)
    return 1


def bench_wake_sleeping_thread(long loops):
    """FUTEX_WAKE of a thread asleep in FUTEX_WAIT (on another CPU where
    there are two): the wake of a sleeping waiter, the floor under every
    one-waiter case.  Per operation the helper is seen asleep first; only
    the wake call is timed (one clock-pair cost subtracted).  Events
    (instrumented build): one wakeup (the syscall woke one thread) and one
    sleep per operation; an operation whose wake found nobody (the
    helper's bounded sleep ran out just then) is done again, not counted."""
    cdef sleeper_ctl c
    cdef pc_helper h
    cdef pc_pin pin
    cdef int64_t t0, dt, ns = 0, pair
    cdef long done = 0, woken
    cdef int rnd = 0, failed = 0, spins = 0
    _need_loops(loops)
    memset(&c, 0, sizeof(c))
    if pc_helper_start(&h, sleeper_fn, &c) != 0:
        raise PagecoreError("cannot start the sleeping thread")
    with nogil:
        pc_pin_begin(&pin, 0)
        while not __atomic_load_int(&c.ready):
            pc_backoff(&spins)
        pair = pc_clock_pair_ns()
        while done < loops:
            if (not _wait_int(&c.sleeping, rnd + 1, bench_timeout_ns) or
                    not pc_wait_thread_sleeps(c.tid, bench_timeout_ns)):
                failed = 1
                break
            __atomic_store_int(&c.word, rnd + 1)
            t0 = pc_region_begin()
            woken = pc_futex_wake(&c.word)
            dt = pc_region_end(t0) - pair
            rnd += 1
            if not _wait_int(&c.acked, rnd, bench_timeout_ns):
                failed = 1
                break
            if woken == 1:
                ns += dt
                done += 1
                pc_region_add(PC_EV_WAKEUPS, 1)
                pc_region_add(PC_EV_SLEEPS, 1)
        __atomic_store_int(&c.stop, 1)
        __atomic_store_int(&c.word, rnd + 1)
        pc_futex_wake(&c.word)
        pc_helper_join(&h)
        pc_pin_end(&pin)
    if failed:
        raise RuntimeError("the sleeping thread did not sleep or did not wake within %g s"
                           % (bench_timeout_ns * 1e-9))
    return _secs(ns)


# Ping-pong: thread @idx waits for the word's parity to be its own, then
# bumps it.  Each hand-off moves the line from one CPU's cache to the other.
cdef void bounce_body(void *arg, int idx, long loops) noexcept nogil:
    cdef unsigned long *w = <unsigned long *>arg
    cdef unsigned long v
    cdef long i
    cdef int spins
    for i in range(loops):
        spins = 0
        v = smp_load_acquire(w)
        while (v & 1) != <unsigned long>idx:
            cpu_relax()
            spins += 1
            if spins > 4096:
                # one CPU, or the other thread preempted
                spins = 0
                sched_yield()
            v = smp_load_acquire(w)
        __atomic_store_ul(w, v + 1)


def bench_cacheline_bounce(long loops):
    """Two threads, one per CPU, hand one cache line back and forth @loops
    times each: 2 * @loops transfers (pyperf: inner_loops=2)."""
    cdef unsigned long *w = _floor_line()
    cdef int64_t ns
    _need_loops(loops)
    w[0] = 0
    with nogil:
        ns = pc_team_run(2, bounce_body, w, loops, 1, bench_timeout_ns)
    _team_check(ns)
    return _secs(ns)


cdef _team_check(int64_t ns):
    if ns == -1:
        raise PagecoreError("cannot start the threads of a timed loop")
    if ns == -2:
        raise RuntimeError("a timed loop did not finish in %g s: the model hung"
                           % (bench_timeout_ns * 1e-9))


# -------------------------------------------------------------------------
# hotpath: one operation, one thread (plus a sleeping waiter where named)
# -------------------------------------------------------------------------

def bench_end_page_writeback_no_waiters(long loops):
    """end_page_writeback() of a page cache page nobody waits on.  Chunks of
    NCHUNK pages: set_page_writeback on each (not timed), then
    end_page_writeback on each (timed).  Another page of the mapping stays
    under writeback throughout (_keep_tagged)."""
    cdef page *pages[NCHUNK]
    cdef long done = 0, n, k
    cdef int64_t t0, ns = 0
    _need_loops(loops)
    _need_model(NCHUNK + 1, 1)
    for k in range(NCHUNK):
        pages[k] = _cache_page(0, k)
    _keep_tagged(NCHUNK)
    with nogil:
        while done < loops:
            n = min(<long>NCHUNK, loops - done)
            for k in range(n):
                set_page_writeback(pages[k])
            t0 = pc_region_begin()
            for k in range(n):
                end_page_writeback(pages[k])
            ns += pc_region_end(t0)
            done += n
    return _secs(ns)


def bench_wait_on_page_writeback_clear(long loops):
    """wait_on_page_writeback() of a page not under writeback."""
    cdef page *p
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(1, 1)
    p = _cache_page(0, 0)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            wait_on_page_writeback(p)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_writeback_cycle(long loops):
    """set_page_writeback() then end_page_writeback(), no waiters."""
    cdef page *p
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(1, 1)
    p = _cache_page(0, 0)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            set_page_writeback(p)
            end_page_writeback(p)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_unlock_page_no_waiters(long loops):
    """unlock_page() of a page nobody waits on.  Chunks of NCHUNK pages:
    trylock each (not timed), then unlock each (timed)."""
    cdef page *pages[NCHUNK]
    cdef long done = 0, n, k
    cdef int64_t t0, ns = 0
    _need_loops(loops)
    _need_model(NCHUNK, 1)
    for k in range(NCHUNK):
        pages[k] = _cache_page(0, k)
    with nogil:
        while done < loops:
            n = min(<long>NCHUNK, loops - done)
            for k in range(n):
                trylock_page(pages[k])
            t0 = pc_region_begin()
            for k in range(n):
                unlock_page(pages[k])
            ns += pc_region_end(t0)
            done += n
    return _secs(ns)


# ---- a sleeping waiter beside the timed thread ----------------------------
#
# The waiter thread waits, round after round, in wait_on_page_writeback()
# (WAIT_WRITEBACK) or lock_page() (WAIT_LOCK).  For each operation the timed
# thread re-arms the page (sets PG_writeback, or takes the page lock), lets
# the waiter go, waits until the waiter really sleeps (its task asleep in
# io_schedule() and the kernel showing the thread asleep in futex_wait), and
# only then times the one operation that wakes it.  It then waits for the
# waiter to come back before re-arming.  Where there are two CPUs the two
# threads are pinned one to each (see pc_pin_begin).
#
# Events: those of the timed operation (the woken waiter runs on another
# CPU and, but for a rare overlap, only after the region's counts are
# taken), plus the waiter's one sleep per operation, counted before the
# region, so that the stored counts show that it really slept.

cdef enum:
    WAIT_WRITEBACK = 0
    WAIT_LOCK = 1

cdef enum:
    OP_END_PAGE_WRITEBACK = 0
    OP_UNLOCK_PAGE = 1
    OP_IPAGES_HOLD = 2


cdef struct waiter_ctl:
    page *p
    int mode
    int round       # futex word: the timed thread bumps it to start a wait
    int parked      # the waiter sleeps on round
    int acked       # the last round the waiter finished
    int unlock      # WAIT_LOCK: the round whose page lock the waiter may drop
    int stop
    int tid
    task_struct *task
    int ready


cdef void waiter_fn(void *arg) noexcept nogil:
    cdef waiter_ctl *c = <waiter_ctl *>arg
    cdef int last = 0, r, spins
    cdef pc_pin pin
    pc_pin_begin(&pin, 1)
    c.task = pc_current()
    c.tid = pc_gettid()
    __atomic_store_int(&c.ready, 1)
    while True:
        # The next round normally comes within microseconds: spin for it
        # first, so the waiter does not need a second wake per operation.
        spins = 0
        r = __atomic_load_int(&c.round)
        while r == last:
            if spins < 20000:
                cpu_relax()
                spins += 1
            else:
                __atomic_store_int(&c.parked, 1)
                r = __atomic_load_int(&c.round)
                if r == last:
                    pc_futex_wait(&c.round, last)
                __atomic_store_int(&c.parked, 0)
            if __atomic_load_int(&c.stop) or pc_abort:
                return
            r = __atomic_load_int(&c.round)
        last = r
        if __atomic_load_int(&c.stop) or pc_abort:
            return
        if c.mode == WAIT_WRITEBACK:
            if pc_call_unwindable(_u_wait_on_page_writeback, c.p) != 0:
                return
        elif pc_call_unwindable(_u_lock_page, c.p) != 0:
            return
        __atomic_store_int(&c.acked, last)
        if c.mode == WAIT_LOCK:
            spins = 0
            while __atomic_load_int(&c.unlock) != last:
                if __atomic_load_int(&c.stop) or pc_abort:
                    return
                pc_backoff(&spins)
            unlock_page(c.p)


cdef inline void _waiter_release(waiter_ctl *c, int rnd) noexcept nogil:
    __atomic_store_int(&c.round, rnd)
    if __atomic_load_int(&c.parked):
        pc_futex_wake(&c.round)


cdef inline int _wait_acked(waiter_ctl *c, int rnd) noexcept nogil:
    cdef int spins = 0
    cdef int64_t end = pc_clock_ns() + bench_timeout_ns
    while __atomic_load_int(&c.acked) != rnd:
        if pc_clock_ns() > end:
            return 0
        pc_backoff(&spins)
    return 1


# How long one end of writeback holds a lock of class @cls (the mapping's
# i_pages lock, or a wait-table bucket): the lock itself times each hold
# while the timer is on (pagecore/mm.h), less a back-to-back clock pair per
# hold.  *holds gets the number of holds.  In the instrumented build the
# events counted are those inside the holds.
cdef inline int64_t lock_hold_once(page *p, int cls, int64_t pair, long *holds) noexcept nogil:
    pc_lock_hold_timer.ns = 0
    pc_lock_hold_timer.holds = 0
    pc_lock_hold_timer.depth = 0
    pc_lock_hold_timer.on = cls
    end_page_writeback(p)
    pc_lock_hold_timer.on = PC_HOLD_NONE
    holds[0] += pc_lock_hold_timer.holds
    return pc_lock_hold_timer.ns - pair * pc_lock_hold_timer.holds


HOLD_LOCKS = {"i_pages": PC_HOLD_I_PAGES, "bucket": PC_HOLD_BUCKET}
# holds counted by the last bench_*_hold*() call, and its operations
cdef long last_holds = 0
cdef long last_hold_ops = 0


cdef int _hold_class(lock) except -1:
    if lock not in HOLD_LOCKS:
        raise PagecoreError("lock must be one of %s" % ", ".join(HOLD_LOCKS))
    return HOLD_LOCKS[lock]


def last_lock_holds():
    """(holds, operations) of the last lock-hold loop: holds per operation
    is their ratio."""
    return last_holds, last_hold_ops


def bench_lock_hold_no_waiters(long loops, lock="i_pages"):
    """The time end_page_writeback() of a page nobody waits on holds the
    locks of class @lock ("i_pages" or "bucket"), as
    bench_end_page_writeback_no_waiters() runs it; a clock pair less per
    hold.  No hold at all is 0 s (a variant that takes no bucket lock
    without waiters)."""
    global last_holds, last_hold_ops
    cdef page *pages[NCHUNK + 1]
    cdef long done = 0, n, k, holds = 0
    cdef int64_t ns = 0, pair
    cdef int cls = _hold_class(lock)
    _need_loops(loops)
    _need_model(NCHUNK + 1, 1)
    for k in range(NCHUNK):
        pages[k] = _cache_page(0, k)
    _keep_tagged(NCHUNK)
    with nogil:
        pair = pc_clock_pair_ns()
        while done < loops:
            n = min(<long>NCHUNK, loops - done)
            for k in range(n):
                set_page_writeback(pages[k])
            for k in range(n):
                ns += lock_hold_once(pages[k], cls, pair, &holds)
            done += n
    last_holds, last_hold_ops = holds, loops
    return _secs(ns)


cdef _need_chain(long chain):
    if not 0 <= chain <= (1 << 20):
        raise PagecoreError("chain must be in 0..1048576")


cdef object _bench_with_waiter(long loops, int op, long chain, bint cold):
    global pc_chain_cold
    cdef waiter_ctl c
    cdef pc_helper h
    cdef pc_pin pin
    cdef page *p
    cdef chain_block *block = NULL
    cdef int64_t t0, ns = 0, pair
    cdef unsigned long sl0, sl1
    cdef long i
    cdef int rnd = 0, failed = 0, spins = 0
    cdef long holds = 0
    _need_loops(loops)
    _need_chain(chain)
    _need_model(2, 1)
    p = _cache_page(0, 0)
    _keep_tagged(1)
    if chain:
        block = park_colliding_block(p, chain, PG_writeback)
    memset(&c, 0, sizeof(c))
    c.p = p
    c.mode = WAIT_LOCK if op == OP_UNLOCK_PAGE else WAIT_WRITEBACK
    if pc_helper_start(&h, waiter_fn, &c) != 0:
        if block != NULL:
            unpark_block(block)
        raise PagecoreError("cannot start the waiter thread")
    with nogil:
        pc_pin_begin(&pin, 0)
        while not __atomic_load_int(&c.ready):
            pc_backoff(&spins)
        pair = pc_clock_pair_ns()
        for i in range(loops):
            # re-arm: not timed, not counted
            if op == OP_UNLOCK_PAGE:
                spins = 0
                while not trylock_page(p):
                    pc_backoff(&spins)
            else:
                set_page_writeback(p)
            rnd += 1
            sl0 = pc_event_count(PC_EV_SLEEPS)
            _waiter_release(&c, rnd)
            if not pc_wait_asleep(c.task, c.tid, bench_timeout_ns):
                failed = 1
                break
            if PC_INSTRUMENTED:
                # io_schedule() counts the sleep just after it marks the task
                # asleep: wait for the count, then credit it to this op.
                while pc_event_count(PC_EV_SLEEPS) == sl0:
                    sched_yield()
                sl1 = pc_event_count(PC_EV_SLEEPS)
                pc_region_add(PC_EV_SLEEPS, sl1 - sl0)
            if cold and block != NULL:
                evict_chain(block)
                pc_evict_done()
                pc_chain_cold = 1
            if op == OP_IPAGES_HOLD:
                ns += lock_hold_once(p, PC_HOLD_I_PAGES, pair, &holds)
            else:
                t0 = pc_region_begin()
                if op == OP_UNLOCK_PAGE:
                    unlock_page(p)
                else:
                    end_page_writeback(p)
                ns += pc_region_end(t0) - pair
            pc_chain_cold = 0
            if not _wait_acked(&c, rnd):
                failed = 1
                break
            # WAIT_LOCK: the waiter holds the page lock now; it drops it
            # only when told, after the region's counts were taken.
            __atomic_store_int(&c.unlock, rnd)
        __atomic_store_int(&c.stop, 1)
        if failed:
            pc_abort_everyone()
        _waiter_release(&c, rnd + 1)
        pc_futex_wake(&c.round)
        pc_helper_join(&h)
        pc_pin_end(&pin)
        if failed:
            __atomic_store_int(&pc_abort_word, 0)
        if block != NULL:
            unpark_block(block)
    if failed:
        raise RuntimeError("the waiter did not sleep or did not come back within %g s"
                           % (bench_timeout_ns * 1e-9))
    if op == OP_IPAGES_HOLD:
        global last_holds, last_hold_ops
        last_holds, last_hold_ops = holds, loops
        if holds == 0:
            raise PagecoreError("ipages_hold: %s's end_page_writeback() took no i_pages lock"
                                % current_variant)
    return _secs(ns)


def bench_end_page_writeback_one_waiter(long loops, long chain=0, bint cold=False):
    """end_page_writeback() waking one waiter asleep in
    wait_on_page_writeback(), behind @chain entries for other pages in the
    same wait-table bucket (park_colliding: a line and a page of its own
    each, shuffled).  @cold: those entries are evicted from the caches
    before each operation (not timed).  The entries are freed on return."""
    return _bench_with_waiter(loops, OP_END_PAGE_WRITEBACK, chain, cold)


def bench_unlock_page_waiters(long loops):
    """unlock_page() waking one waiter asleep in lock_page()."""
    return _bench_with_waiter(loops, OP_UNLOCK_PAGE, 0, False)


def bench_ipages_hold(long loops, long chain=0, bint cold=False):
    """wake-under-i_pages only: the time end_page_writeback() holds the
    mapping's i_pages lock while it wakes one waiter behind @chain other
    entries (@cold: evicted before each operation)."""
    return _bench_with_waiter(loops, OP_IPAGES_HOLD, chain, cold)
