/* pattern.h - which files a walk takes: shell globs, with exclusions;
 * without include patterns, common video extensions. */
#ifndef VB_PATTERN_H
#define VB_PATTERN_H

#include "strlist.h"

/* true if the file at `rel` (its path below the folder walked; a bare
 * name at its top) is selected. A glob without '/' matches the file's
 * name, one with '/' its path ("sub/" then "*.mp4"); "**" as a whole
 * segment is any number of folders; braces are expanded
 * (`*.{mp4,mov}`). Matched with fnmatch(3) and glob(3) (GLOB_BRACE); the
 * built-in extension list is case-insensitive. */
bool pattern_match(const vb_strlist *include, const vb_strlist *exclude,
                   const char *rel);
/* true if the folder at `rel` is excluded (`--exclude drafts`,
 * `--exclude 'sub/old'`, `drafts/`): it is not walked. A pattern ending
 * in '/' only ever excludes folders. */
bool pattern_excluded_dir(const vb_strlist *exclude, const char *rel);
/* Does an include pattern name a path (hold a '/')? Then the walk goes
 * into sub-folders, as with --recursive. */
bool pattern_walks(const vb_strlist *include);
/* The built-in extensions, NULL-terminated ("mp4", "mov", ...). */
extern const char *const pattern_video_exts[];

#endif
