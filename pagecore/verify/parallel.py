"""Explore on every core, and on a cluster: one cell's schedule tree split
into jobs that any worker may run.

A job is a subtree of one setup's schedule tree: the schedule prefix that
leads to it, the sleep set at its root, the preemptions spent on the way
(its level), and what the search needs besides (the bound, the point
below which the reduction may not add branches).  A worker runs a job for
at most a fixed number of schedules (CHUNK), never for a time slice, and
returns what it ran plus its unexplored frontier as new jobs.  What a job
does depends only on the job, so the set of schedules run, every count and
the shortest counterexample are the same with 1, 2 or N workers, and the
same on a cluster: that is why the split is by count and the merge is a
sum and a minimum (merge_failure), never "the first one back".

Work stealing comes from the shared queue: every frontier a job hands back
goes into it, and whichever worker is idle takes the next job, lowest
preemption level first (so that a run stopped by a budget has covered the
low bounds whole).

Executors:
  - in this process (one worker: no pool, nothing to pickle);
  - local processes: a pool from multiprocessing's fork server (not fork:
    this process may have run the model's threads, stress or the
    watchdog, and a child forked from it can inherit a lock some thread
    held at that moment, the allocator's or a sanitizer runtime's, and wait
    for it forever; the fork server is a fresh single-threaded interpreter
    that has imported the core once, and each worker is forked from it);
  - dask.distributed: a LocalCluster of worker processes (--cluster local)
    or a running scheduler (--scheduler ADDRESS).  A task whose worker dies
    is run again elsewhere by the scheduler (and retried), so no job is
    lost.
"""

import concurrent.futures
import hashlib
import time
from dataclasses import dataclass

from pagecore._errors import PagecoreError

CHUNK = 2000            # runs a job makes before it hands back its frontier
CLUSTER_HINT = "pip install pagecore[cluster]"


@dataclass(frozen=True)
class Job:
    """One subtree of a setup's schedule tree.  Frozen and made of plain
    values: it pickles, hashes, and names its dask task."""

    variant: str
    scenario: str
    setup: int              # index into the scenario's setups
    prefix: bytes = b""     # the choices that lead to the subtree's root
    sleep0: int = 0         # the sleep set at the root (a mask of tasks)
    level: int = 0          # preemptions spent by the prefix
    fixed: int = 0          # dpor: no backtrack point added at a position < fixed
    algo: str = "bounded"   # "bounded" (sleep sets, context bounding) or "dpor"
    bound: int = -1         # bounded: the most preemptions; -1: no bound (deepen)
    por: bool = True        # bounded: sleep sets on

    def key(self):
        """A name that is the same in every run for the same job."""
        h = hashlib.sha1(repr((self.variant, self.scenario, self.setup, self.prefix,
                               self.sleep0, self.level, self.fixed, self.algo, self.bound,
                               self.por)).encode())
        return "explore-%s" % h.hexdigest()[:20]

    def child(self, prefix, sleep0, level):
        # not dataclasses.replace(): this is made for every branch of a search
        return Job(self.variant, self.scenario, self.setup, bytes(prefix), sleep0, level,
                   self.fixed, self.algo, self.bound, self.por)


def task_key(task, chunk):
    """A task's name, the same in every run for the same jobs."""
    job, batch = task[:2]
    h = hashlib.sha1(("%s %d" % (job.key(), chunk)).encode())
    h.update(repr(batch).encode())
    return "explore-%s" % h.hexdigest()[:24]


def merge_failure(best, kind, f):
    """Keep in @best the shorter of its @kind and @f (Failure.key(): fewest
    preemptions, fewest steps, then the schedule's bytes, so that a tie has
    one answer whoever found it first)."""
    if kind not in best or f.key() < best[kind].key():
        best[kind] = f


def add_counts(into, res):
    """Add a job's (or a batch's) result @res into @into: sums, a maximum and
    the shortest failures, so that any order of adding gives the same."""
    for k in ("schedules", "pruned", "steps", "classes"):
        into[k] = into.get(k, 0) + res.get(k, 0)
    into["max_steps"] = max(into.get("max_steps", 0), res["max_steps"])
    for b, n in res["by_preemptions"].items():
        into["by_preemptions"][b] = into["by_preemptions"].get(b, 0) + n
    for k, f in res["failures"].items():
        merge_failure(into["failures"], k, f)


def _scenario(task):
    # the scenario goes with each task: a worker process has the built-in
    # list, not one added to it in this process
    from pagecore.verify.scenarios import SCENARIOS

    return SCENARIOS[task[0].scenario]


# -- executors ------------------------------------------------------------------------

class InProcess:
    """One worker: the jobs run here, one at a time, as they are taken."""

    workers = 1

    def __init__(self):
        self._done = []

    def submit(self, task, chunk):
        from pagecore.verify.explore import run_job

        self._done.append((task, run_job(task, chunk)))

    def next_done(self, timeout):
        return [self._done.pop(0)] if self._done else []

    def close(self):
        pass


class LocalPool:
    """Worker processes, each a fresh interpreter (multiprocessing's spawn).

    Not fork: this process may have run the model's threads (stress, a
    watchdog), and a child forked from it can inherit a lock one of them
    held (the allocator's, a sanitizer runtime's) and wait for it forever.
    Not the fork server either: on Python 3.11 it starts with the current
    directory first on its path, not this process's path, and in a source
    tree it imports the uncompiled package there.  A spawned worker gets
    this process's path and imports the same pagecore."""

    def __init__(self, workers):
        import multiprocessing

        self.workers = workers
        ctx = multiprocessing.get_context("spawn")
        self.pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx)
        self.pending = {}

    def submit(self, task, chunk):
        from pagecore.verify.explore import run_job

        self.pending[self.pool.submit(run_job, task, chunk, _scenario(task))] = task

    def next_done(self, timeout):
        if not self.pending:
            return []
        done, _ = concurrent.futures.wait(list(self.pending), timeout=timeout,
                                          return_when=concurrent.futures.FIRST_COMPLETED)
        out = []
        # in submission order among those done: the merge does not depend on it,
        # but a failure in a job is raised for the same job each time
        for fut in [f for f in self.pending if f in done]:
            out.append((self.pending.pop(fut), fut.result()))
        return out

    def close(self):
        for fut in self.pending:
            fut.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


class Cluster:
    """The same jobs as dask.distributed tasks."""

    RETRIES = 3     # a task whose worker died is run again; this bounds a job that kills it

    def __init__(self, scheduler=None, workers=None):
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError:
            raise PagecoreError("--cluster and --scheduler need dask.distributed: "
                                + CLUSTER_HINT) from None
        self._as_completed = as_completed
        self.cluster = None
        if scheduler is None:
            from pagecore.model.machine import cpu_count

            # one thread a worker: the model's core holds one loaded scenario
            # per process, and the jobs are CPU-bound Python and C
            self.cluster = LocalCluster(n_workers=workers or cpu_count(), threads_per_worker=1,
                                        processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(scheduler, timeout=30)
            except (OSError, TimeoutError, ValueError) as e:
                raise PagecoreError("--scheduler %s: cannot connect: %s" % (scheduler, e)) \
                    from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        self.ac = as_completed([], with_results=False)
        self.pending = {}

    def submit(self, task, chunk):
        from pagecore.verify.explore import run_job

        fut = self.client.submit(run_job, task, chunk, _scenario(task),
                                 key=task_key(task, chunk), pure=False, retries=self.RETRIES)
        self.pending[fut.key] = task
        self.ac.add(fut)

    def next_done(self, timeout):
        if not self.pending:
            return []
        out = []
        for fut in self.ac.next_batch(block=True):
            task = self.pending.pop(fut.key)
            out.append((task, fut.result()))
            fut.release()
        return out

    def close(self):
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def executor(workers=None, cluster=None, scheduler=None):
    """The executor for --jobs / --cluster / --scheduler."""
    if cluster is not None or scheduler is not None:
        if cluster not in (None, "local"):
            raise PagecoreError("--cluster takes local (a LocalCluster on this machine), "
                                "not %r; for a running one give --scheduler ADDRESS" % cluster)
        return Cluster(scheduler=scheduler, workers=workers)
    from pagecore.model.machine import cpu_count

    workers = workers or cpu_count()
    return InProcess() if workers <= 1 else LocalPool(workers)


# -- the driver -----------------------------------------------------------------------

def groups(frontier):
    """A frontier as {level: [(prefix, sleep0, fixed), ...]}: a list of Jobs
    (what a search may hand back), or that dict already (what bounded_job
    hands back: the fields that differ from its job's, grouped, a fraction of
    the Jobs' pickled size for the many branches a search makes)."""
    if isinstance(frontier, dict):
        return frontier
    out = {}
    for j in frontier:
        out.setdefault(j.level, []).append((j.prefix, j.sleep0, j.fixed))
    return out


def merge_frontier(into, frontier):
    for level, items in groups(frontier).items():
        into.setdefault(level, []).extend(items)


class Phase:
    """One cell's search in one algorithm: its jobs' counts, per setup, and
    the queue of jobs not yet run, one stack per (setup, level)."""

    def __init__(self, cell, nsetups, algo, bound, por):
        self.cell = cell
        self.algo = algo
        self.bound = bound
        self.setups = [{"schedules": 0, "pruned": 0, "steps": 0, "max_steps": 0,
                        "by_preemptions": {}, "classes": 0, "failures": {}}
                       for _ in range(nsetups)]
        self.template = {(i, 0): Job(cell[0], cell[1], i, algo=algo, bound=bound, por=por)
                         for i in range(nsetups)}
        self.queues = {}        # (setup, level) -> [(prefix, sleep0, fixed)]
        self.known = {}         # level -> jobs made of that level
        self.done = {}          # level -> jobs finished of that level
        self.queued = 0
        self.running = 0
        self.reserved = 0       # runs the tasks in flight may make
        self.seconds = 0.0      # worker seconds spent
        self.deadline = None
        self.stopped = None     # why it stopped before the end: "budget", "max-schedules"
        for i in range(nsetups):
            self.push(i, {0: [(b"", 0, 0)]})

    def push(self, setup, frontier, new=True):
        for level, items in groups(frontier).items():
            q = self.queues.get((setup, level))
            if q is None:
                q = self.queues[(setup, level)] = []
            q.extend(items)
            self.queued += len(items)
            if new:
                self.known[level] = self.known.get(level, 0) + len(items)

    def job(self, setup, level, prefix, sleep0, fixed):
        t = self.template[(setup, 0)]
        return Job(t.variant, t.scenario, setup, prefix, sleep0, level, fixed, t.algo,
                   t.bound, t.por)

    def lowest(self):
        """The (setup, level) whose jobs go next: the lowest level, so that a
        budget ends with the low bounds covered whole."""
        keys = [k for k, q in self.queues.items() if q]
        return min(keys, key=lambda k: (k[1], k[0])) if keys else None

    def take(self, key, most):
        """Up to @most jobs of queue @key, the last made first (depth first, as
        the search itself goes: the queue stays short)."""
        q = self.queues[key]
        batch = q[-most:]
        del q[-most:]
        batch.reverse()
        self.queued -= len(batch)
        return batch

    @property
    def schedules(self):
        return sum(s["schedules"] for s in self.setups)

    @property
    def finished(self):
        return self.queued == 0 and self.running == 0

    @property
    def complete(self):
        return self.finished and self.stopped is None

    def add(self, key, batch, res):
        """Fold in what a task ran: the first res["taken"] jobs of @batch, of
        queue @key; the rest go back."""
        setup, level = key
        add_counts(self.setups[setup], res)
        self.done[level] = self.done.get(level, 0) + res["taken"]
        self.seconds += res.get("seconds", 0.0)
        self.push(setup, res["frontier"])
        self.push(setup, {level: batch[res["taken"]:][::-1]}, new=False)

    def coverage(self):
        """How far the search got: (levels complete, fraction of the jobs of
        the next level done); (None, None) when it ran whole."""
        if self.complete:
            return None, None
        open_levels = [b for b, n in self.known.items() if self.done.get(b, 0) < n]
        first = min(open_levels) if open_levels else max(self.known, default=0) + 1
        frac = self.done.get(first, 0) / self.known[first] if first in self.known else 0.0
        return first - 1, frac


BATCH = 4096    # most jobs in one task: a task is one round trip to a worker


def limit_of(p, deadline):
    """When phase @p stops: its own deadline or the run's, the earlier."""
    if deadline is None:
        return p.deadline
    return deadline if p.deadline is None else min(deadline, p.deadline)


def run_phases(phases, ex, chunk=CHUNK, max_schedules=None, progress=None, deadline=None):
    """Run the @phases on executor @ex until each has run whole, been stopped
    by its deadline (or @deadline), or the @max_schedules of its cell ran;
    yields each phase as it ends.  Every task of a phase that is running
    when its deadline passes is waited for and counted: what a task ran is
    kept whole or not at all.

    A task is a batch of jobs of one setup and level, run in order for at
    most @chunk runs in all (the jobs it did not reach come back untouched):
    one round trip to a worker for many small subtrees.  How the jobs are
    batched changes no count: the jobs of a setup, and the schedules each
    runs, are the same however they are grouped or cut."""
    owner = {}
    live = list(phases)
    last_say = time.monotonic()
    while live:
        now = time.monotonic()
        for p in live:
            limit = p.deadline if deadline is None else (
                deadline if p.deadline is None else min(deadline, p.deadline))
            if p.stopped is None and limit is not None and now >= limit and p.queued:
                p.stopped = "budget"
        # hand out tasks until every worker has one (and a spare, so that a
        # worker that finishes finds the next at once): the lowest level of
        # all the cells first, then the cells in order
        while len(owner) < ex.workers * 2:
            ready = [(k[1], i, p, k) for i, p in enumerate(live)
                     if p.stopped is None for k in [p.lowest()] if k is not None]
            n = chunk
            if max_schedules is not None:
                # what the tasks in flight may still run counts as run: the
                # cell stops at its cap, not a chunk per worker past it
                ready = [r for r in ready
                         if max_schedules - r[2].schedules - r[2].reserved > 0]
            if not ready:
                break
            _, _, p, key = min(ready, key=lambda r: r[:2])
            if max_schedules is not None:
                n = min(n, max_schedules - p.schedules - p.reserved)
            # a fair share of what is queued, so that every worker gets some
            most = max(1, min(BATCH, p.queued // (ex.workers * 2)))
            batch = p.take(key, most)
            p.running += 1
            p.reserved += n
            task = (p.job(key[0], key[1], *batch[0]), tuple(batch))
            if p.algo == "dpor" and limit_of(p, deadline) is not None:
                # the budget's end, as a time any worker's clock reads
                task += (time.time() + limit_of(p, deadline) - time.monotonic(),)
            owner[id(task)] = (p, n, key, batch)
            ex.submit(task, n)
        for p in list(live):
            if p.running == 0 and (p.queued == 0 or p.stopped is not None):
                live.remove(p)
                yield p
        if not live:
            break
        for task, res in ex.next_done(timeout=0.5):
            p, n, key, batch = owner.pop(id(task))
            p.running -= 1
            p.reserved -= n
            p.add(key, batch, res)
            if (max_schedules is not None and p.schedules >= max_schedules and p.queued
                    and p.stopped is None):
                p.stopped = "max-schedules"
        if progress and time.monotonic() - last_say >= 2.0:
            last_say = time.monotonic()
            progress(live)
