/* test-engine.c - the batch engine driven with a fake source and fake
 * stages (that sleep, fail with a retryable error, fail for good, block
 * past the deadline): results recorded in batch order, the ring window
 * bounding how far the source is read ahead, retry counts,
 * error_handling = stop, interruption by SIGINT, the watchdog, and the
 * exit status of each ending. The journal is kept in memory. */
#include "config.h"
#include "batch.h"
#include "stage.h"
#include "util.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the fake source: item N's kind is kinds[N-1] ---- */

typedef struct fake {
    report *rep;
    const char *const *kinds;
    int n, made;
    /* what the observer saw */
    pthread_mutex_t mu;
    int nrec, order_bad;
    int64_t last_seq;
    int max_ahead;              /* made - recorded, at most */
    int status[512], attempts[512];
    char error[512][160];
} fake;

static int fake_next(void *ud, double wait, bool stopped, item **out, vb_error *e)
{
    (void)wait;
    (void)e;
    fake *f = ud;
    if (stopped || f->made == f->n)
        return 0;
    item *it = item_new();
    it->seq = ++f->made;
    it->folder = vb_xasprintf("f%03lld", (long long)it->seq);
    it->en.path = vb_xasprintf("http://fake/%s-%lld.mp4", f->kinds[it->seq - 1],
                               (long long)it->seq);
    it->en.rel = vb_xstrdup(it->en.path);
    it->en.is_url = true;
    vb_error qe = {0};
    CHECK(report_queue(f->rep, it->seq, it->en.path, it->folder, NULL, &qe) == 0);
    pthread_mutex_lock(&f->mu);
    if (f->made - f->nrec > f->max_ahead)
        f->max_ahead = f->made - f->nrec;
    pthread_mutex_unlock(&f->mu);
    *out = it;
    return 1;
}

static void fake_end(void *ud, bool complete)
{
    (void)ud;
    (void)complete;
}

static void fake_recorded(void *ud, const item *it, bool out_stop)
{
    (void)out_stop;
    fake *f = ud;
    pthread_mutex_lock(&f->mu);
    if (it->seq <= f->last_seq)
        f->order_bad++;
    f->last_seq = it->seq;
    f->nrec++;
    if (it->seq > 0 && it->seq < 512) {
        f->status[it->seq] = it->aborted ? -1 : it->rec.status;
        f->attempts[it->seq] = it->rec.attempts;
        snprintf(f->error[it->seq], sizeof f->error[it->seq], "%s",
                 it->rec.error ? it->rec.error : "");
    }
    pthread_mutex_unlock(&f->mu);
}

/* ---- the fake stages ---- */

static atomic_int tries[512];

static bool kind_is(const item *it, const char *k)
{
    return strstr(it->en.path, k) != NULL;
}

static void sleep_ms(double ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(fmod(ms, 1000) * 1e6) };
    nanosleep(&ts, NULL);
}

static int work_run(item *it, const vb_config *cfg, vb_error *e)
{
    (void)cfg;
    int n = atomic_fetch_add(&tries[it->seq % 512], 1) + 1;
    if (kind_is(it, "/sleep-"))
        sleep_ms((double)(it->seq * 7919 % 4));
    if (kind_is(it, "/retry1-") && n <= 1)
        return vb_fail(e, VB_ERR_IO_RETRY, "%s: read error: Input/output error (EIO)", it->en.path);
    if (kind_is(it, "/retry9-"))
        return vb_fail(e, VB_ERR_IO_RETRY, "%s: read error: Input/output error (EIO)", it->en.path);
    if (kind_is(it, "/fail-"))
        return vb_fail(e, VB_ERR_MEDIA, "%s: not a recognised media file", it->en.path);
    if (kind_is(it, "/slow-"))
        sleep_ms(150);
    if (kind_is(it, "/signal-"))
        kill(getpid(), SIGINT);
    if (kind_is(it, "/block-")) {
        /* A read that never returns, as mediaio marks one: the watchdog
         * takes the item once the deadline is past. */
        atomic_store(&it->clock.blocked, (int64_t)(util_now() * 1e6));
        for (int i = 0; i < 1000 && !mediaio_clock_abandoned(&it->clock); i++)
            sleep_ms(10);
        return vb_fail(e, VB_ERR_LIMIT, "abandoned");
    }
    return 0;
}

static int pass_run(item *it, const vb_config *cfg, vb_error *e)
{
    (void)cfg;
    (void)e;
    it->rec.status = ITEM_DONE;
    return 0;
}

static const stage st_work = { STAGE_PROBE, "probe", NULL, work_run };
static const stage st_pass = { STAGE_PUBLISH, "publish", NULL, pass_run };
static const stage *const road[] = { &st_work, &st_pass, NULL };

/* ---- a run ---- */

static int run(const char *dir, const char *name, const char *const *kinds, int n, int jobs,
               vb_config *c, fake *f, batch_result *res)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    memset(tries, 0, sizeof tries);
    f->kinds = kinds;
    f->n = n;
    char *out = util_path_join(dir, name);
    vb_error e = {0};
    report_batch_info info = { .batch_id = name, .command_line = "test", .config = c };
    f->rep = report_open(out, &info, &e);
    CHECK(f->rep != NULL);
    if (!f->rep) {
        fprintf(stderr, "%s\n", e.msg);
        free(out);
        return -1;
    }
    batch_source src = { .next = fake_next, .end = fake_end, .ud = f };
    batch_observer obs = { .recorded = fake_recorded, .ud = f };
    batch_opts o = { .config = c, .out_dir = out, .command_line = "test", .jobs = jobs,
                     .source = &src, .rep = f->rep, .road = road, .observer = &obs };
    CHECK(batch_run(&o, res) == 0);
    report_free(&f->rep);
    free(out);
    pthread_mutex_destroy(&f->mu);
    return batch_exit_status(res);
}

static const char *const *kinds_of(const char *k, int n)
{
    static const char *v[512];
    for (int i = 0; i < n && i < 512; i++)
        v[i] = k;
    return v;
}

static void test_order_and_window(const char *dir)
{
    vb_config c;
    preset_defaults(&c);
    fake f;
    batch_result r;
    int st = run(dir, "order", kinds_of("sleep", 400), 400, 4, &c, &f, &r);
    CHECK_INT(st, VB_EXIT_OK);
    CHECK_INT(f.nrec, 400);
    CHECK_INT(f.order_bad, 0);
    CHECK_INT(r.counts.done, 400);
    /* The ring (64 per worker) and one group waiting for its commit. */
    CHECK(f.max_ahead <= 64 * 4 + BATCH_RECORD_GROUP + 1);
    CHECK(f.max_ahead > 4);
    preset_free_contents(&c);
}

static void test_retries(const char *dir)
{
    vb_config c;
    preset_defaults(&c);
    c.batch.retries = 2;
    c.batch.retry_backoff = 0.01;
    static const char *const k[] = { "ok", "retry1", "retry9", "fail", "ok" };
    fake f;
    batch_result r;
    int st = run(dir, "retries", k, 5, 2, &c, &f, &r);
    CHECK_INT(st, VB_EXIT_ITEMS);
    CHECK_INT(f.nrec, 5);
    CHECK_INT(f.status[1], ITEM_DONE);
    CHECK_INT(f.attempts[1], 1);
    CHECK_INT(f.status[2], ITEM_DONE);
    CHECK_INT(f.attempts[2], 2);
    CHECK_INT(f.status[3], ITEM_FAILED);
    CHECK_INT(f.attempts[3], 3);
    CHECK(strstr(f.error[3], "(after 3 attempts)") != NULL);
    CHECK_INT(f.status[4], ITEM_FAILED);
    CHECK_INT(f.attempts[4], 1);
    CHECK_INT(r.counts.failed, 2);
    CHECK(!r.interrupted && !r.failed_stop);
    preset_free_contents(&c);
}

static void test_stop_on_error(const char *dir)
{
    vb_config c;
    preset_defaults(&c);
    c.batch.error_handling = ERRH_STOP;
    const char *k[60];
    for (int i = 0; i < 60; i++)
        k[i] = i == 4 ? "fail" : "slow";
    fake f;
    batch_result r;
    int st = run(dir, "stop", k, 60, 2, &c, &f, &r);
    CHECK_INT(st, VB_EXIT_ITEMS);
    CHECK(r.failed_stop);
    CHECK_INT(f.status[5], ITEM_FAILED);
    /* Those running finish and are recorded; nothing new starts. */
    CHECK(f.nrec >= 5 && f.nrec <= 8);
    CHECK_INT(f.order_bad, 0);
    preset_free_contents(&c);
}

static void test_interrupt(const char *dir)
{
    vb_config c;
    preset_defaults(&c);
    c.batch.grace_period = 0.5;
    const char *k[80];
    for (int i = 0; i < 80; i++)
        k[i] = i == 9 ? "signal" : "slow";
    fake f;
    batch_result r;
    int st = run(dir, "interrupt", k, 80, 2, &c, &f, &r);
    CHECK_INT(st, VB_EXIT_INTERRUPTED);
    CHECK(r.interrupted);
    CHECK(f.nrec >= 10 && f.nrec < 80);
    CHECK_INT(f.order_bad, 0);
    preset_free_contents(&c);
}

static void test_watchdog(const char *dir)
{
    vb_config c;
    preset_defaults(&c);
    c.batch.item_timeout = 0.3;
    /* One worker: the one taking over runs the slow item while the one
     * given up comes back. */
    static const char *const k[] = { "ok", "block", "slow", "ok" };
    fake f;
    batch_result r;
    int st = run(dir, "watchdog", k, 4, 1, &c, &f, &r);
    CHECK_INT(st, VB_EXIT_ITEMS);
    CHECK_INT(f.nrec, 4);
    CHECK_INT(f.status[2], ITEM_FAILED);
    CHECK(strstr(f.error[2], "stalled: abandoned") != NULL);
    CHECK_INT(f.status[1], ITEM_DONE);
    CHECK_INT(f.status[4], ITEM_DONE);
    /* The worker given up came back before the end: nothing to leak. */
    CHECK(!r.exit_now);
    preset_free_contents(&c);
}

static void test_exit_status(void)
{
    batch_result r = {0};
    CHECK_INT(batch_exit_status(&r), VB_EXIT_USAGE);
    r.started = true;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_OK);
    r.counts.qc_failed = 1;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_QC);
    r.counts.qc_failed = 0;
    r.counts.skipped_qc_failed = 1;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_QC);
    r.counts.failed = 1;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_ITEMS);
    r.counts.failed = 0;
    r.reports_failed = true;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_ITEMS);
    r.reports_failed = false;
    r.input_error = true;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_ITEMS);
    r.interrupted = true;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_INTERRUPTED);
    r.failed_stop = true;
    CHECK_INT(batch_exit_status(&r), VB_EXIT_ITEMS);
}

int main(void)
{
    setenv("VBATCH_JOURNAL", "memory", 1);
    char tmpl[] = "/tmp/vbatch-test-engine.XXXXXX";
    const char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test-engine");
    test_exit_status();
    test_order_and_window(dir);
    test_retries(dir);
    test_stop_on_error(dir);
    test_watchdog(dir);
    test_interrupt(dir);
    char *cmd = vb_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    return check_result("test-engine");
}
