/* mediaio.c - the input of the libav stages (probe, analyse, thumbs),
 * opened and read under the item's clock.
 *
 * libavformat's own file protocol would read with a plain read(): an
 * error from a network share becomes "end of file" or a damaged stream,
 * and the interrupt callback is only looked at between reads. So the file
 * is opened here and handed to libavformat as a custom AVIOContext whose
 * read callback (pread at our own offset: a seek costs no system call)
 * checks the clock before every read, times the read for the stall limit,
 * keeps the first I/O error with its errno, and marks itself blocked so a
 * watchdog can tell a read stuck in the kernel from a slow decoder.
 *
 * Only regular files are read: a FIFO or a device could block at open or
 * give its data once, while the stages read a file several times. The
 * file is opened with O_NONBLOCK so that one swapped in for a FIFO after
 * discovery does not block the open (fstat then refuses it); the flag is
 * cleared once the file is known to be regular.
 *
 * The input is untrusted, and libavformat can do much more than read a
 * file: a playlist (HLS, DASH, concat) opens other files or URLs, the
 * libgme demuxer inflates a gzip file whole in memory. So only the
 * demuxers of the containers vbatch checks are used (ACCEPTED), anything
 * else is refused before its demuxer reads a byte, and no demuxer may
 * open anything: the io_open callback refuses every nested open and no
 * protocol is allowed (the input is our own I/O context). What a demuxer
 * and a decoder may take is capped too (LIMITS). */
#include "config.h"
#include "mediaio.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>

/* libavformat's own buffer size for files. */
#define IO_BUFFER 32768

/* The demuxers vbatch opens (av_match_list names): what cameras, editors,
 * generators and platforms deliver short videos in. MP4/MOV/3GP/M4A
 * (mov), Matroska/WebM, MPEG-TS/M2TS, MPEG-PS (.mpg, .vob), MXF and AVI;
 * ASF (.wmv), FLV and Ogg (.ogv), older or web formats still met in
 * archives and downloads: every extension the scan takes by default
 * (pattern.c) has its demuxer here. Not here: playlists and scripts (hls,
 * dash, concat: they open other files), images (libvips reads those;
 * libav never needs an image demuxer), raw elementary streams and audio
 * formats (no container to check), subtitles, libgme and the like. */
#define ACCEPTED "mov,matroska,mpegts,mpeg,mxf,avi,asf,flv,ogg"
#define ACCEPTED_TEXT "MP4/MOV, Matroska/WebM, MPEG-TS, MPEG-PS, MXF, AVI, ASF/WMV, FLV, Ogg"

/* LIMITS. What one item's demuxer may buffer and its decoders allocate,
 * so a hostile header costs an error, not the machine's memory:
 *   probesize: bytes avformat_find_stream_info reads (and holds as
 *     packets) to learn what the headers leave out: libav's default,
 *     made explicit;
 *   analyzeduration: the media time it may read for that: left to
 *     libav's own bounds (5 s; a stream of an MPEG-TS/PS 7 s, FLV 90 s,
 *     subtitles 30 s, all within probesize), which ffprobe uses too: a
 *     7 s set here read 2 s more of an AAC track than ffprobe does, and
 *     its average bit rate then differed;
 *   max_streams: a clip has a few streams, a broadcast TS a few dozen;
 *   max_pixels: the largest picture a decoder may allocate: 8192x8192,
 *     above 8K UHD and HEVC's largest level (8192x4320); a header that
 *     claims 100000x100000 is refused instead of allocating gigabytes;
 *   max_samples: audio samples (times channels) in one decoded frame. */
#define LIMIT_PROBESIZE (5 << 20)
#define LIMIT_ANALYZEDURATION 0 /* libav's defaults, as ffprobe */
#define LIMIT_STREAMS 100
#define LIMIT_PIXELS ((int64_t)8192 * 8192)
#define LIMIT_SAMPLES (1 << 24)

struct mediaio {
    char *path;
    int fd;
    int64_t pos, size;
    mediaio_clock *clk;        /* borrowed, may be NULL */
    double stage_deadline;     /* util_now() limit of the stage, 0 = none */
    double stage_timeout;      /* seconds, for the message */
    int stop;                  /* enum mediaio_stop, sticky */
    double stopped_after;      /* stall: seconds without data; else since start */
    bool abandoned;            /* the watchdog took the item meanwhile */
    bool demuxed;              /* avformat_open_input succeeded */
    int err;                   /* errno of the first failed read, 0 if none */
    AVIOContext *pb;
    AVFormatContext *fc;
    char *nested;              /* the first nested open refused, or NULL */
};

/* ---- the clock ---- */

static int64_t to_us(double t)
{
    return (int64_t)(t * 1e6);
}

void mediaio_clock_start(mediaio_clock *c, double item_timeout, double stall_timeout,
                         const atomic_int *abort)
{
    c->started = util_now();
    c->item_timeout = item_timeout > 0 ? item_timeout : 0;
    c->deadline = c->item_timeout > 0 ? c->started + c->item_timeout : 0;
    c->stall_timeout = stall_timeout > 0 ? stall_timeout : 0;
    c->abort = abort;
    atomic_init(&c->stop, MEDIAIO_GO);
    atomic_init(&c->stage, 0);
    atomic_init(&c->blocked, 0);
}

int mediaio_clock_check(mediaio_clock *c, double now)
{
    if (!c)
        return MEDIAIO_GO;
    int s = atomic_load_explicit(&c->stop, memory_order_relaxed);
    if (s != MEDIAIO_GO)
        return s;
    if (c->abort && atomic_load_explicit(c->abort, memory_order_relaxed))
        s = MEDIAIO_ABORT;
    else if (c->deadline > 0 && now > c->deadline)
        s = MEDIAIO_DEADLINE;
    else
        return MEDIAIO_GO;
    int go = MEDIAIO_GO;
    /* The first reason found is the one reported. */
    if (!atomic_compare_exchange_strong(&c->stop, &go, s))
        s = go;
    return s;
}

int mediaio_clock_stopped(const mediaio_clock *c)
{
    return c ? atomic_load(&c->stop) : MEDIAIO_GO;
}

bool mediaio_clock_abandoned(const mediaio_clock *c)
{
    return c && atomic_load(&c->blocked) < 0;
}

int mediaio_clock_abandon(mediaio_clock *c, double now, double margin, double *blocked_for)
{
    int64_t since = atomic_load(&c->blocked);
    if (since <= 0)
        return MEDIAIO_GO;
    double b = now - (double)since / 1e6;
    int reason = MEDIAIO_GO;
    if (c->stall_timeout > 0 && b > c->stall_timeout + margin)
        reason = MEDIAIO_STALL;
    else if (b > margin && c->abort && atomic_load(c->abort))
        reason = MEDIAIO_ABORT;
    else if (b > margin && c->deadline > 0 && now > c->deadline)
        reason = MEDIAIO_DEADLINE;
    if (reason == MEDIAIO_GO)
        return MEDIAIO_GO;
    /* Only if that very call is still blocked: the reader, when its call
     * returns, swaps in 0 and sees -1 if it lost the item. */
    if (!atomic_compare_exchange_strong(&c->blocked, &since, -1))
        return MEDIAIO_GO;
    int go = MEDIAIO_GO;
    atomic_compare_exchange_strong(&c->stop, &go, reason);
    *blocked_for = b;
    return reason;
}

int mediaio_clock_fail(const mediaio_clock *c, int reason, double seconds, bool abandoned,
                       const char *path, vb_error *e)
{
    double item = c ? c->item_timeout : 0, stall = c ? c->stall_timeout : 0;
    if (abandoned && reason == MEDIAIO_DEADLINE)
        return vb_fail(e, VB_ERR_LIMIT, "%s: stalled: abandoned: item deadline reached after "
                       "%.0f s in a read that never returned ([batch] item_timeout = %g s)",
                       path, seconds, item);
    if (abandoned && reason == MEDIAIO_STALL)
        return vb_fail(e, VB_ERR_LIMIT, "%s: stalled: abandoned: no data for %.0f s, the read "
                       "never returned ([batch] stall_timeout = %g s)", path, seconds, stall);
    switch (reason) {
    case MEDIAIO_ABORT:
        return vb_fail(e, VB_ERR_LIMIT, "%s: interrupted: the grace period after the stop "
                       "signal is over", path);
    case MEDIAIO_DEADLINE:
        return vb_fail(e, VB_ERR_LIMIT, "%s: item deadline reached: not finished after %.0f s "
                       "([batch] item_timeout = %g s)", path, seconds, item);
    case MEDIAIO_STALL:
        return vb_fail(e, VB_ERR_LIMIT, "%s: no data for %.1f s while reading (stalled input; "
                       "[batch] stall_timeout = %g s)", path, seconds, stall);
    default:
        return vb_fail(e, VB_ERR_LIMIT, "%s: stopped", path);
    }
}

/* ---- errno ---- */

static const struct errno_info {
    int err;
    const char *name;
    bool transient;
} errnos[] = {
    /* Worth another try: a server or a link that may come back. */
    { EIO, "EIO", true },
    { ETIMEDOUT, "ETIMEDOUT", true },
    { ESTALE, "ESTALE", true },
    { EAGAIN, "EAGAIN", true },
    { EINTR, "EINTR", true },
    { ENETDOWN, "ENETDOWN", true },
    { ENETUNREACH, "ENETUNREACH", true },
    { ENETRESET, "ENETRESET", true },
    { ECONNRESET, "ECONNRESET", true },
    { ECONNABORTED, "ECONNABORTED", true },
    { ECONNREFUSED, "ECONNREFUSED", true },
    { ENOTCONN, "ENOTCONN", true },
    { EHOSTDOWN, "EHOSTDOWN", true },
    { EHOSTUNREACH, "EHOSTUNREACH", true },
#ifdef ENOLINK
    { ENOLINK, "ENOLINK", true },
#endif
#ifdef ECOMM
    { ECOMM, "ECOMM", true },
#endif
#ifdef EREMOTEIO
    { EREMOTEIO, "EREMOTEIO", true },
#endif
    /* The same answer every time. */
    { ENOENT, "ENOENT", false },
    { EACCES, "EACCES", false },
    { EPERM, "EPERM", false },
    { EISDIR, "EISDIR", false },
    { ENOTDIR, "ENOTDIR", false },
    { ELOOP, "ELOOP", false },
    { ENAMETOOLONG, "ENAMETOOLONG", false },
    { EINVAL, "EINVAL", false },
    { EOVERFLOW, "EOVERFLOW", false },
    { EFBIG, "EFBIG", false },
    { ENXIO, "ENXIO", false },
    { ENODEV, "ENODEV", false },
    { ENOMEM, "ENOMEM", false },
    { EMFILE, "EMFILE", false },
    { ENFILE, "ENFILE", false },
    { EBADF, "EBADF", false },
};

static const struct errno_info *errno_find(int err)
{
    for (size_t i = 0; i < VB_ARRAY_LEN(errnos); i++)
        if (errnos[i].err == err)
            return &errnos[i];
    return NULL;
}

bool mediaio_transient(int err)
{
    const struct errno_info *i = errno_find(err);
    return i && i->transient;
}

const char *mediaio_averr(int rc, char buf[AV_ERROR_MAX_STRING_SIZE])
{
    av_strerror(rc, buf, AV_ERROR_MAX_STRING_SIZE);
    return buf;
}

const char *mediaio_errno_name(int err)
{
    const struct errno_info *i = errno_find(err);
    return i ? i->name : NULL;
}

/* "Input/output error (EIO)" */
static int errno_fail(vb_error *e, int err, const char *path, const char *what)
{
    const char *name = mediaio_errno_name(err);
    char num[24];
    if (!name) {
        snprintf(num, sizeof num, "errno %d", err);
        name = num;
    }
    return vb_fail(e, mediaio_transient(err) ? VB_ERR_IO_RETRY : VB_ERR_IO, "%s: %s: %s (%s)",
                   path, what, strerror(err), name);
}

/* ---- the reader ---- */

/* Why stop now (the stage's limit included), kept once found. */
static int io_stop(mediaio *io, double now)
{
    if (io->stop != MEDIAIO_GO)
        return io->stop;
    int s = mediaio_clock_check(io->clk, now);
    if (s == MEDIAIO_GO && io->stage_deadline > 0 && now > io->stage_deadline)
        s = MEDIAIO_TIMEOUT;
    if (s != MEDIAIO_GO) {
        io->stop = s;
        io->stopped_after = io->clk ? now - io->clk->started : 0;
    }
    return s;
}

/* Around a call that may block: mark it for the watchdog; false if the
 * item was taken away meanwhile. */
static void block_begin(mediaio *io, double now)
{
    if (io->clk)
        atomic_store(&io->clk->blocked, to_us(now) > 0 ? to_us(now) : 1);
}

static bool block_end(mediaio *io)
{
    if (!io->clk || atomic_exchange(&io->clk->blocked, 0) >= 0)
        return true;
    /* Abandoned: the watchdog recorded the item. Stay marked, so a
     * second look sees it too. */
    atomic_store(&io->clk->blocked, -1);
    io->abandoned = true;
    io->stop = mediaio_clock_stopped(io->clk);
    if (io->stop == MEDIAIO_GO)
        io->stop = MEDIAIO_STALL;
    return false;
}

/* A read that took longer than the stall limit is a stall, even if it
 * brought data at last (a watchdog may have given up on it already). */
static bool stalled(mediaio *io, double t0, double t1)
{
    if (!io->clk || io->clk->stall_timeout <= 0 || t1 - t0 <= io->clk->stall_timeout)
        return false;
    int go = MEDIAIO_GO;
    atomic_compare_exchange_strong(&io->clk->stop, &go, MEDIAIO_STALL);
    io->stop = MEDIAIO_STALL;
    io->stopped_after = t1 - t0;
    return true;
}

static int io_read(void *opaque, uint8_t *buf, int size)
{
    mediaio *io = opaque;
    if (io->err)
        return AVERROR(io->err);
    double t0 = util_now();
    if (io_stop(io, t0) != MEDIAIO_GO)
        return AVERROR_EXIT;
    block_begin(io, t0);
    ssize_t n;
    do
        n = pread(io->fd, buf, (size_t)size, io->pos);
    while (n < 0 && errno == EINTR);
    int err = errno;
    bool mine = block_end(io);
    if (!mine || stalled(io, t0, util_now()))
        return AVERROR_EXIT;
    if (n < 0) {
        io->err = err ? err : EIO;
        return AVERROR(io->err);
    }
    if (n == 0)
        return AVERROR_EOF;
    io->pos += n;
    return (int)n;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence)
{
    mediaio *io = opaque;
    if (whence & AVSEEK_SIZE)
        return io->size;
    int64_t to;
    switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET: to = offset; break;
    case SEEK_CUR: to = io->pos + offset; break;
    case SEEK_END: to = io->size + offset; break;
    default:       return AVERROR(EINVAL);
    }
    if (to < 0)
        return AVERROR(EINVAL);
    io->pos = to;
    return to;
}

/* libavformat calls this while it works (open, find_stream_info ...). */
static int io_interrupt(void *opaque)
{
    mediaio *io = opaque;
    return io_stop(io, util_now()) != MEDIAIO_GO;
}

/* A demuxer wants to open another file or URL (a playlist's segment, a
 * reference, a sequence's next image): never. The first one is kept for
 * the message. */
static int io_open_refused(AVFormatContext *fc, AVIOContext **pb, const char *url, int flags,
                           AVDictionary **options)
{
    (void)flags;
    (void)options;
    mediaio *io = fc->opaque;
    *pb = NULL;
    if (io && !io->nested)
        io->nested = vb_xstrdup(url ? url : "");
    return AVERROR(EPERM);
}

/* A demuxer context reading through our I/O context. */
static int format_context(mediaio *io)
{
    io->fc = avformat_alloc_context();
    if (!io->fc)
        return -1;
    AVFormatContext *fc = io->fc;
    fc->pb = io->pb;
    fc->opaque = io;
    fc->interrupt_callback = (AVIOInterruptCB){ io_interrupt, io };
    fc->io_open = io_open_refused;
    fc->probesize = LIMIT_PROBESIZE;
    fc->max_analyze_duration = LIMIT_ANALYZEDURATION;
    fc->max_streams = LIMIT_STREAMS;
    /* Second fences: libavformat itself refuses another demuxer, and
     * any protocol ("none" names none) should one be opened without
     * io_open. */
    fc->format_whitelist = av_strdup(ACCEPTED);
    fc->protocol_whitelist = av_strdup("none");
    return fc->format_whitelist && fc->protocol_whitelist ? 0 : -1;
}

/* The demuxer a file's name promises, when trying it first is safe: the
 * MP4/MOV demuxer refuses data without the boxes it needs (no moov, no
 * open), so a misnamed file only costs a failed try. Probing every
 * demuxer was half the CPU time of probing a short MP4. */
static const AVInputFormat *named_format(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return NULL;
    static const char *const mov[] = { "mp4", "m4v", "mov" };
    for (size_t i = 0; i < VB_ARRAY_LEN(mov); i++)
        if (strcasecmp(dot + 1, mov[i]) == 0)
            return av_find_input_format("mp4");
    return NULL;
}

int mediaio_open(mediaio **out, const char *path, mediaio_clock *clk, double stage_timeout,
                 vb_error *e)
{
    *out = NULL;
    mediaio *io = vb_xcalloc(1, sizeof *io);
    io->path = vb_xstrdup(path);
    io->fd = -1;
    io->clk = clk;
    double now = util_now();
    if (stage_timeout > 0) {
        io->stage_deadline = now + stage_timeout;
        io->stage_timeout = stage_timeout;
    }
    if (io_stop(io, now) != MEDIAIO_GO) {
        mediaio_error(io, e);
        mediaio_close(&io);
        return -1;
    }
    /* An open on a network share can hang like a read. */
    block_begin(io, now);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    int err = errno;
    bool mine = block_end(io);
    io->fd = fd;
    if (!mine || stalled(io, now, util_now())) {
        mediaio_error(io, e);
        mediaio_close(&io);
        return -1;
    }
    if (fd < 0) {
        errno_fail(e, err, path, "cannot open");
        mediaio_close(&io);
        return -1;
    }
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0)
        rc = errno_fail(e, errno, path, "cannot read");
    else if (S_ISDIR(sb.st_mode))
        rc = vb_fail(e, VB_ERR_MEDIA, "%s: is a directory, not a video file", path);
    else if (!S_ISREG(sb.st_mode))
        rc = vb_fail(e, VB_ERR_MEDIA, "%s: not a regular file", path);
    if (rc != 0) {
        mediaio_close(&io);
        return -1;
    }
    /* Only the open had to be safe from a FIFO: some FUSE file systems
     * would answer reads with EAGAIN. (O_NONBLOCK is the only status
     * flag it was opened with.) */
    fcntl(fd, F_SETFL, 0);
    io->size = sb.st_size;
    unsigned char *buf = av_malloc(IO_BUFFER);
    io->pb = buf ? avio_alloc_context(buf, IO_BUFFER, 0, io, io_read, NULL, io_seek) : NULL;
    if (!io->pb || format_context(io) != 0) {
        if (!io->pb)
            av_free(buf);
        mediaio_close(&io);
        return vb_fail(e, VB_ERR_INTERNAL, "%s: out of memory", path);
    }
    *out = io;
    return 0;
}

/* What a refused demuxer reads, for the message: "an HLS playlist". */
static const struct {
    const char *name;        /* AVInputFormat name (first of its list) */
    const char *what;
} refused_names[] = {
    { "hls", "an HLS playlist" },
    { "dash", "a DASH manifest" },
    { "concat", "an FFmpeg concat script" },
    { "libgme", "game music data" },
    { "image2", "an image sequence" },
    { "webm_dash_manifest", "a WebM DASH manifest" },
    { "sdp", "an SDP session description" },
    { "rtsp", "an RTSP session" },
    { "tty", "a text file" },
    { "srt", "a SubRip subtitle file" },
    { "webvtt", "a WebVTT subtitle file" },
    { "ass", "an ASS/SSA subtitle file" },
    { "mp3", "MP3 audio" },
    { "wav", "WAV audio" },
    { "flac", "FLAC audio" },
    { "aac", "raw AAC audio" },
    { "h264", "a raw H.264 stream" },
    { "hevc", "a raw HEVC stream" },
};

/* "PATH: an HLS playlist (Apple HTTP Live Streaming), not a media file
 * vbatch checks (...)" */
static int refuse_format(mediaio *io, const AVInputFormat *f, int score, vb_error *e)
{
    const char *name = f->name, *lng = f->long_name ? f->long_name : f->name;
    size_t len = strcspn(name, ",");
    /* libgme takes any gzip file for the compressed music it plays:
     * say gzip. (The probe data is still in the buffer: no read.) */
    unsigned char magic[2];
    if (avio_seek(io->pb, 0, SEEK_SET) == 0 && avio_read(io->pb, magic, 2) == 2 &&
        magic[0] == 0x1f && magic[1] == 0x8b)
        return vb_fail(e, VB_ERR_MEDIA, "%s: gzip-compressed data, not a media file vbatch "
                       "checks (it reads %s)", io->path, ACCEPTED_TEXT);
    if (score <= AVPROBE_SCORE_EXTENSION / 2)
        return vb_fail(e, VB_ERR_MEDIA, "%s: not a recognised media file (the data only "
                       "faintly resembles %s, probe score %d of 100)", io->path, name, score);
    const char *what = NULL;
    for (size_t i = 0; i < VB_ARRAY_LEN(refused_names) && !what; i++)
        if (strlen(refused_names[i].name) == len && strncmp(refused_names[i].name, name, len) == 0)
            what = refused_names[i].what;
    if (!what && len > 5 && strncmp(name + len - 5, "_pipe", 5) == 0)
        what = "an image";
    if (what)
        return vb_fail(e, VB_ERR_MEDIA, "%s: %s (%s), not a media file vbatch checks "
                       "(it reads %s)", io->path, what, lng, ACCEPTED_TEXT);
    return vb_fail(e, VB_ERR_MEDIA, "%s: data in the %s format, not a media file vbatch "
                   "checks (it reads %s)", io->path, lng, ACCEPTED_TEXT);
}

bool mediaio_accepted(const char *format_name)
{
    return format_name && av_match_list(format_name, ACCEPTED, ',') > 0;
}

/* Name the format of the data at the start of the input, over every
 * demuxer this libavformat has (what avformat_open_input would do), and
 * refuse it unless it is one vbatch checks; else 0 with *fmt and *score. */
static int probe_format(mediaio *io, const AVInputFormat **fmt, int *score, vb_error *e)
{
    *fmt = NULL;
    int rc = av_probe_input_buffer2(io->pb, fmt, io->path, NULL, 0, 0);
    if (rc < 0 || !*fmt) {
        if (mediaio_error(io, e) != 0)
            return -1;
        char m[AV_ERROR_MAX_STRING_SIZE];
        return vb_fail(e, VB_ERR_MEDIA, "%s: not a recognised media file (%s)", io->path,
                       mediaio_averr(rc < 0 ? rc : AVERROR_INVALIDDATA, m));
    }
    if (mediaio_error(io, e) != 0)
        return -1;
    *score = rc;
    if (!mediaio_accepted((*fmt)->name))
        return refuse_format(io, *fmt, rc, e);
    return 0;
}

/* avformat_open_input with the options ffprobe and ffmpeg give it:
 * scan_all_pmts reads every program's PMT (a TS lists its streams there)
 * and keeps the demuxer without a header, so that find_stream_info
 * reads as much as ffprobe's does (its averages, such as the AAC
 * parser's bit rate, then agree). Other demuxers ignore it. */
static int open_input(mediaio *io, const AVInputFormat *fmt)
{
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "scan_all_pmts", "1", 0);
    int rc = avformat_open_input(&io->fc, io->path, fmt, &opts);
    av_dict_free(&opts);
    return rc;
}

/* EBML's magic and a DocType of "matroska" or "webm" inside its header:
 * what matroska_probe answers with the best score, searched the same way. */
static bool sniff_matroska(const unsigned char *b, int n)
{
    if (n < 5 || b[0] != 0x1a || b[1] != 0x45 || b[2] != 0xdf || b[3] != 0xa3)
        return false;
    int len = 1;
    uint64_t size = b[4];
    while (len <= 8 && !(size & 0x80 >> (len - 1)))
        len++;
    if (len > 8 || 4 + len > n)
        return false;
    size &= (0x80 >> (len - 1)) - 1;
    for (int i = 1; i < len; i++)
        size = size << 8 | b[4 + i];
    int start = 4 + len, end = n;
    /* All of the header must be there, unless its size is "unknown". */
    if (size + 1 != (uint64_t)1 << (7 * len)) {
        if (size > (uint64_t)(n - start))
            return false;
        end = start + (int)size;
    }
    static const char *const doctypes[] = { "matroska", "webm" };
    for (size_t d = 0; d < VB_ARRAY_LEN(doctypes); d++) {
        int k = (int)strlen(doctypes[d]);
        for (int i = start; i + k <= end; i++)
            if (memcmp(b + i, doctypes[d], k) == 0)
                return true;
    }
    return false;
}

/* A transport stream's sync byte every 188 bytes (192 for M2TS, after a
 * 4-byte time code) over the first SNIFF_TS_PACKETS packets, or over the
 * whole of a shorter file: chance would make that one time in 2^80. */
#define SNIFF_TS_PACKETS 10
static bool sniff_ts(const unsigned char *b, int n, int64_t size)
{
    static const int strides[2][2] = { { 188, 0 }, { 192, 4 } };
    for (int s = 0; s < 2; s++) {
        int stride = strides[s][0], off = strides[s][1], k = 0;
        while (k < SNIFF_TS_PACKETS && off + k * stride < n && b[off + k * stride] == 0x47)
            k++;
        if (k == SNIFF_TS_PACKETS || (k >= 2 && (int64_t)off + k * stride >= size))
            return true;
    }
    return false;
}

/* The demuxer the first bytes prove, where libavformat's probe would
 * name the same one: a Matroska/WebM header (whatever the file's name),
 * a transport stream named as one. The probe asks each of libavformat's
 * ~350 demuxers in turn (about 1M instructions a file); these files
 * make most of a batch that is not MP4. The bytes stay in the I/O
 * buffer, read again from it by the demuxer. */
static const AVInputFormat *sniffed_format(mediaio *io)
{
    unsigned char b[SNIFF_TS_PACKETS * 192 + 4];
    int n = avio_read(io->pb, b, sizeof b);
    if (avio_seek(io->pb, 0, SEEK_SET) != 0 || n <= 0)
        return NULL;
    if (sniff_matroska(b, n))
        return av_find_input_format("matroska");
    const char *dot = strrchr(io->path, '.');
    if (!dot || strchr(dot, '/'))
        return NULL;
    static const char *const ts[] = { "ts", "m2ts", "mts", "m2t" };
    for (size_t i = 0; i < VB_ARRAY_LEN(ts); i++)
        if (strcasecmp(dot + 1, ts[i]) == 0)
            return sniff_ts(b, n, io->size) ? av_find_input_format("mpegts") : NULL;
    return NULL;
}

int mediaio_demux(mediaio *io, vb_error *e)
{
    /* On failure it frees the context, but not our I/O context. */
    const AVInputFormat *fmt = named_format(io->path);
    if (!fmt)
        fmt = sniffed_format(io);
    int rc = AVERROR_INVALIDDATA, score = AVPROBE_SCORE_MAX;
    if (fmt) {
        /* Its header parsed: as sure as a probe's best score (a forced
         * format leaves 0, which would read as a faint guess). */
        rc = open_input(io, fmt);
        if (rc < 0 && mediaio_error(io, NULL) == 0) {
            /* Misnamed: probe the data as if the name said nothing. */
            if (avio_seek(io->pb, 0, SEEK_SET) < 0 || format_context(io) != 0)
                return vb_fail(e, VB_ERR_MEDIA, "%s: cannot read", io->path);
            fmt = NULL;
        }
    }
    if (!fmt) {
        if (probe_format(io, &fmt, &score, e) != 0) {
            avformat_free_context(io->fc);
            io->fc = NULL;
            return -1;
        }
        rc = open_input(io, fmt);
    }
    io->demuxed = rc >= 0;
    if (rc >= 0) {
        io->fc->probe_score = score;
        return 0;
    }
    if (mediaio_error(io, e) != 0)
        return -1;
    char m[AV_ERROR_MAX_STRING_SIZE];
    mediaio_averr(rc, m);
    if (io->nested)
        return vb_fail(e, VB_ERR_MEDIA, "%s: refers to another file or URL (%s), which vbatch "
                       "does not open", io->path, io->nested);
    if (rc == AVERROR_INVALIDDATA)
        return vb_fail(e, VB_ERR_MEDIA, "%s: not a recognised media file (%s)", io->path, m);
    /* What a demuxer says when a limit refused it (vbatch itself aborts
     * when out of memory). */
    if (rc == AVERROR(ENOMEM))
        return vb_fail(e, VB_ERR_MEDIA, "%s: cannot open: its header asks for more than one "
                       "item may take (more than %d streams?)", io->path, LIMIT_STREAMS);
    return vb_fail(e, VB_ERR_MEDIA, "%s: cannot open: %s", io->path, m);
}

int mediaio_stream_info(mediaio *io)
{
    AVFormatContext *fc = io->fc;
    unsigned n = fc->nb_streams;
    AVDictionary **opts = vb_xcalloc(n + 1, sizeof(AVDictionary *));
    /* One decoder thread: a frame or two at most are decoded, and thread
     * start-up would cost more than the decode. */
    for (unsigned i = 0; i < n; i++) {
        av_dict_set(&opts[i], "threads", "1", 0);
        av_dict_set_int(&opts[i], "max_pixels", LIMIT_PIXELS, 0);
        av_dict_set_int(&opts[i], "max_samples", LIMIT_SAMPLES, 0);
    }
    int rc = avformat_find_stream_info(fc, opts);
    for (unsigned i = 0; i < n; i++)
        av_dict_free(&opts[i]);
    free(opts);
    return rc;
}

int mediaio_picture_check(const char *path, int width, int height, vb_error *e)
{
    if (width <= 0 || height <= 0 || (int64_t)width * height <= LIMIT_PIXELS)
        return 0;
    return vb_fail(e, VB_ERR_MEDIA, "%s: the video's pictures are %dx%d, more than the "
                   "%lld pixels (8192x8192) vbatch decodes", path, width, height,
                   (long long)LIMIT_PIXELS);
}

void mediaio_decoder_limits(struct AVCodecContext *ctx)
{
    ctx->max_pixels = LIMIT_PIXELS;
    ctx->max_samples = LIMIT_SAMPLES;
}

struct AVFormatContext *mediaio_format(const mediaio *io)
{
    return io->fc;
}

long mediaio_read(mediaio *io, void *buf, size_t n)
{
    int r = io_read(io, buf, n > (1 << 30) ? 1 << 30 : (int)n);
    return r == AVERROR_EOF ? 0 : r < 0 ? -1 : r;
}

int64_t mediaio_size(const mediaio *io)
{
    return io->size;
}

int mediaio_check(mediaio *io)
{
    return io_stop(io, util_now());
}

int mediaio_error(mediaio *io, vb_error *e)
{
    if (io->stop == MEDIAIO_TIMEOUT)
        return vb_fail(e, VB_ERR_LIMIT, "%s: took longer than %g s (timeout)", io->path,
                       io->stage_timeout);
    if (io->stop != MEDIAIO_GO)
        return mediaio_clock_fail(io->clk, io->stop, io->stopped_after, io->abandoned,
                                  io->path, e);
    if (io->err)
        return errno_fail(e, io->err, io->path, "read error");
    return 0;
}

void mediaio_close(mediaio **pio)
{
    mediaio *io = *pio;
    if (!io)
        return;
    /* An opened input leaves our own I/O context to us; an unopened
     * context would take it for one of its own and close it. */
    if (io->demuxed)
        avformat_close_input(&io->fc);
    else
        avformat_free_context(io->fc);
    if (io->pb) {
        av_freep(&io->pb->buffer);
        avio_context_free(&io->pb);
    }
    if (io->fd >= 0)
        close(io->fd);
    free(io->nested);
    free(io->path);
    free(io);
    *pio = NULL;
}
