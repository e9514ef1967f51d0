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
    from pagecore.model import variants as _v

    if args.template is not None:
        v = _v.get_variant(args.template)
        if not v.builtin:
            raise PagecoreError("--template %s: not a built-in variant (the built-ins: %s)"
                                % (args.template, ", ".join(
                                    n for n, x in _v.VARIANTS.items() if x.builtin)))
        sys.stdout.write(_v.template(v.name))
        return 0
    variant_files(args)
    rows = [v.as_dict() for v in _v.VARIANTS.values()
            if args.kind is None or v.kind == args.kind]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if args.markdown:
        sys.stdout.write(variants_markdown(rows))
        return 0
    from tabulate import tabulate

    print(tabulate([(r["name"], r["kind"], r["base"], r["commit"], r["summary"],
                     "" if r["builtin"] else r["path"]) for r in rows],
                   headers=["variant", "kind", "base", "source", "summary", "file"],
                   tablefmt="simple", maxcolwidths=[None, None, None, 28, 52, 30]))
    return 0


def variants_markdown(rows):
    """The variants table of README.md, read off the files' headers."""
    out = ["| variant | kind | base | source | what it does |", "|---|---|---|---|---|"]
    for r in rows:
        cells = ["`%s`" % r["name"], r["kind"], r["base"], r["commit"], r["summary"]]
        out.append("| %s |" % " | ".join(c.replace("|", "\\|") for c in cells))
    return "\n".join(out) + "\n"


class Names(argparse.Action):
    """A list option that takes several names, space or comma separated, and
    repeats: `--variant a b`, `--variant a,b` and `--variant a --variant b`
    mean the same in every command."""

    def __call__(self, parser, namespace, values, option_string=None):
        have = list(getattr(namespace, self.dest, None) or [])
        for v in values if isinstance(values, list) else [values]:
            have += [x.strip() for x in v.split(",")] if "," in v else [v]
        setattr(namespace, self.dest, have)


def add_variant_option(p, text):
    """--variant V [V ...]: the same option in every command that takes it."""
    p.add_argument("--variant", action=Names, nargs="+", metavar="V", help=text)


def add_variant_file(p):
    """--variant-file FILE: a variant written as a file of its own (see
    VARIANTS.md of the docs), measured or verified as if it were built in."""
    from pagecore._paths import doc

    p.add_argument("--variant-file", action="append", metavar="FILE",
                   help="a variant file of your own (repeatable; %s)" % doc("VARIANTS.md"))


def variant_files(args):
    """Register the --variant-file files; their variant names."""
    from pagecore.model.variants import register_file

    return [register_file(path).name for path in getattr(args, "variant_file", None) or ()]


def _register_variants(sub):
    p = sub.add_parser("variants", help="list the variants, each a C file, and their sources")
    p.add_argument("--json", action="store_true", help="machine-readable list")
    p.add_argument("--kind", choices=["writeback", "dirty"], default=None)
    p.add_argument("--markdown", action="store_true",
                   help="the list as a Markdown table")
    p.add_argument("--template", metavar="NAME",
                   help="print built-in variant NAME's file, the very source compiled in: "
                        "a start for a variant of your own")
    add_variant_file(p)
    p.set_defaults(func=_cmd_variants)


def _registrars():
    # Imported lazily per module so that `pagecore variants` works even when
    # an optional piece (plotting, say) cannot be imported.
    yield _register_variants
    import importlib

    for mod, fn in (("pagecore.cli.verify", "register"),
                    ("pagecore.cli.trial", "register"),
                    ("pagecore.cli.bench", "register"),
                    ("pagecore.cli.report", "register")):
        try:
            m = importlib.import_module(mod)
        except ImportError as e:
            if e.name != mod:
                raise
            continue
        yield getattr(m, fn)


class _Version(argparse.Action):
    # argparse's own would wrap the paths to the terminal's width
    def __call__(self, parser, namespace, values, option_string=None):
        print(version())
        parser.exit()


def version():
    """`pagecore --version`: the version, and where this pagecore and its
    documentation are."""
    import pagecore
    from pagecore import _paths

    return "pagecore %s (%s; docs: %s)" % (pagecore.__version__, _paths.PACKAGE,
                                          _paths.docs_dir() or "not installed")


def build_parser():
    parser = _Parser(prog="pagecore", description=__doc__)
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="the version, and where this pagecore and its docs are")
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
