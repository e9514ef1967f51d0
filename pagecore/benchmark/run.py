"""`pagecore bench`: run the pyperf suites, write results/<machine>/, then the report.

Each suite is one pyperf script, bench/<suite>.py, run as a child process
that writes results/<machine>/<suite>.json as it goes (one pyperf
BenchmarkSuite per file; `python -m pyperf compare_to` reads them).  A mode
picks pyperf's processes, values and time per value for each suite:

- default: sized to finish within 10 minutes on a 2-core machine, the build
  included; variants that differ by two atomics on a path come out
  significantly different, and variants with identical source the same;
- --fast: a few processes and fewer sweep points, for a look in about
  3 minutes;
- --rigorous: 40 processes and longer values, for publication;
- --smoke: one process, one value of one loop per benchmark: the tests use
  it to prove that every suite runs.

Before the suites it verifies the same variants in every mode (replay,
stress, and explore, on which the report's matrix rests) into
results/<machine>/verify.json, because the report ranks only the variants
found correct, and a verdict must come from running the code, never from a
table.  A cell that already has a verdict for the variant's current source,
under a plan that reaches as far, is taken from the cache of verdicts
(pagecore.verify.cache) instead of being run again, and the run says how many
cells it found there and which it verifies.  Afterwards it prints the
performance bars (--check prints them alone from results already written)
and writes the report, against --baseline, or original when it was measured,
else the first variant named.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

from pagecore._errors import PagecoreError
from pagecore.benchmark.checks import check_bars
from pagecore.model.machine import cpu_count

SUITES = ("floor", "hotpath", "contention", "hashchain", "dirty")
VARIANT_KIND = {"floor": None, "hotpath": "writeback", "contention": "writeback",
                "hashchain": "writeback", "dirty": "dirty"}

# mode -> suite -> (worker processes, rounds per process, warm-up rounds, seconds per value).
# Every process measures every variant of every case (bench/_harness.py), so processes are
# the samples of the paired comparisons: 20 by default, as pyperf; the suites with the most
# cases take fewer to keep the default within 10 minutes on 2 cores with the build.
PLANS = {
    "fast": {"floor": (6, 2, 1, 0.002), "hotpath": (6, 2, 1, 0.002),
             "contention": (4, 2, 1, 0.003), "hashchain": (4, 3, 0, 0.002),
             "dirty": (4, 2, 1, 0.002)},
    "default": {"floor": (20, 3, 1, 0.003), "hotpath": (20, 3, 1, 0.003),
                "contention": (8, 3, 1, 0.005), "hashchain": (8, 3, 1, 0.003),
                "dirty": (20, 3, 1, 0.003)},
    "rigorous": {s: (40, 5, 1, 0.01) for s in SUITES},
}

# --fast measures fewer points of the sweeps
FAST_CHAINS = "0,4,63,64,256"
FAST_BITS = "8"

# What a suite child's exit status means beyond 0 (see bench/_harness.py).
EXIT_SKIPPED = 3


def machine_name(name=None):
    """A hostname made safe for a directory name."""
    raw = name if name is not None else socket.gethostname()
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", raw).strip("._")[:64]
    if not safe:
        if name is not None:
            raise PagecoreError("machine name %r has no usable character" % name)
        return "unknown"
    return safe


def bench_dir():
    """The suite scripts: $PAGECORE_BENCH_DIR, else those installed with
    pagecore (pagecore/suites/), else bench/ of the source tree it runs from.
    Never the working directory: the command runs from anywhere."""
    from pagecore import _paths

    env = os.environ.get("PAGECORE_BENCH_DIR")
    if env:
        if not os.path.isfile(os.path.join(env, "_harness.py")):
            raise PagecoreError("PAGECORE_BENCH_DIR=%s holds no suite scripts" % env)
        return env
    d = _paths.shipped("suites", "_harness.py")
    if d is None:
        raise PagecoreError("the suite scripts are missing from %s (pagecore/suites/): "
                            "reinstall pagecore, or set PAGECORE_BENCH_DIR" % _paths.PACKAGE)
    return d


def _int_list(text, what, lo, hi):
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except (ValueError, OverflowError):
        raise PagecoreError("%s must be a comma-separated list of integers" % what) from None
    if not values:
        raise PagecoreError("%s must not be empty" % what)
    for v in values:
        if not lo <= v <= hi:
            raise PagecoreError("%s must be in %d..%d, not %d" % (what, lo, hi, v))
    return ",".join(str(v) for v in values)


def _plan(args):
    from pagecore.model.variants import DIRTY_VARIANTS, VARIANTS, WRITEBACK_VARIANTS

    suites = args.suite or list(SUITES)
    for s in suites:
        if s not in SUITES:
            raise PagecoreError("unknown suite %r (known: %s)" % (s, ", ".join(SUITES)))
    suites = [s for s in SUITES if s in suites]
    chosen = {"writeback": WRITEBACK_VARIANTS, "dirty": DIRTY_VARIANTS}
    if args.variant:
        for v in args.variant:
            if v not in VARIANTS:
                raise PagecoreError("unknown variant %r (known: %s)"
                                    % (v, ", ".join(VARIANTS)))
        chosen = {"writeback": [v for v in args.variant if v in WRITEBACK_VARIANTS],
                  "dirty": [v for v in args.variant if v in DIRTY_VARIANTS]}
    mode = ("smoke" if args.smoke else "fast" if args.fast else
            "rigorous" if args.rigorous else "default")
    extra = {}
    # given empty ('--threads ""') is bad input, not the default
    if args.threads is not None:
        extra["contention"] = ["--threads", _int_list(args.threads, "threads", 1, 1024)]
    hc = []
    if args.bits is not None or mode == "fast":
        hc += ["--bits", _int_list(FAST_BITS if args.bits is None else args.bits,
                                   "bits", 1, 24)]
    if args.chain is not None or mode == "fast":
        hc += ["--chain", _int_list(FAST_CHAINS if args.chain is None else args.chain,
                                    "chain", 0, 1 << 20)]
    if hc:
        extra["hashchain"] = hc
    if mode == "fast" and args.threads is None:
        n = cpu_count()
        extra["contention"] = ["--threads", ",".join(str(t) for t in sorted({1, n, 2 * n}))]
    runs = []
    for s in suites:
        kind = VARIANT_KIND[s]
        if kind and not chosen[kind]:
            continue        # --variant named none of this suite's kind
        if mode == "smoke":
            cmd = ["--quiet", "--smoke"]
        else:
            procs, values, warmups, min_time = PLANS[mode][s]
            cmd = ["--processes", str(procs), "--values", str(values), "--warmups",
                   str(warmups), "--min-time", str(min_time)]
        if kind:
            cmd += ["--variant", ",".join(chosen[kind])]
        runs.append((s, cmd + extra.get(s, [])))
    if not runs:
        raise PagecoreError("nothing to run: no suite measures the variants named")
    return mode, runs


def _child_env():
    # The children import the very pagecore this process runs.
    import pagecore

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(pagecore.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in
                                                  env.get("PYTHONPATH", "").split(os.pathsep)
                                                  if p])
    return env


# How long a suite has to stop after SIGTERM before it is killed.
STOP_GRACE = 5.0


def bench_timeout():
    """PAGECORE_BENCH_TIMEOUT, checked here before any child starts: the
    suites' watchdog for one measurement, in seconds (None when unset)."""
    text = os.environ.get("PAGECORE_BENCH_TIMEOUT")
    if text is None or text == "":
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e6:
        raise PagecoreError("PAGECORE_BENCH_TIMEOUT must be a number of seconds in (0, 1e6), "
                            "not %r" % text)
    return seconds


def _run_suite(script, out, opts, env):
    """Run one suite in a process group of its own and return its exit
    status.  Interrupted (SIGINT, SIGTERM), it stops the whole group (the
    suite and its workers) before it re-raises."""
    cmd = [sys.executable, script, "-o", out] + opts
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        _stop_group(proc)
        raise


def _stop_group(proc):
    """SIGTERM to the suite's process group (the suite stops its workers and
    keeps what finished); SIGKILL to whatever is left after STOP_GRACE."""
    def killpg(sig):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    killpg(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while True:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            break
        except subprocess.TimeoutExpired:
            killpg(signal.SIGKILL)
            proc.wait()
            break
        except KeyboardInterrupt:
            continue        # a second Ctrl-C: the group is being stopped already
    killpg(signal.SIGKILL)  # a worker the suite did not wait for


def _remove_partial(mdir):
    """The *.json.tmp files a stopped suite left half written."""
    removed = []
    for f in sorted(os.listdir(mdir)):
        if f.endswith(".json.tmp"):
            try:
                os.remove(os.path.join(mdir, f))
                removed.append(f)
            except OSError:
                pass
    return removed


def cmd_bench(args):
    if not args.output or not args.output.strip():
        raise PagecoreError("-o needs a directory")
    if args.check:
        mdir = os.path.join(args.output, machine_name(args.machine))
        if not any(os.path.isfile(os.path.join(mdir, s + ".json")) for s in ("floor", "hotpath")):
            raise PagecoreError("%s: no floor.json or hotpath.json: run pagecore bench first"
                                % mdir)
        lines, ok = check_bars(mdir)
        print("\n".join(lines))
        return 0 if ok else 1
    from pagecore import _signals

    mode, runs = _plan(args)
    bench_timeout()
    scripts = bench_dir()
    machine = machine_name(args.machine)
    mdir = os.path.join(args.output, machine)
    try:
        os.makedirs(mdir, exist_ok=True)
    except OSError as e:
        raise PagecoreError("%s: cannot create: %s" % (mdir, e.strerror)) from None
    env = _child_env()
    print("pagecore bench: %s mode, suites %s, results in %s/"
          % (mode, " ".join(s for s, _ in runs), mdir), flush=True)
    if mode == "rigorous":
        print("pagecore bench: --rigorous runs for hours; Ctrl-C keeps what is done",
              flush=True)
    t_all = time.monotonic()
    baseline = _baseline(args)
    if not args.no_verify:
        try:
            _verify(mdir, mode, args.variant)
        except KeyboardInterrupt as e:      # said so, and kept what finished
            return _signals.exit_code(e)
    done, failed = [], []
    for k, (suite, opts) in enumerate(runs, 1):
        out = os.path.join(mdir, suite + ".json")
        if os.path.exists(out):
            os.remove(out)      # pyperf refuses to overwrite; this run replaces it
        print("== %s (%d/%d)" % (suite, k, len(runs)), flush=True)
        t0 = time.monotonic()
        try:
            rc = _run_suite(os.path.join(scripts, suite + ".py"), out, opts, env)
        except KeyboardInterrupt as e:      # SIGINT, or SIGTERM (pagecore._signals)
            removed = _remove_partial(mdir)
            kept = [f for f in done + [suite]
                    if os.path.exists(os.path.join(mdir, f + ".json"))]
            print("pagecore: bench %s during %s: its processes stopped; kept %s in %s/%s"
                  % (_signals.name(e), suite, ", ".join(f + ".json" for f in kept) or "nothing",
                     mdir, "; removed partial " + ", ".join(removed) if removed else ""),
                  file=sys.stderr, flush=True)
            return _signals.exit_code(e)
        took = time.monotonic() - t0
        if rc == 0:
            done.append(suite)
            print("== %s done in %.0f s: %s" % (suite, took, out), flush=True)
        elif rc == EXIT_SKIPPED:
            print("== %s skipped" % suite, flush=True)
        else:
            failed.append(suite)
            print("== %s FAILED (exit %d) after %.0f s%s" % (
                suite, rc, took, "; partial results kept in " + out
                if os.path.exists(out) else ""), flush=True)
    print("pagecore bench: %d suite(s) in %.0f s" % (len(done), time.monotonic() - t_all),
          flush=True)
    if "floor" in done or "hotpath" in done:
        lines, _ = check_bars(mdir)
        print("\n".join(lines), flush=True)
    if not args.no_report:
        _report(mdir, baseline)
    if failed:
        print("pagecore: suite(s) failed: %s" % ", ".join(failed), file=sys.stderr)
        return 1
    return 0


def _baseline(args):
    """The report's baseline: --baseline (checked here, before anything runs),
    else original when it is measured, else the first writeback variant named."""
    from pagecore.model.variants import VARIANTS, get_variant

    if args.baseline is not None:
        v = get_variant(args.baseline).name
        if args.variant and v not in args.variant:
            raise PagecoreError("--baseline %s is not among the variants measured (--variant "
                                "%s)" % (v, " ".join(args.variant)))
        return v
    names = args.variant or list(VARIANTS)
    wb = [v for v in names if VARIANTS[v].kind == "writeback"]
    return "original" if "original" in wb or not wb else wb[0]


def _verify(mdir, mode, variants):
    """Verify every cell into mdir/verify.json, taking from the cache of
    verdicts what it holds for the variants' current source; True when done.
    Interrupted (SIGINT, SIGTERM), it writes what finished, says so, and
    re-raises."""
    from pagecore.verify import cache as _cache
    from pagecore.verify import matrix as _verify
    from pagecore.verify.options import plan_text, verify_plan

    path = os.path.join(mdir, "verify.json")
    results = []
    t0 = time.monotonic()
    print("== verify (%s; verdicts kept in %s): %s" % (plan_text(mode), _cache.root(), path),
          flush=True)
    try:
        verify_plan(mode, variants or [], results,
                    progress=lambda text: print("   " + text, flush=True))
    except KeyboardInterrupt as e:
        from pagecore import _signals

        _verify.write_json(path, results, interrupted=True)
        print("pagecore: bench %s during verify; kept %d cell(s) in %s"
              % (_signals.name(e), len(results), path), file=sys.stderr, flush=True)
        raise
    _verify.write_json(path, results)
    racy = sorted({r["variant"] for r in results if _verify.safety_failures(r)})
    starving = sorted({r["variant"] for r in results if _verify.liveness_of([r]) == "starved"})
    unsure = sorted({r["variant"] for r in results
                     if r.get("inconclusive") and r["variant"] not in racy})
    cached = sum(1 for r in results if r.get("cached"))
    print("== verify done in %.0f s (%d of %d cells from the cache): racy: %s; starving: %s%s"
          % (time.monotonic() - t0, cached, len(results), ", ".join(racy) or "none",
             ", ".join(starving) or "none",
             "; inconclusive: " + ", ".join(unsure) if unsure else ""), flush=True)
    return True


def _report(mdir, baseline="original"):
    try:
        from pagecore.report.writer import write_report
    except ImportError as e:
        if e.name != "pagecore.report.writer":
            raise
        print("report: no report generator in this pagecore (pagecore.report.writer): skipped")
        return
    try:
        path = write_report([mdir], baseline=baseline)
    except PagecoreError as e:
        print("report: not written: %s" % e)
        return
    print("report: %s" % path)
