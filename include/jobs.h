/* jobs.h - the jobs of `vbatch generate`: JOBS.csv read into a list of
 * well-formed requests, every problem reported with its file, line and
 * row before anything is submitted; and the canonical form of a request,
 * from which its external task id is derived and by which identical
 * rows are generated once.
 *
 * JOBS.csv: a header row naming the columns (any order, any case), then
 * one job per row. Columns: id, prompt, negative_prompt, model, duration,
 * aspect_ratio, mode, cfg_scale, image, image_tail. An empty cell (or a
 * missing column) takes the [generate] default of that column. */
#ifndef VB_JOBS_H
#define VB_JOBS_H

#include "vbatch.h"
#include "preset.h"

struct provider;

enum gen_kind { GEN_T2V = 0, GEN_I2V = 1 };

/* Messages kept in gen_jobs.errors; the others are only counted. */
#define JOBS_MAX_ERRORS 20
/* Longest duration a JOBS.csv cell may ask for (seconds). */
#define JOBS_MAX_DURATION 30
/* Longest id (bytes); ids name folders and report rows. */
#define JOBS_MAX_ID 100

typedef struct gen_job {
    int line;               /* physical line of JOBS.csv where the row starts */
    int row;                /* record number, the header being row 1, as a
                             * spreadsheet counts (differs from line when a
                             * cell holds line breaks) */
    char *id;               /* the id column, or "row-N" when empty */
    int kind;               /* enum gen_kind: GEN_I2V when the row has an image */
    char *prompt;           /* NULL when empty (allowed for image-to-video) */
    char *negative_prompt;  /* NULL when none */
    char *model;
    int duration;           /* seconds, 1 to JOBS_MAX_DURATION (the provider
                             * says which it makes) */
    char *aspect_ratio;     /* "16:9" ... */
    char *mode;             /* "std" or "pro" */
    double cfg_scale;       /* 0..1, NAN when unset */
    char *image;            /* as written: a local path or an http(s) URL; NULL if none */
    char *image_tail;       /* idem; only with image */
    char *image_file;       /* image as a local file: its real path (relative
                             * references are taken from JOBS.csv's folder,
                             * symbolic links resolved); NULL for a URL, for
                             * none, and for a refused one */
    char *image_tail_file;  /* idem for image_tail */
    char *refused;          /* why the job is refused before submission, with
                             * FILE:LINE (row N): a local image outside the
                             * folders allowed (jobs_load_from); NULL if not.
                             * A refused job is never submitted nor deduplicated,
                             * and its refused image is never read. */
    long duplicate_of;      /* index in gen_jobs.v of the first job with the same
                             * canonical request, -1 if none (jobs_dedupe) */
} gen_job;

typedef struct gen_jobs {
    gen_job *v;
    size_t n;
    vb_strlist errors;      /* the first JOBS_MAX_ERRORS messages, "FILE:LINE (row N): ..." */
    size_t nerrors;         /* all of them */
} gen_jobs;

/* Is `value` well-formed for JOBS.csv column `column` (a non-empty cell,
 * or its [generate] default)? 0, or -1 with e set ("'7' is not 5 or 10"). */
int jobs_check_cell(const char *column, const char *value, vb_error *e);

/* Read JOBS.csv into out (zeroed by the caller, released by jobs_free):
 * every row is parsed, the [generate] defaults of c applied and every
 * value checked; local images must exist; then the provider p (NULL: no
 * provider checks) is asked about each well-formed row. Returns 0 when
 * there is no error, -1 otherwise: each problem is in out->errors /
 * out->nerrors, in file order (duplicate ids last; a file that can not
 * be read as CSV is one error) and e holds the first. Only rows without
 * error are in out->v.
 *
 * A JOBS.csv may come from someone else: a local image is taken only if
 * its real path (symbolic links resolved) lies in the CSV's folder or
 * below, or in one of image_dirs (--images-from; NULL: none). Any other
 * (../../x.jpg, /home/me/x.jpg, a link to outside) makes its job refused
 * (gen_job.refused), not an error of the file. */
int jobs_load_from(gen_jobs *out, const char *path, const vb_strlist *image_dirs,
                   const vb_config *c, const struct provider *p, vb_error *e);
/* jobs_load_from without other folders. */
int jobs_load(gen_jobs *out, const char *path, const vb_config *c,
              const struct provider *p, vb_error *e);
/* The same over text; `origin` names it in messages, relative image paths
 * are taken from `base_dir` (NULL: the current folder), and local images
 * must lie under it. */
int jobs_load_mem(gen_jobs *out, const char *text, size_t len, const char *origin,
                  const char *base_dir, const vb_config *c, const struct provider *p,
                  vb_error *e);

/* The canonical request of a job: compact JSON with sorted keys, holding
 * the provider name and every field the request is made of, and nothing
 * else (not the id, nor the row). Images are named by image_ref and
 * tail_ref, given by the caller: the engine passes "sha256:HEX" of the
 * content; NULL means the job's own reference (URL, or local path made
 * absolute). Two jobs with the same canonical request are the same
 * request. Caller frees. */
char *jobs_canonical(const gen_job *j, const char *provider, const char *image_ref,
                     const char *tail_ref);

/* Mark jobs whose canonical request (images named by reference) equals
 * an earlier one's: duplicate_of = that job's index. Refused jobs take
 * no part. Returns the number of unique requests (refused ones count). */
size_t jobs_dedupe(gen_jobs *jobs, const char *provider);
struct shard;
/* Keep shard s's jobs only (shard.h), keyed by the canonical request, so
 * that identical requests fall in one shard and are made once there (a
 * job refused before submission: by its id). Before jobs_dedupe. */
void jobs_keep_shard(gen_jobs *jobs, const char *provider, const struct shard *s);

/* "t2v" or "i2v". */
const char *jobs_kind_name(int kind);

/* Release the list and every job in it (jobs_job_clear). */
void jobs_free(gen_jobs *jobs);

/* ---- one job: gen_job is owned here ---- */

/* d becomes a deep copy of s (released by jobs_job_clear). */
void jobs_job_copy(gen_job *d, const gen_job *s);
/* Free every string of j and zero it: the one destructor of a job. */
void jobs_job_clear(gen_job *j);
/* The job as the journal keeps it (what a resume rebuilds it from):
 * compact JSON. Caller frees. */
char *jobs_job_to_json(const gen_job *j);
/* A job from jobs_job_to_json's text into *j (released by
 * jobs_job_clear); duplicate_of is -1. 0, or -1 if text is no such
 * object. */
int jobs_job_from_json(const char *text, gen_job *j);

#endif
