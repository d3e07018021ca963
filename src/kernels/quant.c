#include "kernels/quant.h"

#include <math.h>

void tfl_quantize_multiplier(double real, int32_t *multiplier, int *shift) {
  if (real == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int exp = 0;
  double q = frexp(real, &exp);
  int64_t fixed = (int64_t)round(q * (double)((int64_t)1 << 31));
  if (fixed == ((int64_t)1 << 31)) {
    fixed /= 2;
    exp++;
  }
  if (exp < -31) {
    exp = 0;
    fixed = 0;
  }
  *multiplier = (int32_t)fixed;
  *shift = exp;
}

void tfl_quantized_type_range(tfl_type type, int32_t *min, int32_t *max) {
  switch (type) {
    case TFL_UINT8: *min = 0; *max = 255; return;
    case TFL_INT8: *min = -128; *max = 127; return;
    case TFL_INT16: *min = -32768; *max = 32767; return;
    default: *min = INT32_MIN; *max = INT32_MAX; return;
  }
}

static int32_t quantize_bound(float value, float scale, int32_t zero_point) {
  float q = roundf(value / scale);
  if (q >= 2147483648.0f) return INT32_MAX;
  if (q < -2147483648.0f) return INT32_MIN;
  int64_t r = (int64_t)zero_point + (int64_t)q;
  if (r > INT32_MAX) return INT32_MAX;
  if (r < INT32_MIN) return INT32_MIN;
  return (int32_t)r;
}

static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

tfl_status tfl_quantized_activation_range(int act, tfl_type type, float scale,
                                          int32_t zero_point, int32_t *act_min,
                                          int32_t *act_max) {
  int32_t qmin, qmax;
  tfl_quantized_type_range(type, &qmin, &qmax);
  switch (act) {
    case TFL_ACT_NONE:
      *act_min = qmin;
      *act_max = qmax;
      return TFL_OK;
    case TFL_ACT_RELU:
      *act_min = max32(qmin, quantize_bound(0.0f, scale, zero_point));
      *act_max = qmax;
      return TFL_OK;
    case TFL_ACT_RELU6:
      *act_min = max32(qmin, quantize_bound(0.0f, scale, zero_point));
      *act_max = min32(qmax, quantize_bound(6.0f, scale, zero_point));
      return TFL_OK;
    case TFL_ACT_RELU_N1_TO_1:
      *act_min = max32(qmin, quantize_bound(-1.0f, scale, zero_point));
      *act_max = min32(qmax, quantize_bound(1.0f, scale, zero_point));
      return TFL_OK;
    default:
      return TFL_UNSUPPORTED;
  }
}

void tfl_build_lut8(tfl_type in_type, float in_scale, int32_t in_zp, tfl_type out_type,
                    float out_scale, int32_t out_zp, float (*f)(float, const void *),
                    const void *arg, uint8_t table[256]) {
  int32_t in_min, in_max, out_min, out_max;
  tfl_quantized_type_range(in_type, &in_min, &in_max);
  tfl_quantized_type_range(out_type, &out_min, &out_max);
  const float inv_out_scale = 1.0f / out_scale;
  for (int32_t v = in_min; v <= in_max; v++) {
    float x = in_scale * (float)(v - in_zp);
    float q = roundf(f(x, arg) * inv_out_scale) + (float)out_zp;
    /* Clamp in float first: f may return inf or nan for extreme inputs. */
    if (!(q >= (float)out_min)) q = (float)out_min;
    if (q > (float)out_max) q = (float)out_max;
    table[(uint8_t)v] = (uint8_t)(int32_t)q;
  }
}
