/* strlist.h - a small owned list of words (codec names, containers,
 * globs, paths), used by the configuration and well beyond it. */
#ifndef VB_STRLIST_H
#define VB_STRLIST_H

#include "vbatch.h"

/* A list of words (codec names, containers, patterns). */
typedef struct vb_strlist {
    char **v;       /* owned strings */
    size_t n;
} vb_strlist;

void vb_strlist_add(vb_strlist *l, const char *s);
void vb_strlist_clear(vb_strlist *l);
bool vb_strlist_has(const vb_strlist *l, const char *s); /* case-insensitive */
/* Replace the list by the words of s (separated by spaces, or commas
 * outside braces: "*.{mp4,mov}" stays one glob). */
void vb_strlist_set_words(vb_strlist *l, const char *s);
/* Join with sep into a new string (caller frees). */
char *vb_strlist_join(const vb_strlist *l, const char *sep);

#endif
