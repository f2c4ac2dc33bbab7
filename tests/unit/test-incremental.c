/* test-incremental.c - the pure parts of incremental runs: SHA-256 of a
 * buffer and of a file (crypto.c, known vectors), an analysis written and read back
 * (figures kept, -inf true peak restored, the content hash checked), and
 * the journal's skip decision over two batches in a scratch output folder:
 * unchanged, other size, other mtime, other settings, --force, a failed
 * result, a result of the same batch, a deleted folder, a URL. */
#include "config.h"
#include "check.h"
#include "analyse.h"
#include "crypto.h"
#include "mediaio.h"
#include "report.h"
#include "util.h"
#include "writer.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* A stream of `left` bytes of 'a', served in pieces of up to 7777
 * bytes (several reads per block); fails once `fail_at` bytes are given
 * (0: never). */
typedef struct feed { long left, given, fail_at; int reads; } feed;

static long feed_read(void *ud, void *buf, size_t n)
{
    feed *f = ud;
    f->reads++;
    if (f->fail_at && f->given >= f->fail_at)
        return -1;
    long k = f->left < (long)n ? f->left : (long)n;
    if (k > 7777)
        k = 7777;
    memset(buf, 'a', (size_t)k);
    f->left -= k;
    f->given += k;
    return k;
}

static long file_read(void *ud, void *buf, size_t n)
{
    return mediaio_read(ud, buf, n);
}

static void test_hash(const char *dir)
{
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    vb_error e = {0};
    CHECK(crypto_sha256_hex("abc", 3, hex, &e) == 0);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(crypto_sha256_hex("", 0, hex, &e) == 0);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* 1,000,000 times 'a' (FIPS 180-2), from a stream in short reads. */
    const char *million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    feed f = { .left = 1000000 };
    CHECK(crypto_sha256_read(feed_read, &f, hex, &e) == 0);
    CHECK_STR(hex, million);
    /* A reader that fails: -1, no hash. */
    feed bad = { .left = 1000000, .fail_at = 500000 };
    CHECK(crypto_sha256_read(feed_read, &bad, hex, &e) == -1);
    CHECK_STR(hex, "");

    /* The same from a file, through the item's bounded reader, in blocks
     * larger than one read of the file. */
    char *path = util_path_join(dir, "million-a");
    char *buf = vb_xmalloc(3000000);
    memset(buf, 'a', 3000000);
    CHECK(util_write_atomic(path, buf, 1000000, &e) == 0);
    mediaio *io = NULL;
    CHECK(mediaio_open(&io, path, NULL, 0, &e) == 0);
    if (io) {
        CHECK(crypto_sha256_read(file_read, io, hex, &e) == 0);
        CHECK_STR(hex, million);
        mediaio_close(&io);
    }
    /* A stopped clock (the grace period is over) stops it. */
    CHECK(util_write_atomic(path, buf, 3000000, &e) == 0);
    atomic_int abort_flag = 0;
    mediaio_clock clk;
    mediaio_clock_start(&clk, 0, 0, &abort_flag);
    CHECK(mediaio_open(&io, path, &clk, 0, &e) == 0);
    if (io) {
        char b[16];
        CHECK(mediaio_read(io, b, sizeof b) == 16);
        atomic_store(&abort_flag, 1);
        CHECK(crypto_sha256_read(file_read, io, hex, &e) == -1);
        CHECK(mediaio_error(io, &e) == -1);
        CHECK_INT(mediaio_clock_stopped(&clk), MEDIAIO_ABORT);
        mediaio_close(&io);
    }
    free(buf);
    free(path);
}

static void test_analysis_round_trip(void)
{
    analyse_segment black[] = { { 0, 1.5, 1.5 }, { 4, 4.25, 0.25 } };
    analyse_result a = {
        .has_video = true, .has_audio = true, .mode = ANALYSE_FULL, .duration = 6,
        .black = black, .nblack = 2, .black_total = 1.75, .black_share = 1.75 / 6,
        .leading_black = 1.5, .trailing_black = 0, .freeze_max = 0,
        .silence_max = 6, .audio_silent = true,
        .integrated_lufs = -70, .loudness_range = 0, .true_peak = -INFINITY,
        .decode_errors = 2, .corrupt_frames = 1, .video_frames = 150, .audio_frames = 282,
        .video_end = 6, .audio_end = 6.01, .incomplete = true, .broke_at = 5.5,
        .broke_reason = "read error", .seconds = 0.25,
    };
    const char *sha = "ec3a7107b693433e2cbb323ecaa5ca5fc21014a340a58441b181b3f5af06e20f";
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    writer_string(w, "sha256", sha);
    analyse_write(&a, w);
    writer_end_object(w);
    char *text = writer_finish(w, NULL);
    writer_free(&w);

    analyse_result *b = NULL;
    vb_error e = {0};
    CHECK(analyse_parse(text, sha, &b, &e) == 0);
    if (b) {
        CHECK(b->has_video && b->has_audio && b->audio_silent && b->incomplete);
        CHECK_INT(b->mode, ANALYSE_FULL);
        CHECK_INT(b->nblack, 2);
        CHECK_NEAR(b->black[1].start, 4, 1e-9);
        CHECK_NEAR(b->black_total, 1.75, 1e-9);
        CHECK_NEAR(b->black_share, 1.75 / 6, 1e-9);
        CHECK_NEAR(b->leading_black, 1.5, 1e-9);
        CHECK_NEAR(b->integrated_lufs, -70, 1e-9);
        CHECK(isinf(b->true_peak) && b->true_peak < 0);  /* null in JSON */
        CHECK_INT(b->decode_errors, 2);
        CHECK_INT(b->corrupt_frames, 1);
        CHECK_NEAR(b->broke_at, 5.5, 1e-9);
        CHECK_STR(b->broke_reason, "read error");
        CHECK(isnan(b->freeze_max) == isnan(a.freeze_max));
    }
    analyse_result_free(&b);

    /* Made from other content: refused. */
    CHECK(analyse_parse(text, "00", &b, &e) == -1 && b == NULL);
    CHECK(analyse_parse("{not json", NULL, &b, &e) == -1 && b == NULL);
    free(text);

    /* Not measured stays not measured (NaN), not -inf. */
    analyse_result c = { .has_video = true, .duration = 2, .black_share = 0,
                         .freeze_max = NAN, .silence_max = NAN, .integrated_lufs = NAN,
                         .loudness_range = NAN, .true_peak = NAN, .broke_at = NAN,
                         .video_end = 2, .audio_end = NAN };
    w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    analyse_write(&c, w);
    writer_end_object(w);
    text = writer_finish(w, NULL);
    writer_free(&w);
    CHECK(analyse_parse(text, NULL, &b, &e) == 0);
    if (b)
        CHECK(isnan(b->true_peak) && isnan(b->silence_max) && !b->has_audio);
    analyse_result_free(&b);
    free(text);
}

/* One processed item, recorded with what it was made from. */
static void add(report *r, int64_t seq, const char *key, int64_t size, int status,
                const char *folder)
{
    item_record it = { .seq = seq, .status = status, .verdict = VERDICT_PASS,
                       .duration = NAN, .fps = NAN };
    it.source = vb_xstrdup(key);
    it.folder = folder ? vb_xstrdup(folder) : NULL;
    if (status == ITEM_QC_FAILED) {
        it.verdict = VERDICT_FAIL;
        vb_strlist_add(&it.failed_rules, "duration_min");
    }
    if (status == ITEM_FAILED) {
        it.error = vb_xstrdup("not media");
        it.error_stage = STAGE_PROBE;
    }
    vb_error e = {0};
    CHECK(report_queue(r, seq, key, folder, NULL, &e) == 0);
    report_source src = { key, size, 1000 };
    CHECK(report_add_input(r, &it, &src, &e) == 0);
    item_record_clear(&it);
}

/* lookup: -1/0/1, and "skip" or "no" for *skip */
static int lookup(report *r, const char *key, int64_t size, int64_t mtime, bool force,
                  bool *skip, char **folder, item_record *it)
{
    report_source src = { key, size, mtime };
    vb_error e = {0};
    memset(it, 0, sizeof *it);
    int rc = report_lookup(r, &src, force, folder, skip, it, &e);
    return rc;
}

static report *open_batch(const char *out, const char *id, const char *ini)
{
    vb_config c;
    preset_defaults(&c);
    vb_error e = {0};
    if (ini)
        CHECK(preset_load_string(&c, ini, "test", &e) == 0);
    report_batch_info info = { .batch_id = id, .command_line = "test", .config = &c };
    report *r = report_open(out, &info, &e);
    CHECK(r != NULL);
    preset_free_contents(&c);
    return r;
}

static void test_skip(const char *dir)
{
    char *out = util_path_join(dir, "out");
    const char *folders[] = { "a", "b", "c" };
    vb_error e = {0};
    for (int i = 0; i < 3; i++) {
        char *p = util_path_join(out, folders[i]);
        CHECK(util_mkdir_p(p, &e) == 0);
        free(p);
    }
    report *r1 = open_batch(out, "batch_1", NULL);
    if (!r1)
        return;
    add(r1, 1, "/in/a.mp4", 100, ITEM_DONE, "a");
    add(r1, 2, "/in/b.mp4", 200, ITEM_QC_FAILED, "b");
    add(r1, 3, "/in/c.mp4", 300, ITEM_FAILED, "c");
    add(r1, 4, "http://host/u.mp4", -1, ITEM_DONE, "u");

    bool skip;
    char *folder;
    item_record it;
    /* The same batch does not skip its own results (vbatch retry). */
    CHECK(lookup(r1, "/in/a.mp4", 100, 1000, false, &skip, &folder, &it) == 1 && !skip);
    free(folder);
    CHECK(report_finish(r1, 1.0, NULL, &e) == 0);
    report_free(&r1);

    /* [batch], [generate] and [provider.*] change no result of a file
     * processed: same settings. */
    report *r2 = open_batch(out, "batch_2",
                            "[batch]\njobs = 3\nerror_handling = stop\nitem_timeout = 100\n"
                            "[generate]\nduration = 10\n"
                            "[provider.kling]\nrequest_timeout = 30\n");
    if (!r2)
        return;
    CHECK(lookup(r2, "/in/a.mp4", 100, 1000, false, &skip, &folder, &it) == 1 && skip);
    CHECK_STR(folder, "a");
    CHECK_INT(it.status, ITEM_SKIPPED);
    CHECK_INT(it.previous_status, ITEM_DONE);
    CHECK_STR(it.unchanged_since, "batch_1");
    free(folder);
    item_record_clear(&it);
    CHECK(lookup(r2, "/in/b.mp4", 200, 1000, false, &skip, &folder, &it) == 1 && skip);
    CHECK_INT(it.previous_status, ITEM_QC_FAILED);
    CHECK_INT(it.verdict, VERDICT_FAIL);
    CHECK(it.failed_rules.n == 1 && strcmp(it.failed_rules.v[0], "duration_min") == 0);
    it.seq = 2;
    CHECK(report_add_skipped(r2, &it, &e) == 0);
    CHECK_INT(report_get_counts(r2)->skipped, 1);
    CHECK_INT(report_get_counts(r2)->skipped_qc_failed, 1);
    free(folder);
    item_record_clear(&it);
    /* other size, other mtime, --force: known, not skipped */
    CHECK(lookup(r2, "/in/a.mp4", 101, 1000, false, &skip, &folder, &it) == 1 && !skip);
    CHECK_STR(folder, "a");
    free(folder);
    CHECK(lookup(r2, "/in/a.mp4", 100, 1001, false, &skip, &folder, &it) == 1 && !skip);
    free(folder);
    CHECK(lookup(r2, "/in/a.mp4", 100, 1000, true, &skip, &folder, &it) == 1 && !skip);
    free(folder);
    /* a failed result is redone; a URL is never skipped; unknown key */
    CHECK(lookup(r2, "/in/c.mp4", 300, 1000, false, &skip, &folder, &it) == 1 && !skip);
    free(folder);
    CHECK(lookup(r2, "http://host/u.mp4", -1, 0, false, &skip, &folder, &it) == 1 && !skip);
    CHECK_STR(folder, "u");
    free(folder);
    CHECK(lookup(r2, "/in/new.mp4", 1, 1, false, &skip, &folder, &it) == 0 && !skip &&
          !folder);
    /* its folder deleted: processed again */
    char *pa = util_path_join(out, "a");
    CHECK(rmdir(pa) == 0);
    CHECK(lookup(r2, "/in/a.mp4", 100, 1000, false, &skip, &folder, &it) == 1 && !skip);
    free(folder);
    free(pa);
    CHECK(report_finish(r2, 1.0, NULL, &e) == 0);
    report_free(&r2);

    /* other gates: other settings; the analysis settings are the same */
    report *r3 = open_batch(out, "batch_3", "[qc]\nduration_min = 1\n");
    if (r3) {
        CHECK(lookup(r3, "/in/b.mp4", 200, 1000, false, &skip, &folder, &it) == 1 && !skip);
        free(folder);
        CHECK(report_analysis_put(r3, "h1", "b", &e) == 0);
        report_free(&r3);
    }
    report *r4 = open_batch(out, "batch_4", "[analyse]\nloudness = false\n");
    if (r4) {
        CHECK(report_analysis_find(r4, "h1", &folder, &e) == 0 && !folder);
        report_free(&r4);
    }
    report *r5 = open_batch(out, "batch_5", "[qc]\nduration_min = 2\n");
    if (r5) {
        CHECK(report_analysis_find(r5, "h1", &folder, &e) == 1);
        CHECK_STR(folder, "b");
        free(folder);
        CHECK(report_analysis_forget(r5, "b", &e) == 0);
        CHECK(report_analysis_find(r5, "h1", &folder, &e) == 0);
        report_free(&r5);
    }
    free(out);
}

int main(void)
{
    char dir[] = "/tmp/vbatch-test-incremental-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_hash(dir);
    test_analysis_round_trip();
    test_skip(dir);
    char *cmd = vb_xasprintf("rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    free(cmd);
    return check_result("test-incremental");
}
