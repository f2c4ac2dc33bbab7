/* probe.c - read what a media file's headers say, with libavformat and
 * libavcodec, without decoding.
 *
 * Speed matters here: avformat_open_input costs well under a millisecond,
 * while avformat_find_stream_info decodes frames and costs ten times
 * more. So the container's header is trusted first; for a video stream
 * whose header leaves the profile or pixel format unknown (H.264 and
 * HEVC in MP4 do), the codec's parser is run on the stream's first packet,
 * which fills them without decoding. VP9's key frame header and AV1's
 * sequence header (its av1C record, else the first packet) are read by
 * pure readers (probe-vp9.c, probe-av1.c): VP9's parser fills none of
 * it, AV1's runs libavcodec's whole CBS reader. find_stream_info is
 * called only when a needed field is still unknown (for example MPEG-TS,
 * which has no header at all). Values follow ffprobe's conventions.
 *
 * A header can lie: the frame size in tkhd/stsd is the muxer's word, and
 * a 320x256 stream can be declared 1920x1080. The parser that runs on
 * the first packet reads the bitstream's own size (the SPS), as
 * find_stream_info's decoder does for the other codecs, so where it
 * differs the stream's size is reported, as ffprobe (which decodes) does,
 * with the declared one kept for a finding (rules.c). */
#include "config.h"
#include "probe.h"
#include "probe-aac.h"
#include "probe-av1.h"
#include "probe-h264.h"
#include "probe-hevc.h"
#include "probe-mpv.h"
#include "probe-vp9.h"
#include "mediaio.h"
#include "stage.h"
#include "writer.h"

#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

/* Packets read while looking for each parsed stream's first packet. */
#define PARSE_MAX_PACKETS 64

static char *dup_or_null(const char *s)
{
    return (s && *s) ? vb_xstrdup(s) : NULL;
}

/* Friendly container name for rules: mp4, mov, mkv, webm, ... */
static char *container_name(AVFormatContext *fc)
{
    const char *n = fc->iformat->name;
    if (strncmp(n, "mov,", 4) == 0) {
        AVDictionaryEntry *t = av_dict_get(fc->metadata, "major_brand", NULL, 0);
        if (t && strncmp(t->value, "qt", 2) == 0)
            return vb_xstrdup("mov");
        if (t && (strncmp(t->value, "M4A", 3) == 0 || strncmp(t->value, "M4B", 3) == 0))
            return vb_xstrdup("m4a");
        if (t && strncmp(t->value, "3g", 2) == 0)
            return vb_xstrdup("3gp");
        return vb_xstrdup("mp4");
    }
    if (strncmp(n, "matroska", 8) == 0) {
        AVDictionaryEntry *t = av_dict_get(fc->metadata, "DOCTYPE", NULL, 0);
        /* The demuxer exposes the doctype through its name list only;
         * webm files use VP8/VP9/AV1 + Vorbis/Opus. */
        if (t && strcmp(t->value, "webm") == 0)
            return vb_xstrdup("webm");
        bool webm = fc->nb_streams > 0;
        for (unsigned i = 0; i < fc->nb_streams; i++) {
            enum AVCodecID id = fc->streams[i]->codecpar->codec_id;
            if (id != AV_CODEC_ID_VP8 && id != AV_CODEC_ID_VP9 && id != AV_CODEC_ID_AV1 &&
                id != AV_CODEC_ID_VORBIS && id != AV_CODEC_ID_OPUS &&
                fc->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_SUBTITLE)
                webm = false;
        }
        const char *ext = strrchr(fc->url, '.');
        if (webm && ext && strcasecmp(ext, ".webm") == 0)
            return vb_xstrdup("webm");
        return vb_xstrdup("mkv");
    }
    if (strcmp(n, "mpegts") == 0)
        return vb_xstrdup("ts");
    const char *comma = strchr(n, ',');
    return comma ? vb_xstrndup(n, (size_t)(comma - n)) : vb_xstrdup(n);
}

/* moov before mdat? Walks the top-level boxes from the start of the file
 * through the demuxer's own I/O context (the file is opened once). */
static int mov_faststart(AVIOContext *pb)
{
    int64_t pos = 0, end = avio_size(pb);
    int64_t saved = avio_tell(pb);
    int result = -1;
    for (int i = 0; i < 64 && (end < 0 || pos + 8 <= end); i++) {
        if (avio_seek(pb, pos, SEEK_SET) < 0)
            break;
        uint64_t size = avio_rb32(pb);
        uint32_t type = avio_rl32(pb);
        int hdr = 8;
        if (size == 1) {
            size = avio_rb64(pb);
            hdr = 16;
        } else if (size == 0 && end > 0) {
            size = (uint64_t)(end - pos);
        }
        if (avio_feof(pb) || size < (uint64_t)hdr)
            break;
        if (type == MKTAG('m', 'o', 'o', 'v')) { result = 1; break; }
        if (type == MKTAG('m', 'd', 'a', 't')) { result = 0; break; }
        pos += (int64_t)size;
    }
    avio_seek(pb, saved, SEEK_SET);
    return result;
}

/* A file cut short: the sample index (read from the header) points past
 * the end of the file. Costs nothing more than the header already read;
 * useful where the container has a full index (MP4/MOV). */
static int64_t index_end(AVFormatContext *fc)
{
    int64_t end = 0;
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        AVStream *st = fc->streams[i];
        int n = avformat_index_get_entries_count(st);
        if (n <= 0)
            continue;
        const AVIndexEntry *ie = avformat_index_get_entry(st, n - 1);
        if (ie && ie->pos + ie->size > end)
            end = ie->pos + ie->size;
    }
    return end;
}

static bool has_parser(enum AVCodecID id)
{
    return id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC || id == AV_CODEC_ID_VP9 ||
           id == AV_CODEC_ID_AV1;
}

/* AV1: what libdav1d (FFmpeg's first AV1 decoder, the one ffprobe's
 * find_stream_info opens) sets from the sequence header: the profile,
 * level, range, the colour codes as they are (2, unspecified, when
 * absent) and its pixel format (gbrp* for sRGB 4:4:4). Taken only when
 * the header's largest frame is the container's size (the decoder gives
 * the frame's). From the av1C record, else the first packet; false when
 * neither holds a sequence header. */
static bool parse_av1(AVCodecParameters *par, const uint8_t *data, int size)
{
    static const enum AVPixelFormat yuv[4][3] = {   /* [layout][depth] */
        { AV_PIX_FMT_GRAY8, AV_PIX_FMT_GRAY10, AV_PIX_FMT_GRAY12 },
        { AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10, AV_PIX_FMT_YUV420P12 },
        { AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV422P10, AV_PIX_FMT_YUV422P12 },
        { AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUV444P10, AV_PIX_FMT_YUV444P12 },
    };
    static const enum AVPixelFormat rgb[3] = { AV_PIX_FMT_GBRP, AV_PIX_FMT_GBRP10, AV_PIX_FMT_GBRP12 };
    probe_av1_info v;
    if (!data || size <= 0 || probe_av1_sequence(data, (size_t)size, &v) != 0 ||
        v.width != par->width || v.height != par->height)
        return false;
    int layout = v.mono ? 0 : v.ss_x && v.ss_y ? 1 : v.ss_x ? 2 : 3;
    int d = v.bit_depth == 8 ? 0 : v.bit_depth == 10 ? 1 : 2;
    par->profile = v.profile;
    par->level = v.level;
    par->format = layout == 3 && v.matrix == 0 && v.primaries == 1 && v.transfer == 13
                      ? rgb[d] : yuv[layout][d];
    par->color_range = v.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    par->color_primaries = (enum AVColorPrimaries)v.primaries;
    par->color_trc = (enum AVColorTransferCharacteristic)v.transfer;
    par->color_space = (enum AVColorSpace)v.matrix;
    return true;
}

/* The pixel format VP9's decoder gives a frame with this header. */
static enum AVPixelFormat vp9_pix_fmt(const probe_vp9_info *v)
{
    static const enum AVPixelFormat yuv[3][2][2] = {  /* [depth][ss_x][ss_y] */
        { { AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUV440P }, { AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV420P } },
        { { AV_PIX_FMT_YUV444P10, AV_PIX_FMT_YUV440P10 }, { AV_PIX_FMT_YUV422P10, AV_PIX_FMT_YUV420P10 } },
        { { AV_PIX_FMT_YUV444P12, AV_PIX_FMT_YUV440P12 }, { AV_PIX_FMT_YUV422P12, AV_PIX_FMT_YUV420P12 } },
    };
    static const enum AVPixelFormat rgb[3] = { AV_PIX_FMT_GBRP, AV_PIX_FMT_GBRP10, AV_PIX_FMT_GBRP12 };
    int d = v->bit_depth == 8 ? 0 : v->bit_depth == 10 ? 1 : 2;
    return v->color_space == 7 ? rgb[d] : yuv[d][v->ss_x & 1][v->ss_y & 1];
}

/* VP9 has no parser that reads its header: the first packet's key frame
 * header gives what the decoder would set (profile, pixel format, the
 * colour space and range it always writes). A superframe starts with
 * its first frame, so the packet's start is a frame's. False when the
 * packet is no key frame (find_stream_info then decides). */
static bool parse_vp9(AVCodecParameters *par, const AVPacket *pkt)
{
    static const enum AVColorSpace cs[8] = {
        AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_BT470BG, AVCOL_SPC_BT709, AVCOL_SPC_SMPTE170M,
        AVCOL_SPC_SMPTE240M, AVCOL_SPC_BT2020_NCL, AVCOL_SPC_RESERVED, AVCOL_SPC_RGB,
    };
    probe_vp9_info v;
    if (pkt->size <= 0 || probe_vp9_keyframe(pkt->data, (size_t)pkt->size, &v) != 0)
        return false;
    par->profile = v.profile;
    par->format = vp9_pix_fmt(&v);
    par->color_space = cs[v.color_space & 7];
    par->color_range = v.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    par->width = v.width;
    par->height = v.height;
    return true;
}

/* Run the codec's parser on the stream's first packet: fills profile,
 * level and pixel format for H.264/HEVC without decoding, and the frame
 * size the bitstream has (its SPS), which wins over the header's. */
static void parse_first_packets(AVFormatContext *fc, bool *want)
{
    int pending = 0;
    for (unsigned i = 0; i < fc->nb_streams; i++)
        pending += want[i];
    if (!pending)
        return;
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return;
    for (int n = 0; pending > 0 && n < PARSE_MAX_PACKETS; n++) {
        if (av_read_frame(fc, pkt) < 0)
            break;
        unsigned si = (unsigned)pkt->stream_index;
        if (si < fc->nb_streams && want[si]) {
            AVStream *st = fc->streams[si];
            AVCodecParameters *par = st->codecpar;
            if (par->codec_id == AV_CODEC_ID_VP9 || par->codec_id == AV_CODEC_ID_AV1) {
                if (par->codec_id == AV_CODEC_ID_VP9)
                    parse_vp9(par, pkt);
                else
                    parse_av1(par, pkt->data, pkt->size);
                want[si] = false;
                pending--;
                av_packet_unref(pkt);
                continue;
            }
            AVCodecParserContext *pc = av_parser_init(par->codec_id);
            /* A bare context: the parser needs the parameters and the
             * extradata, not the decoder's private state (1.5 MB for
             * H.264, zeroed on every file). */
            AVCodecContext *ctx = avcodec_alloc_context3(NULL);
            if (pc && ctx && avcodec_parameters_to_context(ctx, par) >= 0) {
                uint8_t *out = NULL;
                int outsize = 0;
                pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
                av_parser_parse2(pc, ctx, &out, &outsize, pkt->data, pkt->size,
                                 pkt->pts, pkt->dts, pkt->pos);
                if (par->profile == FF_PROFILE_UNKNOWN && ctx->profile != FF_PROFILE_UNKNOWN)
                    par->profile = ctx->profile;
                if (par->level == FF_LEVEL_UNKNOWN && ctx->level != FF_LEVEL_UNKNOWN)
                    par->level = ctx->level;
                if (par->format < 0 && pc->format >= 0)
                    par->format = pc->format;
                if (pc->width > 0 && pc->height > 0) {
                    par->width = pc->width;
                    par->height = pc->height;
                }
            }
            av_parser_close(pc);
            avcodec_free_context(&ctx);
            want[si] = false;
            pending--;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
}

/* Would ffprobe show something we do not know yet? */
static bool stream_incomplete(const AVStream *st)
{
    const AVCodecParameters *p = st->codecpar;
    if (p->codec_id == AV_CODEC_ID_NONE)
        return true;
    if (p->codec_type == AVMEDIA_TYPE_VIDEO) {
        if (st->disposition & AV_DISPOSITION_ATTACHED_PIC)
            return false;
        return p->width <= 0 || p->height <= 0 || p->format < 0 ||
               st->avg_frame_rate.num <= 0 || st->r_frame_rate.num <= 0 ||
               (p->profile == FF_PROFILE_UNKNOWN &&
                avcodec_descriptor_get(p->codec_id) &&
                avcodec_descriptor_get(p->codec_id)->profiles);
    }
    if (p->codec_type == AVMEDIA_TYPE_AUDIO)
        return p->sample_rate <= 0 || p->ch_layout.nb_channels <= 0 ||
               (p->codec_id == AV_CODEC_ID_AAC && p->profile == FF_PROFILE_UNKNOWN &&
                p->extradata_size < 2);
    return false;
}

/* What stream_incomplete found missing, for --verbose. */
static const char *stream_missing(const AVStream *st)
{
    const AVCodecParameters *p = st->codecpar;
    if (p->codec_id == AV_CODEC_ID_NONE)
        return "no codec";
    if (p->codec_type == AVMEDIA_TYPE_VIDEO)
        return p->width <= 0 || p->height <= 0 ? "no frame size"
             : p->format < 0                   ? "no pixel format"
             : st->avg_frame_rate.num <= 0 || st->r_frame_rate.num <= 0 ? "no frame rate"
                                               : "no profile";
    if (p->codec_type == AVMEDIA_TYPE_AUDIO)
        return p->sample_rate <= 0 ? "no sample rate"
             : p->ch_layout.nb_channels <= 0 ? "no channel count" : "no AAC profile";
    return "incomplete";
}

/* The container's duration and bit rate as libavformat's timing estimate
 * would give them (what ffprobe prints), from the stream headers. */
static void header_timings(AVFormatContext *fc, int64_t size)
{
    int64_t start = INT64_MAX, end = INT64_MIN;
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        AVStream *st = fc->streams[i];
        if (st->start_time == AV_NOPTS_VALUE || st->duration == AV_NOPTS_VALUE ||
            st->duration <= 0)
            continue;
        int64_t s = av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q);
        int64_t e = s + av_rescale_q(st->duration, st->time_base, AV_TIME_BASE_Q);
        if (s < start) start = s;
        if (e > end) end = e;
    }
    if (start != INT64_MAX && end > start) {
        if (fc->start_time == AV_NOPTS_VALUE)
            fc->start_time = start;
        if (end - start > fc->duration || fc->duration == AV_NOPTS_VALUE)
            fc->duration = end - start;
    }
    if (fc->bit_rate <= 0 && size > 0 && fc->duration > 0) {
        double br = (double)size * 8.0 * AV_TIME_BASE / (double)fc->duration;
        if (br >= 0 && br <= (double)INT64_MAX)
            fc->bit_rate = (int64_t)br;
    }
}

/* ---- MPEG-TS: no header beyond PAT/PMT ----
 *
 * avformat_open_input leaves a TS stream with its codec only. The facts
 * come from the first packets (MPEG-2 video's sequence header and
 * parser, H.264's and HEVC's parsers and SPS, the MPEG audio and AC-3
 * parsers, AAC's ADTS headers), the frame rate from the steps of the
 * video's first decode times, and the durations from the last
 * packets, as libavformat's own estimate does for TS
 * (estimate_timings_from_pts: the last 250 kB of the file, each stream's
 * last PES time plus one frame). Packets are read as find_stream_info
 * would read them before it looks at the rate: until each video stream
 * has 20 frame steps; interlaced H.264 and HEVC on to the end of
 * find_stream_info's window (ts_interlaced); the rest of a progressive
 * stream's window is read for its PES times only (ts_scan).
 *
 * H.264's and HEVC's sample aspect ratio and colour are in the SPS's
 * VUI, which their parsers do not export: probe-h264.c and probe-hevc.c
 * read them. ffprobe's audio bit rate is the parser's running average
 * over everything its find_stream_info read (with scan_all_pmts, up to
 * 5 s or 5 MB: a whole short file), which a few packets do not give: MP2,
 * MP3 and AC-3 are taken only when every frame read has the same rate
 * (then the average is that rate); for AAC every ADTS header of a short
 * file is read (probe-aac.c) and the average made as the parser makes it. */

#define TS_FPS_FRAMES 21          /* find_stream_info's 20 steps, plus one */
#define TS_AUDIO_PARSED 4         /* the MPEG audio parser trusts the 3rd */
#define TS_MAX_PACKETS 2000
#define TS_MAX_BYTES (8 << 20)
#define TS_TAIL_BYTES 250000LL    /* libavformat's DURATION_MAX_READ_SIZE */
#define TS_TAIL_RETRIES 6

typedef struct ts_stream {
    AVCodecParserContext *pc;     /* owned; NULL for AAC and other types */
    AVCodecContext *ctx;          /* owned: what the parser fills */
    bool video, audio, seen;
    int dts_count;                /* packets with a decode time */
    int64_t last_dts, step;       /* step: the constant dts step, -1: varies */
    int field_order, structure;   /* the first picture's, from the parser */
    int profile, level, width, height, format;
    AVRational sar;
    bool mpv_ok;                  /* MPEG-2: the sequence header was read */
    bool h264_ok;                 /* H.264, HEVC: the SPS was read and agrees */
    int range;                    /* H.264, HEVC: the decoder's range, 0: none */
    bool sps_progressive;         /* HEVC: the SPS was read (the parser's order is not needed) */
    bool interlaced;              /* H.264: not frame_mbs_only; HEVC: not declared progressive */
    bool odd;                     /* interlaced: a packet without a decode time, or (H.264)
                                     a field picture or a repeat other than a frame's */
    int64_t first_dts;            /* interlaced: the window's start */
    int64_t last_pos;             /* video: the last packet's byte position */
    int64_t video_bytes;          /* interlaced: packet bytes read; progressive: scanned */
    bool window_done;             /* find_stream_info's whole window was read */
    int64_t dur;                  /* video: the demuxer's duration of its first packet */
    bool dur_varies;              /* video: a later packet's differed */
    bool steps_vary;              /* progressive: a PES of the window (ts_scan) had another
                                     step or no time, or the window could not be read */
    int64_t scan_dts, scan_time;  /* progressive, ts_scan: the last PES's time, -1: none
                                     yet; the time scanned */
    int64_t scan_from;            /* ts_scan: where its last packet read before starts */
    int64_t read_bytes;           /* video: the packet bytes av_read_frame gave */
    bool no_dts;                  /* video: a packet without a decode time */
    int primaries, transfer, matrix;  /* its colour description, 0: none */
    int64_t bit_rate;             /* audio: the parser's, after its frames */
    bool rate_varies;             /* audio: a later frame's differed */
    int frame_samples;            /* audio: the parser's frame duration */
    int parsed;                   /* audio: frames given to the parser */
    int rate_key;                 /* audio: the first frame's rate fields */
    enum AVCodecID opened_id;     /* the demuxer's codec before any packet */
    bool aac;                     /* AAC: ADTS headers read, no parser */
    int aac_key;                  /* its profile, rate and channel fields */
    int aac_frames;               /* frames read */
    int64_t aac_avg;              /* the parser's running bit rate */
    int aac_rate;                 /* the header's sample rate */
} ts_stream;

/* ffprobe's AAC bit rate is the parser's running average over every
 * frame find_stream_info read: the whole file when it is shorter than
 * find_stream_info's limits (5 s, probesize 5,000,000 bytes); longer
 * files are left to it. */
#define TS_AAC_MAX_BYTES 5000000LL
#define TS_AAC_MAX_SECONDS 4

static bool ts_supported(const AVCodecParameters *p)
{
    switch (p->codec_id) {
    case AV_CODEC_ID_MPEG2VIDEO: case AV_CODEC_ID_H264: case AV_CODEC_ID_HEVC:
        return p->codec_type == AVMEDIA_TYPE_VIDEO;
    case AV_CODEC_ID_MP2: case AV_CODEC_ID_MP3: case AV_CODEC_ID_AC3: case AV_CODEC_ID_AAC:
        return p->codec_type == AVMEDIA_TYPE_AUDIO;
    default:
        return false;
    }
}

/* Feed one packet to the stream's parser (made on first use). */
static void ts_parse(ts_stream *t, const AVCodecParameters *par, const AVPacket *pkt)
{
    if (!t->pc) {
        t->pc = av_parser_init(par->codec_id);
        t->ctx = avcodec_alloc_context3(NULL);
        if (!t->pc || !t->ctx || avcodec_parameters_to_context(t->ctx, par) < 0) {
            av_parser_close(t->pc);
            avcodec_free_context(&t->ctx);
            t->pc = NULL;
            return;
        }
        t->pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    }
    uint8_t *out = NULL;
    int outsize = 0;
    av_parser_parse2(t->pc, t->ctx, &out, &outsize, pkt->data, pkt->size,
                     pkt->pts, pkt->dts, pkt->pos);
}

/* An audio frame's bit rate and sample rate fields (libavformat's parser
 * gives one frame a packet): MPEG audio's bitrate and sampling indexes,
 * AC-3's fscod and frmsizecod without its low bit (the 44.1 kHz padding
 * word). -1 for a packet that starts with neither. */
static int ts_rate_key(const AVPacket *pkt)
{
    const uint8_t *d = pkt->data;
    if (!d || pkt->size < 5)
        return -1;
    if (d[0] == 0xff && (d[1] & 0xe0) == 0xe0)
        return (d[1] << 8) | (d[2] & 0xfc);
    if (d[0] == 0x0b && d[1] == 0x77)
        return 0x10000 | (d[4] & 0xfe);
    return -1;
}

/* The pixel format H.264's decoder gives (its get_pixel_format): the
 * parser's ignores the range (yuvj* for full range). -1 for what is left
 * to the decoder: monochrome, separate planes, RGB, depths other than
 * 8 and 10, chroma deeper than luma. */
static int ts_h264_pix_fmt(const probe_h264_info *h)
{
    static const enum AVPixelFormat fmt[2][2][3] = {  /* [10 bit][full range][chroma - 1] */
        { { AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV444P },
          { AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P } },
        { { AV_PIX_FMT_YUV420P10, AV_PIX_FMT_YUV422P10, AV_PIX_FMT_YUV444P10 },
          { AV_PIX_FMT_YUV420P10, AV_PIX_FMT_YUV422P10, AV_PIX_FMT_YUV444P10 } },
    };
    if (h->chroma < 1 || h->chroma > 3 || h->separate_planes ||
        (h->bit_depth != 8 && h->bit_depth != 10) || h->bit_depth_chroma != h->bit_depth ||
        (h->colour && h->matrix == AVCOL_SPC_RGB))
        return -1;
    return fmt[h->bit_depth == 10][h->signal_type && h->full_range][h->chroma - 1];
}

/* H.264's first packet: the parser has given the profile, level, size
 * and a format; the SPS gives what the decoder adds (aspect, range,
 * colour) and is taken only when its size and chroma agree with the
 * parser's. An interlaced one (not frame_mbs_only) goes on to
 * ts_interlaced's window. */
static void ts_h264(ts_stream *t, const AVPacket *pkt)
{
    probe_h264_info h;
    if (!t->pc || !t->ctx || pkt->size <= 0 ||
        probe_h264_sps(pkt->data, (size_t)pkt->size, &h) != 0)
        return;
    int fmt = ts_h264_pix_fmt(&h);
    const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get(t->format);
    t->interlaced = !h.frame_mbs_only;
    if (fmt < 0 || h.width != t->width || h.height != t->height || !pd ||
        pd->log2_chroma_w != (h.chroma < 3) || pd->log2_chroma_h != (h.chroma == 1) ||
        pd->comp[0].depth != h.bit_depth || (h.sar_idc == 255 && (h.sar_num <= 0 || h.sar_den <= 0)))
        return;
    t->format = fmt;
    t->profile = t->ctx->profile;
    t->level = t->ctx->level;
    if (h.sar_num > 0 && h.sar_den > 0)
        av_reduce(&t->sar.num, &t->sar.den, h.sar_num, h.sar_den, INT_MAX);
    else
        t->sar = (AVRational){ 0, 1 };
    t->range = !h.signal_type ? 0 : h.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    if (h.colour) {
        t->primaries = h.primaries;
        t->transfer = h.transfer;
        t->matrix = h.matrix;
    }
    t->h264_ok = t->profile != FF_PROFILE_UNKNOWN;
}

/* HEVC's first packet: the parser has given the profile, level, size
 * and the decoder's pixel format (yuvj420p included); the SPS gives the
 * aspect, range and colour, taken when its size, chroma and depth agree
 * with the parser's. One not declared progressive goes on to
 * ts_interlaced's window. The decoder says limited range when the VUI
 * gives none. */
static void ts_hevc(ts_stream *t, const AVPacket *pkt)
{
    probe_hevc_info h;
    if (!t->pc || !t->ctx || pkt->size <= 0 ||
        probe_hevc_sps(pkt->data, (size_t)pkt->size, &h) != 0)
        return;
    const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get(t->format);
    t->interlaced = h.interlaced_source || !h.progressive_source;
    if (h.width != t->width ||
        h.height != t->height || !pd || h.chroma < 1 || h.separate_planes ||
        (pd->flags & AV_PIX_FMT_FLAG_RGB) || pd->nb_components < 3 ||
        pd->log2_chroma_w != (h.chroma < 3) || pd->log2_chroma_h != (h.chroma == 1) ||
        pd->comp[0].depth != h.bit_depth || h.bit_depth_chroma != h.bit_depth ||
        (h.sar_idc == 255 && (h.sar_num <= 0 || h.sar_den <= 0)))
        return;
    t->profile = t->ctx->profile;
    t->level = t->ctx->level;
    if (h.sar_num > 0 && h.sar_den > 0)
        av_reduce(&t->sar.num, &t->sar.den, h.sar_num, h.sar_den, INT_MAX);
    else
        t->sar = (AVRational){ 0, 1 };
    t->range = h.signal_type && h.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    t->sps_progressive = true;
    if (h.colour) {
        t->primaries = h.primaries;
        t->transfer = h.transfer;
        t->matrix = h.matrix;
    }
    t->h264_ok = t->profile != FF_PROFILE_UNKNOWN;
}

/* One ADTS frame (libavformat's parser gives one a packet): its header's
 * profile, sampling index and channel configuration must be the first
 * frame's, and its bit rate (frame_length * 8 * rate / samples, as
 * adts_header.c) goes into the running average the AAC parser keeps
 * (aac_ac3_parser.c: avg += (rate - avg) / frames). -1 for a packet
 * that is no whole ADTS frame. */
static int ts_aac(ts_stream *t, const AVPacket *pkt)
{
    probe_adts_info a;
    if (!pkt->data || pkt->size <= 0 ||
        probe_adts_header(pkt->data, (size_t)pkt->size, &a) != 0 || a.frame_length != pkt->size)
        return -1;
    int key = (a.profile << 8) | (a.sampling_index << 3) | a.channel_config;
    if (t->aac_frames == 0)
        t->aac_key = key;
    else if (key != t->aac_key)
        return -1;
    t->aac_frames++;
    t->aac_avg += (a.bit_rate - t->aac_avg) / t->aac_frames;
    t->frame_samples = a.samples;
    t->aac_rate = a.sample_rate;
    return 0;
}

/* Interlaced H.264 and HEVC in TS: what ffprobe reports (size, aspect,
 * colour, frame rates; vbatch shows no field order) is what the
 * progressive path gives, as long as every packet find_stream_info reads
 * has a decode time one constant step after the last and, for H.264,
 * is a frame picture of two fields: its r_frame_rate is the time base
 * over the steps' greatest common divisor, so one field pair among
 * MBAFF frames (PAFF: a field a packet, half the step) would halve it;
 * its avg_frame_rate counts H.264's fields (the parser's repeat_pict + 1
 * a packet, with the decoder's two ticks a frame) and HEVC's packets
 * (one tick a picture, a field or not). The packets of find_stream_info's
 * window cannot be known short of running it, so a window that holds
 * it is read: 7.5 s past the first decode time (its limit for MPEG-TS
 * is 7 s) or 8 MB of the stream's packets (its probesize is 5 MB of all
 * streams'), or the whole file. Each packet is checked here. */
#define TS_IL_SECONDS 7.5

static void ts_interlaced(ts_stream *t, const AVCodecParameters *par, const AVStream *st,
                          const AVPacket *pkt)
{
    t->video_bytes += pkt->size;
    if (pkt->dts == AV_NOPTS_VALUE) {
        t->odd = true;
        return;
    }
    if (t->dts_count == 1)
        t->first_dts = pkt->dts;
    if (par->codec_id == AV_CODEC_ID_H264) {
        if (t->dts_count > 1)
            ts_parse(t, par, pkt);
        if (!t->pc || t->pc->picture_structure != AV_PICTURE_STRUCTURE_FRAME ||
            t->pc->repeat_pict != 1)
            t->odd = true;
    }
    if (t->video_bytes >= TS_MAX_BYTES ||
        (double)(pkt->dts - t->first_dts) * av_q2d(st->time_base) >= TS_IL_SECONDS)
        t->window_done = true;
}

static void ts_packet(ts_stream *t, const AVCodecParameters *par, const AVStream *st,
                      const AVPacket *pkt)
{
    bool first = !t->seen;
    t->seen = true;
    if (t->video) {
        t->last_pos = pkt->pos;
        if (first)
            t->dur = pkt->duration;
        else if (pkt->duration != t->dur)
            t->dur_varies = true;
        t->read_bytes += pkt->size;
        t->no_dts |= pkt->dts == AV_NOPTS_VALUE;
        if (pkt->dts != AV_NOPTS_VALUE) {
            if (t->dts_count > 0) {
                int64_t d = pkt->dts - t->last_dts;
                if (t->dts_count == 1)
                    t->step = d;
                else if (d != t->step)
                    t->step = -1;
            }
            t->last_dts = pkt->dts;
            t->dts_count++;
        }
        if (!first) {
            if (t->interlaced)
                ts_interlaced(t, par, st, pkt);
            return;
        }
        ts_parse(t, par, pkt);
        if (t->pc) {
            t->format = t->pc->format;
            t->width = t->pc->width;
            t->height = t->pc->height;
            t->field_order = t->pc->field_order;
            t->structure = t->pc->picture_structure;
        }
        if (par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC) {
            if (par->codec_id == AV_CODEC_ID_H264)
                ts_h264(t, pkt);
            else
                ts_hevc(t, pkt);
            if (t->interlaced)
                ts_interlaced(t, par, st, pkt);
            return;
        }
        probe_mpv_info m;
        /* The decoder's aspect: square, or the display ratio over the
         * frame's (its rule for a display size that differs from the
         * frame's is its own guess: left to it). */
        if (pkt->size > 0 && probe_mpv_sequence(pkt->data, (size_t)pkt->size, &m) == 0 &&
            m.aspect <= 4 && (!m.display_ext || m.aspect == 1 ||
                              (m.display_width == m.width && m.display_height == m.height))) {
            static const AVRational dar[5] = { {0, 1}, {1, 1}, {4, 3}, {16, 9}, {221, 100} };
            t->profile = m.profile;
            t->level = m.level;
            t->sar = m.aspect == 1 ? dar[1] : av_div_q(dar[m.aspect], (AVRational){ m.width, m.height });
            if (m.colour) {
                t->primaries = m.primaries;
                t->transfer = m.transfer;
                t->matrix = m.matrix;
            }
            t->mpv_ok = true;
        }
        return;
    }
    if (t->aac) {
        if (ts_aac(t, pkt) != 0)
            t->rate_varies = true;
        return;
    }
    /* The parser tries a header at every byte of its input (1,000
     * calls a frame): it runs on the first frames only, until it trusts
     * the stream; every frame's rate fields are compared to the first's. */
    if (t->parsed < TS_AUDIO_PARSED) {
        ts_parse(t, par, pkt);
        t->parsed++;
        if (t->pc && t->pc->duration > 0 && !t->frame_samples)
            t->frame_samples = t->pc->duration;
        if (t->ctx && t->ctx->bit_rate > 0)
            t->bit_rate = t->ctx->bit_rate;
    }
    int key = ts_rate_key(pkt);
    if (first)
        t->rate_key = key;
    else if (key != t->rate_key || key < 0)
        t->rate_varies = true;
}

/* The frame rate a constant decode-time step gives, when it is one of
 * the standard rates find_stream_info rounds to (else 0/0: unknown). */
static AVRational ts_frame_rate(const AVStream *st, int64_t step)
{
    AVRational none = { 0, 0 };
    if (step <= 0 || step > INT_MAX || st->time_base.num <= 0 || st->time_base.den <= 0)
        return none;
    double fps = (double)st->time_base.den / ((double)step * st->time_base.num);
    for (int j = 0; j < 399; j++) {
        int n = j < 360 ? (j + 1) * 1001
              : j < 390 ? (j - 360 + 31) * 1001 * 12
              : j < 393 ? (int[]){ 80, 120, 240 }[j - 390] * 1001 * 12
                        : (int[]){ 24, 30, 60, 12, 15, 48 }[j - 393] * 1000 * 12;
        double std = (double)n / (12 * 1001);
        if (fabs(fps / std - 1) < 1e-5) {
            AVRational r;
            av_reduce(&r.num, &r.den, n, 12 * 1001, INT_MAX);
            return r;
        }
    }
    return none;
}

/* Progressive video: find_stream_info's r_frame_rate is the time base
 * over the gcd of the decode-time steps of every packet in its window
 * (ff_rfps_calculate), its avg_frame_rate the window's frames over their
 * durations: the first TS_FPS_FRAMES give them only when the step stays
 * the same to the window's end (a rate that doubles after 2 s is its
 * double). That window is read here as ts_interlaced's is bounded: 7.5 s
 * past the first decode time, 8 MB of the stream's packets, or the whole
 * file; not through the demuxer and its parser but from the TS packets
 * themselves, the stream's PES headers only (a few dozen instructions a
 * packet), on from the PES of the last packet av_read_frame gave (the
 * steps before it were all the step; a packet without a decode time
 * there leaves the file to find_stream_info, which counts no step for
 * it). Every PES must carry a decode time one step after the last:
 * one of two frames shows as a doubled step, one without a time, a lost
 * sync or a PES header split over TS packets leave it to find_stream_info
 * (steps_vary). The 7.5 s hold the window when the demuxer's frame
 * duration, which find_stream_info adds up against its 5-7 s, is the
 * step: ts_probe sees it is for the first packets (the later ones are
 * not looked at: an SPS that shortens it later is taken on trust). */
#define TS_SCAN_PACKETS 512

static bool ts_scan_wanted(const ts_stream *t)
{
    return t->video && !t->interlaced && t->dts_count >= TS_FPS_FRAMES && t->step > 0 &&
           !t->no_dts && t->last_pos >= 0 && !t->steps_vary && !t->window_done;
}

/* A PES header's 33-bit time (ISO 13818-1 2.4.3.7). */
static int64_t ts_pes_time(const uint8_t *b)
{
    return ((int64_t)(b[0] >> 1 & 7) << 30) | ((int64_t)b[1] << 22) |
           ((int64_t)(b[2] >> 1) << 15) | ((int64_t)b[3] << 7) | (b[4] >> 1);
}

/* One TS packet (188 bytes from its sync byte, at byte at of the file)
 * of a stream scanned; true once the stream's window is read or has
 * failed. The scan of a stream starts at the PES of the last packet
 * av_read_frame gave (scan_from), whose time must be that packet's. */
static bool ts_scan_packet(ts_stream *t, const AVStream *st, const uint8_t *p, int64_t at,
                           int stride)
{
    if (at < t->scan_from)
        return false;
    int afc = p[3] >> 4 & 3;
    int h = 4 + ((afc & 2) ? 1 + p[4] : 0);
    if (!(afc & 1) || h >= 188)
        return false;                           /* no payload: the demuxer skips it too */
    t->video_bytes += 188 - h;
    if (p[1] & 0x40) {                          /* a PES starts */
        const uint8_t *q = p + h;
        int m = 188 - h, flags = m >= 9 ? q[7] >> 6 : 0;
        if (m < 19 || q[0] || q[1] || q[2] != 1 || (q[6] & 0xc0) != 0x80 || flags < 2) {
            t->steps_vary = true;
            return true;
        }
        int64_t dts = ts_pes_time(q + (flags == 3 ? 14 : 9));
        int64_t d = (dts - (t->scan_dts >= 0 ? t->scan_dts : t->last_dts)) & ((1LL << 33) - 1);
        /* mod 2^33: across a wrap; an M2TS packet's position is that of
         * the 4 bytes before its sync byte */
        if (t->scan_dts >= 0 ? d != t->step : at - t->scan_from > stride - 188 || d != 0) {
            t->steps_vary = true;
            return true;
        }
        if (t->scan_dts >= 0)
            t->scan_time += d;
        t->scan_dts = dts;
        if ((double)t->scan_time * av_q2d(st->time_base) >= TS_IL_SECONDS)
            t->window_done = true;
    } else if (t->scan_dts < 0) {
        t->steps_vary = true;                   /* scan_from was no PES start */
        return true;
    }
    if (t->video_bytes >= TS_MAX_BYTES)
        t->window_done = true;
    return t->window_done;
}

/* The stride of the file's TS packets (188; 192: M2TS; 204: with
 * Reed-Solomon bytes) and the first sync byte's offset, from three sync
 * bytes in a row; -1 when none. */
static int ts_scan_sync(const uint8_t *b, int len, int *stride)
{
    static const int strides[] = { 188, 192, 204 };
    for (int o = 0; o < 204 && o < len; o++)
        for (int k = 0; k < 3; k++)
            if (o + 2 * strides[k] < len && b[o] == 0x47 && b[o + strides[k]] == 0x47 &&
                b[o + 2 * strides[k]] == 0x47) {
                *stride = strides[k];
                return o;
            }
    return -1;
}

/* Reads the rest of the window of each progressive video stream
 * (ts_scan_wanted) on from its last packet read: window_done when all
 * of it was read with one step, steps_vary otherwise. The demuxer's
 * reads then start with a seek (ts_tail's), or the file is opened
 * again. */
static void ts_scan(AVFormatContext *fc, ts_stream *ts, unsigned n)
{
    /* the streams still read and their PIDs, apart: the loop below
     * runs once a TS packet */
    unsigned *idx = vb_xcalloc(n, sizeof *idx), left = 0;
    int *pids = vb_xcalloc(n, sizeof *pids);
    int64_t base = INT64_MAX;                   /* the file offset of buf[0] */
    for (unsigned i = 0; i < n; i++)
        if (ts_scan_wanted(&ts[i])) {
            ts[i].scan_dts = -1;                /* the steps so far were all t->step */
            ts[i].scan_time = ts[i].step * (ts[i].dts_count - 1);
            ts[i].scan_from = ts[i].last_pos;
            ts[i].video_bytes = ts[i].read_bytes;
            if (ts[i].last_pos < base)
                base = ts[i].last_pos;
            pids[left] = fc->streams[i]->id;
            idx[left++] = i;
        }
    int cap = 204 * TS_SCAN_PACKETS, have = 0, stride = 0, off = -1;
    uint8_t *buf = left ? vb_xmalloc((size_t)cap) : NULL;
    if (buf && fc->pb && avio_seek(fc->pb, base, SEEK_SET) == base) {
        have = avio_read(fc->pb, buf, cap);
        off = have > 0 ? ts_scan_sync(buf, have, &stride) : -1;
    }
    bool eof = false;
    while (off >= 0 && left > 0) {
        for (; left > 0 && have - off >= 188; off += stride) {
            const uint8_t *p = buf + off;
            if (p[0] != 0x47) {
                off = -1;                       /* lost sync: the demuxer's to find again */
                break;
            }
            int pid = (p[1] & 0x1f) << 8 | p[2];
            for (unsigned j = 0; j < left; j++)
                if (pids[j] == pid) {
                    unsigned i = idx[j];
                    if (ts_scan_packet(&ts[i], fc->streams[i], p, base + off, stride)) {
                        left--;
                        pids[j] = pids[left];
                        idx[j] = idx[left];
                    }
                    break;
                }
        }
        if (off < 0 || left == 0)
            break;
        int keep = have > off ? have - off : 0;
        memmove(buf, buf + have - keep, (size_t)keep);
        off -= have - keep;
        base += have - keep;
        have = keep;
        int r = avio_read(fc->pb, buf + have, cap - have);
        if (r <= 0) {
            eof = true;
            break;
        }
        have += r;
    }
    for (unsigned j = 0; j < left; j++) {
        if (eof)
            ts[idx[j]].window_done = true;      /* the whole file was read */
        else
            ts[idx[j]].steps_vary = true;
    }
    free(buf);
    free(pids);
    free(idx);
}

/* Each stream's end as estimate_timings_from_pts finds it: the largest
 * PES time in the file's last 250 kB (more when a stream has none
 * there) plus one frame, read without the parsers. */
static void ts_tail(AVFormatContext *fc, int64_t size, const int64_t *frame)
{
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return;
    int64_t *last = vb_xcalloc(fc->nb_streams + 1, sizeof(int64_t));
    int saved = fc->flags;
    fc->flags |= AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN;
    av_opt_set_int(fc, "skip_changes", 1, AV_OPT_SEARCH_CHILDREN);
    bool found = false;
    for (int retry = 0; retry <= TS_TAIL_RETRIES; retry++) {
        bool is_end = found;
        int64_t offset = size - (TS_TAIL_BYTES << retry);
        if (offset < 0)
            offset = 0;
        if (av_seek_frame(fc, -1, offset, AVSEEK_FLAG_BYTE) < 0)
            break;
        int64_t read = 0, limit = TS_TAIL_BYTES << (retry > 1 ? retry - 1 : 0);
        while (read < limit && av_read_frame(fc, pkt) >= 0) {
            read += pkt->size;
            unsigned si = (unsigned)pkt->stream_index;
            AVStream *st = si < fc->nb_streams ? fc->streams[si] : NULL;
            if (st && pkt->pts != AV_NOPTS_VALUE && st->start_time != AV_NOPTS_VALUE) {
                int64_t d = pkt->pts + (pkt->duration ? pkt->duration : frame[si]) - st->start_time;
                found = true;
                if (d > 0) {
                    int64_t big = 60LL * st->time_base.den / st->time_base.num;
                    if (st->duration == AV_NOPTS_VALUE || last[si] <= 0 ||
                        (st->duration < d && llabs(d - last[si]) < big))
                        st->duration = d;
                    last[si] = d;
                }
            }
            av_packet_unref(pkt);
        }
        if (!is_end) {
            is_end = true;
            for (unsigned i = 0; i < fc->nb_streams; i++) {
                enum AVMediaType ty = fc->streams[i]->codecpar->codec_type;
                if ((ty == AVMEDIA_TYPE_VIDEO || ty == AVMEDIA_TYPE_AUDIO) &&
                    fc->streams[i]->duration == AV_NOPTS_VALUE)
                    is_end = false;
            }
        }
        if (is_end || offset == 0)
            break;
    }
    av_opt_set_int(fc, "skip_changes", 0, AV_OPT_SEARCH_CHILDREN);
    fc->flags = saved;
    free(last);
    av_packet_free(&pkt);
}

/* One frame in the stream's time base, as libavformat's
 * ff_compute_frame_duration gives it once the stream is known (rounded
 * down); 0 when unknown. */
static int64_t ts_frame_duration(const AVStream *st, int frame_samples)
{
    const AVCodecParameters *p = st->codecpar;
    int64_t num = 0, den = 0;
    if (p->codec_type == AVMEDIA_TYPE_VIDEO && st->r_frame_rate.num > 0) {
        num = st->r_frame_rate.den;
        den = st->r_frame_rate.num;
    } else if (p->codec_type == AVMEDIA_TYPE_AUDIO && p->sample_rate > 0) {
        num = frame_samples;
        den = p->sample_rate;
    }
    if (num <= 0 || den <= 0 || st->time_base.num <= 0)
        return 0;
    return av_rescale_rnd(1, num * st->time_base.den, den * st->time_base.num, AV_ROUND_DOWN);
}

/* The TS fast path: TS_FAST when every fact was found (codecpar and
 * the timings are then filled); TS_SKIP when the streams' codecs rule it
 * out before anything is read; TS_REOPEN when what was read does not
 * give every fact: the packets read have changed the demuxer's state
 * (its parsers rename an MP3 stream MP2, start times are set), so
 * find_stream_info gets the file opened afresh. */
enum { TS_SKIP, TS_FAST, TS_REOPEN };

/* Why a stream's facts were not all found, for --verbose: the first
 * test of ts_probe's that it fails. */
static const char *ts_why(const ts_stream *t, const AVStream *st, int64_t size)
{
    if (t->video) {
        if (t->interlaced && (t->odd || !t->window_done))
            return "interlaced video with a field picture, a repeated field or a packet "
                   "without a decode time in find_stream_info's window (the decoder's rate)";
        if (!t->interlaced && (t->structure == AV_PICTURE_STRUCTURE_TOP_FIELD ||
                               t->structure == AV_PICTURE_STRUCTURE_BOTTOM_FIELD ||
                               t->field_order != AV_FIELD_PROGRESSIVE) && !t->sps_progressive)
            return "interlaced video (the decoder gives its field order and rate)";
        if (t->dts_count < TS_FPS_FRAMES || t->step <= 0 || ts_frame_rate(st, t->step).num <= 0)
            return t->interlaced ? "no constant standard frame rate in the decode times of "
                                   "find_stream_info's window"
                                 : "no constant standard frame rate in its first decode times";
        if (!t->interlaced && (t->dur_varies || (t->dur != 0 && t->dur != t->step)))
            return "a frame duration of the codec's other than its decode-time step "
                   "(find_stream_info's avg_frame_rate is the codec's)";
        if (!t->interlaced && (t->steps_vary || !t->window_done))
            return "a decode-time step in find_stream_info's window other than its first "
                   "frames' (its r_frame_rate comes from all of them), or a PES without a "
                   "time there";
        return "its sequence header or SPS was not read, or disagrees with the parser";
    }
    if (t->aac) {
        if (size >= TS_AAC_MAX_BYTES)
            return "AAC in a file of 5 MB or more (ffprobe's bit rate is an average over "
                   "what find_stream_info reads)";
        if (t->aac_frames > 0 && t->aac_rate <= 24000)
            return "AAC at 24 kHz or less (may carry SBR: HE-AAC doubles the rate)";
        if (t->rate_varies)
            return "AAC frames whose headers differ";
        return "AAC with a channel configuration the decoder decides";
    }
    if (t->audio) {
        if (t->rate_varies)
            return "audio frames of more than one bit rate (its average is find_stream_info's)";
        return "audio the parser could not read, or more than two channels";
    }
    return "unknown";
}

static int ts_probe(AVFormatContext *fc, int64_t size, char **why)
{
    unsigned n = fc->nb_streams;
    if (n == 0)
        return TS_SKIP;
    ts_stream *ts = vb_xcalloc(n, sizeof *ts);
    bool ok = true;
    for (unsigned i = 0; i < n; i++) {
        const AVCodecParameters *p = fc->streams[i]->codecpar;
        ts[i].video = p->codec_type == AVMEDIA_TYPE_VIDEO;
        ts[i].audio = p->codec_type == AVMEDIA_TYPE_AUDIO;
        ts[i].profile = FF_PROFILE_UNKNOWN;
        ts[i].format = -1;
        ts[i].opened_id = p->codec_id;
        ts[i].aac = p->codec_id == AV_CODEC_ID_AAC;
        if ((ts[i].video || ts[i].audio) && !ts_supported(p) && ok) {
            const AVCodecDescriptor *cd = avcodec_descriptor_get(p->codec_id);
            ok = false;
            *why = vb_xasprintf("stream %u: %s in MPEG-TS, not read without the decoders",
                                i, cd ? cd->name : "an unknown codec");
        }
    }
    if (!ok) {
        free(ts);
        return TS_SKIP;
    }
    AVPacket *pkt = av_packet_alloc();
    int64_t bytes = 0;
    for (int k = 0; pkt && k < TS_MAX_PACKETS && bytes < TS_MAX_BYTES; k++) {
        if (av_read_frame(fc, pkt) < 0)
            break;
        bytes += pkt->size;
        unsigned si = (unsigned)pkt->stream_index;
        if (si < n && (ts[si].video || ts[si].audio))
            ts_packet(&ts[si], fc->streams[si]->codecpar, fc->streams[si], pkt);
        av_packet_unref(pkt);
        bool done = true;
        for (unsigned i = 0; done && i < n; i++)
            if ((ts[i].video && ts[i].dts_count < TS_FPS_FRAMES) || (ts[i].audio && !ts[i].seen))
                done = false;
        if (done)
            break;
    }
    /* AAC: every other frame of a small file, the other streams
     * discarded (the demuxer drops their packets unassembled). */
    bool aac = false;
    for (unsigned i = 0; i < n; i++)
        aac |= ts[i].aac;
    if (aac && size >= TS_AAC_MAX_BYTES && ok) {
        ok = false;
        for (unsigned i = 0; !*why && i < n; i++)
            if (ts[i].aac)
                *why = vb_xasprintf("stream %u: %s", i, ts_why(&ts[i], fc->streams[i], size));
    }
    /* Interlaced H.264 and HEVC: on to the end of find_stream_info's
     * window (ts_interlaced), read with the AAC frames when there are.
     * Without AAC the window is read as whole PES packets, without the
     * demuxer's parser (three quarters of the cost): from the last
     * packet's PES on (the seek drops the parser; the packets seen are
     * skipped), with no time filled in. A PES of one access unit is the
     * parser's packet; one of two fields is seen as a field picture, one
     * of two frames as a doubled step, one without a time as such: each
     * is odd, so find_stream_info decides. */
    bool il = false;
    for (unsigned i = 0; i < n; i++)
        il |= ts[i].interlaced && !ts[i].odd && !ts[i].window_done;
    bool raw = il && !aac && ok;
    int saved_flags = fc->flags;
    if (raw) {
        int64_t pos = INT64_MAX;
        for (unsigned i = 0; i < n; i++)
            if (ts[i].interlaced && !ts[i].odd && !ts[i].window_done && ts[i].last_pos < pos)
                pos = ts[i].last_pos;
        fc->flags |= AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN;
        av_opt_set_int(fc, "skip_changes", 1, AV_OPT_SEARCH_CHILDREN);
        if (pos < 0 || pos == INT64_MAX || av_seek_frame(fc, -1, pos, AVSEEK_FLAG_BYTE) < 0) {
            ok = false;
            *why = vb_xstrdup("interlaced video whose window could not be read (a seek failed)");
        }
    }
    if ((aac || il) && ok) {
        enum AVDiscard *saved = vb_xcalloc(n, sizeof *saved);
        for (unsigned i = 0; i < n; i++) {
            saved[i] = fc->streams[i]->discard;
            if (!ts[i].aac && !ts[i].interlaced)
                fc->streams[i]->discard = AVDISCARD_ALL;
        }
        bool eof = true;
        while (pkt && av_read_frame(fc, pkt) >= 0) {
            unsigned si = (unsigned)pkt->stream_index;
            if (si < n && (ts[si].aac || ts[si].interlaced) &&
                !(raw && pkt->dts != AV_NOPTS_VALUE && ts[si].dts_count > 0 &&
                  pkt->dts <= ts[si].last_dts))
                ts_packet(&ts[si], fc->streams[si]->codecpar, fc->streams[si], pkt);
            av_packet_unref(pkt);
            bool more = aac;
            for (unsigned i = 0; !more && i < n; i++)
                more = ts[i].interlaced && !ts[i].odd && !ts[i].window_done;
            if (!more) {
                eof = false;
                break;
            }
        }
        for (unsigned i = 0; eof && i < n; i++)
            ts[i].window_done = true;           /* the whole file was read */
        for (unsigned i = 0; i < n; i++)
            fc->streams[i]->discard = saved[i];
        free(saved);
    } else if (il) {
        ok = false;
    }
    if (raw) {
        av_opt_set_int(fc, "skip_changes", 0, AV_OPT_SEARCH_CHILDREN);
        fc->flags = saved_flags;
    }
    av_packet_free(&pkt);
    if (ok)
        ts_scan(fc, ts, n);

    /* Every fact, or the slow path. */
    for (unsigned i = 0; ok && i < n; i++) {
        ts_stream *t = &ts[i];
        const AVStream *st = fc->streams[i];
        if (t->video)
            ok = t->dts_count >= TS_FPS_FRAMES && t->step > 0 && (t->mpv_ok || t->h264_ok) &&
                 t->width > 0 &&
                 t->height > 0 && t->format >= 0 &&
                 (t->interlaced ? t->window_done && !t->odd
                                : t->window_done && !t->steps_vary && !t->dur_varies &&
                                  (t->dur == 0 || t->dur == t->step) &&
                                  t->structure != AV_PICTURE_STRUCTURE_TOP_FIELD &&
                                  t->structure != AV_PICTURE_STRUCTURE_BOTTOM_FIELD &&
                                  (t->field_order == AV_FIELD_PROGRESSIVE || t->sps_progressive)) &&
                 ts_frame_rate(st, t->step).num > 0 && st->start_time != AV_NOPTS_VALUE;
        else if (t->aac)
            /* a core rate of 24 kHz or less may carry SBR (HE-AAC: the
             * decoder doubles it), a PCE or 7.1 its own layout: left to
             * the decoder */
            ok = t->seen && t->aac_frames > 0 && !t->rate_varies && t->aac_avg > 0 &&
                 t->aac_rate > 24000 &&
                 ((t->aac_key & 7) == 1 || (t->aac_key & 7) == 2 || (t->aac_key & 7) == 6) &&
                 st->start_time != AV_NOPTS_VALUE;
        else if (t->audio)
            ok = t->seen && t->ctx && t->ctx->sample_rate > 0 && t->bit_rate > 0 &&
                 t->frame_samples > 0 &&
                 !t->rate_varies &&
                 (t->ctx->ch_layout.nb_channels == 1 || t->ctx->ch_layout.nb_channels == 2) &&
                 st->start_time != AV_NOPTS_VALUE;
        if (!ok && !*why)
            *why = vb_xasprintf("stream %u: %s", i, ts_why(t, st, size));
    }
    /* A stream the PMT left without a codec (data, as ffmpeg's M2TS
     * muxer writes AAC) is named by the demuxer from its packets, and a
     * stream can appear with them: the packets read are gone, so only
     * find_stream_info from the start sees what ffprobe's does. */
    for (unsigned i = 0; ok && i < fc->nb_streams; i++) {
        enum AVMediaType type = fc->streams[i]->codecpar->codec_type;
        if ((i >= n || (!ts[i].video && !ts[i].audio)) &&
            (type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO)) {
            ok = false;
            *why = vb_xasprintf("stream %u: %s known only from its packets", i,
                                i >= n ? "a stream" : "a codec");
        }
    }
    if (ok) {
        for (unsigned i = 0; i < n; i++) {
            ts_stream *t = &ts[i];
            AVStream *st = fc->streams[i];
            AVCodecParameters *p = st->codecpar;
            if (t->video) {
                p->profile = t->profile;
                p->level = t->level;
                p->format = t->format;
                p->width = t->width;
                p->height = t->height;
                p->field_order = t->field_order;
                p->sample_aspect_ratio = t->sar;
                /* MPEG-2 pictures are limited range (the decoder's word);
                 * H.264's decoder gives the range only when the VUI does */
                if (t->mpv_ok)
                    p->color_range = AVCOL_RANGE_MPEG;
                else if (t->range > 0)
                    p->color_range = t->range;
                if (t->primaries > 0 && t->primaries < AVCOL_PRI_NB)
                    p->color_primaries = t->primaries;
                if (t->transfer > 0 && t->transfer < AVCOL_TRC_NB)
                    p->color_trc = t->transfer;
                if (t->matrix > 0 && t->matrix < AVCOL_SPC_NB)
                    p->color_space = t->matrix;
                st->avg_frame_rate = st->r_frame_rate = ts_frame_rate(st, t->step);
            } else if (t->aac) {
                const AVCodec *dec = avcodec_find_decoder(AV_CODEC_ID_AAC);
                if (dec && dec->sample_fmts)
                    p->format = dec->sample_fmts[0];
                p->profile = t->aac_key >> 8;       /* the object type - 1 */
                p->sample_rate = t->aac_rate;
                av_channel_layout_uninit(&p->ch_layout);
                av_channel_layout_default(&p->ch_layout, t->aac_key & 7);
                p->bit_rate = t->aac_avg;
            } else if (t->audio) {
                /* The demuxer says MP3 for any MPEG audio stream type; the
                 * parser finds the layer. find_stream_info decodes with
                 * the decoder of the demuxer's codec (mp3float for an MP2
                 * stream too): its sample format is the one reported. */
                const AVCodec *dec = avcodec_find_decoder(t->opened_id);
                if (dec && dec->sample_fmts)
                    p->format = dec->sample_fmts[0];
                if (t->ctx->codec_id != AV_CODEC_ID_NONE)
                    p->codec_id = t->ctx->codec_id;
                p->sample_rate = t->ctx->sample_rate;
                av_channel_layout_uninit(&p->ch_layout);
                av_channel_layout_default(&p->ch_layout, t->ctx->ch_layout.nb_channels);
                p->bit_rate = t->bit_rate;
            }
        }
        int64_t *frame = vb_xcalloc(n, sizeof(int64_t));
        for (unsigned i = 0; i < n; i++)
            frame[i] = ts_frame_duration(fc->streams[i], ts[i].frame_samples);
        ts_tail(fc, size, frame);
        free(frame);
        /* past find_stream_info's 5 s, its AAC average is not the file's */
        for (unsigned i = 0; aac && i < n; i++) {
            const AVStream *st = fc->streams[i];
            if ((ts[i].video || ts[i].audio) &&
                (st->duration == AV_NOPTS_VALUE ||
                 st->duration * av_q2d(st->time_base) >= TS_AAC_MAX_SECONDS) && ok) {
                ok = false;
                *why = vb_xasprintf("stream %u: AAC in a file of %d s or more (ffprobe's bit "
                                    "rate is an average over what find_stream_info reads)",
                                    i, TS_AAC_MAX_SECONDS);
            }
        }
    }
    for (unsigned i = 0; i < n; i++) {
        av_parser_close(ts[i].pc);
        avcodec_free_context(&ts[i].ctx);
    }
    free(ts);
    return ok ? TS_FAST : TS_REOPEN;
}

static const char *color_or_null(const char *s)
{
    return (s && strcmp(s, "unknown") != 0 && strcmp(s, "unspecified") != 0) ? s : NULL;
}

/* Header-only completions that need no packet: the AAC profile from the
 * AudioSpecificConfig, and the sample format the decoder will produce. */
static void complete_audio(AVCodecParameters *p)
{
    if (p->codec_id == AV_CODEC_ID_AAC && p->profile == FF_PROFILE_UNKNOWN &&
        p->extradata_size >= 2) {
        int ot = p->extradata[0] >> 3;
        if (ot == 31)
            ot = 32 + (((p->extradata[0] & 7) << 3) | (p->extradata[1] >> 5));
        if (ot > 0)
            p->profile = ot - 1;
    }
    if (p->format < 0) {
        const AVCodec *dec = avcodec_find_decoder(p->codec_id);
        if (dec && dec->sample_fmts && dec->sample_fmts[0] != AV_SAMPLE_FMT_NONE)
            p->format = dec->sample_fmts[0];
        /* FFmpeg's Opus decoder lists no formats but always gives planar
         * float, as its init sets. */
        else if (p->codec_id == AV_CODEC_ID_OPUS && dec && strcmp(dec->name, "opus") == 0)
            p->format = AV_SAMPLE_FMT_FLTP;
    }
}

/* MP4/MOV index every sample: the frames come at a constant rate when
 * every decode-time step is the same (a tick of rounding, or 1%, aside).
 * Other demuxers index key frames only: unknown. */
static int frame_rate_mode(AVFormatContext *fc, AVStream *st)
{
    int n = avformat_index_get_entries_count(st);
    if (strncmp(fc->iformat->name, "mov,", 4) != 0 || n < 3)
        return PROBE_FR_UNKNOWN;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    const AVIndexEntry *prev = avformat_index_get_entry(st, 0);
    for (int i = 1; i < n && prev; i++) {
        const AVIndexEntry *ie = avformat_index_get_entry(st, i);
        if (!ie)
            break;
        int64_t d = ie->timestamp - prev->timestamp;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        prev = ie;
    }
    if (lo <= 0 || hi < lo)
        return lo <= 0 && hi > 0 ? PROBE_FR_VARIABLE : PROBE_FR_UNKNOWN;
    return hi - lo <= 1 || (double)(hi - lo) <= 0.01 * (double)lo ? PROBE_FR_CONSTANT
                                                                   : PROBE_FR_VARIABLE;
}

static void fill_stream(AVFormatContext *fc, AVStream *st, probe_stream *ps)
{
    AVCodecParameters *p = st->codecpar;
    ps->index = st->index;
    switch (p->codec_type) {
    case AVMEDIA_TYPE_VIDEO:      ps->type = PROBE_VIDEO; break;
    case AVMEDIA_TYPE_AUDIO:      ps->type = PROBE_AUDIO; break;
    case AVMEDIA_TYPE_SUBTITLE:   ps->type = PROBE_SUBTITLE; break;
    case AVMEDIA_TYPE_DATA:       ps->type = PROBE_DATA; break;
    case AVMEDIA_TYPE_ATTACHMENT: ps->type = PROBE_ATTACHMENT; break;
    default:                      ps->type = PROBE_OTHER; break;
    }
    if (p->codec_type == AVMEDIA_TYPE_AUDIO)
        complete_audio(p);
    const AVCodecDescriptor *cd = avcodec_descriptor_get(p->codec_id);
    ps->codec = vb_xstrdup(cd ? cd->name : "unknown");
    ps->codec_long = dup_or_null(cd ? cd->long_name : NULL);
    ps->profile = dup_or_null(avcodec_profile_name(p->codec_id, p->profile));
    ps->bit_rate = p->bit_rate > 0 ? p->bit_rate : 0;
    ps->duration = (st->duration != AV_NOPTS_VALUE && st->duration > 0)
                       ? (double)st->duration * av_q2d(st->time_base) : NAN;
    ps->nb_frames = st->nb_frames > 0 ? st->nb_frames : 0;
    AVDictionaryEntry *lang = av_dict_get(st->metadata, "language", NULL, 0);
    ps->language = dup_or_null(lang ? lang->value : NULL);
    ps->attached_pic = (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;

    if (p->codec_type == AVMEDIA_TYPE_VIDEO) {
        ps->width = p->width;
        ps->height = p->height;
        ps->display_width = p->width;
        ps->display_height = p->height;
        const int32_t *m = (const int32_t *)av_stream_get_side_data(
            st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
        if (m) {
            double rot = av_display_rotation_get(m);
            if (isfinite(rot)) {
                ps->rotation = rot;
                long q = lround(fabs(rot)) % 180;
                if (q == 90) {
                    ps->display_width = p->height;
                    ps->display_height = p->width;
                }
            }
        }
        AVRational sar = av_guess_sample_aspect_ratio(fc, st, NULL);
        if (sar.num > 0 && sar.den > 0) {
            ps->sar = (probe_rational){ sar.num, sar.den };
            AVRational dar;
            av_reduce(&dar.num, &dar.den, (int64_t)p->width * sar.num,
                      (int64_t)p->height * sar.den, 1024 * 1024);
            ps->dar = (probe_rational){ dar.num, dar.den };
        } else {
            ps->sar = (probe_rational){ 0, 1 };
            ps->dar = (probe_rational){ 0, 1 };
        }
        ps->avg_frame_rate = (probe_rational){ st->avg_frame_rate.num, st->avg_frame_rate.den };
        ps->r_frame_rate = (probe_rational){ st->r_frame_rate.num, st->r_frame_rate.den };
        const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get(p->format);
        if (pd) {
            ps->pix_fmt = vb_xstrdup(pd->name);
            ps->bit_depth = pd->comp[0].depth;
        }
        ps->color_range = dup_or_null(color_or_null(av_color_range_name(p->color_range)));
        ps->color_space = dup_or_null(color_or_null(av_color_space_name(p->color_space)));
        ps->color_transfer = dup_or_null(color_or_null(av_color_transfer_name(p->color_trc)));
        ps->color_primaries = dup_or_null(color_or_null(av_color_primaries_name(p->color_primaries)));
        ps->hdr = p->color_trc == AVCOL_TRC_SMPTE2084 || p->color_trc == AVCOL_TRC_ARIB_STD_B67;
        ps->frame_rate_mode = frame_rate_mode(fc, st);
    } else if (p->codec_type == AVMEDIA_TYPE_AUDIO) {
        ps->sample_rate = p->sample_rate;
        ps->channels = p->ch_layout.nb_channels;
        char buf[128];
        /* A header that gives only a channel count: the decoder will use
         * the default layout for it, and so does ffprobe. */
        AVChannelLayout cl = {0};
        if (p->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
            av_channel_layout_default(&cl, p->ch_layout.nb_channels);
        else
            av_channel_layout_copy(&cl, &p->ch_layout);
        if (cl.nb_channels > 0 && av_channel_layout_describe(&cl, buf, sizeof buf) >= 0)
            ps->channel_layout = vb_xstrdup(buf);
        av_channel_layout_uninit(&cl);
        ps->sample_fmt = dup_or_null(av_get_sample_fmt_name(p->format));
        if (p->bits_per_raw_sample > 0)
            ps->bit_depth = p->bits_per_raw_sample;
        else if (p->bits_per_coded_sample > 0 && av_get_exact_bits_per_sample(p->codec_id) > 0)
            ps->bit_depth = p->bits_per_coded_sample;
    }
}

/* Keep the size the header declared when the bitstream's differs. Not
 * a difference: a header that gives the coded size (1920x1088 for
 * 1920x1080: the cropping left out) or no size at all. */
static void header_size(probe_stream *ps, int w, int h)
{
    if (w <= 0 || h <= 0 || (w == ps->width && h == ps->height))
        return;
    if (FFALIGN(w, 16) == FFALIGN(ps->width, 16) && FFALIGN(h, 16) == FFALIGN(ps->height, 16))
        return;
    ps->header_width = w;
    ps->header_height = h;
}

static void quiet_logs(void)
{
    /* Broken files make libav log warnings; they are reported as item
     * errors instead, so keep the terminal for vbatch's own output. */
    av_log_set_level(vb_verbosity > 2 ? AV_LOG_WARNING : AV_LOG_QUIET);
}

/* What probe_file does once the file is open: the result, or NULL with
 * e set. A failure that the reader saw first (an I/O error, a stall, the
 * deadline) is reported as such, not as a property of the file. */
static probe_result *probe_read(const char *path, mediaio *io, bool ts_fast, bool *reopen,
                                char **why, vb_error *e)
{
    int64_t size = mediaio_size(io);
    if (size == 0) {
        vb_fail(e, VB_ERR_MEDIA, "%s: empty file (0 bytes)", path);
        return NULL;
    }
    if (mediaio_demux(io, e) != 0)
        return NULL;
    AVFormatContext *fc = mediaio_format(io);
    int rc = 0;

    /* Random bytes can faintly resemble a raw stream (h263, lrc ...):
     * real containers score 50 (MPEG-TS) to 100, such guesses 25 or less. */
    if (fc->probe_score <= AVPROBE_SCORE_EXTENSION / 2) {
        vb_fail(e, VB_ERR_MEDIA,
                "%s: not a recognised media file (the data only faintly resembles %s, "
                "probe score %d of 100)", path, fc->iformat->name, fc->probe_score);
        mediaio_error(io, e);
        return NULL;
    }
    if (strncmp(fc->iformat->name, "mov,", 4) == 0) {
        int64_t end = index_end(fc);
        if (end > size) {
            vb_fail(e, VB_ERR_MEDIA,
                    "%s: truncated: the file has %lld bytes but its index refers to "
                    "data up to byte %lld (%.0f%% missing)",
                    path, (long long)size, (long long)end,
                    100.0 * (double)(end - size) / (double)end);
            return NULL;
        }
    }

    bool *want = vb_xcalloc(fc->nb_streams + 1, sizeof(bool));
    /* The frame sizes the header declares, before the bitstream is
     * looked at. */
    unsigned nheader = fc->nb_streams;
    int *declared = vb_xcalloc(2 * (size_t)nheader + 2, sizeof(int));
    for (unsigned i = 0; i < nheader; i++) {
        declared[2 * i] = fc->streams[i]->codecpar->width;
        declared[2 * i + 1] = fc->streams[i]->codecpar->height;
    }
    bool complete = fc->nb_streams > 0;
    /* MPEG-TS: the first and last packets, or find_stream_info. */
    int ts = ts_fast && strcmp(fc->iformat->name, "mpegts") == 0 ? ts_probe(fc, size, why) : TS_SKIP;
    if (ts == TS_REOPEN) {
        free(want);
        free(declared);
        *reopen = true;
        return NULL;
    }
    bool ts_done = ts == TS_FAST;
    for (unsigned i = 0; !ts_done && i < fc->nb_streams; i++) {
        AVStream *st = fc->streams[i];
        if (!stream_incomplete(st))
            continue;
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            has_parser(st->codecpar->codec_id) && st->codecpar->width > 0 &&
            st->avg_frame_rate.num > 0 && st->r_frame_rate.num > 0)
            /* AV1's av1C record mostly carries the sequence header: no
             * packet to read then */
            want[i] = st->codecpar->codec_id != AV_CODEC_ID_AV1 ||
                      !parse_av1(st->codecpar, st->codecpar->extradata,
                                 st->codecpar->extradata_size);
        else
            complete = false;
    }
    parse_first_packets(fc, want);
    free(want);
    if (fc->nb_streams == 0 && !*why)
        *why = vb_xstrdup("the header lists no streams");
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        const AVStream *st = fc->streams[i];
        if (stream_incomplete(st)) {
            complete = false;
            if (!*why) {
                const AVCodecDescriptor *cd = avcodec_descriptor_get(st->codecpar->codec_id);
                *why = vb_xasprintf("stream %u (%s): %s after the %s header%s", i,
                                    cd ? cd->name : "unknown", stream_missing(st),
                                    fc->iformat->name,
                                    has_parser(st->codecpar->codec_id) ? " and first packet" : "");
            }
        }
    }

    bool used_info = false;
    if (!complete) {
        used_info = true;
        rc = mediaio_stream_info(io);
        if (rc < 0 && mediaio_error(io, e) == 0) {
            char m[AV_ERROR_MAX_STRING_SIZE];
            vb_fail(e, VB_ERR_MEDIA, "%s: cannot read stream information: %s", path,
                    mediaio_averr(rc, m));
        }
    } else {
        header_timings(fc, size);
    }
    if (rc >= 0 && mediaio_error(io, e) == 0 && fc->nb_streams == 0)
        rc = vb_fail(e, VB_ERR_MEDIA, "%s: no audio or video streams", path);
    if (rc < 0 || mediaio_error(io, e) != 0) {
        free(declared);
        return NULL;
    }

    probe_result *r = vb_xcalloc(1, sizeof *r);
    r->path = vb_xstrdup(path);
    r->format = vb_xstrdup(fc->iformat->name);
    r->format_long = dup_or_null(fc->iformat->long_name);
    r->container = container_name(fc);
    r->duration = fc->duration > 0 ? (double)fc->duration / AV_TIME_BASE : NAN;
    r->start_time = fc->start_time != AV_NOPTS_VALUE ? (double)fc->start_time / AV_TIME_BASE : NAN;
    r->bit_rate = fc->bit_rate > 0 ? fc->bit_rate : 0;
    r->size = size;
    r->used_stream_info = used_info;
    if (used_info) {
        r->slow_reason = *why ? *why : vb_xstrdup("unknown");
        *why = NULL;
    }
    r->faststart = -1;
    if (strncmp(fc->iformat->name, "mov,", 4) == 0 && fc->pb)
        r->faststart = mov_faststart(fc->pb);
    r->nb_streams = (int)fc->nb_streams;
    r->streams = vb_xcalloc(fc->nb_streams, sizeof(probe_stream));
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        probe_stream *ps = &r->streams[i];
        fill_stream(fc, fc->streams[i], ps);
        if (ps->type == PROBE_VIDEO && i < nheader)
            header_size(ps, declared[2 * i], declared[2 * i + 1]);
        if (ps->type == PROBE_VIDEO && !ps->attached_pic && !r->video)
            r->video = ps;
        if (ps->type == PROBE_AUDIO && !r->audio)
            r->audio = ps;
    }
    r->bytes_read = fc->pb ? fc->pb->bytes_read : 0;
    free(declared);
    return r;
}

int probe_file(const char *path, mediaio_clock *clk, probe_result **out, vb_error *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, quiet_logs);
    *out = NULL;
    mediaio *io = NULL;
    if (mediaio_open(&io, path, clk, 0, e) != 0)
        return -1;
    bool reopen = false;
    /* Why find_stream_info was needed: the first pass's word wins (the
     * TS fast path knows what it missed; the second pass only sees a
     * stream with no header). */
    char *why = NULL;
    *out = probe_read(path, io, true, &reopen, &why, e);
    mediaio_close(&io);
    if (reopen) {
        if (mediaio_open(&io, path, clk, 0, e) != 0) {
            free(why);
            return -1;
        }
        *out = probe_read(path, io, false, &reopen, &why, e);
        mediaio_close(&io);
    }
    free(why);
    return *out ? 0 : -1;
}

void probe_result_free(probe_result **pr)
{
    if (!pr || !*pr)
        return;
    probe_result *r = *pr;
    for (int i = 0; i < r->nb_streams; i++) {
        probe_stream *s = &r->streams[i];
        free(s->codec); free(s->codec_long); free(s->profile); free(s->language);
        free(s->pix_fmt); free(s->color_range); free(s->color_space);
        free(s->color_transfer); free(s->color_primaries);
        free(s->channel_layout); free(s->sample_fmt);
    }
    free(r->streams);
    free(r->path); free(r->format); free(r->format_long); free(r->container);
    free(r->slow_reason);
    free(r);
    *pr = NULL;
}

const char *probe_stream_type_name(int type)
{
    static const char *const n[] = { "video", "audio", "subtitle", "data",
                                     "attachment", "other" };
    return (type >= 0 && type <= PROBE_OTHER) ? n[type] : "other";
}

/* "16:9" for ratios, "30000/1001" for rates, as ffprobe writes them. */
static void write_fraction(writer *w, const char *key, probe_rational r, char sep)
{
    if (r.num <= 0 || r.den <= 0) {
        writer_null(w, key);
        return;
    }
    char buf[48];
    snprintf(buf, sizeof buf, "%d%c%d", r.num, sep, r.den);
    writer_string(w, key, buf);
}


void probe_write(const probe_result *r, writer *w)
{
    writer_string(w, "file", r->path);
    writer_string(w, "format", r->format);
    writer_string(w, "format_long", r->format_long);
    writer_string(w, "container", r->container);
    writer_double(w, "duration", r->duration);
    writer_double(w, "start_time", r->start_time);
    writer_opt_int(w, "bit_rate", r->bit_rate);
    writer_int(w, "size", r->size);
    if (r->faststart < 0)
        writer_null(w, "faststart");
    else
        writer_bool(w, "faststart", r->faststart == 1);
    writer_begin_array(w, "streams");
    for (int i = 0; i < r->nb_streams; i++) {
        const probe_stream *s = &r->streams[i];
        writer_begin_object(w, NULL);
        writer_int(w, "index", s->index);
        writer_string(w, "type", probe_stream_type_name(s->type));
        writer_string(w, "codec", s->codec);
        writer_string(w, "codec_long", s->codec_long);
        writer_string(w, "profile", s->profile);
        writer_opt_int(w, "bit_rate", s->bit_rate);
        writer_double(w, "duration", s->duration);
        writer_opt_int(w, "nb_frames", s->nb_frames);
        writer_string(w, "language", s->language);
        if (s->type == PROBE_VIDEO) {
            writer_bool(w, "attached_pic", s->attached_pic);
            writer_int(w, "width", s->width);
            writer_int(w, "height", s->height);
            /* null unless the container declared another size */
            writer_opt_int(w, "header_width", s->header_width);
            writer_opt_int(w, "header_height", s->header_height);
            writer_int(w, "display_width", s->display_width);
            writer_int(w, "display_height", s->display_height);
            writer_double(w, "rotation", s->rotation);
            write_fraction(w, "sample_aspect_ratio", s->sar, ':');
            write_fraction(w, "display_aspect_ratio", s->dar, ':');
            write_fraction(w, "avg_frame_rate", s->avg_frame_rate, '/');
            write_fraction(w, "r_frame_rate", s->r_frame_rate, '/');
            writer_string(w, "pix_fmt", s->pix_fmt);
            writer_opt_int(w, "bit_depth", s->bit_depth);
            writer_string(w, "color_range", s->color_range);
            writer_string(w, "color_space", s->color_space);
            writer_string(w, "color_transfer", s->color_transfer);
            writer_string(w, "color_primaries", s->color_primaries);
            writer_bool(w, "hdr", s->hdr);
            if (s->frame_rate_mode == PROBE_FR_UNKNOWN)
                writer_null(w, "frame_rate_mode");
            else
                writer_string(w, "frame_rate_mode",
                              s->frame_rate_mode == PROBE_FR_CONSTANT ? "constant" : "variable");
        } else if (s->type == PROBE_AUDIO) {
            writer_int(w, "sample_rate", s->sample_rate);
            writer_int(w, "channels", s->channels);
            writer_string(w, "channel_layout", s->channel_layout);
            writer_string(w, "sample_fmt", s->sample_fmt);
            writer_opt_int(w, "bit_depth", s->bit_depth);
        }
        writer_end_object(w);
    }
    writer_end_array(w);
}

void probe_versions(char *buf, size_t len)
{
    unsigned f = avformat_version(), c = avcodec_version(), u = avutil_version();
    snprintf(buf, len, "libavformat %u.%u.%u, libavcodec %u.%u.%u, libavutil %u.%u.%u (FFmpeg %s)",
             f >> 16, (f >> 8) & 255, f & 255, c >> 16, (c >> 8) & 255, c & 255,
             u >> 16, (u >> 8) & 255, u & 255, av_version_info());
}

const char *probe_ffmpeg_license(void)
{
    return avcodec_license();
}

/* ---- the probe stage ---- */

static bool probe_wanted(const item *it, const vb_config *cfg)
{
    (void)cfg;
    return !it->is_image;
}

/* The headers (no decoding), the record's key figures, probe.json. */
static int probe_run(item *it, const vb_config *cfg, vb_error *e)
{
    (void)cfg;
    if (probe_file(it->media, &it->clock, &it->probe, e) != 0)
        return -1;
    item_record_probe(&it->rec, it->probe);
    writer *w = item_meta_writer();
    probe_write(it->probe, w);
    writer_end_object(w);
    return item_meta_save(it, "probe.json", w, e);
}

const stage stage_probe = { STAGE_PROBE, "probe", probe_wanted, probe_run };
