"""Overhead reports: what each fix costs, which correct fix is cheapest, and how sure we are.

Input is what `pagecore bench` and `pagecore verify --json` write: results/<machine>/<suite>.json
(pyperf suites, values in seconds per operation, benchmark names suite/case/variant[/k=v...])
and results/<machine>/verify.json.  Output is reports/<name>/report.md and a self-contained
report.html (plots inlined), plus the `report`, `choose` and `compare` commands.

Statistics.  Each pyperf run is a fresh worker process, so the unit of independence is the
run: a benchmark's sample is its per-run means (all values when there is a single run).  Costs
are shown as mean +-stddev; a change against the baseline is significant when Welch's two-sample
t-test on those samples rejects equal means at 95% (pyperf's t table, Welch-Satterthwaite
degrees of freedom), marked `*`; `~` means within noise.

Choosing a fix.  A workload mix gives each measured operation (a benchmark name without its
variant) a weight, its relative frequency.  A variant's weighted cost is sum(weight * cost):
nanoseconds per operation of the mix.  Only variants that pass every verification scenario are
ranked.  The default mix, DEFAULT_MIX below:

    hotpath/end_page_writeback_no_waiters       0.60  nobody waits: the common case
    hotpath/wait_on_page_writeback_clear        0.20  fsync/truncate finding writeback done
    hotpath/end_page_writeback_one_waiter       0.10  a waiter to wake
    hashchain/end_page_writeback/bits=8/chain=4 0.10  the wake walks a shared bucket
    dirty/cpdfio_writepage/state=unmapped       0.50  (dirty path, ranked separately)
    dirty/cpdfio_writepage/state=mapped_clean   0.30
    dirty/cpdfio_writepage/state=mapped_dirty   0.20
"""

import math
import os
import re
import statistics
from dataclasses import dataclass, field

from pagecore._errors import PagecoreError

SUITES = ("floor", "hotpath", "contention", "hashchain", "dirty")

DEFAULT_MIX = {
    "hotpath/end_page_writeback_no_waiters": 0.60,
    "hotpath/wait_on_page_writeback_clear": 0.20,
    "hotpath/end_page_writeback_one_waiter": 0.10,
    "hashchain/end_page_writeback/bits=8/chain=4": 0.10,
    "dirty/cpdfio_writepage/state=unmapped": 0.50,
    "dirty/cpdfio_writepage/state=mapped_clean": 0.30,
    "dirty/cpdfio_writepage/state=mapped_dirty": 0.20,
}

# floor compares pagecore's primitives with a plain C program; the dirty path has its own
# pre-fix kernel.  The --baseline option picks the baseline of its own kind only.
FLOOR_BASELINE = "plain-c"
DEFAULT_BASELINE = {"writeback": "original", "dirty": "cpdfio-2.6.19"}

# 95% two-sided normal quantile, for sums of many terms where a t table is not needed
Z95 = 1.96


# -- results ------------------------------------------------------------------------------

@dataclass
class Result:
    machine: str
    name: str
    suite: str
    case: str
    variant: str
    params: tuple          # ((key, value), ...) in name order
    samples: tuple         # seconds per operation, one per run
    events: dict = None    # per-operation event counts, None when not recorded

    def __post_init__(self):
        s = self.samples
        self.n = len(s)
        self.mean = statistics.fmean(s)
        self.sd = statistics.stdev(s) if self.n > 1 else 0.0
        self.se = self.sd / math.sqrt(self.n)
        self.ci = _t95(self.n - 1) * self.se if self.n > 1 else 0.0

    @property
    def rsd(self):
        return self.sd / self.mean if self.mean else 0.0

    @property
    def term(self):
        """The benchmark without its variant: what a weight and a comparison row name."""
        return _term(self.suite, self.case, self.params)

    @property
    def key(self):
        return "/".join([self.suite, self.case] + ["{}={}".format(*kv) for kv in self.params])

    def param(self, name):
        return _num(dict(self.params).get(name))


def _term(suite, case, params):
    return (suite, case, frozenset(params))


def _num(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v


def _t95(df):
    from pyperf._utils import tdist95conf_level

    return tdist95conf_level(max(1, df))


@dataclass
class Machine:
    name: str
    results: dict = field(default_factory=dict)   # benchmark name -> Result
    verify: list = field(default_factory=list)    # rows of verify.json
    meta: dict = field(default_factory=dict)
    files: list = field(default_factory=list)

    def suites(self):
        return sorted({r.suite for r in self.results.values()}, key=_suite_order)


class ResultSet:
    def __init__(self):
        self.machines = {}
        self.notes = []

    def machine(self, name):
        if name not in self.machines:
            self.machines[name] = Machine(name)
        return self.machines[name]

    def results(self, suite=None):
        for m in self.machines.values():
            for r in m.results.values():
                if suite is None or r.suite == suite:
                    yield r

    def suites(self):
        return sorted({r.suite for r in self.results()}, key=_suite_order)

    def variants(self):
        return _order_variants({r.variant for r in self.results()})

    def verify_rows(self):
        for m in self.machines.values():
            for row in m.verify:
                yield m.name, row

    @property
    def has_verify(self):
        return any(m.verify for m in self.machines.values())


def _suite_order(s):
    return (SUITES.index(s) if s in SUITES else len(SUITES), s)


def _order_variants(names):
    from pagecore.model.variants import VARIANTS

    known = list(VARIANTS)
    return sorted(names, key=lambda v: (known.index(v) if v in known else len(known), v))


def _variant_kind(v):
    from pagecore.model.variants import VARIANTS

    return VARIANTS[v].kind if v in VARIANTS else None


def parse_name(name):
    """'suite/case/variant[/k=v...]' -> (suite, case, variant, params), or None."""
    parts = name.split("/")
    if len(parts) < 3 or any(not p for p in parts) or any("=" in p for p in parts[:3]):
        return None
    params = []
    for p in parts[3:]:
        k, sep, v = p.partition("=")
        if not sep or not k or not v:
            return None
        params.append((k, v))
    return parts[0], parts[1], parts[2], tuple(params)


def parse_events(text):
    if not text:
        return None
    ev = {}
    for item in str(text).split():
        k, sep, v = item.partition("=")
        try:
            ev[k] = float(v)
        except ValueError:
            return None
        if not sep:
            return None
    return ev


def load_results(paths=None):
    """Read result paths (results roots, machine directories, or single .json files)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths and not os.path.exists("results"):
        raise PagecoreError("results: no such directory (run `tox -e bench` first, or name "
                            "the results to report on)")
    paths = [os.fspath(p) for p in (paths or ["results"])]
    rs = ResultSet()
    seen = set()
    for p in paths:
        for machine, f in _discover(p):
            real = os.path.realpath(f)
            if real not in seen:
                seen.add(real)
                _load_file(rs, machine, f)
    if not any(m.results or m.verify for m in rs.machines.values()):
        raise PagecoreError("no pagecore results in {}".format(", ".join(paths)))
    return rs


def _json_files(d):
    try:
        names = sorted(os.listdir(d))
    except OSError as e:
        raise PagecoreError(f"{d}: cannot read directory: {e.strerror}") from None
    return [os.path.join(d, n) for n in names
            if n.endswith(".json") and os.path.isfile(os.path.join(d, n))]


def _discover(p):
    """(machine, file) pairs under p; a machine is named by its directory."""
    if not os.path.exists(p):
        raise PagecoreError(f"{p}: no such file or directory")
    if not os.path.isdir(p):
        return [(_machine_of(p), p)]
    found = [(_machine_of(f), f) for f in _json_files(p)]
    for n in sorted(os.listdir(p)):
        sub = os.path.join(p, n)
        if os.path.isdir(sub):
            found += [(n, f) for f in _json_files(sub)]
    if not found:
        raise PagecoreError(f"{p}: no result files (expected <machine>/<suite>.json)")
    return found


def _machine_of(path):
    return os.path.basename(os.path.dirname(os.path.abspath(path))) or "local"


def _read_json(path):
    import json

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise PagecoreError(f"{path}: cannot read: {e.strerror}") from None
    if not raw.strip():
        raise PagecoreError(f"{path}: empty file")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PagecoreError(f"{path}: not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise PagecoreError(
            f"{path}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None


def _load_file(rs, machine, path):
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        _load_verify(rs.machine(machine), path, data["results"])
    elif isinstance(data, dict) and "benchmarks" in data and "version" in data:
        _load_suite(rs, machine, path, data)
    else:
        raise PagecoreError(f"{path}: neither a pyperf result file nor a pagecore verify file")


def _load_suite(rs, machine, path, data):
    import json

    import pyperf

    try:
        suite = pyperf.BenchmarkSuite.loads(json.dumps(data))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        # what pyperf raises on a file of the right shape but wrong content
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PagecoreError(f"{path}: not a valid pyperf result file: {why}") from None
    m = rs.machine(machine)
    m.files.append(path)
    loaded = skipped = 0
    for bench in suite.get_benchmarks():
        name = bench.get_name()
        parsed = parse_name(name or "")
        if parsed is None:
            skipped += 1
            continue
        runs = [r.values for r in bench.get_runs() if r.values]
        if not runs:
            continue
        samples = ([statistics.fmean(v) for v in runs] if len(runs) > 1 else list(runs[0]))
        meta = bench.get_metadata()
        if name in m.results:
            rs.notes.append(f"{machine}: {name} is in more than one file; the last one read "
                            "is used")
        m.results[name] = Result(machine, name, *parsed, samples=tuple(samples),
                                 events=parse_events(meta.get("pagecore_events")))
        loaded += 1
        for k in ("hostname", "cpu_count", "cpu_model_name", "platform", "python_version"):
            if k in meta and k not in m.meta:
                m.meta[k] = meta[k]
        dates = bench.get_dates()
        if dates:
            m.meta.setdefault("dates", []).extend(d.strftime("%Y-%m-%d") for d in dates)
    if not loaded:
        raise PagecoreError(f"{path}: not a pagecore result file (no benchmark is named "
                            "suite/case/variant)")
    if skipped:
        rs.notes.append(
            f"{path}: {skipped} benchmarks with names not of the form suite/case/variant "
            "were ignored"
        )


def _load_verify(m, path, rows):
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise PagecoreError(f"{path}: verify result {i} is not an object")
        for k in ("variant", "scenario"):
            if not isinstance(row.get(k), str):
                raise PagecoreError(f"{path}: verify result {i} has no {k!r} string")
        if not isinstance(row.get("failures", []), list):
            raise PagecoreError(f"{path}: verify result {i}: 'failures' must be a list")
    m.verify.extend(rows)
    m.files.append(path)


# -- statistics ---------------------------------------------------------------------------

def welch(a, b):
    """(significant at 95%, t) for two samples; (None, None) when either has one value."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return None, None
    va, vb = statistics.variance(a) / na, statistics.variance(b) / nb
    diff = statistics.fmean(b) - statistics.fmean(a)
    if va + vb == 0:
        return diff != 0, math.copysign(math.inf, diff) if diff else 0.0
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va * va / (na - 1) if va else 0) + (vb * vb / (nb - 1) if vb else 0))
    return abs(t) >= _t95(df), t


@dataclass
class Change:
    pct: float
    sd_pct: float
    significant: object   # True, False, or None when unknown (a single run)

    def text(self):
        mark = {True: " *", False: " ~", None: " ?"}[self.significant]
        return f"{self.pct:+.1f}% ±{self.sd_pct:.1f}%{mark}"

    def css(self):
        if not self.significant:
            return ""
        return "sig-worse" if self.pct > 0 else "sig-better"


def change(base, new):
    """Change of new against base; +% means new costs more."""
    ratio = new.mean / base.mean
    sd = ratio * math.hypot(base.rsd, new.rsd) * 100
    sig, _ = welch(base.samples, new.samples)
    return Change((ratio - 1) * 100, sd, sig)


def linfit(xs, ys):
    """Least squares y = a + b x: (b, a, standard error of b)."""
    n = len(xs)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    if n < 2 or sxx == 0:
        return 0.0, my, math.nan
    b = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    if n < 3:
        return b, a, math.nan
    ssr = math.fsum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    return b, a, math.sqrt(ssr / (n - 2) / sxx)


def fmt_ns(seconds):
    ns = seconds * 1e9
    if abs(ns) >= 1000:
        return f"{ns:,.0f}"
    if abs(ns) >= 100:
        return f"{ns:.0f}"
    if abs(ns) >= 10:
        return f"{ns:.1f}"
    return f"{ns:.2f}"


def fmt_cost(r):
    return f"{fmt_ns(r.mean)} ±{r.rsd * 100:.1f}%"


def fmt_slope(b, se):
    """A fitted slope with its standard error, to the error's first significant digit."""
    if math.isnan(se):
        return f"{b:.2f} ±?"
    digits = 2 if se <= 0 else min(4, max(2, -math.floor(math.log10(se))))
    return f"{b:.{digits}f} ±{se:.{digits}f}"


def fmt_events(ev):
    if ev is None:
        return "–"
    nz = [f"{k}={v:g}" for k, v in ev.items() if v]
    return " ".join(nz) if nz else "none"


# -- verification -------------------------------------------------------------------------

@dataclass
class Verdict:
    """Every verify row for one variant and scenario, from every machine and mode."""

    rows: list = field(default_factory=list)   # (machine, row)

    @property
    def failures(self):
        return sorted({f for _, r in self.rows for f in r.get("failures") or []})

    @property
    def modes(self):
        return sorted({str(r.get("mode", "?")) for _, r in self.rows})

    @property
    def ops(self):
        return sum(_count(r, "ops") for _, r in self.rows)


def _count(row, k):
    c = row.get("counts")
    v = c.get(k, 0) if isinstance(c, dict) else 0
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def verdicts(rs):
    """variant -> scenario -> Verdict."""
    out = {}
    for machine, row in rs.verify_rows():
        out.setdefault(row["variant"], {}).setdefault(row["scenario"], Verdict()).rows.append(
            (machine, row))
    return out


def expected_scenarios(variant, table):
    from pagecore.model.variants import VARIANTS

    v = VARIANTS.get(variant)
    seen = list(table.get(variant, {}))
    return list(v.scenarios) + [s for s in seen if s not in v.scenarios] if v else seen


def status(rs, variant, table=None):
    """('clean' | 'racy' | 'unverified', reason) from the verify results."""
    if not rs.has_verify:
        return "unverified", "no verification results"
    table = verdicts(rs) if table is None else table
    cells = table.get(variant, {})
    failing = ["{} ({})".format(s, ", ".join(c.failures)) for s, c in cells.items() if c.failures]
    if failing:
        return "racy", "fails " + "; ".join(failing)
    missing = [s for s in expected_scenarios(variant, table) if s not in cells]
    if missing:
        return "unverified", "not verified: " + ", ".join(missing)
    return "clean", "passes " + ", ".join(cells)


def evidence_lines(verdict):
    lines = []
    for machine, row in verdict.rows:
        counts = row.get("counts")
        head = "**{}, {}**".format(machine, row.get("mode", "?"))
        if isinstance(counts, dict) and counts:
            head += ": " + ", ".join(f"{k}={_fmt_count(v)}" for k, v in counts.items())
        lines.append(head)
        ev = row.get("evidence") or []
        for item in (ev if isinstance(ev, list) else [ev]):
            if isinstance(item, dict):
                lines.append(", ".join(f"{k}={_fmt_count(v)}" for k, v in item.items()))
            else:
                lines.append(str(item))
    return lines


def _fmt_count(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


# -- weights ------------------------------------------------------------------------------

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


def _weight_value(key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise PagecoreError(f"weight for {key!r} must be a number >= 0, not {v!r}")
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
            raise PagecoreError(f"--weight {item!r}: weight must be a number >= 0") from None
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


# -- choosing a fix -----------------------------------------------------------------------

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


def _ns(seconds):
    return fmt_ns(seconds) + " ns"


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


# -- compare ------------------------------------------------------------------------------

def compare(old, new):
    """Pair benchmarks of two result sets: [(label, old Result, new Result, Change)]."""
    if len(old.machines) == 1 and len(new.machines) == 1:
        pairs = [(None, next(iter(old.machines.values())), next(iter(new.machines.values())))]
    else:
        pairs = [(n, old.machines[n], new.machines[n]) for n in old.machines if n in new.machines]
        if not pairs:
            raise PagecoreError("no machine in common between the two result sets "
                                f"({', '.join(old.machines)}; {', '.join(new.machines)})")
    rows = []
    for label, mo, mn in pairs:
        names = [n for n in mo.results if n in mn.results]
        names.sort(key=lambda n: (_suite_order(mo.results[n].suite), n))
        for n in names:
            ro, rn = mo.results[n], mn.results[n]
            rows.append((f"{label}: {n}" if label else n, ro, rn, change(ro, rn)))
    if not rows:
        raise PagecoreError("no benchmark in common between the two result sets")
    return rows


# -- writing the report -------------------------------------------------------------------

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
                 weights=None):
    """Write <outdir>/<name>/report.md, report.html and the PNGs; return report.html's path.

    weights: None for DEFAULT_MIX, a dict of key -> weight, or the path of a TOML file.
    """
    rs = load_results(results_paths)
    check_baseline(rs, baseline)
    if isinstance(weights, (str, os.PathLike)):
        weights = load_weights_file(weights)
    mix = make_mix(weights)
    check_mix(rs, mix, list(weights or ()))
    return _write(rs, outdir, name or default_name(rs), baseline, mix)


def _write(rs, outdir, name, baseline, mix):
    from pagecore.report.html import render_html, render_markdown

    d = os.path.join(outdir, name)
    try:
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("fig-") and f.endswith(".png"):
                os.remove(os.path.join(d, f))   # plots of an earlier report in the same place
    except OSError as e:
        raise PagecoreError(f"{d}: cannot write: {e.strerror}") from None
    doc = build(rs, d, baseline, mix)
    md, page = os.path.join(d, "report.md"), os.path.join(d, "report.html")
    with open(md, "w", encoding="utf-8") as f:
        f.write(render_markdown(doc))
    with open(page, "w", encoding="utf-8") as f:
        f.write(render_html(doc, d))
    return page


# -- the report body ----------------------------------------------------------------------

_TERM_NOTES = {
    "hotpath/end_page_writeback_no_waiters": "nobody waits: the common case",
    "hotpath/wait_on_page_writeback_clear": "fsync/truncate finding writeback done",
    "hotpath/end_page_writeback_one_waiter": "a waiter to wake",
    "hashchain/end_page_writeback/bits=8/chain=4": "the wake walks a shared bucket",
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
    from pagecore.report.html import Cell

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
                    ch = change(b, r)
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
    from pagecore.report.html import Cell, Doc

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


def _fits(look, m, case, bits):
    out = {}
    for (mm, c, params, v), r in look.items():
        p = dict(params)
        if mm == m and c == case and p.get("bits") == bits and "chain" in p:
            out.setdefault(v, {})[_num(p["chain"])] = r
    return out


def _section_hashchain(doc, rs, d, baseline, racy):
    from pagecore.report import plots
    from pagecore.report.html import Doc

    base = _suite_baseline("hashchain", baseline)
    title, intro = _SUITE_TITLES["hashchain"]
    doc.heading(2, title, "hashchain")
    doc.para(intro)
    groups, look = _index(rs, "hashchain", lambda r: r.param("chain") is not None)
    machines = _machines_in(look)
    cases = list(dict.fromkeys(k[0] for k, _ in groups))
    for case in cases:
        bitsl = list(dict.fromkeys(dict(k[1]).get("bits") for k, _ in groups if k[0] == case))
        what = ("i_pages lock hold time" if case == "ipages_hold" else "cost of " + case)
        doc.heading(3, f"{what} against chain length", "hashchain-" + case)
        headers, align = ["bits", "variant"], ["left", "left"]
        for m in machines:
            headers += [_mcol(m, machines, "ns/entry ±err"), _mcol(m, machines, "ns at 0"),
                        _mcol(m, machines, "ns at max"), _mcol(m, machines, "step 64→65")]
            align += ["right"] * 4
        rows, panels = [], []
        fitted = {}
        for bits in bitsl:
            for m in machines:
                per = _fits(look, m, case, bits)
                if not per:
                    continue
                s, f = {}, {}
                for v in _order_variants(per):
                    pts = sorted(per[v].items())
                    s[v] = [(c, r.mean * 1e9, r.ci * 1e9) for c, r in pts]
                    f[v] = linfit([c for c, _ in pts], [r.mean * 1e9 for _, r in pts])
                    fitted[(m, bits, v)] = (f[v], per[v])
                where = f"{m}: " if len(machines) > 1 else ""
                size = f" ({2 ** int(bits)} buckets)" if str(bits).isdigit() else ""
                panels.append((f"{where}{case}, bits={bits}{size}", s, f))
            variants = _order_variants({k[2] for k in fitted if k[1] == bits})
            for i, v in enumerate(variants):
                row = [str(bits) if i == 0 else "", _vlabel(v, racy)]
                for m in machines:
                    if (m, bits, v) not in fitted:
                        row += ["–"] * 4
                        continue
                    (b, _a, se), pts = fitted[(m, bits, v)]
                    row.append(fmt_slope(b, se))
                    row.append(fmt_ns(pts[min(pts)].mean))
                    row.append(fmt_ns(pts[max(pts)].mean))
                    step = (pts[65].mean - pts[64].mean) * 1e9 - b if 64 in pts and 65 in pts \
                        else None
                    row.append(f"{step:+.1f}" if step is not None else "–")
                rows.append(row)
        doc.table(headers, rows, align, caption="ns/entry is the slope of a least-squares line "
                  "through every chain length (± its standard error); step 64→65 is the cost "
                  "of the 65th entry beyond the slope: the bookmark.")
        _fig(doc, d, f"fig-hashchain-{case}.png", what + " against chain length",
             "Log-log; points are means with 95% CI, lines the least-squares fit whose slope "
             "(ns per colliding entry, ± standard error) is in the legend. The dotted line "
             "marks the 64-entry bookmark boundary.",
             plots.hashchain, what.capitalize() + " against hash-chain length", panels,
             racy=racy, ylabel="ns/op" if case != "ipages_hold" else "ns held")
    full = Doc("")
    _cost_table(full, rs, "hashchain", base, racy)
    doc.details("All hash-chain measurements", full)


def _section_matrix(doc, rs, table):
    from pagecore.report.html import Cell

    doc.heading(2, "Verification matrix", "verification")
    if not rs.has_verify:
        doc.para("No verify results were given (results/<machine>/verify.json, written by "
                 "`pagecore verify --json FILE`): no variant can be called correct, and the "
                 "ranking below is by cost alone.", "warn")
        return
    doc.para("A variant passes when every result for it, in every mode (replay of the "
             "seeds' interleavings, random stress) and on every machine, has no failures. "
             "Open a cell's evidence for the counts and the failing interleaving.")
    scen = []
    for v in table:
        for s in expected_scenarios(v, table):
            if s not in scen:
                scen.append(s)
    variants = _order_variants(set(table) | {v for v in rs.variants() if _variant_kind(v)})
    rows = []
    for v in variants:
        row = [v, _variant_kind(v) or "?"]
        exp = expected_scenarios(v, table)
        for s in scen:
            vd = table.get(v, {}).get(s)
            if vd is None:
                row.append(Cell("not run", "unverified") if s in exp else "n/a")
            elif vd.failures:
                row.append(Cell("racy: {} ({})".format(", ".join(vd.failures), ", ".join(vd.modes)),
                                "racy", tuple(evidence_lines(vd))))
            else:
                row.append(Cell("clean ({}; {} ops)".format(", ".join(vd.modes),
                                                        _fmt_count(int(vd.ops))),
                                "clean", tuple(evidence_lines(vd))))
        state, _ = status(rs, v, table)
        row.append(Cell(state, state))
        rows.append(row)
    doc.table(["variant", "kind"] + scen + ["verdict"], rows)


def _section_choosing(doc, rs, choices, mix, table, baseline):
    from pagecore.report.html import Doc

    doc.heading(2, "Choosing a fix", "choosing")
    doc.para("Each operation of the workload mix gets a weight (its relative frequency); a "
             "variant's weighted cost is the sum of weight × cost, in ns per operation of the "
             "mix. Only variants that pass every verification scenario are ranked. The gap to "
             "the next variant is significant (`*`) when it exceeds 1.96 × the combined "
             "standard error, else `~` (a tie). The flip point moves one weight, the others "
             "fixed, to where two neighbours cost the same.")
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
            doc.table(headers, rows, ["right", "left", "right", "right", "right", "left",
                                      "right"])
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


def _answer_line(c):
    if not c.mix:
        return f"On **{c.machine}** no term of the {c.kind} mix was measured."
    if not c.ranked:
        return (f"On **{c.machine}** no {c.kind} variant passes every verification scenario: "
                "nothing to recommend.")
    best = c.ranked[0]
    which = "correct" if c.verified else "(unverified)"
    s = (f"On **{c.machine}** the cheapest {which} {c.kind} fix is **{best.variant}**: "
         f"{_ns(best.cost)} per operation of the mix (±{_ns(Z95 * best.se)})")
    if len(c.ranked) > 1:
        g = c.gaps()[0]
        s += ", {} ({:.1f}%) below {} ({})".format(_ns(g.diff), g.pct, g.dearer.variant,
                                             "significant" if g.significant else "a tie")
    if c.baseline is not None and c.baseline is not best and c.baseline.cost:
        s += f"; {(best.cost / c.baseline.cost - 1) * 100:+.1f}% against {c.baseline.variant}"
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


def _section_method(doc, rs):
    doc.heading(2, "How to read this report", "method")
    doc.bullets([
        ("All costs are seconds per operation as pyperf measured them, shown in ns. A cost "
        "`45.2 ±0.8%` is the mean over runs ± the standard deviation between runs."),
        ("Each pyperf run is a separate process, so runs are the samples: a benchmark's "
        "sample is its per-run means. Confidence intervals are 95% Student t intervals of "
        "the mean over runs."),
        ("`+12.3% ±1.1% *`: the variant costs 12.3% more than the baseline, ± the standard "
        "deviation of that ratio; `*` marks a significant change (Welch's t-test on the run "
        "means, 95%, pyperf's t table), `~` a change within noise, `?` one run only."),
        ("events/op are the model's own per-operation counts (atomics, barriers, lock round "
        "trips, entries walked, wakeups), from the `pagecore_events` metadata; – when not "
        "recorded."),
        ("Several machines merge into one report, a column per machine; machines are named "
        "by their results directory."),
    ])
    files = [f for m in rs.machines.values() for f in m.files]
    doc.details(f"Input files ({len(files)})", _doc_of_bullets([f"`{f}`" for f in files]))


def _doc_of_bullets(items):
    from pagecore.report.html import Doc

    d = Doc("")
    d.bullets(items)
    return d


def build(rs, d, baseline, mix):
    """The whole report as a Doc; figures are written into d as they are built."""
    import datetime

    from pagecore.report.html import Doc

    doc = Doc("pagecore overhead report: " + ", ".join(rs.machines))
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    n = len(rs.machines)
    doc.para(f"Generated {when} from {n} machine{'s' if n != 1 else ''}. Baseline: "
             f"`{_suite_baseline('hotpath', baseline)}` (floor: `{FLOOR_BASELINE}`, dirty path: "
             f"`{_suite_baseline('dirty', baseline)}`).")
    table = verdicts(rs)
    racy = {v for v in rs.variants() if status(rs, v, table)[0] == "racy"}
    choices = choose(rs, mix, "writeback", baseline) + choose(rs, mix, "dirty", baseline)
    _answer(doc, rs, choices, table)
    if rs.notes:
        doc.bullets(rs.notes)
    _section_machines(doc, rs)
    _section_choosing(doc, rs, choices, mix, table, baseline)
    _section_matrix(doc, rs, table)
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


# -- commands -----------------------------------------------------------------------------

def _mix_from_args(args, rs):
    given = load_weights_file(args.weights) if args.weights else None
    pairs = parse_weight_args(args.weight)
    mix = make_mix(given, pairs)
    check_mix(rs, mix, list(given or ()) + list(pairs))
    return mix


def _cmd_report(args):
    rs = load_results(args.results)
    check_baseline(rs, args.baseline)
    mix = _mix_from_args(args, rs)
    page = _write(rs, args.output, args.name or default_name(rs), args.baseline, mix)
    print(f"report: {page}")
    print("        {}".format(os.path.join(os.path.dirname(page), "report.md")))
    return 0


def _cmd_choose(args):
    from tabulate import tabulate

    rs = load_results(args.results)
    if args.baseline:
        check_baseline(rs, args.baseline)
    mix = _mix_from_args(args, rs)
    table = verdicts(rs)
    kinds = [args.kind] if args.kind else ["writeback", "dirty"]
    printed = False
    for kind in kinds:
        for c in choose(rs, mix, kind, args.baseline):
            if printed:
                print()
            printed = True
            print(f"{c.machine}: {kind} variants, ranked by weighted cost "
                  "(ns per operation of the mix)")
            print("mix: " + ", ".join(f"{w:g} x {k}" for k, w in c.mix.items()))
            for k, why in c.dropped:
                print(f"  dropped from the mix: {k} ({why})")
            if c.ranked:
                headers, rows = ranking_table(c)
                print(tabulate(rows, headers=headers, disable_numparse=True,
                               colalign=("right", "left", "right", "right", "right", "left",
                                         "right")))
            for line in reasoning(c, table):
                print("- " + line.replace("**", "").replace("`", ""))
    if not printed:
        raise PagecoreError("no {} variants in the results".format(" or ".join(kinds)))
    return 0


def _cmd_compare(args):
    from tabulate import tabulate

    sides = []
    for path in (args.old, args.new):
        rs = load_results([path])
        if not any(True for _ in rs.results()):
            raise PagecoreError(f"{path}: no benchmark results to compare (only verify results)")
        sides.append(rs)
    rows = compare(*sides)
    out, counts = [], {"slower": 0, "faster": 0, "not significant": 0, "unknown": 0}
    for label, ro, rn, ch in rows:
        verdict = {None: "unknown", False: "not significant"}.get(
            ch.significant, "slower" if ch.pct > 0 else "faster")
        counts[verdict] += 1
        if args.only_significant and verdict not in ("slower", "faster"):
            continue
        out.append([label, fmt_cost(ro), fmt_cost(rn), ch.text(), verdict])
    print(tabulate(out, headers=["benchmark", "old ns/op", "new ns/op", "change", "significance"],
                   colalign=("left", "right", "right", "right", "left"), disable_numparse=True))
    unknown = f", {counts['unknown']} unknown (one run)" if counts["unknown"] else ""
    print(f"{len(rows)} benchmarks: {counts['slower']} slower, {counts['faster']} faster, "
          f"{counts['not significant']} not significant{unknown} (Welch's t-test, 95%)")
    return 0


def _add_mix_args(p):
    p.add_argument("--weights", metavar="FILE",
                   help="TOML file of workload weights (see reports/weights.example.toml)")
    p.add_argument("--weight", action="append", default=[], metavar="KEY=W",
                   help="set one weight, e.g. hotpath/end_page_writeback_one_waiter=0.3 "
                        "(repeatable; 0 removes a term)")


def register(sub):
    p = sub.add_parser("report", help="write reports/<name>/report.md and report.html",
                       description="Tables, plots, the verification matrix and the choice of "
                                   "a fix, from pyperf and verify JSON.")
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="results root, machine directory or .json files (default: results)")
    p.add_argument("-o", "--output", default="reports", metavar="DIR",
                   help="where reports go (default: reports)")
    p.add_argument("--name", help="report directory name (default: the machine names)")
    p.add_argument("--baseline", default="original", metavar="VARIANT",
                   help="variant the changes are measured against (default: original)")
    _add_mix_args(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("choose", help="rank the correct fixes by weighted cost")
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="results root, machine directory or .json files (default: results)")
    p.add_argument("--kind", choices=["writeback", "dirty"], default=None,
                   help="rank only this kind of variant (default: both)")
    p.add_argument("--baseline", default=None, metavar="VARIANT",
                   help="variant each fix's cost is set against (default: the pre-fix kernel)")
    _add_mix_args(p)
    p.set_defaults(func=_cmd_choose)

    p = sub.add_parser("compare", help="two result sets side by side, with significance")
    p.add_argument("old", metavar="OLD", help="results directory or pyperf .json")
    p.add_argument("new", metavar="NEW", help="results directory or pyperf .json")
    p.add_argument("--only-significant", action="store_true",
                   help="hide rows whose change is within noise")
    p.set_defaults(func=_cmd_compare)
