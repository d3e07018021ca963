/* The generic FlatBuffers verifier (see verify.h for the description language). All
 * arithmetic on positions is done in 64 bits: positions are < 2^31, so sums of a position
 * and a 32-bit length or offset cannot wrap. */
#include "format/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct verifier {
  const uint8_t *buf;
  uint64_t size;
  uint32_t tables;
  char *err;
  size_t err_size;
} verifier;

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

static int fail(verifier *v, const fb_table_desc *d, int field, uint64_t pos, const char *fmt,
                ...) {
  if (!v->err || !v->err_size) return -1;
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (field >= 0)
    snprintf(v->err, v->err_size, "invalid FlatBuffer: %s field %d: %s (at byte %llu)",
             d->name, field, what, (unsigned long long)pos);
  else
    snprintf(v->err, v->err_size, "invalid FlatBuffer: %s: %s (at byte %llu)", d->name, what,
             (unsigned long long)pos);
  return -1;
}

/* Size of a field's inline value: the scalar itself, or a 4-byte uoffset. */
static uint32_t inline_size(char kind) {
  switch (kind) {
    case 'b': case 'B': case 'o': case 'u': return 1;
    case 'h': case 'H': return 2;
    case 'l': case 'L': case 'd': return 8;
    default: return 4;
  }
}

static int is_scalar(char kind) { return strchr("bBohHiIlLfdgu", kind) != NULL; }

/* Follows the uoffset at `at`; *target is where it points. */
static int follow(verifier *v, const fb_table_desc *d, int field, uint64_t at, uint64_t *target) {
  uint32_t off = rd32(v->buf + at);
  if (off == 0 || off > FB_MAX_SIZE) return fail(v, d, field, at, "bad offset %u", off);
  *target = at + off;
  if (*target >= v->size) return fail(v, d, field, at, "offset points past the end");
  return 0;
}

/* A vector (or string) header at `at`: 4-aligned length, then len * elem bytes (+ extra). */
static int check_vector(verifier *v, const fb_table_desc *d, int field, uint64_t at,
                        uint32_t elem, uint32_t extra, uint32_t *len) {
  if (at % 4) return fail(v, d, field, at, "misaligned vector");
  if (at + 4 > v->size) return fail(v, d, field, at, "vector length past the end");
  *len = rd32(v->buf + at);
  if ((uint64_t)*len * elem + extra > v->size - at - 4)
    return fail(v, d, field, at, "vector of %u elements runs past the end", *len);
  return 0;
}

static int check_string(verifier *v, const fb_table_desc *d, int field, uint64_t at) {
  uint32_t len;
  if (check_vector(v, d, field, at, 1, 1, &len)) return -1;
  if (v->buf[at + 4 + len] != 0) return fail(v, d, field, at, "string not NUL-terminated");
  return 0;
}

static int verify_table(verifier *v, uint64_t pos, const fb_table_desc *d, int depth);

/* Vectors of offsets: each element is followed and checked as a string or a table. */
static int check_offset_vector(verifier *v, const fb_table_desc *d, int field, uint64_t at,
                               const fb_table_desc *elem_desc, int depth) {
  uint32_t len;
  if (check_vector(v, d, field, at, 4, 0, &len)) return -1;
  for (uint32_t i = 0; i < len; i++) {
    uint64_t elem = at + 4 + 4 * (uint64_t)i, target = 0;
    if (follow(v, d, field, elem, &target)) return -1;
    int bad = elem_desc ? verify_table(v, target, elem_desc, depth + 1)
                        : check_string(v, d, field, target);
    if (bad) return -1;
  }
  return 0;
}

typedef struct slot_state {
  int n_tables;       /* t/T fields seen so far: index into d->tables */
  int n_unions;       /* U fields seen so far: index into d->unions */
  uint8_t union_type; /* value of the last u field (0 if absent) */
} slot_state;

/* Checks the value an offset field points to. */
static int check_target(verifier *v, const fb_table_desc *d, int field, char kind, uint64_t at,
                        const slot_state *st, int depth) {
  uint64_t target = 0;
  uint32_t len;
  if (follow(v, d, field, at, &target)) return -1;
  switch (kind) {
    case 's': return check_string(v, d, field, target);
    case 't': return verify_table(v, target, d->tables[st->n_tables], depth + 1);
    case 'T': return check_offset_vector(v, d, field, target, d->tables[st->n_tables], depth);
    case 'S': return check_offset_vector(v, d, field, target, NULL, depth);
    case '1': case '2': case '4': case '8':
      return check_vector(v, d, field, target, (uint32_t)(kind - '0'), 0, &len);
    case 'G': return check_vector(v, d, field, target, 4, 0, &len);
    case 'U': {
      const fb_union_desc *u = d->unions[st->n_unions];
      if (!st->union_type) return 0; /* a value without a type is ignored */
      return verify_table(v, target, &u->members[st->union_type - 1], depth + 1);
    }
    default: return fail(v, d, field, at, "bad description '%c'", kind);
  }
}

static int verify_field(verifier *v, uint64_t pos, uint16_t tbl_size, uint16_t off,
                        const fb_table_desc *d, int field, slot_state *st, int depth) {
  char kind = d->fields[field];
  uint32_t size = inline_size(kind);
  uint64_t at = pos + off;
  if (off < 4 || (uint32_t)off + size > tbl_size)
    return fail(v, d, field, pos, "field outside its table");
  if (at % size) return fail(v, d, field, at, "misaligned field");
  if (kind == 'u') {
    st->union_type = v->buf[at];
    const fb_union_desc *u = d->unions[st->n_unions];
    if (st->union_type > u->count)
      return fail(v, d, field, at, "unknown %s type %u", u->name, st->union_type);
    return 0;
  }
  if (is_scalar(kind)) return 0;
  return check_target(v, d, field, kind, at, st, depth);
}

static int verify_table(verifier *v, uint64_t pos, const fb_table_desc *d, int depth) {
  if (depth > FB_MAX_DEPTH) return fail(v, d, -1, pos, "tables nested too deeply");
  if (++v->tables > FB_MAX_TABLES) return fail(v, d, -1, pos, "too many tables");
  if (pos % 4 || pos + 4 > v->size) return fail(v, d, -1, pos, "bad table position");
  int64_t vt = (int64_t)pos - (int32_t)rd32(v->buf + pos);
  if (vt < 0 || vt % 2 || (uint64_t)vt + 4 > v->size)
    return fail(v, d, -1, pos, "vtable out of range");
  uint16_t vt_size = rd16(v->buf + vt), tbl_size = rd16(v->buf + vt + 2);
  if (vt_size < 4 || vt_size % 2 || (uint64_t)vt + vt_size > v->size)
    return fail(v, d, -1, (uint64_t)vt, "bad vtable size %u", vt_size);
  if (tbl_size < 4 || pos + tbl_size > v->size)
    return fail(v, d, -1, pos, "table size %u out of range", tbl_size);
  int n_slots = (vt_size - 4) / 2;
  slot_state st = {0, 0, 0};
  for (int f = 0; d->fields[f]; f++) {
    char kind = d->fields[f];
    uint16_t off = f < n_slots ? rd16(v->buf + vt + 4 + 2 * f) : 0;
    if (kind == 'u') st.union_type = 0;
    if (off && verify_field(v, pos, tbl_size, off, d, f, &st, depth)) return -1;
    if (kind == 't' || kind == 'T') st.n_tables++;
    if (kind == 'U') st.n_unions++;
  }
  return 0;
}

int fb_verify(const uint8_t *buf, size_t size, const char *identifier, const fb_table_desc *root,
              fb_table *out_root, char *err, size_t err_size) {
  verifier v = {buf, size < FB_MAX_SIZE ? size : FB_MAX_SIZE, 0, err, err_size};
  if (err && err_size) err[0] = '\0';
  if (!buf || v.size < 8) return fail(&v, root, -1, 0, "buffer too small (%zu bytes)", size);
  if (identifier && memcmp(buf + 4, identifier, 4) != 0)
    return fail(&v, root, -1, 4, "file identifier is not \"%.4s\"", identifier);
  uint64_t root_pos = 0;
  if (follow(&v, root, -1, 0, &root_pos)) return -1;
  if (verify_table(&v, root_pos, root, 0)) return -1;
  if (out_root) {
    out_root->buf = buf;
    out_root->pos = (uint32_t)root_pos;
  }
  return 0;
}

/* --- typed reads through a description ----------------------------------------------- */

char fb_desc_kind(const fb_table_desc *d, int field) {
  if (!d || field < 0 || (size_t)field >= strlen(d->fields)) return 0;
  return d->fields[field];
}

int64_t fb_desc_int(fb_table t, const fb_table_desc *d, int field, int64_t def) {
  switch (fb_desc_kind(d, field)) {
    case 'b': return fb_has(t, field) ? fb_i8(t, field, 0) : def;
    case 'B': case 'o': case 'u': return fb_has(t, field) ? fb_u8(t, field, 0) : def;
    case 'h': return fb_has(t, field) ? fb_i16(t, field, 0) : def;
    case 'H': return fb_has(t, field) ? fb_u16(t, field, 0) : def;
    case 'i': return fb_has(t, field) ? fb_i32(t, field, 0) : def;
    case 'I': case 'g': return fb_has(t, field) ? (int64_t)fb_u32(t, field, 0) : def;
    case 'l': return fb_i64(t, field, def);
    case 'L': return (int64_t)fb_u64(t, field, (uint64_t)def);
    case 'f': return fb_has(t, field) ? (int64_t)fb_f32(t, field, 0) : def;
    case 'd': return fb_has(t, field) ? (int64_t)fb_f64(t, field, 0) : def;
    default: return def;
  }
}

double fb_desc_float(fb_table t, const fb_table_desc *d, int field, double def) {
  char kind = fb_desc_kind(d, field);
  if (kind == 'f') return fb_has(t, field) ? fb_f32(t, field, 0) : def;
  if (kind == 'd') return fb_f64(t, field, def);
  if (!kind || !is_scalar(kind) || !fb_has(t, field)) return def;
  if (kind == 'L') return (double)fb_u64(t, field, 0);
  return (double)fb_desc_int(t, d, field, 0);
}

fb_vector fb_desc_vec(fb_table t, const fb_table_desc *d, int field, int elem_size) {
  fb_vector none = {NULL, 0};
  char kind = fb_desc_kind(d, field);
  int size = kind == 'G' ? 4 : (kind >= '1' && kind <= '8') ? kind - '0' : 0;
  if (!size || size != elem_size) return none;
  return fb_vec(t, field);
}
