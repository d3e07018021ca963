/* Fuzz target: the CLI's .npy reader (tools/tfl/npy.c), which parses user-supplied files. A
 * parse must fail with a message or describe exactly the bytes that follow the header. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "../../tools/tfl/npy.h"

tfl_status fuzz_npy_run(const uint8_t *data, size_t size, char *err, size_t err_size) {
  npy_array a;
  tfl_status st = npy_parse(data, size, &a, err, err_size);
  if (st != TFL_OK) return st;
  size_t bytes = tfl_type_size(a.type);
  int overflow = a.ndim < 0 || a.ndim > TFL_MAX_DIMS;
  for (int d = 0; d < a.ndim && !overflow; d++)
    overflow = a.dims[d] < 0 || __builtin_mul_overflow(bytes, (size_t)a.dims[d], &bytes);
  if (overflow || bytes != a.bytes || a.bytes > size) {
    fprintf(stderr, "npy: the shape does not describe the %zu data bytes\n", a.bytes);
    abort();
  }
  const uint8_t *p = a.data;
  volatile unsigned sink = 0;
  for (size_t k = 0; k < a.bytes; k++) sink += p[k];
  (void)sink;
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
