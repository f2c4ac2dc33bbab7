/* hash.h - SHA-256 digests (OpenSSL's EVP interface, used from hash.c
 * only): the content hash that lets identical files share one analysis,
 * and the hash of the settings an incremental run compares. */
#ifndef VB_HASH_H
#define VB_HASH_H

#include "vbatch.h"

/* 64 lower-case hex digits and a NUL. */
#define HASH_HEX_LEN 65

/* SHA-256 of data[0..len) as hex into out_hex. */
void hash_sha256_hex(const void *data, size_t len, char out_hex[HASH_HEX_LEN]);
/* SHA-256 of a file's content as hex into out_hex; reads the file once,
 * front to back. */
int hash_file_sha256(const char *path, char out_hex[HASH_HEX_LEN], vb_error *e);

#endif
