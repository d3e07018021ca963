/* A small JSON writer for the tools' --json output: one value per line, indented, with the
 * commas and nesting tracked for the caller. Keys are given to every call inside an object
 * and are NULL inside arrays (and for the top-level value). */
#ifndef TFL_TOOLS_JSON_H
#define TFL_TOOLS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct json_writer {
  FILE *out;
  int depth;
  int has_items[JSON_MAX_DEPTH]; /* whether the open container at each depth has a member */
} json_writer;

void json_init(json_writer *w, FILE *out);

void json_begin_object(json_writer *w, const char *key);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w, const char *key);
void json_end_array(json_writer *w);

/* NULL strings are written as null. */
void json_string(json_writer *w, const char *key, const char *value);
void json_int(json_writer *w, const char *key, long long value);
void json_size(json_writer *w, const char *key, size_t value);
void json_bool(json_writer *w, const char *key, int value);
void json_null(json_writer *w, const char *key);
/* With `decimals` digits after the point; NaN and infinities are written as null. */
void json_double(json_writer *w, const char *key, double value, int decimals);
/* With up to 9 significant digits (enough for any float), e.g. a quantization scale. */
void json_number(json_writer *w, const char *key, double value);
/* A short integer array on one line, e.g. a shape: [1, 224, 224, 3]. */
void json_int_array(json_writer *w, const char *key, int n, const int32_t *values);

/* s as a JSON string literal, quotes included. */
void json_print_string(FILE *out, const char *s);

#endif
