/*
 * pagecore/kernel/include/pagecore/calibrate.h: the bodies of the floor
 * suite's calibration loops (pagecore/model/_loops.pxi), one kind of event
 * each, written with the very primitives the model's kernel code uses
 * (atomic.h, vmstat.h), so that the unit cost fitted to them is the cost
 * of that kind of event as the variants execute it.  The harness's, never
 * a variant's.  Each counts its events as the model's code does (the
 * instrumented build), so a loop's events per operation are read off the
 * run, as every suite's are.
 */
#ifndef PAGECORE_CALIBRATE_H
#define PAGECORE_CALIBRATE_H

#ifdef PAGECORE_VARIANT
#error "calibrate.h is the harness's, not a variant's"
#endif

/* The per-CPU slots the loops use: the first of the percpu_counters'. */
#define PC_CAL_SLOT (*(s32 *)(uintptr_t)PC_PERCPU_COUNTERS)
#define PC_CAL_DIFF (*(s8 *)(uintptr_t)(PC_PERCPU_ZONE + 1))

/* this_cpu_add(): one add, no lock prefix, on this task's per-CPU line */
static inline void pc_cal_percpu_add(void)
{
    this_cpu_add(PC_CAL_SLOT, 1);
}

/*
 * mod_zone_state()'s shape: the threshold and the diff read from the
 * per-CPU line, a cmpxchg without lock prefix, retried if it failed.
 */
static inline void pc_cal_percpu_cmpxchg(void)
{
    long o, n;

    do {
        o = this_cpu_read(PC_CAL_DIFF);
        n = o ^ 1;
    } while (this_cpu_cmpxchg(PC_CAL_DIFF, o, n) != o);
}

static inline void pc_cal_counter_init(struct percpu_counter *fbc)
{
    spin_lock_init(&fbc->lock);
    fbc->count = 0;
    fbc->counters = (s32 *)(uintptr_t)PC_PERCPU_COUNTERS;
}

/*
 * A percpu_counter's fold: its raw spinlock, the shared count, the
 * per-CPU part taken back (the fold's lock is counted as the fold, as
 * vmstat.h's raw_spin_lock() counts it).
 */
static inline void pc_cal_fold(struct percpu_counter *fbc)
{
    unsigned long flags = 0;

    raw_spin_lock_irqsave(&fbc->lock, flags);
    fbc->count += 1;
    __this_cpu_sub(PC_CAL_SLOT, 0);
    raw_spin_unlock_irqrestore(&fbc->lock, flags);
}

/*
 * A call through a table, as the harness calls a variant: the table's
 * pointer loaded, an indirect call with the page as its argument, a
 * function that does nothing with it.
 */
struct pc_cal_ops {
    void (*op)(struct page *page);
    void (*rmw)(struct page *page);
};

/* a kernel function entered from the harness: counted as every one is */
static noinline void pc_cal_nothing(struct page *page)
{
    PAGECORE_FENTRY();
    __asm__ __volatile__("" : : "r"(page) : "memory");
}

/* unlock_page()'s shape: one locked RMW on the page's flags, nothing else */
static noinline void pc_cal_rmw(struct page *page)
{
    PAGECORE_FENTRY();
    clear_bit(PG_reclaim, &page->flags);
}

static const struct pc_cal_ops pc_cal_table = {pc_cal_nothing, pc_cal_rmw};
static const struct pc_cal_ops *volatile pc_cal_cur = &pc_cal_table;

static inline void pc_cal_call(struct page *page)
{
    pc_ev(PC_EV_CALL);
    pc_cal_cur->op(page);
}

static inline void pc_cal_call_rmw(struct page *page)
{
    pc_ev(PC_EV_CALL);
    pc_cal_cur->rmw(page);
}

/*
 * A direct call of a kernel function that is never inlined, as the
 * composer makes every one written without `static`: its body counts the
 * call (PAGECORE_FENTRY()) and does nothing with its argument.
 */
static noinline void pc_cal_callee(struct page *page)
{
    PAGECORE_FENTRY();
    __asm__ __volatile__("" : : "r"(page) : "memory");
}

static inline void pc_cal_fcall(struct page *page)
{
    pc_cal_callee(page);
}

/*
 * mm/folio-compat.c's shape: a wrapper that is never inlined, whose body is
 * one call of another such function; entered by a call, left by a jump
 * into the function it wraps (a `tailcall`, and that function's `fcall`).
 */
static noinline void pc_cal_wrapper(struct page *page)
{
    PAGECORE_FENTRY_TAIL();
    return pc_cal_callee(page);
}

static inline void pc_cal_tailcall(struct page *page)
{
    pc_cal_wrapper(page);
}

/* try_to_wake_up() of a task that set its state and has not slept yet. */
static inline int pc_cal_wake_running(struct task_struct *t)
{
    WRITE_ONCE(t->state, TASK_UNINTERRUPTIBLE);
    return wake_up_state(t, TASK_NORMAL);
}

/*
 * The writeback mark set and cleared in an xarray leaf that another page
 * keeps marked (the loop keeps one under writeback), so that no parent
 * changes: two `xa_mark`.
 */
static inline void pc_cal_xa_mark(struct xarray *xa, unsigned long index)
{
    __xa_set_mark(xa, index, PAGECACHE_TAG_WRITEBACK);
    __xa_clear_mark(xa, index, PAGECACHE_TAG_WRITEBACK);
}

/* A spinlock held across one fully ordered RMW, as the i_pages lock is. */
static inline void pc_cal_lock_rmw(spinlock_t *lock, unsigned long *word)
{
    spin_lock(lock);
    test_and_clear_bit(0, word);
    spin_unlock(lock);
}

/* A line-by-line chase through @n lines: each line's first word is the next. */
static inline void *pc_cal_chase(void *p, long n)
{
    long i;

    for (i = 0; i < n; i++)
        p = *(void *volatile *)p;
    return p;
}

#endif /* PAGECORE_CALIBRATE_H */
