/* probe-aac.c - read an AAC ADTS frame header (ISO/IEC 14496-3, 1.A.2),
 * so that probe.c learns an MPEG-TS AAC stream's profile, rate, channels
 * and the bit rate ffprobe reports (the parser's average over each
 * frame's) from the frames, without the decoder. Pure: the data is
 * hostile, every byte read is bounded. */
#include "config.h"
#include "probe-aac.h"

#include <limits.h>
#include <string.h>

int probe_adts_header(const uint8_t *d, size_t size, probe_adts_info *out)
{
    static const int rates[13] = {
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    };
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    /* syncword 12, ID 1, layer 2 (0) */
    if (!d || size < 7 || d[0] != 0xff || (d[1] & 0xf6) != 0xf0)
        return -1;
    int sr = (d[2] >> 2) & 15;
    if (sr >= 13)
        return -1;
    out->profile = d[2] >> 6;
    out->sampling_index = sr;
    out->sample_rate = rates[sr];
    out->channel_config = ((d[2] & 1) << 2) | (d[3] >> 6);
    out->frame_length = ((d[3] & 3) << 11) | (d[4] << 3) | (d[5] >> 5);
    out->samples = ((d[6] & 3) + 1) * 1024;
    if (out->frame_length < 7)
        return -1;
    long long bits = (long long)out->frame_length * 8 * out->sample_rate;
    if (bits > INT_MAX)
        return -1;
    out->bit_rate = (int)(bits / out->samples);
    return 0;
}
