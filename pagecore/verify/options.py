"""Verification options: checked and planned once, here, whoever asks.

`pagecore verify`, the benchmark's verify step and `pagecore try` build a
VerifyOptions (the command line from its parsed arguments, the others
directly) and plan() turns it into the cells to run: bad options are one
PagecoreError, before anything runs.  matrix.run_cell() takes the same
options.
"""

import math
import os
import re
import sys
from dataclasses import dataclass, field

from pagecore._errors import PagecoreError
from pagecore.verify.matrix import MODES, SCENARIOS


def _defaults():
    from pagecore.verify import starvation as sv
    from pagecore.verify.interleaving import STEP
    from pagecore.verify.stress import WIDEN_NS, WIDEN_PROB

    return {"step": STEP, "widen_ns": WIDEN_NS, "widen_prob": WIDEN_PROB,
            "throttle_us": sv.THROTTLE_US, "writers": sv.WRITERS, "bound_ms": sv.BOUND_MS,
            "io_us": sv.IO_US, "gap_us": sv.GAP_US, "starve_seconds": sv.SECONDS}


@dataclass
class VerifyOptions:
    mode: str = "replay"
    variant: list = field(default_factory=list)     # names; empty: every variant
    scenario: list = field(default_factory=list)    # empty: each that applies
    seconds: float = 2.0
    threads: int = None
    widen_ns: int = None
    widen_prob: float = None
    seed: int = None
    step: float = None
    preemptions: int = None
    max_schedules: int = None
    no_por: bool = False
    jobs: int = None
    budget: object = None       # explore: seconds for all the cells ("90s", "10m", "1h", 30)
    cluster: str = None         # explore: "local", a dask LocalCluster of this machine's CPUs
    scheduler: str = None       # explore: a running dask scheduler's address
    search: str = None          # explore with a budget: "dpor" (default) or "sleep-sets"
    save_schedules: str = None
    times: int = 1
    throttle_us: int = None
    writers: int = None
    bound_ms: float = None
    io_us: int = None
    gap_us: int = None
    starve_seconds: float = None
    verbose: bool = False       # replay keeps the steps of every interleaving, clean ones too

    def __post_init__(self):
        for k, v in _defaults().items():
            if getattr(self, k) is None:
                setattr(self, k, v)

    @classmethod
    def from_args(cls, args, variants=None):
        """From `pagecore verify`'s parsed arguments (@variants: the names to
        verify, when the command resolved them itself)."""
        names = {f for f in cls.__dataclass_fields__}
        kw = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
        if variants is not None:
            kw["variant"] = variants
        kw["variant"] = list(kw.get("variant") or [])
        kw["scenario"] = list(kw.get("scenario") or [])
        return cls(**kw)


def plan(args):
    """Check @args (VerifyOptions) and plan: (variants, scenarios, cells, skipped)."""
    if args.mode not in MODES:
        raise PagecoreError("--mode must be replay, stress or explore, not %r" % args.mode)
    if args.mode != "explore":
        for opt, val in (("--preemptions", args.preemptions),
                         ("--max-schedules", args.max_schedules),
                         ("--save-schedules", args.save_schedules),
                         ("--budget", args.budget), ("--cluster", args.cluster),
                         ("--search", args.search),
                         ("--scheduler", args.scheduler)):
            if val is not None:
                raise PagecoreError("%s needs --mode explore" % opt)
    if args.preemptions is not None and not 0 <= args.preemptions <= 6:
        raise PagecoreError("--preemptions must be in 0..6")
    if args.max_schedules is not None and args.max_schedules < 1:
        raise PagecoreError("--max-schedules must be > 0")
    if args.jobs is not None and args.jobs < 1:
        raise PagecoreError("--jobs must be > 0")
    if args.budget is not None:
        args.budget = parse_budget(args.budget)
    if args.search is not None:
        from pagecore.verify.explore import SEARCHES, check_search

        if args.search not in SEARCHES:
            raise PagecoreError("--search must be %s, not %r" % (" or ".join(SEARCHES),
                                                               args.search))
        if args.budget is None or args.preemptions is not None:
            raise PagecoreError("--search chooses the search without a bound: it needs "
                                "--budget and no --preemptions")
    if args.budget is not None and args.preemptions is None:
        from pagecore.verify.explore import SEARCHES, check_search

        check_search(SEARCHES[args.search or "dpor"])
    _check_cluster(args)
    if args.times < 1:
        raise PagecoreError("--times must be > 0")
    from pagecore.model.variants import VARIANTS

    variants = list(args.variant) or list(VARIANTS)
    for v in variants:
        if v not in VARIANTS:
            raise PagecoreError("unknown variant %r (known: %s)" % (v, ", ".join(VARIANTS)))
    scenarios = args.scenario or list(SCENARIOS)
    for s in scenarios:
        if s not in SCENARIOS:
            raise PagecoreError("unknown scenario %r (known: %s)" % (s, ", ".join(SCENARIOS)))
    from pagecore.verify.interleaving import STEP_RANGE
    from pagecore.verify.stress import check_params

    check_params(args.seconds, args.threads, args.widen_ns, args.widen_prob, args.seed)
    lo, hi = STEP_RANGE
    if not (math.isfinite(args.step) and lo <= args.step <= hi):
        raise PagecoreError("--step must be in %g..%g seconds (a shorter step cannot tell a "
                            "blocked task from a running one), not %r" % (lo, hi, args.step))
    _check_starvation(args)
    variants = list(dict.fromkeys(variants))
    scenarios = [s for s in SCENARIOS if s in scenarios]
    cells, skipped = [], []
    runnable = _runnable(args.mode)
    # explore has no schedules for a liveness measure, and a scenario added
    # to the explorer's list has no replay script or stress workload until
    # one is written: those cells are left out, and said so when named
    left_out = [s for s in scenarios if s not in runnable]
    if args.scenario and left_out:
        why = ("a liveness measure: use --mode replay or stress" if args.mode == "explore"
               else "no %s for it yet: use --mode explore"
               % ("script" if args.mode == "replay" else "workload"))
        if len(left_out) == len(scenarios):
            raise PagecoreError("%s: not a scenario of --mode %s (%s)"
                                % (", ".join(left_out), args.mode, why))
        print("pagecore: verify: %s: not a scenario of --mode %s: skipped"
              % (", ".join(left_out), args.mode), file=sys.stderr)
    scenarios = [s for s in scenarios if s in runnable]
    for v in variants:
        for s in scenarios:
            if s in VARIANTS[v].all_scenarios:
                cells.append((v, s))
            elif args.scenario:
                skipped.append((v, s))
    if not cells:
        raise PagecoreError("no scenario applies: %s (%s)" % (
            ", ".join(scenarios),
            "; ".join("%s applies to %s" % (v, ", ".join(VARIANTS[v].all_scenarios))
                      for v in variants)))
    _check_save_schedules(args)
    return variants, scenarios, cells, skipped


def parse_budget(text):
    """Seconds from a --budget: 90s, 10m, 1h, or plain seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        secs = float(text)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*", str(text))
        if not m:
            raise PagecoreError("--budget must be a time: 90s, 10m, 1h or seconds, not %r"
                                % (text,))
        secs = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if not (math.isfinite(secs) and secs > 0):
        raise PagecoreError("--budget must be more than 0 seconds, not %r" % (text,))
    return secs


def _check_cluster(args):
    if args.cluster is not None and args.scheduler is not None:
        raise PagecoreError("--cluster local starts a cluster, --scheduler names a running "
                            "one: give one of them")
    if args.cluster is not None and args.cluster != "local":
        raise PagecoreError("--cluster takes local (a cluster of this machine's CPUs), not %r; "
                            "for a running one give --scheduler ADDRESS" % args.cluster)
    if args.scheduler is not None and not args.scheduler.strip():
        raise PagecoreError("--scheduler needs an address (tcp://HOST:8786)")
    if args.cluster is not None or args.scheduler is not None:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise PagecoreError("--%s needs dask.distributed: pip install pagecore[cluster]"
                                % ("cluster" if args.cluster is not None else "scheduler"))


def _check_save_schedules(args):
    """--save-schedules DIR: made if it does not exist yet (as -o is), once every other
    option is known good, so that bad input leaves nothing behind."""
    if args.save_schedules is not None:
        d = args.save_schedules
        if not d.strip():
            raise PagecoreError("--save-schedules needs a directory")
        if not os.path.isdir(d):
            if os.path.exists(d):
                raise PagecoreError("--save-schedules %s: not a directory" % d)
            try:
                os.makedirs(d)      # as -o does: a directory named is made
            except OSError as e:
                raise PagecoreError("--save-schedules %s: cannot create: %s"
                                    % (d, e.strerror)) from None
        if not os.access(d, os.W_OK | os.X_OK):
            raise PagecoreError("--save-schedules %s: not writable" % d)


def _runnable(mode):
    """The scenarios @mode can run."""
    from pagecore.verify.matrix import LIVENESS_SCENARIOS

    if mode == "explore":
        from pagecore.verify.scenarios import SCENARIOS as own
    elif mode == "replay":
        from pagecore.verify.replay import SCENARIOS as own
    else:
        from pagecore.verify.stress import WIDEN as own
    return set(own) | (set() if mode == "explore" else set(LIVENESS_SCENARIOS))


def _check_starvation(args):
    from pagecore.verify.matrix import starvation_params
    from pagecore.verify.starvation import check

    check(**starvation_params(args), names={
        "throttle_us": "--throttle-us", "writers": "--writers", "bound_ms": "--bound-ms",
        "io_us": "--io-us", "gap_us": "--gap-us", "seconds": "--starve-seconds"})


def verify_all(variants, rows, *, stress_seconds, preemptions, max_schedules=None,
               starve_seconds=None, progress=None, cache=True, budget=None, jobs=None,
               search=None):
    """Every cell of @variants in every mode, appended to @rows as each ends
    (so that an interrupted run keeps what finished): explore first, then
    replay and stress, except where explore found a hang (the cell is racy
    already; replay and stress would only wait for their watchdogs); the
    liveness scenario once, it is the same run in either mode.

    @budget (seconds) bounds explore's cells all together: with no
    @preemptions each cell runs the search without a bound and, if that does
    not end in its share, the bounds it covers (explore.explore_cells); its
    progress, with the time left, goes to stderr; @search: that search,
    "dpor" (default) or "sleep-sets".  @jobs: explore's worker processes
    (default: the CPUs).

    With @cache, a cell that has a verdict for the variant's current source
    under a plan that reaches as far (pagecore.verify.cache) is not run again:
    its kept row is appended, marked "cached", and @progress says how many
    cells of each mode were found there and which are run."""
    from pagecore.verify import cache as vcache
    from pagecore.verify import matrix
    from pagecore.verify.explore import explore_cells

    say = progress or (lambda text: None)
    hung = set()
    for mode in ("explore", "replay", "stress"):
        explore = mode == "explore"
        opts = VerifyOptions(mode=mode, variant=list(variants), seconds=stress_seconds,
                             preemptions=preemptions if explore else None,
                             max_schedules=max_schedules if explore else None,
                             budget=budget if explore else None,
                             search=search if explore and budget is not None
                             and preemptions is None else None,
                             jobs=jobs, starve_seconds=starve_seconds)
        _, _, cells, _ = plan(opts)
        cells = [(v, sc) for v, sc in cells if (v, sc) not in hung
                 and (mode != "stress" or sc not in matrix.LIVENESS_SCENARIOS)]
        todo = []
        for v, sc in cells:
            row = vcache.lookup(v, sc, mode, vcache.plan(opts, sc)) if cache else None
            if row is None:
                todo.append((v, sc))
                continue
            rows.append(row)
            if explore and "hang" in (row.get("failures") or []):
                hung.add((v, sc))
        if cache and cells:
            say("%s: %s" % (mode, _cached_text(cells, todo)))

        def keep(r, opts=opts):
            r["source"] = vcache.key(r["variant"])
            if cache:
                vcache.store(r, vcache.plan(opts, r["scenario"], r))
            rows.append(r)

        if explore:
            for i, r in enumerate(explore_cells(todo, opts.preemptions, opts.max_schedules,
                                                jobs=opts.jobs, budget=opts.budget,
                                                algo=_search(opts), progress=_stderr), 1):
                say("explore [%d/%d] %s / %s: %s"
                    % (i, len(todo), r["variant"], r["scenario"], r["reach"]))
                keep(r)
                if "hang" in (r.get("failures") or []):
                    hung.add((r["variant"], r["scenario"]))
            continue
        for i, (v, sc) in enumerate(todo, 1):
            r = matrix.run_cell(v, sc, opts)
            say("%s [%d/%d] %s / %s: %s" % (mode, i, len(todo), v, sc, matrix.cell_text(r)))
            keep(r)
    return rows


# What a run verifies with, by the mode of the run that asks (`pagecore bench`'s
# --smoke, --fast, default and --rigorous; `pagecore report` and `choose` take the
# default): seconds of stress per cell (replay always runs whole); explore's
# preemption bound (None: none, the budget decides how far each cell goes); the
# seconds explore may take for all its cells (with a bound, it only stops the
# bounded search; on 2 cores the whole default bench stays within its 10 minutes);
# the seconds the writers of writeback-starvation run (None: its default).
VERIFY_PLANS = {
    "smoke": {"stress_seconds": 0.2, "preemptions": 1, "budget": 20, "starve_seconds": 0.5},
    "fast": {"stress_seconds": 0.5, "preemptions": 1, "budget": 60, "starve_seconds": None},
    "default": {"stress_seconds": 2.0, "preemptions": None, "budget": 120,
                "starve_seconds": None},
    "rigorous": {"stress_seconds": 10.0, "preemptions": None, "budget": 900,
                 "starve_seconds": None},
}


def plan_text(mode):
    """What VERIFY_PLANS[@mode] runs, in words."""
    p = VERIFY_PLANS[mode]
    k = p["preemptions"]
    reach = ("explore up to %d preemption%s within %g s" % (k, "" if k == 1 else "s",
                                                             p["budget"])
             if k is not None else "explore %g s: every schedule, else the bounds it covers"
             % p["budget"])
    return "%s, replay, stress %g s per cell" % (reach, p["stress_seconds"])


def verify_plan(mode, variants, rows, progress=None):
    """verify_all() of @variants (empty: every variant) under VERIFY_PLANS[@mode],
    into @rows; cells with a verdict for their variant's current source come from
    the cache."""
    if mode not in VERIFY_PLANS:
        raise PagecoreError("the verification plan must be %s, not %r"
                            % (", ".join(VERIFY_PLANS), mode))
    return verify_all(variants, rows, progress=progress, **VERIFY_PLANS[mode])


def _search(opts):
    """The Job algo of the search without a bound that @opts asks for."""
    from pagecore.verify.explore import SEARCHES

    return SEARCHES[opts.search or "dpor"]


def _stderr(text):
    print(text, file=sys.stderr, flush=True)


def _cached_text(cells, todo):
    """How many cells have a verdict for their variant's current source, and
    which variants are verified now."""
    n = len(cells) - len(todo)
    if not todo:
        return "all %d cells have a verdict for their variant's current source (cached)" % n
    names = list(dict.fromkeys(v for v, _ in todo))
    return "%d of %d cells have a verdict for their variant's current source (cached); " \
           "verifying %d cell%s of %s" % (n, len(cells), len(todo), "" if len(todo) == 1
                                          else "s", ", ".join(names))
