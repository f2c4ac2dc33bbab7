/* fix-dryrun.h - `vbatch process --fix --dry-run`: each input's fix plan,
 * nothing written (fix-dryrun.c). */
#ifndef VB_FIX_DRYRUN_H
#define VB_FIX_DRYRUN_H

#include "vbatch.h"
#include "fix.h"
#include "strlist.h"
#include "transcode.h"
#include "writer.h"

#include <stdio.h>

typedef struct fix_dry_result {
    int64_t passed;       /* nothing to fix */
    int64_t fixable;      /* fails, and the plan fixes every failed rule */
    int64_t unfixable;    /* fails a rule no fix satisfies */
    int64_t errors;       /* could not be read (or a URL) */
} fix_dry_result;

/* Find the inputs as `process` would (paths, list files, cfg->input),
 * plan each, and print the plans to out: a line per input and one per
 * rule (text), or a JSON array. -1 with e set only when the scan itself
 * fails; an input that cannot be read is an entry of its own. */
int fix_dry_run(const vb_config *cfg, const vb_strlist *paths, const vb_strlist *lists,
                bool json, FILE *out, fix_dry_result *res, vb_error *e);

#endif
