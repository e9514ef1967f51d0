"""hashchain: the cost of sharing a wait-table bucket.

The page wait table hashes every page into 2^PAGE_WAIT_TABLE_BITS buckets (8 bits upstream);
a wake walks every entry in its bucket, other pages' waiters included, and from 4.14 to 6.6
takes a breather (a bookmark, the bucket lock dropped) every 64 entries.  Here
end_page_writeback() wakes one waiter queued behind N entries for other pages, with N swept
across the bookmark boundary.

In the kernel each colliding entry is a wait_page_queue on another sleeping task's stack: its
own cache line, on another page, usually cold.  The entries here are placed that way (one per
cache line, each separately allocated on a page of its own, linked in a shuffled order), and
measured twice: `entries=warm`, the entries left in the caches by the previous operation, and
`entries=cold`, every entry evicted from the caches before each operation (not timed).  The
waiter itself is queued but not yet asleep, so no futex syscall blurs the walk.

lock_hold: how long one end of writeback holds each lock class, per variant, and what it does
inside (the events counted in the instrumented build within the holds): the mapping's i_pages
lock with nobody waiting, and with one queued waiter behind 4 cold entries of other pages (the
default mix's hash-chain term), and the bucket lock in that second case.  A variant that moves
work under a lock shows it here.  Value: ns held per operation (all holds of the class).

ipages_hold: wake-under-i_pages does that walk while it holds the mapping's i_pages lock,
which truncation and every writeback start and end on the file need.  Its value is the time
from spin_lock to spin_unlock of i_pages in that variant, timed by the variant itself (a
clock-pair cost subtracted).
"""

from _harness import Case, Suite, configure, variants

from pagecore.model.variants import WRITEBACK_VARIANTS

CHAINS = [0, 4, 16, 63, 64, 256, 1024]
BITS = [8]
ENTRIES = ["warm", "cold"]
# more than this many entries walked and a bookmark is parked (WAITQUEUE_WALK_BREAK_CNT)
WALK_BREAK_CNT = 64


def bench_end_page_writeback(loops, core, variant, bits, chain, cold):
    configure(core, variant, bits)
    return core.bench_end_page_writeback_queued_waiter(loops, chain, cold)


def bench_ipages_hold(loops, core, variant, bits, chain, cold):
    configure(core, variant, bits)
    return core.bench_ipages_hold_queued(loops, chain, cold)


def bench_lock_hold(loops, core, variant, bits, lock, waiter, chain):
    configure(core, variant, bits)
    if waiter == "none":
        return core.bench_lock_hold_no_waiters(loops, lock)
    return core.bench_lock_hold_queued(loops, chain, True, lock)


def hold_meta(instr, ops):
    holds, n = instr.last_lock_holds()
    return {"pagecore_holds": "%.3f" % (holds / n if n else 0.0)}


# (lock, waiter, colliding cold entries ahead of the waiter)
HOLDS = (("i_pages", "none", 0), ("i_pages", "queued", 4), ("bucket", "queued", 4))


def _ops(chain):
    ops = ("end_page_writeback", "wake_page_function")
    # the waiter itself is the chain + 1st entry walked
    return ops + ("bookmarks",) if chain + 1 > WALK_BREAK_CNT else ops


def main():
    suite = Suite("hashchain", __doc__, lists=[
        ("--variant", str, WRITEBACK_VARIANTS, "writeback variants ('all': every one)"),
        ("--bits", int, BITS, "PAGE_WAIT_TABLE_BITS values"),
        ("--chain", int, CHAINS, "colliding entries ahead of the waiter"),
        ("--entries", str, ENTRIES, "colliding entries warm or cold in the caches")])
    chosen = variants(suite)
    bits = suite.option("--bits")
    chains = suite.option("--chain")
    entries = suite.option("--entries")
    if any(not 1 <= b <= 24 for b in bits):
        suite.error("bits must be in 1..24")
    if any(not 0 <= n <= 1 << 16 for n in chains):
        suite.error("chain must be in 0..65536")
    if any(e not in ENTRIES for e in entries):
        suite.error("entries must be warm or cold")
    cases = []
    for e in dict.fromkeys(entries):
        for b in dict.fromkeys(bits):
            for n in dict.fromkeys(chains):
                params = (("bits", b), ("chain", n), ("entries", e))
                cases.append(Case(
                    "hashchain/end_page_writeback", bench_end_page_writeback, chosen,
                    "end_page_writeback() waking one waiter queued (not yet asleep) behind "
                    "%d entries for other pages in its bucket, each on a cache line and page "
                    "of its own, %s; PAGE_WAIT_TABLE_BITS=%d" % (
                        n, "evicted from the caches before each operation" if e == "cold"
                        else "warm in the caches", b),
                    args=(b, n, e == "cold"), params=params,
                    ops=_ops(n)))
                if "wake-under-i_pages" in chosen:
                    cases.append(Case(
                        "hashchain/ipages_hold", bench_ipages_hold, ["wake-under-i_pages"],
                        "time the mapping's i_pages lock is held by end_page_writeback() of "
                        "wake-under-i_pages, waking one queued waiter behind %d other "
                        "entries (%s); PAGE_WAIT_TABLE_BITS=%d; timed by the variant itself "
                        "inside the lock, clock-pair cost subtracted" % (n, e, b),
                        args=(b, n, e == "cold"), params=params))
    for b in dict.fromkeys(bits):
        for lock, waiter, n in HOLDS:
            params = (("lock", lock), ("waiter", waiter), ("bits", b))
            if waiter != "none":
                params += (("collide", n),)
            cases.append(Case(
                "hashchain/lock_hold", bench_lock_hold, chosen,
                "ns per end_page_writeback() spent holding the %s lock (every hold of that "
                "class summed, a clock pair less per hold), %s; PAGE_WAIT_TABLE_BITS=%d; "
                "events: those inside the holds" % (
                    "mapping's i_pages" if lock == "i_pages" else "wait-table bucket",
                    "nobody waiting" if waiter == "none" else
                    "waking one queued waiter behind %d cold entries of other pages" % n, b),
                args=(b, lock, waiter, n), params=params,
                ops=("end_page_writeback", "wake_page_function"), count_meta=hold_meta))
    suite.run(cases)


if __name__ == "__main__":
    main()
