/* generate.h - `vbatch generate`: jobs to a video-generation API, every
 * result downloaded and put through the same stages, journal and reports
 * as `vbatch process` (the engine is generate.c). */
#ifndef VB_GENERATE_H
#define VB_GENERATE_H

#include "vbatch.h"
#include "batch.h"
#include "jobs.h"
#include "preset.h"

struct provider;

/* Limits and claims shared with other processes (vbatch worker: kept in
 * Redis by the queue). The engine asks before each create and knows
 * nothing of where they are kept; every callback runs on the network
 * thread. */
typedef struct gen_shared {
    /* A create (or the look-up of one) for task ext may start: an
     * account slot and a token of its rate taken together. 1 taken, 0
     * not now (*wait: seconds before asking again), -1 with e set. */
    int (*acquire)(void *ud, const char *ext, double *wait, vb_error *e);
    /* The task no longer runs at the provider (or never did): its slot. */
    void (*release)(void *ud, const char *ext);
    /* Before the create is sent: 1 this process's to send; 0 claimed by
     * an earlier delivery that may have sent it (*task_id the provider's
     * id it recorded, or NULL; *by who; the caller frees both), -1 e. */
    int (*claim)(void *ud, const char *ext, char **task_id, char **by, vb_error *e);
    /* The create answered: its task id, kept with the claim. */
    void (*created)(void *ud, const char *ext, const char *task_id);
    /* The create was refused in a way that proves nothing was made
     * (the provider's verdict, or it was never sent): its claim dropped
     * if it is still this process's and holds no task id, so that a
     * later delivery sends it instead of taking it for one that may
     * have been made. true: no claim is kept (the next send claims
     * again); false: it is kept (could not be reached). NULL: never. */
    bool (*unclaim)(void *ud, const char *ext);
    void *ud;
} gen_shared;

/* A job added while the engine runs (generate_opts.more). */
typedef struct generate_more_job {
    gen_job job;                      /* moved into the engine (left cleared) */
    char ext_id[40];                  /* its external_task_id; "": made from the
                                       * journal's salt */
    char *folder;                     /* owned, taken by the engine; NULL: from
                                       * its id */
} generate_more_job;

typedef struct generate_opts {
    const char *jobs_path;            /* JOBS.csv as given */
    const char *out_dir;              /* --output (default vbatch-out) */
    const vb_config *config;          /* effective settings, borrowed: [generate]
                                       * already holds --provider, --max-concurrent,
                                       * --rpm and --budget */
    const struct provider *provider;  /* borrowed; NULL: [generate] provider */
    const gen_jobs *jobs;             /* validated; borrowed (NULL when resuming) */
    size_t unique;                    /* requests left once duplicates are removed */
    const char *command_line;         /* for the reports */
    int shard_k, shard_n;             /* --shard K/N (jobs already kept), recorded
                                       * with the inputs; shard_n 0: none */
    int jobs_threads;                 /* --jobs: workers for the media stages */
    const char *resume_id;            /* finish this recorded generate batch */
    const char *requeue;              /* with resume_id: redo the items with this
                                       * status ("failed", "qc_failed"); a job whose
                                       * generation failed is submitted again */
    const batch_observer *observer;   /* what the batch shows while it runs
                                       * (batch_console()); NULL: nothing */
    FILE *summary_out;                /* where the summary goes, NULL: nowhere */
    /* A worker's group of queue items (cmd-worker.c): */
    const gen_shared *shared;         /* NULL: this process alone (the local limits) */
    const char *const *ext_ids;       /* per job: its external_task_id, made at enqueue
                                       * (NULL: made from the journal's salt) */
    const char *const *folders;       /* per job: its folder (NULL: from its id) */
    /* Asked at each turn of the loop (a worker's SIGTERM, NULL: never):
     * GEN_GO, GEN_DRAIN (no new create; the tasks created go on) or
     * GEN_HAND_BACK (stop now, nothing cancelled: the tasks not recorded go
     * back to the queue and another delivery fetches them). With it the
     * caller owns SIGINT and SIGTERM: the batch starts no signal thread. */
    int (*stopping)(void *ud);
    void *stopping_ud;
    /* More jobs while it runs (a worker's queue; NULL: the jobs given are
     * all; never when resuming): asked on the network thread whenever
     * fewer than max_concurrent tasks are open and none waits in line, so
     * that a slot is not left idle until the slowest job given ends.
     * Fills out[0..room) and returns how many (0: none now; asked again
     * half a second later, and once more before the engine would end).
     * The engine numbers them on after the jobs it holds (seq n+1 ...). */
    size_t (*more)(void *ud, size_t room, generate_more_job *out);
    void *more_ud;
} generate_opts;

enum { GEN_GO, GEN_DRAIN, GEN_HAND_BACK };

/* A job's external_task_id: a hash of its canonical request (local
 * images by content) and of salt, "vb-" and 32 hex digits into out. 0,
 * or -1 with e set (an image cannot be read). */
int generate_external_id(const gen_job *j, const char *pvname, const char *salt, char out[40],
                         vb_error *e);

/* How a generate run ended. */
typedef struct generate_result {
    bool started;                 /* false: it could not start (why says why) */
    bool usage;                   /* ... because of the configuration, the keys
                                     or the output folder (else the journal
                                     or the network) */
    char why[1100];
    char batch_id[80];
    batch_result batch;           /* started: how the batch of checks ended */
    /* Known once generate_end has waited for the network thread: */
    bool auth_refused;            /* the provider refused the keys: the jobs not
                                     made are left pending, to be resumed */
    bool journal_failed;          /* a task's state could not be journaled: */
    char journal_why[1024];       /* why */
    int64_t creates, polls, lookups, downloads, retries;
    /* slots freed by the clock (gen_sched_release_after), and the
     * creates then refused for too many tasks */
    int64_t released, mispredicted;
    /* What the account had left before the first paid submission: */
    bool balance_checked;         /* the provider said (balance_left) */
    double balance_left, balance_need; /* units left; units the run would submit */
    char balance_note[700];       /* why it could not be checked, "" if it was */
    struct gen_engine *engine;    /* owned, until generate_end */
} generate_result;

/* Generate, download and check every job (or finish a recorded batch).
 * Fills *res (released by generate_end, always called); prints nothing
 * but what the batch's observer (the console) shows while it runs. 0,
 * or -1 when it could not start. When res->batch.exit_now, the caller
 * ends the process without generate_end (batch_console_finish does). */
int generate_run(const generate_opts *o, generate_result *res);
/* Wait for the network thread to finish what was in flight, complete
 * *res, release the engine. */
void generate_end(generate_result *res);
/* The exit status (VB_EXIT_*) of a run that ended so: batch_exit_status,
 * except that refused keys are a configuration error (2). Pure. */
int generate_exit_status(const generate_result *res);

/* What the provider's account has left to pay jobs with, by its free
 * balance call (one request, made again after a refusal for going too
 * fast or a transient failure, the provider's interval apart): 1 with
 * *left and a sentence about what was counted in info (info_len bytes),
 * 0 when the provider has no such call, -1 with e set (no keys, no
 * answer). For a dry run: the keys are read, nothing is submitted. */
int generate_balance(const vb_config *cfg, const struct provider *pv, double *left,
                     char *info, size_t info_len, vb_error *e);

/* ---- the console (gen-console.c) ---- */

/* Say how the run ended (batch_console_finish for its batch), wait for
 * its end (generate_end), and return the exit status. */
int generate_console_finish(generate_result *res, const char *out_dir);

/* Is batch_id (NULL: the latest) of out_dir a generate batch? 1, 0, or
 * -1 with e set. */
int generate_is_batch(const char *out_dir, const char *batch_id, vb_error *e);

#endif
