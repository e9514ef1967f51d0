# Cython twin of task.h, atomic.h and runtime.h: the model's tasks, the
# kernel's bitops, barriers, spinlock and sleep/wake, and the model's runtime
# (race points, the bug log).

cdef extern from "pagecore/task.h" nogil:
    int TASK_RUNNING
    int TASK_INTERRUPTIBLE
    int TASK_UNINTERRUPTIBLE
    int TASK_NORMAL
    int PC_TASK_ASLEEP

    struct task_struct:
        int state
        int in_use
        int pid
        int sigkill
        const char *where
        const void *wait_page
        int wait_bit
        char comm[32]
        void *pc_wait_entry
        void *pc_unwind
        void *pc_coro

    int PC_MAX_TASKS
    task_struct pc_tasks[]
    # Read with READ_ONCE wherever the model tests it (a worker polls it
    # while the watchdog stores it); pc_abort_word is the word itself, for
    # the atomic stores.
    int pc_abort "READ_ONCE(pc_abort)"
    int pc_abort_word "pc_abort"
    task_struct *pc_current_task
    task_struct *pc_current()
    task_struct *pc_task_attach(const char *name)
    void pc_task_detach()
    void pc_task_where(const char *where, const void *page, int bit)

    struct pc_task_snap:
        int pid
        int state
        const char *where
        const void *wait_page
        int wait_bit
        char comm[32]
    int pc_tasks_snapshot(pc_task_snap *out, int max)


cdef extern from "pagecore/atomic.h" nogil:
    int BITS_PER_LONG
    unsigned long BIT_MASK(long nr)

    # The names are registry.def's (pc_event_names, pc_race_point_names);
    # the harness names only the counts and the events it reads itself.
    enum pc_event:
        PC_EV_WAKEUPS
        PC_EV_SLEEPS
        PC_EV_COLD
        PC_EV_NR
    const char *pc_event_names[]

    enum pc_race_point:
        RP_NR

    const int PC_INSTRUMENTED
    void pc_ev(int ev)
    void pc_ev_n(int ev, unsigned long n)

    void barrier()
    void pc_data_race_begin()
    void pc_data_race_end()
    void cpu_relax()
    void smp_mb()
    void smp_mb__after_atomic()
    void smp_mb__before_atomic()
    # typed per use: the macros are generic in C
    unsigned long smp_load_acquire "__pc_load_acquire_ul"(unsigned long *p)
    unsigned int smp_load_acquire_uint "__pc_load_acquire_u"(unsigned int *p)
    void smp_store_release_uint "__pc_store_release_u"(unsigned int *p, unsigned int v)
    void *smp_load_acquire_ptr "__pc_load_acquire_ptr"(void **p)
    void smp_store_release_ptr "__pc_store_release_ptr"(void **p, void *v)
    void __atomic_store_uint "__pc_store_uint"(unsigned int *p, unsigned int v)
    void __atomic_store_int "__pc_store_int"(int *p, int v)
    int __atomic_load_int "__pc_load_int"(int *p)
    unsigned long __atomic_load_ul "__pc_load_ul"(unsigned long *p)
    void __atomic_store_ul "__pc_store_ul"(unsigned long *p, unsigned long v)
    unsigned long READ_ONCE_ul "__pc_read_once_ul"(unsigned long *p)
    void WRITE_ONCE_ul "__pc_write_once_ul"(unsigned long *p, unsigned long v)
    void *READ_ONCE_ptr "__pc_read_once_ptr"(void **p)
    void WRITE_ONCE_ptr "__pc_write_once_ptr"(void **p, void *v)
    void WRITE_ONCE_uint "__pc_write_once_uint"(unsigned int *p, unsigned int v)

    int test_bit(long nr, const unsigned long *addr)
    void set_bit(long nr, unsigned long *addr)
    void clear_bit(long nr, unsigned long *addr)
    int test_and_set_bit(long nr, unsigned long *addr)
    int test_and_set_bit_lock(long nr, unsigned long *addr)
    int test_and_clear_bit(long nr, unsigned long *addr)
    void clear_bit_unlock(long nr, unsigned long *addr)
    int clear_bit_unlock_is_negative_byte(long nr, unsigned long *addr)
    int xor_unlock_is_negative_byte(unsigned long mask, unsigned long *addr)
    unsigned long cmpxchg(unsigned long *ptr, unsigned long old, unsigned long new)

    ctypedef struct atomic_t:
        int counter
    int atomic_read(const atomic_t *v)
    void atomic_set(atomic_t *v, int i)
    void atomic_inc(atomic_t *v)
    int atomic_dec_and_test(atomic_t *v)

    ctypedef struct spinlock_t:
        int locked
    void spin_lock_init(spinlock_t *l)
    void spin_lock(spinlock_t *l)
    int spin_trylock(spinlock_t *l)
    void spin_unlock(spinlock_t *l)
    int spin_is_locked(spinlock_t *l)

    void set_current_state(int state)
    void __set_current_state(int state)
    int wake_up_state(task_struct *p, unsigned int state)
    void pc_schedule()


cdef extern from "pagecore/runtime.h" nogil:
    struct pc_gate:
        int armed
        int target_pid
        int arrived
        int release_gen
        long delay_ns
        unsigned int prob
        unsigned long hits
    pc_gate pc_gates[]
    const char *pc_race_point_names[]
    unsigned long pc_events[]
    void pc_race(int rp)
    int pc_gate_wait_arrived(int rp, int n, long timeout_ns)
    void pc_gate_release(int rp)
    void pc_delay_ns(long ns)
    unsigned int pc_rand()

    enum pc_bug_kind:
        PC_BUG_WRITEBACK_AFTER_WAIT
        PC_BUG_NR
    const char *pc_bug_names[]
    struct pc_bug_record:
        int kind
        int pid
        const void *page
        unsigned long a
        unsigned long b
        const char *site
        const char *op
        char comm[32]
    int PC_BUG_LOG
    pc_bug_record pc_bug_log[]
    unsigned long pc_bug_logged
    unsigned long pc_bug_counts[]
    void pc_bug(int kind, const void *page, const char *site, unsigned long a, unsigned long b)
    void pc_bug_reset()
    void pc_touch_begin(const void *p)
    void pc_touch_end()
