/* report.h - per-item records and the summary reports built from them.
 * Records are appended to a spool file in OUT/.vbatch/ as they are made
 * (so memory stays flat however many items there are) and the summary
 * files are produced from the spool at the end of the batch. */
#ifndef VB_REPORT_H
#define VB_REPORT_H

#include "vbatch.h"
#include "preset.h"
#include "rules.h"
#include "probe.h"

enum item_status { ITEM_DONE, ITEM_QC_FAILED, ITEM_FAILED, ITEM_SKIPPED };

/* Stages, for timings and error attribution. */
enum item_stage { STAGE_DISCOVER, STAGE_FETCH, STAGE_PROBE, STAGE_CHECK,
                  STAGE_PUBLISH, STAGE_RECORD, STAGE_COUNT };
const char *report_stage_name(int stage);
const char *report_status_name(int status);

typedef struct item_record {
    int64_t seq;           /* position in the batch, from 1 */
    char *source;          /* path or URL as found */
    char *folder;          /* item folder name under OUT, NULL if none */
    char *video;           /* placed video, relative to OUT, or NULL */
    int status;            /* enum item_status */
    int verdict;           /* enum rule_verdict (for done/qc_failed) */
    int error_stage;       /* enum item_stage when failed */
    char *error;           /* message when failed */
    vb_strlist failed_rules, warned_rules;
    /* key figures (0/NAN/NULL when unknown) */
    char *container, *video_codec, *audio_codec;
    double duration, fps;
    int width, height;     /* displayed */
    int64_t size, bit_rate, bytes_read;
    double stage_time[STAGE_COUNT];
} item_record;

void item_record_clear(item_record *r);

typedef struct report report;

typedef struct report_batch_info {
    const char *batch_id;
    const char *command_line;
    const vb_config *config;      /* effective preset (borrowed) */
    const vb_strlist *inputs;     /* PATHs and list files as given */
} report_batch_info;

/* Open the spool for a new batch in out_dir. */
report *report_open(const char *out_dir, const report_batch_info *info,
                    vb_error *e);
/* Append one item (items must arrive in seq order). */
int report_add(report *r, const item_record *it, vb_error *e);
/* Counts so far. */
typedef struct report_counts {
    int64_t total, done, qc_failed, failed, skipped, warned;
    int64_t bytes_read, bytes_total;
    double stage_time[STAGE_COUNT];
} report_counts;
const report_counts *report_get_counts(const report *r);
/* Write OUT/summary/{batch_report.json, processing_metrics.json,
 * error_log.json, results.csv} from the spool; wall = batch seconds. */
int report_finish(report *r, double wall, vb_error *e);
void report_free(report **r);

#endif
