/* transcode-audio.c - in the media module: the fix engine's audio
 * (transcode.h, TRANSCODE_AUDIO_ENCODE and ADD_SILENT), AAC-LC through
 * libavcodec's native encoder.
 *
 *   abuffer -> [atrim -> asetpts] -> aresample (from 0, gaps filled)
 *           -> [volume] -> [aresample 4x -> astats -> alimiter] -> aresample
 *           -> aformat (fltp, rate, layout) -> [atrim: the priming] -> abuffersink
 *
 * The limiter: BS.1770's true peak is the peak of the signal 4x
 * oversampled, and alimiter works on sample peaks, so it runs at 4x the
 * output rate (its delay compensated, no auto level: a fixed gain
 * stays fixed). The AAC encoder itself adds overshoot, so the limit is
 * set a margin below the ceiling asked (limit_margin). astats before it measures the
 * peak it sees, which says whether it had anything to do.
 *
 * Without an edit list nothing hides the encoder's priming (1024
 * samples): the first 1024 samples of the source give their place to it
 * instead of the sound being late by as much. */
#include "config.h"
#include "media.h"
#include "transcode-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avfilter-lazy.h"
#include <libavutil/channel_layout.h>

/* dB below the ceiling the limiter aims at: the native AAC encoder's
 * overshoot on dense limited material, as ebur128 measures the decoded
 * output (FFmpeg 5.1): about 1.6 dB at 64 kbit/s a channel on clipped
 * pink noise, 0.8 dB at 96, and erratic on a clipped full-scale sine
 * (square) wave, which 2 dB covered in every try. */
static double limit_margin(const AVCodecContext *enc)
{
    (void)enc;
    return 2.0;
}

int transcode_audio_open(tc_ctx *c)
{
    const transcode_audio *ja = &c->job->audio;
    bool silent = ja->mode == TRANSCODE_AUDIO_ADD_SILENT;
    if (!silent && transcode_decoder(c, &c->a) != 0)
        return -1;
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec)
        return vb_fail(c->e, VB_ERR_INTERNAL, "this FFmpeg has no AAC encoder");
    AVCodecContext *enc = c->a.enc = avcodec_alloc_context3(codec);
    if (!enc)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    int n = ja->channels > 0 ? ja->channels : silent ? 2 : c->a.dec->ch_layout.nb_channels;
    n = n < 1 ? 2 : n > 8 ? 8 : n;
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->sample_rate = ja->sample_rate > 0 ? ja->sample_rate : 48000;
    av_channel_layout_default(&enc->ch_layout, n);
    enc->bit_rate = ja->bitrate > 0 ? ja->bitrate : 64000 * (int64_t)n;
    enc->time_base = av_make_q(1, enc->sample_rate);
    enc->profile = FF_PROFILE_AAC_LOW;
    if (c->ofc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_MEDIA, rc, "the AAC encoder refused the settings");
    if (c->job->no_editlist)
        c->a.pts_offset = enc->initial_padding;
    c->r->limiter = !silent && !isnan(ja->limit_dbtp);
    return 0;
}

/* The chain between abuffer and abuffersink, into buf. */
static void chain(tc_ctx *c, char *buf, size_t len)
{
    const transcode_audio *ja = &c->job->audio;
    const AVCodecContext *enc = c->a.enc;
    char layout[64];
    av_channel_layout_describe(&enc->ch_layout, layout, sizeof layout);
    size_t n = 0;
    buf[0] = '\0';
#define ADD(...) (n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
    if (c->cut_start > 0 || isfinite(c->cut_end)) {
        ADD("atrim=start=%.6f", c->cut_start);
        if (isfinite(c->cut_end))
            ADD(":end=%.6f", c->cut_end);
        ADD(",asetpts=PTS-%.6f/TB,", c->cut_start);
    }
    ADD("aresample=async=1:first_pts=0,");
    if (ja->gain_db != 0)
        ADD("volume=volume=%.4fdB:precision=float,", ja->gain_db);
    if (c->r->limiter)
        ADD("aresample=%d,astats=metadata=1:measure_perchannel=none:measure_overall=Peak_level,"
            "alimiter=limit=%.6f:level=0:latency=1,", 4 * enc->sample_rate,
            pow(10, (ja->limit_dbtp - limit_margin(enc)) / 20));
    ADD("aresample=%d,aformat=sample_fmts=fltp:sample_rates=%d:channel_layouts=%s",
        enc->sample_rate, enc->sample_rate, layout);
    if (c->a.pts_offset > 0)
        ADD(",atrim=start_sample=%lld,asetpts=PTS-STARTPTS", (long long)c->a.pts_offset);
#undef ADD
}

static int graph_new(tc_ctx *c, const AVFrame *f)
{
    char layout[128], args[384], desc[1024];
    if (av_channel_layout_describe(&f->ch_layout, layout, sizeof layout) < 0)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: audio without a channel layout", c->path);
    snprintf(args, sizeof args, "time_base=1/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             f->sample_rate, f->sample_rate, av_get_sample_fmt_name(f->format), layout);
    chain(c, desc, sizeof desc);
    int rc = transcode_graph(c, &c->a, true, args, desc);
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "cannot set up the audio filters");
    av_buffersink_set_frame_size(c->a.sink, (unsigned)c->a.enc->frame_size);
    return 0;
}

static void note_peak(tc_ctx *c, const AVFrame *f)
{
    const AVDictionaryEntry *t = av_dict_get(f->metadata, "lavfi.astats.Overall.Peak_level",
                                             NULL, 0);
    if (!t)
        return;
    double p = strtod(t->value, NULL);
    transcode_result *r = c->r;
    if (isnan(r->peak_before_limit) || p > r->peak_before_limit)
        r->peak_before_limit = p;
    r->limiter_engaged = r->peak_before_limit > c->job->audio.limit_dbtp - limit_margin(c->a.enc);
}

static int drain(tc_ctx *c)
{
    tc_stream *s = &c->a;
    for (;;) {
        int rc = av_buffersink_get_frame(s->sink, c->filt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "audio filter");
        AVFrame *f = c->filt;
        if (c->r->limiter)
            note_peak(c, f);
        if (f->pts != AV_NOPTS_VALUE)
            f->pts = av_rescale_q(f->pts, av_buffersink_get_time_base(s->sink), s->enc->time_base);
        c->r->audio_frames++;
        rc = transcode_encode(c, s, f);
        av_frame_unref(f);
        if (rc != 0)
            return -1;
    }
}

int transcode_audio_frame(tc_ctx *c, AVFrame *f)
{
    tc_stream *s = &c->a;
    if (f->pts == AV_NOPTS_VALUE || f->sample_rate <= 0)
        return 0;
    f->pts = av_rescale_q(f->pts, s->ist->time_base, av_make_q(1, f->sample_rate));
    /* A header with only a channel count: the decoder's default layout,
     * as ffmpeg takes it. */
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        int n = f->ch_layout.nb_channels;
        av_channel_layout_uninit(&f->ch_layout);
        av_channel_layout_default(&f->ch_layout, n);
    }
    if (!s->graph && graph_new(c, f) != 0)
        return -1;
    int rc = av_buffersrc_add_frame_flags(s->src, f, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "audio filter");
    return drain(c);
}

/* One silent frame of n samples at s->next_pts. */
static int silent_frame(tc_ctx *c, int n)
{
    tc_stream *s = &c->a;
    AVFrame *f = c->filt;
    f->nb_samples = n;
    f->format = s->enc->sample_fmt;
    f->sample_rate = s->enc->sample_rate;
    if (av_channel_layout_copy(&f->ch_layout, &s->enc->ch_layout) < 0 ||
        av_frame_get_buffer(f, 0) < 0)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    av_samples_set_silence(f->extended_data, 0, n, f->ch_layout.nb_channels, f->format);
    f->pts = s->next_pts;
    s->next_pts += n;
    c->r->audio_frames++;
    int rc = transcode_encode(c, s, f);
    av_frame_unref(f);
    return rc;
}

/* Samples that make `until` seconds of output, the priming included. */
static int64_t silence_target(const tc_ctx *c, double until)
{
    return llround(until * c->a.enc->sample_rate) - c->a.pts_offset;
}

int transcode_audio_silence(tc_ctx *c, double until)
{
    tc_stream *s = &c->a;
    int64_t want = silence_target(c, until);
    /* Whole frames only until the end: the encoder takes a short one last. */
    while (s->next_pts + s->enc->frame_size <= want)
        if (silent_frame(c, s->enc->frame_size) != 0)
            return -1;
    return 0;
}

int transcode_audio_flush(tc_ctx *c)
{
    tc_stream *s = &c->a;
    if (c->job->audio.mode == TRANSCODE_AUDIO_ADD_SILENT) {
        int64_t rest = silence_target(c, c->v.end) - s->next_pts;
        if (rest > 0 && silent_frame(c, (int)rest) != 0)
            return -1;
    } else if (s->graph) {
        int rc = av_buffersrc_add_frame_flags(s->src, NULL, 0);
        if (rc < 0)
            return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "audio filter");
        if (drain(c) != 0)
            return -1;
    }
    return transcode_encode(c, s, NULL);
}
