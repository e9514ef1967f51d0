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
PC_SHARED_FN void pc_race(int rp);
#else
#define pc_race(rp) ((void)0)
#endif

static const char *const pc_race_point_names[RP_NR] = {
#define PC_WINDOW(up, name, where, what) #name,
#include "registry.def"
};

static const char *const pc_event_names[PC_EV_NR] = {
#define PC_EVENT(up, name, what) #name,
#include "registry.def"
};

/* ------------------------------------------------------------------ */
/* Race-point gates                                                    */
/* ------------------------------------------------------------------ */

#ifndef PAGECORE_VARIANT
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

#endif /* !PAGECORE_VARIANT */

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

#if defined(PAGECORE_INSTRUMENT) && !defined(PAGECORE_VARIANT)
PC_SHARED_FN void pc_race(int rp)
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

#ifndef PAGECORE_VARIANT
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
#endif /* !PAGECORE_VARIANT */

/* ------------------------------------------------------------------ */
/* What went wrong: BUG_ONs and touches of freed pages                 */
/* ------------------------------------------------------------------ */

/*
 * The kernel crashes on these; the model records them and goes on, so that
 * one run can count them.  They exist in both builds, as BUG_ON does, except
 * touches, which only the instrumented build checks.
 */
enum pc_bug_kind {
#define PC_BUGKIND(up, name, what) PC_BUG_##up,
#include "registry.def"
    PC_BUG_NR
};

PC_SHARED_FN void pc_bug_op(int kind, const void *page, const char *site, const char *op,
                          unsigned long a, unsigned long b);

static inline void pc_bug(int kind, const void *page, const char *site, unsigned long a,
                          unsigned long b)
{
    pc_bug_op(kind, page, site, NULL, a, b);
}

#ifndef PAGECORE_VARIANT
/* The page the touch check watches (pc_touch_begin(), below). */
static __thread const void *pc_touch_page;
static __thread unsigned int pc_touch_gen;

static const char *const pc_bug_names[PC_BUG_NR] = {
#define PC_BUGKIND(up, name, what) #name,
#include "registry.def"
};

struct pc_bug_record {
    int kind;
    int pid;
    const void *page;
    unsigned long a, b;
    const char *site;           /* the kernel function */
    const char *op;             /* the primitive, for a touch; NULL otherwise */
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

PC_SHARED_FN void pc_bug_op(int kind, const void *page, const char *site, const char *op,
                          unsigned long a, unsigned long b)
{
    unsigned long i;

    if (__atomic_fetch_add(&pc_bug_counts[kind], 1, __ATOMIC_SEQ_CST) >= PC_BUG_LOG_PER_KIND)
        return;
    i = __atomic_fetch_add(&pc_bug_logged, 1, __ATOMIC_SEQ_CST);
    if (i < PC_BUG_LOG) {
        struct pc_bug_record *r = &pc_bug_log[i];
        r->kind = kind;
        r->pid = current->pid;
        /* BUG() names no page: in end_page_writeback() it is the page the
           touch check is watching */
        r->page = page ? page : pc_touch_page;
        r->a = a;
        r->b = b;
        r->site = site;
        r->op = op;
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
 * the current end_page_writeback() started with (pc_touch_begin(), called
 * by whoever calls end_page_writeback()), and every later bitop or atomic
 * on that struct page (pc_touch_addr(), called by the primitives of
 * atomic.h) checks it is still the same allocation.  The geometry of
 * struct page comes from pagecore/mm.h, above this header.
 */

static size_t pc_touch_size, pc_touch_off_gen, pc_touch_off_free;

#ifdef PAGECORE_INSTRUMENT
/* pc_gen and pc_free are stored atomically by alloc_page() and __free_page()
   on other threads while this reads them: relaxed loads. */
#define pc_touch_field(p, off, type)                                           \
    __atomic_load_n((const type *)((const char *)(p) + (off)), __ATOMIC_RELAXED)
#define pc_touch_begin(p)                                                      \
    (pc_touch_page = (p),                                                      \
     pc_touch_gen = pc_touch_field((p), pc_touch_off_gen, unsigned int))
#define pc_touch_end() (pc_touch_page = NULL)

PC_SHARED_FN void pc_touch_addr(const volatile void *addr, const char *site, const char *op)
{
    const char *p = (const char *)pc_touch_page;
    unsigned int gen;

    if (!p || (const char *)addr < p || (const char *)addr >= p + pc_touch_size)
        return;
    gen = pc_touch_field(p, pc_touch_off_gen, unsigned int);
    if (gen != pc_touch_gen || pc_touch_field(p, pc_touch_off_free, int))
        pc_bug_op(PC_BUG_FREED_PAGE, p, site, op, pc_touch_gen, gen);
}
#else
#define pc_touch_begin(p) ((void)0)
#define pc_touch_end() ((void)0)
#endif

#endif /* !PAGECORE_VARIANT */

#endif /* PAGECORE_RUNTIME_H */
