/* provider.h - a video-generation API behind one interface, so that a
 * provider is one file (provider-kling.c today; Runway, Luma or fal
 * tomorrow). The engine (generate.c) does the HTTP with net.c; a
 * provider only builds requests and reads replies - it never does I/O
 * except reading its keys. */
#ifndef VB_PROVIDER_H
#define VB_PROVIDER_H

#include "vbatch.h"
#include "jobs.h"
#include "preset.h"

/* A task's state at the provider. */
enum provider_status {
    PT_UNKNOWN = 0, PT_SUBMITTED, PT_PROCESSING, PT_SUCCEED, PT_FAILED,
};

/* What a reply means for the engine: the HTTP status and the body's
 * code read together. */
enum provider_verdict {
    PV_OK = 0,        /* understood; the call did what was asked */
    PV_NOT_FOUND,     /* a lookup found no such task */
    PV_DUPLICATE,     /* create: that external id exists: look it up */
    PV_RATE,          /* too many requests: wait and try again */
    PV_CONCURRENCY,   /* too many tasks running: wait for one to end */
    PV_NO_CREDIT,     /* no submission for the rest of the batch */
    PV_REJECTED,      /* this job is refused (policy, parameters) */
    PV_AUTH_EXPIRED,  /* sign a new token and try again */
    PV_AUTH,          /* the keys are refused: nothing can be done */
    PV_TRANSIENT,     /* 5xx, reset, timeout, malformed reply: back off */
};

/* A parsed reply; strings owned (provider_reply_clear). */
typedef struct provider_reply {
    int verdict;                 /* enum provider_verdict */
    long code;                   /* the body's code, -1 when none */
    char msg[512];               /* what went wrong, for the item's error */
    char *request_id;
    char *task_id, *external_id;
    int status;                  /* enum provider_status */
    char *status_msg;
    char *video_url;             /* the first video (signed, expiring) */
    char *video_id;
    double video_duration;       /* seconds, NAN when not given */
    double units;                /* units charged, NAN when not given */
} provider_reply;
void provider_reply_clear(provider_reply *r);

/* A provider's session: its keys and the token made from them. */
typedef struct provider_session provider_session;

typedef struct provider {
    const char *name;
    /* Checks a job against the provider's rules; VB_ERR_USAGE message. */
    int (*validate)(const gen_job *j, vb_error *e);
    /* Estimated cost of one job in the provider's units. */
    double (*estimate_units)(const gen_job *j);
    /* Refuse locally an image the provider would refuse (size, aspect,
     * bytes, format): VB_ERR_LIMIT with the reason. */
    int (*check_image)(const char *path, vb_error *e);

    /* Keys from the environment or the configured key file. */
    provider_session *(*session_new)(const vb_config *c, vb_error *e);
    void (*session_free)(provider_session **s);
    /* The Authorization header line for a request made at `now`; a new
     * token is signed when the last is near its end or `renew` is set.
     * The returned line is a secret: never logged. */
    int (*auth_header)(provider_session *s, double now, bool renew, char **line,
                       vb_error *e);
    /* The create call: a path below the base URL and a JSON body (both
     * owned by the caller). image_b64/tail_b64: the images' bytes in
     * base64, NULL when the job has none. */
    int (*create_request)(const gen_job *j, const char *external_id,
                          const char *image_b64, const char *tail_b64,
                          char **path, char **body, vb_error *e);
    /* The query path for a task id or an external id. */
    char *(*query_path)(const gen_job *j, const char *id);
    /* Read a reply (create or query): http status, libcurl's code (0 when
     * the transfer completed) and the body. Always fills r->verdict. */
    void (*parse_reply)(long http, int curl_code, const char *body, size_t len,
                        provider_reply *r);
} provider;

/* The provider called `name`, or NULL. */
const provider *provider_find(const char *name);

#endif
