/* scan.h - discovery: turn PATH arguments and --from-list files into a
 * stream of items, one at a time, in a stable sorted order. Directory
 * walks are streamed: only the folders on the current path are held. */
#ifndef VB_SCAN_H
#define VB_SCAN_H

#include "preset.h"

typedef struct scanner scanner;

/* The longest list line, in bytes without the newline: far more than
 * any path or URL, little enough memory. */
#define SCAN_LINE_MAX 65536

typedef struct scan_entry {
    char *path;      /* path to read, or the URL; owned */
    char *rel;       /* relative name used for the item folder; owned */
    bool is_url;
    int error;       /* 0, or an enum vb_errcode: the item is bad */
    char *errmsg;    /* owned, when error != 0 */
} scan_entry;

/* The scanner keeps a pointer to `in` (borrowed). */
scanner *scan_new(const input_config *in);
void scan_free(scanner **s);
/* Queue a PATH argument (file or directory). Roots are visited in the
 * order given. */
void scan_add_path(scanner *s, const char *path);
/* Queue a list file: one path or http(s) URL per line; blank lines and
 * lines starting with '#' are ignored. The file is read lazily, a line
 * at a time into a fixed buffer: a line longer than SCAN_LINE_MAX bytes
 * is an item error ("LIST:N" as its path), a NUL byte or a read error
 * ends the list (scan_next returns -1 once for it). */
void scan_add_list(scanner *s, const char *listfile);
/* Only the http(s) URLs of list files: PATH arguments and the other
 * lines are skipped without being looked at (resuming: relist.c). */
void scan_urls_only(scanner *s);
/* Never list or descend into this folder (matched by device and inode;
 * one that does not exist yet is looked up again during the walk). Used
 * for an output folder inside an input folder. */
void scan_skip_dir(scanner *s, const char *path);
/* true if dir is a vbatch output folder (it holds .vbatch/state.db). A
 * walk never descends into one: an earlier run's items are not input. */
bool scan_is_output(const char *dir);
/* Before a run into out_dir with these PATH arguments: -1 with e set
 * (VB_ERR_USAGE) when out_dir is one of the folders named, or, walking
 * recursively, lies inside one and holds files that are not an earlier
 * output (the walk would leave them out); else 0. */
int scan_check_output(const vb_strlist *paths, const char *out_dir, bool recursive,
                      vb_error *e);
/* Next entry: returns 1 and fills *out (caller frees with
 * scan_entry_clear), 0 at the end, -1 on a fatal error (e set: a list
 * file or root that can not be opened at all is an item error, not this). */
int scan_next(scanner *s, scan_entry *out, vb_error *e);
/* Only shard k of n (shard.h) from here on: the others' entries are
 * passed over by scan_next, keyed by their relative name. */
void scan_set_shard(scanner *s, int k, int n);
/* How many entries scan_next passed over as other shards'. */
long long scan_other_shards(const scanner *s);
/* A file of an earlier run whose PATH arguments were `roots` (other
 * entries, such as "--from-list F", are ignored), looked at again on its
 * own (vbatch retry): if a walk of one of them found it (its path lies
 * below one) and outside_links = refuse, is it a symbolic link out of
 * those folders? NULL if not (or if it was named itself), else the
 * refusal, as the walk gives it (caller frees). Nothing is opened. */
char *scan_refused_link(const input_config *in, const char *path, const vb_strlist *roots);
void scan_entry_clear(scan_entry *en);

#endif
