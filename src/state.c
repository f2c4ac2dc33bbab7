/* state.c - the journal, OUT/.vbatch/state.db: the only user of SQLite.
 *
 * WAL mode so that `vbatch status` and `vbatch report` read while a batch
 * writes; a busy timeout so two processes wait instead of failing.
 * Writes go into one open transaction that is committed after
 * STATE_TXN_ITEMS writes or STATE_TXN_SECONDS, whichever comes first (and
 * by state_flush): one fsync per group instead of one per item. Workers
 * mark items running from their threads, so every call takes the
 * connection's mutex.
 *
 * A run (process, resume, retry, generate) holds the output folder's
 * lock, OUT/.vbatch/lock, from the journal's opening in write mode until
 * it is closed: a second run into the same folder is refused at once,
 * and a batch is running if and only if someone holds the lock (the
 * kernel drops it with the process, however it ends). status and report
 * open the journal read-only and take no lock.
 *
 * An existing journal is checked when opened (PRAGMA quick_check) and
 * carries a schema version (PRAGMA user_version): a damaged journal, or
 * one made by a newer vbatch, is refused before any work is done.
 *
 * VBATCH_JOURNAL=memory (a benchmarking aid) keeps the journal in a
 * shared in-memory database instead, named after the output folder: the
 * batch and its reports work as usual within the process, but nothing
 * is left on disk to resume from or to show with `vbatch status` (and
 * no lock is taken). */
#include "config.h"
#include "state.h"
#include "msg.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_TXN_ITEMS 64
#define STATE_TXN_SECONDS 0.2
#define STATE_BUSY_MS 10000
/* The journal's layout (PRAGMA user_version). 1: batches, items (with
 * discovered), inputs, analyses, gen_tasks, meta; a journal made before
 * versions existed (user_version 0) is migrated to 1 when opened for
 * writing, and read as 1. */
#define STATE_SCHEMA 1

enum { ST_QUEUE, ST_RUNNING, ST_RESULT,
       ST_INPUT_GET, ST_INPUT_PUT, ST_SKIPPED,      /* incremental runs */
       ST_ANALYSIS_GET, ST_ANALYSIS_FORGET, ST_ANALYSIS_PUT,
       ST_NSTMT };

struct state {
    sqlite3 *db;
    char *path;
    int mode;                  /* enum state_mode */
    state_lock *lock;          /* held while open for writing (not in memory) */
    bool has_discovered;       /* batches.discovered exists (older journals) */
    pthread_mutex_t mu;
    bool in_txn;
    int txn_writes;
    double txn_started;
    sqlite3_stmt *st[ST_NSTMT];
    /* Prepared on first use: gen_tasks exists in generate batches only. */
    sqlite3_stmt *gen_add, *gen_set;
};

struct state_rows {
    state *s;
    sqlite3_stmt *st;
};

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS batches ("
    " id TEXT PRIMARY KEY, command_line TEXT, config_json TEXT, inputs_json TEXT,"
    " started TEXT, finished TEXT, host TEXT, version TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('running','done','interrupted')),"
    " wall REAL, peak_rss_kib INTEGER, pid INTEGER, discovered INTEGER);"
    "CREATE TABLE IF NOT EXISTS items ("
    " batch TEXT NOT NULL REFERENCES batches(id), seq INTEGER NOT NULL,"
    " source TEXT, folder TEXT,"
    " status TEXT NOT NULL CHECK (status IN (" STATE_ITEM_STATUSES ")),"
    " attempts INTEGER NOT NULL DEFAULT 0, error_stage TEXT, error TEXT,"
    " record_json TEXT, started REAL, finished REAL,"
    " PRIMARY KEY (batch, seq));";

/* Incremental runs and notes, created in any journal that lacks them
 * (also one written before they existed). inputs: what this OUT already holds for
 * a source (its absolute path, or a URL as shown): size and mtime when
 * processed, the hash of the settings that affect results, its folder,
 * and the item row of its latest result. analyses: which folder holds
 * metadata/analysis.json for a content hash and analysis settings. */
static const char *const schema_incremental =
    "CREATE TABLE IF NOT EXISTS inputs ("
    " key TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, settings TEXT,"
    " folder TEXT, batch TEXT, seq INTEGER) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS analyses ("
    " content TEXT NOT NULL, settings TEXT NOT NULL, folder TEXT NOT NULL,"
    " PRIMARY KEY (content, settings)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS analyses_folder ON analyses (folder);"
    /* Notes (the webhook's deliveries; generation's settings). */
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

static const char *const stmt_sql[ST_NSTMT] = {
    [ST_QUEUE] = "INSERT OR REPLACE INTO items (batch, seq, source, folder, status, error)"
                 " VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
    [ST_RUNNING] = "UPDATE items SET status = 'running', attempts = attempts + 1,"
                   " started = ?3 WHERE batch = ?1 AND seq = ?2",
    [ST_RESULT] = "UPDATE items SET status = ?3, source = ?4, folder = ?5,"
                  " error_stage = ?6, error = ?7, record_json = ?8, finished = ?9"
                  " WHERE batch = ?1 AND seq = ?2",
    [ST_INPUT_GET] = "SELECT i.size, i.mtime_ns, i.settings, i.folder, i.batch, it.status,"
                     " it.record_json FROM inputs i LEFT JOIN items it"
                     " ON it.batch = i.batch AND it.seq = i.seq WHERE i.key = ?1",
    /* A result without a folder keeps the one the source had. */
    [ST_INPUT_PUT] = "INSERT INTO inputs (key, size, mtime_ns, settings, folder, batch, seq)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (key) DO UPDATE SET"
                     " size = excluded.size, mtime_ns = excluded.mtime_ns,"
                     " settings = excluded.settings,"
                     " folder = coalesce(excluded.folder, inputs.folder),"
                     " batch = excluded.batch, seq = excluded.seq",
    [ST_SKIPPED] = "INSERT OR REPLACE INTO items (batch, seq, source, folder, status,"
                   " record_json, finished) VALUES (?1, ?2, ?3, ?4, 'skipped', ?5, ?6)",
    [ST_ANALYSIS_GET] = "SELECT folder FROM analyses WHERE content = ?1 AND settings = ?2",
    [ST_ANALYSIS_FORGET] = "DELETE FROM analyses WHERE folder = ?1",
    [ST_ANALYSIS_PUT] = "INSERT OR REPLACE INTO analyses (content, settings, folder)"
                        " VALUES (?1, ?2, ?3)",
};

static int db_fail(state *s, vb_error *e, const char *what)
{
    int rc = sqlite3_errcode(s->db);
    /* Damage found after the opening's check (or a file changed under
     * the journal): the same hint as at the opening. */
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
        return vb_fail(e, VB_ERR_IO, "%s: %s: %s: the journal is damaged; move the .vbatch"
                       " folder holding it aside to start a new journal", s->path, what,
                       sqlite3_errmsg(s->db));
    return vb_fail(e, VB_ERR_IO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int db_exec(state *s, const char *sql, vb_error *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        vb_fail(e, VB_ERR_IO, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int commit_locked(state *s, vb_error *e)
{
    if (!s->in_txn)
        return 0;
    s->in_txn = false;
    s->txn_writes = 0;
    if (db_exec(s, "COMMIT", e) != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Before a write: open the group's transaction if none is open. */
static int write_begin(state *s, vb_error *e)
{
    if (s->in_txn)
        return 0;
    /* IMMEDIATE: take the write lock now (waiting up to the busy
     * timeout) rather than fail on the first write. */
    if (db_exec(s, "BEGIN IMMEDIATE", e) != 0)
        return -1;
    s->in_txn = true;
    s->txn_writes = 0;
    s->txn_started = util_now();
    return 0;
}

/* After a write: commit when the group is full or old enough. */
static int write_end(state *s, vb_error *e)
{
    s->txn_writes++;
    if (s->txn_writes >= STATE_TXN_ITEMS || util_now() - s->txn_started >= STATE_TXN_SECONDS)
        return commit_locked(s, e);
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* VBATCH_JOURNAL=memory: the journal is not written to disk. */
static bool in_memory(void)
{
    const char *v = getenv("VBATCH_JOURNAL");
    return v && strcmp(v, "memory") == 0;
}

/* "file:PATH?QUERY", PATH percent-encoded: a URI sqlite3_open_v2 reads. */
static char *file_uri(const char *path, const char *query)
{
    size_t n = strlen(path);
    char *u = vb_xcalloc(1, 5 + 3 * n + strlen(query) + 2), *p = u;
    p += sprintf(p, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("/._-", *c))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    sprintf(p, "?%s", query);
    return u;
}

/* ---- the output folder's lock ----
 * An open file description lock (F_OFD_SETLK) on OUT/.vbatch/lock: like
 * flock it belongs to the open file, so it goes with the process however
 * that ends, and it is not inherited across exec (O_CLOEXEC); unlike
 * flock it can be tested without being taken (F_OFD_GETLK), so `vbatch
 * status` checking it can never make a run that starts at that moment
 * fail. flock where OFD locks do not exist. The holder writes "pid N"
 * and "batch ID" lines into the file for the message a refused run
 * gives. One process takes the lock once per folder: further takes (a
 * retry's rounds, under the one `vbatch retry` holds) add a reference. */

struct state_lock {
    dev_t dev;
    ino_t ino;
    int fd;
    int refs;
    bool held;                 /* false: the file system has no locks */
    bool checked;              /* the journal passed check_journal under it */
    state_lock *next;
};

static pthread_mutex_t locks_mu = PTHREAD_MUTEX_INITIALIZER;
static state_lock *locks;      /* held by this process */
static pthread_once_t locks_once = PTHREAD_ONCE_INIT;

/* A child of fork holds none of its parent's locks (it shares the open
 * files, and so the locks, but must not believe it took them). */
static void locks_prepare(void) { pthread_mutex_lock(&locks_mu); }
static void locks_parent(void) { pthread_mutex_unlock(&locks_mu); }
static void locks_child(void)
{
    for (state_lock *lk = locks; lk; lk = lk->next)
        close(lk->fd);
    locks = NULL;               /* the entries are the parent's memory */
    pthread_mutex_unlock(&locks_mu);
}
static void locks_init(void) { pthread_atfork(locks_prepare, locks_parent, locks_child); }

static int lock_try(int fd)
{
#ifdef F_OFD_SETLK
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    return fcntl(fd, F_OFD_SETLK, &fl);
#else
    return flock(fd, LOCK_EX | LOCK_NB);
#endif
}

/* 1: someone holds the lock fd's file, 0: nobody, -1: cannot tell. */
static int lock_test(int fd)
{
#ifdef F_OFD_GETLK
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return -1;
    return fl.l_type != F_UNLCK;
#else
    /* Taken for the test only (a run starting at this very moment may
     * find it taken: flock cannot be tested otherwise). */
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        return 0;
    }
    return errno == EWOULDBLOCK ? 1 : -1;
#endif
}

/* The holder's pid and batch as its lock file says (0 and "" when it
 * does not); the batch id keeps only the characters ids are made of. */
static void lock_holder(int fd, long *pid, char *batch, size_t n)
{
    char buf[512];
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    *pid = 0;
    batch[0] = '\0';
    if (got <= 0)
        return;
    buf[got] = '\0';
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "pid ", 4) == 0)
            *pid = strtol(line + 4, NULL, 10);
        else if (strncmp(line, "batch ", 6) == 0) {
            size_t k = 0;
            for (const char *c = line + 6; *c && k + 1 < n; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || strchr("_.-", *c))
                    batch[k++] = *c;
            batch[k] = '\0';
        }
    }
}

static void lock_write_holder(state_lock *lk, const char *batch)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "pid %ld\n", (long)getpid());
    if (batch)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "batch %.200s\n", batch);
    /* Overwritten in place then cut: a reader sees a whole pid line. */
    if (pwrite(lk->fd, buf, (size_t)n, 0) == n && ftruncate(lk->fd, n) != 0)
        return;
}

/* errno after a refused write into the output folder: its message. */
static int read_only_fail(vb_error *e, const char *out_dir, const char *what, int err)
{
    if (err == EROFS)
        return vb_fail(e, VB_ERR_USAGE,
                       "%s: the output folder is read-only (%s is on a read-only file system);"
                       " vbatch status and vbatch report can still read it", out_dir, what);
    if (err == EACCES || err == EPERM)
        return vb_fail(e, VB_ERR_USAGE,
                       "%s: the output folder is read-only for this user (%s is not writable);"
                       " vbatch status and vbatch report can still read it", out_dir, what);
    return vb_fail(e, VB_ERR_IO, "%s: cannot write %s: %s", out_dir, what, strerror(err));
}

/* path (if it exists) must be writable for a run into out_dir. */
static int check_writable(const char *out_dir, const char *path, vb_error *e)
{
    if (access(path, W_OK) == 0 || errno == ENOENT)
        return 0;
    return read_only_fail(e, out_dir, path, errno);
}

state_lock *state_lock_take(const char *out_dir, vb_error *e)
{
    pthread_once(&locks_once, locks_init);
    char *path = util_path_join(out_dir, ".vbatch/lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    int err = errno;
    state_lock *lk = NULL;
    struct stat sb;
    if (fd < 0) {
        if (err == ENOENT)
            vb_fail(e, VB_ERR_USAGE, "%s: no batch recorded here", out_dir);
        else
            read_only_fail(e, out_dir, path, err);
        goto out;
    }
    if (fstat(fd, &sb) != 0) {
        vb_fail(e, VB_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    pthread_mutex_lock(&locks_mu);
    for (lk = locks; lk; lk = lk->next)
        if (lk->dev == sb.st_dev && lk->ino == sb.st_ino)
            break;
    if (lk) {
        lk->refs++;
        close(fd);
    } else if ((err = lock_try(fd) == 0 ? 0 : errno) == 0 || err == ENOLCK ||
               err == EOPNOTSUPP || err == ENOSYS) {
        /* Taken; or a file system without locks, where nothing better
         * can be done than to go on unprotected. */
        lk = vb_xcalloc(1, sizeof *lk);
        lk->dev = sb.st_dev;
        lk->ino = sb.st_ino;
        lk->fd = fd;
        lk->refs = 1;
        lk->held = err == 0;
        lk->next = locks;
        locks = lk;
        if (lk->held)
            lock_write_holder(lk, NULL);
    } else if (err == EAGAIN || err == EACCES || err == EWOULDBLOCK) {
        long pid;
        char batch[128], who[200] = "";
        lock_holder(fd, &pid, batch, sizeof batch);
        if (pid > 0 && batch[0])
            snprintf(who, sizeof who, " (batch %s, process %ld)", batch, pid);
        else if (pid > 0)
            snprintf(who, sizeof who, " (process %ld)", pid);
        vb_fail(e, VB_ERR_USAGE,
                "%s: another vbatch run is using this output folder%s; wait for it to end,"
                " or choose another output folder", out_dir, who);
        close(fd);
    } else {
        vb_fail(e, VB_ERR_IO, "%s: cannot lock: %s", path, strerror(err));
        close(fd);
    }
    pthread_mutex_unlock(&locks_mu);
out:
    free(path);
    return lk;
}

void state_lock_release(state_lock **plk)
{
    if (!plk || !*plk)
        return;
    state_lock *lk = *plk;
    *plk = NULL;
    pthread_mutex_lock(&locks_mu);
    if (--lk->refs == 0) {
        for (state_lock **p = &locks; *p; p = &(*p)->next)
            if (*p == lk) {
                *p = lk->next;
                break;
            }
        /* Emptied first: the file names no holder once it is free. */
        if (lk->held && ftruncate(lk->fd, 0) != 0)
            lk->held = false;
        close(lk->fd);
        free(lk);
    }
    pthread_mutex_unlock(&locks_mu);
}

void state_lock_note(state_lock *lk, const char *batch_id)
{
    if (!lk)
        return;
    pthread_mutex_lock(&locks_mu);
    if (lk->held)
        lock_write_holder(lk, batch_id);
    pthread_mutex_unlock(&locks_mu);
}

/* This process's lock on fd's file, or NULL. Only compared, or marked
 * checked, while the caller's own reference keeps it alive. */
static state_lock *lock_mine(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return NULL;
    pthread_mutex_lock(&locks_mu);
    state_lock *lk = locks;
    while (lk && !(lk->dev == sb.st_dev && lk->ino == sb.st_ino))
        lk = lk->next;
    pthread_mutex_unlock(&locks_mu);
    return lk;
}

/* The lock this process holds on out_dir, or NULL. */
static state_lock *lock_mine_of(const char *out_dir)
{
    char *path = util_path_join(out_dir, ".vbatch/lock");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    state_lock *lk = fd >= 0 ? lock_mine(fd) : NULL;
    if (fd >= 0)
        close(fd);
    return lk;
}

static bool lock_checked(state_lock *lk)
{
    pthread_mutex_lock(&locks_mu);
    bool c = lk && lk->checked;
    pthread_mutex_unlock(&locks_mu);
    return c;
}

static void lock_set_checked(state_lock *lk)
{
    pthread_mutex_lock(&locks_mu);
    if (lk)
        lk->checked = true;
    pthread_mutex_unlock(&locks_mu);
}

int state_lock_probe(const char *out_dir, long *pid, char **batch)
{
    *pid = 0;
    *batch = NULL;
    char *path = util_path_join(out_dir, ".vbatch/lock");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int err = errno;
    free(path);
    if (fd < 0)
        return err == ENOENT ? 0 : -1;  /* no run ever took it */
    int rc = lock_mine(fd) ? 1 : lock_test(fd);
    if (rc == 1) {
        char b[128];
        lock_holder(fd, pid, b, sizeof b);
        if (b[0])
            *batch = vb_xstrdup(b);
    }
    close(fd);
    return rc;
}

/* ---- opening ---- */

/* The journal cannot be read as a database: what to do about it. */
static int damaged_fail(state *s, const char *out_dir, const char *why, vb_error *e)
{
    return vb_fail(e, VB_ERR_USAGE,
                   "%s: the journal is damaged (%s); nothing was done. Move %s/.vbatch aside"
                   " (e.g. mv %s/.vbatch %s/.vbatch.damaged) to start a new journal there,"
                   " or choose another output folder", s->path, why, out_dir, out_dir, out_dir);
}

static bool is_damage(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || rc == SQLITE_FORMAT;
}

/* An existing journal, before anything else reads it: PRAGMA quick_check
 * (every page and b-tree, not the indexes' contents), then its schema
 * version. 1 = a read-only connection
 * that needs the journal opened as immutable (see state_open). */
static int check_journal(state *s, const char *out_dir, bool quick_check, int *version,
                         vb_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = -1, r;
    if (quick_check) {
        /* CHECK constraints not evaluated: half the cost, and a row
         * against one is no damage anyway (below). */
        sqlite3_exec(s->db, "PRAGMA ignore_check_constraints=ON", NULL, NULL, NULL);
        r = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
        if (r == SQLITE_OK)
            r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            const char *res = (const char *)sqlite3_column_text(st, 0);
            /* A row against a CHECK or NOT NULL constraint (a status
             * written by hand, by a newer vbatch) is not damage: the
             * b-trees are checked first, so a first error of that kind
             * means they are whole; such rows are read and shown as they
             * are. */
            if (!res || (strcmp(res, "ok") != 0 &&
                         strncmp(res, "CHECK constraint failed", 23) != 0 &&
                         strncmp(res, "NULL value in", 13) != 0)) {
                char why[200];
                snprintf(why, sizeof why, "%.190s", res ? res : "no answer");
                msg_printable(why);
                damaged_fail(s, out_dir, why, e);
                goto out;
            }
            sqlite3_finalize(st);
            st = NULL;
        } else {
            goto failed;
        }
    }
    r = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (r == SQLITE_OK)
        r = sqlite3_step(st);
    if (r != SQLITE_ROW)
        goto failed;
    *version = sqlite3_column_int(st, 0);
    if (*version > STATE_SCHEMA) {
        vb_fail(e, VB_ERR_USAGE,
                "%s: made by a newer vbatch (schema %d); this one (%s) knows schema %d: use"
                " that vbatch, or another output folder", s->path, *version, PACKAGE_VERSION,
                STATE_SCHEMA);
        goto out;
    }
    rc = 0;
    goto out;
failed:
    r = sqlite3_extended_errcode(s->db);
    if (is_damage(r))
        damaged_fail(s, out_dir, sqlite3_errmsg(s->db), e);
    else if (s->mode == STATE_READ &&
             ((r & 0xff) == SQLITE_CANTOPEN || (r & 0xff) == SQLITE_READONLY))
        rc = 1;
    else
        db_fail(s, e, "cannot read");
out:
    sqlite3_finalize(st);
    /* After the error was read: this resets it. */
    if (quick_check)
        sqlite3_exec(s->db, "PRAGMA ignore_check_constraints=OFF", NULL, NULL, NULL);
    return rc;
}

static int db_connect(state *s, const char *name, int flags, vb_error *e)
{
    if (sqlite3_open_v2(name, &s->db, flags, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, STATE_BUSY_MS);
        return 0;
    }
    if (s->db)
        db_fail(s, e, "cannot open");
    else
        vb_fail(e, VB_ERR_IO, "%s: cannot open", s->path);
    return -1;
}

/* Before the journal is read, for a run that writes: a read-only output
 * folder is said so before anything is made, and the lock is taken (what
 * is checked is what is run). */
static int open_for_write(state *s, const char *out_dir, const char *dir, vb_error *e)
{
    if (check_writable(out_dir, out_dir, e) != 0 ||
        (s->mode == STATE_CREATE && util_mkdir_p(dir, e) != 0) ||
        check_writable(out_dir, dir, e) != 0 || check_writable(out_dir, s->path, e) != 0)
        return -1;
    if (access(dir, F_OK) != 0) {
        vb_fail(e, VB_ERR_USAGE, "%s: no batch recorded here", out_dir);
        return -1;
    }
    if (!(s->lock = state_lock_take(out_dir, e)))
        return -1;
    return 0;
}

/* Read-only. Where the folder is writable, a connection that may write
 * but is told not to (query_only): as the last to close, it removes the
 * -wal and -shm files a read-only one would leave. Else mode=ro; and a
 * WAL journal needs its -shm file: where it cannot be made and no -wal is
 * left, nobody can be writing, and the file is read as immutable. */
static int open_read_only(state *s, const char *out_dir, bool dir_writable, int *version,
                          vb_error *e)
{
    bool rw = dir_writable && access(s->path, W_OK) == 0;
    char *wal = vb_xasprintf("%s-wal", s->path);
    bool immutable = !dir_writable && access(wal, F_OK) != 0;
    free(wal);
    for (;;) {
        char *uri = file_uri(s->path, rw ? "mode=rw" : immutable ? "mode=ro&immutable=1"
                                                                 : "mode=ro");
        int rc = db_connect(s, uri, (rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
                                        SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX, e);
        free(uri);
        if (rc != 0 || (rw && db_exec(s, "PRAGMA query_only=1", e) != 0))
            return -1;
        /* Checked once by a run of this process: not again while it holds
         * the lock (nobody else can have written since). */
        state_lock *mine = lock_mine_of(out_dir);
        rc = check_journal(s, out_dir, !lock_checked(mine), version, e);
        if (rc == 0) {
            lock_set_checked(mine);
            return 0;
        }
        if (rc > 0 && (immutable || dir_writable))
            db_fail(s, e, "cannot read");
        if (rc < 0 || immutable || dir_writable)
            return -1;
        sqlite3_close(s->db);
        s->db = NULL;
        immutable = true;
    }
}

/* The connection's settings, and for a run that writes the tables.
 * NORMAL is durable across a process crash in WAL mode (the OS holds the
 * data); only a power cut can lose the last commits. A small page cache:
 * the journal is written in order and read in one pass, so a large cache
 * only makes memory grow with the batch. */
static int open_setup(state *s, bool write, bool memory, vb_error *e)
{
    if (!write)
        return db_exec(s, "PRAGMA cache_size=-256; PRAGMA mmap_size=0;", e);
    if (db_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   " PRAGMA foreign_keys=ON; PRAGMA cache_size=-256;"
                   " PRAGMA mmap_size=0;", e) != 0 ||
        ((s->mode == STATE_CREATE || memory) && db_exec(s, schema, e) != 0) ||
        db_exec(s, schema_incremental, e) != 0)
        return -1;
    /* A journal made before `discovered` existed gets the column (an
     * error only means it is there). */
    sqlite3_exec(s->db, "ALTER TABLE batches ADD COLUMN discovered INTEGER", NULL, NULL, NULL);
    return 0;
}

/* Migrated (or made) to the current layout: said so; the statements of
 * a run that writes prepared. */
static int open_finish_write(state *s, int version, vb_error *e)
{
    if (version < STATE_SCHEMA) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STATE_SCHEMA);
        if (db_exec(s, sql, e) != 0)
            return -1;
    }
    for (int i = 0; i < ST_NSTMT; i++)
        if (sqlite3_prepare_v2(s->db, stmt_sql[i], -1, &s->st[i], NULL) != SQLITE_OK) {
            db_fail(s, e, "cannot prepare");
            return -1;
        }
    return 0;
}

static int open_connect(state *s, const char *out_dir, bool memory, bool dir_writable,
                        int *version, vb_error *e)
{
    if (memory) {
        char *uri = file_uri(s->path, "mode=memory&cache=shared");
        int rc = db_connect(s, uri, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                        SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX, e);
        free(uri);
        return rc;
    }
    if (s->mode != STATE_READ)
        return db_connect(s, s->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
                                          (s->mode == STATE_CREATE ? SQLITE_OPEN_CREATE : 0), e);
    return open_read_only(s, out_dir, dir_writable, version, e);
}

state *state_open(const char *out_dir, int mode, vb_error *e)
{
    bool memory = in_memory();
    bool write = mode != STATE_READ;
    char *dir = util_path_join(out_dir, ".vbatch");
    state *s = vb_xcalloc(1, sizeof *s);
    s->path = util_path_join(dir, "state.db");
    s->mode = mode;
    pthread_mutex_init(&s->mu, NULL);
    int version = 0;
    bool existed = false, dir_writable = access(dir, W_OK) == 0;
    if (write && !memory && open_for_write(s, out_dir, dir, e) != 0)
        goto fail;
    if (!memory) {
        struct stat sb;
        existed = stat(s->path, &sb) == 0 && sb.st_size > 0;
        if (!existed && mode != STATE_CREATE) {
            vb_fail(e, VB_ERR_USAGE, "%s: no batch recorded here", out_dir);
            goto fail;
        }
    }
    if (open_connect(s, out_dir, memory, dir_writable, &version, e) != 0)
        goto fail;
    if (write && existed) {
        if (check_journal(s, out_dir, !lock_checked(s->lock), &version, e) != 0)
            goto fail;
        lock_set_checked(s->lock);
    }
    if (open_setup(s, write, memory, e) != 0)
        goto fail;
    /* One whose creator was killed before it made the tables holds no
     * batch. */
    if (mode != STATE_CREATE &&
        sqlite3_exec(s->db, "SELECT 1 FROM items LIMIT 0", NULL, NULL, NULL) != SQLITE_OK) {
        vb_fail(e, VB_ERR_USAGE, "%s: no batch recorded here", out_dir);
        goto fail;
    }
    s->has_discovered =
        sqlite3_exec(s->db, "SELECT discovered FROM batches LIMIT 0", NULL, NULL, NULL) ==
        SQLITE_OK;
    if (write && open_finish_write(s, version, e) != 0)
        goto fail;
    free(dir);
    return s;
fail:
    free(dir);
    state_close(&s);
    return NULL;
}

void state_close(state **ps)
{
    if (!ps || !*ps)
        return;
    state *s = *ps;
    if (s->db) {
        commit_locked(s, NULL);
        for (int i = 0; i < ST_NSTMT; i++)
            sqlite3_finalize(s->st[i]);
        sqlite3_finalize(s->gen_add);
        sqlite3_finalize(s->gen_set);
        sqlite3_close(s->db);
    }
    /* After the journal is closed: the next run finds it complete. */
    state_lock_release(&s->lock);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
    *ps = NULL;
}

int state_flush(state *s, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = commit_locked(s, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_snapshot(state *s, bool begin, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = commit_locked(s, e);
    if (rc == 0)
        /* The read that starts the snapshot (BEGIN alone defers it). */
        rc = db_exec(s, begin ? "BEGIN; SELECT count(*) FROM sqlite_master" : "COMMIT", e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void state_batch_clear(state_batch *b)
{
    free(b->id); free(b->command_line); free(b->config_json); free(b->inputs_json);
    free(b->started); free(b->finished); free(b->host); free(b->version); free(b->status);
    memset(b, 0, sizeof *b);
}

char *state_batch_begin(state *s, const char *base_id, const state_batch *b, vb_error *e)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    sqlite3_stmt *st = NULL;
    char *id = NULL;
    pthread_mutex_lock(&s->mu);
    if (commit_locked(s, e) != 0)
        goto out;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO batches (id, command_line, config_json, inputs_json,"
                           " started, host, version, status, pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                           " ?7, 'running', ?8)", -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    for (int n = 1; n < 1000; n++) {
        id = n == 1 ? vb_xstrdup(base_id) : vb_xasprintf("%s_%d", base_id, n);
        bind_text(st, 1, id);
        bind_text(st, 2, b->command_line);
        bind_text(st, 3, b->config_json);
        bind_text(st, 4, b->inputs_json);
        bind_text(st, 5, b->started);
        bind_text(st, 6, host);
        bind_text(st, 7, PACKAGE_VERSION);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)getpid());
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            state_lock_note(s->lock, id);
            goto out;
        }
        free(id);
        id = NULL;
        /* A taken id: try the next suffix; anything else is an error. */
        if (rc != SQLITE_CONSTRAINT) {
            db_fail(s, e, "cannot record the batch");
            goto out;
        }
    }
    vb_fail(e, VB_ERR_IO, "%s: too many batches named %s", s->path, base_id);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return id;
}

int state_batch_end(state *s, const char *id, const char *status, const char *finished,
                    double wall, int64_t peak_rss_kib, vb_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    if (write_begin(s, e) != 0)
        goto out;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE batches SET status = ?2, finished = ?3, wall = ?4,"
                           " peak_rss_kib = ?5 WHERE id = ?1", -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, id);
    bind_text(st, 2, status);
    bind_text(st, 3, finished);
    sqlite3_bind_double(st, 4, wall);
    sqlite3_bind_int64(st, 5, peak_rss_kib);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(s, e, "cannot record the batch's end");
        goto out;
    }
    rc = commit_locked(s, e);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_batch_discovered(state *s, const char *id, int64_t n, vb_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    if (write_begin(s, e) != 0)
        goto out;
    if (sqlite3_prepare_v2(s->db, "UPDATE batches SET discovered = ?2 WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, n);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(s, e, "cannot record the batch");
        goto out;
    }
    /* In the group, after every item entered: committed with them. */
    rc = write_end(s, e);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? vb_xstrdup((const char *)t) : NULL;
}

int state_batch_get(state *s, const char *id, state_batch *b, vb_error *e)
{
    memset(b, 0, sizeof *b);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    /* An older journal opened read-only may lack `discovered`. */
    char *sql = vb_xasprintf("SELECT id, command_line, config_json, inputs_json, started,"
                             " finished, host, version, status, wall, peak_rss_kib, %s,"
                             " (SELECT ifnull(max(seq), 0) FROM items WHERE batch = batches.id)"
                             " FROM batches %s",
                             s->has_discovered ? "ifnull(discovered, -1)" : "-1",
                             id ? "WHERE id = ?1" : "ORDER BY rowid DESC LIMIT 1");
    int prc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (prc != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    if (id)
        bind_text(st, 1, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        b->id = col_dup(st, 0);
        b->command_line = col_dup(st, 1);
        b->config_json = col_dup(st, 2);
        b->inputs_json = col_dup(st, 3);
        b->started = col_dup(st, 4);
        b->finished = col_dup(st, 5);
        b->host = col_dup(st, 6);
        b->version = col_dup(st, 7);
        b->status = col_dup(st, 8);
        b->wall = sqlite3_column_double(st, 9);
        b->peak_rss_kib = sqlite3_column_int64(st, 10);
        b->discovered = sqlite3_column_int64(st, 11);
        b->last_seq = sqlite3_column_int64(st, 12);
        rc = 0;
    } else if (r == SQLITE_DONE) {
        if (id)
            vb_fail(e, VB_ERR_USAGE, "%s: no batch %s recorded here", s->path, id);
        else
            vb_fail(e, VB_ERR_USAGE, "%s: no batch recorded here", s->path);
    } else {
        db_fail(s, e, "cannot read");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Run one of the prepared item writes inside the current group. */
static int item_write(state *s, sqlite3_stmt *st, vb_error *e)
{
    int rc = -1;
    if (write_begin(s, e) == 0) {
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = write_end(s, e);
        else
            db_fail(s, e, "cannot record an item");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int state_item_queue(state *s, const char *batch, int64_t seq, const char *source,
                     const char *folder, const char *error, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_QUEUE];
    bind_text(st, 1, batch);
    sqlite3_bind_int64(st, 2, seq);
    bind_text(st, 3, source);
    bind_text(st, 4, folder);
    bind_text(st, 5, error);
    int rc = item_write(s, st, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_item_running(state *s, const char *batch, int64_t seq, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_RUNNING];
    bind_text(st, 1, batch);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_double(st, 3, util_wall());
    int rc = item_write(s, st, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_item_result(state *s, const char *batch, int64_t seq, const char *status,
                      const char *source, const char *folder, const char *error_stage,
                      const char *error, const char *record_json, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_RESULT];
    bind_text(st, 1, batch);
    sqlite3_bind_int64(st, 2, seq);
    bind_text(st, 3, status);
    bind_text(st, 4, source);
    bind_text(st, 5, folder);
    bind_text(st, 6, error_stage);
    bind_text(st, 7, error);
    bind_text(st, 8, record_json);
    sqlite3_bind_double(st, 9, util_wall());
    int rc = item_write(s, st, e);
    /* An item never entered would otherwise be lost without a word. */
    if (rc == 0 && sqlite3_changes(s->db) != 1)
        rc = vb_fail(e, VB_ERR_IO, "%s: item %lld of batch %s is not in the journal", s->path,
                     (long long)seq, batch);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_batch_reopen(state *s, const char *id, const char *requeue, double *wall,
                       vb_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    *wall = 0;
    pthread_mutex_lock(&s->mu);
    if (commit_locked(s, e) != 0 || write_begin(s, e) != 0)
        goto out;
    if (sqlite3_prepare_v2(s->db, "SELECT wall FROM batches WHERE id = ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, id);
    /* No check of the pid recorded: this process holds the output
     * folder's lock, so a batch marked running is one whose process is
     * gone (a pid alive may well be another process's by now). */
    if (sqlite3_step(st) == SQLITE_ROW)
        *wall = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    /* Items left running by a process that is gone are redone. */
    if (sqlite3_prepare_v2(s->db, "UPDATE items SET status = 'pending' WHERE batch = ?1"
                           " AND status = 'running'", -1, &st, NULL) != SQLITE_OK ||
        (bind_text(st, 1, id), sqlite3_step(st)) != SQLITE_DONE) {
        db_fail(s, e, "cannot reopen the batch");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Retrying: the items with the status asked for are redone. */
    if (requeue &&
        (sqlite3_prepare_v2(s->db, "UPDATE items SET status = 'pending', error_stage = NULL, error = NULL, record_json = NULL, finished = NULL"
                            " WHERE batch = ?1 AND status = ?2", -1, &st, NULL) != SQLITE_OK ||
         (bind_text(st, 1, id), bind_text(st, 2, requeue), sqlite3_step(st)) != SQLITE_DONE)) {
        db_fail(s, e, "cannot requeue the items");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE batches SET status = 'running', finished = NULL,"
                           " pid = ?2 WHERE id = ?1", -1, &st, NULL) != SQLITE_OK ||
        (bind_text(st, 1, id), sqlite3_bind_int64(st, 2, (sqlite3_int64)getpid()),
         sqlite3_step(st)) != SQLITE_DONE) {
        db_fail(s, e, "cannot reopen the batch");
        goto out;
    }
    rc = commit_locked(s, e);
    if (rc == 0)
        state_lock_note(s->lock, id);
out:
    sqlite3_finalize(st);
    if (rc != 0 && s->in_txn) {
        s->in_txn = false;
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_next_pending(state *s, const char *batch, int64_t after, int64_t *seq,
                       char **source, char **folder, char **error, vb_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    *source = *folder = *error = NULL;
    pthread_mutex_lock(&s->mu);
    /* One row at a time by the primary key: no statement stays open
     * while the batch writes. */
    if (sqlite3_prepare_v2(s->db, "SELECT seq, source, folder, error FROM items"
                           " WHERE batch = ?1 AND seq > ?2 AND status = 'pending'"
                           " ORDER BY seq LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, batch);
    sqlite3_bind_int64(st, 2, after);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        *source = col_dup(st, 1);
        *folder = col_dup(st, 2);
        *error = col_dup(st, 3);
        rc = 1;
    } else if (r == SQLITE_DONE) {
        rc = 0;
    } else {
        db_fail(s, e, "cannot read");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char *const query_sql[] = {
    [STATE_Q_BATCHES] = "SELECT id, started, finished, status, command_line FROM batches"
                        " ORDER BY rowid",
    [STATE_Q_COUNTS] = "SELECT status, count(*) FROM items WHERE batch = ?1 GROUP BY status",
    [STATE_Q_FAILURES] = "SELECT seq, source, error_stage, error, attempts, folder FROM items"
                         " WHERE batch = ?1 AND status = 'failed' ORDER BY seq",
    [STATE_Q_RECORDS] = "SELECT record_json, status, seq, source, folder FROM items"
                        " WHERE batch = ?1 AND (record_json IS NOT NULL OR status NOT IN ("
                        STATE_ITEM_STATUSES ")) ORDER BY seq",
    [STATE_Q_FOLDERS] = "SELECT folder FROM items WHERE batch = ?1 AND folder IS NOT NULL"
                        " ORDER BY seq",
    /* One row per source ever recorded (not per batch): the cost does
     * not grow with the number of runs. */
    [STATE_Q_ALL_FOLDERS] = "SELECT folder FROM inputs WHERE folder IS NOT NULL",
    [STATE_Q_RUNNING] = "SELECT seq, source, attempts,"
                        " round(max(0, (julianday('now') - 2440587.5) * 86400 - started), 1) FROM items"
                        " WHERE batch = ?1 AND status = 'running' ORDER BY seq",
    [STATE_Q_ATTEMPTS] = "SELECT ifnull(sum(attempts), 0), ifnull(sum(attempts > 1), 0) FROM items"
                         " WHERE batch = ?1",
    [STATE_Q_URLS] = "SELECT seq, source, status FROM items WHERE batch = ?1"
                     " AND (source LIKE 'http://%' OR source LIKE 'https://%') ORDER BY seq",
};

state_rows *state_query(state *s, int query, const char *batch, vb_error *e)
{
    if (query < 0 || (size_t)query >= VB_ARRAY_LEN(query_sql)) {
        vb_fail(e, VB_ERR_INTERNAL, "unknown journal query");
        return NULL;
    }
    state_rows *r = vb_xcalloc(1, sizeof *r);
    r->s = s;
    pthread_mutex_lock(&s->mu);
    int rc = sqlite3_prepare_v2(s->db, query_sql[query], -1, &r->st, NULL);
    if (rc != SQLITE_OK)
        db_fail(s, e, "cannot prepare");
    else if (batch)
        bind_text(r->st, 1, batch);
    pthread_mutex_unlock(&s->mu);
    if (rc != SQLITE_OK)
        state_rows_free(&r);
    return r;
}

int state_rows_next(state_rows *r, const char **cols, int ncols, vb_error *e)
{
    pthread_mutex_lock(&r->s->mu);
    int rc = sqlite3_step(r->st);
    int out;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_count(r->st);
        for (int i = 0; i < ncols; i++)
            cols[i] = i < n ? (const char *)sqlite3_column_text(r->st, i) : NULL;
        out = 1;
    } else if (rc == SQLITE_DONE) {
        out = 0;
    } else {
        out = db_fail(r->s, e, "cannot read");
    }
    pthread_mutex_unlock(&r->s->mu);
    return out;
}

void state_rows_free(state_rows **pr)
{
    if (!pr || !*pr)
        return;
    sqlite3_finalize((*pr)->st);
    free(*pr);
    *pr = NULL;
}

/* ---- generation tasks (vbatch generate) ----
 * One row per item of a generate batch: the job as JSON (no secrets, no
 * image bytes), the external id sent with the create call, the provider's
 * task id as soon as the create call answers, and the last status seen.
 * This is what makes submission exactly-once across crashes. */

static const char *const gen_schema =
    "CREATE TABLE IF NOT EXISTS gen_tasks ("
    " batch TEXT NOT NULL, seq INTEGER NOT NULL, job_json TEXT NOT NULL,"
    " external_id TEXT NOT NULL, task_id TEXT,"
    " gen_status TEXT NOT NULL DEFAULT 'pending',"
    " est_units REAL, units REAL, message TEXT, leader INTEGER,"
    " units_before REAL NOT NULL DEFAULT 0,"
    " PRIMARY KEY (batch, seq));"
    "CREATE INDEX IF NOT EXISTS gen_tasks_ext ON gen_tasks (external_id);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

int state_gen_prepare(state *s, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = commit_locked(s, e);
    if (rc == 0)
        rc = db_exec(s, gen_schema, e);
    /* A journal made before units_before existed gets the column (an
     * error only means it is there). */
    if (rc == 0)
        sqlite3_exec(s->db, "ALTER TABLE gen_tasks ADD COLUMN units_before REAL NOT NULL"
                            " DEFAULT 0", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_meta_get_or_set(state *s, const char *key, const char *value, char **out,
                          vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if (write_begin(s, e) != 0)
        goto out;
    if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                           -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, key);
    bind_text(st, 2, value);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(s, e, "cannot write");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, key);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_fail(s, e, "cannot read");
        goto out;
    }
    *out = vb_xstrdup((const char *)sqlite3_column_text(st, 0));
    rc = commit_locked(s, e);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* A gen_tasks statement kept in *slot once prepared: a batch adds each
 * task once and updates it a few times. */
static sqlite3_stmt *gen_stmt(state *s, sqlite3_stmt **slot, const char *sql, vb_error *e)
{
    if (!*slot && sqlite3_prepare_v2(s->db, sql, -1, slot, NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
        return NULL;
    }
    return *slot;
}

int state_gen_add(state *s, const char *batch, int64_t seq, const char *job_json,
                  const char *external_id, double est_units, int64_t leader, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = gen_stmt(s, &s->gen_add,
                                "INSERT OR REPLACE INTO gen_tasks (batch, seq, job_json,"
                                " external_id, est_units, leader)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", e);
    if (st) {
        bind_text(st, 1, batch);
        sqlite3_bind_int64(st, 2, seq);
        bind_text(st, 3, job_json);
        bind_text(st, 4, external_id);
        sqlite3_bind_double(st, 5, est_units);
        if (leader > 0)
            sqlite3_bind_int64(st, 6, leader);
        else
            sqlite3_bind_null(st, 6);
        rc = item_write(s, st, e);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_gen_set(state *s, const char *batch, int64_t seq, const char *task_id,
                  const char *gen_status, double units, const char *message, bool commit,
                  vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = gen_stmt(s, &s->gen_set,
                                "UPDATE gen_tasks SET task_id = coalesce(?3, task_id),"
                                " gen_status = ?4, units = coalesce(?5, units),"
                                " message = ?6 WHERE batch = ?1 AND seq = ?2", e);
    if (st) {
        bind_text(st, 1, batch);
        sqlite3_bind_int64(st, 2, seq);
        bind_text(st, 3, task_id);
        bind_text(st, 4, gen_status);
        if (units == units)
            sqlite3_bind_double(st, 5, units);
        else
            sqlite3_bind_null(st, 5);
        bind_text(st, 6, message);
        rc = item_write(s, st, e);
        if (rc == 0 && commit)
            rc = commit_locked(s, e);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_gen_renew(state *s, const char *batch, int64_t seq, const char *external_id,
                    double spent, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE gen_tasks SET external_id = ?3, task_id = NULL,"
                           " gen_status = 'pending', units = NULL, message = NULL,"
                           " units_before = units_before + ?4"
                           " WHERE batch = ?1 AND seq = ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot prepare");
    } else {
        bind_text(st, 1, batch);
        sqlite3_bind_int64(st, 2, seq);
        bind_text(st, 3, external_id);
        sqlite3_bind_double(st, 4, spent > 0 && isfinite(spent) ? spent : 0.0);
        rc = item_write(s, st, e);
        sqlite3_finalize(st);
        if (rc == 0)
            rc = commit_locked(s, e);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

state_rows *state_gen_rows(state *s, const char *batch, vb_error *e)
{
    state_rows *r = vb_xcalloc(1, sizeof *r);
    r->s = s;
    pthread_mutex_lock(&s->mu);
    /* A journal older than units_before, opened read-only (not
     * migrated), is read with 0 there. */
    static const char *const cols[] = { "g.units_before", "0" };
    int rc = SQLITE_ERROR;
    for (size_t k = 0; k < 2 && rc != SQLITE_OK; k++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT g.seq, g.job_json, g.external_id, g.task_id,"
                 " g.gen_status, g.est_units, g.units, g.leader, i.folder,"
                 " i.status, g.message, %s FROM gen_tasks g JOIN items i"
                 " ON i.batch = g.batch AND i.seq = g.seq"
                 " WHERE g.batch = ?1 ORDER BY g.seq", cols[k]);
        rc = sqlite3_prepare_v2(s->db, sql, -1, &r->st, NULL);
    }
    if (rc != SQLITE_OK)
        db_fail(s, e, "cannot prepare");
    else
        bind_text(r->st, 1, batch);
    pthread_mutex_unlock(&s->mu);
    if (rc != SQLITE_OK)
        state_rows_free(&r);
    return r;
}

/* ---- incremental runs ---- */

void state_input_clear(state_input *in)
{
    free(in->settings); free(in->folder); free(in->batch); free(in->status);
    free(in->record_json);
    memset(in, 0, sizeof *in);
}

int state_input_get(state *s, const char *key, state_input *out, vb_error *e)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    /* Read-only (process --dry-run): prepared when first needed. */
    if (!s->st[ST_INPUT_GET] &&
        sqlite3_prepare_v2(s->db, stmt_sql[ST_INPUT_GET], -1, &s->st[ST_INPUT_GET], NULL) !=
            SQLITE_OK) {
        int rc = db_fail(s, e, "cannot prepare");
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    sqlite3_stmt *st = s->st[ST_INPUT_GET];
    bind_text(st, 1, key);
    int r = sqlite3_step(st), rc;
    if (r == SQLITE_ROW) {
        out->size = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
        out->mtime_ns = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1
                                                                  : sqlite3_column_int64(st, 1);
        out->settings = col_dup(st, 2);
        out->folder = col_dup(st, 3);
        out->batch = col_dup(st, 4);
        out->status = col_dup(st, 5);
        out->record_json = col_dup(st, 6);
        rc = 1;
    } else if (r == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = db_fail(s, e, "cannot read");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_input_put(state *s, const char *key, int64_t size, int64_t mtime_ns,
                    const char *settings, const char *folder, const char *batch, int64_t seq,
                    vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_INPUT_PUT];
    bind_text(st, 1, key);
    if (size >= 0)
        sqlite3_bind_int64(st, 2, size);
    else
        sqlite3_bind_null(st, 2);
    if (size >= 0)
        sqlite3_bind_int64(st, 3, mtime_ns);
    else
        sqlite3_bind_null(st, 3);
    bind_text(st, 4, settings);
    bind_text(st, 5, folder);
    bind_text(st, 6, batch);
    sqlite3_bind_int64(st, 7, seq);
    int rc = item_write(s, st, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_item_skipped(state *s, const char *batch, int64_t seq, const char *source,
                       const char *folder, const char *record_json, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_SKIPPED];
    bind_text(st, 1, batch);
    sqlite3_bind_int64(st, 2, seq);
    bind_text(st, 3, source);
    bind_text(st, 4, folder);
    bind_text(st, 5, record_json);
    sqlite3_bind_double(st, 6, util_wall());
    int rc = item_write(s, st, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_analysis_get(state *s, const char *content, const char *settings, char **folder,
                       vb_error *e)
{
    *folder = NULL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_ANALYSIS_GET];
    bind_text(st, 1, content);
    bind_text(st, 2, settings);
    int r = sqlite3_step(st), rc;
    if (r == SQLITE_ROW) {
        *folder = col_dup(st, 0);
        rc = *folder ? 1 : 0;
    } else if (r == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = db_fail(s, e, "cannot read");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_analysis_forget(state *s, const char *folder, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_ANALYSIS_FORGET];
    bind_text(st, 1, folder);
    /* Committed at once: the folder's analysis.json is about to change. */
    int rc = item_write(s, st, e);
    if (rc == 0)
        rc = commit_locked(s, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int state_analysis_put(state *s, const char *content, const char *settings,
                       const char *folder, vb_error *e)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_ANALYSIS_PUT];
    bind_text(st, 1, content);
    bind_text(st, 2, settings);
    bind_text(st, 3, folder);
    int rc = item_write(s, st, e);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
