/* test-probe-h264.c - the H.264 SPS reader: parameter sets as libx264
 * writes them (bytes taken from clips made with the ffmpeg CLI), and the
 * data it must refuse. */
#include "config.h"
#include "check.h"
#include "probe-h264.h"

#include <string.h>

int main(void)
{
    probe_h264_info h;
    /* High@4.0, 1920x1088 cropped to 1080, SAR 4:3, BT.709 limited range;
     * an emulation prevention byte at 00 00 03 00 */
    static const uint8_t hd[] = {
        0x00, 0x00, 0x00, 0x01, 0x09, 0xf0,                       /* an AUD first */
        0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27,
        0xe5, 0xc3, 0x9a, 0x80, 0x80, 0x80, 0xa0, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00,
        0x00, 0x06, 0x41, 0xe3, 0x06, 0x32, 0xc0,
        0x00, 0x00, 0x01, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0 };
    CHECK_INT(probe_h264_sps(hd, sizeof hd, &h), 0);
    CHECK_INT(h.profile_idc, 100);
    CHECK_INT(h.level_idc, 40);
    CHECK_INT(h.chroma, 1);
    CHECK_INT(h.bit_depth, 8);
    CHECK_INT(h.frame_mbs_only, 1);
    CHECK_INT(h.coded_width, 1920);
    CHECK_INT(h.coded_height, 1088);
    CHECK_INT(h.crop_bottom, 8);
    CHECK_INT(h.crop_left, 0);
    CHECK_INT(h.width, 1920);
    CHECK_INT(h.height, 1080);
    CHECK_INT(h.sar_num, 4);
    CHECK_INT(h.sar_den, 3);
    CHECK_INT(h.signal_type, 1);
    CHECK_INT(h.full_range, 0);
    CHECK_INT(h.colour, 1);
    CHECK_INT(h.primaries, 1);
    CHECK_INT(h.transfer, 1);
    CHECK_INT(h.matrix, 1);

    /* High 4:2:2 10 bit, 320x240, SAR 1:1, no signal type */
    static const uint8_t hi422[] = {
        0x00, 0x00, 0x01, 0x67, 0x7a, 0x00, 0x0d, 0xb6, 0xcd, 0x94, 0x14, 0x1f, 0xb0,
        0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x14,
        0x29, 0x96, 0x00 };
    CHECK_INT(probe_h264_sps(hi422, sizeof hi422, &h), 0);
    CHECK_INT(h.profile_idc, 122);
    CHECK_INT(h.chroma, 2);
    CHECK_INT(h.bit_depth, 10);
    CHECK_INT(h.width, 320);
    CHECK_INT(h.height, 240);
    CHECK_INT(h.sar_num, 1);
    CHECK_INT(h.sar_den, 1);
    CHECK_INT(h.signal_type, 0);
    CHECK_INT(h.colour, 0);

    /* Every truncation is refused or read within bounds (ASan checks);
     * one that ends before the colour description is refused. */
    for (size_t n = 0; n <= sizeof hd; n++) {
        int rc = probe_h264_sps(hd, n, &h);
        if (n < 26)
            CHECK(rc != 0);
    }
    for (size_t n = 0; n <= sizeof hi422; n++)
        (void)probe_h264_sps(hi422, n, &h);
    CHECK(probe_h264_sps(NULL, 0, &h) != 0);

    uint8_t bad[sizeof hd];
    memcpy(bad, hd, sizeof hd);
    bad[9] = 0x68;                                  /* no SPS: a PPS */
    CHECK(probe_h264_sps(bad, sizeof bad, &h) != 0);
    memcpy(bad, hd, sizeof hd);
    bad[9] = 0xe7;                                  /* forbidden_zero_bit set */
    CHECK(probe_h264_sps(bad, sizeof bad, &h) != 0);
    /* all ones: Exp-Golomb codes of 0, a huge run of zeros */
    uint8_t ones[64], zeros[64];
    memset(ones, 0xff, sizeof ones);
    memset(zeros, 0, sizeof zeros);
    memcpy(ones, "\x00\x00\x01\x67", 4);
    memcpy(zeros, "\x00\x00\x01\x67\x64\x00\x28\x80", 8);
    (void)probe_h264_sps(ones, sizeof ones, &h);
    CHECK(probe_h264_sps(zeros, sizeof zeros, &h) != 0);
    return check_result("test-probe-h264");
}
