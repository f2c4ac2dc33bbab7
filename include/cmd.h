/* cmd.h - the command table. Each cmd-NAME.c exports one vb_command;
 * `vbatch help CMD` and `vbatch CMD --help` are produced from it. */
#ifndef VB_CMD_H
#define VB_CMD_H

#include "vbatch.h"
#include "preset.h"
#include "batch.h"
#include <stdio.h>
#include <getopt.h>

typedef struct cmd_option {
    const char *name;     /* long name, without "--" */
    int short_name;       /* 0 if none */
    const char *arg;      /* argument name, NULL for a flag */
    const char *help;
} cmd_option;

typedef struct vb_command {
    const char *name;
    const char *alias;    /* NULL if none */
    const char *usage;    /* after "vbatch NAME " */
    const char *summary;  /* one line */
    const char *description; /* paragraph(s) for help, may be NULL */
    const cmd_option *options; /* terminated by {NULL} */
    int (*exec)(int argc, char **argv); /* returns an exit status */
} vb_command;

extern const vb_command cmd_process, cmd_probe, cmd_presets, cmd_report, cmd_status,
    cmd_resume, cmd_retry, cmd_generate, cmd_merge, cmd_enqueue, cmd_worker, cmd_completion;

const vb_command *cmd_find(const char *name);
/* Every command, NULL-terminated. */
extern const vb_command *const cmd_table[];
void cmd_help(FILE *f, const vb_command *c);
/* The command (or alias, help, version) nearest a mistyped name, or NULL. */
const char *cmd_suggest(const char *name);
/* "unknown command 'proces' (did you mean 'process'?)", one line on
 * stderr; returns VB_EXIT_USAGE. */
int cmd_unknown(const char *name);
void cmd_usage_all(FILE *f);
/* Build a getopt_long table and short-option string from c->options;
 * `--help` is always added and reported as 'h'. Caller frees both. */
void cmd_getopt_tables(const vb_command *c, struct option **longopts,
                       char **shortopts);
/* Common error for a bad option: prints to stderr, returns VB_EXIT_USAGE. */
int cmd_bad_usage(const vb_command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The integer argument of --opt, from min to max, into *out: 0, or -1
 * after "--opt needs NOUN from MIN to MAX, not 'ARG'" (cmd_bad_usage);
 * noun is "a number" or "a whole number", as each command words it. */
int cmd_int_arg(const vb_command *c, const char *opt, const char *arg, const char *noun,
                int min, int max, int *out);
/* Parse argv with c's table, calling fn for each option (val = short name
 * or index into c->options + 256 for long-only ones). Handles --help
 * (prints help, returns 1 so the caller exits 0) and bad options (returns
 * -1 after printing). Returns 0 when done; optind is left at the first
 * operand. */
int cmd_parse(const vb_command *c, int argc, char **argv,
              int (*fn)(const cmd_option *opt, const char *arg, void *ud),
              void *ud);

/* `vbatch resume` and `vbatch retry` (cmd-resume.c): the options they
 * share, and the run of a batch recorded in the journal. */
typedef struct recorded_args {
    const char *out_dir;
    const char *batch_id;
    int jobs;
    int error_handling;           /* 0 = as recorded, else 1 + enum error_handling */
    double budget;                /* generate batches: < 0 = as recorded */
    vb_strlist lists;             /* --from-list: where the full URLs are (owned) */
    vb_strlist urls;              /* operands: PATH URLs given again in full (owned) */
    const char *notify;           /* --notify URL: the webhook again */
    bool notify_items;            /* --notify-items */
} recorded_args;
/* --output, --job-id, --jobs, --error-handling, --from-list, --notify,
 * --notify-items, --quiet, --verbose: 0
 * when handled, 1 when
 * o is none of them, -1 after a usage error was printed. */
int cmd_recorded_opt(const vb_command *c, const cmd_option *o, const char *arg,
                     recorded_args *a);
/* Check the operands (URLs only: those of PATH URLs the journal keeps
 * without their secrets), load the batch's settings and run it: its pending
 * items, plus (requeue non-NULL) those with status requeue, in up to
 * `rounds` rounds while some are left with that status. Exit status. */
int cmd_run_recorded(const vb_command *c, int argc, char **argv, const recorded_args *a,
                     const char *requeue, int rounds);

/* `vbatch process` and `vbatch enqueue` (cmd-process.c): the options
 * they share, and the settings they make of them. */
typedef struct cmd_process_args {
    batch_opts b;
    vb_strlist patterns, excludes, configs, sets;
    const char *preset;
    const char *notify;           /* --notify URL */
    bool notify_items;            /* --notify-items */
    bool recursive, publish, deep, thumbnails, fix, dry_run, strict, null;
    bool github;                  /* --format github */
    int format;                   /* --dry-run's: WRITER_TEXT or WRITER_JSON */
    int jobs;
    int error_handling;           /* 0 = as configured, else 1 + enum error_handling */
    int outside_links;            /* 0 = as configured, else 1 + enum outside_links */
} cmd_process_args;
extern const cmd_option cmd_process_options[];
/* One of process's options for command c: 0 when handled, 1 when o is
 * none of them, -1 after a usage error was printed. */
int cmd_process_opt_for(const vb_command *c, const cmd_option *o, const char *arg,
                        cmd_process_args *a);
/* The settings of a, layered (defaults < --preset < --config < --set <
 * options) into cfg: 0, or the exit status after printing why. */
int cmd_process_settings(cmd_process_args *a, vb_config *cfg);
void cmd_process_args_clear(cmd_process_args *a);

/* The settings of a run: the preset NAME (NULL: "default"), then each
 * --config file in order. 0, or VB_EXIT_USAGE after printing why. */
int cmd_load_config(vb_config *cfg, const char *preset, const vb_strlist *configs,
                    const vb_strlist *sets);

/* argv (argv[0] included) as one shell-quoted string. Caller frees. */
char *cmd_join_argv(int argc, char **argv);

#endif
