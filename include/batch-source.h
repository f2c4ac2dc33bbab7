/* batch-source.h - the sources of a batch's items (batch-source.c): a
 * new scan, a resume, or a feed, all behind batch_source (batch.h). */
#ifndef VB_BATCH_SOURCE_H
#define VB_BATCH_SOURCE_H

#include "batch.h"

/* The source for o (o->feed, else o->resume_id, else a scan of o->paths
 * and o->lists), reading and writing the journal rep. 0; 1 with e set
 * when part of what it needs could not be read (the folders the journal
 * gives out, the batch's URL lists): the batch goes on, and ends with
 * exit status 3. */
int batch_source_open(const batch_opts *o, report *rep, batch_source **out, vb_error *e);
void batch_source_close(batch_source **src);

#endif
