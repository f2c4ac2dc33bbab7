/* test-scan.c - discovery over a temporary tree: sorted streaming walk,
 * hidden and non-matching names, odd file types and symbolic links,
 * skipped folders, list files, and a large folder. */
#include "config.h"
#include "scan.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static char tmp[64];

static char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tpath(const char *fmt, ...)
{
    static char buf[8][512];
    static int k;
    char rel[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", tmp, rel);
    return b;
}

static void touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(99);
    }
    close(fd);
}

static void mkd(const char *path)
{
    if (mkdir(path, 0755) != 0) {
        perror(path);
        exit(99);
    }
}

static void sym(const char *target, const char *path)
{
    if (symlink(target, path) != 0) {
        perror(path);
        exit(99);
    }
}

/* Append s to *acc with the temporary folder's name replaced by "T". */
static void dump_str(char **acc, size_t *len, const char *s)
{
    size_t lt = strlen(tmp);
    while (*s) {
        const char *piece = s;
        size_t n = 1;
        if (strncmp(s, tmp, lt) == 0) {
            piece = "T";
            s += lt;
        } else {
            s++;
        }
        *acc = realloc(*acc, *len + n + 1);
        memcpy(*acc + *len, piece, n);
        *len += n;
        (*acc)[*len] = '\0';
    }
}

/* Run the scanner to the end: one line per entry,
 * "rel|path|error|message" ("U" before rel for URLs; "FATAL|code" for
 * a fatal error). */
static char *dump(scanner *s, size_t *count)
{
    char *acc = calloc(1, 1);
    size_t len = 0;
    scan_entry en;
    vb_error e;
    int r;
    *count = 0;
    for (;;) {
        vb_error_clear(&e);
        r = scan_next(s, &en, &e);
        if (r == 0)
            break;
        char num[32];
        if (r < 0) {
            snprintf(num, sizeof(num), "FATAL|%d|", e.code);
            dump_str(&acc, &len, num);
            dump_str(&acc, &len, e.msg);
            dump_str(&acc, &len, "\n");
            continue;
        }
        (*count)++;
        if (en.is_url)
            dump_str(&acc, &len, "U");
        dump_str(&acc, &len, en.rel);
        dump_str(&acc, &len, "|");
        dump_str(&acc, &len, en.path);
        snprintf(num, sizeof(num), "|%d|", en.error);
        dump_str(&acc, &len, num);
        if (en.errmsg)
            dump_str(&acc, &len, en.errmsg);
        dump_str(&acc, &len, "\n");
        scan_entry_clear(&en);
    }
    return acc;
}

static void make_tree(void)
{
    mkd(tpath("in"));
    /* Created out of order: the walk must sort. */
    touch(tpath("in/c.mp4"));
    touch(tpath("in/a.mp4"));
    touch(tpath("in/b.MOV"));
    touch(tpath("in/notes.txt"));
    touch(tpath("in/.hidden.mp4"));
    touch(tpath("in/my clip.mp4"));
    touch(tpath("in/new\nline.mp4"));
    mkd(tpath("in/x.mp4"));
    touch(tpath("in/x.mp4/inner.mp4"));
    sym("nowhere.mp4", tpath("in/dangling.mp4"));
    sym("l.mp4", tpath("in/l.mp4"));
    if (mkfifo(tpath("in/f.mp4"), 0644) != 0) {
        perror("mkfifo");
        exit(99);
    }
    mkd(tpath("in/sub"));
    touch(tpath("in/sub/d.mp4"));
    sym("..", tpath("in/sub/back"));
    sym("..", tpath("in/sub/back2"));
    mkd(tpath("in/sub/deeper"));
    sym("../..", tpath("in/sub/deeper/up"));
    touch(tpath("in/sub/deeper/e.mkv"));
    mkd(tpath("in/out"));
    touch(tpath("in/out/o.mp4"));
    sym("a.mp4", tpath("in/link.mp4"));
    sym("sub", tpath("in/sublink"));
}

static const char *flat_expected =
    "a.mp4|T/in/a.mp4|0|\n"
    "b.MOV|T/in/b.MOV|0|\n"
    "c.mp4|T/in/c.mp4|0|\n"
    "dangling.mp4|T/in/dangling.mp4|3|dangling symbolic link (target missing)\n"
    "f.mp4|T/in/f.mp4|4|not a regular file\n"
    "l.mp4|T/in/l.mp4|3|symbolic link loop\n"
    "link.mp4|T/in/link.mp4|0|\n"
    "my clip.mp4|T/in/my clip.mp4|0|\n"
    "new\nline.mp4|T/in/new\nline.mp4|0|\n"
    "x.mp4|T/in/x.mp4|4|is a directory, not a video file\n";

static void test_flat(void)
{
    input_config in = {0};
    scanner *s = scan_new(&in);
    scan_add_path(s, tpath("in"));
    size_t n;
    char *got = dump(s, &n);
    CHECK_STR(got, flat_expected);
    CHECK_INT(n, 10);
    free(got);
    scan_free(&s);
    CHECK(s == NULL);
    scan_free(&s);

    /* A trailing slash on the root changes nothing but the paths. */
    s = scan_new(&in);
    scan_add_path(s, tpath("in/sub/"));
    got = dump(s, &n);
    CHECK_STR(got, "d.mp4|T/in/sub/d.mp4|0|\n");
    free(got);
    scan_free(&s);
}

static const char *rec_expected =
    "a.mp4|T/in/a.mp4|0|\n"
    "b.MOV|T/in/b.MOV|0|\n"
    "c.mp4|T/in/c.mp4|0|\n"
    "dangling.mp4|T/in/dangling.mp4|3|dangling symbolic link (target missing)\n"
    "f.mp4|T/in/f.mp4|4|not a regular file\n"
    "l.mp4|T/in/l.mp4|3|symbolic link loop\n"
    "link.mp4|T/in/link.mp4|0|\n"
    "my clip.mp4|T/in/my clip.mp4|0|\n"
    "new\nline.mp4|T/in/new\nline.mp4|0|\n"
    "sub/back|T/in/sub/back|3|symbolic link loop: T/in/sub/back leads back to T/in\n"
    "sub/d.mp4|T/in/sub/d.mp4|0|\n"
    "sub/deeper/e.mkv|T/in/sub/deeper/e.mkv|0|\n"
    "sublink/d.mp4|T/in/sublink/d.mp4|0|\n"
    "sublink/deeper/e.mkv|T/in/sublink/deeper/e.mkv|0|\n"
    "x.mp4/inner.mp4|T/in/x.mp4/inner.mp4|0|\n";

static void test_recursive(void)
{
    input_config in = {0};
    in.recursive = true;
    scanner *s = scan_new(&in);
    scan_skip_dir(s, tpath("in/out"));
    /* Not there yet: looked up again when the walk meets it. */
    scan_skip_dir(s, tpath("in/later"));
    scan_skip_dir(s, tpath("does/not/exist"));
    mkd(tpath("in/later"));
    touch(tpath("in/later/z.mp4"));
    scan_add_path(s, tpath("in"));
    size_t n;
    char *got = dump(s, &n);
    /* back, back2 and deeper/up all lead to the root: one error. */
    CHECK_STR(got, rec_expected);
    free(got);
    scan_free(&s);
}

static void test_recursive_sub(void)
{
    input_config in = {0};
    in.recursive = true;
    scanner *s = scan_new(&in);
    scan_add_path(s, tpath("in/sub"));
    scan_add_path(s, tpath("in/out"));
    size_t n;
    char *got = dump(s, &n);
    /* Rooted at sub, "back" leads to in/, which is not on the path:
     * in/ is walked once through it; its sub leads back to the root. */
    CHECK(strstr(got, "back/a.mp4|T/in/sub/back/a.mp4|0|\n") != NULL);
    CHECK(strstr(got, "leads back to T/in/sub\n") != NULL);
    CHECK(strstr(got, "o.mp4|T/in/out/o.mp4|0|\n") != NULL);
    free(got);
    scan_free(&s);
}

static void test_patterns(void)
{
    input_config in = {0};
    vb_strlist_set_words(&in.patterns, "*.txt *.mp4");
    vb_strlist_set_words(&in.exclude, "c.*");
    scanner *s = scan_new(&in);
    scan_add_path(s, tpath("in/sub"));
    scan_add_path(s, tpath("in"));
    /* A file named as a root is taken whatever the patterns. */
    scan_add_path(s, tpath("in/c.mp4"));
    scan_add_path(s, tpath("in/b.MOV"));
    scan_add_path(s, tpath("in/f.mp4"));
    scan_add_path(s, tpath("missing.mp4"));
    size_t n;
    char *got = dump(s, &n);
    CHECK_STR(got,
        "d.mp4|T/in/sub/d.mp4|0|\n"
        "a.mp4|T/in/a.mp4|0|\n"
        "dangling.mp4|T/in/dangling.mp4|3|dangling symbolic link (target missing)\n"
        "f.mp4|T/in/f.mp4|4|not a regular file\n"
        "l.mp4|T/in/l.mp4|3|symbolic link loop\n"
        "link.mp4|T/in/link.mp4|0|\n"
        "my clip.mp4|T/in/my clip.mp4|0|\n"
        "new\nline.mp4|T/in/new\nline.mp4|0|\n"
        "notes.txt|T/in/notes.txt|0|\n"
        "x.mp4|T/in/x.mp4|4|is a directory, not a video file\n"
        "c.mp4|T/in/c.mp4|0|\n"
        "b.MOV|T/in/b.MOV|0|\n"
        "f.mp4|T/in/f.mp4|4|not a regular file\n"
        "missing.mp4|T/missing.mp4|3|cannot read T/missing.mp4: No such file or directory\n");
    free(got);
    scan_free(&s);
    vb_strlist_clear(&in.patterns);
    vb_strlist_clear(&in.exclude);
}

static void test_list(void)
{
    char *list = tpath("list.txt");
    FILE *f = fopen(list, "w");
    fprintf(f, "# a comment\n\n   \n");
    fprintf(f, "  %s/in/a.mp4  \r\n", tmp);
    fprintf(f, "https://example.com/v/clip.mp4?sig=1&x=2\n");
    fprintf(f, "HTTP://EXAMPLE.COM/x.mov\n");
    fprintf(f, "ftp://example.com/y.mp4\n");
    fprintf(f, "\t# indented comment\n");
    fprintf(f, "%s/in/sub\n", tmp);
    fprintf(f, "%s/in/notes.txt\n", tmp);
    fprintf(f, "%s/missing.mp4", tmp);     /* no final newline */
    fclose(f);

    input_config in = {0};
    scanner *s = scan_new(&in);
    scan_add_path(s, tpath("in/c.mp4"));
    scan_add_list(s, list);
    scan_add_list(s, tpath("no-such-list.txt"));
    scan_add_path(s, tpath("in/b.MOV"));
    size_t n;
    char *got = dump(s, &n);
    CHECK_STR(got,
        "c.mp4|T/in/c.mp4|0|\n"
        "a.mp4|T/in/a.mp4|0|\n"
        "Uclip.mp4|https://example.com/v/clip.mp4?sig=1&x=2|0|\n"
        "Ux.mov|HTTP://EXAMPLE.COM/x.mov|0|\n"
        "y.mp4|ftp://example.com/y.mp4|1|only http and https URLs are supported\n"
        "d.mp4|T/in/sub/d.mp4|0|\n"
        "notes.txt|T/in/notes.txt|0|\n"
        "missing.mp4|T/missing.mp4|3|cannot read T/missing.mp4: No such file or directory\n"
        "FATAL|1|cannot read list T/no-such-list.txt: No such file or directory\n"
        "b.MOV|T/in/b.MOV|0|\n");
    CHECK_INT(n, 9);
    free(got);
    scan_free(&s);

    /* Freed half-way through a list and a walk: no leak, no crash. */
    s = scan_new(&in);
    scan_add_list(s, list);
    scan_entry en;
    vb_error e;
    for (int i = 0; i < 6; i++) {
        CHECK_INT(scan_next(s, &en, &e), 1);
        scan_entry_clear(&en);
    }
    scan_free(&s);
}

static void test_unreadable(void)
{
    if (geteuid() == 0)
        return;     /* root opens any folder */
    mkd(tpath("locked"));
    touch(tpath("locked/k.mp4"));
    mkd(tpath("locked/inner"));
    chmod(tpath("locked/inner"), 0);
    input_config in = {0};
    in.recursive = true;
    scanner *s = scan_new(&in);
    scan_add_path(s, tpath("locked"));
    size_t n;
    char *got = dump(s, &n);
    CHECK_STR(got,
        "inner|T/locked/inner|3|cannot read T/locked/inner: Permission denied\n"
        "k.mp4|T/locked/k.mp4|0|\n");
    free(got);
    scan_free(&s);
    chmod(tpath("locked/inner"), 0755);
}

static void test_many(void)
{
    enum { N = 10000 };
    mkd(tpath("many"));
    /* Created in a scrambled order (7919 is prime, coprime with N). */
    for (unsigned i = 0; i < N; i++) {
        unsigned k = (i * 7919u) % N;
        touch(tpath("many/v%05u.mp4", k));
    }
    input_config in = {0};
    scanner *s = scan_new(&in);
    scan_add_path(s, tpath("many"));
    scan_entry en;
    vb_error e;
    unsigned n = 0, bad = 0;
    clock_t t0 = clock();
    while (scan_next(s, &en, &e) == 1) {
        char want[32];
        snprintf(want, sizeof(want), "v%05u.mp4", n);
        if (en.error || strcmp(en.rel, want) != 0)
            bad++;
        n++;
        scan_entry_clear(&en);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK_INT(n, N);
    CHECK_INT(bad, 0);
    CHECK(secs < 5.0);
    scan_free(&s);
}

int main(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/vbatch-test-scan.XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 99;
    }
    make_tree();
    test_flat();
    test_recursive();
    test_recursive_sub();
    test_patterns();
    test_list();
    test_unreadable();
    test_many();
    int rc = check_result("test-scan");
    if (rc == 0) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp);
    } else {
        fprintf(stderr, "tree left in %s\n", tmp);
    }
    return rc;
}
