"""`pagecore verify`: which variants are racy, found by running their code.

For every variant and every scenario that applies to it, --mode replay runs
the scenario's scripted interleavings (pagecore.verify.replay) and --mode stress
runs its workload on real threads with widened windows (pagecore.verify.stress).
The verdict of a cell is what the model recorded while it ran (bug_on,
freed_page, not_under_writeback, bad_page, lost_write) and what the
watchdog saw (hang); a cell with none of them is clean.  A cell the harness
could not run faithfully (no operation ran, the watchdog stopped a run that
was still moving, a harness thread failed) is inconclusive, with the reason:
never racy, never clean.  Parameters it cannot run faithfully at all are
refused up front.

A scenario named with --scenario that does not apply to a variant named with
--variant (the dirty-page race for a writeback variant, say) is skipped with
a note on stderr; when nothing is left to run that is bad input.
"""

import json
import math
import os
import sys
import time

from pagecore._errors import PagecoreError
from pagecore.model.variants import VARIANTS

SCENARIOS = ("writeback-set-again", "page-reuse", "mmap-lost-write")
MODES = ("replay", "stress")


def register(sub):
    from pagecore.verify.replay import STEP
    from pagecore.verify.stress import WIDEN_NS, WIDEN_PROB

    p = sub.add_parser(
        "verify", help="replay or stress the three races against each variant",
        description=__doc__.split("\n\n")[0] + " Exit 0 when it ran, whatever it found; "
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
    if args.json is not None:
        if not args.json.strip():
            raise PagecoreError("--json needs a file name")
        _check_writable(args.json)
    variants = list(dict.fromkeys(variants))
    scenarios = [s for s in SCENARIOS if s in scenarios]
    cells, skipped = [], []
    for v in variants:
        for s in scenarios:
            if s in VARIANTS[v].scenarios:
                cells.append((v, s))
            elif args.scenario:
                skipped.append((v, s))
    if not cells:
        raise PagecoreError("no scenario applies: %s (%s)" % (
            ", ".join(scenarios),
            "; ".join("%s applies to %s" % (v, ", ".join(VARIANTS[v].scenarios))
                      for v in variants)))
    return variants, scenarios, cells, skipped


def _check_writable(path):
    if os.path.isdir(path):
        raise PagecoreError("--json %s: is a directory" % path)
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise PagecoreError("--json %s: directory %s does not exist" % (path, d))
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise PagecoreError("--json %s: not writable" % path)
    elif not os.access(d, os.W_OK | os.X_OK):
        raise PagecoreError("--json %s: directory %s is not writable" % (path, d))


def run_cell(variant, scenario, args, progress=None):
    if args.mode == "replay":
        from pagecore.verify.replay import replay

        return replay(variant, scenario, step=args.step)
    from pagecore.verify.stress import stress

    return stress(variant, scenario, seconds=args.seconds, threads=args.threads,
                  widen_ns=args.widen_ns, widen_prob=args.widen_prob, seed=args.seed,
                  progress=progress)


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
            results.append(run_cell(v, s, args, progress if chatty else None))
    except KeyboardInterrupt as e:      # SIGINT, or SIGTERM (pagecore._signals)
        stopped = e
    if stopped is not None:
        print("pagecore: verify %s: %d of %d cells done%s"
              % (_signals.name(stopped), len(results), len(cells),
                 ", kept in %s" % args.json if args.json is not None else ""),
              file=sys.stderr)
    print_matrix(results, variants, scenarios, args, time.monotonic() - t0)
    print_evidence(results, args.verbose)
    if args.json is not None:
        write_json(args.json, results, stopped is not None)
    return 0 if stopped is None else _signals.exit_code(stopped)


def write_json(path, results, interrupted=False):
    """Write @path whole or not at all: a temporary file beside it, renamed
    over it, and removed if anything (a signal included) stops the write."""
    doc = {"results": results}
    if interrupted:
        doc["interrupted"] = True
    tmp = "%s.tmp" % path
    try:
        try:
            with open(tmp, "w") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as e:
        raise PagecoreError("--json %s: %s" % (path, e.strerror or e)) from None


def _cell_text(r):
    if not r["failures"]:
        return "inconclusive" if r.get("inconclusive") else "clean"
    if r["mode"] == "stress":
        return ", ".join("%s %d" % (k, r["counts"].get(k, 0)) for k in r["failures"])
    return ", ".join(r["failures"])


def print_matrix(results, variants, scenarios, args, elapsed):
    from tabulate import tabulate

    by = {(r["variant"], r["scenario"]): r for r in results}
    cols = [s for s in scenarios if any(k[1] == s for k in by)]
    rows = []
    for v in variants:
        cells = [by.get((v, s)) for s in cols]
        if not any(cells):
            continue
        done = [c for c in cells if c]
        if any(c["failures"] for c in done):
            verdict = "racy"
        elif any(c.get("inconclusive") for c in done):
            verdict = "inconclusive"
        else:
            verdict = "clean"
        row = [v] + [_cell_text(c) if c else "-" for c in cells] + [verdict]
        if args.mode == "stress":
            row.insert(-1, "{:,}".format(sum(c["counts"].get("ops", 0) for c in done)))
        rows.append(row)
    headers = ["variant"] + cols + (["ops"] if args.mode == "stress" else []) + ["verdict"]
    if args.mode == "stress":
        what = "stress, %g s per cell, %s worker threads, windows widened %d ns at p=%g" % (
            args.seconds, args.threads or _threads(), args.widen_ns, args.widen_prob)
    else:
        what = "replay, %d interleavings" % sum(r["counts"].get("runs", 0) for r in results)
    print("pagecore verify (%s; %.1f s)" % (what, elapsed))
    print()
    if rows:
        print(tabulate(rows, headers=headers, tablefmt="simple"))
    else:
        print("(no cell finished)")


def _threads():
    from pagecore.verify.stress import default_threads

    return default_threads()


def print_evidence(results, verbose=False):
    for r in results:
        if not r["failures"] and not r.get("inconclusive") and not verbose:
            continue
        print()
        print("%s / %s (%s): %s" % (r["variant"], r["scenario"], r["mode"],
                                    ", ".join(r["failures"]) or _cell_text(r)))
        counts = ", ".join("%s=%s" % kv for kv in r["counts"].items())
        print("  counts: %s" % counts)
        for item in r["evidence"]:
            if isinstance(item, str):
                print("  " + item)
            elif isinstance(item, dict) and "kind" not in item:
                # the stress summary; bug-log records are already in words above
                print("  " + ", ".join("%s=%s" % kv for kv in item.items()))
