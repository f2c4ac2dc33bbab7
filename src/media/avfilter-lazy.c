/* avfilter-lazy.c - libavfilter opened on first use (avfilter-lazy.h). */
#define AVF_LAZY_IMPL
#include "config.h"
#include "avfilter-lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

avf_table avf_fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_rc = -1;
static char load_msg[512];

static void avf_open(void)
{
    char name[64];
    snprintf(name, sizeof name, "libavfilter.so.%d", LIBAVFILTER_VERSION_MAJOR);
    /* Bound now, as the module itself is: a library that does not fit
     * fails here, once, and says so. */
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_msg, sizeof load_msg, "cannot load %s: %s", name, why ? why : "?");
        return;
    }
#define AVF_SYM(n)                                                                 \
    if (!(*(void **)&avf_fn.n = dlsym(h, #n))) {                                   \
        snprintf(load_msg, sizeof load_msg, "%s has no %s", name, #n);             \
        return;                                                                    \
    }
    AVF_FUNCS(AVF_SYM)
#undef AVF_SYM
    load_rc = 0;
}

int avf_load(vb_error *e)
{
    pthread_once(&load_once, avf_open);
    return load_rc == 0 ? 0 : vb_fail(e, VB_ERR_INTERNAL, "%s", load_msg);
}
