/* media.c - the media module's entry: the one symbol vbatch-media.so
 * exports (everything else in it is hidden), the table of what it does
 * for the core (module.h). */
#include "config.h"
#include "media.h"
#include "module.h"

#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include "avfilter-lazy.h"
#include <libswscale/swscale.h>

/* The main picture: the best video stream that is not cover art. */
int media_pick_video(AVFormatContext *fc)
{
    int i = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (i >= 0 && !(fc->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return i;
    for (unsigned k = 0; k < fc->nb_streams; k++)
        if (fc->streams[k]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(fc->streams[k]->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)k;
    return -1;
}

#define MEDIA_ERRORS_IN_A_ROW 64

int media_decode_packet(AVCodecContext *dec, const AVPacket *pkt, AVFrame *frame,
                        int64_t *errors, int (*on_frame)(void *ud, AVFrame *f), void *ud)
{
    int rc = avcodec_send_packet(dec, pkt);
    bool again = rc == AVERROR(EAGAIN);
    if (rc < 0 && !again && rc != AVERROR_EOF)
        (*errors)++;
    int in_a_row = 0;
    for (;;) {
        rc = avcodec_receive_frame(dec, frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            break;
        if (rc < 0) {
            (*errors)++;
            if (++in_a_row >= MEDIA_ERRORS_IN_A_ROW)
                break;
            continue;
        }
        in_a_row = 0;
        rc = on_frame(ud, frame);
        av_frame_unref(frame);
        if (rc != 0)
            return -1;
    }
    return again ? 1 : 0;
}

static void media_versions(char *buf, size_t len)
{
    /* libavfilter's version is the one loaded, as the others'. */
    unsigned f = avf_load(NULL) == 0 ? avfilter_version() : 0, s = swscale_version();
    snprintf(buf, len, "libvips %s, libavfilter %u.%u.%u, libswscale %u.%u.%u",
             image_vips_version(), f >> 16, (f >> 8) & 255, f & 255, s >> 16,
             (s >> 8) & 255, s & 255);
}

__attribute__((visibility("default"))) extern const module_media media_module;
const module_media media_module = {
    .abi = MODULE_ABI,
    .size = sizeof (module_media),
    .version = PACKAGE_VERSION,
    .analyse_file = analyse_decode_file,
    .thumbs_make = thumbs_render_make,
    .image_init = image_vips_init,
    .image_probe = image_vips_probe,
    .versions = media_versions,
    .transcode = transcode_pass,
};
