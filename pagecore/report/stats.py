"""Statistics of the report: changes, their significance, and fits."""

import math
import statistics
from dataclasses import dataclass

# 95% two-sided normal quantile, for sums of many terms where a t table is not needed
Z95 = 1.96


def _t95(df):
    from pyperf._utils import tdist95conf_level

    return tdist95conf_level(max(1, df))


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

