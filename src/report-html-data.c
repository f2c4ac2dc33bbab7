/* report-html-data.c - one item of report.html as a JSON object for the
 * page's script. The journal keeps an item's totals (black seconds, the
 * longest freeze ...); the spans behind them, the fix's cut points and
 * the thumbnails' times are in the item's metadata folder, so they are
 * read from there (analysis.json, fix.json, thumbnails.json). A file that
 * is missing or does not parse leaves its part out: the page still shows
 * the record. Built with jansson; nothing here writes HTML. */
#include "config.h"
#include "analyse.h"
#include "crypto.h"
#include "jsonx.h"
#include "report-html-impl.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Metadata bigger than this is not ours: leave it out. */
#define HTML_META_MAX_BYTES (4 * 1024 * 1024)
/* Images embedded as data: URIs up to this size. */
#define HTML_EMBED_MAX_BYTES (400 * 1024)

/* The data: URIs of an item's embedded images, kept out of its JSON
 * object: jansson would check and escape each of their ~100 kB byte by
 * byte (most of the report's time), though base64 needs no escaping.
 * The object holds a token in their place, swapped for the URI as the
 * text is written (report_html_item_json). */
typedef struct html_blobs {
    char *uri[8];
    size_t n;
} html_blobs;
/* "\u0001vbatch-embed-N\u0001" as jansson writes it, with its quotes. */
#define HTML_BLOB_OPEN "\"\\u0001vbatch-embed-"
#define HTML_BLOB_CLOSE "\\u0001\""


/* A number rounded to 1e-3 (the page shows no more), null if not finite. */
static json_t *report_html_jnum(double v)
{
    if (!isfinite(v))
        return json_null();
    return json_real(round(v * 1000) / 1000);
}

/* Unknown values are left out, not null: a big batch's page stays smaller. */
static void report_html_set(json_t *o, const char *k, json_t *v)
{
    if (v && !json_is_null(v))
        json_object_set_new(o, k, v);
    else
        json_decref(v);
}

char *report_html_rel_url(const char *p)
{
    size_t n = strlen(p);
    char *s = vb_xmalloc(3 + 3 * n + 1), *o = s;
    memcpy(o, "../", 3);
    o += 3;
    for (const unsigned char *u = (const unsigned char *)p; *u; u++) {
        if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
            (*u >= '0' && *u <= '9') || strchr("-._~/", *u))
            *o++ = (char)*u;
        else
            o += sprintf(o, "%%%02X", *u);
    }
    *o = '\0';
    return s;
}

static const char *report_html_mime(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcasecmp(dot, ".png") == 0)
        return "image/png";
    if (dot && strcasecmp(dot, ".webp") == 0)
        return "image/webp";
    if (dot && strcasecmp(dot, ".gif") == 0)
        return "image/gif";
    return "image/jpeg";
}

char *report_html_data_uri(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > HTML_EMBED_MAX_BYTES)
        return NULL;
    size_t n = 0;
    vb_error e = {0};
    char *data = util_read_file(path, &n, &e);
    if (!data)
        return NULL;
    char *b64 = crypto_base64(data, n);
    free(data);
    char *uri = vb_xasprintf("data:%s;base64,%s", report_html_mime(path), b64);
    free(b64);
    return uri;
}

/* The text of OUT/folder/metadata/name, or NULL (caller frees). */
static char *report_html_read(const char *out_dir, const char *folder, const char *name)
{
    char *rel = vb_xasprintf("%s/metadata/%s", folder, name);
    char *path = util_path_join(out_dir, rel);
    free(rel);
    struct stat st;
    char *text = NULL;
    vb_error e = {0};
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= HTML_META_MAX_BYTES)
        text = util_read_file(path, NULL, &e);
    free(path);
    return text;
}

/* The JSON object at OUT/folder/metadata/name, or NULL. */
static json_t *report_html_load(const char *out_dir, const char *folder, const char *name)
{
    char *text = report_html_read(out_dir, folder, name);
    json_t *o = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(text);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* An image of the item: a data: URI when embedding (blobs not NULL: the
 * URI kept there, a token in the object), else a relative URL. */
static json_t *report_html_image(const char *out_dir, const char *rel, html_blobs *blobs)
{
    if (!report_html_safe_rel(rel))
        return NULL;
    char *s = NULL;
    if (blobs && out_dir && blobs->n < VB_ARRAY_LEN(blobs->uri)) {
        char *path = util_path_join(out_dir, rel);
        s = report_html_data_uri(path);
        free(path);
        if (s) {
            blobs->uri[blobs->n] = s;
            char token[48];
            snprintf(token, sizeof token, "\001vbatch-embed-%zu\001", blobs->n++);
            return json_string(token);
        }
    }
    s = report_html_rel_url(rel);
    json_t *v = jsonx_str(s);
    free(s);
    return v;
}

/* [[start, end], ...] shifted by `off` seconds. */
static json_t *report_html_spans(const analyse_segment *v, size_t n, double off)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i].start) || !isfinite(v[i].end))
            continue;
        json_t *p = json_array();
        json_array_append_new(p, report_html_jnum(v[i].start + off));
        json_array_append_new(p, report_html_jnum(v[i].end + off));
        json_array_append_new(a, p);
    }
    return a;
}

/* fix.json's "before" figure `name`, NaN if none. */
static double report_html_fix_before(json_t *fix, const char *name)
{
    json_t *figs = json_object_get(fix, "figures"), *x;
    size_t i;
    json_array_foreach(figs, i, x) {
        const char *n = json_string_value(json_object_get(x, "name"));
        if (n && strcmp(n, name) == 0)
            return jsonx_num(x, "before");
    }
    return NAN;
}

/* The timeline: the analysed spans and, for a fixed item, where the fix
 * cut. analysis.json then describes the delivered file, so its spans are
 * moved to the original's time and the edges that were cut shown as
 * they were (the fix cut only the edges' black). */
static void report_html_timeline(json_t *o, const item_record *it, const char *out_dir)
{
    analyse_result *r = NULL;
    char *text = report_html_read(out_dir, it->folder, "analysis.json");
    vb_error e = {0};
    if (text && analyse_parse(text, NULL, &r, &e) == 0 && strstr(text, "\"loudness_series\"")) {
        /* optional (an analysis that keeps a loudness series): passed on as it is */
        json_t *an = json_loads(text, 0, NULL);
        json_t *loud = json_object_get(an, "loudness_series");
        if (json_is_object(loud))
            json_object_set(o, "loud", loud);
        json_decref(an);
    }
    free(text);
    json_t *fix = it->fix ? report_html_load(out_dir, it->folder, "fix.json") : NULL;
    json_t *trim = json_object_get(json_object_get(fix, "plan"), "trim");
    bool cut = json_is_true(json_object_get(fix, "fixed")) && json_is_object(trim);
    double off = 0, dur = r ? r->duration : it->duration;
    json_t *tl = json_object();
    if (cut) {
        double start = jsonx_num(trim, "start"), end = jsonx_num(trim, "end");
        double before = report_html_fix_before(fix, "duration");
        off = isfinite(start) ? start : 0;
        json_t *c = json_array();
        json_array_append_new(c, report_html_jnum(off));
        json_array_append_new(c, report_html_jnum(end));
        json_object_set_new(tl, "cut", c);
        if (isfinite(before))
            dur = before;
        double lb = report_html_fix_before(fix, "leading_black");
        double tb = report_html_fix_before(fix, "trailing_black");
        analyse_segment edge[2];
        size_t ne = 0;
        if (isfinite(lb) && lb > 0)
            edge[ne++] = (analyse_segment){0, lb, lb};
        if (isfinite(tb) && tb > 0 && isfinite(dur))
            edge[ne++] = (analyse_segment){dur - tb, dur, tb};
        json_object_set_new(tl, "cutblack", report_html_spans(edge, ne, 0));
    }
    report_html_set(tl, "d", report_html_jnum(dur));
    if (r) {
        json_object_set_new(tl, "black", report_html_spans(r->black, r->nblack, off));
        json_object_set_new(tl, "freeze", report_html_spans(r->freeze, r->nfreeze, off));
        json_object_set_new(tl, "silence", report_html_spans(r->silence, r->nsilence, off));
        if (r->incomplete && isfinite(r->broke_at))
            json_object_set_new(tl, "broke", report_html_jnum(r->broke_at + off));
        json_object_set_new(tl, "off", report_html_jnum(off));
    }
    json_object_set_new(o, "tl", tl);
    analyse_result_free(&r);
    json_decref(fix);
}

/* The thumbnails' times (frames moved off black marked), the poster (the
 * middle thumbnail) and the contact sheet with its size. */
static void report_html_thumbs(json_t *o, const item_record *it, const char *out_dir,
                               html_blobs *embed)
{
    json_t *th = report_html_load(out_dir, it->folder, "thumbnails.json");
    json_t *list = json_object_get(th, "thumbnails"), *x;
    json_t *a = json_array();
    size_t i, n = json_array_size(list);
    json_array_foreach(list, i, x) {
        json_t *t = json_object();
        report_html_set(t, "t", report_html_jnum(jsonx_num(x, "actual")));
        report_html_set(t, "ask", report_html_jnum(jsonx_num(x, "requested")));
        if (json_is_true(json_object_get(x, "moved_off_black")))
            json_object_set_new(t, "moved", json_true());
        const char *file = json_string_value(json_object_get(x, "file"));
        if (file && !strchr(file, '/')) {
            char *rel = vb_xasprintf("%s/thumbnails/%s", it->folder, file);
            report_html_set(t, "src", report_html_image(out_dir, rel, NULL));
            if (i == n / 2)
                report_html_set(o, "poster", report_html_image(out_dir, rel, embed));
            free(rel);
        }
        json_array_append_new(a, t);
    }
    json_object_set_new(o, "thumbs", a);
    json_t *c = json_object_get(th, "contact");
    if (json_is_object(c)) {
        report_html_set(o, "cw", report_html_jnum(jsonx_num(c, "width")));
        report_html_set(o, "ch", report_html_jnum(jsonx_num(c, "height")));
    }
    json_decref(th);
}

/* Non-passing checks as [class, rule, text], and the rule names. */
static void report_html_findings(json_t *o, const item_record *it)
{
    json_t *fd = json_array(), *rules = json_array();
    for (size_t i = 0; i < it->checks.n; i++) {
        const rule_result *r = &it->checks.r[i];
        if (r->verdict == VERDICT_PASS)
            continue;
        char *text = vb_xasprintf("%s (%s vs %s)", r->message ? r->message : "",
                                  r->value ? r->value : "none", r->limit ? r->limit : "none");
        json_t *e = json_array();
        json_array_append_new(e, json_string(r->verdict == VERDICT_FAIL ? "fail" : "warn"));
        json_array_append_new(e, jsonx_str(r->rule));
        json_array_append_new(e, jsonx_str(text));
        json_array_append_new(fd, e);
        json_array_append_new(rules, jsonx_str(r->rule));
        free(text);
    }
    /* records without the check details still name their rules */
    for (int pass = 0; pass < 2 && it->checks.n == 0; pass++) {
        const vb_strlist *l = pass ? &it->warned_rules : &it->failed_rules;
        for (size_t i = 0; i < l->n; i++) {
            json_t *e = json_array();
            json_array_append_new(e, json_string(pass ? "warn" : "fail"));
            json_array_append_new(e, jsonx_str(l->v[i]));
            json_array_append_new(e, json_string(""));
            json_array_append_new(fd, e);
            json_array_append_new(rules, jsonx_str(l->v[i]));
        }
    }
    json_object_set_new(o, "find", fd);
    json_object_set_new(o, "rules", rules);
    report_html_set(o, "nchecks", json_integer((json_int_t)it->checks.n));
}

/* The figures, by the names the page sorts on. */
static void report_html_figures(json_t *o, const item_record *it)
{
    json_t *m = json_object();
    report_html_set(m, "container", jsonx_str(it->container));
    report_html_set(m, "vcodec", jsonx_str(it->video_codec));
    report_html_set(m, "acodec", jsonx_str(it->audio_codec));
    report_html_set(m, "format", jsonx_str(it->image_format));
    report_html_set(m, "duration", report_html_jnum(it->duration > 0 ? it->duration : NAN));
    report_html_set(m, "width", it->width > 0 ? json_integer(it->width) : NULL);
    report_html_set(m, "height", it->height > 0 ? json_integer(it->height) : NULL);
    report_html_set(m, "fps", report_html_jnum(it->fps > 0 ? it->fps : NAN));
    report_html_set(m, "bit_rate", it->bit_rate > 0 ? json_integer(it->bit_rate) : NULL);
    report_html_set(m, "size", it->size > 0 ? json_integer(it->size) : NULL);
    if (it->analysed) {
        json_object_set_new(o, "an", json_true());
        report_html_set(m, "loudness", report_html_jnum(it->loudness));
        report_html_set(m, "lra", report_html_jnum(it->loudness_range));
        report_html_set(m, "true_peak", report_html_jnum(it->true_peak));
        report_html_set(m, "black", report_html_jnum(it->black_total));
        report_html_set(m, "leading_black", report_html_jnum(it->leading_black));
        report_html_set(m, "freeze", report_html_jnum(it->freeze_max));
        report_html_set(m, "silence", report_html_jnum(it->silence_max));
        report_html_set(m, "decode_errors", json_integer(it->decode_errors));
    }
    double t = 0;
    for (int i = 0; i < STAGE_COUNT; i++)
        if (isfinite(it->stage_time[i]))
            t += it->stage_time[i];
    report_html_set(m, "seconds", report_html_jnum(t));
    json_object_set_new(o, "m", m);
}

/* The status line of an item that has no verdict of its own. */
static json_t *report_html_note(const item_record *it)
{
    if (it->status == ITEM_UNKNOWN)
        return jsonx_str(it->error ? it->error : "status unknown to this vbatch");
    if (it->status == ITEM_FAILED) {
        char *s = vb_xasprintf("%s: %s", report_stage_name(it->error_stage),
                               it->error ? it->error : "failed");
        json_t *v = jsonx_str(s);
        free(s);
        return v;
    }
    if (it->status == ITEM_SKIPPED) {
        char *s = report_skip_note(it);
        json_t *v = jsonx_str(s);
        free(s);
        return v;
    }
    return NULL;
}

static json_t *report_html_item_object(const item_record *it, const char *out_dir,
                                       html_blobs *embed)
{
    json_t *o = json_object();
    const char *cls = report_html_row_class(it);
    json_object_set_new(o, "n", json_integer(it->seq));
    json_object_set_new(o, "c", json_string(cls));
    json_object_set_new(o, "b", json_string(it->status == ITEM_SKIPPED ? "skipped" : cls));
    json_object_set_new(o, "k", json_string(it->kind == ITEM_IMAGE ? "image" : "video"));
    report_html_set(o, "s", jsonx_str(it->source));
    json_t *note = report_html_note(it);
    if (note)
        json_object_set_new(o, "note", note);
    if (it->fix) {
        json_object_set_new(o, "fix", jsonx_str(it->fix));
        json_object_set_new(o, "fixed", json_boolean(it->fix_actions.n > 0));
    }
    report_html_findings(o, it);
    report_html_figures(o, it);
    bool folder = report_html_safe_rel(it->folder);
    if (folder) {
        json_object_set_new(o, "f", jsonx_str(it->folder));
        char *dir = vb_xasprintf("%s/", it->folder);
        char *url = report_html_rel_url(dir);
        json_object_set_new(o, "href", jsonx_str(url));
        free(url);
        free(dir);
    }
    if (report_html_safe_rel(it->video)) {
        if (it->kind == ITEM_IMAGE)
            report_html_set(o, "poster", report_html_image(out_dir, it->video, embed));
        char *url = report_html_rel_url(it->video);
        json_object_set_new(o, it->kind == ITEM_IMAGE ? "img" : "video", jsonx_str(url));
        free(url);
    }
    if (folder && out_dir && it->kind != ITEM_IMAGE) {
        report_html_timeline(o, it, out_dir);
        if (it->nthumbs > 0)
            report_html_thumbs(o, it, out_dir, embed);
    }
    if (report_html_safe_rel(it->contact))
        report_html_set(o, "contact", report_html_image(out_dir, it->contact, embed));
    return o;
}

int report_html_item_json(FILE *f, const item_record *it, const char *out_dir, bool embed,
                          vb_error *e)
{
    html_blobs blobs = {0};
    json_t *o = report_html_item_object(it, out_dir, embed ? &blobs : NULL);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!text) {
        for (size_t i = 0; i < blobs.n; i++)
            free(blobs.uri[i]);
        return vb_fail(e, VB_ERR_INTERNAL, "cannot make the HTML report's item data");
    }
    /* '<' only occurs inside strings: as \u003c no "</script" or "<!--"
     * can end or confuse the script element. A token is written as its
     * URI in quotes, which is how jansson would have written the URI:
     * base64 and "data:image/...;base64," hold nothing to escape. */
    const size_t olen = strlen(HTML_BLOB_OPEN), clen = strlen(HTML_BLOB_CLOSE);
    for (const char *s = text; *s;) {
        const char *tok = blobs.n ? strstr(s, HTML_BLOB_OPEN) : NULL;
        const char *stop = tok ? tok : s + strlen(s);
        while (s < stop) {
            size_t n = strcspn(s, "<");
            if (n > (size_t)(stop - s))
                n = (size_t)(stop - s);
            fwrite(s, 1, n, f);
            s += n;
            if (s < stop) {
                fputs("\\u003c", f);
                s++;
            }
        }
        if (!tok)
            break;
        char *end;
        unsigned long k = strtoul(tok + olen, &end, 10);
        if (end > tok + olen && k < blobs.n && strncmp(end, HTML_BLOB_CLOSE, clen) == 0) {
            fprintf(f, "\"%s\"", blobs.uri[k]);
            s = end + clen;
        } else {
            fputc('"', f);
            s = tok + 1;
        }
    }
    free(text);
    for (size_t i = 0; i < blobs.n; i++)
        free(blobs.uri[i]);
    return ferror(f) ? vb_fail(e, VB_ERR_IO, "cannot write the HTML report") : 0;
}
