"""Choosing a fix: a workload mix of weighted terms, and the correct variants ranked by it."""

import math
import os
from dataclasses import dataclass

from pagecore._errors import PagecoreError
from pagecore.report.formats import _ns, fmt_ns
from pagecore.report.results import DEFAULT_BASELINE, SUITES, _order_variants, _term, _variant_kind
from pagecore.report.stats import Z95
from pagecore.report.verdicts import status, verdicts

DEFAULT_MIX = {
    "hotpath/end_page_writeback_no_waiters": 0.60,
    "hotpath/wait_on_page_writeback_clear": 0.20,
    "hotpath/end_page_writeback_one_waiter": 0.10,
    "hashchain/end_page_writeback/bits=8/chain=4": 0.10,
    "dirty/cpdfio_writepage/state=unmapped": 0.50,
    "dirty/cpdfio_writepage/state=mapped_clean": 0.30,
    "dirty/cpdfio_writepage/state=mapped_dirty": 0.20,
}


def parse_key(key):
    """A weight key: 'suite/case[/k=v...]' or a bare hotpath case -> a term."""
    segs = str(key).strip().strip("/").split("/")
    if len(segs) == 1:
        segs = ["hotpath"] + segs
    suite, case, rest = segs[0], segs[1], segs[2:]
    if suite not in SUITES:
        raise PagecoreError(f"weight key {key!r}: unknown suite {suite!r} "
                            f"(known: {', '.join(SUITES)})")
    params = []
    for s in rest:
        k, sep, v = s.partition("=")
        if not sep or not k or not v:
            raise PagecoreError(f"weight key {key!r}: {s!r} must be param=value (a weight names a "
                                "benchmark without its variant)")
        params.append((k, v))
    if not case:
        raise PagecoreError(f"weight key {key!r}: missing case")
    return _term(suite, case, params)


def _kind_of_key(key):
    return "dirty" if parse_key(key)[0] == "dirty" else "writeback"


# Weights are relative; this bound keeps weight x cost, and its square in the error, finite.
MAX_WEIGHT = 1e6


def _weight_value(key, v):
    if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            or not 0 <= v <= MAX_WEIGHT):
        raise PagecoreError(f"weight for {key!r} must be a number in 0..{MAX_WEIGHT:g}, "
                            f"not {v!r}")
    return float(v)


def load_weights_file(path):
    """A TOML file: a [weights] table (or top-level keys) of 'benchmark-without-variant' = w."""
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            raise PagecoreError("reading a weights file needs Python 3.11 (tomllib) or the "
                                "tomli package") from None
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise PagecoreError(f"{path}: cannot read: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PagecoreError(f"{path}: not valid TOML: {e}") from None
    table = data.get("weights", data)
    if not isinstance(table, dict) or not table:
        raise PagecoreError(f"{path}: no weights (expected a [weights] table of key = number)")
    return {k: _weight_value(k, v) for k, v in table.items()}


def parse_weight_args(items):
    out = {}
    for item in items or ():
        # the key itself holds '=' (chain=4): the weight is after the last one
        k, sep, v = item.rpartition("=")
        if not sep or not k:
            raise PagecoreError(f"--weight {item!r} must be KEY=WEIGHT")
        try:
            out[k] = _weight_value(k, float(v))
        except ValueError:
            raise PagecoreError(f"--weight {item!r}: weight must be a number in "
                                f"0..{MAX_WEIGHT:g}") from None
    return out


def make_mix(weights=None, pairs=None):
    """The mix to rank by: DEFAULT_MIX, with each kind (writeback, dirty) replaced by the
    given weights when they name that kind, then single --weight pairs set on top."""
    if isinstance(weights, (str, os.PathLike)):
        weights = load_weights_file(weights)
    mix = dict(DEFAULT_MIX)
    if weights:
        given = {k: _weight_value(k, v) for k, v in weights.items()}
        kinds = {_kind_of_key(k) for k in given}
        mix = {k: w for k, w in mix.items() if _kind_of_key(k) not in kinds}
        mix.update(given)
    for k, w in (pairs or {}).items():
        parse_key(k)   # a malformed key is an error here, before any ranking
        mix[k] = w
    mix = {k: w for k, w in mix.items() if w > 0}
    if not mix:
        raise PagecoreError("the workload mix must have at least one weight > 0")
    return mix


def check_mix(rs, mix, user_keys):
    """A key the user typed must name something measured: a typo is an error, not a 0."""
    terms = {r.term for r in rs.results()}
    for k in user_keys:
        if mix.get(k, 0) > 0 and parse_key(k) not in terms:
            suite = parse_key(k)[0]
            near = sorted({r.key for r in rs.results(suite)})[:4]
            eg = f" (e.g. {', '.join(near)})" if near else ""
            raise PagecoreError(f"weight key {k!r} matches no benchmark in the results{eg}")


@dataclass
class Ranked:
    variant: str
    parts: dict                 # mix key -> (weight, Result)
    state: str = "clean"
    reason: str = ""

    @property
    def cost(self):
        return math.fsum(w * r.mean for w, r in self.parts.values())

    @property
    def se(self):
        return math.sqrt(math.fsum((w * r.se) ** 2 for w, r in self.parts.values()))

    def dominant(self):
        key, (w, r) = max(self.parts.items(), key=lambda kv: kv[1][0] * kv[1][1].mean)
        return key, w * r.mean / self.cost if self.cost else 0.0


@dataclass
class Gap:
    cheaper: Ranked
    dearer: Ranked
    diff: float                 # seconds per op of the mix
    pct: float
    significant: bool
    main_key: str               # the term that contributes most to the gap
    main_part: float
    flip: tuple = None          # (key, weight now, weight at which the order flips)


@dataclass
class Choice:
    machine: str
    kind: str
    mix: dict                   # key -> weight, as used on this machine
    dropped: list               # (key, reason): mix terms not measured here
    ranked: list                # Ranked, cheapest first
    excluded: list              # (variant, reason, Ranked or None)
    verified: bool
    baseline: Ranked = None
    baseline_name: str = ""

    def gaps(self):
        return [gap(a, b) for a, b in zip(self.ranked, self.ranked[1:])]


def gap(a, b):
    d = b.cost - a.cost
    sig = d > Z95 * math.hypot(a.se, b.se)
    contrib = {k: w * (b.parts[k][1].mean - ra.mean) for k, (w, ra) in a.parts.items()}
    main = max(contrib, key=lambda k: contrib[k])
    # One weight moved, the others fixed: with d_t the per-op difference in term t, the order
    # flips at w_t + d/(-d_t) when b is cheaper in t, or at w_t - d/d_t when b is dearer in t
    # and that stays >= 0.  The smallest move is the one reported.
    flip = None
    for k, (w, ra) in a.parts.items():
        dt = b.parts[k][1].mean - ra.mean
        if dt < 0:
            at = w + d / -dt
        elif dt > 0 and w - d / dt >= 0:
            at = w - d / dt
        else:
            continue
        if flip is None or abs(at - w) < abs(flip[2] - flip[1]):
            flip = (k, w, at)
    return Gap(a, b, d, d / a.cost * 100 if a.cost else math.inf, sig, main, contrib[main], flip)


def choose(rs, mix=None, kind="writeback", baseline=None):
    """Rank the variants of one kind per machine by weighted cost over the mix.

    Variants that fail any verification scenario are excluded (with the scenario); with no
    verify results at all every variant is ranked and Choice.verified is False.
    """
    mix = DEFAULT_MIX if mix is None else mix
    kmix = {k: w for k, w in mix.items() if w > 0 and _kind_of_key(k) == kind}
    baseline = baseline if baseline and _variant_kind(baseline) == kind \
        else DEFAULT_BASELINE[kind]
    table = verdicts(rs)
    choices = []
    for m in rs.machines.values():
        by_term = {}
        for r in m.results.values():
            if _variant_kind(r.variant) == kind:
                by_term.setdefault(r.term, {})[r.variant] = r
        variants = _order_variants({v for t in by_term.values() for v in t})
        if not variants:
            continue
        used, dropped = {}, []
        for k, w in kmix.items():
            if parse_key(k) in by_term:
                used[k] = w
            else:
                dropped.append((k, f"not measured on {m.name}"))
        c = Choice(m.name, kind, used, dropped, [], [], rs.has_verify, baseline_name=baseline)
        choices.append(c)
        if not used:
            continue
        for v in variants:
            parts = {k: (w, by_term[parse_key(k)].get(v)) for k, w in used.items()}
            missing = [k for k, (w, r) in parts.items() if r is None]
            state, reason = status(rs, v, table)
            if missing:
                reason = (f"{reason}; " if state == "racy" else "") + \
                    "not measured: " + ", ".join(missing)
                c.excluded.append((v, reason, None))
                continue
            rk = Ranked(v, parts, state, reason)
            if v == baseline:
                c.baseline = rk
            if state == "clean" or not rs.has_verify:
                c.ranked.append(rk)
            else:
                c.excluded.append((v, reason, rk))
        c.ranked.sort(key=lambda x: x.cost)
    return choices


def reasoning(c, table=None):
    """The argument behind a ranking, one sentence per line (shared by report and CLI)."""
    lines = []
    if not c.mix:
        return [f"No term of the mix was measured on {c.machine}: nothing to rank."]
    if not c.verified:
        lines.append("No verification results: the ranking below includes variants that may "
                     "be racy. Run `pagecore verify --json results/<machine>/verify.json`.")
    if not c.ranked:
        lines.append("No variant passes every scenario on the measured terms: nothing to "
                     "recommend.")
        return lines
    best = c.ranked[0]
    key, share = best.dominant()
    lines.append(f"**{best.variant}** is cheapest: {_ns(best.cost)} per operation of the mix "
                 f"(95% CI ±{_ns(Z95 * best.se)}); its largest term is `{key}` "
                 f"({share * 100:.0f}% of its cost).")
    for g in c.gaps():
        verdict = ("a significant difference" if g.significant
                   else "within noise: treat them as a tie")
        s = (f"{g.cheaper.variant} is {_ns(g.diff)} ({g.pct:.1f}%) cheaper than "
             f"{g.dearer.variant}, {verdict}. The gap is mostly `{g.main_key}` "
             f"({_ns(g.main_part)} of it).")
        if g.flip:
            k, w, at = g.flip
            s += (f" The order flips if the weight of `{k}` {'rises' if at > w else 'falls'} "
                  f"from {w:.2f} to {at:.2f} (others fixed).")
        else:
            s += (f" {g.dearer.variant} costs at least as much in every term: no mix of these "
                  "terms puts it ahead.")
        lines.append(s)
    base = c.baseline
    for rk in c.ranked:
        if base is None or rk is base:
            continue
        buys = _buys(rk.variant, c.baseline_name, table)
        d = rk.cost - base.cost
        pct = d / base.cost * 100 if base.cost else 0.0
        price = (f"at a cost of +{_ns(d)} ({pct:+.1f}%)" if d >= 0
                 else f"and is {_ns(-d)} ({pct:+.1f}%) cheaper")
        lines.append(f"{rk.variant} {buys} {price} per operation of the mix against "
                     f"{c.baseline_name}.")
    for v, reason, _ in c.excluded:
        lines.append(f"{v} is excluded: {reason}.")
    return lines


def _buys(variant, baseline, table):
    if not table:
        return "(unverified)"
    fixed = [s for s, vd in table.get(baseline, {}).items()
             if vd.failures and s in table.get(variant, {})
             and not table[variant][s].failures]
    return "closes {} (which {} fails)".format(", ".join(fixed), baseline) if fixed \
        else f"closes no scenario that {baseline} fails"


def ranking_table(c):
    """Rows for the ranking: rank, variant, cost, CI, vs next, dominant term, vs baseline."""
    gaps = c.gaps()
    rows = []
    for i, rk in enumerate(c.ranked):
        key, share = rk.dominant()
        nxt = ""
        if i < len(gaps):
            g = gaps[i]
            nxt = "-{} ({:.1f}%){}".format(_ns(g.diff), g.pct, " *" if g.significant else " ~")
        vsb = ""
        if c.baseline is not None and c.baseline.cost:
            vsb = "%+.1f%%" % ((rk.cost / c.baseline.cost - 1) * 100)
        rows.append([str(i + 1), rk.variant, fmt_ns(rk.cost), "±" + fmt_ns(Z95 * rk.se), nxt,
                     f"{key} ({share * 100:.0f}%)", vsb])
    headers = ["rank", "variant", "ns/op of mix", "95% CI", "vs next", "largest term (share)",
               "vs " + c.baseline_name]
    return headers, rows

