/* cmd-completion.c - `vbatch completion bash|zsh`: the shell completion
 * script, written from the command table and each command's option table
 * (the ones that parse the command line and print the help), so that it
 * can not drift from them. `make` writes both scripts with the vbatch
 * just built and `make install` installs them; preset names are asked of
 * `vbatch presets` when completing, so the user's presets are offered. */
#include "config.h"
#include "cmd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an option's argument, or a command's operand, completes to. */
enum cmd_completion_kind { KIND_NONE, KIND_FILE, KIND_DIR, KIND_PRESET, KIND_WORDS };

typedef struct cmd_completion_arg {
    int kind;        /* enum cmd_completion_kind */
    char words[128]; /* KIND_WORDS: the choices, separated by spaces */
} cmd_completion_arg;

/* The word at w (up to a space or ']') as choices when it is lowercase
 * words joined by '|' ("text|json", "kling"), into out with spaces. */
static bool cmd_completion_words(const char *w, char *out, size_t len)
{
    size_t n = strcspn(w, " ]");
    if (n == 0 || n >= len || !islower((unsigned char)w[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)w[i]) && !isdigit((unsigned char)w[i]) &&
            !strchr("_-|", w[i]))
            return false;
    for (size_t i = 0; i < n; i++)
        out[i] = w[i] == '|' ? ' ' : w[i];
    out[n] = '\0';
    return true;
}

/* The choices the usage line spells out for --NAME ("--format text|json",
 * "--provider kling"). */
static bool cmd_completion_choices(const vb_command *c, const char *name, char *out,
                                   size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "--%s ", name);
    for (const char *p = strstr(c->usage, pat); p; p = strstr(p + 1, pat))
        if (cmd_completion_words(p + strlen(pat), out, len))
            return true;
    return false;
}

static cmd_completion_arg cmd_completion_option_arg(const vb_command *c, const cmd_option *o)
{
    cmd_completion_arg a = { .kind = KIND_NONE };
    if (strcmp(o->name, "preset") == 0)
        a.kind = KIND_PRESET;
    else if (cmd_completion_choices(c, o->name, a.words, sizeof a.words))
        a.kind = KIND_WORDS;
    else if (strcmp(o->arg, "FILE") == 0)
        a.kind = KIND_FILE;
    else if (strcmp(o->arg, "DIR") == 0 || strcmp(o->arg, "RDIR") == 0)
        a.kind = KIND_DIR;
    return a;
}

/* A command's operands: preset names for `presets`, the shells for
 * `completion`, files for the rest. */
static cmd_completion_arg cmd_completion_operand(const vb_command *c)
{
    cmd_completion_arg a = { .kind = KIND_FILE };
    if (strcmp(c->name, "presets") == 0)
        a.kind = KIND_PRESET;
    else if (!strchr(c->usage, ' ') && cmd_completion_words(c->usage, a.words, sizeof a.words))
        a.kind = KIND_WORDS;  /* a usage line that is only the choices: "bash|zsh" */
    return a;
}

/* ---- bash ---- */

static void cmd_completion_bash_kind(const cmd_completion_arg *a)
{
    static const char *const names[] = { "none", "file", "dir", "preset", "words" };
    printf("kind=%s", names[a->kind]);
    if (a->kind == KIND_WORDS)
        printf(" words='%s'", a->words);
    printf(" ;;\n");
}

static void cmd_completion_bash(void)
{
    printf("# bash completion for vbatch(1): commands, their options and values,\n"
           "# preset names (asked of `vbatch presets`). Written by `vbatch completion\n"
           "# bash` (vbatch %s) from its option tables; do not edit.\n\n",
           PACKAGE_VERSION);
    fputs("_vbatch_presets()\n{\n"
          "    command \"$1\" presets 2>/dev/null | while read -r name _; do\n"
          "        printf '%s\\n' \"$name\"\n"
          "    done\n}\n\n", stdout);
    fputs("_vbatch()\n{\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local cmd= i opts= kind= words= operand=file\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case ${COMP_WORDS[i]} in\n"
          "        -*) ;;\n"
          "        *) cmd=${COMP_WORDS[i]}; break ;;\n"
          "        esac\n"
          "    done\n"
          "    # --option=VALUE: complete the value\n"
          "    if [[ $cur == --*=* ]]; then\n"
          "        prev=${cur%%=*}\n"
          "        cur=${cur#*=}\n"
          "    fi\n"
          "    case $cmd in\n"
          "    '')\n"
          "        COMPREPLY=($(compgen -W '", stdout);
    for (int i = 0; cmd_table[i]; i++)
        printf("%s ", cmd_table[i]->name);
    fputs("help version -q --quiet -v --verbose -h --help -V --version' -- \"$cur\"))\n"
          "        return ;;\n"
          "    help)\n"
          "        COMPREPLY=($(compgen -W '", stdout);
    for (int i = 0; cmd_table[i]; i++)
        printf("%s%s", i ? " " : "", cmd_table[i]->name);
    fputs(" help version' -- \"$cur\"))\n"
          "        return ;;\n"
          "    version)\n"
          "        return ;;\n", stdout);
    for (int i = 0; cmd_table[i]; i++) {
        const vb_command *c = cmd_table[i];
        printf("    %s%s%s)\n        opts='", c->name, c->alias ? "|" : "",
               c->alias ? c->alias : "");
        for (const cmd_option *o = c->options; o && o->name; o++) {
            if (o->short_name)
                printf("-%c ", o->short_name);
            printf("--%s ", o->name);
        }
        printf("-h --help'\n");
        cmd_completion_arg op = cmd_completion_operand(c);
        if (op.kind == KIND_PRESET)
            printf("        operand=preset\n");
        else if (op.kind == KIND_WORDS)
            printf("        operand=words words='%s'\n", op.words);
        printf("        case $prev in\n");
        for (const cmd_option *o = c->options; o && o->name; o++) {
            if (!o->arg)
                continue;
            cmd_completion_arg a = cmd_completion_option_arg(c, o);
            printf("        ");
            if (o->short_name)
                printf("-%c|", o->short_name);
            printf("--%s) ", o->name);
            cmd_completion_bash_kind(&a);
        }
        printf("        esac ;;\n");
    }
    fputs("    *)\n"
          "        return ;;\n"
          "    esac\n"
          "    if [[ -z $kind ]]; then\n"
          "        if [[ $cur == -* ]]; then\n"
          "            COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "            return\n"
          "        fi\n"
          "        kind=$operand\n"
          "    fi\n"
          "    case $kind in\n"
          "    preset)\n"
          "        COMPREPLY=($(compgen -W \"$(_vbatch_presets \"${COMP_WORDS[0]}\")\" -- \"$cur\"))\n"
          "        # a preset may also be the path of an .ini file\n"
          "        [[ $cur == */* || $cur == .* ]] && { compopt -o filenames 2>/dev/null;\n"
          "            mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -f -- \"$cur\"); } ;;\n"
          "    file)\n"
          "        compopt -o filenames 2>/dev/null\n"
          "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
          "    dir)\n"
          "        compopt -o filenames 2>/dev/null\n"
          "        mapfile -t COMPREPLY < <(compgen -d -- \"$cur\") ;;\n"
          "    words)\n"
          "        COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")) ;;\n"
          "    *)\n"
          "        COMPREPLY=() ;;\n"
          "    esac\n"
          "}\n"
          "complete -F _vbatch vbatch\n", stdout);
}

/* ---- zsh ---- */

/* Text inside a single-quoted _arguments or _describe spec: a quote
 * closes and reopens, brackets and (with colon) colons are escaped. */
static void cmd_completion_zsh_text(const char *s, bool colon)
{
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", stdout);
        else if (*s == '[' || *s == ']' || (colon && *s == ':'))
            printf("\\%c", *s);
        else
            putchar(*s);
    }
}

static void cmd_completion_zsh_action(int kind, const char *words)
{
    switch (kind) {
    case KIND_FILE: fputs("_files", stdout); break;
    case KIND_DIR: fputs("_files -/", stdout); break;
    case KIND_PRESET: fputs("_vbatch_presets", stdout); break;
    case KIND_WORDS: printf("(%s)", words); break;
    default: fputs(" ", stdout); break;
    }
}

static void cmd_completion_zsh(void)
{
    printf("#compdef vbatch\n"
           "# zsh completion for vbatch(1): commands, their options and values,\n"
           "# preset names (asked of `vbatch presets`). Written by `vbatch completion\n"
           "# zsh` (vbatch %s) from its option tables; do not edit.\n\n",
           PACKAGE_VERSION);
    fputs("_vbatch_presets() {\n"
          "  local -a names\n"
          "  names=(${${(f)\"$(_call_program presets ${(q)_vbatch_prog:-vbatch} presets 2>/dev/null)\"}%% *})\n"
          "  _wanted presets expl preset compadd -a names\n"
          "  [[ $PREFIX == */* ]] && _files -g '*.ini'\n"
          "}\n\n", stdout);
    for (int i = 0; cmd_table[i]; i++) {
        const vb_command *c = cmd_table[i];
        printf("_vbatch_cmd_%s() {\n  _arguments -s -S \\\n", c->name);
        for (const cmd_option *o = c->options; o && o->name; o++) {
            /* Repeatable options may be given again; others only once. */
            bool many = strstr(o->help, "repeatable") != NULL;
            printf("    ");
            if (many)
                printf("'*'");
            else if (o->short_name)
                printf("'(-%c --%s)'", o->short_name, o->name);
            if (o->short_name)
                printf("{-%c,--%s}'", o->short_name, o->name);
            else
                printf("'--%s", o->name);
            putchar('[');
            cmd_completion_zsh_text(o->help, false);
            putchar(']');
            if (o->arg) {
                cmd_completion_arg a = cmd_completion_option_arg(c, o);
                putchar(':');
                cmd_completion_zsh_text(o->arg, true);
                putchar(':');
                cmd_completion_zsh_action(a.kind, a.words);
            }
            printf("' \\\n");
        }
        cmd_completion_arg op = cmd_completion_operand(c);
        printf("    '(- *)'{-h,--help}'[show this help]' \\\n    '*:operand:");
        cmd_completion_zsh_action(op.kind, op.words);
        printf("'\n}\n\n");
    }
    fputs("_vbatch() {\n"
          "  # the vbatch being completed, for `presets` (words shifts below)\n"
          "  local _vbatch_prog=${words[1]}\n"
          "  local curcontext=$curcontext state line expl\n"
          "  typeset -A opt_args\n"
          "  _arguments -C \\\n"
          "    '(-q --quiet -v --verbose)'{-q,--quiet}'[print nothing but errors that stop the run]' \\\n"
          "    '(-q --quiet -v --verbose)'{-v,--verbose}'[print more]' \\\n"
          "    '(- *)'{-h,--help}'[show the commands]' \\\n"
          "    '(- *)'{-V,--version}'[show the versions of vbatch and its libraries]' \\\n"
          "    '1:command:->command' \\\n"
          "    '*::argument:->argument'\n"
          "  case $state in\n"
          "  command)\n"
          "    local -a cmds\n"
          "    cmds=(\n", stdout);
    for (int i = 0; cmd_table[i]; i++) {
        printf("      '%s:", cmd_table[i]->name);
        cmd_completion_zsh_text(cmd_table[i]->summary, true);
        printf("'\n");
    }
    fputs("      'help:show help for vbatch or a command'\n"
          "      'version:show the version and the libraries'\\'' versions'\n"
          "    )\n"
          "    _describe -t commands command cmds ;;\n"
          "  argument)\n"
          "    curcontext=${curcontext%:*:*}:vbatch-$words[1]:\n"
          "    case $words[1] in\n", stdout);
    for (int i = 0; cmd_table[i]; i++) {
        const vb_command *c = cmd_table[i];
        printf("    %s%s%s) _vbatch_cmd_%s ;;\n", c->name, c->alias ? "|" : "",
               c->alias ? c->alias : "", c->name);
    }
    fputs("    help) _arguments '1:command:(", stdout);
    for (int i = 0; cmd_table[i]; i++)
        printf("%s%s", i ? " " : "", cmd_table[i]->name);
    fputs(" help version)' ;;\n"
          "    esac ;;\n"
          "  esac\n"
          "}\n\n"
          "_vbatch \"$@\"\n", stdout);
}

static int cmd_completion_exec(int argc, char **argv)
{
    int rc = cmd_parse(&cmd_completion, argc, argv, NULL, NULL);
    if (rc > 0)
        return VB_EXIT_OK;
    if (rc < 0)
        return VB_EXIT_USAGE;
    if (argc - optind != 1)
        return cmd_bad_usage(&cmd_completion, "name one shell: bash or zsh");
    const char *shell = argv[optind];
    if (strcmp(shell, "bash") == 0)
        cmd_completion_bash();
    else if (strcmp(shell, "zsh") == 0)
        cmd_completion_zsh();
    else
        return cmd_bad_usage(&cmd_completion, "unknown shell '%s' (use bash or zsh)", shell);
    if (fflush(stdout) != 0) {
        perror("vbatch: standard output");
        return VB_EXIT_ITEMS;
    }
    return VB_EXIT_OK;
}

static const cmd_option cmd_completion_options[] = {
    { NULL, 0, NULL, NULL },
};

const vb_command cmd_completion = {
    .name = "completion",
    .alias = NULL,
    .usage = "bash|zsh",
    .summary = "print the shell completion script for bash or zsh",
    .description =
        "Print a completion script for bash or zsh: the commands, their options,\n"
        "the values an option takes where they are few, files and folders, and\n"
        "preset names (asked of `vbatch presets` as you type, so your own presets\n"
        "are offered). `make install` installs both, as\n"
        "$(datadir)/bash-completion/completions/vbatch and\n"
        "$(datadir)/zsh/vendor-completions/_vbatch; to try one without\n"
        "installing: source <(vbatch completion bash).",
    .options = cmd_completion_options,
    .exec = cmd_completion_exec,
};
