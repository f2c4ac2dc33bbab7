/* test-record.c - the item record's field table (report-record.c): every
 * member of item_record is in it; a record with every field set, and one
 * with every optional field absent, come back from the journal as they
 * went in; journal lines in the format vbatch has always written are
 * written again byte for byte; the report shows every field the table
 * gives it, in its group. */
#include "config.h"
#include "check.h"
#include "report-record.h"
#include "rules.h"
#include "util.h"
#include "writer.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define M(m) { offsetof(item_record, m), #m }
/* What a record keeps. Not here: gen.seconds, which the generate engine
 * keeps for itself and no output has ever shown. */
static const struct { size_t off; const char *name; } members[] = {
    M(seq), M(source), M(folder), M(video), M(status), M(verdict), M(error_stage), M(error),
    M(failed_rules), M(warned_rules), M(checks), M(kind), M(container), M(video_codec),
    M(audio_codec), M(duration), M(fps), M(width), M(height), M(size), M(bit_rate),
    M(bytes_read), M(image_format), M(analysed), M(black_total), M(black_share),
    M(leading_black), M(trailing_black), M(freeze_max), M(silence_max), M(loudness),
    M(loudness_range), M(true_peak), M(decode_errors), M(attempts), M(nthumbs), M(contact),
    M(stage_time), M(unchanged_since), M(previous_status), M(analysis_from), M(sha256),
    M(gen.id), M(gen.prompt), M(gen.provider), M(gen.task_id), M(gen.status), M(gen.units),
    M(fix), M(fix_actions),
};

#define AT(it, f, T) (*(T *)((char *)(it) + (f)->off))

static void check_members(void)
{
    for (size_t m = 0; m < VB_ARRAY_LEN(members); m++) {
        bool in_journal = false, in_report = false;
        for (size_t i = 0; i < report_nfields; i++) {
            const report_field *f = &report_fields[i];
            if (f->off == members[m].off) {
                in_journal = in_journal || f->journal.key;
                in_report = in_report || f->report.key;
            }
        }
        if (!in_journal)
            fprintf(stderr, "item_record.%s is not in the journal\n", members[m].name);
        CHECK(in_journal);
        /* The report shows all but what only the counts need. */
        if (members[m].off != offsetof(item_record, bytes_read) &&
            members[m].off != offsetof(item_record, checks) &&
            members[m].off != offsetof(item_record, stage_time)) {
            if (!in_report)
                fprintf(stderr, "item_record.%s is not in the report\n", members[m].name);
            CHECK(in_report);
        }
    }
}

/* Every field a value of its own, none of them a default. */
static void fill(item_record *it)
{
    memset(it, 0, sizeof *it);
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        const char *k = f->journal.key ? f->journal.key : f->report.key;
        switch (f->type) {
        case RF_I64:    AT(it, f, int64_t) = 1000 + (int64_t)i; break;
        case RF_INT:    AT(it, f, int) = 100 + (int)i; break;
        case RF_BOOL:   AT(it, f, bool) = true; break;
        case RF_DOUBLE: AT(it, f, double) = 0.5 + (double)i; break;
        case RF_STR:    AT(it, f, char *) = vb_xasprintf("%s \"\xc3\xa9\" %zu", k, i); break;
        case RF_LIST:
            vb_strlist_add(&AT(it, f, vb_strlist), k);
            vb_strlist_add(&AT(it, f, vb_strlist), "second");
            break;
        case RF_CHECKS:
            rules_add(&AT(it, f, rule_report), "min_width", RULE_FAIL, true, "1280 px",
                      "1080 px", "width %d", 1280);
            rules_add(&AT(it, f, rule_report), "loudness", RULE_WARN, false, NULL, "-14",
                      "too loud");
            break;
        case RF_TIMES:
            for (int s = 0; s < STAGE_COUNT; s++)
                (&AT(it, f, double))[s] = 0.125 * (s + 1);
            break;
        default:        break;   /* the enums, below */
        }
    }
    it->status = ITEM_SKIPPED;
    it->previous_status = ITEM_QC_FAILED;
    it->verdict = VERDICT_WARN;
    it->error_stage = STAGE_ANALYSE;
    it->kind = ITEM_IMAGE;
}

/* Every optional field absent: what a failed item of a plain batch has. */
static void fill_absent(item_record *it)
{
    memset(it, 0, sizeof *it);
    for (size_t i = 0; i < report_nfields; i++)
        if (report_fields[i].type == RF_DOUBLE && report_fields[i].journal.key)
            AT(it, &report_fields[i], double) = NAN;
    it->seq = 1;
    it->status = ITEM_FAILED;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static bool same_field(const report_field *f, const item_record *a, const item_record *b)
{
    item_record *x = (item_record *)a, *y = (item_record *)b;
    switch (f->type) {
    case RF_I64:    return AT(x, f, int64_t) == AT(y, f, int64_t);
    case RF_BOOL:   return AT(x, f, bool) == AT(y, f, bool);
    case RF_DOUBLE: return same_double(AT(x, f, double), AT(y, f, double));
    case RF_STR:    return same_str(AT(x, f, char *), AT(y, f, char *));
    case RF_LIST: {
        const vb_strlist *l = &AT(x, f, vb_strlist), *m = &AT(y, f, vb_strlist);
        bool same = l->n == m->n;
        for (size_t i = 0; same && i < l->n; i++)
            same = strcmp(l->v[i], m->v[i]) == 0;
        return same;
    }
    case RF_CHECKS: {
        const rule_report *r = &AT(x, f, rule_report), *s = &AT(y, f, rule_report);
        bool same = r->n == s->n && r->verdict == s->verdict && r->nfail == s->nfail &&
                    r->nwarn == s->nwarn;
        for (size_t i = 0; same && i < r->n; i++)
            same = same_str(r->r[i].rule, s->r[i].rule) &&
                   same_str(r->r[i].value, s->r[i].value) &&
                   same_str(r->r[i].limit, s->r[i].limit) && r->r[i].level == s->r[i].level &&
                   r->r[i].verdict == s->r[i].verdict &&
                   same_str(r->r[i].message, s->r[i].message);
        return same;
    }
    case RF_TIMES: {
        bool same = true;
        for (int s = 0; s < STAGE_COUNT; s++)
            same = same && same_double((&AT(x, f, double))[s], (&AT(y, f, double))[s]);
        return same;
    }
    default:        return AT(x, f, int) == AT(y, f, int);
    }
}

/* Into the journal and back: every field as it was, and the line the
 * record gives again is the same. */
static void check_round_trip(const item_record *it, const char *what)
{
    char *line = report_record_encode(it);
    item_record back;
    CHECK_INT(report_record_decode(line, &back), 0);
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        bool same = same_field(f, it, &back);
        if (!same)
            fprintf(stderr, "%s: field %s (journal %s) differs after the journal\n", what,
                    f->report.key ? f->report.key : "-", f->journal.key ? f->journal.key : "-");
        CHECK(same);
    }
    char *again = report_record_encode(&back);
    CHECK_STR(again, line);
    free(again);
    free(line);
    item_record_clear(&back);
}

/* The report: every field the table gives it is there, in its group. */
static json_t *report_json(const item_record *it)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    report_record_write(it, w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    json_t *o = json_loads(s, 0, NULL);
    free(s);
    CHECK(json_is_object(o));
    return o;
}

static void check_report_keys(const item_record *it)
{
    json_t *o = report_json(it);
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        if (!f->report.key)
            continue;
        const char *g = report_group_key(f->report.group, false);
        json_t *in = g ? json_object_get(o, g) : o;
        bool there = json_object_get(in, f->report.key) != NULL;
        if (!there)
            fprintf(stderr, "report: no %s%s%s\n", g ? g : "", g ? "." : "", f->report.key);
        CHECK(there);
    }
    CHECK_STR(json_string_value(json_object_get(o, "status")), "skipped");
    CHECK_STR(json_string_value(json_object_get(o, "previous_status")), "qc_failed");
    CHECK_STR(json_string_value(json_object_get(o, "verdict")), "warn");
    CHECK_STR(json_string_value(json_object_get(o, "kind")), "image");
    CHECK(json_is_null(json_object_get(o, "error_stage")));   /* not failed */
    CHECK(json_is_real(json_object_get(json_object_get(o, "seconds"), "generate")));
    json_decref(o);
}

/* What is left out or null when unknown, as the outputs always had it. */
static void check_absent_outputs(const item_record *it)
{
    json_t *o = report_json(it);
    CHECK_STR(json_string_value(json_object_get(o, "status")), "failed");
    CHECK_STR(json_string_value(json_object_get(o, "error_stage")), "discover");
    CHECK(json_is_null(json_object_get(o, "verdict")));
    CHECK(json_is_null(json_object_get(o, "previous_status")));
    CHECK(json_is_null(json_object_get(o, "width")));
    CHECK(json_is_null(json_object_get(o, "duration")));
    CHECK_INT(json_integer_value(json_object_get(o, "attempts")), 1);
    CHECK(json_is_null(json_object_get(json_object_get(o, "analysis"), "decode_errors")));
    CHECK(!json_object_get(o, "generation"));
    CHECK(!json_object_get(json_object_get(o, "seconds"), "generate"));
    CHECK_INT(json_object_size(json_object_get(o, "seconds")), 6);
    json_decref(o);
}

/* Journal lines as vbatch has always written them (the key order of the
 * positional json_pack this table replaced): written again as they are. */
static const char *const old_lines[] = {
    "{\"seq\":1,\"source\":null,\"kind\":0,\"folder\":null,\"video\":null,\"status\":2,"
    "\"verdict\":0,\"error_stage\":0,\"error\":null,\"failed\":[],\"warned\":[],"
    "\"container\":null,\"vcodec\":null,\"acodec\":null,\"image_format\":null,"
    "\"duration\":null,\"fps\":null,\"checks\":[],\"width\":0,\"height\":0,\"size\":0,"
    "\"bit_rate\":0,\"bytes_read\":0,\"analysed\":false,\"black\":null,\"black_share\":null,"
    "\"leading_black\":null,\"trailing_black\":null,\"freeze_max\":null,\"silence_max\":null,"
    "\"loudness\":null,\"lra\":null,\"true_peak\":null,\"decode_errors\":0,\"nthumbs\":0,"
    "\"contact\":null,\"t\":[0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0],\"attempts\":0}",
    "{\"seq\":7,\"source\":\"a\\u00E9.mp4\",\"kind\":1,\"folder\":\"a\",\"video\":\"a/video/a.mp4\","
    "\"status\":3,\"verdict\":1,\"error_stage\":4,\"error\":\"e\",\"failed\":[\"f1\"],"
    "\"warned\":[\"w1\",\"w2\"],\"container\":\"mp4\",\"vcodec\":\"h264\",\"acodec\":\"aac\","
    "\"image_format\":\"png\",\"duration\":2.5,\"fps\":25.0,\"checks\":[[\"min_width\","
    "\"1280 px\",\"1080 px\",2,0,\"ok\"],[\"loud\",\"x\",\"y\",1,1,\"warned\"]],\"width\":1280,"
    "\"height\":720,\"size\":1616832,\"bit_rate\":6467328,\"bytes_read\":99,\"analysed\":true,"
    "\"black\":0.25,\"black_share\":0.125,\"leading_black\":1.5,\"trailing_black\":0.75,"
    "\"freeze_max\":3.0,\"silence_max\":4.0,\"loudness\":-14.5,\"lra\":6.5,\"true_peak\":-1.25,"
    "\"decode_errors\":3,\"nthumbs\":5,\"contact\":\"a/contact.jpg\","
    "\"t\":[0.0,0.5,1.0,1.5,2.0,2.5,3.0,3.5,4.0],\"since\":\"batch_1\",\"prev\":1,"
    "\"analysis_from\":\"b\",\"sha256\":\"abc\",\"gen\":{\"id\":\"g1\",\"prompt\":\"p\","
    "\"provider\":\"kling\",\"task_id\":\"t1\",\"status\":\"succeed\",\"units\":1.5},"
    "\"attempts\":2}",
};

static void check_old_lines(void)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(old_lines); i++) {
        item_record it;
        CHECK_INT(report_record_decode(old_lines[i], &it), 0);
        char *s = report_record_encode(&it);
        CHECK_STR(s, old_lines[i]);
        free(s);
        item_record_clear(&it);
    }
    item_record it;
    fill_absent(&it);
    it.status = ITEM_FAILED;
    char *s = report_record_encode(&it);
    CHECK_STR(s, old_lines[0]);
    free(s);
    /* A line that is not JSON. */
    CHECK_INT(report_record_decode("{\"seq\":", &it), -1);
}

/* The decoder's fast path against jansson: the same result (or the same
 * refusal) for records as written and for odd ones it leaves to jansson. */
static void check_fast_path(const char *line, const char *what)
{
    item_record a, b;
    int ra = report_record_decode(line, &a), rb = report_record_decode_jansson(line, &b);
    if (ra != rb)
        fprintf(stderr, "fast path: %s: %d, jansson %d\n", what, ra, rb);
    CHECK_INT(ra, rb);
    if (ra == 0 && rb == 0) {
        char *sa = report_record_encode(&a), *sb = report_record_encode(&b);
        if (strcmp(sa, sb) != 0)
            fprintf(stderr, "fast path: %s:\n  %s\n  %s\n", what, sa, sb);
        CHECK_STR(sa, sb);
        CHECK_INT(a.checks.nfail, b.checks.nfail);
        CHECK_INT(a.checks.nwarn, b.checks.nwarn);
        free(sa);
        free(sb);
        item_record_clear(&a);
        item_record_clear(&b);
    }
}

/* The encoder's fast path against jansson's text. */
static void check_fast_encode(const item_record *it, const char *what)
{
    char *a = report_record_encode(it), *b = report_record_encode_jansson(it);
    if (strcmp(a, b) != 0)
        fprintf(stderr, "fast encode: %s:\n  %s\n  %s\n", what, a, b);
    CHECK_STR(a, b);
    free(a);
    free(b);
}

static void check_fast_encodes(void)
{
    item_record it;
    fill(&it);
    check_fast_encode(&it, "every field set");
    static const char *const names[] = {
        "plain", "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "bad \xff", "short \xc3", "over \xc0\xaf", "surrogate \xed\xa0\x80", "big \xf4\x90\x80\x80",
        "", "three \xe0\x80\xaf",
    };
    static const double nums[] = { 0.0, -0.0, 1.0, 1e20, 1e21, 1e-5, 1.5e-7, 123456789.125,
                                   5e-324, 1.7976931348623157e308, -2.5, 0.1, NAN, INFINITY };
    for (size_t i = 0; i < VB_ARRAY_LEN(names); i++) {
        free(it.source);
        it.source = vb_xstrdup(names[i]);
        vb_strlist_add(&it.failed_rules, names[i]);
        check_fast_encode(&it, names[i]);
    }
    for (size_t i = 0; i < VB_ARRAY_LEN(nums); i++) {
        it.duration = nums[i];
        it.stage_time[1] = nums[i];
        it.gen.units = nums[i];
        check_fast_encode(&it, "a number");
    }
    item_record_clear(&it);
    fill_absent(&it);
    check_fast_encode(&it, "every optional field absent");
    item_record_clear(&it);
}

static void check_fast_paths(void)
{
    check_fast_encodes();
    item_record full;
    fill(&full);
    char *line = report_record_encode(&full);
    check_fast_path(line, "every field set");
    free(line);
    item_record_clear(&full);
    for (size_t i = 0; i < VB_ARRAY_LEN(old_lines); i++)
        check_fast_path(old_lines[i], "an older line");
    static const char *const odd[] = {
        "{}", "[]", " { \"seq\" : 3 , \"source\" : \"a\\u00e9\\ud83d\\ude00\\n\\\"\" } ",
        "{\"source\":\"\\u0000\"}", "{\"source\":\"\\udc00\"}", "{\"source\":\"\\ud800x\"}",
        "{\"source\":\"caf\xc3\xa9\"}", "{\"source\":\"\xff\"}", "{\"source\":\"a\tb\"}",
        "{\"seq\":1,\"seq\":2}", "{\"seq\":1.5,\"width\":2e1,\"duration\":3,\"fps\":null}",
        "{\"duration\":\"x\",\"size\":-0,\"bit_rate\":99999999999999999999}",
        "{\"duration\":1e999}", "{\"fps\":1.5e-320}", "{\"unknown\":{\"a\":[1,{}]},\"seq\":4}",
        "{\"unknown\":[1,2],\"seq\":4}", "{\"failed\":[\"a\",1,null],\"warned\":\"x\"}",
        "{\"checks\":[[\"r\",\"v\",\"l\",2,1,\"m\"],[\"s\"],[]]}", "{\"checks\":[1]}",
        "{\"t\":[1,2.5,\"x\",null,1,1,1,1,1,1,1,1]}", "{\"gen\":{\"id\":\"g\",\"units\":2}}",
        "{\"gen\":{\"id\":\"g\"},\"gen\":{\"prompt\":\"p\"}}", "{\"gen\":3,\"id\":\"x\"}",
        "{\"analysed\":true,\"contact\":false}", "{\"seq\":1}x", "{\"seq\":01}", "{\"seq\":1.}",
        "{\"seq\":-}", "{\"seq\":1,}", "{,}", "{\"seq\" 1}", "{\"seq\":tru}", "",
        "{\"source\":\"\\x\"}", "{\"source\":\"\\u12\"}", "{\"since\":\"b\",\"prev\":2,\"status\":4}",
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(odd); i++)
        check_fast_path(odd[i], odd[i]);
}

int main(void)
{
    check_members();
    check_fast_paths();

    item_record full;
    fill(&full);
    check_round_trip(&full, "every field set");
    check_report_keys(&full);
    item_record_clear(&full);

    item_record absent;
    fill_absent(&absent);
    check_round_trip(&absent, "every optional field absent");
    check_absent_outputs(&absent);
    char *line = report_record_encode(&absent);
    json_t *o = json_loads(line, 0, NULL);
    const char *optional[] = { "since", "prev", "analysis_from", "sha256", "gen" };
    for (size_t i = 0; i < VB_ARRAY_LEN(optional); i++)
        CHECK(!json_object_get(o, optional[i]));
    CHECK(json_is_null(json_object_get(o, "duration")));
    CHECK(json_object_get(o, "attempts") != NULL);
    json_decref(o);
    free(line);
    item_record_clear(&absent);

    check_old_lines();
    return check_result("test-record");
}
