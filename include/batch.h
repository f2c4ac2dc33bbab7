/* batch.h - the batch engine behind `vbatch process`: a bounded pool of
 * worker threads takes items from the scanner, runs each through its
 * stages, and hands the results to the recorder in batch order. */
#ifndef VB_BATCH_H
#define VB_BATCH_H

#include "preset.h"
#include "report.h"

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

/* The libav decoder threads for an item starting now: --jobs N keeps
 * about min(N, cores) cores busy, shared among the items that can still
 * run (min(jobs, left)); 0 lets libav size its own pool. See batch.c. */
int batch_decode_threads(int jobs, int cores, int64_t left, bool closed, bool analysis,
                         double duration);

/* "batch_YYYYMMDD_HHMMSS" for now (the journal makes it unique). */
void batch_make_id(char *buf, size_t len);

typedef struct batch_opts {
    const vb_config *config;      /* borrowed */
    const char *out_dir;
    vb_strlist paths;             /* PATH arguments (owned) */
    vb_strlist lists;             /* --from-list files (owned) */
    const char *command_line;
    int jobs;                     /* 0 = cores */
    const char *resume_id;        /* finish this recorded batch: its pending
                                     items, no scan (paths unused; lists: where
                                     to read its URLs in full, none = the
                                     batch's own list files) */
    const char *requeue;          /* with resume_id: items with this status
                                     ("failed", "qc_failed") are redone too */
    bool force;                   /* process unchanged items too (no skip) */
    const batch_feed *feed;       /* items from here, not from a scan */
    report *rep;                  /* with feed: the journal, opened by the
                                     caller (borrowed) */
} batch_opts;

/* Run the batch; returns an exit status (VB_EXIT_*). Fatal problems
 * (output folder can not be created) are reported on stderr. */
int batch_run(const batch_opts *o);

#endif
