/* analyse-share.h - identical files analysed once: the analysis stage
 * hashes the file (SHA-256, through the item's bounded reader) and
 * reuses the analysis.json an earlier item of this output folder made
 * from the same content with the same [analyse] settings; two identical
 * files at once: the second waits for the first, then reuses it. An
 * item with more than one core (and no analysis of its own yet) hashes on
 * a thread beside the decode, which is cancelled once the hash finds
 * the analysis made or being made (analyse-share.c). */
#ifndef VB_ANALYSE_SHARE_H
#define VB_ANALYSE_SHARE_H

#include "analyse.h"
#include "item.h"

#include <pthread.h>

/* The content hashes being analysed now (one per engine). */
typedef struct analyse_share {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vb_strlist inflight;
} analyse_share;

void analyse_share_init(analyse_share *s);
void analyse_share_destroy(analyse_share *s);

/* The item's analysis, fresh or reused: 0 with *a and
 * metadata/analysis.json written, or -1 with e set. The record gets the
 * content hash and, when reused, the folder it came from. */
int analyse_share_run(item *it, const vb_config *cfg, analyse_result **a, vb_error *e);
/* The same, never shared (a partial analysis: [analyse] skip_video). */
int analyse_share_alone(item *it, const vb_config *cfg, analyse_result **a, vb_error *e);

#endif
