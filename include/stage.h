/* stage.h - the road an item takes, one stage at a time.
 *
 * A stage says whether an item wants it (wanted; NULL: always) and does
 * its work on the item (run: 0, or -1 with e set). The runner (item.c)
 * walks the road in order, times each stage, marks it for the watchdog,
 * and records a failure as the failing stage's. Each stage's file
 * exports its entry, as each cmd-*.c exports its command:
 *
 *   stage_fetch    fetch.c     download a URL item into its folder
 *   stage_image    image.c     a still image: its header
 *   stage_probe    probe.c     a video: its headers (no decoding)
 *   stage_check    rules.c     the preset's gates on what was found
 *   stage_analyse  analyse.c   decode: black, freeze, silence, loudness ...
 *   stage_fix      fix.c       --fix: the plan's one pass, the fixed file checked
 *                              again and delivered when it passes
 *   stage_thumbs   thumbs.c    thumbnails and the contact sheet
 *   stage_publish  publish.c   qc.json, the delivered file, publish/
 *
 * To add a stage: write its entry in its own file, put it on the road
 * below (stage_road in item.c), give it an id in enum item_stage
 * (report.h) so reports can time it and name it in errors. */
#ifndef VB_STAGE_H
#define VB_STAGE_H

#include "item.h"
#include "preset.h"

typedef struct stage {
    int id;                      /* enum item_stage */
    const char *name;
    bool (*wanted)(const item *it, const vb_config *cfg);
    int (*run)(item *it, const vb_config *cfg, vb_error *e);
} stage;

extern const stage stage_fetch, stage_image, stage_probe, stage_check, stage_analyse,
    stage_fix, stage_thumbs, stage_publish;

/* fetch, image, probe, check, analyse, fix, thumbs, publish. */
extern const stage *const stage_road[];

#endif
