/*
 * pagecore/kernel/include/pagecore/ops_table.h: the last lines of every
 * composed variant: its table of operations, exported under one name.
 */
#define PC_OP(ret, name, params, args) .name = name,
#define PC_OPV(name, params, args) .name = name,
__attribute__((visibility("default"))) const struct pc_ops pagecore_variant_ops = {
    .abi = PC_OPS_ABI,
    .page_size = sizeof(struct page),
    .name = PAGECORE_VARIANT_NAME,
    .pg_writeback = PG_writeback,
    .pg_dirty = PG_dirty,
#include "ops.def"
};
