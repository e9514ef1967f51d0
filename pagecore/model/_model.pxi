# The kernel as the harness sees it: the types, flags and inline helpers of
# pagecore/mm.h, and the variant's kernel functions, each a call through the
# loaded variant's table (ops.h).  The model itself is C: the library under
# pagecore/kernel/ and one file per variant under pagecore/variants/, built
# into a shared object per variant (pagecore/model/build.py) that configure()
# loads.  harness.h adds what the harness owns: the page allocator, the
# watchdog's way out of a sleep, the lock hold timer, the queued waiters
# of the timed loops.

from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset
from libc.stdint cimport int64_t, uint64_t, uintptr_t
from posix.stdlib cimport posix_memalign

from includes.atomic cimport *
from includes.team cimport pc_clock_ns, pc_region_begin, pc_region_end


cdef extern from "pagecore/harness.h" nogil:
    enum:
        PG_locked
        PG_waiters
        PG_reclaim
        PG_uptodate
    # the loaded variant's layout (5.10's or 6.6's)
    int PG_writeback
    int PG_dirty

    enum:
        PAGECACHE_TAG_DIRTY
        PAGECACHE_TAG_WRITEBACK
        PAGECACHE_TAG_TOWRITE
        XA_MAX_MARKS
        WQ_FLAG_EXCLUSIVE
        WQ_FLAG_WOKEN
        WQ_FLAG_BOOKMARK
        WQ_FLAG_CUSTOM
        WQ_FLAG_DONE
        WAITQUEUE_WALK_BREAK_CNT

    enum behavior:
        EXCLUSIVE
        SHARED
        DROP

    unsigned long POISON_POINTER_DELTA
    unsigned long PAGE_POISON_MAPPING
    uint64_t GOLDEN_RATIO_64

    struct page

    struct xa_node

    struct xarray:
        spinlock_t xa_lock
        page **xa_slots
        unsigned long xa_nslots
        xa_node *xa_nodes
        int xa_levels
        unsigned long xa_level_start[8]

    struct inode

    struct address_space:
        xarray i_pages
        int use_writeback_tags
        long nrpages
        spinlock_t private_lock
        spinlock_t i_mmap_lock
        inode *host
        int id

    struct page:
        unsigned long flags
        atomic_t _refcount
        unsigned int pc_gen
        address_space *mapping
        unsigned long index
        int pc_free
        page *pc_next_free
        unsigned long private
        int pc_id

    struct list_head:
        list_head *next
        list_head *prev

    struct wait_queue_entry:
        list_head entry
        unsigned int flags
        void *private
        int (*func)(wait_queue_entry *wait, unsigned int mode, int sync, void *key) noexcept nogil

    struct wait_queue_head:
        spinlock_t lock
        list_head head

    struct wait_page_queue:
        wait_queue_entry wait
        page *page
        int bit_nr

    struct wait_page_key:
        page *page
        int bit_nr
        int page_match

    int sysctl_page_lock_unfairness
    int PAGE_WAIT_TABLE_BITS
    int pc_chain_cold
    wait_queue_head *page_wait_table

    struct pc_wait_tracker:
        int pid
        long throttle_ns
        page *page
        unsigned long page_ends
        int in_wait
        unsigned long cur_sleeps
        unsigned long waits
        unsigned long immediate
        unsigned long wakes
        unsigned long resleeps
        unsigned long max_resleeps
        unsigned long mapping_breaks
        long cap
        long nsamples
        int64_t *wait_ns
        unsigned long *ends_during
    pc_wait_tracker WT "pc_wt"
    bint pc_wait_tracked()

    struct pc_allocator:
        spinlock_t lock
        page *free_list
        long nr_free
        page *pages
        long npages
    pc_allocator A "pc_zone"
    page *alloc_page()
    void __free_page(page *p)
    void get_page(page *p)
    void put_page(page *p)

    # list.h
    void INIT_LIST_HEAD(list_head *l)
    bint list_empty(const list_head *h)
    bint list_empty_careful(const list_head *h)
    void list_add_tail(list_head *new, list_head *head)
    void list_del_init(list_head *e)
    void list_del_init_careful(list_head *e)

    # page-flags.h
    bint PageLocked(page *p)
    bint PageWriteback(page *p)
    bint PageWaiters(page *p)
    bint PageDirty(page *p)
    bint PageReclaim(page *p)
    bint PageUptodate(page *p)
    void SetPageWaiters(page *p)
    void ClearPageWaiters(page *p)
    void ClearPageReclaim(page *p)
    bint TestSetPageWriteback(page *p)
    bint TestClearPageWriteback(page *p)
    bint TestSetPageDirty(page *p)
    bint TestClearPageDirty(page *p)

    # the mapping
    address_space *page_mapping(page *p)
    bint mapping_use_writeback_tags(address_space *m)
    bint mapping_tagged(address_space *m, int tag)
    bint xa_get_mark(xarray *xa, unsigned long index, int mark)
    void xa_lock(xarray *xa)
    void xa_unlock(xarray *xa)

    # the wait table
    unsigned long hash_ptr(const void *ptr, int bits)
    wait_queue_head *page_waitqueue(page *p)
    bint waitqueue_active(wait_queue_head *q)
    void __add_wait_queue_entry_tail(wait_queue_head *q, wait_queue_entry *w)

    # the variant's kernel functions (ops.def), through its table
    void end_page_writeback(page *p)
    void wait_on_page_writeback(page *p)
    void pc_op_wait_on_page_writeback(page *p)
    int set_page_writeback(page *p)
    void lock_page(page *p)
    void __lock_page(page *p)
    bint trylock_page(page *p)
    void unlock_page(page *p)
    void wait_on_page_bit(page *p, int bit_nr)
    void put_and_wait_on_page_locked(page *p)
    void wake_up_page_bit(page *p, int bit_nr)
    int wake_page_function(wait_queue_entry *wait, unsigned int mode, int sync, void *key)
    void add_to_page_cache(page *p, address_space *mapping, unsigned long index)
    void delete_from_page_cache(page *p)
    page *find_get_page(address_space *mapping, unsigned long index)
    void truncate_inode_page(page *p)

    # loading a variant
    struct pc_ops:
        unsigned int abi
        const char *name
        int pg_writeback
        int pg_dirty
        int (*wake_page_function)(wait_queue_entry *wait, unsigned int mode, int sync,
                                  void *key) noexcept nogil
    const pc_ops *pc_ops_cur
    void pc_harness_init()
    int pc_harness_promote(const char *self)
    const pc_ops *pc_variant_open(const char *path, const char **err)
    void pc_variant_select(const pc_ops *ops)

    # the watchdog's way out; the lock hold timer
    ctypedef void (*pc_unwindable_fn)(void *arg) noexcept nogil
    int pc_call_unwindable(pc_unwindable_fn fn, void *arg)
    enum pc_hold_class:
        PC_HOLD_NONE
        PC_HOLD_I_PAGES
        PC_HOLD_BUCKET
    struct pc_lock_hold:
        int on
        int depth
        int64_t t0
        int64_t ns
        long holds
    pc_lock_hold pc_lock_hold_timer "pc_lock_hold"

    # queued waiters of the timed loops
    int PC_QWAIT_WRITEBACK
    int PC_QWAIT_LOCK
    struct pc_coro:
        int done
    struct pc_qwaiter:
        pc_coro coro
        task_struct *task
        page *page
        int op
        char *stack
        size_t stack_size
        size_t skew
    bint pc_qwaiter_start(pc_qwaiter *q)
    bint pc_qwaiter_finish(pc_qwaiter *q)
    void pc_qwaiter_abandon(pc_qwaiter *q)

    # the statistics' machine and the mappings (pagecore/vmstat.h, harness.h)
    void pc_vm_reset()
    int pc_mapping_init(address_space *m, inode *i, unsigned long nslots, int id)
    void pc_mapping_free(address_space *m)
    long pc_mapping_marked(const address_space *m, int mark)
    struct pc_vm_info "pc_vm":
        int cpus
        int counter_batch
        int stat_threshold
    pc_vm_info pc_vm
    size_t sizeof_inode "sizeof(struct inode)"

    # the touch check's geometry (runtime.h)
    size_t pc_touch_size
    size_t pc_touch_off_gen
    size_t pc_touch_off_free


# -------------------------------------------------------------------------
# Colliding waiters: entries for other pages parked in a page's bucket, so
# that hash-chain length is a parameter of any run.  Their pages are
# addresses that hash to the bucket and are never dereferenced (a wake walk
# only compares them with its key), so no page need exist there.
# -------------------------------------------------------------------------

cdef uint64_t golden_ratio_inverse() noexcept nogil:
    # Newton's iteration for the inverse of an odd number modulo 2**64.
    cdef uint64_t x = GOLDEN_RATIO_64
    cdef int i
    for i in range(6):
        x *= 2 - GOLDEN_RATIO_64 * x
    return x


cdef void *colliding_address(unsigned long bucket, uint64_t salt, int bits) noexcept nogil:
    cdef uint64_t top = (<uint64_t>bucket) << (64 - bits)
    cdef uint64_t low = (salt * 0x9E3779B97F4A7C15ULL) >> bits
    return <void *><uintptr_t>((top | low) * golden_ratio_inverse())
