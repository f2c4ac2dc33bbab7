/* pattern.h - which file names are taken: shell globs on the file name,
 * with exclusions; without include patterns, common video extensions. */
#ifndef VB_PATTERN_H
#define VB_PATTERN_H

#include "strlist.h"

/* true if `name` (a file name, not a path) is selected. Globs are matched
 * with fnmatch(3); the built-in extension list is case-insensitive. */
bool pattern_match(const vb_strlist *include, const vb_strlist *exclude,
                   const char *name);
/* The built-in extensions, NULL-terminated ("mp4", "mov", ...). */
extern const char *const pattern_video_exts[];

#endif
