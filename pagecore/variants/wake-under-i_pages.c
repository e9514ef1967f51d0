/*
 * Variant: wake-under-i_pages
 * Kind: writeback
 * Base: original
 * Source: Hugh Dickins, 4 Jan 2021 (not merged)
 * Summary: clear and wake_up_page_bit while still holding i_pages lock; no
 *          reference; the wake walk runs under i_pages lock
 * Expect: end_page_writeback_no_waiters atomic_rmw=1 call=1 fcall=15 lock=1 percpu=8 percpu_cmpxchg=2 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=2 call=1 fcall=16 lock=2 percpu=8 percpu_cmpxchg=2 wakeups=1 walked=1 xa_mark=1.015625
 *
 * The alternative Hugh's patch names and sets aside: "It would be safe to
 * wake_up_page() after TestClearPageWriteback() while still holding
 * i_pages lock (since that lock is needed to remove the page from cache),
 * but the history of long page lock hash chains cautions against".  No
 * reference is taken: truncation cannot remove the page from the cache
 * while the lock is held.  The cost it warns of is the wake walk, however
 * long its hash chain, under the i_pages lock; the hashchain suite's
 * ipages_hold times that hold.  Filled from get-put-on-waiters: the lock
 * is taken whenever there is a mapping (swap too), and the statistics are
 * kept where that patch keeps them (the lruvec, zone and node counters
 * before the lock, the tag, the bdi_writeback's counters and the inode's
 * place on the superblock's list inside it, lock_page_memcg() around), so
 * the walk runs after them, inside the same hold.
 */

/**
 * end_page_writeback - end writeback against a page
 * @page: the page
 */
void end_page_writeback(struct page *page)
{
	struct address_space *mapping;
	struct mem_cgroup *memcg;
	struct lruvec *lruvec;
	unsigned long flags;
	int writeback;

	if (PageReclaim(page)) {
		ClearPageReclaim(page);
		rotate_reclaimable_page(page);
	}

	mapping = page_mapping(page);
	memcg = lock_page_memcg(page);
	lruvec = mem_cgroup_page_lruvec(page, page_pgdat(page));

	dec_lruvec_state(lruvec, NR_WRITEBACK);
	dec_zone_page_state(page, NR_ZONE_WRITE_PENDING);
	inc_node_page_state(page, NR_WRITTEN);

	if (mapping)
		xa_lock_irqsave(&mapping->i_pages, flags);

	writeback = TestClearPageWriteback(page);
	if (mapping && mapping_use_writeback_tags(mapping)) {
		struct inode *inode = mapping->host;
		struct backing_dev_info *bdi = inode_to_bdi(inode);

		__xa_clear_mark(&mapping->i_pages, page_index(page),
				PAGECACHE_TAG_WRITEBACK);
		if (bdi->capabilities & BDI_CAP_WRITEBACK_ACCT) {
			struct bdi_writeback *wb = inode_to_wb(inode);

			dec_wb_stat(wb, WB_WRITEBACK);
			__wb_writeout_inc(wb);
		}
		if (inode && !mapping_tagged(mapping, PAGECACHE_TAG_WRITEBACK))
			sb_clear_inode_writeback(inode);
	}
	pagecore_window(ewb_under_i_pages);
	if (PageWaiters(page))
		wake_up_page_bit(page, PG_writeback);

	if (mapping)
		xa_unlock_irqrestore(&mapping->i_pages, flags);
	__unlock_page_memcg(memcg);
	pagecore_window(ewb_after_clear);
	BUG_ON(!writeback);
}
