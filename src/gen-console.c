/* gen-console.c - how a `vbatch generate` run (or the resume of one)
 * ends on the terminal: the batch's end as `process` says it
 * (batch-console.c), then what only generation knows. The engine
 * (generate.c) prints none of it. */
#include "config.h"
#include "generate.h"
#include "msg.h"

int generate_console_finish(generate_result *res, const char *out_dir)
{
    if (res->balance_note[0])
        msg_warn("%s", res->balance_note);
    if (!res->started) {
        msg_error("%s", res->why);
        generate_end(res);
        return generate_exit_status(res);
    }
    /* Said before waiting for the network thread, which may still be
     * finishing what was in flight; ends the process when the batch
     * engine says so. */
    batch_console_finish(&res->batch, out_dir);
    generate_end(res);
    if (res->journal_failed)
        msg_error("%s", res->journal_why);
    if (res->balance_checked)
        msg_verbose("%s: before the first submission the account had %g units left for "
                    "%g to submit", res->batch_id, res->balance_left, res->balance_need);
    msg_verbose("%s: %lld creates, %lld polls, %lld lookups, %lld downloads, %lld retries;"
                " %lld slots freed by the clock, %lld of them too early",
                res->batch_id, (long long)res->creates, (long long)res->polls,
                (long long)res->lookups, (long long)res->downloads, (long long)res->retries,
                (long long)res->released, (long long)res->mispredicted);
    return generate_exit_status(res);
}
