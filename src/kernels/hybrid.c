#include "kernels/hybrid.h"

#include <math.h>
#include <string.h>

#include "kernels/quant.h"

static int32_t clamp32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static void min_max(const float *x, size_t n, float *lo, float *hi) {
  *lo = *hi = x[0];
  for (size_t i = 1; i < n; i++) {
    if (x[i] < *lo) *lo = x[i];
    if (x[i] > *hi) *hi = x[i];
  }
}

void tfl_hybrid_quantize_symmetric(const float *x, size_t n, int8_t *q, tfl_hybrid_row *row) {
  row->zero_point = 0;
  row->scale = 1.0f;
  if (n == 0) return;
  float lo, hi;
  min_max(x, n, &lo, &hi);
  const float a = fabsf(lo), b = fabsf(hi);
  const float range = a < b ? b : a;
  if (range == 0.0f) {
    memset(q, 0, n);
    return;
  }
  row->scale = range / 127.0f;
  const float inv = 127.0f / range;
  for (size_t i = 0; i < n; i++) q[i] = (int8_t)clamp32(tfl_trunc_i32(roundf(x[i] * inv)), -127, 127);
}

void tfl_hybrid_quantize_asymmetric(const float *x, size_t n, int8_t *q, tfl_hybrid_row *row) {
  row->zero_point = 0;
  row->scale = 1.0f;
  if (n == 0) return;
  float lo, hi;
  min_max(x, n, &lo, &hi);
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
  const float inv = 1.0f / row->scale;
  const float offset = (float)row->zero_point;
  for (size_t i = 0; i < n; i++)
    q[i] = (int8_t)clamp32(tfl_trunc_i32(roundf(offset + x[i] * inv)), -128, 127);
}

void tfl_hybrid_quantize_rows(const float *x, size_t rows, size_t row_size, int asymmetric,
                              int8_t *q, tfl_hybrid_row *params) {
  for (size_t r = 0; r < rows; r++, x += row_size, q += row_size) {
    if (asymmetric)
      tfl_hybrid_quantize_asymmetric(x, row_size, q, &params[r]);
    else
      tfl_hybrid_quantize_symmetric(x, row_size, q, &params[r]);
  }
}

tfl_status tfl_hybrid_request_scratch(tfl_context *ctx, tfl_node *node, size_t elements,
                                      size_t rows, tfl_hybrid_scratch *s) {
  if (rows > SIZE_MAX / sizeof(tfl_hybrid_row))
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "%zu input rows are too many", rows);
  tfl_status st = tfl_context_request_scratch(ctx, node, elements, &s->values);
  if (st != TFL_OK) return st;
  return tfl_context_request_scratch(ctx, node, rows * sizeof(tfl_hybrid_row), &s->rows);
}
