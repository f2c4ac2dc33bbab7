/* report-junit.c - the batch as a JUnit XML report, for CI systems
 * (GitLab, Jenkins) that show test results.
 *
 * One <testsuite> per batch; every check made on an item is one
 * <testcase> (classname = the item, name = the rule). A fail-level check
 * that failed is a <failure>; a warning stays a passing test with the
 * message in <system-out>, so CI stays green on warnings. An item that
 * could not be processed adds a "process" test with an <error>, a
 * skipped item a "process" test with <skipped/> (an item unchanged since
 * an earlier batch keeps that batch's checks, failures included, so the
 * report agrees with the exit status).
 *
 * The document is streamed through libxml2's xmlTextWriter onto the
 * caller's FILE, item by item; the totals in the opening tags come from
 * the header's final counts (checks = every check of every item,
 * checks_failed = those with a fail verdict). */
#include "config.h"
#include "report.h"
#include "util.h"

#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

typedef struct junit {
    xmlTextWriterPtr w;
    FILE *out;          /* borrowed */
    const report_header *h; /* borrowed: the render's, alive as long */
    int rc;             /* first libxml2 error: < 0 */
} junit;

/* Text safe for XML 1.0: valid UTF-8 (bad bytes become '?', as in the
 * JSON reports) and no characters XML forbids even escaped (most C0
 * controls, U+FFFE, U+FFFF). Caller frees. */
static char *report_junit_clean(const char *s)
{
    char *t = util_utf8_sanitize(s ? s : "");
    unsigned char *u = (unsigned char *)t;
    for (size_t i = 0; u[i]; i++) {
        if (u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
            u[i] = '?';
        else if (u[i] == 0xEF && u[i + 1] == 0xBF && (u[i + 2] == 0xBE || u[i + 2] == 0xBF)) {
            /* drop the 3-byte noncharacter, keep the string's length honest */
            memmove(u + i + 1, u + i + 3, strlen((char *)u + i + 3) + 1);
            u[i] = '?';
        }
    }
    return t;
}

static void report_junit_check(junit *j, int rc)
{
    if (rc < 0 && j->rc == 0)
        j->rc = rc;
}

static void report_junit_start(junit *j, const char *name)
{
    report_junit_check(j, xmlTextWriterStartElement(j->w, BAD_CAST name));
}

static void report_junit_end(junit *j)
{
    report_junit_check(j, xmlTextWriterEndElement(j->w));
}

static void report_junit_attr(junit *j, const char *name, const char *value)
{
    char *v = report_junit_clean(value);
    report_junit_check(j, xmlTextWriterWriteAttribute(j->w, BAD_CAST name, BAD_CAST v));
    free(v);
}

static void report_junit_attr_int(junit *j, const char *name, int64_t v)
{
    report_junit_check(j, xmlTextWriterWriteFormatAttribute(j->w, BAD_CAST name, "%lld",
                                                            (long long)v));
}

static void report_junit_attr_time(junit *j, const char *name, double secs)
{
    if (!(secs >= 0) || secs > 1e9)   /* NAN or nonsense */
        secs = 0;
    report_junit_check(j, xmlTextWriterWriteFormatAttribute(j->w, BAD_CAST name, "%.3f", secs));
}

static void report_junit_text(junit *j, const char *text)
{
    char *v = report_junit_clean(text);
    report_junit_check(j, xmlTextWriterWriteString(j->w, BAD_CAST v));
    free(v);
}

static void report_junit_property(junit *j, const char *name, const char *value)
{
    report_junit_start(j, "property");
    report_junit_attr(j, "name", name);
    report_junit_attr(j, "value", value ? value : "");
    report_junit_end(j);
}

/* Start a <testcase>; the first test of an item carries the item's
 * processing time so that the suite's times add up. */
static void report_junit_testcase(junit *j, const char *classname, const char *name, double t)
{
    report_junit_start(j, "testcase");
    report_junit_attr(j, "classname", classname);
    report_junit_attr(j, "name", name);
    report_junit_attr_time(j, "time", t);
}

/* Which stage measured a check: the decode analysis, the thumbnails,
 * or the headers (probe and the rest). */
enum { JT_HEADERS, JT_ANALYSE, JT_THUMBS, JT_N };
static int report_junit_group(const char *rule)
{
    static const char *const analysed[] = { "black", "freeze", "silence", "silent",
                                            "loudness", "true_peak", "decode_errors",
                                            "integrity" };
    if (!rule)
        return JT_HEADERS;
    if (strcmp(rule, "thumbnails") == 0)
        return JT_THUMBS;
    for (size_t i = 0; i < VB_ARRAY_LEN(analysed); i++)
        if (strstr(rule, analysed[i]))
            return JT_ANALYSE;
    return JT_HEADERS;
}

/* Each check's time: the first check a stage made carries that stage's
 * time (the decode for the analysis checks, the thumbnails for theirs,
 * the rest for the first header check), so that the slow checks show and
 * the item's tests still add up to its time. */
static void report_junit_times(const item_record *it, double *t)
{
    double g[JT_N] = { 0 };
    for (int s = 0; s < STAGE_COUNT; s++)
        if (it->stage_time[s] > 0)
            g[s == STAGE_ANALYSE ? JT_ANALYSE : s == STAGE_THUMBS ? JT_THUMBS : JT_HEADERS] +=
                it->stage_time[s];
    bool had[JT_N] = { false };
    double spare = 0;
    for (size_t i = 0; i < it->checks.n; i++)
        had[report_junit_group(it->checks.r[i].rule)] = true;
    for (int k = 0; k < JT_N; k++)
        if (!had[k])
            spare += g[k];
    bool first = true;
    for (size_t i = 0; i < it->checks.n; i++) {
        int k = report_junit_group(it->checks.r[i].rule);
        t[i] = g[k] + (first ? spare : 0);
        g[k] = 0;
        first = false;
    }
    t[it->checks.n] = it->checks.n ? 0 : spare;    /* for the tests after the checks */
}

/* Jenkins (JUnit Attachments) and GitLab read files named so in a
 * test's output: the contact sheet, from where vbatch was run. NULL
 * when there is none; caller frees. */
static char *report_junit_attachment(const junit *j, const item_record *it)
{
    if (!it->contact || !*it->contact || !j->h->out_dir)
        return NULL;
    char *path = util_path_join(j->h->out_dir, it->contact);
    char *text = vb_xasprintf("[[ATTACHMENT|%s]]", path);
    free(path);
    return text;
}

static int report_junit_item(void *ctx, const item_record *it, vb_error *e)
{
    junit *j = ctx;
    const char *classname = it->folder && *it->folder ? it->folder
                          : it->source ? it->source : "item";
    double *times = vb_xcalloc(it->checks.n + 1, sizeof *times);
    report_junit_times(it, times);
    double t = times[it->checks.n];

    for (size_t i = 0; i < it->checks.n; i++) {
        const rule_result *c = &it->checks.r[i];
        report_junit_testcase(j, classname, c->rule ? c->rule : "check", times[i]);
        /* The item's first test carries its attachment, after any
         * failure (the schema's order), in its one <system-out>. */
        char *att = i == 0 ? report_junit_attachment(j, it) : NULL;
        if (c->verdict == VERDICT_FAIL) {
            report_junit_start(j, "failure");
            report_junit_attr(j, "message", c->message ? c->message : c->rule);
            report_junit_attr(j, "type", c->rule ? c->rule : "check");
            char *body = vb_xasprintf("measured: %s\nlimit: %s\nlevel: %s",
                                      c->value ? c->value : "none",
                                      c->limit ? c->limit : "none",
                                      preset_level_name(c->level));
            report_junit_text(j, body);
            free(body);
            report_junit_end(j);
        }
        if (c->verdict == VERDICT_WARN || att) {
            report_junit_start(j, "system-out");
            char *msg = c->verdict == VERDICT_WARN
                            ? vb_xasprintf("warning: %s%s%s", c->message ? c->message : c->rule,
                                           att ? "\n" : "", att ? att : "")
                            : vb_xstrdup(att);
            report_junit_text(j, msg);
            free(msg);
            report_junit_end(j);
        }
        free(att);
        report_junit_end(j);
    }

    if (it->fix) {
        /* --fix: what was done, or why not (the checks above are those of
         * the file delivered). */
        report_junit_testcase(j, classname, "fix", t);
        t = 0;
        report_junit_start(j, "system-out");
        report_junit_text(j, it->fix);
        report_junit_end(j);
        report_junit_end(j);
    }
    if (it->status == ITEM_FAILED) {
        const char *stage = report_stage_name(it->error_stage);
        report_junit_testcase(j, classname, "process", t);
        report_junit_start(j, "error");
        char *msg = vb_xasprintf("%s: %s", stage, it->error ? it->error : "failed");
        report_junit_attr(j, "message", msg);
        free(msg);
        report_junit_attr(j, "type", stage);
        report_junit_end(j);
        report_junit_end(j);
    } else if (it->status == ITEM_UNKNOWN) {
        /* Never shown as passed: the journal says something this vbatch
         * cannot read (a newer vbatch, an edit by hand). */
        report_junit_testcase(j, classname, "process", t);
        report_junit_start(j, "error");
        report_junit_attr(j, "message", it->error ? it->error : "status unknown to this vbatch");
        report_junit_attr(j, "type", "unknown");
        report_junit_end(j);
        report_junit_end(j);
    } else if (it->status == ITEM_SKIPPED) {
        report_junit_testcase(j, classname, "process", t);
        report_junit_start(j, "skipped");
        char *note = report_skip_note(it);
        report_junit_attr(j, "message", note);
        free(note);
        report_junit_end(j);
        report_junit_end(j);
    }
    free(times);
    if (j->rc < 0)
        return vb_fail(e, VB_ERR_IO, "cannot write the JUnit report");
    return 0;
}

static int report_junit_finish(void *ctx, vb_error *e)
{
    junit *j = ctx;
    report_junit_check(j, xmlTextWriterEndDocument(j->w));   /* closes every open element */
    report_junit_check(j, xmlTextWriterFlush(j->w));
    if (j->rc < 0 || fflush(j->out) != 0 || ferror(j->out))
        return vb_fail(e, VB_ERR_IO, "cannot write the JUnit report");
    return 0;
}

static void report_junit_destroy(void *ctx)
{
    junit *j = ctx;
    if (!j)
        return;
    /* frees the output buffer too; its FILE stays open (not ours) */
    if (j->w)
        xmlFreeTextWriter(j->w);
    free(j);
}

int report_junit_open(report_sink *s, FILE *out, const report_header *h, vb_error *e)
{
    memset(s, 0, sizeof *s);
    xmlOutputBufferPtr buf = xmlOutputBufferCreateFile(out, NULL);
    if (!buf)
        return vb_fail(e, VB_ERR_INTERNAL, "libxml2: cannot create an output buffer");
    junit *j = vb_xcalloc(1, sizeof *j);
    j->out = out;
    j->h = h;
    j->w = xmlNewTextWriter(buf);
    if (!j->w) {
        xmlOutputBufferClose(buf);
        free(j);
        return vb_fail(e, VB_ERR_INTERNAL, "libxml2: cannot create a text writer");
    }
    report_junit_check(j, xmlTextWriterSetIndent(j->w, 1));
    report_junit_check(j, xmlTextWriterSetIndentString(j->w, BAD_CAST "  "));
    report_junit_check(j, xmlTextWriterStartDocument(j->w, "1.0", "UTF-8", NULL));

    const report_counts *c = h->counts;
    int64_t errors = c ? c->failed : 0, skipped = c ? c->skipped : 0;
    int64_t failures = c ? c->checks_failed : 0;
    /* one test per check, a "process" test per failed or skipped item, a
     * "fix" test per item the fix looked at */
    int64_t tests = (c ? c->checks + c->fix_noted : 0) + errors + skipped;
    const char *id = h->batch_id ? h->batch_id : "batch";

    report_junit_start(j, "testsuites");
    report_junit_attr(j, "name", "vbatch");
    report_junit_attr_int(j, "tests", tests);
    report_junit_attr_int(j, "failures", failures);
    report_junit_attr_int(j, "errors", errors);
    report_junit_attr_time(j, "time", h->wall);

    report_junit_start(j, "testsuite");
    report_junit_attr(j, "name", id);
    report_junit_attr_int(j, "tests", tests);
    report_junit_attr_int(j, "failures", failures);
    report_junit_attr_int(j, "errors", errors);
    report_junit_attr_int(j, "skipped", skipped);
    report_junit_attr_time(j, "time", h->wall);
    if (h->started && strlen(h->started) >= 19) {
        /* like Maven Surefire: local time without the zone, which is
         * what the schema's pattern allows */
        char ts[20];
        memcpy(ts, h->started, 19);
        ts[19] = '\0';
        report_junit_attr(j, "timestamp", ts);
    }

    report_junit_start(j, "properties");
    report_junit_property(j, "preset", h->preset_name);
    report_junit_property(j, "command_line", h->command_line);
    report_junit_property(j, "vbatch_version",
                          h->vbatch_version ? h->vbatch_version : PACKAGE_VERSION);
    if (h->started)
        report_junit_property(j, "started", h->started);
    if (h->finished)
        report_junit_property(j, "finished", h->finished);
    report_junit_end(j);

    if (j->rc < 0) {
        report_junit_destroy(j);
        return vb_fail(e, VB_ERR_IO, "cannot write the JUnit report");
    }
    s->ctx = j;
    s->item = report_junit_item;
    s->finish = report_junit_finish;
    s->destroy = report_junit_destroy;
    return 0;
}
