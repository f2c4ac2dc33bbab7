/* kling-token.c - a test helper, not a test: prints the Kling API token
 * jwt_kling() makes from the keys jwt_load_keys() finds (environment, else
 * KEY_FILE), so that tests/cli/mock-kling.sh can show the mock server
 * accepts a token made in C.
 *
 *   kling-token [KEY_FILE [NOW]]     NOW: Unix time (default: the clock) */
#include "config.h"
#include "jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: kling-token [KEY_FILE [NOW]]\n");
        return 2;
    }
    char *ak = NULL, *sk = NULL;
    vb_error e = {0};
    if (jwt_load_keys(&ak, &sk, argc > 1 && *argv[1] ? argv[1] : NULL, &e) != 0) {
        fprintf(stderr, "kling-token: %s\n", e.msg);
        return 2;
    }
    int64_t now = argc > 2 ? strtoll(argv[2], NULL, 10) : (int64_t)time(NULL);
    char *t = jwt_kling(ak, sk, now, &e);
    jwt_wipe(&ak);
    jwt_wipe(&sk);
    if (!t) {
        fprintf(stderr, "kling-token: %s\n", e.msg);
        return 2;
    }
    puts(t);
    free(t);
    return 0;
}
