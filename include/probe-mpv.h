/* probe-mpv.h - the facts of an MPEG-2 video sequence header and its
 * extensions (profile, level, aspect ratio, colour), read without
 * libavcodec. */
#ifndef VB_PROBE_MPV_H
#define VB_PROBE_MPV_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe_mpv_info {
    int width, height;          /* the sequence header's 12-bit sizes */
    int aspect;                 /* aspect_ratio_information, 1..15 */
    int profile, level;         /* the sequence extension's 3 and 4 bits */
    int progressive;            /* progressive_sequence */
    int chroma;                 /* chroma_format: 1 4:2:0, 2 4:2:2, 3 4:4:4 */
    int display_ext;            /* a sequence display extension follows, */
    int display_width, display_height;  /* with its display size */
    int colour;                 /* and a colour description (ISO/IEC */
    int primaries, transfer, matrix;    /* 23091-2 codes, as FFmpeg's) */
} probe_mpv_info;

/* Find the sequence header in DATA[0..SIZE) and read it with the
 * extensions that follow it before the next picture or GOP. Returns 0
 * and fills *out, or -1 when there is no sequence header with a sequence
 * extension (MPEG-1, a packet that does not start a sequence, data cut
 * short). Reads never go past SIZE. */
int probe_mpv_sequence(const uint8_t *data, size_t size, probe_mpv_info *out);

#endif
