/* batch.c - the engine behind `vbatch process`.
 *
 * The main thread streams entries from the scanner, names each item's
 * folder (in batch order, so names are stable) and puts it in a ring of
 * `window` slots; worker threads take items in order and run them
 * through fetch, probe, check and publish; the main thread records
 * finished items strictly in batch order, so reports do not depend on
 * which worker finished first. The ring bounds memory: the scanner is not
 * read ahead by more than `window` items. */
#include "config.h"
#include "batch.h"
#include "fetch.h"
#include "layout.h"
#include "probe.h"
#include "report.h"
#include "rules.h"
#include "scan.h"
#include "util.h"
#include "writer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SUMMARY_LINES 20

typedef struct job {
    int64_t seq;
    scan_entry en;
    char *folder;            /* unique item folder name */
    item_record rec;
    bool done;
} job;

typedef struct engine {
    const batch_opts *o;
    const vb_config *cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    job **ring;
    int64_t window;
    int64_t next_seq;        /* next to be queued */
    int64_t next_take;       /* next a worker takes */
    int64_t next_record;     /* next to be recorded */
    bool closed;
} engine;

static void item_fail(item_record *r, int stage, const char *msg)
{
    r->status = ITEM_FAILED;
    r->error_stage = stage;
    free(r->error);
    r->error = vb_xstrdup(msg);
}

static int write_item_meta(const char *dir, const char *name, writer *w, vb_error *e)
{
    char *path = util_path_join(dir, name);
    int rc = writer_save(w, path, e);
    free(path);
    return rc;
}

static void fill_figures(item_record *r, const probe_result *p)
{
    r->container = p->container ? vb_xstrdup(p->container) : NULL;
    r->duration = p->duration;
    r->size = p->size;
    r->bit_rate = p->bit_rate;
    r->bytes_read = p->bytes_read;
    if (p->video) {
        r->video_codec = vb_xstrdup(p->video->codec);
        r->width = p->video->display_width;
        r->height = p->video->display_height;
        probe_rational f = p->video->avg_frame_rate;
        if (f.num <= 0 || f.den <= 0)
            f = p->video->r_frame_rate;
        r->fps = (f.num > 0 && f.den > 0) ? (double)f.num / f.den : NAN;
    }
    if (p->audio)
        r->audio_codec = vb_xstrdup(p->audio->codec);
}

/* Run one item through its stages; every failure ends up in j->rec. */
static void run_item(engine *g, job *j)
{
    const vb_config *cfg = g->cfg;
    item_record *r = &j->rec;
    vb_error e = {0};
    r->seq = j->seq;
    r->source = j->en.is_url ? fetch_display_url(j->en.path) : vb_xstrdup(j->en.path);
    r->duration = NAN;
    r->fps = NAN;
    if (j->en.error) {
        item_fail(r, STAGE_DISCOVER, j->en.errmsg ? j->en.errmsg : "cannot be read");
        return;
    }
    char *item_dir = util_path_join(g->o->out_dir, j->folder);
    char *video_dir = util_path_join(item_dir, "video");
    char *meta_dir = util_path_join(item_dir, "metadata");
    char *base = j->en.is_url ? util_basename(j->en.path) : vb_xstrdup(j->en.rel);
    char *slash = strrchr(base, '/');
    char *fname = layout_safe_file(slash ? slash + 1 : base);
    char *placed = util_path_join(video_dir, fname);
    const char *media = j->en.path;
    probe_result *p = NULL;
    double t;

    if (j->en.is_url) {
        t = util_now();
        fetch_opts fo = {
            .max_size = cfg->input.max_download_size,
            .retries = cfg->input.download_retries,
            .timeout = cfg->input.download_timeout,
            .backoff_base = cfg->input.download_backoff,
            .backoff_cap = 30.0,
        };
        fetch_stats fs = {0};
        r->folder = vb_xstrdup(j->folder);
        if (util_mkdir_p(video_dir, &e) != 0 ||
            fetch_url(j->en.path, placed, &fo, &fs, &e) != 0) {
            r->stage_time[STAGE_FETCH] = util_now() - t;
            item_fail(r, STAGE_FETCH, e.msg);
            goto out;
        }
        r->stage_time[STAGE_FETCH] = util_now() - t;
        media = placed;
    }

    t = util_now();
    int rc = probe_file(media, &p, &e);
    r->stage_time[STAGE_PROBE] = util_now() - t;
    if (rc != 0) {
        item_fail(r, STAGE_PROBE, e.msg);
        goto out;
    }
    fill_figures(r, p);

    t = util_now();
    rule_report rr;
    rules_eval(&cfg->qc, p, &rr);
    r->verdict = rr.verdict;
    r->status = rr.verdict == VERDICT_FAIL ? ITEM_QC_FAILED : ITEM_DONE;
    for (size_t i = 0; i < rr.n; i++) {
        if (rr.r[i].verdict == VERDICT_FAIL)
            vb_strlist_add(&r->failed_rules, rr.r[i].rule);
        else if (rr.r[i].verdict == VERDICT_WARN)
            vb_strlist_add(&r->warned_rules, rr.r[i].rule);
    }
    r->stage_time[STAGE_CHECK] = util_now() - t;

    t = util_now();
    if (!r->folder)
        r->folder = vb_xstrdup(j->folder);
    writer *pw = writer_new(WRITER_JSON), *qw = writer_new(WRITER_JSON);
    writer_begin_object(pw, NULL);
    probe_write(p, pw);
    writer_end_object(pw);
    writer_begin_object(qw, NULL);
    writer_string(qw, "preset", cfg->name);
    rules_write(&rr, qw);
    writer_end_object(qw);
    rules_report_free(&rr);
    rc = util_mkdir_p(item_dir, &e);
    if (rc == 0)
        rc = util_mkdir_p(meta_dir, &e);
    if (rc == 0)
        rc = write_item_meta(meta_dir, "probe.json", pw, &e);
    if (rc == 0)
        rc = write_item_meta(meta_dir, "qc.json", qw, &e);
    writer_free(&pw);
    writer_free(&qw);
    if (rc == 0 && !j->en.is_url) {
        /* The original goes in by hard link (or copy); the input itself
         * is never modified or moved. */
        rc = util_mkdir_p(video_dir, &e);
        if (rc == 0)
            rc = util_link_or_copy(j->en.path, placed, &e);
    }
    if (rc == 0 && cfg->output.publish && r->status == ITEM_DONE) {
        char *pub_dir = util_path_join(g->o->out_dir, "publish");
        const char *ext = strrchr(fname, '.');
        char *pub_name = vb_xasprintf("%s%s", j->folder, ext ? ext : "");
        char *pub = util_path_join(pub_dir, pub_name);
        rc = util_mkdir_p(pub_dir, &e);
        if (rc == 0)
            rc = util_link_or_copy(placed, pub, &e);
        free(pub_dir);
        free(pub_name);
        free(pub);
    }
    if (rc == 0)
        r->video = util_path_join(j->folder, "video");
    if (r->video) {
        char *v = util_path_join(r->video, fname);
        free(r->video);
        r->video = v;
    }
    r->stage_time[STAGE_PUBLISH] = util_now() - t;
    if (rc != 0)
        item_fail(r, STAGE_PUBLISH, e.msg);

out:
    probe_result_free(&p);
    free(item_dir);
    free(video_dir);
    free(meta_dir);
    free(base);
    free(fname);
    free(placed);
}

static void *worker_main(void *arg)
{
    engine *g = arg;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (g->next_take == g->next_seq && !g->closed)
            pthread_cond_wait(&g->cv_work, &g->mu);
        if (g->next_take == g->next_seq) {
            pthread_mutex_unlock(&g->mu);
            return NULL;
        }
        job *j = g->ring[g->next_take % g->window];
        g->next_take++;
        pthread_mutex_unlock(&g->mu);

        run_item(g, j);

        pthread_mutex_lock(&g->mu);
        j->done = true;
        pthread_cond_signal(&g->cv_done);
        pthread_mutex_unlock(&g->mu);
    }
}

/* What the summary remembers of failing items (the first few only, so
 * memory stays flat). */
typedef struct summary {
    char *lines[SUMMARY_LINES];
    int n;
    int64_t more;
} summary;

static void summary_add(summary *s, char *line)
{
    if (s->n < SUMMARY_LINES)
        s->lines[s->n++] = line;
    else {
        s->more++;
        free(line);
    }
}

static void print_item(const item_record *r, int64_t seq)
{
    const char *tag = r->status == ITEM_FAILED ? "ERROR" :
                      r->status == ITEM_QC_FAILED ? "FAIL " :
                      r->warned_rules.n ? "WARN " : "ok   ";
    if (vb_verbosity < 2 && r->status == ITEM_DONE && r->warned_rules.n == 0)
        return;
    if (vb_verbosity < 1)
        return;
    char *what;
    if (r->status == ITEM_FAILED) {
        what = vb_xasprintf("%s: %s", report_stage_name(r->error_stage), r->error);
    } else {
        char *f = vb_strlist_join(r->status == ITEM_QC_FAILED ? &r->failed_rules : &r->warned_rules, ", ");
        what = vb_xasprintf("%s%s", f, f[0] ? "" : "passed");
        free(f);
    }
    /* Names may hold control characters: show them escaped on one line. */
    char *src = vb_xstrdup(r->source);
    for (char *c = src; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = '?';
    fprintf(stderr, "[%lld] %s %s  %s\n", (long long)seq, tag, src, what);
    free(src);
    free(what);
}

/* Record every finished item at the head of the ring, in order. Called
 * with the lock held; drops it around the I/O. */
static int record_ready(engine *g, report *rep, summary *fails, summary *errs)
{
    int rc = 0;
    while (g->next_record < g->next_seq) {
        job *j = g->ring[g->next_record % g->window];
        if (!j->done)
            break;
        g->ring[g->next_record % g->window] = NULL;
        g->next_record++;
        pthread_mutex_unlock(&g->mu);
        vb_error e = {0};
        if (report_add(rep, &j->rec, &e) != 0 && rc == 0) {
            fprintf(stderr, "vbatch: %s\n", e.msg);
            rc = -1;
        }
        print_item(&j->rec, j->seq);
        if (j->rec.status == ITEM_FAILED)
            summary_add(errs, vb_xasprintf("%s  %s: %s", j->rec.source,
                                           report_stage_name(j->rec.error_stage), j->rec.error));
        else if (j->rec.status == ITEM_QC_FAILED) {
            char *f = vb_strlist_join(&j->rec.failed_rules, ", ");
            summary_add(fails, vb_xasprintf("%s  %s", j->rec.folder ? j->rec.folder : j->rec.source, f));
            free(f);
        }
        item_record_clear(&j->rec);
        scan_entry_clear(&j->en);
        free(j->folder);
        free(j);
        pthread_mutex_lock(&g->mu);
    }
    return rc;
}

static void make_batch_id(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, len, "batch_%Y%m%d_%H%M%S", &tm);
}

static void print_summary(const char *batch_id, const report_counts *c, double wall,
                          const char *out_dir, summary *fails, summary *errs)
{
    if (vb_verbosity < 1)
        return;
    printf("vbatch: %s: %lld item%s in %.2f s (%.1f files/s)\n", batch_id,
           (long long)c->total, c->total == 1 ? "" : "s", wall,
           wall > 0 ? (double)c->total / wall : 0.0);
    printf("  passed     %lld", (long long)c->done);
    if (c->warned)
        printf(" (%lld with warnings)", (long long)c->warned);
    printf("\n  qc_failed  %lld\n  failed     %lld\n", (long long)c->qc_failed,
           (long long)c->failed);
    if (fails->n) {
        printf("failed quality gates:\n");
        for (int i = 0; i < fails->n; i++)
            printf("  %s\n", fails->lines[i]);
        if (fails->more)
            printf("  ... and %lld more (see results.csv)\n", (long long)fails->more);
    }
    if (errs->n) {
        printf("could not be processed:\n");
        for (int i = 0; i < errs->n; i++) {
            for (char *p = errs->lines[i]; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = '?';
            printf("  %s\n", errs->lines[i]);
        }
        if (errs->more)
            printf("  ... and %lld more (see error_log.json)\n", (long long)errs->more);
    }
    printf("reports: %s/summary/\n", out_dir);
}

int batch_run(const batch_opts *o)
{
    vb_error e = {0};
    if (util_mkdir_p(o->out_dir, &e) != 0) {
        fprintf(stderr, "vbatch: %s\n", e.msg);
        return VB_EXIT_USAGE;
    }
    char batch_id[64];
    make_batch_id(batch_id, sizeof batch_id);
    vb_strlist inputs = {0};
    for (size_t i = 0; i < o->paths.n; i++)
        vb_strlist_add(&inputs, o->paths.v[i]);
    for (size_t i = 0; i < o->lists.n; i++) {
        char *s = vb_xasprintf("--from-list %s", o->lists.v[i]);
        vb_strlist_add(&inputs, s);
        free(s);
    }
    report_batch_info info = {
        .batch_id = batch_id, .command_line = o->command_line,
        .config = o->config, .inputs = &inputs,
    };
    report *rep = report_open(o->out_dir, &info, &e);
    if (!rep) {
        vb_strlist_clear(&inputs);
        fprintf(stderr, "vbatch: %s\n", e.msg);
        return VB_EXIT_USAGE;
    }

    scanner *sc = scan_new(&o->config->input);
    scan_skip_dir(sc, o->out_dir);
    for (size_t i = 0; i < o->paths.n; i++)
        scan_add_path(sc, o->paths.v[i]);
    for (size_t i = 0; i < o->lists.n; i++)
        scan_add_list(sc, o->lists.v[i]);
    layout_names *names = layout_names_new();

    int jobs = o->jobs > 0 ? o->jobs : (o->config->batch.jobs > 0 ? o->config->batch.jobs : util_ncpu());
    engine g = { .o = o, .cfg = o->config };
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv_work, NULL);
    pthread_cond_init(&g.cv_done, NULL);
    g.window = 64 * (int64_t)jobs;
    g.ring = vb_xcalloc((size_t)g.window, sizeof(job *));
    pthread_t *th = vb_xcalloc((size_t)jobs, sizeof(pthread_t));
    for (int i = 0; i < jobs; i++)
        if (pthread_create(&th[i], NULL, worker_main, &g) != 0) {
            fprintf(stderr, "vbatch: cannot start worker threads\n");
            abort();
        }

    double t0 = util_now();
    summary fails = {0}, errs = {0};
    int status = VB_EXIT_OK;
    int record_rc = 0;
    for (;;) {
        job *j = vb_xcalloc(1, sizeof *j);
        int got = scan_next(sc, &j->en, &e);
        if (got <= 0) {
            free(j);
            if (got < 0) {
                /* List files are checked before the run; this is one
                 * that became unreadable since. */
                fprintf(stderr, "vbatch: %s\n", e.msg);
                status = VB_EXIT_ITEMS;
            }
            break;
        }
        if (!j->en.error)
            j->folder = layout_unique_name(names, j->en.rel);
        pthread_mutex_lock(&g.mu);
        j->seq = g.next_seq + 1;
        while (g.next_seq - g.next_record >= g.window) {
            if (record_ready(&g, rep, &fails, &errs) != 0)
                record_rc = -1;
            if (g.next_seq - g.next_record >= g.window)
                pthread_cond_wait(&g.cv_done, &g.mu);
        }
        g.ring[g.next_seq % g.window] = j;
        g.next_seq++;
        pthread_cond_signal(&g.cv_work);
        if (record_ready(&g, rep, &fails, &errs) != 0)
            record_rc = -1;
        pthread_mutex_unlock(&g.mu);
    }
    pthread_mutex_lock(&g.mu);
    g.closed = true;
    pthread_cond_broadcast(&g.cv_work);
    while (g.next_record < g.next_seq) {
        if (record_ready(&g, rep, &fails, &errs) != 0)
            record_rc = -1;
        if (g.next_record < g.next_seq)
            pthread_cond_wait(&g.cv_done, &g.mu);
    }
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < jobs; i++)
        pthread_join(th[i], NULL);
    double wall = util_now() - t0;

    if (report_finish(rep, wall, &e) != 0) {
        fprintf(stderr, "vbatch: cannot write the reports: %s\n", e.msg);
        record_rc = -1;
    }
    const report_counts *c = report_get_counts(rep);
    print_summary(batch_id, c, wall, o->out_dir, &fails, &errs);
    if (status == VB_EXIT_OK) {
        if (c->failed > 0 || record_rc != 0)
            status = VB_EXIT_ITEMS;
        else if (c->qc_failed > 0)
            status = VB_EXIT_QC;
    }
    for (int i = 0; i < fails.n; i++)
        free(fails.lines[i]);
    for (int i = 0; i < errs.n; i++)
        free(errs.lines[i]);
    free(th);
    free(g.ring);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv_work);
    pthread_cond_destroy(&g.cv_done);
    layout_names_free(&names);
    scan_free(&sc);
    report_free(&rep);
    vb_strlist_clear(&inputs);
    return status;
}
