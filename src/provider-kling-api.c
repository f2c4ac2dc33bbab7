/* Kling's API calls: the create and query requests, the replies, and the
 * JWT session. (Merged into provider-kling.c.) */
#include "config.h"
#include "provider.h"
#include "jwt.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A token lives 1800 s; a new one is signed this long before the end so
 * that a request in flight never carries an expired token. */
#define KLING_TOKEN_LIFE 1800.0
#define KLING_TOKEN_MARGIN 300.0

struct provider_session {
    char *ak, *sk;              /* secrets: never in a message */
    char *line;                 /* "Authorization: Bearer <jwt>" */
    double expires;
};

static provider_session *kling_session_new(const vb_config *c, vb_error *e)
{
    provider_session *s = vb_xcalloc(1, sizeof *s);
    const char *kf = c->kling.key_file && c->kling.key_file[0] ? c->kling.key_file : NULL;
    if (jwt_load_keys(&s->ak, &s->sk, kf, e) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void kling_session_free(provider_session **sp)
{
    provider_session *s = *sp;
    if (!s)
        return;
    jwt_wipe(&s->ak);
    jwt_wipe(&s->sk);
    jwt_wipe(&s->line);
    free(s);
    *sp = NULL;
}

static int kling_auth_header(provider_session *s, double now, bool renew, char **line,
                             vb_error *e)
{
    if (renew || !s->line || now > s->expires - KLING_TOKEN_MARGIN) {
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

static const char *kling_kind(const gen_job *j)
{
    return j->image && j->image[0] ? "image2video" : "text2video";
}

static void kling_set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

static int kling_create_request(const gen_job *j, const char *external_id,
                                const char *image_b64, const char *tail_b64, char **path,
                                char **body, vb_error *e)
{
    json_t *o = json_object();
    kling_set_str(o, "model_name", j->model);
    kling_set_str(o, "prompt", j->prompt);
    kling_set_str(o, "negative_prompt", j->negative_prompt);
    if (!isnan(j->cfg_scale))
        json_object_set_new(o, "cfg_scale", json_real(j->cfg_scale));
    kling_set_str(o, "mode", j->mode);
    if (!image_b64)
        kling_set_str(o, "aspect_ratio", j->aspect_ratio);
    /* The API wants the duration as a string. */
    char dur[16];
    snprintf(dur, sizeof dur, "%d", j->duration);
    json_object_set_new(o, "duration", json_string(dur));
    kling_set_str(o, "image", image_b64);
    kling_set_str(o, "image_tail", tail_b64);
    kling_set_str(o, "external_task_id", external_id);
    *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!*body)
        return vb_fail(e, VB_ERR_INTERNAL, "cannot encode the request");
    *path = vb_xasprintf("/v1/videos/%s", kling_kind(j));
    return 0;
}

static char *kling_query_path(const gen_job *j, const char *id)
{
    return vb_xasprintf("/v1/videos/%s/%s", kling_kind(j), id);
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

/* What a code in the body means (Kling's published error codes). */
static int kling_code_verdict(long code, long http)
{
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

static int kling_status(const char *s)
{
    if (!s)
        return PT_UNKNOWN;
    if (!strcmp(s, "submitted"))
        return PT_SUBMITTED;
    if (!strcmp(s, "processing"))
        return PT_PROCESSING;
    if (!strcmp(s, "succeed"))
        return PT_SUCCEED;
    if (!strcmp(s, "failed"))
        return PT_FAILED;
    return PT_UNKNOWN;
}

static void kling_parse_reply(long http, int curl_code, const char *body, size_t len,
                              provider_reply *r)
{
    provider_reply_clear(r);
    r->code = -1;
    r->video_duration = NAN;
    r->units = NAN;
    if (curl_code != 0) {
        r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "no reply (transfer failed)");
        return;
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
        else if (http == 404)
            r->verdict = PV_NOT_FOUND;
        else if (http >= 400 && http < 500 && http != 408)
            r->verdict = PV_REJECTED;
        else
            r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "HTTP %ld with %s", http,
                 body && len ? "a reply that is not JSON" : "an empty reply");
        return;
    }
    json_t *code = json_object_get(root, "code");
    r->code = json_is_integer(code) ? (long)json_integer_value(code) : -1;
    json_t *m = json_object_get(root, "message");
    r->request_id = kling_dup(root, "request_id");
    int v = r->code >= 0 ? kling_code_verdict(r->code, http) : -1;
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
        else if (http == 401)
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

    json_t *d = json_object_get(root, "data");
    if (v == PV_OK && !json_is_object(d)) {
        r->verdict = PV_TRANSIENT;
        snprintf(r->msg, sizeof r->msg, "HTTP %ld: a reply without data", http);
    }
    if (json_is_object(d)) {
        r->task_id = kling_dup(d, "task_id");
        json_t *st = json_object_get(d, "task_status");
        r->status = kling_status(json_is_string(st) ? json_string_value(st) : NULL);
        r->status_msg = kling_dup(d, "task_status_msg");
        json_t *info = json_object_get(d, "task_info");
        if (json_is_object(info))
            r->external_id = kling_dup(info, "external_task_id");
        r->units = kling_num(d, "final_unit_deduction");
        json_t *res = json_object_get(d, "task_result");
        json_t *vids = json_is_object(res) ? json_object_get(res, "videos") : NULL;
        json_t *v0 = json_is_array(vids) ? json_array_get(vids, 0) : NULL;
        if (json_is_object(v0)) {
            r->video_url = kling_dup(v0, "url");
            r->video_id = kling_dup(v0, "id");
            r->video_duration = kling_num(v0, "duration");
        }
        if (r->verdict == PV_OK && !r->task_id) {
            r->verdict = PV_TRANSIENT;
            snprintf(r->msg, sizeof r->msg, "HTTP %ld: a reply without a task id", http);
        }
    }
    json_decref(root);
}
