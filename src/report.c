/* report.c - per-item records and the summary reports.
 *
 * Each finished item is appended, in batch order, as one JSON line to a
 * spool in OUT/.vbatch/, so memory stays flat however many items a batch
 * has. At the end the summary files are produced from the spool in one
 * streaming pass: batch_report.json and error_log.json are written item
 * by item (each item object encoded by the writer's JSON back end, i.e.
 * jansson), results.csv through the CSV back end in streaming mode. */
#include "config.h"
#include "report.h"
#include "util.h"
#include "writer.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct report {
    char *out_dir;
    char *summary_dir;
    char *spool_path;
    FILE *spool;
    report_batch_info info;
    vb_strlist inputs;       /* copy of info.inputs */
    char *batch_id, *command_line;
    double started;          /* wall clock */
    report_counts counts;
    int exit_status;
};

static const char *const stage_names[STAGE_COUNT] = {
    "discover", "fetch", "probe", "check", "publish", "record",
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


void item_record_clear(item_record *r)
{
    free(r->source); free(r->folder); free(r->video); free(r->error);
    free(r->container); free(r->video_codec); free(r->audio_codec);
    vb_strlist_clear(&r->failed_rules);
    vb_strlist_clear(&r->warned_rules);
    memset(r, 0, sizeof *r);
}

/* ---- the item as every report shows it ---- */

static void write_opt_double(writer *w, const char *k, double v)
{
    if (isfinite(v) && v > 0)
        writer_double(w, k, v);
    else
        writer_null(w, k);
}

static void write_opt_int(writer *w, const char *k, int64_t v)
{
    if (v > 0)
        writer_int(w, k, v);
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

static void item_write(const item_record *it, writer *w)
{
    writer_int(w, "seq", it->seq);
    writer_string(w, "source", it->source);
    writer_string(w, "folder", it->folder);
    writer_string(w, "video", it->video);
    writer_string(w, "status", report_status_name(it->status));
    if (it->status == ITEM_FAILED)
        writer_null(w, "verdict");
    else
        writer_string(w, "verdict", rules_verdict_name(it->verdict));
    write_list(w, "failed_rules", &it->failed_rules);
    write_list(w, "warned_rules", &it->warned_rules);
    writer_string(w, "error_stage", it->status == ITEM_FAILED ? report_stage_name(it->error_stage) : NULL);
    writer_string(w, "error", it->error);
    writer_string(w, "container", it->container);
    writer_string(w, "video_codec", it->video_codec);
    writer_string(w, "audio_codec", it->audio_codec);
    write_opt_double(w, "duration", it->duration);
    write_opt_int(w, "width", it->width);
    write_opt_int(w, "height", it->height);
    write_opt_double(w, "fps", it->fps);
    write_opt_int(w, "size", it->size);
    write_opt_int(w, "bit_rate", it->bit_rate);
    writer_begin_object(w, "seconds");
    for (int s = STAGE_FETCH; s < STAGE_RECORD; s++)
        writer_double(w, report_stage_name(s), round(it->stage_time[s] * 1e6) / 1e6);
    writer_end_object(w);
}

/* ---- spool: one compact JSON line per item ---- */

static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (!v) {
        char *fixed = util_utf8_sanitize(s);
        v = json_string(fixed);
        free(fixed);
    }
    return v;
}

static json_t *jlist(const vb_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, jstr(l->v[i]));
    return a;
}

static char *spool_encode(const item_record *it)
{
    json_t *t = json_array();
    for (int s = 0; s < STAGE_COUNT; s++)
        json_array_append_new(t, json_real(it->stage_time[s]));
    json_t *o = json_pack("{sI so so so si si si so so so so so so sf sf si si sI sI sI so}",
        "seq", (json_int_t)it->seq, "source", jstr(it->source), "folder", jstr(it->folder),
        "video", jstr(it->video), "status", it->status, "verdict", it->verdict,
        "error_stage", it->error_stage, "error", jstr(it->error),
        "failed", jlist(&it->failed_rules), "warned", jlist(&it->warned_rules),
        "container", jstr(it->container), "vcodec", jstr(it->video_codec),
        "acodec", jstr(it->audio_codec),
        "duration", isfinite(it->duration) ? it->duration : 0.0,
        "fps", isfinite(it->fps) ? it->fps : 0.0, "width", it->width, "height", it->height,
        "size", (json_int_t)it->size, "bit_rate", (json_int_t)it->bit_rate,
        "bytes_read", (json_int_t)it->bytes_read, "t", t);
    /* 'o' hands our references to the object. */
    if (!o)
        abort();
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

static char *jdup(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? vb_xstrdup(s) : NULL;
}

static void jlist_get(json_t *o, const char *k, vb_strlist *l)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, k), i, v)
        vb_strlist_add(l, json_string_value(v));
}

static int spool_decode(const char *line, item_record *it)
{
    json_t *o = json_loads(line, 0, NULL);
    if (!o)
        return -1;
    memset(it, 0, sizeof *it);
    it->seq = json_integer_value(json_object_get(o, "seq"));
    it->source = jdup(o, "source");
    it->folder = jdup(o, "folder");
    it->video = jdup(o, "video");
    it->status = (int)json_integer_value(json_object_get(o, "status"));
    it->verdict = (int)json_integer_value(json_object_get(o, "verdict"));
    it->error_stage = (int)json_integer_value(json_object_get(o, "error_stage"));
    it->error = jdup(o, "error");
    jlist_get(o, "failed", &it->failed_rules);
    jlist_get(o, "warned", &it->warned_rules);
    it->container = jdup(o, "container");
    it->video_codec = jdup(o, "vcodec");
    it->audio_codec = jdup(o, "acodec");
    it->duration = json_real_value(json_object_get(o, "duration"));
    it->fps = json_real_value(json_object_get(o, "fps"));
    it->width = (int)json_integer_value(json_object_get(o, "width"));
    it->height = (int)json_integer_value(json_object_get(o, "height"));
    it->size = json_integer_value(json_object_get(o, "size"));
    it->bit_rate = json_integer_value(json_object_get(o, "bit_rate"));
    it->bytes_read = json_integer_value(json_object_get(o, "bytes_read"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "t"), i, v)
        if (i < STAGE_COUNT)
            it->stage_time[i] = json_number_value(v);
    json_decref(o);
    return 0;
}

report *report_open(const char *out_dir, const report_batch_info *info, vb_error *e)
{
    report *r = vb_xcalloc(1, sizeof *r);
    r->out_dir = vb_xstrdup(out_dir);
    r->summary_dir = util_path_join(out_dir, "summary");
    char *state = util_path_join(out_dir, ".vbatch");
    if (util_mkdir_p(r->summary_dir, e) != 0 || util_mkdir_p(state, e) != 0) {
        free(state);
        report_free(&r);
        return NULL;
    }
    char *name = vb_xasprintf("spool-%s-%ld.jsonl", info->batch_id, (long)getpid());
    r->spool_path = util_path_join(state, name);
    free(name);
    free(state);
    r->spool = fopen(r->spool_path, "w+e");
    if (!r->spool) {
        vb_fail(e, VB_ERR_IO, "cannot create %s: %s", r->spool_path, strerror(errno));
        report_free(&r);
        return NULL;
    }
    r->info = *info;
    r->batch_id = vb_xstrdup(info->batch_id);
    r->command_line = vb_xstrdup(info->command_line ? info->command_line : "");
    if (info->inputs)
        for (size_t i = 0; i < info->inputs->n; i++)
            vb_strlist_add(&r->inputs, info->inputs->v[i]);
    r->started = util_wall();
    return r;
}

int report_add(report *r, const item_record *it, vb_error *e)
{
    char *s = spool_encode(it);
    int rc = fprintf(r->spool, "%s\n", s);
    free(s);
    if (rc < 0)
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", r->spool_path, strerror(errno));
    report_counts *c = &r->counts;
    c->total++;
    switch (it->status) {
    case ITEM_DONE:      c->done++; break;
    case ITEM_QC_FAILED: c->qc_failed++; break;
    case ITEM_FAILED:    c->failed++; break;
    default:             c->skipped++; break;
    }
    if (it->status == ITEM_DONE && it->warned_rules.n > 0)
        c->warned++;
    c->bytes_read += it->bytes_read;
    c->bytes_total += it->size;
    for (int s2 = 0; s2 < STAGE_COUNT; s2++)
        c->stage_time[s2] += it->stage_time[s2];
    return 0;
}

const report_counts *report_get_counts(const report *r)
{
    return &r->counts;
}

static void write_counts(writer *w, const report_counts *c)
{
    writer_begin_object(w, "counts");
    writer_int(w, "total", c->total);
    writer_int(w, "done", c->done);
    writer_int(w, "qc_failed", c->qc_failed);
    writer_int(w, "failed", c->failed);
    writer_int(w, "skipped", c->skipped);
    writer_int(w, "with_warnings", c->warned);
    writer_end_object(w);
}

/* A streamed JSON document: the head is a writer object whose closing
 * brace is replaced by the items array, filled one item at a time. */
typedef struct jstream {
    char *path, *tmp;
    FILE *f;
    int n;
} jstream;

static int jstream_open(jstream *js, const char *path, writer *head, const char *array_key,
                        vb_error *e)
{
    memset(js, 0, sizeof *js);
    js->path = vb_xstrdup(path);
    js->tmp = util_temp_name(path);
    js->f = fopen(js->tmp, "we");
    if (!js->f) {
        vb_fail(e, VB_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t len;
    char *h = writer_finish(head, &len);
    /* "{ ... }\n" -> "{ ...," + "\"items\": [" */
    char *end = strrchr(h, '}');
    if (end)
        *end = '\0';
    size_t hl = strlen(h);
    while (hl > 0 && (h[hl - 1] == '\n' || h[hl - 1] == ' '))
        h[--hl] = '\0';
    fprintf(js->f, "%s%s\n  \"%s\": [", h, hl > 1 ? "," : "", array_key);
    free(h);
    return 0;
}

static void jstream_item(jstream *js, const item_record *it, bool errors_only)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    if (errors_only) {
        writer_int(w, "seq", it->seq);
        writer_string(w, "source", it->source);
        writer_string(w, "folder", it->folder);
        writer_string(w, "stage", report_stage_name(it->error_stage));
        writer_string(w, "message", it->error);
    } else {
        item_write(it, w);
    }
    writer_end_object(w);
    size_t len;
    char *s = writer_finish(w, &len);
    writer_free(&w);
    /* indent the item by four spaces to sit inside the array */
    fputs(js->n++ ? ",\n    " : "\n    ", js->f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            if (i + 1 < len)
                fputs("\n    ", js->f);
        } else {
            fputc(s[i], js->f);
        }
    }
    free(s);
}

static int jstream_close(jstream *js, bool ok, vb_error *e)
{
    int rc = 0;
    if (js->f) {
        fputs(js->n ? "\n  ]\n}\n" : "]\n}\n", js->f);
        if (fclose(js->f) != 0 && ok) {
            vb_fail(e, VB_ERR_IO, "cannot write %s: %s", js->path, strerror(errno));
            ok = false;
        }
        if (ok && rename(js->tmp, js->path) != 0) {
            vb_fail(e, VB_ERR_IO, "cannot write %s: %s", js->path, strerror(errno));
            ok = false;
        }
        if (!ok)
            unlink(js->tmp);
    }
    rc = ok ? 0 : -1;
    free(js->path);
    free(js->tmp);
    memset(js, 0, sizeof *js);
    return rc;
}

static int write_metrics(report *r, double wall, vb_error *e)
{
    const report_counts *c = &r->counts;
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_string(w, "batch_id", r->batch_id);
    write_counts(w, c);
    writer_double(w, "wall_seconds", round(wall * 1e6) / 1e6);
    writer_double(w, "files_per_second", wall > 0 ? round((double)c->total / wall * 100) / 100 : 0.0);
    writer_int(w, "bytes_read", c->bytes_read);
    writer_int(w, "bytes_total", c->bytes_total);
    writer_begin_object(w, "stage_seconds");
    for (int s = 0; s < STAGE_COUNT; s++)
        writer_double(w, report_stage_name(s), round(c->stage_time[s] * 1e6) / 1e6);
    writer_end_object(w);
    writer_int(w, "peak_rss_kib", util_peak_rss_kib());
    writer_end_object(w);
    char *path = util_path_join(r->summary_dir, "processing_metrics.json");
    int rc = writer_save(w, path, e);
    free(path);
    writer_free(&w);
    return rc;
}

int report_finish(report *r, double wall, vb_error *e)
{
    if (fflush(r->spool) != 0 || fseek(r->spool, 0, SEEK_SET) != 0)
        return vb_fail(e, VB_ERR_IO, "cannot read back %s: %s", r->spool_path, strerror(errno));

    const report_counts *c = &r->counts;
    char t0[32], t1[32];
    util_iso_time(t0, sizeof t0, r->started);
    util_iso_time(t1, sizeof t1, util_wall());

    writer *head = writer_new(WRITER_JSON);
    writer_begin_object(head, NULL);
    writer_string(head, "batch_id", r->batch_id);
    writer_string(head, "vbatch_version", PACKAGE_VERSION);
    writer_string(head, "started", t0);
    writer_string(head, "finished", t1);
    writer_string(head, "command_line", r->command_line);
    write_list(head, "inputs", &r->inputs);
    if (r->info.config) {
        /* "config": the effective settings, section by section. */
        writer_begin_object(head, "config");
        preset_write(r->info.config, head);
        writer_end_object(head);
    }
    write_counts(head, c);
    writer_end_object(head);

    writer *ehead = writer_new(WRITER_JSON);
    writer_begin_object(ehead, NULL);
    writer_string(ehead, "batch_id", r->batch_id);
    writer_int(ehead, "failed", c->failed);
    writer_end_object(ehead);

    char *bpath = util_path_join(r->summary_dir, "batch_report.json");
    char *epath = util_path_join(r->summary_dir, "error_log.json");
    char *cpath = util_path_join(r->summary_dir, "results.csv");
    char *ctmp = util_temp_name(cpath);
    jstream bj, ej;
    int rc = 0;
    FILE *cf = NULL;
    writer *csv = NULL;
    if (jstream_open(&bj, bpath, head, "items", e) != 0 ||
        jstream_open(&ej, epath, ehead, "errors", e) != 0) {
        rc = -1;
    } else if (!(cf = fopen(ctmp, "we"))) {
        rc = vb_fail(e, VB_ERR_IO, "cannot write %s: %s", cpath, strerror(errno));
    } else {
        csv = writer_new_stream(WRITER_CSV, cf);
        writer_begin_array(csv, NULL);
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, r->spool) > 0) {
            item_record it;
            if (spool_decode(line, &it) != 0) {
                rc = vb_fail(e, VB_ERR_IO, "%s: damaged record", r->spool_path);
                break;
            }
            jstream_item(&bj, &it, false);
            if (it.status == ITEM_FAILED)
                jstream_item(&ej, &it, true);
            writer_begin_object(csv, NULL);
            item_write(&it, csv);
            writer_end_object(csv);
            item_record_clear(&it);
        }
        free(line);
        writer_end_array(csv);
        free(writer_finish(csv, NULL));
        writer_free(&csv);
    }
    writer_free(&head);
    writer_free(&ehead);
    if (jstream_close(&bj, rc == 0, e) != 0)
        rc = -1;
    if (jstream_close(&ej, rc == 0, e) != 0)
        rc = -1;
    if (cf) {
        if (fclose(cf) != 0 && rc == 0)
            rc = vb_fail(e, VB_ERR_IO, "cannot write %s: %s", cpath, strerror(errno));
        if (rc == 0 && rename(ctmp, cpath) != 0)
            rc = vb_fail(e, VB_ERR_IO, "cannot write %s: %s", cpath, strerror(errno));
        if (rc != 0)
            unlink(ctmp);
    }
    free(bpath);
    free(epath);
    free(cpath);
    free(ctmp);
    if (rc == 0)
        rc = write_metrics(r, wall, e);
    if (rc == 0) {
        fclose(r->spool);
        r->spool = NULL;
        unlink(r->spool_path);
    }
    return rc;
}

void report_free(report **pr)
{
    if (!pr || !*pr)
        return;
    report *r = *pr;
    if (r->spool)
        fclose(r->spool);
    free(r->out_dir);
    free(r->summary_dir);
    free(r->spool_path);
    free(r->batch_id);
    free(r->command_line);
    vb_strlist_clear(&r->inputs);
    free(r);
    *pr = NULL;
}
