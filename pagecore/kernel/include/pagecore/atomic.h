/*
 * pagecore/kernel/include/pagecore/atomic.h: the kernel's bitops, barriers, spinlock and
 * task sleep/wake, in user space, under the kernel's names.
 *
 * Why the __atomic builtins and not <stdatomic.h>: the kernel mixes access
 * sizes on one word.  clear_bit_unlock_is_negative_byte() and
 * xor_unlock_is_negative_byte() do a locked byte operation on the low byte of
 * page->flags while every other bitop works on the whole long.  C11 atomics
 * cannot express a byte RMW on part of an _Atomic long; the GCC/Clang
 * builtins work on plain storage of any size, as the kernel's asm does.
 *
 * Ordering follows Documentation/atomic_t.txt and atomic_bitops.txt:
 * non-value-returning RMWs (set_bit, clear_bit, atomic_inc) are unordered,
 * value-returning RMWs (test_and_set_bit, atomic_dec_and_test, cmpxchg) are
 * fully ordered, the _lock/_unlock forms are acquire/release.
 *
 * Two builds compile this header.  The timed build leaves PAGECORE_INSTRUMENT
 * undefined and every pc_ev()/pc_race()/pc_touch() compiles to nothing, so a
 * timed loop pays only for the atomics the kernel itself executes.  The
 * instrumented build counts each event and can pause or slow a thread at a
 * named race point.
 */
#ifndef PAGECORE_ATOMIC_H
#define PAGECORE_ATOMIC_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "task.h"

#define BITS_PER_LONG (8 * (int)sizeof(long))
#define BIT_MASK(nr) (1UL << ((nr) % BITS_PER_LONG))

/* Each marked access is noted for the explorer's footprints (explore.h). */
#define READ_ONCE(x)                                                           \
    ({ pc_x_access(&(x), sizeof(x), 0); __atomic_load_n(&(x), __ATOMIC_RELAXED); })
#define WRITE_ONCE(x, v)                                                       \
    do { pc_x_access(&(x), sizeof(x), 1); __atomic_store_n(&(x), (v), __ATOMIC_RELAXED); } while (0)
#define data_race(expr) (expr)
#define barrier() __asm__ __volatile__("" ::: "memory")

/*
 * data_race(): the kernel marks an access that races by design so that
 * KCSAN leaves it alone.  The model keeps two such races of the kernel's
 * own; under ThreadSanitizer (the sanitize build) the plain accesses between
 * pc_data_race_begin() and pc_data_race_end() are likewise not checked.
 * Elsewhere they compile to nothing.
 */
#if defined(__SANITIZE_THREAD__)
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define pc_data_race_begin()                                                   \
    (AnnotateIgnoreReadsBegin(__FILE__, __LINE__),                             \
     AnnotateIgnoreWritesBegin(__FILE__, __LINE__))
#define pc_data_race_end()                                                     \
    (AnnotateIgnoreWritesEnd(__FILE__, __LINE__),                              \
     AnnotateIgnoreReadsEnd(__FILE__, __LINE__))
#else
#define pc_data_race_begin() ((void)0)
#define pc_data_race_end() ((void)0)
#endif

/* ------------------------------------------------------------------ */
/* Event counters and race points (instrumented build only)            */
/* ------------------------------------------------------------------ */

enum pc_event {
#define PC_EVENT(up, name, what) PC_EV_##up,
#include "registry.def"
    PC_EV_NR
};

/*
 * Named windows between two steps of the source ("race points"): places
 * where verification pauses a thread (replay) or widens the window with a
 * delay (stress).  The list is registry.def's.
 */
enum pc_race_point {
#define PC_WINDOW(up, name, where, what) RP_##up,
#include "registry.def"
    RP_NR
};
/* The same numbers under the names variant files use: pagecore_window(name). */
enum pc_window_name {
#define PC_WINDOW(up, name, where, what) RP_name_##name = RP_##up,
#include "registry.def"
};

PC_SHARED unsigned long pc_events[PC_EV_NR];
/*
 * Each thread's own counts, beside the sum: a timed region of one thread
 * counts what that thread executed.  A waiter woken inside the region runs
 * its finish_wait() whenever the scheduler lets it, on a loaded machine
 * before the waker's region ends, and that is the waiter's work, not the
 * operation's.  A team's region still takes the sum of every thread.
 */
PC_SHARED __thread unsigned long pc_thread_events[PC_EV_NR];
#ifdef PAGECORE_INSTRUMENT
#define pc_ev(e) pc_ev_n(e, 1)
#define pc_ev_n(e, n)                                                          \
    (pc_thread_events[(e)] += (n),                                             \
     __atomic_fetch_add(&pc_events[(e)], (n), __ATOMIC_RELAXED))
#define PC_INSTRUMENTED 1
#else
#define pc_ev(e) ((void)0)
#define pc_ev_n(e, n) ((void)0)
#define PC_INSTRUMENTED 0
#endif
/* Scheduling points of the explorer (pagecore verify --mode explore). */
#include "explore.h"

/* ------------------------------------------------------------------ */
/* Barriers                                                            */
/* ------------------------------------------------------------------ */

static inline void cpu_relax(void)
{
    pc_sched(PCX_SPIN, NULL, 0);         /* explore: a spinner waits for another step */
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    barrier();
#endif
}

static inline void smp_mb(void)
{
    pc_ev(PC_EV_BARRIER);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * On x86 every locked RMW is a full barrier, so the kernel makes
 * smp_mb__{before,after}_atomic() a compiler barrier there; elsewhere it is a
 * real fence.  The model does the same, so its cost on x86 is the kernel's.
 */
static inline void smp_mb__after_atomic(void)
{
    pc_ev(PC_EV_BARRIER);
#if defined(__x86_64__) || defined(__i386__)
    barrier();
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}
#define smp_mb__before_atomic smp_mb__after_atomic

#define smp_load_acquire(p)                                                    \
    ({ pc_x_access((p), sizeof(*(p)), 0); __atomic_load_n((p), __ATOMIC_ACQUIRE); })
#define smp_store_release(p, v)                                                \
    do { pc_x_access((p), sizeof(*(p)), 1); __atomic_store_n((p), (v), __ATOMIC_RELEASE); } while (0)
/* Typed spellings for Cython, which cannot call a generic macro. */
#define __pc_load_acquire_ul(p) smp_load_acquire(p)
#define __pc_load_acquire_u(p) smp_load_acquire(p)
#define __pc_store_release_u(p, v) smp_store_release((p), (v))
#define __pc_load_acquire_ptr(p) smp_load_acquire(p)
#define __pc_store_release_ptr(p, v) smp_store_release((p), (v))
#define __pc_read_once_ul(p) READ_ONCE(*(p))
#define __pc_store_uint(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define __pc_store_int(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define __pc_load_int(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define __pc_load_ul(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define __pc_store_ul(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define __pc_write_once_ul(p, v) WRITE_ONCE(*(p), (v))
#define __pc_read_once_ptr(p) READ_ONCE(*(p))
#define __pc_write_once_ptr(p, v) WRITE_ONCE(*(p), (v))
#define __pc_write_once_uint(p, v) WRITE_ONCE(*(p), (v))

/* ------------------------------------------------------------------ */
/* Bitops                                                              */
/* ------------------------------------------------------------------ */

/*
 * Each bitop and atomic below is a function taking, last, the name of the
 * kernel function that calls it (__func__, passed by the macro of the
 * kernel's name).  The instrumented build checks there whether the access
 * touches a page that end_page_writeback() holds no reference on and that
 * was freed or reused meanwhile (pc_touch_addr(), runtime.h); the timed
 * build ignores the name, and the call compiles to the bare instruction.
 * So the check comes with the primitive: no variant has to place it.
 */
#ifdef PAGECORE_INSTRUMENT
PC_SHARED_FN void pc_touch_addr(const volatile void *addr, const char *site, const char *op);
#define PC_TOUCH(addr, site, op) pc_touch_addr((addr), (site), (op))
#else
#define PC_TOUCH(addr, site, op) ((void)0)
#endif

static inline int pc_test_bit(long nr, const unsigned long *addr, const char *site)
{
    PC_TOUCH(addr, site, "test_bit");
    pc_x_access_bit(addr, nr);
    return (__atomic_load_n(addr, __ATOMIC_RELAXED) >> nr) & 1UL;
}

static inline void pc_set_bit(long nr, unsigned long *addr, const char *site)
{
    pc_sched(PCX_SET_BIT, addr, nr);
    PC_TOUCH(addr, site, "set_bit");
    pc_ev(PC_EV_ATOMIC_RMW);
    __atomic_fetch_or(addr, BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline void pc_clear_bit(long nr, unsigned long *addr, const char *site)
{
    pc_sched(PCX_CLEAR_BIT, addr, nr);
    PC_TOUCH(addr, site, "clear_bit");
    pc_ev(PC_EV_ATOMIC_RMW);
    __atomic_fetch_and(addr, ~BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline int pc_test_and_set_bit(long nr, unsigned long *addr, const char *site)
{
    unsigned long mask = BIT_MASK(nr);
    pc_sched(PCX_TEST_AND_SET_BIT, addr, nr);
    PC_TOUCH(addr, site, "test_and_set_bit");
    pc_ev(PC_EV_ATOMIC_RMW);
    return (__atomic_fetch_or(addr, mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

static inline int pc_test_and_set_bit_lock(long nr, unsigned long *addr, const char *site)
{
    unsigned long mask = BIT_MASK(nr);
    pc_sched(PCX_TEST_AND_SET_BIT_LOCK, addr, nr);
    PC_TOUCH(addr, site, "test_and_set_bit_lock");
    pc_ev(PC_EV_ATOMIC_RMW);
    return (__atomic_fetch_or(addr, mask, __ATOMIC_ACQUIRE) & mask) != 0;
}

static inline int pc_test_and_clear_bit(long nr, unsigned long *addr, const char *site)
{
    unsigned long mask = BIT_MASK(nr);
    pc_sched(PCX_TEST_AND_CLEAR_BIT, addr, nr);
    PC_TOUCH(addr, site, "test_and_clear_bit");
    pc_ev(PC_EV_ATOMIC_RMW);
    return (__atomic_fetch_and(addr, ~mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

static inline void pc_clear_bit_unlock(long nr, unsigned long *addr, const char *site)
{
    pc_sched(PCX_CLEAR_BIT_UNLOCK, addr, nr);
    PC_TOUCH(addr, site, "clear_bit_unlock");
    pc_ev(PC_EV_ATOMIC_RMW);
    __atomic_fetch_and(addr, ~BIT_MASK(nr), __ATOMIC_RELEASE);
}

/*
 * unlock_page(): clear PG_locked and learn whether PG_waiters (bit 7, the
 * sign bit of the same byte) is set, in one locked byte operation.  x86 does
 * it as `lock andb` and reads the sign flag; so does this (little-endian:
 * bit nr < 8 lives in byte 0).
 */
static inline int pc_clear_bit_unlock_is_negative_byte(long nr, unsigned long *addr,
                                                       const char *site)
{
    signed char *byte = (signed char *)addr;
    pc_sched(PCX_CLEAR_BIT_UNLOCK_IS_NEGATIVE_BYTE, addr, nr);
    PC_TOUCH(addr, site, "clear_bit_unlock_is_negative_byte");
    pc_ev(PC_EV_ATOMIC_RMW);
    return __atomic_and_fetch(byte, (signed char)~(1 << nr), __ATOMIC_RELEASE) < 0;
}

/*
 * 6.6's xor_unlock_is_negative_byte(), the heart of
 * folio_xor_flags_has_waiters(): flip the bits of @mask (all in the low byte)
 * with release order and report whether bit 7 of the byte, PG_waiters, was
 * set.  x86: one `lock xorb`, result in the sign flag.
 */
static inline int pc_xor_unlock_is_negative_byte(unsigned long mask, unsigned long *addr,
                                                 const char *site)
{
    signed char *byte = (signed char *)addr;
    pc_sched(PCX_XOR_UNLOCK_IS_NEGATIVE_BYTE, addr, (long)mask);
    PC_TOUCH(addr, site, "xor_unlock_is_negative_byte");
    pc_ev(PC_EV_ATOMIC_RMW);
    return __atomic_xor_fetch(byte, (signed char)mask, __ATOMIC_RELEASE) < 0;
}

/* The kernel's cmpxchg(): fully ordered, returns the value it found. */
static inline unsigned long pc_cmpxchg(unsigned long *ptr, unsigned long old,
                                       unsigned long new_, const char *site)
{
    pc_sched(PCX_CMPXCHG, ptr, (long)old);
    PC_TOUCH(ptr, site, "cmpxchg");
    pc_ev(PC_EV_CMPXCHG);
    __atomic_compare_exchange_n(ptr, &old, new_, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return old;
}

#define test_bit(nr, addr) pc_test_bit((nr), (addr), __func__)
#define set_bit(nr, addr) pc_set_bit((nr), (addr), __func__)
#define clear_bit(nr, addr) pc_clear_bit((nr), (addr), __func__)
#define test_and_set_bit(nr, addr) pc_test_and_set_bit((nr), (addr), __func__)
#define test_and_set_bit_lock(nr, addr) pc_test_and_set_bit_lock((nr), (addr), __func__)
#define test_and_clear_bit(nr, addr) pc_test_and_clear_bit((nr), (addr), __func__)
#define clear_bit_unlock(nr, addr) pc_clear_bit_unlock((nr), (addr), __func__)
#define clear_bit_unlock_is_negative_byte(nr, addr) \
    pc_clear_bit_unlock_is_negative_byte((nr), (addr), __func__)
#define xor_unlock_is_negative_byte(mask, addr) \
    pc_xor_unlock_is_negative_byte((mask), (addr), __func__)
#define cmpxchg(ptr, old, new_) pc_cmpxchg((ptr), (old), (new_), __func__)

/* ------------------------------------------------------------------ */
/* atomic_t                                                            */
/* ------------------------------------------------------------------ */

typedef struct { int counter; } atomic_t;

static inline int atomic_read(const atomic_t *v)
{
    pc_x_access(&v->counter, sizeof(v->counter), 0);
    return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic_set(atomic_t *v, int i)
{
    pc_x_access(&v->counter, sizeof(v->counter), 1);
    __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void pc_atomic_inc(atomic_t *v, const char *site)
{
    pc_sched(PCX_ATOMIC_INC, &v->counter, 0);
    PC_TOUCH(v, site, "atomic_inc");
    pc_ev(PC_EV_ATOMIC_RMW);
    __atomic_fetch_add(&v->counter, 1, __ATOMIC_RELAXED);
}

static inline int pc_atomic_dec_and_test(atomic_t *v, const char *site)
{
    pc_sched(PCX_ATOMIC_DEC_AND_TEST, &v->counter, 0);
    PC_TOUCH(v, site, "atomic_dec_and_test");
    pc_ev(PC_EV_ATOMIC_RMW);
    return __atomic_sub_fetch(&v->counter, 1, __ATOMIC_SEQ_CST) == 0;
}

#define atomic_inc(v) pc_atomic_inc((v), __func__)
#define atomic_dec_and_test(v) pc_atomic_dec_and_test((v), __func__)

/* ------------------------------------------------------------------ */
/* Spinlock                                                            */
/* ------------------------------------------------------------------ */

/*
 * Test-and-test-and-set.  The kernel spins with preemption and interrupts
 * off, so a lock holder is never descheduled; user space cannot promise
 * that, and with more threads than cores a waiter spinning on a preempted
 * holder burns the holder's time slice.  After a bounded spin the waiter
 * therefore yields.  The uncontended path is the kernel's: one locked RMW to
 * take, one store-release to drop.
 */
typedef struct { int locked; } spinlock_t;
#define PC_SPIN_BEFORE_YIELD 256

static inline void spin_lock_init(spinlock_t *l) { l->locked = 0; }

/*
 * The instrumented build shows a task that spins on a held lock as
 * where = "spin_lock", so a script or the watchdog can tell it from one
 * that runs.  pc_current_task, not current: a spin_lock() before the
 * thread has a task must not make one.
 */
#ifdef PAGECORE_INSTRUMENT
#define PC_SPIN_WHERE_BEGIN()                                                  \
    struct task_struct *pc_spin_t = pc_current_task;                           \
    const char *pc_spin_was = pc_spin_t ? READ_ONCE(pc_spin_t->where) : NULL;  \
    if (pc_spin_t)                                                             \
        WRITE_ONCE(pc_spin_t->where, "spin_lock")
#define PC_SPIN_WHERE_END()                                                    \
    if (pc_spin_t)                                                             \
        WRITE_ONCE(pc_spin_t->where, pc_spin_was)
#else
#define PC_SPIN_WHERE_BEGIN() do { } while (0)
#define PC_SPIN_WHERE_END() do { } while (0)
#endif

/*
 * The watchdog's way out of a wait (pagecore/harness.h): a variant that
 * deadlocks spins on a lock forever, so a spinner that the watchdog told to
 * give up leaves the model as a sleeper does.
 */
PC_SHARED_FN void pc_wait_unwind(struct task_struct *t);

static inline void pc_spin_abort(void)
{
    struct task_struct *t = pc_current_task;

    if (t && (READ_ONCE(pc_abort) || READ_ONCE(t->sigkill)))
        pc_wait_unwind(t);
}

static inline void spin_lock(spinlock_t *l)
{
    pc_sched(PCX_SPIN_LOCK, l, 0);
    pc_ev(PC_EV_LOCK);
    while (__builtin_expect(__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE), 0)) {
        int spins = 0;
        PC_SPIN_WHERE_BEGIN();
        while (READ_ONCE(l->locked)) {
            if (++spins < PC_SPIN_BEFORE_YIELD) {
                cpu_relax();
            } else {
                spins = 0;
                pc_spin_abort();
                sched_yield();
            }
        }
        PC_SPIN_WHERE_END();
    }
}

static inline int spin_trylock(spinlock_t *l)
{
    pc_x_access(&l->locked, sizeof(l->locked), 1);
    return !READ_ONCE(l->locked) && !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_unlock(spinlock_t *l)
{
    pc_sched(PCX_SPIN_UNLOCK, l, 0);
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline int spin_is_locked(spinlock_t *l) { return READ_ONCE(l->locked); }

/* ------------------------------------------------------------------ */
/* Sleeping and waking                                                 */
/* ------------------------------------------------------------------ */

static inline long pc_futex(int *uaddr, int op, int val, const struct timespec *ts)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* set_current_state(): smp_store_mb(), a store then a full barrier. */
static inline void set_current_state(int state)
{
    pc_x_access(&current->state, sizeof(current->state), 1);
    __atomic_exchange_n(&current->state, state, __ATOMIC_SEQ_CST);
}

static inline void __set_current_state(int state)
{
    WRITE_ONCE(current->state, state);
}

/*
 * try_to_wake_up(): if @p is in one of @state, make it TASK_RUNNING and, if
 * it really went to sleep, wake it from its futex.  The waker's earlier
 * stores (WQ_FLAG_WOKEN) must be visible before it reads p->state, as
 * try_to_wake_up()'s smp_mb__after_spinlock() makes them: otherwise a
 * waiter between set_current_state() and its look at the flags, and this
 * waker, can each miss the other's store (the store-buffer pattern, which
 * x86 allows), and the waiter sleeps with nobody left to wake it.  The
 * fence pairs with the barrier in set_current_state() on the sleeper's side.
 */
static inline int wake_up_state(struct task_struct *p, unsigned int state)
{
    int old;

    pc_sched(PCX_WAKE, &p->state, 0);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    old = __atomic_load_n(&p->state, __ATOMIC_SEQ_CST);

    while (old & state) {
        if (__atomic_compare_exchange_n(&p->state, &old, TASK_RUNNING, 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
            pc_ev(PC_EV_WAKEUPS);
            if (old & PC_TASK_ASLEEP)
                pc_futex(&p->state, FUTEX_WAKE_PRIVATE, 1, NULL);
            return 1;
        }
    }
    return 0;
}

#define wake_up_process(p) wake_up_state((p), TASK_NORMAL)

/*
 * The sleep of schedule() for a task that set its state: sleep until a
 * waker makes it TASK_RUNNING.  io_schedule() (pagecore/mm.h) wraps it with
 * what the model notes about a sleeper.  The model adds one exit the kernel's TASK_UNINTERRUPTIBLE
 * sleep does not have: when the watchdog sets pc_abort (a racy variant has
 * lost a wakeup), the sleeper gives up, so the hang is reported instead of
 * kept.  The futex sleep is bounded only so that pc_abort is seen.
 */
static inline void pc_schedule(void)
{
    struct task_struct *t = current;
    int s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    struct timespec ts = {0, 100 * 1000 * 1000};
    int slept = 0;

    pc_sched(PCX_SLEEP, &t->state, 0);   /* explore: runs again once woken */
    s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    while (s != TASK_RUNNING) {
        if (READ_ONCE(pc_abort) || READ_ONCE(t->sigkill))
            break;
        if (!(s & PC_TASK_ASLEEP)) {
            if (!__atomic_compare_exchange_n(&t->state, &s, s | PC_TASK_ASLEEP, 0,
                                             __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
                continue;
            s |= PC_TASK_ASLEEP;
        }
        if (!slept) {
            pc_ev(PC_EV_SLEEPS);
            slept = 1;
        }
        pc_futex(&t->state, FUTEX_WAIT_PRIVATE, s, &ts);
        s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    }
    __atomic_store_n(&t->state, TASK_RUNNING, __ATOMIC_RELAXED);
}

#endif /* PAGECORE_ATOMIC_H */
