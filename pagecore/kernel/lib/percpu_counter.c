// SPDX-License-Identifier: GPL-2.0
/*
 * pagecore/kernel/lib/percpu_counter.c: the batching per-CPU counter, as
 * lib/percpu_counter.c has it at v5.10 (the wb's writeback statistics and
 * the writeout proportions count with it).  A count moves into the shared
 * fbc->count, under fbc->lock, each time this CPU's part reaches the batch:
 * that step is one `fold` (pagecore/vmstat.h, raw_spin_lock()).
 */

/**
 * This function is both preempt and irq safe. The former is due to explicit
 * preemption disable. The latter is guaranteed by the fact that the slow path
 * is explicitly protected by an irq-safe spinlock whereas the fast patch uses
 * this_cpu_add which is irq-safe by definition. Hence there is no need muck
 * with irq state before calling this one
 */
void percpu_counter_add_batch(struct percpu_counter *fbc, s64 amount, s32 batch)
{
	s64 count;

	preempt_disable();
	count = __this_cpu_read(*fbc->counters) + amount;
	if (abs(count) >= batch) {
		unsigned long flags;
		raw_spin_lock_irqsave(&fbc->lock, flags);
		fbc->count += count;
		__this_cpu_sub(*fbc->counters, count - amount);
		raw_spin_unlock_irqrestore(&fbc->lock, flags);
	} else {
		this_cpu_add(*fbc->counters, amount);
	}
	preempt_enable();
}
