"""Verification verdicts per variant and scenario, from the verify rows of a ResultSet.

Safety (racy or clean) comes from every scenario but the liveness ones;
liveness (starved or live) from writeback-starvation alone, whose `starved`
never makes a variant racy.
"""

from dataclasses import dataclass, field

from pagecore.report.formats import _fmt_count
from pagecore.verify.matrix import LIVENESS_SCENARIOS, STARVED


@dataclass
class Verdict:
    """Every verify row for one variant and scenario, from every machine and mode."""

    rows: list = field(default_factory=list)   # (machine, row)

    @property
    def failures(self):
        return sorted({f for _, r in self.rows for f in r.get("failures") or []})

    @property
    def inconclusive(self):
        """Why rows without failures gave no verdict (the harness could not run them
        faithfully): such a cell is neither racy nor clean."""
        return sorted({str(r["inconclusive"]) for _, r in self.rows
                       if r.get("inconclusive") and not r.get("failures")})

    @property
    def safety_failures(self):
        return [f for f in self.failures if f != STARVED]

    @property
    def starved(self):
        return any(STARVED in (r.get("failures") or []) for _, r in self.rows)

    @property
    def liveness(self):
        """The liveness numbers of every row that has them."""
        return [(m, r["liveness"]) for m, r in self.rows if isinstance(r.get("liveness"), dict)]

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


def add_cached(rs):
    """Give each measured variant that has no verdict in @rs the verdicts the cache holds for
    its current source (pagecore.verify.cache), and say so in rs.notes; the variants given."""
    from pagecore.model.variants import VARIANTS
    from pagecore.verify.matrix import MODES

    try:
        from pagecore.verify import cache

        have = {row["variant"] for _, row in rs.verify_rows()}
        todo = [v for v in rs.variants() if v in VARIANTS and v not in have]
        found = {}
        for v in todo:
            rows = [r for s in VARIANTS[v].all_scenarios for mode in MODES
                    for r in [cache.best(v, s, mode)] if r is not None]
            if rows:
                found[v] = rows
    except ImportError:     # no compiled harness to key verdicts by: nothing to add
        return []
    for v, rows in found.items():
        m = next(m for m in rs.machines.values() if any(r.variant == v
                                                          for r in m.results.values()))
        m.verify.extend(rows)
    if found:
        rs.notes.append("Verdicts of {} come from the cache of verdicts ({}): kept by `pagecore "
                        "verify` or `bench` for the variant's current source, not from these "
                        "results.".format(", ".join(found), cache.root()))
    return list(found)


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
    failing = ["{} ({})".format(s, ", ".join(c.safety_failures))
               for s, c in cells.items() if c.safety_failures]
    if failing:
        return "racy", "fails " + "; ".join(failing)
    missing = [s for s in expected_scenarios(variant, table)
               if s not in cells and s not in LIVENESS_SCENARIOS]
    if missing:
        return "unverified", "not verified: " + ", ".join(missing)
    unsure = [s for s, c in cells.items() if c.inconclusive and s not in LIVENESS_SCENARIOS]
    if unsure:
        return "unverified", "inconclusive: " + ", ".join(unsure)
    return "clean", "passes " + ", ".join(s for s in cells if s not in LIVENESS_SCENARIOS)


def liveness(rs, variant, table=None):
    """('starved' | 'live' | 'unmeasured', reason) from the liveness scenarios."""
    table = verdicts(rs) if table is None else table
    cells = {s: c for s, c in table.get(variant, {}).items()
             if s in LIVENESS_SCENARIOS and not (c.inconclusive and not c.failures)}
    if not cells:
        return "unmeasured", "no writeback-starvation result"
    starved = [s for s, c in cells.items() if c.starved]
    if starved:
        longest = [lv for c in cells.values() for _, lv in c.liveness
                   if isinstance(lv.get("wait_max_ms"), (int, float))]
        worst = max(longest, key=lambda lv: lv["wait_max_ms"]) if longest else None
        how = (" (a wait of {:.0f} ms, woken and asleep again {} times)".format(
            worst["wait_max_ms"], worst.get("max_resleeps", "?")) if worst else "")
        return "starved", "starves a slow waiter in " + ", ".join(starved) + how
    return "live", "no slow waiter starved in " + ", ".join(cells)


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

