/* fuzz-jobs.c - JOBS.csv of `vbatch generate` (jobs.c over csvio.c), as
 * jobs_load reads it with the Kling provider's checks, then what the
 * engine does with the jobs before any network call: deduplication, the
 * canonical request, Kling's request body and unit estimate, and the
 * check of each local input image (a libvips header read in the media
 * module).
 *
 * The CSV is written as JOBS.csv into a folder of the scratch area that
 * holds the images of $VB_FUZZ_IMAGES (made by tests/fuzz/seeds.sh: one
 * Kling takes, one too small, one too wide, one that is not an image),
 * so that relative image cells find them. Checked: jobs.h's promises on
 * errors, ids and durations, the duplicate marks against the canonical
 * requests, and that the request body is JSON holding the job's fields. */
#include "config.h"
#include "fuzz.h"
#include "jobs.h"
#include "preset.h"
#include "provider.h"
#include "util.h"

/* The pixel cap process and generate apply by default ([qc]
 * image_max_pixels). */
#define FUZZ_MAX_PIXELS ((int64_t)100000000)

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *csv_path;
static vb_config cfg;
static provider_session *session;

/* Copy the files of $VB_FUZZ_IMAGES into dir. */
static void copy_images(const char *dir)
{
    const char *src = getenv("VB_FUZZ_IMAGES");
    DIR *d = src ? opendir(src) : NULL;
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *from = util_path_join(src, de->d_name);
        size_t len;
        char *buf = util_read_file(from, &len, NULL);
        if (buf) {
            char *to = util_path_join(dir, de->d_name);
            fuzz_write(to, buf, len);
            free(to);
        }
        free(buf);
        free(from);
    }
    closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    char *dir = fuzz_path("jobs");
    mkdir(dir, 0700);
    copy_images(dir);
    csv_path = util_path_join(dir, "JOBS.csv");
    free(dir);
    preset_defaults(&cfg);
    /* The legacy request shape, whose fields check_body knows; a key that
     * is never sent anywhere, for the session the request builders take. */
    vb_error e = {0};
    if (preset_load_string(&cfg, "[provider.kling]\napi = legacy\n", "fuzz", &e) != 0)
        fuzz_fail("%s", e.msg);
    setenv("KLING_API_KEY", "fuzz-key", 1);
    session = provider_kling.session_new(&cfg, &e);
    if (!session)
        fuzz_fail("no session: %s", e.msg);
    return 0;
}

static bool has_key(json_t *o, const char *k)
{
    return json_object_get(o, k) != NULL;
}

static void check_body(const gen_job *j, const char *body)
{
    json_error_t je;
    json_t *o = json_loads(body, 0, &je);
    if (!json_is_object(o))
        fuzz_fail("job %s: the request body is not a JSON object: %s", j->id, body);
    if (!has_key(o, "model_name") || !has_key(o, "mode") || !has_key(o, "duration") ||
        !has_key(o, "external_task_id"))
        fuzz_fail("job %s: the request body lacks a field: %s", j->id, body);
    if ((j->prompt && *j->prompt) != has_key(o, "prompt"))
        fuzz_fail("job %s: prompt \"%s\" and the request body disagree: %s", j->id,
                  j->prompt ? j->prompt : "(none)", body);
    if ((j->negative_prompt && *j->negative_prompt) != has_key(o, "negative_prompt"))
        fuzz_fail("job %s: negative_prompt and the request body disagree: %s", j->id, body);
    if (j->image && !has_key(o, "image"))
        fuzz_fail("job %s: image missing from the request body: %s", j->id, body);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(csv_path, data, size);
    gen_jobs jobs = {0};
    vb_error e = {0};
    int rc = jobs_load(&jobs, csv_path, &cfg, &provider_kling, &e);
    if ((rc == 0) != (jobs.nerrors == 0))
        fuzz_fail("jobs_load returned %d with %zu errors", rc, jobs.nerrors);
    if (jobs.errors.n > JOBS_MAX_ERRORS || jobs.errors.n > jobs.nerrors ||
        (jobs.nerrors > 0 && jobs.errors.n == 0))
        fuzz_fail("%zu messages kept for %zu errors", jobs.errors.n, jobs.nerrors);
    if (rc != 0 && (!e.msg[0] || strcmp(e.msg, jobs.errors.v[0]) != 0))
        fuzz_fail("the error \"%s\" is not the first message", e.msg);
    if (rc != 0) {
        jobs_free(&jobs);
        return 0;
    }
    if (jobs.n == 0)
        fuzz_fail("no error and no job");

    size_t unique = jobs_dedupe(&jobs, "kling");
    size_t n = jobs.n < 200 ? jobs.n : 200;
    char **canon = calloc(n, sizeof *canon);
    size_t firsts = 0;
    for (size_t i = 0; i < jobs.n; i++) {
        const gen_job *j = &jobs.v[i];
        if (!j->id || !*j->id || strlen(j->id) > JOBS_MAX_ID)
            fuzz_fail("row %d: id \"%s\"", j->row, j->id ? j->id : "(null)");
        for (size_t k = 0; k < i && k < n; k++)
            if (strcmp(jobs.v[k].id, j->id) == 0)
                fuzz_fail("id %s given twice", j->id);
        if (j->duration != 5 && j->duration != 10)
            fuzz_fail("job %s: duration %d", j->id, j->duration);
        if ((j->kind == GEN_I2V) != (j->image != NULL) || (j->image_tail && !j->image))
            fuzz_fail("job %s: kind %d with image %s, tail %s", j->id, j->kind,
                      j->image ? j->image : "-", j->image_tail ? j->image_tail : "-");
        if (!isnan(j->cfg_scale) && (j->cfg_scale < 0 || j->cfg_scale > 1))
            fuzz_fail("job %s: cfg_scale %g", j->id, j->cfg_scale);
        if (j->duplicate_of < 0)
            firsts++;
        else if ((size_t)j->duplicate_of >= i)
            fuzz_fail("job %s: duplicate of a later job %ld", j->id, j->duplicate_of);

        char *c = jobs_canonical(j, "kling", NULL, NULL);
        json_t *o = c ? json_loads(c, 0, NULL) : NULL;
        if (!json_is_object(o))
            fuzz_fail("job %s: canonical request is not JSON: %s", j->id, c ? c : "(null)");
        json_decref(o);
        if (i < n) {
            canon[i] = c;
            if (j->duplicate_of >= 0 && strcmp(canon[j->duplicate_of], c) != 0)
                fuzz_fail("job %s marked a duplicate of %s, whose request differs", j->id,
                          jobs.v[j->duplicate_of].id);
            if (j->duplicate_of < 0)
                for (size_t k = 0; k < i; k++)
                    if (strcmp(canon[k], c) == 0)
                        fuzz_fail("job %s: same request as %s, not marked", j->id,
                                  jobs.v[k].id);
        } else {
            free(c);
        }

        char *path = NULL, *body = NULL;
        vb_error re = {0};
        if (provider_kling.create_request(session, j, "fuzz-ext-1", j->image ? "aW1n" : NULL,
                                          j->image_tail ? "dGFpbA==" : NULL, &path, &body,
                                          &re) != 0)
            fuzz_fail("job %s: no request: %s", j->id, re.msg);
        check_body(j, body);
        free(path);
        free(body);
        char *q = provider_kling.query_path(session, j, j->id, false);
        free(q);
        if (!(provider_kling.estimate_units(j) > 0))
            fuzz_fail("job %s: validated, but no unit estimate", j->id);

        const char *files[2] = { j->image_file, j->image_tail_file };
        for (int k = 0; k < 2; k++) {
            if (!files[k])
                continue;
            vb_error ie = {0};
            if (provider_kling.check_image(files[k], FUZZ_MAX_PIXELS, &ie) != 0 && !ie.msg[0])
                fuzz_fail("job %s: image %s refused without a message", j->id, files[k]);
        }
    }
    if (firsts != unique)
        fuzz_fail("jobs_dedupe counted %zu unique requests, %zu are not marked", unique,
                  firsts);
    for (size_t i = 0; i < n; i++)
        free(canon[i]);
    free(canon);
    jobs_free(&jobs);
    return 0;
}
