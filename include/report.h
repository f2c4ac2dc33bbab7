/* report.h - per-item records and the summary reports built from them.
 * Records go to the journal, OUT/.vbatch/state.db, as they are made (so
 * memory stays flat however many items there are) and the summary files
 * are produced from the journal at the end of the batch. */
#ifndef VB_REPORT_H
#define VB_REPORT_H

#include "vbatch.h"
#include "preset.h"
#include "rules.h"
#include "probe.h"
#include "writer.h"

#include <stdio.h>

/* ITEM_UNKNOWN: a status this vbatch does not know, found in a journal
 * (written by a newer vbatch, or by hand): reported as "unknown", never
 * left out of the counts. */
enum item_status { ITEM_DONE, ITEM_QC_FAILED, ITEM_FAILED, ITEM_SKIPPED, ITEM_UNKNOWN };
enum item_kind { ITEM_VIDEO = 0, ITEM_IMAGE = 1 };

/* Stages, for timings and error attribution. */
enum item_stage { STAGE_DISCOVER, STAGE_FETCH, STAGE_PROBE, STAGE_CHECK,
                  STAGE_ANALYSE, STAGE_THUMBS, STAGE_PUBLISH, STAGE_RECORD,
                  STAGE_GENERATE, /* vbatch generate: submit, wait, download */
                  STAGE_FIX,      /* --fix: the one pass and the re-check */
                  STAGE_COUNT };
const char *report_stage_name(int stage);
const char *report_status_name(int status);

/* What `vbatch generate` adds to an item (all NULL/NAN otherwise). */
typedef struct item_gen {
    char *id, *prompt;     /* the CSV row's */
    char *provider, *task_id;
    char *status;          /* the provider's last: succeed, failed ... */
    double units;          /* charged (or estimated when not reported) */
    double seconds;        /* from the first call to the video on disk */
} item_gen;
void item_gen_clear(item_gen *g);

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
    rule_report checks;    /* every check made, in order (owned) */
    int kind;              /* enum item_kind */
    /* key figures (0/NAN/NULL when unknown) */
    char *container, *video_codec, *audio_codec;
    double duration, fps;
    int width, height;     /* displayed */
    int64_t size, bit_rate, bytes_read;
    char *image_format;    /* images: "png", "jpeg" ... */
    /* decode analysis, when it ran (NAN where not measured) */
    bool analysed;
    double black_total, black_share, leading_black, trailing_black;
    double freeze_max, silence_max;
    double loudness, loudness_range, true_peak;
    int64_t decode_errors;
    int attempts;          /* tries in the run that recorded it: more than 1
                              after transient I/O errors ([batch] retries) */
    /* thumbnails, when made */
    int nthumbs;
    char *contact;         /* contact sheet, relative to OUT, or NULL */
    double stage_time[STAGE_COUNT];
    /* incremental runs */
    char *unchanged_since;  /* skipped: the batch whose result it keeps */
    int previous_status;    /* skipped: that result's status (done, qc_failed) */
    char *analysis_from;    /* folder whose analysis.json was reused, or NULL */
    char *sha256;           /* content hash, when it was computed */
    item_gen gen;          /* generated items only (gen.id set) */
    char *fix;              /* --fix: "fixed: faststart, loudness -21.8 -> -14.0
                               LUFS", or why the fix did not make it pass */
    vb_strlist fix_actions; /* --fix, fixed: remux, audio, video, trim */
} item_record;

void item_record_clear(item_record *r);

typedef struct report report;

typedef struct report_batch_info {
    const char *batch_id;
    const char *command_line;
    const vb_config *config;      /* effective preset (borrowed) */
    const char *config_json;      /* or these settings as a batch recorded them */
    const vb_strlist *inputs;     /* PATHs and list files as given */
} report_batch_info;

/* Counts over a batch's records. */
typedef struct report_counts {
    int64_t total, done, qc_failed, failed, skipped, warned;
    int64_t fixed;                /* --fix: items delivered fixed */
    int64_t fix_noted;            /* items whose record says what the fix did (JUnit's
                                     "fix" tests) */
    int64_t skipped_qc_failed;    /* skipped items whose kept result failed QC */
    int64_t skipped_warned;       /* ... passed with warnings */
    int64_t unknown;              /* items whose status this vbatch does not know */
    int64_t bytes_read, bytes_total;
    int64_t checks, checks_failed, checks_warned;
    double stage_time[STAGE_COUNT];
    int64_t generated;     /* items of vbatch generate */
    int64_t generated_passed; /* ... that passed every fail-level gate */
    double units;          /* units they cost (failed generations too) */
} report_counts;

/* Start recording a new batch in out_dir: OUT/summary and the journal
 * OUT/.vbatch/state.db are created. info->batch_id is the wanted id; the
 * journal makes it unique (report_batch_id gives the one used). */
report *report_open(const char *out_dir, const report_batch_info *info,
                    vb_error *e);
const char *report_batch_id(const report *r);
/* The journal of out_dir opened read-only, without a batch, for what a
 * run with `config` would find there (report_lookup,
 * report_each_known_folder; process --dry-run): NULL without e set when
 * out_dir holds no journal, NULL with e set when it can not be read.
 * Free with report_free. */
report *report_preview(const char *out_dir, const vb_config *config, vb_error *e);
/* The journal behind a report (borrowed), for what else a batch keeps
 * there (generation tasks). */
struct state;
struct state *report_journal(report *r);
/* An item enters the journal as pending when queued (folder may be NULL),
 * then running when a worker takes it (any thread). */
int report_queue(report *r, int64_t seq, const char *source, const char *folder,
                 const char *error, vb_error *e);
/* Reopen a recorded batch to finish it: items left running go back to
 * pending; the counts start from what is recorded. requeue: see
 * state_batch_reopen (NULL when only resuming). */
report *report_reopen(const char *out_dir, const char *batch_id, const char *requeue,
                      vb_error *e);
/* The next pending item after seq `after` (see state_next_pending). */
int report_next_pending(report *r, int64_t after, int64_t *seq, char **source,
                        char **folder, char **error, vb_error *e);
/* The batch's inputs as recorded (PATHs, "--from-list FILE"). */
const vb_strlist *report_inputs(const report *r);
/* Discovery has ended: the batch's n items are all entered. */
int report_discovered(report *r, int64_t n, vb_error *e);
/* A reopened batch whose run was killed before it had entered all its
 * input: the last item entered (discovery goes on after it); else -1. */
int64_t report_rescan_after(const report *r);
/* Call fn, in batch order, for every item of the batch whose source is
 * an http(s) URL (as the journal keeps it: see fetch_display_url). */
int report_each_url(report *r, void (*fn)(void *ud, int64_t seq, const char *source,
                                          bool pending), void *ud, vb_error *e);
/* Call fn for the folder of every item of the batch that has one. */
int report_each_folder(report *r, void (*fn)(void *ud, const char *folder), void *ud,
                       vb_error *e);
int report_running(report *r, int64_t seq, vb_error *e);
/* Commit what is recorded so far (writes are otherwise grouped). */
int report_flush(report *r, vb_error *e);
/* An item taken but not finished (interrupted after the grace period):
 * back to pending, for `vbatch resume`. */
int report_pending(report *r, int64_t seq, const char *source, const char *folder,
                   vb_error *e);
/* Record one finished item (items must arrive in seq order). */
int report_add(report *r, const item_record *it, vb_error *e);
const report_counts *report_get_counts(const report *r);
/* The hash of the settings that change results (what an incremental run
 * compares) of a batch's recorded config_json, into hex. */
void report_settings_hash(const char *config_json, char hex[65]);

/* `vbatch merge`: the batches of the output folders dirs, the shards of
 * one run (process --shard K/N, all N of them, finished, with the same
 * settings), as one batch in out_dir (which must not hold anything yet):
 * every item once, in the order of their sources, their folders linked
 * into out_dir, the reports written (the text summary to summary_out
 * when not NULL). 0, or -1 with e set (VB_ERR_USAGE when the shards do
 * not make one batch: what is wrong is named). */
int report_merge(const vb_strlist *dirs, const char *out_dir, const char *command_line,
                 FILE *summary_out, vb_error *e);

/* ---- a batch on a queue (report-queue.c, queue.h) ---- */

/* The settings `vbatch enqueue` stores once in the queue, as JSON
 * (caller frees): the batch's config, its command line (no password),
 * its inputs, the visibility timeout (seconds) and the delivery limit. */
char *report_queue_settings(const vb_config *cfg, const char *command_line,
                            const vb_strlist *inputs, double visibility, int max_deliveries);
typedef struct report_queued {
    char *config_json;            /* owned */
    char *command_line;           /* owned */
    vb_strlist inputs;
    double visibility;
    int max_deliveries;
    double created;               /* Unix seconds */
} report_queued;
/* Those settings read back (origin names the queue in errors), checked. */
int report_queue_settings_parse(const char *json, const char *origin, report_queued *q,
                                vb_error *e);
void report_queued_clear(report_queued *q);
/* Settings recorded as JSON (a batch's config_json) loaded on top of c,
 * checked to come back exactly (origin names them in errors). */
int report_config_from_json(const char *config_json, const char *origin, vb_config *c,
                            vb_error *e);
/* `vbatch report --queue`: the items of queue q with their results and
 * dead letters as a new batch in out_dir's journal (every item once, in
 * seq order; one without a result yet left pending: *pending counted,
 * the batch marked interrupted), and its reports. */
struct queue;
int report_from_queue(struct queue *q, const report_queued *s, const char *out_dir,
                      FILE *summary_out, int64_t *pending, vb_error *e);

/* Keep a note in the journal under key (the first one given stays). */
int report_note(report *r, const char *key, const char *value, vb_error *e);
/* Put back counts taken with report_get_counts (a group of results
 * written again after its commit failed). */
void report_set_counts(report *r, const report_counts *c);

/* ---- incremental runs ---- */

/* A local file as found now (size -1: not a local file, e.g. a URL). */
typedef struct report_source {
    const char *key;         /* absolute path, or the URL as shown */
    int64_t size, mtime_ns;
} report_source;
/* What the output folder holds for src->key: 1 when it is known, with
 * *folder its folder (owned; NULL if it never had one); 0 when unknown;
 * -1 on error. *skip is set when the item may be skipped: not `force`, a
 * local file with the same size and mtime, processed with the same
 * settings by another batch, done or qc_failed, its folder still there;
 * `skipped` then holds that result as a skipped record (to finish with
 * report_add_skipped). */
int report_lookup(report *r, const report_source *src, bool force, char **folder,
                  bool *skip, item_record *skipped, vb_error *e);
/* Enter a skipped item (its seq, source and folder set) as a result. */
int report_add_skipped(report *r, const item_record *it, vb_error *e);
/* report_add, and remember what the result was made from (src NULL:
 * nothing is remembered). */
int report_add_input(report *r, const item_record *it, const report_source *src,
                     vb_error *e);
/* Call fn for every folder given to a source in this output folder
 * (recorded since the index exists). */
int report_each_known_folder(report *r, void (*fn)(void *ud, const char *folder), void *ud,
                             vb_error *e);
/* Analyses shared by identical files (content: SHA-256 hex), under the
 * batch's analysis settings: see state_analysis_get/forget/put. */
int report_analysis_find(report *r, const char *content, char **folder, vb_error *e);
int report_analysis_forget(report *r, const char *folder, vb_error *e);
int report_analysis_put(report *r, const char *content, const char *folder, vb_error *e);
/* "unchanged since batch_X (qc_failed)": why a skipped item was not
 * processed (caller frees). */
char *report_skip_note(const item_record *it);
/* The rules an item failed (verdict VERDICT_FAIL) or warned on
 * (VERDICT_WARN), each with its measured value and limit when the record
 * holds its check: "loudness -21.8 LUFS (target -14.0 LUFS +/- 1.0 LU),
 * duration_min 2.000 s (min 4.500 s)"; "" for none. Caller frees. */
char *report_rules_brief(const item_record *it, int verdict);
/* Mark the batch done in the journal and render every summary file from
 * it; the text summary goes to `summary_out` unless it is NULL. */
int report_finish(report *r, double wall, FILE *summary_out, vb_error *e);
/* The same, marking the batch interrupted when `interrupted`. */
int report_finish_status(report *r, bool interrupted, double wall, FILE *summary_out,
                         vb_error *e);
void report_free(report **r);

/* Formats report_render produces. */
enum {
    REPORT_JSON = 1,   /* batch_report.json, error_log.json, processing_metrics.json */
    REPORT_CSV = 2,    /* results.csv */
    REPORT_JUNIT = 4,  /* junit.xml */
    REPORT_HTML = 8,   /* report.html */
    REPORT_TEXT = 16,  /* the summary, printed to text_out */
    REPORT_GITHUB = 32, /* GitHub Actions annotations to text_out, and a Markdown
                           summary appended to $GITHUB_STEP_SUMMARY when set */
    REPORT_FILES = REPORT_JSON | REPORT_CSV | REPORT_JUNIT | REPORT_HTML,
};
/* Produce reports from what is recorded for a batch (batch_id NULL: the
 * latest in out_dir), without reprocessing anything. The journal is
 * only read (also in a read-only output folder; no lock). */
int report_render(const char *out_dir, const char *batch_id, unsigned formats,
                  FILE *text_out, vb_error *e);
/* The same, the files written into summary_dir (NULL: OUT/summary). */
int report_render_to(const char *out_dir, const char *batch_id, const char *summary_dir,
                     unsigned formats, FILE *text_out, vb_error *e);

/* What the journal of out_dir says, into w (inside an object the caller
 * opened): without batch_id every batch with its counts by status; with
 * one, its counts, progress, failures (counted by stage, the first
 * list_max listed; < 0: all) and time per stage. A batch the
 * journal marks running while nobody holds the output folder's lock is
 * shown as "interrupted (process gone)". Read-only, no lock. */
int report_status(const char *out_dir, const char *batch_id, int64_t list_max, writer *w,
                  vb_error *e);
/* Every batch as one line on f (`vbatch status` as text): id, status (as
 * report_status shows it), start, its items counted by status. */
int report_status_lines(const char *out_dir, FILE *f, vb_error *e);
/* The one unfinished batch of out_dir (marked interrupted, or running:
 * called under the output folder's lock, so its process is gone), for
 * `vbatch resume` without --job-id: 0 with *id set (caller frees), or -1
 * with e set (VB_ERR_USAGE) when there is none or more than one (the
 * message names them). */
int report_unfinished_batch(const char *out_dir, char **id, vb_error *e);

/* The effective settings a recorded batch ran with, loaded on top of c
 * (built-in defaults): an error if they can not be restored exactly. */
int report_load_config(const char *out_dir, const char *batch_id, vb_config *c, vb_error *e);

/* ---- report back ends that consume the item stream (JUnit, HTML) ---- */

/* What a back end knows before the first item: the counts are final. */
typedef struct report_header {
    const char *batch_id;
    const char *vbatch_version;
    const char *started, *finished;   /* ISO 8601 */
    const char *command_line;
    const char *preset_name;
    const vb_strlist *inputs;
    const report_counts *counts;
    double wall;                      /* seconds */
    const char *out_dir;              /* OUT, to find contact sheets */
} report_header;

typedef struct report_sink {
    void *ctx;
    int (*item)(void *ctx, const item_record *it, vb_error *e);
    int (*finish)(void *ctx, vb_error *e);  /* writes the end; out stays open */
    void (*destroy)(void *ctx);
} report_sink;

/* report-junit.c: JUnit XML with libxml2's xmlTextWriter. */
int report_junit_open(report_sink *s, FILE *out, const report_header *h, vb_error *e);
/* report-html.c: one self-contained HTML page. */
int report_html_open(report_sink *s, FILE *out, const report_header *h, vb_error *e);
/* report-github.c: workflow commands (::error file=...::) to out, one per
 * item that failed or warned; md (may be NULL): a Markdown summary. */
int report_github_open(report_sink *s, FILE *out, FILE *md, const report_header *h,
                       vb_error *e);

#endif
