/* FlatBuffers writing (see fb_builder.h). Positions are distances from the end of the buffer,
 * which stay valid while it grows at the front; a uoffset stored at distance `at` to an object
 * at distance `ref` is at - ref. */
#include "format/fb_builder.h"

#include <stdlib.h>
#include <string.h>

#define FBB_MAX_SIZE ((size_t)INT32_MAX) /* offsets are 32-bit */
#define FBB_MAX_FIELDS 32765             /* a vtable's byte size must fit in 16 bits */
#define FBB_INITIAL_CAP 256

void fbb_init(fb_builder *b) {
  memset(b, 0, sizeof(*b));
  b->max_align = 4;
}

void fbb_free(fb_builder *b) {
  free(b->buf);
  free(b->slots);
  fbb_init(b);
}

static void put_le(uint8_t *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load_host(const uint8_t *p, size_t n) {
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  switch (n) {
    case 1: memcpy(&u8, p, 1); return u8;
    case 2: memcpy(&u16, p, 2); return u16;
    case 4: memcpy(&u32, p, 4); return u32;
    default: memcpy(&u64, p, 8); return u64;
  }
}

/* Makes room for n more bytes in front of the data. The allocation is 16-byte aligned so that
 * fbb_finish can hand over the buffer itself. */
static int fbb_reserve(fb_builder *b, size_t n) {
  if (b->failed) return 0;
  if (n > FBB_MAX_SIZE - b->size) {
    b->failed = 1;
    return 0;
  }
  if (b->buf && b->cap - b->size >= n) return 1;
  size_t cap = b->cap ? b->cap : FBB_INITIAL_CAP;
  while (cap - b->size < n) cap *= 2;
  uint8_t *nb = aligned_alloc(16, cap);
  if (!nb) {
    b->failed = 1;
    return 0;
  }
  if (b->size) memcpy(nb + cap - b->size, b->buf + b->cap - b->size, b->size);
  free(b->buf);
  b->buf = nb;
  b->cap = cap;
  return 1;
}

/* Claims n zeroed bytes in front of the data. */
static uint8_t *fbb_push(fb_builder *b, size_t n) {
  if (!fbb_reserve(b, n)) return NULL;
  b->size += n;
  uint8_t *p = b->buf + b->cap - b->size;
  memset(p, 0, n);
  return p;
}

/* Pads so that the next n bytes pushed start `align`-aligned. Alignment from the end equals
 * alignment from the start because fbb_finish pads the total to a multiple of max_align. */
static void fbb_align(fb_builder *b, size_t n, size_t align) {
  if (align > b->max_align) b->max_align = align;
  fbb_push(b, (align - (b->size + n) % align) % align);
}

static uint8_t *fbb_push_scalar(fb_builder *b, uint64_t v, size_t n) {
  fbb_align(b, n, n);
  uint8_t *p = fbb_push(b, n);
  if (p) put_le(p, v, n);
  return p;
}

/* Writes at p (at distance `at`) the uoffset to an object created earlier. */
static void fbb_put_uoffset(fb_builder *b, uint8_t *p, size_t at, fb_ref ref) {
  if (ref == 0 || ref >= at) {
    b->failed = 1;
    return;
  }
  put_le(p, at - ref, 4);
}

/* Strings and vectors cannot be created inside an open table. */
static int fbb_can_create(fb_builder *b) {
  if (b->in_table) b->failed = 1;
  return !b->failed;
}

static fb_ref fbb_end_vector(fb_builder *b, size_t n) {
  fbb_push_scalar(b, n, 4);
  return b->failed ? 0 : (fb_ref)b->size;
}

fb_ref fbb_string(fb_builder *b, const char *s) {
  if (!s || !fbb_can_create(b)) return 0;
  size_t len = strlen(s);
  fbb_align(b, len + 1, 4);
  uint8_t *p = fbb_push(b, len + 1); /* zeroed, so NUL-terminated */
  if (!p) return 0;
  memcpy(p, s, len);
  return fbb_end_vector(b, len);
}

fb_ref fbb_vector(fb_builder *b, const void *elems, size_t n, size_t elem_size, size_t align) {
  if (!fbb_can_create(b)) return 0;
  int size_ok = elem_size == 1 || elem_size == 2 || elem_size == 4 || elem_size == 8;
  if (!size_ok || (align & (align - 1)) || (n && !elems) || n > FBB_MAX_SIZE / elem_size) {
    b->failed = 1;
    return 0;
  }
  if (align < elem_size) align = elem_size;
  fbb_align(b, n * elem_size, align < 4 ? 4 : align); /* 4: the length prefix */
  uint8_t *p = fbb_push(b, n * elem_size);
  if (!p) return 0;
  const uint8_t *src = elems;
  for (size_t i = 0; i < n; i++)
    put_le(p + i * elem_size, load_host(src + i * elem_size, elem_size), elem_size);
  return fbb_end_vector(b, n);
}

fb_ref fbb_refs(fb_builder *b, const fb_ref *refs, size_t n) {
  if (!fbb_can_create(b)) return 0;
  if (n > FBB_MAX_SIZE / 4) {
    b->failed = 1;
    return 0;
  }
  fbb_align(b, n * 4, 4);
  uint8_t *p = fbb_push(b, n * 4);
  if (!p) return 0;
  for (size_t i = 0; i < n; i++) fbb_put_uoffset(b, p + 4 * i, b->size - 4 * i, refs[i]);
  return fbb_end_vector(b, n);
}

void fbb_start(fb_builder *b) {
  if (!fbb_can_create(b)) return;
  b->in_table = 1;
  b->table_mark = b->size;
  if (b->n_slots) memset(b->slots, 0, (size_t)b->n_slots * sizeof(*b->slots));
  b->n_slots = 0;
}

static int fbb_field_ok(fb_builder *b, int field) {
  if (!b->in_table || field < 0 || field >= FBB_MAX_FIELDS) b->failed = 1;
  return !b->failed;
}

/* Records that `field`'s value was just pushed. */
static void fbb_slot(fb_builder *b, int field) {
  if (field >= b->slots_cap) {
    int cap = b->slots_cap ? b->slots_cap : 16;
    while (cap <= field) cap *= 2;
    uint32_t *s = realloc(b->slots, (size_t)cap * sizeof(*s));
    if (!s) {
      b->failed = 1;
      return;
    }
    memset(s + b->slots_cap, 0, (size_t)(cap - b->slots_cap) * sizeof(*s));
    b->slots = s;
    b->slots_cap = cap;
  }
  b->slots[field] = (uint32_t)b->size;
  if (field >= b->n_slots) b->n_slots = field + 1;
}

static void fbb_add_scalar(fb_builder *b, int field, uint64_t v, size_t n) {
  if (fbb_field_ok(b, field) && fbb_push_scalar(b, v, n)) fbb_slot(b, field);
}

void fbb_add_u8(fb_builder *b, int field, uint8_t v) { fbb_add_scalar(b, field, v, 1); }
void fbb_add_u16(fb_builder *b, int field, uint16_t v) { fbb_add_scalar(b, field, v, 2); }
void fbb_add_u32(fb_builder *b, int field, uint32_t v) { fbb_add_scalar(b, field, v, 4); }
void fbb_add_u64(fb_builder *b, int field, uint64_t v) { fbb_add_scalar(b, field, v, 8); }

void fbb_add_f32(fb_builder *b, int field, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof(bits));
  fbb_add_scalar(b, field, bits, 4);
}

void fbb_add_ref(fb_builder *b, int field, fb_ref ref) {
  if (ref == 0 || !fbb_field_ok(b, field)) return;
  fbb_align(b, 4, 4);
  uint8_t *p = fbb_push(b, 4);
  if (!p) return;
  fbb_put_uoffset(b, p, b->size, ref);
  fbb_slot(b, field);
}

/* The table starts with an soffset to its vtable, which is written just in front of it:
 * [vtable size, table size, offset of field 0, field 1, ...], all uint16. */
fb_ref fbb_end(fb_builder *b) {
  if (!b->in_table) b->failed = 1;
  b->in_table = 0;
  if (!fbb_push_scalar(b, 0, 4)) return 0;
  size_t table = b->size;
  size_t table_size = table - b->table_mark;
  if (table_size > UINT16_MAX) b->failed = 1;
  for (int f = b->n_slots - 1; f >= 0; f--)
    fbb_push_scalar(b, b->slots[f] ? table - b->slots[f] : 0, 2);
  fbb_push_scalar(b, table_size, 2);
  fbb_push_scalar(b, 4 + 2 * (size_t)b->n_slots, 2);
  if (b->failed) return 0;
  put_le(b->buf + b->cap - table, b->size - table, 4);
  return (fb_ref)table;
}

uint8_t *fbb_finish(fb_builder *b, fb_ref root, const char *file_id, size_t *size) {
  *size = 0;
  if (b->in_table || (file_id && strlen(file_id) != 4)) b->failed = 1;
  fbb_align(b, file_id ? 8 : 4, b->max_align);
  if (file_id) {
    uint8_t *id = fbb_push(b, 4);
    if (id) memcpy(id, file_id, 4);
  }
  uint8_t *p = fbb_push(b, 4);
  if (p) fbb_put_uoffset(b, p, b->size, root);
  if (b->failed) return NULL;
  uint8_t *out = b->buf;
  memmove(out, b->buf + b->cap - b->size, b->size);
  *size = b->size;
  b->buf = NULL;
  b->cap = b->size = 0;
  return out;
}
