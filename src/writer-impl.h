/* writer-impl.h - the back-end interface behind writer.h. */
#ifndef VB_WRITER_IMPL_H
#define VB_WRITER_IMPL_H

#include "writer.h"
#include <stdio.h>

enum wval { WV_STRING, WV_INT, WV_DOUBLE, WV_BOOL, WV_NULL };

typedef struct writer_value {
    int type;               /* enum wval */
    const char *s;
    int64_t i;
    double d;
    bool b;
} writer_value;

typedef struct writer_ops {
    void (*begin)(writer *w, const char *key, bool array);
    void (*end)(writer *w);
    void (*value)(writer *w, const char *key, const writer_value *v);
    char *(*finish)(writer *w, size_t *len);
    void (*destroy)(writer *w);
} writer_ops;

struct writer {
    const writer_ops *ops;
    void *priv;
};

extern const writer_ops writer_json_ops, writer_csv_ops, writer_text_ops;
void *writer_json_new(FILE *out);    /* out NULL: a tree, dumped at the end */
void *writer_json_new_lines(FILE *out);
void *writer_csv_new(FILE *out);
void writer_csv_configure(void *priv, char sep, bool bom);
void *writer_text_new(FILE *out);

/* Format a double the way every back end shows it (shortest of %.10g). */
void writer_format_double(char *buf, size_t len, double v);

#endif
