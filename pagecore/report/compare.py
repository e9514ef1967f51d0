"""Two result sets side by side, with the machine's own drift between the two runs taken out.

Within one run, the suites pair every variant with its baseline per worker process, so whatever
slows a process slows both halves of its pairs.  Across two runs nothing pairs: a VM's vCPU runs
a few percent faster or slower from one run to the next, every benchmark moves with it, and a
test of each benchmark's runs against the other's calls every one of them changed.  So a
comparison of two runs takes out two things the runs share:

- the shift: every value of a suite was timed beside a sentinel, a fixed loop of locked RMWs
  (bench/_harness.py), and the median sentinel of a suite says how fast the machine ran while
  that suite ran.  A benchmark's change is its ratio new / old divided by the suite's sentinel
  ratio new / old (1 where either run has no sentinels);
- the run-level variance: what of the two runs' difference the sentinel does not explain (kinds
  of work that shift by different amounts) is measured across the suite's benchmarks, as the
  robust spread (1.4826 x the median absolute deviation) of their log ratios about zero, less
  their own noise; it adds, as a variance, to every benchmark's own.  A change is significant
  when it lies outside the 95% interval of the two.  Where a run has no sentinels (pyperf
  files of other tools), no shift is taken out and the spread is taken about the suite's
  median change instead: the runs' shift then shows in every benchmark.

A change confined to a few benchmarks (an extra atomic in one variant) stands out of that spread;
a change of every benchmark of a suite alike cannot be told from the machine's drift and is
reported as the suite's common change, beside the shift the sentinel saw.
"""

import math
from dataclasses import dataclass

from pagecore._errors import PagecoreError
from pagecore.report.results import _suite_order
from pagecore.report.stats import Change, t95

# fewer benchmarks than this in a suite: no run-level spread can be measured
MIN_FOR_SPREAD = 6
MAD_TO_SD = 1.4826


@dataclass
class Shift:
    """What two runs of one suite share: the sentinel's ratio and the run-level spread."""

    suite: str
    ratio: float            # new / old sentinel (1.0 when a run has none)
    sentinel: bool          # both runs had sentinels
    spread: float           # run-level SD of the log ratios, beyond each benchmark's own noise
    common: float           # the median log ratio after the shift: the suite's common change
    n: int                  # benchmarks of the suite in both runs

    def text(self):
        shift = (f"machine {(self.ratio - 1) * 100:+.1f}% (sentinel)" if self.sentinel else
                 "no sentinel in one run: no shift taken out")
        return (f"{self.suite}: {self.n} benchmarks; {shift}; every benchmark "
                f"{(math.exp(self.common) - 1) * 100:+.1f}% beyond it (median); run-level "
                f"spread ±{self.spread * 100:.1f}%")


def _log_noise(r):
    return (r.se / r.mean) ** 2 if r.mean > 0 else 0.0


def _shifts(pairs):
    """{(label, suite): Shift} for [(label, machine old, machine new, [names])]."""
    out = {}
    for label, mo, mn, names in pairs:
        by_suite = {}
        for name in names:
            ro, rn = mo.results[name], mn.results[name]
            if ro.mean > 0 and rn.mean > 0:
                by_suite.setdefault(ro.suite, []).append((ro, rn))
        for suite, rows in by_suite.items():
            so, sn = mo.sentinel.get(suite), mn.sentinel.get(suite)
            ratio = sn / so if so and sn else 1.0
            logs = [math.log(rn.mean / ro.mean) - math.log(ratio) for ro, rn in rows]
            common = _median(logs)
            spread = 0.0
            if len(rows) >= MIN_FOR_SPREAD:
                # about zero where the sentinel took the shift out (what it left is drift);
                # about the median where there was none to take out (the runs' shift then
                # shows in every benchmark, as it always did)
                centre = 0.0 if (so and sn) else common
                mad0 = _median([abs(x - centre) for x in logs])
                noise = _median([_log_noise(ro) + _log_noise(rn) for ro, rn in rows])
                spread = math.sqrt(max(0.0, (MAD_TO_SD * mad0) ** 2 - noise))
            out[(label, suite)] = Shift(suite, ratio, bool(so and sn), spread, common,
                                        len(rows))
    return out


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return 0.0
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def run_change(ro, rn, shift):
    """@rn against @ro (Results of two runs) as a Change, the shift taken out and the run-level
    spread added to the two runs' own noise."""
    if ro.mean <= 0 or rn.mean <= 0:
        return Change(math.nan, math.nan, math.nan, None, False, 0)
    x = math.log(rn.mean / ro.mean) - math.log(shift.ratio)
    var = _log_noise(ro) + _log_noise(rn) + shift.spread ** 2
    n = min(ro.n, rn.n)
    if n < 2:
        pct = (math.exp(x) - 1) * 100
        return Change(pct, pct, pct, None, False, n)
    half = t95(n - 1) * math.sqrt(var)
    sig = abs(x) > half
    return Change((math.exp(x) - 1) * 100, (math.exp(x - half) - 1) * 100,
                  (math.exp(x + half) - 1) * 100, sig, False, n)


def compare(old, new):
    """Pair benchmarks of two result sets: [(label, old Result, new Result, Change)], the change
    relative to the machine's shift between the runs (see the module's docstring)."""
    rows, _ = compare_runs(old, new)
    return rows


def compare_runs(old, new):
    """(rows as compare(), [Shift] per machine and suite)."""
    if len(old.machines) == 1 and len(new.machines) == 1:
        pairs = [(None, next(iter(old.machines.values())), next(iter(new.machines.values())))]
    else:
        pairs = [(n, old.machines[n], new.machines[n]) for n in old.machines if n in new.machines]
        if not pairs:
            raise PagecoreError("no machine in common between the two result sets "
                                f"({', '.join(old.machines)}; {', '.join(new.machines)})")
    named = []
    for label, mo, mn in pairs:
        names = [n for n in mo.results if n in mn.results]
        names.sort(key=lambda n: (_suite_order(mo.results[n].suite), n))
        named.append((label, mo, mn, names))
    shifts = _shifts(named)
    rows = []
    for label, mo, mn, names in named:
        for n in names:
            ro, rn = mo.results[n], mn.results[n]
            sh = shifts.get((label, ro.suite)) or Shift(ro.suite, 1.0, False, 0.0, 0.0, 1)
            rows.append((f"{label}: {n}" if label else n, ro, rn, run_change(ro, rn, sh)))
    if not rows:
        raise PagecoreError("no benchmark in common between the two result sets")
    return rows, [sh for _, sh in sorted(shifts.items(), key=lambda kv: (
        str(kv[0][0]), _suite_order(kv[0][1])))]
