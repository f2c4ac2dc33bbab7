/* probe-h264.c - read an H.264 sequence parameter set and the start of
 * its VUI (ITU-T H.264, 7.3.2.1.1 and E.1.1), so that probe.c learns an
 * MPEG-TS stream's sample aspect ratio, colour, range and interlace from
 * its first packet: libavcodec's parser gives the profile, level, size
 * and a pixel format that ignores the range; the rest comes from the
 * decoder that avformat_find_stream_info would run. Pure: the data is
 * hostile, every byte read is bounded. */
#include "config.h"
#include "probe-h264.h"

#include <stdbool.h>
#include <string.h>

/* An SPS with scaling lists is a few hundred bytes; longer ones are
 * read as far as this and refused when they go on. */
#define SPS_MAX 1024

typedef struct bits {
    const uint8_t *d;
    size_t size, pos;           /* pos in bits */
    bool over;                  /* a read went past the end */
} bits;

static unsigned bits_u(bits *b, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (b->pos >= 8 * b->size) {
            b->over = true;
            return 0;
        }
        v = (v << 1) | ((b->d[b->pos >> 3] >> (7 - (b->pos & 7))) & 1);
        b->pos++;
    }
    return v;
}

/* ue(v); values above 2^31 - 2 are refused (as over) */
static unsigned bits_ue(bits *b)
{
    int zeros = 0;
    while (bits_u(b, 1) == 0) {
        if (b->over || ++zeros > 31) {
            b->over = true;
            return 0;
        }
    }
    if (zeros == 31) {
        b->over = true;
        return 0;
    }
    return ((1u << zeros) - 1) + bits_u(b, zeros);
}

static int bits_se(bits *b)
{
    unsigned k = bits_ue(b);
    return (k & 1) ? (int)((k + 1) / 2) : -(int)(k / 2);
}

/* The payload of the NAL unit at D[0..SIZE) into OUT without its
 * emulation prevention bytes, up to the next start code; its length. */
static size_t unescape(const uint8_t *d, size_t size, uint8_t *out, size_t cap)
{
    size_t n = 0, zeros = 0;
    for (size_t i = 0; i < size && n < cap; i++) {
        if (zeros >= 2 && d[i] == 3) {
            zeros = 0;
            continue;
        }
        if (zeros >= 2 && d[i] <= 1)
            break;              /* 00 00 00 / 00 00 01: the unit's end */
        zeros = d[i] == 0 ? zeros + 1 : 0;
        out[n++] = d[i];
    }
    return n;
}

static void skip_scaling_list(bits *b, int count)
{
    int last = 8, next = 8;
    for (int j = 0; j < count && !b->over; j++) {
        if (next != 0) {
            int delta = bits_se(b);
            if (delta < -128 || delta > 127) {
                b->over = true;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

static int read_sps(bits *b, probe_h264_info *o)
{
    static const int sar[17][2] = {
        { 0, 1 }, { 1, 1 }, { 12, 11 }, { 10, 11 }, { 16, 11 }, { 40, 33 }, { 24, 11 },
        { 20, 11 }, { 32, 11 }, { 80, 33 }, { 18, 11 }, { 15, 11 }, { 64, 33 },
        { 160, 99 }, { 4, 3 }, { 3, 2 }, { 2, 1 },
    };
    o->profile_idc = (int)bits_u(b, 8);
    o->constraint_flags = (int)bits_u(b, 8);
    o->level_idc = (int)bits_u(b, 8);
    if (bits_ue(b) > 31)                            /* seq_parameter_set_id */
        return -1;
    o->chroma = 1;
    o->bit_depth = o->bit_depth_chroma = 8;
    switch (o->profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
        o->chroma = (int)bits_ue(b);
        if (o->chroma > 3)
            return -1;
        if (o->chroma == 3)
            o->separate_planes = (int)bits_u(b, 1);
        o->bit_depth = (int)bits_ue(b) + 8;
        o->bit_depth_chroma = (int)bits_ue(b) + 8;
        if (o->bit_depth > 14 || o->bit_depth_chroma > 14)
            return -1;
        bits_u(b, 1);                               /* qpprime_y_zero_transform_bypass */
        if (bits_u(b, 1)) {                         /* seq_scaling_matrix_present */
            for (int i = 0; i < (o->chroma != 3 ? 8 : 12) && !b->over; i++)
                if (bits_u(b, 1))
                    skip_scaling_list(b, i < 6 ? 16 : 64);
        }
        break;
    default:
        break;
    }
    if (bits_ue(b) > 12)                            /* log2_max_frame_num - 4 */
        return -1;
    unsigned poc = bits_ue(b);
    if (poc == 0) {
        if (bits_ue(b) > 12)
            return -1;
    } else if (poc == 1) {
        bits_u(b, 1);
        bits_se(b);
        bits_se(b);
        unsigned n = bits_ue(b);
        if (n > 255)
            return -1;
        for (unsigned i = 0; i < n && !b->over; i++)
            bits_se(b);
    } else if (poc != 2) {
        return -1;
    }
    bits_ue(b);                                     /* max_num_ref_frames */
    bits_u(b, 1);                                   /* gaps_in_frame_num_allowed */
    unsigned mbw = bits_ue(b) + 1, mbh = bits_ue(b) + 1;
    o->frame_mbs_only = (int)bits_u(b, 1);
    if (!o->frame_mbs_only)
        bits_u(b, 1);                               /* mb_adaptive_frame_field */
    bits_u(b, 1);                                   /* direct_8x8_inference */
    if (b->over || mbw > 1024 || mbh > 1024)
        return -1;
    o->coded_width = (int)mbw * 16;
    o->coded_height = (int)mbh * 16 * (2 - o->frame_mbs_only);
    if (bits_u(b, 1)) {                             /* frame_cropping */
        int type = o->separate_planes ? 0 : o->chroma;
        int ux = type == 1 || type == 2 ? 2 : 1;
        int uy = (type == 1 ? 2 : 1) * (2 - o->frame_mbs_only);
        unsigned c[4];
        for (int i = 0; i < 4; i++) {
            c[i] = bits_ue(b);
            if (c[i] > 8192)
                return -1;
        }
        o->crop_left = (int)c[0] * ux;
        o->crop_right = (int)c[1] * ux;
        o->crop_top = (int)c[2] * uy;
        o->crop_bottom = (int)c[3] * uy;
    }
    o->width = o->coded_width - o->crop_left - o->crop_right;
    o->height = o->coded_height - o->crop_top - o->crop_bottom;
    if (o->width <= 0 || o->height <= 0)
        return -1;
    o->sar_num = 0;
    o->sar_den = 1;
    o->sar_idc = -1;
    if (bits_u(b, 1)) {                             /* vui_parameters_present */
        if (bits_u(b, 1)) {                         /* aspect_ratio_info_present */
            o->sar_idc = (int)bits_u(b, 8);
            if (o->sar_idc == 255) {
                o->sar_num = (int)bits_u(b, 16);
                o->sar_den = (int)bits_u(b, 16);
            } else if (o->sar_idc < 17) {
                o->sar_num = sar[o->sar_idc][0];
                o->sar_den = sar[o->sar_idc][1];
            } else {
                return -1;
            }
        }
        if (bits_u(b, 1))                           /* overscan_info_present */
            bits_u(b, 1);
        o->signal_type = (int)bits_u(b, 1);
        if (o->signal_type) {
            bits_u(b, 3);                           /* video_format */
            o->full_range = (int)bits_u(b, 1);
            o->colour = (int)bits_u(b, 1);
            if (o->colour) {
                o->primaries = (int)bits_u(b, 8);
                o->transfer = (int)bits_u(b, 8);
                o->matrix = (int)bits_u(b, 8);
            }
        }
    }
    return b->over ? -1 : 0;
}

int probe_h264_sps(const uint8_t *d, size_t size, probe_h264_info *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!d)
        return -1;
    for (size_t i = 0; i + 4 <= size; i++) {
        if (d[i] != 0 || d[i + 1] != 0 || d[i + 2] != 1 || (d[i + 3] & 0x9f) != 7)
            continue;
        /* nal_unit_type 7 with forbidden_zero_bit 0 (any nal_ref_idc) */
        uint8_t buf[SPS_MAX];
        size_t n = unescape(d + i + 4, size - i - 4, buf, sizeof buf);
        bits b = { buf, n, 0, false };
        return read_sps(&b, out);
    }
    return -1;
}
