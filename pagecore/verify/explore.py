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
        return (self.preemptions, self.steps)


def explore_setup(variant, setup, preemptions=PREEMPTIONS, max_schedules=None, por=True):
    """Every schedule of @setup within @preemptions; a dict of counts and
    the shortest failure of each kind."""
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
            if end == "diverged":
                raise PagecoreError("explore: %s / %s: the model did not repeat a schedule "
                                    "(a nondeterministic step)" % (variant, setup.title))
            if end == "sleep_blocked":
                st["pruned"] += 1
            else:
                st["schedules"] += 1
                st["steps"] += n
                st["max_steps"] = max(st["max_steps"], n)
                st["by_preemptions"][b] = st["by_preemptions"].get(b, 0) + 1
                kinds = r.failures(end)
                if kinds:
                    f = Failure(kinds, b, ch[:n], end)
                    for k in kinds:
                        if k not in best or f.key() < best[k].key():
                            best[k] = f
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


def explore(variant, scenario, preemptions=PREEMPTIONS, max_schedules=None, por=True,
            progress=None):
    """Explore every setup of @scenario against @variant: one verify result."""
    sc = SCENARIOS[scenario]
    counts = {"schedules": 0, "pruned": 0, "steps": 0, "setups": len(sc.setups)}
    failures, shortest, per_setup, complete = [], None, [], True
    by_kind = {}
    tasks = points = 0
    seconds = 0.0
    for setup in sc.setups:
        left = None if max_schedules is None else max(0, max_schedules - counts["schedules"])
        r, st, best = explore_setup(variant, setup, preemptions, left, por)
        for k in ("schedules", "pruned", "steps"):
            counts[k] += st[k]
        seconds += st["seconds"]
        tasks = max(tasks, st["tasks"])
        points = max(points, st["max_steps"])
        complete = complete and st["complete"]
        for k, f in best.items():
            if k not in failures:
                failures.append(k)
            if k not in by_kind or f.key() < by_kind[k][1].key():
                by_kind[k] = (r, f, setup)
        mine = min(best.values(), key=Failure.key) if best else None
        per_setup.append({"setup": setup.title, "schedules": st["schedules"],
                          "pruned": st["pruned"], "tasks": st["tasks"],
                          "points": st["max_steps"],
                          "by_preemptions": {str(k): v for k, v in
                                             sorted(st["by_preemptions"].items())},
                          "failures": sorted(best),
                          "shortest": ({"preemptions": mine.preemptions, "steps": mine.steps}
                                       if mine else None)})
        if mine and (shortest is None or mine.key() < shortest[1].key()):
            shortest = (r, mine, setup)
    counts["tasks"] = tasks
    counts["points"] = points
    counts["seconds"] = round(seconds, 3)
    counts["per_second"] = round(counts["schedules"] / seconds, 1) if seconds > 0 else None
    failures = [k for k in ("bug_on", "freed_page", "not_under_writeback", "bad_page",
                            "lost_write", "hang") if k in failures]
    res = {"variant": variant, "scenario": scenario, "mode": "explore",
           "failures": failures, "counts": counts, "preemptions": preemptions,
           "complete": complete, "setups": per_setup}
    if shortest:
        r, f, setup = shortest
        tl = timeline(r, f)
        res["counterexample"] = tl
        res["schedule"] = schedule_doc(variant, scenario, setup, f)
        res["reach"] = ("racy: %s, shortest schedule has %d preemption%s, %d steps"
                        % (", ".join(failures), f.preemptions,
                           "" if f.preemptions == 1 else "s", f.steps))
        # the timeline itself is res["counterexample"]: the terminal and the
        # report draw it from there
        res["evidence"] = ["reach: " + res["reach"]] + narrate(tl)
        # each kind of failure has its own shortest schedule and story
        res["by_kind"] = {}
        for k in failures:
            kr, kf, ks = by_kind[k]
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
        res["reach"] = reach_clean(counts, preemptions, complete)
        res["evidence"] = ["reach: " + res["reach"]] + [
            "%s: %d schedules, by preemptions %s" % (
                s["setup"], s["schedules"],
                ", ".join("%s: %d" % kv for kv in s["by_preemptions"].items()))
            for s in per_setup]
    return res


def reach_clean(counts, preemptions, complete):
    if not complete:
        return ("clean so far: %s schedules explored, stopped at --max-schedules before "
                "all with at most %d preemptions were run" % (
                    "{:,}".format(counts["schedules"]), preemptions))
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

def _cell(job):
    v, s, k, cap, por = job
    return explore(v, s, preemptions=k, max_schedules=cap, por=por)


def explore_cells(cells, preemptions=None, max_schedules=None, por=True, jobs=None):
    """Explore each (variant, scenario) of @cells, in @jobs processes (default:
    the CPUs this process may use); yields each result as it is done."""
    from pagecore.model.machine import cpu_count

    k = PREEMPTIONS if preemptions is None else preemptions
    todo = [(v, s, k, max_schedules, por) for v, s in cells]
    jobs = min(len(todo), jobs or cpu_count())
    if jobs <= 1:
        for job in todo:
            yield _cell(job)
        return
    import multiprocessing

    # Each process has its own model (the core's globals).  Not fork: this
    # process has run the model's threads (stress, the watchdog), and a child
    # forked from it may inherit a lock some thread held at that moment (the
    # allocator's, or a sanitizer runtime's) and wait for it forever.  The
    # fork server is a fresh single-threaded interpreter that has imported
    # the core once; each worker is forked from it.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["pagecore.verify.explore"])
    with ctx.Pool(jobs) as pool:
        # the biggest cells first, so that the last one to finish is small
        for r in pool.imap_unordered(_cell, sorted(todo, key=_weight, reverse=True)):
            yield r


def _weight(job):
    sc = SCENARIOS[job[1]]
    return sum(len(st.tasks) * sum(len(ops) for _, ops in st.tasks) for st in sc.setups)
