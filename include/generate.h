/* generate.h - `vbatch generate`: jobs to a video-generation API, every
 * result downloaded and put through the same stages, journal and reports
 * as `vbatch process`. */
#ifndef VB_GENERATE_H
#define VB_GENERATE_H

#include "jobs.h"
#include "preset.h"

typedef struct generate_opts {
    const vb_config *config;     /* effective settings (borrowed) */
    const char *out_dir;
    const char *command_line;
    const char *jobs_path;       /* JOBS.csv as given */
    gen_job *jobs;               /* validated rows (borrowed) */
    size_t njobs;
    int jobs_threads;            /* --jobs: workers for the media stages */
    const char *resume_id;       /* finish this recorded generate batch */
} generate_opts;

/* Run (or resume) a generate batch; returns an exit status (VB_EXIT_*). */
int generate_run(const generate_opts *o);

/* Is batch_id (NULL: the latest) of out_dir a generate batch? 1, 0, or
 * -1 with e set. */
int generate_is_batch(const char *out_dir, const char *batch_id, vb_error *e);

#endif
