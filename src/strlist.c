/* strlist.c - small owned lists of words (codecs, containers, globs). */
#include "config.h"
#include "strlist.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void vb_strlist_add(vb_strlist *l, const char *s)
{
    l->v = vb_xrealloc(l->v, (l->n + 1) * sizeof(char *));
    l->v[l->n++] = vb_xstrdup(s);
}

void vb_strlist_clear(vb_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool vb_strlist_has(const vb_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], s) == 0)
            return true;
    return false;
}

/* The length of the word at s: up to a blank, or a comma outside braces
 * (a glob's "*.{mp4,mov}" is one word). */
static size_t vb_strlist_word(const char *s)
{
    size_t n = 0;
    int depth = 0;
    for (; s[n] && s[n] != ' ' && s[n] != '\t' && (s[n] != ',' || depth > 0); n++)
        depth += s[n] == '{' ? 1 : s[n] == '}' && depth > 0 ? -1 : 0;
    return n;
}

void vb_strlist_set_words(vb_strlist *l, const char *s)
{
    vb_strlist_clear(l);
    while (*s) {
        s += strspn(s, " \t,");
        size_t n = vb_strlist_word(s);
        if (n == 0)
            break;
        char *w = vb_xstrndup(s, n);
        vb_strlist_add(l, w);
        free(w);
        s += n;
    }
}

char *vb_strlist_join(const vb_strlist *l, const char *sep)
{
    size_t n = 1, ls = strlen(sep);
    for (size_t i = 0; i < l->n; i++)
        n += strlen(l->v[i]) + ls;
    char *s = vb_xmalloc(n);
    s[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            strcat(s, sep);
        strcat(s, l->v[i]);
    }
    return s;
}
