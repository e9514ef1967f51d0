# The Python face of the model.  Pages and mappings are named by small
# integers (their index in the pool); every call that can sleep or spin
# releases the GIL, so Python threads driving the model race for real.

import operator
import os

from pagecore._errors import PagecoreError
from pagecore.model import variants as _variants

from includes.team cimport (pc_current_cpu, pc_evict_done, pc_evict_line, pc_pin_cpu,
                            pc_pinned_cpu, pc_splitmix64, pc_unpin_cpu,
                            PC_EVICT_BY_CLFLUSH)

INSTRUMENTED = bool(PC_INSTRUMENTED)

cdef address_space *mappings = NULL
cdef int nmappings = 0
cdef long nparked = 0
cdef object current_variant = None
cdef int writers_stop = 0      # writeback_writer_loop(): finish and return

# Per-process placement (configure(placement_seed=...)): each allocation is
# made one 4 KiB page larger and the object starts a seeded number of cache
# lines into it.  The bases are what free() needs.
cdef void *pool_base = NULL
cdef void *table_base = NULL
cdef void *mappings_base = NULL
cdef void *inodes_base = NULL
cdef char *inodes = NULL
cdef object current_placement = None
cdef uint64_t chain_seed = 0

# The names are registry.def's, as the C tables have them.
EVENTS = tuple([pc_event_names[i].decode() for i in range(<int>PC_EV_NR)])
BUGS = tuple([pc_bug_names[i].decode() for i in range(<int>PC_BUG_NR)])
RACE_POINTS = tuple([pc_race_point_names[i].decode() for i in range(<int>RP_NR)])

# Loaded variant objects: path -> table.  An object stays loaded for the life
# of the process (pc_variant_open()), so configuring a variant again costs a
# dictionary lookup.
cdef dict _loaded = {}
cdef bint _promoted = False


cdef const pc_ops *_load(vs) except NULL:
    """The table of variant @vs (a pagecore.model.variants.Variant), built
    for this build of the harness if not built yet, and loaded."""
    global _promoted
    cdef const char *err = NULL
    cdef const pc_ops *ops
    cdef uintptr_t addr
    path = _variants.shared_object(vs, instrument=bool(PC_INSTRUMENTED))
    addr = _loaded.get(path, 0)
    if addr:
        return <const pc_ops *>addr
    if not _promoted:
        if pc_harness_promote(os.fsencode(__file__)) != 0:
            raise PagecoreError("cannot make the harness's symbols global: %s" % __file__)
        pc_harness_init()
        _promoted = True
    bpath = os.fsencode(path)
    ops = pc_variant_open(bpath, &err)
    if ops == NULL:
        why = (err or b"?").decode(errors="replace")
        if "undefined symbol: " in why:
            raise PagecoreError("%s: calls %s, which neither the file, its base, the library "
                                "nor the model's primitives define"
                                % (vs.path, why.split("undefined symbol: ", 1)[1]))
        raise PagecoreError("%s: cannot load %s: %s" % (vs.path, path, why))
    _loaded[path] = <uintptr_t>ops
    return ops


cdef page *_page(long pid) except NULL:
    if A.pages == NULL:
        raise PagecoreError("the model is not configured: call configure() first")
    if pid < 0 or pid >= A.npages:
        raise PagecoreError("page %d out of range 0..%d" % (pid, A.npages - 1))
    return &A.pages[pid]


cdef address_space *_mapping(int mid) except NULL:
    if mid < 0 or mid >= nmappings:
        raise PagecoreError("mapping %d out of range 0..%d" % (mid, nmappings - 1))
    return &mappings[mid]


cdef int _rp(name) except -1:
    try:
        return RACE_POINTS.index(name)
    except ValueError:
        raise PagecoreError("unknown race point %r (known: %s)"
                            % (name, ", ".join(RACE_POINTS))) from None


cdef void *_placed(void **base, size_t size, size_t align, uint64_t *rng) noexcept nogil:
    # Without a seed (rng NULL), as before: calloc() (lazily zeroed pages,
    # however large the wait table), or aligned to @align and cleared.
    # With one: a page-aligned start, a seeded number of lines into it.
    cdef size_t off
    cdef uintptr_t start
    base[0] = NULL
    if rng == NULL:
        if align <= 16:
            base[0] = calloc(1, size)
            return base[0]
        if posix_memalign(base, align, size) != 0:
            base[0] = NULL
            return NULL
        memset(base[0], 0, size)
        return base[0]
    off = (pc_splitmix64(rng) % 64) * 64
    base[0] = calloc(1, size + 2 * 4096)
    if base[0] == NULL:
        return NULL
    start = (<uintptr_t>base[0] + 4095) & ~(<uintptr_t>4095)
    return <void *>(start + off)


cdef object placed_sizes = None


def configure(variant="original", table_bits=8, npages=256, nmappings_=8,
              placement_seed=None):
    """Reset the model for @variant: a fresh page pool, wait table and
    mappings.  No thread may be inside the model while this runs.

    @placement_seed (an int): start the page pool, the wait table and the
    mappings each a seeded random number of cache lines (0..63) into a
    4 KiB page, and seed where colliding entries go (park_colliding), so
    that a harness can randomise layout per process, as Stabilizer does
    (Curtsinger and Berger, ASPLOS 2013).  None: the fixed layout."""
    global page_wait_table, PAGE_WAIT_TABLE_BITS, mappings, nmappings
    global current_variant, PG_writeback, PG_dirty
    global pool_base, table_base, mappings_base, current_placement, chain_seed
    global chain_blocks_made, inodes_base, inodes
    cdef long i
    cdef uint64_t rng = 0
    cdef uint64_t *prng = NULL
    cdef const pc_ops *ops
    v = _variants.get_variant(variant)
    ops = _load(v)
    if placement_seed is not None:
        try:
            seed = operator.index(placement_seed)
        except TypeError:
            raise PagecoreError("placement_seed must be an integer") from None
        if seed < 0:
            raise PagecoreError("placement_seed must be >= 0")
        rng = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
        prng = &rng
    if not 1 <= table_bits <= 24:
        raise PagecoreError("table_bits must be in 1..24")
    if npages < 1:
        raise PagecoreError("npages must be > 0")
    if nmappings_ < 1:
        raise PagecoreError("nmappings must be > 0")
    unpark_colliding()
    wait_track_off()
    __atomic_store_int(&writers_stop, 0)
    chain_blocks_made = 0
    # The dirty path's buffers and vmas belong to the pool being freed; a
    # new pool may come back at the same address, so drop them here rather
    # than trust _dirty_ready() to tell the pools apart.
    _dirty_free()
    _free_slots()
    global placed_sizes
    sizes = ((1 << table_bits) * sizeof(wait_queue_head), npages * sizeof(page),
             nmappings_ * sizeof(address_space), nmappings_ * sizeof_inode)
    if prng == NULL and placed_sizes == sizes and pool_base != NULL:
        # The same model again, in the fixed layout: the same memory,
        # cleared.  A page's bucket is a hash of its address, so the same
        # schedule then takes the same steps whatever ran before it (the
        # explorer runs each schedule from a model configured afresh).
        memset(table_base, 0, sizes[0])
        memset(pool_base, 0, sizes[1])
        memset(mappings_base, 0, sizes[2])
        memset(inodes_base, 0, sizes[3])
    else:
        free(table_base)
        free(pool_base)
        free(mappings_base)
        free(inodes_base)
        page_wait_table = NULL
        A.pages = NULL
        mappings = NULL
        inodes = NULL
        pool_base = table_base = mappings_base = inodes_base = NULL
        placed_sizes = None
        page_wait_table = <wait_queue_head *>_placed(&table_base, sizes[0], 16, prng)
        A.pages = <page *>_placed(&pool_base, sizes[1], 64, prng)
        mappings = <address_space *>_placed(&mappings_base, sizes[2], 16, prng)
        inodes = <char *>_placed(&inodes_base, sizes[3], 64, prng)
        if prng == NULL:
            placed_sizes = sizes
    chain_seed = pc_splitmix64(&rng) if prng != NULL else 0
    if page_wait_table == NULL or A.pages == NULL or mappings == NULL or inodes == NULL:
        A.npages = 0
        raise MemoryError()
    PAGE_WAIT_TABLE_BITS = table_bits
    for i in range(1 << table_bits):
        spin_lock_init(&page_wait_table[i].lock)
        INIT_LIST_HEAD(&page_wait_table[i].head)
    spin_lock_init(&A.lock)
    A.npages = npages
    A.free_list = NULL
    A.nr_free = 0
    # Push in reverse so that page 0 is handed out first.
    for i in range(npages - 1, -1, -1):
        A.pages[i].pc_id = i
        A.pages[i].pc_free = 1
        A.pages[i].pc_next_free = A.free_list
        A.free_list = &A.pages[i]
        A.nr_free += 1
    # a fresh machine: its statistics and locks, each task's per-CPU area
    pc_vm_reset()
    nmappings = 0
    for i in range(nmappings_):
        if pc_mapping_init(&mappings[i], <inode *>(inodes + i * sizeof_inode), npages, i) != 0:
            raise MemoryError()
        nmappings = <int>i + 1
    pc_variant_select(ops)
    current_variant = v.name
    current_placement = None if placement_seed is None else seed
    clear_abort()
    events_reset()
    bugs_reset()
    rp_reset()


cdef void _free_slots() noexcept nogil:
    cdef int i
    if mappings == NULL:
        return
    for i in range(nmappings):
        pc_mapping_free(&mappings[i])


def variant():
    return current_variant


def stat_batches():
    """How often the statistics fold into their shared totals on this
    machine (pagecore/vmstat.h): the percpu_counter batches of the
    bdi_writeback's counters (WB_STAT_BATCH), of the writeout proportions
    (PROP_BATCH) and percpu_counter_batch, and the vmstat stat_threshold."""
    cpus = pc_vm.cpus
    log2 = cpus.bit_length() - 1
    return {"cpus": cpus, "wb_stat": 8 * (1 + log2), "prop": 8 * (1 + log2),
            "percpu_counter": pc_vm.counter_batch, "stat_threshold": pc_vm.stat_threshold}


def placement():
    """Where configure() put things: the seed, and the byte offset of the
    page pool, wait table and mappings within their 4 KiB page."""
    if A.pages == NULL:
        raise PagecoreError("the model is not configured: call configure() first")
    return {"seed": current_placement,
            "pages": <uintptr_t>A.pages % 4096,
            "wait_table": <uintptr_t>page_wait_table % 4096,
            "mappings": <uintptr_t>mappings % 4096}


def page_address(long pid):
    """The address of struct page @pid (placement tests, diagnostics)."""
    return <uintptr_t>_page(pid)


def current_cpu():
    """The CPU the calling thread runs on now (sched_getcpu())."""
    return pc_current_cpu()


def pin_cpu(int cpu):
    """Pin the calling thread (the one that runs the timed loops) to @cpu.
    Threads a loop starts beside it (a sleeping waiter, a team) do not
    inherit the pin: a waiter runs on the other CPUs, a team on all."""
    if pc_pin_cpu(cpu) != 0:
        raise PagecoreError("cannot pin to CPU %d (allowed: %s)"
                            % (cpu, ", ".join(map(str, sorted(os.sched_getaffinity(0))))))


def unpin_cpu():
    """Undo pin_cpu(): the calling thread's CPUs from before the pin."""
    if pc_unpin_cpu() != 0:
        raise PagecoreError("cannot restore the CPU mask")


def pinned_cpu():
    """The CPU pin_cpu() pinned to, or None."""
    return None if pc_pinned_cpu < 0 else pc_pinned_cpu


def table_bits():
    return PAGE_WAIT_TABLE_BITS


def page_bits():
    """The flag numbering in force: 5.10, or 6.6's for folio-6.7."""
    return {"PG_locked": PG_locked, "PG_dirty": PG_dirty, "PG_waiters": PG_waiters,
            "PG_writeback": PG_writeback, "PG_reclaim": PG_reclaim}


# ---- pages and mappings ---------------------------------------------------

def alloc_page_():
    """A fresh page with one reference, or -1 when the pool is empty."""
    cdef page *p
    if A.pages == NULL:
        raise PagecoreError("the model is not configured: call configure() first")
    p = alloc_page()
    return -1 if p == NULL else p.pc_id


def nr_free_pages():
    return A.nr_free


def page_info(long pid):
    cdef page *p = _page(pid)
    m = p.mapping
    return {"flags": READ_ONCE_ul(&p.flags), "refcount": atomic_read(&p._refcount),
            "gen": p.pc_gen, "free": bool(p.pc_free), "index": p.index,
            "mapping": (-1 if m == NULL or <unsigned long>m == PAGE_POISON_MAPPING
                        else m.id),
            "marks": _marks(p)}


cdef unsigned int _marks(page *p):
    # this page's marks, as its mapping's xarray holds them (a bit per mark)
    cdef address_space *m = p.mapping
    cdef unsigned int out = 0
    cdef int mark
    if m == NULL or <unsigned long>m == PAGE_POISON_MAPPING or m.i_pages.xa_slots == NULL:
        return 0
    if p.index >= m.i_pages.xa_nslots or m.i_pages.xa_slots[p.index] != p:
        return 0
    for mark in range(XA_MAX_MARKS):
        if xa_get_mark(&m.i_pages, p.index, mark):
            out |= 1u << mark
    return out


def page_flags(long pid):
    return READ_ONCE_ul(&_page(pid).flags)


def page_count(long pid):
    return atomic_read(&_page(pid)._refcount)


def PageWriteback_(long pid):
    return bool(PageWriteback(_page(pid)))


def PageWaiters_(long pid):
    return bool(PageWaiters(_page(pid)))


def PageLocked_(long pid):
    return bool(PageLocked(_page(pid)))


def PageDirty_(long pid):
    return bool(PageDirty(_page(pid)))


def SetPageReclaim(long pid):
    set_bit(PG_reclaim, &_page(pid).flags)


def mapping_info(int mid):
    cdef address_space *m = _mapping(mid)
    return {"nrpages": m.nrpages, "dirty": pc_mapping_marked(m, PAGECACHE_TAG_DIRTY),
            "writeback": pc_mapping_marked(m, PAGECACHE_TAG_WRITEBACK),
            "towrite": pc_mapping_marked(m, PAGECACHE_TAG_TOWRITE),
            "use_writeback_tags": bool(m.use_writeback_tags)}


def set_mapping_writeback_tags(int mid, bint on):
    """Off models swap: !mapping_use_writeback_tags()."""
    _mapping(mid).use_writeback_tags = on


def get_page_(long pid):
    get_page(_page(pid))


def put_page_(long pid):
    cdef page *p = _page(pid)
    with nogil:
        put_page(p)


def add_to_page_cache_(long pid, int mid, unsigned long index=0):
    cdef page *p = _page(pid)
    cdef address_space *m = _mapping(mid)
    if index >= m.i_pages.xa_nslots:
        raise PagecoreError("index %d out of range 0..%d" % (index, m.i_pages.xa_nslots - 1))
    with nogil:
        add_to_page_cache(p, m, index)


def delete_from_page_cache_(long pid):
    cdef page *p = _page(pid)
    with nogil:
        pc_call_unwindable(_u_delete_from_page_cache, p)


# The blocking calls, as Python threads make them: under the watchdog, a wait
# that it ends returns from the call (pc_call_unwindable(), harness.h), not
# only from the sleep, so that a variant's `while` loop cannot spin on.
cdef void _u_lock_page(void *a) noexcept nogil:
    lock_page(<page *>a)


cdef void _u_end_page_writeback(void *a) noexcept nogil:
    end_page_writeback(<page *>a)


cdef void _u_unlock_page(void *a) noexcept nogil:
    unlock_page(<page *>a)


cdef void _u_delete_from_page_cache(void *a) noexcept nogil:
    delete_from_page_cache(<page *>a)


cdef void _u_wait_on_page_writeback(void *a) noexcept nogil:
    wait_on_page_writeback(<page *>a)


cdef void _u_truncate_inode_page(void *a) noexcept nogil:
    truncate_inode_page(<page *>a)


cdef void _u_put_and_wait_on_page_locked(void *a) noexcept nogil:
    put_and_wait_on_page_locked(<page *>a)


cdef struct _bit_wait:
    page *p
    int bit_nr


cdef void _u_wait_on_page_bit(void *a) noexcept nogil:
    cdef _bit_wait *w = <_bit_wait *>a
    wait_on_page_bit(w.p, w.bit_nr)


cdef struct _wcp_call:
    page *p
    bint start_writeback
    int bug


cdef void _u_write_cache_pages_one(void *a) noexcept nogil:
    cdef _wcp_call *c = <_wcp_call *>a
    c.bug = write_cache_pages_one(c.p, c.start_writeback)


def truncate_inode_page_(long pid):
    """Truncate a page the caller holds a reference on; drops that reference."""
    cdef page *p = _page(pid)
    with nogil:
        pc_call_unwindable(_u_truncate_inode_page, p)


# ---- the page lock and writeback ------------------------------------------

def lock_page_(long pid):
    cdef page *p = _page(pid)
    with nogil:
        pc_call_unwindable(_u_lock_page, p)


def trylock_page_(long pid):
    cdef page *p = _page(pid)
    return bool(trylock_page(p))


def unlock_page_(long pid):
    cdef page *p = _page(pid)
    with nogil:
        pc_call_unwindable(_u_unlock_page, p)


def put_and_wait_on_page_locked_(long pid):
    cdef page *p = _page(pid)
    with nogil:
        pc_call_unwindable(_u_put_and_wait_on_page_locked, p)


def wait_on_page_bit_(long pid, int bit_nr):
    cdef _bit_wait w
    w.p = _page(pid)
    w.bit_nr = bit_nr
    with nogil:
        pc_call_unwindable(_u_wait_on_page_bit, &w)


def set_page_writeback_(long pid):
    """__test_set_page_writeback(); the caller holds the page lock."""
    cdef page *p = _page(pid)
    cdef int ret
    with nogil:
        ret = set_page_writeback(p)
    return bool(ret)


def end_page_writeback_(long pid):
    cdef page *p = _page(pid)
    with nogil:
        pc_call_unwindable(_u_end_page_writeback, p)


def wait_on_page_writeback_(long pid):
    cdef page *p = _page(pid)
    with nogil:
        pc_call_unwindable(_u_wait_on_page_writeback, p)


cdef int write_cache_pages_one(page *p, bint start_writeback) noexcept nogil:
    # The part of write_cache_pages() (WB_SYNC_ALL) that the three races hit:
    # lock_page; wait_on_page_writeback; BUG_ON(PageWriteback); start the
    # next writeback under the page lock.
    cdef int bug = 0
    lock_page(p)
    wait_on_page_writeback(p)
    if PageWriteback(p):
        pc_bug(PC_BUG_WRITEBACK_AFTER_WAIT, p, "write_cache_pages", READ_ONCE_ul(&p.flags), 0)
        bug = 1
    elif start_writeback:
        set_page_writeback(p)
    unlock_page(p)
    return bug


def write_cache_pages_page(long pid, bint start_writeback=True):
    """lock_page, wait_on_page_writeback, BUG_ON(PageWriteback), then (if
    asked) set_page_writeback and unlock_page.  True if the BUG_ON fired."""
    cdef _wcp_call c
    c.p = _page(pid)
    c.start_writeback = start_writeback
    c.bug = 0
    with nogil:
        pc_call_unwindable(_u_write_cache_pages_one, &c)
    return bool(c.bug)
