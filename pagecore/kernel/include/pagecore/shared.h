/*
 * pagecore/kernel/include/pagecore/shared.h: the state a variant's code and
 * the harness share.
 *
 * A variant is built at run time into a shared object of its own (see
 * pagecore/model/build.py) that the harness, the compiled Cython module,
 * loads.  What both sides touch lives once, in the harness: the page wait
 * table, the allocator, the tasks, the event counters, the explorer's
 * scheduling point, the race-point gates, the bug log.  The harness
 * defines these with default visibility and promotes its symbols to global
 * scope before it loads a variant (RTLD_GLOBAL); the variant's object
 * declares them extern and the dynamic linker binds them.  The timed and
 * the instrumented harness are loaded side by side, so each name carries
 * the build's prefix (PC_SYM): a variant built for the instrumented harness
 * binds to that one's state only.
 *
 * PAGECORE_VARIANT is defined when a variant is built; otherwise this is
 * the harness.
 */
#ifndef PAGECORE_SHARED_H
#define PAGECORE_SHARED_H

#ifdef PAGECORE_INSTRUMENT
#define PC_SYM(n) pagecore_i_##n
#else
#define PC_SYM(n) pagecore_t_##n
#endif

#ifdef PAGECORE_VARIANT
#define PC_SHARED extern __attribute__((visibility("default")))
#define PC_INIT(...)
#else
#define PC_SHARED __attribute__((visibility("default")))
#define PC_INIT(...) = __VA_ARGS__
#endif
/* A function the harness defines and a variant calls. */
#define PC_SHARED_FN __attribute__((visibility("default")))

/* Data. */
#define pc_events PC_SYM(pc_events)
#define pc_thread_events PC_SYM(pc_thread_events)
#define pc_abort PC_SYM(pc_abort)
#define pc_current_task PC_SYM(pc_current_task)
#define pc_x_active PC_SYM(pc_x_active)
#define page_wait_table PC_SYM(page_wait_table)
#define PAGE_WAIT_TABLE_BITS PC_SYM(PAGE_WAIT_TABLE_BITS)
#define sysctl_page_lock_unfairness PC_SYM(sysctl_page_lock_unfairness)
#define pc_wt PC_SYM(pc_wt)
#define pc_dirty PC_SYM(pc_dirty)
#define pc_lock_hold PC_SYM(pc_lock_hold)
#define pc_vm PC_SYM(pc_vm)
#define pc_vm_gen PC_SYM(pc_vm_gen)
#define pc_chain_cold PC_SYM(pc_chain_cold)
/* Functions. */
#define pc_task_attach PC_SYM(pc_task_attach)
#define pc_bug_op PC_SYM(pc_bug_op)
#define alloc_page PC_SYM(alloc_page)
#define __free_page PC_SYM(__free_page)
#define pc_wait_unwind PC_SYM(pc_wait_unwind)
#define pc_percpu_init PC_SYM(pc_percpu_init)
#ifdef PAGECORE_INSTRUMENT
#define pc_x_point PC_SYM(pc_x_point)
#define pc_x_note PC_SYM(pc_x_note)
#define pc_x_note_bit PC_SYM(pc_x_note_bit)
#define pc_race PC_SYM(pc_race)
#define pc_touch_addr PC_SYM(pc_touch_addr)
#endif

#endif /* PAGECORE_SHARED_H */
