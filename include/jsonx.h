/* jsonx.h - the few jansson helpers the JSON writer, the journal codecs
 * and the analysis reader share: making a string value from an untrusted
 * name, and reading an object's members with a default when a member is
 * missing or of another type. */
#ifndef VB_JSONX_H
#define VB_JSONX_H

#include <jansson.h>
#include <stdint.h>

/* A new string value for s (null for NULL); invalid UTF-8 bytes are
 * marked (util_utf8_sanitize) rather than the value lost. */
json_t *jsonx_str(const char *s);
/* A copy of member k when it is a string, else NULL. Caller frees. */
char *jsonx_dup(const json_t *o, const char *k);
/* Member k when it is a number, else NaN. */
double jsonx_num(const json_t *o, const char *k);
/* Member k when it is an integer, else 0. */
int64_t jsonx_int(const json_t *o, const char *k);

#endif
