/* fuzz-layout.c - names in the output folder (layout.c): every input
 * path must give a folder or file name that stays in OUT and that the
 * file systems vbatch writes to accept, and one batch never hands the
 * same folder (or one equal but for case) to two items.
 *
 * Input: records separated by '\n'; byte 0 of a record picks the call
 * (unique name, reserve, claim, safe file), the rest is its argument.
 * Each name handed out is checked against layout.h's promises with
 * independent code. */
#include "config.h"
#include "fuzz.h"
#include "layout.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HELD 512

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    return 0;
}

/* A name of one path component that nothing can turn into a path out
 * of OUT or a hidden file, an option, or an invalid file name. */
static void check_component(const char *what, const char *in, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0)
        fuzz_fail("%s(\"%s\") is empty", what, in);
    if (n > max)
        fuzz_fail("%s(\"%s\") is %zu bytes (at most %zu)", what, in, n, max);
    if (s[0] == '.' || s[0] == '-')
        fuzz_fail("%s(\"%s\") = \"%s\" starts with '%c'", what, in, s, s[0]);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || strchr("/\\:*?\"<>| ", *p))
            fuzz_fail("%s(\"%s\") = \"%s\" holds byte 0x%02x", what, in, s, *p);
    if (!fuzz_valid_utf8(s))
        fuzz_fail("%s(\"%s\") = \"%s\" is not valid UTF-8", what, in, s);
}

static bool reserved(const char *s)
{
    return strcasecmp(s, "summary") == 0 || strcasecmp(s, "publish") == 0 ||
           strncasecmp(s, ".vbatch", 7) == 0;
}

typedef struct held {
    char *name[MAX_HELD];
    bool given[MAX_HELD];      /* handed to an item (not only reserved) */
    size_t n;
} held;

static long held_find(const held *h, const char *s)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], s) == 0)
            return (long)i;
    return -1;
}

static void held_add(held *h, const char *s, bool given)
{
    if (h->n < MAX_HELD) {
        h->name[h->n] = strdup(s);
        h->given[h->n++] = given;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    layout_names *names = layout_names_new();
    held h = { .n = 0 };
    size_t ops = 0;
    for (char *rec = text; rec < text + size && ops < MAX_HELD; ops++) {
        char *nl = memchr(rec, '\n', (size_t)(text + size - rec));
        if (nl)
            *nl = '\0';
        int op = (unsigned char)rec[0] % 4;
        const char *arg = rec[0] ? rec + 1 : rec;
        if (op == 0) {
            char *safe = layout_safe_name(arg);
            check_component("layout_safe_name", arg, safe, 120);
            if (reserved(safe))
                fuzz_fail("layout_safe_name(\"%s\") = \"%s\" is reserved", arg, safe);
            char *u = layout_unique_name(names, arg);
            /* The safe name, or it with "-N" added. */
            check_component("layout_unique_name", arg, u, 120 + 11);
            size_t sn = strlen(safe);
            if (strncmp(u, safe, sn) != 0 ||
                (u[sn] && (u[sn] != '-' || strspn(u + sn + 1, "0123456789") !=
                                               strlen(u + sn + 1) || !u[sn + 1])))
                fuzz_fail("layout_unique_name(\"%s\") = \"%s\" is not \"%s\"[-N]", arg, u,
                          safe);
            long k = held_find(&h, u);
            if (k >= 0)
                fuzz_fail("layout_unique_name(\"%s\") = \"%s\" is already held as \"%s\"",
                          arg, u, h.name[k]);
            held_add(&h, u, true);
            free(u);
            free(safe);
        } else if (op == 1) {
            layout_reserve(names, arg);
            if (held_find(&h, arg) < 0)
                held_add(&h, arg, false);
        } else if (op == 2) {
            long k = held_find(&h, arg);
            bool want = k < 0 || (!h.given[k] && strcmp(h.name[k], arg) == 0);
            bool got = layout_claim(names, arg);
            if (got != want)
                fuzz_fail("layout_claim(\"%s\") = %d, expected %d", arg, got, want);
            if (got) {
                if (k < 0)
                    held_add(&h, arg, true);
                else
                    h.given[k] = true;
            }
        } else {
            char *f = layout_safe_file(arg);
            check_component("layout_safe_file", arg, f, 255);
            free(f);
        }
        if (!nl)
            break;
        rec = nl + 1;
    }
    for (size_t i = 0; i < h.n; i++)
        free(h.name[i]);
    layout_names_free(&names);
    free(text);
    return 0;
}
