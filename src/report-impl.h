/* report-impl.h - what the report-*.c files share: reading a batch's
 * records back from the journal (report.c). */
#ifndef VB_REPORT_IMPL_H
#define VB_REPORT_IMPL_H

#include "report.h"
#include "state.h"

typedef int (*report_record_fn)(void *ctx, item_record *it, vb_error *e);

/* One pass over a batch's records, in seq order: fn for each (the record
 * is cleared after it). An item whose journal status this vbatch does not
 * know counts as unknown, with or without a record. */
int report_each_record(state *st, const char *id, report_record_fn fn, void *ctx,
                       vb_error *e);
/* A report_record_fn adding each record to the report_counts ctx. */
int report_count_one(void *ctx, item_record *it, vb_error *e);

#include <jansson.h>

/* The settings as preset_write gives them, as a JSON tree (the caller
 * owns it). */
json_t *report_config_json(const vb_config *c);

#endif
