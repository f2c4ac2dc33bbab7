/* probe-hevc.c - read an HEVC sequence parameter set up to its VUI's
 * colour description (ITU-T H.265, 7.3.2.2 and E.2.1), so that probe.c
 * learns an MPEG-TS stream's sample aspect ratio, range and colour from
 * its first packet: libavcodec's parser gives the profile, level, size
 * and pixel format; the rest comes from the decoder that
 * avformat_find_stream_info would run. Pure: the data is hostile, every
 * byte read is bounded. */
#include "config.h"
#include "probe-hevc.h"

#include "probe-bits.h"

#include <stdbool.h>
#include <string.h>

/* An SPS with scaling lists and reference picture sets stays well under
 * this; longer ones are read as far as this and refused. */
#define SPS_MAX 2048

static void read_ptl(probe_bits *b, probe_hevc_info *o, int max_sub)
{
    probe_bits_u(b, 3);                                   /* profile_space, tier */
    o->profile_idc = (int)probe_bits_u(b, 5);
    probe_bits_skip(b, 32);                               /* compatibility flags */
    o->progressive_source = (int)probe_bits_u(b, 1);
    o->interlaced_source = (int)probe_bits_u(b, 1);
    probe_bits_skip(b, 2 + 43 + 1);
    o->level_idc = (int)probe_bits_u(b, 8);
    int prof[8] = {0}, lev[8] = {0};
    for (int i = 0; i < max_sub; i++) {
        prof[i] = (int)probe_bits_u(b, 1);
        lev[i] = (int)probe_bits_u(b, 1);
    }
    if (max_sub > 0)
        probe_bits_skip(b, 2 * (size_t)(8 - max_sub));
    for (int i = 0; i < max_sub; i++) {
        if (prof[i])
            probe_bits_skip(b, 88);
        if (lev[i])
            probe_bits_skip(b, 8);
    }
}

static int skip_scaling_lists(probe_bits *b)
{
    for (int size_id = 0; size_id < 4; size_id++) {
        for (int m = 0; m < 6; m += size_id == 3 ? 3 : 1) {
            if (!probe_bits_u(b, 1)) {
                if (probe_bits_ue(b) > (unsigned)m)       /* pred_matrix_id_delta */
                    return -1;
            } else {
                int coefs = size_id == 0 ? 16 : 64;
                if (size_id > 1 && (probe_bits_se(b) < -7 || b->over))
                    return -1;
                for (int i = 0; i < coefs && !b->over; i++) {
                    int d = probe_bits_se(b);
                    if (d < -128 || d > 127)
                        return -1;
                }
            }
            if (b->over)
                return -1;
        }
    }
    return 0;
}

/* The SPS's short-term reference picture sets (7.3.7): only their
 * length matters here; each one's picture count is kept for the sets
 * predicted from it. */
static int skip_st_rps(probe_bits *b, unsigned count)
{
    int num[64];
    for (unsigned idx = 0; idx < count; idx++) {
        bool inter = idx != 0 && probe_bits_u(b, 1);
        if (inter) {
            probe_bits_u(b, 1);                           /* delta_rps_sign */
            if (probe_bits_ue(b) > 32767)                 /* abs_delta_rps_minus1 */
                return -1;
            int ref = num[idx - 1], n = 0;          /* delta_idx is 1 in an SPS */
            for (int j = 0; j <= ref && !b->over; j++) {
                bool used = probe_bits_u(b, 1);
                if (used || probe_bits_u(b, 1))
                    n++;
            }
            num[idx] = n;
        } else {
            unsigned neg = probe_bits_ue(b), pos = probe_bits_ue(b);
            if (neg > 16 || pos > 16 || neg + pos > 16)
                return -1;
            for (unsigned i = 0; i < neg + pos && !b->over; i++) {
                if (probe_bits_ue(b) > 32767)
                    return -1;
                probe_bits_u(b, 1);
            }
            num[idx] = (int)(neg + pos);
        }
        if (b->over)
            return -1;
    }
    return 0;
}

static int read_sps(probe_bits *b, probe_hevc_info *o)
{
    static const int sar[17][2] = {
        { 0, 1 }, { 1, 1 }, { 12, 11 }, { 10, 11 }, { 16, 11 }, { 40, 33 }, { 24, 11 },
        { 20, 11 }, { 32, 11 }, { 80, 33 }, { 18, 11 }, { 15, 11 }, { 64, 33 },
        { 160, 99 }, { 4, 3 }, { 3, 2 }, { 2, 1 },
    };
    probe_bits_u(b, 4);                                   /* sps_video_parameter_set_id */
    int max_sub = (int)probe_bits_u(b, 3);
    if (max_sub > 6)
        return -1;
    probe_bits_u(b, 1);                                   /* temporal_id_nesting */
    read_ptl(b, o, max_sub);
    if (probe_bits_ue(b) > 15)                            /* sps_seq_parameter_set_id */
        return -1;
    o->chroma = (int)probe_bits_ue(b);
    if (o->chroma > 3)
        return -1;
    if (o->chroma == 3)
        o->separate_planes = (int)probe_bits_u(b, 1);
    unsigned w = probe_bits_ue(b), h = probe_bits_ue(b);
    if (b->over || w == 0 || h == 0 || w > 16888 || h > 16888)
        return -1;
    o->coded_width = (int)w;
    o->coded_height = (int)h;
    int left = 0, right = 0, top = 0, bottom = 0;
    if (probe_bits_u(b, 1)) {                             /* conformance_window */
        int type = o->separate_planes ? 0 : o->chroma;
        int ux = type == 1 || type == 2 ? 2 : 1, uy = type == 1 ? 2 : 1;
        unsigned c[4];
        for (int i = 0; i < 4; i++) {
            c[i] = probe_bits_ue(b);
            if (c[i] > 16888)
                return -1;
        }
        left = (int)c[0] * ux;
        right = (int)c[1] * ux;
        top = (int)c[2] * uy;
        bottom = (int)c[3] * uy;
    }
    o->width = o->coded_width - left - right;
    o->height = o->coded_height - top - bottom;
    if (o->width <= 0 || o->height <= 0)
        return -1;
    o->bit_depth = (int)probe_bits_ue(b) + 8;
    o->bit_depth_chroma = (int)probe_bits_ue(b) + 8;
    if (o->bit_depth > 16 || o->bit_depth_chroma > 16)
        return -1;
    unsigned poc_bits = probe_bits_ue(b) + 4;
    if (poc_bits > 16)
        return -1;
    bool all = probe_bits_u(b, 1);                        /* sub_layer_ordering_info_present */
    for (int i = all ? 0 : max_sub; i <= max_sub; i++) {
        probe_bits_ue(b);
        probe_bits_ue(b);
        probe_bits_ue(b);
    }
    for (int i = 0; i < 6; i++)                     /* coding and transform block sizes */
        if (probe_bits_ue(b) > 32)
            return -1;
    if (probe_bits_u(b, 1) && probe_bits_u(b, 1) && skip_scaling_lists(b) != 0)
        return -1;                                  /* scaling_list_enabled, data present */
    probe_bits_u(b, 2);                                   /* amp, sao */
    if (probe_bits_u(b, 1)) {                             /* pcm_enabled */
        probe_bits_u(b, 8);
        if (probe_bits_ue(b) > 32 || probe_bits_ue(b) > 32)
            return -1;
        probe_bits_u(b, 1);
    }
    unsigned rps = probe_bits_ue(b);
    if (rps > 64 || skip_st_rps(b, rps) != 0)
        return -1;
    if (probe_bits_u(b, 1)) {                             /* long_term_ref_pics_present */
        unsigned n = probe_bits_ue(b);
        if (n > 32)
            return -1;
        for (unsigned i = 0; i < n && !b->over; i++)
            probe_bits_skip(b, poc_bits + 1);
    }
    probe_bits_u(b, 2);                                   /* temporal_mvp, strong_intra_smoothing */
    o->sar_num = 0;
    o->sar_den = 1;
    o->sar_idc = -1;
    o->vui = (int)probe_bits_u(b, 1);
    if (o->vui) {
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
            probe_bits_u(b, 3);
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

int probe_hevc_sps(const uint8_t *d, size_t size, probe_hevc_info *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!d)
        return -1;
    for (size_t i = 0; i + 5 <= size; i++) {
        /* 00 00 01, forbidden_zero_bit 0, nal_unit_type 33, layer 0 */
        if (d[i] != 0 || d[i + 1] != 0 || d[i + 2] != 1 || (d[i + 3] & 0xfe) != 33 << 1 ||
            (d[i + 3] & 1) || (d[i + 4] >> 3))
            continue;
        uint8_t buf[SPS_MAX];
        size_t n = probe_bits_unescape(d + i + 5, size - i - 5, buf, sizeof buf);
        probe_bits b = { buf, n, 0, false };
        return read_sps(&b, out);
    }
    return -1;
}
