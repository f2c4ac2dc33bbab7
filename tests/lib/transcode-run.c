/* transcode-run.c - a test and benchmark driver for the fix engine
 * (transcode.h): runs one transcode_run with the job described by its
 * options and prints the result as key=value lines.
 *
 *   transcode-run [--container mp4|mov] [--no-faststart] [--editlist]
 *     [--strip] [--threads N] [--trim START:END]
 *     [--video copy|encode|drop] [--width W --height H] [--fit pad|crop|scale]
 *     [--fps N[/D]] [--gop N] [--crf X] [--bitrate B] [--maxrate B] [--bufsize B]
 *     [--preset P] [--tonemap]
 *     [--audio copy|encode|silent|drop] [--rate HZ] [--channels N] [--abitrate B]
 *     [--gain DB] [--limit DBTP]
 *     [--deadline SECONDS]       (the item's clock: item_timeout)
 *     [--fits CONTAINER:CODEC]   (only print transcode_codec_fits, no job)
 *     IN OUT
 *
 * Exit status 0, 1 (the job failed: the message on stderr), 2 (usage). */
#include "config.h"
#include "transcode.h"
#include "mediaio.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>

static int run_usage(void)
{
    fprintf(stderr, "usage: transcode-run [options] IN OUT (see tests/lib/transcode-run.c)\n");
    return 2;
}

static int run_mode(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int run_fits(const char *arg)
{
    char *copy = strdup(arg), *colon = strchr(copy, ':');
    if (!colon)
        return run_usage();
    *colon = '\0';
    const AVCodecDescriptor *d = avcodec_descriptor_get_by_name(colon + 1);
    if (!d)
        return run_usage();
    printf("fits=%d\n", transcode_codec_fits(copy, d->id));
    free(copy);
    return 0;
}

static void run_print(const transcode_result *r)
{
    printf("seconds=%.3f\nduration=%.3f\nvideo_frames=%lld\naudio_frames=%lld\n"
           "video_packets_copied=%lld\naudio_packets_copied=%lld\ndecode_errors=%lld\n"
           "width=%d\nheight=%d\nrotation=%d\ntonemapped=%d\nlimiter=%d\n"
           "peak_before_limit=%.2f\nlimiter_engaged=%d\ncut_start=%.3f\n",
           r->seconds, r->duration, (long long)r->video_frames, (long long)r->audio_frames,
           (long long)r->video_packets_copied, (long long)r->audio_packets_copied,
           (long long)r->decode_errors, r->width, r->height, r->rotation, r->tonemapped,
           r->limiter, r->peak_before_limit, r->limiter_engaged, r->cut_start);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "container", 1, 0, 'C' }, { "no-faststart", 0, 0, 'F' }, { "editlist", 0, 0, 'E' },
        { "strip", 0, 0, 'S' }, { "threads", 1, 0, 'T' }, { "trim", 1, 0, 't' },
        { "video", 1, 0, 'v' }, { "width", 1, 0, 'w' }, { "height", 1, 0, 'h' },
        { "fit", 1, 0, 'f' }, { "fps", 1, 0, 'r' }, { "gop", 1, 0, 'g' },
        { "crf", 1, 0, 'q' }, { "bitrate", 1, 0, 'b' }, { "maxrate", 1, 0, 'm' },
        { "bufsize", 1, 0, 'B' }, { "preset", 1, 0, 'p' }, { "tonemap", 0, 0, 'H' },
        { "audio", 1, 0, 'a' }, { "rate", 1, 0, 'R' }, { "channels", 1, 0, 'c' },
        { "abitrate", 1, 0, 'A' }, { "gain", 1, 0, 'G' }, { "limit", 1, 0, 'L' },
        { "fits", 1, 0, 'Q' }, { "deadline", 1, 0, 'D' }, { 0, 0, 0, 0 },
    };
    static const char *const vmodes[] = { "copy", "encode", "drop", NULL };
    static const char *const amodes[] = { "copy", "encode", "silent", "drop", NULL };
    static const char *const fits[] = { "pad", "crop", "scale", NULL };
    transcode_job j;
    transcode_job_init(&j, NULL, NULL);
    double deadline = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'C': j.container = optarg; break;
        case 'F': j.faststart = false; break;
        case 'E': j.no_editlist = false; break;
        case 'S': j.strip_metadata = true; break;
        case 'T': j.threads = atoi(optarg); break;
        case 't': if (sscanf(optarg, "%lf:%lf", &j.trim_start, &j.trim_end) < 1)
                      return run_usage();
                  break;
        case 'v': if ((j.video.mode = run_mode(optarg, vmodes)) < 0) return run_usage(); break;
        case 'w': j.video.width = atoi(optarg); break;
        case 'h': j.video.height = atoi(optarg); break;
        case 'f': if ((j.video.fit = run_mode(optarg, fits)) < 0) return run_usage(); break;
        case 'r': j.video.fps_den = 1;
                  if (sscanf(optarg, "%d/%d", &j.video.fps_num, &j.video.fps_den) < 1)
                      return run_usage();
                  break;
        case 'g': j.video.gop = atoi(optarg); break;
        case 'q': j.video.crf = atof(optarg); break;
        case 'b': j.video.bitrate = atoll(optarg); break;
        case 'm': j.video.maxrate = atoll(optarg); break;
        case 'B': j.video.bufsize = atoll(optarg); break;
        case 'p': j.video.preset = optarg; break;
        case 'H': j.video.tonemap = true; break;
        case 'a': if ((j.audio.mode = run_mode(optarg, amodes)) < 0) return run_usage(); break;
        case 'R': j.audio.sample_rate = atoi(optarg); break;
        case 'c': j.audio.channels = atoi(optarg); break;
        case 'A': j.audio.bitrate = atoll(optarg); break;
        case 'G': j.audio.gain_db = atof(optarg); break;
        case 'L': j.audio.limit_dbtp = atof(optarg); break;
        case 'Q': return run_fits(optarg);
        case 'D': deadline = atof(optarg); break;
        default: return run_usage();
        }
    }
    if (argc - optind != 2)
        return run_usage();
    j.input = argv[optind];
    j.output = argv[optind + 1];
    transcode_result r;
    vb_error e = {0};
    mediaio_clock clk;
    mediaio_clock_start(&clk, deadline, 0, NULL);
    if (transcode_run(&j, &clk, &r, &e) != 0) {
        fprintf(stderr, "transcode-run: %s%s\n", e.msg,
                r.needs_video_encode ? " [needs_video_encode]" : "");
        return 1;
    }
    run_print(&r);
    return 0;
}
