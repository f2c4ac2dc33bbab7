/* test-scan.c - discovery over a temporary tree: sorted streaming walk,
 * hidden and non-matching names, odd file types and symbolic links,
 * links out of the input folders, skipped folders, list files (a line
 * over the limit, a NUL byte), and a large folder. */
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
    in.outside_links = OUTSIDE_ALLOW;
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

    /* Refused (the default): "back" leads out of sub, up to in/. */
    in.outside_links = OUTSIDE_REFUSE;
    s = scan_new(&in);
    scan_add_path(s, tpath("in/sub"));
    got = dump(s, &n);
    CHECK_STR(got,
        "back|T/in/sub/back|7|links outside the input folders: T/in (not read; "
        "--outside-links allow or [input] outside_links = allow takes it)\n"
        "back2|T/in/sub/back2|7|links outside the input folders: T/in (not read; "
        "--outside-links allow or [input] outside_links = allow takes it)\n"
        "d.mp4|T/in/sub/d.mp4|0|\n"
        "deeper/e.mkv|T/in/sub/deeper/e.mkv|0|\n"
        "deeper/up|T/in/sub/deeper/up|7|links outside the input folders: T/in (not read; "
        "--outside-links allow or [input] outside_links = allow takes it)\n");
    free(got);
    scan_free(&s);
}

/* Links to files and folders in and out of the folder walked: relative
 * and absolute, to a FIFO, dangling; out of one named folder into
 * another named one is inside. */
static void test_outside(void)
{
    mkd(tpath("outside"));
    touch(tpath("outside/o.mp4"));
    if (mkfifo(tpath("outside/pipe.mp4"), 0644) != 0) {
        perror("mkfifo");
        exit(99);
    }
    mkd(tpath("walk"));
    touch(tpath("walk/a.mp4"));
    mkd(tpath("walk/s"));
    touch(tpath("walk/s/b.mp4"));
    sym("a.mp4", tpath("walk/rel-in.mp4"));
    sym(tpath("walk/s/b.mp4"), tpath("walk/abs-in.mp4"));
    sym("../outside/o.mp4", tpath("walk/rel-out.mp4"));
    sym(tpath("outside/o.mp4"), tpath("walk/abs-out.mp4"));
    sym("../outside/pipe.mp4", tpath("walk/pipe-out.mp4"));
    sym("../outside", tpath("walk/dir-out"));
    sym("s", tpath("walk/dir-in"));
    sym("../outside/none.mp4", tpath("walk/gone.mp4"));
    sym("../../outside/o.mp4", tpath("walk/s/up-out.mp4"));
    sym("../a.mp4", tpath("walk/s/up-in.mp4"));
    /* An absolute walk root through a relative spelling ("./"). */
    input_config in = {0};
    in.recursive = true;
    scanner *s = scan_new(&in);
    scan_add_path(s, tpath("walk/"));
    size_t n;
    char *got = dump(s, &n);
    const char *refused = " (not read; --outside-links allow or [input] outside_links = "
                          "allow takes it)\n";
    char want[4096];
    snprintf(want, sizeof want,
             "a.mp4|T/walk/a.mp4|0|\n"
             "abs-in.mp4|T/walk/abs-in.mp4|0|\n"
             "abs-out.mp4|T/walk/abs-out.mp4|7|links outside the input folders: T/outside/o.mp4%s"
             "dir-in/b.mp4|T/walk/dir-in/b.mp4|0|\n"
             "dir-in/up-in.mp4|T/walk/dir-in/up-in.mp4|0|\n"
             "dir-in/up-out.mp4|T/walk/dir-in/up-out.mp4|7|links outside the input folders: "
             "T/outside/o.mp4%s"
             "dir-out|T/walk/dir-out|7|links outside the input folders: T/outside%s"
             "gone.mp4|T/walk/gone.mp4|3|dangling symbolic link (target missing)\n"
             "pipe-out.mp4|T/walk/pipe-out.mp4|7|links outside the input folders: "
             "T/outside/pipe.mp4%s"
             "rel-in.mp4|T/walk/rel-in.mp4|0|\n"
             "rel-out.mp4|T/walk/rel-out.mp4|7|links outside the input folders: T/outside/o.mp4%s"
             "s/b.mp4|T/walk/s/b.mp4|0|\n"
             "s/up-in.mp4|T/walk/s/up-in.mp4|0|\n"
             "s/up-out.mp4|T/walk/s/up-out.mp4|7|links outside the input folders: "
             "T/outside/o.mp4%s",
             refused, refused, refused, refused, refused, refused);
    CHECK_STR(got, want);
    free(got);
    scan_free(&s);

    /* outside/ named too: its files are inputs, links into it are in. */
    s = scan_new(&in);
    scan_add_path(s, tpath("walk/s"));
    scan_add_path(s, tpath("outside"));
    got = dump(s, &n);
    CHECK_STR(got,
        "b.mp4|T/walk/s/b.mp4|0|\n"
        "up-in.mp4|T/walk/s/up-in.mp4|7|links outside the input folders: T/walk/a.mp4"
        " (not read; --outside-links allow or [input] outside_links = allow takes it)\n"
        "up-out.mp4|T/walk/s/up-out.mp4|0|\n"
        "o.mp4|T/outside/o.mp4|0|\n"
        "pipe.mp4|T/outside/pipe.mp4|4|not a regular file\n");
    free(got);
    scan_free(&s);

    /* A file named itself is taken, link or not; allowed, every link is
     * followed (the FIFO is then refused as any FIFO). */
    s = scan_new(&in);
    scan_add_path(s, tpath("walk/abs-out.mp4"));
    got = dump(s, &n);
    CHECK_STR(got, "abs-out.mp4|T/walk/abs-out.mp4|0|\n");
    free(got);
    scan_free(&s);
    in.outside_links = OUTSIDE_ALLOW;
    in.recursive = false;
    s = scan_new(&in);
    scan_add_path(s, tpath("walk"));
    got = dump(s, &n);
    CHECK_STR(got,
        "a.mp4|T/walk/a.mp4|0|\n"
        "abs-in.mp4|T/walk/abs-in.mp4|0|\n"
        "abs-out.mp4|T/walk/abs-out.mp4|0|\n"
        "gone.mp4|T/walk/gone.mp4|3|dangling symbolic link (target missing)\n"
        "pipe-out.mp4|T/walk/pipe-out.mp4|4|not a regular file\n"
        "rel-in.mp4|T/walk/rel-in.mp4|0|\n"
        "rel-out.mp4|T/walk/rel-out.mp4|0|\n");
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

/* A list line over SCAN_LINE_MAX: an item error naming the line, with
 * its start only; the lines around it are read as usual. A line of
 * exactly the limit is taken. A NUL byte ends the list with an error. */
static void test_list_limits(void)
{
    char *list = tpath("long.txt");
    FILE *f = fopen(list, "w");
    fprintf(f, "%s/in/a.mp4\n", tmp);
    fputs("https://example.com/", f);
    for (int i = 0; i < 200000; i++)
        fputc('x', f);
    fputs("\n", f);
    fprintf(f, "%s/in/c.mp4\n", tmp);
    /* exactly the limit: a name of SCAN_LINE_MAX bytes (a URL, not opened) */
    fputs("http://h/", f);
    for (int i = 9; i < SCAN_LINE_MAX; i++)
        fputc('y', f);
    fputs("\n", f);
    fputs("http://h/", f);
    for (int i = 9; i < SCAN_LINE_MAX + 1; i++)
        fputc('z', f);
    fclose(f);      /* the last line has no newline */

    input_config in = {0};
    scanner *s = scan_new(&in);
    scan_add_list(s, list);
    scan_entry en;
    vb_error e;
    char want[256];
    CHECK_INT(scan_next(s, &en, &e), 1);
    CHECK_STR(en.rel, "a.mp4");
    scan_entry_clear(&en);
    CHECK_INT(scan_next(s, &en, &e), 1);
    CHECK_INT(en.error, VB_ERR_LIMIT);
    CHECK(!en.is_url);
    snprintf(want, sizeof want, "%s:2", list);
    CHECK_STR(en.path, want);
    snprintf(want, sizeof want, "line 2 of list %s is 200020 bytes long, more than a list "
             "line may hold (65536): not read (it starts \"https://example.com/xxxxxxxxxxxxxxxxx"
             "xxx...\")", list);
    CHECK_STR(en.errmsg, want);
    scan_entry_clear(&en);
    CHECK_INT(scan_next(s, &en, &e), 1);
    CHECK_STR(en.rel, "c.mp4");
    scan_entry_clear(&en);
    CHECK_INT(scan_next(s, &en, &e), 1);
    CHECK(en.is_url && !en.error && strlen(en.path) == SCAN_LINE_MAX);
    scan_entry_clear(&en);
    CHECK_INT(scan_next(s, &en, &e), 1);
    CHECK_INT(en.error, VB_ERR_LIMIT);
    CHECK(strstr(en.errmsg, "line 5 of list") && strstr(en.errmsg, " 65537 bytes long"));
    scan_entry_clear(&en);
    CHECK_INT(scan_next(s, &en, &e), 0);
    scan_free(&s);

    /* Resuming reads the URLs only: the long line is passed over. */
    s = scan_new(&in);
    scan_urls_only(s);
    scan_add_list(s, list);
    size_t n;
    char *got = dump(s, &n);
    CHECK_INT(n, 1);
    free(got);
    scan_free(&s);

    list = tpath("nul.txt");
    f = fopen(list, "w");
    fprintf(f, "%s/in/a.mp4\n", tmp);
    fputs("abc", f);
    fputc('\0', f);
    fprintf(f, "\n%s/in/c.mp4\n", tmp);
    fclose(f);
    s = scan_new(&in);
    scan_add_list(s, list);
    scan_add_path(s, tpath("in/b.MOV"));
    got = dump(s, &n);
    CHECK_STR(got,
        "a.mp4|T/in/a.mp4|0|\n"
        "FATAL|1|cannot read list T/nul.txt: line 2 holds a NUL byte: not a text file of "
        "paths and URLs\n"
        "b.MOV|T/in/b.MOV|0|\n");
    free(got);
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
    test_outside();
    test_patterns();
    test_list();
    test_list_limits();
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
