/* batch.c - the engine behind `vbatch process`.
 *
 * The main thread streams entries from the scanner, names each item's
 * folder (in batch order, so names are stable) and puts it in a ring of
 * `window` slots; worker threads take items in order and run them
 * through fetch, probe, check and publish; the main thread records
 * finished items strictly in batch order, so reports do not depend on
 * which worker finished first. The ring bounds memory: the scanner is not
 * read ahead by more than `window` items.
 *
 * Every item enters the journal as pending when queued. SIGINT and SIGTERM
 * are blocked in every thread and taken by one thread with sigwait(), so
 * no handler has to be async-signal-safe: the first stops the batch (no
 * new items; running ones finish; the rest of the input is still entered
 * as pending so the batch can be resumed), the second exits at once (the
 * journal's transactions keep it consistent).
 *
 * Incremental runs: each local file found is looked up in the journal's
 * index of what OUT holds (one SELECT); unchanged since an earlier batch
 * (path, size, mtime, settings) it is entered as skipped at once with
 * that batch's result and never reaches a worker. An item keeps its
 * folder from batch to batch, and new items avoid every folder given out
 * before. With analysis on, identical files (SHA-256) share one decode. */
#include "config.h"
#include "batch.h"
#include "analyse.h"
#include "backoff.h"
#include "crash.h"
#include "fetch.h"
#include "crypto.h"
#include "image.h"
#include "thumbs.h"
#include "layout.h"
#include "mediaio.h"
#include "probe.h"
#include "relist.h"
#include "report.h"
#include "rules.h"
#include "scan.h"
#include "util.h"
#include "writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>


typedef struct job {
    int64_t seq;
    scan_entry en;
    char *folder;            /* unique item folder name */
    item_record rec;
    bool done;
    /* incremental runs */
    char *key;               /* index key: absolute path, or URL as shown */
    int64_t size, mtime_ns;  /* the local file when found (size -1: unknown) */
    bool skip;               /* unchanged: rec holds the result kept */
    bool fed;                /* from o->feed: the file is in its folder */
    char *fed_source;        /* with fed: the source the reports show */
    int fed_stage;           /* with fed and en.error: where it failed */
    int error_stage;         /* with en.error, not fed: where it failed
                                (STAGE_DISCOVER unless a crash said) */
    bool solo;               /* a suspect of a crash: taken alone */
    item_gen gen;            /* with fed: generation details */
    mediaio_clock clock;     /* bounds the item's reading; started when taken */
    int slot;                /* the worker that took it */
    bool aborted;            /* stopped after the grace period: left pending */
    bool abandoned;          /* given up by the watchdog: its worker frees it */
} job;

typedef struct worker_arg {
    struct engine *g;
    int slot;
} worker_arg;

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
    bool stop;               /* interrupted: take no new items */
    bool failed_stop;        /* stopped by an item that failed
                                ([batch] error_handling = stop) */
    int jobs;                /* worker threads */
    report *rep;             /* the journal's writer (its calls are thread-safe) */
    /* The live status line (stderr on a terminal, not --quiet). */
    bool live;
    char **working;          /* per worker: the source it works on, or NULL */
    int64_t nfailed;         /* recorded items that failed or failed QC */
    int64_t nskipped;        /* items unchanged since an earlier batch */
    double t0, last_draw;
    /* Content hashes being analysed: an identical file waits for the
     * first to finish (cv_hash), then reuses its analysis. */
    vb_strlist inflight;
    pthread_cond_t cv_hash;
    /* Robustness: the grace period, the watchdog (see watchdog()). */
    atomic_int abort;        /* grace period over: running items stop */
    pthread_t *threads;      /* per slot: the worker thread serving it */
    worker_arg *wargs;       /* per slot */
    int nstuck;              /* abandoned workers not yet returned */
    bool stuck_stop;         /* stopped because too many reads hang */
    /* The output folder: moved, removed or full, the batch stops and is
     * left resumable (see out_trouble). */
    bool out_stop;
    char out_why[1100];
    /* The journal could not record a group of results: stopped. */
    bool record_stop;
    char record_why[1024];
    /* Recorded, not committed yet, so not shown (see record_show). */
    job **unshown;           /* RECORD_GROUP slots */
    int nunshown;
    double unshown_since;
    report_counts counts_before;
    bool unshown_failed;     /* a write of one of them failed */
    char unshown_why[1024];
    char *reserve;           /* OUT/.vbatch/reserve while it is held */
    /* Crashes of earlier runs of this batch (crash.h). */
    crash_list crashes;
    int nrunning;            /* items taken and not done */
    bool solo_wait;          /* a crash suspect runs alone: take nothing */
} engine;

#define ERASE_LINE "\r\033[K" /* back to column 0, line cleared */

void batch_item_clear(batch_item *it)
{
    free(it->source);
    free(it->folder);
    free(it->media);
    free(it->error);
    item_gen_clear(&it->gen);
    memset(it, 0, sizeof *it);
}

static void item_fail(item_record *r, int stage, const char *msg)
{
    r->status = ITEM_FAILED;
    r->error_stage = stage;
    free(r->error);
    r->error = vb_xstrdup(msg);
}

/* Everything one item needs on its way through the stages; released
 * when the item is done. */
typedef struct item_ctx {
    engine *g;
    job *j;
    item_record *r;
    char *item_dir, *video_dir, *meta_dir;
    char *fname;             /* safe file name of the original */
    char *placed;            /* OUT/<item>/video/<fname> */
    const char *media;       /* the file read: the input, or the download */
    rule_report rr;          /* every check, moved into the record */
    bool meta_ready;         /* metadata/ exists: made once, not per file */
    /* An item processed again into its folder: what this run wrote, so
     * that what it did not write is removed (see clear_stale). */
    bool existed;            /* the folder was there before */
    unsigned written;        /* bits: meta_names written */
    vb_strlist thumb_files;  /* thumbnails made */
    bool published;
    mediaio_clock *clk;      /* the job's */
    vb_error e;
} item_ctx;

/* The stage running, for the watchdog's record of an abandoned item. */
static void stage_enter(item_ctx *c, int stage)
{
    atomic_store(&c->clk->stage, stage);
}

static const char *const meta_names[] = {
    "probe.json", "image.json", "analysis.json", "thumbnails.json", "qc.json",
};

static int meta_dir_ready(item_ctx *c)
{
    int rc = 0;
    if (!c->meta_ready) {
        rc = util_mkdir_p(c->item_dir, &c->e);
        if (rc == 0)
            rc = util_mkdir_p(c->meta_dir, &c->e);
        c->meta_ready = rc == 0;
    }
    return rc;
}

static void meta_written(item_ctx *c, const char *name)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(meta_names); i++)
        if (strcmp(name, meta_names[i]) == 0)
            c->written |= 1u << i;
}

static int save_meta(item_ctx *c, const char *name, writer *w)
{
    int rc = meta_dir_ready(c);
    if (rc == 0) {
        char *path = util_path_join(c->meta_dir, name);
        rc = writer_save(w, path, &c->e);
        free(path);
    }
    if (rc == 0)
        meta_written(c, name);
    writer_free(&w);
    return rc;
}

static writer *meta_writer(void)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    return w;
}

/* A file this long (seconds) is decoded with libav's own thread pool
 * whatever the other workers do: it tends to end a batch alone, the
 * workers that finish the short files going idle, and its thread count
 * is fixed when its decoder opens. */
#define DECODE_LONG_SECONDS 120.0

/* The libav decoders' threads for an item's decode, decided as it
 * starts. --jobs N is a CPU budget as much as a worker count: vbatch
 * keeps about min(N, cores) cores busy (make -j, xargs -P): --jobs 1 is
 * one core, for a machine shared with other work. The budget is shared
 * among the items that can still run at once, min(workers, items not yet
 * taken + 1 for this one). While every worker has items to take, one
 * thread each: a decode thread more per file gains less than the CPU
 * time it costs the other workers (measured: bench/scale.sh). An
 * analysis that has the whole machine to itself (the last item of a
 * batch, a batch of one) or of a long file lets libav size its pool as
 * the ffmpeg tool does (0: cores + 1 frame threads), or takes the whole
 * budget when that is less than the cores; thumbnails (slice threads, a
 * few frames) take their share.
 * duration: the item's, in seconds (NAN when not known or not wanted);
 * left: the items not yet taken + 1; closed: no more will be found. */
int batch_decode_threads(int jobs, int cores, int64_t left, bool closed, bool analysis,
                         double duration)
{
    int share = closed && left < jobs ? (int)left : jobs;
    int budget = jobs < cores ? jobs : cores;
    if (budget < 1)
        budget = 1;
    if (analysis && (share <= 1 || duration >= DECODE_LONG_SECONDS))
        return budget >= cores ? 0 : budget;
    int n = budget / (share > 0 ? share : 1);
    return n > 0 ? n : 1;
}

static int decode_threads(engine *g, bool analysis, double duration)
{
    pthread_mutex_lock(&g->mu);
    int64_t left = g->next_seq - g->next_take + 1;
    bool closed = g->closed;
    pthread_mutex_unlock(&g->mu);
    return batch_decode_threads(g->jobs, util_ncpu(), left, closed, analysis, duration);
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

/* For fetch: is the batch stopping (no new download attempt)? */
static bool fetch_stopping(void *ud)
{
    engine *g = ud;
    pthread_mutex_lock(&g->mu);
    bool stop = g->stop;
    pthread_mutex_unlock(&g->mu);
    return stop || atomic_load(&g->abort);
}

/* The download, bounded by the item's clock. One that would have been
 * tried again but for the batch stopping is left pending, as one the
 * grace period cut is (run_item: the clock says MEDIAIO_ABORT). */
static int stage_fetch(item_ctx *c)
{
    const vb_config *cfg = c->g->cfg;
    double t = util_now();
    fetch_opts fo = {
        .max_size = cfg->input.max_download_size,
        .retries = cfg->input.download_retries,
        .timeout = cfg->input.download_timeout,
        .backoff_base = cfg->input.download_backoff,
        .backoff_cap = 30.0,
        .clk = c->clk,
        .stopping = fetch_stopping,
        .stopping_ud = c->g,
    };
    fetch_stats fs = {0};
    stage_enter(c, STAGE_FETCH);
    int rc = util_mkdir_p(c->item_dir, &c->e);
    if (rc == 0)
        rc = util_mkdir_p(c->video_dir, &c->e);
    if (rc == 0)
        rc = fetch_url(c->j->en.path, c->placed, &fo, &fs, &c->e);
    c->r->stage_time[STAGE_FETCH] = util_now() - t;
    if (rc != 0)
        item_fail(c->r, STAGE_FETCH, c->e.msg);
    if (rc != 0 && fs.stopped)
        c->j->aborted = true;
    /* The folder is there now: clear_stale removes a body that is not
     * delivered (not media, failed later, left pending). */
    c->existed = true;
    c->media = c->placed;
    return rc;
}

/* Thumbnails are checked like any image: read back from their headers. */
static void check_thumbs(item_ctx *c, const thumbs_result *tr, const probe_result *p)
{
    /* The picture's displayed aspect: rotation applied, pixel shape too. */
    const probe_stream *vs = p->video;
    double sar = vs->sar.num > 0 && vs->sar.den > 0 ? (double)vs->sar.num / vs->sar.den : 1.0;
    double aspect = vs->display_height > 0
                        ? (vs->display_width == vs->width ? vs->width * sar / vs->height
                                                          : vs->height / (vs->width * sar))
                        : NAN;
    const vb_config *cfg = c->g->cfg;
    static const char *const ext_format[] = { "jpeg", "webp", "png" };
    char *thumb_dir = util_path_join(c->item_dir, "thumbnails");
    int bad = 0;
    char why[sizeof ((vb_error *)0)->msg + 64] = "";
    for (size_t i = 0; i < tr->n; i++) {
        char *path = util_path_join(thumb_dir, tr->t[i].file);
        image_info ii = {0};
        vb_error e = {0};
        if (image_probe(path, cfg->qc.image_max_pixels, &ii, &e) != 0) {
            bad++;
            snprintf(why, sizeof why, "%s", e.msg);
        } else if (ii.width != cfg->thumbs.width ||
                   strcmp(ii.format, ext_format[cfg->thumbs.format]) != 0 ||
                   (isfinite(aspect) && ii.height > 0 &&
                    fabs((double)ii.width / ii.height - aspect) / aspect > 0.02)) {
            bad++;
            snprintf(why, sizeof why, "%s is %dx%d %s (video aspect %.3f)", tr->t[i].file,
                     ii.width, ii.height, ii.format, aspect);
        }
        image_info_clear(&ii);
        free(path);
    }
    free(thumb_dir);
    char v[64], l[64];
    snprintf(v, sizeof v, "%zu of %zu readable", tr->n - (size_t)bad, tr->n);
    snprintf(l, sizeof l, "%d px wide %s, aspect %.3f", cfg->thumbs.width,
             ext_format[cfg->thumbs.format], aspect);
    if (bad)
        rules_add(&c->rr, "thumbnails", cfg->qc.image_level, false, v, l,
                  "thumbnail check failed: %s", why);
    else
        rules_add(&c->rr, "thumbnails", cfg->qc.image_level, true, v, l,
                  "%zu thumbnails, %d px wide", tr->n, cfg->thumbs.width);
}

/* ---- analysis shared by identical files ---- */


/* The analysis.json an earlier item made from the same content with the
 * same [analyse] settings: read back and copied into this item's
 * metadata (the item keeps its own folder, probe, gates, thumbnails).
 * 0 with *a, or -1: there is none (or it is gone), decode instead. */
static int analyse_reuse(item_ctx *c, const char *hex, analyse_result **a)
{
    engine *g = c->g;
    char *folder = NULL;
    vb_error e = {0};
    if (report_analysis_find(g->rep, hex, &folder, &e) != 1)
        return -1;
    char *dir = util_path_join(g->o->out_dir, folder);
    char *mdir = util_path_join(dir, "metadata");
    char *path = util_path_join(mdir, "analysis.json");
    free(dir);
    free(mdir);
    char *text = util_read_file(path, NULL, NULL);
    free(path);
    int rc = text ? analyse_parse(text, hex, a, &e) : -1;
    bool self = strcmp(folder, c->j->folder) == 0;
    if (rc == 0 && !self) {
        /* This folder's analysis.json is replaced: forget what it held. */
        rc = report_analysis_forget(g->rep, c->j->folder, &e);
        if (rc == 0)
            rc = meta_dir_ready(c);
        char *own = util_path_join(c->meta_dir, "analysis.json");
        if (rc == 0)
            rc = util_write_atomic(own, text, strlen(text), &c->e);
        free(own);
        if (rc != 0)
            analyse_result_free(a);
    }
    if (rc == 0) {
        meta_written(c, "analysis.json");
        c->r->analysis_from = folder;
        folder = NULL;
    }
    free(text);
    free(folder);
    return rc;
}

/* Decode and analyse; analysis.json written (with the content hash, when
 * there is one), and shared when it is complete (a read error may be
 * transient). */
static int analyse_fresh(item_ctx *c, const char *hex, analyse_result **a)
{
    engine *g = c->g;
    vb_error e = {0};
    char *own = util_path_join(c->meta_dir, "analysis.json");
    bool had = hex && access(own, F_OK) == 0;
    free(own);
    if (had && report_analysis_forget(g->rep, c->j->folder, &e) != 0) {
        item_fail(c->r, STAGE_ANALYSE, e.msg);
        return -1;
    }
    if (analyse_file(c->media, &g->cfg->analyse, decode_threads(g, true, c->r->duration), c->clk,
                     a, &c->e) != 0) {
        item_fail(c->r, STAGE_ANALYSE, c->e.msg);
        return -1;
    }
    writer *w = meta_writer();
    if (hex)
        writer_string(w, "sha256", hex);
    analyse_write(*a, w);
    writer_end_object(w);
    if (save_meta(c, "analysis.json", w) != 0) {
        item_fail(c->r, STAGE_ANALYSE, c->e.msg);
        analyse_result_free(a);
        return -1;
    }
    if (hex && !(*a)->incomplete && report_analysis_put(g->rep, hex, c->j->folder, &e) != 0)
        /* Only a missed chance to share: the item is fine. */
        fprintf(stderr, "vbatch: %s\n", e.msg);
    return 0;
}

static void inflight_remove(vb_strlist *l, const char *hex)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], hex) == 0) {
            free(l->v[i]);
            l->v[i] = l->v[--l->n];
            return;
        }
}

/* The decode analysis, or the one of an identical file (same SHA-256,
 * same [analyse] settings) made earlier in this output folder. Two
 * identical files at once: the second waits for the first and reuses
 * it. On success analysis.json is written and *a holds the figures; on
 * failure the item is marked failed. Hashing reads the file once, a
 * small cost next to decoding it. */
static long hash_read(void *ud, void *buf, size_t n)
{
    return mediaio_read(ud, buf, n);
}

static int stage_analyse(item_ctx *c, analyse_result **a)
{
    engine *g = c->g;
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    vb_error he = {0};
    /* Read through the item's bounded reader: a stall, the deadline or
     * the end of the grace period stop the hashing as they would stop
     * the decoding (and a transient error is retried the same way). */
    mediaio *io = NULL;
    int hr = mediaio_open(&io, c->media, c->clk, 0, &he);
    if (hr == 0)
        hr = crypto_sha256_read(hash_read, io, hex, &he);
    if (hr != 0 && io && mediaio_error(io, &c->e) != 0) {
        mediaio_close(&io);
        item_fail(c->r, STAGE_ANALYSE, c->e.msg);
        return -1;
    }
    mediaio_close(&io);
    if (hr != 0)
        return analyse_fresh(c, NULL, a);   /* it will say what is wrong */
    c->r->sha256 = vb_xstrdup(hex);
    pthread_mutex_lock(&g->mu);
    while (vb_strlist_has(&g->inflight, hex))
        pthread_cond_wait(&g->cv_hash, &g->mu);
    vb_strlist_add(&g->inflight, hex);
    pthread_mutex_unlock(&g->mu);
    int rc = analyse_reuse(c, hex, a);
    if (rc != 0)
        rc = analyse_fresh(c, hex, a);
    pthread_mutex_lock(&g->mu);
    inflight_remove(&g->inflight, hex);
    pthread_cond_broadcast(&g->cv_hash);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

/* ---- an item processed again into its folder ---- */

/* Remove the files in dir whose names are not in keep (NULL: all), then
 * dir itself if it is empty. Only regular files: never follow a link. */
static void remove_files_except(const char *dir, const vb_strlist *keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (keep && vb_strlist_has(keep, de->d_name)))
            continue;
        char *p = util_path_join(dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

/* What an earlier run left that this one did not make again (analysis
 * or thumbnails now off, fewer thumbnails, a publish link for an item
 * that no longer passes, metadata of a run that failed part-way) goes,
 * so the folder holds this run's results only. */
static void clear_stale(item_ctx *c)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(meta_names); i++)
        if (!(c->written & (1u << i))) {
            char *p = util_path_join(c->meta_dir, meta_names[i]);
            unlink(p);
            free(p);
        }
    bool thumbs = c->written & (1u << 3);
    char *tdir = util_path_join(c->item_dir, "thumbnails");
    remove_files_except(tdir, thumbs ? &c->thumb_files : NULL);
    free(tdir);
    if (!c->r->contact) {
        char *p = util_path_join(c->item_dir, "contact.jpg");
        unlink(p);
        free(p);
    }
    /* Not delivered: the link, or the downloaded body, goes (a fed
     * item's file is the generation's result and stays). */
    if (!c->r->video && !c->j->fed) {
        unlink(c->placed);
        rmdir(c->video_dir);
    }
    if (!c->published) {
        const char *ext = strrchr(c->fname, '.');
        char *name = vb_xasprintf("%s%s", c->j->folder, ext ? ext : "");
        char *pub = util_path_join(c->g->o->out_dir, "publish");
        char *p = util_path_join(pub, name);
        unlink(p);
        free(p);
        free(pub);
        free(name);
    }
}

static int stage_video(item_ctx *c)
{
    const vb_config *cfg = c->g->cfg;
    item_record *r = c->r;
    probe_result *p = NULL;
    double t = util_now();
    stage_enter(c, STAGE_PROBE);
    int rc = probe_file(c->media, c->clk, &p, &c->e);
    r->stage_time[STAGE_PROBE] = util_now() - t;
    if (rc != 0) {
        item_fail(r, STAGE_PROBE, c->e.msg);
        return -1;
    }
    fill_figures(r, p);

    t = util_now();
    rules_eval(&cfg->qc, p, &c->rr);
    r->stage_time[STAGE_CHECK] = util_now() - t;
    writer *w = meta_writer();
    probe_write(p, w);
    writer_end_object(w);
    /* A metadata file that cannot be written fails the stage that made
     * it (a full disk shows where it struck). */
    rc = save_meta(c, "probe.json", w);
    if (rc != 0) {
        item_fail(r, STAGE_PROBE, c->e.msg);
        probe_result_free(&p);
        return -1;
    }

    if (rc == 0 && cfg->analyse.enabled) {
        t = util_now();
        analyse_result *a = NULL;
        stage_enter(c, STAGE_ANALYSE);
        rc = stage_analyse(c, &a);
        r->stage_time[STAGE_ANALYSE] = util_now() - t;
        if (rc != 0) {
            probe_result_free(&p);
            return -1;
        }
        rules_eval_analysis(&cfg->qc, a, &c->rr);
        r->analysed = true;
        r->black_total = a->black_total;
        r->black_share = a->black_share;
        r->leading_black = a->leading_black;
        r->trailing_black = a->trailing_black;
        r->freeze_max = a->freeze_max;
        r->silence_max = a->silence_max;
        r->loudness = a->integrated_lufs;
        r->loudness_range = a->loudness_range;
        r->true_peak = a->true_peak;
        r->decode_errors = a->decode_errors + a->corrupt_frames;
        analyse_result_free(&a);
    }
    if (rc == 0 && cfg->thumbs.enabled && p->video) {
        t = util_now();
        thumbs_result tr = {0};
        char *thumb_dir = util_path_join(c->item_dir, "thumbnails");
        char *contact = util_path_join(c->item_dir, "contact.jpg");
        rc = image_init(c->g->jobs, &c->e);
        stage_enter(c, STAGE_THUMBS);
        if (rc == 0)
            rc = thumbs_make(c->media, p, &cfg->thumbs, thumb_dir, contact,
                             decode_threads(c->g, false, NAN), c->clk, &tr, &c->e);
        free(thumb_dir);
        free(contact);
        if (rc != 0) {
            r->stage_time[STAGE_THUMBS] = util_now() - t;
            item_fail(r, STAGE_THUMBS, c->e.msg);
            probe_result_free(&p);
            return -1;
        }
        check_thumbs(c, &tr, p);
        for (size_t i = 0; i < tr.n; i++)
            vb_strlist_add(&c->thumb_files, tr.t[i].file);
        r->nthumbs = (int)tr.n;
        if (tr.contact)
            r->contact = util_path_join(c->j->folder, "contact.jpg");
        w = meta_writer();
        thumbs_write(&tr, w);
        writer_end_object(w);
        thumbs_result_clear(&tr);
        r->stage_time[STAGE_THUMBS] = util_now() - t;
        rc = save_meta(c, "thumbnails.json", w);
        if (rc != 0)
            item_fail(r, STAGE_THUMBS, c->e.msg);
    }
    probe_result_free(&p);
    return rc;
}

static int stage_image(item_ctx *c)
{
    const vb_config *cfg = c->g->cfg;
    item_record *r = c->r;
    image_info ii = {0};
    double t = util_now();
    r->kind = ITEM_IMAGE;
    int rc = image_init(c->g->jobs, &c->e);
    if (rc == 0)
        rc = image_probe(c->media, cfg->qc.image_max_pixels, &ii, &c->e);
    r->stage_time[STAGE_PROBE] = util_now() - t;
    if (rc != 0) {
        item_fail(r, STAGE_PROBE, c->e.msg);
        return -1;
    }
    r->width = ii.width;
    r->height = ii.height;
    r->size = ii.size;
    r->image_format = vb_xstrdup(ii.format);
    t = util_now();
    image_rules(&cfg->qc, &ii, "image", &c->rr);
    r->stage_time[STAGE_CHECK] = util_now() - t;
    writer *w = meta_writer();
    image_write(&ii, w);
    writer_end_object(w);
    image_info_clear(&ii);
    rc = save_meta(c, "image.json", w);
    if (rc != 0)
        item_fail(r, STAGE_PROBE, c->e.msg);
    return rc;
}

/* qc.json, the original in video/, and the publish link. */
static int stage_publish(item_ctx *c)
{
    const vb_config *cfg = c->g->cfg;
    item_record *r = c->r;
    double t = util_now();
    writer *w = meta_writer();
    writer_string(w, "preset", cfg->name);
    rules_write(&c->rr, w);
    writer_end_object(w);
    int rc = save_meta(c, "qc.json", w);
    if (rc == 0 && !c->j->en.is_url) {
        /* The original goes in by hard link (or copy); the input itself
         * is never modified or moved. */
        rc = util_mkdir_p(c->video_dir, &c->e);
        if (rc == 0)
            rc = util_link_or_copy(c->j->en.path, c->placed, &c->e);
    }
    if (rc == 0 && cfg->output.publish && r->status == ITEM_DONE) {
        char *pub_dir = util_path_join(c->g->o->out_dir, "publish");
        const char *ext = strrchr(c->fname, '.');
        char *pub_name = vb_xasprintf("%s%s", c->j->folder, ext ? ext : "");
        char *pub = util_path_join(pub_dir, pub_name);
        rc = util_mkdir_p(pub_dir, &c->e);
        if (rc == 0)
            rc = util_link_or_copy(c->placed, pub, &c->e);
        c->published = rc == 0;
        free(pub_dir);
        free(pub_name);
        free(pub);
    }
    if (rc == 0) {
        char *v = util_path_join(c->j->folder, "video");
        r->video = util_path_join(v, c->fname);
        free(v);
    }
    r->stage_time[STAGE_PUBLISH] = util_now() - t;
    if (rc != 0)
        item_fail(r, STAGE_PUBLISH, c->e.msg);
    return rc;
}

/* Run one item through its stages; every failure ends up in j->rec.
 * Returns the failure's error code (0 if none). */
static int item_attempt(engine *g, job *j)
{
    item_record *r = &j->rec;
    r->seq = j->seq;
    r->source = j->fed ? vb_xstrdup(j->fed_source)
                : j->en.is_url ? fetch_display_url(j->en.path) : vb_xstrdup(j->en.path);
    r->duration = NAN;
    r->fps = NAN;
    if (j->fed) {
        r->gen = j->gen;
        memset(&j->gen, 0, sizeof j->gen);
        r->stage_time[STAGE_GENERATE] = r->gen.seconds;
    }
    if (j->en.error) {
        item_fail(r, j->fed ? j->fed_stage : j->error_stage,
                  j->en.errmsg ? j->en.errmsg : "cannot be read");
        char *dir = j->folder && !j->fed ? util_path_join(g->o->out_dir, j->folder) : NULL;
        /* A generated item, or one that crashed vbatch after writing
         * part of its folder, keeps the folder. */
        if (j->folder && (j->fed || (dir && access(dir, F_OK) == 0)))
            r->folder = vb_xstrdup(j->folder);
        free(dir);
        return 0;
    }
    item_ctx c = { .g = g, .j = j, .r = r, .clk = &j->clock };
    c.item_dir = util_path_join(g->o->out_dir, j->folder);
    c.video_dir = util_path_join(c.item_dir, "video");
    c.meta_dir = util_path_join(c.item_dir, "metadata");
    char *base = j->fed ? util_basename(j->en.path)
                 : j->en.is_url ? util_url_basename(j->en.path) : vb_xstrdup(j->en.rel);
    char *slash = strrchr(base, '/');
    c.fname = layout_safe_file(slash ? slash + 1 : base);
    free(base);
    /* A fed item's file is in its folder already, under its own name. */
    c.placed = j->fed ? vb_xstrdup(j->en.path) : util_path_join(c.video_dir, c.fname);
    c.media = j->en.path;
    c.existed = access(c.item_dir, F_OK) == 0;
    if (c.existed)
        /* What a killed run was writing here, also for an item it had
         * not entered in the journal yet (found again by a resume's
         * rescan): one run at a time holds OUT, so no temporary file in
         * the folder is anyone's now. */
        util_remove_temps(c.item_dir, 3);
    r->folder = vb_xstrdup(j->folder);

    int rc = 0;
    if (j->en.is_url && !j->fed)
        rc = stage_fetch(&c);
    if (rc == 0)
        rc = image_is_image_name(c.fname) ? stage_image(&c) : stage_video(&c);
    if (rc == 0) {
        r->verdict = c.rr.verdict;
        r->status = c.rr.verdict == VERDICT_FAIL ? ITEM_QC_FAILED : ITEM_DONE;
        for (size_t i = 0; i < c.rr.n; i++) {
            if (c.rr.r[i].verdict == VERDICT_FAIL)
                vb_strlist_add(&r->failed_rules, c.rr.r[i].rule);
            else if (c.rr.r[i].verdict == VERDICT_WARN)
                vb_strlist_add(&r->warned_rules, c.rr.r[i].rule);
        }
        stage_publish(&c);
    }
    if (c.existed)
        clear_stale(&c);
    size_t pl = strlen(c.placed);
    if (j->en.is_url && !j->fed && r->status == ITEM_FAILED && r->error &&
        strncmp(r->error, c.placed, pl) == 0 && r->error[pl] == ':') {
        /* The download is not kept: the message names the URL instead. */
        char *m = vb_xasprintf("%s%s", r->source, r->error + pl);
        free(r->error);
        r->error = m;
    }
    /* A local item that failed before anything was written has no
     * folder; a download keeps its folder (the file is there). */
    if (r->status == ITEM_FAILED && !j->en.is_url && access(c.item_dir, F_OK) != 0) {
        free(r->folder);
        r->folder = NULL;
    }
    r->checks = c.rr;
    vb_strlist_clear(&c.thumb_files);
    free(c.item_dir);
    free(c.video_dir);
    free(c.meta_dir);
    free(c.fname);
    free(c.placed);
    return r->status == ITEM_FAILED ? c.e.code : 0;
}

/* Before another attempt: 1 after `d` seconds, 0 if the item's deadline
 * would pass first, -1 if the batch stops meanwhile. */
static int retry_wait(engine *g, job *j, double d)
{
    double until = util_now() + d;
    if (j->clock.deadline > 0 && until >= j->clock.deadline)
        return 0;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        bool stop = g->stop;
        pthread_mutex_unlock(&g->mu);
        if (stop || atomic_load(&g->abort))
            return -1;
        double left = until - util_now();
        if (left <= 0)
            return 1;
        /* Short slices: a stop is seen within 50 ms. */
        struct timespec ts = { 0, (long)(fmin(left, 0.05) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

/* Run one item; after a transient I/O error (a network share's EIO,
 * ESTALE ...) it is tried again from the start, with exponential backoff
 * and jitter, up to [batch] retries more times within its deadline. Each
 * attempt counts in the journal's attempts and the record's. An item the
 * grace period stopped, or waiting to retry when the batch stops, is
 * marked to be left pending. */
static void run_item(engine *g, job *j)
{
    const batch_config *b = &g->cfg->batch;
    uint64_t rng = (uint64_t)j->seq * 0x9E3779B97F4A7C15ull ^ (uint64_t)(util_wall() * 1e6);
    int attempt = 1;
    for (;; attempt++) {
        int code = item_attempt(g, j);
        j->rec.attempts = attempt;
        int stop = mediaio_clock_stopped(&j->clock);
        if (stop == MEDIAIO_ABORT && j->rec.status == ITEM_FAILED) {
            j->aborted = true;
            return;
        }
        if (code != VB_ERR_IO_RETRY || stop != MEDIAIO_GO || attempt > b->retries)
            break;
        int w = retry_wait(g, j, backoff_delay(attempt, b->retry_backoff, 30.0, &rng));
        if (w < 0) {
            j->aborted = true;
            return;
        }
        if (w == 0)
            break;
        item_record_clear(&j->rec);
        vb_error e = {0};
        report_running(g->rep, j->seq, &e);
    }
    if (attempt > 1 && j->rec.status == ITEM_FAILED && j->rec.error) {
        char *m = vb_xasprintf("%s (after %d attempts)", j->rec.error, attempt);
        free(j->rec.error);
        j->rec.error = m;
    }
}

static void job_free(job *j)
{
    item_record_clear(&j->rec);
    item_gen_clear(&j->gen);
    free(j->fed_source);
    scan_entry_clear(&j->en);
    free(j->folder);
    free(j->key);
    free(j);
}

/* The reserve: space held in OUT/.vbatch so that, when the output's
 * file system fills up, the journal can still record what was done and
 * that the batch stopped. Released (lock held) when the disk is full. */
#define RESERVE_BYTES (8 << 20)
/* Less free than this after a write failed: the disk is full. */
#define OUT_LOW_BYTES (1 << 20)

static void reserve_take(engine *g)
{
    char *dir = util_path_join(g->o->out_dir, ".vbatch");
    char *path = util_path_join(dir, "reserve");
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 && posix_fallocate(fd, 0, RESERVE_BYTES) == 0) {
        g->reserve = path;
        path = NULL;
    } else if (fd >= 0) {
        /* Not supported, or the disk is nearly full already: without. */
        unlink(path);
    }
    if (fd >= 0)
        close(fd);
    free(path);
}

static void reserve_release(engine *g)
{
    if (!g->reserve)
        return;
    unlink(g->reserve);
    free(g->reserve);
    g->reserve = NULL;
}

/* Is the output folder the reason a write failed? Moved or removed, or
 * its file system full or read-only: then the item is not at fault, it
 * is left pending, and the batch stops (resumable) instead of failing
 * every item after it. The first reason is kept in g->out_why, the
 * reserve released. Lock held. */
static bool out_trouble(engine *g)
{
    if (g->out_stop)
        return true;
    vb_error e = {0};
    const char *out = g->o->out_dir;
    if (util_out_check(&e) != 0) {
        snprintf(g->out_why, sizeof g->out_why, "%s", e.msg);
    } else {
        struct statvfs v;
        if (statvfs(out, &v) != 0)
            return false;
        /* root may use the blocks kept for it. */
        uint64_t avail = (uint64_t)(geteuid() == 0 ? v.f_bfree : v.f_bavail) * v.f_frsize;
        if (v.f_flag & ST_RDONLY)
            snprintf(g->out_why, sizeof g->out_why, "%s: the output folder's file system is "
                     "read-only", out);
        else if (avail < OUT_LOW_BYTES)
            snprintf(g->out_why, sizeof g->out_why, "%s: the output folder's file system is "
                     "full (%llu KiB free)", out, (unsigned long long)(avail >> 10));
        else
            return false;
    }
    reserve_release(g);
    g->out_stop = true;
    if (!g->stop) {
        g->stop = true;
        pthread_cond_broadcast(&g->cv_work);
        pthread_cond_broadcast(&g->cv_done);
        if (g->o->feed && g->o->feed->stop)
            g->o->feed->stop(g->o->feed->ud);
    }
    return true;
}

static void *worker_main(void *arg)
{
    engine *g = ((worker_arg *)arg)->g;
    int slot = ((worker_arg *)arg)->slot;
    crash_thread_init();
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while ((g->next_take == g->next_seq && !g->closed && !g->stop) ||
               (g->solo_wait && !g->stop))
            pthread_cond_wait(&g->cv_work, &g->mu);
        if (g->next_take == g->next_seq || g->stop) {
            pthread_mutex_unlock(&g->mu);
            crash_thread_done();
            return NULL;
        }
        job *j = g->ring[g->next_take % g->window];
        g->next_take++;
        g->nrunning++;
        j->slot = slot;
        if (j->solo) {
            /* It may be what crashed vbatch from a thread of no item:
             * alone, a crash names it. */
            g->solo_wait = true;
            while (g->nrunning > 1)
                pthread_cond_wait(&g->cv_work, &g->mu);
        }
        const batch_config *b = &g->cfg->batch;
        mediaio_clock_start(&j->clock, b->item_timeout, b->stall_timeout, &g->abort);
        if (g->live)
            g->working[slot] = j->en.is_url ? fetch_display_url(j->en.path)
                                            : vb_xstrdup(j->en.path);
        pthread_mutex_unlock(&g->mu);

        /* Before each item: is the output folder still where it was? */
        vb_error oe = {0};
        if (util_out_check(&oe) != 0) {
            pthread_mutex_lock(&g->mu);
            out_trouble(g);
            pthread_mutex_unlock(&g->mu);
            j->aborted = true;
        } else {
            /* Only informative (a resumed batch redoes running items), so
             * a failed write is left to the result's write to report. */
            vb_error e = {0};
            report_running(g->rep, j->seq, &e);
            crash_enter(slot, j->seq, j->en.path, &j->clock.stage);
            run_item(g, j);
            crash_leave(slot);
        }

        pthread_mutex_lock(&g->mu);
        if (j->abandoned) {
            /* The watchdog recorded the item and gave the slot to a new
             * worker: nothing here is ours any more but the job. */
            g->nstuck--;
            pthread_mutex_unlock(&g->mu);
            job_free(j);
            crash_thread_done();
            return NULL;
        }
        if (j->rec.status == ITEM_FAILED && !j->aborted && out_trouble(g))
            /* Not the item's fault: done again by `vbatch resume`. */
            j->aborted = true;
        if (j->rec.status == ITEM_FAILED && !j->aborted &&
            g->cfg->batch.error_handling == ERRH_STOP && !g->stop) {
            /* No new item; those running finish and are recorded. */
            g->stop = true;
            g->failed_stop = true;
            pthread_cond_broadcast(&g->cv_work);
            pthread_cond_broadcast(&g->cv_done);
            if (g->o->feed && g->o->feed->stop)
                g->o->feed->stop(g->o->feed->ud);
        }
        free(g->working[slot]);
        g->working[slot] = NULL;
        g->nrunning--;
        if (j->solo)
            g->solo_wait = false;
        if (g->solo_wait || j->solo)
            pthread_cond_broadcast(&g->cv_work);
        j->done = true;
        pthread_cond_signal(&g->cv_done);
        pthread_mutex_unlock(&g->mu);
    }
}

static void print_item(const item_record *r, int64_t seq, bool live)
{
    const char *tag = r->status == ITEM_FAILED ? "ERROR" :
                      r->status == ITEM_QC_FAILED ? "FAIL " :
                      r->status == ITEM_SKIPPED ? "SKIP " :
                      r->warned_rules.n ? "WARN " : "ok   ";
    /* Skipped items only with --verbose: a rerun over a large folder
     * stays quiet; the summary counts them. */
    if (vb_verbosity < 2 && ((r->status == ITEM_DONE && r->warned_rules.n == 0) ||
                             r->status == ITEM_SKIPPED))
        return;
    if (vb_verbosity < 1)
        return;
    char *what;
    if (r->status == ITEM_SKIPPED) {
        what = report_skip_note(r);
    } else if (r->status == ITEM_FAILED) {
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
    fprintf(stderr, "%s[%lld] %s %s  %s\n", live ? ERASE_LINE : "", (long long)seq, tag, src,
            what);
    free(src);
    free(what);
}

/* An item stopped by the grace period (or by trouble with the output
 * folder) goes back to pending: its outputs so far are redone by
 * `vbatch resume` (temporary files are removed then). */
static void print_pending(const job *j, bool live, bool out_stop)
{
    if (vb_verbosity < 1)
        return;
    const char *s = j->rec.source ? j->rec.source : j->en.path ? j->en.path : "";
    char *src = vb_xstrdup(s);
    for (char *c = src; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = '?';
    const char *why = mediaio_clock_stopped(&j->clock) == MEDIAIO_ABORT
                          ? "interrupted after the grace period"
                          : out_stop ? "stopped with the batch (see below)"
                                     : "interrupted before it could finish";
    fprintf(stderr, "%s[%lld] STOP  %s  %s: left pending\n", live ? ERASE_LINE : "",
            (long long)j->seq, src, why);
    free(src);
}

/* Results are shown only once the journal has committed them: what was
 * printed as done is recorded, whatever happens next (a crash, a full
 * disk). They are written as they come, into the journal's open
 * transaction, and shown when it is committed: after RECORD_GROUP of
 * them, RECORD_SECONDS after the first, or when the batch waits. */
#define RECORD_GROUP 64
#define RECORD_SECONDS 0.1

/* Write one finished job into the journal's transaction. */
static int record_write(report *rep, job *j, vb_error *e)
{
    report_source src = { j->key, j->size, j->mtime_ns };
    return j->aborted ? report_pending(rep, j->seq, j->rec.source, j->folder, e)
                      : report_add_input(rep, &j->rec, j->key ? &src : NULL, e);
}

/* The journal cannot record: the batch stops (lock held). */
static void record_failed(engine *g, const vb_error *e)
{
    if (g->record_stop)
        return;
    g->record_stop = true;
    snprintf(g->record_why, sizeof g->record_why, "%s", e->msg);
    if (!g->stop) {
        g->stop = true;
        pthread_cond_broadcast(&g->cv_work);
        if (g->o->feed && g->o->feed->stop)
            g->o->feed->stop(g->o->feed->ud);
    }
}

/* Commit what is written and show it (lock held; dropped around the
 * I/O). If the commit fails and the output folder is the trouble (a full
 * disk: the reserve is released), everything not shown is written once
 * more, with the counts as they were, and committed again; if that fails
 * too, none of it is shown: those items stay pending or running in the
 * journal, for `vbatch resume`. 0, or -1 after a failure. */
static int record_show(engine *g, report *rep)
{
    if (g->nunshown == 0)
        return 0;
    int n = g->nunshown;
    job **v = g->unshown;
    g->unshown = vb_xcalloc(RECORD_GROUP, sizeof *g->unshown);
    g->nunshown = 0;
    report_counts before = g->counts_before;
    bool failed = g->unshown_failed;
    g->unshown_failed = false;
    vb_error e = {0};
    if (failed)
        snprintf(e.msg, sizeof e.msg, "%s", g->unshown_why);
    pthread_mutex_unlock(&g->mu);
    int rc = failed ? -1 : report_flush(rep, &e);
    if (rc != 0) {
        pthread_mutex_lock(&g->mu);
        bool again = out_trouble(g);
        pthread_mutex_unlock(&g->mu);
        if (again) {
            report_set_counts(rep, &before);
            rc = 0;
            for (int i = 0; i < n && rc == 0; i++)
                rc = record_write(rep, v[i], &e);
            if (rc == 0)
                rc = report_flush(rep, &e);
        }
    }
    pthread_mutex_lock(&g->mu);
    if (rc != 0)
        record_failed(g, &e);
    for (int i = 0; rc == 0 && i < n; i++)
        if (!v[i]->aborted &&
            (v[i]->rec.status == ITEM_FAILED || v[i]->rec.status == ITEM_QC_FAILED))
            g->nfailed++;
    bool out_stop = g->out_stop;
    pthread_mutex_unlock(&g->mu);
    for (int i = 0; i < n; i++) {
        if (rc == 0 && v[i]->aborted)
            print_pending(v[i], g->live, out_stop);
        else if (rc == 0)
            print_item(&v[i]->rec, v[i]->seq, g->live);
        job_free(v[i]);
    }
    free(v);
    pthread_mutex_lock(&g->mu);
    return rc;
}

/* Record every finished item at the head of the ring, in order. Called
 * with the lock held; drops it around the I/O. A result that cannot be
 * recorded stops the batch. */
static int record_ready(engine *g, report *rep)
{
    int rc = 0;
    while (g->next_record < g->next_seq) {
        job *j = g->ring[g->next_record % g->window];
        if (!j->done)
            break;
        g->ring[g->next_record % g->window] = NULL;
        g->next_record++;
        if (g->nunshown == 0) {
            g->counts_before = *report_get_counts(rep);
            g->unshown_since = util_now();
        }
        g->unshown[g->nunshown++] = j;
        if (!g->record_stop && !g->unshown_failed) {
            pthread_mutex_unlock(&g->mu);
            vb_error e = {0};
            int w = record_write(rep, j, &e);
            pthread_mutex_lock(&g->mu);
            if (w != 0) {
                g->unshown_failed = true;
                snprintf(g->unshown_why, sizeof g->unshown_why, "%s", e.msg);
            }
        } else if (g->record_stop) {
            g->unshown_failed = true;
        }
        if ((g->nunshown >= RECORD_GROUP || g->unshown_failed) && record_show(g, rep) != 0)
            rc = -1;
    }
    if (g->nunshown > 0 && util_now() - g->unshown_since >= RECORD_SECONDS &&
        record_show(g, rep) != 0)
        rc = -1;
    return rc;
}

/* Should the live status line be drawn: stderr a terminal (not a dumb
 * one) and not --quiet. */
static bool progress_wanted(void)
{
    const char *term = getenv("TERM");
    return vb_verbosity >= 1 && isatty(STDERR_FILENO) && term && term[0] &&
           strcmp(term, "dumb") != 0;
}

/* Append src to buf (of len, holding *n bytes) as far as it fits,
 * control characters as '?', never cutting a UTF-8 sequence. */
static void line_add(char *buf, size_t len, size_t *n, const char *src)
{
    for (const unsigned char *p = (const unsigned char *)src; *p; ) {
        size_t l = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
        size_t k = 0;
        while (k < l && p[k])
            k++;
        if (*n + k >= len)
            break;
        for (size_t i = 0; i < k; i++)
            buf[(*n)++] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
        p += k;
    }
    buf[*n] = '\0';
}

/* Redraw the status line (lock held, main thread), at most 10 times a
 * second: a bar, done/queued (+ while discovery runs), failed, files per
 * second, the ETA once discovery has ended, the files being worked on. */
static void progress_draw(engine *g, bool force)
{
    if (!g->live)
        return;
    double now = util_now();
    if (!force && now - g->last_draw < 0.1)
        return;
    g->last_draw = now;
    int cols = 80;
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    if (cols > 1000)
        cols = 1000;
    if (cols < 2)
        cols = 2;
    int64_t done = g->next_record, total = g->next_seq;
    bool more = !g->closed;
    double el = now - g->t0, rate = el > 0 ? done / el : 0;
    char bar[21];
    int fill = total > 0 ? (int)(20 * done / total) : 0;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    char eta[32] = "";
    if (!more && rate > 0) {
        long s = (long)((total - done) / rate + 0.5);
        snprintf(eta, sizeof eta, " ETA %ld:%02ld", s / 60, s % 60);
    }
    char line[1024];
    char skipped[48] = "";
    if (g->nskipped)
        snprintf(skipped, sizeof skipped, "  %lld skipped", (long long)g->nskipped);
    int n0 = snprintf(line, sizeof line, "[%s] %lld/%lld%s  %lld failed%s  %.1f files/s%s",
                      bar, (long long)done, (long long)total, more ? "+" : "",
                      (long long)g->nfailed, skipped, rate, eta);
    size_t len = (size_t)cols; /* up to cols - 1 characters: no wrap */
    size_t n = n0 < 0 ? 0 : (size_t)n0 < len ? (size_t)n0 : len - 1;
    line[n] = '\0';
    const char *sep = "  ";
    for (int i = 0; i < g->jobs; i++) {
        if (!g->working[i])
            continue;
        const char *slash = strrchr(g->working[i], '/');
        const char *name = slash && slash[1] ? slash + 1 : g->working[i];
        line_add(line, len, &n, sep);
        line_add(line, len, &n, name);
        sep = ", ";
    }
    fprintf(stderr, ERASE_LINE "%s", line);
    fflush(stderr);
}

/* batch_YYYYMMDD_HHMMSS; the journal adds _2, _3 ... when a batch of the
 * same second is already recorded in this output folder. */
void batch_make_id(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, len, "batch_%Y%m%d_%H%M%S", &tm);
}

/* The watchdog. A worker blocked in the kernel (a read from a network
 * share that never returns) can neither be interrupted nor joined. When
 * it has been blocked WATCHDOG_MARGIN seconds past its item's limits
 * (stall_timeout; item_timeout or the grace period, which it should have
 * noticed by now), the item is taken from it (mediaio_clock_abandon):
 * recorded as failed ("stalled: abandoned ...") or, after the grace
 * period, left pending, and its slot gets a new worker. The old one, if
 * its call ever returns, stops there, frees its job and ends, recording
 * nothing. Too many such workers at once means the input is gone: the
 * batch takes no new items (the rest stays pending). Main thread, lock
 * held. */
#define WATCHDOG_MARGIN 2.0

static void watchdog(engine *g)
{
    double now = util_now();
    for (int64_t s = g->next_record; s < g->next_take; s++) {
        job *j = g->ring[s % g->window];
        double blocked = 0;
        if (!j || j->done)
            continue;
        int why = mediaio_clock_abandon(&j->clock, now, WATCHDOG_MARGIN, &blocked);
        if (why == MEDIAIO_GO)
            continue;
        /* A job of its own in the ring: the worker still holds j. */
        job *n = vb_xcalloc(1, sizeof *n);
        n->seq = j->seq;
        n->folder = j->folder ? vb_xstrdup(j->folder) : NULL;
        n->slot = j->slot;
        n->aborted = why == MEDIAIO_ABORT;
        n->done = true;
        item_record *r = &n->rec;
        r->seq = j->seq;
        r->source = j->en.is_url ? fetch_display_url(j->en.path) : vb_xstrdup(j->en.path);
        r->duration = r->fps = NAN;
        r->attempts = 1;
        if (!n->aborted) {
            vb_error e = {0};
            mediaio_clock_fail(&j->clock, why, why == MEDIAIO_STALL ? blocked
                                                                   : now - j->clock.started,
                               true, r->source, &e);
            int stage = atomic_load(&j->clock.stage);
            item_fail(r, stage, e.msg);
            if (stage > 0 && stage < STAGE_COUNT)
                r->stage_time[stage] = now - j->clock.started;
            char *dir = n->folder ? util_path_join(g->o->out_dir, n->folder) : NULL;
            if (dir && access(dir, F_OK) == 0)
                r->folder = vb_xstrdup(n->folder);
            free(dir);
        }
        j->abandoned = true;
        g->ring[s % g->window] = n;
        g->nstuck++;
        g->nrunning--;
        if (j->solo)
            g->solo_wait = false;
        pthread_cond_broadcast(&g->cv_work);
        pthread_detach(g->threads[j->slot]);
        free(g->working[j->slot]);
        g->working[j->slot] = NULL;
        if (pthread_create(&g->threads[j->slot], NULL, worker_main, &g->wargs[j->slot]) != 0) {
            fprintf(stderr, "vbatch: cannot start worker threads\n");
            abort();
        }
        if (g->stop)
            continue;
        if (g->cfg->batch.error_handling == ERRH_STOP || g->nstuck >= 2 * g->jobs + 2) {
            g->stop = true;
            g->failed_stop = true;
            g->stuck_stop = g->cfg->batch.error_handling != ERRH_STOP;
            pthread_cond_broadcast(&g->cv_work);
            if (g->o->feed && g->o->feed->stop)
                g->o->feed->stop(g->o->feed->ud);
        }
    }
}

/* Wait (lock held) for a worker to finish an item. While nothing
 * happens, what the journal holds is committed every 200 ms, so that a
 * long item neither hides the latest results from `vbatch status` nor
 * keeps the journal's write lock. */
static void wait_done(engine *g, report *rep)
{
    static double last_flush;
    double wait = g->live ? 0.1 : 0.2;
    if (g->nunshown > 0) {
        /* Results waiting to be shown are committed in time. */
        double left = g->unshown_since + RECORD_SECONDS - util_now();
        wait = left < wait ? (left > 0 ? left : 0) : wait;
    }
    int w = ETIMEDOUT;
    if (wait > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(wait * 1e9);
        while (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        w = pthread_cond_timedwait(&g->cv_done, &g->mu, &ts);
    }
    watchdog(g);
    progress_draw(g, false);
    if (g->nunshown > 0 && util_now() - g->unshown_since >= RECORD_SECONDS) {
        last_flush = util_now();
        record_show(g, rep);
    } else if (w == ETIMEDOUT && util_now() - last_flush >= 0.19) {
        last_flush = util_now();
        pthread_mutex_unlock(&g->mu);
        vb_error e = {0};
        if (report_flush(rep, &e) != 0)
            fprintf(stderr, "vbatch: %s\n", e.msg);
        pthread_mutex_lock(&g->mu);
    }
}

/* Retrying an item that has no folder (it failed before anything was
 * written: not found, not a media file): discover its local source
 * again and give it a folder unique in the batch. */
static void rediscover(const batch_opts *o, layout_names *names, report *rep, job *j,
                       char *source)
{
    /* Taken on its own, a link found in a walk would pass as named. */
    char *refused = scan_refused_link(&o->config->input, source, report_inputs(rep));
    if (refused) {
        j->en.path = source;
        j->en.rel = vb_xstrdup(source);
        j->en.error = VB_ERR_LIMIT;
        j->en.errmsg = refused;
        return;
    }
    scanner *one = scan_new(&o->config->input);
    scan_add_path(one, source);
    vb_error se = {0};
    int got = scan_next(one, &j->en, &se);
    scan_free(&one);
    if (got == 1 && !j->en.error) {
        free(source);
        j->folder = layout_unique_name(names, j->en.rel);
        return;
    }
    if (got == 1) {
        free(j->en.path);
        free(j->en.rel);
    } else {
        j->en.errmsg = vb_xstrdup(got < 0 ? se.msg : "cannot be read");
    }
    j->en.path = source;
    j->en.rel = vb_xstrdup(source);
    j->en.is_url = false;
    j->en.error = VB_ERR_IO;
}

/* Resuming: the batch's own folders are its items' again. */
static void name_taken(void *ud, const char *folder)
{
    layout_claim(ud, folder);
}

/* Folders of earlier batches: new items never get them. */
static void name_reserved(void *ud, const char *folder)
{
    layout_reserve(ud, folder);
}

/* The index key and what a source is now: a local file by its absolute
 * path (the working folder is the same for a whole run), with size and
 * mtime; a URL as shown (no credentials), size -1. */
static void source_stat(job *j)
{
    static char cwd[4096];
    j->size = -1;
    j->mtime_ns = 0;
    if (j->en.is_url) {
        j->key = fetch_display_url(j->en.path);
        return;
    }
    struct stat st;
    if (stat(j->en.path, &st) == 0 && S_ISREG(st.st_mode)) {
        j->size = (int64_t)st.st_size;
        j->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    if (!cwd[0] && !getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    j->key = j->en.path[0] == '/' || !cwd[0] ? vb_xstrdup(j->en.path)
                                            : util_path_join(cwd, j->en.path);
}

/* A new item: the folder its source had in this OUT (claimed back) or a
 * new one that avoids every folder given out before; unless --force,
 * whether it is unchanged since an earlier batch (j->skip, j->rec the
 * result kept). A journal that can not be read only costs the skip. */
static void incremental_enter(const batch_opts *o, layout_names *names, report *rep, job *j)
{
    source_stat(j);
    report_source src = { j->key, j->size, j->mtime_ns };
    char *folder = NULL;
    bool skip = false;
    vb_error e = {0};
    if (report_lookup(rep, &src, o->force, &folder, &skip, &j->rec, &e) < 0)
        fprintf(stderr, "vbatch: %s\n", e.msg);
    /* The same source twice in one batch: the second gets a new folder
     * and is processed. */
    if (folder && layout_claim(names, folder)) {
        j->folder = folder;
        j->skip = skip;
        return;
    }
    free(folder);
    if (skip)
        item_record_clear(&j->rec);
    j->folder = layout_unique_name(names, j->en.rel);
}

/* Enter a skipped item in the journal (main thread): no worker needed. */
static int record_skipped(engine *g, report *rep, job *j)
{
    item_record *r = &j->rec;
    r->seq = j->seq;
    free(r->source);
    r->source = vb_xstrdup(j->en.path);
    free(r->folder);
    r->folder = vb_xstrdup(j->folder);
    vb_error e = {0};
    int rc = report_add_skipped(rep, r, &e);
    if (rc != 0)
        fprintf(stderr, "vbatch: %s\n", e.msg);
    g->nskipped++;
    print_item(r, j->seq, g->live);
    return rc;
}

/* Resuming: the next pending item from the journal, as a job (its seq
 * and folder as recorded; no rescan, except for an item retried without
 * a folder). 1, 0 when none is left, -1. */
static int resume_next(const batch_opts *o, layout_names *names, report *rep,
                       const relist *rl, int64_t *after, job *j, vb_error *e)
{
    const char *out_dir = o->out_dir;
    char *source, *folder, *error;
    int got = report_next_pending(rep, *after, &j->seq, &source, &folder, &error, e);
    if (got <= 0)
        return got;
    *after = j->seq;
    if (!folder && !error && source && !util_is_url(source)) {
        rediscover(o, names, rep, j, source);
        if (!j->en.error)
            source_stat(j);
        return 1;
    }
    if (folder) {
        /* What a killed run was writing for this item. */
        char *dir = util_path_join(out_dir, folder);
        util_remove_temps(dir, 3);
        free(dir);
    }
    j->en.path = source ? source : vb_xstrdup("");
    j->en.is_url = util_is_url(j->en.path);
    j->en.rel = j->en.is_url ? util_url_basename(j->en.path) : vb_xstrdup(j->en.path);
    /* A download retried after it failed before its folder was made. */
    if (j->en.is_url && !folder && !error)
        folder = layout_unique_name(names, j->en.rel);
    j->folder = folder;
    if (error || !folder) {
        /* Found bad when it was entered: recorded as such again. */
        j->en.error = VB_ERR_IO;
        j->en.errmsg = error ? error : vb_xstrdup("cannot be read");
    } else {
        free(error);
        /* Its result updates the index too (never skipped here: the
         * batch decided when the item was entered). */
        source_stat(j);
    }
    /* The journal's URL lacks credentials and query: the full one is
     * taken from the batch's lists again. */
    char *url, *why;
    int got_url = j->en.error || !j->en.is_url || !rl
                      ? 0 : relist_url(rl, j->seq, j->en.path, &url, &why);
    if (got_url > 0) {
        free(j->en.path);
        j->en.path = url;
    } else if (got_url < 0) {
        j->en.error = VB_ERR_IO;
        j->en.errmsg = why;
    }
    return 1;
}

/* The next job: from the journal when resuming, else from the scanner,
 * named and entered in the journal as pending. 1, 0 at the end, -1 on a
 * fatal error. */
static int next_job(const batch_opts *o, scanner *sc, layout_names *names, report *rep,
                    const relist *rl, int64_t *last_seq, job *j, vb_error *e)
{
    if (o->feed) {
        batch_item it = {0};
        int got = o->feed->next(o->feed->ud, 0.1, &it, e);
        if (got != 1)
            return got;
        j->fed = true;
        j->seq = it.seq;
        j->folder = it.folder;
        j->fed_source = it.source;
        j->gen = it.gen;
        /* is_url: nothing to link into the folder, keep it on failure. */
        j->en.is_url = true;
        j->en.path = it.media ? it.media : vb_xstrdup("");
        j->en.rel = vb_xstrdup(j->en.path);
        if (it.error) {
            j->en.error = VB_ERR_NET;
            j->en.errmsg = it.error;
            j->fed_stage = it.error_stage;
        }
        return 1;
    }
    if (o->resume_id)
        return resume_next(o, names, rep, rl, last_seq, j, e);
    int got = scan_next(sc, &j->en, e);
    if (got <= 0)
        return got;
    if (!j->en.error)
        incremental_enter(o, names, rep, j);
    j->seq = ++*last_seq;
    if (j->skip)
        return 1;           /* entered as skipped by the caller */
    char *src = j->en.is_url ? fetch_display_url(j->en.path) : vb_xstrdup(j->en.path);
    vb_error qe = {0};
    if (report_queue(rep, j->seq, src, j->folder, j->en.error ? j->en.errmsg : NULL, &qe) != 0)
        /* The result's write will fail too and be reported then. */
        fprintf(stderr, "vbatch: %s\n", qe.msg);
    free(src);
    return 1;
}

/* Skip the first n entries of the scan (already in the journal): 1, or
 * 0 when the input ended first, -1 on error. */
static int rescan_skip(scanner *sc, int64_t n, vb_error *e)
{
    for (int64_t i = 0; i < n; i++) {
        scan_entry en;
        int got = scan_next(sc, &en, e);
        if (got <= 0)
            return got;
        scan_entry_clear(&en);
    }
    return 1;
}

static void signal_ignore(int sig)
{
    (void)sig;
}

/* Wait for SIGINT or SIGTERM, for at most `timeout` seconds if that is
 * finite: true if one came. A cancellation point. */
static bool signal_wait(const sigset_t *set, double timeout)
{
    double until = util_now() + timeout;
    for (;;) {
        if (!isfinite(timeout)) {
            int sig;
            if (sigwait(set, &sig) == 0)
                return true;
            continue;
        }
        double left = until - util_now();
        if (left <= 0)
            return false;
        struct timespec ts = { (time_t)left, (long)((left - floor(left)) * 1e9) };
        if (sigtimedwait(set, NULL, &ts) > 0)
            return true;
        /* EAGAIN: time out (seen at the top); EINTR: wait on. */
    }
}

/* The signal thread: the first SIGINT/SIGTERM stops the batch (no new
 * items); the running ones get [batch] grace_period seconds, after which
 * their reading is interrupted (the abort flag every item's clock looks
 * at) and they are left pending. The second signal ends the process.
 * Cancelled (at sigwait) when the batch is over. */
static void *signal_main(void *arg)
{
    engine *g = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    signal_wait(&set, INFINITY);
    double grace = g->cfg->batch.grace_period;
    if (vb_verbosity >= 1)
        fprintf(stderr, "%svbatch: interrupted: giving the running items %g s to finish"
                        " (interrupt again to stop at once)\n",
                g->live ? ERASE_LINE : "", grace);
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_broadcast(&g->cv_work);
    pthread_cond_broadcast(&g->cv_done);
    pthread_mutex_unlock(&g->mu);
    if (g->o->feed && g->o->feed->stop)
        g->o->feed->stop(g->o->feed->ud);
    if (!signal_wait(&set, grace)) {
        if (vb_verbosity >= 1)
            fprintf(stderr, "vbatch: grace period over: interrupting the running items"
                            " (they are left pending)\n");
        atomic_store(&g->abort, 1);
        signal_wait(&set, INFINITY);
    }
    fprintf(stderr, "vbatch: interrupted again: stopping now (resumable)\n");
    _exit(VB_EXIT_INTERRUPTED);
}

/* The command that finishes this batch, for the crash guard: argv of
 * `vbatch [-q|-v] resume --job-id ID --output OUT [--jobs N]
 * [--from-list F]...` (argv[0] is replaced by the executable). */
static char **resume_argv(const batch_opts *o, const char *id)
{
    vb_strlist a = {0};
    vb_strlist_add(&a, "vbatch");
    if (vb_verbosity == 0)
        vb_strlist_add(&a, "--quiet");
    else if (vb_verbosity >= 2)
        vb_strlist_add(&a, "--verbose");
    vb_strlist_add(&a, "resume");
    vb_strlist_add(&a, "--job-id");
    vb_strlist_add(&a, id);
    vb_strlist_add(&a, "--output");
    vb_strlist_add(&a, o->out_dir);
    if (o->jobs > 0) {
        char n[24];
        snprintf(n, sizeof n, "%d", o->jobs);
        vb_strlist_add(&a, "--jobs");
        vb_strlist_add(&a, n);
    }
    for (size_t i = 0; o->resume_id && i < o->lists.n; i++) {
        vb_strlist_add(&a, "--from-list");
        vb_strlist_add(&a, o->lists.v[i]);
    }
    char **v = vb_xcalloc(a.n + 1, sizeof *v);
    for (size_t i = 0; i < a.n; i++)
        v[i] = vb_xstrdup(a.v[i]);
    vb_strlist_clear(&a);
    return v;
}

/* An item an earlier run of this batch crashed on is failed with the
 * signal; one that was working when a thread of no item crashed is
 * taken alone. */
static void crash_apply(const engine *g, job *j)
{
    const crash_record *c = crash_find(&g->crashes, j->seq);
    if (!c || j->en.error)
        return;
    if (c->suspect) {
        j->solo = true;
        return;
    }
    j->en.error = VB_ERR_INTERNAL;
    free(j->en.errmsg);
    j->en.errmsg = vb_xasprintf("crashed vbatch: %s in the %s stage (not tried again; "
                                "vbatch retry --job-id %s tries it)",
                                crash_signal_name(c->sig), report_stage_name(c->stage),
                                report_batch_id(g->rep));
    j->error_stage = c->stage;
    if (j->fed)
        j->fed_stage = c->stage;
}

int batch_run(const batch_opts *o)
{
    vb_error e = {0};
    if (util_mkdir_p(o->out_dir, &e) != 0) {
        fprintf(stderr, "vbatch: %s\n", e.msg);
        return VB_EXIT_USAGE;
    }
    char batch_id[64];
    batch_make_id(batch_id, sizeof batch_id);
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
    report *rep = o->rep ? o->rep
                  : o->resume_id ? report_reopen(o->out_dir, o->resume_id, o->requeue, &e)
                                 : report_open(o->out_dir, &info, &e);
    if (!rep) {
        vb_strlist_clear(&inputs);
        fprintf(stderr, "vbatch: %s\n", e.msg);
        return VB_EXIT_USAGE;
    }

    scanner *sc = scan_new(&o->config->input);
    scan_skip_dir(sc, o->out_dir);
    for (size_t i = 0; i < o->paths.n; i++)
        scan_add_path(sc, o->paths.v[i]);
    for (size_t i = 0; !o->resume_id && i < o->lists.n; i++)
        scan_add_list(sc, o->lists.v[i]);
    if (o->resume_id) {
        /* Its inputs, in case a killed run had not entered them all. */
        static const char opt[] = "--from-list ";
        const vb_strlist *in = report_inputs(rep);
        for (size_t i = 0; i < in->n; i++)
            if (strncmp(in->v[i], opt, sizeof opt - 1) == 0)
                scan_add_list(sc, in->v[i] + sizeof opt - 1);
            else
                scan_add_path(sc, in->v[i]);
    }
    /* Once the journal's pending items are taken: discovering the rest. */
    batch_opts rescan_o = *o;
    rescan_o.resume_id = NULL;
    const batch_opts *feed_o = o;
    layout_names *names = layout_names_new();

    int jobs = o->jobs > 0 ? o->jobs : (o->config->batch.jobs > 0 ? o->config->batch.jobs : util_ncpu());
    engine g = { .o = o, .cfg = o->config, .jobs = jobs, .rep = rep,
                 .live = progress_wanted() };
    /* From here on the output folder is never made again: moved or
     * removed, the batch stops (see out_trouble). */
    if (util_out_fence(o->out_dir, &e) != 0)
        fprintf(stderr, "vbatch: %s\n", e.msg);
    const char *mem = getenv("VBATCH_JOURNAL");
    bool on_disk = !(mem && strcmp(mem, "memory") == 0);
    if (on_disk) {
        reserve_take(&g);
        char **argv = resume_argv(o, report_batch_id(rep));
        vb_error ce = {0};
        if (crash_arm(o->out_dir, report_batch_id(rep), (const char *const *)argv, jobs,
                      &ce) != 0 && vb_verbosity >= 2)
            fprintf(stderr, "vbatch: no crash guard: %s\n", ce.msg);
        for (size_t i = 0; argv[i]; i++)
            free(argv[i]);
        free(argv);
        if (o->resume_id && crash_read(o->out_dir, report_batch_id(rep), &g.crashes, &ce) != 0)
            fprintf(stderr, "vbatch: %s\n", ce.msg);
    }
    g.working = vb_xcalloc((size_t)jobs, sizeof(char *));
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv_work, NULL);
    pthread_cond_init(&g.cv_done, NULL);
    pthread_cond_init(&g.cv_hash, NULL);
    g.window = 64 * (int64_t)jobs;
    g.unshown = vb_xcalloc(RECORD_GROUP, sizeof *g.unshown);
    g.ring = vb_xcalloc((size_t)g.window, sizeof(job *));
    g.threads = vb_xcalloc((size_t)jobs, sizeof(pthread_t));
    g.wargs = vb_xcalloc((size_t)jobs, sizeof(worker_arg));
    /* A handler, not SIG_IGN inherited from a shell's background job, so
     * the signals reach sigwait; blocked before any thread starts so
     * every thread (the libraries' too) inherits the mask. */
    struct sigaction sa = { .sa_handler = signal_ignore };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    pthread_t sig_th;
    if (pthread_create(&sig_th, NULL, signal_main, &g) != 0) {
        fprintf(stderr, "vbatch: cannot start the signal thread\n");
        abort();
    }
    pthread_mutex_lock(&g.mu); /* the watchdog may replace threads[i] */
    for (int i = 0; i < jobs; i++) {
        g.wargs[i] = (worker_arg){ &g, i };
        if (pthread_create(&g.threads[i], NULL, worker_main, &g.wargs[i]) != 0) {
            fprintf(stderr, "vbatch: cannot start worker threads\n");
            abort();
        }
    }
    pthread_mutex_unlock(&g.mu);

    double t0 = util_now();
    g.t0 = t0;
    int status = VB_EXIT_OK;
    int record_rc = 0;
    bool stopped = false;        /* seen g.stop: start nothing more */
    if ((o->resume_id && !o->feed && report_each_folder(rep, name_taken, names, &e) != 0) ||
        report_each_known_folder(rep, name_reserved, names, &e) != 0) {
        fprintf(stderr, "vbatch: %s\n", e.msg);
        status = VB_EXIT_ITEMS;
    }
    relist *rl = NULL;
    if (o->resume_id && !(rl = relist_new(rep, &o->lists, &o->config->input, &e))) {
        fprintf(stderr, "vbatch: %s\n", e.msg);
        status = VB_EXIT_ITEMS;
    }
    if (o->resume_id) {
        /* Leftovers of a killed run outside the item folders. */
        const char *dirs[] = { "summary", "publish" };
        for (size_t i = 0; i < VB_ARRAY_LEN(dirs); i++) {
            char *d = util_path_join(o->out_dir, dirs[i]);
            util_remove_temps(d, 0);
            free(d);
        }
    }
    int64_t last_seq = 0;        /* the last item taken from the input */
    for (;;) {
        job *j = vb_xcalloc(1, sizeof *j);
        /* After a stop, a new batch's input is still entered as pending
         * (for `vbatch resume`); a resumed batch's is there already. */
        pthread_mutex_lock(&g.mu);
        bool unrecordable = g.record_stop || g.out_stop;
        pthread_mutex_unlock(&g.mu);
        if (unrecordable) {
            /* Nothing more can be entered, nor should be: the input
             * not entered is found again by `vbatch resume`. */
            free(j);
            break;
        }
        int got = stopped && (feed_o->resume_id || o->feed)
                      ? 0 : next_job(feed_o, sc, names, rep, rl, &last_seq, j, &e);
        if (got == 2) {
            /* Fed items come when they are made: record meanwhile. */
            free(j);
            pthread_mutex_lock(&g.mu);
            if (record_ready(&g, rep) != 0)
                record_rc = -1;
            progress_draw(&g, false);
            pthread_mutex_unlock(&g.mu);
            continue;
        }
        if (got == 0 && !o->feed && feed_o->resume_id && report_rescan_after(rep) >= 0) {
            /* The killed run had entered items up to rescan_after: the
             * scan (stable order) goes on from there. */
            feed_o = &rescan_o;
            last_seq = report_rescan_after(rep);
            got = rescan_skip(sc, last_seq, &e);
            if (got > 0)
                got = next_job(feed_o, sc, names, rep, rl, &last_seq, j, &e);
        }
        if (got <= 0) {
            vb_error de = {0};
            /* All the input is in the journal: a resume need not look. */
            if (got == 0 && !feed_o->resume_id && !o->feed &&
                report_discovered(rep, last_seq, &de) != 0)
                fprintf(stderr, "vbatch: %s\n", de.msg);
            free(j);
            if (got < 0) {
                /* List files are checked before the run; this is one
                 * that became unreadable since (or the journal failed). */
                fprintf(stderr, "vbatch: %s\n", e.msg);
                status = VB_EXIT_ITEMS;
            }
            break;
        }
        crash_apply(&g, j);
        if (j->skip) {
            /* Decided when entered, so also after a stop. */
            if (record_skipped(&g, rep, j) != 0)
                record_rc = -1;
            job_free(j);
            continue;
        }
        if (stopped) {
            job_free(j);
            continue;
        }
        pthread_mutex_lock(&g.mu);
        while (!g.stop && g.next_seq - g.next_record >= g.window) {
            if (record_ready(&g, rep) != 0)
                record_rc = -1;
            if (!g.stop && g.next_seq - g.next_record >= g.window)
                wait_done(&g, rep);
        }
        if (g.stop) {
            /* Not started: it stays pending in the journal. */
            stopped = true;
            pthread_mutex_unlock(&g.mu);
            job_free(j);
            continue;
        }
        g.ring[g.next_seq % g.window] = j;
        g.next_seq++;
        pthread_cond_signal(&g.cv_work);
        if (record_ready(&g, rep) != 0)
            record_rc = -1;
        progress_draw(&g, false);
        pthread_mutex_unlock(&g.mu);
    }
    pthread_mutex_lock(&g.mu);
    g.closed = true;
    pthread_cond_broadcast(&g.cv_work);
    /* Every item a worker took is recorded; after a stop, those never
     * taken stay pending in the journal. */
    while (g.next_record < (g.stop ? g.next_take : g.next_seq)) {
        if (record_ready(&g, rep) != 0)
            record_rc = -1;
        if (g.next_record < (g.stop ? g.next_take : g.next_seq))
            wait_done(&g, rep);
    }
    /* The last results, committed, then shown. */
    if (record_show(&g, rep) != 0)
        record_rc = -1;
    bool interrupted = g.stop;
    bool failed_stop = g.failed_stop, stuck_stop = g.stuck_stop;
    bool out_stop = g.out_stop, record_stop = g.record_stop;
    const char *held = o->feed && o->feed->held ? o->feed->held(o->feed->ud) : NULL;
    if (held)
        interrupted = true;
    if (g.live) {
        /* The line is erased before the summary and whatever follows. */
        fputs(ERASE_LINE, stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&g.mu);
    /* No more replacements: the watchdog runs in wait_done only. */
    for (int i = 0; i < jobs; i++)
        pthread_join(g.threads[i], NULL);
    for (int64_t s = g.next_record; s < g.next_seq; s++)
        job_free(g.ring[s % g.window]);
    double wall = util_now() - t0;
    /* No item runs: a crash from here on is not an item's. */
    crash_disarm();
    vb_error oe = {0};
    bool gone = util_out_check(&oe) != 0;
    if (gone && !out_stop) {
        out_stop = true;
        snprintf(g.out_why, sizeof g.out_why, "%s", oe.msg);
    }
    if (out_stop || record_stop) {
        /* What was recorded is kept; the rest waits for `vbatch resume`. */
        failed_stop = stuck_stop = false;
        interrupted = true;
    }

    const report_counts *c = report_get_counts(rep);
    if (report_finish_status(rep, interrupted, wall, vb_verbosity >= 1 ? stdout : NULL, &e) != 0) {
        if (gone)
            fprintf(stderr, "vbatch: %s: %lld items recorded in the journal (%lld passed, %lld "
                            "failed a gate, %lld failed); the reports are not written\n",
                    report_batch_id(rep), (long long)c->total, (long long)c->done,
                    (long long)c->qc_failed, (long long)c->failed);
        else
            fprintf(stderr, "vbatch: cannot write the reports: %s\n", e.msg);
        record_rc = -1;
    }
    if (out_stop)
        fprintf(stderr, "vbatch: %s stopped: %s: the items not processed are left pending in "
                        "the journal; %s, then run: vbatch resume --job-id %s --output %s\n",
                report_batch_id(rep), g.out_why,
                gone ? "put the folder back (or give its new place as --output)"
                     : "make room (or make it writable)",
                report_batch_id(rep), o->out_dir);
    else if (record_stop)
        fprintf(stderr, "vbatch: %s stopped: the journal cannot record results (%s): the items "
                        "not recorded are left for: vbatch resume --job-id %s --output %s\n",
                report_batch_id(rep), g.record_why, report_batch_id(rep), o->out_dir);
    else if (stuck_stop && vb_verbosity >= 1)
        fprintf(stderr, "vbatch: %s stopped: reads of the input hang (%d workers given up):"
                        " the items not processed are left pending in the journal\n",
                report_batch_id(rep), g.nstuck);
    else if (failed_stop && vb_verbosity >= 1)
        fprintf(stderr, "vbatch: %s stopped after an item failed (error_handling = stop):"
                        " the items not processed are left pending in the journal\n",
                report_batch_id(rep));
    else if (held)
        fprintf(stderr, "vbatch: %s\n", held);
    else if (interrupted && vb_verbosity >= 1)
        fprintf(stderr, "vbatch: %s interrupted: the items not processed are left pending"
                        " in the journal\n", report_batch_id(rep));
    if (!interrupted && on_disk)
        /* Every item a crash named is recorded: the next retry tries it. */
        crash_consumed(o->out_dir, report_batch_id(rep));
    reserve_release(&g);
    util_out_unfence();
    crash_list_clear(&g.crashes);
    if (failed_stop)
        status = VB_EXIT_ITEMS;
    else if (interrupted)
        status = VB_EXIT_INTERRUPTED;
    else if (status == VB_EXIT_OK) {
        if (c->failed > 0 || record_rc != 0)
            status = VB_EXIT_ITEMS;
        else if (c->qc_failed > 0 || c->skipped_qc_failed > 0)
            /* A skipped item keeps its verdict, a failed gate too. */
            status = VB_EXIT_QC;
    }
    /* Signals stay blocked: one arriving from here on is ignored. */
    pthread_cancel(sig_th);
    pthread_join(sig_th, NULL);
    pthread_mutex_lock(&g.mu);
    int stuck = g.nstuck;
    pthread_mutex_unlock(&g.mu);
    if (stuck > 0) {
        /* Workers still blocked in the kernel would wake up into freed
         * memory: everything is recorded, so the process ends here. */
        report_free(&rep);
        fflush(NULL);
        _exit(status);
    }
    free(g.threads);
    free(g.wargs);
    free(g.working);
    free(g.ring);
    free(g.unshown);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv_work);
    pthread_cond_destroy(&g.cv_done);
    pthread_cond_destroy(&g.cv_hash);
    vb_strlist_clear(&g.inflight);
    layout_names_free(&names);
    relist_free(&rl);
    scan_free(&sc);
    if (!o->rep)
        report_free(&rep);
    vb_strlist_clear(&inputs);
    return status;
}
