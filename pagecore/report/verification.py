"""The report's verification matrix: a table per kind of variant, a variant per row, a
scenario per column, the verdict and liveness; each cell's evidence folded under the tables,
every distinct story once with how often it was told; and the slow waiter's wait times."""

import re

from pagecore.report.formats import _fmt_count
from pagecore.report.html import Cell, Doc
from pagecore.report.results import _order_variants, _variant_kind
from pagecore.report.sections import _fig
from pagecore.report.verdicts import counts_lines, expected_scenarios, liveness, status, stories

# Lines of one story the Markdown keeps (the HTML page keeps them all).
MD_STORY_LINES = 4


def _section_matrix(doc, rs, table, d=None):
    from pagecore.verify.matrix import LIVENESS_SCENARIOS

    doc.heading(2, "Verification matrix", "verification")
    if not rs.has_verify:
        doc.para("No verify results were given (results/<machine>/verify.json, written by "
                 "`pagecore bench` or `pagecore verify --json FILE`): no variant can be called "
                 "correct, and the ranking below is by cost alone.", "warn")
        return
    doc.para("A variant passes when every result for it, in every mode (explore of every "
             "schedule up to a preemption bound, replay of the seeds' interleavings, random "
             "stress) and on every machine, has no failures. A cell gives the verdict, then "
             "how far it reached: explore's bound and schedules, replay's interleavings, "
             "stress's operations; replay and stress cross-check explore, and a cell where "
             "they disagree says so. Liveness is apart from the verdict: a variant whose slow "
             "waiter starved in writeback-starvation is `starved`, not racy. Every cell's "
             "evidence is under the tables: each story once, with how often it was told.")
    variants = _order_variants(set(table) | {v for v in rs.variants() if _variant_kind(v)})
    live_measured = any(s in LIVENESS_SCENARIOS for cells in table.values() for s in cells)
    folds = []      # (anchor, summary, Verdict list, timeline)
    for kind in ("writeback", "dirty", None):
        mine = [v for v in variants if _variant_kind(v) == kind]
        if not mine:
            continue
        scen = []
        for v in mine:
            for s in expected_scenarios(v, table):
                if s not in scen and s not in LIVENESS_SCENARIOS:
                    scen.append(s)
        live = live_measured and kind == "writeback"
        rows = []
        for v in mine:
            row = [v]
            for s in scen:
                vd = table.get(v, {}).get(s)
                if vd is None:
                    row.append(Cell("not run", "unverified")
                               if s in expected_scenarios(v, table) else "n/a")
                    continue
                cell, tl = _cell(vd)
                cell.link = _anchor(v, s)
                folds.append((cell.link, f"{v} / {s}: {cell.text}", [vd], tl, cell.cls))
                row.append(cell)
            state, _ = status(rs, v, table)
            row.append(Cell(state, state))
            if live:
                row.append(_liveness_cell(rs, v, table, folds))
            rows.append(row)
        headers = ["variant"] + scen + ["verdict"] + (["liveness"] if live else [])
        doc.table(headers, rows, ["left"] + ["wrap"] * (len(headers) - 1),
                  caption=f"{kind or 'other'} variants", cls="matrix")
    if live_measured and d is not None:
        _wait_time_figure(doc, table, d)
    _evidence(doc, folds)


def _anchor(variant, scenario):
    return "ev-" + re.sub(r"[^a-z0-9]+", "-", f"{variant}-{scenario}".lower()).strip("-")


def _short_reach(r):
    """How far an explore row reached, in a few words."""
    c = r.get("counts") or {}
    k = r.get("preemptions")
    n = c.get("schedules")
    bound = f"≤{k} preemption{'' if k == 1 else 's'}" if isinstance(k, int) else "explore"
    if r.get("failures"):
        sh = (r.get("counterexample") or {})
        return (f"explore {bound}: shortest failing schedule {sh.get('preemptions', '?')} "
                f"preemption{'' if sh.get('preemptions') == 1 else 's'}, "
                f"{sh.get('steps', '?')} steps")
    if r.get("inconclusive"):
        return f"explore {bound}: {r['inconclusive']}"
    if r.get("coverage") and not isinstance(k, int):
        return f"explore: {r['coverage']}"
    done = "all" if r.get("complete", True) else "stopped after"
    return f"explore {bound}: {done} {_fmt_count(n)} schedules" if n is not None else bound


def _mode_reach(r):
    c = r.get("counts") or {}
    if r.get("mode") == "replay" and "runs" in c:
        return f"replay: {_fmt_count(c['runs'])} interleavings"
    if r.get("mode") == "stress" and "ops" in c:
        return f"stress: {_fmt_count(int(c['ops']))} ops"
    return str(r.get("mode", "?"))


def _cell(vd):
    """A matrix cell: the verdict on its first line, its reach on the second; and the
    shortest failing schedule, if explore found one (drawn in the cell's evidence)."""
    ex = [r for _, r in vd.rows if r.get("mode") == "explore"]
    others = [r for _, r in vd.rows if r.get("mode") != "explore"]
    best = min((r for r in ex if r.get("counterexample")),
               key=lambda r: (r["counterexample"].get("preemptions", 0),
                              r["counterexample"].get("steps", 0)), default=None)
    tl = best["counterexample"] if best else None
    if ex and all(r.get("inconclusive") and not r.get("failures") for r in ex):
        # explore ran nothing to judge by (its budget ended first): it neither agrees nor
        # disagrees; the cell says what replay and stress found, or that nothing decided
        ot_f = sorted({f for r in others for f in r.get("failures") or []})
        reach = "; ".join(dict.fromkeys([_short_reach(r) for r in ex]
                                        + [_mode_reach(r) for r in others]))
        if ot_f:
            return Cell("racy: " + ", ".join(ot_f), "racy", sub=reach), tl
        return Cell("inconclusive", "unverified", sub=reach), tl
    if ex:
        ex_f = sorted({f for r in ex for f in r.get("failures") or []})
        ot_f = sorted({f for r in others for f in r.get("failures") or []})
        modes = sorted({str(r.get("mode")) for r in others})
        reach = "; ".join(dict.fromkeys(_short_reach(r) for r in ex))
        cls = "racy" if ex_f or ot_f else "clean"
        if others and ex_f != ot_f:
            text = "disagree: explore {}; {} {}".format(
                ", ".join(ex_f) or "clean", "/".join(modes), ", ".join(ot_f) or "clean")
            return Cell(text, cls + " disagree", sub=reach), tl
        text = "racy: " + ", ".join(ex_f) if ex_f else "clean"
        if modes:
            reach += "; {} agree{}".format(", ".join(modes), "s" if len(modes) == 1 else "")
        return Cell(text, cls, sub=reach), tl
    reach = "; ".join(dict.fromkeys(_mode_reach(r) for _, r in vd.rows))
    if vd.failures:
        return Cell("racy: " + ", ".join(vd.failures), "racy", sub=reach), tl
    if vd.inconclusive:
        return Cell("inconclusive", "unverified", sub="; ".join(vd.inconclusive)), tl
    return Cell("clean", "clean", sub=reach), tl


def _liveness_cell(rs, variant, table, folds):
    from pagecore.verify.matrix import LIVENESS_SCENARIOS

    state, why = liveness(rs, variant, table)
    if state == "unmeasured":
        return Cell("not run", "unverified") if _variant_kind(variant) == "writeback" else "n/a"
    vds = [table[variant][s] for s in LIVENESS_SCENARIOS if s in table.get(variant, {})]
    nums = [lv for vd in vds for _, lv in vd.liveness]
    sub = ""
    if nums:
        lv = max(nums, key=lambda x: x.get("wait_p99_ms") or 0)
        sub = "{} re-sleeps, p99 {} ms".format(
            _fmt_count(int(lv.get("resleeps", 0))),
            "–" if lv.get("wait_p99_ms") is None else "%.3g" % lv["wait_p99_ms"])
    link = _anchor(variant, "liveness")
    folds.append((link, f"{variant} / liveness: {state}", vds, None, state, why))
    return Cell(state, state, sub=sub, link=link)


def _evidence(doc, folds):
    """Each cell's evidence, folded: its counts, every distinct story once with its count,
    the shortest failing schedule as a timeline.  Markdown keeps the failing cells' stories,
    each cut to its first lines; the HTML page and the results' JSON keep everything."""
    if not folds:
        return
    doc.heading(3, "Evidence", "evidence")
    order = {"racy": 0, "unverified": 1, "starved": 2}
    folds = sorted(folds, key=lambda f: order.get(f[4].split()[0] if f[4] else "", 3))
    lines = []
    quiet = Doc("")     # the clean and live cells, in one fold of their own
    for fold in folds:
        anchor, summary, vds, tl, cls = fold[:5]
        inner = Doc("")
        inner.bullets(([fold[5]] if len(fold) > 5 else [])
                      + [x for vd in vds for x in counts_lines(vd)])
        inner.stories([st for vd in vds for st in stories(vd)])
        if tl:
            inner.timeline(tl)
        loud = cls.split()[0] not in ("clean", "live") or "disagree" in cls
        (doc if loud else quiet).details(summary, inner, anchor=anchor, brief=Doc(""))
        if cls.split()[0] in ("racy", "unverified") or "disagree" in cls:
            lines.append(summary)
            for vd in vds:
                for chunk, count, _ in stories(vd)[:3]:
                    text = " / ".join(chunk[:MD_STORY_LINES])
                    if len(chunk) > MD_STORY_LINES:
                        text += " / ..."
                    lines.append("  - " + text + (f" (x{count})" if count > 1 else ""))
    if quiet.blocks:
        doc.details(f"The {len(quiet.blocks)} clean and live cells", quiet, brief=Doc(""))
    brief = Doc("")
    brief.para("Every cell's evidence is folded under the matrix in report.html (each story "
               "once with how often it was told, and the shortest failing schedule drawn); "
               "the results' verify.json holds all of it. Here, the failing cells' stories, "
               "each cut to its first lines:" if lines else
               "Every cell's evidence is folded under the matrix in report.html.")
    if lines:
        brief.pre("\n".join(lines))
    doc.markdown_only(brief)


def _wait_time_figure(doc, table, d):
    from pagecore.report import plots
    from pagecore.verify.matrix import LIVENESS_SCENARIOS

    series, params = [], None
    for v in _order_variants(set(table)):
        ms, starved = [], False
        for s in LIVENESS_SCENARIOS:
            vd = table.get(v, {}).get(s)
            if vd is None:
                continue
            starved = starved or vd.starved
            for _, lv in vd.liveness:
                ms.extend(x for x in lv.get("wait_ms") or [] if isinstance(x, (int, float))
                          and x > 0)
                params = params or lv
        if ms:
            series.append((v, ms, starved))
    if not series:
        return
    what = ("{} writer(s), I/O {} us each, the waiter throttled to run every {} us".format(
        params.get("writers", "?"), params.get("io_us", "?"), params.get("throttle_us", "?"))
        if params else "")
    run_s = params.get("seconds") if params else None
    cut = (" The writers ran for {:g} s: a wait still going when they stopped ends there, so "
           "the waits at the dashed line are as long as the run, not as long as they would "
           "have been.".format(run_s) if isinstance(run_s, (int, float)) else "")
    _fig(doc, d, "fig-wait-times.png", "writeback-starvation: the slow waiter's wait times",
         "Each wait_on_page_writeback() of the slow waiter in writeback-starvation ({}). A "
         "wait that loops is woken again and again only to find the page under writeback "
         "once more, and lasts until the writers stop; one that waits with an `if` returns "
         "after its first wake.{}".format(what, cut),
         plots.wait_times, "Slow waiter: wait time per variant", series,
         bound_ms=params.get("bound_ms") if params else None,
         run_ms=run_s * 1000 if isinstance(run_s, (int, float)) else None)
