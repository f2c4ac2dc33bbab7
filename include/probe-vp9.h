/* probe-vp9.h - the facts of a VP9 frame's uncompressed header (profile,
 * bit depth, colour, subsampling, size), read without libavcodec. */
#ifndef VB_PROBE_VP9_H
#define VB_PROBE_VP9_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe_vp9_info {
    int profile;            /* 0..3 */
    int bit_depth;          /* 8, 10 or 12 */
    int color_space;        /* the header's 3-bit code: 0 unknown ... 7 RGB */
    int full_range;         /* 1: full (JPEG) range */
    int ss_x, ss_y;         /* chroma subsampling, 1 = halved */
    int width, height;
} probe_vp9_info;

/* Parse the uncompressed header of a key frame in DATA[0..SIZE).
 * Returns 0 and fills *out, or -1 when the data is not a VP9 key frame
 * (a shown-existing or inter frame, a bad marker or sync code, too short,
 * a reserved bit set). Reads never go past SIZE. */
int probe_vp9_keyframe(const uint8_t *data, size_t size, probe_vp9_info *out);

#endif
