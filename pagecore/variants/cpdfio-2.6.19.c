/*
 * Variant: cpdfio-2.6.19
 * Kind: dirty
 * Base: library
 * Source: v2.6.19 (before 7658cc289288)
 * Summary: clear_page_dirty_for_io: TestClearPageDirty, then page_mkclean with its
 *          result ignored
 *
 * clear_page_dirty_for_io() of v2.6.19, before 7658cc289288 ("VM: Fix nasty
 * and subtle race in shared mmap'ed page writeback", Dec 2006); the
 * rest of the dirty path is the library's (fs/buffer.c, mm/rmap.c,
 * mm/memory.c, mm/page-writeback.c).  PG_dirty is cleared first and the
 * PTEs are cleaned after it, and whatever dirtiness page_mkclean() finds
 * there is thrown away: the writepage that follows writes only the buffers
 * still marked dirty.  A store through a shared writable mapping sets the
 * PTE's dirty bit and marks no buffer; if the filesystem has meanwhile
 * written that buffer itself (ll_rw_block), it is clean, page_mkclean()
 * cleans the PTE, __block_write_full_page() skips the buffer, and the
 * user's write never reaches the disk: the lost mmap write of
 * docs/MODEL.md, which scenario mmap-lost-write shows and check_lost_write()
 * records.  The named window cpdfio_mid lies between TestClearPageDirty()
 * and page_mkclean(), where the Cython model had its race point.
 * (mapping_cap_account_dirty() is true for every model mapping.)
 */

int clear_page_dirty_for_io(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	if (mapping == NULL)
		return TestClearPageDirty(page);

	if (TestClearPageDirty(page)) {
		pagecore_window(cpdfio_mid);
		page_mkclean(page);
		/* dec_zone_page_state(page, NR_FILE_DIRTY): left out */
		return 1;
	}
	return 0;
}
