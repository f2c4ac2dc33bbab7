/* test-preset.c - defaults, value parsers, INI layering and errors
 * (file:line), inherit, the shipped presets and preset_write(). */
#include "config.h"
#include "preset.h"
#include "writer.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_HAS(hay, needle) do { const char *h_ = (hay); check_count++; \
    if (!h_ || !strstr(h_, (needle))) { check_failures++; \
    fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
            h_ ? h_ : "(null)", (needle)); } } while (0)

static void test_defaults(void)
{
    vb_config c;
    preset_defaults(&c);
    CHECK_INT(c.qc.video_level, RULE_FAIL);
    CHECK_INT(c.qc.duration_level, RULE_FAIL);
    CHECK_INT(c.qc.hdr_level, RULE_FAIL);
    CHECK_INT(c.qc.faststart_level, RULE_FAIL);
    CHECK_NEAR(c.qc.aspect_tolerance, 0.01, 1e-12);
    CHECK(c.qc.hdr_allowed);
    CHECK(!c.qc.faststart);
    CHECK(!c.qc.any_orientation);
    CHECK_INT(c.qc.audio, AUDIO_OPTIONAL);
    CHECK_INT(c.qc.min_width, 0);
    CHECK_INT(c.qc.containers.n, 0);
    CHECK_INT(c.input.max_download_size, 2LL * 1024 * 1024 * 1024);
    CHECK_INT(c.input.download_retries, 3);
    CHECK_NEAR(c.input.download_timeout, 600, 1e-9);
    CHECK_NEAR(c.input.download_backoff, 1.0, 1e-9);
    CHECK(!c.input.recursive);
    CHECK_INT(c.input.outside_links, OUTSIDE_REFUSE);
    CHECK(!c.output.publish);
    CHECK_INT(c.batch.jobs, 0);
    CHECK(c.name != NULL);
    preset_free_contents(&c);
    CHECK(c.name == NULL);
}

static void test_parsers(void)
{
    vb_error e = { 0 };
    bool b;
    int i;
    double d;
    int64_t n;

    const char *yes[] = { "true", "YES", "on", "1", " True " };
    const char *no[] = { "false", "No", "OFF", "0" };
    for (size_t k = 0; k < VB_ARRAY_LEN(yes); k++) {
        b = false;
        CHECK_INT(preset_parse_bool(yes[k], &b, &e), 0);
        CHECK(b);
    }
    for (size_t k = 0; k < VB_ARRAY_LEN(no); k++) {
        b = true;
        CHECK_INT(preset_parse_bool(no[k], &b, &e), 0);
        CHECK(!b);
    }
    CHECK_INT(preset_parse_bool("maybe", &b, &e), -1);
    CHECK_INT(e.code, VB_ERR_CONFIG);
    CHECK_HAS(e.msg, "'maybe'");
    CHECK_INT(preset_parse_bool("", &b, &e), -1);

    CHECK_INT(preset_parse_int("42", &i, &e), 0);
    CHECK_INT(i, 42);
    CHECK_INT(preset_parse_int(" -7 ", &i, &e), 0);
    CHECK_INT(i, -7);
    CHECK_INT(preset_parse_int("4.5", &i, &e), -1);
    CHECK_INT(preset_parse_int("abc", &i, &e), -1);
    CHECK_HAS(e.msg, "'abc'");
    CHECK_INT(preset_parse_int("", &i, &e), -1);
    CHECK_INT(preset_parse_int("99999999999", &i, &e), -1);
    CHECK_INT(preset_parse_int("0x10", &i, &e), -1);

    CHECK_INT(preset_parse_double("4.5", &d, &e), 0);
    CHECK_NEAR(d, 4.5, 1e-12);
    CHECK_INT(preset_parse_double(".5", &d, &e), 0);
    CHECK_NEAR(d, 0.5, 1e-12);
    CHECK_INT(preset_parse_double("1e3", &d, &e), 0);
    CHECK_NEAR(d, 1000, 1e-9);
    CHECK_INT(preset_parse_double("abc", &d, &e), -1);
    CHECK_HAS(e.msg, "'abc' is not a number");
    CHECK_INT(preset_parse_double("nan", &d, &e), -1);
    CHECK_INT(preset_parse_double("inf", &d, &e), -1);
    CHECK_INT(preset_parse_double("0x1p3", &d, &e), -1);
    CHECK_INT(preset_parse_double("4.5s", &d, &e), -1);
    CHECK_INT(preset_parse_double("", &d, &e), -1);

    CHECK_INT(preset_parse_bitrate("128k", &n, &e), 0);
    CHECK_INT(n, 128000);
    CHECK_INT(preset_parse_bitrate("8M", &n, &e), 0);
    CHECK_INT(n, 8000000);
    CHECK_INT(preset_parse_bitrate("2.5M", &n, &e), 0);
    CHECK_INT(n, 2500000);
    CHECK_INT(preset_parse_bitrate("1G", &n, &e), 0);
    CHECK_INT(n, 1000000000);
    CHECK_INT(preset_parse_bitrate("800000", &n, &e), 0);
    CHECK_INT(n, 800000);
    CHECK_INT(preset_parse_bitrate("8Mbps", &n, &e), 0);
    CHECK_INT(n, 8000000);
    CHECK_INT(preset_parse_bitrate("128 kb/s", &n, &e), 0);
    CHECK_INT(n, 128000);
    CHECK_INT(preset_parse_bitrate("500bps", &n, &e), 0);
    CHECK_INT(n, 500);
    CHECK_INT(preset_parse_bitrate("fast", &n, &e), -1);
    CHECK_HAS(e.msg, "'fast' is not a bit rate");
    CHECK_INT(preset_parse_bitrate("-1M", &n, &e), -1);
    CHECK_INT(preset_parse_bitrate("8X", &n, &e), -1);
    CHECK_INT(preset_parse_bitrate("8Mi", &n, &e), -1);
    CHECK_INT(preset_parse_bitrate("", &n, &e), -1);

    CHECK_INT(preset_parse_size("1000", &n, &e), 0);
    CHECK_INT(n, 1000);
    CHECK_INT(preset_parse_size("10MB", &n, &e), 0);
    CHECK_INT(n, 10000000);
    CHECK_INT(preset_parse_size("10k", &n, &e), 0);
    CHECK_INT(n, 10000);
    CHECK_INT(preset_parse_size("2G", &n, &e), 0);
    CHECK_INT(n, 2000000000);
    CHECK_INT(preset_parse_size("1T", &n, &e), 0);
    CHECK_INT(n, 1000000000000LL);
    CHECK_INT(preset_parse_size("1KiB", &n, &e), 0);
    CHECK_INT(n, 1024);
    CHECK_INT(preset_parse_size("1.5MiB", &n, &e), 0);
    CHECK_INT(n, 1572864);
    CHECK_INT(preset_parse_size("2GiB", &n, &e), 0);
    CHECK_INT(n, 2147483648LL);
    CHECK_INT(preset_parse_size("1TiB", &n, &e), 0);
    CHECK_INT(n, 1099511627776LL);
    CHECK_INT(preset_parse_size("512B", &n, &e), 0);
    CHECK_INT(n, 512);
    CHECK_INT(preset_parse_size("big", &n, &e), -1);
    CHECK_HAS(e.msg, "'big' is not a size");
    CHECK_INT(preset_parse_size("10MX", &n, &e), -1);
    CHECK_INT(preset_parse_size("1e30", &n, &e), -1);

    CHECK_INT(preset_parse_ratio("16:9", &d, &e), 0);
    CHECK_NEAR(d, 16.0 / 9, 1e-12);
    CHECK_INT(preset_parse_ratio("9:16", &d, &e), 0);
    CHECK_NEAR(d, 9.0 / 16, 1e-12);
    CHECK_INT(preset_parse_ratio("1.7778", &d, &e), 0);
    CHECK_NEAR(d, 1.7778, 1e-12);
    CHECK_INT(preset_parse_ratio("4/3", &d, &e), 0);
    CHECK_NEAR(d, 4.0 / 3, 1e-12);
    CHECK_INT(preset_parse_ratio("0", &d, &e), -1);
    CHECK_INT(preset_parse_ratio("16:0", &d, &e), -1);
    CHECK_INT(preset_parse_ratio("16:", &d, &e), -1);
    CHECK_INT(preset_parse_ratio("wide", &d, &e), -1);
    CHECK_HAS(e.msg, "'wide' is not a positive ratio");

    CHECK_INT(preset_parse_level("off", &i, &e), 0);
    CHECK_INT(i, RULE_OFF);
    CHECK_INT(preset_parse_level("WARN", &i, &e), 0);
    CHECK_INT(i, RULE_WARN);
    CHECK_INT(preset_parse_level("fail", &i, &e), 0);
    CHECK_INT(i, RULE_FAIL);
    CHECK_INT(preset_parse_level("error", &i, &e), -1);
    CHECK_HAS(e.msg, "'error' is not a level");
    CHECK_STR(preset_level_name(RULE_OFF), "off");
    CHECK_STR(preset_level_name(RULE_WARN), "warn");
    CHECK_STR(preset_level_name(RULE_FAIL), "fail");
}

static void test_layering(void)
{
    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    const char *ini =
        "; a comment\n"
        "[preset]\n"
        "description = my own\n"
        "[batch]\n"
        "jobs = 4\n"
        "[input]\n"
        "patterns = *.mp4, *.mov\n"
        "exclude = tmp*\n"
        "recursive = yes\n"
        "outside_links = allow\n"
        "max_download_size = 500MB\n"
        "download_retries = 0\n"
        "download_timeout = 30\n"
        "download_backoff = 0.5\n"
        "[qc]\n"
        "duration_min = 4.5   ; inline comment\n"
        "duration_max = 10.5\n"
        "duration_level = warn\n"
        "min_width = 1280\n"
        "min_height = 720\n"
        "any_orientation = on\n"
        "aspect_ratio = 9:16\n"
        "aspect_tolerance = 0.02\n"
        "containers = mp4 mov\n"
        "video_codecs = h264,hevc\n"
        "audio_codecs = aac\n"
        "bitrate_min = 1M\n"
        "bitrate_max = 50M\n"
        "video_bitrate_min = 800k\n"
        "video_bitrate_max = 40M\n"
        "fps_min = 30000/1001\n"
        "fps_max = 60\n"
        "audio = required\n"
        "audio_bitrate_min = 128k\n"
        "sample_rates = 44100 48000\n"
        "max_file_size = 1GiB\n"
        "faststart = true\n"
        "faststart_level = off\n"
        "hdr_allowed = false\n"
        "[output]\n"
        "publish = true\n";
    CHECK_INT(preset_load_string(&c, ini, "test.ini", &e), 0);
    CHECK_STR(c.description, "my own");
    CHECK_INT(c.batch.jobs, 4);
    CHECK_INT(c.input.patterns.n, 2);
    CHECK(vb_strlist_has(&c.input.patterns, "*.mov"));
    CHECK_INT(c.input.exclude.n, 1);
    CHECK(c.input.recursive);
    CHECK_INT(c.input.outside_links, OUTSIDE_ALLOW);
    CHECK_INT(c.input.max_download_size, 500000000);
    CHECK_INT(c.input.download_retries, 0);
    CHECK_NEAR(c.input.download_timeout, 30, 1e-9);
    CHECK_NEAR(c.input.download_backoff, 0.5, 1e-9);
    CHECK_NEAR(c.qc.duration_min, 4.5, 1e-12);
    CHECK_NEAR(c.qc.duration_max, 10.5, 1e-12);
    CHECK_INT(c.qc.duration_level, RULE_WARN);
    CHECK_INT(c.qc.resolution_level, RULE_FAIL);
    CHECK_INT(c.qc.min_width, 1280);
    CHECK_INT(c.qc.min_height, 720);
    CHECK(c.qc.any_orientation);
    CHECK_NEAR(c.qc.aspect_ratio, 0.5625, 1e-12);
    CHECK_NEAR(c.qc.aspect_tolerance, 0.02, 1e-12);
    CHECK_INT(c.qc.containers.n, 2);
    CHECK_INT(c.qc.video_codecs.n, 2);
    CHECK(vb_strlist_has(&c.qc.video_codecs, "HEVC"));
    CHECK_INT(c.qc.bitrate_min, 1000000);
    CHECK_INT(c.qc.bitrate_max, 50000000);
    CHECK_INT(c.qc.video_bitrate_min, 800000);
    CHECK_INT(c.qc.video_bitrate_max, 40000000);
    CHECK_NEAR(c.qc.fps_min, 29.97002997, 1e-6);
    CHECK_NEAR(c.qc.fps_max, 60, 1e-12);
    CHECK_INT(c.qc.audio, AUDIO_REQUIRED);
    CHECK_INT(c.qc.audio_bitrate_min, 128000);
    CHECK_INT(c.qc.sample_rates.n, 2);
    CHECK_INT(c.qc.max_file_size, 1073741824);
    CHECK(c.qc.faststart);
    CHECK_INT(c.qc.faststart_level, RULE_OFF);
    CHECK(!c.qc.hdr_allowed);
    CHECK(c.output.publish);

    /* A second layer replaces lists whole, clears with an empty value and
     * leaves untouched keys alone. */
    CHECK_INT(preset_load_string(&c, "[qc]\ncontainers = mkv\nvideo_codecs =\n"
                                     "audio = forbidden\n", "layer2.ini", &e), 0);
    CHECK_INT(c.qc.containers.n, 1);
    CHECK_STR(c.qc.containers.v[0], "mkv");
    CHECK_INT(c.qc.video_codecs.n, 0);
    CHECK_INT(c.qc.audio, AUDIO_FORBIDDEN);
    CHECK_NEAR(c.qc.duration_min, 4.5, 1e-12);
    CHECK_STR(c.description, "my own");

    /* A failing layer leaves the config as it was. */
    CHECK_INT(preset_load_string(&c, "[qc]\ncontainers = avi\nmin_width = x\n",
                                 "bad.ini", &e), -1);
    CHECK_STR(c.qc.containers.v[0], "mkv");
    preset_free_contents(&c);
}

/* Load `text` on top of the defaults and expect an error containing
 * each of the two strings. */
static void expect_error(int line, const char *text, const char *want1, const char *want2)
{
    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    int rc = preset_load_string(&c, text, "test.ini", &e);
    check_count++;
    if (rc != -1 || e.code != VB_ERR_CONFIG || !strstr(e.msg, want1) ||
        (want2 && !strstr(e.msg, want2))) {
        check_failures++;
        fprintf(stderr, "%s:%d: rc %d, message \"%s\", expected \"%s\" and \"%s\"\n",
                __FILE__, line, rc, e.msg, want1, want2 ? want2 : "");
    }
    preset_free_contents(&c);
}

static void test_errors(void)
{
    expect_error(__LINE__, "[qc]\nduration_min = 1\nbogus = 2\n",
                 "test.ini:3:", "unknown key 'bogus' in [qc]");
    expect_error(__LINE__, "[qc]\nduration_min = 1\n\n[video]\nx = 1\n",
                 "test.ini:4:", "unknown section [video]");
    /* An unknown section with no keys is still found. */
    expect_error(__LINE__, "[qc]\n[nonsense]\n", "test.ini:2:", "unknown section [nonsense]");
    expect_error(__LINE__, "\n\n[qc]\nduration_min = abc\n",
                 "test.ini:4:", "[qc] duration_min: 'abc' is not a number");
    /* An empty value unsets a limit that 0 leaves unset (issue 14: what
     * `vbatch presets NAME` writes for one); elsewhere it is required. */
    expect_error(__LINE__, "[batch]\nretries =\n", "test.ini:2:", "value is required");
    expect_error(__LINE__, "[qc]\nduration_level =\n", "test.ini:2:", "value is required");
    expect_error(__LINE__, "[qc]\nduration_min = -1\n", "test.ini:2:", "0 or more");
    expect_error(__LINE__, "[qc]\nmin_width = -1\n", "test.ini:2:", "0 or more");
    expect_error(__LINE__, "[qc]\nmin_width = 12.5\n", "test.ini:2:", "whole number");
    expect_error(__LINE__, "[qc]\nduration_level = never\n", "test.ini:2:", "not a level");
    expect_error(__LINE__, "[qc]\naudio = maybe\n", "test.ini:2:", "use optional, required or forbidden");
    expect_error(__LINE__, "[analyse]\nmode = sometimes\n", "test.ini:2:", "use full or keyframes");
    expect_error(__LINE__, "[thumbnails]\nformat = gif\n", "test.ini:2:", "use jpeg, webp or png");
    expect_error(__LINE__, "[thumbnails]\nquality = 101\n", "test.ini:2:", "at most 100");
    expect_error(__LINE__, "[thumbnails]\nwidth = 0\n", "test.ini:2:", "greater than 0");
    expect_error(__LINE__, "[qc]\nimage_max_pixels = 0\n", "test.ini:2:", "greater than 0");
    expect_error(__LINE__, "[thumbnails]\ntimes = 1 two\n", "test.ini:2:", "not a time");
    expect_error(__LINE__, "[qc]\nsample_rates = 48000 fast\n", "test.ini:2:",
                 "'fast' is not a sample rate");
    expect_error(__LINE__, "[qc]\nsample_rates = 0\n", "test.ini:2:", "sample rate");
    expect_error(__LINE__, "[qc]\nfps_min = 30000/0\n", "test.ini:2:", "frame rate");
    expect_error(__LINE__, "[qc]\naspect_ratio = 0:9\n", "test.ini:2:", "ratio");
    expect_error(__LINE__, "[qc]\nbitrate_min = lots\n", "test.ini:2:", "bit rate");
    expect_error(__LINE__, "[qc]\nmax_file_size = huge\n", "test.ini:2:", "size");
    expect_error(__LINE__, "[qc]\nhdr_allowed = perhaps\n", "test.ini:2:", "boolean");
    expect_error(__LINE__, "[input]\ndownload_timeout = 0\n", "test.ini:2:",
                 "greater than 0");
    expect_error(__LINE__, "[batch]\njobs = many\n", "test.ini:2:", "[batch] jobs");
    expect_error(__LINE__, "[input]\noutside_links = follow\n", "test.ini:2:",
                 "use refuse or allow");
    /* --outside-links takes the same words. */
    CHECK_INT(preset_outside_links("refuse"), OUTSIDE_REFUSE);
    CHECK_INT(preset_outside_links("allow"), OUTSIDE_ALLOW);
    CHECK_INT(preset_outside_links("yes"), -1);
    expect_error(__LINE__, "duration_min = 1\n", "test.ini:1:", "outside any section");
    expect_error(__LINE__, "[qc]\nthis line has no equals sign\n", "test.ini:2:",
                 "syntax error");
    /* A typo gets a suggestion. */
    expect_error(__LINE__, "[qc]\nduraton_min = 1\n", "test.ini:2:",
                 "did you mean 'duration_min'");
    /* The first error is reported, wherever later ones are. */
    expect_error(__LINE__, "[qc]\nx = 1\ny = 2\n", "test.ini:2:", "'x'");
    expect_error(__LINE__, "[qc]\nduration_min = 10\nduration_max = 5\n",
                 "test.ini:", "duration_min (10) is greater than duration_max (5)");
    expect_error(__LINE__, "[preset]\ninherit = no-such-preset\n", "test.ini:2:",
                 "unknown preset 'no-such-preset' (available: broadcast, default");
    /* Long lines are refused rather than split by inih and misnumbered. */
    char big[400];
    memset(big, 'a', sizeof big);
    memcpy(big, "[qc]\ncontainers = ", 18);
    memcpy(big + sizeof big - 12, "\nbogus = 1\n", 12);
    expect_error(__LINE__, big, "test.ini:2:", "longer than");
}

static void test_shipped(void)
{
    static const char *const names[] = {
        "default", "kling-clip", "youtube-1080p", "shorts-vertical", "broadcast",
        "youtube-shorts", "tiktok", "instagram-reels",
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(names); i++) {
        vb_config c;
        vb_error e = { 0 };
        preset_defaults(&c);
        int rc = preset_load_name(&c, names[i], &e);
        check_count++;
        if (rc != 0) {
            check_failures++;
            fprintf(stderr, "%s:%d: preset %s: %s\n", __FILE__, __LINE__, names[i], e.msg);
        }
        CHECK_STR(c.name, names[i]);
        CHECK(c.description && strlen(c.description) > 10);
        preset_free_contents(&c);
    }

    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    CHECK_INT(preset_load_name(&c, "kling-clip", &e), 0);
    CHECK_NEAR(c.qc.duration_min, 4.5, 1e-12);
    CHECK_NEAR(c.qc.duration_max, 10.5, 1e-12);
    CHECK(c.qc.any_orientation);
    CHECK_INT(c.qc.faststart_level, RULE_WARN);
    CHECK(!c.qc.hdr_allowed);
    /* 720p or better in any orientation: 1:1 outputs pass. */
    CHECK_INT(c.qc.min_width, 720);
    CHECK_INT(c.qc.min_height, 720);
    preset_free_contents(&c);

    /* The delivery specs fix to what they check. */
    preset_defaults(&c);
    CHECK_INT(preset_load_name(&c, "youtube-shorts", &e), 0);
    CHECK_INT(c.fix.width, 1080);
    CHECK_INT(c.fix.height, 1920);
    CHECK_NEAR(c.qc.aspect_ratio, 9.0 / 16, 1e-12);
    CHECK_NEAR(c.qc.loudness_target, -14, 1e-12);
    CHECK_NEAR(c.qc.true_peak_max, -1, 1e-12);
    CHECK(c.qc.constant_frame_rate);
    CHECK_INT(c.qc.max_bit_depth, 8);
    preset_free_contents(&c);
    preset_defaults(&c);
    CHECK_INT(preset_load_name(&c, "broadcast", &e), 0);
    CHECK_NEAR(c.qc.loudness_target, -23, 1e-12);
    CHECK_NEAR(c.qc.loudness_tolerance, 1, 1e-12);
    preset_free_contents(&c);

    preset_defaults(&c);
    CHECK_INT(preset_load_name(&c, "nope", &e), -1);
    CHECK_INT(e.code, VB_ERR_CONFIG);
    CHECK_HAS(e.msg, "unknown preset 'nope' (available: broadcast, default, "
                     "instagram-reels, kling-clip, shorts-vertical, tiktok, "
                     "youtube-1080p, youtube-shorts; looked in /nonexistent/vbatch/presets, ");
    CHECK_INT(preset_load_name(&c, "../etc/passwd", &e), -1);
    CHECK_INT(preset_load_name(&c, "", &e), -1);
    preset_free_contents(&c);
}

typedef struct listed {
    int n;
    char names[512];
    bool all_described;
} listed;

static void on_preset(const preset_entry *p, void *ud)
{
    listed *l = ud;
    l->n++;
    strcat(l->names, p->name);
    strcat(l->names, " ");
    if (!p->description || !*p->description)
        l->all_described = false;
    if (!p->path || strcmp(p->origin, "shipped") != 0)
        l->all_described = false;
}

static void test_list(void)
{
    listed l = { .all_described = true };
    vb_error e = { 0 };
    CHECK_INT(preset_list(on_preset, &l, &e), 0);
    CHECK_INT(l.n, 8);
    CHECK_STR(l.names, "broadcast default instagram-reels kling-clip shorts-vertical tiktok "
                       "youtube-1080p youtube-shorts ");
    CHECK(l.all_described);
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = vb_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static void test_inherit(void)
{
    char dir[] = "/tmp/test-preset-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char *base = write_file(dir, "base.ini",
                            "[preset]\ndescription = base\n[qc]\nmin_width = 640\n"
                            "duration_max = 30\ncontainers = mp4\n");
    char *child = write_file(dir, "child.ini",
                             "[qc]\nmin_width = 1280\n[preset]\ninherit = base.ini\n");
    char *loop1 = write_file(dir, "loop1.ini", "[preset]\ninherit = loop2.ini\n");
    char *loop2 = write_file(dir, "loop2.ini", "[preset]\ninherit = loop1.ini\n");
    char *badp = write_file(dir, "badparent.ini", "[qc]\n\nnope = 1\n");
    char *badc = write_file(dir, "badchild.ini", "[preset]\ninherit = badparent.ini\n");

    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    /* inherit is applied first even when written after the file's keys */
    CHECK_INT(preset_load_name(&c, child, &e), 0);
    CHECK_INT(c.qc.min_width, 1280);
    CHECK_NEAR(c.qc.duration_max, 30, 1e-12);
    CHECK_INT(c.qc.containers.n, 1);
    CHECK_STR(c.name, "child");
    CHECK_STR(c.description, "base");
    preset_free_contents(&c);

    preset_defaults(&c);
    CHECK_INT(preset_load_file(&c, loop1, &e), -1);
    CHECK_HAS(e.msg, "cycle");
    CHECK_INT(preset_load_file(&c, badc, &e), -1);
    CHECK_HAS(e.msg, "badchild.ini:2: inherit 'badparent.ini'");
    CHECK_HAS(e.msg, "badparent.ini:3: unknown key 'nope'");
    /* shipped names work too */
    CHECK_INT(preset_load_string(&c, "[preset]\ninherit = kling-clip\n[qc]\n"
                                     "duration_max = 20\n", "s.ini", &e), 0);
    CHECK_NEAR(c.qc.duration_min, 4.5, 1e-12);
    CHECK_NEAR(c.qc.duration_max, 20, 1e-12);
    preset_free_contents(&c);

    char *paths[] = { base, child, loop1, loop2, badp, badc };
    for (size_t i = 0; i < VB_ARRAY_LEN(paths); i++) {
        unlink(paths[i]);
        free(paths[i]);
    }
    rmdir(dir);

    preset_defaults(&c);
    CHECK_INT(preset_load_file(&c, "/nonexistent/x.ini", &e), -1);
    CHECK_HAS(e.msg, "/nonexistent/x.ini");
    preset_free_contents(&c);
}

static void test_write(void)
{
    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    CHECK_INT(preset_load_name(&c, "kling-clip", &e), 0);
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    preset_write(&c, w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    CHECK_HAS(s, "\"name\": \"kling-clip\"");
    CHECK_HAS(s, "\"duration_min\": 4.5");
    CHECK_HAS(s, "\"duration_max\": 10.5");
    CHECK_HAS(s, "\"min_width\": 720");
    CHECK_HAS(s, "\"audio_bitrate_min\": 128000");
    CHECK_HAS(s, "\"faststart_level\": \"warn\"");
    CHECK_HAS(s, "\"audio\": \"optional\"");
    CHECK_HAS(s, "\"hdr_allowed\": false");
    CHECK_HAS(s, "\"bitrate_max\": null");
    CHECK_HAS(s, "\"max_download_size\": 2147483648");
    CHECK_HAS(s, "\"jobs\": 0");
    CHECK_HAS(s, "\"publish\": false");
    CHECK_HAS(s, "\"h264\"");
    CHECK_HAS(s, "\"batch\"");
    CHECK_HAS(s, "\"input\"");
    CHECK_HAS(s, "\"qc\"");
    CHECK_HAS(s, "\"output\"");
    free(s);

    /* The text back end gets the same keys. */
    w = writer_new(WRITER_TEXT);
    writer_begin_object(w, NULL);
    preset_write(&c, w);
    writer_end_object(w);
    s = writer_finish(w, NULL);
    writer_free(&w);
    CHECK_HAS(s, "duration_min: 4.5");
    free(s);
    preset_free_contents(&c);
}

/* [generate] and [provider.kling]: defaults, values, errors naming
 * file:line, copies that survive a failed layer, kling-clip's choices. */
static void test_generate(void)
{
    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    CHECK_STR(c.generate.provider, "kling");
    CHECK_STR(c.generate.model, "kling-v2-6");
    CHECK_STR(c.generate.duration, "5");
    CHECK_STR(c.generate.aspect_ratio, "16:9");
    CHECK_STR(c.generate.mode, "std");
    CHECK(c.generate.cfg_scale == NULL);
    CHECK(c.generate.negative_prompt == NULL);
    CHECK_INT(c.generate.max_concurrent, 3);
    CHECK_INT(c.generate.rpm, 60);
    CHECK_NEAR(c.generate.budget, 0, 0);
    CHECK_NEAR(c.generate.poll_interval, 5, 1e-9);
    CHECK_NEAR(c.generate.task_timeout, 3600, 1e-9);
    CHECK_STR(c.kling.base_url, "https://api-singapore.klingai.com");
    CHECK(c.kling.key_file == NULL);
    CHECK_NEAR(c.kling.request_timeout, 60, 1e-9);

    CHECK_INT(preset_load_string(&c, "[generate]\nmodel = kling-v2-master\nduration = 10\n"
                                 "aspect_ratio = 9:16\nmode = pro\ncfg_scale = 0.7\n"
                                 "negative_prompt = blurry, text\nmax_concurrent = 20\n"
                                 "rpm = 600\nbudget = 12.5\npoll_interval = 2\n"
                                 "task_timeout = 900\n[provider.kling]\n"
                                 "base_url = http://127.0.0.1:8123\nkey_file = keys.txt\n"
                                 "request_timeout = 5\n", "gen.ini", &e), 0);
    CHECK_STR(c.generate.model, "kling-v2-master");
    CHECK_STR(c.generate.duration, "10");
    CHECK_STR(c.generate.cfg_scale, "0.7");
    CHECK_STR(c.generate.negative_prompt, "blurry, text");
    CHECK_INT(c.generate.max_concurrent, 20);
    CHECK_INT(c.generate.rpm, 600);
    CHECK_NEAR(c.generate.budget, 12.5, 1e-9);
    CHECK_NEAR(c.generate.poll_interval, 2, 1e-9);
    CHECK_NEAR(c.generate.task_timeout, 900, 1e-9);
    CHECK_STR(c.kling.base_url, "http://127.0.0.1:8123");
    CHECK_STR(c.kling.key_file, "keys.txt");
    CHECK_NEAR(c.kling.request_timeout, 5, 1e-9);

    /* A layer that fails leaves every string as it was. */
    CHECK_INT(preset_load_string(&c, "[generate]\nmodel = other\nmode = turbo\n", "bad.ini",
                                 &e), -1);
    CHECK_HAS(e.msg, "bad.ini:3:");
    CHECK_STR(c.generate.model, "kling-v2-master");
    CHECK_STR(c.generate.mode, "pro");

    /* An empty column default removes it. */
    CHECK_INT(preset_load_string(&c, "[generate]\ncfg_scale =\n", "t.ini", &e), 0);
    CHECK(c.generate.cfg_scale == NULL || *c.generate.cfg_scale == '\0');

    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    preset_write(&c, w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    CHECK_HAS(s, "\"generate\": {");
    CHECK_HAS(s, "\"model\": \"kling-v2-master\"");
    CHECK_HAS(s, "\"cfg_scale\": null");
    CHECK_HAS(s, "\"rpm\": 600");
    CHECK_HAS(s, "\"budget\": 12.5");
    CHECK_HAS(s, "\"provider.kling\": {");
    CHECK_HAS(s, "\"key_file\": \"keys.txt\"");
    free(s);
    preset_free_contents(&c);

    expect_error(__LINE__, "[generate]\nduration = 7.5\n", "test.ini:2:",
                 "[generate] duration: '7.5' is not a whole number of seconds from 1 to 30");
    expect_error(__LINE__, "[generate]\n\nmode = turbo\n", "test.ini:3:", "not std or pro");
    expect_error(__LINE__, "[generate]\naspect_ratio = wide\n", "test.ini:2:",
                 "not an aspect ratio");
    expect_error(__LINE__, "[generate]\ncfg_scale = 2\n", "test.ini:2:", "between 0 and 1");
    expect_error(__LINE__, "[generate]\nprovider = runway\n", "test.ini:2:",
                 "unknown provider 'runway' (known: kling, fal)");
    expect_error(__LINE__, "[generate]\nmax_concurrent = 0\n", "test.ini:2:",
                 "greater than 0");
    expect_error(__LINE__, "[generate]\nrpm = fast\n", "test.ini:2:", "whole number");
    expect_error(__LINE__, "[generate]\nbudget = -3\n", "test.ini:2:", "0 or more");
    expect_error(__LINE__, "[generate]\npoll_interval = 0\n", "test.ini:2:",
                 "greater than 0");
    expect_error(__LINE__, "[generate]\nmodle = x\n", "test.ini:2:",
                 "did you mean 'mode'");
    expect_error(__LINE__, "[provider.kling]\nbase_url = ftp://example.com\n",
                 "test.ini:2:", "not an http:// or https:// URL");
    expect_error(__LINE__, "[provider.runway]\n", "test.ini:1:",
                 "unknown section [provider.runway]");

    preset_defaults(&c);
    CHECK_INT(preset_load_name(&c, "kling-clip", &e), 0);
    CHECK_STR(c.generate.model, "kling-v2-6");
    CHECK_STR(c.generate.duration, "5");
    CHECK_STR(c.generate.aspect_ratio, "16:9");
    CHECK_STR(c.generate.mode, "std");
    preset_free_contents(&c);
}

/* [batch] limits, retries and grace period: defaults, values, errors. */
static void test_batch_limits(void)
{
    vb_config c;
    vb_error e = { 0 };
    preset_defaults(&c);
    CHECK_NEAR(c.batch.item_timeout, 900, 1e-9);
    CHECK_NEAR(c.batch.stall_timeout, 60, 1e-9);
    CHECK_INT(c.batch.retries, 3);
    CHECK_NEAR(c.batch.retry_backoff, 1, 1e-9);
    CHECK_NEAR(c.batch.grace_period, 5, 1e-9);
    CHECK_INT(preset_load_string(&c, "[batch]\nitem_timeout = 0\nstall_timeout = 2.5\n"
                                     "retries = 0\nretry_backoff = 0.05\ngrace_period = 0\n",
                                 "test.ini", &e), 0);
    CHECK_NEAR(c.batch.item_timeout, 0, 0);
    CHECK_NEAR(c.batch.stall_timeout, 2.5, 1e-9);
    CHECK_INT(c.batch.retries, 0);
    CHECK_NEAR(c.batch.retry_backoff, 0.05, 1e-9);
    CHECK_NEAR(c.batch.grace_period, 0, 0);
    preset_free_contents(&c);
    expect_error(__LINE__, "[batch]\nretries = 101\n", "test.ini:2:", "at most 100");
    expect_error(__LINE__, "[batch]\nitem_timeout = -1\n", "test.ini:2:", "0 or more");
    expect_error(__LINE__, "[batch]\nstall_timeout = soon\n", "test.ini:2:", "not a number");
    expect_error(__LINE__, "[batch]\ngrace_period = -5\n", "test.ini:2:", "0 or more");
}

int main(void)
{
    /* Use the source tree's presets whatever the environment says, and
     * none of the user's. */
    unsetenv("VBATCH_PRESET_DIR");
    setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
    test_defaults();
    test_parsers();
    test_layering();
    test_errors();
    test_shipped();
    test_list();
    test_inherit();
    test_write();
    test_generate();
    test_batch_limits();
    return check_result("test-preset");
}
