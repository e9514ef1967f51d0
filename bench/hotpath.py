"""hotpath: what one operation costs each variant, one thread at a time.

end_page_writeback() runs at the end of every page's writeback and
unlock_page() at the end of every page lock; wait_on_page_writeback() runs
in every fsync, truncate and write_cache_pages.  The variants differ in a
reference taken around the wake, in what happens under the mapping's
i_pages lock, in one atomic xor for two, and in the waiter's re-test
(docs/MODEL.md, "Ending writeback").  Each case is timed per variant, with the events
that its timed region executes (instrumented build) stored beside it.
"""

from _harness import Bench, Suite, variants

from pagecore.model.variants import WRITEBACK_VARIANTS

# case -> (loop in pagecore/_loops.pxi, what the value covers)
CASES = {
    "end_page_writeback_no_waiters": (
        "bench_end_page_writeback_no_waiters",
        "end_page_writeback() of a page cache page nobody waits on; 64 pages per "
        "timed chunk, PG_writeback set on each before the chunk (not timed)"),
    "end_page_writeback_one_waiter": (
        "bench_end_page_writeback_one_waiter",
        "end_page_writeback() waking one waiter asleep in wait_on_page_writeback() "
        "(futex wake of a sleeping thread on another CPU included); per operation the "
        "waiter is seen asleep first, and only the waker's call is timed (clock read "
        "around each call, one clock-pair cost subtracted); events: the waker's, plus "
        "the waiter's one sleep"),
    "wait_on_page_writeback_clear": (
        "bench_wait_on_page_writeback_clear",
        "wait_on_page_writeback() of a page not under writeback"),
    "writeback_cycle": (
        "bench_writeback_cycle",
        "set_page_writeback() + end_page_writeback() of one page cache page, no waiters"),
    "unlock_page_no_waiters": (
        "bench_unlock_page_no_waiters",
        "unlock_page() of a page nobody waits on; 64 pages per timed chunk, each "
        "trylocked before the chunk (not timed)"),
    "unlock_page_waiters": (
        "bench_unlock_page_waiters",
        "unlock_page() waking one waiter asleep in lock_page(); per operation the "
        "waiter is seen asleep first, and only the unlock is timed (clock read around "
        "each call, one clock-pair cost subtracted); events: the waker's, plus the "
        "waiter's one sleep"),
}


def bench_case(loops, core, case, variant):
    core.configure(variant)
    return getattr(core, CASES[case][0])(loops)


def main():
    suite = Suite("hotpath", __doc__, lists=[
        ("--variant", str, WRITEBACK_VARIANTS, "writeback variants ('all': every one)"),
        ("--case", str, list(CASES), "hotpath cases")])
    chosen = variants(suite)
    cases = suite.option("--case")
    bad = [c for c in cases if c not in CASES]
    if bad:
        suite.runner.argparser.error("unknown case %s (known: %s)"
                                     % (", ".join(bad), ", ".join(CASES)))
    benches = [Bench("hotpath/%s/%s" % (case, v), bench_case, (case, v),
                     "%s; variant %s" % (CASES[case][1], v))
               for case in cases for v in chosen]
    suite.run(benches)


if __name__ == "__main__":
    main()
