/* publish.h - the last stage: an item's verdict, qc.json, the delivered
 * file in OUT/<item>/video/ and, when it passed, OUT/publish/ (the entry
 * is stage_publish, stage.h). */
#ifndef VB_PUBLISH_H
#define VB_PUBLISH_H

#include "item.h"

/* An item processed again into its folder: remove what an earlier run
 * left that this attempt did not make again (analysis or thumbnails now
 * off, fewer thumbnails, a publish link for an item that no longer
 * passes, a body not delivered, metadata of a run that failed part-way),
 * so the folder holds this run's results only. */
void publish_clear_stale(item *it);

#endif
