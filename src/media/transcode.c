/* transcode.c - in the media module: the fix engine's pass (transcode.h).
 *
 * One pass over the input: packets are read through mediaio (under the
 * item's clock), copied or decoded per stream, decoded frames go through
 * a libavfilter graph (transcode-video.c, transcode-audio.c) to an
 * encoder, and everything is muxed interleaved into job->output, opened
 * through libavformat's file protocol only (the muxer reopens it to move
 * the moov box to the front).
 *
 * Time: every input timestamp is taken from the input's start time (as
 * ffmpeg does), so the cut's seconds are the input's as probe and analyse
 * report them, and the output starts at 0. Without an edit list the MP4
 * muxer is told to use negative composition offsets (B-frames keep their
 * first picture at 0) and the AAC encoder's priming is placed before the
 * first source sample rather than delaying the sound (transcode-audio.c). */
#include "config.h"
#include "media.h"
#include "transcode-impl.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avfilter-lazy.h"
#include <libavutil/avstring.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

/* A decoder that keeps failing on one packet is given up on. */
/* Reading stops this long (seconds) after the cut's end on every stream:
 * a copied stream's packets come in decode order. */
#define READ_PAST_END 2.0

static void quiet_logs(void)
{
    /* Broken inputs make libav log; vbatch reports what matters itself. */
    av_log_set_level(vb_verbosity > 2 ? AV_LOG_WARNING : AV_LOG_QUIET);
}

int transcode_fail_av(tc_ctx *c, int code, int rc, const char *what)
{
    char m[AV_ERROR_MAX_STRING_SIZE];
    return vb_fail(c->e, code, "%s: %s: %s", c->path, what, mediaio_averr(rc, m));
}

/* The reader stopped (deadline, stall, abort) or failed: -1 with e set. */
static int reader_failed(tc_ctx *c)
{
    return mediaio_error(c->io, c->e);
}

/* ---- graphs ---- */

int transcode_graph(tc_ctx *c, tc_stream *s, bool audio, const char *args, const char *desc)
{
    s->graph = avfilter_graph_alloc();
    if (!s->graph)
        return AVERROR(ENOMEM);
    s->graph->nb_threads = audio ? c->threads : transcode_picture_threads(c, s->ist->codecpar);
    const AVFilter *src = avfilter_get_by_name(audio ? "abuffer" : "buffer");
    const AVFilter *sink = avfilter_get_by_name(audio ? "abuffersink" : "buffersink");
    int rc = avfilter_graph_create_filter(&s->src, src, "in", args, NULL, s->graph);
    if (rc >= 0)
        rc = avfilter_graph_create_filter(&s->sink, sink, "out", NULL, NULL, s->graph);
    AVFilterInOut *outs = avfilter_inout_alloc(), *ins = avfilter_inout_alloc();
    if (rc >= 0 && (!outs || !ins))
        rc = AVERROR(ENOMEM);
    if (rc >= 0) {
        /* The chain's open input is fed by our source, its output by
         * our sink. */
        outs->name = av_strdup("in");
        outs->filter_ctx = s->src;
        ins->name = av_strdup("out");
        ins->filter_ctx = s->sink;
        rc = avfilter_graph_parse_ptr(s->graph, desc, &ins, &outs, NULL);
    }
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    if (rc >= 0)
        rc = avfilter_graph_config(s->graph, NULL);
    return rc;
}

/* ---- output ---- */

int transcode_write(tc_ctx *c, tc_stream *s, AVPacket *p, AVRational tb)
{
    p->stream_index = s->ost->index;
    p->pos = -1;
    av_packet_rescale_ts(p, tb, s->ost->time_base);
    if (p->pts != AV_NOPTS_VALUE) {
        double end = (double)(p->pts + p->duration) * av_q2d(s->ost->time_base);
        s->end = fmax(s->end, end);
    }
    int rc = av_interleaved_write_frame(c->ofc, p);
    if (rc < 0)
        return mediaio_error(c->io, c->e) != 0 ? -1
             : vb_fail(c->e, VB_ERR_IO, "%s: cannot write: %s", c->job->output,
                       av_err2str(rc));
    return 0;
}

int transcode_encode(tc_ctx *c, tc_stream *s, AVFrame *f)
{
    /* One packet read can make any number of frames to encode (a jump in
     * a hostile file's timestamps, filled by fps or aresample): the
     * item's deadline is checked here too, not only between reads. */
    if (f && mediaio_check(c->io) != MEDIAIO_GO)
        return reader_failed(c);
    int rc = avcodec_send_frame(s->enc, f);
    if (rc < 0 && rc != AVERROR_EOF)
        return transcode_fail_av(c, VB_ERR_MEDIA, rc, "encoder");
    for (;;) {
        rc = avcodec_receive_packet(s->enc, c->opkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return transcode_fail_av(c, VB_ERR_MEDIA, rc, "encoder");
        if (c->opkt->pts != AV_NOPTS_VALUE)
            c->opkt->pts += s->pts_offset;
        if (c->opkt->dts != AV_NOPTS_VALUE)
            c->opkt->dts += s->pts_offset;
        if (c->opkt->duration <= 0 && s == &c->v)
            c->opkt->duration = 1; /* the time base is one frame */
        rc = transcode_write(c, s, c->opkt, s->enc->time_base);
        av_packet_unref(c->opkt);
        if (rc != 0)
            return -1;
        /* Silence is made as the picture advances, so both interleave. */
        if (s == &c->v && c->job->audio.mode == TRANSCODE_AUDIO_ADD_SILENT &&
            transcode_audio_silence(c, s->end) != 0)
            return -1;
    }
}

/* Tags of the input, unless stripped; `drop` keys never. */
static void copy_tags(AVDictionary **to, const AVDictionary *from, bool strip,
                      const char *const *drop)
{
    if (strip)
        return;
    const AVDictionaryEntry *t = NULL;
    while ((t = av_dict_get(from, "", t, AV_DICT_IGNORE_SUFFIX))) {
        bool skip = false;
        for (size_t i = 0; drop && drop[i]; i++)
            skip = skip || strcmp(t->key, drop[i]) == 0;
        if (!skip)
            av_dict_set(to, t->key, t->value, 0);
    }
}

/* Whether a copied VP8 or VP9 stream can go into MP4 or MOV: their vpcC
 * box carries the bit depth and chroma subsampling, taken from the pixel
 * format. Without one (a header that says nothing, a fuzzed WebM) the
 * muxer writes an empty box and the file does not open again. */
static bool vpx_fits(const tc_ctx *c, const AVCodecParameters *par)
{
    if (par->codec_id != AV_CODEC_ID_VP9 && par->codec_id != AV_CODEC_ID_VP8)
        return true;
    if (strcmp(c->job->container, "mp4") != 0 && strcmp(c->job->container, "mov") != 0)
        return true;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(par->format);
    if (!d || (d->flags & AV_PIX_FMT_FLAG_RGB) || d->nb_components < 3)
        return false;
    int depth = d->comp[0].depth;
    return depth == 8 || depth == 10 || depth == 12;
}

static int add_stream(tc_ctx *c, tc_stream *s)
{
    s->ost = avformat_new_stream(c->ofc, NULL);
    if (!s->ost)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    /* A re-encoded stream's old encoder and rotation no longer hold. */
    static const char *const encoded[] = { "rotate", "encoder", NULL };
    if (s->ist)
        copy_tags(&s->ost->metadata, s->ist->metadata, c->job->strip_metadata,
                  s->enc ? encoded : NULL);
    int rc;
    if (s->enc) {
        rc = avcodec_parameters_from_context(s->ost->codecpar, s->enc);
        s->ost->time_base = s->enc->time_base;
        if (s == &c->v)
            s->ost->avg_frame_rate = s->ost->r_frame_rate = c->fps;
        return rc < 0 ? transcode_fail_av(c, VB_ERR_INTERNAL, rc, "output stream") : 0;
    }
    if (!vpx_fits(c, s->ist->codecpar))
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: the %s stream does not say its pixel format, "
                       "which %s must record (its vpcC box): it can not be copied",
                       c->path, avcodec_get_name(s->ist->codecpar->codec_id), c->job->container);
    rc = avcodec_parameters_copy(s->ost->codecpar, s->ist->codecpar);
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "output stream");
    /* The input container's tag may mean nothing in this one. */
    s->ost->codecpar->codec_tag = 0;
    s->ost->time_base = s->ist->time_base;
    s->ost->avg_frame_rate = s->ist->avg_frame_rate;
    /* The display matrix (rotation) and the like go with the packets. */
    for (int i = 0; i < s->ist->nb_side_data; i++) {
        const AVPacketSideData *sd = &s->ist->side_data[i];
        uint8_t *d = av_stream_new_side_data(s->ost, sd->type, sd->size);
        if (!d)
            return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
        memcpy(d, sd->data, sd->size);
    }
    return 0;
}

/* The muxer's context, before the encoders (they ask for its flags). */
static int output_alloc(tc_ctx *c)
{
    /* "file:" so that a name with a colon is never taken for a protocol. */
    char *url = vb_xasprintf("file:%s", c->job->output);
    int rc = avformat_alloc_output_context2(&c->ofc, NULL, c->job->container, url);
    free(url);
    if (rc < 0 || !c->ofc)
        return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "output format");
    c->ofc->protocol_whitelist = av_strdup("file");
    return c->ofc->protocol_whitelist ? 0 : vb_fail(c->e, VB_ERR_INTERNAL, "out of memory");
}

static int open_output(tc_ctx *c)
{
    const transcode_job *j = c->job;
    int rc;
    if (!j->strip_metadata)
        copy_tags(&c->ofc->metadata, c->ifc->metadata, false, NULL);
    if ((c->v.ost == NULL && c->v.index >= 0 && j->video.mode != TRANSCODE_VIDEO_DROP &&
         add_stream(c, &c->v) != 0) ||
        ((c->a.index >= 0 || c->a.enc) && j->audio.mode != TRANSCODE_AUDIO_DROP &&
         add_stream(c, &c->a) != 0))
        return -1;
    AVDictionary *o = NULL;
    av_dict_set(&o, "protocol_whitelist", "file", 0);
    rc = avio_open2(&c->ofc->pb, c->ofc->url, AVIO_FLAG_WRITE, NULL, &o);
    av_dict_free(&o);
    if (rc < 0)
        return vb_fail(c->e, VB_ERR_IO, "%s: cannot create: %s", j->output, av_err2str(rc));
    char flags[64] = "";
    if (j->faststart)
        av_strlcat(flags, "+faststart", sizeof flags);
    if (j->no_editlist) {
        av_strlcat(flags, "+negative_cts_offsets", sizeof flags);
        av_dict_set(&o, "use_editlist", "0", 0);
    }
    if (*flags)
        av_dict_set(&o, "movflags", flags, 0);
    rc = avformat_write_header(c->ofc, &o);
    av_dict_free(&o);
    if (rc < 0)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: cannot write the %s header: %s", j->output,
                       j->container, av_err2str(rc));
    return 0;
}

/* ---- input ---- */

/* The threads of the picture's decoder and filters. When the picture is
 * encoded again, x264 sets the pace: at veryfast and slower it encodes
 * 1080p several times slower than one thread decodes and scales it, and
 * the decoder's frame threads would only add their hand-over cost on
 * cores the encoder fills (5% of a conform's CPU time, measured). A
 * larger picture, or the two fastest presets, keep them. */
int transcode_picture_threads(const tc_ctx *c, const AVCodecParameters *par)
{
    const transcode_video *jv = &c->job->video;
    if (c->threads > 0 || jv->mode != TRANSCODE_VIDEO_ENCODE ||
        (int64_t)par->width * par->height > 1920 * 1088)
        return c->threads;
    const char *p = jv->preset ? jv->preset : "medium";
    return strcmp(p, "ultrafast") == 0 || strcmp(p, "superfast") == 0 ? c->threads : 1;
}

int transcode_decoder(tc_ctx *c, tc_stream *s)
{
    AVCodecParameters *par = s->ist->codecpar;
    bool video = par->codec_type == AVMEDIA_TYPE_VIDEO;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: no decoder for the %s codec %s in this FFmpeg",
                       c->path, video ? "video" : "audio", avcodec_get_name(par->codec_id));
    s->dec = avcodec_alloc_context3(codec);
    if (!s->dec)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    int rc = avcodec_parameters_to_context(s->dec, par);
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_MEDIA, rc, video ? "video" : "audio");
    s->dec->pkt_timebase = s->ist->time_base;
    s->dec->thread_count = video ? transcode_picture_threads(c, par) : c->threads;
    mediaio_decoder_limits(s->dec);
    rc = avcodec_open2(s->dec, codec, NULL);
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_MEDIA, rc,
                                 video ? "cannot open the video decoder"
                                       : "cannot open the audio decoder");
    return 0;
}

static void stream_init(tc_ctx *c, tc_stream *s, int index)
{
    s->index = index;
    s->last_t = NAN;
    if (index < 0)
        return;
    s->ist = c->ifc->streams[index];
    AVRational tb = s->ist->time_base;
    s->offset = av_rescale_q(c->origin, AV_TIME_BASE_Q, tb);
    /* A copied video's own shift is its first key frame's (copy_video). */
    s->shift = s->offset + llround(c->cut_start / av_q2d(tb));
}

/* Which streams, and what each needs. */
static int choose_streams(tc_ctx *c)
{
    const transcode_job *j = c->job;
    int vi = media_pick_video(c->ifc);
    int ai = av_find_best_stream(c->ifc, AVMEDIA_TYPE_AUDIO, -1, vi, NULL, 0);
    if (ai < 0)
        ai = -1;
    if (vi >= 0 && mediaio_picture_check(c->path, c->ifc->streams[vi]->codecpar->width,
                                         c->ifc->streams[vi]->codecpar->height, c->e) != 0)
        return -1;
    if (j->video.mode != TRANSCODE_VIDEO_DROP && vi < 0)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: no video stream", c->path);
    if (j->audio.mode == TRANSCODE_AUDIO_ADD_SILENT && ai >= 0)
        return vb_fail(c->e, VB_ERR_USAGE, "%s: has sound already: no silent track added",
                       c->path);
    if ((j->audio.mode == TRANSCODE_AUDIO_COPY || j->audio.mode == TRANSCODE_AUDIO_ENCODE) &&
        ai < 0 && j->video.mode == TRANSCODE_VIDEO_DROP)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: no audio stream", c->path);
    stream_init(c, &c->v, j->video.mode == TRANSCODE_VIDEO_DROP ? -1 : vi);
    stream_init(c, &c->a, j->audio.mode == TRANSCODE_AUDIO_DROP ||
                          j->audio.mode == TRANSCODE_AUDIO_ADD_SILENT ? -1 : ai);
    for (unsigned i = 0; i < c->ifc->nb_streams; i++)
        if ((int)i != c->v.index && (int)i != c->a.index)
            c->ifc->streams[i]->discard = AVDISCARD_ALL;
    if (c->v.index >= 0 && j->video.mode == TRANSCODE_VIDEO_ENCODE &&
        transcode_video_open(c) != 0)
        return -1;
    if ((c->a.index >= 0 && j->audio.mode == TRANSCODE_AUDIO_ENCODE) ||
        j->audio.mode == TRANSCODE_AUDIO_ADD_SILENT)
        return transcode_audio_open(c);
    return 0;
}

static int open_input(tc_ctx *c)
{
    if (mediaio_open(&c->io, c->path, c->clk, 0, c->e) != 0 ||
        mediaio_demux(c->io, c->e) != 0)
        return -1;
    c->ifc = mediaio_format(c->io);
    int rc = mediaio_stream_info(c->io);
    if (reader_failed(c) != 0)
        return -1;
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_MEDIA, rc, "cannot read stream information");
    c->origin = c->ifc->start_time != AV_NOPTS_VALUE ? c->ifc->start_time : 0;
    return choose_streams(c);
}

/* ---- copied packets ---- */

static double frame_seconds(const AVStream *st)
{
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    return fr.num > 0 && fr.den > 0 ? av_q2d(av_inv_q(fr)) : 0.04;
}

/* Before a cut's first packet: skip up to the key frame at the cut, or
 * fail if the cut falls between key frames. 1: skip this packet. */
static int copy_video_start(tc_ctx *c, tc_stream *s, const AVPacket *p)
{
    if (p->pts == AV_NOPTS_VALUE)
        return 1;
    double t = (double)(p->pts - s->offset) * av_q2d(s->ist->time_base);
    double half = frame_seconds(s->ist) / 2;
    bool key = p->flags & AV_PKT_FLAG_KEY;
    if (!key || t < c->cut_start - half) {
        if (key)
            s->last_key = t;
        return 1;
    }
    if (t > c->cut_start + half) {
        c->r->needs_video_encode = true;
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: the cut at %.3f s is not on a key frame (key "
                       "frames at %.3f and %.3f s): copying the video can not cut there, it "
                       "must be re-encoded", c->path, c->cut_start, s->last_key, t);
    }
    s->started = true;
    s->shift = p->pts;
    c->r->cut_start = t;
    return 0;
}

/* A copied packet, its times moved to the output's start, written. */
static int copy_shifted(tc_ctx *c, tc_stream *s, AVPacket *p, int64_t *copied)
{
    if (p->pts != AV_NOPTS_VALUE)
        p->pts -= s->shift;
    if (p->dts != AV_NOPTS_VALUE)
        p->dts -= s->shift;
    (*copied)++;
    return transcode_write(c, s, p, s->ist->time_base);
}

static int copy_video(tc_ctx *c, tc_stream *s, AVPacket *p)
{
    if (c->cut_start > 0 && !s->started) {
        int rc = copy_video_start(c, s, p);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    /* An open GOP's leading pictures refer to the GOP before the cut. */
    if (c->cut_start > 0 && p->pts != AV_NOPTS_VALUE && p->pts < s->shift)
        return 0;
    int64_t dts = p->dts != AV_NOPTS_VALUE ? p->dts : p->pts;
    double len = c->cut_end - c->r->cut_start;
    if (isfinite(len) && dts != AV_NOPTS_VALUE &&
        (double)(dts - s->shift) * av_q2d(s->ist->time_base) >= len) {
        s->done = true;
        return 0;
    }
    return copy_shifted(c, s, p, &c->r->video_packets_copied);
}

static int copy_audio(tc_ctx *c, tc_stream *s, AVPacket *p)
{
    bool cut = c->cut_start > 0 || isfinite(c->cut_end);
    if (cut && p->pts == AV_NOPTS_VALUE)
        return 0;
    if (cut) {
        AVRational tb = s->ist->time_base;
        double t = (double)(p->pts - s->shift) * av_q2d(tb);
        if (t + (double)p->duration * av_q2d(tb) <= 0)
            return 0;
        if (t >= c->cut_end - c->cut_start) {
            s->done = true;
            return 0;
        }
    }
    return copy_shifted(c, s, p, &c->r->audio_packets_copied);
}

/* ---- decoded packets ---- */

typedef struct tc_frame_ctx {
    tc_ctx *c;
    tc_stream *s;
} tc_frame_ctx;

/* A decoded frame this far after the one before it: a timestamp that
 * wrapped or lies. */
#define MAX_JUMP 60.0

static int decoded_frame(void *ud, AVFrame *f)
{
    tc_frame_ctx *x = ud;
    tc_ctx *c = x->c;
    tc_stream *s = x->s;
    int64_t ts = f->best_effort_timestamp;
    f->pts = ts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : ts - s->offset;
    /* fps and aresample fill a gap in the time line with copies or
     * silence, up to the last time they saw: a frame far off it must not
     * reach them. Past the cut's end it is dropped (the trim filters
     * would drop it too, but their end would still be its time); after a
     * jump of more than MAX_JUMP the pass fails rather than encode hours
     * of copies until the deadline. */
    if (f->pts != AV_NOPTS_VALUE) {
        double t = (double)f->pts * av_q2d(s->ist->time_base);
        if (t > c->cut_end + READ_PAST_END)
            return 0;
        if (!isnan(s->last_t) && t - s->last_t > MAX_JUMP)
            return vb_fail(c->e, VB_ERR_MEDIA, "%s: the %s timestamps jump from %.3f s to %.3f s: "
                           "re-encoding would fill the gap", c->path,
                           s == &c->v ? "video" : "audio", s->last_t, t);
        s->last_t = t;
    }
    return s == &c->v ? transcode_video_frame(c, f) : transcode_audio_frame(c, f);
}

/* Send one packet (NULL: drain) and pass on every frame it gives. A
 * damaged packet is counted and skipped, as ffmpeg does. */
static int decode(tc_ctx *c, tc_stream *s, const AVPacket *pkt)
{
    tc_frame_ctx x = { c, s };
    for (;;) {
        int rc = media_decode_packet(s->dec, pkt, c->frame, &c->r->decode_errors,
                                     decoded_frame, &x);
        if (rc <= 0)
            return rc;
        if (mediaio_check(c->io) != MEDIAIO_GO)
            return reader_failed(c);
    }
}

static bool stream_done(const tc_stream *s)
{
    return s->index < 0 || s->done;
}

/* A decoded stream is read a little past the cut's end (frames come
 * late out of a decoder), then no more. */
static void mark_past_end(tc_ctx *c, tc_stream *s, const AVPacket *p)
{
    int64_t ts = p->dts != AV_NOPTS_VALUE ? p->dts : p->pts;
    if (isfinite(c->cut_end) && ts != AV_NOPTS_VALUE &&
        (double)(ts - s->offset) * av_q2d(s->ist->time_base) > c->cut_end + READ_PAST_END)
        s->done = true;
}

static int read_all(tc_ctx *c)
{
    while (!stream_done(&c->v) || !stream_done(&c->a)) {
        if (mediaio_check(c->io) != MEDIAIO_GO)
            return reader_failed(c);
        int rc = av_read_frame(c->ifc, c->pkt);
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0) {
            if (reader_failed(c) != 0)
                return -1;
            return transcode_fail_av(c, VB_ERR_MEDIA, rc, "read error");
        }
        int i = c->pkt->stream_index;
        tc_stream *s = i == c->v.index ? &c->v : i == c->a.index ? &c->a : NULL;
        if (s && !s->done) {
            if (s->dec)
                rc = decode(c, s, c->pkt);
            else
                rc = s == &c->v ? copy_video(c, s, c->pkt) : copy_audio(c, s, c->pkt);
            if (rc == 0 && s->dec)
                mark_past_end(c, s, c->pkt);
        }
        av_packet_unref(c->pkt);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A cut this late is reached by a seek rather than by decoding all
 * that comes before it. */
#define SEEK_MIN_CUT 1.0

/* A late cut of a decoded picture: reading starts at the key frame at or
 * before it, which the decoder needs and the trim filters then cut to
 * the frame. MP4 and MOV only: their index makes the seek land exactly
 * there, where a seek in a file without one (MPEG-TS, a Matroska without
 * cues) may land past the cut or anywhere. */
static void seek_to_cut(tc_ctx *c)
{
    tc_stream *s = &c->v;
    if (c->cut_start < SEEK_MIN_CUT || !s->dec || strncmp(c->ifc->iformat->name, "mov,", 4) != 0 ||
        avformat_index_get_entries_count(s->ist) == 0)
        return;
    double tb = av_q2d(s->ist->time_base);
    int64_t ts = s->offset + (int64_t)floor(c->cut_start / tb);
    int k = av_index_search_timestamp(s->ist, ts, AVSEEK_FLAG_BACKWARD);
    const AVIndexEntry *e = k >= 0 ? avformat_index_get_entry(s->ist, k) : NULL;
    if (!e || !(e->flags & AVINDEX_KEYFRAME) || e->timestamp <= s->offset)
        return;
    if (av_seek_frame(c->ifc, s->index, e->timestamp, AVSEEK_FLAG_BACKWARD) < 0) {
        /* Nothing was moved that reading from the start would not undo. */
        av_seek_frame(c->ifc, s->index, s->offset, AVSEEK_FLAG_BACKWARD);
        return;
    }
    c->r->read_from = (double)(e->timestamp - s->offset) * tb;
}

static int run(tc_ctx *c)
{
    if (output_alloc(c) != 0 || open_input(c) != 0 || open_output(c) != 0)
        return -1;
    seek_to_cut(c);
    if (read_all(c) != 0)
        return -1;
    if (c->v.dec && (decode(c, &c->v, NULL) != 0 || transcode_video_flush(c) != 0))
        return -1;
    if (c->a.dec && (decode(c, &c->a, NULL) != 0 || transcode_audio_flush(c) != 0))
        return -1;
    if (c->job->audio.mode == TRANSCODE_AUDIO_ADD_SILENT &&
        (transcode_audio_silence(c, c->v.end) != 0 || transcode_audio_flush(c) != 0))
        return -1;
    if (c->v.index >= 0 && c->r->video_frames == 0 && c->r->video_packets_copied == 0)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: no video frame could be %s", c->path,
                       c->v.dec ? "decoded" : "copied");
    int rc = av_write_trailer(c->ofc);
    if (rc < 0)
        return vb_fail(c->e, VB_ERR_IO, "%s: cannot finish: %s", c->job->output,
                       av_err2str(rc));
    rc = avio_closep(&c->ofc->pb);
    if (rc < 0)
        return vb_fail(c->e, VB_ERR_IO, "%s: cannot close: %s", c->job->output,
                       av_err2str(rc));
    c->r->duration = fmax(c->v.end, c->a.end);
    return 0;
}

static void stream_free(tc_stream *s)
{
    avfilter_graph_free(&s->graph);
    avcodec_free_context(&s->dec);
    avcodec_free_context(&s->enc);
}

static void ctx_free(tc_ctx *c)
{
    stream_free(&c->v);
    stream_free(&c->a);
    if (c->ofc) {
        avio_closep(&c->ofc->pb);
        avformat_free_context(c->ofc);
    }
    av_packet_free(&c->pkt);
    av_packet_free(&c->opkt);
    av_frame_free(&c->frame);
    av_frame_free(&c->filt);
    mediaio_close(&c->io);
}

int transcode_pass(const transcode_job *job, mediaio_clock *clk, transcode_result *out,
                   vb_error *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, quiet_logs);
    double t0 = util_now();
    *out = (transcode_result){0};
    out->peak_before_limit = NAN;
    if (avf_load(e) != 0)
        return -1;
    tc_ctx c = {0};
    c.job = job;
    c.r = out;
    c.e = e;
    c.clk = clk;
    c.path = job->input;
    c.v.index = c.a.index = -1;
    c.threads = job->threads > 0 ? job->threads : 0;
    c.cut_start = isfinite(job->trim_start) && job->trim_start > 0 ? job->trim_start : 0;
    c.cut_end = isfinite(job->trim_end) && job->trim_end >= 0 ? job->trim_end : INFINITY;
    out->cut_start = c.cut_start;
    c.pkt = av_packet_alloc();
    c.opkt = av_packet_alloc();
    c.frame = av_frame_alloc();
    c.filt = av_frame_alloc();
    int rc = c.pkt && c.opkt && c.frame && c.filt
           ? run(&c) : vb_fail(e, VB_ERR_INTERNAL, "%s: out of memory", job->input);
    ctx_free(&c);
    if (rc != 0) {
        /* Whatever was written is no use to anyone. */
        unlink(job->output);
        return -1;
    }
    out->seconds = util_now() - t0;
    return 0;
}
