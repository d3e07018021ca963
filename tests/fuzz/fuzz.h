/* The fuzz targets, shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c, built by
 * `make fuzz`) and by tests/unit/test_negative.c, which replays tests/fuzz/regressions/
 * through the same code without a fuzzer. Each harness file defines LLVMFuzzerTestOneInput
 * unless TFL_FUZZ_NO_ENTRY is defined, so the test can include all three. */
#ifndef TFL_TESTS_FUZZ_H
#define TFL_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/status.h"

/* What the model harness gives the interpreter (a fuzzed model may ask for anything). */
typedef struct fuzz_config {
  size_t max_arena;        /* tfl_options_set_limits */
  size_t max_tensor;
  size_t max_invoke_arena; /* invoke only when the planned arena is at most this: bounds the
                            * work per input (an op's compute grows with its activations; its
                            * weights are bounded by the file) */
  int fill;                /* input bytes: -1 takes them from the fuzz data, else this byte */
} fuzz_config;

#define FUZZ_CONFIG_DEFAULT {(size_t)64 << 20, (size_t)64 << 20, (size_t)1 << 20, -1}

typedef struct fuzz_outcome {
  tfl_status status;  /* of the first step that failed, TFL_OK if none did */
  const char *stage;  /* that step: "load", "create", "allocate", "invoke", "signature" */
  char message[1024]; /* its message */
  int invoked;        /* invoke was attempted */
} fuzz_outcome;

/* Loads the bytes as a model, builds an interpreter with the limits of `config` (NULL: the
 * default), allocates, fills the inputs and invokes (when the arena is small enough), then
 * allocates the subgraphs of the first signatures. Returns the outcome's status. */
tfl_status fuzz_model_run(const uint8_t *data, size_t size, const fuzz_config *config,
                          fuzz_outcome *out);

/* Walks a FlexBuffer completely (bounded in depth and in values visited), reading every
 * value through every accessor. Returns the number of values visited. */
size_t fuzz_flexbuf_run(const uint8_t *data, size_t size);

/* Parses the bytes as a .npy file; on success reads every data byte. */
tfl_status fuzz_npy_run(const uint8_t *data, size_t size, char *err, size_t err_size);

#endif
