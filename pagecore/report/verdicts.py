"""Verification verdicts per variant and scenario, from the verify rows of a ResultSet."""

from dataclasses import dataclass, field

from pagecore.report.formats import _fmt_count


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
    unsure = [s for s, c in cells.items() if c.inconclusive]
    if unsure:
        return "unverified", "inconclusive: " + ", ".join(unsure)
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

