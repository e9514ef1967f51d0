"""Statistics of the report, from scipy.stats: intervals, paired changes, fits.

The unit of independence is a worker process (a pyperf run): every value of a process shares
its CPU, its placement and its moment.  The suites measure every variant of a case in each
process, so a variant and its baseline form a pair per process (the `pagecore_worker`
metadata), and a change is judged on the per-process ratios: whatever slowed a process slowed
both halves of its pairs.  Its interval is the interval of the ratios' 10% trimmed mean
(a t interval where there are fewer than ten) widened by the
harness's own error of a pair, measured in the same run on variants with identical source
(results.calibrate): the A/A check feeds every A/B interval.  Results without that pairing
(other pyperf files) fall back to Welch's two-sample test on the per-run means.
"""

import math
from dataclasses import dataclass

# 95% two-sided normal quantile, for sums of many terms where a t table is not needed
Z95 = 1.96
ALPHA = 0.05


def t95(df):
    """The two-sided 95% Student t quantile."""
    from scipy import stats

    return float(stats.t.ppf(1 - ALPHA / 2, max(1, df)))


def mean_ci(samples):
    """(mean, half-width of its 95% t interval); the half-width is 0 for one sample."""
    from scipy import stats

    n = len(samples)
    m = math.fsum(samples) / n
    if n < 2:
        return m, 0.0
    return m, t95(n - 1) * float(stats.sem(samples))


# the fraction of the per-process ratios cut from each end before their mean, where there
# are TRIM_MIN of them or more: a process that a slow host episode hit in one half of its pairs
# and not the other (a ratio of 2.2 among twenty of 1.00 to 1.04) would otherwise decide the
# mean and the interval
TRIM = 0.1
TRIM_MIN = 10


def ratio_mean_ci(ratios):
    """(mean, half-width of its 95% interval) of per-process ratios: the 10% trimmed mean and
    its Tukey-McLaughlin interval (scipy.stats.mstats.trimmed_mean_ci) where there are
    TRIM_MIN ratios or more, else the mean and its t interval."""
    if len(ratios) < TRIM_MIN:
        return mean_ci(ratios)
    from scipy.stats import mstats

    m = float(mstats.trimmed_mean(ratios, limits=(TRIM, TRIM)))
    lo, hi = (float(x) for x in mstats.trimmed_mean_ci(ratios, limits=(TRIM, TRIM),
                                                          alpha=ALPHA))
    return m, max(m - lo, hi - m)


# fewer resamples than this give no percentile interval
MIN_RESAMPLES = 10


def percentile_interval(vals):
    """(lo, hi): the 2.5th and 97.5th percentiles of bootstrap resamples @vals (95%), or None
    where there are fewer than MIN_RESAMPLES of them."""
    vals = sorted(vals)
    if len(vals) < MIN_RESAMPLES:
        return None
    k = int(len(vals) * ALPHA / 2)
    return vals[k], vals[-1 - k]


def welch(a, b):
    """(significant at 95%, t) for two samples; (None, None) when either has one value."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return None, None
    if max(a) == min(a) and max(b) == min(b):
        d = b[0] - a[0]
        return d != 0, math.copysign(math.inf, d) if d else 0.0
    r = stats.ttest_ind(b, a, equal_var=False)
    return bool(r.pvalue < ALPHA), float(r.statistic)


@dataclass
class Change:
    """new against base: +pct means new costs more; [lo, hi] its 95% interval."""

    pct: float
    lo: float
    hi: float
    significant: object   # True, False, or None when unknown (too few runs)
    paired: bool = False
    n: int = 0
    same_source: bool = False

    def text(self):
        if self.same_source:
            return f"{self.pct:+.1f}% (same source)"
        mark = {True: " *", False: " ~", None: " ?"}[self.significant]
        if not self.has_interval():
            return f"{self.pct:+.1f}% ±?{mark}"
        half = (self.hi - self.lo) / 2
        return f"{self.pct:+.1f}% ±{half:.1f}%{mark}"

    def has_interval(self):
        """False where one process measured a side: no spread to judge by, so lo and hi
        are the change itself, not an interval of width zero."""
        return self.n >= 2 and math.isfinite(self.hi - self.lo)

    def interval_text(self):
        """`[lo, hi]` in percent, `[?, ?]` where there is no interval."""
        if not self.has_interval():
            return "[?, ?]"
        return f"[{self.lo:+.1f}, {self.hi:+.1f}]"

    def css(self):
        if self.same_source:
            return "same-source"
        if not self.significant:
            return ""
        return "sig-worse" if self.pct > 0 else "sig-better"


def common_workers(a, b):
    """The worker processes that measured both results, when both record them."""
    if not a.by_worker or not b.by_worker:
        return []
    return sorted(set(a.by_worker) & set(b.by_worker))


def change(base, new, same_source=False, paired=True):
    """Change of @new against @base (Results).  Paired on the worker processes both were
    measured in (a one-sample t test on the per-process ratios), else Welch on run means.
    @same_source: the two run identical code; the change is shown but never called
    significant, since any difference is the harness's.  @paired=False for results of two
    different runs, whose worker numbers do not pair."""
    ws = common_workers(base, new) if paired else []
    if len(ws) >= 2:
        ratios = [new.by_worker[w] / base.by_worker[w] for w in ws]
        m, half = ratio_mean_ci(ratios)
        # the t interval of the ratios, widened by the harness's own error of a pair in this
        # run (results.calibrate); significant when the interval excludes 1
        half = math.hypot(half, Z95 * max(base.harness_err, new.harness_err))
        sig = not (m - half <= 1.0 <= m + half)
        return Change((m - 1) * 100, (m - half - 1) * 100, (m + half - 1) * 100,
                      None if same_source else sig, True, len(ws), same_source)
    ratio = new.mean / base.mean
    half = ratio * math.hypot(base.ci / base.mean if base.mean else 0,
                              new.ci / new.mean if new.mean else 0)
    sig, _ = welch(base.samples, new.samples)
    return Change((ratio - 1) * 100, (ratio - half - 1) * 100, (ratio + half - 1) * 100,
                  None if same_source else sig, False, min(base.n, new.n), same_source)


@dataclass
class Diff:
    """A difference in seconds with its 95% interval, from paired per-process differences."""

    mean: float
    lo: float
    hi: float
    n: int

    @property
    def includes_zero(self):
        return self.lo <= 0 <= self.hi

    def as_dict(self, scale=1e9):
        """In ns; a bound the data cannot give (one process: no spread to judge by) is None."""
        def ns(x):
            return x * scale if math.isfinite(x) else None
        return {"diff": ns(self.mean), "lo": ns(self.lo), "hi": ns(self.hi), "n": int(self.n)}


def combine(terms):
    """A sum of independent estimates, each (mean, variance of the mean, degrees of freedom),
    as a Diff with a Welch-Satterthwaite 95% interval.  A term of infinite variance (a
    single process: its spread is unknown) makes the interval unbounded; a term of infinite
    degrees of freedom (a known error) counts in the interval but not in n, the processes."""
    total = math.fsum(t[0] for t in terms)
    var = math.fsum(t[1] for t in terms)
    n = max((int(t[2]) + 1 for t in terms if math.isfinite(t[2])), default=0)
    if math.isinf(var):
        return Diff(total, -math.inf, math.inf, n)
    if var <= 0:
        return Diff(total, total, total, n)
    dfs = math.fsum(t[1] * t[1] / t[2] for t in terms if t[1] > 0)
    half = t95(var * var / dfs if dfs else math.inf) * math.sqrt(var)
    return Diff(total, total - half, total + half, n)


@dataclass
class Fit:
    slope: float
    intercept: float
    slope_se: float
    slope_ci: float       # half-width of the slope's 95% interval
    n: int

    def at(self, x):
        return self.intercept + self.slope * x

    def solve(self, y):
        """x at which the fitted line reaches y, or None when it never does."""
        if self.slope <= 0:
            return None
        return (y - self.intercept) / self.slope


def linfit(xs, ys):
    """Least squares y = a + b x (scipy.stats.linregress), with the slope's standard error
    and 95% interval; se is nan with fewer than three points."""
    from scipy import stats

    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        return Fit(0.0, math.fsum(ys) / max(1, n), math.nan, math.nan, n)
    r = stats.linregress(xs, ys)
    se = float(r.stderr) if n > 2 else math.nan
    return Fit(float(r.slope), float(r.intercept), se,
               t95(n - 2) * se if n > 2 else math.nan, n)
