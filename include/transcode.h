/* transcode.h - the fix engine: one pass over one file that remuxes,
 * trims, re-encodes audio and/or video, and writes an MP4 or MOV.
 *
 * Done in-process with the FFmpeg libraries (never by spawning ffmpeg):
 * the input is read through mediaio under the item's clock (a deadline,
 * a stall or an abort stops the pass) with the decoders capped as
 * everywhere else; the output is written to exactly job.output, which the
 * caller names (a temporary name it renames once it is content) and which
 * is removed on any failure.
 *
 * One video stream (the main picture, not cover art) and one audio stream
 * (the best) are kept; other streams (subtitles, data, more audio) are
 * dropped. The core calls transcode_run; the work is done in the media
 * module (src/media/transcode*.c: it needs libavfilter).
 *
 * Cuts (trim): with the video re-encoded the cut is frame-exact at both
 * ends (libavfilter's trim/atrim). With the video copied a cut must start
 * on a key frame (within half a frame): otherwise transcode_run fails
 * with VB_ERR_MEDIA, "... not on a key frame ...", and sets
 * result.needs_video_encode, so a planner can ask again with
 * TRANSCODE_VIDEO_ENCODE. A copied video ends at the first packet whose
 * decode time reaches the end (so no frame loses a reference): up to the
 * reorder delay (a frame or two) after it. */
#ifndef VB_TRANSCODE_H
#define VB_TRANSCODE_H

#include "vbatch.h"

#include <math.h>

struct mediaio_clock;

enum transcode_video_mode {
    TRANSCODE_VIDEO_COPY = 0,    /* packets bit-identical, extradata and rotation kept */
    TRANSCODE_VIDEO_ENCODE,      /* H.264 High 8-bit 4:2:0 (libx264) */
    TRANSCODE_VIDEO_DROP,
};

enum transcode_audio_mode {
    TRANSCODE_AUDIO_COPY = 0,
    TRANSCODE_AUDIO_ENCODE,      /* AAC-LC (libavcodec's native encoder) */
    TRANSCODE_AUDIO_ADD_SILENT,  /* the source has none: silent AAC as long as the video */
    TRANSCODE_AUDIO_DROP,
};

/* How the picture meets a target size whose shape differs from it. */
enum transcode_fit {
    TRANSCODE_FIT_PAD = 0,       /* scale to fit inside, black bars */
    TRANSCODE_FIT_CROP,          /* scale to cover, cut the overflow (centred) */
    TRANSCODE_FIT_SCALE,         /* scale to fit inside, no bars: the output is smaller */
};

typedef struct transcode_video {
    int mode;                    /* enum transcode_video_mode */
    /* ENCODE only. The picture is turned upright first (display matrix
     * or rotate tag) and square pixels are assumed after it. */
    int width, height;           /* even; 0 and 0: the upright source size (made even) */
    int fit;                     /* enum transcode_fit */
    int fps_num, fps_den;        /* constant output rate; 0: the source's average */
    int gop;                     /* frames between key frames, closed GOPs, no
                                    scene-cut key frames; 0: x264's own choice */
    double crf;                  /* NaN or < 0: 23 (ignored with bitrate) */
    int64_t bitrate;             /* bit/s, average (two-way for size caps); 0: CRF */
    int64_t maxrate, bufsize;    /* bit/s and bits, VBV cap; 0: none (bufsize 0:
                                    twice maxrate) */
    const char *preset;          /* x264 preset (borrowed); NULL: "medium" */
    int threads;                 /* the encoder's threads; 0: the job's */
    bool tonemap;                /* HDR (PQ or HLG) to SDR BT.709; without it an HDR
                                    source is refused when re-encoding */
} transcode_video;

typedef struct transcode_audio {
    int mode;                    /* enum transcode_audio_mode */
    /* ENCODE and ADD_SILENT */
    int sample_rate;             /* 0: 48000 */
    int channels;                /* 0: keep the source's (ADD_SILENT: 2) */
    int64_t bitrate;             /* bit/s; 0: 64 kbit/s per channel */
    /* ENCODE only */
    double gain_db;              /* linear gain; 0: none */
    double limit_dbtp;           /* true-peak ceiling (dBTP, ITU BS.1770: 4x
                                    oversampled); NaN: no limiter */
} transcode_audio;

typedef struct transcode_job {
    const char *input;           /* borrowed: the file to read (never modified) */
    const char *output;          /* borrowed: the file to write (a temporary name) */
    const char *container;       /* "mp4" or "mov" */
    bool faststart;              /* moov before mdat */
    bool no_editlist;            /* timestamps from 0, no edit list written */
    bool strip_metadata;         /* no global or stream tags (a copied video's
                                    rotation stays: it is how it is shown) */
    int threads;                 /* codec threads; 0: libavcodec picks */
    double trim_start, trim_end; /* seconds of the input; NaN or < 0: none */
    transcode_video video;
    transcode_audio audio;
} transcode_job;

typedef struct transcode_result {
    double seconds;              /* wall time of the pass */
    double duration;             /* of the output, seconds (longest stream) */
    int64_t video_frames;        /* frames encoded */
    int64_t audio_frames;
    int64_t video_packets_copied;
    int64_t audio_packets_copied;
    int64_t decode_errors;       /* packets or frames the decoders refused */
    int width, height;           /* of the video written, 0 if none */
    int rotation;                /* degrees clockwise turned into the pixels */
    bool tonemapped;             /* HDR was mapped to SDR */
    bool limiter;                /* the limiter was in the chain */
    double peak_before_limit;    /* dBTP the limiter saw (after the gain); NaN if
                                    no limiter. Engaged when above the ceiling. */
    bool limiter_engaged;
    double cut_start;            /* where the output starts in the input, seconds */
    double read_from;            /* where reading the input began, seconds: the key
                                    frame before a late cut, else 0 */
    bool needs_video_encode;     /* on failure: a copied video can not be cut there */
} transcode_result;

/* A job with the defaults: mp4, faststart, no edit list, metadata kept,
 * copy both, no trim, NaN limit and CRF. */
void transcode_job_init(transcode_job *job, const char *input, const char *output);
/* Run the job (in the media module, loading it). clk: the item's clock
 * (NULL: none). On failure -1 with e set and job->output removed;
 * out->needs_video_encode tells a cut that copying can not make. */
int transcode_run(const transcode_job *job, struct mediaio_clock *clk, transcode_result *out,
                  vb_error *e);
/* Whether the container's muxer ("mp4", "mov", "matroska" ...) takes the
 * codec (an AVCodecID) as it is, for a remux with copied streams. Pure
 * (libavformat's tables). */
bool transcode_codec_fits(const char *container, int codec_id);
/* The same by the codec's short name, as probe.json gives it ("h264"). */
bool transcode_codec_name_fits(const char *container, const char *codec);
/* The job's checks that need no input: container, sizes, rates, modes.
 * 0, or -1 with e set (VB_ERR_USAGE). */
int transcode_job_check(const transcode_job *job, vb_error *e);

#endif
