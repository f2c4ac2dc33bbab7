/* transcode.c - the core's side of the fix engine (transcode.h): the job's
 * defaults and checks, and transcode_run, which hands the pass to the
 * media module (src/media/transcode*.c), where libavfilter is. */
#include "config.h"
#include "transcode.h"
#include "module.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

void transcode_job_init(transcode_job *job, const char *input, const char *output)
{
    *job = (transcode_job){0};
    job->input = input;
    job->output = output;
    job->container = "mp4";
    job->faststart = true;
    job->no_editlist = true;
    job->trim_start = job->trim_end = NAN;
    job->video.mode = TRANSCODE_VIDEO_COPY;
    job->video.crf = NAN;
    job->audio.mode = TRANSCODE_AUDIO_COPY;
    job->audio.limit_dbtp = NAN;
}

static bool transcode_set(double t)
{
    return isfinite(t) && t >= 0;
}

static int transcode_check_video(const transcode_video *v, vb_error *e)
{
    if (v->mode < TRANSCODE_VIDEO_COPY || v->mode > TRANSCODE_VIDEO_DROP)
        return vb_fail(e, VB_ERR_USAGE, "transcode: unknown video mode %d", v->mode);
    if (v->mode != TRANSCODE_VIDEO_ENCODE)
        return 0;
    /* 4:2:0 halves both dimensions: x264 refuses odd sizes. */
    if (v->width < 0 || v->height < 0 || v->width % 2 || v->height % 2 ||
        (v->width == 0) != (v->height == 0) || v->width > 8192 || v->height > 8192)
        return vb_fail(e, VB_ERR_USAGE, "transcode: output size %dx%d: both must be even, "
                       "at most 8192 (or both 0: the source's)", v->width, v->height);
    if (v->fit < TRANSCODE_FIT_PAD || v->fit > TRANSCODE_FIT_SCALE)
        return vb_fail(e, VB_ERR_USAGE, "transcode: unknown fit %d", v->fit);
    if (v->fps_num < 0 || v->fps_den < 0 || (v->fps_num > 0) != (v->fps_den > 0) ||
        (v->fps_num > 0 && (double)v->fps_num / v->fps_den > 240))
        return vb_fail(e, VB_ERR_USAGE, "transcode: frame rate %d/%d", v->fps_num, v->fps_den);
    if (v->gop < 0 || v->bitrate < 0 || v->maxrate < 0 || v->bufsize < 0 ||
        (isfinite(v->crf) && v->crf > 51))
        return vb_fail(e, VB_ERR_USAGE, "transcode: negative GOP or rate, or CRF above 51");
    return 0;
}

static int transcode_check_audio(const transcode_audio *a, vb_error *e)
{
    if (a->mode < TRANSCODE_AUDIO_COPY || a->mode > TRANSCODE_AUDIO_DROP)
        return vb_fail(e, VB_ERR_USAGE, "transcode: unknown audio mode %d", a->mode);
    if (a->sample_rate < 0 || a->sample_rate > 192000 || a->channels < 0 || a->channels > 8 ||
        a->bitrate < 0)
        return vb_fail(e, VB_ERR_USAGE, "transcode: audio %d Hz, %d channels, %lld bit/s",
                       a->sample_rate, a->channels, (long long)a->bitrate);
    if (!isfinite(a->gain_db) || fabs(a->gain_db) > 60)
        return vb_fail(e, VB_ERR_USAGE, "transcode: gain %g dB (at most 60 either way)",
                       a->gain_db);
    if (!isnan(a->limit_dbtp) && !(a->limit_dbtp >= -24 && a->limit_dbtp <= 0))
        return vb_fail(e, VB_ERR_USAGE, "transcode: true-peak ceiling %g dBTP (-24 to 0)",
                       a->limit_dbtp);
    return 0;
}

int transcode_job_check(const transcode_job *job, vb_error *e)
{
    if (!job->input || !job->output || !*job->input || !*job->output)
        return vb_fail(e, VB_ERR_USAGE, "transcode: no input or output");
    if (!job->container || (strcmp(job->container, "mp4") != 0 &&
                            strcmp(job->container, "mov") != 0))
        return vb_fail(e, VB_ERR_USAGE, "transcode: container %s: mp4 or mov",
                       job->container ? job->container : "(none)");
    if (transcode_set(job->trim_start) && transcode_set(job->trim_end) &&
        job->trim_end <= job->trim_start)
        return vb_fail(e, VB_ERR_USAGE, "transcode: cut from %g s to %g s is empty",
                       job->trim_start, job->trim_end);
    if (job->threads < 0 || job->threads > 64)
        return vb_fail(e, VB_ERR_USAGE, "transcode: %d threads", job->threads);
    if (transcode_check_video(&job->video, e) != 0 || transcode_check_audio(&job->audio, e) != 0)
        return -1;
    if (job->video.mode == TRANSCODE_VIDEO_DROP && job->audio.mode == TRANSCODE_AUDIO_ADD_SILENT)
        return vb_fail(e, VB_ERR_USAGE, "transcode: silent audio as long as no video");
    if (job->audio.mode != TRANSCODE_AUDIO_ENCODE &&
        (job->audio.gain_db != 0 || !isnan(job->audio.limit_dbtp)))
        return vb_fail(e, VB_ERR_USAGE, "transcode: gain and limiter need the audio re-encoded");
    return 0;
}

int transcode_run(const transcode_job *job, struct mediaio_clock *clk, transcode_result *out,
                  vb_error *e)
{
    *out = (transcode_result){0};
    out->peak_before_limit = out->cut_start = NAN;
    if (transcode_job_check(job, e) != 0)
        return -1;
    const module_media *m = module_get(e);
    if (m && m->transcode(job, clk, out, e) == 0)
        return 0;
    /* The module removes what it wrote; a module that could not even be
     * loaded wrote nothing, but the name is the caller's temporary one. */
    unlink(job->output);
    return -1;
}

bool transcode_codec_fits(const char *container, int codec_id)
{
    const AVOutputFormat *f = container ? av_guess_format(container, NULL, NULL) : NULL;
    return f && avformat_query_codec(f, (enum AVCodecID)codec_id, FF_COMPLIANCE_NORMAL) == 1;
}

bool transcode_codec_name_fits(const char *container, const char *codec)
{
    const AVCodecDescriptor *d = codec ? avcodec_descriptor_get_by_name(codec) : NULL;
    return d && transcode_codec_fits(container, d->id);
}
