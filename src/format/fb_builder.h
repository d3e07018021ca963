/* FlatBuffers writing: a growable buffer filled back to front, as FlatBuffers requires (an
 * object can only refer forward, to objects created before it).
 *
 *   fb_builder b;
 *   fbb_init(&b);
 *   fb_ref name = fbb_string(&b, "x");          // children first ...
 *   fbb_start(&b);                               // ... then the table that refers to them
 *   fbb_add_ref(&b, 0, name);
 *   fbb_add_u32(&b, 1, 42);
 *   fb_ref root = fbb_end(&b);
 *   uint8_t *bytes = fbb_finish(&b, root, "TFL3", &size);  // malloc'd; NULL on any failure
 *   fbb_free(&b);
 *
 * Only one table can be open at a time, and no string or vector can be created while one is:
 * this is the FlatBuffers rule that a table's fields are contiguous. Errors (out of memory,
 * misuse, more than 2 GiB) are sticky: later calls do nothing and fbb_finish returns NULL, so
 * callers check once at the end. Values are written little-endian and every scalar is aligned
 * to its size; fields are written exactly as added (no default elision, no vtable sharing). */
#ifndef TFL_FORMAT_FB_BUILDER_H
#define TFL_FORMAT_FB_BUILDER_H

#include <stddef.h>
#include <stdint.h>

/* A finished object: its distance from the end of the buffer. 0 means "none". */
typedef uint32_t fb_ref;

typedef struct fb_builder {
  uint8_t *buf;      /* the data so far is the last `size` bytes of the `cap` allocated */
  size_t cap;
  size_t size;
  size_t max_align;  /* largest alignment requested; the final size is a multiple of it */
  uint32_t *slots;   /* the open table: field -> position of its value, 0 if not added */
  int n_slots;       /* highest added field + 1 */
  int slots_cap;
  size_t table_mark; /* size when the open table started */
  int in_table;
  int failed;
} fb_builder;

void fbb_init(fb_builder *b);
void fbb_free(fb_builder *b);

/* A NUL-terminated string; NULL gives 0 (none). */
fb_ref fbb_string(fb_builder *b, const char *s);
/* A vector of n scalars of elem_size bytes (1, 2, 4 or 8) given in host order. align is the
 * alignment of the element data (e.g. 16 for force_align: 16); it is at least elem_size. */
fb_ref fbb_vector(fb_builder *b, const void *elems, size_t n, size_t elem_size, size_t align);
/* A vector of tables or strings. */
fb_ref fbb_refs(fb_builder *b, const fb_ref *refs, size_t n);

/* Table fields: `field` is the field's id in the schema (its declaration index, where a union
 * takes two: its _type field, then the value). Signed values convert to the unsigned types. */
void fbb_start(fb_builder *b);
void fbb_add_u8(fb_builder *b, int field, uint8_t v);
void fbb_add_u16(fb_builder *b, int field, uint16_t v);
void fbb_add_u32(fb_builder *b, int field, uint32_t v);
void fbb_add_u64(fb_builder *b, int field, uint64_t v);
void fbb_add_f32(fb_builder *b, int field, float v);
/* Adds nothing when ref is 0, so optional children can be passed through unconditionally. */
void fbb_add_ref(fb_builder *b, int field, fb_ref ref);
fb_ref fbb_end(fb_builder *b);

/* Writes the root offset (and a 4-character file identifier unless NULL) and hands the bytes
 * over: a 16-byte aligned buffer to release with free(), or NULL if anything failed. The
 * builder is then empty; fbb_free is still needed. */
uint8_t *fbb_finish(fb_builder *b, fb_ref root, const char *file_id, size_t *size);

#endif
