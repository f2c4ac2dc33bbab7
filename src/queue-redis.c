/* queue-redis.c - the queue of queue.h on Redis Streams; the one file
 * that uses hiredis.
 *
 * What must be atomic (take with its dead-lettering, finish with its
 * once-only record, renew and hand back with their ownership check) is
 * one Lua script each, so that workers racing for an item, or a worker
 * retrying a call whose reply was lost, never see half of it. Entries are
 * added with the id SEQ-1, so an XADD sent again is refused as a
 * duplicate rather than entering the item twice.
 *
 * A worker's quick items would spend most of their time waiting for
 * replies: it takes several in one call (queue_take_n) and sends each
 * start and finish without waiting (queue_send), the replies read by the
 * next call that waits; what is not answered when the connection goes is
 * sent again on the next one, which every call being idempotent allows. */
#include "config.h"
#include "queue.h"
#include "backoff.h"
#include "jwt.h"
#include "util.h"

#include <hiredis/hiredis.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_GROUP "vbatch"
#define QUEUE_CONNECT_TIMEOUT 5.0   /* seconds */
#define QUEUE_COMMAND_TIMEOUT 10.0
#define QUEUE_MAX_FIELD (1 << 20)    /* an entry's field: 1 MiB at most */
#define QUEUE_MAX_SENT 64            /* commands sent ahead of their replies */
#define QUEUE_HELD "held"            /* an item's last error while taken ahead */

/* ---- the URL (pure) ---- */

void queue_url_clear(queue_url *u)
{
    free(u->host);
    free(u->name);
    free(u->user);
    if (u->password) {
        explicit_bzero(u->password, strlen(u->password));
        free(u->password);
    }
    memset(u, 0, sizeof *u);
}

/* %XX decoded (user and password may hold reserved characters). */
static char *queue_url_unescape(const char *s, size_t n)
{
    char *out = vb_xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 0 && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            *o++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static bool queue_name_ok(const char *s)
{
    if (!*s || strlen(s) > 200)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.:", *s))
            return false;
    return true;
}

int queue_url_parse(const char *url, queue_url *u, vb_error *e)
{
    memset(u, 0, sizeof *u);
    static const char scheme[] = "redis://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return vb_fail(e, VB_ERR_USAGE, "a queue URL is redis://[user[:password]@]host[:port]/"
                       "DB/NAME");
    const char *p = url + sizeof scheme - 1;
    const char *slash = strchr(p, '/');
    if (!slash)
        return vb_fail(e, VB_ERR_USAGE, "the queue URL lacks /DB/NAME");
    /* The last '@' before the path ends the credentials. */
    const char *at = NULL;
    for (const char *c = p; c < slash; c++)
        if (*c == '@')
            at = c;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ul = (size_t)((colon ? colon : at) - p);
        if (ul)
            u->user = queue_url_unescape(p, ul);
        if (colon)
            u->password = queue_url_unescape(colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    const char *colon = memchr(p, ':', (size_t)(slash - p));
    const char *hend = colon ? colon : slash;
    if (hend == p || hend - p > 253) {
        queue_url_clear(u);
        return vb_fail(e, VB_ERR_USAGE, "the queue URL names no host");
    }
    u->host = vb_xstrndup(p, (size_t)(hend - p));
    for (const char *c = u->host; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("-._", *c)) {
            queue_url_clear(u);
            return vb_fail(e, VB_ERR_USAGE, "the queue URL's host is not a host name or an "
                           "IPv4 address");
        }
    u->port = 6379;
    if (colon) {
        char *end;
        errno = 0;
        long port = strtol(colon + 1, &end, 10);
        if (end != slash || colon + 1 == slash || errno || port < 1 || port > 65535) {
            queue_url_clear(u);
            return vb_fail(e, VB_ERR_USAGE, "the queue URL's port is not a number 1..65535");
        }
        u->port = (int)port;
    }
    const char *db = slash + 1, *s2 = strchr(db, '/');
    char *end;
    errno = 0;
    long n = s2 && s2 > db ? strtol(db, &end, 10) : -1;
    if (!s2 || s2 == db || end != s2 || errno || n < 0 || n > 1023) {
        queue_url_clear(u);
        return vb_fail(e, VB_ERR_USAGE, "the queue URL needs /DB/NAME (DB a number, as in "
                       "redis://host:6379/0/videos)");
    }
    u->db = (int)n;
    if (!queue_name_ok(s2 + 1)) {
        queue_url_clear(u);
        return vb_fail(e, VB_ERR_USAGE, "the queue's NAME must be 1 to 200 letters, digits, "
                       "'-', '_', '.' or ':'");
    }
    u->name = vb_xstrdup(s2 + 1);
    return 0;
}

char *queue_url_display(const queue_url *u)
{
    return vb_xasprintf("redis://%s:%d/%d/%s", u->host, u->port, u->db, u->name);
}

int queue_url_password(queue_url *u, vb_error *e)
{
    if (u->password)
        return 0;
    const char *env = getenv("VBATCH_REDIS_PASSWORD");
    if (env && *env) {
        u->password = vb_xstrdup(env);
        return 0;
    }
    const char *file = getenv("VBATCH_REDIS_PASSWORD_FILE");
    if (!file || !*file)
        return 0;
    size_t cap = 0;
    char *buf = jwt_read_private(file, &cap, e);
    if (!buf)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0]) {
        free(buf);
        return vb_fail(e, VB_ERR_CONFIG, "VBATCH_REDIS_PASSWORD_FILE %s: empty", file);
    }
    u->password = vb_xstrdup(buf);
    explicit_bzero(buf, cap);
    free(buf);
    return 0;
}

/* ---- the connection ---- */

/* A command sent without waiting for its reply: kept until it comes. */
typedef struct queue_sent {
    char *argv[16];              /* owned */
    size_t lens[16];
    int argc;
    bool finish;                 /* a finish: its reply goes to on_finished */
    int64_t seq;
    char *label;                 /* owned */
    int tag;
} queue_sent;

struct queue {
    queue_url u;                 /* a copy (owned) */
    char *consumer;              /* NULL: not a worker */
    double reconnect;            /* seconds */
    redisContext *c;
    uint64_t rng;
    char *k_items, *k_settings, *k_results, *k_done, *k_dead, *k_errors, *k_total;
    char *k_slots, *k_rpm, *k_claims;  /* generation's shared limiter and claims */
    double scanned;              /* when a take last looked for idle items */
    queue_sent *sent;            /* in the order sent, replies not read yet */
    size_t nsent, capsent;
    queue_finished_fn *on_finished;
    void *on_ud;
};

const char *queue_name(const queue *q)
{
    return q->u.name;
}

static struct timeval queue_tv(double s)
{
    return (struct timeval){ (time_t)s, (suseconds_t)((s - floor(s)) * 1e6) };
}

/* An error message from Redis or hiredis, printable and short. */
static int queue_fail(vb_error *e, int code, const char *what, const char *msg, size_t len)
{
    char buf[200];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = isprint((unsigned char)msg[i]) ? msg[i] : '?';
    buf[n] = '\0';
    return vb_fail(e, code, "%s: %s", what, buf);
}

/* hiredis writes with write(): on a connection the server has cut
 * (CLIENT KILL, a restart) a second write raises SIGPIPE, whose default
 * ends the process (exit 141) where the EPIPE is an error reconnecting
 * handles. Ignored once for the process (libcurl, the other network
 * user, sends with MSG_NOSIGNAL anyway). */
static void queue_ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

static int queue_connect(queue *q, vb_error *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, queue_ignore_sigpipe);
    if (q->c)
        redisFree(q->c);
    q->c = redisConnectWithTimeout(q->u.host, q->u.port, queue_tv(QUEUE_CONNECT_TIMEOUT));
    char *where = queue_url_display(&q->u);
    int rc = -1;
    if (!q->c) {
        vb_fail(e, VB_ERR_NET_RETRY, "%s: cannot connect (out of memory)", where);
        goto out;
    }
    if (q->c->err) {
        queue_fail(e, VB_ERR_NET_RETRY, where, q->c->errstr, strlen(q->c->errstr));
        goto out;
    }
    redisSetTimeout(q->c, queue_tv(QUEUE_COMMAND_TIMEOUT));
    redisEnableKeepAlive(q->c);
    redisReply *r = NULL;
    if (q->u.password) {
        r = q->u.user ? redisCommand(q->c, "AUTH %s %s", q->u.user, q->u.password)
                      : redisCommand(q->c, "AUTH %s", q->u.password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            /* The reply names no password; a refusal is not worth retrying. */
            if (r)
                queue_fail(e, VB_ERR_CONFIG, where, r->str, r->len);
            else
                queue_fail(e, VB_ERR_NET_RETRY, where, q->c->errstr, strlen(q->c->errstr));
            freeReplyObject(r);
            goto out;
        }
        freeReplyObject(r);
    }
    r = redisCommand(q->c, "SELECT %d", q->u.db);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            queue_fail(e, VB_ERR_CONFIG, where, r->str, r->len);
        else
            queue_fail(e, VB_ERR_NET_RETRY, where, q->c->errstr, strlen(q->c->errstr));
        freeReplyObject(r);
        goto out;
    }
    freeReplyObject(r);
    rc = 0;
out:
    if (rc != 0 && q->c) {
        redisFree(q->c);
        q->c = NULL;
    }
    free(where);
    return rc;
}

/* Connect again with backoff until the reconnect window is over. */
static int queue_reconnect(queue *q, vb_error *e)
{
    double until = util_now() + q->reconnect;
    for (int n = 1;; n++) {
        if (queue_connect(q, e) == 0)
            return 0;
        if (e->code != VB_ERR_NET_RETRY)
            return -1;
        double d = backoff_delay(n, 0.1, 2.0, &q->rng);
        if (util_now() + d > until)
            return -1;
        struct timespec ts = { (time_t)d, (long)((d - floor(d)) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

static bool queue_int(const redisReply *r, long long *v);
static int queue_bad_reply(vb_error *e, const char *what);

static void queue_sent_clear(queue_sent *s)
{
    for (int i = 0; i < s->argc; i++)
        free(s->argv[i]);
    free(s->label);
    memset(s, 0, sizeof *s);
}

/* The oldest command sent is answered (r; NULL: it never will be, err). */
static void queue_sent_answered(queue *q, const redisReply *r, const vb_error *err)
{
    queue_sent *s = &q->sent[0];
    if (s->finish && q->on_finished) {
        vb_error re = {0};
        long long v = -1;
        int got = -1;
        if (!r)
            re = *err;
        else if (r->type == REDIS_REPLY_ERROR)
            queue_fail(&re, VB_ERR_NET, "redis", r->str, r->len);
        else if (queue_int(r, &v) && (v == 0 || v == 1))
            got = (int)v;
        else
            queue_bad_reply(&re, "finish");
        q->on_finished(q->on_ud, s->seq, s->label, s->tag, got, &re);
    }
    queue_sent_clear(s);
    memmove(q->sent, q->sent + 1, --q->nsent * sizeof *q->sent);
}

/* Write the commands sent from the from-th on to the connection; a
 * connection lost is dropped (queue_flush makes it again). */
static int queue_write(queue *q, size_t from)
{
    for (size_t i = from; q->c && i < q->nsent; i++)
        if (redisAppendCommandArgv(q->c, q->sent[i].argc, (const char **)q->sent[i].argv,
                                   q->sent[i].lens) != REDIS_OK)
            goto lost;
    for (int done = 0; q->c && !done;)
        if (redisBufferWrite(q->c, &done) != REDIS_OK)
            goto lost;
    return q->c ? 0 : -1;
lost:
    redisFree(q->c);
    q->c = NULL;
    return -1;
}

int queue_flush(queue *q, vb_error *e)
{
    double until = util_now() + q->reconnect;
    bool fresh = false;          /* a new connection: everything is sent again */
    for (int n = 1; q->nsent > 0; n++) {
        if (!q->c) {
            if (queue_reconnect(q, e) != 0)
                goto fail;
            fresh = true;
        }
        if (fresh) {
            fresh = false;
            if (queue_write(q, 0) != 0)
                continue;
        }
        redisReply *r = NULL;
        if (redisGetReply(q->c, (void **)&r) != REDIS_OK || !r) {
            queue_fail(e, VB_ERR_NET_RETRY, "redis", q->c->errstr, strlen(q->c->errstr));
            redisFree(q->c);
            q->c = NULL;
            if (util_now() >= until)
                goto fail;
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) == 0 &&
            util_now() < until) {
            /* Those after it were refused too: all sent again. */
            freeReplyObject(r);
            redisFree(q->c);
            q->c = NULL;
            double d = backoff_delay(n, 0.1, 1.0, &q->rng);
            struct timespec ts = { 0, (long)(d * 1e9) };
            nanosleep(&ts, NULL);
            continue;
        }
        queue_sent_answered(q, r, NULL);
        freeReplyObject(r);
    }
    return 0;
fail:
    while (q->nsent)
        queue_sent_answered(q, NULL, e);
    return -1;
}

/* Send argv (NULL-terminated) without waiting for its reply. */
static int queue_send(queue *q, const char *const *argv, bool finish, int64_t seq,
                      const char *label, int tag, vb_error *e)
{
    if (q->nsent >= QUEUE_MAX_SENT && queue_flush(q, e) != 0)
        return -1;
    if (q->nsent == q->capsent) {
        q->capsent = q->capsent ? q->capsent * 2 : 16;
        q->sent = vb_xrealloc(q->sent, q->capsent * sizeof *q->sent);
    }
    queue_sent *s = &q->sent[q->nsent++];
    memset(s, 0, sizeof *s);
    for (; argv[s->argc] && s->argc < 16; s->argc++) {
        s->lens[s->argc] = strlen(argv[s->argc]);
        s->argv[s->argc] = vb_xstrdup(argv[s->argc]);
    }
    s->finish = finish;
    s->seq = seq;
    s->label = label ? vb_xstrdup(label) : NULL;
    s->tag = tag;
    /* Not written (no connection): queue_flush connects and sends it. */
    if (queue_write(q, q->nsent - 1) != 0)
        return queue_flush(q, e);
    return 0;
}

void queue_on_finished(queue *q, queue_finished_fn *fn, void *ud)
{
    q->on_finished = fn;
    q->on_ud = ud;
}

/* One command (argv, NULL-terminated; record may be long): its reply, or
 * NULL with e set. A lost connection, or a Redis still loading its data
 * after a restart, is tried again within the reconnect window. */
static redisReply *queue_call(queue *q, vb_error *e, const char *const *argv)
{
    /* The replies of the commands sent ahead come first. */
    if (q->nsent && queue_flush(q, e) != 0)
        return NULL;
    int argc = 0;
    size_t lens[32];
    while (argv[argc]) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    double until = util_now() + q->reconnect;
    for (int n = 1;; n++) {
        if (!q->c && queue_reconnect(q, e) != 0)
            return NULL;
        redisReply *r = redisCommandArgv(q->c, argc, (const char **)argv, lens);
        if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) == 0 &&
            util_now() < until) {
            freeReplyObject(r);
            double d = backoff_delay(n, 0.1, 1.0, &q->rng);
            struct timespec ts = { 0, (long)(d * 1e9) };
            nanosleep(&ts, NULL);
            continue;
        }
        if (r && r->type == REDIS_REPLY_ERROR) {
            queue_fail(e, VB_ERR_NET, "redis", r->str, r->len);
            freeReplyObject(r);
            return NULL;
        }
        if (r)
            return r;
        /* The connection is gone (reset, timeout, EOF): made again. */
        vb_error ce = {0};
        queue_fail(&ce, VB_ERR_NET_RETRY, "redis", q->c->errstr, strlen(q->c->errstr));
        redisFree(q->c);
        q->c = NULL;
        if (util_now() >= until) {
            *e = ce;
            return NULL;
        }
    }
}

queue *queue_open(const queue_url *u, const char *consumer, double reconnect, vb_error *e)
{
    queue *q = vb_xcalloc(1, sizeof *q);
    q->u.host = vb_xstrdup(u->host);
    q->u.port = u->port;
    q->u.db = u->db;
    q->u.name = vb_xstrdup(u->name);
    q->u.user = u->user ? vb_xstrdup(u->user) : NULL;
    q->u.password = u->password ? vb_xstrdup(u->password) : NULL;
    q->consumer = consumer ? vb_xstrdup(consumer) : NULL;
    q->reconnect = reconnect;
    q->rng = (uint64_t)(util_wall() * 1e6) ^ (uint64_t)(uintptr_t)q ^ 0x9E3779B97F4A7C15ull;
    q->k_items = vb_xstrdup(u->name);
    q->k_settings = vb_xasprintf("%s:settings", u->name);
    q->k_results = vb_xasprintf("%s:results", u->name);
    q->k_done = vb_xasprintf("%s:done", u->name);
    q->k_dead = vb_xasprintf("%s:dead", u->name);
    q->k_errors = vb_xasprintf("%s:errors", u->name);
    q->k_total = vb_xasprintf("%s:total", u->name);
    q->k_slots = vb_xasprintf("%s:slots", u->name);
    q->k_rpm = vb_xasprintf("%s:rpm", u->name);
    q->k_claims = vb_xasprintf("%s:claims", u->name);
    if (queue_reconnect(q, e) != 0)
        queue_close(&q);
    return q;
}

queue *queue_open_url(const char *url, double reconnect, vb_error *e)
{
    queue_url u;
    if (queue_url_parse(url, &u, e) != 0)
        return NULL;
    queue *q = queue_url_password(&u, e) == 0 ? queue_open(&u, NULL, reconnect, e) : NULL;
    queue_url_clear(&u);
    return q;
}

void queue_close(queue **pq)
{
    queue *q = *pq;
    if (!q)
        return;
    if (q->c)
        redisFree(q->c);
    for (size_t i = 0; i < q->nsent; i++)
        queue_sent_clear(&q->sent[i]);
    free(q->sent);
    queue_url_clear(&q->u);
    free(q->consumer);
    free(q->k_items);
    free(q->k_settings);
    free(q->k_results);
    free(q->k_done);
    free(q->k_dead);
    free(q->k_errors);
    free(q->k_total);
    free(q->k_slots);
    free(q->k_rpm);
    free(q->k_claims);
    free(q);
    *pq = NULL;
}

/* ---- replies ---- */

static bool queue_is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           r->len <= QUEUE_MAX_FIELD && strlen(r->str) == r->len;
}

/* An integer reply, or a string holding one. */
static bool queue_int(const redisReply *r, long long *v)
{
    if (r && r->type == REDIS_REPLY_INTEGER) {
        *v = r->integer;
        return true;
    }
    if (!queue_is_str(r) || !r->len)
        return false;
    char *end;
    errno = 0;
    *v = strtoll(r->str, &end, 10);
    return !errno && *end == '\0';
}

/* The value of key in a flat field array (RESP2 maps and stream
 * entries), or NULL. */
static const redisReply *queue_field(const redisReply *a, const char *key)
{
    if (!a || a->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < a->elements; i += 2)
        if (queue_is_str(a->element[i]) && strcmp(a->element[i]->str, key) == 0)
            return a->element[i + 1];
    return NULL;
}

static char *queue_field_dup(const redisReply *a, const char *key)
{
    const redisReply *v = queue_field(a, key);
    return queue_is_str(v) ? vb_xstrdup(v->str) : NULL;
}

static int queue_bad_reply(vb_error *e, const char *what)
{
    return vb_fail(e, VB_ERR_NET, "redis: an unexpected reply to %s", what);
}

/* ---- enqueue ---- */

static const char lua_create[] =
    "if redis.call('SET', KEYS[2], ARGV[1], 'NX') == false then return 0 end\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  redis.call('DEL', KEYS[2]) return -1 end\n"
    "redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[2], '0', 'MKSTREAM')\n"
    "return 1\n";

int queue_create(queue *q, const char *settings, vb_error *e)
{
    const char *argv[] = { "EVAL", lua_create, "2", q->k_items, q->k_settings, settings,
                           QUEUE_GROUP, NULL };
    redisReply *r = queue_call(q, e, argv);
    if (!r)
        return -1;
    long long v = 0;
    bool ok = queue_int(r, &v);
    freeReplyObject(r);
    if (!ok)
        return queue_bad_reply(e, "the queue's creation");
    if (v != 1)
        return vb_fail(e, VB_ERR_USAGE, "queue %s exists already: enqueue into a new NAME "
                       "(or delete its keys %s and %s:*)", q->u.name, q->u.name, q->u.name);
    return 0;
}

int queue_add(queue *q, const queue_entry *en, vb_error *e)
{
    char id[32], seq[24];
    snprintf(id, sizeof id, "%" PRId64 "-1", en->seq);
    snprintf(seq, sizeof seq, "%" PRId64, en->seq);
    const char *argv[24] = { "XADD", q->k_items, id, "seq", seq, "path", en->path,
                             "rel", en->rel };
    size_t n = 9;
    if (en->folder) {
        argv[n++] = "folder";
        argv[n++] = en->folder;
    }
    if (en->error) {
        argv[n++] = "error";
        argv[n++] = en->error;
    }
    if (en->job && en->ext) {
        argv[n++] = "job";
        argv[n++] = en->job;
        argv[n++] = "ext";
        argv[n++] = en->ext;
    }
    argv[n] = NULL;
    vb_error ae = {0};
    redisReply *r = queue_call(q, &ae, argv);
    if (r) {
        freeReplyObject(r);
        return 0;
    }
    /* Sent again after its reply was lost: it is there. */
    if (strstr(ae.msg, "equal or smaller"))
        return 0;
    *e = ae;
    return -1;
}

int queue_close_input(queue *q, int64_t n, vb_error *e)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, n);
    const char *argv[] = { "SET", q->k_total, v, NULL };
    redisReply *r = queue_call(q, e, argv);
    freeReplyObject(r);
    return r ? 0 : -1;
}

/* ---- workers ---- */

int queue_settings(queue *q, char **json, vb_error *e)
{
    *json = NULL;
    const char *argv[] = { "GET", q->k_settings, NULL };
    redisReply *r = queue_call(q, e, argv);
    if (!r)
        return -1;
    int rc = 0;
    if (queue_is_str(r))
        *json = vb_xstrdup(r->str), rc = 1;
    else if (r->type != REDIS_REPLY_NIL)
        rc = queue_bad_reply(e, "GET settings");
    freeReplyObject(r);
    return rc;
}

void queue_task_clear(queue_task *t)
{
    free(t->path);
    free(t->rel);
    free(t->folder);
    free(t->error);
    free(t->job);
    free(t->ext);
    memset(t, 0, sizeof *t);
}

/* KEYS: items, dead, errors, total, done; ARGV: group, consumer,
 * min-idle ms, max deliveries, what the item taken is doing, in two
 * parts around its delivery count, "1" to look for idle items, and how
 * many new ones to take. Idle items first (their worker is gone), one at
 * a time, then new ones; one already recorded is only acknowledged. An
 * idle item whose last error is QUEUE_HELD was taken ahead by a worker
 * that died before starting it: that delivery is not counted. Replies
 * {'items', {id, deliveries, field, value ...} ...}, {'empty'} or
 * {'wait'}. */
static const char lua_take[] =
    "local s, dead, errs, total, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]\n"
    "local g, c, idle, maxd, want = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[8])\n"
    "local function field(f, k)\n"
    "  for i = 1, #f - 1, 2 do if f[i] == k then return f[i + 1] end end\n"
    "  return nil end\n"
    "local function doing(seq, n)\n"
    "  if seq and (ARGV[5] ~= '' or ARGV[6] ~= '') then\n"
    "    redis.call('HSET', errs, seq, ARGV[5] .. n .. ARGV[6]) end end\n"
    "for i = 1, (ARGV[7] == '1' and 32 or 0) do\n"
    "  local r = redis.call('XAUTOCLAIM', s, g, c, idle, '0-0', 'COUNT', 1)\n"
    "  local e = r[2][1]\n"
    "  if not e then break end\n"
    "  local id, f = e[1], e[2]\n"
    "  local p = redis.call('XPENDING', s, g, id, id, 1)\n"
    "  local n = (p[1] and p[1][4]) or 1\n"
    "  local seq = f and field(f, 'seq')\n"
    "  if seq and n > 1 and redis.call('HGET', errs, seq) == '" QUEUE_HELD "' then\n"
    "    n = n - 1\n"
    "    redis.call('XCLAIM', s, g, c, 0, id, 'RETRYCOUNT', n, 'JUSTID') end\n"
    "  if not f or not seq then\n"
    "    return {'items', {id, n, unpack(f or {})}}\n"
    "  elseif redis.call('HEXISTS', done, seq) == 1 then\n"
    "    redis.call('XACK', s, g, id)\n"
    "  elseif n > maxd then\n"
    "    local why = redis.call('HGET', errs, seq) or 'its worker stopped before it ended'\n"
    "    redis.call('XADD', dead, '*', 'entry', id, 'deliveries', n, 'last_error', why, unpack(f))\n"
    "    redis.call('HSET', done, seq, 'dead')\n"
    "    redis.call('XACK', s, g, id)\n"
    "  else doing(seq, n) return {'items', {id, n, unpack(f)}} end\n"
    "end\n"
    "local r = redis.call('XREADGROUP', 'GROUP', g, c, 'COUNT', want, 'STREAMS', s, '>')\n"
    "if r and r[1] and r[1][2][1] then\n"
    "  local out = {'items'}\n"
    "  for i, e in ipairs(r[1][2]) do\n"
    "    local seq = field(e[2], 'seq')\n"
    "    if i == 1 then doing(seq, 1)\n"
    "    elseif seq then redis.call('HSET', errs, seq, '" QUEUE_HELD "') end\n"
    "    out[#out + 1] = {e[1], 1, unpack(e[2])}\n"
    "  end\n"
    "  return out end\n"
    "local pend = redis.call('XPENDING', s, g)[1]\n"
    "if redis.call('EXISTS', total) == 1 and pend == 0 then return {'empty'} end\n"
    "return {'wait'}\n";

/* KEYS: items, dead, done; ARGV: group, id, why. An entry that is not
 * an item is put aside once and for all. */
static const char lua_reject[] =
    "local f = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])\n"
    "local fl = (f[1] and f[1][2]) or {}\n"
    "redis.call('XADD', KEYS[2], '*', 'entry', ARGV[2], 'deliveries', 1, 'last_error', ARGV[3], unpack(fl))\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 1\n";

static bool queue_id_ok(const redisReply *r)
{
    if (!queue_is_str(r) || r->len == 0 || r->len >= 48)
        return false;
    for (size_t i = 0; i < r->len; i++)
        if (!isdigit((unsigned char)r->str[i]) && r->str[i] != '-')
            return false;
    return true;
}

/* The entry's fields into t: 0, or -1 with why. */
static int queue_task_fill(const redisReply *r, queue_task *t, const char **why)
{
    /* {id, n, k1, v1, ...} as a field array from element 2 on. */
    redisReply sub = { .type = REDIS_REPLY_ARRAY, .elements = r->elements - 2,
                       .element = r->element + 2 };
    long long seq = 0;
    const redisReply *sv = queue_field(&sub, "seq");
    t->path = queue_field_dup(&sub, "path");
    t->rel = queue_field_dup(&sub, "rel");
    t->folder = queue_field_dup(&sub, "folder");
    t->error = queue_field_dup(&sub, "error");
    t->job = queue_field_dup(&sub, "job");
    t->ext = queue_field_dup(&sub, "ext");
    if (!queue_int(sv, &seq) || seq < 1 || seq > INT64_MAX / 2)
        return *why = "the entry has no seq (a number from 1)", -1;
    t->seq = seq;
    if (!t->path || !t->path[0] || !t->rel)
        return *why = "the entry has no path", -1;
    if (t->folder && (!t->folder[0] || t->folder[0] == '.' || t->folder[0] == '/' ||
                      strchr(t->folder, '/') || strchr(t->folder, '\\')))
        return *why = "the entry's folder is not a folder name", -1;
    if (!t->job != !t->ext)
        return *why = "the entry has a job without its external id, or the reverse", -1;
    if (t->ext) {
        size_t n = strlen(t->ext);
        if (n == 0 || n >= 40 || strspn(t->ext, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
            return *why = "the entry's external id is not one vbatch makes", -1;
    }
    return 0;
}

int queue_take_n(queue *q, double visibility, int max_deliveries, const char *doing,
                 size_t want, queue_task *t, size_t *n, bool *empty, vb_error *e)
{
    *n = 0;
    *empty = false;
    want = want < 1 ? 1 : want > QUEUE_TAKE_MAX ? QUEUE_TAKE_MAX : want;
    char idle[24], maxd[16], nwant[16];
    snprintf(idle, sizeof idle, "%lld", (long long)(visibility * 1000));
    snprintf(maxd, sizeof maxd, "%d", max_deliveries);
    snprintf(nwant, sizeof nwant, "%zu", want);
    /* Split, not formatted: the text may hold any other '%'. */
    const char *d = doing ? strstr(doing, "%d") : NULL;
    char *before = d ? vb_xstrndup(doing, (size_t)(d - doing)) : NULL;
    /* An item goes idle no sooner than `visibility` after its last
     * renewal: looking for such items at most every quarter of it (a
     * second at most) takes them over a little later, and spares the
     * scan of the pending entries at every take of a fast batch. */
    double now = util_now();
    bool scan = now - q->scanned >= fmin(1.0, visibility / 4);
    if (scan)
        q->scanned = now;
    const char *argv[] = { "EVAL", lua_take, "5", q->k_items, q->k_dead, q->k_errors,
                           q->k_total, q->k_done, QUEUE_GROUP, q->consumer, idle, maxd,
                           before ? before : "", d ? d + 2 : "", scan ? "1" : "0", nwant,
                           NULL };
    redisReply *r = queue_call(q, e, argv);
    free(before);
    if (!r)
        return -1;
    int rc = -1;
    size_t bad = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || !queue_is_str(r->element[0])) {
        queue_bad_reply(e, "take");
    } else if (strcmp(r->element[0]->str, "empty") == 0) {
        *empty = true;
        rc = 0;
    } else if (strcmp(r->element[0]->str, "wait") == 0) {
        rc = 0;
    } else if (strcmp(r->element[0]->str, "items") == 0 && r->elements >= 2 &&
               r->elements <= want + 1) {
        rc = 0;
        for (size_t i = 1; i < r->elements; i++) {
            const redisReply *en = r->element[i];
            queue_task *x = &t[*n];
            long long nd = 0;
            memset(x, 0, sizeof *x);
            if (en->type != REDIS_REPLY_ARRAY || en->elements < 2 ||
                !queue_id_ok(en->element[0]) || !queue_int(en->element[1], &nd)) {
                /* Not Redis's reply to this script: nothing is trusted. */
                rc = queue_bad_reply(e, "take");
                break;
            }
            snprintf(x->id, sizeof x->id, "%s", en->element[0]->str);
            x->deliveries = nd > 0 && nd < 1000000 ? (int)nd : 1;
            x->held = i > 1;
            const char *why = NULL;
            if (queue_task_fill(en, x, &why) == 0) {
                (*n)++;
                continue;
            }
            const char *rv[] = { "EVAL", lua_reject, "3", q->k_items, q->k_dead, q->k_done,
                                 QUEUE_GROUP, x->id, why, NULL };
            vb_error re = {0};
            redisReply *rr = queue_call(q, &re, rv);
            freeReplyObject(rr);
            if (bad++ == 0)
                vb_fail(e, VB_ERR_MEDIA, "queue %s: entry %s put in the dead letters: %s",
                        q->u.name, x->id, why);
            queue_task_clear(x);
        }
        if (rc < 0) {
            for (size_t i = 0; i < *n; i++)
                queue_task_clear(&t[i]);
            *n = 0;
        } else if (bad && !*n) {
            rc = -1;
        } else {
            rc = (int)*n;
        }
    } else {
        queue_bad_reply(e, "take");
    }
    freeReplyObject(r);
    return rc;
}

int queue_take(queue *q, double visibility, int max_deliveries, const char *doing,
               queue_task *t, bool *empty, vb_error *e)
{
    size_t n = 0;
    memset(t, 0, sizeof *t);
    return queue_take_n(q, visibility, max_deliveries, doing, 1, t, &n, empty, e);
}

/* KEYS: errors, done; ARGV: seq, doing. Its finish may come first, on
 * another connection: a recorded item keeps no last error. */
static const char lua_start[] =
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then\n"
    "  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end\n"
    "return 1\n";

int queue_start(queue *q, queue_task *t, const char *doing, vb_error *e)
{
    if (!t->held)
        return 0;
    t->held = false;
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRId64, t->seq);
    const char *argv[] = { "EVAL", lua_start, "2", q->k_errors, q->k_done, seq,
                           doing ? doing : "", NULL };
    return queue_send(q, argv, false, t->seq, NULL, 0, e);
}

/* KEYS: items, errors; ARGV: group, consumer, then id, seq, doing per
 * item. Only claims still this consumer's are renewed. */
static const char lua_renew[] =
    "local n = 0\n"
    "for i = 3, #ARGV - 2, 3 do\n"
    "  local id = ARGV[i]\n"
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)\n"
    "  if p[1] and p[1][2] == ARGV[2] then\n"
    "    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')\n"
    "    if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2]) end\n"
    "    n = n + 1 end\n"
    "end\n"
    "return n\n";

int queue_renew(queue *q, const char *const *ids, const int64_t *seqs,
                const char *const *doing, size_t n, vb_error *e)
{
    if (n == 0)
        return 0;
    if (n > 8)
        /* At most 8 a call (the argument array is fixed). */
        return queue_renew(q, ids, seqs, doing, 8, e) ||
               queue_renew(q, ids + 8, seqs + 8, doing + 8, n - 8, e) ? -1 : 0;
    const char *argv[32] = { "EVAL", lua_renew, "2", q->k_items, q->k_errors, QUEUE_GROUP,
                             q->consumer };
    char seqbuf[8][24];
    size_t k = 7;
    for (size_t i = 0; i < n; i++) {
        snprintf(seqbuf[i], sizeof seqbuf[i], "%" PRId64, seqs[i]);
        argv[k++] = ids[i];
        argv[k++] = seqbuf[i];
        argv[k++] = doing[i];
    }
    argv[k] = NULL;
    redisReply *r = queue_call(q, e, argv);
    freeReplyObject(r);
    return r ? 0 : -1;
}

/* KEYS: items, results, done, errors; ARGV: group, id, seq, record. */
static const char lua_finish[] =
    "redis.call('HDEL', KEYS[4], ARGV[3])\n" /* its last error: only a dead letter's */
    "if redis.call('HSETNX', KEYS[3], ARGV[3], 'recording') == 0 then\n"
    "  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) return 0 end\n"
    "local rid = redis.call('XADD', KEYS[2], '*', 'seq', ARGV[3], 'record', ARGV[4])\n"
    "redis.call('HSET', KEYS[3], ARGV[3], rid)\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 1\n";

int queue_finish(queue *q, const queue_task *t, const char *record, vb_error *e)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRId64, t->seq);
    const char *argv[] = { "EVAL", lua_finish, "4", q->k_items, q->k_results, q->k_done,
                           q->k_errors, QUEUE_GROUP, t->id, seq, record, NULL };
    redisReply *r = queue_call(q, e, argv);
    if (!r)
        return -1;
    long long v = -1;
    bool ok = queue_int(r, &v) && (v == 0 || v == 1);
    freeReplyObject(r);
    return ok ? (int)v : queue_bad_reply(e, "finish");
}

int queue_finish_async(queue *q, const queue_task *t, const char *record, const char *label,
                       int tag, vb_error *e)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRId64, t->seq);
    const char *argv[] = { "EVAL", lua_finish, "4", q->k_items, q->k_results, q->k_done,
                           q->k_errors, QUEUE_GROUP, t->id, seq, record, NULL };
    return queue_send(q, argv, true, t->seq, label, tag, e);
}

/* KEYS: items, errors; ARGV: group, consumer, id, seq. Idle as old as
 * can be, its delivery count put back: the next take has it at once. An
 * item held, never started, keeps no last error (its delivery count is
 * put back here, not again by the take). */
static const char lua_handback[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)\n"
    "if not p[1] or p[1][2] ~= ARGV[2] then return 0 end\n"
    "if redis.call('HGET', KEYS[2], ARGV[4]) == '" QUEUE_HELD "' then\n"
    "  redis.call('HDEL', KEYS[2], ARGV[4]) end\n"
    "local n = p[1][4] - 1\n"
    "if n < 0 then n = 0 end\n"
    "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', '315360000000',\n"
    "           'RETRYCOUNT', n, 'JUSTID')\n"
    "return 1\n";

int queue_handback(queue *q, const queue_task *t, vb_error *e)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRId64, t->seq);
    const char *argv[] = { "EVAL", lua_handback, "2", q->k_items, q->k_errors, QUEUE_GROUP,
                           q->consumer, t->id, seq, NULL };
    redisReply *r = queue_call(q, e, argv);
    freeReplyObject(r);
    return r ? 0 : -1;
}

/* ---- generation's shared limiter and claims ---- */

/* KEYS: slots, rpm; ARGV: ext, max, rpm, lease. Redis's clock (TIME):
 * the workers' clocks need not agree. Expired leases are dropped first
 * (a dead worker's slots). Replies {"1"|"0", seconds to wait}. */
static const char lua_acquire[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"
    "local id, max, rpm, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "local held = redis.call('ZSCORE', KEYS[1], id)\n"
    "if not held and redis.call('ZCARD', KEYS[1]) >= max then\n"
    "  local f = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "  local w = tonumber(f[2]) - now\n"
    "  if w > 0.05 then w = 0.05 end\n"
    "  return {'0', tostring(w)} end\n"
    "if rpm > 0 then\n"
    "  local rate = rpm / 60\n"
    "  local cap = rate > 1 and rate or 1\n"
    "  local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')\n"
    "  local tok, at = tonumber(b[1]) or 1, tonumber(b[2]) or now\n"
    "  if now > at then tok = tok + (now - at) * rate end\n"
    "  if tok > cap then tok = cap end\n"
    "  if tok < 1 then\n"
    "    redis.call('HSET', KEYS[2], 'tokens', tostring(tok), 'at', tostring(now))\n"
    "    return {'0', tostring((1 - tok) / rate)} end\n"
    "  redis.call('HSET', KEYS[2], 'tokens', tostring(tok - 1), 'at', tostring(now))\n"
    "end\n"
    "redis.call('ZADD', KEYS[1], now + lease, id)\n"
    "return {'1', '0'}\n";

int queue_gen_acquire_parse(const char *taken, const char *wait, int *got, double *w)
{
    char *end;
    if (!taken || !wait || (strcmp(taken, "1") != 0 && strcmp(taken, "0") != 0))
        return -1;
    errno = 0;
    double d = strtod(wait, &end);
    if (end == wait || *end || errno || !isfinite(d))
        return -1;
    *got = taken[0] == '1';
    /* At least a millisecond, at most a minute: a reply out of range is
     * never a reason to spin or to stall. */
    *w = *got ? 0 : fmin(60.0, fmax(0.001, d));
    return 0;
}

int queue_gen_acquire(queue *q, const queue_limits *l, const char *ext, double *wait,
                      vb_error *e)
{
    char max[16], rpm[16], lease[32];
    snprintf(max, sizeof max, "%d", l->max_concurrent > 0 ? l->max_concurrent : 1);
    snprintf(rpm, sizeof rpm, "%d", l->rpm);
    snprintf(lease, sizeof lease, "%.3f", l->lease > 0 ? l->lease : 60);
    const char *argv[] = { "EVAL", lua_acquire, "2", q->k_slots, q->k_rpm, ext, max, rpm,
                           lease, NULL };
    redisReply *r = queue_call(q, e, argv);
    if (!r)
        return -1;
    int got = 0;
    *wait = 0;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 && queue_is_str(r->element[0]) &&
              queue_is_str(r->element[1]) &&
              queue_gen_acquire_parse(r->element[0]->str, r->element[1]->str, &got, wait) == 0;
    freeReplyObject(r);
    return ok ? got : queue_bad_reply(e, "acquire");
}

int queue_gen_release(queue *q, const char *ext, vb_error *e)
{
    const char *argv[] = { "ZREM", q->k_slots, ext, NULL };
    redisReply *r = queue_call(q, e, argv);
    freeReplyObject(r);
    return r ? 0 : -1;
}

/* KEYS: slots; ARGV: lease, then the exts. Only slots still held. */
static const char lua_slots_renew[] =
    "local t = redis.call('TIME')\n"
    "local upto = tonumber(t[1]) + tonumber(t[2]) / 1e6 + tonumber(ARGV[1])\n"
    "local n = 0\n"
    "for i = 2, #ARGV do\n"
    "  n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', upto, ARGV[i]) end\n"
    "return n\n";

int queue_gen_renew(queue *q, const char *const *exts, size_t n, double lease, vb_error *e)
{
    for (size_t at = 0; at < n; at += 16) {
        const char *argv[32] = { "EVAL", lua_slots_renew, "1", q->k_slots };
        char ls[32];
        snprintf(ls, sizeof ls, "%.3f", lease);
        size_t k = 4;
        argv[k++] = ls;
        for (size_t i = at; i < n && i < at + 16; i++)
            argv[k++] = exts[i];
        argv[k] = NULL;
        redisReply *r = queue_call(q, e, argv);
        freeReplyObject(r);
        if (!r)
            return -1;
    }
    return 0;
}

/* KEYS: claims; ARGV: ext, consumer. {1} ours, or {0, what is kept}. */
static const char lua_claim[] =
    "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2] .. '\\t') == 1 then return {1} end\n"
    "return {0, redis.call('HGET', KEYS[1], ARGV[1])}\n";

int queue_gen_claim(queue *q, const char *ext, char **task_id, char **by, vb_error *e)
{
    *task_id = *by = NULL;
    const char *argv[] = { "EVAL", lua_claim, "1", q->k_claims, ext,
                           q->consumer ? q->consumer : "-", NULL };
    redisReply *r = queue_call(q, e, argv);
    if (!r)
        return -1;
    long long v = -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && queue_int(r->element[0], &v) &&
        v == 1) {
        rc = 1;
    } else if (v == 0 && r->elements == 2 && queue_is_str(r->element[1])) {
        const char *s = r->element[1]->str, *tab = strchr(s, '\t');
        *by = tab ? vb_xstrndup(s, (size_t)(tab - s)) : vb_xstrdup(s);
        /* A task id as the providers make them: printable, short. */
        if (tab && tab[1] && strlen(tab + 1) < 200 && !strpbrk(tab + 1, "\t\r\n"))
            *task_id = vb_xstrdup(tab + 1);
        rc = 0;
    } else {
        queue_bad_reply(e, "claim");
    }
    freeReplyObject(r);
    return rc;
}

int queue_gen_created(queue *q, const char *ext, const char *task_id, vb_error *e)
{
    char *v = vb_xasprintf("%s\t%s", q->consumer ? q->consumer : "-", task_id ? task_id : "");
    const char *argv[] = { "HSET", q->k_claims, ext, v, NULL };
    redisReply *r = queue_call(q, e, argv);
    free(v);
    freeReplyObject(r);
    return r ? 0 : -1;
}

/* KEYS: claims; ARGV: ext, consumer. 1 none left, 0 kept. Compared and
 * dropped in one script: a claim another delivery made meanwhile, or one
 * that records a task, is never dropped. */
static const char lua_unclaim[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return 1 end\n"
    "if v ~= ARGV[2] .. '\\t' then return 0 end\n"
    "redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "return 1\n";

int queue_gen_unclaim(queue *q, const char *ext, vb_error *e)
{
    const char *argv[] = { "EVAL", lua_unclaim, "1", q->k_claims, ext,
                           q->consumer ? q->consumer : "-", NULL };
    redisReply *r = queue_call(q, e, argv);
    if (!r)
        return -1;
    long long v = -1;
    int rc = queue_int(r, &v) && (v == 0 || v == 1) ? (int)v : queue_bad_reply(e, "unclaim");
    freeReplyObject(r);
    return rc;
}

/* ---- status, report ---- */

static long long queue_scalar(queue *q, vb_error *e, const char *cmd, const char *key,
                              bool *ok)
{
    const char *argv[] = { cmd, key, NULL };
    redisReply *r = queue_call(q, e, argv);
    long long v = 0;
    if (!r || (r->type != REDIS_REPLY_NIL && !queue_int(r, &v))) {
        if (r)
            queue_bad_reply(e, cmd);
        *ok = false;
    }
    freeReplyObject(r);
    return v;
}

/* The milliseconds of a stream id ("1700000000000-0"), or -1. */
static long long queue_id_ms(const redisReply *entry)
{
    if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements < 1 ||
        !queue_id_ok(entry->element[0]))
        return -1;
    return strtoll(entry->element[0]->str, NULL, 10);
}

/* The first (or last) entry's time in a stream, ms, or -1. */
static long long queue_edge_ms(queue *q, const char *key, bool last, vb_error *e, bool *ok)
{
    const char *argv[] = { last ? "XREVRANGE" : "XRANGE", key, last ? "+" : "-",
                           last ? "-" : "+", "COUNT", "1", NULL };
    redisReply *r = queue_call(q, e, argv);
    long long ms = -1;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        *ok = false;
    else if (r->elements == 1)
        ms = queue_id_ms(r->element[0]);
    freeReplyObject(r);
    return ms;
}

int queue_status(queue *q, writer *w, vb_error *e)
{
    bool ok = true;
    char *shown = queue_url_display(&q->u);
    writer_string(w, "queue", shown);
    free(shown);
    char *settings = NULL;
    int got = queue_settings(q, &settings, e);
    free(settings);
    if (got <= 0)
        return got < 0 ? -1 : vb_fail(e, VB_ERR_USAGE, "queue %s does not exist (nothing was "
                                      "enqueued there)", q->u.name);
    long long len = queue_scalar(q, e, "XLEN", q->k_items, &ok);
    long long total = queue_scalar(q, e, "GET", q->k_total, &ok);
    long long results = queue_scalar(q, e, "XLEN", q->k_results, &ok);
    long long dead = queue_scalar(q, e, "XLEN", q->k_dead, &ok);
    if (!ok)
        return -1;
    writer_int(w, "items", len);
    writer_bool(w, "enqueue_ended", total > 0 || len == 0 ? total > 0 : false);
    writer_int(w, "results", results);
    writer_int(w, "dead_letters", dead);
    /* The group: pending (delivered, not acknowledged) and lag (never
     * delivered). */
    const char *ga[] = { "XINFO", "GROUPS", q->k_items, NULL };
    redisReply *r = queue_call(q, e, ga);
    if (!r)
        return -1;
    long long pending = 0, lag = -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *nm = queue_field(r->element[i], "name");
        if (!queue_is_str(nm) || strcmp(nm->str, QUEUE_GROUP) != 0)
            continue;
        queue_int(queue_field(r->element[i], "pending"), &pending);
        if (!queue_int(queue_field(r->element[i], "lag"), &lag))
            lag = -1;
    }
    freeReplyObject(r);
    writer_int(w, "pending", pending);
    if (lag >= 0)
        writer_int(w, "lag", lag);
    else
        writer_null(w, "lag");
    const char *ca[] = { "XINFO", "CONSUMERS", q->k_items, QUEUE_GROUP, NULL };
    r = queue_call(q, e, ca);
    if (!r)
        return -1;
    writer_begin_array(w, "consumers");
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *nm = queue_field(r->element[i], "name");
        long long p = 0, idle = 0;
        if (!queue_is_str(nm))
            continue;
        queue_int(queue_field(r->element[i], "pending"), &p);
        queue_int(queue_field(r->element[i], "idle"), &idle);
        writer_begin_object(w, NULL);
        writer_string(w, "name", nm->str);
        writer_int(w, "pending", p);
        writer_double(w, "idle_seconds", (double)idle / 1000.0);
        writer_end_object(w);
    }
    writer_end_array(w);
    freeReplyObject(r);
    long long first = queue_edge_ms(q, q->k_results, false, e, &ok);
    long long last = queue_edge_ms(q, q->k_results, true, e, &ok);
    if (!ok)
        return -1;
    /* Results per minute between the first and the last. */
    if (results > 1 && last > first)
        writer_double(w, "throughput_per_minute",
                      (double)(results - 1) * 60000.0 / (double)(last - first));
    else
        writer_null(w, "throughput_per_minute");
    return 0;
}

/* Every entry of a stream, in pages, to fn. */
static int queue_scan(queue *q, const char *key, char kind,
                      int (*fn)(void *ud, const queue_row *r, vb_error *e), void *ud,
                      vb_error *e)
{
    char start[64] = "-";
    for (;;) {
        const char *argv[] = { "XRANGE", key, start, "+", "COUNT", "500", NULL };
        redisReply *r = queue_call(q, e, argv);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return queue_bad_reply(e, "XRANGE");
        }
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < r->elements; i++) {
            const redisReply *en = r->element[i];
            if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 || !queue_id_ok(en->element[0]))
                continue;
            snprintf(start, sizeof start, "(%s", en->element[0]->str);
            const redisReply *f = en->element[1];
            long long seq = 0, dl = 0;
            if (!queue_int(queue_field(f, "seq"), &seq) || seq < 1)
                continue; /* not an item's: nothing to report */
            const redisReply *pv = queue_field(f, "path"), *fv = queue_field(f, "folder"),
                             *ev = queue_field(f, kind == 'd' ? "last_error" : "error"),
                             *rv = queue_field(f, "record");
            queue_int(queue_field(f, "deliveries"), &dl);
            queue_row row = {
                .kind = kind, .seq = seq,
                .path = queue_is_str(pv) ? pv->str : NULL,
                .folder = queue_is_str(fv) ? fv->str : NULL,
                .error = queue_is_str(ev) ? ev->str : NULL,
                .record = queue_is_str(rv) ? rv->str : NULL,
                .deliveries = dl > 0 && dl < 1000000 ? (int)dl : 0,
                /* Items' ids are SEQ-1, not times. */
                .at = kind == 'i' ? 0 : (double)queue_id_ms(en) / 1000.0,
            };
            if ((kind == 'r' && !row.record) || (kind != 'r' && !row.path))
                continue;
            rc = fn(ud, &row, e);
        }
        size_t n = r->elements;
        freeReplyObject(r);
        if (rc != 0)
            return -1;
        if (n < 500)
            return 0;
    }
}

int queue_each(queue *q, int (*fn)(void *ud, const queue_row *r, vb_error *e), void *ud,
               vb_error *e)
{
    if (queue_scan(q, q->k_items, 'i', fn, ud, e) != 0 ||
        queue_scan(q, q->k_results, 'r', fn, ud, e) != 0)
        return -1;
    return queue_scan(q, q->k_dead, 'd', fn, ud, e);
}
