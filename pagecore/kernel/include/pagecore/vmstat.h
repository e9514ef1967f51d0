/*
 * pagecore/kernel/include/pagecore/vmstat.h: the statistics the end and the
 * start of writeback keep, and the locks they take for them: per-CPU
 * counters (include/linux/percpu-defs.h, lib/percpu_counter.c), the zone
 * and node counters of mm/vmstat.c, the memory cgroup's lock and counters
 * (mm/memcontrol.c), the backing device's writeback counters and writeout
 * proportions (include/linux/backing-dev.h, lib/flex_proportions.c), the
 * superblock's list of inodes under writeback (fs/fs-writeback.c), and the
 * xarray's marks as the nodes of its tree hold them.  Included by mm.h.
 *
 * The machine these run on, which the model states once here:
 *
 *  - A model task is a CPU that runs with preemption off.  Each task
 *    carries its CPU's per-CPU area (task_struct.pc_percpu), and a
 *    __percpu pointer is, as in the kernel, an offset into it: per_cpu
 *    data are plain memory on lines only their CPU writes, changed by plain
 *    read-modify-writes (this_cpu_add() is an `add` with no lock prefix,
 *    this_cpu_cmpxchg() a `cmpxchg` with none).  The area is found through
 *    the current task (one thread-local load), where the kernel uses the
 *    segment base: a cost of the model's, the same in every variant, which
 *    the floor suite's percpu_add measures with the rest of a per-CPU add.
 *  - Counters fold into their shared totals every batch, as the kernel's
 *    do: a percpu_counter under its raw spinlock every WB_STAT_BATCH (or
 *    PROP_BATCH, percpu_counter_batch) of its count, the vmstat diffs by
 *    two atomic adds past the stat_threshold of calculate_normal_threshold()
 *    for this machine's CPUs and memory, the memory cgroup's every
 *    MEMCG_CHARGE_BATCH.  nr_cpu_ids is this machine's CPU count.
 *  - Memory cgroups are enabled; the file's pages are charged to the root
 *    cgroup; no charge is being moved (memcg->moving_account is 0), so
 *    lock_page_memcg()/folio_memcg_lock() take the RCU read side and read
 *    moving_account, and take no spinlock.  The kernel is built without
 *    CONFIG_PREEMPT_RCU (a server's PREEMPT_NONE or PREEMPT_VOLUNTARY), so
 *    rcu_read_lock() is a compiler barrier.  Cgroup writeback writes through
 *    the root cgroup's bdi_writeback, so mem_cgroup_wb_domain() is NULL.
 *  - The backing device accounts writeback (BDI_CAP_WRITEBACK_ACCT), with
 *    the default max_prop_frac; the writeout proportion's period never
 *    turns over (no timer runs in the model), and the delayed bandwidth
 *    update that 6.7's wb_inode_writeback_end() queues stays pending: its
 *    work never runs, as none runs within its 200 ms.
 *  - Interrupts cannot be masked in user space: local_irq_save() and the
 *    irqsave locks do not pay for it; preempt_count is not kept (a spin_lock
 *    is the lock alone), in every variant alike.
 *
 * Events (registry.def): a write to a per-CPU line is `percpu` (a
 * this_cpu_cmpxchg() `percpu_cmpxchg`); a batch
 * handed to its shared total is one `fold`, which stands for that step's
 * atomic adds and its lock round trip (neither is counted again, so `lock`
 * and `atomic_rmw` stay those of the path); a mark set or cleared in an
 * xarray node or its root is `xa_mark`.  None of these is a scheduling
 * point of the explorer but the real spinlocks (a fold's, the
 * superblock's, the bdi_writeback's work_lock), which are, as any
 * spin_lock() is.
 */
#ifndef PAGECORE_VMSTAT_H
#define PAGECORE_VMSTAT_H

#include <stdint.h>

typedef int8_t s8;
typedef int32_t s32;
typedef int64_t s64;
typedef uint64_t u64;
typedef struct { long counter; } atomic_long_t;
typedef spinlock_t raw_spinlock_t;

/* ------------------------------------------------------------------ */
/* Per-CPU data (include/linux/percpu-defs.h)                          */
/* ------------------------------------------------------------------ */

#define __percpu

/*
 * Where each per-CPU object lies in a CPU's area, a line (or two) each, as
 * the per-CPU allocator places objects of different owners apart.  Offset
 * 0 stays unused so that no __percpu pointer is NULL.
 */
#define PC_PERCPU_COUNTERS 64       /* the s32 of each percpu_counter, packed */
#define PC_PERCPU_ZONE 128          /* the zone's per_cpu_pageset */
#define PC_PERCPU_NODE 192          /* the node's per_cpu_nodestat */
#define PC_PERCPU_MEMCG 256         /* memcg->vmstats_percpu */
#define PC_PERCPU_MEMCG_LOCAL 320   /* memcg->vmstats_local (5.10) */
#define PC_PERCPU_LRUVEC 384        /* lruvec stats: lruvec_stat_local, lruvec_stats_percpu */
#define PC_PERCPU_LRUVEC_CPU 448    /* lruvec_stat_cpu (5.10) */
#define PC_PERCPU_RSTAT 512         /* stats_updates, cgroup_rstat_cpu (6.7) */
/* PC_PERCPU_BYTES, task.h: 576 */

/*
 * The task's area, set up for the model as configured now: configure()
 * bumps pc_vm_gen, and each task sets its area up again (zero counts, this
 * machine's thresholds) at its next per-CPU access.
 */
PC_SHARED unsigned int pc_vm_gen;
PC_SHARED_FN void pc_percpu_init(struct task_struct *t);

static inline char *pc_this_cpu_area(void)
{
    struct task_struct *t = current;

    if (unlikely(t->pc_percpu_gen != __atomic_load_n(&pc_vm_gen, __ATOMIC_RELAXED)))
        pc_percpu_init(t);
    return t->pc_percpu;
}

#define raw_cpu_ptr(ptr) ((__typeof__(ptr))(pc_this_cpu_area() + (uintptr_t)(ptr)))
#define this_cpu_ptr(ptr) raw_cpu_ptr(ptr)
#define __this_cpu_read(pcp) (*raw_cpu_ptr(&(pcp)))
#define this_cpu_read(pcp) __this_cpu_read(pcp)
#define __this_cpu_write(pcp, val)                                             \
    do {                                                                       \
        pc_ev(PC_EV_PERCPU);                                                   \
        *raw_cpu_ptr(&(pcp)) = (val);                                          \
    } while (0)
#define __this_cpu_add(pcp, val)                                               \
    do {                                                                       \
        pc_ev(PC_EV_PERCPU);                                                   \
        *raw_cpu_ptr(&(pcp)) += (val);                                         \
    } while (0)
#define __this_cpu_sub(pcp, val) __this_cpu_add((pcp), -(val))
#define this_cpu_add(pcp, val) __this_cpu_add((pcp), (val))
#define this_cpu_sub(pcp, val) __this_cpu_sub((pcp), (val))
#define __this_cpu_add_return(pcp, val)                                        \
    ({                                                                         \
        pc_ev(PC_EV_PERCPU);                                                   \
        *raw_cpu_ptr(&(pcp)) += (val);                                         \
    })

/*
 * this_cpu_cmpxchg(): a cmpxchg without the lock prefix (x86's
 * CONFIG_HAVE_CMPXCHG_LOCAL): atomic against an interrupt on this CPU,
 * which is all a per-CPU word needs.  One `percpu_cmpxchg` per attempt.
 */
static inline long pc_cmpxchg_local_s8(s8 *p, long old, long new_)
{
    pc_ev(PC_EV_PERCPU_CMPXCHG);
#if defined(__x86_64__) || defined(__i386__)
    {
        s8 o = (s8)old;
        __asm__ __volatile__("cmpxchgb %2, %1" : "+a"(o), "+m"(*p) : "q"((s8)new_) : "memory");
        return o;
    }
#else
    {
        s8 o = *p;
        if (o == (s8)old)
            *p = (s8)new_;
        return o;
    }
#endif
}
#define this_cpu_cmpxchg(pcp, o, n) pc_cmpxchg_local_s8(raw_cpu_ptr(&(pcp)), (o), (n))

/* atomic_long_t: a fold's adds to the shared totals (counted as the fold). */
static inline void atomic_long_add(long i, atomic_long_t *v)
{
    pc_x_access(&v->counter, sizeof(v->counter), PC_X_ADD);
    __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline long atomic_long_read(const atomic_long_t *v)
{
    pc_x_access(&v->counter, sizeof(v->counter), 0);
    return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

/*
 * A locked RMW on a counter of the statistics (wb->writeback_inodes, a
 * work's pending bit): counted as `atomic_rmw`, but not a scheduling point
 * of the explorer, which orders the accesses of pages and locks only.
 */
static inline void pc_stat_atomic_long_add(long i, atomic_long_t *v)
{
    pc_ev(PC_EV_ATOMIC_RMW);
    pc_x_access(&v->counter, sizeof(v->counter), PC_X_ADD);
    __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}
#define atomic_long_inc(v) pc_stat_atomic_long_add(1, (v))

/* memcg_rstat_updated()'s atomic_add() to stats_flush_threshold: counted
   with the fold it belongs to, not as an RMW of its own. */
static inline void pc_stat_atomic_add(int i, atomic_t *v)
{
    pc_x_access(&v->counter, sizeof(v->counter), PC_X_ADD);
    __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}
#define atomic_long_dec(v) pc_stat_atomic_long_add(-1, (v))

static inline int pc_stat_test_and_set_bit(long nr, unsigned long *addr)
{
    unsigned long mask = BIT_MASK(nr);

    pc_ev(PC_EV_ATOMIC_RMW);
    pc_x_access(addr, sizeof(*addr), 1);
    return (__atomic_fetch_or(addr, mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

/*
 * raw_spin_lock(): taken here only by a percpu_counter's fold (and by a
 * writeout period's turnover, which never comes in the model).  The round
 * trip is the fold's, counted as such by the caller; `lock` stays the
 * locks of the path.  A spinlock all the same: a scheduling point.
 */
static inline void pc_raw_spin_lock(raw_spinlock_t *lock)
{
    spin_lock(lock);
    pc_ev_n(PC_EV_LOCK, (unsigned long)-1);
    pc_ev(PC_EV_FOLD);
}
#define raw_spin_lock(lock) pc_raw_spin_lock(lock)
#define raw_spin_unlock(lock) spin_unlock(lock)
#define raw_spin_lock_irqsave(lock, flags) ((void)(flags), pc_raw_spin_lock(lock))
#define raw_spin_unlock_irqrestore(lock, flags) ((void)(flags), spin_unlock(lock))

#define local_irq_save(flags) ((void)(flags))
#define local_irq_restore(flags) ((void)(flags))
#define preempt_disable() barrier()
#define preempt_enable() barrier()
#define preempt_disable_nested() barrier()
#define preempt_enable_nested() barrier()
/* !CONFIG_PREEMPT_RCU: the read side is a compiler barrier */
#define rcu_read_lock() barrier()
#define rcu_read_unlock() barrier()
#define smp_processor_id() 0
#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define VM_WARN_ON_ONCE(cond) ((void)(cond))
#define VM_WARN_ON_IRQS_ENABLED() do { } while (0)
/* tracepoints: left out, their arguments not evaluated */
#define trace_sb_mark_inode_writeback(inode) do { } while (0)
#define trace_sb_clear_inode_writeback(inode) do { } while (0)

#ifdef PAGECORE_VARIANT
#define abs(x) ({ __typeof__(x) __x = (x); __x < 0 ? -__x : __x; })
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#endif

/* ------------------------------------------------------------------ */
/* percpu_counter, flex proportions                                    */
/* ------------------------------------------------------------------ */

struct percpu_counter {
    raw_spinlock_t lock;
    s64 count;
    s32 __percpu *counters;
};

struct fprop_global {
    struct percpu_counter events;
    unsigned int period;
};

struct fprop_local_percpu {
    struct percpu_counter events;
    unsigned int period;
    raw_spinlock_t lock;
};

#define FPROP_FRAC_SHIFT 10
#define FPROP_FRAC_BASE (1UL << FPROP_FRAC_SHIFT)

/* ------------------------------------------------------------------ */
/* Zones and nodes (include/linux/mmzone.h, vmstat.h)                  */
/* ------------------------------------------------------------------ */

enum zone_stat_item {
    NR_ZONE_WRITE_PENDING,
    NR_VM_ZONE_STAT_ITEMS
};

enum node_stat_item {
    NR_FILE_DIRTY,
    NR_WRITEBACK,
    NR_WRITTEN,
    NR_VM_NODE_STAT_ITEMS
};

struct per_cpu_pageset {
    s8 stat_threshold;
    s8 vm_stat_diff[NR_VM_ZONE_STAT_ITEMS];
};

struct per_cpu_nodestat {
    s8 stat_threshold;
    s8 vm_node_stat_diff[NR_VM_NODE_STAT_ITEMS];
};

struct zone {
    atomic_long_t vm_stat[NR_VM_ZONE_STAT_ITEMS];
    struct per_cpu_pageset __percpu *pageset;
} __attribute__((aligned(64)));

typedef struct pglist_data {
    struct zone node_zones[1];
    int node_id;
    atomic_long_t vm_stat[NR_VM_NODE_STAT_ITEMS] __attribute__((aligned(64)));
    struct per_cpu_nodestat __percpu *per_cpu_nodestats;
} pg_data_t;

/* ------------------------------------------------------------------ */
/* Memory cgroups (include/linux/memcontrol.h)                         */
/* ------------------------------------------------------------------ */

#define MEMCG_NR_STAT NR_VM_NODE_STAT_ITEMS

/* 5.10 names the per-CPU counts stat[], 6.7 state[]: the same words. */
struct memcg_vmstats_percpu {
    union {
        long stat[MEMCG_NR_STAT];
        long state[MEMCG_NR_STAT];
    };
};

struct lruvec_stat {                /* 5.10 */
    long count[NR_VM_NODE_STAT_ITEMS];
};

struct lruvec_stats_percpu {        /* 6.7 */
    long state[NR_VM_NODE_STAT_ITEMS];
};

struct lruvec {
    struct pglist_data *pgdat;
};

struct mem_cgroup_per_node {
    struct lruvec lruvec;
    struct lruvec_stat __percpu *lruvec_stat_local;
    struct lruvec_stat __percpu *lruvec_stat_cpu;
    struct lruvec_stats_percpu __percpu *lruvec_stats_percpu;
    atomic_long_t lruvec_stat[NR_VM_NODE_STAT_ITEMS];
    struct mem_cgroup *memcg;
} __attribute__((aligned(64)));

struct cgroup_rstat_cpu {
    struct cgroup *updated_next;
};

struct cgroup {
    struct cgroup_rstat_cpu __percpu *rstat_cpu;
};

struct cgroup_subsys_state {
    struct cgroup *cgroup;
    struct cgroup_subsys_state *parent;
};

struct mem_cgroup {
    struct cgroup_subsys_state css;
    atomic_t moving_account;
    struct task_struct *move_lock_task;
    spinlock_t move_lock;
    unsigned long move_lock_flags;
    struct memcg_vmstats_percpu __percpu *vmstats_percpu;
    struct memcg_vmstats_percpu __percpu *vmstats_local;
    atomic_long_t vmstats[MEMCG_NR_STAT];
    struct mem_cgroup_per_node *nodeinfo[1];
} __attribute__((aligned(64)));

/* MEMCG_CHARGE_BATCH: 32U in 5.10, 64U since 6.1 (1813e51eece0) */
#ifdef PAGECORE_PAGE_FLAGS_6_6
#define MEMCG_CHARGE_BATCH 64U
#else
#define MEMCG_CHARGE_BATCH 32U
#endif

/* ------------------------------------------------------------------ */
/* The backing device (include/linux/backing-dev-defs.h)               */
/* ------------------------------------------------------------------ */

enum wb_stat_item {
    WB_RECLAIMABLE,
    WB_WRITEBACK,
    WB_DIRTIED,
    WB_WRITTEN,
    NR_WB_STAT_ITEMS
};

#define BDI_CAP_WRITEBACK_ACCT 0x00000004
#define WB_registered 0
#define WORK_STRUCT_PENDING_BIT 0

struct work_struct {
    unsigned long data;
};

struct delayed_work {
    struct work_struct work;
};

struct bdi_writeback {
    struct backing_dev_info *bdi;
    unsigned long state;
    struct percpu_counter stat[NR_WB_STAT_ITEMS];
    struct fprop_local_percpu completions;
    atomic_long_t writeback_inodes;             /* 6.7 */
    spinlock_t work_lock;
    struct delayed_work bw_dwork;
} __attribute__((aligned(64)));

struct backing_dev_info {
    unsigned int capabilities;
    unsigned int max_prop_frac;
    struct bdi_writeback wb;
} __attribute__((aligned(64)));

struct wb_domain {
    struct fprop_global completions;
    unsigned long period_time;
} __attribute__((aligned(64)));

/* ------------------------------------------------------------------ */
/* Inodes and the superblock                                           */
/* ------------------------------------------------------------------ */

struct super_block {
    spinlock_t s_inode_wblist_lock;
    struct list_head s_inodes_wb;   /* writeback inodes */
} __attribute__((aligned(64)));

struct inode {
    struct list_head i_wb_list;     /* backing dev writeback list */
    struct super_block *i_sb;
    struct address_space *i_mapping;
} __attribute__((aligned(64)));

/* ------------------------------------------------------------------ */
/* The machine's statistics, shared by every task                      */
/* ------------------------------------------------------------------ */

struct pc_vm {
    int cpus;                       /* nr_cpu_ids: this machine's CPUs */
    int counter_batch;              /* percpu_counter_batch: max(32, 2 * CPUs) */
    int stat_threshold;             /* calculate_normal_threshold() */
    struct pglist_data node;
    atomic_long_t zone_stat[NR_VM_ZONE_STAT_ITEMS] __attribute__((aligned(64)));
    atomic_long_t node_stat[NR_VM_NODE_STAT_ITEMS];
    struct mem_cgroup root_memcg;
    struct mem_cgroup_per_node root_nodeinfo;
    struct cgroup root_cgroup __attribute__((aligned(64)));
    atomic_t flush_threshold;       /* stats_flush_threshold (6.7) */
    struct backing_dev_info bdi;
    struct wb_domain global_domain;
    struct super_block sb;
};
PC_SHARED struct pc_vm pc_vm;

#define nr_cpu_ids (pc_vm.cpus)
#define percpu_counter_batch (pc_vm.counter_batch)
#define num_online_cpus() (pc_vm.cpus)
#define global_wb_domain (pc_vm.global_domain)
#define root_mem_cgroup (&pc_vm.root_memcg)
#define vm_zone_stat (pc_vm.zone_stat)
#define vm_node_stat (pc_vm.node_stat)
#define stats_flush_threshold (pc_vm.flush_threshold)

static inline int ilog2(unsigned long n)
{
    return n ? (int)(8 * sizeof(long) - 1 - __builtin_clzl(n)) : 0;
}

#define WB_STAT_BATCH (8 * (1 + ilog2(nr_cpu_ids)))

#define page_pgdat(page) ((void)(page), &pc_vm.node)
#define folio_pgdat(folio) page_pgdat(&(folio)->page)
#define page_zone(page) (&page_pgdat(page)->node_zones[0])
#define folio_zone(folio) page_zone(&(folio)->page)
#define lruvec_pgdat(lruvec) ((lruvec)->pgdat)
#define mem_cgroup_disabled() false
#define parent_mem_cgroup(memcg) ((struct mem_cgroup *)NULL)
#define parent_nodeinfo(pn, nid) ((struct mem_cgroup_per_node *)NULL)
#define vmstat_item_in_bytes(idx) false
#define memcg_stat_item_in_bytes(idx) false
#define cgroup_rstat_cpu(cgrp, cpu) this_cpu_ptr((cgrp)->rstat_cpu)

static inline struct lruvec *mem_cgroup_lruvec(struct mem_cgroup *memcg, struct pglist_data *pgdat)
{
    (void)pgdat;
    return &memcg->nodeinfo[0]->lruvec;
}
/* 5.10's mem_cgroup_page_lruvec(): an uncharged page counts in the root's */
static inline struct lruvec *mem_cgroup_page_lruvec(struct page *page, struct pglist_data *pgdat)
{
    struct mem_cgroup *memcg = READ_ONCE(page->mem_cgroup);

    return mem_cgroup_lruvec(memcg ? memcg : root_mem_cgroup, pgdat);
}

static inline struct mem_cgroup *folio_memcg(struct folio *folio)
{
    return (struct mem_cgroup *)READ_ONCE(folio->memcg_data);
}

#define inode_to_bdi(inode) ((void)(inode), &pc_vm.bdi)
#define inode_to_wb(inode) ((void)(inode), &pc_vm.bdi.wb)
/* the root cgroup's bdi_writeback: no cgroup domain of its own */
#define mem_cgroup_wb_domain(wb) ((void)(wb), (struct wb_domain *)NULL)
#define wb_memcg_completions(wb) (&(wb)->completions)

/* ------------------------------------------------------------------ */
/* include/linux/vmstat.h, backing-dev.h, memcontrol.h inlines         */
/* ------------------------------------------------------------------ */

/* A vmstat fold: the diff added to the zone's and the machine's totals. */
static inline void zone_page_state_add(long x, struct zone *zone, enum zone_stat_item item)
{
    pc_ev(PC_EV_FOLD);
    atomic_long_add(x, &zone->vm_stat[item]);
    atomic_long_add(x, &vm_zone_stat[item]);
}

static inline void node_page_state_add(long x, struct pglist_data *pgdat,
                                       enum node_stat_item item)
{
    pc_ev(PC_EV_FOLD);
    atomic_long_add(x, &pgdat->vm_stat[item]);
    atomic_long_add(x, &vm_node_stat[item]);
}

/* include/linux/percpu_counter.h */
#define percpu_counter_add(fbc, amount) \
    percpu_counter_add_batch((fbc), (amount), percpu_counter_batch)

/* include/linux/backing-dev.h (5.10) */
#define __add_wb_stat(wb, item, amount) \
    percpu_counter_add_batch(&(wb)->stat[item], (amount), WB_STAT_BATCH)
#define inc_wb_stat(wb, item) __add_wb_stat((wb), (item), 1)
#define dec_wb_stat(wb, item) __add_wb_stat((wb), (item), -1)

/* include/linux/memcontrol.h (5.10): the irq-safe forms */
#define mod_lruvec_state(lruvec, idx, val) __mod_lruvec_state((lruvec), (idx), (val))
#define dec_lruvec_state(lruvec, idx) mod_lruvec_state((lruvec), (idx), -1)
#define mod_lruvec_page_state(page, idx, val) __mod_lruvec_page_state((page), (idx), (val))
#define inc_lruvec_page_state(page, idx) mod_lruvec_page_state((page), (idx), 1)

/* DEFINE_PER_CPU(unsigned int, stats_updates) (6.7 mm/memcontrol.c) */
#define stats_updates (*(unsigned int *)PC_PERCPU_RSTAT)

/* include/linux/workqueue.h: the bandwidth update 6.7 delays (see above) */
#define BANDWIDTH_INTERVAL 200
static inline bool queue_delayed_work(void *wq, struct delayed_work *dwork, unsigned long delay)
{
    (void)wq;
    (void)delay;
    return !pc_stat_test_and_set_bit(WORK_STRUCT_PENDING_BIT, &dwork->work.data);
}
#define bdi_wq NULL

/* ------------------------------------------------------------------ */
/* The xarray's marks (lib/xarray.c)                                   */
/* ------------------------------------------------------------------ */

/*
 * Each node of the tree holds a bitmap per mark of which of its 64 slots
 * carry it, on the node's line; the root says in xa_flags whether any
 * entry does.  Setting a mark sets the bit in the leaf node, then in each
 * parent whose bit was clear; clearing one clears the leaf's bit, then the
 * parent's while the node has no entry with that mark left, and at the
 * top the root's flag (xas_set_mark(), xas_clear_mark()).  Each bit that
 * changes is one `xa_mark`: a plain read-modify-write of that node's line,
 * under the i_pages lock.  The tree has as many levels as the mapping's
 * slots need (struct xarray, mm.h).
 */
#define XA_FLAGS_MARK(mark) (1U << (mark))

static inline struct xa_node *pc_xa_node(const struct xarray *xa, int level, unsigned long off)
{
    return &xa->xa_nodes[xa->xa_level_start[level] + (off >> XA_CHUNK_SHIFT)];
}

static inline void __xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
    unsigned long off = index;
    int level;

    if (index >= xa->xa_nslots || !xa->xa_slots[index])
        return;
    for (level = 0; level < xa->xa_levels; level++, off >>= XA_CHUNK_SHIFT) {
        struct xa_node *node = pc_xa_node(xa, level, off);
        unsigned long bit = 1UL << (off & (XA_CHUNK_SIZE - 1));

        if (node->marks[mark] & bit)
            return;
        pc_ev(PC_EV_XA_MARK);
        node->marks[mark] |= bit;
    }
    if (!(xa->xa_flags & XA_FLAGS_MARK(mark))) {
        pc_ev(PC_EV_XA_MARK);
        xa->xa_flags |= XA_FLAGS_MARK(mark);
    }
}

static inline void __xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
    unsigned long off = index;
    int level;

    if (index >= xa->xa_nslots)
        return;
    for (level = 0; level < xa->xa_levels; level++, off >>= XA_CHUNK_SHIFT) {
        struct xa_node *node = pc_xa_node(xa, level, off);
        unsigned long bit = 1UL << (off & (XA_CHUNK_SIZE - 1));

        if (!(node->marks[mark] & bit))
            return;
        pc_ev(PC_EV_XA_MARK);
        node->marks[mark] &= ~bit;
        if (node->marks[mark])
            return;
    }
    if (xa->xa_flags & XA_FLAGS_MARK(mark)) {
        pc_ev(PC_EV_XA_MARK);
        xa->xa_flags &= ~XA_FLAGS_MARK(mark);
    }
}

static inline bool xa_get_mark(const struct xarray *xa, unsigned long index, xa_mark_t mark)
{
    if (index >= xa->xa_nslots)
        return false;
    return (READ_ONCE(pc_xa_node(xa, 0, index)->marks[mark]) >>
            (index & (XA_CHUNK_SIZE - 1))) & 1;
}

static inline bool xa_marked(const struct xarray *xa, xa_mark_t mark)
{
    return READ_ONCE(xa->xa_flags) & XA_FLAGS_MARK(mark);
}

#define mapping_tagged(mapping, tag) xa_marked(&(mapping)->i_pages, (tag))

/* The advanced API the start of writeback uses: a cursor on one index. */
struct xa_state {
    struct xarray *xa;
    unsigned long xa_index;
};
#define XA_STATE(name, array, index) struct xa_state name = {(array), (index)}
#define xas_lock_irqsave(xas, flags) xa_lock_irqsave((xas)->xa, (flags))
#define xas_unlock_irqrestore(xas, flags) xa_unlock_irqrestore((xas)->xa, (flags))
#define xas_load(xas) xa_load((xas)->xa, (xas)->xa_index)
#define xas_set_mark(xas, mark) __xa_set_mark((xas)->xa, (xas)->xa_index, (mark))
#define xas_clear_mark(xas, mark) __xa_clear_mark((xas)->xa, (xas)->xa_index, (mark))

#endif /* PAGECORE_VMSTAT_H */
