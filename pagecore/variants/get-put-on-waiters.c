/*
 * Variant: get-put-on-waiters
 * Kind: writeback
 * Base: original
 * Source: Hugh Dickins, Nov 2020 posting, "[PATCH] mm: fix
 *         VM_BUG_ON(PageTail) and BUG_ON(PageWriteback)"
 * Summary: i_pages lock; TestClearPageWriteback; get_page if PageWaiters;
 *          unlock; wake_up_page_bit; put_page
 * Expect: end_page_writeback_no_waiters atomic_rmw=1 call=1 fcall=15 lock=1 percpu=8 percpu_cmpxchg=2 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=4 call=1 fcall=16 lock=2 percpu=8 percpu_cmpxchg=2 wakeups=1 walked=1 xa_mark=1.015625
 *
 * The patch as first posted: "the patch below does get_page() when
 * PageWaiters there, and put_page() after wake_up_page_bit() at the end.
 * And in any case, we do need the i_pages lock, even though it was skipped
 * before when !mapping_use_writeback_tags() i.e. swap."  It folds
 * test_clear_page_writeback() into end_page_writeback() in
 * mm/page-writeback.c, statistics and all: the lruvec, zone and node
 * counters before the i_pages lock, unconditionally; inside it the tag, the
 * bdi_writeback's counters and the inode's place on the superblock's list;
 * lock_page_memcg() around both.  ewb_under_i_pages marks the end of the
 * i_pages hold, ewb_after_clear the window before the wake.
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
	int waiters;

	/*
	 * TestClearPageReclaim could be used here but it is an atomic
	 * operation and overkill in this particular case. Failing to
	 * shuffle a page marked for immediate reclaim is too mild to
	 * justify taking an atomic operation penalty at the end of
	 * every page writeback.
	 */
	if (PageReclaim(page)) {
		ClearPageReclaim(page);
		rotate_reclaimable_page(page);
	}

	mapping = page_mapping(page);
	WARN_ON_ONCE(!mapping);
	memcg = lock_page_memcg(page);
	lruvec = mem_cgroup_page_lruvec(page, page_pgdat(page));

	dec_lruvec_state(lruvec, NR_WRITEBACK);
	dec_zone_page_state(page, NR_ZONE_WRITE_PENDING);
	inc_node_page_state(page, NR_WRITTEN);

	if (mapping)
		xa_lock_irqsave(&mapping->i_pages, flags);

	writeback = TestClearPageWriteback(page);
	/* No need for smp_mb__after_atomic() after TestClear */
	waiters = PageWaiters(page);
	if (waiters) {
		/*
		 * Writeback doesn't hold a page reference on its own, relying
		 * on truncation to wait for the clearing of PG_writeback.
		 * We could safely wake_up_page_bit(page, PG_writeback) here,
		 * while holding i_pages lock: but that would be a poor choice
		 * if the page is on a long hash chain; so instead choose to
		 * get_page+put_page - though atomics will add some overhead.
		 */
		get_page(page);
	}

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

	if (mapping) {
		pagecore_window(ewb_under_i_pages);
		xa_unlock_irqrestore(&mapping->i_pages, flags);
	}
	__unlock_page_memcg(memcg);
	pagecore_window(ewb_after_clear);

	if (waiters) {
		wake_up_page_bit(page, PG_writeback);
		put_page(page);
	}
	BUG_ON(!writeback);
}
