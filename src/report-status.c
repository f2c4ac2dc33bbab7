/* report-status.c - `vbatch status`: what the journal says about the
 * batches of an output folder (each with its counts by status), or about
 * one (its progress, the items being worked on, its failures, the time
 * per stage), and whether the run that wrote it is still there. Read
 * only, from one snapshot of the journal, with no lock. */
#include "config.h"
#include "report.h"
#include "report-impl.h"
#include "state.h"
#include "util.h"
#include "writer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const journal_statuses[] = {
    "pending", "running", "done", "qc_failed", "failed", "skipped",
};
/* status_counts' slots: one per journal status, then unknown, then total. */
enum { N_UNKNOWN = VB_ARRAY_LEN(journal_statuses), N_TOTAL, N_SLOTS };

/* Items of a batch by journal status; a status this vbatch does not know
 * is counted as unknown (the counts always add up to the total). */
static int status_counts(state *st, const char *id, int64_t n[N_SLOTS], vb_error *e)
{
    memset(n, 0, N_SLOTS * sizeof n[0]);
    state_rows *rows = state_query(st, STATE_Q_COUNTS, id, e);
    if (!rows)
        return -1;
    const char *col[2];
    int got;
    while ((got = state_rows_next(rows, col, 2, e)) == 1) {
        int64_t k = col[1] ? strtoll(col[1], NULL, 10) : 0;
        size_t i = 0;
        while (i < N_UNKNOWN && !(col[0] && strcmp(col[0], journal_statuses[i]) == 0))
            i++;
        n[i] += k;
        n[N_TOTAL] += k;
    }
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

static void status_write_counts(writer *w, const int64_t n[N_SLOTS])
{
    writer_begin_object(w, "counts");
    writer_int(w, "total", n[N_TOTAL]);
    for (size_t i = 0; i < N_UNKNOWN; i++)
        writer_int(w, journal_statuses[i], n[i]);
    writer_int(w, "unknown", n[N_UNKNOWN]);
    writer_end_object(w);
}

/* Who runs in the output folder, from its lock (tested, never taken:
 * a run starting at that moment is not disturbed). */
typedef struct status_runner {
    int held;               /* state_lock_probe's answer */
    char *batch;            /* the holder's batch, when it says */
} status_runner;

/* A batch's status as shown: one the journal marks running is shown as
 * "interrupted (process gone)" when no run holds the lock, or when the
 * run that holds it says it runs another batch. */
static const char *status_shown(const status_runner *run, const char *id, const char *status)
{
    if (!status || strcmp(status, "running") != 0)
        return status;
    if (run->held == 0 || (run->held == 1 && run->batch && id && strcmp(run->batch, id) != 0))
        return "interrupted (process gone)";
    return status;
}

/* One batch as one line: id, status, start, the counts that are not 0. */
static void status_line(FILE *f, const char *id, const char *status, const char *started,
                        const int64_t n[N_SLOTS])
{
    /* The order a reader wants: results first, then what is left. */
    static const int order[] = { 2, 3, 4, 5, 0, 1, N_UNKNOWN };
    fprintf(f, "%s  %-11s  %s  %lld item%s", id, status ? status : "?", started ? started : "-",
            (long long)n[N_TOTAL], n[N_TOTAL] == 1 ? "" : "s");
    const char *sep = ": ";
    for (size_t i = 0; i < VB_ARRAY_LEN(order); i++) {
        if (!n[order[i]])
            continue;
        fprintf(f, "%s%lld %s", sep, (long long)n[order[i]],
                order[i] == N_UNKNOWN ? "unknown" : journal_statuses[order[i]]);
        sep = ", ";
    }
    fputc('\n', f);
}

static int status_list(state *st, const status_runner *run, writer *w, FILE *lines,
                       vb_error *e)
{
    state_rows *rows = state_query(st, STATE_Q_BATCHES, NULL, e);
    if (!rows)
        return -1;
    if (!lines)
        writer_begin_array(w, "batches");
    const char *col[5];
    int got;
    while ((got = state_rows_next(rows, col, 5, e)) == 1) {
        char *id = vb_xstrdup(col[0] ? col[0] : "");
        if (lines) {
            int64_t n[N_SLOTS];
            int rc = status_counts(st, id, n, e);
            if (rc == 0)
                status_line(lines, id, status_shown(run, id, col[3]), col[1], n);
            free(id);
            if (rc != 0) {
                got = -1;
                break;
            }
            continue;
        }
        writer_begin_object(w, NULL);
        writer_string(w, "batch_id", id);
        writer_string(w, "status", status_shown(run, id, col[3]));
        writer_string(w, "started", col[1]);
        writer_string(w, "finished", col[2]);
        writer_string(w, "command_line", col[4]);
        int64_t n[N_SLOTS];
        /* The batch query stays open: counting uses a second statement. */
        int rc = status_counts(st, id, n, e);
        free(id);
        if (rc != 0) {
            got = -1;
            break;
        }
        status_write_counts(w, n);
        writer_end_object(w);
    }
    if (!lines)
        writer_end_array(w);
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

/* Finished: neither pending nor running (unknown ones included). */
static void status_progress(writer *w, const int64_t n[N_SLOTS])
{
    int64_t finished = n[N_TOTAL] - n[0] - n[1];
    writer_begin_object(w, "progress");
    writer_int(w, "finished", finished);
    writer_int(w, "total", n[N_TOTAL]);
    writer_double(w, "percent", n[N_TOTAL] ? round(1000.0 * (double)finished / (double)n[N_TOTAL]) / 10 : 0.0);
    writer_end_object(w);
}

/* Attempts: every time a worker took an item (resume and retry add). */
static int status_attempts(state *st, const char *id, writer *w, vb_error *e)
{
    const char *col[2];
    int got = -1;
    state_rows *rows = state_query(st, STATE_Q_ATTEMPTS, id, e);
    if (rows && (got = state_rows_next(rows, col, 2, e)) >= 0) {
        writer_begin_object(w, "attempts");
        writer_int(w, "total", got && col[0] ? strtoll(col[0], NULL, 10) : 0);
        writer_int(w, "items_retried", got && col[1] ? strtoll(col[1], NULL, 10) : 0);
        writer_end_object(w);
    }
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

/* The items being worked on (a batch running, or one killed). */
static int status_running(state *st, const char *id, writer *w, vb_error *e)
{
    writer_begin_array(w, "running");
    state_rows *rows = state_query(st, STATE_Q_RUNNING, id, e);
    if (!rows)
        return -1;
    const char *col[4];
    int got;
    while ((got = state_rows_next(rows, col, 4, e)) == 1) {
        writer_begin_object(w, NULL);
        writer_int(w, "seq", col[0] ? strtoll(col[0], NULL, 10) : 0);
        writer_string(w, "source", col[1]);
        writer_int(w, "attempts", col[2] ? strtoll(col[2], NULL, 10) : 0);
        if (col[3])
            writer_double(w, "seconds", strtod(col[3], NULL));
        else
            writer_null(w, "seconds");
        writer_end_object(w);
    }
    writer_end_array(w);
    state_rows_free(&rows);
    return got < 0 ? -1 : 0;
}

/* The items that could not be processed: counted by stage, the first
 * list_max listed (< 0: all; 100k failures listed were 700k lines). */
static int status_failures(state *st, const char *id, int64_t list_max, writer *w,
                           vb_error *e)
{
    state_rows *rows = state_query(st, STATE_Q_FAILURES, id, e);
    if (!rows)
        return -1;
    enum { MAX_STAGES = 16 };
    char stage[MAX_STAGES][24];
    int64_t per[MAX_STAGES] = {0}, total = 0;
    int nst = 0;
    const char *col[6];
    int got;
    writer_begin_array(w, "failures");
    while ((got = state_rows_next(rows, col, 6, e)) == 1) {
        const char *sg = col[2] ? col[2] : "unknown";
        int k = 0;
        while (k < nst && strcmp(stage[k], sg) != 0)
            k++;
        if (k == nst && nst < MAX_STAGES)
            snprintf(stage[nst++], sizeof stage[0], "%s", sg);
        if (k < nst)
            per[k]++;
        bool listed = list_max < 0 || total < list_max;
        total++;
        if (!listed)
            continue;
        writer_begin_object(w, NULL);
        writer_int(w, "seq", col[0] ? strtoll(col[0], NULL, 10) : 0);
        writer_string(w, "source", col[1]);
        writer_string(w, "folder", col[5]);
        writer_string(w, "stage", col[2]);
        writer_string(w, "message", col[3]);
        writer_int(w, "attempts", col[4] ? strtoll(col[4], NULL, 10) : 0);
        writer_end_object(w);
    }
    writer_end_array(w);
    state_rows_free(&rows);
    writer_int(w, "failures_total", total);
    writer_int(w, "failures_listed", list_max < 0 || total < list_max ? total : list_max);
    writer_begin_object(w, "failures_by_stage");
    for (int k = 0; k < nst; k++)
        writer_int(w, stage[k], per[k]);
    writer_end_object(w);
    return got < 0 ? -1 : 0;
}

/* Timings: the batch's wall time (all its runs, once one has ended), the
 * items' time per stage (summed over workers). */
static void status_times(writer *w, const state_batch *b, const report_counts *c)
{
    if (b->finished)
        writer_double(w, "wall_seconds", round(b->wall * 1e3) / 1e3);
    else
        writer_null(w, "wall_seconds");
    writer_begin_object(w, "stage_seconds");
    for (int s = STAGE_FETCH; s < STAGE_RECORD; s++)
        writer_double(w, report_stage_name(s), round(c->stage_time[s] * 1e3) / 1e3);
    writer_end_object(w);
}

static int status_batch(state *st, const status_runner *run, const char *id,
                        int64_t list_max, writer *w, vb_error *e)
{
    state_batch b = {0};
    if (state_batch_get(st, id, &b, e) != 0)
        return -1;
    int rc = -1;
    int64_t n[N_SLOTS];
    report_counts c = {0};
    if (status_counts(st, b.id, n, e) != 0 ||
        report_each_record(st, b.id, report_count_one, &c, e) != 0)
        goto out;
    writer_string(w, "batch_id", b.id);
    writer_string(w, "status", status_shown(run, b.id, b.status));
    writer_string(w, "started", b.started);
    writer_string(w, "finished", b.finished);
    writer_string(w, "command_line", b.command_line);
    writer_string(w, "host", b.host);
    writer_string(w, "vbatch_version", b.version);
    status_write_counts(w, n);
    status_progress(w, n);
    if (status_attempts(st, b.id, w, e) != 0 || status_running(st, b.id, w, e) != 0 ||
        status_failures(st, b.id, list_max, w, e) != 0)
        goto out;
    status_times(w, &b, &c);
    rc = 0;
out:
    state_batch_clear(&b);
    return rc;
}

int report_unfinished_batch(const char *out_dir, char **id, vb_error *e)
{
    *id = NULL;
    state *st = state_open(out_dir, STATE_READ, e);
    if (!st)
        return -1;
    state_rows *rows = state_query(st, STATE_Q_BATCHES, NULL, e);
    vb_strlist ids = {0};
    const char *col[5];
    int got = rows ? 1 : -1;
    while (rows && (got = state_rows_next(rows, col, 5, e)) == 1)
        if (col[0] && col[3] && (strcmp(col[3], "interrupted") == 0 ||
                                 strcmp(col[3], "running") == 0))
            vb_strlist_add(&ids, col[0]);
    state_rows_free(&rows);
    state_close(&st);
    int rc = -1;
    if (got >= 0 && ids.n == 1) {
        *id = vb_xstrdup(ids.v[0]);
        rc = 0;
    } else if (got >= 0 && ids.n == 0) {
        vb_fail(e, VB_ERR_USAGE, "%s: no interrupted batch to resume (see vbatch status "
                "--output %s)", out_dir, out_dir);
    } else if (got >= 0) {
        char *l = vb_strlist_join(&ids, ", ");
        vb_fail(e, VB_ERR_USAGE, "%s: %zu interrupted batches (%s): say which with --job-id",
                out_dir, ids.n, l);
        free(l);
    }
    vb_strlist_clear(&ids);
    return rc;
}

static int status_run(const char *out_dir, const char *batch_id, int64_t list_max, writer *w,
                      FILE *lines, vb_error *e)
{
    state *st = state_open(out_dir, STATE_READ, e);
    if (!st)
        return -1;
    /* The lock tested before and after the journal's snapshot is taken:
     * a run holding it at either time was running when the snapshot
     * was (one ending marks its batch before it lets the lock go, one
     * starting takes the lock before it writes). */
    status_runner run = {0};
    long pid;
    char *batch2 = NULL;
    int held = state_lock_probe(out_dir, &pid, &run.batch);
    int rc = -1;
    if (state_snapshot(st, true, e) == 0) {
        int held2 = state_lock_probe(out_dir, &pid, &batch2);
        run.held = held == 1 || held2 == 1 ? 1 : held < 0 || held2 < 0 ? -1 : 0;
        if (held2 == 1 && held != 1) {
            free(run.batch);
            run.batch = batch2;
            batch2 = NULL;
        } else if (held2 == 1 && held == 1 && (!run.batch || !batch2 ||
                                               strcmp(run.batch, batch2) != 0)) {
            free(run.batch);    /* two runs one after the other: either */
            run.batch = NULL;
        }
        rc = batch_id ? status_batch(st, &run, batch_id, list_max, w, e)
                      : status_list(st, &run, w, lines, e);
        state_snapshot(st, false, NULL);
    }
    free(batch2);
    free(run.batch);
    state_close(&st);
    return rc;
}

int report_status(const char *out_dir, const char *batch_id, int64_t list_max, writer *w,
                  vb_error *e)
{
    return status_run(out_dir, batch_id, list_max, w, NULL, e);
}

int report_status_lines(const char *out_dir, FILE *f, vb_error *e)
{
    return status_run(out_dir, NULL, -1, NULL, f, e);
}
