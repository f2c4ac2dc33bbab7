/* rules.h - quality gates: the preset's [qc] rules applied to a probe
 * result. Each check gives pass, warn or fail with the measured value,
 * the limit and a message. */
#ifndef VB_RULES_H
#define VB_RULES_H

#include "vbatch.h"
#include "preset.h"
#include "probe.h"

enum rule_verdict { VERDICT_PASS = 0, VERDICT_WARN = 1, VERDICT_FAIL = 2 };

typedef struct rule_result {
    char *rule;        /* "duration_min" */
    char *value;       /* measured, human readable ("3.20 s") */
    char *limit;       /* "4.50 s" */
    int level;         /* enum rule_level it was evaluated at */
    int verdict;       /* enum rule_verdict */
    char *message;
} rule_result;

typedef struct rule_report {
    rule_result *r;
    size_t n;
    int verdict;       /* worst verdict */
    int nfail, nwarn;
} rule_report;

/* Add one check to a report (used by every stage that checks
 * something: probe rules here, analysis, images). Does nothing at
 * RULE_OFF. `value` NULL reads "none". */
void rules_add(rule_report *rep, const char *rule, int level, bool ok,
               const char *value, const char *limit, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Evaluate every enabled rule; never fails. */
void rules_eval(const qc_config *qc, const probe_result *p, rule_report *out);
void rules_report_free(rule_report *r);

struct analyse_result;
/* The [qc] gates on a decode analysis (black, freeze, silence, loudness,
 * true peak, decode errors), added to rep. */
void rules_eval_analysis(const qc_config *qc, const struct analyse_result *a,
                         rule_report *rep);
/* qc.json's checks: each with its value and limit as shown, and as
 * numbers (measured, threshold) with their unit where they read so. */
void rules_write(const rule_report *r, struct writer *w);
/* A shown figure ("2.000 s", "-21.8 LUFS", "12") as a number and its
 * unit ("" if none): true, or false for anything else ("1280x720"). */
bool rules_number(const char *text, double *num, char *unit, size_t len);
/* Does the preset gate on the decode analysis (black, freeze, silence,
 * loudness, true peak)? */
bool rules_have_analysis_gates(const qc_config *qc);

/* The thumbnails made, as read back from their headers: each file with
 * its header, or the error reading it. */
struct image_info;
typedef struct rules_thumb {
    const char *file;
    const struct image_info *info;   /* NULL when it could not be read */
    const char *error;               /* then why */
} rules_thumb;
/* One "thumbnails" check at [qc] image_level: every thumbnail readable,
 * of the configured width and format, with the video's displayed aspect
 * (rotation and pixel shape applied) within 2%. Pure. */
void rules_thumbs(const vb_config *cfg, const probe_result *p, const rules_thumb *t, size_t n,
                  rule_report *rep);
const char *rules_verdict_name(int v);

#endif
