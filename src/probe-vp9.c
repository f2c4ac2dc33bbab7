/* probe-vp9.c - read a VP9 key frame's uncompressed header (VP9 spec,
 * 6.2), so that probe.c learns the profile, bit depth and pixel layout
 * from a WebM/Matroska stream's first packet instead of decoding frames
 * in avformat_find_stream_info (the VP9 parser in libavcodec 5.1 fills
 * none of them). Pure: the data is hostile, every bit read is bounded. */
#include "config.h"
#include "probe-vp9.h"

#include <string.h>

typedef struct bits {
    const uint8_t *p;
    size_t size;    /* bytes */
    size_t pos;     /* bits read */
    int over;       /* a read went past the end */
} bits;

static unsigned bits_get(bits *b, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (b->pos >= b->size * 8) {
            b->over = 1;
            return 0;
        }
        v = (v << 1) | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
        b->pos++;
    }
    return v;
}

int probe_vp9_keyframe(const uint8_t *data, size_t size, probe_vp9_info *out)
{
    if (!data || !out)
        return -1;
    bits b = { data, size, 0, 0 };
    probe_vp9_info v;
    memset(&v, 0, sizeof v);
    if (bits_get(&b, 2) != 2)                       /* frame_marker */
        return -1;
    unsigned lo = bits_get(&b, 1), hi = bits_get(&b, 1);
    v.profile = (int)((hi << 1) | lo);
    if (v.profile == 3 && bits_get(&b, 1))          /* reserved_zero */
        return -1;
    if (bits_get(&b, 1))                            /* show_existing_frame */
        return -1;
    if (bits_get(&b, 1) != 0)                       /* frame_type: not a key frame */
        return -1;
    bits_get(&b, 2);                                /* show_frame, error_resilient_mode */
    if (bits_get(&b, 24) != 0x498342)               /* frame_sync_code */
        return -1;
    v.bit_depth = 8;
    if (v.profile >= 2)
        v.bit_depth = bits_get(&b, 1) ? 12 : 10;
    v.color_space = (int)bits_get(&b, 3);
    if (v.color_space != 7) {                       /* not CS_RGB */
        v.full_range = (int)bits_get(&b, 1);
        if (v.profile == 1 || v.profile == 3) {
            v.ss_x = (int)bits_get(&b, 1);
            v.ss_y = (int)bits_get(&b, 1);
            if (bits_get(&b, 1))
                return -1;
        } else {
            v.ss_x = v.ss_y = 1;
        }
    } else {
        v.full_range = 1;
        if (v.profile == 0 || v.profile == 2)       /* RGB needs 4:4:4 profiles */
            return -1;
        if (bits_get(&b, 1))
            return -1;
    }
    v.width = (int)bits_get(&b, 16) + 1;
    v.height = (int)bits_get(&b, 16) + 1;
    if (b.over)
        return -1;
    *out = v;
    return 0;
}
