/* test-threads.c - the decoder threads policy: --jobs N keeps about
 * min(N, cores) cores busy; one thread per item while every worker is
 * busy; the whole budget for an item alone or a long file. */
#include "config.h"
#include "batch.h"
#include "check.h"

#include <math.h>

int main(void)
{
    /* --jobs 1 on 2 cores: one core, whatever is left or how long. */
    CHECK(batch_decode_threads(1, 2, 40, false, true, 10) == 1);
    CHECK(batch_decode_threads(1, 2, 1, true, true, 10) == 1);
    CHECK(batch_decode_threads(1, 2, 1, true, true, 600) == 1);
    CHECK(batch_decode_threads(1, 2, 1, true, false, NAN) == 1);
    /* --jobs 2 on 2 cores: one each while both work; the last item (or
     * a long file) gets libav's own pool (0). */
    CHECK(batch_decode_threads(2, 2, 40, false, true, 10) == 1);
    CHECK(batch_decode_threads(2, 2, 5, true, true, 10) == 1);
    CHECK(batch_decode_threads(2, 2, 1, true, true, 10) == 0);
    CHECK(batch_decode_threads(2, 2, 40, false, true, 120) == 0);
    CHECK(batch_decode_threads(2, 2, 40, false, true, NAN) == 1);
    /* Thumbnails take their share, never 0. */
    CHECK(batch_decode_threads(2, 2, 1, true, false, NAN) == 2);
    /* --jobs 4 on 16 cores: 4 cores, one each while 4 items run, 2 each
     * for the last two, 4 for the last one. */
    CHECK(batch_decode_threads(4, 16, 100, false, true, 10) == 1);
    CHECK(batch_decode_threads(4, 16, 2, true, true, 10) == 2);
    CHECK(batch_decode_threads(4, 16, 1, true, true, 10) == 4);
    CHECK(batch_decode_threads(4, 16, 100, false, true, 300) == 4);
    /* Not closed: more items may come, so the workers all count. */
    CHECK(batch_decode_threads(4, 16, 1, false, true, 10) == 1);
    /* Default --jobs (the cores): all of them for the last item. */
    CHECK(batch_decode_threads(16, 16, 1, true, true, 10) == 0);
    CHECK(batch_decode_threads(16, 16, 4, true, true, 10) == 4);
    /* More workers than cores: never below one thread. */
    CHECK(batch_decode_threads(8, 2, 100, false, true, 10) == 1);
    CHECK(batch_decode_threads(8, 2, 100, false, false, NAN) == 1);
    CHECK(batch_decode_threads(8, 2, 1, true, true, 10) == 0);
    return check_result("test-threads");
}
