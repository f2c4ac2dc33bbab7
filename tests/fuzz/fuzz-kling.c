/* fuzz-kling.c - the providers' API replies (provider-kling.c's and
 * provider-fal.c's parse_reply), as the generate engine reads them after
 * a create, a query, a result or a cancel call.
 *
 * Input: byte 0 picks the HTTP status (a table of the statuses the API
 * and its proxies send, or any value), byte 1 bit 0 says whether the
 * transfer failed (libcurl's code), the rest is the body, passed without
 * a terminating NUL as the engine passes it. Checked: the verdict and
 * status are values of their enums, a verdict other than OK says why,
 * OK carries a task id, a failed transfer is transient. */
#include "config.h"
#include "fuzz.h"
#include "provider.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 201, 202, 204, 301, 400, 401, 403, 404, 408,
                                     409, 413, 429, 500, 502, 503, 504, 0 };
    if (size < 2)
        return 0;
    long n = (long)(sizeof statuses / sizeof statuses[0]);
    long http = data[0] < n ? statuses[data[0]] : (long)data[0] * 7 - 600;
    int curl_code = data[1] & 1 ? 28 : 0;  /* CURLE_OPERATION_TIMEDOUT */
    size_t len = size - 2;
    /* An exact-size copy: ASan sees any read past the reply's end. */
    char *body = len ? malloc(len) : NULL;
    if (len)
        memcpy(body, data + 2, len);

    provider_reply r = {0};
    /* The reply of a create or of a query, as the byte says. */
    int call = data[1] & 2 ? PC_QUERY : PC_CREATE;
    provider_kling.parse_reply(call, http, curl_code, body, len, &r);
    if (r.verdict < PV_OK || r.verdict > PV_NOT_SENT)
        fuzz_fail("verdict %d out of range", r.verdict);
    if (r.status < PT_UNKNOWN || r.status > PT_FAILED)
        fuzz_fail("status %d out of range", r.status);
    if (memchr(r.msg, '\0', sizeof r.msg) == NULL)
        fuzz_fail("message not terminated");
    if (r.verdict != PV_OK && !r.msg[0])
        fuzz_fail("verdict %d without a message", r.verdict);
    if (r.verdict == PV_OK && !r.task_id)
        fuzz_fail("OK without a task id");
    if (curl_code && r.verdict != PV_TRANSIENT)
        fuzz_fail("failed transfer read as verdict %d", r.verdict);
    provider_reply_clear(&r);

    /* fal.ai's queue: any of its four calls (bits 1-2). Its replies need
     * not name a task (a status or a result call), so the checks are the
     * ones every reply keeps. */
    static const int fal_calls[] = { PC_CREATE, PC_QUERY, PC_RESULT, PC_CANCEL };
    provider_reply f = {0};
    provider_fal.parse_reply(fal_calls[(data[1] >> 1) & 3], http, curl_code, body, len, &f);
    if (f.verdict < PV_OK || f.verdict > PV_NOT_SENT)
        fuzz_fail("fal: verdict %d out of range", f.verdict);
    if (f.status < PT_UNKNOWN || f.status > PT_FAILED)
        fuzz_fail("fal: status %d out of range", f.status);
    if (memchr(f.msg, '\0', sizeof f.msg) == NULL)
        fuzz_fail("fal: message not terminated");
    if (f.verdict != PV_OK && !f.msg[0])
        fuzz_fail("fal: verdict %d without a message", f.verdict);
    if (curl_code && f.verdict == PV_OK)
        fuzz_fail("fal: a failed transfer read as OK");
    provider_reply_clear(&f);
    free(body);
    return 0;
}
