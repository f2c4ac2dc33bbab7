/* test-gen-sched.c - the pacing of `vbatch generate` (gen-sched.c) over
 * simulated time: timers in order (equal deadlines, many timers, moved
 * timers), the submission queue FIFO across its growth and wrap, the
 * token bucket's refill and cap, submissions within rpm and within the
 * concurrency limit over a timeline, poll timing learnt from the
 * generation times seen, slots freed by the clock (and a server's own
 * count never exceeded), requests charged to the bucket, the budget
 * rule's edges; and how a
 * generate run's result maps to its exit status. */
#include "config.h"
#include "gen-sched.h"
#include "generate.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Pop every timer: deadlines never go down, each task comes out once. */
static void pop_all_in_order(gen_sched *s, size_t expect, const char *what)
{
    char *seen = calloc(s->ntasks ? s->ntasks : 1, 1);
    double last = -INFINITY;
    size_t n = 0;
    bool ordered = true, once = true;
    while (gen_sched_timers(s) > 0) {
        size_t i = gen_sched_timer_pop(s);
        if (s->at[i] < last)
            ordered = false;
        last = s->at[i];
        if (seen[i])
            once = false;
        seen[i] = 1;
        n++;
    }
    if (!ordered || !once || n != expect)
        fprintf(stderr, "%s: ordered %d, once %d, %zu of %zu\n", what, ordered, once, n, expect);
    CHECK(ordered);
    CHECK(once);
    CHECK_INT(n, expect);
    free(seen);
}

static void test_timers(void)
{
    gen_sched s;
    /* many timers, random deadlines */
    gen_sched_init(&s, 5000, 3, 60, 0);
    for (size_t i = 0; i < 5000; i++)
        gen_sched_timer_set(&s, i, rnd() * 1000);
    CHECK_INT(gen_sched_timers(&s), 5000);
    pop_all_in_order(&s, 5000, "random");
    gen_sched_free(&s);

    /* equal deadlines, among earlier and later ones */
    gen_sched_init(&s, 300, 3, 60, 0);
    for (size_t i = 0; i < 300; i++)
        gen_sched_timer_set(&s, i, i % 3 == 0 ? 5.0 : i % 3 == 1 ? 2.0 : 9.0);
    /* at 4 s: the hundred at 2 s are due, nothing else */
    size_t due = 0;
    while (gen_sched_timer_due(&s, 4.0)) {
        size_t i = gen_sched_timer_pop(&s);
        CHECK(s.at[i] == 2.0);
        due++;
    }
    CHECK_INT(due, 100);
    CHECK(!gen_sched_timer_due(&s, 4.999));
    CHECK(gen_sched_timer_due(&s, 5.0));
    pop_all_in_order(&s, 200, "equal");
    gen_sched_free(&s);

    /* cancelled timers: gone from anywhere in the heap, the rest in order */
    gen_sched_init(&s, 2000, 3, 60, 0);
    for (size_t i = 0; i < 2000; i++)
        gen_sched_timer_set(&s, i, rnd() * 100);
    double when = -1;
    CHECK(gen_sched_timer_get(&s, 17, &when) && when == s.at[17]);
    size_t left = 2000;
    for (size_t i = 0; i < 2000; i += 3) {
        gen_sched_timer_cancel(&s, i);
        left--;
        CHECK(!gen_sched_timer_get(&s, i, &when));
    }
    gen_sched_timer_cancel(&s, 0); /* twice: nothing happens */
    CHECK_INT(gen_sched_timers(&s), left);
    double prev = -1;
    bool none_cancelled = true, sorted = true;
    while (gen_sched_timers(&s) > 0) {
        size_t i = gen_sched_timer_pop(&s);
        none_cancelled = none_cancelled && i % 3 != 0;
        sorted = sorted && s.at[i] >= prev;
        prev = s.at[i];
        left--;
    }
    CHECK(none_cancelled);
    CHECK(sorted);
    CHECK_INT(left, 0);
    gen_sched_free(&s);

    /* all equal */
    gen_sched_init(&s, 64, 3, 60, 0);
    for (size_t i = 0; i < 64; i++)
        gen_sched_timer_set(&s, i, 1.0);
    pop_all_in_order(&s, 64, "all equal");
    gen_sched_free(&s);

    /* a timer set again moves; a popped task can be set again */
    gen_sched_init(&s, 10, 3, 60, 0);
    for (size_t i = 0; i < 10; i++)
        gen_sched_timer_set(&s, i, 10.0 + (double)i);
    gen_sched_timer_set(&s, 7, 1.0);   /* earlier */
    gen_sched_timer_set(&s, 0, 100.0); /* later */
    CHECK_INT(gen_sched_timers(&s), 10);
    CHECK_INT(gen_sched_timer_pop(&s), 7);
    CHECK_INT(gen_sched_timer_pop(&s), 1);
    gen_sched_timer_set(&s, 7, 11.5);      /* popped, set again */
    CHECK_INT(gen_sched_timer_pop(&s), 7);
    CHECK_INT(gen_sched_timer_pop(&s), 2);
    pop_all_in_order(&s, 7, "set again");
    CHECK_INT(s.at[0], 100);
    gen_sched_free(&s);
}

static void test_timer_moved_order(void)
{
    gen_sched s;
    gen_sched_init(&s, 10, 3, 60, 0);
    for (size_t i = 0; i < 10; i++)
        gen_sched_timer_set(&s, i, 10.0 + (double)i);
    gen_sched_timer_set(&s, 7, 11.5);
    /* 10 (task 0), 11 (1), 11.5 (7), 12 (2) ... */
    CHECK_INT(gen_sched_timer_pop(&s), 0);
    CHECK_INT(gen_sched_timer_pop(&s), 1);
    CHECK_INT(gen_sched_timer_pop(&s), 7);
    CHECK_INT(gen_sched_timer_pop(&s), 2);
    pop_all_in_order(&s, 6, "moved");
    /* random moves keep the heap in order */
    for (size_t i = 0; i < 10; i++)
        gen_sched_timer_set(&s, i, rnd());
    for (int k = 0; k < 1000; k++)
        gen_sched_timer_set(&s, (size_t)(rnd() * 10) % 10, rnd() * 50);
    pop_all_in_order(&s, 10, "random moves");
    gen_sched_free(&s);
}

static void test_queue(void)
{
    gen_sched s;
    gen_sched_init(&s, 1000, 3, 60, 0);
    /* past the first growth (64) */
    for (size_t i = 0; i < 200; i++)
        gen_sched_queue_push(&s, i, false);
    CHECK_INT(gen_sched_queue_len(&s), 200);
    bool fifo = true;
    for (size_t i = 0; i < 200; i++) {
        CHECK_INT(gen_sched_queue_front(&s), i);
        if (gen_sched_queue_pop(&s) != i)
            fifo = false;
    }
    CHECK(fifo);
    CHECK_INT(gen_sched_queue_len(&s), 0);

    /* around the ring, growing while wrapped */
    size_t next_in = 0, next_out = 0;
    fifo = true;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 7; k++)
            gen_sched_queue_push(&s, next_in++ % 1000, false);
        for (int k = 0; k < 5; k++)
            if (gen_sched_queue_pop(&s) != next_out++ % 1000)
                fifo = false;
    }
    while (gen_sched_queue_len(&s) > 0)
        if (gen_sched_queue_pop(&s) != next_out++ % 1000)
            fifo = false;
    CHECK(fifo);
    CHECK_INT(next_out, next_in);

    /* a job put back goes first */
    gen_sched_queue_push(&s, 1, false);
    gen_sched_queue_push(&s, 2, false);
    gen_sched_queue_push(&s, 9, true);
    CHECK_INT(gen_sched_queue_pop(&s), 9);
    CHECK_INT(gen_sched_queue_pop(&s), 1);
    CHECK_INT(gen_sched_queue_pop(&s), 2);
    gen_sched_free(&s);
}

static void test_bucket(void)
{
    gen_sched s;
    /* 120 a minute: 2 tokens a second, the bucket holds 2 */
    gen_sched_init(&s, 10, 100, 120, 0);
    CHECK(gen_sched_may_submit(&s, 0));       /* one token to start */
    gen_sched_take(&s);
    CHECK(!gen_sched_may_submit(&s, 0.25));   /* half a token */
    CHECK_NEAR(s.tokens, 0.5, 1e-9);
    CHECK(gen_sched_may_submit(&s, 0.5));
    gen_sched_take(&s);
    CHECK_NEAR(s.tokens, 0, 1e-9);
    /* a long pause: the bucket fills up to its cap, no further */
    CHECK(gen_sched_may_submit(&s, 100));
    CHECK_NEAR(s.tokens, 2, 1e-9);
    gen_sched_take(&s);
    CHECK(gen_sched_may_submit(&s, 100));
    gen_sched_take(&s);
    CHECK(!gen_sched_may_submit(&s, 100));
    /* the wait until the next token: half a second */
    gen_sched_queue_push(&s, 0, false);
    CHECK_NEAR(gen_sched_wait(&s, 100, 5), 0.5, 1e-9);
    gen_sched_free(&s);

    /* below one a second the bucket still holds one */
    gen_sched_init(&s, 10, 100, 6, 0);
    CHECK(gen_sched_may_submit(&s, 0));
    gen_sched_take(&s);
    CHECK(!gen_sched_may_submit(&s, 9.9));
    CHECK(gen_sched_may_submit(&s, 10.0));
    CHECK(gen_sched_may_submit(&s, 1000));
    CHECK_NEAR(s.tokens, 1, 1e-9);
    gen_sched_free(&s);

    /* no rpm: a billion a second (one more every nanosecond), only the
     * slots limit */
    gen_sched_init(&s, 10, 2, 0, 0);
    bool free_flow = true;
    for (int k = 0; k < 100; k++) {
        if (!gen_sched_may_submit(&s, k * 1e-6))
            free_flow = false;
        gen_sched_take(&s);
    }
    CHECK(free_flow);
    gen_sched_busy(&s);
    gen_sched_busy(&s);
    CHECK(!gen_sched_may_submit(&s, 1));
    gen_sched_idle(&s);
    CHECK(gen_sched_may_submit(&s, 1));
    gen_sched_free(&s);
}

static void test_pauses(void)
{
    gen_sched s;
    gen_sched_init(&s, 10, 5, 0, 0);
    gen_sched_rate_limited(&s, 10, 3);
    CHECK(!gen_sched_may_submit(&s, 12.9));
    CHECK(gen_sched_may_submit(&s, 13));
    /* a shorter pause does not shorten a longer one */
    gen_sched_rate_limited(&s, 20, 10);
    gen_sched_rate_limited(&s, 21, 1);
    CHECK(!gen_sched_may_submit(&s, 29));
    CHECK(gen_sched_may_submit(&s, 30));
    /* too many tasks: the limit comes down to those running */
    gen_sched_busy(&s);
    gen_sched_busy(&s);
    gen_sched_concurrency_limited(&s, 30, 2);
    CHECK_INT(s.max_inflight, 2);
    CHECK(!gen_sched_may_submit(&s, 31));
    gen_sched_idle(&s);
    CHECK(!gen_sched_may_submit(&s, 31));  /* paused still */
    CHECK(gen_sched_may_submit(&s, 32));
    /* ... but never to zero */
    gen_sched_idle(&s);
    gen_sched_concurrency_limited(&s, 40, 1);
    CHECK_INT(s.max_inflight, 2);
    gen_sched_free(&s);
}

/* A timeline: `jobs` jobs queued, each task running `run` seconds (plus
 * up to `spread`) once submitted, the engine's loop sleeping as
 * gen_sched_wait says. Checks the limits at every submission. */
static void simulate(int jobs, int max_inflight, int rpm, double run, double spread)
{
    gen_sched s;
    gen_sched_init(&s, (size_t)jobs, max_inflight, rpm, 0);
    for (int i = 0; i < jobs; i++)
        gen_sched_queue_push(&s, (size_t)i, false);
    double *sub = calloc((size_t)jobs, sizeof *sub);
    int nsub = 0, peak = 0, steps = 0;
    bool within_slots = true;
    double now = 0;
    while ((gen_sched_queue_len(&s) > 0 || gen_sched_timers(&s) > 0) && steps < 10000000) {
        steps++;
        while (gen_sched_timer_due(&s, now)) {
            gen_sched_timer_pop(&s);
            gen_sched_idle(&s);  /* the task ended */
        }
        while (gen_sched_queue_len(&s) > 0 && gen_sched_may_submit(&s, now)) {
            size_t i = gen_sched_queue_pop(&s);
            gen_sched_take(&s);
            gen_sched_busy(&s);
            if (s.inflight > max_inflight)
                within_slots = false;
            if (s.inflight > peak)
                peak = s.inflight;
            sub[nsub++] = now;
            gen_sched_timer_set(&s, i, now + run + spread * rnd());
        }
        now += gen_sched_wait(&s, now, 0.25);
    }
    CHECK_INT(nsub, jobs);
    CHECK(within_slots);
    CHECK(peak <= max_inflight);
    /* In any minute: at most rpm, plus what the bucket held at its start
     * (a second's worth, at least one). */
    double rate = rpm / 60.0, cap = rate < 1 ? 1 : rate;
    int worst = 0;
    for (int a = 0, b = 0; a < nsub; a++) {
        while (b < nsub && sub[b] < sub[a] + 60.0)
            b++;
        if (b - a > worst)
            worst = b - a;
    }
    if (worst > rpm + cap)
        fprintf(stderr, "simulate(%d, %d, %d): %d submissions in a minute\n", jobs,
                max_inflight, rpm, worst);
    CHECK(worst <= rpm + cap);
    /* ... and since the start, no more than the bucket allows */
    bool paced = true;
    for (int k = 0; k < nsub; k++)
        if (k + 1 > 1 + rate * sub[k] + 1e-6)
            paced = false;
    CHECK(paced);
    /* not slower than the tighter limit either: the pacing does not
     * stall (within 10% and a task's length) */
    double by_rate = (jobs - 1) / rate;
    double by_slots = (double)(jobs / max_inflight) * (run + spread);
    double bound = (by_rate > by_slots ? by_rate : by_slots) * 1.1 + run + spread + 1;
    if (sub[nsub - 1] > bound)
        fprintf(stderr, "simulate(%d, %d, %d): last submission at %g s, expected by %g s\n",
                jobs, max_inflight, rpm, sub[nsub - 1], bound);
    CHECK(sub[nsub - 1] <= bound);
    free(sub);
    gen_sched_free(&s);
}

static void test_timeline(void)
{
    simulate(200, 1000, 60, 30, 0);    /* rpm binds: 1 a second */
    simulate(300, 1000, 600, 5, 2);    /* 10 a second, bucket of 10 */
    simulate(100, 3, 600, 20, 10);     /* the slots bind */
    simulate(50, 2, 6, 1, 0);          /* slow rpm, short tasks */
    simulate(500, 7, 90, 3, 4);
}

static void test_polls(void)
{
    gen_sched s;
    uint64_t r = 42;
    gen_sched_init(&s, 10, 3, 60, 0);
    /* nothing known: first poll after a second (or poll_interval), then
     * the age doubles, up to poll_interval */
    CHECK(isnan(gen_sched_expected(&s)));
    CHECK_NEAR(gen_sched_first_poll(&s, 5), 1, 1e-12);
    CHECK_NEAR(gen_sched_first_poll(&s, 0.3), 0.3, 1e-12);
    CHECK_NEAR(gen_sched_repoll(&s, 1, 5, &r), 1, 1e-12);
    CHECK_NEAR(gen_sched_repoll(&s, 2, 5, &r), 2, 1e-12);
    CHECK_NEAR(gen_sched_repoll(&s, 10, 5, &r), 5, 1e-12);
    CHECK_NEAR(gen_sched_repoll(&s, 0.01, 5, &r), 0.05, 1e-12);
    /* batch lookups: 0.1 s apart (a tenth of poll_interval, 1 s at most) */
    CHECK_NEAR(gen_sched_batch_gap(&s, 5), 0.1, 1e-12);
    CHECK_NEAR(gen_sched_batch_gap(&s, 0.3), 0.03, 1e-12);
    CHECK_NEAR(gen_sched_batch_gap(&s, 0.01), 0.01, 1e-12);
    /* a task seen done at 11 s, running at 9 s: it took about 10 s;
     * without a poll that found it running, a little less than seen */
    gen_sched_learn(&s, 9, 11);
    CHECK_NEAR(gen_sched_expected(&s), 10, 1e-12);
    gen_sched_learn(&s, 0, 20);              /* 19 */
    gen_sched_learn(&s, 11, 13);             /* 12 */
    CHECK_NEAR(gen_sched_expected(&s), 12, 1e-12);   /* median of 10, 19, 12 */
    gen_sched_learn(&s, 13, 15);             /* 14 */
    CHECK_NEAR(gen_sched_expected(&s), 13, 1e-12);   /* of 10, 12, 14, 19 */
    /* then aimed at the expected end, 1% late */
    CHECK_NEAR(gen_sched_first_poll(&s, 5), 13.13, 1e-9);
    /* well before it: at the expected end (capped by poll_interval) */
    CHECK_NEAR(gen_sched_repoll(&s, 5, 20, &r), 13.13 - 5, 1e-9);
    CHECK_NEAR(gen_sched_repoll(&s, 5, 5, &r), 5, 1e-12);
    /* near or past it: short jittered steps, 2% of it +-20% */
    bool in_range = true, varies = false;
    double first = gen_sched_repoll(&s, 12, 20, &r);
    for (int k = 0; k < 200; k++) {
        double d = gen_sched_repoll(&s, 12 + k * 0.1, 20, &r);
        if (d < 13 * 0.02 * 0.8 - 1e-12 || d > 13 * 0.02 * 1.2 + 1e-12)
            in_range = false;
        if (d != first)
            varies = true;
    }
    CHECK(in_range);
    CHECK(varies);
    /* batch lookups a quarter of the expected time apart (poll_interval
     * at most), doubled after each that found nothing done, back once
     * one finds a task ended */
    CHECK_NEAR(gen_sched_batch_gap(&s, 5), 13 * 0.25, 1e-12);
    CHECK_NEAR(gen_sched_batch_gap(&s, 0.1), 0.1, 1e-12);
    gen_sched_lookup_result(&s, 0);
    CHECK_NEAR(gen_sched_batch_gap(&s, 100), 13 * 0.5, 1e-12);
    gen_sched_lookup_result(&s, 0);
    CHECK_NEAR(gen_sched_batch_gap(&s, 100), 13, 1e-12);
    CHECK_NEAR(gen_sched_batch_gap(&s, 5), 5, 1e-12);
    for (int k = 0; k < 100; k++)
        gen_sched_lookup_result(&s, 0);
    CHECK_NEAR(gen_sched_batch_gap(&s, 60), 60, 1e-12);   /* no overflow */
    gen_sched_lookup_result(&s, 3);
    CHECK_NEAR(gen_sched_batch_gap(&s, 100), 13 * 0.25, 1e-12);
    /* a lookup waits for its group: the polls due within 5% of the
     * expected time after the first, no later one */
    CHECK_NEAR(gen_sched_group_window(&s), 13 * 0.05, 1e-12);
    double at[] = { 10.0, 10.3, 10.6, 10.66, 11.0, 9.0 };
    CHECK_NEAR(gen_sched_group_end(at, 6, 10.0, 0.65), 10.6, 1e-12);
    CHECK_NEAR(gen_sched_group_end(at, 6, 10.0, 0.2), 10.0, 1e-12);
    CHECK_NEAR(gen_sched_group_end(at, 0, 10.0, 0.65), 10.0, 1e-12);
    CHECK_NEAR(gen_sched_group_end(at, 6, 10.0, 5), 11.0, 1e-12);
    /* the provider's own figure is taken as it is */
    gen_sched s2;
    gen_sched_init(&s2, 1, 1, 0, 0);
    CHECK_NEAR(gen_sched_group_window(&s2), 0, 1e-12);  /* nothing known */
    gen_sched_learn_took(&s2, 2.0);
    gen_sched_learn_took(&s2, 2.0);
    gen_sched_learn(&s2, 1, 3);      /* bracketed: 2 */
    CHECK_NEAR(gen_sched_expected(&s2), 2.0, 1e-12);
    CHECK_NEAR(gen_sched_batch_gap(&s2, 5), 0.5, 1e-12);
    /* the gap gives way once a quarter of the tasks in flight are due
     * (1 at least); not while lookups find nothing done, nor before any
     * time is known */
    gen_sched s3;
    gen_sched_init(&s3, 40, 20, 600, 0);
    CHECK_INT(gen_sched_lookup_quorum(&s3), 0);
    gen_sched_learn_took(&s3, 2.0);
    CHECK_INT(gen_sched_lookup_quorum(&s3), 1);
    for (int k = 0; k < 20; k++)
        gen_sched_busy(&s3);
    CHECK_INT(gen_sched_lookup_quorum(&s3), 5);
    gen_sched_idle(&s3);
    CHECK_INT(gen_sched_lookup_quorum(&s3), 5);   /* 19 in flight: rounded up */
    gen_sched_lookup_result(&s3, 0);
    CHECK_INT(gen_sched_lookup_quorum(&s3), 0);
    gen_sched_lookup_result(&s3, 2);
    CHECK_INT(gen_sched_lookup_quorum(&s3), 5);
    gen_sched_free(&s3);
    gen_sched_free(&s2);
    /* the last GEN_SCHED_SAMPLES times only */
    for (int k = 0; k < GEN_SCHED_SAMPLES; k++)
        gen_sched_learn(&s, 0, 100 / 0.95);
    CHECK_INT(s.nsamples, GEN_SCHED_SAMPLES);
    CHECK_NEAR(gen_sched_expected(&s), 100, 1e-9);
    gen_sched_free(&s);
}

/* Slots freed by the clock: trusted only on steady, exact generation
 * times; released in creation order; less trusted per misprediction. */
static void test_clock(void)
{
    gen_sched s;
    gen_sched_init(&s, 100, 2, 600, 0);
    CHECK(isnan(gen_sched_release_after(&s)));
    gen_sched_learn_took(&s, 2.0);
    gen_sched_learn_took(&s, 1.98);
    gen_sched_learn_took(&s, 1.99);
    CHECK(isnan(gen_sched_release_after(&s)));   /* 3 known */
    gen_sched_learn_took(&s, 2.0);
    CHECK_NEAR(gen_sched_release_after(&s), 2.002, 1e-9);
    /* a time we only guessed (from polls) */
    gen_sched_learn(&s, 1.5, 2.5);
    CHECK(isnan(gen_sched_release_after(&s)));
    gen_sched_free(&s);

    /* times 5% apart and more: not trusted */
    gen_sched_init(&s, 100, 2, 600, 0);
    for (int k = 0; k < 6; k++)
        gen_sched_learn_took(&s, k == 3 ? 2.2 : 2.0);
    CHECK(isnan(gen_sched_release_after(&s)));
    gen_sched_free(&s);

    gen_sched_init(&s, 3, 2, 600, 0);
    for (int k = 0; k < 4; k++)
        gen_sched_learn_took(&s, 2.0);
    size_t t = 99;
    CHECK(!gen_sched_release_next(&s, 10, &t));      /* nothing created */
    gen_sched_created(&s, 2, 0.0);
    gen_sched_created(&s, 0, 0.1);
    gen_sched_created(&s, 1, 0.2);
    CHECK(!gen_sched_release_next(&s, 2.001, &t));   /* within the margin */
    CHECK(gen_sched_release_next(&s, 2.05, &t));
    CHECK_INT(t, 2);
    CHECK(!gen_sched_release_next(&s, 2.05, &t));
    /* the wait of a job queued with every slot taken ends at the next
     * release */
    gen_sched_queue_push(&s, 2, false);
    gen_sched_busy(&s);
    gen_sched_busy(&s);
    CHECK_NEAR(gen_sched_wait(&s, 2.05, 1.0), 0.052, 1e-9);  /* 0.1 + 2.002 */
    CHECK(gen_sched_clocked(&s));
    CHECK_NEAR(gen_sched_batch_gap(&s, 5), 2.0, 1e-9);  /* lookups only fetch videos */
    CHECK_INT(gen_sched_lookup_quorum(&s), 0);
    CHECK(gen_sched_release_next(&s, 9, &t));
    CHECK_INT(t, 0);
    CHECK(gen_sched_release_next(&s, 9, &t));
    CHECK_INT(t, 1);
    CHECK(!gen_sched_release_next(&s, 9, &t));
    /* a wrap of the line (a task created again after a cancel) */
    for (size_t k = 0; k < 5; k++)
        gen_sched_created(&s, k % 3, 10.0 + (double)k);
    int n = 0;
    while (gen_sched_release_next(&s, 100, &t))
        n++;
    CHECK_INT(n, 3);
    /* mispredictions double the margin; the third ends the trust */
    gen_sched_mispredicted(&s);
    CHECK_NEAR(gen_sched_release_after(&s), 2.004, 1e-9);
    gen_sched_mispredicted(&s);
    CHECK_NEAR(gen_sched_release_after(&s), 2.008, 1e-9);
    gen_sched_mispredicted(&s);
    CHECK(isnan(gen_sched_release_after(&s)));
    CHECK(!gen_sched_clocked(&s));
    gen_sched_free(&s);

    /* before any task ends: lookups half the oldest running age apart */
    gen_sched_init(&s, 10, 2, 600, 0);
    CHECK_NEAR(gen_sched_batch_gap(&s, 5), 0.1, 1e-9);
    gen_sched_running(&s, 1.5);
    gen_sched_running(&s, 1.0);
    CHECK_NEAR(gen_sched_batch_gap(&s, 5), 0.75, 1e-9);
    gen_sched_running(&s, 30);
    CHECK_NEAR(gen_sched_batch_gap(&s, 5), 5, 1e-9);    /* poll_interval at most */
    gen_sched_free(&s);
}

/* Tasks added while the engine runs: timers, line and creation order
 * kept across the growth. */
static void test_grow(void)
{
    gen_sched s;
    gen_sched_init(&s, 2, 2, 0, 0);
    for (int k = 0; k < 4; k++)
        gen_sched_learn_took(&s, 2.0);
    gen_sched_timer_set(&s, 1, 5.0);
    gen_sched_timer_set(&s, 0, 3.0);
    gen_sched_created(&s, 1, 0.0);
    gen_sched_created(&s, 0, 0.5);
    size_t t = 99;
    CHECK(gen_sched_release_next(&s, 2.1, &t));    /* the line's head moves */
    CHECK_INT(t, 1);
    gen_sched_created(&s, 1, 1.0);                 /* ... and wraps */
    gen_sched_queue_push(&s, 1, false);
    gen_sched_grow(&s, 5);
    CHECK_INT(s.ntasks, 5);
    double when = 0;
    CHECK(!gen_sched_timer_get(&s, 4, &when));
    gen_sched_timer_set(&s, 4, 1.0);
    gen_sched_timer_set(&s, 3, 4.0);
    gen_sched_queue_push(&s, 4, false);
    CHECK_INT(gen_sched_queue_len(&s), 2);
    CHECK_INT(gen_sched_queue_front(&s), 1);
    /* the creation order as it was, then the new tasks */
    gen_sched_created(&s, 4, 1.5);
    gen_sched_created(&s, 2, 1.6);
    gen_sched_created(&s, 3, 1.7);
    size_t want[] = { 0, 1, 4, 2, 3 };
    for (size_t k = 0; k < 5; k++) {
        CHECK(gen_sched_release_next(&s, 100, &t));
        CHECK_INT(t, want[k]);
    }
    CHECK(!gen_sched_release_next(&s, 100, &t));
    size_t order[] = { 4, 0, 3, 1 };
    for (size_t k = 0; k < 4; k++) {
        CHECK(gen_sched_timer_due(&s, 10));
        CHECK_INT(gen_sched_timer_pop(&s), order[k]);
    }
    CHECK(!gen_sched_timer_due(&s, 10));
    gen_sched_grow(&s, 3);                         /* never shrinks */
    CHECK_INT(s.ntasks, 5);
    gen_sched_free(&s);
}

/* Requests other than submissions take tokens without waiting: the
 * submissions pay the debt back. */
static void test_charge(void)
{
    gen_sched s;
    gen_sched_init(&s, 10, 5, 600, 0);   /* 10 a second */
    gen_sched_queue_push(&s, 0, false);
    CHECK(gen_sched_may_submit(&s, 0));
    gen_sched_charge(&s, 0);
    gen_sched_charge(&s, 0);
    CHECK(!gen_sched_may_submit(&s, 0));  /* 1 - 2 = -1 */
    CHECK_NEAR(gen_sched_wait(&s, 0, 1.0), 0.2, 1e-9);
    CHECK(!gen_sched_may_submit(&s, 0.19));
    CHECK(gen_sched_may_submit(&s, 0.2));
    gen_sched_free(&s);
    /* without rpm: nothing to charge */
    gen_sched_init(&s, 10, 5, 0, 0);
    for (int k = 0; k < 100; k++)
        gen_sched_charge(&s, 0);
    CHECK(gen_sched_may_submit(&s, 0));
    gen_sched_free(&s);
}

/* The clock against a server that counts its own tasks: tasks run
 * exactly `run` s there and are seen done by a lookup `seen` s later;
 * freed by the clock, the slots are reused as the server frees them
 * (never one too many), and the submissions keep the rate's pace instead
 * of a lookup's delay per slot and wave. */
static void simulate_clock(int jobs, int slots, int rpm, double run, double seen)
{
    gen_sched s;
    gen_sched_init(&s, (size_t)jobs, slots, rpm, 0);
    for (int i = 0; i < jobs; i++)
        gen_sched_queue_push(&s, (size_t)i, false);
    double *start = calloc((size_t)jobs, sizeof *start);
    bool *counted = calloc((size_t)jobs, sizeof *counted);
    int nsub = 0, over = 0, steps = 0;
    double now = 0, last = 0;
    while ((gen_sched_queue_len(&s) > 0 || gen_sched_timers(&s) > 0) && steps++ < 1000000) {
        while (gen_sched_timer_due(&s, now)) {
            size_t i = gen_sched_timer_pop(&s);  /* seen done */
            gen_sched_learn_took(&s, run);
            if (counted[i]) {
                counted[i] = false;
                gen_sched_idle(&s);
            }
        }
        size_t i;
        while (gen_sched_release_next(&s, now, &i))
            if (counted[i]) {
                counted[i] = false;
                gen_sched_idle(&s);
            }
        while (gen_sched_queue_len(&s) > 0 && gen_sched_may_submit(&s, now)) {
            i = gen_sched_queue_pop(&s);
            int busy = 0;   /* the server's count */
            for (int k = 0; k < nsub; k++)
                busy += start[k] + run > now;
            over += busy >= slots;
            gen_sched_take(&s);
            gen_sched_busy(&s);
            counted[i] = true;
            start[nsub++] = now;
            last = now;
            gen_sched_created(&s, i, now);
            gen_sched_timer_set(&s, i, now + run + seen);
        }
        now += gen_sched_wait(&s, now, 0.25);
    }
    CHECK_INT(nsub, jobs);
    CHECK_INT(over, 0);
    /* the pace of the tighter limit, plus the first wave's lookups */
    double by_rate = (jobs - 1) * 60.0 / rpm;
    double by_slots = (double)((jobs + slots - 1) / slots - 1) * run;
    double bound = (by_rate > by_slots ? by_rate : by_slots) + run + seen + 0.05 * jobs / slots;
    if (last > bound)
        fprintf(stderr, "simulate_clock(%d, %d, %d): last submission at %g s, expected by %g\n",
                jobs, slots, rpm, last, bound);
    CHECK(last <= bound);
    free(start);
    free(counted);
    gen_sched_free(&s);
}

static void test_budget(void)
{
    /* no budget */
    CHECK(!gen_sched_over_budget(0, 1e9, 1e9));
    CHECK(!gen_sched_over_budget(-1, 5, 5));
    /* reaching it exactly is within */
    CHECK(!gen_sched_over_budget(10, 5, 5));
    CHECK(!gen_sched_over_budget(10, 0, 10));
    CHECK(!gen_sched_over_budget(0.3, 0.1, 0.2));  /* 0.30000000000000004 */
    /* past it */
    CHECK(gen_sched_over_budget(10, 5, 5.001));
    CHECK(gen_sched_over_budget(10, 10, 0.5));
    CHECK(gen_sched_over_budget(1, 0, 3.5));
    CHECK(gen_sched_over_budget(10, 0, 10 + 1e-6));
    /* nothing more to pay fits a reached budget */
    CHECK(!gen_sched_over_budget(10, 10, 0));
}

static void test_exit_status(void)
{
    generate_result r;
    memset(&r, 0, sizeof r);
    /* not started: the configuration's fault (2) or the journal's (3) */
    r.usage = true;
    CHECK_INT(generate_exit_status(&r), VB_EXIT_USAGE);
    r.usage = false;
    CHECK_INT(generate_exit_status(&r), VB_EXIT_ITEMS);
    /* started: as the batch ended ... */
    r.started = true;
    r.batch.started = true;
    CHECK_INT(generate_exit_status(&r), VB_EXIT_OK);
    r.batch.counts.qc_failed = 1;
    CHECK_INT(generate_exit_status(&r), VB_EXIT_QC);
    r.batch.counts.failed = 1;
    CHECK_INT(generate_exit_status(&r), VB_EXIT_ITEMS);
    r.batch.interrupted = true;  /* held by the budget or no credit */
    CHECK_INT(generate_exit_status(&r), VB_EXIT_INTERRUPTED);
    /* ... except that refused keys are a configuration error */
    r.auth_refused = true;
    CHECK_INT(generate_exit_status(&r), VB_EXIT_USAGE);
    /* a batch that could not start */
    memset(&r, 0, sizeof r);
    r.started = true;
    CHECK_INT(generate_exit_status(&r), VB_EXIT_USAGE);
}

int main(void)
{
    test_timers();
    test_timer_moved_order();
    test_queue();
    test_bucket();
    test_pauses();
    test_timeline();
    test_polls();
    test_clock();
    test_charge();
    test_grow();
    simulate_clock(500, 20, 600, 2, 0.5);   /* the limits balance */
    simulate_clock(200, 5, 6000, 1, 0.3);   /* the slots bind */
    test_budget();
    test_exit_status();
    return check_result("test-gen-sched");
}
