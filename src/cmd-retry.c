/* cmd-retry.c - `vbatch retry`: reprocess the failed items of a batch
 * recorded in the journal (after a file was replaced, or a share came
 * back), with the settings the batch ran with. The run itself is
 * resume's (cmd_run_recorded in cmd-resume.c). */
#include "config.h"
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_option cmd_retry_options[] = {
    { "job-id", 'J', "ID", "the batch to retry (required; see vbatch status)" },
    { "output", 'o', "DIR", "its output folder (default: vbatch-out)" },
    { "only", 0, "STATUS", "the items to redo: failed (default) or qc_failed" },
    { "retry-count", 0, "N", "rounds: an item that fails again is retried up to N times (default 1)" },
    { "jobs", 'j', "N", "worker threads (default: the batch's [batch] jobs, else the number of cores)" },
    { "error-handling", 0, "MODE", "continue, or stop taking items after one fails (default: the batch's [batch] error_handling)" },
    { "budget", 0, "UNITS", "generate batches: the budget in units from now on (default: the batch's [generate] budget)" },
    { "from-list", 'l', "FILE", "read the full URLs of the batch's URL items from FILE (repeatable; default: the batch's own list files)" },
    { "notify", 0, "URL", "the batch's webhook ([notify] url) given again: the journal keeps its host only" },
    { "notify-items", 0, NULL, "also a message per item ([notify] items; default: as the batch ran)" },
    { "quiet", 'q', NULL, "print nothing but errors that stop the run" },
    { "verbose", 'v', NULL, "print a line for every item" },
    { NULL, 0, NULL, NULL },
};

typedef struct cmd_retry_args {
    recorded_args r;
    const char *only;
    int rounds;
} cmd_retry_args;

static int cmd_retry_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_retry_args *a = ud;
    int rc = cmd_recorded_opt(&cmd_retry, o, arg, &a->r);
    if (rc <= 0)
        return rc;
    if (strcmp(o->name, "only") == 0) {
        if (strcmp(arg, "failed") != 0 && strcmp(arg, "qc_failed") != 0) {
            cmd_bad_usage(&cmd_retry, "--only needs failed or qc_failed, not '%s'", arg);
            return -1;
        }
        a->only = arg;
    } else if (strcmp(o->name, "retry-count") == 0) {
        if (cmd_int_arg(&cmd_retry, o->name, arg, "a number", 1, 100, &a->rounds) != 0)
            return -1;
    }
    return 0;
}

static int cmd_retry_exec(int argc, char **argv)
{
    cmd_retry_args a = { .r = { .out_dir = "vbatch-out" }, .only = "failed", .rounds = 1 };
    int rc = cmd_parse(&cmd_retry, argc, argv, cmd_retry_opt, &a);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    return cmd_run_recorded(&cmd_retry, argc, argv, &a.r, a.only, a.rounds);
}

const vb_command cmd_retry = {
    .name = "retry",
    .alias = NULL,
    .usage = "--job-id ID [--output DIR] [--only failed|qc_failed] [--retry-count N]"
             " [--jobs N] [--error-handling continue|stop] [--budget UNITS] [--from-list FILE]..."
             " [--notify URL] [--notify-items] [--quiet|--verbose] [URL...]",
    .summary = "reprocess a batch's failed items, with its settings",
    .description =
        "Reprocesses the items of the batch ID (journal DIR/.vbatch/state.db)\n"
        "whose status is failed (or qc_failed with --only qc_failed), for example\n"
        "after a file was replaced or a network share came back: they go back to\n"
        "pending and are processed again with the settings the batch ran with;\n"
        "each new attempt counts in the item's attempts. Items left pending or\n"
        "running by an interrupted run are processed too; done items are not\n"
        "touched. With --retry-count N, items that fail again are retried, up to\n"
        "N rounds in all (each round writes the reports). The reports are then\n"
        "written from the journal, every item of the batch once. Exit status as\n"
        "for process. URL items are fetched with their full URLs, read again from\n"
        "the batch's list files (or the --from-list files given here); a URL\n"
        "given as a PATH with credentials or a query string is given again as an\n"
        "operand URL; the webhook ([notify] url) with --notify URL (else none).\n"
        "Every round runs under DIR/.vbatch/lock: while another run holds it, retry\n"
        "is refused (exit 2).",
    .options = cmd_retry_options,
    .exec = cmd_retry_exec,
};
