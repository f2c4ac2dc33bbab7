/* image.h - still images checked from their headers with libvips: the
 * input images of a batch and the thumbnails vbatch makes. The header
 * reads run in the media module (module.h, src/media/image-vips.c),
 * loaded on the first image_init or image_probe; the rules and the output
 * need no module. */
#ifndef VB_IMAGE_H
#define VB_IMAGE_H

#include "vbatch.h"
#include "preset.h"

typedef struct image_info {
    int width, height, bands;
    char *format;        /* "png", "jpeg", "webp", ... (owned) */
    int64_t size;        /* bytes */
} image_info;

/* Load the media module and start libvips once (thread-safe); libvips
 * caps its own threads so that workers times threads stays near the core
 * count. 0 or -1 with e set (the module can not be loaded, libvips does
 * not start). */
int image_init(int workers, vb_error *e);

/* true if the file name has a still-image extension (png, jpg, jpeg,
 * webp, gif, tif, tiff, bmp, avif, heic, heif). */
bool image_is_image_name(const char *name);

/* Read the header only (in the media module). A file that is not an
 * image, or whose header claims more than max_pixels pixels, is an error
 * (VB_ERR_MEDIA / VB_ERR_LIMIT) and nothing is decoded. */
int image_probe(const char *path, int64_t max_pixels, image_info *out, vb_error *e);
void image_info_clear(image_info *i);

/* The width, height, bands and format of a JPEG, PNG or WebP file from
 * the first bytes of its header, read here without the module (vbatch's
 * own thumbnails, read back: libvips's machinery cost ~50x more). 0, or 1
 * when the head is not one of those, well formed (then ask image_probe,
 * which says why), -1 with e set if the file can not be read. Pure but
 * for reading the file. */
int image_header_quick(const char *path, image_info *out, vb_error *e);

struct rule_report;
/* The [qc] image rules (image_min_width, image_min_height,
 * image_aspect_ratio, image_formats) as checks named with `prefix`
 * ("image" for inputs). */
void image_rules(const qc_config *q, const image_info *i, const char *prefix,
                 struct rule_report *rep);

struct writer;
void image_write(const image_info *i, struct writer *w);

#endif
