/* batch.h - the batch engine: a bounded pool of worker threads takes
 * items from one source (a scan, a resumed journal, a generation feed),
 * runs each down the road of stages (stage.h), and records the results
 * in batch order. The engine prints nothing: what happens during the run
 * goes to an observer (the console, batch-console.c), and the end is a
 * batch_result the command maps to an exit status. */
#ifndef VB_BATCH_H
#define VB_BATCH_H

#include "item.h"
#include "preset.h"
#include "report.h"

#include <stdio.h>

/* An item made outside the batch engine (vbatch generate): its file is
 * already in its folder, or it could not be made (error set). */
typedef struct batch_item {
    int64_t seq;                  /* its row in the journal */
    char *source;                 /* as the reports show it */
    char *folder;                 /* under OUT; NULL when it has none */
    char *media;                  /* the file, inside OUT/folder/video */
    char *error;                  /* why it could not be made, or NULL */
    int error_stage;              /* enum item_stage, with error */
    item_gen gen;                 /* copied to the record */
} batch_item;
void batch_item_clear(batch_item *it);

/* Where such items come from. next: 1 with *it filled (the engine takes
 * its contents), 0 when no more will come, 2 when none came within
 * `wait` seconds, -1 with e set on a fatal error. stop: the batch is
 * stopping (signal, error_handling = stop): start nothing new. */
typedef struct batch_feed {
    int (*next)(void *ud, double wait, batch_item *it, vb_error *e);
    void (*stop)(void *ud);
    /* At the end: why items were left unmade (no credit, budget), or
     * NULL. Such a batch ends interrupted (resumable), exit 4. */
    const char *(*held)(void *ud);
    void *ud;
} batch_feed;

/* A source of items, as the engine reads every one (batch-source.c
 * makes them from a scan, a journal or a feed). next: 1 with *out (the
 * engine owns it), 0 when the input has ended, 2 when nothing came
 * within `wait` seconds, -1 with e set when the input can no longer be
 * read. stopped: the batch takes no new items; a source that must still
 * enter the rest of its input in the journal (a new scan: for `vbatch
 * resume`) goes on returning it, the others return 0. end: the input
 * ended (complete) or not; held, stop: as batch_feed's (may be NULL).
 * others: the items the input held for other shards (may be NULL). */
typedef struct batch_source {
    int (*next)(void *ud, double wait, bool stopped, item **out, vb_error *e);
    void (*stop)(void *ud);
    const char *(*held)(void *ud);
    void (*end)(void *ud, bool complete);
    long long (*others)(void *ud);
    void *ud;
} batch_source;

/* What the engine tells while it runs (the console prints it; every
 * callback may be NULL). Called from the engine's main thread, except
 * event, which the signal thread calls. */
typedef struct batch_progress {
    int64_t done, total;          /* recorded, entered */
    bool more;                    /* the input has not ended yet */
    int64_t failed, skipped;
    double elapsed;               /* seconds */
    const char *const *working;   /* per worker: the source it works on, or NULL */
    int nworking;
} batch_progress;

enum batch_event {
    BATCH_INTERRUPTED,            /* first signal: arg = the grace period */
    BATCH_GRACE_OVER,             /* the running items are interrupted */
    BATCH_KILLED,                 /* second signal: the process ends now */
};

typedef struct batch_observer {
    /* An item recorded (and committed): out_stop: the batch is stopping
     * because of the output folder. */
    void (*recorded)(void *ud, const item *it, bool out_stop);
    void (*progress)(void *ud, const batch_progress *p);
    /* resume: the command that finishes the batch (BATCH_KILLED), or NULL. */
    void (*event)(void *ud, int event, double arg, const char *resume);
    /* The run is over: the status line goes. */
    void (*done)(void *ud);
    void *ud;
} batch_observer;

/* Results are shown only once the journal committed them: in groups of
 * at most BATCH_RECORD_GROUP, or BATCH_RECORD_SECONDS after the first. */
#define BATCH_RECORD_GROUP 64
#define BATCH_RECORD_SECONDS 0.1

/* The libav decoder threads for an item starting now: --jobs N keeps
 * about min(N, cores) cores busy, shared among the items that can still
 * run (min(jobs, left)); 0 lets libav size its own pool. See batch.c. */
int batch_decode_threads(int jobs, int cores, int64_t left, bool closed, bool analysis,
                         double duration);

/* "batch_YYYYMMDD_HHMMSS" for now (the journal makes it unique). */
void batch_make_id(char *buf, size_t len);

/* The journal's mark of a PATH URL recorded without its credentials or
 * query ("--url https://host/a.mp4"): resume and retry take it again as
 * an operand. */
#define BATCH_INPUT_STRIPPED "--url "

typedef struct batch_opts {
    const vb_config *config;      /* borrowed */
    const char *out_dir;
    vb_strlist paths;             /* PATH arguments (owned); resuming, the
                                     full URLs of PATH URLs given again */
    vb_strlist lists;             /* --from-list files (owned) */
    const char *command_line;
    int jobs;                     /* 0 = cores */
    const char *resume_id;        /* finish this recorded batch: its pending
                                     items, no scan (paths: see above; lists: where
                                     to read its URLs in full, none = the
                                     batch's own list files) */
    const char *requeue;          /* with resume_id: items with this status
                                     ("failed", "qc_failed") are redone too */
    bool force;                   /* process unchanged items too (no skip) */
    bool refuse_empty;            /* a batch that found no item ends VB_EXIT_EMPTY */
    int shard_k, shard_n;         /* --shard K/N: only that shard's items (shard.h;
                                     recorded with the inputs, so a resume keeps
                                     it); shard_n 0: all */
    const batch_feed *feed;       /* items from here, not from a scan */
    const batch_source *source;   /* or from here (tests): then rep too */
    report *rep;                  /* with feed or source: the journal, opened
                                     by the caller (borrowed) */
    const struct stage *const *road; /* NULL: stage_road */
    const batch_observer *observer; /* NULL: nothing is shown */
    FILE *summary_out;            /* where the summary goes, NULL: nowhere */
    bool no_signals;              /* the caller takes SIGINT and SIGTERM (a queue
                                     worker's generation): no signal thread */
} batch_opts;

/* How a batch ended. */
typedef struct batch_result {
    bool started;                 /* false: it could not start (why says why) */
    bool usage;                   /* ... because of the command or its folder */
    char batch_id[80];
    report_counts counts;         /* of the results recorded by this run */
    bool interrupted;             /* left resumable: a signal, a held feed, the
                                     output folder, the journal */
    bool failed_stop;             /* error_handling = stop after a failure */
    bool stuck_stop;              /* reads of the input hang */
    int nstuck;
    bool out_stop;                /* the output folder moved, removed, full */
    bool out_gone;                /* ... moved or removed */
    bool record_stop;             /* the journal could not record results */
    bool input_error;             /* the input could not be read all through */
    bool empty;                   /* no item found, and opts.refuse_empty */
    long long other_shards;       /* items found that were other shards' */
    bool warnings_fail;           /* [batch] warnings = fail */
    bool record_failed;           /* a result could not be recorded */
    bool exit_now;                /* workers are still blocked in the kernel:
                                     the caller ends the process (_exit) once
                                     it has said how the batch ended, freeing
                                     nothing the engine used (batch_console_
                                     finish does) */
    bool reports_failed;          /* the reports could not be written: */
    char reports_why[1024];       /* why */
    char held[1024];              /* why the feed left items unmade, or "" */
    char why[1100];               /* out_stop, record_stop, !started: why */
} batch_result;

/* Run the batch. Fills *res; 0, or -1 when it could not start. */
int batch_run(const batch_opts *o, batch_result *res);

/* The exit status (VB_EXIT_*) of a batch that ended so. Pure. */
int batch_exit_status(const batch_result *res);

/* ---- the console (batch-console.c) ---- */

/* An observer that prints to stderr: a line per item (FAIL, ERROR,
 * WARN, STOP ... per the verbosity), the live status line on a
 * terminal, the signal messages. */
const batch_observer *batch_console(void);
/* Say how the batch ended (stopped, interrupted ... and what to do). */
void batch_console_end(const batch_result *res, const char *out_dir);
/* batch_console_end, then the exit status; ends the process there when
 * the engine says so (res->exit_now). */
int batch_console_finish(const batch_result *res, const char *out_dir);

#endif
