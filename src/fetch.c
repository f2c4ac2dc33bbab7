/* fetch.c - download one URL to a file with libcurl. Only http and https
 * (redirects included), a hard size limit, retries with backoff on
 * transient errors, and the result appears under its final name only
 * when complete: no partial file is ever left behind.
 *
 * The item's clock bounds it like any read of the item: libcurl's
 * progress callback (called at least about once a second, data or not)
 * stops the transfer past the item's deadline, after stall_timeout
 * seconds without a byte, or when the grace period is over; the waits
 * between attempts are cut the same way, and once the batch is stopping
 * no new attempt starts.
 *
 * Called from worker threads: one easy handle per call, no signals. */
#include "config.h"
#include "fetch.h"
#include "msg.h"
#include "net.h"
#include "backoff.h"
#include "stage.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How often a wait between attempts looks at the stop flag and clock. */
#define FETCH_WAIT_SLICE 0.05

int fetch_global_init(vb_error *e)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return vb_fail(e, VB_ERR_INTERNAL, "cannot initialise libcurl: %s",
                       curl_easy_strerror(rc));
    return 0;
}

void fetch_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *fetch_version(void)
{
    return curl_version();
}

/* For a URL libcurl's parser refuses (it is not fetched either): the
 * credentials and the query cut at their delimiters. */
static char *fetch_display_cut(const char *url)
{
    size_t len = strlen(url);
    char *out = vb_xmalloc(len + 1);
    const char *p = url;
    char *o = out;
    const char *sep = strstr(url, "://");
    if (sep) {
        size_t n = (size_t)(sep + 3 - url);
        memcpy(o, url, n);
        o += n;
        p = sep + 3;
        size_t auth = strcspn(p, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < auth; i++)
            if (p[i] == '@')
                at = p + i;
        if (at) {
            /* Keep the host, drop the credentials. */
            auth -= (size_t)(at + 1 - p);
            p = at + 1;
        }
        memcpy(o, p, auth);
        o += auth;
        p += auth;
    }
    size_t rest = strcspn(p, "?#");
    memcpy(o, p, rest);
    o += rest;
    *o = '\0';
    return out;
}

/* The URL as it may appear in messages and logs: without user:password@
 * and without the query string or fragment, which often carry signed
 * tokens. Control characters are replaced so a message stays one line. */
char *fetch_display_url(const char *url)
{
    /* libcurl's URL API: the user, password, options (";auth=..."),
     * query (tokens, signatures) and fragment dropped, as curl parses them. */
    CURLU *h = curl_url();
    char *got = NULL, *out = NULL;
    static const CURLUPart drop[] = { CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS,
                                      CURLUPART_QUERY, CURLUPART_FRAGMENT };
    bool ok = h && curl_url_set(h, CURLUPART_URL, url,
                                CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE) == CURLUE_OK;
    for (size_t i = 0; ok && i < VB_ARRAY_LEN(drop); i++)
        ok = curl_url_set(h, drop[i], NULL, 0) == CURLUE_OK;
    if (ok && curl_url_get(h, CURLUPART_URL, &got, 0) == CURLUE_OK)
        out = vb_xstrdup(got);
    curl_free(got);
    curl_url_cleanup(h);
    return msg_printable(out ? out : fetch_display_cut(url));
}

bool fetch_url_stripped(const char *url)
{
    CURLU *h = curl_url();
    static const CURLUPart parts[] = { CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS,
                                       CURLUPART_QUERY, CURLUPART_FRAGMENT };
    bool stripped = false;
    if (!h || curl_url_set(h, CURLUPART_URL, url,
                           CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE) != CURLUE_OK)
        stripped = true; /* shown cut: not the URL either */
    for (size_t i = 0; !stripped && i < VB_ARRAY_LEN(parts); i++) {
        char *got = NULL;
        stripped = curl_url_get(h, parts[i], &got, 0) == CURLUE_OK;
        curl_free(got);
    }
    curl_url_cleanup(h);
    return stripped;
}

static const char *fetch_reason(long status)
{
    static const struct { long code; const char *text; } reasons[] = {
        {300, "Multiple Choices"}, {301, "Moved Permanently"},
        {302, "Found"}, {303, "See Other"}, {304, "Not Modified"},
        {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
        {400, "Bad Request"}, {401, "Unauthorized"},
        {402, "Payment Required"}, {403, "Forbidden"}, {404, "Not Found"},
        {405, "Method Not Allowed"}, {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"}, {408, "Request Timeout"},
        {409, "Conflict"}, {410, "Gone"}, {411, "Length Required"},
        {412, "Precondition Failed"}, {413, "Content Too Large"},
        {414, "URI Too Long"}, {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"}, {418, "I'm a teapot"},
        {421, "Misdirected Request"}, {425, "Too Early"},
        {429, "Too Many Requests"}, {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"}, {501, "Not Implemented"},
        {502, "Bad Gateway"}, {503, "Service Unavailable"},
        {504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(reasons); i++)
        if (reasons[i].code == status)
            return reasons[i].text;
    return NULL;
}

/* Where the body goes during one attempt. */
typedef struct fetch_sink {
    CURL *curl;          /* borrowed */
    FILE *fp;            /* borrowed */
    int64_t bytes;
    int64_t max;         /* 0 = no limit */
    bool over_limit;     /* aborted: max exceeded */
    bool http_error;     /* aborted: the response is an error page */
    int write_errno;     /* aborted: local write failed */
    mediaio_clock *clk;  /* borrowed, may be NULL */
    double last_data;    /* util_now() of the last body byte, or the start */
    int stop;            /* aborted by the clock: enum mediaio_stop */
    double stop_after;   /* for the message: seconds without data (stall),
                            else since the item started */
} fetch_sink;

static size_t fetch_write(char *data, size_t size, size_t n, void *ud)
{
    fetch_sink *s = ud;
    size_t len = size * n;
    if (s->bytes == 0) {
        /* An error page is not the file: stop instead of reading it. */
        long status = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 300) {
            s->http_error = true;
            return 0;
        }
    }
    /* Content-Length may be absent or wrong, so count what arrives. */
    if (s->max > 0 && (int64_t)len > s->max - s->bytes) {
        s->over_limit = true;
        return 0;
    }
    if (len > 0 && fwrite(data, 1, len, s->fp) != len) {
        s->write_errno = errno ? errno : EIO;
        return 0;
    }
    s->bytes += (int64_t)len;
    if (len > 0)
        s->last_data = util_now();
    return len;
}

/* libcurl's progress callback: non-zero stops the transfer. */
static int fetch_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    fetch_sink *s = ud;
    double now = util_now();
    int why = mediaio_clock_check(s->clk, now);
    if (why != MEDIAIO_GO) {
        s->stop = why;
        s->stop_after = now - s->clk->started;
        return 1;
    }
    if (s->clk && s->clk->stall_timeout > 0 && now - s->last_data > s->clk->stall_timeout) {
        /* Kept by the clock as a read's stall is (mediaio.c): the item
         * ends here, it is not tried again. */
        int go = MEDIAIO_GO;
        atomic_compare_exchange_strong(&s->clk->stop, &go, MEDIAIO_STALL);
        s->stop = MEDIAIO_STALL;
        s->stop_after = now - s->last_data;
        return 1;
    }
    return 0;
}

static void fetch_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* One attempt into tmp (truncated first). Returns 0, or -1 with e set;
 * *status and *retry_after (seconds, 0 = none) are filled either way. */
static int fetch_once(const char *url, const char *safe, const char *tmp,
                      const fetch_opts *o, fetch_stats *st,
                      long *retry_after, vb_error *e)
{
    *retry_after = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", tmp,
                       strerror(errno));
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        int err = errno;
        close(fd);
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", tmp,
                       strerror(err));
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        fclose(fp);
        return vb_fail(e, VB_ERR_INTERNAL, "cannot create a libcurl handle");
    }

    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';
    fetch_sink sink = { .curl = curl, .fp = fp, .max = o->max_size, .clk = o->clk,
                        .last_data = util_now() };

    net_easy_setup(curl, url, errbuf, o->timeout, o->max_size);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, fetch_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &sink);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);

    CURLcode rc = curl_easy_perform(curl);

    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t ra = -1;
    if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
        ra > 0)
        *retry_after = ra > 86400 ? 86400 : (long)ra;
    curl_easy_cleanup(curl);
    st->http_status = status;
    st->bytes = sink.bytes;

    int close_err = fclose(fp) != 0 ? errno : 0;
    fetch_trim(errbuf);

    if (sink.stop != MEDIAIO_GO)
        return mediaio_clock_fail(o->clk, sink.stop, sink.stop_after, false, safe, e);
    if (sink.write_errno)
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", tmp,
                       strerror(sink.write_errno));
    if (sink.over_limit || rc == CURLE_FILESIZE_EXCEEDED)
        return vb_fail(e, VB_ERR_LIMIT,
                       "download exceeds the size limit of %" PRId64
                       " bytes: %s", o->max_size, safe);
    if ((rc == CURLE_OK || sink.http_error) && status >= 300) {
        const char *reason = fetch_reason(status);
        return vb_fail(e, net_status_transient(status) ? VB_ERR_NET_RETRY
                                                        : VB_ERR_NET,
                       "HTTP %ld%s%s from %s", status, reason ? " " : "",
                       reason ? reason : "", safe);
    }
    if (rc != CURLE_OK) {
        const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        if (rc == CURLE_UNSUPPORTED_PROTOCOL)
            return vb_fail(e, VB_ERR_NET,
                           "cannot download %s: %s (only http and https are "
                           "allowed, redirects included)", safe, msg);
        return vb_fail(e, net_curl_transient(rc) ? VB_ERR_NET_RETRY
                                                   : VB_ERR_NET,
                       "cannot download %s: %s", safe, msg);
    }
    if (close_err)
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", tmp,
                       strerror(close_err));
    return 0;
}


/* Wait before another attempt, in short slices: false as soon as the
 * batch stops (*stopped set) or the item's clock says stop. */
static bool fetch_wait(const fetch_opts *o, double seconds, bool *stopped)
{
    double until = util_now() + seconds;
    for (;;) {
        if (o->stopping && o->stopping(o->stopping_ud)) {
            *stopped = true;
            return false;
        }
        double now = util_now();
        if (mediaio_clock_check(o->clk, now) != MEDIAIO_GO)
            return false;
        if (now >= until)
            return true;
        util_sleep(until - now < FETCH_WAIT_SLICE ? until - now : FETCH_WAIT_SLICE);
    }
}

/* Workers started at the same moment must not share a jitter sequence. */
static uint64_t fetch_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_t self = pthread_self();
    uint64_t th = 0;
    memcpy(&th, &self, sizeof self < sizeof th ? sizeof self : sizeof th);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)getpid() << 32) ^ th ^ (uint64_t)(uintptr_t)&ts;
    /* splitmix64 finaliser spreads the similar inputs apart. */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x ? x : 1;
}

int fetch_url(const char *url, const char *dest, const fetch_opts *o,
              fetch_stats *st, vb_error *e)
{
    fetch_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);

    char *safe = fetch_display_url(url);
    char *tmp = util_temp_name(dest);
    uint64_t rng = fetch_seed();
    int retries = o->retries > 0 ? o->retries : 0;
    int r = -1;
    /* A local error value: retrying depends on its class even when the
     * caller passed no e. */
    vb_error err;
    vb_error_clear(&err);
    bool no_time = false;        /* the deadline would pass during the wait */

    for (int attempt = 1;; attempt++) {
        long retry_after = 0;
        st->attempts = attempt;
        r = fetch_once(url, safe, tmp, o, st, &retry_after, &err);
        if (r == 0 || err.code != VB_ERR_NET_RETRY ||
            attempt > retries)
            break;
        if (o->stopping && o->stopping(o->stopping_ud)) {
            st->stopped = true;
            break;
        }
        double delay = backoff_delay(attempt, o->backoff_base,
                                     o->backoff_cap, &rng);
        if (retry_after > 0 &&
            (st->http_status == 429 || st->http_status == 503)) {
            /* The server said when; believe it, within our cap. */
            delay = (double)retry_after;
            if (o->backoff_cap > 0 && delay > o->backoff_cap)
                delay = o->backoff_cap;
        }
        if (o->clk && o->clk->deadline > 0 && util_now() + delay >= o->clk->deadline) {
            no_time = true;
            break;
        }
        if (!fetch_wait(o, delay, &st->stopped)) {
            int why = mediaio_clock_stopped(o->clk);
            if (!st->stopped && why != MEDIAIO_GO)
                mediaio_clock_fail(o->clk, why, util_now() - o->clk->started, false, safe,
                                   &err);
            break;
        }
    }

    if (r == 0 && rename(tmp, dest) != 0) {
        int errnum = errno;
        r = vb_fail(&err, VB_ERR_IO, "cannot rename %s to %s: %s", tmp, dest,
                    strerror(errnum));
    }
    if (r != 0) {
        unlink(tmp);
        size_t n = strlen(err.msg);
        if (no_time)
            snprintf(err.msg + n, sizeof err.msg - n, " (%s%d attempt%s; no time for another "
                     "before the item deadline, [batch] item_timeout = %g s)",
                     st->attempts > 1 ? "after " : "", st->attempts,
                     st->attempts > 1 ? "s" : "", o->clk->item_timeout);
        else if (st->attempts > 1)
            snprintf(err.msg + n, sizeof err.msg - n, " (after %d attempts)",
                     st->attempts);
        if (e)
            *e = err;
    }
    free(tmp);
    free(safe);
    return r;
}

/* ---- the fetch stage ---- */

static bool fetch_wanted(const item *it, const vb_config *cfg)
{
    (void)cfg;
    return it->en.is_url && !it->fed;
}

/* The download into OUT/<item>/video/, bounded by the item's clock. One
 * that would have been tried again but for the batch stopping is left
 * pending, as one the grace period cut is. */
static int fetch_run(item *it, const vb_config *cfg, vb_error *e)
{
    const item_env *env = it->env;
    fetch_opts fo = {
        .max_size = cfg->input.max_download_size,
        .retries = cfg->input.download_retries,
        .timeout = cfg->input.download_timeout,
        .backoff_base = cfg->input.download_backoff,
        .backoff_cap = 30.0,
        .clk = &it->clock,
        .stopping = env->stopping,
        .stopping_ud = env->ud,
    };
    fetch_stats fs = {0};
    int rc = util_mkdir_p(it->item_dir, e);
    if (rc == 0)
        rc = util_mkdir_p(it->video_dir, e);
    if (rc == 0)
        rc = fetch_url(it->en.path, it->placed, &fo, &fs, e);
    if (rc != 0 && fs.stopped)
        it->fetch_stopped = true;
    /* The folder is there now: publish_clear_stale removes a body that
     * is not delivered (not media, failed later, left pending). */
    it->existed = true;
    it->media = it->placed;
    return rc;
}

const stage stage_fetch = { STAGE_FETCH, "fetch", fetch_wanted, fetch_run };
