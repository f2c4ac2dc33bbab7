/* analyse.h - the decode analysis: one decode pass per file through an
 * in-process libavfilter graph (blackdetect, freezedetect, silencedetect,
 * ebur128), results read from the filters' frame metadata; plus integrity
 * (decode errors, corrupt frames, timestamp gaps, early end). */
#ifndef VB_ANALYSE_H
#define VB_ANALYSE_H

#include "vbatch.h"
#include "preset.h"

#include <stdatomic.h>

typedef struct analyse_segment {
    double start, end, duration;   /* seconds from the start of the file */
} analyse_segment;

#define ANALYSE_LOUD_POINTS 512

typedef struct analyse_result {
    bool has_video, has_audio;
    int mode;                      /* enum analyse_mode it ran in */
    double duration;               /* container duration (s), NAN if unknown */
    /* picture (video) */
    analyse_segment *black;   size_t nblack;
    analyse_segment *freeze;  size_t nfreeze;
    double black_total;            /* seconds */
    double black_share;            /* black_total / duration, 0..1 */
    double leading_black;          /* black from 0, seconds (0 if none) */
    double trailing_black;         /* black up to the end, seconds */
    double freeze_max;             /* longest freeze, seconds */
    /* sound (audio); NAN where not measured */
    analyse_segment *silence; size_t nsilence;
    double silence_max;
    bool audio_silent;             /* audio present and silent throughout */
    double integrated_lufs;        /* EBU R128 integrated loudness */
    double loudness_range;         /* LU */
    double true_peak;              /* dBTP, max over channels */
    /* loudness over time: ebur128's momentary and short-term loudness
     * (LUFS; -inf or NAN where silent), a point every loud_interval s
     * from loud_start, at most ANALYSE_LOUD_POINTS (a longer clip's
     * points are thinned, the interval doubled); nloud 0: none */
    double *loud_m, *loud_s;
    size_t nloud;
    double loud_interval, loud_start;
    /* integrity */
    int64_t decode_errors;         /* packets the decoder refused */
    int64_t corrupt_frames;        /* frames flagged corrupt */
    int64_t timestamp_gaps;        /* jumps forward > 2 frame durations */
    int64_t video_frames, audio_frames;
    double video_end, audio_end;   /* last decoded timestamp + duration, s */
    bool incomplete;               /* could not be decoded to the end */
    double broke_at;               /* seconds where it broke, NAN if it did not */
    char *broke_reason;            /* owned, NULL if it did not break */
    double seconds;                /* time the analysis took */
} analyse_result;

struct mediaio_clock;
/* Analyse `path` with the settings in `cfg`. `threads` caps the decoder's
 * own threads (0 = libav's choice). A file that can not be opened or
 * read, that exceeds cfg->timeout, or that the item's clock `clk` stops
 * (NULL: no clock; see mediaio.h) is an error (-1, e set); a file that
 * breaks part-way is a result with incomplete = true. cancel (may be
 * NULL), once set by another thread, stops the pass too (-1): its
 * result is not wanted any more. */
int analyse_file(const char *path, const analyse_config *cfg, int threads,
                 struct mediaio_clock *clk, const atomic_bool *cancel, analyse_result **out,
                 vb_error *e);
void analyse_result_free(analyse_result **r);
/* Silence at the very start (a run from 0) and running to the end of the
 * sound, in seconds (0 if none), from the silence runs found (those of
 * [analyse] silence_min_duration and longer). Pure. */
/* With --fix alone (no --deep) the analysis measures what the gates
 * need: is no gate on black or freezes set? */
struct vb_config;
bool analyse_picture_unwatched(const struct vb_config *cfg);
/* No gate on the loudness or the true peak (with --fix alone): ebur128
 * is not run. */
bool analyse_loudness_unwatched(const struct vb_config *cfg);
void analyse_edge_silence(const analyse_result *r, double *leading, double *trailing);

struct writer;
/* The result as fields of the current object (metadata/analysis.json). */
void analyse_write(const analyse_result *r, struct writer *w);
/* Read back what analyse_write wrote (the analysis.json of an identical
 * file, reused instead of decoding). With expect_sha256, the document's
 * "sha256" field must be that content hash. */
int analyse_parse(const char *json_text, const char *expect_sha256, analyse_result **out,
                  vb_error *e);

#endif
