/* fuzz-readers.c - the pure bitstream readers probe.c trusts before any
 * decoder: VP9's key frame header (probe-vp9.c), AV1's sequence header
 * (probe-av1.c: an av1C record or a packet's OBUs), the MPEG-2 sequence
 * header (probe-mpv.c), H.264's and HEVC's SPS (probe-h264.c,
 * probe-hevc.c) and AAC's ADTS header
 * (probe-aac.c). Each gets the whole input, in a buffer of exactly its
 * size (ASan sees a read past it). Checked beyond the sanitizers: what a
 * reader accepts is within the ranges its header promises. */
#include "config.h"
#include "fuzz.h"
#include "probe-aac.h"
#include "probe-av1.h"
#include "probe-h264.h"
#include "probe-hevc.h"
#include "probe-mpv.h"
#include "probe-vp9.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly SIZE bytes: libFuzzer's buffer may be larger */
    uint8_t *d = malloc(size ? size : 1);
    if (!d)
        return 0;
    memcpy(d, data, size);

    probe_vp9_info v;
    if (probe_vp9_keyframe(d, size, &v) == 0 &&
        (v.profile < 0 || v.profile > 3 || (v.bit_depth != 8 && v.bit_depth != 10 &&
         v.bit_depth != 12) || v.color_space < 0 || v.color_space > 7 || v.width <= 0 ||
         v.height <= 0))
        fuzz_fail("vp9: profile %d depth %d space %d %dx%d", v.profile, v.bit_depth,
                  v.color_space, v.width, v.height);

    probe_av1_info o;
    if (probe_av1_sequence(d, size, &o) == 0 &&
        (o.profile < 0 || o.profile > 2 || (o.bit_depth != 8 && o.bit_depth != 10 &&
         o.bit_depth != 12) || o.level < 0 || o.level > 31 || o.width <= 0 || o.height <= 0 ||
         o.width > 65536 || o.height > 65536 || (o.ss_x | o.ss_y) < 0 || o.ss_x > 1 ||
         o.ss_y > 1 || (o.ss_y && !o.ss_x) || (o.mono && !(o.ss_x && o.ss_y)) ||
         (o.bit_depth == 12 && o.profile != 2) || o.primaries < 0 || o.primaries > 255 ||
         o.transfer < 0 || o.transfer > 255 || o.matrix < 0 || o.matrix > 255))
        fuzz_fail("av1: profile %d depth %d level %d %dx%d ss %d,%d", o.profile, o.bit_depth,
                  o.level, o.width, o.height, o.ss_x, o.ss_y);

    probe_mpv_info m;
    if (probe_mpv_sequence(d, size, &m) == 0 &&
        (m.width <= 0 || m.width > 4095 || m.height <= 0 || m.height > 4095 || m.aspect < 1 ||
         m.aspect > 15 || m.profile < 0 || m.profile > 7 || m.chroma < 0 || m.chroma > 3))
        fuzz_fail("mpv: %dx%d aspect %d profile %d chroma %d", m.width, m.height, m.aspect,
                  m.profile, m.chroma);

    probe_h264_info h;
    if (probe_h264_sps(d, size, &h) == 0 &&
        (h.width <= 0 || h.height <= 0 || h.width > h.coded_width || h.height > h.coded_height ||
         h.coded_width > 16384 || h.coded_height > 32768 || h.chroma < 0 || h.chroma > 3 ||
         h.bit_depth < 8 || h.bit_depth > 14 || h.sar_num < 0 || h.sar_den < 0 ||
         (h.frame_mbs_only != 0 && h.frame_mbs_only != 1)))
        fuzz_fail("h264: %dx%d of %dx%d chroma %d depth %d sar %d:%d", h.width, h.height,
                  h.coded_width, h.coded_height, h.chroma, h.bit_depth, h.sar_num, h.sar_den);

    probe_hevc_info e;
    if (probe_hevc_sps(d, size, &e) == 0 &&
        (e.width <= 0 || e.height <= 0 || e.width > e.coded_width || e.height > e.coded_height ||
         e.chroma < 0 || e.chroma > 3 || e.bit_depth < 8 || e.bit_depth > 16 ||
         e.sar_num < 0 || e.sar_den < 0))
        fuzz_fail("hevc: %dx%d of %dx%d chroma %d depth %d sar %d:%d", e.width, e.height,
                  e.coded_width, e.coded_height, e.chroma, e.bit_depth, e.sar_num, e.sar_den);

    probe_adts_info a;
    if (probe_adts_header(d, size, &a) == 0 &&
        (a.frame_length < 7 || a.sample_rate < 7350 || a.sample_rate > 96000 ||
         a.channel_config < 0 || a.channel_config > 7 || a.profile < 0 || a.profile > 3 ||
         a.samples < 1024 || a.samples > 4096 || a.bit_rate < 0))
        fuzz_fail("adts: length %d rate %d channels %d profile %d samples %d bit rate %d",
                  a.frame_length, a.sample_rate, a.channel_config, a.profile, a.samples,
                  a.bit_rate);
    free(d);
    return 0;
}
