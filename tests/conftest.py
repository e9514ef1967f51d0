"""What every test has: a cache of verdicts of its own, empty.

A verdict kept by `pagecore verify` or `bench` (in ~/.cache/pagecore/verdicts,
or by another test) would otherwise answer for a cell a test means to run, or
fill a report a test means to leave without verdicts.  The variants' compiled
objects stay in the shared cache: they are keyed by their content.
"""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _own_verdicts(tmp_path_factory):
    d = tmp_path_factory.mktemp("verdicts")
    old = os.environ.get("PAGECORE_VERDICTS")
    os.environ["PAGECORE_VERDICTS"] = str(d)
    yield d
    if old is None:
        os.environ.pop("PAGECORE_VERDICTS", None)
    else:
        os.environ["PAGECORE_VERDICTS"] = old


@pytest.fixture(autouse=True)
def _no_verdicts_of_others(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PAGECORE_VERDICTS", str(tmp_path_factory.mktemp("verdicts")))
