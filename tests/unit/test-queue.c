/* test-queue.c - the pure parts of the queue (queue.h): queue URLs parsed
 * (host, port, database, name, user, password with %XX escapes), the
 * malformed ones refused with messages that never hold the password, the
 * URL as shown without its credentials; the settings enqueue stores read
 * back, and hostile ones refused (report_queue_settings_parse); the shared
 * limiter's reply read (queue_gen_acquire_parse): a wait kept within
 * 1 ms .. 60 s whatever Redis says, anything else refused. */
#include "config.h"
#include "queue.h"
#include "preset.h"
#include "report.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void acquire_replies(void)
{
    int got = -1;
    double w = -1;
    CHECK_INT(queue_gen_acquire_parse("1", "0", &got, &w), 0);
    CHECK_INT(got, 1);
    CHECK(w == 0);
    CHECK_INT(queue_gen_acquire_parse("0", "0.25", &got, &w), 0);
    CHECK_INT(got, 0);
    CHECK(w > 0.2499 && w < 0.2501);
    /* Never a spin (a wait of 0 or less), never a stall. */
    CHECK_INT(queue_gen_acquire_parse("0", "-3", &got, &w), 0);
    CHECK(w == 0.001);
    CHECK_INT(queue_gen_acquire_parse("0", "0", &got, &w), 0);
    CHECK(w == 0.001);
    CHECK_INT(queue_gen_acquire_parse("0", "1e9", &got, &w), 0);
    CHECK(w == 60.0);
    CHECK_INT(queue_gen_acquire_parse("0", "nan", &got, &w), -1);
    CHECK_INT(queue_gen_acquire_parse("0", "inf", &got, &w), -1);
    CHECK_INT(queue_gen_acquire_parse("0", "", &got, &w), -1);
    CHECK_INT(queue_gen_acquire_parse("0", "1s", &got, &w), -1);
    CHECK_INT(queue_gen_acquire_parse("2", "0", &got, &w), -1);
    CHECK_INT(queue_gen_acquire_parse("", "0", &got, &w), -1);
    CHECK_INT(queue_gen_acquire_parse(NULL, "0", &got, &w), -1);
    CHECK_INT(queue_gen_acquire_parse("1", NULL, &got, &w), -1);
}

static void good(const char *url, const char *host, int port, int db, const char *name,
                 const char *user, const char *password)
{
    queue_url u;
    vb_error e = {0};
    CHECK_INT(queue_url_parse(url, &u, &e), 0);
    CHECK_STR(u.host, host);
    CHECK_INT(u.port, port);
    CHECK_INT(u.db, db);
    CHECK_STR(u.name, name);
    if (user)
        CHECK_STR(u.user, user);
    else
        CHECK(u.user == NULL);
    if (password)
        CHECK_STR(u.password, password);
    else
        CHECK(u.password == NULL);
    char *shown = queue_url_display(&u);
    CHECK(strstr(shown, "@") == NULL);
    CHECK(!password || strstr(shown, password) == NULL);
    free(shown);
    queue_url_clear(&u);
}

static void bad(const char *url, const char *secret)
{
    queue_url u;
    vb_error e = {0};
    CHECK_INT(queue_url_parse(url, &u, &e), -1);
    CHECK_INT(e.code, VB_ERR_USAGE);
    CHECK(e.msg[0] != '\0');
    CHECK(!secret || strstr(e.msg, secret) == NULL);
    CHECK(u.host == NULL && u.password == NULL);
}

static void settings(void)
{
    vb_config c;
    preset_defaults(&c);
    c.analyse.enabled = true;
    vb_strlist in = {0};
    vb_strlist_add(&in, "/media/in");
    char *json = report_queue_settings(&c, "vbatch enqueue /media/in", &in, 30, 4);
    report_queued q;
    vb_error e = {0};
    CHECK_INT(report_queue_settings_parse(json, "queue t", &q, &e), 0);
    CHECK_NEAR(q.visibility, 30, 1e-9);
    CHECK_INT(q.max_deliveries, 4);
    CHECK_INT(q.inputs.n, 1);
    CHECK_STR(q.command_line, "vbatch enqueue /media/in");
    vb_config back;
    preset_defaults(&back);
    CHECK_INT(report_config_from_json(q.config_json, "queue t", &back, &e), 0);
    CHECK(back.analyse.enabled);
    preset_free_contents(&back);
    report_queued_clear(&q);
    free(json);
    vb_strlist_clear(&in);
    preset_free_contents(&c);

    static const char *const hostile[] = {
        "", "[]", "{\"version\":2}", "not json",
        "{\"version\":1,\"config\":{},\"visibility\":0,\"max_deliveries\":3}",
        "{\"version\":1,\"config\":{},\"visibility\":10,\"max_deliveries\":-1}",
        "{\"version\":1,\"config\":[],\"visibility\":10,\"max_deliveries\":3}",
        "{\"version\":1,\"config\":{},\"visibility\":\"10\",\"max_deliveries\":3}",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        vb_error he = {0};
        CHECK_INT(report_queue_settings_parse(hostile[i], "queue t", &q, &he), -1);
        CHECK(strstr(he.msg, "queue t") != NULL);
    }
    /* Settings that would smuggle an INI line in do not come back. */
    preset_defaults(&back);
    vb_error se = {0};
    CHECK_INT(report_config_from_json("{\"qc\":{\"duration_min\":\"1\\n[batch]\\njobs = 9\"}}",
                                      "queue t", &back, &se), -1);
    CHECK_INT(report_config_from_json("{\"qc\":5}", "queue t", &back, &se), -1);
    preset_free_contents(&back);
}

int main(void)
{
    good("redis://127.0.0.1:6380/2/videos", "127.0.0.1", 6380, 2, "videos", NULL, NULL);
    good("redis://redis/0/q", "redis", 6379, 0, "q", NULL, NULL);
    good("redis://:s3cret@redis:7000/1/batch:one", "redis", 7000, 1, "batch:one", NULL,
         "s3cret");
    good("redis://worker:p%40ss%2Fw@host.example/3/q-1_a.b", "host.example", 6379, 3,
         "q-1_a.b", "worker", "p@ss/w");
    good("redis://ops@10.0.0.5:6379/0/q", "10.0.0.5", 6379, 0, "q", "ops", NULL);
    /* The last '@' before the path ends the credentials. */
    good("redis://:a@b@h:1/0/q", "h", 1, 0, "q", NULL, "a@b");

    bad("http://h/0/q", NULL);
    bad("redis://h", NULL);
    bad("redis://h/0", NULL);
    bad("redis://h/0/", NULL);
    bad("redis://h/x/q", NULL);
    bad("redis://h/-1/q", NULL);
    bad("redis://h:0/0/q", NULL);
    bad("redis://h:99999/0/q", NULL);
    bad("redis://h:12ab/0/q", NULL);
    bad("redis://:topsecret@/0/q", "topsecret");
    bad("redis://:topsecret@h:bad/0/q", "topsecret");
    bad("redis://:topsecret@h/0/a b", "topsecret");
    bad("redis://h/0/q/../x", NULL);
    bad("redis://ho st/0/q", NULL);
    settings();
    acquire_replies();
    return check_result("test-queue");
}
