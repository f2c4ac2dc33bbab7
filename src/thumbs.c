/* thumbs.c - a video's thumbnails and contact sheet: thumbs_make hands the
 * work to the media module (src/media/thumbs-render.c: libav decode,
 * libswscale, libvips), loaded on first use; the result and its output
 * stay here. */
#include "config.h"
#include "thumbs.h"
#include "image.h"
#include "module.h"
#include "rules.h"
#include "stage.h"
#include "util.h"
#include "writer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int thumbs_make(const char *video, const probe_result *p, const thumbs_config *cfg,
                const char *thumb_dir, const char *contact_path, int threads,
                struct mediaio_clock *clk, thumbs_result *out, vb_error *e)
{
    memset(out, 0, sizeof *out);
    const module_media *m = module_get(e);
    int rc = m ? m->thumbs_make(video, p, cfg, thumb_dir, contact_path, threads, clk, out, e)
               : -1;
    /* The thumbnails made before a failure are not reported: nothing of
     * the result is left for the caller to release. */
    if (rc != 0)
        thumbs_result_clear(out);
    return rc;
}

void thumbs_result_clear(thumbs_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->t[i].file);
    free(r->t);
    free(r->contact);
    memset(r, 0, sizeof *r);
}

void thumbs_write(const thumbs_result *r, writer *w)
{
    writer_begin_array(w, "thumbnails");
    for (size_t i = 0; i < r->n; i++) {
        const thumb *t = &r->t[i];
        writer_begin_object(w, NULL);
        writer_double(w, "requested", t->requested);
        writer_double(w, "actual", t->actual);
        writer_bool(w, "moved_off_black", t->moved_off_black);
        writer_string(w, "file", t->file);
        writer_int(w, "width", t->width);
        writer_int(w, "height", t->height);
        writer_end_object(w);
    }
    writer_end_array(w);
    if (r->contact) {
        writer_begin_object(w, "contact");
        writer_string(w, "file", r->contact);
        writer_int(w, "width", r->contact_width);
        writer_int(w, "height", r->contact_height);
        writer_end_object(w);
    } else {
        writer_null(w, "contact");
    }
    writer_double(w, "seconds", r->seconds);
}

/* ---- the thumbnails stage ---- */

static bool thumbs_wanted(const item *it, const vb_config *cfg)
{
    return cfg->thumbs.enabled && it->probe && it->probe->video;
}

/* Each thumbnail read back from its header, and checked like any image. */
static void thumbs_check(item *it, const vb_config *cfg, const thumbs_result *tr)
{
    char *dir = util_path_join(it->item_dir, "thumbnails");
    rules_thumb *t = vb_xcalloc(tr->n ? tr->n : 1, sizeof *t);
    image_info *info = vb_xcalloc(tr->n ? tr->n : 1, sizeof *info);
    vb_error *err = vb_xcalloc(tr->n ? tr->n : 1, sizeof *err);
    for (size_t i = 0; i < tr->n; i++) {
        char *path = util_path_join(dir, tr->t[i].file);
        t[i].file = tr->t[i].file;
        /* What vbatch wrote is JPEG, PNG or WebP: its header is read
         * here; anything else, or a header that does not parse, goes to
         * libvips, which says what is wrong with it. */
        int q = image_header_quick(path, &info[i], &err[i]);
        if (q == 0 && cfg->qc.image_max_pixels > 0 &&
            (int64_t)info[i].width * info[i].height > cfg->qc.image_max_pixels) {
            image_info_clear(&info[i]);
            q = 1;
        }
        if (q == 0 || (q == 1 && image_probe(path, cfg->qc.image_max_pixels, &info[i],
                                             &err[i]) == 0))
            t[i].info = &info[i];
        else
            t[i].error = err[i].msg;
        free(path);
    }
    rules_thumbs(cfg, it->probe, t, tr->n, &it->rr);
    for (size_t i = 0; i < tr->n; i++)
        image_info_clear(&info[i]);
    free(info);
    free(err);
    free(t);
    free(dir);
}

static int thumbs_run(item *it, const vb_config *cfg, vb_error *e)
{
    const item_env *env = it->env;
    item_record *r = &it->rec;
    thumbs_result tr = {0};
    char *dir = util_path_join(it->item_dir, "thumbnails");
    char *contact = util_path_join(it->item_dir, "contact.jpg");
    int threads = env->decode_threads ? env->decode_threads(env->ud, false, NAN) : 1;
    int rc = image_init(env->workers, e);
    if (rc == 0)
        rc = thumbs_make(it->media, it->probe, &cfg->thumbs, dir, contact, threads, &it->clock,
                         &tr, e);
    free(dir);
    free(contact);
    if (rc != 0)
        return -1;
    thumbs_check(it, cfg, &tr);
    for (size_t i = 0; i < tr.n; i++)
        vb_strlist_add(&it->thumb_files, tr.t[i].file);
    r->nthumbs = (int)tr.n;
    if (tr.contact)
        r->contact = util_path_join(it->folder, "contact.jpg");
    writer *w = item_meta_writer();
    thumbs_write(&tr, w);
    writer_end_object(w);
    thumbs_result_clear(&tr);
    return item_meta_save(it, "thumbnails.json", w, e);
}

const stage stage_thumbs = { STAGE_THUMBS, "thumbs", thumbs_wanted, thumbs_run };
