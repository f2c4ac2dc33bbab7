/* test-mediaio.c - the item's clock (deadline, abort, the watchdog's
 * hand-over), which errno values are retried, the messages, and opening
 * inputs that must not be read: a missing file, a folder, a FIFO (without
 * blocking), a file that is not media, data in a format vbatch does not
 * check (a playlist, a gzip file), named for what it is. */
#include "config.h"
#include "mediaio.h"
#include "util.h"
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

static void test_errno(void)
{
    int transient[] = { EIO, ETIMEDOUT, ESTALE, EAGAIN, ENETDOWN, ENETUNREACH, ECONNRESET,
                        EHOSTDOWN, EHOSTUNREACH, ENOTCONN };
    for (size_t i = 0; i < VB_ARRAY_LEN(transient); i++)
        CHECK(mediaio_transient(transient[i]));
    int permanent[] = { ENOENT, EACCES, EPERM, EISDIR, ENOTDIR, ELOOP, EINVAL, ENOMEM, 0,
                        99999 };
    for (size_t i = 0; i < VB_ARRAY_LEN(permanent); i++)
        CHECK(!mediaio_transient(permanent[i]));
    CHECK_STR(mediaio_errno_name(EIO), "EIO");
    CHECK_STR(mediaio_errno_name(ESTALE), "ESTALE");
    CHECK_STR(mediaio_errno_name(EACCES), "EACCES");
    CHECK(mediaio_errno_name(99999) == NULL);
}

static void test_clock(void)
{
    CHECK_INT(mediaio_clock_check(NULL, 1e9), MEDIAIO_GO);
    CHECK_INT(mediaio_clock_stopped(NULL), MEDIAIO_GO);

    mediaio_clock c;
    mediaio_clock_start(&c, 10, 0, NULL);
    double t = c.started;
    CHECK_NEAR(c.deadline, t + 10, 1e-9);
    CHECK_INT(mediaio_clock_check(&c, t + 5), MEDIAIO_GO);
    CHECK_INT(mediaio_clock_check(&c, t + 11), MEDIAIO_DEADLINE);
    /* Kept: the item stays stopped. */
    CHECK_INT(mediaio_clock_check(&c, t + 1), MEDIAIO_DEADLINE);
    CHECK_INT(mediaio_clock_stopped(&c), MEDIAIO_DEADLINE);

    /* No limits: never stops by itself. */
    mediaio_clock_start(&c, 0, 0, NULL);
    CHECK_NEAR(c.deadline, 0, 0);
    CHECK_INT(mediaio_clock_check(&c, c.started + 1e7), MEDIAIO_GO);

    /* The abort flag wins over a deadline found at the same time. */
    atomic_int abort_flag;
    atomic_init(&abort_flag, 0);
    mediaio_clock_start(&c, 10, 0, &abort_flag);
    CHECK_INT(mediaio_clock_check(&c, c.started + 1), MEDIAIO_GO);
    atomic_store(&abort_flag, 1);
    CHECK_INT(mediaio_clock_check(&c, c.started + 20), MEDIAIO_ABORT);
}

/* The watchdog takes an item only from a reader blocked for too long. */
static void test_abandon(void)
{
    mediaio_clock c;
    double b = 0;
    mediaio_clock_start(&c, 0, 1, NULL);
    double t = c.started;
    /* Not in a read: nothing to take, however late. */
    CHECK_INT(mediaio_clock_abandon(&c, t + 100, 2, &b), MEDIAIO_GO);
    atomic_store(&c.blocked, (int64_t)(t * 1e6));
    CHECK_INT(mediaio_clock_abandon(&c, t + 2.5, 2, &b), MEDIAIO_GO); /* < stall + margin */
    CHECK(!mediaio_clock_abandoned(&c));
    CHECK_INT(mediaio_clock_abandon(&c, t + 3.5, 2, &b), MEDIAIO_STALL);
    CHECK_NEAR(b, 3.5, 1e-3);
    CHECK(mediaio_clock_abandoned(&c));
    CHECK_INT(mediaio_clock_stopped(&c), MEDIAIO_STALL);
    /* Once only. */
    CHECK_INT(mediaio_clock_abandon(&c, t + 9, 2, &b), MEDIAIO_GO);

    /* Past the deadline, blocked longer than the margin. */
    mediaio_clock_start(&c, 5, 0, NULL);
    t = c.started;
    atomic_store(&c.blocked, (int64_t)((t + 4) * 1e6));
    CHECK_INT(mediaio_clock_abandon(&c, t + 5.5, 2, &b), MEDIAIO_GO); /* blocked 1.5 s */
    CHECK_INT(mediaio_clock_abandon(&c, t + 6.5, 2, &b), MEDIAIO_DEADLINE);

    /* The batch aborts: a reader that does not come back is given up. */
    atomic_int abort_flag;
    atomic_init(&abort_flag, 1);
    mediaio_clock_start(&c, 0, 0, &abort_flag);
    t = c.started;
    atomic_store(&c.blocked, (int64_t)(t * 1e6));
    CHECK_INT(mediaio_clock_abandon(&c, t + 1, 2, &b), MEDIAIO_GO);
    CHECK_INT(mediaio_clock_abandon(&c, t + 3, 2, &b), MEDIAIO_ABORT);
}

static void test_messages(void)
{
    mediaio_clock c;
    mediaio_clock_start(&c, 900, 60, NULL);
    vb_error e = {0};
    CHECK_INT(mediaio_clock_fail(&c, MEDIAIO_STALL, 61.2, false, "x.mp4", &e), -1);
    CHECK_INT(e.code, VB_ERR_LIMIT);
    CHECK_STR(e.msg, "x.mp4: no data for 61.2 s while reading (stalled input; "
                     "[batch] stall_timeout = 60 s)");
    mediaio_clock_fail(&c, MEDIAIO_DEADLINE, 901, false, "x.mp4", &e);
    CHECK(strstr(e.msg, "item deadline reached") && strstr(e.msg, "item_timeout = 900"));
    mediaio_clock_fail(&c, MEDIAIO_STALL, 63, true, "x.mp4", &e);
    CHECK(strstr(e.msg, "stalled: abandoned") && strstr(e.msg, "never returned"));
    mediaio_clock_fail(&c, MEDIAIO_ABORT, 1, false, "x.mp4", &e);
    CHECK(strstr(e.msg, "grace period") != NULL);
}

static void test_open(void)
{
    char dir[] = "/tmp/vbatch-test-mediaio-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    mediaio *io = NULL;
    vb_error e = {0};

    char *missing = util_path_join(dir, "missing.mp4");
    CHECK_INT(mediaio_open(&io, missing, NULL, 0, &e), -1);
    CHECK(io == NULL);
    CHECK_INT(e.code, VB_ERR_IO);
    CHECK(strstr(e.msg, "(ENOENT)") != NULL);

    CHECK_INT(mediaio_open(&io, dir, NULL, 0, &e), -1);
    CHECK_INT(e.code, VB_ERR_MEDIA);
    CHECK(strstr(e.msg, "is a directory") != NULL);

    /* No writer: an ordinary open would block for ever. */
    char *fifo = util_path_join(dir, "fifo.mp4");
    CHECK(mkfifo(fifo, 0600) == 0);
    double t0 = util_now();
    CHECK_INT(mediaio_open(&io, fifo, NULL, 0, &e), -1);
    CHECK(util_now() - t0 < 5);
    CHECK_INT(e.code, VB_ERR_MEDIA);
    CHECK(strstr(e.msg, "not a regular file") != NULL);

    char *text = util_path_join(dir, "text.mp4");
    const char words[] = "This is not a video, only some words that go on for a while.\n";
    CHECK(util_write_atomic(text, words, sizeof words - 1, &e) == 0);
    CHECK_INT(mediaio_open(&io, text, NULL, 0, &e), 0);
    CHECK_INT(mediaio_size(io), (long long)(sizeof words - 1));
    CHECK(mediaio_format(io) != NULL);
    CHECK_INT(mediaio_check(io), MEDIAIO_GO);
    CHECK_INT(mediaio_demux(io, &e), -1);
    CHECK_INT(e.code, VB_ERR_MEDIA);
    CHECK(strstr(e.msg, "not a recognised media file") != NULL);
    CHECK(mediaio_format(io) == NULL);
    CHECK_INT(mediaio_error(io, &e), 0);
    mediaio_close(&io);
    CHECK(io == NULL);
    mediaio_close(&io);

    /* An item already past its deadline does not even open. */
    mediaio_clock c;
    mediaio_clock_start(&c, 1e-9, 0, NULL);
    usleep(1000);
    CHECK_INT(mediaio_open(&io, text, &c, 0, &e), -1);
    CHECK_INT(e.code, VB_ERR_LIMIT);
    CHECK(strstr(e.msg, "item deadline reached") != NULL);

    /* A stage's own limit stops its reading, and says so. */
    CHECK_INT(mediaio_open(&io, text, NULL, 1e-6, &e), 0);
    usleep(1000);
    CHECK_INT(mediaio_check(io), MEDIAIO_TIMEOUT);
    CHECK_INT(mediaio_demux(io, &e), -1);
    CHECK(strstr(e.msg, "took longer than") != NULL);
    mediaio_close(&io);

    unlink(text);
    unlink(fifo);
    rmdir(dir);
    free(missing);
    free(fifo);
    free(text);
}

/* Which demuxers are opened: the containers, not playlists and the like. */
static void test_accepted(void)
{
    const char *yes[] = { "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "mpegts", "mpeg", "mxf",
                          "avi", "asf", "flv", "ogg" };
    for (size_t i = 0; i < VB_ARRAY_LEN(yes); i++)
        CHECK(mediaio_accepted(yes[i]));
    const char *no[] = { "hls", "dash", "concat", "libgme", "image2", "jpeg_pipe", "srt",
                         "webvtt", "tty", "mpegtsraw", "mpegvideo", "h264", "mp3", "sdp", "", NULL };
    for (size_t i = 0; i < VB_ARRAY_LEN(no); i++)
        CHECK(!mediaio_accepted(no[i]));
}

/* demux_error DIR NAME DATA LEN: the message of demuxing such a file */
static char *demux_error(const char *dir, const char *name, const void *data, size_t len)
{
    vb_error e = {0};
    char *path = util_path_join(dir, name);
    mediaio *io = NULL;
    char *msg = NULL;
    if (util_write_atomic(path, data, len, &e) == 0 && mediaio_open(&io, path, NULL, 0, &e) == 0 &&
        mediaio_demux(io, &e) != 0) {
        CHECK_INT(e.code, VB_ERR_MEDIA);
        CHECK(mediaio_format(io) == NULL);
        msg = vb_xstrdup(e.msg);
    }
    mediaio_close(&io);
    unlink(path);
    free(path);
    return msg ? msg : vb_xstrdup("(opened)");
}

static void test_refused(void)
{
    char dir[] = "/tmp/vbatch-test-mediaio-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    /* A playlist named .mp4 that points at a file: refused before the
     * HLS demuxer could open that file. */
    const char hls[] = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n/etc/passwd\n"
                       "#EXT-X-ENDLIST\n";
    char *m = demux_error(dir, "clip.mp4", hls, sizeof hls - 1);
    CHECK(strstr(m, "clip.mp4: an HLS playlist") != NULL);
    CHECK(strstr(m, "not a media file vbatch checks") != NULL);
    free(m);
    const char ffconcat[] = "ffconcat version 1.0\nfile /etc/passwd\n";
    m = demux_error(dir, "list.mkv", ffconcat, sizeof ffconcat - 1);
    CHECK(strstr(m, "an FFmpeg concat script") != NULL);
    free(m);
    /* gzip (what libgme would inflate whole): named as gzip. */
    const unsigned char gz[] = { 0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0xff, 0x03, 0x00,
                                 0, 0, 0, 0, 0, 0, 0, 0 };
    m = demux_error(dir, "bomb.mp4", gz, sizeof gz);
    CHECK(strstr(m, "bomb.mp4: gzip-compressed data") != NULL);
    free(m);
    rmdir(dir);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    test_errno();
    test_clock();
    test_abandon();
    test_messages();
    test_open();
    test_accepted();
    test_refused();
    return check_result("test-mediaio");
}
