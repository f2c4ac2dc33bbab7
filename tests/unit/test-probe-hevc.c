/* test-probe-hevc.c - the HEVC SPS reader: a parameter set as libx265
 * writes it (bytes taken from a clip made with the ffmpeg CLI), and the
 * data it must refuse. */
#include "config.h"
#include "check.h"
#include "probe-hevc.h"

#include <string.h>

int main(void)
{
    probe_hevc_info h;
    /* Main 10 @ 4.0, 1920x1080, SAR 4:3, BT.2020 + PQ, limited range;
     * the VPS first */
    static const uint8_t hdr[] = {
        0x00, 0x00, 0x00, 0x01, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x02, 0x20, 0x00,
        0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78, 0x95,
        0x94, 0x09,
        0x00, 0x00, 0x01, 0x42, 0x01, 0x01, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90,
        0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x11,
        0x07, 0xca, 0xd9, 0x65, 0x65, 0x4a, 0x4c, 0x2f, 0x0e, 0x6a, 0x12, 0x20, 0x12,
        0x08, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x40, 0x00 };
    CHECK_INT(probe_hevc_sps(hdr, sizeof hdr, &h), 0);
    CHECK_INT(h.profile_idc, 2);
    CHECK_INT(h.level_idc, 120);
    CHECK_INT(h.progressive_source, 1);
    CHECK_INT(h.interlaced_source, 0);
    CHECK_INT(h.chroma, 1);
    CHECK_INT(h.bit_depth, 10);
    CHECK_INT(h.width, 1920);
    CHECK_INT(h.height, 1080);
    CHECK_INT(h.vui, 1);
    CHECK_INT(h.sar_num, 4);
    CHECK_INT(h.sar_den, 3);
    CHECK_INT(h.signal_type, 1);
    CHECK_INT(h.full_range, 0);
    CHECK_INT(h.colour, 1);
    CHECK_INT(h.primaries, 9);
    CHECK_INT(h.transfer, 16);
    CHECK_INT(h.matrix, 9);

    /* Every truncation is refused or read within bounds (ASan checks). */
    for (size_t n = 0; n <= sizeof hdr; n++) {
        int rc = probe_hevc_sps(hdr, n, &h);
        if (n < 40)
            CHECK(rc != 0);
    }
    CHECK(probe_hevc_sps(NULL, 0, &h) != 0);
    uint8_t bad[sizeof hdr];
    memcpy(bad, hdr, sizeof hdr);
    bad[31] = 0x44;                                 /* a PPS, no SPS */
    CHECK(probe_hevc_sps(bad, sizeof bad, &h) != 0);
    memcpy(bad, hdr, sizeof hdr);
    bad[31] = 0xc2;                                 /* forbidden_zero_bit */
    CHECK(probe_hevc_sps(bad, sizeof bad, &h) != 0);
    uint8_t ones[96], zeros[96];
    memset(ones, 0xff, sizeof ones);
    memset(zeros, 0, sizeof zeros);
    memcpy(ones, "\x00\x00\x01\x42\x01", 5);
    memcpy(zeros, "\x00\x00\x01\x42\x01\x01", 6);
    (void)probe_hevc_sps(ones, sizeof ones, &h);
    CHECK(probe_hevc_sps(zeros, sizeof zeros, &h) != 0);
    return check_result("test-probe-hevc");
}
