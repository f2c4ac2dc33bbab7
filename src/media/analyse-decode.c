/* analyse-decode.c - in the media module (it needs libavfilter): decode
 * each file once and look at what it holds: black
 * picture, frozen picture, silence, loudness (EBU R128) and true peak,
 * plus the integrity of the stream (decode errors, corrupt frames,
 * timestamp gaps, an early end).
 *
 * One pass: packets are read with libavformat, decoded with libavcodec and
 * the frames pushed through two in-process libavfilter graphs,
 *
 *   video: buffer -> [blackdetect] -> freezedetect -> buffersink
 *   audio: abuffer -> asplit -> silencedetect -> abuffersink
 *                           \-> ebur128 (peak=true, metadata=1) -> abuffersink
 *
 * and the filters' findings are read from the frame metadata that comes
 * out of the sinks, never from log text. For the 8-bit formats the black
 * count is done here instead, as blackdetect does it (luma samples at or
 * under its threshold, the same ratio, the same runs), 16 at a time: the
 * filter's plain loop was a tenth of the pass (bench/analyse.sh); other
 * formats keep the filter. ebur128 re-cuts the audio into
 * 100 ms frames and keeps the metadata of the first input frame only, so
 * silencedetect gets a branch of its own.
 *
 * The filters set a key where a run starts or ends; a run still open when
 * the stream ends is reported by the filter's uninit through the log only,
 * so such runs are closed here at the end of the last frame.
 *
 * Times are seconds from the start of the file: the container's start
 * time is subtracted, as the ffmpeg command-line tool does, so the numbers
 * match `ffmpeg -i F -vf blackdetect,... -f null -`.
 *
 * An item that has more than one core (a file alone, a long one, the
 * last of a batch) decodes and filters its sound on a thread of its own,
 * fed the audio packets by the reader, and looks at its pictures (black
 * count, freezedetect) on another, fed references to the decoded frames,
 * so that the reader only reads and feeds the decoders and the pass
 * takes about as long as the video decode; with one core each, the
 * workers already keep the cores busy and one thread per item does it
 * all.
 *
 * The result's output and parsing, which need no libavfilter, are in
 * analyse.c (the core). */
#include "config.h"
#include "media.h"
#include "mediaio.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include "avfilter-lazy.h"
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* AVFrame.duration replaced pkt_duration in libavutil 57.30. */
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
#define FRAME_DURATION(f) ((f)->duration)
#else
#define FRAME_DURATION(f) ((f)->pkt_duration)
#endif

/* A decoder that keeps failing while being drained is given up on. */

/* One run (black, freeze, silence) that has started and not yet ended. */
typedef struct an_run {
    bool open;
    double start;         /* seconds */
    int64_t start_pts;    /* in the sink's time base (black only) */
} an_run;

typedef struct an_stream {
    int index;                   /* stream index, -1 if none */
    AVStream *st;                /* borrowed from the format context */
    AVCodecContext *dec;
    int64_t offset;              /* container start time, in st->time_base */
    double nominal;              /* nominal frame duration, seconds */
    /* filter graph, built on the first frame, rebuilt when the frames'
     * size or format changes (as the ffmpeg tool does) */
    AVFilterGraph *graph;
    AVFilterContext *src;
    AVFilterContext *sink;       /* video: black+freeze; audio: silence */
    AVFilterContext *sink2;      /* audio: ebur128 (NULL without loudness) */
    int width, height, format, rate;
    bool graph_on;               /* video: frames go through the graph */
    bool black_on;               /* video: black counted here (8-bit) */
    unsigned black_th;           /* blackdetect's pixel_black_th_i */
    AVChannelLayout layout;
    /* on the sink side */
    int64_t last_pts;            /* sink time base, AV_NOPTS_VALUE if none */
    double last_end;             /* end of the last frame out of the graph */
    /* on the decoder side */
    double prev_end;             /* video: nominal end of the previous frame,
                                    NAN at first */
    int64_t next_pts;            /* audio: expected pts (1/rate) of the next */
    double last_dur;             /* audio: duration of the last frame */
    /* on the demuxer side */
    double pkt_end;              /* end of the last packet read, seconds */
} an_stream;

struct an_worker;

typedef struct an_ctx {
    const char *path;
    const analyse_config *cfg;
    analyse_result *r;
    bool keyframes;
    int threads;
    mediaio_clock *clk;          /* the item's clock (borrowed, may be NULL) */
    const atomic_bool *cancel;   /* the caller's: stop when set (may be NULL) */
    mediaio *io;                 /* the input, read under clk and cfg->timeout */
    AVFormatContext *fc;         /* io's (borrowed) */
    AVPacket *pkt;
    AVFrame *frame, *out;
    an_stream v, a;
    an_run black, freeze, silence;
    bool loudness_seen;
    double peak;                 /* true peak so far, linear */
    int64_t loud_blocks;         /* ebur128's 100 ms blocks seen */
    int64_t loud_every;          /* one point kept every that many blocks */
    int64_t decode_errors;       /* this context's, into r at the end */
    int64_t corrupt_frames;
    atomic_bool *quit;           /* a worker's context: stop when set (the
                                    reader alone looks at io) */
    struct an_worker *audio;     /* the sound's thread, NULL if none (owned) */
    struct an_worker *picture;   /* the picture's look, NULL if none (owned) */
    vb_error *e;
} an_ctx;

/* A worker thread: a copy of the context for its part (its own frames,
 * counters and error) and the jobs the reader queues for it, taken in
 * order: the sound's packets, or the decoded pictures (references to
 * the decoder's frames) whose black count and filters would otherwise
 * hold up the reader and with it the decoder's threads. */
#define AN_QUEUE_MAX 256

typedef struct an_worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *q[AN_QUEUE_MAX];       /* owned jobs */
    unsigned head, n, cap;       /* cap <= AN_QUEUE_MAX */
    bool end;                    /* no more jobs: finish */
    bool done;                   /* the thread has finished */
    int rc;                      /* its result: 0, or -1 with e set */
    atomic_bool quit;
    int (*take)(an_ctx *c, void *job);   /* one job, which it frees */
    int (*finish)(an_ctx *c);            /* after the last job, or NULL */
    void (*drop)(void *job);             /* a job never taken */
    an_ctx c;
    vb_error e;
} an_worker;

static void quiet_logs(void)
{
    /* Broken files make libav log warnings and the filters log what they
     * find; vbatch reports both itself. */
    av_log_set_level(vb_verbosity > 2 ? AV_LOG_WARNING : AV_LOG_QUIET);
}

static int fail_av(an_ctx *c, int code, int rc, const char *what)
{
    char m[AV_ERROR_MAX_STRING_SIZE];
    return vb_fail(c->e, code, "%s: %s: %s", c->path, what, mediaio_averr(rc, m));
}

static int fail_timeout(an_ctx *c)
{
    return vb_fail(c->e, VB_ERR_LIMIT, "%s: analysis took longer than %g s (timeout)",
                   c->path, c->cfg->timeout);
}

/* Should the pass stop: the item's clock or [analyse] timeout, or the
 * caller does not want the result any more. */
static bool stopping(an_ctx *c)
{
    if (c->quit)
        return atomic_load(c->quit);
    if (c->cancel && atomic_load(c->cancel))
        return true;
    return mediaio_check(c->io) != MEDIAIO_GO;
}

/* The reader stopped (deadline, stall, abort, timeout) or failed (an I/O
 * error): -1 with the reason in c->e; else 0. */
static int reader_failed(an_ctx *c)
{
    if (c->quit)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: audio stopped", c->path);
    if (c->cancel && atomic_load(c->cancel))
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: analysis cancelled", c->path);
    if (mediaio_check(c->io) == MEDIAIO_TIMEOUT)
        return fail_timeout(c);
    return mediaio_error(c->io, c->e);
}

static void seg_add(analyse_segment **v, size_t *n, double start, double end)
{
    *v = vb_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n] = (analyse_segment){ start, end, end - start };
    (*n)++;
}

static double dict_double(const AVDictionary *m, const char *key, bool *found)
{
    const AVDictionaryEntry *t = av_dict_get(m, key, NULL, 0);
    *found = t != NULL;
    return t ? strtod(t->value, NULL) : NAN;
}

/* ---- filter graphs ---- */

/* Create `filter` with `args` in g and link output `pad` of *prev to it. */
static int add_filter(AVFilterGraph *g, AVFilterContext *prev, unsigned pad,
                      const char *filter, const char *args, AVFilterContext **out)
{
    const AVFilter *f = avfilter_get_by_name(filter);
    if (!f)
        return AVERROR_FILTER_NOT_FOUND;
    int rc = avfilter_graph_create_filter(out, f, NULL, args, NULL, g);
    if (rc >= 0 && prev)
        rc = avfilter_link(prev, pad, *out, 0);
    return rc;
}

/* An option as the filter reads it: written with "%.9g", parsed back. */
static double filter_opt(double v)
{
    char b[32];
    snprintf(b, sizeof b, "%.9g", v);
    return strtod(b, NULL);
}

/* blackdetect's pixel_black_th_i for an 8-bit format whose luma it reads
 * as it is (its config_input: full-range formats from 0 to 255, the
 * others from 16 to 235, truncated), -1 for the formats left to it. */
static int black_threshold(int format, double pix_th)
{
    switch (format) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
        return (int)(unsigned)(pix_th * 255);
    case AV_PIX_FMT_GRAY8:
    case AV_PIX_FMT_YUV410P:
    case AV_PIX_FMT_YUV411P:
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUV422P:
    case AV_PIX_FMT_YUV444P:
    case AV_PIX_FMT_NV12:
    case AV_PIX_FMT_NV21:
        return (int)(unsigned)(16 + pix_th * (235 - 16));
    default:
        return -1;
    }
}

/* Luma samples at or under th, 32 at a time where SSE2 is there (always
 * on x86-64): a byte counter per lane, emptied every 255 steps. */
static uint64_t black_count(const AVFrame *f, unsigned th)
{
    uint64_t n = 0;
    const uint8_t *row = f->data[0];
    for (int y = 0; y < f->height; y++, row += f->linesize[0]) {
        int x = 0;
#ifdef __SSE2__
        const __m128i t = _mm_set1_epi8((char)th), zero = _mm_setzero_si128();
        for (int steps = f->width / 32; steps > 0;) {
            int k = steps < 255 ? steps : 255;
            steps -= k;
            const uint8_t *p = row + x;
            x += 32 * k;
            __m128i acc0 = zero, acc1 = zero;
            for (; k > 0; k--, p += 32) {
                __m128i v0 = _mm_loadu_si128((const __m128i *)p);
                __m128i v1 = _mm_loadu_si128((const __m128i *)(p + 16));
                /* v <= th where min(v, th) == v: -1 in that lane */
                acc0 = _mm_sub_epi8(acc0, _mm_cmpeq_epi8(_mm_min_epu8(v0, t), v0));
                acc1 = _mm_sub_epi8(acc1, _mm_cmpeq_epi8(_mm_min_epu8(v1, t), v1));
            }
            __m128i sum = _mm_add_epi64(_mm_sad_epu8(acc0, zero), _mm_sad_epu8(acc1, zero));
            n += (uint64_t)_mm_cvtsi128_si32(sum) +
                 (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
        }
#endif
        for (; x < f->width; x++)
            n += row[x] <= th;
    }
    return n;
}

/* Set up the picture's look for frames like f: the black count here or
 * blackdetect, and a graph only for the filters left (none in key-frame
 * mode with the count here). */
static int video_graph_new(an_ctx *c, const AVFrame *f)
{
    an_stream *s = &c->v;
    const analyse_config *cfg = c->cfg;
    bool look = !cfg->no_picture_filters;
    int th = look ? black_threshold(f->format, filter_opt(cfg->black_pixel_threshold)) : -1;
    s->graph_on = true;
    s->black_on = th >= 0;
    s->black_th = th >= 0 ? (unsigned)th : 0;
    s->width = f->width;
    s->height = f->height;
    s->format = f->format;
    /* A freeze can not be told from key frames seconds apart. */
    bool freeze = look && !c->keyframes;
    if (!freeze && (s->black_on || !look))
        return 0;
    s->graph = avfilter_graph_alloc();
    if (!s->graph)
        return AVERROR(ENOMEM);
    s->graph->nb_threads = c->threads;
    AVRational tb = s->st->time_base;
    AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : (AVRational){ 1, 1 };
    char args[256];
    snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
             f->width, f->height, f->format, tb.num, tb.den, sar.num, sar.den);
    AVFilterContext *prev;
    int rc = add_filter(s->graph, NULL, 0, "buffer", args, &s->src);
    prev = s->src;
    snprintf(args, sizeof args, "d=%.9g:pic_th=%.9g:pix_th=%.9g", cfg->black_min_duration,
             cfg->black_picture_threshold, cfg->black_pixel_threshold);
    if (rc >= 0 && look && !s->black_on)
        rc = add_filter(s->graph, prev, 0, "blackdetect", args, &prev);
    if (rc >= 0 && freeze) {
        snprintf(args, sizeof args, "n=%.9g:d=%.9g", cfg->freeze_noise, cfg->freeze_min_duration);
        rc = add_filter(s->graph, prev, 0, "freezedetect", args, &prev);
    }
    if (rc >= 0)
        rc = add_filter(s->graph, prev, 0, "buffersink", NULL, &s->sink);
    if (rc >= 0)
        rc = avfilter_graph_config(s->graph, NULL);
    return rc;
}

static int audio_graph_new(an_ctx *c, const AVFrame *f)
{
    an_stream *s = &c->a;
    const analyse_config *cfg = c->cfg;
    char layout[128], args[384];
    if (av_channel_layout_describe(&f->ch_layout, layout, sizeof layout) < 0)
        return AVERROR(EINVAL);
    s->graph = avfilter_graph_alloc();
    if (!s->graph)
        return AVERROR(ENOMEM);
    s->graph->nb_threads = c->threads;
    snprintf(args, sizeof args, "time_base=1/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             f->sample_rate, f->sample_rate, av_get_sample_fmt_name(f->format), layout);
    AVFilterContext *split = NULL, *prev;
    int rc = add_filter(s->graph, NULL, 0, "abuffer", args, &s->src);
    prev = s->src;
    if (rc >= 0 && cfg->loudness)
        rc = add_filter(s->graph, prev, 0, "asplit", "outputs=2", &split);
    if (split)
        prev = split;
    snprintf(args, sizeof args, "n=%.9gdB:d=%.9g", cfg->silence_noise, cfg->silence_min_duration);
    if (rc >= 0)
        rc = add_filter(s->graph, prev, 0, "silencedetect", args, &prev);
    if (rc >= 0)
        rc = add_filter(s->graph, prev, 0, "abuffersink", NULL, &s->sink);
    if (rc >= 0 && split) {
        rc = add_filter(s->graph, split, 1, "ebur128", "peak=true:metadata=1", &prev);
        if (rc >= 0)
            rc = add_filter(s->graph, prev, 0, "abuffersink", NULL, &s->sink2);
    }
    if (rc >= 0)
        rc = avfilter_graph_config(s->graph, NULL);
    s->rate = f->sample_rate;
    s->format = f->format;
    av_channel_layout_uninit(&s->layout);
    av_channel_layout_copy(&s->layout, &f->ch_layout);
    return rc;
}

/* ---- what comes out of the sinks ---- */

static double frame_end(const an_stream *s, const AVFrame *f, AVRational tb, double t)
{
    if (f->nb_samples > 0 && f->sample_rate > 0)
        return t + (double)f->nb_samples / f->sample_rate;
    int64_t d = FRAME_DURATION(f);
    return t + (d > 0 ? (double)d * av_q2d(tb) : s->nominal);
}

/* A black run starts (the first black picture) or ends (the first one
 * after it, whatever the run's length): blackdetect's minimum applies to
 * what it logs, so it is applied here the same way, in time-base units. */
static void black_edge(an_ctx *c, bool start, int64_t pts, double t, AVRational tb)
{
    if (start) {
        c->black = (an_run){ true, t, pts };
        return;
    }
    if (!c->black.open)
        return;
    int64_t min = (int64_t)(c->cfg->black_min_duration / av_q2d(tb));
    if (pts - c->black.start_pts >= min)
        seg_add(&c->r->black, &c->r->nblack, c->black.start, t);
    c->black.open = false;
}

/* The black count of one frame (f->pts set), as blackdetect's
 * filter_frame decides a picture is black. */
static void black_frame(an_ctx *c, const AVFrame *f)
{
    an_stream *s = &c->v;
    double ratio = (double)black_count(f, s->black_th) / ((double)f->width * f->height);
    bool black = ratio >= filter_opt(c->cfg->black_picture_threshold);
    AVRational tb = s->st->time_base;
    if (black != c->black.open)
        black_edge(c, black, f->pts, (double)f->pts * av_q2d(tb), tb);
}

static void video_out(an_ctx *c, const AVFrame *f)
{
    an_stream *s = &c->v;
    analyse_result *r = c->r;
    if (f->pts == AV_NOPTS_VALUE)
        return;
    AVRational tb = av_buffersink_get_time_base(s->sink);
    double t = (double)f->pts * av_q2d(tb);
    bool found;
    /* blackdetect marks the first black frame and the first frame after
     * the run, whatever its length; its minimum applies to what it logs,
     * so apply it here the same way (in time-base units). */
    dict_double(f->metadata, "lavfi.black_start", &found);
    if (found)
        black_edge(c, true, f->pts, t, tb);
    dict_double(f->metadata, "lavfi.black_end", &found);
    if (found)
        black_edge(c, false, f->pts, t, tb);
    /* freezedetect marks the frame where the freeze has lasted long
     * enough, with the time it began as the value, and the first moving
     * frame after it. */
    double v = dict_double(f->metadata, "lavfi.freezedetect.freeze_start", &found);
    if (found)
        c->freeze = (an_run){ true, v, 0 };
    dict_double(f->metadata, "lavfi.freezedetect.freeze_end", &found);
    if (found && c->freeze.open) {
        seg_add(&r->freeze, &r->nfreeze, c->freeze.start, t);
        c->freeze.open = false;
    }
    s->last_pts = f->pts;
    s->last_end = frame_end(s, f, tb, t);
}

static void silence_out(an_ctx *c, const AVFrame *f)
{
    an_stream *s = &c->a;
    analyse_result *r = c->r;
    bool found;
    double v = dict_double(f->metadata, "lavfi.silence_start", &found);
    if (found)
        c->silence = (an_run){ true, v, 0 };
    v = dict_double(f->metadata, "lavfi.silence_end", &found);
    if (found && c->silence.open) {
        seg_add(&r->silence, &r->nsilence, c->silence.start, v);
        c->silence.open = false;
    }
    if (f->pts != AV_NOPTS_VALUE) {
        AVRational tb = av_buffersink_get_time_base(s->sink);
        s->last_pts = f->pts;
        s->last_end = frame_end(s, f, tb, (double)f->pts * av_q2d(tb));
    }
}

/* One 100 ms block's momentary and short-term loudness into the series,
 * thinned to every other point when full: bounded, however long. */
static void loudness_point(an_ctx *c, double m, double s)
{
    analyse_result *r = c->r;
    if (c->loud_every < 1)
        c->loud_every = 1;
    int64_t block = c->loud_blocks++;
    if (block % c->loud_every)
        return;
    if (!r->loud_m) {
        r->loud_m = vb_xcalloc(ANALYSE_LOUD_POINTS, sizeof *r->loud_m);
        r->loud_s = vb_xcalloc(ANALYSE_LOUD_POINTS, sizeof *r->loud_s);
        r->loud_interval = 0.1;
        r->loud_start = 0;
    }
    if (r->nloud == ANALYSE_LOUD_POINTS) {
        for (size_t i = 0; i < ANALYSE_LOUD_POINTS / 2; i++) {
            r->loud_m[i] = r->loud_m[2 * i];
            r->loud_s[i] = r->loud_s[2 * i];
        }
        r->nloud = ANALYSE_LOUD_POINTS / 2;
        r->loud_interval *= 2;
        c->loud_every *= 2;
        if (block % c->loud_every)
            return;
    }
    r->loud_m[r->nloud] = m;
    r->loud_s[r->nloud++] = s;
}

static void loudness_out(an_ctx *c, const AVFrame *f)
{
    analyse_result *r = c->r;
    bool found;
    /* ebur128 puts its running figures on every frame that closes a
     * 100 ms block: the last ones are the summary it prints. */
    double v = dict_double(f->metadata, "lavfi.r128.I", &found);
    if (found) {
        r->integrated_lufs = v;
        c->loudness_seen = true;
    }
    v = dict_double(f->metadata, "lavfi.r128.LRA", &found);
    if (found)
        r->loudness_range = v;
    double m = dict_double(f->metadata, "lavfi.r128.M", &found);
    if (found) {
        double st = dict_double(f->metadata, "lavfi.r128.S", &found);
        loudness_point(c, m, found ? st : NAN);
    }
    /* lavfi.r128.true_peaks_chN (and true_peak): running maxima, linear,
     * three decimals. */
    const AVDictionaryEntry *t = NULL;
    while ((t = av_dict_get(f->metadata, "lavfi.r128.true_peak", t, AV_DICT_IGNORE_SUFFIX))) {
        double p = strtod(t->value, NULL);
        if (p > c->peak)
            c->peak = p;
    }
}

/* Take everything the sink holds. */
static int drain(an_ctx *c, AVFilterContext *sink, void (*fn)(an_ctx *, const AVFrame *))
{
    int rc;
    while ((rc = av_buffersink_get_frame(sink, c->out)) >= 0) {
        fn(c, c->out);
        av_frame_unref(c->out);
    }
    return (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) ? 0 : rc;
}

static int video_drain(an_ctx *c)
{
    return drain(c, c->v.sink, video_out);
}

static int audio_drain(an_ctx *c)
{
    int rc = drain(c, c->a.sink, silence_out);
    if (rc >= 0 && c->a.sink2)
        rc = drain(c, c->a.sink2, loudness_out);
    return rc;
}

/* End of a video graph (end of stream or a change of frame size): flush
 * it and close the runs still open, as the filters' uninit does, at the
 * end of the last frame (or at `end` if that is later: in key-frame mode,
 * the last packet). */
static int video_graph_end(an_ctx *c, double end)
{
    an_stream *s = &c->v;
    if (!s->graph_on)
        return 0;
    int rc = 0;
    if (s->graph) {
        rc = av_buffersrc_add_frame_flags(s->src, NULL, 0);
        if (rc >= 0)
            rc = video_drain(c);
    }
    double e = fmax(s->last_end, end);
    if (c->black.open && s->last_pts != AV_NOPTS_VALUE) {
        AVRational tb = s->st->time_base;
        int64_t min = (int64_t)(c->cfg->black_min_duration / av_q2d(tb));
        /* blackdetect's uninit measures to the last frame's start; a key
         * frame stands for the picture up to the end */
        bool enough = c->keyframes ? e - c->black.start >= c->cfg->black_min_duration
                                   : s->last_pts - c->black.start_pts >= min;
        if (enough)
            seg_add(&c->r->black, &c->r->nblack, c->black.start, e);
    }
    if (c->freeze.open)
        seg_add(&c->r->freeze, &c->r->nfreeze, c->freeze.start, e);
    c->black.open = c->freeze.open = false;
    avfilter_graph_free(&s->graph);
    s->src = s->sink = s->sink2 = NULL;
    s->graph_on = s->black_on = false;
    return rc;
}

static int audio_graph_end(an_ctx *c)
{
    an_stream *s = &c->a;
    if (!s->graph)
        return 0;
    int rc = av_buffersrc_add_frame_flags(s->src, NULL, 0);
    if (rc >= 0)
        rc = audio_drain(c);
    if (c->silence.open)
        seg_add(&c->r->silence, &c->r->nsilence, c->silence.start, s->last_end);
    c->silence.open = false;
    avfilter_graph_free(&s->graph);
    s->src = s->sink = s->sink2 = NULL;
    return rc;
}

/* ---- decoded frames ---- */

static int video_look(an_ctx *c, AVFrame *f);
static int picture_push(an_ctx *c, AVFrame *f);

static int video_frame(an_ctx *c, AVFrame *f)
{
    an_stream *s = &c->v;
    analyse_result *r = c->r;
    AVRational tb = s->st->time_base;
    r->video_frames++;
    if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags)
        c->corrupt_frames++;
    int64_t d = FRAME_DURATION(f);
    double dur = d > 0 ? (double)d * av_q2d(tb) : s->nominal;
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE)
        ts = isfinite(s->prev_end) ? llrint(s->prev_end / av_q2d(tb)) + s->offset : s->offset;
    double t = (double)(ts - s->offset) * av_q2d(tb);
    /* A hole: more than two frames missing after the previous one, at
     * the nominal rate (MP4 has no holes as such: it stores one as a long
     * previous frame). Key frames are seconds apart by design. */
    if (!c->keyframes && isfinite(s->prev_end) && t > s->prev_end + 2 * s->nominal)
        r->timestamp_gaps++;
    s->prev_end = t + fmin(dur, s->nominal);
    if (!isfinite(r->video_end) || t + dur > r->video_end)
        r->video_end = t + dur;
    f->pts = ts - s->offset;
    return c->picture ? picture_push(c, f) : video_look(c, f);
}

/* The picture's look at one frame (its pts set): the black count here,
 * the filters' graph (set up again when the frames change), on the
 * reader's thread or on the picture's own. */
static int video_look(an_ctx *c, AVFrame *f)
{
    an_stream *s = &c->v;
    AVRational tb = s->st->time_base;
    int rc;
    if (s->graph_on && (f->width != s->width || f->height != s->height || f->format != s->format)) {
        rc = video_graph_end(c, 0);
        if (rc < 0)
            return fail_av(c, VB_ERR_INTERNAL, rc, "video filter");
    }
    if (!s->graph_on) {
        s->last_pts = AV_NOPTS_VALUE;
        rc = video_graph_new(c, f);
        if (rc < 0)
            return fail_av(c, VB_ERR_INTERNAL, rc, "cannot set up the video filters");
    }
    if (s->black_on)
        black_frame(c, f);
    if (!s->graph) {
        s->last_pts = f->pts;
        s->last_end = frame_end(s, f, tb, (double)f->pts * av_q2d(tb));
        return 0;
    }
    rc = av_buffersrc_add_frame_flags(s->src, f, 0);
    if (rc >= 0)
        rc = video_drain(c);
    if (rc < 0)
        return fail_av(c, VB_ERR_INTERNAL, rc, "video filter");
    return 0;
}

static int audio_frame(an_ctx *c, AVFrame *f)
{
    an_stream *s = &c->a;
    analyse_result *r = c->r;
    if (f->sample_rate <= 0 || f->nb_samples <= 0)
        return 0;
    r->audio_frames++;
    if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags)
        c->corrupt_frames++;
    AVRational stb = (AVRational){ 1, f->sample_rate };
    int64_t ts = f->best_effort_timestamp;
    int64_t pts = ts != AV_NOPTS_VALUE ? av_rescale_q(ts - s->offset, s->st->time_base, stb)
                                       : s->next_pts;
    s->next_pts = pts + f->nb_samples;
    s->last_dur = (double)f->nb_samples / f->sample_rate;
    double t = (double)pts / f->sample_rate;
    double end = t + (double)f->nb_samples / f->sample_rate;
    if (!isfinite(r->audio_end) || end > r->audio_end)
        r->audio_end = end;
    f->pts = pts;
    /* A header that gives only a channel count: the filters want a
     * layout, and the decoder's default is what ffmpeg uses too. */
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        int n = f->ch_layout.nb_channels;
        av_channel_layout_uninit(&f->ch_layout);
        av_channel_layout_default(&f->ch_layout, n);
    }

    int rc;
    if (s->graph && (f->sample_rate != s->rate || f->format != s->format ||
                     av_channel_layout_compare(&f->ch_layout, &s->layout) != 0)) {
        rc = audio_graph_end(c);
        if (rc < 0)
            return fail_av(c, VB_ERR_INTERNAL, rc, "audio filter");
    }
    if (!s->graph) {
        rc = audio_graph_new(c, f);
        if (rc < 0)
            return fail_av(c, VB_ERR_INTERNAL, rc, "cannot set up the audio filters");
    }
    rc = av_buffersrc_add_frame_flags(s->src, f, 0);
    if (rc >= 0)
        rc = audio_drain(c);
    if (rc < 0)
        return fail_av(c, VB_ERR_INTERNAL, rc, "audio filter");
    return 0;
}

typedef struct an_frame_ctx {
    an_ctx *c;
    an_stream *s;
} an_frame_ctx;

static int decoded_frame(void *ud, AVFrame *f)
{
    an_frame_ctx *x = ud;
    int rc = x->s == &x->c->v ? video_frame(x->c, f) : audio_frame(x->c, f);
    return rc < 0 ? -1 : 0;
}

/* Send one packet (NULL: drain) and pass on every frame it gives.
 * Errors from the decoder are counted, not fatal: a damaged packet is
 * what this stage is looking for. */
static int decode(an_ctx *c, an_stream *s, const AVPacket *pkt)
{
    an_frame_ctx x = { c, s };
    for (;;) {
        int rc = media_decode_packet(s->dec, pkt, c->frame, &c->decode_errors,
                                     decoded_frame, &x);
        if (rc <= 0)
            return rc;
        if (stopping(c))
            return reader_failed(c);
    }
}

/* ---- the worker threads ---- */

static void *worker_main(void *arg)
{
    an_worker *w = arg;
    an_ctx *c = &w->c;
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->n == 0 && !w->end && !atomic_load(&w->quit))
            pthread_cond_wait(&w->cv, &w->mu);
        if (atomic_load(&w->quit) || w->n == 0) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        void *job = w->q[w->head];
        w->q[w->head] = NULL;
        w->head = (w->head + 1) % w->cap;
        w->n--;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        rc = w->take(c, job);
        if (rc < 0)
            break;
    }
    if (rc == 0 && !atomic_load(&w->quit) && w->finish)
        rc = w->finish(c);
    pthread_mutex_lock(&w->mu);
    w->rc = rc < 0 ? -1 : 0;
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Start a worker on a copy of c: from now on only the worker touches its
 * part of c (the sound, or the picture's look) and that part's figures.
 * NULL if it cannot start (the caller does the work itself). */
static an_worker *worker_start(an_ctx *c, unsigned cap, int (*take)(an_ctx *, void *),
                               int (*finish)(an_ctx *), void (*drop)(void *))
{
    an_worker *w = vb_xcalloc(1, sizeof *w);
    w->c = *c;
    w->c.frame = av_frame_alloc();
    w->c.out = av_frame_alloc();
    w->c.e = &w->e;
    w->c.quit = &w->quit;
    w->c.io = NULL;
    w->c.audio = w->c.picture = NULL;
    w->c.decode_errors = w->c.corrupt_frames = 0;
    w->cap = cap < 1 ? 1 : cap > AN_QUEUE_MAX ? AN_QUEUE_MAX : cap;
    w->take = take;
    w->finish = finish;
    w->drop = drop;
    atomic_init(&w->quit, false);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (!w->c.frame || !w->c.out || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        av_frame_free(&w->c.frame);
        av_frame_free(&w->c.out);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    return w;
}

/* Queue a job (owned from now on) for w, waiting while its queue is full;
 * -1 with c->e set if the worker has failed. */
static int worker_push(an_ctx *c, an_worker *w, void *job)
{
    pthread_mutex_lock(&w->mu);
    while (w->n == w->cap && !w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    bool failed = w->done;
    if (!failed) {
        w->q[(w->head + w->n) % w->cap] = job;
        w->n++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (failed) {
        w->drop(job);
        *c->e = w->e;
        return -1;
    }
    return 0;
}

/* Wait for the worker (quit: tell it to stop first) and drop the jobs it
 * left; the caller then takes its part back from w->c and frees it
 * (worker_free). The worker's result: 0, or -1 with c->e set (not when
 * told to quit). */
static int worker_join(an_ctx *c, an_worker *w, bool quit)
{
    pthread_mutex_lock(&w->mu);
    w->end = true;
    if (quit)
        atomic_store(&w->quit, true);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (unsigned i = 0; i < w->n; i++) {
        unsigned k = (w->head + i) % w->cap;
        w->drop(w->q[k]);
        w->q[k] = NULL;
    }
    w->n = 0;
    c->decode_errors += w->c.decode_errors;
    c->corrupt_frames += w->c.corrupt_frames;
    if (w->rc < 0 && !quit)
        *c->e = w->e;
    return w->rc;
}

static void worker_free(an_worker **pw)
{
    an_worker *w = *pw;
    av_frame_free(&w->c.frame);
    av_frame_free(&w->c.out);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    *pw = NULL;
}

/* The sound's thread: fed the packets, drains its decoder and graph. */
static int audio_take(an_ctx *c, void *job)
{
    AVPacket *pkt = job;
    int rc = decode(c, &c->a, pkt);
    av_packet_free(&pkt);
    return rc;
}

static int audio_finish(an_ctx *c)
{
    int rc = decode(c, &c->a, NULL);
    if (rc < 0)
        return rc;
    rc = audio_graph_end(c);
    return rc < 0 ? fail_av(c, VB_ERR_INTERNAL, rc, "audio filter") : 0;
}

static void packet_drop(void *job)
{
    AVPacket *p = job;
    av_packet_free(&p);
}

/* Queue the packet (moved from pkt) for the sound's thread. */
static int audio_push(an_ctx *c, AVPacket *pkt)
{
    AVPacket *p = av_packet_alloc();
    if (!p)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    av_packet_move_ref(p, pkt);
    return worker_push(c, c->audio, p);
}

/* Wait for the sound's thread and take back the sound's state. */
static int audio_join(an_ctx *c, bool quit)
{
    an_worker *w = c->audio;
    if (!w)
        return 0;
    int rc = worker_join(c, w, quit);
    an_ctx *a = &w->c;
    c->a = a->a;
    c->silence = a->silence;
    c->loudness_seen = a->loudness_seen;
    c->peak = a->peak;
    c->loud_blocks = a->loud_blocks;
    c->loud_every = a->loud_every;
    worker_free(&c->audio);
    return rc;
}

/* The picture's thread: the frames in order, each looked at then
 * released. The graph is ended by the reader once the thread is done
 * (the end of the picture is known there). */
static int picture_take(an_ctx *c, void *job)
{
    AVFrame *f = job;
    int rc = video_look(c, f);
    av_frame_free(&f);
    return rc;
}

static void frame_drop(void *job)
{
    AVFrame *f = job;
    av_frame_free(&f);
}

/* Hand the decoded frame (its reference moved) to the picture's thread. */
static int picture_push(an_ctx *c, AVFrame *f)
{
    AVFrame *p = av_frame_alloc();
    if (!p)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    av_frame_move_ref(p, f);
    return worker_push(c, c->picture, p);
}

/* Wait for the picture's thread and take back what it looked at: the
 * graph (still to be ended) and the runs. */
static int picture_join(an_ctx *c, bool quit)
{
    an_worker *w = c->picture;
    if (!w)
        return 0;
    int rc = worker_join(c, w, quit);
    const an_stream *p = &w->c.v;
    an_stream *s = &c->v;
    s->graph = p->graph;
    s->src = p->src;
    s->sink = p->sink;
    s->sink2 = p->sink2;
    s->width = p->width;
    s->height = p->height;
    s->format = p->format;
    s->graph_on = p->graph_on;
    s->black_on = p->black_on;
    s->black_th = p->black_th;
    s->last_pts = p->last_pts;
    s->last_end = p->last_end;
    c->black = w->c.black;
    c->freeze = w->c.freeze;
    worker_free(&c->picture);
    return rc;
}

/* Decoded pictures queued for the look: enough to ride out the look's
 * hiccups (a graph rebuilt, the thread waiting for a core), few enough
 * that a large picture does not hold much memory: 8 frames, at most
 * about 64 MiB of them, at least 2. */
static unsigned picture_queue(const an_stream *s)
{
    const AVCodecParameters *par = s->st->codecpar;
    double bytes = fmax(1.0, 3.0 * par->width * par->height);
    double n = floor(64.0 * 1024 * 1024 / bytes);
    return n >= 8 ? 8 : n <= 2 ? 2 : (unsigned)n;
}

/* ---- opening ---- */

static int open_decoder(an_ctx *c, an_stream *s)
{
    AVCodecParameters *par = s->st->codecpar;
    const char *kind = par->codec_type == AVMEDIA_TYPE_VIDEO ? "video" : "audio";
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec && par->codec_id == AV_CODEC_ID_NONE)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: the %s codec is unknown to this FFmpeg: "
                       "cannot decode it", c->path, kind);
    if (!codec)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: no decoder for the %s codec %s in this FFmpeg",
                       c->path, kind, avcodec_get_name(par->codec_id));
    if (par->codec_type == AVMEDIA_TYPE_VIDEO &&
        mediaio_picture_check(c->path, par->width, par->height, c->e) != 0)
        return -1;
    s->dec = avcodec_alloc_context3(codec);
    if (!s->dec)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    int rc = avcodec_parameters_to_context(s->dec, par);
    if (rc < 0)
        return fail_av(c, VB_ERR_MEDIA, rc, kind);
    s->dec->pkt_timebase = s->st->time_base;
    s->dec->thread_count = c->threads; /* 0: libavcodec picks */
    if (c->keyframes && par->codec_type == AVMEDIA_TYPE_VIDEO)
        s->dec->skip_frame = AVDISCARD_NONKEY;
    /* A picture decoded for its integrity alone: the deblocking (a tenth
     * of an H.264 decode) changes only pixels nobody looks at, while
     * every packet is still read through and its errors counted. */
    if (c->cfg->no_picture_filters && par->codec_type == AVMEDIA_TYPE_VIDEO)
        s->dec->skip_loop_filter = AVDISCARD_ALL;
    mediaio_decoder_limits(s->dec);
    rc = avcodec_open2(s->dec, codec, NULL);
    if (rc < 0) {
        char what[64];
        snprintf(what, sizeof what, "cannot open the %s decoder", kind);
        return fail_av(c, VB_ERR_MEDIA, rc, what);
    }
    return 0;
}

static void stream_init(an_ctx *c, an_stream *s, int index)
{
    s->index = index;
    s->last_pts = AV_NOPTS_VALUE;
    s->last_end = 0;
    s->prev_end = NAN;
    s->pkt_end = 0;
    if (index < 0)
        return;
    s->st = c->fc->streams[index];
    s->offset = c->fc->start_time != AV_NOPTS_VALUE
                    ? av_rescale_q(c->fc->start_time, AV_TIME_BASE_Q, s->st->time_base) : 0;
    AVRational fr = s->st->avg_frame_rate.num > 0 ? s->st->avg_frame_rate : s->st->r_frame_rate;
    s->nominal = (fr.num > 0 && fr.den > 0) ? av_q2d(av_inv_q(fr)) : 0.04;
}

static int open_input(an_ctx *c)
{
    if (mediaio_open(&c->io, c->path, c->clk, c->cfg->timeout, c->e) != 0)
        return -1;
    if (mediaio_demux(c->io, c->e) != 0) {
        if (mediaio_check(c->io) == MEDIAIO_TIMEOUT)
            fail_timeout(c);
        return -1;
    }
    c->fc = mediaio_format(c->io);
    /* The picture sizes the header declares: a decoder refused one too
     * large (mediaio_decoder_limits) and stream info forgot it. */
    unsigned nheader = c->fc->nb_streams;
    int *dims = vb_xcalloc(2 * (size_t)nheader + 2, sizeof *dims);
    for (unsigned i = 0; i < nheader; i++) {
        dims[2 * i] = c->fc->streams[i]->codecpar->width;
        dims[2 * i + 1] = c->fc->streams[i]->codecpar->height;
    }
    int rc = mediaio_stream_info(c->io);
    int vi = rc >= 0 ? media_pick_video(c->fc) : -1;
    int big = vi >= 0 && (unsigned)vi < nheader
            ? mediaio_picture_check(c->path, dims[2 * vi], dims[2 * vi + 1], c->e) : 0;
    free(dims);
    if (reader_failed(c) != 0)
        return -1;
    if (rc < 0)
        return fail_av(c, VB_ERR_MEDIA, rc, "cannot read stream information");
    if (big != 0)
        return -1;

    int best_audio = av_find_best_stream(c->fc, AVMEDIA_TYPE_AUDIO, -1, vi, NULL, 0);
    if (vi < 0 && best_audio < 0)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: no audio or video stream to analyse", c->path);
    c->r->has_video = vi >= 0;
    c->r->has_audio = best_audio >= 0;
    /* Key-frame mode is about speed: the sound is not decoded at all
     * (its packets are not even read from the file). */
    int ai = c->keyframes ? -1 : best_audio;
    /* skip_video: the picture is known already (has_video still says
     * whether there is one); only the sound is decoded. */
    int vd = c->cfg->skip_video && ai >= 0 ? -1 : vi;
    stream_init(c, &c->v, vd);
    stream_init(c, &c->a, ai);
    /* The demuxer skips the packets of every other stream. */
    for (unsigned i = 0; i < c->fc->nb_streams; i++)
        if ((int)i != vd && (int)i != ai)
            c->fc->streams[i]->discard = AVDISCARD_ALL;
    if (vd >= 0 && open_decoder(c, &c->v) < 0)
        return -1;
    if (ai >= 0 && open_decoder(c, &c->a) < 0)
        return -1;
    return 0;
}

/* ---- after the pass ---- */

/* A stream that stops well before its header says: max(1 s, 10%). */
static bool ends_early(const an_ctx *c, const an_stream *s, double end, double *expected)
{
    double want = NAN;
    const AVStream *st = s->st;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
        int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : s->offset;
        want = (double)(start - s->offset + st->duration) * av_q2d(st->time_base);
    } else if (c->fc->duration > 0) {
        want = (double)c->fc->duration / AV_TIME_BASE;
    }
    *expected = want;
    return isfinite(want) && want - end > fmax(1.0, 0.1 * want);
}

static void summarise(an_ctx *c, int read_error)
{
    analyse_result *r = c->r;
    double dur = r->duration;
    if (r->has_video) {
        double total = 0;
        for (size_t i = 0; i < r->nblack; i++)
            total += r->black[i].duration;
        r->black_total = total;
        double base = isfinite(dur) && dur > 0 ? dur : r->video_end;
        r->black_share = base > 0 ? total / base : NAN;
        /* "within one frame" of either end; the tiny slack absorbs the
         * rounding of times computed in different time bases */
        double fd = c->v.nominal + 1e-6;
        r->leading_black = 0;
        r->trailing_black = 0;
        if (r->nblack > 0 && r->black[0].start <= fd)
            r->leading_black = r->black[0].duration;
        if (r->nblack > 0 && isfinite(r->video_end) &&
            r->black[r->nblack - 1].end >= r->video_end - fd)
            r->trailing_black = r->black[r->nblack - 1].duration;
        if (!c->keyframes) {
            r->freeze_max = 0;
            for (size_t i = 0; i < r->nfreeze; i++)
                r->freeze_max = fmax(r->freeze_max, r->freeze[i].duration);
        }
    }
    /* skip_video, no_picture_filters: the picture was not looked at; its
     * figures unknown. */
    if ((c->cfg->skip_video && r->has_video && c->v.index < 0) ||
        (c->cfg->no_picture_filters && r->has_video))
        r->black_total = r->black_share = r->leading_black = r->trailing_black =
            r->freeze_max = NAN;
    if (c->a.index >= 0) {
        r->silence_max = 0;
        for (size_t i = 0; i < r->nsilence; i++)
            r->silence_max = fmax(r->silence_max, r->silence[i].duration);
        /* one silence from the first audio frame to the last */
        double afd = c->a.last_dur;
        r->audio_silent = r->nsilence == 1 && r->silence[0].start <= afd + 1e-6 &&
                          isfinite(r->audio_end) && r->silence[0].end >= r->audio_end - afd - 1e-6;
        if (c->cfg->loudness && c->loudness_seen)
            r->true_peak = c->peak > 0 ? 20.0 * log10(c->peak) : -INFINITY;
        else
            r->integrated_lufs = r->loudness_range = NAN;
    }

    /* Integrity: a read error, else a stream that stops early. */
    if (read_error < 0) {
        double at = 0;
        if (isfinite(r->video_end))
            at = fmax(at, r->video_end);
        if (isfinite(r->audio_end))
            at = fmax(at, r->audio_end);
        char m[AV_ERROR_MAX_STRING_SIZE];
        r->incomplete = true;
        r->broke_at = at;
        r->broke_reason = vb_xasprintf("read error at %.2f s: %s", at,
                                       mediaio_averr(read_error, m));
        return;
    }
    double want;
    if (c->v.index >= 0) {
        double end = isfinite(r->video_end) ? r->video_end : 0;
        if (r->video_frames == 0) {
            r->incomplete = true;
            r->broke_at = 0;
            r->broke_reason = vb_xstrdup("no video frame could be decoded");
            return;
        }
        if (ends_early(c, &c->v, end, &want)) {
            r->incomplete = true;
            r->broke_at = end;
            r->broke_reason = vb_xasprintf("video stream ends at %.2f s, container says %.2f s",
                                           end, want);
            return;
        }
    }
    if (c->a.index >= 0) {
        double end = isfinite(r->audio_end) ? r->audio_end : 0;
        if (ends_early(c, &c->a, end, &want)) {
            r->incomplete = true;
            r->broke_at = end;
            r->broke_reason = vb_xasprintf("audio stream ends at %.2f s, container says %.2f s",
                                           end, want);
        }
    }
}

static void ctx_free(an_ctx *c)
{
    audio_join(c, true);
    picture_join(c, true);
    avfilter_graph_free(&c->v.graph);
    avfilter_graph_free(&c->a.graph);
    avcodec_free_context(&c->v.dec);
    avcodec_free_context(&c->a.dec);
    av_channel_layout_uninit(&c->v.layout);
    av_channel_layout_uninit(&c->a.layout);
    av_packet_free(&c->pkt);
    av_frame_free(&c->frame);
    av_frame_free(&c->out);
    c->fc = NULL;
    mediaio_close(&c->io);
}

/* The pass itself: read, decode, filter; then flush everything. */
static int run(an_ctx *c)
{
    analyse_result *r = c->r;
    int read_error = 0, rc;
    /* More than one core: the sound, and the look at the picture, each
     * on a thread of its own, so that the reader only reads and feeds
     * the decoders (with one core, the workers keep the cores busy). */
    if (c->a.dec && c->v.dec && c->threads != 1) {
        c->audio = worker_start(c, AN_QUEUE_MAX, audio_take, audio_finish, packet_drop);
        if (!c->audio)
            return vb_fail(c->e, VB_ERR_INTERNAL, "%s: cannot start the audio thread", c->path);
    }
    if (c->v.dec && c->threads != 1 && !c->cfg->no_picture_filters) {
        c->picture = worker_start(c, picture_queue(&c->v), picture_take, NULL, frame_drop);
        if (!c->picture)
            return vb_fail(c->e, VB_ERR_INTERNAL, "%s: cannot start the picture thread",
                           c->path);
    }
    for (;;) {
        if (stopping(c))
            return reader_failed(c);
        rc = av_read_frame(c->fc, c->pkt);
        if (rc < 0) {
            /* Ours (an I/O error, a stall ...), not the file's. */
            if (reader_failed(c) != 0)
                return -1;
            if (rc != AVERROR_EOF)
                read_error = rc;
            break;
        }
        an_stream *s = c->pkt->stream_index == c->v.index ? &c->v
                     : c->pkt->stream_index == c->a.index ? &c->a : NULL;
        if (!s) {
            av_packet_unref(c->pkt);
            continue;
        }
        if (c->pkt->pts != AV_NOPTS_VALUE) {
            double end = (double)(c->pkt->pts - s->offset + c->pkt->duration) *
                         av_q2d(s->st->time_base);
            s->pkt_end = fmax(s->pkt_end, end);
        }
        /* Key-frame mode: the other packets are not even sent. */
        if (c->keyframes && s == &c->v && !(c->pkt->flags & AV_PKT_FLAG_KEY)) {
            av_packet_unref(c->pkt);
            continue;
        }
        rc = s == &c->a && c->audio ? audio_push(c, c->pkt) : decode(c, s, c->pkt);
        av_packet_unref(c->pkt);
        if (rc < 0)
            return -1;
    }
    if (c->v.dec && decode(c, &c->v, NULL) < 0)
        return -1;
    if (picture_join(c, false) < 0)
        return -1;
    /* the audio thread has drained its decoder and graph */
    bool threaded = c->audio != NULL;
    if (threaded && audio_join(c, false) < 0)
        return -1;
    if (c->a.dec && !threaded && decode(c, &c->a, NULL) < 0)
        return -1;
    /* In key-frame mode the picture is known up to the last packet. */
    if (c->keyframes && c->v.index >= 0 && c->v.pkt_end > 0 &&
        (!isfinite(r->video_end) || c->v.pkt_end > r->video_end))
        r->video_end = c->v.pkt_end;
    rc = video_graph_end(c, c->keyframes && isfinite(r->video_end) ? r->video_end : 0);
    if (rc < 0)
        return fail_av(c, VB_ERR_INTERNAL, rc, "video filter");
    rc = audio_graph_end(c);
    if (rc < 0)
        return fail_av(c, VB_ERR_INTERNAL, rc, "audio filter");
    r->decode_errors = c->decode_errors;
    r->corrupt_frames = c->corrupt_frames;
    summarise(c, read_error);
    return 0;
}

int analyse_decode_file(const char *path, const analyse_config *cfg, int threads,
                        mediaio_clock *clk, const atomic_bool *cancel, analyse_result **out,
                        vb_error *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, quiet_logs);
    *out = NULL;
    if (avf_load(e) != 0)
        return -1;
    double t0 = util_now();

    analyse_result *r = vb_xcalloc(1, sizeof *r);
    r->mode = cfg->mode;
    r->duration = NAN;
    r->black_total = r->black_share = r->leading_black = r->trailing_black = NAN;
    r->freeze_max = r->silence_max = NAN;
    r->integrated_lufs = r->loudness_range = r->true_peak = NAN;
    r->video_end = r->audio_end = NAN;
    r->broke_at = NAN;

    an_ctx c = {0};
    c.path = path;
    c.cfg = cfg;
    c.r = r;
    c.e = e;
    c.keyframes = cfg->mode == ANALYSE_KEYFRAMES;
    c.threads = threads > 0 ? threads : 0;
    c.clk = clk;
    c.cancel = cancel;
    c.v.index = c.a.index = -1;
    c.pkt = av_packet_alloc();
    c.frame = av_frame_alloc();
    c.out = av_frame_alloc();
    int rc;
    if (!c.pkt || !c.frame || !c.out)
        rc = vb_fail(e, VB_ERR_INTERNAL, "%s: out of memory", path);
    else
        rc = open_input(&c);
    if (rc == 0) {
        if (c.fc->duration > 0)
            r->duration = (double)c.fc->duration / AV_TIME_BASE;
        rc = run(&c);
    }
    ctx_free(&c);
    if (rc != 0) {
        analyse_result_free(&r);
        return -1;
    }
    r->seconds = util_now() - t0;
    *out = r;
    return 0;
}

