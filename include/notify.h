/* notify.h - a POST to [notify] url (or --notify URL) when a batch ends:
 * a JSON summary, signed the way Standard Webhooks sign (headers
 * webhook-id, webhook-timestamp and webhook-signature "v1,<base64 of
 * HMAC-SHA256 over id.timestamp.body>"), tried again with backoff on a
 * transient failure, and never failing or holding up the batch past its
 * attempts. The secret comes from VBATCH_NOTIFY_SECRET or [notify]
 * key_file (a 0600 file); it and the URL (a webhook URL is often a
 * secret itself) never appear in a message, a report or the journal.
 * With [notify] items, each item recorded gets a message too, sent by a
 * thread of its own (notify_items_*) so that the batch never waits on
 * the receiver. */
#ifndef VB_NOTIFY_H
#define VB_NOTIFY_H

#include "vbatch.h"

struct vb_config;

/* The signature header's value for a message: "v1," and the base64 of
 * HMAC-SHA256(key, id "." timestamp "." body). Caller frees; NULL on
 * failure with e set. Pure. */
char *notify_signature(const void *key, size_t key_len, const char *id, int64_t timestamp,
                       const char *body, vb_error *e);

/* The signing key: VBATCH_NOTIFY_SECRET, else the first line of the key
 * file (NULL: none). A secret "whsec_<base64>" is the key those bytes
 * decode to, as Standard Webhooks libraries take it; any other is used
 * as it is. *key NULL (and 0) when there is none: the message goes
 * unsigned. The caller wipes and frees *key. */
int notify_key(const char *key_file, unsigned char **key, size_t *key_len, vb_error *e);

/* How a delivery went: for the console and the journal (no URL). */
typedef struct notify_outcome {
    bool delivered;
    int attempts;
    long http;             /* the last answer's status, 0 when none */
    char what[1200];       /* e.g. "delivered (HTTP 200) after 1 attempt" */
} notify_outcome;

/* POST body (JSON) to the configured URL, signed when a key is set, up
 * to [notify] attempts times (backoff 1 s, 2 s, 4 s ... between them;
 * a 4xx other than 408 and 429 is final). id: the message's id (the
 * same on every attempt, so that a receiver drops repeats). Returns 0
 * when it was delivered, -1 otherwise; *out says what happened. */
int notify_post(const struct vb_config *cfg, const char *id, const char *body,
                notify_outcome *out);

/* How the item messages went ([notify] items). */
typedef struct notify_items_counts {
    int64_t queued;        /* handed to the sender */
    int64_t delivered;
    int64_t failed;        /* given up: attempts spent, a final answer, or
                              still unsent when the batch's end allowed no
                              more time */
    int64_t dropped;       /* not queued: the queue was full */
    char why[1200];        /* the last failure (no URL), or "" */
} notify_items_counts;

struct report_counts;
/* The message of a batch that ended: {"type": "batch.completed" (or
 * "batch.interrupted"), "timestamp", "data": {batch_id, status,
 * exit_status, counts, output, report, items: {delivered, failed,
 * dropped} when items is not NULL}}. out_dir as given. Caller frees.
 * Pure. */
char *notify_body(const char *batch_id, bool interrupted, int exit_status,
                  const struct report_counts *c, const char *out_dir,
                  const notify_items_counts *items, double now);

/* ---- [notify] items: a message per item, sent in the background ---- */

struct item_record;
/* The message of an item recorded: {"type": "item.completed",
 * "timestamp", "data": {batch_id, seq, source (as the reports show it:
 * no credentials, no query), folder, status, verdict, error_stage and
 * error (failed items), failed_rules, warned_rules, duration (the
 * media's, seconds), seconds (spent on it), attempts}}. Caller frees.
 * Pure. */
char *notify_item_body(const char *batch_id, const struct item_record *r, double now);

/* The sender: one thread and one libcurl multi handle, a few messages
 * in flight at once, each tried as notify_post tries (same id on every
 * attempt). Pushing never blocks: a full queue drops the message. */
typedef struct notify_items notify_items;
#define NOTIFY_ITEMS_QUEUE 512
#define NOTIFY_ITEMS_IN_FLIGHT 4
/* Start it for the batch batch_id (its messages' ids are
 * "<batch_id>-<run>-<seq>": run tells a later run of the same batch,
 * resume or retry, from this one). cap: the queue's bound. NULL with e
 * set when it cannot start (no key: e.g. a key file others can read). */
notify_items *notify_items_start(const struct vb_config *cfg, const char *batch_id,
                                 int64_t run, int cap, vb_error *e);
/* Queue r's message: false when dropped (the queue is full). Any
 * thread; never waits on the network. */
bool notify_items_push(notify_items *q, const struct item_record *r);
/* Stop taking messages, send what is queued for at most the time one
 * message may take (attempts x timeout and the backoff between them),
 * give up the rest, and free q; *c says how it went. */
void notify_items_finish(notify_items **q, notify_items_counts *c);

#endif
