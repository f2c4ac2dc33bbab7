/* publish.c - the publish stage (qc.json, the delivered file, the
 * publish link) and the clearing of what an earlier run left in an
 * item's folder. Names come from layout.c; the input itself is never
 * modified or moved: it goes in by hard link, or by copy. */
#include "config.h"
#include "publish.h"
#include "stage.h"
#include "util.h"
#include "writer.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file delivered in video/: the fixed one, or the original's link. */
static const char *publish_delivered(const item *it)
{
    return it->fixed ? it->fixed : it->placed;
}

/* OUT/publish/<folder><ext>. Caller frees. */
static char *publish_path(const item *it)
{
    const char *base = strrchr(publish_delivered(it), '/');
    const char *ext = strrchr(base ? base + 1 : publish_delivered(it), '.');
    char *name = vb_xasprintf("%s%s", it->folder, ext ? ext : "");
    char *dir = util_path_join(it->env->out_dir, "publish");
    char *p = util_path_join(dir, name);
    free(name);
    free(dir);
    return p;
}

/* The verdict of every check made, into the record. */
static void publish_verdict(item *it)
{
    item_record *r = &it->rec;
    r->verdict = it->rr.verdict;
    r->status = it->rr.verdict == VERDICT_FAIL ? ITEM_QC_FAILED : ITEM_DONE;
    for (size_t i = 0; i < it->rr.n; i++) {
        if (it->rr.r[i].verdict == VERDICT_FAIL)
            vb_strlist_add(&r->failed_rules, it->rr.r[i].rule);
        else if (it->rr.r[i].verdict == VERDICT_WARN)
            vb_strlist_add(&r->warned_rules, it->rr.r[i].rule);
    }
}

static int publish_run(item *it, const vb_config *cfg, vb_error *e)
{
    item_record *r = &it->rec;
    publish_verdict(it);
    writer *w = item_meta_writer();
    writer_string(w, "preset", cfg->name);
    rules_write(&it->rr, w);
    writer_end_object(w);
    int rc = item_meta_save(it, "qc.json", w, e);
    if (rc == 0 && it->fixed && !it->fed && !it->en.is_url) {
        /* Changed: the original's link goes beside it, named so (a
         * download or a generation was moved there by the fix). */
        char *dir = util_path_join(it->item_dir, "original");
        char *orig = util_path_join(dir, it->fname);
        rc = util_mkdir_p(dir, e);
        if (rc == 0)
            rc = util_link_or_copy(it->en.path, orig, e);
        free(orig);
        free(dir);
    } else if (rc == 0 && !it->en.is_url && !it->fixed) {
        rc = util_mkdir_p(it->video_dir, e);
        if (rc == 0)
            rc = util_link_or_copy(it->en.path, it->placed, e);
    }
    if (rc == 0 && cfg->output.publish && r->status == ITEM_DONE) {
        char *dir = util_path_join(it->env->out_dir, "publish");
        char *pub = publish_path(it);
        rc = util_mkdir_p(dir, e);
        if (rc == 0)
            rc = util_link_or_copy(publish_delivered(it), pub, e);
        it->published = rc == 0;
        free(dir);
        free(pub);
    }
    if (rc == 0) {
        const char *d = strrchr(publish_delivered(it), '/');
        char *v = util_path_join(it->folder, "video");
        r->video = util_path_join(v, d ? d + 1 : publish_delivered(it));
        free(v);
    }
    return rc;
}

const stage stage_publish = { STAGE_PUBLISH, "publish", NULL, publish_run };

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

void publish_clear_stale(item *it)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(item_meta_names); i++)
        if (!(it->written & (1u << i))) {
            char *p = util_path_join(it->meta_dir, item_meta_names[i]);
            unlink(p);
            free(p);
        }
    bool thumbs = it->written & (1u << ITEM_META_THUMBS);
    char *tdir = util_path_join(it->item_dir, "thumbnails");
    remove_files_except(tdir, thumbs ? &it->thumb_files : NULL);
    free(tdir);
    if (!it->rec.contact) {
        char *p = util_path_join(it->item_dir, "contact.jpg");
        unlink(p);
        free(p);
    }
    /* What an earlier run delivered and this one does not: a fixed
     * file under another name, the original's link beside it (only in a
     * folder that was there before: a new one holds nothing stale). */
    if (it->existed && it->rec.video && (!it->fed || it->fixed)) {
        const char *d = strrchr(publish_delivered(it), '/');
        vb_strlist keep = {0};
        vb_strlist_add(&keep, d ? d + 1 : publish_delivered(it));
        remove_files_except(it->video_dir, &keep);
        vb_strlist_clear(&keep);
    }
    if (it->existed && !it->fixed) {
        char *odir = util_path_join(it->item_dir, "original");
        remove_files_except(odir, NULL);
        free(odir);
    }
    /* Not delivered: the link, or the downloaded body, goes (a fed
     * item's file is the generation's result and stays). */
    if (!it->rec.video && !it->fed) {
        unlink(it->placed);
        rmdir(it->video_dir);
    }
    if (!it->published) {
        char *p = publish_path(it);
        unlink(p);
        free(p);
    }
}
