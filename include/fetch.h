/* fetch.h - downloads with libcurl: http and https only, a size limit,
 * retries with exponential backoff on transient errors, written to a
 * temporary name and renamed. A download is an item's blocking call like
 * any read: its clock (mediaio.h) bounds every attempt and every wait
 * between attempts. */
#ifndef VB_FETCH_H
#define VB_FETCH_H

#include "vbatch.h"
#include "mediaio.h"

typedef struct fetch_opts {
    int64_t max_size;      /* bytes, 0 = no limit */
    int retries;           /* extra attempts after the first */
    double timeout;        /* seconds for one attempt, 0 = none */
    double backoff_base;   /* first delay in seconds */
    double backoff_cap;    /* longest delay */
    /* The item's clock (borrowed, may be NULL): past its deadline, after
     * stall_timeout seconds without a byte of the body, or once the abort
     * flag is up, the transfer stops and the download fails with
     * mediaio_clock_fail's message; the clock keeps the reason. No
     * attempt starts, and no wait, that the deadline would cut. */
    mediaio_clock *clk;
    /* true once the batch is stopping (may be NULL): the attempt running
     * may finish, but no other starts (fetch_stats.stopped). */
    bool (*stopping)(void *ud);
    void *stopping_ud;
} fetch_opts;

typedef struct fetch_stats {
    int attempts;
    int64_t bytes;
    long http_status;
    bool stopped;          /* failed with an error worth another attempt,
                              not made because the batch is stopping */
} fetch_stats;

/* One-time global set-up (curl_global_init); call from main. */
int fetch_global_init(vb_error *e);
void fetch_global_cleanup(void);
/* Download url to dest (created atomically). */
int fetch_url(const char *url, const char *dest, const fetch_opts *o,
              fetch_stats *st, vb_error *e);
const char *fetch_version(void);
/* The URL as it may be shown in messages and reports: without
 * user:password@, the query string and the fragment (they often carry
 * signed tokens). Caller frees. */
char *fetch_display_url(const char *url);
/* Whether fetch_display_url drops something of url (credentials, options,
 * a query or a fragment): what the journal keeps of it is not enough to
 * fetch it again. */
bool fetch_url_stripped(const char *url);

#endif
