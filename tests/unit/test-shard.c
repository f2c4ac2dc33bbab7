/* test-shard.c - shard.c: --shard specs (K/N, auto/N with Kubernetes'
 * index, auto with Slurm's array) and the split of keys between shards:
 * every key in exactly one, the same one every time, about evenly. */
#include "config.h"
#include "shard.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

/* A fake environment: NAME=VALUE pairs. */
static const char *const *fake;
static const char *fake_env(const char *name)
{
    size_t n = strlen(name);
    for (const char *const *p = fake; p && *p; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return *p + n + 1;
    return NULL;
}

static void want(const char *spec, const char *const *env, int k, int n)
{
    fake = env;
    shard s;
    vb_error e = {0};
    int rc = shard_parse(spec, fake_env, &s, &e);
    CHECK_INT(rc, 0);
    CHECK_INT(s.k, k);
    CHECK_INT(s.n, n);
}

static void refused(const char *spec, const char *const *env, const char *says)
{
    fake = env;
    shard s;
    vb_error e = {0};
    CHECK_INT(shard_parse(spec, fake_env, &s, &e), -1);
    CHECK_INT(e.code, VB_ERR_USAGE);
    CHECK(strstr(e.msg, says) != NULL);
}

static void test_parse(void)
{
    want("1/1", NULL, 1, 1);
    want("2/3", NULL, 2, 3);
    want("100000/100000", NULL, 100000, 100000);
    refused("0/3", NULL, "1 <= K <= N");
    refused("4/3", NULL, "1 <= K <= N");
    refused("3", NULL, "expected K/N");
    refused("-1/3", NULL, "expected K/N");
    refused("1/0", NULL, "N must be");
    refused("1/100001", NULL, "N must be");
    refused("1/3x", NULL, "N must be");
    refused("", NULL, "expected K/N");
    static const char *const k8s[] = { "JOB_COMPLETION_INDEX=2", NULL };
    want("auto/3", k8s, 3, 3);
    refused("auto/2", k8s, "not an index from 0 to 1");
    refused("auto", k8s, "say --shard auto/N");
    static const char *const slurm[] = { "SLURM_ARRAY_TASK_ID=12", "SLURM_ARRAY_TASK_MIN=10",
                                         "SLURM_ARRAY_TASK_COUNT=4", NULL };
    want("auto", slurm, 3, 4);
    want("auto/5", slurm, 3, 5);
    refused("auto/2", slurm, "past the 2 shards");
    static const char *const nocount[] = { "SLURM_ARRAY_TASK_ID=0", NULL };
    refused("auto", nocount, "SLURM_ARRAY_TASK_COUNT");
    want("auto/2", nocount, 1, 2);
    refused("auto", NULL, "neither JOB_COMPLETION_INDEX");
}

static void test_owns(void)
{
    enum { N = 5, KEYS = 5000 };
    int count[N] = {0};
    for (int i = 0; i < KEYS; i++) {
        char key[32];
        snprintf(key, sizeof key, "folder/clip-%04d.mp4", i);
        int owners = 0;
        for (int k = 1; k <= N; k++) {
            shard s = { k, N };
            if (shard_owns(&s, key)) {
                owners++;
                count[k - 1]++;
            }
        }
        CHECK_INT(owners, 1);
    }
    for (int k = 0; k < N; k++)
        CHECK(count[k] > KEYS / N * 8 / 10 && count[k] < KEYS / N * 12 / 10);
    /* No shard: everything; one shard: everything. */
    shard none = { 0, 0 }, one = { 1, 1 };
    CHECK(shard_owns(&none, "x") && shard_owns(&one, "x"));
    /* Stable across runs and machines: int(sha256(b"a/b.mp4")
     * .hexdigest()[:16], 16) % 7 + 1 == 3 (Python's hashlib). */
    shard s = { 0, 7 };
    int got = 0;
    for (s.k = 1; s.k <= 7; s.k++)
        if (shard_owns(&s, "a/b.mp4"))
            got = s.k;
    CHECK_INT(got, 3);
}

int main(void)
{
    test_parse();
    test_owns();
    return check_result("test-shard");
}
