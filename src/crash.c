/* crash.c - the batch's guard against a fatal signal in one item (see
 * crash.h). Everything the handler touches is made ready when the guard
 * is armed: the crash file's descriptor, the resume command and its
 * environment, the table of what each worker works on. The handler only
 * reads those, formats numbers by hand and calls write(2) and
 * execve(2), both async-signal-safe. */
#include "config.h"
#include "crash.h"
#include "report.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

typedef struct crash_slot {
    _Atomic int64_t seq;            /* 0: no item */
    const char *_Atomic path;       /* borrowed from the item */
    const atomic_int *_Atomic stage;
} crash_slot;

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

static struct {
    int fd;                          /* the crash file, -1 when not armed */
    char *file;                      /* its path */
    char *exe;                       /* this executable */
    char **argv, **envp;             /* the resume command; NULL: none */
    char *hint;                      /* how to finish the batch by hand */
    crash_slot *slots;
    int nslots;
    struct sigaction old[VB_ARRAY_LEN(fatal_signals)];
} guard = { .fd = -1 };

static __thread int tls_slot = -1;
static __thread void *tls_altstack;

#define ALTSTACK_SIZE (64 * 1024)

const char *crash_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (segmentation fault)";
    case SIGBUS:  return "SIGBUS (bus error)";
    case SIGFPE:  return "SIGFPE (arithmetic exception)";
    case SIGILL:  return "SIGILL (illegal instruction)";
    case SIGABRT: return "SIGABRT (aborted)";
    default:      return "a fatal signal";
    }
}

/* ---- in the handler: async-signal-safe only ---- */

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Decimal of v into buf (>= 24 bytes); returns buf. */
static char *dec(char *buf, int64_t v)
{
    char t[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do
        t[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < 22);
    int i = 0;
    if (v < 0)
        buf[i++] = '-';
    while (n > 0)
        buf[i++] = t[--n];
    buf[i] = '\0';
    return buf;
}

static int slot_stage(const crash_slot *s)
{
    const atomic_int *st = atomic_load(&s->stage);
    return st ? atomic_load(st) : 0;
}

/* One line: "crash|suspect SEQ SIGNAL STAGE\n", in one write. */
static void record(const char *kind, int64_t seq, int sig, int stage)
{
    char line[96], n[24];
    line[0] = '\0';
    strcat(line, kind);
    strcat(line, " ");
    strcat(line, dec(n, seq));
    strcat(line, " ");
    strcat(line, dec(n, sig));
    strcat(line, " ");
    strcat(line, dec(n, stage));
    strcat(line, "\n");
    put(guard.fd, line);
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    char n[24];
    const crash_slot *named = NULL;
    int working = 0;
    for (int i = 0; guard.slots && i < guard.nslots; i++)
        if (atomic_load(&guard.slots[i].seq) > 0) {
            working++;
            if (working == 1)
                named = &guard.slots[i];
        }
    /* The crashing thread's own item; else, from a thread of no item (a
     * decoder's pool), the item working if there is only one. */
    if (tls_slot >= 0 && tls_slot < guard.nslots && atomic_load(&guard.slots[tls_slot].seq) > 0)
        named = &guard.slots[tls_slot];
    else if (working > 1)
        named = NULL;
    if (guard.fd >= 0 && named) {
        record("crash", atomic_load(&named->seq), sig, slot_stage(named));
    } else if (guard.fd >= 0) {
        for (int i = 0; i < guard.nslots; i++) {
            int64_t seq = atomic_load(&guard.slots[i].seq);
            if (seq > 0)
                record("suspect", seq, sig, slot_stage(&guard.slots[i]));
        }
    }
    put(STDERR_FILENO, "\nvbatch: ");
    put(STDERR_FILENO, crash_signal_name(sig));
    if (named) {
        const char *path = atomic_load(&named->path);
        put(STDERR_FILENO, " while processing item ");
        put(STDERR_FILENO, dec(n, atomic_load(&named->seq)));
        if (path) {
            /* Names may hold control characters: not to the terminal. */
            put(STDERR_FILENO, " (");
            char c[2] = { 0, 0 };
            for (size_t i = 0; path[i] && i < 512; i++) {
                c[0] = (unsigned char)path[i] < 0x20 || path[i] == 0x7f ? '?' : path[i];
                put(STDERR_FILENO, c);
            }
            put(STDERR_FILENO, ")");
        }
        put(STDERR_FILENO, " in the ");
        put(STDERR_FILENO, report_stage_name(slot_stage(named)));
        put(STDERR_FILENO, " stage: the item is recorded as failed");
    } else if (working > 0) {
        put(STDERR_FILENO, " in a thread of no item while ");
        put(STDERR_FILENO, dec(n, working));
        put(STDERR_FILENO, " items were working: each is taken again alone");
    } else {
        put(STDERR_FILENO, " outside any item");
    }
    if (working > 0 && guard.fd >= 0 && guard.argv) {
        put(STDERR_FILENO, "; the batch goes on\n");
        execve(guard.exe, guard.argv, guard.envp);
        put(STDERR_FILENO, "vbatch: cannot go on by itself: ");
        put(STDERR_FILENO, strerror(errno));
        put(STDERR_FILENO, "\n");
    } else if (working > 0 && guard.fd >= 0) {
        put(STDERR_FILENO, "; too many crashes in this batch to go on by itself\n");
    } else {
        put(STDERR_FILENO, "\n");
    }
    if (guard.hint)
        put(STDERR_FILENO, guard.hint);
    /* SA_RESETHAND put the default action back; SA_NODEFER lets it come
     * now: the process ends as it would have (a core dump if enabled). */
    raise(sig);
}

/* ---- outside the handler ---- */

static char *crash_path(const char *out_dir, const char *batch_id)
{
    char *dir = util_path_join(out_dir, ".vbatch");
    char *name = vb_xasprintf("crash-%s", batch_id);
    char *p = util_path_join(dir, name);
    free(dir);
    free(name);
    return p;
}

/* environ with VBATCH_CRASH_CONTINUES=n. */
static char **env_with_count(int n)
{
    static const char key[] = "VBATCH_CRASH_CONTINUES=";
    size_t len = 0;
    while (environ && environ[len])
        len++;
    char **env = vb_xcalloc(len + 2, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (strncmp(environ[i], key, sizeof key - 1) != 0)
            env[k++] = vb_xstrdup(environ[i]);
    env[k] = vb_xasprintf("%s%d", key, n);
    return env;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

int crash_arm(const char *out_dir, const char *batch_id, const char *const *resume_argv,
              int slots, vb_error *e)
{
    crash_disarm();
    char *file = crash_path(out_dir, batch_id);
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        vb_fail(e, VB_ERR_IO, "cannot create %s: %s", file, strerror(errno));
        free(file);
        return -1;
    }
    guard.fd = fd;
    guard.file = file;
    guard.hint = vb_xasprintf("vbatch: the batch can be finished with: vbatch resume --job-id %s"
                              " --output %s\n", batch_id, out_dir);
    guard.slots = vb_xcalloc((size_t)(slots > 0 ? slots : 1), sizeof *guard.slots);
    guard.nslots = slots > 0 ? slots : 1;
    const char *cont = getenv("VBATCH_CRASH_CONTINUES");
    int done = cont ? atoi(cont) : 0;
    char exe[4096];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (resume_argv && done < CRASH_CONTINUES && l > 0) {
        exe[l] = '\0';
        guard.exe = vb_xstrdup(exe);
        size_t n = 0;
        while (resume_argv[n])
            n++;
        guard.argv = vb_xcalloc(n + 1, sizeof *guard.argv);
        for (size_t i = 0; i < n; i++)
            guard.argv[i] = vb_xstrdup(resume_argv[i]);
        guard.envp = env_with_count(done + 1);
    }
    for (size_t i = 0; i < VB_ARRAY_LEN(fatal_signals); i++) {
        struct sigaction sa = { .sa_sigaction = on_fatal,
                                .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER };
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, &guard.old[i]);
    }
    return 0;
}

void crash_disarm(void)
{
    if (guard.fd < 0)
        return;
    for (size_t i = 0; i < VB_ARRAY_LEN(fatal_signals); i++)
        sigaction(fatal_signals[i], &guard.old[i], NULL);
    struct stat st;
    if (fstat(guard.fd, &st) == 0 && st.st_size == 0)
        unlink(guard.file);
    close(guard.fd);
    guard.fd = -1;
    free(guard.file);
    free(guard.exe);
    free(guard.hint);
    guard.hint = NULL;
    strv_free(guard.argv);
    strv_free(guard.envp);
    /* Called once no worker runs (the engine ends the process instead
     * while workers it gave up on may still wake up). */
    free(guard.slots);
    guard.slots = NULL;
    guard.nslots = 0;
    guard.file = guard.exe = NULL;
    guard.argv = guard.envp = NULL;
}

void crash_thread_init(void)
{
    if (tls_altstack)
        return;
    tls_altstack = malloc(ALTSTACK_SIZE);
    if (!tls_altstack)
        return;
    stack_t ss = { .ss_sp = tls_altstack, .ss_size = ALTSTACK_SIZE, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) {
        free(tls_altstack);
        tls_altstack = NULL;
    }
}

void crash_thread_done(void)
{
    if (!tls_altstack)
        return;
    stack_t ss = { .ss_flags = SS_DISABLE };
    sigaltstack(&ss, NULL);
    free(tls_altstack);
    tls_altstack = NULL;
}

void crash_enter(int slot, int64_t seq, const char *path, const atomic_int *stage)
{
    crash_slot *slots = guard.slots;
    if (!slots || slot < 0 || slot >= guard.nslots)
        return;
    tls_slot = slot;
    atomic_store(&slots[slot].path, path);
    atomic_store(&slots[slot].stage, stage);
    atomic_store(&slots[slot].seq, seq);
}

void crash_leave(int slot)
{
    crash_slot *slots = guard.slots;
    tls_slot = -1;
    if (!slots || slot < 0 || slot >= guard.nslots)
        return;
    atomic_store(&slots[slot].seq, 0);
    atomic_store(&slots[slot].path, NULL);
    atomic_store(&slots[slot].stage, NULL);
}

int crash_read(const char *out_dir, const char *batch_id, crash_list *out, vb_error *e)
{
    out->v = NULL;
    out->n = 0;
    char *file = crash_path(out_dir, batch_id);
    if (access(file, F_OK) != 0) {
        free(file);
        return 0;   /* no crash recorded */
    }
    char *text = util_read_file(file, NULL, e);
    free(file);
    if (!text)
        return -1;
    size_t cap = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char kind[16];
        long long seq;
        int sig, stage;
        if (sscanf(line, "%15s %lld %d %d", kind, &seq, &sig, &stage) != 4 || seq <= 0)
            continue;   /* a line cut by the crash itself */
        bool suspect = strcmp(kind, "suspect") == 0;
        if (!suspect && strcmp(kind, "crash") != 0)
            continue;
        crash_record *have = (crash_record *)crash_find(out, seq);
        if (have) {
            /* Named once is named. */
            if (!suspect && have->suspect) {
                have->suspect = false;
                have->sig = sig;
                have->stage = stage;
            }
            continue;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 8;
            out->v = vb_xrealloc(out->v, cap * sizeof *out->v);
        }
        out->v[out->n++] = (crash_record){ seq, sig,
                                           stage >= 0 && stage < STAGE_COUNT ? stage : 0,
                                           suspect };
    }
    free(text);
    return 0;
}

const crash_record *crash_find(const crash_list *l, int64_t seq)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (l->v[i].seq == seq)
            return &l->v[i];
    return NULL;
}

void crash_list_clear(crash_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void crash_consumed(const char *out_dir, const char *batch_id)
{
    char *file = crash_path(out_dir, batch_id);
    if (guard.fd >= 0 && strcmp(guard.file, file) == 0) {
        /* Emptied, then removed when the guard is disarmed. */
        if (ftruncate(guard.fd, 0) != 0)
            unlink(file);
    } else {
        unlink(file);
    }
    free(file);
}
