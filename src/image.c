/* image.c - still images: which names are images, the [qc] image rules
 * and the image.json fields. The header reads themselves need libvips and
 * run in the media module (src/media/image-vips.c), loaded on first use. */
#include "config.h"
#include "image.h"
#include "module.h"
#include "rules.h"
#include "stage.h"
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | be16(p + 2); }
static unsigned le16(const uint8_t *p) { return (unsigned)p[1] << 8 | p[0]; }
static uint32_t le24(const uint8_t *p) { return (uint32_t)p[2] << 16 | le16(p); }

/* JPEG: the markers up to the first frame header (SOFn). */
static int quick_jpeg(const uint8_t *b, size_t n, image_info *o)
{
    size_t i = 2;
    while (i + 4 <= n) {
        if (b[i] != 0xFF)
            return 1;
        unsigned m = b[i + 1];
        if (m == 0xFF) { /* fill */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* no length */
            i += 2;
            continue;
        }
        if (m == 0xD8 || m == 0xD9 || m == 0xDA) /* no frame before the scan */
            return 1;
        unsigned len = be16(b + i + 2);
        if (len < 2)
            return 1;
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (len < 8 || i + 10 > n)
                return 1;
            o->height = (int)be16(b + i + 5);
            o->width = (int)be16(b + i + 7);
            o->bands = b[i + 9];
            o->format = vb_xstrdup("jpeg");
            return o->width > 0 && o->height > 0 && o->bands > 0 ? 0 : 1;
        }
        i += 2 + (size_t)len;
    }
    return 1;
}

/* PNG: the IHDR chunk, first after the signature. */
static int quick_png(const uint8_t *b, size_t n, image_info *o)
{
    if (n < 33 || be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        return 1;
    uint32_t w = be32(b + 16), h = be32(b + 20);
    /* libvips's bands: grey 1, grey + alpha 2, RGB and palette 3, RGBA 4;
     * a palette's transparency (tRNS) would make 4: left to libvips. */
    static const int bands[7] = { 1, 0, 3, 0, 2, 0, 4 };
    unsigned ct = b[25];
    if (w == 0 || h == 0 || w > INT32_MAX || h > INT32_MAX || ct > 6 || ct == 3 ||
        bands[ct] == 0)
        return 1;
    o->width = (int)w;
    o->height = (int)h;
    o->bands = bands[ct];
    o->format = vb_xstrdup("png");
    return 0;
}

/* WebP: a lossy (VP8) or lossless (VP8L) image alone; the extended
 * format (VP8X: alpha, animation) is left to libvips. */
static int quick_webp(const uint8_t *b, size_t n, image_info *o)
{
    if (n < 30 || memcmp(b + 8, "WEBP", 4) != 0)
        return 1;
    if (memcmp(b + 12, "VP8 ", 4) == 0) {
        /* The frame tag (3 bytes, bit 0 clear: a key frame), its start
         * code, then 14-bit width and height. */
        if ((b[20] & 1) != 0 || b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A)
            return 1;
        o->width = (int)(le16(b + 26) & 0x3FFF);
        o->height = (int)(le16(b + 28) & 0x3FFF);
        o->bands = 3;
    } else if (memcmp(b + 12, "VP8L", 4) == 0) {
        uint32_t v = le24(b + 21) | (uint32_t)b[24] << 24;
        if (b[20] != 0x2F)
            return 1;
        o->width = (int)(v & 0x3FFF) + 1;
        o->height = (int)((v >> 14) & 0x3FFF) + 1;
        /* The alpha hint: libvips gives 4 bands when it is set. */
        o->bands = (v >> 28) & 1 ? 4 : 3;
    } else {
        return 1;
    }
    if (o->width <= 0 || o->height <= 0)
        return 1;
    o->format = vb_xstrdup("webp");
    return 0;
}

int image_header_quick(const char *path, image_info *out, vb_error *e)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vb_fail(e, VB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    struct stat sb;
    /* JPEG's frame header follows the tables, a few hundred bytes in. */
    uint8_t b[4096];
    ssize_t got = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? read(fd, b, sizeof b) : -1;
    close(fd);
    if (got < 0)
        return 1;
    size_t n = (size_t)got;
    int rc = 1;
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        rc = quick_jpeg(b, n, out);
    else if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        rc = quick_png(b, n, out);
    else if (n >= 12 && memcmp(b, "RIFF", 4) == 0)
        rc = quick_webp(b, n, out);
    if (rc != 0) {
        image_info_clear(out);
        return 1;
    }
    out->size = (int64_t)sb.st_size;
    return 0;
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
