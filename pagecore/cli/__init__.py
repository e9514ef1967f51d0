"""The `pagecore` command: variants, verify, bench, report, choose, compare."""

import argparse
import json
import sys

from pagecore._errors import PagecoreError


class _Parser(argparse.ArgumentParser):
    # argparse exits 2 with usage on bad input already; keep its message to
    # one line so every bad input reads the same way.
    def error(self, message):
        raise PagecoreError(message)


def _cmd_variants(args):
    from pagecore.model.variants import VARIANTS

    rows = [v.as_dict() for v in VARIANTS.values()
            if args.kind is None or v.kind == args.kind]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from tabulate import tabulate

    print(tabulate([(r["name"], r["kind"], r["commit"], r["summary"]) for r in rows],
                   headers=["variant", "kind", "commit", "summary"], tablefmt="simple",
                   maxcolwidths=[None, None, 28, 60]))
    return 0


def _register_variants(sub):
    p = sub.add_parser("variants", help="list the modelled variants and their commits")
    p.add_argument("--json", action="store_true", help="machine-readable list")
    p.add_argument("--kind", choices=["writeback", "dirty"], default=None)
    p.set_defaults(func=_cmd_variants)


def _registrars():
    # Imported lazily per module so that `pagecore variants` works even when
    # an optional piece (plotting, say) cannot be imported.
    yield _register_variants
    import importlib

    for mod, fn in (("pagecore.cli.verify", "register"),
                    ("pagecore.cli.bench", "register"),
                    ("pagecore.cli.report", "register")):
        try:
            m = importlib.import_module(mod)
        except ImportError as e:
            if e.name != mod:
                raise
            continue
        yield getattr(m, fn)


def build_parser():
    parser = _Parser(prog="pagecore", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for register in _registrars():
        register(sub)
    return parser


def _one_line(text):
    # a message may quote what the user typed: its line breaks and other control
    # characters are shown escaped, so the answer stays one line
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def main(argv=None):
    from pagecore import _signals

    _signals.install()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args) or 0
    except PagecoreError as e:
        print("pagecore: %s" % _one_line(str(e)), file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print("pagecore: %s" % _signals.name(e), file=sys.stderr)
        return _signals.exit_code(e)
    except BrokenPipeError:
        return 0
