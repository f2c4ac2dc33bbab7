/* probe-av1.c - read an AV1 sequence header OBU (AV1 spec, 5.5), so that
 * probe.c learns the profile, bit depth, chroma layout and colour of a
 * Matroska/WebM or MP4 stream from its av1C record or first packet
 * instead of decoding frames in avformat_find_stream_info (libavcodec's
 * AV1 parser needs the whole CBS machinery and a packet). Pure: the data
 * is hostile, every bit read is bounded. */
#include "config.h"
#include "probe-av1.h"
#include "probe-bits.h"

#include <string.h>

#define AV1_OBU_SEQUENCE_HEADER 1

/* uvlc(): values past 32 leading zeros are refused (as over) */
static uint32_t av1_uvlc(probe_bits *b)
{
    int zeros = 0;
    while (probe_bits_u(b, 1) == 0) {
        if (b->over || ++zeros >= 32) {
            b->over = true;
            return 0;
        }
    }
    return probe_bits_u(b, zeros) + ((1u << zeros) - 1);
}

static uint32_t av1_u32(probe_bits *b)
{
    uint32_t hi = probe_bits_u(b, 16);
    return (hi << 16) | probe_bits_u(b, 16);
}

/* color_config() (5.5.2) */
static void av1_color(probe_bits *b, probe_av1_info *v)
{
    int high = (int)probe_bits_u(b, 1);
    if (v->profile == 2 && high)
        v->bit_depth = probe_bits_u(b, 1) ? 12 : 10;
    else
        v->bit_depth = high ? 10 : 8;
    v->mono = v->profile == 1 ? 0 : (int)probe_bits_u(b, 1);
    v->colour = (int)probe_bits_u(b, 1);
    v->primaries = v->transfer = v->matrix = 2;     /* unspecified */
    if (v->colour) {
        v->primaries = (int)probe_bits_u(b, 8);
        v->transfer = (int)probe_bits_u(b, 8);
        v->matrix = (int)probe_bits_u(b, 8);
    }
    if (v->mono) {
        v->full_range = (int)probe_bits_u(b, 1);
        v->ss_x = v->ss_y = 1;
        return;
    }
    if (v->primaries == 1 && v->transfer == 13 && v->matrix == 0) {
        v->full_range = 1;                          /* sRGB: 4:4:4, full range */
        v->ss_x = v->ss_y = 0;
    } else {
        v->full_range = (int)probe_bits_u(b, 1);
        if (v->profile == 0) {
            v->ss_x = v->ss_y = 1;
        } else if (v->profile == 1) {
            v->ss_x = v->ss_y = 0;
        } else if (v->bit_depth == 12) {
            v->ss_x = (int)probe_bits_u(b, 1);
            v->ss_y = v->ss_x ? (int)probe_bits_u(b, 1) : 0;
        } else {
            v->ss_x = 1;
            v->ss_y = 0;
        }
        if (v->ss_x && v->ss_y)
            probe_bits_skip(b, 2);                  /* chroma_sample_position */
    }
    probe_bits_skip(b, 1);                          /* separate_uv_delta_q */
}

/* sequence_header_obu() (5.5.1), its payload at D[0..SIZE) */
static int av1_sequence(const uint8_t *d, size_t size, probe_av1_info *out)
{
    probe_bits b = { d, size, 0, false };
    probe_av1_info v;
    memset(&v, 0, sizeof v);
    v.profile = (int)probe_bits_u(&b, 3);
    if (v.profile > 2)
        return -1;
    probe_bits_skip(&b, 1);                         /* still_picture */
    int reduced = (int)probe_bits_u(&b, 1);
    if (reduced) {
        v.level = (int)probe_bits_u(&b, 5);
    } else {
        int decoder_model = 0, delay_length = 0;
        v.timing = (int)probe_bits_u(&b, 1);
        if (v.timing) {
            v.num_units_in_tick = av1_u32(&b);
            v.time_scale = av1_u32(&b);
            if (probe_bits_u(&b, 1))                /* equal_picture_interval */
                av1_uvlc(&b);                       /* num_ticks_per_picture_minus_1 */
            decoder_model = (int)probe_bits_u(&b, 1);
            if (decoder_model) {
                delay_length = (int)probe_bits_u(&b, 5) + 1;
                probe_bits_skip(&b, 32 + 5 + 5);    /* decoding tick, two lengths */
            }
        }
        int display_delay = (int)probe_bits_u(&b, 1);
        int points = (int)probe_bits_u(&b, 5) + 1;
        for (int i = 0; i < points && !b.over; i++) {
            probe_bits_skip(&b, 12);                /* operating_point_idc */
            int level = (int)probe_bits_u(&b, 5);
            if (i == 0)
                v.level = level;
            if (level > 7)
                probe_bits_skip(&b, 1);             /* seq_tier */
            if (decoder_model && probe_bits_u(&b, 1))
                probe_bits_skip(&b, 2 * (size_t)delay_length + 1);
            if (display_delay && probe_bits_u(&b, 1))
                probe_bits_skip(&b, 4);
        }
    }
    int wbits = (int)probe_bits_u(&b, 4) + 1, hbits = (int)probe_bits_u(&b, 4) + 1;
    v.width = (int)probe_bits_u(&b, wbits) + 1;
    v.height = (int)probe_bits_u(&b, hbits) + 1;
    if (!reduced && probe_bits_u(&b, 1))            /* frame_id_numbers_present_flag */
        probe_bits_skip(&b, 4 + 3);
    probe_bits_skip(&b, 3);                         /* 128x128, filter intra, edge filter */
    if (!reduced) {
        probe_bits_skip(&b, 4);                     /* interintra, masked, warped, dual */
        int order_hint = (int)probe_bits_u(&b, 1);
        if (order_hint)
            probe_bits_skip(&b, 2);                 /* jnt_comp, ref_frame_mvs */
        int force_sct = probe_bits_u(&b, 1) ? 2 : (int)probe_bits_u(&b, 1);
        if (force_sct > 0 && !probe_bits_u(&b, 1))  /* seq_choose_integer_mv */
            probe_bits_skip(&b, 1);                 /* seq_force_integer_mv */
        if (order_hint)
            probe_bits_skip(&b, 3);
    }
    probe_bits_skip(&b, 3);                         /* superres, cdef, restoration */
    av1_color(&b, &v);
    probe_bits_skip(&b, 1);                         /* film_grain_params_present */
    if (b.over)
        return -1;
    *out = v;
    return 0;
}

/* leb128(): at most 8 bytes; -1 past the end or above SIZE_MAX's range */
static int av1_leb128(const uint8_t *d, size_t size, size_t *pos, uint64_t *value)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        if (*pos >= size)
            return -1;
        uint8_t byte = d[(*pos)++];
        v |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            *value = v;
            return 0;
        }
    }
    return -1;
}

int probe_av1_sequence(const uint8_t *data, size_t size, probe_av1_info *out)
{
    if (!data || !out)
        return -1;
    size_t pos = 0;
    /* av1C: marker 1, version 1 (0x81); an OBU's first bit is 0 */
    if (size > 0 && data[0] == 0x81)
        pos = 4;
    else if (size > 0 && (data[0] & 0x80))
        return -1;
    while (pos < size) {
        uint8_t h = data[pos++];
        if (h & 0x80)                               /* obu_forbidden_bit */
            return -1;
        int type = (h >> 3) & 15;
        if (h & 4) {                                /* obu_extension_flag */
            if (pos >= size)
                return -1;
            pos++;
        }
        uint64_t len = size - pos;
        if ((h & 2) && av1_leb128(data, size, &pos, &len) != 0)
            return -1;
        if (len > size - pos)
            return -1;
        if (type == AV1_OBU_SEQUENCE_HEADER)
            return av1_sequence(data + pos, (size_t)len, out);
        pos += (size_t)len;
    }
    return -1;
}
