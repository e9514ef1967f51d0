"""`pagecore report`, `pagecore choose` and `pagecore compare`."""

import os

from pagecore._errors import PagecoreError
from pagecore.report.choose import (
    check_mix,
    choose,
    load_weights_file,
    make_mix,
    parse_weight_args,
    ranking_table,
    reasoning,
)
from pagecore.report.compare import compare
from pagecore.report.formats import fmt_cost
from pagecore.report.results import load_results
from pagecore.report.verdicts import verdicts
from pagecore.report.writer import _write, check_baseline, default_name


def _mix_from_args(args, rs):
    given = load_weights_file(args.weights) if args.weights else None
    pairs = parse_weight_args(args.weight)
    mix = make_mix(given, pairs)
    check_mix(rs, mix, list(given or ()) + list(pairs))
    return mix


def _cmd_report(args):
    rs = load_results(args.results)
    check_baseline(rs, args.baseline)
    mix = _mix_from_args(args, rs)
    name = default_name(rs) if args.name is None else args.name
    page = _write(rs, args.output, name, args.baseline, mix)
    print(f"report: {page}")
    print("        {}".format(os.path.join(os.path.dirname(page), "report.md")))
    return 0


def _cmd_choose(args):
    from tabulate import tabulate

    rs = load_results(args.results)
    if args.baseline:
        check_baseline(rs, args.baseline)
    mix = _mix_from_args(args, rs)
    table = verdicts(rs)
    kinds = [args.kind] if args.kind else ["writeback", "dirty"]
    printed = False
    for kind in kinds:
        for c in choose(rs, mix, kind, args.baseline):
            if printed:
                print()
            printed = True
            print(f"{c.machine}: {kind} variants, ranked by weighted cost "
                  "(ns per operation of the mix)")
            print("mix: " + ", ".join(f"{w:g} x {k}" for k, w in c.mix.items()))
            for k, why in c.dropped:
                print(f"  dropped from the mix: {k} ({why})")
            if c.ranked:
                headers, rows = ranking_table(c)
                print(tabulate(rows, headers=headers, disable_numparse=True,
                               colalign=("right", "left", "right", "right", "right", "left",
                                         "right")))
            for line in reasoning(c, table):
                print("- " + line.replace("**", "").replace("`", ""))
    if not printed:
        raise PagecoreError("no {} variants in the results".format(" or ".join(kinds)))
    return 0


def _cmd_compare(args):
    from tabulate import tabulate

    sides = []
    for path in (args.old, args.new):
        rs = load_results([path])
        if not any(True for _ in rs.results()):
            raise PagecoreError(f"{path}: no benchmark results to compare (only verify results)")
        sides.append(rs)
    rows = compare(*sides)
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
    unknown = f", {counts['unknown']} unknown (one run)" if counts["unknown"] else ""
    print(f"{len(rows)} benchmarks: {counts['slower']} slower, {counts['faster']} faster, "
          f"{counts['not significant']} not significant{unknown} (Welch's t-test, 95%)")
    return 0


def _add_mix_args(p):
    p.add_argument("--weights", metavar="FILE",
                   help="TOML file of workload weights (see reports/weights.example.toml)")
    p.add_argument("--weight", action="append", default=[], metavar="KEY=W",
                   help="set one weight, e.g. hotpath/end_page_writeback_one_waiter=0.3 "
                        "(repeatable; 0 removes a term)")


def register(sub):
    p = sub.add_parser("report", help="write reports/<name>/report.md and report.html",
                       description="Tables, plots, the verification matrix and the choice of "
                                   "a fix, from pyperf and verify JSON.")
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="results root, machine directory or .json files (default: results)")
    p.add_argument("-o", "--output", default="reports", metavar="DIR",
                   help="where reports go (default: reports)")
    p.add_argument("--name", help="report directory name (default: the machine names)")
    p.add_argument("--baseline", default="original", metavar="VARIANT",
                   help="variant the changes are measured against (default: original)")
    _add_mix_args(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("choose", help="rank the correct fixes by weighted cost")
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="results root, machine directory or .json files (default: results)")
    p.add_argument("--kind", choices=["writeback", "dirty"], default=None,
                   help="rank only this kind of variant (default: both)")
    p.add_argument("--baseline", default=None, metavar="VARIANT",
                   help="variant each fix's cost is set against (default: the pre-fix kernel)")
    _add_mix_args(p)
    p.set_defaults(func=_cmd_choose)

    p = sub.add_parser("compare", help="two result sets side by side, with significance")
    p.add_argument("old", metavar="OLD", help="results directory or pyperf .json")
    p.add_argument("new", metavar="NEW", help="results directory or pyperf .json")
    p.add_argument("--only-significant", action="store_true",
                   help="hide rows whose change is within noise")
    p.set_defaults(func=_cmd_compare)

