/* test-reports.c - the JUnit and HTML report back ends on a handful of
 * records (passed, failed a gate, could not be processed, an image, a
 * name with bad UTF-8 and markup characters, skipped): the JUnit file is
 * read back with libxml2's XML parser and its counts and attributes
 * checked; the HTML page must parse with libxml2's HTML parser without a
 * single complaint, show every source escaped, embed a small contact
 * sheet as a data: URI and link the ones it cannot find. */
#include "config.h"
#include "check.h"
#include "report.h"
#include "util.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

/* A 16x8 baseline JPEG (made with ffmpeg), for an embedded contact sheet. */
static const unsigned char tiny_jpeg[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x02, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x10, 0x4c, 0x61, 0x76, 0x63, 0x35, 0x39, 0x2e, 0x33,
    0x37, 0x2e, 0x31, 0x30, 0x30, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x08, 0x3e, 0x3e, 0x49, 0x3e,
    0x49, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x64, 0x5d, 0x64, 0x68, 0x68, 0x68, 0x64, 0x64, 0x64,
    0x64, 0x68, 0x68, 0x68, 0x70, 0x70, 0x70, 0x83, 0x83, 0x83, 0x70, 0x70, 0x70, 0x68, 0x68, 0x70,
    0x70, 0x7c, 0x7c, 0x83, 0x83, 0x8f, 0x93, 0x8f, 0x87, 0x87, 0x83, 0x87, 0x93, 0x93, 0x9b, 0x9b,
    0x9b, 0xba, 0xba, 0xb2, 0xb2, 0xd9, 0xd9, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xc4, 0x00, 0x4b, 0x00,
    0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x05, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x06, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x08, 0x00,
    0x10, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00, 0xff, 0xda, 0x00, 0x0c, 0x03,
    0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0x82, 0x01, 0xd8, 0xeb, 0xff, 0xd9,
};

#define NITEMS 6
static const char odd_source[] = "odd/<b>&\"x\xff\x01y.mp4";
static const char odd_message[] = "bad\x01msg <tag> & \"q\" caf\xc3\xa9 \xc3";

static char *dup_or_null(const char *s)
{
    return s ? vb_xstrdup(s) : NULL;
}

static void make_item(item_record *it, int64_t seq, int status, const char *folder,
                      const char *source)
{
    memset(it, 0, sizeof *it);
    it->seq = seq;
    it->status = status;
    it->folder = dup_or_null(folder);
    it->source = dup_or_null(source);
    it->duration = NAN;
    it->fps = NAN;
    /* The stages of a processed item (generation only for generate). */
    for (int s = 0; s <= STAGE_RECORD; s++)
        it->stage_time[s] = 0.01 * (double)(s + 1);
}

static void video_figures(item_record *it)
{
    it->container = vb_xstrdup("mp4");
    it->video_codec = vb_xstrdup("h264");
    it->audio_codec = vb_xstrdup("aac");
    it->width = 1280;
    it->height = 720;
    it->duration = 6.0;
    it->fps = 25;
    it->bit_rate = 1234567;
    it->size = 925925;
}

static void free_item(item_record *it)
{
    rules_report_free(&it->checks);
    vb_strlist_clear(&it->failed_rules);
    vb_strlist_clear(&it->warned_rules);
    free(it->source); free(it->folder); free(it->video); free(it->error);
    free(it->container); free(it->video_codec); free(it->audio_codec);
    free(it->image_format); free(it->contact);
    memset(it, 0, sizeof *it);
}

static void make_items(item_record *v)
{
    item_record *it;

    it = &v[0];     /* done, every check passed, small contact sheet */
    make_item(it, 1, ITEM_DONE, "clip-a", "in/clip a.mp4");
    video_figures(it);
    it->verdict = VERDICT_PASS;
    rules_add(&it->checks, "duration_min", RULE_FAIL, true, "6.000 s", "4.500 s", "duration ok");
    rules_add(&it->checks, "min_width", RULE_FAIL, true, "1280", "1280", "width ok");
    it->contact = vb_xstrdup("clip-a/thumbnails/contact.jpg");
    it->nthumbs = 6;

    it = &v[1];     /* failed two gates and warned once; contact sheet missing */
    make_item(it, 2, ITEM_QC_FAILED, "clip-b", "in/clip-b.mp4");
    video_figures(it);
    it->duration = 2.0;
    it->verdict = VERDICT_FAIL;
    rules_add(&it->checks, "duration_min", RULE_FAIL, false, "2.000 s", "4.500 s",
              "duration %s is below %s", "2.000 s", "4.500 s");
    rules_add(&it->checks, "faststart", RULE_WARN, false, "no", "yes", "moov atom at the end");
    rules_add(&it->checks, "container", RULE_FAIL, true, "mp4", "mp4, mov", "container ok");
    rules_add(&it->checks, "min_width", RULE_FAIL, false, "640", "1280", "width 640 < 1280");
    vb_strlist_add(&it->failed_rules, "duration_min");
    vb_strlist_add(&it->failed_rules, "min_width");
    vb_strlist_add(&it->warned_rules, "faststart");
    it->contact = vb_xstrdup("clip-b/thumbnails/contact.jpg");
    it->analysed = true;
    it->loudness = -14.2;
    it->loudness_range = 3.5;
    it->true_peak = -1.1;
    it->black_total = 0.4;
    it->black_share = 0.2;
    it->leading_black = 0;
    it->freeze_max = NAN;
    it->silence_max = 1.5;

    it = &v[2];     /* could not be processed */
    make_item(it, 3, ITEM_FAILED, "clip-c", "in/broken.mp4");
    it->error_stage = STAGE_PROBE;
    it->error = vb_xstrdup("not a media file: Invalid data found when processing input");

    it = &v[3];     /* an image */
    make_item(it, 4, ITEM_DONE, "still", "in/still.png");
    it->kind = ITEM_IMAGE;
    it->image_format = vb_xstrdup("png");
    it->width = 1024;
    it->height = 1024;
    it->size = 345678;
    rules_add(&it->checks, "image_size", RULE_FAIL, true, "1024x1024", "512x512", "size ok");

    it = &v[4];     /* bad UTF-8, controls and markup characters; a warning */
    make_item(it, 5, ITEM_DONE, "odd-x", odd_source);
    video_figures(it);
    it->verdict = VERDICT_WARN;
    rules_add(&it->checks, "hdr", RULE_WARN, false, "pq", "sdr", "%s", odd_message);
    vb_strlist_add(&it->warned_rules, "hdr");

    it = &v[5];     /* skipped */
    make_item(it, 6, ITEM_SKIPPED, NULL, "in/again.mp4");
    it->error = vb_xstrdup("already done in an earlier run");
}

static void make_counts(report_counts *c, const item_record *v, int n)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < n; i++) {
        c->total++;
        switch (v[i].status) {
        case ITEM_DONE:      c->done++; c->warned += v[i].warned_rules.n > 0; break;
        case ITEM_QC_FAILED: c->qc_failed++; break;
        case ITEM_FAILED:    c->failed++; break;
        default:             c->skipped++; break;
        }
        c->checks += (int64_t)v[i].checks.n;
        c->checks_failed += v[i].checks.nfail;
        c->checks_warned += v[i].checks.nwarn;
    }
}

/* Run one back end over the items into path. */
static int render(int (*open)(report_sink *, FILE *, const report_header *, vb_error *),
                  const char *path, const report_header *h, const item_record *v, int n)
{
    vb_error e = {0};
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    report_sink s;
    int rc = open(&s, f, h, &e);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = s.item(s.ctx, &v[i], &e);
    if (rc == 0)
        rc = s.finish(s.ctx, &e);
    if (s.destroy)
        s.destroy(s.ctx);
    if (fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "render %s: %s\n", path, e.msg);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vb_xstrdup("");
    size_t cap = 1 << 16, n = 0;
    char *s = vb_xmalloc(cap);
    size_t got;
    while ((got = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2)
            s = vb_xrealloc(s, cap *= 2);
    }
    s[n] = '\0';
    fclose(f);
    return s;
}

static int parse_errors;

static void count_error(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    va_list ap;
    va_start(ap, fmt);
    fputs("libxml2: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    parse_errors++;
}

static void count_structured(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    fprintf(stderr, "libxml2: line %d: %s", err ? err->line : 0, err && err->message ? err->message : "?\n");
    parse_errors++;
}

static double xpath_num(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
    double v = o ? xmlXPathCastToNumber(o) : NAN;
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    return v;
}

/* The string value of an XPath expression; caller frees. */
static char *xpath_str(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
    xmlChar *s = o ? xmlXPathCastToString(o) : NULL;
    char *r = vb_xstrdup(s ? (char *)s : "");
    xmlFree(s);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    return r;
}

#define CHECK_XNUM(doc, expr, want) CHECK_INT((long long)xpath_num(doc, expr), want)
#define CHECK_XSTR(doc, expr, want) do { char *s_ = xpath_str(doc, expr); \
    CHECK_STR(s_, want); free(s_); } while (0)

static void test_junit(const char *path, const report_counts *c)
{
    parse_errors = 0;
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    CHECK(doc != NULL);
    CHECK_INT(parse_errors, 0);
    if (!doc)
        return;
    int64_t tests = c->checks + c->failed + c->skipped;
    CHECK_INT(tests, 10);
    CHECK_XSTR(doc, "name(/*)", "testsuites");
    CHECK_XSTR(doc, "/testsuites/@name", "vbatch");
    CHECK_XNUM(doc, "/testsuites/@tests", tests);
    CHECK_XNUM(doc, "/testsuites/@failures", 2);
    CHECK_XNUM(doc, "/testsuites/@errors", 1);
    CHECK_XNUM(doc, "count(/testsuites/testsuite)", 1);
    CHECK_XSTR(doc, "/testsuites/testsuite/@name", "20240102-030405");
    CHECK_XNUM(doc, "/testsuites/testsuite/@tests", tests);
    CHECK_XNUM(doc, "/testsuites/testsuite/@failures", 2);
    CHECK_XNUM(doc, "/testsuites/testsuite/@errors", 1);
    CHECK_XNUM(doc, "/testsuites/testsuite/@skipped", 1);
    CHECK_XSTR(doc, "/testsuites/testsuite/@time", "12.346");
    CHECK_XSTR(doc, "/testsuites/testsuite/@timestamp", "2024-01-02T03:04:05");
    /* the totals in the opening tags agree with the content */
    CHECK_XNUM(doc, "count(//testcase)", tests);
    CHECK_XNUM(doc, "count(//testcase/failure)", 2);
    CHECK_XNUM(doc, "count(//testcase/error)", 1);
    CHECK_XNUM(doc, "count(//testcase/skipped)", 1);
    /* warnings; and (issue 14) the contact sheets attached, each in its
     * item's first test */
    CHECK_XNUM(doc, "count(//testcase/system-out[starts-with(., 'warning: ')])", 2);
    CHECK_XNUM(doc, "count(//testcase/system-out[starts-with(., '[[ATTACHMENT|')])", 2);
    CHECK_XNUM(doc, "count(//testcase[not(@classname) or not(@name) or not(@time)])", 0);
    CHECK_XSTR(doc, "//property[@name='preset']/@value", "kling-clip");
    CHECK_XSTR(doc, "//property[@name='command_line']/@value", "vbatch process in --preset kling-clip");
    CHECK_XSTR(doc, "//property[@name='vbatch_version']/@value", PACKAGE_VERSION);
    /* a failure: message, type, and measured/limit/level in the body */
    CHECK_XSTR(doc, "//testcase[@classname='clip-b' and @name='duration_min']/failure/@message",
               "duration 2.000 s is below 4.500 s");
    CHECK_XSTR(doc, "//testcase[@classname='clip-b' and @name='duration_min']/failure/@type",
               "duration_min");
    CHECK_XSTR(doc, "//testcase[@classname='clip-b' and @name='duration_min']/failure",
               "measured: 2.000 s\nlimit: 4.500 s\nlevel: fail");
    CHECK_XNUM(doc, "count(//testcase[@classname='clip-b' and @name='container']/*)", 0);
    CHECK_XSTR(doc, "//testcase[@classname='clip-b' and @name='faststart']/system-out",
               "warning: moov atom at the end");
    /* an error */
    CHECK_XSTR(doc, "//testcase[@classname='clip-c']/@name", "process");
    CHECK_XSTR(doc, "//testcase[@classname='clip-c']/error/@type", "probe");
    CHECK_XSTR(doc, "//testcase[@classname='clip-c']/error/@message",
               "probe: not a media file: Invalid data found when processing input");
    /* a skipped item is named by its source (no folder) */
    CHECK_XNUM(doc, "count(//testcase[@classname='in/again.mp4' and @name='process']/skipped)", 1);
    /* bad bytes and controls become '?', markup survives as text */
    CHECK_XSTR(doc, "//testcase[@classname='odd-x']/system-out",
               "warning: bad?msg <tag> & \"q\" caf\xc3\xa9 ?");
    CHECK_XNUM(doc, "count(//testcase[@classname='still' and @name='image_size'])", 1);
    /* the first test of an item carries the item's time */
    CHECK_XSTR(doc, "//testcase[@classname='clip-a' and @name='duration_min']/@time", "0.360");
    CHECK_XSTR(doc, "//testcase[@classname='clip-a' and @name='min_width']/@time", "0.000");
    xmlFreeDoc(doc);
}

static void test_html(const char *path, const char *text)
{
    parse_errors = 0;
    htmlDocPtr doc = htmlReadFile(path, "UTF-8", HTML_PARSE_NONET);
    CHECK(doc != NULL);
    CHECK_INT(parse_errors, 0);
    if (!doc)
        return;
    CHECK_XNUM(doc, "count(//table[@class='items']/tbody/tr)", NITEMS);
    CHECK_XNUM(doc, "count(//tr[@class='pass'])", 2);
    CHECK_XNUM(doc, "count(//tr[@class='warn'])", 1);
    CHECK_XNUM(doc, "count(//tr[@class='fail'])", 1);
    CHECK_XNUM(doc, "count(//tr[@class='error'])", 1);
    CHECK_XNUM(doc, "count(//tr[@class='skip'])", 1);
    CHECK_XNUM(doc, "count(//script[@type='application/json' and @id='vb-items'])", 1);
    CHECK_XNUM(doc, "count(//script)", 2);
    CHECK_XNUM(doc, "count(//link) + count(//script[@src]) + count(//img[starts-with(@src,'http')])", 0);
    CHECK_XSTR(doc, "//tr[@id='item-1']//a[1]/@href", "../clip-a/");
    CHECK_XSTR(doc, "//tr[@id='item-6']//div[@class='src']", "in/again.mp4");
    CHECK_XSTR(doc, "//tr[@id='item-5']//div[@class='src']",
               "odd/<b>&\"x\xEF\xBF\xBD\xEF\xBF\xBDy.mp4");
    CHECK_XSTR(doc, "//tr[@id='item-2']//li[@class='fail'][1]/b", "duration_min");
    CHECK_XSTR(doc, "//tr[@id='item-2']//img/@loading", "lazy");
    CHECK_XSTR(doc, "//tr[@id='item-2']//img/@src", "../clip-b/thumbnails/contact.jpg");
    CHECK_XSTR(doc, "//tr[@id='item-3']//li[@class='error']",
               "probe: not a media file: Invalid data found when processing input");
    xmlFreeDoc(doc);

    /* the raw text: escaped sources, the control, the embedded image */
    CHECK(strstr(text, "<!DOCTYPE html>") == text);
    CHECK(strstr(text, ">in/clip a.mp4<") != NULL);
    CHECK(strstr(text, "odd/&lt;b&gt;&amp;&quot;x\xEF\xBF\xBD\xEF\xBF\xBDy.mp4") != NULL);
    CHECK(strstr(text, "bad\xEF\xBF\xBDmsg &lt;tag&gt; &amp; &quot;q&quot; caf\xc3\xa9 \xEF\xBF\xBD") != NULL);
    CHECK(strstr(text, "<b>") != NULL);
    CHECK(strstr(text, "<tag>") == NULL);
    CHECK(strstr(text, "id=\"vb-items\"") != NULL);
    CHECK(strstr(text, "\"contact\":\"data:image/jpeg;base64,/9j/") != NULL);
    CHECK(strstr(text, "1280&#215;720") != NULL);
    CHECK(strstr(text, "-14.2 LUFS") != NULL);
}

int main(void)
{
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, count_error);
    xmlSetStructuredErrorFunc(NULL, count_structured);

    char dir[] = "/tmp/vbatch-test-reports-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *thumbs = vb_xasprintf("%s/clip-a/thumbnails", dir);
    vb_error e = {0};
    CHECK(util_mkdir_p(thumbs, &e) == 0);
    char *jpeg = vb_xasprintf("%s/contact.jpg", thumbs);
    CHECK(util_write_atomic(jpeg, tiny_jpeg, sizeof tiny_jpeg, &e) == 0);

    item_record items[NITEMS];
    make_items(items);
    report_counts counts;
    make_counts(&counts, items, NITEMS);
    vb_strlist inputs = {0};
    vb_strlist_add(&inputs, "in");
    report_header h = {
        .batch_id = "20240102-030405",
        .vbatch_version = PACKAGE_VERSION,
        .started = "2024-01-02T03:04:05+0100",
        .finished = "2024-01-02T03:04:17+0100",
        .command_line = "vbatch process in --preset kling-clip",
        .preset_name = "kling-clip",
        .inputs = &inputs,
        .counts = &counts,
        .wall = 12.3456,
        .out_dir = dir,
    };

    char *jpath = vb_xasprintf("%s/junit.xml", dir);
    char *hpath = vb_xasprintf("%s/report.html", dir);
    CHECK(render(report_junit_open, jpath, &h, items, NITEMS) == 0);
    test_junit(jpath, &counts);
    CHECK(render(report_html_open, hpath, &h, items, NITEMS) == 0);
    char *text = slurp(hpath);
    test_html(hpath, text);

    /* the same records make the same files */
    char *jpath2 = vb_xasprintf("%s/junit-again.xml", dir);
    char *bpath = vb_xasprintf("%s/report-big.html", dir);
    char *epath = vb_xasprintf("%s/junit-empty.xml", dir);
    char *ehpath = vb_xasprintf("%s/report-empty.html", dir);
    CHECK(render(report_junit_open, jpath2, &h, items, NITEMS) == 0);
    char *j1 = slurp(jpath), *j2 = slurp(jpath2);
    CHECK(strcmp(j1, j2) == 0);
    free(j1);
    free(j2);

    /* a big batch links its contact sheets instead of embedding them */
    report_counts big = counts;
    big.total = 201;
    h.counts = &big;
    CHECK(render(report_html_open, bpath, &h, items, NITEMS) == 0);
    char *text2 = slurp(bpath);
    CHECK(strstr(text2, "data:image") == NULL);
    CHECK(strstr(text2, "loading=\"lazy\" src=\"../clip-a/thumbnails/contact.jpg\"") != NULL);

    /* an empty batch is still a valid document */
    report_counts none = {0};
    h.counts = &none;
    CHECK(render(report_junit_open, epath, &h, items, 0) == 0);
    parse_errors = 0;
    xmlDocPtr d = xmlReadFile(epath, NULL, XML_PARSE_NONET);
    CHECK(d != NULL && parse_errors == 0);
    if (d) {
        CHECK_XNUM(d, "/testsuites/@tests", 0);
        xmlFreeDoc(d);
    }
    CHECK(render(report_html_open, ehpath, &h, items, 0) == 0);
    parse_errors = 0;
    d = htmlReadFile(ehpath, "UTF-8", HTML_PARSE_NONET);
    CHECK(d != NULL && parse_errors == 0);
    if (d)
        xmlFreeDoc(d);

    /* VBATCH_TEST_KEEP=1 keeps the files to look at */
    const char *keep = getenv("VBATCH_TEST_KEEP");
    if (check_failures == 0 && !(keep && *keep == '1')) {
        unlink(jpath); unlink(jpath2); unlink(hpath); unlink(jpeg);
        unlink(bpath); unlink(epath); unlink(ehpath);
        rmdir(thumbs);
        char *ca = vb_xasprintf("%s/clip-a", dir);
        rmdir(ca);
        free(ca);
        rmdir(dir);
    } else {
        fprintf(stderr, "test-reports: files kept in %s\n", dir);
    }
    for (int i = 0; i < NITEMS; i++)
        free_item(&items[i]);
    vb_strlist_clear(&inputs);
    free(text); free(text2); free(thumbs); free(jpeg);
    free(jpath); free(jpath2); free(hpath); free(bpath); free(epath); free(ehpath);
    xmlCleanupParser();
    return check_result("test-reports");
}
