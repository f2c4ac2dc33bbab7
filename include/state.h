/* state.h - the journal: OUT/.vbatch/state.db (SQLite, WAL mode).
 * Batches and their items live here; the reports are produced from it.
 * Writes are grouped into transactions (up to STATE_TXN_ITEMS writes or
 * STATE_TXN_SECONDS) so the journal costs little; state_flush commits.
 * A `state` may be used from several threads (calls are serialised). */
#ifndef VB_STATE_H
#define VB_STATE_H

#include "vbatch.h"
#include <stdint.h>

typedef struct state state;
typedef struct state_lock state_lock;

/* How a journal is opened (false and true read as READ and CREATE). */
enum state_mode {
    STATE_READ = 0,    /* read-only, no lock: status, report; also in a
                          read-only output folder */
    STATE_CREATE = 1,  /* a run: the journal and its folder are made if
                          missing; the output folder's lock is taken */
    STATE_WRITE = 2,   /* a run on a recorded batch: as CREATE, but a
                          missing journal is an error */
};
/* Open the journal of out_dir. A missing journal (READ, WRITE), an
 * output folder that is read-only or locked by another run (CREATE,
 * WRITE), a damaged journal or one made by a newer vbatch are
 * VB_ERR_USAGE errors with a message that says what to do. A state
 * opened READ supports the reading calls only (state_batch_get,
 * state_query, state_gen_rows, state_rows_*, state_snapshot). */
state *state_open(const char *out_dir, int mode, vb_error *e);
/* Commit what is pending and close (the lock is released with it). */
void state_close(state **s);
/* Commit the open transaction, if any. */
int state_flush(state *s, vb_error *e);
/* begin: the reads that follow see the journal as it is now, until
 * state_snapshot(s, false) (a report's two passes agree while a batch
 * writes). */
int state_snapshot(state *s, bool begin, vb_error *e);

/* The output folder's lock, OUT/.vbatch/lock (OUT/.vbatch must exist):
 * held by a run from start to end, dropped by the kernel when its
 * process ends, however it ends. Taking it again in the same process
 * adds a reference. Refused (VB_ERR_USAGE) while another process holds
 * it, naming its batch and pid when known. */
state_lock *state_lock_take(const char *out_dir, vb_error *e);
void state_lock_release(state_lock **lk);
/* Record the batch a lock's holder runs, for the refusal's message and
 * for state_lock_probe. */
void state_lock_note(state_lock *lk, const char *batch_id);
/* Whether a run holds the lock of out_dir, without taking it: 1 (with
 * its pid, and its batch (owned) when known, else NULL), 0 when nobody
 * does, -1 when it cannot be told. */
int state_lock_probe(const char *out_dir, long *pid, char **batch);

/* A batch's row; every string owned (NULL when unknown). */
typedef struct state_batch {
    char *id, *command_line, *config_json, *inputs_json;
    char *started, *finished;     /* ISO 8601 */
    char *host, *version, *status;
    double wall;
    int64_t peak_rss_kib;
    int64_t discovered;           /* items entered once discovery ended; -1
                                     while it has not (a killed run) */
    int64_t last_seq;             /* the batch's last item (0: none) */
} state_batch;
void state_batch_clear(state_batch *b);

/* Insert a running batch. The id is base_id, or base_id_2, _3 ... when
 * base_id is taken; the one used is returned (caller frees). */
char *state_batch_begin(state *s, const char *base_id, const state_batch *b, vb_error *e);
/* Set a batch's end: status (done|interrupted), finished, wall, peak RSS. */
int state_batch_end(state *s, const char *id, const char *status, const char *finished,
                    double wall, int64_t peak_rss_kib, vb_error *e);
/* Discovery has ended: all n items of the batch are entered. Written in
 * the current group, so committed with (after) the items. */
int state_batch_discovered(state *s, const char *id, int64_t n, vb_error *e);
/* Read a batch (id NULL: the latest begun). Not found: VB_ERR_USAGE. */
int state_batch_get(state *s, const char *id, state_batch *b, vb_error *e);

/* Item statuses as the journal spells them: pending, running, done,
 * qc_failed, failed, skipped (STATE_ITEM_STATUSES). A journal written by
 * a newer vbatch, or by hand, may hold others: they are shown as such,
 * never left out. */
#define STATE_ITEM_STATUSES "'pending','running','done','qc_failed','failed','skipped'"
int state_item_queue(state *s, const char *batch, int64_t seq, const char *source,
                     const char *folder, const char *error, vb_error *e);
int state_item_running(state *s, const char *batch, int64_t seq, vb_error *e);
/* The result, in one write: status, error, the full record (JSON). */
int state_item_result(state *s, const char *batch, int64_t seq, const char *status,
                      const char *source, const char *folder, const char *error_stage,
                      const char *error, const char *record_json, vb_error *e);

/* Resuming a batch: its items left running go back to pending, the
 * batch is running again; its previous wall time is returned. With
 * requeue (a status: "failed" or "qc_failed", for `vbatch retry`), the
 * items with that status go back to pending too, their result and error
 * cleared (attempts is kept: taking the item again counts one more); one
 * without a folder is then pending with neither folder nor error, to be
 * discovered again. */
int state_batch_reopen(state *s, const char *id, const char *requeue, double *wall,
                       vb_error *e);
/* The first pending item of a batch after seq `after`: 1 and its fields
 * (owned, source and folder may be NULL, error NULL unless the item was
 * found bad when it was entered), 0 when none is left, -1 on error. */
int state_next_pending(state *s, const char *batch, int64_t after, int64_t *seq,
                       char **source, char **folder, char **error, vb_error *e);

/* Iterate over batches (oldest first) or item rows; the row's columns
 * as text (NULL for SQL NULL), valid until the next call. Used by
 * `vbatch status`. */
typedef struct state_rows state_rows;
enum state_query {
    STATE_Q_BATCHES,      /* id, started, finished, status, command_line */
    STATE_Q_COUNTS,       /* status, count  (param: batch) */
    STATE_Q_FAILURES,     /* seq, source, error_stage, error, attempts, folder
                             (param: batch) */
    STATE_Q_RECORDS,      /* record_json, status, seq, source, folder
                             (param: batch; the items with a record, and
                             those whose status this vbatch does not know) */
    STATE_Q_FOLDERS,      /* folder  (param: batch; items with one) */
    STATE_Q_ALL_FOLDERS,  /* folder  (of every source in the index) */
    STATE_Q_RUNNING,      /* seq, source, attempts, seconds since it started
                             (param: batch) */
    STATE_Q_ATTEMPTS,     /* attempts in all, items taken more than once
                             (param: batch; one row) */
    STATE_Q_URLS,         /* seq, source, status  (param: batch; items whose
                             source is an http(s) URL) */
};
state_rows *state_query(state *s, int query, const char *batch, vb_error *e);
/* 1 with the row's columns in cols (up to ncols), 0 at the end, -1 on error. */
int state_rows_next(state_rows *r, const char **cols, int ncols, vb_error *e);
void state_rows_free(state_rows **r);

/* ---- incremental runs ---- */

/* What OUT holds for a source key (see state.c). */
typedef struct state_input {
    int64_t size, mtime_ns;       /* -1 when not recorded (URLs) */
    char *settings;               /* hash of the settings it ran with */
    char *folder;                 /* its folder, NULL if it never had one */
    char *batch;                  /* the batch of its latest result */
    char *status, *record_json;   /* that result (NULL if the row is gone) */
} state_input;
void state_input_clear(state_input *in);
/* 1 and the fields (owned), 0 when the key is not known, -1 on error. */
int state_input_get(state *s, const char *key, state_input *out, vb_error *e);
/* Record the latest result for a key: the item (batch, seq) and what it
 * was made from (size -1: not a local file). A NULL folder keeps the
 * folder recorded before. */
int state_input_put(state *s, const char *key, int64_t size, int64_t mtime_ns,
                    const char *settings, const char *folder, const char *batch, int64_t seq,
                    vb_error *e);
/* Enter an item of a batch as skipped with its record, in one write. */
int state_item_skipped(state *s, const char *batch, int64_t seq, const char *source,
                       const char *folder, const char *record_json, vb_error *e);

/* Analyses shared by identical files: the folder whose
 * metadata/analysis.json was made from this content (SHA-256) with these
 * analysis settings: 1 and *folder (owned), 0 when none, -1 on error. */
int state_analysis_get(state *s, const char *content, const char *settings, char **folder,
                       vb_error *e);
/* A folder's analysis.json is about to be replaced: forget what it held
 * (committed at once, so a crash can not leave a stale entry). */
int state_analysis_forget(state *s, const char *folder, vb_error *e);
int state_analysis_put(state *s, const char *content, const char *settings,
                       const char *folder, vb_error *e);

/* ---- generation tasks (vbatch generate) ---- */

/* Create the tables generate needs (an older journal lacks them). */
int state_gen_prepare(state *s, vb_error *e);
/* The value of `key` in the journal's meta table, set to `value` first
 * when absent (committed). *out owned. */
int state_meta_get_or_set(state *s, const char *key, const char *value, char **out,
                          vb_error *e);
/* Enter an item's generation task (pending). leader: seq of an earlier
 * item with the identical request, 0 when none. */
int state_gen_add(state *s, const char *batch, int64_t seq, const char *job_json,
                  const char *external_id, double est_units, int64_t leader, vb_error *e);
/* Update a task: task_id NULL keeps the known one, units NAN keeps the
 * known ones; commit = true commits at once (a task id just learnt). */
int state_gen_set(state *s, const char *batch, int64_t seq, const char *task_id,
                  const char *gen_status, double units, const char *message, bool commit,
                  vb_error *e);
/* A task to submit again (vbatch retry): a new external id, no task id,
 * pending, its units and message cleared; spent (what the attempt given
 * up cost) added to its units_before, so that a job's units count every
 * attempt. */
int state_gen_renew(state *s, const char *batch, int64_t seq, const char *external_id,
                    double spent, vb_error *e);
/* The tasks of a batch in seq order: seq, job_json, external_id, task_id,
 * gen_status, est_units, units, leader, folder, item status, message,
 * units_before. */
state_rows *state_gen_rows(state *s, const char *batch, vb_error *e);

#endif
