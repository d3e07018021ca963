/* FlatBuffers verification driven by a compact schema description.
 *
 * A table is described by one character per vtable slot (slot N = the N-th field declared in
 * the schema, counting deprecated fields; a union takes two slots, its type then its value):
 *
 *   scalars  b int8   B uint8   o bool   h int16   H uint16   i int32   I uint32
 *            l int64  L uint64  f float  d double
 *            g uint32 index of a subgraph (a scalar here; the model layer range-checks it)
 *   offsets  s string   t table        u union type (uint8)   U union value (after its u)
 *            1 2 4 8  vector of scalars of that many bytes
 *            G vector of int32 subgraph indices   S vector of strings   T vector of tables
 *
 * Each t and T takes the next entry of `tables`, each U the next entry of `unions`, in slot
 * order. Slots past the end of `fields` (written by a newer schema) are not read by tfl and
 * are not verified; they can never be reached through a description.
 *
 * fb_verify() checks everything an accessor of flatbuf.h will touch for described fields:
 * offsets in range, non-zero and aligned; vtables in range, of even size >= 4; fields inside
 * their table's inline data and aligned to their size; vector lengths that fit without
 * overflow; strings NUL-terminated inside the buffer; union types known. Nesting depth and
 * the number of tables visited are bounded (FB_MAX_DEPTH, FB_MAX_TABLES, the FlatBuffers
 * library's defaults, which TensorFlow Lite uses), so a hostile buffer that shares subtables
 * cannot make verification slow. */
#ifndef TFL_FORMAT_VERIFY_H
#define TFL_FORMAT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "format/flatbuf.h"

#define FB_MAX_DEPTH 64
#define FB_MAX_TABLES 1000000u
/* uoffsets are 32-bit but FlatBuffers limits a buffer to 2 GiB - 1 so they never overflow
 * signed arithmetic. Larger files keep their tail outside the FlatBuffer (see Buffer.offset). */
#define FB_MAX_SIZE 0x7fffffffu

typedef struct fb_table_desc fb_table_desc;

typedef struct fb_union_desc {
  const char *name;
  int count;                    /* member types are 1..count; 0 is NONE */
  const fb_table_desc *members; /* members[type - 1] */
} fb_union_desc;

struct fb_table_desc {
  const char *name;
  const char *fields;
  const fb_table_desc *const *tables;
  const fb_union_desc *const *unions;
};

/* Verifies buf[0..size) (only its first FB_MAX_SIZE bytes are addressable) as a buffer whose
 * root table is described by `root`. `identifier` (4 characters) is required at bytes 4..7
 * unless NULL. Returns 0 if the buffer is valid, -1 otherwise with a one-line message in
 * err. The root table is returned in *out_root on success. */
int fb_verify(const uint8_t *buf, size_t size, const char *identifier, const fb_table_desc *root,
              fb_table *out_root, char *err, size_t err_size);

/* Reads of a verified table through its description: the field's declared type decides the
 * width, signedness and conversion. `def` comes back when the field is absent, out of the
 * description, or not of a matching kind (fb_desc_int on a float field and vice versa also
 * convert; on a string or vector they return def). */
int64_t fb_desc_int(fb_table t, const fb_table_desc *d, int field, int64_t def);
double fb_desc_float(fb_table t, const fb_table_desc *d, int field, double def);
/* A vector field whose elements are `elem_size`-byte scalars; absent (data NULL) otherwise. */
fb_vector fb_desc_vec(fb_table t, const fb_table_desc *d, int field, int elem_size);
/* The kind character of a field, or 0 when the description has no such field. */
char fb_desc_kind(const fb_table_desc *d, int field);

#endif
