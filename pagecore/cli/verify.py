"""`pagecore verify`: the command line over pagecore.verify."""

import argparse
import os
import sys
import time

from pagecore._errors import EXIT_OK, PagecoreError
from pagecore._paths import doc
from pagecore.model.variants import VARIANTS
from pagecore.verify import matrix
from pagecore.verify.matrix import SCENARIOS

# The exit statuses of verify and try, for their --help (pagecore._errors).
EXIT_HELP = """exit status:
  0    no safety failure in %s
  1    a safety failure there: bug_on, freed_page, not_under_writeback, bad_page,
       lost_write or hang (a starved waiter is liveness, not a failure)
  2    bad input, one line on stderr; nothing ran
  3    no failure, but a cell there was inconclusive (no verdict)
  130  stopped by SIGINT, 143 by SIGTERM; what finished is kept"""


def register(sub):
    from pagecore.verify import starvation as sv
    from pagecore.verify.explore import PREEMPTIONS
    from pagecore.verify.interleaving import STEP
    from pagecore.verify.stress import WIDEN_NS, WIDEN_PROB

    p = sub.add_parser(
        "verify", help="replay, stress or explore the three races against each variant",
        description=matrix.__doc__.split("\n\n")[0],
        epilog=EXIT_HELP % "the variants named with --variant or --variant-file (with "
        "--fail-on-race: every variant verified; with neither, nothing is gated and a run "
        "that ended exits 0).  --replay-schedule exits 1 when a run does not fail as saved",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    from pagecore.cli import Names, add_variant_file, add_variant_option

    add_variant_option(p, "variants to verify (default: all; see `pagecore variants`); "
                          "the exit status gates them")
    add_variant_file(p)
    p.add_argument("--fail-on-race", action="store_true",
                   help="exit 1 when any variant verified has a safety failure, not only "
                        "those named")
    p.add_argument("--scenario", action=Names, nargs="+", metavar="S",
                   help="scenarios: %s (default: each that applies)" % ", ".join(SCENARIOS))
    p.add_argument("--mode", default="replay", metavar="MODE",
                   help="replay (scripted interleavings), stress (random, timed) or "
                        "explore (every schedule up to a preemption bound, or within "
                        "--budget); default replay")
    p.add_argument("--seconds", type=float, default=2.0, metavar="N",
                   help="stress: seconds per cell (default 2)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="stress: worker threads (default: CPUs, at least 2)")
    p.add_argument("--widen-ns", type=int, default=WIDEN_NS, metavar="NS",
                   help="stress: widen each race window by NS ns (default %d)" % WIDEN_NS)
    p.add_argument("--widen-prob", type=float, default=WIDEN_PROB, metavar="P",
                   help="stress: ... at this fraction of the passes (default %g)" % WIDEN_PROB)
    p.add_argument("--seed", type=int, default=None, help="stress: random seed")
    p.add_argument("--step", type=float, default=STEP, metavar="S",
                   help="replay: seconds a step waits before it calls a task blocked "
                        "(default %g)" % STEP)
    p.add_argument("--preemptions", type=int, default=None, metavar="K",
                   help="explore: every schedule with at most K preemptions (default %d, "
                        "unless --budget is given)" % PREEMPTIONS)
    p.add_argument("--budget", default=None, metavar="T",
                   help="explore: the time for all the cells (90s, 10m, 1h or seconds); "
                        "without --preemptions each cell searches every schedule, reduced "
                        "(a verified verdict when that ends), else deepens the preemption "
                        "bound 0, 1, 2, ... and says how far it got (%s)" % doc("EXPLORE.md"))
    p.add_argument("--max-schedules", type=int, default=None, metavar="N",
                   help="explore: stop a cell after N schedules (its verdict then says so)")
    p.add_argument("--no-por", action="store_true",
                   help="explore: no partial-order reduction (sleep sets), a cross-check")
    p.add_argument("--search", default=None, metavar="S",
                   help="explore with --budget: the search without a bound, dpor (dynamic "
                        "partial-order reduction, the default) or sleep-sets (the bounded "
                        "search with no bound, a cross-check)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="explore: N worker processes share every cell's schedule tree "
                        "(default: CPUs); the verdicts and counts are the same for any N")
    p.add_argument("--cluster", default=None, metavar="local",
                   help="explore: run the jobs on a dask.distributed cluster of this "
                        "machine's CPUs (needs pip install pagecore[cluster])")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="explore: run the jobs on the dask.distributed cluster whose "
                        "scheduler is at ADDRESS (tcp://HOST:8786)")
    p.add_argument("--save-schedules", metavar="DIR",
                   help="explore: write each racy cell's shortest failing schedule to "
                        "DIR/VARIANT.SCENARIO.json")
    p.add_argument("--replay-schedule", metavar="FILE",
                   help="run a saved schedule (a --save-schedules file, or a --json file "
                        "with one racy cell) and check it fails as saved")
    p.add_argument("--times", type=int, default=10, metavar="N",
                   help="--replay-schedule: run it N times (default 10)")
    g = p.add_argument_group(
        "writeback-starvation", "a waiter throttled to run every T us against writers that "
        "keep the page under writeback; the same run in either mode")
    g.add_argument("--throttle-us", type=int, default=sv.THROTTLE_US, metavar="T",
                   help="the slow waiter runs again T us after each wake (default %d)"
                        % sv.THROTTLE_US)
    g.add_argument("--writers", type=int, default=sv.WRITERS, metavar="N",
                   help="writers that keep dirtying and writing back the page (default %d)"
                        % sv.WRITERS)
    g.add_argument("--bound-ms", type=float, default=sv.BOUND_MS, metavar="MS",
                   help="a wait longer than this while writebacks go on is starved "
                        "(default %g)" % sv.BOUND_MS)
    g.add_argument("--io-us", type=int, default=sv.IO_US, metavar="US",
                   help="each writeback's I/O time (default %d)" % sv.IO_US)
    g.add_argument("--gap-us", type=int, default=sv.GAP_US, metavar="US",
                   help="a writer's pause between the end of one writeback and dirtying "
                        "the page again (default %d)" % sv.GAP_US)
    g.add_argument("--starve-seconds", type=float, default=sv.SECONDS, metavar="S",
                   help="how long the writers run per variant (default %g)" % sv.SECONDS)
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print the evidence of clean cells too")
    p.set_defaults(func=cmd_verify)


def _check_args(args):
    """The command line's options, checked and planned in the verify room."""
    from pagecore.cli import variant_files
    from pagecore.verify.options import VerifyOptions, plan

    files = variant_files(args)
    names = (args.variant or ([] if files else list(VARIANTS))) + files
    # what the exit status answers for: the variants a user named
    args.gated = list(args.variant or []) + files
    if args.json is not None:
        if not args.json.strip():
            raise PagecoreError("--json needs a file name")
        _check_writable(args.json)
    args.options = VerifyOptions.from_args(args, names)
    return plan(args.options)


def _check_writable(path):
    if os.path.isdir(path):
        raise PagecoreError("--json %s: is a directory" % path)
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise PagecoreError("--json %s: directory %s does not exist" % (path, d))
    if os.path.exists(path):
        # the file is written beside and renamed over: never over a device or a FIFO
        if not os.path.isfile(path):
            raise PagecoreError("--json %s: not a regular file" % path)
        if not os.access(path, os.W_OK):
            raise PagecoreError("--json %s: not writable" % path)
    elif not os.access(d, os.W_OK | os.X_OK):
        raise PagecoreError("--json %s: directory %s is not writable" % (path, d))


def cmd_verify(args):
    if args.replay_schedule:
        return cmd_replay_schedule(args)
    variants, scenarios, cells, skipped = _check_args(args)
    for v, s in skipped:
        print("pagecore: verify: %s does not apply to %s (a %s variant): skipped"
              % (s, v, VARIANTS[v].kind), file=sys.stderr)
    chatty = sys.stderr.isatty() or (args.mode == "stress" and args.seconds * len(cells) > 10)

    def progress(text):
        print("verify: %s" % text, file=sys.stderr, flush=True)

    from pagecore import _signals

    results, stopped = [], None
    t0 = time.monotonic()
    try:
        if args.mode == "explore":
            from pagecore.verify.explore import explore_cells

            o = args.options
            for i, r in enumerate(explore_cells(cells, o.preemptions, o.max_schedules,
                                                not o.no_por, o.jobs, budget=o.budget,
                                                cluster=o.cluster, scheduler=o.scheduler,
                                                algo=_search(o),
                                                progress=lambda text: print(
                                                    "verify: " + text, file=sys.stderr,
                                                    flush=True))):
                if chatty:
                    progress("[%d/%d] %s / %s (explore): %s" % (
                        i + 1, len(cells), r["variant"], r["scenario"], r["reach"]))
                results.append(r)
            results.sort(key=lambda r: cells.index((r["variant"], r["scenario"])))
        else:
            for i, (v, s) in enumerate(cells):
                if chatty:
                    progress("[%d/%d] %s / %s (%s)" % (i + 1, len(cells), v, s, args.mode))
                results.append(matrix.run_cell(v, s, args.options, progress if chatty else None))
    except KeyboardInterrupt as e:      # SIGINT, or SIGTERM (pagecore._signals)
        stopped = e
    if stopped is not None:
        print("pagecore: verify %s: %d of %d cells done%s"
              % (_signals.name(stopped), len(results), len(cells),
                 ", kept in %s" % args.json if args.json is not None else ""),
              file=sys.stderr)
    _keep(results, args.options)
    matrix.print_matrix(results, variants, scenarios, args, time.monotonic() - t0)
    matrix.print_evidence(results, args.verbose)
    if args.json is not None:
        matrix.write_json(args.json, results, stopped is not None)
    if args.mode == "explore" and args.save_schedules and stopped is None:
        from pagecore.verify.schedules import save_schedules

        for path in save_schedules(results, args.save_schedules):
            print("saved %s" % path)
    if stopped is not None:
        return _signals.exit_code(stopped)
    gated = variants if args.fail_on_race else args.gated
    rc = matrix.exit_status(results, gated)
    if rc != EXIT_OK:
        print("pagecore: verify: %s" % matrix.exit_reason(results, gated), file=sys.stderr)
    return rc


def _search(options):
    from pagecore.verify.options import _search

    return _search(options)


def _keep(results, options):
    """Each verdict, keyed by its variant's source, into the cache of verdicts,
    where `pagecore bench` and `try` find it instead of running the cell again."""
    from pagecore.verify import cache

    for r in results:
        r["source"] = cache.key(r["variant"])
        cache.store(r, cache.plan(options, r["scenario"], r))


def cmd_replay_schedule(args):
    """Run a saved schedule --times times: 0 if every run failed as saved."""
    from pagecore.verify.explore import replay_schedule
    from pagecore.verify.schedules import load_schedule
    from pagecore.verify.timeline import render_timeline

    if (args.preemptions is not None or args.max_schedules is not None
            or args.budget is not None):
        raise PagecoreError("--replay-schedule runs one schedule: no --preemptions, "
                            "--max-schedules or --budget")
    if args.times < 1:
        raise PagecoreError("--times must be > 0")
    doc = load_schedule(args.replay_schedule)
    runs, tl = replay_schedule(doc, args.times)
    want = sorted(doc.get("failures", []))
    same = sum(1 for r in runs if sorted(r["failures"]) == want and r["end"] != "diverged")
    print("%s / %s (%s): %d preemption%s, %d steps; saved failure: %s" % (
        doc["variant"], doc["scenario"], doc["setup_title"], doc["preemptions"],
        "" if doc["preemptions"] == 1 else "s", doc["steps"], ", ".join(want) or "none"))
    print()
    for line in render_timeline(tl):
        print(line)
    print()
    print("replayed %d of %d times to the same failure%s" % (
        same, len(runs), "" if same == len(runs) else ": " + "; ".join(
            "run %d: %s (%s)" % (i + 1, ", ".join(r["failures"]) or "clean", r["end"])
            for i, r in enumerate(runs) if sorted(r["failures"]) != want)))
    if args.json:
        matrix.write_json(args.json, [{"mode": "replay-schedule", "schedule": doc,
                                       "runs": runs, "counterexample": tl}])
    return 0 if same == len(runs) else 1

