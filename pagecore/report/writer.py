"""The report itself: report.md, report.html and the figures, section by section."""

import math
import os
import re
import shutil

from pagecore._errors import PagecoreError
from pagecore.report import stability
from pagecore.report.choose import (
    DEFAULT_MIX,
    _kind_of_key,
    check_mix,
    choose,
    load_weights_file,
    make_mix,
    ranking_table,
    reasoning,
)
from pagecore.report.formats import _ns, fmt_ns, fmt_signed_ns
from pagecore.report.html import Cell, Doc
from pagecore.report.results import (
    FLOOR_BASELINE,
    SUITES,
    _order_variants,
    baselines,
    load_results,
)
from pagecore.report.sections import (
    _section_bars,
    _section_contention,
    _section_hashchain,
    _suite_baseline,
)
from pagecore.report.verdicts import add_cached, liveness, status, verdicts
from pagecore.report.verification import _section_matrix


def default_name(rs):
    name = "+".join(rs.machines)
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name)
    return name if 0 < len(name) <= 60 else "latest"


def check_baseline(rs, baseline):
    """A baseline given by name must be a variant, and measured (None: the default of each
    kind, results.baselines)."""
    from pagecore.model.variants import get_variant

    if baseline is None:
        return
    get_variant(baseline)
    if not any(r.variant == baseline for r in rs.results()):
        raise PagecoreError(f"baseline variant {baseline!r} has no results "
                            f"(measured: {', '.join(rs.variants())})")


def write_report(results_paths=None, outdir="reports", name=None, baseline=None,
                 weights=None, exclude_starving=False):
    """Write <outdir>/<name>/report.md, report.html and the PNGs; return report.html's path.

    baseline: the variant changes are measured against, for its kind; None: each kind's
    pre-fix kernel where it was measured, else the first variant of that kind measured.
    weights: None for DEFAULT_MIX, a dict of key -> weight, or the path of a TOML file.
    exclude_starving: rank only the fixes that neither race nor starve.

    Example: ``write_report(["results"], "reports")`` writes reports/<machine>/.
    """
    rs = load_results(results_paths)
    add_cached(rs)
    check_baseline(rs, baseline)
    if isinstance(weights, (str, os.PathLike)):
        weights = load_weights_file(weights)
    mix = make_mix(weights)
    check_mix(rs, mix, list(weights or ()))
    return _write(rs, outdir, name or default_name(rs), baseline, mix,
                  exclude_starving=exclude_starving)


def check_name(name):
    """A report name is one directory under the output directory, nothing else."""
    if (not isinstance(name, str) or not name.strip() or name in (".", "..") or "/" in name
            or os.sep in name or (os.altsep and os.altsep in name) or "\0" in name
            or len(name.encode("utf-8", "surrogateescape")) > 255):
        raise PagecoreError(f"--name {name!r}: must be one directory name (no '/', not '.' "
                            "or '..', at most 255 bytes)")
    return name


def _write(rs, outdir, name, baseline, mix, exclude_starving=False, full=False, answers=None):
    """Write the report of @rs into @outdir/@name; report.html's path.  @full: report.md
    keeps every fold and all the evidence.  @answers, a list, gets each Choice and its
    Guide (separate.guide)."""
    from pagecore.report.html import render_html, render_markdown

    d = os.path.join(outdir, check_name(name))
    # the topmost directory this call creates (-o included), removed again on failure
    created = None
    p = os.path.abspath(d)
    while not os.path.exists(p):
        created, p = p, os.path.dirname(p)
    try:
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("fig-") and f.endswith(".png"):
                os.remove(os.path.join(d, f))   # plots of an earlier report in the same place
    except OSError as e:
        raise PagecoreError(f"{d}: cannot write: {e.strerror}") from None
    answers = [] if answers is None else answers
    try:
        doc = build(rs, d, baseline, mix, exclude_starving=exclude_starving, full=full,
                    answers=answers)
        md, page = os.path.join(d, "report.md"), os.path.join(d, "report.html")
        js = os.path.join(d, "report.json")
        for path, text in ((md, render_markdown(doc)), (page, render_html(doc, d)),
                           (js, report_json(rs, answers))):
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
    except BaseException:
        # no half-written report, and no directory this call made and did not fill
        for f in ("report.md.tmp", "report.html.tmp", "report.json.tmp"):
            if os.path.exists(os.path.join(d, f)):
                os.remove(os.path.join(d, f))
        if created:
            shutil.rmtree(created, ignore_errors=True)
        raise
    return page


def report_json(rs, answers):
    """report.json: the answer as `pagecore choose --json` gives it (with the guidance of a
    tie or of nothing left), what pyperf check flags, and every verify row whole, the full
    evidence the Markdown cuts short."""
    import json

    table = verdicts(rs)
    doc = {"machines": list(rs.machines),
           "choices": [dict(c.as_dict(table), guide=g.as_dict() if g else None)
                       for c, g in answers],
           "unstable": [{"benchmark": r.name, "machine": r.machine,
                         "pyperf_check": [t for _, t in r.unstable]}
                        for r in rs.results() if r.unstable],
           "verify": [dict(row, machine=m) for m, row in rs.verify_rows()]}
    return json.dumps(doc, indent=1, default=str) + "\n"


_TERM_NOTES = {
    "hotpath/end_page_writeback_no_waiters": "nobody waits: the common case",
    "hotpath/wait_on_page_writeback_clear": "fsync/truncate finding writeback done",
    "hotpath/end_page_writeback_sleeping_waiter": "a waiter to wake",
    "hashchain/end_page_writeback/bits=8/chain=4": "the wake walks a shared bucket",
    "hashchain/end_page_writeback/bits=8/chain=4/entries=cold":
        "a waiter to wake, behind the other sleeping tasks' entries in its bucket",
    "hotpath/unlock_page_no_waiters": "write_cache_pages unlocking each page it started",
    "dirty/cpdfio_writepage/state=unmapped": "writepage of an unmapped page",
    "dirty/cpdfio_writepage/state=mapped_clean": "mapped, PTEs clean",
    "dirty/cpdfio_writepage/state=mapped_dirty": "mapped, written through a PTE",
}


def _section_choosing(doc, rs, choices, mix, table, baseline):

    doc.heading(2, "Choosing a fix", "choosing")
    doc.para("Each operation of the workload mix gets a weight (its relative frequency); a "
             "variant's weighted cost is the sum of weight × cost, in ns per operation of the "
             "mix. Only variants that pass every verification scenario are ranked, in the "
             "order of their paired difference against the baseline: per worker process, the "
             "weighted cost of the variant less that of the baseline measured in the same "
             "process, with a 95% t interval over processes. Neighbours whose paired "
             "difference has an interval that includes zero are a tie (`~`); `*` marks a "
             "significant gap; `=` marks variants that run identical source in every term. "
             "The flip point moves one weight, the others fixed, to where two neighbours cost "
             "the same.")
    doc.table(["term (benchmark without variant)", "weight", "ranks", "what it stands for"],
              [[k, f"{w:g}", _kind_of_key(k), _TERM_NOTES.get(k, "")]
               for k, w in mix.items()], ["left", "right", "left", "wrap"],
              caption="The mix%s. Change it with `--weights FILE` (TOML) or `--weight KEY=W`."
              % (" (the default)" if mix == DEFAULT_MIX else " (given on the command line)"))
    for c in choices:
        doc.heading(3, f"{c.machine}: {c.kind} fixes", f"choose-{c.machine}-{c.kind}")
        for k, why in c.dropped:
            doc.para(f"Dropped from the mix: `{k}` ({why}).")
        if not c.verified:
            doc.para("No verification results: these variants are ranked by cost only and "
                     "may be racy.", "warn")
        if c.ranked:
            headers, rows = ranking_table(c)
            doc.table(headers, rows, ["right", "left", "right", "right", "right", "right",
                                      "left"])
        doc.bullets(reasoning(c, table))
        every = c.ranked + [rk for _, _, rk in c.excluded if rk is not None]
        if every:
            terms = list(c.mix)
            rows = []
            out = {x for x, _, _ in c.excluded}
            for rk in every:
                # why it is not ranked, as the matrix says it: not every one left out is racy
                why = ({"racy": "racy", "unverified": "unverified"}.get(rk.state, "excluded")
                       if rk.variant in out else "")
                rows.append([rk.variant + (f" ({why})" if why else "")]
                            + [fmt_ns(rk.parts[k][1].mean) for k in terms]
                            + [fmt_ns(rk.cost)])
            brk = Doc("")
            brk.table(["variant"] + [f"{k} (w {c.mix[k]:g})" for k in terms]
                      + ["weighted"], rows, ["left"] + ["right"] * (len(terms) + 1),
                      caption="ns/op per term; weighted = Σ w × cost.")
            doc.details("Term by term: where each variant's cost comes from", brk)


def _answer(doc, rs, choices, table, exclude_starving=False, answers=None):
    from pagecore.report import separate

    doc.heading(2, "Answer", "answer")
    for c in choices:
        doc.para(_answer_line(c), "answer")
        if c.baseline_note:
            doc.para(c.baseline_note + ".")
        g = separate.guide(rs, table, c, exclude_starving)
        if g is not None:
            separate.to_doc(doc, g, c)
        if answers is not None:
            answers.append((c, g))
    if not rs.has_verify:
        doc.para("No verification results were given: the variants above are ranked by cost "
                 "alone and may be racy.", "warn")
        return
    # how sure: which machines and modes the verdicts rest on, and what they rule out
    where = ", ".join(m.name for m in rs.machines.values() if m.verify)
    modes = sorted({str(r.get("mode", "?")) for _, r in rs.verify_rows()})
    racy = [v for v in _order_variants(table) if status(rs, v, table)[0] == "racy"]
    doc.para(f"Correctness rests on the verify results from {where} ({', '.join(modes)}): "
             f"{len(table)} variants checked, racy and so excluded: "
             f"{', '.join(racy) or 'none'}. Costs are means over pyperf runs; ± is a 95% "
             "confidence interval.")
    starving = [v for v in _order_variants(table) if liveness(rs, v, table)[0] == "starved"]
    if starving:
        doc.para("Liveness, apart from correctness: a slow waiter starved in "
                 f"writeback-starvation with {', '.join(starving)} (their waits loop). "
                 "`pagecore choose --exclude-starving` (or `report --exclude-starving`) ranks "
                 "only fixes that neither race nor starve.")


def _answer_line(c):
    if not c.mix:
        return f"On **{c.machine}** no term of the {c.kind} mix was measured."
    if not c.ranked:
        return (f"On **{c.machine}** no {c.kind} variant passes every verification scenario: "
                "nothing to recommend.")
    which = "correct" if c.verified else "(unverified)"
    tied = c.tied_with_leader()
    best = c.ranked[0]
    if len(tied) > 1:
        s = (f"On **{c.machine}** the cheapest {which} {c.kind} fixes are a **tie**: "
             + ", ".join(f"**{rk.variant}** ({_ns(rk.cost)})" for rk in tied)
             + " per operation of the mix; " + (
                 "the paired 95% interval of their difference includes zero"
                 if math.isfinite(c.gaps()[0].diff.hi - c.gaps()[0].diff.lo)
                 else "one process per variant cannot order them (a run without --smoke "
                 "measures enough)"))
    else:
        s = (f"On **{c.machine}** the cheapest {which} {c.kind} fix is **{best.variant}**: "
             f"{_ns(best.cost)} per operation of the mix (±{_ns(best.ci)})")
        if len(c.ranked) > 1:
            g = c.gaps()[0]
            s += ", {} ({:.1f}%) below {} (paired 95% CI {} to {} ns)".format(
                _ns(g.diff.mean), g.pct, g.dearer.variant, fmt_ns(g.diff.lo),
                fmt_ns(g.diff.hi))
    if c.baseline is not None and c.baseline is not best and best.vs_baseline is not None:
        d = best.vs_baseline
        s += f"; {fmt_signed_ns(d.mean)} ns against {c.baseline.variant}"
        if c.baseline.state == "racy":
            s += " (racy)"
    return s + "."


def _section_machines(doc, rs):
    rows = []
    for m in rs.machines.values():
        ns = sorted(r.n for r in m.results.values())
        dates = sorted(set(m.meta.get("dates", [])))
        meta = m.meta
        rows.append([m.name, str(meta.get("hostname", "–")), str(meta.get("cpu_count", "–")),
                     str(m.meta.get("cpu_model_name", "–")), ", ".join(m.suites()) or "–",
                     "yes" if m.verify else "no", str(ns[len(ns) // 2]) if ns else "–",
                     " to ".join(dict.fromkeys([dates[0], dates[-1]])) if dates else "–"])
    doc.heading(2, "Machines", "machines")
    doc.table(["machine", "hostname", "CPUs", "CPU", "suites", "verify", "runs/bench", "date"],
              rows, ["left", "left", "right", "left", "left", "left", "right", "left"])


def _section_aa(doc, rs):
    from pagecore.report.checks import AA_SPREAD, AA_SPREAD_NS, aa_groups

    groups = aa_groups(rs)
    if not groups:
        return
    doc.heading(2, "A/A: variants that run identical source", "aa")
    bad = [g for g in groups if g.artefact]
    doc.para(
        "Each variant states which implementation of each operation it runs; variants that "
        "run the same code for a benchmark must measure the same, or the differences this "
        "report shows are the harness's. Their changes against each other are never called "
        f"significant. A group is flagged when its means spread by more than "
        f"{AA_SPREAD * 100:.0f}% and {AA_SPREAD_NS} ns; a group that wakes a thread asleep "
        "on another CPU, by its medians (marked \"median\"), and only where a Kruskal-Wallis "
        "test of its members' values also finds them apart (p < 0.01): the host's scheduling "
        "of the two vCPUs makes its values bimodal, a few microseconds or milliseconds for a "
        "whole value, and a mean says which values the host hit. "
        + (f"**{len(bad)} of {len(groups)} groups are flagged**: treat differences of that "
           "size elsewhere as noise." if bad else
           f"All {len(groups)} groups agree within that."), "warn" if bad else None)
    rows = []
    for g in groups:
        w = g.worst_pair()
        rows.append([g.machine if len(rs.machines) > 1 else "", g.key,
                     ", ".join(f"{r.variant} {fmt_ns(g.center(r))}" for r in g.members)
                     + (" (median)" if g.host else ""),
                     f"{g.spread * 100:.1f}% ({fmt_ns(g.spread_ns * 1e-9)} ns)",
                     f"{w.pct:+.1f}% {w.interval_text()}",
                     Cell("artefact", "racy") if g.artefact else Cell("ok", "clean")])
    if len(rs.machines) == 1:
        rows = [r[1:] for r in rows]
    headers = (["machine"] if len(rs.machines) > 1 else []) + [
        "benchmark", "same source: variant ns/op", "spread", "largest paired change", "A/A"]
    t = Doc("")
    # the members of a group can be many: their column wraps, the others keep to a line
    align = ["left"] * (len(headers) - 4) + ["wrap", "right", "right", "left"]
    t.table(headers, rows, align, caption="Largest paired change: of any member against the "
            "first, per worker process, with its 95% interval.")
    doc.details(f"The {len(groups)} identical-source groups", t)


def _section_predicted(doc, rs, choices, mix):
    from pagecore.report.costs import section_predicted

    section_predicted(doc, rs, choices, mix)


def _section_costs(doc, rs, choices):
    from pagecore.report.costs import section_lock_holds, section_term_shares

    section_term_shares(doc, choices)
    section_lock_holds(doc, rs)


def _section_method(doc, rs):
    doc.heading(2, "How to read this report", "method")
    doc.bullets([
        ("All costs are seconds per operation as the suites measured them, shown in ns. A "
         "cost `45.2 ±0.8%` is the mean over worker processes ± the standard deviation "
         "between them."),
        ("Every variant of a case is measured in each worker process, in a random order per "
         "round, pinned to one CPU for single-threaded cases; a process is one pyperf run. "
         "Processes are the samples; intervals are 95% Student t intervals over them."),
        ("`+12.3% ±1.1% *`: the variant costs 12.3% more than the baseline, ± the half-width "
         "of the 95% interval of the per-process ratio (paired: both measured in the same "
         "process); `*` significant (one-sample t test on the ratios, scipy.stats), `~` "
         "within noise, `?` too few processes, `(same source)` identical code: never called "
         "significant."),
        ("events/op are the model's own per-operation counts (atomics, barriers, lock round "
         "trips, entries walked, wakeups), from the `pagecore_events` metadata; – when not "
         "recorded."),
        ("Several machines merge into one report, a column per machine; machines are named "
         "by their results directory."),
    ])
    files = [f for m in rs.machines.values() for f in m.files]
    doc.details(f"Input files ({len(files)})", _doc_of_bullets([f"`{f}`" for f in files]))


def _doc_of_bullets(items):

    d = Doc("")
    d.bullets(items)
    return d


def build(rs, d, baseline, mix, exclude_starving=False, full=False, answers=None):
    """The whole report as a Doc; figures are written into d as they are built."""
    import datetime


    doc = Doc("pagecore overhead report: " + ", ".join(rs.machines), full=full)
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    n = len(rs.machines)
    baseline, notes = baselines(rs, baseline)
    doc.para(f"Generated {when} from {n} machine{'s' if n != 1 else ''}. Baseline: "
             f"`{_suite_baseline('hotpath', baseline)}` (floor: `{FLOOR_BASELINE}`, dirty path: "
             f"`{_suite_baseline('dirty', baseline)}`)." + "".join(" " + x for x in notes))
    table = verdicts(rs)
    racy = {v for v in rs.variants() if status(rs, v, table)[0] == "racy"}
    # with exclude_starving, only fixes that neither race nor starve are ranked
    choices = (choose(rs, mix, "writeback", baseline["writeback"],
                      exclude_starving=exclude_starving)
               + choose(rs, mix, "dirty", baseline["dirty"], exclude_starving=exclude_starving))
    _answer(doc, rs, choices, table, exclude_starving, answers)
    if rs.notes:
        doc.bullets(rs.notes)
    _section_machines(doc, rs)
    stability.section(doc, rs)
    _section_choosing(doc, rs, choices, mix, table, baseline)
    _section_costs(doc, rs, choices)
    _section_matrix(doc, rs, table, d)
    _section_aa(doc, rs)
    _section_predicted(doc, rs, choices, mix)
    suites = rs.suites()
    for suite in suites:
        if suite == "contention":
            _section_contention(doc, rs, d, baseline, racy)
        elif suite == "hashchain":
            _section_hashchain(doc, rs, d, baseline, racy)
        else:
            _section_bars(doc, rs, d, suite, baseline, racy, ncols=3)
    missing = [s for s in SUITES if s not in suites]
    if missing:
        doc.para("Not in these results: {}.".format(", ".join(missing)))
    _section_method(doc, rs)
    return doc

