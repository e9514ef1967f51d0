// SPDX-License-Identifier: GPL-2.0-only
/*
 * pagecore/kernel/mm/page-writeback.c: setting and clearing PG_writeback
 * with the mapping's writeback tag and the statistics that go with them, as
 * mm/page-writeback.c has them at v5.10; and the dirty path's
 * set_page_dirty(), clear_page_dirty_for_io() and write_cache_pages() for
 * one page, as 2.6.19/2.6.20 have them (the race of 7658cc289288 lives
 * there).
 *
 * The statistics are the kernel's own steps, each under the lock the kernel
 * holds it under (pagecore/vmstat.h says which machine they run on):
 * lock_page_memcg() around it all (mm/memcontrol.c); inside the i_pages
 * lock the tag, the bdi_writeback's counters and writeout share
 * (dec_wb_stat(), __wb_writeout_inc(): per-CPU counters, lib/
 * percpu_counter.c, lib/flex_proportions.c), and the inode's place on its
 * superblock's writeback list (fs/fs-writeback.c); after it the lruvec,
 * zone and node counters (mm/vmstat.c).  Left out: the dirty path's
 * statistics (2.6.19's), and arch_make_page_accessible() (s390 only).
 */

static void wb_domain_writeout_inc(struct wb_domain *dom,
				   struct fprop_local_percpu *completions,
				   unsigned int max_prop_frac)
{
	__fprop_inc_percpu_max(&dom->completions, completions,
			       max_prop_frac);
	/* First event after period switching was turned off? */
	if (unlikely(!dom->period_time)) {
		/*
		 * The timer that turns the period over: left out (the model's
		 * period runs from the start, pagecore/vmstat.h).
		 */
	}
}

/*
 * Increment @wb's writeout completion count and the global writeout
 * completion count. Called from test_clear_page_writeback().
 */
static inline void __wb_writeout_inc(struct bdi_writeback *wb)
{
	struct wb_domain *cgdom;

	inc_wb_stat(wb, WB_WRITTEN);
	wb_domain_writeout_inc(&global_wb_domain, &wb->completions,
			       wb->bdi->max_prop_frac);

	cgdom = mem_cgroup_wb_domain(wb);
	if (cgdom)
		wb_domain_writeout_inc(cgdom, wb_memcg_completions(wb),
				       wb->bdi->max_prop_frac);
}

int test_clear_page_writeback(struct page *page)
{
	struct address_space *mapping = page_mapping(page);
	struct mem_cgroup *memcg;
	struct lruvec *lruvec;
	int ret;

	memcg = lock_page_memcg(page);
	lruvec = mem_cgroup_page_lruvec(page, page_pgdat(page));
	if (mapping && mapping_use_writeback_tags(mapping)) {
		struct inode *inode = mapping->host;
		struct backing_dev_info *bdi = inode_to_bdi(inode);
		unsigned long flags;

		xa_lock_irqsave(&mapping->i_pages, flags);
		ret = TestClearPageWriteback(page);
		if (ret) {
			__xa_clear_mark(&mapping->i_pages, page_index(page),
						PAGECACHE_TAG_WRITEBACK);
			if (bdi->capabilities & BDI_CAP_WRITEBACK_ACCT) {
				struct bdi_writeback *wb = inode_to_wb(inode);

				dec_wb_stat(wb, WB_WRITEBACK);
				__wb_writeout_inc(wb);
			}
		}

		if (mapping->host && !mapping_tagged(mapping,
						     PAGECACHE_TAG_WRITEBACK))
			sb_clear_inode_writeback(mapping->host);

		xa_unlock_irqrestore(&mapping->i_pages, flags);
	} else {
		ret = TestClearPageWriteback(page);
	}
	/*
	 * NOTE: Page might be free now! Writeback doesn't hold a page
	 * reference on its own, it relies on truncation to wait for
	 * the clearing of PG_writeback. The below can only access
	 * page state that is static across allocation cycles.
	 */
	if (ret) {
		dec_lruvec_state(lruvec, NR_WRITEBACK);
		dec_zone_page_state(page, NR_ZONE_WRITE_PENDING);
		inc_node_page_state(page, NR_WRITTEN);
	}
	__unlock_page_memcg(memcg);
	return ret;
}

int __test_set_page_writeback(struct page *page, bool keep_write)
{
	struct address_space *mapping = page_mapping(page);
	int ret;

	lock_page_memcg(page);
	if (mapping && mapping_use_writeback_tags(mapping)) {
		XA_STATE(xas, &mapping->i_pages, page_index(page));
		struct inode *inode = mapping->host;
		struct backing_dev_info *bdi = inode_to_bdi(inode);
		unsigned long flags;

		xas_lock_irqsave(&xas, flags);
		xas_load(&xas);
		ret = TestSetPageWriteback(page);
		if (!ret) {
			bool on_wblist;

			on_wblist = mapping_tagged(mapping,
						   PAGECACHE_TAG_WRITEBACK);

			xas_set_mark(&xas, PAGECACHE_TAG_WRITEBACK);
			if (bdi->capabilities & BDI_CAP_WRITEBACK_ACCT)
				inc_wb_stat(inode_to_wb(inode), WB_WRITEBACK);

			/*
			 * We can come through here when swapping anonymous
			 * pages, so we don't necessarily have an inode to track
			 * for sync.
			 */
			if (mapping->host && !on_wblist)
				sb_mark_inode_writeback(mapping->host);
		}
		if (!PageDirty(page))
			xas_clear_mark(&xas, PAGECACHE_TAG_DIRTY);
		if (!keep_write)
			xas_clear_mark(&xas, PAGECACHE_TAG_TOWRITE);
		xas_unlock_irqrestore(&xas, flags);
	} else {
		ret = TestSetPageWriteback(page);
	}
	if (!ret) {
		inc_lruvec_page_state(page, NR_WRITEBACK);
		inc_zone_page_state(page, NR_ZONE_WRITE_PENDING);
	}
	unlock_page_memcg(page);
	return ret;
}
/* ------------------------------------------------------------------ */
/* The dirty path (pagecore/dirty.h): set_page_dirty,                  */
/* clear_page_dirty_for_io, and write_cache_pages for one page         */
/* ------------------------------------------------------------------ */

/*
 * set_page_dirty(): a block-device-backed mapping without its own
 * ->set_page_dirty gets __set_page_dirty_buffers.
 */
int set_page_dirty(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	if (mapping != NULL)
		return __set_page_dirty_buffers(page);
	if (!PageDirty(page)) {
		if (!TestSetPageDirty(page))
			return 1;
	}
	return 0;
}

/*
 * clear_page_dirty_for_io(), as 7658cc289288 ("VM: Fix nasty and subtle
 * race in shared mmap'ed page writeback") left it, the library's; the
 * variant cpdfio-2.6.19 has the shape before it.  "We use this sequence to
 * make sure that (a) we account for dirty stats properly (b) we tell the
 * low-level filesystem to mark the whole page dirty if it was dirty in a
 * pagetable.  Only to then (c) clean the page again and return 1 to cause
 * the writeback."  Its FIXME stands: a fault between page_mkclean() and
 * TestClearPageDirty() leaves the page mapped dirty with PG_dirty clear.
 * (mapping_cap_account_dirty() is true for every model mapping.)
 */
int clear_page_dirty_for_io(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	if (mapping != NULL) {
		if (page_mkclean(page))
			set_page_dirty(page);
		pagecore_window(cpdfio_mid);
		if (TestClearPageDirty(page))
			return 1;
		return 0;
	}
	return TestClearPageDirty(page);
}

/*
 * write_cache_pages(), the body of its loop for one page the tag lookup
 * found (5.10's order; 2.6.19's mpage_writepages() does the same steps).
 *
 * @how: WCP_WRITTEN runs the dirty path (PageDirty, clear_page_dirty_for_io,
 * __block_write_full_page); WCP_STARTED only sets writeback, for a caller
 * that ends it later (the writeback races); WCP_WAITED only waits.
 * *@nr_to_write gets the buffers __block_write_full_page() submitted.
 */
int write_cache_pages_one_page(struct page *page, struct address_space *mapping, int how,
			       int *nr_to_write)
{
	lock_page(page);
	/*
	 * Page truncated or invalidated.  We can freely skip it then, even for
	 * data integrity operations: the page has disappeared concurrently.
	 */
	if (page_mapping(page) != mapping) {
		unlock_page(page);
		return WCP_SKIPPED;
	}
	if (how == WCP_WRITTEN && !PageDirty(page)) {
		/* someone wrote it for us */
		unlock_page(page);
		return WCP_SKIPPED;
	}
	if (PageWriteback(page))
		wait_on_page_writeback(page);	/* wbc->sync_mode != WB_SYNC_NONE */
	if (PageWriteback(page)) {		/* BUG_ON(PageWriteback(page)) */
		pc_bug(PC_BUG_WRITEBACK_AFTER_WAIT, page, "write_cache_pages", READ_ONCE(page->flags), 0);
		unlock_page(page);
		return WCP_BUG;
	}
	if (how == WCP_WRITTEN) {
		if (!clear_page_dirty_for_io(page)) {
			unlock_page(page);
			return WCP_SKIPPED;
		}
		*nr_to_write = __block_write_full_page(page);
		return WCP_WRITTEN;
	}
	if (how == WCP_STARTED) {
		set_page_writeback(page);
		unlock_page(page);
		return WCP_STARTED;
	}
	unlock_page(page);
	return WCP_WAITED;
}
