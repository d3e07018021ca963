/* FlatBuffers reading for tfl: a verifier that checks a buffer once against a schema
 * description, and accessors that trust a verified buffer.
 *
 * Accessors never read outside the buffer of a table the verifier accepted; they return the
 * field's default when the field is absent. Tables are values: { buffer base, table offset }. */
#ifndef TFL_FORMAT_FLATBUF_H
#define TFL_FORMAT_FLATBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct fb_table {
  const uint8_t *buf; /* NULL: the table is absent */
  uint32_t pos;       /* offset of the table (its soffset to the vtable) within buf */
} fb_table;

/* A vector: len elements starting at data (after the length prefix). */
typedef struct fb_vector {
  const uint8_t *data; /* NULL when absent */
  uint32_t len;
} fb_vector;

static inline int fb_table_present(fb_table t) { return t.buf != NULL; }

int fb_has(fb_table t, int field);
uint8_t fb_u8(fb_table t, int field, uint8_t def);
int8_t fb_i8(fb_table t, int field, int8_t def);
uint16_t fb_u16(fb_table t, int field, uint16_t def);
int16_t fb_i16(fb_table t, int field, int16_t def);
uint32_t fb_u32(fb_table t, int field, uint32_t def);
int32_t fb_i32(fb_table t, int field, int32_t def);
uint64_t fb_u64(fb_table t, int field, uint64_t def);
int64_t fb_i64(fb_table t, int field, int64_t def);
float fb_f32(fb_table t, int field, float def);
double fb_f64(fb_table t, int field, double def);
int fb_bool(fb_table t, int field, int def);

fb_table fb_subtable(fb_table t, int field);
fb_vector fb_vec(fb_table t, int field);
/* Element i of a vector of tables / strings (i must be < len). */
fb_table fb_vec_table(fb_table t, fb_vector v, uint32_t i);
const char *fb_vec_string(fb_vector v, uint32_t i, uint32_t *len);
/* Strings are verified to be NUL-terminated. NULL when absent. */
const char *fb_string(fb_table t, int field, uint32_t *len);

/* Little-endian element readers for scalar vectors (data may be unaligned). */
int32_t fb_vec_i32(fb_vector v, uint32_t i);
uint32_t fb_vec_u32(fb_vector v, uint32_t i);
int64_t fb_vec_i64(fb_vector v, uint32_t i);
float fb_vec_f32(fb_vector v, uint32_t i);
uint16_t fb_vec_u16(fb_vector v, uint32_t i);
uint8_t fb_vec_u8(fb_vector v, uint32_t i);

#endif
