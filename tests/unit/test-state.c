/* test-state.c - the journal's opening in a scratch output folder: the
 * output folder's lock (taken once per process, with references; tested
 * without being taken; refused to another process, naming the holder;
 * gone with that process), opening for reading takes no lock, the schema
 * version written and a newer one refused, a damaged journal refused
 * with the hint, and unknown item statuses counted by status. */
#include "config.h"
#include "check.h"
#include "report.h"
#include "state.h"
#include "util.h"
#include "writer.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In a child process: 0 if out's lock is refused with a message naming
 * the holder's pid and batch, 1 if taken, 2 on a wrong message. */
static int child_take(const char *out, long holder, const char *batch)
{
    pid_t p = fork();
    if (p == 0) {
        vb_error e = {0};
        state_lock *lk = state_lock_take(out, &e);
        if (lk)
            _exit(1);
        char want[200];
        snprintf(want, sizeof want, "(batch %s, process %ld)", batch, holder);
        _exit(e.code == VB_ERR_USAGE && strstr(e.msg, "another vbatch run") &&
                      strstr(e.msg, want) ? 0 : 2);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_lock(const char *dir)
{
    char *out = util_path_join(dir, "lock");
    char *vb = util_path_join(out, ".vbatch");
    vb_error e = {0};
    CHECK(util_mkdir_p(vb, &e) == 0);
    long pid;
    char *batch = NULL;
    CHECK_INT(state_lock_probe(out, &pid, &batch), 0);   /* no lock file yet */

    state_lock *a = state_lock_take(out, &e);
    CHECK(a != NULL);
    state_lock_note(a, "batch_1");
    /* Taken again in the process: the same lock, one more reference. */
    state_lock *b = state_lock_take(out, &e);
    CHECK(a == b);
    CHECK_INT(state_lock_probe(out, &pid, &batch), 1);
    CHECK_INT(pid, getpid());
    CHECK_STR(batch, "batch_1");
    free(batch);
    CHECK_INT(child_take(out, (long)getpid(), "batch_1"), 0);
    state_lock_release(&b);
    CHECK(b == NULL);
    CHECK_INT(state_lock_probe(out, &pid, &batch), 1);    /* a still holds it */
    free(batch);
    CHECK_INT(child_take(out, (long)getpid(), "batch_1"), 0);
    state_lock_release(&a);
    CHECK_INT(state_lock_probe(out, &pid, &batch), 0);
    CHECK(batch == NULL);
    CHECK_INT(child_take(out, 0, ""), 1);                 /* free: taken */

    /* Held by a process that is killed: free at once. */
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t p = fork();
    if (p == 0) {
        vb_error ce = {0};
        state_lock *lk = state_lock_take(out, &ce);
        char c = lk ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(3);
        pause();
        _exit(0);
    }
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    CHECK_INT(state_lock_probe(out, &pid, &batch), 1);
    CHECK_INT(pid, p);
    CHECK(batch == NULL);                                /* no batch noted */
    state_lock *refused = state_lock_take(out, &e);
    CHECK(refused == NULL && strstr(e.msg, "another vbatch run is using this output folder"));
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    CHECK_INT(state_lock_probe(out, &pid, &batch), 0);
    state_lock *again = state_lock_take(out, &e);
    CHECK(again != NULL);
    state_lock_release(&again);
    free(vb);
    free(out);
}

static void test_open(const char *dir)
{
    char *out = util_path_join(dir, "open");
    vb_error e = {0};
    state *s = state_open(out, STATE_READ, &e);
    CHECK(s == NULL && strstr(e.msg, "no batch recorded here"));
    s = state_open(out, STATE_CREATE, &e);
    CHECK(s != NULL);
    long pid;
    char *batch = NULL;
    CHECK_INT(state_lock_probe(out, &pid, &batch), 1);    /* a writer holds the lock */
    /* A reader opens alongside it, and takes no lock. */
    state *r = state_open(out, STATE_READ, &e);
    CHECK(r != NULL);
    state_close(&r);
    state_close(&s);
    CHECK_INT(state_lock_probe(out, &pid, &batch), 0);    /* let go with the journal */
    r = state_open(out, STATE_READ, &e);
    CHECK(r != NULL);
    CHECK_INT(state_lock_probe(out, &pid, &batch), 0);    /* reading takes none */
    state_close(&r);

    /* A batch with an item of a status this vbatch does not know. */
    report_batch_info info = { .batch_id = "batch_x", .command_line = "test" };
    report *rep = report_open(out, &info, &e);
    CHECK(rep != NULL);
    CHECK(report_queue(rep, 1, "/in/a.mp4", "a", NULL, &e) == 0);
    CHECK(report_queue(rep, 2, "/in/b.mp4", "b", NULL, &e) == 0);
    report_free(&rep);
    char *db = util_path_join(out, ".vbatch/state.db");
    char *cmd = vb_xasprintf("python3 -c \"import sqlite3; c = sqlite3.connect('%s');"
                             " c.execute('PRAGMA ignore_check_constraints = ON');"
                             " c.execute(\\\"UPDATE items SET status = 'weird' WHERE seq = 2\\\");"
                             " c.commit()\"", db);
    if (system(cmd) == 0) {
        writer *w = writer_new(WRITER_JSON);
        writer_begin_object(w, NULL);
        CHECK(report_status(out, "batch_x", -1, w, &e) == 0);
        writer_end_object(w);
        char *json = writer_finish(w, NULL);
        writer_free(&w);
        CHECK(json && strstr(json, "\"unknown\": 1") && strstr(json, "\"pending\": 1") &&
              strstr(json, "\"total\": 2"));
        /* The live process's pid is recorded, yet nobody holds the lock. */
        CHECK(json && strstr(json, "\"status\": \"interrupted (process gone)\""));
        free(json);
    }
    free(cmd);

    /* The schema version: 1 written; a newer one refused. */
    cmd = vb_xasprintf("python3 -c \"import sqlite3, sys; c = sqlite3.connect('%s');"
                       " sys.exit(c.execute('PRAGMA user_version').fetchone()[0] != 1)\"", db);
    CHECK(system(cmd) == 0);
    free(cmd);
    cmd = vb_xasprintf("python3 -c \"import sqlite3; c = sqlite3.connect('%s');"
                       " c.execute('PRAGMA user_version = 7'); c.commit()\"", db);
    if (system(cmd) == 0) {
        for (int mode = STATE_READ; mode <= STATE_WRITE; mode++) {
            s = state_open(out, mode, &e);
            CHECK(s == NULL && e.code == VB_ERR_USAGE &&
                  strstr(e.msg, "made by a newer vbatch (schema 7); this one") &&
                  strstr(e.msg, "knows schema 1"));
            state_close(&s);
        }
        /* Refused before the lock was kept. */
        CHECK_INT(state_lock_probe(out, &pid, &batch), 0);
    }
    free(cmd);

    /* Not a database: damaged, with the hint. */
    FILE *f = fopen(db, "w");
    CHECK(f != NULL);
    if (f) {
        for (int i = 0; i < 3000; i++)
            fputs("not a journal ", f);
        fclose(f);
    }
    for (int mode = STATE_READ; mode <= STATE_WRITE; mode++) {
        s = state_open(out, mode, &e);
        CHECK(s == NULL && e.code == VB_ERR_USAGE && strstr(e.msg, "the journal is damaged") &&
              strstr(e.msg, "/.vbatch aside"));
        state_close(&s);
    }
    free(db);
    free(out);
}

int main(void)
{
    char dir[] = "/tmp/vbatch-test-state-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_lock(dir);
    test_open(dir);
    char *cmd = vb_xasprintf("rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    free(cmd);
    return check_result("test-state");
}
