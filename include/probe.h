/* probe.h - what a media file's headers say, read with libavformat and
 * libavcodec without decoding frames. Values follow ffprobe's conventions
 * so they can be compared with it. */
#ifndef VB_PROBE_H
#define VB_PROBE_H

#include "vbatch.h"

enum probe_stream_type { PROBE_VIDEO, PROBE_AUDIO, PROBE_SUBTITLE, PROBE_DATA,
                         PROBE_ATTACHMENT, PROBE_OTHER };

typedef struct probe_rational { int num, den; } probe_rational;

/* Whether the frames come at a constant rate: told by the sample table
 * of MP4/MOV; other containers only say so when decoded. */
enum probe_frame_rate_mode { PROBE_FR_UNKNOWN = 0, PROBE_FR_CONSTANT, PROBE_FR_VARIABLE };

typedef struct probe_stream {
    int index;
    int type;                   /* enum probe_stream_type */
    char *codec;                /* short name, "h264" */
    char *codec_long;
    char *profile;              /* NULL if unknown */
    int64_t bit_rate;           /* 0 if unknown */
    double duration;            /* seconds, NAN if unknown */
    int64_t nb_frames;          /* 0 if unknown */
    char *language;             /* NULL if none */
    bool attached_pic;          /* cover art, not a video track */
    /* video */
    int width, height;          /* coded picture as ffprobe reports it: the
                                   bitstream's size where the header's differs */
    int header_width, header_height; /* the size the container declared when
                                   the bitstream says otherwise, else 0 */
    int display_width, display_height; /* after rotation */
    double rotation;            /* degrees, counter-clockwise, from matrix */
    probe_rational sar, dar;    /* 0/1 if unknown */
    probe_rational avg_frame_rate, r_frame_rate;
    char *pix_fmt;
    int bit_depth;              /* bits per component, 0 if unknown */
    char *color_range, *color_space, *color_transfer, *color_primaries;
    bool hdr;                   /* PQ or HLG transfer */
    int frame_rate_mode;        /* enum probe_frame_rate_mode */
    /* audio */
    int sample_rate;
    int channels;
    char *channel_layout;
    char *sample_fmt;
} probe_stream;

typedef struct probe_result {
    char *path;                 /* as given */
    char *format;               /* demuxer name list, "mov,mp4,m4a,3gp,3g2,mj2" */
    char *format_long;
    char *container;            /* friendly: mp4, mov, mkv, webm, ... */
    double duration;            /* seconds, NAN if unknown */
    double start_time;
    int64_t bit_rate;           /* overall, 0 if unknown */
    int64_t size;               /* bytes */
    int64_t bytes_read;         /* bytes actually read to probe */
    int faststart;              /* 1 moov before mdat, 0 after, -1 n/a */
    bool used_stream_info;      /* had to call avformat_find_stream_info */
    char *slow_reason;          /* owned: why it had to, else NULL */
    probe_stream *streams;
    int nb_streams;
    /* First video / audio stream (not cover art), or NULL. Borrowed. */
    probe_stream *video, *audio;
} probe_result;

struct mediaio_clock;
/* Probe `path`, its reading bounded by the item's clock `clk` (NULL: no
 * limits; see mediaio.h). On failure returns -1 with e set (VB_ERR_IO or
 * VB_ERR_IO_RETRY when the file can not be read, VB_ERR_MEDIA when it is
 * not usable media, VB_ERR_LIMIT when the clock stopped it). */
int probe_file(const char *path, struct mediaio_clock *clk, probe_result **out, vb_error *e);
void probe_result_free(probe_result **r);

struct writer;
void probe_write(const probe_result *r, struct writer *w);

const char *probe_stream_type_name(int type);

/* Library versions for --version. */
void probe_versions(char *buf, size_t len);
/* The licence of the FFmpeg build linked (avcodec_license(): "GPL version 2
 * or later" for Debian's, built with libx264). */
const char *probe_ffmpeg_license(void);

#endif
