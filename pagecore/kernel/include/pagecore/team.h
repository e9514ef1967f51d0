/*
 * pagecore/kernel/include/pagecore/team.h: what the timed loops of _loops.pxi need around
 * the model: a monotonic clock, event counts taken over the timed regions
 * only, a team of pthreads released together, and one helper thread.
 *
 * A benchmark times only what it means to time.  Set-up done between timed
 * regions (setting PG_writeback again, letting a waiter go back to sleep)
 * is neither timed nor counted: pc_region_begin()/pc_region_end() read the
 * clock and, in the instrumented build, snapshot the event counters at the
 * same two points, so "events per operation" describes exactly the code
 * that the timing covers.  In the timed build PC_INSTRUMENTED is 0 and the
 * snapshots compile to nothing.
 *
 * Team threads are C pthreads, each with its own task_struct.  They gather
 * at a start line and spin there (yielding, so that more threads than CPUs
 * still get there); the coordinator reads the clock and releases them with
 * one store, then sleeps until the last one finishes.  Elapsed time runs
 * from the release to the last thread's end, as will-it-scale measures.
 */
#ifndef PAGECORE_TEAM_H
#define PAGECORE_TEAM_H

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"

/* ------------------------------------------------------------------ */
/* Clock and counted regions                                           */
/* ------------------------------------------------------------------ */

static inline int64_t pc_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * What one back-to-back pair of clock reads measures, in ns: subtracted from
 * loops that must read the clock around every operation (those with a
 * sleeping waiter), so that their figure is the operation's alone.
 */
static int64_t pc_clock_pair_ns(void)
{
    int64_t best = INT64_MAX, sum = 0, t0, t1;
    int i;

    for (i = 0; i < 256; i++) {
        t0 = pc_clock_ns();
        t1 = pc_clock_ns();
        sum += t1 - t0;
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    /* the mean, unless a preemption spoiled it */
    sum /= 256;
    return sum > 4 * best ? best : sum;
}

static unsigned long pc_region_ev0[PC_EV_NR];
static unsigned long pc_region_acc[PC_EV_NR];

/*
 * A region of one thread (pc_region_begin()/pc_region_end()) snapshots that
 * thread's own counts (pc_thread_events); a team's region, the sum over
 * threads (@all).
 */
static inline unsigned long pc_region_read(int all, int i)
{
    return all ? __atomic_load_n(&pc_events[i], __ATOMIC_SEQ_CST) : pc_thread_events[i];
}

static inline void pc_region_snap_of(int all)
{
    int i;
    if (PC_INSTRUMENTED)
        for (i = 0; i < PC_EV_NR; i++)
            pc_region_ev0[i] = pc_region_read(all, i);
}

static inline void pc_region_accum_of(int all)
{
    int i;
    if (PC_INSTRUMENTED)
        for (i = 0; i < PC_EV_NR; i++)
            pc_region_acc[i] += pc_region_read(all, i) - pc_region_ev0[i];
}

/* Events outside a timed region that still belong to the operation. */
static inline void pc_region_add(int ev, unsigned long n)
{
    if (PC_INSTRUMENTED)
        pc_region_acc[ev] += n;
}

static inline unsigned long pc_event_count(int ev)
{
    return __atomic_load_n(&pc_events[ev], __ATOMIC_SEQ_CST);
}

static inline int64_t pc_region_begin(void)
{
    pc_region_snap_of(0);
    return pc_clock_ns();
}

static inline int64_t pc_region_end(int64_t t0)
{
    int64_t t1 = pc_clock_ns();
    pc_region_accum_of(0);
    return t1 - t0;
}

static void pc_region_reset(void)
{
    memset(pc_region_acc, 0, sizeof(pc_region_acc));
}

/* ------------------------------------------------------------------ */
/* Waiting in the harness (never inside a timed region's operation)    */
/* ------------------------------------------------------------------ */

/* Spin a little, then yield: a 2-CPU machine may run more threads than CPUs. */
static inline void pc_backoff(int *spins)
{
    if (++*spins < 512) {
        cpu_relax();
    } else {
        *spins = 0;
        sched_yield();
    }
}

static inline void pc_spin_ns(int64_t ns)
{
    int64_t end = pc_clock_ns() + ns;
    while (pc_clock_ns() < end)
        cpu_relax();
}

static inline int pc_gettid(void)
{
    return (int)syscall(SYS_gettid);
}

/*
 * The scheduler's view of thread @tid: 'S' once it sleeps in futex_wait,
 * 'R' while it runs or is on its way there; 0 if it cannot be read.
 */
static char pc_thread_state(int tid)
{
    char path[64], buf[512], *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Wait until task @t, thread @tid, really sleeps: PC_TASK_ASLEEP set in
 * io_schedule(), and the kernel reporting it asleep in futex_wait.  Without
 * the second check a wake could catch the waiter between the two, and
 * cost a futex_wake that finds nobody.  Gives up after @timeout_ns; returns
 * whether it saw the sleep.
 */
static int pc_wait_asleep(struct task_struct *t, int tid, int64_t timeout_ns)
{
    int64_t end = pc_clock_ns() + timeout_ns;
    int spins = 0;

    while (!(__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & PC_TASK_ASLEEP)) {
        if (pc_clock_ns() > end || READ_ONCE(pc_abort))
            return 0;
        pc_backoff(&spins);
    }
    while (pc_thread_state(tid) == 'R') {
        if (pc_clock_ns() > end || READ_ONCE(pc_abort))
            return 0;
        if (!(__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & PC_TASK_ASLEEP))
            return 0;
        sched_yield();
    }
    return 1;
}

/* The harness's own futex hand-offs (bounded, so pc_abort is seen). */
static inline long pc_futex_wake_one(int *uaddr)
{
    return pc_futex(uaddr, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static inline long pc_futex_wait_val(int *uaddr, int val)
{
    struct timespec ts = {0, 100 * 1000 * 1000};
    return pc_futex(uaddr, FUTEX_WAIT_PRIVATE, val, &ts);
}

/*
 * A waker and its wakee on two CPUs of their own: the wake then costs what
 * a wake across CPUs costs, and the wakee never preempts the waker inside
 * its timed region, nor adds its own events there.  Off with one CPU.
 */
struct pc_pin {
    int on;
    cpu_set_t old;
};

static int pc_pin_begin(struct pc_pin *pin, int which)
{
    cpu_set_t set, one;
    int i, n = 0, cpu = -1;

    pin->on = 0;
    if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0)
        return 0;
    for (i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &set)) {
            if (n == which)
                cpu = i;
            n++;
        }
    }
    if (n < 2 || cpu < 0)
        return 0;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one) != 0)
        return 0;
    pin->old = set;
    pin->on = 1;
    return 1;
}

static void pc_pin_end(struct pc_pin *pin)
{
    if (pin->on)
        pthread_setaffinity_np(pthread_self(), sizeof(pin->old), &pin->old);
    pin->on = 0;
}

/*
 * The harness may pin the timed (calling) thread to one CPU, so that each
 * value comes from a known CPU (pc_pin_cpu).  The threads a loop starts
 * beside it (a waiter, a team) must not inherit that one-CPU mask: they
 * start from the mask the process had before the pin, less the pinned CPU
 * where that leaves any, so a waker and its wakee still run on two CPUs.
 */
static int pc_pinned_cpu = -1;
static cpu_set_t pc_unpinned_mask;

static int pc_pin_cpu(int cpu)
{
    cpu_set_t one, cur;

    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return -1;
    if (pc_pinned_cpu < 0) {
        if (pthread_getaffinity_np(pthread_self(), sizeof(cur), &cur) != 0)
            return -1;
        if (!CPU_ISSET(cpu, &cur))
            return -1;
    } else if (!CPU_ISSET(cpu, &pc_unpinned_mask)) {
        return -1;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one) != 0)
        return -1;
    if (pc_pinned_cpu < 0)
        pc_unpinned_mask = cur;
    pc_pinned_cpu = cpu;
    return 0;
}

static int pc_unpin_cpu(void)
{
    if (pc_pinned_cpu < 0)
        return 0;
    if (pthread_setaffinity_np(pthread_self(), sizeof(pc_unpinned_mask),
                               &pc_unpinned_mask) != 0)
        return -1;
    pc_pinned_cpu = -1;
    return 0;
}

/* In a thread started beside the timed one: leave the timed thread's CPU. */
static void pc_leave_pinned_cpu(int keep_it)
{
    cpu_set_t set;

    if (pc_pinned_cpu < 0)
        return;
    set = pc_unpinned_mask;
    if (!keep_it && CPU_COUNT(&set) > 1)
        CPU_CLR(pc_pinned_cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static inline int pc_current_cpu(void)
{
    return sched_getcpu();
}

/* The watchdog's way out, as abort_all(): every sleeper gives up.  What
   each task was doing goes to stderr first: a hang is a finding. */
static void pc_abort_everyone(void)
{
    int i;

    for (i = 0; i < PC_MAX_TASKS; i++) {
        struct task_struct *t = &pc_tasks[i];
        if (!__atomic_load_n(&t->in_use, __ATOMIC_ACQUIRE))
            continue;
        fprintf(stderr, "pagecore: hung: %s (pid %d) state %#x in %s", t->comm, t->pid,
                __atomic_load_n(&t->state, __ATOMIC_ACQUIRE),
                t->where ? t->where : "running");
        if (t->where && t->wait_page)
            fprintf(stderr, " bit %d, page flags %#lx", t->wait_bit,
                    __atomic_load_n((const unsigned long *)t->wait_page, __ATOMIC_ACQUIRE));
        fputc('\n', stderr);
    }

    __atomic_store_n(&pc_abort, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < PC_MAX_TASKS; i++)
        if (__atomic_load_n(&pc_tasks[i].in_use, __ATOMIC_ACQUIRE))
            wake_up_state(&pc_tasks[i], TASK_NORMAL);
}

/* ------------------------------------------------------------------ */
/* Placement: a seeded generator, and lines evicted from the caches    */
/* ------------------------------------------------------------------ */

/* splitmix64: the seeded, reproducible choices of where things go. */
static inline uint64_t pc_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/*
 * A colliding wait-queue entry lives on another sleeping task's stack, and
 * the waker usually finds it in no cache of its own.  Cold mode evicts
 * each entry's line before the timed wake: clflush on x86-64 (from every
 * level, then an mfence so the flushes are done before the clock starts);
 * elsewhere, a walk over a buffer twice the size of the last-level cache,
 * which pushes out everything else too (slower, and cruder).
 */
#ifdef __x86_64__
#define PC_EVICT_BY_CLFLUSH 1
static inline void pc_evict_line(const void *p)
{
    __asm__ __volatile__("clflush %0" : "+m"(*(volatile char *)p));
}

static inline void pc_evict_done(void)
{
    __asm__ __volatile__("mfence" ::: "memory");
}
#else
#define PC_EVICT_BY_CLFLUSH 0
static volatile unsigned char *pc_evict_buf;
static size_t pc_evict_bytes;

static inline void pc_evict_line(const void *p)
{
    (void)p;
}

static void pc_evict_done(void)
{
    size_t i;
    unsigned sum = 0;

    if (!pc_evict_buf) {
        long llc = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
        llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
        if (llc <= 0)
            llc = 32L << 20;
        pc_evict_bytes = 2 * (size_t)llc;
        pc_evict_buf = calloc(1, pc_evict_bytes);
        if (!pc_evict_buf)
            return;
    }
    for (i = 0; i < pc_evict_bytes; i += 64)
        sum += pc_evict_buf[i]++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    (void)sum;
}
#endif

/*
 * The scheduler's view of another thread, for loops whose helper sleeps
 * on a futex word of its own (not a task_struct): 'S' once asleep.
 */
static int pc_wait_thread_sleeps(int tid, int64_t timeout_ns)
{
    int64_t end = pc_clock_ns() + timeout_ns;

    while (pc_thread_state(tid) == 'R') {
        if (pc_clock_ns() > end || READ_ONCE(pc_abort))
            return 0;
        sched_yield();
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* The team                                                            */
/* ------------------------------------------------------------------ */

typedef void (*pc_team_body)(void *arg, int idx, long loops);

#define PC_TEAM_MAX 1024

struct pc_team;

struct pc_team_member {
    pthread_t tid;
    struct pc_team *team;
    int idx;
    int64_t t_end;
};

struct pc_team {
    pc_team_body body;
    void *arg;
    long loops;
    int n;
    int pin;            /* thread i on the i-th CPU it may run on */
    int arrived;
    int go;
    int finished;       /* futex word: the coordinator sleeps on it */
    struct pc_team_member m[PC_TEAM_MAX];
};

static void *pc_team_thread(void *p)
{
    struct pc_team_member *m = p;
    struct pc_team *t = m->team;
    char name[32];
    int spins = 0;

    struct pc_pin pin;

    snprintf(name, sizeof(name), "bench-%d", m->idx);
    /* a team spreads over every CPU, the timed thread's included */
    pc_leave_pinned_cpu(1);
    if (t->pin)
        pc_pin_begin(&pin, m->idx);
    pc_task_attach(name);
    __atomic_fetch_add(&t->arrived, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&t->go, __ATOMIC_ACQUIRE))
        pc_backoff(&spins);
    t->body(t->arg, m->idx, t->loops);
    m->t_end = pc_clock_ns();
    if (__atomic_add_fetch(&t->finished, 1, __ATOMIC_SEQ_CST) == t->n)
        pc_futex(&t->finished, FUTEX_WAKE_PRIVATE, 1, NULL);
    pc_task_detach();
    return NULL;
}

/*
 * Run @body(arg, idx, loops) on @n threads released together (@pin: each
 * on a CPU of its own, where there are enough); return the
 * ns from the release to the last thread's end, -1 if threads could not be
 * made, -2 if they were still running after @timeout_ns (the model hung:
 * everyone was made to give up, see pc_abort_everyone).  The counted region
 * is the same span, all threads' events summed.
 */
static int64_t pc_team_run(int n, pc_team_body body, void *arg, long loops, int pin,
                           int64_t timeout_ns)
{
    struct pc_team *t;
    int64_t t0, last, deadline;
    int i, f, made = 0, spins = 0, hung = 0;

    if (n < 1 || n > PC_TEAM_MAX)
        return -1;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    t->body = body;
    t->arg = arg;
    t->loops = loops;
    t->n = n;
    t->pin = pin;
    for (i = 0; i < n; i++) {
        t->m[i].team = t;
        t->m[i].idx = i;
        if (pthread_create(&t->m[i].tid, NULL, pc_team_thread, &t->m[i]) != 0)
            break;
        made++;
    }
    if (made < n) {
        /* let the ones made run an empty loop and go */
        t->loops = 0;
        t->n = made;
        __atomic_store_n(&t->go, 1, __ATOMIC_RELEASE);
        for (i = 0; i < made; i++)
            pthread_join(t->m[i].tid, NULL);
        free(t);
        return -1;
    }
    while (__atomic_load_n(&t->arrived, __ATOMIC_ACQUIRE) < n)
        pc_backoff(&spins);

    pc_region_snap_of(1);
    t0 = pc_clock_ns();
    __atomic_store_n(&t->go, 1, __ATOMIC_RELEASE);

    deadline = t0 + timeout_ns;
    while ((f = __atomic_load_n(&t->finished, __ATOMIC_ACQUIRE)) < n) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (!hung && pc_clock_ns() > deadline) {
            hung = 1;
            pc_abort_everyone();
        }
        pc_futex(&t->finished, FUTEX_WAIT_PRIVATE, f, &ts);
    }
    for (i = 0; i < n; i++)
        pthread_join(t->m[i].tid, NULL);
    pc_region_accum_of(1);
    last = t0;
    for (i = 0; i < n; i++)
        if (t->m[i].t_end > last)
            last = t->m[i].t_end;
    free(t);
    if (hung) {
        __atomic_store_n(&pc_abort, 0, __ATOMIC_SEQ_CST);
        return -2;
    }
    return last - t0;
}

/* ------------------------------------------------------------------ */
/* One helper thread (a waiter beside the timed thread)                */
/* ------------------------------------------------------------------ */

typedef void (*pc_helper_fn)(void *arg);

struct pc_helper {
    pthread_t tid;
    pc_helper_fn fn;
    void *arg;
};

static void *pc_helper_thread(void *p)
{
    struct pc_helper *h = p;
    pc_leave_pinned_cpu(0);
    pc_task_attach("bench-waiter");
    h->fn(h->arg);
    pc_task_detach();
    return NULL;
}

static int pc_helper_start(struct pc_helper *h, pc_helper_fn fn, void *arg)
{
    h->fn = fn;
    h->arg = arg;
    return pthread_create(&h->tid, NULL, pc_helper_thread, h);
}

static void pc_helper_join(struct pc_helper *h)
{
    pthread_join(h->tid, NULL);
}

#endif /* PAGECORE_TEAM_H */
