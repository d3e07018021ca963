/* TFLite's encoding of string tensor data, shared by the model loader (which verifies
 * constants) and the runtime (which writes string tensors):
 *
 *   int32 N | int32 offset[0] ... offset[N] | bytes
 *
 * all little-endian, offsets counted from the start of the data; string i is the bytes
 * [offset[i], offset[i + 1]). TFLite writes offset[0] = 4 * (N + 2), right after the header.
 * Nothing here assumes the data is aligned. */
#ifndef TFL_MODEL_STRING_DATA_H
#define TFL_MODEL_STRING_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/string.h"

/* Bytes of the count and offsets for n strings. */
#define TFL_STRING_HEADER_BYTES(n) (4 * ((size_t)(n) + 2))
/* Offsets are int32: an encoding is at most this many bytes. */
#define TFL_STRING_DATA_MAX ((size_t)INT32_MAX)

/* NULL when data[0..size) encodes exactly `count` strings inside its bounds (offsets not
 * decreasing, none before the header or past the end; trailing bytes are allowed), else a
 * short reason. An empty buffer is valid for count 0. */
const char *tfl_string_data_check(const void *data, size_t size, uint64_t count);

/* The stored count, or 0 when size cannot hold it (no validation beyond that). */
size_t tfl_string_data_count(const void *data, size_t size);

/* String i of an encoding already checked by tfl_string_data_check. */
tfl_string tfl_string_data_at(const void *data, size_t i);

/* String i of an unchecked encoding of `size` bytes: checks only what reading it needs (the
 * count, and the two offsets inside the data past the header, in order). Returns 0 when that
 * fails or i is out of range. */
int tfl_string_data_get(const void *data, size_t size, size_t i, tfl_string *out);

/* The encoding's size for n strings of `chars` bytes in total; 0 if it would exceed
 * TFL_STRING_DATA_MAX. */
size_t tfl_string_data_size(size_t n, size_t chars);

/* Writes an encoding sequentially into a buffer of tfl_string_data_size(n, chars) bytes. */
typedef struct tfl_string_writer {
  uint8_t *data;
  size_t i;     /* strings written */
  uint32_t end; /* where the next string's bytes go */
} tfl_string_writer;

void tfl_string_writer_init(tfl_string_writer *w, void *data, size_t n);
void tfl_string_writer_add(tfl_string_writer *w, tfl_string s);

#endif
