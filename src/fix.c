/* fix.c - the fix stage: an item that failed rules a fix can satisfy gets
 * the plan's one pass (transcode.h), and the file it makes is checked
 * again like any input (probe, gates, and the analysis when the pass
 * touched the sound or the picture, or --deep is on). Only a file that
 * passes is delivered: it takes the item's place in OUT/<item>/video/,
 * the original's link moves to OUT/<item>/original/, and the item's
 * verdict, probe.json, analysis.json and figures are the fixed file's.
 * metadata/fix.json keeps the plan, what the pass did, and every figure
 * before -> after. A fix that does not make the item pass is dropped:
 * the original stays where it was, the item stays failed, and fix.json
 * names the rule that still fails. The input is never modified. */
#include "config.h"
#include "fix.h"
#include "analyse.h"
#include "layout.h"
#include "msg.h"
#include "stage.h"
#include "transcode.h"
#include "util.h"
#include "writer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A pass, and up to four more when the loudness it made is off: the
 * AAC encoder's answer to a gain is jumpy (below), and three passes left
 * 1 clip in 20 of bench/fix.sh 0.02 LU off where loudnorm landed 0.01. */
#define FIX_MAX_PASSES 5

static bool fix_wanted(const item *it, const vb_config *cfg)
{
    return cfg->fix.enabled && !it->is_image && it->probe &&
           (it->rr.nfail > 0 || (cfg->fix.warnings && it->rr.nwarn > 0));
}

static bool fix_fits(const char *container, const char *codec)
{
    return transcode_codec_name_fits(container, codec);
}

static int fix_fit(int fit)
{
    return fit == FIX_FIT_CROP ? TRANSCODE_FIT_CROP
         : fit == FIX_FIT_SCALE ? TRANSCODE_FIT_SCALE : TRANSCODE_FIT_PAD;
}

static int fix_audio_mode(int mode)
{
    switch (mode) {
    case FIX_AUDIO_ENCODE:     return TRANSCODE_AUDIO_ENCODE;
    case FIX_AUDIO_ADD_SILENT: return TRANSCODE_AUDIO_ADD_SILENT;
    case FIX_AUDIO_DROP:       return TRANSCODE_AUDIO_DROP;
    default:                   return TRANSCODE_AUDIO_COPY;
    }
}

/* The plan as the engine's job. */
static void fix_job_make(const fix_plan *pl, const char *in, const char *out, int threads,
                         int enc_threads, transcode_job *job)
{
    transcode_job_init(job, in, out);
    job->container = pl->container;
    job->strip_metadata = pl->strip_metadata;
    job->threads = threads;
    job->trim_start = pl->trim_start > 0 ? pl->trim_start : NAN;
    job->trim_end = pl->trim_end;
    if (pl->video_encode) {
        transcode_video *v = &job->video;
        v->mode = TRANSCODE_VIDEO_ENCODE;
        v->width = pl->width;
        v->height = pl->height;
        v->fit = fix_fit(pl->fit);
        v->fps_num = pl->fps_num;
        v->fps_den = pl->fps_den;
        v->gop = pl->keyint;
        v->crf = pl->crf;
        v->bitrate = pl->video_bitrate;
        v->maxrate = pl->maxrate;
        v->bufsize = pl->bufsize;
        v->preset = pl->x264_preset;
        v->threads = enc_threads;
        v->tonemap = pl->tonemap;
    }
    transcode_audio *a = &job->audio;
    a->mode = fix_audio_mode(pl->audio);
    a->sample_rate = pl->sample_rate;
    a->channels = pl->channels;
    a->bitrate = pl->audio_bitrate;
    a->gain_db = pl->gain_db;
    a->limit_dbtp = pl->limiter ? pl->ceiling_dbtp : NAN;
}

/* What the fixed file was found to be: its probe, checks and analysis. */
typedef struct fix_check {
    probe_result *probe;
    analyse_result *analysis;
    rule_report rr;
} fix_check;

static void fix_check_clear(fix_check *c)
{
    probe_result_free(&c->probe);
    analyse_result_free(&c->analysis);
    rules_report_free(&c->rr);
}

/* Whether the pass left the picture as the first analysis saw it: its
 * packets copied one for one from the start (no cut), so decoding them
 * again finds the same black, freezes and frames. The analysis must have
 * been made with today's settings, to the end, and without a damaged
 * packet (its error counts do not say which stream they came from). */
static bool fix_picture_kept(const vb_config *cfg, const fix_plan *pl,
                             const transcode_result *tr, const analyse_result *ba)
{
    return ba && ba->has_video && !pl->video_encode && tr->video_packets_copied > 0 &&
           tr->video_frames == 0 && !(pl->trim_start > 0) &&
           !(isfinite(pl->trim_end) && pl->trim_end >= 0) && ba->mode == cfg->analyse.mode &&
           !ba->incomplete && ba->decode_errors == 0 && ba->corrupt_frames == 0;
}

static analyse_segment *fix_segments(const analyse_segment *v, size_t n)
{
    if (n == 0)
        return NULL;
    analyse_segment *d = vb_xcalloc(n, sizeof *d);
    memcpy(d, v, n * sizeof *d);
    return d;
}

/* The first analysis's picture figures in the sound-only analysis of the
 * fixed file, as a whole decode of it would give them. */
static void fix_merge_picture(analyse_result *r, const analyse_result *ba)
{
    r->has_video = true;
    r->black = fix_segments(ba->black, ba->nblack);
    r->nblack = ba->nblack;
    r->freeze = fix_segments(ba->freeze, ba->nfreeze);
    r->nfreeze = ba->nfreeze;
    r->black_total = ba->black_total;
    double base = isfinite(r->duration) && r->duration > 0 ? r->duration : ba->video_end;
    r->black_share = base > 0 ? ba->black_total / base : NAN;
    r->leading_black = ba->leading_black;
    r->trailing_black = ba->trailing_black;
    r->freeze_max = ba->freeze_max;
    r->timestamp_gaps += ba->timestamp_gaps;
    r->video_frames = ba->video_frames;
    r->video_end = ba->video_end;
}

/* The fixed file through the probe, the gates and, when asked, the
 * analysis: the same checks an input gets. A picture the pass copied
 * untouched is not decoded again (kept: the first analysis, or NULL). */
static int fix_recheck(item *it, const vb_config *cfg, const char *path, bool analyse,
                       const analyse_result *kept, fix_check *c, vb_error *e)
{
    if (probe_file(path, &it->clock, &c->probe, e) != 0)
        return -1;
    rules_eval(&cfg->qc, c->probe, &c->rr);
    if (!analyse)
        return 0;
    const item_env *env = it->env;
    int threads = env->decode_threads ? env->decode_threads(env->ud, true, c->probe->duration)
                                      : 1;
    analyse_config ac = cfg->analyse;
    ac.skip_video = kept != NULL && c->probe->audio != NULL;
    /* A new picture no gate looks at: decoded to the end, not scanned. */
    ac.no_picture_filters = !ac.skip_video && analyse_picture_unwatched(cfg);
    if (analyse_loudness_unwatched(cfg))
        ac.loudness = false;
    if (analyse_file(path, &ac, threads, &it->clock, NULL, &c->analysis, e) != 0)
        return -1;
    if (ac.skip_video)
        fix_merge_picture(c->analysis, kept);
    rules_eval_analysis(&cfg->qc, c->analysis, &c->rr);
    return 0;
}

/* One pass of the plan and the check of what it made. */
static int fix_attempt(item *it, const vb_config *cfg, const fix_plan *pl, const char *tmp,
                       int threads, bool analyse, const analyse_result *ba,
                       transcode_result *tr, fix_check *after, vb_error *e)
{
    transcode_job job;
    /* x264's own choice, a thread and a half a core, is for an encoder
     * alone; beside other workers a thread a core loses less to its
     * threads' hand-overs (3% of a batch's CPU time in bench/fix.sh). */
    int enc_threads = it->env && it->env->workers > 1 ? util_ncpu() : 0;
    fix_job_make(pl, it->media, tmp, threads, enc_threads, &job);
    if (transcode_run(&job, &it->clock, tr, e) != 0)
        return -1;
    const analyse_result *kept = fix_picture_kept(cfg, pl, tr, ba) ? ba : NULL;
    return fix_recheck(it, cfg, tmp, analyse, kept, after, e);
}

/* The loudness a pass made differs from the one meant: the limiter held
 * loud moments down, or the encoder's band limit took some energy. When
 * the loudness is all that still fails, or (with the picture copied, so
 * that a pass costs little) it passes but is more than a hundredth of a
 * LU off the target (ebur128 prints tenths), the gain is corrected by the
 * difference and the pass made again (FIX_MAX_PASSES in all). A pass
 * that lands within the hundredth ends the search: most end after one
 * or two, which pays for the few that need five. */
#define FIX_LOUDNESS_EXACT 0.01

static bool fix_more_gain(const vb_config *cfg, const fix_plan *pl, const fix_check *c,
                          double *extra)
{
    if (pl->audio != FIX_AUDIO_ENCODE || pl->gain_db == 0 || !c->analysis ||
        !isfinite(c->analysis->integrated_lufs) || cfg->qc.loudness_target == 0)
        return false;
    for (size_t i = 0; i < c->rr.n; i++)
        if (c->rr.r[i].verdict == VERDICT_FAIL && strcmp(c->rr.r[i].rule, "loudness") != 0)
            return false;
    *extra = cfg->qc.loudness_target - c->analysis->integrated_lufs;
    if (c->rr.nfail > 0)
        return pl->limiter ? *extra > 0 : fabs(*extra) > FIX_LOUDNESS_EXACT;
    return !pl->video_encode && fabs(*extra) > FIX_LOUDNESS_EXACT;
}

/* How far the loudness a check found is from the target (infinity when
 * there is no figure). */
static double fix_loudness_off(const vb_config *cfg, const fix_check *c)
{
    if (!c->analysis || !isfinite(c->analysis->integrated_lufs))
        return INFINITY;
    return fabs(cfg->qc.loudness_target - c->analysis->integrated_lufs);
}

/* Whether the check a is better than b: fewer failures, then nearer
 * the loudness target. */
static bool fix_better(const vb_config *cfg, const fix_check *a, const fix_check *b)
{
    if (a->rr.nfail != b->rr.nfail)
        return a->rr.nfail < b->rr.nfail;
    return fix_loudness_off(cfg, a) < fix_loudness_off(cfg, b);
}

/* The passes tried: the last one, and the nearest that landed under and
 * over the loudness target. */
typedef struct fix_bracket {
    double last_gain, last_lufs;
    double lo_gain, lo_lufs, hi_gain, hi_lufs;
} fix_bracket;

/* The gain of the next pass, after one of `gain` gave `got`. The
 * encoder's answer to a gain is neither a straight line nor one of slope
 * 1: a limiter that holds more of a louder signal, AAC's clipping
 * avoidance, and steps where its choices per band change all bend it. So:
 * between a gain known to land under and one over, the point where the
 * line through them crosses the target; else the line through the last
 * two passes, when its slope is a sane one; else the plain correction. */
static double fix_next_gain(fix_bracket *b, double target, double gain, double got)
{
    double slope = NAN;
    if (!isnan(b->last_gain) && gain != b->last_gain)
        slope = (got - b->last_lufs) / (gain - b->last_gain);
    b->last_gain = gain;
    b->last_lufs = got;
    if (got < target && (isnan(b->lo_gain) || got > b->lo_lufs)) {
        b->lo_gain = gain;
        b->lo_lufs = got;
    } else if (got >= target && (isnan(b->hi_gain) || got < b->hi_lufs)) {
        b->hi_gain = gain;
        b->hi_lufs = got;
    }
    if (!isnan(b->lo_gain) && !isnan(b->hi_gain) && b->hi_lufs > b->lo_lufs)
        return b->lo_gain + (b->hi_gain - b->lo_gain) * (target - b->lo_lufs) /
                                (b->hi_lufs - b->lo_lufs);
    if (slope >= 0.2 && slope <= 2)
        return gain + (target - got) / slope;
    return gain + (target - got);
}

/* The passes of the plan into tmp. A pass after the first corrects the
 * gain by what the one before missed; the AAC encoder does not answer a
 * gain linearly (its choices per band move with the level: a 0.01 dB
 * step gave 0.05 LU), so a correction can land farther off than the pass
 * it corrects. The best pass is kept aside and is the one delivered:
 * after the loop, tmp, tr, after and the plan's gain are its. */
static int fix_passes(item *it, const vb_config *cfg, fix_plan *pl, const char *tmp,
                      int threads, bool analyse, const analyse_result *ba,
                      transcode_result *tr, fix_check *after, int *passes, double *seconds,
                      vb_error *e)
{
    char *kept = NULL;
    fix_check best = {0};
    transcode_result best_tr = {0};
    double best_gain = pl->gain_db;
    fix_bracket br = { NAN, NAN, NAN, NAN, NAN, NAN };
    double next = NAN;
    int rc;
    for (;;) {
        ++*passes;
        rc = fix_attempt(it, cfg, pl, tmp, threads, analyse, ba, tr, after, e);
        *seconds += tr->seconds;
        double extra = 0;
        bool more = rc == 0 && *passes < FIX_MAX_PASSES && fix_more_gain(cfg, pl, after, &extra);
        if (more)
            next = fix_next_gain(&br, cfg->qc.loudness_target, pl->gain_db,
                                 after->analysis->integrated_lufs);
        if (!kept && !more)
            return rc;
        if (rc == 0 && (!kept || fix_better(cfg, after, &best))) {
            if (!kept)
                kept = util_temp_name(tmp);
            if (rename(tmp, kept) != 0) {
                rc = vb_fail(e, VB_ERR_IO, "%s: cannot keep a pass aside: %s", kept,
                             strerror(errno));
                break;
            }
            fix_check_clear(&best);
            best = *after;
            memset(after, 0, sizeof *after);
            best_tr = *tr;
            best_gain = pl->gain_db;
        } else {
            fix_check_clear(after);
            unlink(tmp);
        }
        if (!more)
            break;
        pl->gain_db = next;
    }
    if (rc == 0 || best.probe) {
        /* A pass after a good one failed: the good one stands. */
        if (rename(kept, tmp) != 0) {
            rc = vb_fail(e, VB_ERR_IO, "%s: cannot take back the best pass: %s", tmp,
                         strerror(errno));
        } else {
            rc = 0;
            fix_check_clear(after);
            *after = best;
            memset(&best, 0, sizeof best);
            *tr = best_tr;
            pl->gain_db = best_gain;
        }
    }
    unlink(kept);
    free(kept);
    fix_check_clear(&best);
    return rc;
}

/* ---- fix.json ---- */

static void fix_write_list(writer *w, const char *key, const vb_strlist *l)
{
    writer_begin_array(w, key);
    for (size_t i = 0; i < l->n; i++)
        writer_string(w, NULL, l->v[i]);
    writer_end_array(w);
}

/* What the pass did (the last one, of `passes`; seconds over all). */
static void fix_write_result(writer *w, const transcode_result *r, int passes, double seconds)
{
    writer_begin_object(w, "pass");
    writer_int(w, "passes", passes);
    writer_double(w, "seconds", seconds);
    writer_double(w, "duration", r->duration);
    writer_int(w, "video_frames_encoded", r->video_frames);
    writer_int(w, "audio_frames_encoded", r->audio_frames);
    writer_int(w, "video_packets_copied", r->video_packets_copied);
    writer_int(w, "audio_packets_copied", r->audio_packets_copied);
    writer_int(w, "decode_errors", r->decode_errors);
    writer_int(w, "rotation_applied", r->rotation);
    writer_bool(w, "tonemapped", r->tonemapped);
    writer_bool(w, "limiter", r->limiter);
    writer_double(w, "peak_before_limiter", r->peak_before_limit);
    writer_bool(w, "limiter_engaged", r->limiter_engaged);
    writer_double(w, "cut_start", r->cut_start);
    writer_double(w, "read_from", r->read_from);
    writer_end_object(w);
}

/* One figure before -> after; the pair only when either is known. */
static void fix_figure(writer *w, const char *name, double before, double after)
{
    if (!isfinite(before) && !isfinite(after))
        return;
    writer_begin_object(w, NULL);
    writer_string(w, "name", name);
    writer_double(w, "before", before);
    writer_double(w, "after", after);
    writer_end_object(w);
}

static void fix_figure_str(writer *w, const char *name, const char *before, const char *after)
{
    if (!before && !after)
        return;
    writer_begin_object(w, NULL);
    writer_string(w, "name", name);
    writer_string(w, "before", before);
    writer_string(w, "after", after);
    writer_end_object(w);
}

static double fix_fps(const probe_stream *v)
{
    return v && v->avg_frame_rate.den > 0 ? (double)v->avg_frame_rate.num / v->avg_frame_rate.den
                                          : NAN;
}

#define FIX_NUM(x) ((double)(x))
#define FIX_V(p, f) ((p)->video ? FIX_NUM((p)->video->f) : NAN)
#define FIX_A(p, f) ((p)->audio ? FIX_NUM((p)->audio->f) : NAN)
#define FIX_AN(a, f) ((a) ? (a)->f : NAN)

static void fix_write_figures(writer *w, const probe_result *b, const analyse_result *ba,
                              const probe_result *a, const analyse_result *aa)
{
    writer_begin_array(w, "figures");
    fix_figure_str(w, "container", b->container, a->container);
    fix_figure(w, "duration", b->duration, a->duration);
    fix_figure(w, "size", FIX_NUM(b->size), FIX_NUM(a->size));
    fix_figure(w, "bit_rate", FIX_NUM(b->bit_rate), FIX_NUM(a->bit_rate));
    fix_figure(w, "faststart", b->faststart, a->faststart);
    fix_figure_str(w, "video_codec", b->video ? b->video->codec : NULL,
                   a->video ? a->video->codec : NULL);
    fix_figure_str(w, "video_profile", b->video ? b->video->profile : NULL,
                   a->video ? a->video->profile : NULL);
    fix_figure_str(w, "pix_fmt", b->video ? b->video->pix_fmt : NULL,
                   a->video ? a->video->pix_fmt : NULL);
    fix_figure(w, "display_width", FIX_V(b, display_width), FIX_V(a, display_width));
    fix_figure(w, "display_height", FIX_V(b, display_height), FIX_V(a, display_height));
    fix_figure(w, "frame_rate", fix_fps(b->video), fix_fps(a->video));
    fix_figure(w, "video_bit_rate", FIX_V(b, bit_rate), FIX_V(a, bit_rate));
    fix_figure_str(w, "audio_codec", b->audio ? b->audio->codec : NULL,
                   a->audio ? a->audio->codec : NULL);
    fix_figure(w, "sample_rate", FIX_A(b, sample_rate), FIX_A(a, sample_rate));
    fix_figure(w, "channels", FIX_A(b, channels), FIX_A(a, channels));
    fix_figure(w, "audio_bit_rate", FIX_A(b, bit_rate), FIX_A(a, bit_rate));
    fix_figure(w, "integrated_lufs", FIX_AN(ba, integrated_lufs), FIX_AN(aa, integrated_lufs));
    fix_figure(w, "true_peak", FIX_AN(ba, true_peak), FIX_AN(aa, true_peak));
    fix_figure(w, "leading_black", FIX_AN(ba, leading_black), FIX_AN(aa, leading_black));
    fix_figure(w, "trailing_black", FIX_AN(ba, trailing_black), FIX_AN(aa, trailing_black));
    writer_end_array(w);
}

/* The failed rules of a report, as names. */
static void fix_failed(const rule_report *rr, vb_strlist *out)
{
    for (size_t i = 0; i < rr->n; i++)
        if (rr->r[i].verdict == VERDICT_FAIL)
            vb_strlist_add(out, rr->r[i].rule);
}

/* ---- the stage ---- */

/* "fixed: faststart, loudness -21.8 -> -14.0 LUFS", for the reports. */
static char *fix_summary(const fix_plan *pl, const analyse_result *ba, const analyse_result *aa)
{
    char *s = vb_xstrdup("fixed:");
    for (int i = 0; i < FIX_NACTIONS; i++) {
        if (!pl->actions[i])
            continue;
        char *n;
        if (i == FIX_AUDIO && pl->gain_db != 0 && ba && aa && isfinite(ba->integrated_lufs) &&
            isfinite(aa->integrated_lufs))
            n = vb_xasprintf("%s%s loudness %.1f -> %.1f LUFS", s, s[6] ? "," : "",
                             ba->integrated_lufs, aa->integrated_lufs);
        else
            n = vb_xasprintf("%s%s %s", s, s[6] ? "," : "", fix_action_name(i));
        free(s);
        s = n;
    }
    return s;
}

/* The fixed file delivered: renamed into video/ under the original's
 * name with the container's extension; the item now describes it. */
static int fix_deliver(item *it, const fix_plan *pl, const char *tmp, fix_check *c,
                       vb_error *e)
{
    char *stem = vb_xstrdup(it->fname);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    char *name = vb_xasprintf("%s.%s", stem, pl->container);
    free(stem);
    char *final = util_path_join(it->video_dir, name);
    free(name);
    /* A download or a generation has no other copy: it moves to
     * original/ before anything takes its place. */
    if (it->en.is_url || it->fed) {
        char *dir = util_path_join(it->item_dir, "original");
        char *orig = util_path_join(dir, it->fname);
        int rc = util_mkdir_p(dir, e);
        if (rc == 0 && rename(it->placed, orig) != 0)
            rc = vb_fail(e, VB_ERR_IO, "%s: cannot move the original to %s: %s", it->placed,
                         orig, strerror(errno));
        free(orig);
        free(dir);
        if (rc != 0) {
            free(final);
            return -1;
        }
    }
    if (rename(tmp, final) != 0) {
        vb_fail(e, VB_ERR_IO, "%s: cannot rename the fixed file into place: %s", final,
                strerror(errno));
        free(final);
        return -1;
    }
    free(it->fixed);
    it->fixed = final;
    it->media = it->fixed;
    probe_result_free(&it->probe);
    it->probe = c->probe;
    c->probe = NULL;
    /* probe.json names the delivered file, not the temporary name. */
    free(it->probe->path);
    it->probe->path = vb_xstrdup(final);
    analyse_result_free(&it->analysis);
    it->analysis = c->analysis;
    c->analysis = NULL;
    rules_report_free(&it->rr);
    it->rr = c->rr;
    memset(&c->rr, 0, sizeof c->rr);
    return 0;
}

/* probe.json and analysis.json describe the delivered file. */
static int fix_rewrite_meta(item *it, vb_error *e)
{
    item_record_probe(&it->rec, it->probe);
    writer *w = item_meta_writer();
    probe_write(it->probe, w);
    writer_end_object(w);
    if (item_meta_save(it, "probe.json", w, e) != 0)
        return -1;
    if (!it->analysis)
        return 0;
    item_record_analysis(&it->rec, it->analysis);
    w = item_meta_writer();
    analyse_write(it->analysis, w);
    writer_end_object(w);
    return item_meta_save(it, "analysis.json", w, e);
}

typedef struct fix_done {
    const transcode_result *tr;  /* NULL: no pass made */
    int passes;
    double seconds;
} fix_done;

static int fix_save_json(item *it, const fix_plan *pl, const fix_done *done,
                         const probe_result *bp, const analyse_result *ba, const fix_check *after,
                         const vb_strlist *still, bool fixed, vb_error *e)
{
    writer *w = item_meta_writer();
    writer_bool(w, "fixed", fixed);
    fix_plan_write(pl, w);
    if (done && done->tr)
        fix_write_result(w, done->tr, done->passes, done->seconds);
    fix_write_list(w, "still_failing", still);
    if (after && after->probe)
        fix_write_figures(w, bp, ba, after->probe, after->analysis);
    writer_end_object(w);
    return item_meta_save(it, "fix.json", w, e);
}

static int fix_run(item *it, const vb_config *cfg, vb_error *e)
{
    fix_plan pl;
    fix_plan_make(cfg, it->probe, it->analysis, &it->rr, fix_fits, &pl);
    int rc = 0;
    if (!pl.any) {
        char *why = vb_strlist_join(&pl.unfixable, "; ");
        free(it->rec.fix);
        it->rec.fix = vb_xasprintf("not fixed: %s", why);
        free(why);
        rc = fix_save_json(it, &pl, NULL, NULL, NULL, NULL, &pl.unfixable, false, e);
        fix_plan_clear(&pl);
        return rc;
    }
    if (util_mkdir_p(it->video_dir, e) != 0) {
        fix_plan_clear(&pl);
        return -1;
    }
    char *target = util_path_join(it->video_dir, it->fname);
    char *tmp = util_temp_name(target);
    free(target);
    const item_env *env = it->env;
    /* An encode takes what the codecs would (x264: frame threads over
     * every core): the other workers' probes and re-checks leave cores
     * idle that a single-threaded encoder could not use. */
    int threads = pl.video_encode || !env->decode_threads
                      ? 0 : env->decode_threads(env->ud, false, it->probe->duration);
    transcode_result tr = {0};
    fix_check after = {0};
    vb_strlist still = {0};
    /* Before the item describes the fixed file: the figures before. */
    probe_result *bp = it->probe;
    analyse_result *ba = it->analysis;
    bool analyse = fix_plan_touches_media(&pl) || it->analysis != NULL;
    int passes = 0;
    double seconds = 0;
    rc = fix_passes(it, cfg, &pl, tmp, threads, analyse, ba, &tr, &after, &passes, &seconds, e);
    bool pass = rc == 0 && after.rr.nfail == 0;
    if (rc == 0)
        fix_failed(&after.rr, &still);
    /* The before figures outlive the swap: held until fix.json is written. */
    it->probe = NULL;
    it->analysis = NULL;
    if (pass) {
        rule_report keep = it->rr;
        memset(&it->rr, 0, sizeof it->rr);
        rc = fix_deliver(it, &pl, tmp, &after, e);
        if (rc != 0) {
            it->rr = keep;
            it->probe = bp;
            it->analysis = ba;
            bp = NULL;
            ba = NULL;
        } else {
            rules_report_free(&keep);
            free(it->rec.fix);
            it->rec.fix = fix_summary(&pl, ba, it->analysis);
            vb_strlist_clear(&it->rec.fix_actions);
            for (int i = 0; i < FIX_NACTIONS; i++)
                if (pl.actions[i])
                    vb_strlist_add(&it->rec.fix_actions, fix_action_name(i));
            fix_check shown = { .probe = it->probe, .analysis = it->analysis };
            fix_done done = { &tr, passes, seconds };
            rc = fix_save_json(it, &pl, &done, bp, ba, &shown, &still, true, e);
            if (rc == 0)
                rc = fix_rewrite_meta(it, e);
        }
    } else {
        it->probe = bp;
        it->analysis = ba;
        bp = NULL;
        ba = NULL;
        if (rc == 0) {
            /* Checked, and still failing: the original stays. */
            char *rules = vb_strlist_join(&still, ", ");
            free(it->rec.fix);
            it->rec.fix = vb_xasprintf("not fixed: %s still %s after the fix", rules,
                                       still.n > 1 ? "fail" : "fails");
            free(rules);
            fix_done done = { &tr, passes, seconds };
            rc = fix_save_json(it, &pl, &done, it->probe, it->analysis, &after, &still, false, e);
        }
        unlink(tmp);
    }
    probe_result_free(&bp);
    analyse_result_free(&ba);
    fix_check_clear(&after);
    vb_strlist_clear(&still);
    free(tmp);
    fix_plan_clear(&pl);
    return rc;
}

const stage stage_fix = { STAGE_FIX, "fix", fix_wanted, fix_run };
