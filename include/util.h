/* util.h - small file-system and string helpers used by several stages. */
#ifndef VB_UTIL_H
#define VB_UTIL_H

#include "vbatch.h"
#include <sys/types.h>

/* "a" + "b" -> "a/b" (no doubled slash). Caller frees. */
char *util_path_join(const char *a, const char *b);
/* s as one shell word: as it is when it holds only safe characters,
 * else in single quotes (a quote as '\''). Caller frees. */
char *util_shell_quote(const char *s);
/* Levenshtein distance, letters compared without case (99 past 63
 * bytes): to suggest the name a typo meant. */
size_t util_edit_distance(const char *a, const char *b);
/* The farthest a suggestion may be from the word typed. */
#define UTIL_SUGGEST_MAX 2
/* The candidate nearest word, within UTIL_SUGGEST_MAX, else NULL (NULL
 * entries are skipped). "Did you mean" for keys, commands, options. */
const char *util_suggest(const char *word, const char *const *cands, size_t n);
/* Last component of a local path ('?' and '#' are ordinary characters
 * there), never empty. Caller frees. */
char *util_basename(const char *path);
/* Last component of a URL's path, without query or fragment, never
 * empty. Caller frees. */
char *util_url_basename(const char *url);
/* Create a directory and its parents (mode 0777 & ~umask); never the
 * fenced output folder or anything above it (see util_out_fence). */
int util_mkdir_p(const char *path, vb_error *e);
/* The output folder of a run, as its paths are spelt: from now on
 * util_mkdir_p does not create it again if it goes (moved, removed), and
 * util_out_check tells whether it is still the folder it was (device and
 * inode): 0, or -1 with "the output folder was moved or removed". */
int util_out_fence(const char *root, vb_error *e);
int util_out_check(vb_error *e);
void util_out_unfence(void);
/* Write data to path atomically: `path.tmp.PID.N` in the same folder,
 * flush, rename over path. */
int util_write_atomic(const char *path, const void *data, size_t len,
                      vb_error *e);
/* Make dst the same content as src: hard link if possible, otherwise a
 * copy through a temporary name. An existing dst is replaced. A symbolic
 * link src is followed: dst is always a regular file, never a link. */
int util_link_or_copy(const char *src, const char *dst, vb_error *e);
/* The tree src again at dst: folders made, files hard-linked (copied
 * across file systems, as util_link_or_copy does), symbolic links made
 * anew. 0, or -1 with e set. */
int util_link_tree(const char *src, const char *dst, vb_error *e);
/* A temporary name next to `path` (caller frees). */
char *util_temp_name(const char *path);
/* A small file read whole, NUL-terminated (*len without the NUL; len may
 * be NULL). NULL with e set when it can not be read. Caller frees. */
char *util_read_file(const char *path, size_t *len, vb_error *e);
/* Remove the temporary files (util_temp_name's) a killed run left in dir
 * and its folders, down to `depth` levels; links are not followed. */
void util_remove_temps(const char *dir, int depth);
/* Monotonic seconds. */
double util_now(void);
/* Local wall-clock time, RFC 3339, into buf (>= 26 bytes):
 * "2026-12-01T19:05:16Z", "2026-12-01T20:05:16+01:00". */
void util_iso_time(char *buf, size_t len, double epoch);
double util_wall(void);
/* Number of online CPUs (>= 1). */
int util_ncpu(void);
/* path is dir itself or lies below it (both spelt alike: real paths,
 * say); "/" holds every absolute path. A trailing '/' of dir is
 * ignored; "/ab" is not below "/a". */
bool util_path_within(const char *path, const char *dir);
/* true if s starts with http:// or https:// (case-insensitive). */
bool util_is_url(const char *s);
/* true when the running program lies below the build tree (vbatch or a
 * test run uninstalled): presets and the media module are then taken
 * from the source and build trees instead of the installed folders. */
bool util_in_build_tree(void);
/* Peak resident set size of this process in KiB. */
long util_peak_rss_kib(void);

/* Length of the valid UTF-8 sequence at p (n bytes available), 0 if the
 * bytes there are not valid UTF-8 (overlong forms and surrogates too). */
size_t util_utf8_len(const unsigned char *p, size_t n);
/* Copy of s with every byte that is not part of valid UTF-8 replaced by
 * '?', for formats that require UTF-8 (JSON). Caller frees. */
char *util_utf8_sanitize(const char *s);
/* Number of characters (code points) in s, -1 if s is not valid UTF-8:
 * what an API's "at most N characters" counts. */
long util_utf8_chars(const char *s);

/* Sleep that long (seconds; a signal does not cut it short). */
void util_sleep(double seconds);

/* A URL that may be a secret (a webhook's) as it may be shown: its
 * scheme and host and "/...", or "(a URL)" when it holds a user or
 * password. Caller frees. */
char *util_url_redact(const char *url);

#endif
