/* thumbs-render.c - in the media module (it needs libswscale and
 * libvips): thumbnails and a contact sheet per video.
 *
 * Frames are decoded with libav, converted to RGB with swscale and handed
 * to libvips in memory (no temporary image files) to resize, rotate,
 * label, join and save. The file is opened once and the decoder is kept
 * for all the thumbnails: the times are visited in order, and where the
 * next time lies after the current position and no keyframe sits between
 * them, decoding simply goes on instead of seeking back. While running up
 * to a time, frames that nothing refers to (B-frames) are not decoded.
 *
 * A frame that is black (a fade-in, a black leader) makes a useless
 * thumbnail, so with avoid_black the first non-black frame within 2 s
 * after it is taken, else the last one within 2 s before.
 *
 * thumbs.c (the core) holds the result's output. */
#include "config.h"
#include "media.h"
#include "mediaio.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <vips/vips.h>
/* After stdio.h, which it needs. */
#include <jpeglib.h>

/* How far black avoidance looks, each way. */
#define BLACK_SEARCH_SECONDS 2.0
/* Luma, as a share of the nominal range: a pixel at or below DARK is
 * dark; a frame is black when its mean is below MEAN and nearly all of it
 * is dark (blackdetect's pix_th / pic_th). */
#define BLACK_DARK 0.10
#define BLACK_MEAN 0.05
#define BLACK_SHARE 0.98

/* One open video: demuxer, decoder, converter and where decoding is. */
typedef struct dec {
    mediaio *io;             /* the input, read under the item's clock */
    AVFormatContext *fc;     /* io's (borrowed) */
    AVCodecContext *ctx;
    AVStream *st;
    int si;
    AVPacket *pkt;
    AVFrame *frame;          /* the frame last received */
    struct SwsContext *sws;
    uint8_t *rgb;            /* sws output, tightly packed for libvips */
    size_t rgb_size;
    uint8_t *small;          /* box_shrink's planes (Y, U, V) */
    size_t small_size;
    uint16_t *acc;           /* its row sums */
    size_t acc_n;
    double tb;               /* seconds per tick */
    double start;            /* seconds of time 0 (the file's start time) */
    int64_t skip_before;     /* unreferenced frames shown before this are skipped */
    bool draining, eof;
    bool have_pos;           /* a frame was received since the last seek */
    int64_t pos;             /* its timestamp */
    /* Where the last seek must land: the key frame its first key packet
     * carries must not be shown after seek_to (+ slack), else the seek
     * went past the key frame the target needs. AV_NOPTS_VALUE once
     * checked. */
    int64_t seek_to;
    double seek_t;           /* that target, seconds */
    int64_t slack;           /* two frames, in ticks */
    double preroll;          /* seconds to seek ahead of a target, 0 until a
                                seek in this file landed too late */
} dec;

static int av_fail(vb_error *e, int rc, const char *what, const char *path)
{
    char m[AV_ERROR_MAX_STRING_SIZE];
    return vb_fail(e, VB_ERR_MEDIA, "%s %s: %s", what, path, mediaio_averr(rc, m));
}

static int vips_fail(vb_error *e, const char *what)
{
    return image_vips_fail(e, VB_ERR_INTERNAL, what, NULL);
}

static void dec_close(dec *d)
{
    avcodec_free_context(&d->ctx);
    d->fc = NULL;
    mediaio_close(&d->io);
    av_packet_free(&d->pkt);
    av_frame_free(&d->frame);
    sws_freeContext(d->sws);
    av_free(d->rgb);
    av_free(d->small);
    free(d->acc);
    memset(d, 0, sizeof *d);
}

static int dec_open(dec *d, const char *path, const probe_result *p, int threads,
                    mediaio_clock *clk, vb_error *e)
{
    memset(d, 0, sizeof *d);
    if (mediaio_open(&d->io, path, clk, 0, e) != 0)
        return -1;
    if (mediaio_demux(d->io, e) != 0) {
        dec_close(d);
        return -1;
    }
    d->fc = mediaio_format(d->io);
    int rc;
    d->si = p->video->index;
    /* The header is enough for the decoder nearly always; streams that
     * carry no header (MPEG-TS; MPEG-PS, whose streams appear with their
     * first packets) are looked into first. */
    if (d->si < 0 || (unsigned)d->si >= d->fc->nb_streams ||
        d->fc->streams[d->si]->codecpar->codec_id == AV_CODEC_ID_NONE ||
        d->fc->streams[d->si]->codecpar->width <= 0) {
        rc = mediaio_stream_info(d->io);
        if (rc < 0) {
            if (mediaio_error(d->io, e) == 0)
                av_fail(e, rc, "cannot read the streams of", path);
            dec_close(d);
            return -1;
        }
    }
    if (d->si < 0 || (unsigned)d->si >= d->fc->nb_streams) {
        dec_close(d);
        return vb_fail(e, VB_ERR_MEDIA, "cannot find the video stream of %s", path);
    }
    d->st = d->fc->streams[d->si];
    enum AVCodecID id = d->st->codecpar->codec_id;
    const AVCodec *codec = avcodec_find_decoder(id);
    if (!codec) {
        /* dec_close clears d: take what the message needs first. */
        dec_close(d);
        if (id == AV_CODEC_ID_NONE)
            return vb_fail(e, VB_ERR_MEDIA, "%s: the video codec is unknown to this FFmpeg: "
                           "no thumbnails", path);
        return vb_fail(e, VB_ERR_MEDIA, "%s: no decoder for the video codec %s in this FFmpeg: "
                       "no thumbnails", path, avcodec_get_name(id));
    }
    if (mediaio_picture_check(path, d->st->codecpar->width, d->st->codecpar->height, e) != 0) {
        dec_close(d);
        return -1;
    }
    d->ctx = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->ctx || !d->pkt || !d->frame) {
        dec_close(d);
        return vb_fail(e, VB_ERR_INTERNAL, "out of memory");
    }
    rc = avcodec_parameters_to_context(d->ctx, d->st->codecpar);
    if (rc < 0) {
        dec_close(d);
        return av_fail(e, rc, "cannot set up the video decoder for", path);
    }
    d->ctx->pkt_timebase = d->st->time_base;
    d->ctx->thread_count = threads > 0 ? threads : 1;
    /* Frame threads must decode several frames before the first comes
     * out: a waste when one frame per seek is wanted. Slices only. */
    d->ctx->thread_type = FF_THREAD_SLICE;
    mediaio_decoder_limits(d->ctx);
    rc = avcodec_open2(d->ctx, codec, NULL);
    if (rc < 0) {
        dec_close(d);
        return av_fail(e, rc, "cannot open the video decoder for", path);
    }
    d->tb = av_q2d(d->st->time_base);
    AVRational fr = d->st->avg_frame_rate.num > 0 ? d->st->avg_frame_rate : d->st->r_frame_rate;
    double fd = fr.num > 0 && fr.den > 0 ? av_q2d(av_inv_q(fr)) : 0.04;
    d->slack = llround(2 * fd / d->tb);
    d->seek_to = AV_NOPTS_VALUE;
    d->start = isfinite(p->start_time) ? p->start_time
             : d->fc->start_time != AV_NOPTS_VALUE ? (double)d->fc->start_time / AV_TIME_BASE : 0;
    return 0;
}

static int64_t dec_ts(const dec *d, double t)
{
    return llround((t + d->start) / d->tb);
}

static int64_t frame_ts(const AVFrame *f)
{
    return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

static double dec_time(const dec *d, const AVFrame *f)
{
    int64_t ts = frame_ts(f);
    return ts == AV_NOPTS_VALUE ? NAN : (double)ts * d->tb - d->start;
}

/* The next packet of the video stream into d->pkt: 0, or 1 at the end
 * of the file (or a read error: what was decoded is shown). Right after
 * a seek, packets before the first key packet are dropped (the decoder
 * could not use them), and that key packet must not be shown after the
 * seek's target: if it is, or the file ends first, the seek landed past
 * the key frame the target needs: 2. (MPEG-TS and -PS seek
 * by a search on timestamps, which lands on any packet: after a short
 * clip's only key frame, all its later packets are undecodable.) */
static int dec_read(dec *d)
{
    for (;;) {
        int rc = av_read_frame(d->fc, d->pkt);
        if (rc < 0) {
            bool check = d->seek_to != AV_NOPTS_VALUE && mediaio_check(d->io) == MEDIAIO_GO &&
                         mediaio_error(d->io, NULL) == 0;
            d->seek_to = AV_NOPTS_VALUE;
            return check ? 2 : 1;
        }
        if (d->pkt->stream_index != d->si) {
            av_packet_unref(d->pkt);
            continue;
        }
        if (d->seek_to == AV_NOPTS_VALUE)
            return 0;
        if (!(d->pkt->flags & AV_PKT_FLAG_KEY)) {
            av_packet_unref(d->pkt);
            continue;
        }
        int64_t kt = d->pkt->pts != AV_NOPTS_VALUE ? d->pkt->pts : d->pkt->dts;
        int64_t to = d->seek_to;
        d->seek_to = AV_NOPTS_VALUE;
        if (kt != AV_NOPTS_VALUE && kt > to + d->slack) {
            av_packet_unref(d->pkt);
            return 2;
        }
        return 0;
    }
}

/* Back to the first packet. A timestamp search can land past the first
 * key frame just as it lands past any other, so where the format seeks
 * that way (MPEG-TS, -PS: timestamps may jump) the way back is to byte
 * 0; elsewhere the index's first entry. */
static int dec_rewind(dec *d)
{
    const AVInputFormat *f = d->fc->iformat;
    bool bytes = !(f->flags & AVFMT_NO_BYTE_SEEK);
    int rc = -1;
    if (bytes && (f->flags & AVFMT_TS_DISCONT))
        rc = av_seek_frame(d->fc, -1, 0, AVSEEK_FLAG_BYTE);
    if (rc < 0) {
        const AVIndexEntry *ie = avformat_index_get_entry(d->st, 0);
        int64_t first = ie ? ie->timestamp
                      : d->st->start_time != AV_NOPTS_VALUE ? d->st->start_time : 0;
        rc = av_seek_frame(d->fc, d->si, first, AVSEEK_FLAG_BACKWARD);
    }
    if (rc < 0 && bytes)
        rc = av_seek_frame(d->fc, -1, 0, AVSEEK_FLAG_BYTE);
    return rc;
}

/* Seek so that decoding reaches time t from its key frame: to t (less
 * the preroll this file needs), or back to the start. */
static int dec_seek_to(dec *d, double t, bool retry, const char *path, vb_error *e)
{
    int64_t ts = dec_ts(d, t);
    double at = t - d->preroll;
    int rc;
    bool start = d->preroll > 0 && at <= 0;
    if (start)
        rc = dec_rewind(d);
    else
        rc = av_seek_frame(d->fc, d->si, dec_ts(d, at), AVSEEK_FLAG_BACKWARD);
    if (rc < 0) {
        /* Not seekable: forward is the only way, and enough when t lies
         * ahead. */
        if (!retry && !d->eof && (!d->have_pos || d->pos < ts))
            return 0;
        return av_fail(e, rc, "cannot seek in", path);
    }
    avcodec_flush_buffers(d->ctx);
    d->draining = d->eof = d->have_pos = false;
    /* From the start everything decodes: nothing to check. */
    d->seek_to = start ? AV_NOPTS_VALUE : ts;
    d->seek_t = t;
    return 0;
}

/* The last seek landed too late: seek again further ahead of its target
 * (1 s, then twice as far each time, down to the start), and keep that
 * preroll for the file's next seeks. */
static int dec_retry(dec *d, const char *path, vb_error *e)
{
    d->preroll = d->preroll > 0 ? 2 * d->preroll : 1.0;
    return dec_seek_to(d, d->seek_t, true, path, e);
}

/* Receive the next frame in display order into d->frame.
 * 0 a frame, 1 the end of the stream, -1 error. */
static int dec_next(dec *d, const char *path, vb_error *e)
{
    for (;;) {
        int rc = avcodec_receive_frame(d->ctx, d->frame);
        if (rc == 0) {
            int64_t ts = frame_ts(d->frame);
            if (ts != AV_NOPTS_VALUE) {
                d->pos = ts;
                d->have_pos = true;
            }
            return 0;
        }
        if (rc == AVERROR_EOF || (rc == AVERROR(EAGAIN) && d->draining)) {
            d->eof = true;
            return 1;
        }
        if (rc != AVERROR(EAGAIN))
            return av_fail(e, rc, "cannot decode the video of", path);
        rc = dec_read(d);
        if (rc == 2) {
            if (dec_retry(d, path, e) != 0)
                return -1;
            continue;
        }
        if (rc == 1) {
            /* End of file, or a file cut short: show what was decoded. */
            d->draining = true;
            avcodec_send_packet(d->ctx, NULL);
            continue;
        }
        /* Nothing refers to a B-frame, so one shown before the time we
         * are after need not be decoded at all. */
        d->ctx->skip_frame = d->pkt->pts != AV_NOPTS_VALUE && d->pkt->pts < d->skip_before
                           ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
        d->ctx->skip_loop_filter = AVDISCARD_DEFAULT;
        rc = avcodec_send_packet(d->ctx, d->pkt);
        av_packet_unref(d->pkt);
        /* A damaged packet costs a frame, not the thumbnails. */
        if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_INVALIDDATA)
            return av_fail(e, rc, "cannot decode the video of", path);
    }
}

/* Get ready to decode from time t: seek to the keyframe before t unless
 * decoding forward from where we are gets there sooner. */
static int dec_seek(dec *d, double t, bool force, const char *path, vb_error *e)
{
    int64_t ts = dec_ts(d, t);
    if (!force && d->have_pos && !d->eof && d->pos < ts) {
        /* A seek this file needs would land behind us anyway. */
        if (d->preroll > 0 && dec_ts(d, t - d->preroll) <= d->pos)
            return 0;
        const AVIndexEntry *ie =
            avformat_index_get_entry_from_timestamp(d->st, ts, AVSEEK_FLAG_BACKWARD);
        if (ie ? ie->timestamp <= d->pos : (double)(ts - d->pos) * d->tb < 1.0)
            return 0;
    }
    return dec_seek_to(d, t, false, path, e);
}

/* Decode the key frame a seek to t lands on, and only it: the key frame
 * is sent, then the decoder is drained, so it hands the frame over
 * without decoding the frames its reordering delay would wait for. The
 * decoder is left drained; the next dec_seek() starts it again. 2 if the
 * seek landed past the key frame wanted (see dec_read): the caller
 * decodes its time exactly instead. */
static int dec_keyframe_at(dec *d, double t, const char *path, vb_error *e)
{
    if (dec_seek(d, t, true, path, e) != 0)
        return -1;
    for (;;) {
        int rc = dec_read(d);
        if (rc == 2) {
            if (d->preroll <= 0)
                d->preroll = 1.0;
            return 2;
        }
        if (rc == 1)
            break;
        d->ctx->skip_frame = AVDISCARD_DEFAULT;
        /* Nothing is predicted from this frame and it is shown four
         * times smaller or more: deblocking it is wasted work. */
        d->ctx->skip_loop_filter = AVDISCARD_ALL;
        rc = avcodec_send_packet(d->ctx, d->pkt);
        av_packet_unref(d->pkt);
        if (rc == AVERROR_INVALIDDATA)
            continue; /* a damaged packet: try the next one */
        if (rc < 0)
            return av_fail(e, rc, "cannot decode the video of", path);
        break;
    }
    avcodec_send_packet(d->ctx, NULL);
    d->draining = true;
    int rc = dec_next(d, path, e);
    d->eof = true;
    d->have_pos = false;
    if (rc == 1)
        return vb_fail(e, VB_ERR_MEDIA, "no video frame at %.3f s in %s", t, path);
    return rc;
}

/* Decode the first frame shown at or after t into d->frame (the last
 * frame of the stream if it ends first). */
static int dec_frame_at(dec *d, double t, AVFrame *prev, const char *path, vb_error *e)
{
    if (dec_seek(d, t, false, path, e) != 0)
        return -1;
    int64_t ts = dec_ts(d, t);
    d->skip_before = ts;
    av_frame_unref(prev);
    for (;;) {
        int rc = dec_next(d, path, e);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            if (!prev->buf[0])
                return vb_fail(e, VB_ERR_MEDIA, "no video frame at %.3f s in %s", t, path);
            av_frame_unref(d->frame);
            av_frame_move_ref(d->frame, prev);
            return 0;
        }
        int64_t f = frame_ts(d->frame);
        if (f == AV_NOPTS_VALUE || f >= ts)
            return 0;
        av_frame_unref(prev);
        av_frame_move_ref(prev, d->frame);
    }
}

/* Black from the luma plane alone, on a sparse grid: cheap enough to
 * run on every frame of the search. Formats without a luma plane (RGB,
 * palette) are never called black. */
static bool frame_is_black(const AVFrame *f)
{
    const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get(f->format);
    if (!pd || (pd->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL |
                             AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM)) ||
        pd->comp[0].plane != 0 || !f->data[0])
        return false;
    int depth = pd->comp[0].depth, step = pd->comp[0].step, off = pd->comp[0].offset;
    int shift = pd->comp[0].shift;
    bool wide = depth > 8, be = (pd->flags & AV_PIX_FMT_FLAG_BE) != 0;
    bool full = f->color_range == AVCOL_RANGE_JPEG || pd->nb_components < 3 ||
                strncmp(pd->name, "yuvj", 4) == 0;
    double lo = full ? 0 : (double)(16 << (depth - 8));
    double span = full ? (double)((1 << depth) - 1) : (double)(219 << (depth - 8));
    double dark_max = lo + BLACK_DARK * span;
    int sx = f->width > 256 ? 4 : 1, sy = f->height > 256 ? 4 : 1;
    double sum = 0;
    long n = 0, dark = 0;
    if (depth == 8 && step == 1 && shift == 0) {
        /* The common case (8-bit planar luma) in integers: this runs on
         * every frame taken, at 5x the cost in the general loop. */
        unsigned dmax = (unsigned)dark_max;
        uint64_t isum = 0;
        for (int y = 0; y < f->height; y += sy) {
            const uint8_t *row = f->data[0] + (ptrdiff_t)y * f->linesize[0] + off;
            int x = 0;
            if (sx == 4) {
                /* Every fourth pixel: the low byte of each 32-bit word,
                 * 16 words a block (which the compiler vectorises). */
                uint32_t bs = 0, bd = 0;
                for (; x + 64 <= f->width; x += 64) {
                    for (int i = 0; i < 16; i++) {
                        uint32_t w;
                        memcpy(&w, row + x + 4 * i, 4);
                        w &= 0xFFu;
                        bs += w;
                        bd += w <= dmax;
                    }
                    n += 16;
                }
                isum += bs;
                dark += bd;
            }
            for (; x < f->width; x += sx) {
                isum += row[x];
                dark += row[x] <= dmax;
                n++;
            }
        }
        sum = (double)isum;
    } else {
        for (int y = 0; y < f->height; y += sy) {
            const uint8_t *row = f->data[0] + (ptrdiff_t)y * f->linesize[0] + off;
            for (int x = 0; x < f->width; x += sx) {
                const uint8_t *p = row + (ptrdiff_t)x * step;
                unsigned v = wide ? (be ? (unsigned)(p[0] << 8 | p[1])
                                        : (unsigned)(p[1] << 8 | p[0])) >> shift
                                  : p[0];
                sum += v;
                dark += v <= dark_max;
                n++;
            }
        }
    }
    if (n == 0)
        return false;
    double mean = (sum / n - lo) / span;
    return mean < BLACK_MEAN && dark >= BLACK_SHARE * n;
}

/* With avoid_black, replace a black d->frame by the first non-black one
 * within the window after it, else the last one within the window
 * before t. Returns 1 if moved, 0 if not, -1 on error. */
static int avoid_black(dec *d, double t, AVFrame *tmp, const char *path, vb_error *e)
{
    if (!frame_is_black(d->frame))
        return 0;
    AVFrame *black = av_frame_clone(d->frame);
    if (!black)
        return vb_fail(e, VB_ERR_INTERNAL, "out of memory");
    int moved = 0;
    int64_t until = dec_ts(d, t + BLACK_SEARCH_SECONDS);
    for (;;) {
        int rc = dec_next(d, path, e);
        if (rc < 0) {
            av_frame_free(&black);
            return -1;
        }
        if (rc == 1)
            break;
        int64_t f = frame_ts(d->frame);
        if (f != AV_NOPTS_VALUE && f > until)
            break;
        if (!frame_is_black(d->frame)) {
            moved = 1;
            break;
        }
    }
    if (!moved && t > 0) {
        double from = t > BLACK_SEARCH_SECONDS ? t - BLACK_SEARCH_SECONDS : 0;
        int64_t ts = dec_ts(d, t), fromts = dec_ts(d, from);
        if (dec_seek(d, from, true, path, e) != 0) {
            av_frame_free(&black);
            return -1;
        }
        d->skip_before = fromts;
        av_frame_unref(tmp);
        for (;;) {
            int rc = dec_next(d, path, e);
            if (rc < 0) {
                av_frame_free(&black);
                return -1;
            }
            int64_t f = rc == 0 ? frame_ts(d->frame) : AV_NOPTS_VALUE;
            if (rc == 1 || (f != AV_NOPTS_VALUE && f >= ts))
                break;
            if (f != AV_NOPTS_VALUE && f >= fromts && !frame_is_black(d->frame)) {
                av_frame_unref(tmp);
                av_frame_move_ref(tmp, d->frame);
            }
        }
        if (tmp->buf[0]) {
            av_frame_unref(d->frame);
            av_frame_move_ref(d->frame, tmp);
            moved = 1;
        }
    }
    if (!moved) {
        av_frame_unref(d->frame);
        av_frame_move_ref(d->frame, black);
    }
    av_frame_free(&black);
    return moved;
}

/* The sums of each kx of the ow * kx column sums in acc into out, as
 * their rounded means (n pixels each, a power of two when shift >= 0):
 * for the common factors by SWAR (four 16-bit sums in a 64-bit word
 * added in two steps), in blocks of 16 the compiler vectorises; ow is a
 * multiple of 16. */
static void box_row_out(const uint16_t *restrict acc, int ow, int kx, unsigned n, int shift,
                        uint8_t *restrict o)
{
    unsigned half = n / 2;
    if (kx == 4 && shift >= 0) {
        for (int x = 0; x < ow; x += 16)
            for (int i = 0; i < 16; i++) {
                uint64_t w;
                memcpy(&w, acc + 4 * (x + i), 8);
                w += w >> 16;
                uint32_t v = (uint32_t)(w & 0xFFFFu) + (uint32_t)((w >> 32) & 0xFFFFu);
                o[x + i] = (uint8_t)((v + half) >> shift);
            }
    } else if (kx == 2 && shift >= 0) {
        for (int x = 0; x < ow; x += 16)
            for (int i = 0; i < 16; i++) {
                uint32_t w;
                memcpy(&w, acc + 2 * (x + i), 4);
                o[x + i] = (uint8_t)(((w & 0xFFFFu) + (w >> 16) + half) >> shift);
            }
    } else {
        for (int x = 0; x < ow; x++) {
            unsigned v = 0;
            for (int i = 0; i < kx; i++)
                v += acc[kx * x + i];
            o[x] = (uint8_t)((v + half) / n);
        }
    }
}

/* One plane shrunk by whole factors kx, ky: each output pixel the
 * rounded mean of the kx x ky source pixels it covers, which is what
 * area averaging comes to at a whole factor. The ky rows are summed
 * column by column first (16-bit lanes, vectorised; kx * ky <= 256, so
 * no sum overflows), then each kx of those. acc holds ow * kx sums. */
static void box_shrink_plane(const uint8_t *src, ptrdiff_t sls, int ow, int oh, int kx, int ky,
                             uint16_t *restrict acc, uint8_t *dst, ptrdiff_t dls)
{
    unsigned n = (unsigned)(kx * ky);
    int shift = (n & (n - 1)) == 0 ? __builtin_ctz(n) : -1;
    int iw = ow * kx;
    for (int y = 0; y < oh; y++) {
        const uint8_t *r = src + (ptrdiff_t)y * ky * sls;
        for (int x = 0; x < iw; x += 16) {
            const uint8_t *restrict p = r + x;
            uint16_t *restrict a = acc + x;
            for (int i = 0; i < 16; i++)
                a[i] = p[i];
        }
        for (int j = 1; j < ky; j++) {
            r += sls;
            for (int x = 0; x < iw; x += 16) {
                const uint8_t *restrict p = r + x;
                uint16_t *restrict a = acc + x;
                for (int i = 0; i < 16; i++)
                    a[i] = (uint16_t)(a[i] + p[i]);
            }
        }
        box_row_out(acc, ow, kx, n, shift, dst + (ptrdiff_t)y * dls);
    }
}

/* 8-bit 4:2:0 shrunk k times in the YUV planes (k even, at most 16, so a
 * column of sums fits 16 bits): ow x oh luma and ow/2 x oh chroma, 4:2:2,
 * the chroma resolution swscale's own RGB output keeps. The full frame
 * is read once and only the small picture is converted to RGB, instead
 * of swscale filtering and converting every source pixel (a sixth of the
 * instructions). false where it does not apply: swscale does it all. */
static bool box_shrink(dec *d, const AVFrame *f, int ow, int oh, uint8_t *planes[4],
                       int ls[4])
{
    if ((f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P) ||
        ow % 16 != 0 || oh < 1 || f->width % ow != 0 || f->width / ow != f->height / oh ||
        f->height % oh != 0)
        return false;
    int k = f->width / ow;
    if (k < 2 || k % 2 != 0 || k > 16)
        return false;
    int cw = ow / 2;
    size_t need = (size_t)ow * oh + 2 * (size_t)cw * oh;
    if (need > d->small_size) {
        av_free(d->small);
        d->small = av_malloc(need + 64);
        d->small_size = d->small ? need : 0;
        if (!d->small)
            return false;
    }
    if ((size_t)f->width > d->acc_n) {
        free(d->acc);
        d->acc = malloc((size_t)f->width * sizeof *d->acc);
        d->acc_n = d->acc ? (size_t)f->width : 0;
        if (!d->acc)
            return false;
    }
    planes[0] = d->small;
    planes[1] = d->small + (size_t)ow * oh;
    planes[2] = planes[1] + (size_t)cw * oh;
    planes[3] = NULL;
    ls[0] = ow;
    ls[1] = ls[2] = cw;
    ls[3] = 0;
    /* Luma k x k; chroma (half the width and height already) k x k/2. */
    box_shrink_plane(f->data[0], f->linesize[0], ow, oh, k, k, d->acc, planes[0], ls[0]);
    box_shrink_plane(f->data[1], f->linesize[1], cw, oh, k, k / 2, d->acc, planes[1], ls[1]);
    box_shrink_plane(f->data[2], f->linesize[2], cw, oh, k, k / 2, d->acc, planes[2], ls[2]);
    return true;
}

/* The decoded frame as an RGB libvips image of ow x oh (pixels copied). */
static VipsImage *frame_to_vips(dec *d, const AVFrame *f, int ow, int oh, vb_error *e)
{
    const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get(f->format);
    const uint8_t *const *src = (const uint8_t *const *)f->data;
    const int *srcls = f->linesize;
    int sw = f->width, sh = f->height, sfmt = f->format;
    uint8_t *small[4];
    int smallls[4];
    if (box_shrink(d, f, ow, oh, small, smallls)) {
        /* Left to swscale: the conversion alone, at the final size. */
        src = (const uint8_t *const *)small;
        srcls = smallls;
        sw = ow;
        sh = oh;
        sfmt = f->format == AV_PIX_FMT_YUVJ420P ? AV_PIX_FMT_YUVJ422P : AV_PIX_FMT_YUV422P;
    }
    /* A shrink averages the source pixels each output pixel covers (area):
     * every input pixel counts once, so nothing aliases and the result
     * matches a bicubic shrink to within rounding, at a third of its cost
     * (swscale's bicubic widens its 4-tap kernel by the shrink factor, 24
     * taps per pixel at 1080p -> 320). Enlarging keeps bicubic. */
    int flags = ow <= sw && oh <= sh ? SWS_AREA : SWS_BICUBIC;
    d->sws = sws_getCachedContext(d->sws, sw, sh, sfmt, ow, oh,
                                  AV_PIX_FMT_RGB24, flags, NULL, NULL, NULL);
    if (!d->sws) {
        vb_fail(e, VB_ERR_MEDIA, "cannot convert %s frames to RGB", pd ? pd->name : "these");
        return NULL;
    }
    if (pd && !(pd->flags & AV_PIX_FMT_FLAG_RGB)) {
        /* Use the matrix and range the frame says it has (BT.709 for
         * HD), as ffmpeg does; unspecified means BT.601. */
        int cs = f->colorspace != AVCOL_SPC_UNSPECIFIED && f->colorspace != AVCOL_SPC_RGB
               ? (int)f->colorspace : SWS_CS_DEFAULT;
        int full = f->color_range == AVCOL_RANGE_JPEG || strncmp(pd->name, "yuvj", 4) == 0;
        sws_setColorspaceDetails(d->sws, sws_getCoefficients(cs), full,
                                 sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    }
    size_t need = (size_t)ow * oh * 3;
    if (need > d->rgb_size) {
        av_free(d->rgb);
        d->rgb = av_malloc(need + 64);
        if (!d->rgb) {
            d->rgb_size = 0;
            vb_fail(e, VB_ERR_INTERNAL, "out of memory for a %dx%d frame", ow, oh);
            return NULL;
        }
        d->rgb_size = need;
    }
    uint8_t *dst[4] = { d->rgb, NULL, NULL, NULL };
    int dstls[4] = { ow * 3, 0, 0, 0 };
    sws_scale(d->sws, src, srcls, 0, sh, dst, dstls);
    VipsImage *im = vips_image_new_from_memory_copy(d->rgb, need, ow, oh, 3, VIPS_FORMAT_UCHAR);
    if (!im)
        vips_fail(e, "cannot hand the frame to libvips");
    return im;
}

/* Clockwise quarter turns needed to show the picture upright, from the
 * probe's counter-clockwise display-matrix rotation. */
static int quarter_turns(double rotation)
{
    if (!isfinite(rotation))
        return 0;
    long deg = lround(-rotation / 90.0) * 90;
    return (int)(((deg % 360) + 360) % 360 / 90);
}

/* The thumbnail's size before turning upright: `width` wide as displayed
 * (pixel shape and rotation applied). */
static void thumb_size(int w, int h, double sar, int turns, int width, int *pw, int *ph)
{
    double dw = w * sar, dh = h;
    if (turns % 2) {
        double x = dw;
        dw = dh;
        dh = x;
    }
    int tw = width, th = (int)lround(width * dh / dw);
    if (th < 1)
        th = 1;
    *pw = turns % 2 ? th : tw;
    *ph = turns % 2 ? tw : th;
}

/* Resize to pw x ph and turn upright; the result is in memory. */
static VipsImage *make_thumb(VipsImage *rgb, int pw, int ph, int turns, vb_error *e)
{
    int w = vips_image_get_width(rgb), h = vips_image_get_height(rgb);
    /* The usual case: swscale delivered the size and nothing turns, and
     * the image is in memory already: no copy. */
    if (w == pw && h == ph && !turns &&
        vips_image_get_interpretation(rgb) == VIPS_INTERPRETATION_sRGB) {
        g_object_ref(rgb);
        return rgb;
    }
    VipsObject *scope = VIPS_OBJECT(vips_image_new());
    VipsImage **t = (VipsImage **)vips_object_local_array(scope, 4);
    VipsImage *out = NULL;
    /* swscale normally delivers the final size; a pixel of rounding or
     * an enlargement is left to libvips (vips_reduce to shrink: in 8.14
     * vips_resize is ten times slower on a memory image). */
    double hs = (double)w / pw, vs = (double)h / ph;
    VipsImage *cur = rgb;
    if (w != pw || h != ph) {
        int rc = hs >= 1 && vs >= 1 ? vips_reduce(rgb, &t[0], hs, vs, NULL)
                                    : vips_resize(rgb, &t[0], 1 / hs, "vscale", 1 / vs, NULL);
        if (rc != 0)
            goto fail;
        cur = t[0];
    }
    /* Rounding inside the resize may leave a pixel more or less. */
    if (vips_image_get_width(cur) != pw || vips_image_get_height(cur) != ph) {
        if (vips_embed(cur, &t[1], 0, 0, pw, ph, "extend", VIPS_EXTEND_COPY, NULL) != 0)
            goto fail;
        cur = t[1];
    }
    if (turns) {
        static const VipsAngle angle[] = { VIPS_ANGLE_D0, VIPS_ANGLE_D90, VIPS_ANGLE_D180,
                                           VIPS_ANGLE_D270 };
        if (vips_rot(cur, &t[2], angle[turns], NULL) != 0)
            goto fail;
        cur = t[2];
    }
    if (vips_copy(cur, &t[3], "interpretation", VIPS_INTERPRETATION_sRGB, NULL) != 0)
        goto fail;
    out = vips_image_copy_memory(t[3]);
    if (!out)
        goto fail;
    g_object_unref(scope);
    return out;
fail:
    vips_fail(e, "cannot resize the thumbnail");
    g_object_unref(scope);
    return NULL;
}

static const char *format_ext(int format)
{
    return format == THUMB_WEBP ? "webp" : format == THUMB_PNG ? "png" : "jpg";
}

/* libjpeg reports errors through error_exit, which must not return: back
 * to jpeg_rgb with the message. */
typedef struct jpeg_fail {
    struct jpeg_error_mgr mgr;
    jmp_buf back;
    char msg[JMSG_LENGTH_MAX];
} jpeg_fail;

static void jpeg_fail_exit(j_common_ptr c)
{
    jpeg_fail *f = (jpeg_fail *)c->err;
    f->mgr.format_message(c, f->msg);
    longjmp(f->back, 1);
}

static void jpeg_fail_quiet(j_common_ptr c, int level)
{
    (void)c; (void)level;
}

/* An 8-bit RGB memory image as baseline JPEG, straight from its rows with
 * the libjpeg libvips itself uses and the settings vips_jpegsave takes
 * from ours (no JFIF or metadata marker, standard Huffman tables, 4:2:0
 * below quality 90): the same bytes. libvips's save spent as long again
 * as the encoding itself on building its pipeline for a picture this
 * small. *buf is malloc'd. */
static int jpeg_rgb(VipsImage *im, int q, unsigned char **buf, unsigned long *len,
                    vb_error *e)
{
    struct jpeg_compress_struct c;
    jpeg_fail f;
    *buf = NULL;
    *len = 0;
    c.err = jpeg_std_error(&f.mgr);
    f.mgr.error_exit = jpeg_fail_exit;
    f.mgr.emit_message = jpeg_fail_quiet;
    if (setjmp(f.back)) {
        jpeg_destroy_compress(&c);
        free(*buf);
        *buf = NULL;
        return vb_fail(e, VB_ERR_INTERNAL, "cannot encode the thumbnail: %s", f.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, buf, len);
    c.image_width = (JDIMENSION)vips_image_get_width(im);
    c.image_height = (JDIMENSION)vips_image_get_height(im);
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, q, TRUE);
    c.optimize_coding = FALSE;
    c.write_JFIF_header = FALSE;
    c.write_Adobe_marker = FALSE;
    if (q >= 90) {
        c.comp_info[0].h_samp_factor = 1;
        c.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)VIPS_IMAGE_ADDR(im, 0, (int)c.next_scanline);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return 0;
}

/* Encode in memory, then write through a temporary name. */
static int save_image(VipsImage *im, int format, int quality, const char *path, vb_error *e)
{
    if (format == THUMB_JPEG && vips_image_get_bands(im) == 3 &&
        vips_image_get_format(im) == VIPS_FORMAT_UCHAR &&
        vips_image_get_coding(im) == VIPS_CODING_NONE && im->data &&
        (im->dtype == VIPS_IMAGE_SETBUF || im->dtype == VIPS_IMAGE_SETBUF_FOREIGN)) {
        unsigned char *jb;
        unsigned long jl;
        int q = quality < 1 ? 1 : quality > 100 ? 100 : quality;
        if (jpeg_rgb(im, q, &jb, &jl, e) != 0)
            return -1;
        int rc = util_write_atomic(path, jb, (size_t)jl, e);
        free(jb);
        return rc;
    }
    void *buf = NULL;
    size_t len = 0;
    int rc;
    int q = quality < 1 ? 1 : quality > 100 ? 100 : quality;
    if (format == THUMB_WEBP)
        rc = vips_webpsave_buffer(im, &buf, &len, "Q", q, NULL);
    else if (format == THUMB_PNG)
        rc = vips_pngsave_buffer(im, &buf, &len, "compression", 6, NULL);
    else
        /* Baseline, standard Huffman tables, no metadata: optimised
         * tables take a second pass over the image for a few per cent of
         * a file this small. */
        rc = vips_jpegsave_buffer(im, &buf, &len, "Q", q, "optimize_coding", FALSE,
                                  "interlace", FALSE, "strip", TRUE, NULL);
    if (rc != 0)
        return vips_fail(e, "cannot encode the thumbnail");
    rc = util_write_atomic(path, buf, len, e);
    g_free(buf);
    return rc;
}

/* "01:03.20", or "1:01:03.20" past an hour. */
static void fmt_stamp(char *b, size_t n, double t)
{
    if (!isfinite(t) || t < 0)
        t = 0;
    long cs = lround(t * 100);
    long h = cs / 360000, m = cs / 6000 % 60, s = cs / 100 % 60, c = cs % 100;
    if (h > 0)
        snprintf(b, n, "%ld:%02ld:%02ld.%02ld", h, m, s, c);
    else
        snprintf(b, n, "%02ld:%02ld.%02ld", m, s, c);
}

/* The sheet's layout: tiles in a grid of cells the size of the largest
 * tile, SHEET_GAP apart and SHEET_BORDER from the edge, on SHEET_BG. */
#define SHEET_GAP 4
#define SHEET_BORDER 4
#define SHEET_BG 24

/* A text's coverage mask from libvips (dpi 72: the font size is in
 * pixels), or NULL (no fonts): *w x *h bytes, g_free'd by the caller. */
static uint8_t *label_mask(const char *text, int px, int *w, int *h)
{
    char font[64];
    snprintf(font, sizeof font, "sans bold %d", px);
    VipsImage *mask = NULL;
    uint8_t *m = NULL;
    size_t msize = 0;
    if (vips_text(&mask, text, "font", font, "dpi", 72, NULL) == 0 &&
        vips_image_get_bands(mask) == 1 && vips_image_get_format(mask) == VIPS_FORMAT_UCHAR)
        m = vips_image_write_to_memory(mask, &msize);
    vips_error_clear();
    if (m) {
        *w = vips_image_get_width(mask);
        *h = vips_image_get_height(mask);
    }
    if (mask)
        g_object_unref(mask);
    return m;
}

static int label_px(int w)
{
    int px = w / 18;
    return px < 9 ? 9 : px > 32 ? 32 : px;
}

/* The tile's time in white on a darkened strip along its bottom, drawn
 * into the sheet's pixels at (x0, y0) (3 bands, `stride` bytes a row):
 * columns mx .. mx + tw of the th-row coverage mask m (mstride a row). */
static void label_draw(uint8_t *sheet, size_t stride, int x0, int y0, int w, int h, int px,
                       const uint8_t *m, int mstride, int mx, int tw, int th)
{
    int sh = th + px / 2;
    int pad = px / 3, ty = (sh - th) / 2;
    for (int y = 0; sh < h && y < sh; y++) {
        uint8_t *row = sheet + (size_t)(y0 + h - sh + y) * stride + (size_t)x0 * 3;
        int my = y - ty;
        const uint8_t *mrow = my >= 0 && my < th ? m + (size_t)my * mstride + mx : NULL;
        for (int x = 0; x < w; x++) {
            int a = mrow && x >= pad && x - pad < tw ? mrow[x - pad] : 0;
            for (int c = 0; c < 3; c++) {
                /* Darkened to 30 %, then white laid over by coverage. */
                int v = row[3 * x + c] * 3 / 10;
                row[3 * x + c] = (uint8_t)((255 * a + v * (255 - a) + 127) / 255);
            }
        }
    }
}

/* One tile's label from a mask of its own; a tile that can not be
 * labelled (no fonts) goes in bare. */
static void label_tile(uint8_t *sheet, size_t stride, int x0, int y0, int w, int h, double t)
{
    char text[32];
    fmt_stamp(text, sizeof text, t);
    int px = label_px(w), tw = 0, th = 0;
    uint8_t *m = label_mask(text, px, &tw, &th);
    if (m)
        label_draw(sheet, stride, x0, y0, w, h, px, m, tw, 0, tw, th);
    g_free(m);
}

/* All the sheet's labels from one mask: their texts in one line, wide
 * gaps between them, cut apart at those gaps (each text's own columns;
 * the line's rows). Laying out text costs libvips ~0.6M instructions a
 * call, whatever its length. false (nothing drawn) where the tiles'
 * font sizes differ or the cut does not give one piece a label: each
 * is then labelled alone. */
static bool label_all(uint8_t *sheet, size_t stride, const int *x0, const int *y0,
                      const int *w, const int *h, const thumbs_result *r)
{
    size_t n = r->n;
    int px = label_px(w[0]);
    for (size_t i = 1; i < n; i++)
        if (label_px(w[i]) != px)
            return false;
    char *text = vb_xcalloc(n, 40);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(text, "      ");
        char one[32];
        fmt_stamp(one, sizeof one, r->t[i].actual);
        strcat(text, one);
    }
    int mw = 0, mh = 0;
    uint8_t *m = label_mask(text, px, &mw, &mh);
    free(text);
    if (!m)
        return false;
    /* Ink columns in runs; a gap of half the font size or more ends one
     * (the widest inside a label, around a '1', is a fifth of it). */
    int *from = vb_xcalloc(n, sizeof *from), *to = vb_xcalloc(n, sizeof *to);
    size_t k = 0;
    int gap = px, last = -1;
    bool ok = true;
    for (int x = 0; x < mw && ok; x++) {
        bool ink = false;
        for (int y = 0; y < mh && !ink; y++)
            ink = m[(size_t)y * mw + x] != 0;
        if (!ink) {
            gap++;
            continue;
        }
        if (gap >= px / 2 || last < 0) {
            if (k == n)
                ok = false;
            else
                from[k++] = x;
        }
        if (ok)
            to[k - 1] = x + 1;
        gap = 0;
        last = x;
    }
    if (ok && k == n)
        for (size_t i = 0; i < n; i++)
            label_draw(sheet, stride, x0[i], y0[i], w[i], h[i], px, m, mw, from[i],
                       to[i] - from[i], mh);
    g_free(m);
    free(from);
    free(to);
    return ok && k == n;
}

/* The contact sheet, composed in one buffer (tiles copied in, labels
 * drawn on) and encoded once: a libvips pipeline of extract, linear,
 * embed, ifthenelse, insert and arrayjoin per sheet cost more than the
 * thumbnails' decoding. */
static int make_sheet(VipsImage **tiles, const thumbs_result *r, const thumbs_config *cfg,
                      const char *path, thumbs_result *out, vb_error *e)
{
    size_t n = r->n;
    int across = cfg->columns > 0 ? cfg->columns : 5;
    if ((size_t)across > n)
        across = (int)n;
    int rows = (int)((n + (size_t)across - 1) / (size_t)across);
    int cw = 0, ch = 0;
    for (size_t i = 0; i < n; i++) {
        if (vips_image_get_bands(tiles[i]) != 3 ||
            vips_image_get_format(tiles[i]) != VIPS_FORMAT_UCHAR ||
            vips_image_wio_input(tiles[i]) != 0)
            return vips_fail(e, "cannot join the contact sheet");
        cw = VIPS_MAX(cw, vips_image_get_width(tiles[i]));
        ch = VIPS_MAX(ch, vips_image_get_height(tiles[i]));
    }
    int sw = across * cw + (across - 1) * SHEET_GAP + 2 * SHEET_BORDER;
    int sh = rows * ch + (rows - 1) * SHEET_GAP + 2 * SHEET_BORDER;
    size_t stride = (size_t)sw * 3;
    uint8_t *buf = malloc(stride * (size_t)sh);
    if (!buf)
        return vb_fail(e, VB_ERR_INTERNAL, "out of memory for a %dx%d contact sheet", sw, sh);
    memset(buf, SHEET_BG, stride * (size_t)sh);
    int *tx = vb_xcalloc(n, sizeof *tx), *ty = vb_xcalloc(n, sizeof *ty);
    int *tw = vb_xcalloc(n, sizeof *tw), *th = vb_xcalloc(n, sizeof *th);
    for (size_t i = 0; i < n; i++) {
        VipsImage *tile = tiles[i];
        int w = tw[i] = vips_image_get_width(tile), h = th[i] = vips_image_get_height(tile);
        int x0 = tx[i] = SHEET_BORDER + (int)(i % (size_t)across) * (cw + SHEET_GAP);
        int y0 = ty[i] = SHEET_BORDER + (int)(i / (size_t)across) * (ch + SHEET_GAP);
        for (int y = 0; y < h; y++)
            memcpy(buf + (size_t)(y0 + y) * stride + (size_t)x0 * 3,
                   VIPS_IMAGE_ADDR(tile, 0, y), (size_t)w * 3);
    }
    if (!label_all(buf, stride, tx, ty, tw, th, r))
        for (size_t i = 0; i < n; i++)
            label_tile(buf, stride, tx[i], ty[i], tw[i], th[i], r->t[i].actual);
    free(tx);
    free(ty);
    free(tw);
    free(th);
    VipsImage *sheet = vips_image_new_from_memory(buf, stride * (size_t)sh, sw, sh, 3,
                                                  VIPS_FORMAT_UCHAR);
    int rc = sheet ? save_image(sheet, THUMB_JPEG, cfg->quality, path, e)
                   : vips_fail(e, "cannot join the contact sheet");
    if (rc == 0) {
        out->contact = util_basename(path);
        out->contact_width = sw;
        out->contact_height = sh;
    }
    if (sheet)
        g_object_unref(sheet);
    free(buf);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The times to take, in order: the configured ones clamped into the
 * video, else `count` evenly spaced, each in the middle of its share. */
static double *plan_times(const thumbs_config *cfg, const probe_result *p, size_t *n)
{
    const probe_stream *vs = p->video;
    double fps = vs->avg_frame_rate.num > 0 && vs->avg_frame_rate.den > 0
               ? (double)vs->avg_frame_rate.num / vs->avg_frame_rate.den
               : vs->r_frame_rate.num > 0 && vs->r_frame_rate.den > 0
               ? (double)vs->r_frame_rate.num / vs->r_frame_rate.den : 25.0;
    double dur = isfinite(p->duration) && p->duration > 0 ? p->duration
               : isfinite(vs->duration) && vs->duration > 0 ? vs->duration : NAN;
    double last = isfinite(dur) ? dur - 1.0 / fps : INFINITY;
    if (last < 0)
        last = 0;
    double *t;
    if (cfg->times.n > 0) {
        *n = cfg->times.n;
        t = vb_xcalloc(*n, sizeof *t);
        for (size_t i = 0; i < *n; i++) {
            double v = strtod(cfg->times.v[i], NULL);
            t[i] = !isfinite(v) || v < 0 ? 0 : v > last ? last : v;
        }
        qsort(t, *n, sizeof *t, cmp_double);
    } else if (!isfinite(dur)) {
        /* Nothing to space them over: the first frame. */
        *n = 1;
        t = vb_xcalloc(1, sizeof *t);
    } else {
        *n = cfg->count > 0 ? (size_t)cfg->count : 1;
        t = vb_xcalloc(*n, sizeof *t);
        for (size_t i = 0; i < *n; i++) {
            t[i] = dur * ((double)i + 0.5) / (double)*n;
            if (t[i] > last)
                t[i] = last;
        }
    }
    return t;
}

/* Evenly spaced thumbnails need not sit on an exact frame: the nearest
 * key frame within half the spacing decodes in one step instead of up to
 * a whole group of pictures, which is what makes thumbnailing fast.
 * Times stay increasing; a time with no key frame near keeps its exact
 * position. */
static void snap_to_keyframes(const dec *d, double *t, bool *snapped, size_t n, double spacing)
{
    /* Index times are decode times; a frame is shown later by the decoder
     * delay, which the first entry against the stream start gives. */
    double shift = 0;
    const AVIndexEntry *first = avformat_index_get_entry(d->st, 0);
    if (first && d->st->start_time != AV_NOPTS_VALUE && d->st->start_time > first->timestamp)
        shift = (double)(d->st->start_time - first->timestamp) * d->tb;
    double prev = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        int64_t ts = dec_ts(d, t[i] - shift);
        const AVIndexEntry *cand[2] = {
            avformat_index_get_entry_from_timestamp(d->st, ts, AVSEEK_FLAG_BACKWARD),
            avformat_index_get_entry_from_timestamp(d->st, ts, 0),
        };
        double best = NAN, bestd = spacing / 2;
        for (int k = 0; k < 2; k++) {
            if (!cand[k] || !(cand[k]->flags & AVINDEX_KEYFRAME))
                continue;
            double kt = (double)cand[k]->timestamp * d->tb - d->start; /* decode time */
            double shown = kt + shift < 0 ? 0 : kt + shift;
            double dd = fabs(shown - t[i]);
            /* On a tie the earlier key frame: it leaves the later ones
             * free for the thumbnails that follow. */
            if ((k == 0 ? dd <= bestd : dd < bestd - 1e-6) && shown > prev) {
                best = kt < 0 ? 0 : kt;
                bestd = dd;
            }
        }
        if (isfinite(best)) {
            /* Seek to the middle of the key frame's group: a seek right at
             * its decode time can land one group early (the demuxer
             * shifts seeks by the composition offset). */
            int64_t kts = llround((best + d->start) / d->tb);
            const AVIndexEntry *next = avformat_index_get_entry_from_timestamp(d->st, kts + 1, 0);
            double nt = next ? (double)next->timestamp * d->tb - d->start : best + 1.0;
            prev = best + shift;
            t[i] = best + (nt > best ? (nt - best) / 2 : 0.5);
            snapped[i] = true;
            continue;
        }
        prev = t[i];
    }
}

/* The folder the contact sheet goes into. */
static int sheet_dir_make(const char *contact_path, vb_error *e)
{
    char *dir = vb_xstrdup(contact_path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = util_mkdir_p(dir, e);
    }
    free(dir);
    return rc;
}

/* The frame for one thumbnail into d->frame: the key frame it was
 * snapped to, or one decoded at *at, moved off black when asked. */
static int locate_frame(dec *d, const thumbs_config *cfg, double requested, double *at,
                        bool *snapped, AVFrame *tmp, const char *video, thumb *th, vb_error *e)
{
    /* Seeks that land too late: no key frames to snap to. */
    if (*snapped && d->preroll > 0) {
        *snapped = false;
        *at = requested;
    }
    if (*snapped) {
        int k = dec_keyframe_at(d, *at, video, e);
        if (k == 2) {
            *snapped = false;
            *at = requested;
        } else if (k != 0) {
            return -1;
        }
    }
    /* A black key frame: search from here the ordinary way. A key frame
     * found not black needs no second look. */
    bool clear = false;
    if (*snapped && cfg->avoid_black) {
        clear = !frame_is_black(d->frame);
        if (!clear) {
            double kt = dec_time(d, d->frame);
            *at = isfinite(kt) ? kt : *at;
            *snapped = false;
        }
    }
    if (!*snapped && dec_frame_at(d, *at, tmp, video, e) != 0)
        return -1;
    if (cfg->avoid_black && !clear) {
        int m = avoid_black(d, *at, tmp, video, e);
        if (m < 0)
            return -1;
        th->moved_off_black = m == 1;
    }
    th->actual = dec_time(d, d->frame);
    if (!isfinite(th->actual))
        th->actual = *at;
    return 0;
}

/* Thumbnail i of d->frame: scaled, turned, saved as thumb-NN; its tile
 * kept for the contact sheet. */
static int render_thumb(dec *d, const thumbs_config *cfg, double sar, int turns,
                        const char *thumb_dir, size_t i, VipsImage **tile, thumb *th,
                        vb_error *e)
{
    double s = sar;
    if (s <= 0)
        s = d->frame->sample_aspect_ratio.num > 0 && d->frame->sample_aspect_ratio.den > 0
          ? av_q2d(d->frame->sample_aspect_ratio) : 1.0;
    int fw = d->frame->width, fh = d->frame->height, pw, ph;
    thumb_size(fw, fh, s, turns, cfg->width > 0 ? cfg->width : 320, &pw, &ph);
    /* Shrunk straight to the thumbnail size (area averaging, so no
     * aliasing: a box shrink in YUV at a whole factor, else swscale,
     * frame_to_vips), correcting the pixel shape on the way; libvips then
     * only turns and encodes. One pass over the frame instead of a
     * conversion and a separate resize. */
    VipsImage *rgb = frame_to_vips(d, d->frame, pw, ph, e);
    if (!rgb)
        return -1;
    *tile = make_thumb(rgb, pw, ph, turns, e);
    g_object_unref(rgb);
    if (!*tile)
        return -1;
    char name[32];
    snprintf(name, sizeof name, "thumb-%02zu.%s", i + 1, format_ext(cfg->format));
    char *path = util_path_join(thumb_dir, name);
    int rc = save_image(*tile, cfg->format, cfg->quality, path, e);
    free(path);
    if (rc != 0)
        return -1;
    th->file = vb_xstrdup(name);
    th->width = vips_image_get_width(*tile);
    th->height = vips_image_get_height(*tile);
    return 0;
}

int thumbs_render_make(const char *video, const probe_result *p, const thumbs_config *cfg,
                       const char *thumb_dir, const char *contact_path, int threads,
                       mediaio_clock *clk, thumbs_result *out, vb_error *e)
{
    memset(out, 0, sizeof *out);
    double t0 = util_now();
    if (!p->video)
        return vb_fail(e, VB_ERR_MEDIA, "no video stream: no thumbnails");
    if (image_vips_init(0, e) != 0 || util_mkdir_p(thumb_dir, e) != 0)
        return -1;
    if (cfg->contact_sheet && contact_path && sheet_dir_make(contact_path, e) != 0)
        return -1;

    size_t n = 0;
    double *times = plan_times(cfg, p, &n);
    dec d;
    if (dec_open(&d, video, p, threads, clk, e) != 0) {
        free(times);
        return -1;
    }
    /* The planned times are reported as requested; decoding may use the
     * key frames next to them. */
    double *at = vb_xcalloc(n ? n : 1, sizeof *at);
    memcpy(at, times, n * sizeof *at);
    bool *snapped = vb_xcalloc(n ? n : 1, sizeof *snapped);
    if (cfg->times.n == 0 && !cfg->exact && n > 0 && isfinite(p->duration))
        snap_to_keyframes(&d, at, snapped, n, p->duration / (double)n);
    const probe_stream *vs = p->video;
    double sar = vs->sar.num > 0 && vs->sar.den > 0 ? (double)vs->sar.num / vs->sar.den : 0;
    int turns = quarter_turns(vs->rotation);
    AVFrame *tmp = av_frame_alloc();
    VipsImage **tiles = vb_xcalloc(n, sizeof *tiles);
    out->t = vb_xcalloc(n, sizeof *out->t);
    int rc = tmp ? 0 : vb_fail(e, VB_ERR_INTERNAL, "out of memory");

    for (size_t i = 0; rc == 0 && i < n; i++) {
        thumb *th = &out->t[i];
        if (mediaio_check(d.io) != MEDIAIO_GO) {
            rc = -1;
            break;
        }
        th->requested = times[i];
        if (locate_frame(&d, cfg, times[i], &at[i], &snapped[i], tmp, video, th, e) != 0 ||
            render_thumb(&d, cfg, sar, turns, thumb_dir, i, &tiles[i], th, e) != 0) {
            rc = -1;
            break;
        }
        out->n = i + 1;
    }
    /* What the reader saw (an I/O error read as the end of the stream, a
     * stall, the deadline) comes first: the frames may be wrong. */
    if (mediaio_error(d.io, e) != 0)
        rc = -1;
    dec_close(&d);
    av_frame_free(&tmp);
    if (rc == 0 && cfg->contact_sheet && contact_path && out->n > 0)
        rc = make_sheet(tiles, out, cfg, contact_path, out, e);
    for (size_t i = 0; i < n; i++)
        if (tiles[i])
            g_object_unref(tiles[i]);
    free(tiles);
    free(times);
    free(at);
    free(snapped);
    out->seconds = util_now() - t0;
    return rc;
}
