/* batch-source.c - where a batch's items come from, behind the one
 * interface the engine reads (batch_source, batch.h):
 *
 *  - a new scan: the scanner's entries, each named (in batch order, so
 *    names are stable), looked up in the journal's index of what OUT holds
 *    (incremental runs: unchanged since an earlier batch it is entered as
 *    skipped with that batch's result) and entered in the journal as
 *    pending when it is queued;
 *  - a resume: the journal's pending items, with the folders they have;
 *    an item retried without a folder is discovered again; when the run
 *    that was killed had not entered all its input, the scan goes on
 *    where it stopped (its order is stable);
 *  - a feed (vbatch generate): items made outside the engine, their file
 *    in their folder already.
 *
 * An item keeps its folder from batch to batch, and new items avoid
 * every folder given out before. */
#include "config.h"
#include "batch-source.h"
#include "fetch.h"
#include "layout.h"
#include "msg.h"
#include "relist.h"
#include "scan.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct source {
    batch_source src;            /* the interface; src.ud is this */
    const batch_opts *o;
    report *rep;
    layout_names *names;
    scanner *sc;
    relist *rl;
    bool resuming;               /* taking the journal's pending items */
    int64_t last_seq;            /* the last item taken from the input */
} source;

/* ---- a new scan ---- */

/* The index key and what a source is now: a local file by its absolute
 * path (the working folder is the same for a whole run), with size and
 * mtime; a URL as shown (no credentials), size -1. */
static void source_stat(item *it)
{
    static char cwd[4096];
    it->size = -1;
    it->mtime_ns = 0;
    if (it->en.is_url) {
        it->key = fetch_display_url(it->en.path);
        return;
    }
    struct stat st;
    if (stat(it->en.path, &st) == 0 && S_ISREG(st.st_mode)) {
        it->size = (int64_t)st.st_size;
        it->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    if (!cwd[0] && !getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    it->key = it->en.path[0] == '/' || !cwd[0] ? vb_xstrdup(it->en.path)
                                              : util_path_join(cwd, it->en.path);
}

/* A new item: the folder its source had in this OUT (claimed back) or a
 * new one that avoids every folder given out before; unless --force,
 * whether it is unchanged since an earlier batch (it->skip, it->rec the
 * result kept). A journal that can not be read only costs the skip. */
static void source_enter(source *s, item *it)
{
    source_stat(it);
    report_source rs = { it->key, it->size, it->mtime_ns };
    char *folder = NULL;
    bool skip = false;
    vb_error e = {0};
    if (report_lookup(s->rep, &rs, s->o->force, &folder, &skip, &it->rec, &e) < 0)
        msg_error("%s", e.msg);
    /* The same source twice in one batch: the second gets a new folder
     * and is processed. */
    if (folder && layout_claim(s->names, folder)) {
        it->folder = folder;
        it->skip = skip;
        return;
    }
    free(folder);
    if (skip)
        item_record_clear(&it->rec);
    it->folder = layout_unique_name(s->names, it->en.rel);
}

/* The scanner's next entry, named and entered in the journal as pending
 * (skipped items are entered by the engine). */
static int source_scan(source *s, item **out, vb_error *e)
{
    item *it = item_new();
    int got = scan_next(s->sc, &it->en, e);
    if (got <= 0) {
        item_free(&it);
        return got;
    }
    if (!it->en.error)
        source_enter(s, it);
    it->seq = ++s->last_seq;
    if (!it->skip) {
        char *src = it->en.is_url ? fetch_display_url(it->en.path) : vb_xstrdup(it->en.path);
        vb_error qe = {0};
        if (report_queue(s->rep, it->seq, src, it->folder, it->en.error ? it->en.errmsg : NULL,
                         &qe) != 0)
            /* The result's write will fail too and be reported then. */
            msg_error("%s", qe.msg);
        free(src);
    }
    *out = it;
    return 1;
}

/* ---- a resume ---- */

/* Retrying an item that has no folder (it failed before anything was
 * written: not found, not a media file): discover its local source
 * again and give it a folder unique in the batch. */
static void source_rediscover(source *s, item *it, char *path)
{
    /* Taken on its own, a link found in a walk would pass as named. */
    char *refused = scan_refused_link(&s->o->config->input, path, report_inputs(s->rep));
    if (refused) {
        it->en.path = path;
        it->en.rel = vb_xstrdup(path);
        it->en.error = VB_ERR_LIMIT;
        it->en.errmsg = refused;
        return;
    }
    scanner *one = scan_new(&s->o->config->input);
    scan_add_path(one, path);
    vb_error se = {0};
    int got = scan_next(one, &it->en, &se);
    scan_free(&one);
    if (got == 1 && !it->en.error) {
        free(path);
        it->folder = layout_unique_name(s->names, it->en.rel);
        return;
    }
    if (got == 1) {
        free(it->en.path);
        free(it->en.rel);
    } else {
        it->en.errmsg = vb_xstrdup(got < 0 ? se.msg : "cannot be read");
    }
    it->en.path = path;
    it->en.rel = vb_xstrdup(path);
    it->en.is_url = false;
    it->en.error = VB_ERR_IO;
}

/* A pending item with its folder (or found bad when it was entered). */
static void source_pending(source *s, item *it, char *path, char *folder, char *error)
{
    if (folder) {
        /* What a killed run was writing for this item. */
        char *dir = util_path_join(s->o->out_dir, folder);
        util_remove_temps(dir, 3);
        free(dir);
    }
    it->en.path = path ? path : vb_xstrdup("");
    it->en.is_url = util_is_url(it->en.path);
    it->en.rel = it->en.is_url ? util_url_basename(it->en.path) : vb_xstrdup(it->en.path);
    /* A download retried after it failed before its folder was made. */
    if (it->en.is_url && !folder && !error)
        folder = layout_unique_name(s->names, it->en.rel);
    it->folder = folder;
    if (error || !folder) {
        /* Found bad when it was entered: recorded as such again. */
        it->en.error = VB_ERR_IO;
        it->en.errmsg = error ? error : vb_xstrdup("cannot be read");
    } else {
        free(error);
        /* Its result updates the index too (never skipped here: the
         * batch decided when the item was entered). */
        source_stat(it);
    }
    /* The journal's URL lacks credentials and query: the full one is
     * taken from the batch's lists again. */
    char *url, *why;
    int got_url = it->en.error || !it->en.is_url || !s->rl
                      ? 0 : relist_url(s->rl, it->seq, it->en.path, &url, &why);
    if (got_url > 0) {
        free(it->en.path);
        it->en.path = url;
    } else if (got_url < 0) {
        it->en.error = VB_ERR_IO;
        it->en.errmsg = why;
    }
}

/* Skip the first n entries of the scan (already in the journal): 1, or
 * 0 when the input ended first, -1 on error. */
static int source_rescan_skip(scanner *sc, int64_t n, vb_error *e)
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

/* The next pending item from the journal (its seq and folder as
 * recorded), then what the killed run had not entered. */
static int source_resume(source *s, item **out, vb_error *e)
{
    char *path, *folder, *error;
    int64_t seq;
    int got = report_next_pending(s->rep, s->last_seq, &seq, &path, &folder, &error, e);
    if (got < 0)
        return -1;
    if (got == 0) {
        s->resuming = false;
        if (report_rescan_after(s->rep) < 0)
            return 0;
        /* The killed run had entered items up to rescan_after: the scan
         * (stable order) goes on from there. */
        s->last_seq = report_rescan_after(s->rep);
        got = source_rescan_skip(s->sc, s->last_seq, e);
        return got > 0 ? source_scan(s, out, e) : got;
    }
    item *it = item_new();
    it->seq = s->last_seq = seq;
    if (!folder && !error && path && !util_is_url(path)) {
        source_rediscover(s, it, path);
        if (!it->en.error)
            source_stat(it);
    } else {
        source_pending(s, it, path, folder, error);
    }
    *out = it;
    return 1;
}

/* ---- a feed ---- */

static int source_fed(source *s, double wait, item **out, vb_error *e)
{
    const batch_feed *f = s->o->feed;
    batch_item bi = {0};
    int got = f->next(f->ud, wait, &bi, e);
    if (got != 1)
        return got;
    item *it = item_new();
    it->fed = true;
    it->seq = bi.seq;
    it->folder = bi.folder;
    it->fed_source = bi.source;
    it->gen = bi.gen;
    /* is_url: nothing to link into the folder, keep it on failure. */
    it->en.is_url = true;
    it->en.path = bi.media ? bi.media : vb_xstrdup("");
    it->en.rel = vb_xstrdup(it->en.path);
    if (bi.error) {
        it->en.error = VB_ERR_NET;
        it->en.errmsg = bi.error;
        it->error_stage = bi.error_stage;
    }
    *out = it;
    return 1;
}

static void source_feed_stop(void *ud)
{
    source *s = ud;
    if (s->o->feed->stop)
        s->o->feed->stop(s->o->feed->ud);
}

static const char *source_feed_held(void *ud)
{
    source *s = ud;
    return s->o->feed->held ? s->o->feed->held(s->o->feed->ud) : NULL;
}

/* ---- the interface ---- */

static int source_next(void *ud, double wait, bool stopped, item **out, vb_error *e)
{
    source *s = ud;
    *out = NULL;
    if (s->o->feed)
        return stopped ? 0 : source_fed(s, wait, out, e);
    if (s->resuming)
        /* After a stop, a resumed batch's input is in the journal already. */
        return stopped ? 0 : source_resume(s, out, e);
    /* After a stop, a new batch's input is still entered as pending, for
     * `vbatch resume`. */
    return source_scan(s, out, e);
}

static void source_end(void *ud, bool complete)
{
    source *s = ud;
    vb_error e = {0};
    /* All the input is in the journal: a resume need not look. */
    if (complete && !s->o->feed && !s->resuming &&
        report_discovered(s->rep, s->last_seq, &e) != 0)
        msg_error("%s", e.msg);
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

/* Of the URLs given to resume, the first shown as `display`, or display. */
static const char *source_url_again(const batch_opts *o, const char *display)
{
    for (size_t i = 0; i < o->paths.n; i++) {
        char *d = fetch_display_url(o->paths.v[i]);
        bool same = strcmp(d, display) == 0;
        free(d);
        if (same)
            return o->paths.v[i];
    }
    return display;
}

static long long source_others(void *ud)
{
    source *s = ud;
    return scan_other_shards(s->sc);
}

/* The scanner over the batch's inputs: the PATH arguments and lists
 * given, or, resuming, those the batch recorded (in case a killed run had
 * not entered them all). */
static scanner *source_scanner(const batch_opts *o, report *rep)
{
    scanner *sc = scan_new(&o->config->input);
    if (o->out_dir)
        scan_skip_dir(sc, o->out_dir);
    for (size_t i = 0; !o->resume_id && i < o->paths.n; i++)
        scan_add_path(sc, o->paths.v[i]);
    for (size_t i = 0; !o->resume_id && i < o->lists.n; i++)
        scan_add_list(sc, o->lists.v[i]);
    scan_set_shard(sc, o->shard_k, o->shard_n);
    if (o->resume_id && !o->feed) {
        static const char opt[] = "--from-list ", sh[] = "--shard ",
                          url[] = BATCH_INPUT_STRIPPED;
        const vb_strlist *in = report_inputs(rep);
        for (size_t i = 0; i < in->n; i++) {
            int k, n;
            if (strncmp(in->v[i], opt, sizeof opt - 1) == 0)
                scan_add_list(sc, in->v[i] + sizeof opt - 1);
            else if (strncmp(in->v[i], url, sizeof url - 1) == 0)
                /* The full URL given again, else what is recorded. */
                scan_add_path(sc, source_url_again(o, in->v[i] + sizeof url - 1));
            else if (strncmp(in->v[i], sh, sizeof sh - 1) == 0 &&
                     sscanf(in->v[i] + sizeof sh - 1, "%d/%d", &k, &n) == 2)
                /* The batch's shard, which its resume keeps. */
                scan_set_shard(sc, k, n);
            else
                scan_add_path(sc, in->v[i]);
        }
    }
    return sc;
}

int batch_source_open(const batch_opts *o, report *rep, batch_source **out, vb_error *e)
{
    source *s = vb_xcalloc(1, sizeof *s);
    s->o = o;
    s->rep = rep;
    s->names = layout_names_new();
    s->sc = source_scanner(o, rep);
    s->resuming = o->resume_id && !o->feed;
    s->src = (batch_source){ .next = source_next, .end = source_end, .others = source_others,
                             .ud = s };
    if (o->feed) {
        s->src.stop = source_feed_stop;
        s->src.held = source_feed_held;
    }
    *out = &s->src;
    int rc = 0;
    if ((s->resuming && report_each_folder(rep, name_taken, s->names, e) != 0) ||
        report_each_known_folder(rep, name_reserved, s->names, e) != 0)
        rc = 1;
    if (o->resume_id && !(s->rl = relist_new(rep, &o->lists, &o->paths, &o->config->input, e)))
        rc = 1;
    if (o->resume_id) {
        /* Leftovers of a killed run outside the item folders. */
        const char *dirs[] = { "summary", "publish" };
        for (size_t i = 0; i < VB_ARRAY_LEN(dirs); i++) {
            char *d = util_path_join(o->out_dir, dirs[i]);
            util_remove_temps(d, 0);
            free(d);
        }
    }
    return rc;
}

int batch_preview(const batch_opts *o, void (*fn)(void *ud, const batch_preview_item *p),
                  void *ud, long long *others, vb_error *e)
{
    source s = { .o = o, .names = layout_names_new() };
    vb_error je = {0};
    /* No output folder (vbatch enqueue): no journal to look in. */
    s.rep = o->out_dir ? report_preview(o->out_dir, o->config, &je) : NULL;
    if (je.code) {
        layout_names_free(&s.names);
        return vb_fail(e, je.code, "%s", je.msg);
    }
    if (s.rep && report_each_known_folder(s.rep, name_reserved, s.names, e) != 0) {
        report_free(&s.rep);
        layout_names_free(&s.names);
        return -1;
    }
    s.sc = source_scanner(o, s.rep);
    int got, rc = 0;
    item *it;
    while ((got = scan_next(s.sc, &(it = item_new())->en, e)) == 1) {
        if (!it->en.error && s.rep)
            source_enter(&s, it);
        else if (!it->en.error)
            it->folder = layout_unique_name(s.names, it->en.rel);
        char *src = it->en.is_url ? fetch_display_url(it->en.path) : vb_xstrdup(it->en.path);
        batch_preview_item p = {
            .source = src, .path = it->en.path, .rel = it->en.rel, .folder = it->folder,
            .skipped_since = it->skip ? it->rec.unchanged_since : NULL,
            .error = it->en.error ? it->en.errmsg : NULL,
        };
        fn(ud, &p);
        free(src);
        item_free(&it);
    }
    item_free(&it);
    if (got < 0)
        rc = -1;
    if (others)
        *others = scan_other_shards(s.sc);
    scan_free(&s.sc);
    report_free(&s.rep);
    layout_names_free(&s.names);
    return rc;
}

void batch_source_close(batch_source **psrc)
{
    if (!*psrc)
        return;
    source *s = (*psrc)->ud;
    layout_names_free(&s->names);
    relist_free(&s->rl);
    scan_free(&s->sc);
    free(s);
    *psrc = NULL;
}
