"""Verification verdicts per variant and scenario, from the verify rows of a ResultSet.

Safety (racy or clean) comes from every scenario but the liveness ones;
liveness (starved or live) from writeback-starvation alone, whose `starved`
never makes a variant racy.
"""

import re
from dataclasses import dataclass, field

from pagecore.report.formats import fmt_field
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


def _unjudged(rs):
    """The measured built-in variants @rs holds no verdict for (a variant of a file that
    `pagecore try` measured cannot be judged again without its file: it stays unverified)."""
    from pagecore.model.variants import VARIANTS

    have = {row["variant"] for _, row in rs.verify_rows()}
    return [v for v in rs.variants() if v in VARIANTS and v not in have]


def _attach(rs, variant, rows):
    m = next(m for m in rs.machines.values() if any(r.variant == variant
                                                      for r in m.results.values()))
    m.verify.extend(rows)


def add_cached(rs):
    """Give each measured variant that has no verdict in @rs the verdicts the cache holds for
    its current source (pagecore.verify.cache), and say so in rs.notes; the variants given."""
    from pagecore.model.variants import VARIANTS
    from pagecore.verify.matrix import MODES

    try:
        from pagecore.verify import cache

        found = {}
        for v in _unjudged(rs):
            rows = [r for s in VARIANTS[v].all_scenarios for mode in MODES
                    for r in [cache.best(v, s, mode)] if r is not None]
            if rows:
                found[v] = rows
    except ImportError:     # no compiled harness to key verdicts by: nothing to add
        return []
    for v, rows in found.items():
        _attach(rs, v, rows)
    if found:
        rs.notes.append("Verdicts of {} come from the cache of verdicts ({}): kept by `pagecore "
                        "verify` or `bench` for the variant's current source, not from these "
                        "results.".format(", ".join(found), cache.root()))
    return list(found)


def verify_missing(rs, mode="default", progress=None):
    """Verify, under the plan of bench's @mode (pagecore.verify.options.VERIFY_PLANS), each
    measured variant that has no verdict in @rs, taking from the cache of verdicts every
    cell it holds for the variant's current source and running the others (which the cache
    then keeps); add the rows to @rs and say so in rs.notes.  The variants judged."""
    import time

    from pagecore.verify import cache
    from pagecore.verify.options import plan_text, verify_plan

    todo = _unjudged(rs)
    if not todo:
        return []
    say = progress or (lambda text: None)
    say("verifying {}: no verdict in these results ({}; verdicts kept in {})".format(
        ", ".join(todo), plan_text(mode), cache.root()))
    rows, t0 = [], time.monotonic()
    try:
        verify_plan(mode, todo, rows, progress=say)
    finally:
        # interrupted, the cells that finished are in the cache for the next run
        for v in todo:
            mine = [r for r in rows if r["variant"] == v]
            if mine:
                _attach(rs, v, mine)
    ran = [r for r in rows if not r.get("cached")]
    rs.notes.append("Verdicts of {} were not in these results: {} of their {} cells came from "
                    "the cache of verdicts ({}) and {} were verified for this report in {:.0f} s "
                    "({}).".format(", ".join(todo), len(rows) - len(ran), len(rows),
                                   cache.root(), len(ran), time.monotonic() - t0,
                                   plan_text(mode)))
    return todo


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


# What tells one run from another in a story and nothing else: task ids, page numbers,
# page generations, the worker a stress record came from.
_RUN_DETAIL = [(re.compile(r"\(pid \d+\)"), "(pid #)"), (re.compile(r"\bpage \d+\b"), "page #"),
               (re.compile(r"\bgeneration \d+( -> \d+)?"), "generation #"),
               (re.compile(r"\bworker-\d+\b"), "worker-#"), (re.compile(r"\bpid=\d+"), "pid=#")]


def _normal(line, mode=None):
    if mode == "stress":
        # a stress record is told for whichever task, page and generation it hit
        return re.sub(r"\b\d+\b", "#", line)
    for pat, rep in _RUN_DETAIL:
        line = pat.sub(rep, line)
    return line


def _chunks(row):
    """A verify row's evidence as stories: an interleaving with its steps, a record in
    words, the explorer's account; the raw bug-log records are left out (the lines before
    them say the same in words, with the flags by name)."""
    ev = row.get("evidence") or []
    ev = ev if isinstance(ev, list) else [ev]
    # replay ends its evidence with one line per interleaving (what it came to)
    n_out = row.get("outcomes") if isinstance(row.get("outcomes"), int) else 0
    body, tail = (ev[:len(ev) - n_out], ev[len(ev) - n_out:]) if n_out else (ev, [])
    out, cur = [], None
    for item in body:
        if isinstance(item, dict):
            if "kind" in item:
                continue
            item = ", ".join(fmt_field(k, v) for k, v in item.items())
            out.append([item])
            cur = None
            continue
        item = str(item)
        if item.startswith("interleaving: ") or (row.get("mode") == "explore"
                                                  and item.startswith("reach: ")):
            cur = [item]
            out.append(cur)
        elif cur is not None and (row.get("mode") in ("replay", "explore")):
            cur.append(item)
        else:
            out.append([item])
    if tail:
        out.append(["what each interleaving came to:"] + [str(x) for x in tail])
    return out


def stories(verdict):
    """The distinct stories in the evidence of @verdict's rows (every machine and mode), in
    the order first told: [(lines, count, where)], count the number of times it was told
    (the same story with other task ids or page numbers is the same story), where the
    machines and modes that told it."""
    seen = {}
    for machine, row in verdict.rows:
        for chunk in _chunks(row):
            key = tuple(_normal(x, row.get("mode")) for x in chunk)
            if key not in seen:
                seen[key] = [chunk, 0, []]
            seen[key][1] += 1
            w = f"{machine}, {row.get('mode', '?')}"
            if w not in seen[key][2]:
                seen[key][2].append(w)
    return [tuple(v) for v in seen.values()]


def counts_lines(verdict):
    """One line per row: where it ran, and its counts."""
    out = []
    for machine, row in verdict.rows:
        counts = row.get("counts")
        head = "**{}, {}**".format(machine, row.get("mode", "?"))
        if row.get("cached"):
            head += " (a verdict kept for this source)"
        if isinstance(counts, dict) and counts:
            head += ": " + ", ".join(fmt_field(k, v) for k, v in counts.items())
        out.append(head)
    return out


def evidence_lines(verdict):
    lines = []
    for machine, row in verdict.rows:
        counts = row.get("counts")
        head = "**{}, {}**".format(machine, row.get("mode", "?"))
        if isinstance(counts, dict) and counts:
            head += ": " + ", ".join(fmt_field(k, v) for k, v in counts.items())
        lines.append(head)
        ev = row.get("evidence") or []
        for item in (ev if isinstance(ev, list) else [ev]):
            if isinstance(item, dict):
                lines.append(", ".join(fmt_field(k, v) for k, v in item.items()))
            else:
                lines.append(str(item))
    return lines

