/* batch-impl.h - the engine's own state, shared by its files only:
 * batch.c (the scheduler: workers, the ring window, the main loop),
 * batch-record.c (recording in batch order, the output folder's trouble)
 * and batch-watch.c (the watchdog, the signal thread).
 *
 * Locking: everything below `mu` is guarded by it unless said otherwise.
 * The main thread queues and records; workers take and finish items; the
 * watchdog runs in the main thread (wait_done); the signal thread only
 * sets the stop flags. */
#ifndef VB_BATCH_IMPL_H
#define VB_BATCH_IMPL_H

#include "batch.h"
#include "analyse-share.h"
#include "crash.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct worker_arg {
    struct engine *g;
    int slot;
} worker_arg;

typedef struct engine {
    const batch_opts *o;
    const vb_config *cfg;
    const batch_observer *obs;    /* never NULL (a silent one at worst) */
    report *rep;                  /* the journal (its calls are thread-safe) */
    const batch_source *src;      /* where the items come from */
    item_env env;                 /* lent to every item */
    analyse_share share;
    const struct stage *const *road;
    int jobs;                     /* worker threads */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    item **ring;
    int64_t window;
    int64_t next_seq;             /* next to be queued */
    int64_t next_take;            /* next a worker takes */
    int64_t next_record;          /* next to be recorded */
    bool closed;
    bool stop;                    /* take no new items */
    bool failed_stop;             /* stopped by an item that failed
                                     ([batch] error_handling = stop) */
    char **working;               /* per worker: the source it works on */
    int64_t nfailed;              /* recorded items that failed or failed QC */
    int64_t nskipped;             /* items unchanged since an earlier batch */
    double t0;
    double last_flush;            /* the journal's last idle commit */
    /* Robustness: the grace period, the watchdog (batch-watch.c). */
    atomic_int abort;             /* grace period over: running items stop */
    pthread_t *threads;           /* per slot: the worker thread serving it */
    worker_arg *wargs;            /* per slot */
    int nstuck;                   /* abandoned workers not yet returned */
    bool stuck_stop;              /* stopped because too many reads hang */
    /* The output folder: moved, removed or full, the batch stops and is
     * left resumable (batch_record_out_trouble). */
    bool out_stop;
    char out_why[1100];
    char *reserve;                /* OUT/.vbatch/reserve while it is held */
    /* The journal could not record a group of results: stopped. */
    bool record_stop;
    char record_why[1024];
    /* Recorded, not committed yet, so not shown (batch_record_show). */
    item **unshown;               /* RECORD_GROUP slots */
    int nunshown;
    double unshown_since;
    report_counts counts_before;
    bool unshown_failed;          /* a write of one of them failed */
    char unshown_why[1024];
    /* Crashes of earlier runs of this batch (crash.h). */
    crash_list crashes;
    int nrunning;                 /* items taken and not done */
    /* [notify] items: the sender of the item messages, or NULL (main
     * thread; its calls are thread-safe). */
    struct notify_items *hook;
    bool solo_wait;               /* a crash suspect runs alone: take nothing */
} engine;

/* Stop taking items (lock held): wakes the workers and the main loop,
 * tells the source. */
void engine_stop(engine *g);
void *engine_worker(void *arg);

/* ---- batch-record.c ---- */

#define RECORD_GROUP BATCH_RECORD_GROUP
#define RECORD_SECONDS BATCH_RECORD_SECONDS

/* Record every finished item at the head of the ring, in order (lock
 * held, dropped around the I/O): 0, or -1 when a result could not be
 * recorded (the batch then stops). */
int batch_record_ready(engine *g);
/* Commit what is recorded and show it (lock held): 0 or -1. */
int batch_record_show(engine *g);
/* An item unchanged since an earlier batch, entered as skipped (main
 * thread, lock not held). */
int batch_record_skipped(engine *g, item *it);
/* Hold OUT/.vbatch/reserve; give it back. */
void batch_record_reserve(engine *g);
void batch_record_unreserve(engine *g);
/* Is the output folder the reason a write failed (moved, removed, full,
 * read-only)? Then the batch stops, the reserve is given back (lock
 * held). */
bool batch_record_out_trouble(engine *g);

/* ---- batch-watch.c ---- */

/* Take the items whose reader is blocked past its limits from their
 * workers (main thread, lock held). */
void batch_watch_dog(engine *g);
/* SIGINT and SIGTERM: blocked in every thread from now on and taken by
 * one thread of their own (started here, stopped by batch_watch_end). */
int batch_watch_signals(engine *g, pthread_t *th);
void batch_watch_end(pthread_t th);

#endif
