"""`pagecore try`: one variant file, judged and priced against what ships.

A trial builds the file (both objects: a compiler error is the first thing it
can say), verifies it (replay, explore up to the bound, stress, and the slow
waiter's liveness) with the --against variants beside it, measures the hot
path and the default mix's hash-chain term for all of them in one run, and
ranks the file in `choose`'s default mix among them.  Everything it wrote
stays in its results directory, the file's source hash with it.
"""

import json
import os
import sys
import time

from pagecore._errors import PagecoreError

DEFAULT_AGAINST = ("shipped-5.10", "folio-6.7")
DEFAULT_BUDGET_S = 600.0
# What a trial measures: the default mix's writeback terms (pagecore.report.choose).
SUITES = (("hotpath", []), ("hashchain", ["--bits", "8", "--chain", "4"]))


def parse_budget(text):
    """'10m', '90s', '1h', '600' (seconds) -> seconds, as verify's --budget reads them
    (pagecore.verify.options.parse_budget), within what a trial can spend: from 30 s, which
    leaves each mode a share, to a day."""
    from pagecore.verify.options import parse_budget as _seconds

    s = _seconds(text)
    if not 30 <= s <= 24 * 3600:
        raise PagecoreError("--budget must be between 30s and 24h, not %r" % (text,))
    return s


def _plan(budget_s):
    """How the budget is spent: half on explore, whose verdict is the point
    (every schedule where the search without a bound ends in a cell's share,
    else the preemption bounds it covers); the rest on replay, stress and
    the measurements, whose processes pyperf runs."""
    scale = budget_s / DEFAULT_BUDGET_S
    return {
        "stress_seconds": max(0.5, min(5.0, 1.0 * scale)),
        "preemptions": None,
        "max_schedules": None,
        # explore's cells all together, the cells of the variants compared
        # with too where the cache has no verdict for them
        "explore_seconds": max(10.0, 0.5 * budget_s),
        "starve_seconds": max(0.5, min(5.0, 1.5 * scale)),
        "mode": "fast" if budget_s < 300 else "default",
    }


def verify(variants, plan, progress):
    """The verify rows of a trial: every mode, as `pagecore verify --json` writes them."""
    from pagecore.verify.options import verify_all

    return verify_all(variants, [], stress_seconds=plan["stress_seconds"],
                      preemptions=plan["preemptions"], max_schedules=plan["max_schedules"],
                      starve_seconds=plan["starve_seconds"], progress=progress,
                      budget=plan.get("explore_seconds"))


def measure(mdir, variants, mode, progress):
    """The trial's suites over @variants, in one run each, into @mdir."""
    from pagecore.benchmark import run

    env = run._child_env()
    failed = []
    for suite, extra in SUITES:
        procs, values, warmups, min_time = run.PLANS[mode][suite]
        opts = ["--processes", str(procs), "--values", str(values), "--warmups", str(warmups),
                "--min-time", str(min_time), "--variant", ",".join(variants)] + extra
        out = os.path.join(mdir, suite + ".json")
        if os.path.exists(out):
            os.remove(out)
        progress("measuring %s (%s mode)" % (suite, mode))
        rc = run._run_suite(os.path.join(run.bench_dir(), suite + ".py"), out,
                            ["--quiet"] + opts, env)
        if rc != 0:
            failed.append(suite)
    return failed


def trial(path, against=DEFAULT_AGAINST, budget_s=DEFAULT_BUDGET_S, out=None,
          progress=None):
    """Judge and price the variant file at @path; the trial's summary (a
    dict), whose results stay in its directory."""
    from pagecore.model import variants as _v

    say = progress or (lambda text: None)
    t0 = time.monotonic()
    v = _v.register_file(path)
    for a in against:
        w = _v.get_variant(a)
        if w.kind != v.kind:
            raise PagecoreError("--against %s is a %s variant; %s is a %s one"
                                % (a, w.kind, v.name, v.kind))
    against = [a for a in dict.fromkeys(against) if a != v.name]
    if not against:
        raise PagecoreError("--against names no variant other than the file's own")
    # A compiler error is the first answer: both builds, before anything runs.
    say("building %s (timed and instrumented)" % v.name)
    _v.shared_object(v, instrument=False)
    _v.shared_object(v, instrument=True)
    # and loaded: a function it calls that nothing defines is refused here
    from pagecore.model import _core, _core_instr

    for core in (_core, _core_instr):
        core.configure(v.name)
    plan = _plan(budget_s)
    mdir = out or os.path.join("results", "try", "%s-%s" % (v.name, v.sha256[:12]))
    try:
        os.makedirs(mdir, exist_ok=True)
    except OSError as e:
        raise PagecoreError("%s: cannot create: %s" % (mdir, e.strerror)) from None
    names = against + [v.name]
    from pagecore.verify import matrix

    rows = verify(names, plan, say)
    matrix.write_json(os.path.join(mdir, "verify.json"), rows)
    failed = []
    if v.kind == "writeback":
        failed = measure(mdir, names, plan["mode"], say)
    doc = summarize(mdir, v, against, rows)
    doc.update({"file": os.path.abspath(path), "sha256": v.sha256, "budget_s": budget_s,
                "plan": plan, "results": mdir, "failed_suites": failed,
                "seconds": round(time.monotonic() - t0, 1)})
    with open(os.path.join(mdir, "try.json"), "w") as f:
        json.dump(doc, f, indent=1, default=str)
        f.write("\n")
    return doc


def summarize(mdir, v, against, rows):
    """Verdicts, cost ratios and rank of variant @v from a trial's directory."""
    from pagecore.report import choose, results, stats
    from pagecore.verify import matrix

    mine = [r for r in rows if r["variant"] == v.name]
    verdicts = {}
    for r in mine:
        cell = verdicts.setdefault(r["scenario"], {})
        cell[r["mode"]] = {"failures": matrix.safety_failures(r) or
                           [f for f in r.get("failures") or []],
                           "inconclusive": r.get("inconclusive"), "reach": r.get("reach"),
                           "complete": r.get("complete", True),
                           "schedules": (r.get("counts") or {}).get("schedules"),
                           "unplaced": r.get("unplaced")}
    counterexamples = {r["scenario"]: r["counterexample"] for r in mine
                       if r.get("counterexample") and r.get("failures")}
    liveness = matrix.liveness_of(mine)
    safety = {}
    for r in rows:
        cell = safety.setdefault(r["variant"], {"failures": {}, "inconclusive": []})
        if matrix.safety_failures(r):
            cell["failures"].setdefault(r["scenario"], [])
            cell["failures"][r["scenario"]] += [f for f in matrix.safety_failures(r)
                                                if f not in cell["failures"][r["scenario"]]]
        elif r.get("inconclusive") and r["scenario"] not in cell["inconclusive"]:
            cell["inconclusive"].append(r["scenario"])
    doc = {"variant": v.name, "kind": v.kind, "against": list(against), "verdicts": verdicts,
           "counterexamples": counterexamples, "liveness": liveness, "costs": [],
           "rank": None, "safety": safety}
    if v.kind != "writeback" or not any(os.path.exists(os.path.join(mdir, s + ".json"))
                                        for s, _ in SUITES):
        return doc
    rs = results.load_results([mdir])
    for m in rs.machines.values():
        by_term = {}
        for r in m.results.values():
            by_term.setdefault(r.term, {})[r.variant] = r
        for _, row in sorted(by_term.items()):
            new = row.get(v.name)
            if new is None:
                continue
            for a in against:
                base = row.get(a)
                if base is None:
                    continue
                ch = stats.change(base, new, same_source=base.impl == new.impl)
                doc["costs"].append({"benchmark": new.key,
                                     "against": a, "ns": new.mean * 1e9,
                                     "against_ns": base.mean * 1e9,
                                     "ratio": new.mean / base.mean if base.mean else None,
                                     "change": ch.text(), "significant": ch.significant})
        (c,) = choose.choose(rs, kind="writeback", baseline=against[0])[:1] or (None,)
        if c is not None:
            ranked = [rk.variant for rk in c.ranked]
            doc["rank"] = {"ranking": ranked,
                           "position": ranked.index(v.name) + 1 if v.name in ranked else None,
                           "excluded": {x: why for x, why, _ in c.excluded},
                           "mix": c.mix, "dropped": [k for k, _ in c.dropped],
                           "costs_ns": {rk.variant: rk.cost * 1e9 for rk in c.ranked}}
        break
    return doc


def exit_status(doc, fail_on_race=False):
    """The exit status of a trial (pagecore._errors): a safety failure of the
    file's variant (with @fail_on_race, of any variant verified) is
    EXIT_FOUND; an inconclusive cell there, with no failure, EXIT_INCONCLUSIVE."""
    from pagecore._errors import EXIT_FOUND, EXIT_INCONCLUSIVE, EXIT_OK

    gated = list(doc["safety"]) if fail_on_race else [doc["variant"]]
    cells = [doc["safety"].get(v, {"failures": {}, "inconclusive": []}) for v in gated]
    if any(c["failures"] for c in cells):
        return EXIT_FOUND
    if any(c["inconclusive"] for c in cells):
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def render(doc, out=sys.stdout):
    """The one screen of a trial."""
    from pagecore.verify.timeline import render_timeline

    w = out.write
    w("pagecore try %s (%s variant, sha256 %s) against %s: %.0f s\n\n" % (
        doc["variant"], doc["kind"], doc["sha256"][:12], ", ".join(doc["against"]),
        doc["seconds"]))
    w("Verdicts\n")
    for scen, modes in doc["verdicts"].items():
        parts = []
        for mode, cell in modes.items():
            if cell["failures"]:
                parts.append("%s: %s" % (mode, ", ".join(cell["failures"])))
            elif cell["inconclusive"]:
                parts.append("%s: inconclusive (%s)" % (mode, cell["inconclusive"]))
            elif mode == "explore" and cell.get("reach"):
                # what the search covered: every schedule, or the bounds it ran
                parts.append("explore: %s" % cell["reach"])
            elif not cell.get("complete", True):
                parts.append("%s: clean in %s schedules (the bound not exhausted: a larger "
                             "--budget runs more)" % (mode, format(cell["schedules"] or 0, ",")))
            else:
                parts.append("%s: clean" % mode)
        w("  %-22s %s\n" % (scen, "; ".join(parts)))
        unplaced = next((c["unplaced"] for c in modes.values() if c.get("unplaced")), None)
        if unplaced:
            w("  %-22s (no pagecore_window for %s: replay cannot pause there)\n"
              % ("", ", ".join(unplaced)))
    for scen, tl in doc["counterexamples"].items():
        w("\n  %s, shortest failing schedule (%s), one column per CPU:\n" % (scen, tl["setup"]))
        import shutil

        for line in render_timeline(tl, shutil.get_terminal_size((120, 24)).columns - 4):
            w("    %s\n" % line)
    w("\nLiveness: %s\n" % {"starved": "a slow waiter starves (its wait loops while writers "
                                      "keep the page under writeback)",
                           "live": "no slow waiter starves",
                           None: "not measured"}[doc["liveness"]])
    if doc["costs"]:
        w("\nCosts (ns per operation; ratio to each --against variant, 95% interval)\n")
        for c in doc["costs"]:
            w("  %-52s %8.2f vs %-13s %8.2f  x%.3f  %s\n" % (
                c["benchmark"], c["ns"], c["against"], c["against_ns"], c["ratio"] or 0,
                c["change"]))
    if doc["failed_suites"]:
        w("\nNot measured: %s (a suite failed: a hang is caught by its watchdog)\n"
          % ", ".join(doc["failed_suites"]))
    rk = doc.get("rank")
    if rk:
        w("\nRank in choose's default mix (%s):\n" % ", ".join(
            "%s %.2f" % (k, wt) for k, wt in rk["mix"].items()))
        for i, name in enumerate(rk["ranking"], 1):
            w("  %d. %-32s %8.2f ns%s\n" % (i, name, rk["costs_ns"][name],
                                            "   <- this file" if name == doc["variant"]
                                            else ""))
        for name, why in rk["excluded"].items():
            w("  -  %-32s excluded: %s%s\n" % (name, why, "   <- this file"
                                               if name == doc["variant"] else ""))
    w("\nResults: %s (try.json, verify.json, the suites' pyperf files)\n" % doc["results"])
