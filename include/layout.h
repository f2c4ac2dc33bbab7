/* layout.h - the output folder: item folder names (safe and unique),
 * per-item folders, placing the original video, publishing. */
#ifndef VB_LAYOUT_H
#define VB_LAYOUT_H

#include "vbatch.h"

/* A safe folder name from a relative input path: path separators become
 * "__", the extension is dropped, bytes that are unsafe in a file name
 * (control characters, '/', '\\', ':', '*', '?', '"', '<', '>', '|',
 * spaces) become '_', valid UTF-8 is kept, a leading '.' or '-' becomes
 * '_', names reserved by vbatch ("summary", "publish") get a '_' suffix,
 * and the result is at most 120 bytes (cut on a UTF-8 boundary). Never
 * empty. Caller frees. */
char *layout_safe_name(const char *rel);

/* The set of names given out in one batch. */
typedef struct layout_names layout_names;
layout_names *layout_names_new(void);
void layout_names_free(layout_names **n);
/* layout_safe_name(rel), made unique in the set by "-2", "-3" ... and
 * added to it. Caller frees. */
char *layout_unique_name(layout_names *n, const char *rel);

/* Hold a folder name an earlier batch gave out in this OUT: new names
 * avoid it, but layout_claim can still hand it to its item. */
void layout_reserve(layout_names *n, const char *name);
/* Take exactly `name` (an item's recorded folder) for this batch: true
 * when it was free or only reserved, false when this batch already gave
 * it out (or a name equal but for case is held). */
bool layout_claim(layout_names *n, const char *name);

/* A safe file name (one component) for the original, keeping its
 * extension. Caller frees. */
char *layout_safe_file(const char *name);

#endif
