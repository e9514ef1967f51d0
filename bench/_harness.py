"""What every suite script shares: paired, interleaved measurement of the variants of a
case, in many worker processes, written as pyperf JSON.

Why not one pyperf benchmark per variant, each in its own processes?  On a shared VM a vCPU
can be slowed by its host for minutes at a time, and a single-threaded process stays on the
CPU it started on: every value of a process then carries that CPU's state, and two variants
measured in different processes differ by the machine, not by their code (two variant names
for the same source came out 1.7x apart that way).  So here:

- A worker process measures every variant of a case, round after round, each round in a new
  random order (Google Benchmark's random interleaving), so drift and per-process state hit
  all variants alike.  A variant's value in a process is paired with the baseline's value in
  the same process; the report compares variants by those paired differences.
- Single-threaded cases pin the worker to one CPU for the whole case, worker k to the k-th
  CPU of the affinity mask, so both halves of a pair ran on one CPU at the same time, and
  every CPU gets its share of workers.  The CPU of every value is recorded.
- Around every value a sentinel (a fixed locked-RMW loop) is timed, just before and just
  after: a value whose slower sentinel is well above the process's median says the CPU was
  slowed under it, and the report leaves it out.
- What cannot be fixed is randomised per process (Curtsinger and Berger, "Stabilizer",
  ASPLOS 2013; Mytkowicz et al., "Producing wrong data without doing anything obviously
  wrong", ASPLOS 2009): the placement of the model's page pool and wait table (a seeded
  offset in cache lines), the size of the environment, the order of the cases.
- Many processes (20 by default, as pyperf), each a pyperf run of every benchmark.

The manager (the process the user started) sizes `loops` per case once, from the case's
first variant, so every variant of a case runs the same loops; counts each benchmark's
events per operation with the instrumented build (`pagecore_events`); runs the workers one
after the other; and rewrites the suite file after each worker, so an interrupted run keeps
the workers that finished.  A worker never prints into the timed region: Python runs only
between values, and each value is one call of a nogil C loop.
"""

import argparse
import ctypes
import datetime
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import pyperf

from pagecore import registry
from pagecore.model.machine import cpu_count  # noqa: F401  (the suites import it from here)

# every event of registry.def, in name order
EVENT_NAMES = tuple(sorted(registry.events()))

# Wall clock the instrumented count of one benchmark may take, at most.
COUNT_WALL = 0.05

# Operations of the sentinel loop before every value: about 20 us of locked RMWs.
SENTINEL_LOOPS = 8192

# Placement offsets: the model's pool and wait table move by up to this many cache lines.
PLACEMENT_LINES = 64

# pyperf refuses a value of 0; a region shorter than the clock's resolution is reported as
# this instead (far below anything measured).
MIN_VALUE = 1e-15

# The placement seed of this worker process, read by configure() below.
PLACEMENT = None


def builds():
    from pagecore.model import _core, _core_instr

    return _core, _core_instr


def configure(core, variant, *args, **kw):
    """core.configure() with this worker's placement seed."""
    if PLACEMENT is not None:
        kw.setdefault("placement_seed", PLACEMENT)
    return core.configure(variant, *args, **kw)


def format_events(counts, ops):
    """'name=value ...' per operation, every event named, values rounded
    so that integers read as integers."""
    parts = []
    for name in EVENT_NAMES:
        v = round(counts.get(name, 0) / ops, 3) if ops else 0.0
        parts.append("%s=%s" % (name, ("%d" % v) if v == int(v) else ("%g" % v)))
    return " ".join(parts)


def format_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            return "%.3g %s" % (s / scale, unit)


_libc = None


def current_cpu():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc.sched_getcpu()


class Case:
    """One case of a suite, measured for every variant in @variants.

    @fn(loops, core, variant, *args) configures @core (either build), runs one nogil loop
    and returns the elapsed seconds of its timed regions.  A value is that divided by
    loops * inner_loops; events are divided by loops * ops_per_loop.  @prefix is the name
    without its variant ('hotpath/end_page_writeback_no_waiters'), @params the name's
    trailing k=v parts.  @ops names the operations whose code the case runs (OP_FIELDS of
    pagecore.model.variants): variants that run the same implementation of each run
    identical source there (an A/A group); without @ops every variant is its own.  @pin: a
    single-threaded case, run pinned to one CPU."""

    def __init__(self, prefix, fn, variants, description, args=(), params=(), inner_loops=1,
                 ops_per_loop=None, pin=True, ops=None, events_from=None,
                 size_by_value=False, count_meta=None):
        self.prefix = prefix
        self.fn = fn
        self.variants = list(variants)
        self.description = description
        self.args = tuple(args)
        self.params = tuple(params)
        self.inner_loops = inner_loops
        self.ops_per_loop = ops_per_loop or inner_loops
        self.pin = pin
        self.ops = ops
        # (fn, args) whose instrumented run gives the events, when the timed loop itself
        # cannot be counted (the plain C program)
        self.events_from = events_from
        # Size loops by the value alone: the call's wall-clock overhead (a process start,
        # for the plain C program) is outside what is timed and too noisy to subtract.
        self.size_by_value = size_by_value
        # (instr, operations) -> {metadata key: value}, read off the instrumented build after
        # the events were counted (the lock-hold cases: holds per operation)
        self.count_meta = count_meta

    def name(self, variant):
        return "/".join([self.prefix, variant] + ["%s=%s" % kv for kv in self.params])

    def impl(self, variant):
        from pagecore.model.variants import VARIANTS

        if self.ops is None or variant not in VARIANTS:
            return variant
        return VARIANTS[variant].implementation(self.ops)

    def describe(self, variant):
        return "%s; variant %s" % (self.description, variant)


class Suite:
    def __init__(self, name, doc, lists=(), scalars=()):
        """@lists: (option, type, default, help) for the list options that decide which
        cases exist (comma-separated or repeated); @scalars: (option, help) for string
        options.  Both are forwarded to the workers."""
        self.name = name
        self.lists = {opt: default for opt, _, default, _ in lists}
        self.scalars = [opt for opt, _ in scalars]
        ap = self.argparser = argparse.ArgumentParser(
            prog=os.path.basename(sys.argv[0]), description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        ap.add_argument("-o", "--output", help="write the pyperf suite to this JSON file")
        ap.add_argument("-p", "--processes", type=_number(int, False), default=20,
                        help="worker processes, each a pyperf run of every benchmark "
                             "(default 20, as pyperf)")
        ap.add_argument("-n", "--values", type=_number(int, False), default=3,
                        help="rounds per worker: values per benchmark per process "
                             "(default 3)")
        ap.add_argument("-w", "--warmups", type=_number(int, True), default=1,
                        help="warm-up rounds per worker, not kept as values (default 1)")
        ap.add_argument("--min-time", type=_number(float, False), default=0.005,
                        help="seconds of timed work per value (default 0.005)")
        ap.add_argument("--loops", type=_number(int, False), default=None,
                        help="loops per value (default: sized to --min-time)")
        ap.add_argument("--seed", type=int, default=None,
                        help="seed of the orders and placements (default: random)")
        ap.add_argument("--smoke", action="store_true",
                        help="one process, one value of one loop per benchmark")
        ap.add_argument("-q", "--quiet", action="store_true", help="one line per worker")
        ap.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
        ap.add_argument("--spec", default=None, help=argparse.SUPPRESS)
        for opt, typ, default, hlp in lists:
            ap.add_argument(opt, type=_list_of(typ), action="extend", default=None,
                            help="%s (default: %s)" % (hlp, ",".join(map(str, default))))
        for opt, hlp in scalars:
            ap.add_argument(opt, default=None, help=hlp)
        self.args = ap.parse_args()
        if self.args.smoke:
            self.args.processes, self.args.values, self.args.warmups = 1, 1, 0
            self.args.loops = 1
        timeout = os.environ.get("PAGECORE_BENCH_TIMEOUT")
        if timeout:
            try:
                seconds = float(timeout)
            except ValueError:
                seconds = -1.0
            if not 0 < seconds < 1e6:
                self.error("PAGECORE_BENCH_TIMEOUT must be a number of seconds in (0, 1e6), "
                           "not %r" % timeout)
            for core in builds():
                core.set_bench_timeout(seconds)

    def error(self, message):
        self.argparser.error(message)

    def option(self, opt):
        value = getattr(self.args, opt.lstrip("-").replace("-", "_"))
        return list(self.lists[opt] if value is None else value)

    def scalar(self, opt):
        return getattr(self.args, opt.lstrip("-").replace("-", "_"))

    def set_scalar(self, opt, value):
        setattr(self.args, opt.lstrip("-").replace("-", "_"), value)

    # -- the manager --------------------------------------------------------------------

    def run(self, cases):
        if self.args.worker is not None:
            sys.exit(_worker(self, cases))
        # `pagecore bench` stops a suite with SIGTERM to its process group:
        # the manager then stops its worker and keeps what finished, as on
        # Ctrl-C (a worker just dies: its output is the manager's to drop).
        signal.signal(signal.SIGTERM, _sigterm)
        try:
            self._manage(cases)
        except KeyboardInterrupt as e:
            if isinstance(e, _Stopped):
                sys.exit(143)   # `pagecore bench` stopped it, and says so itself
            print("%s: interrupted: the workers that finished are kept" % self.name,
                  file=sys.stderr)
            sys.exit(130)

    def _manage(self, cases):
        out = self.args.output
        if out and os.path.exists(out):
            self.error("the JSON file %r already exists" % out)
        core, instr = builds()
        seed = self.args.seed if self.args.seed is not None else random.randrange(1 << 30)
        plan, failed, events = [], [], {}
        for i, case in enumerate(cases):
            # A hang is a finding about one variant (the watchdog's RuntimeError): it costs
            # that variant its place in this case, never the case.
            sized, alive = None, []
            for v in case.variants:
                try:
                    if sized is None:
                        sized = self._size(case, core, v)
                    events[case.name(v)] = self._count(case, v, instr, *sized)
                    alive.append(v)
                except RuntimeError as e:
                    failed.append(case.name(v))
                    print("[%s] %s: FAILED: %s" % (self.name, case.name(v),
                                                   str(e).splitlines()[0]), flush=True)
            if alive:
                plan.append({"case": i, "loops": sized[0], "variants": alive})
        if not plan:
            raise SystemExit("%s: every case failed" % self.name)
        from pyperf._collect_metadata import collect_metadata

        metadata = collect_metadata(process=False)
        metadata["pagecore_suite"] = self.name
        runs = {}       # benchmark name -> [pyperf.Run]
        nproc = self.args.processes
        spec = {"plan": plan, "values": self.args.values, "warmups": self.args.warmups,
                "seed": seed, "processes": nproc}
        with tempfile.TemporaryDirectory(prefix="pagecore-bench-") as tmp:
            spec_path = os.path.join(tmp, "spec.json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            for k in range(nproc):
                t0 = time.monotonic()
                res = self._spawn(k, spec_path, os.path.join(tmp, "worker-%d.json" % k))
                if res is None:
                    failed.append("worker %d" % k)
                    continue
                self._collect(cases, plan, res, k, metadata, events, runs)
                failed += ["%s (worker %d)" % (n, k) for n in res.get("failed", [])]
                self._write(runs)
                print("[%s] process %d/%d, %s: %.1f s" % (
                    self.name, k + 1, nproc,
                    "cpu %s" % res["cpu"] if res.get("cpu") is not None else "unpinned",
                    time.monotonic() - t0), flush=True)
        if not self.args.quiet:
            self._summary(cases, plan, runs)
        if failed:
            print("%s: %d benchmark(s) failed: %s" % (self.name, len(failed),
                                                      ", ".join(dict.fromkeys(failed))),
                  file=sys.stderr)
            sys.exit(1)

    def _spawn(self, k, spec_path, out):
        cmd = [sys.executable, os.path.abspath(sys.argv[0]), "--worker", str(k),
               "--spec", spec_path, "-o", out]
        for opt in self.lists:
            cmd += [opt, ",".join(str(v) for v in self.option(opt))]
        for opt in self.scalars:
            if self.scalar(opt) is not None:
                cmd += [opt, self.scalar(opt)]
        env = dict(os.environ)
        # The environment's size moves the initial stack: randomise it per process.
        env["PAGECORE_PAD"] = "x" * random.randrange(0, 4096)
        proc = subprocess.Popen(cmd, env=env, start_new_session=False)
        try:
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
        if rc != 0 or not os.path.exists(out):
            print("[%s] process %d failed (exit %s)" % (self.name, k + 1, rc), file=sys.stderr)
            return None
        with open(out) as f:
            return json.load(f)

    def _collect(self, cases, plan, res, k, metadata, events, runs):
        date = datetime.datetime.now().isoformat(" ")
        for p in plan:
            case = cases[p["case"]]
            got = res["cases"].get(str(p["case"]))
            if not got:
                continue
            for v, vals in got["values"].items():
                name = case.name(v)
                md = dict(metadata)
                md.update({
                    "name": name, "loops": p["loops"], "description": case.describe(v),
                    "date": date, "pagecore_events": events[name][0],
                    "pagecore_impl": case.impl(v), "pagecore_worker": k,
                    "pagecore_cpu": got["cpu"] if got["cpu"] is not None else "any",
                    "pagecore_cpus": " ".join(str(x[1]) for x in vals),
                    "pagecore_sentinel_ns": " ".join("%.3f" % (x[2] * 1e9) for x in vals),
                    "pagecore_order": " ".join(str(x[3]) for x in vals),
                    "pagecore_placement": res["placement"],
                })
                md.update(events[name][1])
                if case.inner_loops != 1:
                    md["inner_loops"] = case.inner_loops
                values = [max(MIN_VALUE, x[0]) for x in vals]
                warm = [(p["loops"], max(MIN_VALUE, w)) for w in got["warmups"].get(v, [])]
                runs.setdefault(name, []).append(
                    pyperf.Run(values, warmups=warm or None, metadata=md,
                               collect_metadata=False))

    def _write(self, runs):
        out = self.args.output
        if not out or not runs:
            return
        suite = pyperf.BenchmarkSuite([pyperf.Benchmark(r) for r in runs.values()])
        tmp = out + ".tmp"
        try:
            suite.dump(tmp, replace=True)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def _summary(self, cases, plan, runs):
        for p in plan:
            case = cases[p["case"]]
            parts = []
            for v in p["variants"]:
                rr = runs.get(case.name(v))
                if rr:
                    vals = [x for r in rr for x in r.values]
                    parts.append("%s %s" % (v, format_time(statistics.median(vals))))
            print("[%s] %s: %s" % (self.name, "/".join(
                [case.prefix] + ["%s=%s" % kv for kv in case.params]), ", ".join(parts)))

    def _size(self, case, core, v):
        """Loops for one value, the same for every variant of the case (sized on @v): about
        --min-time of timed work, but no more than 4 x --min-time of wall clock beyond a
        call's fixed set-up (where untimed set-up dominates, a waiter going back to sleep
        before every wake, sizing on the timed part alone would make a value take far
        longer)."""
        if self.args.loops:
            return self.args.loops, None
        target = self.args.min_time
        w0 = time.perf_counter()
        case.fn(1, core, v, *case.args)
        fixed = time.perf_counter() - w0
        n = 2
        while True:
            w0 = time.perf_counter()
            t = case.fn(n, core, v, *case.args)
            w = time.perf_counter() - w0
            marginal = t if case.size_by_value else max(w - fixed, t)
            if marginal >= target / 4 or n >= 1 << 40:
                break
            n *= max(2, min(64, int(target / 4 / max(marginal, 1e-7))))
        loops = min(target / (max(t, 1e-12) / n), 4 * target / (marginal / n))
        return max(1, int(loops)), marginal / n

    def _count(self, case, variant, instr, loops, wall_per_loop):
        fn, args = case.events_from or (case.fn, case.args)
        n = loops
        if wall_per_loop:
            # The instrumented build runs slower, and the counts of a short run are those
            # of a long one.
            n = max(1, min(loops, int(COUNT_WALL / wall_per_loop)))
        instr.region_events_reset()
        fn(n, instr, variant, *args)
        ops = n * case.ops_per_loop
        meta = case.count_meta(instr, ops) if case.count_meta else {}
        return format_events(instr.region_events(), ops), meta


# -- a worker process ---------------------------------------------------------------------

def _worker(suite, cases):
    """Measure the plan's cases, every variant in every round, and write what was measured
    as JSON (-o).  Returns the exit status."""
    global PLACEMENT
    from pagecore.model import _core as core

    with open(suite.args.spec) as f:
        spec = json.load(f)
    k = suite.args.worker
    rng = random.Random(spec["seed"] * 1000003 + k)
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[k % len(allowed)]
    PLACEMENT = rng.randrange(PLACEMENT_LINES)
    out = {"cpu": None, "placement": PLACEMENT, "cases": {}, "failed": []}
    plan = list(spec["plan"])
    rng.shuffle(plan)
    for p in plan:
        case = cases[p["case"]]
        loops = p["loops"]
        pinned = case.pin and len(allowed) > 1
        os.sched_setaffinity(0, {cpu} if pinned else set(allowed))
        if pinned:
            out["cpu"] = cpu
        alive = [v for v in case.variants if v in p["variants"]]
        vals = {v: [] for v in alive}
        warm = {v: [] for v in alive}
        for rnd in range(spec["warmups"] + spec["values"]):
            order = rng.sample(alive, len(alive))
            for pos, v in enumerate(order):
                before = core.bench_locked_rmw(SENTINEL_LOOPS) / SENTINEL_LOOPS
                c0 = current_cpu()
                try:
                    t = case.fn(loops, core, v, *case.args)
                    # a slowdown that began during the value shows after it
                    sentinel = max(before, core.bench_locked_rmw(SENTINEL_LOOPS) / SENTINEL_LOOPS)
                except RuntimeError as e:
                    print("[%s] %s: FAILED in process %d: %s" % (
                        suite.name, case.name(v), k + 1, str(e).splitlines()[0]),
                        file=sys.stderr, flush=True)
                    out["failed"].append(case.name(v))
                    alive.remove(v)
                    continue
                value = t / (loops * case.inner_loops)
                if rnd < spec["warmups"]:
                    warm[v].append(value)
                else:
                    vals[v].append((value, c0 if c0 == current_cpu() else -1, sentinel, pos))
        out["cases"][str(p["case"])] = {
            "cpu": cpu if pinned else None,
            "values": {v: x for v, x in vals.items() if x and v in alive},
            "warmups": {v: x for v, x in warm.items() if x and v in alive}}
    os.sched_setaffinity(0, set(allowed))
    with open(suite.args.output, "w") as f:
        json.dump(out, f)
    return 0


# -- options ------------------------------------------------------------------------------

class _Stopped(KeyboardInterrupt):
    """SIGTERM: stop as on Ctrl-C."""


def _sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # once: let the clean-up finish
    raise _Stopped()


def _number(typ, zero_ok):
    """An option's number: finite, > 0 (>= 0 where @zero_ok)."""
    def parse(text):
        try:
            v = typ(text)
        except ValueError:
            raise argparse.ArgumentTypeError("not a number: %r" % text) from None
        if v != v or v == float("inf") or v < 0 or (v == 0 and not zero_ok):
            raise argparse.ArgumentTypeError("must be %s and finite: %r"
                                             % (">= 0" if zero_ok else "> 0", text))
        return v

    parse.__name__ = typ.__name__
    return parse


def _list_of(typ):
    def parse(text):
        try:
            values = [typ(x) for x in str(text).split(",") if x != ""]
        except ValueError:
            raise argparse.ArgumentTypeError(
                "not a comma-separated list of %s: %r" % (typ.__name__, text)) from None
        if not values:
            raise argparse.ArgumentTypeError("empty list")
        return values

    parse.__name__ = "list of %s" % typ.__name__
    return parse


def variants(suite, kind="writeback"):
    """--variant, checked against the variant table."""
    from pagecore.model.variants import DIRTY_VARIANTS, WRITEBACK_VARIANTS

    known = WRITEBACK_VARIANTS if kind == "writeback" else DIRTY_VARIANTS
    chosen = suite.option("--variant")
    if chosen == ["all"]:
        return list(known)
    bad = [v for v in chosen if v not in known]
    if bad:
        suite.error("unknown %s variant %s (known: %s)"
                    % (kind, ", ".join(bad), ", ".join(known)))
    return list(dict.fromkeys(chosen))


def exit_missing(what):
    print("%s: skipped: %s" % (os.path.basename(sys.argv[0]), what), file=sys.stderr)
    sys.exit(3)
