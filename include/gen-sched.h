/* gen-sched.h - the pacing of `vbatch generate`: when each task's next
 * step is due (a timer heap), which jobs wait for a submission slot (a
 * FIFO queue), how fast submissions may go (a token bucket at rpm), how
 * many tasks may run at once (the concurrency limit, lowered when the
 * provider says so), when to poll a task (learnt from the generation
 * times seen); and the budget rule.
 *
 * Pure: no clock (the time, `now`, is passed in, in seconds from any
 * origin), no I/O, no provider. Tasks are indices 0..ntasks-1 of the
 * engine's table; the engine (generate.c) decides what a due task does. */
#ifndef VB_GEN_SCHED_H
#define VB_GEN_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Generation times remembered to time the polls. */
#define GEN_SCHED_SAMPLES 32

typedef struct gen_sched {
    /* timers: a binary heap of task indices by deadline */
    size_t *heap;
    size_t nheap;
    double *at;               /* per task: its deadline */
    int *pos;                 /* per task: its place in the heap, -1 if none */
    size_t ntasks;
    /* the submission queue: a ring of task indices */
    size_t *q;
    size_t qhead, qlen, qcap;
    /* pacing */
    int rpm;                  /* submissions a minute; <= 0: no limit */
    double tokens, tokens_at; /* the bucket, as of tokens_at */
    int inflight;             /* tasks that may be running at the provider */
    int max_inflight;
    double pause_until;       /* no submission before this (rate limited) */
    double conc_pause_until;  /* ... (too many tasks at the provider) */
    /* poll timing: the last generation times seen, a ring */
    double samples[GEN_SCHED_SAMPLES];
    bool exact[GEN_SCHED_SAMPLES]; /* the provider's own figure */
    int nsamples, sample_i;
    /* slots freed by the clock: tasks created, in creation order */
    size_t *rel;
    double *rel_at;           /* when each was created */
    size_t rhead, rlen;
    int mispredictions;
    int lookup_misses;        /* batch lookups in a row that found nothing done */
    double running_age;       /* the oldest age a task was seen running at */
} gen_sched;

/* For ntasks tasks, at most max_inflight (> 0) in flight, rpm
 * submissions a minute (<= 0: no limit), the bucket holding one token at
 * `now`. Released by gen_sched_free. */
void gen_sched_init(gen_sched *s, size_t ntasks, int max_inflight, int rpm, double now);
void gen_sched_free(gen_sched *s);
/* Room for ntasks tasks (more than it has: jobs added while the engine
 * runs); the timers set, the line and the creation order are kept. */
void gen_sched_grow(gen_sched *s, size_t ntasks);

/* ---- timers ---- */

/* Task's next step is due at `when` (a task has one timer: setting it
 * again moves it). */
void gen_sched_timer_set(gen_sched *s, size_t task, double when);
/* Is a timer due at `now`? */
bool gen_sched_timer_due(const gen_sched *s, double now);
/* The task whose timer is the earliest, taken off the heap (there must
 * be one). Equal deadlines come out in no particular order. */
size_t gen_sched_timer_pop(gen_sched *s);
/* Is the task's timer set, and when is it due? */
bool gen_sched_timer_get(const gen_sched *s, size_t task, double *when);
/* The task's timer taken off the heap (none set: nothing happens). */
void gen_sched_timer_cancel(gen_sched *s, size_t task);
/* Timers set. */
size_t gen_sched_timers(const gen_sched *s);

/* ---- the submission queue ---- */

/* Task waits for a submission: last, or first (front: a job put back,
 * which keeps its place ahead of the others). */
void gen_sched_queue_push(gen_sched *s, size_t task, bool front);
size_t gen_sched_queue_len(const gen_sched *s);
/* The task first in line (the queue must not be empty). */
size_t gen_sched_queue_front(const gen_sched *s);
size_t gen_sched_queue_pop(gen_sched *s);

/* ---- pacing ---- */

/* May a submission go at `now`: a slot free, no pause, a token in the
 * bucket (refilled up to now)? Taking the token is gen_sched_take. */
bool gen_sched_may_submit(gen_sched *s, double now);
void gen_sched_take(gen_sched *s);
/* Any other request the rate limit counts takes a token too, without
 * waiting for one: the bucket may go into debt, which the submissions
 * then pay back by waiting (a lookup must not wait behind submissions
 * that need its answer). rpm <= 0: nothing. */
void gen_sched_charge(gen_sched *s, double now);
/* A task starts (or stops) counting against the concurrency limit. */
void gen_sched_busy(gen_sched *s);
void gen_sched_idle(gen_sched *s);
/* The provider refused a submission for going too fast: none before
 * now + d. */
void gen_sched_rate_limited(gen_sched *s, double now, double d);
/* ... for too many tasks running: the limit comes down to the tasks
 * running now (when some are), and none before now + d. */
void gen_sched_concurrency_limited(gen_sched *s, double now, double d);
/* How long the engine may sleep at `now`, at most `most` seconds: until
 * the next timer, or the next token when a job waits and a slot is free;
 * at least 1 ms. */
double gen_sched_wait(const gen_sched *s, double now, double most);

/* ---- poll timing ---- */

/* A task was seen done `age` seconds after it was created, the poll
 * before having found it running at `last_miss` (0: no such poll). */
void gen_sched_learn(gen_sched *s, double last_miss, double age);
/* A task was seen still running `age` seconds after its creation. */
void gen_sched_running(gen_sched *s, double age);
/* ... or the provider said how long it took (its own clock): exact. */
void gen_sched_learn_took(gen_sched *s, double took);
/* The generation time expected: the median of the recent ones, NAN
 * before the first task ends. */
double gen_sched_expected(const gen_sched *s);
/* Seconds from a task's creation to its first poll, polls being at most
 * poll_interval apart. */
double gen_sched_first_poll(const gen_sched *s, double poll_interval);
/* Seconds to the next poll of a task found running at `age`; rng: the
 * engine's generator, for the jitter. */
double gen_sched_repoll(const gen_sched *s, double age, double poll_interval, uint64_t *rng);

/* Batch lookups. One lookup costs one request whatever the number of
 * tasks it asks about, and covers every task in flight (up to the chunk
 * size): the tasks' own poll timers say when a lookup is wanted (the
 * earliest expected end), and this gap, the least time between two
 * lookups, says how often it may go. A quarter of the expected generation
 * time: the tasks whose slots one lookup frees are submitted again
 * together, so tasks end in a few groups and each lookup finds a group
 * done (about 4 / max_inflight lookups per task) instead of one task
 * each (half the time halved the lookups but made the groups' tails wait:
 * bench/generate.sh). Doubled after each lookup that found nothing done
 * (late tasks are probed ever less often), back to a quarter once one
 * ends; poll_interval at most, 20 ms
 * at least. Before any task ends: a tenth of a second (or of
 * poll_interval). */
double gen_sched_batch_gap(const gen_sched *s, double poll_interval);
/* The gap holds a lookup back only while few polls are due: once a
 * quarter of the tasks in flight are (at least 1), the lookup goes at
 * once, since it frees that many slots (a fixed gap made groups due just
 * after a lookup wait up to a quarter of a generation with their slots
 * idle: 3.5% over the bound in bench/generate.sh; lookups per task stay
 * near 4 / max_inflight). Not while lookups find nothing done (the
 * expected time is too short): then the gap alone. 0: no quorum. */
int gen_sched_lookup_quorum(const gen_sched *s);
/* Tasks submitted together end together, but their creates' answers
 * arrive spread over a few tens of milliseconds: a lookup wanted at
 * `first` (the earliest poll due) waits for the polls due within the
 * group window after it (5% of the expected time; 0 before any is
 * known), so that one lookup finds the whole group done instead of its
 * first half. gen_sched_group_end: the last of the times at[0..n-1]
 * within [first, first + window], first if none. */
double gen_sched_group_window(const gen_sched *s);
double gen_sched_group_end(const double *at, size_t n, double first, double window);
/* A batch lookup's reply held `done` tasks finished (or failed). */
void gen_sched_lookup_result(gen_sched *s, size_t done);

/* ---- slots freed by the clock ----
 *
 * When every task takes the same time, the provider frees a slot the
 * moment a task ends, long before a lookup can say so: a client that
 * waits to see the end leaves its slot idle for the lookup's delay, once
 * per slot and wave (3% over the bound at 20 tasks and 600 a minute,
 * where the limits balance exactly: bench/generate.sh). So once the
 * provider's own generation times are steady, a task stops counting
 * against the limit at its creation plus the longest of them; it is still
 * looked up for its video. Tasks are released in the order they were
 * created, since they all get the same time. */

/* Task was created (its create answered) at `created`. */
void gen_sched_created(gen_sched *s, size_t task, double created);
/* The generation time after which a slot is taken to be free, NAN when
 * the clock is not trusted: fewer than 4 times known, one of them not the
 * provider's own figure, the slowest more than 5% above the fastest, or 3
 * mispredictions. The slowest time seen plus a margin (2 ms or 0.1%,
 * doubled per misprediction). */
double gen_sched_release_after(const gen_sched *s);
/* The next task created early enough to be released at `now`, taken off
 * the line: true and its index, or false. The engine skips tasks that no
 * longer count (seen done first). */
bool gen_sched_release_next(gen_sched *s, double now, size_t *task);
/* Are slots freed by the clock while jobs wait to be submitted? Then
 * lookups only fetch videos: the gap between two is a whole generation
 * and no quorum hurries them (gen_sched_batch_gap). */
bool gen_sched_clocked(const gen_sched *s);
/* A submission was refused for too many tasks while slots were freed by
 * the clock: a task took longer. */
void gen_sched_mispredicted(gen_sched *s);
/* Tasks in the line (some perhaps no longer counting). */
size_t gen_sched_line(const gen_sched *s);

/* ---- the budget ---- */

/* The one rule of what a run may spend: would a request estimated at
 * `units` pass the budget, `committed` units being spent or committed
 * already? budget <= 0: no budget, never. Reaching the budget exactly is
 * within it (a rounding error of 1e-9 too). The engine and the plan of a
 * dry run both ask it in submission order and submit nothing more once a
 * request does not fit, even if a cheaper one follows. */
bool gen_sched_over_budget(double budget, double committed, double units);

#endif
