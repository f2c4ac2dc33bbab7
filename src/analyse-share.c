/* analyse-share.c - identical files analysed once (see analyse-share.h).
 * Hashing reads the file once, a small cost next to decoding it; a
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

/* Decode and analyse; analysis.json written (with the content hash, when
 * there is one), and shared when it is complete (a read error may be
 * transient). */
static int share_fresh(item *it, const vb_config *cfg, const char *hex, analyse_result **a,
                       vb_error *e)
{
    const item_env *env = it->env;
    char *own = util_path_join(it->meta_dir, "analysis.json");
    bool had = hex && access(own, F_OK) == 0;
    free(own);
    if (had && env->rep && report_analysis_forget(env->rep, it->folder, e) != 0)
        return -1;
    int threads = env->decode_threads ? env->decode_threads(env->ud, true, it->rec.duration) : 1;
    if (analyse_file(it->media, &cfg->analyse, threads, &it->clock, a, e) != 0)
        return -1;
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

int analyse_share_run(item *it, const vb_config *cfg, analyse_result **a, vb_error *e)
{
    analyse_share *s = it->env->share;
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    vb_error he = {0};
    mediaio *io = NULL;
    int hr = mediaio_open(&io, it->media, &it->clock, 0, &he);
    if (hr == 0)
        hr = crypto_sha256_read(hash_read, io, hex, &he);
    if (hr != 0 && io && mediaio_error(io, e) != 0) {
        mediaio_close(&io);
        return -1;
    }
    mediaio_close(&io);
    if (hr != 0 || !s)
        return share_fresh(it, cfg, NULL, a, e);   /* it will say what is wrong */
    it->rec.sha256 = vb_xstrdup(hex);
    pthread_mutex_lock(&s->mu);
    while (vb_strlist_has(&s->inflight, hex))
        pthread_cond_wait(&s->cv, &s->mu);
    vb_strlist_add(&s->inflight, hex);
    pthread_mutex_unlock(&s->mu);
    int rc = share_reuse(it, hex, a);
    if (rc != 0)
        rc = share_fresh(it, cfg, hex, a, e);
    pthread_mutex_lock(&s->mu);
    inflight_remove(&s->inflight, hex);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
