#include "util/quant_ref.h"

#include <math.h>
#include <stdlib.h>

#include "kernels/quant.h"
#include "runtime/kernel.h"

int64_t *qr_random_ints(size_t n, unsigned seed, int64_t lo, int64_t hi) {
  int64_t *p = malloc((n ? n : 1) * sizeof(int64_t));
  uint32_t s = seed * 2654435761u + 7u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = lo + (int64_t)((s >> 4) % (uint64_t)(hi - lo + 1));
  }
  if (n >= 2) {
    p[0] = lo;
    p[n - 1] = hi;
  }
  return p;
}

float *qr_random_floats(size_t n, unsigned seed, float scale) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  uint32_t s = seed * 2654435761u + 1u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = scale * ((float)(s >> 8) / (float)(1u << 24) * 2.0f - 1.0f);
  }
  return p;
}

void *qr_pack(tfl_type t, const int64_t *v, size_t n) {
  void *p = malloc((n ? n : 1) * sizeof(int64_t));
  for (size_t i = 0; i < n; i++) {
    switch (t) {
      case TFL_UINT8: ((uint8_t *)p)[i] = (uint8_t)v[i]; break;
      case TFL_INT8: ((int8_t *)p)[i] = (int8_t)v[i]; break;
      case TFL_INT16: ((int16_t *)p)[i] = (int16_t)v[i]; break;
      case TFL_INT32: ((int32_t *)p)[i] = (int32_t)v[i]; break;
      default: ((int64_t *)p)[i] = v[i]; break;
    }
  }
  return p;
}

int64_t qr_code_at(tfl_type t, const void *p, size_t i) {
  switch (t) {
    case TFL_UINT8: return ((const uint8_t *)p)[i];
    case TFL_INT8: return ((const int8_t *)p)[i];
    default: return ((const int16_t *)p)[i];
  }
}

void qr_type_range(tfl_type t, int64_t *lo, int64_t *hi) {
  *lo = t == TFL_UINT8 ? 0 : t == TFL_INT8 ? -128 : -32768;
  *hi = t == TFL_UINT8 ? 255 : t == TFL_INT8 ? 127 : 32767;
}

void qr_act_range(int act, tfl_type t, float scale, int32_t zp, int64_t *lo, int64_t *hi) {
  qr_type_range(t, lo, hi);
  float bottom, top;
  switch (act) {
    case TFL_ACT_RELU: bottom = 0.0f; top = INFINITY; break;
    case TFL_ACT_RELU_N1_TO_1: bottom = -1.0f; top = 1.0f; break;
    case TFL_ACT_RELU6: bottom = 0.0f; top = 6.0f; break;
    default: return;
  }
  const int64_t qlo = zp + (int64_t)roundf(bottom / scale);
  if (qlo > *lo) *lo = qlo;
  if (top != INFINITY) {
    const int64_t qhi = zp + (int64_t)roundf(top / scale);
    if (qhi < *hi) *hi = qhi;
  }
}

int64_t qr_requantize(qr_requant form, int64_t acc, double real, int32_t zp, int64_t lo,
                      int64_t hi) {
  int32_t m;
  int shift;
  tfl_quantize_multiplier(real, &m, &shift);
  int64_t v;
  switch (form) {
    case QR_RUY: v = tfl_mul_by_quantized_multiplier_ruy((int32_t)acc, m, shift); break;
    case QR_WIDE: v = tfl_mul_by_quantized_multiplier64(acc, m, shift); break;
    case QR_REAL: v = (int64_t)round((double)acc * real); break;
    default: v = tfl_mul_by_quantized_multiplier((int32_t)acc, m, shift); break;
  }
  v += zp;
  return v < lo ? lo : v > hi ? hi : v;
}

void qr_quantize_row(const float *x, size_t n, int asymmetric, int8_t *q, float *scale,
                     int32_t *zero_point) {
  float lo = x[0], hi = x[0];
  for (size_t i = 1; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  *zero_point = 0;
  if (!asymmetric) {
    const float range = fabsf(lo) > fabsf(hi) ? fabsf(lo) : fabsf(hi);
    *scale = range / 127.0f;
    for (size_t i = 0; i < n; i++) q[i] = (int8_t)roundf(x[i] * (127.0f / range));
    return;
  }
  const double rmin = lo < 0 ? lo : 0.0, rmax = hi > 0 ? hi : 0.0;
  const double s = (rmax - rmin) / 255.0;
  const double from_min = -128.0 - rmin / s, from_max = 127.0 - rmax / s;
  const double z = 128.0 + fabs(rmin / s) < 127.0 + fabs(rmax / s) ? from_min : from_max;
  *zero_point = z <= -128.0 ? -128 : z >= 127.0 ? 127 : (int32_t)round(z);
  *scale = (float)s;
  for (size_t i = 0; i < n; i++) {
    const float v = roundf((float)*zero_point + x[i] * (1.0f / *scale));
    q[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
  }
}
