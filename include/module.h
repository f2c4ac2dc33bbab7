/* module.h - the media module, vbatch-media.so: everything that needs
 * libvips, libavfilter or libswscale (the decode analysis, thumbnails and
 * contact sheets, image header reads, their library versions). Those
 * libraries and their ~150 dependencies cost every run tens of MiB and
 * milliseconds at start, so vbatch does not link them: the module is
 * loaded with dlopen the first time a run needs it, once (thread-safe),
 * and never unloaded.
 *
 * Where it is looked for: $VBATCH_MODULE_DIR if set, else the build tree
 * when vbatch runs from there (as the presets), else $(pkglibdir). The
 * module calls back into vbatch's own functions (vb_fail, util_*,
 * mediaio_* ...), which the executable exports (--export-dynamic): it
 * holds no copy of vbatch's state.
 *
 * The core calls the module through analyse_file, thumbs_make, image_init,
 * image_probe and transcode_run (analyse.c, thumbs.c, image.c,
 * transcode.c); only this loader and those wrappers know it exists. */
#ifndef VB_MODULE_H
#define VB_MODULE_H

#include "vbatch.h"
#include "analyse.h"
#include "image.h"
#include "thumbs.h"
#include "transcode.h"

/* Raised whenever the table below or a type it passes changes. */
#define MODULE_ABI 5
#define MODULE_FILE "vbatch-media.so"
/* The one symbol the module exports: a const module_media. */
#define MODULE_ENTRY "media_module"

/* abi, size and version come first and keep their places for good, so
 * that any module can be told it does not fit. */
typedef struct module_media {
    int abi;                 /* MODULE_ABI the module was built with */
    size_t size;             /* sizeof (module_media) there */
    const char *version;     /* PACKAGE_VERSION there */
    /* ABI 5: cancel */
    int (*analyse_file)(const char *path, const analyse_config *cfg, int threads,
                        struct mediaio_clock *clk, const atomic_bool *cancel,
                        analyse_result **out, vb_error *e);
    int (*thumbs_make)(const char *video, const probe_result *p, const thumbs_config *cfg,
                       const char *thumb_dir, const char *contact_path, int threads,
                       struct mediaio_clock *clk, thumbs_result *out, vb_error *e);
    int (*image_init)(int workers, vb_error *e);
    int (*image_probe)(const char *path, int64_t max_pixels, image_info *out, vb_error *e);
    /* "libvips A, libavfilter B, libswscale C" as loaded */
    void (*versions)(char *buf, size_t len);
    /* ABI 2: the fix engine's pass (transcode.h) */
    int (*transcode)(const transcode_job *job, struct mediaio_clock *clk,
                     transcode_result *out, vb_error *e);
} module_media;

/* The module's table, loading it on the first call. NULL with e set
 * (VB_ERR_INTERNAL, the path and dlerror's message) if it can not be
 * loaded; every later call gives the same answer. */
const module_media *module_get(vb_error *e);
/* Where the module is (or would be) loaded from (owned by the caller);
 * loads nothing. */
char *module_path(void);

/* Load the module (and start libvips if images) on a thread of its own,
 * so that a batch whose items need it does not wait for it: its first
 * worker would load it while the others wait (~15 ms). At most one at a
 * time; module_preload_join waits for it. Errors show at the first use. */
void module_preload_start(bool images);
void module_preload_join(void);

#endif
