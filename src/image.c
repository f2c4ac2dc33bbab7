/* image.c - still images: which names are images, the [qc] image rules
 * and the image.json fields. The header reads themselves need libvips and
 * run in the media module (src/media/image-vips.c), loaded on first use. */
#include "config.h"
#include "image.h"
#include "module.h"
#include "rules.h"
#include "stage.h"
#include "writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int image_init(int workers, vb_error *e)
{
    const module_media *m = module_get(e);
    return m ? m->image_init(workers, e) : -1;
}

int image_probe(const char *path, int64_t max_pixels, image_info *out, vb_error *e)
{
    memset(out, 0, sizeof *out);
    const module_media *m = module_get(e);
    return m ? m->image_probe(path, max_pixels, out, e) : -1;
}

bool image_is_image_name(const char *name)
{
    static const char *const exts[] = { "png", "jpg", "jpeg", "webp", "gif", "tif", "tiff",
                                        "bmp", "avif", "heic", "heif" };
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');
    if (!dot || dot[1] == '\0')
        return false;
    for (size_t i = 0; i < VB_ARRAY_LEN(exts); i++)
        if (strcasecmp(dot + 1, exts[i]) == 0)
            return true;
    return false;
}

void image_info_clear(image_info *i)
{
    if (!i)
        return;
    free(i->format);
    memset(i, 0, sizeof *i);
}

/* "jpeg" is also spelled "jpg", "tiff" "tif", "heif" "heic". */
static bool format_allowed(const vb_strlist *allowed, const char *f)
{
    if (vb_strlist_has(allowed, f))
        return true;
    static const char *const alias[][2] = { { "jpeg", "jpg" }, { "tiff", "tif" },
                                            { "heif", "heic" }, { "heif", "avif" } };
    for (size_t i = 0; i < VB_ARRAY_LEN(alias); i++)
        if (strcmp(f, alias[i][0]) == 0 && vb_strlist_has(allowed, alias[i][1]))
            return true;
    return false;
}

void image_rules(const qc_config *q, const image_info *i, const char *prefix,
                 rule_report *rep)
{
    char name[96], v[64], l[64];
    int lv = q->image_level;
    if (q->image_min_width > 0) {
        snprintf(name, sizeof name, "%s_min_width", prefix);
        snprintf(v, sizeof v, "%d px", i->width);
        snprintf(l, sizeof l, "%d px", q->image_min_width);
        rules_add(rep, name, lv, i->width >= q->image_min_width, v, l,
                  "image width %d px, minimum %d px", i->width, q->image_min_width);
    }
    if (q->image_min_height > 0) {
        snprintf(name, sizeof name, "%s_min_height", prefix);
        snprintf(v, sizeof v, "%d px", i->height);
        snprintf(l, sizeof l, "%d px", q->image_min_height);
        rules_add(rep, name, lv, i->height >= q->image_min_height, v, l,
                  "image height %d px, minimum %d px", i->height, q->image_min_height);
    }
    if (q->image_aspect_ratio > 0) {
        double a = i->height > 0 ? (double)i->width / i->height : NAN;
        double dev = fabs(a - q->image_aspect_ratio) / q->image_aspect_ratio;
        snprintf(name, sizeof name, "%s_aspect_ratio", prefix);
        snprintf(v, sizeof v, "%.4f", a);
        snprintf(l, sizeof l, "%.4f +/- %.1f%%", q->image_aspect_ratio,
                 q->image_aspect_tolerance * 100);
        rules_add(rep, name, lv, isfinite(a) && dev <= q->image_aspect_tolerance, v, l,
                  "image aspect ratio %.4f, expected %.4f within %.1f%%", a,
                  q->image_aspect_ratio, q->image_aspect_tolerance * 100);
    }
    if (q->image_formats.n > 0) {
        snprintf(name, sizeof name, "%s_format", prefix);
        char *al = vb_strlist_join(&q->image_formats, ", ");
        const char *f = i->format ? i->format : NULL;
        rules_add(rep, name, lv, f && format_allowed(&q->image_formats, f), f, al,
                  "image format %s, allowed: %s", f ? f : "unknown", al);
        free(al);
    }
}

void image_write(const image_info *i, writer *w)
{
    writer_int(w, "width", i->width);
    writer_int(w, "height", i->height);
    writer_int(w, "bands", i->bands);
    writer_string(w, "format", i->format);
    writer_int(w, "size", i->size);
}

/* ---- the image stage ---- */

static bool image_wanted(const item *it, const vb_config *cfg)
{
    (void)cfg;
    return it->is_image;
}

/* A still image: its header (no pixel is decoded), image.json. */
static int image_run(item *it, const vb_config *cfg, vb_error *e)
{
    item_record *r = &it->rec;
    r->kind = ITEM_IMAGE;
    if (image_init(it->env->workers, e) != 0 ||
        image_probe(it->media, cfg->qc.image_max_pixels, &it->image, e) != 0)
        return -1;
    r->width = it->image.width;
    r->height = it->image.height;
    r->size = it->image.size;
    r->image_format = vb_xstrdup(it->image.format);
    writer *w = item_meta_writer();
    image_write(&it->image, w);
    writer_end_object(w);
    return item_meta_save(it, "image.json", w, e);
}

const stage stage_image = { STAGE_PROBE, "probe", image_wanted, image_run };
