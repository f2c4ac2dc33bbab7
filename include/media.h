/* media.h - inside the media module (vbatch-media.so, built from
 * src/media/) only: the functions behind its table (module.h). The core
 * never calls these directly; it goes through analyse_file, thumbs_make,
 * image_init and image_probe. */
#ifndef VB_MEDIA_H
#define VB_MEDIA_H

#include "vbatch.h"
#include "analyse.h"
#include "image.h"
#include "thumbs.h"
#include "transcode.h"

struct mediaio_clock;

struct AVCodecContext;
struct AVPacket;
struct AVFrame;
/* media.c: one packet (NULL: drain) into dec, every frame it gives to
 * on_frame (then unreferenced). A packet or frame the decoder refuses is
 * counted in *errors and skipped, as ffmpeg does (64 in a row end the
 * packet). 0: the packet taken; 1: the decoder was full: see whether the
 * item may go on, then call again with the same packet; -1: on_frame
 * failed (returned non-zero). */
int media_decode_packet(struct AVCodecContext *dec, const struct AVPacket *pkt,
                        struct AVFrame *frame, int64_t *errors,
                        int (*on_frame)(void *ud, struct AVFrame *f), void *ud);

struct AVFormatContext;
/* media.c: the main picture: the best video stream that is not cover
 * art, -1 if none. */
int media_pick_video(struct AVFormatContext *fc);

/* analyse-decode.c: analyse_file's work (see analyse.h). */
int analyse_decode_file(const char *path, const analyse_config *cfg, int threads,
                        struct mediaio_clock *clk, const atomic_bool *cancel,
                        analyse_result **out, vb_error *e);

/* thumbs-render.c: thumbs_make's work (see thumbs.h). */
int thumbs_render_make(const char *video, const probe_result *p, const thumbs_config *cfg,
                       const char *thumb_dir, const char *contact_path, int threads,
                       struct mediaio_clock *clk, thumbs_result *out, vb_error *e);

/* image-vips.c. libvips is used there and in thumbs-render.c only.
 * image_vips_init starts it once (thread-safe), capping its own threads
 * so that workers times threads stays near the core count. */
int image_vips_init(int workers, vb_error *e);
const char *image_vips_version(void);
/* Fill e from libvips's error buffer (then cleared): "WHAT PATH: msg",
 * or "WHAT: msg" when path is NULL. Returns -1. */
int image_vips_fail(vb_error *e, int code, const char *what, const char *path);
/* image_probe's work (see image.h). */
int image_vips_probe(const char *path, int64_t max_pixels, image_info *out, vb_error *e);

/* transcode.c: transcode_run's work (see transcode.h). */
int transcode_pass(const transcode_job *job, struct mediaio_clock *clk, transcode_result *out,
                   vb_error *e);

#endif
