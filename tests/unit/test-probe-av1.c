/* test-probe-av1.c - the AV1 sequence header reader: av1C records as
 * libaom and SVT-AV1 write them through the ffmpeg CLI (profiles 0, 1, 2;
 * 8, 10, 12 bit; 4:2:0, 4:2:2, 4:4:4, monochrome, sRGB; BT.2020 PQ), the
 * same header as a packet's OBUs (with a temporal delimiter, an
 * extension header, no size field), and what it must refuse: every
 * truncation, a reserved profile, a forbidden bit, a bad size. */
#include "config.h"
#include "check.h"
#include "probe-av1.h"

#include <string.h>

int main(void)
{
    probe_av1_info v;
    /* libaom-av1, 640x360 yuv420p, level 1 */
    static const uint8_t aom[] = { 0x81, 0x01, 0x0c, 0x00, 0x0a, 0x0b, 0x00, 0x00, 0x00, 0x0c,
                                   0xc4, 0xff, 0x67, 0x36, 0xbe, 0x40, 0x10 };
    CHECK_INT(probe_av1_sequence(aom, sizeof aom, &v), 0);
    CHECK_INT(v.profile, 0);
    CHECK_INT(v.level, 1);
    CHECK_INT(v.bit_depth, 8);
    CHECK_INT(v.mono, 0);
    CHECK_INT(v.ss_x, 1);
    CHECK_INT(v.ss_y, 1);
    CHECK_INT(v.colour, 0);
    CHECK_INT(v.primaries, 2);
    CHECK_INT(v.transfer, 2);
    CHECK_INT(v.matrix, 2);
    CHECK_INT(v.full_range, 0);
    CHECK_INT(v.width, 640);
    CHECK_INT(v.height, 360);

    /* libsvtav1, 320x240 yuv420p10le, BT.2020 (9), PQ (16), BT.2020 NCL (9) */
    static const uint8_t svt[] = { 0x81, 0x00, 0x4c, 0x00, 0x0a, 0x0e, 0x00, 0x00, 0x00, 0x04,
                                   0x3c, 0xff, 0xbc, 0x02, 0xf8, 0x50, 0x91, 0x00, 0x90, 0x40 };
    CHECK_INT(probe_av1_sequence(svt, sizeof svt, &v), 0);
    CHECK_INT(v.profile, 0);
    CHECK_INT(v.bit_depth, 10);
    CHECK_INT(v.colour, 1);
    CHECK_INT(v.primaries, 9);
    CHECK_INT(v.transfer, 16);
    CHECK_INT(v.matrix, 9);
    CHECK_INT(v.ss_x, 1);
    CHECK_INT(v.ss_y, 1);
    CHECK_INT(v.width, 320);
    CHECK_INT(v.height, 240);

    /* libaom yuv444p12le: profile 2, 12 bit, 4:4:4 */
    static const uint8_t p444_12[] = { 0x81, 0x40, 0x60, 0x00, 0x0a, 0x0b, 0x40, 0x00, 0x00,
                                       0x04, 0x3c, 0xff, 0xbc, 0xda, 0xf9, 0x60, 0x40 };
    CHECK_INT(probe_av1_sequence(p444_12, sizeof p444_12, &v), 0);
    CHECK_INT(v.profile, 2);
    CHECK_INT(v.bit_depth, 12);
    CHECK_INT(v.ss_x, 0);
    CHECK_INT(v.ss_y, 0);

    /* libaom yuv422p10le: profile 2, 10 bit, 4:2:2 */
    static const uint8_t p422_10[] = { 0x81, 0x40, 0x48, 0x00, 0x0a, 0x0b, 0x40, 0x00, 0x00,
                                       0x04, 0x3c, 0xff, 0xbc, 0xda, 0xf9, 0x40, 0x80 };
    CHECK_INT(probe_av1_sequence(p422_10, sizeof p422_10, &v), 0);
    CHECK_INT(v.profile, 2);
    CHECK_INT(v.bit_depth, 10);
    CHECK_INT(v.ss_x, 1);
    CHECK_INT(v.ss_y, 0);

    /* libaom gray: monochrome, full range as libaom writes it */
    static const uint8_t gray[] = { 0x81, 0x00, 0x1c, 0x00, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x04,
                                    0x3c, 0xff, 0xbc, 0xda, 0xf9, 0x2a };
    CHECK_INT(probe_av1_sequence(gray, sizeof gray, &v), 0);
    CHECK_INT(v.mono, 1);
    CHECK_INT(v.bit_depth, 8);
    CHECK_INT(v.full_range, 1);

    /* libaom gbrp: profile 1, BT.709 + sRGB + identity: 4:4:4, full range */
    static const uint8_t gbrp[] = { 0x81, 0x20, 0x00, 0x00, 0x0a, 0x0d, 0x20, 0x00, 0x00, 0x04,
                                    0x3c, 0xff, 0xbc, 0xda, 0xf9, 0x20, 0x21, 0xa0, 0x04 };
    CHECK_INT(probe_av1_sequence(gbrp, sizeof gbrp, &v), 0);
    CHECK_INT(v.profile, 1);
    CHECK_INT(v.primaries, 1);
    CHECK_INT(v.transfer, 13);
    CHECK_INT(v.matrix, 0);
    CHECK_INT(v.full_range, 1);
    CHECK_INT(v.ss_x, 0);
    CHECK_INT(v.ss_y, 0);

    /* A packet: a temporal delimiter, the sequence header, a frame OBU's start. */
    uint8_t pkt[64];
    size_t n = 0;
    pkt[n++] = 0x12;                            /* OBU_TEMPORAL_DELIMITER, size 0 */
    pkt[n++] = 0x00;
    memcpy(pkt + n, aom + 4, sizeof aom - 4);
    n += sizeof aom - 4;
    pkt[n++] = 0x32;                            /* OBU_FRAME, size 3 */
    pkt[n++] = 0x03;
    pkt[n++] = 0x10;
    pkt[n++] = 0x00;
    pkt[n++] = 0x00;
    CHECK_INT(probe_av1_sequence(pkt, n, &v), 0);
    CHECK_INT(v.width, 640);
    CHECK_INT(v.height, 360);
    /* Every truncation before the header's end is refused, never over-read. */
    for (size_t k = 0; k < 2 + sizeof aom - 4; k++)
        CHECK(probe_av1_sequence(pkt, k, &v) != 0);
    for (size_t k = 0; k < sizeof aom; k++)
        CHECK(probe_av1_sequence(aom, k, &v) != 0);
    for (size_t k = 0; k < sizeof svt; k++)
        CHECK(probe_av1_sequence(svt, k, &v) != 0);
    for (size_t k = 0; k < sizeof gbrp; k++)
        CHECK(probe_av1_sequence(gbrp, k, &v) != 0);
    CHECK(probe_av1_sequence(NULL, 0, &v) != 0);

    /* An extension header (temporal and spatial ids) before the size. */
    uint8_t ext[32];
    ext[0] = 0x0e;
    ext[1] = 0x00;
    memcpy(ext + 2, aom + 5, sizeof aom - 5);
    CHECK_INT(probe_av1_sequence(ext, 2 + sizeof aom - 5, &v), 0);
    CHECK_INT(v.width, 640);
    CHECK(probe_av1_sequence(ext, 1, &v) != 0);
    /* No size field: the OBU runs to the end of the data. */
    uint8_t nosize[32];
    nosize[0] = 0x08;
    memcpy(nosize + 1, aom + 6, sizeof aom - 6);
    CHECK_INT(probe_av1_sequence(nosize, 1 + sizeof aom - 6, &v), 0);
    CHECK_INT(v.height, 360);

    uint8_t bad[sizeof aom];
    memcpy(bad, aom, sizeof aom);
    bad[6] = 0xe0;                              /* seq_profile 7 (reserved) */
    CHECK(probe_av1_sequence(bad, sizeof bad, &v) != 0);
    memcpy(bad, aom, sizeof aom);
    bad[4] = 0x8a;                              /* obu_forbidden_bit */
    CHECK(probe_av1_sequence(bad, sizeof bad, &v) != 0);
    memcpy(bad, aom, sizeof aom);
    bad[5] = 0x0c;                              /* a size past the end */
    CHECK(probe_av1_sequence(bad, sizeof bad, &v) != 0);
    memcpy(bad, aom, sizeof aom);
    bad[0] = 0x82;                              /* av1C version 2: unknown */
    CHECK(probe_av1_sequence(bad, sizeof bad, &v) != 0);
    /* A size of nine continued bytes (leb128 allows eight). */
    static const uint8_t longsize[] = { 0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
    CHECK(probe_av1_sequence(longsize, sizeof longsize, &v) != 0);
    /* A temporal unit with no sequence header. */
    static const uint8_t td[] = { 0x12, 0x00, 0x32, 0x01, 0x10 };
    CHECK(probe_av1_sequence(td, sizeof td, &v) != 0);
    return check_result("test-probe-av1");
}
