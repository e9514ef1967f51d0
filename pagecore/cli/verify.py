"""`pagecore verify`: the command line over pagecore.verify."""

import math
import os
import sys
import time

from pagecore._errors import PagecoreError
from pagecore.model.variants import VARIANTS
from pagecore.verify import matrix
from pagecore.verify.matrix import MODES, SCENARIOS


def register(sub):
    from pagecore.verify import starvation as sv
    from pagecore.verify.replay import STEP
    from pagecore.verify.stress import WIDEN_NS, WIDEN_PROB

    p = sub.add_parser(
        "verify", help="replay or stress the three races against each variant",
        description=matrix.__doc__.split("\n\n")[0] + " Exit 0 when it ran, whatever it found; "
        "2 on bad input.")
    p.add_argument("--variant", action="extend", nargs="+", metavar="V",
                   help="variants to verify (default: all; see `pagecore variants`)")
    p.add_argument("--scenario", action="extend", nargs="+", metavar="S",
                   help="scenarios: %s (default: each that applies)" % ", ".join(SCENARIOS))
    p.add_argument("--mode", default="replay", metavar="MODE",
                   help="replay (scripted interleavings) or stress (random, timed); "
                        "default replay")
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
    if args.mode not in MODES:
        raise PagecoreError("--mode must be replay or stress, not %r" % args.mode)
    variants = args.variant or list(VARIANTS)
    for v in variants:
        if v not in VARIANTS:
            raise PagecoreError("unknown variant %r (known: %s)" % (v, ", ".join(VARIANTS)))
    scenarios = args.scenario or list(SCENARIOS)
    for s in scenarios:
        if s not in SCENARIOS:
            raise PagecoreError("unknown scenario %r (known: %s)" % (s, ", ".join(SCENARIOS)))
    from pagecore.verify.replay import STEP_RANGE
    from pagecore.verify.stress import check_params

    check_params(args.seconds, args.threads, args.widen_ns, args.widen_prob, args.seed)
    lo, hi = STEP_RANGE
    if not (math.isfinite(args.step) and lo <= args.step <= hi):
        raise PagecoreError("--step must be in %g..%g seconds (a shorter step cannot tell a "
                            "blocked task from a running one), not %r" % (lo, hi, args.step))
    _check_starvation(args)
    if args.json is not None:
        if not args.json.strip():
            raise PagecoreError("--json needs a file name")
        _check_writable(args.json)
    variants = list(dict.fromkeys(variants))
    scenarios = [s for s in SCENARIOS if s in scenarios]
    cells, skipped = [], []
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
    return variants, scenarios, cells, skipped


def _check_starvation(args):
    from pagecore.verify.matrix import starvation_params
    from pagecore.verify.starvation import check

    check(**starvation_params(args), names={
        "throttle_us": "--throttle-us", "writers": "--writers", "bound_ms": "--bound-ms",
        "io_us": "--io-us", "gap_us": "--gap-us", "seconds": "--starve-seconds"})


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
        for i, (v, s) in enumerate(cells):
            if chatty:
                progress("[%d/%d] %s / %s (%s)" % (i + 1, len(cells), v, s, args.mode))
            results.append(matrix.run_cell(v, s, args, progress if chatty else None))
    except KeyboardInterrupt as e:      # SIGINT, or SIGTERM (pagecore._signals)
        stopped = e
    if stopped is not None:
        print("pagecore: verify %s: %d of %d cells done%s"
              % (_signals.name(stopped), len(results), len(cells),
                 ", kept in %s" % args.json if args.json is not None else ""),
              file=sys.stderr)
    matrix.print_matrix(results, variants, scenarios, args, time.monotonic() - t0)
    matrix.print_evidence(results, args.verbose)
    if args.json is not None:
        matrix.write_json(args.json, results, stopped is not None)
    return 0 if stopped is None else _signals.exit_code(stopped)

