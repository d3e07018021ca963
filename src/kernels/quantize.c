/* DEQUANTIZE to float32 from float16 (IEEE half, converted bit-exactly), and from int8, uint8
 * and int16 with per-tensor or per-channel affine parameters: real = scale * (q - zero_point).
 *
 * As TFLite's reference kernels: the per-tensor product is taken in double and rounded to
 * float once; the per-channel one in float. QUANTIZE (float to integer) is not implemented
 * yet, so it is not registered. */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* IEEE 754 binary16 to binary32; every half value is exactly representable. */
static float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) { /* infinity, or NaN with its payload */
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) { /* normal: rebias the exponent from 15 to 127 */
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) { /* signed zero */
    bits = sign;
  } else { /* subnormal mant * 2^-24: normalize into a float exponent */
    exp = 113;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      exp--;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

typedef struct dequantize_data {
  size_t outer, channels, inner; /* per-channel layout around the quantized axis */
} dequantize_data;

static int32_t int_at(const tfl_tensor *t, size_t i) {
  switch (t->type) {
    case TFL_INT8:
      return ((const int8_t *)t->data)[i];
    case TFL_UINT8:
      return ((const uint8_t *)t->data)[i];
    default:
      return ((const int16_t *)t->data)[i];
  }
}

static tfl_status check_quantization(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *in, dequantize_data *d) {
  const tfl_quantization *q = &in->quant;
  if (q->count < 1 || !q->scale || !q->zero_point)
    return tfl_context_error(ctx, node, "input '%s' has no quantization parameters", in->name);
  d->outer = tfl_tensor_count(in);
  d->channels = 1;
  d->inner = 1;
  if (q->count == 1) return TFL_OK;
  if (q->axis < 0 || q->axis >= in->ndim || in->dims[q->axis] != q->count)
    return tfl_context_error(ctx, node,
                             "input '%s': %d per-channel scales do not match axis %d of its "
                             "%d-D shape",
                             in->name, q->count, q->axis, in->ndim);
  d->outer = 1;
  for (int i = 0; i < q->axis; i++) d->outer *= (size_t)in->dims[i];
  d->channels = (size_t)q->count;
  for (int i = q->axis + 1; i < in->ndim; i++) d->inner *= (size_t)in->dims[i];
  return TFL_OK;
}

static tfl_status dequantize_prepare(tfl_context *ctx, tfl_node *node) {
  dequantize_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_type(ctx, node, out, "output", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  switch (in->type) {
    case TFL_FLOAT16:
      break;
    case TFL_INT8:
    case TFL_UINT8:
    case TFL_INT16:
      st = check_quantization(ctx, node, in, d);
      break;
    default:
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                              tfl_type_name(in->type), in->name);
  }
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static void dequantize_per_tensor(const tfl_tensor *in, float *out) {
  const double scale = in->quant.scale[0];
  const int32_t zp = in->quant.zero_point[0];
  const size_t n = tfl_tensor_count(in);
  for (size_t i = 0; i < n; i++) out[i] = (float)(scale * (double)(int_at(in, i) - zp));
}

static void dequantize_per_channel(const tfl_tensor *in, const dequantize_data *d, float *out) {
  size_t i = 0;
  for (size_t o = 0; o < d->outer; o++)
    for (size_t c = 0; c < d->channels; c++) {
      const float scale = in->quant.scale[c];
      const int32_t zp = in->quant.zero_point[c];
      for (size_t k = 0; k < d->inner; k++, i++) out[i] = scale * (float)(int_at(in, i) - zp);
    }
}

static tfl_status dequantize_eval(tfl_context *ctx, tfl_node *node) {
  const dequantize_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  float *out = tfl_node_output(ctx, node, 0)->data;
  if (in->type == TFL_FLOAT16) {
    const uint16_t *h = in->data;
    const size_t n = tfl_tensor_count(in);
    for (size_t i = 0; i < n; i++) out[i] = half_to_float(h[i]);
  } else if (in->quant.count == 1) {
    dequantize_per_tensor(in, out);
  } else {
    dequantize_per_channel(in, d, out);
  }
  return TFL_OK;
}

static const tfl_op_registration reg_dequantize = {.name = "DEQUANTIZE",
                                                   .builtin_code = TFL_OP_DEQUANTIZE,
                                                   .data_size = sizeof(dequantize_data),
                                                   .prepare = dequantize_prepare,
                                                   .eval = dequantize_eval};

const tfl_op_registration *const tfl_kernels_quantize[] = {&reg_dequantize, NULL};
