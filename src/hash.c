/* hash.c - SHA-256 through OpenSSL's EVP interface: the one place that
 * uses libcrypto. A file is read in 1 MiB blocks with the kernel told
 * the access is sequential, so hashing costs about one read of the file
 * (a small fraction of decoding it). */
#include "config.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_BLOCK (1 << 20)

static void to_hex(const unsigned char *md, unsigned n, char out_hex[HASH_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n && i < 32; i++) {
        out_hex[2 * i] = digits[md[i] >> 4];
        out_hex[2 * i + 1] = digits[md[i] & 15];
    }
    out_hex[2 * (n < 32 ? n : 32)] = '\0';
}

void hash_sha256_hex(const void *data, size_t len, char out_hex[HASH_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    /* EVP_Digest fails only when out of memory. */
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "vbatch: libcrypto: SHA-256 failed\n");
        abort();
    }
    to_hex(md, n, out_hex);
}

int hash_file_sha256(const char *path, char out_hex[HASH_HEX_LEN], vb_error *e)
{
    out_hex[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vb_fail(e, VB_ERR_IO, "%s: %s", path, strerror(errno));
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = vb_xmalloc(HASH_BLOCK);
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "vbatch: libcrypto: cannot start SHA-256\n");
        abort();
    }
    int rc = 0;
    for (;;) {
        ssize_t got = read(fd, buf, HASH_BLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = vb_fail(e, VB_ERR_IO, "%s: %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
            rc = vb_fail(e, VB_ERR_INTERNAL, "%s: SHA-256 failed", path);
            break;
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &n) != 1)
        rc = vb_fail(e, VB_ERR_INTERNAL, "%s: SHA-256 failed", path);
    if (rc == 0)
        to_hex(md, n, out_hex);
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}
