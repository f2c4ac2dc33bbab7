/* notify.c - the end-of-batch webhook (notify.h): signed as Standard
 * Webhooks sign, sent with net.c, tried again with backoff; and the item
 * messages' sender, a thread with a bounded queue. Nothing here writes
 * the URL, the key or a signature into a message. */
#include "config.h"
#include "notify.h"
#include "crypto.h"
#include "fetch.h"
#include "jwt.h"
#include "net.h"
#include "preset.h"
#include "report.h"
#include "util.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

char *notify_signature(const void *key, size_t key_len, const char *id, int64_t timestamp,
                       const char *body, vb_error *e)
{
    char *msg = vb_xasprintf("%s.%lld.%s", id, (long long)timestamp, body);
    unsigned char mac[CRYPTO_SHA256_LEN];
    int rc = crypto_hmac_sha256(key, key_len, msg, strlen(msg), mac, e);
    free(msg);
    if (rc != 0)
        return NULL;
    char *b64 = crypto_base64(mac, sizeof mac);
    char *sig = vb_xasprintf("v1,%s", b64);
    free(b64);
    return sig;
}

/* The key a secret stands for (see notify.h). */
static int notify_key_of(const char *secret, const char *origin, unsigned char **key,
                         size_t *key_len, vb_error *e)
{
    if (strncmp(secret, "whsec_", 6) == 0) {
        *key = crypto_base64_decode(secret + 6, key_len);
        if (!*key || *key_len == 0) {
            free(*key);
            *key = NULL;
            return vb_fail(e, VB_ERR_CONFIG, "%s: a whsec_ secret must be followed by base64",
                           origin);
        }
        return 0;
    }
    *key_len = strlen(secret);
    *key = (unsigned char *)vb_xstrdup(secret);
    return 0;
}

int notify_key(const char *key_file, unsigned char **key, size_t *key_len, vb_error *e)
{
    *key = NULL;
    *key_len = 0;
    const char *env = getenv("VBATCH_NOTIFY_SECRET");
    if (env && *env)
        return notify_key_of(env, "VBATCH_NOTIFY_SECRET", key, key_len, e);
    if (!key_file || !*key_file)
        return 0;
    size_t cap = 0;
    char *buf = jwt_read_private(key_file, &cap, e);
    if (!buf)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    int rc = buf[0] ? notify_key_of(buf, key_file, key, key_len, e)
                    : vb_fail(e, VB_ERR_CONFIG, "key file %s: empty", key_file);
    explicit_bzero(buf, cap);
    free(buf);
    return rc;
}

/* A signed request for one attempt (a fresh timestamp each time): NULL
 * with e set when it cannot be signed. */
static net_req *notify_req(const char *url, const char *id, const char *body,
                           const unsigned char *key, size_t key_len, double timeout,
                           vb_error *e)
{
    net_req *r = net_req_new();
    r->url = vb_xstrdup(url);
    r->body = vb_xstrdup(body);
    r->timeout = timeout;
    r->max_size = 64 * 1024;
    int64_t ts = (int64_t)time(NULL);
    char line[512];
    net_req_header(r, "Content-Type: application/json");
    snprintf(line, sizeof line, "webhook-id: %s", id);
    net_req_header(r, line);
    snprintf(line, sizeof line, "webhook-timestamp: %lld", (long long)ts);
    net_req_header(r, line);
    if (key) {
        char *sig = notify_signature(key, key_len, id, ts, body, e);
        if (!sig) {
            net_req_free(&r);
            return NULL;
        }
        char *h = vb_xasprintf("webhook-signature: %s", sig);
        net_req_header(r, h);
        explicit_bzero(h, strlen(h));
        explicit_bzero(sig, strlen(sig));
        free(h);
        free(sig);
    }
    return r;
}

/* A finished attempt judged: 0 delivered, 1 worth another, -1 final;
 * why says what went wrong (no URL). */
static int notify_judge(const net_req *done, char *why, size_t len)
{
    if (done->curl_code == 0 && done->http >= 200 && done->http < 300)
        return 0;
    net_describe(done, why, len);
    bool again = done->curl_code != 0 ? net_curl_transient(done->curl_code)
                                      : net_status_transient(done->http);
    return again ? 1 : -1;
}

/* One attempt: 0 delivered, 1 worth another, -1 final. */
static int notify_once(net *n, const char *url, const char *id, const char *body,
                       const unsigned char *key, size_t key_len, double timeout,
                       notify_outcome *out)
{
    vb_error e = {0};
    net_req *r = notify_req(url, id, body, key, key_len, timeout, &e);
    if (!r) {
        snprintf(out->what, sizeof out->what, "not sent: %s", e.msg);
        return -1;
    }
    if (net_add(n, r, &e) != 0) {
        net_req_free(&r);
        snprintf(out->what, sizeof out->what, "not sent: %s", e.msg);
        return -1;
    }
    net_req *done = NULL;
    while (!(done = net_next_done(n)))
        if (net_wait(n, 1.0, &e) != 0) {
            snprintf(out->what, sizeof out->what, "not sent: %s", e.msg);
            return -1;
        }
    out->attempts++;
    out->http = done->http;
    char why[256];
    int rc = notify_judge(done, why, sizeof why);
    net_req_free(&done);
    if (rc != 0)
        snprintf(out->what, sizeof out->what, "not delivered: %s", why);
    return rc;
}

int notify_post(const vb_config *cfg, const char *id, const char *body, notify_outcome *out)
{
    memset(out, 0, sizeof *out);
    const notify_config *nc = &cfg->notify;
    unsigned char *key = NULL;
    size_t key_len = 0;
    vb_error e = {0};
    if (notify_key(nc->key_file, &key, &key_len, &e) != 0) {
        snprintf(out->what, sizeof out->what, "not sent: %s", e.msg);
        return -1;
    }
    net *n = net_new(&e);
    if (!n) {
        snprintf(out->what, sizeof out->what, "not sent: %s", e.msg);
        free(key);
        return -1;
    }
    int attempts = nc->attempts > 0 ? nc->attempts : 1;
    double wait = 1;
    int rc = 1;
    for (int i = 0; i < attempts && rc == 1; i++) {
        if (i > 0) {
            util_sleep(wait);
            wait *= 2;
        }
        rc = notify_once(n, nc->url, id, body, key, key_len, nc->timeout, out);
    }
    net_free(&n);
    if (key)
        explicit_bzero(key, key_len);
    free(key);
    out->delivered = rc == 0;
    if (rc == 0)
        snprintf(out->what, sizeof out->what, "delivered (HTTP %ld) after %d attempt%s",
                 out->http, out->attempts, out->attempts == 1 ? "" : "s");
    else if (out->attempts > 1) {
        size_t l = strlen(out->what);
        snprintf(out->what + l, sizeof out->what - l, " (%d attempts)", out->attempts);
    }
    return rc == 0 ? 0 : -1;
}

char *notify_body(const char *batch_id, bool interrupted, int exit_status,
                  const report_counts *c, const char *out_dir,
                  const notify_items_counts *items, double now)
{
    char when[40];
    util_iso_time(when, sizeof when, now);
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_string(w, "type", interrupted ? "batch.interrupted" : "batch.completed");
    writer_string(w, "timestamp", when);
    writer_begin_object(w, "data");
    writer_string(w, "batch_id", batch_id);
    writer_string(w, "status", interrupted ? "interrupted" : "done");
    writer_int(w, "exit_status", exit_status);
    writer_begin_object(w, "counts");
    writer_int(w, "total", c->total);
    writer_int(w, "passed", c->done);
    writer_int(w, "qc_failed", c->qc_failed);
    writer_int(w, "failed", c->failed);
    writer_int(w, "skipped", c->skipped);
    writer_int(w, "warned", c->warned);
    writer_int(w, "fixed", c->fixed);
    writer_int(w, "generated", c->generated);
    writer_end_object(w);
    writer_string(w, "output", out_dir);
    char *rep = util_path_join(out_dir, "summary/batch_report.json");
    writer_string(w, "report", rep);
    free(rep);
    if (items) {
        writer_begin_object(w, "items");
        writer_int(w, "delivered", items->delivered);
        writer_int(w, "failed", items->failed);
        writer_int(w, "dropped", items->dropped);
        writer_end_object(w);
    }
    writer_end_object(w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    return s;
}

/* ---- [notify] items ---- */

char *notify_item_body(const char *batch_id, const item_record *r, double now)
{
    char when[40];
    util_iso_time(when, sizeof when, now);
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_string(w, "type", "item.completed");
    writer_string(w, "timestamp", when);
    writer_begin_object(w, "data");
    writer_string(w, "batch_id", batch_id);
    writer_int(w, "seq", r->seq);
    /* The record's source is the reports' already; a URL is cut again in
     * case a caller handed a full one. */
    char *src = r->source && util_is_url(r->source) ? fetch_display_url(r->source) : NULL;
    writer_string(w, "source", src ? src : r->source);
    free(src);
    writer_string(w, "folder", r->folder);
    writer_string(w, "status", report_status_name(r->status));
    bool failed = r->status == ITEM_FAILED;
    if (!failed && (r->status == ITEM_DONE || r->status == ITEM_QC_FAILED))
        writer_string(w, "verdict", rules_verdict_name(r->verdict));
    if (failed) {
        writer_string(w, "error_stage", report_stage_name(r->error_stage));
        writer_string(w, "error", r->error);
    }
    writer_begin_array(w, "failed_rules");
    for (size_t i = 0; i < r->failed_rules.n; i++)
        writer_string(w, NULL, r->failed_rules.v[i]);
    writer_end_array(w);
    writer_begin_array(w, "warned_rules");
    for (size_t i = 0; i < r->warned_rules.n; i++)
        writer_string(w, NULL, r->warned_rules.v[i]);
    writer_end_array(w);
    writer_double(w, "duration", r->duration > 0 ? r->duration : NAN);
    double spent = 0;
    for (int i = 0; i < STAGE_COUNT; i++)
        if (r->stage_time[i] > 0)
            spent += r->stage_time[i];
    writer_double(w, "seconds", spent);
    writer_int(w, "attempts", r->attempts);
    writer_end_object(w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    return s;
}

/* One item's message on its way. */
typedef struct notify_msg {
    char *id, *body;
    int attempts;                 /* made so far */
    double next_at;               /* util_now() of the next attempt */
    double wait;                  /* the backoff after the next failure */
    net_req *req;                 /* the attempt in flight, or NULL */
    struct notify_msg *next;
} notify_msg;

struct notify_items {
    char *url;                    /* owned; never shown */
    unsigned char *key;           /* owned, wiped when freed; NULL: unsigned */
    size_t key_len;
    double timeout;
    int attempts;
    char *prefix;                 /* "<batch_id>-<run>-": the ids' */
    char *batch_id;
    int cap;
    net *n;                       /* the sender thread's only */
    pthread_t th;
    pthread_mutex_t mu;           /* guards what follows */
    pthread_cond_t cv;
    notify_msg *head, *tail;      /* queued, not taken by the sender */
    int nqueued;
    bool closing;
    double give_up_at;            /* closing: util_now() past which the
                                     rest is given up */
    notify_items_counts c;
};

static void notify_msg_free(notify_msg *m)
{
    free(m->id);
    free(m->body);
    free(m);
}

/* Everything but the thread and the multi handle (the sender's). */
static void notify_items_free(notify_items *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    if (q->key)
        explicit_bzero(q->key, q->key_len);
    free(q->key);
    free(q->url);
    free(q->prefix);
    free(q->batch_id);
    free(q);
}

/* The time one message may take at most: every attempt's timeout and
 * the backoff between them (1 s, 2 s, 4 s ...). */
static double notify_items_bound(const notify_items *q)
{
    double t = 0, wait = 1;
    for (int i = 0; i < q->attempts; i++) {
        t += q->timeout;
        if (i + 1 < q->attempts) {
            t += wait;
            wait *= 2;
        }
    }
    return t;
}

/* A message that will not be delivered (lock not held). */
static void notify_items_lost(notify_items *q, notify_msg *m, const char *why)
{
    pthread_mutex_lock(&q->mu);
    q->c.failed++;
    snprintf(q->c.why, sizeof q->c.why, "%s", why);
    pthread_mutex_unlock(&q->mu);
    notify_msg_free(m);
}

/* The sender: takes up to NOTIFY_ITEMS_IN_FLIGHT messages, starts each
 * attempt when due, judges the answers; ends once closing and nothing is
 * left, or the closing deadline passed. */
static void *notify_items_main(void *arg)
{
    notify_items *q = arg;
    notify_msg *active[NOTIFY_ITEMS_IN_FLIGHT] = {0};
    int nactive = 0;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (nactive == 0 && !q->head && !q->closing)
            pthread_cond_wait(&q->cv, &q->mu);
        while (nactive < NOTIFY_ITEMS_IN_FLIGHT && q->head) {
            notify_msg *m = q->head;
            q->head = m->next;
            if (!q->head)
                q->tail = NULL;
            q->nqueued--;
            m->next = NULL;
            active[nactive++] = m;
        }
        bool closing = q->closing;
        double give_up_at = q->give_up_at;
        pthread_mutex_unlock(&q->mu);
        double now = util_now();
        if (closing && (nactive == 0 || now >= give_up_at))
            break;
        double next = now + 0.25;
        for (int i = 0; i < nactive; i++) {
            notify_msg *m = active[i];
            if (m->req)
                continue;
            if (m->next_at > now) {
                next = fmin(next, m->next_at);
                continue;
            }
            vb_error e = {0};
            net_req *r = notify_req(q->url, m->id, m->body, q->key, q->key_len, q->timeout, &e);
            if (r) {
                r->ud = m;
                if (net_add(q->n, r, &e) != 0)
                    net_req_free(&r);
            }
            if (!r) {
                char why[1100];
                snprintf(why, sizeof why, "not sent: %s", e.msg);
                notify_items_lost(q, m, why);
                active[i--] = active[--nactive];
                continue;
            }
            m->req = r;
        }
        vb_error e = {0};
        double wait = next - util_now();
        if (closing)
            wait = fmin(wait, give_up_at - util_now());
        if (net_running(q->n) > 0) {
            if (net_wait(q->n, wait > 0 ? wait : 0, &e) != 0)
                util_sleep(0.05); /* the multi handle's trouble: try again shortly */
        } else if (wait > 0) {
            util_sleep(fmin(wait, 0.05));
        }
        net_req *done;
        while ((done = net_next_done(q->n))) {
            notify_msg *m = done->ud;
            char why[256] = "";
            int rc = notify_judge(done, why, sizeof why);
            net_req_free(&done);
            m->req = NULL;
            m->attempts++;
            int i = 0;
            while (active[i] != m)
                i++;
            if (rc == 1 && m->attempts < q->attempts) {
                m->next_at = util_now() + m->wait;
                m->wait *= 2;
                continue;
            }
            active[i] = active[--nactive];
            if (rc == 0) {
                pthread_mutex_lock(&q->mu);
                q->c.delivered++;
                pthread_mutex_unlock(&q->mu);
                notify_msg_free(m);
            } else {
                char w[300 + 256];
                snprintf(w, sizeof w, "not delivered: %s", why);
                notify_items_lost(q, m, w);
            }
        }
    }
    /* The deadline passed: what is left is given up. */
    int left = 0;
    for (int i = 0; i < nactive; i++) {
        left++;
        /* libcurl takes an easy handle out of its multi handle when the
         * easy one is cleaned up: the transfer ends here. */
        net_req_free(&active[i]->req);
        notify_msg_free(active[i]);
    }
    net_free(&q->n);
    pthread_mutex_lock(&q->mu);
    while (q->head) {
        notify_msg *m = q->head;
        q->head = m->next;
        notify_msg_free(m);
        left++;
    }
    q->tail = NULL;
    q->nqueued = 0;
    if (left > 0) {
        q->c.failed += left;
        snprintf(q->c.why, sizeof q->c.why, "%d given up when the batch ended", left);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

notify_items *notify_items_start(const vb_config *cfg, const char *batch_id, int64_t run,
                                 int cap, vb_error *e)
{
    const notify_config *nc = &cfg->notify;
    unsigned char *key = NULL;
    size_t key_len = 0;
    if (notify_key(nc->key_file, &key, &key_len, e) != 0)
        return NULL;
    net *n = net_new(e);
    if (!n) {
        if (key)
            explicit_bzero(key, key_len);
        free(key);
        return NULL;
    }
    notify_items *q = vb_xcalloc(1, sizeof *q);
    q->url = vb_xstrdup(nc->url);
    q->key = key;
    q->key_len = key_len;
    q->timeout = nc->timeout;
    q->attempts = nc->attempts > 0 ? nc->attempts : 1;
    q->batch_id = vb_xstrdup(batch_id);
    q->prefix = vb_xasprintf("%s-%lld-", batch_id, (long long)run);
    q->cap = cap > 0 ? cap : 1;
    q->n = n;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (pthread_create(&q->th, NULL, notify_items_main, q) != 0) {
        net_free(&q->n);
        notify_items_free(q);
        vb_fail(e, VB_ERR_IO, "cannot start the thread of [notify] items");
        return NULL;
    }
    return q;
}

bool notify_items_push(notify_items *q, const item_record *r)
{
    pthread_mutex_lock(&q->mu);
    bool full = q->nqueued >= q->cap || q->closing;
    if (full)
        q->c.dropped++;
    pthread_mutex_unlock(&q->mu);
    if (full)
        return false;
    /* Made outside the lock: the sender never waits on the writer. */
    notify_msg *m = vb_xcalloc(1, sizeof *m);
    m->id = vb_xasprintf("%s%lld", q->prefix, (long long)r->seq);
    m->body = notify_item_body(q->batch_id, r, util_wall());
    m->wait = 1;
    pthread_mutex_lock(&q->mu);
    if (q->nqueued >= q->cap || q->closing) {
        q->c.dropped++;
        pthread_mutex_unlock(&q->mu);
        notify_msg_free(m);
        return false;
    }
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->nqueued++;
    q->c.queued++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return true;
}

void notify_items_finish(notify_items **pq, notify_items_counts *c)
{
    notify_items *q = *pq;
    memset(c, 0, sizeof *c);
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->closing = true;
    q->give_up_at = util_now() + notify_items_bound(q);
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->th, NULL);
    *c = q->c;
    notify_items_free(q);
    *pq = NULL;
}
