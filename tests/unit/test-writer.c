/* test-writer.c - the writer back ends: JSON (parsed back with jansson;
 * streamed, the same bytes as the tree),
 * CSV (RFC 4180 quoting, flattening, header from the first row), text. */
#include "config.h"
#include "check.h"
#include "writer.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static void produce(writer *w)
{
    writer_begin_object(w, NULL);
    writer_string(w, "title", "batch");
    writer_begin_array(w, "rows");
    for (int i = 0; i < 2; i++) {
        writer_begin_object(w, NULL);
        writer_int(w, "n", i + 1);
        writer_string(w, "name", i ? "comma, \"quote\"\nnewline" : "plain");
        writer_double(w, "x", i ? NAN : 2.5);
        writer_bool(w, "ok", i == 0);
        writer_begin_object(w, "video");
        writer_string(w, "codec", "h264");
        writer_end_object(w);
        writer_begin_array(w, "tags");
        writer_string(w, NULL, "a");
        writer_string(w, NULL, "b");
        writer_end_array(w);
        writer_end_object(w);
    }
    writer_end_array(w);
    writer_end_object(w);
}

/* Everything the JSON back end lays out: nesting, empty containers,
 * escapes, numbers, a name that is not UTF-8. */
static void produce_all(writer *w)
{
    writer_begin_object(w, NULL);
    writer_string(w, "s", "tab\t \"q\" \xc3\xa9 \x01 /");
    writer_string(w, "bad", "ab\xff\xfe");
    writer_string(w, NULL, "no key");
    writer_int(w, "i", -42);
    writer_double(w, "d", 0.1 + 0.2);
    writer_double(w, "whole", 3.0);
    writer_double(w, "big", 1e300);
    writer_double(w, "small", 1.5e-7);
    writer_double(w, "e20", 1e20);
    writer_double(w, "neg0", -0.0);
    writer_double(w, "tiny", 5e-324);
    writer_double(w, "long", 123456789.123456789);
    writer_int(w, "i64", -9223372036854775807LL);
    writer_string(w, "esc", "\\ \b\f\n\r \x1f \x7f \xe2\x82\xac \xf0\x9f\x98\x80");
    writer_string(w, "overlong", "\xc0\xaf");
    writer_string(w, "surrogate", "\xed\xa0\x80");
    writer_string(w, "empty", "");
    writer_string(w, "null", NULL);
    writer_double(w, "nan", NAN);
    writer_bool(w, "t", true);
    writer_null(w, "z");
    writer_begin_array(w, "empty_a");
    writer_end_array(w);
    writer_begin_object(w, "empty_o");
    writer_end_object(w);
    writer_begin_array(w, "a");
    writer_int(w, "ignored key", 1);
    writer_begin_object(w, NULL);
    writer_begin_array(w, "deep");
    writer_begin_array(w, NULL);
    writer_string(w, NULL, "x");
    writer_end_array(w);
    writer_end_array(w);
    writer_end_object(w);
    writer_begin_array(w, NULL);
    writer_end_array(w);
    writer_end_array(w);
    writer_string(w, "k\xff", "a key that is not UTF-8: left out");
    writer_begin_object(w, "k\xfe");
    writer_int(w, "n", 1);
    writer_end_object(w);
    writer_string(w, "last", "");
    writer_end_object(w);
    writer_string(w, "second top-level value", "ignored");
}

/* The JSON stream writes the same bytes as the tree (produce_all, then
 * produce), with nothing held back for writer_finish. */
static void check_json_stream(void (*fn)(writer *))
{
    writer *w = writer_new(WRITER_JSON);
    fn(w);
    char *tree = writer_finish(w, NULL);
    writer_free(&w);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    w = writer_new_stream(WRITER_JSON, f);
    fn(w);
    size_t n = 1;
    char *rest = writer_finish(w, &n);
    writer_free(&w);
    fclose(f);
    CHECK_STR(buf, tree);
    CHECK_INT(n, 0);
    CHECK_STR(rest, "");
    free(rest);
    free(buf);
    free(tree);
}

static void produce_unclosed(writer *w)
{
    writer_begin_object(w, NULL);
    writer_begin_array(w, "a");
    writer_int(w, NULL, 1);
}

static void produce_nothing(writer *w)
{
    (void)w;
}

int main(void)
{
    check_json_stream(produce_all);
    check_json_stream(produce);
    check_json_stream(produce_unclosed);
    check_json_stream(produce_nothing);

    /* JSON */
    writer *w = writer_new(WRITER_JSON);
    produce(w);
    size_t len;
    char *s = writer_finish(w, &len);
    writer_free(&w);
    CHECK(w == NULL);
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(json_string_value(json_object_get(j, "title")), "batch");
        json_t *rows = json_object_get(j, "rows");
        CHECK_INT(json_array_size(rows), 2);
        json_t *r1 = json_array_get(rows, 1);
        CHECK_STR(json_string_value(json_object_get(r1, "name")), "comma, \"quote\"\nnewline");
        CHECK(json_is_null(json_object_get(r1, "x")));
        CHECK(json_real_value(json_object_get(json_array_get(rows, 0), "x")) == 2.5);
        CHECK(json_is_true(json_object_get(json_array_get(rows, 0), "ok")));
        CHECK_STR(json_string_value(json_object_get(json_object_get(r1, "video"), "codec")), "h264");
        CHECK_INT(json_array_size(json_object_get(r1, "tags")), 2);
        json_decref(j);
    }
    free(s);

    /* Invalid UTF-8 in a string: kept, bad bytes marked. */
    w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_string(w, "f", "caf\xc3\xa9-\xff.mp4");
    writer_end_object(w);
    s = writer_finish(w, &len);
    writer_free(&w);
    j = json_loads(s, 0, &err);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(json_string_value(json_object_get(j, "f")), "caf\xc3\xa9-?.mp4");
        json_decref(j);
    }
    free(s);

    /* CSV */
    w = writer_new(WRITER_CSV);
    produce(w);
    s = writer_finish(w, &len);
    writer_free(&w);
    CHECK_STR(s,
              "\"n\",\"name\",\"x\",\"ok\",\"video.codec\",\"tags\"\r\n"
              "\"1\",\"plain\",\"2.5\",\"true\",\"h264\",\"a; b\"\r\n"
              "\"2\",\"comma, \"\"quote\"\"\nnewline\",\"\",\"false\",\"h264\",\"a; b\"\r\n");
    free(s);

    /* CSV injection: a text cell a spreadsheet would run as a formula
     * (= + - @ tab CR first) gets a leading '; numbers never do, nor text
     * with those characters elsewhere. JSON keeps the string as it is. */
    static const char *const hostile[][2] = {
        { "=HYPERLINK(\"http://x\",\"y\").mp4", "'=HYPERLINK(\"\"http://x\"\",\"\"y\"\").mp4" },
        { "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0" },
        { "-2+3", "'-2+3" },
        { "@SUM(A1)", "'@SUM(A1)" },
        { "\t=1", "'\t=1" },
        { "\r=1", "'\r=1" },
        { "-14.2", "'-14.2" },        /* a string, even one that looks like a number */
        { "a=1, -b @c", "a=1, -b @c" },
        { "'=already", "'=already" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        w = writer_new(WRITER_CSV);
        writer_begin_array(w, NULL);
        writer_begin_object(w, NULL);
        writer_string(w, "s", hostile[i][0]);
        writer_double(w, "lufs", -14.2);
        writer_int(w, "n", -3);
        writer_begin_array(w, "one");
        writer_double(w, NULL, -1.5);
        writer_end_array(w);
        writer_begin_array(w, "two");
        writer_double(w, NULL, -1.5);
        writer_int(w, NULL, 2);
        writer_end_array(w);
        writer_begin_array(w, "names");
        writer_string(w, NULL, hostile[i][0]);
        writer_string(w, NULL, "b");
        writer_end_array(w);
        writer_end_object(w);
        writer_end_array(w);
        s = writer_finish(w, &len);
        writer_free(&w);
        const char *names = hostile[i][0][0] ? hostile[i][1] : "";
        char *want = vb_xasprintf("\"s\",\"lufs\",\"n\",\"one\",\"two\",\"names\"\r\n"
                                  "\"%s\",\"-14.2\",\"-3\",\"-1.5\",\"'-1.5; 2\",\"%s%sb\"\r\n",
                                  hostile[i][1], names, hostile[i][0][0] ? "; " : "");
        CHECK_STR(s, want);
        free(want);
        free(s);
    }
    w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_string(w, "s", hostile[0][0]);
    writer_end_object(w);
    s = writer_finish(w, &len);
    writer_free(&w);
    CHECK(strstr(s, "\"=HYPERLINK(") != NULL);
    free(s);

    /* CSV streaming to a file gives the same bytes. */
    char path[] = "/tmp/vbatch-test-writer-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w+");
    w = writer_new_stream(WRITER_CSV, f);
    produce(w);
    s = writer_finish(w, &len);
    CHECK_INT(len, 0);
    free(s);
    writer_free(&w);
    rewind(f);
    char buf[512] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    CHECK(n > 0);
    CHECK(strncmp(buf, "\"n\",\"name\"", 10) == 0);
    fclose(f);
    unlink(path);

    /* Text */
    w = writer_new(WRITER_TEXT);
    produce(w);
    s = writer_finish(w, &len);
    writer_free(&w);
    CHECK(strstr(s, "title: batch\n") != NULL);
    CHECK(strstr(s, "rows:\n  [0]:\n    n: 1\n") != NULL);
    CHECK(strstr(s, "name: comma, \"quote\"\\x0anewline\n") != NULL);
    CHECK(strstr(s, "x: -\n") != NULL);
    CHECK(strstr(s, "ok: yes\n") != NULL);
    free(s);

    /* writer_save is atomic: no temporary left. */
    w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_int(w, "a", 1);
    writer_end_object(w);
    vb_error e = {0};
    char dir[] = "/tmp/vbatch-test-save-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *out = vb_xasprintf("%s/r.json", dir);
    CHECK_INT(writer_save(w, out, &e), 0);
    writer_free(&w);
    CHECK(access(out, F_OK) == 0);
    char *cmd = vb_xasprintf("test $(ls -A %s | wc -l) -eq 1", dir);
    CHECK_INT(system(cmd), 0);
    free(cmd);
    unlink(out);
    rmdir(dir);
    free(out);
    /* Saving into a missing folder fails with a message. */
    w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_end_object(w);
    CHECK_INT(writer_save(w, "/nonexistent-dir/x.json", &e), -1);
    CHECK(strstr(e.msg, "/nonexistent-dir/x.json") != NULL);
    writer_free(&w);

    CHECK_INT(writer_format_parse("json"), WRITER_JSON);
    CHECK_INT(writer_format_parse("csv"), WRITER_CSV);
    CHECK_INT(writer_format_parse("xml"), -1);
    return check_result("test-writer");
}
