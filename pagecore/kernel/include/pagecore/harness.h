/*
 * pagecore/kernel/include/pagecore/harness.h: what the harness (the Cython
 * module) defines around the variants it loads: the page allocator, the
 * watchdog's way out of a sleep, the lock hold timer, the loader of a
 * variant's shared object, the queued waiters of the timed loops, and the
 * harness's own wrappers of end_page_writeback() and
 * wait_on_page_writeback().  Never included by a variant.
 */
#ifndef PAGECORE_HARNESS_H
#define PAGECORE_HARNESS_H

#ifdef PAGECORE_VARIANT
#error "harness.h is the harness's, not a variant's"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include "mm.h"
#include "team.h"

/* ------------------------------------------------------------------ */
/* The page allocator                                                  */
/* ------------------------------------------------------------------ */

struct pc_allocator {
    spinlock_t lock;
    struct page *free_list;
    long nr_free;
    struct page *pages;
    long npages;
};
static struct pc_allocator pc_zone;

PC_SHARED_FN struct page *alloc_page(void)
{
    struct page *p;

    spin_lock(&pc_zone.lock);
    p = pc_zone.free_list;
    if (p) {
        pc_zone.free_list = p->pc_next_free;
        pc_zone.nr_free--;
    }
    spin_unlock(&pc_zone.lock);
    if (!p)
        return NULL;
    /* The new owner's first writes to every field: a step of its own for
       the explorer, writing the whole struct page. */
    pc_sched(PCX_PAGE_INIT, p, 0);
    p->pc_next_free = NULL;
    /* Already NULL since __free_page(); a stale end_page_writeback may read
       it (page_mapping(), an acquire load) at any time. */
    WRITE_ONCE(p->mapping, NULL);
    p->index = 0;
    WRITE_ONCE(p->mem_cgroup, NULL);
    p->private = 0;
    __atomic_store_n(&p->pc_gen, p->pc_gen + 1, __ATOMIC_RELAXED);
    WRITE_ONCE(p->flags, 0);
    atomic_set(&p->_refcount, 1);
    __atomic_store_n(&p->pc_free, 0, __ATOMIC_RELAXED);
    return p;
}

/*
 * free_pages_prepare(): a page freed with PG_locked or PG_writeback set is
 * a "bad page"; the flags are cleared whatever they were.  ->mapping is NULL
 * on a free page, as the kernel requires: a racy variant can still end
 * writeback on a page truncation freed too early, and that end must find no
 * mapping (and report PG_writeback clear), not dereference a poison value.
 */
PC_SHARED_FN void __free_page(struct page *p)
{
    unsigned long flags = READ_ONCE(p->flags);

    /* what follows writes every field, some of them plainly */
    pc_x_access(p, sizeof(*p), 1);
    if (flags & ((1UL << PG_locked) | (1UL << PG_writeback)))
        pc_bug(PC_BUG_BAD_PAGE, p, "__free_page", flags, 0);
    WRITE_ONCE(p->flags, 0);
    smp_store_release(&p->mapping, NULL);
    p->index = POISON_POINTER_DELTA;
    WRITE_ONCE(p->mem_cgroup, NULL);    /* mem_cgroup_uncharge() */
    __atomic_store_n(&p->pc_free, 1, __ATOMIC_RELAXED);
    spin_lock(&pc_zone.lock);
    p->pc_next_free = pc_zone.free_list;
    pc_zone.free_list = p;
    pc_zone.nr_free++;
    spin_unlock(&pc_zone.lock);
}

/* ------------------------------------------------------------------ */
/* The statistics' machine (pagecore/vmstat.h)                         */
/* ------------------------------------------------------------------ */

PC_SHARED struct pc_vm pc_vm __attribute__((aligned(64)));
PC_SHARED unsigned int pc_vm_gen;
PC_SHARED int pc_chain_cold;

/* fls(): the position of the highest set bit, 1-based; 0 for 0. */
static inline int pc_fls(unsigned long x)
{
    return x ? (int)(8 * sizeof(long)) - __builtin_clzl(x) : 0;
}

/*
 * calculate_normal_threshold() (mm/vmstat.c) for a zone of this machine's
 * memory: "The threshold scales with the number of processors and the
 * amount of memory per zone."
 */
static int pc_stat_threshold(int cpus)
{
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    unsigned long mem;      /* memory in 128 MB units */
    int threshold;

    if (pages <= 0 || page_size <= 0)
        pages = 1L << 18, page_size = 4096;
    mem = (unsigned long)pages / ((128UL << 20) / (unsigned long)page_size);
    threshold = 2 * pc_fls((unsigned long)cpus) * (1 + pc_fls(mem));
    return threshold < 125 ? threshold : 125;
}

/*
 * A fresh machine: every total zero, every lock free, the per-CPU objects
 * at their places in each task's area (which each task sets up again at its
 * next per-CPU access: pc_vm_gen).  No task may be inside the model.
 */
static void pc_vm_reset(void)
{
    struct pc_vm *vm = &pc_vm;
    struct bdi_writeback *wb = &vm->bdi.wb;
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    int i;

    memset(vm, 0, sizeof(*vm));
    vm->cpus = cpus > 0 ? (int)cpus : 1;
    vm->counter_batch = vm->cpus * 2 > 32 ? vm->cpus * 2 : 32;
    vm->stat_threshold = pc_stat_threshold(vm->cpus);
    vm->node.node_zones[0].pageset = (struct per_cpu_pageset *)PC_PERCPU_ZONE;
    vm->node.per_cpu_nodestats = (struct per_cpu_nodestat *)PC_PERCPU_NODE;
    vm->root_cgroup.rstat_cpu = (struct cgroup_rstat_cpu *)(PC_PERCPU_RSTAT + 8);
    vm->root_memcg.css.cgroup = &vm->root_cgroup;
    vm->root_memcg.vmstats_percpu = (struct memcg_vmstats_percpu *)PC_PERCPU_MEMCG;
    vm->root_memcg.vmstats_local = (struct memcg_vmstats_percpu *)PC_PERCPU_MEMCG_LOCAL;
    vm->root_memcg.nodeinfo[0] = &vm->root_nodeinfo;
    spin_lock_init(&vm->root_memcg.move_lock);
    vm->root_nodeinfo.memcg = &vm->root_memcg;
    vm->root_nodeinfo.lruvec.pgdat = &vm->node;
    vm->root_nodeinfo.lruvec_stat_local = (struct lruvec_stat *)PC_PERCPU_LRUVEC;
    vm->root_nodeinfo.lruvec_stat_cpu = (struct lruvec_stat *)PC_PERCPU_LRUVEC_CPU;
    vm->root_nodeinfo.lruvec_stats_percpu = (struct lruvec_stats_percpu *)PC_PERCPU_LRUVEC;
    /* the bdi_writeback's counters, then the two writeout proportions' */
    vm->bdi.capabilities = BDI_CAP_WRITEBACK_ACCT;
    vm->bdi.max_prop_frac = FPROP_FRAC_BASE;
    wb->bdi = &vm->bdi;
    wb->state = 1UL << WB_registered;
    for (i = 0; i < NR_WB_STAT_ITEMS; i++) {
        spin_lock_init(&wb->stat[i].lock);
        wb->stat[i].counters = (s32 *)(PC_PERCPU_COUNTERS + 4 * i);
    }
    spin_lock_init(&wb->completions.lock);
    spin_lock_init(&wb->completions.events.lock);
    wb->completions.events.counters = (s32 *)(PC_PERCPU_COUNTERS + 4 * NR_WB_STAT_ITEMS);
    spin_lock_init(&wb->work_lock);
    spin_lock_init(&vm->global_domain.completions.events.lock);
    vm->global_domain.completions.events.counters =
        (s32 *)(PC_PERCPU_COUNTERS + 4 * NR_WB_STAT_ITEMS + 4);
    /* the writeout period runs: wb_domain_writeout_inc() finds it set */
    vm->global_domain.period_time = 1;
    spin_lock_init(&vm->sb.s_inode_wblist_lock);
    INIT_LIST_HEAD(&vm->sb.s_inodes_wb);
    __atomic_add_fetch(&pc_vm_gen, 1, __ATOMIC_SEQ_CST);
}

/* A task's per-CPU area for the machine as reset last (see pc_vm_gen). */
PC_SHARED_FN void pc_percpu_init(struct task_struct *t)
{
    struct per_cpu_pageset *zone;
    struct per_cpu_nodestat *node;

    memset(t->pc_percpu, 0, sizeof(t->pc_percpu));
    zone = (struct per_cpu_pageset *)(t->pc_percpu + PC_PERCPU_ZONE);
    node = (struct per_cpu_nodestat *)(t->pc_percpu + PC_PERCPU_NODE);
    zone->stat_threshold = (s8)pc_vm.stat_threshold;
    node->stat_threshold = (s8)pc_vm.stat_threshold;
    /* the root cgroup has been updated on this CPU since the last flush:
       it is on the CPU's updated tree already (cgroup_rstat_updated()) */
    ((struct cgroup_rstat_cpu *)(t->pc_percpu + PC_PERCPU_RSTAT + 8))->updated_next =
        &pc_vm.root_cgroup;
    t->pc_percpu_gen = __atomic_load_n(&pc_vm_gen, __ATOMIC_RELAXED);
}

/*
 * A mapping's xarray (@nslots slots, and the tree of marks over them) and
 * its inode on the machine's superblock; -1 if out of memory.
 */
static int pc_mapping_init(struct address_space *m, struct inode *inode, unsigned long nslots,
                           int id)
{
    unsigned long n = nslots ? nslots : 1, nodes = 0;
    int level = 0;

    memset(m, 0, sizeof(*m));
    spin_lock_init(&m->i_pages.xa_lock);
    spin_lock_init(&m->private_lock);
    spin_lock_init(&m->i_mmap_lock);
    do {
        n = (n + XA_CHUNK_SIZE - 1) >> XA_CHUNK_SHIFT;
        if (level == XA_MAX_LEVELS)
            return -1;
        m->i_pages.xa_level_start[level++] = nodes;
        nodes += n;
    } while (n > 1);
    m->i_pages.xa_levels = level;
    m->i_pages.xa_slots = calloc(nslots ? nslots : 1, sizeof(struct page *));
    if (posix_memalign((void **)&m->i_pages.xa_nodes, 64, nodes * sizeof(struct xa_node)) != 0)
        m->i_pages.xa_nodes = NULL;
    if (!m->i_pages.xa_slots || !m->i_pages.xa_nodes) {
        free(m->i_pages.xa_slots);
        free(m->i_pages.xa_nodes);
        m->i_pages.xa_slots = NULL;
        m->i_pages.xa_nodes = NULL;
        return -1;
    }
    memset(m->i_pages.xa_nodes, 0, nodes * sizeof(struct xa_node));
    m->i_pages.xa_nslots = nslots;
    m->use_writeback_tags = 1;
    m->id = id;
    memset(inode, 0, sizeof(*inode));
    INIT_LIST_HEAD(&inode->i_wb_list);
    inode->i_sb = &pc_vm.sb;
    inode->i_mapping = m;
    m->host = inode;
    return 0;
}

static void pc_mapping_free(struct address_space *m)
{
    free(m->i_pages.xa_slots);
    free(m->i_pages.xa_nodes);
    m->i_pages.xa_slots = NULL;
    m->i_pages.xa_nodes = NULL;
    m->i_pages.xa_nslots = 0;
}

/* How many slots of @m carry @mark (the leaves' bits). */
static long pc_mapping_marked(const struct address_space *m, xa_mark_t mark)
{
    unsigned long i, leaves = m->i_pages.xa_nslots ?
        (m->i_pages.xa_nslots + XA_CHUNK_SIZE - 1) >> XA_CHUNK_SHIFT : 0;
    long n = 0;

    for (i = 0; i < leaves; i++)
        n += __builtin_popcountl(m->i_pages.xa_nodes[i].marks[mark]);
    return n;
}

/* ------------------------------------------------------------------ */
/* The watchdog's way out                                              */
/* ------------------------------------------------------------------ */

/*
 * Take @w off its bucket if it is queued there.  @w is the entry the task
 * queued last; that wait may be over and its frame reused, so @w's page is
 * only a guess at the bucket, which is walked under its lock for @w itself:
 * nothing of a stale entry is written.
 */
static void pc_wait_dequeue(struct wait_page_queue *w)
{
    wait_queue_head_t *q;
    struct list_head *pos;

    int tries;

    if (!w)
        return;
    q = page_waitqueue(READ_ONCE(w->page));
    /* Not spin_lock(): the task may hold this very lock (a variant that
       deadlocks on it), and a spinner given up on comes back here.  An
       entry whose bucket stays held is left where it is: every task is
       giving up. */
    for (tries = 0; !spin_trylock(&q->lock); tries++) {
        if (tries > 100000)
            return;
        sched_yield();
    }
    for (pos = q->head.next; pos != &q->head; pos = pos->next) {
        if (pos == &w->wait.entry) {
            list_del_init(pos);
            break;
        }
    }
    spin_unlock(&q->lock);
}

/*
 * Called, with pc_abort or the task's sigkill set, at a sleep or where the
 * kernel asks signal_pending_state().  If the call that entered the model
 * said where to return (pc_call_unwindable()), take the task's queued entry
 * off its bucket (it lives in a frame about to be abandoned) and return
 * there; otherwise just return, and the wait reports a pending signal.
 */
PC_SHARED_FN void pc_wait_unwind(struct task_struct *t)
{
    struct wait_page_queue *w = (struct wait_page_queue *)t->pc_wait_entry;

    if (!t->pc_unwind)
        return;
    t->pc_wait_entry = NULL;
    pc_wait_dequeue(w);
    __atomic_store_n(&t->state, TASK_RUNNING, __ATOMIC_RELAXED);
    longjmp(*(jmp_buf *)t->pc_unwind, 1);
}

/*
 * Run fn(arg) in the model; -EINTR if the watchdog ended a wait inside it.
 * A thread with no task yet gets one only if the model needs it (as a
 * plain call does), and then no way out but the sleep's own return.
 */
static int pc_call_unwindable(void (*fn)(void *), void *arg)
{
    struct task_struct *t = pc_current_task;
    void *volatile saved;
    jmp_buf jb;

    if (!t) {
        fn(arg);
        return 0;
    }
    saved = t->pc_unwind;

    if (setjmp(jb)) {
        t->pc_unwind = saved;
        return -EINTR;
    }
    t->pc_unwind = &jb;
    fn(arg);
    t->pc_unwind = saved;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The lock hold timer (pagecore/mm.h, xa_lock() and the irq locks)    */
/* ------------------------------------------------------------------ */

PC_SHARED struct pc_lock_hold pc_lock_hold;

static inline int pc_hold_class(int cls, const void *lock)
{
    const char *l = (const char *)lock;

    if (cls != PC_HOLD_OTHER)
        return cls;
    if (page_wait_table && l >= (const char *)page_wait_table &&
        l < (const char *)(page_wait_table + (1UL << PAGE_WAIT_TABLE_BITS)))
        return PC_HOLD_BUCKET;
    return PC_HOLD_OTHER;
}

PC_SHARED_FN void pc_lock_hold_begin(int cls, const void *lock)
{
    if (pc_hold_class(cls, lock) != pc_lock_hold.on)
        return;
    if (pc_lock_hold.depth++ == 0)
        pc_lock_hold.t0 = pc_region_begin();
}

PC_SHARED_FN void pc_lock_hold_end(int cls, const void *lock)
{
    if (pc_hold_class(cls, lock) != pc_lock_hold.on || pc_lock_hold.depth == 0)
        return;
    if (--pc_lock_hold.depth == 0) {
        pc_lock_hold.ns += pc_region_end(pc_lock_hold.t0);
        pc_lock_hold.holds++;
    }
}

/* ------------------------------------------------------------------ */
/* Loading a variant                                                   */
/* ------------------------------------------------------------------ */

/*
 * Make this module's symbols (the shared state of shared.h) visible to the
 * objects it loads next: Python loaded it RTLD_LOCAL.  @self is its path.
 */
static int pc_harness_promote(const char *self)
{
    return dlopen(self, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) ? 0 : -1;
}

/*
 * Load @path and return its table, or NULL with *@err set.  The object is
 * never closed: a table stays valid for the life of the process, so a
 * variant configured again costs nothing.
 */
static const struct pc_ops *pc_variant_open(const char *path, const char **err)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const struct pc_ops *ops;

    if (!h) {
        *err = dlerror();
        return NULL;
    }
    ops = (const struct pc_ops *)dlsym(h, "pagecore_variant_ops");
    if (!ops) {
        *err = "no pagecore_variant_ops in the object";
        return NULL;
    }
    if (ops->abi != PC_OPS_ABI || ops->page_size != sizeof(struct page)) {
        *err = "built for another pagecore (stale cache?)";
        return NULL;
    }
    return ops;
}

/* Once, before the first variant runs: what the touch check needs to know
   of struct page (runtime.h sits below mm.h). */
static void pc_harness_init(void)
{
    pc_touch_size = sizeof(struct page);
    pc_touch_off_gen = offsetof(struct page, pc_gen);
    pc_touch_off_free = offsetof(struct page, pc_free);
}

static void pc_variant_select(const struct pc_ops *ops)
{
    pc_ops_cur = ops;
    pc_pg_writeback = ops->pg_writeback;
    pc_pg_dirty = ops->pg_dirty;
}

/* ------------------------------------------------------------------ */
/* end_page_writeback() and wait_on_page_writeback(), as the harness calls them */
/* ------------------------------------------------------------------ */

/*
 * The touch check's page (runtime.h), and the tracked waiter's count of the
 * writers' progress, around the variant's end_page_writeback().
 */
static inline void end_page_writeback(struct page *page)
{
    pc_touch_begin(page);
    if (PC_INSTRUMENTED && page == __atomic_load_n(&pc_wt.page, __ATOMIC_ACQUIRE))
        /* one writer at a time ends a writeback of the page: not an RMW */
        __atomic_store_n(&pc_wt.page_ends,
                         __atomic_load_n(&pc_wt.page_ends, __ATOMIC_RELAXED) + 1,
                         __ATOMIC_RELAXED);
    pc_op_end_page_writeback(page);
    pc_touch_end();
}

/*
 * The tracked waiter's wait_on_page_writeback(): the variant's call, timed,
 * its sleeps counted (struct pc_wait_tracker).  A wait that returns with
 * PG_writeback set on a page whose ->mapping is no longer the one it began
 * with ended because the mapping changed.
 */
static void pc_wait_on_page_writeback_tracked(struct page *page)
{
    int64_t t0 = pc_clock_ns();
    unsigned long ends0 = __atomic_load_n(&pc_wt.page_ends, __ATOMIC_RELAXED);
    struct address_space *mapping = page_mapping(page);
    unsigned long n;

    pc_wt.cur_sleeps = 0;
    pc_wt.in_wait = 1;
    pc_op_wait_on_page_writeback(page);
    pc_wt.in_wait = 0;
    if (PageWriteback(page) && page_mapping(page) != mapping)
        pc_wt.mapping_breaks++;
    n = pc_wt.cur_sleeps;
    if (n == 0) {
        pc_wt.immediate++;
        return;
    }
    pc_wt.waits++;
    pc_wt.resleeps += n - 1;
    if (n - 1 > pc_wt.max_resleeps)
        pc_wt.max_resleeps = n - 1;
    if (pc_wt.nsamples < pc_wt.cap) {
        pc_wt.wait_ns[pc_wt.nsamples] = pc_clock_ns() - t0;
        pc_wt.ends_during[pc_wt.nsamples] =
            __atomic_load_n(&pc_wt.page_ends, __ATOMIC_RELAXED) - ends0;
        pc_wt.nsamples++;
    }
}

static inline void wait_on_page_writeback(struct page *page)
{
    if (pc_wait_tracked())
        pc_wait_on_page_writeback_tracked(page);
    else
        pc_op_wait_on_page_writeback(page);
}

/* ------------------------------------------------------------------ */
/* Queued waiters of the timed loops                                   */
/* ------------------------------------------------------------------ */

/*
 * A waiter between prepare_to_wait and io_schedule(), made by the
 * variant's own code: the waiter runs wait_on_page_writeback() or
 * lock_page() as a coroutine on the timing thread, as task @task, until its
 * io_schedule() hands the CPU back (pagecore/mm.h).  Its entry is then
 * queued, PG_waiters set and its state set, exactly as that variant leaves
 * them.  The loop times the waker, then resumes the waiter, untimed, so it
 * returns as a woken waiter does.
 */
enum { PC_QWAIT_WRITEBACK, PC_QWAIT_LOCK };

struct pc_qwaiter {
    struct pc_coro coro;
    struct task_struct *task;
    struct page *page;
    int op;
    char *stack;
    size_t stack_size;
    size_t skew;
};

static void pc_qwaiter_body(void *arg)
{
    struct pc_qwaiter *q = (struct pc_qwaiter *)arg;

    if (q->op == PC_QWAIT_LOCK)
        lock_page(q->page);
    else
        pc_op_wait_on_page_writeback(q->page);
}

static inline void pc_qwaiter_run(struct pc_qwaiter *q)
{
    struct task_struct *was = pc_current_task;

    pc_current_task = q->task;
    pc_coro_resume(&q->coro);
    pc_current_task = was;
}

/* Start the waiter; true if it is now queued and waiting (not returned). */
static int pc_qwaiter_start(struct pc_qwaiter *q)
{
    q->task->state = TASK_RUNNING;
    q->task->pc_coro = &q->coro;
    q->task->pc_wait_entry = NULL;
    pc_coro_init(&q->coro, q->stack, q->stack_size, q->skew, pc_qwaiter_body, q);
    pc_qwaiter_run(q);
    return !q->coro.done;
}

/* Let a woken waiter return; true if it did (false: it is still waiting). */
static int pc_qwaiter_finish(struct pc_qwaiter *q)
{
    if (!q->coro.done && __atomic_load_n(&q->task->state, __ATOMIC_ACQUIRE) == TASK_RUNNING)
        pc_qwaiter_run(q);
    return q->coro.done;
}

/* A waiter nobody woke: its entry off the bucket, its coroutine dropped. */
static void pc_qwaiter_abandon(struct pc_qwaiter *q)
{
    if (!q->coro.done)
        pc_wait_dequeue((struct wait_page_queue *)q->task->pc_wait_entry);
    q->coro.done = 1;
    q->task->pc_coro = NULL;
    q->task->state = TASK_RUNNING;
}

/* The floor suite's calibration loops' bodies. */
#include "calibrate.h"

#endif /* PAGECORE_HARNESS_H */
