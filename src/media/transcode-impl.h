/* transcode-impl.h - inside the media module: what the fix engine's
 * files (transcode.c: input, output, the pass; transcode-video.c;
 * transcode-audio.c) share. */
#ifndef VB_TRANSCODE_IMPL_H
#define VB_TRANSCODE_IMPL_H

#include "transcode.h"
#include "mediaio.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>

/* One kept stream, input to output. */
typedef struct tc_stream {
    int index;                   /* input stream index, -1: none */
    AVStream *ist;               /* borrowed (input), NULL when synthesised */
    AVStream *ost;               /* borrowed (output), NULL when dropped */
    AVCodecContext *dec, *enc;   /* owned, NULL when copied */
    AVFilterGraph *graph;        /* owned; built on the first frame */
    AVFilterContext *src, *sink; /* borrowed from graph */
    int64_t offset;              /* the input's time origin, in ist's time base */
    /* copy */
    int64_t shift;               /* subtracted from copied timestamps (ist tb) */
    bool started;                /* a cut's first key frame was reached */
    double last_key;             /* the last key frame before the cut, seconds */
    /* encode */
    int64_t pts_offset;          /* added to encoded packets (enc tb): the encoder's
                                    priming, where no edit list hides it */
    int64_t next_pts;            /* synthesised audio: the next frame (enc tb) */
    bool done;                   /* past the end of the cut: nothing more read */
    double end;                  /* end of the last packet written, seconds */
    double last_t;               /* the last decoded frame's time, seconds; NaN: none */
} tc_stream;

typedef struct tc_ctx {
    const transcode_job *job;    /* borrowed */
    transcode_result *r;         /* borrowed */
    vb_error *e;                 /* borrowed */
    const char *path;            /* job->input */
    mediaio_clock *clk;          /* the item's (borrowed, may be NULL) */
    mediaio *io;
    AVFormatContext *ifc;        /* io's (borrowed) */
    AVFormatContext *ofc;
    tc_stream v, a;
    AVPacket *pkt, *opkt;
    AVFrame *frame, *filt;
    double cut_start;            /* seconds from the input's origin; 0: none */
    double cut_end;              /* INFINITY: none */
    int64_t origin;              /* the input's start time (AV_TIME_BASE), 0 if unknown */
    int threads;                 /* codec threads, 0: libavcodec picks */
    /* video encode */
    AVRational fps;              /* output rate */
    int scaled_w, scaled_h;      /* the picture scaled, before pad or crop */
    bool hdr;                    /* the source is PQ or HLG */
} tc_ctx;

/* transcode.c */
int transcode_fail_av(tc_ctx *c, int code, int rc, const char *what);
/* Send a frame (NULL: flush) to s's encoder and write what comes out. */
int transcode_encode(tc_ctx *c, tc_stream *s, AVFrame *f);
/* Write a packet in time base tb to s's output stream (interleaved). */
int transcode_write(tc_ctx *c, tc_stream *s, AVPacket *p, AVRational tb);
/* Open s's decoder (limits as every decoder of an item). */
int transcode_decoder(tc_ctx *c, tc_stream *s);
/* Create `filter` chain `desc` between a source with `args` and a sink
 * in s->graph, and configure it. libav's return code. */
int transcode_graph(tc_ctx *c, tc_stream *s, bool audio, const char *args, const char *desc);
/* The threads for the picture's decoder and filter graph. */
int transcode_picture_threads(const tc_ctx *c, const AVCodecParameters *par);

/* transcode-video.c */
/* Open the decoder and encoder and add the output stream (ENCODE). */
int transcode_video_open(tc_ctx *c);
/* One decoded frame (timestamps from the input's origin). */
int transcode_video_frame(tc_ctx *c, AVFrame *f);
/* End of the input: flush the graph and the encoder. */
int transcode_video_flush(tc_ctx *c);

/* transcode-audio.c */
int transcode_audio_open(tc_ctx *c);
int transcode_audio_frame(tc_ctx *c, AVFrame *f);
int transcode_audio_flush(tc_ctx *c);
/* ADD_SILENT: silent frames up to `until` seconds of output time. */
int transcode_audio_silence(tc_ctx *c, double until);

#endif
