/* image-vips.c - in the media module: start libvips once and read an
 * image's header without decoding its pixels (image.c holds the rules and
 * the output, which need no libvips).
 *
 * Inputs are untrusted, so the header is all we read: a PNG whose IHDR
 * claims 100000 x 100000 pixels costs nothing until someone decodes it,
 * and we refuse it before anyone does. libvips is used from here and from
 * thumbs-render.c only. */
#include "config.h"
#include "media.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gmodule.h>
#include <vips/vips.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;
static char init_msg[512];
/* libvips loads its modules itself: the user set VIPSHOME (init_vips). */
static bool modules_by_vips;
static pthread_once_t heif_once = PTHREAD_ONCE_INIT;

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
    /* libvips loads every module in its module folder when it starts
     * (heif, jxl, magick, openslide, poppler: half its start-up), though
     * we save only formats built into it. It takes that folder from
     * VIPSHOME: its own prefix gives its own folder, anything else
     * VIPSHOME/<libdir's last part>, so the prefix spelt with a slash
     * more names the same prefix (the locale folder is found as before)
     * and a module folder that does not exist: none loads. heif_load
     * brings in the one still images need, when they need it. VIPS_INIT
     * sets VIPSHOME itself (vips_guess_prefix), so this is no less safe.
     * A VIPSHOME the user set is theirs: their libvips finds its modules
     * as it always did. */
    modules_by_vips = g_getenv("VIPSHOME") != NULL;
    if (!modules_by_vips)
        g_setenv("VIPSHOME", VB_VIPS_PREFIX "/", TRUE);
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

/* libvips's HEIF module (HEIC, AVIF): the only one of its modules our
 * inputs need (image_is_image_name). Loading it registers its loaders
 * (GModule calls its g_module_check_init); it stays loaded. A libvips
 * built with no modules has HEIF built in, or not at all: nothing to do. */
static void heif_load(void)
{
    const char *path = VB_VIPS_MODULE_DIR "/vips-heif.so";
    if (modules_by_vips || !g_file_test(path, G_FILE_TEST_EXISTS))
        return;
    if (!g_module_open(path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL))
        /* As libvips does with a module that fails: go on without it. */
        return;
    /* The block (init_vips) is set on the classes there were: again, so
     * that it holds for the module's loaders as it did when libvips
     * loaded them before it. */
    vips_block_untrusted_set(TRUE);
}

const char *image_vips_version(void)
{
    return vips_version_string();
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

int image_vips_probe(const char *path, int64_t max_pixels, image_info *out, vb_error *e)
{
    memset(out, 0, sizeof *out);
    if (image_vips_init(0, e) != 0)
        return -1;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vb_fail(e, VB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return vb_fail(e, VB_ERR_IO, "%s is not a regular file", path);

    /* Sniffs the first bytes only; nothing is decoded. What the loaders
     * built into libvips do not know may be HEIF: with its module loaded
     * (once), sniffed again. Our own thumbnails never need it. */
    const char *loader = vips_foreign_find_load(path);
    if (!loader) {
        vips_error_clear();
        pthread_once(&heif_once, heif_load);
        loader = vips_foreign_find_load(path);
    }
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

