/* report-config.c - the settings a recorded batch ran with, read back
 * from the journal for `vbatch resume` and `vbatch retry`: the stored
 * JSON turned into INI text for the preset loader, then checked to come
 * back exactly as it was recorded. */
#include "config.h"
#include "report-impl.h"
#include "preset.h"
#include "state.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stored settings as INI text for preset_load_string: lists joined,
 * null (not set) left out. */
static char *config_to_ini(json_t *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    const char *sec, *k;
    json_t *v, *x;
    json_object_foreach(cfg, sec, v) {
        fprintf(f, "[%s]\n", sec);
        json_object_foreach(v, k, x) {
            /* null: not set, as in the defaults (the round trip checks) */
            if ((strcmp(sec, "preset") == 0 && strcmp(k, "name") == 0) || json_is_null(x))
                continue;
            fprintf(f, "%s = ", k);
            size_t i;
            json_t *y;
            switch (json_typeof(x)) {
            case JSON_STRING:  fputs(json_string_value(x), f); break;
            case JSON_INTEGER: fprintf(f, "%lld", (long long)json_integer_value(x)); break;
            case JSON_REAL:    fprintf(f, "%.17g", json_real_value(x)); break;
            case JSON_TRUE:    fputs("true", f); break;
            case JSON_FALSE:   fputs("false", f); break;
            case JSON_ARRAY:
                json_array_foreach(x, i, y)
                    fprintf(f, "%s%s", i ? ", " : "", json_string_value(y) ? json_string_value(y) : "");
                break;
            default:           break;
            }
            fputc('\n', f);
        }
    }
    fclose(f);
    return buf;
}

int report_config_from_json(const char *config_json, const char *origin, vb_config *c,
                            vb_error *e)
{
    json_t *cfg = config_json ? json_loads(config_json, 0, NULL) : NULL;
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return vb_fail(e, VB_ERR_IO, "%s: no settings recorded", origin);
    }
    int rc = 0;
    const char *sec, *k;
    json_t *v, *x;
    json_object_foreach(cfg, sec, v) {
        if (!json_is_object(v))
            rc = -1;
    }
    if (rc != 0) {
        json_decref(cfg);
        return vb_fail(e, VB_ERR_CONFIG, "%s: the settings are not sections of keys", origin);
    }
    char *ini = config_to_ini(cfg);
    char *where = vb_xasprintf("the settings of %s", origin);
    rc = preset_load_string(c, ini, where, e);
    free(ini);
    free(where);
    const char *name = json_string_value(json_object_get(json_object_get(cfg, "preset"), "name"));
    if (rc == 0 && name) {
        free(c->name);
        c->name = vb_xstrdup(name);
    }
    if (rc == 0) {
        /* Only exactly the settings recorded: a value that does not come
         * back as it was (a string holding a newline and a section ...)
         * is refused. */
        json_t *again = report_config_json(c);
        /* Every recorded key must come back as it was; keys a newer
         * vbatch added are not in an older journal and keep their
         * defaults. */
        bool same = json_is_object(again);
        json_object_foreach(cfg, sec, v) {
            json_t *sa = json_object_get(again, sec);
            json_object_foreach(v, k, x) {
                if (!(strcmp(sec, "preset") == 0 && strcmp(k, "name") == 0) &&
                    !json_equal(x, json_object_get(sa, k)))
                    same = false;
            }
        }
        if (!same)
            rc = vb_fail(e, VB_ERR_CONFIG, "%s: its settings can not be restored", origin);
        json_decref(again);
    }
    json_decref(cfg);
    return rc;
}

int report_load_config(const char *out_dir, const char *batch_id, vb_config *c, vb_error *e)
{
    state_batch b = {0};
    state *st = state_open(out_dir, STATE_READ, e);
    int rc = -1;
    if (st && state_batch_get(st, batch_id, &b, e) == 0) {
        char *origin = vb_xasprintf("batch %s", b.id);
        rc = report_config_from_json(b.config_json, origin, c, e);
        free(origin);
    }
    state_batch_clear(&b);
    state_close(&st);
    return rc;
}
