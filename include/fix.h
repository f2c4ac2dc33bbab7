/* fix.h - fixing what fails: the plan.
 *
 * An item that fails rules a fix can satisfy gets the cheapest fix that
 * satisfies all of them, made in one pass over the file (transcode.h)
 * and checked again like any input. fix_plan decides it: a pure function
 * from the item's failed rules, what the probe and the analysis found,
 * and the preset, to a list of actions, cheapest first:
 *
 *   remux    streams copied packet for packet into MP4 (or MOV), index
 *            first, no edit lists, metadata kept or stripped
 *   audio    the audio re-encoded (AAC-LC), a linear loudness gain, a
 *            true-peak limiter only where the gain would pass the
 *            ceiling, a silent track added, or the audio dropped
 *   video    H.264 High yuv420p 8-bit at a constant frame rate, rotation
 *            applied, scaled to the target frame (pad, crop or scale),
 *            key frames at an interval, CRF capped by a bit rate
 *   trim     leading and trailing black cut, the duration capped
 *
 * Every fix ends with the remux (it writes the delivered file), so a
 * plan with any action also satisfies faststart and the container. The
 * actions are not separate passes: one decode and one encode at most, so
 * a clip is never re-encoded twice. */
#ifndef VB_FIX_H
#define VB_FIX_H

#include "vbatch.h"
#include "preset.h"
#include "probe.h"
#include "rules.h"
#include "strlist.h"

struct analyse_result;

enum fix_action { FIX_REMUX = 0, FIX_AUDIO, FIX_VIDEO, FIX_TRIM, FIX_NACTIONS };

enum fix_audio_mode { FIX_AUDIO_COPY = 0, FIX_AUDIO_ENCODE, FIX_AUDIO_ADD_SILENT,
                      FIX_AUDIO_DROP };

typedef struct fix_plan {
    bool any;                    /* some failed rule gets fixed */
    bool actions[FIX_NACTIONS];
    /* Per failed rule: what fixes it ("faststart: remux"), or why nothing
     * can ("duration_min: a fix cannot make a clip longer"). */
    vb_strlist fixes, unfixable;

    /* remux */
    char container[8];           /* "mp4" or "mov" */
    bool strip_metadata;

    /* audio */
    int audio;                   /* enum fix_audio_mode */
    int sample_rate, channels;   /* ENCODE / ADD_SILENT; channels 0: keep */
    int64_t audio_bitrate;
    double gain_db;              /* applied with ENCODE (0: none) */
    bool limiter;                /* the gain would pass the ceiling */
    double ceiling_dbtp;

    /* video */
    bool video_encode;
    int width, height;           /* the frame encoded */
    int fit;                     /* enum fix_fit */
    int fps_num, fps_den;        /* constant frame rate */
    int keyint;                  /* frames between key frames */
    bool closed_gop;
    int crf;
    int64_t maxrate, bufsize;    /* bit/s; 0: no cap */
    int64_t video_bitrate;       /* a size cap's average; 0: CRF */
    bool tonemap;                /* HDR to SDR */
    char x264_preset[16];

    /* trim: seconds of the input; start 0 and end NAN: none */
    double trim_start, trim_end;
} fix_plan;

/* Does a stream of this codec (probe's short name, "h264") fit in the
 * container (remux's "mp4"/"mov")? Supplied by the caller, so that the
 * plan stays pure; NULL: only h264, hevc and aac fit. */
typedef bool (*fix_codec_fits)(const char *container, const char *codec);

/* The plan for an item whose rules rep were evaluated on what p and a
 * (NULL: no analysis) found. Never fails; plan->any false: nothing to do
 * (no failed rule, or none fixable: plan->unfixable says why). */
void fix_plan_make(const vb_config *cfg, const probe_result *p, const struct analyse_result *a,
                   const rule_report *rep, fix_codec_fits fits, fix_plan *plan);
void fix_plan_clear(fix_plan *plan);
/* "remux", "audio", "video", "trim". */
const char *fix_action_name(int action);
/* Would the plan's output need the decode analysis to be checked again
 * (the audio or the video was touched)? */
bool fix_plan_touches_media(const fix_plan *plan);
struct writer;
/* The plan as a "plan" object of the current one (fix.json, the dry run). */
void fix_plan_write(const fix_plan *plan, struct writer *w);

#endif
