/* batch.h - the batch engine behind `vbatch process`: a bounded pool of
 * worker threads takes items from the scanner, runs each through its
 * stages, and hands the results to the recorder in batch order. */
#ifndef VB_BATCH_H
#define VB_BATCH_H

#include "preset.h"

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
} batch_opts;

/* Run the batch; returns an exit status (VB_EXIT_*). Fatal problems
 * (output folder can not be created) are reported on stderr. */
int batch_run(const batch_opts *o);

#endif
