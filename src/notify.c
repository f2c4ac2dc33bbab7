/* notify.c - the end-of-batch webhook (notify.h): signed as Standard
 * Webhooks sign, sent with net.c, tried again with backoff. Nothing here
 * writes the URL, the key or a signature into a message. */
#include "config.h"
#include "notify.h"
#include "crypto.h"
#include "jwt.h"
#include "net.h"
#include "preset.h"
#include "report.h"
#include "util.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One attempt: 0 delivered, 1 worth another, -1 final. */
static int notify_once(net *n, const char *url, const char *id, const char *body,
                       const unsigned char *key, size_t key_len, double timeout,
                       notify_outcome *out)
{
    vb_error e = {0};
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
        char *sig = notify_signature(key, key_len, id, ts, body, &e);
        if (!sig) {
            net_req_free(&r);
            snprintf(out->what, sizeof out->what, "not sent: %s", e.msg);
            return -1;
        }
        char *h = vb_xasprintf("webhook-signature: %s", sig);
        net_req_header(r, h);
        explicit_bzero(h, strlen(h));
        explicit_bzero(sig, strlen(sig));
        free(h);
        free(sig);
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
    bool ok = done->curl_code == 0 && done->http >= 200 && done->http < 300;
    bool again = done->curl_code != 0 ? net_curl_transient(done->curl_code)
                                      : net_status_transient(done->http);
    char why[256];
    net_describe(done, why, sizeof why);
    net_req_free(&done);
    if (ok)
        return 0;
    snprintf(out->what, sizeof out->what, "not delivered: %s", why);
    return again ? 1 : -1;
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
                  const report_counts *c, const char *out_dir, double now)
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
    writer_end_object(w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    return s;
}
