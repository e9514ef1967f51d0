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
 * in shared mmap'ed page writeback", Dec 2006) made it, which is the
 * library's (pagecore/kernel/mm/page-writeback.c): this variant is the
 * library as it stands, as original.c is for the end of writeback.  "We use this sequence to make sure that (a) we account for
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
 * placed there by the library.  (mapping_cap_account_dirty()
 * is true for every model mapping.)
 */
