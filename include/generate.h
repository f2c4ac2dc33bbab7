/* generate.h - `vbatch generate`: jobs to a video-generation API, every
 * result downloaded and put through the same stages, journal and reports
 * as `vbatch process` (the engine is generate.c). */
#ifndef VB_GENERATE_H
#define VB_GENERATE_H

#include "vbatch.h"
#include "jobs.h"
#include "preset.h"

struct provider;

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
    int jobs_threads;                 /* --jobs: workers for the media stages */
    const char *resume_id;            /* finish this recorded generate batch */
    const char *requeue;              /* with resume_id: redo the items with this
                                       * status ("failed", "qc_failed"); a job whose
                                       * generation failed is submitted again */
} generate_opts;

/* Generate, download and check every job (or finish a recorded batch).
 * Returns the exit status. */
int generate_run(const generate_opts *o);

/* Is batch_id (NULL: the latest) of out_dir a generate batch? 1, 0, or
 * -1 with e set. */
int generate_is_batch(const char *out_dir, const char *batch_id, vb_error *e);

#endif
