/* Decoding a verified TFLite FlatBuffer into struct tfl_model, with the semantic checks that
 * need no op knowledge (indices, shapes, buffer sizes, quantization, sparsity). Internal to
 * src/model. */
#ifndef TFL_MODEL_DECODE_H
#define TFL_MODEL_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "format/flatbuf.h"
#include "model/arena.h"
#include "model/model.h"

typedef struct tfl_decoder {
  tfl_model *model;
  tfl_arena arena;
  fb_table root;
  fb_vector buffers;
  char *err;
  size_t err_size;
  char where[96]; /* "subgraph 0 tensor 3 ('name')": prefixes error messages */
  /* Vector elements the decoder may still copy or scan. The verifier bounds the number of
   * tables, but a vector can be shared by any number of tables; with this budget (file size
   * + 2^20 elements) decoding time and memory stay proportional to the file's size. */
  uint64_t budget;
} tfl_decoder;

/* Writes "<where>: <message>" to the error buffer and returns status. */
tfl_status tfl_decode_fail(tfl_decoder *d, tfl_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Zeroed arena memory; reports out of memory itself (NULL then). */
void *tfl_decode_alloc(tfl_decoder *d, size_t count, size_t size);
/* Takes n elements from the budget; TFL_LIMIT_EXCEEDED (with a message) when spent. */
tfl_status tfl_decode_charge(tfl_decoder *d, uint64_t n);
/* Copies an int32 vector (NULL-safe: an absent vector gives 0 entries). */
tfl_status tfl_decode_ivec(tfl_decoder *d, fb_vector v, int32_t **out, int *n);

/* The bytes of buffer `index` (< number of buffers): inline data, or offset/size into the
 * file. *data is NULL when the buffer holds nothing. */
tfl_status tfl_decode_buffer(tfl_decoder *d, uint32_t index, const uint8_t **data, size_t *size);

/* Tensor `index` of a subgraph with n_tensors tensors. */
tfl_status tfl_decode_tensor(tfl_decoder *d, fb_table t, int n_tensors, tfl_model_tensor *out);

/* Verifies m->bytes and fills every other field of m; on failure the message is in d->err
 * and the caller frees the arena. */
tfl_status tfl_decode_model(tfl_decoder *d);

#endif
