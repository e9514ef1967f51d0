"""hotpath: what one operation costs each variant, one thread at a time.

end_page_writeback() runs at the end of every page's writeback and unlock_page() at the end
of every page lock; wait_on_page_writeback() runs in every fsync, truncate and
write_cache_pages.  The variants differ in a reference taken around the wake, in what happens
under the mapping's i_pages lock, in one atomic xor for two, and in the waiter's re-test
(docs/MODEL.md).  Every variant of a case is measured in the same worker processes, in a
random order each round (bench/_harness.py), with the events its timed region executes
(instrumented build) stored beside it.

A waiter comes in two forms.  `one_waiter`: an entry whose task has queued itself and set
PG_waiters but not yet slept, as a kernel waiter is between prepare_to_wait and io_schedule;
waking it costs the waker a constant amount (no futex syscall), so the waker's own path is
what is measured.  `sleeping_waiter`: a thread really asleep on a futex, so the value includes
the wake of a sleeping thread on another CPU, about 2 us on a VM and the same in every variant
(the floor suite measures that wake alone: floor/wake_sleeping_thread).
"""

from _harness import Case, Suite, configure, variants

from pagecore.model.variants import WRITEBACK_VARIANTS

# case -> (loop in pagecore/model/_loops.pxi, operations whose code it runs, single thread,
#          what the value covers)
CASES = {
    "end_page_writeback_no_waiters": (
        "bench_end_page_writeback_no_waiters", ("end_page_writeback",), True,
        "end_page_writeback() of a page cache page nobody waits on; 64 pages per timed "
        "chunk, PG_writeback set on each before the chunk (not timed)"),
    "end_page_writeback_one_waiter": (
        "bench_end_page_writeback_queued_waiter", ("end_page_writeback", "wake_page_function"),
        True,
        "end_page_writeback() waking one waiter queued on the page's bucket with PG_waiters "
        "set, its task not yet asleep (between prepare_to_wait and io_schedule): a wake of "
        "known, constant cost, no futex syscall; set-up and clean-up not timed"),
    "end_page_writeback_sleeping_waiter": (
        "bench_end_page_writeback_one_waiter", ("end_page_writeback", "wake_page_function"),
        False,
        "end_page_writeback() waking one waiter asleep in wait_on_page_writeback() (the "
        "futex wake of a sleeping thread on another CPU included); per operation the waiter "
        "is seen asleep first, and only the waker's call is timed (clock read around each "
        "call, one clock-pair cost subtracted)"),
    "wait_on_page_writeback_clear": (
        "bench_wait_on_page_writeback_clear", ("wait_entry",), True,
        "wait_on_page_writeback() of a page not under writeback: one test of a clear bit, "
        "the same code in every variant but the mapping-break proposal, which reads "
        "->mapping first, and 6.7's, entered through mm/folio-compat.c's wrapper"),
    "writeback_cycle": (
        "bench_writeback_cycle", ("end_page_writeback",), True,
        "set_page_writeback() + end_page_writeback() of one page cache page, no waiters"),
    "unlock_page_no_waiters": (
        "bench_unlock_page_no_waiters", ("unlock_entry",), True,
        "unlock_page() of a page nobody waits on (clear_bit_unlock_is_negative_byte, the "
        "same code in every variant but 6.7's, entered through mm/folio-compat.c's "
        "wrapper); 64 pages per timed chunk, each trylocked before the chunk (not timed)"),
    "unlock_page_one_waiter": (
        "bench_unlock_page_queued_waiter", ("wake_page_function",), True,
        "unlock_page() waking one exclusive lock_page() waiter queued on the bucket, its "
        "task not yet asleep: the wake walk and hand-off of the variant's "
        "wake_page_function, no futex syscall"),
    "unlock_page_sleeping_waiter": (
        "bench_unlock_page_waiters", ("wake_page_function",), False,
        "unlock_page() waking one waiter asleep in lock_page(); per operation the waiter is "
        "seen asleep first, and only the unlock is timed (clock read around each call, one "
        "clock-pair cost subtracted)"),
}


def bench_case(loops, core, variant, case):
    configure(core, variant)
    return getattr(core, CASES[case][0])(loops)


def main():
    suite = Suite("hotpath", __doc__, lists=[
        ("--variant", str, WRITEBACK_VARIANTS, "writeback variants ('all': every one)"),
        ("--case", str, list(CASES), "hotpath cases")])
    chosen = variants(suite)
    cases = suite.option("--case")
    bad = [c for c in cases if c not in CASES]
    if bad:
        suite.error("unknown case %s (known: %s)" % (", ".join(bad), ", ".join(CASES)))
    suite.run([Case("hotpath/" + case, bench_case, chosen, CASES[case][3], args=(case,),
                    pin=CASES[case][2],
                    ops=CASES[case][1])
               for case in dict.fromkeys(cases)])


if __name__ == "__main__":
    main()
