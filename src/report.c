/* report.c - the journal's front end: a batch and its items recorded as
 * they are made.
 *
 * The batch (command line, effective configuration, times) and its items
 * live in the journal, OUT/.vbatch/state.db (state.c). Items are entered
 * as pending when queued; each finished item's record, encoded as one
 * compact JSON text (report-record.c), is written with its status, so
 * memory stays flat however many items a batch has. What incremental runs
 * keep (inputs already processed, analyses shared by identical files) is
 * reached through here too. The summary files are views of the journal
 * (report-render.c), as are `vbatch status` (report-status.c) and the
 * settings a batch is resumed with (report-config.c). */
#include "config.h"
#include "report.h"
#include "report-impl.h"
#include "report-record.h"
#include "crypto.h"
#include "jsonx.h"
#include "state.h"
#include "util.h"
#include "writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct report {
    char *out_dir;
    state *st;               /* the journal */
    char *batch_id, *command_line;
    vb_strlist inputs;
    json_t *config;          /* effective settings, as preset_write gives them */
    double started;          /* wall clock */
    double prev_wall;        /* a resumed batch: the time of its earlier runs */
    int64_t rescan_after;    /* a resumed batch: -1, or its last item when the
                                run killed had not entered all its input */
    report_counts counts;
    /* incremental runs: hashes of the settings that affect results, and
     * of those that affect the decode analysis */
    char settings_hash[CRYPTO_SHA256_HEX_LEN + 1], analyse_hash[CRYPTO_SHA256_HEX_LEN + 1];
};

/* ---- recording ---- */

/* The hashes an incremental run compares: the effective settings without
 * those that change no result of a file processed ([batch]: jobs, error
 * handling, time limits, retries; [input]: which files are found,
 * downloads; [generate] and [provider.*]: how clips are generated; [notify]; the
 * preset's description), and the
 * [analyse] settings alone (without enabled and timeout). Keys sorted,
 * with the vbatch version, so a new version processes everything again. */
static void settings_hashes(report *r, json_t *config)
{
    json_t *c = json_is_object(config) ? json_deep_copy(config) : json_object();
    json_object_del(c, "batch");
    json_object_del(c, "input");
    json_object_del(c, "generate");
    json_object_del(c, "notify");
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(c, tmp, k, v)
        if (strncmp(k, "provider.", 9) == 0)
            json_object_del(c, k);
    json_object_del(json_object_get(c, "preset"), "description");
    /* How results.csv is laid out changes no result. */
    json_object_del(json_object_get(c, "output"), "csv_separator");
    json_object_del(json_object_get(c, "output"), "csv_bom");
    json_object_del(json_object_get(c, "output"), "json_lines");
    json_object_del(json_object_get(c, "output"), "json_lines_min");
    /* The [fix] settings change results only when fixing is on. */
    json_t *fix = json_object_get(c, "fix");
    if (fix && !json_is_true(json_object_get(fix, "enabled")))
        json_object_del(c, "fix");
    json_t *a = json_deep_copy(json_object_get(c, "analyse"));
    if (!a)
        a = json_object();
    json_object_del(a, "enabled");
    json_object_del(a, "timeout");
    json_t *pair[2] = { c, a };
    char *hex[2] = { r->settings_hash, r->analyse_hash };
    for (int i = 0; i < 2; i++) {
        char *s = json_dumps(pair[i], JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        if (!s)
            abort();
        char *text = vb_xasprintf("%s\nvbatch %s", s, PACKAGE_VERSION);
        /* Fails only when out of memory. */
        if (crypto_sha256_hex(text, strlen(text), hex[i], NULL) != 0)
            abort();
        free(text);
        free(s);
    }
    json_decref(c);
    json_decref(a);
}

json_t *report_config_json(const vb_config *c)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    preset_write(c, w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    return j;
}

void report_settings_hash(const char *config_json, char hex[65])
{
    report r = {0};
    json_t *c = json_loads(config_json, 0, NULL);
    settings_hashes(&r, c);
    json_decref(c);
    memcpy(hex, r.settings_hash, sizeof r.settings_hash);
}

report *report_open(const char *out_dir, const report_batch_info *info, vb_error *e)
{
    report *r = vb_xcalloc(1, sizeof *r);
    r->out_dir = vb_xstrdup(out_dir);
    r->rescan_after = -1;
    /* The journal first: it takes the output folder's lock, and says
     * when the folder is read-only, before anything is made in it. */
    r->st = state_open(out_dir, STATE_CREATE, e);
    char *summary = util_path_join(out_dir, "summary");
    int rc = r->st ? util_mkdir_p(summary, e) : -1;
    free(summary);
    if (rc != 0) {
        report_free(&r);
        return NULL;
    }
    r->command_line = vb_xstrdup(info->command_line ? info->command_line : "");
    if (info->inputs)
        for (size_t i = 0; i < info->inputs->n; i++)
            vb_strlist_add(&r->inputs, info->inputs->v[i]);
    if (info->config_json)
        r->config = json_loads(info->config_json, 0, NULL);
    else if (info->config)
        r->config = report_config_json(info->config);
    settings_hashes(r, r->config);
    r->started = util_wall();
    char t0[40];
    util_iso_time(t0, sizeof t0, r->started);
    json_t *in = json_array();
    for (size_t i = 0; i < r->inputs.n; i++)
        json_array_append_new(in, jsonx_str(r->inputs.v[i]));
    state_batch b = {
        .command_line = r->command_line, .started = t0,
        .config_json = r->config ? json_dumps(r->config, JSON_COMPACT | JSON_ENSURE_ASCII)
                                 : vb_xstrdup("{}"),
        .inputs_json = json_dumps(in, JSON_COMPACT | JSON_ENSURE_ASCII),
    };
    json_decref(in);
    if (!b.config_json || !b.inputs_json)
        abort();
    r->batch_id = state_batch_begin(r->st, info->batch_id, &b, e);
    free(b.config_json);
    free(b.inputs_json);
    if (!r->batch_id) {
        report_free(&r);
        return NULL;
    }
    return r;
}

report *report_preview(const char *out_dir, const vb_config *config, vb_error *e)
{
    char *db = util_path_join(out_dir, ".vbatch/state.db");
    bool known = access(db, F_OK) == 0;
    free(db);
    if (!known)
        return NULL;
    report *r = vb_xcalloc(1, sizeof *r);
    r->out_dir = vb_xstrdup(out_dir);
    r->rescan_after = -1;
    r->batch_id = vb_xstrdup("");       /* no batch: every result is another's */
    r->command_line = vb_xstrdup("");
    if (!(r->st = state_open(out_dir, STATE_READ, e))) {
        report_free(&r);
        return NULL;
    }
    r->config = report_config_json(config);
    settings_hashes(r, r->config);
    return r;
}

state *report_journal(report *r)
{
    return r->st;
}

const char *report_batch_id(const report *r)
{
    return r->batch_id;
}

int report_queue(report *r, int64_t seq, const char *source, const char *folder,
                 const char *error, vb_error *e)
{
    return state_item_queue(r->st, r->batch_id, seq, source, folder, error, e);
}

report *report_reopen(const char *out_dir, const char *batch_id, const char *requeue,
                      vb_error *e)
{
    report *r = vb_xcalloc(1, sizeof *r);
    r->out_dir = vb_xstrdup(out_dir);
    state_batch b = {0};
    r->st = state_open(out_dir, STATE_WRITE, e);
    if (!r->st || state_batch_get(r->st, batch_id, &b, e) != 0 ||
        state_batch_reopen(r->st, b.id, requeue, &r->prev_wall, e) != 0 ||
        report_each_record(r->st, b.id, report_count_one, &r->counts, e) != 0) {
        state_batch_clear(&b);
        report_free(&r);
        return NULL;
    }
    json_t *config = b.config_json ? json_loads(b.config_json, 0, NULL) : NULL;
    settings_hashes(r, config);
    json_decref(config);
    r->batch_id = b.id;
    b.id = NULL;
    r->command_line = b.command_line;
    b.command_line = NULL;
    /* Killed while discovering (status still running: an interrupted or
     * finished run entered all its input as pending). */
    r->rescan_after = b.discovered < 0 && b.status && strcmp(b.status, "running") == 0
                          ? b.last_seq : -1;
    json_t *in = b.inputs_json ? json_loads(b.inputs_json, 0, NULL) : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v)
        if (json_string_value(v))
            vb_strlist_add(&r->inputs, json_string_value(v));
    json_decref(in);
    state_batch_clear(&b);
    return r;
}

const vb_strlist *report_inputs(const report *r)
{
    return &r->inputs;
}

int64_t report_rescan_after(const report *r)
{
    return r->rescan_after;
}

int report_discovered(report *r, int64_t n, vb_error *e)
{
    return state_batch_discovered(r->st, r->batch_id, n, e);
}

int report_each_url(report *r, void (*fn)(void *ud, int64_t seq, const char *source,
                                          bool pending), void *ud, vb_error *e)
{
    state_rows *rows = state_query(r->st, STATE_Q_URLS, r->batch_id, e);
    if (!rows)
        return -1;
    const char *col[3];
    int got;
    while ((got = state_rows_next(rows, col, 3, e)) == 1)
        if (col[0] && col[1])
            fn(ud, strtoll(col[0], NULL, 10), col[1], col[2] && strcmp(col[2], "pending") == 0);
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

int report_next_pending(report *r, int64_t after, int64_t *seq, char **source,
                        char **folder, char **error, vb_error *e)
{
    return state_next_pending(r->st, r->batch_id, after, seq, source, folder, error, e);
}

int report_each_folder(report *r, void (*fn)(void *ud, const char *folder), void *ud,
                       vb_error *e)
{
    state_rows *rows = state_query(r->st, STATE_Q_FOLDERS, r->batch_id, e);
    if (!rows)
        return -1;
    const char *folder;
    int got;
    while ((got = state_rows_next(rows, &folder, 1, e)) == 1)
        if (folder)
            fn(ud, folder);
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

int report_running(report *r, int64_t seq, vb_error *e)
{
    return state_item_running(r->st, r->batch_id, seq, e);
}

int report_flush(report *r, vb_error *e)
{
    return state_flush(r->st, e);
}

int report_add(report *r, const item_record *it, vb_error *e)
{
    char *s = report_record_encode(it);
    int rc = state_item_result(r->st, r->batch_id, it->seq, report_status_name(it->status),
                               it->source, it->folder,
                               it->status == ITEM_FAILED ? report_stage_name(it->error_stage) : NULL,
                               it->error, s, e);
    free(s);
    if (rc != 0)
        return rc;
    report_counts_add(&r->counts, it);
    return 0;
}

int report_pending(report *r, int64_t seq, const char *source, const char *folder,
                   vb_error *e)
{
    return state_item_result(r->st, r->batch_id, seq, "pending", source, folder, NULL, NULL,
                             NULL, e);
}

const report_counts *report_get_counts(const report *r)
{
    return &r->counts;
}

void report_set_counts(report *r, const report_counts *c)
{
    r->counts = *c;
}

/* ---- incremental runs ---- */

int report_lookup(report *r, const report_source *src, bool force, char **folder,
                  bool *skip, item_record *skipped, vb_error *e)
{
    *folder = NULL;
    *skip = false;
    state_input in;
    int got = state_input_get(r->st, src->key, &in, e);
    if (got <= 0)
        return got;
    /* Only a result of another batch is kept: `vbatch retry` of this one
     * redoes its items. Failed items are always redone. */
    bool same = !force && src->size >= 0 && in.size == src->size &&
                in.mtime_ns == src->mtime_ns && in.settings &&
                strcmp(in.settings, r->settings_hash) == 0 && in.folder && in.batch &&
                strcmp(in.batch, r->batch_id) != 0 && in.status && in.record_json &&
                (strcmp(in.status, "done") == 0 || strcmp(in.status, "qc_failed") == 0);
    if (same) {
        char *dir = util_path_join(r->out_dir, in.folder);
        same = access(dir, F_OK) == 0;
        free(dir);
    }
    if (same && report_record_decode(in.record_json, skipped) == 0) {
        skipped->previous_status = skipped->status;
        skipped->status = ITEM_SKIPPED;
        free(skipped->unchanged_since);
        skipped->unchanged_since = in.batch;
        in.batch = NULL;
        /* Nothing was read or done for it in this batch. */
        skipped->bytes_read = 0;
        for (int i = 0; i < STAGE_COUNT; i++)
            skipped->stage_time[i] = 0;
        *skip = true;
    }
    *folder = in.folder;
    in.folder = NULL;
    state_input_clear(&in);
    return 1;
}

int report_add_skipped(report *r, const item_record *it, vb_error *e)
{
    char *s = report_record_encode(it);
    int rc = state_item_skipped(r->st, r->batch_id, it->seq, it->source, it->folder, s, e);
    free(s);
    if (rc == 0)
        report_counts_add(&r->counts, it);
    return rc;
}

int report_add_input(report *r, const item_record *it, const report_source *src,
                     vb_error *e)
{
    int rc = report_add(r, it, e);
    if (rc == 0 && src && src->key)
        rc = state_input_put(r->st, src->key, src->size, src->size >= 0 ? src->mtime_ns : -1,
                             r->settings_hash, it->folder, r->batch_id, it->seq, e);
    return rc;
}

int report_each_known_folder(report *r, void (*fn)(void *ud, const char *folder), void *ud,
                             vb_error *e)
{
    state_rows *rows = state_query(r->st, STATE_Q_ALL_FOLDERS, NULL, e);
    if (!rows)
        return -1;
    const char *folder;
    int got;
    while ((got = state_rows_next(rows, &folder, 1, e)) == 1)
        if (folder)
            fn(ud, folder);
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

int report_analysis_find(report *r, const char *content, char **folder, vb_error *e)
{
    return state_analysis_get(r->st, content, r->analyse_hash, folder, e);
}

int report_analysis_forget(report *r, const char *folder, vb_error *e)
{
    return state_analysis_forget(r->st, folder, e);
}

int report_analysis_put(report *r, const char *content, const char *folder, vb_error *e)
{
    return state_analysis_put(r->st, content, r->analyse_hash, folder, e);
}

char *report_skip_note(const item_record *it)
{
    if (it->unchanged_since)
        return vb_xasprintf("unchanged since %s (%s)", it->unchanged_since,
                            report_status_name(it->previous_status));
    return vb_xstrdup(it->error ? it->error : "skipped");
}

/* How a rule's limit reads after its measured value. */
static const char *report_limit_word(const char *rule)
{
    size_t n = strlen(rule);
    if (n > 4 && strcmp(rule + n - 4, "_min") == 0)
        return "min";
    if (n > 4 && strcmp(rule + n - 4, "_max") == 0)
        return "max";
    return strcmp(rule, "loudness") == 0 ? "target" : "limit";
}

char *report_rules_brief(const item_record *it, int verdict)
{
    const vb_strlist *names = verdict == VERDICT_FAIL ? &it->failed_rules : &it->warned_rules;
    char *out = vb_xstrdup("");
    for (size_t i = 0; i < names->n; i++) {
        const rule_result *c = NULL;
        for (size_t k = 0; !c && k < it->checks.n; k++)
            if (it->checks.r[k].verdict == verdict &&
                strcmp(it->checks.r[k].rule, names->v[i]) == 0)
                c = &it->checks.r[k];
        char *s;
        if (c && c->value && c->limit)
            s = vb_xasprintf("%s%s%s %s (%s %s)", out, i ? ", " : "", c->rule, c->value,
                             report_limit_word(c->rule), c->limit);
        else
            s = vb_xasprintf("%s%s%s", out, i ? ", " : "", names->v[i]);
        free(out);
        out = s;
    }
    return out;
}

int report_finish(report *r, double wall, FILE *summary_out, vb_error *e)
{
    return report_finish_status(r, false, wall, summary_out, e);
}

int report_finish_status(report *r, bool interrupted, double wall, FILE *summary_out,
                         vb_error *e)
{
    char t1[40];
    util_iso_time(t1, sizeof t1, util_wall());
    /* Whatever fails here, the summary of what is known is printed (a
     * full disk must not hide what was done). */
    int end = state_batch_end(r->st, r->batch_id, interrupted ? "interrupted" : "done", t1,
                              r->prev_wall + wall, util_peak_rss_kib(), e);
    vb_error re = {0};
    int rc = report_render(r->out_dir, r->batch_id,
                           REPORT_FILES | (summary_out ? REPORT_TEXT : 0), summary_out, &re);
    if (rc != 0 && summary_out) {
        vb_error te = {0};
        report_render(r->out_dir, r->batch_id, REPORT_TEXT, summary_out, &te);
    }
    if (end != 0)
        return -1;
    if (rc != 0 && e)
        *e = re;
    return rc;
}

int report_note(report *r, const char *key, const char *value, vb_error *e)
{
    char *had = NULL;
    int rc = state_meta_get_or_set(r->st, key, value, &had, e);
    free(had);
    return rc;
}

void report_free(report **pr)
{
    if (!pr || !*pr)
        return;
    report *r = *pr;
    state_close(&r->st);
    free(r->out_dir);
    free(r->batch_id);
    free(r->command_line);
    vb_strlist_clear(&r->inputs);
    json_decref(r->config);
    free(r);
    *pr = NULL;
}

/* ---- reading the records back ---- */

static bool known_status(const char *status)
{
    static const char *const known[] = {
        "pending", "running", "done", "qc_failed", "failed", "skipped",
    };
    for (size_t i = 0; status && i < VB_ARRAY_LEN(known); i++)
        if (strcmp(status, known[i]) == 0)
            return true;
    return false;
}

/* One pass over a batch's records, in seq order: fn for each. An item
 * whose journal status this vbatch does not know counts as unknown,
 * with or without a record. */
int report_each_record(state *st, const char *id, report_record_fn fn, void *ctx,
                       vb_error *e)
{
    state_rows *rows = state_query(st, STATE_Q_RECORDS, id, e);
    if (!rows)
        return -1;
    int rc = 0, got;
    const char *col[5];
    while (rc == 0 && (got = state_rows_next(rows, col, 5, e)) == 1) {
        item_record it;
        bool known = known_status(col[1]);
        if (!col[0] || report_record_decode(col[0], &it) != 0) {
            if (known) {
                rc = vb_fail(e, VB_ERR_IO, "batch %s: damaged record in the journal", id);
                break;
            }
            memset(&it, 0, sizeof it);
            it.seq = col[2] ? strtoll(col[2], NULL, 10) : 0;
            it.source = col[3] ? vb_xstrdup(col[3]) : NULL;
            it.folder = col[4] ? vb_xstrdup(col[4]) : NULL;
            it.duration = it.fps = it.gen.units = NAN;
        }
        if (!known) {
            char name[40];
            snprintf(name, sizeof name, "%.32s", col[1] ? col[1] : "");
            for (char *p = name; *p; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                    *p = '?';
            it.status = ITEM_UNKNOWN;
            if (!it.error)
                it.error = vb_xasprintf("the journal's status '%s' is unknown to vbatch %s",
                                        name, PACKAGE_VERSION);
        }
        rc = fn(ctx, &it, e);
        item_record_clear(&it);
    }
    if (rc == 0 && got < 0)
        rc = -1;
    state_rows_free(&rows);
    return rc;
}

int report_count_one(void *ctx, item_record *it, vb_error *e)
{
    (void)e;
    report_counts_add(ctx, it);
    return 0;
}
