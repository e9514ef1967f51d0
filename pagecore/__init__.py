"""pagecore: the Linux page-flag wait/wake races, executable and measured."""

from pagecore._errors import PagecoreError
from pagecore.model.machine import Model, ThreadRun, run_threads
from pagecore.model.variants import (
           DIRTY_VARIANTS,
           VARIANTS,
           WRITEBACK_VARIANTS,
           Variant,
           get_variant,
)
from pagecore.verify.replay import Interleaving

__all__ = ["PagecoreError", "Interleaving", "Model", "ThreadRun", "run_threads", "VARIANTS",
           "WRITEBACK_VARIANTS", "DIRTY_VARIANTS", "Variant", "get_variant"]
__version__ = "0.1.0"
