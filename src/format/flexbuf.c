/* FlexBuffers reader. Layout reminders: the root is described by the last two bytes (packed
 * type, then the root slot's width); a packed type is (type << 2) | log2(width); non-inline
 * values sit before the slot that refers to them (slot holds an unsigned distance back);
 * vectors and strings are preceded by their length, maps additionally by the position and
 * width of their sorted key vector. */
#include "format/flexbuf.h"

#include <string.h>

static const flex_ref null_ref = {NULL, 0, 0, 1, 1, FLEX_NULL};

static int valid_width(uint64_t w) { return w == 1 || w == 2 || w == 4 || w == 8; }

/* Reads a little-endian unsigned value of width w at pos; 0 with *ok cleared when out of
 * bounds. */
static uint64_t read_uint(const flex_ref *r, size_t pos, unsigned w, int *ok) {
  if (!r->buf || !valid_width(w) || pos > r->size || w > r->size - pos) {
    *ok = 0;
    return 0;
  }
  uint64_t v = 0;
  for (unsigned i = 0; i < w; i++) v |= (uint64_t)r->buf[pos + i] << (8 * i);
  return v;
}

static int64_t sign_extend(uint64_t v, unsigned w) {
  if (w >= 8) return (int64_t)v;
  uint64_t sign = (uint64_t)1 << (8 * w - 1);
  return (int64_t)((v ^ sign) - sign);
}

static double read_float(const flex_ref *r, size_t pos, unsigned w, int *ok) {
  uint64_t bits = read_uint(r, pos, w, ok);
  if (w == 4) {
    uint32_t b32 = (uint32_t)bits;
    float f;
    memcpy(&f, &b32, sizeof(f));
    return f;
  }
  if (w == 8) {
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
  }
  return 0.0; /* half floats are not produced by FlexBuffers builders */
}

/* Where a non-inline value's data starts; 0 with *ok cleared when out of bounds. */
static size_t indirect(const flex_ref *r, int *ok) {
  uint64_t back = read_uint(r, r->pos, r->parent_width, ok);
  if (!*ok || back > r->pos) {
    *ok = 0;
    return 0;
  }
  return r->pos - (size_t)back;
}

static flex_ref make_ref(const flex_ref *parent, size_t pos, unsigned parent_width,
                         uint8_t packed) {
  flex_ref r = {parent->buf, parent->size, pos, (uint8_t)parent_width,
                (uint8_t)(1u << (packed & 3)), (uint8_t)(packed >> 2)};
  return r;
}

flex_ref flex_root(const void *data, size_t size) {
  const uint8_t *buf = data;
  if (!buf || size < 3) return null_ref;
  unsigned width = buf[size - 1];
  if (!valid_width(width) || size < 2 + (size_t)width) return null_ref;
  flex_ref base = {buf, size, 0, 1, 1, FLEX_NULL};
  return make_ref(&base, size - 2 - width, width, buf[size - 2]);
}

flex_type flex_get_type(flex_ref r) { return r.buf ? (flex_type)r.type : FLEX_NULL; }

int flex_is_null(flex_ref r) { return flex_get_type(r) == FLEX_NULL; }

/* Saturating double -> int64 (a plain cast is undefined out of range). */
static int64_t double_to_int(double d) {
  if (d != d) return 0;
  if (d >= 9223372036854775807.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

static uint64_t double_to_uint(double d) {
  if (!(d > 0)) return 0;
  if (d >= 18446744073709551615.0) return UINT64_MAX;
  return (uint64_t)d;
}

/* The value as one of three numeric kinds; returns 0 for non-numeric types. */
enum num_kind { NUM_NONE, NUM_INT, NUM_UINT, NUM_FLOAT };

static enum num_kind read_number(flex_ref r, int64_t *i, uint64_t *u, double *f) {
  int ok = 1;
  size_t at;
  switch (flex_get_type(r)) {
    case FLEX_INT: *i = sign_extend(read_uint(&r, r.pos, r.parent_width, &ok), r.parent_width);
      return ok ? NUM_INT : NUM_NONE;
    case FLEX_UINT: case FLEX_BOOL: *u = read_uint(&r, r.pos, r.parent_width, &ok);
      return ok ? NUM_UINT : NUM_NONE;
    case FLEX_FLOAT: *f = read_float(&r, r.pos, r.parent_width, &ok);
      return ok ? NUM_FLOAT : NUM_NONE;
    case FLEX_INDIRECT_INT: at = indirect(&r, &ok);
      *i = sign_extend(read_uint(&r, at, r.byte_width, &ok), r.byte_width);
      return ok ? NUM_INT : NUM_NONE;
    case FLEX_INDIRECT_UINT: at = indirect(&r, &ok);
      *u = read_uint(&r, at, r.byte_width, &ok);
      return ok ? NUM_UINT : NUM_NONE;
    case FLEX_INDIRECT_FLOAT: at = indirect(&r, &ok);
      *f = read_float(&r, at, r.byte_width, &ok);
      return ok ? NUM_FLOAT : NUM_NONE;
    default: return NUM_NONE;
  }
}

int64_t flex_as_int(flex_ref r) {
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  switch (read_number(r, &i, &u, &f)) {
    case NUM_INT: return i;
    case NUM_UINT: return u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    case NUM_FLOAT: return double_to_int(f);
    default: return 0;
  }
}

uint64_t flex_as_uint(flex_ref r) {
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  switch (read_number(r, &i, &u, &f)) {
    case NUM_INT: return i < 0 ? 0 : (uint64_t)i;
    case NUM_UINT: return u;
    case NUM_FLOAT: return double_to_uint(f);
    default: return 0;
  }
}

double flex_as_float(flex_ref r) {
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  switch (read_number(r, &i, &u, &f)) {
    case NUM_INT: return (double)i;
    case NUM_UINT: return (double)u;
    case NUM_FLOAT: return f;
    default: return 0.0;
  }
}

int flex_as_bool(flex_ref r) {
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  switch (read_number(r, &i, &u, &f)) {
    case NUM_INT: return i != 0;
    case NUM_UINT: return u != 0;
    case NUM_FLOAT: return f != 0.0;
    default: return 0;
  }
}

/* A length-prefixed run of bytes (string or blob) starting at the value's data; with
 * `terminated` the byte after it must be the NUL. */
static const uint8_t *sized_bytes(flex_ref r, int terminated, size_t *len) {
  int ok = 1;
  size_t at = indirect(&r, &ok);
  if (!ok || at < r.byte_width) return NULL;
  uint64_t n = read_uint(&r, at - r.byte_width, r.byte_width, &ok);
  if (!ok || n > r.size - at || (terminated && (n == r.size - at || r.buf[at + n] != 0)))
    return NULL;
  if (len) *len = (size_t)n;
  return r.buf + at;
}

/* A key: NUL-terminated, no length prefix. */
static const char *key_bytes(flex_ref r, size_t *len) {
  int ok = 1;
  size_t at = indirect(&r, &ok);
  if (!ok || at >= r.size) return NULL;
  const uint8_t *end = memchr(r.buf + at, 0, r.size - at);
  if (!end) return NULL;
  if (len) *len = (size_t)(end - (r.buf + at));
  return (const char *)(r.buf + at);
}

const char *flex_as_string(flex_ref r, size_t *len) {
  switch (flex_get_type(r)) {
    case FLEX_STRING: return (const char *)sized_bytes(r, 1, len);
    case FLEX_KEY: return key_bytes(r, len);
    default: return NULL;
  }
}

const uint8_t *flex_as_blob(flex_ref r, size_t *len) {
  flex_type t = flex_get_type(r);
  if (t != FLEX_BLOB && t != FLEX_STRING) return NULL;
  return sized_bytes(r, t == FLEX_STRING, len);
}

/* --- vectors and maps ------------------------------------------------------------------ */

typedef struct vec_view {
  size_t data;       /* first element */
  size_t len;
  unsigned width;    /* bytes per element */
  int elem_type;     /* element type for typed vectors; -1: per-element packed types follow */
} vec_view;

static int is_typed_vector(int t) {
  return (t >= FLEX_VECTOR_INT && t <= FLEX_VECTOR_STRING_DEPRECATED) || t == FLEX_VECTOR_BOOL;
}

static int is_fixed_vector(int t) { return t >= FLEX_VECTOR_INT2 && t <= FLEX_VECTOR_FLOAT4; }

static int typed_element(int t) {
  if (t == FLEX_VECTOR_BOOL) return FLEX_BOOL;
  if (t == FLEX_VECTOR_STRING_DEPRECATED) return FLEX_STRING;
  if (is_fixed_vector(t)) return FLEX_INT + (t - FLEX_VECTOR_INT2) % 3;
  return FLEX_INT + (t - FLEX_VECTOR_INT);
}

/* Resolves a vector-like value; returns 0 if it is not one or does not fit the buffer. */
static int vec_open(flex_ref r, vec_view *v) {
  int t = flex_get_type(r), ok = 1;
  if (t != FLEX_VECTOR && t != FLEX_MAP && !is_typed_vector(t) && !is_fixed_vector(t)) return 0;
  v->data = indirect(&r, &ok);
  v->width = r.byte_width;
  if (!ok) return 0;
  if (is_fixed_vector(t)) {
    v->len = (size_t)((t - FLEX_VECTOR_INT2) / 3 + 2);
  } else {
    if (v->data < v->width) return 0;
    uint64_t n = read_uint(&r, v->data - v->width, v->width, &ok);
    if (!ok || n > r.size) return 0;
    v->len = (size_t)n;
  }
  v->elem_type = (t == FLEX_VECTOR || t == FLEX_MAP) ? -1 : typed_element(t);
  /* elements, plus one packed type byte each for untyped vectors and maps */
  size_t per = v->width + (v->elem_type < 0 ? 1 : 0);
  if (v->data > r.size || v->len > (r.size - v->data) / per) return 0;
  return 1;
}

size_t flex_vector_len(flex_ref r) {
  vec_view v;
  return vec_open(r, &v) ? v.len : 0;
}

flex_ref flex_vector_at(flex_ref r, size_t i) {
  vec_view v;
  if (!vec_open(r, &v) || i >= v.len) return null_ref;
  size_t pos = v.data + i * v.width;
  if (v.elem_type >= 0) {
    /* Typed elements are inline scalars or offsets of the vector's width (a deprecated
     * string vector's strings have 1-byte lengths, as FlexBuffers itself reads them). */
    flex_ref e = {r.buf, r.size, pos, (uint8_t)v.width, 1, (uint8_t)v.elem_type};
    if (v.elem_type != FLEX_STRING && v.elem_type != FLEX_KEY) e.byte_width = (uint8_t)v.width;
    return e;
  }
  return make_ref(&r, pos, v.width, r.buf[v.data + v.len * v.width + i]);
}

/* The map's key vector: a typed vector of keys stored before the map's prefix. */
static int map_keys(flex_ref r, vec_view *keys, vec_view *values) {
  if (flex_get_type(r) != FLEX_MAP || !vec_open(r, values)) return 0;
  int ok = 1;
  size_t w = values->width;
  if (values->data < 3 * w) return 0;
  flex_ref slot = {r.buf, r.size, values->data - 3 * w, (uint8_t)w, 1, FLEX_VECTOR_KEY};
  uint64_t key_width = read_uint(&r, values->data - 2 * w, (unsigned)w, &ok);
  if (!ok || !valid_width(key_width)) return 0;
  slot.byte_width = (uint8_t)key_width;
  if (!vec_open(slot, keys) || keys->len != values->len) return 0;
  return 1;
}

static flex_ref key_ref(flex_ref r, const vec_view *keys, size_t i) {
  flex_ref k = {r.buf, r.size, keys->data + i * keys->width, (uint8_t)keys->width, 1, FLEX_KEY};
  return k;
}

const char *flex_map_key_at(flex_ref r, size_t i) {
  vec_view keys, values;
  if (!map_keys(r, &keys, &values) || i >= keys.len) return NULL;
  return key_bytes(key_ref(r, &keys, i), NULL);
}

flex_ref flex_map_get(flex_ref r, const char *key) {
  vec_view keys, values;
  if (!key || !map_keys(r, &keys, &values)) return null_ref;
  size_t lo = 0, hi = keys.len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *k = key_bytes(key_ref(r, &keys, mid), NULL);
    if (!k) return null_ref;
    int c = strcmp(k, key);
    if (c == 0) return flex_vector_at(r, mid);
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return null_ref;
}
