/* report-html-impl.h - what the report-html*.c files share: the page's
 * inline style and script (report-html-asset.c) and one item as the JSON
 * object the script renders (report-html-data.c). */
#ifndef VB_REPORT_HTML_IMPL_H
#define VB_REPORT_HTML_IMPL_H

#include "report.h"

#include <stdbool.h>
#include <stdio.h>

extern const char report_html_style[];
/* No "</" in here: the HTML parser ends a script there. */
extern const char report_html_script[];

/* Badge and filter class of a record: pass, warn, fail, error, skip. */
const char *report_html_row_class(const item_record *it);
/* A path from a record that stays inside OUT: relative, no "..". */
bool report_html_safe_rel(const char *p);
/* "../" and the path percent-encoded (caller frees). */
char *report_html_rel_url(const char *p);
/* A data: URI of the file when it is small enough to embed, else NULL. */
char *report_html_data_uri(const char *path);

/* The item as one compact JSON object on f, for the page's script: the
 * record's findings and figures, and from the item's folder under
 * out_dir (NULL: none) the analysis spans, the fix's cut points and the
 * thumbnails' times. embed: images small enough go in as data: URIs.
 * Every '<' is written \u003c, so the text can sit inside a <script>. */
int report_html_item_json(FILE *f, const item_record *it, const char *out_dir, bool embed,
                          vb_error *e);

#endif
