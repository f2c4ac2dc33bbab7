/* cmd-generate.c - `vbatch generate JOBS.csv`: configuration layers
 * (defaults < --preset < --config < command line), JOBS.csv read and
 * checked with the provider's rules, identical requests merged; then
 * either the plan (--dry-run: what would be submitted, what it would
 * cost, which images the provider would refuse; nothing is sent) or the
 * generation engine. */
#include "config.h"
#include "cmd.h"
#include "gen-sched.h"
#include "generate.h"
#include "jobs.h"
#include "msg.h"
#include "preset.h"
#include "shard.h"
#include "provider.h"
#include "util.h"
#include "writer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const cmd_option cmd_generate_options[] = {
    { "preset", 'P', "NAME", "preset to use (see `vbatch presets`; default: default)" },
    { "config", 'c', "FILE", "INI file applied on top of the preset (repeatable)" },
    { "set", 's', "SECTION.KEY=VALUE", "one setting on top of the preset and --config files (repeatable; generate.max_concurrent=5)" },
    { "output", 'o', "DIR", "output folder (default: vbatch-out)" },
    { "provider", 0, "NAME", "the generation API: kling or fal ([generate] provider)" },
    { "max-concurrent", 0, "N", "tasks in flight at once (default 3; [generate] max_concurrent)" },
    { "rpm", 0, "N", "submissions per minute at most (default 60; [generate] rpm)" },
    { "budget", 0, "UNITS", "submit nothing more once the estimated units would pass UNITS ([generate] budget)" },
    { "jobs", 'j', "N", "worker threads and cores for the checks (default: [batch] jobs, else the number of cores)" },
    { "deep", 'd', NULL, "also decode and analyse each video ([analyse])" },
    { "thumbnails", 't', NULL, "make thumbnails and a contact sheet per video ([thumbnails])" },
    { "fix", 'F', NULL, "fix what fails in each video, check it again, deliver it when it passes ([fix]); the generation stays in original/" },
    { "publish", 0, NULL, "link videos that pass every fail-level gate into OUT/publish/" },
    { "quiet", 'q', NULL, "print nothing but errors that stop the run" },
    { "verbose", 'v', NULL, "print a line for every item" },
    { "images-from", 0, "DIR", "local images may also be in DIR (repeatable; default: only JOBS.csv's folder and below)" },
    { "shard", 0, "K/N", "take only shard K of N of the jobs (by a hash of each request: identical ones in one shard); auto/N, auto: from JOB_COMPLETION_INDEX or Slurm's array" },
    { "dry-run", 'n', NULL, "check JOBS.csv and print the plan and its estimated cost; submit nothing" },
    { "format", 'f', "FMT", "the plan as text (default) or json" },
    { NULL, 0, NULL, NULL },
};

typedef struct cmd_generate_args {
    vb_strlist configs, sets;
    vb_strlist image_dirs;    /* --images-from */
    const char *preset;
    const char *out_dir;
    const char *provider;
    int max_concurrent, rpm;  /* 0 = as configured */
    double budget;            /* < 0 = as configured */
    bool dry_run, deep, thumbnails, publish, fix;
    int format;
    int jobs;                 /* 0 = as configured */
    shard shard;              /* --shard; n 0: none */
} cmd_generate_args;

static int cmd_generate_int(const char *opt, const char *arg, int max, int *out)
{
    return cmd_int_arg(&cmd_generate, opt, arg, "a whole number", 1, max, out);
}

static int cmd_generate_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_generate_args *a = ud;
    const char *n = o->name;
    if (strcmp(n, "preset") == 0) a->preset = arg;
    else if (strcmp(n, "config") == 0) vb_strlist_add(&a->configs, arg);
    else if (strcmp(n, "set") == 0) vb_strlist_add(&a->sets, arg);
    else if (strcmp(n, "output") == 0) a->out_dir = arg;
    else if (strcmp(n, "dry-run") == 0) a->dry_run = true;
    else if (strcmp(n, "shard") == 0) {
        vb_error e = {0};
        if (shard_parse(arg, NULL, &a->shard, &e) != 0) {
            cmd_bad_usage(&cmd_generate, "%s", e.msg);
            return -1;
        }
    }
    else if (strcmp(n, "deep") == 0) a->deep = true;
    else if (strcmp(n, "fix") == 0) a->fix = true;
    else if (strcmp(n, "thumbnails") == 0) a->thumbnails = true;
    else if (strcmp(n, "publish") == 0) a->publish = true;
    else if (strcmp(n, "quiet") == 0) vb_verbosity = 0;
    else if (strcmp(n, "verbose") == 0) vb_verbosity = 2;
    else if (strcmp(n, "jobs") == 0) return cmd_generate_int(n, arg, 1024, &a->jobs);
    else if (strcmp(n, "images-from") == 0) {
        struct stat st;
        const char *why = stat(arg, &st) != 0 ? strerror(errno)
                          : !S_ISDIR(st.st_mode) ? "not a folder" : NULL;
        if (why) {
            cmd_bad_usage(&cmd_generate, "--images-from %s: %s", arg, why);
            return -1;
        }
        vb_strlist_add(&a->image_dirs, arg);
    }
    else if (strcmp(n, "provider") == 0) {
        if (!provider_find(arg)) {
            char *names = provider_names();
            cmd_bad_usage(&cmd_generate, "unknown provider '%s' (known: %s)", arg, names);
            free(names);
            return -1;
        }
        a->provider = arg;
    }
    else if (strcmp(n, "max-concurrent") == 0)
        return cmd_generate_int(n, arg, 1000, &a->max_concurrent);
    else if (strcmp(n, "rpm") == 0) return cmd_generate_int(n, arg, 100000, &a->rpm);
    else if (strcmp(n, "budget") == 0) {
        vb_error e = { 0 };
        if (preset_parse_double(arg, &a->budget, &e) != 0 || a->budget < 0) {
            cmd_bad_usage(&cmd_generate, "--budget needs a number of units (0 = none), not '%s'",
                          arg);
            return -1;
        }
    }
    else if (strcmp(n, "format") == 0) {
        a->format = writer_format_parse(arg);
        if (a->format != WRITER_TEXT && a->format != WRITER_JSON) {
            cmd_bad_usage(&cmd_generate, "--format must be text or json, not '%s'", arg);
            return -1;
        }
    }
    return 0;
}

/* ---- the plan ---- */

enum cmd_generate_plan_status { PLAN_SUBMIT, PLAN_DUPLICATE, PLAN_REFUSED, PLAN_OVER_BUDGET };
static const char *const cmd_generate_plan_status_names[] = {
    "submit", "duplicate", "refused", "over_budget"
};

enum cmd_generate_image_check { IMG_NONE, IMG_OK, IMG_REFUSED, IMG_LATER };
static const char *const cmd_generate_image_check_names[] = {
    NULL, "ok", "refused", "after_download"
};

typedef struct cmd_generate_plan_image {
    int check;                /* enum cmd_generate_image_check */
    char *msg;                /* why it was refused (owned) */
} cmd_generate_plan_image;

typedef struct cmd_generate_plan_job {
    const gen_job *j;
    double units;             /* estimate; 0 for a duplicate (made once) */
    int status;               /* enum cmd_generate_plan_status */
    cmd_generate_plan_image image, tail;
} cmd_generate_plan_job;

typedef struct cmd_generate_plan {
    cmd_generate_plan_job *v;
    size_t n;
    size_t unique, refused, to_submit, over_budget;
    double units, submit_units; /* every unique request not refused; within the budget */
    /* what the account has left (generate_balance): 1 read, 0 no such call
     * or nothing to pay, -1 not read (why) */
    int balance_rc;
    double balance_left;
    char balance_info[512], balance_why[600];
} cmd_generate_plan;

/* Would the account pay for what the plan submits? */
static bool cmd_generate_plan_short(const cmd_generate_plan *pl)
{
    return pl->balance_rc == 1 && pl->balance_left + 1e-9 < pl->submit_units;
}

/* The balance, read before anything is paid for, as a real run reads it. */
static void cmd_generate_plan_balance(cmd_generate_plan *pl, const vb_config *c,
                                      const provider *p)
{
    pl->balance_rc = 0;
    if (pl->submit_units <= 0)
        return;
    vb_error e = {0};
    pl->balance_rc = generate_balance(c, p, &pl->balance_left, pl->balance_info,
                                      sizeof pl->balance_info, &e);
    if (pl->balance_rc < 0)
        snprintf(pl->balance_why, sizeof pl->balance_why, "%.590s", e.msg);
}

static void cmd_generate_plan_image_check(const provider *p, const gen_job *j, const char *ref,
                                          const char *file, int64_t max_pixels,
                                          cmd_generate_plan_image *out)
{
    if (!ref) {
        out->check = IMG_NONE;
    } else if (!file && !util_is_url(ref)) {
        /* A local file outside the folders allowed: never read. */
        out->check = IMG_REFUSED;
        out->msg = vb_xstrdup(j->refused ? j->refused : "refused");
    } else if (!file) {
        out->check = IMG_LATER; /* a URL: only its download can be checked */
    } else {
        vb_error e = { 0 };
        if (p->check_image(file, max_pixels, &e) == 0) {
            out->check = IMG_OK;
        } else {
            out->check = IMG_REFUSED;
            out->msg = vb_xasprintf("%s: %s", ref, e.msg);
        }
    }
}

static void cmd_generate_plan_make(cmd_generate_plan *pl, const gen_jobs *jobs,
                                   const provider *p, double budget, int64_t max_pixels)
{
    memset(pl, 0, sizeof *pl);
    pl->n = jobs->n;
    pl->v = vb_xcalloc(jobs->n ? jobs->n : 1, sizeof *pl->v);
    bool budget_stop = false;
    for (size_t i = 0; i < jobs->n; i++) {
        cmd_generate_plan_job *pj = &pl->v[i];
        const gen_job *j = &jobs->v[i];
        pj->j = j;
        cmd_generate_plan_image_check(p, j, j->image, j->image_file, max_pixels, &pj->image);
        cmd_generate_plan_image_check(p, j, j->image_tail, j->image_tail_file, max_pixels,
                                      &pj->tail);
        if (pj->image.check == IMG_REFUSED || pj->tail.check == IMG_REFUSED) {
            pj->units = NAN; /* never submitted: no cost, no estimate */
            pj->status = PLAN_REFUSED;
            pl->refused++;
            continue;
        }
        if (j->duplicate_of >= 0) {
            /* made once, by the job it duplicates; costs nothing more */
            bool refused = pl->v[j->duplicate_of].status == PLAN_REFUSED;
            pj->status = refused ? PLAN_REFUSED : PLAN_DUPLICATE;
            pj->units = refused ? NAN : 0;
            pl->refused += refused;
            continue;
        }
        pl->unique++;
        pj->units = p->estimate_units(j);
        pl->units += pj->units;
        /* As the engine does: no new submission once the next one would
         * pass the budget, even if a cheaper one follows. */
        if (budget_stop || gen_sched_over_budget(budget, pl->submit_units, pj->units)) {
            budget_stop = true;
            pj->status = PLAN_OVER_BUDGET;
            pl->over_budget++;
            continue;
        }
        pj->status = PLAN_SUBMIT;
        pl->to_submit++;
        pl->submit_units += pj->units;
    }
    /* A duplicate of a request over the budget is not made either. */
    for (size_t i = 0; i < jobs->n; i++) {
        cmd_generate_plan_job *pj = &pl->v[i];
        if (pj->status == PLAN_DUPLICATE && pl->v[pj->j->duplicate_of].status == PLAN_OVER_BUDGET)
            pj->status = PLAN_OVER_BUDGET;
    }
}

static void cmd_generate_plan_free(cmd_generate_plan *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        free(pl->v[i].image.msg);
        free(pl->v[i].tail.msg);
    }
    free(pl->v);
    pl->v = NULL;
}

static void cmd_generate_write_image(writer *w, const char *key, const char *ref,
                                     const cmd_generate_plan_image *im)
{
    if (im->check == IMG_NONE) {
        writer_null(w, key);
        return;
    }
    writer_begin_object(w, key);
    writer_string(w, "source", ref);
    writer_string(w, "check", cmd_generate_image_check_names[im->check]);
    writer_string(w, "message", im->check == IMG_REFUSED ? im->msg : NULL);
    writer_end_object(w);
}

static void cmd_generate_plan_write_json(const cmd_generate_plan *pl, const cmd_generate_args *a,
                                         const char *path, const vb_config *c,
                                         const provider *p)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_string(w, "jobs_file", path);
    writer_string(w, "provider", p->name);
    writer_bool(w, "dry_run", a->dry_run);
    writer_begin_array(w, "jobs");
    for (size_t i = 0; i < pl->n; i++) {
        const cmd_generate_plan_job *pj = &pl->v[i];
        const gen_job *j = pj->j;
        writer_begin_object(w, NULL);
        writer_int(w, "line", j->line);
        writer_int(w, "row", j->row);
        writer_string(w, "id", j->id);
        writer_string(w, "kind", jobs_kind_name(j->kind));
        writer_string(w, "model", j->model);
        writer_string(w, "mode", j->mode);
        writer_int(w, "duration", j->duration);
        writer_string(w, "aspect_ratio", j->aspect_ratio);
        writer_double(w, "cfg_scale", j->cfg_scale);
        writer_string(w, "prompt", j->prompt);
        writer_string(w, "negative_prompt", j->negative_prompt);
        cmd_generate_write_image(w, "image", j->image, &pj->image);
        cmd_generate_write_image(w, "image_tail", j->image_tail, &pj->tail);
        writer_double(w, "estimated_units", pj->units);
        if (j->duplicate_of >= 0) {
            const gen_job *d = pl->v[j->duplicate_of].j;
            writer_begin_object(w, "duplicate_of");
            writer_int(w, "line", d->line);
            writer_string(w, "id", d->id);
            writer_end_object(w);
        } else {
            writer_null(w, "duplicate_of");
        }
        writer_string(w, "status", cmd_generate_plan_status_names[pj->status]);
        writer_end_object(w);
    }
    writer_end_array(w);
    writer_begin_object(w, "totals");
    writer_int(w, "jobs", (int64_t)pl->n);
    writer_int(w, "unique_requests", (int64_t)pl->unique);
    writer_int(w, "duplicates", (int64_t)(pl->n - pl->unique - pl->refused));
    writer_int(w, "refused", (int64_t)pl->refused);
    writer_double(w, "estimated_units", pl->units);
    writer_int(w, "to_submit", (int64_t)pl->to_submit);
    writer_double(w, "to_submit_units", pl->submit_units);
    writer_int(w, "over_budget", (int64_t)pl->over_budget);
    writer_end_object(w);
    writer_begin_object(w, "balance");
    writer_bool(w, "checked", pl->balance_rc == 1);
    if (pl->balance_rc == 1) {
        writer_double(w, "units_left", pl->balance_left);
        writer_bool(w, "enough", !cmd_generate_plan_short(pl));
        writer_string(w, "message", pl->balance_info);
    } else {
        writer_null(w, "units_left");
        writer_null(w, "enough");
        writer_string(w, "message", pl->balance_rc < 0 ? pl->balance_why
                                                       : "nothing to pay for, or no such call");
    }
    writer_end_object(w);
    writer_begin_object(w, "limits");
    if (c->generate.budget > 0)
        writer_double(w, "budget", c->generate.budget);
    else
        writer_null(w, "budget");
    writer_int(w, "max_concurrent", c->generate.max_concurrent);
    writer_int(w, "rpm", c->generate.rpm);
    writer_string(w, "rpm_counts",
                  c->generate.rpm_counts == RPM_COUNTS_CREATES ? "creates" : "all");
    writer_double(w, "poll_interval", c->generate.poll_interval);
    writer_double(w, "task_timeout", c->generate.task_timeout);
    provider_endpoint ep = p->endpoint(c);
    writer_string(w, "base_url", ep.base_url);
    writer_double(w, "request_timeout", ep.request_timeout);
    writer_end_object(w);
    writer_end_object(w);
    writer_print(w, stdout);
    writer_free(&w);
}

/* "2", "3.5"; "-" for none */
static void cmd_generate_units_text(char *buf, size_t len, double u)
{
    if (isnan(u))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.10g", u);
}

/* A cell of the text table: control characters shown as spaces, cut to
 * `max` bytes on a character boundary. */
static void cmd_generate_cell(char *buf, size_t len, const char *s, size_t max)
{
    if (!s)
        s = "-";
    size_t n = 0;
    for (; *s && n + 1 < len && n < max; s++)
        buf[n++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
    if (*s) {
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80)
            n--;
        if (n >= 1)
            buf[n - 1] = '~';
    }
    buf[n] = '\0';
}

static void cmd_generate_plan_write_text(const cmd_generate_plan *pl, const char *path,
                                         const vb_config *c, const provider *p)
{
    int wid = 2;
    for (size_t i = 0; i < pl->n; i++) {
        int n = (int)strlen(pl->v[i].j->id);
        if (n > wid)
            wid = n;
    }
    if (wid > 24)
        wid = 24;
    printf("plan for %s (provider %s; nothing is submitted)\n\n", path, p->name);
    printf("%5s %5s  %-*s  %-4s %-18s %-4s %3s %-6s %6s  %s\n", "line", "row", wid, "id",
           "kind", "model", "mode", "dur", "aspect", p->units, "plan");
    for (size_t i = 0; i < pl->n; i++) {
        const cmd_generate_plan_job *pj = &pl->v[i];
        const gen_job *j = pj->j;
        char id[64], model[64], u[32], note[700];
        cmd_generate_cell(id, sizeof id, j->id, (size_t)wid);
        cmd_generate_cell(model, sizeof model, j->model, 18);
        cmd_generate_units_text(u, sizeof u, pj->units);
        switch (pj->status) {
        case PLAN_SUBMIT:
            snprintf(note, sizeof note, "submit");
            break;
        case PLAN_OVER_BUDGET:
            snprintf(note, sizeof note, "over budget: not submitted");
            break;
        case PLAN_DUPLICATE:
        case PLAN_REFUSED:
            if (pj->image.check == IMG_REFUSED || pj->tail.check == IMG_REFUSED)
                snprintf(note, sizeof note, "refused: %s",
                         pj->image.check == IMG_REFUSED ? pj->image.msg : pj->tail.msg);
            else
                snprintf(note, sizeof note, "refused (as line %d)",
                         pl->v[j->duplicate_of].j->line);
            break;
        }
        if (j->duplicate_of >= 0 && pj->status != PLAN_REFUSED) {
            const gen_job *d = pl->v[j->duplicate_of].j;
            char did[64];
            cmd_generate_cell(did, sizeof did, d->id, 24);
            snprintf(note, sizeof note, "same request as line %d (%s): made once%s", d->line,
                     did, pj->status == PLAN_OVER_BUDGET ? ", over budget" : "");
        }
        if (pj->status != PLAN_REFUSED &&
            (pj->image.check == IMG_LATER || pj->tail.check == IMG_LATER))
            strncat(note, "; image URL checked after download",
                    sizeof note - strlen(note) - 1);
        char nc[700];
        cmd_generate_cell(nc, sizeof nc, note, sizeof nc - 1);
        printf("%5d %5d  %-*s  %-4s %-18s %-4s %3d %-6s %6s  %s\n", j->line, j->row, wid, id,
               jobs_kind_name(j->kind), model, j->mode, j->duration,
               j->aspect_ratio ? j->aspect_ratio : "-", u, nc);
    }
    char tu[32], su[32], bu[32];
    cmd_generate_units_text(tu, sizeof tu, pl->units);
    cmd_generate_units_text(su, sizeof su, pl->submit_units);
    cmd_generate_units_text(bu, sizeof bu, c->generate.budget);
    printf("\njobs: %zu; unique requests: %zu; duplicates: %zu; refused locally: %zu\n",
           pl->n, pl->unique, pl->n - pl->unique - pl->refused, pl->refused);
    printf("estimated cost: %s %s (the provider's own figure replaces it once a task is done)\n",
           tu, p->units);
    if (c->generate.budget > 0)
        printf("budget: %s %s allows %zu of %zu requests (%s %s); %zu would not be "
               "submitted\n", bu, p->units, pl->to_submit, pl->unique, su, p->units,
               pl->over_budget);
    else
        printf("budget: none (--budget UNITS or [generate] budget)\n");
    if (pl->balance_rc == 1)
        printf("balance: %.10g %s left (%s); the requests to submit need %s: %s\n",
               pl->balance_left, p->units, pl->balance_info, su,
               cmd_generate_plan_short(pl) ? "not enough, a run would not start" : "enough");
    else if (pl->balance_rc < 0)
        printf("balance: not checked (%s)\n", pl->balance_why);
    printf("limits: %d tasks at once, %d %s a minute, polls every %gs (jittered), "
           "task timeout %gs\n",
           c->generate.max_concurrent, c->generate.rpm,
           c->generate.rpm_counts == RPM_COUNTS_CREATES ? "submissions" : "requests",
           c->generate.poll_interval, c->generate.task_timeout);
}

/* ---- the command ---- */

static void cmd_generate_print_errors(const gen_jobs *jobs)
{
    for (size_t i = 0; i < jobs->errors.n; i++)
        msg_error("%s", jobs->errors.v[i]);
    if (jobs->nerrors > jobs->errors.n)
        msg_error("... and %zu more", jobs->nerrors - jobs->errors.n);
    msg_error("%zu problem%s in the jobs file: nothing was submitted", jobs->nerrors,
              jobs->nerrors == 1 ? "" : "s");
}

static int cmd_generate_exec(int argc, char **argv)
{
    cmd_generate_args a = { .out_dir = "vbatch-out", .budget = -1, .format = WRITER_TEXT };
    vb_config cfg;
    preset_defaults(&cfg);
    gen_jobs jobs = { 0 };
    int status = VB_EXIT_OK;
    vb_error e = { 0 };

    int rc = cmd_parse(&cmd_generate, argc, argv, cmd_generate_opt, &a);
    if (rc != 0) {
        status = rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
        goto out;
    }
    if (optind >= argc) {
        status = cmd_bad_usage(&cmd_generate, "no JOBS.csv given");
        goto out;
    }
    if (argc - optind > 1) {
        status = cmd_bad_usage(&cmd_generate, "one JOBS.csv at a time ('%s' is one too many)",
                               argv[optind + 1]);
        goto out;
    }
    const char *path = argv[optind];

    if ((status = cmd_load_config(&cfg, a.preset, &a.configs, &a.sets)) != 0)
        goto out;
    /* Command-line options come last: they win over every file. */
    if (a.provider) {
        free(cfg.generate.provider);
        cfg.generate.provider = vb_xstrdup(a.provider);
    }
    if (a.max_concurrent)
        cfg.generate.max_concurrent = a.max_concurrent;
    if (a.rpm)
        cfg.generate.rpm = a.rpm;
    if (a.budget >= 0)
        cfg.generate.budget = a.budget;
    if (a.deep)
        cfg.analyse.enabled = true;
    if (a.thumbnails)
        cfg.thumbs.enabled = true;
    if (a.publish)
        cfg.output.publish = true;
    if (a.fix)
        cfg.fix.enabled = true;
    const provider *p = provider_find(cfg.generate.provider);
    if (!p) { /* preset.c checks the name: only a new provider missing its table line */
        msg_error("unknown provider '%s'", cfg.generate.provider);
        status = VB_EXIT_USAGE;
        goto out;
    }

    /* Every problem of the file at once, before anything is submitted. */
    if (jobs_load_from(&jobs, path, &a.image_dirs, &cfg, p, &e) != 0) {
        cmd_generate_print_errors(&jobs);
        status = VB_EXIT_USAGE;
        goto out;
    }
    if (a.shard.n > 0)
        jobs_keep_shard(&jobs, p->name, &a.shard);
    size_t unique = jobs_dedupe(&jobs, p->name);

    if (a.dry_run) {
        cmd_generate_plan pl;
        cmd_generate_plan_make(&pl, &jobs, p, cfg.generate.budget, cfg.qc.image_max_pixels);
        cmd_generate_plan_balance(&pl, &cfg, p);
        if (a.format == WRITER_JSON)
            cmd_generate_plan_write_json(&pl, &a, path, &cfg, p);
        else
            cmd_generate_plan_write_text(&pl, path, &cfg, p);
        /* A job whose image the provider would refuse is an item that
         * can not be processed: exit 3, as the real run would. */
        status = pl.refused ? VB_EXIT_ITEMS : VB_EXIT_OK;
        /* ... and a run the account can not pay for would not start. */
        if (cmd_generate_plan_short(&pl))
            status = VB_EXIT_USAGE;
        cmd_generate_plan_free(&pl);
        if (fflush(stdout) != 0 && status == VB_EXIT_OK) {
            msg_error("standard output: %s", strerror(errno));
            status = VB_EXIT_ITEMS;
        }
        goto out;
    }

    generate_opts go = {
        .jobs_path = path,
        .out_dir = a.out_dir,
        .config = &cfg,
        .provider = p,
        .jobs = &jobs,
        .unique = unique,
        .command_line = vb_command_line,
        .shard_k = a.shard.k,
        .shard_n = a.shard.n,
        .observer = batch_console(),
        .summary_out = vb_verbosity >= 1 ? stdout : NULL,
    };
    go.jobs_threads = a.jobs;
    generate_result res;
    generate_run(&go, &res);
    status = generate_console_finish(&res, a.out_dir);

out:
    jobs_free(&jobs);
    preset_free_contents(&cfg);
    vb_strlist_clear(&a.configs);
    vb_strlist_clear(&a.sets);
    vb_strlist_clear(&a.image_dirs);
    return status;
}

const vb_command cmd_generate = {
    .name = "generate",
    .alias = NULL,
    .usage = "JOBS.csv [--preset NAME] [--config FILE] [--set SECTION.KEY=VALUE] [--output DIR]\n"
             "       [--provider kling|fal] [--max-concurrent N] [--rpm N] [--budget UNITS] [--jobs N]\n"
             "       [--deep] [--thumbnails]"
             " [--fix] [--publish] [--images-from DIR]... [--shard K/N] [--quiet|--verbose]\n"
             "       [--dry-run [--format text|json]]",
    .summary = "generate videos from a CSV of prompts with a video API (Kling, fal.ai), then check them",
    .description =
        "JOBS.csv (RFC 4180: quote a cell holding commas, quotes or line breaks) starts\n"
        "with a header row naming its columns, in any order: id, prompt, negative_prompt,\n"
        "model, duration (seconds: 5 or 10, 3 to 15 on kling-v3), aspect_ratio (16:9,\n"
        "9:16, 1:1), mode (std or pro), cfg_scale (0 to 1), image, image_tail (a local\n"
        "path, relative to the CSV's folder,\n"
        "or an http(s) URL). A row with an image is image-to-video; one without needs a\n"
        "prompt. An empty cell takes the [generate] default; an empty id is row-N.\n"
        "Every problem (unknown column, missing prompt, duplicate id, bad value, a\n"
        "request the provider does not take) is reported with FILE:LINE (row N), and\n"
        "nothing is submitted (exit 2). Rows asking for the same request are made once.\n"
        "A local image is sent only if its real path (links resolved) is in the CSV's\n"
        "folder or below, or in a folder given with --images-from: a JOBS.csv from\n"
        "someone else can not send your other pictures. A job naming another file, or an\n"
        "image whose header claims more than [qc] image_max_pixels, or one the provider\n"
        "would refuse, is refused at no cost (the file is not sent) and the others go on.\n"
        "--dry-run prints the plan: each job with its estimated cost, duplicates, local\n"
        "images checked against the provider's limits (URL images are checked after\n"
        "download), the totals and what --budget allows. Exit status of a dry run: 0,\n"
        "2 for errors in the file or configuration, 3 if some job would be refused.\n"
        "Otherwise every job is journaled, then submitted within --max-concurrent and\n"
        "--rpm, polled, downloaded into OUT/<id>/video/ and checked like `process` while\n"
        "the others generate; each request is created exactly once (external_task_id),\n"
        "even across a crash (fal takes no client id: a create whose answer is lost is\n"
        "reported unknown, never sent again). Kling keys: KLING_API_KEY, or KLING_ACCESS_KEY and\n"
        "KLING_SECRET_KEY, or [provider.kling] key_file (mode 600); fal: FAL_KEY or\n"
        "[provider.fal] key_file, the model a fal id ([provider.fal] model). A model the API\n"
        "no longer offers (1203) or does not open to the account (1103) fails its\n"
        "jobs only, at no cost. Exit status as for process; 2 when the\n"
        "API refuses the keys (the jobs not made are left pending: fix the keys, then\n"
        "`vbatch resume`); 4 when interrupted or when jobs were left unsubmitted (no\n"
        "credit, budget): `vbatch resume` goes on without paying twice. Like process,\n"
        "the run holds OUT/.vbatch/lock: another run into OUT is refused at once\n"
        "(exit 2).",
    .options = cmd_generate_options,
    .exec = cmd_generate_exec,
};
