/* fuzz.h - what the libFuzzer harnesses of tests/fuzz/ share: the entry
 * points libFuzzer calls, a scratch folder per process for the inputs
 * that the code under test only takes as files, and a way to stop on a
 * broken promise (a documented property that does not hold) so that
 * libFuzzer records the input as a crash.
 *
 * Built only by ./configure --enable-fuzz (clang, -fsanitize=fuzzer);
 * tests/fuzz/run.sh runs them (README.md, "Fuzzing"). */
#ifndef VB_FUZZ_H
#define VB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once per process: stdin from /dev/null (nothing under test may wait
 * for a terminal), the media module and the presets taken from this
 * build tree unless VBATCH_MODULE_DIR / VBATCH_PRESET_DIR say otherwise,
 * and a scratch folder under $TMPDIR, removed at exit. Returns it. */
const char *fuzz_setup(void);
/* The scratch folder (fuzz_setup first). */
const char *fuzz_dir(void);
/* A path in the scratch folder; caller frees. */
char *fuzz_path(const char *name);
/* Write data to path (replacing it); aborts if that fails, since the
 * harness could not test anything. */
void fuzz_write(const char *path, const void *data, size_t size);
/* Remove everything inside folder `path` (not the folder itself). */
void fuzz_empty_dir(const char *path);
/* The input as a NUL-terminated string (a copy; NULs inside are kept,
 * so strlen may be shorter than size). Caller frees. */
char *fuzz_strndup(const uint8_t *data, size_t size);
/* A broken promise: print it and abort (libFuzzer saves the input). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Strict UTF-8 (no overlongs, surrogates, or code points above U+10FFFF),
 * written independently of util.c so that it can judge it. */
int fuzz_valid_utf8(const char *s);

#endif
