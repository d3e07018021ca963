/* Comparisons and boolean selection: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER,
 * GREATER_EQUAL, LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT, SELECT, SELECT_V2 and WHERE.
 *
 * TFLite semantics kept here:
 * - comparisons broadcast (broadcast.h) and write bool. GREATER(a, b) is LESS(b, a) and
 *   GREATER_EQUAL(a, b) is LESS_EQUAL(b, a), as in TFLite, so both accept what LESS and
 *   LESS_EQUAL accept: float32, float16, int16, int32, int64, uint8, int8 (bfloat16 too for
 *   LESS/GREATER; bool only for EQUAL/NOT_EQUAL). Half-precision values compare exactly as
 *   their float values would (NaN unordered, -0 == +0).
 * - uint8/int8 inputs, and int16 inputs with quantization in EQUAL/NOT_EQUAL, are compared after
 *   rescaling both sides to a common fixed-point scale as ComparisonWithScaling does:
 *   ((q - zero_point) << 8) times the scale as a quantized multiplier (quant.h), so inputs
 *   with different scales compare by their real values, at TFLite's precision. TFLite aborts
 *   for scales outside (0, 1); here a scale >= 1 takes the same formula with a left shift
 *   (up to 2^32), uint8/int8 inputs without any quantization compare raw, and anything else
 *   (one side quantized, per-channel, zero scale, zero point outside the type) is an error.
 *   int16 in the ordered comparisons compares raw, quantized or not, as in TFLite.
 * - EQUAL and NOT_EQUAL also compare strings (byte for byte, broadcasting), as in TFLite.
 * - SELECT takes a condition of the inputs' shape, a scalar, or a vector matching their first
 *   dimension; SELECT_V2 broadcasts all three operands. Any fixed-size element type is moved
 *   as is (no requantization). When every operand and the model's output hold one element, the
 *   output keeps the model's shape, as TFLite's does.
 * - WHERE writes the int64 coordinates [n_true, rank] of the nonzero elements of a bool,
 *   float32, int8, uint8, int32, uint32 or int64 condition, in row-major order. A constant
 *   condition gives the shape in prepare; otherwise the output is dynamic. A scalar
 *   condition fails in eval, as in TFLite. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/broadcast.h"
#include "kernels/families.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

/* --- comparisons and binary logical ops ------------------------------------------------- */

typedef enum cmp_kind { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_AND, CMP_OR, CMP_KINDS } cmp_kind;

/* One side of a quantized comparison: the real value times 2^8 in TFLite's fixed point is
 * SRDHM((q + offset) << 8, multiplier) shifted by `shift`. */
typedef struct cmp_rescale {
  int32_t offset; /* -zero_point */
  int32_t multiplier;
  int shift;
} cmp_rescale;

typedef struct cmp_params {
  cmp_rescale a, b; /* in the order the operands are passed to the kernel */
} cmp_params;

static int64_t cmp_rescaled(int32_t q, const cmp_rescale *r) {
  /* |q + offset| < 2^17 (the zero point is checked against the type's range): no overflow. */
  const int32_t high = tfl_srdhm((q + r->offset) * 256, r->multiplier);
  if (r->shift <= 0) return tfl_rdbpot(high, -r->shift);
  return (int64_t)high * ((int64_t)1 << r->shift);
}

/* Half-precision floats compared through their bits: `inf` is the infinity pattern of the
 * format (0x7c00 for float16, 0x7f80 for bfloat16); a larger magnitude is a NaN. The key
 * orders the non-NaN values like their real values and maps -0 and +0 to 0. */
#define F16_INF 0x7c00u
#define BF16_INF 0x7f80u

static int h16_is_nan(uint16_t v, unsigned inf) { return (v & 0x7fffu) > inf; }

static int32_t h16_key(uint16_t v) {
  return (v & 0x8000u) ? -(int32_t)(v & 0x7fffu) : (int32_t)v;
}

static int h16_compare(uint16_t x, uint16_t y, unsigned inf, cmp_kind kind) {
  if (h16_is_nan(x, inf) || h16_is_nan(y, inf)) return kind == CMP_NE;
  const int32_t kx = h16_key(x), ky = h16_key(y);
  switch (kind) {
    case CMP_EQ: return kx == ky;
    case CMP_NE: return kx != ky;
    case CMP_LT: return kx < ky;
    default: return kx <= ky;
  }
}

#define CMP_RAW_FNS(sfx, T)                          \
  TFL_BCAST_FN(eq_##sfx, T, uint8_t, x == y)         \
  TFL_BCAST_FN(ne_##sfx, T, uint8_t, x != y)         \
  TFL_BCAST_FN(lt_##sfx, T, uint8_t, x < y)          \
  TFL_BCAST_FN(le_##sfx, T, uint8_t, x <= y)

CMP_RAW_FNS(f32, float)
CMP_RAW_FNS(i8, int8_t)
CMP_RAW_FNS(u8, uint8_t)
CMP_RAW_FNS(i16, int16_t)
CMP_RAW_FNS(i32, int32_t)
CMP_RAW_FNS(i64, int64_t)

/* SETUP for the quantized kernels: the two rescales as locals. */
#define CMP_Q_SETUP const cmp_params p = *(const cmp_params *)arg

#define CMP_SCALED_FNS(sfx, T)                                                                 \
  TFL_BCAST_FN_WITH(eq_q_##sfx, T, uint8_t, CMP_Q_SETUP,                                     \
                    cmp_rescaled(x, &p.a) == cmp_rescaled(y, &p.b))                          \
  TFL_BCAST_FN_WITH(ne_q_##sfx, T, uint8_t, CMP_Q_SETUP,                                     \
                    cmp_rescaled(x, &p.a) != cmp_rescaled(y, &p.b))                          \
  TFL_BCAST_FN_WITH(lt_q_##sfx, T, uint8_t, CMP_Q_SETUP,                                     \
                    cmp_rescaled(x, &p.a) < cmp_rescaled(y, &p.b))                           \
  TFL_BCAST_FN_WITH(le_q_##sfx, T, uint8_t, CMP_Q_SETUP,                                     \
                    cmp_rescaled(x, &p.a) <= cmp_rescaled(y, &p.b))

CMP_SCALED_FNS(i8, int8_t)
CMP_SCALED_FNS(u8, uint8_t)
TFL_BCAST_FN_WITH(eq_q_i16, int16_t, uint8_t, CMP_Q_SETUP,
                  cmp_rescaled(x, &p.a) == cmp_rescaled(y, &p.b))
TFL_BCAST_FN_WITH(ne_q_i16, int16_t, uint8_t, CMP_Q_SETUP,
                  cmp_rescaled(x, &p.a) != cmp_rescaled(y, &p.b))

TFL_BCAST_FN(eq_f16, uint16_t, uint8_t, h16_compare(x, y, F16_INF, CMP_EQ))
TFL_BCAST_FN(ne_f16, uint16_t, uint8_t, h16_compare(x, y, F16_INF, CMP_NE))
TFL_BCAST_FN(lt_f16, uint16_t, uint8_t, h16_compare(x, y, F16_INF, CMP_LT))
TFL_BCAST_FN(le_f16, uint16_t, uint8_t, h16_compare(x, y, F16_INF, CMP_LE))
TFL_BCAST_FN(lt_bf16, uint16_t, uint8_t, h16_compare(x, y, BF16_INF, CMP_LT))

/* Bools are bytes; any nonzero byte counts as true. */
TFL_BCAST_FN(eq_bool, uint8_t, uint8_t, (x != 0) == (y != 0))
TFL_BCAST_FN(ne_bool, uint8_t, uint8_t, (x != 0) != (y != 0))
TFL_BCAST_FN(and_bool, uint8_t, uint8_t, x != 0 && y != 0)
TFL_BCAST_FN(or_bool, uint8_t, uint8_t, x != 0 || y != 0)

/* The kernels of one input type, by cmp_kind (NULL where the op does not take the type).
 * `scaled` rows are the quantized variants. */
typedef struct cmp_kernel {
  tfl_type type;
  int scaled;
  tfl_bcast_fn fn[CMP_KINDS];
} cmp_kernel;

#define CMP_ORDERED(sfx) {eq_##sfx, ne_##sfx, lt_##sfx, le_##sfx, NULL, NULL}

static const cmp_kernel cmp_kernels[] = {
    {TFL_BOOL, 0, {eq_bool, ne_bool, NULL, NULL, and_bool, or_bool}},
    {TFL_FLOAT32, 0, CMP_ORDERED(f32)},
    {TFL_FLOAT16, 0, CMP_ORDERED(f16)},
    {TFL_BFLOAT16, 0, {NULL, NULL, lt_bf16, NULL, NULL, NULL}},
    {TFL_INT8, 0, CMP_ORDERED(i8)},
    {TFL_INT8, 1, CMP_ORDERED(q_i8)},
    {TFL_UINT8, 0, CMP_ORDERED(u8)},
    {TFL_UINT8, 1, CMP_ORDERED(q_u8)},
    {TFL_INT16, 0, CMP_ORDERED(i16)},
    {TFL_INT16, 1, {eq_q_i16, ne_q_i16, NULL, NULL, NULL, NULL}},
    {TFL_INT32, 0, CMP_ORDERED(i32)},
    {TFL_INT64, 0, CMP_ORDERED(i64)},
};

/* An op: which kernel, and whether the operands are swapped (GREATER is LESS reversed). */
typedef struct cmp_op {
  cmp_kind kind;
  int swap;
} cmp_op;

typedef struct cmp_data {
  tfl_bcast plan;
  tfl_bcast_fn fn; /* NULL for strings */
  int swap;
  cmp_kind kind;
  cmp_params params;
} cmp_data;

/* Whether TFLite compares this type after rescaling: always for uint8/int8 (here: when
 * either side has quantization), for int16 only in EQUAL/NOT_EQUAL with quantization. */
static int cmp_is_scaled(cmp_kind kind, const tfl_tensor *a, const tfl_tensor *b) {
  const int quantized = a->quant.count > 0 || b->quant.count > 0;
  if (a->type == TFL_INT8 || a->type == TFL_UINT8) return quantized;
  if (a->type == TFL_INT16) return quantized && (kind == CMP_EQ || kind == CMP_NE);
  return 0;
}

static tfl_bcast_fn cmp_find_kernel(tfl_type type, int scaled, cmp_kind kind) {
  for (size_t i = 0; i < sizeof(cmp_kernels) / sizeof(cmp_kernels[0]); i++)
    if (cmp_kernels[i].type == type && cmp_kernels[i].scaled == scaled)
      return cmp_kernels[i].fn[kind];
  return NULL;
}

static tfl_status cmp_rescale_for(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                  cmp_rescale *r) {
  float scale;
  int32_t zp, lo, hi;
  tfl_quant_params(t, &scale, &zp);
  tfl_quantized_type_range(t->type, &lo, &hi);
  if (!(scale > 0.0f) || !isfinite(scale))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "'%s' needs one positive per-tensor scale to be compared", t->name);
  if (zp < lo || zp > hi)
    return tfl_context_error(ctx, node, "zero point %d of '%s' is outside the range of %s",
                             (int)zp, t->name, tfl_type_name(t->type));
  tfl_quantize_multiplier(scale, &r->multiplier, &r->shift);
  if (r->shift > 32)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "scale %g of '%s' is too large",
                            (double)scale, t->name);
  r->offset = -zp;
  return TFL_OK;
}

static tfl_status cmp_prepare(tfl_context *ctx, tfl_node *node) {
  const cmp_op *op = node->registration->op_user_data;
  cmp_data *d = node->user_data;
  const tfl_tensor *a, *b;
  tfl_tensor *out;
  tfl_status st = tfl_broadcast_operands(ctx, node, &a, &b, &out);
  if (st != TFL_OK) return st;
  const int scaled = cmp_is_scaled(op->kind, a, b);
  const int strings = a->type == TFL_STRING && (op->kind == CMP_EQ || op->kind == CMP_NE);
  d->fn = strings ? NULL : cmp_find_kernel(a->type, scaled, op->kind);
  d->kind = op->kind;
  if (!d->fn && !strings)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s inputs are not supported",
                            tfl_type_name(a->type));
  if (scaled) {
    st = cmp_rescale_for(ctx, node, a, op->swap ? &d->params.b : &d->params.a);
    if (st == TFL_OK) st = cmp_rescale_for(ctx, node, b, op->swap ? &d->params.a : &d->params.b);
    if (st != TFL_OK) return st;
  }
  st = tfl_context_set_type(ctx, out, TFL_BOOL);
  if (st != TFL_OK) return st;
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  st = tfl_broadcast_shape(ctx, node, a, b, &ndim, dims);
  if (st != TFL_OK) return st;
  d->swap = op->swap;
  if (op->swap) tfl_broadcast_plan(b, a, &d->plan);
  else tfl_broadcast_plan(a, b, &d->plan);
  return tfl_context_resize(ctx, out, ndim, dims);
}

static int same_string(tfl_string x, tfl_string y) {
  return x.size == y.size && (x.size == 0 || memcmp(x.data, y.data, x.size) == 0);
}

/* EQUAL / NOT_EQUAL on strings: output element j compares the operands' elements at the
 * broadcast plan's coordinates of j. */
static tfl_status cmp_eval_strings(tfl_context *ctx, const tfl_node *node, const cmp_data *d,
                                   const tfl_tensor *a, const tfl_tensor *b, tfl_tensor *out) {
  tfl_status st = tfl_check_strings(ctx, node, a);
  if (st == TFL_OK) st = tfl_check_strings(ctx, node, b);
  if (st != TFL_OK) return st;
  const tfl_bcast *p = &d->plan;
  uint8_t *o = out->data;
  for (size_t j = 0; j < p->count; j++) {
    size_t rest = j, ia = 0, ib = 0;
    for (int k = p->ndim - 1; k >= 0; k--) {
      const size_t i = rest % p->dims[k];
      rest /= p->dims[k];
      ia += i * p->a_stride[k];
      ib += i * p->b_stride[k];
    }
    const int same = same_string(tfl_string_at(a, ia), tfl_string_at(b, ib));
    o[j] = (uint8_t)(same == (d->kind == CMP_EQ));
  }
  return TFL_OK;
}

static tfl_status cmp_eval(tfl_context *ctx, tfl_node *node) {
  const cmp_data *d = node->user_data;
  const tfl_tensor *a = tfl_node_input(ctx, node, d->swap ? 1 : 0);
  const tfl_tensor *b = tfl_node_input(ctx, node, d->swap ? 0 : 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (!d->fn) return cmp_eval_strings(ctx, node, d, a, b, out);
  const size_t size = tfl_type_size(a->type);
  tfl_broadcast_run_parallel(ctx, &d->plan, a->data, size, b->data, size, out->data, 1, d->fn,
                             &d->params);
  return TFL_OK;
}

static const cmp_op equal_op = {CMP_EQ, 0};
static const cmp_op not_equal_op = {CMP_NE, 0};
static const cmp_op less_op = {CMP_LT, 0};
static const cmp_op less_equal_op = {CMP_LE, 0};
static const cmp_op greater_op = {CMP_LT, 1};
static const cmp_op greater_equal_op = {CMP_LE, 1};
static const cmp_op logical_and_op = {CMP_AND, 0};
static const cmp_op logical_or_op = {CMP_OR, 0};

#define CMP_REGISTRATION(var, op_name, code, desc, types_)                             \
  static const tfl_op_registration var = {.name = op_name,                             \
                                          .builtin_code = code,                        \
                                          .data_size = sizeof(cmp_data),               \
                                          .prepare = cmp_prepare,                      \
                                          .eval = cmp_eval,                            \
                                          .op_user_data = (void *)&desc,               \
                                          .types = types_};

/* The input types with a kernel in cmp_kernels for each kind. */
#define CMP_ORDERED_TYPES                                                                \
  (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT | TFL_TYPE_BIT(TFL_FLOAT16))
#define CMP_BOOL_TYPES TFL_TYPE_BIT(TFL_BOOL)

#define CMP_EQUALITY_TYPES (CMP_ORDERED_TYPES | CMP_BOOL_TYPES | TFL_TYPE_BIT(TFL_STRING))

CMP_REGISTRATION(reg_equal, "EQUAL", TFL_OP_EQUAL, equal_op, CMP_EQUALITY_TYPES)
CMP_REGISTRATION(reg_not_equal, "NOT_EQUAL", TFL_OP_NOT_EQUAL, not_equal_op, CMP_EQUALITY_TYPES)
CMP_REGISTRATION(reg_less, "LESS", TFL_OP_LESS, less_op,
                 CMP_ORDERED_TYPES | TFL_TYPE_BIT(TFL_BFLOAT16))
CMP_REGISTRATION(reg_less_equal, "LESS_EQUAL", TFL_OP_LESS_EQUAL, less_equal_op,
                 CMP_ORDERED_TYPES)
CMP_REGISTRATION(reg_greater, "GREATER", TFL_OP_GREATER, greater_op,
                 CMP_ORDERED_TYPES | TFL_TYPE_BIT(TFL_BFLOAT16))
CMP_REGISTRATION(reg_greater_equal, "GREATER_EQUAL", TFL_OP_GREATER_EQUAL, greater_equal_op,
                 CMP_ORDERED_TYPES)
CMP_REGISTRATION(reg_logical_and, "LOGICAL_AND", TFL_OP_LOGICAL_AND, logical_and_op,
                 CMP_BOOL_TYPES)
CMP_REGISTRATION(reg_logical_or, "LOGICAL_OR", TFL_OP_LOGICAL_OR, logical_or_op,
                 CMP_BOOL_TYPES)

/* --- LOGICAL_NOT ------------------------------------------------------------------------ */

static tfl_status logical_not_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_type(ctx, node, in, "input", TFL_BOOL);
  if (st == TFL_OK) st = tfl_context_set_type(ctx, out, TFL_BOOL);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static tfl_status logical_not_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const uint8_t *x = in->data;
  uint8_t *y = tfl_node_output(ctx, node, 0)->data;
  const size_t n = tfl_tensor_count(in);
  for (size_t i = 0; i < n; i++) y[i] = x[i] == 0;
  return TFL_OK;
}

static const tfl_op_registration reg_logical_not = {.name = "LOGICAL_NOT",
                                                    .builtin_code = TFL_OP_LOGICAL_NOT,
                                                    .prepare = logical_not_prepare,
                                                    .eval = logical_not_eval,
                                                    .types = CMP_BOOL_TYPES};

/* --- SELECT, SELECT_V2 ------------------------------------------------------------------ */

enum { SEL_COND, SEL_X, SEL_Y, SEL_OPERANDS };

/* The output walked as nested loops; every operand has an element stride per dimension (0
 * where it repeats), so broadcasting, a leading-dimension condition and a scalar condition
 * are all the same walk. */
typedef struct select_data {
  int ndim; /* at least 1 */
  size_t dims[TFL_MAX_DIMS];
  size_t stride[SEL_OPERANDS][TFL_MAX_DIMS];
  size_t count;
} select_data;

/* Contiguous element strides of t's dimensions aligned to the right of an n-D output, 0 for
 * the dimensions t lacks or broadcasts. */
static void select_strides_right(const tfl_tensor *t, int n, const int32_t *out_dims,
                                 size_t *stride) {
  size_t inner = 1;
  for (int i = n - 1; i >= 0; i--) {
    const int k = i - (n - t->ndim);
    const int32_t dim = k < 0 ? 1 : t->dims[k];
    stride[i] = (dim == 1 && out_dims[i] != 1) || k < 0 ? 0 : inner;
    inner *= (size_t)dim;
  }
}

/* The three-way broadcast shape (TFLite's CalculateShapeForBroadcast for three inputs). */
static tfl_status select_broadcast_shape(tfl_context *ctx, const tfl_node *node,
                                         const tfl_tensor *const *t, int *ndim, int32_t *dims) {
  int n = 0;
  for (int k = 0; k < SEL_OPERANDS; k++) n = t[k]->ndim > n ? t[k]->ndim : n;
  for (int i = 0; i < n; i++) {
    int32_t d = 1;
    for (int k = 0; k < SEL_OPERANDS; k++) {
      const int j = i - (n - t[k]->ndim);
      const int32_t s = j < 0 ? 1 : t[k]->dims[j];
      if (s == 1) continue;
      if (d != 1 && d != s)
        return tfl_context_error(ctx, node,
                                 "condition '%s', x '%s' and y '%s' are not broadcastable "
                                 "(dimension %d)", t[0]->name, t[1]->name, t[2]->name, i);
      d = s;
    }
    dims[i] = d;
  }
  *ndim = n;
  return TFL_OK;
}

/* SELECT (v1) without equal shapes: a scalar condition, or a vector along x's first dimension. */
static tfl_status select_v1_shape(tfl_context *ctx, const tfl_node *node,
                                  const tfl_tensor *const *t, select_data *d) {
  const tfl_tensor *c = t[SEL_COND], *x = t[SEL_X];
  const int rank_one = c->ndim == 1 && x->ndim >= 1 && c->dims[0] == x->dims[0];
  if (c->ndim != 0 && !rank_one)
    return tfl_context_error(ctx, node, "condition '%s' must be a scalar, match x '%s' or be a "
                             "vector over its first dimension", c->name, x->name);
  if (!tfl_same_shape(x, t[SEL_Y]))
    return tfl_context_error(ctx, node, "x '%s' and y '%s' have different shapes", x->name,
                             t[SEL_Y]->name);
  for (int i = 0; i < x->ndim; i++) d->stride[SEL_COND][i] = 0;
  if (rank_one) d->stride[SEL_COND][0] = 1;
  return TFL_OK;
}

/* The output shape and every operand's strides, for SELECT (broadcast 0) or SELECT_V2. */
static tfl_status select_plan(tfl_context *ctx, const tfl_node *node, const tfl_tensor *const *t,
                              const tfl_tensor *out, int broadcast, select_data *d, int *ndim,
                              int32_t *dims) {
  const tfl_tensor *x = t[SEL_X];
  memset(d, 0, sizeof(*d));
  if (tfl_tensor_count(t[SEL_COND]) == 1 && tfl_tensor_count(x) == 1 &&
      tfl_tensor_count(t[SEL_Y]) == 1 && tfl_tensor_count(out) == 1) {
    *ndim = out->ndim; /* all strides 0: one element, in the model's output shape */
    memcpy(dims, out->dims, sizeof(out->dims));
    return TFL_OK;
  }
  const int same = tfl_same_shape(t[SEL_COND], x) && tfl_same_shape(x, t[SEL_Y]);
  *ndim = x->ndim;
  memcpy(dims, x->dims, sizeof(x->dims));
  if (!same && broadcast) {
    tfl_status st = select_broadcast_shape(ctx, node, t, ndim, dims);
    if (st != TFL_OK) return st;
  }
  for (int k = 0; k < SEL_OPERANDS; k++) select_strides_right(t[k], *ndim, dims, d->stride[k]);
  if (same || broadcast) return TFL_OK;
  return select_v1_shape(ctx, node, t, d);
}

static tfl_status select_prepare_kind(tfl_context *ctx, tfl_node *node, int broadcast) {
  select_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 3, 3, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *t[SEL_OPERANDS];
  for (int k = 0; k < SEL_OPERANDS; k++) t[k] = tfl_node_input(ctx, node, k);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_type(ctx, node, t[SEL_COND], "condition", TFL_BOOL);
  if (st == TFL_OK) st = tfl_check_fixed_size(ctx, node, t[SEL_X], "x");
  if (st == TFL_OK && tfl_type_size(t[SEL_X]->type) > 8)
    st = tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s values are not supported",
                          tfl_type_name(t[SEL_X]->type));
  if (st == TFL_OK) st = tfl_check_type(ctx, node, t[SEL_Y], "y", t[SEL_X]->type);
  if (st == TFL_OK) st = tfl_context_set_type(ctx, out, t[SEL_X]->type);
  if (st != TFL_OK) return st;
  int ndim = 0;
  int32_t dims[TFL_MAX_DIMS];
  st = select_plan(ctx, node, t, out, broadcast, d, &ndim, dims);
  if (st != TFL_OK) return st;
  /* A scalar output is walked as one run of one element. */
  d->ndim = ndim > 0 ? ndim : 1;
  d->count = 1;
  for (int i = 0; i < d->ndim; i++) {
    d->dims[i] = ndim > 0 ? (size_t)dims[i] : 1;
    d->count *= d->dims[i];
  }
  return tfl_context_resize(ctx, out, ndim, dims);
}

static tfl_status select_prepare(tfl_context *ctx, tfl_node *node) {
  return select_prepare_kind(ctx, node, 0);
}

static tfl_status select_v2_prepare(tfl_context *ctx, tfl_node *node) {
  return select_prepare_kind(ctx, node, 1);
}

/* tfl_check_fixed_size's types less those select_run_for has no run for (16-byte
 * complex128, which eval rejects). */
#define SELECT_TYPES (TFL_TYPES_FIXED_SIZE & ~TFL_TYPE_BIT(TFL_COMPLEX128))

/* One innermost run of n elements with the given element strides. */
typedef void (*select_run_fn)(const uint8_t *c, size_t sc, const void *x, size_t sx,
                              const void *y, size_t sy, void *out, size_t n);

#define SELECT_RUN(name, T)                                                                 \
  static void name(const uint8_t *c, size_t sc, const void *x_, size_t sx, const void *y_, \
                   size_t sy, void *out_, size_t n) {                                      \
    const T *x = x_, *y = y_;                                                              \
    T *out = out_;                                                                         \
    for (size_t i = 0; i < n; i++) out[i] = c[i * sc] ? x[i * sx] : y[i * sy];             \
  }

SELECT_RUN(select_run8, uint8_t)
SELECT_RUN(select_run16, uint16_t)
SELECT_RUN(select_run32, uint32_t)
SELECT_RUN(select_run64, uint64_t)

static select_run_fn select_run_for(size_t elem) {
  switch (elem) {
    case 1: return select_run8;
    case 2: return select_run16;
    case 4: return select_run32;
    case 8: return select_run64;
    default: return NULL;
  }
}

static tfl_status select_eval(tfl_context *ctx, tfl_node *node) {
  const select_data *d = node->user_data;
  const tfl_tensor *c = tfl_node_input(ctx, node, SEL_COND);
  const tfl_tensor *x = tfl_node_input(ctx, node, SEL_X);
  const tfl_tensor *y = tfl_node_input(ctx, node, SEL_Y);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const size_t elem = tfl_type_size(x->type);
  const select_run_fn run = select_run_for(elem);
  if (!run)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "elements of %zu bytes are not supported",
                            elem);
  if (d->count == 0) return TFL_OK;
  const int last = d->ndim - 1;
  const size_t n = d->dims[last];
  size_t idx[TFL_MAX_DIMS] = {0}, off[SEL_OPERANDS] = {0};
  uint8_t *dst = out->data;
  for (;;) {
    run((const uint8_t *)c->data + off[SEL_COND], d->stride[SEL_COND][last],
        (const uint8_t *)x->data + off[SEL_X] * elem, d->stride[SEL_X][last],
        (const uint8_t *)y->data + off[SEL_Y] * elem, d->stride[SEL_Y][last], dst, n);
    dst += n * elem;
    int k = last - 1;
    for (; k >= 0; k--) {
      for (int s = 0; s < SEL_OPERANDS; s++) off[s] += d->stride[s][k];
      if (++idx[k] < d->dims[k]) break;
      for (int s = 0; s < SEL_OPERANDS; s++) off[s] -= d->stride[s][k] * d->dims[k];
      idx[k] = 0;
    }
    if (k < 0) return TFL_OK;
  }
}

static const tfl_op_registration reg_select = {.name = "SELECT",
                                               .builtin_code = TFL_OP_SELECT,
                                               .data_size = sizeof(select_data),
                                               .prepare = select_prepare,
                                               .eval = select_eval,
                                               .types = SELECT_TYPES};

static const tfl_op_registration reg_select_v2 = {.name = "SELECT_V2",
                                                  .builtin_code = TFL_OP_SELECT_V2,
                                                  .data_size = sizeof(select_data),
                                                  .prepare = select_v2_prepare,
                                                  .eval = select_eval,
                                                  .types = SELECT_TYPES};

/* --- WHERE ------------------------------------------------------------------------------ */

typedef struct where_data {
  int at_eval; /* the output shape waits for the condition's values */
} where_data;

#define WHERE_TYPES                                                                       \
  (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT8 | TFL_TYPE_BIT(TFL_BOOL) | TFL_TYPE_BIT(TFL_UINT32))

/* Element i of the condition is nonzero (a float NaN counts as true, -0 as false). */
static int where_is_true(const tfl_tensor *t, size_t i) {
  switch (t->type) {
    case TFL_FLOAT32: return ((const float *)t->data)[i] != 0.0f;
    case TFL_INT32:
    case TFL_UINT32: return ((const uint32_t *)t->data)[i] != 0;
    case TFL_INT64: return ((const int64_t *)t->data)[i] != 0;
    default: return ((const uint8_t *)t->data)[i] != 0;
  }
}

static tfl_status where_resize(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *cond = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const size_t n = tfl_tensor_count(cond);
  size_t n_true = 0;
  for (size_t i = 0; i < n; i++) n_true += (size_t)where_is_true(cond, i);
  if (n_true > INT32_MAX) return tfl_context_error(ctx, node, "too many true elements");
  const int32_t dims[2] = {(int32_t)n_true, cond->ndim};
  if (at_eval) return tfl_context_resize_dynamic(ctx, out, 2, dims);
  return tfl_context_resize(ctx, out, 2, dims);
}

static tfl_status where_prepare(tfl_context *ctx, tfl_node *node) {
  where_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *cond = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (!tfl_type_in(cond->type, WHERE_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "condition '%s' has unsupported type %s",
                            cond->name, tfl_type_name(cond->type));
  st = tfl_context_set_type(ctx, out, TFL_INT64);
  if (st != TFL_OK) return st;
  d->at_eval = !tfl_tensor_is_constant(cond);
  if (d->at_eval) return tfl_context_set_dynamic(ctx, out);
  return where_resize(ctx, node, 0);
}

static tfl_status where_eval(tfl_context *ctx, tfl_node *node) {
  const where_data *d = node->user_data;
  const tfl_tensor *cond = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (d->at_eval) {
    tfl_status st = where_resize(ctx, node, 1);
    if (st != TFL_OK) return st;
  }
  if (cond->ndim == 0) return tfl_context_error(ctx, node, "condition must have rank > 0");
  int64_t *coords = out->data;
  const size_t n = tfl_tensor_count(cond);
  for (size_t i = 0; i < n; i++) {
    if (!where_is_true(cond, i)) continue;
    size_t rest = i;
    for (int k = cond->ndim - 1; k >= 0; k--) {
      coords[k] = (int64_t)(rest % (size_t)cond->dims[k]);
      rest /= (size_t)cond->dims[k];
    }
    coords += cond->ndim;
  }
  return TFL_OK;
}

static const tfl_op_registration reg_where = {.name = "WHERE",
                                              .builtin_code = TFL_OP_WHERE,
                                              .data_size = sizeof(where_data),
                                              .prepare = where_prepare,
                                              .eval = where_eval,
                                              .types = WHERE_TYPES};

const tfl_op_registration *const tfl_kernels_compare[] = {
    &reg_equal,       &reg_not_equal,   &reg_less,        &reg_less_equal, &reg_greater,
    &reg_greater_equal, &reg_logical_and, &reg_logical_or, &reg_logical_not, &reg_select,
    &reg_select_v2,   &reg_where,       NULL};
