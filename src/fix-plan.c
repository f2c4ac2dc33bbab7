/* fix-plan.c - which fix an item gets (fix.h). Pure: the failed rules,
 * the probe and the analysis in, the plan out.
 *
 * Each rule a fix can satisfy names the action that does it; the actions'
 * parameters are then worked out together, so that one pass satisfies
 * every failed rule (a clip whose frame rate and loudness both fail is
 * encoded once, at the frame rate asked, with the gain). A rule no action
 * satisfies is said so; the item stays failed and is not touched, since
 * a fix could not make it pass. */
#include "config.h"
#include "fix.h"
#include "analyse.h"
#include "writer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What fixes each rule. `action` -1: nothing can; `why` says why, or what
 * the action does for the rule. Rules not listed (images, thumbnails,
 * warnings of the probe) are not fixable either. */
static const struct {
    const char *rule;
    int action;
    const char *why;
} fix_rules[] = {
    { "faststart", FIX_REMUX, "index moved before the media data" },
    { "container", FIX_REMUX, "streams copied into a new container" },
    { "video_codec", FIX_VIDEO, "video re-encoded to H.264" },
    { "min_resolution", FIX_VIDEO, "video scaled to the target frame" },
    { "min_width", FIX_VIDEO, "video scaled to the target frame" },
    { "min_height", FIX_VIDEO, "video scaled to the target frame" },
    { "max_resolution", FIX_VIDEO, "video scaled to the target frame" },
    { "max_width", FIX_VIDEO, "video scaled to the target frame" },
    { "max_height", FIX_VIDEO, "video scaled to the target frame" },
    { "aspect_ratio", FIX_VIDEO, "video fitted to the target frame" },
    { "fps_min", FIX_VIDEO, "video re-encoded at a constant frame rate" },
    { "fps_max", FIX_VIDEO, "video re-encoded at a constant frame rate" },
    { "hdr", FIX_VIDEO, "video tone-mapped to SDR" },
    { "pix_fmt", FIX_VIDEO, "video re-encoded as yuv420p" },
    { "bit_depth", FIX_VIDEO, "video re-encoded at 8 bits" },
    { "video_profile", FIX_VIDEO, "video re-encoded in the High profile" },
    { "frame_rate_mode", FIX_VIDEO, "video re-encoded at a constant frame rate" },
    { "bitrate_max", FIX_VIDEO, "video re-encoded under the bit-rate cap" },
    { "video_bitrate_max", FIX_VIDEO, "video re-encoded under the bit-rate cap" },
    { "max_file_size", FIX_VIDEO, "video re-encoded at a bit rate that fits the size" },
    { "audio_codec", FIX_AUDIO, "audio re-encoded to AAC-LC" },
    { "sample_rate", FIX_AUDIO, "audio resampled and re-encoded" },
    { "audio_bitrate_min", FIX_AUDIO, "audio re-encoded at a higher bit rate" },
    { "audio", FIX_AUDIO, NULL }, /* added or dropped: said by audio_plan */
    { "loudness", FIX_AUDIO, NULL },
    { "true_peak", FIX_AUDIO, NULL },
    { "leading_black", FIX_TRIM, "leading black cut" },
    { "trailing_black", FIX_TRIM, "trailing black cut" },
    { "duration_max", FIX_TRIM, "cut at the maximum duration" },
    { "leading_silence", FIX_TRIM, "leading silence cut" },
    { "trailing_silence", FIX_TRIM, "trailing silence cut" },
    { "black_max_seconds", FIX_TRIM, NULL }, /* only if the black is at the edges */
    { "black_max_share", FIX_TRIM, NULL },
    { "video_stream", -1, "there is no video to fix" },
    { "duration_min", -1, "a fix cannot make a clip longer" },
    { "bitrate_min", -1, "more bits would not add detail" },
    { "video_bitrate_min", -1, "more bits would not add detail" },
    { "freeze_max", -1, "frozen picture cannot be fixed" },
    { "silence_max", -1, "silence inside the clip cannot be fixed" },
    { "audio_silent", -1, "silent audio cannot be fixed" },
    { "decode_errors", -1, "damaged data cannot be fixed" },
    { "integrity", -1, "damaged data cannot be fixed" },
};

const char *fix_action_name(int action)
{
    static const char *const names[] = { "remux", "audio", "video", "trim" };
    return action >= 0 && action < FIX_NACTIONS ? names[action] : "?";
}

void fix_plan_clear(fix_plan *plan)
{
    vb_strlist_clear(&plan->fixes);
    vb_strlist_clear(&plan->unfixable);
}

bool fix_plan_touches_media(const fix_plan *plan)
{
    return plan->any && (plan->actions[FIX_AUDIO] || plan->actions[FIX_VIDEO] ||
                         plan->actions[FIX_TRIM]);
}

static bool default_fits(const char *container, const char *codec)
{
    (void)container;
    return codec && (strcmp(codec, "h264") == 0 || strcmp(codec, "hevc") == 0 ||
                     strcmp(codec, "aac") == 0);
}

static void say(vb_strlist *l, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(vb_strlist *l, const char *rule, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = vb_xvasprintf(fmt, ap);
    va_end(ap);
    char *line = vb_xasprintf("%s: %s", rule, what);
    vb_strlist_add(l, line);
    free(line);
    free(what);
}

static double stream_fps(const probe_stream *v)
{
    probe_rational r = v->avg_frame_rate.num > 0 && v->avg_frame_rate.den > 0
                     ? v->avg_frame_rate : v->r_frame_rate;
    return r.num > 0 && r.den > 0 ? (double)r.num / r.den : NAN;
}

static bool list_allows(const vb_strlist *l, const char *v)
{
    return l->n == 0 || vb_strlist_has(l, v);
}

/* The container the fix writes: MP4 unless the preset allows only MOV. */
static const char *pick_container(const qc_config *q)
{
    if (list_allows(&q->containers, "mp4"))
        return "mp4";
    if (vb_strlist_has(&q->containers, "mov"))
        return "mov";
    return NULL;
}

/* The frame rate made constant: [fix] fps, else the source's within the
 * preset's range (a 60 fps clip for a 30 fps maximum is made 30), as a
 * rational (29.97 is 30000/1001). */
static void pick_fps(const vb_config *cfg, const probe_stream *v, fix_plan *plan)
{
    double f = cfg->fix.fps > 0 ? cfg->fix.fps : stream_fps(v);
    if (!isfinite(f) || f <= 0)
        f = 30;
    if (cfg->fix.fps <= 0) {
        if (cfg->qc.fps_max > 0 && f > cfg->qc.fps_max + 0.001)
            f = cfg->qc.fps_max;
        if (cfg->qc.fps_min > 0 && f < cfg->qc.fps_min - 0.001)
            f = cfg->qc.fps_min;
    }
    double ntsc = f * 1.001;
    if (fabs(ntsc - round(ntsc)) < 0.01 && fabs(f - round(f)) > 0.01) {
        plan->fps_num = (int)round(ntsc) * 1000;
        plan->fps_den = 1001;
    } else if (fabs(f - round(f)) < 0.001) {
        plan->fps_num = (int)round(f);
        plan->fps_den = 1;
    } else {
        plan->fps_num = (int)round(f * 1000);
        plan->fps_den = 1000;
    }
}

static int even(double v)
{
    int n = (int)lround(v);
    return n < 2 ? 2 : n & ~1;
}

/* The frame encoded: [fix] width x height, else the displayed frame
 * (rotation applied), fitted to the preset's aspect ratio and scaled up
 * to its minimum size, even sides (4:2:0). */
static void pick_frame(const vb_config *cfg, const probe_stream *v, fix_plan *plan)
{
    const qc_config *q = &cfg->qc;
    plan->fit = cfg->fix.fit;
    if (cfg->fix.width > 0 && cfg->fix.height > 0) {
        plan->width = cfg->fix.width & ~1;
        plan->height = cfg->fix.height & ~1;
        return;
    }
    double w = v->display_width > 0 ? v->display_width : v->width;
    double h = v->display_height > 0 ? v->display_height : v->height;
    if (w <= 0 || h <= 0)
        w = 1920, h = 1080;
    double sar = v->sar.num > 0 && v->sar.den > 0 ? (double)v->sar.num / v->sar.den : 1;
    w *= sar;
    if (q->aspect_ratio > 0) {
        double want = q->aspect_ratio;
        if (fabs(w / h - want) > q->aspect_tolerance * want) {
            bool grow_w = w / h < want;
            if (cfg->fix.fit == FIX_FIT_CROP)
                grow_w ? (h = w / want) : (w = h * want);
            else
                grow_w ? (w = h * want) : (h = w / want);
        }
    }
    /* As the rule compares: side by side, or with any_orientation the
     * long side with the long one; up to the minimum, down to the
     * maximum. */
    double mw = q->min_width, mh = q->min_height, xw = q->max_width, xh = q->max_height;
    double cw = w, ch = h;
    if (q->any_orientation) {
        mw = fmax(q->min_width, q->min_height);
        mh = fmin(q->min_width, q->min_height);
        xw = fmax(q->max_width, q->max_height);
        xh = fmin(q->max_width, q->max_height);
        if (xh <= 0)
            xh = xw;
        cw = fmax(w, h);
        ch = fmin(w, h);
    }
    double scale = 1;
    if (mw > 0 && cw < mw)
        scale = fmax(scale, mw / cw);
    if (mh > 0 && ch < mh)
        scale = fmax(scale, mh / ch);
    if (xw > 0 && cw * scale > xw)
        scale = xw / cw;
    if (xh > 0 && ch * scale > xh)
        scale = xh / ch;
    plan->width = even(w * scale);
    plan->height = even(h * scale);
}

/* A size cap: the average bit rate that keeps the file under it (5%
 * left for the container and the rate control's swing), less the
 * audio's. */
static int64_t size_bitrate(const vb_config *cfg, const probe_result *p, int64_t audio_bps,
                            double duration)
{
    if (cfg->qc.max_file_size <= 0 || !(duration > 0))
        return 0;
    double total = (double)cfg->qc.max_file_size * 8 * 0.95 / duration;
    int64_t v = (int64_t)(total - (double)audio_bps);
    (void)p;
    return v > 100000 ? v : 100000;
}

static void video_plan(const vb_config *cfg, const probe_result *p, fix_plan *plan,
                       int64_t audio_bps, double duration)
{
    const probe_stream *v = p->video;
    plan->video_encode = true;
    pick_frame(cfg, v, plan);
    pick_fps(cfg, v, plan);
    plan->keyint = (int)lround(cfg->fix.keyint * plan->fps_num / plan->fps_den);
    if (plan->keyint < 1)
        plan->keyint = 1;
    plan->closed_gop = cfg->fix.closed_gop;
    plan->crf = cfg->fix.crf;
    snprintf(plan->x264_preset, sizeof plan->x264_preset, "%s",
             fix_x264_presets[cfg->fix.x264_preset]);
    plan->tonemap = v->hdr && !cfg->qc.hdr_allowed;
    /* The cap: [fix] maxrate, else the preset's limits less the audio. */
    int64_t cap = cfg->fix.maxrate;
    if (cap <= 0 && cfg->qc.video_bitrate_max > 0)
        cap = cfg->qc.video_bitrate_max;
    if (cap <= 0 && cfg->qc.bitrate_max > 0)
        cap = cfg->qc.bitrate_max - audio_bps;
    plan->maxrate = cap > 0 ? cap : 0;
    plan->video_bitrate = size_bitrate(cfg, p, audio_bps, duration);
    if (plan->video_bitrate > 0 && (plan->maxrate == 0 || plan->maxrate > plan->video_bitrate))
        plan->maxrate = plan->video_bitrate;
    plan->bufsize = cfg->fix.bufsize > 0 ? cfg->fix.bufsize : 2 * plan->maxrate;
}

/* The audio rules: how the track is encoded, the gain, the limiter. */
static bool audio_plan_rule(const vb_config *cfg, const probe_result *p,
                            const struct analyse_result *a, const char *rule, fix_plan *plan)
{
    const qc_config *q = &cfg->qc;
    if (strcmp(rule, "audio") == 0) {
        if (q->audio == AUDIO_REQUIRED && !p->audio) {
            if (q->audio_silent_level == RULE_FAIL) {
                say(&plan->unfixable, rule, "a silent track would fail audio_silent (set [qc] "
                                            "audio_silent_level = warn to allow one)");
                return false;
            }
            plan->audio = FIX_AUDIO_ADD_SILENT;
            say(&plan->fixes, rule, "silent AAC track added");
        } else {
            plan->audio = FIX_AUDIO_DROP;
            say(&plan->fixes, rule, "audio dropped");
        }
        return true;
    }
    if (!p->audio) {
        say(&plan->unfixable, rule, "there is no audio to fix");
        return false;
    }
    if (strcmp(rule, "loudness") == 0) {
        if (!a || !isfinite(a->integrated_lufs) || q->loudness_target == 0) {
            say(&plan->unfixable, rule, "needs the loudness measured by the analysis");
            return false;
        }
        plan->gain_db = q->loudness_target - a->integrated_lufs;
        say(&plan->fixes, rule, "gain %+.1f dB (%.1f -> %.1f LUFS)", plan->gain_db,
            a->integrated_lufs, q->loudness_target);
    } else {
        say(&plan->fixes, rule, "true-peak limiter at %.1f dBTP", q->true_peak_max);
    }
    return true;
}

/* After every audio rule is known: the encode's settings, and the
 * limiter only where the gain would push the peak over the ceiling. */
static void audio_settle(const vb_config *cfg, const probe_result *p,
                         const struct analyse_result *a, bool peak_failed, fix_plan *plan)
{
    const qc_config *q = &cfg->qc;
    if (plan->audio == FIX_AUDIO_DROP)
        return;
    if (plan->audio == FIX_AUDIO_COPY)
        plan->audio = FIX_AUDIO_ENCODE;
    plan->sample_rate = cfg->fix.sample_rate;
    if (q->sample_rates.n && !vb_strlist_has(&q->sample_rates, "48000")) {
        char want[16];
        snprintf(want, sizeof want, "%d", plan->sample_rate);
        if (!vb_strlist_has(&q->sample_rates, want))
            plan->sample_rate = atoi(q->sample_rates.v[0]);
    }
    plan->channels = p->audio && p->audio->channels > 2 ? 2 : 0;
    plan->audio_bitrate = cfg->fix.audio_bitrate;
    if (q->audio_bitrate_min > plan->audio_bitrate)
        plan->audio_bitrate = q->audio_bitrate_min;
    double ceiling = q->true_peak_max != 0 ? q->true_peak_max : -1.0;
    plan->ceiling_dbtp = ceiling;
    /* The limiter only where the peak after the gain would pass the
     * ceiling (a peak that fails but the gain brings down needs none);
     * with no measured peak, where the true_peak rule failed. */
    double peak = a && !isnan(a->true_peak) ? a->true_peak + plan->gain_db : NAN;
    plan->limiter = isnan(peak) ? peak_failed : peak > ceiling;
}

/* Trimming: the leading and trailing black, the duration cap. Black in
 * the middle stays: a black rule fixed by trimming only when what is
 * left passes. */
static bool trim_plan_rule(const vb_config *cfg, const probe_result *p,
                           const struct analyse_result *a, const char *rule, fix_plan *plan)
{
    const qc_config *q = &cfg->qc;
    double dur = a && isfinite(a->duration) ? a->duration : p->duration;
    if (!cfg->fix.trim) {
        say(&plan->unfixable, rule, "trimming is off ([fix] trim)");
        return false;
    }
    if (strcmp(rule, "duration_max") == 0) {
        double end = q->duration_max;
        if (isnan(plan->trim_end) || end < plan->trim_end)
            plan->trim_end = end;
        return true;
    }
    if (!a) {
        say(&plan->unfixable, rule, "needs what the analysis finds");
        return false;
    }
    if (strcmp(rule, "leading_silence") == 0 || strcmp(rule, "trailing_silence") == 0) {
        double lead, trail;
        analyse_edge_silence(a, &lead, &trail);
        if (rule[0] == 'l')
            plan->trim_start = fmax(plan->trim_start, lead);
        else if (isfinite(dur) && (isnan(plan->trim_end) || dur - trail < plan->trim_end))
            plan->trim_end = dur - trail;
        return true;
    }
    bool lead = a->leading_black > 0, trail = a->trailing_black > 0 && isfinite(dur);
    bool edges = strncmp(rule, "black_max", 9) == 0;
    if (edges) {
        double left = a->black_total - a->leading_black - a->trailing_black;
        double kept = isfinite(dur) ? dur - a->leading_black - a->trailing_black : NAN;
        bool ok = strcmp(rule, "black_max_seconds") == 0
                ? left <= q->black_max_seconds + 1e-9
                : kept > 0 && left / kept <= q->black_max_share + 1e-9;
        if (!ok || !(lead || trail)) {
            say(&plan->unfixable, rule, "the black is not only at the edges");
            return false;
        }
        say(&plan->fixes, rule, "black at the edges cut");
    }
    if (lead && (edges || strcmp(rule, "leading_black") == 0))
        plan->trim_start = fmax(plan->trim_start, a->leading_black);
    if (trail && (edges || strcmp(rule, "trailing_black") == 0)) {
        double end = dur - a->trailing_black;
        if (isnan(plan->trim_end) || end < plan->trim_end)
            plan->trim_end = end;
    }
    return true;
}

static int rule_index(const char *rule)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(fix_rules); i++)
        if (strcmp(fix_rules[i].rule, rule) == 0)
            return (int)i;
    return -1;
}

/* One failed rule: its action, or why nothing fixes it. */
static bool plan_rule(const vb_config *cfg, const probe_result *p,
                      const struct analyse_result *a, const char *rule, fix_plan *plan)
{
    int i = rule_index(rule);
    if (i < 0) {
        say(&plan->unfixable, rule, "not a rule a fix can satisfy");
        return false;
    }
    int act = fix_rules[i].action;
    if (act < 0) {
        say(&plan->unfixable, rule, "%s", fix_rules[i].why);
        return false;
    }
    if (act == FIX_VIDEO && !p->video) {
        say(&plan->unfixable, rule, "there is no video to fix");
        return false;
    }
    if (act == FIX_VIDEO && strcmp(rule, "video_codec") == 0 &&
        !list_allows(&cfg->qc.video_codecs, "h264")) {
        say(&plan->unfixable, rule, "the preset does not allow H.264, the codec a fix makes");
        return false;
    }
    if ((strcmp(rule, "pix_fmt") == 0 && !list_allows(&cfg->qc.pix_fmts, "yuv420p")) ||
        (strcmp(rule, "video_profile") == 0 && !list_allows(&cfg->qc.video_profiles, "high")) ||
        (strcmp(rule, "bit_depth") == 0 && cfg->qc.max_bit_depth < 8)) {
        say(&plan->unfixable, rule, "the preset does not allow what a fix makes (H.264 High, "
                                    "yuv420p, 8 bits)");
        return false;
    }
    if (act == FIX_AUDIO && strcmp(rule, "audio_codec") == 0 &&
        !list_allows(&cfg->qc.audio_codecs, "aac")) {
        say(&plan->unfixable, rule, "the preset does not allow AAC, the codec a fix makes");
        return false;
    }
    if (act == FIX_AUDIO && !fix_rules[i].why && !audio_plan_rule(cfg, p, a, rule, plan))
        return false;
    if (act == FIX_AUDIO && fix_rules[i].why && !p->audio) {
        say(&plan->unfixable, rule, "there is no audio to fix");
        return false;
    }
    if (act == FIX_TRIM && !trim_plan_rule(cfg, p, a, rule, plan))
        return false;
    if (fix_rules[i].why)
        say(&plan->fixes, rule, "%s", fix_rules[i].why);
    plan->actions[act] = true;
    return true;
}

static bool rule_wanted(const vb_config *cfg, const rule_result *r)
{
    return r->verdict == VERDICT_FAIL || (cfg->fix.warnings && r->verdict == VERDICT_WARN);
}

void fix_plan_make(const vb_config *cfg, const probe_result *p, const struct analyse_result *a,
                   const rule_report *rep, fix_codec_fits fits, fix_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->trim_end = NAN;
    fits = fits ? fits : default_fits;
    bool failed = false, peak_failed = false;
    for (size_t i = 0; i < rep->n; i++) {
        const rule_result *r = &rep->r[i];
        if (!rule_wanted(cfg, r))
            continue;
        failed = true;
        if (plan_rule(cfg, p, a, r->rule, plan) && strcmp(r->rule, "true_peak") == 0)
            peak_failed = true;
    }
    /* A rule nothing fixes: the fix could not make the item pass. */
    if (!failed || plan->unfixable.n > 0) {
        memset(plan->actions, 0, sizeof plan->actions);
        return;
    }
    const char *container = pick_container(&cfg->qc);
    if (!container) {
        say(&plan->unfixable, "container", "the preset allows neither MP4 nor MOV");
        memset(plan->actions, 0, sizeof plan->actions);
        return;
    }
    plan->any = true;
    snprintf(plan->container, sizeof plan->container, "%s", container);
    plan->strip_metadata = cfg->fix.metadata == FIX_META_STRIP;
    plan->actions[FIX_REMUX] = true;
    double dur = a && isfinite(a->duration) ? a->duration : p->duration;
    if (plan->actions[FIX_TRIM]) {
        /* A frame-exact cut: the video is re-encoded (a copy can only cut
         * on key frames). */
        plan->actions[FIX_VIDEO] = p->video != NULL;
        double end = isnan(plan->trim_end) ? dur : plan->trim_end;
        if (isfinite(end) && isfinite(dur))
            dur = end - plan->trim_start;
    }
    /* A copied stream the container does not take is re-encoded. */
    if (p->video && !plan->actions[FIX_VIDEO] && !fits(container, p->video->codec)) {
        say(&plan->fixes, "container", "video %s re-encoded: %s does not take it",
            p->video->codec, container);
        plan->actions[FIX_VIDEO] = true;
    }
    if (p->audio && plan->audio == FIX_AUDIO_COPY && !plan->actions[FIX_AUDIO] &&
        !fits(container, p->audio->codec)) {
        say(&plan->fixes, "container", "audio %s re-encoded: %s does not take it",
            p->audio->codec, container);
        plan->actions[FIX_AUDIO] = true;
    }
    if (plan->actions[FIX_AUDIO])
        audio_settle(cfg, p, a, peak_failed, plan);
    int64_t audio_bps = plan->audio == FIX_AUDIO_DROP ? 0
                      : plan->actions[FIX_AUDIO] ? plan->audio_bitrate
                      : p->audio ? p->audio->bit_rate : 0;
    if (plan->actions[FIX_VIDEO])
        video_plan(cfg, p, plan, audio_bps, dur);
}

static void plan_write_list(writer *w, const char *key, const vb_strlist *l)
{
    writer_begin_array(w, key);
    for (size_t i = 0; i < l->n; i++)
        writer_string(w, NULL, l->v[i]);
    writer_end_array(w);
}

void fix_plan_write(const fix_plan *pl, writer *w)
{
    writer_begin_object(w, "plan");
    writer_begin_array(w, "actions");
    for (int i = 0; i < FIX_NACTIONS; i++)
        if (pl->actions[i])
            writer_string(w, NULL, fix_action_name(i));
    writer_end_array(w);
    plan_write_list(w, "fixes", &pl->fixes);
    plan_write_list(w, "unfixable", &pl->unfixable);
    if (!pl->any) {
        writer_end_object(w);
        return;
    }
    writer_string(w, "container", pl->container);
    writer_bool(w, "strip_metadata", pl->strip_metadata);
    writer_begin_object(w, "video");
    writer_string(w, "mode", pl->video_encode ? "encode" : "copy");
    if (pl->video_encode) {
        writer_int(w, "width", pl->width);
        writer_int(w, "height", pl->height);
        static const char *const fits[] = { "pad", "crop", "scale" };
        writer_string(w, "fit", fits[pl->fit]);
        char fps[32];
        snprintf(fps, sizeof fps, "%d/%d", pl->fps_num, pl->fps_den);
        writer_string(w, "frame_rate", fps);
        writer_int(w, "keyint", pl->keyint);
        writer_bool(w, "closed_gop", pl->closed_gop);
        writer_int(w, "crf", pl->crf);
        writer_string(w, "x264_preset", pl->x264_preset);
        writer_opt_int(w, "maxrate", pl->maxrate);
        writer_opt_int(w, "bufsize", pl->bufsize);
        writer_opt_int(w, "bitrate", pl->video_bitrate);
        writer_bool(w, "tonemap", pl->tonemap);
    }
    writer_end_object(w);
    writer_begin_object(w, "audio");
    static const char *const modes[] = { "copy", "encode", "add_silent", "drop" };
    writer_string(w, "mode", modes[pl->audio]);
    if (pl->audio == FIX_AUDIO_ENCODE || pl->audio == FIX_AUDIO_ADD_SILENT) {
        writer_int(w, "sample_rate", pl->sample_rate);
        writer_opt_int(w, "channels", pl->channels);
        writer_int(w, "bitrate", pl->audio_bitrate);
    }
    if (pl->audio == FIX_AUDIO_ENCODE) {
        writer_double(w, "gain_db", pl->gain_db);
        writer_bool(w, "limiter", pl->limiter);
        if (pl->limiter)
            writer_double(w, "ceiling_dbtp", pl->ceiling_dbtp);
    }
    writer_end_object(w);
    if (pl->actions[FIX_TRIM]) {
        writer_begin_object(w, "trim");
        writer_double(w, "start", pl->trim_start);
        writer_double(w, "end", pl->trim_end);
        writer_end_object(w);
    }
    writer_end_object(w);
}

