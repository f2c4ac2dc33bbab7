/* rules.c - quality gates over probe results. Each enabled rule adds one
 * result per limit it checks (duration_min and duration_max are separate
 * results), carrying the measured value, the limit, the level it was
 * evaluated at, the verdict and a sentence a person can act on. */
#include "config.h"
#include "rules.h"
#include "image.h"
#include "stage.h"
#include "writer.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rules_add(rule_report *rep, const char *rule, int level, bool ok,
               const char *value, const char *limit, const char *fmt, ...)
{
    if (level == RULE_OFF)
        return;
    rep->r = vb_xrealloc(rep->r, (rep->n + 1) * sizeof(rule_result));
    rule_result *x = &rep->r[rep->n++];
    x->rule = vb_xstrdup(rule);
    x->value = vb_xstrdup(value ? value : "none");
    x->limit = vb_xstrdup(limit ? limit : "");
    x->level = level;
    x->verdict = ok ? VERDICT_PASS : (level == RULE_FAIL ? VERDICT_FAIL : VERDICT_WARN);
    va_list ap;
    va_start(ap, fmt);
    x->message = vb_xvasprintf(fmt, ap);
    va_end(ap);
    if (x->verdict == VERDICT_FAIL)
        rep->nfail++;
    else if (x->verdict == VERDICT_WARN)
        rep->nwarn++;
    if (x->verdict > rep->verdict)
        rep->verdict = x->verdict;
}

/* Human-readable numbers, so that value and limit read alike. */
static void fmt_seconds(char *b, size_t n, double v) { snprintf(b, n, "%.3f s", v); }
static void fmt_bps(char *b, size_t n, int64_t v)
{
    if (v >= 1000000)
        snprintf(b, n, "%.2f Mb/s", (double)v / 1e6);
    else
        snprintf(b, n, "%.1f kb/s", (double)v / 1e3);
}
static void fmt_bytes(char *b, size_t n, int64_t v)
{
    if (v >= 1000000)
        snprintf(b, n, "%.2f MB", (double)v / 1e6);
    else
        snprintf(b, n, "%lld bytes", (long long)v);
}

static double rate(probe_rational r)
{
    return (r.num > 0 && r.den > 0) ? (double)r.num / r.den : NAN;
}

static void check_duration(const qc_config *q, const probe_result *p, rule_report *rep)
{
    char v[64], l[64];
    bool known = isfinite(p->duration);
    fmt_seconds(v, sizeof v, p->duration);
    if (q->duration_min > 0) {
        fmt_seconds(l, sizeof l, q->duration_min);
        rules_add(rep, "duration_min", q->duration_level, known && p->duration >= q->duration_min,
            known ? v : NULL, l, "duration %s, minimum %s", known ? v : "unknown", l);
    }
    if (q->duration_max > 0) {
        fmt_seconds(l, sizeof l, q->duration_max);
        rules_add(rep, "duration_max", q->duration_level, known && p->duration <= q->duration_max,
            known ? v : NULL, l, "duration %s, maximum %s", known ? v : "unknown", l);
    }
}

/* One side against its limit: "min_width" or "max_height" ... */
static void check_side(rule_report *rep, const char *rule, int level, const char *what, int v,
                       int limit, bool is_min)
{
    if (limit <= 0)
        return;
    char vs[32], l[32];
    snprintf(vs, sizeof vs, "%d px", v);
    snprintf(l, sizeof l, "%d px", limit);
    rules_add(rep, rule, level, is_min ? v >= limit : v <= limit, vs, l,
        "displayed %s %d px, %s %d px", what, v, is_min ? "minimum" : "maximum", limit);
}

/* With any_orientation the long side is compared with the long one: a
 * 9:16 clip meets 1280x720. */
static void check_sides_any(const qc_config *q, int w, int h, int mw, int mh, bool is_min,
                            rule_report *rep)
{
    if (mw <= 0 && mh <= 0)
        return;
    int lo = w > h ? w : h, sh = w > h ? h : w;
    int mlo = mw > mh ? mw : mh, msh = mw > mh ? mh : mw;
    char v[64], l[64];
    snprintf(v, sizeof v, "%dx%d", w, h);
    snprintf(l, sizeof l, "%dx%d (either orientation)", mlo, msh);
    bool ok = is_min ? lo >= mlo && sh >= msh
                     : (mlo <= 0 || lo <= mlo) && (msh <= 0 || sh <= msh);
    rules_add(rep, is_min ? "min_resolution" : "max_resolution", q->resolution_level, ok, v, l,
        "displayed size %dx%d, at %s %dx%d in either orientation", w, h,
        is_min ? "least" : "most", mlo, msh);
}

static void check_resolution(const qc_config *q, const probe_stream *vs, rule_report *rep)
{
    int w = vs->display_width, h = vs->display_height;
    if (q->any_orientation) {
        check_sides_any(q, w, h, q->min_width, q->min_height, true, rep);
        check_sides_any(q, w, h, q->max_width, q->max_height, false, rep);
        return;
    }
    check_side(rep, "min_width", q->resolution_level, "width", w, q->min_width, true);
    check_side(rep, "min_height", q->resolution_level, "height", h, q->min_height, true);
    check_side(rep, "max_width", q->resolution_level, "width", w, q->max_width, false);
    check_side(rep, "max_height", q->resolution_level, "height", h, q->max_height, false);
}

static void check_aspect(const qc_config *q, const probe_stream *vs, rule_report *rep)
{
    if (q->aspect_ratio <= 0)
        return;
    /* Displayed aspect: rotation applied, then pixel shape. */
    double sar = (vs->sar.num > 0 && vs->sar.den > 0) ? (double)vs->sar.num / vs->sar.den : 1.0;
    double w = vs->width * sar, h = vs->height;
    if (vs->display_width != vs->width) {
        double t = w;
        w = h;
        h = t;
    }
    double a = h > 0 ? w / h : NAN;
    double dev = fabs(a - q->aspect_ratio) / q->aspect_ratio;
    char v[64], l[64];
    snprintf(v, sizeof v, "%.4f", a);
    snprintf(l, sizeof l, "%.4f +/- %.1f%%", q->aspect_ratio, q->aspect_tolerance * 100);
    rules_add(rep, "aspect_ratio", q->aspect_level, isfinite(a) && dev <= q->aspect_tolerance, v, l,
        "displayed aspect ratio %.4f, expected %.4f within %.1f%%", a, q->aspect_ratio,
        q->aspect_tolerance * 100);
}

static void check_list(const char *rule, int level, const vb_strlist *allowed,
                       const char *what, const char *value, rule_report *rep)
{
    if (allowed->n == 0)
        return;
    char *l = vb_strlist_join(allowed, ", ");
    rules_add(rep, rule, level, value && vb_strlist_has(allowed, value), value, l,
        "%s %s, allowed: %s", what, value ? value : "none", l);
    free(l);
}

static void check_range_bps(const char *rmin, const char *rmax, int level, int64_t minv,
                            int64_t maxv, double tol, int64_t v, const char *what,
                            rule_report *rep)
{
    char vs[64], l[64];
    fmt_bps(vs, sizeof vs, v);
    if (minv > 0) {
        fmt_bps(l, sizeof l, minv);
        rules_add(rep, rmin, level, v > 0 && (double)v >= (double)minv * (1.0 - tol), v > 0 ? vs : NULL, l,
            v > 0 ? "%s %s, minimum %s" : "%s unknown%.0s, minimum %s", what, vs, l);
    }
    if (maxv > 0) {
        fmt_bps(l, sizeof l, maxv);
        rules_add(rep, rmax, level, v > 0 && (double)v <= (double)maxv * (1.0 + tol), v > 0 ? vs : NULL, l,
            v > 0 ? "%s %s, maximum %s" : "%s unknown%.0s, maximum %s", what, vs, l);
    }
}

/* "High 4:4:4 Predictive" -> "high_4:4:4_predictive", as presets write
 * profiles (a word each). */
static char *profile_word(const char *profile)
{
    char *w = vb_xstrdup(profile);
    for (char *c = w; *c; c++)
        *c = *c == ' ' ? '_' : (char)tolower((unsigned char)*c);
    return w;
}

/* What platforms' upload checks reject on besides the size and rate:
 * HDR, the pixel format (chroma subsampling), the bit depth, the
 * profile, a variable frame rate. */
static void check_video_format(const qc_config *q, const probe_stream *vs, rule_report *rep)
{
    if (!q->hdr_allowed)
        rules_add(rep, "hdr", q->hdr_level, !vs->hdr, vs->hdr ? vs->color_transfer : "SDR", "SDR only",
            vs->hdr ? "HDR video (transfer %s), HDR is not allowed" : "SDR video%s",
            vs->hdr ? vs->color_transfer : "");
    check_list("pix_fmt", q->pix_fmt_level, &q->pix_fmts, "pixel format", vs->pix_fmt, rep);
    if (q->max_bit_depth > 0) {
        char v[32], l[32];
        snprintf(v, sizeof v, "%d bits", vs->bit_depth);
        snprintf(l, sizeof l, "%d bits", q->max_bit_depth);
        rules_add(rep, "bit_depth", q->bit_depth_level,
            vs->bit_depth > 0 && vs->bit_depth <= q->max_bit_depth, vs->bit_depth > 0 ? v : NULL, l,
            vs->bit_depth > 0 ? "video bit depth %s, maximum %s" : "video bit depth unknown%.0s, maximum %s",
            v, l);
    }
    if (q->video_profiles.n > 0) {
        char *pw = vs->profile ? profile_word(vs->profile) : NULL;
        check_list("video_profile", q->profile_level, &q->video_profiles, "video profile", pw, rep);
        free(pw);
    }
    if (q->constant_frame_rate && vs->frame_rate_mode != PROBE_FR_UNKNOWN)
        rules_add(rep, "frame_rate_mode", q->frame_rate_mode_level,
            vs->frame_rate_mode == PROBE_FR_CONSTANT,
            vs->frame_rate_mode == PROBE_FR_CONSTANT ? "constant" : "variable", "constant",
            vs->frame_rate_mode == PROBE_FR_CONSTANT
                ? "constant frame rate"
                : "variable frame rate: the frames are not evenly spaced in time");
}

void rules_eval(const qc_config *q, const probe_result *p, rule_report *rep)
{
    memset(rep, 0, sizeof *rep);
    const probe_stream *vs = p->video, *as = p->audio;

    rules_add(rep, "video_stream", q->video_level, vs != NULL, vs ? vs->codec : NULL, "required",
        vs ? "video stream present (%s)" : "no video stream%s", vs ? vs->codec : "");

    check_duration(q, p, rep);
    if (vs && vs->header_width > 0) {
        /* A header that lies about the frame size: the gates below use
         * the bitstream's. Always worth a warning. */
        char v[64], l[64];
        snprintf(v, sizeof v, "%dx%d", vs->width, vs->height);
        snprintf(l, sizeof l, "%dx%d declared", vs->header_width, vs->header_height);
        rules_add(rep, "frame_size", RULE_WARN, false, v, l,
            "the container declares %dx%d but the video stream is %dx%d: checked as %dx%d",
            vs->header_width, vs->header_height, vs->width, vs->height, vs->width, vs->height);
    }
    if (vs) {
        check_resolution(q, vs, rep);
        check_aspect(q, vs, rep);
    }
    check_list("container", q->container_level, &q->containers, "container", p->container, rep);
    if (vs)
        check_list("video_codec", q->video_codec_level, &q->video_codecs, "video codec",
                   vs->codec, rep);
    if (as)
        check_list("audio_codec", q->audio_codec_level, &q->audio_codecs, "audio codec",
                   as->codec, rep);
    check_range_bps("bitrate_min", "bitrate_max", q->bitrate_level, q->bitrate_min,
                    q->bitrate_max, q->bitrate_tolerance, p->bit_rate, "overall bit rate", rep);
    if (vs)
        check_range_bps("video_bitrate_min", "video_bitrate_max", q->video_bitrate_level,
                        q->video_bitrate_min, q->video_bitrate_max, q->bitrate_tolerance,
                        vs->bit_rate, "video bit rate", rep);
    if (vs && (q->fps_min > 0 || q->fps_max > 0)) {
        double f = rate(vs->avg_frame_rate);
        if (!isfinite(f))
            f = rate(vs->r_frame_rate);
        char v[64], l[64];
        snprintf(v, sizeof v, "%.3f fps", f);
        if (q->fps_min > 0) {
            snprintf(l, sizeof l, "%.3f fps", q->fps_min);
            /* 29.97 must pass a 29.97 limit written as 29.97 */
            rules_add(rep, "fps_min", q->fps_level, isfinite(f) && f >= q->fps_min - 0.001,
                isfinite(f) ? v : NULL, l, "frame rate %.3f fps, minimum %.3f", f, q->fps_min);
        }
        if (q->fps_max > 0) {
            snprintf(l, sizeof l, "%.3f fps", q->fps_max);
            rules_add(rep, "fps_max", q->fps_level, isfinite(f) && f <= q->fps_max + 0.001,
                isfinite(f) ? v : NULL, l, "frame rate %.3f fps, maximum %.3f", f, q->fps_max);
        }
    }
    if (q->audio == AUDIO_REQUIRED)
        rules_add(rep, "audio", q->audio_level, as != NULL, as ? as->codec : NULL, "required",
            as ? "audio stream present (%s)" : "no audio stream, audio is required%s",
            as ? as->codec : "");
    else if (q->audio == AUDIO_FORBIDDEN)
        rules_add(rep, "audio", q->audio_level, as == NULL, as ? as->codec : NULL, "forbidden",
            as ? "audio stream present (%s), audio is forbidden" : "no audio stream%s",
            as ? as->codec : "");
    if (as && q->audio_bitrate_min > 0) {
        char v[64], l[64];
        fmt_bps(v, sizeof v, as->bit_rate);
        fmt_bps(l, sizeof l, q->audio_bitrate_min);
        rules_add(rep, "audio_bitrate_min", q->audio_bitrate_level,
            as->bit_rate > 0 &&
                (double)as->bit_rate >= (double)q->audio_bitrate_min * (1.0 - q->bitrate_tolerance),
            as->bit_rate > 0 ? v : NULL, l,
            as->bit_rate > 0 ? "audio bit rate %s, minimum %s" : "audio bit rate unknown%.0s, minimum %s",
            v, l);
    }
    if (as && q->sample_rates.n > 0) {
        char v[32];
        snprintf(v, sizeof v, "%d", as->sample_rate);
        char *l = vb_strlist_join(&q->sample_rates, ", ");
        rules_add(rep, "sample_rate", q->sample_rate_level, vb_strlist_has(&q->sample_rates, v), v, l,
            "audio sample rate %d Hz, allowed: %s", as->sample_rate, l);
        free(l);
    }
    if (q->max_file_size > 0) {
        char v[64], l[64];
        fmt_bytes(v, sizeof v, p->size);
        fmt_bytes(l, sizeof l, q->max_file_size);
        rules_add(rep, "max_file_size", q->file_size_level, p->size <= q->max_file_size, v, l,
            "file size %s, maximum %s", v, l);
    }
    if (q->faststart && p->faststart >= 0)
        rules_add(rep, "faststart", q->faststart_level, p->faststart == 1,
            p->faststart ? "moov before mdat" : "moov after mdat", "moov before mdat",
            p->faststart ? "index (moov) at the start: plays while downloading"
                         : "index (moov) at the end: not web-optimised (remux with -movflags +faststart)");
    if (vs)
        check_video_format(q, vs, rep);
}

bool rules_have_analysis_gates(const qc_config *q)
{
    return q->black_max_seconds > 0 || q->black_max_share > 0 || q->leading_black_max > 0 ||
           q->trailing_black_max > 0 || q->freeze_max_seconds > 0 ||
           q->leading_silence_max > 0 || q->trailing_silence_max > 0 ||
           q->silence_max_seconds > 0 || q->loudness_target != 0 || q->true_peak_max != 0;
}

void rules_report_free(rule_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->r[i].rule);
        free(r->r[i].value);
        free(r->r[i].limit);
        free(r->r[i].message);
    }
    free(r->r);
    memset(r, 0, sizeof *r);
}

const char *rules_verdict_name(int v)
{
    return v == VERDICT_FAIL ? "fail" : v == VERDICT_WARN ? "warn" : "pass";
}

bool rules_number(const char *text, double *num, char *unit, size_t len)
{
    unit[0] = '\0';
    if (!text)
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v))
        return false;
    /* "2.000 s", "97.0 kb/s", "-21.8 LUFS", "12" -- not "1280x720",
     * "25/1" or "-14.0 LUFS +/- 1.0 LU". */
    if (*end == ' ' && end[1] && !strchr(end + 1, ' ') && !isdigit((unsigned char)end[1]))
        snprintf(unit, len, "%s", end + 1);
    else if (*end)
        return false;
    *num = v;
    return true;
}

/* value and limit as numbers too, with their unit, where they read as a
 * number and a unit: what jq and scripts compare. */
static void rules_write_numbers(const rule_result *x, writer *w)
{
    double v, l;
    char vu[32], lu[32];
    bool hv = rules_number(x->value, &v, vu, sizeof vu);
    bool hl = rules_number(x->limit, &l, lu, sizeof lu);
    /* A limit in another unit than the value is not comparable as is. */
    if (hv && hl && strcmp(vu, lu) != 0)
        hl = false;
    if (hv)
        writer_double(w, "measured", v);
    else
        writer_null(w, "measured");
    if (hl)
        writer_double(w, "threshold", l);
    else
        writer_null(w, "threshold");
    const char *u = hv ? vu : hl ? lu : "";
    if (*u)
        writer_string(w, "unit", u);
    else
        writer_null(w, "unit");
    /* A target with a tolerance ("-14.0 LUFS +/- 1.0 LU", "0.5625 +/- 1.0%"):
     * the range it allows, in the value's unit. */
    double c, tol;
    char cu[32] = "", tu[32] = "";
    int n = x->limit ? sscanf(x->limit, "%lf %31s +/- %lf %31s", &c, cu, &tol, tu) : 0;
    if (n < 3 && x->limit && sscanf(x->limit, "%lf +/- %lf%31s", &c, &tol, tu) >= 2) {
        n = 4;
        cu[0] = '\0';
    }
    if (n >= 3 && hv && strcmp(cu, vu) == 0) {
        double d = strcmp(tu, "%") == 0 ? fabs(c) * tol / 100 : tol;
        writer_double(w, "threshold_min", c - d);
        writer_double(w, "threshold_max", c + d);
    }
}

void rules_write(const rule_report *r, writer *w)
{
    writer_string(w, "verdict", rules_verdict_name(r->verdict));
    writer_int(w, "failed", r->nfail);
    writer_int(w, "warned", r->nwarn);
    writer_begin_array(w, "checks");
    for (size_t i = 0; i < r->n; i++) {
        const rule_result *x = &r->r[i];
        writer_begin_object(w, NULL);
        writer_string(w, "rule", x->rule);
        writer_string(w, "value", x->value);
        writer_string(w, "limit", x->limit);
        rules_write_numbers(x, w);
        writer_string(w, "level", preset_level_name(x->level));
        writer_string(w, "verdict", rules_verdict_name(x->verdict));
        writer_string(w, "message", x->message);
        writer_end_object(w);
    }
    writer_end_array(w);
}

/* ---- gates on the decode analysis (analyse.c) ---- */

#include "analyse.h"

static void fmt_lufs(char *b, size_t n, double v) { snprintf(b, n, "%.1f LUFS", v); }
static void fmt_dbtp(char *b, size_t n, double v) { snprintf(b, n, "%.1f dBTP", v); }
static void fmt_share(char *b, size_t n, double v) { snprintf(b, n, "%.1f%%", v * 100); }

/* "longest X" style checks: measured seconds against a maximum. */
static void check_max_seconds(rule_report *rep, const char *rule, int level, double v,
                              double max, const char *what)
{
    if (max <= 0 || !isfinite(v))
        return;
    char vs[64], l[64];
    fmt_seconds(vs, sizeof vs, v);
    fmt_seconds(l, sizeof l, max);
    rules_add(rep, rule, level, v <= max, vs, l, "%s %s, maximum %s", what, vs, l);
}

void rules_eval_analysis(const qc_config *q, const analyse_result *a, rule_report *rep)
{
    char v[64], l[64];
    if (a->has_video) {
        check_max_seconds(rep, "black_max_seconds", q->black_level, a->black_total,
                          q->black_max_seconds, "black picture in total");
        if (q->black_max_share > 0 && isfinite(a->black_share)) {
            fmt_share(v, sizeof v, a->black_share);
            fmt_share(l, sizeof l, q->black_max_share);
            rules_add(rep, "black_max_share", q->black_level, a->black_share <= q->black_max_share,
                v, l, "black picture %s of the duration, maximum %s", v, l);
        }
        check_max_seconds(rep, "leading_black", q->edge_black_level, a->leading_black,
                          q->leading_black_max, "black at the start");
        check_max_seconds(rep, "trailing_black", q->edge_black_level, a->trailing_black,
                          q->trailing_black_max, "black at the end");
        check_max_seconds(rep, "freeze_max", q->freeze_level, a->freeze_max,
                          q->freeze_max_seconds, "longest frozen picture");
    }
    /* silence_max is NAN where the sound was not analysed (key-frame mode) */
    bool sound = a->has_audio && isfinite(a->silence_max);
    if (sound) {
        check_max_seconds(rep, "silence_max", q->silence_level, a->silence_max,
                          q->silence_max_seconds, "longest silence");
        double lead, trail;
        analyse_edge_silence(a, &lead, &trail);
        check_max_seconds(rep, "leading_silence", q->edge_silence_level, lead,
                          q->leading_silence_max, "silence at the start");
        check_max_seconds(rep, "trailing_silence", q->edge_silence_level, trail,
                          q->trailing_silence_max, "silence at the end");
        rules_add(rep, "audio_silent", q->audio_silent_level, !a->audio_silent,
            a->audio_silent ? "silent" : "not silent", "not silent",
            a->audio_silent ? "the audio track is silent from start to end"
                            : "the audio track has sound%s", "");
    }
    if (sound && q->loudness_target != 0 && isfinite(a->integrated_lufs)) {
        double dev = a->integrated_lufs - q->loudness_target;
        fmt_lufs(v, sizeof v, a->integrated_lufs);
        snprintf(l, sizeof l, "%.1f LUFS +/- %.1f LU", q->loudness_target, q->loudness_tolerance);
        rules_add(rep, "loudness", q->loudness_level, fabs(dev) <= q->loudness_tolerance + 1e-9,
            v, l, "integrated loudness %s, %.1f LU %s the target %.1f LUFS (tolerance %.1f LU)",
            v, fabs(dev), dev > 0 ? "above" : "below", q->loudness_target, q->loudness_tolerance);
    }
    /* -inf (digital silence) passes any limit */
    if (sound && q->true_peak_max != 0 && !isnan(a->true_peak)) {
        if (isfinite(a->true_peak))
            fmt_dbtp(v, sizeof v, a->true_peak);
        else
            snprintf(v, sizeof v, "-inf dBTP");
        fmt_dbtp(l, sizeof l, q->true_peak_max);
        rules_add(rep, "true_peak", q->true_peak_level, a->true_peak <= q->true_peak_max, v, l,
            "true peak %s, maximum %s", v, l);
    }
    /* Always checked once the file has been decoded (the default maximum
     * is 0: any damage fails). */
    int64_t bad = a->decode_errors + a->corrupt_frames;
    snprintf(v, sizeof v, "%lld", (long long)bad);
    snprintf(l, sizeof l, "%d", q->decode_errors_max);
    rules_add(rep, "decode_errors", q->decode_errors_level, bad <= q->decode_errors_max, v, l,
        "%lld packets the decoder refused and %lld frames flagged corrupt, maximum %d in all",
        (long long)a->decode_errors, (long long)a->corrupt_frames, q->decode_errors_max);
    if (a->incomplete) {
        snprintf(v, sizeof v, "broke at %.2f s", isfinite(a->broke_at) ? a->broke_at : 0.0);
        rules_add(rep, "integrity", q->decode_errors_level, false, v, "decodes to the end", "%s",
            a->broke_reason ? a->broke_reason : "the file could not be decoded to the end");
    } else {
        rules_add(rep, "integrity", q->decode_errors_level, true, "complete", "decodes to the end",
            "decoded to the end");
    }
}

void rules_thumbs(const vb_config *cfg, const probe_result *p, const rules_thumb *t, size_t n,
                  rule_report *rep)
{
    /* The picture's displayed aspect: rotation applied, pixel shape too. */
    const probe_stream *vs = p->video;
    double sar = vs->sar.num > 0 && vs->sar.den > 0 ? (double)vs->sar.num / vs->sar.den : 1.0;
    double aspect = vs->display_height > 0
                        ? (vs->display_width == vs->width ? vs->width * sar / vs->height
                                                          : vs->height / (vs->width * sar))
                        : NAN;
    static const char *const ext_format[] = { "jpeg", "webp", "png" };
    size_t bad = 0;
    char why[1100] = "";
    for (size_t i = 0; i < n; i++) {
        const image_info *ii = t[i].info;
        if (!ii) {
            bad++;
            snprintf(why, sizeof why, "%s", t[i].error ? t[i].error : t[i].file);
        } else if (ii->width != cfg->thumbs.width ||
                   strcmp(ii->format ? ii->format : "", ext_format[cfg->thumbs.format]) != 0 ||
                   (isfinite(aspect) && ii->height > 0 &&
                    fabs((double)ii->width / ii->height - aspect) / aspect > 0.02)) {
            bad++;
            snprintf(why, sizeof why, "%s is %dx%d %s (video aspect %.3f)", t[i].file,
                     ii->width, ii->height, ii->format, aspect);
        }
    }
    char v[64], l[64];
    snprintf(v, sizeof v, "%zu of %zu readable", n - bad, n);
    snprintf(l, sizeof l, "%d px wide %s, aspect %.3f", cfg->thumbs.width,
             ext_format[cfg->thumbs.format], aspect);
    if (bad)
        rules_add(rep, "thumbnails", cfg->qc.image_level, false, v, l,
                  "thumbnail check failed: %s", why);
    else
        rules_add(rep, "thumbnails", cfg->qc.image_level, true, v, l,
                  "%zu thumbnails, %d px wide", n, cfg->thumbs.width);
}

/* ---- the check stage ---- */

/* The preset's gates on what the probe (or the image header) found. */
static int check_run(item *it, const vb_config *cfg, vb_error *e)
{
    (void)e;
    if (it->probe)
        rules_eval(&cfg->qc, it->probe, &it->rr);
    else
        image_rules(&cfg->qc, &it->image, "image", &it->rr);
    return 0;
}

const stage stage_check = { STAGE_CHECK, "check", NULL, check_run };
