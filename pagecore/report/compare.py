"""Two result sets side by side."""

from pagecore._errors import PagecoreError
from pagecore.report.results import _suite_order
from pagecore.report.stats import change


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
            rows.append((f"{label}: {n}" if label else n, ro, rn, change(ro, rn, paired=False)))
    if not rows:
        raise PagecoreError("no benchmark in common between the two result sets")
    return rows

