/* FlexBuffers reading, for custom_options (TFLite_Detection_PostProcess, MediaPipe ops and
 * most other custom ops store a map at the root).
 *
 * There is no separate verifier: every access checks its bytes, so any input (truncated,
 * random, hostile) is safe to read. A value that cannot be read (out of bounds, wrong type,
 * missing key, index past the end) reads as a null reference: numbers 0, strings NULL,
 * lengths 0. Only the first `size` bytes of the buffer are ever touched.
 *
 *   flex_ref root = flex_root(op->custom_options, op->custom_options_size);
 *   int64_t n = flex_as_int(flex_map_get(root, "max_detections"));
 *   double s = flex_as_float(flex_map_get(root, "y_scale")); */
#ifndef TFL_FORMAT_FLEXBUF_H
#define TFL_FORMAT_FLEXBUF_H

#include <stddef.h>
#include <stdint.h>

typedef enum flex_type {
  FLEX_NULL = 0,
  FLEX_INT = 1,
  FLEX_UINT = 2,
  FLEX_FLOAT = 3,
  FLEX_KEY = 4,
  FLEX_STRING = 5,
  FLEX_INDIRECT_INT = 6,
  FLEX_INDIRECT_UINT = 7,
  FLEX_INDIRECT_FLOAT = 8,
  FLEX_MAP = 9,
  FLEX_VECTOR = 10,
  FLEX_VECTOR_INT = 11,
  FLEX_VECTOR_UINT = 12,
  FLEX_VECTOR_FLOAT = 13,
  FLEX_VECTOR_KEY = 14,
  FLEX_VECTOR_STRING_DEPRECATED = 15,
  FLEX_VECTOR_INT2 = 16, /* fixed-length typed vectors: INT2 UINT2 FLOAT2 INT3 ... FLOAT4 */
  FLEX_VECTOR_FLOAT4 = 24,
  FLEX_BLOB = 25,
  FLEX_BOOL = 26,
  FLEX_VECTOR_BOOL = 36
} flex_type;

/* A value: where it is stored and how to read it. Copy freely; it points into the buffer. */
typedef struct flex_ref {
  const uint8_t *buf;
  size_t size;
  size_t pos;           /* the value's slot: the scalar itself or an offset back to the data */
  uint8_t parent_width; /* bytes of that slot */
  uint8_t byte_width;   /* bytes of each element (or of the scalar) the slot points to */
  uint8_t type;         /* flex_type */
} flex_ref;

flex_ref flex_root(const void *data, size_t size);
flex_type flex_get_type(flex_ref r);
int flex_is_null(flex_ref r);

/* Numeric conversions accept INT, UINT, FLOAT, BOOL and the INDIRECT kinds (floats are
 * truncated toward zero and saturate); anything else reads as 0. */
int64_t flex_as_int(flex_ref r);
uint64_t flex_as_uint(flex_ref r);
double flex_as_float(flex_ref r);
int flex_as_bool(flex_ref r);
/* STRING or KEY contents (NUL-terminated); NULL for other types. len may be NULL. */
const char *flex_as_string(flex_ref r, size_t *len);
/* BLOB (or STRING) bytes; NULL for other types. */
const uint8_t *flex_as_blob(flex_ref r, size_t *len);

/* Elements of a VECTOR, typed or fixed-length vector, or MAP (its values, in key order). */
size_t flex_vector_len(flex_ref r);
flex_ref flex_vector_at(flex_ref r, size_t i);
/* Map lookup (keys are sorted, so this is a binary search); null ref when absent. */
flex_ref flex_map_get(flex_ref r, const char *key);
/* The i-th key of a map, or NULL. */
const char *flex_map_key_at(flex_ref r, size_t i);

#endif
