"""writeback-starvation: does a slow waiter ever get out of wait_on_page_writeback()?

The liveness question of the 2024 linux-fsdevel thread "Known and unfixed
active data loss bug in MM + XFS with large folios since Dec 2021 (any kernel
from 6.1 upwards)": Linus Torvalds (30 Sep 2024) on the `while` that
c2407cf7d22d put into wait_on_page_writeback(), "a slow thread (possibly due
to cgroup throttling ...) would simply be continually unlucky, because every
time it gets woken up, some other thread has already dirtied the data and
caused writeback again".

One page of a file.  One or more writers keep it dirty and under writeback:
they dirty it, then write_cache_pages (lock_page; wait_on_page_writeback;
set_page_writeback; unlock_page), the I/O for io_us, end_page_writeback, and
again (writeback_writer_loop in the model).  One slow waiter, a filemap_fdatawait
that holds no page lock, calls wait_on_page_writeback() on the page over and
over (throttled_waiter_loop).  It is throttled: each time it is woken it runs
again only throttle_us later, and it looks again only then, and between two
waits it also rests throttle_us.  After `seconds` the writers finish their
writeback and stop, so every wait ends.

What is measured comes from the instrumented model, which tracks the slow
waiter (wait_track): for each wait that slept, its time and the writebacks of
the page that ended during it, and the times it was woken and slept again
(the `while` re-testing PG_writeback, or the pre-5.8 waiter re-queueing).  A
waiter is `starved` when one of its waits took longer than bound_ms while the
writers completed writebacks past it (at least two ended during the wait: it
was woken by one and was still waiting for another).  A `hang` (a lost
wakeup) is the watchdog's, and any BUG the model records shows too.

    this should finish in about a second per variant; waits that loop make
    the slow waiter wait until the writers stop.
"""

import threading
import time

import numpy

from pagecore._errors import PagecoreError
from pagecore.model.machine import Model, run_threads
from pagecore.model.variants import get_variant
from pagecore.verify.interleaving import describe_bug

SCENARIO = "writeback-starvation"
# Defaults that separate waits that loop from waits that do not on 2 cores:
# a 1 ms throttle against 0.5 ms writebacks from one writer that starts the
# next one at once.  A looping waiter then re-tests inside a writeback nearly
# every time; one that waits with an `if` returns after one wake and 1 ms.
THROTTLE_US = 1000
WRITERS = 1
BOUND_MS = 100.0
IO_US = 500
GAP_US = 0
SECONDS = 0.5
GRACE = 10.0        # seconds past the end before the watchdog calls a hang
MAX_SAMPLES = 2000  # wait times kept in the result, evenly spread


def check(throttle_us=THROTTLE_US, writers=WRITERS, bound_ms=BOUND_MS, io_us=IO_US,
          gap_us=GAP_US, seconds=SECONDS, names=None):
    """One line per bad parameter: PagecoreError, naming the parameter as @names
    (parameter -> name, the command line's options say) or as itself."""
    import math

    def bad(param, what):
        raise PagecoreError("%s must be %s" % ((names or {}).get(param, param), what))

    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool)

    # bounded so that every wait and sleep stays well inside the watchdog's grace
    if not (whole(throttle_us) and 0 <= throttle_us <= 1_000_000):
        bad("throttle_us", "in 0..1000000 (1 s)")
    if not (whole(writers) and 1 <= writers <= 64):
        bad("writers", "in 1..64")
    if not (isinstance(bound_ms, (int, float)) and math.isfinite(bound_ms)
            and 0 < bound_ms <= 60_000):
        bad("bound_ms", "in (0, 60000]")
    if not (whole(io_us) and 0 <= io_us <= 1_000_000):
        bad("io_us", "in 0..1000000 (1 s)")
    if not (whole(gap_us) and 0 <= gap_us <= 1_000_000):
        bad("gap_us", "in 0..1000000 (1 s)")
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
            and 0.01 <= seconds <= 3600):
        bad("seconds", "in 0.01..3600")


def wait_kind(variant):
    """How the variant's wait_on_page_writeback() waits."""
    return get_variant(variant).wait_kind()


def _percentiles(ms):
    if not ms:
        return None, None, None
    p50, p99 = numpy.percentile(ms, [50, 99])
    return round(float(p50), 3), round(float(p99), 3), round(float(max(ms)), 3)


def _spread(values, n):
    # at most @n of @values, evenly spread over them, so that a plot of the
    # distribution keeps its shape
    if len(values) <= n:
        return list(values)
    idx = numpy.linspace(0, len(values) - 1, n).round().astype(int)
    return [values[i] for i in idx]


def starvation(variant, throttle_us=THROTTLE_US, writers=WRITERS, bound_ms=BOUND_MS,
               io_us=IO_US, gap_us=GAP_US, seconds=SECONDS, mode="replay"):
    """Run the scenario against @variant: one verify result, with the numbers
    under "liveness"."""
    check(throttle_us, writers, bound_ms, io_us, gap_us, seconds)
    m = Model(variant, instrumented=True, npages=16)
    c = m.core
    page = m.new_page(0, 0)
    throttle_ns = throttle_us * 1000
    tracked = threading.Event()

    def waiter():
        c.wait_track(c.current_pid(), throttle_ns, page)
        tracked.set()
        return c.throttled_waiter_loop(page, throttle_ns)

    fns = {"slow-waiter": waiter}
    for i in range(writers):
        fns["writer-%d" % i] = (lambda: c.writeback_writer_loop(page, io_us * 1000,
                                                                gap_us * 1000))

    def stopper():
        # the run's length counts from when the waiter is tracked
        tracked.wait(GRACE)
        time.sleep(seconds)
        c.writers_stop_()

    th = threading.Thread(target=stopper, daemon=True)
    th.start()
    try:
        run = run_threads(c, fns, timeout=seconds + GRACE)
    finally:
        c.writers_stop_()
        th.join()
    st = c.wait_track_stats()
    c.wait_track_off()
    bugs = c.bugs()
    wait_ms = [ns / 1e6 for ns in st["wait_ns"]]
    ends = st["ends_during"]
    long_waits = [i for i, w in enumerate(wait_ms) if w > bound_ms and ends[i] >= 2]
    starved = bool(long_waits)
    p50, p99, mx = _percentiles(wait_ms)
    writebacks = sum(v for k, v in run.results.items() if k.startswith("writer"))
    longest = max(range(len(wait_ms)), key=wait_ms.__getitem__) if wait_ms else None
    liveness = {
        "wait": wait_kind(variant),
        "starved": starved,
        "throttle_us": throttle_us, "writers": writers, "bound_ms": bound_ms,
        "io_us": io_us, "gap_us": gap_us, "seconds": seconds,
        "waits": st["waits"], "immediate": st["immediate"], "wakes": st["wakes"],
        "resleeps": st["resleeps"], "max_resleeps": st["max_resleeps"],
        "resleeps_per_wait": round(st["resleeps"] / st["waits"], 3) if st["waits"] else 0.0,
        "mapping_breaks": st["mapping_breaks"],
        "wait_p50_ms": p50, "wait_p99_ms": p99, "wait_max_ms": mx,
        "waits_over_bound": len(long_waits),
        "longest_wait_writebacks": ends[longest] if longest is not None else 0,
        "writebacks": writebacks,
        "wait_ms": [round(w, 4) for w in _spread(sorted(wait_ms), MAX_SAMPLES)],
    }
    failures = (["starved"] if starved else []) + [k for k, v in bugs.items() if v]
    if run.hung:
        failures.append("hang")
    counts = {"waits": st["waits"], "resleeps": st["resleeps"], "writebacks": writebacks,
              "ops": writebacks + st["waits"] + st["immediate"]}
    counts.update({k: v for k, v in bugs.items() if v})
    if run.hung:
        counts["hang"] = len(run.hung)
    evidence = ["%d writer%s (I/O %d us, next writeback %d us after), one waiter throttled "
                "to every %d us, %g s; its wait_on_page_writeback: %s"
                % (writers, "" if writers == 1 else "s", io_us, gap_us, throttle_us, seconds,
                   liveness["wait"]),
                "the slow waiter: %d waits that slept (and %d calls that found PG_writeback "
                "clear), woken %d times, slept again %d times (at most %d in one wait); wait "
                "p50 %s ms, "
                "p99 %s ms, max %s ms; the writers ended %d writebacks"
                % (st["waits"], st["immediate"], st["wakes"], st["resleeps"],
                   st["max_resleeps"], p50, p99, mx, writebacks)]
    if starved:
        i = longest
        evidence.append("starved: %d wait%s took longer than %g ms while the writers went on; "
                        "the longest, %.1f ms, saw %d writebacks of the page end before it "
                        "returned" % (len(long_waits), "" if len(long_waits) == 1 else "s",
                                      bound_ms, wait_ms[longest], ends[longest]))
    if st["mapping_breaks"]:
        evidence.append("%d waits ended because ->mapping changed" % st["mapping_breaks"])
    if run.hung:
        evidence.append("watchdog: %s" % run.describe_hang())
    for name, err in run.errors.items():
        evidence.append("%s: error: %s" % (name, err))
        counts["harness_errors"] = counts.get("harness_errors", 0) + 1
    bits = {v: k for k, v in c.page_bits().items()}
    evidence.extend(describe_bug(r, bits) for r in c.bug_log()[:8])
    out = {"variant": variant, "scenario": SCENARIO, "mode": mode, "failures": failures,
           "counts": counts, "evidence": evidence, "liveness": liveness}
    if not failures and not st["waits"]:
        # the waiter never slept: nothing was measured, so neither live nor starved
        out["inconclusive"] = "the slow waiter never waited in %.3g s" % seconds
        evidence.insert(0, "inconclusive: " + out["inconclusive"])
    return out
