/* analyse.c - the decode analysis's results: written to and read back
 * from analysis.json (jansson), for reports and for files identical to one
 * already analysed. The decoding itself needs libavfilter and runs in the
 * media module (src/media/analyse-decode.c), loaded the first time a run analyses. */
#include "config.h"
#include "analyse.h"
#include "analyse-share.h"
#include "jsonx.h"
#include "module.h"
#include "rules.h"
#include "stage.h"
#include "writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int analyse_file(const char *path, const analyse_config *cfg, int threads,
                 struct mediaio_clock *clk, const atomic_bool *cancel, analyse_result **out,
                 vb_error *e)
{
    *out = NULL;
    const module_media *m = module_get(e);
    return m ? m->analyse_file(path, cfg, threads, clk, cancel, out, e) : -1;
}

void analyse_result_free(analyse_result **pr)
{
    if (!pr || !*pr)
        return;
    analyse_result *r = *pr;
    free(r->black);
    free(r->freeze);
    free(r->silence);
    free(r->loud_m);
    free(r->loud_s);
    free(r->broke_reason);
    free(r);
    *pr = NULL;
}

/* ---- output ---- */

/* Loudness over time: {"interval", "start", "momentary": [...],
 * "short_term": [...]} (LUFS; null where silent), or null. */
static void write_loudness_series(writer *w, const analyse_result *r)
{
    if (r->nloud == 0) {
        writer_null(w, "loudness_series");
        return;
    }
    writer_begin_object(w, "loudness_series");
    writer_double(w, "interval", r->loud_interval);
    writer_double(w, "start", r->loud_start);
    const double *v[2] = { r->loud_m, r->loud_s };
    const char *k[2] = { "momentary", "short_term" };
    for (int j = 0; j < 2; j++) {
        writer_begin_array(w, k[j]);
        for (size_t i = 0; i < r->nloud; i++)
            writer_double(w, NULL, isfinite(v[j][i]) ? round(v[j][i] * 10) / 10 : NAN);
        writer_end_array(w);
    }
    writer_end_object(w);
}

/* NULL-able list: null when it was not measured at all. */
static void write_segments(writer *w, const char *key, const analyse_segment *v, size_t n,
                           bool measured)
{
    if (!measured) {
        writer_null(w, key);
        return;
    }
    writer_begin_array(w, key);
    for (size_t i = 0; i < n; i++) {
        writer_begin_object(w, NULL);
        writer_double(w, "start", v[i].start);
        writer_double(w, "end", v[i].end);
        writer_double(w, "duration", v[i].duration);
        writer_end_object(w);
    }
    writer_end_array(w);
}

void analyse_edge_silence(const analyse_result *r, double *leading, double *trailing)
{
    *leading = *trailing = 0;
    if (!r->nsilence)
        return;
    /* A frame's worth of slack: the first run starts at the first sample,
     * the last ends with the last one decoded. */
    const double slack = 0.05;
    const analyse_segment *first = &r->silence[0], *last = &r->silence[r->nsilence - 1];
    if (first->start <= slack)
        *leading = first->end;
    double end = isfinite(r->audio_end) && r->audio_end > 0 ? r->audio_end : r->duration;
    if (isfinite(end) && last->end >= end - slack)
        *trailing = end - last->start;
}

void analyse_write(const analyse_result *r, writer *w)
{
    bool keyframes = r->mode == ANALYSE_KEYFRAMES;
    writer_string(w, "mode", keyframes ? "keyframes" : "full");
    if (keyframes)
        writer_string(w, "mode_note", "key frames only: black runs are as seen on key frames; "
                      "freeze, silence and loudness are not measured");
    writer_double(w, "duration", r->duration);
    writer_bool(w, "has_video", r->has_video);
    writer_bool(w, "has_audio", r->has_audio);

    write_segments(w, "black", r->black, r->nblack, r->has_video);
    writer_double(w, "black_total", r->black_total);
    writer_double(w, "black_share", r->black_share);
    writer_double(w, "leading_black", r->leading_black);
    writer_double(w, "trailing_black", r->trailing_black);
    write_segments(w, "freeze", r->freeze, r->nfreeze, isfinite(r->freeze_max));
    writer_double(w, "freeze_max", r->freeze_max);

    bool sound = isfinite(r->silence_max);
    write_segments(w, "silence", r->silence, r->nsilence, sound);
    writer_double(w, "silence_max", r->silence_max);
    if (sound)
        writer_bool(w, "audio_silent", r->audio_silent);
    else
        writer_null(w, "audio_silent");
    /* true_peak is -inf (written as null) for digital silence */
    writer_double(w, "integrated_lufs", r->integrated_lufs);
    writer_double(w, "loudness_range", r->loudness_range);
    writer_double(w, "true_peak", r->true_peak);
    write_loudness_series(w, r);

    writer_int(w, "decode_errors", r->decode_errors);
    writer_int(w, "corrupt_frames", r->corrupt_frames);
    writer_int(w, "timestamp_gaps", r->timestamp_gaps);
    writer_int(w, "video_frames", r->video_frames);
    writer_int(w, "audio_frames", r->audio_frames);
    writer_double(w, "video_end", r->video_end);
    writer_double(w, "audio_end", r->audio_end);
    writer_bool(w, "incomplete", r->incomplete);
    writer_double(w, "broke_at", r->broke_at);
    writer_string(w, "broke_reason", r->broke_reason);
    writer_double(w, "seconds", r->seconds);
}

/* ---- reading a result back ---- */

static double *parse_series(json_t *a, size_t n)
{
    double *v = vb_xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(a, i);
        v[i] = json_is_number(x) ? json_number_value(x) : NAN;
    }
    return v;
}

/* The loudness series, when the analysis kept one. */
static void parse_loudness_series(json_t *o, analyse_result *r)
{
    json_t *l = json_object_get(o, "loudness_series");
    json_t *m = json_object_get(l, "momentary"), *s = json_object_get(l, "short_term");
    size_t n = json_array_size(m);
    if (!json_is_object(l) || n == 0 || n > ANALYSE_LOUD_POINTS || json_array_size(s) != n)
        return;
    r->loud_m = parse_series(m, n);
    r->loud_s = parse_series(s, n);
    r->nloud = n;
    r->loud_interval = jsonx_num(l, "interval");
    r->loud_start = jsonx_num(l, "start");
}

static analyse_segment *parse_segments(json_t *o, const char *k, size_t *n)
{
    json_t *a = json_object_get(o, k);
    *n = json_array_size(a);
    if (*n == 0)
        return NULL;
    analyse_segment *v = vb_xcalloc(*n, sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        json_t *x = json_array_get(a, i);
        v[i].start = jsonx_num(x, "start");
        v[i].end = jsonx_num(x, "end");
        v[i].duration = jsonx_num(x, "duration");
    }
    return v;
}

int analyse_parse(const char *text, const char *expect_sha256, analyse_result **out,
                  vb_error *e)
{
    *out = NULL;
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return vb_fail(e, VB_ERR_IO, "analysis: line %d: %s", je.line, je.text);
    }
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    if (expect_sha256 && (!sha || strcmp(sha, expect_sha256) != 0)) {
        json_decref(o);
        return vb_fail(e, VB_ERR_IO, "analysis: made from other content");
    }
    analyse_result *r = vb_xcalloc(1, sizeof *r);
    const char *mode = json_string_value(json_object_get(o, "mode"));
    r->mode = mode && strcmp(mode, "keyframes") == 0 ? ANALYSE_KEYFRAMES : ANALYSE_FULL;
    r->duration = jsonx_num(o, "duration");
    r->has_video = json_is_true(json_object_get(o, "has_video"));
    r->has_audio = json_is_true(json_object_get(o, "has_audio"));
    r->black = parse_segments(o, "black", &r->nblack);
    r->black_total = jsonx_num(o, "black_total");
    r->black_share = jsonx_num(o, "black_share");
    r->leading_black = jsonx_num(o, "leading_black");
    r->trailing_black = jsonx_num(o, "trailing_black");
    r->freeze = parse_segments(o, "freeze", &r->nfreeze);
    r->freeze_max = jsonx_num(o, "freeze_max");
    r->silence = parse_segments(o, "silence", &r->nsilence);
    r->silence_max = jsonx_num(o, "silence_max");
    r->audio_silent = json_is_true(json_object_get(o, "audio_silent"));
    r->integrated_lufs = jsonx_num(o, "integrated_lufs");
    r->loudness_range = jsonx_num(o, "loudness_range");
    parse_loudness_series(o, r);
    r->true_peak = jsonx_num(o, "true_peak");
    /* -inf (digital silence) is written as null: loudness measured but
     * no true peak means -inf, as analyse_file had it. */
    if (isnan(r->true_peak) && isfinite(r->integrated_lufs))
        r->true_peak = -INFINITY;
    r->decode_errors = jsonx_int(o, "decode_errors");
    r->corrupt_frames = jsonx_int(o, "corrupt_frames");
    r->timestamp_gaps = jsonx_int(o, "timestamp_gaps");
    r->video_frames = jsonx_int(o, "video_frames");
    r->audio_frames = jsonx_int(o, "audio_frames");
    r->video_end = jsonx_num(o, "video_end");
    r->audio_end = jsonx_num(o, "audio_end");
    r->incomplete = json_is_true(json_object_get(o, "incomplete"));
    r->broke_at = jsonx_num(o, "broke_at");
    r->broke_reason = jsonx_dup(o, "broke_reason");
    r->seconds = jsonx_num(o, "seconds");
    json_decref(o);
    *out = r;
    return 0;
}

/* ---- the analysis stage ---- */

/* With --fix, whenever the preset has deep gates: a clip too quiet is
 * only known to fail (and how much gain fixes it) once measured. */
static bool analyse_wanted(const item *it, const vb_config *cfg)
{
    return (cfg->analyse.enabled || (cfg->fix.enabled && rules_have_analysis_gates(&cfg->qc))) &&
           !it->is_image;
}

/* Decode (or reuse the analysis of identical content), check what was
 * measured, copy the figures into the record. */
/* With --fix alone (no --deep) the analysis measures what the gates
 * need: the picture is decoded only for a gate on black or freezes. */
bool analyse_picture_unwatched(const vb_config *cfg)
{
    const qc_config *q = &cfg->qc;
    return !cfg->analyse.enabled && cfg->fix.enabled && cfg->analyse.mode == ANALYSE_FULL &&
           !(q->black_max_seconds > 0 || q->black_max_share > 0 || q->leading_black_max > 0 ||
             q->trailing_black_max > 0 || q->freeze_max_seconds > 0);
}

/* With --fix alone, no gate on the loudness or the true peak: ebur128
 * (with its fourfold oversampling for the true peak, the dearest part
 * of the sound's analysis) measures nothing anyone reads. */
bool analyse_loudness_unwatched(const vb_config *cfg)
{
    const qc_config *q = &cfg->qc;
    return !cfg->analyse.enabled && cfg->fix.enabled && q->loudness_target == 0 &&
           q->true_peak_max == 0;
}

static int analyse_run(item *it, const vb_config *cfg, vb_error *e)
{
    analyse_result *a = NULL;
    if (analyse_picture_unwatched(cfg) && it->probe && it->probe->audio) {
        vb_config c = *cfg;
        c.analyse.skip_video = true;
        if (analyse_share_alone(it, &c, &a, e) != 0)
            return -1;
    } else if (!it->env->share || !it->env->rep) {
        /* No journal to share through (a queue worker). */
        if (analyse_share_alone(it, cfg, &a, e) != 0)
            return -1;
    } else if (analyse_share_run(it, cfg, &a, e) != 0) {
        return -1;
    }
    rules_eval_analysis(&cfg->qc, a, &it->rr);
    item_record_analysis(&it->rec, a);
    /* Kept for the fix: its measurement is the fix's first pass. */
    analyse_result_free(&it->analysis);
    it->analysis = a;
    return 0;
}

const stage stage_analyse = { STAGE_ANALYSE, "analyse", analyse_wanted, analyse_run };
