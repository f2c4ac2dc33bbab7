/* batch-record.c - the engine's recording: finished items go into the
 * journal strictly in batch order, so reports do not depend on which
 * worker finished first, and are shown only once committed, so what was
 * printed as done is recorded whatever happens next (a crash, a full
 * disk). Also the output folder's trouble: moved, removed, full or
 * read-only, it stops the batch (resumable) instead of failing every
 * item after the first it struck. */
#include "config.h"
#include "batch-impl.h"
#include "msg.h"
#include "notify.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The reserve: space held in OUT/.vbatch so that, when the output's
 * file system fills up, the journal can still record what was done and
 * that the batch stopped. Released (lock held) when the disk is full. */
#define RESERVE_BYTES (8 << 20)
/* Less free than this after a write failed: the disk is full. */
#define OUT_LOW_BYTES (1 << 20)

void batch_record_reserve(engine *g)
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

void batch_record_unreserve(engine *g)
{
    if (!g->reserve)
        return;
    unlink(g->reserve);
    free(g->reserve);
    g->reserve = NULL;
}

bool batch_record_out_trouble(engine *g)
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
    batch_record_unreserve(g);
    g->out_stop = true;
    engine_stop(g);
    return true;
}

/* Write one finished item into the journal's transaction. */
static int record_write(report *rep, item *it, vb_error *e)
{
    report_source src = { it->key, it->size, it->mtime_ns };
    return it->aborted ? report_pending(rep, it->seq, it->rec.source, it->folder, e)
                       : report_add_input(rep, &it->rec, it->key ? &src : NULL, e);
}

/* The journal cannot record: the batch stops (lock held). */
static void record_failed(engine *g, const vb_error *e)
{
    if (g->record_stop)
        return;
    g->record_stop = true;
    snprintf(g->record_why, sizeof g->record_why, "%s", e->msg);
    engine_stop(g);
}

/* Commit, or when the output folder is the trouble (a full disk: the
 * reserve is given back) write the items once more, with the counts as
 * they were, and commit again. Lock not held. */
static int record_commit(engine *g, item **v, int n, bool failed, vb_error *e)
{
    int rc = failed ? -1 : report_flush(g->rep, e);
    if (rc == 0)
        return 0;
    pthread_mutex_lock(&g->mu);
    bool again = batch_record_out_trouble(g);
    report_counts before = g->counts_before;
    pthread_mutex_unlock(&g->mu);
    if (!again)
        return -1;
    report_set_counts(g->rep, &before);
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = record_write(g->rep, v[i], e);
    return rc == 0 ? report_flush(g->rep, e) : -1;
}

int batch_record_show(engine *g)
{
    if (g->nunshown == 0)
        return 0;
    int n = g->nunshown;
    item **v = g->unshown;
    g->unshown = vb_xcalloc(RECORD_GROUP, sizeof *g->unshown);
    g->nunshown = 0;
    bool failed = g->unshown_failed;
    g->unshown_failed = false;
    vb_error e = {0};
    if (failed)
        snprintf(e.msg, sizeof e.msg, "%s", g->unshown_why);
    pthread_mutex_unlock(&g->mu);
    int rc = record_commit(g, v, n, failed, &e);
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
        /* Not committed: not shown, and left to `vbatch resume`. */
        if (rc == 0 && g->obs->recorded)
            g->obs->recorded(g->obs->ud, v[i], out_stop);
        /* [notify] items: queued, never waited for (a full queue drops). */
        if (rc == 0 && g->hook && !v[i]->aborted)
            notify_items_push(g->hook, &v[i]->rec);
        item_free(&v[i]);
    }
    free(v);
    pthread_mutex_lock(&g->mu);
    return rc;
}

int batch_record_ready(engine *g)
{
    int rc = 0;
    while (g->next_record < g->next_seq) {
        item *it = g->ring[g->next_record % g->window];
        if (!it->done)
            break;
        g->ring[g->next_record % g->window] = NULL;
        g->next_record++;
        if (g->nunshown == 0) {
            g->counts_before = *report_get_counts(g->rep);
            g->unshown_since = util_now();
        }
        g->unshown[g->nunshown++] = it;
        if (!g->record_stop && !g->unshown_failed) {
            pthread_mutex_unlock(&g->mu);
            vb_error e = {0};
            int w = record_write(g->rep, it, &e);
            pthread_mutex_lock(&g->mu);
            if (w != 0) {
                g->unshown_failed = true;
                snprintf(g->unshown_why, sizeof g->unshown_why, "%s", e.msg);
            }
        } else if (g->record_stop) {
            g->unshown_failed = true;
        }
        if ((g->nunshown >= RECORD_GROUP || g->unshown_failed) && batch_record_show(g) != 0)
            rc = -1;
    }
    if (g->nunshown > 0 && util_now() - g->unshown_since >= RECORD_SECONDS &&
        batch_record_show(g) != 0)
        rc = -1;
    return rc;
}

int batch_record_skipped(engine *g, item *it)
{
    item_record *r = &it->rec;
    r->seq = it->seq;
    free(r->source);
    r->source = vb_xstrdup(it->en.path);
    free(r->folder);
    r->folder = vb_xstrdup(it->folder);
    vb_error e = {0};
    int rc = report_add_skipped(g->rep, r, &e);
    if (rc != 0)
        msg_error("%s", e.msg);
    pthread_mutex_lock(&g->mu);
    g->nskipped++;
    pthread_mutex_unlock(&g->mu);
    if (g->obs->recorded)
        g->obs->recorded(g->obs->ud, it, false);
    return rc;
}
