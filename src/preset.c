/* preset.c - the effective configuration: built-in defaults, then INI
 * layers (a preset, --config files) applied on top, read with inih.
 *
 * One table (`keys` below) names every section and key with its type and
 * field; parsing, copying, freeing and writing are all driven from it, so
 * a key can not be readable but missing from `vbatch presets NAME` output.
 *
 * inih (Debian r55) is built without INI_HANDLER_LINENO, so the handler is
 * not told the line. We feed inih through ini_parse_stream() with our own
 * line reader over the file's text, which counts lines as it hands them
 * out; the handler therefore knows the exact line of every key. */
#include "config.h"
#include "vb-paths.h"
#include "preset.h"
#include "jobs.h"
#include "provider.h"
#include "util.h"
#include "writer.h"

#include <ini.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRESET_MAX_DEPTH 8              /* inherit chain, the file included */
#define PRESET_MAX_FILE (1024 * 1024)   /* a preset is a few hundred bytes */

/* ---- key table ---- */

enum ktype {
    K_STRING, K_INHERIT, K_BOOL, K_INT, K_DOUBLE, K_RATE, K_BITRATE, K_SIZE,
    K_RATIO, K_LEVEL, K_WORDS, K_SAMPLE_RATES, K_ENUM,
    K_SDOUBLE,  /* a double that may be negative (LUFS, dBTP, dB) */
    K_TIMES,    /* a list of times in seconds, kept as words */
    K_COLUMN,   /* a string: the default of a JOBS.csv column, checked as a cell */
    K_PROVIDER, /* a string: a provider name (provider_find) */
    K_URL,      /* a string: an http:// or https:// URL */
};

#define F_POSITIVE 1  /* must be > 0, not just >= 0 */
#define F_UNSET0   2  /* 0 means "no limit": written as null */
#define F_REDACT   4  /* K_URL: written as scheme://host/... only (a
                         webhook's URL is often its secret) */
#define F_EMPTY    8  /* K_URL: optional, an empty value unsets it */

typedef struct keydef {
    const char *section;
    const char *key;
    int type;         /* enum ktype */
    size_t off;       /* offset in vb_config */
    int flags;
    const char *const *names; /* K_ENUM: the values, index = stored int */
    int max;                  /* K_INT: largest value allowed, 0 = none */
} keydef;

#define KD(sec, key, type, field, flags) \
    { sec, key, type, offsetof(vb_config, field), flags, NULL, 0 }
#define KE(sec, key, field, names) \
    { sec, key, K_ENUM, offsetof(vb_config, field), 0, names, 0 }

static const char *const sections[] = { "preset", "batch", "input", "qc", "analyse",
                                        "thumbnails", "output", "fix", "generate",
                                        "provider.kling", "provider.fal", "notify" };

static const char *const audio_names[] = {
    [AUDIO_OPTIONAL] = "optional", [AUDIO_REQUIRED] = "required",
    [AUDIO_FORBIDDEN] = "forbidden",
    NULL,
};
static const char *const mode_names[] = { "full", "keyframes", NULL };
static const char *const format_names[] = { "jpeg", "webp", "png", NULL };
static const char *const errh_names[] = {
    [ERRH_CONTINUE] = "continue", [ERRH_STOP] = "stop", NULL,
};

static const char *const warnings_names[] = {
    [WARNINGS_PASS] = "pass", [WARNINGS_FAIL] = "fail", NULL,
};

static const char *const csv_sep_names[] = {
    [CSV_COMMA] = "comma", [CSV_SEMICOLON] = "semicolon", NULL,
};

static const char *const json_lines_names[] = {
    [JSON_LINES_AUTO] = "auto", [JSON_LINES_YES] = "yes", [JSON_LINES_NO] = "no", NULL,
};

static const char *const outside_names[] = {
    [OUTSIDE_REFUSE] = "refuse", [OUTSIDE_ALLOW] = "allow", NULL,
};

static const char *const rpm_counts_names[] = {
    [RPM_COUNTS_ALL] = "all", [RPM_COUNTS_CREATES] = "creates", NULL,
};

static const char *const kling_api_names[] = {
    [KLING_API_AUTO] = "auto", [KLING_API_LEGACY] = "legacy", [KLING_API_CURRENT] = "current",
    NULL,
};

static const char *const fit_names[] = {
    [FIX_FIT_PAD] = "pad", [FIX_FIT_CROP] = "crop", [FIX_FIT_SCALE] = "scale", NULL,
};
static const char *const metadata_names[] = {
    [FIX_META_KEEP] = "keep", [FIX_META_STRIP] = "strip", NULL,
};
const char *const fix_x264_presets[] = {
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
    "veryslow", NULL,
};

static int name_index(const char *const *names, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

int preset_error_handling(const char *name)
{
    return name_index(errh_names, name);
}

int preset_outside_links(const char *name)
{
    return name_index(outside_names, name);
}

static const keydef keys[] = {
    KD("preset", "description", K_STRING, description, 0),
    KD("preset", "inherit", K_INHERIT, name, 0),

    KD("batch", "jobs", K_INT, batch.jobs, 0),
    KE("batch", "error_handling", batch.error_handling, errh_names),
    KE("batch", "warnings", batch.warnings, warnings_names),
    KD("batch", "item_timeout", K_DOUBLE, batch.item_timeout, F_UNSET0),
    KD("batch", "stall_timeout", K_DOUBLE, batch.stall_timeout, F_UNSET0),
    { "batch", "retries", K_INT, offsetof(vb_config, batch.retries), 0, NULL, 100 },
    KD("batch", "retry_backoff", K_DOUBLE, batch.retry_backoff, 0),
    KD("batch", "grace_period", K_DOUBLE, batch.grace_period, 0),

    KD("input", "patterns", K_WORDS, input.patterns, 0),
    KD("input", "exclude", K_WORDS, input.exclude, 0),
    KD("input", "recursive", K_BOOL, input.recursive, 0),
    KE("input", "outside_links", input.outside_links, outside_names),
    KD("input", "max_download_size", K_SIZE, input.max_download_size, F_UNSET0),
    KD("input", "download_retries", K_INT, input.download_retries, 0),
    KD("input", "download_timeout", K_DOUBLE, input.download_timeout, F_POSITIVE),
    KD("input", "download_backoff", K_DOUBLE, input.download_backoff, 0),

    KD("qc", "video_level", K_LEVEL, qc.video_level, 0),
    KD("qc", "duration_min", K_DOUBLE, qc.duration_min, F_UNSET0),
    KD("qc", "duration_max", K_DOUBLE, qc.duration_max, F_UNSET0),
    KD("qc", "duration_level", K_LEVEL, qc.duration_level, 0),
    KD("qc", "min_width", K_INT, qc.min_width, F_UNSET0),
    KD("qc", "min_height", K_INT, qc.min_height, F_UNSET0),
    KD("qc", "max_width", K_INT, qc.max_width, F_UNSET0),
    KD("qc", "max_height", K_INT, qc.max_height, F_UNSET0),
    KD("qc", "any_orientation", K_BOOL, qc.any_orientation, 0),
    KD("qc", "resolution_level", K_LEVEL, qc.resolution_level, 0),
    KD("qc", "aspect_ratio", K_RATIO, qc.aspect_ratio, F_UNSET0),
    KD("qc", "aspect_tolerance", K_DOUBLE, qc.aspect_tolerance, 0),
    KD("qc", "aspect_level", K_LEVEL, qc.aspect_level, 0),
    KD("qc", "containers", K_WORDS, qc.containers, 0),
    KD("qc", "container_level", K_LEVEL, qc.container_level, 0),
    KD("qc", "video_codecs", K_WORDS, qc.video_codecs, 0),
    KD("qc", "video_codec_level", K_LEVEL, qc.video_codec_level, 0),
    KD("qc", "audio_codecs", K_WORDS, qc.audio_codecs, 0),
    KD("qc", "audio_codec_level", K_LEVEL, qc.audio_codec_level, 0),
    KD("qc", "bitrate_min", K_BITRATE, qc.bitrate_min, F_UNSET0),
    KD("qc", "bitrate_max", K_BITRATE, qc.bitrate_max, F_UNSET0),
    KD("qc", "bitrate_level", K_LEVEL, qc.bitrate_level, 0),
    KD("qc", "bitrate_tolerance", K_DOUBLE, qc.bitrate_tolerance, 0),
    KD("qc", "video_bitrate_min", K_BITRATE, qc.video_bitrate_min, F_UNSET0),
    KD("qc", "video_bitrate_max", K_BITRATE, qc.video_bitrate_max, F_UNSET0),
    KD("qc", "video_bitrate_level", K_LEVEL, qc.video_bitrate_level, 0),
    KD("qc", "fps_min", K_RATE, qc.fps_min, F_UNSET0),
    KD("qc", "fps_max", K_RATE, qc.fps_max, F_UNSET0),
    KD("qc", "fps_level", K_LEVEL, qc.fps_level, 0),
    KE("qc", "audio", qc.audio, audio_names),
    KD("qc", "audio_level", K_LEVEL, qc.audio_level, 0),
    KD("qc", "audio_bitrate_min", K_BITRATE, qc.audio_bitrate_min, F_UNSET0),
    KD("qc", "audio_bitrate_level", K_LEVEL, qc.audio_bitrate_level, 0),
    KD("qc", "sample_rates", K_SAMPLE_RATES, qc.sample_rates, 0),
    KD("qc", "sample_rate_level", K_LEVEL, qc.sample_rate_level, 0),
    KD("qc", "max_file_size", K_SIZE, qc.max_file_size, F_UNSET0),
    KD("qc", "file_size_level", K_LEVEL, qc.file_size_level, 0),
    KD("qc", "faststart", K_BOOL, qc.faststart, 0),
    KD("qc", "faststart_level", K_LEVEL, qc.faststart_level, 0),
    KD("qc", "hdr_allowed", K_BOOL, qc.hdr_allowed, 0),
    KD("qc", "hdr_level", K_LEVEL, qc.hdr_level, 0),
    KD("qc", "pix_fmts", K_WORDS, qc.pix_fmts, 0),
    KD("qc", "pix_fmt_level", K_LEVEL, qc.pix_fmt_level, 0),
    { "qc", "max_bit_depth", K_INT, offsetof(vb_config, qc.max_bit_depth), F_UNSET0, NULL, 32 },
    KD("qc", "bit_depth_level", K_LEVEL, qc.bit_depth_level, 0),
    KD("qc", "video_profiles", K_WORDS, qc.video_profiles, 0),
    KD("qc", "profile_level", K_LEVEL, qc.profile_level, 0),
    KD("qc", "constant_frame_rate", K_BOOL, qc.constant_frame_rate, 0),
    KD("qc", "frame_rate_mode_level", K_LEVEL, qc.frame_rate_mode_level, 0),
    KD("qc", "black_max_seconds", K_DOUBLE, qc.black_max_seconds, F_UNSET0),
    KD("qc", "black_max_share", K_DOUBLE, qc.black_max_share, F_UNSET0),
    KD("qc", "black_level", K_LEVEL, qc.black_level, 0),
    KD("qc", "leading_black_max", K_DOUBLE, qc.leading_black_max, F_UNSET0),
    KD("qc", "trailing_black_max", K_DOUBLE, qc.trailing_black_max, F_UNSET0),
    KD("qc", "edge_black_level", K_LEVEL, qc.edge_black_level, 0),
    KD("qc", "freeze_max_seconds", K_DOUBLE, qc.freeze_max_seconds, F_UNSET0),
    KD("qc", "freeze_level", K_LEVEL, qc.freeze_level, 0),
    KD("qc", "silence_max_seconds", K_DOUBLE, qc.silence_max_seconds, F_UNSET0),
    KD("qc", "silence_level", K_LEVEL, qc.silence_level, 0),
    KD("qc", "leading_silence_max", K_DOUBLE, qc.leading_silence_max, F_UNSET0),
    KD("qc", "trailing_silence_max", K_DOUBLE, qc.trailing_silence_max, F_UNSET0),
    KD("qc", "edge_silence_level", K_LEVEL, qc.edge_silence_level, 0),
    KD("qc", "audio_silent_level", K_LEVEL, qc.audio_silent_level, 0),
    KD("qc", "loudness_target", K_SDOUBLE, qc.loudness_target, F_UNSET0),
    KD("qc", "loudness_tolerance", K_DOUBLE, qc.loudness_tolerance, 0),
    KD("qc", "loudness_level", K_LEVEL, qc.loudness_level, 0),
    KD("qc", "true_peak_max", K_SDOUBLE, qc.true_peak_max, F_UNSET0),
    KD("qc", "true_peak_level", K_LEVEL, qc.true_peak_level, 0),
    KD("qc", "decode_errors_max", K_INT, qc.decode_errors_max, 0),
    KD("qc", "decode_errors_level", K_LEVEL, qc.decode_errors_level, 0),
    KD("qc", "image_min_width", K_INT, qc.image_min_width, F_UNSET0),
    KD("qc", "image_min_height", K_INT, qc.image_min_height, F_UNSET0),
    KD("qc", "image_aspect_ratio", K_RATIO, qc.image_aspect_ratio, F_UNSET0),
    KD("qc", "image_aspect_tolerance", K_DOUBLE, qc.image_aspect_tolerance, 0),
    KD("qc", "image_formats", K_WORDS, qc.image_formats, 0),
    KD("qc", "image_level", K_LEVEL, qc.image_level, 0),
    KD("qc", "image_max_pixels", K_SIZE, qc.image_max_pixels, F_POSITIVE),

    KD("analyse", "enabled", K_BOOL, analyse.enabled, 0),
    KE("analyse", "mode", analyse.mode, mode_names),
    KD("analyse", "black_min_duration", K_DOUBLE, analyse.black_min_duration, F_POSITIVE),
    KD("analyse", "black_picture_threshold", K_DOUBLE, analyse.black_picture_threshold, 0),
    KD("analyse", "black_pixel_threshold", K_DOUBLE, analyse.black_pixel_threshold, 0),
    KD("analyse", "freeze_noise", K_DOUBLE, analyse.freeze_noise, F_POSITIVE),
    KD("analyse", "freeze_min_duration", K_DOUBLE, analyse.freeze_min_duration, F_POSITIVE),
    KD("analyse", "silence_noise", K_SDOUBLE, analyse.silence_noise, 0),
    KD("analyse", "silence_min_duration", K_DOUBLE, analyse.silence_min_duration, F_POSITIVE),
    KD("analyse", "loudness", K_BOOL, analyse.loudness, 0),
    KD("analyse", "timeout", K_DOUBLE, analyse.timeout, F_POSITIVE),

    KD("thumbnails", "enabled", K_BOOL, thumbs.enabled, 0),
    KD("thumbnails", "count", K_INT, thumbs.count, F_POSITIVE),
    KD("thumbnails", "times", K_TIMES, thumbs.times, 0),
    KD("thumbnails", "exact", K_BOOL, thumbs.exact, 0),
    KD("thumbnails", "width", K_INT, thumbs.width, F_POSITIVE),
    KE("thumbnails", "format", thumbs.format, format_names),
    { "thumbnails", "quality", K_INT, offsetof(vb_config, thumbs.quality), F_POSITIVE, NULL, 100 },
    KD("thumbnails", "avoid_black", K_BOOL, thumbs.avoid_black, 0),
    KD("thumbnails", "contact_sheet", K_BOOL, thumbs.contact_sheet, 0),
    KD("thumbnails", "columns", K_INT, thumbs.columns, F_POSITIVE),

    KD("output", "publish", K_BOOL, output.publish, 0),
    KE("output", "csv_separator", output.csv_separator, csv_sep_names),
    KD("output", "csv_bom", K_BOOL, output.csv_bom, 0),
    KE("output", "json_lines", output.json_lines, json_lines_names),
    KD("output", "json_lines_min", K_INT, output.json_lines_min, F_POSITIVE),

    KD("fix", "enabled", K_BOOL, fix.enabled, 0),
    KD("fix", "warnings", K_BOOL, fix.warnings, 0),
    { "fix", "width", K_INT, offsetof(vb_config, fix.width), F_UNSET0, NULL, 16384 },
    { "fix", "height", K_INT, offsetof(vb_config, fix.height), F_UNSET0, NULL, 16384 },
    KE("fix", "fit", fix.fit, fit_names),
    KD("fix", "fps", K_RATE, fix.fps, F_UNSET0),
    { "fix", "crf", K_INT, offsetof(vb_config, fix.crf), 0, NULL, 51 },
    KE("fix", "x264_preset", fix.x264_preset, fix_x264_presets),
    KD("fix", "maxrate", K_BITRATE, fix.maxrate, F_UNSET0),
    KD("fix", "bufsize", K_BITRATE, fix.bufsize, F_UNSET0),
    KD("fix", "keyint", K_DOUBLE, fix.keyint, F_POSITIVE),
    KD("fix", "closed_gop", K_BOOL, fix.closed_gop, 0),
    KD("fix", "audio_bitrate", K_BITRATE, fix.audio_bitrate, F_POSITIVE),
    { "fix", "sample_rate", K_INT, offsetof(vb_config, fix.sample_rate), F_POSITIVE, NULL,
      384000 },
    KE("fix", "metadata", fix.metadata, metadata_names),
    KD("fix", "trim", K_BOOL, fix.trim, 0),

    KD("generate", "provider", K_PROVIDER, generate.provider, 0),
    KD("generate", "model", K_COLUMN, generate.model, 0),
    KD("generate", "duration", K_COLUMN, generate.duration, 0),
    KD("generate", "aspect_ratio", K_COLUMN, generate.aspect_ratio, 0),
    KD("generate", "mode", K_COLUMN, generate.mode, 0),
    KD("generate", "cfg_scale", K_COLUMN, generate.cfg_scale, 0),
    KD("generate", "negative_prompt", K_COLUMN, generate.negative_prompt, 0),
    { "generate", "max_concurrent", K_INT, offsetof(vb_config, generate.max_concurrent),
      F_POSITIVE, NULL, 1000 },
    { "generate", "rpm", K_INT, offsetof(vb_config, generate.rpm), F_POSITIVE, NULL, 100000 },
    KE("generate", "rpm_counts", generate.rpm_counts, rpm_counts_names),
    KD("generate", "budget", K_DOUBLE, generate.budget, F_UNSET0),
    KD("generate", "poll_interval", K_DOUBLE, generate.poll_interval, F_POSITIVE),
    KD("generate", "task_timeout", K_DOUBLE, generate.task_timeout, F_POSITIVE),

    KD("provider.kling", "base_url", K_URL, kling.base_url, 0),
    KD("provider.kling", "key_file", K_STRING, kling.key_file, 0),
    KD("provider.kling", "request_timeout", K_DOUBLE, kling.request_timeout, F_POSITIVE),
    KE("provider.kling", "api", kling.api, kling_api_names),
    KD("provider.kling", "callback_url", K_URL, kling.callback_url, F_EMPTY),

    KD("provider.fal", "base_url", K_URL, fal.base_url, 0),
    KD("provider.fal", "key_file", K_STRING, fal.key_file, 0),
    KD("provider.fal", "request_timeout", K_DOUBLE, fal.request_timeout, F_POSITIVE),
    KD("provider.fal", "model", K_STRING, fal.model, 0),

    KD("notify", "url", K_URL, notify.url, F_REDACT | F_EMPTY),
    KD("notify", "key_file", K_STRING, notify.key_file, 0),
    KD("notify", "timeout", K_DOUBLE, notify.timeout, F_POSITIVE),
    { "notify", "attempts", K_INT, offsetof(vb_config, notify.attempts), F_POSITIVE, NULL, 10 },
    KD("notify", "items", K_BOOL, notify.items, 0),
};

#define FIELD(c, k, T) ((T *)((char *)(c) + (k)->off))
#define CFIELD(c, k, T) ((const T *)((const char *)(c) + (k)->off))


static bool section_known(const char *s)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(sections); i++)
        if (strcmp(sections[i], s) == 0)
            return true;
    return false;
}

static const keydef *key_find(const char *section, const char *key)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(keys); i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static bool is_list(const keydef *k)
{
    return k->type == K_WORDS || k->type == K_SAMPLE_RATES || k->type == K_TIMES;
}

/* Keys kept as an owned char * (K_INHERIT's field, the name, is not one). */
static bool is_string(const keydef *k)
{
    return k->type == K_STRING || k->type == K_COLUMN || k->type == K_PROVIDER ||
           k->type == K_URL;
}

/* ---- defaults, copy, free ---- */

/* c is treated as uninitialised: call preset_free_contents() first when
 * reusing a loaded config. */
void preset_defaults(vb_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = vb_xstrdup("built-in");
    c->description = vb_xstrdup("built-in defaults");
    c->batch.jobs = 0;
    c->batch.error_handling = ERRH_CONTINUE;
    /* Three times [analyse] timeout: an item that probes, analyses up to
     * its limit, makes thumbnails and retries a read still fits, while a
     * worker held by an input that trickles in is freed within 15 min. */
    c->batch.item_timeout = 900;
    /* A local disk never pauses for a minute; a network share that does
     * is better retried later than waited for. */
    c->batch.stall_timeout = 60;
    c->batch.retries = 3;
    c->batch.retry_backoff = 1.0;
    /* Short items finish; a long analysis is cut and redone on resume.
     * Under `docker stop` (SIGKILL 10 s after SIGTERM) this leaves time to
     * write the reports. */
    c->batch.grace_period = 5;
    /* Reading what a link in someone else's folder points at (a private
     * file, a FIFO) is not what naming the folder asked for. */
    c->input.outside_links = OUTSIDE_REFUSE;
    c->input.max_download_size = (int64_t)2 << 30;
    c->input.download_retries = 3;
    c->input.download_timeout = 600;
    c->input.download_backoff = 1.0;
    for (size_t i = 0; i < VB_ARRAY_LEN(keys); i++)
        if (keys[i].type == K_LEVEL)
            *FIELD(c, &keys[i], int) = RULE_FAIL;
    c->qc.aspect_tolerance = 0.01;
    /* A stream encoded at "128k" measures 125-128 kb/s from the
     * container; 2% slack keeps nominal rates passing their own limit. */
    c->qc.bitrate_tolerance = 0.02;
    c->qc.audio = AUDIO_OPTIONAL;
    c->qc.hdr_allowed = true;
    c->qc.loudness_tolerance = 2.0;
    c->qc.image_aspect_tolerance = 0.01;
    c->qc.image_max_pixels = 100000000; /* 100 Mpx: ten 10000x10000 stills */
    /* blackdetect/freezedetect/silencedetect's own defaults, but a
     * shorter black minimum: a half-second black flash is a defect. */
    c->analyse.mode = ANALYSE_FULL;
    c->analyse.black_min_duration = 0.5;
    c->analyse.black_picture_threshold = 0.98;
    c->analyse.black_pixel_threshold = 0.10;
    c->analyse.freeze_noise = 0.001;
    c->analyse.freeze_min_duration = 2.0;
    c->analyse.silence_noise = -60.0;
    c->analyse.silence_min_duration = 2.0;
    c->analyse.loudness = true;
    c->analyse.timeout = 300.0;
    c->thumbs.count = 5;
    c->thumbs.width = 320;
    c->thumbs.format = THUMB_JPEG;
    c->thumbs.quality = 80;
    c->thumbs.avoid_black = true;
    c->thumbs.contact_sheet = true;
    c->thumbs.columns = 5;
    c->output.publish = false;
    c->output.json_lines = JSON_LINES_AUTO;
    c->output.json_lines_min = JSON_LINES_MIN_DEFAULT;
    /* What the platforms' upload guides recommend (YouTube, TikTok,
     * Instagram): H.264 High at a visually transparent CRF, key frames
     * every 2 s in closed GOPs, AAC-LC 48 kHz at 192 kb/s. */
    c->fix.fit = FIX_FIT_PAD;
    c->fix.crf = 20;
    c->fix.x264_preset = 5; /* medium */
    c->fix.keyint = 2.0;
    c->fix.closed_gop = true;
    c->fix.audio_bitrate = 192000;
    c->fix.sample_rate = 48000;
    c->fix.metadata = FIX_META_KEEP;
    c->fix.trim = true;
    /* Kling's own defaults for the columns, so that a job without a
     * preset asks for what the API would do anyway. */
    c->generate.provider = vb_xstrdup("kling");
    /* A live model (kling-v1 and kling-v1-6 are discontinued): the
     * cheapest that does text- and image-to-video in std (720p). */
    c->generate.model = vb_xstrdup("kling-v2-6");
    c->generate.duration = vb_xstrdup("5");
    c->generate.aspect_ratio = vb_xstrdup("16:9");
    c->generate.mode = vb_xstrdup("std");
    /* 3 tasks in flight is the usual account's concurrency limit. Kling
     * publishes no per-minute request limit (its limits are concurrency,
     * code 1303): 60/min, one a second, is never the bottleneck when a
     * task takes minutes, and keeps a burst of retries gentle. */
    c->generate.max_concurrent = 3;
    c->generate.rpm = 60;
    /* A task takes one to several minutes: a poll every 5 s adds 2.5 s on
     * average to each; 3 tasks cost 36 polls a minute. */
    c->generate.poll_interval = 5;
    /* Long: a task given up on has still been paid for. */
    c->generate.task_timeout = 3600;
    c->kling.base_url = vb_xstrdup(PROVIDER_KLING_BASE_URL);
    c->kling.request_timeout = 60;
    c->fal.base_url = vb_xstrdup(PROVIDER_FAL_BASE_URL);
    c->fal.request_timeout = 60;
    c->fal.model = vb_xstrdup(PROVIDER_FAL_MODEL);
    c->notify.timeout = 10;
    c->notify.attempts = 3;
}

void preset_free_contents(vb_config *c)
{
    if (!c)
        return;
    free(c->name);
    for (size_t i = 0; i < VB_ARRAY_LEN(keys); i++) {
        if (is_list(&keys[i]))
            vb_strlist_clear(FIELD(c, &keys[i], vb_strlist));
        else if (is_string(&keys[i]))
            free(*FIELD(c, &keys[i], char *)); /* description included */
    }
    memset(c, 0, sizeof *c);
}

/* A deep copy, so that a layer that fails half-way leaves the caller's
 * config untouched. */
static void config_copy(vb_config *dst, const vb_config *src)
{
    *dst = *src;
    dst->name = src->name ? vb_xstrdup(src->name) : NULL;
    for (size_t i = 0; i < VB_ARRAY_LEN(keys); i++) {
        if (is_string(&keys[i])) {
            const char *from = *CFIELD(src, &keys[i], char *);
            *FIELD(dst, &keys[i], char *) = from ? vb_xstrdup(from) : NULL;
            continue;
        }
        if (!is_list(&keys[i]))
            continue;
        const vb_strlist *from = CFIELD(src, &keys[i], vb_strlist);
        vb_strlist *to = FIELD(dst, &keys[i], vb_strlist);
        to->v = NULL;
        to->n = 0;
        for (size_t j = 0; j < from->n; j++)
            vb_strlist_add(to, from->v[j]);
    }
}

/* ---- value parsers ---- */

/* Copy s without surrounding white space into buf; false if too long. */
static bool trim_copy(const char *s, char *buf, size_t len)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

/* strtod restricted to plain decimal notation: no hex, inf or nan, which
 * strtod would accept but nobody means in a preset. */
static bool number_prefix(const char *s, double *out, const char **end)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return false;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return false;
    errno = 0;
    char *e;
    double v = strtod(s, &e);
    if (e == s || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    *end = e;
    return true;
}

int preset_parse_bool(const char *s, bool *out, vb_error *e)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    char b[32];
    if (trim_copy(s, b, sizeof b)) {
        for (size_t i = 0; i < VB_ARRAY_LEN(yes); i++) {
            if (strcasecmp(b, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcasecmp(b, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    return vb_fail(e, VB_ERR_CONFIG,
                   "'%s' is not a boolean (use true/false, yes/no, on/off or 1/0)", s);
}

int preset_parse_double(const char *s, double *out, vb_error *e)
{
    char b[64];
    double v;
    const char *end;
    if (!trim_copy(s, b, sizeof b) || !number_prefix(b, &v, &end) || *end)
        return vb_fail(e, VB_ERR_CONFIG, "'%s' is not a number", s);
    *out = v;
    return 0;
}

int preset_parse_int(const char *s, int *out, vb_error *e)
{
    char b[64];
    if (!trim_copy(s, b, sizeof b) || !b[0])
        return vb_fail(e, VB_ERR_CONFIG, "'%s' is not a whole number", s);
    const char *p = b;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return vb_fail(e, VB_ERR_CONFIG, "'%s' is not a whole number", s);
    errno = 0;
    char *end;
    long v = strtol(b, &end, 10);
    if (*end)
        return vb_fail(e, VB_ERR_CONFIG, "'%s' is not a whole number", s);
    if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
        return vb_fail(e, VB_ERR_CONFIG, "'%s' is out of range", s);
    *out = (int)v;
    return 0;
}

/* Scale v by mult into an int64, refusing negatives and overflow. */
static bool scale_int64(double v, double mult, int64_t *out)
{
    double r = v * mult;
    if (v < 0 || !isfinite(r) || r >= 9.2e18)
        return false;
    *out = (int64_t)llround(r);
    return true;
}

static double decimal_mult(char c)
{
    switch (tolower((unsigned char)c)) {
    case 'k': return 1e3;
    case 'm': return 1e6;
    case 'g': return 1e9;
    case 't': return 1e12;
    default:  return 0;
    }
}

int preset_parse_bitrate(const char *s, int64_t *out, vb_error *e)
{
    char b[64];
    double v, mult = 1;
    const char *p;
    if (!trim_copy(s, b, sizeof b) || !number_prefix(b, &v, &p))
        goto bad;
    while (*p == ' ')
        p++;
    if (*p && decimal_mult(*p) != 0)
        mult = decimal_mult(*p++);
    /* Optional unit, as people write it: 8M, 8Mbps, 8 Mb/s. */
    if (strcasecmp(p, "bps") == 0 || strcasecmp(p, "b/s") == 0 ||
        (mult != 1 && strcasecmp(p, "b") == 0))
        p += strlen(p);
    if (*p || !scale_int64(v, mult, out))
        goto bad;
    return 0;
bad:
    return vb_fail(e, VB_ERR_CONFIG,
                   "'%s' is not a bit rate (examples: 128k, 8M, 2.5Mbps, 800000)", s);
}

int preset_parse_size(const char *s, int64_t *out, vb_error *e)
{
    char b[64];
    double v, mult = 1;
    const char *p;
    if (!trim_copy(s, b, sizeof b) || !number_prefix(b, &v, &p))
        goto bad;
    while (*p == ' ')
        p++;
    if (*p && decimal_mult(*p) != 0) {
        mult = decimal_mult(*p++);
        if (*p == 'i' || *p == 'I') {
            /* KiB, MiB ...: the same letter, powers of 1024 */
            int steps = (int)lround(log10(mult) / 3);
            mult = ldexp(1.0, 10 * steps);
            p++;
            if (*p != 'B' && *p != 'b' && *p)
                goto bad;
        }
    }
    if (*p == 'B' || *p == 'b')
        p++;
    if (*p || !scale_int64(v, mult, out))
        goto bad;
    return 0;
bad:
    return vb_fail(e, VB_ERR_CONFIG,
                   "'%s' is not a size (examples: 500M, 10MB, 2GiB, 1048576)", s);
}

int preset_parse_ratio(const char *s, double *out, vb_error *e)
{
    char b[64];
    double a, d = 1;
    const char *p;
    if (!trim_copy(s, b, sizeof b) || !number_prefix(b, &a, &p))
        goto bad;
    if (*p == ':' || *p == '/') {
        if (!number_prefix(p + 1, &d, &p))
            goto bad;
    }
    if (*p || a <= 0 || d <= 0)
        goto bad;
    *out = a / d;
    return 0;
bad:
    return vb_fail(e, VB_ERR_CONFIG,
                   "'%s' is not a positive ratio (examples: 16:9, 9:16, 1.7778)", s);
}

/* A frame rate: a number or a fraction as ffprobe prints it (30000/1001). */
static int parse_rate(const char *s, double *out, vb_error *e)
{
    char b[64];
    double n, d = 1;
    const char *p;
    if (!trim_copy(s, b, sizeof b) || !number_prefix(b, &n, &p))
        goto bad;
    if (*p == '/' && !number_prefix(p + 1, &d, &p))
        goto bad;
    if (*p || d <= 0)
        goto bad;
    *out = n / d;
    return 0;
bad:
    return vb_fail(e, VB_ERR_CONFIG,
                   "'%s' is not a frame rate (examples: 25, 29.97, 30000/1001)", s);
}

int preset_parse_level(const char *s, int *out, vb_error *e)
{
    char b[16];
    if (trim_copy(s, b, sizeof b)) {
        for (int l = RULE_OFF; l <= RULE_FAIL; l++) {
            if (strcasecmp(b, preset_level_name(l)) == 0) {
                *out = l;
                return 0;
            }
        }
    }
    return vb_fail(e, VB_ERR_CONFIG, "'%s' is not a level (use fail, warn or off)", s);
}

const char *preset_level_name(int level)
{
    switch (level) {
    case RULE_OFF:  return "off";
    case RULE_WARN: return "warn";
    case RULE_FAIL: return "fail";
    default:        return "unknown";
    }
}

static int parse_enum(const keydef *k, const char *s, int *out, vb_error *e)
{
    char b[32];
    if (trim_copy(s, b, sizeof b)) {
        for (int i = 0; k->names[i]; i++) {
            if (strcasecmp(b, k->names[i]) == 0) {
                *out = i;
                return 0;
            }
        }
    }
    char choices[128] = "";
    for (int i = 0; k->names[i]; i++) {
        if (i)
            strncat(choices, k->names[i + 1] ? ", " : " or ", sizeof choices - strlen(choices) - 1);
        strncat(choices, k->names[i], sizeof choices - strlen(choices) - 1);
    }
    return vb_fail(e, VB_ERR_CONFIG, "'%s' is not a valid %s (use %s)", s, k->key, choices);
}

/* Apply one value to the field described by k. */
/* An empty value unsets a limit that 0 leaves unset ("aspect_ratio ="),
 * as `vbatch presets NAME` writes one: true when done so. */
static bool key_unset(vb_config *c, const keydef *k, const char *value)
{
    if (*value || !(k->flags & F_UNSET0) || is_list(k) || is_string(k))
        return false;
    if (k->type == K_INT)
        *FIELD(c, k, int) = 0;
    else if (k->type == K_BITRATE || k->type == K_SIZE)
        *FIELD(c, k, int64_t) = 0;
    else
        *FIELD(c, k, double) = 0;
    return true;
}

static int key_apply(vb_config *c, const keydef *k, const char *value, vb_error *e)
{
    if (key_unset(c, k, value))
        return 0;
    if (!is_list(k) && !is_string(k) && !*value)
        return vb_fail(e, VB_ERR_CONFIG, "a value is required");
    switch (k->type) {
    case K_COLUMN:
    case K_PROVIDER:
    case K_URL:
    case K_STRING: {
        /* An empty K_COLUMN removes the default; a provider is required. */
        if (k->type == K_COLUMN && *value && jobs_check_cell(k->key, value, e) != 0)
            return -1;
        if (k->type == K_PROVIDER && !provider_find(value)) {
            char *names = provider_names();
            vb_fail(e, VB_ERR_CONFIG, "unknown provider '%s' (known: %s)", value, names);
            free(names);
            return -1;
        }
        if (k->type == K_URL && !(*value == '\0' && (k->flags & F_EMPTY)) &&
            strncasecmp(value, "http://", 7) != 0 &&
            strncasecmp(value, "https://", 8) != 0)
            return vb_fail(e, VB_ERR_CONFIG, "'%s' is not an http:// or https:// URL", value);
        char **f = FIELD(c, k, char *);
        free(*f);
        *f = vb_xstrdup(value);
        return 0;
    }
    case K_INHERIT:
        return 0; /* handled before the file's own keys, see load_text() */
    case K_BOOL:
        return preset_parse_bool(value, FIELD(c, k, bool), e);
    case K_INT: {
        int v = 0;
        if (preset_parse_int(value, &v, e) != 0)
            return -1;
        if ((k->flags & F_POSITIVE) && v <= 0)
            return vb_fail(e, VB_ERR_CONFIG, "'%s' must be greater than 0", value);
        if (v < 0)
            return vb_fail(e, VB_ERR_CONFIG, "'%s' must be 0 or more", value);
        if (k->max > 0 && v > k->max)
            return vb_fail(e, VB_ERR_CONFIG, "'%s' must be at most %d", value, k->max);
        *FIELD(c, k, int) = v;
        return 0;
    }
    case K_DOUBLE:
    case K_RATE: {
        double v = 0;
        if ((k->type == K_RATE ? parse_rate(value, &v, e)
                               : preset_parse_double(value, &v, e)) != 0)
            return -1;
        if ((k->flags & F_POSITIVE) && v <= 0)
            return vb_fail(e, VB_ERR_CONFIG, "'%s' must be greater than 0", value);
        if (v < 0)
            return vb_fail(e, VB_ERR_CONFIG, "'%s' must be 0 or more", value);
        *FIELD(c, k, double) = v;
        return 0;
    }
    case K_BITRATE:
        return preset_parse_bitrate(value, FIELD(c, k, int64_t), e);
    case K_SIZE: {
        int64_t v = 0;
        if (preset_parse_size(value, &v, e) != 0)
            return -1;
        if ((k->flags & F_POSITIVE) && v <= 0)
            return vb_fail(e, VB_ERR_CONFIG, "'%s' must be greater than 0", value);
        *FIELD(c, k, int64_t) = v;
        return 0;
    }
    case K_RATIO:
        return preset_parse_ratio(value, FIELD(c, k, double), e);
    case K_LEVEL:
        return preset_parse_level(value, FIELD(c, k, int), e);
    case K_ENUM:
        return parse_enum(k, value, FIELD(c, k, int), e);
    case K_SDOUBLE:
        return preset_parse_double(value, FIELD(c, k, double), e);
    case K_TIMES: {
        vb_strlist l = { 0 };
        vb_strlist_set_words(&l, value);
        for (size_t i = 0; i < l.n; i++) {
            double v = 0;
            if (preset_parse_double(l.v[i], &v, NULL) != 0 || v < 0) {
                vb_fail(e, VB_ERR_CONFIG, "'%s' is not a time in seconds", l.v[i]);
                vb_strlist_clear(&l);
                return -1;
            }
        }
        vb_strlist *f = FIELD(c, k, vb_strlist);
        vb_strlist_clear(f);
        *f = l;
        return 0;
    }
    case K_WORDS:
        vb_strlist_set_words(FIELD(c, k, vb_strlist), value);
        return 0;
    case K_SAMPLE_RATES: {
        vb_strlist l = { 0 };
        vb_strlist_set_words(&l, value);
        for (size_t i = 0; i < l.n; i++) {
            int v = 0;
            if (preset_parse_int(l.v[i], &v, NULL) != 0 || v <= 0) {
                vb_fail(e, VB_ERR_CONFIG, "'%s' is not a sample rate in Hz", l.v[i]);
                vb_strlist_clear(&l);
                return -1;
            }
        }
        vb_strlist *f = FIELD(c, k, vb_strlist);
        vb_strlist_clear(f);
        *f = l;
        return 0;
    }
    }
    return vb_fail(e, VB_ERR_INTERNAL, "unhandled key type");
}

/* ---- reading INI text ---- */

/* The chain of files being loaded through `inherit`, to stop cycles. */
typedef struct chain {
    const char *path[PRESET_MAX_DEPTH];
    int n;
} chain;

typedef struct parse_ctx {
    const char *p, *end;   /* unread text */
    int line;              /* line last handed to inih */
    int pass;              /* 1: find `inherit` only; 2: apply */
    vb_config *c;
    const char *origin;
    int err_line;          /* first error found by us, 0 if none */
    char err[900];
    char *inherit;         /* pass 1 result, owned */
    int inherit_line;
} parse_ctx;

static void ctx_error(parse_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep only the first error: later ones are often its consequences. */
static void ctx_error(parse_ctx *x, const char *fmt, ...)
{
    if (x->pass != 2 || x->err_line)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
    x->err_line = x->line;
}

/* inih's reader: one line per call, like fgets. Counting here is what
 * gives the handler its line number. */
static char *ctx_reader(char *str, int num, void *stream)
{
    parse_ctx *x = stream;
    if (x->p >= x->end || num < 3)
        return NULL;
    const char *nl = memchr(x->p, '\n', (size_t)(x->end - x->p));
    size_t len = nl ? (size_t)(nl - x->p) + 1 : (size_t)(x->end - x->p);
    x->line++;
    if (len > (size_t)num - 1) {
        /* inih would split it and misnumber every later line */
        ctx_error(x, "line is longer than %d characters", num - 2);
        strcpy(str, "\n");
    } else {
        memcpy(str, x->p, len);
        str[len] = '\0';
        /* Check section names here: inih only reports a section through
         * its keys, so an empty unknown section would pass unnoticed. */
        const char *s = str;
        if (x->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        const char *close = strchr(s, ']');
        if (*s == '[' && close) {
            char raw[128], name[128];
            size_t n = (size_t)(close - s - 1);
            if (n < sizeof raw) {
                memcpy(raw, s + 1, n);
                raw[n] = '\0';
                if (trim_copy(raw, name, sizeof name) && !section_known(name))
                    ctx_error(x, "unknown section [%s]", name);
            }
        }
    }
    x->p += len;
    return str;
}

static const char *key_suggest(const char *section, const char *key)
{
    const char *best = NULL;
    size_t bd = UTIL_SUGGEST_MAX + 1;
    for (size_t i = 0; i < VB_ARRAY_LEN(keys); i++) {
        if (strcmp(keys[i].section, section) != 0)
            continue;
        size_t d = util_edit_distance(key, keys[i].key);
        if (d < bd) {
            bd = d;
            best = keys[i].key;
        }
    }
    return best;
}

static int ctx_handler(void *user, const char *section, const char *name,
                       const char *value)
{
    parse_ctx *x = user;
    if (x->pass == 1) {
        if (strcmp(section, "preset") == 0 && strcmp(name, "inherit") == 0) {
            free(x->inherit);
            x->inherit = vb_xstrdup(value);
            x->inherit_line = x->line;
        }
        return 1;
    }
    const keydef *k = key_find(section, name);
    if (!k) {
        if (!*section) {
            ctx_error(x, "key '%s' is outside any section", name);
        } else if (!section_known(section)) {
            ctx_error(x, "unknown section [%s]", section);
        } else {
            const char *hint = key_suggest(section, name);
            ctx_error(x, "unknown key '%s' in [%s]%s%s%s", name, section,
                      hint ? " (did you mean '" : "", hint ? hint : "",
                      hint ? "'?)" : "");
        }
        return 0;
    }
    vb_error ve = { 0 };
    if (key_apply(x->c, k, value, &ve) != 0) {
        ctx_error(x, "[%s] %s: %s", section, name, ve.msg);
        return 0;
    }
    return 1;
}

static int load_path(vb_config *c, const char *path, const char *origin,
                     chain *ch, vb_error *e);

static bool is_path(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') || (n > 4 && strcmp(name + n - 4, ".ini") == 0);
}

/* ---- finding a preset by name ---- */

/* `default` is built in (presets/default.ini made a C string by make), so
 * that an installed vbatch runs without its presets folder. */
static const char preset_builtin_default[] =
#include "preset-default.h"
    ;
#define BUILTIN_NAME "default"
#define BUILTIN_ID "(built-in default)" /* its name in messages and in a chain */

void preset_folders(vb_strlist *dirs, vb_strlist *origins)
{
    const char *env = getenv("VBATCH_PRESET_DIR");
    if (env && *env) {
        /* A list as PATH is: a team's folder and a project's. */
        char *copy = vb_xstrdup(env), *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            vb_strlist_add(dirs, d);
            vb_strlist_add(origins, "env");
        }
        free(copy);
    }
    /* The XDG base directory rules: a relative XDG_CONFIG_HOME is ignored. */
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char *user = NULL;
    if (xdg && xdg[0] == '/')
        user = vb_xasprintf("%s/vbatch/presets", xdg);
    else if (home && home[0] == '/')
        user = vb_xasprintf("%s/.config/vbatch/presets", home);
    if (user) {
        vb_strlist_add(dirs, user);
        vb_strlist_add(origins, "user");
        free(user);
    }
    /* Run from the build tree (vbatch itself or a unit test below it):
     * the source tree's presets, so no install is needed to try it. */
    vb_strlist_add(dirs, util_in_build_tree() ? VB_SRC_PRESET_DIR : VB_PRESET_DIR);
    vb_strlist_add(origins, "shipped");
}

static void add_name(const preset_entry *p, void *ud)
{
    vb_strlist_add(ud, p->name);
}

/* "unknown preset 'x' (available: a, b; looked in DIR, DIR)" */
static int fail_unknown(const char *name, vb_error *e)
{
    vb_strlist l = { 0 }, dirs = { 0 }, origins = { 0 };
    vb_error le = { 0 };
    char *avail = preset_list(add_name, &l, &le) != 0 ? vb_xasprintf("none: %s", le.msg)
                                                       : vb_strlist_join(&l, ", ");
    preset_folders(&dirs, &origins);
    char *where = vb_strlist_join(&dirs, ", ");
    vb_fail(e, VB_ERR_CONFIG, "unknown preset '%s' (available: %s; looked in %s)", name,
            avail, where);
    free(where);
    free(avail);
    vb_strlist_clear(&l);
    vb_strlist_clear(&dirs);
    vb_strlist_clear(&origins);
    return -1;
}

/* The file of the preset called `name` in the folders: the first found;
 * but when `self` (the file that inherits `name`) is among them, the
 * first one below it, so that a user's kling-clip.ini can inherit the
 * shipped kling-clip. NULL if there is none. */
static char *find_named(const char *name, const char *self)
{
    vb_strlist dirs = { 0 }, origins = { 0 };
    preset_folders(&dirs, &origins);
    struct stat ss, st;
    bool have_self = self && stat(self, &ss) == 0, seen_self = false;
    char *first = NULL, *below = NULL;
    for (size_t i = 0; i < dirs.n && !below; i++) {
        char *p = vb_xasprintf("%s/%s.ini", dirs.v[i], name);
        if (stat(p, &st) != 0) {
            free(p);
        } else if (have_self && st.st_dev == ss.st_dev && st.st_ino == ss.st_ino) {
            seen_self = true;
            free(p);
        } else if (seen_self) {
            below = p;
        } else if (!first) {
            first = p;
        } else {
            free(p);
        }
    }
    vb_strlist_clear(&dirs);
    vb_strlist_clear(&origins);
    if (below) {
        free(first);
        return below;
    }
    return first;
}

static int load_text(vb_config *c, const char *text, size_t len, const char *origin,
                     const char *path, chain *ch, vb_error *e);

static int load_builtin(vb_config *c, chain *ch, vb_error *e)
{
    for (int i = 0; i < ch->n; i++)
        if (strcmp(ch->path[i], BUILTIN_ID) == 0)
            return vb_fail(e, VB_ERR_CONFIG, "%s: inherit cycle", BUILTIN_ID);
    ch->path[ch->n++] = BUILTIN_ID;
    int rc = load_text(c, preset_builtin_default, sizeof preset_builtin_default - 1,
                       BUILTIN_ID, NULL, ch, e);
    ch->n--;
    return rc;
}

/* Load the preset `name` onto c: a path as given (relative to `base_dir`
 * when not absolute and base_dir is set), or a name looked for in the
 * folders (below `self`, see find_named), `default` built in after them.
 * *where is set to what was read (the caller frees it). */
static int load_named(vb_config *c, const char *name, const char *base_dir,
                      const char *self, chain *ch, char **where, vb_error *e)
{
    *where = NULL;
    char *path = NULL;
    if (is_path(name)) {
        path = name[0] != '/' && base_dir ? vb_xasprintf("%s/%s", base_dir, name)
                                          : vb_xstrdup(name);
    } else {
        bool ok = name[0] && name[0] != '.';
        for (const char *p = name; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
                ok = false;
        path = ok ? find_named(name, self) : NULL;
        if (!path && ok && strcmp(name, BUILTIN_NAME) == 0) {
            *where = vb_xstrdup(BUILTIN_ID);
            return load_builtin(c, ch, e);
        }
        if (!path)
            return fail_unknown(name, e);
    }
    *where = path;
    return load_path(c, path, path, ch, e);
}

/* Parse text onto c. `path` (may be NULL) is the file it came from, used
 * for cycles and relative inherit paths. */
static int load_text(vb_config *c, const char *text, size_t len, const char *origin,
                     const char *path, chain *ch, vb_error *e)
{
    if (memchr(text, '\0', len))
        return vb_fail(e, VB_ERR_CONFIG, "%s: not a text file (holds a NUL byte)", origin);
    parse_ctx x = { .c = c, .origin = origin };

    /* Pass 1: `inherit` is applied before the file's own keys wherever it
     * appears, so that the file always wins over its parent. */
    x.pass = 1;
    x.p = text;
    x.end = text + len;
    ini_parse_stream(ctx_reader, &x, ctx_handler, &x);
    if (x.inherit) {
        int rc = 0;
        if (!*x.inherit) {
            rc = vb_fail(e, VB_ERR_CONFIG, "%s:%d: [preset] inherit: a value is required",
                         origin, x.inherit_line);
        } else if (ch->n >= PRESET_MAX_DEPTH) {
            rc = vb_fail(e, VB_ERR_CONFIG, "%s:%d: inherit '%s': more than %d levels",
                         origin, x.inherit_line, x.inherit, PRESET_MAX_DEPTH);
        } else {
            char *dir = NULL;
            if (path) {
                dir = vb_xstrdup(path);
                char *slash = strrchr(dir, '/');
                if (slash)
                    *slash = '\0';
                else {
                    free(dir);
                    dir = NULL;
                }
            }
            char *ppath = NULL;
            if (load_named(c, x.inherit, dir, path, ch, &ppath, e) != 0) {
                vb_prefix(e, "%s:%d: inherit '%s'", origin, x.inherit_line, x.inherit);
                rc = -1;
            }
            free(dir);
            free(ppath);
        }
        free(x.inherit);
        x.inherit = NULL;
        if (rc != 0)
            return rc;
    }

    x.pass = 2;
    x.p = text;
    x.line = 0;
    int rc = ini_parse_stream(ctx_reader, &x, ctx_handler, &x);
    free(x.inherit);
    if (rc < 0)
        return vb_fail(e, VB_ERR_INTERNAL, "%s: inih failed (%d)", origin, rc);
    if (rc > 0 && (!x.err_line || rc < x.err_line))
        return vb_fail(e, VB_ERR_CONFIG,
                       "%s:%d: syntax error: expected '[section]' or 'key = value'",
                       origin, rc);
    if (x.err_line)
        return vb_fail(e, VB_ERR_CONFIG, "%s:%d: %s", origin, x.err_line, x.err);
    return 0;
}

static int load_path(vb_config *c, const char *path, const char *origin,
                     chain *ch, vb_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vb_fail(e, VB_ERR_CONFIG, "can not read %s: %s", origin, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return vb_fail(e, VB_ERR_CONFIG, "%s is a folder, not a preset file", origin);
    }
    char *buf = vb_xmalloc(PRESET_MAX_FILE + 1);
    size_t n = fread(buf, 1, PRESET_MAX_FILE + 1, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(buf);
        return vb_fail(e, VB_ERR_CONFIG, "can not read %s: %s", origin, strerror(err));
    }
    if (n > PRESET_MAX_FILE) {
        free(buf);
        return vb_fail(e, VB_ERR_CONFIG, "%s: too large for a preset file", origin);
    }
    buf[n] = '\0';

    char *real = realpath(path, NULL);
    const char *id = real ? real : path;
    for (int i = 0; i < ch->n; i++) {
        if (strcmp(ch->path[i], id) == 0) {
            free(real);
            free(buf);
            return vb_fail(e, VB_ERR_CONFIG, "%s: inherit cycle", origin);
        }
    }
    ch->path[ch->n++] = id;
    int rc = load_text(c, buf, n, origin, path, ch, e);
    ch->n--;
    free(real);
    free(buf);
    return rc;
}

/* Cross-key checks, once a whole layer is applied. */
static int config_validate(const vb_config *c, const char *origin, vb_error *e)
{
    static const struct { const char *a, *b; } pairs[] = {
        { "duration_min", "duration_max" }, { "bitrate_min", "bitrate_max" },
        { "video_bitrate_min", "video_bitrate_max" }, { "fps_min", "fps_max" },
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(pairs); i++) {
        const keydef *ka = key_find("qc", pairs[i].a), *kb = key_find("qc", pairs[i].b);
        double a, b;
        if (ka->type == K_BITRATE) {
            a = (double)*CFIELD(c, ka, int64_t);
            b = (double)*CFIELD(c, kb, int64_t);
        } else {
            a = *CFIELD(c, ka, double);
            b = *CFIELD(c, kb, double);
        }
        if (a > 0 && b > 0 && a > b)
            return vb_fail(e, VB_ERR_CONFIG, "%s: [qc] %s (%g) is greater than %s (%g)",
                           origin, pairs[i].a, a, pairs[i].b, b);
    }
    return 0;
}

/* Run one layer on a copy, and keep it only if it loaded cleanly. */
static int layer_commit(vb_config *c, vb_config *work, const char *origin, int rc,
                        vb_error *e)
{
    if (rc == 0)
        rc = config_validate(work, origin, e);
    if (rc != 0) {
        preset_free_contents(work);
        return -1;
    }
    preset_free_contents(c);
    *c = *work;
    return 0;
}

int preset_load_file(vb_config *c, const char *path, vb_error *e)
{
    vb_config work;
    config_copy(&work, c);
    chain ch = { .n = 0 };
    int rc = load_path(&work, path, path, &ch, e);
    return layer_commit(c, &work, path, rc, e);
}

int preset_load_string(vb_config *c, const char *text, const char *origin,
                       vb_error *e)
{
    vb_config work;
    config_copy(&work, c);
    chain ch = { .n = 0 };
    int rc = load_text(&work, text, strlen(text), origin, NULL, &ch, e);
    return layer_commit(c, &work, origin, rc, e);
}

int preset_set(vb_config *c, const char *assign, vb_error *e)
{
    const char *eq = strchr(assign, '=');
    const char *dot = eq ? memrchr(assign, '.', (size_t)(eq - assign)) : NULL;
    if (!eq || !dot || dot == assign || dot + 1 == eq)
        return vb_fail(e, VB_ERR_CONFIG, "--set %s: expected SECTION.KEY=VALUE "
                       "(qc.duration_min=3)", assign);
    if (strpbrk(assign, "\r\n[]"))
        return vb_fail(e, VB_ERR_CONFIG, "--set %s: a line break or bracket in it", assign);
    /* One INI line, read as a layer of its own: the same checks, errors
     * and "did you mean" as in a file. */
    char *origin = vb_xasprintf("--set %s", assign);
    char *text = vb_xasprintf("[%.*s]\n%.*s = %s\n", (int)(dot - assign), assign,
                              (int)(eq - dot - 1), dot + 1, eq + 1);
    int rc = preset_load_string(c, text, origin, e);
    /* "--set X:2: ...": the line of the INI made up is no news. */
    size_t n = strlen(origin);
    if (rc != 0 && e && strncmp(e->msg, origin, n) == 0 && strncmp(e->msg + n, ":2:", 3) == 0)
        memmove(e->msg + n, e->msg + n + 2, strlen(e->msg + n + 2) + 1);
    free(text);
    free(origin);
    return rc;
}

int preset_load_name(vb_config *c, const char *name, vb_error *e)
{
    vb_config work;
    config_copy(&work, c);
    chain ch = { .n = 0 };
    char *path = NULL;
    int rc = load_named(&work, name, NULL, NULL, &ch, &path, e);
    if (!path) {
        preset_free_contents(&work);
        return -1;
    }
    if (rc == 0) {
        /* A path names its preset by the file name without ".ini". */
        const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        size_t n = strlen(base);
        if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
            n -= 4;
        free(work.name);
        work.name = vb_xstrndup(base, n);
    }
    rc = layer_commit(c, &work, path, rc, e);
    free(path);
    return rc;
}

/* ---- listing the presets ---- */

/* One NAME.ini found in folder `folder` (dirs.n: the built-in one). */
typedef struct listed_file {
    char *name;
    size_t folder;
} listed_file;

static int listed_cmp(const void *a, const void *b)
{
    const listed_file *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->folder > y->folder) - (x->folder < y->folder);
}

static int description_handler(void *user, const char *section, const char *name,
                               const char *value)
{
    char **d = user;
    if (strcmp(section, "preset") == 0 && strcmp(name, "description") == 0) {
        free(*d);
        *d = vb_xstrdup(value);
    }
    return 1;
}

/* The [preset] description of a file (or of the built-in text), or ""
 * (errors are ignored here: they are reported when the preset is loaded). */
static char *file_description(const char *path)
{
    char *d = NULL;
    if (path)
        ini_parse(path, description_handler, &d);
    else
        ini_parse_string(preset_builtin_default, description_handler, &d);
    return d ? d : vb_xstrdup("");
}

int preset_list(void (*fn)(const preset_entry *p, void *ud), void *ud, vb_error *e)
{
    vb_strlist dirs = { 0 }, origins = { 0 };
    preset_folders(&dirs, &origins);
    listed_file *v = NULL;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < dirs.n && rc == 0; i++) {
        DIR *d = opendir(dirs.v[i]);
        if (!d) {
            /* A folder that is not there adds nothing (no user presets, or
             * an installed binary without its presets folder). */
            if (errno != ENOENT)
                rc = vb_fail(e, VB_ERR_CONFIG, "can not read the preset folder %s: %s",
                             dirs.v[i], strerror(errno));
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t len = strlen(de->d_name);
            if (len <= 4 || de->d_name[0] == '.' || strcmp(de->d_name + len - 4, ".ini") != 0)
                continue;
            v = vb_xrealloc(v, (n + 1) * sizeof *v);
            v[n].name = vb_xstrndup(de->d_name, len - 4);
            v[n++].folder = i;
        }
        closedir(d);
    }
    v = vb_xrealloc(v, (n + 1) * sizeof *v);
    v[n].name = vb_xstrdup(BUILTIN_NAME);
    v[n++].folder = dirs.n;
    qsort(v, n, sizeof *v, listed_cmp);
    /* Sorted by name, then by folder: the first of a name is the one used,
     * the others are hidden by it (the built-in default is not named). */
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i + 1;
        vb_strlist hidden = { 0 };
        for (; j < n && strcmp(v[j].name, v[i].name) == 0; j++) {
            if (v[j].folder < dirs.n) {
                char *hp = vb_xasprintf("%s/%s.ini", dirs.v[v[j].folder], v[j].name);
                vb_strlist_add(&hidden, hp);
                free(hp);
            }
        }
        bool builtin = v[i].folder == dirs.n;
        char *path = builtin ? NULL : vb_xasprintf("%s/%s.ini", dirs.v[v[i].folder], v[i].name);
        char *desc = file_description(path);
        preset_entry p = {
            .name = v[i].name, .description = desc, .path = path, .hidden = &hidden,
            .origin = builtin ? "built-in" : origins.v[v[i].folder],
        };
        fn(&p, ud);
        free(desc);
        free(path);
        vb_strlist_clear(&hidden);
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    vb_strlist_clear(&dirs);
    vb_strlist_clear(&origins);
    return rc;
}

/* ---- output ---- */

/* A double as the shortest text strtod reads back to it exactly. */
static void ini_double(char *buf, size_t len, double v)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* One key's value as the INI text that sets it again: unset limits and
 * strings empty, lists as words. Caller frees. */
static char *ini_value(const vb_config *c, const keydef *k)
{
    char b[64];
    switch (k->type) {
    case K_STRING: case K_COLUMN: case K_PROVIDER: case K_URL: {
        const char *v = *CFIELD(c, k, char *);
        return vb_xstrdup(v ? v : "");
    }
    case K_BOOL:
        return vb_xstrdup(*CFIELD(c, k, bool) ? "true" : "false");
    case K_INT:
        if (*CFIELD(c, k, int) == 0 && (k->flags & F_UNSET0))
            return vb_xstrdup("");
        return vb_xasprintf("%d", *CFIELD(c, k, int));
    case K_DOUBLE: case K_SDOUBLE: case K_RATE: case K_RATIO:
        if (*CFIELD(c, k, double) == 0 && (k->flags & F_UNSET0))
            return vb_xstrdup("");
        ini_double(b, sizeof b, *CFIELD(c, k, double));
        return vb_xstrdup(b);
    case K_BITRATE: case K_SIZE:
        if (*CFIELD(c, k, int64_t) == 0 && (k->flags & F_UNSET0))
            return vb_xstrdup("");
        return vb_xasprintf("%lld", (long long)*CFIELD(c, k, int64_t));
    case K_LEVEL:
        return vb_xstrdup(preset_level_name(*CFIELD(c, k, int)));
    case K_ENUM: {
        int a = *CFIELD(c, k, int), n = 0;
        while (k->names[n])
            n++;
        return vb_xstrdup(a >= 0 && a < n ? k->names[a] : "");
    }
    case K_TIMES: case K_WORDS: case K_SAMPLE_RATES:
        return vb_strlist_join(CFIELD(c, k, vb_strlist), " ");
    default:
        return NULL;
    }
}

void preset_write_ini(const vb_config *c, FILE *f)
{
    fprintf(f, "; vbatch %s: the effective settings of preset %s (vbatch presets %s);\n"
            "; every key set, so that --config FILE gives these settings whatever the\n"
            "; preset under it.\n", PACKAGE_VERSION, c->name ? c->name : "",
            c->name ? c->name : "");
    fprintf(f, "[preset]\ndescription = %s\n", c->description ? c->description : "");
    for (size_t s = 1; s < VB_ARRAY_LEN(sections); s++) {
        fprintf(f, "\n[%s]\n", sections[s]);
        for (size_t i = 0; i < VB_ARRAY_LEN(keys); i++) {
            if (strcmp(keys[i].section, sections[s]) != 0)
                continue;
            char *v = ini_value(c, &keys[i]);
            if (v)
                fprintf(f, "%s = %s\n", keys[i].key, v);
            free(v);
        }
    }
}

void preset_write(const vb_config *c, writer *w)
{
    writer_begin_object(w, "preset");
    writer_string(w, "name", c->name);
    writer_string(w, "description", c->description);
    writer_end_object(w);
    for (size_t s = 1; s < VB_ARRAY_LEN(sections); s++) {
        writer_begin_object(w, sections[s]);
        for (size_t i = 0; i < VB_ARRAY_LEN(keys); i++) {
            const keydef *k = &keys[i];
            if (strcmp(k->section, sections[s]) != 0)
                continue;
            switch (k->type) {
            case K_STRING:
            case K_COLUMN:
            case K_PROVIDER:
            case K_URL: {
                const char *v = *CFIELD(c, k, char *);
                if (v && *v && (k->flags & F_REDACT)) {
                    char *r = util_url_redact(v);
                    writer_string(w, k->key, r);
                    free(r);
                } else if (v && *v)
                    writer_string(w, k->key, v);
                else
                    writer_null(w, k->key);
                break;
            }
            case K_BOOL:
                writer_bool(w, k->key, *CFIELD(c, k, bool));
                break;
            case K_INT: {
                int v = *CFIELD(c, k, int);
                if (v == 0 && (k->flags & F_UNSET0))
                    writer_null(w, k->key);
                else
                    writer_int(w, k->key, v);
                break;
            }
            case K_DOUBLE:
            case K_SDOUBLE:
            case K_RATE:
            case K_RATIO: {
                double v = *CFIELD(c, k, double);
                if (v == 0 && (k->flags & F_UNSET0))
                    writer_null(w, k->key);
                else
                    writer_double(w, k->key, v);
                break;
            }
            case K_BITRATE:
            case K_SIZE: {
                int64_t v = *CFIELD(c, k, int64_t);
                if (v == 0 && (k->flags & F_UNSET0))
                    writer_null(w, k->key);
                else
                    writer_int(w, k->key, v);
                break;
            }
            case K_LEVEL:
                writer_string(w, k->key, preset_level_name(*CFIELD(c, k, int)));
                break;
            case K_ENUM: {
                int a = *CFIELD(c, k, int);
                int n = 0;
                while (k->names[n])
                    n++;
                writer_string(w, k->key, a >= 0 && a < n ? k->names[a] : "unknown");
                break;
            }
            case K_TIMES:
            case K_WORDS:
            case K_SAMPLE_RATES: {
                const vb_strlist *l = CFIELD(c, k, vb_strlist);
                writer_begin_array(w, k->key);
                for (size_t j = 0; j < l->n; j++)
                    writer_string(w, NULL, l->v[j]);
                writer_end_array(w);
                break;
            }
            default:
                break;
            }
        }
        writer_end_object(w);
    }
}
