/* SOFTMAX and LOG_SOFTMAX over the last axis.
 *
 * float32, as TFLite's reference kernels: per row, the maximum is subtracted first so that exp
 * never overflows; SOFTMAX computes exp((x - max) * beta), sums in float and divides each term
 * by the sum; LOG_SOFTMAX (no beta) gives x - max - log(sum(exp(x - max))). Above the scalar
 * CPU level the max, the exps with their sum and the division run the vector functions of
 * kernels/vmath.h (the sum in vector lanes); at TFL_CPU=scalar, libm and the loops below.
 *
 * Quantized, as TFLite 2.19's builtin (optimized, non-NEON) kernels, bit for bit:
 * - uint8/int8 input: a 256-entry float table holds expf(-in_scale * beta * k), k being the
 *   distance below the row's maximum. SOFTMAX sums the row's entries in float and scales each
 *   by 1 / (sum * out_scale); the result is rounded half up (uint8 output, zero point
 *   ignored) or half away from zero plus the zero point (int8, int16 outputs). LOG_SOFTMAX
 *   (beta 1) computes in_scale / out_scale * q - (in_scale * max + logf(sum)) / out_scale in
 *   float, rounded half to even, plus the zero point.
 * - int16 SOFTMAX: TFLite's integer kernel with its two interpolated 513-entry tables (exp on
 *   [-10, 0] and 1 / (1 + x) on [0, 1]); inputs are rescaled so that 65535 steps span 10.
 * Output parameters TFLite requires: SOFTMAX int8 (1/256, -128) and int16 (1/32768, 0), both
 * within 0.1%; LOG_SOFTMAX exactly (16/256, 255) for uint8 and (16/256, 127) for int8. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "kernels/families.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "kernels/vmath.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { SOFTMAX_OPT_BETA = 0 };

typedef struct softmax_data softmax_data;
typedef void (*softmax_row_fn)(const void *x, void *y, size_t depth, const softmax_data *d);

struct softmax_data {
  softmax_row_fn row;
  const tfl_vmath *vm; /* float rows: the vector functions, NULL at the scalar level */
  float beta;
  size_t depth; /* last dimension */
  size_t rows;  /* product of the others */
  float in_scale, out_scale;
  int32_t out_zp;
  float table[256];              /* 8-bit inputs: table[255 - k] = expf(-in_scale * beta * k) */
  int32_t in_multiplier;         /* int16: in_scale * beta / (10 / 65535) */
  int in_shift;
  int16_t exp_lut[513];          /* int16: exp on [-10, 0] */
  int16_t recip_lut[513];        /* int16: 1 / (1 + x) on [0, 1] */
};

/* --- float32 ---------------------------------------------------------------------------- */

static float row_max(const float *x, size_t depth) {
  float m = -FLT_MAX;
  for (size_t c = 0; c < depth; c++)
    if (m < x[c]) m = x[c];
  return m;
}

static void softmax_row_f32(const void *x_, void *y_, size_t depth, const softmax_data *d) {
  const float *x = x_;
  float *y = y_;
  const float m = row_max(x, depth);
  float sum = 0.0f;
  for (size_t c = 0; c < depth; c++) {
    y[c] = expf((x[c] - m) * d->beta);
    sum += y[c];
  }
  for (size_t c = 0; c < depth; c++) y[c] /= sum;
}

static void log_softmax_row_f32(const void *x_, void *y_, size_t depth, const softmax_data *d) {
  const float *x = x_;
  float *y = y_;
  (void)d;
  const float m = row_max(x, depth);
  float sum = 0.0f;
  for (size_t c = 0; c < depth; c++) sum += expf(x[c] - m);
  const float log_sum = logf(sum);
  for (size_t c = 0; c < depth; c++) y[c] = x[c] - m - log_sum;
}

static void softmax_row_f32_vec(const void *x_, void *y_, size_t depth, const softmax_data *d) {
  const float *x = x_;
  float *y = y_;
  const float m = d->vm->max(x, depth);
  d->vm->div(y, depth, d->vm->exp_sum(x, y, depth, m, d->beta));
}

static void log_softmax_row_f32_vec(const void *x_, void *y_, size_t depth,
                                    const softmax_data *d) {
  const float *x = x_;
  float *y = y_;
  const float m = d->vm->max(x, depth);
  const float log_sum = logf(d->vm->exp_sum(x, NULL, depth, m, 1.0f));
  for (size_t c = 0; c < depth; c++) y[c] = x[c] - m - log_sum;
}

/* --- uint8 / int8 inputs: the float exp table --------------------------------------------- */

/* TFLite's PopulateSoftmaxLookupTable. */
static void fill_exp_table(float table[256], float in_scale, float beta) {
  const float scale = -in_scale * beta;
  for (int32_t k = 0; k <= 255; k++) table[255 - k] = expf(scale * (float)k);
}

static int32_t clamp_to(tfl_type type, int32_t v) {
  int32_t lo, hi;
  tfl_quantized_type_range(type, &lo, &hi);
  return v < lo ? lo : (v > hi ? hi : v);
}

/* A probability on the output scale, quantized as TFLite's QuantizeSoftmaxOutput on x86. */
static int32_t quantize_prob_u8(float p, int32_t zp) {
  (void)zp; /* uint8 outputs round half up and ignore the zero point */
  return clamp_to(TFL_UINT8, tfl_trunc_i32(p + 0.5f));
}
static int32_t quantize_prob_i8(float p, int32_t zp) {
  return clamp_to(TFL_INT8, tfl_wrap_add32(tfl_trunc_i32(roundf(p)), zp));
}
static int32_t quantize_prob_i16(float p, int32_t zp) {
  return clamp_to(TFL_INT16, tfl_wrap_add32(tfl_trunc_i32(roundf(p)), zp));
}

/* Defines the row kernel of an 8-bit input type IN and output type OUT: the row's table
 * entries start at 255 - max, so entry base + x is exp of (x - max) on the input scale. */
#define SOFTMAX_Q8_ROW(name, IN, OUT, QUANTIZE)                                          \
  static void name(const void *x_, void *y_, size_t depth, const softmax_data *d) {     \
    const IN *x = x_;                                                                   \
    OUT *y = y_;                                                                        \
    int32_t max = x[0];                                                                 \
    for (size_t c = 1; c < depth; c++)                                                  \
      if (x[c] > max) max = x[c];                                                       \
    const int32_t base = 255 - max;                                                     \
    float sum = 0.0f;                                                                   \
    for (size_t c = 0; c < depth; c++) sum += d->table[base + x[c]];                    \
    const float inv_sum = 1.0f / (sum * d->out_scale);                                  \
    for (size_t c = 0; c < depth; c++)                                                  \
      y[c] = (OUT)QUANTIZE(d->table[base + x[c]] * inv_sum, d->out_zp);                 \
  }

SOFTMAX_Q8_ROW(softmax_row_u8_u8, uint8_t, uint8_t, quantize_prob_u8)
SOFTMAX_Q8_ROW(softmax_row_u8_i16, uint8_t, int16_t, quantize_prob_i16)
SOFTMAX_Q8_ROW(softmax_row_i8_i8, int8_t, int8_t, quantize_prob_i8)
SOFTMAX_Q8_ROW(softmax_row_i8_i16, int8_t, int16_t, quantize_prob_i16)

/* LOG_SOFTMAX of an 8-bit type T (input and output). */
#define LOG_SOFTMAX_Q8_ROW(name, T, TYPE)                                                 \
  static void name(const void *x_, void *y_, size_t depth, const softmax_data *d) {      \
    const T *x = x_;                                                                     \
    T *y = y_;                                                                           \
    int32_t max = x[0];                                                                  \
    for (size_t c = 1; c < depth; c++)                                                   \
      if (x[c] > max) max = x[c];                                                        \
    const int32_t base = 255 - max;                                                      \
    float sum = 0.0f;                                                                    \
    for (size_t c = 0; c < depth; c++) sum += d->table[base + x[c]];                     \
    const float scale = d->in_scale / d->out_scale;                                      \
    const float offset = (d->in_scale * (float)max + logf(sum)) / d->out_scale;          \
    for (size_t c = 0; c < depth; c++) {                                                 \
      const float log_prob = scale * (float)x[c] - offset;                               \
      y[c] = (T)clamp_to(TYPE, tfl_trunc_i32(rintf(log_prob) + (float)d->out_zp));       \
    }                                                                                    \
  }

LOG_SOFTMAX_Q8_ROW(log_softmax_row_u8, uint8_t, TFL_UINT8)
LOG_SOFTMAX_Q8_ROW(log_softmax_row_i8, int8_t, TFL_INT8)

/* --- int16 SOFTMAX ------------------------------------------------------------------------ */

static double exp_fn(double x, const void *arg) {
  (void)arg;
  return exp(x);
}

static double one_over_one_plus_x(double x, const void *arg) {
  (void)arg;
  return 1.0 / (1.0 + x);
}

static int16_t sat16(int32_t v) { return (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v)); }

static int leading_zeros32(uint32_t v) {
  int n = 0;
  while (n < 32 && !(v & (0x80000000u >> n))) n++;
  return n;
}

static void softmax_row_i16(const void *x_, void *y_, size_t depth, const softmax_data *d) {
  const int16_t *x = x_;
  int16_t *y = y_;
  int16_t max = INT16_MIN;
  for (size_t c = 0; c < depth; c++)
    if (x[c] > max) max = x[c];
  /* exp(x - max) in Q0.15, summed in Q16.15 (the output holds the terms meanwhile). */
  int32_t sum = 0;
  for (size_t c = 0; c < depth; c++) {
    const int32_t diff = tfl_mul_by_quantized_multiplier(x[c] - max, d->in_multiplier, d->in_shift);
    y[c] = tfl_lut16_lookup(sat16(diff + 32767), d->exp_lut);
    sum = tfl_wrap_add32(sum, y[c]);
  }
  /* The sum normalized to [1, 2) in Q1.14, recentred on [-1, 1) for the reciprocal table. */
  const int headroom_plus_one = leading_zeros32((uint32_t)sum);
  const int32_t shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
  const int16_t reciprocal = tfl_lut16_lookup(sat16(shifted - (1 << 15) - (1 << 16)), d->recip_lut);
  const int right_shift = 31 - headroom_plus_one;
  const int64_t round = (int64_t)1 << (right_shift - 1);
  for (size_t c = 0; c < depth; c++) {
    const int32_t r = (int32_t)(((int64_t)y[c] * reciprocal + round) >> right_shift);
    y[c] = (int16_t)(r < 0 ? 0 : (r > 32767 ? 32767 : r));
  }
}

/* --- prepare and eval ------------------------------------------------------------------- */

/* |scale - expected| <= 0.1% of expected, in float as TF_LITE_ENSURE_NEAR. */
static int scale_near(float scale, float expected) {
  const float delta = scale > expected ? scale - expected : expected - scale;
  return !(delta > 0.001f * expected);
}

static tfl_status fixed_output_error(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *out, const char *expected) {
  return tfl_context_error(ctx, node,
                           "%s output '%s' must have scale %s (has scale %g, zero point %d)",
                           tfl_type_name(out->type), out->name, expected,
                           (double)tfl_q_scale(out), (int)tfl_q_zero_point(out));
}

static tfl_status softmax_prepare_int16(tfl_context *ctx, const tfl_node *node,
                                        const tfl_tensor *in, softmax_data *d) {
  if (tfl_q_zero_point(in) != 0)
    return tfl_context_error(ctx, node, "int16 input '%s' must have zero point 0", in->name);
  const double range = 65535.0;
  tfl_build_lut16(0, 10.0 / range, 32767, 2.0 / range, 0, exp_fn, NULL, d->exp_lut);
  tfl_build_lut16(0, 1.0 / range, -32768, 2.0 / range, 0, one_over_one_plus_x, NULL,
                  d->recip_lut);
  const float scaled_beta = d->in_scale * d->beta; /* TFLite multiplies these in float */
  tfl_quantize_multiplier((double)scaled_beta / (10.0 / 65535.0), &d->in_multiplier,
                          &d->in_shift);
  d->row = softmax_row_i16;
  return TFL_OK;
}

/* The row kernel for quantized SOFTMAX, after TFLite's output parameter checks. */
static tfl_status softmax_prepare_quant(tfl_context *ctx, const tfl_node *node,
                                        const tfl_tensor *in, const tfl_tensor *out,
                                        softmax_data *d) {
  const tfl_type ti = in->type, to = out->type;
  if (ti == TFL_INT8 && to == TFL_INT8 &&
      (d->out_zp != -128 || !scale_near(d->out_scale, 1.0f / 256)))
    return fixed_output_error(ctx, node, out, "1/256 and zero point -128");
  if (ti == TFL_INT16 && to == TFL_INT16 &&
      (d->out_zp != 0 || !scale_near(d->out_scale, 1.0f / 32768)))
    return fixed_output_error(ctx, node, out, "1/32768 and zero point 0");
  if (ti == TFL_INT16 && to == TFL_INT16) return softmax_prepare_int16(ctx, node, in, d);
  d->row = ti == TFL_UINT8 && to == TFL_UINT8   ? softmax_row_u8_u8
           : ti == TFL_UINT8 && to == TFL_INT16 ? softmax_row_u8_i16
           : ti == TFL_INT8 && to == TFL_INT8   ? softmax_row_i8_i8
           : ti == TFL_INT8 && to == TFL_INT16  ? softmax_row_i8_i16
                                                : NULL;
  if (!d->row)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input with %s output is not supported",
                            tfl_type_name(ti), tfl_type_name(to));
  fill_exp_table(d->table, d->in_scale, d->beta);
  return TFL_OK;
}

static tfl_status log_softmax_prepare_quant(tfl_context *ctx, const tfl_node *node,
                                            const tfl_tensor *in, const tfl_tensor *out,
                                            softmax_data *d) {
  if (in->type != TFL_UINT8 && in->type != TFL_INT8)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "quantized %s input is not supported",
                            tfl_type_name(in->type));
  tfl_status st = tfl_check_type(ctx, node, out, "output", in->type);
  if (st != TFL_OK) return st;
  const int32_t zp = in->type == TFL_UINT8 ? 255 : 127;
  if (d->out_scale != 16.0f / 256 || d->out_zp != zp)
    return fixed_output_error(ctx, node, out,
                              in->type == TFL_UINT8 ? "16/256 and zero point 255"
                                                    : "16/256 and zero point 127");
  fill_exp_table(d->table, d->in_scale, 1.0f);
  d->row = in->type == TFL_UINT8 ? log_softmax_row_u8 : log_softmax_row_i8;
  return TFL_OK;
}

static tfl_status read_beta(tfl_context *ctx, const tfl_node *node, softmax_data *d) {
  int type = tfl_opt_type(node);
  if (type != TFL_OPTS_NONE && type != TFL_OPTS_SOFTMAX)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "builtin options have union type %d, expected %d", type,
                            TFL_OPTS_SOFTMAX);
  d->beta = tfl_opt_float(node, SOFTMAX_OPT_BETA, 0.0f);
  return TFL_OK;
}

static tfl_status softmax_prepare_float(tfl_context *ctx, const tfl_node *node,
                                        const tfl_tensor *out, softmax_data *d) {
  tfl_status st = tfl_check_type(ctx, node, out, "output", TFL_FLOAT32);
  const int log_form = node->builtin_code == TFL_OP_LOG_SOFTMAX;
  d->vm = tfl_vmath_get(tfl_context_cpu(ctx));
  if (d->vm)
    d->row = log_form ? log_softmax_row_f32_vec : softmax_row_f32_vec;
  else
    d->row = log_form ? log_softmax_row_f32 : softmax_row_f32;
  return st;
}

static int is_quantized_type(tfl_type t) {
  return t == TFL_UINT8 || t == TFL_INT8 || t == TFL_INT16;
}

static tfl_status softmax_prepare(tfl_context *ctx, tfl_node *node) {
  softmax_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (in->ndim < 1)
    return tfl_context_error(ctx, node, "input '%s' must have at least 1 dimension", in->name);
  d->beta = 1.0f;
  if (node->builtin_code == TFL_OP_SOFTMAX) {
    st = read_beta(ctx, node, d);
    if (st != TFL_OK) return st;
  }
  if (in->type == TFL_FLOAT32) {
    st = softmax_prepare_float(ctx, node, out, d);
  } else if (is_quantized_type(in->type)) {
    int32_t in_zp;
    tfl_quant_params(in, &d->in_scale, &in_zp);
    tfl_quant_params(out, &d->out_scale, &d->out_zp);
    st = node->builtin_code == TFL_OP_SOFTMAX ? softmax_prepare_quant(ctx, node, in, out, d)
                                              : log_softmax_prepare_quant(ctx, node, in, out, d);
  } else {
    st = tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                          tfl_type_name(in->type), in->name);
  }
  if (st != TFL_OK) return st;
  d->depth = (size_t)in->dims[in->ndim - 1];
  d->rows = d->depth ? tfl_tensor_count(in) / d->depth : 0;
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static tfl_status softmax_eval(tfl_context *ctx, tfl_node *node) {
  const softmax_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const size_t in_row = d->depth * tfl_type_size(in->type);
  const size_t out_row = d->depth * tfl_type_size(out->type);
  for (size_t r = 0; r < d->rows; r++)
    d->row((const char *)in->data + r * in_row, (char *)out->data + r * out_row, d->depth, d);
  return TFL_OK;
}

static const tfl_op_registration reg_softmax = {.name = "SOFTMAX",
                                                .builtin_code = TFL_OP_SOFTMAX,
                                                .data_size = sizeof(softmax_data),
                                                .prepare = softmax_prepare,
                                                .eval = softmax_eval,
                                                .types = TFL_TYPES_F32 | TFL_TYPES_QUANT};

static const tfl_op_registration reg_log_softmax = {.name = "LOG_SOFTMAX",
                                                    .builtin_code = TFL_OP_LOG_SOFTMAX,
                                                    .data_size = sizeof(softmax_data),
                                                    .prepare = softmax_prepare,
                                                    .eval = softmax_eval,
                                                    .types = TFL_TYPES_F32 | TFL_TYPES_QUANT8};

const tfl_op_registration *const tfl_kernels_softmax[] = {&reg_softmax, &reg_log_softmax, NULL};
