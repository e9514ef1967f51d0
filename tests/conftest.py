"""What every test shares: its own cache of verdicts.

A verdict kept by `pagecore verify` or `bench` outside the tests (in
~/.cache/pagecore/verdicts) would otherwise answer for a cell a test means to
run, or fill a report a test means to leave without verdicts.  The variants'
compiled objects stay in the shared cache: they are keyed by their content.
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
