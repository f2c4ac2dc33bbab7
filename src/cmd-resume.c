/* cmd-resume.c - `vbatch resume`: finish a batch recorded in the journal
 * OUT/.vbatch/state.db (interrupted, or killed): its pending items (and
 * those left running by a process that is gone) are processed with the
 * settings the batch ran with; items already recorded are not redone. */
#include "config.h"
#include "batch.h"
#include "cmd.h"
#include "generate.h"
#include "msg.h"
#include "report.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const cmd_option cmd_resume_options[] = {
    { "job-id", 'J', "ID", "the batch to finish (default: the only interrupted batch in DIR; see vbatch status)" },
    { "output", 'o', "DIR", "its output folder (default: vbatch-out)" },
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

int cmd_recorded_opt(const vb_command *c, const cmd_option *o, const char *arg,
                     recorded_args *a)
{
    if (strcmp(o->name, "output") == 0)
        a->out_dir = arg;
    else if (strcmp(o->name, "job-id") == 0)
        a->batch_id = arg;
    else if (strcmp(o->name, "quiet") == 0)
        vb_verbosity = 0;
    else if (strcmp(o->name, "verbose") == 0)
        vb_verbosity = 2;
    else if (strcmp(o->name, "jobs") == 0) {
        if (cmd_int_arg(c, o->name, arg, "a number", 1, 1024, &a->jobs) != 0)
            return -1;
    } else if (strcmp(o->name, "budget") == 0) {
        vb_error e = {0};
        if (preset_parse_double(arg, &a->budget, &e) != 0 || a->budget < 0) {
            cmd_bad_usage(c, "--budget needs a number of units (0 = none), not '%s'", arg);
            return -1;
        }
    } else if (strcmp(o->name, "error-handling") == 0) {
        int v = preset_error_handling(arg);
        if (v < 0) {
            cmd_bad_usage(c, "--error-handling needs continue or stop, not '%s'", arg);
            return -1;
        }
        a->error_handling = 1 + v;
    } else if (strcmp(o->name, "from-list") == 0) {
        if (access(arg, R_OK) != 0) {
            cmd_bad_usage(c, "cannot read list file %s", arg);
            return -1;
        }
        vb_strlist_add(&a->lists, arg);
    } else if (strcmp(o->name, "notify") == 0) {
        if (strncasecmp(arg, "http://", 7) != 0 && strncasecmp(arg, "https://", 8) != 0) {
            cmd_bad_usage(c, "--notify needs an http:// or https:// URL");
            return -1;
        }
        a->notify = arg;
    } else if (strcmp(o->name, "notify-items") == 0) {
        a->notify_items = true;
    } else
        return 1;
    return 0;
}

/* The batch's webhook for this run. The journal keeps [notify] url as
 * scheme://host/... only (the rest is often its secret): posting there
 * would reach the wrong address, so it is used only when given again
 * (--notify); else this run sends none, and says so. 0, or an exit
 * status (usage). */
static int cmd_recorded_notify(const vb_command *c, const recorded_args *a, vb_config *cfg)
{
    if (a->notify) {
        free(cfg->notify.url);
        cfg->notify.url = vb_xstrdup(a->notify);
    } else if (cfg->notify.url && cfg->notify.url[0]) {
        msg_note("the batch's webhook ([notify] url) is recorded as %s only: this run sends "
                 "none; give --notify URL again for it", cfg->notify.url);
        free(cfg->notify.url);
        cfg->notify.url = NULL;
    }
    if (a->notify_items)
        cfg->notify.items = true;
    if (a->notify_items && !a->notify)
        return cmd_bad_usage(c, "--notify-items needs --notify URL (the journal keeps the "
                                "webhook's host only)");
    return 0;
}

/* The run of cmd_run_recorded, under the output folder's lock. */
static int cmd_resume_run_recorded(const vb_command *c, const recorded_args *a,
                                   const char *requeue, int rounds)
{
    vb_config cfg;
    preset_defaults(&cfg);
    vb_error e = {0};
    if (report_load_config(a->out_dir, a->batch_id, &cfg, &e) != 0) {
        msg_error("%s", e.msg);
        preset_free_contents(&cfg);
        return e.code == VB_ERR_IO ? VB_EXIT_ITEMS : VB_EXIT_USAGE;
    }
    int bad = cmd_recorded_notify(c, a, &cfg);
    if (bad) {
        preset_free_contents(&cfg);
        return bad;
    }
    if (a->error_handling)
        cfg.batch.error_handling = a->error_handling - 1;
    int gen = generate_is_batch(a->out_dir, a->batch_id, &e);
    if (gen < 0) {
        msg_error("%s", e.msg);
        preset_free_contents(&cfg);
        return VB_EXIT_USAGE;
    }
    if (gen) {
        /* A generate batch: its tasks are polled, the jobs never created
         * submitted, with the settings it ran with; retried jobs whose
         * generation failed are submitted again (paid again). */
        if (a->budget >= 0)
            cfg.generate.budget = a->budget;
        generate_opts g = {
            .config = &cfg, .out_dir = a->out_dir, .command_line = vb_command_line,
            .jobs_threads = a->jobs, .resume_id = a->batch_id, .requeue = requeue,
            .observer = batch_console(), .summary_out = vb_verbosity >= 1 ? stdout : NULL,
        };
        int again = requeue && strcmp(requeue, "qc_failed") == 0 ? VB_EXIT_QC : VB_EXIT_ITEMS;
        int status = again;
        for (int r = 0; r == 0 || (requeue && r < rounds && status == again); r++) {
            generate_result res;
            generate_run(&g, &res);
            status = generate_console_finish(&res, g.out_dir);
        }
        preset_free_contents(&cfg);
        return status;
    }
    batch_opts b = {
        .config = &cfg, .out_dir = a->out_dir, .command_line = vb_command_line,
        .jobs = a->jobs, .resume_id = a->batch_id, .requeue = requeue, .lists = a->lists,
        .paths = a->urls,
        .observer = batch_console(), .summary_out = vb_verbosity >= 1 ? stdout : NULL,
    };
    /* Retrying: another round while items with the requeued status are
     * left (exit 3 for failed ones, 1 for qc_failed ones). */
    int again = requeue && strcmp(requeue, "qc_failed") == 0 ? VB_EXIT_QC : VB_EXIT_ITEMS;
    int status = again;
    for (int r = 0; r == 0 || (requeue && r < rounds && status == again); r++) {
        batch_result res;
        batch_run(&b, &res);
        status = batch_console_finish(&res, b.out_dir);
    }
    preset_free_contents(&cfg);
    vb_strlist_clear(&b.lists);
    return status;
}

int cmd_run_recorded(const vb_command *c, int argc, char **argv, const recorded_args *a,
                     const char *requeue, int rounds)
{
    for (int i = optind; i < argc; i++)
        if (!util_is_url(argv[i]))
            return cmd_bad_usage(c, "unexpected argument '%s' (only URLs: those given to the"
                                 " batch as PATHs, in full)", argv[i]);
    if (!a->batch_id && requeue)
        return cmd_bad_usage(c, "--job-id is required");
    /* The output folder's lock for the whole command, every round of a
     * retry included, taken before the batch's settings are read. (No
     * .vbatch: nothing recorded, which the journal's opening says.) */
    state_lock *lock = NULL;
    char *dir = util_path_join(a->out_dir, ".vbatch");
    bool recorded = access(dir, F_OK) == 0;
    free(dir);
    vb_error e = {0};
    if (recorded && !(lock = state_lock_take(a->out_dir, &e))) {
        msg_error("%s", e.msg);
        return e.code == VB_ERR_IO ? VB_EXIT_ITEMS : VB_EXIT_USAGE;
    }
    /* resume alone: the one batch left unfinished, looked up under the
     * lock, so that none of them is still running. */
    recorded_args own = *a;
    for (int i = optind; i < argc; i++)
        vb_strlist_add(&own.urls, argv[i]);
    char *found = NULL;
    if (!a->batch_id) {
        if (!recorded || report_unfinished_batch(a->out_dir, &found, &e) != 0) {
            if (!recorded)
                vb_fail(&e, VB_ERR_USAGE, "%s: no batch recorded here (no %s/.vbatch)",
                        a->out_dir, a->out_dir);
            msg_error("%s", e.msg);
            state_lock_release(&lock);
            vb_strlist_clear(&own.urls);
            return VB_EXIT_USAGE;
        }
        own.batch_id = found;
        msg_note("resuming %s", found);
    }
    state_lock_note(lock, own.batch_id);
    int status = cmd_resume_run_recorded(c, &own, requeue, rounds);
    state_lock_release(&lock);
    vb_strlist_clear(&own.urls);
    free(found);
    return status;
}

static int cmd_resume_opt(const cmd_option *o, const char *arg, void *ud)
{
    return cmd_recorded_opt(&cmd_resume, o, arg, ud) < 0 ? -1 : 0;
}

static int cmd_resume_exec(int argc, char **argv)
{
    recorded_args a = { .out_dir = "vbatch-out", .budget = -1 };
    int rc = cmd_parse(&cmd_resume, argc, argv, cmd_resume_opt, &a);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    return cmd_run_recorded(&cmd_resume, argc, argv, &a, NULL, 1);
}

const vb_command cmd_resume = {
    .name = "resume",
    .alias = NULL,
    .usage = "[--job-id ID] [--output DIR] [--jobs N] [--error-handling continue|stop]"
             " [--budget UNITS] [--from-list FILE]... [--notify URL] [--notify-items]"
             " [--quiet|--verbose] [URL...]",
    .summary = "finish an interrupted batch: its pending items, with its settings",
    .description =
        "Finishes the batch ID recorded in the journal DIR/.vbatch/state.db, for\n"
        "example one interrupted by Ctrl-C (exit status 4) or killed; without\n"
        "--job-id, the only batch of DIR left unfinished (exit 2 if none or several).\n"
        "Items left\n"
        "running by a process that is gone go back to pending; the pending items\n"
        "are processed with the settings the batch ran with (its sources and\n"
        "folders are in the journal: nothing is rescanned); items already done,\n"
        "failed or qc_failed are not redone. The reports are then written from the\n"
        "journal, every item of the batch once. Exit status as for process.\n"
        "The journal keeps URLs without credentials or query string: a pending\n"
        "URL item is fetched with the full URL from the batch's list files, read\n"
        "again (or from the --from-list files given here, when they moved); a URL\n"
        "given as a PATH with credentials or a query string is given again as an\n"
        "operand URL (without it, that item fails and says so). The same goes for\n"
        "the webhook ([notify] url, kept by its host only): --notify URL gives it\n"
        "again, else this run sends none.\n"
        "The run holds DIR/.vbatch/lock: while another run holds it (this batch or\n"
        "another one is still being run) resume is refused (exit 2); a batch whose\n"
        "process is gone (vbatch status: interrupted (process gone)) is taken over.",
    .options = cmd_resume_options,
    .exec = cmd_resume_exec,
};
