/* report-html.c - the batch as one self-contained HTML page
 * (OUT/summary/report.html) for people to review rather than read.
 *
 * The page needs nothing but itself: style and script are inline
 * (report-html-asset.c), and in small batches the posters and contact
 * sheets are embedded as data: URIs (otherwise linked relative to the
 * page). It is streamed to the caller's FILE: the summary from the header
 * at open, one JSON object per item as each arrives (report-html-data.c)
 * inside a <script type="application/json">, which the script renders
 * into a list or a grid a page at a time. Without scripts a plain table
 * of the items shows instead (for batches up to HTML_STATIC_MAX items:
 * kept in memory until the end, since it follows the data).
 *
 * Only HTML 4 elements are written (the script makes <video> and <svg>)
 * so that libxml2's HTML parser, and `xmllint --html`, read it without a
 * complaint. Every text goes through report_html_text(). */
#include "config.h"
#include "report-html-impl.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Embed images only in batches this small, so a big batch's page still
 * opens quickly; the no-script table only up to HTML_STATIC_MAX items. */
#define HTML_EMBED_MAX_ITEMS 200
#define HTML_STATIC_MAX 2000

typedef struct html {
    FILE *out;                  /* borrowed */
    char *out_dir;              /* may be NULL */
    char *foot;                 /* the line under the table, from the header */
    bool embed;                 /* batch small enough to embed images */
    int64_t nitems;             /* items written so far */
    FILE *rows;                 /* the no-script table's rows (owned), or NULL */
    char *rows_buf;             /* rows' memory (owned) */
    size_t rows_len;
} html;

/* Text for HTML: & < > " ' as references; bytes that are not valid
 * UTF-8, controls and noncharacters (parse errors in HTML) as U+FFFD. */
static void report_html_text(FILE *f, const char *s)
{
    static const char repl[] = "\xEF\xBF\xBD";
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)u);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c < 0x80) {
            switch (c) {
            case '&':  fputs("&amp;", f); break;
            case '<':  fputs("&lt;", f); break;
            case '>':  fputs("&gt;", f); break;
            case '"':  fputs("&quot;", f); break;
            case '\'': fputs("&#39;", f); break;
            default:
                if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
                    fputs(repl, f);
                else
                    fputc(c, f);
            }
            i++;
            continue;
        }
        size_t len = util_utf8_len(u + i, n - i);
        if (len == 0) {
            fputs(repl, f);
            i++;
        } else if ((len == 2 && c == 0xC2 && u[i + 1] < 0xA0) ||             /* C1 */
                   (len == 3 && c == 0xEF && u[i + 1] == 0xBF && u[i + 2] >= 0xBE)) {
            fputs(repl, f);
            i += len;
        } else {
            fwrite(u + i, 1, len, f);
            i += len;
        }
    }
}

/* A path from a record that stays inside OUT: relative, no "..". */
bool report_html_safe_rel(const char *p)
{
    if (!p || !*p || *p == '/')
        return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s += n;
        if (*s == '/')
            s++;
    }
    return true;
}

/* A number with up to `dec` decimals, trailing zeros dropped ("25", "29.97"). */
static void report_html_num(char *buf, size_t len, double v, int dec)
{
    snprintf(buf, len, "%.*f", dec, v);
    if (strchr(buf, '.')) {
        char *e = buf + strlen(buf) - 1;
        while (*e == '0')
            *e-- = '\0';
        if (*e == '.')
            *e = '\0';
    }
}

static void report_html_size(char *buf, size_t len, int64_t bytes)
{
    if (bytes >= 1000 * 1000 * 1000)
        snprintf(buf, len, "%.2f GB", (double)bytes / 1e9);
    else if (bytes >= 1000 * 1000)
        snprintf(buf, len, "%.1f MB", (double)bytes / 1e6);
    else if (bytes >= 1000)
        snprintf(buf, len, "%.0f KB", (double)bytes / 1e3);
    else
        snprintf(buf, len, "%lld B", (long long)bytes);
}

static void report_html_duration(char *buf, size_t len, double s)
{
    if (!isfinite(s) || s < 0)
        s = 0;
    if (s < 60)
        snprintf(buf, len, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, len, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, len, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void report_html_card(FILE *f, const char *cls, int64_t n, const char *label)
{
    /* zeros in grey, so that the counts that matter stand out */
    fprintf(f, "<div class=\"card %s%s\"><b>%lld</b><span>%s</span></div>\n",
            cls, n == 0 && *cls ? " zero" : "", (long long)n, label);
}

/* "2024-01-02T03:04:05+0100" reads better as "2024-01-02 03:04:05 +0100". */
static void report_html_time_row(FILE *f, const char *label, const char *iso)
{
    if (!iso || !*iso)
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", iso);
    if (strlen(buf) >= 19 && buf[10] == 'T') {
        buf[10] = ' ';
        if ((buf[19] == '+' || buf[19] == '-') && strlen(buf) < sizeof buf - 1) {
            memmove(buf + 20, buf + 19, strlen(buf + 19) + 1);
            buf[19] = ' ';
        }
    }
    fprintf(f, "<tr><th>%s</th><td>", label);
    report_html_text(f, buf);
    fputs("</td></tr>\n", f);
}

static void report_html_meta_row(FILE *f, const char *label, const char *value, bool code)
{
    if (!value || !*value)
        return;
    fprintf(f, "<tr><th>%s</th><td>%s", label, code ? "<code>" : "");
    report_html_text(f, value);
    fprintf(f, "%s</td></tr>\n", code ? "</code>" : "");
}

static void report_html_head(html *h, const report_header *hd)
{
    FILE *f = h->out;
    const report_counts *c = hd->counts;
    static const report_counts zero;
    if (!c)
        c = &zero;
    const char *id = hd->batch_id ? hd->batch_id : "";

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
    fputs("<meta name=\"generator\" content=\"vbatch ", f);
    report_html_text(f, hd->vbatch_version ? hd->vbatch_version : PACKAGE_VERSION);
    fputs("\">\n<title>vbatch report ", f);
    report_html_text(f, id);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", report_html_style);

    fputs("<div class=\"top\">\n<h1>vbatch report <span class=\"id\">", f);
    report_html_text(f, id);
    fputs("</span></h1>\n<div class=\"cards\">\n", f);
    report_html_card(f, "", c->total, "items");
    report_html_card(f, "pass", c->done, "passed");
    report_html_card(f, "warn", c->warned, "with warnings");
    report_html_card(f, "fail", c->qc_failed, "qc failed");
    report_html_card(f, "error", c->failed, "failed");
    report_html_card(f, "skip", c->skipped, "skipped");
    char wall[48];
    report_html_duration(wall, sizeof wall, hd->wall);
    fprintf(f, "<div class=\"card\"><b>%s</b><span>wall time</span></div>\n</div>\n", wall);

    fputs("<table class=\"meta\">\n", f);
    report_html_meta_row(f, "Batch", id, true);
    report_html_time_row(f, "Started", hd->started);
    report_html_time_row(f, "Finished", hd->finished);
    report_html_meta_row(f, "Preset", hd->preset_name, false);
    report_html_meta_row(f, "Command", hd->command_line, true);
    if (hd->inputs && hd->inputs->n > 0) {
        char *in = vb_strlist_join(hd->inputs, ", ");
        report_html_meta_row(f, "Inputs", in, true);
        free(in);
    }
    fputs("</table>\n", f);

    fputs("</div>\n<div id=\"app\"></div>\n"
          "<script type=\"application/json\" id=\"vb-items\">[", f);
}

/* Row class and badge text: pass, warn, fail, error, skip. */
const char *report_html_row_class(const item_record *it)
{
    switch (it->status) {
    case ITEM_FAILED:    return "error";
    case ITEM_UNKNOWN:   return "error";
    /* A skipped item that failed QC when it was processed stays among
     * the failures (its verdict stands); its badge says skipped. */
    case ITEM_SKIPPED:   return it->previous_status == ITEM_QC_FAILED ? "fail" : "skip";
    case ITEM_QC_FAILED: return "fail";
    default:
        return (it->verdict == VERDICT_WARN || it->warned_rules.n > 0) ? "warn" : "pass";
    }
}

static void report_html_findings(FILE *f, const item_record *it)
{
    bool any = false;
    fputs("<td>", f);
    if (it->status == ITEM_UNKNOWN) {
        fputs("<ul class=\"find\"><li class=\"error\"><b>unknown</b>: ", f);
        report_html_text(f, it->error ? it->error : "status unknown to this vbatch");
        fputs("</li>", f);
        any = true;
    } else if (it->status == ITEM_FAILED || it->status == ITEM_SKIPPED) {
        bool failed = it->status == ITEM_FAILED;
        fprintf(f, "<ul class=\"find\"><li class=\"%s\"><b>%s</b>: ", failed ? "error" : "skip",
                failed ? report_stage_name(it->error_stage) : "skipped");
        char *note = failed ? NULL : report_skip_note(it);
        report_html_text(f, failed ? (it->error ? it->error : "failed") : note);
        free(note);
        fputs("</li>", f);
        any = true;
    }
    if (it->fix) {
        fprintf(f, "<ul class=\"find\"><li class=\"%s\"><b>fix</b>: ",
                it->fix_actions.n ? "pass" : "warn");
        report_html_text(f, it->fix);
        fputs("</li>", f);
        any = true;
    }
    for (size_t i = 0; i < it->checks.n; i++) {
        const rule_result *r = &it->checks.r[i];
        if (r->verdict == VERDICT_PASS)
            continue;
        fputs(any ? "" : "<ul class=\"find\">", f);
        any = true;
        fprintf(f, "<li class=\"%s\"><b>", r->verdict == VERDICT_FAIL ? "fail" : "warn");
        report_html_text(f, r->rule);
        fputs("</b> ", f);
        report_html_text(f, r->message);
        fputs(" <span class=\"vl\">(", f);
        report_html_text(f, r->value ? r->value : "none");
        fputs(" vs ", f);
        report_html_text(f, r->limit ? r->limit : "none");
        fputs(")</span></li>", f);
    }
    /* records without the check details still name their rules */
    if (it->checks.n == 0) {
        for (int pass = 0; pass < 2; pass++) {
            const vb_strlist *l = pass ? &it->warned_rules : &it->failed_rules;
            for (size_t i = 0; i < l->n; i++) {
                fputs(any ? "" : "<ul class=\"find\">", f);
                any = true;
                fprintf(f, "<li class=\"%s\"><b>", pass ? "warn" : "fail");
                report_html_text(f, l->v[i]);
                fputs("</b></li>", f);
            }
        }
    }
    if (any)
        fputs("</ul>", f);
    else if (it->checks.n > 0)
        fprintf(f, "<span class=\"muted\">%s%zu check%s passed</span>",
                it->checks.n > 1 ? "all " : "", it->checks.n, it->checks.n > 1 ? "s" : "");
    else
        fputs("<span class=\"muted\">&#8212;</span>", f);
    fputs("</td>\n", f);
}

/* " · " between the parts of one figures line. */
static void report_html_sep(FILE *f, bool *first)
{
    if (!*first)
        fputs(" &#183; ", f);
    *first = false;
}

static void report_html_figures(FILE *f, const item_record *it)
{
    char a[64], b[64];
    bool first = true;
    fputs("<td class=\"fig\">", f);
    if (!it->container && !it->video_codec && !it->audio_codec && !it->image_format &&
        it->width <= 0 && !(it->duration > 0) && it->size <= 0) {
        fputs("<span class=\"muted\">&#8212;</span></td>\n", f);
        return;
    }
    /* line 1: container and codecs (images: the format) */
    fputs("<div>", f);
    if (it->kind == ITEM_IMAGE) {
        report_html_sep(f, &first);
        fputs("image ", f);
        report_html_text(f, it->image_format ? it->image_format : "");
    } else {
        if (it->container) {
            report_html_sep(f, &first);
            report_html_text(f, it->container);
        }
        if (it->video_codec || it->audio_codec) {
            report_html_sep(f, &first);
            report_html_text(f, it->video_codec ? it->video_codec : "no video");
            fputs(" / ", f);
            report_html_text(f, it->audio_codec ? it->audio_codec : "no audio");
        }
    }
    fputs("</div>\n<div>", f);
    /* line 2: picture, time, rate, size */
    first = true;
    if (it->width > 0 && it->height > 0) {
        report_html_sep(f, &first);
        fprintf(f, "%d&#215;%d", it->width, it->height);
    }
    if (isfinite(it->duration) && it->duration > 0) {
        report_html_sep(f, &first);
        report_html_num(a, sizeof a, it->duration, 2);
        fprintf(f, "%s s", a);
    }
    if (isfinite(it->fps) && it->fps > 0) {
        report_html_sep(f, &first);
        report_html_num(a, sizeof a, it->fps, 3);
        fprintf(f, "%s fps", a);
    }
    if (it->bit_rate > 0) {
        report_html_sep(f, &first);
        if (it->bit_rate >= 1000000)
            fprintf(f, "%.2f Mb/s", (double)it->bit_rate / 1e6);
        else
            fprintf(f, "%.0f kb/s", (double)it->bit_rate / 1e3);
    }
    if (it->size > 0) {
        report_html_sep(f, &first);
        report_html_size(a, sizeof a, it->size);
        fputs(a, f);
    }
    fputs("</div>\n", f);
    if (it->analysed) {
        /* line 3: loudness; line 4: black, freeze, silence, decode errors */
        first = true;
        fputs("<div>", f);
        if (isfinite(it->loudness)) {
            report_html_sep(f, &first);
            report_html_num(a, sizeof a, it->loudness, 1);
            fprintf(f, "%s LUFS", a);
            if (isfinite(it->loudness_range)) {
                report_html_num(b, sizeof b, it->loudness_range, 1);
                fprintf(f, " (LRA %s LU)", b);
            }
        }
        if (isfinite(it->true_peak)) {
            report_html_sep(f, &first);
            report_html_num(a, sizeof a, it->true_peak, 1);
            fprintf(f, "peak %s dBTP", a);
        }
        fputs("</div>\n<div>", f);
        first = true;
        if (isfinite(it->black_total)) {
            report_html_sep(f, &first);
            report_html_num(a, sizeof a, it->black_total, 2);
            fprintf(f, "black %s s", a);
            if (isfinite(it->black_share)) {
                report_html_num(b, sizeof b, it->black_share * 100, 1);
                fprintf(f, " (%s%%)", b);
            }
        }
        if (isfinite(it->freeze_max)) {
            report_html_sep(f, &first);
            report_html_num(a, sizeof a, it->freeze_max, 2);
            fprintf(f, "freeze %s s", a);
        }
        if (isfinite(it->silence_max)) {
            report_html_sep(f, &first);
            report_html_num(a, sizeof a, it->silence_max, 2);
            fprintf(f, "silence %s s", a);
        }
        if (it->decode_errors > 0) {
            report_html_sep(f, &first);
            fprintf(f, "%lld decode errors", (long long)it->decode_errors);
        }
        fputs("</div>\n", f);
    }
    fputs("</td>\n", f);
}

/* The no-script table links the contact sheet; the script's views embed it. */
static void report_html_contact(FILE *f, const item_record *it)
{
    fputs("<td>", f);
    if (!report_html_safe_rel(it->contact)) {
        fputs("<span class=\"muted\">&#8212;</span></td>\n", f);
        return;
    }
    char *url = report_html_rel_url(it->contact);
    fputs("<a href=\"", f);
    report_html_text(f, url);
    fputs("\"><img class=\"sheet\" alt=\"contact sheet\" loading=\"lazy\" src=\"", f);
    report_html_text(f, url);
    fputs("\"></a></td>\n", f);
    free(url);
}

/* One row of the no-script table. */
static void report_html_row(FILE *f, const item_record *it)
{
    const char *cls = report_html_row_class(it);
    bool skipped = it->status == ITEM_SKIPPED;
    fprintf(f, "<tr class=\"%s\" id=\"item-%lld\">\n<td class=\"n\">%lld</td>\n"
            "<td><span class=\"badge %s\">%s</span></td>\n<td class=\"item\">",
            cls, (long long)it->seq, (long long)it->seq, skipped ? "skip" : cls,
            skipped ? "skipped" : cls);
    if (report_html_safe_rel(it->folder)) {
        char *dir = vb_xasprintf("%s/", it->folder);
        char *url = report_html_rel_url(dir);
        fputs("<a href=\"", f);
        report_html_text(f, url);
        fputs("\">", f);
        report_html_text(f, it->folder);
        fputs("</a>", f);
        free(url);
        free(dir);
    }
    fputs("<div class=\"src\">", f);
    report_html_text(f, it->source);
    fputs("</div></td>\n", f);
    report_html_findings(f, it);
    report_html_figures(f, it);
    report_html_contact(f, it);
    fputs("</tr>\n", f);
}

static int report_html_item(void *ctx, const item_record *it, vb_error *e)
{
    html *h = ctx;
    FILE *f = h->out;
    fputs(h->nitems++ ? ",\n" : "\n", f);
    if (report_html_item_json(f, it, h->out_dir, h->embed, e) != 0)
        return -1;
    if (h->rows && h->nitems <= HTML_STATIC_MAX)
        report_html_row(h->rows, it);
    if (ferror(f))
        return vb_fail(e, VB_ERR_IO, "cannot write the HTML report");
    return 0;
}

static int report_html_finish(void *ctx, vb_error *e)
{
    html *h = ctx;
    FILE *f = h->out;
    fputs("]</script>\n<noscript>\n", f);
    bool table = h->rows && h->nitems <= HTML_STATIC_MAX;
    if (h->rows) {
        fclose(h->rows);   /* sets rows_buf and rows_len */
        h->rows = NULL;
    }
    if (table) {
        fputs("<table class=\"items\">\n<thead><tr><th>#</th><th>Verdict</th><th>Item</th>"
              "<th>Findings</th><th>Figures</th><th>Contact sheet</th></tr></thead>\n<tbody>\n", f);
        fwrite(h->rows_buf, 1, h->rows_len, f);
        fputs("</tbody>\n</table>\n", f);
    } else {
        fputs("<p class=\"foot\">The list of this batch's items needs JavaScript; "
              "results.csv and batch_report.json beside this page hold them all.</p>\n", f);
    }
    fputs("</noscript>\n<p class=\"foot\">", f);
    report_html_text(f, h->foot);
    fputs("</p>\n", f);
    fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", report_html_script);
    if (fflush(f) != 0 || ferror(f))
        return vb_fail(e, VB_ERR_IO, "cannot write the HTML report");
    return 0;
}

static void report_html_destroy(void *ctx)
{
    html *h = ctx;
    if (!h)
        return;
    if (h->rows)
        fclose(h->rows);
    free(h->rows_buf);
    free(h->out_dir);
    free(h->foot);
    free(h);
}

int report_html_open(report_sink *s, FILE *out, const report_header *hd, vb_error *e)
{
    memset(s, 0, sizeof *s);
    html *h = vb_xcalloc(1, sizeof *h);
    h->out = out;
    h->out_dir = hd->out_dir ? vb_xstrdup(hd->out_dir) : NULL;
    h->embed = hd->counts && hd->counts->total <= HTML_EMBED_MAX_ITEMS;
    if (!hd->counts || hd->counts->total <= HTML_STATIC_MAX)
        h->rows = open_memstream(&h->rows_buf, &h->rows_len);
    /* the finish time, not the time of writing, so that a page made
     * again from the same records is the same page */
    h->foot = vb_xasprintf("Made by vbatch %s%s%s.",
                           hd->vbatch_version ? hd->vbatch_version : PACKAGE_VERSION,
                           hd->finished ? "; batch finished " : "",
                           hd->finished ? hd->finished : "");
    report_html_head(h, hd);
    if (ferror(out)) {
        report_html_destroy(h);
        return vb_fail(e, VB_ERR_IO, "cannot write the HTML report");
    }
    s->ctx = h;
    s->item = report_html_item;
    s->finish = report_html_finish;
    s->destroy = report_html_destroy;
    return 0;
}
