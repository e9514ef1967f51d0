/*
 * Variant: clear-under-waitqueue-lock-cmpxchg
 * Kind: writeback
 * Base: clear-under-waitqueue-lock
 * Source: Linus Torvalds, 25 Nov 2020 ("Re: kernel BUG at
 *         fs/ext4/inode.c:LINE!") and 30 Sep 2024 (linux-fsdevel "Known and
 *         unfixed active data loss bug in MM + XFS with large folios since
 *         Dec 2021"), completed (proposal)
 * Summary: folio_get; no PG_waiters: clear by cmpxchg against PG_waiters,
 *          tag and bit in one i_pages hold; PG_waiters: bucket lock, 6.7's
 *          clear under it, walk and wake under the same hold; folio_put;
 *          `if (PageWriteback)` wait
 * Expect: end_page_writeback_no_waiters atomic_rmw=2 call=1 cmpxchg=1 fcall=16 lock=1 percpu=8 percpu_cmpxchg=2 tailcall=1 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=4 call=1 fcall=18 lock=2 percpu=8 percpu_cmpxchg=2 tailcall=1 wakeups=1 walked=1 xa_mark=1.015625
 *
 * Each of the two mails, modelled as written, leaves a window (see
 * cmpxchg-clear-in-wakeup.c and clear-under-waitqueue-lock.c): the 2020
 * sketch clears the bit after the walk, so a woken waiter can look before
 * the clear; the 2024 one tests PG_waiters with a plain load before it
 * takes the bucket lock, so a waiter can queue between the test and the
 * clear and be woken outside the lock.  Put together, the decision to clear
 * without the lock is made atomically against PG_waiters, by the 2020 loop:
 *
 *  - no waiters: "flags = READ_ONCE(page->flags); while (!(flags &
 *    PG_waiters)) { new = flags & ~PG_writeback; ... cmpxchg ... }".  The
 *    cmpxchg fails if a waiter set PG_waiters meanwhile, so "no waiters"
 *    and the clear are one atomic step;
 *  - waiters: the 2024 idea: the bucket lock first, PG_writeback cleared
 *    under it (6.7's __folio_end_writeback(), unchanged), the waiters woken
 *    under the same hold and PG_waiters cleared if none is left, as
 *    folio_wake_bit() does.  A new waiter takes the bucket lock to queue:
 *    it queued before the clear (and is woken for this writeback) or it
 *    tests the bit after the unlock;
 *  - folio_get()/folio_put() around it, as 6.7.  The wait is an `if`, as in
 *    clear-under-waitqueue-lock (the base).
 *
 * Filled in from 6.7, which the mails leave open:
 *  - The writeback tag.  6.7 clears the bit and the tag in one hold of the
 *    i_pages lock; both paths here do too.  The cmpxchg loop runs inside
 *    that hold, so the tag is cleared only when the bit was; the locked path
 *    is 6.7's __folio_end_writeback() whole, i_pages nested inside the
 *    bucket lock (no path of this variant nests them the other way).
 *  - The statistics.  The loop's path keeps them as 6.7's
 *    __folio_end_writeback() does, once the cmpxchg has cleared the bit:
 *    folio_memcg_lock() around the hold, the bdi_writeback's counters and
 *    the inode's list inside it, the lruvec, zone and node counters after
 *    it.  On the locked path they are __folio_end_writeback()'s own, so they
 *    run under the bucket lock, which the waiters' wake then holds longer.
 *  - One i_pages hold on the waiter path.  folio_test_waiters() first, a
 *    plain test as 6.7's callers make it, sends a folio whose waiters are
 *    already queued straight to the locked path.  It only picks the path:
 *    the cmpxchg still decides, and a waiter that queues after the test
 *    makes it fail, which costs that rare end a second i_pages hold.  The
 *    other fill-in, the loop tried first under i_pages with no test (the
 *    waiter path then takes the lock twice, always), is
 *    docs/examples/clear-under-waitqueue-lock-cmpxchg-two-holds.c.
 *  - "PG_writeback was already clear??!!?" is the sketch's WARN_ON_ONCE();
 *    6.7's VM_BUG_ON_FOLIO() at the top of folio_end_writeback() has
 *    already reported it, and the loop leaves the flags as they are.
 *
 * Windows: ewb_waiters_tested between the test and the loop,
 * ewb_after_clear after a clear (under the bucket lock on the waiter path,
 * from the base's __folio_end_writeback()).
 */

/*
 * The 2020 loop inside one hold of the i_pages lock: true if it cleared
 * PG_writeback (and then the writeback tag), false if PG_waiters is set.
 */
static bool folio_clear_writeback_unless_waiters(struct folio *folio,
						 struct address_space *mapping)
{
	bool tags = mapping && mapping_use_writeback_tags(mapping);
	long nr = folio_nr_pages(folio);
	unsigned long irqflags, flags;
	bool cleared = false;

	folio_memcg_lock(folio);
	if (tags)
		xa_lock_irqsave(&mapping->i_pages, irqflags);
	flags = READ_ONCE(folio->flags);
	// We can clear PG_writeback directly if PG_waiters isn't set
	while (!(flags & (1ul << PG_waiters))) {
		unsigned long new = flags & ~(1ul << PG_writeback);

		// PG_writeback was already clear??!!?
		if (WARN_ON_ONCE(new == flags)) {
			cleared = true;
			break;
		}
		new = cmpxchg(&folio->flags, flags, new);
		if (likely(flags == new)) {
			cleared = true;
			break;
		}
		flags = new;
	}
	if (cleared && tags) {
		struct inode *inode = mapping->host;
		struct backing_dev_info *bdi = inode_to_bdi(inode);

		__xa_clear_mark(&mapping->i_pages, folio_index(folio),
				PAGECACHE_TAG_WRITEBACK);
		if (bdi->capabilities & BDI_CAP_WRITEBACK_ACCT) {
			struct bdi_writeback *wb = inode_to_wb(inode);

			wb_stat_mod(wb, WB_WRITEBACK, -nr);
			__wb_writeout_add(wb, nr);
			if (!mapping_tagged(mapping, PAGECACHE_TAG_WRITEBACK))
				wb_inode_writeback_end(wb);
		}

		if (mapping->host && !mapping_tagged(mapping,
						     PAGECACHE_TAG_WRITEBACK))
			sb_clear_inode_writeback(mapping->host);
	}
	if (tags)
		xa_unlock_irqrestore(&mapping->i_pages, irqflags);
	if (cleared) {
		lruvec_stat_mod_folio(folio, NR_WRITEBACK, -nr);
		zone_stat_mod_folio(folio, NR_ZONE_WRITE_PENDING, -nr);
		node_stat_mod_folio(folio, NR_WRITTEN, nr);
	}
	folio_memcg_unlock(folio);
	return cleared;
}

void folio_end_writeback(struct folio *folio)
{
	wait_queue_head_t *q;
	unsigned long flags;

	VM_BUG_ON_FOLIO(!folio_test_writeback(folio), folio);

	if (folio_test_reclaim(folio)) {
		folio_clear_reclaim(folio);
		folio_rotate_reclaimable(folio);
	}

	folio_get(folio);
	if (!folio_test_waiters(folio)) {
		pagecore_window(ewb_waiters_tested);
		if (folio_clear_writeback_unless_waiters(folio, folio_mapping(folio))) {
			pagecore_window(ewb_after_clear);
			goto out;
		}
		/* a waiter queued since the test: the locked path */
	}

	q = folio_waitqueue(folio);
	spin_lock_irqsave(&q->lock, flags);
	if (__folio_end_writeback(folio))
		folio_wake_bit_locked(q, folio, PG_writeback);
	spin_unlock_irqrestore(&q->lock, flags);
out:
	acct_reclaim_writeback(folio);
	folio_put(folio);
}
