"""contention: writeback cycles and waits on 1 to 2 x nproc threads.

Each thread repeats write_cache_pages()'s cycle for one page and its
completion: lock_page, wait_on_page_writeback, set_page_writeback,
unlock_page, then end_page_writeback as the I/O completion would.  On one
shared page the threads wait for each other's page lock and writeback, so
wakes, wait-queue walks and sleeps are part of every run; on distinct pages
(distinct mappings, distinct wait-table buckets) nobody waits and only the
machine's own sharing shows.  Threads are C pthreads released together;
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


def bench_cycles(loops, core, variant, nthreads, shared):
    configure(core, variant, 8, max(256, 2 * nthreads), max(8, 4 * nthreads))
    return core.bench_writeback_cycles(loops, nthreads, shared)


def main():
    suite = Suite("contention", __doc__, lists=[
        ("--variant", str, WRITEBACK_VARIANTS, "writeback variants ('all': every one)"),
        ("--threads", int, thread_counts(cpu_count()), "thread counts"),
        ("--sharing", str, ["shared", "distinct"], "one shared page, distinct pages")])
    chosen = variants(suite)
    threads = suite.option("--threads")
    if any(not 1 <= n <= 1024 for n in threads):
        suite.error("threads must be in 1..1024")
    sharing = suite.option("--sharing")
    if any(s not in ("shared", "distinct") for s in sharing):
        suite.error("sharing must be shared or distinct")
    # every path of the cycle: the end, the wake, the walk, the wait
    ops = tuple(OP_FIELDS)[:4]
    cases = []
    for s in dict.fromkeys(sharing):
        for n in dict.fromkeys(threads):
            cases.append(Case(
                "contention/writeback_cycle_" + s, bench_cycles, chosen,
                "%d threads, each: lock_page, wait_on_page_writeback, set_page_writeback, "
                "unlock_page, end_page_writeback on %s; seconds per cycle per thread" % (
                    n, "one shared page" if s == "shared" else "a page of its own"),
                args=(n, s == "shared"), params=(("threads", n),), ops_per_loop=n,
                pin=False, ops=ops))
    suite.run(cases)


if __name__ == "__main__":
    main()
