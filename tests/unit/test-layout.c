/* test-layout.c - item folder names: safe, bounded, unique; which paths
 * lie within a folder (inputs and images confined to their roots). */
#include "config.h"
#include "layout.h"
#include "util.h"
#include "check.h"

#include <stdlib.h>

#define CHECK_NAME(fn, in, want) do { char *got_ = fn(in); \
    CHECK_STR(got_, want); free(got_); } while (0)

/* true if s is valid UTF-8 (no overlongs or surrogates needed here). */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t len = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 :
                     *p >= 0xC2 ? 2 : 0;
        if (len == 0)
            return 0;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += len;
    }
    return 1;
}

static void test_safe_name(void)
{
    CHECK_NAME(layout_safe_name, "clip.mp4", "clip");
    CHECK_NAME(layout_safe_name, "a/b/clip.mp4", "a__b__clip");
    CHECK_NAME(layout_safe_name, "a.dir/clip.tar.gz", "a.dir__clip.tar");
    CHECK_NAME(layout_safe_name, "noext", "noext");
    CHECK_NAME(layout_safe_name, "../../etc/passwd", "______etc__passwd");
    CHECK_NAME(layout_safe_name, "./x.mp4", "___x");
    CHECK_NAME(layout_safe_name, "/abs//path/x.mp4", "abs__path__x");
    CHECK_NAME(layout_safe_name, "..", "_");
    CHECK_NAME(layout_safe_name, ".hidden", "_hidden");
    CHECK_NAME(layout_safe_name, ".mp4", "_mp4");
    CHECK_NAME(layout_safe_name, "-rf.mp4", "_rf");
    CHECK_NAME(layout_safe_name, "my clip:1?.mov", "my_clip_1_");
    CHECK_NAME(layout_safe_name, "new\nline\t.mp4", "new_line_");
    CHECK_NAME(layout_safe_name, "a\\b|c*d<e>f\"g.mp4", "a_b_c_d_e_f_g");
    CHECK_NAME(layout_safe_name, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.mp4",
               "caf\xc3\xa9_\xe6\x97\xa5\xe6\x9c\xac");
    CHECK_NAME(layout_safe_name, "bad\xff\xfe.mp4", "bad__");
    CHECK_NAME(layout_safe_name, "trunc\xc3.mp4", "trunc_");
    CHECK_NAME(layout_safe_name, "overlong\xc0\xaf.mp4", "overlong__");
    CHECK_NAME(layout_safe_name, "surrogate\xed\xa0\x80.mp4", "surrogate___");
    CHECK_NAME(layout_safe_name, "summary.mp4", "summary_");
    CHECK_NAME(layout_safe_name, "Publish.mov", "Publish_");
    CHECK_NAME(layout_safe_name, "summary/x.mp4", "summary__x");
    CHECK_NAME(layout_safe_name, "", "item");
    CHECK_NAME(layout_safe_name, "/", "item");

    /* Long names: at most 120 bytes, cut between UTF-8 sequences. */
    char longname[600];
    size_t n = 0;
    for (int i = 0; i < 150; i++) {
        memcpy(longname + n, "\xe6\x97\xa5", 3);   /* 3-byte character */
        n += 3;
    }
    memcpy(longname + n, ".mp4", 5);
    char *s = layout_safe_name(longname);
    CHECK_INT(strlen(s), 120);
    CHECK(valid_utf8(s));
    free(s);
    longname[0] = 'x';
    memmove(longname + 1, longname + 3, strlen(longname + 3) + 1);
    s = layout_safe_name(longname);
    CHECK_INT(strlen(s), 118);      /* "x" + 39 characters */
    CHECK(valid_utf8(s));
    free(s);
}

static void test_unique(void)
{
    layout_names *ln = layout_names_new();
    char *a = layout_unique_name(ln, "clip.mp4");
    char *b = layout_unique_name(ln, "clip.mov");
    char *c = layout_unique_name(ln, "clip.mkv");
    char *d = layout_unique_name(ln, "clip-2.mp4");  /* already taken */
    char *f = layout_unique_name(ln, "x/clip.mp4");
    char *g = layout_unique_name(ln, "CLIP.avi");    /* case-insensitive FS */
    CHECK_STR(a, "clip");
    CHECK_STR(b, "clip-2");
    CHECK_STR(c, "clip-3");
    CHECK_STR(d, "clip-2-2");
    CHECK_STR(f, "x__clip");
    CHECK_STR(g, "CLIP-4");
    free(a); free(b); free(c); free(d); free(f); free(g);

    /* "y-2" taken first: the second "y" skips it. */
    a = layout_unique_name(ln, "y-2.mp4");
    b = layout_unique_name(ln, "y.mp4");
    c = layout_unique_name(ln, "y.mov");
    CHECK_STR(a, "y-2");
    CHECK_STR(b, "y");
    CHECK_STR(c, "y-3");
    free(a); free(b); free(c);

    /* Many names: the set grows, every name is distinct. */
    int dup = 0;
    for (int i = 0; i < 5000; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "d%d/v.mp4", i % 100);
        char *u = layout_unique_name(ln, rel);
        if (i >= 100) {
            char want[64];
            snprintf(want, sizeof(want), "d%d__v-%d", i % 100, i / 100 + 1);
            if (strcmp(u, want) != 0)
                dup++;
        }
        free(u);
    }
    CHECK_INT(dup, 0);
    layout_names_free(&ln);
    CHECK(ln == NULL);
    layout_names_free(&ln);
}

static void test_safe_file(void)
{
    CHECK_NAME(layout_safe_file, "clip.mp4", "clip.mp4");
    CHECK_NAME(layout_safe_file, "my clip.MOV", "my_clip.MOV");
    CHECK_NAME(layout_safe_file, "a/b.mp4", "a_b.mp4");
    CHECK_NAME(layout_safe_file, ".", "_");
    CHECK_NAME(layout_safe_file, "..", "_.");
    CHECK_NAME(layout_safe_file, "", "item");
    CHECK_NAME(layout_safe_file, "-x.mp4", "_x.mp4");
    CHECK_NAME(layout_safe_file, "\xff.mp4", "_.mp4");
    CHECK_NAME(layout_safe_file, "summary", "summary");

    char longname[400];
    memset(longname, 'a', 300);
    strcpy(longname + 300, ".mp4");
    char *s = layout_safe_file(longname);
    CHECK_INT(strlen(s), 200);
    CHECK(strcmp(s + 196, ".mp4") == 0);
    free(s);
    /* Multi-byte characters are not split. */
    size_t n = 0;
    longname[n++] = 'a';
    for (int i = 0; i < 100; i++) {
        memcpy(longname + n, "\xc3\xa9", 2);
        n += 2;
    }
    strcpy(longname + n, ".mov");
    s = layout_safe_file(longname);
    CHECK(strlen(s) <= 200);
    CHECK(valid_utf8(s));
    CHECK(strcmp(s + strlen(s) - 4, ".mov") == 0);
    free(s);
}

/* Incremental runs: folders of earlier batches are reserved; their own
 * items claim them back, new items never get them. */
static void test_reserve(void)
{
    layout_names *ln = layout_names_new();
    layout_reserve(ln, "clip");
    layout_reserve(ln, "my.clip");          /* a folder name is kept as is */
    char *a = layout_unique_name(ln, "clip.mkv");   /* a new item */
    CHECK_STR(a, "clip-2");
    CHECK(layout_claim(ln, "clip"));        /* its own item takes it back */
    CHECK(!layout_claim(ln, "clip"));       /* once */
    CHECK(!layout_claim(ln, "clip-2"));     /* given out in this batch */
    CHECK(!layout_claim(ln, "MY.clip"));    /* equal but for case */
    CHECK(layout_claim(ln, "my.clip"));
    CHECK(layout_claim(ln, "other"));       /* never seen: free */
    char *b = layout_unique_name(ln, "other.mp4");
    CHECK_STR(b, "other-2");
    layout_reserve(ln, "other");            /* already given: stays given */
    CHECK(!layout_claim(ln, "other"));
    free(a); free(b);
    layout_names_free(&ln);
}

static void test_within(void)
{
    CHECK(util_path_within("/a/b", "/a"));
    CHECK(util_path_within("/a", "/a"));
    CHECK(util_path_within("/a/b", "/a/"));
    CHECK(!util_path_within("/ab", "/a"));
    CHECK(!util_path_within("/a", "/a/b"));
    CHECK(util_path_within("/etc/passwd", "/"));
    CHECK(util_path_within("/", "/"));
    CHECK(!util_path_within("relative", "/"));
    CHECK(!util_path_within("/x", ""));
    CHECK(util_path_within("out/item", "out"));
}

int main(void)
{
    test_within();
    test_safe_name();
    test_unique();
    test_reserve();
    test_safe_file();
    return check_result("test-layout");
}
