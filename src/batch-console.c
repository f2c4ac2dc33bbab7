/* batch-console.c - what a batch shows on the terminal while it runs and
 * when it ends: a line per item that needs a look (FAIL, ERROR, WARN,
 * STOP; every item with --verbose), the live status line when stderr is
 * a terminal, the signal messages, and how the batch ended. The engine
 * calls it through batch_observer and knows nothing of terminals. */
#include "config.h"
#include "batch.h"
#include "msg.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---- a line per item ---- */

static void console_result(const item_record *r, int64_t seq)
{
    bool fixed = r->fix_actions.n > 0;
    const char *tag = r->status == ITEM_FAILED ? "ERROR" :
                      r->status == ITEM_QC_FAILED ? "FAIL" :
                      r->status == ITEM_SKIPPED ? "SKIP" :
                      fixed ? "FIXED" :
                      r->warned_rules.n ? "WARN" : "ok";
    int colour = r->status == ITEM_FAILED ? MSG_MAGENTA :
                 r->status == ITEM_QC_FAILED ? MSG_RED :
                 r->status == ITEM_DONE && !fixed && r->warned_rules.n ? MSG_YELLOW : MSG_PLAIN;
    /* Skipped items only with --verbose: a rerun over a large folder
     * stays quiet; the summary counts them. A fixed item is a change to
     * look at. */
    if (vb_verbosity < 2 && ((r->status == ITEM_DONE && r->warned_rules.n == 0 && !fixed) ||
                             r->status == ITEM_SKIPPED))
        return;
    char *what;
    if (r->status == ITEM_SKIPPED) {
        what = report_skip_note(r);
    } else if (r->status == ITEM_FAILED) {
        what = vb_xasprintf("%s: %s", report_stage_name(r->error_stage), r->error);
    } else if (fixed && r->status == ITEM_DONE) {
        /* "fixed: faststart, loudness ..." without its "fixed:" */
        const char *d = strncmp(r->fix, "fixed: ", 7) == 0 ? r->fix + 7 : r->fix;
        char *f = report_rules_brief(r, VERDICT_WARN);
        what = vb_xasprintf("%s%s%s", d, f[0] ? "; warnings: " : "", f);
        free(f);
    } else {
        char *f = report_rules_brief(r, r->status == ITEM_QC_FAILED ? VERDICT_FAIL
                                                                    : VERDICT_WARN);
        what = vb_xasprintf("%s%s%s%s", f, f[0] ? "" : "passed", r->fix ? "; " : "",
                            r->fix ? r->fix : "");
        free(f);
    }
    char lead[32];
    snprintf(lead, sizeof lead, "[%lld] ", (long long)seq);
    msg_tagged(lead, colour, tag, "%s  %s", r->source ? r->source : "", what);
    free(what);
}

/* An item stopped before its end goes back to pending: its outputs so
 * far are redone by `vbatch resume` (temporary files are removed then). */
static void console_pending(const item *it, bool out_stop)
{
    const char *s = it->rec.source ? it->rec.source : it->en.path ? it->en.path : "";
    const char *why = mediaio_clock_stopped(&it->clock) == MEDIAIO_ABORT
                          ? "interrupted after the grace period"
                          : out_stop ? "stopped with the batch (see below)"
                                     : "interrupted before it could finish";
    char lead[32];
    snprintf(lead, sizeof lead, "[%lld] ", (long long)it->seq);
    msg_tagged(lead, MSG_PLAIN, "STOP", "%s  %s: left pending", s, why);
}

static void console_recorded(void *ud, const item *it, bool out_stop)
{
    (void)ud;
    if (it->aborted)
        console_pending(it, out_stop);
    else
        console_result(&it->rec, it->seq);
}

/* ---- the live status line ---- */

/* Should it be drawn: stderr a terminal (not a dumb one), not --quiet. */
static bool console_live(void)
{
    const char *term = getenv("TERM");
    return vb_verbosity >= 1 && isatty(STDERR_FILENO) && term && term[0] &&
           strcmp(term, "dumb") != 0;
}

/* Append src to buf (of len, holding *n bytes) as far as it fits,
 * control characters as '?', never cutting a UTF-8 sequence. */
static void line_add(char *buf, size_t len, size_t *n, const char *src)
{
    for (const unsigned char *p = (const unsigned char *)src; *p; ) {
        size_t l = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
        size_t k = 0;
        while (k < l && p[k])
            k++;
        if (*n + k >= len)
            break;
        memcpy(buf + *n, p, k);
        *n += k;
        p += k;
    }
    buf[*n] = '\0';
    msg_printable(buf);
}

/* Redraw, at most 10 times a second: a bar, done/queued (+ while
 * discovery runs), failed, files per second, the ETA once discovery has
 * ended, the files being worked on. */
static void console_progress(void *ud, const batch_progress *p)
{
    static double last_draw;
    (void)ud;
    double now = util_now();
    if (now - last_draw < 0.1)
        return;
    last_draw = now;
    msg_live(true);
    int cols = 80;
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    cols = cols > 1000 ? 1000 : cols < 2 ? 2 : cols;
    double rate = p->elapsed > 0 ? p->done / p->elapsed : 0;
    char bar[21];
    int fill = p->total > 0 ? (int)(20 * p->done / p->total) : 0;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    char eta[32] = "";
    if (!p->more && rate > 0) {
        long s = (long)((p->total - p->done) / rate + 0.5);
        snprintf(eta, sizeof eta, " ETA %ld:%02ld", s / 60, s % 60);
    }
    char line[1024], skipped[48] = "";
    if (p->skipped)
        snprintf(skipped, sizeof skipped, "  %lld skipped", (long long)p->skipped);
    int n0 = snprintf(line, sizeof line, "[%s] %lld/%lld%s  %lld failed%s  %.1f files/s%s",
                      bar, (long long)p->done, (long long)p->total, p->more ? "+" : "",
                      (long long)p->failed, skipped, rate, eta);
    size_t len = (size_t)cols; /* up to cols - 1 characters: no wrap */
    size_t n = n0 < 0 ? 0 : (size_t)n0 < len ? (size_t)n0 : len - 1;
    line[n] = '\0';
    const char *sep = "  ";
    for (int i = 0; i < p->nworking; i++) {
        if (!p->working[i])
            continue;
        const char *slash = strrchr(p->working[i], '/');
        const char *name = slash && slash[1] ? slash + 1 : p->working[i];
        line_add(line, len, &n, sep);
        line_add(line, len, &n, name);
        sep = ", ";
    }
    fprintf(stderr, MSG_ERASE_LINE "%s", line);
    fflush(stderr);
}

static void console_done(void *ud)
{
    (void)ud;
    if (!msg_is_live())
        return;
    /* The line is erased before the summary and whatever follows. */
    fputs(MSG_ERASE_LINE, stderr);
    fflush(stderr);
    msg_live(false);
}

/* ---- signals ---- */

static void console_event(void *ud, int event, double arg, const char *resume)
{
    (void)ud;
    switch (event) {
    case BATCH_INTERRUPTED:
        msg_note("interrupted: giving the running items %g s to finish"
                 " (interrupt again to stop at once)", arg);
        break;
    case BATCH_GRACE_OVER:
        msg_note("grace period over: interrupting the running items (they are left pending)");
        break;
    case BATCH_KILLED:
        msg_error("interrupted again: stopping now; to finish the batch: %s",
                  resume ? resume : "vbatch resume");
        break;
    }
}

const batch_observer *batch_console(void)
{
    static batch_observer quiet = { console_recorded, NULL, console_event, console_done, NULL };
    static batch_observer live = { console_recorded, console_progress, console_event,
                                   console_done, NULL };
    return console_live() ? &live : &quiet;
}

/* ---- the end ---- */

void batch_console_end(const batch_result *r, const char *out_dir)
{
    const char *id = r->batch_id;
    if (!r->started) {
        msg_error("%s", r->why);
        return;
    }
    if (r->reports_failed && r->out_gone)
        msg_error("%s: %lld items recorded in the journal (%lld passed, %lld failed a gate, "
                  "%lld failed); the reports are not written", id, (long long)r->counts.total,
                  (long long)r->counts.done, (long long)r->counts.qc_failed,
                  (long long)r->counts.failed);
    else if (r->reports_failed)
        msg_error("cannot write the reports: %s", r->reports_why);
    char *q = util_shell_quote(out_dir);
    if (r->out_stop)
        msg_error("%s stopped: %s: the items not processed are left pending in the journal; "
                  "%s, then run: vbatch resume --job-id %s --output %s", id, r->why,
                  r->out_gone ? "put the folder back (or give its new place as --output)"
                              : "make room (or make it writable)", id, q);
    else if (r->record_stop)
        msg_error("%s stopped: the journal cannot record results (%s): the items not recorded "
                  "are left for: vbatch resume --job-id %s --output %s", id, r->why, id, q);
    else if (r->stuck_stop)
        msg_note("%s stopped: reads of the input hang (%d workers given up): the items not "
                 "processed are left pending in the journal", id, r->nstuck);
    else if (r->failed_stop)
        msg_note("%s stopped after an item failed (error_handling = stop): the items not "
                 "processed are left pending in the journal", id);
    else if (r->held[0])
        msg_error("%s", r->held);
    else if (r->interrupted)
        msg_note("%s interrupted: the items not processed are left pending in the journal; "
                 "to finish it: vbatch resume --job-id %s --output %s", id, id, q);
    else if (r->counts.total == 0 && r->other_shards > 0 && !r->input_error)
        msg_note("%s: none of the %lld items found is this shard's: nothing to do here", id,
                 r->other_shards);
    else if (r->empty && !r->input_error)
        msg_error("%s: no item found in the input: nothing was checked (exit status %d; "
                  "--allow-empty lets an empty run pass)", id, VB_EXIT_EMPTY);
    else if (r->warnings_fail && batch_exit_status(r) == VB_EXIT_QC &&
             r->counts.qc_failed == 0 && r->counts.skipped_qc_failed == 0)
        msg_error("%s: %lld items passed with warnings, and warnings fail the run (--strict, "
                  "[batch] warnings = fail)", id,
                  (long long)(r->counts.warned + r->counts.skipped_warned));
    free(q);
}

int batch_console_finish(const batch_result *r, const char *out_dir)
{
    batch_console_end(r, out_dir);
    int status = batch_exit_status(r);
    if (r->exit_now) {
        /* Workers still blocked in the kernel would wake up into freed
         * memory: everything is recorded, so the process ends here. */
        fflush(NULL);
        _exit(status);
    }
    return status;
}
