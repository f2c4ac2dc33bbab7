/* backoff.h - retry delays: exponential with full jitter, capped. Pure. */
#ifndef VB_BACKOFF_H
#define VB_BACKOFF_H

#include <stdint.h>

/* Delay in seconds before retry number `attempt` (1 = first retry):
 * uniform in [d/2, d] where d = min(cap, base * 2^(attempt-1)).
 * `rng` is a caller-held xorshift state (any non-zero seed). */
double backoff_delay(int attempt, double base, double cap, uint64_t *rng);
/* Next xorshift64* value. */
uint64_t backoff_rand(uint64_t *rng);

#endif
