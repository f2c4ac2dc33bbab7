/* batch-watch.c - what watches the engine's workers from outside: the
 * watchdog, for reads that never return, and the signal thread.
 *
 * A worker blocked in the kernel (a read from a network share that never
 * returns) can neither be interrupted nor joined. When it has been
 * blocked WATCHDOG_MARGIN seconds past its item's limits (stall_timeout;
 * item_timeout or the grace period, which it should have noticed by now),
 * the item is taken from it (mediaio_clock_abandon): recorded as failed
 * ("stalled: abandoned ...") or, after the grace period, left pending,
 * and its slot gets a new worker. The old one, if its call ever returns,
 * stops there, frees its item and ends, recording nothing. Too many such
 * workers at once means the input is gone: the batch takes no new items
 * (the rest stays pending).
 *
 * SIGINT and SIGTERM are blocked in every thread and taken by one thread
 * with sigwait(), so no handler has to be async-signal-safe: the first
 * stops the batch (no new items; running ones get [batch] grace_period
 * seconds, then their reading is interrupted and they are left pending),
 * the second ends the process at once (the journal's transactions keep
 * it consistent). */
#include "config.h"
#include "batch-impl.h"
#include "fetch.h"
#include "util.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WATCHDOG_MARGIN 2.0

/* The record of an item taken from its worker. */
static item *watch_abandoned(engine *g, const item *it, int why, double now, double blocked)
{
    item *n = item_new();
    n->seq = it->seq;
    n->folder = it->folder ? vb_xstrdup(it->folder) : NULL;
    n->slot = it->slot;
    n->aborted = why == MEDIAIO_ABORT;
    n->done = true;
    item_record *r = &n->rec;
    r->seq = it->seq;
    r->source = it->en.is_url ? fetch_display_url(it->en.path) : vb_xstrdup(it->en.path);
    r->duration = r->fps = NAN;
    r->attempts = 1;
    if (n->aborted)
        return n;
    vb_error e = {0};
    mediaio_clock_fail(&it->clock, why, why == MEDIAIO_STALL ? blocked : now - it->clock.started,
                       true, r->source, &e);
    int stage = atomic_load(&it->clock.stage);
    item_fail(n, stage, e.msg);
    if (stage > 0 && stage < STAGE_COUNT)
        r->stage_time[stage] = now - it->clock.started;
    char *dir = n->folder ? util_path_join(g->o->out_dir, n->folder) : NULL;
    if (dir && access(dir, F_OK) == 0)
        r->folder = vb_xstrdup(n->folder);
    free(dir);
    return n;
}

void batch_watch_dog(engine *g)
{
    double now = util_now();
    for (int64_t s = g->next_record; s < g->next_take; s++) {
        item *it = g->ring[s % g->window];
        double blocked = 0;
        if (!it || it->done)
            continue;
        int why = mediaio_clock_abandon(&it->clock, now, WATCHDOG_MARGIN, &blocked);
        if (why == MEDIAIO_GO)
            continue;
        /* An item of its own in the ring: the worker still holds it. */
        g->ring[s % g->window] = watch_abandoned(g, it, why, now, blocked);
        it->abandoned = true;
        g->nstuck++;
        g->nrunning--;
        if (it->solo)
            g->solo_wait = false;
        pthread_cond_broadcast(&g->cv_work);
        pthread_detach(g->threads[it->slot]);
        free(g->working[it->slot]);
        g->working[it->slot] = NULL;
        if (pthread_create(&g->threads[it->slot], NULL, engine_worker,
                           &g->wargs[it->slot]) != 0) {
            fputs("vbatch: cannot start worker threads\n", stderr);
            abort();
        }
        if (g->stop)
            continue;
        if (g->cfg->batch.error_handling == ERRH_STOP || g->nstuck >= 2 * g->jobs + 2) {
            g->failed_stop = true;
            g->stuck_stop = g->cfg->batch.error_handling != ERRH_STOP;
            engine_stop(g);
        }
    }
}

/* ---- signals ---- */

static void signal_ignore(int sig)
{
    (void)sig;
}

/* Wait for SIGINT or SIGTERM, for at most `timeout` seconds if that is
 * finite: true if one came. A cancellation point. */
static bool signal_wait(const sigset_t *set, double timeout)
{
    double until = util_now() + timeout;
    for (;;) {
        if (!isfinite(timeout)) {
            int sig;
            if (sigwait(set, &sig) == 0)
                return true;
            continue;
        }
        double left = until - util_now();
        if (left <= 0)
            return false;
        struct timespec ts = { (time_t)left, (long)((left - floor(left)) * 1e9) };
        if (sigtimedwait(set, NULL, &ts) > 0)
            return true;
        /* EAGAIN: time out (seen at the top); EINTR: wait on. */
    }
}

/* Says that the process ends now, with the command that finishes the
 * batch (the summary that says it after one interrupt is never written).
 * A function of its own: signal_main is cancelled at sigwait, which skips
 * its epilogue, and a big array in its frame would leave the sanitizers'
 * poisoning of that stack behind for the thread's exit to trip on. */
static void __attribute__((noinline)) signal_killed(engine *g)
{
    const batch_observer *obs = g->obs;
    if (!obs->event)
        return;
    char *q = util_shell_quote(g->o->out_dir);
    char *cmd = vb_xasprintf("vbatch resume --job-id %s --output %s", report_batch_id(g->rep), q);
    free(q);
    obs->event(obs->ud, BATCH_KILLED, 0, cmd);
    free(cmd);
}

/* Cancelled (at sigwait) when the batch is over. */
static void *signal_main(void *arg)
{
    engine *g = arg;
    const batch_observer *obs = g->obs;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    signal_wait(&set, INFINITY);
    double grace = g->cfg->batch.grace_period;
    if (obs->event)
        obs->event(obs->ud, BATCH_INTERRUPTED, grace, NULL);
    pthread_mutex_lock(&g->mu);
    engine_stop(g);
    pthread_mutex_unlock(&g->mu);
    if (!signal_wait(&set, grace)) {
        if (obs->event)
            obs->event(obs->ud, BATCH_GRACE_OVER, grace, NULL);
        atomic_store(&g->abort, 1);
        signal_wait(&set, INFINITY);
    }
    signal_killed(g);
    _exit(VB_EXIT_INTERRUPTED);
}

int batch_watch_signals(engine *g, pthread_t *th)
{
    /* A handler, not SIG_IGN inherited from a shell's background job, so
     * the signals reach sigwait; blocked before any thread starts so
     * every thread (the libraries' too) inherits the mask. */
    struct sigaction sa = { .sa_handler = signal_ignore };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    return pthread_create(th, NULL, signal_main, g) == 0 ? 0 : -1;
}

void batch_watch_end(pthread_t th)
{
    /* Signals stay blocked: one arriving from here on is ignored. */
    pthread_cancel(th);
    pthread_join(th, NULL);
}
