/* item.c - the item and its runner: the road every input takes.
 *
 * The runner sets the item up for an attempt (its folder and paths),
 * walks the road, one stage at a time, timing each and marking it for
 * the watchdog, and records a failure as the failing stage's; then it
 * clears what an earlier run left in the folder that this one did not
 * make again. A transient I/O error (a network share's EIO, ESTALE ...)
 * makes it try the whole item again from the start, with exponential
 * backoff and jitter, up to [batch] retries more times within the item's
 * deadline. */
#include "config.h"
#include "item.h"
#include "analyse.h"
#include "backoff.h"
#include "fetch.h"
#include "layout.h"
#include "publish.h"
#include "stage.h"
#include "util.h"
#include "writer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const stage *const stage_road[] = {
    &stage_fetch, &stage_image, &stage_probe, &stage_check, &stage_analyse, &stage_fix,
    &stage_thumbs, &stage_publish, NULL,
};

const char *const item_meta_names[6] = {
    [ITEM_META_PROBE] = "probe.json", [ITEM_META_IMAGE] = "image.json",
    [ITEM_META_ANALYSIS] = "analysis.json", [ITEM_META_THUMBS] = "thumbnails.json",
    [ITEM_META_QC] = "qc.json", [ITEM_META_FIX] = "fix.json",
};

item *item_new(void)
{
    item *it = vb_xcalloc(1, sizeof *it);
    it->size = -1;
    return it;
}

/* What one attempt made: gone before the next attempt or the end. */
static void attempt_clear(item *it)
{
    free(it->item_dir);
    free(it->video_dir);
    free(it->meta_dir);
    free(it->fname);
    free(it->placed);
    it->item_dir = it->video_dir = it->meta_dir = it->fname = it->placed = NULL;
    it->media = NULL;
    probe_result_free(&it->probe);
    analyse_result_free(&it->analysis);
    free(it->fixed);
    it->fixed = NULL;
    image_info_clear(&it->image);
    rules_report_free(&it->rr);
    vb_strlist_clear(&it->thumb_files);
    it->meta_ready = it->existed = it->published = it->fetch_stopped = false;
    it->written = 0;
    vb_error_clear(&it->e);
}

void item_free(item **pit)
{
    item *it = *pit;
    if (!it)
        return;
    attempt_clear(it);
    item_record_clear(&it->rec);
    item_gen_clear(&it->gen);
    scan_entry_clear(&it->en);
    free(it->fed_source);
    free(it->folder);
    free(it->key);
    free(it);
    *pit = NULL;
}

void item_fail(item *it, int at, const char *msg)
{
    item_record *r = &it->rec;
    r->status = ITEM_FAILED;
    r->error_stage = at;
    free(r->error);
    r->error = vb_xstrdup(msg);
}

/* ---- metadata ---- */

int item_meta_dir(item *it, vb_error *e)
{
    int rc = 0;
    if (!it->meta_ready) {
        rc = util_mkdir_p(it->item_dir, e);
        if (rc == 0)
            rc = util_mkdir_p(it->meta_dir, e);
        it->meta_ready = rc == 0;
    }
    return rc;
}

void item_meta_written(item *it, const char *name)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(item_meta_names); i++)
        if (strcmp(name, item_meta_names[i]) == 0)
            it->written |= 1u << i;
}

writer *item_meta_writer(void)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_int(w, "schema_version", VB_SCHEMA_VERSION);
    return w;
}

int item_meta_save(item *it, const char *name, writer *w, vb_error *e)
{
    int rc = item_meta_dir(it, e);
    if (rc == 0) {
        char *path = util_path_join(it->meta_dir, name);
        rc = writer_save(w, path, e);
        free(path);
    }
    if (rc == 0)
        item_meta_written(it, name);
    writer_free(&w);
    return rc;
}

/* ---- one attempt ---- */

/* The record's identity, and the item's paths under OUT. */
static void attempt_begin(item *it)
{
    item_record *r = &it->rec;
    r->seq = it->seq;
    r->source = it->fed ? vb_xstrdup(it->fed_source)
                : it->en.is_url ? fetch_display_url(it->en.path) : vb_xstrdup(it->en.path);
    r->duration = NAN;
    r->fps = NAN;
    if (it->fed) {
        r->gen = it->gen;
        memset(&it->gen, 0, sizeof it->gen);
        r->stage_time[STAGE_GENERATE] = r->gen.seconds;
    }
    if (it->en.error)
        return;
    const char *out = it->env->out_dir;
    it->item_dir = util_path_join(out, it->folder);
    it->video_dir = util_path_join(it->item_dir, "video");
    it->meta_dir = util_path_join(it->item_dir, "metadata");
    char *base = it->fed ? util_basename(it->en.path)
                 : it->en.is_url ? util_url_basename(it->en.path) : vb_xstrdup(it->en.rel);
    char *slash = strrchr(base, '/');
    it->fname = layout_safe_file(slash ? slash + 1 : base);
    free(base);
    it->is_image = image_is_image_name(it->fname);
    /* A fed item's file is in its folder already, under its own name. */
    it->placed = it->fed ? vb_xstrdup(it->en.path) : util_path_join(it->video_dir, it->fname);
    it->media = it->en.path;
    it->existed = access(it->item_dir, F_OK) == 0;
    if (it->existed)
        /* What a killed run was writing here, also for an item it had
         * not entered in the journal yet (found again by a resume's
         * rescan): one run at a time holds OUT, so no temporary file in
         * the folder is anyone's now. */
        util_remove_temps(it->item_dir, 3);
    r->folder = vb_xstrdup(it->folder);
}

/* An item found bad by its source: recorded as such. */
static void attempt_bad(item *it)
{
    item_record *r = &it->rec;
    item_fail(it, it->error_stage, it->en.errmsg ? it->en.errmsg : "cannot be read");
    char *dir = it->folder && !it->fed ? util_path_join(it->env->out_dir, it->folder) : NULL;
    /* A generated item, or one that crashed vbatch after writing part
     * of its folder, keeps the folder. */
    if (it->folder && (it->fed || (dir && access(dir, F_OK) == 0)))
        r->folder = vb_xstrdup(it->folder);
    free(dir);
}

/* Walk the road: 0, or the failing stage's error code. */
static int attempt_road(item *it, const stage *const *road, const vb_config *cfg)
{
    for (size_t i = 0; road[i]; i++) {
        const stage *s = road[i];
        if (s->wanted && !s->wanted(it, cfg))
            continue;
        atomic_store(&it->clock.stage, s->id);
        double t = util_now();
        int rc = s->run(it, cfg, &it->e);
        it->rec.stage_time[s->id] += util_now() - t;
        if (rc != 0) {
            if (!it->e.msg[0])
                vb_fail(&it->e, VB_ERR_INTERNAL, "the %s stage failed", s->name);
            item_fail(it, s->id, it->e.msg);
            return it->e.code ? it->e.code : VB_ERR_INTERNAL;
        }
    }
    return 0;
}

/* After the road: what the folder holds is this run's, messages name
 * what the user knows. */
static void attempt_end(item *it)
{
    item_record *r = &it->rec;
    if (it->existed)
        publish_clear_stale(it);
    size_t pl = strlen(it->placed);
    if (it->en.is_url && !it->fed && r->status == ITEM_FAILED && r->error &&
        strncmp(r->error, it->placed, pl) == 0 && r->error[pl] == ':') {
        /* The download is not kept: the message names the URL instead. */
        char *m = vb_xasprintf("%s%s", r->source, r->error + pl);
        free(r->error);
        r->error = m;
    }
    /* A local item that failed before anything was written has no
     * folder; a download keeps its folder (the file is there). */
    if (r->status == ITEM_FAILED && !it->en.is_url && access(it->item_dir, F_OK) != 0) {
        free(r->folder);
        r->folder = NULL;
    }
    r->checks = it->rr;
    memset(&it->rr, 0, sizeof it->rr);
}

/* One attempt; every failure ends up in it->rec. Returns the failure's
 * error code (0 if none). */
static int attempt(item *it, const stage *const *road, const vb_config *cfg)
{
    attempt_begin(it);
    if (it->en.error) {
        attempt_bad(it);
        return 0;
    }
    int code = attempt_road(it, road, cfg);
    attempt_end(it);
    if (it->fetch_stopped)
        it->aborted = true;
    return code;
}

/* Before another attempt: 1 after `d` seconds, 0 if the item's deadline
 * would pass first, -1 if the batch stops meanwhile. */
static int retry_wait(item *it, double d)
{
    double until = util_now() + d;
    if (it->clock.deadline > 0 && until >= it->clock.deadline)
        return 0;
    for (;;) {
        if ((it->env->stopping && it->env->stopping(it->env->ud)) ||
            mediaio_clock_check(&it->clock, util_now()) == MEDIAIO_ABORT)
            return -1;
        double left = until - util_now();
        if (left <= 0)
            return 1;
        /* Short slices: a stop is seen within 50 ms. */
        struct timespec ts = { 0, (long)(fmin(left, 0.05) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

void item_run(item *it, const stage *const *road, const vb_config *cfg)
{
    const batch_config *b = &cfg->batch;
    if (!road)
        road = stage_road;
    uint64_t rng = (uint64_t)it->seq * 0x9E3779B97F4A7C15ull ^ (uint64_t)(util_wall() * 1e6);
    int n = 1;
    for (;; n++) {
        int code = attempt(it, road, cfg);
        it->rec.attempts = n;
        attempt_clear(it);
        int stop = mediaio_clock_stopped(&it->clock);
        if (stop == MEDIAIO_ABORT && it->rec.status == ITEM_FAILED) {
            it->aborted = true;
            return;
        }
        if (it->aborted || code != VB_ERR_IO_RETRY || stop != MEDIAIO_GO || n > b->retries)
            break;
        int w = retry_wait(it, backoff_delay(n, b->retry_backoff, 30.0, &rng));
        if (w < 0) {
            it->aborted = true;
            return;
        }
        if (w == 0)
            break;
        item_record_clear(&it->rec);
        vb_error e = {0};
        if (it->env->rep)
            report_running(it->env->rep, it->seq, &e);
    }
    if (n > 1 && it->rec.status == ITEM_FAILED && it->rec.error) {
        char *m = vb_xasprintf("%s (after %d attempts)", it->rec.error, n);
        free(it->rec.error);
        it->rec.error = m;
    }
}
