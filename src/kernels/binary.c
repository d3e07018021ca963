/* ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, FLOOR_DIV, FLOOR_MOD and POW:
 * elementwise with broadcasting (broadcast.h), in float32 and the integer types TFLite's
 * builtin kernels accept for each op. MAXIMUM and MINIMUM compare raw values, as TFLite does.
 *
 * Quantized ADD, SUB and MUL (uint8, int8, int16) are TFLite's integer kernels, bit for bit:
 * - ADD/SUB bring both inputs to a common scale: (q - zp) << 20 (15 for int16), times
 *   in_scale / (2 max(in_scales)) as a fixed-point multiplier, then the sum or difference
 *   times 2 max(in_scales) / (2^20 out_scale), plus the output zero point.
 * - int16 ADD/SUB with power-of-two scales (and AddOptions/SubOptions.pot_scale_int16) shift
 *   the finer input onto the other's scale and add with saturation.
 * - MUL multiplies the zero-point-corrected values and rescales once by
 *   s1 s2 / s_out; int16 needs zero points 0.
 * - int16 ADD and MUL without quantization parameters are plain integer arithmetic that
 *   wraps, then clamps to the fused activation's range.
 * - SQUARED_DIFFERENCE (int8) rescales like SUB with 7 bits of headroom and squares.
 * ADD, SUB, DIV and SQUARED_DIFFERENCE give their output the inputs' type, as TFLite's
 * prepare does. Where TFLite aborts (an ADD output multiplier of 1 or more, a zero scale) the
 * prepare fails with a message; a SUB output multiplier above 1, on which TFLite's kernel
 * shifts by a negative amount, is applied as a left shift.
 *
 * TFLite semantics kept here:
 * - the fused activation of ADD/SUB/MUL/DIV clamps to the RELU/RELU6/RELU_N1_TO_1 range,
 *   in the integer types too; TANH and SIGN_BIT are accepted and ignored, as in TFLite's
 *   CalculateActivationRange. A NaN passes the clamp unchanged.
 * - integer ADD/SUB/MUL/SQUARED_DIFFERENCE wrap around on overflow; INT32_MIN / -1, which
 *   traps in TFLite, saturates in DIV and wraps in FLOOR_DIV.
 * - float DIV by zero gives IEEE infinities/NaN; an integer divisor of 0 in DIV, FLOOR_DIV
 *   or FLOOR_MOD, a float divisor of 0 in FLOOR_DIV and a negative int32 POW exponent make
 *   eval fail with a message.
 * - FLOOR_DIV is floor(double(x) / double(y)); FLOOR_MOD is fmod/% corrected to the sign of
 *   the divisor; int32 POW is pow() in double converted back with saturation. */
#include <math.h>
#include <stdint.h>

#include "kernels/broadcast.h"
#include "kernels/families.h"
#include "kernels/qadd.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* Clamp bounds of the fused activation; the float and integer ones are both filled. */
typedef struct binary_range {
  float lo, hi;
  int64_t ilo, ihi;
} binary_range;

/* TFLite's ArithmeticParams for the quantized kernels. Offsets are -zero_point for the
 * inputs and +zero_point for the output; shifts are left shifts (negative: right). */
typedef struct binary_quant {
  int32_t in1_offset, in2_offset, out_offset;
  int32_t in1_multiplier, in2_multiplier, out_multiplier;
  int in1_shift, in2_shift, out_shift;
  int left_shift;
  int32_t act_min, act_max;
} binary_quant;

/* What a kernel's arg points at. */
typedef struct binary_params {
  binary_range range;
  binary_quant q;
  tfl_qadd fast; /* 8-bit ADD/SUB: the vector kernel of qadd.h */
} binary_params;

/* std::min(std::max(v, lo), hi) as TFLite writes it: a NaN passes through. */
static float clamp_f32(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

static int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* SETUP for TFL_BCAST_FN_WITH: the bounds as locals `lo` and `hi`. */
#define RANGE_OF(arg) (&((const binary_params *)(arg))->range)
#define RANGE_F32 const float lo = RANGE_OF(arg)->lo; const float hi = RANGE_OF(arg)->hi
#define RANGE_I64 const int64_t lo = RANGE_OF(arg)->ilo; const int64_t hi = RANGE_OF(arg)->ihi
/* For int32 and int16 results, whose bounds then fit. */
#define RANGE_I32                             \
  const int32_t lo = (int32_t)RANGE_OF(arg)->ilo; \
  const int32_t hi = (int32_t)RANGE_OF(arg)->ihi

/* Wrapping integer arithmetic (signed overflow is undefined in C, modular in TFLite's
 * kernels as compiled). */
static int32_t wrap_add32(int32_t x, int32_t y) { return (int32_t)((uint32_t)x + (uint32_t)y); }
static int32_t wrap_sub32(int32_t x, int32_t y) { return (int32_t)((uint32_t)x - (uint32_t)y); }
static int32_t wrap_mul32(int32_t x, int32_t y) { return (int32_t)((uint32_t)x * (uint32_t)y); }
static int64_t wrap_add64(int64_t x, int64_t y) { return (int64_t)((uint64_t)x + (uint64_t)y); }
static int64_t wrap_sub64(int64_t x, int64_t y) { return (int64_t)((uint64_t)x - (uint64_t)y); }
static int64_t wrap_mul64(int64_t x, int64_t y) { return (int64_t)((uint64_t)x * (uint64_t)y); }

/* Division rounding toward minus infinity, equal to floor(double(x) / double(y)) for the
 * 8-, 16- and 32-bit types (which is why it takes them widened to 64 bits). y != 0. */
static int64_t floor_div_int(int64_t x, int64_t y) {
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

/* Remainder with the sign of the divisor. y != 0; y == -1 is special only because
 * INT64_MIN % -1 overflows. */
static int64_t floor_mod_int(int64_t x, int64_t y) {
  int64_t r = y == -1 ? 0 : x % y;
  return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}

static float floor_div_f32(float x, float y) { return (float)floor((double)x / (double)y); }

static float floor_mod_f32(float x, float y) {
  float r = fmodf(x, y);
  return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}

/* pow() in double converted to int32 with saturation (NaN cannot occur: y >= 0). */
static int32_t pow_i32(int32_t x, int32_t y) {
  double p = pow((double)x, (double)y);
  if (p >= 2147483648.0) return INT32_MAX;
  if (p < -2147483648.0) return INT32_MIN;
  return (int32_t)p;
}

TFL_BCAST_FN_WITH(add_f32, float, float, RANGE_F32, clamp_f32(x + y, lo, hi))
TFL_BCAST_FN_WITH(add_i32, int32_t, int32_t, RANGE_I32, clamp_i32(wrap_add32(x, y), lo, hi))
TFL_BCAST_FN_WITH(add_i64, int64_t, int64_t, RANGE_I64, clamp_i64(wrap_add64(x, y), lo, hi))
TFL_BCAST_FN_WITH(sub_f32, float, float, RANGE_F32, clamp_f32(x - y, lo, hi))
TFL_BCAST_FN_WITH(sub_i32, int32_t, int32_t, RANGE_I32, clamp_i32(wrap_sub32(x, y), lo, hi))
TFL_BCAST_FN_WITH(sub_i64, int64_t, int64_t, RANGE_I64, clamp_i64(wrap_sub64(x, y), lo, hi))
TFL_BCAST_FN_WITH(mul_f32, float, float, RANGE_F32, clamp_f32(x * y, lo, hi))
TFL_BCAST_FN_WITH(mul_i32, int32_t, int32_t, RANGE_I32, clamp_i32(wrap_mul32(x, y), lo, hi))
TFL_BCAST_FN_WITH(mul_i64, int64_t, int64_t, RANGE_I64, clamp_i64(wrap_mul64(x, y), lo, hi))
TFL_BCAST_FN_WITH(div_f32, float, float, RANGE_F32, clamp_f32(x / y, lo, hi))
/* In int64 so that INT32_MIN / -1 saturates instead of overflowing. */
TFL_BCAST_FN_WITH(div_i32, int32_t, int32_t, RANGE_I64, clamp_i64((int64_t)x / y, lo, hi))

TFL_BCAST_FN(max_f32, float, float, x > y ? x : y)
TFL_BCAST_FN(max_i8, int8_t, int8_t, x > y ? x : y)
TFL_BCAST_FN(max_u8, uint8_t, uint8_t, x > y ? x : y)
TFL_BCAST_FN(max_i16, int16_t, int16_t, x > y ? x : y)
TFL_BCAST_FN(max_i32, int32_t, int32_t, x > y ? x : y)
TFL_BCAST_FN(max_i64, int64_t, int64_t, x > y ? x : y)
TFL_BCAST_FN(min_f32, float, float, x < y ? x : y)
TFL_BCAST_FN(min_i8, int8_t, int8_t, x < y ? x : y)
TFL_BCAST_FN(min_u8, uint8_t, uint8_t, x < y ? x : y)
TFL_BCAST_FN(min_i16, int16_t, int16_t, x < y ? x : y)
TFL_BCAST_FN(min_i32, int32_t, int32_t, x < y ? x : y)
TFL_BCAST_FN(min_i64, int64_t, int64_t, x < y ? x : y)

TFL_BCAST_FN(sqdiff_f32, float, float, (x - y) * (x - y))
TFL_BCAST_FN(sqdiff_i32, int32_t, int32_t, wrap_mul32(wrap_sub32(x, y), wrap_sub32(x, y)))

TFL_BCAST_FN(floor_div_f32_run, float, float, floor_div_f32(x, y))
TFL_BCAST_FN(floor_div_i8, int8_t, int8_t, floor_div_int(x, y))
TFL_BCAST_FN(floor_div_i16, int16_t, int16_t, floor_div_int(x, y))
TFL_BCAST_FN(floor_div_i32, int32_t, int32_t, floor_div_int(x, y))

TFL_BCAST_FN(floor_mod_f32_run, float, float, floor_mod_f32(x, y))
TFL_BCAST_FN(floor_mod_i8, int8_t, int8_t, floor_mod_int(x, y))
TFL_BCAST_FN(floor_mod_i16, int16_t, int16_t, floor_mod_int(x, y))
TFL_BCAST_FN(floor_mod_i32, int32_t, int32_t, floor_mod_int(x, y))
TFL_BCAST_FN(floor_mod_i64, int64_t, int64_t, floor_mod_int(x, y))

TFL_BCAST_FN(pow_f32, float, float, powf(x, y))
TFL_BCAST_FN(pow_i32_run, int32_t, int32_t, pow_i32(x, y))

/* int16 without quantization: the result wraps to 16 bits, then the activation clamps. */
static int32_t wrap16(int32_t v) { return (int16_t)(uint16_t)(uint32_t)v; }

TFL_BCAST_FN_WITH(add_i16, int16_t, int16_t, RANGE_I32, clamp_i32(wrap16(x + y), lo, hi))
TFL_BCAST_FN_WITH(mul_i16, int16_t, int16_t, RANGE_I32, clamp_i32(wrap16(x * y), lo, hi))

/* --- quantized kernels ------------------------------------------------------------------ */

/* One input of ADD/SUB on the common scale. */
static int32_t q_rescale_input(int32_t v, int32_t offset, int left_shift, int32_t multiplier,
                               int shift) {
  return tfl_mul_by_quantized_multiplier((v + offset) * (1 << left_shift), multiplier, shift);
}

/* The common-scale sum (or difference) back on the output scale, clamped. */
static int32_t q_rescale_output(int32_t raw, const binary_quant *q) {
  return clamp_i32(tfl_mul_by_quantized_multiplier(raw, q->out_multiplier, q->out_shift) +
                       q->out_offset,
                   q->act_min, q->act_max);
}

static int32_t q_add(int32_t x, int32_t y, const binary_quant *q) {
  return q_rescale_output(
      q_rescale_input(x, q->in1_offset, q->left_shift, q->in1_multiplier, q->in1_shift) +
          q_rescale_input(y, q->in2_offset, q->left_shift, q->in2_multiplier, q->in2_shift),
      q);
}

static int32_t q_sub(int32_t x, int32_t y, const binary_quant *q) {
  return q_rescale_output(
      q_rescale_input(x, q->in1_offset, q->left_shift, q->in1_multiplier, q->in1_shift) -
          q_rescale_input(y, q->in2_offset, q->left_shift, q->in2_multiplier, q->in2_shift),
      q);
}

static int32_t q_mul(int32_t x, int32_t y, const binary_quant *q) {
  const int32_t product = (x + q->in1_offset) * (y + q->in2_offset);
  return clamp_i32(tfl_mul_by_quantized_multiplier(product, q->out_multiplier, q->out_shift) +
                       q->out_offset,
                   q->act_min, q->act_max);
}

/* int16 with power-of-two scales: in1_shift/in2_shift (<= 0, one of them 0) bring an input
 * onto the output scale; the clamp also saturates, since the bounds lie within int16. */
static int32_t q_pot_add(int32_t x, int32_t y, const binary_quant *q) {
  return clamp_i32(tfl_rdbpot(x, -q->in1_shift) + tfl_rdbpot(y, -q->in2_shift), q->act_min,
                   q->act_max);
}

static int32_t q_pot_sub(int32_t x, int32_t y, const binary_quant *q) {
  return clamp_i32(tfl_rdbpot(x, -q->in1_shift) - tfl_rdbpot(y, -q->in2_shift), q->act_min,
                   q->act_max);
}

#define QPARAMS const binary_quant *q = &((const binary_params *)arg)->q
/* The uint8, int8 and int16 kernels of one quantized formula. */
#define QUANT_KERNELS(name, formula)                                                 \
  TFL_BCAST_FN_WITH(name##_u8, uint8_t, uint8_t, QPARAMS, formula(x, y, q))           \
  TFL_BCAST_FN_WITH(name##_i8, int8_t, int8_t, QPARAMS, formula(x, y, q))             \
  TFL_BCAST_FN_WITH(name##_i16, int16_t, int16_t, QPARAMS, formula(x, y, q))

QUANT_KERNELS(qadd, q_add)
QUANT_KERNELS(qsub, q_sub)
QUANT_KERNELS(qmul, q_mul)
/* SQUARED_DIFFERENCE: like SUB with 7 bits of headroom, the difference squared. */
static int32_t q_sqdiff(int32_t x, int32_t y, const binary_quant *q) {
  const int32_t diff =
      q_rescale_input(x, q->in1_offset, q->left_shift, q->in1_multiplier, q->in1_shift) -
      q_rescale_input(y, q->in2_offset, q->left_shift, q->in2_multiplier, q->in2_shift);
  return q_rescale_output(diff * diff, q);
}

TFL_BCAST_FN_WITH(qsqdiff_i8, int8_t, int8_t, QPARAMS, q_sqdiff(x, y, q))
TFL_BCAST_FN_WITH(qpot_add_i16, int16_t, int16_t, QPARAMS, q_pot_add(x, y, q))
TFL_BCAST_FN_WITH(qpot_sub_i16, int16_t, int16_t, QPARAMS, q_pot_sub(x, y, q))

/* What eval must verify in the second operand before computing. */
typedef enum binary_check {
  CHECK_NONE,
  CHECK_INT_DIVISOR, /* no zero in integer types */
  CHECK_DIVISOR,     /* no zero in any type */
  CHECK_EXPONENT     /* no negative value in integer types */
} binary_check;

typedef struct binary_kernel {
  tfl_type type;
  tfl_bcast_fn fn;
} binary_kernel;

typedef struct binary_data {
  tfl_bcast plan;
  tfl_bcast_fn fn;
  binary_check check;
  binary_params params;
} binary_data;

/* The quantized part of an op's prepare: from the inputs', output's and fused activation's
 * parameters, fills d->params.q and picks d->fn. */
typedef tfl_status (*binary_qprepare)(tfl_context *ctx, const tfl_node *node,
                                      const tfl_tensor *a, const tfl_tensor *b,
                                      const tfl_tensor *out, int act, binary_data *d);

/* One op: its options table if it has a fused activation (field 0), its checks, whether the
 * output takes the inputs' type, its kernels per type (ended by a NULL fn) and its quantized
 * path, if any. Reached from the registration's op_user_data. */
typedef struct binary_op {
  int act_options; /* TFL_OPTS_* with a fused activation in field 0, or 0 */
  binary_check check;
  int retype;
  const binary_kernel *kernels;
  binary_qprepare qprepare;
} binary_op;

static int is_integer(tfl_type type) {
  return type == TFL_INT8 || type == TFL_UINT8 || type == TFL_INT16 || type == TFL_INT32 ||
         type == TFL_INT64;
}

static void int_type_range(tfl_type type, int64_t *lo, int64_t *hi) {
  switch (type) {
    case TFL_INT16:
      *lo = INT16_MIN;
      *hi = INT16_MAX;
      return;
    case TFL_INT32:
      *lo = INT32_MIN;
      *hi = INT32_MAX;
      return;
    default:
      *lo = INT64_MIN;
      *hi = INT64_MAX;
      return;
  }
}

/* The clamp of fused activation `act` for `type`, TFLite's CalculateActivationRange. */
static void activation_range(int act, tfl_type type, binary_range *r) {
  if (tfl_activation_range_f32(act, &r->lo, &r->hi) != TFL_OK) {
    r->lo = -INFINITY;
    r->hi = INFINITY;
  }
  int_type_range(type, &r->ilo, &r->ihi);
  if (r->lo > -INFINITY) r->ilo = (int64_t)r->lo;
  if (r->hi < INFINITY) r->ihi = (int64_t)r->hi;
}

static tfl_status binary_read_activation(tfl_context *ctx, const tfl_node *node,
                                         const binary_op *op, int *act) {
  *act = TFL_ACT_NONE;
  if (!op->act_options) return TFL_OK;
  int opt_type = tfl_opt_type(node);
  if (opt_type != TFL_OPTS_NONE && opt_type != op->act_options)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "builtin options have union type %d, expected %d", opt_type,
                            op->act_options);
  *act = tfl_opt_int(node, 0, TFL_ACT_NONE);
  return tfl_check_activation(ctx, node, *act);
}

static tfl_bcast_fn find_kernel(const binary_kernel *kernels, tfl_type type) {
  for (const binary_kernel *k = kernels; k->fn; k++)
    if (k->type == type) return k->fn;
  return NULL;
}

/* TFLite takes the quantized path for 8-bit types always, for int16 when quantized. */
static int takes_quantized_path(const binary_op *op, const tfl_tensor *t) {
  if (!op->qprepare) return 0;
  return t->type == TFL_UINT8 || t->type == TFL_INT8 || (t->type == TFL_INT16 && t->quant.count);
}

/* --- quantized prepare -------------------------------------------------------------------- */

/* Per-tensor scale and zero point of the two inputs and the output ([0], [1], [2]); every
 * scale must be positive. */
static tfl_status quant_params3(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                                const tfl_tensor *b, const tfl_tensor *out, float scale[3],
                                int32_t zp[3]) {
  const tfl_tensor *t[3] = {a, b, out};
  for (int i = 0; i < 3; i++) {
    tfl_quant_params(t[i], &scale[i], &zp[i]);
    if (!(scale[i] > 0.0f) || !isfinite(scale[i]))
      return tfl_context_error(ctx, node,
                               "quantized %s '%s' needs one positive scale (has %d, scale %g)",
                               i == 2 ? "output" : "input", t[i]->name, t[i]->quant.count,
                               (double)scale[i]);
  }
  return TFL_OK;
}

static tfl_status quant_activation(tfl_context *ctx, const tfl_node *node, int act,
                                   const tfl_tensor *out, float scale, int32_t zp,
                                   binary_quant *q) {
  if (tfl_quantized_activation_range(act, out->type, scale, zp, &q->act_min, &q->act_max) !=
      TFL_OK)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "fused activation %d is not supported on quantized data", act);
  return TFL_OK;
}

static tfl_status zero_points_must_be_zero(tfl_context *ctx, const tfl_node *node,
                                           const int32_t zp[3]) {
  if (zp[0] || zp[1] || zp[2])
    return tfl_context_error(ctx, node,
                             "int16 quantization needs zero points 0 (inputs %d, %d, output %d)",
                             (int)zp[0], (int)zp[1], (int)zp[2]);
  return TFL_OK;
}

/* AddOptions/SubOptions.pot_scale_int16 (field 1): true by default in the schema, false when
 * the options are absent (TFLite then zero-initializes its parameters). */
static int pot_scale_int16_allowed(const tfl_node *node) {
  return tfl_opt_type(node) != TFL_OPTS_NONE && tfl_opt_bool(node, 1, 1);
}

/* int16 ADD/SUB with power-of-two scales: the input shifts onto the output's scale. Returns
 * TFL_OK with d->fn NULL when a scale is not a power of two. */
static tfl_status pot_int16_prepare(tfl_context *ctx, const tfl_node *node, const float scale[3],
                                    int is_sub, binary_data *d) {
  int log2[3];
  d->fn = NULL;
  for (int i = 0; i < 3; i++)
    if (!tfl_checked_log2(scale[i], &log2[i])) return TFL_OK;
  binary_quant *q = &d->params.q;
  q->in1_shift = log2[0] - log2[2];
  q->in2_shift = log2[1] - log2[2];
  if ((q->in1_shift != 0 && q->in2_shift != 0) || q->in1_shift > 0 || q->in2_shift > 0 ||
      q->in1_shift < -31 || q->in2_shift < -31)
    return tfl_context_error(ctx, node,
                             "power-of-two int16 scales need one input on the output's scale "
                             "and the other finer (input shifts %d and %d)",
                             q->in1_shift, q->in2_shift);
  d->fn = is_sub ? qpot_sub_i16 : qpot_add_i16;
  return TFL_OK;
}

static tfl_bcast_fn pick_by_type(tfl_type type, tfl_bcast_fn u8, tfl_bcast_fn i8,
                                 tfl_bcast_fn i16) {
  return type == TFL_UINT8 ? u8 : (type == TFL_INT8 ? i8 : i16);
}

/* TFLite's general ADD/SUB rescaling: inputs to a common scale with `left_shift` bits of
 * headroom, sum back to the output. */
static tfl_status add_sub_qprepare_common(tfl_context *ctx, const tfl_node *node, tfl_type type,
                                          const float scale[3], const int32_t zp[3], int is_sub,
                                          binary_quant *q) {
  q->in1_offset = -zp[0];
  q->in2_offset = -zp[1];
  q->out_offset = zp[2];
  q->left_shift = type == TFL_INT16 ? 15 : 20;
  const double twice_max = 2.0 * (double)(scale[0] > scale[1] ? scale[0] : scale[1]);
  const double real_out = twice_max / ((double)(1 << q->left_shift) * (double)scale[2]);
  /* TFLite aborts on an ADD output multiplier >= 1 and on a SUB one of exactly 1. */
  if (is_sub ? real_out == 1.0 : real_out >= 1.0)
    return tfl_context_error(ctx, node,
                             "output scale %g is too small for input scales %g and %g",
                             (double)scale[2], (double)scale[0], (double)scale[1]);
  tfl_quantize_multiplier((double)scale[0] / twice_max, &q->in1_multiplier, &q->in1_shift);
  tfl_quantize_multiplier((double)scale[1] / twice_max, &q->in2_multiplier, &q->in2_shift);
  tfl_quantize_multiplier(real_out, &q->out_multiplier, &q->out_shift);
  return TFL_OK;
}

/* Runs of 8-bit ADD/SUB through qadd.h's vector kernel. */
static void qadd_fast(const void *a, int a_step, const void *b, int b_step, void *out, size_t n,
                      const void *arg) {
  const tfl_qadd *f = &((const binary_params *)arg)->fast;
  f->run(f, a, a_step, b, b_step, out, n);
}

static void use_qadd_fast(binary_params *p, int is_sub, tfl_bcast_fn *fn) {
  const binary_quant *q = &p->q;
  tfl_qadd *f = &p->fast;
  f->sub = is_sub;
  f->in1_offset = q->in1_offset;
  f->in2_offset = q->in2_offset;
  f->out_offset = q->out_offset;
  f->in1_multiplier = q->in1_multiplier;
  f->in2_multiplier = q->in2_multiplier;
  f->out_multiplier = q->out_multiplier;
  f->in1_shift = q->in1_shift;
  f->in2_shift = q->in2_shift;
  f->out_shift = q->out_shift;
  f->left_shift = q->left_shift;
  f->act_min = q->act_min;
  f->act_max = q->act_max;
  tfl_qadd_plan(f);
  *fn = qadd_fast;
}

static tfl_status add_sub_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                                   const tfl_tensor *b, const tfl_tensor *out, int act,
                                   binary_data *d, int is_sub) {
  float scale[3];
  int32_t zp[3];
  d->fn = NULL;
  tfl_status st = quant_params3(ctx, node, a, b, out, scale, zp);
  if (st == TFL_OK) st = quant_activation(ctx, node, act, out, scale[2], zp[2], &d->params.q);
  if (st != TFL_OK) return st;
  if (a->type == TFL_INT16) {
    st = zero_points_must_be_zero(ctx, node, zp);
    if (st == TFL_OK && pot_scale_int16_allowed(node))
      st = pot_int16_prepare(ctx, node, scale, is_sub, d);
    if (st != TFL_OK || d->fn) return st;
  } else if (is_sub) { /* SUB alone checks that 8-bit zero points fit the type */
    int32_t lo, hi;
    tfl_quantized_type_range(a->type, &lo, &hi);
    for (int i = 0; i < 3; i++)
      if (zp[i] < lo || zp[i] > hi)
        return tfl_context_error(ctx, node, "zero point %d is outside the %s range",
                                 (int)zp[i], tfl_type_name(a->type));
  }
  st = add_sub_qprepare_common(ctx, node, a->type, scale, zp, is_sub, &d->params.q);
  d->fn = is_sub ? pick_by_type(a->type, qsub_u8, qsub_i8, qsub_i16)
                 : pick_by_type(a->type, qadd_u8, qadd_i8, qadd_i16);
  if (st == TFL_OK && tfl_qadd_setup(&d->params.fast, tfl_context_cpu(ctx), a->type))
    use_qadd_fast(&d->params, is_sub, &d->fn);
  return st;
}

static tfl_status add_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                               const tfl_tensor *b, const tfl_tensor *out, int act,
                               binary_data *d) {
  return add_sub_qprepare(ctx, node, a, b, out, act, d, 0);
}

static tfl_status sub_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                               const tfl_tensor *b, const tfl_tensor *out, int act,
                               binary_data *d) {
  return add_sub_qprepare(ctx, node, a, b, out, act, d, 1);
}

static tfl_status mul_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                               const tfl_tensor *b, const tfl_tensor *out, int act,
                               binary_data *d) {
  binary_quant *q = &d->params.q;
  float scale[3];
  int32_t zp[3];
  tfl_status st = quant_params3(ctx, node, a, b, out, scale, zp);
  if (st == TFL_OK && a->type == TFL_INT16) st = zero_points_must_be_zero(ctx, node, zp);
  if (st == TFL_OK) st = quant_activation(ctx, node, act, out, scale[2], zp[2], q);
  if (st != TFL_OK) return st;
  q->in1_offset = -zp[0];
  q->in2_offset = -zp[1];
  q->out_offset = zp[2];
  /* TFLite forms s1 * s2 / s_out in single precision. */
  const float real = scale[0] * scale[1] / scale[2];
  tfl_quantize_multiplier((double)real, &q->out_multiplier, &q->out_shift);
  d->fn = pick_by_type(a->type, qmul_u8, qmul_i8, qmul_i16);
  return TFL_OK;
}

/* SQUARED_DIFFERENCE: int8 only; both inputs on a common scale with 7 bits of headroom, the
 * square rescaled by (2 max(in_scales))^2 / (2^14 out_scale). */
static tfl_status sqdiff_qprepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                                  const tfl_tensor *b, const tfl_tensor *out, int act,
                                  binary_data *d) {
  binary_quant *q = &d->params.q;
  float scale[3];
  int32_t zp[3];
  (void)act;
  if (a->type != TFL_INT8)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "quantized %s inputs are not supported",
                            tfl_type_name(a->type));
  tfl_status st = quant_params3(ctx, node, a, b, out, scale, zp);
  if (st != TFL_OK) return st;
  for (int i = 0; i < 3; i++)
    if (zp[i] < -128 || zp[i] > 127)
      return tfl_context_error(ctx, node, "zero point %d is outside the int8 range", (int)zp[i]);
  q->in1_offset = -zp[0];
  q->in2_offset = -zp[1];
  q->out_offset = zp[2];
  q->left_shift = 7;
  const double twice_max = 2.0 * (double)(scale[0] > scale[1] ? scale[0] : scale[1]);
  const double real_out = twice_max * twice_max / ((double)(1 << 14) * (double)scale[2]);
  if (real_out >= 1.0)
    return tfl_context_error(ctx, node, "output scale %g is too small for input scales %g and %g",
                             (double)scale[2], (double)scale[0], (double)scale[1]);
  tfl_quantize_multiplier((double)scale[0] / twice_max, &q->in1_multiplier, &q->in1_shift);
  tfl_quantize_multiplier((double)scale[1] / twice_max, &q->in2_multiplier, &q->in2_shift);
  tfl_quantize_multiplier(real_out, &q->out_multiplier, &q->out_shift);
  q->act_min = -128;
  q->act_max = 127;
  d->fn = qsqdiff_i8;
  return TFL_OK;
}

/* --- prepare and eval ------------------------------------------------------------------- */

static tfl_status binary_prepare(tfl_context *ctx, tfl_node *node) {
  const binary_op *op = node->registration->op_user_data;
  binary_data *d = node->user_data;
  const tfl_tensor *a, *b;
  tfl_tensor *out;
  tfl_status st = tfl_broadcast_operands(ctx, node, &a, &b, &out);
  if (st != TFL_OK) return st;
  st = op->retype ? tfl_context_set_type(ctx, out, b->type)
                  : tfl_check_type(ctx, node, out, "output", a->type);
  if (st != TFL_OK) return st;
  int act;
  st = binary_read_activation(ctx, node, op, &act);
  if (st != TFL_OK) return st;
  d->check = op->check;
  if (takes_quantized_path(op, a)) {
    st = op->qprepare(ctx, node, a, b, out, act, d);
    if (st != TFL_OK) return st;
  } else {
    d->fn = find_kernel(op->kernels, a->type);
    if (!d->fn) {
      const char *what = is_integer(a->type) && a->quant.count ? "quantized " : "";
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s%s inputs are not supported", what,
                              tfl_type_name(a->type));
    }
    activation_range(act, a->type, &d->params.range);
  }

  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  st = tfl_broadcast_shape(ctx, node, a, b, &ndim, dims);
  if (st != TFL_OK) return st;
  tfl_broadcast_plan(a, b, &d->plan);
  return tfl_context_resize(ctx, out, ndim, dims);
}

/* Element i of an integer tensor of 8 to 64 bits. */
static int64_t int_at(const tfl_tensor *t, size_t i) {
  switch (t->type) {
    case TFL_INT8:
      return ((const int8_t *)t->data)[i];
    case TFL_UINT8:
      return ((const uint8_t *)t->data)[i];
    case TFL_INT16:
      return ((const int16_t *)t->data)[i];
    case TFL_INT32:
      return ((const int32_t *)t->data)[i];
    default:
      return ((const int64_t *)t->data)[i];
  }
}

static tfl_status binary_check_operand(tfl_context *ctx, const tfl_node *node,
                                       binary_check check, const tfl_tensor *b) {
  const size_t n = tfl_tensor_count(b);
  if (check == CHECK_DIVISOR && b->type == TFL_FLOAT32) {
    for (size_t i = 0; i < n; i++)
      if (((const float *)b->data)[i] == 0.0f)
        return tfl_context_error(ctx, node, "division by zero ('%s' element %zu)", b->name, i);
    return TFL_OK;
  }
  if (!is_integer(b->type)) return TFL_OK;
  for (size_t i = 0; i < n; i++) {
    const int64_t v = int_at(b, i);
    if (check == CHECK_EXPONENT && v < 0)
      return tfl_context_error(ctx, node, "negative integer exponent %lld ('%s' element %zu)",
                               (long long)v, b->name, i);
    if (check != CHECK_EXPONENT && v == 0)
      return tfl_context_error(ctx, node, "division by zero ('%s' element %zu)", b->name, i);
  }
  return TFL_OK;
}

static tfl_status binary_eval(tfl_context *ctx, tfl_node *node) {
  const binary_data *d = node->user_data;
  const tfl_tensor *a = tfl_node_input(ctx, node, 0);
  const tfl_tensor *b = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (d->check != CHECK_NONE) {
    tfl_status st = binary_check_operand(ctx, node, d->check, b);
    if (st != TFL_OK) return st;
  }
  const size_t size = tfl_type_size(a->type);
  tfl_broadcast_run_parallel(ctx, &d->plan, a->data, size, b->data, size, out->data, size,
                             d->fn, &d->params);
  return TFL_OK;
}

#define KERNELS_END {TFL_FLOAT32, NULL}

static const binary_kernel add_kernels[] = {{TFL_FLOAT32, add_f32}, {TFL_INT16, add_i16},
                                           {TFL_INT32, add_i32},   {TFL_INT64, add_i64},
                                           KERNELS_END};
static const binary_kernel sub_kernels[] = {
    {TFL_FLOAT32, sub_f32}, {TFL_INT32, sub_i32}, {TFL_INT64, sub_i64}, KERNELS_END};
static const binary_kernel mul_kernels[] = {{TFL_FLOAT32, mul_f32}, {TFL_INT16, mul_i16},
                                           {TFL_INT32, mul_i32},   {TFL_INT64, mul_i64},
                                           KERNELS_END};
static const binary_kernel div_kernels[] = {
    {TFL_FLOAT32, div_f32}, {TFL_INT32, div_i32}, KERNELS_END};
static const binary_kernel max_kernels[] = {
    {TFL_FLOAT32, max_f32}, {TFL_INT8, max_i8},   {TFL_UINT8, max_u8},
    {TFL_INT16, max_i16},   {TFL_INT32, max_i32}, {TFL_INT64, max_i64}, KERNELS_END};
static const binary_kernel min_kernels[] = {
    {TFL_FLOAT32, min_f32}, {TFL_INT8, min_i8},   {TFL_UINT8, min_u8},
    {TFL_INT16, min_i16},   {TFL_INT32, min_i32}, {TFL_INT64, min_i64}, KERNELS_END};
static const binary_kernel sqdiff_kernels[] = {
    {TFL_FLOAT32, sqdiff_f32}, {TFL_INT32, sqdiff_i32}, KERNELS_END};
static const binary_kernel floor_div_kernels[] = {{TFL_FLOAT32, floor_div_f32_run},
                                                  {TFL_INT8, floor_div_i8},
                                                  {TFL_INT16, floor_div_i16},
                                                  {TFL_INT32, floor_div_i32},
                                                  KERNELS_END};
static const binary_kernel floor_mod_kernels[] = {
    {TFL_FLOAT32, floor_mod_f32_run}, {TFL_INT8, floor_mod_i8},   {TFL_INT16, floor_mod_i16},
    {TFL_INT32, floor_mod_i32},       {TFL_INT64, floor_mod_i64}, KERNELS_END};
static const binary_kernel pow_kernels[] = {
    {TFL_FLOAT32, pow_f32}, {TFL_INT32, pow_i32_run}, KERNELS_END};

static const binary_op add_op = {TFL_OPTS_ADD, CHECK_NONE, 1, add_kernels, add_qprepare};
static const binary_op sub_op = {TFL_OPTS_SUB, CHECK_NONE, 1, sub_kernels, sub_qprepare};
static const binary_op mul_op = {TFL_OPTS_MUL, CHECK_NONE, 0, mul_kernels, mul_qprepare};
static const binary_op div_op = {TFL_OPTS_DIV, CHECK_INT_DIVISOR, 1, div_kernels, NULL};
static const binary_op max_op = {0, CHECK_NONE, 0, max_kernels, NULL};
static const binary_op min_op = {0, CHECK_NONE, 0, min_kernels, NULL};
static const binary_op sqdiff_op = {0, CHECK_NONE, 1, sqdiff_kernels, sqdiff_qprepare};
static const binary_op floor_div_op = {0, CHECK_DIVISOR, 0, floor_div_kernels, NULL};
static const binary_op floor_mod_op = {0, CHECK_INT_DIVISOR, 0, floor_mod_kernels, NULL};
static const binary_op pow_op = {0, CHECK_EXPONENT, 0, pow_kernels, NULL};

#define BINARY_REGISTRATION(var, op_name, code, desc, types_)                           \
  static const tfl_op_registration var = {.name = op_name,                              \
                                          .builtin_code = code,                         \
                                          .data_size = sizeof(binary_data),             \
                                          .prepare = binary_prepare,                    \
                                          .eval = binary_eval,                          \
                                          .op_user_data = (void *)&desc,                \
                                          .types = types_};

/* Each op's types: those of its kernels table plus those its qprepare takes (int16 goes to
 * ADD/SUB/MUL's qprepare only when quantized; SUB has no unquantized int16 kernel). */
#define F32_I32 (TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT32))
#define F32_I32_I64_QUANT (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT)

BINARY_REGISTRATION(reg_add, "ADD", TFL_OP_ADD, add_op, F32_I32_I64_QUANT)
BINARY_REGISTRATION(reg_sub, "SUB", TFL_OP_SUB, sub_op, F32_I32_I64_QUANT)
BINARY_REGISTRATION(reg_mul, "MUL", TFL_OP_MUL, mul_op, F32_I32_I64_QUANT)
BINARY_REGISTRATION(reg_div, "DIV", TFL_OP_DIV, div_op, F32_I32)
BINARY_REGISTRATION(reg_maximum, "MAXIMUM", TFL_OP_MAXIMUM, max_op, F32_I32_I64_QUANT)
BINARY_REGISTRATION(reg_minimum, "MINIMUM", TFL_OP_MINIMUM, min_op, F32_I32_I64_QUANT)
BINARY_REGISTRATION(reg_sqdiff, "SQUARED_DIFFERENCE", TFL_OP_SQUARED_DIFFERENCE, sqdiff_op,
                    F32_I32 | TFL_TYPE_BIT(TFL_INT8))
BINARY_REGISTRATION(reg_floor_div, "FLOOR_DIV", TFL_OP_FLOOR_DIV, floor_div_op,
                    F32_I32 | TFL_TYPE_BIT(TFL_INT8) | TFL_TYPE_BIT(TFL_INT16))
BINARY_REGISTRATION(reg_floor_mod, "FLOOR_MOD", TFL_OP_FLOOR_MOD, floor_mod_op,
                    TFL_TYPES_F32_I32_I64 | TFL_TYPE_BIT(TFL_INT8) | TFL_TYPE_BIT(TFL_INT16))
BINARY_REGISTRATION(reg_pow, "POW", TFL_OP_POW, pow_op, F32_I32)

const tfl_op_registration *const tfl_kernels_binary[] = {
    &reg_add,       &reg_sub,       &reg_mul,       &reg_div,       &reg_maximum,
    &reg_minimum,   &reg_sqdiff,    &reg_floor_div, &reg_floor_mod, &reg_pow,
    NULL};
