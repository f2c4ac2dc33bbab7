/* relist.h - the full URLs of a resumed batch's items.
 *
 * The journal keeps a URL without credentials, query string or fragment
 * (fetch_display_url: they often carry signed tokens), so a pending item
 * given as a signed URL could not be downloaded from what is recorded.
 * Resuming, the list files the batch was given (or those passed again)
 * are read once more, and each of the batch's URL items, in batch order,
 * takes the next list line with the same display URL. */
#ifndef VB_RELIST_H
#define VB_RELIST_H

#include "report.h"

typedef struct relist relist;

/* Match the URL items of rep's batch (as the journal holds them now:
 * call after report_reopen) against `urls` (full URLs given again, for
 * PATH URLs recorded as BATCH_INPUT_STRIPPED) and the lines of `lists`,
 * or of the list files recorded with the batch when lists is NULL or
 * empty. A list
 * that can not be read is remembered, not an error; NULL only when the
 * journal can not be read. */
relist *relist_new(report *rep, const vb_strlist *lists, const vb_strlist *urls,
                   const input_config *in, vb_error *e);
/* The URL to fetch for the pending item seq, recorded as `source`:
 * 1 with *url (caller frees) when a list gave one that differs, 0 to
 * fetch source as it is, -1 with *why (caller frees) when the item has
 * no match and a list could not be read, or it was a PATH URL recorded
 * without its secrets and not given again. */
int relist_url(const relist *r, int64_t seq, const char *source, char **url, char **why);
void relist_free(relist **r);

#endif
