/* net.h - many HTTP requests at once from one thread: one libcurl multi
 * handle drives every API call and download of a generation batch (no
 * thread per request). The caller adds requests, calls net_wait() in its
 * loop, and takes the finished ones with net_next_done().
 *
 * Nothing here logs: requests carry Authorization headers (secrets), and
 * CURLOPT_VERBOSE is never set. */
#ifndef VB_NET_H
#define VB_NET_H

#include "vbatch.h"

typedef struct net net;

/* One request. Fill the "in" fields (net_req_new gives defaults), add it
 * with net_add, and read the "out" fields once net_next_done returns it. */
typedef struct net_req {
    /* in (owned unless marked) */
    char *url;
    char *body;                 /* POST body (JSON), NULL: GET */
    const char *method;         /* another method ("PUT"), NULL: as above;
                                   static string */
    struct curl_slist *headers; /* via net_req_header */
    double timeout;             /* whole transfer, seconds (0 = none) */
    char *out_path;             /* download the body to this file (created,
                                   truncated); NULL: keep it in memory */
    int64_t max_size;           /* bytes, 0 = no limit */
    bool fresh;                 /* a new connection, never a reused one:
                                   libcurl silently sends a request again
                                   when a reused connection dies before the
                                   reply, which must not happen to a call
                                   that is not idempotent (a create) */
    void *ud;                   /* borrowed: the caller's */
    int kind;                   /* the caller's */

    /* out */
    long http;                  /* HTTP status, 0 when none arrived */
    int curl_code;              /* CURLcode, 0 = transfer completed */
    char *resp;                 /* body in memory, NUL-terminated */
    size_t resp_len;
    int64_t bytes;              /* body bytes received */
    double retry_after;         /* seconds from Retry-After, -1 = none */
    bool over_limit;            /* body passed max_size */
    int write_errno;            /* the download could not be written */
    double elapsed;             /* seconds */
    char errbuf[256];           /* libcurl's message when curl_code != 0 */

    /* private */
    void *easy;
    void *fp;
    double t_start;
} net_req;

net *net_new(vb_error *e);
void net_free(net **n);

net_req *net_req_new(void);
/* Releases a request that is not (or no longer) in the multi handle. */
void net_req_free(net_req **r);
/* Add a header line "Name: value" (copied). */
void net_req_header(net_req *r, const char *line);

/* Start a request. -1 with e set when it cannot be started. */
int net_add(net *n, net_req *r, vb_error *e);
/* Transfer for at most max_wait seconds (returns early when a request
 * finishes). -1 with e set on a multi-handle failure. */
int net_wait(net *n, double max_wait, vb_error *e);
/* A finished request, or NULL. The caller owns it again. */
net_req *net_next_done(net *n);
/* Requests added and not yet returned by net_next_done. */
int net_running(const net *n);

/* The options every vbatch transfer has (fetch.c's too): url, error
 * buffer (CURL_ERROR_SIZE), http(s) only, redirects followed (5 at
 * most), the user agent, the connect timeout, the whole transfer's
 * timeout (seconds, 0 none) and size limit (bytes, 0 none). easy is a
 * CURL handle. */
void net_easy_setup(void *easy, const char *url, char *errbuf, double timeout,
                    int64_t max_size);

/* Classification shared with fetch.c: worth retrying? */
bool net_status_transient(long http);
bool net_curl_transient(int curl_code);
/* Did the request surely never reach the server (no connection made: no
 * such host, connection refused)? Then a create can be sent again. */
bool net_curl_never_sent(int curl_code);
/* A one-line description of a failed request: libcurl's message, or
 * "HTTP 503 Service Unavailable". Never includes the URL's query. */
void net_describe(const net_req *r, char *buf, size_t len);

#endif
