"""`pagecore report`, `pagecore choose` and `pagecore compare`."""

import os

from pagecore._errors import PagecoreError
from pagecore.report.choose import (
    check_mix,
    choose,
    choose_predicted,
    load_weights_file,
    make_mix,
    parse_weight_args,
    predicted_ties,
    ranking_table,
    reasoning,
)
from pagecore.report.compare import compare_runs
from pagecore.report.formats import fmt_cost
from pagecore.report.results import load_results
from pagecore.report.verdicts import add_cached, verdicts, verify_missing
from pagecore.report.writer import _write, check_baseline, check_name, default_name


def _mix_from_args(args, rs):
    given = load_weights_file(args.weights) if args.weights else None
    pairs = parse_weight_args(args.weight)
    mix = make_mix(given, pairs)
    check_mix(rs, mix, list(given or ()) + list(pairs))
    return mix


def _load(args):
    """The results; _judge() then gives verdicts to the variants they hold none for, once
    the rest of the input is found good (bad input is one line, before minutes of
    verification)."""
    return load_results(args.results)


def _judge(args, rs):
    """Verdicts for the measured variants @rs holds none for: verified now, the cache
    giving every cell it holds for the variant's current source (with --no-verify, only
    what the cache holds).  A note of rs.notes says which: the report shows it, and choose
    prints it; progress goes to stderr, which keeps --json's stdout clean."""
    import sys

    if args.no_verify:
        add_cached(rs)
    else:
        verify_missing(rs, args.verify_plan, progress=lambda text: print("verify: " + text,
                                                                  file=sys.stderr, flush=True))


EXIT_HELP = """exit status:
  0    a fix to recommend for every kind asked (or a tie, with what separates it)
  1    no variant left to recommend for a kind measured: none passes every scenario, or,
       with --exclude-starving, every correct one starves (the answer names the trade-off
       and the least-starving correct fix)
  2    bad input, one line on stderr"""


def _nothing_left(choices):
    """EXIT_FOUND when a kind asked for has terms measured and no variant left to
    recommend (pagecore._errors); EXIT_OK otherwise."""
    from pagecore._errors import EXIT_FOUND, EXIT_OK

    return EXIT_FOUND if any(c.mix and not c.ranked for c in choices) else EXIT_OK


def _cmd_report(args):
    if args.print_weights:
        return _print_weights(args)
    rs = _load(args)
    check_baseline(rs, args.baseline)
    mix = _mix_from_args(args, rs)
    name = check_name(default_name(rs) if args.name is None else args.name)
    _judge(args, rs)
    answers = []
    page = _write(rs, args.output, name, args.baseline, mix,
                  exclude_starving=args.exclude_starving, full=args.full, answers=answers)
    print(f"report: {page}")
    print("        {}".format(os.path.join(os.path.dirname(page), "report.md")))
    print("        {} (the answer and every verdict's evidence, whole)".format(
        os.path.join(os.path.dirname(page), "report.json")))
    return _nothing_left([c for c, _ in answers])


def _print_weights(args):
    """The mix in use as a weights file: a start for --weights FILE."""
    mix = make_mix(load_weights_file(args.weights) if args.weights else None,
                   parse_weight_args(args.weight))
    print("# pagecore's workload mix: `pagecore choose --weights FILE` and `pagecore report "
          "--weights FILE`.")
    print("# A key is a benchmark without its variant (suite/case[/param=value...]); a weight")
    print("# is how often it happens, relative to the others.  Keys of the dirty suite rank "
          "the")
    print("# clear_page_dirty_for_io variants, the others the end-of-writeback variants.")
    print()
    print("[weights]")
    for k, w in mix.items():
        print(f'"{k}" = {w!r}')  # repr: the file gives back the very mix
    return 0


def _cmd_choose(args):
    import json
    import sys

    from tabulate import tabulate

    from pagecore.report import separate

    if args.print_weights:
        return _print_weights(args)
    rs = _load(args)
    if args.baseline:
        check_baseline(rs, args.baseline)
    mix = _mix_from_args(args, rs)
    kinds = [args.kind] if args.kind else ["writeback", "dirty"]
    floor = load_results([args.predict]) if args.predict else None
    _judge(args, rs)
    table = verdicts(rs)
    if args.predict:
        return _choose_predicted(args, rs, floor, mix, kinds)
    choices = [c for kind in kinds for c in choose(rs, mix, kind, args.baseline,
                                                        exclude_starving=args.exclude_starving)]
    if not choices:
        raise PagecoreError("no {} variants in the results".format(" or ".join(kinds)))
    guides = [separate.guide(rs, table, c, args.exclude_starving) for c in choices]
    if args.json:
        json.dump({"choices": [dict(c.as_dict(table), guide=g.as_dict() if g else None)
                               for c, g in zip(choices, guides)]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return _nothing_left(choices)
    for note in rs.notes:
        print("note: " + note.replace("`", ""))
    for i, (c, g) in enumerate(zip(choices, guides)):
        if i:
            print()
        print(f"{c.machine}: {c.kind} variants, ranked by their paired difference against "
              f"{c.baseline_name} (ns per operation of the mix)")
        print("mix: " + ", ".join(f"{w:g} x {k}" for k, w in c.mix.items()))
        for k, why in c.dropped:
            print(f"  dropped from the mix: {k} ({why})")
        if c.ranked:
            headers, rows = ranking_table(c)
            print(tabulate(rows, headers=headers, disable_numparse=True,
                           colalign=("right", "left", "right", "right", "right", "right",
                                     "left")))
        for line in reasoning(c, table):
            print("- " + line.replace("**", "").replace("`", ""))
        if g is not None and g.kind == "tie":
            print(tabulate([[a.name] + [a.cells.get(v, "–") for v in g.variants]
                            for a in g.aspects],
                           headers=["what else tells them apart"] + g.variants,
                           disable_numparse=True, maxcolwidths=[16] + [30] * len(g.variants)))
        for line in (g.lines if g is not None else []):
            print("> " + line.replace("**", "").replace("`", ""))
    return _nothing_left(choices)


def _predicted_ranks(ranked, gaps):
    """Rank numbers of @ranked, equal within a predicted tie (a gap whose 95% interval holds
    0, or equal predictions), and the tied leaders."""
    ranks, r = [], 1
    for i, tied in enumerate([False] + predicted_ties(ranked, gaps)):
        r = r if tied else i + 1
        ranks.append(r)
    return ranks, [v for (v, _, _), k in zip(ranked, ranks) if k == 1]


def _choose_predicted(args, rs, floor, mix, kinds):
    import json
    import sys

    from tabulate import tabulate

    out = []
    for kind in kinds:
        try:
            ranked, excluded, used, units, gaps = choose_predicted(
                rs, floor, mix, kind, exclude_starving=args.exclude_starving)
        except PagecoreError:
            if len(kinds) > 1:
                continue
            raise
        out.append((kind, ranked, excluded, used, units, gaps))
    if not out:
        raise PagecoreError("no event counts in the results to predict from")
    if args.json:
        doc = []
        for kind, ranked, excluded, used, units, gaps in out:
            ranks, lead = _predicted_ranks(ranked, gaps)
            doc.append({
                "kind": kind, "floor": args.predict, "mix": used,
                "unit_costs_ns": {k: v * 1e9 for k, v in units.cost.items()},
                "uncounted_ns": {"/".join([t[0], t[1]] + ["%s=%s" % kv for kv in sorted(t[2])]):
                                 v * 1e9 for t, v in units.paths.items()},
                "winner": lead[0] if len(lead) == 1 else None,
                "tie": lead if len(lead) > 1 else [],
                "ranking": [{"rank": k, "variant": v, "predicted_ns": cost * 1e9,
                             "terms_ns": {t: x * 1e9 for t, x in per.items()}}
                            for k, (v, cost, per) in zip(ranks, ranked)],
                "gaps": [{"cheaper": a, "dearer": b,
                          "ci95_ns": None if lo is None else [lo * 1e9, hi * 1e9]}
                         for a, b, lo, hi in gaps],
                "excluded": [{"variant": v, "reason": why} for v, why in excluded]})
        json.dump({"predicted": doc}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for kind, ranked, excluded, used, units, gaps in out:
        print(f"{kind} variants, predicted from {args.predict}: Σ events × that machine's "
              "unit costs, plus each path's uncounted work where that floor timed it (ns per "
              "operation of the mix)")
        print("unit costs: " + ", ".join(f"{k} {v * 1e9:.2f} ns" for k, v in units.cost.items()))
        ranks, lead = _predicted_ranks(ranked, gaps)
        rows = []
        for i, (k, (v, cost, per)) in enumerate(zip(ranks, ranked)):
            nxt = ""
            if i + 1 < len(ranked):
                _, _, lo, hi = gaps[i]
                d = ranked[i + 1][1] - cost
                nxt = ("tie (same events)" if d == 0 else "%+.2f [%.2f, %.2f]%s" % (
                    -d * 1e9, -hi * 1e9, -lo * 1e9, "" if lo > 0 else " tie")
                    if lo is not None else "%+.2f" % (-d * 1e9))
            rows.append([k, v, "%.2f" % (cost * 1e9), nxt]
                        + ["%.2f" % (per[t] * 1e9) for t in used])
        print(tabulate(rows, headers=["rank", "variant", "predicted", "vs next (95%)"]
                       + list(used), disable_numparse=True))
        if len(lead) > 1:
            print("- predicted tie: %s (their predicted costs differ by less than the floor's "
                  "noise and what the events leave out between variants of a path, as the "
                  "results' measured variants show it, or not at all)" % ", ".join(lead))
        for v, why in excluded:
            print(f"- {v} is excluded: {why}.")
    return 0


def _cmd_compare(args):
    from tabulate import tabulate

    sides = []
    for path in (args.old, args.new):
        rs = load_results([path])
        if not any(True for _ in rs.results()):
            raise PagecoreError(f"{path}: no benchmark results to compare (only verify results)")
        sides.append(rs)
    rows, shifts = compare_runs(*sides)
    out, counts = [], {"slower": 0, "faster": 0, "not significant": 0, "unknown": 0}
    for label, ro, rn, ch in rows:
        verdict = {None: "unknown", False: "not significant"}.get(
            ch.significant, "slower" if ch.pct > 0 else "faster")
        counts[verdict] += 1
        if args.only_significant and verdict not in ("slower", "faster"):
            continue
        out.append([label, fmt_cost(ro), fmt_cost(rn), ch.text(), verdict])
    print(tabulate(out, headers=["benchmark", "old ns/op", "new ns/op", "change", "significance"],
                   colalign=("left", "right", "right", "right", "left"), disable_numparse=True))
    for sh in shifts:
        print("- " + sh.text())
    unknown = (f", {counts['unknown']} not tested (one run, or a floor case the host's placement "
               "of its threads decides)" if counts["unknown"] else "")
    print(f"{len(rows)} benchmarks: {counts['slower']} slower, {counts['faster']} faster, "
          f"{counts['not significant']} not significant{unknown} (a 5% false discovery rate "
          "over them all, against the machine's shift, each case's other variants and the "
          "run-level spread)")
    return 0


def _add_verify_arg(p):
    v = p.add_mutually_exclusive_group()
    v.add_argument("--no-verify", action="store_true",
                   help="verify nothing: take the verdicts the results hold and, for a "
                        "measured variant they hold none for, those the cache of verdicts "
                        "keeps for its current source; the others rank by cost alone, marked "
                        "unverified (by default such a variant is verified first and the "
                        "cache keeps its verdicts)")
    # bench's modes, whose plans pagecore.verify.options.VERIFY_PLANS gives
    v.add_argument("--verify-plan", choices=("smoke", "fast", "default", "rigorous"),
                   default="default", metavar="MODE",
                   help="verify a measured variant the results hold no verdict for as `pagecore "
                        "bench` in MODE does: smoke, fast, default (the default: explore "
                        "without a bound for 120 s in all) or rigorous")


def _add_mix_args(p):
    p.add_argument("--weights", metavar="FILE",
                   help="TOML file of workload weights, [weights] \"suite/case[/k=v]\" = w "
                        "(--print-weights writes the mix in use as one, a start to edit)")
    p.add_argument("--print-weights", action="store_true",
                   help="print the mix in use (the default, or as --weights and --weight "
                        "make it) as a weights file, and exit")
    p.add_argument("--weight", action="append", default=[], metavar="KEY=W",
                   help="set one weight, e.g. hotpath/end_page_writeback_sleeping_waiter=0.3 "
                        "(repeatable; 0 removes a term)")


def register(sub):
    import argparse

    p = sub.add_parser("report", help="write reports/<name>/report.md and report.html",
                       description="Tables, plots, the verification matrix and the choice of "
                                   "a fix, from pyperf and verify JSON.",
                       epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="results root, machine directory or .json files (default: results)")
    p.add_argument("-o", "--output", default="reports", metavar="DIR",
                   help="where reports go (default: reports)")
    p.add_argument("--name", help="report directory name (default: the machine names)")
    p.add_argument("--baseline", default=None, metavar="VARIANT",
                   help="variant the changes of its kind are measured against (default: the "
                        "pre-fix kernel, original or cpdfio-2.6.19, where measured, else the "
                        "first variant of the kind measured)")
    p.add_argument("--exclude-starving", action="store_true",
                   help="rank only fixes that neither race nor starve (see `pagecore choose`)")
    p.add_argument("--full", action="store_true",
                   help="report.md with every fold and all the evidence (large; by default "
                        "it keeps to the answer, the tables and the failing cells' stories, "
                        "and report.html has the rest)")
    _add_verify_arg(p)
    _add_mix_args(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("choose", help="rank the correct fixes by weighted cost",
                       description="Rank the correct fixes of each kind by their weighted "
                                   "cost over the workload mix, per machine, and say why.",
                       epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="results root, machine directory or .json files (default: results)")
    p.add_argument("--kind", choices=["writeback", "dirty"], default=None,
                   help="rank only this kind of variant (default: both)")
    p.add_argument("--baseline", default=None, metavar="VARIANT",
                   help="variant the changes of its kind are measured against (default: the "
                        "pre-fix kernel, original or cpdfio-2.6.19, where measured, else the "
                        "first variant of the kind measured)")
    p.add_argument("--exclude-starving", action="store_true",
                   help="rank only fixes that neither race nor starve: leave out the variants "
                        "whose slow waiter starved in writeback-starvation")
    p.add_argument("--json", action="store_true",
                   help="the answer as JSON: winner (null on a tie), tie, ranking, gaps with "
                        "their 95%% intervals, excluded variants with their failures")
    p.add_argument("--predict", metavar="FLOOR", default=None,
                   help="rank by cost predicted from another machine's floor suite (its "
                        "floor.json or results directory): events counted here × its unit "
                        "costs")
    _add_verify_arg(p)
    _add_mix_args(p)
    p.set_defaults(func=_cmd_choose)

    p = sub.add_parser("compare", help="two result sets side by side, with significance")
    p.add_argument("old", metavar="OLD", help="results directory or pyperf .json")
    p.add_argument("new", metavar="NEW", help="results directory or pyperf .json")
    p.add_argument("--only-significant", action="store_true",
                   help="hide rows whose change is within noise")
    p.set_defaults(func=_cmd_compare)

