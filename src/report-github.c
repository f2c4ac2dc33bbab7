/* report-github.c - the GitHub Actions view of a batch's records: one
 * workflow command per item that needs a look (`::error file=...::`,
 * `::warning ...`), which the runner turns into annotations, and a
 * Markdown summary for $GITHUB_STEP_SUMMARY. Both are plain text: the
 * escaping is the one GitHub documents for workflow commands. */
#include "config.h"
#include "report.h"
#include "msg.h"

#include <stdlib.h>
#include <string.h>

typedef struct gh {
    FILE *out;                  /* the annotations; borrowed */
    FILE *md;                   /* the step summary, or NULL; borrowed */
    const report_header *h;
    int64_t listed;             /* Markdown rows written */
} gh;

/* A workflow command's message (property: also ':' and ','), escaped as
 * GitHub reads it: '%' as %25 (CR and LF, made '?' first, would be %0D,
 * %0A). */
static void gh_put(FILE *f, const char *text, bool property)
{
    /* No control character reaches the log raw (they are '?'). */
    char *own = msg_printable_dup(text);
    for (const char *s = own; *s; s++) {
        switch (*s) {
        case '%': fputs("%25", f); break;
        case ':': fputs(property ? "%3A" : ":", f); break;
        case ',': fputs(property ? "%2C" : ",", f); break;
        default: fputc(*s, f); break;
        }
    }
    free(own);
}

/* A Markdown table cell: '|' and line breaks would end it, '<' opens
 * HTML (GitHub renders some). */
static void gh_cell(FILE *f, const char *s)
{
    char *p = msg_printable_dup(s);
    for (const char *c = p; *c; c++) {
        if (*c == '|')
            fputs("\\|", f);
        else if (*c == '<')
            fputs("&lt;", f);
        else
            fputc(*c, f);
    }
    free(p);
}

static int gh_item(void *ctx, const item_record *it, vb_error *e)
{
    (void)e;
    gh *g = ctx;
    bool fail = it->status == ITEM_QC_FAILED ||
                (it->status == ITEM_SKIPPED && it->previous_status == ITEM_QC_FAILED);
    bool err = it->status == ITEM_FAILED;
    bool warn = !fail && !err && it->warned_rules.n > 0;
    if (!fail && !err && !warn)
        return 0;
    char *what = err ? vb_xasprintf("%s: %s", report_stage_name(it->error_stage),
                                    it->error ? it->error : "")
                     : report_rules_brief(it, fail ? VERDICT_FAIL : VERDICT_WARN);
    const char *kind = err ? "could not be processed" : fail ? "failed a gate" : "warning";
    fputs(warn ? "::warning file=" : "::error file=", g->out);
    gh_put(g->out, it->source, true);
    fputs(",title=", g->out);
    gh_put(g->out, "vbatch: ", true);
    gh_put(g->out, kind, true);
    fputs("::", g->out);
    gh_put(g->out, what, false);
    fputc('\n', g->out);
    if (g->md && (fail || err)) {
        if (g->listed++ == 0)
            fputs("\n| item | verdict | why |\n|---|---|---|\n", g->md);
        fputs("| ", g->md);
        gh_cell(g->md, it->folder ? it->folder : it->source);
        fprintf(g->md, " | %s | ", err ? "error" : "FAIL");
        gh_cell(g->md, what);
        fputs(" |\n", g->md);
    }
    free(what);
    return 0;
}

static int gh_finish(void *ctx, vb_error *e)
{
    (void)e;
    gh *g = ctx;
    if (g->md)
        fflush(g->md);
    return fflush(g->out) == 0 ? 0 : vb_fail(e, VB_ERR_IO, "cannot write the annotations");
}

static void gh_destroy(void *ctx)
{
    free(ctx);
}

int report_github_open(report_sink *s, FILE *out, FILE *md, const report_header *h,
                       vb_error *e)
{
    (void)e;
    gh *g = vb_xcalloc(1, sizeof *g);
    g->out = out;
    g->md = md;
    g->h = h;
    if (md) {
        const report_counts *c = h->counts;
        fprintf(md, "### vbatch: %s\n\n", h->batch_id);
        fprintf(md, "| items | passed | failed a gate | could not be processed | skipped |\n"
                    "|---|---|---|---|---|\n| %lld | %lld | %lld | %lld | %lld |\n",
                (long long)c->total, (long long)c->done, (long long)c->qc_failed,
                (long long)c->failed, (long long)c->skipped);
    }
    *s = (report_sink){ g, gh_item, gh_finish, gh_destroy };
    return 0;
}
