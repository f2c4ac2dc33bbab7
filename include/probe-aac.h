/* probe-aac.h - the facts of an AAC ADTS frame header (profile, sample
 * rate, channels, frame length and samples, and the bit rate libavcodec's
 * ADTS reader derives from them), read without libavcodec. */
#ifndef VB_PROBE_AAC_H
#define VB_PROBE_AAC_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe_adts_info {
    int profile;                /* the object type - 1: 1 is LC (FFmpeg's profile) */
    int sampling_index, sample_rate;
    int channel_config;         /* 0: a PCE in the frame gives the layout */
    int frame_length;           /* in bytes, the header included */
    int samples;                /* 1024 a raw data block */
    int bit_rate;               /* frame_length * 8 * rate / samples */
} probe_adts_info;

/* Read the ADTS header at DATA[0..SIZE). Returns 0 and fills *out, or -1
 * when there is no whole header, its sampling index is reserved, its
 * frame is shorter than the header, or the bit rate's product does not
 * fit in an int (libavcodec's is then undefined). Reads never go past
 * SIZE. */
int probe_adts_header(const uint8_t *data, size_t size, probe_adts_info *out);

#endif
