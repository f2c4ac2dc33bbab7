/* notify.h - a POST to [notify] url (or --notify URL) when a batch ends:
 * a JSON summary, signed the way Standard Webhooks sign (headers
 * webhook-id, webhook-timestamp and webhook-signature "v1,<base64 of
 * HMAC-SHA256 over id.timestamp.body>"), tried again with backoff on a
 * transient failure, and never failing or holding up the batch past its
 * attempts. The secret comes from VBATCH_NOTIFY_SECRET or [notify]
 * key_file (a 0600 file); it and the URL (a webhook URL is often a
 * secret itself) never appear in a message, a report or the journal. */
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

struct report_counts;
/* The message of a batch that ended: {"type": "batch.completed" (or
 * "batch.interrupted"), "timestamp", "data": {batch_id, status,
 * exit_status, counts, output, report}}. out_dir as given. Caller
 * frees. Pure. */
char *notify_body(const char *batch_id, bool interrupted, int exit_status,
                  const struct report_counts *c, const char *out_dir, double now);

#endif
