/*
 * Variant: original
 * Kind: writeback
 * Base: library
 * Source: 2a9127fcf229 ("mm: rewrite wait_on_page_bit_common() logic") +
 *         5ef64cc8987a ("mm: allow a controlled amount of unfairness in the
 *         page lock") (v5.9)
 * Summary: 5.9: test_clear_page_writeback under i_pages lock,
 *          smp_mb__after_atomic, wake_up_page with no page reference;
 *          `if (PageWriteback)` wait
 * Expect: end_page_writeback_no_waiters atomic_rmw=1 barrier=1 call=1 fcall=16 lock=1 percpu=8 percpu_cmpxchg=2 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=2 barrier=1 call=1 fcall=17 lock=2 percpu=8 percpu_cmpxchg=2 wakeups=1 walked=1 xa_mark=1.015625
 *
 * The library (pagecore/kernel/) is v5.9's mm/filemap.c and
 * mm/page-writeback.c: this variant is the library as it stands.  Its
 * end_page_writeback() clears PG_writeback and then wakes with no reference
 * on the page; as the NOTE in test_clear_page_writeback() says, "Page might
 * be free now!": truncation may free and reuse the page before
 * wake_up_page() looks at it (page-reuse), and a waiter woken for the old
 * writeback returns even if a new one was started meanwhile
 * (writeback-set-again, the BUG_ON(PageWriteback) of write_cache_pages()).
 */
