/* crash.h - a fatal signal in one item must not cost the batch.
 *
 * A decoder, a demuxer or libvips can crash on a hostile file (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT). The engine arms a guard for the
 * batch: each worker says which item it works on; a fatal signal writes
 * that item's sequence number, the signal and the stage into
 * OUT/.vbatch/crash-<batch> (write(2) only: async-signal-safe), then
 * replaces the dying process with `vbatch resume` of the same batch
 * (execve is async-signal-safe too). Results recorded before are in
 * the journal (committed before they are shown); the resumed run
 * records the crashed item as failed, with the signal, and goes on with
 * the rest. A crash in a thread that is not a worker's (a decoder's own
 * thread pool) names the item only when one item was working; otherwise
 * every item working is a suspect, and the resumed run takes each
 * suspect alone, so a second crash names it.
 *
 * The same batch is continued at most CRASH_CONTINUES times; after that,
 * or outside any item, the process dies as it would have and the batch
 * is left to `vbatch resume`. */
#ifndef VB_CRASH_H
#define VB_CRASH_H

#include "vbatch.h"

#include <stdatomic.h>

#define CRASH_CONTINUES 16

/* Arm the guard for a batch: opens the crash file, prepares the resume
 * command (argv[0] is replaced by this executable; NULL-terminated,
 * copied), installs the handlers. slots: the number of workers. */
int crash_arm(const char *out_dir, const char *batch_id, const char *const *resume_argv,
              int slots, vb_error *e);
/* Handlers back to the default; the crash file removed when empty. */
void crash_disarm(void);
/* In each worker thread before its first item: an alternate signal stack
 * (a stack overflow must still reach the handler); crash_thread_done
 * before the thread ends. */
void crash_thread_init(void);
void crash_thread_done(void);
/* The calling worker (slot) starts or ends an item; stage: the item's
 * stage marker (borrowed, read by the handler). */
void crash_enter(int slot, int64_t seq, const char *path, const atomic_int *stage);
void crash_leave(int slot);

/* What earlier crashes of a batch left: */
typedef struct crash_record {
    int64_t seq;
    int sig;
    int stage;           /* enum item_stage */
    bool suspect;        /* working when a thread of no item crashed */
} crash_record;
typedef struct crash_list {
    crash_record *v;
    size_t n;
} crash_list;
/* Read OUT/.vbatch/crash-<batch> (none: an empty list). A crashed
 * item's record, or NULL; a suspect only when it was not named. */
int crash_read(const char *out_dir, const char *batch_id, crash_list *out, vb_error *e);
const crash_record *crash_find(const crash_list *l, int64_t seq);
void crash_list_clear(crash_list *l);
/* The records are taken into the journal: the file goes. */
void crash_consumed(const char *out_dir, const char *batch_id);
/* "SIGSEGV (segmentation fault)" */
const char *crash_signal_name(int sig);

#endif
