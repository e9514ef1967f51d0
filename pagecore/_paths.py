"""Where the files that ship with pagecore are, installed or in a source tree.

A wheel carries the suites (bench/ of the source) as pagecore/suites/ and the
documentation (docs/) as pagecore/docs/; a source tree built in place has them
beside the package.  Nothing here looks at the working directory: the command
finds its files from wherever it is run.
"""

import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(PACKAGE)

# installed name -> its directory in a source tree
_SHIPPED = {"suites": "bench", "docs": "docs"}


def shipped(what, marker):
    """The directory of @what ("suites" or "docs") that holds @marker: the
    installed one, else the source tree's; None when neither has it."""
    for d in (os.path.join(PACKAGE, what), os.path.join(SOURCE, _SHIPPED[what])):
        if os.path.isfile(os.path.join(d, marker)):
            return d
    return None


def docs_dir():
    """The documentation (README-level guides: VARIANTS.md, MODEL.md)."""
    return shipped("docs", "VARIANTS.md")


def doc(name):
    """The path a reader can open for doc @name (such as "VARIANTS.md")."""
    d = docs_dir()
    return os.path.join(d, name) if d else "docs/" + name
