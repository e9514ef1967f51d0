# pagecore/model/_starvation.pxi: the liveness scenario's parts (writeback-starvation,
# pagecore/verify/starvation.py): a throttled waiter whose waits are tracked, and the
# writers that keep its page under writeback.

def wait_track(int pid, long throttle_ns=0, long page=-1, long cap=100000):
    """Track task @pid's waits for writeback (instrumented build): from now
    on, each time it is woken in wait_on_page_bit_common() it pauses
    @throttle_ns before it looks again, and each wait_on_page_writeback() it
    makes is timed and its sleeps counted.  Writebacks of @page that end are
    counted (the writers' progress).  Call while the task is not waiting."""
    _need_instr()
    cdef void *a
    cdef void *b
    if throttle_ns < 0:
        raise PagecoreError("throttle must be >= 0")
    if cap < 1:
        raise PagecoreError("cap must be > 0")
    wait_track_off()
    a = calloc(cap, sizeof(int64_t))
    b = calloc(cap, sizeof(unsigned long))
    if a == NULL or b == NULL:
        free(a)
        free(b)
        raise MemoryError()
    WT.wait_ns = <int64_t *>a
    WT.ends_during = <unsigned long *>b
    WT.cap = cap
    WT.throttle_ns = throttle_ns
    smp_store_release_ptr(<void **>&WT.page, <void *>_page(page) if page >= 0 else NULL)
    __atomic_store_int(&WT.pid, pid)


def wait_track_off():
    """Stop tracking and drop the samples."""
    __atomic_store_int(&WT.pid, 0)
    smp_store_release_ptr(<void **>&WT.page, NULL)
    free(WT.wait_ns)
    free(WT.ends_during)
    memset(&WT, 0, sizeof(WT))


def wait_track_stats():
    """What the tracked task's waits came to: counts, and one sample per wait
    that slept (its time in ns, and the writebacks of the page that ended
    during it).  Read it when the task is not waiting."""
    cdef long i
    return {"pid": WT.pid, "throttle_ns": WT.throttle_ns, "waits": WT.waits,
            "immediate": WT.immediate, "wakes": WT.wakes, "resleeps": WT.resleeps,
            "max_resleeps": WT.max_resleeps, "mapping_breaks": WT.mapping_breaks,
            "page_ends": __atomic_load_ul(&WT.page_ends),
            "wait_ns": [WT.wait_ns[i] for i in range(WT.nsamples)],
            "ends_during": [WT.ends_during[i] for i in range(WT.nsamples)],
            "dropped": WT.waits - WT.nsamples}


def writers_stop_(bint stop=True):
    """Tell every writeback_writer_loop() to finish its writeback and return."""
    __atomic_store_int(&writers_stop, 1 if stop else 0)


def writeback_writer_loop(long pid, long io_ns, long gap_ns=0):
    """A writer that keeps the page dirty and under writeback until
    writers_stop_(): it dirties the page, then write_cache_pages (lock_page;
    wait_on_page_writeback; BUG_ON(PageWriteback); clear_page_dirty_for_io;
    set_page_writeback; unlock_page), the I/O for @io_ns, end_page_writeback,
    and @gap_ns before it dirties the page again.  Returns the writebacks it
    ended.  PG_dirty and its tags are kept by TestSet/TestClear alone: only
    PG_writeback matters to a waiter."""
    cdef page *p = _page(pid)
    cdef long n = 0
    if io_ns < 0 or gap_ns < 0:
        raise PagecoreError("io and gap must be >= 0")
    with nogil:
        while not __atomic_load_int(&writers_stop) and not __atomic_load_int(&pc_abort_word):
            TestSetPageDirty(p)
            if pc_call_unwindable(_u_lock_page, p) != 0:
                break
            if pc_call_unwindable(_u_wait_on_page_writeback, p) != 0:
                break
            if PageWriteback(p):
                pc_bug(PC_BUG_WRITEBACK_AFTER_WAIT, p, "write_cache_pages",
                       READ_ONCE_ul(&p.flags), 0)
                unlock_page(p)
                continue
            TestClearPageDirty(p)
            set_page_writeback(p)
            unlock_page(p)
            if io_ns:
                pc_delay_ns(io_ns)
            if pc_call_unwindable(_u_end_page_writeback, p) != 0:
                break
            n += 1
            if gap_ns:
                pc_delay_ns(gap_ns)
    return n


def throttled_waiter_loop(long pid, long every_ns):
    """The slow waiter: until writers_stop_(), wait_on_page_writeback() of
    the page, then run again only after @every_ns.  Returns the calls made."""
    cdef page *p = _page(pid)
    cdef long n = 0
    with nogil:
        while not __atomic_load_int(&writers_stop) and not __atomic_load_int(&pc_abort_word):
            if pc_call_unwindable(_u_wait_on_page_writeback, p) != 0:
                break
            n += 1
            if every_ns:
                pc_delay_ns(every_ns)
    return n
