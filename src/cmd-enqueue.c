/* cmd-enqueue.c - `vbatch enqueue`: the items `vbatch process` would
 * take (the same discovery, the same folder names) as entries of a Redis
 * stream, for `vbatch worker`s to process; the batch's settings stored
 * once beside them. A JOBS.csv instead of paths: one entry per generation
 * job (its JSON and its external_task_id, made here once so that every
 * delivery of it has the same), for workers to generate and check. */
#include "config.h"
#include "batch-source.h"
#include "cmd.h"
#include "fetch.h"
#include "generate.h"
#include "jobs.h"
#include "layout.h"
#include "provider.h"
#include "msg.h"
#include "queue.h"
#include "report.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* process's options but those of a run (where it writes, how many
 * threads, what it prints as it goes), then the queue's. */
static const char *const cmd_enqueue_not[] = {
    "output", "jobs", "dry-run", "format", "force", "notify", "notify-items",
    "error-handling", "verbose",
    NULL,
};
static const cmd_option cmd_enqueue_own[] = {
    { "queue", 'Q', "URL", "redis://[user@]host:port/DB/NAME (default: $VBATCH_QUEUE); the password from $VBATCH_REDIS_PASSWORD or the 0600 file $VBATCH_REDIS_PASSWORD_FILE" },
    { "visibility", 0, "SECONDS", "an item a worker has not renewed for SECONDS is taken over by another (default 60)" },
    { "max-deliveries", 0, "N", "an item delivered N times without a result goes to the dead letters (default 3)" },
};
static cmd_option cmd_enqueue_options[64];

/* The table is process's, filtered, and the queue's: made before main. */
__attribute__((constructor)) static void cmd_enqueue_table(void)
{
    size_t n = 0;
    for (const cmd_option *o = cmd_process_options; o->name; o++) {
        bool drop = false;
        for (size_t i = 0; cmd_enqueue_not[i]; i++)
            drop |= strcmp(o->name, cmd_enqueue_not[i]) == 0;
        if (!drop && n + VB_ARRAY_LEN(cmd_enqueue_own) + 1 < VB_ARRAY_LEN(cmd_enqueue_options))
            cmd_enqueue_options[n++] = *o;
    }
    for (size_t i = 0; i < VB_ARRAY_LEN(cmd_enqueue_own); i++)
        cmd_enqueue_options[n++] = cmd_enqueue_own[i];
}

typedef struct cmd_enqueue_args {
    cmd_process_args p;
    const char *url;
    int visibility, max_deliveries;
} cmd_enqueue_args;

static int cmd_enqueue_opt(const cmd_option *o, const char *arg, void *ud)
{
    cmd_enqueue_args *a = ud;
    if (strcmp(o->name, "queue") == 0)
        a->url = arg;
    else if (strcmp(o->name, "visibility") == 0)
        return cmd_int_arg(&cmd_enqueue, o->name, arg, "a number of seconds", 1, 86400,
                           &a->visibility);
    else if (strcmp(o->name, "max-deliveries") == 0)
        return cmd_int_arg(&cmd_enqueue, o->name, arg, "a number", 1, 1000, &a->max_deliveries);
    else
        return cmd_process_opt_for(&cmd_enqueue, o, arg, &a->p) < 0 ? -1 : 0;
    return 0;
}

/* The command line as the queue keeps it: the URL without credentials. */
static char *cmd_enqueue_command_line(int argc, char **argv, const queue_url *u)
{
    char *shown = queue_url_display(u);
    char **v = vb_xcalloc((size_t)argc + 2, sizeof *v);
    v[0] = "vbatch";
    for (int i = 0; i < argc; i++) {
        v[i + 1] = argv[i];
        if (strncmp(argv[i], "redis://", 8) == 0)
            v[i + 1] = shown;
        else if (strncmp(argv[i], "--queue=", 8) == 0 || strncmp(argv[i], "-Qredis://", 10) == 0)
            v[i + 1] = "--queue";
    }
    char *s = cmd_join_argv(argc + 1, v);
    free(v);
    free(shown);
    return s;
}

typedef struct cmd_enqueue_feed {
    queue *q;
    int64_t n, bad;
    vb_error e;                   /* the first failure to add */
    bool failed;
} cmd_enqueue_feed;

static void cmd_enqueue_one(void *ud, const batch_preview_item *p)
{
    cmd_enqueue_feed *f = ud;
    if (f->failed)
        return;
    queue_entry en = { .seq = f->n + 1, .path = p->path, .rel = p->rel ? p->rel : p->path,
                       .folder = p->folder, .error = p->error };
    if (queue_add(f->q, &en, &f->e) != 0) {
        f->failed = true;
        return;
    }
    f->n++;
    f->bad += p->error != NULL;
}

/* Is the one PATH a jobs file (generation) rather than media? */
static bool cmd_enqueue_is_jobs(const cmd_process_args *p)
{
    if (p->b.paths.n != 1 || p->b.lists.n != 0)
        return false;
    size_t n = strlen(p->b.paths.v[0]);
    return n > 4 && strcasecmp(p->b.paths.v[0] + n - 4, ".csv") == 0;
}

/* JOBS.csv read and checked, before the queue is made: 0, or an exit
 * status (every problem printed). */
static int cmd_enqueue_load(const char *path, const vb_config *cfg, gen_jobs *jobs,
                            vb_error *e)
{
    const provider *p = provider_find(cfg->generate.provider);
    if (!p) {
        msg_error("unknown provider '%s'", cfg->generate.provider);
        return VB_EXIT_USAGE;
    }
    if (jobs_load(jobs, path, cfg, p, e) != 0) {
        for (size_t i = 0; i < jobs->errors.n; i++)
            msg_error("%s", jobs->errors.v[i]);
        msg_error("%zu problem%s in the jobs file: nothing was enqueued", jobs->nerrors,
                  jobs->nerrors == 1 ? "" : "s");
        return VB_EXIT_USAGE;
    }
    return 0;
}

/* Every job as an entry; 0, or an exit status. */
static int cmd_enqueue_jobs(queue *q, const gen_jobs *jobs_in, const vb_config *cfg,
                            int64_t *count, vb_error *e)
{
    const provider *p = provider_find(cfg->generate.provider);
    const gen_jobs jobs = *jobs_in;
    /* The external ids' salt: this queue's, so that another queue of the
     * same jobs generates them anew. */
    char *salt = vb_xasprintf("%s/%.6f/%ld", queue_name(q), util_wall(), (long)getpid());
    layout_names *names = layout_names_new();
    int status = 0;
    for (size_t i = 0; i < jobs.n && status == 0; i++) {
        const gen_job *j = &jobs.v[i];
        char ext[40];
        if (generate_external_id(j, p->name, salt, ext, e) != 0) {
            msg_error("row %lld: %s", (long long)j->row, e->msg);
            status = VB_EXIT_USAGE;
            break;
        }
        char *folder = layout_unique_name(names, j->id);
        char *src = vb_xasprintf("%s:%s", p->name, j->id);
        char *js = jobs_job_to_json(j);
        queue_entry en = { .seq = (int64_t)i + 1, .path = src, .rel = j->id, .folder = folder,
                           .job = js, .ext = ext };
        if (queue_add(q, &en, e) != 0) {
            msg_error("%s (%zu jobs enqueued)", e->msg, i);
            status = VB_EXIT_ITEMS;
        } else {
            ++*count;
        }
        free(js);
        free(src);
        free(folder);
    }
    layout_names_free(&names);
    free(salt);
    return status;
}

static int cmd_enqueue_exec(int argc, char **argv)
{
    cmd_enqueue_args a = { .visibility = 60, .max_deliveries = 3 };
    a.p.b.refuse_empty = true;
    vb_config cfg;
    preset_defaults(&cfg);
    queue_url u = {0};
    queue *q = NULL;
    char *cl = NULL, *settings = NULL;
    gen_jobs jobs = {0};
    int status = VB_EXIT_OK;
    int rc = cmd_parse(&cmd_enqueue, argc, argv, cmd_enqueue_opt, &a);
    if (rc != 0) {
        status = rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
        goto out;
    }
    for (int i = optind; i < argc; i++)
        vb_strlist_add(&a.p.b.paths, argv[i]);
    if (!a.url)
        a.url = getenv("VBATCH_QUEUE");
    vb_error e = {0};
    if (!a.url || !*a.url) {
        status = cmd_bad_usage(&cmd_enqueue, "--queue URL (or $VBATCH_QUEUE) is needed");
        goto out;
    }
    if (a.p.b.paths.n == 0 && a.p.b.lists.n == 0) {
        status = cmd_bad_usage(&cmd_enqueue, "no PATH or --from-list given");
        goto out;
    }
    if (queue_url_parse(a.url, &u, &e) != 0) {
        status = cmd_bad_usage(&cmd_enqueue, "%s", e.msg);
        goto out;
    }
    if ((status = cmd_process_settings(&a.p, &cfg)) != 0)
        goto out;
    bool is_jobs = cmd_enqueue_is_jobs(&a.p);
    if (is_jobs && (status = cmd_enqueue_load(a.p.b.paths.v[0], &cfg, &jobs, &e)) != 0)
        goto out;
    if (queue_url_password(&u, &e) != 0) {
        msg_error("%s", e.msg);
        status = VB_EXIT_USAGE;
        goto out;
    }
    if (!(q = queue_open(&u, NULL, 30, &e))) {
        msg_error("%s", e.msg);
        status = e.code == VB_ERR_CONFIG ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
        goto out;
    }
    cl = cmd_enqueue_command_line(argc, argv, &u);
    vb_strlist inputs = {0};
    for (size_t i = 0; i < a.p.b.paths.n; i++) {
        char *p = util_is_url(a.p.b.paths.v[i]) ? fetch_display_url(a.p.b.paths.v[i])
                                                 : vb_xstrdup(a.p.b.paths.v[i]);
        vb_strlist_add(&inputs, p);
        free(p);
    }
    for (size_t i = 0; i < a.p.b.lists.n; i++) {
        char *s = vb_xasprintf("--from-list %s", a.p.b.lists.v[i]);
        vb_strlist_add(&inputs, s);
        free(s);
    }
    settings = report_queue_settings(&cfg, cl, &inputs, a.visibility, a.max_deliveries);
    vb_strlist_clear(&inputs);
    if (queue_create(q, settings, &e) != 0) {
        msg_error("%s", e.msg);
        status = e.code == VB_ERR_USAGE ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
        goto out;
    }
    if (is_jobs) {
        int64_t n = 0;
        char *shown = queue_url_display(&u);
        status = cmd_enqueue_jobs(q, &jobs, &cfg, &n, &e);
        if (status == 0 && queue_close_input(q, n, &e) != 0) {
            msg_error("%s", e.msg);
            status = VB_EXIT_ITEMS;
        }
        if (status == 0)
            msg_note("%lld generation jobs enqueued into %s (%s, at most %d at once, %d "
                     "creates a minute across the workers)", (long long)n, shown,
                     cfg.generate.provider, cfg.generate.max_concurrent, cfg.generate.rpm);
        free(shown);
        goto out;
    }
    a.p.b.config = &cfg;
    a.p.b.out_dir = NULL;
    cmd_enqueue_feed f = { .q = q };
    rc = batch_preview(&a.p.b, cmd_enqueue_one, &f, NULL, &e);
    char *shown = queue_url_display(&u);
    if (f.failed || rc != 0) {
        msg_error("%s (%lld items enqueued into %s)", f.failed ? f.e.msg : e.msg,
                  (long long)f.n, shown);
        status = VB_EXIT_ITEMS;
    } else if (queue_close_input(q, f.n, &e) != 0) {
        msg_error("%s", e.msg);
        status = VB_EXIT_ITEMS;
    } else {
        msg_note("%lld items enqueued into %s (%lld not readable)", (long long)f.n, shown,
                 (long long)f.bad);
        if (f.n == 0 && a.p.b.refuse_empty) {
            msg_error("no item found in the input (exit status %d)", VB_EXIT_EMPTY);
            status = VB_EXIT_EMPTY;
        }
    }
    free(shown);
out:
    jobs_free(&jobs);
    free(cl);
    free(settings);
    queue_close(&q);
    queue_url_clear(&u);
    preset_free_contents(&cfg);
    cmd_process_args_clear(&a.p);
    return status;
}

const vb_command cmd_enqueue = {
    .name = "enqueue",
    .alias = NULL,
    .usage = "PATH...|JOBS.csv --queue redis://[user@]host:port/DB/NAME [--visibility SECONDS]\n"
             "       [--max-deliveries N] [the options of process that choose the items\n"
             "       and the checks: --pattern, --recursive, --from-list, --preset, --config,\n"
             "       --set, --deep, --thumbnails, --fix, --publish, --strict, --shard ...]",
    .summary = "put a batch's items on a Redis stream, for vbatch worker on any number of hosts",
    .description =
        "Finds the items as `vbatch process` would (the same options, the same item\n"
        "folder names) and adds one entry per item to the stream NAME in Redis, with the\n"
        "batch's settings stored once (NAME:settings). `vbatch worker --queue URL\n"
        "--output DIR` processes them; `vbatch status --queue URL` shows the queue;\n"
        "`vbatch report --queue URL --output DIR` writes the journal and reports.\n"
        "An item whose worker has not renewed its claim for --visibility seconds (the\n"
        "worker died) is taken over by another; one delivered --max-deliveries times\n"
        "without a result goes to the dead letters (NAME:dead) with its last error.\n"
        "The queue must be new: a NAME that exists is refused (exit 2). Paths are\n"
        "stored as given: workers must see the inputs at the same paths (a shared\n"
        "mount). The password is never stored, nor shown: give it in\n"
        "$VBATCH_REDIS_PASSWORD or in a file readable by its owner alone named by\n"
        "$VBATCH_REDIS_PASSWORD_FILE ($VBATCH_QUEUE may hold the whole URL).\n"
        "A single PATH ending in .csv is a JOBS.csv (as vbatch generate reads it):\n"
        "one entry per generation job, for the workers to generate and check, with\n"
        "the [generate] settings of --config and --set (max_concurrent and rpm: the\n"
        "account's limits, shared by all the workers).\n"
        "Exit status: 0 enqueued, 2 usage (or the password refused), 3 Redis could\n"
        "not be reached, 5 no item found (--allow-empty: 0).",
    .options = cmd_enqueue_options,
    .exec = cmd_enqueue_exec,
};
