/*
 * pagecore/kernel/include/pagecore/runtime.h: the model's runtime, not the kernel's: the
 * race-point gates, and the log of BUG_ONs and touches of freed pages.
 * It includes atomic.h (and through it task.h, the task pool); neither of
 * those includes it.
 */
#ifndef PAGECORE_RUNTIME_H
#define PAGECORE_RUNTIME_H

#include <stdio.h>
#include <stdlib.h>
#include "task.h"
#include "atomic.h"

/*
 * pc_race(): a named race point (see enum pc_race_point).  The instrumented
 * build parks or slows a task here; the timed build compiles it away.
 */
#ifdef PAGECORE_INSTRUMENT
static void pc_race(int rp);
#else
#define pc_race(rp) ((void)0)
#endif

static const char *const pc_race_point_names[RP_NR] = {
    "ewb_after_clear", "ewb_under_i_pages", "wake_breather", "wake_before_clear",
    "wait_queued", "wait_woken", "cpdfio_mid", "writepage_mid", "truncate_before_free",
    "wake_after_clear", "fault_mid", "wait_after_schedule", "ewb_waiters_tested",
};

/* ------------------------------------------------------------------ */
/* Race-point gates                                                    */
/* ------------------------------------------------------------------ */

struct pc_gate {
    int armed;          /* how many more arrivals to park here */
    int target_pid;     /* park only this task (0: any) */
    int arrived;        /* futex word: tasks parked now */
    int release_gen;    /* futex word: bumped to let the parked tasks go */
    long delay_ns;      /* stress: widen the window by this much ... */
    unsigned int prob;  /* ... with probability prob / 65536 */
    unsigned long hits;
};

static struct pc_gate pc_gates[RP_NR];
static __thread unsigned int pc_rand_state;

static inline unsigned int pc_rand(void)
{
    unsigned int x = pc_rand_state;
    if (!x)
        x = 0x9e3779b9u ^ (unsigned int)(uintptr_t)&x;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pc_rand_state = x;
    return x;
}

static inline void pc_delay_ns(long ns)
{
    struct timespec t0, t1;

    /* Short windows spin, long ones sleep: a sleep under 50us is mostly
       scheduler latency, and spinning keeps the widened window honest. */
    if (ns >= 50000) {
        struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
        nanosleep(&ts, NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        cpu_relax();
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < ns);
}

#ifdef PAGECORE_INSTRUMENT
static void pc_race(int rp)
{
    struct pc_gate *g = &pc_gates[rp];
    int armed;

    pc_sched(PCX_RACE, NULL, rp);
    __atomic_fetch_add(&g->hits, 1, __ATOMIC_RELAXED);
    armed = __atomic_load_n(&g->armed, __ATOMIC_ACQUIRE);
    while (armed > 0 && (READ_ONCE(g->target_pid) == 0 ||
                         READ_ONCE(g->target_pid) == current->pid)) {
        if (__atomic_compare_exchange_n(&g->armed, &armed, armed - 1, 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE)) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            int gen = __atomic_load_n(&g->release_gen, __ATOMIC_ACQUIRE);
            const char *was = READ_ONCE(current->where);

            WRITE_ONCE(current->where, pc_race_point_names[rp]);
            __atomic_fetch_add(&g->arrived, 1, __ATOMIC_SEQ_CST);
            pc_futex(&g->arrived, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
            while (__atomic_load_n(&g->release_gen, __ATOMIC_ACQUIRE) == gen &&
                   !READ_ONCE(pc_abort))
                pc_futex(&g->release_gen, FUTEX_WAIT_PRIVATE, gen, &ts);
            __atomic_fetch_sub(&g->arrived, 1, __ATOMIC_SEQ_CST);
            WRITE_ONCE(current->where, was);
            break;
        }
    }
    /* the stress settings may be reset while a straggler passes here */
    if (READ_ONCE(g->delay_ns) && (pc_rand() & 0xffff) < READ_ONCE(g->prob))
        pc_delay_ns(READ_ONCE(g->delay_ns));
}

#endif

/* Wait (GIL released by the caller) until @n tasks are parked at @rp. */
static int pc_gate_wait_arrived(int rp, int n, long timeout_ns)
{
    struct pc_gate *g = &pc_gates[rp];
    struct timespec t0, t1, ts = {0, 5 * 1000 * 1000};
    int a;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((a = __atomic_load_n(&g->arrived, __ATOMIC_ACQUIRE)) < n) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) > timeout_ns)
            return 0;
        pc_futex(&g->arrived, FUTEX_WAIT_PRIVATE, a, &ts);
    }
    return 1;
}

static void pc_gate_release(int rp)
{
    struct pc_gate *g = &pc_gates[rp];

    __atomic_store_n(&g->armed, 0, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&g->release_gen, 1, __ATOMIC_SEQ_CST);
    pc_futex(&g->release_gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/* ------------------------------------------------------------------ */
/* What went wrong: BUG_ONs and touches of freed pages                 */
/* ------------------------------------------------------------------ */

/*
 * The kernel crashes on these; the model records them and goes on, so that
 * one run can count them.  They exist in both builds, as BUG_ON does, except
 * touches, which only the instrumented build checks.
 */
enum pc_bug_kind {
    PC_BUG_WRITEBACK_AFTER_WAIT,  /* BUG_ON(PageWriteback) after wait_on_page_writeback */
    PC_BUG_FREED_PAGE,            /* a touch of a page freed or reused meanwhile */
    PC_BUG_NOT_UNDER_WRITEBACK,   /* end_page_writeback: BUG() if it was clear */
    PC_BUG_BAD_PAGE,              /* freed with PG_locked or PG_writeback set */
    PC_BUG_LOST_WRITE,            /* data written through a mapping never reached disk */
    PC_BUG_NR
};

static const char *const pc_bug_names[PC_BUG_NR] = {
    "bug_on", "freed_page", "not_under_writeback", "bad_page", "lost_write",
};

struct pc_bug_record {
    int kind;
    int pid;
    const void *page;
    unsigned long a, b;
    const char *site;
    char comm[32];
};

/*
 * The log keeps the first PC_BUG_LOG_PER_KIND records of each kind, so that
 * a run that trips one BUG_ON thousands of times still shows the first
 * touch of a freed page that came after them.
 */
#define PC_BUG_LOG 64
#define PC_BUG_LOG_PER_KIND (PC_BUG_LOG / PC_BUG_NR)
static struct pc_bug_record pc_bug_log[PC_BUG_LOG];
static unsigned long pc_bug_logged;
static unsigned long pc_bug_counts[PC_BUG_NR];

static void pc_bug(int kind, const void *page, const char *site, unsigned long a, unsigned long b)
{
    unsigned long i;

    if (__atomic_fetch_add(&pc_bug_counts[kind], 1, __ATOMIC_SEQ_CST) >= PC_BUG_LOG_PER_KIND)
        return;
    i = __atomic_fetch_add(&pc_bug_logged, 1, __ATOMIC_SEQ_CST);
    if (i < PC_BUG_LOG) {
        struct pc_bug_record *r = &pc_bug_log[i];
        r->kind = kind;
        r->pid = current->pid;
        r->page = page;
        r->a = a;
        r->b = b;
        r->site = site;
        memcpy(r->comm, current->comm, sizeof(r->comm));
    }
}

static void pc_bug_reset(void)
{
    memset(pc_bug_counts, 0, sizeof(pc_bug_counts));
    __atomic_store_n(&pc_bug_logged, 0, __ATOMIC_SEQ_CST);
}

/*
 * A page that end_page_writeback() holds no reference on may be freed and
 * reused under it.  The instrumented build notes which page and generation
 * the current end_page_writeback() started with, and every later touch of
 * that page checks it is still the same allocation.
 */
static __thread const void *pc_touch_page;
static __thread unsigned int pc_touch_gen;
/*
 * @gen and @freed are the page's own pc_gen and pc_free fields (lvalues):
 * alloc_page() and __free_page() store them atomically on other threads
 * while this reads them, so they are read here with relaxed loads, not by
 * the caller.
 */
#ifdef PAGECORE_INSTRUMENT
#define pc_touch_begin(p, gen)                                                 \
    (pc_touch_page = (p), pc_touch_gen = __atomic_load_n(&(gen), __ATOMIC_RELAXED))
#define pc_touch_end() (pc_touch_page = NULL)
#define pc_touch(p, gen, freed, site)                                          \
    do {                                                                       \
        if (pc_touch_page == (const void *)(p)) {                              \
            unsigned int pc_g_ = __atomic_load_n(&(gen), __ATOMIC_RELAXED);    \
            if (pc_g_ != pc_touch_gen || __atomic_load_n(&(freed), __ATOMIC_RELAXED)) \
                pc_bug(PC_BUG_FREED_PAGE, (p), (site), pc_touch_gen, pc_g_);   \
        }                                                                      \
    } while (0)
#else
#define pc_touch_begin(p, gen) ((void)0)
#define pc_touch_end() ((void)0)
#define pc_touch(p, gen, freed, site) ((void)0)
#endif

#endif /* PAGECORE_RUNTIME_H */
