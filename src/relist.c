/* relist.c - the full URLs of a resumed batch's items, read again from
 * its list files (see relist.h). The lines are sorted by display URL
 * (then by position), so that the batch's URL items, walked in batch
 * order, each take the next unused line of their group: two signed URLs
 * of the same file, or ?id=1 and ?id=2 of one endpoint, stay apart. Only
 * the pending items' URLs are kept once matched. */
#include "config.h"
#include "relist.h"
#include "batch.h"
#include "fetch.h"
#include "scan.h"

#include <stdlib.h>
#include <string.h>

typedef struct line {
    char *display, *full;
    size_t pos;              /* in the lists, from 0 */
    size_t used;             /* first of a group: lines of it taken */
} line;

typedef struct found {
    int64_t seq;
    char *url;               /* NULL: no line for this item */
} found;

struct relist {
    found *f;                /* pending URL items, by seq */
    size_t n, cap;
    char *missing;           /* the lists that could not be read, or NULL */
    vb_strlist stripped;     /* PATH URLs recorded without their secrets */
};

typedef struct walk {
    relist *r;
    line *l;
    size_t n;
} walk;

static int line_cmp(const void *a, const void *b)
{
    const line *x = a, *y = b;
    int c = strcmp(x->display, y->display);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* The first line of the group with this display URL, or NULL. */
static line *group_of(const walk *w, const char *display)
{
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(w->l[mid].display, display) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->n && strcmp(w->l[lo].display, display) == 0 ? &w->l[lo] : NULL;
}

static void take(void *ud, int64_t seq, const char *source, bool pending)
{
    walk *w = ud;
    line *g = group_of(w, source);
    const line *l = NULL;
    if (g && g + g->used < w->l + w->n && strcmp(g[g->used].display, source) == 0)
        l = &g[g->used++];
    if (!pending || (l && strcmp(l->full, source) == 0))
        return;
    relist *r = w->r;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->f = vb_xrealloc(r->f, r->cap * sizeof *r->f);
    }
    r->f[r->n++] = (found){ .seq = seq, .url = l ? vb_xstrdup(l->full) : NULL };
}

relist *relist_new(report *rep, const vb_strlist *lists, const vb_strlist *urls,
                   const input_config *in, vb_error *e)
{
    relist *r = vb_xcalloc(1, sizeof *r);
    scanner *sc = scan_new(in);
    scan_urls_only(sc);
    /* The URLs given again come first: they win over a list's line. */
    for (size_t i = 0; urls && i < urls->n; i++)
        scan_add_path(sc, urls->v[i]);
    static const char opt[] = "--from-list ", url[] = BATCH_INPUT_STRIPPED;
    const vb_strlist *inputs = report_inputs(rep);
    for (size_t i = 0; i < inputs->n; i++) {
        if (strncmp(inputs->v[i], url, sizeof url - 1) == 0)
            vb_strlist_add(&r->stripped, inputs->v[i] + sizeof url - 1);
        else if (!(lists && lists->n > 0) && strncmp(inputs->v[i], opt, sizeof opt - 1) == 0)
            scan_add_list(sc, inputs->v[i] + sizeof opt - 1);
    }
    for (size_t i = 0; lists && i < lists->n; i++)
        scan_add_list(sc, lists->v[i]);
    walk w = { .r = r };
    size_t cap = 0;
    for (;;) {
        scan_entry en;
        vb_error le = {0};
        int got = scan_next(sc, &en, &le);
        if (got == 0)
            break;
        if (got < 0) {
            /* An unreadable list: the scanner goes on with the next. */
            char *m = vb_xasprintf("%s%s%s", r->missing ? r->missing : "",
                                   r->missing ? "; " : "", le.msg);
            free(r->missing);
            r->missing = m;
            continue;
        }
        if (en.is_url && !en.error) {
            if (w.n == cap) {
                cap = cap ? 2 * cap : 64;
                w.l = vb_xrealloc(w.l, cap * sizeof *w.l);
            }
            w.l[w.n] = (line){ .display = fetch_display_url(en.path), .full = en.path,
                               .pos = w.n };
            en.path = NULL;
            w.n++;
        }
        scan_entry_clear(&en);
    }
    scan_free(&sc);
    if (w.n)
        qsort(w.l, w.n, sizeof *w.l, line_cmp);
    int rc = report_each_url(rep, take, &w, e);
    for (size_t i = 0; i < w.n; i++) {
        free(w.l[i].display);
        free(w.l[i].full);
    }
    free(w.l);
    if (rc != 0)
        relist_free(&r);
    return r;
}

int relist_url(const relist *r, int64_t seq, const char *source, char **url, char **why)
{
    *url = *why = NULL;
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->f[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->n || r->f[lo].seq != seq)
        return 0;
    if (r->f[lo].url) {
        *url = vb_xstrdup(r->f[lo].url);
        return 1;
    }
    for (size_t i = 0; i < r->stripped.n; i++)
        if (strcmp(r->stripped.v[i], source) == 0) {
            *why = vb_xasprintf("%s: given as a PATH with credentials or a query string, which"
                                " the journal does not keep: give the full URL again as an"
                                " operand (vbatch resume|retry ... 'URL')", source);
            return -1;
        }
    if (!r->missing)
        return 0;
    *why = vb_xasprintf("%s: the journal keeps URLs without credentials or query string,"
                        " and the list that gave it can not be read (%s): pass the list"
                        " with --from-list", source, r->missing);
    return -1;
}

void relist_free(relist **pr)
{
    if (!pr || !*pr)
        return;
    relist *r = *pr;
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i].url);
    free(r->f);
    free(r->missing);
    vb_strlist_clear(&r->stripped);
    free(r);
    *pr = NULL;
}
