/*
 * Variant: clear-under-waitqueue-lock-cmpxchg-two-holds
 * Kind: writeback
 * Base: clear-under-waitqueue-lock-cmpxchg
 * Source: the other fill-in of clear-under-waitqueue-lock-cmpxchg (see its
 *         file): the 2020 loop always tried first (proposal)
 * Summary: as clear-under-waitqueue-lock-cmpxchg, but without the plain
 *          PG_waiters test: the cmpxchg loop always runs first under
 *          i_pages, so the waiter path holds i_pages twice
 *
 * The 2020 mail tries the cmpxchg loop before anything else: "We can clear
 * PG_writeback directly if PG_waiters isn't set".  With the writeback tag
 * cleared in the same i_pages hold as the bit (as 6.7 does), a folio with
 * waiters takes that hold once for the loop that finds PG_waiters set, and
 * again inside the bucket lock for 6.7's __folio_end_writeback().  The
 * shipped variant adds folio_test_waiters() in front to skip the first
 * hold; this file keeps the mail's order, to measure what the test saves.
 */

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
	if (folio_clear_writeback_unless_waiters(folio, folio_mapping(folio))) {
		pagecore_window(ewb_after_clear);
		goto out;
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
