/* test-util.c - the small pure helpers of the user-facing messages: edit
 * distance and "did you mean" (keys, commands, options), the one
 * sanitiser of what reaches a terminal, a rule named with its value and
 * limit. */
#include "config.h"
#include "check.h"
#include "cmd.h"
#include "msg.h"
#include "report.h"
#include "rules.h"
#include "util.h"

#include <stdlib.h>
#include <time.h>

static void test_suggest(void)
{
    CHECK_INT(util_edit_distance("process", "process"), 0);
    CHECK_INT(util_edit_distance("proces", "process"), 1);
    CHECK_INT(util_edit_distance("PROCESS", "process"), 0);
    CHECK_INT(util_edit_distance("recurisve", "recursive"), 2);
    const char *const opts[] = { "output", NULL, "outside-links", "jobs" };
    CHECK_STR(util_suggest("ouput", opts, 4), "output");
    CHECK_STR(util_suggest("job", opts, 4), "jobs");
    CHECK(util_suggest("frobnicate", opts, 4) == NULL);
    CHECK_STR(cmd_suggest("proces"), "process");
    CHECK_STR(cmd_suggest("stauts"), "status");
    CHECK_STR(cmd_suggest("hlep"), "help");
    CHECK(cmd_suggest("xyzzy") == NULL);
}

static void test_printable(void)
{
    char s[] = "a\033[31m\n\177\302\233b\302\240\303\251";
    msg_printable(s);
    /* C0, DEL and C1 (U+009B) made '?'; U+00A0 and U+00E9 kept. */
    CHECK_STR(s, "a?[31m????b\302\240\303\251");
}

static void test_brief(void)
{
    item_record r = {0};
    vb_strlist_add(&r.failed_rules, "loudness");
    vb_strlist_add(&r.failed_rules, "faststart");
    rules_add(&r.checks, "loudness", RULE_FAIL, false, "-21.8 LUFS", "-14.0 LUFS +/- 1.0 LU",
              "quiet");
    rules_add(&r.checks, "duration_min", RULE_WARN, false, "2.000 s", "4.500 s", "short");
    vb_strlist_add(&r.warned_rules, "duration_min");
    char *f = report_rules_brief(&r, VERDICT_FAIL);
    /* faststart has no check in the record: its name alone. */
    CHECK_STR(f, "loudness -21.8 LUFS (target -14.0 LUFS +/- 1.0 LU), faststart");
    free(f);
    char *w = report_rules_brief(&r, VERDICT_WARN);
    CHECK_STR(w, "duration_min 2.000 s (min 4.500 s)");
    free(w);
    item_record_clear(&r);
}

static void test_number(void)
{
    double v = 0;
    char u[32];
    CHECK(rules_number("2.000 s", &v, u, sizeof u) && v == 2.0);
    CHECK_STR(u, "s");
    CHECK(rules_number("-21.8 LUFS", &v, u, sizeof u) && v == -21.8);
    CHECK_STR(u, "LUFS");
    CHECK(rules_number("97.0 kb/s", &v, u, sizeof u) && v == 97.0);
    CHECK_STR(u, "kb/s");
    CHECK(rules_number("12", &v, u, sizeof u) && v == 12);
    CHECK_STR(u, "");
    CHECK(!rules_number("1280x720", &v, u, sizeof u));
    CHECK(!rules_number("25/1", &v, u, sizeof u));
    CHECK(!rules_number("-14.0 LUFS +/- 1.0 LU", &v, u, sizeof u));
    CHECK(!rules_number("h264", &v, u, sizeof u));
    CHECK(!rules_number("nan", &v, u, sizeof u));
    CHECK(!rules_number(NULL, &v, u, sizeof u));
}

static void test_time(void)
{
    char b[40];
    setenv("TZ", "UTC", 1);
    tzset();
    util_iso_time(b, sizeof b, 1764615916);
    CHECK_STR(b, "2025-12-01T19:05:16Z");
    setenv("TZ", "Asia/Kolkata", 1);
    tzset();
    util_iso_time(b, sizeof b, 1764615916);
    CHECK_STR(b, "2025-12-02T00:35:16+05:30");
    unsetenv("TZ");
    tzset();
}

static void test_words(void)
{
    vb_strlist l = {0};
    vb_strlist_set_words(&l, "*.{mp4,mov}, a,b\t{x,{y,z}} c");
    CHECK_INT(l.n, 5);
    if (l.n == 5) {
        CHECK_STR(l.v[0], "*.{mp4,mov}");
        CHECK_STR(l.v[1], "a");
        CHECK_STR(l.v[2], "b");
        CHECK_STR(l.v[3], "{x,{y,z}}");
        CHECK_STR(l.v[4], "c");
    }
    /* An unbalanced '}' does not swallow the rest. */
    vb_strlist_set_words(&l, "a},b");
    CHECK_INT(l.n, 2);
    vb_strlist_clear(&l);
}

int main(void)
{
    test_words();
    test_number();
    test_time();
    test_suggest();
    test_printable();
    test_brief();
    return check_result("test-util");
}
