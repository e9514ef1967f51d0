/*
 * Variant: loop-break-on-mapping-change
 * Kind: writeback
 * Base: folio-6.7
 * Source: Matthew Wilcox, 30 Sep 2024, same linux-fsdevel thread
 *         (proposal)
 * Summary: folio-6.7, and the folio_wait_writeback loop ends when
 *          folio->mapping differs from the mapping seen when the wait began
 * Expect: end_page_writeback_no_waiters atomic_rmw=3 call=1 fcall=17 lock=1 percpu=8 percpu_cmpxchg=2 tailcall=1 xa_mark=1.015625
 * Expect: end_page_writeback_queued_waiter atomic_rmw=4 call=1 fcall=18 lock=2 percpu=8 percpu_cmpxchg=2 tailcall=1 wakeups=1 walked=1 xa_mark=1.015625
 *
 * "Could we break out if folio->mapping has changed?  Clearly if it has,
 * we're no longer waiting for the folio we thought we were waiting for".
 * His sketch: folio_wait_writeback() passes folio->mapping, read once on
 * entry, to __folio_wait_writeback(), which loops `while
 * (folio_test_writeback(folio) && folio->mapping == mapping)`.
 *
 * Filled: both reads of ->mapping are loads of the pointer with no lock
 * and no barrier of their own (Davidlohr Bueso asked for READ_ONCE() in
 * reply); the model loads it as it loads ->mapping everywhere
 * (folio_mapping(), an acquire load, a plain mov on x86).  The re-read
 * comes after the writeback test, as written, so a waiter woken after
 * truncation re-tests the bit first.
 */

static void __folio_wait_writeback(struct folio *folio, struct address_space *mapping)
{
	while (folio_test_writeback(folio) && folio_mapping(folio) == mapping) {
		trace_folio_wait_writeback(folio, mapping);
		folio_wait_bit(folio, PG_writeback);
	}
}

void folio_wait_writeback(struct folio *folio)
{
	__folio_wait_writeback(folio, folio_mapping(folio));
}
