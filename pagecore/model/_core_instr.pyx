# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# pagecore.model._core_instr: the instrumented build (PAGECORE_INSTRUMENT): it counts
# events, checks touches of freed pages and pauses at race points.
# Both builds compile the same model; setup.py sets the macro.

cdef extern from "pagecore/runtime.h":
    pass

include "_model.pxi"
include "_dirty.pxi"
include "_api.pxi"
include "_starvation.pxi"
include "_chains.pxi"
include "_tasks.pxi"
include "_loops.pxi"
include "_queued.pxi"
include "_calibrate.pxi"
include "_explore.pxi"
