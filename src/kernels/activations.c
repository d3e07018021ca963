/* Elementwise unary ops: the activations RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1, LEAKY_RELU,
 * LOGISTIC, TANH, HARD_SWISH, ELU, GELU, the math ops ABS, NEG, EXP, LOG, SQRT, RSQRT, SQUARE,
 * SIN, COS, FLOOR, CEIL, ROUND, SIGN, and PRELU (an activation with a broadcast alpha tensor).
 *
 * Float formulas follow TFLite's reference kernels, including their evaluation order:
 * LOGISTIC returns 1 above 16.619047 and exp(x) below -9, HARD_SWISH is x * relu6(x + 3) / 6,
 * ELU uses expm1, exact GELU is 0.5 x erfc(-x / sqrt 2), ROUND is round-half-to-even with
 * TFLite's floor-based formula, SIGN keeps NaN. Integer variants (ABS, NEG, SIGN) wrap like
 * TFLite's compiled kernels. Quantized paths (LUTs, fixed point) will sit beside these. */
#include <math.h>
#include <stdint.h>

#include "kernels/broadcast.h"
#include "kernels/families.h"
#include "model/ops.h"
#include "runtime/kernel.h"

typedef struct unary_data unary_data;
typedef void (*unary_fn)(const void *in, void *out, size_t n, const unary_data *d);

struct unary_data {
  unary_fn fn;
  float alpha; /* LEAKY_RELU */
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

typedef struct unary_kernel {
  tfl_type type;
  unary_fn fn;
} unary_kernel;

/* One op: kernels per type (ended by a NULL fn) and, for ops with options, the options
 * table and a hook that reads them into the node data (it may pick another fn). */
typedef struct unary_op {
  const unary_kernel *kernels;
  int options_type;
  void (*configure)(const tfl_node *node, unary_data *d);
} unary_op;

enum { LEAKY_RELU_OPT_ALPHA = 0, GELU_OPT_APPROXIMATE = 0 };

static void leaky_relu_configure(const tfl_node *node, unary_data *d) {
  d->alpha = tfl_opt_float(node, LEAKY_RELU_OPT_ALPHA, 0.0f);
}

static void gelu_configure(const tfl_node *node, unary_data *d) {
  if (tfl_opt_bool(node, GELU_OPT_APPROXIMATE, 0)) d->fn = gelu_tanh_f32;
}

/* Input and output of the same, supported type; reports quantized inputs of float-only ops
 * as such. */
static tfl_status check_same_type(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                  const tfl_tensor *out, int supported) {
  if (!supported) {
    const char *what = in->quant.count ? "quantized " : "";
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s%s input '%s' is not supported",
                            what, tfl_type_name(in->type), in->name);
  }
  return tfl_check_type(ctx, node, out, "output", in->type);
}

static tfl_status check_options_type(tfl_context *ctx, const tfl_node *node, int expected) {
  int type = tfl_opt_type(node);
  if (type == TFL_OPTS_NONE || type == expected) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                          "builtin options have union type %d, expected %d", type, expected);
}

static tfl_status unary_prepare(tfl_context *ctx, tfl_node *node) {
  const unary_op *op = node->registration->op_user_data;
  unary_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->fn = NULL;
  for (const unary_kernel *k = op->kernels; k->fn; k++)
    if (k->type == in->type) d->fn = k->fn;
  st = check_same_type(ctx, node, in, out, d->fn != NULL);
  if (st != TFL_OK) return st;
  if (op->configure) {
    st = check_options_type(ctx, node, op->options_type);
    if (st != TFL_OK) return st;
    op->configure(node, d);
  }
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static tfl_status unary_eval(tfl_context *ctx, tfl_node *node) {
  const unary_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->fn(in->data, out->data, tfl_tensor_count(in), d);
  return TFL_OK;
}

/* --- PRELU: out = x >= 0 ? x : x * alpha, alpha broadcast against x --------------------- */

TFL_BCAST_FN(prelu_f32, float, float, x >= 0 ? x : x * y)

static tfl_status prelu_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_bcast *plan = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *alpha = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = check_same_type(ctx, node, in, out, in->type == TFL_FLOAT32);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, alpha, "alpha", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  st = tfl_broadcast_shape(ctx, node, in, alpha, &ndim, dims);
  if (st != TFL_OK) return st;
  tfl_broadcast_plan(in, alpha, plan);
  return tfl_context_resize(ctx, out, ndim, dims);
}

static tfl_status prelu_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_bcast *plan = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *alpha = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  tfl_broadcast_run(plan, in->data, sizeof(float), alpha->data, sizeof(float), out->data,
                    sizeof(float), prelu_f32, NULL);
  return TFL_OK;
}

static const tfl_op_registration reg_prelu = {.name = "PRELU",
                                              .builtin_code = TFL_OP_PRELU,
                                              .data_size = sizeof(tfl_bcast),
                                              .prepare = prelu_prepare,
                                              .eval = prelu_eval};

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

#define UNARY(var, op_name, code, kernels_, options, configure_)                    \
  static const unary_op var##_op = {kernels_, options, configure_};                 \
  static const tfl_op_registration var = {.name = op_name,                          \
                                          .builtin_code = code,                     \
                                          .data_size = sizeof(unary_data),          \
                                          .prepare = unary_prepare,                 \
                                          .eval = unary_eval,                       \
                                          .op_user_data = (void *)&var##_op};

UNARY(reg_relu, "RELU", TFL_OP_RELU, relu_kernels, 0, NULL)
UNARY(reg_relu6, "RELU6", TFL_OP_RELU6, relu6_kernels, 0, NULL)
UNARY(reg_relu_n1_to_1, "RELU_N1_TO_1", TFL_OP_RELU_N1_TO_1, relu_n1_to_1_kernels, 0, NULL)
UNARY(reg_relu_0_to_1, "RELU_0_TO_1", TFL_OP_RELU_0_TO_1, relu_0_to_1_kernels, 0, NULL)
UNARY(reg_leaky_relu, "LEAKY_RELU", TFL_OP_LEAKY_RELU, leaky_relu_kernels, TFL_OPTS_LEAKY_RELU,
      leaky_relu_configure)
UNARY(reg_logistic, "LOGISTIC", TFL_OP_LOGISTIC, logistic_kernels, 0, NULL)
UNARY(reg_tanh, "TANH", TFL_OP_TANH, tanh_kernels, 0, NULL)
UNARY(reg_hard_swish, "HARD_SWISH", TFL_OP_HARD_SWISH, hard_swish_kernels, 0, NULL)
UNARY(reg_elu, "ELU", TFL_OP_ELU, elu_kernels, 0, NULL)
UNARY(reg_gelu, "GELU", TFL_OP_GELU, gelu_kernels, TFL_OPTS_GELU, gelu_configure)
UNARY(reg_abs, "ABS", TFL_OP_ABS, abs_kernels, 0, NULL)
UNARY(reg_neg, "NEG", TFL_OP_NEG, neg_kernels, 0, NULL)
UNARY(reg_exp, "EXP", TFL_OP_EXP, exp_kernels, 0, NULL)
UNARY(reg_log, "LOG", TFL_OP_LOG, log_kernels, 0, NULL)
UNARY(reg_sqrt, "SQRT", TFL_OP_SQRT, sqrt_kernels, 0, NULL)
UNARY(reg_rsqrt, "RSQRT", TFL_OP_RSQRT, rsqrt_kernels, 0, NULL)
UNARY(reg_square, "SQUARE", TFL_OP_SQUARE, square_kernels, 0, NULL)
UNARY(reg_sin, "SIN", TFL_OP_SIN, sin_kernels, 0, NULL)
UNARY(reg_cos, "COS", TFL_OP_COS, cos_kernels, 0, NULL)
UNARY(reg_floor, "FLOOR", TFL_OP_FLOOR, floor_kernels, 0, NULL)
UNARY(reg_ceil, "CEIL", TFL_OP_CEIL, ceil_kernels, 0, NULL)
UNARY(reg_round, "ROUND", TFL_OP_ROUND, round_kernels, 0, NULL)
UNARY(reg_sign, "SIGN", TFL_OP_SIGN, sign_kernels, 0, NULL)

const tfl_op_registration *const tfl_kernels_activations[] = {
    &reg_relu,  &reg_relu6, &reg_relu_n1_to_1, &reg_relu_0_to_1, &reg_leaky_relu, &reg_logistic,
    &reg_tanh,  &reg_hard_swish, &reg_elu,     &reg_gelu,        &reg_prelu,      &reg_abs,
    &reg_neg,   &reg_exp,   &reg_log,          &reg_sqrt,        &reg_rsqrt,      &reg_square,
    &reg_sin,   &reg_cos,   &reg_floor,        &reg_ceil,        &reg_round,      &reg_sign,
    NULL};
