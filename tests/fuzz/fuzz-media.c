/* fuzz-media.c - the media path of one item, as batch.c's stage_video
 * runs it: probe (probe.c, libavformat through mediaio.c's reader), the
 * [qc] rules, the deep analysis and the thumbnails and contact sheet in
 * the media module (src/media/), the thumbnails' header check (image_probe), and the JSON written for
 * each stage. The input is written to the scratch folder as clip.mp4
 * and every call is bounded by an item clock (item_timeout 10 s), as in
 * a batch; the module is the instrumented vbatch-media.so of this build
 * tree, loaded with dlopen as vbatch loads it (module.c), so its
 * coverage and sanitizer reports count.
 *
 * The decode settings follow two bits of the input's size, so that both
 * analysis modes and both thumbnail placements are reached: size & 1
 * asks for exact thumbnail times, size & 2 for the key-frame analysis;
 * the fix engine (transcode.h) runs on it too, size & 4 choosing a remux
 * with every stream copied, else a re-encode to 64x64 with the gain and
 * the limiter, of the first 0.3 s only (the whole input cost seconds
 * under the sanitizers, where libFuzzer wants milliseconds; the cut is a
 * path of its own worth fuzzing): a failure says why and leaves no
 * file, a success is a file the probe reads.
 * Checked beyond the sanitizers: a failure says why, analysis.json reads
 * back to the same counts, thumbnails are readable images of the width
 * asked for, and nothing opens a file the input names: the scratch
 * folder holds a planted clip, secret.mp4, watched with inotify (a
 * playlist or concat script naming it is read through no clock and
 * leaks its content), and a FIFO, fifo.mp4, whose open would block past
 * the item's deadline (a timeout). media.dict names both. */
#include "config.h"
#include "fuzz.h"
#include "analyse.h"
#include "image.h"
#include "mediaio.h"
#include "preset.h"
#include "probe.h"
#include "rules.h"
#include "thumbs.h"
#include "transcode.h"
#include "util.h"
#include "writer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static char *clip, *item_dir, *thumb_dir, *contact, *planted;
static int watch = -1;
static vb_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    clip = fuzz_path("clip.mp4");
    item_dir = fuzz_path("item");
    thumb_dir = util_path_join(item_dir, "thumbnails");
    contact = util_path_join(item_dir, "contact.jpg");
    preset_defaults(&cfg);
    vb_error e = {0};
    if (preset_load_name(&cfg, "kling-clip", &e) != 0)
        fuzz_fail("%s", e.msg);
    cfg.analyse.enabled = true;
    cfg.analyse.loudness = true;
    cfg.analyse.timeout = 10;
    cfg.thumbs.enabled = true;
    cfg.thumbs.count = 3;
    cfg.thumbs.width = 64;
    cfg.thumbs.columns = 3;
    cfg.thumbs.contact_sheet = true;
    cfg.thumbs.avoid_black = true;
    if (image_init(1, &e) != 0)
        fuzz_fail("%s", e.msg);
    planted = fuzz_path("secret.mp4");
    fuzz_write(planted, "private", 7);
    char *fifo = fuzz_path("fifo.mp4");
    if (mkfifo(fifo, 0600) != 0)
        fuzz_fail("cannot make %s", fifo);
    free(fifo);
    watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (watch < 0 || inotify_add_watch(watch, planted, IN_OPEN) < 0)
        fuzz_fail("cannot watch %s with inotify", planted);
    return 0;
}

/* Was the planted file opened while this input ran? */
static void check_planted(void)
{
    char buf[4096];
    if (read(watch, buf, sizeof buf) > 0)
        fuzz_fail("%s was opened: the input made libav open a file it names", planted);
}

static writer *json(void)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    return w;
}

static char *finish(writer *w)
{
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    return s;
}

static void need_message(const char *what, const vb_error *e)
{
    if (!e->msg[0])
        fuzz_fail("%s failed without a message", what);
}

static void analyse(rule_report *rr, mediaio_clock *clk, size_t size)
{
    analyse_config ac = cfg.analyse;
    ac.mode = size & 2 ? ANALYSE_KEYFRAMES : ANALYSE_FULL;
    analyse_result *a = NULL;
    vb_error e = {0};
    if (analyse_file(clip, &ac, 1, clk, NULL, &a, &e) != 0) {
        need_message("analyse_file", &e);
        return;
    }
    rules_eval_analysis(&cfg.qc, a, rr);
    writer *w = json();
    analyse_write(a, w);
    char *text = finish(w);
    analyse_result *b = NULL;
    if (analyse_parse(text, NULL, &b, &e) != 0)
        fuzz_fail("analysis.json does not read back (%s): %s", e.msg, text);
    if (b->nblack != a->nblack || b->nfreeze != a->nfreeze || b->nsilence != a->nsilence ||
        b->video_frames != a->video_frames || b->audio_frames != a->audio_frames ||
        b->decode_errors != a->decode_errors || b->corrupt_frames != a->corrupt_frames ||
        b->has_video != a->has_video || b->has_audio != a->has_audio ||
        b->incomplete != a->incomplete || b->mode != a->mode)
        fuzz_fail("analysis.json reads back different counts: %s", text);
    if (a->incomplete && !a->broke_reason)
        fuzz_fail("incomplete analysis without a reason");
    analyse_result_free(&b);
    analyse_result_free(&a);
    free(text);
}

static void thumbnails(const probe_result *p, mediaio_clock *clk, size_t size)
{
    thumbs_config tc = cfg.thumbs;
    tc.exact = size & 1;
    thumbs_result tr = {0};
    vb_error e = {0};
    int rc = thumbs_make(clip, p, &tc, thumb_dir, contact, 1, clk, &tr, &e);
    if (rc != 0) {
        need_message("thumbs_make", &e);
    } else {
        for (size_t i = 0; i < tr.n; i++) {
            char *path = util_path_join(thumb_dir, tr.t[i].file);
            image_info ii = {0};
            if (image_probe(path, 0, &ii, &e) != 0)
                fuzz_fail("thumbnail %s is not readable: %s", tr.t[i].file, e.msg);
            if (ii.width != tc.width || strcmp(ii.format, "jpeg") != 0)
                fuzz_fail("thumbnail %s is %dx%d %s, not %d px wide JPEG", tr.t[i].file,
                          ii.width, ii.height, ii.format, tc.width);
            image_info_clear(&ii);
            free(path);
        }
        writer *w = json();
        thumbs_write(&tr, w);
        free(finish(w));
    }
    /* A failure may leave thumbnails made so far in tr: the caller
     * releases them either way. */
    thumbs_result_clear(&tr);
}

static void fix_pass(mediaio_clock *clk, size_t size)
{
    char *out = util_path_join(item_dir, "fixed.mp4");
    transcode_job job;
    transcode_job_init(&job, clip, out);
    job.threads = 1;
    if (!(size & 4)) {
        job.trim_end = 0.3;
        job.video.mode = TRANSCODE_VIDEO_ENCODE;
        job.video.width = 64;
        job.video.height = 64;
        job.video.preset = "ultrafast";
        job.video.tonemap = true;
        job.audio.mode = TRANSCODE_AUDIO_ENCODE;
        job.audio.gain_db = 6;
        job.audio.limit_dbtp = -1;
    }
    transcode_result tr;
    vb_error e = {0};
    if (util_mkdir_p(item_dir, &e) != 0)
        fuzz_fail("%s", e.msg);
    if (transcode_run(&job, clk, &tr, &e) != 0) {
        need_message("transcode_run", &e);
        if (access(out, F_OK) == 0)
            fuzz_fail("transcode_run failed and left %s", out);
    } else {
        probe_result *p = NULL;
        if (probe_file(out, clk, &p, &e) != 0 && mediaio_clock_stopped(clk) == MEDIAIO_GO)
            fuzz_fail("the fixed file does not probe: %s", e.msg);
        probe_result_free(&p);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(clip, data, size);
    mediaio_clock clk;
    mediaio_clock_start(&clk, 10, 0, NULL);
    probe_result *p = NULL;
    vb_error e = {0};
    if (probe_file(clip, &clk, &p, &e) != 0) {
        need_message("probe_file", &e);
        check_planted();
        return 0;
    }
    rule_report rr = {0};
    rules_eval(&cfg.qc, p, &rr);
    writer *w = json();
    probe_write(p, w);
    free(finish(w));
    analyse(&rr, &clk, size);
    if (p->video)
        thumbnails(p, &clk, size);
    fix_pass(&clk, size);
    w = json();
    rules_write(&rr, w);
    free(finish(w));
    rules_report_free(&rr);
    probe_result_free(&p);
    fuzz_empty_dir(item_dir);
    check_planted();
    return 0;
}
