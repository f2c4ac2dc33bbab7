/* test-util.c - the small pure helpers of the user-facing messages: edit
 * distance and "did you mean" (keys, commands, options), the one
 * sanitiser of what reaches a terminal, a rule named with its value and
 * limit. */
#include "config.h"
#include "check.h"
#include "cmd.h"
#include "msg.h"
#include "report.h"
#include "util.h"

#include <stdlib.h>

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

int main(void)
{
    test_suggest();
    test_printable();
    test_brief();
    return check_result("test-util");
}
