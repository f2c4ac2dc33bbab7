/* fix-dryrun.c - `vbatch process --fix --dry-run`: each input's plan,
 * with nothing written. Every input is found as a run would find it,
 * probed, gated and (when the preset gates on it) analysed, then planned;
 * the plan says which rules fail, which action fixes each, what would be
 * copied and what re-encoded. No output folder, no journal, no download
 * (a URL is listed as such: its plan needs the file). */
#include "config.h"
#include "fix-dryrun.h"
#include "analyse.h"
#include "mediaio.h"
#include "msg.h"
#include "scan.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One input's plan: probe, gates, analysis, plan. */
static int dry_plan(const vb_config *cfg, const char *path, fix_plan *pl, rule_report *rr,
                    vb_error *e)
{
    mediaio_clock clk;
    mediaio_clock_start(&clk, cfg->batch.item_timeout, cfg->batch.stall_timeout, NULL);
    probe_result *p = NULL;
    analyse_result *a = NULL;
    if (probe_file(path, &clk, &p, e) != 0)
        return -1;
    rules_eval(&cfg->qc, p, rr);
    int rc = 0;
    bool analyse = cfg->analyse.enabled || rules_have_analysis_gates(&cfg->qc);
    if (analyse && (rc = analyse_file(path, &cfg->analyse, 0, &clk, NULL, &a, e)) == 0)
        rules_eval_analysis(&cfg->qc, a, rr);
    if (rc == 0)
        fix_plan_make(cfg, p, a, rr, transcode_codec_name_fits, pl);
    analyse_result_free(&a);
    probe_result_free(&p);
    return rc;
}

static char *dry_failed(const rule_report *rr, const vb_config *cfg)
{
    vb_strlist l = {0};
    for (size_t i = 0; i < rr->n; i++)
        if (rr->r[i].verdict == VERDICT_FAIL ||
            (cfg->fix.warnings && rr->r[i].verdict == VERDICT_WARN))
            vb_strlist_add(&l, rr->r[i].rule);
    char *s = vb_strlist_join(&l, ", ");
    vb_strlist_clear(&l);
    return s;
}

/* "remux + audio (video copied; audio re-encoded, AAC-LC 48000 Hz 192 kb/s)". */
static char *dry_actions(const fix_plan *pl)
{
    char *s = vb_xstrdup("");
    for (int i = 0; i < FIX_NACTIONS; i++)
        if (pl->actions[i]) {
            char *n = vb_xasprintf("%s%s%s", s, *s ? " + " : "", fix_action_name(i));
            free(s);
            s = n;
        }
    char video[96], audio[128];
    if (pl->video_encode)
        snprintf(video, sizeof video, "video re-encoded, H.264 %dx%d at %d/%d fps", pl->width,
                 pl->height, pl->fps_num, pl->fps_den);
    else
        snprintf(video, sizeof video, "video copied");
    switch (pl->audio) {
    case FIX_AUDIO_ENCODE:
        snprintf(audio, sizeof audio, "audio re-encoded, AAC-LC %d Hz %lld kb/s%s%s", pl->sample_rate,
                 (long long)(pl->audio_bitrate / 1000), pl->gain_db != 0 ? ", gain" : "",
                 pl->limiter ? ", true-peak limiter" : "");
        break;
    case FIX_AUDIO_ADD_SILENT: snprintf(audio, sizeof audio, "silent audio added"); break;
    case FIX_AUDIO_DROP:       snprintf(audio, sizeof audio, "audio dropped"); break;
    default:                   snprintf(audio, sizeof audio, "audio copied"); break;
    }
    char *n = vb_xasprintf("%s (%s into %s; %s)", s, video, pl->container, audio);
    free(s);
    return n;
}

static void dry_text(FILE *out, const char *name, const vb_config *cfg, const rule_report *rr,
                     const fix_plan *pl)
{
    char *failed = dry_failed(rr, cfg);
    if (!*failed) {
        fprintf(out, "%s: passes: nothing to fix\n", name);
    } else if (pl->any) {
        char *act = dry_actions(pl);
        fprintf(out, "%s: fails %s: fix: %s\n", name, failed, act);
        free(act);
    } else {
        fprintf(out, "%s: fails %s: not fixable\n", name, failed);
    }
    for (size_t i = 0; i < pl->fixes.n && pl->any; i++)
        fprintf(out, "  %s\n", pl->fixes.v[i]);
    for (size_t i = 0; i < pl->unfixable.n; i++)
        fprintf(out, "  %s\n", pl->unfixable.v[i]);
    free(failed);
}

static void dry_json(writer *w, const char *name, const vb_config *cfg, const rule_report *rr,
                     const fix_plan *pl)
{
    writer_begin_object(w, NULL);
    writer_string(w, "file", name);
    writer_string(w, "verdict", rules_verdict_name(rr->verdict));
    writer_begin_array(w, "failed_rules");
    for (size_t i = 0; i < rr->n; i++)
        if (rr->r[i].verdict == VERDICT_FAIL ||
            (cfg->fix.warnings && rr->r[i].verdict == VERDICT_WARN))
            writer_string(w, NULL, rr->r[i].rule);
    writer_end_array(w);
    writer_bool(w, "fixable", pl->any);
    fix_plan_write(pl, w);
    writer_end_object(w);
}

static void dry_error(FILE *out, writer *w, const char *name, const char *msg)
{
    if (w) {
        writer_begin_object(w, NULL);
        writer_string(w, "file", name);
        writer_string(w, "error", msg);
        writer_end_object(w);
    } else {
        char *m = msg_printable_dup(msg);
        fprintf(out, "%s: error: %s\n", name, m);
        free(m);
    }
}

/* One entry of the scan. */
static void dry_entry(const vb_config *cfg, const scan_entry *en, FILE *out, writer *w,
                      fix_dry_result *res)
{
    char *name = msg_printable_dup(en->rel ? en->rel : en->path);
    if (en->error || en->is_url) {
        dry_error(out, w, name, en->error ? en->errmsg
                                          : "a URL: its plan needs the file, which a dry run "
                                            "does not download");
        res->errors++;
        free(name);
        return;
    }
    fix_plan pl;
    rule_report rr = {0};
    vb_error e = {0};
    if (dry_plan(cfg, en->path, &pl, &rr, &e) != 0) {
        dry_error(out, w, name, e.msg);
        res->errors++;
    } else {
        if (w)
            dry_json(w, name, cfg, &rr, &pl);
        else
            dry_text(out, name, cfg, &rr, &pl);
        bool failing = rr.nfail > 0 || (cfg->fix.warnings && rr.nwarn > 0);
        if (!failing)
            res->passed++;
        else if (pl.any)
            res->fixable++;
        else
            res->unfixable++;
        fix_plan_clear(&pl);
    }
    rules_report_free(&rr);
    vb_error_clear(&e);
    free(name);
}

int fix_dry_run(const vb_config *cfg, const vb_strlist *paths, const vb_strlist *lists,
                bool json, FILE *out, fix_dry_result *res, vb_error *e)
{
    memset(res, 0, sizeof *res);
    scanner *s = scan_new(&cfg->input);
    for (size_t i = 0; i < paths->n; i++)
        scan_add_path(s, paths->v[i]);
    for (size_t i = 0; i < lists->n; i++)
        scan_add_list(s, lists->v[i]);
    writer *w = json ? writer_new(WRITER_JSON) : NULL;
    if (w)
        writer_begin_array(w, NULL);
    scan_entry en = {0};
    int rc;
    while ((rc = scan_next(s, &en, e)) == 1) {
        dry_entry(cfg, &en, out, w, res);
        scan_entry_clear(&en);
    }
    if (w) {
        writer_end_array(w);
        char *tail = writer_finish(w, NULL);
        fputs(tail, out);
        free(tail);
        writer_free(&w);
    }
    scan_free(&s);
    return rc < 0 ? -1 : 0;
}
