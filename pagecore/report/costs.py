"""The report's sections on where costs come from: what each term of the mix contributes to a
fix's cost, what each variant does inside its lock holds, and the costs predicted from the floor
suite beside the measured ones.  Each is a function of its own that writer.build() calls."""

from pagecore.report.formats import fmt_events, fmt_ns
from pagecore.report.html import Cell, Doc
from pagecore.report.results import _order_variants
from pagecore.report.stats import percentile_interval


def _pct(x):
    return f"{x * 100:.0f}%"


# -- term shares ----------------------------------------------------------------------------

def term_shares(rk):
    """{term: share of the ranked variant's weighted cost}."""
    cost = rk.cost
    return {k: (w * r.mean / cost if cost else 0.0) for k, (w, r) in rk.parts.items()}


def section_term_shares(doc, choices):
    """Per machine and kind: each term's share of each ranked fix's cost of the mix."""
    shown = [c for c in choices if c.ranked]
    if not shown:
        return
    doc.heading(3, "Where the cost of the mix comes from", "term-shares")
    doc.para("Each term's share of a fix's weighted cost (weight × cost over the sum): the "
             "terms that decide the ranking are those with large shares that differ between "
             "fixes. The derivation of the default weights is in reports/README.md.")
    for c in shown:
        terms = list(c.mix)
        rows = []
        for rk in c.ranked:
            sh = term_shares(rk)
            rows.append([rk.variant] + [_pct(sh[k]) for k in terms] + [fmt_ns(rk.cost)])
        doc.table(["variant"] + [f"{k} (w {c.mix[k]:g})" for k in terms] + ["ns/op of mix"],
                  rows, ["left"] + ["right"] * (len(terms) + 1),
                  caption=f"{c.machine}, {c.kind} fixes: share of each term in the weighted "
                          "cost.")


# -- lock holds -------------------------------------------------------------------------------

def _hold_rows(rs):
    out = {}
    for r in rs.results("hashchain"):
        if r.case != "lock_hold":
            continue
        p = dict(r.params)
        label = "{} ({})".format(p.get("lock"), "nobody waiting" if p.get("waiter") == "none"
                                 else "a queued waiter behind {} cold entries".format(
                                     p.get("collide", 0)))
        out.setdefault((r.machine, label), {})[r.variant] = r
    return out


def section_lock_holds(doc, rs):
    """Per variant: the time one end of writeback holds each lock class, and what it does
    inside (the events counted within the holds)."""
    rows_by = _hold_rows(rs)
    if not rows_by:
        return
    doc.heading(3, "Inside the locks: what each variant holds them for", "lock-holds")
    doc.para("ns held per end of writeback (every hold of that lock summed, a clock pair less "
             "per hold) and the events counted inside the holds: a variant that moves work "
             "under a lock (the clear and its statistics under the bucket lock, the wake walk "
             "under i_pages) holds it longer, and every other user of that lock waits that "
             "much longer when they meet.")
    for (m, label), per in sorted(rows_by.items()):
        rows = []
        for v in _order_variants(per):
            r = per[v]
            rows.append([v, fmt_ns(r.mean), "±" + _ci(r), fmt_events(r.events)])
        doc.table(["variant", "ns held/op", "95% CI", "events inside the holds, per op"], rows,
                  ["left", "right", "right", "wrap"],
                  caption=(f"{m}: " if len(rs.machines) > 1 else "") + label + ".")


# -- predicted beside measured ------------------------------------------------------------------

def section_predicted(doc, rs, choices=(), mix=None):
    """Costs predicted from the floor suite (pagecore.report.predict) beside the measured, and
    the ranking of @choices (measured) beside the one predicted for the same @mix."""
    from pagecore.report.predict import fit_units, predictions, summary

    preds = predictions(rs)
    if not preds:
        return
    held, total = summary(preds)
    others, n_others = summary(preds, calibrating=False)
    within_others = sum(p.within10 for p in preds if not p.calibrating)
    alone = predictions(rs, in_run=False)
    a_others, a_n = summary(alone, calibrating=False)
    a_within = sum(p.within10 for p in alone if not p.calibrating)
    doc.heading(2, "Predicted from the floor, beside measured", "predicted")
    doc.para("Unit costs per kind of event are fitted to the floor suite alone (non-negative "
             "least squares, each row weighted by its own value; 95% intervals from a "
             "bootstrap over the floor's worker processes). The events of a path do not count "
             "all of its work (the loads of the page's, the mapping's and the xarray's lines, "
             "branches, the work between the counted steps): that part is the path's, and "
             "the pre-fix kernel's (original's) own benchmark of each path, in the same run "
             "and the same worker processes, is the calibration set that prices it. Every "
             "other variant of the path is held out, and predicted as original's measured "
             "cost plus what its events add or take away, priced by the floor: as a kernel "
             "developer argues a fix (\"it adds a cmpxchg under the lock\"). "
             f"**{others} of {n_others}** hot-path benchmarks of the other variants are "
             f"predicted within 10% of the measured cost or within its noise ({within_others} "
             "within 10%). For a machine of which only the floor is known "
             "(`pagecore choose --predict FLOOR.json`), the floor also times each path as "
             "original runs it, in its own processes minutes earlier: from the floor alone, "
             f"{a_others} of {a_n} hold ({a_within} within 10%); the difference is what "
             "runs apart (the machine's drift, the objects loaded beside the path, the "
             "host's wake of a sleeping CPU) and it is common to every variant of a path, "
             "so it moves no ranking. Where a prediction stays off, the last column says "
             "what the events do not count there.")
    for m in rs.machines:
        try:
            u = fit_units(rs, m)
        except Exception:
            continue
        rows = []
        for k, v in sorted(u.cost.items(), key=lambda kv: kv[0]):
            lo, hi = _unit_interval(u, k)
            rows.append([k, fmt_ns(v), f"{fmt_ns(lo)} to {fmt_ns(hi)}" if len(u.boot) >= 10
                         else "?",
                         "not exercised by the floor" if k in u.uncalibrated else ""])
        for t, v in u.paths.items():
            rows.append(["uncounted: " + "/".join([t[0], t[1]] + ["%s=%s" % kv
                                                                 for kv in sorted(t[2])]),
                         fmt_ns(v), "", "per operation of that path"])
        t = Doc("")
        t.table(["kind", "ns per event", "95% interval", ""], rows,
                ["left", "right", "right", "left"],
                caption="Floor cases fitted: " + ", ".join(u.rows) + "; residuals of the fit: "
                + ", ".join(f"{c} {r * 100:+.0f}%" for c, r in u.residuals.items()) + ".")
        doc.details(f"{m}: unit costs fitted to the floor", t)
    _predicted_ranking(doc, rs, choices, mix)
    rows = []
    for p in sorted(preds, key=lambda p: (p.result.machine, p.result.case,
                                          _order_variants([p.result.variant]))):
        r = p.result
        rows.append([r.case, r.variant + (" (calibration)" if p.calibrating else ""),
                     fmt_events(r.events),
                     # too few floor processes to resample give no interval, not [p, p]
                     f"{fmt_ns(p.predicted)} " + (f"[{fmt_ns(p.lo)}, {fmt_ns(p.hi)}]"
                                                  if p.hi > p.lo else "[?, ?]"),
                     f"{fmt_ns(r.mean)} ±{_ci(r)}", f"{p.ratio:.2f}",
                     Cell("off", "unverified") if p.flagged else Cell("holds", "clean"),
                     p.note])
    t = Doc("")
    t.table(["case", "variant", "events/op", "predicted ns [95%]", "measured ns ±95%",
             "pred/meas", "", "what the events do not count"], rows,
            ["left", "left", "wrap", "right", "right", "right", "left", "wrap"])
    doc.details(f"Hot path: {n_others} held-out benchmarks, {others} held ({within_others} "
                f"within 10%); with original's {total - n_others}, {held} of {total}", t)


def tie_groups(names, tied):
    """@names in order, cut into groups where consecutive @tied[i] (names[i], names[i+1]) is
    False: [[name, ...], ...]."""
    out = []
    for i, v in enumerate(names):
        if i and tied[i - 1]:
            out[-1].append(v)
        else:
            out.append([v])
    return out


def _predicted_ranking(doc, rs, choices, mix):
    """Per machine and kind measured: the correct fixes' ranking for @mix as measured (tied
    where the paired gap's interval holds 0) and as predicted from this machine's own floor
    (tied where the predicted gap's bootstrap interval holds 0, or the events are equal)."""
    from pagecore._errors import PagecoreError
    from pagecore.report.choose import choose_predicted, predicted_ties
    from pagecore.report.results import ResultSet

    rows = []
    for c in choices:
        if not c.ranked:
            continue
        one = ResultSet()
        one.machines = {c.machine: rs.machines[c.machine]}
        try:
            ranked, _, used, _, gaps = choose_predicted(one, one, c.mix, c.kind)
        except PagecoreError:
            continue
        names = [rk.variant for rk in c.ranked]
        ranked = [x for x in ranked if x[0] in names]
        pnames = [v for v, _, _ in ranked]
        # the gaps of the pairs left once variants not ranked as measured are dropped
        pg = {(a, b): (a, b, lo, hi) for a, b, lo, hi in gaps}
        ptied = predicted_ties(ranked, [pg.get((a, b), (a, b, None, None))
                                        for (a, _, _), (b, _, _) in zip(ranked, ranked[1:])])
        measured = tie_groups(names, [g.tie for g in c.gaps()])
        predicted = tie_groups(pnames, ptied)
        same = [set(g) for g in measured] == [set(g) for g in predicted]
        cost = {v: x for v, x, _ in ranked}
        rows.append([c.machine, c.kind,
                     " < ".join(" = ".join(g) for g in measured),
                     " < ".join(" = ".join(f"{v} ({fmt_ns(cost[v])})" for v in g)
                                for g in predicted),
                     Cell("same", "clean") if same else Cell("differs", "unverified")])
    if rows:
        doc.para("The correct fixes ranked for the mix, as measured (\"=\": the paired "
                 "difference's 95% interval holds zero) and as predicted from this machine's "
                 "floor alone (\"=\": equal events, or the predicted difference's interval "
                 "holds zero). That interval is the floor's bootstrap, widened by what the "
                 "events do not tell apart: per term, how far the held-out variants of its "
                 "path (the two compared left out) came from their predictions here. A "
                 "difference of events priced below that is no predicted order.")
        doc.table(["machine", "kind", "measured ranking", "predicted ranking (ns/op of mix)",
                   "rank"], rows, ["left", "left", "wrap", "wrap", "left"])


def _ci(r):
    """The half-width of @r's 95% interval; `?` for one process, whose spread is unknown
    (mean_ci() gives it as 0)."""
    return fmt_ns(r.ci) if r.n >= 2 else "?"



def _unit_interval(u, kind):
    v = u.cost.get(kind, 0.0)
    return percentile_interval(b.get(kind, 0.0) for b in u.boot) or (v, v)
