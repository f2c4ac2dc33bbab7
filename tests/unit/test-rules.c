/* test-rules.c - quality gates on hand-made probe results. */
#include "config.h"
#include "check.h"
#include "image.h"
#include "rules.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static probe_stream vstream(int w, int h)
{
    probe_stream s = {0};
    s.type = PROBE_VIDEO;
    s.codec = "h264";
    s.width = s.display_width = w;
    s.height = s.display_height = h;
    s.sar = (probe_rational){ 1, 1 };
    s.avg_frame_rate = (probe_rational){ 25, 1 };
    s.r_frame_rate = (probe_rational){ 25, 1 };
    s.bit_rate = 5000000;
    return s;
}

static probe_stream astream(void)
{
    probe_stream s = {0};
    s.type = PROBE_AUDIO;
    s.codec = "aac";
    s.sample_rate = 48000;
    s.channels = 2;
    s.bit_rate = 160000;
    return s;
}

static const rule_result *find(const rule_report *r, const char *rule)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->r[i].rule, rule) == 0)
            return &r->r[i];
    return NULL;
}

static int verdict_of(const qc_config *q, const probe_result *p, const char *rule)
{
    rule_report r;
    rules_eval(q, p, &r);
    const rule_result *x = find(&r, rule);
    int v = x ? x->verdict : -1;
    rules_report_free(&r);
    return v;
}

/* image_header_quick on a file holding the n bytes b: its return, and
 * out filled on 0. */
static int quick(const void *b, size_t n, image_info *out)
{
    char path[] = "/tmp/vbatch-test-rules-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, b, n) != (ssize_t)n)
        return -2;
    close(fd);
    vb_error e = {0};
    int rc = image_header_quick(path, out, &e);
    unlink(path);
    return rc;
}

/* The headers of the thumbnails read back (thumbs.c): JPEG's frame header
 * after its tables, PNG's IHDR, WebP's lossy and lossless headers; what
 * is not one of those, or cut short, is left to libvips (1). */
static void test_quick_headers(void)
{
    static const uint8_t jpeg[] = {
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        0xFF, 0xFF, /* fill */ 0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01,
        0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0xB4, 0x01, 0x40, 0x03,
        0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xDA };
    image_info i;
    CHECK_INT(quick(jpeg, sizeof jpeg, &i), 0);
    CHECK_INT(i.width, 320);
    CHECK_INT(i.height, 180);
    CHECK_INT(i.bands, 3);
    CHECK_STR(i.format, "jpeg");
    CHECK_INT(i.size, (long long)sizeof jpeg);
    image_info_clear(&i);
    /* Cut inside the tables; a scan before any frame header. */
    CHECK_INT(quick(jpeg, 26, &i), 1);
    uint8_t noframe[] = { 0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00 };
    CHECK_INT(quick(noframe, sizeof noframe, &i), 1);

    static const uint8_t png[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
        0, 0, 0, 160, 0, 0, 0, 90, 8, 2, 0, 0, 0, 0x12, 0x34, 0x56, 0x78 };
    CHECK_INT(quick(png, sizeof png, &i), 0);
    CHECK_INT(i.width, 160);
    CHECK_INT(i.height, 90);
    CHECK_INT(i.bands, 3);
    CHECK_STR(i.format, "png");
    image_info_clear(&i);
    uint8_t pal[sizeof png];
    memcpy(pal, png, sizeof png);
    pal[25] = 3; /* a palette: its bands depend on tRNS, libvips says */
    CHECK_INT(quick(pal, sizeof pal, &i), 1);
    CHECK_INT(quick(png, 20, &i), 1);

    static const uint8_t lossy[] = {
        'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' ', 10, 0, 0, 0,
        0x50, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0xA0, 0x00, 0x5A, 0x00 };
    CHECK_INT(quick(lossy, sizeof lossy, &i), 0);
    CHECK_INT(i.width, 160);
    CHECK_INT(i.height, 90);
    CHECK_INT(i.bands, 3);
    CHECK_STR(i.format, "webp");
    image_info_clear(&i);
    /* Lossless: 14 bits of width - 1, 14 of height - 1, the alpha hint. */
    uint32_t v = 159u | 89u << 14 | 1u << 28;
    uint8_t lossless[30] = { 'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P',
                             'V', 'P', '8', 'L', 10, 0, 0, 0, 0x2F,
                             (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                             (uint8_t)(v >> 24) };
    CHECK_INT(quick(lossless, sizeof lossless, &i), 0);
    CHECK_INT(i.width, 160);
    CHECK_INT(i.height, 90);
    CHECK_INT(i.bands, 4);
    CHECK_STR(i.format, "webp");
    image_info_clear(&i);
    uint8_t ext[sizeof lossy];
    memcpy(ext, lossy, sizeof lossy);
    memcpy(ext + 12, "VP8X", 4);
    CHECK_INT(quick(ext, sizeof ext, &i), 1);

    CHECK_INT(quick("not a picture\n", 14, &i), 1);
    vb_error e = {0};
    CHECK_INT(image_header_quick("/nonexistent/vbatch/x.jpg", &i, &e), -1);
}

int main(void)
{
    test_quick_headers();

    vb_config c;
    preset_defaults(&c);
    qc_config *q = &c.qc;
    probe_stream st[2] = { vstream(1280, 720), astream() };
    probe_result p = {0};
    p.container = "mp4";
    p.duration = 6.0;
    p.bit_rate = 5200000;
    p.size = 4000000;
    p.faststart = 1;
    p.streams = st;
    p.nb_streams = 2;
    p.video = &st[0];
    p.audio = &st[1];

    /* Defaults: only the video stream check runs, and passes. */
    rule_report r;
    rules_eval(q, &p, &r);
    CHECK_INT(r.verdict, VERDICT_PASS);
    CHECK(find(&r, "video_stream") != NULL);
    CHECK(find(&r, "duration_min") == NULL);
    rules_report_free(&r);

    /* Duration: limits inclusive; levels fail / warn / off. */
    q->duration_min = 6.0;
    CHECK_INT(verdict_of(q, &p, "duration_min"), VERDICT_PASS);
    q->duration_min = 6.5;
    CHECK_INT(verdict_of(q, &p, "duration_min"), VERDICT_FAIL);
    q->duration_level = RULE_WARN;
    CHECK_INT(verdict_of(q, &p, "duration_min"), VERDICT_WARN);
    q->duration_level = RULE_OFF;
    CHECK_INT(verdict_of(q, &p, "duration_min"), -1);
    q->duration_level = RULE_FAIL;
    q->duration_min = 0;
    q->duration_max = 5.0;
    rules_eval(q, &p, &r);
    const rule_result *x = find(&r, "duration_max");
    CHECK(x != NULL);
    if (x) {
        CHECK_INT(x->verdict, VERDICT_FAIL);
        CHECK_STR(x->value, "6.000 s");
        CHECK_STR(x->limit, "5.000 s");
        CHECK(strstr(x->message, "maximum") != NULL);
    }
    CHECK_INT(r.nfail, 1);
    CHECK_INT(r.verdict, VERDICT_FAIL);
    rules_report_free(&r);
    q->duration_max = 0;
    /* Unknown duration fails a set limit. */
    p.duration = NAN;
    q->duration_min = 1;
    CHECK_INT(verdict_of(q, &p, "duration_min"), VERDICT_FAIL);
    p.duration = 6.0;
    q->duration_min = 0;

    /* Resolution: displayed size; any orientation. */
    q->min_width = 1280;
    q->min_height = 720;
    CHECK_INT(verdict_of(q, &p, "min_width"), VERDICT_PASS);
    st[0].display_width = 720;
    st[0].display_height = 1280; /* rotated */
    CHECK_INT(verdict_of(q, &p, "min_width"), VERDICT_FAIL);
    q->any_orientation = true;
    CHECK_INT(verdict_of(q, &p, "min_resolution"), VERDICT_PASS);
    CHECK_INT(verdict_of(q, &p, "min_width"), -1);
    st[0].display_width = 1280;
    st[0].display_height = 720;
    q->min_width = q->min_height = 0;
    q->any_orientation = false;

    /* Aspect: rotation swaps, SAR stretches, tolerance is relative. */
    q->aspect_ratio = 16.0 / 9.0;
    CHECK_INT(verdict_of(q, &p, "aspect_ratio"), VERDICT_PASS);
    st[0].display_width = 720;
    st[0].display_height = 1280;
    CHECK_INT(verdict_of(q, &p, "aspect_ratio"), VERDICT_FAIL);
    q->aspect_ratio = 9.0 / 16.0;
    CHECK_INT(verdict_of(q, &p, "aspect_ratio"), VERDICT_PASS);
    st[0].display_width = 1280;
    st[0].display_height = 720;
    st[0].width = 720;
    st[0].height = 576;
    st[0].display_width = 720;
    st[0].display_height = 576;
    st[0].sar = (probe_rational){ 16, 15 };
    q->aspect_ratio = 4.0 / 3.0;
    CHECK_INT(verdict_of(q, &p, "aspect_ratio"), VERDICT_PASS);
    q->aspect_tolerance = 0.0;
    q->aspect_ratio = 1.34;
    CHECK_INT(verdict_of(q, &p, "aspect_ratio"), VERDICT_FAIL);
    q->aspect_tolerance = 0.01;
    CHECK_INT(verdict_of(q, &p, "aspect_ratio"), VERDICT_PASS);
    q->aspect_ratio = 0;
    st[0] = vstream(1280, 720);

    /* Lists: case-insensitive membership. */
    vb_strlist_set_words(&q->containers, "MOV, mp4");
    CHECK_INT(verdict_of(q, &p, "container"), VERDICT_PASS);
    vb_strlist_set_words(&q->containers, "mkv");
    CHECK_INT(verdict_of(q, &p, "container"), VERDICT_FAIL);
    vb_strlist_clear(&q->containers);
    vb_strlist_set_words(&q->video_codecs, "hevc");
    CHECK_INT(verdict_of(q, &p, "video_codec"), VERDICT_FAIL);
    vb_strlist_clear(&q->video_codecs);
    vb_strlist_set_words(&q->audio_codecs, "aac opus");
    CHECK_INT(verdict_of(q, &p, "audio_codec"), VERDICT_PASS);
    vb_strlist_clear(&q->audio_codecs);

    /* Bit rates. */
    q->bitrate_min = 5200000;
    CHECK_INT(verdict_of(q, &p, "bitrate_min"), VERDICT_PASS);
    q->bitrate_max = 5000000;
    CHECK_INT(verdict_of(q, &p, "bitrate_max"), VERDICT_FAIL);
    q->bitrate_min = q->bitrate_max = 0;
    q->video_bitrate_min = 6000000;
    CHECK_INT(verdict_of(q, &p, "video_bitrate_min"), VERDICT_FAIL);
    st[0].bit_rate = 0; /* unknown fails a set limit */
    CHECK_INT(verdict_of(q, &p, "video_bitrate_min"), VERDICT_FAIL);
    st[0].bit_rate = 5000000;
    q->video_bitrate_min = 0;

    /* Frame rate: 29.97 limits accept 30000/1001. */
    st[0].avg_frame_rate = (probe_rational){ 30000, 1001 };
    q->fps_min = 29.97;
    q->fps_max = 29.97;
    CHECK_INT(verdict_of(q, &p, "fps_min"), VERDICT_PASS);
    CHECK_INT(verdict_of(q, &p, "fps_max"), VERDICT_PASS);
    q->fps_min = 30;
    CHECK_INT(verdict_of(q, &p, "fps_min"), VERDICT_FAIL);
    q->fps_min = q->fps_max = 0;

    /* Audio presence. */
    q->audio = AUDIO_FORBIDDEN;
    CHECK_INT(verdict_of(q, &p, "audio"), VERDICT_FAIL);
    q->audio = AUDIO_REQUIRED;
    CHECK_INT(verdict_of(q, &p, "audio"), VERDICT_PASS);
    p.audio = NULL;
    CHECK_INT(verdict_of(q, &p, "audio"), VERDICT_FAIL);
    q->audio_bitrate_min = 128000; /* not checked without audio */
    CHECK_INT(verdict_of(q, &p, "audio_bitrate_min"), -1);
    p.audio = &st[1];
    CHECK_INT(verdict_of(q, &p, "audio_bitrate_min"), VERDICT_PASS);
    st[1].bit_rate = 126000; /* "128k" as measured: within the 2% slack */
    CHECK_INT(verdict_of(q, &p, "audio_bitrate_min"), VERDICT_PASS);
    q->bitrate_tolerance = 0;
    CHECK_INT(verdict_of(q, &p, "audio_bitrate_min"), VERDICT_FAIL);
    q->bitrate_tolerance = 0.02;
    st[1].bit_rate = 125000;
    CHECK_INT(verdict_of(q, &p, "audio_bitrate_min"), VERDICT_FAIL);
    q->audio = AUDIO_OPTIONAL;
    q->audio_bitrate_min = 0;
    vb_strlist_set_words(&q->sample_rates, "44100");
    CHECK_INT(verdict_of(q, &p, "sample_rate"), VERDICT_FAIL);
    vb_strlist_set_words(&q->sample_rates, "44100 48000");
    CHECK_INT(verdict_of(q, &p, "sample_rate"), VERDICT_PASS);
    vb_strlist_clear(&q->sample_rates);

    /* Size, faststart (not applicable outside MP4/MOV), HDR. */
    q->max_file_size = 4000000;
    CHECK_INT(verdict_of(q, &p, "max_file_size"), VERDICT_PASS);
    q->max_file_size = 3999999;
    CHECK_INT(verdict_of(q, &p, "max_file_size"), VERDICT_FAIL);
    q->max_file_size = 0;
    q->faststart = true;
    CHECK_INT(verdict_of(q, &p, "faststart"), VERDICT_PASS);
    p.faststart = 0;
    CHECK_INT(verdict_of(q, &p, "faststart"), VERDICT_FAIL);
    p.faststart = -1;
    CHECK_INT(verdict_of(q, &p, "faststart"), -1);
    q->faststart = false;
    q->hdr_allowed = false;
    CHECK_INT(verdict_of(q, &p, "hdr"), VERDICT_PASS);
    st[0].hdr = true;
    st[0].color_transfer = "smpte2084";
    CHECK_INT(verdict_of(q, &p, "hdr"), VERDICT_FAIL);
    q->hdr_level = RULE_WARN;
    rules_eval(q, &p, &r);
    CHECK_INT(r.verdict, VERDICT_WARN);
    CHECK_INT(r.nwarn, 1);
    CHECK_INT(r.nfail, 0);
    rules_report_free(&r);

    /* No video at all. */
    p.video = NULL;
    CHECK_INT(verdict_of(q, &p, "video_stream"), VERDICT_FAIL);

    preset_free_contents(&c);
    return check_result("test-rules");
}
