/* batch.c - the batch engine's scheduler: workers, the ring window,
 * the main loop.
 *
 * The main thread takes items from the batch's source (batch-source.c)
 * and puts each in a ring of `window` slots; worker threads take items
 * in order and run each down the road of stages (item.c, stage.h); the
 * main thread records finished items strictly in batch order
 * (batch-record.c), so reports do not depend on which worker finished
 * first. The ring bounds memory: the source is not read ahead by more
 * than `window` items. The watchdog and the signal thread are in
 * batch-watch.c. The engine prints nothing: the observer (the console)
 * shows the run, the caller gets a batch_result.
 *
 * Every item enters the journal as pending when queued. The first
 * SIGINT/SIGTERM stops the batch (no new items; running ones finish; the
 * rest of a new scan's input is still entered as pending so the batch
 * can be resumed), the second exits at once. */
#include "config.h"
#include "batch-impl.h"
#include "module.h"
#include "notify.h"
#include "scan.h"
#include "batch-source.h"
#include "fetch.h"
#include "msg.h"
#include "stage.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void batch_item_clear(batch_item *it)
{
    free(it->source);
    free(it->folder);
    free(it->media);
    free(it->error);
    item_gen_clear(&it->gen);
    memset(it, 0, sizeof *it);
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

/* ---- decoder threads ---- */

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

/* item_env's callbacks. */
static int engine_decode_threads(void *ud, bool analysis, double duration)
{
    engine *g = ud;
    pthread_mutex_lock(&g->mu);
    int64_t left = g->next_seq - g->next_take + 1;
    bool closed = g->closed;
    pthread_mutex_unlock(&g->mu);
    return batch_decode_threads(g->jobs, util_ncpu(), left, closed, analysis, duration);
}

static bool engine_stopping(void *ud)
{
    engine *g = ud;
    pthread_mutex_lock(&g->mu);
    bool stop = g->stop;
    pthread_mutex_unlock(&g->mu);
    return stop || atomic_load(&g->abort);
}

void engine_stop(engine *g)
{
    if (g->stop)
        return;
    g->stop = true;
    pthread_cond_broadcast(&g->cv_work);
    pthread_cond_broadcast(&g->cv_done);
    if (g->src && g->src->stop)
        g->src->stop(g->src->ud);
}

/* ---- the workers ---- */

/* Take the next item (lock held): NULL when the worker is done. A crash
 * suspect waits until it runs alone. */
static item *worker_take(engine *g, int slot)
{
    while ((g->next_take == g->next_seq && !g->closed && !g->stop) ||
           (g->solo_wait && !g->stop))
        pthread_cond_wait(&g->cv_work, &g->mu);
    if (g->next_take == g->next_seq || g->stop)
        return NULL;
    item *it = g->ring[g->next_take % g->window];
    g->next_take++;
    g->nrunning++;
    it->slot = slot;
    if (it->solo) {
        /* It may be what crashed vbatch from a thread of no item:
         * alone, a crash names it. */
        g->solo_wait = true;
        while (g->nrunning > 1)
            pthread_cond_wait(&g->cv_work, &g->mu);
    }
    const batch_config *b = &g->cfg->batch;
    mediaio_clock_start(&it->clock, b->item_timeout, b->stall_timeout, &g->abort);
    if (g->obs->progress)
        g->working[slot] = it->en.is_url ? fetch_display_url(it->en.path)
                                         : vb_xstrdup(it->en.path);
    return it;
}

/* Run it, unless the output folder went meanwhile (lock not held). */
static void worker_run(engine *g, item *it, int slot)
{
    vb_error oe = {0};
    if (util_out_check(&oe) != 0) {
        pthread_mutex_lock(&g->mu);
        batch_record_out_trouble(g);
        pthread_mutex_unlock(&g->mu);
        it->aborted = true;
        return;
    }
    /* Only informative (a resumed batch redoes running items), so a
     * failed write is left to the result's write to report. */
    vb_error e = {0};
    report_running(g->rep, it->seq, &e);
    crash_enter(slot, it->seq, it->en.path, &it->clock.stage);
    item_run(it, g->road, g->cfg);
    crash_leave(slot);
}

/* The item is done (lock held). */
static void worker_done(engine *g, item *it, int slot)
{
    if (it->rec.status == ITEM_FAILED && !it->aborted && batch_record_out_trouble(g))
        /* Not the item's fault: done again by `vbatch resume`. */
        it->aborted = true;
    if (it->rec.status == ITEM_FAILED && !it->aborted &&
        g->cfg->batch.error_handling == ERRH_STOP && !g->stop) {
        /* No new item; those running finish and are recorded. */
        g->failed_stop = true;
        engine_stop(g);
    }
    free(g->working[slot]);
    g->working[slot] = NULL;
    g->nrunning--;
    if (it->solo)
        g->solo_wait = false;
    if (g->solo_wait || it->solo)
        pthread_cond_broadcast(&g->cv_work);
    it->done = true;
    pthread_cond_signal(&g->cv_done);
}

void *engine_worker(void *arg)
{
    engine *g = ((worker_arg *)arg)->g;
    int slot = ((worker_arg *)arg)->slot;
    crash_thread_init();
    for (;;) {
        pthread_mutex_lock(&g->mu);
        item *it = worker_take(g, slot);
        pthread_mutex_unlock(&g->mu);
        if (!it)
            break;
        worker_run(g, it, slot);
        pthread_mutex_lock(&g->mu);
        if (it->abandoned) {
            /* The watchdog recorded the item and gave the slot to a new
             * worker: nothing here is ours any more but the item. */
            g->nstuck--;
            pthread_mutex_unlock(&g->mu);
            item_free(&it);
            break;
        }
        worker_done(g, it, slot);
        pthread_mutex_unlock(&g->mu);
    }
    crash_thread_done();
    return NULL;
}

/* ---- the main thread ---- */

/* The status line (lock held). */
static void engine_progress(engine *g)
{
    if (!g->obs->progress)
        return;
    batch_progress p = {
        .done = g->next_record, .total = g->next_seq, .more = !g->closed,
        .failed = g->nfailed, .skipped = g->nskipped, .elapsed = util_now() - g->t0,
        .working = (const char *const *)g->working, .nworking = g->jobs,
    };
    g->obs->progress(g->obs->ud, &p);
}

/* Wait (lock held) for a worker to finish an item. Results waiting to be
 * shown are committed in time; while nothing happens, what the journal
 * holds is committed every 200 ms, so that a long item neither hides the
 * latest results from `vbatch status` nor keeps the journal's write
 * lock. */
static void wait_done(engine *g)
{
    double wait = g->obs->progress ? 0.1 : 0.2;
    if (g->nunshown > 0) {
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
    batch_watch_dog(g);
    engine_progress(g);
    if (g->nunshown > 0 && util_now() - g->unshown_since >= RECORD_SECONDS) {
        g->last_flush = util_now();
        batch_record_show(g);
    } else if (w == ETIMEDOUT && util_now() - g->last_flush >= 0.19) {
        g->last_flush = util_now();
        pthread_mutex_unlock(&g->mu);
        vb_error e = {0};
        if (report_flush(g->rep, &e) != 0)
            msg_error("%s", e.msg);
        pthread_mutex_lock(&g->mu);
    }
}

/* An item an earlier run of this batch crashed on is failed with the
 * signal; one that was working when a thread of no item crashed is
 * taken alone. */
static void crash_apply(const engine *g, item *it)
{
    const crash_record *c = crash_find(&g->crashes, it->seq);
    if (!c || it->en.error)
        return;
    if (c->suspect) {
        it->solo = true;
        return;
    }
    it->en.error = VB_ERR_INTERNAL;
    free(it->en.errmsg);
    it->en.errmsg = vb_xasprintf("crashed vbatch: %s in the %s stage (not tried again; "
                                 "vbatch retry --job-id %s tries it)",
                                 crash_signal_name(c->sig), report_stage_name(c->stage),
                                 report_batch_id(g->rep));
    it->error_stage = c->stage;
}

/* Queue one item (lock held): false if the batch stopped first (the item
 * stays pending in the journal). */
static bool engine_queue(engine *g, item *it, int *record_rc)
{
    while (!g->stop && g->next_seq - g->next_record >= g->window) {
        if (batch_record_ready(g) != 0)
            *record_rc = -1;
        if (!g->stop && g->next_seq - g->next_record >= g->window)
            wait_done(g);
    }
    if (g->stop)
        return false;
    it->env = &g->env;
    g->ring[g->next_seq % g->window] = it;
    g->next_seq++;
    pthread_cond_signal(&g->cv_work);
    if (batch_record_ready(g) != 0)
        *record_rc = -1;
    engine_progress(g);
    return true;
}

/* Take the source's items until it ends, the batch stops taking them,
 * or the journal can no longer record. */
static void engine_feed(engine *g, batch_result *res, int *record_rc)
{
    bool stopped = false;        /* seen g->stop: start nothing more */
    for (;;) {
        pthread_mutex_lock(&g->mu);
        bool unrecordable = g->record_stop || g->out_stop;
        pthread_mutex_unlock(&g->mu);
        if (unrecordable) {
            /* Nothing more can be entered, nor should be: the input not
             * entered is found again by `vbatch resume`. */
            g->src->end(g->src->ud, false);
            return;
        }
        item *it = NULL;
        vb_error e = {0};
        int got = g->src->next(g->src->ud, 0.1, stopped, &it, &e);
        if (got == 2) {
            /* Fed items come when they are made: record meanwhile. */
            pthread_mutex_lock(&g->mu);
            if (batch_record_ready(g) != 0)
                *record_rc = -1;
            engine_progress(g);
            pthread_mutex_unlock(&g->mu);
            continue;
        }
        if (got <= 0) {
            g->src->end(g->src->ud, got == 0);
            if (got < 0) {
                /* List files are checked before the run; this is one that
                 * became unreadable since (or the journal failed). */
                msg_error("%s", e.msg);
                res->input_error = true;
            }
            return;
        }
        crash_apply(g, it);
        if (it->skip) {
            /* Decided when entered, so also after a stop. */
            if (batch_record_skipped(g, it) != 0)
                *record_rc = -1;
            item_free(&it);
            continue;
        }
        if (stopped) {
            item_free(&it);
            continue;
        }
        pthread_mutex_lock(&g->mu);
        if (!engine_queue(g, it, record_rc)) {
            stopped = true;
            item_free(&it);
        }
        pthread_mutex_unlock(&g->mu);
    }
}

/* Every item a worker took is recorded; after a stop, those never taken
 * stay pending in the journal. Then the workers end. */
static void engine_drain(engine *g, int *record_rc)
{
    pthread_mutex_lock(&g->mu);
    g->closed = true;
    pthread_cond_broadcast(&g->cv_work);
    while (g->next_record < (g->stop ? g->next_take : g->next_seq)) {
        if (batch_record_ready(g) != 0)
            *record_rc = -1;
        if (g->next_record < (g->stop ? g->next_take : g->next_seq))
            wait_done(g);
    }
    /* The last results, committed, then shown. */
    if (batch_record_show(g) != 0)
        *record_rc = -1;
    pthread_mutex_unlock(&g->mu);
    if (g->obs->done)
        g->obs->done(g->obs->ud);
    /* No more replacements: the watchdog runs in wait_done only. */
    for (int i = 0; i < g->jobs; i++)
        pthread_join(g->threads[i], NULL);
    for (int64_t s = g->next_record; s < g->next_seq; s++)
        item_free(&g->ring[s % g->window]);
}

/* ---- setting up and ending ---- */

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

/* What guards a batch on disk: the output folder's fence (never made
 * again once the run has started), the reserve, the crash guard and the
 * crashes of earlier runs. Not with a journal in memory. */
static bool engine_guard(engine *g)
{
    const batch_opts *o = g->o;
    vb_error e = {0};
    if (util_out_fence(o->out_dir, &e) != 0)
        msg_error("%s", e.msg);
    const char *mem = getenv("VBATCH_JOURNAL");
    if (mem && strcmp(mem, "memory") == 0)
        return false;
    batch_record_reserve(g);
    const char *id = report_batch_id(g->rep);
    char **argv = resume_argv(o, id);
    if (crash_arm(o->out_dir, id, (const char *const *)argv, g->jobs, &e) != 0)
        msg_verbose("no crash guard: %s", e.msg);
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
    if (o->resume_id && crash_read(o->out_dir, id, &g->crashes, &e) != 0)
        msg_error("%s", e.msg);
    return true;
}

static const batch_observer silent = { 0 };

/* The journal, new or reopened (or the caller's): NULL with res->why. */
static report *engine_journal(const batch_opts *o, batch_result *res)
{
    vb_error e = {0};
    if (o->rep)
        return o->rep;
    if (util_mkdir_p(o->out_dir, &e) != 0) {
        snprintf(res->why, sizeof res->why, "%s", e.msg);
        return NULL;
    }
    if (o->resume_id) {
        report *r = report_reopen(o->out_dir, o->resume_id, o->requeue, &e);
        if (!r)
            snprintf(res->why, sizeof res->why, "%s", e.msg);
        return r;
    }
    char batch_id[64];
    batch_make_id(batch_id, sizeof batch_id);
    vb_strlist inputs = {0};
    for (size_t i = 0; i < o->paths.n; i++) {
        /* A URL without its credentials and query, as everywhere else;
         * one that had some is marked, for resume to ask for it again. */
        const char *in = o->paths.v[i];
        char *p = util_is_url(in) ? fetch_display_url(in) : vb_xstrdup(in);
        if (util_is_url(in) && fetch_url_stripped(in)) {
            char *m = vb_xasprintf("%s%s", BATCH_INPUT_STRIPPED, p);
            free(p);
            p = m;
        }
        vb_strlist_add(&inputs, p);
        free(p);
    }
    for (size_t i = 0; i < o->lists.n; i++) {
        char *s = vb_xasprintf("--from-list %s", o->lists.v[i]);
        vb_strlist_add(&inputs, s);
        free(s);
    }
    if (o->shard_n > 0) {
        char *s = vb_xasprintf("--shard %d/%d", o->shard_k, o->shard_n);
        vb_strlist_add(&inputs, s);
        free(s);
    }
    report_batch_info info = {
        .batch_id = batch_id, .command_line = o->command_line,
        .config = o->config, .inputs = &inputs,
    };
    report *r = report_open(o->out_dir, &info, &e);
    vb_strlist_clear(&inputs);
    if (!r)
        snprintf(res->why, sizeof res->why, "%s", e.msg);
    return r;
}

static engine *engine_new(const batch_opts *o, report *rep)
{
    engine *g = vb_xcalloc(1, sizeof *g);
    g->o = o;
    g->cfg = o->config;
    g->obs = o->observer ? o->observer : &silent;
    g->rep = rep;
    g->road = o->road ? o->road : stage_road;
    g->jobs = o->jobs > 0 ? o->jobs
              : (o->config->batch.jobs > 0 ? o->config->batch.jobs : util_ncpu());
    analyse_share_init(&g->share);
    g->env = (item_env){ .out_dir = o->out_dir, .rep = rep, .share = &g->share,
                         .workers = g->jobs, .decode_threads = engine_decode_threads,
                         .stopping = engine_stopping, .ud = g };
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv_work, NULL);
    pthread_cond_init(&g->cv_done, NULL);
    g->window = 64 * (int64_t)g->jobs;
    g->ring = vb_xcalloc((size_t)g->window, sizeof *g->ring);
    g->unshown = vb_xcalloc(RECORD_GROUP, sizeof *g->unshown);
    g->working = vb_xcalloc((size_t)g->jobs, sizeof *g->working);
    g->threads = vb_xcalloc((size_t)g->jobs, sizeof *g->threads);
    g->wargs = vb_xcalloc((size_t)g->jobs, sizeof *g->wargs);
    return g;
}

static void engine_start(engine *g, pthread_t *sig_th)
{
    if (!g->o->no_signals && batch_watch_signals(g, sig_th) != 0) {
        fputs("vbatch: cannot start the signal thread\n", stderr);
        abort();
    }
    pthread_mutex_lock(&g->mu); /* the watchdog may replace threads[i] */
    for (int i = 0; i < g->jobs; i++) {
        g->wargs[i] = (worker_arg){ g, i };
        if (pthread_create(&g->threads[i], NULL, engine_worker, &g->wargs[i]) != 0) {
            fputs("vbatch: cannot start worker threads\n", stderr);
            abort();
        }
    }
    pthread_mutex_unlock(&g->mu);
    g->t0 = util_now();
}

/* [notify] items: the sender started for this run (its ids tell it from
 * a later run of the batch: resume, retry). A sender that cannot start
 * (no key) is a warning; the batch goes on without it. */
static void batch_notify_start(engine *g)
{
    const vb_config *cfg = g->cfg;
    if (!cfg->notify.url || !cfg->notify.url[0] || !cfg->notify.items)
        return;
    vb_error e = {0};
    g->hook = notify_items_start(cfg, report_batch_id(g->rep), (int64_t)util_wall(),
                                 NOTIFY_ITEMS_QUEUE, &e);
    if (!g->hook)
        msg_warn("the webhooks of [notify] items: not sent: %s", e.msg);
}

/* [notify] url: the batch's end told, after its reports are written and
 * the item messages sent or given up; how it went goes to the journal
 * and, when it failed, to stderr. It never changes how the batch ended. */
static void batch_notify(engine *g, const batch_opts *o, const batch_result *res)
{
    const vb_config *cfg = o->config;
    if (!cfg->notify.url || !cfg->notify.url[0] || res->exit_now)
        return;
    const char *id = report_batch_id(g->rep);
    vb_error e = {0};
    notify_items_counts ic = {0};
    bool items = g->hook != NULL;
    if (items) {
        notify_items_finish(&g->hook, &ic);
        char when[40];
        util_iso_time(when, sizeof when, util_wall());
        char *key = vb_xasprintf("notify-items %s %s", id, when);
        char *what = vb_xasprintf("%lld delivered, %lld failed, %lld dropped",
                                  (long long)ic.delivered, (long long)ic.failed,
                                  (long long)ic.dropped);
        /* One warning for them all, however many there were. */
        if (ic.failed > 0 || ic.dropped > 0)
            msg_warn("the webhooks of [notify] items: %s%s%s%s", what,
                     ic.dropped > 0 ? " (dropped: the queue was full)" : "",
                     ic.why[0] ? "; last failure: " : "", ic.why);
        report_note(g->rep, key, what, &e);
        free(what);
        free(key);
    }
    double now = util_wall();
    char *body = notify_body(id, res->interrupted, batch_exit_status(res), &res->counts,
                             o->out_dir, items ? &ic : NULL, now);
    char when[40], *msg_id = vb_xasprintf("%s-%.0f", id, now);
    util_iso_time(when, sizeof when, now);
    notify_outcome out;
    if (notify_post(cfg, msg_id, body, &out) != 0)
        msg_warn("the webhook of [notify] url: %s", out.what);
    char *key = vb_xasprintf("notify %s %s", id, when);
    report_note(g->rep, key, out.what, &e);
    free(key);
    free(msg_id);
    free(body);
}

/* How the batch ended, its journal closed (batch marked done or
 * interrupted) and its reports written. */
static void engine_finish(engine *g, bool on_disk, int record_rc, batch_result *res)
{
    const batch_opts *o = g->o;
    pthread_mutex_lock(&g->mu);
    res->interrupted = g->stop;
    res->failed_stop = g->failed_stop;
    res->stuck_stop = g->stuck_stop;
    res->nstuck = g->nstuck;
    res->out_stop = g->out_stop;
    res->record_stop = g->record_stop;
    snprintf(res->why, sizeof res->why, "%s", g->out_stop ? g->out_why : g->record_why);
    pthread_mutex_unlock(&g->mu);
    const char *held = g->src->held ? g->src->held(g->src->ud) : NULL;
    if (held) {
        res->interrupted = true;
        snprintf(res->held, sizeof res->held, "%s", held);
    }
    double wall = util_now() - g->t0;
    /* No item runs: a crash from here on is not an item's. */
    crash_disarm();
    vb_error e = {0};
    res->out_gone = util_out_check(&e) != 0;
    if (res->out_gone && !res->out_stop) {
        res->out_stop = true;
        snprintf(res->why, sizeof res->why, "%s", e.msg);
    }
    if (res->out_stop || res->record_stop) {
        /* What was recorded is kept; the rest waits for `vbatch resume`. */
        res->failed_stop = res->stuck_stop = false;
        res->interrupted = true;
    }
    res->record_failed = record_rc != 0;
    if (report_finish_status(g->rep, res->interrupted, wall, o->summary_out, &e) != 0) {
        res->reports_failed = true;
        snprintf(res->reports_why, sizeof res->reports_why, "%s", e.msg);
    }
    res->counts = *report_get_counts(g->rep);
    batch_notify(g, o, res);
    if (!res->interrupted && on_disk)
        /* Every item a crash named is recorded: the next retry tries it. */
        crash_consumed(o->out_dir, report_batch_id(g->rep));
    batch_record_unreserve(g);
    util_out_unfence();
}

static void engine_free(engine **pg)
{
    engine *g = *pg;
    if (g->hook) {
        /* Not drained by batch_notify (it always is today): not leaked. */
        notify_items_counts c;
        notify_items_finish(&g->hook, &c);
    }
    crash_list_clear(&g->crashes);
    free(g->threads);
    free(g->wargs);
    free(g->working);
    free(g->ring);
    free(g->unshown);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv_work);
    pthread_cond_destroy(&g->cv_done);
    analyse_share_destroy(&g->share);
    free(g);
    *pg = NULL;
}

/* A new output folder (no journal yet) has nothing to skip: every item
 * will need the media module if its stages do, so it is loaded while the
 * journal opens and the inputs are read. A rerun loads it when an item
 * first needs it, and one that skips everything never does. */
static void engine_preload(const batch_opts *o)
{
    const vb_config *cfg = o->config;
    if (o->rep || !o->out_dir || !(cfg->thumbs.enabled || cfg->analyse.enabled))
        return;
    if (!scan_is_output(o->out_dir))
        module_preload_start(cfg->thumbs.enabled);
}

int batch_run(const batch_opts *o, batch_result *res)
{
    memset(res, 0, sizeof *res);
    res->usage = true;
    engine_preload(o);
    report *rep = engine_journal(o, res);
    if (!rep) {
        module_preload_join();
        return -1;
    }
    res->started = true;
    res->usage = false;
    snprintf(res->batch_id, sizeof res->batch_id, "%s", report_batch_id(rep));
    engine *g = engine_new(o, rep);
    batch_source *own = NULL;
    vb_error e = {0};
    if (o->source) {
        g->src = o->source;
    } else {
        if (batch_source_open(o, rep, &own, &e) != 0) {
            msg_error("%s", e.msg);
            res->input_error = true;
        }
        g->src = own;
    }
    bool on_disk = engine_guard(g);
    batch_notify_start(g);
    pthread_t sig_th;
    engine_start(g, &sig_th);
    int record_rc = 0;
    engine_feed(g, res, &record_rc);
    engine_drain(g, &record_rc);
    engine_finish(g, on_disk, record_rc, res);
    res->other_shards = g->src && g->src->others ? g->src->others(g->src->ud) : 0;
    /* A shard that the hash gave none of the items found is no empty
     * input (an Indexed Job's pod would fail, and be run again). */
    res->empty = o->refuse_empty && res->counts.total == 0 && res->other_shards == 0;
    res->warnings_fail = o->config->batch.warnings == WARNINGS_FAIL;
    if (!g->o->no_signals)
        batch_watch_end(sig_th);
    pthread_mutex_lock(&g->mu);
    int stuck = g->nstuck;
    pthread_mutex_unlock(&g->mu);
    module_preload_join();
    if (stuck > 0) {
        /* Workers still blocked in the kernel use the engine and its
         * items: nothing of it is freed, the caller ends the process. */
        if (!o->rep)
            report_free(&rep);
        res->exit_now = true;
        return 0;
    }
    engine_free(&g);
    batch_source_close(&own);
    if (!o->rep)
        report_free(&rep);
    return 0;
}

int batch_exit_status(const batch_result *r)
{
    if (!r->started)
        return VB_EXIT_USAGE;
    if (r->failed_stop)
        return VB_EXIT_ITEMS;
    if (r->interrupted)
        return VB_EXIT_INTERRUPTED;
    if (r->input_error || r->record_failed || r->reports_failed || r->counts.failed > 0)
        return VB_EXIT_ITEMS;
    /* A skipped item keeps its verdict, a failed gate too. */
    if (r->counts.qc_failed > 0 || r->counts.skipped_qc_failed > 0)
        return VB_EXIT_QC;
    if (r->empty)
        return VB_EXIT_EMPTY;
    if (r->warnings_fail && (r->counts.warned > 0 || r->counts.skipped_warned > 0))
        return VB_EXIT_QC;
    return VB_EXIT_OK;
}
