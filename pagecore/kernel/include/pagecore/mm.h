/*
 * pagecore/kernel/include/pagecore/mm.h: the kernel a variant file is
 * written against.  struct page and struct folio, the page flags, the
 * mapping and its xarray marks, list.h, the wait queues and the hashed page
 * wait table, the page allocator's calls, and the prototypes of every
 * kernel function of the model, under the kernel's names and signatures,
 * so that mm/filemap.c and mm/page-writeback.c code reads here as it reads
 * there.  The primitives below it (atomic.h: bitops, atomics, barriers,
 * spinlocks, sleep and wake) carry the verification: each is a scheduling
 * point of the explorer, an event the instrumented build counts, and a
 * check for a touch of a freed page, so no variant file has to say so.
 *
 * The statistics that the start and the end of writeback keep under and
 * around their locks are vmstat.h's.  Left out, because no race or cost
 * studied here depends on them: psi and thrashing accounting, signals (but
 * for the watchdog's way out, signal_pending_state() below), compound pages
 * (a folio is one page), and the xarray's slots (struct xarray below holds a
 * flat array of pages; its marks are kept as the tree's nodes keep them).
 *
 * The flag layout is 5.10's unless the variant's header asks for 6.6's
 * (PAGECORE_PAGE_FLAGS_6_6, set by the build from "Page-flags: 6.6").
 */
#ifndef PAGECORE_MM_H
#define PAGECORE_MM_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "runtime.h"
#include "coro.h"

/* ------------------------------------------------------------------ */
/* compiler.h, bug.h                                                   */
/* ------------------------------------------------------------------ */

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define noinline __attribute__((noinline))
/*
 * A function of the model's kernel code written without `static` is one the
 * kernel calls from its other files, where no compiler inlines it: the
 * composer declares it noinline and opens its body with this count of one
 * call between the kernel's functions (`fcall`, instrumented build).  A
 * wrapper, whose body is one call of another function (mm/folio-compat.c's),
 * opens with PAGECORE_FENTRY_TAIL() instead: the compiler leaves it by a jump
 * into the function it wraps, so the call into it is a `tailcall`.
 */
#define PAGECORE_FENTRY() pc_ev(PC_EV_FCALL)
#define PAGECORE_FENTRY_TAIL() pc_ev(PC_EV_TAILCALL)
#define __read_mostly
#define EXPORT_SYMBOL(sym) extern int pc_export_##sym
#define EXPORT_SYMBOL_GPL(sym) EXPORT_SYMBOL(sym)
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/*
 * The kernel's assertions on the paths modelled here are those of the end
 * of writeback (BUG() when PG_writeback was not set, VM_BUG_ON_FOLIO()
 * likewise): the model records each as not_under_writeback, with the
 * function it fired in, and goes on, so that one run can count them.
 * CONFIG_DEBUG_VM is on: VM_BUG_ON*() test their condition.
 * pagecore_bug(kind) records any other kind (registry.def) by name.
 */
#define BUG() pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, NULL, __func__, 0, 0)
#define BUG_ON(cond)                                                           \
    do {                                                                       \
        if (unlikely(cond))                                                    \
            BUG();                                                             \
    } while (0)
#define VM_BUG_ON(cond) BUG_ON(cond)
#define VM_BUG_ON_PAGE(cond, page)                                             \
    do {                                                                       \
        if (unlikely(cond))                                                    \
            pc_bug(PC_BUG_NOT_UNDER_WRITEBACK, (page), __func__, 0, 0);        \
    } while (0)
#define VM_BUG_ON_FOLIO(cond, folio) VM_BUG_ON_PAGE((cond), &(folio)->page)
/* A warning is not a crash: the kernel goes on, and so does the model,
   recording nothing.  A variant that means "this must not happen" says
   BUG(). */
#define WARN_ON_ONCE(cond) (!!(cond))
#define WARN_ON(cond) WARN_ON_ONCE(cond)
#define pagecore_bug(kind, page) pc_bug(PC_BUG_##kind, (page), __func__, 0, 0)

/* Tracepoints: left out (and, as with a disabled tracepoint, their
   arguments are not evaluated). */
#define trace_wait_on_page_writeback(page, mapping) do { } while (0)
#define trace_folio_wait_writeback(folio, mapping) do { } while (0)

/*
 * A stretch of the source where the kernel itself races on plain accesses,
 * kept as the source has it: ThreadSanitizer (the sanitize build) does not
 * check the accesses between the two marks.
 */
#define pagecore_data_race_begin() pc_data_race_begin()
#define pagecore_data_race_end() pc_data_race_end()

/*
 * A named window of the source (registry.def), placed by a variant with a
 * line of its own: replay parks a task here, stress widens it.  The timed
 * build compiles it to nothing.
 */
#define pagecore_window(name) pc_race(RP_name_##name)

/* ------------------------------------------------------------------ */
/* Page flags                                                          */
/* ------------------------------------------------------------------ */

/*
 * PG_waiters must stay bit 7, the sign bit of the byte that holds
 * PG_locked: unlock_page() and folio_unlock() depend on it.  6.6 moved
 * PG_writeback to bit 1 and PG_dirty to bit 4, so that 6.7 clears
 * PG_writeback and learns PG_waiters in one byte operation.
 */
enum pageflags {
    PG_locked = 0,
    PG_uptodate = 2,
    PG_waiters = 7,
    PG_reclaim = 18,
#ifdef PAGECORE_VARIANT
#ifdef PAGECORE_PAGE_FLAGS_6_6
    PG_writeback = 1,
    PG_dirty = 4,
#else
    PG_writeback = 15,
    PG_dirty = 3,
#endif
#endif
};
#ifndef PAGECORE_VARIANT
/* The harness serves variants of both layouts: it reads the two bits from
   the loaded variant (struct pc_ops). */
static int pc_pg_writeback = 15, pc_pg_dirty = 3;
#define PG_writeback pc_pg_writeback
#define PG_dirty pc_pg_dirty
#endif

/* wait_queue_entry flags, include/linux/wait.h */
#define WQ_FLAG_EXCLUSIVE 0x01
#define WQ_FLAG_WOKEN 0x02
#define WQ_FLAG_BOOKMARK 0x04
#define WQ_FLAG_CUSTOM 0x08
#define WQ_FLAG_DONE 0x10

/* WAITQUEUE_WALK_BREAK_CNT, kernel/sched/wait.c (2554db916586) */
#define WAITQUEUE_WALK_BREAK_CNT 64

/* xarray marks */
typedef unsigned int xa_mark_t;
#define PAGECACHE_TAG_DIRTY 0u
#define PAGECACHE_TAG_WRITEBACK 1u
#define PAGECACHE_TAG_TOWRITE 2u
#define XA_MAX_MARKS 3

#define POISON_POINTER_DELTA 0xdead000000000000UL
#define PAGE_POISON_MAPPING 0xdead000000000400UL

/* sysctl_page_lock_unfairness, 5ef64cc8987a */
PC_SHARED int sysctl_page_lock_unfairness PC_INIT(5);

/* ------------------------------------------------------------------ */
/* list.h                                                              */
/* ------------------------------------------------------------------ */

struct list_head {
    struct list_head *next, *prev;
};

/*
 * The stores and lock-free loads of list links are marked (WRITE_ONCE,
 * READ_ONCE) as in include/linux/list.h: waiters look at their own entry
 * without the queue lock while a waker unlinks it or its neighbours.
 */
static inline void INIT_LIST_HEAD(struct list_head *list)
{
    WRITE_ONCE(list->next, list);
    WRITE_ONCE(list->prev, list);
}

static inline int list_empty(const struct list_head *head)
{
    return smp_load_acquire(&head->next) == head;
}

/* Used by finish_wait() without the queue lock: pairs with the
   smp_store_release() in list_del_init_careful(). */
static inline int list_empty_careful(const struct list_head *head)
{
    struct list_head *next = smp_load_acquire(&head->next);
    return next == head && next == READ_ONCE(head->prev);
}

static inline void __list_add(struct list_head *new, struct list_head *prev,
                              struct list_head *next)
{
    WRITE_ONCE(next->prev, new);
    new->next = next;
    new->prev = prev;
    WRITE_ONCE(prev->next, new);
}

static inline void list_add_tail(struct list_head *new, struct list_head *head)
{
    __list_add(new, head->prev, head);
}

static inline void __list_del(struct list_head *prev, struct list_head *next)
{
    WRITE_ONCE(next->prev, prev);
    WRITE_ONCE(prev->next, next);
}

#define LIST_POISON1 ((void *)0x100 + POISON_POINTER_DELTA)
#define LIST_POISON2 ((void *)0x122 + POISON_POINTER_DELTA)

static inline void list_del(struct list_head *entry)
{
    __list_del(entry->prev, entry->next);
    entry->next = LIST_POISON1;
    entry->prev = LIST_POISON2;
}

static inline void list_add(struct list_head *new, struct list_head *head)
{
    __list_add(new, head, head->next);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_next_entry(pos, member) list_entry((pos)->member.next, typeof(*(pos)), member)
#define list_entry_is_head(pos, head, member) (&pos->member == (head))
#define list_for_each_entry_safe_from(pos, n, head, member)                   \
    for (n = list_next_entry(pos, member);                                     \
         !list_entry_is_head(pos, head, member);                               \
         pos = n, n = list_next_entry(n, member))

static inline void list_del_init(struct list_head *entry)
{
    __list_del(entry->prev, entry->next);
    INIT_LIST_HEAD(entry);
}

/* The waiter may free its on-stack entry as soon as it sees it empty, so
   the empty state is published last, with release order (c6fe44d96fc1). */
static inline void list_del_init_careful(struct list_head *entry)
{
    __list_del(entry->prev, entry->next);
    WRITE_ONCE(entry->prev, entry);
    smp_store_release(&entry->next, entry);
}

/* ------------------------------------------------------------------ */
/* struct page, struct folio, the mapping                              */
/* ------------------------------------------------------------------ */

/*
 * The xarray of a mapping, reduced to what the paths modelled here use: the
 * i_pages lock (xa_lock), the page at each index (a flat array), and the
 * marks as the kernel's tree holds them: a node per 64 slots, a bitmap per
 * mark on the node's line, a node per 64 nodes above, up to one at the top,
 * and the root's flags (pagecore/vmstat.h, __xa_set_mark()).  Indices run
 * from 0 to xa_nslots - 1; the harness sizes xa_slots to the page pool and
 * the tree to the slots (pc_mapping_init()).
 */
#define XA_CHUNK_SHIFT 6
#define XA_CHUNK_SIZE (1UL << XA_CHUNK_SHIFT)
#define XA_MAX_LEVELS 8

struct xa_node {
    unsigned long marks[XA_MAX_MARKS];
} __attribute__((aligned(64)));

struct page;
struct inode;
struct xarray {
    spinlock_t xa_lock;
    unsigned int xa_flags;          /* XA_FLAGS_MARK(m): some entry carries mark m */
    struct page **xa_slots;
    unsigned long xa_nslots;
    struct xa_node *xa_nodes;       /* the leaves first, then each level above */
    int xa_levels;
    unsigned long xa_level_start[XA_MAX_LEVELS];
};

struct address_space {
    struct xarray i_pages;
    int use_writeback_tags;         /* mapping_use_writeback_tags(): not for swap */
    long nrpages;
    spinlock_t private_lock;        /* the buffer lists (the dirty path) */
    spinlock_t i_mmap_lock;         /* the vmas that map it (2.6.19's name) */
    struct inode *host;             /* the file's inode (pc_mapping_init()) */
    int id;                         /* model: index among the mappings */
};

/*
 * Kept to 64 bytes and aligned like the kernel's struct page, so that the
 * pages of the pool hash over the wait table as real struct pages do.
 */
#define PC_PAGE_FIELDS                                                         \
    unsigned long flags;                                                       \
    atomic_t _refcount;                                                        \
    unsigned int pc_gen;            /* model: allocation generation */         \
    struct address_space *mapping;                                             \
    unsigned long index;                                                       \
    int pc_free;                    /* model: on the free list */              \
    int pc_id;                      /* model: index in the pool */             \
    struct page *pc_next_free;      /* model: free list link */                \
    unsigned long private;          /* buffer heads (the dirty path) */        \
    union {                         /* the memory cgroup charged (5.10; 6.7) */ \
        struct mem_cgroup *mem_cgroup;                                         \
        unsigned long memcg_data;                                              \
    };

struct page {
    PC_PAGE_FIELDS
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct page) == 64, "struct page is a line, as the kernel's is");

/* A folio is one page here: the same storage under the folio's names. */
struct folio {
    union {
        struct {
            PC_PAGE_FIELDS
        };
        struct page page;
    };
};

#define page_folio(p) ((struct folio *)(p))
#define folio_page(folio, n) (&(folio)->page)
#define compound_head(page) (page)
#define folio_nr_pages(folio) 1L

/* ------------------------------------------------------------------ */
/* Page and folio flag helpers (include/linux/page-flags.h)            */
/* ------------------------------------------------------------------ */

#define PageLocked(page) test_bit(PG_locked, &(page)->flags)
#define PageWriteback(page) test_bit(PG_writeback, &(page)->flags)
#define PageWaiters(page) test_bit(PG_waiters, &(page)->flags)
#define PageDirty(page) test_bit(PG_dirty, &(page)->flags)
#define PageReclaim(page) test_bit(PG_reclaim, &(page)->flags)
#define PageUptodate(page) test_bit(PG_uptodate, &(page)->flags)
#define SetPageWaiters(page) set_bit(PG_waiters, &(page)->flags)
#define ClearPageWaiters(page) clear_bit(PG_waiters, &(page)->flags)
#define SetPageReclaim(page) set_bit(PG_reclaim, &(page)->flags)
#define ClearPageReclaim(page) clear_bit(PG_reclaim, &(page)->flags)
#define TestSetPageWriteback(page) test_and_set_bit(PG_writeback, &(page)->flags)
#define TestClearPageWriteback(page) test_and_clear_bit(PG_writeback, &(page)->flags)
#define TestSetPageDirty(page) test_and_set_bit(PG_dirty, &(page)->flags)
#define TestClearPageDirty(page) test_and_clear_bit(PG_dirty, &(page)->flags)

#define folio_test_locked(folio) PageLocked(folio)
#define folio_test_writeback(folio) PageWriteback(folio)
#define folio_test_waiters(folio) PageWaiters(folio)
#define folio_test_dirty(folio) PageDirty(folio)
#define folio_test_reclaim(folio) PageReclaim(folio)
#define folio_set_waiters(folio) SetPageWaiters(folio)
#define folio_clear_waiters(folio) ClearPageWaiters(folio)
#define folio_clear_reclaim(folio) ClearPageReclaim(folio)
#define folio_test_set_writeback(folio) TestSetPageWriteback(folio)

/*
 * folio_xor_flags_has_waiters() (6.6): flip @mask's bits, all in the low
 * byte, with release order; true if PG_waiters was set.  "This must only be
 * used for flags which are changed with the folio lock held" (the mail of
 * 30 Sep 2024 argues the end of writeback still qualifies: PG_writeback is
 * set under the folio lock and cannot be cleared before it was set).
 */
#define folio_xor_flags_has_waiters(folio, mask)                               \
    xor_unlock_is_negative_byte((mask), &(folio)->flags)

/* rotate_reclaimable_page(): the LRU is left out */
#define rotate_reclaimable_page(page) ((void)(page))
#define folio_rotate_reclaimable(folio) ((void)(folio))
#define acct_reclaim_writeback(folio) ((void)(folio))

/* ------------------------------------------------------------------ */
/* The mapping                                                         */
/* ------------------------------------------------------------------ */

static inline struct address_space *page_mapping(struct page *page)
{
    return smp_load_acquire(&page->mapping);
}
#define folio_mapping(folio) page_mapping(&(folio)->page)
#define page_index(page) ((page)->index)
#define folio_index(folio) ((folio)->index)

static inline int mapping_use_writeback_tags(struct address_space *mapping)
{
    return mapping->use_writeback_tags;
}

/*
 * How long a lock is held, and what runs inside the hold.  The hashchain
 * suite's ipages_hold and bucket_hold ask it of one end of writeback: while
 * pc_lock_hold.on names a class of lock (the mapping's i_pages lock, or a
 * bucket of the page wait table), each hold of a lock of that class is
 * timed from just inside the lock to just before its unlock, and in the
 * instrumented build the events counted inside the hold are the region's
 * (pagecore/team.h).  Otherwise this costs one well-predicted branch per
 * lock and unlock of those locks, in every variant alike.
 */
enum pc_hold_class {
    PC_HOLD_NONE,
    PC_HOLD_I_PAGES,        /* xa_lock(&mapping->i_pages) */
    PC_HOLD_BUCKET,         /* a page_waitqueue()'s lock */
    PC_HOLD_OTHER,          /* an irq-safe spinlock to classify by its address */
};
struct pc_lock_hold {
    int on;                 /* the class timed now, PC_HOLD_NONE when off */
    int depth;
    int64_t t0;
    int64_t ns;
    long holds;
};
PC_SHARED struct pc_lock_hold pc_lock_hold;
#define pc_lock_hold_begin PC_SYM(pc_lock_hold_begin)
#define pc_lock_hold_end PC_SYM(pc_lock_hold_end)
PC_SHARED_FN void pc_lock_hold_begin(int cls, const void *lock);
PC_SHARED_FN void pc_lock_hold_end(int cls, const void *lock);

static inline void xa_lock(struct xarray *xa)
{
    spin_lock(&xa->xa_lock);
    if (unlikely(READ_ONCE(pc_lock_hold.on)))
        pc_lock_hold_begin(PC_HOLD_I_PAGES, &xa->xa_lock);
}

static inline void xa_unlock(struct xarray *xa)
{
    if (unlikely(READ_ONCE(pc_lock_hold.on)))
        pc_lock_hold_end(PC_HOLD_I_PAGES, &xa->xa_lock);
    spin_unlock(&xa->xa_lock);
}

/*
 * The kernel takes the wait table's bucket locks (and the other locks an
 * interrupt may want) with the irq-saving forms; the model cannot mask
 * interrupts, so these are the spinlock itself, with the hold timer's hook
 * (which tells a bucket from the rest by its address).
 */
static inline void pc_spin_lock_irq(spinlock_t *lock)
{
    spin_lock(lock);
    if (unlikely(READ_ONCE(pc_lock_hold.on)))
        pc_lock_hold_begin(PC_HOLD_OTHER, lock);
}

static inline void pc_spin_unlock_irq(spinlock_t *lock)
{
    if (unlikely(READ_ONCE(pc_lock_hold.on)))
        pc_lock_hold_end(PC_HOLD_OTHER, lock);
    spin_unlock(lock);
}
#define xa_lock_irqsave(xa, flags) ((void)(flags), xa_lock(xa))
#define xa_unlock_irqrestore(xa, flags) ((void)(flags), xa_unlock(xa))
#define xa_lock_irq(xa) xa_lock(xa)
#define xa_unlock_irq(xa) xa_unlock(xa)
#define spin_lock_irqsave(lock, flags) ((void)(flags), pc_spin_lock_irq(lock))
#define spin_unlock_irqrestore(lock, flags) ((void)(flags), pc_spin_unlock_irq(lock))
#define spin_lock_irq(lock) pc_spin_lock_irq(lock)
#define spin_unlock_irq(lock) pc_spin_unlock_irq(lock)

/* xa_load() under the lock, __xa_store() of a page or NULL */
static inline struct page *xa_load(struct xarray *xa, unsigned long index)
{
    return index < xa->xa_nslots ? READ_ONCE(xa->xa_slots[index]) : NULL;
}

static inline void __xa_store(struct xarray *xa, unsigned long index, struct page *page)
{
    if (index < xa->xa_nslots)
        WRITE_ONCE(xa->xa_slots[index], page);
}

/* The statistics and the xarray's marks. */
#include "vmstat.h"

/* ------------------------------------------------------------------ */
/* Wait queues                                                         */
/* ------------------------------------------------------------------ */

struct wait_queue_entry;
typedef int (*wait_queue_func_t)(struct wait_queue_entry *wq_entry, unsigned mode, int flags,
                                 void *key);

/* The list link is the first member, as the model has always laid it out. */
typedef struct wait_queue_entry {
    struct list_head entry;
    unsigned int flags;
    void *private;
    wait_queue_func_t func;
} wait_queue_entry_t;

typedef struct wait_queue_head {
    spinlock_t lock;
    struct list_head head;
} wait_queue_head_t;

struct wait_page_queue {
    wait_queue_entry_t wait;
    struct page *page;
    int bit_nr;
};

struct wait_page_key {
    struct page *page;
    int bit_nr;
    int page_match;
};

/*
 * A choice of three behaviors for wait_on_page_bit_common():
 *   EXCLUSIVE: hold ref to page and take the bit when woken, like
 *              __lock_page() waiting on then setting PG_locked.
 *   SHARED: hold ref to page and check the bit when woken, like
 *           wait_on_page_writeback() waiting on PG_writeback.
 *   DROP: drop ref to page before wait, no check when woken,
 *         like put_and_wait_on_page_locked() on PG_locked.
 */
enum behavior {
    EXCLUSIVE,
    SHARED,
    DROP,
};

/* try_to_wake_up() of the entry's task */
static inline int default_wake_function(wait_queue_entry_t *curr, unsigned mode, int wake_flags,
                                        void *key)
{
    (void)wake_flags;
    (void)key;
    return wake_up_state(curr->private, mode);
}

#define init_wait(wait)                                                        \
    do {                                                                       \
        (wait)->private = current;                                             \
        (wait)->func = autoremove_wake_function;                               \
        INIT_LIST_HEAD(&(wait)->entry);                                        \
        (wait)->flags = 0;                                                     \
    } while (0)

static inline int waitqueue_active(struct wait_queue_head *wq_head)
{
    return !list_empty(&wq_head->head);
}

static inline bool wake_page_match(struct wait_page_queue *wait_page, struct wait_page_key *key)
{
    if (wait_page->page != key->page)
        return false;
    key->page_match = 1;

    if (wait_page->bit_nr != key->bit_nr)
        return false;

    return true;
}

/* The waiter's own entry is noted in its task, for the watchdog. */
static inline void __add_wait_queue_entry_tail(struct wait_queue_head *wq_head,
                                               struct wait_queue_entry *wq_entry)
{
    list_add_tail(&wq_entry->entry, &wq_head->head);
    if (wq_entry->private == pc_current_task && pc_current_task)
        pc_current_task->pc_wait_entry = wq_entry;
}

/* ------------------------------------------------------------------ */
/* The page wait table (mm/filemap.c)                                  */
/* ------------------------------------------------------------------ */

/*
 * In order to wait for pages to become available there must be waitqueues
 * associated with pages.  By using a hash table of waitqueues where the
 * bucket discipline is to maintain all waiters on the same queue and wake
 * all when any of the pages becomes available, and for the woken contexts
 * to check to be sure the appropriate page became available, this saves
 * space at a cost of "thundering herd" phenomena during rare hash
 * collisions.  (The kernel's comment.  PAGE_WAIT_TABLE_BITS is 8 there;
 * here it is a parameter of the run, so the hashchain suite can vary it.)
 */
PC_SHARED int PAGE_WAIT_TABLE_BITS PC_INIT(8);
PC_SHARED wait_queue_head_t *page_wait_table;
#define GOLDEN_RATIO_64 0x61C8864680B583EBull

static inline unsigned long hash_ptr(const void *ptr, int bits)
{
    return (unsigned long)(((uint64_t)(uintptr_t)ptr * GOLDEN_RATIO_64) >> (64 - bits));
}

/*
 * The hashchain loops' colliding entries (private NULL: no task waits on
 * them) can be evicted from the caches before the timed operation: while
 * pc_chain_cold is set, each one a walk visits is a line loaded from
 * memory, counted as `cold` beside `walked` (instrumented build).
 */
PC_SHARED int pc_chain_cold;

static inline void pc_walk_entry(const wait_queue_entry_t *curr)
{
    pc_ev(PC_EV_WALKED);
    if (PC_INSTRUMENTED && unlikely(READ_ONCE(pc_chain_cold)) && !READ_ONCE(curr->private))
        pc_ev(PC_EV_COLD);
}

static inline wait_queue_head_t *page_waitqueue(struct page *page)
{
    return &page_wait_table[hash_ptr(page, PAGE_WAIT_TABLE_BITS)];
}
#define folio_waitqueue(folio) page_waitqueue(&(folio)->page)

/*
 * 6.7's folio_wait_bit_common() takes the same steps as 5.9's
 * wait_on_page_bit_common() (the library's) under folio names; a variant
 * that changes it defines wait_on_page_bit_common().
 */
#define folio_wait_bit_common(folio, bit_nr, state, behavior)                  \
    wait_on_page_bit_common(folio_waitqueue(folio), &(folio)->page, (bit_nr), (state), \
                            (behavior))

/*
 * The watchdog's way out.  A racy variant can lose a wakeup, and a task
 * asleep in TASK_UNINTERRUPTIBLE would then never return.  The watchdog
 * sets pc_abort (or the task's sigkill); a task that sees it at a sleep,
 * or where the kernel asks signal_pending_state(), leaves the model: its
 * wait entry is taken off its queue and it returns from the call that
 * entered the model, if that call said where (pc_unwind), so that a
 * `while (PageWriteback)` loop of the variant does not spin instead of
 * sleeping.  With no pc_unwind (the explorer, whose tasks never need it)
 * the wait just reports a pending signal.
 */
PC_SHARED_FN void pc_wait_unwind(struct task_struct *t);

static inline int pc_aborting(struct task_struct *t)
{
    return READ_ONCE(pc_abort) || READ_ONCE(t->sigkill);
}

static inline int signal_pending_state(int state, struct task_struct *p)
{
    (void)state;
    if (unlikely(pc_aborting(p))) {
        pc_wait_unwind(p);
        return 1;
    }
    return 0;
}
#define fatal_signal_pending(p) signal_pending_state(TASK_UNINTERRUPTIBLE, (p))

/* ------------------------------------------------------------------ */
/* io_schedule(): the sleep, and what the model notes about a sleeper  */
/* ------------------------------------------------------------------ */

/*
 * Liveness (writeback-starvation), instrumented build: one task is tracked,
 * a slow waiter such as a cgroup-throttled thread that runs only every
 * throttle_ns.  Each time it comes back from a sleep it pauses throttle_ns
 * before it looks at anything again; the harness times each of its
 * wait_on_page_writeback() calls and counts their sleeps: a sleep after
 * the first of one wait is a wake that found the page under writeback
 * again (the `while` of c2407cf7d22d, or the pre-5.8 waiter's re-queue).
 * end_page_writeback() of the tracked page adds to page_ends, the writers'
 * progress.  pid and page are set (release) while other tasks run, and
 * read by every task (acquire); the rest is written by the tracked task
 * alone.  The timed build compiles all of this out.
 */
struct pc_wait_tracker {
    int pid;                        /* the tracked task; 0: none */
    long throttle_ns;               /* its pause between being woken and looking again */
    struct page *page;              /* the page whose completed writebacks are counted */
    unsigned long page_ends;        /* end_page_writeback()s of that page so far */
    int in_wait;                    /* inside wait_on_page_writeback() */
    unsigned long cur_sleeps;       /* sleeps of the wait in progress */
    unsigned long waits;            /* waits that slept at least once */
    unsigned long immediate;        /* waits that found PG_writeback clear */
    unsigned long wakes;            /* returns from io_schedule() */
    unsigned long resleeps;         /* woken, and slept again within the same wait */
    unsigned long max_resleeps;     /* the most of one wait */
    unsigned long mapping_breaks;   /* waits left, bit set, because ->mapping changed */
    long cap;                       /* samples: wait_ns[i], ends_during[i] */
    long nsamples;
    int64_t *wait_ns;
    unsigned long *ends_during;
};
PC_SHARED struct pc_wait_tracker pc_wt;

static inline int pc_wait_tracked(void)
{
    int pid;

    if (!PC_INSTRUMENTED)
        return 0;
    pid = __atomic_load_n(&pc_wt.pid, __ATOMIC_ACQUIRE);
    return pid != 0 && current->pid == pid;
}

/*
 * io_schedule() for a task that set its state.  Before it sleeps it notes,
 * for the watchdog and for replay, the kernel function it sleeps in and the
 * page and bit of the entry it queued.  A coroutine (a queued waiter of
 * the timed loops, pc_coro) hands the CPU back instead of sleeping, until
 * a waker has made it runnable.  After the sleep: the named window
 * wait_after_schedule, and the tracked slow waiter's pause.
 */
#define io_schedule() pc_io_schedule(__func__)
static void pc_io_schedule(const char *where)
{
    struct task_struct *t = current;
    struct wait_page_queue *w = (struct wait_page_queue *)t->pc_wait_entry;

    if (t->pc_coro) {
        while (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != TASK_RUNNING)
            pc_coro_yield((struct pc_coro *)t->pc_coro);
        return;
    }
    if (unlikely(pc_aborting(t)))
        pc_wait_unwind(t);
    pc_task_where(where, w ? (const void *)w->page : NULL, w ? w->bit_nr : -1);
    if (pc_wait_tracked() && pc_wt.in_wait)
        pc_wt.cur_sleeps++;
    pc_schedule();
    pc_task_where(NULL, NULL, -1);
    pagecore_window(wait_after_schedule);
    if (pc_wait_tracked()) {
        pc_wt.wakes++;
        if (pc_wt.throttle_ns > 0)
            pc_delay_ns(pc_wt.throttle_ns);
    }
}

/* ------------------------------------------------------------------ */
/* The page allocator and references                                   */
/* ------------------------------------------------------------------ */

/*
 * alloc_page() and __free_page() are the harness's (a pool of struct pages
 * and a LIFO free list, so that a page just freed is the next one handed
 * out: reuse is immediate, as with the per-cpu free lists; freed pages are
 * poisoned and carry a new generation when reallocated, so that a touch of
 * a stale page is observable).
 */
PC_SHARED_FN struct page *alloc_page(void);
PC_SHARED_FN void __free_page(struct page *page);

static inline void get_page(struct page *page)
{
    atomic_inc(&page->_refcount);
}

static inline void put_page(struct page *page)
{
    if (atomic_dec_and_test(&page->_refcount))
        __free_page(page);
}
#define folio_get(folio) get_page(&(folio)->page)
#define folio_put(folio) put_page(&(folio)->page)

/* ------------------------------------------------------------------ */
/* The kernel functions of the model                                   */
/* ------------------------------------------------------------------ */

/* The dirty path's buffers, mappings and PTEs. */
#include "dirty.h"

/*
 * The kernel functions the harness calls (ops.def), and those the library
 * defines that a variant may call or replace.  In a variant these are its
 * own, its base's or the library's; in the harness each is a call through
 * the loaded variant's table (ops.h).
 */
#include "ops.h"

/* include/linux/page-flags.h */
#define set_page_writeback(page) __test_set_page_writeback((page), false)

#ifdef PAGECORE_VARIANT
#define PC_OP(ret, name, params, args) ret name params;
#define PC_OPV(name, params, args) void name params;
#include "ops.def"

/* kernel/sched/wait.c */
int __wake_up_common(struct wait_queue_head *wq_head, unsigned int mode, int nr_exclusive,
                     int wake_flags, void *key, wait_queue_entry_t *bookmark);
void __wake_up_locked_key_bookmark(struct wait_queue_head *wq_head, unsigned int mode,
                                   void *key, wait_queue_entry_t *bookmark);
void __wake_up_locked_key(struct wait_queue_head *wq_head, unsigned int mode, void *key);
int autoremove_wake_function(struct wait_queue_entry *wq_entry, unsigned mode, int sync,
                             void *key);
void finish_wait(struct wait_queue_head *wq_head, struct wait_queue_entry *wq_entry);
/* mm/filemap.c */
int wait_on_page_bit_common(wait_queue_head_t *q, struct page *page, int bit_nr, int state,
                            enum behavior behavior);
void wake_up_page(struct page *page, int bit);
/* mm/page-writeback.c */
int test_clear_page_writeback(struct page *page);
#endif /* PAGECORE_VARIANT */

#endif /* PAGECORE_MM_H */
