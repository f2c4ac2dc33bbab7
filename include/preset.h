/* preset.h - effective configuration: built-in defaults, then a preset,
 * then --config files, then command-line options (see preset.c).
 * Presets are INI files read with inih; unknown sections/keys and values
 * that do not parse are errors naming file:line. */
#ifndef VB_PRESET_H
#define VB_PRESET_H

#include "vbatch.h"
#include "strlist.h"

#include <stdio.h>

/* A rule's level. RULE_UNSET is only used while merging layers. */
enum rule_level { RULE_OFF = 0, RULE_WARN = 1, RULE_FAIL = 2 };

enum audio_policy { AUDIO_OPTIONAL = 0, AUDIO_REQUIRED, AUDIO_FORBIDDEN };

/* Quality gates, section [qc]. A limit of 0 (or an empty list) means
 * "not set"; a rule whose limits are all unset is not evaluated. */
typedef struct qc_config {
    int video_level;               /* a video stream must exist */
    double duration_min, duration_max;     int duration_level;
    int min_width, min_height;             int resolution_level;
    int max_width, max_height;     /* 0 = none; also at resolution_level */
    bool any_orientation;          /* compare long/short sides */
    double aspect_ratio, aspect_tolerance; int aspect_level;
    vb_strlist containers;                 int container_level;
    vb_strlist video_codecs;               int video_codec_level;
    vb_strlist audio_codecs;               int audio_codec_level;
    double bitrate_tolerance;      /* relative slack on every bit-rate limit */
    int64_t bitrate_min, bitrate_max;      int bitrate_level;
    int64_t video_bitrate_min, video_bitrate_max; int video_bitrate_level;
    double fps_min, fps_max;               int fps_level;
    int audio;                     /* enum audio_policy */
                                           int audio_level;
    int64_t audio_bitrate_min;             int audio_bitrate_level;
    vb_strlist sample_rates;               int sample_rate_level;
    int64_t max_file_size;                 int file_size_level;
    bool faststart;                /* required when true */
                                           int faststart_level;
    bool hdr_allowed;                      int hdr_level;
    vb_strlist pix_fmts;           /* pixel formats allowed ("yuv420p") */
                                           int pix_fmt_level;
    int max_bit_depth;             /* bits per component; 0 = any */
                                           int bit_depth_level;
    vb_strlist video_profiles;     /* "high main": lowercase, spaces as _ */
                                           int profile_level;
    bool constant_frame_rate;      /* required when true */
                                           int frame_rate_mode_level;

    /* Gates on the decode analysis ([analyse]); 0 = not set. */
    double black_max_seconds, black_max_share; int black_level;
    double leading_black_max, trailing_black_max; int edge_black_level;
    double freeze_max_seconds;             int freeze_level;
    double silence_max_seconds;            int silence_level;
    double leading_silence_max, trailing_silence_max; int edge_silence_level;
    int audio_silent_level;        /* audio present but silent throughout */
    double loudness_target;        /* LUFS, e.g. -14; 0 = not set */
    double loudness_tolerance;             int loudness_level;
    double true_peak_max;          /* dBTP, e.g. -1; 0 = not set */
                                           int true_peak_level;
    int decode_errors_max;                 int decode_errors_level;

    /* Still images (inputs and produced thumbnails). */
    int image_min_width, image_min_height;
    double image_aspect_ratio, image_aspect_tolerance;
    vb_strlist image_formats;              int image_level;
    int64_t image_max_pixels;      /* guard against decompression bombs */
} qc_config;

enum analyse_mode { ANALYSE_FULL = 0, ANALYSE_KEYFRAMES = 1 };

/* Decode analysis, section [analyse]. */
typedef struct analyse_config {
    bool enabled;                  /* also --deep */
    int mode;                      /* enum analyse_mode */
    double black_min_duration;     /* blackdetect d */
    double black_picture_threshold;/* blackdetect pic_th */
    double black_pixel_threshold;  /* blackdetect pix_th */
    double freeze_noise;           /* freezedetect n (ratio, 0.001 = -60 dB) */
    double freeze_min_duration;    /* freezedetect d */
    double silence_noise;          /* silencedetect n in dB, e.g. -60 */
    double silence_min_duration;   /* silencedetect d */
    bool loudness;                 /* ebur128 with true peak */
    double timeout;                /* seconds per file */
    /* Not a preset key: the sound only, the picture not decoded (the fix's
     * re-check of a file whose video packets were copied untouched). */
    bool skip_video;
    /* Not a preset key either: the picture decoded (integrity) but not
     * looked at (no black or freeze detection): what no gate needs. */
    bool no_picture_filters;
} analyse_config;

enum thumb_format { THUMB_JPEG = 0, THUMB_WEBP, THUMB_PNG };

/* Thumbnails and contact sheet, section [thumbnails]. */
typedef struct thumbs_config {
    bool enabled;
    int count;                     /* evenly spaced */
    vb_strlist times;              /* or these times in seconds */
    bool exact;                    /* evenly spaced: exact times, not key frames */
    int width;                     /* thumbnail width in pixels */
    int format;                    /* enum thumb_format */
    int quality;                   /* 1-100 for JPEG/WebP */
    bool avoid_black;              /* move off black frames */
    bool contact_sheet;
    int columns;                   /* contact sheet grid */
} thumbs_config;

/* [input] outside_links: a symbolic link found in an input folder whose
 * target lies outside the folders named (PATH arguments and folders in
 * list files) is refused, or followed. */
enum outside_links { OUTSIDE_REFUSE = 0, OUTSIDE_ALLOW = 1 };

typedef struct input_config {
    vb_strlist patterns;           /* shell globs on file names */
    vb_strlist exclude;
    bool recursive;
    int outside_links;             /* enum outside_links */
    int64_t max_download_size;     /* bytes */
    int download_retries;
    double download_timeout;       /* seconds, one attempt */
    double download_backoff;       /* seconds before the first retry */
    bool lists_null;               /* --null: list entries end with a NUL byte,
                                      not a newline (a run's option, no key) */
} input_config;

/* [output] csv_separator. */
enum csv_separator { CSV_COMMA = 0, CSV_SEMICOLON = 1 };
/* [output] json_lines: batch_report.json as one document or JSON Lines. */
enum json_lines { JSON_LINES_AUTO = 0, JSON_LINES_YES = 1, JSON_LINES_NO = 2 };
#define JSON_LINES_MIN_DEFAULT 10000
typedef struct output_config {
    bool publish;                  /* link passing items into OUT/publish */
    int csv_separator;             /* results.csv: enum csv_separator */
    bool csv_bom;                  /* results.csv begins with a UTF-8 BOM */
    int json_lines;                /* batch_report.json: enum json_lines */
    int json_lines_min;            /* ... auto: JSON Lines from this many items */
} output_config;

/* [fix]: what a fix makes (fix.h). 0 where a figure is derived from
 * [qc] or from the source. */
enum fix_fit { FIX_FIT_PAD = 0, FIX_FIT_CROP, FIX_FIT_SCALE };
enum fix_metadata { FIX_META_KEEP = 0, FIX_META_STRIP };
typedef struct fix_config {
    bool enabled;                  /* also --fix */
    bool warnings;                 /* rules that warn are fixed too */
    int width, height;             /* the frame a re-encode makes */
    int fit;                       /* enum fix_fit: to another shape */
    double fps;                    /* frame rate made constant */
    int crf;                       /* x264's constant rate factor */
    int x264_preset;               /* index in fix_x264_presets */
    int64_t maxrate, bufsize;      /* VBV cap, bit/s */
    double keyint;                 /* seconds between key frames */
    bool closed_gop;
    int64_t audio_bitrate;         /* AAC, bit/s */
    int sample_rate;               /* Hz */
    int metadata;                  /* enum fix_metadata */
    bool trim;                     /* cut leading/trailing black, cap the duration */
} fix_config;
/* "ultrafast" ... "veryslow", NULL-terminated (x264's preset names). */
extern const char *const fix_x264_presets[];

/* [batch] error_handling: after an item that fails (status failed, not
 * qc_failed), go on, or take no new item (the rest stays pending). */
enum error_handling { ERRH_CONTINUE = 0, ERRH_STOP = 1 };
/* [batch] warnings: what a warning does to the exit status. */
enum warnings_mode { WARNINGS_PASS = 0, WARNINGS_FAIL = 1 };

typedef struct batch_config {
    int jobs;                      /* 0 = number of cores */
    int error_handling;            /* enum error_handling */
    int warnings;                  /* enum warnings_mode */
    /* Robustness (see mediaio.h): limits on an item's reading, retries of
     * transient I/O errors, and the grace period after SIGINT/SIGTERM. */
    double item_timeout;           /* seconds for a whole item, 0 = none */
    double stall_timeout;          /* seconds without a byte read, 0 = none */
    int retries;                   /* new attempts after a transient I/O error */
    double retry_backoff;          /* seconds before the first new attempt */
    double grace_period;           /* seconds running items get after a stop
                                      signal, 0 = interrupt them at once */
} batch_config;

/* `vbatch generate`, section [generate]. The column defaults are kept as
 * the text a JOBS.csv cell would hold (NULL or "" = no default) and are
 * checked like a cell (jobs_check_cell) when loaded. */
typedef struct generate_config {
    char *model, *duration, *aspect_ratio, *mode, *cfg_scale, *negative_prompt;
    char *provider;                /* a provider_find() name */
    int max_concurrent;            /* tasks in flight */
    int rpm;                       /* requests per minute (rpm_counts) */
    int rpm_counts;                /* enum rpm_counts: what rpm limits */
    double budget;                 /* estimated units, 0 = no budget */
    double poll_interval;          /* seconds between polls of a task (jittered) */
    double task_timeout;           /* seconds from submission to giving up on a task */
} generate_config;

/* [generate] rpm_counts: the requests an account's rpm counts. All of
 * them by default (Kling's counts polls too); creates only for accounts
 * that count submissions alone. */
enum rpm_counts { RPM_COUNTS_ALL = 0, RPM_COUNTS_CREATES };

/* Section [provider.kling]. The keys themselves never live here: they
 * come from the environment or from key_file. */
/* [provider.kling] api: which API style a job's requests take. */
enum kling_api { KLING_API_AUTO = 0, KLING_API_LEGACY, KLING_API_CURRENT };

typedef struct kling_config {
    char *base_url;
    char *key_file;                /* NULL or "" = environment only */
    double request_timeout;        /* seconds, one HTTP request */
    int api;                       /* enum kling_api: auto = the model table's */
    char *callback_url;            /* NULL: none; passed through, never trusted */
} kling_config;

/* Section [provider.fal]: fal.ai's queue. The key (FAL_KEY) never lives
 * here: the environment or key_file. */
typedef struct fal_config {
    char *base_url;
    char *key_file;                /* NULL or "" = FAL_KEY only */
    double request_timeout;        /* seconds, one HTTP request */
    char *model;                   /* a fal model id, the model column's default */
} fal_config;

/* The end-of-batch webhook, section [notify] (notify.h). Not part of
 * the settings a result depends on, and never written out in full: the
 * URL may be a secret itself. */
typedef struct notify_config {
    char *url;                     /* NULL or "": none */
    char *key_file;             /* NULL or "": VBATCH_NOTIFY_SECRET only */
    double timeout;                /* seconds, one attempt */
    int attempts;                  /* tries in all */
    bool items;                    /* also a message per item recorded */
} notify_config;

/* "continue" or "stop" as an enum error_handling, -1 for anything else. */
int preset_error_handling(const char *name);
/* "refuse" or "allow" as an enum outside_links, -1 for anything else. */
int preset_outside_links(const char *name);

typedef struct vb_config {
    char *name;                    /* preset name, owned */
    char *description;             /* owned */
    batch_config batch;
    input_config input;
    qc_config qc;
    analyse_config analyse;
    thumbs_config thumbs;
    output_config output;
    fix_config fix;
    generate_config generate;
    kling_config kling;
    fal_config fal;
    notify_config notify;
} vb_config;

/* Built-in defaults. */
void preset_defaults(vb_config *c);
void preset_free_contents(vb_config *c);

/* The folders presets are looked for in, the first found winning: each
 * folder of $VBATCH_PRESET_DIR (colon-separated), the user's
 * ($XDG_CONFIG_HOME/vbatch/presets, else ~/.config/vbatch/presets), then
 * the shipped one (the source tree's presets/ when run from the build
 * tree, else the installed one); `default` is also built in, below them
 * all. Adds each folder to dirs and its origin ("env", "user" or
 * "shipped") to origins; the caller clears both. */
void preset_folders(vb_strlist *dirs, vb_strlist *origins);

/* Load the preset NAME (a name in preset_folders(), or a path to an .ini)
 * on top of c. A preset's `inherit = NAME` is looked for the same way,
 * except that a preset inheriting its own name (a user's kling-clip.ini
 * with inherit = kling-clip) gets the next one of that name down. */
int preset_load_name(vb_config *c, const char *name, vb_error *e);
/* Load an INI file on top of c. */
int preset_load_file(vb_config *c, const char *path, vb_error *e);
/* The settings c holds as an INI file that --config reads back to the
 * same settings (every key of every section set), with a comment naming
 * the preset. */
void preset_write_ini(const vb_config *c, FILE *f);
/* One setting, SECTION.KEY=VALUE (--set qc.duration_min=3), applied on
 * top of c as a one-line INI layer: the same checks and messages as a
 * file's key. 0, or -1 with e set (c unchanged). */
int preset_set(vb_config *c, const char *assign, vb_error *e);
/* Parse INI text (for tests); `origin` names it in messages. */
int preset_load_string(vb_config *c, const char *text, const char *origin,
                       vb_error *e);

/* One preset as preset_list() finds it; everything borrowed. */
typedef struct preset_entry {
    const char *name, *description;
    const char *origin;            /* "env", "user", "shipped" or "built-in" */
    const char *path;              /* the file read; NULL for the built-in one */
    const vb_strlist *hidden;      /* files of the same name further down */
} preset_entry;
/* List the presets of every folder and the built-in default, each name
 * once (the one used), sorted. A folder that does not exist adds none;
 * one that can not be read is an error. */
int preset_list(void (*fn)(const preset_entry *p, void *ud), void *ud, vb_error *e);

struct writer;
/* Write the effective settings as sections/keys. */
void preset_write(const vb_config *c, struct writer *w);

/* Value parsers shared with the command line. Return 0 or -1 with e set. */
int preset_parse_bool(const char *s, bool *out, vb_error *e);
int preset_parse_double(const char *s, double *out, vb_error *e);
int preset_parse_int(const char *s, int *out, vb_error *e);
/* "128k", "8M", "2G" (decimal: k=1000) for bit rates; sizes accept the
 * same plus KiB/MiB/GiB (binary). */
int preset_parse_bitrate(const char *s, int64_t *out, vb_error *e);
int preset_parse_size(const char *s, int64_t *out, vb_error *e);
/* "16:9", "9:16" or "1.7778". */
int preset_parse_ratio(const char *s, double *out, vb_error *e);
int preset_parse_level(const char *s, int *out, vb_error *e);
const char *preset_level_name(int level);

#endif
