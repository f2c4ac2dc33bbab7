/* cmd-process.c - `vbatch process`: options, configuration layers
 * (defaults < --preset < --config < command line), then the batch. */
#include "config.h"
#include "batch.h"
#include "batch-source.h"
#include "cmd.h"
#include "fix-dryrun.h"
#include "msg.h"
#include "pattern.h"
#include "preset.h"
#include "shard.h"
#include "scan.h"
#include "util.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const cmd_option cmd_process_options[] = {
    { "pattern", 'p', "GLOB", "take files whose name matches GLOB (repeatable; default: common video extensions)" },
    { "exclude", 'x', "GLOB", "skip files whose name matches GLOB (repeatable)" },
    { "recursive", 'r', NULL, "walk sub-folders too" },
    { "from-list", 'l', "FILE", "read paths and http(s) URLs from FILE, one per line (repeatable; - is standard input)" },
    { "null", '0', NULL, "--from-list entries end with a NUL byte, not a newline (find -print0)" },
    { "outside-links", 0, "MODE", "refuse (default) or allow links in input folders to files outside them ([input] outside_links)" },
    { "preset", 'P', "NAME", "preset to use (see `vbatch presets`; default: default)" },
    { "config", 'c', "FILE", "INI file applied on top of the preset (repeatable)" },
    { "set", 's', "SECTION.KEY=VALUE", "one setting on top of the preset and --config files (repeatable; qc.duration_min=3)" },
    { "output", 'o', "DIR", "output folder (default: vbatch-out)" },
    { "jobs", 'j', "N", "worker threads and cores to use (default: [batch] jobs, else the number of cores)" },
    { "error-handling", 0, "MODE", "continue (default), or stop: no new item after one fails ([batch] error_handling)" },
    { "deep", 'd', NULL, "also decode and analyse: black, freeze, silence, loudness, integrity ([analyse])" },
    { "thumbnails", 't', NULL, "make thumbnails and a contact sheet per video ([thumbnails])" },
    { "fix", 'F', NULL, "fix what fails (remux, loudness, conform, trim), check the fixed file again and deliver it when it passes ([fix])" },
    { "dry-run", 'n', NULL, "write nothing: list each item a run would take and the folder it would get; with --fix, each item's plan (which rules fail, what fixes each, what is copied and what re-encoded)" },
    { "format", 0, "FMT", "text (default), json (the summary as batch_report.json on standard output) or github (annotations too, and $GITHUB_STEP_SUMMARY); with --dry-run, text or json" },
    { "publish", 0, NULL, "link items that pass every fail-level gate into OUT/publish/" },
    { "shard", 0, "K/N", "take only shard K of N (by a hash of each item's relative path); auto/N: K from JOB_COMPLETION_INDEX, auto: from SLURM_ARRAY_TASK_ID and _COUNT" },
    { "notify", 0, "URL", "POST a signed JSON summary to URL when the batch ends ([notify] url)" },
    { "notify-items", 0, NULL, "also POST a signed message per item as its result is recorded, sent in the background ([notify] items)" },
    { "force", 0, NULL, "process every item, also those unchanged since an earlier run into DIR" },
    { "allow-empty", 0, NULL, "a run that finds no item exits 0 (default: exit status 5, nothing was checked)" },
    { "strict", 0, NULL, "warnings fail the run: exit status 1 ([batch] warnings = fail)" },
    { "quiet", 'q', NULL, "print nothing but errors that stop the run" },
    { "verbose", 'v', NULL, "print a line for every item" },
    { NULL, 0, NULL, NULL },
};


int cmd_process_opt_for(const vb_command *c, const cmd_option *o, const char *arg,
                        cmd_process_args *a)
{
    const char *n = o->name;
    if (strcmp(n, "pattern") == 0) vb_strlist_add(&a->patterns, arg);
    else if (strcmp(n, "exclude") == 0) vb_strlist_add(&a->excludes, arg);
    else if (strcmp(n, "recursive") == 0) a->recursive = true;
    else if (strcmp(n, "null") == 0) a->null = true;
    else if (strcmp(n, "from-list") == 0) {
        if (strcmp(arg, "-") == 0 && vb_strlist_has(&a->b.lists, "-")) {
            cmd_bad_usage(c, "--from-list - (standard input) given twice");
            return -1;
        }
        if (strcmp(arg, "-") != 0 && access(arg, R_OK) != 0) {
            cmd_bad_usage(c, "cannot read list file %s", arg);
            return -1;
        }
        vb_strlist_add(&a->b.lists, arg);
    }
    else if (strcmp(n, "preset") == 0) a->preset = arg;
    else if (strcmp(n, "config") == 0) vb_strlist_add(&a->configs, arg);
    else if (strcmp(n, "set") == 0) vb_strlist_add(&a->sets, arg);
    else if (strcmp(n, "output") == 0) a->b.out_dir = arg;
    else if (strcmp(n, "publish") == 0) a->publish = true;
    else if (strcmp(n, "shard") == 0) {
        shard sh;
        vb_error e = {0};
        if (shard_parse(arg, NULL, &sh, &e) != 0) {
            cmd_bad_usage(c, "%s", e.msg);
            return -1;
        }
        a->b.shard_k = sh.k;
        a->b.shard_n = sh.n;
    }
    else if (strcmp(n, "notify") == 0) {
        if (strncasecmp(arg, "http://", 7) != 0 && strncasecmp(arg, "https://", 8) != 0) {
            cmd_bad_usage(c, "--notify needs an http:// or https:// URL");
            return -1;
        }
        a->notify = arg;
    }
    else if (strcmp(n, "notify-items") == 0) a->notify_items = true;
    else if (strcmp(n, "force") == 0) a->b.force = true;
    else if (strcmp(n, "allow-empty") == 0) a->b.refuse_empty = false;
    else if (strcmp(n, "strict") == 0) a->strict = true;
    else if (strcmp(n, "deep") == 0) a->deep = true;
    else if (strcmp(n, "thumbnails") == 0) a->thumbnails = true;
    else if (strcmp(n, "fix") == 0) a->fix = true;
    else if (strcmp(n, "dry-run") == 0) a->dry_run = true;
    else if (strcmp(n, "format") == 0) {
        a->format = writer_format_parse(arg);
        a->github = strcmp(arg, "github") == 0;
        if (a->github)
            a->format = WRITER_TEXT;
        else if (a->format != WRITER_TEXT && a->format != WRITER_JSON) {
            cmd_bad_usage(c, "--format needs text, json or github, not '%s'", arg);
            return -1;
        }
    }
    else if (strcmp(n, "quiet") == 0) vb_verbosity = 0;
    else if (strcmp(n, "verbose") == 0) vb_verbosity = 2;
    else if (strcmp(n, "jobs") == 0)
        return cmd_int_arg(c, n, arg, "a number", 1, 1024, &a->jobs);
    else if (strcmp(n, "error-handling") == 0) {
        int v = preset_error_handling(arg);
        if (v < 0) {
            cmd_bad_usage(c, "--error-handling needs continue or stop, not '%s'", arg);
            return -1;
        }
        a->error_handling = 1 + v;
    }
    else if (strcmp(n, "outside-links") == 0) {
        int v = preset_outside_links(arg);
        if (v < 0) {
            cmd_bad_usage(c, "--outside-links needs refuse or allow, not '%s'", arg);
            return -1;
        }
        a->outside_links = 1 + v;
    }
    else
        return 1;
    return 0;
}

static int cmd_process_opt(const cmd_option *o, const char *arg, void *ud)
{
    return cmd_process_opt_for(&cmd_process, o, arg, ud) < 0 ? -1 : 0;
}

/* --dry-run without --fix: what a run would take, and where. */
typedef struct cmd_process_preview {
    writer *w;                    /* --format json, else NULL */
    const char *out_dir;
    int64_t process, skip, bad;
} cmd_process_preview;

static void cmd_process_preview_one(void *ud, const batch_preview_item *p)
{
    cmd_process_preview *v = ud;
    const char *action = p->error ? "error" : p->skipped_since ? "skip" : "process";
    *(p->error ? &v->bad : p->skipped_since ? &v->skip : &v->process) += 1;
    if (v->w) {
        writer_begin_object(v->w, NULL);
        writer_string(v->w, "source", p->source);
        writer_string(v->w, "action", action);
        writer_string(v->w, "folder", p->folder);
        writer_string(v->w, "unchanged_since", p->skipped_since);
        writer_string(v->w, "error", p->error);
        writer_end_object(v->w);
        return;
    }
    char *src = msg_printable_dup(p->source);
    char *why = p->error ? msg_printable_dup(p->error) : NULL;
    if (p->error)
        printf("error    %s  (%s)\n", src, why);
    else
        printf("%-7s  %s  ->  %s/%s/%s%s%s\n", action, src, v->out_dir, p->folder,
               p->skipped_since ? "  (unchanged since " : "",
               p->skipped_since ? p->skipped_since : "", p->skipped_since ? ")" : "");
    free(src);
    free(why);
}

static int cmd_process_list(cmd_process_args *a, const vb_config *cfg)
{
    cmd_process_preview v = { .out_dir = a->b.out_dir };
    if (a->format == WRITER_JSON) {
        v.w = writer_new(WRITER_JSON);
        writer_begin_object(v.w, NULL);
        writer_int(v.w, "schema_version", VB_SCHEMA_VERSION);
        writer_string(v.w, "output", a->b.out_dir);
        writer_begin_array(v.w, "items");
    }
    a->b.config = cfg;
    vb_error e = {0};
    long long others = 0;
    int rc = batch_preview(&a->b, cmd_process_preview_one, &v, &others, &e);
    if (v.w) {
        writer_end_array(v.w);
        writer_end_object(v.w);
        writer_print(v.w, stdout);
        writer_free(&v.w);
    }
    if (rc != 0) {
        msg_error("%s", e.msg);
        return e.code == VB_ERR_USAGE ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    }
    msg_note("%lld to process, %lld unchanged (skipped), %lld not readable; nothing written",
             (long long)v.process, (long long)v.skip, (long long)v.bad);
    if (v.bad)
        return VB_EXIT_ITEMS;
    if (v.process + v.skip == 0 && others > 0) {
        msg_note("none of the %lld items found is this shard's: a run would have nothing to do",
                 others);
    } else if (v.process + v.skip == 0 && a->b.refuse_empty) {
        msg_error("no item found in the input: a run would check nothing (exit status %d)",
                  VB_EXIT_EMPTY);
        return VB_EXIT_EMPTY;
    }
    return VB_EXIT_OK;
}

/* --fix --dry-run: the plans, nothing written. 0 when every item passes
 * or would be fixed, 1 when some fail a rule no fix satisfies, 3 when
 * some could not be read, 5 when there is none (unless --allow-empty). */
static int cmd_process_dry_run(cmd_process_args *a, const vb_config *cfg)
{
    if (!cfg->fix.enabled)
        return cmd_process_list(a, cfg);
    fix_dry_result r;
    vb_error e = {0};
    if (fix_dry_run(cfg, &a->b.paths, &a->b.lists, a->format == WRITER_JSON, stdout, &r, &e) != 0) {
        msg_error("%s", e.msg);
        return VB_EXIT_ITEMS;
    }
    if (a->format != WRITER_JSON)
        msg_note("%lld to fix, %lld passing, %lld not fixable, %lld unreadable; nothing written",
                 (long long)r.fixable, (long long)r.passed, (long long)r.unfixable,
                 (long long)r.errors);
    if (r.errors)
        return VB_EXIT_ITEMS;
    if (r.passed + r.fixable + r.unfixable == 0 && a->b.refuse_empty) {
        msg_error("no item found in the input: a run would check nothing (exit status %d)",
                  VB_EXIT_EMPTY);
        return VB_EXIT_EMPTY;
    }
    return r.unfixable ? VB_EXIT_QC : VB_EXIT_OK;
}

/* --format json: the batch's report, as written, on standard output. */
static int cmd_process_print_report(const char *out_dir)
{
    char *path = util_path_join(out_dir, "summary/batch_report.json");
    size_t len = 0;
    vb_error e = {0};
    char *data = util_read_file(path, &len, &e);
    int rc = data && fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
    if (rc != 0)
        msg_error("%s", data ? "cannot write to standard output" : e.msg);
    free(data);
    free(path);
    return rc;
}

int cmd_process_settings(cmd_process_args *a, vb_config *cfg)
{
    int status = cmd_load_config(cfg, a->preset, &a->configs, &a->sets);
    if (status != 0)
        return status;
    /* Command-line options come last: they win over every file. */
    if (a->patterns.n) {
        vb_strlist_clear(&cfg->input.patterns);
        for (size_t i = 0; i < a->patterns.n; i++)
            vb_strlist_add(&cfg->input.patterns, a->patterns.v[i]);
    }
    for (size_t i = 0; i < a->excludes.n; i++)
        vb_strlist_add(&cfg->input.exclude, a->excludes.v[i]);
    if (a->recursive)
        cfg->input.recursive = true;
    if (a->publish)
        cfg->output.publish = true;
    if (a->notify) {
        free(cfg->notify.url);
        cfg->notify.url = vb_xstrdup(a->notify);
    }
    if (a->notify_items)
        cfg->notify.items = true;
    if (a->notify_items && (!cfg->notify.url || !cfg->notify.url[0]))
        return cmd_bad_usage(&cmd_process, "--notify-items needs --notify URL or [notify] url");
    if (a->deep)
        cfg->analyse.enabled = true;
    if (a->thumbnails)
        cfg->thumbs.enabled = true;
    if (a->fix)
        cfg->fix.enabled = true;
    if (a->error_handling)
        cfg->batch.error_handling = a->error_handling - 1;
    if (a->outside_links)
        cfg->input.outside_links = a->outside_links - 1;
    if (a->strict)
        cfg->batch.warnings = WARNINGS_FAIL;
    cfg->input.lists_null = a->null;
    return 0;
}

void cmd_process_args_clear(cmd_process_args *a)
{
    vb_strlist_clear(&a->patterns);
    vb_strlist_clear(&a->excludes);
    vb_strlist_clear(&a->configs);
    vb_strlist_clear(&a->sets);
    vb_strlist_clear(&a->b.paths);
    vb_strlist_clear(&a->b.lists);
}

static int cmd_process_exec(int argc, char **argv)
{
    cmd_process_args a = {0};
    a.b.out_dir = "vbatch-out";
    a.b.refuse_empty = true;
    vb_config cfg;
    preset_defaults(&cfg);
    int status = VB_EXIT_OK;

    int rc = cmd_parse(&cmd_process, argc, argv, cmd_process_opt, &a);
    if (rc != 0) {
        status = rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
        goto out;
    }
    for (int i = optind; i < argc; i++)
        vb_strlist_add(&a.b.paths, argv[i]);
    if (a.b.paths.n == 0 && a.b.lists.n == 0) {
        status = cmd_bad_usage(&cmd_process, "no PATH or --from-list given");
        goto out;
    }

    if ((status = cmd_process_settings(&a, &cfg)) != 0)
        goto out;

    vb_error e = {0};
    if (scan_check_output(&a.b.paths, a.b.out_dir,
                          cfg.input.recursive || pattern_walks(&cfg.input.patterns), &e) != 0) {
        msg_error("%s", e.msg);
        status = VB_EXIT_USAGE;
        goto out;
    }
    if (a.dry_run) {
        status = cmd_process_dry_run(&a, &cfg);
        goto out;
    }
    a.b.config = &cfg;
    a.b.command_line = vb_command_line;
    a.b.jobs = a.jobs;
    a.b.observer = batch_console();
    bool json = a.format == WRITER_JSON;
    a.b.summary_out = vb_verbosity >= 1 && !json ? stdout : NULL;
    batch_result res;
    batch_run(&a.b, &res);
    status = batch_console_finish(&res, a.b.out_dir);
    if (json && res.started && cmd_process_print_report(a.b.out_dir) != 0 &&
        status == VB_EXIT_OK)
        status = VB_EXIT_ITEMS;
    vb_error ge = {0};
    if (a.github && res.started &&
        report_render(a.b.out_dir, res.batch_id, REPORT_GITHUB, stdout, &ge) != 0) {
        msg_error("%s", ge.msg);
        if (status == VB_EXIT_OK)
            status = VB_EXIT_ITEMS;
    }

out:
    preset_free_contents(&cfg);
    cmd_process_args_clear(&a);
    return status;
}

const vb_command cmd_process = {
    .name = "process",
    .alias = NULL,
    .usage = "PATH... [--pattern GLOB]... [--exclude GLOB]... [--recursive] [--from-list FILE|-]\n"
             "       [--null]\n"
             "       [--preset NAME] [--config FILE] [--set SECTION.KEY=VALUE] [--output DIR]\n"
             "       [--jobs N] [--deep]\n"
             "       [--error-handling continue|stop] [--outside-links refuse|allow]\n"
             "       [--thumbnails] [--publish] [--force] [--allow-empty] [--strict]\n"
             "       [--shard K/N|auto/N|auto] [--notify URL] [--notify-items]\n"
             "       [--fix] [--dry-run] [--format text|json|github]\n"
             "       [--quiet|--verbose]",
    .summary = "probe and gate a folder of videos; one folder per video and summary reports",
    .description =
        "Finds the videos in each PATH (a file or a folder) and in the --from-list files\n"
        "(paths or http/https URLs, downloaded), probes each one from its headers,\n"
        "checks it against the preset's [qc] gates and lays the results out in DIR:\n"
        "  DIR/<item>/video/<original>      hard link (or copy) of the input\n"
        "  DIR/<item>/metadata/probe.json   what the probe found (image.json for images)\n"
        "  DIR/<item>/metadata/analysis.json  with --deep: black, freeze, silence, loudness\n"
        "  DIR/<item>/metadata/qc.json      every check: value, limit, verdict\n"
        "  DIR/<item>/thumbnails/, contact.jpg  with --thumbnails\n"
        "  DIR/summary/batch_report.json, results.csv, error_log.json,\n"
        "      processing_metrics.json, junit.xml, report.html\n"
        "  DIR/publish/                     with --publish or [output] publish=true\n"
        "Run again into the same DIR, a local file whose path, size, mtime and\n"
        "settings are unchanged since an earlier batch (done or qc_failed there) is\n"
        "not processed again: it is reported as skipped with its earlier result\n"
        "(failed items and URLs are always processed; --force processes all).\n"
        "Each item keeps its folder. With --deep, identical files (same SHA-256)\n"
        "are decoded and analysed once.\n"
        "Each item's reading is bounded by [batch] item_timeout (900 s) and\n"
        "stall_timeout (60 s without data): past them the item is an error and the\n"
        "batch goes on; a transient I/O error (EIO, ESTALE ...) is retried up to\n"
        "[batch] retries (3) times; FIFOs and devices are refused.\n"
        "A symbolic link is stored in DIR as the file it points to (hard link or\n"
        "copy); one in a folder walked whose target lies outside the folders named\n"
        "is an error unless --outside-links allow (a file named itself is taken).\n"
        "A folder deeper than PATH_MAX is an error, not walked. A --from-list line\n"
        "may hold 64 KiB: a longer one is an item error, a NUL byte ends the list.\n"
        "A download is bounded by item_timeout and stall_timeout too, and is not\n"
        "tried again once the batch stops (the item is left pending); a download\n"
        "that is not media is removed from DIR/<item>/video/.\n"
        "One run at a time per DIR: the run holds DIR/.vbatch/lock, and another run\n"
        "into DIR is refused at once (exit 2, naming the batch and process holding\n"
        "it). A read-only DIR, a damaged journal (move DIR/.vbatch aside) or one made\n"
        "by a newer vbatch is refused before any work (exit 2).\n"
        "Exit status: 0 all passed, 1 some failed a gate (a skipped item keeps its\n"
        "earlier verdict), 2 usage or configuration error, 3 some items could not be\n"
        "processed, 4 interrupted (SIGINT/SIGTERM: running items get [batch]\n"
        "grace_period (5 s) to finish, then are left pending like the rest; see\n"
        "vbatch resume), 5 no item found: nothing was checked (--allow-empty: 0).\n"
        "With --strict ([batch] warnings = fail) an item with warnings makes it 1.\n"
        "The output folder may lie inside an input folder (it is not walked), not\n"
        "be one (exit 2); an earlier output folder met by --recursive is not input.",
    .options = cmd_process_options,
    .exec = cmd_process_exec,
};
