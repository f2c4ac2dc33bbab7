/* transcode-video.c - in the media module: the fix engine's video
 * re-encode (transcode.h, TRANSCODE_VIDEO_ENCODE).
 *
 *   buffer -> [trim -> setpts] -> fps -> [tonemap] -> [transpose/flip]
 *          -> scale (to BT.709 limited) -> [pad | crop] -> setsar -> format
 *          -> buffersink -> libx264 (High, 4:2:0 8-bit)
 *
 * The output size is worked out here from the stream's header (its
 * rotation and pixel shape included), not from the first frame, so that
 * the encoder and the muxer's header exist before the first packet. The
 * fps filter starts at 0 and is told where the last frame ends, so the
 * rate is constant from the first frame to the last.
 *
 * HDR (PQ or HLG) to SDR: Debian's libavfilter has zscale (libzimg), the
 * route ffmpeg's documentation gives: to linear light, BT.709 primaries,
 * tonemap (hable), then BT.709's transfer and matrix, limited range. */
#include "config.h"
#include "media.h"
#include "transcode-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avfilter-lazy.h"
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

/* AVFrame.duration replaced pkt_duration in libavutil 57.30. */
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
#define FRAME_DURATION(f) ((f)->duration)
#else
#define FRAME_DURATION(f) ((f)->pkt_duration)
#endif

#define TONEMAP "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709," \
                "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"

/* Degrees clockwise the picture is turned when shown (as ffmpeg's
 * autorotate reads it): the display matrix, else a rotate tag. */
static int rotation_of(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    double theta = 0;
    if (m) {
        theta = -av_display_rotation_get((const int32_t *)m);
    } else {
        const AVDictionaryEntry *t = av_dict_get(st->metadata, "rotate", NULL, 0);
        theta = t ? strtod(t->value, NULL) : 0;
    }
    if (!isfinite(theta))
        return 0;
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    return ((int)lround(theta / 90) * 90) % 360;
}

static int even(double x)
{
    int v = (int)lround(x / 2) * 2;
    return v < 2 ? 2 : v;
}

/* The output and scaled sizes. */
static void geometry(tc_ctx *c, int rotation, int *ow, int *oh)
{
    const transcode_video *jv = &c->job->video;
    const AVCodecParameters *par = c->v.ist->codecpar;
    double w = par->width, h = par->height;
    AVRational sar = av_guess_sample_aspect_ratio(c->ifc, c->v.ist, NULL);
    if (sar.num > 0 && sar.den > 0)
        w *= av_q2d(sar);
    if (rotation % 180) {
        double t = w;
        w = h;
        h = t;
    }
    if (jv->width == 0) {
        *ow = c->scaled_w = even(w);
        *oh = c->scaled_h = even(h);
        return;
    }
    int W = jv->width, H = jv->height;
    bool crop = jv->fit == TRANSCODE_FIT_CROP;
    double k = crop ? fmax(W / w, H / h) : fmin(W / w, H / h);
    int sw = even(w * k), sh = even(h * k);
    c->scaled_w = crop ? (sw < W ? W : sw) : (sw > W ? W : sw);
    c->scaled_h = crop ? (sh < H ? H : sh) : (sh > H ? H : sh);
    *ow = jv->fit == TRANSCODE_FIT_SCALE ? c->scaled_w : W;
    *oh = jv->fit == TRANSCODE_FIT_SCALE ? c->scaled_h : H;
}

/* The constant rate: asked, else the source's average, snapped to the
 * usual rate it is within 0.2% of (a VFR average is a long fraction). */
static AVRational output_rate(const tc_ctx *c)
{
    const transcode_video *jv = &c->job->video;
    if (jv->fps_num > 0)
        return av_make_q(jv->fps_num, jv->fps_den);
    AVRational fr = c->v.ist->avg_frame_rate;
    if (fr.num <= 0 || fr.den <= 0 || av_q2d(fr) > 240)
        fr = c->v.ist->r_frame_rate;
    if (fr.num <= 0 || fr.den <= 0 || av_q2d(fr) > 240 || av_q2d(fr) < 1)
        return av_make_q(30, 1);
    static const AVRational usual[] = { {24000, 1001}, {24, 1}, {25, 1}, {30000, 1001},
                                        {30, 1}, {50, 1}, {60000, 1001}, {60, 1} };
    for (size_t i = 0; i < VB_ARRAY_LEN(usual); i++)
        if (fabs(av_q2d(fr) / av_q2d(usual[i]) - 1) < 0.002)
            return usual[i];
    return av_d2q(av_q2d(fr), 100000);
}

static void encoder_settings(tc_ctx *c, AVCodecContext *enc, AVDictionary **o)
{
    const transcode_video *jv = &c->job->video;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->sample_aspect_ratio = av_make_q(1, 1);
    enc->time_base = av_inv_q(c->fps);
    enc->framerate = c->fps;
    enc->color_primaries = AVCOL_PRI_BT709;
    enc->color_trc = AVCOL_TRC_BT709;
    enc->colorspace = AVCOL_SPC_BT709;
    enc->color_range = AVCOL_RANGE_MPEG;
    enc->thread_count = c->job->video.threads > 0 ? c->job->video.threads : c->threads;
    enc->flags |= AV_CODEC_FLAG_CLOSED_GOP;
    if (c->ofc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    /* x264 names the lowest profile the tools it uses fit: the 8x8
     * transform (High's own) makes it High whatever the preset. */
    av_dict_set(o, "x264-params", "8x8dct=1", 0);
    if (jv->gop > 0) {
        /* Key frames exactly every gop frames: no scene-cut extras. */
        enc->gop_size = jv->gop;
        enc->keyint_min = jv->gop;
        av_dict_set(o, "x264-params", "8x8dct=1:scenecut=0", 0);
    }
    av_dict_set(o, "preset", jv->preset ? jv->preset : "medium", 0);
    av_dict_set(o, "profile", "high", 0);
    if (jv->bitrate > 0)
        enc->bit_rate = jv->bitrate;
    else
        av_dict_set_int(o, "crf", isfinite(jv->crf) && jv->crf >= 0 ? (int64_t)lround(jv->crf)
                                                                     : 23, 0);
    if (jv->maxrate > 0) {
        enc->rc_max_rate = jv->maxrate;
        enc->rc_buffer_size = (int)(jv->bufsize > 0 ? jv->bufsize : 2 * jv->maxrate);
    }
}

static int open_encoder(tc_ctx *c, int w, int h)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        return vb_fail(c->e, VB_ERR_INTERNAL, "this FFmpeg has no libx264 encoder");
    AVCodecContext *enc = c->v.enc = avcodec_alloc_context3(codec);
    if (!enc)
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: out of memory", c->path);
    enc->width = w;
    enc->height = h;
    AVDictionary *o = NULL;
    encoder_settings(c, enc, &o);
    int rc = avcodec_open2(enc, codec, &o);
    av_dict_free(&o);
    if (rc < 0) {
        char m[AV_ERROR_MAX_STRING_SIZE];
        const transcode_video *jv = &c->job->video;
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: libx264 refused the settings (%dx%d, %d/%d fps, "
                       "preset %s, High profile): %s", c->path, w, h, c->fps.num, c->fps.den,
                       jv->preset ? jv->preset : "medium", mediaio_averr(rc, m));
    }
    return 0;
}

int transcode_video_open(tc_ctx *c)
{
    const AVCodecParameters *par = c->v.ist->codecpar;
    c->hdr = par->color_trc == AVCOL_TRC_SMPTE2084 || par->color_trc == AVCOL_TRC_ARIB_STD_B67;
    if (c->hdr && !c->job->video.tonemap)
        return vb_fail(c->e, VB_ERR_MEDIA, "%s: the video is HDR (%s): re-encoding it to 8-bit "
                       "SDR needs it tone-mapped", c->path,
                       par->color_trc == AVCOL_TRC_SMPTE2084 ? "PQ" : "HLG");
    if (c->hdr && !avfilter_get_by_name("zscale"))
        return vb_fail(c->e, VB_ERR_INTERNAL, "%s: the video is HDR, and this libavfilter has "
                       "no zscale filter to tone-map it", c->path);
    c->r->rotation = rotation_of(c->v.ist);
    c->fps = output_rate(c);
    int w, h;
    geometry(c, c->r->rotation, &w, &h);
    if (transcode_decoder(c, &c->v) != 0 || open_encoder(c, w, h) != 0)
        return -1;
    c->r->width = w;
    c->r->height = h;
    c->r->tonemapped = c->hdr;
    return 0;
}

/* scale's in_color_matrix: the frame's, else what players assume for an
 * untagged picture of that height. */
static const char *matrix_name(const AVFrame *f)
{
    switch (f->colorspace) {
    case AVCOL_SPC_BT709:      return "bt709";
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:  return "bt601";
    case AVCOL_SPC_SMPTE240M:  return "smpte240m";
    case AVCOL_SPC_FCC:        return "fcc";
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:  return "bt2020";
    default:                   return f->height >= 720 ? "bt709" : "bt601";
    }
}

/* The chain between buffer and buffersink, into buf. */
static void chain(tc_ctx *c, const AVFrame *f, char *buf, size_t len)
{
    const transcode_video *jv = &c->job->video;
    size_t n = 0;
    buf[0] = '\0';
#define ADD(...) (n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
    if (c->cut_start > 0 || isfinite(c->cut_end)) {
        ADD("trim=start=%.6f", c->cut_start);
        if (isfinite(c->cut_end))
            ADD(":end=%.6f", c->cut_end);
        ADD(",setpts=PTS-%.6f/TB,", c->cut_start);
    }
    ADD("fps=fps=%d/%d:start_time=0,", c->fps.num, c->fps.den);
    if (c->hdr)
        ADD(TONEMAP ",");
    static const char *const turn[] = { "", "transpose=clock,", "hflip,vflip,",
                                        "transpose=cclock," };
    ADD("%s", turn[c->r->rotation / 90 % 4]);
    ADD("scale=w=%d:h=%d:flags=bicubic:in_color_matrix=%s:out_color_matrix=bt709:"
        "out_range=tv,", c->scaled_w, c->scaled_h, c->hdr ? "bt709" : matrix_name(f));
    int W = c->v.enc->width, H = c->v.enc->height;
    if (jv->width > 0 && jv->fit == TRANSCODE_FIT_PAD)
        ADD("pad=%d:%d:%d:%d:color=black,", W, H, (W - c->scaled_w) / 2, (H - c->scaled_h) / 2);
    else if (jv->width > 0 && jv->fit == TRANSCODE_FIT_CROP)
        ADD("crop=%d:%d,", W, H);
    ADD("setsar=1,format=yuv420p");
#undef ADD
}

static int graph_new(tc_ctx *c, const AVFrame *f)
{
    AVRational tb = c->v.ist->time_base;
    AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : av_make_q(1, 1);
    char args[256], desc[1024];
    snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
             f->width, f->height, f->format, tb.num, tb.den, sar.num, sar.den);
    chain(c, f, desc, sizeof desc);
    int rc = transcode_graph(c, &c->v, false, args, desc);
    return rc < 0 ? transcode_fail_av(c, VB_ERR_INTERNAL, rc, "cannot set up the video filters")
                  : 0;
}

/* Encode what the sink holds. */
static int drain(tc_ctx *c)
{
    tc_stream *s = &c->v;
    for (;;) {
        int rc = av_buffersink_get_frame(s->sink, c->filt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "video filter");
        AVFrame *f = c->filt;
        if (f->pts != AV_NOPTS_VALUE)
            f->pts = av_rescale_q(f->pts, av_buffersink_get_time_base(s->sink), s->enc->time_base);
        f->pict_type = AV_PICTURE_TYPE_NONE;
        c->r->video_frames++;
        rc = transcode_encode(c, s, f);
        av_frame_unref(f);
        if (rc != 0)
            return -1;
    }
}

int transcode_video_frame(tc_ctx *c, AVFrame *f)
{
    tc_stream *s = &c->v;
    if (f->pts == AV_NOPTS_VALUE)
        return 0; /* no place on the time line */
    if (!s->graph && graph_new(c, f) != 0)
        return -1;
    /* Where the last frame ends, for the fps filter at the end. */
    int64_t d = FRAME_DURATION(f);
    if (d <= 0)
        d = av_rescale_q(1, av_inv_q(c->fps), s->ist->time_base);
    s->next_pts = FFMAX(s->next_pts, f->pts + d);
    int rc = av_buffersrc_add_frame_flags(s->src, f, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (rc < 0)
        return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "video filter");
    return drain(c);
}

int transcode_video_flush(tc_ctx *c)
{
    tc_stream *s = &c->v;
    if (s->graph) {
        int rc = av_buffersrc_close(s->src, s->next_pts, 0);
        if (rc < 0)
            return transcode_fail_av(c, VB_ERR_INTERNAL, rc, "video filter");
        if (drain(c) != 0)
            return -1;
    }
    return transcode_encode(c, s, NULL);
}
