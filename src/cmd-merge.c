/* cmd-merge.c - `vbatch merge`: the shards of one run (process --shard
 * K/N, each into its own output folder) as one batch, with one journal
 * and one set of reports (report_merge). */
#include "config.h"
#include "cmd.h"
#include "msg.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cmd_option cmd_merge_options[] = {
    { "output", 'o', "DIR", "the merged batch's output folder (new, or empty)" },
    { "quiet", 'q', NULL, "print nothing but errors" },
    { NULL, 0, NULL, NULL },
};

static int cmd_merge_opt(const cmd_option *o, const char *arg, void *ud)
{
    const char **out = ud;
    if (strcmp(o->name, "output") == 0)
        *out = arg;
    else if (strcmp(o->name, "quiet") == 0)
        vb_verbosity = 0;
    return 0;
}

static int cmd_merge_exec(int argc, char **argv)
{
    const char *out = NULL;
    int rc = cmd_parse(&cmd_merge, argc, argv, cmd_merge_opt, &out);
    if (rc != 0)
        return rc > 0 ? VB_EXIT_OK : VB_EXIT_USAGE;
    if (!out)
        return cmd_bad_usage(&cmd_merge, "--output DIR is needed");
    if (optind >= argc)
        return cmd_bad_usage(&cmd_merge, "no shard output folder given");
    vb_strlist dirs = {0};
    for (int i = optind; i < argc; i++)
        vb_strlist_add(&dirs, argv[i]);
    vb_error e = {0};
    rc = report_merge(&dirs, out, vb_command_line, vb_verbosity > 0 ? stderr : NULL, &e);
    vb_strlist_clear(&dirs);
    if (rc != 0) {
        msg_error("%s", e.msg);
        return e.code == VB_ERR_USAGE ? VB_EXIT_USAGE : VB_EXIT_ITEMS;
    }
    return VB_EXIT_OK;
}

const vb_command cmd_merge = {
    .name = "merge",
    .alias = NULL,
    .usage = "SHARD_OUT... --output DIR [--quiet]",
    .summary = "make one batch of the shards of a run (process --shard K/N), with one set of reports",
    .description =
        "Reads the latest batch of each SHARD_OUT (the output folder of one\n"
        "`vbatch process --shard K/N` run; all N of them, each finished, all with the\n"
        "same settings) and writes one batch into DIR (new, or empty): every item\n"
        "once, in the order of their sources, each item folder linked into DIR\n"
        "(hard links; copies across file systems), one journal, and the reports of\n"
        "DIR/summary/. A shard missing or given twice, shards of another N or of other\n"
        "settings, a shard not finished (resume it first) or two shards holding the\n"
        "same item folder are refused (exit 2), and nothing is written.",
    .options = cmd_merge_options,
    .exec = cmd_merge_exec,
};
