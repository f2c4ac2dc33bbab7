/* thumbs.h - thumbnails and a contact sheet per video: frames decoded
 * with libav, handed to libvips in memory (no temporary files) to rotate,
 * resize, label, join and save. */
#ifndef VB_THUMBS_H
#define VB_THUMBS_H

#include "vbatch.h"
#include "preset.h"
#include "probe.h"

typedef struct thumb {
    double requested;    /* seconds asked for */
    double actual;       /* timestamp of the frame used */
    bool moved_off_black;
    char *file;          /* file name inside the thumbnails folder (owned) */
    int width, height;
} thumb;

typedef struct thumbs_result {
    thumb *t;
    size_t n;
    char *contact;       /* contact sheet file name, NULL if none (owned) */
    int contact_width, contact_height;
    double seconds;
} thumbs_result;

struct mediaio_clock;
/* Make the thumbnails of `video` (probed as `p`) in `thumb_dir` (created)
 * and, if cfg->contact_sheet, `contact_path`. Every file is written to a
 * temporary name and renamed. `threads` caps the decoder's threads; the
 * reading is bounded by the item's clock `clk` (NULL: none, see
 * mediaio.h). On failure (-1, e set) `out` is left empty: nothing to
 * clear. */
int thumbs_make(const char *video, const probe_result *p, const thumbs_config *cfg,
                const char *thumb_dir, const char *contact_path, int threads,
                struct mediaio_clock *clk, thumbs_result *out, vb_error *e);
void thumbs_result_clear(thumbs_result *r);

struct writer;
void thumbs_write(const thumbs_result *r, struct writer *w);

#endif
