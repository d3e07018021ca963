/* JSON writer (json.h). */
#include "json.h"

#include <math.h>

void json_init(json_writer *w, FILE *out) {
  w->out = out;
  w->depth = 0;
  w->has_items[0] = 0;
}

void json_print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", out);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(out, "\\u%04x", *p);
    else
      fputc(*p, out); /* UTF-8 passes through as is */
  }
  fputc('"', out);
}

/* The open container's flag; containers nested deeper than the tools ever go share the last. */
static int *has_items(json_writer *w) {
  return &w->has_items[w->depth < JSON_MAX_DEPTH ? w->depth : JSON_MAX_DEPTH - 1];
}

/* The comma, newline, indentation and key that precede every value. */
static void begin_value(json_writer *w, const char *key) {
  if (w->depth > 0) {
    fputs(*has_items(w) ? ",\n" : "\n", w->out);
    *has_items(w) = 1;
    fprintf(w->out, "%*s", 2 * w->depth, "");
  }
  if (key) {
    json_print_string(w->out, key);
    fputs(": ", w->out);
  }
}

static void open_container(json_writer *w, const char *key, char bracket) {
  begin_value(w, key);
  fputc(bracket, w->out);
  w->depth++;
  *has_items(w) = 0;
}

static void close_container(json_writer *w, char bracket) {
  int had_items = *has_items(w);
  if (w->depth > 0) w->depth--;
  if (had_items) fprintf(w->out, "\n%*s", 2 * w->depth, "");
  fputc(bracket, w->out);
  if (w->depth == 0) fputc('\n', w->out);
}

void json_begin_object(json_writer *w, const char *key) { open_container(w, key, '{'); }
void json_end_object(json_writer *w) { close_container(w, '}'); }
void json_begin_array(json_writer *w, const char *key) { open_container(w, key, '['); }
void json_end_array(json_writer *w) { close_container(w, ']'); }

void json_string(json_writer *w, const char *key, const char *value) {
  begin_value(w, key);
  if (value)
    json_print_string(w->out, value);
  else
    fputs("null", w->out);
}

void json_int(json_writer *w, const char *key, long long value) {
  begin_value(w, key);
  fprintf(w->out, "%lld", value);
}

void json_size(json_writer *w, const char *key, size_t value) {
  begin_value(w, key);
  fprintf(w->out, "%zu", value);
}

void json_bool(json_writer *w, const char *key, int value) {
  begin_value(w, key);
  fputs(value ? "true" : "false", w->out);
}

void json_null(json_writer *w, const char *key) {
  begin_value(w, key);
  fputs("null", w->out);
}

void json_double(json_writer *w, const char *key, double value, int decimals) {
  begin_value(w, key);
  if (isfinite(value))
    fprintf(w->out, "%.*f", decimals, value);
  else
    fputs("null", w->out);
}

void json_number(json_writer *w, const char *key, double value) {
  begin_value(w, key);
  if (isfinite(value))
    fprintf(w->out, "%.9g", value);
  else
    fputs("null", w->out);
}

void json_int_array(json_writer *w, const char *key, int n, const int32_t *values) {
  begin_value(w, key);
  fputc('[', w->out);
  for (int i = 0; i < n; i++) fprintf(w->out, "%s%ld", i ? ", " : "", (long)values[i]);
  fputc(']', w->out);
}
