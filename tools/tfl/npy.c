/* .npy reader and writer; see npy.h and NumPy's format description (numpy/lib/format.py):
 * magic "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0, 4 bytes LE in 2.0/3.0),
 * then a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded
 * with spaces and a newline, then the raw data. */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char k_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

typedef struct npy_dtype {
  tfl_type type;
  char code[3]; /* NumPy kind letter and item size, e.g. "f4" */
  const char *name;
  size_t size;
} npy_dtype;

static const npy_dtype k_dtypes[] = {
    {TFL_FLOAT32, "f4", "float32", 4}, {TFL_FLOAT16, "f2", "float16", 2},
    {TFL_FLOAT64, "f8", "float64", 8}, {TFL_INT8, "i1", "int8", 1},
    {TFL_UINT8, "u1", "uint8", 1},     {TFL_INT16, "i2", "int16", 2},
    {TFL_UINT16, "u2", "uint16", 2},   {TFL_INT32, "i4", "int32", 4},
    {TFL_UINT32, "u4", "uint32", 4},   {TFL_INT64, "i8", "int64", 8},
    {TFL_UINT64, "u8", "uint64", 8},   {TFL_BOOL, "b1", "bool", 1},
};
#define N_DTYPES (sizeof k_dtypes / sizeof k_dtypes[0])

static const npy_dtype *dtype_of_type(tfl_type type) {
  for (size_t i = 0; i < N_DTYPES; i++)
    if (k_dtypes[i].type == type) return &k_dtypes[i];
  return NULL;
}

static const npy_dtype *dtype_of_code(const char *code) {
  for (size_t i = 0; i < N_DTYPES; i++)
    if (strcmp(k_dtypes[i].code, code) == 0) return &k_dtypes[i];
  return NULL;
}

const char *npy_type_name(tfl_type type) {
  if (type == TFL_STRING) return "bytes";
  const npy_dtype *d = dtype_of_type(type);
  return d ? d->name : NULL;
}

static tfl_status fail(char *err, size_t err_size, tfl_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static tfl_status fail(char *err, size_t err_size, tfl_status status, const char *fmt, ...) {
  if (err && err_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
  }
  return status;
}

/* --- header parsing ------------------------------------------------------------------ */

/* A cursor over the header text; every read checks against end. */
typedef struct cursor {
  const char *p;
  const char *end;
  char *err;
  size_t err_size;
} cursor;

#define MAX_TOKEN 64

static tfl_status malformed(cursor *c, const char *what) {
  return fail(c->err, c->err_size, TFL_INVALID_ARGUMENT, "malformed .npy header: %s", what);
}

static void skip_space(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

/* Consumes ch (after optional white space) if it is next; returns whether it was. */
static int accept(cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* A quoted Python string without escapes, at most MAX_TOKEN - 1 bytes. */
static tfl_status parse_string(cursor *c, char out[MAX_TOKEN]) {
  skip_space(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return malformed(c, "expected a string");
  char quote = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != quote) {
    if (*c->p == '\\' || *c->p == '\n' || n + 1 >= MAX_TOKEN)
      return malformed(c, "unsupported string");
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return malformed(c, "unterminated string");
  c->p++;
  out[n] = '\0';
  return TFL_OK;
}

static int accept_word(cursor *c, const char *word) {
  size_t n = strlen(word);
  skip_space(c);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
  c->p += n;
  return 1;
}

static tfl_status parse_bool(cursor *c, int *out) {
  if (accept_word(c, "True")) {
    *out = 1;
    return TFL_OK;
  }
  if (accept_word(c, "False")) {
    *out = 0;
    return TFL_OK;
  }
  return malformed(c, "fortran_order must be True or False");
}

static tfl_status parse_dim(cursor *c, int32_t *out) {
  skip_space(c);
  if (c->p >= c->end || *c->p < '0' || *c->p > '9') return malformed(c, "bad shape");
  int64_t v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    v = v * 10 + (*c->p++ - '0');
    if (v > INT32_MAX)
      return fail(c->err, c->err_size, TFL_INVALID_ARGUMENT, "dimension too large in .npy shape");
  }
  if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long literal, e.g. (3L, 4L) */
  *out = (int32_t)v;
  return TFL_OK;
}

/* A tuple of non-negative ints: (), (5,), (1, 2, 3) and, leniently, (5). */
static tfl_status parse_shape(cursor *c, npy_array *out) {
  if (!accept(c, '(')) return malformed(c, "shape must be a tuple");
  out->ndim = 0;
  if (accept(c, ')')) return TFL_OK;
  for (;;) {
    if (out->ndim == TFL_MAX_DIMS)
      return fail(c->err, c->err_size, TFL_UNSUPPORTED, "more than %d dimensions in .npy shape",
                  TFL_MAX_DIMS);
    tfl_status st = parse_dim(c, &out->dims[out->ndim]);
    if (st != TFL_OK) return st;
    out->ndim++;
    int comma = accept(c, ',');
    if (accept(c, ')')) return TFL_OK;
    if (!comma) return malformed(c, "bad shape");
  }
}

/* What the dtype says about each element: its size, and for strings 'S' or 'U'. */
typedef struct npy_item {
  size_t size;
  char string_kind; /* 0 for numeric dtypes */
} npy_item;

/* NumPy caps string widths well below this; it keeps width * 4 and the count in range. */
#define NPY_MAX_STRING_WIDTH (1u << 28)

/* "S<width>" or "U<width>" (after the byte-order character). */
static int parse_string_dtype(const char *code, npy_item *item) {
  if (code[0] != 'S' && code[0] != 'U') return 0;
  if (code[1] < '0' || code[1] > '9') return 0;
  size_t width = 0;
  for (const char *p = code + 1; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    width = width * 10 + (size_t)(*p - '0');
    if (width > NPY_MAX_STRING_WIDTH) return 0;
  }
  /* NumPy writes at least S1/U1; a zero width would let a few bytes claim any count */
  if (width == 0) return 0;
  item->string_kind = code[0];
  item->size = code[0] == 'U' ? width * 4 : width;
  return 1;
}

static tfl_status parse_descr(cursor *c, npy_array *out, npy_item *item) {
  skip_space(c);
  if (c->p < c->end && *c->p == '[')
    return fail(c->err, c->err_size, TFL_UNSUPPORTED, "structured .npy dtypes are not supported");
  char descr[MAX_TOKEN];
  tfl_status st = parse_string(c, descr);
  if (st != TFL_OK) return st;
  if (descr[0] && strchr("<>|=", descr[0]) && parse_string_dtype(descr + 1, item)) {
    if (descr[0] == '>' && item->string_kind == 'U')
      return fail(c->err, c->err_size, TFL_UNSUPPORTED,
                  "big-endian .npy data ('%s') is not supported", descr);
    out->type = TFL_STRING;
    return TFL_OK;
  }
  const npy_dtype *d = strlen(descr) == 3 ? dtype_of_code(descr + 1) : NULL;
  if (!d || !strchr("<>|=", descr[0]))
    return fail(c->err, c->err_size, TFL_UNSUPPORTED, "unsupported .npy dtype '%s'", descr);
  if (descr[0] == '>' && d->size > 1)
    return fail(c->err, c->err_size, TFL_UNSUPPORTED,
                "big-endian .npy data ('%s') is not supported", descr);
  out->type = d->type;
  item->size = d->size;
  return TFL_OK;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4, KEY_ALL = 7 };

static tfl_status parse_entry(cursor *c, npy_array *out, npy_item *item, unsigned *seen) {
  char key[MAX_TOKEN];
  tfl_status st = parse_string(c, key);
  if (st != TFL_OK) return st;
  unsigned bit = strcmp(key, "descr") == 0           ? KEY_DESCR
                 : strcmp(key, "fortran_order") == 0 ? KEY_FORTRAN
                 : strcmp(key, "shape") == 0         ? KEY_SHAPE
                                                     : 0;
  if (!bit) return malformed(c, "unexpected key");
  if (*seen & bit) return malformed(c, "duplicate key");
  *seen |= bit;
  if (!accept(c, ':')) return malformed(c, "expected ':'");
  if (bit == KEY_DESCR) return parse_descr(c, out, item);
  if (bit == KEY_SHAPE) return parse_shape(c, out);
  int fortran = 0;
  st = parse_bool(c, &fortran);
  if (st == TFL_OK && fortran)
    return fail(c->err, c->err_size, TFL_UNSUPPORTED,
                "Fortran-order .npy arrays are not supported (save with C order)");
  return st;
}

static tfl_status parse_header(cursor *c, npy_array *out, npy_item *item) {
  unsigned seen = 0;
  if (!accept(c, '{')) return malformed(c, "expected '{'");
  while (!accept(c, '}')) {
    tfl_status st = parse_entry(c, out, item, &seen);
    if (st != TFL_OK) return st;
    if (accept(c, ',')) continue;
    if (!accept(c, '}')) return malformed(c, "expected ',' or '}'");
    break;
  }
  skip_space(c);
  if (c->p != c->end) return malformed(c, "trailing characters");
  if (seen != KEY_ALL) return malformed(c, "missing descr, fortran_order or shape");
  return TFL_OK;
}

/* --- whole files ---------------------------------------------------------------------- */

static uint32_t read_le(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static tfl_status check_size(const npy_array *a, size_t item_size, size_t available, char *err,
                             size_t err_size) {
  size_t bytes = item_size;
  for (int i = 0; i < a->ndim; i++) {
    size_t d = (size_t)a->dims[i];
    if (d && bytes > SIZE_MAX / d)
      return fail(err, err_size, TFL_INVALID_ARGUMENT, ".npy shape is too large");
    bytes *= d;
  }
  if (bytes != available)
    return fail(err, err_size, TFL_INVALID_ARGUMENT,
                ".npy data is %zu bytes but its header's shape and dtype need %zu", available,
                bytes);
  return TFL_OK;
}

/* --- strings ---------------------------------------------------------------------------- */

/* Code point cp as UTF-8 at out; returns the bytes written, 0 for a surrogate or a value past
 * U+10FFFF (which UTF-8 cannot hold). */
static size_t utf8_encode(uint32_t cp, unsigned char *out) {
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xc0 | cp >> 6);
    out[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if ((cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff) return 0;
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xe0 | cp >> 12);
    out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (unsigned char)(0xf0 | cp >> 18);
  out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
  out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
  out[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Element i of a 'U' array of `width` code points, as UTF-8 at text (room for 4 bytes per
 * code point); the length goes to *len. */
static tfl_status utf8_element(const unsigned char *src, size_t width, unsigned char *text,
                               size_t *len, char *err, size_t err_size) {
  size_t n = width;
  while (n > 0 && read_le(src + 4 * (n - 1), 4) == 0) n--; /* NumPy's padding */
  *len = 0;
  for (size_t k = 0; k < n; k++) {
    const uint32_t cp = read_le(src + 4 * k, 4);
    const size_t w = utf8_encode(cp, text + *len);
    if (!w)
      return fail(err, err_size, TFL_INVALID_ARGUMENT,
                  ".npy unicode data holds U+%lX, which is not a Unicode scalar value",
                  (unsigned long)cp);
    *len += w;
  }
  return TFL_OK;
}

/* out->strings for the parsed array: one block holds the table and, for 'U', the UTF-8 text
 * (at most as long as the UCS-4 data). */
static tfl_status parse_strings(npy_array *out, const npy_item *item, char *err,
                                size_t err_size) {
  size_t n = 1;
  for (int i = 0; i < out->ndim; i++) {
    size_t d = (size_t)out->dims[i];
    if (d && n > SIZE_MAX / sizeof(tfl_string) / d)
      return fail(err, err_size, TFL_INVALID_ARGUMENT, ".npy shape is too large");
    n *= d;
  }
  const size_t text = item->string_kind == 'U' ? out->bytes : 0;
  if (text > SIZE_MAX - n * sizeof(tfl_string) - 1)
    return fail(err, err_size, TFL_INVALID_ARGUMENT, ".npy shape is too large");
  out->strings = malloc(n * sizeof(tfl_string) + text + 1);
  if (!out->strings) return fail(err, err_size, TFL_OUT_OF_MEMORY, "out of memory");
  out->n_strings = n;
  unsigned char *utf8 = (unsigned char *)(out->strings + n);
  const unsigned char *src = out->data;
  for (size_t i = 0; i < n; i++, src += item->size) {
    tfl_string *s = &out->strings[i];
    if (item->string_kind == 'S') {
      size_t len = item->size;
      while (len > 0 && src[len - 1] == 0) len--;
      *s = (tfl_string){(const char *)src, len};
      continue;
    }
    size_t len;
    tfl_status st = utf8_element(src, item->size / 4, utf8, &len, err, err_size);
    if (st != TFL_OK) return st;
    *s = (tfl_string){(const char *)utf8, len};
    utf8 += len;
  }
  return TFL_OK;
}

tfl_status npy_parse(const void *buf, size_t size, npy_array *out, char *err, size_t err_size) {
  const unsigned char *b = buf;
  memset(out, 0, sizeof *out);
  if (!buf || size < 10 || memcmp(b, k_magic, sizeof k_magic) != 0)
    return fail(err, err_size, TFL_INVALID_ARGUMENT, "not a .npy file");
  int major = b[6];
  if (major < 1 || major > 3)
    return fail(err, err_size, TFL_UNSUPPORTED, "unsupported .npy format version %d.%d", major,
                b[7]);
  size_t len_bytes = major == 1 ? 2 : 4;
  size_t start = 8 + len_bytes;
  if (size < start) return fail(err, err_size, TFL_INVALID_ARGUMENT, "truncated .npy header");
  size_t header_len = read_le(b + 8, (int)len_bytes);
  if (header_len > size - start)
    return fail(err, err_size, TFL_INVALID_ARGUMENT, "truncated .npy header");
  cursor c = {(const char *)b + start, (const char *)b + start + header_len, err, err_size};
  npy_item item = {0, 0};
  tfl_status st = parse_header(&c, out, &item);
  if (st != TFL_OK) return st;
  size_t data_at = start + header_len;
  st = check_size(out, item.size, size - data_at, err, err_size);
  if (st != TFL_OK) return st;
  out->data = b + data_at;
  out->bytes = size - data_at;
  if (!item.string_kind) return TFL_OK;
  st = parse_strings(out, &item, err, err_size);
  if (st != TFL_OK) npy_free(out);
  return st;
}

/* Reads the whole stream in growing chunks (works for pipes, where the size is unknown). */
static tfl_status read_all(FILE *f, unsigned char **out, size_t *out_size) {
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  if (!buf) return TFL_OUT_OF_MEMORY;
  for (;;) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    unsigned char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
    if (!bigger) {
      free(buf);
      return TFL_OUT_OF_MEMORY;
    }
    buf = bigger;
    cap *= 2;
  }
  if (ferror(f)) {
    free(buf);
    return TFL_IO_ERROR;
  }
  *out = buf;
  *out_size = n;
  return TFL_OK;
}

tfl_status npy_read_file(const char *path, npy_array *out, char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, err_size, TFL_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
  unsigned char *buf = NULL;
  size_t size = 0;
  errno = 0;
  tfl_status st = read_all(f, &buf, &size);
  int read_errno = errno;
  fclose(f);
  if (st == TFL_OUT_OF_MEMORY) return fail(err, err_size, st, "%s: out of memory", path);
  if (st != TFL_OK)
    return fail(err, err_size, st, "cannot read %s: %s", path,
                read_errno ? strerror(read_errno) : "I/O error");
  char msg[256];
  st = npy_parse(buf, size, out, msg, sizeof msg);
  if (st != TFL_OK) {
    free(buf);
    memset(out, 0, sizeof *out);
    return fail(err, err_size, st, "%s: %s", path, msg);
  }
  out->owned = buf;
  return TFL_OK;
}

void npy_free(npy_array *a) {
  if (!a) return;
  free(a->owned);
  free(a->strings);
  memset(a, 0, sizeof *a);
}

/* --- writing ---------------------------------------------------------------------------- */

/* NumPy aligns the data to 64 bytes; the header ends with a newline. */
#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21

/* Python's repr of the shape tuple, without the parentheses: "", "5," or "2, 3". */
static void format_shape(char *out, size_t cap, int ndim, const int32_t *dims) {
  size_t n = 0;
  out[0] = '\0';
  for (int i = 0; i < ndim && n < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s%ld", i ? ", " : "", (long)dims[i]);
  if (ndim == 1 && n < cap) snprintf(out + n, cap - n, ",");
}

/* Writes magic, version, header length and the padded dict into out, laid out exactly as
 * numpy.save does; returns the total length, a multiple of NPY_ALIGN. cap must hold the
 * longest header (about 200 bytes). */
static size_t format_header(char *out, size_t cap, const char *descr, int ndim,
                            const int32_t *dims) {
  char shape[TFL_MAX_DIMS * 13 + 4];
  format_shape(shape, sizeof shape, ndim, dims);
  memcpy(out, k_magic, sizeof k_magic);
  out[6] = 1; /* format 1.0 */
  out[7] = 0;
  size_t n = 10;
  n += (size_t)snprintf(out + n, cap - n,
                        "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
  /* NumPy leaves room for dims[0] to grow to 21 digits (appending in place). */
  size_t spare = ndim > 0 ? NPY_GROWTH_DIGITS - (size_t)snprintf(NULL, 0, "%ld", (long)dims[0]) : 0;
  size_t padded = (n + spare + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
  memset(out + n, ' ', padded - 1 - n);
  out[padded - 1] = '\n';
  out[8] = (char)((padded - 10) & 0xff);
  out[9] = (char)((padded - 10) >> 8);
  return padded;
}

/* Checks a shape to write and copies it into *shape. */
static tfl_status check_shape(const char *path, int ndim, const int32_t *dims, npy_array *shape,
                              char *err, size_t err_size) {
  if (ndim < 0 || ndim > TFL_MAX_DIMS || (ndim && !dims))
    return fail(err, err_size, TFL_INVALID_ARGUMENT, "%s: bad array", path);
  shape->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0)
      return fail(err, err_size, TFL_INVALID_ARGUMENT, "%s: negative dimension", path);
    shape->dims[i] = dims[i];
  }
  return TFL_OK;
}

/* Writes the header for descr and shape, then the data; removes the file on failure. */
static tfl_status write_npy(const char *path, const char *descr, const npy_array *shape,
                            const void *data, size_t bytes, char *err, size_t err_size) {
  char header[384];
  size_t header_size = format_header(header, sizeof header, descr, shape->ndim, shape->dims);
  FILE *f = fopen(path, "wb");
  if (!f) return fail(err, err_size, TFL_IO_ERROR, "cannot create %s: %s", path, strerror(errno));
  errno = 0;
  int ok = fwrite(header, 1, header_size, f) == header_size;
  ok = ok && (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
  int write_errno = ok ? 0 : errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    write_errno = errno;
  }
  if (!ok) {
    remove(path);
    return fail(err, err_size, TFL_IO_ERROR, "cannot write %s: %s", path,
                write_errno ? strerror(write_errno) : "I/O error");
  }
  return TFL_OK;
}

tfl_status npy_write_file(const char *path, tfl_type type, int ndim, const int32_t *dims,
                          const void *data, size_t bytes, char *err, size_t err_size) {
  const npy_dtype *d = dtype_of_type(type);
  if (!d)
    return fail(err, err_size, TFL_UNSUPPORTED, "%s: type %d cannot be stored in .npy", path,
                (int)type);
  if (bytes && !data) return fail(err, err_size, TFL_INVALID_ARGUMENT, "%s: bad array", path);
  npy_array shape = {.ndim = 0};
  tfl_status st = check_shape(path, ndim, dims, &shape, err, err_size);
  if (st != TFL_OK) return st;
  char msg[160];
  st = check_size(&shape, d->size, bytes, msg, sizeof msg);
  if (st != TFL_OK) return fail(err, err_size, st, "%s: %s", path, msg);
  char descr[8];
  snprintf(descr, sizeof descr, "%c%s", d->size == 1 ? '|' : '<', d->code);
  return write_npy(path, descr, &shape, data, bytes, err, err_size);
}

tfl_status npy_write_strings_file(const char *path, int ndim, const int32_t *dims,
                                  const tfl_string *strings, size_t n, char *err,
                                  size_t err_size) {
  npy_array shape = {.ndim = 0};
  tfl_status st = check_shape(path, ndim, dims, &shape, err, err_size);
  if (st != TFL_OK) return st;
  char msg[160];
  if (n && !strings) return fail(err, err_size, TFL_INVALID_ARGUMENT, "%s: bad array", path);
  if (check_size(&shape, 1, n, msg, sizeof msg) != TFL_OK)
    return fail(err, err_size, TFL_INVALID_ARGUMENT, "%s: %zu strings do not fill the shape",
                path, n);
  size_t width = 1;
  for (size_t i = 0; i < n; i++)
    if (strings[i].size > width) width = strings[i].size;
  if (width > NPY_MAX_STRING_WIDTH || (n && width > SIZE_MAX / n))
    return fail(err, err_size, TFL_LIMIT_EXCEEDED, "%s: strings too long for .npy", path);
  char *data = calloc(n ? n * width : 1, 1);
  if (!data) return fail(err, err_size, TFL_OUT_OF_MEMORY, "%s: out of memory", path);
  for (size_t i = 0; i < n; i++)
    if (strings[i].size) memcpy(data + i * width, strings[i].data, strings[i].size);
  char descr[24];
  snprintf(descr, sizeof descr, "|S%zu", width);
  st = write_npy(path, descr, &shape, data, n * width, err, err_size);
  free(data);
  return st;
}
