/* thumbs.c - a video's thumbnails and contact sheet: thumbs_make hands the
 * work to the media module (src/media/thumbs-render.c: libav decode,
 * libswscale, libvips), loaded on first use; the result and its output
 * stay here. */
#include "config.h"
#include "thumbs.h"
#include "module.h"
#include "writer.h"

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
