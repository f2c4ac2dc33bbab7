/* fuzz-preset.c - INI presets and --config files (preset.c over inih):
 * the text is written to a file and loaded with preset_load_file on top
 * of the built-in defaults, as `--config FILE` does; `inherit` may name
 * the shipped presets (VBATCH_PRESET_DIR: the source tree's presets/) or
 * a file next to it (the input itself: a cycle).
 *
 * Checked: a load that fails says why with a configuration error and
 * leaves the configuration as it was (a layer is kept only if it loaded
 * cleanly); the settings, loaded or not, can be written out. */
#include "config.h"
#include "fuzz.h"
#include "preset.h"
#include "writer.h"

#include <stdlib.h>
#include <string.h>

static char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    path = fuzz_path("fuzz.ini");
    return 0;
}

static char *settings(const vb_config *c)
{
    writer *w = writer_new(WRITER_JSON);
    writer_begin_object(w, NULL);
    preset_write(c, w);
    writer_end_object(w);
    char *s = writer_finish(w, NULL);
    writer_free(&w);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(path, data, size);
    vb_config c;
    preset_defaults(&c);
    char *before = settings(&c);
    vb_error e = {0};
    int rc = preset_load_file(&c, path, &e);
    char *after = settings(&c);
    if (rc != 0) {
        if (!e.msg[0])
            fuzz_fail("preset_load_file failed without a message");
        if (e.code != VB_ERR_CONFIG)
            fuzz_fail("preset_load_file failed with code %s: %s", vb_errcode_name(e.code),
                      e.msg);
        if (strcmp(before, after) != 0)
            fuzz_fail("a layer that failed (%s) changed the settings", e.msg);
    }
    free(before);
    free(after);
    preset_free_contents(&c);
    return 0;
}
