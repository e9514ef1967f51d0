"""The report's sections per suite: a table of costs and its plots (floor, hot path, dirty
path as bars; contention as throughput against threads; hash chains as cost against chain
length with a fitted line)."""

import os

from pagecore.report.formats import fmt_cost, fmt_events, fmt_ns, fmt_slope
from pagecore.report.html import Cell, Doc
from pagecore.report.results import (
    DEFAULT_BASELINE,
    FLOOR_BASELINE,
    _num,
    _order_variants,
    _variant_kind,
)
from pagecore.report.stats import change, linfit

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
    """The baseline of @suite's changes; @baseline: {kind: variant} (results.baselines),
    or one variant, the baseline of its kind."""
    if suite == "floor":
        return FLOOR_BASELINE
    kind = "dirty" if suite == "dirty" else "writeback"
    if isinstance(baseline, dict):
        return baseline.get(kind) or DEFAULT_BASELINE[kind]
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
    # the floor's calibration paths are kernel paths, not primitives: the section on
    # predictions shows them, with what they price
    where = (lambda r: r.case != "path") if suite == "floor" else None
    if suite == "hotpath":
        # 8 cases x 12 variants: the figure is the overview, the table a fold (report.md
        # keeps to the answer and the figures; --full writes it here too)
        t = Doc("")
        _cost_table(t, rs, suite, base, racy)
        doc.details(f"Every {suite} benchmark: ns per operation, change against {base}, "
                    "events", t)
    else:
        _cost_table(doc, rs, suite, base, racy, where)
    panels, machines = _bar_panels(rs, suite, where)
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
                    # the legend's ± is the table's: the half-width of the 95% interval
                    f[v] = (fit.slope, fit.intercept, fit.slope_ci)
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
             "(ns per colliding entry, ± 95% interval, as in the table) is in the legend, "
             "drawn from the shortest chain from which on it stays within a factor of 2 of "
             "every point measured (a straight line in chain length bends on log axes, and "
             "plunges where its intercept is below zero). The dotted line marks the "
             "64-entry bookmark boundary.",
             # a kernel name keeps its case: i_pages, never I_pages
             plots.hashchain, ("Cost of " + case if case != "ipages_hold" else what)
             + " against hash-chain length", panels,
             racy=racy, ylabel="ns/op" if case != "ipages_hold" else "ns held")
    full = Doc("")
    _cost_table(full, rs, "hashchain", base, racy)
    doc.details("All hash-chain measurements", full)
