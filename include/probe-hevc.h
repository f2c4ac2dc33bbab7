/* probe-hevc.h - the facts of an HEVC sequence parameter set and its
 * VUI (chroma format, bit depth, conformance window, source scan type,
 * aspect ratio, range, colour) that libavcodec's parser does not export,
 * read without libavcodec. */
#ifndef VB_PROBE_HEVC_H
#define VB_PROBE_HEVC_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe_hevc_info {
    int profile_idc, level_idc;
    int progressive_source, interlaced_source;  /* the general PTL flags */
    int chroma;                 /* chroma_format_idc: 0 mono, 1 4:2:0, 2 4:2:2, 3 4:4:4 */
    int separate_planes;
    int bit_depth, bit_depth_chroma;
    int coded_width, coded_height;              /* pic_width/height_in_luma_samples */
    int width, height;          /* after the conformance window */
    int vui;                    /* vui_parameters_present_flag */
    int sar_num, sar_den;       /* 0/1: none given */
    int sar_idc;                /* aspect_ratio_idc, -1: no aspect info */
    int signal_type, full_range;
    int colour;                 /* colour_description_present_flag */
    int primaries, transfer, matrix;            /* ISO/IEC 23091-2 codes */
} probe_hevc_info;

/* Find the first SPS NAL unit (Annex B start codes) in DATA[0..SIZE) and
 * read it up to its VUI's colour description. Returns 0 and fills *out,
 * or -1 when there is none, it is cut short or a value is out of its
 * range. Reads never go past SIZE. */
int probe_hevc_sps(const uint8_t *data, size_t size, probe_hevc_info *out);

#endif
