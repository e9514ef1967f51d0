/*
 * pagecore/kernel/include/pagecore/explore_sched.h: the deterministic scheduler behind
 * `pagecore verify --mode explore` (instrumented build only).
 *
 * The model's tasks run as coroutines (ucontext) on one thread, each with
 * its own stack and task_struct, so exactly one runs at a time and which one
 * is decided here, at the scheduling points of explore.h.  One call of
 * pc_x_run() runs one schedule from a fresh model: it follows a prefix of
 * choices, then keeps running the current task while it can (no
 * preemption), and when it cannot, the lowest-numbered task that is neither
 * blocked nor in the sleep set.  It records, for every step, which tasks
 * were enabled, the sleep set, and what each task was about to do; the
 * search over schedules (pagecore/verify/explore.py) decides the prefixes.
 * This is stateless model checking as CHESS does it (Musuvathi and Qadeer,
 * "Iterative context bounding for systematic testing of multithreaded
 * programs", PLDI 2007), with sleep sets (Godefroid 1996) for the
 * partial-order reduction.
 *
 * A task is enabled at its point unless: it waits for a spinlock that is
 * held (PCX_SPIN_LOCK), it sleeps and nobody has woken it (PCX_SLEEP, state
 * not TASK_RUNNING), or it spins and no other task has run since it began
 * (PCX_SPIN).  No task enabled while some have not finished is a hang,
 * found at once: every task's position is in the trace.
 *
 * The memory model is sequential consistency at the scheduling points:
 * plain loads and stores between two points run together with the step
 * they follow.  Every shared store the modelled races depend on is an
 * atomic RMW, a lock, or is followed by one before another task can look.
 */
#ifndef PAGECORE_EXPLORE_SCHED_H
#define PAGECORE_EXPLORE_SCHED_H

#include <stdlib.h>
#include <ucontext.h>
#include "runtime.h"
#include "coro.h"

#define pc_x_stack_fresh(p, n) pc_coro_stack_fresh((p), (n))

#define PC_X_MAX_TASKS 8
#define PC_X_MAX_STEPS 4096
#define PC_X_MAX_SNAP 4
#define PC_X_STACK (256 * 1024)

/* What the step's pending operation touches, for the independence relation. */
enum pc_x_class { PCX_CL_ALL, PCX_CL_PAGE, PCX_CL_LOCK, PCX_CL_TASK, PCX_CL_OTHER };

/* How a run ended. */
enum pc_x_end {
    PCX_END_DONE, PCX_END_HANG, PCX_END_SLEEP_BLOCKED, PCX_END_LIMIT, PCX_END_DIVERGED
};

/* Task switches are coro.h's. */
typedef pc_coro_ctx pc_x_ctx;
#define PC_X_FAST_SWITCH PC_CORO_FAST_SWITCH
#define PC_X_SWAP(from, to) PC_CORO_SWAP((from), (to))

struct pc_x_task {
    pc_x_ctx ctx;
    struct task_struct task;
    int done;
    int op;                     /* pending operation (enum pc_x_op) */
    const void *addr;
    long arg;
    int cls;
    uintptr_t key;
    int opi;                    /* scenario operation it is in */
    long spin_epoch;
    int spin_step;              /* the step that ended at the spin */
    int spin_woken;             /* another step has written what it read */
    const void *touch_page;     /* pc_touch_begin()'s thread-locals, per task */
    unsigned int touch_gen;
    char *stack;
};

static struct pc_x_task pc_x_tasks[PC_X_MAX_TASKS];
static int pc_x_ntasks;
static int pc_x_cur = -1;               /* the running task; -1: the scheduler */
static pc_x_ctx pc_x_main;
static long pc_x_steps;
static void (*pc_x_body)(int);          /* runs task i's scenario operations */
static uintptr_t pc_x_pool_lo, pc_x_pool_hi, pc_x_page_size;

/* The trace of the last run. */
static int pc_x_nsteps;
static signed char pc_x_chosen[PC_X_MAX_STEPS + 1];
static unsigned char pc_x_enabled_at[PC_X_MAX_STEPS + 1];
static unsigned char pc_x_sleep_at[PC_X_MAX_STEPS + 1];
static unsigned char pc_x_pop[PC_X_MAX_STEPS + 1][PC_X_MAX_TASKS];
static unsigned char pc_x_pcls[PC_X_MAX_STEPS + 1][PC_X_MAX_TASKS];
static uintptr_t pc_x_pkey[PC_X_MAX_STEPS + 1][PC_X_MAX_TASKS];
/* Recorded only when asked (a schedule to draw): the chosen step's detail
   and the state after it. */
static int pc_x_record;
static const void *pc_x_addr_at[PC_X_MAX_STEPS + 1];
static long pc_x_arg_at[PC_X_MAX_STEPS + 1];
static short pc_x_opi_at[PC_X_MAX_STEPS + 1];
static unsigned long pc_x_bugs_after[PC_X_MAX_STEPS + 1];
static int pc_x_nsnap;
static const void *pc_x_snap_page[PC_X_MAX_SNAP];
static unsigned long pc_x_snap_flags[PC_X_MAX_STEPS + 1][PC_X_MAX_SNAP];
static int pc_x_snap_ref[PC_X_MAX_STEPS + 1][PC_X_MAX_SNAP];
static unsigned int pc_x_snap_gen[PC_X_MAX_STEPS + 1][PC_X_MAX_SNAP];
static int pc_x_snap_free[PC_X_MAX_STEPS + 1][PC_X_MAX_SNAP];
/* Each page snapshot reads these offsets of the pool's struct page. */
static size_t pc_x_off_refcount, pc_x_off_gen, pc_x_off_free;

/*
 * Footprints: what each step of the last run read and wrote, as address
 * ranges (pc_x_note(), explore.h), for the partial-order reduction.  A
 * step with more accesses than fit is marked PC_X_ALL: dependent on every
 * other step, which is safe.
 */
#define PC_X_MAX_ACC 24
#define PC_X_ALL 0xff
struct pc_x_acc {
    uintptr_t lo, hi;           /* [lo, hi) */
    unsigned char write;        /* PC_X_READ, PC_X_WRITE, PC_X_ADD; 3: add and write */
};
static unsigned char pc_x_nacc[PC_X_MAX_STEPS + 1];
static struct pc_x_acc pc_x_accs[PC_X_MAX_STEPS + 1][PC_X_MAX_ACC];
static int pc_x_step_now;
/* The reduced search's sleep set: each sleeping task's next step's
   footprint, as an earlier run recorded it. */
static unsigned pc_x_dsleep;
static unsigned char pc_x_dsleep_nacc[PC_X_MAX_TASKS];
static struct pc_x_acc pc_x_dsleep_acc[PC_X_MAX_TASKS][PC_X_MAX_ACC];

/*
 * Every run starts from a freshly configured model, whose pool, wait table,
 * mappings and buffers may come back at other addresses: a footprint names
 * an address inside one of them by the region and the offset, so that the
 * footprints of two runs compare (a sleep set keeps one from an earlier
 * run).  Static data and the tasks' stacks stay where they are.
 */
#define PC_X_MAX_REGIONS 96
static uintptr_t pc_x_reg_lo[PC_X_MAX_REGIONS], pc_x_reg_hi[PC_X_MAX_REGIONS];
static int pc_x_nreg;

static void pc_x_region(const void *base, unsigned long size)
{
    if (base && size && pc_x_nreg < PC_X_MAX_REGIONS) {
        pc_x_reg_lo[pc_x_nreg] = (uintptr_t)base;
        pc_x_reg_hi[pc_x_nreg] = (uintptr_t)base + size;
        pc_x_nreg++;
    }
}

static uintptr_t pc_x_canon(uintptr_t a)
{
    int r;

    for (r = 0; r < pc_x_nreg; r++)
        if (a >= pc_x_reg_lo[r] && a < pc_x_reg_hi[r])
            return ((uintptr_t)(r + 1) << 52) | (a - pc_x_reg_lo[r]);
    return a;
}

/*
 * A footprint's ranges are of bits, not bytes: the flag word's bit
 * operations touch one bit each, and set_bit(PG_waiters) commutes with
 * clear_bit(PG_writeback) on the same word, as they do in the kernel.  A
 * byte at address a is bits [8a, 8a + 8); on a little-endian machine bit
 * nr of the long at a is bit 8a + nr.
 */
static void pc_x_add_range(int step, uintptr_t lo, uintptr_t hi, int write);

static void pc_x_add(int step, uintptr_t lo, uintptr_t hi, int write)
{
    uintptr_t c = pc_x_canon(lo);

    pc_x_add_range(step, c * 8, (c + (hi - lo)) * 8, write);
}

/* Bit @nr of the long at @a. */
static void pc_x_add_bit(int step, uintptr_t a, long nr, int write)
{
    uintptr_t b = pc_x_canon(a) * 8 + (uintptr_t)nr;

    pc_x_add_range(step, b, b + 1, write);
}

static void pc_x_add_range(int step, uintptr_t lo, uintptr_t hi, int write)
{
    int k, n = pc_x_nacc[step];

    if (n == PC_X_ALL)
        return;
    for (k = 0; k < n; k++) {
        struct pc_x_acc *a = &pc_x_accs[step][k];
        if (a->lo == lo && a->hi == hi) {
            if (a->write != write)
                a->write = 3;   /* two kinds: conflicts as a write does */
            return;
        }
    }
    if (n == PC_X_MAX_ACC) {
        pc_x_nacc[step] = PC_X_ALL;
        return;
    }
    pc_x_accs[step][n].lo = lo;
    pc_x_accs[step][n].hi = hi;
    pc_x_accs[step][n].write = (unsigned char)write;
    pc_x_nacc[step] = (unsigned char)(n + 1);
}

PC_SHARED_FN void pc_x_note(const volatile void *addr, unsigned long len, int write)
{
    if (pc_x_cur < 0)
        return;                 /* the scheduler, or the setup */
    pc_x_add(pc_x_step_now, (uintptr_t)addr, (uintptr_t)addr + len, write);
}

/* test_bit(): a read of one bit. */
PC_SHARED_FN void pc_x_note_bit(const volatile void *addr, long nr)
{
    if (pc_x_cur < 0)
        return;
    pc_x_add_bit(pc_x_step_now, (uintptr_t)addr, nr, 0);
}

/* Two accesses conflict: they overlap, and they are not both reads nor
   both adds. */
static inline int pc_x_kinds_conflict(int a, int b)
{
    return !(a == PC_X_READ && b == PC_X_READ) && !(a == PC_X_ADD && b == PC_X_ADD);
}

/* Two footprints conflict: two of their accesses do. */
static int pc_x_conflict(const struct pc_x_acc *a, int na, const struct pc_x_acc *b, int nb)
{
    int i, j;

    if (na == PC_X_ALL || nb == PC_X_ALL)
        return 1;
    for (i = 0; i < na; i++)
        for (j = 0; j < nb; j++)
            if (pc_x_kinds_conflict(a[i].write, b[j].write) &&
                a[i].lo < b[j].hi && b[j].lo < a[i].hi)
                return 1;
    return 0;
}

static int pc_x_steps_conflict(int s1, int s2)
{
    return pc_x_conflict(pc_x_accs[s1], pc_x_nacc[s1], pc_x_accs[s2], pc_x_nacc[s2]);
}

/*
 * The access a task's pending operation makes when it is chosen: the
 * first entry of its step's footprint.  A spin_lock or spin_unlock writes
 * the lock word, a wake the wakee's state, a sleeper reads its own state;
 * a race point or the start makes none of its own.
 */
static void pc_x_pending_access(int step, struct pc_x_task *t)
{
    uintptr_t a = (uintptr_t)t->addr;

    switch (t->op) {
    case PCX_START:
    case PCX_RACE:
    case PCX_SPIN:
        return;
    case PCX_SPIN_LOCK:
    case PCX_SPIN_UNLOCK:
        pc_x_add(step, a, a + sizeof(int), 1);
        return;
    case PCX_SLEEP:
        pc_x_add(step, a, a + sizeof(int), 0);
        return;
    case PCX_WAKE:
        pc_x_add(step, a, a + sizeof(int), 1);
        return;
    case PCX_ATOMIC_INC:
    case PCX_ATOMIC_DEC_AND_TEST:
        pc_x_add(step, a, a + sizeof(int), 1);
        return;
    case PCX_PAGE_INIT:
        pc_x_add(step, a, a + pc_x_page_size, 1);
        return;
    case PCX_SET_BIT:
    case PCX_CLEAR_BIT:
    case PCX_TEST_AND_SET_BIT:
    case PCX_TEST_AND_SET_BIT_LOCK:
    case PCX_TEST_AND_CLEAR_BIT:
    case PCX_CLEAR_BIT_UNLOCK:
        pc_x_add_bit(step, a, t->arg, 1);
        return;
    case PCX_CLEAR_BIT_UNLOCK_IS_NEGATIVE_BYTE:
        /* ... and its result is bit 7 of the byte, PG_waiters */
        pc_x_add_bit(step, a, t->arg, 1);
        pc_x_add_bit(step, a, 7, 0);
        return;
    case PCX_XOR_UNLOCK_IS_NEGATIVE_BYTE: {
        unsigned long m = (unsigned long)t->arg;
        while (m) {
            pc_x_add_bit(step, a, __builtin_ctzl(m), 1);
            m &= m - 1;
        }
        pc_x_add_bit(step, a, 7, 0);
        return;
    }
    default:
        /* the bit operations and cmpxchg: a read-modify-write of a word */
        pc_x_add(step, a, a + sizeof(long), 1);
    }
}

static void pc_x_classify(struct pc_x_task *t)
{
    uintptr_t a = (uintptr_t)t->addr;

    switch (t->op) {
    case PCX_START:
    case PCX_RACE:
    case PCX_SPIN:
        /* What follows a race point or a spin is not known in advance:
           dependent on everything. */
        t->cls = PCX_CL_ALL;
        t->key = 0;
        return;
    case PCX_SPIN_LOCK:
    case PCX_SPIN_UNLOCK:
        t->cls = PCX_CL_LOCK;
        t->key = a;
        return;
    case PCX_WAKE:
    case PCX_SLEEP:
        t->cls = PCX_CL_TASK;
        t->key = a;
        return;
    default:
        if (a >= pc_x_pool_lo && a < pc_x_pool_hi) {
            /* every field of one struct page is one object: a step that
               does an RMW on the flags also reads the mapping, refcount ... */
            t->cls = PCX_CL_PAGE;
            t->key = pc_x_pool_lo + (a - pc_x_pool_lo) / pc_x_page_size * pc_x_page_size;
        } else {
            t->cls = PCX_CL_OTHER;
            t->key = a;
        }
    }
}

/*
 * Two steps are independent when running them in either order gives the
 * same state.  Conservative: a lock step runs its critical section's
 * entry, which may write page fields, so it depends on any page step; a
 * wake runs on with the wake walk, which reads the page, likewise.
 */
static int pc_x_dependent(int c1, uintptr_t k1, int c2, uintptr_t k2)
{
    if (c1 == PCX_CL_ALL || c2 == PCX_CL_ALL)
        return 1;
    if (c1 == c2)
        return k1 == k2;
    if ((c1 == PCX_CL_TASK && (c2 == PCX_CL_LOCK || c2 == PCX_CL_OTHER)) ||
        (c2 == PCX_CL_TASK && (c1 == PCX_CL_LOCK || c1 == PCX_CL_OTHER)))
        return 0;
    return 1;
}

/* Called at every scheduling point: publish, and give the CPU back. */
PC_SHARED_FN void pc_x_point(int op, const void *addr, long arg)
{
    struct pc_x_task *t;

    if (pc_x_cur < 0)
        return;                 /* the scheduler itself (setting up) */
    t = &pc_x_tasks[pc_x_cur];
    t->op = op;
    t->addr = addr;
    t->arg = arg;
    pc_x_classify(t);
    if (op == PCX_SPIN) {
        /* A spin-wait is a blocking step: it is enabled again once another
           task writes what this step read (the condition it spins on). */
        t->spin_epoch = pc_x_steps;
        t->spin_step = pc_x_step_now;
        t->spin_woken = 0;
    }
    t->touch_page = pc_touch_page;
    t->touch_gen = pc_touch_gen;
    pc_x_cur = -1;
    PC_X_SWAP(&t->ctx, &pc_x_main);
    /* chosen: pc_x_resume() has made this task current again */
}

static void pc_x_trampoline(int i)
{
    pc_x_body(i);
    pc_x_tasks[i].done = 1;
    pc_x_cur = -1;
#if PC_X_FAST_SWITCH
    PC_X_SWAP(&pc_x_tasks[i].ctx, &pc_x_main);     /* never resumed */
    abort();
#endif
    /* returns to pc_x_main through uc_link */
}

#if PC_X_FAST_SWITCH
/* A new task's first switch "returns" into this, with pc_x_cur set. */
static void pc_x_entry(void)
{
    pc_x_trampoline(pc_x_cur);
}
#endif

static int pc_x_enabled(int i)
{
    struct pc_x_task *t = &pc_x_tasks[i];

    if (t->done)
        return 0;
    switch (t->op) {
    case PCX_SPIN_LOCK:
        return !__atomic_load_n(&((spinlock_t *)t->addr)->locked, __ATOMIC_RELAXED);
    case PCX_SLEEP:
        return __atomic_load_n(&t->task.state, __ATOMIC_RELAXED) == TASK_RUNNING;
    case PCX_SPIN:
        return t->spin_woken;
    default:
        return 1;
    }
}

static void pc_x_resume(int i)
{
    struct pc_x_task *t = &pc_x_tasks[i];

    pc_x_cur = i;
    pc_current_task = &t->task;
    pc_touch_page = t->touch_page;
    pc_touch_gen = t->touch_gen;
    pc_x_steps++;
    PC_X_SWAP(&pc_x_main, &t->ctx);
    pc_current_task = NULL;
    pc_touch_page = NULL;
}

/* Set up @n tasks named @names for a new run. */
static int pc_x_setup(int n, const char *const *names)
{
    int i;

    if (n < 1 || n > PC_X_MAX_TASKS)
        return -1;
    for (i = 0; i < n; i++) {
        struct pc_x_task *t = &pc_x_tasks[i];
        if (!t->stack) {
            t->stack = malloc(PC_X_STACK);
            if (!t->stack)
                return -1;
        }
        pc_x_stack_fresh(t->stack, PC_X_STACK);
        memset(&t->task, 0, sizeof(t->task));
        t->task.in_use = 1;
        t->task.pid = i + 1;
        snprintf(t->task.comm, sizeof(t->task.comm), "%s", names[i]);
        t->done = 0;
        t->op = PCX_START;
        t->addr = NULL;
        t->arg = 0;
        t->opi = 0;
        t->touch_page = NULL;
        t->touch_gen = 0;
        pc_x_classify(t);
#if PC_X_FAST_SWITCH
        {
            /* the frame pc_x_switch pops: six registers, then the return
               address; the entry sees a stack aligned as after a call */
            uintptr_t *sp = (uintptr_t *)(((uintptr_t)t->stack + PC_X_STACK) & ~(uintptr_t)15);
            int k;
            *--sp = 0;
            *--sp = (uintptr_t)pc_x_entry;
            for (k = 0; k < 6; k++)
                *--sp = 0;
            t->ctx.sp = sp;
        }
#else
        getcontext(&t->ctx);
        t->ctx.uc_stack.ss_sp = t->stack;
        t->ctx.uc_stack.ss_size = PC_X_STACK;
        t->ctx.uc_link = &pc_x_main;
        makecontext(&t->ctx, (void (*)(void))pc_x_trampoline, 1, i);
#endif
    }
    pc_x_ntasks = n;
    return 0;
}

static void pc_x_snapshot(int step)
{
    int j;

    pc_x_bugs_after[step] = __atomic_load_n(&pc_bug_logged, __ATOMIC_RELAXED);
    for (j = 0; j < pc_x_nsnap; j++) {
        const char *p = (const char *)pc_x_snap_page[j];
        pc_x_snap_flags[step][j] = *(const unsigned long *)p;
        pc_x_snap_ref[step][j] = *(const int *)(p + pc_x_off_refcount);
        pc_x_snap_gen[step][j] = *(const unsigned int *)(p + pc_x_off_gen);
        pc_x_snap_free[step][j] = *(const int *)(p + pc_x_off_free);
    }
}

/*
 * Run one schedule: @prefix[0..nprefix) are forced choices; from step
 * nprefix on, the sleep set starts as @sleep0 and the choice is the
 * current task if enabled (none of it is a preemption), else the lowest
 * enabled task not asleep.  The run stops when every task has finished
 * (DONE), none can run (HANG), the only choices are asleep (SLEEP_BLOCKED:
 * an equivalent schedule is explored elsewhere), after @max_steps (LIMIT),
 * or when a forced choice is not enabled (DIVERGED: the model did not
 * behave as on the run that produced the prefix).
 */
static int pc_x_run(const signed char *prefix, int nprefix, unsigned sleep0, int max_steps,
                    int dpor)
{
    int step, i, cur = -1, end = PCX_END_DONE;
    unsigned sleep = 0;

    if (max_steps > PC_X_MAX_STEPS)
        max_steps = PC_X_MAX_STEPS;
    pc_x_steps = 0;
    pc_x_cur = -1;
    if (dpor && nprefix == 0)
        sleep = pc_x_dsleep;
    __atomic_store_n(&pc_x_active, 1, __ATOMIC_SEQ_CST);
    for (step = 0;; step++) {
        unsigned en = 0, cand;
        int t = -1, alive = 0;

        for (i = 0; i < pc_x_ntasks; i++) {
            struct pc_x_task *x = &pc_x_tasks[i];
            if (!x->done)
                alive++;
            if (pc_x_enabled(i))
                en |= 1u << i;
            pc_x_pop[step][i] = (unsigned char)x->op;
            pc_x_pcls[step][i] = (unsigned char)x->cls;
            pc_x_pkey[step][i] = x->key;
        }
        if (step == nprefix && !dpor)
            sleep = sleep0;
        pc_x_enabled_at[step] = (unsigned char)en;
        pc_x_sleep_at[step] = (unsigned char)sleep;
        pc_x_chosen[step] = -1;
        if (!en) {
            end = alive ? PCX_END_HANG : PCX_END_DONE;
            break;
        }
        if (step >= max_steps) {
            end = PCX_END_LIMIT;
            break;
        }
        if (step < nprefix) {
            t = prefix[step];
            if (t < 0 || t >= pc_x_ntasks || !(en >> t & 1)) {
                end = PCX_END_DIVERGED;
                break;
            }
        } else if (dpor) {
            /* Any order will do: the reduction, not the bound, decides
               which others are run.  The current task goes on if it can. */
            cand = en & ~sleep;
            if (!cand) {
                end = PCX_END_SLEEP_BLOCKED;
                break;
            }
            t = (cur >= 0 && (cand >> cur & 1)) ? cur : __builtin_ctz(cand);
        } else {
            cand = en & ~sleep;
            if (cur >= 0 && (en >> cur & 1)) {
                if (sleep >> cur & 1) {
                    end = PCX_END_SLEEP_BLOCKED;
                    break;
                }
                t = cur;
            } else if (cand) {
                t = __builtin_ctz(cand);
            } else {
                end = PCX_END_SLEEP_BLOCKED;
                break;
            }
            /* Sleepers whose step depends on the one taken wake up. */
            for (i = 0; i < pc_x_ntasks; i++)
                if ((sleep >> i & 1) &&
                    pc_x_dependent(pc_x_pcls[step][i], pc_x_pkey[step][i],
                                   pc_x_pcls[step][t], pc_x_pkey[step][t]))
                    sleep &= ~(1u << i);
        }
        pc_x_chosen[step] = (signed char)t;
        if (pc_x_record) {
            pc_x_addr_at[step] = pc_x_tasks[t].addr;
            pc_x_arg_at[step] = pc_x_tasks[t].arg;
            pc_x_opi_at[step] = (short)pc_x_tasks[t].opi;
        }
        pc_x_step_now = step;
        pc_x_nacc[step] = 0;
        pc_x_pending_access(step, &pc_x_tasks[t]);
        pc_x_resume(t);
        if (pc_x_record)
            pc_x_snapshot(step);
        cur = t;
        /* Spinners whose condition this step wrote may look again. */
        for (i = 0; i < pc_x_ntasks; i++) {
            struct pc_x_task *x = &pc_x_tasks[i];
            if (i != t && !x->done && x->op == PCX_SPIN && !x->spin_woken &&
                pc_x_steps_conflict(x->spin_step, step))
                x->spin_woken = 1;
        }
        /* The reduced search's sleep set, from the step after the prefix's
           last choice: a sleeper wakes when a step depends on its own. */
        if (dpor && step >= nprefix - 1) {
            if (step == nprefix - 1)
                sleep = pc_x_dsleep & ~(1u << t);
            for (i = 0; i < pc_x_ntasks; i++)
                if ((sleep >> i & 1) &&
                    pc_x_conflict(pc_x_dsleep_acc[i], pc_x_dsleep_nacc[i],
                                  pc_x_accs[step], pc_x_nacc[step]))
                    sleep &= ~(1u << i);
        }
    }
    __atomic_store_n(&pc_x_active, 0, __ATOMIC_SEQ_CST);
    pc_x_cur = -1;
    pc_x_nsteps = step;
    return end;
}

/*
 * The sleep set of the child reached by choosing @u at @step, when the
 * tasks in @prior were (or will be) chosen there before it: those of
 * them, and of the step's own sleep set, whose steps are independent of u's.
 */
static unsigned pc_x_child_sleep(int step, int u, unsigned prior)
{
    unsigned z = (pc_x_sleep_at[step] | prior) & ~(1u << u), out = 0;
    int i;

    for (i = 0; i < pc_x_ntasks; i++)
        if ((z >> i & 1) &&
            !pc_x_dependent(pc_x_pcls[step][i], pc_x_pkey[step][i],
                            pc_x_pcls[step][u], pc_x_pkey[step][u]))
            out |= 1u << i;
    return out;
}


/*
 * The races of the last run, for source-DPOR (Abdulla, Aronis, Jonsson and
 * Sagonas, "Optimal dynamic partial order reduction", POPL 2014; Nidhugg
 * implements it).  Happens-before is program order plus the order of every
 * two dependent steps, kept as vector clocks: pc_x_vc[s][t] counts the
 * steps of task t that happen before step s, s included.  Steps i < j of
 * two tasks race when they are dependent and no third step orders them
 * (i happens before j only through their own dependence): then the run
 * with j's task going first at i is a schedule of another class, and the
 * search must try it.  For each race this gives the "initials" of that
 * reversal: the tasks whose next step can start it (their first step in
 * what follows i, less what happens after i, then j), one of which must
 * run at i.  Races at steps before @from are not reported (whoever split
 * the schedule tree there runs every choice).
 */
static unsigned short pc_x_vc[PC_X_MAX_STEPS + 1][PC_X_MAX_TASKS];
static unsigned short pc_x_lidx[PC_X_MAX_STEPS + 1];

static unsigned pc_x_initials(int i, int j)
{
    int first[PC_X_MAX_TASKS], k, t, t2, q = pc_x_chosen[i], n = pc_x_ntasks;
    unsigned mask = 0;

    for (t = 0; t < n; t++)
        first[t] = -1;
    for (k = i + 1; k < j; k++)
        if (pc_x_vc[k][q] < pc_x_lidx[i] && first[(int)pc_x_chosen[k]] < 0)
            first[(int)pc_x_chosen[k]] = k;
    if (first[(int)pc_x_chosen[j]] < 0)
        first[(int)pc_x_chosen[j]] = j;
    for (t = 0; t < n; t++) {
        int ok = first[t] >= 0;
        for (t2 = 0; ok && t2 < n; t2++)
            if (t2 != t && first[t2] >= 0 && pc_x_vc[first[t]][t2] >= pc_x_lidx[first[t2]])
                ok = 0;
        if (ok)
            mask |= 1u << t;
    }
    return mask;
}

static int pc_x_is_lock(int step, int op)
{
    return pc_x_pop[step][(int)pc_x_chosen[step]] == op;
}

/* The spin_lock step whose hold the spin_unlock at @u ends. */
static int pc_x_acquire_of(int u)
{
    int k, t = pc_x_chosen[u];
    uintptr_t key = pc_x_pkey[u][t];

    for (k = u - 1; k >= 0; k--)
        if (pc_x_chosen[k] == t && pc_x_pop[k][t] == PCX_SPIN_LOCK && pc_x_pkey[k][t] == key)
            return k;
    return -1;
}

/*
 * The initials of running the lock at @j before the lock at @i: as
 * pc_x_initials(), unless j's task did something in between that follows
 * from i's critical section; then any task may be needed first (the
 * search tries every one that can run at i).
 */
static unsigned pc_x_lock_initials(int i, int j)
{
    int k, q = pc_x_chosen[i], p = pc_x_chosen[j];

    for (k = i + 1; k < j; k++)
        if (pc_x_chosen[k] == p && pc_x_vc[k][q] >= pc_x_lidx[i])
            return ~0u;
    return pc_x_initials(i, j);
}

static int pc_x_races(int from, int *ri, unsigned *rinit, int max)
{
    int n = pc_x_nsteps, j, i, t, nr = 0, nc;
    int last[PC_X_MAX_TASKS], cand[PC_X_MAX_STEPS];
    unsigned short cnt[PC_X_MAX_TASKS];

    for (t = 0; t < PC_X_MAX_TASKS; t++) {
        last[t] = -1;
        cnt[t] = 0;
    }
    for (j = 0; j < n; j++) {
        int p = pc_x_chosen[j];
        unsigned short *J = pc_x_vc[j];

        if (last[p] >= 0)
            memcpy(J, pc_x_vc[last[p]], sizeof(pc_x_vc[0]));
        else
            memset(J, 0, sizeof(pc_x_vc[0]));
        nc = 0;
        for (i = j - 1; i >= 0; i--) {
            int q = pc_x_chosen[i];
            if (q == p || !pc_x_steps_conflict(i, j))
                continue;
            if (J[q] < pc_x_lidx[i])
                cand[nc++] = i;
            for (t = 0; t < PC_X_MAX_TASKS; t++)
                if (pc_x_vc[i][t] > J[t])
                    J[t] = pc_x_vc[i][t];
        }
        J[p] = ++cnt[p];
        pc_x_lidx[j] = cnt[p];
        last[p] = j;
        for (i = 0; i < nc; i++) {
            int r = cand[i];
            unsigned init;
            if (pc_x_is_lock(j, PCX_SPIN_LOCK) && pc_x_is_lock(r, PCX_SPIN_UNLOCK) &&
                pc_x_pkey[r][(int)pc_x_chosen[r]] == pc_x_pkey[j][p]) {
                /* A lock taken after another task's unlock: the unlock and
                   the lock cannot swap (the lock waits), the two critical
                   sections can.  The race is with the lock that unlock ends. */
                r = pc_x_acquire_of(r);
                if (r < 0)
                    continue;
                init = pc_x_lock_initials(r, j);
            } else {
                init = pc_x_initials(r, j);
            }
            if (r < from || nr >= max)
                continue;
            ri[nr] = r;
            rinit[nr] = init;
            nr++;
        }
    }
    return nr;
}

#endif /* PAGECORE_EXPLORE_SCHED_H */
