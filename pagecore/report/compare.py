"""Two result sets side by side, with the machine's own drift between the two runs taken out.

Within one run, the suites pair every variant with its baseline per worker process, so whatever
slows a process slows both halves of its pairs.  Across two runs nothing pairs: a VM's vCPU runs
a few percent faster or slower from one run to the next, every benchmark moves with it, and a
test of each benchmark's runs against the other's calls every one of them changed.  So a
comparison of two runs takes out what the runs share:

- the shift: every value of a suite was timed beside a sentinel, a fixed loop of locked RMWs
  (bench/_harness.py), and the median sentinel of a suite says how fast the machine ran while
  that suite ran.  A benchmark's change is its ratio new / old divided by the suite's sentinel
  ratio new / old (1 where either run has no sentinels);
- the case's common change: the variants of one case (a benchmark without its variant) ran in
  the same worker processes, a few microseconds apart, each time; whatever moved the kind of
  work that case does between the runs (the wake of a thread asleep on another CPU moves with
  the host's scheduling by 10%, while the sentinel's RMWs stay put) moved all of them alike.
  Where a case has MIN_FOR_SPREAD variants or more, each one's change is taken relative to the
  median change of the case's other variants: the reference measured in both runs is the
  case's other variants (not itself, so that its own change does not move its reference).
  Only those that cost within PEER_RATIO of it count: a variant that walks four cold lines
  under the i_pages lock (600 ns) does other work than the variants that hold it for the
  statistics alone (30 to 60 ns), and moves differently between runs (-11% against -47%);
  a variant with fewer than MIN_FOR_SPREAD - 1 such peers has no case's reference;
- the run-level variance: what the two runs' difference leaves beyond that (kinds of work that
  shift by different amounts) is measured across the suite's benchmarks, as the robust spread
  (1.4826 x the median absolute deviation) of their log ratios about zero, less their own
  noise (`spread`), or for the changes relative to their cases (`within`) as Shamos's robust
  SD (1.0483 x the median absolute difference of two variants of one case) less their noise.
  It adds, as a variance, to every benchmark's own.  Where a run has no sentinels (pyperf
  files of other tools), no shift and no case's change is taken out, and the spread is taken
  about the suite's median change: the runs' shift then shows in every benchmark.

A comparison tests every benchmark two runs share, a hundred and more: at 95% each, a few would
come out changed in two runs of one commit by chance alone.  So a change is called significant
where the Benjamini-Hochberg procedure over all of them keeps it at a false discovery rate of
FDR (5%); each row's interval stays its own 95% one.  The floor cases that the host's
placement of their threads decides (host_placed) are shown and not tested.

A change confined to a few variants of a case (an extra atomic in one variant) stands out of
that; a change of every variant of a case alike cannot be told from the machine's drift for
that kind of work, and of every benchmark of a suite alike from the machine's: they are
reported as the cases' common changes (those beyond the suite's spread) and the suite's.
"""

import math
from dataclasses import dataclass

from pagecore._errors import PagecoreError
from pagecore.report.results import _suite_order
from pagecore.report.stats import Change, t95

# the false discovery rate at which changes are called significant over a whole comparison
FDR = 0.05
# Floor cases whose cost is where the host put their threads (two CPUs or one; a CPU asleep
# or awake): one run measures one placement, the next another, tens of percent apart (a cache
# line handed between two threads 166 ns in one run, 28 ns in the next).  Two runs cannot say
# whether their code changed, so they are shown and not tested.
HOST_PLACED = ("floor/cacheline_bounce/", "floor/wake_sleeping_thread/")


def host_placed(r):
    """@r is a floor benchmark that the host's placement decides: a HOST_PLACED case, or one
    that wakes a thread asleep on another CPU (Result.wakes_sleeper: wake_sleeping_thread
    and the sleeping-waiter calibration paths), which moves with the host's wake of that CPU
    (9.6 us in one run, 1.9 ms in another made on an idle host).  A suite's own sleeping-waiter
    cases stay tested: their variants are compared against the case's common change."""
    return r.name.startswith(HOST_PLACED) or (r.suite == "floor" and r.wakes_sleeper)
# fewer benchmarks than this in a suite (variants in a case): no spread (no common change) can
# be measured
MIN_FOR_SPREAD = 5
# variants of one case whose costs differ by more than this factor do different kinds of work
PEER_RATIO = 2.0
MAD_TO_SD = 1.4826
SHAMOS = 1.0483


@dataclass
class Shift:
    """What two runs of one suite share: the sentinel's ratio, the cases' common changes and
    the run-level spreads."""

    suite: str
    ratio: float            # new / old sentinel (1.0 when a run has none)
    sentinel: bool          # both runs had sentinels
    spread: float           # run-level SD of the log ratios, beyond each benchmark's own noise
    common: float           # the median log ratio after the shift: the suite's common change
    n: int                  # benchmarks of the suite in both runs
    # per case (Result.term) of MIN_FOR_SPREAD variants or more: {name: (log ratio after the
    # shift, its own log noise, its cost in the old run)}, which its variants' changes are
    # taken relative to
    members: dict = None
    within: float = 0.0     # run-level SD of a variant's change beside its case's

    @property
    def cases(self):
        """{term: the median log ratio of its variants} of the cases compared within."""
        return {t: _median([x for x, _, _ in ms.values()])
                for t, ms in (self.members or {}).items()}

    def reference(self, r):
        """(log change @r is measured against beyond the shift: the median of its case's other
        variants that cost about as much (_peers), that reference's variance), or None where
        it has too few of them."""
        ms = (self.members or {}).get(r.term)
        if not ms or r.name not in ms:
            return None
        others = [ms[n] for n in _peers(ms, r.name)]
        if len(others) < MIN_FOR_SPREAD - 1:
            return None
        # the variance of a median of k: about pi/2 times that of a mean
        var = math.pi / 2 * (self.within ** 2 + _median([v for _, v, _ in others])) / len(others)
        return _median([x for x, _, _ in others]), var

    def text(self):
        shift = (f"machine {(self.ratio - 1) * 100:+.1f}% (sentinel)" if self.sentinel else
                 "no sentinel in one run: no shift taken out")
        out = (f"{self.suite}: {self.n} benchmarks; {shift}; every benchmark "
               f"{(math.exp(self.common) - 1) * 100:+.1f}% beyond it (median); run-level "
               f"spread ±{self.spread * 100:.1f}%")
        if self.cases:
            out += (f"; {len(self.cases)} cases of {MIN_FOR_SPREAD}+ variants, each variant "
                    f"against its case's common change (spread ±{self.within * 100:.1f}%)")
            apart = [(t, g) for t, g in self.cases.items()
                     if abs(g - self.common) > 2 * max(self.spread, 0.005)]
            if apart:
                out += "; cases that moved together: " + ", ".join(
                    f"{_term_text(t)} {(math.exp(g) - 1) * 100:+.1f}%"
                    for t, g in sorted(apart, key=lambda kv: _term_text(kv[0])))
        return out


def _term_text(term):
    suite, case, params = term
    return "/".join([suite, case] + ["%s=%s" % kv for kv in sorted(params)])


def _peers(ms, name):
    """The other variants of @name's case (@ms: Shift.members of one case) whose cost in the
    old run is within PEER_RATIO of its own: those doing the same kind of work."""
    size = ms[name][2]
    return [n for n, (_, _, c) in ms.items()
            if n != name and max(c, size) <= PEER_RATIO * min(c, size)]


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
            noises = [_log_noise(ro) + _log_noise(rn) for ro, rn in rows]
            common = _median(logs)
            # about zero where the sentinel took the shift out (what it left is drift);
            # about the median where there was none to take out (the runs' shift then
            # shows in every benchmark, as it always did)
            centre = 0.0 if (so and sn) else common
            by_case = {}
            for (ro, _), x, v in zip(rows, logs, noises):
                by_case.setdefault(ro.term, {})[ro.name] = (x, v, ro.mean)
            # (without sentinels no shift was taken out: a case's common change is then the
            # machine's too, and stays in every benchmark)
            members = {t: ms for t, ms in by_case.items()
                       if len(ms) >= MIN_FOR_SPREAD and so and sn}
            spread = _spread(logs, noises, centre)
            out[(label, suite)] = Shift(suite, ratio, bool(so and sn), spread, common,
                                        len(rows), members, _within(members))
    return out


def _within(members):
    """Shamos's robust SD of the differences between two variants of one case (peers, _peers),
    pooled over the cases, less the variants' own noise."""
    diffs, noises = [], []
    for ms in members.values():
        names = sorted(ms)
        noises += [ms[n][1] for n in names]
        diffs += [abs(ms[a][0] - ms[b][0]) for i, a in enumerate(names) for b in names[i + 1:]
                  if b in _peers(ms, a)]
    if not diffs:
        return 0.0
    return math.sqrt(max(0.0, (SHAMOS * _median(diffs)) ** 2 - _median(noises)))


def _spread(logs, noises, centre):
    """The robust SD of @logs about @centre beyond their own noise (@noises, variances); 0 for
    fewer than MIN_FOR_SPREAD of them."""
    if len(logs) < MIN_FOR_SPREAD:
        return 0.0
    mad0 = _median([abs(x - centre) for x in logs])
    return math.sqrt(max(0.0, (MAD_TO_SD * mad0) ** 2 - _median(noises)))


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return 0.0
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def run_change(ro, rn, shift):
    """@rn against @ro (Results of two runs) as a Change, the shift taken out (and its case's
    common change, where it has one) and the run-level spread added to the two runs' own
    noise; significant as a single test at 95% (compare_runs() decides over all the benchmarks
    of a comparison)."""
    return _run_change(ro, rn, shift)[0]


def _run_change(ro, rn, shift):
    """(Change, two-sided p-value or None)."""
    if ro.mean <= 0 or rn.mean <= 0:
        return Change(math.nan, math.nan, math.nan, None, False, 0), None
    x = math.log(rn.mean / ro.mean) - math.log(shift.ratio)
    ref = shift.reference(ro)
    if ref is None:
        var = _log_noise(ro) + _log_noise(rn) + shift.spread ** 2
    else:
        x = x - ref[0]
        var = _log_noise(ro) + _log_noise(rn) + shift.within ** 2 + ref[1]
    n = min(ro.n, rn.n)
    if n < 2:
        pct = (math.exp(x) - 1) * 100
        return Change(pct, pct, pct, None, False, n), None
    half = t95(n - 1) * math.sqrt(var)
    sig = abs(x) > half
    p = _p_value(x, math.sqrt(var), n - 1)
    return Change((math.exp(x) - 1) * 100, (math.exp(x - half) - 1) * 100,
                  (math.exp(x + half) - 1) * 100, sig, False, n), p


def _p_value(x, sd, df):
    from scipy import stats

    if sd <= 0:
        return 0.0 if x else 1.0
    return float(2 * stats.t.sf(abs(x) / sd, df))


def _fdr(ps, q=FDR):
    """Benjamini-Hochberg: which of @ps (None: untested) are discoveries at false discovery
    rate @q."""
    tested = sorted((p, i) for i, p in enumerate(ps) if p is not None)
    m, k = len(tested), 0
    for rank, (p, _) in enumerate(tested, start=1):
        if p <= q * rank / m:
            k = rank
    keep = {i for _, i in tested[:k]}
    return [None if p is None else i in keep for i, p in enumerate(ps)]


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
    rows, ps = [], []
    for label, mo, mn, names in named:
        for n in names:
            ro, rn = mo.results[n], mn.results[n]
            sh = shifts.get((label, ro.suite)) or Shift(ro.suite, 1.0, False, 0.0, 0.0, 1)
            ch, p = _run_change(ro, rn, sh)
            if host_placed(rn) or host_placed(ro):
                ch.significant, p = None, None
            rows.append((f"{label}: {n}" if label else n, ro, rn, ch))
            ps.append(p)
    if not rows:
        raise PagecoreError("no benchmark in common between the two result sets")
    for (_, _, _, ch), sig in zip(rows, _fdr(ps)):
        if sig is not None:
            ch.significant = sig
    return rows, [sh for _, sh in sorted(shifts.items(), key=lambda kv: (
        str(kv[0][0]), _suite_order(kv[0][1])))]
