/* cmd-presets.c - `vbatch presets`: list the presets (shipped, the user's,
 * built in; where each comes from), or show the effective settings of one (defaults + the preset) with the same key
 * names as the INI files, so they can be copied into a --config file. */
#include "config.h"
#include "cmd.h"
#include "msg.h"
#include "preset.h"
#include "util.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_option cmd_presets_options[] = {
    { "format", 'f', "FMT", "text (default) or json" },
    { NULL, 0, NULL, NULL },
};

typedef struct cmd_presets_opts {
    int format; /* enum writer_format */
} cmd_presets_opts;

static int cmd_presets_opt(const cmd_option *opt, const char *arg, void *ud)
{
    cmd_presets_opts *o = ud;
    if (strcmp(opt->name, "format") == 0) {
        int f = writer_format_parse(arg);
        if (f != WRITER_TEXT && f != WRITER_JSON)
            return cmd_bad_usage(&cmd_presets, "unknown format '%s' (use text or json)",
                                 arg);
        o->format = f;
    }
    return 0;
}

typedef struct cmd_presets_entry {
    char *name, *description, *origin;  /* owned */
    char *path;                         /* owned, NULL for the built-in one */
    vb_strlist hidden;                  /* files of the name it hides */
} cmd_presets_entry;

typedef struct cmd_presets_found {
    cmd_presets_entry *v;
    size_t n;
} cmd_presets_found;

static void cmd_presets_collect(const preset_entry *p, void *ud)
{
    cmd_presets_found *f = ud;
    f->v = vb_xrealloc(f->v, (f->n + 1) * sizeof *f->v);
    cmd_presets_entry *x = &f->v[f->n++];
    *x = (cmd_presets_entry){
        .name = vb_xstrdup(p->name), .description = vb_xstrdup(p->description),
        .origin = vb_xstrdup(p->origin), .path = p->path ? vb_xstrdup(p->path) : NULL,
    };
    for (size_t i = 0; i < p->hidden->n; i++)
        vb_strlist_add(&x->hidden, p->hidden->v[i]);
}

/* "shipped", or "user, over shipped" for one that hides another. */
static char *cmd_presets_origin(const cmd_presets_entry *x, const vb_strlist *dirs,
                                const vb_strlist *origins)
{
    vb_strlist over = { 0 };
    for (size_t i = 0; i < x->hidden.n; i++)
        for (size_t d = 0; d < dirs->n; d++)
            if (util_path_within(x->hidden.v[i], dirs->v[d]) &&
                !vb_strlist_has(&over, origins->v[d])) {
                vb_strlist_add(&over, origins->v[d]);
                break;
            }
    char *s;
    if (over.n) {
        char *o = vb_strlist_join(&over, ", ");
        s = vb_xasprintf("%s, over %s", x->origin, o);
        free(o);
    } else {
        s = vb_xstrdup(x->origin);
    }
    vb_strlist_clear(&over);
    return s;
}

static int cmd_presets_list(int format)
{
    cmd_presets_found f = { 0 };
    vb_error e = { 0 };
    if (preset_list(cmd_presets_collect, &f, &e) != 0) {
        msg_error("%s", e.msg);
        return VB_EXIT_USAGE;
    }
    if (format == WRITER_JSON) {
        writer *w = writer_new(WRITER_JSON);
        writer_begin_array(w, NULL);
        for (size_t i = 0; i < f.n; i++) {
            writer_begin_object(w, NULL);
            writer_string(w, "name", f.v[i].name);
            writer_string(w, "description", f.v[i].description);
            writer_string(w, "origin", f.v[i].origin);
            if (f.v[i].path)
                writer_string(w, "path", f.v[i].path);
            else
                writer_null(w, "path");
            writer_begin_array(w, "hides");
            for (size_t j = 0; j < f.v[i].hidden.n; j++)
                writer_string(w, NULL, f.v[i].hidden.v[j]);
            writer_end_array(w);
            writer_end_object(w);
        }
        writer_end_array(w);
        writer_print(w, stdout);
        writer_free(&w);
    } else {
        /* Plain aligned lines: easy to read and to cut. NAME ORIGIN
         * DESCRIPTION, the folders searched after them. */
        vb_strlist dirs = { 0 }, origins = { 0 };
        preset_folders(&dirs, &origins);
        char **org = vb_xmalloc((f.n + 1) * sizeof *org);
        int width = 0, owidth = 0;
        for (size_t i = 0; i < f.n; i++) {
            org[i] = cmd_presets_origin(&f.v[i], &dirs, &origins);
            int n = (int)strlen(f.v[i].name), o = (int)strlen(org[i]);
            width = n > width ? n : width;
            owidth = o > owidth ? o : owidth;
        }
        for (size_t i = 0; i < f.n; i++) {
            printf("%-*s  %-*s  %s\n", width, f.v[i].name, owidth, org[i],
                   f.v[i].description);
            free(org[i]);
        }
        free(org);
        /* The folders only when asked (vbatch -v presets): the list stays
         * one line a preset for scripts. */
        if (vb_verbosity >= 2) {
            printf("\nfolders, the first found winning:\n");
            for (size_t d = 0; d < dirs.n; d++)
                printf("  %-8s %s\n", origins.v[d], dirs.v[d]);
            printf("  %-8s default\n", "built-in");
        }
        vb_strlist_clear(&dirs);
        vb_strlist_clear(&origins);
    }
    for (size_t i = 0; i < f.n; i++) {
        free(f.v[i].name);
        free(f.v[i].description);
        free(f.v[i].origin);
        free(f.v[i].path);
        vb_strlist_clear(&f.v[i].hidden);
    }
    free(f.v);
    return VB_EXIT_OK;
}

static int cmd_presets_show(const char *name, int format)
{
    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    if (preset_load_name(&c, name, &e) != 0) {
        msg_error("%s", e.msg);
        preset_free_contents(&c);
        return VB_EXIT_USAGE;
    }
    if (format == WRITER_JSON) {
        writer *w = writer_new(format);
        writer_begin_object(w, NULL);
        preset_write(&c, w);
        writer_end_object(w);
        writer_print(w, stdout);
        writer_free(&w);
    } else {
        /* Text is an INI file: `vbatch presets X > my.ini` is a start. */
        preset_write_ini(&c, stdout);
    }
    preset_free_contents(&c);
    return VB_EXIT_OK;
}

static int cmd_presets_exec(int argc, char **argv)
{
    cmd_presets_opts o = { .format = WRITER_TEXT };
    int rc = cmd_parse(&cmd_presets, argc, argv, cmd_presets_opt, &o);
    if (rc > 0)
        return VB_EXIT_OK;
    if (rc < 0)
        return VB_EXIT_USAGE;
    if (argc - optind > 1)
        return cmd_bad_usage(&cmd_presets, "too many arguments");
    int status = optind < argc ? cmd_presets_show(argv[optind], o.format)
                               : cmd_presets_list(o.format);
    if (fflush(stdout) != 0 && status == VB_EXIT_OK) {
        perror("vbatch: standard output");
        status = VB_EXIT_ITEMS;
    }
    return status;
}

const vb_command cmd_presets = {
    .name = "presets",
    .alias = NULL,
    .usage = "[NAME | FILE.ini] [--format text|json]",
    .summary = "list the presets, or show one's effective settings",
    .description =
        "Without NAME, list the presets, what each is for and where it comes\n"
        "from (with --verbose, the folders searched too). With NAME (or the\n"
        "path of an .ini file), show every setting in effect with that preset:\n"
        "the built-in defaults with the preset on top, as an INI file that\n"
        "--config reads. Presets are looked for, the first found winning, in\n"
        "each folder of $VBATCH_PRESET_DIR (colon-separated; env), in the user's\n"
        "folder $XDG_CONFIG_HOME/vbatch/presets or ~/.config/vbatch/presets\n"
        "(user), then in the shipped folder (the source tree's presets/ when run\n"
        "from the build tree); `default` is also built in. A preset that\n"
        "inherits its own name (a user's kling-clip.ini with inherit =\n"
        "kling-clip) gets the next one of that name down.",
    .options = cmd_presets_options,
    .exec = cmd_presets_exec,
};
