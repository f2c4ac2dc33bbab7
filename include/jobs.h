/* jobs.h - TEMPORARY (lead's branch): replaced by helper E's jobs.h at merge. */
#ifndef VB_JOBS_H
#define VB_JOBS_H
#include "vbatch.h"
typedef struct gen_job {
    int64_t row;
    char *id, *prompt, *negative_prompt, *model, *mode, *aspect_ratio;
    int duration;
    double cfg_scale;
    char *image, *image_tail;
} gen_job;
#endif
