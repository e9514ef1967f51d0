// SPDX-License-Identifier: GPL-2.0-only
/*
 * pagecore/kernel/mm/page-writeback.c: setting and clearing PG_writeback
 * with the mapping's writeback tag, as mm/page-writeback.c has them at
 * v5.10; and the dirty path's set_page_dirty(), clear_page_dirty_for_io()
 * and write_cache_pages() for one page, as 2.6.19/2.6.20 have them (the
 * race of 7658cc289288 lives there).
 *
 * Left out: memcg (lock_page_memcg), the lruvec, zone and bdi writeback
 * statistics, and sb_mark_inode_writeback()/sb_clear_inode_writeback():
 * no race or cost studied here depends on them.
 */

int test_clear_page_writeback(struct page *page)
{
	struct address_space *mapping = page_mapping(page);
	int ret;

	if (mapping && mapping_use_writeback_tags(mapping)) {
		unsigned long flags;

		xa_lock_irqsave(&mapping->i_pages, flags);
		ret = TestClearPageWriteback(page);
		if (ret) {
			__xa_clear_mark(&mapping->i_pages, page_index(page),
						PAGECACHE_TAG_WRITEBACK);
		}
		xa_unlock_irqrestore(&mapping->i_pages, flags);
	} else {
		ret = TestClearPageWriteback(page);
	}
	return ret;
}

int __test_set_page_writeback(struct page *page, bool keep_write)
{
	struct address_space *mapping = page_mapping(page);
	int ret;

	if (mapping && mapping_use_writeback_tags(mapping)) {
		unsigned long flags;

		xa_lock_irqsave(&mapping->i_pages, flags);
		ret = TestSetPageWriteback(page);
		if (!ret)
			__xa_set_mark(&mapping->i_pages, page_index(page),
				      PAGECACHE_TAG_WRITEBACK);
		if (!PageDirty(page))
			__xa_clear_mark(&mapping->i_pages, page_index(page),
					PAGECACHE_TAG_DIRTY);
		if (!keep_write)
			__xa_clear_mark(&mapping->i_pages, page_index(page),
					PAGECACHE_TAG_TOWRITE);
		xa_unlock_irqrestore(&mapping->i_pages, flags);
	} else {
		ret = TestSetPageWriteback(page);
	}
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
