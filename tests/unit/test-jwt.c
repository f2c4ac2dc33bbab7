/* test-jwt.c - crypto.c and jwt.c against known answers: HMAC-SHA256 (RFC
 * 4231), SHA-256 (FIPS 180-2), base64 (both ways) and base64url at every padding
 * length, a whole Kling token; and the key loading rules (environment
 * first, key file readable by its owner alone, secrets kept out of error
 * messages); notify.c's item message and its sender dropping rather
 * than blocking. */
#include "config.h"
#include "crypto.h"
#include "jwt.h"
#include "notify.h"
#include "preset.h"
#include "report.h"
#include "util.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *hex(const unsigned char *p, size_t n)
{
    static char buf[2 * 64 + 1];
    for (size_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", p[i]);
    buf[2 * n] = '\0';
    return buf;
}

static void check_hmac(const void *key, size_t kn, const void *data, size_t dn,
                       const char *want)
{
    unsigned char mac[CRYPTO_SHA256_LEN];
    vb_error e = {0};
    CHECK_INT(crypto_hmac_sha256(key, kn, data, dn, mac, &e), 0);
    CHECK_STR(hex(mac, sizeof mac), want);
}

static void test_hmac(void)
{
    unsigned char k[131], d[50];
    /* RFC 4231 test case 1 */
    memset(k, 0x0b, 20);
    check_hmac(k, 20, "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* 2: a key shorter than the output */
    check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* 3: 0xaa key, 0xdd data */
    memset(k, 0xaa, 20);
    memset(d, 0xdd, 50);
    check_hmac(k, 20, d, 50,
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    /* 4: key 0x01..0x19 */
    for (int i = 0; i < 25; i++)
        k[i] = (unsigned char)(i + 1);
    memset(d, 0xcd, 50);
    check_hmac(k, 25, d, 50,
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    /* 6 and 7: a key longer than the block size (hashed first) */
    memset(k, 0xaa, 131);
    const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(k, 131, t6, strlen(t6),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *t7 = "This is a test using a larger than block-size key and a larger "
                     "than block-size data. The key needs to be hashed before being "
                     "used by the HMAC algorithm.";
    check_hmac(k, 131, t7, strlen(t7),
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    /* Empty key and data: Python's hmac.new(b"", b"", sha256) */
    check_hmac("", 0, "", 0,
               "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_sha256(void)
{
    char h[CRYPTO_SHA256_HEX_LEN + 1];
    vb_error e = {0};
    CHECK_INT(crypto_sha256_hex("abc", 3, h, &e), 0);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_INT(crypto_sha256_hex("", 0, h, &e), 0);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK_INT(crypto_sha256_hex(two, strlen(two), h, &e), 0);
    CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void check_b64(const char *in, size_t n, const char *std, const char *url)
{
    char *a = crypto_base64(in, n), *b = crypto_base64url(in, n);
    CHECK_STR(a, std);
    CHECK_STR(b, url);
    size_t m = 99;
    unsigned char *d = crypto_base64_decode(std, &m);
    CHECK(d && m == n && memcmp(d, in, n) == 0);
    free(d);
    free(a);
    free(b);
}

static void test_base64_bad(void)
{
    size_t n;
    static const char *const bad[] = { "Zg=", "Z===", "Zm=v", "Zm9v-_8=", "Zm9v\n", "Zg==Zg==" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(crypto_base64_decode(bad[i], &n) == NULL);
}

/* The webhook's signature (notify.c), as Python computes it:
 *   base64.b64encode(hmac.new(b"notify-key", b'msg_1.1700000000.{"a":1}',
 *                             hashlib.sha256).digest()) */
static void test_notify_signature(void)
{
    vb_error e = {0};
    char *sig = notify_signature("notify-key", 10, "msg_1", 1700000000, "{\"a\":1}", &e);
    CHECK_STR(sig, "v1,mLe24ZsKV/5/27esCUjbEu6xFdKfbour9QrDQegh8Og=");
    free(sig);
}

/* An item's message: the source as the reports show it (no
 * credentials, no query), the error only when it failed. */
static void test_notify_item_body(void)
{
    item_record r = { .seq = 7, .source = "https://user:pw@example.com/a.mp4?sig=XYZ",
                      .status = ITEM_FAILED, .error_stage = STAGE_FETCH,
                      .error = "HTTP 404", .attempts = 2 };
    char *b = notify_item_body("batch_x", &r, 1700000000);
    CHECK(strstr(b, "\"item.completed\"") != NULL);
    CHECK(strstr(b, "\"https://example.com/a.mp4\"") != NULL);
    CHECK(strstr(b, "pw") == NULL && strstr(b, "XYZ") == NULL);
    CHECK(strstr(b, "\"error_stage\": \"fetch\"") != NULL);
    CHECK(strstr(b, "\"seq\": 7") != NULL);
    free(b);
    r = (item_record){ .seq = 1, .source = "in/a.mp4", .folder = "a", .status = ITEM_DONE };
    b = notify_item_body("batch_x", &r, 1700000000);
    CHECK(strstr(b, "\"error") == NULL);
    CHECK(strstr(b, "\"status\": \"done\"") != NULL);
    free(b);
}

/* A sender that cannot keep up drops instead of blocking: 20 messages
 * pushed at once to a receiver that refuses connections, a queue of 2
 * and 4 in flight: pushing takes no time, at least 14 are dropped, the
 * rest given up within the bound (2 attempts x 1 s and 1 s between). */
static void test_notify_items_drop(void)
{
    vb_config cfg;
    preset_defaults(&cfg);
    free(cfg.notify.url);
    cfg.notify.url = strdup("http://127.0.0.1:1/hook");
    cfg.notify.attempts = 2;
    cfg.notify.timeout = 1;
    cfg.notify.items = true;
    unsetenv("VBATCH_NOTIFY_SECRET");
    vb_error e = {0};
    notify_items *q = notify_items_start(&cfg, "batch_x", 1, 2, &e);
    CHECK(q != NULL);
    if (!q) {
        preset_free_contents(&cfg);
        return;
    }
    item_record r = { .source = "in/a.mp4", .status = ITEM_DONE };
    double t0 = util_now();
    int dropped = 0;
    for (int i = 0; i < 20; i++) {
        r.seq = i + 1;
        dropped += !notify_items_push(q, &r);
    }
    CHECK(util_now() - t0 < 0.5);
    CHECK(dropped >= 20 - 2 - NOTIFY_ITEMS_IN_FLIGHT);
    notify_items_counts c;
    t0 = util_now();
    notify_items_finish(&q, &c);
    CHECK(q == NULL);
    CHECK(util_now() - t0 < 3 + 1);
    CHECK_INT(c.dropped, dropped);
    CHECK_INT(c.queued + c.dropped, 20);
    CHECK_INT(c.delivered, 0);
    CHECK_INT(c.failed, c.queued);
    CHECK(strstr(c.why, "127.0.0.1:1") == NULL && strstr(c.why, "/hook") == NULL);
    preset_free_contents(&cfg);
}

static void test_base64(void)
{
    /* RFC 4648 section 10, every padding length */
    check_b64("", 0, "", "");
    check_b64("f", 1, "Zg==", "Zg");
    check_b64("fo", 2, "Zm8=", "Zm8");
    check_b64("foo", 3, "Zm9v", "Zm9v");
    check_b64("foob", 4, "Zm9vYg==", "Zm9vYg");
    check_b64("fooba", 5, "Zm9vYmE=", "Zm9vYmE");
    check_b64("foobar", 6, "Zm9vYmFy", "Zm9vYmFy");
    /* The two characters that differ, with and without padding */
    check_b64("\xfb\xff", 2, "+/8=", "-_8");
    check_b64("\xfb\xff\xbf", 3, "+/+/", "-_-_");
    check_b64("\xff\xff\xfe\xff", 4, "///+/w==", "___-_w");
    /* NUL bytes are data */
    check_b64("\0\0\0\0", 4, "AAAAAA==", "AAAAAA");

    /* Longer than one 3 MiB encoding chunk: same as one pass would give,
     * checked through its length, its ends and a round trip of a slice. */
    size_t n = 3 * 1024 * 1024 + 5;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 7 + 3);
    char *s = crypto_base64(big, n);
    CHECK_INT(strlen(s), 4 * ((n + 2) / 3));
    CHECK(s[strlen(s) - 1] == '=' && s[strlen(s) - 2] != '=');
    char *head = crypto_base64(big, 3 * 1024 * 1024);
    CHECK(strncmp(s, head, strlen(head)) == 0);
    char *tail = crypto_base64(big + 3 * 1024 * 1024, 5);
    CHECK_STR(s + strlen(head), tail);
    free(head);
    free(tail);
    free(s);
    free(big);
}

static void test_token(void)
{
    vb_error e = {0};
    /* Computed with Python's json, hmac, hashlib and base64 modules:
     *   b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
     *   h = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
     *   p = b64u(json.dumps({"iss": ak, "exp": now + 1800, "nbf": now - 5},
     *                       separators=(",", ":")).encode())
     *   s = b64u(hmac.new(sk.encode(), (h + "." + p).encode(), hashlib.sha256).digest())
     * with ak = "test-access-key", sk = "test-secret-key", now = 1700000000;
     * PyJWT's jwt.encode gives the same bytes. */
    char *t = jwt_kling("test-access-key", "test-secret-key", 1700000000, &e);
    CHECK_STR(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                 "eyJpc3MiOiJ0ZXN0LWFjY2Vzcy1rZXkiLCJleHAiOjE3MDAwMDE4MDAsIm5iZiI6MTY5OTk5OTk5NX0."
                 "J29Lwx43sKb6uBJFXUNKg2nVYdfHfu4z9pbvmk9BFeQ");
    free(t);
    /* now = 0: a negative nbf, the same way */
    t = jwt_kling("AK", "SK", 0, &e);
    CHECK_STR(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJBSyIsImV4cCI6MTgwMCwibmJmIjotNX0."
                 "2bzI0O2D11GWB7THQmpjcf7sPhHpSdqF2TzRTUe8Xug");
    free(t);
    /* Empty keys and an access key that is not UTF-8 are refused. */
    CHECK(jwt_kling("", "SK", 0, &e) == NULL);
    CHECK_INT(e.code, VB_ERR_CONFIG);
    CHECK(jwt_kling("AK", "", 0, &e) == NULL);
    CHECK(jwt_kling("A\xff", "SK", 0, &e) == NULL);
}

/* write_file PATH MODE TEXT */
static void write_file(const char *path, int mode, const char *text)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

/* Load from path; expect rc; on failure, the message must name the file
 * and hold no secret. */
static int load(const char *path, char **ak, char **sk, vb_error *e)
{
    vb_error_clear(e);
    int rc = jwt_load_keys(ak, sk, path, e);
    if (rc != 0) {
        CHECK(*ak == NULL && *sk == NULL);
        CHECK(strstr(e->msg, "S3CRET") == NULL);
        CHECK(strstr(e->msg, "AKEY") == NULL);
        CHECK_INT(e->code, VB_ERR_CONFIG);
    }
    return rc;
}

static void test_keys(const char *dir)
{
    char path[4096], *ak = NULL, *sk = NULL;
    vb_error e = {0};
    snprintf(path, sizeof path, "%s/test-jwt-keys.txt", dir);
    unsetenv("KLING_ACCESS_KEY");
    unsetenv("KLING_SECRET_KEY");

    /* A private file, with comments, blanks, spaces and quotes */
    write_file(path, 0600, "# Kling keys\n\n; for tests\n  secret_key = \"S3CRET-1\"  \r\n"
                           "access_key=AKEY-1\n");
    CHECK_INT(load(path, &ak, &sk, &e), 0);
    CHECK_STR(ak, "AKEY-1");
    CHECK_STR(sk, "S3CRET-1");
    jwt_wipe(&ak);
    jwt_wipe(&sk);
    CHECK(ak == NULL && sk == NULL);
    /* 0400 is private too */
    chmod(path, 0400);
    CHECK_INT(load(path, &ak, &sk, &e), 0);
    jwt_wipe(&ak);
    jwt_wipe(&sk);

    /* Readable or writable by the group or others: refused, with a hint */
    static const int open_modes[] = {0644, 0640, 0604, 0660, 0602, 0601, 0610};
    for (size_t i = 0; i < VB_ARRAY_LEN(open_modes); i++) {
        chmod(path, (mode_t)open_modes[i]);
        CHECK_INT(load(path, &ak, &sk, &e), -1);
        CHECK(strstr(e.msg, path) != NULL);
        CHECK(strstr(e.msg, "chmod 600") != NULL);
    }
    char mode[16];
    chmod(path, 0644);
    load(path, &ak, &sk, &e);
    snprintf(mode, sizeof mode, "mode %04o", 0644);
    CHECK(strstr(e.msg, mode) != NULL);

    /* The environment wins over the file, even a bad one */
    setenv("KLING_ACCESS_KEY", "AKEY-env", 1);
    setenv("KLING_SECRET_KEY", "S3CRET-env", 1);
    CHECK_INT(load(path, &ak, &sk, &e), 0);
    CHECK_STR(ak, "AKEY-env");
    CHECK_STR(sk, "S3CRET-env");
    jwt_wipe(&ak);
    jwt_wipe(&sk);
    CHECK_INT(load(NULL, &ak, &sk, &e), 0);
    jwt_wipe(&ak);
    jwt_wipe(&sk);
    /* Only one of the two: refused, naming the missing one */
    unsetenv("KLING_ACCESS_KEY");
    CHECK_INT(load(NULL, &ak, &sk, &e), -1);
    CHECK(strstr(e.msg, "KLING_ACCESS_KEY is not") != NULL);
    setenv("KLING_ACCESS_KEY", "AKEY with space", 1);
    CHECK_INT(load(NULL, &ak, &sk, &e), -1);
    CHECK(strstr(e.msg, "KLING_ACCESS_KEY") != NULL);
    unsetenv("KLING_ACCESS_KEY");
    unsetenv("KLING_SECRET_KEY");
    /* Nothing at all */
    CHECK_INT(load(NULL, &ak, &sk, &e), -1);
    CHECK(strstr(e.msg, "KLING_SECRET_KEY") != NULL);

    /* Bad contents: file:line, and never the value */
    static const struct { const char *text; const char *want; } bad[] = {
        {"access_key = AKEY-1\n", "no secret_key"},
        {"secret_key = S3CRET-1\n", "no access_key"},
        {"access_key = AKEY-1\nsecret_key S3CRET-1\n", ":2: expected"},
        {"access_key = AKEY-1\nsecret = S3CRET-1\n", ":2: unknown key"},
        {"access_key = AKEY-1\nsecret_key = S3CRET-1\nsecret_key = S3CRET-2\n", ":3: secret_key given twice"},
        {"access_key = AKEY-1\nsecret_key = S3CRET 1\n", ":2: secret_key is empty or holds"},
        {"access_key = AKEY-1\nsecret_key =\n", ":2: secret_key is empty"},
        {"S3CRET-1\nAKEY-1\n", ":1: expected"},
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(bad); i++) {
        write_file(path, 0600, bad[i].text);
        CHECK_INT(load(path, &ak, &sk, &e), -1);
        if (!strstr(e.msg, bad[i].want))
            fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, e.msg, bad[i].want);
        CHECK(strstr(e.msg, bad[i].want) != NULL);
    }
    /* Not a regular file, or missing */
    CHECK_INT(load(dir, &ak, &sk, &e), -1);
    CHECK(strstr(e.msg, "not a regular file") != NULL);
    unlink(path);
    CHECK_INT(load(path, &ak, &sk, &e), -1);
    CHECK(strstr(e.msg, path) != NULL);
    /* A FIFO is refused without blocking */
    if (mkfifo(path, 0600) == 0) {
        CHECK_INT(load(path, &ak, &sk, &e), -1);
        CHECK(strstr(e.msg, "not a regular file") != NULL);
        unlink(path);
    }
}

/* A plain API key (KLING_API_KEY, or api_key = in the file) or the pair:
 * exactly one way is taken, and only where the caller accepts a key. */
static void test_api_key(const char *dir)
{
    char path[4096], *api = NULL, *ak = NULL, *sk = NULL;
    vb_error e = {0};
    snprintf(path, sizeof path, "%s/test-jwt-api.txt", dir);
    unsetenv("KLING_API_KEY");
    unsetenv("KLING_ACCESS_KEY");
    unsetenv("KLING_SECRET_KEY");
    write_file(path, 0600, "# plain key\napi_key = \"APIKEY-1\"\n");
    CHECK_INT(jwt_load_credentials(&api, &ak, &sk, path, &e), 0);
    CHECK_STR(api, "APIKEY-1");
    CHECK(ak == NULL && sk == NULL);
    jwt_wipe(&api);
    /* the pair's loader does not take it */
    CHECK_INT(jwt_load_keys(&ak, &sk, path, &e), -1);
    CHECK(strstr(e.msg, ":2: unknown key") != NULL);
    /* both ways in one file: which was meant? */
    write_file(path, 0600, "api_key = APIKEY-1\naccess_key = AKEY-1\nsecret_key = S3CRET-1\n");
    CHECK_INT(jwt_load_credentials(&api, &ak, &sk, path, &e), -1);
    CHECK(strstr(e.msg, "holds api_key and access_key") != NULL);
    CHECK(strstr(e.msg, "APIKEY") == NULL && strstr(e.msg, "S3CRET") == NULL);
    CHECK(api == NULL && ak == NULL && sk == NULL);
    /* a mode others can read is refused as for the pair */
    write_file(path, 0644, "api_key = APIKEY-1\n");
    CHECK_INT(jwt_load_credentials(&api, &ak, &sk, path, &e), -1);
    CHECK(strstr(e.msg, "chmod 600") != NULL);
    /* the environment's key wins over the pair and the file */
    setenv("KLING_API_KEY", "APIKEY-env", 1);
    setenv("KLING_ACCESS_KEY", "AKEY-env", 1);
    setenv("KLING_SECRET_KEY", "S3CRET-env", 1);
    CHECK_INT(jwt_load_credentials(&api, &ak, &sk, path, &e), 0);
    CHECK_STR(api, "APIKEY-env");
    CHECK(ak == NULL && sk == NULL);
    jwt_wipe(&api);
    /* ... but not for a caller that signs JWTs only */
    CHECK_INT(jwt_load_keys(&ak, &sk, NULL, &e), 0);
    CHECK_STR(ak, "AKEY-env");
    jwt_wipe(&ak);
    jwt_wipe(&sk);
    setenv("KLING_API_KEY", "APIKEY with space", 1);
    CHECK_INT(jwt_load_credentials(&api, &ak, &sk, NULL, &e), -1);
    CHECK(strstr(e.msg, "KLING_API_KEY holds") != NULL);
    CHECK(strstr(e.msg, "APIKEY with") == NULL);
    unsetenv("KLING_API_KEY");
    unsetenv("KLING_ACCESS_KEY");
    unsetenv("KLING_SECRET_KEY");
    CHECK_INT(jwt_load_credentials(&api, &ak, &sk, NULL, &e), -1);
    CHECK(strstr(e.msg, "KLING_API_KEY, or KLING_ACCESS_KEY") != NULL);
    unlink(path);
}

int main(void)
{
    test_hmac();
    test_sha256();
    test_base64();
    test_base64_bad();
    test_notify_signature();
    test_notify_item_body();
    test_notify_items_drop();
    test_token();
    char dir[] = "/tmp/test-jwt-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
    } else {
        test_keys(dir);
        test_api_key(dir);
        rmdir(dir);
    }
    return check_result("test-jwt");
}
