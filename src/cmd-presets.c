/* cmd-presets.c - `vbatch presets`: list the shipped presets, or show the
 * effective settings of one (defaults + the preset) with the same key
 * names as the INI files, so they can be copied into a --config file. */
#include "config.h"
#include "cmd.h"
#include "msg.h"
#include "preset.h"
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
    char *name, *description;
} cmd_presets_entry;

typedef struct cmd_presets_found {
    cmd_presets_entry *v;
    size_t n;
} cmd_presets_found;

static void cmd_presets_collect(const char *name, const char *description, void *ud)
{
    cmd_presets_found *f = ud;
    f->v = vb_xrealloc(f->v, (f->n + 1) * sizeof *f->v);
    f->v[f->n].name = vb_xstrdup(name);
    f->v[f->n].description = vb_xstrdup(description);
    f->n++;
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
            writer_end_object(w);
        }
        writer_end_array(w);
        writer_print(w, stdout);
        writer_free(&w);
    } else {
        /* Plain aligned lines: easy to read and to cut. */
        int width = 0;
        for (size_t i = 0; i < f.n; i++) {
            int n = (int)strlen(f.v[i].name);
            if (n > width)
                width = n;
        }
        for (size_t i = 0; i < f.n; i++)
            printf("%-*s  %s\n", width, f.v[i].name, f.v[i].description);
    }
    for (size_t i = 0; i < f.n; i++) {
        free(f.v[i].name);
        free(f.v[i].description);
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
    .summary = "list the shipped presets, or show one's effective settings",
    .description =
        "Without NAME, list the presets shipped with vbatch and what each is for.\n"
        "With NAME (or the path of an .ini file), show every setting in effect\n"
        "with that preset: the built-in defaults with the preset on top. Key\n"
        "names are those of the INI files, so they can be copied into a\n"
        "--config file. Presets are read from $VBATCH_PRESET_DIR if set, from\n"
        "the source tree's presets/ when run from the build tree, or else from\n"
        "the installed presets folder.",
    .options = cmd_presets_options,
    .exec = cmd_presets_exec,
};
