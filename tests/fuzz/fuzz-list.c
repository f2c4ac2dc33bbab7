/* fuzz-list.c - --from-list files (scan.c's list reading) and what
 * resuming does with their URL lines (relist.c: the scanner in URLs-only
 * mode and fetch_display_url), then the item folder names batch.c
 * derives from each entry (layout_unique_name).
 *
 * The list is written to the scratch folder and read from a small tree
 * beside it (the working folder): clips matching the default patterns,
 * a sub-folder, hidden files, a symbolic link loop, a dangling link and
 * a FIFO, which a list line may name but nothing may open. Lines that
 * could leave the tree (a "..", an absolute path) would walk the host's
 * file system: such inputs are read in URLs-only mode alone.
 *
 * Checked: every entry has a path and a name, an error has a message, a
 * URL entry is an http(s) URL without surrounding blanks, and its
 * display form carries no credentials, query string, fragment or
 * control character. */
#include "config.h"
#include "fuzz.h"
#include "fetch.h"
#include "layout.h"
#include "preset.h"
#include "scan.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRIES 10000

static char *list_path;
static vb_config cfg;      /* for the process: its input section is used */

static void touch(const char *name)
{
    fuzz_write(name, "x", 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    list_path = fuzz_path("list.txt");
    char *tree = fuzz_path("tree");
    if (mkdir(tree, 0700) != 0 || chdir(tree) != 0)
        fuzz_fail("cannot make %s", tree);
    free(tree);
    mkdir("sub", 0700);
    mkdir("sub/deep", 0700);
    mkdir("empty", 0700);
    touch("a.mp4");
    touch("b.MOV");
    touch("notes.txt");
    touch(".hidden.mp4");
    touch("sub/c.mkv");
    touch("sub/deep/d.webm");
    touch("with space.mp4");
    if (symlink(".", "loop") != 0 || symlink("missing.mp4", "dangling.mp4") != 0 ||
        mkfifo("fifo.mp4", 0600) != 0)
        fuzz_fail("cannot make the tree's links and FIFO");
    preset_defaults(&cfg);
    cfg.input.recursive = true;
    return 0;
}

/* Could a line of the list name something outside the tree? */
static bool may_leave_tree(const uint8_t *data, size_t size)
{
    if (memmem(data, size, "..", 2))
        return true;
    bool start = true;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n') {
            start = true;
        } else if (start && !isspace(data[i])) {
            if (data[i] == '/')
                return true;
            start = false;
        }
    }
    return false;
}

static void check_url(const char *url)
{
    if (!util_is_url(url))
        fuzz_fail("URL entry \"%s\" is not http(s)", url);
    size_t n = strlen(url);
    if (n == 0 || isspace((unsigned char)url[0]) || isspace((unsigned char)url[n - 1]))
        fuzz_fail("URL entry \"%s\" keeps blanks", url);
    char *d = fetch_display_url(url);
    bool ctl = false;
    /* Bytes the display shows as '?' (msg_printable: controls, C1
     * controls, invalid UTF-8): a '?' of theirs is no query. */
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p >= 0x80)
            ctl = true;
    for (const unsigned char *p = (const unsigned char *)d; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '#' || (*p == '?' && !ctl))
            fuzz_fail("display URL \"%s\" of \"%s\" holds '%c'", d, url, *p);
    const char *host = strstr(d, "://");
    if (!host || strcspn(host + 3, "/") > strcspn(host + 3, "@"))
        fuzz_fail("display URL \"%s\" of \"%s\" keeps credentials", d, url);
    free(d);
}

static void scan_all(bool urls_only)
{
    scanner *s = scan_new(&cfg.input);
    if (urls_only)
        scan_urls_only(s);
    scan_add_list(s, list_path);
    layout_names *names = layout_names_new();
    scan_entry en;
    vb_error e = {0};
    int got;
    for (int k = 0; k < MAX_ENTRIES && (got = scan_next(s, &en, &e)) != 0; k++) {
        if (got < 0) {
            /* scan.h: a NUL byte or a read error ends the list, once,
             * with a message; then nothing more comes. */
            if (!e.msg[0])
                fuzz_fail("scan_next failed without a message");
            if (scan_next(s, &en, &e) != 0)
                fuzz_fail("the list went on after it ended with: %s", e.msg);
            break;
        }
        if (!en.path || !en.rel)
            fuzz_fail("entry without %s", en.path ? "a name" : "a path");
        if (en.error && (!en.errmsg || !*en.errmsg))
            fuzz_fail("entry %s: error %d without a message", en.path, en.error);
        if (en.is_url)
            check_url(en.path);
        else if (urls_only)
            fuzz_fail("URLs only, but %s was given", en.path);
        char *folder = layout_unique_name(names, en.rel);
        free(folder);
        scan_entry_clear(&en);
    }
    layout_names_free(&names);
    scan_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(list_path, data, size);
    scan_all(true);
    if (!may_leave_tree(data, size))
        scan_all(false);
    return 0;
}
