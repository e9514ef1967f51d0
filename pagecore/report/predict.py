"""Costs predicted from a machine's floor suite: a unit cost per kind of event, fitted by least
squares, times the events each benchmark counts.

The model counts, per operation of every timed loop, the work it does by kind: locked RMWs,
spinlock round trips, per-CPU writes, xarray mark writes, calls from the harness into the
variant, entries a wake walks, lines loaded from memory, ... (registry.def).  The floor suite
times loops made of one kind each, or of two together as the kernel's code has them (a lock held
across an RMW), in the same harness and with the same primitives (pagecore/model/_calibrate.pxi),
and one kernel path of the library that no suite measures otherwise (the start of writeback,
statistics and all), each with its events counted.  The unit costs are the non-negative least-
squares solution of

    floor value  =  loop  +  sum over kinds of  events x unit

with each row weighted by its own value (so that every row's relative error counts alike), by
scipy.optimize.nnls.  A benchmark's prediction is then its own events times those units, plus,
where the floor times its kernel path, the work of that path the events do not count.

The events count a path's atomics, locks, calls, statistics and walks; they do not count the
loads of the page's, the mapping's and the xarray's lines, the branches and the plain work
between the counted steps, which on a 64-page loop of end_page_writeback() is a third of the
time.  That part is the path's, about the same in every variant of it (they differ in what
they count), and it differs between machines.  The pre-fix kernel's (original's) own benchmark
of each path, measured in the same run and the same worker processes as the other variants,
is the calibration set that prices it: its measured cost less its events times the units is
the path's uncounted work, and every other variant of the path, held out, is predicted as

    its events x units  +  the path's uncounted work
      =  original's measured cost  +  (its events - original's) x units

so that the variants of a path differ by what they count, priced by the floor, as a kernel
developer argues a fix ("it adds a cmpxchg under the lock").  For a machine of which only the
floor is known (`pagecore choose --predict FLOOR.json`), the floor suite also times each kernel
path the hot-path suite measures, and the default mix's hash-chain term, as original runs it
(floor/path/pagecore/suite=.../case=..., bench/floor.py), and that calibrates the paths
instead.  It runs in other processes, minutes apart, with no other variant's object loaded:
what differs between the two contexts is common to every variant of a path, so it shifts a
prediction but moves no ranking.  What the events do not tell apart between variants of one
path (a layout, a line moved) is measured as the held-out predictions' relative error
(model_error), and a predicted ranking widens each gap by it.

Intervals: the fit is repeated on bootstrap resamples of the floor's worker processes (every
floor benchmark of a resample takes the same processes, as a process measured them all), and a
prediction's interval is the 2.5th to 97.5th percentile of its predictions across resamples.
"""

import math
import random
from dataclasses import dataclass, field

from pagecore._errors import PagecoreError
from pagecore.report.stats import percentile_interval

# The floor cases that calibrate, and their events per operation where a results file does not
# record them (files written before the floor counted its events).  A floor case left out here
# measures something no event counts (a cache line handed between CPUs, a futex syscall with
# no task to wake), or measures an event as the kernel's paths never run it: locked_rmw is one
# locked RMW after another on one line, each waiting for the last, and spinlock a lock taken
# and dropped with nothing held, which the bars compare with plain C; the kernel holds its
# locks across work, and the fit prices an RMW and a lock among other work (call_rmw,
# lock_rmw, walk, fold, start_writeback).
CALIBRATION = {
    "empty_loop": {},
    "cmpxchg": {"cmpxchg": 1},
    "lock_rmw": {"lock": 1, "atomic_rmw": 1},
    "percpu_add": {"percpu": 1},
    "percpu_cmpxchg": {"percpu_cmpxchg": 1},
    "fold": {"fold": 1, "percpu": 1},
    "call": {"call": 1, "fcall": 1},
    "call_rmw": {"call": 1, "fcall": 1, "atomic_rmw": 1},
    "fcall": {"fcall": 1},
    "tailcall": {"tailcall": 1, "fcall": 1},
    "xa_mark": {"xa_mark": 2},
    "cold_line": {"cold": 1},
    "walk": {"walked": 16, "lock": 1, "atomic_rmw": 1, "call": 1, "fcall": 1},
    "wake_running": {"wakeups": 1},
    "wake_sleeping_thread": {"wakeups": 1, "sleeps": 1},
    "start_writeback": None,        # a kernel path: only its recorded events say
}
# Rows that enter the fit only where no row of the calibration set prices their kind (a floor
# suite from before the calibration set: its locked RMW is then the RMW's only price).
FALLBACK = {"locked_rmw": {"atomic_rmw": 1}, "spinlock": {"lock": 1}}
LOOP = "loop"
BOOTSTRAP = 200


@dataclass
class Units:
    """Fitted unit costs, seconds per event (and per loop iteration)."""

    machine: str
    cost: dict                      # kind -> seconds; LOOP the loop's own
    rows: list                      # the floor cases fitted, in order
    uncalibrated: list              # kinds no floor row exercises: priced at 0
    boot: list = field(default_factory=list)    # [{kind: seconds}] of the resamples
    residuals: dict = field(default_factory=dict)  # floor case -> (fitted - measured) / measured
    # term -> seconds per operation of the path's work its events do not count (a term:
    # Result.term of the benchmarks it calibrates), and the same of every resample
    paths: dict = field(default_factory=dict)
    boot_paths: list = field(default_factory=list)

    def predict(self, events, term=None):
        """Seconds per operation of @events, with @term's uncounted work where the floor
        timed its path."""
        return predict(events, self.cost) + self.paths.get(term, 0.0)

    def samples(self, events, term=None):
        """The prediction in every bootstrap resample."""
        return [predict(events, b) + bp.get(term, 0.0)
                for b, bp in zip(self.boot, self.boot_paths)]

    def interval(self, events, term=None):
        """(lo, hi) of the prediction across the bootstrap resamples (95%)."""
        iv = percentile_interval(self.samples(events, term))
        if iv is None:
            p = self.predict(events, term)
            return p, p
        return iv

    def as_dict(self):
        return {k: v * 1e9 for k, v in self.cost.items()}


def predict(events, cost):
    """loop + sum of events x unit cost, seconds per operation."""
    return cost.get(LOOP, 0.0) + math.fsum(n * cost.get(k, 0.0) for k, n in (events or {}).items()
                                           if k != LOOP)


def _floor_rows(rs, machine):
    rows, spare = [], []
    for r in rs.results("floor"):
        if r.variant != "pagecore" or (machine is not None and r.machine != machine):
            continue
        table = CALIBRATION if r.case in CALIBRATION else FALLBACK
        if r.case not in table:
            continue
        ev = r.events if r.events is not None else table[r.case]
        if ev is None:
            continue
        ev = {k: v for k, v in ev.items() if v}
        if r.case != "empty_loop" and not ev:
            continue
        (rows if table is CALIBRATION else spare).append((r.case, ev, r))
    covered = {k for _, ev, _ in rows for k in ev}
    rows += [row for row in spare if not set(row[1]) <= covered]
    return rows


def _path_rows(rs, machine):
    """[(term, events, Result)] of @machine's calibration paths (bench/floor.py PATHS)."""
    out = []
    for r in rs.results("floor"):
        if r.case != "path" or r.variant != "pagecore" or r.machine != machine \
                or r.events is None:
            continue
        params = dict(r.params)
        suite, case = params.pop("suite", None), params.pop("case", None)
        if suite and case:
            from pagecore.report.results import _term

            out.append((_term(suite, case, params.items()), r.events, r))
    return out


def _solve(rows, kinds, values):
    """NNLS of the rows' values (relative weights) on loop + events; {kind: seconds}."""
    import numpy as np
    from scipy.optimize import nnls

    cols = [LOOP] + kinds
    a = np.array([[1.0] + [ev.get(k, 0.0) for k in kinds] for _, ev, _ in rows])
    b = np.array(values)
    w = 1.0 / b
    x, _ = nnls(a * w[:, None], b * w)
    return dict(zip(cols, (float(v) for v in x)))


def fit_units(rs, machine=None, bootstrap=BOOTSTRAP, seed=0):
    """The unit costs of @machine's floor suite (of the only machine when None)."""
    if machine is None:
        machines = sorted({r.machine for r in rs.results("floor")})
        if not machines:
            raise PagecoreError("no floor results: run `pagecore bench --suite floor` on that "
                                "machine")
        machine = machines[0]
    rows = _floor_rows(rs, machine)
    names = {c for c, _, _ in rows}
    if "empty_loop" not in names or not any(c != "empty_loop" for c in names):
        raise PagecoreError("no floor results to fit unit costs to (floor/locked_rmw/pagecore "
                            "and its kin): run `pagecore bench --suite floor` on that machine")
    kinds = sorted({k for _, ev, _ in rows for k in ev})
    cost = _solve(rows, kinds, [r.mean for _, _, r in rows])
    from pagecore import registry

    uncal = [k for k in registry.events() if k not in kinds]
    for k in uncal:
        cost[k] = 0.0
    units = Units(machine, cost, [c for c, _, _ in rows], uncal)
    units.residuals = {c: (predict(ev, cost) - r.mean) / r.mean for c, ev, r in rows}
    paths = _path_rows(rs, machine)
    units.paths = {t: r.mean - predict(ev, cost) for t, ev, r in paths}
    units.boot, units.boot_paths = _bootstrap(rows, kinds, uncal, paths, bootstrap, seed)
    return units


def _bootstrap(rows, kinds, uncal, paths, n, seed):
    """The fit, and each path's uncounted work, on @n resamples of the worker processes (every
    floor benchmark of a resample takes the same processes: a process measured them all)."""
    workers = None
    for _, _, r in rows + [(None, None, r) for _, _, r in paths]:
        ws = set(r.by_worker or ())
        workers = ws if workers is None else workers & ws
    workers = sorted(workers or ())
    if n <= 0 or len(workers) < 3:
        return [], []
    rng = random.Random(seed)
    out, out_paths = [], []

    def mean(r, pick):
        return math.fsum(r.by_worker[w] for w in pick) / len(pick)

    for _ in range(n):
        pick = [rng.choice(workers) for _ in workers]
        c = _solve(rows, kinds, [mean(r, pick) for _, _, r in rows])
        c.update(dict.fromkeys(uncal, 0.0))
        out.append(c)
        out_paths.append({t: mean(r, pick) - predict(ev, c) for t, ev, r in paths})
    return out, out_paths


# What the events do not count, by the case they leave out (said where a benchmark stays off).
NOT_COUNTED = {
    "sleeping_waiter": "the futex wake of a thread asleep on another CPU, whose cost is the "
                       "host's scheduling of that CPU more than any event",
    "wait_on_page_writeback_clear": "a test of a clear bit through the harness's call "
                                    "site, which every variant of a worker shares: the same "
                                    "code costs 1.7 ns a call while the site has seen only its "
                                    "own target and 2.8 ns once another variant ran through it "
                                    "(bench/README.md), and an RMW more costs about nothing "
                                    "beside that",
    "one_waiter": "the queued waiter's entry, task and stack lines, which the waker loads and "
                  "the coroutine touched last",
    "unlock_page": "a locked RMW on each of 64 pages in turn, and how much of the loop's own "
                   "work and the calls it overlaps, which no count says",
    "writeback_cycle": "the start of writeback's own work beside the end's: calls between the "
                       "statistics' functions and the loads of their shared lines",
    "end_page_writeback": "the end of writeback of 64 pages in turn (their struct pages, their "
                          "slots and marks in the xarray leaf), where writeback_cycle runs the "
                          "same code on one page: no event counts what the pages' lines cost",
}


def not_counted(case):
    for key, why in NOT_COUNTED.items():
        if key in case:
            return why
    return "work no event counts (loads, branches, calls between the kernel's functions)"


@dataclass
class Prediction:
    result: object                  # the measured Result
    predicted: float                # seconds per operation
    lo: float
    hi: float
    # where its path's uncounted work came from: "run" (the calibration variant's benchmark of
    # the path, same suite, same processes), "floor" (the floor's calibration path), "" (none)
    path: str = ""
    # the benchmark is the calibration variant's (original's) own run of its path: it set
    # the path's uncounted work ("run"), or ran its very code in the floor ("floor"), so it
    # is not a test of what the events predict
    calibrating: bool = False

    @property
    def ratio(self):
        return self.predicted / self.result.mean if self.result.mean else math.inf

    @property
    def within10(self):
        return abs(self.ratio - 1) <= 0.10

    @property
    def within_noise(self):
        """The two intervals overlap."""
        r = self.result
        return self.lo <= r.mean + r.ci and r.mean - r.ci <= self.hi

    @property
    def holds(self):
        return self.within10 or self.within_noise

    @property
    def residual(self):
        return self.result.mean - self.predicted

    @property
    def flagged(self):
        return not self.holds

    @property
    def note(self):
        return "" if self.holds else not_counted(self.result.case)


def drift(rs, machine, suite, reference="floor"):
    """How much slower the machine ran while @suite ran than while @reference did, as the
    sentinels timed beside every value saw it (1.0 where either has none): the floor's units,
    times this, are that suite's."""
    m = rs.machines[machine]
    a, b = m.sentinel.get(reference), m.sentinel.get(suite)
    return b / a if a and b else 1.0


def predictions(rs, suites=("hotpath",), units=None, in_run=True):
    """Per benchmark of @suites with events: its prediction from the floor suite of the same
    machine (or @units), scaled by the machine's drift between the floor and that suite, beside
    the measurement.  [] where a machine has no floor to fit.

    With @in_run, a path's uncounted work is taken from the
    calibration variant's own benchmark of that path in the same suite, measured in the same
    processes as the others (`path` "run"): the calibration set, whose benchmarks are then not
    held out.  Otherwise, and for a path the suite did not measure for the calibration variant,
    from the floor's calibration path (`path` "floor"), as for a machine of which only the
    floor is known."""
    out = []
    for m in rs.machines:
        u = units
        if u is None:
            try:
                u = fit_units(rs, m)
            except PagecoreError:
                continue
        mine = [r for r in rs.results()
                if r.machine == m and r.suite in suites and r.events is not None]
        calib = {r.term: r for r in mine if r.variant == CALIBRATION_VARIANT} \
            if in_run else {}
        for r in mine:
            k = drift(rs, m, r.suite) if units is None else 1.0
            c = calib.get(r.term)
            if c is not None:
                p, lo, hi = _from_calibration(u, r, c, k)
                source = "run"
            else:
                lo, hi = u.interval(r.events, r.term)
                p, lo, hi = k * u.predict(r.events, r.term), k * lo, k * hi
                source = "floor" if r.term in u.paths else ""
            out.append(Prediction(r, p, lo, hi, path=source,
                                  calibrating=bool(source) and r.variant == CALIBRATION_VARIANT))
    return out


def _from_calibration(u, r, c, k):
    """(prediction, lo, hi) of @r from @c, the calibration variant's benchmark of the same path
    in the same run: c's measured cost plus what r's events add to or take from c's, priced by
    the floor's units (times the suite's drift @k).  The interval joins the units' bootstrap
    spread of that difference with c's own 95% interval."""
    d = k * (predict(r.events, u.cost) - predict(c.events, u.cost))
    p = c.mean + d
    dlo, dhi = percentile_interval(
        [k * (predict(r.events, b) - predict(c.events, b)) for b in u.boot]) or (d, d)
    ci = c.ci if math.isfinite(c.ci) else 0.0
    return (p, p - math.hypot(d - dlo, ci), p + math.hypot(dhi - d, ci))


def model_error(preds, exclude=()):
    """term -> the relative error of the held-out predictions of @preds (in_run): the root
    mean square, over the variants of that path other than the calibration variant and
    @exclude, of (measured - predicted) / measured.  What the events do not tell apart
    between variants of one path (a layout, a line moved), as this machine measured it; a
    ranking made from predictions widens each gap by it.  A term with fewer than two such
    variants is left out."""
    err = {}
    for p in preds:
        if p.calibrating or p.path != "run" or p.result.variant in exclude \
                or not p.result.mean:
            continue
        err.setdefault(p.result.term, []).append((p.result.mean - p.predicted) / p.result.mean)
    return {t: math.sqrt(math.fsum(e * e for e in es) / len(es))
            for t, es in err.items() if len(es) >= 2}


# the variant whose paths the floor times (bench/floor.py)
CALIBRATION_VARIANT = "original"


def summary(preds, calibrating=True):
    """(held, total): predictions within 10% of the measured cost or within its noise; without
    @calibrating, of the benchmarks other than the calibration paths' own code."""
    preds = [p for p in preds if calibrating or not p.calibrating]
    return sum(p.holds for p in preds), len(preds)
