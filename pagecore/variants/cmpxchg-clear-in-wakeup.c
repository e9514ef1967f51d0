/*
 * Variant: cmpxchg-clear-in-wakeup
 * Kind: writeback
 * Base: original
 * Source: Linus Torvalds, 25 Nov 2020 sketch, "Re: kernel BUG at
 *         fs/ext4/inode.c:LINE!"
 * Summary: PG_writeback cleared by cmpxchg when !PG_waiters, else at the end
 *          of wake_up_page_bit under the bucket lock
 * Expect: end_page_writeback_no_waiters call=1 cmpxchg=1 fcall=15 lock=1 percpu=8 percpu_cmpxchg=2 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=2 call=1 fcall=16 lock=2 percpu=8 percpu_cmpxchg=2 wakeups=1 walked=1 xa_mark=1.015625
 *
 * The sketch, as written: "we could make the rule be that the bit isn't
 * actually cleared before calling wake_up_page() at all": if PG_waiters is
 * clear, clear PG_writeback with a cmpxchg loop; "Otherwise, clear the bit
 * at the end - but under the page waitqueue lock - inside
 * wake_up_page_bit()", "just after the while-loop.  That's when we've woken
 * up everybody."  It is offered as the alternative to taking a reference,
 * so it takes none.
 *
 * Filled in: the writeback tag is still cleared under the i_pages lock,
 * before the bit (the sketch moves only the bit), and with it, as
 * test_clear_page_writeback() does, the bdi_writeback's counters and the
 * inode's place on the superblock's list; the lruvec, zone and node
 * counters follow, inside lock_page_memcg(), all before the bit is cleared.  The clearing wake is a
 * function of its own, wake_up_page_bit_clear(), for end_page_writeback()
 * alone: unlock_page() keeps its clear_bit_unlock_is_negative_byte() (the
 * sketch would move it too, "the cmpxchg loop would be the better model",
 * but does not say how).  The sketch's WARN_ON_ONCE() on a clear bit is
 * recorded as the BUG() of the code it replaces.  wake_before_clear and
 * wake_after_clear mark the two sides of the clear inside the walk's hold.
 */

static void wake_up_page_bit_clear(struct page *page, int bit_nr)
{
	wait_queue_head_t *q = page_waitqueue(page);
	struct wait_page_key key;
	unsigned long flags;
	wait_queue_entry_t bookmark;

	key.page = page;
	key.bit_nr = bit_nr;
	key.page_match = 0;

	bookmark.flags = 0;
	bookmark.private = NULL;
	bookmark.func = NULL;
	INIT_LIST_HEAD(&bookmark.entry);

	spin_lock_irqsave(&q->lock, flags);
	__wake_up_locked_key_bookmark(q, TASK_NORMAL, &key, &bookmark);

	while (bookmark.flags & WQ_FLAG_BOOKMARK) {
		/*
		 * Take a breather from holding the lock,
		 * allow pages that finish wake up asynchronously
		 * to acquire the lock and remove themselves
		 * from wait queue
		 */
		spin_unlock_irqrestore(&q->lock, flags);
		pagecore_window(wake_breather);
		cpu_relax();
		spin_lock_irqsave(&q->lock, flags);
		__wake_up_locked_key_bookmark(q, TASK_NORMAL, &key, &bookmark);
	}

	/* "clear the bit at the end - but under the page waitqueue lock" */
	pagecore_window(wake_before_clear);
	clear_bit(bit_nr, &page->flags);
	pagecore_window(wake_after_clear);

	/*
	 * It is possible for other pages to have collided on the waitqueue
	 * hash, so in that case check for a page match. That prevents a long-
	 * term waiter
	 *
	 * It is still possible to miss a case here, when we woke page waiters
	 * and removed them from the waitqueue, but there are still other
	 * page waiters.
	 */
	if (!waitqueue_active(q) || !key.page_match)
		ClearPageWaiters(page);
	spin_unlock_irqrestore(&q->lock, flags);
}

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

	if (PageReclaim(page)) {
		ClearPageReclaim(page);
		rotate_reclaimable_page(page);
	}

	mapping = page_mapping(page);
	memcg = lock_page_memcg(page);
	lruvec = mem_cgroup_page_lruvec(page, page_pgdat(page));
	if (mapping && mapping_use_writeback_tags(mapping)) {
		struct inode *inode = mapping->host;
		struct backing_dev_info *bdi = inode_to_bdi(inode);

		xa_lock_irqsave(&mapping->i_pages, flags);
		__xa_clear_mark(&mapping->i_pages, page_index(page),
				PAGECACHE_TAG_WRITEBACK);
		if (bdi->capabilities & BDI_CAP_WRITEBACK_ACCT) {
			struct bdi_writeback *wb = inode_to_wb(inode);

			dec_wb_stat(wb, WB_WRITEBACK);
			__wb_writeout_inc(wb);
		}
		if (mapping->host && !mapping_tagged(mapping,
						     PAGECACHE_TAG_WRITEBACK))
			sb_clear_inode_writeback(mapping->host);
		xa_unlock_irqrestore(&mapping->i_pages, flags);
	}
	dec_lruvec_state(lruvec, NR_WRITEBACK);
	dec_zone_page_state(page, NR_ZONE_WRITE_PENDING);
	inc_node_page_state(page, NR_WRITTEN);
	__unlock_page_memcg(memcg);

	flags = READ_ONCE(page->flags);
	// We can clear PG_writeback directly if PG_waiters isn't set
	while (!(flags & (1ul << PG_waiters))) {
		unsigned long new = flags & ~(1ul << PG_writeback);

		// PG_writeback was already clear??!!?
		if (WARN_ON_ONCE(new == flags)) {
			BUG();
			return;
		}
		new = cmpxchg(&page->flags, flags, new);
		if (likely(flags == new))
			return;
		flags = new;
	}

	// Otherwise, clear the bit at the end - but under the
	// page waitqueue lock - inside wake_up_page_bit()
	BUG_ON(!(flags & (1ul << PG_writeback)));
	wake_up_page_bit_clear(page, PG_writeback);
}
