/* shard.h - one of N runs that together take every item once, with no
 * broker: `--shard K/N` (Kubernetes Indexed Jobs: `--shard auto/N` with
 * JOB_COMPLETION_INDEX; Slurm arrays: `--shard auto` with
 * SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT).
 * An item belongs to the shard its key (the relative path of a found
 * file, a job's id) hashes to, so the N runs cover every item once
 * whatever order each walk gives. */
#ifndef VB_SHARD_H
#define VB_SHARD_H

#include "vbatch.h"

#define SHARD_MAX 100000

typedef struct shard {
    int k, n;                    /* shard k of n, 1 <= k <= n; n 0: none */
} shard;

/* Parse SPEC ("K/N", "auto/N", "auto"); env(name) reads the
 * environment (NULL: getenv; a table in tests). 0, or -1 with e set
 * (VB_ERR_USAGE) saying what is wrong. Pure but for env. */
int shard_parse(const char *spec, const char *(*env)(const char *name), shard *out,
                vb_error *e);

/* Whether the item with this key is shard s's (always, when s->n is 0):
 * the first 8 bytes of SHA-256(key), big-endian, modulo n, equal k - 1. */
bool shard_owns(const shard *s, const char *key);

#endif
