/* crypto.c - hashes, HMAC and base64 over OpenSSL's libcrypto, the one
 * file that includes OpenSSL, so that the rest of vbatch sees plain
 * functions with vb_error reporting. */
#include "config.h"
#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashes of buffers, HMAC, base64 ---- */

int crypto_hmac_sha256(const void *key, size_t key_len, const void *data,
                       size_t len, unsigned char out[CRYPTO_SHA256_LEN],
                       vb_error *e)
{
    static const unsigned char empty[1];
    unsigned int n = 0;
    if (key_len > INT_MAX)
        return vb_fail(e, VB_ERR_INTERNAL, "HMAC key too long");
    /* OpenSSL wants non-NULL pointers even for empty inputs. */
    if (!HMAC(EVP_sha256(), key_len ? key : empty, (int)key_len,
              len ? data : empty, len, out, &n) || n != CRYPTO_SHA256_LEN)
        return vb_fail(e, VB_ERR_INTERNAL, "HMAC-SHA256 failed");
    return 0;
}

int crypto_sha256_hex(const void *data, size_t len,
                      char hex[CRYPTO_SHA256_HEX_LEN + 1], vb_error *e)
{
    static const char digits[] = "0123456789abcdef";
    static const unsigned char empty[1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(len ? data : empty, len, md, &n, EVP_sha256(), NULL) ||
        n != CRYPTO_SHA256_LEN)
        return vb_fail(e, VB_ERR_INTERNAL, "SHA-256 failed");
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
    return 0;
}

/* 1 MiB blocks: hashing costs about one read of the file, a small
 * fraction of decoding it. */
int crypto_sha256_read(long (*read)(void *ud, void *buf, size_t n), void *ud,
                       char hex[CRYPTO_SHA256_HEX_LEN + 1], vb_error *e)
{
    enum { BLOCK = 1 << 20 };
    static const char digits[] = "0123456789abcdef";
    hex[0] = '\0';
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = vb_xmalloc(BLOCK);
    int rc = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        rc = vb_fail(e, VB_ERR_INTERNAL, "SHA-256 failed");
    while (rc == 0) {
        long got = read(ud, buf, BLOCK);
        if (got < 0)
            rc = -1;
        else if (got == 0)
            break;
        else if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1)
            rc = vb_fail(e, VB_ERR_INTERNAL, "SHA-256 failed");
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (rc == 0 && (EVP_DigestFinal_ex(ctx, md, &n) != 1 || n != CRYPTO_SHA256_LEN))
        rc = vb_fail(e, VB_ERR_INTERNAL, "SHA-256 failed");
    if (rc == 0) {
        for (unsigned int i = 0; i < n; i++) {
            hex[2 * i] = digits[md[i] >> 4];
            hex[2 * i + 1] = digits[md[i] & 15];
        }
        hex[2 * n] = '\0';
    }
    EVP_MD_CTX_free(ctx);
    free(buf);
    return rc;
}

char *crypto_base64(const void *data, size_t len)
{
    /* EVP_EncodeBlock takes an int length: encode in chunks that are a
     * multiple of 3 bytes, so that only the last one carries padding. */
    enum { CHUNK = 3 * 1024 * 1024 };
    const unsigned char *p = data;
    char *out = vb_xmalloc(4 * ((len + 2) / 3) + 1);
    size_t o = 0;
    out[0] = '\0';
    while (len > 0) {
        size_t n = len > CHUNK ? CHUNK : len;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, p, (int)n);
        p += n;
        len -= n;
    }
    out[o] = '\0';
    return out;
}

unsigned char *crypto_base64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    /* EVP_DecodeBlock takes whole quads and an int length; it counts the
     * padding's bytes as data, which are taken off after. */
    if (n % 4 != 0 || n > (size_t)INT_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool pad = c == '=' && i + 2 >= n && (i + 1 == n || s[i + 1] == '=');
        if (!pad && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return NULL;
    }
    unsigned char *out = vb_xmalloc(n / 4 * 3 + 1);
    int m = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (m < 0) {
        free(out);
        return NULL;
    }
    size_t got = (size_t)m;
    if (n >= 1 && s[n - 1] == '=')
        got--;
    if (n >= 2 && s[n - 2] == '=')
        got--;
    *len = got;
    return out;
}

char *crypto_base64url(const void *data, size_t len)
{
    char *s = crypto_base64(data, len);
    size_t n = 0;
    for (char *c = s; *c && *c != '='; c++, n++) {
        if (*c == '+')
            *c = '-';
        else if (*c == '/')
            *c = '_';
    }
    s[n] = '\0';
    return s;
}
