/* probe-h264.c - read an H.264 sequence parameter set and the start of
 * its VUI (ITU-T H.264, 7.3.2.1.1 and E.1.1), so that probe.c learns an
 * MPEG-TS stream's sample aspect ratio, colour, range and interlace from
 * its first packet: libavcodec's parser gives the profile, level, size
 * and a pixel format that ignores the range; the rest comes from the
 * decoder that avformat_find_stream_info would run. Pure: the data is
 * hostile, every byte read is bounded. */
#include "config.h"
#include "probe-h264.h"

#include "probe-bits.h"

#include <stdbool.h>
#include <string.h>

/* An SPS with scaling lists is a few hundred bytes; longer ones are
 * read as far as this and refused when they go on. */
#define SPS_MAX 1024

static void skip_scaling_list(probe_bits *b, int count)
{
    int last = 8, next = 8;
    for (int j = 0; j < count && !b->over; j++) {
        if (next != 0) {
            int delta = probe_bits_se(b);
            if (delta < -128 || delta > 127) {
                b->over = true;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

static int read_sps(probe_bits *b, probe_h264_info *o)
{
    static const int sar[17][2] = {
        { 0, 1 }, { 1, 1 }, { 12, 11 }, { 10, 11 }, { 16, 11 }, { 40, 33 }, { 24, 11 },
        { 20, 11 }, { 32, 11 }, { 80, 33 }, { 18, 11 }, { 15, 11 }, { 64, 33 },
        { 160, 99 }, { 4, 3 }, { 3, 2 }, { 2, 1 },
    };
    o->profile_idc = (int)probe_bits_u(b, 8);
    o->constraint_flags = (int)probe_bits_u(b, 8);
    o->level_idc = (int)probe_bits_u(b, 8);
    if (probe_bits_ue(b) > 31)                            /* seq_parameter_set_id */
        return -1;
    o->chroma = 1;
    o->bit_depth = o->bit_depth_chroma = 8;
    switch (o->profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
        o->chroma = (int)probe_bits_ue(b);
        if (o->chroma > 3)
            return -1;
        if (o->chroma == 3)
            o->separate_planes = (int)probe_bits_u(b, 1);
        o->bit_depth = (int)probe_bits_ue(b) + 8;
        o->bit_depth_chroma = (int)probe_bits_ue(b) + 8;
        if (o->bit_depth > 14 || o->bit_depth_chroma > 14)
            return -1;
        probe_bits_u(b, 1);                               /* qpprime_y_zero_transform_bypass */
        if (probe_bits_u(b, 1)) {                         /* seq_scaling_matrix_present */
            for (int i = 0; i < (o->chroma != 3 ? 8 : 12) && !b->over; i++)
                if (probe_bits_u(b, 1))
                    skip_scaling_list(b, i < 6 ? 16 : 64);
        }
        break;
    default:
        break;
    }
    if (probe_bits_ue(b) > 12)                            /* log2_max_frame_num - 4 */
        return -1;
    unsigned poc = probe_bits_ue(b);
    if (poc == 0) {
        if (probe_bits_ue(b) > 12)
            return -1;
    } else if (poc == 1) {
        probe_bits_u(b, 1);
        probe_bits_se(b);
        probe_bits_se(b);
        unsigned n = probe_bits_ue(b);
        if (n > 255)
            return -1;
        for (unsigned i = 0; i < n && !b->over; i++)
            probe_bits_se(b);
    } else if (poc != 2) {
        return -1;
    }
    probe_bits_ue(b);                                     /* max_num_ref_frames */
    probe_bits_u(b, 1);                                   /* gaps_in_frame_num_allowed */
    unsigned mbw = probe_bits_ue(b) + 1, mbh = probe_bits_ue(b) + 1;
    o->frame_mbs_only = (int)probe_bits_u(b, 1);
    if (!o->frame_mbs_only)
        probe_bits_u(b, 1);                               /* mb_adaptive_frame_field */
    probe_bits_u(b, 1);                                   /* direct_8x8_inference */
    if (b->over || mbw > 1024 || mbh > 1024)
        return -1;
    o->coded_width = (int)mbw * 16;
    o->coded_height = (int)mbh * 16 * (2 - o->frame_mbs_only);
    if (probe_bits_u(b, 1)) {                             /* frame_cropping */
        int type = o->separate_planes ? 0 : o->chroma;
        int ux = type == 1 || type == 2 ? 2 : 1;
        int uy = (type == 1 ? 2 : 1) * (2 - o->frame_mbs_only);
        unsigned c[4];
        for (int i = 0; i < 4; i++) {
            c[i] = probe_bits_ue(b);
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
    if (probe_bits_u(b, 1)) {                             /* vui_parameters_present */
        if (probe_bits_u(b, 1)) {                         /* aspect_ratio_info_present */
            o->sar_idc = (int)probe_bits_u(b, 8);
            if (o->sar_idc == 255) {
                o->sar_num = (int)probe_bits_u(b, 16);
                o->sar_den = (int)probe_bits_u(b, 16);
            } else if (o->sar_idc < 17) {
                o->sar_num = sar[o->sar_idc][0];
                o->sar_den = sar[o->sar_idc][1];
            } else {
                return -1;
            }
        }
        if (probe_bits_u(b, 1))                           /* overscan_info_present */
            probe_bits_u(b, 1);
        o->signal_type = (int)probe_bits_u(b, 1);
        if (o->signal_type) {
            probe_bits_u(b, 3);                           /* video_format */
            o->full_range = (int)probe_bits_u(b, 1);
            o->colour = (int)probe_bits_u(b, 1);
            if (o->colour) {
                o->primaries = (int)probe_bits_u(b, 8);
                o->transfer = (int)probe_bits_u(b, 8);
                o->matrix = (int)probe_bits_u(b, 8);
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
        size_t n = probe_bits_unescape(d + i + 4, size - i - 4, buf, sizeof buf);
        probe_bits b = { buf, n, 0, false };
        return read_sps(&b, out);
    }
    return -1;
}
