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

/* What a new scan of o's inputs would enter, writing nothing: each entry
 * with the folder it would get (the journal of o->out_dir, when there is
 * one (o->out_dir may be NULL), read for the folders given out and the items unchanged since an
 * earlier batch, which would be skipped). */
typedef struct batch_preview_item {
    const char *source;          /* the path or URL (shown without credentials) */
    const char *path;            /* the path or URL to read (in full) */
    const char *rel;             /* its name relative to what was given */
    const char *folder;          /* NULL for an entry found bad */
    const char *skipped_since;   /* unchanged since this batch: not processed */
    const char *error;           /* why the entry is bad, or NULL */
} batch_preview_item;
/* fn is called for each entry in batch order; *others (may be NULL):
 * the entries passed over as other shards'. 0, or -1 with e set when the
 * input or the journal can not be read. */
int batch_preview(const batch_opts *o, void (*fn)(void *ud, const batch_preview_item *p),
                  void *ud, long long *others, vb_error *e);

#endif
