"""pagecore: the Linux page-flag wait/wake races, executable and measured."""

from pagecore._errors import PagecoreError
from pagecore.model.machine import Model, ThreadRun, run_threads
from pagecore.model.variants import Variant, get_variant
from pagecore.verify.interleaving import Interleaving

__all__ = ["PagecoreError", "Interleaving", "Model", "ThreadRun", "run_threads", "VARIANTS",
           "WRITEBACK_VARIANTS", "DIRTY_VARIANTS", "Variant", "get_variant"]
__version__ = "0.1.0"


def __getattr__(attr):
    # the variant lists are read off the variant files on first use
    if attr in ("VARIANTS", "WRITEBACK_VARIANTS", "DIRTY_VARIANTS"):
        from pagecore.model import variants

        return getattr(variants, attr)
    raise AttributeError("module 'pagecore' has no attribute %r" % attr)
