/* test-fal.c - the fal.ai provider: every reply classified (permanent,
 * transient with Retry-After, may already exist, surely not created),
 * the queue's statuses and results read, the request shape per model
 * (fields named as each model names them, images as data URIs), the
 * paths, and the key kept out of messages. */
#include "config.h"
#include "jobs.h"
#include "preset.h"
#include "provider.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vb_config cfg;

static int verdict(int call, long http, int curl, const char *body)
{
    provider_reply pr = { 0 };
    provider_fal.parse_reply(call, http, curl, body, body ? strlen(body) : 0, &pr);
    int v = pr.verdict;
    provider_reply_clear(&pr);
    return v;
}

static void test_fal_classes(void)
{
    /* libcurl's codes: 6 no such host, 7 connection refused (the request
     * never left); 28 timeout, 52 empty reply, 56 reset (it may have). */
    CHECK_INT(verdict(PC_CREATE, 0, 6, NULL), PV_NOT_SENT);
    CHECK_INT(verdict(PC_CREATE, 0, 7, NULL), PV_NOT_SENT);
    CHECK_INT(verdict(PC_CREATE, 0, 28, NULL), PV_TRANSIENT);
    CHECK_INT(verdict(PC_CREATE, 0, 52, NULL), PV_TRANSIENT);
    CHECK_INT(verdict(PC_CREATE, 0, 56, NULL), PV_TRANSIENT);
    CHECK_INT(verdict(PC_QUERY, 0, 7, NULL), PV_TRANSIENT);
    /* HTTP */
    CHECK_INT(verdict(PC_CREATE, 429, 0, "{\"detail\":\"Rate limit exceeded\"}"), PV_RATE);
    CHECK_INT(verdict(PC_QUERY, 429, 0, ""), PV_RATE);
    CHECK_INT(verdict(PC_CREATE, 401, 0, "{\"detail\":\"Invalid authentication\"}"), PV_AUTH);
    CHECK_INT(verdict(PC_CREATE, 403, 0, "{\"detail\":\"User is locked. Reason: Exhausted "
                                         "balance\"}"), PV_NO_CREDIT);
    CHECK_INT(verdict(PC_CREATE, 403, 0, "{\"detail\":\"Forbidden\"}"), PV_AUTH);
    CHECK_INT(verdict(PC_CREATE, 402, 0, ""), PV_NO_CREDIT);
    CHECK_INT(verdict(PC_CREATE, 404, 0, "{\"detail\":\"Application not found\"}"), PV_MODEL);
    CHECK_INT(verdict(PC_QUERY, 404, 0, "{\"detail\":\"Request not found\"}"), PV_NOT_FOUND);
    CHECK_INT(verdict(PC_CREATE, 422, 0, "{\"detail\":[{\"loc\":[\"body\",\"prompt\"],"
                                         "\"msg\":\"field required\"}]}"), PV_REJECTED);
    CHECK_INT(verdict(PC_CREATE, 400, 0, "{\"detail\":\"bad\"}"), PV_REJECTED);
    CHECK_INT(verdict(PC_CREATE, 500, 0, "{\"detail\":\"Internal\"}"), PV_TRANSIENT);
    CHECK_INT(verdict(PC_CREATE, 502, 0, "<html>bad gateway</html>"), PV_TRANSIENT);
    CHECK_INT(verdict(PC_CREATE, 408, 0, ""), PV_TRANSIENT);
    CHECK_INT(verdict(PC_CREATE, 200, 0, "{\"status\":\"IN_QUEUE\"}"), PV_TRANSIENT); /* no id */
    CHECK_INT(verdict(PC_CREATE, 200, 0, "{\"request_id\":"), PV_TRANSIENT);          /* cut */
    CHECK_INT(verdict(PC_CANCEL, 202, 0, "{\"status\":\"CANCELLATION_REQUESTED\"}"), PV_OK);
    CHECK_INT(verdict(PC_CANCEL, 400, 0, "{\"status\":\"ALREADY_COMPLETED\"}"), PV_REJECTED);
    /* Which refusals prove nothing was made (a worker then drops the
     * create's claim): those before the request left, and every refusal;
     * never one whose answer was lost or cut. */
    CHECK(provider_nothing_created(verdict(PC_CREATE, 0, 7, NULL)));
    CHECK(provider_nothing_created(verdict(PC_CREATE, 0, 6, NULL)));
    CHECK(provider_nothing_created(verdict(PC_CREATE, 429, 0, "")));
    CHECK(provider_nothing_created(verdict(PC_CREATE, 422, 0, "{\"detail\":\"bad\"}")));
    CHECK(provider_nothing_created(verdict(PC_CREATE, 404, 0, "{\"detail\":\"x\"}")));
    CHECK(provider_nothing_created(verdict(PC_CREATE, 402, 0, "")));
    CHECK(provider_nothing_created(verdict(PC_CREATE, 401, 0, "")));
    CHECK(!provider_nothing_created(verdict(PC_CREATE, 0, 28, NULL)));
    CHECK(!provider_nothing_created(verdict(PC_CREATE, 0, 56, NULL)));
    CHECK(!provider_nothing_created(verdict(PC_CREATE, 500, 0, "")));
    CHECK(!provider_nothing_created(verdict(PC_CREATE, 200, 0, "{\"request_id\":")));
    CHECK(!provider_nothing_created(verdict(PC_CREATE, 200, 0, "{\"request_id\":\"r\"}")));
    /* The message names the detail and the status. */
    provider_reply pr = { 0 };
    const char *b = "{\"detail\":[{\"loc\":[\"body\",\"prompt\"],\"msg\":\"field required\"}]}";
    provider_fal.parse_reply(PC_CREATE, 422, 0, b, strlen(b), &pr);
    CHECK(strstr(pr.msg, "field required") && strstr(pr.msg, "422"));
    provider_reply_clear(&pr);
}

static void test_fal_replies(void)
{
    provider_reply pr = { 0 };
    const char *c = "{\"request_id\":\"r-1\",\"status_url\":\"x\",\"queue_position\":2}";
    provider_fal.parse_reply(PC_CREATE, 200, 0, c, strlen(c), &pr);
    CHECK_INT(pr.verdict, PV_OK);
    CHECK_STR(pr.task_id, "r-1");
    CHECK_INT(pr.status, PT_SUBMITTED);
    provider_reply_clear(&pr);
    static const struct { const char *body; int status; long pos; } st[] = {
        { "{\"status\":\"IN_QUEUE\",\"queue_position\":3}", PT_SUBMITTED, 3 },
        { "{\"status\":\"IN_PROGRESS\"}", PT_PROCESSING, -1 },
        { "{\"status\":\"COMPLETED\",\"response_url\":\"u\"}", PT_SUCCEED, -1 },
        { "{\"status\":\"COMPLETED\",\"error\":\"Request cancelled\"}", PT_FAILED, -1 },
        { "{\"status\":\"FAILED\",\"error\":\"boom\"}", PT_FAILED, -1 },
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(st); i++) {
        provider_fal.parse_reply(PC_QUERY, 200, 0, st[i].body, strlen(st[i].body), &pr);
        CHECK_INT(pr.verdict, PV_OK);
        CHECK_INT(pr.status, st[i].status);
        CHECK_INT(pr.queue_position, st[i].pos);
        CHECK(!pr.video_url); /* the status never carries the video */
        provider_reply_clear(&pr);
    }
    const char *odd = "{\"status\":\"SOMETHING\"}";
    provider_fal.parse_reply(PC_QUERY, 200, 0, odd, strlen(odd), &pr);
    CHECK_INT(pr.verdict, PV_TRANSIENT);
    provider_reply_clear(&pr);
    const char *res = "{\"video\":{\"url\":\"https://v3.fal.media/x.mp4\",\"file_size\":9}}";
    provider_fal.parse_reply(PC_RESULT, 200, 0, res, strlen(res), &pr);
    CHECK_INT(pr.verdict, PV_OK);
    CHECK_INT(pr.status, PT_SUCCEED);
    CHECK_STR(pr.video_url, "https://v3.fal.media/x.mp4");
    provider_reply_clear(&pr);
    /* A failed request's result: its error, for good (not retried). */
    const char *bad = "{\"detail\":\"The generation failed\"}";
    provider_fal.parse_reply(PC_RESULT, 422, 0, bad, strlen(bad), &pr);
    CHECK_INT(pr.verdict, PV_OK);
    CHECK_INT(pr.status, PT_FAILED);
    CHECK_STR(pr.status_msg, "The generation failed");
    provider_reply_clear(&pr);
    provider_fal.parse_reply(PC_RESULT, 503, 0, "", 0, &pr);
    CHECK_INT(pr.verdict, PV_TRANSIENT);
    provider_reply_clear(&pr);
}

static gen_job job(const char *model, const char *image, const char *tail)
{
    gen_job j = { 0 };
    j.id = "x";
    j.model = (char *)model;
    j.prompt = "A cat";
    j.duration = 5;
    j.mode = "std";
    j.cfg_scale = NAN;
    j.image = (char *)image;
    j.image_tail = (char *)tail;
    j.kind = image ? GEN_I2V : GEN_T2V;
    return j;
}

static void test_fal_requests(void)
{
    vb_error e = { 0 };
    setenv("FAL_KEY", "unit-fal-key-Z9Q", 1);
    provider_session *s = provider_fal.session_new(&cfg, &e);
    CHECK(s != NULL);
    if (!s)
        return;
    char *line = NULL;
    CHECK_INT(provider_fal.auth_header(s, 0, false, &line, &e), 0);
    CHECK_STR(line, "Authorization: Key unit-fal-key-Z9Q");
    free(line);
    char msg[128] = "echo: unit-fal-key-Z9Q!";
    provider_fal.scrub(s, msg);
    CHECK(!strstr(msg, "unit-fal-key"));

    /* v2.6 names the first frame start_image_url; v1.6 image_url. */
    gen_job j = job("fal-ai/kling-video/v2.6/pro/image-to-video", "a.png", NULL);
    char *path = NULL, *body = NULL;
    CHECK_INT(provider_fal.validate(&j, &cfg, &e), 0);
    CHECK_INT(provider_fal.create_request(s, &j, "vb-x", "iVBORw0KGgoAAAA", NULL, &path, &body,
                                          &e), 0);
    CHECK_STR(path, "/fal-ai/kling-video/v2.6/pro/image-to-video");
    CHECK(strstr(body, "\"start_image_url\":\"data:image/png;base64,iVBORw0KGgoAAAA\""));
    CHECK(strstr(body, "\"duration\":\"5\"") && strstr(body, "\"prompt\":\"A cat\""));
    CHECK(!strstr(body, "vb-x") && !strstr(body, "\"mode\""));
    free(path);
    free(body);
    j = job("fal-ai/kling-video/v1.6/standard/image-to-video", "a.jpg", NULL);
    CHECK_INT(provider_fal.create_request(s, &j, NULL, "/9j/4AAQ", NULL, &path, &body, &e), 0);
    CHECK(strstr(body, "\"image_url\":\"data:image/jpeg;base64,/9j/4AAQ\""));
    CHECK(!strstr(body, "start_image_url"));
    free(path);
    free(body);
    /* Refused before anything is sent: a last frame v2.6 does not read,
     * an unknown model, an image for a text-to-video model. */
    j = job("fal-ai/kling-video/v2.6/pro/image-to-video", "a.png", "b.png");
    CHECK_INT(provider_fal.validate(&j, &cfg, &e), -1);
    CHECK(strstr(e.msg, "image_tail"));
    j = job("fal-ai/kling-video/v3/pro/image-to-video", "a.png", "b.png");
    CHECK_INT(provider_fal.validate(&j, &cfg, &e), 0);
    j = job("fal-ai/unknown/model", "a.png", NULL);
    CHECK_INT(provider_fal.validate(&j, &cfg, &e), -1);
    j = job("fal-ai/kling-video/v2.6/pro/text-to-video", "a.png", NULL);
    CHECK_INT(provider_fal.validate(&j, &cfg, &e), -1);
    j = job("fal-ai/kling-video/v2.6/pro/text-to-video", NULL, NULL);
    j.cfg_scale = 0.5;
    CHECK_INT(provider_fal.validate(&j, &cfg, &e), -1);
    CHECK(strstr(e.msg, "cfg_scale"));
    /* Cost: $0.14/s with audio (fal's default) on v2.6 pro. */
    j = job("fal-ai/kling-video/v2.6/pro/image-to-video", "a.png", NULL);
    j.duration = 10;
    CHECK_NEAR(provider_fal.estimate_units(&j), 1.4, 1e-9);
    /* The queue's paths: the app id without the model's subpath. */
    char *q = provider_fal.query_path(s, &j, "r/1", false);
    CHECK_STR(q, "/fal-ai/kling-video/requests/r%2F1/status");
    free(q);
    q = provider_fal.result_path(s, &j, "r1");
    CHECK_STR(q, "/fal-ai/kling-video/requests/r1");
    free(q);
    q = provider_fal.cancel_path(s, &j, "r1");
    CHECK_STR(q, "/fal-ai/kling-video/requests/r1/cancel");
    free(q);
    CHECK(provider_fal.no_lookup);
    CHECK_STR(provider_fal.default_model(&cfg), PROVIDER_FAL_MODEL);
    provider_fal.session_free(&s);
    CHECK(s == NULL);
    /* No key: a configuration error naming where keys come from. */
    unsetenv("FAL_KEY");
    CHECK(provider_fal.session_new(&cfg, &e) == NULL);
    CHECK(strstr(e.msg, "FAL_KEY"));
}

int main(void)
{
    preset_defaults(&cfg);
    test_fal_classes();
    test_fal_replies();
    test_fal_requests();
    preset_free_contents(&cfg);
    return check_result("test-fal");
}
