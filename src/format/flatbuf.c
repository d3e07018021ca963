/* FlatBuffers accessors. They trust that fb_verify() accepted the buffer against a schema
 * description, so offsets are followed without range checks. One check stays: a scalar read
 * must fit inside the table's inline data. It costs one load and keeps a read of the wrong
 * width (e.g. 4 bytes from a 1-byte enum field at the end of a table) inside verified bytes;
 * such a field reads as absent. */
#include "format/flatbuf.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

/* Position of a field's inline value, or 0 when the field is absent (no field can start at
 * position 0: the table's own soffset is there). */
static uint32_t field_pos(fb_table t, int field, uint32_t width) {
  if (!t.buf || field < 0) return 0;
  const uint8_t *vt = t.buf + t.pos - (int32_t)rd32(t.buf + t.pos);
  uint32_t slot = 4 + 2 * (uint32_t)field;
  if (slot + 2 > rd16(vt)) return 0;
  uint16_t off = rd16(vt + slot);
  if (!off || off + width > rd16(vt + 2)) return 0;
  return t.pos + off;
}

/* Follows the uoffset stored at position p. */
static uint32_t deref(const uint8_t *buf, uint32_t p) { return p + rd32(buf + p); }

int fb_has(fb_table t, int field) { return field_pos(t, field, 1) != 0; }

uint8_t fb_u8(fb_table t, int field, uint8_t def) {
  uint32_t p = field_pos(t, field, 1);
  return p ? t.buf[p] : def;
}

int8_t fb_i8(fb_table t, int field, int8_t def) { return (int8_t)fb_u8(t, field, (uint8_t)def); }

uint16_t fb_u16(fb_table t, int field, uint16_t def) {
  uint32_t p = field_pos(t, field, 2);
  return p ? rd16(t.buf + p) : def;
}

int16_t fb_i16(fb_table t, int field, int16_t def) {
  return (int16_t)fb_u16(t, field, (uint16_t)def);
}

uint32_t fb_u32(fb_table t, int field, uint32_t def) {
  uint32_t p = field_pos(t, field, 4);
  return p ? rd32(t.buf + p) : def;
}

int32_t fb_i32(fb_table t, int field, int32_t def) {
  return (int32_t)fb_u32(t, field, (uint32_t)def);
}

uint64_t fb_u64(fb_table t, int field, uint64_t def) {
  uint32_t p = field_pos(t, field, 8);
  return p ? rd64(t.buf + p) : def;
}

int64_t fb_i64(fb_table t, int field, int64_t def) {
  return (int64_t)fb_u64(t, field, (uint64_t)def);
}

static float f32_from_bits(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

float fb_f32(fb_table t, int field, float def) {
  uint32_t p = field_pos(t, field, 4);
  return p ? f32_from_bits(rd32(t.buf + p)) : def;
}

double fb_f64(fb_table t, int field, double def) {
  uint32_t p = field_pos(t, field, 8);
  if (!p) return def;
  uint64_t bits = rd64(t.buf + p);
  double d;
  memcpy(&d, &bits, sizeof(d));
  return d;
}

int fb_bool(fb_table t, int field, int def) { return fb_u8(t, field, (uint8_t)(def != 0)) != 0; }

fb_table fb_subtable(fb_table t, int field) {
  fb_table sub = {NULL, 0};
  uint32_t p = field_pos(t, field, 4);
  if (p) {
    sub.buf = t.buf;
    sub.pos = deref(t.buf, p);
  }
  return sub;
}

fb_vector fb_vec(fb_table t, int field) {
  fb_vector v = {NULL, 0};
  uint32_t p = field_pos(t, field, 4);
  if (p) {
    uint32_t at = deref(t.buf, p);
    v.len = rd32(t.buf + at);
    v.data = t.buf + at + 4;
  }
  return v;
}

fb_table fb_vec_table(fb_table t, fb_vector v, uint32_t i) {
  fb_table sub = {t.buf, 0};
  uint32_t elem = (uint32_t)(v.data - t.buf) + 4 * i;
  sub.pos = deref(t.buf, elem);
  return sub;
}

static const char *string_at(const uint8_t *p, uint32_t *len) {
  if (len) *len = rd32(p);
  return (const char *)p + 4;
}

const char *fb_vec_string(fb_vector v, uint32_t i, uint32_t *len) {
  const uint8_t *elem = v.data + 4 * (size_t)i;
  return string_at(elem + rd32(elem), len);
}

const char *fb_string(fb_table t, int field, uint32_t *len) {
  uint32_t p = field_pos(t, field, 4);
  if (!p) {
    if (len) *len = 0;
    return NULL;
  }
  return string_at(t.buf + deref(t.buf, p), len);
}

int32_t fb_vec_i32(fb_vector v, uint32_t i) { return (int32_t)rd32(v.data + 4 * (size_t)i); }

uint32_t fb_vec_u32(fb_vector v, uint32_t i) { return rd32(v.data + 4 * (size_t)i); }

int64_t fb_vec_i64(fb_vector v, uint32_t i) { return (int64_t)rd64(v.data + 8 * (size_t)i); }

float fb_vec_f32(fb_vector v, uint32_t i) { return f32_from_bits(rd32(v.data + 4 * (size_t)i)); }

uint16_t fb_vec_u16(fb_vector v, uint32_t i) { return rd16(v.data + 2 * (size_t)i); }

uint8_t fb_vec_u8(fb_vector v, uint32_t i) { return v.data[i]; }
