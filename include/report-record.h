/* report-record.h - the item record's field table and the three things it
 * drives: the report writer (batch_report.json, results.csv), the journal
 * encoder (one compact JSON line per item in OUT/.vbatch/state.db) and its
 * decoder. Each field says, per output, its key, the object it sits in and
 * when it is written; an output that does not name a field leaves it out. */
#ifndef VB_REPORT_RECORD_H
#define VB_REPORT_RECORD_H

#include "report.h"
#include "writer.h"

#include <stddef.h>

/* How a field is stored in item_record. */
enum report_ftype {
    RF_I64,       /* int64_t */
    RF_INT,       /* int */
    RF_BOOL,      /* bool */
    RF_DOUBLE,    /* double, NaN: not measured */
    RF_STR,       /* char *, NULL: none */
    RF_LIST,      /* vb_strlist */
    RF_STATUS,    /* int, enum item_status: the report shows its name */
    RF_VERDICT,   /* int, enum rule_verdict: the report shows its name */
    RF_STAGE,     /* int, enum item_stage: the report shows its name */
    RF_KIND,      /* int, enum item_kind: the report shows its name */
    RF_CHECKS,    /* rule_report */
    RF_TIMES,     /* double[STAGE_COUNT] */
};

/* When a field is written (else left out, or null with RFL_NULL). */
enum report_when {
    RW_ALWAYS,
    RW_SET,       /* the string is set */
    RW_POSITIVE,  /* the number is above 0 */
    RW_SINCE,     /* the item is unchanged since an earlier batch */
    RW_GEN,       /* a generated item (gen.id set) */
    RW_VERDICT,   /* the status has a verdict (neither failed nor unknown) */
    RW_SKIPPED,   /* status skipped */
    RW_FAILED,    /* status failed */
    RW_ANALYSED,  /* the decode analysis ran */
    RW_FIXED,     /* the fix stage ran (fix set) */
};

/* The object a field sits in (each output names them: report_group_key). */
enum report_group { RG_TOP, RG_ANALYSIS, RG_SECONDS, RG_GEN, RG_COUNT };

enum {
    RFL_NULL = 1,     /* when not written: null rather than left out */
    RFL_MIN1 = 2,     /* an integer shown as at least 1 */
    RFL_MICRO = 4,    /* a double rounded to 1e-6 (else 1e-4) */
};

/* One output's view of a field. */
typedef struct report_view {
    const char *key;          /* NULL: not in this output */
    unsigned char group;      /* enum report_group */
    unsigned char when;       /* enum report_when */
    unsigned char flags;      /* RFL_* */
} report_view;

/* The table is in the report's order; jpos is the field's place among
 * the journal line's keys (older journals are read by key, but the line
 * written stays the same bytes). */
typedef struct report_field {
    unsigned char type;       /* enum report_ftype */
    size_t off;               /* in item_record */
    report_view report, journal;
    int jpos;
} report_field;

extern const report_field report_fields[];
extern const size_t report_nfields;
/* The key of group g in the report (journal false) or the journal. */
const char *report_group_key(int g, bool journal);

/* The record's fields into w, inside an object the caller opened. Every
 * item writes the same keys (null when unknown): the CSV header is taken
 * from the first row. */
void report_record_write(const item_record *it, writer *w);
/* One compact JSON text for the journal (caller frees). */
char *report_record_encode(const item_record *it);
/* The same with jansson alone, for the tests (see the decoder's below). */
char *report_record_encode_jansson(const item_record *it);
/* A journal line back into *it (cleared first); -1 if it is not JSON. */
int report_record_decode(const char *line, item_record *it);
/* The same with jansson alone: what the fast path of report_record_decode
 * (records as the encoder writes them) must agree with; for the tests. */
int report_record_decode_jansson(const char *line, item_record *it);
/* Add one record to counts. */
void report_counts_add(report_counts *c, const item_record *it);

#endif
