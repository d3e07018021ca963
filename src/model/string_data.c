/* TFLite's string encoding (string_data.h). Like the rest of tfl, this assumes a
 * little-endian host; values are read with memcpy because model buffers need not be
 * aligned. */
#include "model/string_data.h"

#include <string.h>

static int32_t read_i32(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void write_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }

static int32_t offset_at(const void *data, size_t i) {
  return read_i32((const uint8_t *)data + 4 * (i + 1));
}

const char *tfl_string_data_check(const void *data, size_t size, uint64_t count) {
  if (size == 0 && count == 0) return NULL;
  if (!data || size < 4) return "too small to hold the string count";
  const int32_t stored = read_i32(data);
  if (stored < 0 || (uint64_t)stored != count) return "the string count differs from the shape";
  if (count > size / 4 || TFL_STRING_HEADER_BYTES(count) > size)
    return "the string offsets do not fit in the data";
  int64_t prev = (int64_t)TFL_STRING_HEADER_BYTES(count);
  for (size_t i = 0; i <= count; i++) {
    const int32_t off = offset_at(data, i);
    if (off < prev) return "a string offset points before the previous one or into the header";
    prev = off;
  }
  if ((uint64_t)prev > size) return "a string runs past the end of the data";
  return NULL;
}

size_t tfl_string_data_count(const void *data, size_t size) {
  if (!data || size < 4) return 0;
  const int32_t n = read_i32(data);
  return n > 0 ? (size_t)n : 0;
}

tfl_string tfl_string_data_at(const void *data, size_t i) {
  const int32_t begin = offset_at(data, i), end = offset_at(data, i + 1);
  tfl_string s = {(const char *)data + begin, (size_t)(end - begin)};
  return s;
}

int tfl_string_data_get(const void *data, size_t size, size_t i, tfl_string *out) {
  const size_t n = tfl_string_data_count(data, size);
  if (i >= n || n > size / 4 || TFL_STRING_HEADER_BYTES(n) > size) return 0;
  const int32_t begin = offset_at(data, i), end = offset_at(data, i + 1);
  if (begin < 0 || (size_t)begin < TFL_STRING_HEADER_BYTES(n) || end < begin ||
      (size_t)end > size)
    return 0;
  *out = tfl_string_data_at(data, i);
  return 1;
}

size_t tfl_string_data_size(size_t n, size_t chars) {
  if (n > TFL_STRING_DATA_MAX / 4 - 2) return 0;
  const size_t header = TFL_STRING_HEADER_BYTES(n);
  if (chars > TFL_STRING_DATA_MAX - header) return 0;
  return header + chars;
}

void tfl_string_writer_init(tfl_string_writer *w, void *data, size_t n) {
  w->data = data;
  w->i = 0;
  w->end = (uint32_t)TFL_STRING_HEADER_BYTES(n);
  write_u32(w->data, (uint32_t)n);
  write_u32(w->data + 4, w->end);
}

void tfl_string_writer_add(tfl_string_writer *w, tfl_string s) {
  if (s.size) memcpy(w->data + w->end, s.data, s.size);
  w->end += (uint32_t)s.size;
  w->i++;
  write_u32(w->data + 4 * (w->i + 1), w->end);
}
