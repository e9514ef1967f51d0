/*
 * bench/floor.c: the floor suite's primitives as a plain C program, the
 * yardstick for pagecore's own loops (pagecore/_loops.pxi, the floor cases).
 *
 * Usage: floor CASE LOOPS
 * Runs LOOPS operations of CASE and prints one line: the elapsed seconds
 * of the timed loop alone (start-up and thread creation excluded).
 * bench/floor.py compiles it with gcc -O2 at bench time and turns each run
 * into one pyperf value, so both columns come from the same run.
 *
 * Each loop is written as pagecore's is, with the same instructions: a
 * relaxed fetch-add is `lock add`, cmpxchg is seq_cst `lock cmpxchg`, the
 * spinlock is an xchg to take and a store-release to drop, the wake is
 * FUTEX_WAKE_PRIVATE on a word nobody sleeps on, and the bounce is a
 * ping-pong of one line between two threads.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static unsigned long line[16] __attribute__((aligned(128)));

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

static int64_t empty_loop(long loops)
{
    int64_t t0 = now_ns();
    for (long i = 0; i < loops; i++)
        __asm__ __volatile__("" ::: "memory");
    return now_ns() - t0;
}

static int64_t locked_rmw(long loops)
{
    int *v = (int *)line;
    int64_t t0 = now_ns();
    for (long i = 0; i < loops; i++)
        __atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
    return now_ns() - t0;
}

static int64_t cmpxchg(long loops)
{
    unsigned long cur = line[0];
    int64_t t0 = now_ns();
    for (long i = 0; i < loops; i++) {
        unsigned long old = cur;
        __atomic_compare_exchange_n(&line[0], &old, cur + 1, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        cur = old + 1;
    }
    return now_ns() - t0;
}

static int64_t spinlock(long loops)
{
    int *l = (int *)line;
    int64_t t0 = now_ns();
    for (long i = 0; i < loops; i++) {
        while (__builtin_expect(__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE), 0))
            while (__atomic_load_n(l, __ATOMIC_RELAXED))
                cpu_relax();
        __atomic_store_n(l, 0, __ATOMIC_RELEASE);
    }
    return now_ns() - t0;
}

static int64_t wake_no_waiter(long loops)
{
    int *w = (int *)line;
    int64_t t0 = now_ns();
    for (long i = 0; i < loops; i++)
        syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return now_ns() - t0;
}

/* cacheline_bounce: two threads released together, as pagecore's team. */
static long bounce_loops;
static int bounce_arrived, bounce_go;
static int64_t bounce_end[2];

/* Thread @idx on the @idx-th CPU this process may run on, as pagecore's team. */
static void pin_self(unsigned long idx)
{
    cpu_set_t set, one;
    unsigned long n = 0;

    if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0)
        return;
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &set) && n++ == idx) {
            CPU_ZERO(&one);
            CPU_SET(i, &one);
            pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
            return;
        }
    }
}

static void *bounce_thread(void *arg)
{
    unsigned long idx = (unsigned long)(uintptr_t)arg;
    unsigned long *w = &line[0];

    pin_self(idx);

    __atomic_fetch_add(&bounce_arrived, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&bounce_go, __ATOMIC_ACQUIRE))
        cpu_relax();
    for (long i = 0; i < bounce_loops; i++) {
        int spins = 0;
        unsigned long v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        while ((v & 1) != idx) {
            cpu_relax();
            if (++spins > 4096) {
                spins = 0;
                sched_yield();
            }
            v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        }
        __atomic_store_n(w, v + 1, __ATOMIC_RELEASE);
    }
    bounce_end[idx] = now_ns();
    return NULL;
}

static int64_t cacheline_bounce(long loops)
{
    pthread_t t[2];
    int64_t t0;

    line[0] = 0;
    bounce_loops = loops;
    for (uintptr_t i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, bounce_thread, (void *)i) != 0)
            return -1;
    while (__atomic_load_n(&bounce_arrived, __ATOMIC_ACQUIRE) < 2)
        sched_yield();
    t0 = now_ns();
    __atomic_store_n(&bounce_go, 1, __ATOMIC_RELEASE);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    return (bounce_end[0] > bounce_end[1] ? bounce_end[0] : bounce_end[1]) - t0;
}

static const struct {
    const char *name;
    int64_t (*fn)(long);
} cases[] = {
    {"empty_loop", empty_loop},
    {"locked_rmw", locked_rmw},
    {"cmpxchg", cmpxchg},
    {"spinlock", spinlock},
    {"wake_no_waiter", wake_no_waiter},
    {"cacheline_bounce", cacheline_bounce},
};

int main(int argc, char **argv)
{
    long loops;
    char *end;

    if (argc != 3) {
        fprintf(stderr, "usage: floor CASE LOOPS\n");
        return 2;
    }
    loops = strtol(argv[2], &end, 10);
    if (*end || loops < 1) {
        fprintf(stderr, "floor: loops must be >= 1\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            /* One untimed pass first: pyperf warms the pagecore loop up in
               its worker process, and a fresh process starts cold (page
               faults, caches, the CPU's clock). */
            int64_t ns = cases[i].fn(loops);
            if (ns >= 0)
                ns = cases[i].fn(loops);
            if (ns < 0) {
                fprintf(stderr, "floor: cannot start threads\n");
                return 1;
            }
            printf("%.9f\n", ns * 1e-9);
            return 0;
        }
    }
    fprintf(stderr, "floor: unknown case %s\n", argv[1]);
    return 2;
}
