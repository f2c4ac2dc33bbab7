/* analyse-share.c - identical files analysed once (see analyse-share.h).
 * Hashing reads the file once, a small cost next to decoding it (and,
 * for an item with more than one core, taken beside the decode); a
 * stall, the deadline or the end of the grace period stop the hashing as
 * they would stop the decoding, and a transient error is retried the
 * same way (the item's bounded reader, mediaio.h). */
#include "config.h"
#include "analyse-share.h"
#include "crypto.h"
#include "msg.h"
#include "util.h"
#include "writer.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void analyse_share_init(analyse_share *s)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    memset(&s->inflight, 0, sizeof s->inflight);
}

void analyse_share_destroy(analyse_share *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    vb_strlist_clear(&s->inflight);
}

/* The analysis.json an earlier item made from the same content: read
 * back and copied into this item's metadata (the item keeps its own
 * folder, probe, gates, thumbnails). 0 with *a, or -1: there is none (or
 * it is gone), decode instead. */
static int share_reuse(item *it, const char *hex, analyse_result **a)
{
    report *rep = it->env->rep;
    char *folder = NULL;
    vb_error e = {0};
    if (report_analysis_find(rep, hex, &folder, &e) != 1)
        return -1;
    char *dir = util_path_join(it->env->out_dir, folder);
    char *mdir = util_path_join(dir, "metadata");
    char *path = util_path_join(mdir, "analysis.json");
    free(dir);
    free(mdir);
    char *text = util_read_file(path, NULL, NULL);
    free(path);
    int rc = text ? analyse_parse(text, hex, a, &e) : -1;
    if (rc == 0 && strcmp(folder, it->folder) != 0) {
        /* This folder's analysis.json is replaced: forget what it held. */
        rc = report_analysis_forget(rep, it->folder, &e);
        if (rc == 0)
            rc = item_meta_dir(it, &e);
        char *own = util_path_join(it->meta_dir, "analysis.json");
        if (rc == 0)
            rc = util_write_atomic(own, text, strlen(text), &e);
        free(own);
        if (rc != 0)
            analyse_result_free(a);
    }
    if (rc == 0) {
        item_meta_written(it, "analysis.json");
        it->rec.analysis_from = folder;
        folder = NULL;
    }
    free(text);
    free(folder);
    return rc;
}

/* metadata/analysis.json for the fresh analysis *a (with the content
 * hash, when there is one; a file analysed before under this folder
 * forgets what it held), shared when it is complete (a read error may be
 * transient). *a freed on failure. */
static int share_save(item *it, const char *hex, analyse_result **a, vb_error *e)
{
    const item_env *env = it->env;
    char *own = util_path_join(it->meta_dir, "analysis.json");
    bool had = hex && access(own, F_OK) == 0;
    free(own);
    if (had && env->rep && report_analysis_forget(env->rep, it->folder, e) != 0) {
        analyse_result_free(a);
        return -1;
    }
    writer *w = item_meta_writer();
    if (hex)
        writer_string(w, "sha256", hex);
    analyse_write(*a, w);
    writer_end_object(w);
    if (item_meta_save(it, "analysis.json", w, e) != 0) {
        analyse_result_free(a);
        return -1;
    }
    vb_error pe = {0};
    if (hex && !(*a)->incomplete && report_analysis_put(env->rep, hex, it->folder, &pe) != 0)
        /* Only a missed chance to share: the item is fine. */
        msg_error("%s", pe.msg);
    return 0;
}

static int share_threads(item *it)
{
    const item_env *env = it->env;
    return env->decode_threads ? env->decode_threads(env->ud, true, it->rec.duration) : 1;
}

/* Decode and analyse, then save (share_save). */
static int share_fresh(item *it, const vb_config *cfg, const char *hex, analyse_result **a,
                       vb_error *e)
{
    if (analyse_file(it->media, &cfg->analyse, share_threads(it), &it->clock, NULL, a, e) != 0)
        return -1;
    return share_save(it, hex, a, e);
}

int analyse_share_alone(item *it, const vb_config *cfg, analyse_result **a, vb_error *e)
{
    return share_fresh(it, cfg, NULL, a, e);
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

static long hash_read(void *ud, void *buf, size_t n)
{
    return mediaio_read(ud, buf, n);
}

/* The file's SHA-256 through a bounded reader on clk: 0 with hex; -1
 * with e set when the reader stopped or failed (the item's business: it
 * fails with that), -2 otherwise (analysed without sharing, the decode
 * will say what is wrong). */
static int share_hash(const char *path, mediaio_clock *clk, char *hex, vb_error *e)
{
    vb_error he = {0};
    mediaio *io = NULL;
    int hr = mediaio_open(&io, path, clk, 0, &he);
    if (hr == 0)
        hr = crypto_sha256_read(hash_read, io, hex, &he);
    int rc = 0;
    if (hr != 0)
        rc = io && mediaio_error(io, e) != 0 ? -1 : -2;
    mediaio_close(&io);
    return rc;
}

/* Claim hex for this item (waiting while another item analyses the same
 * content) and analyse: reused, else fresh (analysed is the fresh result
 * when the decode has been done already, NULL: decode now); the claim
 * let go at the end. */
static int share_claimed(item *it, const vb_config *cfg, const char *hex, bool claimed,
                         analyse_result **analysed, analyse_result **a, vb_error *e)
{
    analyse_share *s = it->env->share;
    if (!claimed) {
        pthread_mutex_lock(&s->mu);
        while (vb_strlist_has(&s->inflight, hex))
            pthread_cond_wait(&s->cv, &s->mu);
        vb_strlist_add(&s->inflight, hex);
        pthread_mutex_unlock(&s->mu);
    }
    int rc;
    if (analysed && *analysed) {
        *a = *analysed;
        *analysed = NULL;
        rc = share_save(it, hex, a, e);
    } else {
        rc = share_reuse(it, hex, a);
        if (rc != 0)
            rc = share_fresh(it, cfg, hex, a, e);
    }
    pthread_mutex_lock(&s->mu);
    inflight_remove(&s->inflight, hex);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The hash taken beside the decode (an item with more than one core):
 * the file is hashed on a thread of its own while the decode starts, and
 * once the hash is known the decode is cancelled if its result is not
 * needed (an analysis of the same content is in the journal or being
 * made). The hashing, a fiftieth of the pass, then costs no wall time.
 * The hash's reader has a clock of its own with the item's limits
 * (deadline, stall, abort): the item's clock marks one reader at a time
 * for the watchdog, the decode's. */
typedef struct share_side {
    pthread_t thread;
    item *it;                    /* borrowed */
    mediaio_clock clk;
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    int rc;                      /* share_hash's */
    vb_error e;
    bool claimed;                /* hex added to the in-flight list */
    atomic_bool cancel;          /* the decode is not needed */
} share_side;

static void *side_main(void *arg)
{
    share_side *h = arg;
    item *it = h->it;
    analyse_share *s = it->env->share;
    h->rc = share_hash(it->media, &h->clk, h->hex, &h->e);
    if (h->rc != 0)
        return NULL;
    pthread_mutex_lock(&s->mu);
    if (!vb_strlist_has(&s->inflight, h->hex)) {
        vb_strlist_add(&s->inflight, h->hex);
        h->claimed = true;
    }
    pthread_mutex_unlock(&s->mu);
    char *folder = NULL;
    vb_error fe = {0};
    if (!h->claimed || report_analysis_find(it->env->rep, h->hex, &folder, &fe) == 1)
        atomic_store(&h->cancel, true);
    free(folder);
    return NULL;
}

/* 0 with the side thread started, -1 if it could not start. */
static int side_start(share_side *h, item *it)
{
    memset(h, 0, sizeof *h);
    h->it = it;
    const mediaio_clock *c = &it->clock;
    mediaio_clock_start(&h->clk, 0, c->stall_timeout, c->abort);
    h->clk.started = c->started;
    h->clk.deadline = c->deadline;
    h->clk.item_timeout = c->item_timeout;
    atomic_init(&h->cancel, false);
    return pthread_create(&h->thread, NULL, side_main, h) == 0 ? 0 : -1;
}

/* 1: the side thread could not start (hash first, then decode). */
static int share_beside(item *it, const vb_config *cfg, int threads, analyse_result **a,
                        vb_error *e)
{
    share_side *h = vb_xcalloc(1, sizeof *h);
    if (side_start(h, it) != 0) {
        free(h);
        return 1;
    }
    analyse_result *fresh = NULL;
    vb_error de = {0};
    int drc = analyse_file(it->media, &cfg->analyse, threads, &it->clock, &h->cancel, &fresh,
                           &de);
    pthread_join(h->thread, NULL);
    int rc;
    if (h->rc == -1) {
        /* The hash's reader stopped or failed: the item fails with that,
         * as when hashing first. */
        *e = h->e;
        rc = -1;
    } else if (h->rc != 0) {
        /* No hash: the decode's result, not shared. */
        if (drc != 0)
            *e = de;
        rc = drc != 0 ? -1 : share_save(it, NULL, &fresh, e);
    } else if (!atomic_load(&h->cancel) && drc != 0) {
        it->rec.sha256 = vb_xstrdup(h->hex);
        analyse_share *s = it->env->share;
        pthread_mutex_lock(&s->mu);
        inflight_remove(&s->inflight, h->hex);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        *e = de;
        rc = -1;
    } else {
        /* Cancelled: the analysis reused, whatever the decode got to. */
        it->rec.sha256 = vb_xstrdup(h->hex);
        if (atomic_load(&h->cancel))
            analyse_result_free(&fresh);
        rc = share_claimed(it, cfg, h->hex, h->claimed, &fresh, a, e);
    }
    analyse_result_free(&fresh);
    free(h);
    return rc;
}

/* This folder has an analysis.json: most likely an unchanged file run
 * again, whose analysis the hash finds before anything is decoded (nor
 * is the media module loaded). */
static bool analysed_before(const item *it)
{
    char *own = util_path_join(it->meta_dir, "analysis.json");
    bool had = access(own, F_OK) == 0;
    free(own);
    return had;
}

int analyse_share_run(item *it, const vb_config *cfg, analyse_result **a, vb_error *e)
{
    analyse_share *s = it->env->share;
    int threads = share_threads(it);
    if (s && threads != 1 && !analysed_before(it)) {
        int rc = share_beside(it, cfg, threads, a, e);
        if (rc <= 0)
            return rc;
    }
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    int hr = share_hash(it->media, &it->clock, hex, e);
    if (hr == -1)
        return -1;
    if (hr != 0 || !s)
        return share_fresh(it, cfg, NULL, a, e);   /* it will say what is wrong */
    it->rec.sha256 = vb_xstrdup(hex);
    return share_claimed(it, cfg, hex, false, NULL, a, e);
}
