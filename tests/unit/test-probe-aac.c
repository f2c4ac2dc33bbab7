/* test-probe-aac.c - the ADTS header reader: headers as FFmpeg's aac
 * encoder writes them in MPEG-TS, and the data it must refuse. */
#include "config.h"
#include "check.h"
#include "probe-aac.h"

#include <string.h>

int main(void)
{
    probe_adts_info a;
    /* LC, 48 kHz, stereo, 371 bytes, one raw data block */
    static const uint8_t lc[] = { 0xff, 0xf1, 0x4c, 0x80, 0x2e, 0x7f, 0xfc, 0x21 };
    CHECK_INT(probe_adts_header(lc, sizeof lc, &a), 0);
    CHECK_INT(a.profile, 1);
    CHECK_INT(a.sample_rate, 48000);
    CHECK_INT(a.channel_config, 2);
    CHECK_INT(a.frame_length, 371);
    CHECK_INT(a.samples, 1024);
    CHECK_INT(a.bit_rate, 371 * 8 * 48000 / 1024);

    /* 44.1 kHz mono, 4 raw data blocks */
    static const uint8_t mono[] = { 0xff, 0xf9, 0x50, 0x40, 0x80, 0x1f, 0xff };
    CHECK_INT(probe_adts_header(mono, sizeof mono, &a), 0);
    CHECK_INT(a.sample_rate, 44100);
    CHECK_INT(a.channel_config, 1);
    CHECK_INT(a.frame_length, 1024);
    CHECK_INT(a.samples, 4096);

    for (size_t n = 0; n < 7; n++)
        CHECK(probe_adts_header(lc, n, &a) != 0);
    CHECK(probe_adts_header(NULL, 8, &a) != 0);
    uint8_t bad[sizeof lc];
    memcpy(bad, lc, sizeof lc);
    bad[1] = 0xf3;                                  /* layer 1 */
    CHECK(probe_adts_header(bad, sizeof bad, &a) != 0);
    memcpy(bad, lc, sizeof lc);
    bad[2] = (uint8_t)((bad[2] & 0xc3) | (13 << 2)); /* reserved sampling index */
    CHECK(probe_adts_header(bad, sizeof bad, &a) != 0);
    memcpy(bad, lc, sizeof lc);
    bad[3] &= 0xfc; bad[4] = 0; bad[5] &= 0x1f;     /* frame length 0 */
    CHECK(probe_adts_header(bad, sizeof bad, &a) != 0);
    memcpy(bad, lc, sizeof lc);
    bad[2] = 0x40 | 0x80;                           /* 96 kHz */
    bad[3] |= 3; bad[4] = 0xff; bad[5] |= 0xe0;     /* 8191 bytes: the product overflows */
    CHECK(probe_adts_header(bad, sizeof bad, &a) != 0);
    return check_result("test-probe-aac");
}
