/* report-render.c - the summary files, rendered from the journal
 * (report_render, at the end of a batch and behind `vbatch report`).
 *
 * Two streaming passes over the batch's records, from one snapshot of the
 * journal. The first counts (the JUnit and HTML heads need totals), the
 * second feeds every requested back end at once, one item at a time:
 * batch_report.json and error_log.json (the writer's JSON back end,
 * streaming), results.csv (the CSV back end, streaming), junit.xml and
 * report.html (report sinks), and the text summary. Each file is written
 * under a temporary name and renamed when complete. */
#include "config.h"
#include "report.h"
#include "report-impl.h"
#include "msg.h"
#include "report-record.h"
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
    if (c->fixed)
        writer_int(w, "fixed", c->fixed);
    if (c->generated) {
        writer_double(w, "units_spent", round(c->units * 1e4) / 1e4);
        /* What a usable clip costs, the failed generations paid for too. */
        if (c->generated_passed)
            writer_double(w, "units_per_passed_clip",
                          round(c->units / (double)c->generated_passed * 1e4) / 1e4);
        else
            writer_null(w, "units_per_passed_clip");
    }
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

typedef struct summary_lines {
    char *lines[SUMMARY_LINES];
    int n;
    int64_t more;
} summary_lines;

static void summary_add(summary_lines *s, char *line)
{
    msg_printable(line);
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
    s->source[pos] = msg_printable_dup(it->source);
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
    if (c->fixed)
        fprintf(f, " (%lld fixed)", (long long)c->fixed);
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
    if (c->generated) {
        fprintf(f, "  units      %g spent on %lld generated item%s", c->units,
                (long long)c->generated, c->generated == 1 ? "" : "s");
        if (c->generated_passed)
            fprintf(f, ": %.4g a passed clip (%lld passed; failed generations included)\n",
                    c->units / (double)c->generated_passed, (long long)c->generated_passed);
        else
            fputs(": no clip passed\n", f);
    }
    summary_list(f, "failed quality gates", fails, "results.csv");
    summary_list(f, "could not be processed", errs, "error_log.json");
    if (slow->n > 0) {
        fprintf(f, "slowest items:\n");
        for (int i = 0; i < slow->n; i++) {
            /* Names may hold control characters: made '?' (slowest_add). */
            fprintf(f, "  %10s  %s\n", human_secs(d, sizeof d, slow->secs[i]), slow->source[i]);
        }
    }
    fprintf(f, "total time: %s\n", human_secs(d, sizeof d, wall));
    if (out_dir)
        fprintf(f, "reports: %s/summary/\n", out_dir);
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

/* One rendering: what the batch is, and every output being written. */
typedef struct render {
    const char *out_dir;
    char *summary_dir;
    unsigned formats;
    state_batch b;
    const char *id;               /* b.id */
    json_t *config;               /* the recorded settings, or NULL */
    vb_strlist inputs;
    report_counts c;              /* pass 1 */
    report_header rh;
    outfile bj, ej, csvf, ju, ht;
    writer *bjw, *ejw, *csv;      /* streaming into bj, ej, csvf */
    bool json_lines;              /* batch_report.json as JSON Lines */
    report_sink junit, html, github;
    FILE *text_out;               /* the text views: summary, annotations */
    FILE *step_summary;           /* $GITHUB_STEP_SUMMARY, appended to */
    summary_lines fails, errs;
    slowest slow;
} render;

/* The batch and its totals (pass 1). */
static int render_load(render *x, state *st, const char *batch_id, bool chosen,
                       vb_error *e)
{
    if (state_batch_get(st, batch_id, &x->b, e) != 0)
        return -1;
    x->id = x->b.id;
    x->config = x->b.config_json ? json_loads(x->b.config_json, 0, NULL) : NULL;
    json_t *in = x->b.inputs_json ? json_loads(x->b.inputs_json, 0, NULL) : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v)
        vb_strlist_add(&x->inputs, json_string_value(v) ? json_string_value(v) : "");
    json_decref(in);
    /* Only the text summary: nothing is written (a read-only folder). */
    if ((x->formats & REPORT_FILES) && summary_ready(x->summary_dir, chosen, e) != 0)
        return -1;
    if (report_each_record(st, x->id, report_count_one, &x->c, e) != 0)
        return -1;
    const char *preset =
        json_string_value(json_object_get(json_object_get(x->config, "preset"), "name"));
    const state_batch *b = &x->b;
    x->rh = (report_header){
        .batch_id = x->id, .vbatch_version = b->version ? b->version : PACKAGE_VERSION,
        .started = b->started ? b->started : "", .finished = b->finished ? b->finished : "",
        .command_line = b->command_line ? b->command_line : "",
        .preset_name = preset ? preset : "", .inputs = &x->inputs, .counts = &x->c,
        .wall = b->wall, .out_dir = x->out_dir,
    };
    return 0;
}

static void write_list(writer *w, const char *k, const vb_strlist *l)
{
    writer_begin_array(w, k);
    for (size_t i = 0; i < l->n; i++)
        writer_string(w, NULL, l->v[i]);
    writer_end_array(w);
}

/* batch_report.json and error_log.json, up to their arrays of items. */
/* [output] json_lines as the batch ran (older journals: auto at the
 * default size): a document of 100,000 items is one no JSON tool reads
 * without holding it all, while JSON Lines read one item at a time. */
static bool render_json_lines(const render *x)
{
    json_t *o = json_object_get(x->config, "output");
    const char *mode = json_string_value(json_object_get(o, "json_lines"));
    json_t *min = json_object_get(o, "json_lines_min");
    if (mode && strcmp(mode, "yes") == 0)
        return true;
    if (mode && strcmp(mode, "no") == 0)
        return false;
    json_int_t n = json_is_integer(min) ? json_integer_value(min) : JSON_LINES_MIN_DEFAULT;
    return x->c.total >= n;
}

static int render_json_open(render *x, vb_error *e)
{
    if (outfile_open(&x->bj, x->summary_dir, "batch_report.json", e) != 0 ||
        outfile_open(&x->ej, x->summary_dir, "error_log.json", e) != 0)
        return -1;
    x->json_lines = render_json_lines(x);
    writer *w = x->bjw =
        writer_new_stream(x->json_lines ? WRITER_JSON_LINES : WRITER_JSON, x->bj.f);
    writer_begin_object(w, NULL);
    writer_int(w, "schema_version", VB_SCHEMA_VERSION);
    writer_string(w, "batch_id", x->id);
    writer_string(w, "vbatch_version", x->rh.vbatch_version);
    writer_string(w, "started", x->rh.started);
    writer_string(w, "finished", x->rh.finished);
    writer_string(w, "command_line", x->rh.command_line);
    write_list(w, "inputs", &x->inputs);
    put_json(w, "config", x->config ? x->config : json_null());
    write_counts(w, &x->c);
    /* JSON Lines: this first line is the batch, each item a line after. */
    if (x->json_lines) {
        writer_string(w, "format", "json_lines");
        writer_end_object(w);
    } else {
        writer_begin_array(w, "items");
    }
    w = x->ejw = writer_new_stream(WRITER_JSON, x->ej.f);
    writer_begin_object(w, NULL);
    writer_int(w, "schema_version", VB_SCHEMA_VERSION);
    writer_string(w, "batch_id", x->id);
    writer_int(w, "failed", x->c.failed);
    writer_begin_array(w, "errors");
    return 0;
}

/* Every file asked for, open and begun. */
static int render_open(render *x, vb_error *e)
{
    if ((x->formats & REPORT_JSON) && render_json_open(x, e) != 0)
        return -1;
    if (x->formats & REPORT_CSV) {
        if (outfile_open(&x->csvf, x->summary_dir, "results.csv", e) != 0)
            return -1;
        x->csv = writer_new_stream(WRITER_CSV, x->csvf.f);
        /* As the batch ran (older journals: the defaults). */
        json_t *o = json_object_get(x->config, "output");
        const char *sep = json_string_value(json_object_get(o, "csv_separator"));
        writer_csv_options(x->csv, sep && strcmp(sep, "semicolon") == 0 ? ';' : ',',
                           json_is_true(json_object_get(o, "csv_bom")));
        writer_begin_array(x->csv, NULL);
    }
    if ((x->formats & REPORT_JUNIT) &&
        (outfile_open(&x->ju, x->summary_dir, "junit.xml", e) != 0 ||
         report_junit_open(&x->junit, x->ju.f, &x->rh, e) != 0))
        return -1;
    if ((x->formats & REPORT_HTML) &&
        (outfile_open(&x->ht, x->summary_dir, "report.html", e) != 0 ||
         report_html_open(&x->html, x->ht.f, &x->rh, e) != 0))
        return -1;
    if ((x->formats & REPORT_GITHUB) && x->text_out) {
        /* The runner's file, meant to be appended to: not an output of
         * ours, so not written to a temporary name. */
        const char *md = getenv("GITHUB_STEP_SUMMARY");
        if (md && md[0] && !(x->step_summary = fopen(md, "a")))
            return vb_fail(e, VB_ERR_IO, "cannot append to $GITHUB_STEP_SUMMARY %s: %s", md,
                           strerror(errno));
        if (report_github_open(&x->github, x->text_out, x->step_summary, &x->rh, e) != 0)
            return -1;
    }
    return 0;
}

/* What the text summary lists about an item. */
static void render_summary_item(render *x, const item_record *it)
{
    slowest_add(&x->slow, it);
    if (it->status == ITEM_FAILED)
        summary_add(&x->errs, vb_xasprintf("%s  %s: %s", it->source,
                                           report_stage_name(it->error_stage), it->error));
    else if (it->status == ITEM_QC_FAILED ||
             (it->status == ITEM_SKIPPED && it->previous_status == ITEM_QC_FAILED)) {
        char *f = report_rules_brief(it, VERDICT_FAIL);
        char *note = it->status == ITEM_SKIPPED ? report_skip_note(it) : NULL;
        summary_add(&x->fails, vb_xasprintf("%s  %s%s%s%s", it->folder ? it->folder : it->source,
                                            f, note ? "  (skipped: " : "", note ? note : "",
                                            note ? ")" : ""));
        free(note);
        free(f);
    }
}

/* Pass 2: one item into every back end. */
static int render_one(void *ctx, item_record *it, vb_error *e)
{
    render *x = ctx;
    if (x->bjw) {
        writer_begin_object(x->bjw, NULL);
        report_record_write(it, x->bjw);
        writer_end_object(x->bjw);
        if (it->status == ITEM_FAILED) {
            writer *w = x->ejw;
            writer_begin_object(w, NULL);
            writer_int(w, "seq", it->seq);
            writer_string(w, "source", it->source);
            writer_string(w, "folder", it->folder);
            writer_string(w, "stage", report_stage_name(it->error_stage));
            writer_string(w, "message", it->error);
            writer_end_object(w);
        }
    }
    if (x->csv) {
        writer_begin_object(x->csv, NULL);
        report_record_write(it, x->csv);
        writer_end_object(x->csv);
    }
    if (x->junit.item && x->junit.item(x->junit.ctx, it, e) != 0)
        return -1;
    if (x->html.item && x->html.item(x->html.ctx, it, e) != 0)
        return -1;
    if (x->github.item && x->github.item(x->github.ctx, it, e) != 0)
        return -1;
    render_summary_item(x, it);
    return 0;
}

/* A streaming writer's document ended (its array, its object). */
static void render_end_stream(writer **w)
{
    if (!*w)
        return;
    writer_end_array(*w);
    writer_end_object(*w);
    free(writer_finish(*w, NULL));
    writer_free(w);
}

/* Every file ended, and renamed into place when all went well. */
static bool render_close(render *x, bool ok, vb_error *e)
{
    if (x->json_lines && x->bjw) {
        free(writer_finish(x->bjw, NULL));
        writer_free(&x->bjw);
    }
    render_end_stream(&x->bjw);
    render_end_stream(&x->ejw);
    if (x->csv) {
        writer_end_array(x->csv);
        free(writer_finish(x->csv, NULL));
        writer_free(&x->csv);
    }
    if (ok && x->junit.finish && x->junit.finish(x->junit.ctx, e) != 0)
        ok = false;
    if (ok && x->html.finish && x->html.finish(x->html.ctx, e) != 0)
        ok = false;
    if (ok && x->github.finish && x->github.finish(x->github.ctx, e) != 0)
        ok = false;
    if (x->junit.destroy)
        x->junit.destroy(x->junit.ctx);
    if (x->html.destroy)
        x->html.destroy(x->html.ctx);
    if (x->github.destroy)
        x->github.destroy(x->github.ctx);
    x->junit = x->html = x->github = (report_sink){0};
    if (x->step_summary && fclose(x->step_summary) != 0 && ok) {
        vb_fail(e, VB_ERR_IO, "cannot write $GITHUB_STEP_SUMMARY: %s", strerror(errno));
        ok = false;
    }
    x->step_summary = NULL;
    ok = outfile_close(&x->bj, ok, e) == 0 && ok;
    ok = outfile_close(&x->ej, ok, e) == 0 && ok;
    ok = outfile_close(&x->csvf, ok, e) == 0 && ok;
    ok = outfile_close(&x->ju, ok, e) == 0 && ok;
    ok = outfile_close(&x->ht, ok, e) == 0 && ok;
    return ok;
}

/* processing_metrics.json: the batch's totals and timings. */
static int render_metrics(const render *x, vb_error *e)
{
    const report_counts *c = &x->c;
    double wall = x->b.wall;
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_int(w, "schema_version", VB_SCHEMA_VERSION);
    writer_string(w, "batch_id", x->id);
    write_counts(w, c);
    writer_double(w, "wall_seconds", round(wall * 1e6) / 1e6);
    writer_double(w, "files_per_second", wall > 0 ? round((double)c->total / wall * 100) / 100 : 0.0);
    writer_int(w, "bytes_read", c->bytes_read);
    writer_int(w, "bytes_total", c->bytes_total);
    writer_begin_object(w, "stage_seconds");
    for (int s = 0; s < STAGE_COUNT; s++)
        writer_double(w, report_stage_name(s), round(c->stage_time[s] * 1e6) / 1e6);
    writer_end_object(w);
    writer_int(w, "checks", c->checks);
    writer_int(w, "checks_failed", c->checks_failed);
    writer_int(w, "checks_warned", c->checks_warned);
    writer_int(w, "peak_rss_kib", x->b.peak_rss_kib);
    writer_end_object(w);
    char *path = util_path_join(x->summary_dir, "processing_metrics.json");
    int rc = writer_save(w, path, e);
    free(path);
    writer_free(&w);
    return rc;
}

static void render_clear(render *x)
{
    render_close(x, false, NULL);
    slowest_clear(&x->slow);
    for (int i = 0; i < x->fails.n; i++)
        free(x->fails.lines[i]);
    for (int i = 0; i < x->errs.n; i++)
        free(x->errs.lines[i]);
    json_decref(x->config);
    vb_strlist_clear(&x->inputs);
    state_batch_clear(&x->b);
    free(x->summary_dir);
}

int report_render(const char *out_dir, const char *batch_id, unsigned formats,
                  FILE *text_out, vb_error *e)
{
    return report_render_to(out_dir, batch_id, NULL, formats, text_out, e);
}

int report_render_to(const char *out_dir, const char *batch_id, const char *to,
                     unsigned formats, FILE *text_out, vb_error *e)
{
    render x = {
        .out_dir = out_dir, .formats = formats, .text_out = text_out,
        .summary_dir = to ? vb_xstrdup(to) : util_path_join(out_dir, "summary"),
    };
    int rc = -1;
    /* Read-only: a report of an archived (read-only) output folder, or
     * of one a batch is writing into, needs no lock. Both passes read
     * one snapshot, so the totals agree with the items. */
    state *st = state_open(out_dir, STATE_READ, e);
    if (!st || state_snapshot(st, true, e) != 0) {
        state_close(&st);
        free(x.summary_dir);
        return -1;
    }
    if (render_load(&x, st, batch_id, to != NULL, e) != 0)
        goto out;
    bool ok = render_open(&x, e) == 0;
    if (ok && report_each_record(st, x.id, render_one, &x, e) != 0)
        ok = false;
    ok = render_close(&x, ok, e);
    if (ok && (formats & REPORT_JSON))
        ok = render_metrics(&x, e) == 0;
    if (ok && (formats & REPORT_TEXT) && text_out)
        summary_print(text_out, x.id, &x.c, x.b.wall, (formats & REPORT_FILES) ? out_dir : NULL,
                      &x.fails, &x.errs, &x.slow);
    rc = ok ? 0 : -1;
out:
    render_clear(&x);
    state_snapshot(st, false, NULL);
    state_close(&st);
    return rc;
}
