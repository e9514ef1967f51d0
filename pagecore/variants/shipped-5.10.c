/*
 * Variant: shipped-5.10
 * Kind: writeback
 * Base: get-put
 * Source: 073861ed77b6 + c2407cf7d22d (v5.10.y)
 * Summary: 5.10 stable: get-put end_page_writeback + loop-in-wait
 *          wait_on_page_writeback
 * Expect: end_page_writeback_no_waiters atomic_rmw=3 barrier=1 call=1 fcall=16 lock=1 percpu=8 percpu_cmpxchg=2 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=4 barrier=1 call=1 fcall=17 lock=2 percpu=8 percpu_cmpxchg=2 wakeups=1 walked=1 xa_mark=1.015625
 *
 * What the 5.10 stable kernels run: the reference around the end of
 * writeback (073861ed77b6, the base) and the waiting loop of c2407cf7d22d.
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
