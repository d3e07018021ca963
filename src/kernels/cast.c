/* CAST between float32, int8, uint8, int16, uint16, int32, uint32, int64 and bool, by the
 * tensors' types (CastOptions only repeats them).
 *
 * Conversions follow TFLite 2.19's CastValue: float to integer truncates toward zero and
 * saturates at the target's range, NaN giving the target's maximum; integer to integer
 * keeps the low bits (two's complement wrap, like static_cast); anything to bool is
 * "not zero" (NaN is true); bool is 0 or 1. Quantization parameters are ignored, as in TFLite:
 * CAST moves raw values. */
#include <stdint.h>

#include "kernels/families.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* One element on its way through: a float value or an integer one. */
typedef struct cast_value {
  int is_float;
  double f; /* exact for every float32 */
  int64_t i;
} cast_value;

#define CAST_TYPES                                                                         \
  (TFL_TYPES_F32 | TFL_TYPES_QUANT | TFL_TYPE_BIT(TFL_UINT16) | TFL_TYPE_BIT(TFL_INT32) |  \
   TFL_TYPE_BIT(TFL_UINT32) | TFL_TYPE_BIT(TFL_INT64) | TFL_TYPE_BIT(TFL_BOOL))

static cast_value load(tfl_type t, const void *p, size_t i) {
  cast_value v = {0, 0.0, 0};
  switch (t) {
    case TFL_FLOAT32:
      v.is_float = 1;
      v.f = ((const float *)p)[i];
      break;
    case TFL_INT8:
      v.i = ((const int8_t *)p)[i];
      break;
    case TFL_UINT8:
      v.i = ((const uint8_t *)p)[i];
      break;
    case TFL_INT16:
      v.i = ((const int16_t *)p)[i];
      break;
    case TFL_UINT16:
      v.i = ((const uint16_t *)p)[i];
      break;
    case TFL_INT32:
      v.i = ((const int32_t *)p)[i];
      break;
    case TFL_UINT32:
      v.i = ((const uint32_t *)p)[i];
      break;
    case TFL_INT64:
      v.i = ((const int64_t *)p)[i];
      break;
    default: /* bool */
      v.i = ((const uint8_t *)p)[i] != 0;
      break;
  }
  return v;
}

/* Truncation toward zero saturated to [lo, hi]; hi_excl = hi + 1 as an exact double. */
static int64_t float_to_int(double f, int64_t lo, int64_t hi, double hi_excl) {
  if (f != f) return hi;
  if (f < (double)lo) return lo;
  if (f >= hi_excl) return hi;
  return (int64_t)f;
}

/* The integer that an integer target type stores for v (before narrowing). */
static int64_t int_for(tfl_type t, cast_value v) {
  if (!v.is_float) return v.i;
  switch (t) {
    case TFL_INT8:
      return float_to_int(v.f, INT8_MIN, INT8_MAX, 128.0);
    case TFL_UINT8:
      return float_to_int(v.f, 0, UINT8_MAX, 256.0);
    case TFL_INT16:
      return float_to_int(v.f, INT16_MIN, INT16_MAX, 32768.0);
    case TFL_UINT16:
      return float_to_int(v.f, 0, UINT16_MAX, 65536.0);
    case TFL_INT32:
      return float_to_int(v.f, INT32_MIN, INT32_MAX, 2147483648.0);
    case TFL_UINT32:
      return float_to_int(v.f, 0, UINT32_MAX, 4294967296.0);
    default:
      return float_to_int(v.f, INT64_MIN, INT64_MAX, 9223372036854775808.0);
  }
}

static void store(tfl_type t, void *p, size_t i, cast_value v) {
  if (t == TFL_FLOAT32) {
    ((float *)p)[i] = v.is_float ? (float)v.f : (float)v.i;
    return;
  }
  if (t == TFL_BOOL) {
    ((uint8_t *)p)[i] = v.is_float ? v.f != 0.0 : v.i != 0;
    return;
  }
  /* Narrowing through the unsigned type keeps the low bits. */
  const uint64_t bits = (uint64_t)int_for(t, v);
  switch (t) {
    case TFL_INT8:
      ((int8_t *)p)[i] = (int8_t)(uint8_t)bits;
      break;
    case TFL_UINT8:
      ((uint8_t *)p)[i] = (uint8_t)bits;
      break;
    case TFL_INT16:
      ((int16_t *)p)[i] = (int16_t)(uint16_t)bits;
      break;
    case TFL_UINT16:
      ((uint16_t *)p)[i] = (uint16_t)bits;
      break;
    case TFL_INT32:
      ((int32_t *)p)[i] = (int32_t)(uint32_t)bits;
      break;
    case TFL_UINT32:
      ((uint32_t *)p)[i] = (uint32_t)bits;
      break;
    default:
      ((int64_t *)p)[i] = (int64_t)bits;
      break;
  }
}

static tfl_status cast_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (!tfl_type_in(in->type, CAST_TYPES) || !tfl_type_in(out->type, CAST_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "casts %s to %s are not supported",
                            tfl_type_name(in->type), tfl_type_name(out->type));
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static tfl_status cast_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const size_t n = tfl_tensor_count(in);
  for (size_t i = 0; i < n; i++) store(out->type, out->data, i, load(in->type, in->data, i));
  return TFL_OK;
}

static const tfl_op_registration reg_cast = {.name = "CAST",
                                             .builtin_code = TFL_OP_CAST,
                                             .prepare = cast_prepare,
                                             .eval = cast_eval,
                                             .types = CAST_TYPES};

const tfl_op_registration *const tfl_kernels_cast[] = {&reg_cast, NULL};
