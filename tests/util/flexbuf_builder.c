/* FlexBuffers map writer for tests (see flexbuf_builder.h). Layout, front to back: the keys
 * (NUL-terminated), the strings and int vectors (each after its length), the key vector, the
 * map (key-vector offset, key width, length, value slots, one packed type byte per value) and
 * the root (a slot pointing back at the map, its packed type, its width). Offsets are unsigned
 * distances back from the slot that holds them. */
#include "util/flexbuf_builder.h"

#include <stdlib.h>
#include <string.h>

#include "format/flexbuf.h"

typedef enum fxb_kind { FXB_INT, FXB_FLOAT, FXB_BOOL, FXB_STRING, FXB_INTS } fxb_kind;

typedef struct fxb_entry {
  char *key;
  fxb_kind kind;
  int64_t i;
  double f;
  char *s;
  int64_t *vec;
  int n;
} fxb_entry;

struct fxb_map {
  fxb_entry *e;
  int n, cap;
  int broken; /* a usage error happened: fxb_finish fails */
};

fxb_map *fxb_new(void) { return calloc(1, sizeof(fxb_map)); }

void fxb_free(fxb_map *m) {
  if (!m) return;
  for (int i = 0; i < m->n; i++) {
    free(m->e[i].key);
    free(m->e[i].s);
    free(m->e[i].vec);
  }
  free(m->e);
  free(m);
}

static char *dup_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static fxb_entry *add(fxb_map *m, const char *key, fxb_kind kind) {
  if (!m) return NULL;
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->e[i].key, key) == 0) m->broken = 1;
  if (m->n == m->cap) {
    int cap = m->cap ? 2 * m->cap : 8;
    fxb_entry *e = realloc(m->e, (size_t)cap * sizeof(*e));
    if (!e) {
      m->broken = 1;
      return NULL;
    }
    m->e = e;
    m->cap = cap;
  }
  fxb_entry *e = &m->e[m->n];
  memset(e, 0, sizeof(*e));
  e->key = dup_string(key);
  e->kind = kind;
  if (!e->key) {
    m->broken = 1;
    return NULL;
  }
  m->n++;
  return e;
}

void fxb_int(fxb_map *m, const char *key, int64_t v) {
  fxb_entry *e = add(m, key, FXB_INT);
  if (e) e->i = v;
}

void fxb_float(fxb_map *m, const char *key, double v) {
  fxb_entry *e = add(m, key, FXB_FLOAT);
  if (e) e->f = v;
}

void fxb_bool(fxb_map *m, const char *key, int v) {
  fxb_entry *e = add(m, key, FXB_BOOL);
  if (e) e->i = v != 0;
}

void fxb_string(fxb_map *m, const char *key, const char *s) {
  fxb_entry *e = add(m, key, FXB_STRING);
  if (!e) return;
  e->s = dup_string(s);
  if (!e->s) m->broken = 1;
}

void fxb_ints(fxb_map *m, const char *key, const int64_t *v, int n) {
  fxb_entry *e = add(m, key, FXB_INTS);
  if (!e) return;
  e->n = n;
  e->vec = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (!e->vec) {
    m->broken = 1;
    return;
  }
  if (n > 0) memcpy(e->vec, v, (size_t)n * sizeof(int64_t));
}

/* --- writing ------------------------------------------------------------------------------ */

typedef struct fxb_out {
  uint8_t *buf;
  size_t pos, cap;
  int w;
  int ok; /* cleared when a value does not fit the width */
} fxb_out;

static int log2_width(int w) { return w == 1 ? 0 : w == 2 ? 1 : w == 4 ? 2 : 3; }

static int fits_signed(int64_t v, int w) {
  if (w == 8) return 1;
  int64_t lim = (int64_t)1 << (8 * w - 1);
  return v >= -lim && v < lim;
}

static int fits_unsigned(uint64_t v, int w) { return w == 8 || v < ((uint64_t)1 << (8 * w)); }

static void put_bytes(fxb_out *o, const void *p, size_t n) {
  if (o->pos + n > o->cap) {
    o->ok = 0;
    return;
  }
  memcpy(o->buf + o->pos, p, n);
  o->pos += n;
}

static void put_uint(fxb_out *o, uint64_t v, int w) {
  uint8_t b[8];
  if (!fits_unsigned(v, w)) o->ok = 0;
  for (int i = 0; i < w; i++) b[i] = (uint8_t)(v >> (8 * i));
  put_bytes(o, b, (size_t)w);
}

static void put_int(fxb_out *o, int64_t v) {
  if (!fits_signed(v, o->w)) o->ok = 0;
  put_uint(o, (uint64_t)v & (o->w == 8 ? UINT64_MAX : (((uint64_t)1 << (8 * o->w)) - 1)), o->w);
}

static void put_float(fxb_out *o, double v) {
  if (o->w == 4) {
    float f = (float)v;
    uint32_t bits;
    if (v == v && (double)f != v) o->ok = 0;
    memcpy(&bits, &f, sizeof(bits));
    put_uint(o, bits, 4);
  } else if (o->w == 8) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    put_uint(o, bits, 8);
  } else {
    o->ok = 0;
  }
}

/* A slot holding the distance back to `target`. */
static void put_offset(fxb_out *o, size_t target) { put_uint(o, o->pos - target, o->w); }

static void align(fxb_out *o) {
  static const uint8_t zeros[8] = {0};
  size_t pad = (size_t)(o->w - (int)(o->pos % (size_t)o->w)) % (size_t)o->w;
  put_bytes(o, zeros, pad);
}

/* Writes an entry's out-of-line data (strings, vectors); returns where its slot points. */
static size_t put_data(fxb_out *o, const fxb_entry *e) {
  align(o);
  if (e->kind == FXB_STRING) {
    size_t len = strlen(e->s);
    put_uint(o, len, o->w);
    size_t at = o->pos;
    put_bytes(o, e->s, len + 1);
    return at;
  }
  put_uint(o, (uint64_t)e->n, o->w);
  size_t at = o->pos;
  for (int k = 0; k < e->n; k++) put_int(o, e->vec[k]);
  return at;
}

static uint8_t packed_type(const fxb_entry *e, int w) {
  static const uint8_t types[] = {FLEX_INT, FLEX_FLOAT, FLEX_BOOL, FLEX_STRING, FLEX_VECTOR_INT};
  return (uint8_t)((types[e->kind] << 2) | log2_width(w));
}

static void put_value(fxb_out *o, const fxb_entry *e, size_t data) {
  switch (e->kind) {
    case FXB_INT:
    case FXB_BOOL:
      put_int(o, e->i);
      return;
    case FXB_FLOAT:
      put_float(o, e->f);
      return;
    default:
      put_offset(o, data);
      return;
  }
}

/* order[] = entry indices sorted by key (insertion sort: maps here are small). */
static void sort_keys(const fxb_map *m, int *order) {
  for (int k = 0; k < m->n; k++) {
    int j = k;
    for (; j > 0 && strcmp(m->e[order[j - 1]].key, m->e[k].key) > 0; j--) order[j] = order[j - 1];
    order[j] = k;
  }
}

/* The whole map at width w into o; o->ok says whether everything fit. */
static void encode(const fxb_map *m, const int *order, size_t *key_at, size_t *data_at,
                   fxb_out *o) {
  for (int k = 0; k < m->n; k++) {
    key_at[k] = o->pos;
    put_bytes(o, m->e[order[k]].key, strlen(m->e[order[k]].key) + 1);
  }
  for (int k = 0; k < m->n; k++) {
    const fxb_entry *e = &m->e[order[k]];
    data_at[k] = (e->kind == FXB_STRING || e->kind == FXB_INTS) ? put_data(o, e) : 0;
  }
  align(o);
  put_uint(o, (uint64_t)m->n, o->w);
  size_t keys = o->pos;
  for (int k = 0; k < m->n; k++) put_offset(o, key_at[k]);
  put_offset(o, keys);
  put_uint(o, (uint64_t)o->w, o->w);
  put_uint(o, (uint64_t)m->n, o->w);
  size_t values = o->pos;
  for (int k = 0; k < m->n; k++) put_value(o, &m->e[order[k]], data_at[k]);
  for (int k = 0; k < m->n; k++) {
    uint8_t t = packed_type(&m->e[order[k]], o->w);
    put_bytes(o, &t, 1);
  }
  align(o);
  put_offset(o, values);
  uint8_t root[2] = {(uint8_t)((FLEX_MAP << 2) | log2_width(o->w)), (uint8_t)o->w};
  put_bytes(o, root, 2);
}

static size_t capacity(const fxb_map *m) {
  size_t cap = 64;
  for (int k = 0; k < m->n; k++) {
    const fxb_entry *e = &m->e[k];
    cap += strlen(e->key) + 1 + 4 * 8 + 2;
    if (e->kind == FXB_STRING) cap += strlen(e->s) + 1 + 2 * 8;
    if (e->kind == FXB_INTS) cap += ((size_t)e->n + 2) * 8;
  }
  return cap;
}

uint8_t *fxb_finish(const fxb_map *m, int width, size_t *size) {
  if (!m || m->broken || !size) return NULL;
  if (width != 0 && width != 1 && width != 2 && width != 4 && width != 8) return NULL;
  int n = m->n;
  int *order = malloc((size_t)(n + 1) * sizeof(int));
  size_t *key_at = malloc((size_t)(n + 1) * sizeof(size_t));
  size_t *data_at = malloc((size_t)(n + 1) * sizeof(size_t));
  fxb_out o = {malloc(capacity(m)), 0, capacity(m), 0, 0};
  if (order && key_at && data_at && o.buf) {
    sort_keys(m, order);
    for (int w = width ? width : 1; w <= 8 && !o.ok; w = width ? 9 : 2 * w) {
      o.pos = 0;
      o.w = w;
      o.ok = 1;
      encode(m, order, key_at, data_at, &o);
    }
  }
  free(order);
  free(key_at);
  free(data_at);
  if (!o.ok) {
    free(o.buf);
    return NULL;
  }
  *size = o.pos;
  return o.buf;
}
