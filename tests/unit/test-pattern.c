/* test-pattern.c - file name selection: built-in extensions, globs,
 * exclusions. */
#include "config.h"
#include "pattern.h"
#include "check.h"

#include <strings.h>

static vb_strlist list(const char *words)
{
    vb_strlist l = {0};
    if (words)
        vb_strlist_set_words(&l, words);
    return l;
}

int main(void)
{
    vb_strlist none = {0}, inc, exc;

    /* Built-in list, case-insensitive on the extension. */
    CHECK(pattern_match(&none, &none, "clip.mp4"));
    CHECK(pattern_match(&none, &none, "CLIP.MP4"));
    CHECK(pattern_match(&none, &none, "a.b.MoV"));
    CHECK(pattern_match(&none, &none, "x.m2ts"));
    CHECK(pattern_match(&none, &none, "x.3gp"));
    CHECK(pattern_match(NULL, NULL, "x.webm"));
    CHECK(!pattern_match(&none, &none, "clip.mp4.part"));
    CHECK(!pattern_match(&none, &none, "notes.txt"));
    CHECK(!pattern_match(&none, &none, "mp4"));
    CHECK(!pattern_match(&none, &none, ".mp4"));
    CHECK(!pattern_match(&none, &none, "clip."));
    CHECK(!pattern_match(&none, &none, "clipmp4"));
    size_t n = 0;
    for (; pattern_video_exts[n]; n++)
        ;
    CHECK_INT(n, 16);

    /* Exclusions apply to the built-in list too. */
    exc = list("*_proxy.* draft*");
    CHECK(!pattern_match(&none, &exc, "a_proxy.mp4"));
    CHECK(!pattern_match(&none, &exc, "draft1.mov"));
    CHECK(pattern_match(&none, &exc, "final.mov"));
    vb_strlist_clear(&exc);

    /* Globs: shell semantics, case-sensitive, replace the built-in list. */
    inc = list("*.mp4,take-?.mov [ab]*.mkv");
    CHECK(pattern_match(&inc, &none, "clip.mp4"));
    CHECK(!pattern_match(&inc, &none, "clip.MP4"));
    CHECK(pattern_match(&inc, &none, "take-1.mov"));
    CHECK(!pattern_match(&inc, &none, "take-12.mov"));
    CHECK(pattern_match(&inc, &none, "b.mkv"));
    CHECK(!pattern_match(&inc, &none, "c.mkv"));
    CHECK(!pattern_match(&inc, &none, "x.webm"));
    exc = list("*.mp4");
    /* An exclusion wins over an inclusion. */
    CHECK(!pattern_match(&inc, &exc, "clip.mp4"));
    CHECK(pattern_match(&inc, &exc, "take-1.mov"));
    vb_strlist_clear(&exc);
    vb_strlist_clear(&inc);

    /* A glob can take anything, odd bytes included. */
    inc = list("*");
    CHECK(pattern_match(&inc, &none, "notes.txt"));
    CHECK(pattern_match(&inc, &none, "new\nline"));
    CHECK(pattern_match(&inc, &none, "\xff\xfe.bin"));
    vb_strlist_clear(&inc);

    return check_result("test-pattern");
}
