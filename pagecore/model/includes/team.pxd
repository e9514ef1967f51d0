# Cython twin of team.h: the clock, counted regions, the thread team and the
# helper thread that the timed loops of _loops.pxi run on.

from libc.stdint cimport int64_t, uint64_t
from includes.atomic cimport task_struct


cdef extern from "pagecore/team.h" nogil:
    int64_t pc_clock_ns()
    int64_t pc_clock_pair_ns()

    int64_t pc_region_begin()
    int64_t pc_region_end(int64_t t0)
    void pc_region_add(int ev, unsigned long n)
    void pc_region_reset()
    unsigned long pc_region_acc[]
    unsigned long pc_event_count(int ev)

    void pc_backoff(int *spins)
    void pc_spin_ns(int64_t ns)
    int pc_gettid()
    int pc_wait_asleep(task_struct *t, int tid, int64_t timeout_ns)
    void pc_abort_everyone()

    struct pc_pin:
        int on
    int pc_pin_begin(pc_pin *pin, int which)
    void pc_pin_end(pc_pin *pin)
    int pc_pinned_cpu
    int pc_pin_cpu(int cpu)
    int pc_unpin_cpu()
    int pc_current_cpu()

    uint64_t pc_splitmix64(uint64_t *state)
    const int PC_EVICT_BY_CLFLUSH
    void pc_evict_line(const void *p)
    void pc_evict_done()
    int pc_wait_thread_sleeps(int tid, int64_t timeout_ns)

    ctypedef void (*pc_team_body)(void *arg, int idx, long loops) noexcept nogil
    int PC_TEAM_MAX
    int64_t pc_team_run(int n, pc_team_body body, void *arg, long loops, int pin,
                        int64_t timeout_ns)

    ctypedef void (*pc_helper_fn)(void *arg) noexcept nogil
    struct pc_helper:
        pass
    int pc_helper_start(pc_helper *h, pc_helper_fn fn, void *arg)
    void pc_helper_join(pc_helper *h)

    long pc_futex_wake "pc_futex_wake_one"(int *uaddr)
    long pc_futex_wait "pc_futex_wait_val"(int *uaddr, int val)


cdef extern from "<sched.h>" nogil:
    int sched_yield()
