"""What `pyperf check` says of each benchmark, and what to do about it.

pyperf calls a benchmark's result unstable when its standard deviation is 10% of its mean or
more, when (below that) it has fewer processes than 95% certainty of a 1% variation needs,
when its minimum or maximum is 50% or more away from its mean, or when its shortest raw
value (one value's loops together) took under 1 ms.  The same checks here, on the same
values, so that the report says what `python -m pyperf check results/<machine>/<suite>.json`
says, and what it means for this report's numbers.
"""

# kind -> (what pyperf says, what to do about it)
ADVICE = {
    "sd": ("the standard deviation is 10% of the mean or more",
           "the processes disagree with each other, most often because the host slowed the "
           "CPU of some of them: this report's changes are paired per process and leave out "
           "values the sentinel saw slowed, which sees through much of it, but the absolute "
           "costs carry it. Measure on an idle machine (nothing on the other cores; `python "
           "-m pyperf system tune`), or with more processes (`pagecore bench --rigorous`)."),
    "samples": ("too few processes for 95% certainty of a 1% variation",
                "run more processes: `pagecore bench` (20 by default) or `--rigorous` (40)."),
    "outlier": ("the minimum or the maximum is 50% or more away from the mean",
                "a process or a value far from the others: look at it with `python -m pyperf "
                "dump` or `hist`; the report takes each process as the median of its rounds, "
                "which limits its weight, and a slowed CPU shows in the sentinel."),
    "short": ("the shortest raw value took under 1 ms",
              "a value this short is at the mercy of the clock and of a single interruption: "
              "the default mode times longer values than --fast and --smoke; a suite takes "
              "--min-time itself."),
}


def pyperf_checks(bench):
    """pyperf check's warnings of one pyperf Benchmark: [(kind, text)] (kinds of ADVICE)."""
    out = []
    values = bench.get_values()
    if not values:
        return out
    mean = bench.mean()
    if len(values) >= 2 and mean:
        pct = bench.stdev() * 100.0 / mean
        if pct >= 10.0:
            out.append(("sd", "std dev %.0f%% of the mean" % pct))
        else:
            need = bench.required_nprocesses()
            if need is not None and need > bench.get_nrun():
                out.append(("samples", "%d processes, %d needed" % (bench.get_nrun(), need)))
    if mean:
        for what, v in (("minimum", min(values)), ("maximum", max(values))):
            pct = (v - mean) * 100.0 / mean
            if abs(pct) >= 50:
                out.append(("outlier", "%s %.0f%% %s the mean" % (
                    what, abs(pct), "above" if pct > 0 else "below")))
    if bench.get_unit() == "second":
        raw = [v * run.get_total_loops() for run in bench.get_runs() for v in run.values]
        if raw and min(raw) < 1e-3:
            out.append(("short", "shortest raw value %.3g ms" % (min(raw) * 1e3)))
    return out


def section(doc, rs):
    """The report's account of pyperf check: how many benchmarks each check flags, what it
    means here and what to do; the flagged benchmarks in a fold.  Nothing when none is."""
    from pagecore.report.html import Doc

    flagged = [r for r in rs.results() if r.unstable]
    if not flagged:
        return
    total = sum(1 for _ in rs.results())
    doc.heading(2, "Stability: what pyperf check says", "stability")
    by_kind = {}
    for r in flagged:
        for kind, _ in r.unstable:
            by_kind[kind] = by_kind.get(kind, 0) + 1
    doc.para(f"`pyperf check` calls **{len(flagged)} of {total} benchmarks** unstable; in "
             "the cost tables their cost is marked ⚠. Costs so marked are the least certain "
             "numbers here; the paired changes and the ranking rest on differences within each "
             "process, with their own intervals.", "warn")
    doc.bullets([f"{n} benchmark{'s' if n != 1 else ''}: {ADVICE[k][0]}. What to do: "
                 f"{ADVICE[k][1]}" for k, n in sorted(by_kind.items(),
                                                      key=lambda kv: -kv[1])])
    t = Doc("")
    t.table(["benchmark", "machine", "pyperf check"],
            [[r.name, r.machine, "; ".join(text for _, text in r.unstable)]
             for r in sorted(flagged, key=lambda r: (r.machine, r.name))],
            ["left", "left", "wrap"])
    doc.details(f"The {len(flagged)} benchmarks pyperf check flags", t)
