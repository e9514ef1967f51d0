# The page-flag model: struct page, the page allocator, the mapping's i_pages
# lock, the hashed page wait table and its wake walk, the three generations
# of wake_page_function / wait_on_page_bit_common, lock_page / unlock_page and
# every end_page_writeback variant.  Names and the order of atomics and
# barriers follow mm/filemap.c and mm/page-writeback.c at the commits cited.
#
# Left out, because no race or cost studied here depends on them: memcg and
# lruvec statistics (lock_page_memcg, dec_lruvec_state, ...), psi and
# thrashing accounting, signals (except the watchdog's way out, see
# io_schedule in includes/atomic.h), compound pages, and the xarray itself
# (each page carries its own marks; the mapping counts them).

from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset
from libc.stdint cimport int64_t, uint64_t, uintptr_t
from posix.stdlib cimport posix_memalign

from includes.atomic cimport *
from includes.team cimport pc_clock_ns, pc_region_begin, pc_region_end

# -------------------------------------------------------------------------
# Page flags, the 5.10 numbering.  PG_waiters must stay bit 7, the sign bit
# of the byte that holds PG_locked: unlock_page() depends on it.  6.6 moved
# PG_writeback to bit 1 and PG_dirty to bit 4 (so folio_end_writeback can
# clear PG_writeback and test PG_waiters in one byte op); configure() sets
# these two per variant.
# -------------------------------------------------------------------------
cdef enum:
    PG_locked = 0
    PG_waiters = 7
    PG_reclaim = 18
    PG_uptodate = 2

cdef int PG_writeback = 15
cdef int PG_dirty = 3

# xarray marks (XA_MARK_0..2)
cdef enum:
    PAGECACHE_TAG_DIRTY = 0
    PAGECACHE_TAG_WRITEBACK = 1
    PAGECACHE_TAG_TOWRITE = 2

# wait_queue_entry flags, include/linux/wait.h
cdef enum:
    WQ_FLAG_EXCLUSIVE = 0x01
    WQ_FLAG_WOKEN = 0x02
    WQ_FLAG_BOOKMARK = 0x04
    WQ_FLAG_CUSTOM = 0x08
    WQ_FLAG_DONE = 0x10

# WAITQUEUE_WALK_BREAK_CNT, kernel/sched/wait.c (2554db916586)
cdef enum:
    WAITQUEUE_WALK_BREAK_CNT = 64

# The choice of three behaviours for wait_on_page_bit_common().
#   EXCLUSIVE: hold ref to page and take the bit when woken, like __lock_page()
#   SHARED: hold ref to page and check the bit when woken, like
#           wait_on_page_writeback()
#   DROP: drop ref to page before wait, no check when woken, like
#         put_and_wait_on_page_locked()
cdef enum behavior:
    EXCLUSIVE
    SHARED
    DROP

cdef unsigned long POISON_POINTER_DELTA = 0xdead000000000000UL
cdef unsigned long PAGE_POISON_MAPPING = 0xdead000000000400UL


cdef struct address_space:
    spinlock_t i_pages_lock         # xa_lock(&mapping->i_pages)
    int use_writeback_tags          # mapping_use_writeback_tags(): false for swap
    long nrpages
    long nr_marked[3]               # pages carrying each mark: mapping_tagged()
    int id


# Kept to 64 bytes and aligned like the kernel's struct page, so that the
# pages of the pool hash over the wait table as real struct pages do.
cdef struct page:
    unsigned long flags
    atomic_t _refcount
    unsigned int pc_gen             # model: allocation generation
    address_space *mapping
    unsigned long index
    unsigned int xa_marks           # this page's marks in mapping->i_pages
    int pc_free                     # model: on the free list
    page *pc_next_free              # model: free list link
    void *private                   # buffer heads (the dirty path)
    int pc_id                       # model: index in the pool


cdef struct list_head:
    list_head *next
    list_head *prev


# The list link is the first member so that container_of() is a cast.
cdef struct wait_queue_entry:
    list_head entry
    unsigned int flags
    task_struct *private
    int (*func)(wait_queue_entry *wait, unsigned int mode, int sync, void *key) noexcept nogil


cdef struct wait_queue_head:
    spinlock_t lock
    list_head head


cdef struct wait_page_queue:
    wait_queue_entry wait
    page *page
    int bit_nr


cdef struct wait_page_key:
    page *page
    int bit_nr
    int page_match


# What differs between variants: chosen once by configure(), read on every
# operation.  See variants.py for the table and the commits.
cdef struct pc_variant:
    int wake_gen
    int bookmarks
    int end_wb
    int wait_loop
    int wait_mapping_break
    int folio_layout
    int cpdfio

cdef pc_variant V

cdef enum:
    WAKE_PRE58 = 0
    WAKE_58 = 1
    WAKE_59 = 2

cdef enum:
    END_ORIGINAL = 0
    END_GET_PUT_ON_WAITERS = 1
    END_GET_PUT = 2
    END_WAKE_UNDER_IPAGES = 3
    END_CMPXCHG_CLEAR = 4
    END_FOLIO = 5
    END_FOLIO_WQ_LOCKED = 6

# sysctl_page_lock_unfairness, 5ef64cc8987a
cdef int sysctl_page_lock_unfairness = 5


# Liveness (the writeback-starvation scenario), instrumented build only.
# One task is tracked: a slow waiter, such as a cgroup-throttled thread, that
# runs only every throttle_ns.  Each time it is woken inside
# wait_on_page_bit_common() it pauses throttle_ns before it looks at the bit
# or its wait entry again, and each wait_on_page_writeback() it makes is
# timed and its sleeps counted: a sleep after the first of one wait is a
# wake that found the page under writeback again (the `while` of
# c2407cf7d22d, or the pre-5.8 waiter's re-queue).  Only the tracked task
# writes the counters; end_page_writeback() of the tracked page adds to
# page_ends, the writers' progress.  pid and page are set (release) while
# other tasks run, and read by every task (acquire); the rest is written by
# the tracked task alone.  The timed build compiles all of this out
# (PC_INSTRUMENTED is a constant 0 there).
cdef struct pc_wait_tracker:
    int pid                     # the tracked task; 0: none
    long throttle_ns            # its pause between being woken and looking again
    page *page                  # the page whose completed writebacks are counted
    unsigned long page_ends     # end_page_writeback()s of that page so far
    int in_wait                 # inside wait_on_page_writeback()
    unsigned long cur_sleeps    # sleeps of the wait in progress
    unsigned long waits         # waits that slept at least once
    unsigned long immediate     # waits that found PG_writeback clear
    unsigned long wakes         # returns from io_schedule()
    unsigned long resleeps      # woken, and slept again within the same wait
    unsigned long max_resleeps  # the most of one wait
    unsigned long mapping_breaks  # loops left because ->mapping changed
    long cap                    # samples: wait_ns[i], ends_during[i]
    long nsamples
    int64_t *wait_ns
    unsigned long *ends_during

cdef pc_wait_tracker WT


cdef inline bint pc_wait_tracked() noexcept nogil:
    cdef int pid
    if not PC_INSTRUMENTED:
        return False
    pid = __atomic_load_int(&WT.pid)
    return pid != 0 and pc_current().pid == pid


# Called just before the waiter sleeps in wait_on_page_bit_common().
cdef inline void pc_wait_sleeping() noexcept nogil:
    if pc_wait_tracked() and WT.in_wait:
        WT.cur_sleeps += 1


# Called when the waiter is back from io_schedule(): the throttled task
# does not run again for throttle_ns, whatever woke it.
cdef inline void pc_wait_woken() noexcept nogil:
    if pc_wait_tracked():
        WT.wakes += 1
        if WT.throttle_ns > 0:
            pc_delay_ns(WT.throttle_ns)


# -------------------------------------------------------------------------
# list.h
# -------------------------------------------------------------------------

# The stores and lock-free loads of list links are marked (WRITE_ONCE,
# READ_ONCE) as in include/linux/list.h: waiters look at their own entry
# without the queue lock while a waker unlinks it or its neighbours.
cdef inline void INIT_LIST_HEAD(list_head *l) noexcept nogil:
    WRITE_ONCE_ptr(<void **>&l.next, l)
    WRITE_ONCE_ptr(<void **>&l.prev, l)


cdef inline bint list_empty(const list_head *h) noexcept nogil:
    return <const list_head *>smp_load_acquire_ptr(<void **>&h.next) == h


# Used by finish_wait() without the queue lock: pairs with the
# smp_store_release() in list_del_init_careful().
cdef inline bint list_empty_careful(list_head *h) noexcept nogil:
    cdef list_head *next = <list_head *>smp_load_acquire_ptr(<void **>&h.next)
    return next == h and next == <list_head *>READ_ONCE_ptr(<void **>&h.prev)


cdef inline void __list_add(list_head *new, list_head *prev, list_head *next) noexcept nogil:
    WRITE_ONCE_ptr(<void **>&next.prev, new)
    new.next = next
    new.prev = prev
    WRITE_ONCE_ptr(<void **>&prev.next, new)


cdef inline void list_add_tail(list_head *new, list_head *head) noexcept nogil:
    __list_add(new, head.prev, head)


cdef inline void list_del_init(list_head *e) noexcept nogil:
    WRITE_ONCE_ptr(<void **>&e.next.prev, e.prev)
    WRITE_ONCE_ptr(<void **>&e.prev.next, e.next)
    INIT_LIST_HEAD(e)


# The waiter may free its on-stack entry as soon as it sees it empty, so the
# empty state is published last, with release order.
cdef inline void list_del_init_careful(list_head *e) noexcept nogil:
    WRITE_ONCE_ptr(<void **>&e.next.prev, e.prev)
    WRITE_ONCE_ptr(<void **>&e.prev.next, e.next)
    WRITE_ONCE_ptr(<void **>&e.prev, e)
    smp_store_release_ptr(<void **>&e.next, e)


# -------------------------------------------------------------------------
# Page flag helpers (include/linux/page-flags.h)
# -------------------------------------------------------------------------

cdef inline bint PageLocked(page *p) noexcept nogil:
    return test_bit(PG_locked, &p.flags)

cdef inline bint PageWriteback(page *p) noexcept nogil:
    return test_bit(PG_writeback, &p.flags)

cdef inline bint PageWaiters(page *p) noexcept nogil:
    return test_bit(PG_waiters, &p.flags)

cdef inline bint PageDirty(page *p) noexcept nogil:
    return test_bit(PG_dirty, &p.flags)

cdef inline bint PageReclaim(page *p) noexcept nogil:
    return test_bit(PG_reclaim, &p.flags)

cdef inline void SetPageWaiters(page *p) noexcept nogil:
    set_bit(PG_waiters, &p.flags)

cdef inline void ClearPageWaiters(page *p) noexcept nogil:
    clear_bit(PG_waiters, &p.flags)

cdef inline void ClearPageReclaim(page *p) noexcept nogil:
    clear_bit(PG_reclaim, &p.flags)

cdef inline bint TestSetPageWriteback(page *p) noexcept nogil:
    return test_and_set_bit(PG_writeback, &p.flags)

cdef inline bint TestClearPageWriteback(page *p) noexcept nogil:
    return test_and_clear_bit(PG_writeback, &p.flags)

cdef inline bint TestClearPageDirty(page *p) noexcept nogil:
    return test_and_clear_bit(PG_dirty, &p.flags)

cdef inline bint TestSetPageDirty(page *p) noexcept nogil:
    return test_and_set_bit(PG_dirty, &p.flags)

cdef inline address_space *page_mapping(page *p) noexcept nogil:
    return <address_space *>smp_load_acquire_ptr(<void **>&p.mapping)

cdef inline bint mapping_use_writeback_tags(address_space *m) noexcept nogil:
    return m.use_writeback_tags

cdef inline bint mapping_tagged(address_space *m, int tag) noexcept nogil:
    return m.nr_marked[tag] != 0

# __xa_set_mark / __xa_clear_mark: caller holds the i_pages lock.
cdef inline void __xa_set_mark(address_space *m, page *p, int tag) noexcept nogil:
    if not (p.xa_marks & (1u << tag)):
        p.xa_marks |= 1u << tag
        m.nr_marked[tag] += 1

cdef inline void __xa_clear_mark(address_space *m, page *p, int tag) noexcept nogil:
    if p.xa_marks & (1u << tag):
        p.xa_marks &= ~(1u << tag)
        m.nr_marked[tag] -= 1


# -------------------------------------------------------------------------
# The page allocator.  A pool of struct pages and a LIFO free list, so that a
# page just freed is the next one handed out: reuse is immediate, as with the
# per-cpu free lists.  Freed pages are poisoned (mapping, index) and carry a
# new generation when reallocated, so a touch of a stale page is observable.
# -------------------------------------------------------------------------

cdef struct pc_allocator:
    spinlock_t lock
    page *free_list
    long nr_free
    page *pages
    long npages

cdef pc_allocator A


cdef page *alloc_page() noexcept nogil:
    cdef page *p
    spin_lock(&A.lock)
    p = A.free_list
    if p != NULL:
        A.free_list = p.pc_next_free
        A.nr_free -= 1
    spin_unlock(&A.lock)
    if p == NULL:
        return NULL
    p.pc_next_free = NULL
    # Already NULL since __free_page(); a stale end_page_writeback may read
    # it (page_mapping(), an acquire load) at any time.
    WRITE_ONCE_ptr(<void **>&p.mapping, NULL)
    p.index = 0
    p.xa_marks = 0
    p.private = NULL
    __atomic_store_uint(&p.pc_gen, p.pc_gen + 1)
    WRITE_ONCE_ul(&p.flags, 0)
    atomic_set(&p._refcount, 1)
    __atomic_store_int(&p.pc_free, 0)
    return p


# free_pages_prepare(): a page freed with PG_locked or PG_writeback set is a
# "bad page"; the flags are cleared whatever they were.  ->mapping is NULL on
# a free page, as the kernel requires: a racy variant can still end
# writeback on a page truncation freed too early, and that end must find no
# mapping (and report PG_writeback clear), not dereference a poison value.
cdef void __free_page(page *p) noexcept nogil:
    cdef unsigned long flags = READ_ONCE_ul(&p.flags)
    if flags & ((1UL << PG_locked) | (1UL << PG_writeback)):
        pc_bug(PC_BUG_BAD_PAGE, p, "__free_page", flags, 0)
    WRITE_ONCE_ul(&p.flags, 0)
    smp_store_release_ptr(<void **>&p.mapping, NULL)
    p.index = POISON_POINTER_DELTA
    __atomic_store_int(&p.pc_free, 1)
    spin_lock(&A.lock)
    p.pc_next_free = A.free_list
    A.free_list = p
    A.nr_free += 1
    spin_unlock(&A.lock)


cdef inline void get_page(page *p) noexcept nogil:
    atomic_inc(&p._refcount)


cdef inline void put_page(page *p) noexcept nogil:
    if atomic_dec_and_test(&p._refcount):
        __free_page(p)


# -------------------------------------------------------------------------
# The page wait table (mm/filemap.c)
#
# In order to wait for pages to become available there must be waitqueues
# associated with pages.  By using a hash table of waitqueues where the
# bucket discipline is to maintain all waiters on the same queue and wake
# all when any of the pages becomes available, and for the woken contexts
# to check to be sure the appropriate page became available, this saves
# space at a cost of "thundering herd" phenomena during rare hash
# collisions.  (The kernel's comment; the walk past other pages' entries is
# what the hashchain suite measures.)
# -------------------------------------------------------------------------

cdef int PAGE_WAIT_TABLE_BITS = 8
cdef wait_queue_head *page_wait_table = NULL
cdef uint64_t GOLDEN_RATIO_64 = 0x61C8864680B583EBULL


cdef inline unsigned long hash_ptr(const void *ptr, int bits) noexcept nogil:
    return <unsigned long>((<uint64_t><uintptr_t>ptr * GOLDEN_RATIO_64) >> (64 - bits))


cdef inline wait_queue_head *page_waitqueue(page *p) noexcept nogil:
    return &page_wait_table[hash_ptr(p, PAGE_WAIT_TABLE_BITS)]


cdef inline bint waitqueue_active(wait_queue_head *q) noexcept nogil:
    return not list_empty(&q.head)


cdef inline void __add_wait_queue_entry_tail(wait_queue_head *q,
                                             wait_queue_entry *w) noexcept nogil:
    list_add_tail(&w.entry, &q.head)


cdef void finish_wait(wait_queue_head *q, wait_queue_entry *w) noexcept nogil:
    __set_current_state(TASK_RUNNING)
    if not list_empty_careful(&w.entry):
        spin_lock(&q.lock)
        list_del_init(&w.entry)
        spin_unlock(&q.lock)


cdef inline bint wake_page_match(wait_page_queue *wait_page, wait_page_key *key) noexcept nogil:
    if wait_page.page != key.page:
        return False
    key.page_match = 1
    if wait_page.bit_nr != key.bit_nr:
        return False
    return True


# autoremove_wake_function(), for the pre-5.8 generation
cdef inline int autoremove_wake_function(wait_queue_entry *w) noexcept nogil:
    cdef int ret = wake_up_state(w.private, TASK_NORMAL)
    if ret:
        list_del_init(&w.entry)
    return ret


# ---- wake_page_function, three generations -------------------------------

# Before 5.8 (4.14 .. 5.7): stop walking if the bit is set again.  "The waker
# must hold a reference to this page, and if PG_locked has now already been
# set by another task, that task must also hold a reference to the *same
# usage* of this page".  A -1 ends the whole walk, for every waiter behind.
cdef int wake_page_function_pre58(wait_queue_entry *w, unsigned int mode, int sync,
                                  void *arg) noexcept nogil:
    cdef wait_page_key *key = <wait_page_key *>arg
    cdef wait_page_queue *wait_page = <wait_page_queue *>w
    if wait_page.page != key.page:
        return 0
    key.page_match = 1
    if wait_page.bit_nr != key.bit_nr:
        return 0
    pc_touch(key.page, key.page.pc_gen, key.page.pc_free, "wake_page_function")
    if test_bit(key.bit_nr, &key.page.flags):
        return -1
    return autoremove_wake_function(w)


# 2a9127fcf229 (5.8): the bit check moved into the waker.  An exclusive
# waiter gets the bit from the waker (strict hand-off) or the walk stops; a
# non-exclusive waiter is woken whatever the bit is now.
cdef int wake_page_function_58(wait_queue_entry *w, unsigned int mode, int sync,
                               void *arg) noexcept nogil:
    cdef wait_page_key *key = <wait_page_key *>arg
    cdef wait_page_queue *wait_page = <wait_page_queue *>w
    cdef int ret = 0
    if not wake_page_match(wait_page, key):
        return 0
    if w.flags & WQ_FLAG_EXCLUSIVE:
        pc_touch(key.page, key.page.pc_gen, key.page.pc_free, "wake_page_function")
        if test_and_set_bit(key.bit_nr, &key.page.flags):
            return -1
        ret = 1
    # A plain store in 2a9127fcf229, which the waiter reads without the
    # queue lock: the kernel's own data race, marked as such (5ef64cc8987a
    # made it a store-release).
    WRITE_ONCE_uint(&w.flags, w.flags | WQ_FLAG_WOKEN)
    wake_up_state(w.private, mode)
    # Ok, we have successfully done what we're waiting for, and we can
    # unconditionally remove the wait entry.  This has to be the absolute
    # last thing we do: after it the entry may be de-allocated.
    list_del_init_careful(&w.entry)
    return ret


# 5ef64cc8987a (5.9): a controlled amount of unfairness.
#  (a) no flags: set WOKEN (store-release), wake, remove;
#  (b) EXCLUSIVE: if the bit is set again stop walking, don't wake;
#  (c) EXCLUSIVE|CUSTOM: the fair hand-off: take the bit for the waiter and
#      mark it DONE, or stop walking if someone else has it.
cdef int wake_page_function_59(wait_queue_entry *w, unsigned int mode, int sync,
                               void *arg) noexcept nogil:
    cdef unsigned int flags = w.flags
    cdef wait_page_key *key = <wait_page_key *>arg
    cdef wait_page_queue *wait_page = <wait_page_queue *>w
    if not wake_page_match(wait_page, key):
        return 0
    if flags & WQ_FLAG_EXCLUSIVE:
        pc_touch(key.page, key.page.pc_gen, key.page.pc_free, "wake_page_function")
        if test_bit(key.bit_nr, &key.page.flags):
            return -1
        if flags & WQ_FLAG_CUSTOM:
            if test_and_set_bit(key.bit_nr, &key.page.flags):
                return -1
            flags |= WQ_FLAG_DONE
    # The waiter checks wait->flags without the queue lock: this
    # store-release pairs with the load-acquire in wait_on_page_bit_common().
    smp_store_release_uint(&w.flags, flags | WQ_FLAG_WOKEN)
    wake_up_state(w.private, mode)
    # Pairs with the finish_wait() in the waiter; after it the entry may be
    # gone, so it is the absolute last thing we do.
    list_del_init_careful(&w.entry)
    return (flags & WQ_FLAG_EXCLUSIVE) != 0


# __wake_up_common(), kernel/sched/wait.c, nr_exclusive = 1.  With a
# bookmark (4.14 .. 6.6) the walk parks the bookmark after
# WAITQUEUE_WALK_BREAK_CNT entries and returns, so the caller can drop the
# lock for a breather; without one (6.7) it walks the whole bucket.
cdef int __wake_up_common(wait_queue_head *q, unsigned int mode, int nr_exclusive,
                          void *key, wait_queue_entry *bookmark) noexcept nogil:
    cdef wait_queue_entry *curr
    cdef wait_queue_entry *next
    cdef int cnt = 0
    cdef unsigned int flags
    cdef int ret

    if bookmark != NULL and (bookmark.flags & WQ_FLAG_BOOKMARK):
        curr = <wait_queue_entry *>bookmark.entry.next
        list_del_init(&bookmark.entry)
        bookmark.flags = 0
    else:
        curr = <wait_queue_entry *>q.head.next

    if &curr.entry == &q.head:
        return nr_exclusive

    while &curr.entry != &q.head:
        next = <wait_queue_entry *>curr.entry.next
        flags = curr.flags
        if flags & WQ_FLAG_BOOKMARK:
            curr = next
            continue
        pc_ev(PC_EV_WALKED)
        ret = curr.func(curr, mode, 0, key)
        if ret < 0:
            break
        if ret and (flags & WQ_FLAG_EXCLUSIVE):
            nr_exclusive -= 1
            if nr_exclusive == 0:
                break
        cnt += 1
        if bookmark != NULL and cnt > WAITQUEUE_WALK_BREAK_CNT and &next.entry != &q.head:
            bookmark.flags = WQ_FLAG_BOOKMARK
            list_add_tail(&bookmark.entry, &next.entry)
            break
        curr = next
    return nr_exclusive


# wake_up_page_bit() less its lock round trip: the caller holds @q's lock,
# which the bookmark loop drops and retakes for its breathers (4.14 .. 6.6;
# never without bookmarks, so a 6.7-based caller holds it throughout).
# @clear_bit_at_end is the cmpxchg-clear-in-wakeup sketch (Linus Torvalds,
# 25 Nov 2020):
# the bit being woken is not cleared before the walk but "at the end - but
# under the page waitqueue lock", just after the bookmark loop, "when we've
# woken up everybody".
cdef inline void __wake_up_page_bit_locked(wait_queue_head *q, page *p, int bit_nr,
                                           bint clear_bit_at_end) noexcept nogil:
    cdef wait_page_key key
    cdef wait_queue_entry bookmark

    key.page = p
    key.bit_nr = bit_nr
    key.page_match = 0

    bookmark.flags = 0
    bookmark.private = NULL
    bookmark.func = NULL
    INIT_LIST_HEAD(&bookmark.entry)

    # Before 5.8 a woken entry was unlinked with a plain list_del_init(), and
    # its waiter, finding it empty with list_empty_careful(), could return
    # and reuse the entry's stack while this walk's reads of it were not
    # ordered before that: the kernel's own race, which c6fe44d96fc1 ("list:
    # add "list_del_init_careful()" to go with "list_empty_careful()"")
    # closed.  Kept as the source has it, and marked as a data race.
    if V.wake_gen == WAKE_PRE58:
        pc_data_race_begin()
    if V.bookmarks:
        __wake_up_common(q, TASK_NORMAL, 1, &key, &bookmark)
        while bookmark.flags & WQ_FLAG_BOOKMARK:
            # Take a breather from holding the lock, allow pages that finish
            # wake up asynchronously to acquire the lock and remove themselves
            # from wait queue.
            spin_unlock(&q.lock)
            pc_race(RP_WAKE_BREATHER)
            cpu_relax()
            spin_lock(&q.lock)
            __wake_up_common(q, TASK_NORMAL, 1, &key, &bookmark)
    else:
        __wake_up_common(q, TASK_NORMAL, 1, &key, NULL)

    if clear_bit_at_end:
        pc_race(RP_WAKE_BEFORE_CLEAR)
        pc_touch(p, p.pc_gen, p.pc_free, "wake_up_page_bit clear")
        clear_bit(bit_nr, &p.flags)
        pc_race(RP_WAKE_AFTER_CLEAR)

    # It is possible for other pages to have collided on the waitqueue hash,
    # so in that case check for a page match.  It's possible to miss
    # clearing Waiters here, when we woke our page waiters, but the hashed
    # waitqueue has waiters for other pages on it.  That's okay, it's a rare
    # case.  The next waker will clear it.
    if not waitqueue_active(q) or not key.page_match:
        pc_touch(p, p.pc_gen, p.pc_free, "ClearPageWaiters")
        ClearPageWaiters(p)
    if V.wake_gen == WAKE_PRE58:
        pc_data_race_end()


# wake_up_page_bit() (folio_wake_bit() in 6.7): take the bucket lock, walk,
# drop it.
cdef void __wake_up_page_bit(page *p, int bit_nr, bint clear_bit_at_end) noexcept nogil:
    cdef wait_queue_head *q = page_waitqueue(p)
    spin_lock(&q.lock)
    __wake_up_page_bit_locked(q, p, bit_nr, clear_bit_at_end)
    spin_unlock(&q.lock)


cdef inline void wake_up_page_bit(page *p, int bit_nr) noexcept nogil:
    __wake_up_page_bit(p, bit_nr, False)


cdef inline void wake_up_page(page *p, int bit) noexcept nogil:
    pc_touch(p, p.pc_gen, p.pc_free, "wake_up_page")
    if not PageWaiters(p):
        return
    wake_up_page_bit(p, bit)


# ---- wait_on_page_bit_common, three generations ---------------------------

# 4.14 .. 5.7.  A woken waiter re-queues at the tail and re-tests the bit:
# SHARED waiters go back to sleep if the bit was set again meanwhile.
cdef int wait_on_page_bit_common_pre58(wait_queue_head *q, page *p, int bit_nr,
                                       int state, behavior beh) noexcept nogil:
    cdef wait_page_queue wait_page
    cdef wait_queue_entry *wait = &wait_page.wait
    cdef int ret = 0
    cdef bint bit_is_set

    INIT_LIST_HEAD(&wait.entry)
    wait.private = pc_current()
    wait.flags = WQ_FLAG_EXCLUSIVE if beh == EXCLUSIVE else 0
    wait.func = wake_page_function_pre58
    wait_page.page = p
    wait_page.bit_nr = bit_nr

    while True:
        spin_lock(&q.lock)
        if list_empty(&wait.entry):
            __add_wait_queue_entry_tail(q, wait)
            SetPageWaiters(p)
        set_current_state(state)
        spin_unlock(&q.lock)

        bit_is_set = test_bit(bit_nr, &p.flags)
        if beh == DROP:
            put_page(p)

        if bit_is_set:
            pc_race(RP_WAIT_QUEUED)
            pc_task_where("wait_on_page_bit_common", p, bit_nr)
            pc_wait_sleeping()
            io_schedule()
            pc_task_where(NULL, NULL, -1)
            pc_race(RP_WAIT_AFTER_SCHEDULE)
            pc_wait_woken()

        if beh == EXCLUSIVE:
            if not test_and_set_bit_lock(bit_nr, &p.flags):
                break
        elif beh == SHARED:
            if not test_bit(bit_nr, &p.flags):
                break

        if pc_abort or pc_current().sigkill:
            ret = -4    # -EINTR
            break

        if beh == DROP:
            # We can no longer safely access page->flags.
            break

    finish_wait(q, wait)
    pc_race(RP_WAIT_WOKEN)
    return ret


cdef inline bint trylock_page_bit_common(page *p, int bit_nr,
                                         wait_queue_entry *wait) noexcept nogil:
    if wait.flags & WQ_FLAG_EXCLUSIVE:
        if test_and_set_bit(bit_nr, &p.flags):
            return False
    elif test_bit(bit_nr, &p.flags):
        return False
    wait.flags |= WQ_FLAG_WOKEN | WQ_FLAG_DONE
    return True


# 5.8 (2a9127fcf229) and 5.9 (5ef64cc8987a): the waiter never re-tests the
# bit of a non-exclusive wait; all logic is based on WQ_FLAG_WOKEN and
# WQ_FLAG_DONE, set by the waker.
cdef int wait_on_page_bit_common_58(wait_queue_head *q, page *p, int bit_nr,
                                    int state, behavior beh) noexcept nogil:
    cdef int unfairness = sysctl_page_lock_unfairness
    cdef wait_page_queue wait_page
    cdef wait_queue_entry *wait = &wait_page.wait
    cdef unsigned int flags
    cdef bint gen59 = V.wake_gen == WAKE_59
    cdef bint retry

    INIT_LIST_HEAD(&wait.entry)
    wait.private = pc_current()
    wait.func = wake_page_function_59 if gen59 else wake_page_function_58
    wait_page.page = p
    wait_page.bit_nr = bit_nr

    while True:     # repeat:
        wait.flags = 0
        if beh == EXCLUSIVE:
            wait.flags = WQ_FLAG_EXCLUSIVE
            if gen59:
                unfairness -= 1
                if unfairness < 0:
                    wait.flags |= WQ_FLAG_CUSTOM

        # Do the SetPageWaiters() marking before the last check, so that any
        # waker we _just_ missed knows to wake us; under the queue lock.
        spin_lock(&q.lock)
        SetPageWaiters(p)
        if gen59:
            if not trylock_page_bit_common(p, bit_nr, wait):
                __add_wait_queue_entry_tail(q, wait)
        else:
            # 2a9127fcf229's trylock_page_bit_common() only sets WOKEN
            if beh == EXCLUSIVE:
                if test_and_set_bit(bit_nr, &p.flags):
                    __add_wait_queue_entry_tail(q, wait)
                else:
                    wait.flags |= WQ_FLAG_WOKEN
            elif test_bit(bit_nr, &p.flags):
                __add_wait_queue_entry_tail(q, wait)
            else:
                wait.flags |= WQ_FLAG_WOKEN
        spin_unlock(&q.lock)

        if beh == DROP:
            put_page(p)
        pc_race(RP_WAIT_QUEUED)

        # Until finish_wait(), or until we see WQ_FLAG_WOKEN, wait->flags
        # may race with a waker that sets them.
        retry = False
        while True:
            set_current_state(state)
            # Loop until we've been woken or interrupted
            flags = smp_load_acquire_uint(&wait.flags)
            if not (flags & WQ_FLAG_WOKEN):
                if pc_abort or pc_current().sigkill:
                    break
                pc_task_where("wait_on_page_bit_common", p, bit_nr)
                pc_wait_sleeping()
                io_schedule()
                pc_task_where(NULL, NULL, -1)
                pc_race(RP_WAIT_AFTER_SCHEDULE)
                pc_wait_woken()
                continue
            # If we were non-exclusive, we're done
            if beh != EXCLUSIVE:
                break
            # If the waker got the lock for us (5.8 always; 5.9 with
            # WQ_FLAG_CUSTOM), we're done
            if not gen59 or (flags & WQ_FLAG_DONE):
                break
            # Otherwise, if we're getting the lock, we need to try to get it
            # ourselves.  And if that fails, we'll have to retry this all.
            # (The waker already removed the entry.)
            if test_and_set_bit(bit_nr, &p.flags):
                retry = True
                break
            wait.flags |= WQ_FLAG_DONE
            break
        if retry:
            continue    # goto repeat
        break

    finish_wait(q, wait)
    pc_race(RP_WAIT_WOKEN)
    if beh == EXCLUSIVE and gen59:
        return 0 if wait.flags & WQ_FLAG_DONE else -4
    return 0 if wait.flags & WQ_FLAG_WOKEN else -4


cdef inline int wait_on_page_bit_common(wait_queue_head *q, page *p, int bit_nr,
                                        int state, behavior beh) noexcept nogil:
    if V.wake_gen == WAKE_PRE58:
        return wait_on_page_bit_common_pre58(q, p, bit_nr, state, beh)
    return wait_on_page_bit_common_58(q, p, bit_nr, state, beh)


# The queuing step of wait_on_page_bit_common() alone, done for task @t (not
# the caller), with its entry @wait_page: the state of a kernel waiter
# between prepare_to_wait and io_schedule().  The entry is initialised and
# queued, PG_waiters set and the task's state set as that generation's
# wait_on_page_bit_common() does, in its order, on a first attempt (5.9:
# unfairness not yet spent, so no WQ_FLAG_CUSTOM); then the task stops
# short of io_schedule().  A waker then finds it queued and not asleep:
# wake_up_state() makes it TASK_RUNNING with no futex wake, and its
# wake_page_function removes the entry as for any waiter.  Returns whether
# the entry was queued (false: the bit was clear, or taken for the waiter).
cdef bint wait_on_page_bit_queue(wait_queue_head *q, page *p, int bit_nr, behavior beh,
                                 wait_page_queue *wait_page,
                                 task_struct *t) noexcept nogil:
    cdef wait_queue_entry *wait = &wait_page.wait
    cdef bint gen59 = V.wake_gen == WAKE_59
    cdef bint queued = False

    INIT_LIST_HEAD(&wait.entry)
    wait.private = t
    wait_page.page = p
    wait_page.bit_nr = bit_nr
    if V.wake_gen == WAKE_PRE58:
        wait.flags = WQ_FLAG_EXCLUSIVE if beh == EXCLUSIVE else 0
        wait.func = wake_page_function_pre58
        spin_lock(&q.lock)
        if list_empty(&wait.entry):
            __add_wait_queue_entry_tail(q, wait)
            SetPageWaiters(p)
        __atomic_store_int(&t.state, TASK_UNINTERRUPTIBLE)     # set_current_state
        smp_mb()
        spin_unlock(&q.lock)
        if test_bit(bit_nr, &p.flags):
            return True
        # the waiter would not sleep: finish_wait()
        spin_lock(&q.lock)
        list_del_init(&wait.entry)
        spin_unlock(&q.lock)
        __atomic_store_int(&t.state, TASK_RUNNING)
        return False

    wait.func = wake_page_function_59 if gen59 else wake_page_function_58
    wait.flags = 0
    if beh == EXCLUSIVE:
        wait.flags = WQ_FLAG_EXCLUSIVE
        if gen59 and sysctl_page_lock_unfairness - 1 < 0:
            wait.flags |= WQ_FLAG_CUSTOM
    spin_lock(&q.lock)
    SetPageWaiters(p)
    if gen59:
        if not trylock_page_bit_common(p, bit_nr, wait):
            __add_wait_queue_entry_tail(q, wait)
            queued = True
    elif beh == EXCLUSIVE:
        if test_and_set_bit(bit_nr, &p.flags):
            __add_wait_queue_entry_tail(q, wait)
            queued = True
        else:
            wait.flags |= WQ_FLAG_WOKEN
    elif test_bit(bit_nr, &p.flags):
        __add_wait_queue_entry_tail(q, wait)
        queued = True
    else:
        wait.flags |= WQ_FLAG_WOKEN
    spin_unlock(&q.lock)
    if queued:
        __atomic_store_int(&t.state, TASK_UNINTERRUPTIBLE)     # set_current_state
        smp_mb()
    return queued


cdef inline void wait_on_page_bit(page *p, int bit_nr) noexcept nogil:
    wait_on_page_bit_common(page_waitqueue(p), p, bit_nr, TASK_UNINTERRUPTIBLE, SHARED)


cdef inline void put_and_wait_on_page_locked(page *p) noexcept nogil:
    wait_on_page_bit_common(page_waitqueue(p), p, PG_locked, TASK_UNINTERRUPTIBLE, DROP)


# -------------------------------------------------------------------------
# lock_page / unlock_page
# -------------------------------------------------------------------------

cdef inline bint trylock_page(page *p) noexcept nogil:
    return not test_and_set_bit_lock(PG_locked, &p.flags)


cdef void __lock_page(page *p) noexcept nogil:
    wait_on_page_bit_common(page_waitqueue(p), p, PG_locked, TASK_UNINTERRUPTIBLE, EXCLUSIVE)


cdef inline void lock_page(page *p) noexcept nogil:
    if not trylock_page(p):
        __lock_page(p)


# unlock_page() clears PG_locked and learns whether PG_waiters is set in one
# locked byte op (PG_waiters is bit 7, the sign of the byte); folio-6.7 does
# the same with folio_xor_flags_has_waiters() (6.6).
cdef inline void unlock_page(page *p) noexcept nogil:
    if V.folio_layout:
        if xor_unlock_is_negative_byte(1UL << PG_locked, &p.flags):
            wake_up_page_bit(p, PG_locked)
    elif clear_bit_unlock_is_negative_byte(PG_locked, &p.flags):
        wake_up_page_bit(p, PG_locked)


# -------------------------------------------------------------------------
# Writeback: set (always under the page lock) and the end variants
# -------------------------------------------------------------------------

# __test_set_page_writeback(page, keep_write=false), 5.9/5.10.
cdef int set_page_writeback(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)
    cdef int ret
    if mapping != NULL and mapping_use_writeback_tags(mapping):
        spin_lock(&mapping.i_pages_lock)
        ret = TestSetPageWriteback(p)
        if not ret:
            __xa_set_mark(mapping, p, PAGECACHE_TAG_WRITEBACK)
        if not PageDirty(p):
            __xa_clear_mark(mapping, p, PAGECACHE_TAG_DIRTY)
        __xa_clear_mark(mapping, p, PAGECACHE_TAG_TOWRITE)
        spin_unlock(&mapping.i_pages_lock)
    else:
        ret = TestSetPageWriteback(p)
    return ret


# test_clear_page_writeback(), 5.9.  "NOTE: Page might be free now!
# Writeback doesn't hold a page reference on its own, it relies on
# truncation to wait for the clearing of PG_writeback."
cdef int test_clear_page_writeback(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)
    cdef int ret
    if mapping != NULL and mapping_use_writeback_tags(mapping):
        spin_lock(&mapping.i_pages_lock)
        ret = TestClearPageWriteback(p)
        if ret:
            __xa_clear_mark(mapping, p, PAGECACHE_TAG_WRITEBACK)
        spin_unlock(&mapping.i_pages_lock)
    else:
        ret = TestClearPageWriteback(p)
    return ret


# "TestClearPageReclaim could be used here but it is an atomic operation and
# overkill in this particular case."  (rotate_reclaimable_page: left out)
cdef inline void end_writeback_reclaim(page *p) noexcept nogil:
    if PageReclaim(p):
        ClearPageReclaim(p)


# original / pre-5.8 / loop-in-wait: 5.9 mm/filemap.c (the same code since
# 4.14; pre-5.8 differs only in the wake and wait generation).
cdef void end_page_writeback_original(page *p) noexcept nogil:
    end_writeback_reclaim(p)
    if not test_clear_page_writeback(p):
        pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "end_page_writeback", 0, 0)
    pc_race(RP_EWB_AFTER_CLEAR)
    smp_mb__after_atomic()
    wake_up_page(p, PG_writeback)


# get-put-on-waiters, Hugh Dickins, Nov 2020, "[PATCH] mm: fix
# VM_BUG_ON(PageTail) and BUG_ON(PageWriteback)", as posted: "the patch below
# does get_page() when PageWaiters there, and put_page() after
# wake_up_page_bit() at the end".  The i_pages lock is taken even when the
# mapping has no writeback tags: "we do need the i_pages lock, even though it
# was skipped before when !mapping_use_writeback_tags() i.e. swap".
cdef void end_page_writeback_get_put_on_waiters(page *p) noexcept nogil:
    cdef address_space *mapping
    cdef int writeback, waiters
    end_writeback_reclaim(p)
    mapping = page_mapping(p)
    if mapping != NULL:
        spin_lock(&mapping.i_pages_lock)
    writeback = TestClearPageWriteback(p)
    # No need for smp_mb__after_atomic() after TestClear
    waiters = PageWaiters(p)
    if waiters:
        # Writeback doesn't hold a page reference on its own, relying on
        # truncation to wait for the clearing of PG_writeback.
        get_page(p)
    if mapping != NULL and mapping_use_writeback_tags(mapping):
        __xa_clear_mark(mapping, p, PAGECACHE_TAG_WRITEBACK)
    if mapping != NULL:
        pc_race(RP_EWB_UNDER_IPAGES)
        spin_unlock(&mapping.i_pages_lock)
    pc_race(RP_EWB_AFTER_CLEAR)
    if waiters:
        wake_up_page_bit(p, PG_writeback)
        put_page(p)
    if not writeback:
        pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "end_page_writeback", 0, 0)


# get-put, 073861ed77b6 (5.10): "Writeback does not hold a page reference of
# its own, relying on truncation to wait for the clearing of PG_writeback.
# But here we must make sure that the page is not freed and reused before
# the wake_up_page()."
cdef void end_page_writeback_get_put(page *p) noexcept nogil:
    end_writeback_reclaim(p)
    get_page(p)
    if not test_clear_page_writeback(p):
        pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "end_page_writeback", 0, 0)
    pc_race(RP_EWB_AFTER_CLEAR)
    smp_mb__after_atomic()
    wake_up_page(p, PG_writeback)
    put_page(p)


# wake-under-i_pages, Hugh Dickins, 4 Jan 2021 (not merged): "It would be
# safe to wake_up_page() after TestClearPageWriteback() while still holding
# i_pages lock (since that lock is needed to remove the page from cache)",
# but then the wake walk, however long its hash chain, runs under i_pages.
#
# @hold_ns, when not NULL, gets the time the i_pages lock is held added to
# it (from just inside spin_lock() to just before spin_unlock()): the
# hashchain suite's ipages_hold measures the variant itself this way.  The
# kernel's path passes NULL: two well-predicted branches, no clock read.
cdef inline void __end_page_writeback_wake_under_ipages(page *p,
                                                        int64_t *hold_ns) noexcept nogil:
    cdef address_space *mapping
    cdef int writeback
    cdef int64_t t0 = 0
    end_writeback_reclaim(p)
    mapping = page_mapping(p)
    if mapping != NULL:
        spin_lock(&mapping.i_pages_lock)
    if hold_ns != NULL:
        t0 = pc_region_begin()
    writeback = TestClearPageWriteback(p)
    if mapping != NULL and mapping_use_writeback_tags(mapping):
        __xa_clear_mark(mapping, p, PAGECACHE_TAG_WRITEBACK)
    pc_race(RP_EWB_UNDER_IPAGES)
    if PageWaiters(p):
        wake_up_page_bit(p, PG_writeback)
    if hold_ns != NULL:
        hold_ns[0] += pc_region_end(t0)
    if mapping != NULL:
        spin_unlock(&mapping.i_pages_lock)
    pc_race(RP_EWB_AFTER_CLEAR)
    if not writeback:
        pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "end_page_writeback", 0, 0)


cdef void end_page_writeback_wake_under_ipages(page *p) noexcept nogil:
    __end_page_writeback_wake_under_ipages(p, NULL)


# cmpxchg-clear-in-wakeup, Linus Torvalds, 25 Nov 2020 ("Re: kernel BUG at
# fs/ext4/inode.c:LINE!"), as
# written: "the bit isn't actually cleared before calling wake_up_page() at
# all": if !PG_waiters clear it with a cmpxchg loop, "otherwise, clear the
# bit at the end - but under the page waitqueue lock - inside
# wake_up_page_bit()".  The sketch is offered as the alternative to taking a
# reference, so it takes none.  The writeback tag is still cleared under the
# i_pages lock, before the bit (the sketch moves only the bit).
cdef void end_page_writeback_cmpxchg_clear(page *p) noexcept nogil:
    cdef address_space *mapping
    cdef unsigned long flags, new
    end_writeback_reclaim(p)
    mapping = page_mapping(p)
    if mapping != NULL and mapping_use_writeback_tags(mapping):
        spin_lock(&mapping.i_pages_lock)
        __xa_clear_mark(mapping, p, PAGECACHE_TAG_WRITEBACK)
        spin_unlock(&mapping.i_pages_lock)

    flags = READ_ONCE_ul(&p.flags)
    # We can clear PG_writeback directly if PG_waiters isn't set
    while not (flags & (1UL << PG_waiters)):
        new = flags & ~(1UL << PG_writeback)
        # PG_writeback was already clear??!!?
        if new == flags:
            pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "end_page_writeback", 0, 0)
            return
        new = cmpxchg(&p.flags, flags, new)
        if flags == new:
            return
        flags = new
    # Otherwise, clear the bit at the end - but under the page waitqueue
    # lock - inside wake_up_page_bit()
    if not (flags & (1UL << PG_writeback)):
        pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "end_page_writeback", 0, 0)
    __wake_up_page_bit(p, PG_writeback, True)


# __folio_end_writeback(), 6.7 mm/page-writeback.c: clear PG_writeback (bit
# 1 since 6.6) and learn PG_waiters in one release-ordered xor
# (folio_xor_flags_has_waiters), with the writeback tag, under the i_pages
# lock when the mapping has writeback tags.  True if there were waiters.
cdef inline int __folio_end_writeback(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)
    cdef int ret
    if mapping != NULL and mapping_use_writeback_tags(mapping):
        spin_lock(&mapping.i_pages_lock)
        ret = xor_unlock_is_negative_byte(1UL << PG_writeback, &p.flags)
        __xa_clear_mark(mapping, p, PAGECACHE_TAG_WRITEBACK)
        spin_unlock(&mapping.i_pages_lock)
    else:
        ret = xor_unlock_is_negative_byte(1UL << PG_writeback, &p.flags)
    return ret


# folio-6.7, 2580d554585c: folio_end_writeback().  The wake walks without
# bookmarks.  "Writeback does not hold a folio reference of its own, relying
# on truncation to wait for the clearing of PG_writeback.  But here we must
# make sure that the folio is not freed and reused before the
# folio_wake_bit()."
cdef void folio_end_writeback(page *p) noexcept nogil:
    cdef int ret
    if not PageWriteback(p):
        pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "folio_end_writeback", 0, 0)
    end_writeback_reclaim(p)
    get_page(p)     # folio_get
    ret = __folio_end_writeback(p)
    pc_race(RP_EWB_AFTER_CLEAR)
    if ret:
        wake_up_page_bit(p, PG_writeback)     # folio_wake_bit
    put_page(p)     # folio_put


# clear-under-waitqueue-lock, Linus Torvalds, 30 Sep 2024 (linux-fsdevel,
# "Known and unfixed active data loss bug in MM + XFS with large folios
# since Dec 2021"): "the basic reason for that loop ... is that the folio
# writeback bit is not atomic wrt the wakeup.  Maybe we could *make* it
# atomic, by simply taking the folio waitqueue lock before clearing the bit?
# (Only if it has the "waiters" bit set, of course!)"  Waiters then wait
# with an `if` (wait_loop is off for this variant).
#
# The mail is a sketch ("Handwavy"); what it leaves open is filled from 6.7:
#  - The test is folio_test_waiters(), a plain test_bit before any lock.
#  - Set: the bucket lock (folio_waitqueue(), the lock folio_wake_bit()
#    takes) is taken first, then 6.7's __folio_end_writeback() runs
#    unchanged inside it, so the i_pages lock nests inside the bucket lock
#    and is held only around the xor and the tag, as in 6.7; the walk and
#    the PG_waiters clean-up of folio_wake_bit() follow under the same hold,
#    and the lock is dropped only after them.  No path takes the bucket lock
#    under the i_pages lock in this variant, so the nesting cannot deadlock.
#    If the xor says the waiters went meanwhile (another waker cleared
#    PG_waiters), there is nobody to walk for, as in 6.7.
#  - Not set: exactly 6.7.  If PG_waiters is set between the test and the
#    clear (a waiter queues there), the xor reports it and folio_wake_bit()
#    runs after the clear, outside any lock held across it: the same window
#    as 6.7's, now with waiters that do not loop.  ewb_waiters_tested marks
#    the window between the test and the clear.
#  - folio_get()/folio_put() around it all, as 6.7.
cdef void folio_end_writeback_wq_locked(page *p) noexcept nogil:
    cdef wait_queue_head *q
    cdef int ret
    if not PageWriteback(p):
        pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, p, "folio_end_writeback", 0, 0)
    end_writeback_reclaim(p)
    get_page(p)     # folio_get
    if PageWaiters(p):
        q = page_waitqueue(p)
        spin_lock(&q.lock)
        ret = __folio_end_writeback(p)
        pc_race(RP_EWB_AFTER_CLEAR)     # bit clear, bucket lock held: no waiter can look
        if ret:
            __wake_up_page_bit_locked(q, p, PG_writeback, False)
        spin_unlock(&q.lock)
    else:
        pc_race(RP_EWB_WAITERS_TESTED)
        ret = __folio_end_writeback(p)
        pc_race(RP_EWB_AFTER_CLEAR)
        if ret:
            wake_up_page_bit(p, PG_writeback)     # folio_wake_bit
    put_page(p)     # folio_put


cdef void end_page_writeback(page *p) noexcept nogil:
    pc_touch_begin(p, p.pc_gen)
    if PC_INSTRUMENTED and <void *>p == smp_load_acquire_ptr(<void **>&WT.page):
        # one writer at a time ends a writeback of the page: not an RMW
        __atomic_store_ul(&WT.page_ends, __atomic_load_ul(&WT.page_ends) + 1)
    if V.end_wb == END_ORIGINAL:
        end_page_writeback_original(p)
    elif V.end_wb == END_GET_PUT:
        end_page_writeback_get_put(p)
    elif V.end_wb == END_GET_PUT_ON_WAITERS:
        end_page_writeback_get_put_on_waiters(p)
    elif V.end_wb == END_WAKE_UNDER_IPAGES:
        end_page_writeback_wake_under_ipages(p)
    elif V.end_wb == END_CMPXCHG_CLEAR:
        end_page_writeback_cmpxchg_clear(p)
    elif V.end_wb == END_FOLIO_WQ_LOCKED:
        folio_end_writeback_wq_locked(p)
    else:
        folio_end_writeback(p)
    pc_touch_end()


# wait_on_page_writeback(): `if` before c2407cf7d22d, `while` after it.
# "This is very non-optimal in case of contention, but since we only ever
# set the bit under the page lock, that situation is pretty unlikely."
#
# `if (PageWriteback) wait_on_page_bit` (5.9) and c2407cf7d22d's `while` are written as one
# loop that leaves after the first wait unless the variant loops: a page not under writeback
# then takes the very same instructions in every variant, as it does in the kernel, instead
# of one of two code paths selected by the variant (which measured 1.0 against 1.35 ns per
# call for identical work: a difference of code layout, not of the kernel).
#
# loop-break-on-mapping-change, Matthew Wilcox, 30 Sep 2024 (same thread):
# "Could we break out if folio->mapping has changed?  Clearly if it has,
# we're no longer waiting for the folio we thought we were waiting for".
# His sketch: folio_wait_writeback() passes folio->mapping, read once on
# entry, to __folio_wait_writeback(), which loops `while
# (folio_test_writeback(folio) && folio->mapping == mapping)`.  Filled: both
# reads of ->mapping are loads of the pointer with no lock and no barrier of
# their own (Davidlohr Bueso asked for READ_ONCE() in reply); the model
# loads it as it loads ->mapping everywhere (page_mapping(), an acquire load,
# a plain mov on x86).  The re-read comes after the writeback test, as
# written, so a waiter woken after truncation re-tests the bit first.
cdef inline void __wait_on_page_writeback(page *p) noexcept nogil:
    cdef address_space *mapping = NULL
    if V.wait_mapping_break:
        mapping = page_mapping(p)
    while PageWriteback(p):
        if V.wait_mapping_break and page_mapping(p) != mapping:
            if pc_wait_tracked():
                WT.mapping_breaks += 1
            return
        if pc_abort:
            return
        wait_on_page_bit(p, PG_writeback)
        if not V.wait_loop:
            return


# The tracked waiter's wait_on_page_writeback(): the same call, timed, its
# sleeps counted (see pc_wait_tracker).
cdef void wait_on_page_writeback_tracked(page *p) noexcept nogil:
    cdef int64_t t0 = pc_clock_ns()
    cdef unsigned long ends0 = __atomic_load_ul(&WT.page_ends)
    cdef unsigned long n
    WT.cur_sleeps = 0
    WT.in_wait = 1
    __wait_on_page_writeback(p)
    WT.in_wait = 0
    n = WT.cur_sleeps
    if n == 0:
        WT.immediate += 1
        return
    WT.waits += 1
    WT.resleeps += n - 1
    if n - 1 > WT.max_resleeps:
        WT.max_resleeps = n - 1
    if WT.nsamples < WT.cap:
        WT.wait_ns[WT.nsamples] = pc_clock_ns() - t0
        WT.ends_during[WT.nsamples] = __atomic_load_ul(&WT.page_ends) - ends0
        WT.nsamples += 1


cdef inline void wait_on_page_writeback(page *p) noexcept nogil:
    if pc_wait_tracked():
        wait_on_page_writeback_tracked(p)
    else:
        __wait_on_page_writeback(p)


# -------------------------------------------------------------------------
# The page cache: add, and truncation
# -------------------------------------------------------------------------

cdef void add_to_page_cache(page *p, address_space *mapping, unsigned long index) noexcept nogil:
    get_page(p)     # the page cache's reference
    spin_lock(&mapping.i_pages_lock)
    p.index = index
    smp_store_release_ptr(<void **>&p.mapping, mapping)
    mapping.nrpages += 1
    spin_unlock(&mapping.i_pages_lock)


# delete_from_page_cache(): under the i_pages lock, as the kernel does, then
# page_cache_free_page() drops the page cache's reference.
cdef void delete_from_page_cache(page *p) noexcept nogil:
    cdef address_space *mapping = page_mapping(p)
    cdef int tag
    if mapping == NULL:
        return
    spin_lock(&mapping.i_pages_lock)
    for tag in range(3):
        __xa_clear_mark(mapping, p, tag)
    smp_store_release_ptr(<void **>&p.mapping, NULL)
    mapping.nrpages -= 1
    spin_unlock(&mapping.i_pages_lock)
    put_page(p)


# truncate_inode_pages_range() for one page the caller found and holds a
# reference on (find_get_page): lock it, wait for writeback, remove it from
# the cache, unlock, and drop the caller's reference, the last one unless
# someone else holds one.
cdef void truncate_inode_page(page *p) noexcept nogil:
    lock_page(p)
    wait_on_page_writeback(p)
    delete_from_page_cache(p)
    unlock_page(p)
    pc_race(RP_TRUNCATE_BEFORE_FREE)
    put_page(p)


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
