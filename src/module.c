/* module.c - find and load the media module (module.h) the first time a
 * run needs it. The module is linked -z now, so a module that does not
 * fit this vbatch fails here with dlerror's message instead of at some
 * later call; it is opened RTLD_LAZY, which leaves the libraries under it
 * (~50, libvips's and libavfilter's) to bind their own calls as they are
 * made instead of all at load (40M instructions of symbol lookups);
 * then its table is checked against what this vbatch was built with.
 * Loaded once (pthread_once), never unloaded: its functions and libvips's
 * threads live as long as the process.
 *
 * RTLD_DEEPBIND: the symbols of the libraries it brings (libvips and its
 * ~25) are looked up in them first, not after the ~150 objects already
 * loaded; the same objects are found (the module defines nothing vbatch
 * does), and the load takes half the time (10.5 -> 5.3 ms). The
 * sanitizers replace malloc from the executable, which DEEPBIND would
 * step past: not under them. */
#include "config.h"
#include "vb-paths.h"
#include "module.h"
#include "util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MODULE_DEEPBIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(thread_sanitizer)
#define MODULE_DEEPBIND 0
#endif
#endif
#ifndef MODULE_DEEPBIND
#define MODULE_DEEPBIND RTLD_DEEPBIND
#endif

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const module_media *loaded;
static char load_msg[sizeof ((vb_error *)0)->msg];

char *module_path(void)
{
    const char *env = getenv("VBATCH_MODULE_DIR");
    const char *dir = env && *env ? env : util_in_build_tree() ? VB_BUILD_DIR : VB_MODULE_DIR;
    return util_path_join(dir, MODULE_FILE);
}

static void module_load(void)
{
    char *path = module_path();
    void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL | MODULE_DEEPBIND);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_msg, sizeof load_msg,
                 "cannot load the media module (needed for analysis, thumbnails and "
                 "images): %s", why ? why : path);
        free(path);
        return;
    }
    dlerror();
    const module_media *m = dlsym(h, MODULE_ENTRY);
    const char *why = m ? NULL : dlerror();
    if (!m)
        snprintf(load_msg, sizeof load_msg, "%s is not a vbatch media module: %s", path,
                 why ? why : "no " MODULE_ENTRY);
    else if (m->abi != MODULE_ABI || m->size != sizeof *m ||
             !m->version || strcmp(m->version, PACKAGE_VERSION) != 0)
        snprintf(load_msg, sizeof load_msg,
                 "%s was built for vbatch %s (module interface %d), this is vbatch %s "
                 "(interface %d): reinstall vbatch", path, m->version ? m->version : "?",
                 m->abi, PACKAGE_VERSION, MODULE_ABI);
    else
        loaded = m;
    free(path);
    /* A module that does not fit is not used, but its library
     * constructors have run: leave it mapped rather than risk dlclose. */
}

const module_media *module_get(vb_error *e)
{
    pthread_once(&load_once, module_load);
    if (!loaded)
        vb_fail(e, VB_ERR_INTERNAL, "%s", load_msg);
    return loaded;
}

/* ---- loading ahead ---- */

static pthread_t pre_thread;
static bool pre_started;

static void *preload_main(void *images)
{
    vb_error e = {0};
    const module_media *m = module_get(&e);
    /* A failure is not reported here: the first real use reports it. */
    if (m && images)
        m->image_init(0, &e);
    return NULL;
}

void module_preload_start(bool images)
{
    if (pre_started)
        return;
    /* Signals are for the batch's signal thread, not this one. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pre_started = pthread_create(&pre_thread, NULL, preload_main,
                                 images ? (void *)1 : NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void module_preload_join(void)
{
    if (pre_started)
        pthread_join(pre_thread, NULL);
    pre_started = false;
}
