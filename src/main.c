/* main.c - global options, command dispatch and the exit status. Thin on
 * purpose: everything else lives in cmd-*.c and the stage files. */
#include "config.h"
#include "cmd.h"
#include "csvio.h"
#include "fetch.h"
#include "module.h"
#include "msg.h"
#include "probe.h"
#include "util.h"

#include <ini.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_version(void)
{
    char av[512];
    probe_versions(av, sizeof av);
    printf("vbatch %s\n", PACKAGE_VERSION);
    printf("  %s\n", av);
    /* Without --verbose the media module is not loaded (that is the
     * point of it): the versions it was built with are shown. */
    if (vb_verbosity < 2) {
        printf("  media module, loaded when needed: %s (built with)\n", VB_MEDIA_VERSIONS);
    } else {
        char *path = module_path();
        vb_error e = {0};
        const module_media *m = module_get(&e);
        char v[256];
        if (m)
            m->versions(v, sizeof v);
        printf("  media module %s: %s\n", path, m ? v : e.msg);
        free(path);
    }
    printf("  %s\n", fetch_version());
    printf("  jansson %s, inih %s, libcsv %s\n", jansson_version_str(),
           VB_INIH_VERSION, csvio_version());
    /* The source is MIT; a binary linked against a GPL FFmpeg (Debian's,
     * with libx264) is a combined work under the GPL (NOTICE). */
    const char *lic = probe_ffmpeg_license();
    printf("licence: MIT, copyright the vbatch authors (LICENSE)\n");
    if (strncmp(lic, "GPL", 3) == 0)
        printf("  this binary links FFmpeg under the %s: it is distributed under the "
               "GPL's terms (NOTICE)\n", lic);
    else
        printf("  this binary links FFmpeg under the %s (NOTICE)\n", lic);
}

static int run(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            print_version();
            return VB_EXIT_OK;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cmd_usage_all(stdout);
            return VB_EXIT_OK;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            vb_verbosity = 0;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            vb_verbosity = 2;
        } else {
            static const char *const globals[] = { "--quiet", "--verbose", "--help",
                                                   "--version" };
            const char *hint = util_suggest(a, globals, VB_ARRAY_LEN(globals));
            msg_error("unknown option %s%s%s%s; see 'vbatch --help'", a,
                      hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
            return VB_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        cmd_usage_all(stderr);
        return VB_EXIT_USAGE;
    }
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 >= argc) {
            cmd_usage_all(stdout);
            return VB_EXIT_OK;
        }
        const char *what = argv[i + 1];
        if (strcmp(what, "help") == 0) {
            fputs("usage: vbatch help [COMMAND]\n\nShow the commands, or one command's "
                  "usage, options and exit status\n(as `vbatch COMMAND --help`).\n", stdout);
            return VB_EXIT_OK;
        }
        if (strcmp(what, "version") == 0) {
            fputs("usage: vbatch version (or --version, -V)\n\nShow the versions of vbatch "
                  "and of the libraries it uses\n(with --verbose, those of the media module "
                  "as loaded).\n", stdout);
            return VB_EXIT_OK;
        }
        const vb_command *c = cmd_find(what);
        if (!c)
            return cmd_unknown(what);
        cmd_help(stdout, c);
        return VB_EXIT_OK;
    }
    if (strcmp(name, "version") == 0) {
        print_version();
        return VB_EXIT_OK;
    }
    const vb_command *c = cmd_find(name);
    if (!c)
        return cmd_unknown(name);
    vb_error e = {0};
    if (fetch_global_init(&e) != 0) {
        msg_error("%s", e.msg);
        return VB_EXIT_ITEMS;
    }
    int rc = c->exec(argc - i, argv + i);
    fetch_global_cleanup();
    return rc;
}

/* glibc hands heap memory back once 128 KiB of it is free at the top,
 * and maps every block of 128 KiB or more afresh until its dynamic
 * threshold has risen. Each file probed or decoded allocates and frees
 * the demuxer's, parsers' and decoders' buffers of a few hundred KiB, so
 * that memory was returned and faulted in again file after file: a third
 * of `vbatch probe`'s CPU time on a mixed folder (83,000 page faults for
 * 2,000 files, 2,500 with this). Blocks under 4 MiB (a 1080p picture)
 * now come from the heap, and up to 16 MiB of it is kept free. */
static void tune_malloc(void)
{
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
}

int main(int argc, char **argv)
{
    tune_malloc();
    char *cmdline = cmd_join_argv(argc, argv);
    vb_command_line = cmdline;
    int rc = run(argc, argv);
    free(cmdline);
    return rc;
}
