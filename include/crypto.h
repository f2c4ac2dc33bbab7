/* crypto.h - the cryptographic primitives vbatch needs: hashes, HMAC and
 * base64. OpenSSL's libcrypto is used from src/crypto.c only. */
#ifndef VB_CRYPTO_H
#define VB_CRYPTO_H

#include "vbatch.h"

/* ---- hashes of buffers, HMAC, base64 ---- */

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX_LEN 64

/* HMAC-SHA256 (RFC 2104) of data under key into out. */
int crypto_hmac_sha256(const void *key, size_t key_len, const void *data,
                       size_t len, unsigned char out[CRYPTO_SHA256_LEN],
                       vb_error *e);
/* SHA-256 of a buffer as lower-case hex, NUL-terminated, into hex. */
int crypto_sha256_hex(const void *data, size_t len,
                      char hex[CRYPTO_SHA256_HEX_LEN + 1], vb_error *e);
/* SHA-256 of a stream as lower-case hex: read(ud, buf, n) gives up to n
 * bytes, 0 at the end, a negative value on failure (it says why in its
 * own way: -1 is returned, e untouched). Content hashes of inputs, read
 * once front to back through the item's bounded reader. */
int crypto_sha256_read(long (*read)(void *ud, void *buf, size_t n), void *ud,
                       char hex[CRYPTO_SHA256_HEX_LEN + 1], vb_error *e);
/* Base64 with padding (RFC 4648 section 4), NUL-terminated. Caller frees. */
char *crypto_base64(const void *data, size_t len);
/* Decode base64 with padding (RFC 4648 section 4) into a new buffer of
 * *len bytes (caller frees); NULL when s is not valid base64. */
unsigned char *crypto_base64_decode(const char *s, size_t *len);
/* Base64url without padding (RFC 4648 section 5), as JWTs use it.
 * Caller frees. */
char *crypto_base64url(const void *data, size_t len);

#endif
