"""contention: writeback cycles and waits on 1 to 2 x nproc threads.

Each thread repeats write_cache_pages()'s cycle for one page and its
completion: lock_page, wait_on_page_writeback, set_page_writeback,
unlock_page, then end_page_writeback as the I/O completion would.  On one
shared page the threads wait for each other's page lock and writeback, so
wakes, wait-queue walks and sleeps are part of every run; on distinct pages
(distinct mappings, distinct wait-table buckets) nobody waits and only the
machine's own sharing shows.  In the bucket mode each thread ends writeback
of a page of its own with a waiter queued on it (a waiter of its own,
between prepare_to_wait and io_schedule, run on the thread), and every page
hashes to the same wait-table bucket: each wake walks past the other
threads' waiters and holds the bucket lock they need to queue and to wake,
so a variant that holds the bucket lock longer (the clear and its
statistics under it) shows it there; by default up to nproc threads (beyond,
the threads share CPUs and the scheduler decides more than the lock's
holds).  Threads are C pthreads released together;
the time runs from the release to the last thread's end.  Value: seconds
per cycle per thread (will-it-scale's operations per second per thread,
inverted).  Events are averaged per cycle over all threads: with sharing
they depend on the interleaving.
"""

from _harness import Case, Suite, configure, cpu_count, variants

from pagecore.model.variants import OP_FIELDS, WRITEBACK_VARIANTS


def thread_counts(nproc):
    """1 .. 2 x nproc: every count on a small machine, powers of two and
    the CPU count on a large one."""
    top = 2 * nproc
    if top <= 8:
        return list(range(1, top + 1))
    counts = {1, nproc, top}
    n = 2
    while n < top:
        counts.add(n)
        n *= 2
    return sorted(counts)


def bench_cycles(loops, core, variant, nthreads, sharing):
    configure(core, variant, 8, core.cycle_pool(nthreads, sharing), max(8, 4 * nthreads))
    return core.bench_writeback_cycles(loops, nthreads, sharing)


WHAT = {"shared": "one shared page",
        "distinct": "a page of its own",
        "bucket": "a page of its own with a waiter queued before each end (on the thread: "
                  "a waiter between prepare_to_wait and io_schedule), every thread's page in "
                  "one wait-table bucket: each queue and wake takes the bucket lock the "
                  "others need and walks past their waiters"}


def main():
    suite = Suite("contention", __doc__, lists=[
        ("--variant", str, WRITEBACK_VARIANTS, "writeback variants ('all': every one)"),
        ("--threads", int, thread_counts(cpu_count()), "thread counts"),
        ("--sharing", str, ["shared", "distinct", "bucket"],
         "one shared page, distinct pages, or a page each with a waiter, all in one "
         "bucket")])
    chosen = variants(suite)
    threads = suite.option("--threads")
    if any(not 1 <= n <= 1024 for n in threads):
        suite.error("threads must be in 1..1024")
    sharing = suite.option("--sharing")
    if any(s not in WHAT for s in sharing):
        suite.error("sharing must be shared, distinct or bucket")
    # every path of the cycle: the end, the wake, the walk, the wait
    ops = tuple(OP_FIELDS)[:4]
    cases = []
    for s in dict.fromkeys(sharing):
        for n in dict.fromkeys(threads):
            if s == "bucket" and n > max(1, cpu_count()) and suite.scalar("--threads") is None:
                # by default the bucket mode runs up to nproc threads: beyond, its threads
                # share CPUs, and the scheduler decides more than the bucket lock's holds
                continue
            cases.append(Case(
                "contention/writeback_cycle_" + s, bench_cycles, chosen,
                "%d threads, each: lock_page, wait_on_page_writeback, set_page_writeback, "
                "unlock_page, end_page_writeback on %s; seconds per cycle per thread" % (
                    n, WHAT[s]),
                args=(n, s), params=(("threads", n),), ops_per_loop=n,
                pin=False, ops=ops))
    suite.run(cases)


if __name__ == "__main__":
    main()
