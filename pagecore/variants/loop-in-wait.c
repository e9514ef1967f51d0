/*
 * Variant: loop-in-wait
 * Kind: writeback
 * Base: original
 * Source: c2407cf7d22d ("mm: make wait_on_page_writeback() wait for
 *         multiple pending writebacks")
 * Summary: as original, but wait_on_page_writeback loops while
 *          PageWriteback
 * Expect: end_page_writeback_no_waiters atomic_rmw=1 barrier=1 call=1 fcall=16 lock=1 percpu=8 percpu_cmpxchg=2 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=2 barrier=1 call=1 fcall=17 lock=2 percpu=8 percpu_cmpxchg=2 wakeups=1 walked=1 xa_mark=1.015625
 *
 * "Ever since commit 2a9127fcf229 ... we've had some very occasional
 * reports of BUG_ON(PageWriteback) in write_cache_pages() ... [the waiter]
 * will now wake up and not re-check the bit."  The fix makes the wait a
 * loop: a waiter woken for one writeback waits again for the next.  The end
 * of writeback is left alone, so a page can still be freed and reused under
 * end_page_writeback().
 */

/*
 * Wait for a page to complete writeback
 */
void wait_on_page_writeback(struct page *page)
{
	while (PageWriteback(page)) {
		trace_wait_on_page_writeback(page, page_mapping(page));
		wait_on_page_bit(page, PG_writeback);
	}
}
