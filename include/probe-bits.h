/* probe-bits.h - the bit reader the SPS readers share (probe-h264.c,
 * probe-hevc.c): big-endian bits, Exp-Golomb codes and the NAL unit's
 * emulation prevention bytes, every read bounded (the data is hostile;
 * a read past the end sets `over` and yields 0). */
#ifndef VBATCH_PROBE_BITS_H
#define VBATCH_PROBE_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct probe_bits {
    const uint8_t *d;
    size_t size, pos;           /* pos in bits */
    bool over;                  /* a read went past the end */
} probe_bits;

static inline unsigned probe_bits_u(probe_bits *b, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (b->pos >= 8 * b->size) {
            b->over = true;
            return 0;
        }
        v = (v << 1) | ((b->d[b->pos >> 3] >> (7 - (b->pos & 7))) & 1);
        b->pos++;
    }
    return v;
}

static inline void probe_bits_skip(probe_bits *b, size_t n)
{
    if (b->pos + n > 8 * b->size) {
        b->over = true;
        b->pos = 8 * b->size;
    } else {
        b->pos += n;
    }
}

/* ue(v); values above 2^31 - 2 are refused (as over) */
static inline unsigned probe_bits_ue(probe_bits *b)
{
    int zeros = 0;
    while (probe_bits_u(b, 1) == 0) {
        if (b->over || ++zeros > 30) {
            b->over = true;
            return 0;
        }
    }
    return ((1u << zeros) - 1) + probe_bits_u(b, zeros);
}

static inline int probe_bits_se(probe_bits *b)
{
    unsigned k = probe_bits_ue(b);
    return (k & 1) ? (int)((k + 1) / 2) : -(int)(k / 2);
}

/* The NAL unit's payload at D[0..SIZE) into OUT without its emulation
 * prevention bytes, up to the next start code; its length. */
static inline size_t probe_bits_unescape(const uint8_t *d, size_t size, uint8_t *out, size_t cap)
{
    size_t n = 0, zeros = 0;
    for (size_t i = 0; i < size && n < cap; i++) {
        if (zeros >= 2 && d[i] == 3) {
            zeros = 0;
            continue;
        }
        if (zeros >= 2 && d[i] <= 1)
            break;              /* 00 00 00 / 00 00 01: the unit's end */
        zeros = d[i] == 0 ? zeros + 1 : 0;
        out[n++] = d[i];
    }
    return n;
}

#endif
