/* cmd.c - the command table, help text and option parsing shared by
 * every cmd-*.c. Help is generated from each command's option table so
 * that it can not drift from what is parsed. */
#include "config.h"
#include "cmd.h"
#include "fetch.h"
#include "msg.h"
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const vb_command *const cmd_table[] = {
    &cmd_process, &cmd_probe, &cmd_presets, &cmd_report, &cmd_status, &cmd_resume, &cmd_retry,
    &cmd_generate, &cmd_merge, &cmd_enqueue, &cmd_worker, &cmd_completion, NULL,
};

const vb_command *cmd_find(const char *name)
{
    for (int i = 0; cmd_table[i]; i++) {
        const vb_command *c = cmd_table[i];
        if (strcmp(c->name, name) == 0 || (c->alias && strcmp(c->alias, name) == 0))
            return c;
    }
    return NULL;
}

const char *cmd_suggest(const char *name)
{
    const char *names[2 * VB_ARRAY_LEN(cmd_table) + 2];
    size_t n = 0;
    for (int i = 0; cmd_table[i]; i++) {
        names[n++] = cmd_table[i]->name;
        names[n++] = cmd_table[i]->alias;
    }
    names[n++] = "help";
    names[n++] = "version";
    return util_suggest(name, names, n);
}

int cmd_unknown(const char *name)
{
    const char *hint = cmd_suggest(name);
    msg_error("unknown command '%s'%s%s%s; see 'vbatch --help'", name,
              hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    return VB_EXIT_USAGE;
}

void cmd_help(FILE *f, const vb_command *c)
{
    fprintf(f, "usage: vbatch %s %s\n\n%s\n", c->name, c->usage, c->summary);
    if (c->description)
        fprintf(f, "\n%s\n", c->description);
    fputs("\noptions:\n", f);
    for (const cmd_option *o = c->options; o && o->name; o++) {
        char head[64];
        if (o->short_name)
            snprintf(head, sizeof head, "-%c, --%s%s%s", o->short_name, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        else
            snprintf(head, sizeof head, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        if (strlen(head) > 24)
            fprintf(f, "  %s\n  %24s  %s\n", head, "", o->help);
        else
            fprintf(f, "  %-24s  %s\n", head, o->help);
    }
    fprintf(f, "  %-24s  %s\n", "-h, --help", "show this help");
}

void cmd_usage_all(FILE *f)
{
    fputs("usage: vbatch [--quiet|--verbose] COMMAND [ARGS]\n"
          "       vbatch --help | --version | help COMMAND\n\n"
          "Check batches of short videos before publishing: probe, quality\n"
          "gates, one folder per video, summary reports, an exit status to gate on.\n\n"
          "commands:\n", f);
    for (int i = 0; cmd_table[i]; i++)
        fprintf(f, "  %-10s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
    fprintf(f, "  %-10s %s\n", "help", "show help for vbatch or a command (help COMMAND)");
    fprintf(f, "  %-10s %s\n", "version", "show the version and the libraries' versions");
    fputs("\nexit status: 0 all passed, 1 some failed a quality gate, 2 usage or\n"
          "configuration error, 3 some items could not be processed, 4 interrupted,\n"
          "5 no item found (nothing was checked).\n"
          "See vbatch(1) and `vbatch help COMMAND`.\n", f);
}

void cmd_getopt_tables(const vb_command *c, struct option **longopts,
                       char **shortopts)
{
    size_t n = 0;
    for (const cmd_option *o = c->options; o && o->name; o++)
        n++;
    struct option *lo = vb_xcalloc(n + 2, sizeof *lo);
    char *so = vb_xcalloc(2 * n + 4, 1);
    size_t k = 0;
    so[k++] = ':'; /* report a missing argument as ':' */
    for (size_t i = 0; i < n; i++) {
        const cmd_option *o = &c->options[i];
        lo[i].name = o->name;
        lo[i].has_arg = o->arg ? required_argument : no_argument;
        lo[i].val = o->short_name ? o->short_name : (int)(256 + i);
        if (o->short_name) {
            so[k++] = (char)o->short_name;
            if (o->arg)
                so[k++] = ':';
        }
    }
    lo[n].name = "help";
    lo[n].val = 'h';
    so[k++] = 'h';
    *longopts = lo;
    *shortopts = so;
}

int cmd_bad_usage(const vb_command *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = vb_xvasprintf(fmt, ap);
    va_end(ap);
    msg_error("%s", what);
    free(what);
    fprintf(stderr, "usage: vbatch %s %s\n(see `vbatch help %s`)\n", c->name,
            c->usage, c->name);
    return VB_EXIT_USAGE;
}

int cmd_int_arg(const vb_command *c, const char *opt, const char *arg, const char *noun,
                int min, int max, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end || v < min || v > max) {
        cmd_bad_usage(c, "--%s needs %s from %d to %d, not '%s'", opt, noun, min, max, arg);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The option whose getopt value is val, NULL if none ('h' is --help). */
static const cmd_option *option_of(const vb_command *c, int val)
{
    static const cmd_option help = { "help", 'h', NULL, NULL };
    if (val == 'h')
        return &help;
    size_t i = 0;
    for (const cmd_option *o = c->options; o && o->name; o++, i++)
        if (o->short_name ? o->short_name == val : val == (int)(256 + i))
            return o;
    return NULL;
}

static bool short_element(const char *a)
{
    return a && a[0] == '-' && a[1] && a[1] != '-';
}

/* Say what getopt_long refused (ch '?' or ':'): it names the option by
 * optopt, not by argv[optind - 1], which within a bundle such as
 * -rf.mp4 is still the element before it. */
static void bad_option(const vb_command *c, const struct option *lo, int ch, int argc,
                       char **argv)
{
    const char *prev = optind > 0 && optind - 1 < argc ? argv[optind - 1] : NULL;
    const cmd_option *o = optopt ? option_of(c, optopt) : NULL;
    if (ch == ':') {
        /* The option ended its element, and argv: prev is it. */
        if (prev && strncmp(prev, "--", 2) == 0 && o)
            cmd_bad_usage(c, "option --%s needs an argument (%s)", o->name, o->arg);
        else
            cmd_bad_usage(c, "option -%c needs an argument (%s)", optopt,
                          o && o->arg ? o->arg : "a value");
        return;
    }
    if (optopt == 0) {
        /* A long option: unknown, or an ambiguous abbreviation. */
        const char *a = prev && strncmp(prev, "--", 2) == 0 ? prev : "--?";
        size_t n = strcspn(a + 2, "=");
        char cand[256] = "";
        int hits = 0;
        for (const struct option *l = lo; l->name; l++)
            if (n > 0 && strncmp(l->name, a + 2, n) == 0) {
                hits++;
                size_t k = strlen(cand);
                snprintf(cand + k, sizeof cand - k, "%s--%s", k ? ", " : "", l->name);
            }
        if (hits > 1) {
            cmd_bad_usage(c, "option --%.*s is ambiguous (%s)", (int)n, a + 2, cand);
            return;
        }
        char *typed = vb_xstrndup(a + 2, n);
        size_t nl = 0;
        while (lo[nl].name)
            nl++;
        const char **names = vb_xcalloc(nl + 1, sizeof *names);
        for (size_t i = 0; i < nl; i++)
            names[i] = lo[i].name;
        const char *hint = util_suggest(typed, names, nl);
        if (hint)
            cmd_bad_usage(c, "unknown option --%s (did you mean --%s?)", typed, hint);
        else
            cmd_bad_usage(c, "unknown option --%s", typed);
        free(names);
        free(typed);
        return;
    }
    if (o) {
        /* Known and refused: only a long one given "=VALUE" it does not take. */
        cmd_bad_usage(c, "option --%s takes no argument (%s)", o->name,
                      prev ? prev : "");
        return;
    }
    /* An unknown short option, maybe inside a bundle: the element is
     * argv[optind - 1] when the letter ended it, else argv[optind]. */
    const char *el = NULL;
    if (short_element(prev) && prev[strlen(prev) - 1] == optopt)
        el = prev;
    else if (optind < argc && short_element(argv[optind]) &&
             strchr(argv[optind] + 1, optopt))
        el = argv[optind];
    if (optopt < 0x21 || optopt > 0x7e) {
        cmd_bad_usage(c, "unknown option byte 0x%02x%s%s%s", (unsigned)optopt & 0xff,
                      el ? " (in " : "", el ? el : "", el ? ")" : "");
    } else if (el && el[2] && strpbrk(el, "./")) {
        /* -rf.mp4: most likely a file whose name starts with '-'. */
        cmd_bad_usage(c, "unknown option -%c (in %s; a file whose name starts with '-' is "
                      "given as ./%s, or after --)", optopt, el, el);
    } else if (el && el[2]) {
        cmd_bad_usage(c, "unknown option -%c (in %s)", optopt, el);
    } else {
        cmd_bad_usage(c, "unknown option -%c", optopt);
    }
}

int cmd_parse(const vb_command *c, int argc, char **argv,
              int (*fn)(const cmd_option *opt, const char *arg, void *ud),
              void *ud)
{
    struct option *lo;
    char *so;
    cmd_getopt_tables(c, &lo, &so);
    int rc = 0;
    optind = 1;
    opterr = 0;
    for (;;) {
        int idx = -1;
        optopt = 0;
        int ch = getopt_long(argc, argv, so, lo, &idx);
        if (ch == -1)
            break;
        if (ch == 'h') {
            cmd_help(stdout, c);
            rc = 1;
            break;
        }
        if (ch == '?' || ch == ':') {
            bad_option(c, lo, ch, argc, argv);
            rc = -1;
            break;
        }
        const cmd_option *opt = option_of(c, ch);
        if (!opt || fn(opt, optarg, ud) != 0) {
            rc = -1;
            break;
        }
    }
    free(lo);
    free(so);
    return rc;
}

char *cmd_join_argv(int argc, char **argv)
{
    /* Grown by doubling: a shell glob can give 100k arguments. */
    size_t len = 6, cap = 256;
    char *s = vb_xmalloc(cap);
    memcpy(s, "vbatch", 7);
    for (int i = 1; i < argc; i++) {
        /* A URL's user, password and query (tokens) never reach the
         * journal or a report; a webhook's URL (often its secret) keeps
         * its host only. */
        char *shown = NULL;
        if (i > 1 && strcmp(argv[i - 1], "--notify") == 0)
            shown = util_url_redact(argv[i]);
        else if (strncmp(argv[i], "--notify=", 9) == 0) {
            char *r = util_url_redact(argv[i] + 9);
            shown = vb_xasprintf("--notify=%s", r);
            free(r);
        } else if (util_is_url(argv[i]))
            shown = fetch_display_url(argv[i]);
        char *q = util_shell_quote(shown ? shown : argv[i]);
        size_t n = strlen(q);
        while (len + 1 + n + 1 > cap)
            cap *= 2;
        s = vb_xrealloc(s, cap);
        s[len] = ' ';
        memcpy(s + len + 1, q, n + 1);
        len += 1 + n;
        free(q);
        free(shown);
    }
    return s;
}

int cmd_load_config(vb_config *cfg, const char *preset, const vb_strlist *configs,
                    const vb_strlist *sets)
{
    vb_error e = {0};
    int rc = preset_load_name(cfg, preset ? preset : "default", &e);
    for (size_t i = 0; rc == 0 && i < configs->n; i++)
        rc = preset_load_file(cfg, configs->v[i], &e);
    for (size_t i = 0; rc == 0 && sets && i < sets->n; i++)
        rc = preset_set(cfg, sets->v[i], &e);
    if (rc == 0)
        return 0;
    msg_error("%s", e.msg);
    return VB_EXIT_USAGE;
}
