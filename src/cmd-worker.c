/* cmd-worker.c - `vbatch worker`: a consumer of a queue's items (queue.h)
 * on one host. --jobs N threads each take an item, run it down the
 * ordinary road of stages (item_run, as the batch engine does) into the
 * output folder; a finisher thread of its own records each result in the
 * queue and acknowledges it, as the batch engine's main thread records
 * while its workers go on, so that the next item waits neither for the
 * record's encoding nor for Redis's reply. A thread whose
 * items are quick takes some ahead in one call, about 50 ms of work at
 * most, so that a batch of small files does not wait for Redis between
 * items, while slow items are still spread over the workers one at a
 * time. The
 * main thread keeps the leases (the claims of the items being worked on
 * renewed, with the stage each is in, which becomes its last error should
 * this process die) and the signals: a first SIGTERM or SIGINT takes no
 * new item and gives the running ones [batch] grace_period to finish,
 * then stops them and hands them back for another worker.
 *
 * Generation jobs (`vbatch enqueue JOBS.csv`): a thread that takes one
 * takes up to the account's max_concurrent at once and runs them through
 * one generate engine (generate.c) in a private folder, OUT/.vbatch-work/,
 * which asks for more as its slots free up (the thread's group goes on
 * while the queue has jobs, rather than waiting for its slowest one),
 * with the account's limits and the creates' claims shared through the
 * queue (gen_shared over queue_gen_*); each item recorded is moved into
 * OUT and its result recorded in the queue like a processed item's. */
#include "config.h"
#include "batch.h"
#include "generate.h"
#include "jobs.h"
#include "cmd.h"
#include "item.h"
#include "msg.h"
#include "queue.h"
#include "report.h"
#include "report-record.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const cmd_option cmd_worker_options[] = {
    { "queue", 'Q', "URL", "redis://[user@]host:port/DB/NAME (default: $VBATCH_QUEUE); the password from $VBATCH_REDIS_PASSWORD or the 0600 file $VBATCH_REDIS_PASSWORD_FILE" },
    { "output", 'o', "DIR", "the batch's output folder, shared by the workers (default: vbatch-out)" },
    { "jobs", 'j', "N", "items worked on at once (default: [batch] jobs, else the number of cores)" },
    { "drain", 0, NULL, "exit once every item is done (default: wait for more, as a service)" },
    { "name", 0, "NAME", "this worker's name in the consumer group (default: HOST-PID)" },
    { "reconnect", 0, "SECONDS", "how long a lost connection to Redis is tried again before the worker gives up (default 300)" },
    { "quiet", 'q', NULL, "print nothing but errors" },
    { "verbose", 'v', NULL, "print a line for every item" },
    { NULL, 0, NULL, NULL },
};

typedef struct worker worker;

/* An item run, its result for the finisher to record. */
typedef struct worker_ran {
    queue_task t;                /* owned */
    item *it;                    /* owned */
} worker_ran;

#define WORKER_RAN_MAX 64        /* results waiting: the item threads wait beyond */

typedef struct worker_slot {
    worker *w;
    pthread_t th;
    /* Under w->mu: the item being worked on, for the leases. */
    const queue_task *task;
    const item *it;
    queue_task held[QUEUE_TAKE_MAX]; /* taken ahead, not started (nheld) */
    size_t nheld;
    struct worker_group *group;   /* generation jobs in flight, NULL: none */
    int groups;                   /* groups run, for their folders' names */
    bool ended;
} worker_slot;

struct worker {
    const vb_config *cfg;
    const char *out_dir;
    const queue_url *u;
    char *consumer;
    report_queued s;
    int jobs, reconnect;
    bool drain;
    item_env env;
    atomic_int stopping;          /* take no new item */
    atomic_int abort;             /* grace period over: running items stop */
    pthread_mutex_t mu;
    worker_slot *slots;
    int64_t done, failed, handed_back, again;
    bool fatal;                   /* a thread could not go on: the worker ends */
    char *doing;                  /* a taken item's last error (worker_doing) */
    /* The finisher: under fmu. */
    pthread_mutex_t fmu;
    pthread_cond_t fcond;
    worker_ran ran[WORKER_RAN_MAX]; /* a ring: nran from first */
    size_t first, nran;
    bool fbusy;                   /* recording, or replies not read yet */
    bool fend;                    /* no more results: record what is left, end */
    queue *fq;                    /* the finisher's connection */
};

static bool worker_stopping(void *ud)
{
    worker *w = ud;
    return atomic_load(&w->stopping) || atomic_load(&w->abort);
}

/* A generation group's question (generate_opts.stopping): after a
 * SIGTERM, the tasks created go on and nothing new is sent; after the
 * grace period, the group stops and hands back what is not recorded. */
static int worker_gen_stopping(void *ud)
{
    worker *w = ud;
    return atomic_load(&w->abort) ? GEN_HAND_BACK : atomic_load(&w->stopping) ? GEN_DRAIN : GEN_GO;
}

static int worker_decode_threads(void *ud, bool analysis, double duration)
{
    worker *w = ud;
    return batch_decode_threads(w->jobs, util_ncpu(), w->jobs, false, analysis, duration);
}

/* Sleep up to s seconds, less once the worker stops. */
static void worker_nap(worker *w, double s)
{
    for (double t = 0; t < s && !atomic_load(&w->stopping); t += 0.05) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* What an item delivered to this worker is doing, for its last error;
 * t NULL: the text for queue_take, "%d" for the delivery count. */
static char *worker_doing(const worker *w, const queue_task *t, const item *it)
{
    int st = it ? atomic_load(&it->clock.stage) : -1;
    char *where = st >= 0 && st < STAGE_COUNT
                      ? vb_xasprintf("while it was in the %s stage", report_stage_name(st))
                      : vb_xstrdup("before its first stage");
    char *n = t ? vb_xasprintf("%d", t->deliveries) : vb_xstrdup("%d");
    char *s = vb_xasprintf("delivery %s to worker %s ended without a result %s (the worker "
                           "was killed or crashed)", n, w->consumer, where);
    free(n);
    free(where);
    return s;
}

/* One item down the road; its result recorded and acknowledged, or the
 * item handed back when the worker stopped it. */
static void worker_item(worker *w, worker_slot *s, queue *q, queue_task *t)
{
    item *it = item_new();
    it->seq = t->seq;
    it->en.path = vb_xstrdup(t->path);
    it->en.rel = vb_xstrdup(t->rel);
    it->en.is_url = util_is_url(t->path);
    it->folder = t->folder ? vb_xstrdup(t->folder) : NULL;
    if (t->error || !it->folder) {
        it->en.error = VB_ERR_IO;
        it->en.errmsg = vb_xstrdup(t->error ? t->error : "the queue entry gives no folder");
    }
    it->env = &w->env;
    const batch_config *b = &w->cfg->batch;
    mediaio_clock_start(&it->clock, b->item_timeout, b->stall_timeout, &w->abort);
    pthread_mutex_lock(&w->mu);
    s->task = t;
    s->it = it;
    pthread_mutex_unlock(&w->mu);
    item_run(it, NULL, w->cfg);
    pthread_mutex_lock(&w->mu);
    s->task = NULL;
    s->it = NULL;
    pthread_mutex_unlock(&w->mu);
    vb_error e = {0};
    char *src = msg_printable_dup(it->rec.source ? it->rec.source : t->path);
    if (it->aborted) {
        if (queue_handback(q, t, &e) != 0)
            msg_error("item %lld (%s) not handed back: %s (another worker takes it after the "
                      "visibility timeout)", (long long)t->seq, src, e.msg);
        else
            msg_note("item %lld (%s) handed back", (long long)t->seq, src);
        pthread_mutex_lock(&w->mu);
        w->handed_back++;
        pthread_mutex_unlock(&w->mu);
    } else {
        pthread_mutex_lock(&w->fmu);
        while (w->nran == WORKER_RAN_MAX)
            pthread_cond_wait(&w->fcond, &w->fmu);
        worker_ran *r = &w->ran[(w->first + w->nran++) % WORKER_RAN_MAX];
        r->t = *t;
        r->it = it;
        memset(t, 0, sizeof *t);
        it = NULL;
        pthread_cond_broadcast(&w->fcond);
        pthread_mutex_unlock(&w->fmu);
    }
    free(src);
    item_free(&it);
}

/* The finisher: the results of the items run, recorded in turn. */
static void *worker_finisher(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->fmu);
    for (;;) {
        if (w->nran == 0) {
            if (w->fbusy) {
                /* Nothing to record: the replies of what was sent. */
                pthread_mutex_unlock(&w->fmu);
                vb_error e = {0};
                if (queue_flush(w->fq, &e) != 0)
                    msg_error("%s", e.msg);
                pthread_mutex_lock(&w->fmu);
                w->fbusy = w->nran > 0;
                pthread_cond_broadcast(&w->fcond);
                continue;
            }
            if (w->fend)
                break;
            pthread_cond_wait(&w->fcond, &w->fmu);
            continue;
        }
        worker_ran r = w->ran[w->first];
        w->first = (w->first + 1) % WORKER_RAN_MAX;
        w->nran--;
        w->fbusy = true;
        pthread_cond_broadcast(&w->fcond);
        pthread_mutex_unlock(&w->fmu);
        char *rec = report_record_encode(&r.it->rec);
        char *src = msg_printable_dup(r.it->rec.source ? r.it->rec.source : r.t.path);
        vb_error e = {0};
        /* Its reply comes to worker_finished; a failure to reach Redis
         * has been given there too. */
        queue_finish_async(w->fq, &r.t, rec, src, r.it->rec.status, &e);
        free(rec);
        free(src);
        item_free(&r.it);
        queue_task_clear(&r.t);
        pthread_mutex_lock(&w->fmu);
    }
    pthread_mutex_unlock(&w->fmu);
    return NULL;
}

/* Until every result handed to the finisher is recorded: 1 if there
 * was one (the queue may say more now), 0 if none. */
static int worker_finisher_wait(worker *w)
{
    pthread_mutex_lock(&w->fmu);
    int was = w->nran > 0 || w->fbusy;
    while (w->nran > 0 || w->fbusy)
        pthread_cond_wait(&w->fcond, &w->fmu);
    pthread_mutex_unlock(&w->fmu);
    return was;
}

/* The reply to an item's finish (queue_finish_async). */
static void worker_finished(void *ud, int64_t seq, const char *src, int status, int got,
                            const vb_error *e)
{
    worker *w = ud;
    if (got < 0)
        /* Not acknowledged: delivered again after the visibility
         * timeout, and recorded then. */
        msg_error("item %lld (%s): its result could not be recorded: %s", (long long)seq,
                  src ? src : "?", e->msg);
    else
        msg_verbose("%s %s%s", report_status_name(status), src ? src : "?",
                    got == 0 ? " (recorded before: kept once)" : "");
    pthread_mutex_lock(&w->mu);
    if (got == 1)
        status == ITEM_FAILED ? w->failed++ : w->done++;
    else if (got == 0)
        w->again++;
    pthread_mutex_unlock(&w->mu);
}

static void worker_renew(worker *w, queue *q);

/* ---- generation jobs ---- */

/* What the engine's shared limiter and claims are for one group: the
 * queue's, over a connection of the network thread's own. */
typedef struct worker_shared {
    queue *q;
    queue_limits lim;
} worker_shared;

static int worker_sh_acquire(void *ud, const char *ext, double *wait, vb_error *e)
{
    worker_shared *sh = ud;
    return queue_gen_acquire(sh->q, &sh->lim, ext, wait, e);
}

static void worker_sh_release(void *ud, const char *ext)
{
    worker_shared *sh = ud;
    vb_error e = {0};
    /* Not released: its lease ends it. */
    if (queue_gen_release(sh->q, ext, &e) != 0)
        msg_warn("an account slot could not be released (its lease frees it): %s", e.msg);
}

static int worker_sh_claim(void *ud, const char *ext, char **task_id, char **by, vb_error *e)
{
    worker_shared *sh = ud;
    return queue_gen_claim(sh->q, ext, task_id, by, e);
}

static void worker_sh_created(void *ud, const char *ext, const char *task_id)
{
    worker_shared *sh = ud;
    vb_error e = {0};
    if (queue_gen_created(sh->q, ext, task_id, &e) != 0)
        /* The next delivery looks it up by its external id instead. */
        msg_warn("the task id of %s could not be kept with its claim: %s", ext, e.msg);
}

static bool worker_sh_unclaim(void *ud, const char *ext)
{
    worker_shared *sh = ud;
    vb_error e = {0};
    int rc = queue_gen_unclaim(sh->q, ext, &e);
    if (rc < 0)
        /* Kept: a later delivery takes it for a create that may have
         * been sent (looked up, or ended unknown where it cannot be). */
        msg_warn("the claim of %s, refused and not made, could not be dropped: %s", ext, e.msg);
    return rc == 1;
}

/* A generation job of a group: its queue entry, and whether its result
 * is recorded. */
typedef struct worker_job {
    queue_task t;
    bool finished;
} worker_job;

/* One group's jobs, in the engine's order (seq k+1 is v[k]). The network
 * thread adds jobs while the engine runs (worker_gen_more) as the
 * group's thread records them and the main thread renews their leases:
 * v and n change under w->mu (each job stays where it is). */
typedef struct worker_group {
    worker *w;
    worker_slot *s;
    queue *q;                     /* the group's thread's connection */
    worker_shared *sh;            /* the network thread's */
    worker_job **v;
    size_t n, cap;
    const char *dir;              /* the group's private folder */
    bool took_file;               /* a file to process was taken: no more jobs */
} worker_group;

static int worker_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb; (void)flag; (void)f;
    remove(path);
    return 0;
}

/* Remove a folder of vbatch's own (never a user's) and what it holds. */
static void worker_rmtree(const char *dir)
{
    nftw(dir, worker_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Put a group's result where the item belongs and record it in the queue
 * (over q, the calling thread's connection): true once it is recorded. */
static bool worker_gen_record(worker_group *g, queue *q, const queue_task *t,
                              const item_record *rec)
{
    worker *w = g->w;
    vb_error e = {0};
    if (t->folder) {
        char *from = util_path_join(g->dir, t->folder);
        char *to = util_path_join(w->out_dir, t->folder);
        if (access(from, F_OK) == 0) {
            /* A delivery that died there left its folder: this one's wins. */
            worker_rmtree(to);
            if (rename(from, to) != 0)
                msg_error("item %lld: %s cannot be moved to %s: %s", (long long)t->seq, from,
                          to, strerror(errno));
        }
        free(from);
        free(to);
    }
    char *enc = report_record_encode(rec);
    int got = queue_finish(q, t, enc, &e);
    free(enc);
    char *src = msg_printable_dup(t->path);
    if (got < 0)
        msg_error("item %lld (%s): its result could not be recorded: %s", (long long)t->seq,
                  src, e.msg);
    else
        msg_verbose("%s %s%s", report_status_name(rec->status), src,
                    got == 0 ? " (recorded before: kept once)" : "");
    free(src);
    pthread_mutex_lock(&w->mu);
    if (got == 1)
        rec->status == ITEM_FAILED ? w->failed++ : w->done++;
    else if (got == 0)
        w->again++;
    pthread_mutex_unlock(&w->mu);
    return got >= 0;
}

static void worker_gen_recorded(void *ud, const item *it, bool out_stop)
{
    (void)out_stop;
    worker_group *g = ud;
    pthread_mutex_lock(&g->w->mu);
    worker_job *j = it->seq >= 1 && (size_t)it->seq <= g->n ? g->v[it->seq - 1] : NULL;
    pthread_mutex_unlock(&g->w->mu);
    if (j && !j->finished)
        j->finished = worker_gen_record(g, g->q, &j->t, &it->rec);
}

/* A job whose entry cannot be read: failed, recorded over q, never sent. */
static void worker_gen_bad(worker_group *g, queue *q, const queue_task *t, const char *why)
{
    item *it = item_new();
    it->rec.status = ITEM_FAILED;
    it->rec.error_stage = STAGE_GENERATE;
    it->rec.error = vb_xstrdup(why);
    it->rec.folder = t->folder ? vb_xstrdup(t->folder) : NULL;
    it->rec.duration = it->rec.fps = NAN;
    for (int k = 0; k < STAGE_COUNT; k++)
        it->rec.stage_time[k] = NAN;
    /* Not recorded: delivered again after the visibility timeout. */
    worker_gen_record(g, q, t, &it->rec);
    item_free(&it);
}

/* Entry x (a generation job, taken over q) joins the group, its job read
 * into *j: the job, or NULL when its entry cannot be read (recorded
 * failed, never sent). x is taken over either way. */
static worker_job *worker_gen_add(worker_group *g, queue *q, queue_task *x, gen_job *j)
{
    if (!x->folder || jobs_job_from_json(x->job, j) != 0) {
        jobs_job_clear(j);
        worker_gen_bad(g, q, x, "the queue entry's job is not one vbatch enqueue makes");
        queue_task_clear(x);
        return NULL;
    }
    worker_job *wj = vb_xcalloc(1, sizeof *wj);
    wj->t = *x;
    memset(x, 0, sizeof *x);
    pthread_mutex_lock(&g->w->mu);
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->v = vb_xrealloc(g->v, g->cap * sizeof *g->v);
    }
    g->v[g->n++] = wj;
    pthread_mutex_unlock(&g->w->mu);
    return wj;
}

/* One more job for the group, taken over q without waiting: the job
 * (*j read), or NULL when there is none now, the worker stops, or a
 * file to process came instead (held as one taken ahead, for after the
 * group: no more jobs are taken for it). */
static worker_job *worker_gen_take(worker_group *g, queue *q, gen_job *j)
{
    worker *w = g->w;
    while (!g->took_file && !atomic_load(&w->stopping)) {
        bool empty = false;
        vb_error e = {0};
        queue_task x;
        int got = queue_take(q, w->s.visibility, w->s.max_deliveries, w->doing, &x, &empty, &e);
        if (got < 0 && e.code == VB_ERR_MEDIA) {
            msg_error("%s", e.msg);
            continue;
        }
        if (got < 0)
            msg_error("%s", e.msg);
        if (got <= 0)
            return NULL;
        if (!x.job) {
            g->took_file = true;
            pthread_mutex_lock(&w->mu);
            bool room = g->s->nheld < QUEUE_TAKE_MAX;
            if (room)
                g->s->held[g->s->nheld++] = x;
            pthread_mutex_unlock(&w->mu);
            if (!room && queue_handback(q, &x, &e) != 0)
                msg_error("item %lld not handed back: %s", (long long)x.seq, e.msg);
            if (!room)
                queue_task_clear(&x);
            return NULL;
        }
        worker_job *wj = worker_gen_add(g, q, &x, j);
        if (wj)
            return wj;
    }
    return NULL;
}

/* generate_opts.more, on the engine's network thread (its connection):
 * a slot the group's jobs leave free is given to the next job in the
 * queue at once, not once the slowest of them ends. */
static size_t worker_gen_more(void *ud, size_t room, generate_more_job *out)
{
    worker_group *g = ud;
    size_t n = 0;
    worker_job *wj;
    while (n < room && (wj = worker_gen_take(g, g->sh->q, &out[n].job))) {
        snprintf(out[n].ext_id, sizeof out[n].ext_id, "%s", wj->t.ext ? wj->t.ext : "");
        out[n].folder = vb_xstrdup(wj->t.folder);
        n++;
    }
    return n;
}

/* Generation jobs, the first one taken already, through one generate
 * engine: up to max_concurrent at first, then more as slots free up
 * (worker_gen_more) until the queue has none or the worker stops; those
 * not recorded when it ends are handed back. */
static void worker_gen(worker *w, worker_slot *s, queue *q, queue_task *first)
{
    const vb_config *cfg = w->cfg;
    size_t k = cfg->generate.max_concurrent > 0 ? (size_t)cfg->generate.max_concurrent : 3;
    char *work = util_path_join(w->out_dir, ".vbatch-work");
    pthread_mutex_lock(&w->mu);
    int gno = ++s->groups;
    pthread_mutex_unlock(&w->mu);
    char *leaf = vb_xasprintf("%s-%d-%d", w->consumer, (int)(s - w->slots), gno);
    char *dir = util_path_join(work, leaf);
    free(leaf);
    worker_shared wsh = { .lim = { .max_concurrent = (int)k, .rpm = cfg->generate.rpm,
                                   .lease = w->s.visibility } };
    worker_group g = { .w = w, .s = s, .q = q, .sh = &wsh, .dir = dir };
    pthread_mutex_lock(&w->mu);
    s->group = &g;
    pthread_mutex_unlock(&w->mu);
    gen_jobs jobs = { .v = vb_xcalloc(k, sizeof *jobs.v) };
    if (worker_gen_add(&g, q, first, &jobs.v[0]))
        jobs.n++;
    while (jobs.n < k && worker_gen_take(&g, q, &jobs.v[jobs.n]))
        jobs.n++;
    /* Their leases at once: what they are doing, should this process die. */
    worker_renew(w, q);

    const char **exts = vb_xcalloc(k, sizeof *exts), **folders = vb_xcalloc(k, sizeof *folders);
    for (size_t i = 0; i < jobs.n; i++) {
        exts[i] = g.v[i]->t.ext;
        folders[i] = g.v[i]->t.folder;
    }
    vb_error e = {0};
    wsh.q = jobs.n ? queue_open(w->u, w->consumer, w->reconnect, &e) : NULL;
    if (jobs.n && !wsh.q)
        msg_error("%s", e.msg);
    if (wsh.q && util_mkdir_p(dir, &e) != 0) {
        msg_error("%s", e.msg);
        queue_close(&wsh.q);
    }
    if (wsh.q) {
        gen_shared sh = { .acquire = worker_sh_acquire, .release = worker_sh_release,
                          .claim = worker_sh_claim, .created = worker_sh_created,
                          .unclaim = worker_sh_unclaim, .ud = &wsh };
        batch_observer obs = { .recorded = worker_gen_recorded, .ud = &g };
        generate_opts go = {
            .jobs_path = queue_name(q), .out_dir = dir, .config = cfg, .jobs = &jobs,
            .unique = jobs.n, .command_line = w->s.command_line, .jobs_threads = 1,
            .observer = &obs, .shared = &sh, .ext_ids = exts, .folders = folders,
            .stopping = worker_gen_stopping, .stopping_ud = w,
            .more = worker_gen_more, .more_ud = &g,
        };
        generate_result res;
        if (generate_run(&go, &res) != 0)
            msg_error("the generation of %zu jobs could not start: %s", jobs.n, res.why);
        generate_end(&res);
        queue_close(&wsh.q);
    }
    /* Not recorded (held by the engine, or it could not start): for
     * another delivery, which finds their claims. */
    pthread_mutex_lock(&w->mu);
    s->group = NULL;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < g.n; i++) {
        if (g.v[i]->finished)
            continue;
        if (queue_handback(q, &g.v[i]->t, &e) != 0)
            msg_error("item %lld not handed back: %s", (long long)g.v[i]->t.seq, e.msg);
        pthread_mutex_lock(&w->mu);
        w->handed_back++;
        pthread_mutex_unlock(&w->mu);
    }
    worker_rmtree(dir);
    rmdir(work); /* when no other group uses it */
    for (size_t i = 0; i < g.n; i++) {
        queue_task_clear(&g.v[i]->t);
        free(g.v[i]);
    }
    free(g.v);
    jobs_free(&jobs);
    free(exts);
    free(folders);
    free(dir);
    free(work);
}

/* How many items to take at once, from the last items' mean time: 50 ms
 * of work at most held ahead, none when they take that long. */
static size_t worker_want(const worker *w, double mean)
{
    if (atomic_load(&w->stopping) || mean <= 0)
        return 1;
    double n = 1 + floor(0.05 / mean);
    return n >= QUEUE_TAKE_MAX ? QUEUE_TAKE_MAX : (size_t)n;
}

/* Give back the items taken ahead and not started (the worker stops). */
static void worker_handback_held(worker *w, worker_slot *s, queue *q)
{
    pthread_mutex_lock(&w->mu);
    size_t n = s->nheld;
    queue_task held[QUEUE_TAKE_MAX];
    memcpy(held, s->held, n * sizeof *held);
    s->nheld = 0;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        vb_error e = {0};
        if (queue_handback(q, &held[i], &e) != 0)
            msg_error("item %lld not handed back: %s (another worker takes it after the "
                      "visibility timeout)", (long long)held[i].seq, e.msg);
        queue_task_clear(&held[i]);
    }
    if (n)
        msg_note("%zu item%s taken ahead handed back", n, n == 1 ? "" : "s");
    pthread_mutex_lock(&w->mu);
    w->handed_back += (int64_t)n;
    pthread_mutex_unlock(&w->mu);
}

static void *worker_thread(void *arg)
{
    worker_slot *s = arg;
    worker *w = s->w;
    vb_error e = {0};
    queue *q = queue_open(w->u, w->consumer, w->reconnect, &e);
    if (!q) {
        msg_error("%s", e.msg);
        pthread_mutex_lock(&w->mu);
        w->fatal = true;
        pthread_mutex_unlock(&w->mu);
    }
    double mean = 0;              /* an item's time, smoothed */
    while (q && !atomic_load(&w->stopping)) {
        if (s->nheld == 0) {
            queue_task got_t[QUEUE_TAKE_MAX];
            size_t n = 0;
            bool empty = false;
            e = (vb_error){0};
            int got = queue_take_n(q, w->s.visibility, w->s.max_deliveries, w->doing,
                                   worker_want(w, mean), got_t, &n, &empty, &e);
            if (e.code == VB_ERR_MEDIA)
                msg_error("%s", e.msg);
            if (got < 0 && e.code == VB_ERR_MEDIA)
                continue;
            if (got < 0) {
                msg_error("%s", e.msg);
                pthread_mutex_lock(&w->mu);
                w->fatal = true;
                pthread_mutex_unlock(&w->mu);
                atomic_store(&w->stopping, 1);
                break;
            }
            if (n == 0) {
                if (empty && w->drain)
                    break;
                /* Nothing now: what is sent ahead is answered meanwhile.
                 * The last results still to record keep the queue from
                 * being empty: asked again as soon as they are. */
                if (queue_flush(q, &e) != 0)
                    msg_error("%s", e.msg);
                if (!worker_finisher_wait(w))
                    worker_nap(w, 0.25);
                continue;
            }
            pthread_mutex_lock(&w->mu);
            memcpy(s->held, got_t, n * sizeof *got_t);
            s->nheld = n;
            pthread_mutex_unlock(&w->mu);
        }
        queue_task t;
        pthread_mutex_lock(&w->mu);
        t = s->held[0];
        memmove(s->held, s->held + 1, --s->nheld * sizeof *s->held);
        pthread_mutex_unlock(&w->mu);
        double t0 = util_now();
        if (t.held) {
            char *doing = worker_doing(w, &t, NULL);
            if (queue_start(q, &t, doing, &e) != 0)
                msg_error("%s", e.msg);
            free(doing);
        }
        if (t.job) {
            /* A file taken meanwhile is held: the next one here. */
            worker_gen(w, s, q, &t);
        } else {
            worker_item(w, s, q, &t);
        }
        double dt = util_now() - t0;
        mean = mean > 0 ? 0.8 * mean + 0.2 * dt : dt;
        queue_task_clear(&t);
    }
    if (q) {
        worker_handback_held(w, s, q);
        if (queue_flush(q, &e) != 0)
            msg_error("%s", e.msg);
    }
    queue_close(&q);
    pthread_mutex_lock(&w->mu);
    s->ended = true;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Renew the claims of every item being worked on. */
static void worker_renew(worker *w, queue *q)
{
    size_t n = 0, k = (size_t)w->jobs, ng = 0;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->jobs; i++)
        k += (w->slots[i].group ? w->slots[i].group->n : 0) + w->slots[i].nheld;
    char **ids = vb_xcalloc(k, sizeof *ids), **doing = vb_xcalloc(k, sizeof *doing);
    char **exts = vb_xcalloc(k, sizeof *exts);
    int64_t *seqs = vb_xcalloc(k, sizeof *seqs);
    for (int i = 0; i < w->jobs; i++) {
        const worker_slot *s = &w->slots[i];
        for (size_t j = 0; s->group && j < s->group->n; j++) {
            const queue_task *gt = &s->group->v[j]->t;
            ids[n] = vb_xstrdup(gt->id);
            seqs[n] = gt->seq;
            doing[n++] = vb_xasprintf("delivery %d to worker %s ended without a result while "
                                      "it was generating (its create is claimed: the next "
                                      "delivery polls or looks it up, never sends it again)",
                                      gt->deliveries, w->consumer);
            exts[ng++] = vb_xstrdup(gt->ext);
        }
        for (size_t j = 0; j < s->nheld; j++) {
            /* Their last error left as it is: not started. */
            ids[n] = vb_xstrdup(s->held[j].id);
            seqs[n] = s->held[j].seq;
            doing[n++] = vb_xstrdup("");
        }
        if (!s->task)
            continue;
        ids[n] = vb_xstrdup(s->task->id);
        seqs[n] = s->task->seq;
        doing[n++] = worker_doing(w, s->task, s->it);
    }
    pthread_mutex_unlock(&w->mu);
    vb_error e = {0};
    if (n && queue_renew(q, (const char *const *)ids, seqs, (const char *const *)doing, n,
                         &e) != 0)
        msg_warn("the leases could not be renewed: %s", e.msg);
    /* The account slots of the tasks running: a dead worker's expire. */
    if (ng && queue_gen_renew(q, (const char *const *)exts, ng, w->s.visibility, &e) != 0)
        msg_warn("the account slots' leases could not be renewed: %s", e.msg);
    for (size_t i = 0; i < ng; i++)
        free(exts[i]);
    free(exts);
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(doing[i]);
    }
    free(ids);
    free(doing);
    free(seqs);
}

static int worker_live(worker *w)
{
    int live = 0;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->jobs; i++)
        live += !w->slots[i].ended;
    pthread_mutex_unlock(&w->mu);
    return live;
}

/* The main thread: leases and signals until every thread has ended. 
 * Returns the signal that stopped the worker, or 0. */
static int worker_watch(worker *w, queue *q, const sigset_t *sigs)
{
    double every = fmax(0.5, w->s.visibility / 4), next = util_now() + every;
    double grace_end = 0, hard_end = 0, stopped_at = 0;
    int stopped_by = 0;
    while (worker_live(w) > 0) {
        struct timespec ts = { 0, 100 * 1000000L };
        int sig = sigtimedwait(sigs, NULL, &ts);
        double now = util_now();
        if (sig > 0 && !stopped_by) {
            stopped_by = sig;
            stopped_at = now;
            atomic_store(&w->stopping, 1);
            grace_end = now + w->cfg->batch.grace_period;
            msg_note("%s: no new item; those running get %.0f s to finish, then are handed "
                     "back", strsignal(sig), w->cfg->batch.grace_period);
        } else if ((sig > 0 && !(sig == stopped_by && now < stopped_at + 1.0)) ||
                   (grace_end > 0 && now >= grace_end && !atomic_load(&w->abort))) {
            /* A second signal ends the grace period; not the same one
             * again within a second: `timeout` (and a shell's job
             * control) send theirs to the process and to its group, and
             * that was taken for two (tests/cli/queue-generate.sh, 2 runs
             * in 5). */
            atomic_store(&w->abort, 1);
            hard_end = now + 5;
        }
        if (hard_end > 0 && now >= hard_end)
            /* Items blocked in the kernel: handed back from here. */
            break;
        if (now >= next) {
            worker_renew(w, q);
            next = now + every;
        }
    }
    if (worker_live(w) > 0) {
        /* Every item this process holds: the one running, those taken
         * ahead, a generation group's (those recorded are acknowledged
         * already: handing them back does nothing). */
        pthread_mutex_lock(&w->mu);
        for (int i = 0; i < w->jobs; i++) {
            const worker_slot *s = &w->slots[i];
            vb_error e = {0};
            if (s->task && queue_handback(q, s->task, &e) != 0)
                msg_error("%s", e.msg);
            for (size_t j = 0; j < s->nheld; j++)
                if (queue_handback(q, &s->held[j], &e) != 0)
                    msg_error("%s", e.msg);
            for (size_t j = 0; s->group && j < s->group->n; j++)
                if (queue_handback(q, &s->group->v[j]->t, &e) != 0)
                    msg_error("%s", e.msg);
        }
        pthread_mutex_unlock(&w->mu);
        msg_error("items still blocked after the grace period: handed back; the worker ends");
        _exit(VB_EXIT_INTERRUPTED);
    }
    return stopped_by ? stopped_by : 0;
}

typedef struct cmd_worker_args {
    const char *url, *out_dir, *name;
    int jobs, reconnect;
    bool drain;
} cmd_worker_args;

static int cmd_worker_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_worker_args *a = ud;
    const char *n = o->name;
    if (strcmp(n, "queue") == 0) a->url = arg;
    else if (strcmp(n, "output") == 0) a->out_dir = arg;
    else if (strcmp(n, "name") == 0) a->name = arg;
    else if (strcmp(n, "drain") == 0) a->drain = true;
    else if (strcmp(n, "quiet") == 0) vb_verbosity = 0;
    else if (strcmp(n, "verbose") == 0) vb_verbosity = 2;
    else if (strcmp(n, "jobs") == 0)
        return cmd_int_arg(&cmd_worker, n, arg, "a number", 1, 1024, &a->jobs);
    else if (strcmp(n, "reconnect") == 0)
        return cmd_int_arg(&cmd_worker, n, arg, "a number of seconds", 1, 86400, &a->reconnect);
    return 0;
}

/* The worker's settings from the queue, and its name. */
static int worker_setup(worker *w, const cmd_worker_args *a, queue_url *u, vb_config *cfg)
{
    vb_error e = {0};
    if (queue_url_parse(a->url, u, &e) != 0)
        return cmd_bad_usage(&cmd_worker, "%s", e.msg);
    if (a->name && (!a->name[0] || strlen(a->name) > 100 || strpbrk(a->name, " \t\r\n")))
        return cmd_bad_usage(&cmd_worker, "--name must be 1 to 100 characters, no spaces");
    if (queue_url_password(u, &e) != 0) {
        msg_error("%s", e.msg);
        return VB_EXIT_USAGE;
    }
    queue *q = queue_open(u, NULL, a->reconnect, &e);
    char *json = NULL;
    int got = q ? queue_settings(q, &json, &e) : -1;
    queue_close(&q);
    if (got <= 0) {
        if (got == 0)
            msg_error("queue %s holds no batch: `vbatch enqueue` first", u->name);
        else
            msg_error("%s", e.msg);
        return got == 0 || e.code == VB_ERR_CONFIG ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    }
    char *origin = vb_xasprintf("queue %s", u->name);
    int rc = report_queue_settings_parse(json, origin, &w->s, &e);
    if (rc == 0)
        rc = report_config_from_json(w->s.config_json, origin, cfg, &e);
    free(origin);
    free(json);
    if (rc != 0) {
        msg_error("%s", e.msg);
        return VB_EXIT_USAGE;
    }
    if (cfg->notify.url) {
        /* The queue keeps a webhook as scheme://host/... only (the rest
         * is often its secret), and a generation group is no batch of
         * the user's: posting there would reach the wrong address at the
         * end of every group. The queue's results are `report --queue`'s. */
        msg_note("the queue's [notify] url is recorded as %s only: workers send no webhook",
                 cfg->notify.url);
        free(cfg->notify.url);
        cfg->notify.url = NULL;
    }
    if (util_mkdir_p(a->out_dir, &e) != 0) {
        msg_error("%s", e.msg);
        return VB_EXIT_USAGE;
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "worker");
    w->consumer = a->name ? vb_xstrdup(a->name) : vb_xasprintf("%s-%ld", host, (long)getpid());
    return 0;
}

static int cmd_worker_exec(int argc, char **argv)
{
    cmd_worker_args a = { .out_dir = "vbatch-out", .reconnect = 300 };
    int rc = cmd_parse(&cmd_worker, argc, argv, cmd_worker_opt, &a);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    if (optind < argc)
        return cmd_bad_usage(&cmd_worker, "unexpected argument '%s'", argv[optind]);
    if (!a.url)
        a.url = getenv("VBATCH_QUEUE");
    if (!a.url || !*a.url)
        return cmd_bad_usage(&cmd_worker, "--queue URL (or $VBATCH_QUEUE) is needed");
#if defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
    /* A worker thread's arena holds little but the item: libav's parser
     * context (some 280 KiB, zeroed) freed at its top was handed back to
     * the kernel and faulted in again for every item, a third of a probe
     * -only item's time. Kept instead, up to a bound. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
    worker w = {0};
    queue_url u = {0};
    vb_config cfg;
    preset_defaults(&cfg);
    int status = worker_setup(&w, &a, &u, &cfg);
    if (status != 0)
        goto out;
    w.cfg = &cfg;
    w.out_dir = a.out_dir;
    w.u = &u;
    w.reconnect = a.reconnect;
    w.drain = a.drain;
    w.jobs = a.jobs > 0 ? a.jobs : cfg.batch.jobs > 0 ? cfg.batch.jobs : util_ncpu();
    w.env = (item_env){ .out_dir = a.out_dir, .workers = w.jobs,
                        .decode_threads = worker_decode_threads, .stopping = worker_stopping,
                        .ud = &w };
    pthread_mutex_init(&w.mu, NULL);
    pthread_mutex_init(&w.fmu, NULL);
    pthread_cond_init(&w.fcond, NULL);
    w.doing = worker_doing(&w, NULL, NULL);
    vb_error e = {0};
    queue *q = queue_open(&u, w.consumer, a.reconnect, &e);
    w.fq = q ? queue_open(&u, w.consumer, a.reconnect, &e) : NULL;
    if (!w.fq) {
        msg_error("%s", e.msg);
        queue_close(&q);
        status = VB_EXIT_ITEMS;
        goto out;
    }
    queue_on_finished(w.fq, worker_finished, &w);
    /* The signals are the main thread's (sigtimedwait): blocked in the
     * threads it starts. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    pthread_t fth;
    if (pthread_create(&fth, NULL, worker_finisher, &w) != 0) {
        fputs("vbatch: cannot start worker threads\n", stderr);
        abort();
    }
    w.slots = vb_xcalloc((size_t)w.jobs, sizeof *w.slots);
    for (int i = 0; i < w.jobs; i++) {
        w.slots[i].w = &w;
        if (pthread_create(&w.slots[i].th, NULL, worker_thread, &w.slots[i]) != 0) {
            fputs("vbatch: cannot start worker threads\n", stderr);
            abort();
        }
    }
    char *shown = queue_url_display(&u);
    msg_verbose("worker %s on %s, %d at once, into %s", w.consumer, shown, w.jobs, a.out_dir);
    int sig = worker_watch(&w, q, &sigs);
    for (int i = 0; i < w.jobs; i++)
        pthread_join(w.slots[i].th, NULL);
    pthread_mutex_lock(&w.fmu);
    w.fend = true;
    pthread_cond_broadcast(&w.fcond);
    pthread_mutex_unlock(&w.fmu);
    pthread_join(fth, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    queue_close(&q);
    queue_close(&w.fq);
    msg_note("worker %s: %lld done, %lld failed, %lld handed back, %lld recorded before",
             w.consumer, (long long)w.done, (long long)w.failed, (long long)w.handed_back,
             (long long)w.again);
    free(shown);
    free(w.slots);
    pthread_mutex_destroy(&w.mu);
    pthread_mutex_destroy(&w.fmu);
    pthread_cond_destroy(&w.fcond);
    status = w.fatal ? VB_EXIT_ITEMS : sig ? VB_EXIT_INTERRUPTED : VB_EXIT_OK;
out:
    free(w.consumer);
    free(w.doing);
    report_queued_clear(&w.s);
    queue_url_clear(&u);
    preset_free_contents(&cfg);
    return status;
}

const vb_command cmd_worker = {
    .name = "worker",
    .alias = NULL,
    .usage = "--queue redis://[user@]host:port/DB/NAME [--output DIR] [--jobs N] [--drain]\n"
             "       [--name NAME] [--reconnect SECONDS] [--quiet|--verbose]",
    .summary = "process the items of a queue (vbatch enqueue) as one of any number of workers",
    .description =
        "Joins the queue's consumer group and works on its items, --jobs N at a time,\n"
        "with the settings stored by `vbatch enqueue`: each is processed as `vbatch\n"
        "process` would (probe, gates, --deep analysis, thumbnails, fix ...) into its\n"
        "folder of DIR, which every worker shares (a network file system), then its\n"
        "result is recorded in the queue (NAME:results, once per item: an item\n"
        "delivered twice is recorded once) and acknowledged. `vbatch report --queue`\n"
        "writes the journal and the reports.\n"
        "Leases: the claims of the items worked on are renewed every quarter of the\n"
        "visibility timeout; an item whose worker stopped renewing it (killed, host\n"
        "gone) is taken over by the next worker that looks once it has been idle for\n"
        "the visibility timeout; an item delivered max-deliveries times without a\n"
        "result (it kills its worker) goes to the dead letters, NAME:dead, with what\n"
        "its last delivery was doing. A lost connection to Redis (a restart, a cut) is\n"
        "made again with backoff for --reconnect seconds; nothing is lost or recorded\n"
        "twice.\n"
        "Without --drain the worker waits for more items (a service); with it, it exits\n"
        "once every item is done (none left undelivered, none pending, the enqueue\n"
        "ended). SIGTERM or SIGINT: no new item; the running ones get [batch]\n"
        "grace_period (5 s) to finish, then are stopped and handed back to the queue\n"
        "(another worker takes them at once); a second signal stops them at once.\n"
        "Generation jobs (vbatch enqueue JOBS.csv): a thread takes up to [generate]\n"
        "max_concurrent at once through one generate engine, and the next ones into\n"
        "the slots their tasks leave; the account's limits (rpm, max_concurrent) are\n"
        "shared by all workers in Redis, and each create is claimed there before it\n"
        "is sent: a job redelivered after its worker died is polled or looked up,\n"
        "never sent again (a create refused with nothing made gives its claim up).\n"
        "Exit status: 0 drained, 2 usage (or the password refused), 3 Redis could\n"
        "not be reached for --reconnect seconds, 4 stopped by a signal.",
    .options = cmd_worker_options,
    .exec = cmd_worker_exec,
};
