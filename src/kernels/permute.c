#include "kernels/permute.h"

#include <string.h>

#include "tfl/tensor.h"

/* Square tiles keep both the reads and the writes of a transposed matrix within a few cache
 * lines each. */
enum { PERMUTE_TILE = 16 };

/* The copy as a walk over the output in order: output axis i has dims[i] indices and one
 * step along it moves step[i] bytes in the input. */
typedef struct permute_plan {
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  size_t step[TFL_MAX_DIMS];
} permute_plan;

/* Drops size-1 axes and merges output neighbours that are also neighbours, in the same order,
 * in the input: NHWC -> NCHW becomes a batch of [HW, C] -> [C, HW] matrix transposes and an
 * identity permutation a single run. Leaves at least two axes (leading ones of size 1). */
static void permute_plan_make(int ndim, const int32_t *in_dims, const int *perm, size_t elem,
                              permute_plan *p) {
  size_t in_step[TFL_MAX_DIMS];
  size_t s = elem;
  for (int i = ndim - 1; i >= 0; i--) {
    in_step[i] = s;
    s *= (size_t)in_dims[i];
  }
  int n = 0;
  for (int i = 0; i < ndim; i++) {
    const int32_t size = in_dims[perm[i]];
    const size_t step = in_step[perm[i]];
    if (size == 1) continue;
    if (n > 0 && p->step[n - 1] == step * (size_t)size) {
      p->dims[n - 1] *= size;
      p->step[n - 1] = step;
      continue;
    }
    p->dims[n] = size;
    p->step[n] = step;
    n++;
  }
  const int pad = n < 2 ? 2 - n : 0;
  memmove(p->dims + pad, p->dims, (size_t)n * sizeof(p->dims[0]));
  memmove(p->step + pad, p->step, (size_t)n * sizeof(p->step[0]));
  for (int i = 0; i < pad; i++) {
    p->dims[i] = 1;
    p->step[i] = elem;
  }
  p->ndim = n + pad;
}

/* dst[r][c] (rows x cols, contiguous) = the element at src + r * row_step + c * col_step.
 * Inlined with a constant elem, the element copy becomes a single move. */
static inline void copy_matrix(uint8_t *dst, const uint8_t *src, int32_t rows, int32_t cols,
                               size_t row_step, size_t col_step, size_t elem) {
  if (col_step == elem) {
    for (int32_t r = 0; r < rows; r++)
      memcpy(dst + (size_t)r * (size_t)cols * elem, src + (size_t)r * row_step,
             (size_t)cols * elem);
    return;
  }
  for (int32_t r0 = 0; r0 < rows; r0 += PERMUTE_TILE) {
    const int32_t r1 = rows - r0 < PERMUTE_TILE ? rows : r0 + PERMUTE_TILE;
    for (int32_t c0 = 0; c0 < cols; c0 += PERMUTE_TILE) {
      const int32_t c1 = cols - c0 < PERMUTE_TILE ? cols : c0 + PERMUTE_TILE;
      for (int32_t r = r0; r < r1; r++) {
        uint8_t *d = dst + ((size_t)r * (size_t)cols + (size_t)c0) * elem;
        const uint8_t *s = src + (size_t)r * row_step + (size_t)c0 * col_step;
        for (int32_t c = c0; c < c1; c++, d += elem, s += col_step) memcpy(d, s, elem);
      }
    }
  }
}

static void copy_matrix_any(uint8_t *dst, const uint8_t *src, int32_t rows, int32_t cols,
                            size_t row_step, size_t col_step, size_t elem) {
  switch (elem) {
    case 1:
      copy_matrix(dst, src, rows, cols, row_step, col_step, 1);
      break;
    case 2:
      copy_matrix(dst, src, rows, cols, row_step, col_step, 2);
      break;
    case 4:
      copy_matrix(dst, src, rows, cols, row_step, col_step, 4);
      break;
    case 8:
      copy_matrix(dst, src, rows, cols, row_step, col_step, 8);
      break;
    default:
      copy_matrix(dst, src, rows, cols, row_step, col_step, elem);
  }
}

void tfl_permute(int ndim, const int32_t *in_dims, const int *perm, size_t elem, const void *in,
                 void *out) {
  for (int i = 0; i < ndim; i++)
    if (in_dims[i] == 0) return;
  permute_plan p;
  permute_plan_make(ndim, in_dims, perm, elem, &p);
  /* The last two axes form one matrix copy; an odometer walks the outer ones. */
  const int outer = p.ndim - 2;
  const int32_t rows = p.dims[outer], cols = p.dims[outer + 1];
  const size_t matrix_bytes = (size_t)rows * (size_t)cols * elem;
  int32_t idx[TFL_MAX_DIMS] = {0};
  uint8_t *dst = out;
  for (;;) {
    size_t offset = 0;
    for (int d = 0; d < outer; d++) offset += (size_t)idx[d] * p.step[d];
    copy_matrix_any(dst, (const uint8_t *)in + offset, rows, cols, p.step[outer],
                    p.step[outer + 1], elem);
    dst += matrix_bytes;
    int d = outer - 1;
    while (d >= 0 && ++idx[d] == p.dims[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}
