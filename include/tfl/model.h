/* tfl — loading and verifying .tflite models.
 *
 * A model is immutable once loaded: any number of interpreters, in any threads, may share one.
 * Free it only after every interpreter created from it has been freed. */
#ifndef TFL_MODEL_H
#define TFL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tfl_model tfl_model;

/* Maps the file read-only (zero-copy: constant tensors point into the mapping), verifies
 * every byte that will ever be read, and decodes the graph. On failure *out is NULL and, if
 * err is not NULL, a one-line message is written to err (at most err_size bytes). */
tfl_status tfl_model_load_file(const char *path, tfl_model **out, char *err, size_t err_size);

/* Same over a caller-owned buffer, which must stay valid and unchanged until
 * tfl_model_free(). The buffer should be 16-byte aligned; if it is not, tfl copies it. */
tfl_status tfl_model_load_buffer(const void *data, size_t size, tfl_model **out, char *err,
                                 size_t err_size);

void tfl_model_free(tfl_model *model);

/* The schema version written in the file (3 for every supported file). */
uint32_t tfl_model_schema_version(const tfl_model *model);
int tfl_model_subgraph_count(const tfl_model *model);
const char *tfl_model_description(const tfl_model *model); /* "" when absent */

/* Metadata entries (name -> bytes), e.g. "min_runtime_version" or TFLite Support metadata. */
int tfl_model_metadata_count(const tfl_model *model);
tfl_status tfl_model_metadata(const tfl_model *model, int index, const char **name,
                              const void **data, size_t *size);

/* The tfl library version, e.g. "0.1.0". */
const char *tfl_version(void);

#ifdef __cplusplus
}
#endif
#endif
