/* probe-mpv.c - read an MPEG-2 video sequence header and extensions
 * (ISO/IEC 13818-2, 6.2.2), so that probe.c learns an MPEG-TS stream's
 * profile, level and aspect ratio from its first packet: libavcodec's
 * parser gives the size and rate only, the rest comes from the decoder
 * that avformat_find_stream_info would run. Pure: the data is hostile,
 * every byte read is bounded. */
#include "config.h"
#include "probe-mpv.h"

#include <string.h>

/* The offset just past the next start code prefix 00 00 01 at or after
 * POS, or SIZE. */
static size_t next_code(const uint8_t *d, size_t size, size_t pos)
{
    for (size_t i = pos; i + 3 <= size; i++)
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1)
            return i + 3;
    return size;
}

int probe_mpv_sequence(const uint8_t *d, size_t size, probe_mpv_info *out)
{
    if (!d)
        return -1;
    memset(out, 0, sizeof *out);
    size_t p = next_code(d, size, 0);
    while (p < size && d[p] != 0xb3)
        p = next_code(d, size, p);
    /* the code, 12+12 bits of size, aspect and rate: 5 bytes */
    if (p + 5 > size)
        return -1;
    out->width = (d[p + 1] << 4) | (d[p + 2] >> 4);
    out->height = ((d[p + 2] & 15) << 8) | d[p + 3];
    out->aspect = d[p + 4] >> 4;
    if (out->width == 0 || out->height == 0 || out->aspect == 0)
        return -1;
    int have_seq_ext = 0;
    for (p = next_code(d, size, p); p < size; p = next_code(d, size, p)) {
        if (d[p] == 0x00 || d[p] == 0xb8 || d[p] == 0xb3)
            break;              /* a picture, a GOP, another sequence */
        if (d[p] != 0xb5 || p + 2 > size)
            continue;
        int id = d[p + 1] >> 4;
        if (id == 1 && p + 3 <= size) {
            /* escape bit, profile 3, level 4, progressive 1, chroma 2 */
            out->profile = d[p + 1] & 7;
            out->level = d[p + 2] >> 4;
            out->progressive = (d[p + 2] >> 3) & 1;
            out->chroma = (d[p + 2] >> 1) & 3;
            have_seq_ext = 1;
        } else if (id == 2) {
            /* video format 3, colour description 1, [3 bytes of colour],
             * display width 14, marker 1, display height 14 */
            size_t q = p + 2;
            if (d[p + 1] & 1) {
                if (p + 5 > size)
                    return -1;
                out->colour = 1;
                out->primaries = d[p + 2];
                out->transfer = d[p + 3];
                out->matrix = d[p + 4];
                q = p + 5;
            }
            if (q + 4 > size)
                return -1;
            out->display_ext = 1;
            out->display_width = (d[q] << 6) | (d[q + 1] >> 2);
            out->display_height = ((d[q + 1] & 1) << 13) | (d[q + 2] << 5) | (d[q + 3] >> 3);
        }
    }
    return have_seq_ext ? 0 : -1;
}
