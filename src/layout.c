/* layout.c - names in the output folder. Item folder names come from the
 * input's relative path, whatever bytes it holds (newlines, "../",
 * invalid UTF-8), so everything written under OUT stays under OUT. */
#include "config.h"
#include "layout.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LAYOUT_NAME_MAX 120
#define LAYOUT_FILE_MAX 200

/* A growing byte string. */
typedef struct layout_buf {
    char *s;
    size_t n, cap;
} layout_buf;

static void layout_buf_add(layout_buf *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = vb_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static bool layout_unsafe_byte(unsigned char c)
{
    return c < 0x20 || c == 0x7F || strchr("/\\:*?\"<>| ", c) != NULL;
}

/* Append the n bytes at p with unsafe bytes and invalid UTF-8 made '_'. */
static void layout_clean(layout_buf *b, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            char c = layout_unsafe_byte(u[i]) ? '_' : (char)u[i];
            layout_buf_add(b, &c, 1);
            i++;
            continue;
        }
        size_t len = util_utf8_len(u + i, n - i);
        if (len == 0) {
            layout_buf_add(b, "_", 1);
            i++;
        } else {
            layout_buf_add(b, p + i, len);
            i += len;
        }
    }
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence (the
 * string is valid UTF-8 by construction). */
static void layout_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    s[n] = '\0';
}

static bool layout_reserved(const char *s)
{
    /* Case-insensitive: OUT may be on a case-insensitive file system. */
    return strcasecmp(s, "summary") == 0 || strcasecmp(s, "publish") == 0 ||
           strncasecmp(s, ".vbatch", 7) == 0;
}

char *layout_safe_name(const char *rel)
{
    layout_buf b = {0};
    const char *p = rel;
    bool first = true;
    while (*p) {
        size_t n = strcspn(p, "/");
        const char *next = p + n + (p[n] == '/');
        if (n == 0) {           /* leading or doubled slash */
            p = next;
            continue;
        }
        bool last = (next[strspn(next, "/")] == '\0');
        if (!first)
            layout_buf_add(&b, "__", 2);
        first = false;
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            layout_buf_add(&b, "_", 1);
        } else {
            size_t keep = n;
            if (last) {
                /* Drop the extension; a leading dot is not one. */
                for (size_t i = n; i-- > 1;)
                    if (p[i] == '.') {
                        keep = i;
                        break;
                    }
            }
            layout_clean(&b, p, keep);
        }
        p = next;
    }
    if (b.n == 0) {
        free(b.s);
        return vb_xstrdup("item");
    }
    if (b.s[0] == '.' || b.s[0] == '-')
        b.s[0] = '_';
    layout_cut(b.s, LAYOUT_NAME_MAX);
    if (layout_reserved(b.s)) {
        b.n = strlen(b.s);
        layout_buf_add(&b, "_", 1);
    }
    return b.s;
}

char *layout_safe_file(const char *name)
{
    layout_buf b = {0};
    layout_clean(&b, name, strlen(name));
    if (b.n == 0) {
        free(b.s);
        return vb_xstrdup("item");
    }
    /* Also turns "." and ".." into "_" and "_.". */
    if (b.s[0] == '.' || b.s[0] == '-')
        b.s[0] = '_';
    if (b.n > LAYOUT_FILE_MAX) {
        /* Keep a short extension so the file still opens as what it is. */
        char *dot = strrchr(b.s, '.');
        size_t ext = dot ? strlen(dot) : 0;
        if (dot && dot > b.s && ext <= 16) {
            char *e = vb_xstrdup(dot);
            layout_cut(b.s, LAYOUT_FILE_MAX - ext);
            strcat(b.s, e);
            free(e);
        } else {
            layout_cut(b.s, LAYOUT_FILE_MAX);
        }
    }
    return b.s;
}

/* ---- unique names: an open-addressing hash set ---- */

typedef struct layout_slot {
    char *name;     /* owned; NULL when empty */
    unsigned next;  /* next suffix to try when this name is asked again */
    bool reserved;  /* held for an earlier batch's item, not yet claimed */
} layout_slot;

struct layout_names {
    layout_slot *slots;
    size_t cap;     /* power of two */
    size_t used;
};

/* FNV-1a over ASCII-folded bytes: names that differ only in case would
 * collide on a case-insensitive file system, so they count as equal. */
static size_t layout_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * 1099511628211ULL;
    }
    return (size_t)h;
}

static layout_slot *layout_find(layout_names *n, const char *name)
{
    size_t i = layout_hash(name) & (n->cap - 1);
    while (n->slots[i].name && strcasecmp(n->slots[i].name, name) != 0)
        i = (i + 1) & (n->cap - 1);
    return &n->slots[i];
}

static void layout_grow(layout_names *n)
{
    layout_slot *old = n->slots;
    size_t oldcap = n->cap;
    n->cap = oldcap ? oldcap * 2 : 64;
    n->slots = vb_xcalloc(n->cap, sizeof(*n->slots));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].name)
            *layout_find(n, old[i].name) = old[i];
    free(old);
}

/* Add a name known to be absent. */
static layout_slot *layout_insert(layout_names *n, const char *name)
{
    if ((n->used + 1) * 2 > n->cap)
        layout_grow(n);
    layout_slot *sl = layout_find(n, name);
    sl->name = vb_xstrdup(name);
    sl->next = 2;
    n->used++;
    return sl;
}

void layout_reserve(layout_names *n, const char *name)
{
    if (!layout_find(n, name)->name)
        layout_insert(n, name)->reserved = true;
}

bool layout_claim(layout_names *n, const char *name)
{
    layout_slot *sl = layout_find(n, name);
    if (!sl->name) {
        layout_insert(n, name);
        return true;
    }
    /* Same name, another case: a different folder on a case-insensitive
     * file system, so only the exact spelling may be claimed. */
    if (!sl->reserved || strcmp(sl->name, name) != 0)
        return false;
    sl->reserved = false;
    return true;
}

layout_names *layout_names_new(void)
{
    layout_names *n = vb_xcalloc(1, sizeof(*n));
    layout_grow(n);
    return n;
}

void layout_names_free(layout_names **np)
{
    if (!np || !*np)
        return;
    layout_names *n = *np;
    for (size_t i = 0; i < n->cap; i++)
        free(n->slots[i].name);
    free(n->slots);
    free(n);
    *np = NULL;
}

char *layout_unique_name(layout_names *n, const char *rel)
{
    char *base = layout_safe_name(rel);
    layout_slot *sl = layout_find(n, base);
    if (!sl->name) {
        layout_insert(n, base);
        return base;
    }
    /* Start where the last duplicate of this base stopped, so many
     * duplicates stay linear. */
    unsigned k = sl->next;
    char *cand;
    for (;; k++) {
        cand = vb_xasprintf("%s-%u", base, k);
        if (!layout_find(n, cand)->name)
            break;
        free(cand);
    }
    sl->next = k + 1;   /* sl is still valid: nothing was inserted yet */
    layout_insert(n, cand);
    free(base);
    return cand;
}
