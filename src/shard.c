/* shard.c - which of N runs an item belongs to (shard.h). */
#include "config.h"
#include "shard.h"
#include "crypto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A whole number in [lo, hi] from all of s. */
static bool shard_number(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s || *s == '+' || *s == '-')
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* The environment's index and count: Kubernetes' JOB_COMPLETION_INDEX
 * (from 0) with n given, or Slurm's array (its ids from
 * SLURM_ARRAY_TASK_MIN). */
static const char *shard_getenv(const char *name)
{
    return getenv(name);
}

static int shard_from_env(const char *(*env)(const char *), long n, shard *out, vb_error *e)
{
    if (!env)
        env = shard_getenv;
    long id, min = 0, count;
    const char *k8s = env("JOB_COMPLETION_INDEX"), *slurm = env("SLURM_ARRAY_TASK_ID");
    if (k8s && *k8s) {
        if (n == 0)
            return vb_fail(e, VB_ERR_USAGE, "JOB_COMPLETION_INDEX gives the index, not the "
                           "count: say --shard auto/N with the Job's completions");
        if (!shard_number(k8s, 0, n - 1, &id))
            return vb_fail(e, VB_ERR_USAGE, "JOB_COMPLETION_INDEX '%s' is not an index "
                           "from 0 to %ld", k8s, n - 1);
        *out = (shard){ (int)id + 1, (int)n };
        return 0;
    }
    if (slurm && *slurm) {
        const char *m = env("SLURM_ARRAY_TASK_MIN"), *c = env("SLURM_ARRAY_TASK_COUNT");
        if ((m && *m && !shard_number(m, 0, 4000000, &min)) ||
            !shard_number(slurm, min, 4000000, &id))
            return vb_fail(e, VB_ERR_USAGE, "SLURM_ARRAY_TASK_ID '%s' is not an array index",
                           slurm);
        if (n == 0 && !shard_number(c, 1, SHARD_MAX, &count))
            return vb_fail(e, VB_ERR_USAGE, "SLURM_ARRAY_TASK_COUNT is not set or not a "
                           "count: say --shard auto/N");
        if (n == 0)
            n = count;
        if (id - min >= n)
            return vb_fail(e, VB_ERR_USAGE, "SLURM_ARRAY_TASK_ID %ld is past the %ld shards "
                           "(the array must be contiguous, from SLURM_ARRAY_TASK_MIN)", id, n);
        *out = (shard){ (int)(id - min) + 1, (int)n };
        return 0;
    }
    return vb_fail(e, VB_ERR_USAGE, "--shard auto: neither JOB_COMPLETION_INDEX (a Kubernetes "
                   "Indexed Job) nor SLURM_ARRAY_TASK_ID (a Slurm array) is set");
}

int shard_parse(const char *spec, const char *(*env)(const char *name), shard *out,
                vb_error *e)
{
    *out = (shard){ 0, 0 };
    const char *slash = strchr(spec, '/');
    char head[32];
    size_t hl = slash ? (size_t)(slash - spec) : strlen(spec);
    if (hl >= sizeof head)
        return vb_fail(e, VB_ERR_USAGE, "--shard '%s': expected K/N, auto/N or auto", spec);
    memcpy(head, spec, hl);
    head[hl] = '\0';
    long n = 0, k;
    if (slash && !shard_number(slash + 1, 1, SHARD_MAX, &n))
        return vb_fail(e, VB_ERR_USAGE, "--shard '%s': N must be a count from 1 to %d", spec,
                       SHARD_MAX);
    if (strcmp(head, "auto") == 0)
        return shard_from_env(env, n, out, e);
    if (!slash || !shard_number(head, 1, n, &k))
        return vb_fail(e, VB_ERR_USAGE, "--shard '%s': expected K/N with 1 <= K <= N, auto/N "
                       "or auto", spec);
    *out = (shard){ (int)k, (int)n };
    return 0;
}

bool shard_owns(const shard *s, const char *key)
{
    if (s->n <= 1)
        return true;
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    vb_error e = {0};
    if (crypto_sha256_hex(key, strlen(key), hex, &e) != 0)
        return s->k == 1; /* cannot happen: every key still has one shard */
    char top[17];
    memcpy(top, hex, 16);
    top[16] = '\0';
    unsigned long long v = strtoull(top, NULL, 16);
    return (int)(v % (unsigned long long)s->n) == s->k - 1;
}
