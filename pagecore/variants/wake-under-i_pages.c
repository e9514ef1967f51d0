/*
 * Variant: wake-under-i_pages
 * Kind: writeback
 * Base: original
 * Source: Hugh Dickins, 4 Jan 2021 (not merged)
 * Summary: clear and wake_up_page_bit while still holding i_pages lock; no
 *          reference; the wake walk runs under i_pages lock
 * Expect: end_page_writeback_no_waiters atomic_rmw=1 lock=1
 * Expect: end_page_writeback_queued_waiter atomic_rmw=2 lock=2 walked=1 wakeups=1
 *
 * The alternative Hugh's patch names and sets aside: "It would be safe to
 * wake_up_page() after TestClearPageWriteback() while still holding
 * i_pages lock (since that lock is needed to remove the page from cache),
 * but the history of long page lock hash chains cautions against".  No
 * reference is taken: truncation cannot remove the page from the cache
 * while the lock is held.  The cost it warns of is the wake walk, however
 * long its hash chain, under the i_pages lock; the hashchain suite's
 * ipages_hold times that hold.  Filled from get-put-on-waiters: the lock
 * is taken whenever there is a mapping (swap too).
 */

/**
 * end_page_writeback - end writeback against a page
 * @page: the page
 */
void end_page_writeback(struct page *page)
{
	struct address_space *mapping;
	unsigned long flags;
	int writeback;

	if (PageReclaim(page)) {
		ClearPageReclaim(page);
		rotate_reclaimable_page(page);
	}

	mapping = page_mapping(page);
	if (mapping)
		xa_lock_irqsave(&mapping->i_pages, flags);

	writeback = TestClearPageWriteback(page);
	if (mapping && mapping_use_writeback_tags(mapping))
		__xa_clear_mark(&mapping->i_pages, page_index(page),
				PAGECACHE_TAG_WRITEBACK);
	pagecore_window(ewb_under_i_pages);
	if (PageWaiters(page))
		wake_up_page_bit(page, PG_writeback);

	if (mapping)
		xa_unlock_irqrestore(&mapping->i_pages, flags);
	pagecore_window(ewb_after_clear);
	BUG_ON(!writeback);
}
