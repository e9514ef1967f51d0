"""`pagecore try FILE.c`: the command line over pagecore.benchmark.trial."""

import argparse
import json
import sys

from pagecore._errors import PagecoreError
from pagecore.cli.verify import EXIT_HELP


def register(sub):
    from pagecore._paths import doc
    from pagecore.benchmark.trial import DEFAULT_AGAINST

    p = sub.add_parser(
        "try", help="judge a variant file of your own: verdicts, costs, rank",
        description="Build FILE.c (a variant in the kernel's spelling, %s), verify it "
        "(replay, explore, stress, liveness), measure its hot path against the --against "
        "variants in one run, and rank it in choose's default mix." % doc("VARIANTS.md"),
        epilog=EXIT_HELP % "the file's variant (with --fail-on-race, the --against variants "
        "too)", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE.c", help="the variant file")
    from pagecore.cli import Names

    p.add_argument("--against", action=Names, nargs="+", metavar="V",
                   help="variants to compare with (default %s)" % " ".join(DEFAULT_AGAINST))
    p.add_argument("--budget", default="10m", metavar="T",
                   help="time to spend, such as 10m or 90s (default 10m)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="results directory (default results/try/NAME-HASH)")
    p.add_argument("--json", metavar="FILE", help="write the trial's summary as JSON")
    p.add_argument("--fail-on-race", action="store_true",
                   help="exit 1 when any variant verified, the --against ones too, has a "
                        "safety failure")
    p.set_defaults(func=cmd_try)


def cmd_try(args):
    from pagecore.benchmark import trial as tr
    from pagecore.cli.verify import _check_writable

    budget = tr.parse_budget(args.budget)
    against = [a for a in (args.against if args.against is not None
                           else tr.DEFAULT_AGAINST) if a]
    if not against:
        raise PagecoreError("--against needs at least one variant")
    if args.json is not None:
        if not args.json.strip():
            raise PagecoreError("--json needs a file name")
        _check_writable(args.json)

    def progress(text):
        print("try: %s" % text, file=sys.stderr, flush=True)

    doc = tr.trial(args.file, against, budget, args.output, progress)
    tr.render(doc)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1, default=str)
            f.write("\n")
    return tr.exit_status(doc, args.fail_on_race)
