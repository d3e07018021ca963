#include "kernels/hybrid.h"

#include <math.h>
#include <string.h>

/* The element kernels of a CPU level. */
typedef struct row_kernels {
  tfl_hybrid_range_fn range;
  tfl_hybrid_codes_fn codes;
} row_kernels;

static void range_portable(const float *x, size_t n, float *lo, float *hi) {
  *lo = *hi = x[0];
  for (size_t i = 1; i < n; i++) tfl_hybrid_range_update(x[i], lo, hi);
}

static void codes_portable(const float *x, size_t n, float inv, float offset, int32_t lo,
                           int8_t *q) {
  for (size_t i = 0; i < n; i++) q[i] = tfl_hybrid_code(x[i], inv, offset, lo);
}

static row_kernels kernels_for(tfl_cpu_level level) {
  row_kernels k = {range_portable, codes_portable};
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) k = (row_kernels){tfl_hybrid_range_avx2, tfl_hybrid_codes_avx2};
#endif
#if TFL_HAVE_ARM_KERNELS
  if (tfl_simd_neon(level)) k = (row_kernels){tfl_hybrid_range_neon, tfl_hybrid_codes_neon};
#endif
  (void)level;
  return k;
}

static void quantize_symmetric(const row_kernels *k, const float *x, size_t n, int8_t *q,
                               tfl_hybrid_row *row) {
  row->zero_point = 0;
  row->scale = 1.0f;
  if (n == 0) return;
  float lo, hi;
  k->range(x, n, &lo, &hi);
  const float a = fabsf(lo), b = fabsf(hi);
  const float range = a < b ? b : a;
  if (range == 0.0f) {
    memset(q, 0, n);
    return;
  }
  row->scale = range / 127.0f;
  k->codes(x, n, 127.0f / range, 0.0f, -127, q);
}

static void quantize_asymmetric(const row_kernels *k, const float *x, size_t n, int8_t *q,
                                tfl_hybrid_row *row) {
  row->zero_point = 0;
  row->scale = 1.0f;
  if (n == 0) return;
  float lo, hi;
  k->range(x, n, &lo, &hi);
  const double rmin = lo < 0.0f ? (double)lo : 0.0;
  const double rmax = 0.0f < hi ? (double)hi : 0.0;
  if (rmin == rmax) {
    memset(q, 0, n);
    return;
  }
  const double qmin = -128.0, qmax = 127.0;
  const double scale = (rmax - rmin) / (qmax - qmin);
  const double zp_from_min = qmin - rmin / scale;
  const double zp_from_max = qmax - rmax / scale;
  const double err_min = fabs(qmin) + fabs(rmin / scale);
  const double err_max = fabs(qmax) + fabs(rmax / scale);
  const double zp = err_min < err_max ? zp_from_min : zp_from_max;
  row->zero_point = zp <= qmin ? -128 : zp >= qmax ? 127 : (int32_t)(int8_t)round(zp);
  row->scale = (float)scale;
  k->codes(x, n, 1.0f / row->scale, (float)row->zero_point, -128, q);
}

void tfl_hybrid_quantize_symmetric(const float *x, size_t n, int8_t *q, tfl_hybrid_row *row) {
  const row_kernels k = kernels_for(TFL_CPU_SCALAR);
  quantize_symmetric(&k, x, n, q, row);
}

void tfl_hybrid_quantize_asymmetric(const float *x, size_t n, int8_t *q, tfl_hybrid_row *row) {
  const row_kernels k = kernels_for(TFL_CPU_SCALAR);
  quantize_asymmetric(&k, x, n, q, row);
}

void tfl_hybrid_quantize_rows_cpu(tfl_cpu_level level, const float *x, size_t rows,
                                  size_t row_size, int asymmetric, int8_t *q,
                                  tfl_hybrid_row *params) {
  const row_kernels k = kernels_for(level);
  for (size_t r = 0; r < rows; r++, x += row_size, q += row_size) {
    if (asymmetric)
      quantize_asymmetric(&k, x, row_size, q, &params[r]);
    else
      quantize_symmetric(&k, x, row_size, q, &params[r]);
  }
}

void tfl_hybrid_quantize_rows(const float *x, size_t rows, size_t row_size, int asymmetric,
                              int8_t *q, tfl_hybrid_row *params) {
  tfl_hybrid_quantize_rows_cpu(TFL_CPU_SCALAR, x, rows, row_size, asymmetric, q, params);
}

tfl_status tfl_hybrid_request_scratch(tfl_context *ctx, tfl_node *node, size_t elements,
                                      size_t rows, tfl_hybrid_scratch *s) {
  if (rows > SIZE_MAX / sizeof(tfl_hybrid_row))
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "%zu input rows are too many", rows);
  tfl_status st = tfl_context_request_scratch(ctx, node, elements, &s->values);
  if (st != TFL_OK) return st;
  return tfl_context_request_scratch(ctx, node, rows * sizeof(tfl_hybrid_row), &s->rows);
}
