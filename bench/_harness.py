"""What every suite script shares: one pyperf Runner, loops sized to a wall
time, the event counts stored beside each timing, and the suite file.

A suite script lists its benchmarks as Bench entries and hands them to
Suite.run().  pyperf re-runs the script in worker processes; each worker
builds the same list and runs only its own task, so everything here is
cheap until a benchmark runs.  The manager process (the one the user
started) does three things per benchmark that pyperf does not:

- it sizes loops itself, from one short timed call, so that one value takes
  about --min-time of wall clock.  pyperf would size them on the timed part
  alone, and where untimed set-up dominates (a waiter going back to sleep
  before every wake) a value would take tens of times longer;
- it runs the same loop once in the instrumented build and stores the
  events per operation in the benchmark's `pagecore_events` metadata;
- it writes the suite file after every benchmark (-o), so an interrupted
  run keeps what it measured.
"""

import argparse
import contextlib
import io
import os
import sys
import time

import pyperf

from pagecore.model.machine import cpu_count  # noqa: F401  (the suites import it from here)

EVENT_NAMES = ("atomic_rmw", "barrier", "cmpxchg", "lock", "sleeps", "wakeups", "walked")

# Wall clock the instrumented count of one benchmark may take, at most.
COUNT_WALL = 0.05


def builds():
    from pagecore.model import _core, _core_instr

    return _core, _core_instr


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


class Bench:
    """One benchmark: @fn(loops, core, *args) configures @core (either build),
    runs the loop and returns elapsed seconds.  A value is elapsed divided
    by loops * inner_loops; events are divided by loops * ops_per_loop."""

    def __init__(self, name, fn, args, description, inner_loops=1, ops_per_loop=None,
                 events_from=None, size_by_value=False):
        self.name = name
        self.fn = fn
        self.args = tuple(args)
        self.description = description
        self.inner_loops = inner_loops
        self.ops_per_loop = ops_per_loop or inner_loops
        # (fn, args) whose instrumented run gives the events, when the timed
        # loop itself cannot be counted (the plain C program)
        self.events_from = events_from
        # Size loops by the value alone: the call's wall-clock overhead (a
        # process start, for the plain C program) is outside what is timed
        # and too noisy to subtract.
        self.size_by_value = size_by_value


class Suite:
    def __init__(self, name, doc, lists=(), scalars=()):
        """@lists: (option, type, default, help) for the list options that
        decide which benchmarks exist (comma-separated or repeated);
        @scalars: (option, help) for string options.  Both are forwarded to
        the workers."""
        self.name = name
        self.lists = {opt: default for opt, _, default, _ in lists}
        self.scalars = [opt for opt, _ in scalars]
        self.runner = pyperf.Runner(metadata={"pagecore_suite": name},
                                    add_cmdline_args=self._forward)
        ap = self.runner.argparser
        ap.description = doc
        for opt, typ, default, hlp in lists:
            ap.add_argument(opt, type=_list_of(typ), action="extend", default=None,
                            help="%s (default: %s)" % (hlp, ",".join(map(str, default))))
        for opt, hlp in scalars:
            ap.add_argument(opt, default=None, help=hlp)
        self.args = self.runner.parse_args()
        # what the workers need of the environment (pyperf passes little)
        self.args.inherit_environ = list(self.args.inherit_environ or []) + [
            k for k in os.environ if k.startswith("PAGECORE_") or k == "CC"]
        timeout = os.environ.get("PAGECORE_BENCH_TIMEOUT")
        if timeout:
            for core in builds():
                core.set_bench_timeout(float(timeout))
        # The manager writes the suite itself (see the module docstring).
        self.output = None if self.args.worker else self.args.output
        self.args.output = None
        self.user_loops = self.args.loops
        self.benchmarks = []

    def option(self, opt):
        value = getattr(self.args, opt.lstrip("-").replace("-", "_"))
        return list(self.lists[opt] if value is None else value)

    def scalar(self, opt):
        return getattr(self.args, opt.lstrip("-").replace("-", "_"))

    def set_scalar(self, opt, value):
        setattr(self.args, opt.lstrip("-").replace("-", "_"), value)

    def _forward(self, cmd, args):
        for opt in self.lists:
            cmd.extend([opt, ",".join(str(v) for v in self.option(opt))])
        for opt in self.scalars:
            if self.scalar(opt) is not None:
                cmd.extend([opt, self.scalar(opt)])

    def run(self, benches):
        try:
            self._run(benches)
        except KeyboardInterrupt:
            # pyperf's manager reports its own interruption; this one came
            # between benchmarks.  What is written stays.
            print("%s: interrupted" % self.name, file=sys.stderr)
            sys.exit(130)

    def _run(self, benches):
        from pagecore.model import _core

        if self.output and os.path.exists(self.output):
            self.runner.argparser.error("the JSON file %r already exists" % self.output)
        instr = None if self.args.worker else builds()[1]
        total = len(benches)
        failed = []
        for i, b in enumerate(benches, 1):
            if self.args.worker:
                self.runner.bench_time_func(
                    b.name, b.fn, _core, *b.args,
                    inner_loops=b.inner_loops if b.inner_loops != 1 else None,
                    metadata={"description": b.description})
                continue
            # A worker finds its task by counting benchmarks; after a
            # failure pyperf's own count would fall behind.
            self.runner._worker_task = i - 1
            t0 = time.monotonic()
            try:
                bench, loops, wall_per_loop = self._one(b, _core)
                events = self._count(b, instr, loops, wall_per_loop)
            except RuntimeError as e:
                # a hung model or a failed worker: a finding, not the end
                failed.append(b.name)
                print("[%s %d/%d] %s: FAILED: %s" % (self.name, i, total, b.name,
                                                      str(e).splitlines()[0]), flush=True)
                continue
            bench.update_metadata({"pagecore_events": events})
            self.benchmarks.append(bench)
            self._write()
            print("[%s %d/%d] %s: %s +- %s  (%s; %.1f s)" % (
                self.name, i, total, b.name, format_time(bench.mean()),
                format_time(bench.stdev()) if bench.get_nvalue() > 1 else "-",
                events, time.monotonic() - t0), flush=True)
        if failed:
            print("%s: %d benchmark(s) failed: %s" % (self.name, len(failed), ", ".join(failed)),
                  file=sys.stderr)
            sys.exit(1)

    def _one(self, b, core):
        if self.user_loops:
            loops, wall_per_loop = self.user_loops, None
        else:
            loops, wall_per_loop = self._size_loops(b, core)
            self.args.loops = loops
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown):
            bench = self.runner.bench_time_func(
                b.name, b.fn, core, *b.args,
                inner_loops=b.inner_loops if b.inner_loops != 1 else None,
                metadata={"description": b.description})
        # pyperf's own summary line is replaced by the suite's
        for line in shown.getvalue().splitlines():
            if line.strip() and not line.startswith(b.name + ": "):
                print(line)
        return bench, loops, wall_per_loop

    def _size_loops(self, b, core):
        """Loops for one value: about --min-time of timed work, but no
        more than --min-time of wall clock beyond a call's fixed set-up."""
        target = self.args.min_time
        w0 = time.perf_counter()
        b.fn(1, core, *b.args)
        fixed = time.perf_counter() - w0
        n = 2
        while True:
            w0 = time.perf_counter()
            t = b.fn(n, core, *b.args)
            w = time.perf_counter() - w0
            marginal = t if b.size_by_value else max(w - fixed, t)
            if marginal >= target / 4 or n >= 1 << 40:
                break
            n *= max(2, min(64, int(target / 4 / max(marginal, 1e-7))))
        loops = min(target / (max(t, 1e-12) / n), target / (marginal / n))
        return max(1, int(loops)), marginal / n

    def _count(self, b, instr, loops, wall_per_loop):
        fn, args = b.events_from or (b.fn, b.args)
        n = loops
        if wall_per_loop:
            # The instrumented build runs slower, and the counts of a short
            # run are those of a long one.
            n = max(1, min(loops, int(COUNT_WALL / wall_per_loop)))
        instr.region_events_reset()
        fn(n, instr, *args)
        return format_events(instr.region_events(), n * b.ops_per_loop)

    def _write(self):
        if not self.output:
            return
        suite = pyperf.BenchmarkSuite(self.benchmarks)
        tmp = self.output + ".tmp"
        suite.dump(tmp, replace=True)
        os.replace(tmp, self.output)


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
        suite.runner.argparser.error("unknown %s variant %s (known: %s)"
                                     % (kind, ", ".join(bad), ", ".join(known)))
    return chosen


def exit_missing(what):
    print("%s: skipped: %s" % (os.path.basename(sys.argv[0]), what), file=sys.stderr)
    sys.exit(3)

