"""Every schedule of a setup, one per class: source-DPOR with sleep sets.

Two schedules that differ only in the order of independent steps (steps
of different tasks whose footprints do not conflict: no shared address, or
only reads of it) end in the same state and fail in the same way; they
are one Mazurkiewicz trace, a class.  The bounded search
(pagecore/verify/explore.py) runs every schedule up to a preemption bound,
which misses what needs more preemptions and runs each class many times.
This search runs every class, with no bound, and nearly never one twice:

- each step's footprint is what it read and wrote, as the instrumented
  build notes it (explore.h: the scheduling point's own access, and every
  marked access of the step, READ_ONCE(), test_bit(), the acquire loads
  and release stores ...);
- after a run, the races of its trace (two dependent steps of two tasks
  that no third step orders) say where a different order was possible;
  for each, one task that can start the reversed order is added to the
  backtrack set of the node before the first step, unless one already is,
  or is asleep there (source sets: Abdulla, Aronis, Jonsson and Sagonas,
  "Optimal dynamic partial order reduction", POPL 2014; Flanagan and
  Godefroid, "Dynamic partial-order reduction for model checking
  software", POPL 2005, for the search itself);
- sleep sets (Godefroid, 1996) carry, down each branch, the tasks whose
  next step was explored at a node above and is independent of the steps
  taken since: a run that could only go on with one of them is cut
  (sleep_blocked), its class was run elsewhere.

A run's races come from C (pc_x_races(), explore_sched.h), with vector
clocks over its steps.  Every scenario is finite: tasks end, a spin-wait
blocks until a step writes what it read, so the search ends, and when it
does every class of every schedule has been run: the verdict holds for
every schedule of the setup, not only those within a bound.

A job is one subtree: the schedules that begin with a prefix.  Run with a
limit on schedules, a job hands back what it has not run as jobs of its
own, a frontier; the nodes above a handed-back job run every choice (the
races found below cannot add to them any more), which is safe and a
little less reduced.  The limit is a count, not a time, so the jobs, the
schedules run and the counts are the same however many processes or
machines run them.
"""

from dataclasses import dataclass, replace

from pagecore.verify.explore import MAX_STEPS, Failure, diverged
from pagecore.verify.explore import _bits as _bits
from pagecore.verify.parallel import add_counts, merge_failure


@dataclass(frozen=True)
class DporJob:
    """The schedules that begin with @prefix: @sleep0 the tasks asleep at
    its last choice's node (their footprints are probed again here),
    @fixed the first node this job may add choices to."""
    setup: int = 0
    prefix: bytes = b""
    sleep0: int = 0
    level: int = 0
    fixed: int = 0
    algo: str = "dpor"


def _lowest(mask):
    return (mask & -mask).bit_length() - 1


def preemptions(chosen, enabled, n):
    """Switches away from a task that could have gone on, in a run of @n steps."""
    k = 0
    for s in range(1, n):
        prev = chosen[s - 1]
        if chosen[s] != prev and enabled[s] >> prev & 1:
            k += 1
    return k


class _Node:
    # A node of the job's own part of the tree: the state before step k.
    __slots__ = ("enabled", "sleep", "done", "backtrack")

    def __init__(self, enabled, sleep, chosen, fp):
        self.enabled = enabled
        self.sleep = sleep              # task -> footprint of its step here
        self.done = {chosen: fp}        # explored here, with their steps' footprints
        self.backtrack = 1 << chosen

    def sleep_mask(self):
        m = 0
        for t in self.sleep:
            m |= 1 << t
        return m

    def done_mask(self):
        m = 0
        for t in self.done:
            m |= 1 << t
        return m


def _run(runner, schedule, sleep, max_steps):
    c = runner.c
    runner._reset()
    c.x_set_sleep(sleep)
    return c.x_run(bytes(schedule), 0, max_steps, False, True)


def dpor_job(runner, job, max_schedules=None, deadline=None, clock=None):
    """Run the subtree of @job (a DporJob, or any job with its fields) with
    the reduction.  Returns a dict: schedules (runs), pruned (runs cut by
    the sleep set), classes (runs that ended), steps, max_steps,
    by_preemptions, failures (kind -> Failure, the shortest), and frontier
    (jobs not run: empty when the subtree is done).  @max_schedules and
    @deadline (a @clock() time) stop it early."""
    c = runner.c
    prefix = bytes(job.prefix)
    P = len(prefix)
    fixed = max(job.fixed, P)
    st = {"schedules": 0, "pruned": 0, "classes": 0, "steps": 0, "max_steps": 0,
          "by_preemptions": {}, "failures": {}, "frontier": []}
    # The footprints of the tasks asleep at the prefix's last node: each
    # one's step there, run once.
    sleep = {}
    for s in _bits(job.sleep0 & ~(1 << prefix[-1] if P else 0)):
        end, n = _run(runner, prefix[:-1] + bytes((s,)), {}, P)
        if end == "diverged" or n < P:
            raise diverged(runner)
        sleep[s] = c.x_footprint(P - 1)
    stack = []          # _Node for steps P, P+1, ...
    schedule, run_sleep = prefix, sleep
    while True:
        end, n = _run(runner, schedule, run_sleep, MAX_STEPS)
        ch, en, sl = c.x_masks()
        if end == "diverged":
            raise diverged(runner)
        st["schedules"] += 1
        st["steps"] += n
        st["max_steps"] = max(st["max_steps"], n)
        if end == "sleep_blocked":
            st["pruned"] += 1
        else:
            st["classes"] += 1
            k = preemptions(ch, en, n)
            st["by_preemptions"][k] = st["by_preemptions"].get(k, 0) + 1
            kinds = runner.failures(end)
            if kinds:
                f = Failure(kinds, k, ch[:n], end)
                for kind in kinds:
                    merge_failure(st["failures"], kind, f)
        # The step the new choice took, at the node it was made in.
        L = len(schedule)
        if L > P:
            node = stack[L - 1 - P]
            node.done[ch[L - 1]] = c.x_footprint(L - 1)
        for k in range(max(L, P), n):
            stack.append(_Node(en[k], {t: run_sleep[t] for t in _bits(sl[k])},
                               ch[k], c.x_footprint(k)))
        # Where another order was possible: one of the tasks that can start
        # it goes into the backtrack set, unless one is there or asleep.
        for i, initials in c.x_races(fixed):
            if i >= P + len(stack):
                continue
            node = stack[i - P]
            if initials & (node.backtrack | node.sleep_mask()):
                continue
            cand = initials & node.enabled
            if cand:
                node.backtrack |= 1 << _lowest(cand)
            else:
                node.backtrack |= node.enabled      # not expected: every choice, to be safe
        # The deepest node with a choice left.
        while stack:
            node = stack[-1]
            k = P + len(stack) - 1
            pend = node.backtrack & ~node.done_mask() & ~node.sleep_mask()
            if pend:
                break
            stack.pop()
        if not stack:
            return st
        stop = (max_schedules is not None and st["schedules"] >= max_schedules) or \
            (deadline is not None and clock() >= deadline)
        if stop:
            st["frontier"] = _frontier(job, ch, stack, P)
            return st
        q = _lowest(pend)
        schedule = ch[:k] + bytes((q,))
        run_sleep = dict(node.sleep)
        run_sleep.update(node.done)
        run_sleep.pop(q, None)


def _frontier(job, ch, stack, P):
    # Every choice not taken at every node on the path, as a job: the races
    # its subtree finds can no longer reach these nodes, so all of them run.
    out = []
    for j, node in enumerate(stack):
        k = P + j
        asleep = node.sleep_mask() | node.done_mask()
        for q in _bits(node.enabled & ~asleep):
            out.append(replace(job, prefix=bytes(ch[:k]) + bytes((q,)),
                               sleep0=asleep & ~(1 << q), fixed=k + 1))
    return out


def dpor_setup(runner, max_schedules=None, jobs_limit=None):
    """The whole tree of @runner's setup in this process: one dpor_job from
    the root and then its frontier, if @jobs_limit split it."""
    todo = [DporJob()]
    total = {"schedules": 0, "pruned": 0, "classes": 0, "steps": 0, "max_steps": 0,
             "by_preemptions": {}, "failures": {}, "jobs": 0, "complete": True}
    while todo:
        job = todo.pop()
        left = None if max_schedules is None else max_schedules - total["schedules"]
        if left is not None and left <= 0:
            total["complete"] = False
            break
        lim = jobs_limit if left is None else (left if jobs_limit is None
                                               else min(left, jobs_limit))
        r = dpor_job(runner, job, lim)
        merge(total, r)
        todo.extend(reversed(r["frontier"]))
    return total


def merge(total, r):
    """Add job result @r into @total, in any order: the same sums and the
    same shortest failures."""
    add_counts(total, r)
    total["jobs"] = total.get("jobs", 0) + 1
