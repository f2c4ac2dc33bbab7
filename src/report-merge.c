/* report-merge.c - `vbatch merge` (report_merge, report.h): the shards
 * of one run as one batch. Each shard ran into its own output folder with
 * its own journal (one SQLite file shared over NFS would not do: its
 * locks do not hold there); the merge reads them, refuses what is not one
 * batch (a shard missing or twice, another N, other settings, a shard
 * not finished), and writes one journal and one set of reports with
 * every item once. */
#include "config.h"
#include "report-impl.h"
#include "msg.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct merge_shard {
    const char *dir;
    state *st;
    state_batch b;
    int k, n;                    /* from its inputs' "--shard K/N" */
    char hash[65];
} merge_shard;

typedef struct merge_item {
    item_record rec;
    const char *dir;             /* the shard's output folder */
} merge_item;

typedef struct merge_items {
    merge_item *v;
    size_t n, cap;
    const char *dir;             /* the shard being read */
} merge_items;

/* The latest batch of a shard's journal, which must have ended. */
static int merge_open(merge_shard *m, vb_error *e)
{
    m->st = state_open(m->dir, STATE_READ, e);
    if (!m->st)
        return -1;
    state_rows *rows = state_query(m->st, STATE_Q_BATCHES, NULL, e);
    if (!rows)
        return -1;
    char *id = NULL;
    const char *c[1];
    int got;
    while ((got = state_rows_next(rows, c, 1, e)) == 1) {
        free(id);
        id = vb_xstrdup(c[0]);
    }
    state_rows_free(&rows);
    if (got < 0 || !id) {
        free(id);
        return got < 0 ? -1 : vb_fail(e, VB_ERR_USAGE, "%s: its journal holds no batch", m->dir);
    }
    int rc = state_batch_get(m->st, id, &m->b, e);
    free(id);
    if (rc != 0)
        return -1;
    if (!m->b.status || strcmp(m->b.status, "done") != 0)
        return vb_fail(e, VB_ERR_USAGE, "%s: batch %s is %s, not finished: `vbatch resume "
                       "--output %s` first", m->dir, m->b.id, m->b.status ? m->b.status : "?",
                       m->dir);
    json_t *in = json_loads(m->b.inputs_json ? m->b.inputs_json : "[]", 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v) {
        const char *s = json_string_value(v);
        if (s && sscanf(s, "--shard %d/%d", &m->k, &m->n) == 2)
            break;
    }
    json_decref(in);
    if (m->n <= 0)
        return vb_fail(e, VB_ERR_USAGE, "%s: batch %s was not run with --shard K/N", m->dir,
                       m->b.id);
    report_settings_hash(m->b.config_json ? m->b.config_json : "{}", m->hash);
    return 0;
}

/* Every shard of one N once, all with the same settings. */
static int merge_check(merge_shard *m, size_t n, vb_error *e)
{
    for (size_t i = 0; i < n; i++) {
        if ((size_t)m[i].n != n)
            return vb_fail(e, VB_ERR_USAGE, "%s is shard %d of %d, but %zu folders were given: "
                           "the merge needs all %d shards", m[i].dir, m[i].k, m[i].n, n, m[i].n);
        if (strcmp(m[i].hash, m[0].hash) != 0)
            return vb_fail(e, VB_ERR_USAGE, "%s and %s were run with different settings: "
                           "their results are not one batch", m[0].dir, m[i].dir);
        for (size_t j = 0; j < i; j++)
            if (m[j].k == m[i].k)
                return vb_fail(e, VB_ERR_USAGE, "%s and %s are both shard %d of %d", m[j].dir,
                               m[i].dir, m[i].k, m[i].n);
    }
    return 0;
}

static int merge_take(void *ctx, item_record *it, vb_error *e)
{
    (void)e;
    merge_items *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = vb_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    /* Moved out: the caller clears an empty record. */
    l->v[l->n].rec = *it;
    l->v[l->n++].dir = l->dir;
    memset(it, 0, sizeof *it);
    return 0;
}

static int merge_by_source(const void *a, const void *b)
{
    const item_record *x = &((const merge_item *)a)->rec, *y = &((const merge_item *)b)->rec;
    return strcmp(x->source ? x->source : "", y->source ? y->source : "");
}

static int merge_by_folder(const void *a, const void *b)
{
    const item_record *x = *(item_record *const *)a, *y = *(item_record *const *)b;
    return strcmp(x->folder, y->folder);
}

/* No item folder twice: shards of one run name theirs from distinct
 * relative paths. */
static int merge_folders_unique(const merge_items *l, vb_error *e)
{
    item_record **f = vb_xcalloc(l->n + 1, sizeof *f);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].rec.folder)
            f[n++] = &l->v[i].rec;
    qsort(f, n, sizeof *f, merge_by_folder);
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < n; i++)
        if (strcmp(f[i - 1]->folder, f[i]->folder) == 0)
            rc = vb_fail(e, VB_ERR_USAGE, "two shards hold an item folder %s (%s and %s): "
                         "they are not shards of one run", f[i]->folder, f[i - 1]->source,
                         f[i]->source);
    free(f);
    return rc;
}

/* out_dir must be new, or an empty folder. */
static int merge_out_empty(const char *out_dir, vb_error *e)
{
    DIR *d = opendir(out_dir);
    if (!d)
        return errno == ENOENT ? 0 : vb_fail(e, VB_ERR_USAGE, "%s: %s", out_dir, strerror(errno));
    struct dirent *de;
    bool empty = true;
    while (empty && (de = readdir(d)))
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    return empty ? 0 : vb_fail(e, VB_ERR_USAGE, "%s is not empty: merge into a new folder",
                               out_dir);
}

/* The first shard's inputs without its --shard. */
static void merge_inputs(const merge_shard *m, vb_strlist *out)
{
    json_t *in = json_loads(m->b.inputs_json ? m->b.inputs_json : "[]", 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v) {
        const char *s = json_string_value(v);
        if (s && strncmp(s, "--shard ", 8) != 0)
            vb_strlist_add(out, s);
    }
    json_decref(in);
}

/* The items into out_dir's journal, their folders linked in. */
static int merge_write(report *r, merge_items *l, const char *out_dir, vb_error *e)
{
    if (merge_folders_unique(l, e) != 0)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        item_record *it = &l->v[i].rec;
        /* attempts is kept; seq is the merged batch's. */
        it->seq = (int64_t)i + 1;
        if (it->folder) {
            char *src = util_path_join(l->v[i].dir, it->folder);
            char *dst = util_path_join(out_dir, it->folder);
            int rc = access(src, F_OK) == 0 ? util_link_tree(src, dst, e) : 0;
            free(src);
            free(dst);
            if (rc != 0)
                return -1;
        }
        if (report_queue(r, it->seq, it->source, it->folder, NULL, e) != 0 ||
            report_add(r, it, e) != 0)
            return -1;
    }
    return report_discovered(r, (int64_t)l->n, e);
}

int report_merge(const vb_strlist *dirs, const char *out_dir, const char *command_line,
                 FILE *summary_out, vb_error *e)
{
    size_t n = dirs->n;
    merge_shard *m = vb_xcalloc(n + 1, sizeof *m);
    merge_items l = {0};
    report *r = NULL;
    int rc = merge_out_empty(out_dir, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        m[i].dir = dirs->v[i];
        rc = merge_open(&m[i], e);
    }
    if (rc == 0)
        rc = merge_check(m, n, e);
    double wall = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        l.dir = m[i].dir;
        rc = report_each_record(m[i].st, m[i].b.id, merge_take, &l, e);
        if (m[i].b.wall > wall)
            wall = m[i].b.wall;
    }
    if (rc == 0) {
        qsort(l.v, l.n, sizeof *l.v, merge_by_source);
        vb_strlist inputs = {0};
        merge_inputs(&m[0], &inputs);
        report_batch_info info = { .batch_id = "merged", .command_line = command_line,
                                   .config_json = m[0].b.config_json, .inputs = &inputs };
        r = report_open(out_dir, &info, e);
        vb_strlist_clear(&inputs);
        rc = r ? merge_write(r, &l, out_dir, e) : -1;
    }
    /* The slowest shard's time: they ran side by side. */
    if (rc == 0)
        rc = report_finish(r, wall, summary_out, e);
    report_free(&r);
    for (size_t i = 0; i < l.n; i++)
        item_record_clear(&l.v[i].rec);
    free(l.v);
    for (size_t i = 0; i < n; i++) {
        state_batch_clear(&m[i].b);
        state_close(&m[i].st);
    }
    free(m);
    return rc;
}
