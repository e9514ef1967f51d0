/*
 * Variant: cpdfio-set-page-dirty
 * Kind: dirty
 * Base: library
 * Source: 7658cc289288 ("VM: Fix nasty and subtle race in shared mmap'ed page
 *         writeback")
 * Summary: clear_page_dirty_for_io: if (page_mkclean(page))
 *          set_page_dirty(page); then TestClearPageDirty
 *
 * clear_page_dirty_for_io() as 7658cc289288 ("VM: Fix nasty and subtle race
 * in shared mmap'ed page writeback", Dec 2006) made it; the rest
 * of the dirty path is the library's.  This is also the library's default
 * (mm/page-writeback.c), repeated here so that the variant reads complete
 * on its own.  "We use this sequence to make sure that (a) we account for
 * dirty stats properly (b) we tell the low-level filesystem to mark the
 * whole page dirty if it was dirty in a pagetable.  Only to then (c) clean
 * the page again and return 1 to cause the writeback."  A PTE dirtied by a
 * store through a shared writable mapping, which marks no buffer, makes
 * page_mkclean() return nonzero; set_page_dirty() (__set_page_dirty_buffers)
 * then marks every buffer dirty, so __block_write_full_page() writes the
 * whole page, the buffers the filesystem already wrote itself included, and
 * the lost mmap write of cpdfio-2.6.19 cannot happen.  Its FIXME stands: a
 * fault between page_mkclean() and TestClearPageDirty() leaves the page
 * mapped dirty with PG_dirty clear; the named window cpdfio_mid lies there,
 * where the Cython model had its race point.  (mapping_cap_account_dirty()
 * is true for every model mapping.)
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
