/* provider-fal.c - fal.ai's queue (https://queue.fal.run), through which
 * many users reach Kling (and other models): a model is named by its fal
 * id, e.g. fal-ai/kling-video/v2.6/pro/image-to-video.
 *
 *   POST {base}/{model_id}                       -> {request_id, ...}
 *   GET  {base}/{app}/requests/{id}/status       -> IN_QUEUE (queue_position)
 *                                                   | IN_PROGRESS | COMPLETED
 *   GET  {base}/{app}/requests/{id}              -> the result {video{url}}
 *   PUT  {base}/{app}/requests/{id}/cancel       -> CANCELLATION_REQUESTED
 * where {app} is the model id's first two segments (fal's clients build
 * these URLs from the endpoint id "without subpath": the Ruby gem's
 * Fal::Request#endpoint_id_without_subpath, the JS client's queue), with
 * `Authorization: Key $FAL_KEY`.
 *
 * fal takes no client-chosen id, so a task cannot be looked up by one
 * (no_lookup): exactly-once rests on the journal, and a create whose
 * answer was lost ends the job as `unknown`. Every reply is classified
 * in one place, fal_verdict. */
#include "config.h"
#include "provider.h"
#include "image.h"
#include "jobs.h"
#include "jwt.h"
#include "net.h"
#include "util.h"

#include <jansson.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAL_REQUEST_TIMEOUT 30.0
#define FAL_MAX_PROMPT 2500

/* Input images: the models below are Kling's, which takes JPEG or PNG
 * (fal also converts WebP), at most 10 MB, at least 300 px a side. */
#define FAL_IMAGE_MAX_BYTES (10 * 1024 * 1024)
#define FAL_IMAGE_MIN_SIDE 300

/* The model table: each model's input field names (fal renamed them
 * between versions: image_url became start_image_url, tail_image_url
 * end_image_url; a field a model does not read is ignored by fal, and an
 * ignored image turns image-to-video into text-to-video, so a job asking
 * for a field its model lacks is refused before submission), durations
 * and price in US dollars per second of video.
 *
 * Sources: fal's model pages (fal.ai/models/<id>/llms.txt). v2.6 pro
 * image-to-video: prompt (required), start_image_url (required), duration
 * "5"|"10", negative_prompt, generate_audio (default true); "$0.07 per
 * second without audio, $0.14 with native audio": audio is on unless
 * asked off, so $0.14. v1.6 standard image-to-video: prompt, image_url,
 * duration, negative_prompt, cfg_scale (fal's Kling 1.6 API reference).
 * v3 pro image-to-video: start_image_url, end_image_url, duration 3-15,
 * negative_prompt, cfg_scale (a published copy of its schema). Prices
 * not read on a fal page are ESTIMATES (est). fal bills what it bills:
 * the budget counts these figures. */
enum { FM_T2V = 1, FM_I2V = 2 };
#define FM_DUR(d) (1u << (d))
#define FM_5_10 (FM_DUR(5) | FM_DUR(10))
#define FM_3_15 0xfff8u

typedef struct fal_model {
    const char *id;
    int kind;                  /* FM_T2V or FM_I2V */
    unsigned durations;
    const char *image_field;   /* the first frame (I2V), NULL: none */
    const char *tail_field;    /* the last frame, NULL: not taken */
    bool aspect, negative, cfg;/* takes aspect_ratio, negative_prompt, cfg_scale */
    double usd_per_s;
    bool estimate;
} fal_model;

#define PUB false  /* price read on fal's page */
#define EST true   /* an estimate */
static const fal_model models[] = {
    /* id, kind, durations, image field, tail field,
     * takes aspect_ratio, negative_prompt, cfg_scale; $/s, estimate */
    { "fal-ai/kling-video/v2.6/pro/image-to-video", FM_I2V, FM_5_10, "start_image_url", NULL,
      false, true, false, 0.14, PUB },
    { "fal-ai/kling-video/v2.6/pro/text-to-video", FM_T2V, FM_5_10, NULL, NULL,
      true, true, false, 0.14, EST },
    { "fal-ai/kling-video/v3/pro/image-to-video", FM_I2V, FM_3_15, "start_image_url",
      "end_image_url", false, true, true, 0.14, EST },
    { "fal-ai/kling-video/v2.5-turbo/pro/text-to-video", FM_T2V, FM_5_10, NULL, NULL,
      true, true, true, 0.07, EST },
    { "fal-ai/kling-video/v2.5-turbo/pro/image-to-video", FM_I2V, FM_5_10, "image_url",
      "tail_image_url", false, true, true, 0.07, EST },
    { "fal-ai/kling-video/v1.6/standard/image-to-video", FM_I2V, FM_5_10, "image_url", NULL,
      false, true, true, 0.05, EST },
};
#undef PUB
#undef EST

static const fal_model *fal_model_find(const char *id)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(models); i++)
        if (strcmp(models[i].id, id) == 0)
            return &models[i];
    return NULL;
}

static char *fal_models_hint(void)
{
    char buf[1024] = "the fal models vbatch knows the fields of: ";
    for (size_t i = 0; i < VB_ARRAY_LEN(models); i++) {
        if (i)
            strncat(buf, ", ", sizeof buf - strlen(buf) - 1);
        strncat(buf, models[i].id, sizeof buf - strlen(buf) - 1);
    }
    return vb_xstrdup(buf);
}

static int fal_validate(const gen_job *j, const vb_config *c, vb_error *e)
{
    (void)c;
    const fal_model *m = fal_model_find(j->model);
    if (!m) {
        char *hint = fal_models_hint();
        vb_fail(e, VB_ERR_USAGE, "model: '%s' is not in vbatch's fal table, so its input "
                "fields are unknown (%s)", j->model, hint);
        free(hint);
        return -1;
    }
    if (m->kind == FM_I2V && j->kind != GEN_I2V)
        return vb_fail(e, VB_ERR_USAGE, "image: %s is image-to-video and needs an image",
                       j->model);
    if (m->kind == FM_T2V && j->kind == GEN_I2V)
        return vb_fail(e, VB_ERR_USAGE, "image: %s is text-to-video and reads no image (fal "
                       "would ignore it); use an image-to-video model", j->model);
    if (j->image_tail && !m->tail_field)
        return vb_fail(e, VB_ERR_USAGE, "image_tail: %s takes no last frame (fal would "
                       "ignore it)", j->model);
    if (j->aspect_ratio && !m->aspect)
        return vb_fail(e, VB_ERR_USAGE, "aspect_ratio: %s takes none (the image gives the "
                       "shape)", j->model);
    if (j->negative_prompt && !m->negative)
        return vb_fail(e, VB_ERR_USAGE, "negative_prompt: %s takes none", j->model);
    if (!isnan(j->cfg_scale) && !m->cfg)
        return vb_fail(e, VB_ERR_USAGE, "cfg_scale: %s takes none (fal would ignore it)",
                       j->model);
    if (!j->prompt)
        return vb_fail(e, VB_ERR_USAGE, "prompt: %s needs a prompt", j->model);
    if (j->duration < 1 || j->duration > 31 || !(m->durations & FM_DUR(j->duration)))
        return vb_fail(e, VB_ERR_USAGE, "duration: %d s (%s makes %s)", j->duration, j->model,
                       m->durations == FM_3_15 ? "3 to 15" : "5 or 10");
    if (j->aspect_ratio && strcmp(j->aspect_ratio, "16:9") && strcmp(j->aspect_ratio, "9:16") &&
        strcmp(j->aspect_ratio, "1:1"))
        return vb_fail(e, VB_ERR_USAGE, "aspect_ratio: %s (%s makes 16:9, 9:16 or 1:1)",
                       j->aspect_ratio, j->model);
    long n = util_utf8_chars(j->prompt);
    if (n < 0 || n > FAL_MAX_PROMPT)
        return vb_fail(e, VB_ERR_USAGE, "prompt: %s", n < 0 ? "not valid UTF-8"
                                                            : "longer than 2500 characters");
    return 0;
}

static double fal_estimate_units(const gen_job *j)
{
    const fal_model *m = fal_model_find(j->model);
    if (!m || j->duration < 1 || j->duration > 31 || !(m->durations & FM_DUR(j->duration)))
        return -1;
    return round(m->usd_per_s * j->duration * 1000) / 1000;
}

static int fal_check_image(const char *path, int64_t max_pixels, vb_error *e)
{
    image_info in;
    if (image_probe(path, max_pixels, &in, e) != 0)
        return -1;
    int rc = 0;
    const char *f = in.format ? in.format : "unknown";
    if (strcmp(f, "jpeg") && strcmp(f, "png") && strcmp(f, "webp"))
        rc = vb_fail(e, VB_ERR_MEDIA, "%s image: fal's Kling models take JPEG, PNG or WebP", f);
    else if (in.size > FAL_IMAGE_MAX_BYTES)
        rc = vb_fail(e, VB_ERR_LIMIT, "%.1f MB: at most 10 MB", (double)in.size / (1 << 20));
    else if (in.width < FAL_IMAGE_MIN_SIDE || in.height < FAL_IMAGE_MIN_SIDE)
        rc = vb_fail(e, VB_ERR_LIMIT, "%d x %d px: Kling needs at least %d px on each side",
                     in.width, in.height, FAL_IMAGE_MIN_SIDE);
    image_info_clear(&in);
    return rc;
}

/* ---- the session ---- */

struct provider_session {
    char *key;                  /* FAL_KEY: a secret, never in a message */
    char *line;                 /* "Authorization: Key <key>" */
    char *base_url;             /* without trailing '/' */
    double request_timeout;
};

static provider_endpoint fal_endpoint(const vb_config *c)
{
    provider_endpoint ep = { c->fal.base_url, c->fal.request_timeout };
    return ep;
}

static const char *fal_default_model(const vb_config *c)
{
    return c->fal.model;
}

static bool fal_key_ok(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++)
        if ((unsigned char)*k <= 0x20 || *k == 0x7f)
            return false;
    return true;
}

/* The key file holds the key alone, or `key = KEY`; # and ; comments. */
static char *fal_key_from_file(const char *path, vb_error *e)
{
    size_t cap = 0;
    char *text = jwt_read_private(path, &cap, e);
    if (!text)
        return NULL;
    char *key = NULL;
    for (char *line = strtok(text, "\r\n"); line && !key; line = strtok(NULL, "\r\n")) {
        while (isspace((unsigned char)*line))
            line++;
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (strncmp(line, "key", 3) == 0 && strchr(line, '=')) {
            line = strchr(line, '=') + 1;
            while (isspace((unsigned char)*line))
                line++;
        }
        size_t n = strlen(line);
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            n--;
        key = vb_xstrndup(line, n);
    }
    explicit_bzero(text, cap);
    free(text);
    if (!key || !fal_key_ok(key)) {
        jwt_wipe(&key);
        vb_fail(e, VB_ERR_CONFIG, "key file %s: no fal key in it (the key alone, or "
                "key = KEY)", path);
        return NULL;
    }
    return key;
}

static provider_session *fal_session_new(const vb_config *c, vb_error *e)
{
    const char *env = getenv("FAL_KEY");
    char *key = NULL;
    if (env && *env) {
        if (!fal_key_ok(env)) {
            vb_fail(e, VB_ERR_CONFIG, "FAL_KEY holds spaces or control characters");
            return NULL;
        }
        key = vb_xstrdup(env);
    } else if (c->fal.key_file && c->fal.key_file[0]) {
        if (!(key = fal_key_from_file(c->fal.key_file, e)))
            return NULL;
    } else {
        vb_fail(e, VB_ERR_CONFIG, "no fal key: set FAL_KEY, or [provider.fal] key_file "
                "(a file readable by its owner alone)");
        return NULL;
    }
    provider_session *s = vb_xcalloc(1, sizeof *s);
    s->key = key;
    s->line = vb_xasprintf("Authorization: Key %s", key);
    s->base_url = provider_base_url(c->fal.base_url);
    s->request_timeout = c->fal.request_timeout > 0 ? c->fal.request_timeout
                                                    : FAL_REQUEST_TIMEOUT;
    return s;
}

static void fal_session_free(provider_session **sp)
{
    provider_session *s = *sp;
    if (!s)
        return;
    jwt_wipe(&s->key);
    jwt_wipe(&s->line);
    free(s->base_url);
    free(s);
    *sp = NULL;
}

static provider_endpoint fal_session_endpoint(const provider_session *s)
{
    provider_endpoint ep = { s->base_url, s->request_timeout };
    return ep;
}

static int fal_auth_header(provider_session *s, double now, bool renew, char **line,
                           vb_error *e)
{
    (void)now;
    (void)renew;
    (void)e;
    *line = vb_xstrdup(s->line);
    return 0;
}

static void fal_scrub(const provider_session *s, char *msg)
{
    size_t n = s && s->key ? strlen(s->key) : 0;
    if (!msg || n < 4)
        return;
    for (char *p = strstr(msg, s->key); p; p = strstr(p + n, s->key))
        memset(p, '*', n);
}

/* ---- requests ---- */

/* A path's text percent-encoded; '/' kept when `slash` (a model id). */
static void fal_escape(char *out, size_t n, const char *v, bool slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && k + 4 < n; p++) {
        if (isalnum(*p) || strchr("-_.~", *p) || (slash && *p == '/')) {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    out[k] = '\0';
}

/* An image's bytes (base64) as the data URI fal takes in an *_url field;
 * the type from the bytes' signature. Caller frees. */
static char *fal_data_uri(const char *b64)
{
    const char *type = strncmp(b64, "iVBORw0KGgo", 11) == 0 ? "image/png"
                       : strncmp(b64, "UklGR", 5) == 0      ? "image/webp"
                                                            : "image/jpeg";
    return vb_xasprintf("data:%s;base64,%s", type, b64);
}

static void fal_set_image(json_t *o, const char *field, const char *b64)
{
    if (!field || !b64)
        return;
    char *uri = fal_data_uri(b64);
    json_object_set_new(o, field, json_string(uri));
    free(uri);
}

static int fal_create_request(const provider_session *s, const gen_job *j,
                              const char *external_id, const char *image_b64,
                              const char *tail_b64, char **path, char **body, vb_error *e)
{
    (void)s;
    (void)external_id; /* fal takes none */
    const fal_model *m = fal_model_find(j->model);
    if (!m)
        return vb_fail(e, VB_ERR_USAGE, "model %s is not in vbatch's fal table", j->model);
    /* Never a request that silently loses what the row asks for. */
    if ((image_b64 && !m->image_field) || (tail_b64 && !m->tail_field) ||
        (m->image_field && !image_b64))
        return vb_fail(e, VB_ERR_USAGE, "%s does not take the images this row gives",
                       j->model);
    json_t *o = json_object();
    if (j->prompt)
        json_object_set_new(o, "prompt", json_string(j->prompt));
    fal_set_image(o, m->image_field, image_b64);
    fal_set_image(o, m->tail_field, tail_b64);
    char dur[16];
    snprintf(dur, sizeof dur, "%d", j->duration); /* fal's enum is a string */
    json_object_set_new(o, "duration", json_string(dur));
    if (m->aspect && j->aspect_ratio)
        json_object_set_new(o, "aspect_ratio", json_string(j->aspect_ratio));
    if (m->negative && j->negative_prompt)
        json_object_set_new(o, "negative_prompt", json_string(j->negative_prompt));
    if (m->cfg && !isnan(j->cfg_scale))
        json_object_set_new(o, "cfg_scale", json_real(j->cfg_scale));
    *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!*body)
        return vb_fail(e, VB_ERR_INTERNAL, "cannot encode the request");
    char mp[512];
    fal_escape(mp, sizeof mp, j->model, true);
    *path = vb_xasprintf("/%s", mp);
    return 0;
}

/* {app}/requests/{id}{tail}: app is the model id's owner/name. */
static char *fal_request_path(const gen_job *j, const char *id, const char *tail)
{
    const char *slash = strchr(j->model, '/');
    const char *end = slash ? strchr(slash + 1, '/') : NULL;
    char *app = end ? vb_xstrndup(j->model, (size_t)(end - j->model)) : vb_xstrdup(j->model);
    char ea[512], ei[3 * 128 + 1];
    fal_escape(ea, sizeof ea, app, true);
    fal_escape(ei, sizeof ei, id, false);
    free(app);
    return vb_xasprintf("/%s/requests/%s%s", ea, ei, tail);
}

static char *fal_query_path(const provider_session *s, const gen_job *j, const char *id,
                            bool external)
{
    (void)s;
    (void)external; /* never asked: no_lookup */
    return fal_request_path(j, id, "/status");
}

static char *fal_result_path(const provider_session *s, const gen_job *j, const char *id)
{
    (void)s;
    return fal_request_path(j, id, "");
}

static char *fal_cancel_path(const provider_session *s, const gen_job *j, const char *id)
{
    (void)s;
    return fal_request_path(j, id, "/cancel");
}

/* ---- replies ---- */

static char *fal_dup(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? vb_xstrdup(json_string_value(v)) : NULL;
}

/* fal's error text: "detail" as a string, or the first message of a
 * validation list ([{loc, msg, type}]). */
static void fal_detail(json_t *root, char *out, size_t n)
{
    json_t *d = json_object_get(root, "detail");
    json_t *first = json_is_array(d) ? json_array_get(d, 0) : NULL;
    if (json_is_string(d))
        snprintf(out, n, "%s", json_string_value(d));
    else if (json_is_object(first) && json_is_string(json_object_get(first, "msg")))
        snprintf(out, n, "%s", json_string_value(json_object_get(first, "msg")));
    else
        out[0] = '\0';
}

/* The one classification of fal's failures: what a call's HTTP status,
 * libcurl code and error text mean. Permanent: PV_REJECTED, PV_MODEL,
 * PV_AUTH, PV_NO_CREDIT; transient: PV_RATE (Retry-After, read by the
 * engine), PV_TRANSIENT; on a create, PV_TRANSIENT means it may already
 * exist, PV_NOT_SENT that it surely does not. */
static int fal_verdict(int call, long http, int curl_code, const char *detail)
{
    if (curl_code != 0)
        return call == PC_CREATE && net_curl_never_sent(curl_code) ? PV_NOT_SENT
                                                                  : PV_TRANSIENT;
    if (http >= 200 && http < 300)
        return PV_OK;
    bool credit = detail && (strstr(detail, "balance") || strstr(detail, "Balance") ||
                             strstr(detail, "credit"));
    switch (http) {
    case 429: return PV_RATE;          /* refused before it was queued */
    case 401: return PV_AUTH;          /* a plain key: nothing to renew */
    case 402: return PV_NO_CREDIT;
    case 403: return credit ? PV_NO_CREDIT : PV_AUTH; /* "User is locked: exhausted balance" */
    case 404: return call == PC_CREATE ? PV_MODEL : PV_NOT_FOUND;
    case 408: return PV_TRANSIENT;
    default: break;
    }
    if (http >= 400 && http < 500)
        return PV_REJECTED;            /* 400, 422: this input, nothing queued */
    return PV_TRANSIENT;               /* 5xx, none: may have been queued */
}

static void fal_reply_init(provider_reply *r)
{
    provider_reply_clear(r);
    r->code = -1;
    r->video_duration = NAN;
    r->units = NAN;
    r->queue_position = -1;
}

/* A status reply's words. A request that failed is COMPLETED with an
 * error; FAILED is taken too. */
static void fal_status(json_t *root, provider_reply *r)
{
    json_t *st = json_object_get(root, "status");
    const char *w = json_is_string(st) ? json_string_value(st) : "";
    json_t *err = json_object_get(root, "error");
    json_t *qp = json_object_get(root, "queue_position");
    if (json_is_integer(qp))
        r->queue_position = (long)json_integer_value(qp);
    if (!strcmp(w, "IN_QUEUE")) {
        r->status = PT_SUBMITTED;
    } else if (!strcmp(w, "IN_PROGRESS")) {
        r->status = PT_PROCESSING;
    } else if (!strcmp(w, "COMPLETED") && !json_is_string(err)) {
        r->status = PT_SUCCEED;
    } else if (!strcmp(w, "COMPLETED") || !strcmp(w, "FAILED") || !strcmp(w, "CANCELLED")) {
        r->status = PT_FAILED;
        r->status_msg = json_is_string(err) ? vb_xstrdup(json_string_value(err))
                                            : vb_xstrdup(w[0] == 'C' ? "cancelled" : "failed");
    } else {
        r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "a status reply without a known status");
    }
}

static void fal_parse_reply(int call, long http, int curl_code, const char *body, size_t len,
                            provider_reply *r)
{
    fal_reply_init(r);
    json_error_t je;
    json_t *root = curl_code == 0 && body && len ? json_loadb(body, len, 0, &je) : NULL;
    char detail[400] = "";
    if (json_is_object(root))
        fal_detail(root, detail, sizeof detail);
    r->verdict = fal_verdict(call, http, curl_code, detail);
    if (call == PC_RESULT && r->verdict == PV_REJECTED && detail[0]) {
        /* The result of a request that failed: its error, for good. */
        r->verdict = PV_OK;
        r->status = PT_FAILED;
        r->status_msg = vb_xstrdup(detail);
    } else if (r->verdict != PV_OK) {
        snprintf(r->msg, sizeof r->msg, "%s%s%s(HTTP %ld)",
                 curl_code ? "no reply (transfer failed) " : "", detail, detail[0] ? " " : "",
                 http);
    } else if (!json_is_object(root)) {
        r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "HTTP %ld with %s", http,
                 body && len ? "a reply that is not JSON" : "an empty reply");
    } else if (call == PC_CREATE) {
        r->task_id = fal_dup(root, "request_id");
        r->status = PT_SUBMITTED;
        if (!r->task_id) {
            r->verdict = PV_TRANSIENT;
            snprintf(r->msg, sizeof r->msg, "HTTP %ld: a reply without a request_id", http);
        }
    } else if (call == PC_QUERY) {
        fal_status(root, r);
    } else if (call == PC_RESULT) {
        json_t *v = json_object_get(root, "video");
        r->video_url = json_is_object(v) ? fal_dup(v, "url") : NULL;
        r->status = r->video_url ? PT_SUCCEED : PT_FAILED;
        if (!r->video_url)
            r->status_msg = vb_xstrdup("the result holds no video");
    }
    json_decref(root);
}

const provider provider_fal = {
    .name = "fal",
    .units = "USD",
    .keys_hint = "FAL_KEY (or [provider.fal] key_file)",
    .models_hint = fal_models_hint,
    .validate = fal_validate,
    .estimate_units = fal_estimate_units,
    .check_image = fal_check_image,
    .endpoint = fal_endpoint,
    .session_new = fal_session_new,
    .session_free = fal_session_free,
    .session_endpoint = fal_session_endpoint,
    .auth_header = fal_auth_header,
    .create_request = fal_create_request,
    .query_path = fal_query_path,
    .no_lookup = true,
    .default_model = fal_default_model,
    .result_path = fal_result_path,
    .cancel_path = fal_cancel_path,
    .parse_reply = fal_parse_reply,
    .scrub = fal_scrub,
};
