/* avfilter-lazy.h - libavfilter opened when the analysis or a fix first
 * needs it, not with the media module: its libraries (and theirs) cost
 * ~100M instructions to load beside libvips's, which a run making only
 * thumbnails never uses. The files that filter include this instead of
 * libavfilter's headers and call avf_load first; the calls they write
 * go through avf_fn. */
#ifndef VB_AVFILTER_LAZY_H
#define VB_AVFILTER_LAZY_H

#include "vbatch.h"

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>

#define AVF_FUNCS(X) \
    X(avfilter_version) X(avfilter_get_by_name) X(avfilter_graph_alloc) \
    X(avfilter_graph_free) X(avfilter_graph_create_filter) X(avfilter_graph_config) \
    X(avfilter_graph_parse_ptr) X(avfilter_link) X(avfilter_inout_alloc) \
    X(avfilter_inout_free) X(av_buffersrc_add_frame_flags) X(av_buffersrc_close) \
    X(av_buffersink_get_frame) X(av_buffersink_get_time_base) \
    X(av_buffersink_set_frame_size)

typedef struct avf_table {
#define AVF_FIELD(n) __typeof__(n) *n;
    AVF_FUNCS(AVF_FIELD)
#undef AVF_FIELD
} avf_table;

/* Filled by avf_load. */
extern avf_table avf_fn;

/* Open libavfilter once (thread-safe): 0, or -1 with e set. */
int avf_load(vb_error *e);

#ifndef AVF_LAZY_IMPL
#define avfilter_version avf_fn.avfilter_version
#define avfilter_get_by_name avf_fn.avfilter_get_by_name
#define avfilter_graph_alloc avf_fn.avfilter_graph_alloc
#define avfilter_graph_free avf_fn.avfilter_graph_free
#define avfilter_graph_create_filter avf_fn.avfilter_graph_create_filter
#define avfilter_graph_config avf_fn.avfilter_graph_config
#define avfilter_graph_parse_ptr avf_fn.avfilter_graph_parse_ptr
#define avfilter_link avf_fn.avfilter_link
#define avfilter_inout_alloc avf_fn.avfilter_inout_alloc
#define avfilter_inout_free avf_fn.avfilter_inout_free
#define av_buffersrc_add_frame_flags avf_fn.av_buffersrc_add_frame_flags
#define av_buffersrc_close avf_fn.av_buffersrc_close
#define av_buffersink_get_frame avf_fn.av_buffersink_get_frame
#define av_buffersink_get_time_base avf_fn.av_buffersink_get_time_base
#define av_buffersink_set_frame_size avf_fn.av_buffersink_set_frame_size
#endif

#endif
