// SPDX-License-Identifier: GPL-2.0-only
/*
 * pagecore/kernel/fs/buffer.c: the buffer_head side of the dirty path
 * (pagecore/dirty.h), after fs/buffer.c of 2.6.19: __set_page_dirty_buffers,
 * the simulated disk (submit_bh) and its completions, the filesystem's own
 * write of one buffer (ll_rw_block), __block_write_full_page, and the
 * buffers of a page.
 */

/*
 * "Add a page to the dirty page list.  It is a sad fact of life that this
 * function is called from several places deeply under spinlocking. ... If
 * the page has buffers, the uptodate buffers are set dirty, to preserve
 * dirty-state coherency between the page and the buffers."  Every buffer,
 * whatever part of the page was written: the filesystem cannot know.
 */
int __set_page_dirty_buffers(struct page *page)
{
	struct address_space *mapping = page_mapping(page);
	struct buffer_head *head;
	struct buffer_head *bh;

	if (mapping == NULL)
		return !TestSetPageDirty(page);

	spin_lock(&mapping->private_lock);
	if (page_has_buffers(page)) {
		head = page_buffers(page);
		bh = head;
		do {
			set_buffer_dirty(bh);
			bh = bh->b_this_page;
		} while (bh != head);
	}
	spin_unlock(&mapping->private_lock);

	if (TestSetPageDirty(page))
		return 0;

	xa_lock_irq(&mapping->i_pages);
	if (page_mapping(page) != NULL)		/* Race with truncate? */
		__xa_set_mark(&mapping->i_pages, page_index(page), PAGECACHE_TAG_DIRTY);
	xa_unlock_irq(&mapping->i_pages);
	/* __mark_inode_dirty(mapping->host, I_DIRTY_PAGES): left out */
	return 1;
}

/* ------------------------------------------------------------------ */
/* The disk and writepage                                              */
/* ------------------------------------------------------------------ */

/*
 * The write reaches the disk when it is submitted; the completion runs at
 * once, in the submitter.
 */
void submit_bh_write(struct buffer_head *bh)
{
	smp_store_release(&pc_dirty.disk[bh->b_blocknr], smp_load_acquire(bh->b_data));
	bh->b_end_io(bh, 1);
}

/* I/O completion of a buffer written by ll_rw_block() or sync_dirty_buffer() */
void end_buffer_write_sync(struct buffer_head *bh, int uptodate)
{
	if (uptodate)
		set_buffer_uptodate(bh);
	unlock_buffer(bh);
}

/*
 * I/O completion of a buffer written by __block_write_full_page(): the last
 * buffer of the page to complete ends the page's writeback.  The other
 * buffers are looked at under BH_Uptodate_Lock of the first one.
 */
void end_buffer_async_write(struct buffer_head *bh, int uptodate)
{
	struct page *page = bh->b_page;
	struct buffer_head *first;
	struct buffer_head *tmp;

	if (uptodate)
		set_buffer_uptodate(bh);
	first = page_buffers(page);
	bit_spin_lock(BH_Uptodate_Lock, &first->b_state);
	clear_buffer_async_write(bh);
	unlock_buffer(bh);
	tmp = bh->b_this_page;
	while (tmp != bh) {
		if (buffer_async_write(tmp)) {
			bit_spin_unlock(BH_Uptodate_Lock, &first->b_state);
			return;		/* still_busy */
		}
		tmp = tmp->b_this_page;
	}
	bit_spin_unlock(BH_Uptodate_Lock, &first->b_state);
	end_page_writeback(page);
}

/*
 * The filesystem writing one buffer itself, for its own ordering (a journal
 * commit, sync_dirty_buffer, ll_rw_block(WRITE, 1, &bh)): a locked buffer is
 * skipped, a clean one left alone.  Returns 1 if it wrote the buffer.
 */
int ll_rw_block_write(struct buffer_head *bh)
{
	if (test_set_buffer_locked(bh))
		return 0;
	/* get_bh(bh) */
	if (test_clear_buffer_dirty(bh)) {
		bh->b_end_io = end_buffer_write_sync;
		submit_bh_write(bh);
		return 1;
	}
	unlock_buffer(bh);
	return 0;
}

/*
 * __block_write_full_page(), 2.6.19, for WB_SYNC_ALL and every buffer
 * mapped.  "If a buffer becomes dirty here after we've inspected it then we
 * just miss that fact, and the page stays dirty."  It writes the buffers
 * marked dirty, not the page.  Called with the page locked; unlocks it.
 * Returns how many buffers it submitted.
 */
int __block_write_full_page(struct page *page)
{
	struct buffer_head *head = page_buffers(page);
	struct buffer_head *bh;
	struct buffer_head *next;
	int nr_underway = 0;

	bh = head;
	for (;;) {
		lock_buffer(bh);
		if (test_clear_buffer_dirty(bh))
			mark_buffer_async_write(bh);
		else
			unlock_buffer(bh);
		bh = bh->b_this_page;
		if (bh == head)
			break;
		pagecore_window(writepage_mid);
	}

	/*
	 * The page and its buffers are protected by PageWriteback(), so we can
	 * drop the bh refcounts early.
	 */
	if (PageWriteback(page))	/* BUG_ON(PageWriteback(page)) */
		pc_bug(PC_BUG_WRITEBACK_AFTER_WAIT, page, __func__, READ_ONCE(page->flags), 0);
	set_page_writeback(page);

	do {
		next = bh->b_this_page;
		if (buffer_async_write(bh)) {
			bh->b_end_io = end_buffer_async_write;
			submit_bh_write(bh);
			nr_underway++;
		}
		bh = next;
	} while (bh != head);
	unlock_page(page);

	if (nr_underway == 0) {
		/*
		 * The page was marked dirty, but the buffers were clean.  Someone
		 * wrote them back by hand with ll_rw_block/submit_bh.  A rare case.
		 */
		end_page_writeback(page);
		/* The page and buffer_heads can be released at any time from here on. */
	}
	return nr_underway;
}

/* ------------------------------------------------------------------ */
/* Buffers for a page                                                  */
/* ------------------------------------------------------------------ */

/*
 * create_empty_buffers() + a read of every block (block_read_full_page):
 * the page is uptodate and clean, its contents what the disk holds.
 */
void create_page_buffers(struct page *page)
{
	int i, n = pc_dirty.nbuffers;
	struct buffer_head *bh;
	struct buffer_head *head = &pc_dirty.bhs[page->pc_id * n];
	struct address_space *mapping = page_mapping(page);

	for (i = 0; i < n; i++) {
		bh = &head[i];
		bh->b_state = (1UL << BH_Uptodate) | (1UL << BH_Mapped);
		bh->b_this_page = &head[(i + 1) % n];
		bh->b_page = page;
		bh->b_blocknr = page->pc_id * n + i;
		bh->b_data = &pc_dirty.data[page->pc_id * n + i];
		bh->b_end_io = end_buffer_write_sync;
		bh->pc_nr = i;
		bh->pc_lost_reported = 0;
		smp_store_release(bh->b_data, smp_load_acquire(&pc_dirty.disk[bh->b_blocknr]));
	}
	if (mapping != NULL)
		spin_lock(&mapping->private_lock);
	smp_store_release(&page->private, (unsigned long)head);	/* attach_page_buffers */
	if (mapping != NULL)
		spin_unlock(&mapping->private_lock);
}
