/* provider-kling.c - Kling (Kuaishou) video generation: which requests its
 * API takes, what they cost, and which input images it refuses, so that
 * a job that would be refused is refused here, at no cost, before the
 * batch starts.
 *
 * Two API styles, chosen per job ([provider.kling] api, or the model
 * table's column when auto):
 *   legacy   POST /v1/videos/text2video and /v1/videos/image2video with
 *            model_name, prompt, negative_prompt, cfg_scale, mode,
 *            aspect_ratio, duration ("5" or "10", a string), image /
 *            image_tail (base64), external_task_id, callback_url;
 *            GET /v1/videos/{text2video|image2video}/{id}; statuses
 *            submitted|processing|succeed|failed.
 *   current  the model in the path: POST /text-to-video/<model> and
 *            /image-to-video/<model> with prompt, negative_prompt,
 *            cfg_scale, image, image_tail, settings{resolution (std 720p,
 *            pro 1080p), aspect_ratio, duration (a number)} and
 *            options{external_task_id, callback_url}; one lookup for many
 *            tasks, GET /tasks?task_ids=a,b (or external_task_ids=...);
 *            statuses submitted|processing|succeeded|failed.
 * Both answer {code, message, request_id, data}; a task's fields are read
 * under either style's names (task_status or status, task_result or
 * outputs, final_unit_deduction or the unit lines of billing). */
#include "config.h"
#include "provider.h"
#include "image.h"
#include "jobs.h"
#include "jwt.h"
#include "util.h"

#include <jansson.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Text limits of the create calls, in characters. */
#define KLING_MAX_PROMPT 2500
#define KLING_MAX_NEGATIVE 2500

/* Input images (image, image_tail): JPEG or PNG, at most 10 MB, at least
 * 300 px on each side, aspect ratio between 1:2.5 and 2.5:1. */
#define KLING_IMAGE_MAX_BYTES (10 * 1024 * 1024)
#define KLING_IMAGE_MIN_SIDE 300
#define KLING_IMAGE_MAX_ASPECT 2.5

/* The model table: what each model makes and what it costs, in units of
 * a Kling API resource pack per second of video ([std, pro]; 0: the mode
 * is not offered; std is 720p, pro 1080p).
 *
 * Sources. Legacy rows (kling-v1 .. kling-v2-5-turbo): Kling's published
 * API price list (klingai.com developer pricing, 2025) for one 5 s or
 * 10 s video, which is linear in the duration (e.g. kling-v1-6 std 2 / 4
 * units = 0.4 units/s). Models, durations, modes and audio of the newer
 * rows: Kling's changelog ("Kling 3.0 series models API"), the kling-3.0
 * request schema (duration 3 to 15, resolution 720p or 1080p,
 * docs.comfy.org Kling 3.0 page) and useapi.net's model table (v2-6:
 * 5 / 10 s, native audio in pro; v3: 3-15 s, audio). Kling had not
 * published units for kling-v2-6, kling-v3, kling-v3-omni and
 * kling-video-o1 when this was written: their figures are ESTIMATES
 * (v3's std:pro ratio of 3:4 follows the per-second dollar prices
 * resellers list, docs.krea.ai Kling 3.0 page). The task's
 * final_unit_deduction, when the API reports it, replaces any estimate.
 *
 * Discontinued models stay in the table so that a row naming one is
 * refused before the batch with the live models named: Kling answers
 * them 1203 ("resource does not exist"). A model missing here is
 * refused too: add its row when Kling publishes one. */
enum { KM_T2V = 1, KM_I2V = 2, KM_TAIL = 4 /* first + last frame */ };
#define KM_DUR(d) (1u << (d))
#define KM_5_10 (KM_DUR(5) | KM_DUR(10))
#define KM_3_15 0xfff8u /* 3 .. 15 s */

typedef struct kling_model {
    const char *name;
    unsigned kinds;            /* KM_* */
    unsigned durations;        /* KM_DUR(seconds) bits */
    double per_s[2];           /* units per second [std, pro] */
    const char *audio;         /* native audio: "no", "pro" (pro mode only), "yes" */
    bool estimate;             /* units not published: an estimate */
    bool discontinued;         /* answered 1203 by Kling */
    bool current;              /* taken through the current API style (auto) */
} kling_model;

/* Short names for the kinds, the flags and the audio column. */
#define KM_ALL (KM_T2V | KM_I2V | KM_TAIL)
#define KM_IMG (KM_I2V | KM_TAIL)
#define PUB false  /* units published */
#define EST true   /* units estimated */

static const kling_model models[] = {
    /* name               kinds   durations  units/s {std, pro}  audio  units live/gone API */
    { "kling-v2-6",        KM_ALL, KM_5_10, { 0.4, 0.7 }, "pro", EST, false, false },
    { "kling-v2-5-turbo",  KM_ALL, KM_5_10, { 0, 0.5 },   "no",  PUB, false, false },
    { "kling-v2-1",        KM_IMG, KM_5_10, { 0.4, 0.7 }, "no",  PUB, false, false },
    { "kling-v1-5",        KM_IMG, KM_5_10, { 0.4, 0.7 }, "no",  PUB, false, false },
    { "kling-v3",          KM_ALL, KM_3_15, { 0.6, 0.8 }, "yes", EST, false, true },
    { "kling-v3-omni",     KM_ALL, KM_3_15, { 0.6, 0.8 }, "yes", EST, false, true },
    { "kling-video-o1",    KM_ALL, KM_5_10, { 0.6, 0.8 }, "no",  EST, false, true },
    { "kling-v1",          KM_ALL, KM_5_10, { 0.2, 0.7 }, "no",  PUB, true, false },
    { "kling-v1-6",        KM_ALL, KM_5_10, { 0.4, 0.7 }, "no",  PUB, true, false },
    { "kling-v2-master",   KM_T2V | KM_I2V, KM_5_10, { 2, 2 }, "no", PUB, true, false },
    { "kling-v2-1-master", KM_T2V | KM_I2V, KM_5_10, { 2, 2 }, "no", PUB, true, false },
};
#undef PUB
#undef EST

static const char *const aspect_ratios[] = { "16:9", "9:16", "1:1" };

static const kling_model *model_find(const char *name)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(models); i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

/* The live models that pass ok (NULL: all), joined with ", ". */
static char *model_names(bool (*ok)(const kling_model *))
{
    char buf[512] = "";
    for (size_t i = 0; i < VB_ARRAY_LEN(models); i++) {
        if (models[i].discontinued || (ok && !ok(&models[i])))
            continue;
        if (*buf)
            strncat(buf, ", ", sizeof buf - strlen(buf) - 1);
        strncat(buf, models[i].name, sizeof buf - strlen(buf) - 1);
    }
    return vb_xstrdup(buf);
}

static bool takes_t2v(const kling_model *m) { return m->kinds & KM_T2V; }
static bool takes_i2v(const kling_model *m) { return m->kinds & KM_I2V; }
static bool takes_tail(const kling_model *m) { return m->kinds & KM_TAIL; }

static int mode_index(const char *mode)
{
    return strcmp(mode, "pro") == 0 ? 1 : strcmp(mode, "std") == 0 ? 0 : -1;
}

/* "5 or 10" or "3 to 15": the durations a model makes. */
static void durations_text(unsigned d, char *buf, size_t n)
{
    int lo = 0, hi = 0, count = 0;
    for (int s = 1; s < 32; s++)
        if (d & KM_DUR(s)) {
            lo = lo ? lo : s;
            hi = s;
            count++;
        }
    if (count == hi - lo + 1 && count > 2)
        snprintf(buf, n, "%d to %d", lo, hi);
    else if (count == 2)
        snprintf(buf, n, "%d or %d", lo, hi);
    else
        snprintf(buf, n, "%d", lo);
}

static char *kling_models_hint(void)
{
    char *live = model_names(NULL);
    char *s = vb_xasprintf("the Kling models vbatch knows: %s", live);
    free(live);
    return s;
}

/* The model as a row of the table, or -1 with e set. */
static int model_check(const gen_job *j, const kling_model **out, vb_error *e)
{
    const kling_model *m = model_find(j->model);
    char *names = NULL;
    int rc = -1;
    if (!m) {
        names = model_names(NULL);
        vb_fail(e, VB_ERR_USAGE, "model: '%s' is not a Kling model (known: %s)", j->model,
                names);
    } else if (m->discontinued) {
        names = model_names(NULL);
        vb_fail(e, VB_ERR_USAGE, "model: %s is discontinued by Kling (answered 1203, "
                "resource does not exist); live models: %s", j->model, names);
    } else if ((j->kind == GEN_T2V && !takes_t2v(m)) || (j->kind == GEN_I2V && !takes_i2v(m))) {
        names = model_names(j->kind == GEN_T2V ? takes_t2v : takes_i2v);
        vb_fail(e, VB_ERR_USAGE, "model: %s does not do %s (those that do: %s)", j->model,
                j->kind == GEN_T2V ? "text-to-video (a row without image)" : "image-to-video",
                names);
    } else if (j->image_tail && !takes_tail(m)) {
        names = model_names(takes_tail);
        vb_fail(e, VB_ERR_USAGE, "image_tail: %s takes no last frame (those that do: %s)",
                j->model, names);
    } else {
        *out = m;
        rc = 0;
    }
    free(names);
    return rc;
}

static int kling_validate(const gen_job *j, const vb_config *c, vb_error *e)
{
    (void)c;
    const kling_model *m = NULL;
    if (model_check(j, &m, e) != 0)
        return -1;
    int mi = mode_index(j->mode);
    if (mi < 0 || m->per_s[mi] <= 0)
        return vb_fail(e, VB_ERR_USAGE, "mode: %s is not offered by %s%s", j->mode, j->model,
                       m->per_s[1] > 0 ? " (use pro)" : "");
    if (j->duration < 1 || j->duration > 31 || !(m->durations & KM_DUR(j->duration))) {
        char d[32];
        durations_text(m->durations, d, sizeof d);
        return vb_fail(e, VB_ERR_USAGE, "duration: %d s (%s makes %s)", j->duration, j->model,
                       d);
    }
    if (j->aspect_ratio) {
        bool ok = false;
        for (size_t i = 0; i < VB_ARRAY_LEN(aspect_ratios); i++)
            if (strcmp(j->aspect_ratio, aspect_ratios[i]) == 0)
                ok = true;
        if (!ok)
            return vb_fail(e, VB_ERR_USAGE, "aspect_ratio: %s (Kling makes 16:9, 9:16 or 1:1)",
                           j->aspect_ratio);
    }
    if (!isnan(j->cfg_scale) && (j->cfg_scale < 0 || j->cfg_scale > 1))
        return vb_fail(e, VB_ERR_USAGE, "cfg_scale: %g is not between 0 and 1", j->cfg_scale);
    static const struct { const char *name; size_t off; long max; } texts[] = {
        { "prompt", offsetof(gen_job, prompt), KLING_MAX_PROMPT },
        { "negative_prompt", offsetof(gen_job, negative_prompt), KLING_MAX_NEGATIVE },
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(texts); i++) {
        const char *s = *(char *const *)((const char *)j + texts[i].off);
        long n = s ? util_utf8_chars(s) : 0;
        if (n < 0)
            return vb_fail(e, VB_ERR_USAGE, "%s: not valid UTF-8", texts[i].name);
        if (n > texts[i].max)
            return vb_fail(e, VB_ERR_USAGE, "%s: %ld characters, Kling takes at most %ld",
                           texts[i].name, n, texts[i].max);
    }
    return 0;
}

static double kling_estimate_units(const gen_job *j)
{
    const kling_model *m = model_find(j->model);
    int mi = mode_index(j->mode);
    if (!m || m->discontinued || mi < 0 || j->duration < 1 || j->duration > 31 ||
        !(m->durations & KM_DUR(j->duration)))
        return -1;
    /* Rounded to thousandths: 0.7 * 5 is not 3.5 in binary. */
    double u = round(m->per_s[mi] * j->duration * 1000) / 1000;
    return u > 0 ? u : -1;
}

static int kling_check_image(const char *path, int64_t max_pixels, vb_error *e)
{
    image_info in;
    /* Header only, with the pixel cap `process` applies: a PNG whose IHDR
     * claims 100000 x 100000 pixels is small enough for Kling's 10 MB and
     * passes its other limits, but nothing should decode it. */
    if (image_probe(path, max_pixels, &in, e) != 0) {
        if (e && e->code == VB_ERR_LIMIT) {
            char m[sizeof e->msg];
            snprintf(m, sizeof m, "%s", e->msg);
            vb_fail(e, VB_ERR_LIMIT, "%.900s ([qc] image_max_pixels)", m);
        }
        return -1;
    }
    int rc = 0;
    const char *f = in.format ? in.format : "unknown";
    double aspect = in.height > 0 ? (double)in.width / in.height : 0;
    if (strcmp(f, "jpeg") != 0 && strcmp(f, "png") != 0) {
        rc = vb_fail(e, VB_ERR_MEDIA, "%s image: Kling takes JPEG or PNG", f);
    } else if (in.size > KLING_IMAGE_MAX_BYTES) {
        rc = vb_fail(e, VB_ERR_LIMIT, "%.1f MB: Kling takes at most %d MB",
                     (double)in.size / (1024 * 1024), KLING_IMAGE_MAX_BYTES / (1024 * 1024));
    } else if (in.width < KLING_IMAGE_MIN_SIDE || in.height < KLING_IMAGE_MIN_SIDE) {
        rc = vb_fail(e, VB_ERR_LIMIT, "%d x %d px: Kling needs at least %d px on each side",
                     in.width, in.height, KLING_IMAGE_MIN_SIDE);
    } else if (aspect > KLING_IMAGE_MAX_ASPECT || aspect < 1 / KLING_IMAGE_MAX_ASPECT) {
        rc = vb_fail(e, VB_ERR_LIMIT,
                     "%d x %d px, aspect %.2f:1: Kling takes 1:2.5 to 2.5:1", in.width,
                     in.height, aspect);
    }
    image_info_clear(&in);
    return rc;
}

/* ---- the API calls: requests, replies, the session ---- */

/* A token lives 1800 s; a new one is signed this long before the end so
 * that a request in flight never carries an expired token. */
#define KLING_TOKEN_LIFE 1800.0
#define KLING_TOKEN_MARGIN 300.0

/* A request's timeout when [provider.kling] request_timeout is unset. */
#define KLING_REQUEST_TIMEOUT 30.0

/* Task ids in one batch lookup: kept well under what a URL may carry
 * (Kling publishes no limit; 50 ids of ~20 characters is ~1 KB). */
#define KLING_BATCH_MAX 50

struct provider_session {
    char *api_key;              /* a plain API key (the Bearer token), or */
    char *ak, *sk;              /* the pair a JWT is signed with: secrets, never
                                 * in a message */
    char *line;                 /* "Authorization: Bearer <token>" */
    double expires;
    char *base_url;             /* without trailing '/' */
    double request_timeout;
    int api;                    /* enum kling_api */
    char *callback_url;         /* NULL: none */
};

static provider_endpoint kling_endpoint(const vb_config *c)
{
    provider_endpoint ep = { c->kling.base_url, c->kling.request_timeout };
    return ep;
}

static provider_session *kling_session_new(const vb_config *c, vb_error *e)
{
    provider_session *s = vb_xcalloc(1, sizeof *s);
    const char *kf = c->kling.key_file && c->kling.key_file[0] ? c->kling.key_file : NULL;
    if (jwt_load_credentials(&s->api_key, &s->ak, &s->sk, kf, e) != 0) {
        free(s);
        return NULL;
    }
    s->base_url = provider_base_url(c->kling.base_url);
    s->request_timeout = c->kling.request_timeout > 0 ? c->kling.request_timeout
                                                      : KLING_REQUEST_TIMEOUT;
    s->api = c->kling.api;
    if (c->kling.callback_url && c->kling.callback_url[0])
        s->callback_url = vb_xstrdup(c->kling.callback_url);
    return s;
}

static provider_endpoint kling_session_endpoint(const provider_session *s)
{
    provider_endpoint ep = { s->base_url, s->request_timeout };
    return ep;
}

static void kling_session_free(provider_session **sp)
{
    provider_session *s = *sp;
    if (!s)
        return;
    jwt_wipe(&s->api_key);
    jwt_wipe(&s->ak);
    jwt_wipe(&s->sk);
    jwt_wipe(&s->line);
    free(s->base_url);
    free(s->callback_url);
    free(s);
    *sp = NULL;
}

/* Replace every occurrence of secret in msg by asterisks. */
static void scrub_one(char *msg, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 4) /* "" or a key too short to tell from words */
        return;
    for (char *p = strstr(msg, secret); p; p = strstr(p + n, secret))
        memset(p, '*', n);
}

static void kling_scrub(const provider_session *s, char *msg)
{
    if (!s || !msg)
        return;
    scrub_one(msg, s->api_key);
    scrub_one(msg, s->ak);
    scrub_one(msg, s->sk);
    const char *bearer = s->line ? strstr(s->line, "Bearer ") : NULL;
    if (bearer)
        scrub_one(msg, bearer + 7);
}

static int kling_auth_header(provider_session *s, double now, bool renew, char **line,
                             vb_error *e)
{
    if (s->api_key) {
        /* A plain key never expires: nothing to sign again. */
        if (!s->line)
            s->line = vb_xasprintf("Authorization: Bearer %s", s->api_key);
    } else if (renew || !s->line || now > s->expires - KLING_TOKEN_MARGIN) {
        char *tok = jwt_kling(s->ak, s->sk, (int64_t)now, e);
        if (!tok)
            return -1;
        jwt_wipe(&s->line);
        s->line = vb_xasprintf("Authorization: Bearer %s", tok);
        jwt_wipe(&tok);
        s->expires = now + KLING_TOKEN_LIFE;
    }
    *line = vb_xstrdup(s->line);
    return 0;
}

/* Does this job take the current API style? */
static bool kling_current(const provider_session *s, const gen_job *j)
{
    if (s->api != KLING_API_AUTO)
        return s->api == KLING_API_CURRENT;
    const kling_model *m = model_find(j->model);
    return m && m->current;
}

static bool kling_batchable(const provider_session *s, const gen_job *j)
{
    return kling_current(s, j);
}

static const char *kling_kind(const gen_job *j)
{
    return j->kind == GEN_I2V ? "image2video" : "text2video";
}

static void kling_set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

/* A path segment or query value, percent-encoded (ids and model names
 * come from replies and rows: never trusted to be URL-safe). */
static void kling_escape(char *out, size_t n, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && k + 4 < n; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    out[k] = '\0';
}

/* The body of a current-style create: the model is in the path. */
static json_t *kling_current_body(const provider_session *s, const gen_job *j,
                                  const char *external_id, const char *image_b64,
                                  const char *tail_b64)
{
    json_t *o = json_object();
    kling_set_str(o, "prompt", j->prompt);
    kling_set_str(o, "negative_prompt", j->negative_prompt);
    if (!isnan(j->cfg_scale))
        json_object_set_new(o, "cfg_scale", json_real(j->cfg_scale));
    kling_set_str(o, "image", image_b64);
    kling_set_str(o, "image_tail", tail_b64);
    json_t *set = json_object();
    /* std is Kling's 720p, pro its 1080p. */
    json_object_set_new(set, "resolution",
                        json_string(strcmp(j->mode, "pro") == 0 ? "1080p" : "720p"));
    if (!image_b64)
        kling_set_str(set, "aspect_ratio", j->aspect_ratio);
    json_object_set_new(set, "duration", json_integer(j->duration));
    json_object_set_new(o, "settings", set);
    json_t *opt = json_object();
    kling_set_str(opt, "external_task_id", external_id);
    kling_set_str(opt, "callback_url", s->callback_url);
    json_object_set_new(o, "options", opt);
    return o;
}

static int kling_create_request(const provider_session *s, const gen_job *j,
                                const char *external_id, const char *image_b64,
                                const char *tail_b64, char **path, char **body, vb_error *e)
{
    json_t *o;
    if (kling_current(s, j)) {
        o = kling_current_body(s, j, external_id, image_b64, tail_b64);
        char m[256];
        kling_escape(m, sizeof m, j->model);
        *path = vb_xasprintf("/%s/%s", j->kind == GEN_I2V ? "image-to-video" : "text-to-video",
                             m);
    } else {
        o = json_object();
        kling_set_str(o, "model_name", j->model);
        kling_set_str(o, "prompt", j->prompt);
        kling_set_str(o, "negative_prompt", j->negative_prompt);
        if (!isnan(j->cfg_scale))
            json_object_set_new(o, "cfg_scale", json_real(j->cfg_scale));
        kling_set_str(o, "mode", j->mode);
        if (!image_b64)
            kling_set_str(o, "aspect_ratio", j->aspect_ratio);
        /* The legacy API wants the duration as a string. */
        char dur[16];
        snprintf(dur, sizeof dur, "%d", j->duration);
        json_object_set_new(o, "duration", json_string(dur));
        kling_set_str(o, "image", image_b64);
        kling_set_str(o, "image_tail", tail_b64);
        kling_set_str(o, "external_task_id", external_id);
        kling_set_str(o, "callback_url", s->callback_url);
        *path = vb_xasprintf("/v1/videos/%s", kling_kind(j));
    }
    *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!*body) {
        free(*path);
        *path = NULL;
        return vb_fail(e, VB_ERR_INTERNAL, "cannot encode the request");
    }
    return 0;
}

/* GET /tasks?task_ids=a,b (or external_task_ids): the current style's
 * lookup, for one task or many. */
static char *kling_tasks_path(const char *const *ids, size_t n, bool external)
{
    size_t cap = 64 + n * 3 * 64, len;
    char *p = vb_xmalloc(cap);
    len = (size_t)snprintf(p, cap, "/tasks?%s=", external ? "external_task_ids" : "task_ids");
    for (size_t i = 0; i < n; i++) {
        char one[3 * 64 + 1];
        kling_escape(one, sizeof one, ids[i]);
        len += (size_t)snprintf(p + len, cap - len, "%s%s", i ? "," : "", one);
    }
    return p;
}

static char *kling_batch_path(const provider_session *s, const char *const *ids, size_t n)
{
    (void)s;
    return kling_tasks_path(ids, n, false);
}

static char *kling_query_path(const provider_session *s, const gen_job *j, const char *id,
                              bool external)
{
    if (kling_current(s, j))
        return kling_tasks_path(&id, 1, external);
    char e[3 * 64 + 1];
    kling_escape(e, sizeof e, id);
    return vb_xasprintf("/v1/videos/%s/%s", kling_kind(j), e);
}

static char *kling_dup(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return vb_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return vb_xasprintf("%lld", (long long)json_integer_value(v));
    return NULL;
}

static double kling_num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        if (end != json_string_value(v) && *end == '\0')
            return d;
    }
    return NAN;
}

/* What a code in the body means (Kling's published error codes). On a
 * create, 1203 (resource does not exist) and 1103 (no access to the
 * resource) are about the model: discontinued, or not open to this
 * account; the job is refused, nothing was created. */
static int kling_code_verdict(int call, long code, long http)
{
    if (call == PC_CREATE && (code == 1203 || code == 1103))
        return PV_MODEL;
    switch (code) {
    case 0: return PV_OK;
    case 1004: return PV_AUTH_EXPIRED;           /* token expired */
    case 1000: case 1001: case 1002: case 1003:  /* bad / missing / not yet valid */
        return code == 1003 ? PV_AUTH_EXPIRED : PV_AUTH;
    case 1100: case 1101: case 1102: return PV_NO_CREDIT; /* account, arrears, no units */
    case 1103: return PV_AUTH;                   /* no access to this resource */
    case 1203: return http == 404 ? PV_NOT_FOUND : PV_REJECTED;
    case 1200: case 1201: case 1202: return PV_REJECTED;
    case 1300: case 1301: return PV_REJECTED;    /* platform / content policy */
    case 1302: return PV_RATE;                   /* requests too fast */
    case 1303: return PV_CONCURRENCY;            /* too many tasks at once */
    case 1304: return PV_AUTH;                   /* IP not allowed */
    default:
        if (code >= 5000 && code < 6000)
            return PV_TRANSIENT;
        return -1;
    }
}

/* Either style's status words. */
static int kling_status(const char *s)
{
    if (!s)
        return PT_UNKNOWN;
    if (!strcmp(s, "submitted"))
        return PT_SUBMITTED;
    if (!strcmp(s, "processing"))
        return PT_PROCESSING;
    if (!strcmp(s, "succeed") || !strcmp(s, "succeeded"))
        return PT_SUCCEED;
    if (!strcmp(s, "failed"))
        return PT_FAILED;
    return PT_UNKNOWN;
}

/* Units charged: final_unit_deduction (legacy), or the sum of the
 * billing lines charged to a resource pack (current); NAN if none. */
static double kling_units(json_t *d)
{
    double u = kling_num(d, "final_unit_deduction");
    json_t *bill = json_object_get(d, "billing");
    if (!isnan(u) || !json_is_array(bill))
        return u;
    size_t i;
    json_t *b;
    json_array_foreach(bill, i, b) {
        json_t *ct = json_object_get(b, "charge_type");
        double a = kling_num(b, "amount");
        if (json_is_string(ct) && !strcmp(json_string_value(ct), "unit") && !isnan(a))
            u = isnan(u) ? a : u + a;
    }
    return u;
}

/* One task object of a reply, either style, into r. */
static void kling_task(json_t *d, provider_reply *r)
{
    r->task_id = kling_dup(d, "task_id");
    json_t *st = json_object_get(d, "task_status");
    if (!st)
        st = json_object_get(d, "status");
    r->status = kling_status(json_is_string(st) ? json_string_value(st) : NULL);
    r->status_msg = kling_dup(d, "task_status_msg");
    if (!r->status_msg)
        r->status_msg = kling_dup(d, "status_msg");
    json_t *info = json_object_get(d, "task_info");
    r->external_id = json_is_object(info) ? kling_dup(info, "external_task_id")
                                          : kling_dup(d, "external_task_id");
    r->units = kling_units(d);
    if (r->status == PT_SUCCEED || r->status == PT_FAILED) {
        /* created_at and updated_at (ms): the generation time on the
         * provider's clock, exact where the poll times only bracket it.
         * Hostile input: anything but 0 < d <= a week is ignored. */
        double c = kling_num(d, "created_at"), u = kling_num(d, "updated_at");
        double took = (u - c) / 1000;
        if (isfinite(took) && took > 0 && took <= 7 * 86400.0)
            r->gen_seconds = took;
    }
    json_t *res = json_object_get(d, "task_result");
    if (!json_is_object(res))
        res = json_object_get(d, "outputs");
    json_t *vids = json_is_object(res) ? json_object_get(res, "videos") : NULL;
    json_t *v0 = json_is_array(vids) ? json_array_get(vids, 0) : NULL;
    if (json_is_object(v0)) {
        r->video_url = kling_dup(v0, "url");
        r->video_id = kling_dup(v0, "id");
        r->video_duration = kling_num(v0, "duration");
    }
}

static void kling_reply_init(provider_reply *r)
{
    provider_reply_clear(r);
    r->code = -1;
    r->video_duration = NAN;
    r->units = NAN;
}

/* The envelope {code, message, request_id, data}: the verdict into r,
 * the parsed root returned (NULL when there is no JSON object). */
static json_t *kling_envelope(int call, long http, int curl_code, const char *body,
                              size_t len, provider_reply *r)
{
    kling_reply_init(r);
    if (curl_code != 0) {
        r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "no reply (transfer failed)");
        return NULL;
    }
    json_error_t je;
    json_t *root = body && len ? json_loadb(body, len, 0, &je) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        /* No readable body: the HTTP status alone decides. */
        if (http == 429)
            r->verdict = PV_RATE;
        else if (http == 401)
            r->verdict = PV_AUTH_EXPIRED;
        else if (http == 403)
            r->verdict = PV_AUTH; /* a gateway refusing us, not one job */
        else if (http == 404)
            r->verdict = PV_NOT_FOUND;
        else if (http >= 400 && http < 500 && http != 408)
            r->verdict = PV_REJECTED;
        else
            r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "HTTP %ld with %s", http,
                 body && len ? "a reply that is not JSON" : "an empty reply");
        return NULL;
    }
    json_t *code = json_object_get(root, "code");
    r->code = json_is_integer(code) ? (long)json_integer_value(code) : -1;
    json_t *m = json_object_get(root, "message");
    r->request_id = kling_dup(root, "request_id");
    int v = r->code >= 0 ? kling_code_verdict(call, r->code, http) : -1;
    if (v < 0) {
        /* An unknown code, or none: the HTTP status decides. */
        if (http >= 200 && http < 300 && r->code <= 0)
            v = PV_OK;
        else if (http == 429)
            v = PV_RATE;
        else if (http == 404)
            v = PV_NOT_FOUND;
        else if (http >= 500 || http == 408 || http == 0)
            v = PV_TRANSIENT;
        else if (http == 401 || http == 403)
            v = PV_AUTH;
        else
            v = PV_REJECTED;
    }
    const char *mtext = json_is_string(m) ? json_string_value(m) : "";
    if (v == PV_REJECTED && strstr(mtext, "external_task_id"))
        /* The external id is taken: that task exists (an earlier create
         * whose answer was lost); look it up. */
        v = PV_DUPLICATE;
    r->verdict = v;
    if (v != PV_OK)
        snprintf(r->msg, sizeof r->msg, "code %ld%s%s (HTTP %ld)", r->code,
                 mtext[0] ? ": " : "", mtext, http);
    return root;
}

static void kling_parse_reply(int call, long http, int curl_code, const char *body,
                              size_t len, provider_reply *r)
{
    json_t *root = kling_envelope(call, http, curl_code, body, len, r);
    if (!root)
        return;
    json_t *d = json_object_get(root, "data");
    if (json_is_array(d)) {
        /* A current-style lookup of one task: the list holds it, or
         * nothing when the provider does not know it. */
        if (r->verdict == PV_OK && json_array_size(d) == 0) {
            r->verdict = PV_NOT_FOUND;
            snprintf(r->msg, sizeof r->msg, "no such task (HTTP %ld)", http);
        }
        d = json_array_get(d, 0);
    }
    if (r->verdict == PV_OK && !json_is_object(d)) {
        r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "HTTP %ld: a reply without data", http);
    }
    if (json_is_object(d)) {
        kling_task(d, r);
        if (r->verdict == PV_OK && !r->task_id) {
            r->verdict = PV_TRANSIENT;
            snprintf(r->msg, sizeof r->msg, "HTTP %ld: a reply without a task id", http);
        }
    }
    json_decref(root);
}

static void kling_parse_batch(long http, int curl_code, const char *body, size_t len,
                              provider_reply *all, provider_reply **tasks, size_t *n)
{
    *tasks = NULL;
    *n = 0;
    json_t *root = kling_envelope(PC_QUERY, http, curl_code, body, len, all);
    if (!root)
        return;
    json_t *d = json_object_get(root, "data");
    if (all->verdict == PV_OK && !json_is_array(d)) {
        all->verdict = PV_TRANSIENT;
        snprintf(all->msg, sizeof all->msg, "HTTP %ld: a lookup reply without a task list",
                 http);
    }
    if (all->verdict == PV_OK) {
        size_t cnt = json_array_size(d), k = 0;
        *tasks = vb_xcalloc(cnt ? cnt : 1, sizeof **tasks);
        for (size_t i = 0; i < cnt; i++) {
            json_t *t = json_array_get(d, i);
            if (!json_is_object(t))
                continue;
            provider_reply *r = &(*tasks)[k];
            kling_reply_init(r);
            kling_task(t, r);
            if (!r->task_id) { /* nothing to match it with */
                provider_reply_clear(r);
                continue;
            }
            r->verdict = PV_OK;
            r->code = 0;
            k++;
        }
        *n = k;
    }
    json_decref(root);
}

/* ---- the resource packs: GET /account/costs ---- */

/* Packs bought this long ago at most are asked for (they last 30 or 90
 * days; a year leaves room for the longest). */
#define KLING_PACKS_WINDOW_MS (366LL * 24 * 3600 * 1000)

static char *kling_balance_path(const provider_session *s, double now)
{
    (void)s;
    long long end = (long long)(now * 1000);
    return vb_xasprintf("/account/costs?start_time=%lld&end_time=%lld",
                        end - KLING_PACKS_WINDOW_MS, end);
}

/* Is pack p one video generation is paid from? Its resource_type when
 * it has one, else its name ("Video Generation - 10,000 entries"). */
static bool kling_video_pack(json_t *p)
{
    json_t *rt = json_object_get(p, "resource_type");
    if (json_is_string(rt))
        return strcmp(json_string_value(rt), "video") == 0;
    json_t *n = json_object_get(p, "resource_pack_name");
    const char *name = json_is_string(n) ? json_string_value(n) : "";
    for (const char *c = name; *c; c++)
        if (strncasecmp(c, "video", 5) == 0)
            return true;
    return false;
}

/* The units left in the video packs in effect (status online, not past
 * their invalid_time). Kling's remaining_quantity lags by up to 12 h:
 * the figure is an upper bound of what is left, which is what a refusal
 * to start needs (never refuse a batch that could be paid). */
static void kling_parse_balance(long http, int curl_code, const char *body, size_t len,
                                double now, provider_reply *r, double *left)
{
    *left = 0;
    json_t *root = kling_envelope(PC_QUERY, http, curl_code, body, len, r);
    if (!root)
        return;
    json_t *d = json_object_get(root, "data");
    json_t *packs = json_is_object(d) ? json_object_get(d, "resource_pack_subscribe_infos")
                                      : NULL;
    if (r->verdict == PV_OK && !json_is_array(packs)) {
        r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "HTTP %ld: a reply without resource packs", http);
    }
    if (r->verdict == PV_OK) {
        int counted = 0, skipped = 0;
        size_t i;
        json_t *p;
        json_array_foreach(packs, i, p) {
            json_t *st = json_object_get(p, "status");
            double q = kling_num(p, "remaining_quantity");
            double until = kling_num(p, "invalid_time");
            bool live = json_is_string(st) && !strcmp(json_string_value(st), "online") &&
                        (isnan(until) || until > now * 1000);
            if (!kling_video_pack(p))
                continue;
            if (live && !isnan(q) && q > 0) {
                *left += q;
                counted++;
            } else {
                skipped++;
            }
        }
        snprintf(r->msg, sizeof r->msg, "%d video resource pack%s in effect%s", counted,
                 counted == 1 ? "" : "s",
                 skipped ? " (others expired, used up or not yet in effect)" : "");
    }
    json_decref(root);
}

const provider provider_kling = {
    .name = "kling",
    .units = "units",
    .keys_hint = "KLING_API_KEY, or KLING_ACCESS_KEY and KLING_SECRET_KEY (or [provider.kling]"
                 " key_file)",
    .models_hint = kling_models_hint,
    .validate = kling_validate,
    .estimate_units = kling_estimate_units,
    .check_image = kling_check_image,
    .endpoint = kling_endpoint,
    .session_new = kling_session_new,
    .session_free = kling_session_free,
    .session_endpoint = kling_session_endpoint,
    .auth_header = kling_auth_header,
    .create_request = kling_create_request,
    .query_path = kling_query_path,
    .batch_max = KLING_BATCH_MAX,
    .batchable = kling_batchable,
    .batch_path = kling_batch_path,
    .parse_batch = kling_parse_batch,
    .parse_reply = kling_parse_reply,
    .balance_path = kling_balance_path,
    .parse_balance = kling_parse_balance,
    .balance_interval = 1.0, /* "QPS <= 1", Kling's account API */
    .scrub = kling_scrub,
};
