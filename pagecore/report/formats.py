"""How numbers are written in tables and sentences."""

import math


def fmt_ns(seconds):
    if not math.isfinite(seconds):
        return "?"      # an interval one process cannot give
    ns = seconds * 1e9
    if abs(ns) >= 1000:
        return f"{ns:,.0f}"
    if abs(ns) >= 100:
        return f"{ns:.0f}"
    if abs(ns) >= 10:
        return f"{ns:.1f}"
    return f"{ns:.2f}"


def fmt_signed_ns(seconds):
    """A difference in ns with its sign, written as fmt_ns() writes a cost: `+36.8`,
    `-2,394`."""
    if not math.isfinite(seconds):
        return "?"
    return ("-" if seconds < 0 else "+") + fmt_ns(abs(seconds))


def fmt_cost(r):
    """`45.2 ±0.8%`: the mean and the spread between processes; ⚠ where pyperf check calls
    the benchmark unstable (report/stability.py)."""
    mark = " ⚠" if getattr(r, "unstable", ()) else ""
    if r.n < 2:
        return f"{fmt_ns(r.mean)} ±?{mark}"
    return f"{fmt_ns(r.mean)} ±{r.rsd * 100:.1f}%{mark}"


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


def _fmt_count(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def fmt_field(key, v):
    """`key=value` of a verify record as a reader takes it: a count with its thousands
    separated, a seed as the number to pass back to --seed, a list or a mapping without
    Python's quotes."""
    if key == "seed" or key.endswith("_seed"):
        return f"{key}={v}"
    if isinstance(v, (list, tuple)):
        return "%s=[%s]" % (key, ", ".join(map(str, v)))
    if isinstance(v, dict):
        return "%s={%s}" % (key, ", ".join(f"{k}: {x}" for k, x in v.items()))
    return f"{key}={_fmt_count(v)}"


def _ns(seconds):
    return fmt_ns(seconds) + " ns"

