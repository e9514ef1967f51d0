"""The report itself: report.md, report.html and the figures, section by section."""

import os
import re
import shutil

from pagecore._errors import PagecoreError
from pagecore.report.choose import (
    DEFAULT_MIX,
    _kind_of_key,
    check_mix,
    choose,
    load_weights_file,
    make_mix,
    ranking_table,
    reasoning,
)
from pagecore.report.formats import _fmt_count, _ns, fmt_cost, fmt_events, fmt_ns, fmt_slope
from pagecore.report.html import Cell, Doc
from pagecore.report.results import (
    DEFAULT_BASELINE,
    FLOOR_BASELINE,
    SUITES,
    _num,
    _order_variants,
    _variant_kind,
    load_results,
)
from pagecore.report.stats import change, linfit
from pagecore.report.verdicts import (
    evidence_lines,
    expected_scenarios,
    liveness,
    status,
    verdicts,
)


def default_name(rs):
    name = "+".join(rs.machines)
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name)
    return name if 0 < len(name) <= 60 else "latest"


def check_baseline(rs, baseline):
    from pagecore.model.variants import get_variant

    get_variant(baseline)
    if not any(r.variant == baseline for r in rs.results()):
        raise PagecoreError(f"baseline variant {baseline!r} has no results "
                            f"(measured: {', '.join(rs.variants())})")


def write_report(results_paths=None, outdir="reports", name=None, baseline="original",
                 weights=None, exclude_starving=False):
    """Write <outdir>/<name>/report.md, report.html and the PNGs; return report.html's path.

    weights: None for DEFAULT_MIX, a dict of key -> weight, or the path of a TOML file.
    exclude_starving: rank only the fixes that neither race nor starve.
    """
    rs = load_results(results_paths)
    check_baseline(rs, baseline)
    if isinstance(weights, (str, os.PathLike)):
        weights = load_weights_file(weights)
    mix = make_mix(weights)
    check_mix(rs, mix, list(weights or ()))
    return _write(rs, outdir, name or default_name(rs), baseline, mix,
                  exclude_starving=exclude_starving)


def check_name(name):
    """A report name is one directory under the output directory, nothing else."""
    if (not isinstance(name, str) or not name.strip() or name in (".", "..") or "/" in name
            or os.sep in name or (os.altsep and os.altsep in name) or "\0" in name
            or len(name.encode("utf-8", "surrogateescape")) > 255):
        raise PagecoreError(f"--name {name!r}: must be one directory name (no '/', not '.' "
                            "or '..', at most 255 bytes)")
    return name


def _write(rs, outdir, name, baseline, mix, exclude_starving=False):
    from pagecore.report.html import render_html, render_markdown

    d = os.path.join(outdir, check_name(name))
    # the topmost directory this call creates (-o included), removed again on failure
    created = None
    p = os.path.abspath(d)
    while not os.path.exists(p):
        created, p = p, os.path.dirname(p)
    try:
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("fig-") and f.endswith(".png"):
                os.remove(os.path.join(d, f))   # plots of an earlier report in the same place
    except OSError as e:
        raise PagecoreError(f"{d}: cannot write: {e.strerror}") from None
    try:
        doc = build(rs, d, baseline, mix, exclude_starving=exclude_starving)
        md, page = os.path.join(d, "report.md"), os.path.join(d, "report.html")
        for path, text in ((md, render_markdown(doc)), (page, render_html(doc, d))):
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
    except BaseException:
        # no half-written report, and no directory this call made and did not fill
        for f in ("report.md.tmp", "report.html.tmp"):
            if os.path.exists(os.path.join(d, f)):
                os.remove(os.path.join(d, f))
        if created:
            shutil.rmtree(created, ignore_errors=True)
        raise
    return page


_TERM_NOTES = {
    "hotpath/end_page_writeback_no_waiters": "nobody waits: the common case",
    "hotpath/wait_on_page_writeback_clear": "fsync/truncate finding writeback done",
    "hotpath/end_page_writeback_sleeping_waiter": "a waiter to wake",
    "hashchain/end_page_writeback/bits=8/chain=4": "the wake walks a shared bucket",
    "hashchain/end_page_writeback/bits=8/chain=4/entries=cold":
        "a waiter to wake, behind the other sleeping tasks' entries in its bucket",
    "hotpath/unlock_page_no_waiters": "write_cache_pages unlocking each page it started",
    "dirty/cpdfio_writepage/state=unmapped": "writepage of an unmapped page",
    "dirty/cpdfio_writepage/state=mapped_clean": "mapped, PTEs clean",
    "dirty/cpdfio_writepage/state=mapped_dirty": "mapped, written through a PTE",
}


_SUITE_TITLES = {
    "floor": ("Floor: pagecore's primitives against plain C",
              ("The same primitive timed by pagecore and by an independent plain C program in "
              "the same run. The change column is pagecore against plain C: a large gap means "
              "the model's own overhead would blur the differences between variants.")),
    "hotpath": ("Hot path: one operation, one thread",
                ("Uncontended cost of each operation per variant. This is where the fixes "
                "differ most often: an extra get/put pair is two atomics on every "
                "end_page_writeback.")),
    "contention": ("Contention: throughput against threads",
                   ("Values are time per operation per thread; throughput is threads / time. "
                   "`shared` runs every thread on one page (one cache line, one bucket), "
                   "`distinct` gives each thread its own page.")),
    "hashchain": ("Hash chains: the cost of sharing a wait-table bucket",
                  ("Each point wakes one page whose bucket also holds `chain` waiters for other "
                  "pages. The slope of the fit is the cost per colliding entry; past 64 "
                  "entries the walk parks a bookmark and drops the bucket lock (kernels "
                  "4.14 to 6.6; folio-6.7 has no bookmarks).")),
    "dirty": ("Dirty path: clear_page_dirty_for_io",
              ("writepage of a page in each state; the fix re-dirties the page when "
              "page_mkclean found a dirty PTE, so it costs more only in `mapped_dirty`.")),
}


def _index(rs, suite, where=None):
    """[((case, params), [variants])] in a reading order, and (machine, case, params, variant)
    -> Result.  Cases and non-numeric parameter values keep the order the suite wrote them
    in (unmapped, mapped_clean, mapped_dirty); numeric values sort as numbers."""
    seen, groups, look = {}, {}, {}
    for r in rs.results(suite):
        if where is not None and not where(r):
            continue
        for x in (r.case,) + r.params:
            seen.setdefault(x, len(seen))
        groups.setdefault((r.case, r.params), set()).add(r.variant)
        look[(r.machine, r.case, r.params, r.variant)] = r

    def order(kv):
        v = _num(kv[1])
        return (kv[0], 0, v) if isinstance(v, (int, float)) else (kv[0], 1, seen[kv])

    keys = sorted(groups, key=lambda k: (seen[k[0]], [order(kv) for kv in k[1]]))
    return [(k, _order_variants(groups[k])) for k in keys], look


def _suite_baseline(suite, baseline):
    if suite == "floor":
        return FLOOR_BASELINE
    kind = "dirty" if suite == "dirty" else "writeback"
    return baseline if _variant_kind(baseline) == kind else DEFAULT_BASELINE[kind]


def _machines_in(look):
    return list(dict.fromkeys(k[0] for k in look))


def _mcol(m, machines, what):
    return f"{m} {what}" if len(machines) > 1 else what


def _vlabel(v, racy):
    return v + " (racy)" if v in racy else v


def _cost_table(doc, rs, suite, base, racy, where=None):

    groups, look = _index(rs, suite, where)
    machines = _machines_in(look)
    has_params = any(k[1] for k, _ in groups)
    headers = ["case"] + (["params"] if has_params else []) + ["variant"]
    for m in machines:
        headers += [_mcol(m, machines, "ns/op ±sd"), _mcol(m, machines, "%change")]
    headers.append("events/op")
    align = ["left"] * (len(headers) - 2 * len(machines) - 1) + ["right"] * 2 * len(machines)
    align.append("wrap")
    rows = []
    for (case, params), variants in groups:
        for i, v in enumerate(variants):
            row = [case if i == 0 else ""]
            if has_params:
                row.append(" ".join("{}={}".format(*kv) for kv in params) if i == 0 else "")
            row.append(_vlabel(v, racy))
            ev = None
            for m in machines:
                r, b = look.get((m, case, params, v)), look.get((m, case, params, base))
                if r is None:
                    row += ["–", ""]
                    continue
                ev = ev or r.events
                row.append(fmt_cost(r))
                if v == base:
                    row.append("baseline")
                elif b is None:
                    row.append("")
                else:
                    ch = change(b, r, same_source=r.impl is not None and r.impl == b.impl)
                    row.append(Cell(ch.text(), ch.css()))
            row.append(fmt_events(ev))
            rows.append(row)
    doc.table(headers, rows, align)


def _bar_panels(rs, suite, where=None):
    groups, look = _index(rs, suite, where)
    machines = _machines_in(look)
    panels = []
    one_case = len({case for (case, _), _ in groups}) == 1
    for (case, params), variants in groups:
        # with a single case the panels differ only by parameter: name just that
        title = ", ".join(([] if one_case and params else [case])
                          + ["{}={}".format(*kv) for kv in params])
        rows = []
        for v in variants:
            data = {}
            for m in machines:
                r = look.get((m, case, params, v))
                if r is not None:
                    data[m] = (r.mean * 1e9, r.ci * 1e9)
            rows.append((v, data))
        panels.append((title, rows))
    return panels, machines


def _fig(doc, d, fname, alt, caption, fn, *args, **kw):
    path = os.path.join(d, fname)
    fn(path, *args, **kw)
    doc.image(fname, alt, caption)


def _section_bars(doc, rs, d, suite, baseline, racy, ncols):
    from pagecore.report import plots

    base = _suite_baseline(suite, baseline)
    title, intro = _SUITE_TITLES.get(suite, (suite, ""))
    doc.heading(2, title, suite)
    if intro:
        doc.para(intro)
    doc.para(f"Change is against `{base}`.")
    _cost_table(doc, rs, suite, base, racy)
    panels, machines = _bar_panels(rs, suite)
    _fig(doc, d, f"fig-{suite}.png", f"{suite}: cost per variant",
         "Cost per variant, bars are means, whiskers 95% confidence intervals over runs; "
         "hatched bars fail verification.", plots.cost_bars, title, panels, machines,
         racy=racy, baseline=base, ncols=ncols)


def _section_contention(doc, rs, d, baseline, racy):
    from pagecore.report import plots

    base = _suite_baseline("contention", baseline)
    title, intro = _SUITE_TITLES["contention"]
    doc.heading(2, title, "contention")
    doc.para(intro)
    tgroups, look = _index(rs, "contention", lambda r: r.param("threads") is not None)
    machines = _machines_in(look)
    series = {}   # (machine, case) -> variant -> {threads: Result}
    for (m, case, _, v), r in look.items():
        series.setdefault((m, case), {}).setdefault(v, {})[r.param("threads")] = r
    at = {}
    for m in machines:
        ts = sorted({t for (mm, _), per in series.items() if mm == m
                     for pts in per.values() for t in pts})
        nproc = rs.machines[m].meta.get("cpu_count")
        under = [t for t in ts if nproc is None or t <= nproc]
        at[m] = max(under or ts)
    headers, align = ["case", "variant"], ["left", "left"]
    for m in machines:
        headers += [_mcol(m, machines, "1 thread"), _mcol(m, machines, f"{at[m]} threads"),
                    _mcol(m, machines, f"scaling at {at[m]}"),
                    _mcol(m, machines, f"%change at {at[m]}")]
        align += ["right"] * 4
    rows = []
    cases = list(dict.fromkeys(k[0] for k, _ in tgroups))
    for case in cases:
        variants = _order_variants({v for (m, c), per in series.items() if c == case
                                    for v in per})
        for i, v in enumerate(variants):
            row = [case if i == 0 else "", _vlabel(v, racy)]
            for m in machines:
                pts = series.get((m, case), {}).get(v, {})
                one, top = pts.get(1), pts.get(at[m])
                bpts = series.get((m, case), {}).get(base, {})
                row.append("%.2f" % (1 / one.mean / 1e6) if one else "–")
                row.append("%.2f" % (at[m] / top.mean / 1e6) if top else "–")
                row.append("%.0f%%" % (one.mean / top.mean * 100) if one and top else "–")
                if v == base:
                    row.append("baseline")
                elif top and bpts.get(at[m]):
                    ch = change(bpts[at[m]], top)
                    row.append(Cell(ch.text(), ch.css()))
                else:
                    row.append("")
            rows.append(row)
    doc.table(headers, rows, align, caption="Total throughput in Mops/s at 1 and at N threads "
              "(N = nproc, or the most threads run below it). Scaling is throughput at N "
              "threads over N times "
              "the 1-thread throughput (100% = linear). %change is the per-operation cost at "
              f"N threads against `{base}`.")
    panels = []
    for (m, case), per in series.items():
        s = {}
        for v in _order_variants(per):
            s[v] = [(t, t / r.mean / 1e6, t / r.mean / 1e6 * r.ci / r.mean)
                    for t, r in sorted(per[v].items())]
        panels.append((f"{m}: {case}" if len(machines) > 1 else case, s,
                       rs.machines[m].meta.get("cpu_count")))
    _fig(doc, d, "fig-contention.png", "throughput against threads",
         "Total throughput against threads (error bars: 95% CI); the dashed line is linear "
         "scaling from the best 1-thread throughput; past nproc threads share cores.",
         plots.scaling, title, panels, racy=racy)
    full = Doc("")
    _cost_table(full, rs, "contention", base, racy)
    doc.details("All contention measurements (ns per operation per thread)", full)


def _series(look, m, case):
    """{(other params): {variant: {chain: Result}}} of one case on one machine."""
    out = {}
    for (mm, c, params, v), r in look.items():
        p = dict(params)
        if mm == m and c == case and "chain" in p:
            rest = tuple(kv for kv in params if kv[0] != "chain")
            out.setdefault(rest, {}).setdefault(v, {})[_num(p["chain"])] = r
    return out


# wake-under-i_pages: the i_pages hold time a developer should not accept
IPAGES_HOLD_LIMIT_NS = 10_000


def _bookmark_step(pts, fit):
    """The cost of the entry that parks the first bookmark, beyond the slope: the waiter is
    the chain + 1st entry walked, so chain 63 -> 64 crosses WAITQUEUE_WALK_BREAK_CNT."""
    for lo in (63, 64):
        if lo in pts and lo + 1 in pts:
            return (pts[lo + 1].mean - pts[lo].mean) * 1e9 - fit.slope
    return None


def _section_hashchain(doc, rs, d, baseline, racy):
    from pagecore.report import plots

    base = _suite_baseline("hashchain", baseline)
    title, intro = _SUITE_TITLES["hashchain"]
    doc.heading(2, title, "hashchain")
    doc.para(intro)
    groups, look = _index(rs, "hashchain", lambda r: r.param("chain") is not None)
    machines = _machines_in(look)
    cases = list(dict.fromkeys(k[0] for k, _ in groups))
    for case in cases:
        what = ("i_pages lock hold time" if case == "ipages_hold" else "cost of " + case)
        doc.heading(3, f"{what} against chain length", "hashchain-" + case)
        headers, align = ["params", "variant"], ["left", "left"]
        for m in machines:
            headers += [_mcol(m, machines, "ns/entry [95% CI]"), _mcol(m, machines, "ns at 0"),
                        _mcol(m, machines, "ns at max"), _mcol(m, machines, "bookmark step")]
            align += ["right"] * 4
        rows, panels, fitted, notes = [], [], {}, []
        keys = []
        for m in machines:
            for rest, per in _series(look, m, case).items():
                if rest not in keys:
                    keys.append(rest)
                s, f = {}, {}
                for v in _order_variants(per):
                    pts = sorted(per[v].items())
                    s[v] = [(c, r.mean * 1e9, r.ci * 1e9) for c, r in pts]
                    fit = linfit([c for c, _ in pts], [r.mean * 1e9 for _, r in pts])
                    f[v] = (fit.slope, fit.intercept, fit.slope_se)
                    fitted[(m, rest, v)] = (fit, per[v])
                    if case == "ipages_hold":
                        at = fit.solve(IPAGES_HOLD_LIMIT_NS)
                        label = ", ".join("{}={}".format(*kv) for kv in rest)
                        notes.append(
                            f"{m}: {v} ({label}) holds the i_pages lock longer than "
                            f"{IPAGES_HOLD_LIMIT_NS / 1000:g} µs from a chain of "
                            + (f"about {at:,.0f} entries (fit: {fit.intercept:,.0f} ns + "
                               f"{fit.slope:.2f} ±{fit.slope_ci:.2f} ns per entry)."
                               if at is not None and at > 0 else
                               "no length: the fitted hold time does not grow."))
                where = f"{m}: " if len(machines) > 1 else ""
                panels.append((where + ", ".join([case] + ["{}={}".format(*kv) for kv in rest]),
                               s, f))
        for rest in keys:
            variants = _order_variants({k[2] for k in fitted if k[1] == rest})
            for i, v in enumerate(variants):
                row = [" ".join("{}={}".format(*kv) for kv in rest) if i == 0 else "",
                       _vlabel(v, racy)]
                for m in machines:
                    if (m, rest, v) not in fitted:
                        row += ["–"] * 4
                        continue
                    fit, pts = fitted[(m, rest, v)]
                    row.append(fmt_slope(fit.slope, fit.slope_ci))
                    row.append(fmt_ns(pts[min(pts)].mean))
                    row.append(fmt_ns(pts[max(pts)].mean))
                    step = _bookmark_step(pts, fit)
                    row.append(f"{step:+.1f}" if step is not None else "–")
                rows.append(row)
        doc.table(headers, rows, align, caption="ns/entry is the slope of a least-squares line "
                  "through every chain length (scipy.stats.linregress), ± the half-width of "
                  "its 95% interval; the bookmark step is the cost of the entry that parks the "
                  "first bookmark (the 65th walked) beyond the slope. `entries=cold`: every "
                  "colliding entry evicted from the caches before each operation.")
        if notes:
            doc.bullets(notes)
        _fig(doc, d, f"fig-hashchain-{case}.png", what + " against chain length",
             "Log-log; points are means with 95% CI, lines the least-squares fit whose slope "
             "(ns per colliding entry, ± 95% interval) is in the legend. The dotted line "
             "marks the 64-entry bookmark boundary.",
             plots.hashchain, what.capitalize() + " against hash-chain length", panels,
             racy=racy, ylabel="ns/op" if case != "ipages_hold" else "ns held")
    full = Doc("")
    _cost_table(full, rs, "hashchain", base, racy)
    doc.details("All hash-chain measurements", full)


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


def _section_choosing(doc, rs, choices, mix, table, baseline):

    doc.heading(2, "Choosing a fix", "choosing")
    doc.para("Each operation of the workload mix gets a weight (its relative frequency); a "
             "variant's weighted cost is the sum of weight × cost, in ns per operation of the "
             "mix. Only variants that pass every verification scenario are ranked, in the "
             "order of their paired difference against the baseline: per worker process, the "
             "weighted cost of the variant less that of the baseline measured in the same "
             "process, with a 95% t interval over processes. Neighbours whose paired "
             "difference has an interval that includes zero are a tie (`~`); `*` marks a "
             "significant gap; `=` marks variants that run identical source in every term. "
             "The flip point moves one weight, the others fixed, to where two neighbours cost "
             "the same.")
    doc.table(["term (benchmark without variant)", "weight", "ranks", "what it stands for"],
              [[k, f"{w:g}", _kind_of_key(k), _TERM_NOTES.get(k, "")]
               for k, w in mix.items()], ["left", "right", "left", "wrap"],
              caption="The mix%s. Change it with `--weights FILE` (TOML) or `--weight KEY=W`."
              % (" (the default)" if mix == DEFAULT_MIX else " (given on the command line)"))
    for c in choices:
        doc.heading(3, f"{c.machine}: {c.kind} fixes", f"choose-{c.machine}-{c.kind}")
        for k, why in c.dropped:
            doc.para(f"Dropped from the mix: `{k}` ({why}).")
        if not c.verified:
            doc.para("No verification results: these variants are ranked by cost only and "
                     "may be racy.", "warn")
        if c.ranked:
            headers, rows = ranking_table(c)
            doc.table(headers, rows, ["right", "left", "right", "right", "right", "right",
                                      "left"])
        doc.bullets(reasoning(c, table))
        every = c.ranked + [rk for _, _, rk in c.excluded if rk is not None]
        if every:
            terms = list(c.mix)
            rows = []
            for rk in every:
                rows.append([_vlabel(rk.variant, {x for x, _, _ in c.excluded})]
                            + [fmt_ns(rk.parts[k][1].mean) for k in terms]
                            + [fmt_ns(rk.cost)])
            brk = Doc("")
            brk.table(["variant"] + [f"{k} (w {c.mix[k]:g})" for k in terms]
                      + ["weighted"], rows, ["left"] + ["right"] * (len(terms) + 1),
                      caption="ns/op per term; weighted = Σ w × cost.")
            doc.details("Term by term: where each variant's cost comes from", brk)


def _answer(doc, rs, choices, table):
    doc.heading(2, "Answer", "answer")
    for c in choices:
        doc.para(_answer_line(c), "answer")
    if not rs.has_verify:
        doc.para("No verification results were given: the variants above are ranked by cost "
                 "alone and may be racy.", "warn")
        return
    # how sure: which machines and modes the verdicts rest on, and what they rule out
    where = ", ".join(m.name for m in rs.machines.values() if m.verify)
    modes = sorted({str(r.get("mode", "?")) for _, r in rs.verify_rows()})
    racy = [v for v in _order_variants(table) if status(rs, v, table)[0] == "racy"]
    doc.para(f"Correctness rests on the verify results from {where} ({', '.join(modes)}): "
             f"{len(table)} variants checked, racy and so excluded: "
             f"{', '.join(racy) or 'none'}. Costs are means over pyperf runs; ± is a 95% "
             "confidence interval.")
    starving = [v for v in _order_variants(table) if liveness(rs, v, table)[0] == "starved"]
    if starving:
        doc.para("Liveness, apart from correctness: a slow waiter starved in "
                 f"writeback-starvation with {', '.join(starving)} (their waits loop). "
                 "`pagecore choose --exclude-starving` (or `report --exclude-starving`) ranks "
                 "only fixes that neither race nor starve.")


def _answer_line(c):
    if not c.mix:
        return f"On **{c.machine}** no term of the {c.kind} mix was measured."
    if not c.ranked:
        return (f"On **{c.machine}** no {c.kind} variant passes every verification scenario: "
                "nothing to recommend.")
    which = "correct" if c.verified else "(unverified)"
    tied = c.tied_with_leader()
    best = c.ranked[0]
    if len(tied) > 1:
        s = (f"On **{c.machine}** the cheapest {which} {c.kind} fixes are a **tie**: "
             + ", ".join(f"**{rk.variant}** ({_ns(rk.cost)})" for rk in tied)
             + " per operation of the mix; the paired 95% interval of their difference "
             "includes zero")
    else:
        s = (f"On **{c.machine}** the cheapest {which} {c.kind} fix is **{best.variant}**: "
             f"{_ns(best.cost)} per operation of the mix (±{_ns(best.ci)})")
        if len(c.ranked) > 1:
            g = c.gaps()[0]
            s += ", {} ({:.1f}%) below {} (paired 95% CI {} to {} ns)".format(
                _ns(g.diff.mean), g.pct, g.dearer.variant, fmt_ns(g.diff.lo),
                fmt_ns(g.diff.hi))
    if c.baseline is not None and c.baseline is not best and best.vs_baseline is not None:
        d = best.vs_baseline
        s += f"; {d.mean * 1e9:+.2f} ns against {c.baseline.variant}"
        if c.baseline.state == "racy":
            s += " (racy)"
    return s + "."


def _section_machines(doc, rs):
    rows = []
    for m in rs.machines.values():
        ns = sorted(r.n for r in m.results.values())
        dates = sorted(set(m.meta.get("dates", [])))
        meta = m.meta
        rows.append([m.name, str(meta.get("hostname", "–")), str(meta.get("cpu_count", "–")),
                     str(m.meta.get("cpu_model_name", "–")), ", ".join(m.suites()) or "–",
                     "yes" if m.verify else "no", str(ns[len(ns) // 2]) if ns else "–",
                     " to ".join(dict.fromkeys([dates[0], dates[-1]])) if dates else "–"])
    doc.heading(2, "Machines", "machines")
    doc.table(["machine", "hostname", "CPUs", "CPU", "suites", "verify", "runs/bench", "date"],
              rows, ["left", "left", "right", "left", "left", "left", "right", "left"])


def _section_aa(doc, rs):
    from pagecore.report.checks import AA_SPREAD, AA_SPREAD_NS, aa_groups

    groups = aa_groups(rs)
    if not groups:
        return
    doc.heading(2, "A/A: variants that run identical source", "aa")
    bad = [g for g in groups if g.artefact]
    doc.para(
        "Each variant states which implementation of each operation it runs; variants that "
        "run the same code for a benchmark must measure the same, or the differences this "
        "report shows are the harness's. Their changes against each other are never called "
        f"significant. A group is flagged when its means spread by more than "
        f"{AA_SPREAD * 100:.0f}% and {AA_SPREAD_NS} ns. "
        + (f"**{len(bad)} of {len(groups)} groups are flagged**: treat differences of that "
           "size elsewhere as noise." if bad else
           f"All {len(groups)} groups agree within that."), "warn" if bad else None)
    rows = []
    for g in groups:
        w = g.worst_pair()
        rows.append([g.machine if len(rs.machines) > 1 else "", g.key,
                     ", ".join(f"{r.variant} {fmt_ns(r.mean)}" for r in g.members),
                     f"{g.spread * 100:.1f}% ({g.spread_ns:.2f} ns)",
                     f"{w.pct:+.1f}% [{w.lo:+.1f}, {w.hi:+.1f}]",
                     Cell("artefact", "racy") if g.artefact else Cell("ok", "clean")])
    if len(rs.machines) == 1:
        rows = [r[1:] for r in rows]
    headers = (["machine"] if len(rs.machines) > 1 else []) + [
        "benchmark", "same source: variant ns/op", "spread", "largest paired change", "A/A"]
    t = Doc("")
    t.table(headers, rows, caption="Largest paired change: of any member against the first, "
            "per worker process, with its 95% interval.")
    doc.details(f"The {len(groups)} identical-source groups", t)


def _section_predicted(doc, rs):
    from pagecore.report.costs import section_predicted

    section_predicted(doc, rs)


def _section_costs(doc, rs, choices):
    from pagecore.report.costs import section_lock_holds, section_term_shares

    section_term_shares(doc, choices)
    section_lock_holds(doc, rs)


def _section_method(doc, rs):
    doc.heading(2, "How to read this report", "method")
    doc.bullets([
        ("All costs are seconds per operation as the suites measured them, shown in ns. A "
         "cost `45.2 ±0.8%` is the mean over worker processes ± the standard deviation "
         "between them."),
        ("Every variant of a case is measured in each worker process, in a random order per "
         "round, pinned to one CPU for single-threaded cases; a process is one pyperf run. "
         "Processes are the samples; intervals are 95% Student t intervals over them."),
        ("`+12.3% ±1.1% *`: the variant costs 12.3% more than the baseline, ± the half-width "
         "of the 95% interval of the per-process ratio (paired: both measured in the same "
         "process); `*` significant (one-sample t test on the ratios, scipy.stats), `~` "
         "within noise, `?` too few processes, `(same source)` identical code: never called "
         "significant."),
        ("events/op are the model's own per-operation counts (atomics, barriers, lock round "
         "trips, entries walked, wakeups), from the `pagecore_events` metadata; – when not "
         "recorded."),
        ("Several machines merge into one report, a column per machine; machines are named "
         "by their results directory."),
    ])
    files = [f for m in rs.machines.values() for f in m.files]
    doc.details(f"Input files ({len(files)})", _doc_of_bullets([f"`{f}`" for f in files]))


def _doc_of_bullets(items):

    d = Doc("")
    d.bullets(items)
    return d


def build(rs, d, baseline, mix, exclude_starving=False):
    """The whole report as a Doc; figures are written into d as they are built."""
    import datetime


    doc = Doc("pagecore overhead report: " + ", ".join(rs.machines))
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    n = len(rs.machines)
    doc.para(f"Generated {when} from {n} machine{'s' if n != 1 else ''}. Baseline: "
             f"`{_suite_baseline('hotpath', baseline)}` (floor: `{FLOOR_BASELINE}`, dirty path: "
             f"`{_suite_baseline('dirty', baseline)}`).")
    table = verdicts(rs)
    racy = {v for v in rs.variants() if status(rs, v, table)[0] == "racy"}
    # with exclude_starving, only fixes that neither race nor starve are ranked
    choices = (choose(rs, mix, "writeback", baseline, exclude_starving=exclude_starving)
               + choose(rs, mix, "dirty", baseline, exclude_starving=exclude_starving))
    _answer(doc, rs, choices, table)
    if rs.notes:
        doc.bullets(rs.notes)
    _section_machines(doc, rs)
    _section_choosing(doc, rs, choices, mix, table, baseline)
    _section_costs(doc, rs, choices)
    _section_matrix(doc, rs, table, d)
    _section_aa(doc, rs)
    _section_predicted(doc, rs)
    suites = rs.suites()
    for suite in suites:
        if suite == "contention":
            _section_contention(doc, rs, d, baseline, racy)
        elif suite == "hashchain":
            _section_hashchain(doc, rs, d, baseline, racy)
        else:
            _section_bars(doc, rs, d, suite, baseline, racy, ncols=3)
    missing = [s for s in SUITES if s not in suites]
    if missing:
        doc.para("Not in these results: {}.".format(", ".join(missing)))
    _section_method(doc, rs)
    return doc

