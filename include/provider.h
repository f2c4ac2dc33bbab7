/* provider.h - a video-generation API behind one interface, one file per
 * provider (provider-kling.c), so that another API is one new file and
 * one line in provider.c's table.
 *
 * What a provider knows about jobs lives here: which requests it takes
 * (models, durations, aspect ratios, text limits), what they cost, and
 * which input images it would refuse. The network part (submit, query,
 * parse a reply) is added to the struct by the engine. */
#ifndef VB_PROVIDER_H
#define VB_PROVIDER_H

#include "vbatch.h"

struct gen_job;
struct vb_config;

/* Kling's official global endpoint ([provider.kling] base_url). */
#define PROVIDER_KLING_BASE_URL "https://api-singapore.klingai.com"

typedef struct provider {
    const char *name;              /* as in [generate] provider and --provider */
    const char *units;             /* what estimate_units counts, e.g. "units" */
    /* Would the provider accept this request? 0, or -1 with e set to a
     * message about the job alone (the caller adds file, line and row).
     * Called only for jobs whose cells are well-formed (jobs.c). */
    int (*validate)(const struct gen_job *j, const struct vb_config *c, vb_error *e);
    /* Estimated cost of the job in `units`, < 0 if unknown (validate
     * refuses those). The provider's own figure, when it sends one,
     * replaces it after the task is done. */
    double (*estimate_units)(const struct gen_job *j);
    /* Would the provider take this local image as an input frame? Reads
     * the header only. 0, or -1 with e set: VB_ERR_IO (unreadable),
     * VB_ERR_MEDIA (not an image, or a format it refuses), VB_ERR_LIMIT
     * (size, dimensions or aspect out of its limits). */
    int (*check_image)(const char *path, vb_error *e);
    /* TODO(lead): submit, query and parse-result come here. */
} provider;

extern const provider provider_kling;

/* The provider called `name` (case-sensitive), NULL if none. */
const provider *provider_find(const char *name);
/* Every provider name, joined with ", ". Caller frees. */
char *provider_names(void);

#endif
