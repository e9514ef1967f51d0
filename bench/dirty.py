"""dirty: clear_page_dirty_for_io + writepage, both shapes (7658cc289288).

Writeback of a dirty page runs clear_page_dirty_for_io() and then the
filesystem's writepage (__block_write_full_page: every dirty buffer
written, the page under writeback until the last completes).  2.6.19's
shape clears PG_dirty and throws away what page_mkclean() found;
7658cc289288 calls set_page_dirty() first when page_mkclean() cleaned a
PTE, which marks every buffer dirty again.  The cost differs only where a
PTE is dirty, so three states: a page not mapped, mapped by a clean
read-only PTE, and mapped by a PTE the user wrote through.
"""

from _harness import Case, Suite, configure, exit_missing, variants

from pagecore.model.variants import DIRTY_VARIANTS

STATES = ["unmapped", "mapped_clean", "mapped_dirty"]

DESCRIBE = {
    "unmapped": "a page cache page no process maps, dirtied by write()",
    "mapped_clean": "a page mapped shared by one clean read-only PTE, dirtied by write()",
    "mapped_dirty": "a page mapped shared, dirtied by a store through its PTE (write "
                    "fault: PTE writable and dirty, set_page_dirty)",
}

NBUFFERS = 4


def bench_dirty(loops, core, variant, state):
    configure(core, variant)
    core.dirty_configure(NBUFFERS, 1, 0)
    return core.bench_cpdfio_writepage(loops, state)


def main():
    suite = Suite("dirty", __doc__, lists=[
        ("--variant", str, DIRTY_VARIANTS, "clear_page_dirty_for_io variants ('all')"),
        ("--state", str, STATES, "page states")])
    chosen = variants(suite, kind="dirty")
    states = suite.option("--state")
    bad = [s for s in states if s not in STATES]
    if bad:
        suite.error("unknown state %s (known: %s)" % (", ".join(bad), ", ".join(STATES)))
    from pagecore.model import _core

    if not hasattr(_core, "bench_cpdfio_writepage") or not hasattr(_core, "dirty_configure"):
        exit_missing("this build of pagecore has no dirty path (_dirty.pxi)")
    suite.run([Case("dirty/cpdfio_writepage", bench_dirty, chosen,
                    "lock held, clear_page_dirty_for_io() then __block_write_full_page() of "
                    "%s, %d buffers all dirty and written (simulated disk, completes at once); "
                    "64 pages per timed chunk, re-dirtied and locked between chunks (not "
                    "timed)" % (DESCRIBE[s], NBUFFERS),
                    args=(s,), params=(("state", s),),
                    ops=("clear_page_dirty_for_io",))
               for s in dict.fromkeys(states)])


if __name__ == "__main__":
    main()
