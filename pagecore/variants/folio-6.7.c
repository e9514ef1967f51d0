/*
 * Variant: folio-6.7
 * Kind: writeback
 * Base: original
 * Source: 2580d554585c (v6.7)
 * Summary: folio_get; i_pages lock; folio_xor_flags_has_waiters
 *          (PG_writeback bit 1); unlock; folio_wake_bit without bookmarks;
 *          folio_put
 * Page-flags: 6.6
 * Expect: end_page_writeback_no_waiters atomic_rmw=3 lock=1
 * Expect: end_page_writeback_queued_waiter atomic_rmw=4 lock=2 walked=1 wakeups=1
 *
 * v6.7's mm/page-writeback.c and mm/filemap.c, with the compatibility
 * wrappers of mm/folio-compat.c that the model's callers go through.
 * Since 6.6 PG_writeback is bit 1, in the byte of PG_waiters (bit 7), so
 * __folio_end_writeback() clears it and learns PG_waiters in one xor of the
 * low byte (folio_xor_flags_has_waiters(), release order).  The wake walks
 * the whole bucket: 6.7 removed the wait-queue bookmarks.  The wait loops
 * while PG_writeback is set (c2407cf7d22d).  folio_wait_bit_common() is
 * 5.9's wait_on_page_bit_common() under folio names (the library's);
 * wake_page_function() likewise.  ewb_after_clear marks the end of
 * __folio_end_writeback(): PG_writeback clear, the wake not yet begun.
 */

static void folio_wake_bit(struct folio *folio, int bit_nr)
{
	wait_queue_head_t *q = folio_waitqueue(folio);
	struct wait_page_key key;
	unsigned long flags;

	key.page = &folio->page;
	key.bit_nr = bit_nr;
	key.page_match = 0;

	spin_lock_irqsave(&q->lock, flags);
	__wake_up_locked_key(q, TASK_NORMAL, &key);

	/*
	 * It's possible to miss clearing waiters here, when we woke our page
	 * waiters, but the hashed waitqueue has waiters for other pages on it.
	 * That's okay, it's a rare case. The next waker will clear it.
	 *
	 * Note that, depending on the page pool (buddy, hugetlb, ZONE_DEVICE,
	 * other), the flag may be cleared in the course of freeing the page;
	 * but that is not required for correctness.
	 */
	if (!waitqueue_active(q) || !key.page_match)
		folio_clear_waiters(folio);

	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * folio_unlock - Unlock a locked folio.
 * @folio: The folio.
 *
 * Unlocks the folio and wakes up any thread sleeping on the page lock.
 *
 * Context: May be called from interrupt or process context.  May not be
 * called from NMI context.
 */
void folio_unlock(struct folio *folio)
{
	/* Bit 7 allows x86 to check the byte's sign bit */
	BUILD_BUG_ON(PG_waiters != 7);
	BUILD_BUG_ON(PG_locked > 7);
	if (folio_xor_flags_has_waiters(folio, 1 << PG_locked))
		folio_wake_bit(folio, PG_locked);
}

bool __folio_end_writeback(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);
	bool ret;

	if (mapping && mapping_use_writeback_tags(mapping)) {
		unsigned long flags;

		xa_lock_irqsave(&mapping->i_pages, flags);
		ret = folio_xor_flags_has_waiters(folio, 1 << PG_writeback);
		__xa_clear_mark(&mapping->i_pages, folio_index(folio),
					PAGECACHE_TAG_WRITEBACK);
		xa_unlock_irqrestore(&mapping->i_pages, flags);
	} else {
		ret = folio_xor_flags_has_waiters(folio, 1 << PG_writeback);
	}
	pagecore_window(ewb_after_clear);

	return ret;
}

/**
 * folio_end_writeback - End writeback against a folio.
 * @folio: The folio.
 *
 * The folio must actually be under writeback.
 *
 * Context: May be called from process or interrupt context.
 */
void folio_end_writeback(struct folio *folio)
{
	VM_BUG_ON_FOLIO(!folio_test_writeback(folio), folio);

	/*
	 * folio_test_clear_reclaim() could be used here but it is an
	 * atomic operation and overkill in this particular case. Failing
	 * to shuffle a folio marked for immediate reclaim is too mild
	 * a gain to justify taking an atomic operation penalty at the
	 * end of every folio writeback.
	 */
	if (folio_test_reclaim(folio)) {
		folio_clear_reclaim(folio);
		folio_rotate_reclaimable(folio);
	}

	/*
	 * Writeback does not hold a folio reference of its own, relying
	 * on truncation to wait for the clearing of PG_writeback.
	 * But here we must make sure that the folio is not freed and
	 * reused before the folio_wake_bit().
	 */
	folio_get(folio);
	if (__folio_end_writeback(folio))
		folio_wake_bit(folio, PG_writeback);
	acct_reclaim_writeback(folio);
	folio_put(folio);
}

/*
 * Wait for a folio to finish writeback.
 */
void folio_wait_bit(struct folio *folio, int bit_nr)
{
	folio_wait_bit_common(folio, bit_nr, TASK_UNINTERRUPTIBLE, SHARED);
}

/**
 * folio_wait_writeback - Wait for a folio to finish writeback.
 * @folio: The folio to wait for.
 *
 * If the folio is currently being written back to storage, wait for the
 * I/O to complete.
 *
 * Context: Sleeps.  Must be called in process context and with
 * no spinlocks held.  Caller should hold a reference on the folio.
 * If the folio is not locked, writeback may start again after writeback
 * has finished.
 */
void folio_wait_writeback(struct folio *folio)
{
	while (folio_test_writeback(folio)) {
		trace_folio_wait_writeback(folio, folio_mapping(folio));
		folio_wait_bit(folio, PG_writeback);
	}
}

/* mm/folio-compat.c: the page names the model's callers use. */
void end_page_writeback(struct page *page)
{
	return folio_end_writeback(page_folio(page));
}

void wait_on_page_writeback(struct page *page)
{
	return folio_wait_writeback(page_folio(page));
}

void unlock_page(struct page *page)
{
	return folio_unlock(page_folio(page));
}

void wait_on_page_bit(struct page *page, int bit_nr)
{
	return folio_wait_bit(page_folio(page), bit_nr);
}

/* Not in 6.7 (folio_wake_bit() is static there): the harness's name for it. */
void wake_up_page_bit(struct page *page, int bit_nr)
{
	folio_wake_bit(page_folio(page), bit_nr);
}
