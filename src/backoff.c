/* backoff.c - retry delays for transient failures: exponential growth,
 * capped, with jitter so that many workers retrying the same server do
 * not come back in lockstep. Pure: the caller holds the random state. */
#include "config.h"
#include "backoff.h"

#include <math.h>

uint64_t backoff_rand(uint64_t *rng)
{
    uint64_t x = *rng;
    /* A zero state would stay zero forever. */
    if (x == 0)
        x = 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double backoff_delay(int attempt, double base, double cap, uint64_t *rng)
{
    if (!(base > 0))
        return 0;
    if (attempt < 1)
        attempt = 1;
    /* Clamp the exponent: past 2^62 any sane cap has long been reached,
     * and ldexp must not overflow to infinity. */
    int shift = attempt - 1 > 62 ? 62 : attempt - 1;
    double d = ldexp(base, shift);
    if (cap > 0 && d > cap)
        d = cap;
    if (!isfinite(d))
        d = cap > 0 ? cap : 0;
    /* 53 random bits -> u in [0, 1]. */
    double u = (double)(backoff_rand(rng) >> 11) / (double)((1ull << 53) - 1);
    return d / 2 + (d / 2) * u;
}
