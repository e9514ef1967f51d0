/*
 * Variant: get-put
 * Kind: writeback
 * Base: original
 * Source: 073861ed77b6 ("mm: fix VM_BUG_ON(PageTail) and
 *         BUG_ON(PageWriteback)") (v5.10)
 * Summary: get_page unconditionally around clear, barrier, wake_up_page,
 *          put_page
 * Expect: end_page_writeback_no_waiters atomic_rmw=3 barrier=1 call=1 fcall=16 lock=1 percpu=8 percpu_cmpxchg=2 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=4 barrier=1 call=1 fcall=17 lock=2 percpu=8 percpu_cmpxchg=2 wakeups=1 walked=1 xa_mark=1.015625
 *
 * Hugh Dickins's second, smaller patch, the one Linus applied ("the smaller
 * one that just takes a ref around the critical section"): the page can no
 * longer be freed and reused before wake_up_page().  The wait is still 5.9's
 * `if`: the shipped 5.10 kernel is this plus c2407cf7d22d (shipped-5.10).
 */

/**
 * end_page_writeback - end writeback against a page
 * @page: the page
 */
void end_page_writeback(struct page *page)
{
	/*
	 * TestClearPageReclaim could be used here but it is an atomic
	 * operation and overkill in this particular case. Failing to
	 * shuffle a page marked for immediate reclaim is too mild to
	 * justify taking an atomic operation penalty at the end of
	 * ever page writeback.
	 */
	if (PageReclaim(page)) {
		ClearPageReclaim(page);
		rotate_reclaimable_page(page);
	}

	/*
	 * Writeback does not hold a page reference of its own, relying
	 * on truncation to wait for the clearing of PG_writeback.
	 * But here we must make sure that the page is not freed and
	 * reused before the wake_up_page().
	 */
	get_page(page);
	if (!test_clear_page_writeback(page))
		BUG();

	pagecore_window(ewb_after_clear);
	smp_mb__after_atomic();
	wake_up_page(page, PG_writeback);
	put_page(page);
}
