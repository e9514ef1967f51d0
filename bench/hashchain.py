"""hashchain: the cost of sharing a wait-table bucket.

The page wait table hashes every page into 2^PAGE_WAIT_TABLE_BITS buckets
(8 bits upstream); a wake walks every entry in its bucket, other pages'
waiters included, and from 4.14 to 6.6 takes a breather (a bookmark, the
bucket lock dropped) every 64 entries.  Here end_page_writeback() wakes
one waiter queued behind N entries for other pages (park_colliding), with
N swept across the bookmark boundary, for three table sizes.

ipages_hold: wake-under-i_pages does that walk while it holds the mapping's
i_pages lock, which truncation and every writeback start and end on the
file need.  Its value is the time from spin_lock to spin_unlock of i_pages
in that variant: the model's critical section run step for step between
two clock reads inside the lock (a clock-pair cost subtracted).
"""

from _harness import Bench, Suite, variants

from pagecore.model.variants import WRITEBACK_VARIANTS

CHAINS = [0, 1, 4, 16, 63, 64, 65, 128, 256, 1024, 4096]
BITS = [8, 10, 16]


def bench_end_page_writeback(loops, core, variant, bits, chain):
    core.configure(variant, bits)
    return core.bench_end_page_writeback_one_waiter(loops, chain)


def bench_ipages_hold(loops, core, bits, chain):
    core.configure("wake-under-i_pages", bits)
    return core.bench_ipages_hold(loops, chain)


def main():
    suite = Suite("hashchain", __doc__, lists=[
        ("--variant", str, WRITEBACK_VARIANTS, "writeback variants ('all': every one)"),
        ("--bits", int, BITS, "PAGE_WAIT_TABLE_BITS values"),
        ("--chain", int, CHAINS, "colliding entries ahead of the waiter")])
    chosen = variants(suite)
    bits = suite.option("--bits")
    chains = suite.option("--chain")
    if any(not 1 <= b <= 24 for b in bits):
        suite.runner.argparser.error("bits must be in 1..24")
    if any(not 0 <= n <= 1 << 20 for n in chains):
        suite.runner.argparser.error("chain must be in 0..1048576")
    benches = []
    for b in bits:
        for n in chains:
            for v in chosen:
                benches.append(Bench(
                    "hashchain/end_page_writeback/%s/bits=%d/chain=%d" % (v, b, n),
                    bench_end_page_writeback, (v, b, n),
                    "end_page_writeback() waking one waiter asleep in "
                    "wait_on_page_writeback(), queued behind %d entries for other pages "
                    "in its bucket; PAGE_WAIT_TABLE_BITS=%d; only the waker's call timed "
                    "(clock-pair cost subtracted); variant %s" % (n, b, v)))
            if "wake-under-i_pages" in chosen:
                benches.append(Bench(
                    "hashchain/ipages_hold/wake-under-i_pages/bits=%d/chain=%d" % (b, n),
                    bench_ipages_hold, (b, n),
                    "time the mapping's i_pages lock is held by end_page_writeback() of "
                    "wake-under-i_pages, waking one waiter behind %d other entries; "
                    "PAGE_WAIT_TABLE_BITS=%d; its critical section run step for step "
                    "between clock reads inside the lock (pagecore/_loops.pxi, "
                    "ipages_hold_once), clock-pair cost subtracted" % (n, b)))
    suite.run(benches)


if __name__ == "__main__":
    main()
