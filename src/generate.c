/* generate.c - the engine behind `vbatch generate`.
 *
 * One network thread runs a libcurl multi loop (net.c) for every create
 * call, poll and download; the batch engine (batch.c) runs the media
 * stages on its worker threads and takes each video as soon as it is
 * downloaded (a batch_feed), so checking overlaps generation.
 *
 * Exactly-once submission: each job's external_task_id is a hash of its
 * canonical request (and of a salt kept in the journal of OUT), so an
 * identical row is generated once, and a create whose answer was lost is
 * looked up by that id before anything is sent again. The task id is
 * committed to the journal as soon as the create call answers; on resume
 * every task without one is looked up first, every task with one is
 * polled, and only tasks never created are submitted.
 *
 * Pacing (the scheduler, gen-sched.c): at most max_concurrent tasks in
 * flight, creates through a token bucket at rpm, polls on a timer learnt
 * from the generation times seen (first poll near the expected end, then
 * short jittered intervals), a per-task deadline; the provider's rate and
 * concurrency refusals pause submissions (Retry-After honoured),
 * 5xx/resets back off with jitter.
 *
 * The engine prints nothing: generate_run returns a generate_result,
 * which gen-console.c shows and maps to the exit status. */
#include "config.h"
#include "generate.h"
#include "backoff.h"
#include "batch.h"
#include "crypto.h"
#include "gen-sched.h"
#include "layout.h"
#include "msg.h"
#include "net.h"
#include "provider.h"
#include "report.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Transient failures of one call before the job is given up. */
#define GEN_MAX_TRIES 8
/* Token renewals in a row before the keys are declared refused. */
#define GEN_MAX_RENEW 2
/* Expired download URLs refreshed per task. */
#define GEN_MAX_REFRESH 3
#define GEN_BACKOFF_BASE 1.0
#define GEN_BACKOFF_CAP 60.0

enum gstate {
    G_QUEUED,      /* waiting for a submission slot */
    G_IMAGE,       /* downloading an image given by URL */
    G_CREATE,      /* create call in flight */
    G_LOOKUP,      /* looking the task up by its external id */
    G_WAIT,        /* created; next poll on the timer */
    G_POLL,        /* poll in flight */
    G_RESULT,      /* done at the provider; its result call due or in flight */
    G_DOWNLOAD,    /* video download in flight */
    G_FOLLOW,      /* an identical earlier row makes the video */
    G_READY,       /* handed to the batch engine */
    G_FAILED,      /* handed to the batch engine as an error */
    G_HELD,        /* not submitted (stop, budget, credit): stays pending */
    G_DONE,        /* recorded in an earlier run */
};

enum { K_CREATE = 1, K_LOOKUP, K_POLL, K_DOWNLOAD, K_IMAGE, K_IMAGE_TAIL, K_BATCH, K_RESULT,
       K_CANCEL };

/* The tasks one batch lookup asks about (a K_BATCH request's ud). */
typedef struct gbatch {
    size_t n;
    size_t idx[];
} gbatch;

typedef struct gtask {
    gen_job job;               /* owned copy */
    int64_t seq;
    char *folder;
    char ext_id[40];
    char *task_id;
    int state;
    int tries;                 /* transient failures of the current call */
    int renews;
    int refreshes;
    bool maybe_created;        /* a create may have reached the provider */
    bool batch;                /* polled in the provider's batch lookups */
    bool never_sent;           /* journaled as never sent (resume) */
    bool counted;              /* counted against the concurrency limit */
    bool released;             /* ... no longer: its slot freed by the clock
                                * (gen_sched_release_after), not yet seen done */
    bool committed;            /* its units counted in g->committed_units */
    bool slot;                 /* holds a slot of the shared limiter (o->shared) */
    bool claimed;              /* its create claimed in the shared claims */
    bool cancelled;            /* journaled as cancelled by an interrupted run:
                                * made anew if the provider confirms it never ran */
    double created;            /* create answered (or first seen) */
    double last_miss;          /* age at the last poll that found it running */
    double est_units, units;
    double units_before;       /* what the attempts given up before this one cost */
    double started;            /* first action in this run */
    char *url;                 /* signed download URL (memory only) */
    char *image_local, *tail_local; /* image files (downloaded ones inside OUT) */
    int images_pending;
    char *video_path;          /* final file inside the folder */
    char *pstatus;             /* provider status last seen */
    int64_t leader;            /* seq of the identical earlier row, 0 */
    size_t leader_i;
    char *error;
} gtask;

typedef struct gen_engine {
    const generate_opts *o;
    const vb_config *cfg;
    const provider *pv;
    provider_session *sess;
    report *rep;
    state *st;                 /* borrowed from rep */
    char *batch_id;
    provider_endpoint ep;      /* the session's */
    net *net;
    gtask *t;
    size_t n;
    /* timers, the submission queue (in row order), pacing */
    gen_sched s;
    size_t *due;               /* batchable tasks whose poll is due (run_timers) */
    size_t ndue;
    size_t *held;              /* ... held back to be looked up together (lookups_wait) */
    size_t nheld;
    int deferred;              /* polls due held back by the gap since the last lookup */
    double *wanted;            /* scratch: the batchable tasks' poll times */
    double last_batch;         /* when the last batch lookup was sent */
    double shared_until;       /* the shared limiter said: not before this */
    bool no_credit, auth_refused, budget_hit;
    bool cancels_sent;         /* stopping: the queued tasks' cancel calls went */
    bool draining;             /* the caller's GEN_DRAIN: no new create */
    bool handing_back;         /* the caller's GEN_HAND_BACK: stopped, no cancel */
    char hold_reason[600];
    double committed_units;    /* estimated or charged, of tasks created */
    double spent_units;
    uint64_t rng;
    atomic_bool stop;
    /* handed to the batch engine */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch_item *ready;
    size_t nready, rcap;
    bool finished;
    int fatal;                 /* a journal write failed */
    vb_error fatal_e;
    /* counters for the summary and the bench */
    int64_t n_create, n_poll, n_lookup, n_download, n_retry;
    int64_t n_released, n_mispredicted;
    int n_released_unseen;     /* tasks with gtask.released set */
    pthread_t thread;          /* the network thread (gen_thread) */
    bool thread_started, mu_ready;
    /* jobs added while it runs (o->more) */
    layout_names *names;       /* the folders given out (jobs without one) */
    char *salt;                /* the journal's external_task_id salt */
    double more_at;            /* o->more gave none: not asked before this */
} gen_engine;

/* ---- small helpers ---- */

/* A request's task, by its index: the table grows while the engine runs
 * (o->more), so a pointer into it would not last. */
static void *task_ud(const gen_engine *g, const gtask *t)
{
    return (void *)(uintptr_t)(t - g->t);
}

static long image_read(void *ud, void *buf, size_t n)
{
    FILE *f = ud;
    size_t got = fread(buf, 1, n, f);
    return got == 0 && ferror(f) ? -1 : (long)got;
}

/* A local image's name in the canonical request: its content's hash, so
 * a renamed copy is the same request and an edited file is not. A URL
 * is named by itself (NULL: the job's own reference). Streamed: the file
 * is not yet checked against the provider's size limit. */
static int image_ref(const char *file, char **ref, vb_error *e)
{
    *ref = NULL;
    if (!file)
        return 0;
    FILE *f = fopen(file, "rbe");
    if (!f)
        return vb_fail(e, VB_ERR_IO, "cannot read %s: %s", file, strerror(errno));
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    int rc = crypto_sha256_read(image_read, f, hex, e);
    if (rc != 0 && ferror(f))
        rc = vb_fail(e, VB_ERR_IO, "cannot read %s", file);
    fclose(f);
    if (rc == 0)
        *ref = vb_xasprintf("sha256:%s", hex);
    return rc;
}

/* external_task_id: a hash of the canonical request and of the salt of
 * this OUT's journal (a rerun into the same OUT finds its tasks; another
 * OUT generates anew). */
int generate_external_id(const gen_job *j, const char *pvname, const char *salt, char out[40],
                         vb_error *e)
{
    char *iref = NULL, *tref = NULL;
    if (image_ref(j->image_file, &iref, e) != 0 || image_ref(j->image_tail_file, &tref, e) != 0) {
        free(iref);
        return -1;
    }
    char *canon = jobs_canonical(j, pvname, iref, tref);
    free(iref);
    free(tref);
    char *text = vb_xasprintf("%s\n%s", salt, canon);
    free(canon);
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    int rc = crypto_sha256_hex(text, strlen(text), hex, e);
    free(text);
    if (rc == 0)
        snprintf(out, 40, "vb-%.32s", hex);
    return rc;
}

/* ---- the scheduler's queue ---- */

/* Task i waits for a submission slot. */
static void queue_push(gen_engine *g, size_t i, bool front)
{
    gen_sched_queue_push(&g->s, i, front);
    g->t[i].state = G_QUEUED;
}

/* ---- the journal ---- */

static void journal(gen_engine *g, gtask *t, const char *task_id, const char *status,
                    double units, const char *msg, bool commit)
{
    vb_error e = {0};
    if (state_gen_set(g->st, g->batch_id, t->seq, task_id, status, units, msg, commit, &e) != 0 &&
        !g->fatal) {
        g->fatal = 1;
        g->fatal_e = e;
    }
}

/* ---- handing items to the batch engine ---- */

static void hand_over(gen_engine *g, gtask *t, const char *error)
{
    batch_item it = {0};
    it.seq = t->seq;
    it.source = vb_xasprintf("%s:%s", g->pv->name, t->job.id);
    it.folder = t->folder ? vb_xstrdup(t->folder) : NULL;
    if (error) {
        it.error = vb_xstrdup(error);
        it.error_stage = STAGE_GENERATE;
    } else {
        it.media = vb_xstrdup(t->video_path);
    }
    it.gen.id = vb_xstrdup(t->job.id);
    it.gen.prompt = t->job.prompt ? vb_xstrdup(t->job.prompt) : NULL;
    it.gen.provider = vb_xstrdup(g->pv->name);
    it.gen.task_id = t->task_id ? vb_xstrdup(t->task_id) : NULL;
    it.gen.status = vb_xstrdup(t->pstatus ? t->pstatus : error ? "not generated" : "succeed");
    /* Nothing sent, nothing owed: a job refused or failed before its
     * create call costs 0, not its estimate. */
    bool never_sent = error && !t->committed && !t->task_id;
    it.gen.units = t->units_before +
                   (t->leader || never_sent ? 0.0 : isnan(t->units) ? t->est_units : t->units);
    it.gen.seconds = t->started > 0 ? util_now() - t->started : 0;
    t->state = error ? G_FAILED : G_READY;
    pthread_mutex_lock(&g->mu);
    if (g->nready == g->rcap) {
        g->rcap = g->rcap ? 2 * g->rcap : 16;
        g->ready = vb_xrealloc(g->ready, g->rcap * sizeof *g->ready);
    }
    g->ready[g->nready++] = it;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void task_fail(gen_engine *g, size_t i, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Followers of task i (identical requests) end with it. */
static void followers_end(gen_engine *g, size_t i);

static void uncount(gen_engine *g, gtask *t)
{
    if (t->released) {
        t->released = false;
        g->n_released_unseen--;
    }
    if (t->counted) {
        t->counted = false;
        gen_sched_idle(&g->s);
    }
    if (t->slot) {
        t->slot = false;
        g->o->shared->release(g->o->shared->ud, t->ext_id);
    }
}

/* Units a task costs (estimated until the provider says) count against
 * the budget from its create call until it is known not to exist. */
static void commit_units(gen_engine *g, gtask *t)
{
    if (!t->committed) {
        t->committed = true;
        g->committed_units += isnan(t->units) ? t->est_units : t->units;
    }
}

static void uncommit_units(gen_engine *g, gtask *t)
{
    if (t->committed) {
        t->committed = false;
        g->committed_units -= isnan(t->units) ? t->est_units : t->units;
    }
}

static void set_units(gen_engine *g, gtask *t, double units)
{
    if (isnan(units))
        return;
    if (t->committed)
        g->committed_units += units - (isnan(t->units) ? t->est_units : t->units);
    t->units = units;
}

static void task_fail(gen_engine *g, size_t i, const char *status, const char *fmt, ...)
{
    gtask *t = &g->t[i];
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uncount(g, t);
    free(t->error);
    t->error = vb_xstrdup(msg);
    journal(g, t, NULL, status, NAN, msg, false);
    hand_over(g, t, msg);
    followers_end(g, i);
}

/* ---- requests ---- */

static net_req *api_req(gen_engine *g, gtask *t, int kind, const char *path, char *body)
{
    /* A create's token was taken when it was let through (submit_ready). */
    if (kind != K_CREATE && g->cfg->generate.rpm_counts == RPM_COUNTS_ALL)
        gen_sched_charge(&g->s, util_now());
    net_req *r = net_req_new();
    r->url = vb_xasprintf("%s%s", g->ep.base_url, path);
    r->body = body;
    r->kind = kind;
    r->ud = t ? task_ud(g, t) : NULL;
    r->timeout = g->ep.request_timeout;
    net_req_header(r, "Content-Type: application/json");
    net_req_header(r, "Accept: application/json");
    char *auth = NULL;
    vb_error e = {0};
    if (g->pv->auth_header(g->sess, util_wall(), t && t->renews > 0, &auth, &e) == 0) {
        net_req_header(r, auth);
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    return r;
}

/* Task t's create was refused in a way that proves nothing was made:
 * its claim is given up, so that a later delivery (this item handed
 * back, or delivered again) sends it instead of finding a claim with no
 * task id, which it must take for a create that may have been made
 * (where the provider has no look-up: ended unknown, never sent). A
 * resend here claims again first. */
static void shared_unclaim(gen_engine *g, gtask *t)
{
    const gen_shared *sh = g->o->shared;
    if (sh && t->claimed && sh->unclaim && sh->unclaim(sh->ud, t->ext_id))
        t->claimed = false;
}

static void start(gen_engine *g, size_t i, net_req *r)
{
    vb_error e = {0};
    if (net_add(g->net, r, &e) != 0) {
        if (r->kind == K_CREATE)
            /* Never sent. */
            shared_unclaim(g, &g->t[i]);
        net_req_free(&r);
        task_fail(g, i, "failed", "%s", e.msg);
    }
}

/* A create that may have reached a provider with no lookup by a client
 * id: reported, never sent again blindly (it may be running, and paid). */
static void task_unknown(gen_engine *g, size_t i, const char *why)
{
    gtask *t = &g->t[i];
    free(t->pstatus);
    t->pstatus = vb_xstrdup("unknown");
    task_fail(g, i, "unknown", "%s: the request may have reached %s and be running (and "
              "paid); vbatch cannot look it up and does not send it again. Look for it in "
              "%s's request history; to submit it anyway, `vbatch retry --job-id %s --output %s`",
              why, g->pv->name, g->pv->name, g->batch_id, g->o->out_dir);
}

static void start_lookup(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    if (g->pv->no_lookup) {
        task_unknown(g, i, "a create call was sent and its answer never recorded");
        return;
    }
    t->state = G_LOOKUP;
    if (!t->counted) {
        t->counted = true;
        gen_sched_busy(&g->s);
    }
    char *path = g->pv->query_path(g->sess, &t->job, t->ext_id, true);
    g->n_lookup++;
    start(g, i, api_req(g, t, K_LOOKUP, path, NULL));
    free(path);
}

/* The result of a task done at the provider (its status has no URL). */
static void start_result(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    t->state = G_RESULT;
    char *path = g->pv->result_path(g->sess, &t->job, t->task_id);
    g->n_poll++;
    start(g, i, api_req(g, t, K_RESULT, path, NULL));
    free(path);
}

/* Stopping: a task still waiting in the provider's queue is cancelled,
 * so that nothing runs (or is paid) that nobody will fetch. */
static void send_cancel(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    /* Handed back, a task is fetched by the next delivery. */
    if (!g->pv->cancel_path || g->handing_back || !t->task_id || t->state != G_WAIT ||
        !t->pstatus || strcmp(t->pstatus, "submitted") != 0)
        return;
    char *path = g->pv->cancel_path(g->sess, &t->job, t->task_id);
    net_req *r = api_req(g, t, K_CANCEL, path, NULL);
    free(path);
    r->method = "PUT";
    vb_error e = {0};
    if (net_add(g->net, r, &e) != 0)
        net_req_free(&r); /* stays queued there; polled on resume */
}

static void start_cancels(gen_engine *g)
{
    g->cancels_sent = true;
    for (size_t i = 0; i < g->n; i++)
        send_cancel(g, i);
}

static void start_poll(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    t->state = G_POLL;
    char *path = g->pv->query_path(g->sess, &t->job, t->task_id, false);
    g->n_poll++;
    start(g, i, api_req(g, t, K_POLL, path, NULL));
    free(path);
}

/* A local file in base64 (the API wants the bytes inline). */
static char *image_b64(const char *path, vb_error *e)
{
    size_t len;
    char *buf = util_read_file(path, &len, e);
    if (!buf)
        return NULL;
    char *out = crypto_base64(buf, len);
    free(buf);
    return out;
}

/* Claim task i's create in the shared claims before it is sent. 1: ours,
 * send it. 0: an earlier delivery (a worker that died) claimed it: the
 * task is polled by the id it recorded, else looked up by its external
 * id, or, where the provider has no such look-up, ended unknown: never
 * sent blindly again. -1: the claims cannot be reached: back in line. */
static int shared_claim(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    const gen_shared *sh = g->o->shared;
    char *tid = NULL, *by = NULL;
    vb_error e = {0};
    int c = sh->claim(sh->ud, t->ext_id, &tid, &by, &e);
    if (c < 0) {
        uncount(g, t);
        g->shared_until = util_now() + 1;
        queue_push(g, i, true);
        return -1;
    }
    t->claimed = true;
    if (c == 1)
        return 1;
    if (t->started == 0)
        t->started = util_now();
    commit_units(g, t);
    if (tid) {
        free(t->task_id);
        t->task_id = tid;
        t->created = util_now();
        journal(g, t, t->task_id, "submitted", NAN, NULL, true);
        free(t->pstatus);
        t->pstatus = vb_xstrdup("submitted");
        t->state = G_WAIT;
        if (!t->counted) {
            t->counted = true;
            gen_sched_busy(&g->s);
        }
        gen_sched_timer_set(&g->s, i, util_now());
    } else if (g->pv->no_lookup) {
        free(t->pstatus);
        t->pstatus = vb_xstrdup("unknown");
        task_fail(g, i, "unknown", "an earlier delivery of this item (worker %s) claimed its "
                  "create and may have sent it: it may be running (and paid) at %s, which "
                  "cannot be asked by vbatch's id (%s); it is not sent again. Look for it in "
                  "%s's request history; to submit it anyway, enqueue that job again into a "
                  "new queue", by ? by : "?", g->pv->name, t->ext_id, g->pv->name);
    } else {
        t->maybe_created = true;
        start_lookup(g, i);
    }
    free(by);
    return 0;
}

static void start_create(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    vb_error e = {0};
    char *b64 = NULL, *tail = NULL;
    const char *img = t->image_local ? t->image_local : t->job.image_file;
    const char *timg = t->tail_local ? t->tail_local : t->job.image_tail_file;
    int64_t cap = g->cfg->qc.image_max_pixels;
    if (t->job.refused || (t->job.image && !img) || (t->job.image_tail && !timg)) {
        /* Never a create without the image the row names. */
        task_fail(g, i, "refused", "image refused before submission: %s",
                  t->job.refused ? t->job.refused : "no local file");
        return;
    }
    /* Refused locally, at no cost, when the provider would refuse it. */
    if (img && (g->pv->check_image(img, cap, &e) != 0 || !(b64 = image_b64(img, &e)))) {
        task_fail(g, i, "refused", "image refused before submission: %s", e.msg);
        return;
    }
    if (timg && (g->pv->check_image(timg, cap, &e) != 0 || !(tail = image_b64(timg, &e)))) {
        free(b64);
        task_fail(g, i, "refused", "image_tail refused before submission: %s", e.msg);
        return;
    }
    char *path = NULL, *body = NULL;
    int rc = g->pv->create_request(g->sess, &t->job, t->ext_id, b64, tail, &path, &body, &e);
    free(b64);
    free(tail);
    if (rc != 0) {
        task_fail(g, i, "failed", "%s", e.msg);
        return;
    }
    if (g->o->shared && !t->claimed) {
        int c = shared_claim(g, i);
        if (c != 1) {
            free(path);
            free(body);
            return;
        }
    }
    t->state = G_CREATE;
    t->maybe_created = true;
    if (t->started == 0)
        t->started = util_now();
    if (!t->counted) {
        t->counted = true;
        gen_sched_busy(&g->s);
    }
    commit_units(g, t);
    g->n_create++;
    /* Without a lookup by client id the journal is all there is: the
     * create is on disk before it is sent. */
    journal(g, t, NULL, "creating", NAN, NULL, g->pv->no_lookup);
    net_req *r = api_req(g, t, K_CREATE, path, body);
    r->fresh = true;
    start(g, i, r);
    free(path);
}

static void start_download(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    t->state = G_DOWNLOAD;
    net_req *r = net_req_new();
    r->url = vb_xstrdup(t->url);
    r->kind = K_DOWNLOAD;
    r->ud = task_ud(g, t);
    r->max_size = g->cfg->input.max_download_size;
    r->timeout = g->cfg->input.download_timeout;
    r->out_path = util_temp_name(t->video_path);
    g->n_download++;
    vb_error e = {0};
    char *dir = util_path_join(g->o->out_dir, t->folder);
    char *vdir = util_path_join(dir, "video");
    if (util_mkdir_p(vdir, &e) != 0) {
        free(dir);
        free(vdir);
        net_req_free(&r);
        task_fail(g, i, "failed", "%s", e.msg);
        return;
    }
    free(dir);
    free(vdir);
    start(g, i, r);
}

/* An image given by URL: downloaded into the item's folder, then checked
 * like a local one before the create call. */
static void start_images(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    const char *urls[2] = { t->job.image, t->job.image_tail };
    t->state = G_IMAGE;
    t->images_pending = 0;
    for (int k = 0; k < 2; k++) {
        if (!urls[k] || !util_is_url(urls[k]) || (k ? t->tail_local : t->image_local))
            continue;
        vb_error e = {0};
        char *dir = util_path_join(g->o->out_dir, t->folder);
        char *idir = util_path_join(dir, "input");
        free(dir);
        if (util_mkdir_p(idir, &e) != 0) {
            free(idir);
            task_fail(g, i, "failed", "%s", e.msg);
            return;
        }
        char *base = util_url_basename(urls[k]);
        char *name = layout_safe_file(base[0] ? base : (k ? "image_tail" : "image"));
        char *fname = vb_xasprintf("%s%s", k ? "tail-" : "", name);
        char *final = util_path_join(idir, fname);
        free(base);
        free(name);
        free(fname);
        free(idir);
        net_req *r = net_req_new();
        r->url = vb_xstrdup(urls[k]);
        r->ud = task_ud(g, t);
        /* Over the provider's 10 MB the image is refused anyway. */
        r->max_size = 64LL << 20;
        r->timeout = g->cfg->input.download_timeout;
        r->out_path = util_temp_name(final);
        r->kind = k ? K_IMAGE_TAIL : K_IMAGE;
        if (k)
            t->tail_local = final;
        else
            t->image_local = final;
        t->images_pending++;
        start(g, i, r);
    }
    if (t->images_pending == 0)
        queue_push(g, i, true);
}

/* ---- what replies mean ---- */

static double poll_interval(gen_engine *g)
{
    return g->cfg->generate.poll_interval > 0 ? g->cfg->generate.poll_interval : 5;
}

static void backoff_retry(gen_engine *g, size_t i, int next, double retry_after)
{
    gtask *t = &g->t[i];
    t->tries++;
    g->n_retry++;
    double d = backoff_delay(t->tries, GEN_BACKOFF_BASE, GEN_BACKOFF_CAP, &g->rng);
    if (retry_after >= 0 && retry_after > d)
        d = retry_after;
    t->state = next;
    gen_sched_timer_set(&g->s, i, util_now() + d);
}

/* Task t was seen done at `now`: how long it took, for the poll timers
 * (the provider's own figure when it gives one). */
static void learn(gen_engine *g, const gtask *t, const provider_reply *pr, double now)
{
    if (pr->gen_seconds > 0)
        gen_sched_learn_took(&g->s, pr->gen_seconds);
    else
        gen_sched_learn(&g->s, t->last_miss, now - t->created);
}

/* A reply about an existing task (lookup or poll). */
static void task_seen(gen_engine *g, size_t i, provider_reply *pr)
{
    gtask *t = &g->t[i];
    double now = util_now();
    t->tries = 0;
    t->renews = 0;
    if (pr->task_id && (!t->task_id || strcmp(t->task_id, pr->task_id) != 0)) {
        free(t->task_id);
        t->task_id = vb_xstrdup(pr->task_id);
        journal(g, t, t->task_id, "submitted", NAN, NULL, true);
        if (g->o->shared)
            /* Found by a look-up: kept with the claim too. */
            g->o->shared->created(g->o->shared->ud, t->ext_id, t->task_id);
    }
    if (t->created == 0)
        t->created = now;
    static const char *const names[] = {"unknown", "submitted", "processing", "succeed", "failed"};
    free(t->pstatus);
    t->pstatus = vb_xstrdup(names[pr->status]);
    if (pr->status == PT_SUCCEED && !pr->video_url && g->pv->result_path) {
        if (t->counted || t->released) {
            learn(g, t, pr, now);
            uncount(g, t);
        }
        start_result(g, i);
        return;
    }
    if (pr->status == PT_FAILED && t->cancelled) {
        /* Cancelled by an interrupted run, and it never ran: made anew. */
        t->cancelled = false;
        uncount(g, t);
        uncommit_units(g, t);
        free(t->task_id);
        t->task_id = NULL;
        t->maybe_created = false;
        vb_error e = {0};
        /* It never ran: it cost nothing. */
        if (state_gen_renew(g->st, g->batch_id, t->seq, t->ext_id, 0.0, &e) != 0 && !g->fatal) {
            g->fatal = 1;
            g->fatal_e = e;
        }
        queue_push(g, i, true);
        return;
    }
    if (pr->status == PT_SUCCEED) {
        if (!pr->video_url) {
            task_fail(g, i, "failed", "%s reports success but gives no video", g->pv->name);
            return;
        }
        set_units(g, t, pr->units);
        if (t->counted || t->released) {
            learn(g, t, pr, now);
            uncount(g, t);
        }
        free(t->url);
        t->url = vb_xstrdup(pr->video_url);
        journal(g, t, NULL, "succeed", t->units, NULL, false);
        /* Started by the timers, after the creates its slot lets go:
         * a download queued first would hold up the create at the
         * server (its slot idle meanwhile). */
        t->state = G_DOWNLOAD;
        gen_sched_timer_set(&g->s, i, now);
        return;
    }
    if (pr->status == PT_FAILED) {
        /* A failed task is not charged unless the provider says so. */
        set_units(g, t, isnan(pr->units) ? 0.0 : pr->units);
        task_fail(g, i, "failed", "generation failed at %s%s%s", g->pv->name,
                  pr->status_msg ? ": " : "", pr->status_msg ? pr->status_msg : "");
        return;
    }
    /* Still running. */
    double deadline = g->cfg->generate.task_timeout;
    if (deadline > 0 && now - t->created > deadline) {
        task_fail(g, i, "timeout", "not finished after %.0f s (task %s; [generate] task_timeout)",
                  deadline, t->task_id ? t->task_id : "?");
        return;
    }
    double age = now - t->created;
    t->last_miss = age;
    gen_sched_running(&g->s, age);
    t->state = G_WAIT;
    double d = gen_sched_repoll(&g->s, age, poll_interval(g), &g->rng);
    gen_sched_timer_set(&g->s, i, now + d);
}

static void hold_all(gen_engine *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void hold_all(gen_engine *g, const char *fmt, ...)
{
    if (g->hold_reason[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->hold_reason, sizeof g->hold_reason, fmt, ap);
    va_end(ap);
}

/* A reply as the provider reads it, any secret it echoes blanked out. */
static void parse(gen_engine *g, const net_req *r, provider_reply *pr)
{
    int call = r->kind == K_CREATE   ? PC_CREATE
               : r->kind == K_RESULT ? PC_RESULT
               : r->kind == K_CANCEL ? PC_CANCEL
                                     : PC_QUERY;
    g->pv->parse_reply(call, r->http, r->curl_code, r->resp, r->resp_len, pr);
    if (g->pv->scrub) {
        g->pv->scrub(g->sess, pr->msg);
        if (pr->status_msg)
            g->pv->scrub(g->sess, pr->status_msg);
    }
}

/* The keys are refused (or every token made from them): nothing that
 * needs them is sent any more. Tasks stay where they are in the journal,
 * the batch ends interrupted with exit 2 (a configuration error), and a
 * resume once the keys are fixed goes on: created tasks are polled,
 * the others looked up before anything is submitted. */
static void keys_refused(gen_engine *g, bool tokens, const char *why)
{
    g->auth_refused = true;
    hold_all(g, "%s refuses %s (%s): nothing more is submitted; check %s%s, then `vbatch "
                "resume --job-id %s --output %s` goes on without paying twice",
             g->pv->name, tokens ? "the tokens signed with the API keys" : "the API keys", why,
             g->pv->keys_hint ? g->pv->keys_hint : "the keys",
             tokens ? " and this machine's clock" : "", g->batch_id, g->o->out_dir);
}

/* A lookup or poll refused for the keys: the task waits for a resume. */
static void hold_task(gen_engine *g, size_t i)
{
    gtask *t = &g->t[i];
    uncount(g, t);
    t->state = G_HELD;
}

/* Slots freed by the clock at `now` (gen_sched_release_next): the
 * tasks still waiting to be seen done stop counting. */
static void release_due(gen_engine *g, double now)
{
    size_t i;
    while (gen_sched_release_next(&g->s, now, &i)) {
        gtask *t = &g->t[i];
        if (t->counted && (t->state == G_WAIT || t->state == G_POLL)) {
            t->counted = false;
            t->released = true;
            gen_sched_idle(&g->s);
            g->n_released++;
            g->n_released_unseen++;
        }
    }
}

/* A create refused for too many tasks while slots were freed by the
 * clock: some task is taking longer. The released ones count again until
 * seen done, and the clock is trusted less (gen_sched_mispredicted). */
static void recount_released(gen_engine *g)
{
    for (size_t k = 0; k < g->n; k++) {
        gtask *t = &g->t[k];
        if (t->released) {
            t->released = false;
            t->counted = true;
            gen_sched_busy(&g->s);
            /* Back in the line, freed again after the longer margin
             * (behind younger tasks: later, never earlier). */
            gen_sched_created(&g->s, k, t->created);
        }
    }
    g->n_released_unseen = 0;
    g->n_mispredicted++;
    gen_sched_mispredicted(&g->s);
}

static void on_create(gen_engine *g, size_t i, net_req *r)
{
    gtask *t = &g->t[i];
    provider_reply pr = {0};
    parse(g, r, &pr);
    double now = util_now();
    int v = pr.verdict;
    if (provider_nothing_created(v)) {
        /* Refused: nothing was created, nothing will be charged. */
        uncommit_units(g, t);
        shared_unclaim(g, t);
    }
    if (g->pv->no_lookup && (v == PV_RATE || v == PV_CONCURRENCY || v == PV_AUTH ||
                             v == PV_AUTH_EXPIRED))
        /* Put back in line: a crash now must not leave it "creating"
         * (which, with no lookup, would end it unknown). */
        journal(g, t, NULL, "pending", NAN, NULL, true);
    switch (v) {
    case PV_OK:
        t->created = now;
        t->tries = 0;
        t->renews = 0;
        free(t->task_id);
        t->task_id = pr.task_id ? vb_xstrdup(pr.task_id) : NULL;
        /* Committed at once: after a crash this task is polled, never
         * created again. */
        journal(g, t, t->task_id, "submitted", NAN, NULL, true);
        if (g->o->shared && t->task_id)
            /* ... by whichever worker the item goes to next. */
            g->o->shared->created(g->o->shared->ud, t->ext_id, t->task_id);
        free(t->pstatus);
        t->pstatus = vb_xstrdup("submitted");
        t->state = G_WAIT;
        gen_sched_timer_set(&g->s, i, now + gen_sched_first_poll(&g->s, poll_interval(g)));
        if (!g->o->shared)
            /* (The shared limiter's slots are freed by sight only.) */
            gen_sched_created(&g->s, i, now);
        if (g->cancels_sent)
            /* Answered after the stop's cancels went: this one's too
             * (a busy machine: 1 run in 3 of generate-fal.sh 7). */
            send_cancel(g, i);
        break;
    case PV_DUPLICATE:
        /* The id is known there: an earlier create did arrive. */
        start_lookup(g, i);
        break;
    case PV_RATE:
    case PV_CONCURRENCY: {
        uncount(g, t);
        t->maybe_created = false;
        if (v == PV_CONCURRENCY && g->n_released_unseen > 0)
            recount_released(g);
        double d = r->retry_after >= 0 ? r->retry_after
                                       : backoff_delay(t->tries + 1, GEN_BACKOFF_BASE, 10, &g->rng);
        if (v == PV_RATE)
            gen_sched_rate_limited(&g->s, now, d);
        else
            gen_sched_concurrency_limited(&g->s, now, d);
        g->n_retry++;
        queue_push(g, i, true);
        break;
    }
    case PV_NO_CREDIT:
        uncount(g, t);
        t->maybe_created = false;
        /* Refused: never created; a resume counts it among those to pay. */
        journal(g, t, NULL, "pending", NAN, NULL, false);
        g->no_credit = true;
        hold_all(g, "%s refused a submission for lack of credit (%s): no new job is submitted;"
                    " add credit, then `vbatch resume --job-id %s`",
                 g->pv->name, pr.msg, g->batch_id);
        queue_push(g, i, true);
        break;
    case PV_AUTH_EXPIRED:
        if (++t->renews > GEN_MAX_RENEW) {
            uncount(g, t);
            keys_refused(g, true, pr.msg);
            queue_push(g, i, true);
        } else {
            /* Signed again before the retry; nothing was created. */
            uncount(g, t);
            queue_push(g, i, true);
        }
        break;
    case PV_AUTH:
        /* Nothing was created: the job waits in the queue for a resume. */
        uncount(g, t);
        keys_refused(g, false, pr.msg);
        queue_push(g, i, true);
        break;
    case PV_REJECTED:
        t->maybe_created = false;
        task_fail(g, i, "refused", "refused by %s: %s", g->pv->name, pr.msg);
        break;
    case PV_MODEL: {
        /* This job's model only: the others go on. */
        t->maybe_created = false;
        char *hint = g->pv->models_hint ? g->pv->models_hint() : NULL;
        task_fail(g, i, "refused", "%s does not offer model %s (%s): nothing was created;%s%s",
                  g->pv->name, t->job.model, pr.msg, hint ? " " : "", hint ? hint : "");
        free(hint);
        break;
    }
    case PV_NOT_SENT: {
        /* Nothing was created (no connection was made): sent again once
         * the provider can be reached, the others waiting too. */
        uncount(g, t);
        t->maybe_created = false;
        if (++t->tries >= GEN_MAX_TRIES) {
            task_fail(g, i, "failed", "%s cannot be reached (%s) after %d attempts", g->pv->name,
                      pr.msg, t->tries);
            break;
        }
        journal(g, t, NULL, "pending", NAN, NULL, true);
        g->n_retry++;
        gen_sched_rate_limited(&g->s, now,
                               backoff_delay(t->tries, GEN_BACKOFF_BASE, GEN_BACKOFF_CAP, &g->rng));
        queue_push(g, i, true);
        break;
    }
    case PV_TRANSIENT:
    case PV_NOT_FOUND:
    default:
        if (g->pv->no_lookup) {
            char d[300], why[700];
            net_describe(r, d, sizeof d);
            snprintf(why, sizeof why, "the answer to the create call was lost (%.300s; %.200s)",
                     pr.msg, d);
            task_unknown(g, i, why);
            break;
        }
        /* The answer is lost or useless: the task may exist. Never send
         * the create again blindly: look it up first. */
        if (t->tries + 1 >= GEN_MAX_TRIES) {
            char d[300];
            net_describe(r, d, sizeof d);
            task_fail(g, i, "failed", "no answer to the create call after %d attempts (%s; %s)",
                      t->tries + 1, pr.msg, d);
            break;
        }
        backoff_retry(g, i, G_LOOKUP, r->retry_after);
        break;
    }
    provider_reply_clear(&pr);
}

/* What a reply about task i (lookup or poll, alone or in a batch)
 * means; retry_after: the reply's Retry-After, < 0 when none. */
static void query_verdict(gen_engine *g, size_t i, provider_reply *pr, int kind,
                          double retry_after)
{
    gtask *t = &g->t[i];
    bool lookup = kind == K_LOOKUP;
    int again = lookup ? G_LOOKUP : kind == K_RESULT ? G_RESULT : G_WAIT;
    switch (pr->verdict) {
    case PV_OK:
        task_seen(g, i, pr);
        break;
    case PV_NOT_FOUND:
        if (lookup) {
            /* Never created: submit it (first in line). */
            uncount(g, t);
            uncommit_units(g, t);
            t->maybe_created = false;
            t->tries = 0;
            queue_push(g, i, true);
        } else {
            task_fail(g, i, "failed", "%s no longer knows task %s", g->pv->name, t->task_id);
        }
        break;
    case PV_AUTH_EXPIRED:
        if (++t->renews > GEN_MAX_RENEW) {
            /* Not a failed task (a retry would pay for it again): held. */
            keys_refused(g, true, pr->msg);
            hold_task(g, i);
            break;
        }
        t->state = again;
        gen_sched_timer_set(&g->s, i, util_now());
        break;
    case PV_AUTH:
        keys_refused(g, false, pr->msg);
        hold_task(g, i);
        break;
    case PV_RATE:
    case PV_CONCURRENCY:
    case PV_TRANSIENT:
    case PV_DUPLICATE:
        if (t->tries + 1 >= GEN_MAX_TRIES) {
            task_fail(g, i, "failed", "no usable answer about task %s after %d attempts: %s",
                      t->task_id ? t->task_id : t->ext_id, t->tries + 1, pr->msg);
            break;
        }
        backoff_retry(g, i, again, retry_after);
        break;
    default:
        task_fail(g, i, "failed", "%s: %s", g->pv->name, pr->msg);
        break;
    }
}

static void on_query(gen_engine *g, size_t i, net_req *r, bool lookup)
{
    provider_reply pr = {0};
    parse(g, r, &pr);
    query_verdict(g, i, &pr, lookup ? K_LOOKUP : K_POLL, r->retry_after);
    provider_reply_clear(&pr);
}

/* The result call's reply: the video's URL, or why the task failed. */
static void on_result(gen_engine *g, size_t i, net_req *r)
{
    provider_reply pr = {0};
    parse(g, r, &pr);
    if (pr.verdict == PV_OK && (pr.status == PT_SUCCEED || pr.status == PT_FAILED))
        task_seen(g, i, &pr);
    else
        query_verdict(g, i, &pr, K_RESULT, r->retry_after);
    provider_reply_clear(&pr);
}

/* A cancel call's reply: cancelled (the journal says so, and a resume
 * asks the provider before making it anew), or too late (polled on
 * resume, as any task). */
static void on_cancel(gen_engine *g, size_t i, net_req *r)
{
    gtask *t = &g->t[i];
    provider_reply pr = {0};
    parse(g, r, &pr);
    if (pr.verdict == PV_OK) {
        free(t->pstatus);
        t->pstatus = vb_xstrdup("cancelled");
        journal(g, t, NULL, "cancelled", NAN, NULL, true);
    }
    provider_reply_clear(&pr);
}

/* A batch lookup's reply: each task asked about as if polled alone. */
static void on_batch(gen_engine *g, net_req *r)
{
    gbatch *b = r->ud;
    provider_reply all = {0}, *tasks = NULL;
    size_t n = 0;
    g->pv->parse_batch(r->http, r->curl_code, r->resp, r->resp_len, &all, &tasks, &n);
    if (g->pv->scrub) {
        g->pv->scrub(g->sess, all.msg);
        for (size_t k = 0; k < n; k++)
            if (tasks[k].status_msg)
                g->pv->scrub(g->sess, tasks[k].status_msg);
    }
    /* Tasks found ended: the lookups' back-off (gen_sched_batch_gap). */
    size_t ended = 0;
    for (size_t x = 0; x < n; x++)
        ended += tasks[x].status == PT_SUCCEED || tasks[x].status == PT_FAILED;
    /* A lookup that found nothing done is a miss only if it asked about a
     * task past its expected end: the tasks added to fill its room were
     * not due (counted as misses, they held the last tasks' lookup back
     * by a doubled gap). */
    double e = gen_sched_expected(&g->s), now = util_now();
    bool overdue = isnan(e);
    for (size_t k = 0; k < b->n && !overdue; k++)
        overdue = g->t[b->idx[k]].created > 0 && now - g->t[b->idx[k]].created >= e;
    if (all.verdict == PV_OK && (ended > 0 || overdue))
        gen_sched_lookup_result(&g->s, ended);
    for (size_t k = 0; k < b->n; k++) {
        size_t i = b->idx[k];
        gtask *t = &g->t[i];
        if (t->state != G_POLL)
            continue;
        if (all.verdict != PV_OK) {
            query_verdict(g, i, &all, K_POLL, r->retry_after);
            continue;
        }
        provider_reply *hit = NULL;
        for (size_t x = 0; x < n && !hit; x++)
            if (t->task_id && tasks[x].task_id && strcmp(tasks[x].task_id, t->task_id) == 0)
                hit = &tasks[x];
        /* Missing: asked again (a task just created may not be listed
         * yet), given up after as many tries as a failing poll. */
        provider_reply missing = { .verdict = PV_TRANSIENT, .code = -1 };
        snprintf(missing.msg, sizeof missing.msg, "task not in the reply to a batch lookup");
        query_verdict(g, i, hit ? hit : &missing, K_POLL, -1);
    }
    for (size_t x = 0; x < n; x++)
        provider_reply_clear(&tasks[x]);
    free(tasks);
    provider_reply_clear(&all);
    free(b);
}


static void on_download(gen_engine *g, size_t i, net_req *r)
{
    gtask *t = &g->t[i];
    if (r->curl_code == 0 && r->http >= 200 && r->http < 300 && !r->write_errno) {
        vb_error e = {0};
        if (rename(r->out_path, t->video_path) != 0) {
            vb_fail(&e, VB_ERR_IO, "cannot rename %s: %s", r->out_path, strerror(errno));
            unlink(r->out_path);
            task_fail(g, i, "failed", "%s", e.msg);
            return;
        }
        journal(g, t, NULL, "downloaded", NAN, NULL, false);
        hand_over(g, t, NULL);
        followers_end(g, i);
        return;
    }
    unlink(r->out_path);
    char d[300];
    net_describe(r, d, sizeof d);
    if ((r->http == 403 || r->http == 410 || r->http == 404) && r->curl_code == 0) {
        /* Signed URLs expire: ask the task for a fresh one. */
        if (++t->refreshes > GEN_MAX_REFRESH) {
            task_fail(g, i, "failed", "the video URL keeps failing (%s) after %d refreshes", d,
                      GEN_MAX_REFRESH);
            return;
        }
        start_poll(g, i);
        return;
    }
    if ((r->curl_code != 0 && net_curl_transient(r->curl_code)) ||
        net_status_transient(r->http)) {
        int retries = g->cfg->input.download_retries;
        if (t->tries < retries) {
            backoff_retry(g, i, G_DOWNLOAD, r->retry_after);
            return;
        }
    }
    task_fail(g, i, "failed", "cannot download the video: %s", d);
}

static void on_image(gen_engine *g, size_t i, net_req *r)
{
    gtask *t = &g->t[i];
    bool tail = r->kind == K_IMAGE_TAIL;
    char *final = tail ? t->tail_local : t->image_local;
    if (r->curl_code == 0 && r->http >= 200 && r->http < 300 && !r->write_errno) {
        if (rename(r->out_path, final) != 0) {
            unlink(r->out_path);
            task_fail(g, i, "failed", "cannot rename %s: %s", r->out_path, strerror(errno));
            return;
        }
    } else {
        unlink(r->out_path);
        char d[300];
        net_describe(r, d, sizeof d);
        if (t->state != G_FAILED)
            task_fail(g, i, "failed", "cannot download the %s: %s", tail ? "image_tail" : "image",
                      d);
        return;
    }
    if (--t->images_pending == 0 && t->state == G_IMAGE)
        queue_push(g, i, true);
}

/* ---- followers: identical requests ---- */

static void followers_end(gen_engine *g, size_t i)
{
    gtask *l = &g->t[i];
    for (size_t k = i + 1; k < g->n; k++) {
        gtask *t = &g->t[k];
        if (t->leader != l->seq || t->state != G_FOLLOW)
            continue;
        free(t->task_id);
        t->task_id = l->task_id ? vb_xstrdup(l->task_id) : NULL;
        free(t->pstatus);
        t->pstatus = l->pstatus ? vb_xstrdup(l->pstatus) : NULL;
        if (l->state != G_READY) {
            task_fail(g, k, "failed", "same request as row %lld (%s), which failed: %s",
                      (long long)l->job.row, l->job.id, l->error ? l->error : "?");
            continue;
        }
        vb_error e = {0};
        char *dir = util_path_join(g->o->out_dir, t->folder);
        char *vdir = util_path_join(dir, "video");
        free(dir);
        int rc = util_mkdir_p(vdir, &e);
        free(vdir);
        if (rc == 0)
            rc = util_link_or_copy(l->video_path, t->video_path, &e);
        if (rc != 0) {
            task_fail(g, k, "failed", "%s", e.msg);
            continue;
        }
        journal(g, t, t->task_id, "downloaded", 0, NULL, false);
        hand_over(g, t, NULL);
    }
}

/* ---- the loop ---- */

static bool may_submit(gen_engine *g, double now)
{
    if (g->no_credit || g->auth_refused || g->draining || atomic_load(&g->stop))
        return false;
    return gen_sched_may_submit(&g->s, now);
}

static void submit_ready(gen_engine *g, double now)
{
    while (gen_sched_queue_len(&g->s) > 0 && may_submit(g, now)) {
        size_t i = gen_sched_queue_front(&g->s);
        gtask *t = &g->t[i];
        double budget = g->cfg->generate.budget;
        if (gen_sched_over_budget(budget, g->committed_units, t->est_units)) {
            g->budget_hit = true;
            hold_all(g, "the budget of %g units is reached (%g spent or committed): the jobs"
                        " left are not submitted; `vbatch resume --job-id %s --budget N` goes on",
                     budget, g->committed_units, g->batch_id);
            return;
        }
        if (g->o->shared && !t->slot) {
            /* The account's limits, shared with the other workers. */
            if (now < g->shared_until)
                return;
            double w = 0;
            vb_error e = {0};
            int got = g->o->shared->acquire(g->o->shared->ud, t->ext_id, &w, &e);
            if (got != 1) {
                g->shared_until = now + (got < 0 ? 1.0 : w);
                return;
            }
            t->slot = true;
        }
        gen_sched_queue_pop(&g->s);
        if (t->maybe_created) {
            /* Came back from a lost answer: look it up, do not pay twice. */
            start_lookup(g, i);
            continue;
        }
        gen_sched_take(&g->s);
        start_create(g, i);
    }
}

typedef struct due_at {
    double at;
    size_t i;
} due_at;

static int by_due(const void *a, const void *b)
{
    double x = ((const due_at *)a)->at, y = ((const due_at *)b)->at;
    return x < y ? -1 : x > y;
}

/* One batch lookup of the tasks in idx[0..n-1] (their polls due). */
static void start_batch(gen_engine *g, const size_t *idx, size_t n)
{
    gbatch *b = vb_xmalloc(sizeof *b + n * sizeof b->idx[0]);
    const char **ids = vb_xcalloc(n, sizeof *ids);
    b->n = n;
    for (size_t k = 0; k < n; k++) {
        b->idx[k] = idx[k];
        g->t[idx[k]].state = G_POLL;
        ids[k] = g->t[idx[k]].task_id;
    }
    char *path = g->pv->batch_path(g->sess, ids, n);
    free(ids);
    g->n_poll++;
    net_req *r = api_req(g, &g->t[idx[0]], K_BATCH, path, NULL);
    free(path);
    r->ud = b;
    vb_error e = {0};
    if (net_add(g->net, r, &e) != 0) {
        net_req_free(&r);
        for (size_t k = 0; k < n; k++)
            task_fail(g, idx[k], "failed", "%s", e.msg);
        free(b);
    }
}

/* The batchable tasks whose polls are due, in lookups of at most
 * batch_max; the room left in the last one is filled with the other
 * tasks waiting, soonest first: polled early, they cost no request. */
static void start_batches(gen_engine *g)
{
    size_t max = g->pv->batch_max;
    if (g->ndue == 0)
        return;
    size_t room = (g->ndue + max - 1) / max * max - g->ndue;
    if (room > 0) {
        due_at *more = vb_xcalloc(g->n, sizeof *more);
        size_t nm = 0;
        for (size_t i = 0; i < g->n; i++)
            if (g->t[i].batch && g->t[i].state == G_WAIT &&
                gen_sched_timer_get(&g->s, i, &more[nm].at))
                more[nm++].i = i;
        qsort(more, nm, sizeof *more, by_due);
        for (size_t k = 0; k < nm && k < room; k++) {
            gen_sched_timer_cancel(&g->s, more[k].i);
            g->due[g->ndue++] = more[k].i;
        }
        free(more);
    }
    for (size_t k = 0; k < g->ndue; k += max)
        start_batch(g, g->due + k, g->ndue - k < max ? g->ndue - k : max);
    g->ndue = 0;
    g->deferred = 0;
    g->last_batch = util_now();
}

/* When the lookup a poll due at `now` asks for should go: once its
 * group is due (gen_sched_group_end over the batchable tasks waiting). */
static double lookup_hold(gen_engine *g, double now)
{
    double w = gen_sched_group_window(&g->s);
    if (w <= 0)
        return now;
    size_t n = 0;
    for (size_t k = 0; k < g->n; k++)
        if (g->t[k].batch && g->t[k].state == G_WAIT &&
            gen_sched_timer_get(&g->s, k, &g->wanted[n]))
            n++;
    return gen_sched_group_end(g->wanted, n, now, w);
}

/* Slots freed by the clock, every request counted, jobs waiting: a
 * lookup during the run takes a submission's token (each one pushes the
 * end out by 1/rate), while the last generation leaves a second or more
 * of tokens unused. So the polls due are held back, to be looked up
 * together once they fill half that many lookups (all of them, at the
 * benchmark's limits: 3% less wall time than looking up every
 * generation), or once the clock or the queue stops. */
static bool lookups_wait(gen_engine *g)
{
    if (g->cfg->generate.rpm_counts != RPM_COUNTS_ALL || g->cfg->generate.rpm <= 0 ||
        g->o->shared || !gen_sched_clocked(&g->s) || g->no_credit || g->auth_refused ||
        g->budget_hit || g->draining || atomic_load(&g->stop))
        return false;
    /* Every slot taken and none to be freed by the clock (tasks counted
     * again after a misprediction, or found running by a resume): only a
     * lookup can free one. */
    if (g->s.inflight >= g->s.max_inflight && gen_sched_line(&g->s) == 0)
        return false;
    double free_tokens = gen_sched_expected(&g->s) * g->cfg->generate.rpm / 60.0 / 2;
    size_t most = g->pv->batch_max * (free_tokens > 1 ? (size_t)free_tokens : 1);
    return g->nheld + 1 < most;
}

static void release_held(gen_engine *g)
{
    if (g->nheld > 0 && !lookups_wait(g)) {
        memcpy(g->due + g->ndue, g->held, g->nheld * sizeof *g->held);
        g->ndue += g->nheld;
        g->nheld = 0;
    }
}

static void run_timers(gen_engine *g, double now)
{
    double hold;
    int q;
    release_held(g);
    while (gen_sched_timer_due(&g->s, now)) {
        size_t i = gen_sched_timer_pop(&g->s);
        gtask *t = &g->t[i];
        if (atomic_load(&g->stop))
            continue;
        if (g->auth_refused &&
            (t->state == G_WAIT || t->state == G_LOOKUP || t->state == G_RESULT)) {
            /* No poll with keys that are refused: left for a resume. */
            hold_task(g, i);
            continue;
        }
        switch (t->state) {
        case G_WAIT:
            if (!t->batch) {
                start_poll(g, i);
            } else if (lookups_wait(g)) {
                g->held[g->nheld++] = i;
            } else if (now < g->last_batch + gen_sched_batch_gap(&g->s, poll_interval(g)) &&
                       ((q = gen_sched_lookup_quorum(&g->s)) == 0 ||
                        g->deferred + (int)g->ndue + 1 < q)) {
                /* Too soon after the last lookup, and too few due to
                 * free many slots: the next one takes it. */
                g->deferred++;
                gen_sched_timer_set(&g->s, i,
                                    g->last_batch + gen_sched_batch_gap(&g->s, poll_interval(g)));
            } else if (g->ndue == 0 && (hold = lookup_hold(g, now)) > now) {
                /* The rest of its group is due within a moment. */
                gen_sched_timer_set(&g->s, i, hold);
            } else {
                g->due[g->ndue++] = i; /* polled with others: start_batches */
            }
            break;
        case G_LOOKUP: start_lookup(g, i); break;
        case G_RESULT: start_result(g, i); break;
        case G_DOWNLOAD: start_download(g, i); break;
        default: break;
        }
    }
    release_held(g);
    start_batches(g);
}

static size_t feed_more(gen_engine *g, double now, bool force);

static bool loop_done(gen_engine *g)
{
    if (net_running(g->net) > 0)
        return false;
    if (atomic_load(&g->stop))
        return g->cancels_sent;
    if (gen_sched_timers(&g->s) > 0 || g->nheld > 0)
        return false;
    /* Queued jobs that can never be submitted are held, not waited for. */
    if (gen_sched_queue_len(&g->s) > 0 &&
        !(g->no_credit || g->auth_refused || g->budget_hit || g->draining))
        return false;
    /* Asked once more before the engine ends: the caller may have jobs. */
    return feed_more(g, util_now(), true) == 0;
}

static void *gen_thread(void *arg)
{
    gen_engine *g = arg;
    while (!loop_done(g) && !g->fatal) {
        double now = util_now();
        int asked = g->o->stopping ? g->o->stopping(g->o->stopping_ud) : GEN_GO;
        if (asked == GEN_DRAIN)
            g->draining = true;
        else if (asked == GEN_HAND_BACK && !atomic_load(&g->stop)) {
            g->handing_back = true;
            atomic_store(&g->stop, true);
        }
        if (atomic_load(&g->stop) && !g->cancels_sent)
            start_cancels(g);
        feed_more(g, now, false);
        /* Creates first: a slot freed by the replies of the last round
         * is the scarce thing (run_timers starts downloads too). */
        release_due(g, now);
        submit_ready(g, now);
        run_timers(g, now);
        /* Sleep until the next timer, the next token, or a reply. */
        double wait = gen_sched_wait(&g->s, now, 0.25);
        if (g->o->shared && gen_sched_queue_len(&g->s) > 0 && g->shared_until > now)
            wait = fmin(wait, fmax(0.001, g->shared_until - now));
        vb_error e = {0};
        if (net_wait(g->net, wait, &e) != 0) {
            g->fatal = 1;
            g->fatal_e = e;
            break;
        }
        net_req *r;
        while ((r = net_next_done(g->net))) {
            if (atomic_load(&g->stop) && r->kind != K_CREATE && r->kind != K_CANCEL) {
                /* Stopping: a create's answer (or a cancel's) is still
                 * worth recording. */
                if (r->out_path)
                    unlink(r->out_path);
                if (r->kind == K_BATCH)
                    free(r->ud);
                net_req_free(&r);
                continue;
            }
            if (r->kind == K_BATCH) {
                on_batch(g, r);
                net_req_free(&r);
                continue;
            }
            size_t i = (size_t)(uintptr_t)r->ud;
            switch (r->kind) {
            case K_CREATE: on_create(g, i, r); break;
            case K_LOOKUP: on_query(g, i, r, true); break;
            case K_POLL: on_query(g, i, r, false); break;
            case K_RESULT: on_result(g, i, r); break;
            case K_CANCEL: on_cancel(g, i, r); break;
            case K_DOWNLOAD: on_download(g, i, r); break;
            case K_IMAGE:
            case K_IMAGE_TAIL: on_image(g, i, r); break;
            }
            net_req_free(&r);
        }
    }
    /* Whatever never started stays pending in the journal. */
    vb_error e = {0};
    report_flush(g->rep, &e);
    pthread_mutex_lock(&g->mu);
    g->finished = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* ---- the feed the batch engine reads ---- */

static int feed_next(void *ud, double wait, batch_item *it, vb_error *e)
{
    gen_engine *g = ud;
    pthread_mutex_lock(&g->mu);
    if (g->nready == 0 && !g->finished) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + (long)(wait * 1e9);
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    int rc;
    if (g->nready > 0) {
        *it = g->ready[0];
        memmove(g->ready, g->ready + 1, (g->nready - 1) * sizeof *g->ready);
        g->nready--;
        rc = 1;
    } else if (g->finished) {
        rc = g->fatal ? -1 : 0;
        if (g->fatal && e)
            *e = g->fatal_e;
    } else {
        rc = 2;
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

/* Jobs left unsubmitted (credit, budget, keys): why, or NULL. */
static const char *feed_held(void *ud)
{
    gen_engine *g = ud;
    return g->hold_reason[0] ? g->hold_reason : NULL;
}

static void feed_stop(void *ud)
{
    gen_engine *g = ud;
    atomic_store(&g->stop, true);
}

static int gen_not_started(generate_result *res, bool usage, const char *why);

/* ---- what the account has left ---- */

/* One balance call through n, nothing else in flight, waited for: 0
 * with *left and info set, -1 with e set. A refusal for going too fast,
 * an expired token or a transient failure is tried again (three calls at
 * most), the provider's interval apart. */
static int balance_call(const provider *pv, provider_session *s, net *n, double *left,
                        char *info, size_t info_len, vb_error *e)
{
    provider_endpoint ep = pv->session_endpoint(s);
    bool renew = false;
    if (net_running(n) > 0) /* its reply must be the next one done */
        return vb_fail(e, VB_ERR_INTERNAL, "a balance call with requests in flight");
    for (int attempt = 0;; attempt++) {
        net_req *r = net_req_new();
        char *path = pv->balance_path(s, util_wall());
        r->url = vb_xasprintf("%s%s", ep.base_url, path);
        free(path);
        r->timeout = ep.request_timeout;
        net_req_header(r, "Accept: application/json");
        char *auth = NULL;
        if (pv->auth_header(s, util_wall(), renew, &auth, e) != 0) {
            net_req_free(&r);
            return -1;
        }
        net_req_header(r, auth);
        memset(auth, 0, strlen(auth));
        free(auth);
        if (net_add(n, r, e) != 0) {
            net_req_free(&r);
            return -1;
        }
        while (!(r = net_next_done(n)))
            if (net_wait(n, 0.25, e) != 0)
                return -1;
        provider_reply pr = {0};
        pv->parse_balance(r->http, r->curl_code, r->resp, r->resp_len, util_wall(), &pr, left);
        if (pv->scrub)
            pv->scrub(s, pr.msg);
        double wait = r->retry_after > pv->balance_interval ? r->retry_after
                                                            : pv->balance_interval;
        net_req_free(&r);
        int v = pr.verdict;
        bool again = attempt < 2 && (v == PV_RATE || v == PV_TRANSIENT || v == PV_AUTH_EXPIRED);
        if (v == PV_OK)
            snprintf(info, info_len, "%s", pr.msg);
        else if (!again)
            vb_fail(e, VB_ERR_NET, "%s", pr.msg);
        provider_reply_clear(&pr);
        if (v == PV_OK)
            return 0;
        if (!again)
            return -1;
        renew = v == PV_AUTH_EXPIRED;
        struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

int generate_balance(const vb_config *cfg, const provider *pv, double *left, char *info,
                     size_t info_len, vb_error *e)
{
    if (!pv->balance_path)
        return 0;
    provider_session *s = pv->session_new(cfg, e);
    if (!s)
        return -1;
    net *n = net_new(e);
    int rc = n ? balance_call(pv, s, n, left, info, info_len, e) : -1;
    net_free(&n);
    pv->session_free(&s);
    return rc == 0 ? 1 : -1;
}

/* Units the run would submit, as planned (before start_tasks): the jobs
 * never sent (not those that may exist already, nor followers, nor
 * refused ones), in submission order, as far as the budget lets them. */
static double plan_units(gen_engine *g)
{
    double sum = 0;
    for (size_t i = 0; i < g->n; i++) {
        gtask *t = &g->t[i];
        bool to_create = !t->leader && !t->job.refused &&
                         ((t->state == G_QUEUED && !t->maybe_created) ||
                          (t->state == G_LOOKUP && t->never_sent));
        if (!to_create || t->est_units <= 0)
            continue;
        if (gen_sched_over_budget(g->cfg->generate.budget, g->committed_units + sum,
                                  t->est_units))
            break;
        sum += t->est_units;
    }
    return sum;
}

/* Before the first paid submission: does the account hold what the run
 * would spend? Not started when it does not; a balance that cannot be
 * read is noted and the run goes on (the provider still refuses a
 * create it cannot be paid for). */
static int gen_check_balance(gen_engine *g, generate_result *res)
{
    if (!g->pv->balance_path || g->o->shared)
        return 0; /* a worker's group: the account was enqueued for as a whole */
    double need = plan_units(g);
    if (need <= 0)
        return 0; /* nothing to pay for: no call */
    double left = 0;
    char info[512] = "";
    vb_error e = {0};
    if (balance_call(g->pv, g->sess, g->net, &left, info, sizeof info, &e) != 0) {
        snprintf(res->balance_note, sizeof res->balance_note,
                 "could not read what the %s account has left (%.500s): going on", g->pv->name,
                 e.msg);
        return 0;
    }
    res->balance_checked = true;
    res->balance_left = left;
    res->balance_need = need;
    if (left + 1e-9 >= need)
        return 0;
    char why[1000];
    snprintf(why, sizeof why, "the %s account has %g %s left (%s), the jobs to submit need "
             "%g (estimated): nothing was submitted; add units (or lower --budget), then "
             "`vbatch resume --job-id %s --output %s`", g->pv->name, left, g->pv->units, info,
             need, g->batch_id, g->o->out_dir);
    return gen_not_started(res, true, why);
}

/* ---- set-up ---- */

static char *video_name(const gen_job *j)
{
    char *base = vb_xasprintf("%s.mp4", j->id);
    char *safe = layout_safe_file(base);
    free(base);
    return safe;
}

static void task_paths(gen_engine *g, gtask *t)
{
    char *dir = util_path_join(g->o->out_dir, t->folder);
    char *vdir = util_path_join(dir, "video");
    char *name = video_name(&t->job);
    t->video_path = util_path_join(vdir, name);
    free(name);
    free(vdir);
    free(dir);
}

/* Task i (its job set) enters the journal, item pending and task
 * pending, before anything is sent: its seq, folder (given, else one of
 * g->names), external_task_id (given, else from g->salt) and leader (an
 * identical earlier request not ended yet). */
static int task_enter(gen_engine *g, size_t i, const char *folder, const char *ext,
                      vb_error *e)
{
    gtask *t = &g->t[i];
    t->seq = (int64_t)i + 1;
    t->units = NAN;
    t->est_units = g->pv->estimate_units(&t->job);
    t->folder = folder ? vb_xstrdup(folder) : layout_unique_name(g->names, t->job.id);
    task_paths(g, t);
    if (ext)
        snprintf(t->ext_id, sizeof t->ext_id, "%s", ext);
    else if (generate_external_id(&t->job, g->pv->name, g->salt, t->ext_id, e) != 0)
        return vb_prefix(e, "row %lld", (long long)t->job.row);
    /* A refused job is nobody's leader nor follower; a job added while
     * the engine runs follows only a leader still at work (one ended has
     * had its followers: the new one is made on its own, and its claim
     * finds the task). */
    for (size_t k = 0; k < i && !t->job.refused; k++) {
        const gtask *l = &g->t[k];
        if (!l->leader && !l->job.refused && l->state != G_READY && l->state != G_FAILED &&
            l->state != G_HELD && l->state != G_DONE && strcmp(l->ext_id, t->ext_id) == 0) {
            t->leader = l->seq;
            break;
        }
    }
    char *src = vb_xasprintf("%s:%s", g->pv->name, t->job.id);
    char *js = jobs_job_to_json(&t->job);
    int rc = report_queue(g->rep, t->seq, src, t->folder, NULL, e);
    if (rc == 0)
        rc = state_gen_add(g->st, g->batch_id, t->seq, js, t->ext_id, t->est_units, t->leader,
                           e);
    free(js);
    free(src);
    return rc;
}

/* A new batch: every job enters the journal before anything is sent. */
static int plan_new(gen_engine *g, vb_error *e)
{
    char salt_new[33];
    uint64_t r1 = backoff_rand(&g->rng), r2 = backoff_rand(&g->rng);
    snprintf(salt_new, sizeof salt_new, "%016llx%016llx", (unsigned long long)r1,
             (unsigned long long)r2);
    if (state_meta_get_or_set(g->st, "external_id_salt", salt_new, &g->salt, e) != 0)
        return -1;
    g->names = layout_names_new();
    int rc = 0;
    for (size_t i = 0; i < g->n && rc == 0; i++) {
        jobs_job_copy(&g->t[i].job, &g->o->jobs->v[i]);
        rc = task_enter(g, i, g->o->folders ? g->o->folders[i] : NULL,
                        g->o->ext_ids ? g->o->ext_ids[i] : NULL, e);
    }
    if (rc == 0)
        rc = report_flush(g->rep, e);
    return rc;
}

/* Resuming: the tasks from the journal, each where it stopped. */
static int plan_resume(gen_engine *g, vb_error *e)
{
    state_rows *rows = state_gen_rows(g->st, g->batch_id, e);
    if (!rows)
        return -1;
    size_t cap = 0;
    const char *c[12];
    int got;
    while ((got = state_rows_next(rows, c, 12, e)) == 1) {
        if (g->n == cap) {
            cap = cap ? 2 * cap : 64;
            g->t = vb_xrealloc(g->t, cap * sizeof *g->t);
        }
        gtask *t = &g->t[g->n];
        memset(t, 0, sizeof *t);
        if (jobs_job_from_json(c[1] ? c[1] : "", &t->job) != 0) {
            state_rows_free(&rows);
            return vb_fail(e, VB_ERR_IO, "the journal's job %s is unreadable", c[0]);
        }
        g->n++;
        t->seq = strtoll(c[0], NULL, 10);
        snprintf(t->ext_id, sizeof t->ext_id, "%s", c[2] ? c[2] : "");
        t->task_id = c[3] ? vb_xstrdup(c[3]) : NULL;
        const char *gs = c[4] ? c[4] : "pending";
        t->est_units = c[5] ? strtod(c[5], NULL) : 0;
        t->units = c[6] ? strtod(c[6], NULL) : NAN;
        t->leader = c[7] ? strtoll(c[7], NULL, 10) : 0;
        t->folder = c[8] ? vb_xstrdup(c[8]) : NULL;
        t->units_before = c[11] ? strtod(c[11], NULL) : 0;
        if (!(t->units_before > 0) || !isfinite(t->units_before))
            t->units_before = 0;
        const char *item_status = c[9] ? c[9] : "pending";
        task_paths(g, t);
        /* unknown: a create whose answer was lost (no lookup): a retry is
         * the user's decision to send it again. */
        bool gen_failed = !strcmp(gs, "failed") || !strcmp(gs, "refused") ||
                          !strcmp(gs, "timeout") || !strcmp(gs, "unknown");
        if (gen_failed && !strcmp(item_status, "pending") && !t->leader) {
            /* Retried: its generation failed, so it is submitted again
             * under a new external id (the old one is taken). */
            char hex[CRYPTO_SHA256_HEX_LEN + 1];
            char *seed = vb_xasprintf("%s/retry", t->ext_id);
            int hrc = crypto_sha256_hex(seed, strlen(seed), hex, e);
            free(seed);
            if (hrc != 0) {
                state_rows_free(&rows);
                return -1;
            }
            snprintf(t->ext_id, sizeof t->ext_id, "vb-%.32s", hex);
            /* What the attempt given up cost: as charged; a failed one
             * is charged 0 unless the provider said otherwise (set when
             * it failed); one created that timed out, or whose create may
             * have reached the provider, as estimated. */
            bool made = t->task_id || !strcmp(gs, "timeout") || !strcmp(gs, "unknown");
            double spent = !isnan(t->units) ? t->units : made ? t->est_units : 0.0;
            free(t->task_id);
            t->task_id = NULL;
            t->units = NAN;
            gs = "pending";
            /* The rows iterator holds the journal's lock only per call:
             * the update can go in between. */
            if (state_gen_renew(g->st, g->batch_id, t->seq, t->ext_id, spent, e) != 0) {
                state_rows_free(&rows);
                return -1;
            }
            t->units_before += spent;
        }
        /* The budget caps the batch: earlier attempts count. */
        g->committed_units += t->units_before;
        bool open_item = !strcmp(item_status, "pending") || !strcmp(item_status, "running");
        if (open_item && t->folder) {
            /* What a killed run was writing for this item. */
            char *dir = util_path_join(g->o->out_dir, t->folder);
            util_remove_temps(dir, 3);
            free(dir);
        }
        if (!open_item) {
            t->state = G_DONE;
            if (!isnan(t->units))
                commit_units(g, t);
            continue;
        }
        t->state = !strcmp(gs, "downloaded") ? G_READY
                   : t->task_id                ? G_WAIT
                                               : G_LOOKUP;
        /* Created, or maybe: it costs (as estimated until known). */
        if (t->task_id || strcmp(gs, "pending") != 0)
            commit_units(g, t);
        /* A task with no id may have been created by a create call whose
         * answer the crash lost: looked up before anything is sent (a
         * renewed one was never sent: its lookup finds nothing). */
        t->maybe_created = !t->task_id;
        t->never_sent = !strcmp(gs, "pending");
        t->cancelled = !strcmp(gs, "cancelled") && t->task_id;
        if (g->pv->no_lookup && t->never_sent && !t->task_id) {
            /* Journaled as never sent before any create went (committed
             * first): submitted, nothing to look up. */
            t->maybe_created = false;
            t->state = G_QUEUED;
        }
    }
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

static void start_tasks(gen_engine *g)
{
    double now = util_now();
    for (size_t i = 0; i < g->n; i++) {
        gtask *t = &g->t[i];
        if (t->state == G_DONE)
            continue;
        if (t->leader) {
            t->state = G_FOLLOW;
            continue;
        }
        if (t->job.refused)
            continue; /* failed below, once every follower is one */
        if (t->state == G_READY) {
            if (access(t->video_path, F_OK) == 0) {
                hand_over(g, t, NULL);
                followers_end(g, i);
                continue;
            }
            t->state = t->task_id ? G_WAIT : G_LOOKUP;
        }
        if (t->state == G_WAIT) {
            t->counted = true;
            gen_sched_busy(&g->s);
            t->created = now;
            gen_sched_timer_set(&g->s, i, now);
        } else if (t->state == G_LOOKUP) {
            /* Looked up through the submission queue (paced), before any
             * create. */
            queue_push(g, i, false);
        } else if (t->job.image && util_is_url(t->job.image)) {
            start_images(g, i);
        } else if (t->job.image_tail && util_is_url(t->job.image_tail)) {
            start_images(g, i);
        } else {
            queue_push(g, i, false);
        }
    }
    /* Jobs refused when JOBS.csv was read (an image outside the folders
     * allowed): failed at no cost, their image never read. */
    for (size_t i = 0; i < g->n; i++) {
        gtask *t = &g->t[i];
        if (t->job.refused && t->state != G_DONE && !t->leader)
            task_fail(g, i, "refused", "image refused before submission: %s", t->job.refused);
    }
    /* Leaders recorded in an earlier run: their followers end now. */
    for (size_t i = 0; i < g->n; i++) {
        gtask *l = &g->t[i];
        if (l->state != G_DONE)
            continue;
        if (access(l->video_path, F_OK) == 0)
            l->state = G_READY;
        followers_end(g, i);
        l->state = G_DONE;
    }
}

/* ---- jobs added while the engine runs ---- */

/* Tasks not ended, nor following another's: those that take a slot, or
 * will. */
static size_t tasks_open(const gen_engine *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        int st = g->t[i].state;
        n += st != G_READY && st != G_FAILED && st != G_HELD && st != G_DONE && st != G_FOLLOW;
    }
    return n;
}

/* The k jobs of m[] appended to the tasks (seqs n+1 ... n+k), entered in
 * the journal and started as a new batch's are (start_tasks). */
static void tasks_add(gen_engine *g, generate_more_job *m, size_t k)
{
    size_t n0 = g->n, n = n0 + k;
    g->t = vb_xrealloc(g->t, n * sizeof *g->t);
    memset(g->t + n0, 0, k * sizeof *g->t);
    g->due = vb_xrealloc(g->due, n * sizeof *g->due);
    g->held = vb_xrealloc(g->held, n * sizeof *g->held);
    g->wanted = vb_xrealloc(g->wanted, n * sizeof *g->wanted);
    gen_sched_grow(&g->s, n);
    g->n = n;
    vb_error e = {0};
    int rc = 0;
    for (size_t j = 0; j < k; j++) {
        gtask *t = &g->t[n0 + j];
        t->job = m[j].job;
        memset(&m[j].job, 0, sizeof m[j].job);
        if (rc == 0)
            rc = task_enter(g, n0 + j, m[j].folder, m[j].ext_id[0] ? m[j].ext_id : NULL, &e);
        free(m[j].folder);
        m[j].folder = NULL;
        /* Not entered: never started (the journal is failing: the run
         * stops, as when a task's state cannot be journaled). */
        t->state = rc == 0 ? G_QUEUED : G_HELD;
    }
    if (rc == 0)
        rc = report_flush(g->rep, &e);
    if (rc != 0) {
        if (!g->fatal) {
            g->fatal = 1;
            g->fatal_e = e;
        }
        return;
    }
    for (size_t i = n0; i < n; i++) {
        gtask *t = &g->t[i];
        t->batch = g->pv->batch_max > 0 && g->pv->batchable && g->pv->batchable(g->sess, &t->job);
        if (t->leader) {
            t->state = G_FOLLOW;
        } else if (t->job.refused) {
            task_fail(g, i, "refused", "image refused before submission: %s", t->job.refused);
        } else if ((t->job.image && util_is_url(t->job.image)) ||
                   (t->job.image_tail && util_is_url(t->job.image_tail))) {
            start_images(g, i);
        } else {
            queue_push(g, i, false);
        }
    }
}

/* Jobs from o->more while there is room: fewer than max_concurrent tasks
 * open and none waiting in line, nothing held back (a stop, the budget,
 * the credit, the keys). Not asked again within half a second of an
 * answer of none, unless forced (the engine would end). How many were
 * added. */
static size_t feed_more(gen_engine *g, double now, bool force)
{
    const generate_opts *o = g->o;
    if (!o->more || o->resume_id || g->fatal || g->draining || atomic_load(&g->stop) ||
        g->no_credit || g->auth_refused || g->budget_hit || g->hold_reason[0] ||
        gen_sched_queue_len(&g->s) > 0 || (!force && now < g->more_at))
        return 0;
    size_t max = g->cfg->generate.max_concurrent > 0 ? (size_t)g->cfg->generate.max_concurrent
                                                      : 3;
    size_t open = tasks_open(g);
    if (open >= max)
        return 0;
    size_t room = max - open;
    generate_more_job *m = vb_xcalloc(room, sizeof *m);
    size_t got = o->more(o->more_ud, room, m);
    if (got > room)
        got = room;
    if (got > 0)
        tasks_add(g, m, got);
    else
        g->more_at = now + 0.5;
    free(m);
    return got;
}

int generate_is_batch(const char *out_dir, const char *batch_id, vb_error *e)
{
    vb_error ignore;
    /* Read-only: a journal without gen_tasks holds no generate batch. */
    state *st = state_open(out_dir, STATE_READ, e);
    if (!st)
        return -1;
    state_batch b = {0};
    int rc = state_batch_get(st, batch_id, &b, e);
    if (rc == 0) {
        state_rows *r = state_gen_rows(st, b.id, &ignore);
        const char *c[1];
        if (r && state_rows_next(r, c, 1, &ignore) == 1)
            rc = 1;
        state_rows_free(&r);
    }
    state_batch_clear(&b);
    state_close(&st);
    return rc;
}

/* Could not start: why, into res. Returns -1. */
static int gen_not_started(generate_result *res, bool usage, const char *why)
{
    res->started = false;
    res->usage = usage;
    snprintf(res->why, sizeof res->why, "%s", why);
    return -1;
}

/* The provider, its session, the output folder and the journal: a
 * failure here is the configuration's or the folder's (exit 2). */
static int gen_open(gen_engine *g, generate_result *res)
{
    const generate_opts *o = g->o;
    const vb_config *cfg = g->cfg;
    vb_error e = {0};
    /* No provider recorded (NULL): the default one. */
    g->pv = o->provider ? o->provider : provider_find(cfg->generate.provider);
    if (!g->pv) {
        snprintf(e.msg, sizeof e.msg, "unknown provider %s", cfg->generate.provider);
        return gen_not_started(res, true, e.msg);
    }
    g->sess = g->pv->session_new(cfg, &e);
    if (!g->sess)
        return gen_not_started(res, true, e.msg);
    g->ep = g->pv->session_endpoint(g->sess);
    if (util_mkdir_p(o->out_dir, &e) != 0)
        return gen_not_started(res, true, e.msg);
    if (o->resume_id) {
        g->rep = report_reopen(o->out_dir, o->resume_id, o->requeue, &e);
    } else {
        char id[64];
        batch_make_id(id, sizeof id);
        vb_strlist inputs = {0};
        vb_strlist_add(&inputs, o->jobs_path ? o->jobs_path : "");
        if (o->shard_n > 0) {
            char *sh = vb_xasprintf("--shard %d/%d", o->shard_k, o->shard_n);
            vb_strlist_add(&inputs, sh);
            free(sh);
        }
        report_batch_info info = { .batch_id = id, .command_line = o->command_line,
                                   .config = cfg, .inputs = &inputs };
        g->rep = report_open(o->out_dir, &info, &e);
        vb_strlist_clear(&inputs);
    }
    if (!g->rep)
        return gen_not_started(res, true, e.msg);
    g->st = report_journal(g->rep);
    g->batch_id = vb_xstrdup(report_batch_id(g->rep));
    return 0;
}

/* Every task entered in the journal (or read back from it), the
 * scheduler and the network ready: a failure here is the journal's or
 * the network's (exit 3). */
static int gen_prepare(gen_engine *g, generate_result *res)
{
    const vb_config *cfg = g->cfg;
    vb_error e = {0};
    if (state_gen_prepare(g->st, &e) != 0)
        return gen_not_started(res, false, e.msg);
    if (g->o->resume_id) {
        if (plan_resume(g, &e) != 0)
            return gen_not_started(res, false, e.msg);
    } else {
        g->n = g->o->jobs->n;
        g->t = vb_xcalloc(g->n ? g->n : 1, sizeof *g->t);
        if (plan_new(g, &e) != 0)
            return gen_not_started(res, false, e.msg);
    }
    /* Shared limits: the rate is the shared bucket's alone. */
    gen_sched_init(&g->s, g->n,
                   cfg->generate.max_concurrent > 0 ? cfg->generate.max_concurrent : 3,
                   g->o->shared ? 0 : cfg->generate.rpm, util_now());
    g->due = vb_xcalloc(g->n ? g->n : 1, sizeof *g->due);
    g->held = vb_xcalloc(g->n ? g->n : 1, sizeof *g->held);
    g->wanted = vb_xcalloc(g->n ? g->n : 1, sizeof *g->wanted);
    for (size_t i = 0; i < g->n; i++)
        g->t[i].batch = g->pv->batch_max > 0 && g->pv->batchable &&
                        g->pv->batchable(g->sess, &g->t[i].job);
    g->net = net_new(&e);
    if (!g->net)
        return gen_not_started(res, false, e.msg);
    return 0;
}

static void gen_free(gen_engine *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->t[i].slot)
            uncount(g, &g->t[i]); /* a held task's slot, for the others */
    if (g->sess)
        g->pv->session_free(&g->sess);
    for (size_t i = 0; i < g->n; i++) {
        gtask *t = &g->t[i];
        jobs_job_clear(&t->job);
        free(t->folder); free(t->task_id); free(t->url); free(t->image_local);
        free(t->tail_local); free(t->video_path); free(t->pstatus); free(t->error);
    }
    for (size_t i = 0; i < g->nready; i++)
        batch_item_clear(&g->ready[i]);
    free(g->ready);
    free(g->t);
    free(g->due);
    free(g->held);
    free(g->wanted);
    gen_sched_free(&g->s);
    layout_names_free(&g->names);
    free(g->salt);
    net_free(&g->net);
    report_free(&g->rep);
    free(g->batch_id);
    free(g);
}

int generate_run(const generate_opts *o, generate_result *res)
{
    memset(res, 0, sizeof *res);
    gen_engine *g = vb_xcalloc(1, sizeof *g);
    res->engine = g;
    g->o = o;
    g->cfg = o->config;
    g->rng = (uint64_t)util_now() * 1000003u ^ (uint64_t)getpid() << 20 ^ 0x9E3779B97F4A7C15ull;
    if (gen_open(g, res) != 0 || gen_prepare(g, res) != 0)
        return -1;
    snprintf(res->batch_id, sizeof res->batch_id, "%s", g->batch_id);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->mu_ready = true;
    /* Before anything is sent (start_tasks starts image downloads). */
    if (gen_check_balance(g, res) != 0)
        return -1;
    start_tasks(g);

    /* SIGINT and SIGTERM are the batch's signal thread's (batch-watch.c):
     * a thread started before it blocks them would take them and drop
     * them, so this one starts with them blocked. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    int trc = pthread_create(&g->thread, NULL, gen_thread, g);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (trc != 0) {
        msg_error("cannot start the network thread");
        abort();
    }
    g->thread_started = true;
    batch_feed feed = { .next = feed_next, .stop = feed_stop, .held = feed_held, .ud = g };
    batch_opts bo = {
        .config = g->cfg, .out_dir = o->out_dir, .command_line = o->command_line,
        .jobs = o->jobs_threads, .feed = &feed, .rep = g->rep,
        .resume_id = o->resume_id, .observer = o->observer, .summary_out = o->summary_out,
        .no_signals = o->stopping != NULL,
    };
    /* The batch engine ends the batch: reports, summary. The network
     * thread may still be finishing what was in flight (a batch that
     * stopped): generate_end waits for it. */
    batch_run(&bo, &res->batch);
    res->started = true;
    return 0;
}

void generate_end(generate_result *res)
{
    gen_engine *g = res->engine;
    if (!g)
        return;
    if (g->thread_started) {
        pthread_join(g->thread, NULL);
        /* Refused keys are a configuration error, not an interruption;
         * the batch is left interrupted all the same, to be resumed. */
        res->auth_refused = g->auth_refused;
        if (g->fatal) {
            res->journal_failed = true;
            snprintf(res->journal_why, sizeof res->journal_why, "%s", g->fatal_e.msg);
        }
        res->creates = g->n_create;
        res->polls = g->n_poll;
        res->lookups = g->n_lookup;
        res->downloads = g->n_download;
        res->retries = g->n_retry;
        res->released = g->n_released;
        res->mispredicted = g->n_mispredicted;
    }
    if (g->mu_ready) {
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
    }
    gen_free(g);
    res->engine = NULL;
}

int generate_exit_status(const generate_result *res)
{
    if (!res->started)
        return res->usage ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    if (res->auth_refused)
        return VB_EXIT_USAGE;
    return batch_exit_status(&res->batch);
}
