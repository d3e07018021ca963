/* ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, FLOOR_DIV, FLOOR_MOD and POW:
 * elementwise with broadcasting (broadcast.h), in float32 and the integer types TFLite's
 * builtin kernels accept for each op. Quantized int8/uint8/int16 arithmetic will sit beside
 * these; MAXIMUM and MINIMUM compare raw values, as TFLite does, so they take those types now.
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
#include "model/ops.h"
#include "runtime/kernel.h"

/* Clamp bounds of the fused activation; the float and integer ones are both filled. */
typedef struct binary_range {
  float lo, hi;
  int64_t ilo, ihi;
} binary_range;

/* std::min(std::max(v, lo), hi) as TFLite writes it: a NaN passes through. */
static float clamp_f32(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

static int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* SETUP for TFL_BCAST_FN_WITH: the bounds as locals `lo` and `hi`. */
#define RANGE_F32 \
  const float lo = ((const binary_range *)arg)->lo, hi = ((const binary_range *)arg)->hi
#define RANGE_I64 \
  const int64_t lo = ((const binary_range *)arg)->ilo, hi = ((const binary_range *)arg)->ihi
/* For int32 results, whose bounds always fit in int32. */
#define RANGE_I32                                              \
  const int32_t lo = (int32_t)((const binary_range *)arg)->ilo, \
                hi = (int32_t)((const binary_range *)arg)->ihi

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

/* One op: its options table if it has a fused activation (field 0), its checks and its
 * kernels per type (ended by a NULL fn). Reached from the registration's op_user_data. */
typedef struct binary_op {
  int act_options; /* TFL_OPTS_* with a fused activation in field 0, or 0 */
  binary_check check;
  const binary_kernel *kernels;
} binary_op;

typedef struct binary_data {
  tfl_bcast plan;
  tfl_bcast_fn fn;
  binary_check check;
  binary_range range;
} binary_data;

static int is_integer(tfl_type type) {
  return type == TFL_INT8 || type == TFL_UINT8 || type == TFL_INT16 || type == TFL_INT32 ||
         type == TFL_INT64;
}

static void int_type_range(tfl_type type, int64_t *lo, int64_t *hi) {
  *lo = type == TFL_INT32 ? INT32_MIN : INT64_MIN;
  *hi = type == TFL_INT32 ? INT32_MAX : INT64_MAX;
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
                                         const binary_op *op, tfl_type type, binary_range *r) {
  int act = TFL_ACT_NONE;
  if (op->act_options) {
    int opt_type = tfl_opt_type(node);
    if (opt_type != TFL_OPTS_NONE && opt_type != op->act_options)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "builtin options have union type %d, expected %d", opt_type,
                              op->act_options);
    act = tfl_opt_int(node, 0, TFL_ACT_NONE);
    tfl_status st = tfl_check_activation(ctx, node, act);
    if (st != TFL_OK) return st;
  }
  activation_range(act, type, r);
  return TFL_OK;
}

static tfl_bcast_fn binary_find_kernel(const binary_op *op, tfl_type type) {
  for (const binary_kernel *k = op->kernels; k->fn; k++)
    if (k->type == type) return k->fn;
  return NULL;
}

static tfl_status binary_prepare(tfl_context *ctx, tfl_node *node) {
  const binary_op *op = node->registration->op_user_data;
  binary_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *a = tfl_node_input(ctx, node, 0);
  const tfl_tensor *b = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (a->type != b->type)
    return tfl_context_error(ctx, node, "inputs '%s' (%s) and '%s' (%s) have different types",
                             a->name, tfl_type_name(a->type), b->name, tfl_type_name(b->type));
  st = tfl_check_type(ctx, node, out, "output", a->type);
  if (st != TFL_OK) return st;
  d->fn = binary_find_kernel(op, a->type);
  if (!d->fn) {
    const char *what = is_integer(a->type) && a->quant.count ? "quantized " : "";
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s%s inputs are not supported", what,
                            tfl_type_name(a->type));
  }
  d->check = op->check;
  st = binary_read_activation(ctx, node, op, a->type, &d->range);
  if (st != TFL_OK) return st;

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
  tfl_broadcast_run(&d->plan, a->data, size, b->data, size, out->data, size, d->fn, &d->range);
  return TFL_OK;
}

#define KERNELS_END {TFL_FLOAT32, NULL}

static const binary_kernel add_kernels[] = {
    {TFL_FLOAT32, add_f32}, {TFL_INT32, add_i32}, {TFL_INT64, add_i64}, KERNELS_END};
static const binary_kernel sub_kernels[] = {
    {TFL_FLOAT32, sub_f32}, {TFL_INT32, sub_i32}, {TFL_INT64, sub_i64}, KERNELS_END};
static const binary_kernel mul_kernels[] = {
    {TFL_FLOAT32, mul_f32}, {TFL_INT32, mul_i32}, {TFL_INT64, mul_i64}, KERNELS_END};
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

static const binary_op add_op = {TFL_OPTS_ADD, CHECK_NONE, add_kernels};
static const binary_op sub_op = {TFL_OPTS_SUB, CHECK_NONE, sub_kernels};
static const binary_op mul_op = {TFL_OPTS_MUL, CHECK_NONE, mul_kernels};
static const binary_op div_op = {TFL_OPTS_DIV, CHECK_INT_DIVISOR, div_kernels};
static const binary_op max_op = {0, CHECK_NONE, max_kernels};
static const binary_op min_op = {0, CHECK_NONE, min_kernels};
static const binary_op sqdiff_op = {0, CHECK_NONE, sqdiff_kernels};
static const binary_op floor_div_op = {0, CHECK_DIVISOR, floor_div_kernels};
static const binary_op floor_mod_op = {0, CHECK_INT_DIVISOR, floor_mod_kernels};
static const binary_op pow_op = {0, CHECK_EXPONENT, pow_kernels};

#define BINARY_REGISTRATION(var, op_name, code, desc)                                   \
  static const tfl_op_registration var = {.name = op_name,                              \
                                          .builtin_code = code,                         \
                                          .data_size = sizeof(binary_data),             \
                                          .prepare = binary_prepare,                    \
                                          .eval = binary_eval,                          \
                                          .op_user_data = (void *)&desc};

BINARY_REGISTRATION(reg_add, "ADD", TFL_OP_ADD, add_op)
BINARY_REGISTRATION(reg_sub, "SUB", TFL_OP_SUB, sub_op)
BINARY_REGISTRATION(reg_mul, "MUL", TFL_OP_MUL, mul_op)
BINARY_REGISTRATION(reg_div, "DIV", TFL_OP_DIV, div_op)
BINARY_REGISTRATION(reg_maximum, "MAXIMUM", TFL_OP_MAXIMUM, max_op)
BINARY_REGISTRATION(reg_minimum, "MINIMUM", TFL_OP_MINIMUM, min_op)
BINARY_REGISTRATION(reg_sqdiff, "SQUARED_DIFFERENCE", TFL_OP_SQUARED_DIFFERENCE, sqdiff_op)
BINARY_REGISTRATION(reg_floor_div, "FLOOR_DIV", TFL_OP_FLOOR_DIV, floor_div_op)
BINARY_REGISTRATION(reg_floor_mod, "FLOOR_MOD", TFL_OP_FLOOR_MOD, floor_mod_op)
BINARY_REGISTRATION(reg_pow, "POW", TFL_OP_POW, pow_op)

const tfl_op_registration *const tfl_kernels_binary[] = {
    &reg_add,       &reg_sub,       &reg_mul,       &reg_div,       &reg_maximum,
    &reg_minimum,   &reg_sqdiff,    &reg_floor_div, &reg_floor_mod, &reg_pow,
    NULL};
