/* mediaio.h - how probe, analyse and thumbs open and read their input.
 *
 * One mediaio_clock per item, held by the batch, bounds every libav open
 * and read of that item: a deadline for the whole item ([batch]
 * item_timeout), a limit on time without any byte read ([batch]
 * stall_timeout) and an abort flag (the grace period after SIGINT or
 * SIGTERM is over). libav checks it through the format context's
 * interrupt callback, and every read of the input checks it too, since
 * the input is read through our own AVIOContext over a file descriptor.
 * That reader also keeps the first I/O error with its errno, so a read
 * failing on a network share is reported as that (and can be retried)
 * instead of as libav's "end of file" or a broken file.
 *
 * A read blocked in the kernel can not be interrupted from its own
 * thread: while one is in progress the clock says since when, so the
 * batch can give up on that worker (mediaio_clock_abandon) and the
 * reader, should it ever return, stops there and reports nothing.
 *
 * The input is untrusted: only the demuxers of the containers vbatch
 * checks are used, no demuxer may open another file or URL, and what a
 * demuxer may buffer and a decoder allocate is capped (see mediaio.c). */
#ifndef VB_MEDIAIO_H
#define VB_MEDIAIO_H

#include "vbatch.h"

#include <stdatomic.h>
#include <libavutil/error.h>

/* Why an item's reading stopped. */
enum mediaio_stop {
    MEDIAIO_GO = 0,
    MEDIAIO_ABORT,      /* the batch is stopping: grace period over */
    MEDIAIO_DEADLINE,   /* the item's deadline (item_timeout) */
    MEDIAIO_STALL,      /* no byte for stall_timeout seconds */
    MEDIAIO_TIMEOUT,    /* the stage's own limit ([analyse] timeout); kept
                           by the open input only, not the clock */
};

/* Per item. The numbers are set by mediaio_clock_start before the
 * worker starts the item and only read after; the atomics may be used by
 * another thread (the batch's watchdog). */
typedef struct mediaio_clock {
    double started;            /* util_now() when the item started */
    double deadline;           /* util_now() limit, 0 = none */
    double item_timeout;       /* seconds, 0 = none (for messages) */
    double stall_timeout;      /* seconds, 0 = none */
    const atomic_int *abort;   /* borrowed, may be NULL: non-zero = stop */
    atomic_int stop;           /* enum mediaio_stop once stopped (sticky) */
    atomic_int stage;          /* the caller's stage number, for the watchdog */
    _Atomic int64_t blocked;   /* in an open or read since (microseconds of
                                  util_now), 0 when not, -1 once abandoned */
} mediaio_clock;

/* Start the item's clock now (timeouts in seconds, 0 = none). */
void mediaio_clock_start(mediaio_clock *c, double item_timeout, double stall_timeout,
                         const atomic_int *abort);
/* The reason the item must stop at time `now` (util_now), MEDIAIO_GO if
 * none; a reason found is kept. c may be NULL. */
int mediaio_clock_check(mediaio_clock *c, double now);
/* The reason kept, MEDIAIO_GO if none. c may be NULL. */
int mediaio_clock_stopped(const mediaio_clock *c);
/* For a watchdog (another thread): if the item's reader has been blocked
 * in one open or read for more than `margin` seconds past the stall limit,
 * or for more than `margin` seconds while the item's deadline has passed
 * or the batch aborts, take the item from it. Returns the reason (and
 * the seconds blocked) once the reader is abandoned, MEDIAIO_GO if it is
 * not overdue or its call returned meanwhile. An abandoned reader stops
 * as soon as its call returns and reports nothing more for the item. */
int mediaio_clock_abandon(mediaio_clock *c, double now, double margin, double *blocked_for);
/* Whether the item was taken from its reader (mediaio_clock_abandon). */
bool mediaio_clock_abandoned(const mediaio_clock *c);
/* The message for a stop reason into e (VB_ERR_LIMIT); returns -1.
 * seconds: how long without data (stall) or since the item started. */
int mediaio_clock_fail(const mediaio_clock *c, int reason, double seconds, bool abandoned,
                       const char *path, vb_error *e);

/* errno values worth retrying on a local or network file system (EIO,
 * ETIMEDOUT, ESTALE, EAGAIN, ENETDOWN, ECONNRESET, EHOSTDOWN ...);
 * ENOENT, EACCES and the like are permanent. Pure. */
bool mediaio_transient(int err);
/* "EIO", "ENOENT" ..., or NULL for an errno without a name here. */
const char *mediaio_errno_name(int err);
/* libav's message for the error code rc, written to buf; returns buf.
 * The one place libav errors are turned into text (probe, analyse,
 * thumbs and this file). */
const char *mediaio_averr(int rc, char buf[AV_ERROR_MAX_STRING_SIZE]);

/* ---- an open input ---- */

typedef struct mediaio mediaio;
struct AVFormatContext;

/* Open path (a regular file) for demuxing: a format context whose I/O
 * and interrupt callback go through clk (NULL: no limits). A stage with
 * a limit of its own passes it as stage_timeout (seconds, 0 = none).
 * Errors: VB_ERR_IO (VB_ERR_IO_RETRY when transient) when the file can
 * not be opened, VB_ERR_MEDIA when it is not a regular file. */
int mediaio_open(mediaio **io, const char *path, mediaio_clock *clk, double stage_timeout,
                 vb_error *e);
/* avformat_open_input on it: the demuxer reads the header. Data in a
 * format outside the containers vbatch checks (a playlist, an image, a
 * gzip file ...) is refused before any demuxer reads it, with a message
 * naming what it is. On failure the format context is gone and e says
 * why (mediaio_error first, else "not a recognised media file", the
 * refusal, or "cannot open"). */
int mediaio_demux(mediaio *io, vb_error *e);
/* Whether a demuxer name (AVInputFormat.name, "mov,mp4,m4a,...") is one
 * vbatch opens. Pure. */
bool mediaio_accepted(const char *format_name);
/* avformat_find_stream_info on the demuxed input, its decoders with one
 * thread and the limits of mediaio_decoder_limits. libav's return code;
 * on failure call mediaio_error first. */
int mediaio_stream_info(mediaio *io);
/* A picture larger than a decoder of an item may allocate (8192x8192
 * pixels): -1 with e saying so; 0 if it fits or the size is unknown. */
int mediaio_picture_check(const char *path, int width, int height, vb_error *e);
struct AVCodecContext;
/* The caps on what a decoder of an item may allocate (the largest
 * picture, the most samples in a frame); call before avcodec_open2. */
void mediaio_decoder_limits(struct AVCodecContext *ctx);
/* The format context (NULL before mediaio_demux or after it failed). */
struct AVFormatContext *mediaio_format(const mediaio *io);
/* File size at open, in bytes. */
int64_t mediaio_size(const mediaio *io);
/* Read up to n bytes of the input at the current position directly, not
 * through libav (hashing the file), bounded by the clock like every read:
 * the number of bytes, 0 at the end, -1 when reading stopped or failed
 * (mediaio_error says why). */
long mediaio_read(mediaio *io, void *buf, size_t n);
/* Should the reading stop now? The reason (enum mediaio_stop) or 0. */
int mediaio_check(mediaio *io);
/* Did reading stop or fail? If so -1 with e set: the stop reason, or the
 * I/O error with its errno ("read error: Input/output error (EIO)",
 * VB_ERR_IO_RETRY when transient). 0 otherwise. Call it when a libav
 * call fails, before taking the failure for a property of the file. */
int mediaio_error(mediaio *io, vb_error *e);
void mediaio_close(mediaio **io);

#endif
