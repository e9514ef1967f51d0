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
        return "/".join([self.suite, self.case] + ["%s=%s" % kv for kv in self.params])

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
    from pagecore._variants import VARIANTS

    known = list(VARIANTS)
    return sorted(names, key=lambda v: (known.index(v) if v in known else len(known), v))


def _variant_kind(v):
    from pagecore._variants import VARIANTS

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
        raise PagecoreError("no pagecore results in %s" % ", ".join(paths))
    return rs


def _json_files(d):
    try:
        names = sorted(os.listdir(d))
    except OSError as e:
        raise PagecoreError("%s: cannot read directory: %s" % (d, e.strerror)) from None
    return [os.path.join(d, n) for n in names
            if n.endswith(".json") and os.path.isfile(os.path.join(d, n))]


def _discover(p):
    """(machine, file) pairs under p; a machine is named by its directory."""
    if not os.path.exists(p):
        raise PagecoreError("%s: no such file or directory" % p)
    if not os.path.isdir(p):
        return [(_machine_of(p), p)]
    found = [(_machine_of(f), f) for f in _json_files(p)]
    for n in sorted(os.listdir(p)):
        sub = os.path.join(p, n)
        if os.path.isdir(sub):
            found += [(n, f) for f in _json_files(sub)]
    if not found:
        raise PagecoreError("%s: no result files (expected <machine>/<suite>.json)" % p)
    return found


def _machine_of(path):
    return os.path.basename(os.path.dirname(os.path.abspath(path))) or "local"


def _read_json(path):
    import json

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise PagecoreError("%s: cannot read: %s" % (path, e.strerror)) from None
    if not raw.strip():
        raise PagecoreError("%s: empty file" % path)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PagecoreError("%s: not valid JSON (not UTF-8 text)" % path) from None
    except json.JSONDecodeError as e:
        raise PagecoreError("%s: not valid JSON: %s at line %d column %d"
                            % (path, e.msg, e.lineno, e.colno)) from None


def _load_file(rs, machine, path):
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        _load_verify(rs.machine(machine), path, data["results"])
    elif isinstance(data, dict) and "benchmarks" in data and "version" in data:
        _load_suite(rs, machine, path, data)
    else:
        raise PagecoreError("%s: neither a pyperf result file nor a pagecore verify file"
                            % path)


def _load_suite(rs, machine, path, data):
    import json

    import pyperf

    try:
        suite = pyperf.BenchmarkSuite.loads(json.dumps(data))
    except Exception as e:  # pyperf raises ValueError, KeyError, TypeError on bad files
        raise PagecoreError("%s: not a valid pyperf result file: %s"
                            % (path, str(e).splitlines()[0] if str(e) else type(e).__name__)
                            ) from None
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
            rs.notes.append("%s: %s also in %s; the later file is used"
                            % (machine, name, m.results[name].name))
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
        raise PagecoreError("%s: not a pagecore result file (no benchmark is named "
                            "suite/case/variant)" % path)
    if skipped:
        rs.notes.append("%s: %d benchmarks with names not of the form suite/case/variant "
                        "were ignored" % (path, skipped))


def _load_verify(m, path, rows):
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise PagecoreError("%s: verify result %d is not an object" % (path, i))
        for k in ("variant", "scenario"):
            if not isinstance(row.get(k), str):
                raise PagecoreError("%s: verify result %d has no %r string" % (path, i, k))
        if not isinstance(row.get("failures", []), list):
            raise PagecoreError("%s: verify result %d: 'failures' must be a list" % (path, i))
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
        return "%+.1f%% ±%.1f%%%s" % (self.pct, self.sd_pct, mark)

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
        return "{:,.0f}".format(ns)
    if abs(ns) >= 100:
        return "%.0f" % ns
    if abs(ns) >= 10:
        return "%.1f" % ns
    return "%.2f" % ns


def fmt_cost(r):
    return "%s ±%.1f%%" % (fmt_ns(r.mean), r.rsd * 100)


def fmt_events(ev):
    if ev is None:
        return "–"
    nz = ["%s=%g" % (k, v) for k, v in ev.items() if v]
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
    from pagecore._variants import VARIANTS

    v = VARIANTS.get(variant)
    seen = list(table.get(variant, {}))
    return list(v.scenarios) + [s for s in seen if s not in v.scenarios] if v else seen


def status(rs, variant, table=None):
    """('clean' | 'racy' | 'unverified', reason) from the verify results."""
    if not rs.has_verify:
        return "unverified", "no verification results"
    table = verdicts(rs) if table is None else table
    cells = table.get(variant, {})
    failing = ["%s (%s)" % (s, ", ".join(c.failures)) for s, c in cells.items() if c.failures]
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
        head = "**%s, %s**" % (machine, row.get("mode", "?"))
        if isinstance(counts, dict) and counts:
            head += ": " + ", ".join("%s=%s" % (k, _fmt_count(v)) for k, v in counts.items())
        lines.append(head)
        ev = row.get("evidence") or []
        for item in (ev if isinstance(ev, list) else [ev]):
            if isinstance(item, dict):
                lines.append(", ".join("%s=%s" % (k, _fmt_count(v)) for k, v in item.items()))
            else:
                lines.append(str(item))
    return lines


def _fmt_count(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return "{:,}".format(v)
    return str(v)


# -- weights ------------------------------------------------------------------------------

def parse_key(key):
    """A weight key: 'suite/case[/k=v...]' or a bare hotpath case -> a term."""
    segs = str(key).strip().strip("/").split("/")
    if len(segs) == 1:
        segs = ["hotpath"] + segs
    suite, case, rest = segs[0], segs[1], segs[2:]
    if suite not in SUITES:
        raise PagecoreError("weight key %r: unknown suite %r (known: %s)"
                            % (key, suite, ", ".join(SUITES)))
    params = []
    for s in rest:
        k, sep, v = s.partition("=")
        if not sep or not k or not v:
            raise PagecoreError("weight key %r: %r must be param=value (a weight names a "
                                "benchmark without its variant)" % (key, s))
        params.append((k, v))
    if not case:
        raise PagecoreError("weight key %r: missing case" % key)
    return _term(suite, case, params)


def _kind_of_key(key):
    return "dirty" if parse_key(key)[0] == "dirty" else "writeback"


def _weight_value(key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise PagecoreError("weight for %r must be a number >= 0, not %r" % (key, v))
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
        raise PagecoreError("%s: cannot read: %s" % (path, e.strerror)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PagecoreError("%s: not valid TOML: %s" % (path, e)) from None
    table = data.get("weights", data)
    if not isinstance(table, dict) or not table:
        raise PagecoreError("%s: no weights (expected a [weights] table of key = number)" % path)
    return {k: _weight_value(k, v) for k, v in table.items()}


def parse_weight_args(items):
    out = {}
    for item in items or ():
        # the key itself holds '=' (chain=4): the weight is after the last one
        k, sep, v = item.rpartition("=")
        if not sep or not k:
            raise PagecoreError("--weight %r must be KEY=WEIGHT" % item)
        try:
            out[k] = _weight_value(k, float(v))
        except ValueError:
            raise PagecoreError("--weight %r: weight must be a number >= 0" % item) from None
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
        _kind_of_key(k)
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
            raise PagecoreError("weight key %r matches no benchmark in the results%s"
                                % (k, " (e.g. %s)" % ", ".join(near) if near else ""))


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
                dropped.append((k, "not measured on %s" % m.name))
        c = Choice(m.name, kind, used, dropped, [], [], rs.has_verify, baseline_name=baseline)
        choices.append(c)
        if not used:
            continue
        for v in variants:
            parts = {k: (w, by_term[parse_key(k)].get(v)) for k, w in used.items()}
            missing = [k for k, (w, r) in parts.items() if r is None]
            state, reason = status(rs, v, table)
            if missing:
                reason = ("%s; " % reason if state == "racy" else "") + \
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
        return ["No term of the mix was measured on %s: nothing to rank." % c.machine]
    if not c.verified:
        lines.append("No verification results: the ranking below includes variants that may "
                     "be racy. Run `pagecore verify --json results/<machine>/verify.json`.")
    if not c.ranked:
        lines.append("No variant passes every scenario on the measured terms: nothing to "
                     "recommend.")
        return lines
    best = c.ranked[0]
    key, share = best.dominant()
    lines.append("**%s** is cheapest: %s per operation of the mix (95%% CI ±%s); its largest "
                 "term is `%s` (%.0f%% of its cost)."
                 % (best.variant, _ns(best.cost), _ns(Z95 * best.se), key, share * 100))
    for g in c.gaps():
        s = ("%s is %s (%.1f%%) cheaper than %s, %s. The gap is mostly `%s` (%s of it)."
             % (g.cheaper.variant, _ns(g.diff), g.pct, g.dearer.variant,
                "a significant difference" if g.significant
                else "within noise: treat them as a tie", g.main_key, _ns(g.main_part)))
        if g.flip:
            k, w, at = g.flip
            s += (" The order flips if the weight of `%s` %s from %.2f to %.2f (others fixed)."
                  % (k, "rises" if at > w else "falls", w, at))
        else:
            s += (" %s costs at least as much in every term: no mix of these terms puts it "
                  "ahead." % g.dearer.variant)
        lines.append(s)
    base = c.baseline
    for rk in c.ranked:
        if base is None or rk is base:
            continue
        buys = _buys(rk.variant, c.baseline_name, table)
        d = rk.cost - base.cost
        lines.append("%s %s for %s%s (%+.1f%%) per operation of the mix against %s."
                     % (rk.variant, buys, "+" if d >= 0 else "", _ns(d),
                        d / base.cost * 100 if base.cost else 0.0, c.baseline_name))
    for v, reason, _ in c.excluded:
        lines.append("%s is excluded: %s." % (v, reason))
    return lines


def _buys(variant, baseline, table):
    if not table:
        return "(unverified)"
    fixed = [s for s, vd in table.get(baseline, {}).items()
             if vd.failures and s in table.get(variant, {})
             and not table[variant][s].failures]
    return "closes %s (which %s fails)" % (", ".join(fixed), baseline) if fixed \
        else "closes no scenario that %s fails" % baseline


def ranking_table(c):
    """Rows for the ranking: rank, variant, cost, CI, vs next, dominant term, vs baseline."""
    gaps = c.gaps()
    rows = []
    for i, rk in enumerate(c.ranked):
        key, share = rk.dominant()
        nxt = ""
        if i < len(gaps):
            g = gaps[i]
            nxt = "-%s (%.1f%%)%s" % (_ns(g.diff), g.pct, " *" if g.significant else " ~")
        vsb = ""
        if c.baseline is not None and c.baseline.cost:
            vsb = "%+.1f%%" % ((rk.cost / c.baseline.cost - 1) * 100)
        rows.append([str(i + 1), rk.variant, fmt_ns(rk.cost), "±" + fmt_ns(Z95 * rk.se), nxt,
                     "%s (%.0f%%)" % (key, share * 100), vsb])
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
            raise PagecoreError("no machine in common between the two result sets (%s; %s)"
                                % (", ".join(old.machines), ", ".join(new.machines)))
    rows = []
    for label, mo, mn in pairs:
        names = [n for n in mo.results if n in mn.results]
        names.sort(key=lambda n: (_suite_order(mo.results[n].suite), n))
        for n in names:
            ro, rn = mo.results[n], mn.results[n]
            rows.append(("%s: %s" % (label, n) if label else n, ro, rn, change(ro, rn)))
    if not rows:
        raise PagecoreError("no benchmark in common between the two result sets")
    return rows


# -- writing the report -------------------------------------------------------------------

def default_name(rs):
    name = "+".join(rs.machines)
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name)
    return name if 0 < len(name) <= 60 else "latest"


def check_baseline(rs, baseline):
    from pagecore._variants import get_variant

    get_variant(baseline)
    if not any(r.variant == baseline for r in rs.results()):
        raise PagecoreError("baseline variant %r has no results (measured: %s)"
                            % (baseline, ", ".join(rs.variants())))


def write_report(results_paths=None, outdir="reports", name=None, baseline="original",
                 weights=None):
    """Write <outdir>/<name>/report.md, report.html and the PNGs; return report.html's path.

    weights: None for DEFAULT_MIX, a dict of key -> weight, or the path of a TOML file.
    """
    rs = load_results(results_paths)
    check_baseline(rs, baseline)
    mix = make_mix(weights)
    if weights:
        check_mix(rs, mix, [k for k in mix if k not in DEFAULT_MIX or
                            (isinstance(weights, dict) and k in weights)])
    return _write(rs, outdir, name or default_name(rs), baseline, mix)


def _write(rs, outdir, name, baseline, mix):
    from pagecore._report_html import render_html, render_markdown

    d = os.path.join(outdir, name)
    try:
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("fig-") and f.endswith(".png"):
                os.remove(os.path.join(d, f))   # plots of an earlier report in the same place
    except OSError as e:
        raise PagecoreError("%s: cannot write: %s" % (d, e.strerror)) from None
    doc = build(rs, d, baseline, mix)
    md, page = os.path.join(d, "report.md"), os.path.join(d, "report.html")
    with open(md, "w", encoding="utf-8") as f:
        f.write(render_markdown(doc))
    with open(page, "w", encoding="utf-8") as f:
        f.write(render_html(doc, d))
    return page


# -- commands -----------------------------------------------------------------------------

def _mix_from_args(args, rs):
    pairs = parse_weight_args(args.weight)
    mix = make_mix(args.weights, pairs)
    user = list(pairs)
    if args.weights:
        user += [k for k in load_weights_file(args.weights)]
    check_mix(rs, mix, user)
    return mix


def _cmd_report(args):
    rs = load_results(args.results)
    check_baseline(rs, args.baseline)
    mix = _mix_from_args(args, rs)
    page = _write(rs, args.output, args.name or default_name(rs), args.baseline, mix)
    print("report: %s" % page)
    print("        %s" % os.path.join(os.path.dirname(page), "report.md"))
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
            print("%s: %s variants, ranked by weighted cost (ns per operation of the mix)"
                  % (c.machine, kind))
            print("mix: " + ", ".join("%g x %s" % (w, k) for k, w in c.mix.items()))
            for k, why in c.dropped:
                print("  dropped from the mix: %s (%s)" % (k, why))
            if c.ranked:
                headers, rows = ranking_table(c)
                print(tabulate(rows, headers=headers, disable_numparse=True,
                               colalign=("right", "left", "right", "right", "right", "left",
                                         "right")))
            for line in reasoning(c, table):
                print("- " + line.replace("**", "").replace("`", ""))
    if not printed:
        raise PagecoreError("no %s variants in the results" % " or ".join(kinds))
    return 0


def _cmd_compare(args):
    from tabulate import tabulate

    rows = compare(load_results([args.old]), load_results([args.new]))
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
    print("%d benchmarks: %d slower, %d faster, %d not significant%s (Welch's t-test, 95%%)"
          % (len(rows), counts["slower"], counts["faster"], counts["not significant"],
             ", %d unknown (one run)" % counts["unknown"] if counts["unknown"] else ""))
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
