"""pagecore: the Linux page-flag wait/wake races, executable and measured."""

from pagecore._errors import PagecoreError
from pagecore._machine import Model, ThreadRun, run_threads
from pagecore._replay import Interleaving
from pagecore._variants import DIRTY_VARIANTS, VARIANTS, WRITEBACK_VARIANTS, Variant, get_variant

__all__ = ["PagecoreError", "Interleaving", "Model", "ThreadRun", "run_threads", "VARIANTS",
           "WRITEBACK_VARIANTS", "DIRTY_VARIANTS", "Variant", "get_variant"]
__version__ = "0.1.0"
