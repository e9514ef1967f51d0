# The explorer's face in the instrumented build: scenario tasks as
# programs of kernel operations, run as coroutines under the deterministic
# scheduler of includes/explore_sched.h.  pagecore.verify.explore drives it.

from libc.string cimport memcpy

cdef extern from "pagecore/explore_sched.h" nogil:
    int PC_X_MAX_TASKS
    int PC_X_MAX_STEPS
    int PC_X_MAX_SNAP
    int PCX_NR
    struct pc_x_task:
        task_struct task
        int done
        int op
        const void *addr
        long arg
        int opi
    pc_x_task pc_x_tasks[]
    int pc_x_ntasks
    void (*pc_x_body)(int)
    uintptr_t pc_x_pool_lo, pc_x_pool_hi, pc_x_page_size
    int pc_x_nsteps
    signed char pc_x_chosen[]
    unsigned char pc_x_enabled_at[]
    unsigned char pc_x_sleep_at[]
    unsigned char pc_x_pop[][8]
    int pc_x_record
    const void *pc_x_addr_at[]
    long pc_x_arg_at[]
    short pc_x_opi_at[]
    unsigned long pc_x_bugs_after[]
    int pc_x_nsnap
    const void *pc_x_snap_page[]
    unsigned long pc_x_snap_flags[][4]
    int pc_x_snap_ref[][4]
    unsigned int pc_x_snap_gen[][4]
    int pc_x_snap_free[][4]
    size_t pc_x_off_refcount, pc_x_off_gen, pc_x_off_free
    int pc_x_setup(int n, const char *const *names)
    int pc_x_run(const signed char *prefix, int nprefix, unsigned sleep0, int max_steps,
                 int dpor)
    unsigned pc_x_child_sleep(int step, int u, unsigned prior)
    int PC_X_MAX_ACC
    struct pc_x_acc:
        pass
    unsigned char pc_x_nacc[]
    pc_x_acc pc_x_accs[][24]
    unsigned pc_x_dsleep
    unsigned char pc_x_dsleep_nacc[]
    pc_x_acc pc_x_dsleep_acc[][24]
    int pc_x_races(int frm, int *ri, unsigned *rinit, int mx)
    int pc_x_nreg
    void pc_x_region(const void *base, unsigned long size)
    size_t sizeof_xa_node "sizeof(struct xa_node)"

# The kernel operations a scenario task can run (pagecore/verify/scenarios.py
# names them); each takes page slots, not pages, so that a page allocated or
# looked up by one operation is the operand of the next.
XOPS = ("end_page_writeback", "write_cache_pages", "wait_on_page_writeback",
        "truncate_inode_page", "lock_page", "unlock_page", "set_page_writeback",
        "get_page", "put_page", "alloc_page", "add_to_page_cache", "find_get_page",
        "mmap_store", "ll_rw_block", "check_lost_write", "delete_from_page_cache")
XWCP = {"start": WCP_STARTED, "wait": WCP_WAITED, "write": WCP_WRITTEN}

DEF X_NSLOTS = 8
DEF X_MAXOPS = 64
cdef long x_prog[8][64][5]
cdef int x_nops[8]
cdef page *x_slot[X_NSLOTS]
cdef long x_slot_init[X_NSLOTS]


cdef void x_body(int ti) noexcept nogil:
    cdef int k, nr = 0, started = 0
    cdef long *o
    cdef page *p
    cdef long st[4]
    for k in range(x_nops[ti]):
        o = x_prog[ti][k]
        pc_x_tasks[ti].opi = k
        p = x_slot[o[1]] if o[1] >= 0 else NULL
        if o[0] == 9:                   # alloc_page
            x_slot[o[1]] = alloc_page()
            continue
        if o[0] == 11:                  # find_get_page
            x_slot[o[1]] = find_get_page(&mappings[o[2]], o[3])
            continue
        if p == NULL:
            continue                    # nothing was found or allocated: skip
        if o[0] == 0:
            # ("end_page_writeback", S, "started"): the I/O completion of
            # the writeback this task's write_cache_pages started, if it did
            if o[2] == 0 or started:
                end_page_writeback(p)
        elif o[0] == 1:
            started = write_cache_pages_one_page(p, &mappings[o[2]], <int>o[3],
                                                 &nr) == WCP_STARTED
        elif o[0] == 2:
            wait_on_page_writeback(p)
        elif o[0] == 3:
            truncate_inode_page(p)
        elif o[0] == 4:
            lock_page(p)
        elif o[0] == 5:
            unlock_page(p)
        elif o[0] == 6:
            set_page_writeback(p)
        elif o[0] == 7:
            get_page(p)
        elif o[0] == 8:
            put_page(p)
        elif o[0] == 10:
            add_to_page_cache(p, &mappings[o[2]], o[3])
        elif o[0] == 12:
            mmap_store(&D.vmas[o[2]], p, <int>o[3], <unsigned long>o[4])
        elif o[0] == 13:
            ll_rw_block_write(&page_buffers(p)[o[2]])
        elif o[0] == 14:
            check_lost_write(p, st)
        elif o[0] == 15:
            delete_from_page_cache(p)
    pc_x_tasks[ti].opi = x_nops[ti]


def x_load(names, programs, slots, snap_pages):
    """Load a scenario: task @names, one program each (a list of
    (op name, slot, a, b, c) tuples), the page ids of the slots bound
    before the run (-1: unbound), and the pages whose flags and refcount
    each recorded step snapshots."""
    cdef int i, k
    if not PC_INSTRUMENTED:
        raise PagecoreError("explore needs the instrumented build")
    if not 1 <= len(names) <= PC_X_MAX_TASKS:
        raise PagecoreError("a scenario has 1 to %d tasks" % PC_X_MAX_TASKS)
    if len(slots) > X_NSLOTS or len(snap_pages) > PC_X_MAX_SNAP:
        raise PagecoreError("at most %d page slots" % X_NSLOTS)
    global x_names
    x_names = [str(n).encode()[:31] for n in names]
    for i, prog in enumerate(programs):
        if len(prog) > X_MAXOPS:
            raise PagecoreError("at most %d operations per task" % X_MAXOPS)
        x_nops[i] = len(prog)
        for k, op in enumerate(prog):
            x_prog[i][k][0] = XOPS.index(op[0])
            x_prog[i][k][1] = op[1]
            x_prog[i][k][2] = op[2] if len(op) > 2 else 0
            x_prog[i][k][3] = op[3] if len(op) > 3 else 0
            x_prog[i][k][4] = op[4] if len(op) > 4 else 0
    for i in range(X_NSLOTS):
        x_slot_init[i] = slots[i] if i < len(slots) else -1
    global x_snap
    x_snap = [int(pid) for pid in snap_pages]


cdef object x_names = []
cdef object x_snap = []


def x_run(bytes prefix, unsigned sleep0=0, int max_steps=2000, bint record=False,
          bint dpor=False):
    """Run one schedule on the model as configured now (see pc_x_run);
    returns (end, steps): end is done, hang, sleep_blocked, limit or diverged.
    With @dpor, the sleep set is x_set_sleep()'s, by footprint, and any
    enabled task not asleep may be chosen past the prefix."""
    global pc_x_body, pc_x_pool_lo, pc_x_pool_hi, pc_x_page_size, pc_x_record
    global pc_x_off_refcount, pc_x_off_gen, pc_x_off_free, pc_current_task
    cdef const char *cnames[8]
    cdef int i, n = len(x_names), end
    cdef const signed char *pre = <const signed char *><char *>prefix
    cdef int npre = len(prefix)
    for i in range(n):
        cnames[i] = <char *>x_names[i]
    for i in range(X_NSLOTS):
        x_slot[i] = &A.pages[x_slot_init[i]] if x_slot_init[i] >= 0 else NULL
    pc_x_body = x_body
    pc_x_pool_lo = <uintptr_t>A.pages
    pc_x_pool_hi = <uintptr_t>(A.pages + A.npages)
    pc_x_page_size = sizeof(page)
    pc_x_off_refcount = <char *>&A.pages[0]._refcount - <char *>&A.pages[0]
    pc_x_off_gen = <char *>&A.pages[0].pc_gen - <char *>&A.pages[0]
    pc_x_off_free = <char *>&A.pages[0].pc_free - <char *>&A.pages[0]
    pc_x_record = record
    global pc_x_nsnap
    pc_x_nsnap = len(x_snap)
    for i, pid in enumerate(x_snap):
        pc_x_snap_page[i] = _page(pid)
    _x_regions()
    if pc_x_setup(n, cnames) != 0:
        raise MemoryError()
    # The scheduler makes each task current in turn and leaves none: this
    # thread's own task (the setup's, which the statistics' per-CPU data
    # need) is this thread's again afterwards, not a new one per schedule.
    was = <uintptr_t>pc_current_task
    with nogil:
        end = pc_x_run(pre, npre, sleep0, max_steps, dpor)
    pc_current_task = <task_struct *>was
    return ("done", "hang", "sleep_blocked", "limit", "diverged")[end], pc_x_nsteps


def x_masks():
    """(chosen, enabled, sleep) of the last run, one byte per step and one
    more for the node it stopped at; chosen is 255 there."""
    cdef int n = pc_x_nsteps + 1
    return ((<char *>pc_x_chosen)[:n], (<char *>pc_x_enabled_at)[:n],
            (<char *>pc_x_sleep_at)[:n])


def x_child_sleep(int step, int u, unsigned prior):
    return pc_x_child_sleep(step, u, prior)


cdef _x_where(const void *addr, int op, long arg):
    # What the address is, in the model's terms.
    cdef uintptr_t a = <uintptr_t>addr
    cdef long i
    if addr == NULL:
        return None
    if A.pages != NULL and a >= <uintptr_t>A.pages and a < <uintptr_t>(A.pages + A.npages):
        i = (a - <uintptr_t>A.pages) // sizeof(page)
        p = &A.pages[i]
        if a == <uintptr_t>&p._refcount:
            return ("refcount", i)
        return ("flags", i)
    for i in range(1 << PAGE_WAIT_TABLE_BITS):
        if a == <uintptr_t>&page_wait_table[i].lock:
            return ("bucket", i)
    for i in range(nmappings):
        if a == <uintptr_t>&mappings[i].i_pages.xa_lock:
            return ("i_pages", i)
        if a == <uintptr_t>&mappings[i].private_lock:
            return ("private_lock", i)
        if a == <uintptr_t>&mappings[i].i_mmap_lock:
            return ("i_mmap_lock", i)
    if a == <uintptr_t>&A.lock:
        return ("zone", 0)
    if D.bhs != NULL and a >= <uintptr_t>D.bhs and a < <uintptr_t>(D.bhs + D.npages * D.nbuffers):
        i = (a - <uintptr_t>D.bhs) // sizeof(buffer_head)
        return ("buffer", i % D.nbuffers)
    for i in range(D.nvmas if D.vmas != NULL else 0):
        if a == <uintptr_t>&D.vmas[i].ptl:
            return ("ptl", i)
    if D.mapcount != NULL and a >= <uintptr_t>D.mapcount and a < <uintptr_t>(D.mapcount + D.npages):
        return ("mapcount", (a - <uintptr_t>D.mapcount) // sizeof(atomic_t))
    for i in range(pc_x_ntasks):
        if a == <uintptr_t>&pc_x_tasks[i].task.state:
            return ("task", i)
    return ("other", 0)


def x_steps():
    """The recorded run, step by step: (task, op, what it touched, arg,
    scenario op index, bug records logged so far, page snapshots)."""
    cdef int s, j
    out = []
    for s in range(pc_x_nsteps):
        t = pc_x_chosen[s]
        snaps = []
        for j in range(pc_x_nsnap):
            snaps.append((pc_x_snap_flags[s][j], pc_x_snap_ref[s][j], pc_x_snap_gen[s][j],
                          pc_x_snap_free[s][j]))
        out.append((t, _x_op_at(s, t),
                    _x_where(pc_x_addr_at[s], 0, 0), pc_x_arg_at[s], pc_x_opi_at[s],
                    pc_x_bugs_after[s], snaps))
    return out


cdef int _x_op_at(int s, int t):
    return pc_x_pop[s][t]


def x_positions():
    """Where each task is now (after a run): (name, finished, pending op,
    what it touches, scenario op index, where it sleeps or spins)."""
    cdef int i
    out = []
    for i in range(pc_x_ntasks):
        t = &pc_x_tasks[i]
        w = t.task.where
        out.append({"task": i, "done": bool(t.done), "op": t.op,
                    "touches": _x_where(t.addr, t.op, t.arg), "arg": t.arg, "opi": t.opi,
                    "where": w.decode() if w != NULL else None,
                    "state": t.task.state})
    return out


def x_footprint(int step):
    """Step @step's footprint in the last run, as an opaque value for
    x_set_sleep() (addresses of this process: meaningless in another)."""
    if not 0 <= step < pc_x_nsteps:
        raise IndexError(step)
    cdef int n = pc_x_nacc[step]
    if n == 0xff:
        return b"*"
    return (<char *>&pc_x_accs[step][0])[:n * sizeof(pc_x_acc)]


def x_set_sleep(dict sleep):
    """The reduced search's sleep set for the next x_run(dpor=True): task ->
    the footprint (x_footprint()) of its next step, as recorded."""
    global pc_x_dsleep
    cdef unsigned mask = 0
    cdef bytes fp
    for t, fp in sleep.items():
        mask |= 1u << t
        if fp == b"*":
            pc_x_dsleep_nacc[t] = 0xff
        else:
            pc_x_dsleep_nacc[t] = len(fp) // sizeof(pc_x_acc)
            memcpy(&pc_x_dsleep_acc[t][0], <char *>fp, len(fp))
    pc_x_dsleep = mask


def x_races(int frm):
    """The races of the last run at steps from @frm on: (step, initials
    mask) pairs, as pc_x_races() finds them."""
    cdef int n, i
    cdef int *ri = <int *>malloc(sizeof(int) * 65536)
    cdef unsigned *rinit = <unsigned *>malloc(sizeof(unsigned) * 65536)
    if ri == NULL or rinit == NULL:
        free(ri)
        free(rinit)
        raise MemoryError()
    try:
        n = pc_x_races(frm, ri, rinit, 65536)
        return [(ri[i], rinit[i]) for i in range(n)]
    finally:
        free(ri)
        free(rinit)


cdef void _x_regions() noexcept:
    # The model's memory as configure() and dirty_configure() placed it this
    # time: footprints name addresses in it by region and offset.
    global pc_x_nreg
    cdef long i
    cdef xarray *xa
    pc_x_nreg = 0
    pc_x_region(A.pages, A.npages * sizeof(page))
    pc_x_region(page_wait_table, (1 << PAGE_WAIT_TABLE_BITS) * sizeof(wait_queue_head))
    pc_x_region(mappings, nmappings * sizeof(address_space))
    pc_x_region(inodes, nmappings * sizeof_inode)
    for i in range(nmappings):
        xa = &mappings[i].i_pages
        pc_x_region(xa.xa_slots, xa.xa_nslots * sizeof(void *))
        if xa.xa_levels > 0:
            pc_x_region(xa.xa_nodes, (xa.xa_level_start[xa.xa_levels - 1] + 1) * sizeof_xa_node)
    if D.bhs != NULL:
        pc_x_region(D.bhs, D.npages * D.nbuffers * sizeof(buffer_head))
        pc_x_region(D.data, D.npages * D.nbuffers * sizeof(unsigned long))
        pc_x_region(D.disk, D.npages * D.nbuffers * sizeof(unsigned long))
        pc_x_region(D.mapcount, D.npages * sizeof(atomic_t))
        pc_x_region(D.vmas, D.nvmas * sizeof(vm_area_struct))
        for i in range(D.nvmas):
            pc_x_region(D.vmas[i].ptes, D.npages * sizeof(unsigned long))
