"""The performance bars of `pagecore bench --check`: the harness adds nothing
to a locked RMW, end_page_writeback costs about its primitives, atomic RMWs
added on a path are detected, and identical source measures the same."""

import os

from pagecore._errors import PagecoreError
from pagecore.report.results import SENTINEL_SLOW, SUITES

BAR_RMW_RATIO = 1.15
BAR_EWB_RATIO = 2.0
# pairs that differ by atomic RMWs on one path: each must come out significantly slower
RMW_PAIRS = (("hotpath/end_page_writeback_no_waiters", "original", "get-put"),
             ("hotpath/end_page_writeback_one_waiter", "original", "get-put"))
def _diff(ea, eb):
    keys = sorted(set(ea) | set(eb))
    return {k: eb.get(k, 0) - ea.get(k, 0) for k in keys if eb.get(k, 0) != ea.get(k, 0)}


def check_bars(mdir):
    """The performance bars and the A/A checks from one results directory: lines to print,
    and whether all measured bars pass."""
    from pagecore.report.checks import AA_SPREAD, AA_SPREAD_NS, aa_groups
    from pagecore.report.results import load_results
    from pagecore.report.stats import change

    lines = ["performance bars (%s; ns per operation):" % mdir]
    try:
        rs = load_results([os.path.join(mdir, s + ".json") for s in SUITES
                           if os.path.isfile(os.path.join(mdir, s + ".json"))])
    except PagecoreError as e:
        raise PagecoreError("bench --check: %s" % e) from None
    res = {r.name: r for r in rs.results()}
    ok = True

    def ns(r):
        return r.mean * 1e9

    # 1. the harness adds nothing to a locked RMW
    pc, cc = res.get("floor/locked_rmw/pagecore"), res.get("floor/locked_rmw/plain-c")
    if pc and cc:
        r = ns(pc) / ns(cc)
        ok &= r <= BAR_RMW_RATIO
        lines.append("  1. floor locked_rmw: pagecore %.2f ns, plain C %.2f ns: %.2fx "
                     "(bar <= %.2fx) %s" % (ns(pc), ns(cc), r, BAR_RMW_RATIO,
                                            "PASS" if r <= BAR_RMW_RATIO else "FAIL"))
    else:
        lines.append("  1. floor locked_rmw: not measured (floor suite, both columns)")

    # 2. end_page_writeback (original, no waiters) against its primitives: every event its
    # source executes (the i_pages lock, TestClearPageWriteback, the statistics' per-CPU writes
    # and calls, the xarray mark) priced by the unit costs the floor suite fits
    # (pagecore.report.predict); the loads and branches between them are taken as free.
    ewb = res.get("hotpath/end_page_writeback_no_waiters/original")
    units = None
    if ewb and ewb.events:
        from pagecore.report.predict import fit_units

        try:
            units = fit_units(rs, bootstrap=0)
        except PagecoreError:
            units = None
    if ewb and units:
        prim = units.predict(ewb.events) * 1e9
        r = ns(ewb) / prim
        ok &= r <= BAR_EWB_RATIO
        lines.append("  2. end_page_writeback, original, no waiters: %.2f ns; its events priced "
                     "by the floor's unit costs %.2f ns: %.2fx (bar <= %.1fx) %s" % (
                         ns(ewb), prim, r, BAR_EWB_RATIO,
                         "PASS" if r <= BAR_EWB_RATIO else "FAIL"))
    else:
        lines.append("  2. end_page_writeback vs primitives: not measured "
                     "(hotpath original + floor)")

    # 3. differences of atomic RMWs, paired per worker process
    pairs = [("%s/%s" % (k, a), "%s/%s" % (k, b)) for k, a, b in RMW_PAIRS]
    pairs.append(("floor/empty_loop/pagecore", "floor/locked_rmw/pagecore"))
    for na, nb in pairs:
        a, b = res.get(na), res.get(nb)
        if not (a and b):
            lines.append("  3. %s -> %s: not measured" % (na, nb.rsplit("/", 1)[1]))
            continue
        d = _diff(a.events or {}, b.events or {})
        ch = change(a, b)
        good = bool(ch.significant) and ch.pct > 0
        ok &= good
        # the variant alone where the case is the same, else the whole name
        shown = nb.rsplit("/", 1)[1] if na.rsplit("/", 1)[0] == nb.rsplit("/", 1)[0] else nb
        lines.append("  3. %s -> %s (events %s): %.2f -> %.2f ns: %+.1f%% [%+.1f, %+.1f] "
                     "%s, %s %s" % (
                         na, shown,
                         " ".join("%s%+g" % kv for kv in d.items()) or "equal",
                         ns(a), ns(b), ch.pct, ch.lo, ch.hi,
                         "paired over %d processes" % ch.n if ch.paired else "unpaired",
                         "significant" if ch.significant else "not significant",
                         "PASS" if good else "FAIL"))

    # 4. A/A: identical source must measure the same
    every = aa_groups(rs)
    groups = [g for g in every if g.key.startswith("hotpath/")]
    for suite in SUITES[2:]:
        mine = [g for g in every if g.key.startswith(suite + "/")]
        if mine:
            bad = [g for g in mine if g.artefact]
            ok &= not bad
            lines.append("  4. A/A %s: %d of %d identical-source groups within %.0f%% or "
                         "%.1f ns %s%s" % (suite, len(mine) - len(bad), len(mine),
                                           AA_SPREAD * 100, AA_SPREAD_NS,
                                           "PASS" if not bad else "FAIL",
                                           "".join("\n     FAIL %s: %s; spread %.1f%%" % (
                                               g.key, ", ".join(r.variant for r in g.members),
                                               g.spread * 100) for g in bad)))
    if groups:
        bad = [g for g in groups if g.artefact]
        ok &= not bad
        lines.append("  4. A/A hotpath, identical source within %.0f%% or %.1f ns (a wake of a "
                     "sleeping CPU: medians, and apart by Kruskal-Wallis): %d of %d groups "
                     "%s" % (AA_SPREAD * 100, AA_SPREAD_NS, len(groups) - len(bad),
                             len(groups), "PASS" if not bad else "FAIL"))
        for g in groups:
            lines.append("     %s %s: %s; spread %.1f%% (%.2f ns)%s%s" % (
                "FAIL" if g.artefact else "ok  ", g.key.split("/", 1)[1],
                ", ".join("%s %.2f" % (r.variant, g.center(r) * 1e9) for r in g.members),
                g.spread * 100, g.spread_ns,
                " (medians: a wake of a sleeping CPU, the host's)" if g.host else "",
                " ARTEFACT" if g.artefact else ""))
    # 5. where the values were taken
    lines += _placement_lines(rs)
    return lines, ok


def _placement_lines(rs):
    """Values per CPU, and how many were left out as taken while the CPU was slowed."""
    lines = []
    for m in rs.machines.values():
        cpus, total = {}, 0
        for r in m.results.values():
            if r.suite == "hotpath":
                for c in r.cpus:
                    cpus[c] = cpus.get(c, 0) + 1
        total = sum(cpus.values())
        if total:
            lines.append("  5. hotpath: values per CPU: %s (-1: moved during the value); %d "
                         "values of the suites here left out, taken while the sentinel ran "
                         "> %.0f%% slow" % (", ".join("cpu %d: %d" % kv
                                                      for kv in sorted(cpus.items())),
                                           m.dropped, (SENTINEL_SLOW - 1) * 100))
    return lines
