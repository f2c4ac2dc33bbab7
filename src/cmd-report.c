/* cmd-report.c - `vbatch report`: produce any report again from what a
 * batch recorded in the journal OUT/.vbatch/state.db, without
 * reprocessing anything. */
#include "config.h"
#include "cmd.h"
#include "msg.h"
#include "queue.h"
#include "report.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_option cmd_report_options[] = {
    { "output", 'o', "DIR", "the output folder of the batch (default: vbatch-out)" },
    { "format", 'f', "FMT", "json, csv, junit, html, text or github (annotations on stdout, a Markdown summary to $GITHUB_STEP_SUMMARY) (repeatable; default: all files)" },
    { "job-id", 'J', "ID", "the batch to report on (default: the latest in DIR)" },
    { "report-dir", 0, "RDIR", "write the files into RDIR instead of DIR/summary/ (e.g. for a read-only DIR)" },
    { "stdout", 0, NULL, "with one --format json, csv, junit or html: print its file (batch_report.json, results.csv, junit.xml, report.html) to standard output; write nothing" },
    { "queue", 'Q', "URL", "the batch of a queue (vbatch enqueue, vbatch worker): its results and dead letters written into DIR's journal, then its reports" },
    { NULL, 0, NULL, NULL },
};

typedef struct cmd_report_args {
    const char *queue;
    const char *out_dir;
    const char *batch_id;
    const char *report_dir;
    unsigned formats;
    bool to_stdout;
} cmd_report_args;

static int cmd_report_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_report_args *a = ud;
    if (strcmp(o->name, "queue") == 0)
        a->queue = arg;
    else if (strcmp(o->name, "output") == 0)
        a->out_dir = arg;
    else if (strcmp(o->name, "job-id") == 0)
        a->batch_id = arg;
    else if (strcmp(o->name, "report-dir") == 0)
        a->report_dir = arg;
    else if (strcmp(o->name, "stdout") == 0)
        a->to_stdout = true;
    else if (strcmp(o->name, "format") == 0) {
        static const struct { const char *name; unsigned bit; } f[] = {
            { "json", REPORT_JSON }, { "csv", REPORT_CSV }, { "junit", REPORT_JUNIT },
            { "html", REPORT_HTML }, { "text", REPORT_TEXT }, { "github", REPORT_GITHUB },
        };
        for (size_t i = 0; i < VB_ARRAY_LEN(f); i++)
            if (strcmp(arg, f[i].name) == 0) {
                a->formats |= f[i].bit;
                return 0;
            }
        cmd_bad_usage(&cmd_report, "--format must be json, csv, junit, html, text or github, "
                      "not '%s'", arg);
        return -1;
    }
    return 0;
}

static int cmd_report_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

/* --stdout: the one file rendered into a private folder, printed, and
 * the folder removed: DIR is not written. */
static int cmd_report_stdout(const cmd_report_args *a, vb_error *e)
{
    static const struct { unsigned bit; const char *file; } f[] = {
        { REPORT_JSON, "batch_report.json" }, { REPORT_CSV, "results.csv" },
        { REPORT_JUNIT, "junit.xml" }, { REPORT_HTML, "report.html" },
    };
    const char *file = NULL;
    for (size_t i = 0; i < VB_ARRAY_LEN(f); i++)
        if (a->formats == f[i].bit)
            file = f[i].file;
    if (!file || a->report_dir)
        return vb_fail(e, VB_ERR_USAGE, "--stdout takes one --format (json, csv, junit or "
                       "html) and no --report-dir");
    const char *tmp = getenv("TMPDIR");
    char *dir = vb_xasprintf("%s/vbatch-report.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        int err = errno;
        free(dir);
        return vb_fail(e, VB_ERR_IO, "cannot make a temporary folder: %s", strerror(err));
    }
    int rc = report_render_to(a->out_dir, a->batch_id, dir, a->formats, NULL, e);
    if (rc == 0) {
        char *path = util_path_join(dir, file);
        size_t len = 0;
        char *data = util_read_file(path, &len, e);
        rc = data && fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
        if (data && rc != 0)
            vb_fail(e, VB_ERR_IO, "cannot write to standard output: %s", strerror(errno));
        free(data);
        free(path);
    }
    nftw(dir, cmd_report_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return rc;
}

/* --queue: the queue's batch into DIR's journal, with every report. */
static int cmd_report_queue(const cmd_report_args *a)
{
    if (a->batch_id || a->report_dir || a->to_stdout || a->formats)
        return cmd_bad_usage(&cmd_report, "--queue writes every report into DIR/summary/: "
                             "no --job-id, --format, --report-dir or --stdout");
    vb_error e = {0};
    queue *q = queue_open_url(a->queue, 30, &e);
    char *json = NULL;
    int got = q ? queue_settings(q, &json, &e) : -1;
    report_queued s = {0};
    if (got == 0)
        vb_fail(&e, VB_ERR_USAGE, "queue %s holds no batch", queue_name(q));
    int64_t pending = 0;
    int rc = got > 0 ? report_queue_settings_parse(json, queue_name(q), &s, &e) : -1;
    if (rc == 0)
        rc = report_from_queue(q, &s, a->out_dir, vb_verbosity >= 1 ? stdout : NULL, &pending,
                               &e);
    free(json);
    report_queued_clear(&s);
    queue_close(&q);
    if (rc != 0) {
        msg_error("%s", e.msg);
        return e.code == VB_ERR_USAGE || e.code == VB_ERR_CONFIG ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    }
    if (pending)
        msg_note("%lld items have no result yet: reported as pending", (long long)pending);
    return VB_EXIT_OK;
}

static int cmd_report_exec(int argc, char **argv)
{
    cmd_report_args a = { .out_dir = "vbatch-out" };
    int rc = cmd_parse(&cmd_report, argc, argv, cmd_report_opt, &a);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    if (optind < argc)
        return cmd_bad_usage(&cmd_report, "unexpected argument '%s'", argv[optind]);
    if (a.queue)
        return cmd_report_queue(&a);
    if (!a.formats)
        a.formats = REPORT_FILES;
    vb_error e = {0};
    if (a.to_stdout ? cmd_report_stdout(&a, &e) != 0
                    : report_render_to(a.out_dir, a.batch_id, a.report_dir, a.formats, stdout,
                                       &e) != 0) {
        msg_error("%s", e.msg);
        return e.code == VB_ERR_USAGE ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    }
    return VB_EXIT_OK;
}

const vb_command cmd_report = {
    .name = "report",
    .alias = NULL,
    .usage = "[--output DIR] [--format json|csv|junit|html|text|github]... [--job-id ID]"
             " [--report-dir RDIR | --stdout]\n"
             "       --queue redis://[user@]host:port/DB/NAME --output DIR",
    .summary = "write a batch's reports again from what it recorded, without reprocessing",
    .description =
        "Reads what a batch recorded in the journal DIR/.vbatch/state.db and writes\n"
        "the chosen reports to DIR/summary/: json (batch_report.json, error_log.json,\n"
        "processing_metrics.json), csv (results.csv), junit (junit.xml), html\n"
        "(report.html); text prints the summary. The same records give the same\n"
        "files, byte for byte.\n"
        "The journal is only read, with no lock: report works while a batch runs\n"
        "into DIR (from one snapshot of the journal; the batch rewrites the files\n"
        "when it ends) and on a read-only DIR (archived results). A read-only\n"
        "DIR/summary/ is an error (exit 2) that says so: write the files elsewhere\n"
        "with --report-dir RDIR (report.html's links to item folders then work\n"
        "only where RDIR is a sibling of the item folders), or print with --format\n"
        "text. A damaged journal, or one made by a newer vbatch, is refused\n"
        "(exit 2)."
        "\nWith --queue, the batch of a queue (vbatch enqueue, vbatch worker into DIR):\n"
        "every item entered, with its result or its dead letter (a failure naming its\n"
        "last error), or pending while it has none, as a new batch in DIR's journal,\n"
        "and every report of DIR/summary/. A result that is not its item's (another\n"
        "folder, files outside it) is reported as the item's error.",
    .options = cmd_report_options,
    .exec = cmd_report_exec,
};
