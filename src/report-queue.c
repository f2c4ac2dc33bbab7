/* report-queue.c - a batch run by workers on a queue (queue.h) as the
 * journal and reports of its output folder: the settings `vbatch
 * enqueue` stores once in the queue, and `vbatch report --queue`, which
 * reads the items entered, their results and the dead letters back into
 * OUT/.vbatch/state.db and renders the usual reports. What the queue
 * holds is checked as any input is: a result that is not this item's is
 * recorded as the item's error, never trusted. */
#include "config.h"
#include "report-impl.h"
#include "report-record.h"
#include "queue.h"
#include "fetch.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *report_queue_settings(const vb_config *cfg, const char *command_line,
                            const vb_strlist *inputs, double visibility, int max_deliveries)
{
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(1));
    json_object_set_new(o, "config", report_config_json(cfg));
    json_object_set_new(o, "command_line", json_string(command_line ? command_line : ""));
    json_t *in = json_array();
    for (size_t i = 0; i < inputs->n; i++)
        json_array_append_new(in, json_string(inputs->v[i]));
    json_object_set_new(o, "inputs", in);
    json_object_set_new(o, "visibility", json_real(visibility));
    json_object_set_new(o, "max_deliveries", json_integer(max_deliveries));
    json_object_set_new(o, "created", json_real(util_wall()));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

int report_queue_settings_parse(const char *json, const char *origin, report_queued *q,
                                vb_error *e)
{
    memset(q, 0, sizeof *q);
    json_t *o = json_loads(json, 0, NULL);
    json_t *cfg = json_object_get(o, "config");
    json_t *vis = json_object_get(o, "visibility"), *md = json_object_get(o, "max_deliveries");
    int rc = -1;
    if (!json_is_object(o) || json_integer_value(json_object_get(o, "version")) != 1 ||
        !json_is_object(cfg) || !json_is_number(vis) || !json_is_integer(md)) {
        vb_fail(e, VB_ERR_CONFIG, "%s: its settings are not those of vbatch enqueue", origin);
        goto out;
    }
    q->visibility = json_number_value(vis);
    q->max_deliveries = (int)json_integer_value(md);
    if (!(q->visibility >= 1 && q->visibility <= 86400) || q->max_deliveries < 1 ||
        q->max_deliveries > 1000) {
        vb_fail(e, VB_ERR_CONFIG, "%s: its visibility timeout or delivery limit is out of "
                "range", origin);
        goto out;
    }
    char *text = json_dumps(cfg, JSON_COMPACT);
    q->config_json = text ? text : vb_xstrdup("{}");
    const char *cl = json_string_value(json_object_get(o, "command_line"));
    q->command_line = vb_xstrdup(cl ? cl : "");
    json_t *in = json_object_get(o, "inputs"), *v;
    size_t i;
    json_array_foreach(in, i, v) {
        if (json_is_string(v))
            vb_strlist_add(&q->inputs, json_string_value(v));
    }
    q->created = json_number_value(json_object_get(o, "created"));
    rc = 0;
out:
    json_decref(o);
    return rc;
}

void report_queued_clear(report_queued *q)
{
    free(q->config_json);
    free(q->command_line);
    vb_strlist_clear(&q->inputs);
    memset(q, 0, sizeof *q);
}

/* ---- report --queue ---- */

typedef struct rq_item {
    char *source, *folder, *error;   /* as entered */
    item_record rec;                 /* its result (rec.source set) or dead letter */
    bool have;
} rq_item;

typedef struct rq {
    rq_item *v;                      /* by seq - 1 */
    size_t n;
    int64_t bad;                     /* results that were not their item's */
    double first, last;              /* of the work, seconds (wall) */
} rq;

static rq_item *rq_at(rq *r, int64_t seq)
{
    /* Seqs come from enqueue, one each from 1: a hostile one far out is
     * refused rather than allocated for. */
    if (seq < 1 || seq > 100000000)
        return NULL;
    if ((size_t)seq > r->n) {
        size_t n = r->n ? r->n : 256;
        while (n < (size_t)seq)
            n *= 2;
        r->v = vb_xrealloc(r->v, n * sizeof *r->v);
        memset(r->v + r->n, 0, (n - r->n) * sizeof *r->v);
        r->n = n;
    }
    return &r->v[seq - 1];
}

/* A record that names this item's folder and files only. */
static bool rq_record_ok(const rq_item *it, const item_record *rec)
{
    if (rec->folder && (!it->folder || strcmp(rec->folder, it->folder) != 0))
        return false;
    const char *files[] = { rec->video, rec->contact };
    for (size_t i = 0; i < VB_ARRAY_LEN(files); i++) {
        const char *f = files[i];
        size_t fl = rec->folder ? strlen(rec->folder) : 0;
        if (f && (!rec->folder || strncmp(f, rec->folder, fl) != 0 || f[fl] != '/' ||
                  strstr(f, "..")))
            return false;
    }
    return rec->status >= ITEM_DONE && rec->status <= ITEM_UNKNOWN;
}

static int rq_row(void *ud, const queue_row *row, vb_error *e)
{
    (void)e;
    rq *r = ud;
    rq_item *it = rq_at(r, row->seq);
    if (!it)
        return 0;
    if (row->kind == 'i') {
        if (it->source)
            return 0;
        /* As the reports show sources: no URL credentials. */
        it->source = util_is_url(row->path) ? fetch_display_url(row->path)
                                            : vb_xstrdup(row->path);
        it->folder = row->folder ? vb_xstrdup(row->folder) : NULL;
        it->error = row->error ? vb_xstrdup(row->error) : NULL;
        return 0;
    }
    /* Keyed by item: the first result (or dead letter) is the one. */
    if (it->have || !it->source)
        return 0;
    item_record *rec = &it->rec;
    if (row->kind == 'r') {
        if (report_record_decode(row->record, rec) != 0 || !rq_record_ok(it, rec)) {
            item_record_clear(rec);
            rec->status = ITEM_FAILED;
            rec->error_stage = STAGE_RECORD;
            rec->error = vb_xstrdup("its result in the queue is not a record of this item");
            r->bad++;
        }
    } else {
        rec->status = ITEM_FAILED;
        rec->error_stage = STAGE_RECORD;
        rec->error = vb_xasprintf("dead letter after %d deliveries: %s", row->deliveries,
                                  row->error ? row->error : "its worker stopped");
        rec->duration = rec->fps = NAN;
    }
    free(rec->source);
    rec->source = vb_xstrdup(it->source);
    rec->seq = row->seq;
    it->have = true;
    /* The span of the work: from the start of the first item recorded
     * to the last result. */
    double spent = 0;
    for (int k = 0; k < STAGE_COUNT; k++)
        if (isfinite(rec->stage_time[k]))
            spent += rec->stage_time[k];
    if (row->at > 0) {
        if (r->first == 0 || row->at - spent < r->first)
            r->first = row->at - spent;
        if (row->at > r->last)
            r->last = row->at;
    }
    return 0;
}

int report_from_queue(queue *q, const report_queued *s, const char *out_dir,
                      FILE *summary_out, int64_t *pending, vb_error *e)
{
    rq r = {0};
    report *rep = NULL;
    *pending = 0;
    int rc = queue_each(q, rq_row, &r, e);
    if (rc == 0) {
        char id[64];
        snprintf(id, sizeof id, "queue_%s", queue_name(q));
        report_batch_info info = { .batch_id = id, .command_line = s->command_line,
                                   .config_json = s->config_json, .inputs = &s->inputs };
        rc = util_mkdir_p(out_dir, e);
        if (rc == 0 && !(rep = report_open(out_dir, &info, e)))
            rc = -1;
    }
    int64_t entered = 0;
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        rq_item *it = &r.v[i];
        if (!it->source)
            continue;
        int64_t seq = (int64_t)i + 1;
        entered = seq;
        rc = report_queue(rep, seq, it->source, it->folder, it->error, e);
        if (rc == 0 && it->have) {
            if (it->rec.folder) {
                /* What a worker killed there was writing. */
                char *dir = util_path_join(out_dir, it->rec.folder);
                util_remove_temps(dir, 3);
                free(dir);
            }
            rc = report_add(rep, &it->rec, e);
        } else if (rc == 0) {
            ++*pending;
        }
    }
    if (rc == 0)
        rc = report_discovered(rep, entered, e);
    if (rc == 0)
        rc = report_finish_status(rep, *pending > 0, r.last > r.first ? r.last - r.first : 0,
                                  summary_out, e);
    report_free(&rep);
    for (size_t i = 0; i < r.n; i++) {
        free(r.v[i].source);
        free(r.v[i].folder);
        free(r.v[i].error);
        item_record_clear(&r.v[i].rec);
    }
    free(r.v);
    return rc;
}
