"""The report's verification matrix: a variant per row, a scenario per column, the verdict
and liveness, each cell with its evidence; and the slow waiter's wait times."""

from pagecore.report.formats import _fmt_count
from pagecore.report.html import Cell
from pagecore.report.results import _order_variants, _variant_kind
from pagecore.report.sections import _fig
from pagecore.report.verdicts import evidence_lines, expected_scenarios, liveness, status


def _section_matrix(doc, rs, table, d=None):
    from pagecore.verify.matrix import LIVENESS_SCENARIOS

    doc.heading(2, "Verification matrix", "verification")
    if not rs.has_verify:
        doc.para("No verify results were given (results/<machine>/verify.json, written by "
                 "`pagecore verify --json FILE`): no variant can be called correct, and the "
                 "ranking below is by cost alone.", "warn")
        return
    doc.para("A variant passes when every result for it, in every mode (replay of the "
             "seeds' interleavings, random stress, explore of every schedule up to a "
             "preemption bound) and on every machine, has no failures. Where explore ran, a "
             "cell states its verdict and its reach, replay and stress are cross-checks, and "
             "a cell where they disagree with explore says so. Open a cell's evidence for "
             "the counts, the story of the failure and its shortest schedule drawn as a "
             "timeline, one column per CPU. Liveness is apart from the verdict: a variant "
             "whose slow waiter starved in writeback-starvation (it waited past the bound "
             "while the writers went on) is `starved`, not racy.")
    scen = []
    for v in table:
        for s in expected_scenarios(v, table):
            if s not in scen and s not in LIVENESS_SCENARIOS:
                scen.append(s)
    live_measured = any(s in LIVENESS_SCENARIOS for cells in table.values() for s in cells)
    variants = _order_variants(set(table) | {v for v in rs.variants() if _variant_kind(v)})
    rows = []
    for v in variants:
        row = [v, _variant_kind(v) or "?"]
        exp = expected_scenarios(v, table)
        for s in scen:
            vd = table.get(v, {}).get(s)
            if vd is None:
                row.append(Cell("not run", "unverified") if s in exp else "n/a")
            elif any(r.get("mode") == "explore" for _, r in vd.rows):
                row.append(_explore_cell(vd))
            elif vd.failures:
                row.append(Cell("racy: {} ({})".format(", ".join(vd.failures), ", ".join(vd.modes)),
                                "racy", tuple(evidence_lines(vd))))
            elif vd.inconclusive:
                row.append(Cell("inconclusive ({})".format(", ".join(vd.modes)), "unverified",
                                tuple(evidence_lines(vd))))
            else:
                row.append(Cell("clean ({}; {} ops)".format(", ".join(vd.modes),
                                                        _fmt_count(int(vd.ops))),
                                "clean", tuple(evidence_lines(vd))))
        state, _ = status(rs, v, table)
        row.append(Cell(state, state))
        if live_measured:
            row.append(_liveness_cell(rs, v, table))
        rows.append(row)
    doc.table(["variant", "kind"] + scen + ["verdict"] + (["liveness"] if live_measured else []),
              rows)
    if live_measured and d is not None:
        _wait_time_figure(doc, table, d)


def _liveness_cell(rs, variant, table):
    from pagecore.verify.matrix import LIVENESS_SCENARIOS

    state, why = liveness(rs, variant, table)
    if state == "unmeasured":
        return Cell("not run", "unverified") if _variant_kind(variant) == "writeback" else "n/a"
    lines = []
    for s in LIVENESS_SCENARIOS:
        vd = table.get(variant, {}).get(s)
        if vd is not None:
            lines.extend(evidence_lines(vd))
    nums = [lv for s in LIVENESS_SCENARIOS if s in table.get(variant, {})
            for _, lv in table[variant][s].liveness]
    text = state
    if nums:
        lv = max(nums, key=lambda x: x.get("wait_p99_ms") or 0)
        text += " ({} re-sleeps, p99 {} ms)".format(
            _fmt_count(int(lv.get("resleeps", 0))),
            "–" if lv.get("wait_p99_ms") is None else "%.3g" % lv["wait_p99_ms"])
    return Cell(text, state, tuple([why] + lines))


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
    _fig(doc, d, "fig-wait-times.png", "writeback-starvation: the slow waiter's wait times",
         "Each wait_on_page_writeback() of the slow waiter in writeback-starvation ({}). A "
         "wait that loops is woken again and again only to find the page under writeback "
         "once more, and lasts until the writers stop; one that waits with an `if` returns "
         "after its first wake.".format(what),
         plots.wait_times, "Slow waiter: wait time per variant", series,
         bound_ms=params.get("bound_ms") if params else None)


def _explore_cell(vd):
    """A matrix cell resting on explore: its verdict and reach, and whether the
    other modes (cross-checks) found the same failures."""
    from pagecore.report.html import Cell

    ex = [r for _, r in vd.rows if r.get("mode") == "explore"]
    others = [r for _, r in vd.rows if r.get("mode") != "explore"]
    ex_f = sorted({f for r in ex for f in r.get("failures") or []})
    ot_f = sorted({f for r in others for f in r.get("failures") or []})
    best = min((r for r in ex if r.get("counterexample")),
               key=lambda r: (r["counterexample"].get("preemptions", 0),
                              r["counterexample"].get("steps", 0)), default=None)
    reach = "; ".join(str(r.get("reach")) for r in ex if r.get("reach")) or "explore"
    modes = sorted({str(r.get("mode")) for r in others})
    cls = "racy" if ex_f or ot_f else "clean"
    if others and ex_f != ot_f:
        text = "disagree: explore {}; {} {}".format(
            ", ".join(ex_f) or "clean", "/".join(modes), ", ".join(ot_f) or "clean")
        cls += " disagree"
    else:
        text = reach + ("; {} agree{}".format(", ".join(modes), "s" if len(modes) == 1 else "")
                        if modes else "")
    return Cell(text, cls, tuple(evidence_lines(vd)),
                best["counterexample"] if best else None)
