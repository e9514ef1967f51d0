/*
 * pagecore/kernel/include/pagecore/task.h: the model's tasks: struct task_struct, the pool
 * they come from, and current.  Below atomic.h, which sleeps and wakes
 * them, and runtime.h, which parks them at race points: both include this
 * header and it includes neither, so the dependency runs one way.
 *
 * The fields a task writes about itself while others look (state, where,
 * wait_page, wait_bit) are only ever accessed with __atomic builtins: the
 * watchdog and tasks() read them from other threads while the task runs.
 * pid and comm are written once, under pc_tasks_lock, before in_use is
 * published; tasks() copies the pool under the same lock.
 */
#ifndef PAGECORE_TASK_H
#define PAGECORE_TASK_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shared.h"

/* Task states, the kernel's values. */
#define TASK_RUNNING 0x0000
#define TASK_INTERRUPTIBLE 0x0001
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_NORMAL (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)
/* Model-only: the task is (about to be) inside futex_wait on ->state. */
#define PC_TASK_ASLEEP 0x10000

/* The per-CPU area's size: the lines of pagecore/vmstat.h's layout. */
#define PC_PERCPU_BYTES 576

struct task_struct {
    int state;                  /* futex word */
    int in_use;
    int pid;
    int sigkill;                /* the watchdog's way out, see io_schedule() */
    const char *where;          /* where it sleeps or spins, for the watchdog */
    const void *wait_page;
    int wait_bit;
    char comm[32];
    /* Model only.  pc_wait_entry: the wait queue entry this task queued
       last (io_schedule() reads its page and bit for the watchdog).
       pc_unwind: where a sleep the watchdog ends unwinds to (a jmp_buf of
       the call that entered the model; NULL: the sleep just returns).
       pc_coro: the coroutine this task runs as, if it is one (a queued
       waiter of the timed loops: its sleep hands the CPU back). */
    void *pc_wait_entry;
    void *pc_unwind;
    void *pc_coro;
    /* The task's CPU's per-CPU data (pagecore/vmstat.h): a model task is a
       CPU that runs with preemption off.  pc_percpu_gen: the configuration
       it was set up for. */
    unsigned int pc_percpu_gen;
    char pc_percpu[PC_PERCPU_BYTES] __attribute__((aligned(64)));
};

/*
 * The task pool lives in the harness (shared.h); a variant's code reaches
 * only the current task and, for a thread that has none yet, the call that
 * gives it one.
 */
#define PC_MAX_TASKS 4096
PC_SHARED __thread struct task_struct *pc_current_task;
PC_SHARED int pc_abort;         /* set by the watchdog: every sleep and pause gives up */
PC_SHARED_FN struct task_struct *pc_task_attach(const char *name);

#ifndef PAGECORE_VARIANT
static struct task_struct pc_tasks[PC_MAX_TASKS];

/*
 * The pool's lock.  Not spin_lock(): that lives in atomic.h, above this
 * header, and notes where a spinning task is, which needs a task.  Taking
 * a task slot is rare, so a plain exchange with a yield is enough.
 */
static int pc_tasks_lock;
static int pc_next_pid = 1;

static inline void pc_tasks_lock_acquire(void)
{
    while (__atomic_exchange_n(&pc_tasks_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static inline void pc_tasks_lock_release(void)
{
    __atomic_store_n(&pc_tasks_lock, 0, __ATOMIC_RELEASE);
}

static void pc_task_detach(void)
{
    struct task_struct *t = pc_current_task;

    if (!t)
        return;
    pc_current_task = NULL;
    __atomic_store_n(&t->in_use, 0, __ATOMIC_RELEASE);
}

PC_SHARED_FN struct task_struct *pc_task_attach(const char *name)
{
    struct task_struct *t = NULL;
    int i;

    if (pc_current_task)
        pc_task_detach();
    pc_tasks_lock_acquire();
    for (i = 0; i < PC_MAX_TASKS; i++) {
        if (!__atomic_load_n(&pc_tasks[i].in_use, __ATOMIC_RELAXED)) {
            t = &pc_tasks[i];
            break;
        }
    }
    if (t) {
        memset(t, 0, sizeof(*t));
        t->pid = pc_next_pid++;
        if (name)
            snprintf(t->comm, sizeof(t->comm), "%s", name);
        else
            snprintf(t->comm, sizeof(t->comm), "task-%d", t->pid);
        __atomic_store_n(&t->in_use, 1, __ATOMIC_RELEASE);
    }
    pc_tasks_lock_release();
    if (!t) {
        /* Out of task slots is a harness bug, not a model outcome. */
        fprintf(stderr, "pagecore: more than %d live tasks\n", PC_MAX_TASKS);
        abort();
    }
    pc_current_task = t;
    return t;
}
#endif /* !PAGECORE_VARIANT */

static inline struct task_struct *pc_current(void)
{
    if (__builtin_expect(pc_current_task == NULL, 0))
        return pc_task_attach(NULL);
    return pc_current_task;
}
#define current (pc_current())

/* What the watchdog shows for a task: where it waits, on which page bit. */
static inline void pc_task_where(const char *where, const void *page, int bit)
{
    struct task_struct *t = current;
    __atomic_store_n(&t->where, where, __ATOMIC_RELAXED);
    __atomic_store_n(&t->wait_page, page, __ATOMIC_RELAXED);
    __atomic_store_n(&t->wait_bit, bit, __ATOMIC_RELAXED);
}

#ifndef PAGECORE_VARIANT
/* A copy of the live tasks, for tasks(): taken under the pool's lock, so no
 * slot is reused while it is read. */
struct pc_task_snap {
    int pid;
    int state;
    const char *where;
    const void *wait_page;
    int wait_bit;
    char comm[32];
};

static int pc_tasks_snapshot(struct pc_task_snap *out, int max)
{
    int i, n = 0;

    pc_tasks_lock_acquire();
    for (i = 0; i < PC_MAX_TASKS && n < max; i++) {
        struct task_struct *t = &pc_tasks[i];
        if (!__atomic_load_n(&t->in_use, __ATOMIC_ACQUIRE))
            continue;
        out[n].pid = t->pid;
        memcpy(out[n].comm, t->comm, sizeof(out[n].comm));
        out[n].state = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        out[n].where = __atomic_load_n(&t->where, __ATOMIC_RELAXED);
        out[n].wait_page = __atomic_load_n(&t->wait_page, __ATOMIC_RELAXED);
        out[n].wait_bit = __atomic_load_n(&t->wait_bit, __ATOMIC_RELAXED);
        n++;
    }
    pc_tasks_lock_release();
    return n;
}

#endif

#endif /* PAGECORE_TASK_H */
