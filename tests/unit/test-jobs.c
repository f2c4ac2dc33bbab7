/* test-jobs.c - csvio.c's reader (RFC 4180 edge cases, line numbers,
 * errors), JOBS.csv parsing and checking (jobs.c), the canonical request
 * and deduplication, and Kling's validation and unit estimates. */
#include "config.h"
#include "csvio.h"
#include "jobs.h"
#include "preset.h"
#include "provider.h"
#include "writer.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK_HAS(hay, needle) do { const char *h_ = (hay); check_count++; \
    if (!h_ || !strstr(h_, (needle))) { check_failures++; \
    fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
            h_ ? h_ : "(null)", (needle)); } } while (0)

/* ---- csvio ---- */

typedef struct rec {
    int line;
    size_t n;
    char *f[8];
    size_t len[8];
} rec;

typedef struct recs {
    rec v[16];
    size_t n;
    size_t stop_after;   /* 0 = never */
} recs;

static int collect(int line, const csvio_field *f, size_t n, void *ud)
{
    recs *r = ud;
    if (r->n < 16) {
        rec *x = &r->v[r->n];
        x->line = line;
        x->n = n;
        for (size_t i = 0; i < n && i < 8; i++) {
            x->f[i] = malloc(f[i].len + 1);
            memcpy(x->f[i], f[i].s, f[i].len + 1);
            x->len[i] = f[i].len;
        }
    }
    r->n++;
    return r->stop_after && r->n >= r->stop_after ? 7 : 0;
}

static void recs_free(recs *r)
{
    for (size_t i = 0; i < r->n && i < 16; i++)
        for (size_t k = 0; k < r->v[i].n && k < 8; k++)
            free(r->v[i].f[k]);
    memset(r, 0, sizeof *r);
}

static int read_text(const char *text, recs *r, vb_error *e)
{
    memset(r, 0, sizeof *r);
    return csvio_read_mem(text, strlen(text), "t.csv", collect, r, e);
}

static void test_csv_basic(void)
{
    recs r;
    vb_error e = { 0 };
    /* BOM, quoted comma, doubled quotes, a line break (LF then CRLF) in a
     * quoted field, CRLF rows, a blank line, no final line break. */
    const char *t = "\xEF\xBB\xBF" "id,prompt\r\n"
                    "a,\"x, y\"\r\n"
                    "b,\"say \"\"hi\"\"\"\r\n"
                    "c,\"two\nlines\r\nand three\"\r\n"
                    "\r\n"
                    "d,  spaced  \r\n"
                    "e,\"\"";
    CHECK_INT(read_text(t, &r, &e), 0);
    CHECK_INT(r.n, 6);
    CHECK_STR(r.v[0].f[0], "id"); /* the BOM is not part of the first name */
    CHECK_INT(r.v[0].line, 1);
    CHECK_STR(r.v[1].f[1], "x, y");
    CHECK_INT(r.v[1].line, 2);
    CHECK_STR(r.v[2].f[1], "say \"hi\"");
    CHECK_INT(r.v[2].line, 3);
    CHECK_STR(r.v[3].f[1], "two\nlines\r\nand three");
    CHECK_INT(r.v[3].line, 4);
    /* the record after a three-line field and a blank line */
    CHECK_STR(r.v[4].f[0], "d");
    CHECK_INT(r.v[4].line, 8);
    CHECK_STR(r.v[4].f[1], "spaced"); /* unquoted: surrounding spaces go */
    CHECK_INT(r.v[5].n, 2);
    CHECK_STR(r.v[5].f[1], "");
    CHECK_INT(r.v[5].line, 9);
    recs_free(&r);

    /* A trailing empty line, and a record whose first field spans lines. */
    CHECK_INT(read_text("a,b\n\"x\ny\",z\nlast,1\n\n", &r, &e), 0);
    CHECK_INT(r.n, 3);
    CHECK_INT(r.v[1].line, 2);
    CHECK_STR(r.v[1].f[0], "x\ny");
    CHECK_INT(r.v[2].line, 4);
    recs_free(&r);

    /* A NUL byte inside a field is kept with its length. */
    memset(&r, 0, sizeof r);
    CHECK_INT(csvio_read_mem("a\0b,c\n", 6, "t.csv", collect, &r, &e), 0);
    CHECK_INT(r.n, 1);
    CHECK_INT(r.v[0].len[0], 3);
    CHECK_INT(strlen(r.v[0].f[0]), 1);
    recs_free(&r);

    /* The callback can stop the reading; its value comes back. */
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    CHECK_INT(csvio_read_mem("1\n2\n3\n4\n", 8, "t.csv", collect, &r, &e), 7);
    CHECK_INT(r.n, 2);
    recs_free(&r);
}

static void test_csv_errors(void)
{
    recs r;
    vb_error e = { 0 };
    /* a stray quote in an unquoted field, line 3 */
    CHECK_INT(read_text("a,b\nc,d\ne,f\"g\nh,i\n", &r, &e), -1);
    CHECK_HAS(e.msg, "t.csv:3:");
    CHECK_HAS(e.msg, "quote");
    recs_free(&r);
    /* text after a closing quote */
    CHECK_INT(read_text("a,b\n\"c\"d,e\n", &r, &e), -1);
    CHECK_HAS(e.msg, "t.csv:2:");
    recs_free(&r);
    /* a quoted field never closed: named by the line where its record starts */
    CHECK_INT(read_text("a,b\nc,\"open\nstill\nopen\n", &r, &e), -1);
    CHECK_HAS(e.msg, "t.csv:2:");
    CHECK_HAS(e.msg, "not closed");
    recs_free(&r);
    /* a file that does not exist */
    CHECK_INT(csvio_read_file("/nonexistent/jobs.csv", collect, &r, &e), -1);
    CHECK_INT(e.code, VB_ERR_IO);
    recs_free(&r);
}

/* What the CSV writer writes, the reader reads back unchanged. */
static void test_csv_round_trip(void)
{
    const char *vals[] = { "plain", "with, comma", "with \"quotes\"", "two\nlines", "" };
    writer *w = writer_new(WRITER_CSV);
    writer_begin_array(w, NULL);
    writer_begin_object(w, NULL);
    char key[8];
    for (size_t i = 0; i < VB_ARRAY_LEN(vals); i++) {
        snprintf(key, sizeof key, "k%zu", i);
        writer_string(w, key, vals[i]);
    }
    writer_end_object(w);
    writer_end_array(w);
    size_t len;
    char *out = writer_finish(w, &len);
    writer_free(&w);
    recs r;
    vb_error e = { 0 };
    CHECK_INT(read_text(out, &r, &e), 0);
    CHECK_INT(r.n, 2);
    CHECK_INT(r.v[1].n, VB_ARRAY_LEN(vals));
    for (size_t i = 0; i < VB_ARRAY_LEN(vals) && i < r.v[1].n; i++)
        CHECK_STR(r.v[1].f[i], vals[i]);
    recs_free(&r);
    free(out);
    CHECK_STR(csvio_version(), "3.0.3");
}

/* ---- jobs ---- */

static vb_config cfg;

static int load(const char *text, gen_jobs *j, vb_error *e)
{
    jobs_free(j);
    return jobs_load_mem(j, text, strlen(text), "jobs.csv", NULL, &cfg, &provider_kling, e);
}

/* Does some kept error contain `needle`? */
static bool has_error(const gen_jobs *j, const char *needle)
{
    for (size_t i = 0; i < j->errors.n; i++)
        if (strstr(j->errors.v[i], needle))
            return true;
    return false;
}

#define CHECK_ERR(j, needle) do { check_count++; if (!has_error((j), (needle))) { \
    check_failures++; fprintf(stderr, "%s:%d: no error contains \"%s\"; errors:\n", \
    __FILE__, __LINE__, (needle)); for (size_t i_ = 0; i_ < (j)->errors.n; i_++) \
    fprintf(stderr, "  %s\n", (j)->errors.v[i_]); } } while (0)

static void test_jobs_basic(void)
{
    gen_jobs j = { 0 };
    vb_error e = { 0 };
    /* columns in any order and case; empty cells take the defaults */
    const char *t = "Prompt,DURATION,id,mode,cfg_scale\n"
                    "\"a cat, on a mat\",10,cat,pro,0.3\n"
                    "a dog,,,,\n";
    CHECK_INT(load(t, &j, &e), 0);
    CHECK_INT(j.nerrors, 0);
    CHECK_INT(j.n, 2);
    CHECK_STR(j.v[0].id, "cat");
    CHECK_STR(j.v[0].prompt, "a cat, on a mat");
    CHECK_INT(j.v[0].duration, 10);
    CHECK_STR(j.v[0].mode, "pro");
    CHECK_NEAR(j.v[0].cfg_scale, 0.3, 1e-12);
    CHECK_INT(j.v[0].kind, GEN_T2V);
    CHECK_INT(j.v[0].line, 2);
    CHECK_INT(j.v[0].row, 2);
    /* built-in defaults: Kling's own */
    CHECK_STR(j.v[1].id, "row-3");
    CHECK_STR(j.v[1].model, "kling-v2-6");
    CHECK_INT(j.v[1].duration, 5);
    CHECK_STR(j.v[1].aspect_ratio, "16:9");
    CHECK_STR(j.v[1].mode, "std");
    CHECK(isnan(j.v[1].cfg_scale));
    CHECK(j.v[1].negative_prompt == NULL);
    CHECK(j.v[1].image == NULL);
    CHECK_STR(jobs_kind_name(j.v[1].kind), "t2v");
    jobs_free(&j);
}

/* Line numbers stay right after cells holding line breaks. */
static void test_jobs_lines(void)
{
    gen_jobs j = { 0 };
    vb_error e = { 0 };
    const char *t = "id,prompt,duration\r\n"
                    "a,\"one\r\ntwo\r\nthree\",5\r\n"
                    "b,\"x\",7\r\n"
                    "c,\"four\nlines\n\nhere\",5\r\n"
                    "d,,5\r\n";
    CHECK_INT(load(t, &j, &e), -1);
    CHECK_INT(j.nerrors, 2);
    CHECK_ERR(&j, "jobs.csv:5 (row 3): duration: 7 s (kling-v2-6 makes 5 or 10)");
    CHECK_ERR(&j, "jobs.csv:10 (row 5): prompt: empty");
    CHECK_HAS(e.msg, "jobs.csv:5 (row 3)"); /* e holds the first */
    CHECK_INT(j.n, 2);
    CHECK_INT(j.v[0].line, 2);
    CHECK_STR(j.v[0].prompt, "one\r\ntwo\r\nthree");
    CHECK_INT(j.v[1].line, 6);
    CHECK_INT(j.v[1].row, 4);
    jobs_free(&j);
}

static void test_jobs_errors(void)
{
    gen_jobs j = { 0 };
    vb_error e = { 0 };

    CHECK_INT(load("id,prompt,colour\na,b,red\n", &j, &e), -1);
    CHECK_ERR(&j, "jobs.csv:1: unknown column 'colour'");

    /* a nameless column (a spreadsheet's trailing one) must stay empty */
    CHECK_INT(load("id,prompt,\na,b,\n", &j, &e), 0);
    CHECK_INT(load("id,prompt,\na,b,\nc,d,oops\n", &j, &e), -1);
    CHECK_ERR(&j, "jobs.csv:3 (row 3): cell 3 holds a value, but the header names no column");
    CHECK_INT(j.nerrors, 1);
    CHECK_INT(load(",\na,b\n", &j, &e), -1);
    CHECK_ERR(&j, "jobs.csv:1: the first row names no column");
    CHECK_INT(j.nerrors, 1);

    CHECK_INT(load("id,prompt,prompt\na,b,c\n", &j, &e), -1);
    CHECK_ERR(&j, "column 'prompt' appears twice");

    CHECK_INT(load("id,prompt\na,x\nb,y\na,z\n", &j, &e), -1);
    CHECK_ERR(&j, "jobs.csv:4 (row 4): id: 'a' is already the id of line 2 (row 2)");
    CHECK_INT(j.nerrors, 1);

    /* an explicit id equal to another row's default one */
    CHECK_INT(load("id,prompt\n,x\nrow-2,y\n", &j, &e), -1);
    CHECK_ERR(&j, "jobs.csv:3 (row 3): id: 'row-2'");

    CHECK_INT(load("id,prompt,duration,aspect_ratio,mode,cfg_scale\n"
                   "a,x,77,wide,fast,1.5\n", &j, &e), -1);
    CHECK_ERR(&j, "duration: '77' is not a whole number of seconds from 1 to 30");
    CHECK_ERR(&j, "aspect_ratio: 'wide' is not an aspect ratio");
    CHECK_ERR(&j, "mode: 'fast' is not std or pro");
    CHECK_ERR(&j, "cfg_scale: '1.5' is not between 0 and 1");
    CHECK_INT(j.nerrors, 4);

    CHECK_INT(load("prompt,cfg_scale\nx,nan\ny,0x1\nz,-0.1\n", &j, &e), -1);
    CHECK_INT(j.nerrors, 3);

    CHECK_INT(load("prompt,image_tail\nx,tail.png\n", &j, &e), -1);
    CHECK_ERR(&j, "image_tail without image");

    CHECK_INT(load("prompt,image\nx,ftp://host/a.png\ny,/nonexistent/a.png\n", &j, &e), -1);
    CHECK_ERR(&j, "jobs.csv:2 (row 2): image: 'ftp' URLs are not supported");
    CHECK_ERR(&j, "jobs.csv:3 (row 3): image: '/nonexistent/a.png'");

    CHECK_INT(load("id,prompt\na,\"x, y\",z\n", &j, &e), -1);
    CHECK_ERR(&j, "3 fields, the header has 2");

    CHECK_INT(load("", &j, &e), -1);
    CHECK_ERR(&j, "empty");
    CHECK_INT(load("id,prompt\n", &j, &e), -1);
    CHECK_ERR(&j, "no jobs");
    CHECK_INT(load("id,prompt\na,\"open\n", &j, &e), -1);
    CHECK_ERR(&j, "jobs.csv:2: malformed CSV");

    /* rows of empty cells (spreadsheet exports) are not jobs */
    CHECK_INT(load("id,prompt\n,\n a , x \n,\n", &j, &e), 0);
    CHECK_INT(j.n, 1);
    CHECK_STR(j.v[0].id, "a");

    /* ids: not too long, no control characters */
    char big[300];
    snprintf(big, sizeof big, "id,prompt\n%0*d,x\n\"a\tb\",y\n", JOBS_MAX_ID + 1, 7);
    CHECK_INT(load(big, &j, &e), -1);
    CHECK_INT(j.nerrors, 2);
    CHECK_ERR(&j, "longer than");
    CHECK_ERR(&j, "control character");

    /* invalid UTF-8 in a prompt */
    CHECK_INT(load("prompt\n\"caf\xE9\"\n", &j, &e), -1);
    CHECK_ERR(&j, "prompt: not valid UTF-8");
    jobs_free(&j);
}

/* Only the first JOBS_MAX_ERRORS messages are kept; all are counted. */
static void test_jobs_error_cap(void)
{
    char *t = vb_xstrdup("id,duration,prompt\n");
    for (int i = 0; i < 30; i++) {
        char *n = vb_xasprintf("%sr%d,7,x\n", t, i);
        free(t);
        t = n;
    }
    gen_jobs j = { 0 };
    vb_error e = { 0 };
    CHECK_INT(load(t, &j, &e), -1);
    CHECK_INT(j.nerrors, 30);
    CHECK_INT(j.errors.n, JOBS_MAX_ERRORS);
    CHECK_HAS(j.errors.v[0], "jobs.csv:2 (row 2)");
    CHECK_HAS(j.errors.v[JOBS_MAX_ERRORS - 1], "jobs.csv:21 (row 21)");
    jobs_free(&j);
    free(t);
}

static void test_jobs_defaults(void)
{
    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    CHECK_INT(preset_load_string(&c, "[generate]\nmodel = kling-v2-6\nduration = 10\n"
                                 "mode = pro\ncfg_scale = 0.25\naspect_ratio = 9:16\n"
                                 "negative_prompt = blur, text\n", "t.ini", &e), 0);
    gen_jobs j = { 0 };
    const char *t = "prompt,image,model,aspect_ratio\nx,,,\ny,https://h/a.png,kling-v2-1,\n"
                    "z,,,1:1\n";
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "jobs.csv", NULL, &c, &provider_kling, &e), 0);
    CHECK_INT(j.n, 3);
    CHECK_STR(j.v[0].model, "kling-v2-6");
    CHECK_INT(j.v[0].duration, 10);
    CHECK_STR(j.v[0].mode, "pro");
    CHECK_NEAR(j.v[0].cfg_scale, 0.25, 1e-12);
    CHECK_STR(j.v[0].aspect_ratio, "9:16");
    CHECK_STR(j.v[0].negative_prompt, "blur, text");
    /* image-to-video: the model from the cell; no default aspect ratio
     * (the image decides); the URL is kept as is, no local file */
    CHECK_INT(j.v[1].kind, GEN_I2V);
    CHECK_STR(j.v[1].model, "kling-v2-1");
    CHECK(j.v[1].aspect_ratio == NULL);
    CHECK_STR(j.v[1].image, "https://h/a.png");
    CHECK(j.v[1].image_file == NULL);
    CHECK_STR(j.v[2].aspect_ratio, "1:1");
    jobs_free(&j);

    /* no model at all: neither a cell nor a default */
    CHECK_INT(preset_load_string(&c, "[generate]\nmodel =\n", "t.ini", &e), 0);
    t = "prompt\nx\n";
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "jobs.csv", NULL, &c, &provider_kling, &e), -1);
    CHECK_ERR(&j, "model: empty and no [generate] default");
    jobs_free(&j);
    preset_free_contents(&c);
}

/* Local images: relative to the folder of JOBS.csv, and must exist. */
static void test_jobs_images(void)
{
    char dir[] = "/tmp/vbatch-test-jobs.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char *img = vb_xasprintf("%s/first.png", dir);
    FILE *f = fopen(img, "w");
    if (f) {
        fputs("not really a png", f);
        fclose(f);
    }
    gen_jobs j = { 0 };
    vb_error e = { 0 };
    const char *t = "image,image_tail\nfirst.png,first.png\n";
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "jobs.csv", dir, &cfg, &provider_kling, &e), 0);
    CHECK_INT(j.n, 1);
    CHECK_INT(j.v[0].kind, GEN_I2V);
    CHECK(j.v[0].prompt == NULL); /* optional for image-to-video */
    CHECK_STR(j.v[0].image, "first.png");
    char *real = realpath(img, NULL);
    CHECK_STR(j.v[0].image_file, real);
    CHECK_STR(j.v[0].image_tail_file, real);
    free(real);
    jobs_free(&j);
    /* the same file from the current folder does not exist */
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "jobs.csv", "/nonexistent", &cfg,
                            &provider_kling, &e), -1);
    CHECK_INT(j.nerrors, 2);
    jobs_free(&j);
    unlink(img);
    rmdir(dir);
    free(img);
}

/* A JOBS.csv from someone else: local images only from its folder (real
 * paths, links resolved) or the folders allowed; the others refuse their
 * job, which is never deduplicated, and are never read. */
static void test_jobs_image_roots(void)
{
    char top[] = "/tmp/vbatch-test-roots.XXXXXX";
    if (!mkdtemp(top)) {
        CHECK(!"mkdtemp");
        return;
    }
    char *proj = vb_xasprintf("%s/proj", top), *sub = vb_xasprintf("%s/proj/sub", top);
    char *priv = vb_xasprintf("%s/private", top), *near = vb_xasprintf("%s/proj-near", top);
    CHECK_INT(mkdir(proj, 0700), 0);
    CHECK_INT(mkdir(sub, 0700), 0);
    CHECK_INT(mkdir(priv, 0700), 0);
    CHECK_INT(mkdir(near, 0700), 0);
    const char *files[] = { "proj/sub/in.png", "private/secret.png", "proj-near/x.png" };
    for (size_t i = 0; i < VB_ARRAY_LEN(files); i++) {
        char *f = vb_xasprintf("%s/%s", top, files[i]);
        FILE *fp = fopen(f, "w");
        CHECK(fp != NULL);
        if (fp) {
            fputs("bytes", fp);
            fclose(fp);
        }
        free(f);
    }
    char *out_link = vb_xasprintf("%s/out.png", proj), *in_link = vb_xasprintf("%s/in.png", proj);
    CHECK_INT(symlink("../private/secret.png", out_link), 0);
    CHECK_INT(symlink("sub/in.png", in_link), 0);
    char *csv = vb_xasprintf("%s/jobs.csv", proj);
    char *text = vb_xasprintf("id,prompt,image\n"
                              "a,x,sub/in.png\n"             /* inside */
                              "b,x,in.png\n"                 /* a link inside */
                              "c,x,../private/secret.png\n"  /* ../ */
                              "d,x,%s/private/secret.png\n"  /* absolute */
                              "e,x,out.png\n"                /* a link to outside */
                              "f,x,../proj-near/x.png\n"     /* a name sharing the prefix */
                              "g,x,sub/../../proj/sub/in.png\n"
                              "h,x,../private/secret.png\n", top);
    FILE *fp = fopen(csv, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
    char *real_in = vb_xasprintf("%s/sub/in.png", proj);
    char *r = realpath(real_in, NULL);
    free(real_in);
    real_in = r;

    gen_jobs j = { 0 };
    vb_error e = { 0 };
    CHECK_INT(jobs_load(&j, csv, &cfg, &provider_kling, &e), 0);
    CHECK_INT(j.n, 8);
    if (j.n == 8) {
        static const bool refused[] = { false, false, true, true, true, true, false, true };
        for (size_t i = 0; i < 8; i++) {
            CHECK(!!j.v[i].refused == refused[i]);
            if (refused[i]) {
                CHECK(j.v[i].image_file == NULL);
                CHECK_HAS(j.v[i].refused, "is outside the folder of");
                CHECK_HAS(j.v[i].refused, "--images-from");
            } else {
                CHECK_STR(j.v[i].image_file, real_in);
            }
        }
        char where[32];
        snprintf(where, sizeof where, "jobs.csv:4 (row 4): image: '");
        CHECK_HAS(j.v[2].refused, where);
        /* a, b and g name the same file: made once; c and h, refused,
         * are nobody's duplicate */
        CHECK_INT(jobs_dedupe(&j, "kling"), 6);
        CHECK_INT(j.v[1].duplicate_of, 0);
        CHECK_INT(j.v[6].duplicate_of, 0);
        CHECK_INT(j.v[7].duplicate_of, -1);
        CHECK_INT(j.v[2].duplicate_of, -1);
    }
    jobs_free(&j);

    /* Folders allowed: private/ (as a relative name too), not proj-near. */
    vb_strlist dirs = { 0 };
    char *cwd = getcwd(NULL, 0);
    CHECK_INT(chdir(top), 0);
    vb_strlist_add(&dirs, "private");
    CHECK_INT(jobs_load_from(&j, csv, &dirs, &cfg, &provider_kling, &e), 0);
    if (j.n == 8) {
        CHECK(!j.v[2].refused && !j.v[3].refused && !j.v[4].refused && !j.v[7].refused);
        CHECK(j.v[5].refused != NULL);
        CHECK_HAS(j.v[5].refused, "and the --images-from folders");
        CHECK_HAS(j.v[4].image_file, "/private/secret.png");
    }
    jobs_free(&j);
    vb_strlist_clear(&dirs);
    /* "/" allows every file */
    vb_strlist_add(&dirs, "/");
    CHECK_INT(jobs_load_from(&j, csv, &dirs, &cfg, &provider_kling, &e), 0);
    for (size_t i = 0; i < j.n; i++)
        CHECK(j.v[i].refused == NULL);
    jobs_free(&j);
    vb_strlist_clear(&dirs);
    /* From text: the base folder is the root. */
    const char *t = "image\nin.png\nout.png\n";
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "mem.csv", "proj", &cfg, &provider_kling, &e), 0);
    CHECK_INT(j.n, 2);
    if (j.n == 2) {
        CHECK(j.v[0].refused == NULL);
        CHECK_HAS(j.v[1].refused, "mem.csv:3 (row 3): image: 'out.png' is outside the folder of");
    }
    jobs_free(&j);
    /* A missing file is still an error of the file, inside or not. */
    t = "image\n../private/none.png\n";
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "mem.csv", "proj", &cfg, &provider_kling, &e), -1);
    CHECK_INT(j.nerrors, 1);
    jobs_free(&j);
    if (cwd)
        CHECK_INT(chdir(cwd), 0);
    free(cwd);

    char *rm = vb_xasprintf("rm -rf '%s'", top);
    CHECK_INT(system(rm), 0);
    free(rm);
    free(real_in); free(text); free(csv); free(out_link); free(in_link);
    free(proj); free(sub); free(priv); free(near);
}

/* Kling's replies: refused keys are PV_AUTH, whatever the HTTP status
 * or body says about them; a session blanks its secrets out of a message. */
static void test_kling_auth(void)
{
    static const struct { long http; const char *body; int verdict; } r[] = {
        { 401, "{\"code\":1000,\"message\":\"Authentication failed\"}", PV_AUTH },
        { 401, "{\"code\":1001,\"message\":\"Authorization is empty\"}", PV_AUTH },
        { 401, "{\"code\":1002,\"message\":\"Authorization is invalid\"}", PV_AUTH },
        { 401, "{\"code\":1003,\"message\":\"not yet valid\"}", PV_AUTH_EXPIRED },
        { 401, "{\"code\":1004,\"message\":\"expired\"}", PV_AUTH_EXPIRED },
        { 403, "{\"code\":1103,\"message\":\"no access\"}", PV_AUTH },
        { 404, "{\"code\":1203,\"message\":\"no such task\"}", PV_NOT_FOUND },
        { 403, "{\"code\":1304,\"message\":\"IP not allowed\"}", PV_AUTH },
        { 403, "<html>403 Forbidden</html>", PV_AUTH },
        { 403, "", PV_AUTH },
        { 403, "{\"code\":77777,\"message\":\"?\"}", PV_AUTH },
        { 401, "{\"message\":\"Unauthorized\"}", PV_AUTH },
        { 401, "", PV_AUTH_EXPIRED },
        { 400, "{\"code\":1201,\"message\":\"bad\"}", PV_REJECTED },
        { 404, "<html>not found</html>", PV_NOT_FOUND },
    };
    /* On a create, 1203 and 1103 are about the model: this job only. */
    static const struct { long http; const char *body; int verdict; } c[] = {
        { 404, "{\"code\":1203,\"message\":\"resource does not exist\"}", PV_MODEL },
        { 400, "{\"code\":1203,\"message\":\"resource does not exist\"}", PV_MODEL },
        { 403, "{\"code\":1103,\"message\":\"no access\"}", PV_MODEL },
        { 401, "{\"code\":1000,\"message\":\"Authentication failed\"}", PV_AUTH },
        { 404, "<html>not found</html>", PV_NOT_FOUND },
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(c); i++) {
        provider_reply pr = { 0 };
        provider_kling.parse_reply(PC_CREATE, c[i].http, 0, c[i].body, strlen(c[i].body), &pr);
        CHECK_INT(pr.verdict, c[i].verdict);
        provider_reply_clear(&pr);
    }
    for (size_t i = 0; i < VB_ARRAY_LEN(r); i++) {
        provider_reply pr = { 0 };
        provider_kling.parse_reply(PC_QUERY, r[i].http, 0, r[i].body, strlen(r[i].body), &pr);
        if (pr.verdict != r[i].verdict)
            fprintf(stderr, "reply %zu: HTTP %ld %s\n", i, r[i].http, r[i].body);
        CHECK_INT(pr.verdict, r[i].verdict);
        provider_reply_clear(&pr);
    }
    setenv("KLING_ACCESS_KEY", "unit-access-key-A1", 1);
    setenv("KLING_SECRET_KEY", "unit-secret-key-S2", 1);
    vb_error e = { 0 };
    provider_session *ps = provider_kling.session_new(&cfg, &e);
    CHECK(ps != NULL);
    if (ps) {
        char *line = NULL;
        CHECK_INT(provider_kling.auth_header(ps, 1.7e9, false, &line, &e), 0);
        char msg[512];
        snprintf(msg, sizeof msg, "unknown key unit-access-key-A1, sk unit-secret-key-S2, "
                 "token %s; again unit-access-key-A1", line ? line + 22 : "");
        provider_kling.scrub(ps, msg);
        CHECK(strstr(msg, "unit-access-key-A1") == NULL);
        CHECK(strstr(msg, "unit-secret-key-S2") == NULL);
        CHECK(strstr(msg, "eyJ") == NULL);
        CHECK_HAS(msg, "unknown key ******************, sk ******************, token *");
        free(line);
        provider_kling.session_free(&ps);
        CHECK(ps == NULL);
    }
    unsetenv("KLING_ACCESS_KEY");
    unsetenv("KLING_SECRET_KEY");
}

static void test_canonical(void)
{
    gen_jobs a = { 0 }, b = { 0 };
    vb_error e = { 0 };
    CHECK_INT(load("id,prompt,mode,cfg_scale\nx,\"a \"\"cat\"\"\",pro,0.5\n", &a, &e), 0);
    const char *t = "cfg_scale,mode,prompt,id\n0.50,pro,\"a \"\"cat\"\"\",y\n";
    CHECK_INT(jobs_load_mem(&b, t, strlen(t), "other.csv", NULL, &cfg, &provider_kling, &e), 0);
    char *ca = jobs_canonical(&a.v[0], "kling", NULL, NULL);
    char *cb = jobs_canonical(&b.v[0], "kling", NULL, NULL);
    /* column order, ids and number spelling do not matter */
    CHECK_STR(ca, cb);
    CHECK_STR(ca, "{\"aspect_ratio\":\"16:9\",\"cfg_scale\":0.5,\"duration\":5,\"kind\":\"t2v\","
                  "\"mode\":\"pro\",\"model\":\"kling-v2-6\",\"prompt\":\"a \\\"cat\\\"\","
                  "\"provider\":\"kling\"}");
    char *cc = jobs_canonical(&a.v[0], "other", NULL, NULL);
    CHECK(strcmp(ca, cc) != 0);
    free(ca);
    free(cb);
    free(cc);
    jobs_free(&a);
    jobs_free(&b);

    /* images: by the caller's reference when given (content hash) */
    CHECK_INT(load("image,prompt\nhttps://h/a.png,\"\xC3\xA9t\xC3\xA9\"\n", &a, &e), 0);
    char *ci = jobs_canonical(&a.v[0], "kling", "sha256:abc", NULL);
    CHECK_HAS(ci, "\"image\":\"sha256:abc\"");
    CHECK_HAS(ci, "\"prompt\":\"\\u00E9t\\u00E9\""); /* ASCII only */
    CHECK(strstr(ci, "aspect_ratio") == NULL);
    free(ci);
    ci = jobs_canonical(&a.v[0], "kling", NULL, NULL);
    CHECK_HAS(ci, "\"image\":\"https://h/a.png\"");
    free(ci);
    jobs_free(&a);
}

/* One job: its copy and its journal form give the same request back;
 * jobs_job_clear leaves nothing behind (ASan's leak check). */
static void test_job_copy_json(void)
{
    gen_jobs a = { 0 };
    vb_error e = { 0 };
    CHECK_INT(load("id,prompt,negative_prompt,mode,cfg_scale,duration,image\n"
                   "k1,\"a \"\"cat\"\",\nsofa\",blur,pro,0.25,10,https://h/a.png\n", &a, &e), 0);
    CHECK_INT(a.n, 1);
    gen_job c, r;
    jobs_job_copy(&c, &a.v[0]);
    CHECK(c.prompt != a.v[0].prompt);
    char *ca = jobs_canonical(&a.v[0], "kling", NULL, NULL);
    char *cc = jobs_canonical(&c, "kling", NULL, NULL);
    CHECK_STR(cc, ca);
    char *text = jobs_job_to_json(&c);
    CHECK_HAS(text, "\"id\":\"k1\"");
    CHECK_INT(jobs_job_from_json(text, &r), 0);
    char *cr = jobs_canonical(&r, "kling", NULL, NULL);
    CHECK_STR(cr, ca);
    CHECK_STR(r.id, "k1");
    CHECK_INT(r.line, a.v[0].line);
    CHECK_INT(r.row, a.v[0].row);
    CHECK_INT(r.kind, GEN_I2V);
    CHECK_INT(r.duplicate_of, -1);
    CHECK(r.refused == NULL);
    gen_job bad;
    CHECK_INT(jobs_job_from_json("[1]", &bad), -1);
    CHECK_INT(jobs_job_from_json("not json", &bad), -1);
    free(text);
    free(ca);
    free(cc);
    free(cr);
    jobs_job_clear(&c);
    CHECK(c.id == NULL && c.prompt == NULL);
    jobs_job_clear(&r);
    jobs_free(&a);
}

static void test_dedupe(void)
{
    gen_jobs j = { 0 };
    vb_error e = { 0 };
    const char *t = "id,prompt,duration,mode\n"
                    "a,a cat,5,std\n"
                    "b,a dog,5,std\n"
                    "c,a cat,,\n"        /* the same as a once defaults apply */
                    "d,a cat,10,std\n"   /* differs by its duration */
                    "e,a dog,5,std\n"
                    "f,a cat,5,std\n";
    CHECK_INT(load(t, &j, &e), 0);
    CHECK_INT(jobs_dedupe(&j, "kling"), 3);
    CHECK_INT(j.v[0].duplicate_of, -1);
    CHECK_INT(j.v[1].duplicate_of, -1);
    CHECK_INT(j.v[2].duplicate_of, 0);
    CHECK_INT(j.v[3].duplicate_of, -1);
    CHECK_INT(j.v[4].duplicate_of, 1);
    CHECK_INT(j.v[5].duplicate_of, 0);
    jobs_free(&j);
}

/* ---- Kling ---- */

static void test_kling(void)
{
    gen_jobs j = { 0 };
    vb_error e = { 0 };
    const char *t = "id,model,mode,duration,image,prompt\n"
                    "a,kling-v2-6,std,5,,x\n"
                    "b,kling-v2-6,pro,10,,x\n"
                    "c,kling-v3,std,7,,x\n"
                    "d,kling-v3,pro,15,,x\n"
                    "e,kling-v2-5-turbo,pro,10,,x\n"
                    "f,kling-v2-1,pro,5,https://h/i.jpg,\n"
                    "g,kling-v1-5,std,10,https://h/i.jpg,\n";
    CHECK_INT(load(t, &j, &e), 0);
    CHECK_INT(j.n, 7);
    /* published (e, f, g) or estimated (a-d) units per second times seconds */
    const double want[] = { 2, 7, 4.2, 12, 5, 3.5, 4 };
    for (size_t i = 0; i < j.n && i < VB_ARRAY_LEN(want); i++)
        CHECK_NEAR(provider_kling.estimate_units(&j.v[i]), want[i], 1e-9);
    jobs_free(&j);

    t = "id,model,mode,image,prompt,aspect_ratio,duration,image_tail\n"
        "a,kling-v9,std,,x,,,\n"
        "b,kling-v1-5,std,,x,,,\n"          /* image-to-video only */
        "c,kling-v2-5-turbo,std,,x,,,\n"    /* pro only */
        "d,kling-v2-6,std,,x,4:3,,\n"
        "e,kling-v1-6,std,,x,,,\n"          /* discontinued */
        "f,kling-v2-6,std,,x,,3,\n"         /* 5 or 10 only */
        "g,kling-v3,std,,x,,16,\n";         /* 3 to 15 */
    CHECK_INT(load(t, &j, &e), -1);
    CHECK_INT(j.nerrors, 7);
    CHECK_ERR(&j, "jobs.csv:2 (row 2): model: 'kling-v9' is not a Kling model (known: "
                  "kling-v2-6, kling-v2-5-turbo");
    CHECK_ERR(&j, "jobs.csv:3 (row 3): model: kling-v1-5 does not do text-to-video");
    CHECK_ERR(&j, "jobs.csv:4 (row 4): mode: std is not offered by kling-v2-5-turbo");
    CHECK_ERR(&j, "jobs.csv:5 (row 5): aspect_ratio: 4:3");
    CHECK_ERR(&j, "jobs.csv:6 (row 6): model: kling-v1-6 is discontinued by Kling (answered "
                  "1203, resource does not exist); live models: kling-v2-6,");
    CHECK_ERR(&j, "jobs.csv:7 (row 7): duration: 3 s (kling-v2-6 makes 5 or 10)");
    CHECK_ERR(&j, "jobs.csv:8 (row 8): duration: 16 s (kling-v3 makes 3 to 15)");
    for (size_t i = 0; i < j.errors.n; i++)
        CHECK(strstr(j.errors.v[i], "kling-v1-6,") == NULL); /* never offered as live */
    jobs_free(&j);

    /* 2500 characters (not bytes) are accepted, 2501 are not */
    size_t n = 2501 * 2 + 64;
    char *big = vb_xmalloc(n);
    for (int chars = 2500; chars <= 2501; chars++) {
        strcpy(big, "prompt,negative_prompt\n\"");
        char *p = big + strlen(big);
        for (int i = 0; i < chars; i++) {
            *p++ = '\xC3';
            *p++ = '\xA9';
        }
        strcpy(p, "\",\n");
        CHECK_INT(load(big, &j, &e), chars == 2500 ? 0 : -1);
        if (chars == 2501)
            CHECK_ERR(&j, "prompt: 2501 characters, Kling takes at most 2500");
    }
    free(big);
    jobs_free(&j);

    CHECK(provider_find("kling") == &provider_kling);
    CHECK(provider_find("runway") == NULL);
    char *names = provider_names();
    CHECK_STR(names, "kling, fal");
    CHECK(provider_find("fal") == &provider_fal);
    free(names);
}

/* Kling's two API styles: the request shapes per model and per
 * [provider.kling] api, the lookups (escaped ids, one or many), and the
 * replies of the current style (a list of tasks, billing in units). */
static void test_kling_current(void)
{
    setenv("KLING_API_KEY", "unit-api-key-K3", 1);
    vb_config c;
    preset_defaults(&c);
    free(c.kling.callback_url);
    c.kling.callback_url = vb_xstrdup("https://hooks.example.com/k");
    vb_error e = { 0 };
    gen_jobs j = { 0 };
    const char *t = "id,model,duration,mode,prompt,image\n"
                    "a,kling-v3,7,pro,x,\n"
                    "b,kling-v2-6,5,std,y,\n"
                    "c,kling-v3,5,std,z,https://h/i.png\n";
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "jobs.csv", NULL, &c, &provider_kling, &e), 0);
    provider_session *ps = provider_kling.session_new(&c, &e);
    CHECK(ps != NULL);
    if (!ps || j.n != 3)
        goto out;
    char *path = NULL, *body = NULL;
    /* auto: kling-v3 takes the current style, kling-v2-6 the legacy one */
    CHECK(provider_kling.batchable(ps, &j.v[0]));
    CHECK(!provider_kling.batchable(ps, &j.v[1]));
    CHECK_INT(provider_kling.create_request(ps, &j.v[0], "vb-1", NULL, NULL, &path, &body, &e), 0);
    CHECK_STR(path, "/text-to-video/kling-v3");
    CHECK_STR(body, "{\"prompt\":\"x\",\"settings\":{\"resolution\":\"1080p\","
                    "\"aspect_ratio\":\"16:9\",\"duration\":7},\"options\":{"
                    "\"external_task_id\":\"vb-1\","
                    "\"callback_url\":\"https://hooks.example.com/k\"}}");
    free(path);
    free(body);
    CHECK_INT(provider_kling.create_request(ps, &j.v[2], "vb-3", "AAAA", NULL, &path, &body, &e),
              0);
    CHECK_STR(path, "/image-to-video/kling-v3");
    CHECK_HAS(body, "\"image\":\"AAAA\"");
    CHECK_HAS(body, "\"settings\":{\"resolution\":\"720p\",\"duration\":5}");
    free(path);
    free(body);
    CHECK_INT(provider_kling.create_request(ps, &j.v[1], "vb-2", NULL, NULL, &path, &body, &e), 0);
    CHECK_STR(path, "/v1/videos/text2video");
    CHECK_HAS(body, "\"model_name\":\"kling-v2-6\"");
    CHECK_HAS(body, "\"duration\":\"5\"");
    CHECK_HAS(body, "\"callback_url\":\"https://hooks.example.com/k\"");
    free(path);
    free(body);
    /* lookups: ids escaped, external ids by their own key */
    path = provider_kling.query_path(ps, &j.v[0], "a b/c", false);
    CHECK_STR(path, "/tasks?task_ids=a%20b%2Fc");
    free(path);
    path = provider_kling.query_path(ps, &j.v[0], "vb-1", true);
    CHECK_STR(path, "/tasks?external_task_ids=vb-1");
    free(path);
    path = provider_kling.query_path(ps, &j.v[1], "T1", false);
    CHECK_STR(path, "/v1/videos/text2video/T1");
    free(path);
    const char *ids[] = { "T1", "T2", "T,3" };
    path = provider_kling.batch_path(ps, ids, 3);
    CHECK_STR(path, "/tasks?task_ids=T1,T2,T%2C3");
    free(path);
out:
    provider_kling.session_free(&ps);
    jobs_free(&j);
    preset_free_contents(&c);
    unsetenv("KLING_API_KEY");
}

/* The current style's replies: a list of tasks, billing in units; a call
 * refused as a whole; one task looked up alone. */
static void test_kling_current_replies(void)
{
    /* a batch reply: each task, units from billing lines in units */
    const char *reply = "{\"code\":0,\"message\":\"SUCCEED\",\"data\":["
        "{\"task_id\":\"T1\",\"status\":\"succeeded\",\"outputs\":{\"videos\":[{\"id\":\"v\","
        "\"url\":\"https://cdn/v.mp4\",\"duration\":\"7.1\"}]},\"billing\":[{\"amount\":\"4.90\","
        "\"charge_type\":\"unit\"},{\"amount\":\"1.00\",\"charge_type\":\"cash\"}]},"
        "{\"task_id\":\"T2\",\"status\":\"processing\",\"external_task_id\":\"vb-2\"},"
        "{\"status\":\"failed\"},"
        "{\"task_id\":\"T4\",\"status\":\"failed\",\"status_msg\":\"policy\"}]}";
    provider_reply all = { 0 }, *tasks = NULL;
    size_t n = 0;
    provider_kling.parse_batch(200, 0, reply, strlen(reply), &all, &tasks, &n);
    CHECK_INT(all.verdict, PV_OK);
    CHECK_INT(n, 3); /* the one without an id is dropped */
    if (n == 3) {
        CHECK_STR(tasks[0].task_id, "T1");
        CHECK_INT(tasks[0].status, PT_SUCCEED);
        CHECK_STR(tasks[0].video_url, "https://cdn/v.mp4");
        CHECK_NEAR(tasks[0].units, 4.9, 1e-9);
        CHECK_NEAR(tasks[0].video_duration, 7.1, 1e-9);
        CHECK_INT(tasks[1].status, PT_PROCESSING);
        CHECK_STR(tasks[1].external_id, "vb-2");
        CHECK(isnan(tasks[1].units));
        CHECK_INT(tasks[2].status, PT_FAILED);
        CHECK_STR(tasks[2].status_msg, "policy");
    }
    for (size_t k = 0; k < n; k++)
        provider_reply_clear(&tasks[k]);
    free(tasks);
    provider_reply_clear(&all);
    /* the call refused as a whole; a reply that is no list */
    static const struct { long http; const char *body; int verdict; } bad[] = {
        { 429, "{\"code\":1302,\"message\":\"too fast\"}", PV_RATE },
        { 401, "{\"code\":1004,\"message\":\"expired\"}", PV_AUTH_EXPIRED },
        { 200, "{\"code\":0,\"data\":{\"task_id\":\"T1\"}}", PV_TRANSIENT },
        { 200, "{\"code\":0,\"da", PV_TRANSIENT },
        { 502, "<html>bad gateway</html>", PV_TRANSIENT },
    };
    for (size_t k = 0; k < VB_ARRAY_LEN(bad); k++) {
        provider_kling.parse_batch(bad[k].http, 0, bad[k].body, strlen(bad[k].body), &all,
                                   &tasks, &n);
        CHECK_INT(all.verdict, bad[k].verdict);
        CHECK_INT(n, 0);
        free(tasks);
        provider_reply_clear(&all);
    }
    /* one task looked up alone: the list's first, or not found */
    provider_reply r = { 0 };
    const char *one = "{\"code\":0,\"data\":[{\"task_id\":\"T9\",\"status\":\"submitted\"}]}";
    provider_kling.parse_reply(PC_QUERY, 200, 0, one, strlen(one), &r);
    CHECK_INT(r.verdict, PV_OK);
    CHECK_STR(r.task_id, "T9");
    CHECK_INT(r.status, PT_SUBMITTED);
    const char *none = "{\"code\":0,\"data\":[]}";
    provider_kling.parse_reply(PC_QUERY, 200, 0, none, strlen(none), &r);
    CHECK_INT(r.verdict, PV_NOT_FOUND);
    provider_reply_clear(&r);
}

/* [provider.kling] api overrides the model table's style. */
static void test_kling_api_setting(void)
{
    setenv("KLING_API_KEY", "unit-api-key-K3", 1);
    vb_config c;
    preset_defaults(&c);
    vb_error e = { 0 };
    gen_jobs j = { 0 };
    const char *t = "id,model,duration,prompt\na,kling-v3,7,x\nb,kling-v2-6,5,y\n";
    CHECK_INT(jobs_load_mem(&j, t, strlen(t), "jobs.csv", NULL, &c, &provider_kling, &e), 0);
    char *path = NULL, *body = NULL;
    provider_session *ps = NULL;
    if (j.n != 2)
        goto out;
    /* api = legacy sends kling-v3 the legacy way */
    c.kling.api = KLING_API_LEGACY;
    ps = provider_kling.session_new(&c, &e);
    CHECK(ps && !provider_kling.batchable(ps, &j.v[0]));
    if (ps && provider_kling.create_request(ps, &j.v[0], "vb-1", NULL, NULL, &path, &body,
                                            &e) == 0) {
        CHECK_STR(path, "/v1/videos/text2video");
        CHECK_HAS(body, "\"model_name\":\"kling-v3\"");
        free(path);
        free(body);
    }
    provider_kling.session_free(&ps);
    c.kling.api = KLING_API_CURRENT;
    ps = provider_kling.session_new(&c, &e);
    CHECK(ps && provider_kling.batchable(ps, &j.v[1]));
out:
    provider_kling.session_free(&ps);
    jobs_free(&j);
    preset_free_contents(&c);
    unsetenv("KLING_API_KEY");
}

int main(void)
{
    preset_defaults(&cfg);
    test_csv_basic();
    test_csv_errors();
    test_csv_round_trip();
    test_jobs_basic();
    test_jobs_lines();
    test_jobs_errors();
    test_jobs_error_cap();
    test_jobs_defaults();
    test_jobs_images();
    test_jobs_image_roots();
    test_canonical();
    test_job_copy_json();
    test_dedupe();
    test_kling();
    test_kling_auth();
    test_kling_current();
    test_kling_current_replies();
    test_kling_api_setting();
    preset_free_contents(&cfg);
    return check_result("test-jobs");
}
