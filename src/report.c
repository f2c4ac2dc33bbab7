/* report.c - per-item records and the summary reports built from them.
 *
 * Recording: the batch (command line, effective configuration, times) and
 * its items live in the journal, OUT/.vbatch/state.db (state.c). Items are
 * entered as pending when queued; each finished item's record, encoded as
 * one compact JSON text, is written with its status, so memory stays flat
 * however many items a batch has.
 *
 * Rendering (report_render, also behind `vbatch report`): two streaming
 * passes over the journal's records. The first counts (the JUnit and HTML heads
 * need totals), the second feeds every requested back end at once:
 * batch_report.json and error_log.json (each item encoded by the writer's
 * JSON back end, i.e. jansson), results.csv (the CSV back end, streaming),
 * junit.xml and report.html (report sinks), and the text summary. */
#include "config.h"
#include "report.h"
#include "crypto.h"
#include "jsonx.h"
#include "state.h"
#include "util.h"
#include "writer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUMMARY_LINES 20

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

static const char *const stage_names[STAGE_COUNT] = {
    "discover", "fetch", "probe", "check", "analyse", "thumbs", "publish", "record",
    "generate", "fix",
};

const char *report_stage_name(int stage)
{
    return (stage >= 0 && stage < STAGE_COUNT) ? stage_names[stage] : "unknown";
}

const char *report_status_name(int status)
{
    switch (status) {
    case ITEM_DONE:      return "done";
    case ITEM_QC_FAILED: return "qc_failed";
    case ITEM_FAILED:    return "failed";
    case ITEM_SKIPPED:   return "skipped";
    default:             return "unknown";
    }
}

void item_gen_clear(item_gen *g)
{
    free(g->id); free(g->prompt); free(g->provider); free(g->task_id); free(g->status);
    memset(g, 0, sizeof *g);
    g->units = NAN;
}

void item_record_clear(item_record *r)
{
    item_gen_clear(&r->gen);
    free(r->source); free(r->folder); free(r->video); free(r->error);
    free(r->container); free(r->video_codec); free(r->audio_codec);
    free(r->image_format); free(r->contact);
    free(r->unchanged_since); free(r->analysis_from); free(r->sha256); free(r->fix);
    vb_strlist_clear(&r->failed_rules);
    vb_strlist_clear(&r->warned_rules);
    rules_report_free(&r->checks);
    memset(r, 0, sizeof *r);
}

/* ---- the item as the JSON and CSV reports show it ---- */

static void write_opt_double(writer *w, const char *k, double v)
{
    if (isfinite(v))
        writer_double(w, k, round(v * 1e4) / 1e4);
    else
        writer_null(w, k);
}


static void write_list(writer *w, const char *k, const vb_strlist *l)
{
    writer_begin_array(w, k);
    for (size_t i = 0; i < l->n; i++)
        writer_string(w, NULL, l->v[i]);
    writer_end_array(w);
}

/* Every item writes every field (null when unknown): the CSV header is
 * taken from the first row. */
static void item_write(const item_record *it, writer *w)
{
    writer_int(w, "seq", it->seq);
    writer_string(w, "source", it->source);
    writer_string(w, "kind", it->kind == ITEM_IMAGE ? "image" : "video");
    writer_string(w, "folder", it->folder);
    writer_string(w, "video", it->video);
    writer_string(w, "status", report_status_name(it->status));
    if (it->status == ITEM_FAILED || it->status == ITEM_UNKNOWN)
        writer_null(w, "verdict");
    else
        writer_string(w, "verdict", rules_verdict_name(it->verdict));
    writer_string(w, "previous_status",
                  it->status == ITEM_SKIPPED ? report_status_name(it->previous_status) : NULL);
    writer_string(w, "unchanged_since", it->unchanged_since);
    write_list(w, "failed_rules", &it->failed_rules);
    write_list(w, "warned_rules", &it->warned_rules);
    writer_string(w, "error_stage", it->status == ITEM_FAILED ? report_stage_name(it->error_stage) : NULL);
    writer_string(w, "error", it->error);
    writer_int(w, "attempts", it->attempts > 0 ? it->attempts : 1);
    writer_string(w, "container", it->container);
    writer_string(w, "video_codec", it->video_codec);
    writer_string(w, "audio_codec", it->audio_codec);
    writer_string(w, "image_format", it->image_format);
    write_opt_double(w, "duration", it->duration > 0 ? it->duration : NAN);
    writer_opt_int(w, "width", it->width);
    writer_opt_int(w, "height", it->height);
    write_opt_double(w, "fps", it->fps > 0 ? it->fps : NAN);
    writer_opt_int(w, "size", it->size);
    writer_opt_int(w, "bit_rate", it->bit_rate);
    writer_string(w, "sha256", it->sha256);
    writer_begin_object(w, "analysis");
    writer_bool(w, "done", it->analysed);
    writer_string(w, "reused_from", it->analysis_from);
    write_opt_double(w, "black_seconds", it->analysed ? it->black_total : NAN);
    write_opt_double(w, "black_share", it->analysed ? it->black_share : NAN);
    write_opt_double(w, "leading_black", it->analysed ? it->leading_black : NAN);
    write_opt_double(w, "trailing_black", it->analysed ? it->trailing_black : NAN);
    write_opt_double(w, "freeze_max", it->analysed ? it->freeze_max : NAN);
    write_opt_double(w, "silence_max", it->analysed ? it->silence_max : NAN);
    write_opt_double(w, "loudness_lufs", it->analysed ? it->loudness : NAN);
    write_opt_double(w, "loudness_range", it->analysed ? it->loudness_range : NAN);
    write_opt_double(w, "true_peak_dbtp", it->analysed ? it->true_peak : NAN);
    if (it->analysed)
        writer_int(w, "decode_errors", it->decode_errors);
    else
        writer_null(w, "decode_errors");
    writer_end_object(w);
    writer_int(w, "thumbnails", it->nthumbs);
    writer_string(w, "contact_sheet", it->contact);
    writer_begin_object(w, "seconds");
    for (int s = STAGE_FETCH; s < STAGE_RECORD; s++)
        writer_double(w, report_stage_name(s), round(it->stage_time[s] * 1e6) / 1e6);
    if (it->gen.id)
        writer_double(w, "generate", round(it->stage_time[STAGE_GENERATE] * 1e6) / 1e6);
    writer_end_object(w);
    if (it->gen.id) {
        /* A generate batch: every item has it, so the CSV header does. */
        writer_begin_object(w, "generation");
        writer_string(w, "id", it->gen.id);
        writer_string(w, "prompt", it->gen.prompt);
        writer_string(w, "provider", it->gen.provider);
        writer_string(w, "task_id", it->gen.task_id);
        writer_string(w, "status", it->gen.status);
        write_opt_double(w, "units", it->gen.units);
        writer_end_object(w);
    }
}

/* ---- the record: one compact JSON line per item ---- */

static json_t *jlist(const vb_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, jsonx_str(l->v[i]));
    return a;
}

/* NaN is not JSON: null stands for "not measured". */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static char *record_encode(const item_record *it)
{
    json_t *t = json_array();
    for (int s = 0; s < STAGE_COUNT; s++)
        json_array_append_new(t, json_real(it->stage_time[s]));
    json_t *checks = json_array();
    for (size_t i = 0; i < it->checks.n; i++) {
        const rule_result *c = &it->checks.r[i];
        json_array_append_new(checks, json_pack("[o o o i i o]", jsonx_str(c->rule), jsonx_str(c->value),
                                                jsonx_str(c->limit), c->level, c->verdict,
                                                jsonx_str(c->message)));
    }
    /* 'o' hands our references to the object. */
    json_t *o = json_pack(
        "{sI so si so so si si si so so so so so so so so so so si si sI sI sI"
        " sb so so so so so so so so so sI si so so}",
        "seq", (json_int_t)it->seq, "source", jsonx_str(it->source), "kind", it->kind,
        "folder", jsonx_str(it->folder), "video", jsonx_str(it->video), "status", it->status,
        "verdict", it->verdict, "error_stage", it->error_stage, "error", jsonx_str(it->error),
        "failed", jlist(&it->failed_rules), "warned", jlist(&it->warned_rules),
        "container", jsonx_str(it->container), "vcodec", jsonx_str(it->video_codec),
        "acodec", jsonx_str(it->audio_codec), "image_format", jsonx_str(it->image_format),
        "duration", jnum(it->duration), "fps", jnum(it->fps), "checks", checks,
        "width", it->width, "height", it->height, "size", (json_int_t)it->size,
        "bit_rate", (json_int_t)it->bit_rate, "bytes_read", (json_int_t)it->bytes_read,
        "analysed", it->analysed, "black", jnum(it->black_total),
        "black_share", jnum(it->black_share), "leading_black", jnum(it->leading_black), "trailing_black", jnum(it->trailing_black),
        "freeze_max", jnum(it->freeze_max), "silence_max", jnum(it->silence_max),
        "loudness", jnum(it->loudness), "lra", jnum(it->loudness_range),
        "true_peak", jnum(it->true_peak), "decode_errors", (json_int_t)it->decode_errors,
        "nthumbs", it->nthumbs, "contact", jsonx_str(it->contact), "t", t);
    if (!o)
        abort();
    /* Incremental runs: only when set, so older records read the same. */
    if (it->unchanged_since) {
        json_object_set_new(o, "since", jsonx_str(it->unchanged_since));
        json_object_set_new(o, "prev", json_integer(it->previous_status));
    }
    if (it->analysis_from)
        json_object_set_new(o, "analysis_from", jsonx_str(it->analysis_from));
    if (it->sha256)
        json_object_set_new(o, "sha256", jsonx_str(it->sha256));
    if (it->gen.id)
        json_object_set_new(o, "gen", json_pack("{so so so so so so}", "id", jsonx_str(it->gen.id),
                                                "prompt", jsonx_str(it->gen.prompt),
                                                "provider", jsonx_str(it->gen.provider),
                                                "task_id", jsonx_str(it->gen.task_id),
                                                "status", jsonx_str(it->gen.status),
                                                "units", jnum(it->gen.units)));
    json_object_set_new(o, "attempts", json_integer(it->attempts));
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

static void jlist_get(json_t *o, const char *k, vb_strlist *l)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, k), i, v)
        vb_strlist_add(l, json_string_value(v) ? json_string_value(v) : "");
}

static const char *jarr_str(json_t *a, size_t i)
{
    const char *s = json_string_value(json_array_get(a, i));
    return s ? s : "";
}

static int record_decode(const char *line, item_record *it)
{
    json_t *o = json_loads(line, 0, NULL);
    if (!o)
        return -1;
    memset(it, 0, sizeof *it);
    it->seq = jsonx_int(o, "seq");
    it->source = jsonx_dup(o, "source");
    it->kind = (int)jsonx_int(o, "kind");
    it->folder = jsonx_dup(o, "folder");
    it->video = jsonx_dup(o, "video");
    it->status = (int)jsonx_int(o, "status");
    it->verdict = (int)jsonx_int(o, "verdict");
    it->error_stage = (int)jsonx_int(o, "error_stage");
    it->error = jsonx_dup(o, "error");
    jlist_get(o, "failed", &it->failed_rules);
    jlist_get(o, "warned", &it->warned_rules);
    it->container = jsonx_dup(o, "container");
    it->video_codec = jsonx_dup(o, "vcodec");
    it->audio_codec = jsonx_dup(o, "acodec");
    it->image_format = jsonx_dup(o, "image_format");
    it->duration = jsonx_num(o, "duration");
    it->fps = jsonx_num(o, "fps");
    it->width = (int)jsonx_int(o, "width");
    it->height = (int)jsonx_int(o, "height");
    it->size = jsonx_int(o, "size");
    it->bit_rate = jsonx_int(o, "bit_rate");
    it->bytes_read = jsonx_int(o, "bytes_read");
    it->analysed = json_is_true(json_object_get(o, "analysed"));
    it->black_total = jsonx_num(o, "black");
    it->black_share = jsonx_num(o, "black_share");
    it->leading_black = jsonx_num(o, "leading_black");
    it->trailing_black = jsonx_num(o, "trailing_black");
    it->freeze_max = jsonx_num(o, "freeze_max");
    it->silence_max = jsonx_num(o, "silence_max");
    it->loudness = jsonx_num(o, "loudness");
    it->loudness_range = jsonx_num(o, "lra");
    it->true_peak = jsonx_num(o, "true_peak");
    it->decode_errors = jsonx_int(o, "decode_errors");
    it->nthumbs = (int)jsonx_int(o, "nthumbs");
    it->contact = jsonx_dup(o, "contact");
    it->unchanged_since = jsonx_dup(o, "since");
    it->previous_status = (int)jsonx_int(o, "prev");
    it->analysis_from = jsonx_dup(o, "analysis_from");
    it->sha256 = jsonx_dup(o, "sha256");
    it->gen.units = NAN;
    json_t *g = json_object_get(o, "gen");
    if (json_is_object(g)) {
        it->gen.id = jsonx_dup(g, "id");
        it->gen.prompt = jsonx_dup(g, "prompt");
        it->gen.provider = jsonx_dup(g, "provider");
        it->gen.task_id = jsonx_dup(g, "task_id");
        it->gen.status = jsonx_dup(g, "status");
        it->gen.units = jsonx_num(g, "units");
    }
    it->attempts = (int)jsonx_int(o, "attempts");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "t"), i, v)
        if (i < STAGE_COUNT)
            it->stage_time[i] = json_number_value(v);
    json_array_foreach(json_object_get(o, "checks"), i, v) {
        int level = (int)json_integer_value(json_array_get(v, 3));
        int verdict = (int)json_integer_value(json_array_get(v, 4));
        /* Re-add at the level recorded; rules_add derives the verdict
         * from ok and level, so pass ok = (verdict == pass). */
        rules_add(&it->checks, jarr_str(v, 0), level, verdict == VERDICT_PASS,
                  jarr_str(v, 1), jarr_str(v, 2), "%s", jarr_str(v, 5));
    }
    json_decref(o);
    return 0;
}

static void counts_add(report_counts *c, const item_record *it)
{
    c->total++;
    switch (it->status) {
    case ITEM_DONE:      c->done++; break;
    case ITEM_QC_FAILED: c->qc_failed++; break;
    case ITEM_FAILED:    c->failed++; break;
    case ITEM_SKIPPED:
        c->skipped++;
        if (it->previous_status == ITEM_QC_FAILED)
            c->skipped_qc_failed++;
        break;
    default:             c->unknown++; break;
    }
    if (it->status == ITEM_DONE && it->warned_rules.n > 0)
        c->warned++;
    c->bytes_read += it->bytes_read;
    c->bytes_total += it->size;
    c->checks += (int64_t)it->checks.n;
    c->checks_failed += it->checks.nfail;
    c->checks_warned += it->checks.nwarn;
    for (int s = 0; s < STAGE_COUNT; s++)
        c->stage_time[s] += it->stage_time[s];
    if (it->gen.id) {
        c->generated++;
        if (isfinite(it->gen.units))
            c->units += it->gen.units;
    }
}

/* ---- recording ---- */

/* The hashes an incremental run compares: the effective settings without
 * those that change no result of a file processed ([batch]: jobs, error
 * handling, time limits, retries; [input]: which files are found,
 * downloads; [generate] and [provider.*]: how clips are generated; the
 * preset's description), and the
 * [analyse] settings alone (without enabled and timeout). Keys sorted,
 * with the vbatch version, so a new version processes everything again. */
static void settings_hashes(report *r, json_t *config)
{
    json_t *c = json_is_object(config) ? json_deep_copy(config) : json_object();
    json_object_del(c, "batch");
    json_object_del(c, "input");
    json_object_del(c, "generate");
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(c, tmp, k, v)
        if (strncmp(k, "provider.", 9) == 0)
            json_object_del(c, k);
    json_object_del(json_object_get(c, "preset"), "description");
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
    if (info->config) {
        writer *w = writer_new(WRITER_JSON);
        writer_begin_object(w, NULL);
        preset_write(info->config, w);
        writer_end_object(w);
        char *s = writer_finish(w, NULL);
        writer_free(&w);
        r->config = json_loads(s, 0, NULL);
        free(s);
    }
    settings_hashes(r, r->config);
    r->started = util_wall();
    char t0[40];
    util_iso_time(t0, sizeof t0, r->started);
    json_t *in = jlist(&r->inputs);
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

static int count_one(void *ctx, item_record *it, vb_error *e);
static int each_record(state *st, const char *id, int (*fn)(void *, item_record *, vb_error *),
                       void *ctx, vb_error *e);

report *report_reopen(const char *out_dir, const char *batch_id, const char *requeue,
                      vb_error *e)
{
    report *r = vb_xcalloc(1, sizeof *r);
    r->out_dir = vb_xstrdup(out_dir);
    state_batch b = {0};
    r->st = state_open(out_dir, STATE_WRITE, e);
    if (!r->st || state_batch_get(r->st, batch_id, &b, e) != 0 ||
        state_batch_reopen(r->st, b.id, requeue, &r->prev_wall, e) != 0 ||
        each_record(r->st, b.id, count_one, &r->counts, e) != 0) {
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
    char *s = record_encode(it);
    int rc = state_item_result(r->st, r->batch_id, it->seq, report_status_name(it->status),
                               it->source, it->folder,
                               it->status == ITEM_FAILED ? report_stage_name(it->error_stage) : NULL,
                               it->error, s, e);
    free(s);
    if (rc != 0)
        return rc;
    counts_add(&r->counts, it);
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
    if (same && record_decode(in.record_json, skipped) == 0) {
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
    char *s = record_encode(it);
    int rc = state_item_skipped(r->st, r->batch_id, it->seq, it->source, it->folder, s, e);
    free(s);
    if (rc == 0)
        counts_add(&r->counts, it);
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

/* ---- rendering ---- */

/* Replay a JSON value through a writer (the stored configuration goes
 * into batch_report.json this way). */
static void put_json(writer *w, const char *key, json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        writer_begin_object(w, key);
        json_object_foreach(v, k, x)
            put_json(w, k, x);
        writer_end_object(w);
        break;
    case JSON_ARRAY:
        writer_begin_array(w, key);
        json_array_foreach(v, i, x)
            put_json(w, NULL, x);
        writer_end_array(w);
        break;
    case JSON_STRING:  writer_string(w, key, json_string_value(v)); break;
    case JSON_INTEGER: writer_int(w, key, json_integer_value(v)); break;
    case JSON_REAL:    writer_double(w, key, json_real_value(v)); break;
    case JSON_TRUE:    writer_bool(w, key, true); break;
    case JSON_FALSE:   writer_bool(w, key, false); break;
    default:           writer_null(w, key); break;
    }
}

static void write_counts(writer *w, const report_counts *c)
{
    writer_begin_object(w, "counts");
    writer_int(w, "total", c->total);
    writer_int(w, "done", c->done);
    writer_int(w, "qc_failed", c->qc_failed);
    writer_int(w, "failed", c->failed);
    writer_int(w, "skipped", c->skipped);
    writer_int(w, "skipped_qc_failed", c->skipped_qc_failed);
    writer_int(w, "unknown", c->unknown);
    writer_int(w, "with_warnings", c->warned);
    if (c->generated)
        writer_double(w, "units_spent", round(c->units * 1e4) / 1e4);
    writer_end_object(w);
}

/* An output file written under a temporary name, renamed when complete. */
typedef struct outfile {
    char *path, *tmp;
    FILE *f;
} outfile;

static int outfile_open(outfile *o, const char *dir, const char *name, vb_error *e)
{
    o->path = util_path_join(dir, name);
    o->tmp = util_temp_name(o->path);
    o->f = fopen(o->tmp, "we");
    if (!o->f)
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", o->path, strerror(errno));
    return 0;
}

static int outfile_close(outfile *o, bool ok, vb_error *e)
{
    int rc = ok ? 0 : -1;
    if (o->f) {
        if (fclose(o->f) != 0 && rc == 0)
            rc = vb_fail(e, VB_ERR_IO, "cannot write %s: %s", o->path, strerror(errno));
        if (rc == 0 && rename(o->tmp, o->path) != 0)
            rc = vb_fail(e, VB_ERR_IO, "cannot write %s: %s", o->path, strerror(errno));
        if (rc != 0)
            unlink(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return rc;
}

/* A JSON document streamed item by item: the head is a writer object
 * whose closing brace is replaced by an array filled one item at a time;
 * every value is still encoded by jansson. */
static void jstream_head(FILE *f, writer *head, const char *array_key)
{
    size_t len;
    char *h = writer_finish(head, &len);
    char *end = strrchr(h, '}');
    if (end)
        *end = '\0';
    size_t hl = strlen(h);
    while (hl > 0 && (h[hl - 1] == '\n' || h[hl - 1] == ' '))
        h[--hl] = '\0';
    fprintf(f, "%s%s\n  \"%s\": [", h, hl > 1 ? "," : "", array_key);
    free(h);
}

static void jstream_item(FILE *f, int64_t *n, writer *w)
{
    size_t len;
    char *s = writer_finish(w, &len);
    fputs((*n)++ ? ",\n    " : "\n    ", f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            if (i + 1 < len)
                fputs("\n    ", f);
        } else {
            fputc(s[i], f);
        }
    }
    free(s);
}

static void jstream_tail(FILE *f, int64_t n)
{
    fputs(n ? "\n  ]\n}\n" : "]\n}\n", f);
}

typedef struct summary_lines {
    char *lines[SUMMARY_LINES];
    int n;
    int64_t more;
} summary_lines;

static void summary_add(summary_lines *s, char *line)
{
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    if (s->n < SUMMARY_LINES)
        s->lines[s->n++] = line;
    else {
        s->more++;
        free(line);
    }
}

static void summary_list(FILE *f, const char *title, const summary_lines *l, const char *see)
{
    if (!l->n)
        return;
    fprintf(f, "%s:\n", title);
    for (int i = 0; i < l->n; i++)
        fprintf(f, "  %s\n", l->lines[i]);
    if (l->more)
        fprintf(f, "  ... and %lld more (see %s)\n", (long long)l->more, see);
}

/* The slowest items of a batch (total seconds over their stages), kept
 * in a fixed array while the records stream by. */
#define SLOWEST_N 5
typedef struct slowest {
    int n;
    double secs[SLOWEST_N];
    char *source[SLOWEST_N];
} slowest;

static void slowest_add(slowest *s, const item_record *it)
{
    if (it->status == ITEM_SKIPPED || it->status == ITEM_UNKNOWN)
        return;             /* not processed in this batch (as far as known) */
    double t = 0;
    for (int i = 0; i < STAGE_COUNT; i++)
        if (isfinite(it->stage_time[i]))
            t += it->stage_time[i];
    int pos = s->n;
    while (pos > 0 && s->secs[pos - 1] < t)
        pos--;
    if (pos >= SLOWEST_N)
        return;
    if (s->n == SLOWEST_N)
        free(s->source[--s->n]);
    memmove(&s->secs[pos + 1], &s->secs[pos], (size_t)(s->n - pos) * sizeof s->secs[0]);
    memmove(&s->source[pos + 1], &s->source[pos], (size_t)(s->n - pos) * sizeof s->source[0]);
    s->secs[pos] = t;
    s->source[pos] = vb_xstrdup(it->source ? it->source : "");
    s->n++;
}

static void slowest_clear(slowest *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->source[i]);
    s->n = 0;
}

/* A duration for people: "4.2 ms", "350 ms", "12.34 s" (a batch of a few
 * short files takes milliseconds; "0.00 s" said nothing). */
static const char *human_secs(char *buf, size_t n, double s)
{
    if (s < 0.01)
        snprintf(buf, n, "%.1f ms", s * 1e3);
    else if (s < 1)
        snprintf(buf, n, "%.0f ms", s * 1e3);
    else
        snprintf(buf, n, "%.2f s", s);
    return buf;
}

static void summary_print(FILE *f, const char *batch_id, const report_counts *c, double wall,
                          const char *out_dir, summary_lines *fails, summary_lines *errs,
                          const slowest *slow)
{
    char d[32];
    fprintf(f, "vbatch: %s: %lld item%s in %s (%.1f files/s)\n", batch_id,
            (long long)c->total, c->total == 1 ? "" : "s", human_secs(d, sizeof d, wall),
            wall > 0 ? (double)c->total / wall : 0.0);
    fprintf(f, "  passed     %lld", (long long)c->done);
    if (c->warned)
        fprintf(f, " (%lld with warnings)", (long long)c->warned);
    fprintf(f, "\n  qc_failed  %lld\n  failed     %lld\n", (long long)c->qc_failed,
            (long long)c->failed);
    if (c->skipped) {
        fprintf(f, "  skipped    %lld (unchanged since an earlier batch", (long long)c->skipped);
        if (c->skipped_qc_failed)
            fprintf(f, "; %lld of them failed a quality gate then", (long long)c->skipped_qc_failed);
        fputs(")\n", f);
    }
    if (c->unknown)
        fprintf(f, "  unknown    %lld (a status this vbatch does not know: see results.csv)\n",
                (long long)c->unknown);
    if (c->generated)
        fprintf(f, "  units      %g spent on %lld generated item%s\n", c->units,
                (long long)c->generated, c->generated == 1 ? "" : "s");
    summary_list(f, "failed quality gates", fails, "results.csv");
    summary_list(f, "could not be processed", errs, "error_log.json");
    if (slow->n > 0) {
        fprintf(f, "slowest items:\n");
        for (int i = 0; i < slow->n; i++) {
            /* Names may hold control characters: shown as '?'. */
            fprintf(f, "  %10s  ", human_secs(d, sizeof d, slow->secs[i]));
            for (const char *p = slow->source[i]; *p; p++)
                fputc((unsigned char)*p < 0x20 ? '?' : *p, f);
            fputc('\n', f);
        }
    }
    fprintf(f, "total time: %s\n", human_secs(d, sizeof d, wall));
    if (out_dir)
        fprintf(f, "reports: %s/summary/\n", out_dir);
}

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
static int each_record(state *st, const char *id, int (*fn)(void *, item_record *, vb_error *),
                       void *ctx, vb_error *e)
{
    state_rows *rows = state_query(st, STATE_Q_RECORDS, id, e);
    if (!rows)
        return -1;
    int rc = 0, got;
    const char *col[5];
    while (rc == 0 && (got = state_rows_next(rows, col, 5, e)) == 1) {
        item_record it;
        bool known = known_status(col[1]);
        if (!col[0] || record_decode(col[0], &it) != 0) {
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

static int count_one(void *ctx, item_record *it, vb_error *e)
{
    (void)e;
    counts_add(ctx, it);
    return 0;
}

typedef struct render_ctx {
    outfile *bj, *ej;
    int64_t nb, ne;
    writer *csv;
    report_sink *junit, *html;
    summary_lines *fails, *errs;
    slowest *slow;
} render_ctx;

static int render_one(void *ctx, item_record *itp, vb_error *e)
{
    render_ctx *x = ctx;
    const item_record it = *itp;
    if (x->bj->f) {
        writer *w = writer_new(WRITER_JSON);
        writer_begin_object(w, NULL);
        item_write(&it, w);
        writer_end_object(w);
        jstream_item(x->bj->f, &x->nb, w);
        writer_free(&w);
        if (it.status == ITEM_FAILED) {
            w = writer_new(WRITER_JSON);
            writer_begin_object(w, NULL);
            writer_int(w, "seq", it.seq);
            writer_string(w, "source", it.source);
            writer_string(w, "folder", it.folder);
            writer_string(w, "stage", report_stage_name(it.error_stage));
            writer_string(w, "message", it.error);
            writer_end_object(w);
            jstream_item(x->ej->f, &x->ne, w);
            writer_free(&w);
        }
    }
    if (x->csv) {
        writer_begin_object(x->csv, NULL);
        item_write(&it, x->csv);
        writer_end_object(x->csv);
    }
    if (x->junit->item && x->junit->item(x->junit->ctx, &it, e) != 0)
        return -1;
    if (x->html->item && x->html->item(x->html->ctx, &it, e) != 0)
        return -1;
    slowest_add(x->slow, &it);
    if (it.status == ITEM_FAILED)
        summary_add(x->errs, vb_xasprintf("%s  %s: %s", it.source,
                                          report_stage_name(it.error_stage), it.error));
    else if (it.status == ITEM_QC_FAILED ||
             (it.status == ITEM_SKIPPED && it.previous_status == ITEM_QC_FAILED)) {
        char *f = vb_strlist_join(&it.failed_rules, ", ");
        char *note = it.status == ITEM_SKIPPED ? report_skip_note(&it) : NULL;
        summary_add(x->fails, vb_xasprintf("%s  %s%s%s%s", it.folder ? it.folder : it.source, f,
                                           note ? "  (skipped: " : "", note ? note : "",
                                           note ? ")" : ""));
        free(note);
        free(f);
    }
    return 0;
}

/* The folder the report files go to, made if needed; a read-only
 * OUT/summary is said so plainly, with what to do instead. */
static int summary_ready(const char *dir, bool chosen, vb_error *e)
{
    if (util_mkdir_p(dir, e) != 0)
        return -1;
    if (access(dir, W_OK) == 0)
        return 0;
    int err = errno;
    if (!chosen && (err == EROFS || err == EACCES || err == EPERM))
        return vb_fail(e, VB_ERR_USAGE,
                       "%s is read-only%s: write the reports elsewhere with --report-dir DIR,"
                       " or print the summary with --format text", dir,
                       err == EROFS ? " (a read-only file system)" : " for this user");
    return vb_fail(e, VB_ERR_IO, "cannot write into %s: %s", dir, strerror(err));
}

int report_render(const char *out_dir, const char *batch_id, unsigned formats,
                  FILE *text_out, vb_error *e)
{
    return report_render_to(out_dir, batch_id, NULL, formats, text_out, e);
}

int report_render_to(const char *out_dir, const char *batch_id, const char *to,
                     unsigned formats, FILE *text_out, vb_error *e)
{
    char *summary_dir = to ? vb_xstrdup(to) : util_path_join(out_dir, "summary");
    state_batch b = {0};
    json_t *config = NULL, *hin = NULL;
    int rc = -1;
    outfile bj = {0}, ej = {0}, csvf = {0}, ju = {0}, ht = {0};
    writer *csv = NULL;
    report_sink junit = {0}, html = {0};
    summary_lines fails = {0}, errs = {0};
    slowest slow = {0};
    bool snap = false;
    /* Read-only: a report of an archived (read-only) output folder, or
     * of one a batch is writing into, needs no lock. Both passes read
     * one snapshot, so the totals agree with the items. */
    state *st = state_open(out_dir, STATE_READ, e);
    if (!st || state_snapshot(st, true, e) != 0)
        goto out;
    snap = true;
    if (state_batch_get(st, batch_id, &b, e) != 0)
        goto out;
    const char *id = b.id;
    config = b.config_json ? json_loads(b.config_json, 0, NULL) : NULL;
    hin = json_pack("{so}", "inputs", b.inputs_json ? json_loads(b.inputs_json, 0, NULL)
                                                    : json_array());
    if (!hin)
        hin = json_object();
    /* Only the text summary: nothing is written (a read-only folder). */
    if ((formats & REPORT_FILES) && summary_ready(summary_dir, to != NULL, e) != 0)
        goto out;

    /* Pass 1: totals. */
    report_counts c = {0};
    if (each_record(st, id, count_one, &c, e) != 0)
        goto out;

    const char *preset = json_string_value(json_object_get(json_object_get(config, "preset"), "name"));
    double wall = b.wall;
    vb_strlist inputs = {0};
    jlist_get(hin, "inputs", &inputs);
    report_header rh = {
        .batch_id = id, .vbatch_version = b.version ? b.version : PACKAGE_VERSION,
        .started = b.started ? b.started : "", .finished = b.finished ? b.finished : "",
        .command_line = b.command_line ? b.command_line : "", .preset_name = preset ? preset : "",
        .inputs = &inputs, .counts = &c, .wall = wall, .out_dir = out_dir,
    };

    bool ok = true;
    if (formats & REPORT_JSON) {
        writer *head = writer_new(WRITER_JSON);
        writer_begin_object(head, NULL);
        writer_string(head, "batch_id", id);
        writer_string(head, "vbatch_version", rh.vbatch_version);
        writer_string(head, "started", rh.started);
        writer_string(head, "finished", rh.finished);
        writer_string(head, "command_line", rh.command_line);
        write_list(head, "inputs", &inputs);
        put_json(head, "config", config ? config : json_null());
        write_counts(head, &c);
        writer_end_object(head);
        writer *ehead = writer_new(WRITER_JSON);
        writer_begin_object(ehead, NULL);
        writer_string(ehead, "batch_id", id);
        writer_int(ehead, "failed", c.failed);
        writer_end_object(ehead);
        ok = outfile_open(&bj, summary_dir, "batch_report.json", e) == 0 &&
             outfile_open(&ej, summary_dir, "error_log.json", e) == 0;
        if (ok) {
            jstream_head(bj.f, head, "items");
            jstream_head(ej.f, ehead, "errors");
        }
        writer_free(&head);
        writer_free(&ehead);
    }
    if (ok && (formats & REPORT_CSV)) {
        ok = outfile_open(&csvf, summary_dir, "results.csv", e) == 0;
        if (ok) {
            csv = writer_new_stream(WRITER_CSV, csvf.f);
            writer_begin_array(csv, NULL);
        }
    }
    if (ok && (formats & REPORT_JUNIT))
        ok = outfile_open(&ju, summary_dir, "junit.xml", e) == 0 &&
             report_junit_open(&junit, ju.f, &rh, e) == 0;
    if (ok && (formats & REPORT_HTML))
        ok = outfile_open(&ht, summary_dir, "report.html", e) == 0 &&
             report_html_open(&html, ht.f, &rh, e) == 0;

    /* Pass 2: every back end, one item at a time. */
    render_ctx x = { .bj = &bj, .ej = &ej, .csv = csv, .junit = &junit, .html = &html,
                     .fails = &fails, .errs = &errs, .slow = &slow };
    if (ok && each_record(st, id, render_one, &x, e) != 0)
        ok = false;
    int64_t nb = x.nb, ne = x.ne;
    if (bj.f) {
        jstream_tail(bj.f, nb);
        jstream_tail(ej.f, ne);
    }
    if (csv) {
        writer_end_array(csv);
        free(writer_finish(csv, NULL));
        writer_free(&csv);
    }
    if (ok && junit.finish && junit.finish(junit.ctx, e) != 0)
        ok = false;
    if (ok && html.finish && html.finish(html.ctx, e) != 0)
        ok = false;
    if (junit.destroy)
        junit.destroy(junit.ctx);
    if (html.destroy)
        html.destroy(html.ctx);
    ok = outfile_close(&bj, ok, e) == 0 && ok;
    ok = outfile_close(&ej, ok, e) == 0 && ok;
    ok = outfile_close(&csvf, ok, e) == 0 && ok;
    ok = outfile_close(&ju, ok, e) == 0 && ok;
    ok = outfile_close(&ht, ok, e) == 0 && ok;

    if (ok && (formats & REPORT_JSON)) {
        writer *w = writer_new(WRITER_JSON);
        writer_begin_object(w, NULL);
        writer_string(w, "batch_id", id);
        write_counts(w, &c);
        writer_double(w, "wall_seconds", round(wall * 1e6) / 1e6);
        writer_double(w, "files_per_second", wall > 0 ? round((double)c.total / wall * 100) / 100 : 0.0);
        writer_int(w, "bytes_read", c.bytes_read);
        writer_int(w, "bytes_total", c.bytes_total);
        writer_begin_object(w, "stage_seconds");
        for (int s = 0; s < STAGE_COUNT; s++)
            writer_double(w, report_stage_name(s), round(c.stage_time[s] * 1e6) / 1e6);
        writer_end_object(w);
        writer_int(w, "checks", c.checks);
        writer_int(w, "checks_failed", c.checks_failed);
        writer_int(w, "checks_warned", c.checks_warned);
        writer_int(w, "peak_rss_kib", b.peak_rss_kib);
        writer_end_object(w);
        char *path = util_path_join(summary_dir, "processing_metrics.json");
        ok = writer_save(w, path, e) == 0;
        free(path);
        writer_free(&w);
    }
    if (ok && (formats & REPORT_TEXT) && text_out)
        summary_print(text_out, id, &c, wall, (formats & REPORT_FILES) ? out_dir : NULL, &fails,
                      &errs, &slow);
    vb_strlist_clear(&inputs);
    rc = ok ? 0 : -1;
out:
    slowest_clear(&slow);
    for (int i = 0; i < fails.n; i++)
        free(fails.lines[i]);
    for (int i = 0; i < errs.n; i++)
        free(errs.lines[i]);
    json_decref(config);
    json_decref(hin);
    state_batch_clear(&b);
    if (snap)
        state_snapshot(st, false, NULL);
    state_close(&st);
    free(summary_dir);
    return rc;
}

/* ---- status: what the journal says about batches ---- */

static const char *const journal_statuses[] = {
    "pending", "running", "done", "qc_failed", "failed", "skipped",
};
/* status_counts' slots: one per journal status, then unknown, then total. */
enum { N_UNKNOWN = VB_ARRAY_LEN(journal_statuses), N_TOTAL, N_SLOTS };

/* Items of a batch by journal status; a status this vbatch does not know
 * is counted as unknown (the counts always add up to the total). */
static int status_counts(state *st, const char *id, int64_t n[N_SLOTS], vb_error *e)
{
    memset(n, 0, N_SLOTS * sizeof n[0]);
    state_rows *rows = state_query(st, STATE_Q_COUNTS, id, e);
    if (!rows)
        return -1;
    const char *col[2];
    int got;
    while ((got = state_rows_next(rows, col, 2, e)) == 1) {
        int64_t k = col[1] ? strtoll(col[1], NULL, 10) : 0;
        size_t i = 0;
        while (i < N_UNKNOWN && !(col[0] && strcmp(col[0], journal_statuses[i]) == 0))
            i++;
        n[i] += k;
        n[N_TOTAL] += k;
    }
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

static void status_write_counts(writer *w, const int64_t n[N_SLOTS])
{
    writer_begin_object(w, "counts");
    writer_int(w, "total", n[N_TOTAL]);
    for (size_t i = 0; i < N_UNKNOWN; i++)
        writer_int(w, journal_statuses[i], n[i]);
    writer_int(w, "unknown", n[N_UNKNOWN]);
    writer_end_object(w);
}

/* Who runs in the output folder, from its lock (tested, never taken:
 * a run starting at that moment is not disturbed). */
typedef struct status_runner {
    int held;               /* state_lock_probe's answer */
    char *batch;            /* the holder's batch, when it says */
} status_runner;

/* A batch's status as shown: one the journal marks running is shown as
 * "interrupted (process gone)" when no run holds the lock, or when the
 * run that holds it says it runs another batch. */
static const char *status_shown(const status_runner *run, const char *id, const char *status)
{
    if (!status || strcmp(status, "running") != 0)
        return status;
    if (run->held == 0 || (run->held == 1 && run->batch && id && strcmp(run->batch, id) != 0))
        return "interrupted (process gone)";
    return status;
}

static int status_list(state *st, const status_runner *run, writer *w, vb_error *e)
{
    state_rows *rows = state_query(st, STATE_Q_BATCHES, NULL, e);
    if (!rows)
        return -1;
    writer_begin_array(w, "batches");
    const char *col[5];
    int got;
    while ((got = state_rows_next(rows, col, 5, e)) == 1) {
        char *id = vb_xstrdup(col[0] ? col[0] : "");
        writer_begin_object(w, NULL);
        writer_string(w, "batch_id", id);
        writer_string(w, "status", status_shown(run, id, col[3]));
        writer_string(w, "started", col[1]);
        writer_string(w, "finished", col[2]);
        writer_string(w, "command_line", col[4]);
        int64_t n[N_SLOTS];
        /* The batch query stays open: counting uses a second statement. */
        int rc = status_counts(st, id, n, e);
        free(id);
        if (rc != 0) {
            got = -1;
            break;
        }
        status_write_counts(w, n);
        writer_end_object(w);
    }
    writer_end_array(w);
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

static int status_batch(state *st, const status_runner *run, const char *id, writer *w,
                        vb_error *e)
{
    state_batch b = {0};
    if (state_batch_get(st, id, &b, e) != 0)
        return -1;
    int rc = -1;
    int64_t n[N_SLOTS];
    report_counts c = {0};
    state_rows *rows = NULL;
    if (status_counts(st, b.id, n, e) != 0 || each_record(st, b.id, count_one, &c, e) != 0)
        goto out;
    writer_string(w, "batch_id", b.id);
    writer_string(w, "status", status_shown(run, b.id, b.status));
    writer_string(w, "started", b.started);
    writer_string(w, "finished", b.finished);
    writer_string(w, "command_line", b.command_line);
    writer_string(w, "host", b.host);
    writer_string(w, "vbatch_version", b.version);
    status_write_counts(w, n);
    /* Finished: neither pending nor running (unknown ones included). */
    int64_t finished = n[N_TOTAL] - n[0] - n[1];
    writer_begin_object(w, "progress");
    writer_int(w, "finished", finished);
    writer_int(w, "total", n[N_TOTAL]);
    writer_double(w, "percent", n[N_TOTAL] ? round(1000.0 * (double)finished / (double)n[N_TOTAL]) / 10 : 0.0);
    writer_end_object(w);
    const char *col[6];
    int got;
    /* Attempts: every time a worker took an item (resume and retry add). */
    rows = state_query(st, STATE_Q_ATTEMPTS, b.id, e);
    if (!rows || (got = state_rows_next(rows, col, 2, e)) < 0)
        goto out;
    writer_begin_object(w, "attempts");
    writer_int(w, "total", got && col[0] ? strtoll(col[0], NULL, 10) : 0);
    writer_int(w, "items_retried", got && col[1] ? strtoll(col[1], NULL, 10) : 0);
    writer_end_object(w);
    state_rows_free(&rows);
    /* The items being worked on (a batch running, or one killed). */
    writer_begin_array(w, "running");
    rows = state_query(st, STATE_Q_RUNNING, b.id, e);
    if (!rows)
        goto out;
    while ((got = state_rows_next(rows, col, 4, e)) == 1) {
        writer_begin_object(w, NULL);
        writer_int(w, "seq", col[0] ? strtoll(col[0], NULL, 10) : 0);
        writer_string(w, "source", col[1]);
        writer_int(w, "attempts", col[2] ? strtoll(col[2], NULL, 10) : 0);
        if (col[3])
            writer_double(w, "seconds", strtod(col[3], NULL));
        else
            writer_null(w, "seconds");
        writer_end_object(w);
    }
    writer_end_array(w);
    if (got < 0)
        goto out;
    state_rows_free(&rows);
    writer_begin_array(w, "failures");
    rows = state_query(st, STATE_Q_FAILURES, b.id, e);
    if (!rows)
        goto out;
    while ((got = state_rows_next(rows, col, 6, e)) == 1) {
        writer_begin_object(w, NULL);
        writer_int(w, "seq", col[0] ? strtoll(col[0], NULL, 10) : 0);
        writer_string(w, "source", col[1]);
        writer_string(w, "folder", col[5]);
        writer_string(w, "stage", col[2]);
        writer_string(w, "message", col[3]);
        writer_int(w, "attempts", col[4] ? strtoll(col[4], NULL, 10) : 0);
        writer_end_object(w);
    }
    writer_end_array(w);
    if (got < 0)
        goto out;
    /* Timings: the batch's wall time (all its runs, once one has ended),
     * the items' time per stage (summed over workers). */
    if (b.finished)
        writer_double(w, "wall_seconds", round(b.wall * 1e3) / 1e3);
    else
        writer_null(w, "wall_seconds");
    writer_begin_object(w, "stage_seconds");
    for (int s = STAGE_FETCH; s < STAGE_RECORD; s++)
        writer_double(w, report_stage_name(s), round(c.stage_time[s] * 1e3) / 1e3);
    writer_end_object(w);
    rc = 0;
out:
    state_rows_free(&rows);
    state_batch_clear(&b);
    return rc;
}

int report_status(const char *out_dir, const char *batch_id, writer *w, vb_error *e)
{
    state *st = state_open(out_dir, STATE_READ, e);
    if (!st)
        return -1;
    /* The lock tested before and after the journal's snapshot is taken:
     * a run holding it at either time was running when the snapshot
     * was (one ending marks its batch before it lets the lock go, one
     * starting takes the lock before it writes). */
    status_runner run = {0};
    long pid;
    char *batch2 = NULL;
    int held = state_lock_probe(out_dir, &pid, &run.batch);
    int rc = -1;
    if (state_snapshot(st, true, e) == 0) {
        int held2 = state_lock_probe(out_dir, &pid, &batch2);
        run.held = held == 1 || held2 == 1 ? 1 : held < 0 || held2 < 0 ? -1 : 0;
        if (held2 == 1 && held != 1) {
            free(run.batch);
            run.batch = batch2;
            batch2 = NULL;
        } else if (held2 == 1 && held == 1 && (!run.batch || !batch2 ||
                                               strcmp(run.batch, batch2) != 0)) {
            free(run.batch);    /* two runs one after the other: either */
            run.batch = NULL;
        }
        rc = batch_id ? status_batch(st, &run, batch_id, w, e) : status_list(st, &run, w, e);
        state_snapshot(st, false, NULL);
    }
    free(batch2);
    free(run.batch);
    state_close(&st);
    return rc;
}

/* ---- the settings of a recorded batch ---- */

/* The stored settings as INI text for preset_load_string: lists joined,
 * null (not set) left out. */
static char *config_to_ini(json_t *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    const char *sec, *k;
    json_t *v, *x;
    json_object_foreach(cfg, sec, v) {
        fprintf(f, "[%s]\n", sec);
        json_object_foreach(v, k, x) {
            /* null: not set, as in the defaults (the round trip checks) */
            if ((strcmp(sec, "preset") == 0 && strcmp(k, "name") == 0) || json_is_null(x))
                continue;
            fprintf(f, "%s = ", k);
            size_t i;
            json_t *y;
            switch (json_typeof(x)) {
            case JSON_STRING:  fputs(json_string_value(x), f); break;
            case JSON_INTEGER: fprintf(f, "%lld", (long long)json_integer_value(x)); break;
            case JSON_REAL:    fprintf(f, "%.17g", json_real_value(x)); break;
            case JSON_TRUE:    fputs("true", f); break;
            case JSON_FALSE:   fputs("false", f); break;
            case JSON_ARRAY:
                json_array_foreach(x, i, y)
                    fprintf(f, "%s%s", i ? ", " : "", json_string_value(y) ? json_string_value(y) : "");
                break;
            default:           break;
            }
            fputc('\n', f);
        }
    }
    fclose(f);
    return buf;
}

int report_load_config(const char *out_dir, const char *batch_id, vb_config *c, vb_error *e)
{
    state_batch b = {0};
    state *st = state_open(out_dir, STATE_READ, e);
    int rc = -1;
    json_t *cfg = NULL;
    if (!st || state_batch_get(st, batch_id, &b, e) != 0)
        goto out;
    cfg = b.config_json ? json_loads(b.config_json, 0, NULL) : NULL;
    if (!json_is_object(cfg)) {
        vb_fail(e, VB_ERR_IO, "batch %s: no settings recorded", b.id);
        goto out;
    }
    char *ini = config_to_ini(cfg);
    char *origin = vb_xasprintf("the settings of batch %s", b.id);
    rc = preset_load_string(c, ini, origin, e);
    free(ini);
    free(origin);
    const char *name = json_string_value(json_object_get(json_object_get(cfg, "preset"), "name"));
    if (rc == 0 && name) {
        free(c->name);
        c->name = vb_xstrdup(name);
    }
    if (rc == 0) {
        /* Resume only with exactly the settings the batch ran with. */
        writer *w = writer_new(WRITER_JSON);
        writer_begin_object(w, NULL);
        preset_write(c, w);
        writer_end_object(w);
        char *s = writer_finish(w, NULL);
        writer_free(&w);
        json_t *again = json_loads(s, 0, NULL);
        free(s);
        /* Every recorded key must come back as it was; keys a newer
         * vbatch added are not in an older journal and keep their
         * defaults. */
        const char *sec, *k;
        json_t *v, *x;
        bool same = json_is_object(again);
        json_object_foreach(cfg, sec, v) {
            json_t *sa = json_object_get(again, sec);
            json_object_foreach(v, k, x) {
                if (!(strcmp(sec, "preset") == 0 && strcmp(k, "name") == 0) &&
                    !json_equal(x, json_object_get(sa, k)))
                    same = false;
            }
        }
        if (!same)
            rc = vb_fail(e, VB_ERR_CONFIG, "batch %s: its settings can not be restored", b.id);
        json_decref(again);
    }
out:
    json_decref(cfg);
    state_batch_clear(&b);
    state_close(&st);
    return rc;
}
