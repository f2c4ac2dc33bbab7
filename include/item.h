/* item.h - one video or image on its way through vbatch: the item.
 *
 * An item owns everything about one input from the moment a source
 * (a scan, a resumed journal, a generation) hands it to the engine until
 * it is recorded: its source, folder and paths, its clock, what the
 * stages found (probe, image header, checks), its record, its error. It
 * is released in one place, item_free. The stages (stage.h) read and fill
 * it; the runner (item.c) walks it down the road; the engine (batch.c)
 * schedules items and records them in order. What the stages need from
 * the engine (the journal, the decoder threads, whether the batch
 * stops) they get through item_env, never from the engine itself. */
#ifndef VB_ITEM_H
#define VB_ITEM_H

#include "vbatch.h"
#include "image.h"
#include "mediaio.h"
#include "probe.h"
#include "report.h"
#include "rules.h"
#include "scan.h"

#include <stdatomic.h>

struct analyse_share;

/* What the engine lends the stages (borrowed by every item). */
typedef struct item_env {
    const char *out_dir;
    report *rep;                       /* the journal; NULL: none (a queue worker) */
    struct analyse_share *share;       /* identical files analysed once; NULL: not */
    int workers;                       /* for the image library's threads */
    /* The libav decoder threads for an item's decode starting now. */
    int (*decode_threads)(void *ud, bool analysis, double duration);
    /* The batch takes no new work (a signal, error_handling = stop). */
    bool (*stopping)(void *ud);
    void *ud;
} item_env;

typedef struct item {
    /* ---- from its source ---- */
    int64_t seq;                 /* its row in the journal */
    scan_entry en;               /* path or URL, relative name, or why it is
                                    bad (en.error) */
    char *folder;                /* its folder under OUT, NULL: none */
    int error_stage;             /* with en.error: where it failed */
    char *key;                   /* the journal's index key (incremental) */
    int64_t size, mtime_ns;      /* the local file when found (size -1: unknown) */
    bool skip;                   /* unchanged: rec holds the result kept */
    bool fed;                    /* made by generate: the file is in its folder */
    char *fed_source;            /* with fed: the source the reports show */
    item_gen gen;                /* with fed: generation details */
    bool solo;                   /* a suspect of a crash: taken alone */
    /* ---- the engine's ---- */
    const item_env *env;         /* borrowed */
    mediaio_clock clock;         /* bounds its reading; started when taken */
    int slot;                    /* the worker that took it */
    bool done;                   /* finished by its worker */
    bool aborted;                /* stopped before its end: left pending */
    bool abandoned;              /* given up by the watchdog */
    /* ---- on its way (one attempt) ---- */
    char *item_dir, *video_dir, *meta_dir;
    char *fname;                 /* safe file name of the original */
    char *placed;                /* OUT/<item>/video/<fname> */
    const char *media;           /* the file read: the input or the download */
    bool is_image;               /* a still image (its name says so) */
    probe_result *probe;         /* what the probe found (videos) */
    struct analyse_result *analysis; /* what the decode analysis found */
    char *fixed;                 /* the fixed file delivered in video/, or NULL */
    image_info image;            /* the header read (images) */
    rule_report rr;              /* every check, moved into the record */
    bool meta_ready;             /* metadata/ exists */
    bool existed;                /* the folder was there before this run */
    unsigned written;            /* bits: the metadata files written */
    vb_strlist thumb_files;      /* thumbnails made */
    bool published;
    bool fetch_stopped;          /* the download gave up as the batch stops */
    /* ---- the result ---- */
    item_record rec;
    vb_error e;
} item;

item *item_new(void);
void item_free(item **it);

/* Record the item as failed at stage `at` with msg. */
void item_fail(item *it, int at, const char *msg);

/* Run the item down `road` (a NULL-terminated list of stages; NULL: the
 * default, stage_road), trying it again after a transient I/O error up
 * to [batch] retries times within its deadline (backoff with jitter).
 * Every failure ends up in it->rec, attributed to the stage it came
 * from; an item stopped by the grace period, or waiting to retry when the
 * batch stops, is marked aborted (left pending). */
struct stage;
void item_run(item *it, const struct stage *const *road, const vb_config *cfg);

/* ---- for the stages ---- */

/* The key figures of what the probe found, or of an analysis, copied
 * into the record (the reports show them). */
struct analyse_result;
void item_record_probe(item_record *r, const probe_result *p);
void item_record_analysis(item_record *r, const struct analyse_result *a);

/* Save w (a JSON object begun with item_meta_writer, ended by the
 * caller) as metadata/NAME of the item; w is freed. */
struct writer *item_meta_writer(void);
int item_meta_save(item *it, const char *name, struct writer *w, vb_error *e);
/* metadata/ exists (made once an item). */
int item_meta_dir(item *it, vb_error *e);
/* NAME was written by this attempt (kept by item_clear_stale). */
void item_meta_written(item *it, const char *name);
/* The metadata files an item may hold, in the bit order of `written`. */
extern const char *const item_meta_names[6];
enum { ITEM_META_PROBE, ITEM_META_IMAGE, ITEM_META_ANALYSIS, ITEM_META_THUMBS, ITEM_META_QC,
       ITEM_META_FIX };

#endif
