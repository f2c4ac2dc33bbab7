/* image.c - still images read with libvips: start the library once, read
 * an image's header without decoding its pixels, and check it against the
 * [qc] image rules.
 *
 * Inputs are untrusted, so the header is all we read: a PNG whose IHDR
 * claims 100000 x 100000 pixels costs nothing until someone decodes it,
 * and we refuse it before anyone does. libvips is used from here and from
 * thumbs.c only. */
#include "config.h"
#include "image.h"
#include "rules.h"
#include "writer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <vips/vips.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;
static char init_msg[512];
static bool started;

/* libvips and the libraries under it (pango, libpng...) report through
 * GLib's log; library code must never print, so the messages are
 * dropped. Errors still reach us through vips_error_buffer(). */
static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                      gpointer ud)
{
    (void)domain; (void)level; (void)msg; (void)ud;
}

static void init_vips(void)
{
    if (VIPS_INIT("vbatch") != 0) {
        snprintf(init_msg, sizeof init_msg, "cannot start libvips: %s",
                 vips_error_buffer());
        vips_error_clear();
        return;
    }
    g_log_set_handler("VIPS", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      quiet_log, NULL);
    g_log_set_default_handler(quiet_log, NULL);
    /* Our workers are the parallelism: one libvips thread per pipeline
     * keeps workers x threads near the core count. */
    vips_concurrency_set(1);
    /* Every image is used once: caching operations only costs memory. */
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    /* Inputs come from anywhere: keep to the loaders libvips trusts with
     * hostile files (no ImageMagick, no MATLAB...). */
    vips_block_untrusted_set(TRUE);
    started = true;
    init_rc = 0;
}

int image_vips_init(int workers, vb_error *e)
{
    (void)workers; /* the cap is one thread per worker whatever their number */
    pthread_once(&init_once, init_vips);
    if (init_rc != 0)
        return vb_fail(e, VB_ERR_INTERNAL, "%s", init_msg);
    return 0;
}

void image_vips_shutdown(void)
{
    if (started) {
        vips_shutdown();
        started = false;
    }
}

const char *image_vips_version(void)
{
    return vips_version_string();
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

/* "pngload" / "jpegload_source" -> "png" / "jpeg". */
static char *format_from_loader(const char *loader)
{
    const char *l = strstr(loader, "load");
    if (l && l > loader)
        return vb_xstrndup(loader, (size_t)(l - loader));
    return vb_xstrdup(loader);
}

int image_vips_fail(vb_error *e, int code, const char *what, const char *path)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", vips_error_buffer());
    vips_error_clear();
    /* libvips ends its messages with a newline and may hold several. */
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    if (!*msg)
        snprintf(msg, sizeof msg, "unknown libvips error");
    if (path)
        return vb_fail(e, code, "%s %s: %s", what, path, msg);
    return vb_fail(e, code, "%s: %s", what, msg);
}

int image_probe(const char *path, int64_t max_pixels, image_info *out, vb_error *e)
{
    memset(out, 0, sizeof *out);
    if (image_vips_init(0, e) != 0)
        return -1;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vb_fail(e, VB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return vb_fail(e, VB_ERR_IO, "%s is not a regular file", path);

    /* Sniffs the first bytes only; nothing is decoded. */
    const char *loader = vips_foreign_find_load(path);
    if (!loader) {
        vips_error_clear();
        return vb_fail(e, VB_ERR_MEDIA, "not an image (no image loader recognises it)");
    }
    /* Lazy: this reads the header and stops; pixels would only be
     * decoded when something asks for them, which nothing here does. */
    VipsImage *im = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!im)
        return image_vips_fail(e, VB_ERR_MEDIA, "cannot read the image header of", path);

    int w = vips_image_get_width(im), h = vips_image_get_height(im);
    int64_t px = (int64_t)w * h;
    if (max_pixels > 0 && px > max_pixels) {
        g_object_unref(im);
        return vb_fail(e, VB_ERR_LIMIT,
                       "image header claims %d x %d = %lld pixels, more than the limit of "
                       "%lld (decompression bomb?)",
                       w, h, (long long)px, (long long)max_pixels);
    }
    const char *nick = NULL;
    if (vips_image_get_typeof(im, "vips-loader") &&
        vips_image_get_string(im, "vips-loader", &nick) != 0) {
        vips_error_clear();
        nick = NULL;
    }
    if (!nick)
        nick = vips_nickname_find(g_type_from_name(loader));
    out->width = w;
    out->height = h;
    out->bands = vips_image_get_bands(im);
    out->format = format_from_loader(nick ? nick : loader);
    out->size = (int64_t)sb.st_size;
    g_object_unref(im);
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
