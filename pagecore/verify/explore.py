"""Explore: every schedule of a scenario up to a preemption bound, on the
instrumented build.

The scenario's tasks run as coroutines under the deterministic scheduler
of pagecore/kernel/include/pagecore/explore_sched.h: one task runs at a time, and
at every scheduling point (atomic RMW or cmpxchg, spin_lock, spin_unlock,
wake, sleep, race point, spin-wait) the explorer picks who runs next.  The
search is iterative context bounding (Musuvathi and Qadeer, PLDI 2007):
all schedules with no preemption, then those with one, and so on up to the
bound, where a preemption is a switch away from a task that could go on
(a switch when the running task blocks or finishes is free).  Sleep sets
(Godefroid, 1996) skip a schedule that only reorders independent steps of
one already run.  Each schedule runs from a fresh model (stateless, as
CHESS does), so a failing one is a list of choices that replays exactly.

A failure is what the model records (bug_on, freed_page,
not_under_writeback, bad_page, lost_write) or a hang: a state where no
task can run and some have not finished, found at once with every task's
position.  The shortest failing schedule (fewest preemptions, then fewest
steps) of each cell is drawn as a CPU-column timeline.
"""

import dataclasses
import time

from pagecore._errors import PagecoreError
from pagecore.model.machine import Model
from pagecore.verify.scenarios import SCENARIOS
from pagecore.verify.schedules import schedule_doc
from pagecore.verify.timeline import narrate, timeline

PREEMPTIONS = 2         # the default bound
MAX_STEPS = 2000        # a schedule longer than this is a livelock
_loaded = None

_WCP = {"start": 2, "wait": 3, "write": 4}      # WCP_STARTED, WCP_WAITED, WCP_WRITTEN
def _bits(mask):
    i = 0
    while mask:
        if mask & 1:
            yield i
        mask >>= 1
        i += 1


class Runner:
    """One setup of a scenario against one variant: runs a schedule from a
    fresh model each time."""

    max_steps = MAX_STEPS

    def __init__(self, variant, setup):
        self.variant = variant
        self.setup = setup
        self.m = Model(variant, instrumented=True, npages=setup.npages, nmappings=2)
        self.c = self.m.core
        self.names = [n for n, _ in setup.tasks]
        self.slot_names = []
        for step in setup.setup:
            self._slot(step)
        for _, ops in setup.tasks:
            for op in ops:
                if op[0] in ("alloc_page", "find_get_page") or len(op) > 1:
                    self._slot(op)
        self.programs = [[self._encode(op) for op in ops] for _, ops in setup.tasks]
        self.pages = self._reset()
        self.snap = sorted(set(self.pages.values()) | set(range(min(setup.npages, 2))))[:4]
        self._load()
        self.bits = {v: k for k, v in self.c.page_bits().items()}
        self.bugs_zero = {k: 0 for k in self.c.BUGS}

    def _slot(self, step):
        # the page slot an operation names, if any
        kind = step[0]
        if kind in ("no_writeback_tags", "map"):
            if kind == "map" and step[2] not in self.slot_names:
                self.slot_names.append(step[2])
            return
        name = step[1]
        if isinstance(name, str) and name not in self.slot_names:
            self.slot_names.append(name)

    def _encode(self, op):
        name, args = op[0], list(op[1:])
        if name not in self.c.XOPS:
            raise PagecoreError("scenario operation %r unknown (known: %s)"
                                % (name, ", ".join(self.c.XOPS)))
        slot = self.slot_names.index(args[0]) if args else -1
        rest = args[1:]
        if name == "write_cache_pages":
            if len(rest) != 2 or rest[1] not in _WCP:
                raise PagecoreError("write_cache_pages takes a slot, a mapping and one of %s"
                                    % ", ".join(_WCP))
            rest = [rest[0], _WCP[rest[1]]]
        elif name == "end_page_writeback":
            rest = [1 if rest and rest[0] == "started" else 0]
        return tuple([name, slot] + [int(x) for x in rest])

    def _load(self):
        # The core holds one loaded scenario: load ours if another Runner's is in.
        global _loaded
        self.c.x_load(self.names, self.programs,
                      [self.pages.get(s, -1) for s in self.slot_names], self.snap)
        _loaded = self

    def _reset(self):
        c, s = self.c, self.setup
        if _loaded is not self and hasattr(self, "snap"):
            self._load()
        c.configure(self.variant, 8, s.npages, 2)
        if s.dirty:
            c.dirty_configure(s.dirty[0], s.dirty[1], 0)
        pages = {}
        for step in s.setup:
            kind = step[0]
            if kind == "page":
                p = c.alloc_page_()
                c.add_to_page_cache_(p, step[2], step[3])
                pages[step[1]] = p
            elif kind == "start_writeback":
                p = pages[step[1]]
                c.lock_page_(p)
                c.set_page_writeback_(p)
                c.unlock_page_(p)
            elif kind == "get_page":
                c.get_page_(pages[step[1]])
            elif kind == "put_page":
                c.put_page_(pages[step[1]])
            elif kind == "no_writeback_tags":
                c.set_mapping_writeback_tags(step[1], False)
            elif kind == "buffers":
                c.create_page_buffers_(pages[step[1]])
            elif kind == "map":
                c.do_no_page_(step[1], pages[step[2]], False)
            else:
                raise PagecoreError("scenario setup step %r unknown" % (kind,))
        return pages

    def run(self, prefix, sleep0=0, record=False):
        self._reset()
        return self.c.x_run(bytes(prefix), sleep0, MAX_STEPS, record)

    def failures(self, end):
        b = self.c.bugs()
        out = [k for k in self.c.BUGS if b[k]]
        if end in ("hang", "limit"):
            out.append("hang")
        return out


class Failure:
    def __init__(self, kinds, preemptions, schedule, end):
        self.kinds = kinds
        self.preemptions = preemptions
        self.schedule = bytes(schedule)
        self.end = end

    @property
    def steps(self):
        return len(self.schedule)

    def key(self):
        # the schedule's bytes last: a tie has one answer, whoever found it first
        return (self.preemptions, self.steps, self.schedule)


def diverged(r):
    """The error of a schedule that did not run again as it ran before."""
    return PagecoreError("explore: %s / %s: the model did not repeat a schedule (a "
                         "nondeterministic step)" % (r.variant, r.setup.title))


def tally(st, best, r, end, n, ch, preemptions):
    """Count a run of @r that ended with @end after @n steps, choosing @ch,
    with @preemptions, into @st, and its failures into @best (kind ->
    shortest Failure)."""
    if end == "diverged":
        raise diverged(r)
    if end == "sleep_blocked":
        st["pruned"] += 1
        return
    st["schedules"] += 1
    st["steps"] += n
    st["max_steps"] = max(st["max_steps"], n)
    st["by_preemptions"][preemptions] = st["by_preemptions"].get(preemptions, 0) + 1
    kinds = r.failures(end)
    if kinds:
        from pagecore.verify.parallel import merge_failure

        f = Failure(kinds, preemptions, ch[:n], end)
        for k in kinds:
            merge_failure(best, k, f)


def explore_setup(variant, setup, preemptions=PREEMPTIONS, max_schedules=None, por=True):
    """Every schedule of @setup within @preemptions; a dict of counts and
    the shortest failure of each kind.  The search whole, in this process,
    unsplit: bounded_job() is the same search cut into jobs, and this is
    what its counts are checked against."""
    r = Runner(variant, setup)
    c = r.c
    queues = [[] for _ in range(preemptions + 2)]
    queues[0].append((b"", 0))
    st = {"schedules": 0, "pruned": 0, "steps": 0, "max_steps": 0, "by_preemptions": {},
          "complete": True}
    best = {}
    t0 = time.monotonic()
    for b in range(preemptions + 1):
        stack = queues[b]
        while stack:
            if max_schedules is not None and st["schedules"] >= max_schedules:
                st["complete"] = False
                break
            prefix, z0 = stack.pop()
            end, n = r.run(prefix, z0 if por else 0)
            ch, en, sl = c.x_masks()
            tally(st, best, r, end, n, ch, b)
            last = n if end == "sleep_blocked" else n - 1
            for i in range(len(prefix), last + 1):
                E = en[i]
                Z = sl[i] if por else 0
                t = ch[i] if i < n else -1
                cur = ch[i - 1] if i > 0 else -1
                cands = E & ~Z
                if cur >= 0 and E >> cur & 1:
                    if b + 1 > preemptions:
                        continue
                    prior = 1 << cur
                    for u in _bits(cands & ~(1 << cur)):
                        z = c.x_child_sleep(i, u, prior) if por else 0
                        queues[b + 1].append((ch[:i] + bytes((u,)), z))
                        prior |= 1 << u
                else:
                    prior = (1 << t) if t >= 0 else 0
                    for u in _bits(cands & ~prior):
                        z = c.x_child_sleep(i, u, prior) if por else 0
                        stack.append((ch[:i] + bytes((u,)), z))
                        prior |= 1 << u
        if not st["complete"]:
            break
    st["seconds"] = time.monotonic() - t0
    st["tasks"] = len(r.names)
    return r, st, best



# -- the search cut into jobs (pagecore.verify.parallel) --------------------------------

def bounded_job(runner, job, max_schedules):
    """Run the subtree of @job (a parallel.Job) with the bounded sleep-set
    search for at most @max_schedules runs; the counts, the shortest failure
    of each kind, and the frontier left.

    explore_setup() keeps one stack per preemption level; here a job is an
    entry of one of those stacks.  Which children a run makes, and their
    sleep sets, depend only on that run, so the jobs of a setup are the same
    whatever order they run in, and the counts equal explore_setup()'s at
    the same bound.  With a bound (job.bound >= 0) the job runs the
    children of a preemption itself too, depth first, as long as the bound
    allows one: the order of the levels changes no count, and what travels
    back is only the stack left when @max_schedules runs are made.  With
    no bound (-1: deepening) the order of the levels is what the verdict
    rests on ("complete up to K preemptions"), so the children of a
    preemption go back to the queue, which runs a level whole before the
    next.  The frontier is {level: [(prefix, sleep0, fixed), ...]}: what
    differs from @job (parallel.groups), a fraction of the Jobs' pickled
    size, for the many branches a search makes."""
    r, c = runner, runner.c
    por, bound = job.por, job.bound
    stack = [(job.prefix, job.sleep0, job.level)]
    st = {"schedules": 0, "pruned": 0, "steps": 0, "max_steps": 0, "by_preemptions": {},
          "failures": {}, "frontier": {}}
    deeper = []         # deepening: the children of a preemption, for the queue
    runs = 0
    while stack and runs < max_schedules:
        prefix, z0, b = stack.pop()
        runs += 1
        end, n = r.run(prefix, z0 if por else 0)
        ch, en, sl = c.x_masks()
        tally(st, st["failures"], r, end, n, ch, b)
        nxt = bound < 0 or b + 1 <= bound
        into = deeper if bound < 0 else stack
        last = n if end == "sleep_blocked" else n - 1
        for i in range(len(prefix), last + 1):
            E = en[i]
            Z = sl[i] if por else 0
            t = ch[i] if i < n else -1
            cur = ch[i - 1] if i > 0 else -1
            cands = E & ~Z
            if cur >= 0 and E >> cur & 1:
                if not nxt:
                    continue
                prior = 1 << cur
                for u in _bits(cands & ~(1 << cur)):
                    z = c.x_child_sleep(i, u, prior) if por else 0
                    into.append((ch[:i] + bytes((u,)), z, b + 1))
                    prior |= 1 << u
            else:
                prior = (1 << t) if t >= 0 else 0
                for u in _bits(cands & ~prior):
                    z = c.x_child_sleep(i, u, prior) if por else 0
                    stack.append((ch[:i] + bytes((u,)), z, b))
                    prior |= 1 << u
    for p, z, b in deeper + stack:
        st["frontier"].setdefault(b, []).append((p, z, 0))
    return st


# Runs a DPOR job makes before it hands back its frontier.  Large: the nodes
# above a cut run every choice, so each cut costs reduction (a setup of
# 100,000 classes cut every 20,000 runs ran 79% more schedules); cells and
# setups already keep the workers busy.
DPOR_CHUNK = 100000
_runners = {}       # (variant, scenario, setup) -> Runner: building the Model is the cost


def runner_for(variant, scenario, setup):
    key = (variant, scenario, setup)
    if key not in _runners:
        _runners[key] = Runner(variant, SCENARIOS[scenario].setups[setup])
    return _runners[key]


def run_job(task, max_schedules, scenario=None):
    """A worker's entry: @task is (a Job, its batch): the Job gives the setup,
    level and search, the batch the (prefix, sleep0, fixed) of each job to
    run, in order, for at most @max_schedules runs in all, with the Runner
    this process keeps for the setup.  The counts of what ran, how many of
    the batch it took ("taken": the rest were not started), and the
    frontier of those it took.  @scenario: the Scenario the jobs name, as
    the process that made them has it (one added to the list at run time is
    not in a fresh interpreter's).  A task's third item, if any, is the wall
    clock time (time.time()) its phase's budget ends: a DPOR job stops there
    rather than at its cap (what a budget stops depends on time anyway)."""
    job0, batch = task[:2]
    deadline = task[2] if len(task) > 2 else None
    if scenario is not None and SCENARIOS.get(job0.scenario) != scenario:
        SCENARIOS[job0.scenario] = scenario
        for key in [k for k in _runners if k[1] == job0.scenario]:
            del _runners[key]
    from pagecore.verify.parallel import add_counts, merge_frontier

    r = runner_for(job0.variant, job0.scenario, job0.setup)
    t0 = time.monotonic()
    out = {"schedules": 0, "pruned": 0, "steps": 0, "max_steps": 0, "classes": 0,
           "by_preemptions": {}, "failures": {}, "frontier": {}, "taken": 0}
    for prefix, sleep0, fixed in batch:
        runs = out["schedules"] + out["pruned"]
        if runs >= max_schedules:
            break
        job = job0.child(prefix, sleep0, job0.level)
        if fixed != job.fixed:
            job = dataclasses.replace(job, fixed=fixed)
        if job.algo == "dpor":
            # dynamic partial-order reduction, without a bound
            from pagecore.verify.dpor import dpor_job

            # Always the same cap, wherever the job sits in its batch: where
            # a DPOR job hands back its frontier changes what the reduction
            # prunes, so it must not depend on how many workers share the
            # jobs (a batch may run past @max_schedules by one job's cap).
            res = dpor_job(r, job, DPOR_CHUNK, deadline, time.time)
        elif job.algo == "bounded":
            res = bounded_job(r, job, max_schedules - runs)
        else:
            raise PagecoreError("explore: no search named %r (dpor, bounded)" % job.algo)
        out["taken"] += 1
        add_counts(out, res)
        merge_frontier(out["frontier"], res["frontier"])
    out["seconds"] = time.monotonic() - t0
    return out


def explore(variant, scenario, preemptions=PREEMPTIONS, max_schedules=None, por=True,
            progress=None, jobs=1, **kw):
    """Explore every setup of @scenario against @variant: one verify result
    (in this process unless @jobs says otherwise)."""
    (res,) = explore_cells([(variant, scenario)], preemptions, max_schedules, por, jobs,
                           progress=progress, **kw)
    return res


def _result(phase, *, budget=None, earlier=None):
    """One verify result from a cell's Phase (the search its verdict rests on);
    @earlier: a phase that ran before it on the same cell and did not end
    (its failures count too)."""
    from pagecore.verify.parallel import merge_failure

    variant, scenario = phase.cell
    sc = SCENARIOS[scenario]
    counts = {"schedules": 0, "pruned": 0, "steps": 0, "setups": len(sc.setups)}
    failures, per_setup, by_kind, shortest = set(), [], {}, None
    points = 0
    for i, (setup, st) in enumerate(zip(sc.setups, phase.setups)):
        best = dict(st["failures"])
        if earlier is not None:
            for k, f in earlier.setups[i]["failures"].items():
                merge_failure(best, k, f)
        for k in ("schedules", "pruned", "steps"):
            counts[k] += st[k]
        points = max(points, st["max_steps"])
        failures |= set(best)
        for k, f in best.items():
            if k not in by_kind or f.key() < by_kind[k][1].key():
                by_kind[k] = (i, f, setup)
        mine = min(best.values(), key=Failure.key) if best else None
        row = {"setup": setup.title, "schedules": st["schedules"], "pruned": st["pruned"],
               "tasks": len(setup.tasks), "points": st["max_steps"],
               "by_preemptions": {str(k): v for k, v in sorted(st["by_preemptions"].items())},
               "failures": sorted(best),
               "shortest": ({"preemptions": mine.preemptions, "steps": mine.steps}
                            if mine else None)}
        if phase.algo == "dpor":
            row["classes"] = st["classes"]
        per_setup.append(row)
        if mine and (shortest is None or mine.key() < shortest[1].key()):
            shortest = (i, mine, setup)
    counts["tasks"] = max(len(s.tasks) for s in sc.setups)
    counts["points"] = points
    seconds = phase.seconds + (earlier.seconds if earlier is not None else 0.0)
    counts["seconds"] = round(seconds, 3)
    if phase.seconds > 0:
        counts["per_second"] = round(counts["schedules"] / phase.seconds, 1)
    if phase.algo == "dpor":
        counts["classes"] = sum(st["classes"] for st in phase.setups)
    failures = [k for k in ("bug_on", "freed_page", "not_under_writeback", "bad_page",
                            "lost_write", "hang") if k in failures]
    levels, frac = phase.coverage()
    res = {"variant": variant, "scenario": scenario, "mode": "explore",
           "failures": failures, "counts": counts,
           "preemptions": phase.bound if phase.bound >= 0 else None,
           "complete": phase.complete, "setups": per_setup,
           "search": ("dpor" if phase.algo == "dpor" else
                      "bounded" if phase.bound >= 0 else "deepening")}
    if budget is not None:
        res["budget"] = budget
    if not counts["schedules"] and not phase.complete:
        # the budget ended before this cell's first schedule: no verdict
        res["inconclusive"] = "no schedule ran before %s" % (
            "the budget (%g s) ended" % budget if budget is not None else "the search stopped")
    if phase.bound < 0:
        res["coverage"] = coverage_text(phase.algo, counts, phase.complete, levels, frac)
        res["levels"] = None if phase.complete else levels
    if shortest:
        i, f, setup = shortest
        r = Runner(variant, setup)
        tl = timeline(r, f)
        res["counterexample"] = tl
        res["schedule"] = schedule_doc(variant, scenario, setup, f)
        res["reach"] = ("racy: %s, shortest schedule has %d preemption%s, %d steps"
                        % (", ".join(failures), f.preemptions,
                           "" if f.preemptions == 1 else "s", f.steps))
        # the timeline itself is res["counterexample"]: the terminal and the
        # report draw it from there
        res["evidence"] = ["reach: " + res["reach"]] + narrate(tl)
        if "coverage" in res:
            res["evidence"].append("searched: " + res["coverage"])
        # each kind of failure has its own shortest schedule and story
        res["by_kind"] = {}
        for k in failures:
            ki, kf, ks = by_kind[k]
            kr = r if ki == i else Runner(variant, ks)
            story = narrate(timeline(kr, kf) if kf is not f else tl, only=k)
            res["by_kind"][k] = {"setup": ks.title, "preemptions": kf.preemptions,
                                 "steps": kf.steps, "story": story,
                                 "schedule": schedule_doc(variant, scenario, ks, kf)}
            if kf is not f:
                res["evidence"].append("%s: shortest schedule (%s) has %d preemption%s, %d "
                                       "steps:" % (k, ks.title, kf.preemptions,
                                                   "" if kf.preemptions == 1 else "s", kf.steps))
                res["evidence"].extend("  " + line for line in story)
    else:
        if phase.bound >= 0:
            res["reach"] = reach_clean(counts, phase.bound, phase.complete, phase.stopped,
                                       budget)
        else:
            res["reach"] = reach_unbounded(res, phase.stopped)
        res["evidence"] = ["reach: " + res["reach"]] + [
            "%s: %d schedules, by preemptions %s" % (
                s["setup"], s["schedules"],
                ", ".join("%s: %d" % kv for kv in s["by_preemptions"].items()))
            for s in per_setup]
    return res


def coverage_text(algo, counts, complete, levels, frac):
    """What a search without a bound covered: all of it, or the bounds it ran
    whole and the share of the next one's subtrees it finished."""
    if complete:
        if algo == "dpor":
            return "complete; {:,} classes".format(counts.get("classes", 0))
        return "complete; {:,} schedules".format(counts["schedules"])
    if algo == "dpor":
        return "not ended; {:,} classes so far".format(counts.get("classes", 0))
    if levels < 0:
        return "no bound complete, {:.0%} of the known subtrees with 0 preemptions".format(frac)
    return "complete up to {} preemption{}, {:.0%} of the known subtrees with {}".format(
        levels, "" if levels == 1 else "s", frac, levels + 1)


def reach_unbounded(res, stopped):
    c = res["counts"]
    if res["complete"]:
        if res["search"] == "dpor":
            return "verified: every schedule of the scenario ({:,} classes, {:,} " \
                   "schedules)".format(c.get("classes", 0), c["schedules"])
        return "verified: every schedule of the scenario ({:,} schedules, sleep sets, no " \
               "preemption bound)".format(c["schedules"])
    levels = res["levels"]
    why = {"budget": "the budget (%g s) ended" % (res.get("budget") or 0),
           "max-schedules": "stopped at --max-schedules"}.get(stopped, "stopped")
    if res["search"] == "dpor":
        return "clean so far: {:,} schedules of the search without a bound, {} before it " \
               "ended ({})".format(c["schedules"], why, res["coverage"])
    if levels < 0:
        return "clean so far: %s before any bound was run whole (%s)" % (why, res["coverage"])
    return "clean up to %d preemption%s: %s (%s)" % (levels, "" if levels == 1 else "s", why,
                                                   res["coverage"])


def reach_clean(counts, preemptions, complete, stopped="max-schedules", budget=None):
    if not complete:
        why = ("the budget (%g s) ended" % budget if stopped == "budget"
               else "stopped at --max-schedules")
        return ("clean so far: %s schedules explored, %s before all with at most %d "
                "preemptions were run" % ("{:,}".format(counts["schedules"]), why,
                                          preemptions))
    return "clean: all %s schedules with at most %d preemption%s (%d tasks, %d scheduling " \
           "points)" % ("{:,}".format(counts["schedules"]), preemptions,
                        "" if preemptions == 1 else "s", counts["tasks"], counts["points"])


def replay_schedule(doc, times=1):
    """Run a saved schedule @times times; each run's failures and end."""
    setup = SCENARIOS[doc["scenario"]].setups[doc["setup"]]
    r = Runner(doc["variant"], setup)
    out = []
    for _ in range(times):
        end, n = r.run(doc["schedule"])
        if end == "diverged" or n < len(doc["schedule"]):
            out.append({"failures": r.failures(end), "end": "diverged", "steps": n})
            continue
        out.append({"failures": r.failures(end), "end": end, "steps": n})
    r.run(doc["schedule"], record=True)
    f = Failure(doc.get("failures", []), doc.get("preemptions", 0), doc["schedule"],
                out[-1]["end"])
    return out, timeline(r, f)


# -- many cells ------------------------------------------------------------------

UNBOUNDED = "dpor"      # the search a budget runs first: without a bound, reduced


def explore_cells(cells, preemptions=None, max_schedules=None, por=True, jobs=None, *,
                  budget=None, cluster=None, scheduler=None, progress=None, algo=UNBOUNDED,
                  chunk=None):
    """Explore each (variant, scenario) of @cells; yields each result as it is
    done.

    Without @budget: the bounded search at @preemptions (default
    PREEMPTIONS), every cell's jobs in one queue over @jobs worker
    processes (default: the CPUs this process may use), or a dask cluster
    (@cluster "local", or a running @scheduler's address).

    With @budget (seconds, for all the cells) and no @preemptions: each
    cell in turn gets what is left of the budget over the cells left (a
    cell that ends early gives its time back), half of it for the search
    without a bound (@algo "dpor"); if that does not end, the bounded
    search deepens 0, 1, 2, ... preemptions for the rest, and the verdict
    says how far it got.  @algo "bounded" (--search sleep-sets): the
    deepening is the search, for the whole share; when it ends it has run
    every schedule (less those sleep sets prune)."""
    from pagecore.verify import parallel as par

    chunk = chunk or par.CHUNK
    if budget is not None and preemptions is None:
        check_search(algo)
    ex = par.executor(jobs, cluster, scheduler)
    try:
        if budget is None or preemptions is not None:
            # the bounded search; a budget with a bound only stops it
            k = PREEMPTIONS if preemptions is None else preemptions
            phases = [par.Phase(cell, len(SCENARIOS[cell[1]].setups), "bounded", k, por)
                      for cell in cells]
            deadline = None if budget is None else time.monotonic() + budget
            say = _progress(progress, len(cells), deadline)
            for p in par.run_phases(phases, ex, chunk, max_schedules, say, deadline):
                say.done += 1
                yield _result(p, budget=budget)
            return
        end = time.monotonic() + budget
        say = _progress(progress, len(cells), end)
        for i, cell in enumerate(cells):
            now = time.monotonic()
            share = max(0.0, end - now) / (len(cells) - i)
            n = len(SCENARIOS[cell[1]].setups)
            if algo == "bounded":
                # the sleep-set search without a bound: deepening is the search
                deep = par.Phase(cell, n, "bounded", -1, por)
                deep.deadline = now + share
                (deep,) = par.run_phases([deep], ex, chunk, max_schedules, say)
                say.done += 1
                yield _result(deep, budget=budget)
                continue
            first = par.Phase(cell, n, algo, -1, por)
            first.deadline = now + share / 2
            (first,) = par.run_phases([first], ex, chunk, max_schedules, say)
            if first.complete or first.stopped == "max-schedules":
                say.done += 1
                yield _result(first, budget=budget)
                continue
            deep = par.Phase(cell, n, "bounded", -1, por)
            deep.deadline = now + share
            (deep,) = par.run_phases([deep], ex, chunk, max_schedules, say)
            say.done += 1
            yield _result(deep, budget=budget, earlier=first)
    finally:
        ex.close()


SEARCHES = {"dpor": "dpor", "sleep-sets": "bounded"}     # --search -> a Job's algo


def check_search(algo):
    """That @algo names a search without a bound."""
    if algo not in SEARCHES.values():
        raise PagecoreError("--search must be one of %s, not %r" % (", ".join(SEARCHES), algo))


class _progress:
    """Progress of a run of cells, for @say (a callable taking a line): the
    cells done, what the running ones have done, and the time left."""

    def __init__(self, say, total, deadline):
        self.say, self.total, self.deadline = say, total, deadline
        self.done = 0
        self.t0 = time.monotonic()

    def __call__(self, live):
        if self.say is None or not live:
            return
        now = time.monotonic()
        parts = []
        for p in live[:3]:
            levels, frac = p.coverage()
            parts.append("%s / %s %s: %s schedules%s" % (
                p.cell[0], p.cell[1], "bound %d" % p.bound if p.bound >= 0 else
                "dpor" if p.algo == "dpor" else "sleep sets, no bound",
                "{:,}".format(p.schedules),
                "" if levels is None else ", %s" % coverage_text(
                    p.algo, {"schedules": 0, "classes": sum(st["classes"] for st in p.setups)},
                    False, levels, frac)))
        if self.deadline is not None:
            left = "%.0f s of the budget left" % max(0.0, self.deadline - now)
        elif self.done:
            left = "about %.0f s left" % ((now - self.t0) / self.done * (self.total - self.done))
        else:
            left = "%.0f s so far" % (now - self.t0)
        self.say("explore: %d/%d cells done; %s; %s" % (self.done, self.total,
                                                         "; ".join(parts), left))
