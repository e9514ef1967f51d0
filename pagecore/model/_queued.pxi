# The timed loops, continued: a queued waiter, contention, the dirty path.

# ---- a queued waiter: no scheduler in the measurement ---------------------
#
# The waiter of these loops is a task between prepare_to_wait and
# io_schedule(), put there by the variant's own code: it runs the
# variant's wait_on_page_writeback() (or lock_page()) as a coroutine on the
# timing thread (struct pc_qwaiter, harness.h), whose io_schedule() hands
# the CPU back instead of sleeping.  Its entry is queued on its coroutine's
# stack, PG_waiters set and its state set, exactly as that variant leaves
# them.  Its wake costs a known constant amount: wake_up_state() finds it
# not asleep, so it changes its state with one cmpxchg and issues no futex
# wake; the variant's wake_page_function still sets WQ_FLAG_WOKEN and
# removes the entry.  No thread runs beside the timed one, so nothing but
# the waker's own path is timed.  The entry and task lines are in the
# waker's cache (it queued them); a real waiter on another CPU would add
# their transfers (the floor's cacheline_bounce).
#
# Chunks of up to NCHUNK pages, each in a bucket of its own (with @chain
# colliding entries of its own ahead of its waiter): PG_writeback set (or
# the page locked) and the waiter queued on each, not timed; then the
# operations, timed; then each waiter resumed to return as a woken waiter
# does, and a check that every one was woken and did, not timed.  Each
# chunk's region less one clock-pair cost.  With a chain, a chunk holds at
# most QUEUED_CHAIN_BUDGET colliding entries in all.

cdef enum:
    QUEUED_CHAIN_BUDGET = 1024
    QSTACK = 65536      # a waiter's coroutine stack (room for a sanitizer's frames)


# Up to @want page cache pages of mapping @mid, each in a wait-table bucket
# no other of them uses (pages that collide stay allocated until the next
# configure()).  Returns how many.
cdef long _distinct_bucket_pages(page **out, long want, int mid) except -1:
    cdef set seen = set()
    cdef long k = 0
    cdef page *p
    while k < want and A.nr_free > 0:
        p = alloc_page()
        if p == NULL:
            break
        b = hash_ptr(p, PAGE_WAIT_TABLE_BITS)
        if b in seen:
            continue
        seen.add(b)
        add_to_page_cache(p, &mappings[mid], k)
        out[k] = p
        k += 1
    if k == 0:
        raise PagecoreError("out of pages")
    return k


cdef object _bench_queued(long loops, int op, long chain, bint cold,
                          int hold_cls=PC_HOLD_I_PAGES):
    global last_holds, last_hold_ops, pc_chain_cold
    cdef page *pages[NCHUNK]
    cdef chain_block *blocks[NCHUNK]
    cdef pc_qwaiter *qw = NULL
    cdef task_struct *tasks = NULL
    cdef char *stacks = NULL
    cdef page *p
    cdef long k, n, j, want, done = 0, holds = 0
    cdef int64_t t0, ns = 0, pair
    cdef int failed = 0
    _need_loops(loops)
    _need_chain(chain)
    _need_model(2, 1)
    want = NCHUNK if chain == 0 else max(1, min(<long>NCHUNK, QUEUED_CHAIN_BUDGET // chain))
    _keep_tagged(A.npages - 1)
    k = _distinct_bucket_pages(pages, want, 0)
    qw = <pc_qwaiter *>calloc(k, sizeof(pc_qwaiter))
    # (task_struct holds the task's per-CPU area, on lines of its own)
    if posix_memalign(<void **>&tasks, 64, k * sizeof(task_struct)) != 0:
        tasks = NULL
    else:
        memset(tasks, 0, k * sizeof(task_struct))
    if posix_memalign(<void **>&stacks, 4096, k * QSTACK) != 0:
        stacks = NULL
    if qw == NULL or tasks == NULL or stacks == NULL:
        free(qw)
        free(tasks)
        free(stacks)
        raise MemoryError()
    for j in range(k):
        blocks[j] = NULL
        tasks[j].pid = -1 - <int>j
        qw[j].task = &tasks[j]
        qw[j].page = pages[j]
        qw[j].op = PC_QWAIT_LOCK if op == OP_UNLOCK_PAGE else PC_QWAIT_WRITEBACK
        qw[j].stack = stacks + j * QSTACK
        qw[j].stack_size = QSTACK
        # frames start at a different line of each stack
        qw[j].skew = (j % 64) * 64
        qw[j].coro.done = 1
    try:
        for j in range(k):
            if chain:
                blocks[j] = park_colliding_block(pages[j], chain, PG_writeback)
    except BaseException:
        for j in range(k):
            if blocks[j] != NULL:
                unpark_block(blocks[j])
        free(qw)
        free(tasks)
        free(stacks)
        raise
    with nogil:
        pair = pc_clock_pair_ns()
        while done < loops:
            n = min(k, loops - done)
            # arm and queue: not timed
            for j in range(n):
                p = pages[j]
                if op == OP_UNLOCK_PAGE:
                    if not PageLocked(p) and not trylock_page(p):
                        failed = 1
                else:
                    set_page_writeback(p)
                if failed or not pc_qwaiter_start(&qw[j]):
                    failed = 1
                    break
            if failed:
                break
            if cold and chain:
                for j in range(n):
                    evict_chain(blocks[j])
                pc_evict_done()
                pc_chain_cold = 1
            if op == OP_IPAGES_HOLD:
                for j in range(n):
                    ns += lock_hold_once(pages[j], hold_cls, pair, &holds)
            else:
                t0 = pc_region_begin()
                if op == OP_UNLOCK_PAGE:
                    for j in range(n):
                        unlock_page(pages[j])
                else:
                    for j in range(n):
                        end_page_writeback(pages[j])
                ns += pc_region_end(t0) - pair
            pc_chain_cold = 0
            # every waiter woken, and back from its wait: not timed
            for j in range(n):
                if not pc_qwaiter_finish(&qw[j]):
                    failed = 1
            if failed:
                break
            done += n
        # leave no entry of this loop queued
        for j in range(k):
            pc_qwaiter_abandon(&qw[j])
        for j in range(k):
            if blocks[j] != NULL:
                unpark_block(blocks[j])
    free(qw)
    free(tasks)
    free(stacks)
    if failed:
        raise RuntimeError("a queued waiter was not queued, or its wake did not wake it "
                           "and let it return")
    if op == OP_IPAGES_HOLD:
        last_holds, last_hold_ops = holds, loops
        if holds == 0 and hold_cls == PC_HOLD_I_PAGES:
            raise PagecoreError("ipages_hold: %s's end_page_writeback() took no i_pages lock"
                                % current_variant)
    return _secs(ns)


def bench_end_page_writeback_queued_waiter(long loops, long chain=0, bint cold=False):
    """end_page_writeback() of a page with one waiter queued in
    wait_on_page_writeback() and not yet asleep (between prepare_to_wait
    and io_schedule()): the waker's whole path, wake included, with a wake
    of known constant cost (no futex wake: wake_up_state() finds the task
    running towards sleep).  Behind @chain entries for other pages in its
    bucket (a line and a page of their own each, shuffled; @cold: evicted
    before each chunk of operations, not timed).  Up to 64 pages per timed
    chunk (fewer with a chain: 1024 colliding entries per chunk at most),
    each in a bucket of its own; set-up and checks not timed; one
    clock-pair cost subtracted per chunk.  Events: the waker's only, and
    no sleep."""
    return _bench_queued(loops, OP_END_PAGE_WRITEBACK, chain, cold)


def bench_unlock_page_queued_waiter(long loops):
    """unlock_page() of a page with one exclusive waiter queued in
    lock_page() (__lock_page, a first attempt) and not yet asleep; as
    bench_end_page_writeback_queued_waiter() otherwise.  The pages stay
    locked between chunks: by the waiter the wake handed the lock to (5.8),
    or taken again, not timed."""
    return _bench_queued(loops, OP_UNLOCK_PAGE, 0, False)


def bench_ipages_hold_queued(long loops, long chain=0, bint cold=False):
    """wake-under-i_pages only: the time end_page_writeback() holds the
    mapping's i_pages lock while it wakes one queued, not yet sleeping
    waiter behind @chain other entries (@cold: evicted before each chunk);
    the variant's own hold_ns per operation, less a clock pair."""
    return _bench_queued(loops, OP_IPAGES_HOLD, chain, cold)


def bench_lock_hold_queued(long loops, long chain=0, bint cold=False, lock="i_pages"):
    """The time end_page_writeback() holds the locks of class @lock
    ("i_pages" or "bucket") while it wakes one queued, not yet sleeping
    waiter behind @chain other entries (@cold: evicted before each chunk),
    as bench_end_page_writeback_queued_waiter() runs it; a clock pair less
    per hold.  In the instrumented build the events counted are those
    inside the holds.  last_lock_holds() says how many holds there were."""
    return _bench_queued(loops, OP_IPAGES_HOLD, chain, cold, _hold_class(lock))


def bench_walk_colliding(long loops, long chain, bint cold=False):
    """wake_up_page_bit() of a page with no waiter of its own, in a bucket
    holding @chain entries for other pages: the bucket lock, the walk past
    @chain entries (bookmarks as the variant has them), ClearPageWaiters.
    Warm: one timed region over all operations.  @cold: the entries are
    evicted before each operation (not timed), each operation timed alone,
    less one clock-pair cost.  The entries are freed on return."""
    global pc_chain_cold
    cdef page *p
    cdef chain_block *block = NULL
    cdef long i
    cdef int64_t t0, ns = 0, pair
    _need_loops(loops)
    _need_chain(chain)
    _need_model(1, 1)
    p = _cache_page(0, 0)
    if chain:
        block = park_colliding_block(p, chain, PG_writeback)
    with nogil:
        if cold:
            pair = pc_clock_pair_ns()
            for i in range(loops):
                if block != NULL:
                    evict_chain(block)
                pc_evict_done()
                pc_chain_cold = 1
                t0 = pc_region_begin()
                wake_up_page_bit(p, PG_writeback)
                ns += pc_region_end(t0) - pair
                pc_chain_cold = 0
        else:
            t0 = pc_region_begin()
            for i in range(loops):
                wake_up_page_bit(p, PG_writeback)
            ns = pc_region_end(t0)
        if block != NULL:
            unpark_block(block)
    return _secs(ns)


# -------------------------------------------------------------------------
# contention: threads doing writeback cycles and waits
# -------------------------------------------------------------------------

cdef struct cycle_ctl:
    page **pages
    int mode
    pc_qwaiter *qw


# How the threads of a writeback-cycle run share their pages.
cdef enum:
    CYCLE_DISTINCT = 0      # a page each, in a bucket of its own
    CYCLE_SHARED = 1        # one page for all
    CYCLE_BUCKET = 2        # a page each with a waiter queued, every page in one bucket

CYCLE_MODES = {"distinct": CYCLE_DISTINCT, "shared": CYCLE_SHARED, "bucket": CYCLE_BUCKET}


# The writeback cycle of write_cache_pages() and its completion: lock the
# page, wait for writeback in flight, start writeback, unlock; then end it,
# as the I/O completion would.  On one shared page the threads wait for
# each other's writeback and page lock; on distinct pages nobody waits.
# The bucket mode: each thread starts writeback on a page of its own, a
# waiter of its own (a queued waiter, struct pc_qwaiter, run on the
# thread) queues for it in wait_on_page_writeback(), and the end wakes it;
# every page hashes to one bucket, so each queue and each wake takes the
# lock the other threads need, and walks past their waiters.
cdef void cycle_body(void *arg, int idx, long loops) noexcept nogil:
    cdef cycle_ctl *c = <cycle_ctl *>arg
    cdef page *p
    cdef long i
    if c.mode == CYCLE_BUCKET:
        bucket_cycle_body(c, idx, loops)
        return
    p = c.pages[0 if c.mode == CYCLE_SHARED else idx]
    for i in range(loops):
        lock_page(p)
        if pc_abort:
            break
        wait_on_page_writeback(p)
        set_page_writeback(p)
        unlock_page(p)
        end_page_writeback(p)


cdef void bucket_cycle_body(cycle_ctl *c, int idx, long loops) noexcept nogil:
    cdef page *p = c.pages[idx]
    cdef pc_qwaiter *q = &c.qw[idx]
    cdef long i
    q.task.pid = -1 - idx
    q.page = p
    for i in range(loops):
        if pc_abort:
            break
        set_page_writeback(p)
        if not pc_qwaiter_start(q):
            break                   # the waiter found no writeback: cannot be
        end_page_writeback(p)
        if not pc_qwaiter_finish(q):
            pc_qwaiter_abandon(q)   # not woken: a lost wakeup, left to the count
            break


def cycle_pool(int nthreads, mode):
    """Pages the pool needs for bench_writeback_cycles(): in the bucket mode
    enough that @nthreads of them hash to one bucket."""
    if mode == "bucket":
        return max(256, 4 * 256 * nthreads)
    return max(256, 2 * nthreads)


def bench_writeback_cycles(long loops, int nthreads, mode):
    """@nthreads threads, @loops writeback cycles each, released together;
    elapsed time from the release to the last thread's end.  @mode (True is
    "shared", False "distinct"): "shared", one page for all; "distinct", a
    page each, in distinct mappings (i_pages locks on lines of their own) and
    distinct wait-table buckets; "bucket", a page each, in a mapping of its
    own, with a waiter queued on it before each end of writeback, every page
    in one wait-table bucket (configure the pool with cycle_pool())."""
    cdef cycle_ctl c
    cdef page *pages[1024]
    cdef page *p
    cdef int64_t ns
    cdef int k = 0, want, m
    cdef pc_qwaiter *qw = NULL
    cdef task_struct *tasks = NULL
    cdef char *stacks = NULL
    cdef set seen = set()
    if mode is True or mode is False:
        mode = "shared" if mode else "distinct"
    if mode not in CYCLE_MODES:
        raise PagecoreError("mode must be one of %s" % ", ".join(CYCLE_MODES))
    m = CYCLE_MODES[mode]
    _need_loops(loops)
    if not 1 <= nthreads <= 1024:
        raise PagecoreError("threads must be in 1..1024")
    want = 1 if m == CYCLE_SHARED else nthreads
    _need_model(want, 1 if m == CYCLE_SHARED else 4 * want - 3)
    if m == CYCLE_SHARED:
        pages[0] = _cache_page(0, 0)
    elif m == CYCLE_DISTINCT:
        # Distinct wait-table buckets while the pool can spare the pages
        # that collide (they stay allocated until the next configure()).
        while k < nthreads:
            p = alloc_page()
            if p == NULL:
                raise PagecoreError("out of pages")
            b = hash_ptr(p, PAGE_WAIT_TABLE_BITS)
            if b in seen and A.nr_free >= nthreads - k:
                continue
            seen.add(b)
            add_to_page_cache(p, &mappings[4 * k], 0)
            pages[k] = p
            k += 1
    else:
        # One bucket: the first page's; pages of other buckets stay
        # allocated until the next configure().
        target = -1
        while k < want:
            p = alloc_page()
            if p == NULL:
                raise PagecoreError("out of pages: %d pages in one bucket need a pool of "
                                    "cycle_pool(%d, 'bucket') pages" % (want, nthreads))
            b = hash_ptr(p, PAGE_WAIT_TABLE_BITS)
            if target == -1:
                target = b
            elif b != target:
                continue
            add_to_page_cache(p, &mappings[4 * k], 0)
            pages[k] = p
            k += 1
    c.pages = pages
    c.mode = m
    c.qw = NULL
    if m == CYCLE_BUCKET:
        qw = <pc_qwaiter *>calloc(nthreads, sizeof(pc_qwaiter))
        if posix_memalign(<void **>&tasks, 64, nthreads * sizeof(task_struct)) != 0:
            tasks = NULL
        if posix_memalign(<void **>&stacks, 4096, nthreads * QSTACK) != 0:
            stacks = NULL
        if qw == NULL or tasks == NULL or stacks == NULL:
            free(qw)
            free(tasks)
            free(stacks)
            raise MemoryError()
        memset(tasks, 0, nthreads * sizeof(task_struct))
        for k in range(nthreads):
            qw[k].task = &tasks[k]
            qw[k].op = PC_QWAIT_WRITEBACK
            qw[k].stack = stacks + k * QSTACK
            qw[k].stack_size = QSTACK
            qw[k].skew = (k % 64) * 64
            qw[k].coro.done = 1
        c.qw = qw
    with nogil:
        ns = pc_team_run(nthreads, cycle_body, &c, loops, 0, bench_timeout_ns)
        if qw != NULL:
            for k in range(nthreads):
                pc_qwaiter_abandon(&qw[k])
    free(qw)
    free(tasks)
    free(stacks)
    _team_check(ns)
    return _secs(ns)


# -------------------------------------------------------------------------
# dirty: clear_page_dirty_for_io + writepage (the dirty path, _dirty.pxi)
# -------------------------------------------------------------------------

cdef enum:
    DIRTY_UNMAPPED = 0
    DIRTY_MAPPED_CLEAN = 1
    DIRTY_MAPPED_DIRTY = 2

DIRTY_STATES = {"unmapped": DIRTY_UNMAPPED, "mapped_clean": DIRTY_MAPPED_CLEAN,
                "mapped_dirty": DIRTY_MAPPED_DIRTY}


def bench_cpdfio_writepage(long loops, state="unmapped"):
    """What write_cache_pages() does to a dirty locked page: the configured
    clear_page_dirty_for_io(), then __block_write_full_page() (every
    buffer dirty, so all are written; the simulated disk completes them at
    once, ending writeback).  Chunks of NCHUNK pages; between chunks, not
    timed, each page is dirtied again and locked: by write() for unmapped
    and mapped_clean (set_page_dirty; a clean read-only PTE for
    mapped_clean), by a store through a shared writable mapping for
    mapped_dirty (the write fault makes the PTE writable and dirty and
    calls set_page_dirty, so page_mkclean has a PTE to clean).
    Needs configure(npages >= NCHUNK) and dirty_configure(nvmas=1)."""
    cdef page *pages[NCHUNK]
    cdef vm_area_struct *vma
    cdef long done = 0, n, k
    cdef int64_t t0, ns = 0
    cdef int st
    cdef unsigned long value = 0
    if state not in DIRTY_STATES:
        raise PagecoreError("state must be one of %s" % ", ".join(DIRTY_STATES))
    st = DIRTY_STATES[state]
    _need_loops(loops)
    _need_model(NCHUNK, 1)
    _dirty_ready()
    vma = &D.vmas[0]
    if vma.vm_mapping != &mappings[0]:
        raise PagecoreError("dirty_configure(mapping=0) first")
    for k in range(NCHUNK):
        pages[k] = _cache_page(0, k)
        create_page_buffers(pages[k])
        if st == DIRTY_MAPPED_CLEAN:
            do_no_page(vma, pages[k], False)
        elif st == DIRTY_MAPPED_DIRTY:
            do_no_page(vma, pages[k], True)
    with nogil:
        while done < loops:
            n = min(<long>NCHUNK, loops - done)
            for k in range(n):
                if st == DIRTY_MAPPED_DIRTY:
                    value = (value + 1) & 0xffffffffUL
                    mmap_store(vma, pages[k], 0, value)
                else:
                    set_page_dirty(pages[k])
                trylock_page(pages[k])
            t0 = pc_region_begin()
            for k in range(n):
                if clear_page_dirty_for_io(pages[k]):
                    __block_write_full_page(pages[k])
                else:
                    unlock_page(pages[k])
            ns += pc_region_end(t0)
            done += n
    return _secs(ns)
