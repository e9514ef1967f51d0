"""`pagecore verify`: which variants are racy, found by running their code.

For every variant and every scenario that applies to it, --mode replay runs
the scenario's scripted interleavings (pagecore.verify.replay) and --mode stress
runs its workload on real threads with widened windows (pagecore.verify.stress),
and --mode explore runs every schedule of the scenario's tasks up to a
preemption bound, or within a time budget every schedule (reduced) and else
the bounds it covers, under a deterministic scheduler (pagecore.verify.explore).
The verdict of a cell is what the model recorded while it ran (bug_on,
freed_page, not_under_writeback, bad_page, lost_write) and what the
watchdog saw (hang); a cell with none of them is clean.  A cell the harness
could not run faithfully (no operation ran, the watchdog stopped a run that
was still moving, a harness thread failed) is inconclusive, with the reason:
never racy, never clean.  Parameters it cannot run faithfully at all are
refused up front.

writeback-starvation is a liveness scenario, the same run in either mode
(pagecore.verify.starvation): a throttled waiter against writers that keep
the page under writeback.  Its cell says `starved` or not, with the
waiter's re-sleeps and wait times; `starved` goes to the liveness column,
never into the safety verdict (a hang or a BUG in it still does).

A scenario named with --scenario that does not apply to a variant named with
--variant (the dirty-page race for a writeback variant, say) is skipped with
a note on stderr; when nothing is left to run that is bad input.
"""

import json
import os

from pagecore._errors import PagecoreError
from pagecore.verify.scenarios import SCENARIOS as EXPLORE_SCENARIOS

MODES = ("replay", "stress", "explore")
# Scenarios that measure liveness, and the failure that says a waiter starved:
# neither is a race.
LIVENESS_SCENARIOS = ("writeback-starvation",)
# Every scenario, in the matrix's order: the safety scenarios are the
# explorer's (pagecore/verify/scenarios.py, where a new one is added), then
# the liveness measures.  Replay and stress run those they have a script or
# a workload for.
SCENARIOS = tuple(EXPLORE_SCENARIOS) + LIVENESS_SCENARIOS
STARVED = "starved"


def safety_failures(row):
    """The failures of a verify row that make a variant racy."""
    return [f for f in row.get("failures") or [] if f != STARVED]


def exit_status(rows, gated):
    """The exit status of a verify run (pagecore._errors): EXIT_FOUND when a
    variant of @gated has a safety failure, else EXIT_INCONCLUSIVE when a cell
    of one gave no verdict, else EXIT_OK."""
    from pagecore._errors import EXIT_FOUND, EXIT_INCONCLUSIVE, EXIT_OK

    mine = [r for r in rows if r.get("variant") in set(gated or ())]
    if any(safety_failures(r) for r in mine):
        return EXIT_FOUND
    if any(r.get("inconclusive") and not r.get("failures") for r in mine):
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def exit_reason(rows, gated):
    """One line: which gated variants failed, or gave no verdict, where."""
    mine = [r for r in rows if r.get("variant") in set(gated or ())]
    bad = {}
    for r in mine:
        if safety_failures(r):
            bad.setdefault(r["variant"], []).append(
                "%s (%s)" % (r["scenario"], ", ".join(safety_failures(r))))
    if bad:
        return "safety failure: " + "; ".join("%s in %s" % (v, ", ".join(dict.fromkeys(c)))
                                              for v, c in bad.items())
    unsure = {}
    for r in mine:
        if r.get("inconclusive") and not r.get("failures"):
            unsure.setdefault(r["variant"], []).append(r["scenario"])
    return "inconclusive: " + "; ".join("%s in %s" % (v, ", ".join(dict.fromkeys(c)))
                                        for v, c in unsure.items())


def liveness_of(rows):
    """'starved', 'live', or None when no row measured liveness."""
    live = [r for r in rows if r.get("scenario") in LIVENESS_SCENARIOS
            and not (r.get("inconclusive") and not r.get("failures"))]
    if not live:
        return None
    return STARVED if any(STARVED in (r.get("failures") or []) for r in live) else "live"


def starvation_params(args):
    """The writeback-starvation parameters from parsed options (their
    defaults where a caller's namespace has none)."""
    from pagecore.verify import starvation as sv

    return {"throttle_us": getattr(args, "throttle_us", sv.THROTTLE_US),
            "writers": getattr(args, "writers", sv.WRITERS),
            "bound_ms": getattr(args, "bound_ms", sv.BOUND_MS),
            "io_us": getattr(args, "io_us", sv.IO_US),
            "gap_us": getattr(args, "gap_us", sv.GAP_US),
            "seconds": getattr(args, "starve_seconds", sv.SECONDS)}


def run_cell(variant, scenario, args, progress=None):
    if scenario in LIVENESS_SCENARIOS:
        from pagecore.verify.starvation import starvation

        return starvation(variant, mode=args.mode, **starvation_params(args))
    if args.mode == "replay":
        from pagecore.verify.replay import replay

        return replay(variant, scenario, step=args.step,
                      steps=bool(getattr(args, "verbose", False)))
    if args.mode == "explore":
        from pagecore.verify.explore import explore

        return explore(variant, scenario, preemptions=args.preemptions,
                       max_schedules=args.max_schedules, por=not args.no_por,
                       jobs=getattr(args, "jobs", None) or 1,
                       budget=getattr(args, "budget", None))
    from pagecore.verify.stress import stress

    return stress(variant, scenario, seconds=args.seconds, threads=args.threads,
                  widen_ns=args.widen_ns, widen_prob=args.widen_prob, seed=args.seed,
                  progress=progress)


def write_json(path, results, interrupted=False):
    """Write @path whole or not at all: a temporary file beside it, renamed
    over it, and removed if anything (a signal included) stops the write."""
    doc = {"results": results}
    if interrupted:
        doc["interrupted"] = True
    tmp = "%s.tmp" % path
    if os.path.exists(path) and not os.path.isfile(path):
        raise PagecoreError("--json %s: not a regular file" % path)
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


def cell_text(r):
    """A cell of the matrix in a few words: its failures, or clean, or inconclusive."""
    if r.get("inconclusive") and not r["failures"]:
        return "inconclusive"
    lv = r.get("liveness")
    if lv:
        text = "%s: %d re-sleeps, p99 %s ms" % (
            STARVED if lv.get("starved") else "live", lv.get("resleeps", 0),
            "-" if lv.get("wait_p99_ms") is None else "%.3g" % lv["wait_p99_ms"])
        other = [f for f in r["failures"] if f != STARVED]
        return text + ("; " + ", ".join(other) if other else "")
    if not r["failures"]:
        return "inconclusive" if r.get("inconclusive") else "clean"
    if r["mode"] == "stress":
        return ", ".join("%s %d" % (k, r["counts"].get(k, 0)) for k in r["failures"])
    return ", ".join(r["failures"])


def print_matrix(results, variants, scenarios, args, elapsed):
    from tabulate import tabulate

    by = {(r["variant"], r["scenario"]): r for r in results}
    cols = [s for s in scenarios if any(k[1] == s for k in by)]
    live_col = any(s in LIVENESS_SCENARIOS for s in cols)
    rows = []
    for v in variants:
        cells = [by.get((v, s)) for s in cols]
        if not any(cells):
            continue
        done = [c for c in cells if c]
        safety = [c for c in done if c["scenario"] not in LIVENESS_SCENARIOS
                  or safety_failures(c)]
        if any(safety_failures(c) for c in done):
            verdict = "racy"
        elif any(c.get("inconclusive") for c in safety):
            verdict = "inconclusive"
        else:
            verdict = "clean" if safety else "-"
        row = [v] + [cell_text(c) if c else "-" for c in cells] + [verdict]
        if args.mode == "stress":
            row.insert(-1, "{:,}".format(sum(c["counts"].get("ops", 0) for c in done)))
        elif args.mode == "explore":
            row.insert(-1, "{:,}".format(sum(c["counts"].get("schedules", 0) for c in done)))
        if live_col:
            row.append(liveness_of(done) or "-")
        rows.append(row)
    extra = {"stress": ["ops"], "explore": ["schedules"]}.get(args.mode, [])
    headers = (["variant"] + cols + extra + ["verdict"] + (["liveness"] if live_col else []))
    if args.mode == "explore":
        n = sum(r["counts"].get("schedules", 0) for r in results)
        busy = sum(r["counts"].get("seconds", 0) for r in results)
        k = results[0].get("preemptions") if results else args.preemptions
        budget = results[0].get("budget") if results else getattr(args, "budget", None)
        if k is None and budget is not None:
            reach = ("a budget of %g s: every schedule, reduced, where that ends in the "
                     "cell's share, else the preemption bounds it covers" % budget)
        else:
            reach = "every schedule with at most %s preemption%s" % (k, "" if k == 1 else "s")
        what = "explore, %s: %s schedules, %s schedules/s per process" % (
            reach, "{:,}".format(n), "{:,.0f}".format(n / busy) if busy else "-")
    elif args.mode == "stress":
        what = "stress, %g s per cell, %s worker threads, windows widened %d ns at p=%g" % (
            args.seconds, args.threads or _threads(), args.widen_ns, args.widen_prob)
    else:
        what = "replay, %d interleavings" % sum(r["counts"].get("runs", 0) for r in results)
    live = [r["liveness"] for r in results if r.get("liveness")]
    if live:
        lv = live[0]
        text = ("starvation: %d writer(s), I/O %d us, waiter throttled to %d us, "
                "bound %g ms, %g s per variant" % (lv["writers"], lv["io_us"],
                                                  lv["throttle_us"], lv["bound_ms"],
                                                  lv["seconds"]))
        safety = any(r["scenario"] not in LIVENESS_SCENARIOS for r in results)
        what = what + "; " + text if safety else text
    print("pagecore verify (%s; %.1f s)" % (what, elapsed))
    print()
    if rows:
        print(tabulate(rows, headers=headers, tablefmt="simple"))
    else:
        print("(no cell finished)")
    if args.mode == "explore" and results:
        # the reach of every verdict, and what each cell cost
        print()
        for r in results:
            c = r["counts"]
            print("%s / %s: %s [%s%s schedules, %s pruned by sleep sets, %.1f s, %s/s]" % (
                r["variant"], r["scenario"], r["reach"],
                "{:,} classes, ".format(c["classes"]) if "classes" in c else "",
                "{:,}".format(c["schedules"]), "{:,}".format(c["pruned"]), c["seconds"],
                "{:,.0f}".format(c["per_second"]) if c.get("per_second") else "-"))
            if r.get("failures") and r.get("coverage"):
                print("    searched: %s" % r["coverage"])


def _threads():
    from pagecore.verify.stress import default_threads

    return default_threads()


def print_evidence(results, verbose=False):
    for r in results:
        if not r["failures"] and not r.get("inconclusive") and not verbose:
            continue
        print()
        print("%s / %s (%s): %s" % (r["variant"], r["scenario"], r["mode"],
                                    ", ".join(r["failures"]) or cell_text(r)))
        counts = ", ".join("%s=%s" % kv for kv in r["counts"].items())
        print("  counts: %s" % counts)
        for item in r["evidence"]:
            if isinstance(item, str):
                print("  " + item)
            elif isinstance(item, dict) and "kind" not in item:
                # the stress summary; bug-log records are already in words above
                print("  " + ", ".join("%s=%s" % kv for kv in item.items()))
        for run in r.get("interleavings") or []:
            if run["failures"]:
                continue        # its steps are in the evidence above
            print("  interleaving: %s: clean" % run["title"])
            for line in run["log"]:
                print("    " + line)
        if r.get("counterexample"):
            import shutil

            from pagecore.verify.timeline import render_timeline

            tl = r["counterexample"]
            print("  shortest failing schedule (%s), one column per CPU:" % tl["setup"])
            for line in render_timeline(tl, shutil.get_terminal_size((120, 24)).columns - 2):
                print("  " + line)
