/*
 * Variant: clear-under-waitqueue-lock
 * Kind: writeback
 * Base: folio-6.7
 * Source: Linus Torvalds, 30 Sep 2024, linux-fsdevel "Known and unfixed
 *         active data loss bug in MM + XFS with large folios since Dec
 *         2021" (proposal)
 * Summary: folio_get; if PG_waiters: bucket lock, then 6.7's
 *          __folio_end_writeback (i_pages lock inside), walk and wake
 *          under the same hold; else as 6.7; folio_put; `if
 *          (PageWriteback)` wait
 * Expect: end_page_writeback_no_waiters atomic_rmw=3 call=1 fcall=17 lock=1 percpu=8 percpu_cmpxchg=2 tailcall=1 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=4 call=1 fcall=18 lock=2 percpu=8 percpu_cmpxchg=2 tailcall=1 wakeups=1 walked=1 xa_mark=1.015625
 *
 * "the basic reason for that loop ... is that the folio writeback bit is
 * not atomic wrt the wakeup.  Maybe we could *make* it atomic, by simply
 * taking the folio waitqueue lock before clearing the bit?  (Only if it has
 * the "waiters" bit set, of course!)"  Waiters then wait with an `if`.
 *
 * The mail is a sketch ("Handwavy"); what it leaves open is filled from
 * 6.7:
 *  - The test is folio_test_waiters(), a plain test_bit before any lock.
 *  - Set: the bucket lock (folio_waitqueue(), the lock folio_wake_bit()
 *    takes) is taken first, then 6.7's __folio_end_writeback() runs
 *    unchanged inside it, so the i_pages lock nests inside the bucket lock
 *    and is held only around the xor and the tag, as in 6.7; the walk and
 *    the PG_waiters clean-up of folio_wake_bit() follow under the same
 *    hold, and the lock is dropped only after them.  No path takes the
 *    bucket lock under the i_pages lock in this variant, so the nesting
 *    cannot deadlock.  If the xor says the waiters went meanwhile (another
 *    waker cleared PG_waiters), there is nobody to walk for, as in 6.7.
 *  - Not set: exactly 6.7.  If PG_waiters is set between the test and the
 *    clear (a waiter queues there), the xor reports it and folio_wake_bit()
 *    runs after the clear, outside any lock held across it: the same
 *    window as 6.7's, now with waiters that do not loop.
 *    ewb_waiters_tested marks the window between the test and the clear.
 *  - folio_get()/folio_put() around it all, as 6.7.
 */

/* folio_wake_bit() for a caller that holds the bucket lock already. */
static void folio_wake_bit_locked(wait_queue_head_t *q, struct folio *folio, int bit_nr)
{
	struct wait_page_key key;

	key.page = &folio->page;
	key.bit_nr = bit_nr;
	key.page_match = 0;

	__wake_up_locked_key(q, TASK_NORMAL, &key);
	if (!waitqueue_active(q) || !key.page_match)
		folio_clear_waiters(folio);
}

void folio_end_writeback(struct folio *folio)
{
	VM_BUG_ON_FOLIO(!folio_test_writeback(folio), folio);

	if (folio_test_reclaim(folio)) {
		folio_clear_reclaim(folio);
		folio_rotate_reclaimable(folio);
	}

	folio_get(folio);
	if (folio_test_waiters(folio)) {
		wait_queue_head_t *q = folio_waitqueue(folio);
		unsigned long flags;

		spin_lock_irqsave(&q->lock, flags);
		/* bit clear, bucket lock held: no waiter can look */
		if (__folio_end_writeback(folio))
			folio_wake_bit_locked(q, folio, PG_writeback);
		spin_unlock_irqrestore(&q->lock, flags);
	} else {
		pagecore_window(ewb_waiters_tested);
		if (__folio_end_writeback(folio))
			folio_wake_bit(folio, PG_writeback);
	}
	acct_reclaim_writeback(folio);
	folio_put(folio);
}

/* The clear is atomic with the wake, so a woken waiter need not loop. */
void folio_wait_writeback(struct folio *folio)
{
	if (folio_test_writeback(folio)) {
		trace_folio_wait_writeback(folio, folio_mapping(folio));
		folio_wait_bit(folio, PG_writeback);
	}
}
