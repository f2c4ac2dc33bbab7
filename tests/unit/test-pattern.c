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

    /* Paths: a pattern with '/' matches the path below the folder walked,
     * one without it the name, at any depth. */
    inc = list("sub/*.mp4");
    CHECK(pattern_match(&inc, &none, "sub/a.mp4"));
    CHECK(!pattern_match(&inc, &none, "sub/x/a.mp4"));
    CHECK(!pattern_match(&inc, &none, "a.mp4"));
    CHECK(!pattern_match(&inc, &none, "other/sub/a.mp4"));
    CHECK(pattern_walks(&inc));
    vb_strlist_clear(&inc);
    inc = list("*.mp4");
    CHECK(pattern_match(&inc, &none, "deep/er/a.mp4"));
    CHECK(!pattern_walks(&inc));
    vb_strlist_clear(&inc);
    /* ** : any number of folders, none included. */
    inc = list("**" "/*.mp4");
    CHECK(pattern_match(&inc, &none, "a.mp4"));
    CHECK(pattern_match(&inc, &none, "s/a.mp4"));
    CHECK(pattern_match(&inc, &none, "s/t/u/a.mp4"));
    CHECK(!pattern_match(&inc, &none, "s/t/a.mov"));
    vb_strlist_clear(&inc);
    inc = list("a/**" "/x/*.mov sub/**");
    CHECK(pattern_match(&inc, &none, "a/x/c.mov"));
    CHECK(pattern_match(&inc, &none, "a/b/c/x/c.mov"));
    CHECK(!pattern_match(&inc, &none, "b/x/c.mov"));
    CHECK(pattern_match(&inc, &none, "sub/q/r.bin"));
    CHECK(!pattern_match(&inc, &none, "sub"));
    vb_strlist_clear(&inc);
    /* Braces, through glob(3): nothing is read from the disk. */
    /* (list() splits on commas: added one by one.) */
    inc = (vb_strlist){0};
    vb_strlist_add(&inc, "*.{mp4,mov}");
    vb_strlist_add(&inc, "{x,y}/clip-[0-9].mkv");
    CHECK(pattern_match(&inc, &none, "a.mp4"));
    CHECK(pattern_match(&inc, &none, "b.mov"));
    CHECK(!pattern_match(&inc, &none, "c.mkv"));
    CHECK(pattern_match(&inc, &none, "y/clip-3.mkv"));
    CHECK(!pattern_match(&inc, &none, "z/clip-3.mkv"));
    CHECK(!pattern_match(&inc, &none, "y/clip-33.mkv"));
    vb_strlist_clear(&inc);
    inc = (vb_strlist){0};
    vb_strlist_add(&inc, "**" "/*.{mp4,MOV}");
    CHECK(pattern_match(&inc, &none, "d/e/f.MOV"));
    CHECK(!pattern_match(&inc, &none, "d/e/f.mov"));
    vb_strlist_clear(&inc);
    /* Folders excluded: by name anywhere, by path, "name/" folders only. */
    exc = list("drafts sub/old tmp/");
    CHECK(pattern_excluded_dir(&exc, "drafts"));
    CHECK(pattern_excluded_dir(&exc, "a/b/drafts"));
    CHECK(pattern_excluded_dir(&exc, "sub/old"));
    CHECK(!pattern_excluded_dir(&exc, "x/sub/old"));
    CHECK(pattern_excluded_dir(&exc, "tmp"));
    CHECK(pattern_match(&none, &exc, "tmp.mp4"));
    CHECK(!pattern_excluded_dir(&exc, "final"));
    vb_strlist_clear(&exc);

    return check_result("test-pattern");
}
