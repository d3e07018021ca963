/* Reading and writing NumPy .npy files (format 1.0, 2.0 and 3.0) for tfl's tensor types.
 *
 * Only plain little-endian, C-order arrays of the numeric types tfl tensors use, and of
 * fixed-width strings, are accepted; everything else (big-endian, Fortran order, structured or
 * object dtypes, pickles) is refused with a one-line message. String arrays read as
 * TFL_STRING: 'S' (bytes) as they are and 'U' (unicode) converted to UTF-8, each without the
 * trailing NULs NumPy pads them with; they are written as 'S' with the longest string's
 * width. Parsing is bounds-checked throughout: a malformed file
 * gives an error, never a crash. Like tfl itself, this assumes a little-endian host. */
#ifndef TFL_TOOLS_NPY_H
#define TFL_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/status.h"
#include "tfl/string.h"
#include "tfl/tensor.h"

typedef struct npy_array {
  tfl_type type;
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  const void *data; /* points into the parsed buffer (or into `owned` after npy_read_file) */
  size_t bytes;     /* element count * item size, exactly what follows the header */
  void *owned;      /* the file contents, freed by npy_free */
  /* String arrays: one string per element (into data, or into this block for 'U' arrays),
   * n_strings of them; NULL for the other types. Freed by npy_free. */
  tfl_string *strings;
  size_t n_strings;
} npy_array;

/* Parses a whole .npy file held in memory; out->data (and the strings of an 'S' array) point
 * into buf. On failure returns a non-OK status and writes a one-line message to err (at most
 * err_size bytes). Free the result with npy_free (string arrays allocate). */
tfl_status npy_parse(const void *buf, size_t size, npy_array *out, char *err, size_t err_size);

/* Reads and parses a file. Free the result with npy_free (also safe after a failure). */
tfl_status npy_read_file(const char *path, npy_array *out, char *err, size_t err_size);
void npy_free(npy_array *a);

/* Writes a .npy file (format 1.0). bytes must equal the element count times the item size. */
tfl_status npy_write_file(const char *path, tfl_type type, int ndim, const int32_t *dims,
                          const void *data, size_t bytes, char *err, size_t err_size);

/* Writes n strings as a .npy file of dtype 'S' (format 1.0); n must be the shape's element
 * count. The width is the longest string's (at least 1, as NumPy's). */
tfl_status npy_write_strings_file(const char *path, int ndim, const int32_t *dims,
                                  const tfl_string *strings, size_t n, char *err,
                                  size_t err_size);

/* Whether .npy can hold this tensor type, and its NumPy name (e.g. "float32", "bytes" for
 * strings; NULL if not). */
const char *npy_type_name(tfl_type type);

#endif
