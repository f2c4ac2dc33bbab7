/* test-probe-mpv.c - the MPEG-2 video sequence-header reader: headers as
 * FFmpeg's mpeg2video encoder writes them (bytes taken from clips made
 * with the ffmpeg CLI), and the data it must refuse. */
#include "config.h"
#include "check.h"
#include "probe-mpv.h"

#include <string.h>

int main(void)
{
    probe_mpv_info m;
    /* 720x576, 16:9, Main@Main, progressive 4:2:0, then a GOP */
    static const uint8_t wide[] = {
        0x00, 0x00, 0x01, 0xb3, 0x2d, 0x02, 0x40, 0x33, 0xff, 0xff, 0xe1, 0xa0,
        0x00, 0x00, 0x01, 0xb5, 0x14, 0x8a, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x01, 0xb8, 0x00, 0x08, 0x00, 0x40,
        0x00, 0x00, 0x01, 0xb5, 0x8f, 0xff, 0xf3, 0x41, 0x80, 0x00 };
    CHECK_INT(probe_mpv_sequence(wide, sizeof wide, &m), 0);
    CHECK_INT(m.width, 720);
    CHECK_INT(m.height, 576);
    CHECK_INT(m.aspect, 3);
    CHECK_INT(m.profile, 4);
    CHECK_INT(m.level, 8);
    CHECK_INT(m.progressive, 1);
    CHECK_INT(m.chroma, 1);
    CHECK_INT(m.display_ext, 0);    /* the extension after the GOP is a picture's */

    /* 1280x720 with a display extension: BT.709 colour, 1280x720 shown */
    static const uint8_t hd[] = {
        0x00, 0x00, 0x01, 0xb3, 0x50, 0x02, 0xd0, 0x36, 0xff, 0xff, 0xe2, 0xb8,
        0x00, 0x00, 0x01, 0xb5, 0x14, 0x6a, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x01, 0xb5, 0x2b, 0x01, 0x01, 0x01, 0x14, 0x02, 0x16, 0x80,
        0x00, 0x00, 0x01, 0xb8, 0x00, 0x08, 0x00, 0x40 };
    CHECK_INT(probe_mpv_sequence(hd, sizeof hd, &m), 0);
    CHECK_INT(m.width, 1280);
    CHECK_INT(m.height, 720);
    CHECK_INT(m.display_ext, 1);
    CHECK_INT(m.colour, 1);
    CHECK_INT(m.primaries, 1);
    CHECK_INT(m.transfer, 1);
    CHECK_INT(m.matrix, 1);
    CHECK_INT(m.display_width, 1280);
    CHECK_INT(m.display_height, 720);

    /* Every truncation is refused or read within bounds (ASan checks). */
    for (size_t n = 0; n < 18; n++)     /* profile, level, chroma end at 18 */
        CHECK(probe_mpv_sequence(wide, n, &m) != 0);
    for (size_t n = 0; n <= sizeof hd; n++)
        (void)probe_mpv_sequence(hd, n, &m);
    CHECK(probe_mpv_sequence(NULL, 0, &m) != 0);

    uint8_t bad[sizeof wide];
    memcpy(bad, wide, sizeof wide);
    bad[7] = 0x03;                                  /* aspect 0: forbidden */
    CHECK(probe_mpv_sequence(bad, sizeof bad, &m) != 0);
    memcpy(bad, wide, sizeof wide);
    bad[15] = 0xb2;                                 /* no sequence extension: MPEG-1 */
    CHECK(probe_mpv_sequence(bad, sizeof bad, &m) != 0);
    memcpy(bad, wide, sizeof wide);
    bad[3] = 0xb7;                                  /* no sequence header */
    CHECK(probe_mpv_sequence(bad, sizeof bad, &m) != 0);
    return check_result("test-probe-mpv");
}
