/* pattern.c - which file names are taken. Globs follow shell semantics
 * (fnmatch, case-sensitive); the built-in extension list is
 * case-insensitive because cameras write "CLIP.MP4" as often as not. */
#include "config.h"
#include "pattern.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

const char *const pattern_video_exts[] = {
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "mxf", "ts", "m2ts", "mts",
    "mpg", "mpeg", "wmv", "flv", "3gp", "ogv", NULL,
};

static bool pattern_any(const vb_strlist *l, const char *name)
{
    if (!l)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (fnmatch(l->v[i], name, 0) == 0)
            return true;
    return false;
}

static bool pattern_video_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    /* "mp4" alone or ".mp4" has no base name: not a video file name. */
    if (!dot || dot == name || dot[1] == '\0')
        return false;
    for (size_t i = 0; pattern_video_exts[i]; i++)
        if (strcasecmp(dot + 1, pattern_video_exts[i]) == 0)
            return true;
    return false;
}

bool pattern_match(const vb_strlist *include, const vb_strlist *exclude,
                   const char *name)
{
    bool in = (include && include->n > 0) ? pattern_any(include, name)
                                          : pattern_video_ext(name);
    return in && !pattern_any(exclude, name);
}
