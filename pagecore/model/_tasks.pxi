# Tasks, the watchdog, events, bugs, race points, and the primitives for the tests.

# ---- tasks and the watchdog -----------------------------------------------

def task_attach(name=None):
    """Give the calling thread a task_struct named @name; returns its pid."""
    cdef task_struct *t
    if name is None:
        t = pc_task_attach(NULL)
    else:
        b = str(name).encode()[:31]
        t = pc_task_attach(b)
    return t.pid


def task_detach():
    pc_task_detach()


def current_pid():
    return pc_current().pid


def tasks():
    """Every live task: pid, name, state, and where it sleeps or is parked."""
    cdef int i, n
    cdef pc_task_snap *snap = <pc_task_snap *>malloc(PC_MAX_TASKS * sizeof(pc_task_snap))
    cdef pc_task_snap *t
    cdef page *wp
    if snap == NULL:
        raise MemoryError()
    with nogil:
        n = pc_tasks_snapshot(snap, PC_MAX_TASKS)
    out = []
    try:
        for i in range(n):
            t = &snap[i]
            st = t.state & ~PC_TASK_ASLEEP
            wp = <page *>t.wait_page
            out.append({"pid": t.pid, "comm": t.comm.decode(errors="replace"),
                        "state": {0: "R", 1: "S", 2: "D"}.get(st, str(st)),
                        "asleep": bool(t.state & PC_TASK_ASLEEP),
                        "where": t.where.decode() if t.where != NULL else None,
                        "page": (wp.pc_id if wp != NULL and A.pages != NULL
                                 and wp >= A.pages and wp < A.pages + A.npages else None),
                        "bit": t.wait_bit if t.wait_page != NULL else None})
    finally:
        free(snap)
    return out


def abort_all():
    """The watchdog's way out: every sleeper and every parked task gives up."""
    cdef int i
    __atomic_store_int(&pc_abort_word, 1)
    for i in range(PC_MAX_TASKS):
        if __atomic_load_int(&pc_tasks[i].in_use):
            wake_up_state(&pc_tasks[i], TASK_NORMAL)
    for i in range(RP_NR):
        pc_gate_release(i)


def clear_abort():
    __atomic_store_int(&pc_abort_word, 0)


def aborted():
    return bool(__atomic_load_int(&pc_abort_word))


# ---- events, bugs, race points --------------------------------------------

def events():
    """Counts since events_reset(), summed over threads (instrumented build;
    the timed build counts nothing and returns zeros)."""
    return {name: __atomic_load_ul(&pc_events[i]) for i, name in enumerate(EVENTS)}


def events_reset():
    cdef int i
    for i in range(PC_EV_NR):
        __atomic_store_ul(&pc_events[i], 0)


def bugs():
    return {name: __atomic_load_ul(&pc_bug_counts[i]) for i, name in enumerate(BUGS)}


def bug_log():
    cdef unsigned long i, n = min(__atomic_load_ul(&pc_bug_logged), <unsigned long>PC_BUG_LOG)
    cdef pc_bug_record *r
    cdef page *p
    out = []
    for i in range(n):
        r = &pc_bug_log[i]
        p = <page *>r.page
        out.append({"kind": BUGS[r.kind], "pid": r.pid,
                    "comm": r.comm.decode(errors="replace"),
                    "page": (p.pc_id if p != NULL and A.pages != NULL
                             and p >= A.pages and p < A.pages + A.npages else None),
                    "site": r.site.decode() if r.site != NULL else None,
                    "a": r.a, "b": r.b})
    return out


def bugs_reset():
    pc_bug_reset()


cdef _need_instr():
    if not PC_INSTRUMENTED:
        raise PagecoreError("race points need the instrumented build (pagecore.instr)")


def rp_arm(name, int count=1, int pid=0):
    """Park the next @count tasks (or only task @pid) that reach race point @name."""
    _need_instr()
    cdef int rp = _rp(name)
    pc_gates[rp].target_pid = pid
    __atomic_store_int(&pc_gates[rp].armed, count)


def rp_wait(name, int n=1, double timeout=5.0):
    """Wait until @n tasks are parked at @name; False on timeout."""
    _need_instr()
    cdef int rp = _rp(name)
    cdef long ns = <long>(timeout * 1e9)
    cdef int ok
    with nogil:
        ok = pc_gate_wait_arrived(rp, n, ns)
    return bool(ok)


def rp_release(name):
    cdef int rp = _rp(name)
    pc_gate_release(rp)


def rp_parked(name):
    return __atomic_load_int(&pc_gates[_rp(name)].arrived)


def rp_delay(name, long ns, double prob=1.0):
    """Stress: widen race point @name by @ns nanoseconds with probability @prob."""
    _need_instr()
    cdef int rp = _rp(name)
    if ns < 0 or not 0.0 <= prob <= 1.0:
        raise PagecoreError("delay must be >= 0 and prob in 0..1")
    pc_gates[rp].delay_ns = ns
    pc_gates[rp].prob = <unsigned int>(prob * 65536)


def rp_hits(name):
    return __atomic_load_ul(&pc_gates[_rp(name)].hits)


def rp_reset():
    cdef int i
    for i in range(RP_NR):
        pc_gates[i].armed = 0
        pc_gates[i].target_pid = 0
        pc_gates[i].delay_ns = 0
        pc_gates[i].prob = 0
        pc_gates[i].hits = 0
        pc_gate_release(i)


# ---- the primitives, for the tests ----------------------------------------

def bitop(name, unsigned long word, long arg):
    """Apply one bitop of includes/atomic.h to a copy of @word; returns
    (result, new word).  For cmpxchg, @arg packs nothing: use cmpxchg_()."""
    cdef unsigned long w = word
    cdef long r = 0
    if name == "set_bit":
        set_bit(arg, &w)
    elif name == "clear_bit":
        clear_bit(arg, &w)
    elif name == "test_bit":
        r = test_bit(arg, &w)
    elif name == "test_and_set_bit":
        r = test_and_set_bit(arg, &w)
    elif name == "test_and_set_bit_lock":
        r = test_and_set_bit_lock(arg, &w)
    elif name == "test_and_clear_bit":
        r = test_and_clear_bit(arg, &w)
    elif name == "clear_bit_unlock":
        clear_bit_unlock(arg, &w)
    elif name == "clear_bit_unlock_is_negative_byte":
        r = clear_bit_unlock_is_negative_byte(arg, &w)
    elif name == "xor_unlock_is_negative_byte":
        r = xor_unlock_is_negative_byte(<unsigned long>arg, &w)
    else:
        raise PagecoreError("unknown bitop %r" % name)
    return r, w


def cmpxchg_(unsigned long word, unsigned long old, unsigned long new):
    """The kernel's cmpxchg on a copy of @word: (value found, new word)."""
    cdef unsigned long w = word
    cdef unsigned long r = cmpxchg(&w, old, new)
    return r, w


def atomic_dec_and_test_(int v):
    cdef atomic_t a
    atomic_set(&a, v)
    return bool(atomic_dec_and_test(&a)), atomic_read(&a)


cdef spinlock_t test_lock
cdef long test_counter = 0


def locked_increments(long n):
    """@n increments of a plain counter under one spinlock; threads calling
    this concurrently must lose none."""
    global test_counter
    cdef long i
    with nogil:
        for i in range(n):
            spin_lock(&test_lock)
            test_counter += 1
            spin_unlock(&test_lock)


def locked_counter(reset=False):
    global test_counter
    v = test_counter
    if reset:
        test_counter = 0
    return v


cdef long page_lock_counter = 0


def page_lock_increments(long pid, long n):
    """@n increments of a plain counter under lock_page(): lock_page is a
    real mutual exclusion, including its hand-offs."""
    global page_lock_counter
    cdef page *p = _page(pid)
    cdef long i
    with nogil:
        for i in range(n):
            if pc_call_unwindable(_u_lock_page, p) != 0:
                break
            page_lock_counter += 1
            unlock_page(p)
            if pc_abort:
                break


def page_lock_counter_(reset=False):
    global page_lock_counter
    v = page_lock_counter
    if reset:
        page_lock_counter = 0
    return v


def sleep_until_woken(double timeout=5.0):
    """set_current_state + io_schedule: returns True if a waker (not the
    timeout or the watchdog) made this task runnable."""
    cdef task_struct *t = pc_current()
    set_current_state(TASK_UNINTERRUPTIBLE)
    with nogil:
        pc_schedule()
    return not pc_abort


def wake_up_pid(int pid):
    """wake_up_state(TASK_NORMAL) on the task with @pid: True if it woke it."""
    cdef int i
    for i in range(PC_MAX_TASKS):
        if __atomic_load_int(&pc_tasks[i].in_use) and pc_tasks[i].pid == pid:
            return bool(wake_up_state(&pc_tasks[i], TASK_NORMAL))
    raise PagecoreError("no task with pid %d" % pid)


def task_state(int pid):
    cdef int i
    for i in range(PC_MAX_TASKS):
        if __atomic_load_int(&pc_tasks[i].in_use) and pc_tasks[i].pid == pid:
            return __atomic_load_int(&pc_tasks[i].state)
    return None


def hash_ptr_(unsigned long value, int bits):
    return hash_ptr(<void *>value, bits)
