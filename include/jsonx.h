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
/* v as jansson dumps a real (jsonp_dtostr at `precision` digits: a
 * ".0" when it reads as an integer, the exponent without '+' and leading
 * zeros) into b, which holds JSONX_REAL_MAX bytes; its length. For the
 * writers that emit jansson's exact text without building a tree. */
#define JSONX_REAL_MAX 48
int jsonx_real_text(char *b, double v, int precision);
/* A copy of member k when it is a string, else NULL. Caller frees. */
char *jsonx_dup(const json_t *o, const char *k);
/* Member k when it is a number, else NaN. */
double jsonx_num(const json_t *o, const char *k);
/* Member k when it is an integer, else 0. */
int64_t jsonx_int(const json_t *o, const char *k);

#endif
