"""Choosing a fix: a workload mix of weighted terms, and the correct variants ranked by it."""

import math
import os
from dataclasses import dataclass

from pagecore._errors import PagecoreError
from pagecore.report.formats import _ns, fmt_ns, fmt_signed_ns
from pagecore.report.results import DEFAULT_BASELINE, SUITES, _order_variants, _term, _variant_kind
from pagecore.report.stats import Z95, Diff, combine, common_workers, percentile_interval
from pagecore.report.verdicts import liveness, status, verdicts

# The chain lengths the hashchain suite measures (bench/hashchain.py's CHAINS): a mix's chain
# term is split between the two measured lengths around it.
CHAIN_POINTS = (0, 4, 16, 64, 256, 1024)

# The default workload, whose operations the default weights count (reports/README.md derives
# them step by step): writers that write a batch of pages each and fsync it, in a loop, on one
# file; a reader that runs fdatawait over the whole file, in a loop.
WORKLOAD = {"writers": 1024, "pages_per_fsync": 32, "readers": 1, "table_bits": 8}


def _chain_terms(chain, weight):
    """@weight of wakes behind @chain cold entries of other pages, split linearly between the
    measured chain lengths around it (a wake's cost grows linearly with its chain)."""
    lo = max(c for c in CHAIN_POINTS if c <= chain)
    hi = min((c for c in CHAIN_POINTS if c >= chain), default=lo)
    key = "hashchain/end_page_writeback/bits=8/chain={}/entries=cold"
    if hi == lo:
        return {key.format(lo): weight}
    f = (chain - lo) / (hi - lo)
    return {key.format(lo): weight * (1 - f), key.format(hi): weight * f}


def workload_mix(writers, pages_per_fsync, readers=1, table_bits=8):
    """The writeback terms' weights for @writers threads that each write @pages_per_fsync pages
    and fsync them, in a loop, and @readers that run fdatawait over the whole file, in a loop;
    the device completes an fsync's pages together.  Per fsync of B pages, by one writer:

    - write_cache_pages() unlocks each page it started writeback on: B unlock_page() with no
      waiter;
    - the writer's fdatawait looks the B pages up by their writeback tag and waits on each in
      turn: it sleeps on the first until the I/O completes, and then finds the other B - 1
      done: one wake with a waiter, B - 1 wait_on_page_writeback() of a clear page;
    - a reader's pass looks up every page in flight, the writers' N x B, sleeps on one and
      finds the rest done, and takes as long as an fsync's I/O: per writer's fsync, 1/N of a
      wake and B - 1/N clear waits for each reader;
    - the I/O completion ends the B pages: the wakes above have a waiter, the rest none;
    - the woken waiter's bucket holds the entries of the other tasks asleep then, the N writers
      (I/O-bound, they sleep most of the time) and the readers, hashed over the
      2^table_bits buckets: (N + readers - 1) / 2^table_bits entries ahead of it, each on
      another task's stack, cold in the waker's caches.

    Weights are each operation's share of all of them (they sum to 1)."""
    n, b = float(writers), float(pages_per_fsync)
    if n < 1 or b < 1 or readers < 0 or not 1 <= table_bits <= 24:
        raise PagecoreError("a workload needs writers >= 1, pages_per_fsync >= 1, readers >= 0 "
                            "and table_bits in 1..24")
    wakes = 1 + readers / n
    ops = {
        "hotpath/unlock_page_no_waiters": b,
        "hotpath/wait_on_page_writeback_clear": (b - 1) + readers * (b - 1 / n),
        "hotpath/end_page_writeback_no_waiters": b - wakes,
    }
    chain = (n + readers - 1) / (1 << table_bits)
    total = math.fsum(ops.values()) + wakes
    mix = {k: v / total for k, v in ops.items()}
    mix.update(_chain_terms(chain, wakes / total))
    return mix


# The dirty path's weights are not derived from the workload (its writers write() only, so every
# writepage would be of an unmapped page, where the two variants run the same code): a third of
# the pages, mapped and stored to through the mapping, is where they differ.
DIRTY_MIX = {
    "dirty/cpdfio_writepage/state=unmapped": 0.50,
    "dirty/cpdfio_writepage/state=mapped_clean": 0.30,
    "dirty/cpdfio_writepage/state=mapped_dirty": 0.20,
}

# The waiter terms use a queued waiter (its wake costs the waker a known, constant amount):
# the futex wake of a sleeping thread, about 2 us on a VM and the same in every variant, would
# otherwise be most of the mix and hide differences of a few ns between the fixes.
DEFAULT_MIX = dict(workload_mix(**WORKLOAD), **DIRTY_MIX)


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
        # a regular file of a sane size: /dev/zero or a FIFO would never end
        if not os.path.isfile(path):
            raise PagecoreError(f"{path}: not a regular file" if os.path.exists(path)
                                else f"{path}: cannot read: no such file")
        if os.path.getsize(path) > 1 << 20:
            raise PagecoreError(f"{path}: more than 1 MiB, not a weights file")
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
    vs_baseline: Diff = None    # paired difference against the baseline, seconds per op

    @property
    def cost(self):
        return math.fsum(w * r.mean for w, r in self.parts.values())

    @property
    def ci(self):
        """Half-width of the 95% interval of the weighted cost (terms independent)."""
        d = combine([(w * r.mean, (w * r.se) ** 2, max(1, r.n - 1))
                     for w, r in self.parts.values()])
        return (d.hi - d.lo) / 2

    def dominant(self):
        key, (w, r) = max(self.parts.items(), key=lambda kv: kv[1][0] * kv[1][1].mean)
        return key, w * r.mean / self.cost if self.cost else 0.0


def same_source(a, b):
    """Whether @a and @b (Ranked) run identical code in every term of the mix."""
    return all(ra.impl is not None and ra.impl == b.parts[k][1].impl
               for k, (_, ra) in a.parts.items())


def paired_gap(a, b):
    """b's weighted cost less a's, as a Diff: per suite, the weighted differences of the
    worker processes that measured every term of that suite for both, averaged; suites (their
    own processes) add as independent, and so does each term's harness error (the A/A
    calibration of its suite).  A term without worker pairs enters unpaired."""
    by_suite, unpaired = {}, []
    for k, (w, ra) in a.parts.items():
        rb = b.parts[k][1]
        # the harness's own error of this pair (results.calibrate), as a variance
        err = w * ra.mean * max(ra.harness_err, rb.harness_err)
        if err:
            unpaired.append((0.0, err * err, math.inf))
        if common_workers(ra, rb):
            by_suite.setdefault(ra.suite, []).append((w, ra, rb))
        else:
            unpaired.append((w * (rb.mean - ra.mean),
                             (w * ra.se) ** 2 + (w * rb.se) ** 2, max(1, min(ra.n, rb.n) - 1)))
    groups = []
    for terms in by_suite.values():
        ws = set.intersection(*(set(common_workers(ra, rb)) for _, ra, rb in terms))
        if len(ws) < 2:
            unpaired += [(w * (rb.mean - ra.mean), (w * ra.se) ** 2 + (w * rb.se) ** 2,
                          max(1, min(ra.n, rb.n) - 1)) for w, ra, rb in terms]
            continue
        d = [math.fsum(w * (rb.by_worker[k] - ra.by_worker[k]) for w, ra, rb in terms)
             for k in sorted(ws)]
        m = math.fsum(d) / len(d)
        groups.append((m, math.fsum((x - m) ** 2 for x in d) / (len(d) - 1) / len(d),
                       len(d) - 1))
    return combine(groups + unpaired)


@dataclass
class Gap:
    cheaper: Ranked
    dearer: Ranked
    diff: Diff                  # dearer - cheaper, seconds per op of the mix
    pct: float
    tie: bool                   # the interval of the difference includes zero
    same_source: bool           # identical code in every term: a tie by construction
    main_key: str               # the term that contributes most to the gap
    main_part: float
    flip: tuple = None          # (key, weight now, weight at which the order flips)

    @property
    def significant(self):
        return not self.tie


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
    baseline_note: str = ""     # why the baseline is not the one asked for
    def gaps(self):
        return [gap(a, b) for a, b in zip(self.ranked, self.ranked[1:])]

    def tied_with_leader(self):
        """The leader and every ranked variant whose gap to it is a tie."""
        if not self.ranked:
            return []
        lead = self.ranked[0]
        return [lead] + [rk for rk in self.ranked[1:] if gap(lead, rk).tie]

    def winner(self):
        """The leader, or None when another correct variant ties with it."""
        tied = self.tied_with_leader()
        return tied[0] if len(tied) == 1 else None

    def as_dict(self, table=None):
        def diff(d):
            return d.as_dict() if d is not None else None

        tied = self.tied_with_leader()
        return {
            "machine": self.machine, "kind": self.kind, "mix": self.mix,
            "verified": self.verified, "baseline": self.baseline_name,
            "baseline_note": self.baseline_note or None,
            "winner": self.winner().variant if self.winner() else None,
            "tie": [rk.variant for rk in tied] if len(tied) > 1 else [],
            "ranking": [{"rank": i + 1, "variant": rk.variant, "cost_ns": rk.cost * 1e9,
                         "ci_ns": rk.ci * 1e9, "vs_baseline_ns": diff(rk.vs_baseline),
                         "terms_ns": {k: r.mean * 1e9 for k, (_, r) in rk.parts.items()}}
                        for i, rk in enumerate(self.ranked)],
            "gaps": [{"cheaper": g.cheaper.variant, "dearer": g.dearer.variant,
                      "gap_ns": g.diff.as_dict(), "pct": g.pct, "tie": g.tie,
                      "same_source": g.same_source} for g in self.gaps()],
            "excluded": [{"variant": v, "reason": why,
                          "failures": _failures(table, v) if table is not None else []}
                         for v, why, _ in self.excluded],
            "dropped_terms": [{"term": k, "reason": why} for k, why in self.dropped],
        }


def _failures(table, v):
    return {s: c.failures for s, c in table.get(v, {}).items() if c.failures}


def gap(a, b):
    same = same_source(a, b)
    d = paired_gap(a, b)
    contrib = {k: w * (b.parts[k][1].mean - ra.mean) for k, (w, ra) in a.parts.items()}
    main = max(contrib, key=lambda k: contrib[k])
    # One weight moved, the others fixed: with d_t the per-op difference in term t, the order
    # flips at w_t + d/(-d_t) when b is cheaper in t, or at w_t - d/d_t when b is dearer in t
    # and that stays >= 0.  The smallest move is the one reported.
    flip = None
    for k, (w, ra) in a.parts.items():
        dt = b.parts[k][1].mean - ra.mean
        if dt < 0:
            at = w + d.mean / -dt
        elif dt > 0 and w - d.mean / dt >= 0:
            at = w - d.mean / dt
        else:
            continue
        if flip is None or abs(at - w) < abs(flip[2] - flip[1]):
            flip = (k, w, at)
    return Gap(a, b, d, d.mean / a.cost * 100 if a.cost else math.inf,
               same or d.includes_zero, same, main, contrib[main], flip)


def choose(rs, mix=None, kind="writeback", baseline=None, exclude=(), exclude_starving=False):
    """Rank the variants of one kind per machine by weighted cost over the mix: by their paired
    difference against the baseline.

    Variants that fail any verification scenario are excluded (with the scenario); with no
    verify results at all every variant is ranked and Choice.verified is False.  @exclude:
    (variant, reason) pairs excluded besides.  With @exclude_starving, so are the variants
    whose slow waiter starved in writeback-starvation (a liveness result, not a race: by
    default they are ranked).
    """
    mix = DEFAULT_MIX if mix is None else mix
    kmix = {k: w for k, w in mix.items() if w > 0 and _kind_of_key(k) == kind}
    baseline = baseline if baseline and _variant_kind(baseline) == kind \
        else DEFAULT_BASELINE[kind]
    excluded_by = dict(exclude)
    table = verdicts(rs)
    if exclude_starving:
        for v in table:
            live, why = liveness(rs, v, table)
            if live == "starved":
                excluded_by.setdefault(v, why)
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
        base, note = baseline, ""
        if base not in variants:
            # never an empty column against a variant that was not measured here
            base = variants[0]
            note = (f"{baseline} was not measured on {m.name}: the paired differences are "
                    f"against {base}, the first {kind} variant measured there")
        c = Choice(m.name, kind, used, dropped, [], [], rs.has_verify, baseline_name=base,
                   baseline_note=note)
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
            if v == base:
                c.baseline = rk
            if v in excluded_by:
                c.excluded.append((v, (f"{reason}; " if state == "racy" else "")
                                   + excluded_by[v], rk))
            elif state == "clean" or not rs.has_verify:
                c.ranked.append(rk)
            else:
                c.excluded.append((v, reason, rk))
        every = c.ranked + [rk for _, _, rk in c.excluded if rk is not None]
        for rk in every:
            if c.baseline is not None:
                rk.vs_baseline = paired_gap(c.baseline, rk)
        c.ranked.sort(key=lambda x: (x.vs_baseline.mean if x.vs_baseline else x.cost))
    return choices


def reasoning(c, table=None):
    """The argument behind a ranking, one sentence per line (shared by report and CLI)."""
    lines = [c.baseline_note + "."] if c.baseline_note else []
    if not c.mix:
        return lines + [f"No term of the mix was measured on {c.machine}: nothing to rank."]
    if not c.verified:
        lines.append("No verification results: the ranking below includes variants that may "
                     "be racy. `pagecore bench` verifies what has no verdict (and keeps it for the "
                     "variant's source); or `pagecore verify --json "
                     "results/<machine>/verify.json`.")
    if not c.ranked:
        lines.append("No variant passes every scenario on the measured terms: nothing to "
                     "recommend.")
        lines.extend(f"{v} is excluded: {reason}." for v, reason, _ in c.excluded)
        return lines
    best = c.ranked[0]
    key, share = best.dominant()
    tied = c.tied_with_leader()
    if len(tied) > 1:
        diffs = [gap(best, rk).diff for rk in tied[1:]]
        why = ("one process per variant gives no interval of the paired difference to {} "
               "to order them by" if not any(math.isfinite(d.hi - d.lo) for d in diffs) else
               "the 95% interval of each one's paired difference to {} includes zero, so "
               "the data do not order them")
        lines.append("**Tie** between {}: {}.".format(
            ", ".join(f"**{rk.variant}**" for rk in tied), why.format(best.variant)))
    else:
        lines.append(f"**{best.variant}** is cheapest: {_ns(best.cost)} per operation of the "
                     f"mix (95% CI ±{_ns(best.ci)}); its largest term is `{key}` "
                     f"({share * 100:.0f}% of its cost).")
    for g in c.gaps():
        d = g.diff
        if g.same_source:
            verdict = "the same source in every term: a tie whatever was measured"
        elif g.tie and not math.isfinite(d.hi - d.lo):
            verdict = "a tie: one process cannot tell them apart"
        elif g.tie:
            verdict = "a tie: the 95% interval of the difference includes zero"
        else:
            verdict = "a significant difference"
        s = (f"{g.cheaper.variant} is {_ns(d.mean)} ({g.pct:.1f}%, {_ci(d)}) cheaper than "
             f"{g.dearer.variant}, {verdict}. The gap is mostly `{g.main_key}` "
             f"({_ns(g.main_part)} of it).")
        if g.flip and not g.same_source:
            k, w, at = g.flip
            s += (f" The order flips if the weight of `{k}` {'rises' if at > w else 'falls'} "
                  f"from {w:.2f} to {at:.2f} (others fixed).")
        lines.append(s)
    base = c.baseline
    for rk in c.ranked:
        if base is None or rk is base or rk.vs_baseline is None:
            continue
        buys = _buys(rk.variant, c.baseline_name, table)
        d = rk.vs_baseline
        pct = d.mean / base.cost * 100 if base.cost else 0.0
        price = (f"at a cost of {_ns(d.mean)} ({pct:+.1f}%)" if d.mean >= 0
                 else f"and is {_ns(-d.mean)} ({pct:+.1f}%) cheaper")
        sure = ("" if not math.isfinite(d.hi - d.lo) else
                ", within noise" if d.includes_zero else ", significant")
        lines.append(f"{rk.variant} {buys} {price} per operation of the mix against "
                     f"{c.baseline_name} (paired: {_ci(d)}{sure}).")
    starving = [rk.variant for rk in c.ranked if table and _starves(rk.variant, table)]
    if starving:
        lines.append("{} {} a slow waiter in writeback-starvation (not a race, so ranked); "
                     "`pagecore choose --exclude-starving` leaves {} out.".format(
                         ", ".join(starving), "starves" if len(starving) == 1 else "starve",
                         "it" if len(starving) == 1 else "them"))
    for v, reason, _ in c.excluded:
        lines.append(f"{v} is excluded: {reason}.")
    return lines


def _ci(d):
    """A difference's 95% interval in words; one process gives none."""
    if not math.isfinite(d.hi - d.lo):
        return "no 95% CI, one process per variant gives no spread to judge by"
    return f"95% CI {fmt_ns(d.lo)} to {fmt_ns(d.hi)} ns"


def _starves(variant, table):
    return any(vd.starved for vd in table.get(variant, {}).values())


def _buys(variant, baseline, table):
    if not table:
        return "(unverified)"
    fixed = [s for s, vd in table.get(baseline, {}).items()
             if vd.failures and s in table.get(variant, {})
             and not table[variant][s].failures]
    return "closes {} (which {} fails)".format(", ".join(fixed), baseline) if fixed \
        else f"closes no scenario that {baseline} fails"


def ranking_table(c):
    """Rows for the ranking: rank, variant, cost, CI, vs baseline (paired), vs next, the
    dominant term."""
    gaps = c.gaps()
    rows = []
    for i, rk in enumerate(c.ranked):
        key, share = rk.dominant()
        nxt = ""
        if i < len(gaps):
            g = gaps[i]
            mark = " = (same source)" if g.same_source else " ~ (tie)" if g.tie else " *"
            nxt = "-{} ({:.1f}%){}".format(_ns(g.diff.mean), g.pct, mark)
        vsb = ""
        if rk.vs_baseline is not None and c.baseline is not None and rk is not c.baseline:
            d = rk.vs_baseline
            vsb = "{} ns [{}, {}]{}".format(fmt_signed_ns(d.mean), fmt_ns(d.lo), fmt_ns(d.hi),
                                                 " ~" if d.includes_zero else " *")
        rows.append([str(i + 1), rk.variant, fmt_ns(rk.cost), "±" + fmt_ns(rk.ci),
                     vsb, nxt, f"{key} ({share * 100:.0f}%)"])
    headers = ["rank", "variant", "ns/op of mix", "95% CI", "vs " + c.baseline_name + " (paired)",
               "vs next", "largest term (share)"]
    return headers, rows


# -- predicted from the floor -------------------------------------------------------------

def unit_costs(rs, machine=None):
    """Seconds per event of each kind, and LOOP for the loop itself, fitted to the floor suite
    (pagecore.report.predict): {kind: seconds}.  Kinds no floor case exercises cost nothing."""
    from pagecore.report.predict import fit_units

    return fit_units(rs, machine).cost


def predict(events, units):
    """Σ events × unit cost (and the loop's own), seconds per operation."""
    from pagecore.report import predict as _p

    return _p.predict(events, units)


def choose_predicted(rs, floor_rs, mix=None, kind="writeback", baseline=None,
                     exclude_starving=False):
    """Rank the correct variants of @rs by cost predicted from another machine's floor suite
    (@floor_rs): each term's events, as counted here, times that machine's unit costs, plus
    the term's uncounted work where that floor timed its path (pagecore.report.predict).
    Returns [(variant, predicted seconds per op of the mix, {term: seconds})], cheapest first,
    the excluded [(variant, reason)], the mix used, the fitted Units and the gaps
    (predicted_gaps); with @exclude_starving, as choose()."""
    from pagecore.report.predict import fit_units, predictions

    units = fit_units(floor_rs)
    mix = DEFAULT_MIX if mix is None else mix
    kmix = {k: w for k, w in mix.items() if w > 0 and _kind_of_key(k) == kind}
    table = verdicts(rs)
    events = {}
    for r in rs.results():
        if _variant_kind(r.variant) == kind and r.events is not None:
            events.setdefault(r.term, {})[r.variant] = r.events
    used = {k: w for k, w in kmix.items() if parse_key(k) in events}
    if not used:
        raise PagecoreError("no event counts for the %s mix in the results: run "
                            "`pagecore bench` here first (events do not depend on the machine)"
                            % kind)
    ranked, excluded, boot = [], [], {}
    variants = _order_variants({v for t in events.values() for v in t})
    for v in variants:
        terms = {k: events[parse_key(k)].get(v) for k in used}
        state, reason = status(rs, v, table)
        if any(e is None for e in terms.values()):
            excluded.append((v, "no event counts for every term"))
        elif state == "racy":
            excluded.append((v, reason))
        elif exclude_starving and liveness(rs, v, table)[0] == "starved":
            excluded.append((v, liveness(rs, v, table)[1]))
        else:
            per = {k: units.predict(e, parse_key(k)) for k, e in terms.items()}
            ranked.append((v, math.fsum(used[k] * t for k, t in per.items()), per))
            boot[v] = [math.fsum(x) for x in zip(*(
                [used[k] * t for t in units.samples(e, parse_key(k))]
                for k, e in terms.items()))]
    ranked.sort(key=lambda x: x[1])
    # what the events leave out between variants of a path, as the results' own measurements
    # show it (their machine's floor where they have one, else this one's units)
    suites = {parse_key(k)[0] for k in used}
    measured = predictions(rs, suites) or predictions(rs, suites, units=units)
    return ranked, excluded, used, units, predicted_gaps(ranked, boot, used, measured)


def predicted_gaps(ranked, boot, mix=None, measured=()):
    """[(cheaper, dearer, lo, hi)] of each consecutive pair of @ranked: the 95% interval of
    the predicted difference over the floor's bootstrap resamples (@boot: variant -> its mix
    cost in each), (0, 0) for variants whose events are the same (their predictions are
    equal in every resample).  An interval that holds 0 is a predicted tie.

    With @measured (predictions of measured benchmarks, pagecore.report.predict), each gap is
    widened by the model's own error: per term of @mix, the relative error of the held-out
    predictions of the variants other than the pair (model_error), applied to each of the
    two predictions of the term, the terms and the two taken as independent.  A difference
    of events the floor prices at less than the variants of a path differ by anyway is not
    a predicted order."""
    from pagecore.report.predict import model_error

    out = []
    for (a, _, pa), (b, _, pb) in zip(ranked, ranked[1:]):
        iv = percentile_interval([y - x for x, y in zip(boot.get(a, ()), boot.get(b, ()))])
        if iv is None:
            out.append((a, b, None, None))
            continue
        lo, hi = iv
        if measured and mix and pa != pb:
            err = model_error(measured, exclude={a, b})
            var = math.fsum((mix[t] * err.get(parse_key(t), 0.0)) ** 2 * (pa[t] ** 2 + pb[t] ** 2)
                            for t in mix if t in pa and t in pb)
            w = Z95 * math.sqrt(var)
            lo, hi = lo - w, hi + w
        out.append((a, b, lo, hi))
    return out


def predicted_ties(ranked, gaps):
    """Per consecutive pair of @ranked (choose_predicted), whether the prediction ties them:
    equal predictions (equal events), or a gap whose 95% interval holds 0."""
    return [ca == cb or (lo is not None and lo <= 0 <= hi)
            for (_, ca, _), (_, cb, _), (_, _, lo, hi) in zip(ranked, ranked[1:], gaps)]
