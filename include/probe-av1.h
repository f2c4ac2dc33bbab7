/* probe-av1.h - the facts of an AV1 sequence header (profile, level,
 * bit depth, chroma layout, colour), read without libavcodec. */
#ifndef VB_PROBE_AV1_H
#define VB_PROBE_AV1_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe_av1_info {
    int profile;                /* seq_profile: 0 Main, 1 High, 2 Professional */
    int level;                  /* seq_level_idx[0] */
    int bit_depth;              /* 8, 10 or 12 */
    int mono;                   /* mono_chrome */
    int ss_x, ss_y;             /* chroma subsampling, 1 = halved */
    int colour;                 /* color_description_present_flag */
    int primaries, transfer, matrix;  /* the codes (2: unspecified when absent) */
    int full_range;             /* color_range */
    int width, height;          /* max_frame_width/height */
    int timing;                 /* timing_info_present_flag */
    uint32_t num_units_in_tick, time_scale;
} probe_av1_info;

/* Find the sequence header OBU in DATA[0..SIZE) and read it: DATA is
 * either an AV1CodecConfigurationRecord (av1C: Matroska's CodecPrivate,
 * MP4's extradata; its config OBUs follow its 4 bytes) or a temporal
 * unit's OBUs in the low overhead bitstream format (a packet). Returns
 * 0 and fills *out, or -1 when there is no whole, valid sequence header
 * (a reserved profile, a reserved bit set, too short). Reads never go
 * past SIZE. */
int probe_av1_sequence(const uint8_t *data, size_t size, probe_av1_info *out);

#endif
