"""What a pip install gives a newcomer, from any directory: the version, the suites and
every file the command line's help names, found beside the package."""

import os
import re
import subprocess
import sys

import pytest

import pagecore
from pagecore import _paths
from pagecore.cli import build_parser, main


def environ():
    where = os.path.dirname(os.path.dirname(os.path.abspath(pagecore.__file__)))
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=where + (os.pathsep + path if path else ""))


def test_version_from_anywhere(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pagecore", "--version"], cwd=tmp_path,
                       env=environ(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("pagecore %s (" % pagecore.__version__)
    assert _paths.PACKAGE in r.stdout


def test_the_version_is_the_packages():
    from importlib import metadata

    try:
        assert metadata.version("pagecore") == pagecore.__version__
    except metadata.PackageNotFoundError:
        pytest.skip("pagecore is not installed here, only built in place")


def _helps():
    parser = build_parser()
    yield parser.format_help()
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            yield sub.format_help()


def test_every_file_the_help_names_is_installed():
    names = set()
    for text in _helps():
        # argparse wraps a long path after a hyphen: join it again
        text = " ".join(re.sub(r"-\n\s*", "-", text).split())
        names |= set(re.findall(r"[\w./+-]+\.(?:md|toml|c|py|txt)\b", text))
    # what the commands write, and the placeholders of what a user gives
    written = {"report.md", "report.html", "report.json", "verify.json", "try.json"}
    names = {n for n in names if "<" not in n and n.lstrip("/") not in written
             and n not in ("FILE.c",)}
    assert names, "no file named: the check would check nothing"
    for n in names:
        # an absolute path (the docs, where this pagecore found them) or a file of the package
        path = n if os.path.isabs(n) else os.path.join(_paths.PACKAGE, n)
        assert os.path.isfile(path), n


def test_print_weights_is_a_weights_file(capsys, tmp_path):
    from pagecore.report.choose import DEFAULT_MIX, make_mix

    assert main(["choose", "--print-weights"]) == 0
    text = capsys.readouterr().out
    f = tmp_path / "w.toml"
    f.write_text(text)
    assert make_mix(str(f)) == DEFAULT_MIX
    assert main(["report", "--print-weights", "--weight",
                 "hotpath/end_page_writeback_one_waiter=0.3"]) == 0
    assert '"hotpath/end_page_writeback_one_waiter" = 0.3' in capsys.readouterr().out
