/* cmd-probe.c - `vbatch probe FILE...`: what the probe stage finds, as
 * text or JSON; a friendlier ffprobe. */
#include "config.h"
#include "cmd.h"
#include "msg.h"
#include "probe.h"
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_option cmd_probe_options[] = {
    { "format", 'f', "FMT", "output format: text (default) or json" },
    { "verbose", 'v', NULL, "say which files needed the decoders' stream information (the slow path) and why" },
    { "null", '0', NULL, "FILE - : the names read from standard input end with a NUL byte, not a newline (find -print0)" },
    { NULL, 0, NULL, NULL },
};

typedef struct cmd_probe_args {
    int format;
    bool null;
} cmd_probe_args;

/* The run: JSON is one array of results (errors as {"file","error"}
 * entries), so that the output is always one valid document; text is one
 * block per file, a blank line between. */
typedef struct cmd_probe_run {
    writer *w;
    bool json;
    int done;                 /* files shown */
    int probed;               /* files probed */
    int slow;                 /* of which through find_stream_info */
    int status;
} cmd_probe_run;

static int cmd_probe_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_probe_args *a = ud;
    if (strcmp(o->name, "format") == 0) {
        a->format = writer_format_parse(arg);
        if (a->format != WRITER_TEXT && a->format != WRITER_JSON)
            return cmd_bad_usage(&cmd_probe, "--format must be text or json, not '%s'", arg), -1;
    } else if (strcmp(o->name, "null") == 0) {
        a->null = true;
    } else if (strcmp(o->name, "verbose") == 0) {
        vb_verbosity = 2;
    }
    return 0;
}

static void cmd_probe_one(cmd_probe_run *run, const char *file)
{
    probe_result *r = NULL;
    vb_error e = {0};
    writer *w = run->w;
    writer_begin_object(w, NULL);
    if (probe_file(file, NULL, &r, &e) != 0) {
        writer_string(w, "file", file);
        writer_string(w, "error", e.msg);
        msg_error("%s", e.msg);
        run->status = VB_EXIT_ITEMS;
    } else {
        run->probed++;
        /* A fast path that stops being taken shows only as slowness:
         * say so per file, and count them for the summary. */
        if (r->used_stream_info) {
            run->slow++;
            msg_verbose("%s: read with the decoders' stream information (slow path): %s",
                        file, r->slow_reason ? r->slow_reason : "unknown");
        }
        probe_write(r, w);
        probe_result_free(&r);
    }
    writer_end_object(w);
    if (run->json)
        fflush(stdout); /* a pipe's reader sees each result as it comes */
    if (!run->json) {
        if (run->done > 0)
            fputc('\n', stdout);
        writer_print(w, stdout);
        writer_free(&run->w);
        run->w = writer_new(WRITER_TEXT);
    }
    run->done++;
}

/* "-": the names on standard input, one a line (or NUL-terminated);
 * blank entries are skipped. */
static void cmd_probe_stdin(cmd_probe_run *run, bool null)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getdelim(&line, &cap, null ? '\0' : '\n', stdin)) > 0) {
        if (!null && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > 0 && line[0])
            cmd_probe_one(run, line);
    }
    if (ferror(stdin)) {
        msg_error("cannot read the names on standard input: %s", strerror(errno));
        run->status = VB_EXIT_ITEMS;
    }
    free(line);
}

static int cmd_probe_exec(int argc, char **argv)
{
    cmd_probe_args a = { .format = WRITER_TEXT };
    int rc = cmd_parse(&cmd_probe, argc, argv, cmd_probe_opt, &a);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    if (optind >= argc)
        return cmd_bad_usage(&cmd_probe, "no FILE given");
    cmd_probe_run run = { .json = a.format == WRITER_JSON, .status = VB_EXIT_OK };
    /* JSON streams: each file's object is on stdout as soon as it is
     * probed, in flat memory however many files there are (a tree of
     * 100k results grew to 150 MiB). */
    run.w = run.json ? writer_new_stream(WRITER_JSON, stdout) : writer_new(WRITER_TEXT);
    if (run.json)
        writer_begin_array(run.w, NULL);
    bool stdin_read = false;
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0 && !stdin_read) {
            stdin_read = true;
            cmd_probe_stdin(&run, a.null);
        } else if (strcmp(argv[i], "-") != 0) {
            cmd_probe_one(&run, argv[i]);
        }
    }
    if (run.json) {
        writer_end_array(run.w);
        writer_print(run.w, stdout);
    }
    writer_free(&run.w);
    msg_verbose("%d of %d files needed the decoders' stream information (slow path)",
                run.slow, run.probed);
    return run.status;
}

const vb_command cmd_probe = {
    .name = "probe",
    .alias = NULL,
    .usage = "FILE...|- [--format text|json] [--null] [--verbose]",
    .summary = "show what the probe finds in media files (headers only)",
    .description =
        "Reads each file's headers with libavformat, without decoding, and prints\n"
        "container, duration, bit rate, size, faststart and every stream's codec,\n"
        "profile, size (and displayed size after rotation), aspect ratios, frame\n"
        "rates, pixel format, bit depth, colour description (HDR), sample rate,\n"
        "channels and language. FILE - reads the names of the files from standard\n"
        "input, one a line (with --null, NUL-terminated: find -print0). With\n"
        "--verbose, each file that needed avformat_find_stream_info (decoding its\n"
        "first frames: the slow path) is named on standard error with the reason,\n"
        "and a last line counts them.\n"
        "Exit status 3 if a file could not be probed.",
    .options = cmd_probe_options,
    .exec = cmd_probe_exec,
};
