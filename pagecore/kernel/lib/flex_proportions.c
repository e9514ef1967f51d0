// SPDX-License-Identifier: GPL-2.0
/*
 * pagecore/kernel/lib/flex_proportions.c: the per-CPU flavour of the
 * floating proportions, as lib/flex_proportions.c has it at v5.10: each
 * completed writeout counts into its bdi_writeback's share and into the
 * domain's total (__wb_writeout_inc(), mm/page-writeback.c).
 *
 * Left out: the aging of a share when the period has turned over since its
 * last event.  The period turns over from a timer (writeout_period()),
 * which never runs in the model, so that path is never taken.
 */

#define PROP_BATCH (8*(1+ilog2(nr_cpu_ids)))

static void fprop_reflect_period_percpu(struct fprop_global *p,
					struct fprop_local_percpu *pl)
{
	unsigned int period = p->period;
	unsigned long flags;

	/* Fast path - period didn't change */
	if (pl->period == period)
		return;
	raw_spin_lock_irqsave(&pl->lock, flags);
	/* Someone updated pl->period while we were spinning? */
	if (pl->period >= period) {
		raw_spin_unlock_irqrestore(&pl->lock, flags);
		return;
	}
	/* the aging of the share: left out (see above) */
	pl->period = period;
	raw_spin_unlock_irqrestore(&pl->lock, flags);
}

/* Event of type pl happened */
void __fprop_inc_percpu(struct fprop_global *p, struct fprop_local_percpu *pl)
{
	fprop_reflect_period_percpu(p, pl);
	percpu_counter_add_batch(&pl->events, 1, PROP_BATCH);
	percpu_counter_add(&p->events, 1);
}

/*
 * Like __fprop_inc_percpu() except that event is counted only if the given
 * type has fraction smaller than @max_frac/FPROP_FRAC_BASE
 */
void __fprop_inc_percpu_max(struct fprop_global *p,
			    struct fprop_local_percpu *pl, int max_frac)
{
	if (unlikely(max_frac < FPROP_FRAC_BASE)) {
		/*
		 * fprop_fraction_percpu() and the cap: left out, as the
		 * model's bdi keeps the default max_prop_frac (FPROP_FRAC_BASE).
		 */
	}

	__fprop_inc_percpu(p, pl);
}
