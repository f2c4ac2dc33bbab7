/* test-probe-vp9.c - the VP9 uncompressed-header reader: key frames of
 * profiles 0 and 2 as libvpx writes them (bytes taken from clips made
 * with the ffmpeg CLI), and the frames it must refuse. */
#include "config.h"
#include "check.h"
#include "probe-vp9.h"

int main(void)
{
    probe_vp9_info v;
    /* libvpx-vp9, 640x360, yuv420p */
    static const uint8_t p0[] = { 0x82, 0x49, 0x83, 0x42, 0x00, 0x27, 0xf0, 0x16,
                                  0x76, 0x08, 0x38, 0x24 };
    CHECK_INT(probe_vp9_keyframe(p0, sizeof p0, &v), 0);
    CHECK_INT(v.profile, 0);
    CHECK_INT(v.bit_depth, 8);
    CHECK_INT(v.ss_x, 1);
    CHECK_INT(v.ss_y, 1);
    CHECK_INT(v.full_range, 0);
    CHECK_INT(v.color_space, 0);
    CHECK_INT(v.width, 640);
    CHECK_INT(v.height, 360);

    /* libvpx-vp9 -profile:v 2, 640x360, yuv420p10le */
    static const uint8_t p2[] = { 0x92, 0x49, 0x83, 0x42, 0x00, 0x13, 0xf8, 0x0b,
                                  0x3b, 0x03, 0x1c, 0x12 };
    CHECK_INT(probe_vp9_keyframe(p2, sizeof p2, &v), 0);
    CHECK_INT(v.profile, 2);
    CHECK_INT(v.bit_depth, 10);
    CHECK_INT(v.width, 640);
    CHECK_INT(v.height, 360);

    /* profile 1, BT.709 (2), full range, 4:4:4, 16x8: marker 10, lo 1, hi 0,
     * existing 0, key 0, show 1, er 0; sync; cs 010, range 1, ssx 0,
     * ssy 0, reserved 0; w-1 = 15, h-1 = 7. */
    static const uint8_t p1[] = { 0xa2, 0x49, 0x83, 0x42, 0x50, 0x00, 0x1e, 0x00,
                                  0x0e };
    CHECK_INT(probe_vp9_keyframe(p1, sizeof p1, &v), 0);
    CHECK_INT(v.profile, 1);
    CHECK_INT(v.color_space, 2);
    CHECK_INT(v.full_range, 1);
    CHECK_INT(v.ss_x, 0);
    CHECK_INT(v.ss_y, 0);
    CHECK_INT(v.width, 16);
    CHECK_INT(v.height, 8);

    /* Every truncation of a valid header is refused, never over-read. */
    for (size_t n = 0; n * 8 < 68; n++)     /* the header is 68 bits */
        CHECK(probe_vp9_keyframe(p0, n, &v) != 0);
    CHECK(probe_vp9_keyframe(NULL, 0, &v) != 0);

    uint8_t bad[sizeof p0];
    memcpy(bad, p0, sizeof p0);
    bad[0] = 0x42;                                  /* frame marker 01 */
    CHECK(probe_vp9_keyframe(bad, sizeof bad, &v) != 0);
    memcpy(bad, p0, sizeof p0);
    bad[0] = 0x86;                                  /* inter frame */
    CHECK(probe_vp9_keyframe(bad, sizeof bad, &v) != 0);
    memcpy(bad, p0, sizeof p0);
    bad[0] = 0x8a;                                  /* show_existing_frame */
    CHECK(probe_vp9_keyframe(bad, sizeof bad, &v) != 0);
    memcpy(bad, p0, sizeof p0);
    bad[2] = 0x84;                                  /* sync code */
    CHECK(probe_vp9_keyframe(bad, sizeof bad, &v) != 0);
    memcpy(bad, p0, sizeof p0);
    bad[4] = 0xe0;                                  /* RGB in profile 0 */
    CHECK(probe_vp9_keyframe(bad, sizeof bad, &v) != 0);
    return check_result("test-probe-vp9");
}
