"""What a choice rests on beyond the mix's cost: when fixes tie, what does tell them apart
(the races they close, whether a slow waiter starves and its p99 wait, their worst cost
under contention, their hash-chain slope); when no fix is left to recommend, which
trade-off remains and which correct fix starves least.

Each measure is read from the same results as the ranking (the verify rows for races and
liveness, the contention and hashchain suites for the costs), on the same machine, and is
called a difference only when it is one: starved against live, a significant paired
change, slopes whose 95% intervals do not overlap.
"""

import math
from dataclasses import dataclass, field

from pagecore.report.formats import fmt_ns, fmt_slope
from pagecore.report.results import _order_variants
from pagecore.report.stats import change, linfit
from pagecore.report.verdicts import liveness, status


@dataclass
class Aspect:
    """One measure across the variants compared: a cell per variant, and the sentence
    that says whether it tells them apart."""

    name: str
    cells: dict                 # variant -> text
    separates: bool
    sentence: str
    best: tuple = ()            # the variants this aspect favours, where it separates them


@dataclass
class Guide:
    """The guidance of one Choice: for a tie, the aspects that separate the tied fixes; for
    nothing left, the trade-off that remains and the least-starving correct fix."""

    kind: str                   # "tie" or "none_left"
    variants: list
    aspects: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    least_starving: str = None

    def as_dict(self):
        return {"kind": self.kind, "variants": self.variants, "lines": self.lines,
                "least_starving": self.least_starving,
                "aspects": [{"aspect": a.name, "by_variant": a.cells, "separates": a.separates,
                             "favours": list(a.best) if a.separates else []}
                            for a in self.aspects]}


def _p99(table, v):
    """(state, p99 wait ms, re-sleeps) of @v's slow waiter; p99 None when unmeasured."""
    best = None
    for vd in table.get(v, {}).values():
        for _, lv in vd.liveness:
            if isinstance(lv.get("wait_p99_ms"), (int, float)):
                if best is None or lv["wait_p99_ms"] > best["wait_p99_ms"]:
                    best = lv
    return best


def _races(rs, table, c, variants):
    from pagecore.report.choose import _buys

    cells = {}
    for v in variants:
        state, why = status(rs, v, table)
        cells[v] = ("racy: " + why[len("fails "):]) if state == "racy" else \
            (_buys(v, c.baseline_name, table) if state == "clean" else why)
    same = len(set(cells.values())) == 1
    if same:
        sentence = (f"Races: {', '.join(variants)} close the same races "
                    f"({cells[variants[0]]}): they do not separate them.")
    else:
        sentence = "Races: " + "; ".join(f"{v} {t}" for v, t in cells.items()) + "."
    return Aspect("races", cells, not same, sentence)


def _starvation(rs, table, variants):
    cells, states, p99 = {}, {}, {}
    for v in variants:
        state, _ = liveness(rs, v, table)
        lv = _p99(table, v)
        states[v] = state
        p99[v] = lv["wait_p99_ms"] if lv else None
        cells[v] = state + (f" (p99 wait {lv['wait_p99_ms']:.3g} ms, "
                            f"{lv.get('resleeps', 0):,} re-sleeps)" if lv else "")
    if set(states.values()) == {"unmeasured"}:
        return Aspect("starvation", cells, False, "Starvation: not measured (pagecore verify "
                      "--scenario writeback-starvation).")
    starving = [v for v in variants if states[v] == "starved"]
    live = [v for v in variants if states[v] == "live"]
    if starving and live:
        sentence = (f"Starvation separates them: {', '.join(live)} "
                    f"{'keeps' if len(live) == 1 else 'keep'} a slow waiter live "
                    f"({_ms_list(p99, live)}), {', '.join(starving)} "
                    f"{'starves' if len(starving) == 1 else 'starve'} it "
                    f"({_ms_list(p99, starving)}).")
        return Aspect("starvation", cells, True, sentence, tuple(live))
    known = [p for p in p99.values() if p is not None]
    if len(known) > 1 and max(known) > 2 * min(known):
        lo = min((v for v in variants if p99[v] is not None), key=lambda v: p99[v])
        sentence = (f"Starvation: all {'starve' if starving else 'stay live'}, {lo} least "
                    f"({_ms_list(p99, variants)}).")
        return Aspect("starvation", cells, True, sentence, (lo,))
    what = "starve a slow waiter" if starving else "keep a slow waiter live"
    return Aspect("starvation", cells, False,
                  f"Starvation: all {what} alike ({_ms_list(p99, variants)}): it does not "
                  "separate them.")


def _ms_list(p99, variants):
    """The p99 waits of @variants, in their order; once when they are all the same."""
    texts = ["%.3g ms" % p99[v] if p99.get(v) is not None else "–" for v in variants]
    if len(set(texts)) == 1:
        return "p99 wait %s%s" % (texts[0], " each" if len(variants) > 1 else "")
    return "p99 wait " + ", ".join(texts)


def _contention(rs, machine, variants):
    """The worst case under contention: every thread on one page, at the most threads run."""
    pts = {}
    for r in rs.results("contention"):
        if r.machine == machine and r.case == "writeback_cycle_shared" \
                and r.param("threads") is not None:
            pts.setdefault(r.variant, {})[r.param("threads")] = r
    common = set.intersection(*(set(pts.get(v, {})) for v in variants)) if variants else set()
    if not common:
        return None
    t = max(common)
    res = {v: pts[v][t] for v in variants}
    cells = {v: f"{fmt_ns(r.mean)} ns/op at {t} threads" for v, r in res.items()}
    best = min(variants, key=lambda v: res[v].mean)
    worse, unknown = [], False
    for v in variants:
        if v == best:
            continue
        ch = change(res[best], res[v], same_source=res[v].impl is not None
                    and res[v].impl == res[best].impl)
        unknown = unknown or (ch.significant is None and not ch.same_source)
        if ch.significant:
            worse.append(f"{v} {ch.pct:+.0f}%")
    costs = ", ".join(cells[v].split(" at ")[0] for v in variants)
    if not worse and unknown:
        return Aspect("worst case under contention", cells, False,
                      f"Under contention ({t} threads on one page): too few processes to "
                      f"tell them apart ({costs}).")
    if worse:
        sentence = (f"Under contention ({t} threads on one page), {best} is cheapest: "
                    f"{'; '.join(worse)} (significant, paired).")
    else:
        sentence = (f"Under contention ({t} threads on one page) they cost the same within "
                    f"noise ({', '.join(cells[v].split(' at ')[0] for v in variants)}).")
    return Aspect("worst case under contention", cells, bool(worse), sentence, (best,))


def _slope(rs, machine, variants):
    """ns per colliding entry of end_page_writeback's walk: bits=8, cold entries if run."""
    series = {}
    for r in rs.results("hashchain"):
        if r.machine != machine or r.case != "end_page_writeback" \
                or r.param("chain") is None:
            continue
        rest = tuple(kv for kv in r.params if kv[0] != "chain")
        series.setdefault(rest, {}).setdefault(r.variant, {})[r.param("chain")] = r
    if not series:
        return None

    def pref(rest):
        d = dict(rest)
        return (d.get("bits") == "8", d.get("entries") == "cold", len(series[rest]))
    rest = max(series, key=pref)
    per = series[rest]
    fits = {}
    for v in variants:
        pts = sorted(per.get(v, {}).items())
        if len(pts) >= 2:
            fits[v] = linfit([c for c, _ in pts], [r.mean * 1e9 for _, r in pts])
    if len(fits) < 2:
        return None
    label = " ".join("%s=%s" % kv for kv in rest)
    cells = {v: (f"{fmt_slope(f.slope, f.slope_ci)} ns/entry" if v in fits else "–")
             for v, f in ((v, fits.get(v)) for v in variants)}
    lo = min(fits, key=lambda v: fits[v].slope)
    apart = []
    for v, f in fits.items():
        a, b = fits[lo], f
        if v != lo and not math.isnan(a.slope_ci) and not math.isnan(b.slope_ci) \
                and a.slope + a.slope_ci < b.slope - b.slope_ci:
            apart.append(f"{v} {b.slope:.2f}")
    if apart:
        sentence = (f"Hash-chain slope ({label}): {lo} walks a shared bucket cheapest, "
                    f"{fits[lo].slope:.2f} ns per colliding entry against "
                    f"{', '.join(apart)} (95% intervals apart).")
    else:
        sentence = (f"Hash-chain slope ({label}): the same within their 95% intervals "
                    f"({', '.join(cells[v] for v in fits)}).")
    return Aspect("hash-chain slope", cells, bool(apart), sentence, (lo,))


def guide(rs, table, c, excluded_starving=False):
    """The Guide of Choice @c, or None when its answer needs none (one winner)."""
    tied = [rk.variant for rk in c.tied_with_leader()]
    if c.ranked and len(tied) > 1:
        return _tie(rs, table, c, tied)
    if not c.ranked and c.mix and c.verified:
        return _none_left(rs, table, c, excluded_starving)
    return None


def _tie(rs, table, c, tied):
    aspects = [_races(rs, table, c, tied), _starvation(rs, table, tied)]
    aspects += [a for a in (_contention(rs, c.machine, tied), _slope(rs, c.machine, tied))
                if a is not None]
    g = Guide("tie", tied, aspects)
    known = all(math.isfinite(gp.diff.hi - gp.diff.lo) for gp in c.gaps()[:len(tied) - 1])
    g.lines.append(f"{', '.join(tied)} tie on the mix's cost: " + (
        "the 95% intervals of their paired differences include zero" if known else
        "one process per variant gives no interval to order them by") + ", so the cost does "
        "not choose between them. What the other measures say:")
    g.lines += [a.sentence for a in aspects]
    apart = [a.name for a in aspects if a.separates]
    if apart:
        g.lines.append("Choose on " + ", ".join(apart) + ": the aspects that do separate them.")
    else:
        g.lines.append("Nothing measured here separates them: any of them is as good, on "
                       "this machine and this mix; prefer the one that ships, or the simplest.")
    return g


def _none_left(rs, table, c, excluded_starving):
    every = _order_variants({v for v, _, _ in c.excluded})
    correct = [v for v in every if status(rs, v, table)[0] == "clean"]
    g = Guide("none_left", every)
    if excluded_starving and correct:
        p = {v: _p99(table, v) for v in correct}
        measured = [v for v in correct if p[v]]
        least = min(measured, key=lambda v: (p[v]["wait_p99_ms"], p[v].get("resleeps", 0))) \
            if measured else correct[0]
        live = [v for v in every if liveness(rs, v, table)[0] == "live"]
        g.least_starving = least
        g.lines.append("No variant both closes every race and keeps a slow waiter live: every "
                       f"correct fix ({', '.join(correct)}) starves a slow waiter (its wait is "
                       "woken again and again to find the page under writeback once more), "
                       "and " + (f"every variant whose waiter stays live ({', '.join(live)}) "
                                 "is racy." if live else "none measured keeps it live."))
        g.lines.append("The trade-off that remains: correctness (no BUG, no freed page) "
                       "against a bounded wait. pagecore ranks correctness first: drop "
                       "--exclude-starving to rank the correct fixes by cost.")
        if least in p and p[least]:
            g.lines.append(f"The correct fix that starves least is {least}: p99 wait "
                           f"{p[least]['wait_p99_ms']:.3g} ms, {p[least].get('resleeps', 0):,} "
                           "re-sleeps of the slow waiter.")
        else:
            g.lines.append(f"The least-starving correct fix cannot be told (no wait times): "
                           f"{least} is the first correct one.")
    else:
        g.lines.append(f"No {c.kind} variant passes every verification scenario on "
                       f"{c.machine}: there is no correct fix to recommend among those measured.")
    return g


def to_doc(doc, g, c):
    """@g in the report, under @c's answer: the aspects as a table, a variant per column,
    and the sentences."""
    from pagecore.report.html import Cell

    if g.kind == "tie" and g.aspects:
        rows = [[a.name] + [Cell(a.cells.get(v, "–"),
                                 "best" if a.separates and v in a.best else "")
                            for v in g.variants] for a in g.aspects]
        doc.table(["what else tells them apart"] + g.variants, rows,
                  ["left"] + ["wrap"] * len(g.variants),
                  caption=f"On **{c.machine}**, {', '.join(g.variants)} tie on cost; in bold, "
                  "the one an aspect that separates them favours.")
    doc.bullets(g.lines)
