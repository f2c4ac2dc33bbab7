/* cmd-probe.c - `vbatch probe FILE...`: what the probe stage finds, as
 * text or JSON; a friendlier ffprobe. */
#include "config.h"
#include "cmd.h"
#include "msg.h"
#include "probe.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_option cmd_probe_options[] = {
    { "format", 'f', "FMT", "output format: text (default) or json" },
    { NULL, 0, NULL, NULL },
};

typedef struct cmd_probe_args { int format; } cmd_probe_args;

static int cmd_probe_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_probe_args *a = ud;
    if (strcmp(o->name, "format") == 0) {
        a->format = writer_format_parse(arg);
        if (a->format != WRITER_TEXT && a->format != WRITER_JSON)
            return cmd_bad_usage(&cmd_probe, "--format must be text or json, not '%s'", arg), -1;
    }
    return 0;
}

static int cmd_probe_exec(int argc, char **argv)
{
    cmd_probe_args a = { .format = WRITER_TEXT };
    int rc = cmd_parse(&cmd_probe, argc, argv, cmd_probe_opt, &a);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    if (optind >= argc)
        return cmd_bad_usage(&cmd_probe, "no FILE given");
    int status = VB_EXIT_OK;
    /* JSON: one array of results (errors as {"file","error"} entries) so
     * that the output is always one valid document. Text: one block per
     * file, separated by a blank line. */
    bool json = a.format == WRITER_JSON;
    writer *w = writer_new((enum writer_format)a.format);
    if (json)
        writer_begin_array(w, NULL);
    for (int i = optind; i < argc; i++) {
        probe_result *r = NULL;
        vb_error e = {0};
        writer_begin_object(w, NULL);
        if (probe_file(argv[i], NULL, &r, &e) != 0) {
            writer_string(w, "file", argv[i]);
            writer_string(w, "error", e.msg);
            msg_error("%s", e.msg);
            status = VB_EXIT_ITEMS;
        } else {
            probe_write(r, w);
            probe_result_free(&r);
        }
        writer_end_object(w);
        if (!json) {
            /* text: one block per file, a blank line between */
            if (i > optind)
                fputc('\n', stdout);
            writer_print(w, stdout);
            writer_free(&w);
            w = writer_new(WRITER_TEXT);
        }
    }
    if (json) {
        writer_end_array(w);
        writer_print(w, stdout);
    }
    writer_free(&w);
    return status;
}

const vb_command cmd_probe = {
    .name = "probe",
    .alias = NULL,
    .usage = "FILE... [--format text|json]",
    .summary = "show what the probe finds in media files (headers only)",
    .description =
        "Reads each file's headers with libavformat, without decoding, and prints\n"
        "container, duration, bit rate, size, faststart and every stream's codec,\n"
        "profile, size (and displayed size after rotation), aspect ratios, frame\n"
        "rates, pixel format, bit depth, colour description (HDR), sample rate,\n"
        "channels and language. Exit status 3 if a file could not be probed.",
    .options = cmd_probe_options,
    .exec = cmd_probe_exec,
};
