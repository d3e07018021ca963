/* DEQUANTIZE to float32 from float16 (IEEE half, converted bit-exactly), and from int8, uint8
 * and int16 with per-tensor or per-channel affine parameters: real = scale * (q - zero_point).
 * As TFLite's reference kernels: the per-tensor product is taken in double and rounded to
 * float once; the per-channel one in float.
 *
 * QUANTIZE, as TFLite 2.19's builtin kernel:
 * - float32 to uint8/int8/int16, per tensor: round(x / scale) in double, half away from zero,
 *   plus the zero point, clamped to the type (TFLite's optimized AffineQuantize); per channel
 *   the division is in float (its reference PerChannelQuantize).
 * - integer to integer (uint8/int8 to uint8/int8/int16, int16 to int8/int16/int32, int32 to
 *   int8/int16): requantization q' = zp_out + (q - zp_in) * in_scale / out_scale with the
 *   fixed-point multiplier of in_scale / out_scale, clamped. int16 to int16 needs zero
 *   points 0. 8-bit to 8-bit looks every code up in a table made at prepare; where that table
 *   only adds a constant to the codes (equal scales) the codes are shifted in a loop the
 *   compiler vectorizes.
 *
 * QUANTIZE from float and DEQUANTIZE to float run the vector kernels of quantize.h where the
 * CPU level has them: per tensor, per channel (DEQUANTIZE along rows of 8 or more elements
 * only), and float16. */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/half.h"
#include "kernels/quant.h"
#include "kernels/quantize.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* The per-channel layout around the quantized axis. */
typedef struct quant_layout {
  size_t outer, channels, inner;
} quant_layout;

typedef struct dequantize_data {
  quant_layout layout;
  tfl_dequantize_fn run; /* the vector kernel, or NULL */
  tfl_half_fn half;      /* float16 input: the vector kernel, or NULL */
} dequantize_data;

/* Per-channel rows shorter than this stay in the portable loop (a call per row would cost
 * more than it saves). */
#define DEQUANTIZE_VECTOR_ROW 8

/* The AVX2 or NEON kernel where `level` runs it, else NULL; the other architecture's name is
 * dropped unexpanded (it is declared only where it exists). */
#if TFL_HAVE_X86_KERNELS
#define LEVEL_KERNEL(level, avx2, neon) (tfl_simd_avx2(level) ? (avx2) : NULL)
#elif TFL_HAVE_ARM_KERNELS
#define LEVEL_KERNEL(level, avx2, neon) (tfl_simd_neon(level) ? (neon) : NULL)
#else
#define LEVEL_KERNEL(level, avx2, neon) NULL
#endif

tfl_quantize_fn tfl_quantize_kernel(tfl_cpu_level level) {
  return LEVEL_KERNEL(level, tfl_quantize_avx2, tfl_quantize_neon);
}

tfl_quantize_channels_fn tfl_quantize_channels_kernel(tfl_cpu_level level) {
  return LEVEL_KERNEL(level, tfl_quantize_channels_avx2, tfl_quantize_channels_neon);
}

tfl_dequantize_fn tfl_dequantize_kernel(tfl_cpu_level level) {
  return LEVEL_KERNEL(level, tfl_dequantize_avx2, tfl_dequantize_neon);
}

tfl_half_fn tfl_half_kernel(tfl_cpu_level level) {
  return LEVEL_KERNEL(level, tfl_half_to_float_avx2, tfl_half_to_float_neon);
}

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

/* The per-channel layout of `shape` for the quantization of `t` (`what` names t in errors);
 * one channel for per-tensor parameters. */
static tfl_status check_quantization(tfl_context *ctx, const tfl_node *node, const char *what,
                                     const tfl_tensor *t, const tfl_tensor *shape,
                                     quant_layout *d) {
  const tfl_quantization *q = &t->quant;
  if (q->count < 1 || !q->scale || !q->zero_point)
    return tfl_context_error(ctx, node, "%s '%s' has no quantization parameters", what, t->name);
  d->outer = tfl_tensor_count(shape);
  d->channels = 1;
  d->inner = 1;
  if (q->count == 1) return TFL_OK;
  if (q->axis < 0 || q->axis >= shape->ndim || shape->dims[q->axis] != q->count)
    return tfl_context_error(ctx, node,
                             "%s '%s': %d per-channel scales do not match axis %d of its "
                             "%d-D shape",
                             what, t->name, q->count, q->axis, shape->ndim);
  d->outer = 1;
  for (int i = 0; i < q->axis; i++) d->outer *= (size_t)shape->dims[i];
  d->channels = (size_t)q->count;
  for (int i = q->axis + 1; i < shape->ndim; i++) d->inner *= (size_t)shape->dims[i];
  return TFL_OK;
}

/* The vector DEQUANTIZE for `level` if it takes every zero point of t. */
static tfl_dequantize_fn dequantize_kernel_for(const tfl_tensor *t, tfl_cpu_level level) {
  for (int c = 0; c < t->quant.count; c++)
    if (t->quant.zero_point[c] > TFL_DEQUANTIZE_VECTOR_ZP ||
        t->quant.zero_point[c] < -TFL_DEQUANTIZE_VECTOR_ZP)
      return NULL;
  return tfl_dequantize_kernel(level);
}

static tfl_status dequantize_prepare(tfl_context *ctx, tfl_node *node) {
  dequantize_data *d = node->user_data;
  d->run = NULL;
  d->half = NULL;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_type(ctx, node, out, "output", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  switch (in->type) {
    case TFL_FLOAT16:
      d->half = tfl_half_kernel(tfl_context_cpu(ctx));
      break;
    case TFL_INT8:
    case TFL_UINT8:
    case TFL_INT16:
      st = check_quantization(ctx, node, "input", in, in, &d->layout);
      if (st == TFL_OK) d->run = dequantize_kernel_for(in, tfl_context_cpu(ctx));
      break;
    default:
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                              tfl_type_name(in->type), in->name);
  }
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static void dequantize_per_tensor(const tfl_tensor *in, const dequantize_data *d, float *out) {
  const size_t n = tfl_tensor_count(in);
  if (d->run) {
    d->run(in->data, n, in->type, in->quant.scale[0], in->quant.zero_point[0], out);
    return;
  }
  const double scale = in->quant.scale[0];
  const int32_t zp = in->quant.zero_point[0];
  for (size_t i = 0; i < n; i++) out[i] = (float)(scale * (double)(int_at(in, i) - zp));
}

static void dequantize_per_channel(const tfl_tensor *in, const dequantize_data *d, float *out) {
  const quant_layout *l = &d->layout;
  const size_t size = tfl_type_size(in->type);
  const int vector_rows = d->run && l->inner >= DEQUANTIZE_VECTOR_ROW;
  size_t i = 0;
  for (size_t o = 0; o < l->outer; o++)
    for (size_t c = 0; c < l->channels; c++) {
      const float scale = in->quant.scale[c];
      const int32_t zp = in->quant.zero_point[c];
      if (vector_rows) {
        d->run((const uint8_t *)in->data + i * size, l->inner, in->type, scale, zp, out + i);
        i += l->inner;
        continue;
      }
      for (size_t k = 0; k < l->inner; k++, i++) out[i] = scale * (float)(int_at(in, i) - zp);
    }
}

static tfl_status dequantize_eval(tfl_context *ctx, tfl_node *node) {
  const dequantize_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  float *out = tfl_node_output(ctx, node, 0)->data;
  if (in->type == TFL_FLOAT16) {
    const size_t n = tfl_tensor_count(in);
    if (d->half)
      d->half(in->data, n, out);
    else
      tfl_half_to_float_tail(in->data, 0, n, out);
  } else if (in->quant.count == 1) {
    dequantize_per_tensor(in, d, out);
  } else {
    dequantize_per_channel(in, d, out);
  }
  return TFL_OK;
}

static const tfl_op_registration reg_dequantize = {.name = "DEQUANTIZE",
                                                   .builtin_code = TFL_OP_DEQUANTIZE,
                                                   .data_size = sizeof(dequantize_data),
                                                   .prepare = dequantize_prepare,
                                                   .eval = dequantize_eval,
                                                   .types = TFL_TYPES_F32 |
                                                            TFL_TYPE_BIT(TFL_FLOAT16) |
                                                            TFL_TYPES_QUANT};

/* --- QUANTIZE --------------------------------------------------------------------------- */

typedef struct quantize_data {
  quant_layout layout;    /* per-channel output layout */
  tfl_quantize_fn run;    /* float input per tensor: the vector kernel, or NULL */
  tfl_quantize_channels_fn run_channels; /* float input per channel: the same */
  int32_t multiplier;     /* integer inputs: in_scale / out_scale */
  int shift;
  int use_table;          /* 8-bit to 8-bit: every output code looked up */
  uint8_t table[256];     /* by input byte */
  int use_shift;          /* the table adds `shift_by` to every code, then clamps */
  int32_t shift_by;
} quantize_data;

/* Stores v, clamped to the range of `type`, as element i. */
static void store_clamped(tfl_type type, void *out, size_t i, int32_t v) {
  int32_t lo, hi;
  tfl_quantized_type_range(type, &lo, &hi);
  v = v < lo ? lo : (v > hi ? hi : v);
  switch (type) {
    case TFL_INT8:
      ((int8_t *)out)[i] = (int8_t)v;
      return;
    case TFL_UINT8:
      ((uint8_t *)out)[i] = (uint8_t)v;
      return;
    case TFL_INT16:
      ((int16_t *)out)[i] = (int16_t)v;
      return;
    default:
      ((int32_t *)out)[i] = v;
      return;
  }
}

/* Element i of an int8, uint8, int16 or int32 tensor. */
static int32_t int32_at(const tfl_tensor *t, size_t i) {
  return t->type == TFL_INT32 ? ((const int32_t *)t->data)[i] : int_at(t, i);
}

/* The integer conversions TFLite's QUANTIZE accepts. */
static int requantize_supported(tfl_type in, tfl_type out) {
  switch (in) {
    case TFL_INT8:
    case TFL_UINT8:
      return out == TFL_INT8 || out == TFL_UINT8 || out == TFL_INT16;
    case TFL_INT16:
      return out == TFL_INT8 || out == TFL_INT16 || out == TFL_INT32;
    case TFL_INT32:
      return out == TFL_INT8 || out == TFL_INT16;
    default:
      return 0;
  }
}

/* Output code of input value q. */
static int32_t requantize_one(int32_t q, int32_t in_zp, int32_t out_zp, const quantize_data *d) {
  /* int32 inputs wrap here as in TFLite's unchecked arithmetic. */
  const int32_t v = (int32_t)((uint32_t)q - (uint32_t)in_zp);
  return tfl_wrap_add32(tfl_mul_by_quantized_multiplier(v, d->multiplier, d->shift), out_zp);
}

static int32_t code_of(tfl_type type, uint8_t byte) {
  return type == TFL_UINT8 ? byte : (int8_t)byte;
}

/* 8-bit to 8-bit: the output of every input byte, computed once; and whether the table is
 * code + shift_by clamped to the output type, for the shift loop. */
static void requantize_table(const tfl_tensor *in, const tfl_tensor *out, quantize_data *d) {
  const int32_t in_zp = tfl_q_zero_point(in), out_zp = out->quant.zero_point[0];
  for (int32_t byte = 0; byte < 256; byte++)
    store_clamped(out->type, d->table, (size_t)byte,
                  requantize_one(code_of(in->type, (uint8_t)byte), in_zp, out_zp, d));
  int32_t lo, hi;
  tfl_quantized_type_range(out->type, &lo, &hi);
  d->shift_by = code_of(out->type, d->table[0]); /* byte 0 is code 0 in both types */
  d->use_shift = 1;
  for (int32_t byte = 0; byte < 256 && d->use_shift; byte++) {
    int32_t v = code_of(in->type, (uint8_t)byte) + d->shift_by;
    v = v < lo ? lo : v > hi ? hi : v;
    d->use_shift = v == code_of(out->type, d->table[byte]);
  }
}

/* Codes shifted by `by` and clamped, as bytes: with b = 128 for int8 and 0 for uint8, byte
 * ^ b is code + b in [0, 255], so code_out = clamp(code_in + by) becomes a saturating byte
 * add of by - b_in + b_out on the flipped bytes (loops the compiler turns into vector
 * saturating adds). */
static void shift_codes(const tfl_tensor *in, tfl_tensor *out, size_t n, int32_t by) {
  const uint8_t flip_in = in->type == TFL_INT8 ? 0x80 : 0;
  const uint8_t flip_out = out->type == TFL_INT8 ? 0x80 : 0;
  const int32_t k = by - flip_in + flip_out;
  const uint8_t *src = in->data;
  uint8_t *dst = out->data;
  if (k >= 0) {
    const uint8_t add = (uint8_t)(k > 255 ? 255 : k);
    for (size_t i = 0; i < n; i++) {
      const uint8_t u = src[i] ^ flip_in;
      const uint8_t v = (uint8_t)(u + add);
      dst[i] = (v < u ? 255 : v) ^ flip_out;
    }
  } else {
    const uint8_t sub = (uint8_t)(k < -255 ? 255 : -k);
    for (size_t i = 0; i < n; i++) {
      const uint8_t u = src[i] ^ flip_in;
      const uint8_t v = (uint8_t)(u - sub);
      dst[i] = (v > u ? 0 : v) ^ flip_out;
    }
  }
}

static tfl_status requantize_prepare(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *in, const tfl_tensor *out,
                                     quantize_data *d) {
  if (!requantize_supported(in->type, out->type))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "quantizing %s to %s is not supported",
                            tfl_type_name(in->type), tfl_type_name(out->type));
  if (in->quant.count > 1 || out->quant.count > 1)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "per-channel requantization is not supported");
  const float in_scale = in->quant.count ? in->quant.scale[0] : 0.0f;
  const float out_scale = out->quant.scale[0];
  if (!(out_scale > 0.0f))
    return tfl_context_error(ctx, node, "output '%s' has scale %g", out->name, (double)out_scale);
  if (in->type == TFL_INT16 && out->type == TFL_INT16 &&
      (tfl_q_zero_point(in) != 0 || tfl_q_zero_point(out) != 0))
    return tfl_context_error(ctx, node, "int16 to int16 needs zero points 0 (have %d and %d)",
                             (int)tfl_q_zero_point(in), (int)tfl_q_zero_point(out));
  tfl_quantize_multiplier((double)in_scale / (double)out_scale, &d->multiplier, &d->shift);
  d->use_table = tfl_type_size(in->type) == 1 && tfl_type_size(out->type) == 1;
  if (d->use_table) requantize_table(in, out, d);
  return TFL_OK;
}

static tfl_status float_quantize_prepare(tfl_context *ctx, const tfl_node *node,
                                         const tfl_tensor *in, const tfl_tensor *out,
                                         quantize_data *d) {
  if (out->type != TFL_INT8 && out->type != TFL_UINT8 && out->type != TFL_INT16)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "quantizing float32 to %s is not supported",
                            tfl_type_name(out->type));
  tfl_status st = check_quantization(ctx, node, "output", out, in, &d->layout);
  if (st != TFL_OK) return st;
  for (int c = 0; c < out->quant.count; c++)
    if (!(out->quant.scale[c] > 0.0f))
      return tfl_context_error(ctx, node, "output '%s' has scale %g", out->name,
                               (double)out->quant.scale[c]);
  if (out->quant.count == 1) d->run = tfl_quantize_kernel(tfl_context_cpu(ctx));
  else d->run_channels = tfl_quantize_channels_kernel(tfl_context_cpu(ctx));
  return TFL_OK;
}

static tfl_status quantize_prepare(tfl_context *ctx, tfl_node *node) {
  quantize_data *d = node->user_data;
  d->run = NULL;
  d->run_channels = NULL;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (out->quant.count < 1 || !out->quant.scale || !out->quant.zero_point)
    return tfl_context_error(ctx, node, "output '%s' has no quantization parameters", out->name);
  st = in->type == TFL_FLOAT32 ? float_quantize_prepare(ctx, node, in, out, d)
                               : requantize_prepare(ctx, node, in, out, d);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static void quantize_per_tensor(const tfl_tensor *in, tfl_tensor *out, const quantize_data *d) {
  const float *x = in->data;
  const float scale = out->quant.scale[0];
  const int32_t zp = out->quant.zero_point[0];
  const size_t n = tfl_tensor_count(in);
  if (d->run) {
    d->run(x, n, scale, zp, out->type, out->data);
    return;
  }
  for (size_t i = 0; i < n; i++)
    store_clamped(out->type, out->data, i, tfl_affine_quantize(x[i], scale, zp));
}

/* Per channel: the vector kernel takes each block of channels x inner elements as rows, or,
 * when the quantized axis is the innermost one, the whole tensor as rows of channels. */
static void quantize_per_channel(const tfl_tensor *in, tfl_tensor *out, const quantize_data *d) {
  const quant_layout *l = &d->layout;
  const float *x = in->data;
  const float *scale = out->quant.scale;
  const int32_t *zp = out->quant.zero_point;
  const size_t size = tfl_type_size(out->type), block = l->channels * l->inner;
  uint8_t *dst = out->data;
  if (d->run_channels && l->inner == 1) {
    d->run_channels(x, l->outer, l->channels, scale, zp, 1, out->type, dst);
    return;
  }
  for (size_t o = 0, i = 0; o < l->outer; o++) {
    if (d->run_channels) {
      d->run_channels(x + i, l->channels, l->inner, scale, zp, 0, out->type, dst + i * size);
      i += block;
      continue;
    }
    for (size_t c = 0; c < l->channels; c++)
      for (size_t k = 0; k < l->inner; k++, i++)
        store_clamped(out->type, dst, i, tfl_affine_quantize_f32(x[i], scale[c], zp[c]));
  }
}

static void requantize(const tfl_tensor *in, tfl_tensor *out, const quantize_data *d) {
  const size_t n = tfl_tensor_count(in);
  if (d->use_table && d->use_shift) {
    shift_codes(in, out, n, d->shift_by);
    return;
  }
  if (d->use_table) {
    const uint8_t *src = in->data;
    uint8_t *dst = out->data;
    for (size_t i = 0; i < n; i++) dst[i] = d->table[src[i]];
    return;
  }
  const int32_t in_zp = tfl_q_zero_point(in), out_zp = out->quant.zero_point[0];
  for (size_t i = 0; i < n; i++)
    store_clamped(out->type, out->data, i, requantize_one(int32_at(in, i), in_zp, out_zp, d));
}

static tfl_status quantize_eval(tfl_context *ctx, tfl_node *node) {
  const quantize_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (in->type != TFL_FLOAT32)
    requantize(in, out, d);
  else if (out->quant.count == 1)
    quantize_per_tensor(in, out, d);
  else
    quantize_per_channel(in, out, d);
  return TFL_OK;
}

static const tfl_op_registration reg_quantize = {.name = "QUANTIZE",
                                                 .builtin_code = TFL_OP_QUANTIZE,
                                                 .data_size = sizeof(quantize_data),
                                                 .prepare = quantize_prepare,
                                                 .eval = quantize_eval,
                                                 .types = TFL_TYPES_F32 | TFL_TYPES_QUANT |
                                                          TFL_TYPE_BIT(TFL_INT32)};

const tfl_op_registration *const tfl_kernels_quantize[] = {&reg_dequantize, &reg_quantize, NULL};
