/* generate.h - `vbatch generate`: what the command line hands to the
 * generation engine once JOBS.csv is read, validated and deduplicated. */
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
    const struct provider *provider;  /* borrowed */
    const gen_jobs *jobs;             /* validated; duplicate_of set; borrowed */
    size_t unique;                    /* requests left once duplicates are removed */
    const char *command_line;         /* for the reports */
} generate_opts;

/* Generate, download and check every job (the engine). Exit status. */
int generate_run(const generate_opts *o);

#endif
