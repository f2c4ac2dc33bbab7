/* provider.h - a video-generation API behind one interface, one file per
 * provider (provider-kling.c, provider-fal.c), so that another API is one new file and
 * one line in provider.c's table.
 *
 * What a provider knows about jobs lives here: which requests it takes
 * (models, durations, aspect ratios, text limits), what they cost, and
 * which input images it would refuse. The network part (submit, query,
 * parse a reply) is added to the struct by the engine. */
#ifndef VB_PROVIDER_H
#define VB_PROVIDER_H

#include "vbatch.h"

struct gen_job;
struct vb_config;

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
    PV_AUTH,          /* the keys are refused (1000-1002, 1103, 1304, HTTP
                       * 403): nothing more is sent until they are fixed */
    PV_TRANSIENT,     /* 5xx, reset, timeout, malformed reply: back off */
    PV_MODEL,         /* create: the model is gone or not open to the
                       * account; this job is refused, nothing created */
    PV_NOT_SENT,      /* create: failed in a way that proves nothing was
                       * created (connection refused, no such host, a 4xx
                       * saying so): sent again after a backoff */
};

/* A create's verdict proves that nothing was made at the provider (and
 * nothing will be charged): every refusal, whether for this job (policy,
 * model), for now (rate, concurrency, credit, keys) or before it left
 * (PV_NOT_SENT). Not: PV_OK, PV_DUPLICATE (an earlier create arrived),
 * PV_TRANSIENT and PV_NOT_FOUND (the answer was lost or useless: it may
 * exist). Pure. */
bool provider_nothing_created(int verdict);

/* Which call a reply answers (the same code can mean different things). */
enum provider_call { PC_CREATE = 0, PC_QUERY, PC_RESULT, PC_CANCEL };

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
    long queue_position;         /* PT_SUBMITTED in a queue: place, -1 if none */
    double gen_seconds;          /* a finished task: how long it took by the
                                  * provider's own clock (finish minus creation),
                                  * 0 when not said; times the polls */
} provider_reply;
void provider_reply_clear(provider_reply *r);

/* A provider's session: its keys, the token made from them, and where
 * and how its calls go (its endpoint). */
typedef struct provider_session provider_session;

/* Where a provider's API is, and how long one call to it may take. */
typedef struct provider_endpoint {
    const char *base_url;          /* borrowed */
    double request_timeout;        /* seconds */
} provider_endpoint;

/* Kling's official global endpoint ([provider.kling] base_url). */
#define PROVIDER_KLING_BASE_URL "https://api-singapore.klingai.com"
/* fal.ai's queue ([provider.fal] base_url). */
#define PROVIDER_FAL_BASE_URL "https://queue.fal.run"
/* fal's model when [provider.fal] model is unset. */
#define PROVIDER_FAL_MODEL "fal-ai/kling-video/v2.6/pro/image-to-video"

typedef struct provider {
    const char *name;              /* as in [generate] provider and --provider */
    const char *units;             /* what estimate_units counts, e.g. "units" */
    const char *keys_hint;         /* where the keys come from, for messages */
    /* Would the provider accept this request? 0, or -1 with e set to a
     * message about the job alone (the caller adds file, line and row).
     * Called only for jobs whose cells are well-formed (jobs.c). */
    int (*validate)(const struct gen_job *j, const struct vb_config *c, vb_error *e);
    /* Estimated cost of the job in `units`, < 0 if unknown (validate
     * refuses those). The provider's own figure, when it sends one,
     * replaces it after the task is done. */
    double (*estimate_units)(const struct gen_job *j);
    /* Would the provider take this local image as an input frame? Reads
     * the header only, as `process` does (image_probe): a header claiming
     * more than max_pixels pixels ([qc] image_max_pixels; 0: no cap) is
     * refused before anything decodes or sends it. 0, or -1 with e set:
     * VB_ERR_IO (unreadable), VB_ERR_MEDIA (not an image, or a format it
     * refuses), VB_ERR_LIMIT (pixels, size, dimensions or aspect out of
     * the limits). */
    int (*check_image)(const char *path, int64_t max_pixels, vb_error *e);

    /* ---- the API calls (the engine does the HTTP, with net.c) ---- */
    /* The endpoint as configured ([provider.NAME]), as the plan of a dry
     * run shows it: no session, no keys needed. */
    provider_endpoint (*endpoint)(const struct vb_config *c);
    /* Keys from the environment or the configured key file; the
     * endpoint from the configuration. */
    provider_session *(*session_new)(const struct vb_config *c, vb_error *e);
    void (*session_free)(provider_session **s);
    /* Where the session's calls go: the base URL without a trailing '/'
     * (the session's string), a request timeout > 0. The engine joins
     * the base URL and a path from create_request or query_path. */
    provider_endpoint (*session_endpoint)(const provider_session *s);
    /* The Authorization header line for a request made at `now` (Unix
     * time); a new token is signed when the last is near its end or
     * `renew` is set. The line is a secret: never logged. */
    int (*auth_header)(provider_session *s, double now, bool renew, char **line,
                       vb_error *e);
    /* The create call: a path below the base URL and a JSON body (both
     * owned by the caller). image_b64/tail_b64: the images' bytes in
     * base64, NULL when the job has none. The session says which API
     * style the job takes. */
    int (*create_request)(const provider_session *s, const struct gen_job *j,
                          const char *external_id, const char *image_b64,
                          const char *tail_b64, char **path, char **body, vb_error *e);
    /* The query path for a task id, or for an external id (`external`;
     * never asked when no_lookup). Caller frees. */
    char *(*query_path)(const provider_session *s, const struct gen_job *j, const char *id,
                        bool external);
    /* A task cannot be found by a client-chosen id (the provider takes
     * none): a create whose answer was lost, or a crash after the
     * create was sent, ends the job as `unknown` (it may exist and be
     * paid) instead of a lookup, and is never sent again blindly. */
    bool no_lookup;
    /* The model column's default for this provider ([provider.NAME]
     * model), NULL: [generate] model. Borrowed from c. */
    const char *(*default_model)(const struct vb_config *c);
    /* ---- a separate result call (optional: result_path NULL) ---- */
    /* A task the query reports done (PT_SUCCEED) without a video URL is
     * asked for its result at this path (GET); its reply is read by
     * parse_reply(PC_RESULT). Caller frees. */
    char *(*result_path)(const provider_session *s, const struct gen_job *j, const char *id);
    /* ---- cancelling (optional: cancel_path NULL) ---- */
    /* The path (PUT) that cancels a task which has not started, asked on
     * a budget stop or an interruption for the tasks still queued at the
     * provider; its reply is read by parse_reply(PC_CANCEL): PV_OK when
     * the task will not run. Caller frees. */
    char *(*cancel_path)(const provider_session *s, const struct gen_job *j, const char *id);
    /* ---- batch lookups (optional: batch_max 0 means none) ---- */
    /* At most this many task ids in one batch lookup. */
    size_t batch_max;
    /* Are this job's tasks looked up in batches (its API style has it)? */
    bool (*batchable)(const provider_session *s, const struct gen_job *j);
    /* The path of one lookup of n (<= batch_max) task ids. Caller frees. */
    char *(*batch_path)(const provider_session *s, const char *const *ids, size_t n);
    /* Read a batch lookup's reply: *all as parse_reply sets it (the
     * verdict of the call as a whole); when PV_OK, the tasks the reply
     * holds, each a reply of its own (verdict PV_OK), in *tasks (*n of
     * them; caller clears each, then frees the array). A task asked
     * for and missing from the reply is asked for again (it may not be
     * listed yet), then given up. */
    void (*parse_batch)(long http, int curl_code, const char *body, size_t len,
                        provider_reply *all, provider_reply **tasks, size_t *n);
    /* ---- what is left to spend (optional: balance_path NULL) ---- */
    /* The path of the free call that tells what the account has left,
     * made at `now` (Unix time). Caller frees. */
    char *(*balance_path)(const provider_session *s, double now);
    /* Read its reply: r->verdict as parse_reply sets it; when PV_OK, the
     * units left that the jobs can be paid from into *left, and what they
     * are (the packs counted, for messages) into r->msg. */
    void (*parse_balance)(long http, int curl_code, const char *body, size_t len,
                          double now, provider_reply *r, double *left);
    /* Seconds between two balance calls at least (the provider's limit). */
    double balance_interval;
    /* Read a reply to `call` (enum provider_call): the HTTP status, libcurl's code
     * (0 when the transfer completed) and the body. Always sets
     * r->verdict. */
    void (*parse_reply)(int call, long http, int curl_code, const char *body, size_t len,
                        provider_reply *r);
    /* The models the provider's table knows, as a sentence for a job
     * whose model was refused. Caller frees. */
    char *(*models_hint)(void);
    /* Blank out, in place, any of the session's secrets (the keys) that
     * a reply's message might echo, before it is shown or journaled. */
    void (*scrub)(const provider_session *s, char *msg);
} provider;

extern const provider provider_kling;
extern const provider provider_fal;

/* The provider called `name` (case-sensitive), NULL if none; name NULL:
 * the default one (the first of provider.c's table). */
const provider *provider_find(const char *name);
/* A base URL without its trailing '/' (paths start with one:
 * "https://host/" + "/v1/..." would not do). Caller frees. */
char *provider_base_url(const char *url);
/* Every provider name, joined with ", ". Caller frees. */
char *provider_names(void);

#endif
