/*
 * pagecore/kernel/include/pagecore/ops.h: the table a variant's shared
 * object exports (pagecore_variant_ops), and the harness's calls through it.
 *
 * The composer ends every variant's unit with ops_table.h, which fills the
 * table from ops.def with the variant's own functions.  The harness keeps
 * one table pointer per build (pc_ops_cur), set when the model is
 * configured, and calls each operation under its kernel name through it:
 * every variant of one comparison runs the same harness code around its own
 * functions, one indirect call per operation.
 */
#ifndef PAGECORE_OPS_H
#define PAGECORE_OPS_H

/* Bumped whenever struct pc_ops or a shared structure changes, so that a
   stale cached object is refused, not called. */
#define PC_OPS_ABI 2

struct pc_ops {
    unsigned int abi;
    unsigned int page_size;         /* sizeof(struct page) as the variant saw it */
    const char *name;
    int pg_writeback;               /* the variant's flag layout (Page-flags:) */
    int pg_dirty;
#define PC_OP(ret, name, params, args) ret (*name) params;
#define PC_OPV(name, params, args) void (*name) params;
#include "ops.def"
};

#ifndef PAGECORE_VARIANT
static const struct pc_ops *pc_ops_cur;

/* Each call is counted (instrumented build): the event `call`. */
#define PC_OP(ret, name, params, args)                                         \
    static inline ret name params                                              \
    {                                                                          \
        pc_ev(PC_EV_CALL);                                                     \
        return pc_ops_cur->name args;                                          \
    }
#define PC_OPV(name, params, args)                                             \
    static inline void name params                                             \
    {                                                                          \
        pc_ev(PC_EV_CALL);                                                     \
        pc_ops_cur->name args;                                                 \
    }
#define PC_OPX(ret, name, params, args)                                        \
    static inline ret pc_op_##name params                                      \
    {                                                                          \
        pc_ev(PC_EV_CALL);                                                     \
        return pc_ops_cur->name args;                                          \
    }
#define PC_OPVX(name, params, args)                                            \
    static inline void pc_op_##name params                                     \
    {                                                                          \
        pc_ev(PC_EV_CALL);                                                     \
        pc_ops_cur->name args;                                                 \
    }
#include "ops.def"
#endif

#endif /* PAGECORE_OPS_H */
