/*
 * pagecore/kernel/include/pagecore/explore.h: the scheduling points of the explorer
 * (`pagecore verify --mode explore`), included by atomic.h.
 *
 * Every atomic RMW and cmpxchg, spin_lock and spin_unlock, wake_up_state,
 * io_schedule, race point and spin-wait of the instrumented build calls
 * pc_sched() before it acts.  Outside an exploration that is one
 * predictable branch.  During one, the calling task publishes what it is
 * about to do and hands the CPU back to the scheduler (explore_sched.h),
 * which picks the task that runs next: the order of the model's shared
 * accesses is then the scheduler's choice, not the machine's.  The timed
 * build compiles pc_sched() to nothing.
 */
#ifndef PAGECORE_EXPLORE_H
#define PAGECORE_EXPLORE_H

/* What a task is about to do at a scheduling point. */
enum pc_x_op {
#define PC_XOP(up, name) PCX_##up,
#include "registry.def"
    PCX_NR
};

/*
 * pc_x_access(): a shared access between two scheduling points, noted in the
 * footprint of the step that makes it.  The partial-order reduction
 * (pagecore/verify/dpor.py) calls two steps dependent when their
 * footprints overlap and one of them writes, so every access another task
 * can see must be noted: the primitives note their own (the RMW at a
 * scheduling point, test_bit(), READ_ONCE(), WRITE_ONCE(), the acquire
 * loads and release stores, atomic_read(), set_current_state()), as the
 * kernel marks every access that races.  Plain accesses are those the
 * kernel makes under a lock, and the lock's own accesses order them.
 */
/* The kinds of access: a read, a write, and an add whose result nobody
   uses (a statistic's): two adds commute, an add and a read do not. */
#define PC_X_READ 0
#define PC_X_WRITE 1
#define PC_X_ADD 2

#ifdef PAGECORE_INSTRUMENT
PC_SHARED int pc_x_active;      /* an exploration is running (one thread) */
PC_SHARED_FN void pc_x_point(int op, const void *addr, long arg);
PC_SHARED_FN void pc_x_note(const volatile void *addr, unsigned long len, int write);
PC_SHARED_FN void pc_x_note_bit(const volatile void *addr, long nr);
#define pc_sched(op, addr, arg)                                                \
    do {                                                                       \
        if (__builtin_expect(pc_x_active, 0))                                  \
            pc_x_point((op), (addr), (long)(arg));                             \
    } while (0)
#define pc_x_access(addr, len, write)                                          \
    do {                                                                       \
        if (__builtin_expect(pc_x_active, 0))                                  \
            pc_x_note((addr), (len), (write));                                 \
    } while (0)
#define pc_x_access_bit(addr, nr)                                              \
    do {                                                                       \
        if (__builtin_expect(pc_x_active, 0))                                  \
            pc_x_note_bit((addr), (nr));                                       \
    } while (0)
#else
#define pc_sched(op, addr, arg) ((void)0)
#define pc_x_access(addr, len, write) ((void)0)
#define pc_x_access_bit(addr, nr) ((void)0)
#endif

#endif /* PAGECORE_EXPLORE_H */
