/* Elementwise unary ops: the activations RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1, LEAKY_RELU,
 * LOGISTIC, TANH, HARD_SWISH, ELU, GELU, the math ops ABS, NEG, EXP, LOG, SQRT, RSQRT, SQUARE,
 * SIN, COS, FLOOR, CEIL, ROUND, SIGN, and PRELU (an activation with a broadcast alpha tensor).
 *
 * Float formulas follow TFLite's reference kernels, including their evaluation order:
 * LOGISTIC returns 1 above 16.619047 and exp(x) below -9, HARD_SWISH is x * relu6(x + 3) / 6,
 * ELU uses expm1, exact GELU is 0.5 x erfc(-x / sqrt 2), ROUND is round-half-to-even with
 * TFLite's floor-based formula, SIGN keeps NaN. Integer variants (ABS, NEG, SIGN) wrap like
 * TFLite's compiled kernels. Above the scalar CPU level, LOGISTIC, TANH, EXP, ELU, GELU and
 * HARD_SWISH run the vector functions of kernels/vmath.h (same semantics and cutoffs, within
 * the few ulps documented there; HARD_SWISH bit-exact); at TFL_CPU=scalar they call libm.
 *
 * Quantized paths are TFLite 2.19's builtin kernels, bit for bit:
 * - RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1 (uint8, int8; RELU and RELU6 also int16):
 *   requantize by in_scale / out_scale, clamp to the quantized bounds.
 * - LEAKY_RELU (uint8, int8, int16): requantize by in_scale / out_scale, or by
 *   in_scale * alpha / out_scale below the zero point.
 * - LOGISTIC, TANH (uint8, int8), ELU (int8) and GELU (uint8, int8): a 256-entry table built
 *   in float (tfl_build_lut8); GELU int16 a 513-entry interpolated table. LOGISTIC needs
 *   output scale 1/256; int16 LOGISTIC and TANH are gemmlowp's fixed-point functions on
 *   Q3.12 inputs (input scale 2^-12, or 2^-13 for TANH) with output scale 2^-15.
 * - HARD_SWISH (uint8, int8): TFLite's 16-bit fixed-point algorithm.
 * - EXP and LOG (int8 tables, int16 interpolated tables, zero points 0; LOG of a value <= 0
 *   is the output's lowest value); ABS (int8, int16): |q - zp| requantized.
 * - PRELU (uint8, int8 with alpha of the same type, int16 with int8 alpha): requantize by
 *   in_scale / out_scale above the zero point, by in_scale * alpha_scale / out_scale times
 *   the alpha value below. PRELU gives its output the input's type, as TFLite does. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/broadcast.h"
#include "kernels/families.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/simd.h"
#include "kernels/type_sets.h"
#include "kernels/vmath.h"
#include "model/ops.h"
#include "runtime/kernel.h"

typedef struct unary_data unary_data;
typedef void (*unary_fn)(const void *in, void *out, size_t n, const unary_data *d);

/* Parameters of the quantized kernels, filled in prepare. */
typedef struct unary_quant {
  int32_t in_zp, out_zp;
  int32_t multiplier; /* RELU family, LEAKY_RELU at or above the zero point */
  int shift;
  int32_t alpha_multiplier; /* LEAKY_RELU below the zero point; negative for alpha < 0 */
  int alpha_shift;
  int32_t act_min, act_max;
  int input_left_shift;                 /* int16 TANH: 0 or 1 */
  int16_t hs_output_multiplier;         /* HARD_SWISH, 16-bit multipliers and exponents */
  int16_t hs_reluish_multiplier;
  int hs_output_exponent, hs_reluish_exponent;
  uint8_t lut8[256];
  int16_t lut16[513];
} unary_quant;

struct unary_data {
  unary_fn fn;
  tfl_vmath_fn vec; /* the vector function vec_run calls */
  float alpha;     /* LEAKY_RELU */
  int approximate; /* GELU */
  unary_quant q;
};

/* Defines `static void name(...)`, a unary_fn computing EXPR for every element `x` of type T,
 * with the node data as `d`. */
#define UNARY_FN(name, T, EXPR)                                                     \
  static void name(const void *in_, void *out_, size_t n, const unary_data *d) {   \
    const T *in = in_;                                                              \
    T *out = out_;                                                                  \
    (void)d;                                                                        \
    for (size_t i = 0; i < n; i++) {                                                \
      const T x = in[i];                                                            \
      out[i] = (T)(EXPR);                                                           \
    }                                                                               \
  }

/* std::min(std::max(x, lo), hi) as TFLite writes it: a NaN passes through. */
static float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

static float logistic(float x) {
  /* TFLite's cutoffs: above the upper one the result rounds to 1 in float; below the lower
   * one 1 + exp(-x) loses exp(x)'s precision. */
  if (x > 16.619047164916992188f) return 1.0f;
  if (x < -9.0f) return expf(x);
  return 1.0f / (1.0f + expf(-x));
}

static float gelu_erf(float x) {
  const float minus_sqrt_half = -0.70710678118654752440f;
  return 0.5f * x * erfcf(x * minus_sqrt_half);
}

static float gelu_tanh(float x) {
  const float sqrt_2_over_pi = 0.79788456080286535588f;
  return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * (x + 0.044715f * x * x * x)));
}

/* TFLite's RoundToNearest: floor, then up when the fraction is above one half or exactly one
 * half with an odd floor (so -0.5 gives +0, unlike rintf). */
static float round_half_even(float x) {
  const float f = floorf(x);
  const float diff = x - f;
  if (diff < 0.5f || (diff == 0.5f && fmodf(f, 2.0f) == 0.0f)) return f;
  return f + 1.0f;
}

static float sign_f32(float x) {
  if (isnan(x)) return x;
  return x > 0 ? 1.0f : (x < 0 ? -1.0f : 0.0f);
}

/* Wrapping negation / absolute value: INT_MIN maps to itself, as in TFLite's kernels. */
static int64_t wrap_neg(int64_t x) { return (int64_t)(0 - (uint64_t)x); }

UNARY_FN(relu_f32, float, clampf(x, 0.0f, INFINITY))
UNARY_FN(relu6_f32, float, clampf(x, 0.0f, 6.0f))
UNARY_FN(relu_n1_to_1_f32, float, clampf(x, -1.0f, 1.0f))
UNARY_FN(relu_0_to_1_f32, float, clampf(x, 0.0f, 1.0f))
UNARY_FN(leaky_relu_f32, float, x > 0 ? x : x * d->alpha)
UNARY_FN(logistic_f32, float, logistic(x))
UNARY_FN(tanh_f32, float, tanhf(x))
UNARY_FN(hard_swish_f32, float, x * clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f)
UNARY_FN(elu_f32, float, x < 0 ? expm1f(x) : x)
UNARY_FN(gelu_erf_f32, float, gelu_erf(x))
UNARY_FN(gelu_tanh_f32, float, gelu_tanh(x))

UNARY_FN(abs_f32, float, fabsf(x))
UNARY_FN(abs_i16, int16_t, x < 0 ? wrap_neg(x) : x)
UNARY_FN(abs_i32, int32_t, x < 0 ? wrap_neg(x) : x)
UNARY_FN(neg_f32, float, -x)
UNARY_FN(neg_i8, int8_t, wrap_neg(x))
UNARY_FN(neg_i16, int16_t, wrap_neg(x))
UNARY_FN(neg_i32, int32_t, wrap_neg(x))
UNARY_FN(neg_i64, int64_t, wrap_neg(x))
UNARY_FN(exp_f32, float, expf(x))
UNARY_FN(log_f32, float, logf(x))
UNARY_FN(sqrt_f32, float, sqrtf(x))
UNARY_FN(rsqrt_f32, float, 1.0f / sqrtf(x))
UNARY_FN(square_f32, float, x * x)
UNARY_FN(sin_f32, float, sinf(x))
UNARY_FN(cos_f32, float, cosf(x))
UNARY_FN(floor_f32, float, floorf(x))
UNARY_FN(ceil_f32, float, ceilf(x))
UNARY_FN(round_f32, float, round_half_even(x))
UNARY_FN(sign_f32_run, float, sign_f32(x))
UNARY_FN(sign_i32, int32_t, x > 0 ? 1 : (x < 0 ? -1 : 0))

/* --- quantized kernels ------------------------------------------------------------------ */

static int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* RELU family: requantized, then clamped to the activation's quantized bounds. */
static int32_t relu_q(int32_t x, const unary_quant *q) {
  return clamp_i32(q->out_zp + tfl_mul_by_quantized_multiplier(x - q->in_zp, q->multiplier,
                                                               q->shift),
                   q->act_min, q->act_max);
}

/* LEAKY_RELU on 8 bits applies |alpha multiplier| and restores the sign afterwards (TFLite's
 * reference kernel); on 16 bits it multiplies by the signed multiplier (its optimized one).
 * act_min/act_max hold the type's range. */
static int32_t leaky_relu_q8(int32_t x, const unary_quant *q) {
  const int32_t v = x - q->in_zp;
  int32_t r;
  if (v >= 0) {
    r = tfl_mul_by_quantized_multiplier(v, q->multiplier, q->shift);
  } else {
    const int negative = q->alpha_multiplier < 0;
    const int32_t m = negative ? -q->alpha_multiplier : q->alpha_multiplier;
    r = tfl_mul_by_quantized_multiplier(v, m, q->alpha_shift);
    if (negative) r = -r;
  }
  return clamp_i32(q->out_zp + r, q->act_min, q->act_max);
}

static int32_t leaky_relu_q16(int32_t x, const unary_quant *q) {
  const int32_t v = x - q->in_zp;
  const int32_t r = v >= 0 ? tfl_mul_by_quantized_multiplier(v, q->multiplier, q->shift)
                           : tfl_mul_by_quantized_multiplier(v, q->alpha_multiplier,
                                                             q->alpha_shift);
  return clamp_i32(q->out_zp + r, q->act_min, q->act_max);
}

static int16_t wrap16(int32_t v) { return (int16_t)(uint16_t)(uint32_t)v; }

/* TFLite's quantized HARD_SWISH: x on a 128x finer scale, a "reluish" factor
 * relu6(x + 3) / 6 in Q0.15 computed with 16-bit multipliers, their product rescaled to the
 * output. Intermediate values are int16 and wrap or saturate where TFLite's do. */
static int32_t hard_swish_q(int32_t x, const unary_quant *q) {
  const int16_t hires = wrap16(wrap16(x - q->in_zp) * (1 << 7));
  const int16_t preshift_out = tfl_srdhm16(hires, q->hs_output_multiplier);
  const int exponent = q->hs_reluish_exponent;
  int16_t reluish = hires;
  if (exponent > 0) reluish = tfl_sat_shift_left16(reluish, exponent - 1);
  reluish = tfl_srdhm16(reluish, q->hs_reluish_multiplier);
  if (exponent > 0) reluish = tfl_sat_shift_left16(reluish, 1);
  if (exponent < 0) reluish = tfl_rdbpot16(reluish, -exponent);
  /* [-1, 1] in Q0.15 mapped onto [0, 1]: relu6(x + 3) / 6 */
  reluish = (int16_t)((reluish + (1 << 15)) >> 1);
  const int16_t preshift = tfl_sdhm16_trunc(reluish, preshift_out);
  const int16_t out = wrap16(tfl_rdbpot16(preshift, -q->hs_output_exponent) + q->out_zp);
  return clamp_i32(out, q->act_min, q->act_max);
}

/* Defines `name_u8` and `name_i8` unary_fns computing FORMULA(x, &d->q). */
#define QUANT_UNARY_FNS8(name, formula)                                                   \
  UNARY_FN(name##_u8, uint8_t, formula(x, &d->q))                                         \
  UNARY_FN(name##_i8, int8_t, formula(x, &d->q))

QUANT_UNARY_FNS8(relu_q, relu_q)
UNARY_FN(relu_q_i16, int16_t, relu_q(x, &d->q))
QUANT_UNARY_FNS8(leaky_relu_q8, leaky_relu_q8)
UNARY_FN(leaky_relu_q16_run, int16_t, leaky_relu_q16(x, &d->q))
QUANT_UNARY_FNS8(hard_swish_q, hard_swish_q)

/* ABS: |x - zp| requantized (exactly, when the scales are equal). */
static int32_t abs_q(int32_t x, const unary_quant *q) {
  const int32_t v = x >= q->in_zp ? x - q->in_zp : q->in_zp - x;
  return clamp_i32(tfl_mul_by_quantized_multiplier(v, q->multiplier, q->shift) + q->out_zp,
                   q->act_min, q->act_max);
}

UNARY_FN(abs_q_i8, int8_t, abs_q(x, &d->q))
UNARY_FN(abs_q_i16, int16_t, abs_q(x, &d->q))

/* 8-bit tables are indexed by the raw byte, for uint8 and int8 alike. */
UNARY_FN(lut8_run, uint8_t, d->q.lut8[x])
UNARY_FN(lut16_run, int16_t, tfl_lut16_lookup(x, d->q.lut16))
UNARY_FN(logistic_i16, int16_t, tfl_fx16_logistic(x, 3))
UNARY_FN(tanh_i16, int16_t,
         tfl_fx16_tanh(d->q.input_left_shift ? tfl_sat_shift_left16(x, 1) : x, 3))

typedef struct unary_kernel {
  tfl_type type;
  unary_fn fn;
} unary_kernel;

/* The quantized part of an op's prepare: checks the parameters, fills d->q, picks d->fn. */
typedef tfl_status (*unary_qprepare)(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *in, const tfl_tensor *out,
                                     unary_data *d);

/* One op: kernels per type (ended by a NULL fn); for ops with options, the options table and a
 * hook that reads them into the node data (it may pick another fn); the quantized path. */
typedef struct unary_op {
  const unary_kernel *kernels;
  int options_type;
  void (*configure)(const tfl_node *node, unary_data *d);
  unary_qprepare qprepare;
} unary_op;

enum { LEAKY_RELU_OPT_ALPHA = 0, GELU_OPT_APPROXIMATE = 0 };

static void leaky_relu_configure(const tfl_node *node, unary_data *d) {
  d->alpha = tfl_opt_float(node, LEAKY_RELU_OPT_ALPHA, 0.0f);
}

static void gelu_configure(const tfl_node *node, unary_data *d) {
  d->approximate = tfl_opt_bool(node, GELU_OPT_APPROXIMATE, 0);
  if (d->approximate && d->fn == gelu_erf_f32) d->fn = gelu_tanh_f32;
}

/* Reports an unsupported input type, naming quantized inputs as such. */
static tfl_status unsupported_input(tfl_context *ctx, const tfl_node *node,
                                    const tfl_tensor *in) {
  const char *what = in->quant.count ? "quantized " : "";
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s%s input '%s' is not supported", what,
                          tfl_type_name(in->type), in->name);
}

/* Input and output of the same, supported type. */
static tfl_status check_same_type(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                  const tfl_tensor *out, int supported) {
  if (!supported) return unsupported_input(ctx, node, in);
  return tfl_check_type(ctx, node, out, "output", in->type);
}

static tfl_status check_options_type(tfl_context *ctx, const tfl_node *node, int expected) {
  int type = tfl_opt_type(node);
  if (type == TFL_OPTS_NONE || type == expected) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                          "builtin options have union type %d, expected %d", type, expected);
}

/* TFLite's quantized paths take uint8 and int8 always, int16 when it carries quantization. */
static int takes_quantized_path(const tfl_tensor *in) {
  return in->type == TFL_UINT8 || in->type == TFL_INT8 ||
         (in->type == TFL_INT16 && in->quant.count);
}

static void vec_run(const void *in, void *out, size_t n, const unary_data *d) {
  d->vec(in, out, n);
}

/* The vector function replacing a float kernel at this level, or NULL. */
static tfl_vmath_fn vector_variant(unary_fn fn, tfl_cpu_level level) {
  const tfl_vmath *vm = tfl_vmath_get(level);
  if (!vm) return NULL;
  const struct {
    unary_fn scalar;
    tfl_vmath_fn vector;
  } variants[] = {{exp_f32, vm->exp},           {logistic_f32, vm->logistic},
                  {tanh_f32, vm->tanh},         {elu_f32, vm->elu},
                  {gelu_erf_f32, vm->gelu_erf}, {gelu_tanh_f32, vm->gelu_tanh},
                  {hard_swish_f32, vm->hard_swish}};
  for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
    if (variants[i].scalar == fn) return variants[i].vector;
  return NULL;
}

static tfl_status unary_prepare(tfl_context *ctx, tfl_node *node) {
  const unary_op *op = node->registration->op_user_data;
  unary_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const int quantized = op->qprepare && takes_quantized_path(in);
  d->fn = NULL;
  if (!quantized)
    for (const unary_kernel *k = op->kernels; k->fn; k++)
      if (k->type == in->type) d->fn = k->fn;
  st = check_same_type(ctx, node, in, out, quantized || d->fn != NULL);
  if (st != TFL_OK) return st;
  if (op->configure) {
    st = check_options_type(ctx, node, op->options_type);
    if (st != TFL_OK) return st;
    op->configure(node, d);
  }
  if (quantized) {
    st = op->qprepare(ctx, node, in, out, d);
    if (st != TFL_OK) return st;
  } else {
    d->vec = vector_variant(d->fn, tfl_context_cpu(ctx));
    if (d->vec) d->fn = vec_run;
  }
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

/* --- quantized prepare -------------------------------------------------------------------- */

/* The per-tensor scales and zero points of input and output; scales must be positive. */
static tfl_status quant_in_out(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               const tfl_tensor *out, float *in_scale, float *out_scale,
                               unary_quant *q) {
  tfl_quant_params(in, in_scale, &q->in_zp);
  tfl_quant_params(out, out_scale, &q->out_zp);
  const tfl_tensor *bad = !(*in_scale > 0.0f) ? in : (!(*out_scale > 0.0f) ? out : NULL);
  if (bad)
    return tfl_context_error(ctx, node, "quantized tensor '%s' needs one positive scale",
                             bad->name);
  tfl_quantized_type_range(out->type, &q->act_min, &q->act_max);
  return TFL_OK;
}

static tfl_status int16_zero_points(tfl_context *ctx, const tfl_node *node,
                                    const unary_quant *q) {
  if (q->in_zp == 0 && q->out_zp == 0) return TFL_OK;
  return tfl_context_error(ctx, node, "int16 input and output need zero points 0 (have %d, %d)",
                           (int)q->in_zp, (int)q->out_zp);
}

static unary_fn pick_by_type(tfl_type type, unary_fn u8, unary_fn i8, unary_fn i16) {
  return type == TFL_UINT8 ? u8 : (type == TFL_INT8 ? i8 : i16);
}

/* The real bounds of each clamping activation. */
static void relu_bounds(int32_t code, float *lo, float *hi) {
  *lo = code == TFL_OP_RELU_N1_TO_1 ? -1.0f : 0.0f;
  *hi = code == TFL_OP_RELU ? INFINITY : (code == TFL_OP_RELU6 ? 6.0f : 1.0f);
}

static tfl_status relu_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                const tfl_tensor *out, unary_data *d) {
  unary_quant *q = &d->q;
  float in_scale, out_scale, lo, hi;
  tfl_status st = quant_in_out(ctx, node, in, out, &in_scale, &out_scale, q);
  if (st != TFL_OK) return st;
  const int32_t code = node->builtin_code;
  if (in->type == TFL_INT16) {
    if (code != TFL_OP_RELU && code != TFL_OP_RELU6) return unsupported_input(ctx, node, in);
    st = int16_zero_points(ctx, node, q);
    if (st != TFL_OK) return st;
  }
  /* TFLite divides the scales in float. */
  tfl_quantize_multiplier((double)(in_scale / out_scale), &q->multiplier, &q->shift);
  relu_bounds(code, &lo, &hi);
  const int32_t qlo = q->out_zp + tfl_trunc_i32(roundf(lo / out_scale));
  if (qlo > q->act_min) q->act_min = qlo;
  if (hi < INFINITY) {
    const int32_t qhi = q->out_zp + tfl_trunc_i32(roundf(hi / out_scale));
    if (qhi < q->act_max) q->act_max = qhi;
  }
  d->fn = pick_by_type(in->type, relu_q_u8, relu_q_i8, relu_q_i16);
  return TFL_OK;
}

static tfl_status leaky_relu_qprepare(tfl_context *ctx, const tfl_node *node,
                                      const tfl_tensor *in, const tfl_tensor *out,
                                      unary_data *d) {
  unary_quant *q = &d->q;
  float in_scale, out_scale;
  tfl_status st = quant_in_out(ctx, node, in, out, &in_scale, &out_scale, q);
  if (st == TFL_OK && in->type == TFL_INT16) st = int16_zero_points(ctx, node, q);
  if (st != TFL_OK) return st;
  tfl_quantize_multiplier((double)(in_scale * d->alpha / out_scale), &q->alpha_multiplier,
                          &q->alpha_shift);
  tfl_quantize_multiplier((double)(in_scale / out_scale), &q->multiplier, &q->shift);
  d->fn = pick_by_type(in->type, leaky_relu_q8_u8, leaky_relu_q8_i8, leaky_relu_q16_run);
  return TFL_OK;
}

/* The transforms TFLite tabulates, in float. */
static float logistic_t(float x, const void *arg) {
  (void)arg;
  return 1.0f / (1.0f + expf(-x));
}
static float tanh_t(float x, const void *arg) {
  (void)arg;
  return tanhf(x);
}
static float elu_t(float x, const void *arg) {
  (void)arg;
  return x < 0.0f ? expm1f(x) : x;
}
static float gelu_t(float x, const void *arg) {
  return *(const int *)arg ? gelu_tanh(x) : gelu_erf(x);
}
static double gelu_t16(double x, const void *arg) { return gelu_t((float)x, arg); }
static float exp_t(float x, const void *arg) {
  (void)arg;
  return expf(x);
}
static double exp_t16(double x, const void *arg) { return exp_t((float)x, arg); }
/* LOG of a non-positive value is the output's lowest real value (*arg). */
static float log_t(float x, const void *arg) {
  return x <= 0.0f ? *(const float *)arg : logf(x);
}
static double log_t16(double x, const void *arg) { return log_t((float)x, arg); }

/* An 8-bit table of f from the input's to the output's parameters. */
static tfl_status lut8_prepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               const tfl_tensor *out, float (*f)(float, const void *),
                               const void *arg, unary_data *d) {
  float in_scale, out_scale;
  tfl_status st = quant_in_out(ctx, node, in, out, &in_scale, &out_scale, &d->q);
  if (st != TFL_OK) return st;
  tfl_build_lut8(in->type, in_scale, d->q.in_zp, out->type, out_scale, d->q.out_zp, f, arg,
                 d->q.lut8);
  d->fn = lut8_run;
  return TFL_OK;
}

/* int16 LOGISTIC/TANH: the input scale must be 2^-12 times 2^k for k in [0, max_shift] (the
 * kernel shifts the raw value left by k into Q3.12) and the output Q0.15, zero points 0.
 * Sets q->input_left_shift = k. */
static tfl_status fixed_point_int16_prepare(tfl_context *ctx, const tfl_node *node,
                                            const tfl_tensor *in, const tfl_tensor *out,
                                            int max_shift, unary_quant *q) {
  float in_scale, out_scale;
  int in_log2, out_log2;
  tfl_status st = quant_in_out(ctx, node, in, out, &in_scale, &out_scale, q);
  if (st == TFL_OK) st = int16_zero_points(ctx, node, q);
  if (st != TFL_OK) return st;
  if (!tfl_checked_log2(out_scale, &out_log2) || out_log2 != -15)
    return tfl_context_error(ctx, node, "int16 output '%s' must have scale 1/32768 (has %g)",
                             out->name, (double)out_scale);
  const int pot = tfl_checked_log2(in_scale, &in_log2);
  q->input_left_shift = 12 + in_log2;
  if (!pot || q->input_left_shift < 0 || q->input_left_shift > max_shift)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "int16 input scale %g is not supported (only 2^-12%s)",
                            (double)in_scale, max_shift ? " and 2^-11" : "");
  return TFL_OK;
}

static tfl_status logistic_qprepare(tfl_context *ctx, const tfl_node *node,
                                    const tfl_tensor *in, const tfl_tensor *out,
                                    unary_data *d) {
  if (in->type == TFL_INT16) {
    float out_scale = tfl_q_scale(out);
    if (out_scale != 1.0f / 32768 || tfl_q_zero_point(out) != 0)
      return tfl_context_error(ctx, node,
                               "int16 output '%s' must have scale 1/32768 and zero point 0",
                               out->name);
    d->fn = logistic_i16;
    return fixed_point_int16_prepare(ctx, node, in, out, 0, &d->q);
  }
  if (tfl_q_scale(out) != 1.0f / 256)
    return tfl_context_error(ctx, node, "%s output '%s' must have scale 1/256 (has %g)",
                             tfl_type_name(out->type), out->name, (double)tfl_q_scale(out));
  return lut8_prepare(ctx, node, in, out, logistic_t, NULL, d);
}

static tfl_status tanh_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                const tfl_tensor *out, unary_data *d) {
  if (in->type == TFL_INT16) {
    d->fn = tanh_i16;
    return fixed_point_int16_prepare(ctx, node, in, out, 1, &d->q);
  }
  return lut8_prepare(ctx, node, in, out, tanh_t, NULL, d);
}

static tfl_status elu_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               const tfl_tensor *out, unary_data *d) {
  if (in->type != TFL_INT8) return unsupported_input(ctx, node, in);
  return lut8_prepare(ctx, node, in, out, elu_t, NULL, d);
}

/* An int16 table of f built in float (zero points 0 where TFLite requires them). */
static tfl_status lut16_prepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                const tfl_tensor *out, int zero_points_zero, tfl_lut_fn f,
                                const void *arg, unary_data *d) {
  float in_scale, out_scale;
  tfl_status st = quant_in_out(ctx, node, in, out, &in_scale, &out_scale, &d->q);
  if (st == TFL_OK && zero_points_zero) st = int16_zero_points(ctx, node, &d->q);
  if (st != TFL_OK) return st;
  tfl_build_lut16(1, in_scale, d->q.in_zp, out_scale, d->q.out_zp, f, arg, d->q.lut16);
  d->fn = lut16_run;
  return TFL_OK;
}

static tfl_status gelu_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                const tfl_tensor *out, unary_data *d) {
  if (in->type != TFL_INT16) return lut8_prepare(ctx, node, in, out, gelu_t, &d->approximate, d);
  return lut16_prepare(ctx, node, in, out, 0, gelu_t16, &d->approximate, d);
}

static tfl_status exp_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               const tfl_tensor *out, unary_data *d) {
  if (in->type == TFL_UINT8) return unsupported_input(ctx, node, in);
  if (in->type == TFL_INT16) return lut16_prepare(ctx, node, in, out, 1, exp_t16, NULL, d);
  return lut8_prepare(ctx, node, in, out, exp_t, NULL, d);
}

static tfl_status log_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               const tfl_tensor *out, unary_data *d) {
  if (in->type == TFL_UINT8) return unsupported_input(ctx, node, in);
  int32_t lo, hi;
  tfl_quantized_type_range(in->type, &lo, &hi);
  const float out_min = (float)(lo - tfl_q_zero_point(out)) * tfl_q_scale(out);
  if (in->type == TFL_INT16) return lut16_prepare(ctx, node, in, out, 1, log_t16, &out_min, d);
  return lut8_prepare(ctx, node, in, out, log_t, &out_min, d);
}

static tfl_status abs_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               const tfl_tensor *out, unary_data *d) {
  float in_scale, out_scale;
  if (in->type == TFL_UINT8) return unsupported_input(ctx, node, in);
  tfl_status st = quant_in_out(ctx, node, in, out, &in_scale, &out_scale, &d->q);
  if (st == TFL_OK && in->type == TFL_INT16) st = int16_zero_points(ctx, node, &d->q);
  if (st != TFL_OK) return st;
  tfl_quantize_multiplier((double)(in_scale / out_scale), &d->q.multiplier, &d->q.shift);
  d->fn = in->type == TFL_INT8 ? abs_q_i8 : abs_q_i16;
  return TFL_OK;
}

static tfl_status hard_swish_qprepare(tfl_context *ctx, const tfl_node *node,
                                      const tfl_tensor *in, const tfl_tensor *out,
                                      unary_data *d) {
  unary_quant *q = &d->q;
  float in_scale, out_scale;
  if (in->type == TFL_INT16) return unsupported_input(ctx, node, in);
  tfl_status st = quant_in_out(ctx, node, in, out, &in_scale, &out_scale, q);
  if (st != TFL_OK) return st;
  /* In float, as TFLite: x on a 128x finer scale, and 3/32768 the scale of "reluish". */
  const float hires_scale = (1.0f / 128.0f) * in_scale;
  const float reluish_scale = 3.0f / 32768.0f;
  int32_t m;
  tfl_quantize_multiplier((double)(hires_scale / out_scale), &m, &q->hs_output_exponent);
  q->hs_output_multiplier = tfl_multiplier_to_int16(m);
  if (q->hs_output_exponent > 0)
    return tfl_context_error(ctx, node,
                             "output scale %g is too small for input scale %g (needs at least "
                             "input scale / 256)",
                             (double)out_scale, (double)in_scale);
  tfl_quantize_multiplier((double)(hires_scale / reluish_scale), &m, &q->hs_reluish_exponent);
  q->hs_reluish_multiplier = tfl_multiplier_to_int16(m);
  d->fn = in->type == TFL_UINT8 ? hard_swish_q_u8 : hard_swish_q_i8;
  return TFL_OK;
}

typedef struct unary_job {
  const unary_data *d;
  const unsigned char *in;
  unsigned char *out;
  size_t in_size, out_size, n;
} unary_job;

/* Elements of chunks [c0, c1): every unary kernel is elementwise. */
static void unary_chunks(const void *arg, int32_t c0, int32_t c1) {
  const unary_job *j = arg;
  const size_t e0 = (size_t)c0 * TFL_BCAST_CHUNK, end = (size_t)c1 * TFL_BCAST_CHUNK;
  const size_t e1 = end < j->n ? end : j->n;
  j->d->fn(j->in + e0 * j->in_size, j->out + e0 * j->out_size, e1 - e0, j->d);
}

static tfl_status unary_eval(tfl_context *ctx, tfl_node *node) {
  const unary_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const size_t n = tfl_tensor_count(in), chunks = (n + TFL_BCAST_CHUNK - 1) / TFL_BCAST_CHUNK;
  if (chunks < 2 || chunks > INT32_MAX || tfl_context_threads(ctx) < 2) {
    d->fn(in->data, out->data, n, d);
    return TFL_OK;
  }
  const unary_job job = {d, in->data, out->data, tfl_type_size(in->type),
                         tfl_type_size(out->type), n};
  tfl_split_rows(ctx, (int32_t)chunks, unary_chunks, &job);
  return TFL_OK;
}

/* --- PRELU: out = x >= 0 ? x : x * alpha, alpha broadcast against x --------------------- */

typedef struct prelu_quant {
  int32_t in_offset, alpha_offset, out_offset; /* -zp, -zp, +zp */
  int32_t multiplier, alpha_multiplier;        /* in / out and in * alpha / out */
  int shift, alpha_shift;
  int32_t out_min, out_max;
} prelu_quant;

typedef struct prelu_data {
  tfl_bcast plan;
  tfl_bcast_fn fn;
  prelu_quant q;
} prelu_data;

static int32_t prelu_q(int32_t x, int32_t a, const prelu_quant *q) {
  const int32_t v = x + q->in_offset;
  const int32_t r =
      v >= 0 ? tfl_mul_by_quantized_multiplier(v, q->multiplier, q->shift)
             : tfl_mul_by_quantized_multiplier(v * (a + q->alpha_offset), q->alpha_multiplier,
                                               q->alpha_shift);
  return clamp_i32(r + q->out_offset, q->out_min, q->out_max);
}

#define PRELU_Q const prelu_quant *q = arg
TFL_BCAST_FN(prelu_f32, float, float, x >= 0 ? x : x * y)
TFL_BCAST_FN_WITH2(prelu_u8, uint8_t, uint8_t, uint8_t, PRELU_Q, prelu_q(x, y, q))
TFL_BCAST_FN_WITH2(prelu_i8, int8_t, int8_t, int8_t, PRELU_Q, prelu_q(x, y, q))
TFL_BCAST_FN_WITH2(prelu_i16, int16_t, int8_t, int16_t, PRELU_Q, prelu_q(x, y, q))

/* The alpha type TFLite pairs with each input type, and the kernel. */
static tfl_type prelu_alpha_type(tfl_type in, tfl_bcast_fn *fn) {
  switch (in) {
    case TFL_FLOAT32:
      *fn = prelu_f32;
      return TFL_FLOAT32;
    case TFL_UINT8:
      *fn = prelu_u8;
      return TFL_UINT8;
    case TFL_INT8:
      *fn = prelu_i8;
      return TFL_INT8;
    case TFL_INT16:
      *fn = prelu_i16;
      return TFL_INT8;
    default:
      *fn = NULL;
      return in;
  }
}

static tfl_status prelu_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                 const tfl_tensor *alpha, const tfl_tensor *out, prelu_quant *q) {
  float in_scale, alpha_scale, out_scale;
  int32_t in_zp, alpha_zp, out_zp;
  tfl_quant_params(in, &in_scale, &in_zp);
  tfl_quant_params(alpha, &alpha_scale, &alpha_zp);
  tfl_quant_params(out, &out_scale, &out_zp);
  if (!(in_scale > 0.0f) || !(alpha_scale > 0.0f) || !(out_scale > 0.0f))
    return tfl_context_error(ctx, node,
                             "quantized input, alpha and output need positive scales (have %g, "
                             "%g, %g)",
                             (double)in_scale, (double)alpha_scale, (double)out_scale);
  q->in_offset = -in_zp;
  q->alpha_offset = -alpha_zp;
  q->out_offset = out_zp;
  /* In float, as TFLite. */
  tfl_quantize_multiplier((double)(in_scale / out_scale), &q->multiplier, &q->shift);
  tfl_quantize_multiplier((double)(in_scale * alpha_scale / out_scale), &q->alpha_multiplier,
                          &q->alpha_shift);
  tfl_quantized_type_range(in->type, &q->out_min, &q->out_max);
  return TFL_OK;
}

static tfl_status prelu_prepare(tfl_context *ctx, tfl_node *node) {
  prelu_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *alpha = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const tfl_type alpha_type = prelu_alpha_type(in->type, &d->fn);
  if (!d->fn) return unsupported_input(ctx, node, in);
  st = tfl_context_set_type(ctx, out, in->type);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, alpha, "alpha", alpha_type);
  if (st == TFL_OK && in->type != TFL_FLOAT32)
    st = prelu_qprepare(ctx, node, in, alpha, out, &d->q);
  if (st != TFL_OK) return st;
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  st = tfl_broadcast_shape(ctx, node, in, alpha, &ndim, dims);
  if (st != TFL_OK) return st;
  if (ndim != in->ndim || memcmp(dims, in->dims, (size_t)ndim * sizeof(dims[0])) != 0)
    return tfl_context_error(ctx, node, "alpha '%s' must broadcast to the input's shape",
                             alpha->name);
  tfl_broadcast_plan(in, alpha, &d->plan);
  return tfl_context_resize(ctx, out, ndim, dims);
}

static tfl_status prelu_eval(tfl_context *ctx, tfl_node *node) {
  const prelu_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *alpha = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  tfl_broadcast_run_parallel(ctx, &d->plan, in->data, tfl_type_size(in->type), alpha->data,
                             tfl_type_size(alpha->type), out->data, tfl_type_size(out->type),
                             d->fn, &d->q);
  return TFL_OK;
}

static const tfl_op_registration reg_prelu = {.name = "PRELU",
                                              .builtin_code = TFL_OP_PRELU,
                                              .data_size = sizeof(prelu_data),
                                              .prepare = prelu_prepare,
                                              .eval = prelu_eval,
                                              .types = TFL_TYPES_F32 | TFL_TYPES_QUANT};

/* --- tables and registrations --------------------------------------------------------- */

#define KERNELS_END {TFL_FLOAT32, NULL}
#define FLOAT_ONLY(var, fn) static const unary_kernel var[] = {{TFL_FLOAT32, fn}, KERNELS_END};

FLOAT_ONLY(relu_kernels, relu_f32)
FLOAT_ONLY(relu6_kernels, relu6_f32)
FLOAT_ONLY(relu_n1_to_1_kernels, relu_n1_to_1_f32)
FLOAT_ONLY(relu_0_to_1_kernels, relu_0_to_1_f32)
FLOAT_ONLY(leaky_relu_kernels, leaky_relu_f32)
FLOAT_ONLY(logistic_kernels, logistic_f32)
FLOAT_ONLY(tanh_kernels, tanh_f32)
FLOAT_ONLY(hard_swish_kernels, hard_swish_f32)
FLOAT_ONLY(elu_kernels, elu_f32)
FLOAT_ONLY(gelu_kernels, gelu_erf_f32)
FLOAT_ONLY(exp_kernels, exp_f32)
FLOAT_ONLY(log_kernels, log_f32)
FLOAT_ONLY(sqrt_kernels, sqrt_f32)
FLOAT_ONLY(rsqrt_kernels, rsqrt_f32)
FLOAT_ONLY(square_kernels, square_f32)
FLOAT_ONLY(sin_kernels, sin_f32)
FLOAT_ONLY(cos_kernels, cos_f32)
FLOAT_ONLY(floor_kernels, floor_f32)
FLOAT_ONLY(ceil_kernels, ceil_f32)
FLOAT_ONLY(round_kernels, round_f32)

static const unary_kernel abs_kernels[] = {
    {TFL_FLOAT32, abs_f32}, {TFL_INT16, abs_i16}, {TFL_INT32, abs_i32}, KERNELS_END};
static const unary_kernel neg_kernels[] = {{TFL_FLOAT32, neg_f32}, {TFL_INT8, neg_i8},
                                           {TFL_INT16, neg_i16},   {TFL_INT32, neg_i32},
                                           {TFL_INT64, neg_i64},   KERNELS_END};
static const unary_kernel sign_kernels[] = {
    {TFL_FLOAT32, sign_f32_run}, {TFL_INT32, sign_i32}, KERNELS_END};

#define UNARY(var, op_name, code, kernels_, options, configure_, qprepare_, types_) \
  static const unary_op var##_op = {kernels_, options, configure_, qprepare_};      \
  static const tfl_op_registration var = {.name = op_name,                          \
                                          .builtin_code = code,                     \
                                          .data_size = sizeof(unary_data),          \
                                          .prepare = unary_prepare,                 \
                                          .eval = unary_eval,                       \
                                          .op_user_data = (void *)&var##_op,        \
                                          .types = types_};

/* Each op's types: those of its kernels table plus those its qprepare takes. */
#define F32_QUANT (TFL_TYPES_F32 | TFL_TYPES_QUANT)
#define F32_QUANT8 (TFL_TYPES_F32 | TFL_TYPES_QUANT8)
#define F32_I8_I16 (TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT8) | TFL_TYPE_BIT(TFL_INT16))

UNARY(reg_relu, "RELU", TFL_OP_RELU, relu_kernels, 0, NULL, relu_qprepare, F32_QUANT)
UNARY(reg_relu6, "RELU6", TFL_OP_RELU6, relu6_kernels, 0, NULL, relu_qprepare, F32_QUANT)
UNARY(reg_relu_n1_to_1, "RELU_N1_TO_1", TFL_OP_RELU_N1_TO_1, relu_n1_to_1_kernels, 0, NULL,
      relu_qprepare, F32_QUANT8)
UNARY(reg_relu_0_to_1, "RELU_0_TO_1", TFL_OP_RELU_0_TO_1, relu_0_to_1_kernels, 0, NULL,
      relu_qprepare, F32_QUANT8)
UNARY(reg_leaky_relu, "LEAKY_RELU", TFL_OP_LEAKY_RELU, leaky_relu_kernels, TFL_OPTS_LEAKY_RELU,
      leaky_relu_configure, leaky_relu_qprepare, F32_QUANT)
UNARY(reg_logistic, "LOGISTIC", TFL_OP_LOGISTIC, logistic_kernels, 0, NULL, logistic_qprepare,
      F32_QUANT)
UNARY(reg_tanh, "TANH", TFL_OP_TANH, tanh_kernels, 0, NULL, tanh_qprepare, F32_QUANT)
UNARY(reg_hard_swish, "HARD_SWISH", TFL_OP_HARD_SWISH, hard_swish_kernels, 0, NULL,
      hard_swish_qprepare, F32_QUANT8)
UNARY(reg_elu, "ELU", TFL_OP_ELU, elu_kernels, 0, NULL, elu_qprepare,
      TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT8))
UNARY(reg_gelu, "GELU", TFL_OP_GELU, gelu_kernels, TFL_OPTS_GELU, gelu_configure, gelu_qprepare,
      F32_QUANT)
UNARY(reg_abs, "ABS", TFL_OP_ABS, abs_kernels, 0, NULL, abs_qprepare,
      F32_I8_I16 | TFL_TYPE_BIT(TFL_INT32))
UNARY(reg_neg, "NEG", TFL_OP_NEG, neg_kernels, 0, NULL, NULL,
      F32_I8_I16 | TFL_TYPE_BIT(TFL_INT32) | TFL_TYPE_BIT(TFL_INT64))
UNARY(reg_exp, "EXP", TFL_OP_EXP, exp_kernels, 0, NULL, exp_qprepare, F32_I8_I16)
UNARY(reg_log, "LOG", TFL_OP_LOG, log_kernels, 0, NULL, log_qprepare, F32_I8_I16)
UNARY(reg_sqrt, "SQRT", TFL_OP_SQRT, sqrt_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_rsqrt, "RSQRT", TFL_OP_RSQRT, rsqrt_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_square, "SQUARE", TFL_OP_SQUARE, square_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_sin, "SIN", TFL_OP_SIN, sin_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_cos, "COS", TFL_OP_COS, cos_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_floor, "FLOOR", TFL_OP_FLOOR, floor_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_ceil, "CEIL", TFL_OP_CEIL, ceil_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_round, "ROUND", TFL_OP_ROUND, round_kernels, 0, NULL, NULL, TFL_TYPES_F32)
UNARY(reg_sign, "SIGN", TFL_OP_SIGN, sign_kernels, 0, NULL, NULL,
      TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT32))

const tfl_op_registration *const tfl_kernels_activations[] = {
    &reg_relu,  &reg_relu6, &reg_relu_n1_to_1, &reg_relu_0_to_1, &reg_leaky_relu, &reg_logistic,
    &reg_tanh,  &reg_hard_swish, &reg_elu,     &reg_gelu,        &reg_prelu,      &reg_abs,
    &reg_neg,   &reg_exp,   &reg_log,          &reg_sqrt,        &reg_rsqrt,      &reg_square,
    &reg_sin,   &reg_cos,   &reg_floor,        &reg_ceil,        &reg_round,      &reg_sign,
    NULL};
