/* test-fix-plan.c - the fix plan on hand-made probe and analysis results,
 * with the rules evaluated by rules.c (so the plan and the rules agree on
 * the rules' names and on what passes). */
#include "config.h"
#include "check.h"
#include "analyse.h"
#include "fix.h"
#include "rules.h"

#include <math.h>
#include <stdlib.h>

typedef struct fixture {
    vb_config cfg;
    probe_stream st[2];
    probe_result p;
    analyse_result a;
    bool with_a;
    rule_report rep;
    fix_plan plan;
} fixture;

/* A 10 s 1280x720 25 fps H.264/AAC MP4, index first; analysis clean at
 * -14 LUFS, -3 dBTP. */
static void fx_init(fixture *f, const char *ini)
{
    memset(f, 0, sizeof *f);
    preset_defaults(&f->cfg);
    vb_error e = {0};
    if (ini && preset_load_string(&f->cfg, ini, "test", &e) != 0)
        fprintf(stderr, "preset: %s\n", e.msg);
    probe_stream *v = &f->st[0], *a = &f->st[1];
    v->type = PROBE_VIDEO;
    v->codec = "h264";
    v->width = v->display_width = 1280;
    v->height = v->display_height = 720;
    v->sar = (probe_rational){ 1, 1 };
    v->avg_frame_rate = v->r_frame_rate = (probe_rational){ 25, 1 };
    v->bit_rate = 4000000;
    a->type = PROBE_AUDIO;
    a->codec = "aac";
    a->sample_rate = 48000;
    a->channels = 2;
    a->bit_rate = 128000;
    f->p.container = "mp4";
    f->p.duration = 10.0;
    f->p.size = 5200000;
    f->p.bit_rate = 4160000;
    f->p.faststart = 1;
    f->p.streams = f->st;
    f->p.nb_streams = 2;
    f->p.video = v;
    f->p.audio = a;
    f->a.has_video = f->a.has_audio = true;
    f->a.duration = 10.0;
    f->a.integrated_lufs = -14;
    f->a.true_peak = -3;
    f->a.silence_max = 0;
}

static bool no_vp9_opus(const char *container, const char *codec)
{
    (void)container;
    return strcmp(codec, "vp9") != 0 && strcmp(codec, "opus") != 0;
}

static void fx_plan(fixture *f, fix_codec_fits fits)
{
    rules_eval(&f->cfg.qc, &f->p, &f->rep);
    if (f->with_a)
        rules_eval_analysis(&f->cfg.qc, &f->a, &f->rep);
    fix_plan_make(&f->cfg, &f->p, f->with_a ? &f->a : NULL, &f->rep, fits, &f->plan);
}

static void fx_free(fixture *f)
{
    fix_plan_clear(&f->plan);
    rules_report_free(&f->rep);
    preset_free_contents(&f->cfg);
}

static bool said(const vb_strlist *l, const char *prefix)
{
    for (size_t i = 0; i < l->n; i++)
        if (strncmp(l->v[i], prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

static void test_nothing_failed(void)
{
    fixture f;
    fx_init(&f, "[qc]\nfaststart = true\n");
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    CHECK_INT(f.plan.fixes.n + f.plan.unfixable.n, 0);
    fx_free(&f);
}

static void test_faststart_remux_only(void)
{
    fixture f;
    fx_init(&f, "[qc]\nfaststart = true\n");
    f.p.faststart = 0;
    fx_plan(&f, NULL);
    CHECK(f.plan.any);
    CHECK(f.plan.actions[FIX_REMUX]);
    CHECK(!f.plan.actions[FIX_AUDIO] && !f.plan.actions[FIX_VIDEO] && !f.plan.actions[FIX_TRIM]);
    CHECK(!f.plan.video_encode);
    CHECK_INT(f.plan.audio, FIX_AUDIO_COPY);
    CHECK_STR(f.plan.container, "mp4");
    CHECK(said(&f.plan.fixes, "faststart: "));
    CHECK(!fix_plan_touches_media(&f.plan));
    fx_free(&f);
}

static void test_warnings(void)
{
    fixture f;
    fx_init(&f, "[qc]\nfaststart = true\nfaststart_level = warn\n");
    f.p.faststart = 0;
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    fx_free(&f);
    fx_init(&f, "[qc]\nfaststart = true\nfaststart_level = warn\n[fix]\nwarnings = true\n");
    f.p.faststart = 0;
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.actions[FIX_REMUX]);
    fx_free(&f);
}

static void test_loudness(void)
{
    fixture f;
    /* Quiet: +16 dB keeps the peak (-20 + 16 = -4) under -1: no limiter. */
    fx_init(&f, "[qc]\nloudness_target = -14\nloudness_tolerance = 1\ntrue_peak_max = -1\n");
    f.with_a = true;
    f.a.integrated_lufs = -30;
    f.a.true_peak = -20;
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.actions[FIX_AUDIO] && !f.plan.actions[FIX_VIDEO]);
    CHECK_INT(f.plan.audio, FIX_AUDIO_ENCODE);
    CHECK_NEAR(f.plan.gain_db, 16, 1e-9);
    CHECK(!f.plan.limiter);
    CHECK_INT(f.plan.sample_rate, 48000);
    CHECK_INT(f.plan.audio_bitrate, 192000);
    CHECK(fix_plan_touches_media(&f.plan));
    fx_free(&f);
    /* The gain would push the peak to +3 dBTP: the limiter, at -1. */
    fx_init(&f, "[qc]\nloudness_target = -14\nloudness_tolerance = 1\ntrue_peak_max = -1\n");
    f.with_a = true;
    f.a.integrated_lufs = -20;
    f.a.true_peak = -3;
    fx_plan(&f, NULL);
    CHECK_NEAR(f.plan.gain_db, 6, 1e-9);
    CHECK(f.plan.limiter);
    CHECK_NEAR(f.plan.ceiling_dbtp, -1, 1e-9);
    fx_free(&f);
    /* Loud and clipping: a negative gain, the peak failing on its own. */
    fx_init(&f, "[qc]\nloudness_target = -14\nloudness_tolerance = 1\ntrue_peak_max = -1\n");
    f.with_a = true;
    f.a.integrated_lufs = -8;
    f.a.true_peak = 1.5;
    fx_plan(&f, NULL);
    CHECK_NEAR(f.plan.gain_db, -6, 1e-9);
    CHECK(!f.plan.limiter); /* 1.5 - 6 = -4.5 dBTP: the gain alone brings the peak down */
    CHECK(said(&f.plan.fixes, "true_peak: "));
    fx_free(&f);
    /* Loud and clipping, less loud: -12 LUFS, +3 dBTP, gain -2: the limiter. */
    fx_init(&f, "[qc]\nloudness_target = -14\nloudness_tolerance = 1\ntrue_peak_max = -1\n");
    f.with_a = true;
    f.a.integrated_lufs = -12;
    f.a.true_peak = 3;
    fx_plan(&f, NULL);
    CHECK(f.plan.limiter);
    fx_free(&f);
    /* The peak fails, the loudness passes: no gain, the limiter. */
    fx_init(&f, "[qc]\nloudness_target = -14\nloudness_tolerance = 1\ntrue_peak_max = -1\n");
    f.with_a = true;
    f.a.integrated_lufs = -14.3;
    f.a.true_peak = 0.5;
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.limiter);
    CHECK_NEAR(f.plan.gain_db, 0, 1e-9);
    fx_free(&f);
    /* Without the analysis the gain cannot be known. */
    fx_init(&f, "[qc]\nloudness_target = -14\n");
    f.with_a = true;
    f.a.integrated_lufs = -30;
    rules_eval(&f.cfg.qc, &f.p, &f.rep);
    rules_eval_analysis(&f.cfg.qc, &f.a, &f.rep);
    fix_plan_make(&f.cfg, &f.p, NULL, &f.rep, NULL, &f.plan);
    CHECK(!f.plan.any);
    CHECK(said(&f.plan.unfixable, "loudness: "));
    fx_free(&f);
}

static void test_unfixable_blocks(void)
{
    fixture f;
    fx_init(&f, "[qc]\nfaststart = true\nduration_min = 12\n");
    f.p.faststart = 0;
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    CHECK(!f.plan.actions[FIX_REMUX]);
    CHECK(said(&f.plan.unfixable, "duration_min: "));
    CHECK(said(&f.plan.fixes, "faststart: "));
    fx_free(&f);
}

static void test_conform_frame(void)
{
    fixture f;
    fx_init(&f, "[qc]\naspect_ratio = 9:16\nmin_width = 1080\nmin_height = 1920\n"
                "[fix]\nwidth = 1080\nheight = 1920\nfit = pad\n");
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.actions[FIX_VIDEO] && f.plan.video_encode);
    CHECK_INT(f.plan.width, 1080);
    CHECK_INT(f.plan.height, 1920);
    CHECK_INT(f.plan.fit, FIX_FIT_PAD);
    CHECK_INT(f.plan.fps_num, 25);
    CHECK_INT(f.plan.fps_den, 1);
    CHECK_INT(f.plan.keyint, 50);
    CHECK(f.plan.closed_gop);
    CHECK_INT(f.plan.crf, 20);
    CHECK_STR(f.plan.x264_preset, "medium");
    CHECK(!f.plan.actions[FIX_AUDIO]); /* the audio passes: copied */
    fx_free(&f);
    /* Derived: a 9:16 clip too small is scaled up to the minimum. */
    fx_init(&f, "[qc]\nmin_width = 1080\nmin_height = 1920\n");
    f.st[0].width = f.st[0].display_width = 720;
    f.st[0].height = f.st[0].display_height = 1280;
    fx_plan(&f, NULL);
    CHECK_INT(f.plan.width, 1080);
    CHECK_INT(f.plan.height, 1920);
    fx_free(&f);
    /* Derived, any orientation: a landscape clip stays landscape. */
    fx_init(&f, "[qc]\nmin_width = 1280\nmin_height = 720\nany_orientation = true\n");
    f.st[0].width = f.st[0].display_width = 960;
    f.st[0].height = f.st[0].display_height = 540;
    fx_plan(&f, NULL);
    CHECK_INT(f.plan.width, 1280);
    CHECK_INT(f.plan.height, 720);
    fx_free(&f);
    /* Derived, too large: a 4K clip for a 1920-column maximum. */
    fx_init(&f, "[qc]\nmax_width = 1920\n");
    f.st[0].width = f.st[0].display_width = 3840;
    f.st[0].height = f.st[0].display_height = 2160;
    fx_plan(&f, NULL);
    CHECK(f.plan.video_encode);
    CHECK_INT(f.plan.width, 1920);
    CHECK_INT(f.plan.height, 1080);
    fx_free(&f);
    /* Derived aspect: a 16:9 clip for a 1:1 spec, cropped. */
    fx_init(&f, "[qc]\naspect_ratio = 1:1\n[fix]\nfit = crop\n");
    fx_plan(&f, NULL);
    CHECK_INT(f.plan.width, 720);
    CHECK_INT(f.plan.height, 720);
    fx_free(&f);
}

static void test_fps(void)
{
    fixture f;
    fx_init(&f, "[qc]\nfps_max = 30\n");
    f.st[0].avg_frame_rate = f.st[0].r_frame_rate = (probe_rational){ 60, 1 };
    fx_plan(&f, NULL);
    CHECK(f.plan.video_encode);
    CHECK_INT(f.plan.fps_num, 30);
    CHECK_INT(f.plan.fps_den, 1);
    CHECK_INT(f.plan.keyint, 60);
    fx_free(&f);
    /* 29.97 kept as 30000/1001 when another rule re-encodes. */
    fx_init(&f, "[qc]\nvideo_codecs = h264\n");
    f.st[0].codec = "mpeg4";
    f.st[0].avg_frame_rate = f.st[0].r_frame_rate = (probe_rational){ 30000, 1001 };
    fx_plan(&f, NULL);
    CHECK(f.plan.video_encode);
    CHECK_INT(f.plan.fps_num, 30000);
    CHECK_INT(f.plan.fps_den, 1001);
    fx_free(&f);
    /* A preset that does not allow H.264: a codec fix cannot help. */
    fx_init(&f, "[qc]\nvideo_codecs = hevc\n");
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    CHECK(said(&f.plan.unfixable, "video_codec: "));
    fx_free(&f);
}

static void test_trim(void)
{
    fixture f;
    fx_init(&f, "[qc]\nleading_black_max = 0.5\ntrailing_black_max = 0.5\n");
    f.with_a = true;
    f.a.leading_black = 1.2;
    f.a.trailing_black = 0.3; /* passes: kept */
    f.a.black_total = 1.5;
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.actions[FIX_TRIM] && f.plan.actions[FIX_VIDEO]);
    CHECK_NEAR(f.plan.trim_start, 1.2, 1e-9);
    CHECK(isnan(f.plan.trim_end));
    fx_free(&f);
    /* Trailing black and the duration cap: the earlier end. */
    fx_init(&f, "[qc]\ntrailing_black_max = 0.5\nduration_max = 9\n");
    f.with_a = true;
    f.a.trailing_black = 2.0;
    f.a.black_total = 2.0;
    fx_plan(&f, NULL);
    CHECK(f.plan.actions[FIX_TRIM]);
    CHECK_NEAR(f.plan.trim_start, 0, 1e-9);
    CHECK_NEAR(f.plan.trim_end, 8.0, 1e-9);
    fx_free(&f);
    /* Black in the middle: trimming the edges would not pass. */
    fx_init(&f, "[qc]\nblack_max_seconds = 1\n");
    f.with_a = true;
    f.a.leading_black = 0.5;
    f.a.black_total = 3.0;
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    CHECK(said(&f.plan.unfixable, "black_max_seconds: "));
    fx_free(&f);
    /* Black only at the edges: both cut. */
    fx_init(&f, "[qc]\nblack_max_seconds = 1\n");
    f.with_a = true;
    f.a.leading_black = 1.0;
    f.a.trailing_black = 1.0;
    f.a.black_total = 2.0;
    fx_plan(&f, NULL);
    CHECK(f.plan.any);
    CHECK_NEAR(f.plan.trim_start, 1.0, 1e-9);
    CHECK_NEAR(f.plan.trim_end, 9.0, 1e-9);
    fx_free(&f);
    /* Silence at both ends. */
    fx_init(&f, "[qc]\nleading_silence_max = 0.5\ntrailing_silence_max = 0.5\n");
    f.with_a = true;
    analyse_segment sil[2] = { { 0, 2.5, 2.5 }, { 7.0, 10.0, 3.0 } };
    f.a.silence = sil;
    f.a.nsilence = 2;
    f.a.silence_max = 3.0;
    f.a.audio_end = 10.0;
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.actions[FIX_TRIM] && f.plan.video_encode);
    CHECK_NEAR(f.plan.trim_start, 2.5, 1e-9);
    CHECK_NEAR(f.plan.trim_end, 7.0, 1e-9);
    f.a.silence = NULL; /* not owned */
    f.a.nsilence = 0;
    fx_free(&f);
    /* Trimming switched off. */
    fx_init(&f, "[qc]\nleading_black_max = 0.5\n[fix]\ntrim = false\n");
    f.with_a = true;
    f.a.leading_black = 1.2;
    f.a.black_total = 1.2;
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    CHECK(said(&f.plan.unfixable, "leading_black: "));
    fx_free(&f);
}

static void test_caps(void)
{
    fixture f;
    /* 10 s under 8 MB: (8e6 * 8 * 0.95 / 10) - 128k of copied audio. */
    fx_init(&f, "[qc]\nmax_file_size = 8M\n");
    f.p.size = 12000000;
    fx_plan(&f, NULL);
    CHECK(f.plan.video_encode);
    CHECK_INT(f.plan.video_bitrate, (int64_t)(8000000.0 * 8 * 0.95 / 10) - 128000);
    CHECK_INT(f.plan.maxrate, f.plan.video_bitrate);
    CHECK_INT(f.plan.bufsize, 2 * f.plan.maxrate);
    fx_free(&f);
    fx_init(&f, "[qc]\nvideo_bitrate_max = 2M\n");
    fx_plan(&f, NULL);
    CHECK_INT(f.plan.maxrate, 2000000);
    CHECK_INT(f.plan.video_bitrate, 0);
    fx_free(&f);
    fx_init(&f, "[qc]\nhdr_allowed = false\n");
    f.st[0].hdr = true;
    f.st[0].color_transfer = "smpte2084";
    fx_plan(&f, NULL);
    CHECK(f.plan.video_encode && f.plan.tonemap);
    fx_free(&f);
}

static void test_container(void)
{
    fixture f;
    fx_init(&f, "[qc]\ncontainers = mp4\n");
    f.p.container = "webm";
    f.st[0].codec = "vp9";
    f.st[1].codec = "opus";
    fx_plan(&f, no_vp9_opus);
    CHECK(f.plan.any && f.plan.actions[FIX_REMUX]);
    CHECK(f.plan.actions[FIX_VIDEO] && f.plan.video_encode);
    CHECK(f.plan.actions[FIX_AUDIO]);
    CHECK_INT(f.plan.audio, FIX_AUDIO_ENCODE);
    fx_free(&f);
    /* MKV holding H.264/AAC: copied. */
    fx_init(&f, "[qc]\ncontainers = mp4\n");
    f.p.container = "mkv";
    fx_plan(&f, no_vp9_opus);
    CHECK(f.plan.any && f.plan.actions[FIX_REMUX]);
    CHECK(!f.plan.actions[FIX_VIDEO] && !f.plan.actions[FIX_AUDIO]);
    fx_free(&f);
    /* Only MOV allowed: the fix writes MOV. */
    fx_init(&f, "[qc]\ncontainers = mov\n");
    f.p.container = "mkv";
    fx_plan(&f, NULL);
    CHECK_STR(f.plan.container, "mov");
    fx_free(&f);
    /* Neither. */
    fx_init(&f, "[qc]\ncontainers = webm\n");
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    CHECK(said(&f.plan.unfixable, "container: "));
    fx_free(&f);
}

static void test_audio_presence(void)
{
    fixture f;
    fx_init(&f, "[qc]\naudio = required\n");
    f.p.audio = NULL;
    f.p.nb_streams = 1;
    fx_plan(&f, NULL);
    CHECK(!f.plan.any); /* a silent track would fail audio_silent */
    CHECK(said(&f.plan.unfixable, "audio: "));
    fx_free(&f);
    fx_init(&f, "[qc]\naudio = required\naudio_silent_level = warn\n");
    f.p.audio = NULL;
    f.p.nb_streams = 1;
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.actions[FIX_AUDIO]);
    CHECK_INT(f.plan.audio, FIX_AUDIO_ADD_SILENT);
    CHECK_INT(f.plan.sample_rate, 48000);
    CHECK(!f.plan.limiter);
    fx_free(&f);
    fx_init(&f, "[qc]\naudio = forbidden\n");
    fx_plan(&f, NULL);
    CHECK(f.plan.any);
    CHECK_INT(f.plan.audio, FIX_AUDIO_DROP);
    fx_free(&f);
    /* A sample rate the preset does not take, 5.1 made stereo. */
    fx_init(&f, "[qc]\nsample_rates = 44100 48000\n");
    f.st[1].sample_rate = 22050;
    f.st[1].channels = 6;
    fx_plan(&f, NULL);
    CHECK(f.plan.actions[FIX_AUDIO]);
    CHECK_INT(f.plan.sample_rate, 48000);
    CHECK_INT(f.plan.channels, 2);
    fx_free(&f);
    fx_init(&f, "[qc]\nsample_rates = 44100\n");
    f.st[1].sample_rate = 22050;
    fx_plan(&f, NULL);
    CHECK_INT(f.plan.sample_rate, 44100);
    fx_free(&f);
    /* No audio to fix: an audio rule on a silent file's absent track. */
    fx_init(&f, "[qc]\naudio_codecs = aac\n");
    f.st[1].codec = "mp3";
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.actions[FIX_AUDIO] && !f.plan.actions[FIX_VIDEO]);
    fx_free(&f);
}

static void test_video_format(void)
{
    fixture f;
    fx_init(&f, "[qc]\npix_fmts = yuv420p\nmax_bit_depth = 8\nvideo_profiles = main high\n"
                "constant_frame_rate = true\n");
    f.st[0].pix_fmt = "yuv444p10le";
    f.st[0].bit_depth = 10;
    f.st[0].profile = "High 4:4:4 Predictive";
    f.st[0].frame_rate_mode = PROBE_FR_VARIABLE;
    fx_plan(&f, NULL);
    CHECK(f.plan.any && f.plan.video_encode);
    CHECK(said(&f.plan.fixes, "pix_fmt: "));
    CHECK(said(&f.plan.fixes, "bit_depth: "));
    CHECK(said(&f.plan.fixes, "video_profile: "));
    CHECK(said(&f.plan.fixes, "frame_rate_mode: "));
    fx_free(&f);
    /* A preset that wants Main only: the fix makes High. */
    fx_init(&f, "[qc]\nvideo_profiles = main\n");
    f.st[0].profile = "Constrained Baseline";
    fx_plan(&f, NULL);
    CHECK(!f.plan.any);
    CHECK(said(&f.plan.unfixable, "video_profile: "));
    fx_free(&f);
}

static void test_names(void)
{
    CHECK_STR(fix_action_name(FIX_REMUX), "remux");
    CHECK_STR(fix_action_name(FIX_AUDIO), "audio");
    CHECK_STR(fix_action_name(FIX_VIDEO), "video");
    CHECK_STR(fix_action_name(FIX_TRIM), "trim");
    CHECK_STR(fix_action_name(42), "?");
}

int main(void)
{
    test_nothing_failed();
    test_faststart_remux_only();
    test_warnings();
    test_loudness();
    test_unfixable_blocks();
    test_conform_frame();
    test_fps();
    test_trim();
    test_caps();
    test_container();
    test_audio_presence();
    test_video_format();
    test_names();
    return check_result("test-fix-plan");
}
