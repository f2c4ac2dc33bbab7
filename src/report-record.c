/* report-record.c - the item record: one field table drives the report
 * writer (batch_report.json, results.csv), the journal encoder and its
 * decoder, so that a field is added or moved in one place.
 *
 * The outputs differ, and the table says how: the report shows names
 * (status "done") where the journal keeps numbers, nulls what does not
 * apply where the journal leaves out what is not set (so older records
 * read the same), and orders and nests the keys its own way. Also here:
 * what else belongs to the record (clearing it, the names of its stages
 * and statuses, counting it, the item's figures copied into it). */
#include "config.h"
#include "report-record.h"
#include "analyse.h"
#include "item.h"
#include "jsonx.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const stage_names[STAGE_COUNT] = {
    "discover", "fetch", "probe", "check", "analyse", "thumbs", "publish", "record",
    "generate", "fix",
};

const char *report_stage_name(int stage)
{
    return (stage >= 0 && stage < STAGE_COUNT) ? stage_names[stage] : "unknown";
}

const char *report_status_name(int status)
{
    switch (status) {
    case ITEM_DONE:      return "done";
    case ITEM_QC_FAILED: return "qc_failed";
    case ITEM_FAILED:    return "failed";
    case ITEM_SKIPPED:   return "skipped";
    default:             return "unknown";
    }
}

void item_gen_clear(item_gen *g)
{
    free(g->id); free(g->prompt); free(g->provider); free(g->task_id); free(g->status);
    memset(g, 0, sizeof *g);
    g->units = NAN;
}

void item_record_clear(item_record *r)
{
    item_gen_clear(&r->gen);
    free(r->source); free(r->folder); free(r->video); free(r->error);
    free(r->container); free(r->video_codec); free(r->audio_codec);
    free(r->image_format); free(r->contact);
    free(r->unchanged_since); free(r->analysis_from); free(r->sha256);
    free(r->fix);
    vb_strlist_clear(&r->fix_actions);
    vb_strlist_clear(&r->failed_rules);
    vb_strlist_clear(&r->warned_rules);
    rules_report_free(&r->checks);
    memset(r, 0, sizeof *r);
}

/* ---- the field table ---- */

#define OFF(m) offsetof(item_record, m)
#define REP(k, g, w, f) .report = { k, g, w, f }
#define JRN(k, p, g, w) .journal = { k, g, w, 0 }, .jpos = p
#define NOREP .report = { NULL, RG_TOP, RW_ALWAYS, 0 }
#define NOJRN .journal = { NULL, RG_TOP, RW_ALWAYS, 0 }, .jpos = -1
#define A RW_ALWAYS
#define N RFL_NULL

const report_field report_fields[] = {
    { RF_I64, OFF(seq), REP("seq", RG_TOP, A, 0), JRN("seq", 0, RG_TOP, A) },
    { RF_STR, OFF(source), REP("source", RG_TOP, A, 0), JRN("source", 1, RG_TOP, A) },
    { RF_KIND, OFF(kind), REP("kind", RG_TOP, A, 0), JRN("kind", 2, RG_TOP, A) },
    { RF_STR, OFF(folder), REP("folder", RG_TOP, A, 0), JRN("folder", 3, RG_TOP, A) },
    { RF_STR, OFF(video), REP("video", RG_TOP, A, 0), JRN("video", 4, RG_TOP, A) },
    { RF_STATUS, OFF(status), REP("status", RG_TOP, A, 0), JRN("status", 5, RG_TOP, A) },
    { RF_VERDICT, OFF(verdict), REP("verdict", RG_TOP, RW_VERDICT, N),
      JRN("verdict", 6, RG_TOP, A) },
    { RF_STATUS, OFF(previous_status), REP("previous_status", RG_TOP, RW_SKIPPED, N),
      JRN("prev", 38, RG_TOP, RW_SINCE) },
    { RF_STR, OFF(unchanged_since), REP("unchanged_since", RG_TOP, A, 0),
      JRN("since", 37, RG_TOP, RW_SET) },
    { RF_LIST, OFF(failed_rules), REP("failed_rules", RG_TOP, A, 0),
      JRN("failed", 9, RG_TOP, A) },
    { RF_LIST, OFF(warned_rules), REP("warned_rules", RG_TOP, A, 0),
      JRN("warned", 10, RG_TOP, A) },
    { RF_STAGE, OFF(error_stage), REP("error_stage", RG_TOP, RW_FAILED, N),
      JRN("error_stage", 7, RG_TOP, A) },
    { RF_STR, OFF(error), REP("error", RG_TOP, A, 0), JRN("error", 8, RG_TOP, A) },
    { RF_INT, OFF(attempts), REP("attempts", RG_TOP, A, RFL_MIN1),
      JRN("attempts", 47, RG_TOP, A) },
    { RF_STR, OFF(container), REP("container", RG_TOP, A, 0),
      JRN("container", 11, RG_TOP, A) },
    { RF_STR, OFF(video_codec), REP("video_codec", RG_TOP, A, 0),
      JRN("vcodec", 12, RG_TOP, A) },
    { RF_STR, OFF(audio_codec), REP("audio_codec", RG_TOP, A, 0),
      JRN("acodec", 13, RG_TOP, A) },
    { RF_STR, OFF(image_format), REP("image_format", RG_TOP, A, 0),
      JRN("image_format", 14, RG_TOP, A) },
    { RF_DOUBLE, OFF(duration), REP("duration", RG_TOP, RW_POSITIVE, N),
      JRN("duration", 15, RG_TOP, A) },
    { RF_INT, OFF(width), REP("width", RG_TOP, RW_POSITIVE, N), JRN("width", 18, RG_TOP, A) },
    { RF_INT, OFF(height), REP("height", RG_TOP, RW_POSITIVE, N),
      JRN("height", 19, RG_TOP, A) },
    { RF_DOUBLE, OFF(fps), REP("fps", RG_TOP, RW_POSITIVE, N), JRN("fps", 16, RG_TOP, A) },
    { RF_I64, OFF(size), REP("size", RG_TOP, RW_POSITIVE, N), JRN("size", 20, RG_TOP, A) },
    { RF_I64, OFF(bit_rate), REP("bit_rate", RG_TOP, RW_POSITIVE, N),
      JRN("bit_rate", 21, RG_TOP, A) },
    { RF_STR, OFF(sha256), REP("sha256", RG_TOP, A, 0), JRN("sha256", 40, RG_TOP, RW_SET) },
    { RF_BOOL, OFF(analysed), REP("done", RG_ANALYSIS, A, 0),
      JRN("analysed", 23, RG_TOP, A) },
    { RF_STR, OFF(analysis_from), REP("reused_from", RG_ANALYSIS, A, 0),
      JRN("analysis_from", 39, RG_TOP, RW_SET) },
    { RF_DOUBLE, OFF(black_total), REP("black_seconds", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("black", 24, RG_TOP, A) },
    { RF_DOUBLE, OFF(black_share), REP("black_share", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("black_share", 25, RG_TOP, A) },
    { RF_DOUBLE, OFF(leading_black), REP("leading_black", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("leading_black", 26, RG_TOP, A) },
    { RF_DOUBLE, OFF(trailing_black), REP("trailing_black", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("trailing_black", 27, RG_TOP, A) },
    { RF_DOUBLE, OFF(freeze_max), REP("freeze_max", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("freeze_max", 28, RG_TOP, A) },
    { RF_DOUBLE, OFF(silence_max), REP("silence_max", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("silence_max", 29, RG_TOP, A) },
    { RF_DOUBLE, OFF(loudness), REP("loudness_lufs", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("loudness", 30, RG_TOP, A) },
    { RF_DOUBLE, OFF(loudness_range), REP("loudness_range", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("lra", 31, RG_TOP, A) },
    { RF_DOUBLE, OFF(true_peak), REP("true_peak_dbtp", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("true_peak", 32, RG_TOP, A) },
    { RF_I64, OFF(decode_errors), REP("decode_errors", RG_ANALYSIS, RW_ANALYSED, N),
      JRN("decode_errors", 33, RG_TOP, A) },
    { RF_INT, OFF(nthumbs), REP("thumbnails", RG_TOP, A, 0), JRN("nthumbs", 34, RG_TOP, A) },
    { RF_STR, OFF(contact), REP("contact_sheet", RG_TOP, A, 0),
      JRN("contact", 35, RG_TOP, A) },
    /* The report shows the item's stages one by one (not discover and
     * record, batch-level), the journal keeps them all as one array. */
    { RF_DOUBLE, OFF(stage_time[STAGE_FETCH]), REP("fetch", RG_SECONDS, A, RFL_MICRO), NOJRN },
    { RF_DOUBLE, OFF(stage_time[STAGE_PROBE]), REP("probe", RG_SECONDS, A, RFL_MICRO), NOJRN },
    { RF_DOUBLE, OFF(stage_time[STAGE_CHECK]), REP("check", RG_SECONDS, A, RFL_MICRO), NOJRN },
    { RF_DOUBLE, OFF(stage_time[STAGE_ANALYSE]), REP("analyse", RG_SECONDS, A, RFL_MICRO),
      NOJRN },
    { RF_DOUBLE, OFF(stage_time[STAGE_THUMBS]), REP("thumbs", RG_SECONDS, A, RFL_MICRO),
      NOJRN },
    { RF_DOUBLE, OFF(stage_time[STAGE_PUBLISH]), REP("publish", RG_SECONDS, A, RFL_MICRO),
      NOJRN },
    { RF_DOUBLE, OFF(stage_time[STAGE_GENERATE]), REP("generate", RG_SECONDS, RW_GEN, RFL_MICRO),
      NOJRN },
    { RF_DOUBLE, OFF(stage_time[STAGE_FIX]), REP("fix", RG_SECONDS, RW_FIXED, RFL_MICRO), NOJRN },
    /* A generate batch: every item has them, so the CSV header does. */
    { RF_STR, OFF(gen.id), REP("id", RG_GEN, RW_GEN, 0), JRN("id", 41, RG_GEN, RW_GEN) },
    { RF_STR, OFF(gen.prompt), REP("prompt", RG_GEN, RW_GEN, 0),
      JRN("prompt", 42, RG_GEN, RW_GEN) },
    { RF_STR, OFF(gen.provider), REP("provider", RG_GEN, RW_GEN, 0),
      JRN("provider", 43, RG_GEN, RW_GEN) },
    { RF_STR, OFF(gen.task_id), REP("task_id", RG_GEN, RW_GEN, 0),
      JRN("task_id", 44, RG_GEN, RW_GEN) },
    { RF_STR, OFF(gen.status), REP("status", RG_GEN, RW_GEN, 0),
      JRN("status", 45, RG_GEN, RW_GEN) },
    { RF_DOUBLE, OFF(gen.units), REP("units", RG_GEN, RW_GEN, 0),
      JRN("units", 46, RG_GEN, RW_GEN) },
    /* --fix: what was done (the actions), or why not. */
    { RF_STR, OFF(fix), REP("fix", RG_TOP, A, 0), JRN("fix", 48, RG_TOP, RW_SET) },
    { RF_LIST, OFF(fix_actions), REP("fix_actions", RG_TOP, A, 0),
      JRN("fix_actions", 49, RG_TOP, RW_FIXED) },
    /* Journal only: what the counts need and the checks made. */
    { RF_I64, OFF(bytes_read), NOREP, JRN("bytes_read", 22, RG_TOP, A) },
    { RF_CHECKS, OFF(checks), NOREP, JRN("checks", 17, RG_TOP, A) },
    { RF_TIMES, OFF(stage_time), NOREP, JRN("t", 36, RG_TOP, A) },
};
const size_t report_nfields = VB_ARRAY_LEN(report_fields);

#undef A
#undef N

/* The journal's keys, counted once: the places jpos may take. */
#define JOURNAL_KEYS 50

const char *report_group_key(int g, bool journal)
{
    static const char *const rep[RG_COUNT] = { NULL, "analysis", "seconds", "generation" };
    static const char *const jrn[RG_COUNT] = { NULL, NULL, NULL, "gen" };
    return g > RG_TOP && g < RG_COUNT ? (journal ? jrn : rep)[g] : NULL;
}

#define FIELD(it, f, T) (*(T *)((char *)(it) + (f)->off))
#define CFIELD(it, f, T) (*(T const *)((const char *)(it) + (f)->off))

/* A number field's value, for RW_POSITIVE. */
static double field_number(const report_field *f, const item_record *it)
{
    switch (f->type) {
    case RF_I64:    return (double)CFIELD(it, f, int64_t);
    case RF_DOUBLE: return CFIELD(it, f, double);
    default:        return CFIELD(it, f, int);
    }
}

static bool field_when(const report_field *f, int when, const item_record *it)
{
    switch (when) {
    case RW_SET:      return CFIELD(it, f, char *) != NULL;
    case RW_POSITIVE: return field_number(f, it) > 0;
    case RW_SINCE:    return it->unchanged_since != NULL;
    case RW_GEN:      return it->gen.id != NULL;
    case RW_VERDICT:  return it->status != ITEM_FAILED && it->status != ITEM_UNKNOWN;
    case RW_SKIPPED:  return it->status == ITEM_SKIPPED;
    case RW_FAILED:   return it->status == ITEM_FAILED;
    case RW_ANALYSED: return it->analysed;
    case RW_FIXED:    return it->fix != NULL;
    default:          return true;
    }
}

/* ---- the report ---- */

static void write_field(const report_field *f, const item_record *it, writer *w)
{
    const char *k = f->report.key;
    if (!field_when(f, f->report.when, it)) {
        if (f->report.flags & RFL_NULL)
            writer_null(w, k);
        return;
    }
    switch (f->type) {
    case RF_I64:
    case RF_INT: {
        int64_t v = f->type == RF_I64 ? CFIELD(it, f, int64_t) : CFIELD(it, f, int);
        writer_int(w, k, (f->report.flags & RFL_MIN1) && v < 1 ? 1 : v);
        break;
    }
    case RF_BOOL:    writer_bool(w, k, CFIELD(it, f, bool)); break;
    case RF_DOUBLE: {
        double v = CFIELD(it, f, double), scale = (f->report.flags & RFL_MICRO) ? 1e6 : 1e4;
        if (isfinite(v))
            writer_double(w, k, round(v * scale) / scale);
        else
            writer_null(w, k);
        break;
    }
    case RF_STR:     writer_string(w, k, CFIELD(it, f, char *)); break;
    case RF_LIST: {
        const vb_strlist *l = &CFIELD(it, f, vb_strlist);
        writer_begin_array(w, k);
        for (size_t i = 0; i < l->n; i++)
            writer_string(w, NULL, l->v[i]);
        writer_end_array(w);
        break;
    }
    case RF_STATUS:  writer_string(w, k, report_status_name(CFIELD(it, f, int))); break;
    case RF_VERDICT: writer_string(w, k, rules_verdict_name(CFIELD(it, f, int))); break;
    case RF_STAGE:   writer_string(w, k, report_stage_name(CFIELD(it, f, int))); break;
    case RF_KIND:
        writer_string(w, k, CFIELD(it, f, int) == ITEM_IMAGE ? "image" : "video");
        break;
    default:         break;
    }
}

void report_record_write(const item_record *it, writer *w)
{
    int open = RG_TOP;
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        if (!f->report.key || (!(f->report.flags & RFL_NULL) &&
                               !field_when(f, f->report.when, it)))
            continue;
        /* A group is opened by its first field written. */
        if (f->report.group != open) {
            if (open != RG_TOP)
                writer_end_object(w);
            open = f->report.group;
            if (open != RG_TOP)
                writer_begin_object(w, report_group_key(open, false));
        }
        write_field(f, it, w);
    }
    if (open != RG_TOP)
        writer_end_object(w);
}

/* ---- the journal line ---- */

static json_t *jlist(const vb_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, jsonx_str(l->v[i]));
    return a;
}

static json_t *jchecks(const rule_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const rule_result *c = &r->r[i];
        /* 'o' hands our references to the array. */
        json_array_append_new(a, json_pack("[o o o i i o]", jsonx_str(c->rule),
                                           jsonx_str(c->value), jsonx_str(c->limit),
                                           c->level, c->verdict, jsonx_str(c->message)));
    }
    return a;
}

/* NaN is not JSON: null stands for "not measured". */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *encode_field(const report_field *f, const item_record *it)
{
    switch (f->type) {
    case RF_I64:    return json_integer(CFIELD(it, f, int64_t));
    case RF_BOOL:   return json_boolean(CFIELD(it, f, bool));
    case RF_DOUBLE: return jnum(CFIELD(it, f, double));
    case RF_STR:    return jsonx_str(CFIELD(it, f, char *));
    case RF_LIST:   return jlist(&CFIELD(it, f, vb_strlist));
    case RF_CHECKS: return jchecks(&CFIELD(it, f, rule_report));
    case RF_TIMES: {
        json_t *t = json_array();
        const double *v = &CFIELD(it, f, double);
        /* Stages after generate only when they ran: the lines of items
         * that were not fixed stay those older vbatch wrote. */
        int n = STAGE_COUNT;
        while (n > STAGE_GENERATE + 1 && v[n - 1] == 0)
            n--;
        for (int s = 0; s < n; s++)
            json_array_append_new(t, json_real(v[s]));
        return t;
    }
    default:        return json_integer(CFIELD(it, f, int));
    }
}

/* ---- the encoder's fast path ----
 *
 * The same text jansson's json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII)
 * gives for the tree below (test-record compares both), written straight
 * from the item: a rerun journals every skipped item once more. A string
 * that is not UTF-8 (jsonx_str mends it) leaves the record to jansson. */

typedef struct {
    char *s;
    size_t n, cap;
} fastw;

static void fw_grow(fastw *w, size_t more)
{
    if (w->n + more + 1 <= w->cap)
        return;
    while (w->n + more + 1 > w->cap)
        w->cap = w->cap ? w->cap * 2 : 2048;
    w->s = vb_xrealloc(w->s, w->cap);
}

static void fw_put(fastw *w, const char *t, size_t n)
{
    fw_grow(w, n);
    memcpy(w->s + w->n, t, n);
    w->n += n;
}

static void fw_char(fastw *w, char c)
{
    fw_grow(w, 1);
    w->s[w->n++] = c;
}

/* 0, or -1: not UTF-8 (or a NUL jansson would see), left to jansson. */
static int fw_str(fastw *w, const char *str)
{
    if (!str) {
        fw_put(w, "null", 4);
        return 0;
    }
    const unsigned char *p = (const unsigned char *)str;
    fw_char(w, '"');
    while (*p) {
        unsigned c = *p, cp;
        int len;
        if (c < 0x80) {
            const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                              : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                              : c == '\t' ? "\\t" : NULL;
            if (esc) {
                fw_put(w, esc, 2);
            } else if (c < 0x20) {
                char u[8];
                snprintf(u, sizeof u, "\\u%04X", c);
                fw_put(w, u, 6);
            } else {
                fw_char(w, (char)c);
            }
            p++;
            continue;
        }
        /* As jansson's utf8_check_first/utf8_check_full judge it. */
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return -1;
        }
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return -1;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return -1;
        char u[16];
        if (cp < 0x10000) {
            snprintf(u, sizeof u, "\\u%04X", cp);
            fw_put(w, u, 6);
        } else {
            cp -= 0x10000;
            snprintf(u, sizeof u, "\\u%04X\\u%04X", 0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
            fw_put(w, u, 12);
        }
        p += len;
    }
    fw_char(w, '"');
    return 0;
}

static void fw_int(fastw *w, long long v)
{
    char b[32];
    fw_put(w, b, (size_t)snprintf(b, sizeof b, "%lld", v));
}

/* jansson's text at its default precision (17 digits). */
static void fw_real(fastw *w, double v)
{
    if (!isfinite(v)) {
        fw_put(w, "null", 4);
        return;
    }
    char b[JSONX_REAL_MAX];
    fw_put(w, b, (size_t)jsonx_real_text(b, v, 17));
}

static int fw_value(fastw *w, const report_field *f, const item_record *it)
{
    switch (f->type) {
    case RF_I64:    fw_int(w, CFIELD(it, f, int64_t)); return 0;
    case RF_BOOL:   CFIELD(it, f, bool) ? fw_put(w, "true", 4) : fw_put(w, "false", 5); return 0;
    case RF_DOUBLE: fw_real(w, CFIELD(it, f, double)); return 0;
    case RF_STR:    return fw_str(w, CFIELD(it, f, char *));
    case RF_LIST: {
        const vb_strlist *l = &CFIELD(it, f, vb_strlist);
        fw_char(w, '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i)
                fw_char(w, ',');
            if (fw_str(w, l->v[i]) != 0)
                return -1;
        }
        fw_char(w, ']');
        return 0;
    }
    case RF_CHECKS: {
        const rule_report *r = &CFIELD(it, f, rule_report);
        fw_char(w, '[');
        for (size_t i = 0; i < r->n; i++) {
            const rule_result *c = &r->r[i];
            fw_put(w, i ? ",[" : "[", i ? 2 : 1);
            if (fw_str(w, c->rule) != 0)
                return -1;
            fw_char(w, ',');
            if (fw_str(w, c->value) != 0)
                return -1;
            fw_char(w, ',');
            if (fw_str(w, c->limit) != 0)
                return -1;
            fw_char(w, ',');
            fw_int(w, c->level);
            fw_char(w, ',');
            fw_int(w, c->verdict);
            fw_char(w, ',');
            if (fw_str(w, c->message) != 0)
                return -1;
            fw_char(w, ']');
        }
        fw_char(w, ']');
        return 0;
    }
    case RF_TIMES: {
        const double *v = &CFIELD(it, f, double);
        int n = STAGE_COUNT;     /* as encode_field */
        while (n > STAGE_GENERATE + 1 && v[n - 1] == 0)
            n--;
        fw_char(w, '[');
        for (int s = 0; s < n; s++) {
            if (s)
                fw_char(w, ',');
            /* json_real of NaN is NULL, which jansson's array leaves
             * out: its path, then. */
            if (!isfinite(v[s]))
                return -1;
            fw_real(w, v[s]);
        }
        fw_char(w, ']');
        return 0;
    }
    default:        fw_int(w, CFIELD(it, f, int)); return 0;
    }
}

static char *record_encode_fast(const report_field *const *at, const item_record *it)
{
    fastw w = {0};
    int open = RG_TOP;
    bool any = false, closed[RG_COUNT] = {0}, gany = false;
    fw_char(&w, '{');
    for (int p = 0; p < JOURNAL_KEYS; p++) {
        const report_field *f = at[p];
        if (!f || !field_when(f, f->journal.when, it))
            continue;
        if (f->journal.group != open) {
            if (open != RG_TOP) {
                fw_char(&w, '}');
                closed[open] = true;
            }
            open = f->journal.group;
            if (open != RG_TOP) {
                if (closed[open])
                    goto slow;  /* a group in two runs: jansson merges them */
                if (any)
                    fw_char(&w, ',');
                any = true;
                if (fw_str(&w, report_group_key(open, true)) != 0)
                    goto slow;
                fw_put(&w, ":{", 2);
                gany = false;
            }
        }
        bool *first = open == RG_TOP ? &any : &gany;
        if (*first)
            fw_char(&w, ',');
        *first = true;
        if (fw_str(&w, f->journal.key) != 0)
            goto slow;
        fw_char(&w, ':');
        if (fw_value(&w, f, it) != 0)
            goto slow;
    }
    if (open != RG_TOP)
        fw_char(&w, '}');
    fw_char(&w, '}');
    w.s[w.n] = '\0';
    return w.s;
slow:
    free(w.s);
    return NULL;
}

char *report_record_encode(const item_record *it)
{
    /* The journal's order, from each field's place. */
    const report_field *at[JOURNAL_KEYS] = {0};
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        if (!f->journal.key)
            continue;
        if (f->jpos < 0 || f->jpos >= JOURNAL_KEYS || at[f->jpos])
            abort();        /* the table is wrong: caught by test-record */
        at[f->jpos] = f;
    }
    char *fast = record_encode_fast(at, it);
    return fast ? fast : report_record_encode_jansson(it);
}

char *report_record_encode_jansson(const item_record *it)
{
    /* The journal's order, from each field's place. */
    const report_field *at[JOURNAL_KEYS] = {0};
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        if (!f->journal.key)
            continue;
        if (f->jpos < 0 || f->jpos >= JOURNAL_KEYS || at[f->jpos])
            abort();        /* the table is wrong: caught by test-record */
        at[f->jpos] = f;
    }
    json_t *o = json_object(), *group = NULL;
    int open = RG_TOP;
    for (int p = 0; p < JOURNAL_KEYS; p++) {
        const report_field *f = at[p];
        if (!f || !field_when(f, f->journal.when, it))
            continue;
        if (f->journal.group != open) {
            open = f->journal.group;
            group = NULL;
            const char *gk = report_group_key(open, true);
            if (open != RG_TOP && !(group = json_object_get(o, gk))) {
                group = json_object();
                json_object_set_new(o, gk, group);
            }
        }
        json_t *v = encode_field(f, it);
        if (!v || json_object_set_new(group ? group : o, f->journal.key, v) != 0)
            abort();
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

static const char *jarr_str(json_t *a, size_t i)
{
    const char *s = json_string_value(json_array_get(a, i));
    return s ? s : "";
}

static void decode_field(const report_field *f, json_t *o, item_record *it)
{
    const char *k = f->journal.key;
    json_t *v = json_object_get(o, k);
    size_t i;
    json_t *x;
    switch (f->type) {
    case RF_I64:    FIELD(it, f, int64_t) = jsonx_int(o, k); break;
    case RF_BOOL:   FIELD(it, f, bool) = json_is_true(v); break;
    case RF_DOUBLE: FIELD(it, f, double) = jsonx_num(o, k); break;
    case RF_STR:    FIELD(it, f, char *) = jsonx_dup(o, k); break;
    case RF_LIST:
        json_array_foreach(v, i, x)
            vb_strlist_add(&FIELD(it, f, vb_strlist),
                           json_string_value(x) ? json_string_value(x) : "");
        break;
    case RF_CHECKS:
        json_array_foreach(v, i, x) {
            int level = (int)json_integer_value(json_array_get(x, 3));
            int verdict = (int)json_integer_value(json_array_get(x, 4));
            /* Re-add at the level recorded; rules_add derives the verdict
             * from ok and level, so pass ok = (verdict == pass). */
            rules_add(&FIELD(it, f, rule_report), jarr_str(x, 0), level,
                      verdict == VERDICT_PASS, jarr_str(x, 1), jarr_str(x, 2), "%s",
                      jarr_str(x, 5));
        }
        break;
    case RF_TIMES:
        json_array_foreach(v, i, x)
            if (i < STAGE_COUNT)
                (&FIELD(it, f, double))[i] = json_number_value(x);
        break;
    default:        FIELD(it, f, int) = (int)jsonx_int(o, k); break;
    }
}

/* ---- the decoder's fast path ----
 *
 * A rerun of 10,000 unchanged files reads every record up to three times
 * (the skip, the counts, the reports), and jansson's tree of objects
 * took half the run. Records as the encoder writes them (compact,
 * ASCII-only, each key once) are read here in one pass straight into the
 * item; anything else (an escape jansson would refuse, a byte above
 * 0x7f, a repeated key, an odd shape) returns 1 and the record is read by
 * jansson below, so a record decodes the same either way. */

typedef struct {
    const char *p;
    char *buf, *end;            /* decoded strings, one after another */
} fastp;

enum { FV_NULL, FV_TRUE, FV_FALSE, FV_INT, FV_REAL, FV_STR, FV_ARR, FV_OBJ };

typedef struct {
    int t;
    int64_t i;
    double d;
    const char *s;              /* FV_STR: in the decode buffer */
} fastv;

static void fast_ws(fastp *x)
{
    while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')
        x->p++;
}

static int fast_hex4(const char *p, unsigned *u)
{
    *u = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *u = *u * 16 + (unsigned)d;
    }
    return 0;
}

/* At '"': the string decoded into the buffer (never longer than its
 * source, so the buffer the size of the line holds them all). */
static int fast_string(fastp *x, const char **out)
{
    char *o = x->buf, *start = o;
    const char *p = x->p + 1;
    for (;;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20 || c >= 0x80)
            return 1;
        if (c != '\\') {
            *o++ = (char)c;
            p++;
            continue;
        }
        p++;
        switch (*p) {
        case '"': case '\\': case '/': *o++ = *p; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (fast_hex4(p + 1, &u) != 0 || u == 0 || (u >= 0xdc00 && u <= 0xdfff))
                return 1;
            p += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                if (p[1] != '\\' || p[2] != 'u' || fast_hex4(p + 3, &lo) != 0 ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return 1;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            /* Six source bytes (twelve for a pair) give at most four. */
            if (u < 0x80) {
                *o++ = (char)u;
            } else if (u < 0x800) {
                *o++ = (char)(0xc0 | u >> 6);
                *o++ = (char)(0x80 | (u & 0x3f));
            } else if (u < 0x10000) {
                *o++ = (char)(0xe0 | u >> 12);
                *o++ = (char)(0x80 | (u >> 6 & 0x3f));
                *o++ = (char)(0x80 | (u & 0x3f));
            } else {
                *o++ = (char)(0xf0 | u >> 18);
                *o++ = (char)(0x80 | (u >> 12 & 0x3f));
                *o++ = (char)(0x80 | (u >> 6 & 0x3f));
                *o++ = (char)(0x80 | (u & 0x3f));
            }
            break;
        }
        default: return 1;
        }
        p++;
    }
    *o++ = '\0';
    if (o > x->end)
        abort();                /* cannot be: decoded text is shorter */
    x->buf = o;
    x->p = p + 1;
    *out = start;
    return 0;
}

/* A number as JSON spells it; integers as jansson keeps them. */
static int fast_number(fastp *x, fastv *v)
{
    const char *p = x->p, *s = p;
    bool real = false;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return 1;
    if (*p == '.') {
        real = true;
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return 1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        real = true;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    char *end;
    errno = 0;
    if (real) {
        v->t = FV_REAL;
        v->d = strtod(s, &end);
        if (!isfinite(v->d))
            return 1;
    } else {
        v->t = FV_INT;
        v->i = strtoll(s, &end, 10);
        if (errno == ERANGE)
            return 1;
    }
    if (end != p)
        return 1;
    x->p = p;
    return 0;
}

/* One value: scalars read, arrays and objects only seen (x->p on them). */
static int fast_value(fastp *x, fastv *v)
{
    fast_ws(x);
    switch (*x->p) {
    case '"': v->t = FV_STR; return fast_string(x, &v->s);
    case '[': v->t = FV_ARR; return 0;
    case '{': v->t = FV_OBJ; return 0;
    case 'n': v->t = FV_NULL; if (strncmp(x->p, "null", 4)) return 1; x->p += 4; return 0;
    case 't': v->t = FV_TRUE; if (strncmp(x->p, "true", 4)) return 1; x->p += 4; return 0;
    case 'f': v->t = FV_FALSE; if (strncmp(x->p, "false", 5)) return 1; x->p += 5; return 0;
    default: return fast_number(x, v);
    }
}

/* After an element: ',' (1 more follows), or the closing c (0). */
static int fast_next(fastp *x, char c, int *more)
{
    fast_ws(x);
    if (*x->p == ',') {
        x->p++;
        *more = 1;
        return 0;
    }
    if (*x->p == c) {
        x->p++;
        *more = 0;
        return 0;
    }
    return 1;
}

/* At '[': an array of scalars, each handed to fn with its place. */
static int fast_scalars(fastp *x, int (*fn)(void *ud, size_t i, const fastv *v), void *ud)
{
    x->p++;
    fast_ws(x);
    if (*x->p == ']') {
        x->p++;
        return 0;
    }
    for (size_t i = 0;; i++) {
        fastv v;
        int more;
        if (fast_value(x, &v) != 0 || v.t == FV_ARR || v.t == FV_OBJ || fn(ud, i, &v) != 0 ||
            fast_next(x, ']', &more) != 0)
            return 1;
        if (!more)
            return 0;
    }
}

static int64_t fast_int(const fastv *v)
{
    return v->t == FV_INT ? v->i : 0;   /* json_integer_value */
}

static int fast_list_one(void *ud, size_t i, const fastv *v)
{
    (void)i;
    vb_strlist_add(ud, v->t == FV_STR ? v->s : "");
    return 0;
}

static int fast_time_one(void *ud, size_t i, const fastv *v)
{
    if (i < STAGE_COUNT)
        ((double *)ud)[i] = v->t == FV_INT ? (double)v->i : v->t == FV_REAL ? v->d : 0;
    return 0;
}

typedef struct {
    const char *str[6];
    int64_t num[6];
} fast_check;

static int fast_check_one(void *ud, size_t i, const fastv *v)
{
    fast_check *c = ud;
    if (i < 6) {
        c->str[i] = v->t == FV_STR ? v->s : "";
        c->num[i] = fast_int(v);
    }
    return 0;
}

static int fast_checks(fastp *x, rule_report *rep)
{
    x->p++;
    fast_ws(x);
    if (*x->p == ']') {
        x->p++;
        return 0;
    }
    for (;;) {
        fast_check c = { { "", "", "", "", "", "" }, { 0 } };
        int more;
        fast_ws(x);
        if (*x->p != '[' || fast_scalars(x, fast_check_one, &c) != 0)
            return 1;
        rules_add(rep, c.str[0], (int)c.num[3], (int)c.num[4] == VERDICT_PASS, c.str[1],
                  c.str[2], "%s", c.str[5]);
        if (fast_next(x, ']', &more) != 0)
            return 1;
        if (!more)
            return 0;
    }
}

static int fast_object(fastp *x, int group, const report_field *const *at, bool *seen,
                       item_record *it);

/* One member's value into its field. */
static int fast_field(fastp *x, const report_field *f, item_record *it)
{
    fastv v;
    if (fast_value(x, &v) != 0)
        return 1;
    switch (f->type) {
    case RF_LIST:
        return v.t == FV_ARR ? fast_scalars(x, fast_list_one, &FIELD(it, f, vb_strlist))
               : v.t == FV_OBJ ? 1 : 0;
    case RF_CHECKS:
        return v.t == FV_ARR ? fast_checks(x, &FIELD(it, f, rule_report))
               : v.t == FV_OBJ ? 1 : 0;
    case RF_TIMES:
        return v.t == FV_ARR ? fast_scalars(x, fast_time_one, &FIELD(it, f, double))
               : v.t == FV_OBJ ? 1 : 0;
    default:
        break;
    }
    if (v.t == FV_ARR || v.t == FV_OBJ)
        return 1;               /* a shape the encoder never writes */
    switch (f->type) {
    case RF_I64:    FIELD(it, f, int64_t) = fast_int(&v); break;
    case RF_BOOL:   FIELD(it, f, bool) = v.t == FV_TRUE; break;
    case RF_DOUBLE:
        FIELD(it, f, double) = v.t == FV_INT ? (double)v.i : v.t == FV_REAL ? v.d : NAN;
        break;
    case RF_STR:    FIELD(it, f, char *) = v.t == FV_STR ? vb_xstrdup(v.s) : NULL; break;
    default:        FIELD(it, f, int) = (int)fast_int(&v); break;
    }
    return 0;
}

/* At '{': the members of one group. Keys come in the journal's order,
 * so the search for each starts after the last one found. */
static int fast_object(fastp *x, int group, const report_field *const *at, bool *seen,
                       item_record *it)
{
    x->p++;
    fast_ws(x);
    if (*x->p == '}') {
        x->p++;
        return 0;
    }
    int from = 0;
    const char *gen = report_group_key(RG_GEN, true);
    for (;;) {
        const char *k;
        int more;
        fast_ws(x);
        if (*x->p != '"' || fast_string(x, &k) != 0)
            return 1;
        fast_ws(x);
        if (*x->p++ != ':')
            return 1;
        fast_ws(x);
        const report_field *f = NULL;
        int pos = -1;
        for (int n = 0; n < JOURNAL_KEYS && !f; n++) {
            int p = (from + n) % JOURNAL_KEYS;
            if (at[p] && at[p]->journal.group == group && strcmp(at[p]->journal.key, k) == 0) {
                f = at[p];
                pos = p;
            }
        }
        if (f) {
            if (seen[pos])
                return 1;       /* jansson keeps the last: leave it to jansson */
            seen[pos] = true;
            from = pos + 1;
            if (fast_field(x, f, it) != 0)
                return 1;
        } else if (group == RG_TOP && strcmp(k, gen) == 0 && *x->p == '{') {
            if (seen[JOURNAL_KEYS])
                return 1;
            seen[JOURNAL_KEYS] = true;
            if (fast_object(x, RG_GEN, at, seen, it) != 0)
                return 1;
        } else {
            fastv v;            /* a key this vbatch does not know */
            if (fast_value(x, &v) != 0 || v.t == FV_ARR || v.t == FV_OBJ)
                return 1;
        }
        if (fast_next(x, '}', &more) != 0)
            return 1;
        if (!more)
            return 0;
    }
}

/* 0 decoded, 1 left to jansson (it is cleared then). */
static int record_decode_fast(const char *line, item_record *it)
{
    const report_field *at[JOURNAL_KEYS] = {0};
    bool seen[JOURNAL_KEYS + 1] = {0};
    memset(it, 0, sizeof *it);
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        if (!f->journal.key || f->jpos < 0 || f->jpos >= JOURNAL_KEYS)
            continue;
        at[f->jpos] = f;
        if (f->type == RF_DOUBLE)
            FIELD(it, f, double) = NAN;         /* a missing member */
    }
    size_t n = strlen(line) + 1;
    char stackbuf[4096], *heap = n > sizeof stackbuf ? vb_xmalloc(n) : NULL;
    fastp x = { .p = line, .buf = heap ? heap : stackbuf };
    x.end = x.buf + n;
    fast_ws(&x);
    int rc = *x.p == '{' ? fast_object(&x, RG_TOP, at, seen, it) : 1;
    if (rc == 0) {
        fast_ws(&x);
        rc = *x.p ? 1 : 0;
    }
    free(heap);
    if (rc != 0)
        item_record_clear(it);
    return rc;
}

int report_record_decode(const char *line, item_record *it)
{
    if (record_decode_fast(line, it) == 0)
        return 0;
    return report_record_decode_jansson(line, it);
}

int report_record_decode_jansson(const char *line, item_record *it)
{
    json_t *o = json_loads(line, 0, NULL);
    if (!o)
        return -1;
    memset(it, 0, sizeof *it);
    /* A missing member reads as its default: 0, NULL, NaN. */
    for (size_t i = 0; i < report_nfields; i++) {
        const report_field *f = &report_fields[i];
        if (!f->journal.key)
            continue;
        json_t *in = f->journal.group == RG_TOP
                         ? o : json_object_get(o, report_group_key(f->journal.group, true));
        decode_field(f, in, it);
    }
    json_decref(o);
    return 0;
}

/* ---- counts ---- */

void report_counts_add(report_counts *c, const item_record *it)
{
    c->total++;
    switch (it->status) {
    case ITEM_DONE:      c->done++; break;
    case ITEM_QC_FAILED: c->qc_failed++; break;
    case ITEM_FAILED:    c->failed++; break;
    case ITEM_SKIPPED:
        c->skipped++;
        if (it->previous_status == ITEM_QC_FAILED)
            c->skipped_qc_failed++;
        else if (it->warned_rules.n > 0)
            c->skipped_warned++;
        break;
    default:             c->unknown++; break;
    }
    if (it->status == ITEM_DONE && it->warned_rules.n > 0)
        c->warned++;
    if (it->fix_actions.n > 0)
        c->fixed++;
    if (it->fix)
        c->fix_noted++;
    c->bytes_read += it->bytes_read;
    c->bytes_total += it->size;
    c->checks += (int64_t)it->checks.n;
    c->checks_failed += it->checks.nfail;
    c->checks_warned += it->checks.nwarn;
    for (int s = 0; s < STAGE_COUNT; s++)
        c->stage_time[s] += it->stage_time[s];
    if (it->gen.id) {
        c->generated++;
        if (it->status == ITEM_DONE)
            c->generated_passed++;
        if (isfinite(it->gen.units))
            c->units += it->gen.units;
    }
}

/* ---- the item's figures ---- */

void item_record_probe(item_record *r, const probe_result *p)
{
    /* Called again for a fixed file: its figures replace the input's. */
    free(r->container);
    free(r->video_codec);
    free(r->audio_codec);
    r->video_codec = r->audio_codec = NULL;
    r->width = r->height = 0;
    r->fps = 0;
    r->container = p->container ? vb_xstrdup(p->container) : NULL;
    r->duration = p->duration;
    r->size = p->size;
    r->bit_rate = p->bit_rate;
    r->bytes_read = p->bytes_read;
    if (p->video) {
        r->video_codec = vb_xstrdup(p->video->codec);
        r->width = p->video->display_width;
        r->height = p->video->display_height;
        probe_rational f = p->video->avg_frame_rate;
        if (f.num <= 0 || f.den <= 0)
            f = p->video->r_frame_rate;
        r->fps = (f.num > 0 && f.den > 0) ? (double)f.num / f.den : NAN;
    }
    if (p->audio)
        r->audio_codec = vb_xstrdup(p->audio->codec);
}

void item_record_analysis(item_record *r, const analyse_result *a)
{
    r->analysed = true;
    r->black_total = a->black_total;
    r->black_share = a->black_share;
    r->leading_black = a->leading_black;
    r->trailing_black = a->trailing_black;
    r->freeze_max = a->freeze_max;
    r->silence_max = a->silence_max;
    r->loudness = a->integrated_lufs;
    r->loudness_range = a->loudness_range;
    r->true_peak = a->true_peak;
    r->decode_errors = a->decode_errors + a->corrupt_frames;
}
