/* probe-h264.h - the facts of an H.264 sequence parameter set and its
 * VUI (chroma format, bit depth, cropping, interlace, aspect ratio,
 * colour) that libavcodec's parser does not export, read without
 * libavcodec. */
#ifndef VB_PROBE_H264_H
#define VB_PROBE_H264_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe_h264_info {
    int profile_idc, constraint_flags, level_idc;
    int chroma;                 /* chroma_format_idc: 0 mono, 1 4:2:0, 2 4:2:2, 3 4:4:4 */
    int separate_planes;        /* separate_colour_plane_flag */
    int bit_depth, bit_depth_chroma;
    int frame_mbs_only;         /* 0: fields or MBAFF (interlaced) */
    int coded_width, coded_height;      /* in luma samples, before cropping */
    int crop_left, crop_right, crop_top, crop_bottom;  /* in luma samples */
    int width, height;          /* after cropping */
    int sar_num, sar_den;       /* 0/1: none given */
    int sar_idc;                /* aspect_ratio_idc, -1: no aspect info */
    int signal_type;            /* video_signal_type_present_flag */
    int full_range;
    int colour;                 /* colour_description_present_flag */
    int primaries, transfer, matrix;    /* ISO/IEC 23091-2 codes */
} probe_h264_info;

/* Find the first SPS NAL unit (Annex B start codes) in DATA[0..SIZE) and
 * read it up to its colour description. Returns 0 and fills *out, or -1
 * when there is none, it is cut short or a value is out of its range.
 * Reads never go past SIZE. */
int probe_h264_sps(const uint8_t *data, size_t size, probe_h264_info *out);

#endif
