/* gen-sched.c - the pacing of `vbatch generate` (gen-sched.h): timer
 * heap, submission queue, token bucket, concurrency limit, poll timing
 * and the budget rule. Pure, so that a simulated timeline can test it
 * (tests/unit/test-gen-sched.c). */
#include "config.h"
#include "gen-sched.h"
#include "backoff.h"
#include "vbatch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gen_sched_init(gen_sched *s, size_t ntasks, int max_inflight, int rpm, double now)
{
    memset(s, 0, sizeof *s);
    size_t n = ntasks ? ntasks : 1;
    /* A task is at most once in the heap. */
    s->heap = vb_xcalloc(n, sizeof *s->heap);
    s->at = vb_xcalloc(n, sizeof *s->at);
    s->pos = vb_xmalloc(n * sizeof *s->pos);
    s->rel = vb_xcalloc(n, sizeof *s->rel);
    s->rel_at = vb_xcalloc(n, sizeof *s->rel_at);
    for (size_t i = 0; i < n; i++)
        s->pos[i] = -1;
    s->ntasks = ntasks;
    s->rpm = rpm;
    s->max_inflight = max_inflight;
    s->tokens = 1.0;
    s->tokens_at = now;
}

void gen_sched_free(gen_sched *s)
{
    free(s->heap);
    free(s->at);
    free(s->pos);
    free(s->q);
    free(s->rel);
    free(s->rel_at);
    memset(s, 0, sizeof *s);
}

void gen_sched_grow(gen_sched *s, size_t ntasks)
{
    size_t old = s->ntasks ? s->ntasks : 1;
    if (ntasks <= old) {
        s->ntasks = ntasks > s->ntasks ? ntasks : s->ntasks;
        return;
    }
    s->heap = vb_xrealloc(s->heap, ntasks * sizeof *s->heap);
    s->at = vb_xrealloc(s->at, ntasks * sizeof *s->at);
    s->pos = vb_xrealloc(s->pos, ntasks * sizeof *s->pos);
    for (size_t i = old; i < ntasks; i++) {
        s->at[i] = 0;
        s->pos[i] = -1;
    }
    /* The creation line is a ring as long as the table: laid out again
     * from its head. */
    size_t *rel = vb_xcalloc(ntasks, sizeof *rel);
    double *rel_at = vb_xcalloc(ntasks, sizeof *rel_at);
    for (size_t k = 0; k < s->rlen; k++) {
        rel[k] = s->rel[(s->rhead + k) % old];
        rel_at[k] = s->rel_at[(s->rhead + k) % old];
    }
    free(s->rel);
    free(s->rel_at);
    s->rel = rel;
    s->rel_at = rel_at;
    s->rhead = 0;
    s->ntasks = ntasks;
}

/* ---- timers ---- */

static bool gen_sched_less(const gen_sched *s, size_t a, size_t b)
{
    return s->at[s->heap[a]] < s->at[s->heap[b]];
}

static void gen_sched_swap(gen_sched *s, size_t a, size_t b)
{
    size_t x = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = x;
    s->pos[s->heap[a]] = (int)a;
    s->pos[s->heap[b]] = (int)b;
}

static void gen_sched_up(gen_sched *s, size_t i)
{
    while (i > 0 && gen_sched_less(s, i, (i - 1) / 2)) {
        gen_sched_swap(s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void gen_sched_down(gen_sched *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && gen_sched_less(s, l, m))
            m = l;
        if (r < s->nheap && gen_sched_less(s, r, m))
            m = r;
        if (m == i)
            return;
        gen_sched_swap(s, i, m);
        i = m;
    }
}

void gen_sched_timer_set(gen_sched *s, size_t task, double when)
{
    s->at[task] = when;
    if (s->pos[task] >= 0) {
        gen_sched_up(s, (size_t)s->pos[task]);
        gen_sched_down(s, (size_t)s->pos[task]);
        return;
    }
    s->pos[task] = (int)s->nheap;
    s->heap[s->nheap++] = task;
    gen_sched_up(s, s->nheap - 1);
}

bool gen_sched_timer_due(const gen_sched *s, double now)
{
    return s->nheap > 0 && s->at[s->heap[0]] <= now;
}

size_t gen_sched_timer_pop(gen_sched *s)
{
    size_t i = s->heap[0];
    s->pos[i] = -1;
    s->nheap--;
    if (s->nheap > 0) {
        s->heap[0] = s->heap[s->nheap];
        s->pos[s->heap[0]] = 0;
        gen_sched_down(s, 0);
    }
    return i;
}

bool gen_sched_timer_get(const gen_sched *s, size_t task, double *when)
{
    if (s->pos[task] < 0)
        return false;
    *when = s->at[task];
    return true;
}

void gen_sched_timer_cancel(gen_sched *s, size_t task)
{
    if (s->pos[task] < 0)
        return;
    size_t i = (size_t)s->pos[task];
    s->pos[task] = -1;
    s->nheap--;
    if (i == s->nheap)
        return;
    /* The last entry takes the hole, then finds its place either way. */
    size_t moved = s->heap[s->nheap];
    s->heap[i] = moved;
    s->pos[moved] = (int)i;
    gen_sched_up(s, i);
    gen_sched_down(s, (size_t)s->pos[moved]);
}

size_t gen_sched_timers(const gen_sched *s)
{
    return s->nheap;
}

/* ---- the submission queue ---- */

void gen_sched_queue_push(gen_sched *s, size_t task, bool front)
{
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? 2 * s->qcap : 64;
        size_t *q = vb_xmalloc(cap * sizeof *q);
        for (size_t k = 0; k < s->qlen; k++)
            q[k] = s->q[(s->qhead + k) % s->qcap];
        free(s->q);
        s->q = q;
        s->qcap = cap;
        s->qhead = 0;
    }
    if (front) {
        s->qhead = (s->qhead + s->qcap - 1) % s->qcap;
        s->q[s->qhead] = task;
    } else {
        s->q[(s->qhead + s->qlen) % s->qcap] = task;
    }
    s->qlen++;
}

size_t gen_sched_queue_len(const gen_sched *s)
{
    return s->qlen;
}

size_t gen_sched_queue_front(const gen_sched *s)
{
    return s->q[s->qhead];
}

size_t gen_sched_queue_pop(gen_sched *s)
{
    size_t i = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    return i;
}

/* ---- pacing ---- */

static void gen_sched_refill(gen_sched *s, double now)
{
    /* Without rpm, a bucket that is never empty. A bucket holds a
     * second's worth of tokens, and at least one. */
    double rate = s->rpm > 0 ? s->rpm / 60.0 : 1e9;
    double cap = rate < 1 ? 1 : rate;
    s->tokens += (now - s->tokens_at) * rate;
    s->tokens_at = now;
    if (s->tokens > cap)
        s->tokens = cap;
}

bool gen_sched_may_submit(gen_sched *s, double now)
{
    if (s->inflight >= s->max_inflight || now < s->pause_until || now < s->conc_pause_until)
        return false;
    gen_sched_refill(s, now);
    return s->tokens >= 1.0;
}

void gen_sched_charge(gen_sched *s, double now)
{
    if (s->rpm <= 0)
        return;
    gen_sched_refill(s, now);
    s->tokens -= 1.0;
}

void gen_sched_take(gen_sched *s)
{
    s->tokens -= 1.0;
}

void gen_sched_busy(gen_sched *s)
{
    s->inflight++;
}

void gen_sched_idle(gen_sched *s)
{
    s->inflight--;
}

void gen_sched_rate_limited(gen_sched *s, double now, double d)
{
    if (now + d > s->pause_until)
        s->pause_until = now + d;
}

void gen_sched_concurrency_limited(gen_sched *s, double now, double d)
{
    /* Fewer tasks than we thought may run at once: wait for one of ours
     * to end, or for the pause. */
    if (s->inflight > 0 && s->inflight < s->max_inflight)
        s->max_inflight = s->inflight;
    if (now + d > s->conc_pause_until)
        s->conc_pause_until = now + d;
}

double gen_sched_wait(const gen_sched *s, double now, double most)
{
    double wait = most;
    if (s->nheap > 0 && s->at[s->heap[0]] - now < wait)
        wait = s->at[s->heap[0]] - now;
    double ra;
    if (s->qlen > 0 && s->inflight >= s->max_inflight && s->rlen > 0 &&
        !isnan(ra = gen_sched_release_after(s)) && s->rel_at[s->rhead] + ra - now < wait)
        wait = s->rel_at[s->rhead] + ra - now;
    if (s->qlen > 0 && s->inflight < s->max_inflight && s->rpm > 0) {
        double tok = (1.0 - s->tokens) / (s->rpm / 60.0);
        double p = s->pause_until > s->conc_pause_until ? s->pause_until : s->conc_pause_until;
        if (p - now > tok)
            tok = p - now;
        if (tok < wait)
            wait = tok;
    }
    /* Never a busy loop. */
    return wait < 0.001 ? 0.001 : wait;
}

/* ---- poll timing ---- */

void gen_sched_learn(gen_sched *s, double last_miss, double age)
{
    /* Seen done at `age` after a poll that found it running at
     * last_miss: it ended in between. Without such a poll, only "before
     * age" is known: a little earlier is guessed, so that the next polls
     * probe below and find out. */
    gen_sched_learn_took(s, last_miss > 0 ? (last_miss + age) / 2 : age * 0.95);
    s->exact[(s->sample_i + GEN_SCHED_SAMPLES - 1) % GEN_SCHED_SAMPLES] = false;
}

void gen_sched_learn_took(gen_sched *s, double took)
{
    s->samples[s->sample_i] = took;
    s->exact[s->sample_i] = true;
    s->sample_i = (s->sample_i + 1) % GEN_SCHED_SAMPLES;
    if (s->nsamples < GEN_SCHED_SAMPLES)
        s->nsamples++;
}

double gen_sched_expected(const gen_sched *s)
{
    int n = s->nsamples;
    if (n == 0)
        return NAN;
    double v[GEN_SCHED_SAMPLES];
    memcpy(v, s->samples, (size_t)n * sizeof *v);
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && v[b] < v[b - 1]; b--) {
            double x = v[b];
            v[b] = v[b - 1];
            v[b - 1] = x;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A slot is only free again once we have seen the task end, so the
 * first poll aims at the expected end, 1% late: about half the tasks are
 * then found done at the first poll, the others one short step later
 * (aiming early made every task cost three polls or more:
 * bench/generate.sh). Before anything is known: one second. */
double gen_sched_first_poll(const gen_sched *s, double poll_interval)
{
    double e = gen_sched_expected(s);
    return isnan(e) ? (poll_interval < 1 ? poll_interval : 1) : e * 1.01;
}

/* d, spread by +-spread at random. */
static double gen_sched_jitter(uint64_t *rng, double d, double spread)
{
    double u = (double)(backoff_rand(rng) >> 11) / 9007199254740992.0;
    return d * (1.0 - spread + 2 * spread * u);
}

/* Without an estimate the age doubles (1, 2, 4 ... s, up to
 * poll_interval); with one, short jittered steps (2% of the expected
 * time), since the end is near. */
double gen_sched_repoll(const gen_sched *s, double age, double poll_interval, uint64_t *rng)
{
    double e = gen_sched_expected(s);
    double d;
    if (isnan(e) || age < e * 0.9) {
        d = isnan(e) ? age : e * 1.01 - age;
        if (d < 0.05)
            d = 0.05;
    } else {
        d = gen_sched_jitter(rng, e * 0.02, 0.2);
        if (d < 0.02)
            d = 0.02;
    }
    return d > poll_interval ? poll_interval : d;
}

/* Slots freed by the clock while jobs wait: lookups only fetch the
 * videos, and can wait for a whole generation's worth of tasks. */
bool gen_sched_clocked(const gen_sched *s)
{
    return s->qlen > 0 && !isnan(gen_sched_release_after(s));
}

void gen_sched_running(gen_sched *s, double age)
{
    if (age > s->running_age)
        s->running_age = age;
}

double gen_sched_batch_gap(const gen_sched *s, double poll_interval)
{
    double e = gen_sched_expected(s);
    /* Before any task ends, tasks created a moment apart fall due a
     * moment apart: a lookup each, all finding nothing (9 in the first 2
     * s at 10 creates a second, each taking a create's token). Half the
     * oldest age seen running: no task ends much sooner, if they are
     * alike. */
    double d = isnan(e) ? fmax(0.1 * (poll_interval < 1 ? poll_interval : 1), s->running_age / 2)
               : gen_sched_clocked(s)
                   ? e
                   : ldexp(e * 0.25, s->lookup_misses < 30 ? s->lookup_misses : 30);
    if (d < 0.02)
        d = 0.02;
    return d > poll_interval ? poll_interval : d;
}

int gen_sched_lookup_quorum(const gen_sched *s)
{
    if (s->lookup_misses > 0 || isnan(gen_sched_expected(s)) || gen_sched_clocked(s))
        return 0;
    int q = (s->inflight + 3) / 4;
    return q < 1 ? 1 : q;
}

double gen_sched_group_window(const gen_sched *s)
{
    double e = gen_sched_expected(s);
    return isnan(e) ? 0 : e * 0.05;
}

double gen_sched_group_end(const double *at, size_t n, double first, double window)
{
    double end = first;
    for (size_t k = 0; k < n; k++)
        if (at[k] > end && at[k] <= first + window)
            end = at[k];
    return end;
}

void gen_sched_lookup_result(gen_sched *s, size_t done)
{
    if (done > 0)
        s->lookup_misses = 0;
    else if (s->lookup_misses < 30)
        s->lookup_misses++;
}

/* ---- slots freed by the clock ---- */

void gen_sched_created(gen_sched *s, size_t task, double created)
{
    /* A task is created at most once per run but may be again after a
     * cancel: the line, as long as the table, only wraps on such. */
    size_t n = s->ntasks ? s->ntasks : 1;
    if (s->rlen == n) {
        s->rhead = (s->rhead + 1) % n;
        s->rlen--;
    }
    size_t k = (s->rhead + s->rlen) % n;
    s->rel[k] = task;
    s->rel_at[k] = created;
    s->rlen++;
}

double gen_sched_release_after(const gen_sched *s)
{
    if (s->nsamples < 4 || s->mispredictions >= 3)
        return NAN;
    double lo = INFINITY, hi = 0;
    for (int k = 0; k < s->nsamples; k++) {
        if (!s->exact[k])
            return NAN;
        lo = fmin(lo, s->samples[k]);
        hi = fmax(hi, s->samples[k]);
    }
    if (hi > lo * 1.05)
        return NAN;
    return hi + ldexp(fmax(0.002, hi * 0.001), s->mispredictions);
}

bool gen_sched_release_next(gen_sched *s, double now, size_t *task)
{
    double ra = gen_sched_release_after(s);
    if (s->rlen == 0 || isnan(ra) || s->rel_at[s->rhead] + ra > now)
        return false;
    *task = s->rel[s->rhead];
    s->rhead = (s->rhead + 1) % (s->ntasks ? s->ntasks : 1);
    s->rlen--;
    return true;
}

void gen_sched_mispredicted(gen_sched *s)
{
    s->mispredictions++;
}

size_t gen_sched_line(const gen_sched *s)
{
    return s->rlen;
}

/* ---- the budget ---- */

bool gen_sched_over_budget(double budget, double committed, double units)
{
    return budget > 0 && committed + units > budget + 1e-9;
}
