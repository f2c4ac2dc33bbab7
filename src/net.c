/* net.c - one libcurl multi handle for every request of a generation
 * batch: API calls (JSON in memory) and downloads (to a file) run side by
 * side from the caller's single thread. Connections to the API host are
 * kept alive and reused by the multi handle's connection cache.
 *
 * Finished requests are queued in completion order for the caller; each
 * carries its HTTP status, libcurl's result, the body, and Retry-After. */
#include "config.h"
#include "net.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NET_CONNECT_TIMEOUT_S 15L
#define NET_MAX_REDIRS 5L
/* In-memory bodies are API replies; anything larger is not one. */
#define NET_MAX_MEMORY_BODY (8 << 20)

_Static_assert(sizeof(((net_req *)0)->errbuf) >= CURL_ERROR_SIZE,
               "net_req.errbuf is libcurl's error buffer");

struct net {
    CURLM *multi;
    int running;           /* added, not yet taken back */
    net_req **done;        /* finished, waiting for net_next_done */
    size_t ndone, cap;
};

net *net_new(vb_error *e)
{
    net *n = vb_xcalloc(1, sizeof *n);
    n->multi = curl_multi_init();
    if (!n->multi) {
        free(n);
        vb_fail(e, VB_ERR_INTERNAL, "cannot create a libcurl multi handle");
        return NULL;
    }
    /* Pipelining is gone from libcurl; HTTP/2 multiplexing is used when
     * the server offers it, else parallel keep-alive connections. */
    curl_multi_setopt(n->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(n->multi, CURLMOPT_MAXCONNECTS, 64L);
    return n;
}

net_req *net_req_new(void)
{
    net_req *r = vb_xcalloc(1, sizeof *r);
    r->retry_after = -1;
    return r;
}

static void net_req_release(net_req *r)
{
    if (r->easy) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    if (r->fp) {
        fclose(r->fp);
        r->fp = NULL;
    }
}

void net_req_free(net_req **rp)
{
    net_req *r = *rp;
    if (!r)
        return;
    net_req_release(r);
    free(r->url);
    free(r->body);
    curl_slist_free_all(r->headers);
    free(r->out_path);
    free(r->resp);
    free(r);
    *rp = NULL;
}

void net_free(net **np)
{
    net *n = *np;
    if (!n)
        return;
    /* Requests still in the multi handle are the caller's: it took them
     * with net_add and has not got them back; detach them only. */
    for (size_t i = 0; i < n->ndone; i++)
        net_req_free(&n->done[i]);
    free(n->done);
    curl_multi_cleanup(n->multi);
    free(n);
    *np = NULL;
}

void net_req_header(net_req *r, const char *line)
{
    struct curl_slist *l = curl_slist_append(r->headers, line);
    if (!l) {
        fprintf(stderr, "vbatch: out of memory\n");
        abort();
    }
    r->headers = l;
}

void net_easy_setup(void *easy, const char *url, char *errbuf, double timeout,
                    int64_t max_size)
{
    CURL *c = easy;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, NET_MAX_REDIRS);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vbatch/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, NET_CONNECT_TIMEOUT_S);
    if (timeout > 0) {
        long ms = (long)(timeout * 1000 + 0.5);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
    }
    if (max_size > 0)
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_size);
}

static size_t net_write(char *data, size_t size, size_t nmemb, void *ud)
{
    net_req *r = ud;
    size_t len = size * nmemb;
    if (r->max_size > 0 && (int64_t)len > r->max_size - r->bytes) {
        r->over_limit = true;
        return 0;
    }
    if (r->fp) {
        if (r->bytes == 0) {
            /* An error page is not the file: keep it in memory instead,
             * for the message. */
            long status = 0;
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 300) {
                fclose(r->fp);
                r->fp = NULL;
            }
        }
        if (r->fp) {
            if (len > 0 && fwrite(data, 1, len, r->fp) != len) {
                r->write_errno = errno ? errno : EIO;
                return 0;
            }
            r->bytes += (int64_t)len;
            return len;
        }
    }
    if (r->resp_len + len > NET_MAX_MEMORY_BODY) {
        r->over_limit = true;
        return 0;
    }
    r->resp = vb_xrealloc(r->resp, r->resp_len + len + 1);
    memcpy(r->resp + r->resp_len, data, len);
    r->resp_len += len;
    r->resp[r->resp_len] = '\0';
    r->bytes += (int64_t)len;
    return len;
}

int net_add(net *n, net_req *r, vb_error *e)
{
    r->http = 0;
    r->curl_code = 0;
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
    r->bytes = 0;
    r->retry_after = -1;
    r->over_limit = false;
    r->write_errno = 0;
    r->errbuf[0] = '\0';
    if (r->out_path) {
        r->fp = fopen(r->out_path, "wbe");
        if (!r->fp)
            return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", r->out_path,
                           strerror(errno));
        /* libcurl hands over 16 KiB at most: written as they come, a
         * video costs a system call per chunk. 64 KiB at once is a
         * quarter of the calls for 1 MiB with 16 downloads running. */
        setvbuf(r->fp, NULL, _IOFBF, 64 * 1024);
    }
    CURL *c = curl_easy_init();
    if (!c) {
        net_req_release(r);
        return vb_fail(e, VB_ERR_INTERNAL, "cannot create a libcurl handle");
    }
    r->easy = c;
    net_easy_setup(c, r->url, r->errbuf, r->timeout, r->max_size);
    curl_easy_setopt(c, CURLOPT_PRIVATE, r);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (r->headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    if (r->fresh)
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    if (r->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
    }
    if (r->method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, net_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    r->t_start = util_now();
    CURLMcode mc = curl_multi_add_handle(n->multi, c);
    if (mc != CURLM_OK) {
        net_req_release(r);
        return vb_fail(e, VB_ERR_INTERNAL, "cannot start a request: %s",
                       curl_multi_strerror(mc));
    }
    n->running++;
    return 0;
}

static void net_finish(net *n, CURL *c, CURLcode rc)
{
    net_req *r = NULL;
    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&r);
    curl_multi_remove_handle(n->multi, c);
    r->curl_code = (int)rc;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->http);
    curl_off_t ra = -1;
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra >= 0)
        r->retry_after = ra > 86400 ? 86400.0 : (double)ra;
    if (rc != CURLE_OK && !r->errbuf[0])
        snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(rc));
    r->elapsed = util_now() - r->t_start;
    if (r->fp && fclose(r->fp) != 0 && !r->write_errno)
        r->write_errno = errno ? errno : EIO;
    r->fp = NULL;
    curl_easy_cleanup(c);
    r->easy = NULL;
    if (n->ndone == n->cap) {
        n->cap = n->cap ? 2 * n->cap : 16;
        n->done = vb_xrealloc(n->done, n->cap * sizeof *n->done);
    }
    n->done[n->ndone++] = r;
}

int net_wait(net *n, double max_wait, vb_error *e)
{
    int still = 0;
    CURLMcode mc = curl_multi_perform(n->multi, &still);
    if (mc != CURLM_OK)
        return vb_fail(e, VB_ERR_INTERNAL, "libcurl: %s", curl_multi_strerror(mc));
    CURLMsg *m;
    int left;
    bool any = false;
    while ((m = curl_multi_info_read(n->multi, &left))) {
        if (m->msg == CURLMSG_DONE) {
            net_finish(n, m->easy_handle, m->data.result);
            any = true;
        }
    }
    if (any || max_wait <= 0)
        return 0;
    int ms = (int)(max_wait * 1000 + 0.5);
    mc = curl_multi_poll(n->multi, NULL, 0, ms > 0 ? ms : 1, NULL);
    if (mc != CURLM_OK)
        return vb_fail(e, VB_ERR_INTERNAL, "libcurl: %s", curl_multi_strerror(mc));
    mc = curl_multi_perform(n->multi, &still);
    if (mc != CURLM_OK)
        return vb_fail(e, VB_ERR_INTERNAL, "libcurl: %s", curl_multi_strerror(mc));
    while ((m = curl_multi_info_read(n->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            net_finish(n, m->easy_handle, m->data.result);
    return 0;
}

net_req *net_next_done(net *n)
{
    if (n->ndone == 0)
        return NULL;
    net_req *r = n->done[0];
    memmove(n->done, n->done + 1, (n->ndone - 1) * sizeof *n->done);
    n->ndone--;
    n->running--;
    return r;
}

int net_running(const net *n)
{
    return n->running;
}

bool net_status_transient(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 ||
           status == 503 || status == 504;
}

bool net_curl_transient(int rc)
{
    switch ((CURLcode)rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST: /* DNS hiccups are common */
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: /* a reset stream, like a dropped connection */
        return true;
    default:
        return false;
    }
}

bool net_curl_never_sent(int rc)
{
    /* Timeouts, resets and empty replies are not here: the request may
     * have been read by the server before the connection failed. */
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_COULDNT_RESOLVE_PROXY;
}

void net_describe(const net_req *r, char *buf, size_t len)
{
    if (r->write_errno)
        snprintf(buf, len, "cannot write the download: %s", strerror(r->write_errno));
    else if (r->over_limit || r->curl_code == CURLE_FILESIZE_EXCEEDED)
        snprintf(buf, len, "reply larger than the limit of %lld bytes",
                 (long long)(r->max_size > 0 ? r->max_size : NET_MAX_MEMORY_BODY));
    else if (r->curl_code != 0)
        snprintf(buf, len, "%s", r->errbuf[0] ? r->errbuf : "transfer failed");
    else
        snprintf(buf, len, "HTTP %ld", r->http);
}
