/* Fuzz target: the FlexBuffers reader (src/format/flexbuf.h) on any bytes, as a kernel reads
 * custom_options. Every value reachable from the root is read through every accessor; map
 * lookups use the map's own keys and some absent ones. */
#include <string.h>

#include "format/flexbuf.h"
#include "fuzz.h"

/* FlexBuffers offsets point backwards, so nesting cannot loop, but it can be deep and wide. */
#define FF_MAX_DEPTH 16
#define FF_MAX_VALUES 4000
#define FF_MAX_ELEMENTS 64

typedef struct ff_walk {
  size_t visited;
  uint64_t sink;
} ff_walk;

static void ff_visit(ff_walk *w, flex_ref r, int depth);

static void ff_read_scalars(ff_walk *w, flex_ref r) {
  size_t len = 0;
  w->sink += (uint64_t)flex_as_int(r) + flex_as_uint(r) + (uint64_t)flex_as_bool(r);
  double f = flex_as_float(r);
  w->sink += f == f && f > 0;
  const char *s = flex_as_string(r, &len);
  if (s) w->sink += strlen(s) + len;
  const uint8_t *b = flex_as_blob(r, &len);
  if (b && len) w->sink += b[0] + b[len - 1];
}

static void ff_visit_map(ff_walk *w, flex_ref r, int depth) {
  size_t n = flex_vector_len(r);
  for (size_t i = 0; i < n && i < FF_MAX_ELEMENTS; i++) {
    const char *key = flex_map_key_at(r, i);
    if (!key) continue;
    ff_visit(w, flex_map_get(r, key), depth + 1);
  }
  static const char *const absent[] = {"", "a", "max_detections", "\x7f\x7f"};
  for (size_t k = 0; k < sizeof(absent) / sizeof(absent[0]); k++)
    w->sink += flex_get_type(flex_map_get(r, absent[k]));
  w->sink += flex_map_key_at(r, n) == NULL;
}

static void ff_visit(ff_walk *w, flex_ref r, int depth) {
  if (depth > FF_MAX_DEPTH || w->visited >= FF_MAX_VALUES) return;
  w->visited++;
  w->sink += flex_get_type(r) + (uint64_t)flex_is_null(r);
  ff_read_scalars(w, r);
  size_t n = flex_vector_len(r);
  if (n == 0) return;
  if (flex_get_type(r) == FLEX_MAP) ff_visit_map(w, r, depth);
  /* the first elements, the last one and one past the end */
  for (size_t i = 0; i < n && i < FF_MAX_ELEMENTS; i++) ff_visit(w, flex_vector_at(r, i), depth + 1);
  ff_visit(w, flex_vector_at(r, n - 1), depth + 1);
  w->sink += flex_get_type(flex_vector_at(r, n));
}

size_t fuzz_flexbuf_run(const uint8_t *data, size_t size) {
  ff_walk w = {0, 0};
  ff_visit(&w, flex_root(data, size), 0);
  volatile uint64_t sink = w.sink;
  (void)sink;
  return w.visited;
}

#ifndef TFL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_flexbuf_run(data, size);
  return 0;
}
#endif
