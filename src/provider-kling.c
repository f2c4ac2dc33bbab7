/* provider-kling.c - Kling (Kuaishou) video generation: which requests its
 * API takes, what they cost, and which input images it refuses, so that
 * a job that would be refused is refused here, at no cost, before the
 * batch starts.
 *
 * The API: POST /v1/videos/text2video and /v1/videos/image2video with
 * model_name, prompt, negative_prompt, cfg_scale, mode, aspect_ratio,
 * duration ("5" or "10"), image / image_tail (base64), external_task_id;
 * GET /v1/videos/{text2video|image2video}/{task_id}. */
#include "config.h"
#include "provider.h"
#include "image.h"
#include "jobs.h"
#include "util.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text limits of the create calls, in characters. */
#define KLING_MAX_PROMPT 2500
#define KLING_MAX_NEGATIVE 2500

/* Input images (image, image_tail): JPEG or PNG, at most 10 MB, at least
 * 300 px on each side, aspect ratio between 1:2.5 and 2.5:1. */
#define KLING_IMAGE_MAX_BYTES (10 * 1024 * 1024)
#define KLING_IMAGE_MIN_SIDE 300
#define KLING_IMAGE_MAX_ASPECT 2.5

/* Models and their cost, in units of a Kling API resource package, from
 * Kling's published API price list (klingai.com developer pricing, 2025)
 * for one 5 s or 10 s video. The task's final_unit_deduction, when the
 * API reports it, replaces the estimate. A model missing here is refused
 * by validate: add its row when Kling publishes one.
 *
 *   model              t2v i2v  std 5s/10s  pro 5s/10s
 *   kling-v1            x   x     1 / 2      3.5 / 7
 *   kling-v1-5              x     2 / 4      3.5 / 7
 *   kling-v1-6          x   x     2 / 4      3.5 / 7
 *   kling-v2-master     x   x    10 / 20     (one tier: std = pro)
 *   kling-v2-1              x     2 / 4      3.5 / 7
 *   kling-v2-1-master   x   x    10 / 20     (one tier: std = pro)
 *   kling-v2-5-turbo    x   x     -          2.5 / 5
 */
typedef struct kling_model {
    const char *name;
    bool t2v, i2v;
    double units[2][2];  /* [std, pro][5 s, 10 s]; 0 = mode not offered */
} kling_model;

static const kling_model models[] = {
    { "kling-v1", true, true, { { 1, 2 }, { 3.5, 7 } } },
    { "kling-v1-5", false, true, { { 2, 4 }, { 3.5, 7 } } },
    { "kling-v1-6", true, true, { { 2, 4 }, { 3.5, 7 } } },
    { "kling-v2-master", true, true, { { 10, 20 }, { 10, 20 } } },
    { "kling-v2-1", false, true, { { 2, 4 }, { 3.5, 7 } } },
    { "kling-v2-1-master", true, true, { { 10, 20 }, { 10, 20 } } },
    { "kling-v2-5-turbo", true, true, { { 0, 0 }, { 2.5, 5 } } },
};

static const char *const aspect_ratios[] = { "16:9", "9:16", "1:1" };

static const kling_model *model_find(const char *name)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(models); i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

static char *model_names(bool (*ok)(const kling_model *))
{
    char buf[512] = "";
    for (size_t i = 0; i < VB_ARRAY_LEN(models); i++) {
        if (ok && !ok(&models[i]))
            continue;
        if (*buf)
            strncat(buf, ", ", sizeof buf - strlen(buf) - 1);
        strncat(buf, models[i].name, sizeof buf - strlen(buf) - 1);
    }
    return vb_xstrdup(buf);
}

static bool takes_t2v(const kling_model *m) { return m->t2v; }
static bool takes_i2v(const kling_model *m) { return m->i2v; }

static int mode_index(const char *mode)
{
    return strcmp(mode, "pro") == 0 ? 1 : strcmp(mode, "std") == 0 ? 0 : -1;
}

static int kling_validate(const gen_job *j, const vb_config *c, vb_error *e)
{
    (void)c;
    const kling_model *m = model_find(j->model);
    if (!m) {
        char *names = model_names(NULL);
        vb_fail(e, VB_ERR_USAGE, "model: '%s' is not a Kling model (known: %s)", j->model,
                names);
        free(names);
        return -1;
    }
    if ((j->kind == GEN_T2V && !m->t2v) || (j->kind == GEN_I2V && !m->i2v)) {
        char *names = model_names(j->kind == GEN_T2V ? takes_t2v : takes_i2v);
        vb_fail(e, VB_ERR_USAGE, "model: %s does not do %s (those that do: %s)", j->model,
                j->kind == GEN_T2V ? "text-to-video (a row without image)"
                                   : "image-to-video",
                names);
        free(names);
        return -1;
    }
    int mi = mode_index(j->mode);
    if (mi < 0 || m->units[mi][0] <= 0)
        return vb_fail(e, VB_ERR_USAGE, "mode: %s is not offered by %s%s", j->mode, j->model,
                       m->units[1][0] > 0 ? " (use pro)" : "");
    if (j->duration != 5 && j->duration != 10)
        return vb_fail(e, VB_ERR_USAGE, "duration: %d s (Kling makes 5 or 10)", j->duration);
    if (j->aspect_ratio) {
        bool ok = false;
        for (size_t i = 0; i < VB_ARRAY_LEN(aspect_ratios); i++)
            if (strcmp(j->aspect_ratio, aspect_ratios[i]) == 0)
                ok = true;
        if (!ok)
            return vb_fail(e, VB_ERR_USAGE, "aspect_ratio: %s (Kling makes 16:9, 9:16 or 1:1)",
                           j->aspect_ratio);
    }
    if (!isnan(j->cfg_scale) && (j->cfg_scale < 0 || j->cfg_scale > 1))
        return vb_fail(e, VB_ERR_USAGE, "cfg_scale: %g is not between 0 and 1", j->cfg_scale);
    static const struct { const char *name; size_t off; long max; } texts[] = {
        { "prompt", offsetof(gen_job, prompt), KLING_MAX_PROMPT },
        { "negative_prompt", offsetof(gen_job, negative_prompt), KLING_MAX_NEGATIVE },
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(texts); i++) {
        const char *s = *(char *const *)((const char *)j + texts[i].off);
        long n = s ? util_utf8_chars(s) : 0;
        if (n < 0)
            return vb_fail(e, VB_ERR_USAGE, "%s: not valid UTF-8", texts[i].name);
        if (n > texts[i].max)
            return vb_fail(e, VB_ERR_USAGE, "%s: %ld characters, Kling takes at most %ld",
                           texts[i].name, n, texts[i].max);
    }
    return 0;
}

static double kling_estimate_units(const gen_job *j)
{
    const kling_model *m = model_find(j->model);
    int mi = mode_index(j->mode);
    if (!m || mi < 0 || (j->duration != 5 && j->duration != 10))
        return -1;
    double u = m->units[mi][j->duration == 10];
    return u > 0 ? u : -1;
}

static int kling_check_image(const char *path, vb_error *e)
{
    image_info in;
    /* Header only; no pixel limit beyond Kling's own (10 MB). */
    if (image_probe(path, 0, &in, e) != 0)
        return -1;
    int rc = 0;
    const char *f = in.format ? in.format : "unknown";
    double aspect = in.height > 0 ? (double)in.width / in.height : 0;
    if (strcmp(f, "jpeg") != 0 && strcmp(f, "png") != 0) {
        rc = vb_fail(e, VB_ERR_MEDIA, "%s image: Kling takes JPEG or PNG", f);
    } else if (in.size > KLING_IMAGE_MAX_BYTES) {
        rc = vb_fail(e, VB_ERR_LIMIT, "%.1f MB: Kling takes at most %d MB",
                     (double)in.size / (1024 * 1024), KLING_IMAGE_MAX_BYTES / (1024 * 1024));
    } else if (in.width < KLING_IMAGE_MIN_SIDE || in.height < KLING_IMAGE_MIN_SIDE) {
        rc = vb_fail(e, VB_ERR_LIMIT, "%d x %d px: Kling needs at least %d px on each side",
                     in.width, in.height, KLING_IMAGE_MIN_SIDE);
    } else if (aspect > KLING_IMAGE_MAX_ASPECT || aspect < 1 / KLING_IMAGE_MAX_ASPECT) {
        rc = vb_fail(e, VB_ERR_LIMIT,
                     "%d x %d px, aspect %.2f:1: Kling takes 1:2.5 to 2.5:1", in.width,
                     in.height, aspect);
    }
    image_info_clear(&in);
    return rc;
}

const provider provider_kling = {
    .name = "kling",
    .units = "units",
    .validate = kling_validate,
    .estimate_units = kling_estimate_units,
    .check_image = kling_check_image,
};
