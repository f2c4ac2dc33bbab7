/* cmd-status.c - `vbatch status`: what the journal OUT/.vbatch/state.db
 * says about the batches run into OUT, without touching anything. */
#include "config.h"
#include "cmd.h"
#include "msg.h"
#include "queue.h"
#include "report.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_option cmd_status_options[] = {
    { "output", 'o', "DIR", "the output folder (default: vbatch-out)" },
    { "job-id", 'J', "ID", "one batch: its counts, progress, failures and timings" },
    { "format", 'f', "FMT", "text (default) or json" },
    { "queue", 'Q', "URL", "a queue's state instead (vbatch enqueue): items, pending per worker, lag, dead letters, throughput" },
    { "all", 'a', NULL, "with --job-id: list every failure (default: the first 10, and the count by stage)" },
    { NULL, 0, NULL, NULL },
};

typedef struct cmd_status_args {
    const char *queue;
    const char *out_dir;
    const char *batch_id;
    int format;
    bool all;
} cmd_status_args;

static int cmd_status_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_status_args *a = ud;
    if (strcmp(o->name, "output") == 0)
        a->out_dir = arg;
    else if (strcmp(o->name, "queue") == 0)
        a->queue = arg;
    else if (strcmp(o->name, "job-id") == 0)
        a->batch_id = arg;
    else if (strcmp(o->name, "all") == 0)
        a->all = true;
    else if (strcmp(o->name, "format") == 0) {
        a->format = writer_format_parse(arg);
        if (a->format != WRITER_TEXT && a->format != WRITER_JSON)
            return cmd_bad_usage(&cmd_status, "--format must be text or json, not '%s'", arg), -1;
    }
    return 0;
}

static int cmd_status_exec(int argc, char **argv)
{
    cmd_status_args a = { .out_dir = "vbatch-out", .format = WRITER_TEXT };
    int rc = cmd_parse(&cmd_status, argc, argv, cmd_status_opt, &a);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    if (optind < argc)
        return cmd_bad_usage(&cmd_status, "unexpected argument '%s'", argv[optind]);
    vb_error e = {0};
    queue *q = NULL;
    if (a.queue && a.batch_id)
        return cmd_bad_usage(&cmd_status, "--queue shows the queue: no --job-id");
    if (a.queue && !(q = queue_open_url(a.queue, 10, &e))) {
        msg_error("%s", e.msg);
        return e.code == VB_ERR_USAGE || e.code == VB_ERR_CONFIG ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    }
    if (!q && !a.batch_id && a.format == WRITER_TEXT) {
        if (report_status_lines(a.out_dir, stdout, &e) != 0) {
            msg_error("%s", e.msg);
            return e.code == VB_ERR_USAGE ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
        }
        return VB_EXIT_OK;
    }
    writer *w = writer_new((enum writer_format)a.format);
    writer_begin_object(w, NULL);
    if (a.format == WRITER_JSON)
        writer_int(w, "schema_version", VB_SCHEMA_VERSION);
    rc = q ? queue_status(q, w, &e) : report_status(a.out_dir, a.batch_id, a.all ? -1 : 10, w, &e);
    queue_close(&q);
    if (rc != 0) {
        writer_free(&w);
        msg_error("%s", e.msg);
        return e.code == VB_ERR_USAGE ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    }
    writer_end_object(w);
    writer_print(w, stdout);
    writer_free(&w);
    return VB_EXIT_OK;
}

const vb_command cmd_status = {
    .name = "status",
    .alias = NULL,
    .usage = "[--output DIR] [--job-id ID [--all]] [--format text|json]\n"
             "       --queue redis://[user@]host:port/DB/NAME [--format text|json]",
    .summary = "show the batches recorded in DIR, or one batch's progress and failures",
    .description =
        "Reads the journal DIR/.vbatch/state.db (also while a batch runs, and in a\n"
        "read-only DIR; it takes no lock and writes nothing). Without --job-id,\n"
        "lists every batch, one line each as text, with its status (running, done, interrupted, or\n"
        "\"interrupted (process gone)\" for a batch the journal marks running whose\n"
        "process has ended without a word, e.g. killed: no run holds DIR's lock;\n"
        "vbatch resume finishes it) and its items counted by status (pending,\n"
        "running, done, qc_failed, failed, skipped, and unknown: a status this\n"
        "vbatch does not know, from a newer vbatch or an edit by hand). With\n"
        "--job-id, shows that batch's counts, progress (finished of total),\n"
        "attempts (items retried), the items running (source, attempts, seconds),\n"
        "the items that could not be processed (source, folder, stage, message,\n"
        "attempts), its wall time and the time spent in each stage. A damaged\n"
        "journal, or one made by a newer vbatch, is refused (exit 2).\n"
        "With --queue, the queue instead: its items, results and dead letters, the\n"
        "entries pending (delivered, not acknowledged) in all and per worker, the lag\n"
        "(not delivered yet), whether the enqueue has ended, and the results per\n"
        "minute.",
    .options = cmd_status_options,
    .exec = cmd_status_exec,
};
