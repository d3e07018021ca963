/* Fuzz target: the CLI's .npy reader (tools/tfl/npy.c), which parses user-supplied files. A
 * parse must fail with a message or describe exactly the bytes that follow the header. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "../../tools/tfl/npy.h"

/* Each string must lie inside the data or inside the reader's own table block. */
static int strings_in_bounds(const npy_array *a) {
  const char *data = a->data, *block = (const char *)a->strings;
  const size_t block_bytes = a->n_strings * sizeof(tfl_string) + a->bytes + 1;
  for (size_t i = 0; i < a->n_strings; i++) {
    const tfl_string s = a->strings[i];
    const int in_data = s.data >= data && s.size <= a->bytes &&
                        (size_t)(s.data - data) <= a->bytes - s.size;
    const int in_block = s.data >= block && s.size <= block_bytes &&
                         (size_t)(s.data - block) <= block_bytes - s.size;
    if (!in_data && !in_block) return 0;
  }
  return 1;
}

static void touch(const void *data, size_t n) {
  const uint8_t *p = data;
  volatile unsigned sink = 0;
  for (size_t k = 0; k < n; k++) sink += p[k];
  (void)sink;
}

tfl_status fuzz_npy_run(const uint8_t *data, size_t size, char *err, size_t err_size) {
  npy_array a;
  tfl_status st = npy_parse(data, size, &a, err, err_size);
  if (st != TFL_OK) return st;
  /* string arrays: the shape counts strings, and the data holds fixed-width items */
  const int strings = a.type == TFL_STRING;
  size_t count = 1;
  int overflow = a.ndim < 0 || a.ndim > TFL_MAX_DIMS;
  for (int d = 0; d < a.ndim && !overflow; d++)
    overflow = a.dims[d] < 0 || __builtin_mul_overflow(count, (size_t)a.dims[d], &count);
  size_t bytes = 0;
  if (!overflow && !strings) overflow = __builtin_mul_overflow(count, tfl_type_size(a.type), &bytes);
  if (overflow || a.bytes > size || (strings ? a.n_strings != count : bytes != a.bytes) ||
      (strings && !strings_in_bounds(&a))) {
    fprintf(stderr, "npy: the shape does not describe the %zu data bytes\n", a.bytes);
    abort();
  }
  touch(a.data, a.bytes);
  for (size_t i = 0; i < a.n_strings; i++) touch(a.strings[i].data, a.strings[i].size);
  npy_free(&a);
  return TFL_OK;
}

#ifndef TFL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512] = "";
  if (fuzz_npy_run(data, size, err, sizeof(err)) != TFL_OK && err[0] == '\0') {
    fprintf(stderr, "npy: failed without a message\n");
    abort();
  }
  return 0;
}
#endif
