"""`pagecore bench`: the command line over pagecore.benchmark."""

from pagecore.benchmark.run import SUITES, cmd_bench
from pagecore.benchmark.run import __doc__ as _BENCH_DOC


def register(sub):
    p = sub.add_parser("bench", help="run the pyperf suites into results/<machine>/",
                       description=_BENCH_DOC.split("\n\n")[0])
    p.add_argument("--suite", action="append", metavar="S",
                   help="run only this suite (repeatable): %s" % ", ".join(SUITES))
    p.add_argument("--variant", action="append", metavar="V",
                   help="measure only this variant (repeatable; see pagecore variants)")
    from pagecore.cli import add_variant_file

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
    p.add_argument("--no-verify", action="store_true",
                   help="do not run pagecore verify first (the report then ranks "
                        "variants by cost alone)")
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

