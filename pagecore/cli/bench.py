"""`pagecore bench`: the command line over pagecore.benchmark."""

from pagecore.benchmark.run import SUITES, cmd_bench
from pagecore.benchmark.run import __doc__ as _BENCH_DOC


def register(sub):
    import argparse

    p = sub.add_parser("bench", help="run the pyperf suites into results/<machine>/",
                       description=_BENCH_DOC.split("\n\n")[0],
                       epilog="""exit status:
  0    every suite ran (a race found by the verify step is the report's business)
  1    a suite failed (its partial results are kept); with --check, a bar failed
  2    bad input, one line on stderr; nothing ran
  130  stopped by SIGINT, 143 by SIGTERM; the suites that finished are kept""",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    from pagecore.cli import Names, add_variant_file, add_variant_option

    p.add_argument("--suite", action=Names, nargs="+", metavar="S",
                   help="run only these suites: %s" % ", ".join(SUITES))
    add_variant_option(p, "measure only these variants (see `pagecore variants`)")
    add_variant_file(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--fast", action="store_true", help="a quick look, about 3 minutes")
    mode.add_argument("--rigorous", action="store_true", help="for publication: hours")
    mode.add_argument("--smoke", action="store_true",
                      help="one value per benchmark, one loop each: proves the suites run")
    p.add_argument("-o", "--output", default="results", metavar="DIR",
                   help="results root; files go to DIR/<machine>/ (default: results)")
    p.add_argument("--machine", metavar="NAME", help="machine name (default: the hostname)")
    p.add_argument("--threads", metavar="N,..", help="contention thread counts")
    p.add_argument("--bits", metavar="B,..", help="hashchain PAGE_WAIT_TABLE_BITS values")
    p.add_argument("--chain", metavar="N,..", help="hashchain chain lengths")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.add_argument("--baseline", metavar="VARIANT",
                   help="the report's baseline (default: original when measured, else the "
                        "first variant named)")
    p.add_argument("--no-verify", action="store_true",
                   help="verify nothing: the report takes the verdicts the cache keeps for "
                        "each variant's current source and leaves the variants without one "
                        "out of its ranking, marked not verified (by default the cells with "
                        "no verdict for their variant's current source are verified first; "
                        "verdicts are cached)")
    p.add_argument("--check", action="store_true",
                   help="only print the performance bars from DIR/<machine>/")
    p.set_defaults(func=_cmd_bench)


def _cmd_bench(args):
    from pagecore.cli import variant_files

    files = variant_files(args)
    if files:
        # a file is measured with the variants named, or with every built-in
        from pagecore.model.variants import VARIANTS

        args.variant = (args.variant or [n for n in VARIANTS if n not in files]) + files
    return cmd_bench(args)

