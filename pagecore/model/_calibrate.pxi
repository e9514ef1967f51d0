# The floor suite's calibration loops: one kind of event per loop, made of
# the primitives the model's kernel code is made of (calibrate.h), so that
# the floor suite alone gives a unit cost for every kind of event the
# suites count (pagecore.report.predict fits them).  Each loop is timed and
# counted as every other (the region's events, instrumented build).

cdef extern from "pagecore/harness.h" nogil:
    struct percpu_counter:
        pass
    void pc_cal_percpu_add()
    void pc_cal_percpu_cmpxchg()
    void pc_cal_fold(percpu_counter *fbc)
    void pc_cal_call(page *p)
    void pc_cal_call_rmw(page *p)
    void pc_cal_fcall(page *p)
    void pc_cal_tailcall(page *p)
    int pc_cal_wake_running(task_struct *t)
    void pc_cal_xa_mark(xarray *xa, unsigned long index)
    void pc_cal_lock_rmw(spinlock_t *lock, unsigned long *word)
    void *pc_cal_chase(void *p, long n)
    size_t sizeof_percpu_counter "sizeof(struct percpu_counter)"
    void pc_percpu_counter_init "pc_cal_counter_init"(percpu_counter *fbc)

# Lines a cold-line value chases, each on a page of its own.
cdef enum:
    COLD_LINES = 32

cdef task_struct *floor_task = NULL


cdef task_struct *_floor_task() except NULL:
    # a task of the loop's own, never attached to a thread: only woken
    global floor_task
    if floor_task == NULL:
        if posix_memalign(<void **>&floor_task, 64, sizeof(task_struct)) != 0:
            floor_task = NULL
            raise MemoryError()
        memset(floor_task, 0, sizeof(task_struct))
    return floor_task


def bench_percpu_add(long loops):
    """this_cpu_add() on the current task's per-CPU line: `percpu`."""
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(0, 0)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_percpu_add()
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_percpu_cmpxchg(long loops):
    """A cmpxchg without lock prefix on a per-CPU byte, its old value read
    first, as mod_zone_state() does: `percpu_cmpxchg`."""
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(0, 0)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_percpu_cmpxchg()
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_fold(long loops):
    """A percpu_counter's fold: its raw spinlock, the shared count and the
    per-CPU part taken back: `fold` (and the `percpu` write)."""
    cdef percpu_counter *fbc
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(0, 0)
    fbc = <percpu_counter *>_floor_line()
    pc_percpu_counter_init(fbc)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_fold(fbc)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_call(long loops):
    """A call through a table of functions, the page as argument, to a
    kernel function that does nothing: what the harness's call of a variant
    costs, `call` and the function's own `fcall`."""
    cdef page *p
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(1, 1)
    p = _cache_page(0, 0)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_call(p)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_call_rmw(long loops):
    """unlock_page()'s shape: a call through the table, as the harness's
    into a variant, of a function that does one locked RMW on the page's
    flags; each call on the next of 64 pages."""
    cdef page *pages[NCHUNK]
    cdef long i, k
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(NCHUNK, 1)
    for k in range(NCHUNK):
        pages[k] = _cache_page(0, k)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_call_rmw(pages[i & (NCHUNK - 1)])
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_fcall(long loops):
    """A direct call of a function that is never inlined, the page as its
    argument: a call between the kernel's functions (`fcall`)."""
    cdef page *p
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(1, 1)
    p = _cache_page(0, 0)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_fcall(p)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_tailcall(long loops):
    """A direct call of a wrapper that is never inlined and jumps into
    another such function, the page as its argument: mm/folio-compat.c's
    wrappers (`tailcall`, and the wrapped function's `fcall`)."""
    cdef page *p
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(1, 1)
    p = _cache_page(0, 0)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_tailcall(p)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_wake_running(long loops):
    """try_to_wake_up() of a task that set its state and has not slept: the
    fence, the state's cmpxchg, no futex: `wakeups`."""
    cdef task_struct *t = _floor_task()
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_wake_running(t)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_xa_mark(long loops):
    """A mark set and cleared in an xarray leaf that keeps another page's
    mark (the parents do not change): two `xa_mark` per loop (inner_loops=2)."""
    cdef page *p
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    _need_model(2, 1)
    p = _cache_page(0, 0)
    _keep_tagged(1)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_xa_mark(&mappings[0].i_pages, 0)
        ns = pc_region_end(t0)
    return _secs(ns)


def bench_lock_rmw(long loops):
    """spin_lock(), one fully ordered locked RMW, spin_unlock(): a lock
    held across an RMW, as the i_pages lock is: `lock` and `atomic_rmw`."""
    cdef unsigned long *w = _floor_line()
    cdef spinlock_t *lk = <spinlock_t *>(w + 8)
    cdef long i
    cdef int64_t t0, ns
    _need_loops(loops)
    spin_lock_init(lk)
    with nogil:
        t0 = pc_region_begin()
        for i in range(loops):
            pc_cal_lock_rmw(lk, w)
        ns = pc_region_end(t0)
    return _secs(ns)


cdef char *cold_region = NULL


def bench_cold_line(long loops):
    """A chase through COLD_LINES lines, each on a page of its own, in a
    shuffled order, evicted from the caches before each chase (not timed):
    per line, the load of a line from memory (`cold`).  One value: @loops
    lines (rounded up to whole chases), a clock pair less per chase."""
    global cold_region
    cdef void *lines[COLD_LINES]
    cdef long i, j, t, chases, done = 0
    cdef int64_t t0, ns = 0, pair
    cdef uint64_t rng = 0x2545F4914F6CDD1DULL
    cdef void *p
    _need_loops(loops)
    if cold_region == NULL:
        if posix_memalign(<void **>&cold_region, 4096, COLD_LINES * 4096) != 0:
            cold_region = NULL
            raise MemoryError()
        memset(cold_region, 0, COLD_LINES * 4096)
    for i in range(COLD_LINES):
        lines[i] = cold_region + i * 4096 + (pc_splitmix64(&rng) % 64) * 64
    for i in range(COLD_LINES - 1, 0, -1):
        j = <long>(pc_splitmix64(&rng) % <uint64_t>(i + 1))
        p = lines[i]
        lines[i] = lines[j]
        lines[j] = p
    for i in range(COLD_LINES):
        (<void **>lines[i])[0] = lines[(i + 1) % COLD_LINES]
    chases = (loops + COLD_LINES - 1) // COLD_LINES
    with nogil:
        pair = pc_clock_pair_ns()
        p = lines[0]
        for t in range(chases):
            for i in range(COLD_LINES):
                pc_evict_line(lines[i])
            pc_evict_done()
            t0 = pc_region_begin()
            p = pc_cal_chase(p, COLD_LINES)
            ns += pc_region_end(t0) - pair
            pc_region_add(PC_EV_COLD, COLD_LINES)
            done += COLD_LINES
    return _secs(ns) * loops / done


def bench_start_writeback(long loops):
    """set_page_writeback() of a page cache page as the configured variant
    runs it (the library's: 5.10's __test_set_page_writeback(), statistics
    and all), a kernel path no other suite times alone.  Chunks of NCHUNK
    pages, each ended again between chunks (not timed); another page of the
    mapping stays under writeback throughout."""
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
            t0 = pc_region_begin()
            for k in range(n):
                set_page_writeback(pages[k])
            ns += pc_region_end(t0)
            for k in range(n):
                end_page_writeback(pages[k])
            done += n
    return _secs(ns)
