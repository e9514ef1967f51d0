/*
 * Variant: original-5.8
 * Kind: writeback
 * Base: original
 * Source: 2a9127fcf229 ("mm: rewrite wait_on_page_bit_common() logic") (v5.8)
 * Summary: 5.8's wake and wait: the waker checks the bit and hands an
 *          exclusive waiter the lock (strict hand-off); the waiter never
 *          re-tests
 *
 * The generation between pre-5.8 and 5ef64cc8987a, for the tests of its
 * strict lock hand-off.  The waker's store of WQ_FLAG_WOKEN is a plain
 * store that the waiter reads without the queue lock, the kernel's own data
 * race in 2a9127fcf229, marked as such (5ef64cc8987a made it a
 * store-release).
 */

static int wake_page_function(wait_queue_entry_t *wait, unsigned mode, int sync, void *arg)
{
	int ret;
	struct wait_page_key *key = arg;
	struct wait_page_queue *wait_page
		= container_of(wait, struct wait_page_queue, wait);

	if (!wake_page_match(wait_page, key))
		return 0;

	/*
	 * If it's an exclusive wait, we get the bit for it, and
	 * stop walking if we can't.
	 *
	 * If it's a non-exclusive wait, then the fact that this
	 * wake function was called means that the bit already
	 * was cleared, and we don't care if somebody then
	 * re-took it.
	 */
	ret = 0;
	if (wait->flags & WQ_FLAG_EXCLUSIVE) {
		if (test_and_set_bit(key->bit_nr, &key->page->flags))
			return -1;
		ret = 1;
	}
	WRITE_ONCE(wait->flags, wait->flags | WQ_FLAG_WOKEN);

	wake_up_state(wait->private, mode);

	/*
	 * Ok, we have successfully done what we're waiting for,
	 * and we can unconditionally remove the wait entry.
	 *
	 * Note that this has to be the absolute last thing we do,
	 * since after list_del_init(&wait->entry) the wait entry
	 * might be de-allocated and the process might even have
	 * exited.
	 */
	list_del_init_careful(&wait->entry);
	return ret;
}

static inline bool trylock_page_bit_common(struct page *page, int bit_nr,
					struct wait_queue_entry *wait)
{
	if (wait->flags & WQ_FLAG_EXCLUSIVE) {
		if (test_and_set_bit(bit_nr, &page->flags))
			return false;
	} else if (test_bit(bit_nr, &page->flags))
		return false;

	wait->flags |= WQ_FLAG_WOKEN;
	return true;
}

static inline int wait_on_page_bit_common(wait_queue_head_t *q,
	struct page *page, int bit_nr, int state, enum behavior behavior)
{
	struct wait_page_queue wait_page;
	wait_queue_entry_t *wait = &wait_page.wait;

	init_wait(wait);
	wait->flags = behavior == EXCLUSIVE ? WQ_FLAG_EXCLUSIVE : 0;
	wait->func = wake_page_function;
	wait_page.page = page;
	wait_page.bit_nr = bit_nr;

	spin_lock_irq(&q->lock);
	SetPageWaiters(page);
	if (!trylock_page_bit_common(page, bit_nr, wait))
		__add_wait_queue_entry_tail(q, wait);
	spin_unlock_irq(&q->lock);

	/*
	 * From now on, all the logic will be based on
	 * the WQ_FLAG_WOKEN flag, and the and the page
	 * bit testing (and setting) will be - or has
	 * already been - done by the wake function.
	 *
	 * We can drop our reference to the page.
	 */
	if (behavior == DROP)
		put_page(page);
	pagecore_window(wait_queued);

	for (;;) {
		set_current_state(state);

		if (signal_pending_state(state, current))
			break;

		if (READ_ONCE(wait->flags) & WQ_FLAG_WOKEN)
			break;

		io_schedule();
	}

	finish_wait(q, wait);
	pagecore_window(wait_woken);

	/*
	 * A signal could leave PageWaiters set. Clearing it here if
	 * !waitqueue_active would be possible (by open-coding finish_wait),
	 * but still fail to catch it in the case of wait hash collision. We
	 * already can fail to clear wait hash collision cases, so don't
	 * bother with signals either.
	 */

	return wait->flags & WQ_FLAG_WOKEN ? 0 : -EINTR;
}
