/* queue.h - a batch's items on a Redis Streams queue (queue-redis.c, the
 * one file that uses hiredis): `vbatch enqueue` adds them, `vbatch
 * worker`s on any number of hosts take, lease and finish them, `vbatch
 * status` and `vbatch report --queue` read what the queue holds.
 *
 * A queue URL is redis://[user[:password]@]host[:port]/DB/NAME. NAME is
 * the items stream (its consumer group is "vbatch"); beside it the queue
 * keeps NAME:settings (the batch's settings, set once), NAME:results
 * (one entry per finished item), NAME:done (seq -> its result, so an
 * item is recorded once however often it was delivered), NAME:dead (the
 * dead letters), NAME:errors (seq -> what its last delivery was doing)
 * and NAME:total (set when the enqueue has ended).
 *
 * The password is never in a message, a key or an entry: queue_url_display
 * is what is shown. Every call runs under a deadline (connect and command
 * timeouts); a dropped connection is made again with backoff within the
 * queue's reconnect window, and every call is safe to send twice.
 * Everything read from Redis is checked: a reply or an entry of the
 * wrong shape is an error, never trusted. */
#ifndef VB_QUEUE_H
#define VB_QUEUE_H

#include "vbatch.h"
#include "writer.h"

#include <stdint.h>

typedef struct queue_url {
    char *host;                  /* owned */
    int port;                    /* 6379 by default */
    int db;                      /* 0..15 ... (SELECT) */
    char *name;                  /* the stream's key; owned */
    char *user;                  /* NULL: the default user */
    char *password;              /* NULL: none (see queue_url_password); owned */
} queue_url;

/* Parse url into *u (cleared first). Pure. 0, or -1 with e set
 * (VB_ERR_USAGE); the message never holds the password. */
int queue_url_parse(const char *url, queue_url *u, vb_error *e);
void queue_url_clear(queue_url *u);
/* The URL as shown: redis://host:port/DB/NAME (caller frees). Pure. */
char *queue_url_display(const queue_url *u);
/* A password not in the URL: from $VBATCH_REDIS_PASSWORD, else from the
 * file $VBATCH_REDIS_PASSWORD_FILE names (readable by its owner alone). */
int queue_url_password(queue_url *u, vb_error *e);

typedef struct queue queue;

/* Connect (and AUTH, SELECT). consumer: this worker's name in the group
 * (NULL for enqueue, status, report). reconnect: seconds a lost
 * connection is tried again before a call fails. */
queue *queue_open(const queue_url *u, const char *consumer, double reconnect, vb_error *e);
/* Parse url, find its password and connect (no consumer). */
queue *queue_open_url(const char *url, double reconnect, vb_error *e);
void queue_close(queue **q);
/* The stream's name (borrowed). */
const char *queue_name(const queue *q);

/* ---- enqueue ---- */

/* Store the batch's settings (a JSON object) once: -1 with VB_ERR_USAGE
 * when the queue exists already. Creates the group. */
int queue_create(queue *q, const char *settings, vb_error *e);
/* One item (seq from 1, in order); error: found bad when discovered. */
typedef struct queue_entry {
    int64_t seq;
    const char *path, *rel, *folder, *error;
    const char *job, *ext;       /* a generation job: its JSON (jobs_job_to_json) and
                                  * external_task_id; NULL for a file to process */
} queue_entry;
int queue_add(queue *q, const queue_entry *en, vb_error *e);
/* The enqueue has ended with n items: drained workers may stop. */
int queue_close_input(queue *q, int64_t n, vb_error *e);

/* ---- workers ---- */

/* The settings stored by queue_create (caller frees): 1, 0 when there
 * are none (no such queue), -1 with e set. */
int queue_settings(queue *q, char **json, vb_error *e);

typedef struct queue_task {
    char id[48];                 /* the entry's id */
    int64_t seq;
    char *path, *rel, *folder, *error; /* owned; folder, error may be NULL */
    char *job, *ext;             /* owned; a generation job (both set) or NULL */
    int deliveries;              /* this one included */
    bool held;                   /* taken ahead, not started: queue_start marks it */
} queue_task;
void queue_task_clear(queue_task *t);

/* An item for this consumer: one idle past `visibility` seconds (its
 * worker is gone) or, failing that, a new one. One delivered more than
 * max_deliveries times goes to the dead letters instead, with what its
 * last delivery was doing. 1 with *t; 0 when there is none now (*empty
 * set when the enqueue has ended and nothing is pending: drained); -1
 * with e set (an entry of the wrong shape is acknowledged, dead-lettered
 * and named in e with VB_ERR_MEDIA: the caller goes on). doing: what
 * the item is doing once taken, "%d" in it standing for its delivery
 * count (kept as its last error should this worker die), set in the same
 * call as the take: no round trip of its own; NULL: nothing. */
int queue_take(queue *q, double visibility, int max_deliveries, const char *doing,
               queue_task *t, bool *empty, vb_error *e);
/* Up to want (<= QUEUE_TAKE_MAX) items in one call, into t[0..*n): a
 * worker whose items are quick takes some ahead. The first is as
 * queue_take's; the others are held (t->held) and keep no last error
 * until queue_start, so that the delivery of one never started is not
 * counted when its worker dies (or hands it back). Returns *n (0: none
 * now, *empty as above) or -1; entries of the wrong shape are put aside
 * as queue_take does and named in e (VB_ERR_MEDIA) even when others are
 * returned, so a caller prints e->msg whenever e->code is set. */
#define QUEUE_TAKE_MAX 32
int queue_take_n(queue *q, double visibility, int max_deliveries, const char *doing,
                 size_t want, queue_task *t, size_t *n, bool *empty, vb_error *e);
/* A held item starts: what it is doing from now on (doing as
 * queue_renew's) kept as its last error. Sent without waiting for its
 * reply (written out before the call returns, so a crash of the item
 * that follows finds it in Redis); nothing when t is not held. */
int queue_start(queue *q, queue_task *t, const char *doing, vb_error *e);
/* Renew this consumer's claims on ids (still worked on), each with what
 * it is doing now (kept as its last error should this worker die; ""
 * for an item held, not started: its last error is left as it is). Ids
 * another consumer took over are left to it. */
int queue_renew(queue *q, const char *const *ids, const int64_t *seqs,
                const char *const *doing, size_t n, vb_error *e);
/* The item's result (a journal record, JSON): recorded unless it was
 * recorded before, then acknowledged. 1 recorded, 0 recorded before. */
int queue_finish(queue *q, const queue_task *t, const char *record, vb_error *e);
/* The same, sent without waiting for its reply: the reply is read by the
 * next call that waits for one (or queue_flush) and given to the
 * function set by queue_on_finished with the label and tag given here
 * (got 1, 0, or -1 with e). Commands not answered when the connection is
 * lost are sent again on the next one (each is safe to send twice). -1
 * only when Redis cannot be reached within the reconnect window (the
 * function has had the error for every finish not answered). */
typedef void queue_finished_fn(void *ud, int64_t seq, const char *label, int tag, int got,
                               const vb_error *e);
void queue_on_finished(queue *q, queue_finished_fn *fn, void *ud);
int queue_finish_async(queue *q, const queue_task *t, const char *record, const char *label,
                       int tag, vb_error *e);
/* Wait for the replies of every command sent without waiting. */
int queue_flush(queue *q, vb_error *e);
/* Hand t back: another consumer may take it at once (this delivery is
 * not counted). */
int queue_handback(queue *q, const queue_task *t, vb_error *e);

/* ---- generation: the account's limits and the creates, shared ----
 *
 * Kling's limits belong to the account, not to a process: every worker
 * asks one limiter kept beside the queue, each step one Lua script on
 * Redis's own clock. NAME:rpm is a token bucket (rpm a minute, a second's
 * worth at most, as gen-sched.c's local one); NAME:slots a counted
 * semaphore: one member per task running at the provider (by its
 * external_task_id), scored by when its lease ends, so that the slots of
 * a worker that died come back once their lease runs out (live workers
 * renew theirs). NAME:claims: external_task_id -> "CONSUMER\tTASK_ID",
 * set before a create is sent, so that no two deliveries send it. */

typedef struct queue_limits {
    int max_concurrent;          /* slots; > 0 */
    int rpm;                     /* creates a minute; <= 0: no limit */
    double lease;                /* seconds a slot is held unless renewed */
} queue_limits;

/* A slot and a token for the task ext, taken together or not at all (a
 * slot it holds already is kept; only the token is taken). 1 taken, 0
 * not now (*wait: seconds before asking again), -1 with e set. */
int queue_gen_acquire(queue *q, const queue_limits *l, const char *ext, double *wait,
                      vb_error *e);
/* The task's slot is free (it ended, or was never created). */
int queue_gen_release(queue *q, const char *ext, vb_error *e);
/* The leases of the slots of exts[0..n-1] renewed (those still held). */
int queue_gen_renew(queue *q, const char *const *exts, size_t n, double lease, vb_error *e);
/* Claim the create of ext for this consumer before it is sent: 1 ours
 * (send it), 0 claimed before (an earlier delivery may have sent it:
 * *task_id is the provider's id recorded with it, or NULL when none was;
 * *by the consumer that claimed it; the caller frees both), -1 e. */
int queue_gen_claim(queue *q, const char *ext, char **task_id, char **by, vb_error *e);
/* The create of ext answered with task_id: kept with its claim. */
int queue_gen_created(queue *q, const char *ext, const char *task_id, vb_error *e);
/* The create of ext was refused and nothing was made: its claim dropped,
 * in one step, if it is still this consumer's and holds no task id. 1
 * no claim is left (dropped, or there was none), 0 kept (another's, or
 * it holds a task id), -1 e. */
int queue_gen_unclaim(queue *q, const char *ext, vb_error *e);

/* Wait and whether taken from the acquire script's reply ("1" or "0",
 * then seconds as text). Pure. 0, or -1 when the reply is not one. */
int queue_gen_acquire_parse(const char *taken, const char *wait, int *got, double *w);

/* ---- status, report ---- */

/* What the queue holds into w (inside an object the caller opened). */
int queue_status(queue *q, writer *w, vb_error *e);
/* Call fn for every item entered (in seq order), then for every result
 * and every dead letter: kind 'i' (path, folder set), 'r' (record set),
 * 'd' (path, folder, error, deliveries). fn returns 0, or -1 with e to
 * stop. */
typedef struct queue_row {
    char kind;
    int64_t seq;
    const char *path, *folder, *error, *record;
    int deliveries;
    double at;                   /* when the entry was added (Unix seconds; 0: unknown) */
} queue_row;
int queue_each(queue *q, int (*fn)(void *ud, const queue_row *r, vb_error *e), void *ud,
               vb_error *e);

#endif
