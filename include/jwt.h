/* jwt.h - the JSON Web Token that authenticates calls to Kling's API, and
 * the loading of the keys it is signed with.
 *
 * Secrets never appear in an error message, and the buffers that held
 * them are wiped before they are freed. */
#ifndef VB_JWT_H
#define VB_JWT_H

#include "vbatch.h"

#define JWT_KLING_LIFETIME 1800 /* exp = now + this, seconds */
#define JWT_KLING_NBF_SLACK 5   /* nbf = now - this: clocks differ */

/* "header.claims.signature" signed HS256 with `secret`: header
 * {"alg":"HS256","typ":"JWT"}, claims {"iss":access_key,"exp":now+1800,
 * "nbf":now-5} (compact JSON, in that order, as PyJWT writes them).
 * `now` is Unix time in seconds. Caller frees; NULL on error. */
char *jwt_kling(const char *access_key, const char *secret, int64_t now,
                vb_error *e);

/* The access and secret keys (both caller-owned; free the secret with
 * jwt_wipe). From the environment's KLING_ACCESS_KEY and KLING_SECRET_KEY
 * when both are set; otherwise from key_file (NULL: none), which must be
 * a regular file owned by the user and readable by nobody else (mode & 077
 * == 0) and holds, in any order, with blank lines and # or ; comments:
 *     access_key = AK
 *     secret_key = SK
 * (a value may be in double quotes). Errors (VB_ERR_CONFIG) name the
 * variable, file and line, never a key's value. */
int jwt_load_keys(char **ak, char **sk, const char *key_file, vb_error *e);

/* A private file's text: a regular file of the user's, readable by
 * nobody else (mode & 077 == 0), not a FIFO (never waited on), small.
 * *len: the buffer's size, for explicit_bzero; the caller wipes and
 * frees. NULL with e set (VB_ERR_CONFIG, naming the file, not its
 * content). */
char *jwt_read_private(const char *path, size_t *len, vb_error *e);

/* Kling's two ways to sign in: a plain API key (*api, sent as the Bearer
 * token itself) from KLING_API_KEY, or else the access and secret keys
 * as jwt_load_keys finds them; a key file may hold `api_key = KEY`
 * instead of the pair (both in one file: an error). Exactly one of *api
 * and (*ak, *sk) is set on success; all caller-owned (jwt_wipe). */
int jwt_load_credentials(char **api, char **ak, char **sk, const char *key_file, vb_error *e);

/* Zero a secret string, free it and set *s to NULL. */
void jwt_wipe(char **s);

#endif
