/* jwt.c - Kling's API token: a JWT signed HS256 with the account's secret
 * key (JSON through jansson, HMAC and base64url through crypto.c), and the
 * loading of the keys from the environment or a private key file. */
#include "config.h"
#include "jwt.h"
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JWT_KEY_FILE_MAX (64 * 1024)

/* base64url of a JSON value's compact text (caller frees), or NULL. */
static char *jwt_part(json_t *v)
{
    if (!v)
        return NULL;
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!text)
        return NULL;
    char *b = crypto_base64url(text, strlen(text));
    free(text);
    return b;
}

char *jwt_kling(const char *access_key, const char *secret, int64_t now,
                vb_error *e)
{
    if (!access_key || !*access_key || !secret || !*secret) {
        vb_fail(e, VB_ERR_CONFIG, "empty Kling access or secret key");
        return NULL;
    }
    char *head = jwt_part(json_pack("{s:s, s:s}", "alg", "HS256", "typ", "JWT"));
    /* json_pack refuses a key that is not UTF-8. */
    char *claims = jwt_part(json_pack("{s:s, s:I, s:I}", "iss", access_key,
                                      "exp", (json_int_t)(now + JWT_KLING_LIFETIME),
                                      "nbf", (json_int_t)(now - JWT_KLING_NBF_SLACK)));
    if (!head || !claims) {
        free(head);
        free(claims);
        vb_fail(e, VB_ERR_CONFIG, "the Kling access key is not valid UTF-8");
        return NULL;
    }
    char *input = vb_xasprintf("%s.%s", head, claims);
    free(head);
    free(claims);
    unsigned char mac[CRYPTO_SHA256_LEN];
    if (crypto_hmac_sha256(secret, strlen(secret), input, strlen(input), mac, e) != 0) {
        free(input);
        return NULL;
    }
    char *sig = crypto_base64url(mac, sizeof mac);
    char *token = vb_xasprintf("%s.%s", input, sig);
    free(input);
    free(sig);
    return token;
}

void jwt_wipe(char **s)
{
    if (s && *s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

/* true if v holds only printable ASCII (keys are plain tokens; anything
 * else is a copy-paste accident better caught here than as a 401). */
static bool jwt_key_ok(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++)
        if ((unsigned char)*v <= ' ' || (unsigned char)*v >= 127)
            return false;
    return true;
}

static char *jwt_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Parse the key file's text (NUL-terminated, modified in place). api:
 * NULL when a plain API key is not accepted. */
static int jwt_parse_keys(char *text, const char *path, char **api, char **ak, char **sk,
                          vb_error *e)
{
    int line = 0;
    char *next = text;
    while (next) {
        char *s = next;
        next = strchr(s, '\n');
        if (next)
            *next++ = '\0';
        line++;
        s = jwt_trim(s);
        if (!*s || *s == '#' || *s == ';')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return vb_fail(e, VB_ERR_CONFIG,
                           "%s:%d: expected access_key = ... or secret_key = ...", path, line);
        *eq = '\0';
        char *name = jwt_trim(s), *val = jwt_trim(eq + 1);
        size_t vn = strlen(val);
        if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') {
            val[vn - 1] = '\0';
            val++;
        }
        char **dst;
        if (strcmp(name, "access_key") == 0)
            dst = ak;
        else if (strcmp(name, "secret_key") == 0)
            dst = sk;
        else if (api && strcmp(name, "api_key") == 0)
            dst = api;
        else
            return vb_fail(e, VB_ERR_CONFIG, "%s:%d: unknown key (expected %saccess_key or "
                           "secret_key)", path, line, api ? "api_key, " : "");
        if (*dst)
            return vb_fail(e, VB_ERR_CONFIG, "%s:%d: %s given twice", path, line, name);
        if (!jwt_key_ok(val))
            return vb_fail(e, VB_ERR_CONFIG,
                           "%s:%d: %s is empty or holds spaces or control characters",
                           path, line, name);
        *dst = vb_xstrdup(val);
    }
    if (api && *api) {
        /* Two ways to sign in from one file: which one was meant? */
        if (*ak || *sk)
            return vb_fail(e, VB_ERR_CONFIG, "%s: holds api_key and %s: keep one of the two "
                           "ways to sign in", path, *ak ? "access_key" : "secret_key");
        return 0;
    }
    if (!*ak || !*sk)
        return vb_fail(e, VB_ERR_CONFIG, "%s: no %s", path, *ak ? "secret_key" : "access_key");
    return 0;
}

char *jwt_read_private(const char *path, size_t *len, vb_error *e)
{
    /* O_NONBLOCK: a FIFO must be refused, not waited on. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        vb_fail(e, VB_ERR_CONFIG, "key file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *bad = NULL;
    if (fstat(fd, &st) != 0)
        bad = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        bad = "not a regular file";
    else if (st.st_uid != geteuid())
        bad = "owned by another user; it must belong to the user running vbatch";
    else if (st.st_size > JWT_KEY_FILE_MAX)
        bad = "too large for a key file";
    if (!bad && (st.st_mode & 077)) {
        close(fd);
        vb_fail(e, VB_ERR_CONFIG,
                "key file %s: mode %04o lets others read it; it must be readable by "
                "its owner alone (chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
        return NULL;
    }
    if (bad) {
        close(fd);
        vb_fail(e, VB_ERR_CONFIG, "key file %s: %s", path, bad);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = vb_xmalloc(cap);
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            close(fd);
            explicit_bzero(buf, cap);
            free(buf);
            vb_fail(e, VB_ERR_CONFIG, "key file %s: %s", path, strerror(err));
            return NULL;
        }
        if (r == 0 || (n += (size_t)r) == cap - 1)
            break;
    }
    close(fd);
    buf[n] = '\0';
    if (strlen(buf) != n) {
        explicit_bzero(buf, cap);
        free(buf);
        vb_fail(e, VB_ERR_CONFIG, "key file %s: not a text file", path);
        return NULL;
    }
    *len = cap;
    return buf;
}

int jwt_load_credentials(char **api, char **ak, char **sk, const char *key_file, vb_error *e)
{
    if (api)
        *api = NULL;
    *ak = *sk = NULL;
    const char *eapi = api ? getenv("KLING_API_KEY") : NULL;
    if (eapi && *eapi) {
        /* The plain key wins: it needs no clock and no signing. */
        if (!jwt_key_ok(eapi))
            return vb_fail(e, VB_ERR_CONFIG, "KLING_API_KEY holds spaces or control characters");
        *api = vb_xstrdup(eapi);
        return 0;
    }
    const char *eak = getenv("KLING_ACCESS_KEY"), *esk = getenv("KLING_SECRET_KEY");
    bool has_ak = eak && *eak, has_sk = esk && *esk;
    if (has_ak && has_sk) {
        if (!jwt_key_ok(eak) || !jwt_key_ok(esk))
            return vb_fail(e, VB_ERR_CONFIG, "%s holds spaces or control characters",
                           jwt_key_ok(eak) ? "KLING_SECRET_KEY" : "KLING_ACCESS_KEY");
        *ak = vb_xstrdup(eak);
        *sk = vb_xstrdup(esk);
        return 0;
    }
    if (has_ak || has_sk)
        return vb_fail(e, VB_ERR_CONFIG, "%s is set but %s is not: set both, or neither "
                       "to read the keys from a key file",
                       has_ak ? "KLING_ACCESS_KEY" : "KLING_SECRET_KEY",
                       has_ak ? "KLING_SECRET_KEY" : "KLING_ACCESS_KEY");
    if (!key_file || !*key_file)
        return vb_fail(e, VB_ERR_CONFIG, "no Kling API keys: set %sKLING_ACCESS_KEY and "
                       "KLING_SECRET_KEY, or give a key file", api ? "KLING_API_KEY, or " : "");
    size_t cap = 0;
    char *buf = jwt_read_private(key_file, &cap, e);
    if (!buf)
        return -1;
    int rc = jwt_parse_keys(buf, key_file, api, ak, sk, e);
    explicit_bzero(buf, cap);
    free(buf);
    if (rc != 0) {
        if (api)
            jwt_wipe(api);
        jwt_wipe(ak);
        jwt_wipe(sk);
    }
    return rc;
}

int jwt_load_keys(char **ak, char **sk, const char *key_file, vb_error *e)
{
    return jwt_load_credentials(NULL, ak, sk, key_file, e);
}
