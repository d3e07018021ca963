/* MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, REDUCE_ANY and REDUCE_ALL over the axes of
 * an int32/int64 axis tensor (negative axes count from the end, duplicates are ignored;
 * ReducerOptions.keep_dims keeps reduced axes as size 1). A non-constant axis tensor makes
 * the output dynamic: its shape is computed at eval.
 *
 * The input is walked once in memory order after a plan merges neighbouring axes that are
 * both reduced or both kept (and drops size-1 axes): MEAN of NHWC over H,W becomes a
 * [H*W (reduced), C (kept)] walk that adds rows of C into the output. Every output thus
 * accumulates its inputs in increasing offset order, as TFLite's reference Reduce does, so
 * float sums round the same way.
 *
 * TFLite semantics kept: float MEAN sums in float and divides by the count; int32 MEAN sums
 * in int64 and divides with truncation; integer SUM/PROD wrap; an empty reduction gives the
 * identity (0, 1, lowest, highest, false, true) and MEAN of nothing gives NaN (0 for integer
 * types); a scalar input ignores the axes. MAX/MIN of int8/uint8/int16 compare raw values.
 *
 * Quantized MEAN and SUM (uint8, int8, int16) sum the raw values in int32 (wrapping), then
 * rescale as TFLite 2.19's builtin kernel does:
 * - MEAN of uint8/int8 4-D input over axes {1, 2} with keep_dims: the optimized kernel's
 *   multiplier in_scale / (n out_scale) (formed in float) applied to the raw sum, plus the
 *   bias out_zp - round(in_zp in_scale / out_scale);
 * - other MEANs: the reference kernel, (sum - n in_zp) times the in_scale / out_scale
 *   multiplier with the division by n folded in (tfl_mean_multiplier);
 * - SUM: in float, round(sum s + b) + out_zp with s = in_scale / out_scale and
 *   b = -in_zp s n.
 * int16 inputs of any reduction need zero points 0. The 8-bit sums and MEAN's final rescale
 * run the vector kernels of qreduce.h where the CPU level has them. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/qreduce.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { REDUCER_OPT_KEEP_DIMS = 0 };

/* How quantized sums become outputs (filled when the reduction is planned). */
typedef struct reduce_quant {
  tfl_qmean mean;        /* MEAN's rescale; its type and range serve SUM too */
  tfl_qmean_fn rescale;  /* applies `mean`: the portable loop or a vector kernel */
  int32_t out_zp;
  float scale, sum_bias; /* SUM: round(sum * scale + sum_bias) + out_zp */
} reduce_quant;

/* How one op reduces one type: the accumulator's element size and initial value, a fold of
 * n inputs into one accumulator, an elementwise combination of n inputs into n accumulators,
 * and the final conversion into the output (NULL when the accumulator is the output); `count`
 * is the number of inputs per output, q the quantized parameters. */
typedef struct reducer {
  tfl_type type;
  size_t acc_size;
  void (*init)(void *acc, size_t n);
  void (*fold)(void *acc, const void *in, size_t n);
  void (*combine)(void *acc, const void *in, size_t n);
  void (*finish)(void *out, const void *acc, size_t n, size_t count, const reduce_quant *q);
  int quantized; /* finish rescales with reduce_quant */
} reducer;

#define DEFINE_REDUCER(name, T, ACC, INIT, OP)                                   \
  static void name##_init(void *acc_, size_t n) {                               \
    ACC *acc = acc_;                                                            \
    for (size_t i = 0; i < n; i++) acc[i] = (INIT);                             \
  }                                                                             \
  static void name##_fold(void *acc_, const void *in_, size_t n) {              \
    ACC *acc = acc_;                                                            \
    const T *in = in_;                                                          \
    ACC a = acc[0];                                                             \
    for (size_t i = 0; i < n; i++) a = OP(a, in[i]);                            \
    acc[0] = a;                                                                 \
  }                                                                             \
  static void name##_combine(void *acc_, const void *in_, size_t n) {           \
    ACC *acc = acc_;                                                            \
    const T *in = in_;                                                          \
    for (size_t i = 0; i < n; i++) acc[i] = OP(acc[i], in[i]);                  \
  }

#define OP_ADD(a, x) ((a) + (x))
#define OP_MUL(a, x) ((a) * (x))
#define OP_MAX(a, x) ((x) > (a) ? (x) : (a))
#define OP_MIN(a, x) ((x) < (a) ? (x) : (a))
#define OP_OR(a, x) (uint8_t)((a) || (x))
#define OP_AND(a, x) (uint8_t)((a) && (x))
/* Integer sums and products wrap, as in TFLite. */
#define OP_ADD_U32(a, x) (int32_t)((uint32_t)(a) + (uint32_t)(x))
#define OP_MUL_U32(a, x) (int32_t)((uint32_t)(a) * (uint32_t)(x))
#define OP_ADD_U64(a, x) (int64_t)((uint64_t)(a) + (uint64_t)(x))
#define OP_MUL_U64(a, x) (int64_t)((uint64_t)(a) * (uint64_t)(x))

DEFINE_REDUCER(sum_f32, float, float, 0.0f, OP_ADD)
DEFINE_REDUCER(sum_i32, int32_t, int32_t, 0, OP_ADD_U32)
DEFINE_REDUCER(sum_i64, int64_t, int64_t, 0, OP_ADD_U64)
DEFINE_REDUCER(sum_i32_wide, int32_t, int64_t, 0, OP_ADD_U64)
DEFINE_REDUCER(prod_f32, float, float, 1.0f, OP_MUL)
DEFINE_REDUCER(prod_i32, int32_t, int32_t, 1, OP_MUL_U32)
DEFINE_REDUCER(prod_i64, int64_t, int64_t, 1, OP_MUL_U64)
DEFINE_REDUCER(max_f32, float, float, -FLT_MAX, OP_MAX)
DEFINE_REDUCER(max_i8, int8_t, int8_t, INT8_MIN, OP_MAX)
DEFINE_REDUCER(max_u8, uint8_t, uint8_t, 0, OP_MAX)
DEFINE_REDUCER(max_i16, int16_t, int16_t, INT16_MIN, OP_MAX)
DEFINE_REDUCER(max_i32, int32_t, int32_t, INT32_MIN, OP_MAX)
DEFINE_REDUCER(max_i64, int64_t, int64_t, INT64_MIN, OP_MAX)
DEFINE_REDUCER(min_f32, float, float, FLT_MAX, OP_MIN)
DEFINE_REDUCER(min_i8, int8_t, int8_t, INT8_MAX, OP_MIN)
DEFINE_REDUCER(min_u8, uint8_t, uint8_t, UINT8_MAX, OP_MIN)
DEFINE_REDUCER(min_i16, int16_t, int16_t, INT16_MAX, OP_MIN)
DEFINE_REDUCER(min_i32, int32_t, int32_t, INT32_MAX, OP_MIN)
DEFINE_REDUCER(min_i64, int64_t, int64_t, INT64_MAX, OP_MIN)
DEFINE_REDUCER(sum_u8_q, uint8_t, int32_t, 0, OP_ADD_U32)
DEFINE_REDUCER(sum_i8_q, int8_t, int32_t, 0, OP_ADD_U32)
DEFINE_REDUCER(sum_i16_q, int16_t, int32_t, 0, OP_ADD_U32)
DEFINE_REDUCER(any_b, uint8_t, uint8_t, 0, OP_OR)
DEFINE_REDUCER(all_b, uint8_t, uint8_t, 1, OP_AND)

/* MEAN: the sum divided by the number of reduced elements; of nothing, NaN (0/0) in float
 * and 0 in the integer types. */
static void mean_f32_finish(void *out_, const void *acc_, size_t n, size_t count,
                            const reduce_quant *q) {
  float *out = out_;
  const float *acc = acc_;
  (void)q;
  for (size_t i = 0; i < n; i++) out[i] = acc[i] / (float)count;
}

static void mean_i32_finish(void *out_, const void *acc_, size_t n, size_t count,
                            const reduce_quant *q) {
  int32_t *out = out_;
  const int64_t *acc = acc_;
  (void)q;
  for (size_t i = 0; i < n; i++) out[i] = count ? (int32_t)(acc[i] / (int64_t)count) : 0;
}

static void mean_i64_finish(void *out_, const void *acc_, size_t n, size_t count,
                            const reduce_quant *q) {
  int64_t *out = out_;
  const int64_t *acc = acc_;
  (void)q;
  for (size_t i = 0; i < n; i++) out[i] = count ? acc[i] / (int64_t)count : 0;
}

static void mean_q_rescale(const tfl_qmean *m, void *out, const int32_t *sum, size_t n) {
  tfl_qmean_rescale_tail(m, out, sum, 0, n);
}

tfl_qmean_fn tfl_qmean_kernel(tfl_cpu_level level) {
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) return tfl_qmean_rescale_avx2;
#endif
#if TFL_HAVE_ARM_KERNELS
  if (tfl_simd_neon(level)) return tfl_qmean_rescale_neon;
#endif
  (void)level;
  return mean_q_rescale;
}

/* Quantized MEAN of int32 sums; a MEAN of nothing is the raw value 0, as in TFLite. */
static void mean_q_finish(void *out, const void *acc, size_t n, size_t count,
                          const reduce_quant *q) {
  if (count) {
    q->rescale(&q->mean, out, acc, n);
    return;
  }
  for (size_t i = 0; i < n; i++) tfl_qmean_store(&q->mean, out, i, 0);
}

static void sum_q_finish(void *out, const void *acc_, size_t n, size_t count,
                         const reduce_quant *q) {
  const int32_t *acc = acc_;
  (void)count;
  for (size_t i = 0; i < n; i++)
    tfl_qmean_store(&q->mean, out, i,
                    tfl_wrap_add32(tfl_trunc_i32(roundf((float)acc[i] * q->scale + q->sum_bias)),
                                   q->out_zp));
}

#define REDUCER(type, acc_t, name, finish) \
  {type, sizeof(acc_t), name##_init, name##_fold, name##_combine, finish, 0}
#define QREDUCER(type, name, finish) \
  {type, sizeof(int32_t), name##_init, name##_fold, name##_combine, finish, 1}
#define REDUCERS_END {TFL_FLOAT32, 0, NULL, NULL, NULL, NULL, 0}

static const reducer mean_reducers[] = {REDUCER(TFL_FLOAT32, float, sum_f32, mean_f32_finish),
                                        REDUCER(TFL_INT32, int64_t, sum_i32_wide, mean_i32_finish),
                                        REDUCER(TFL_INT64, int64_t, sum_i64, mean_i64_finish),
                                        QREDUCER(TFL_UINT8, sum_u8_q, mean_q_finish),
                                        QREDUCER(TFL_INT8, sum_i8_q, mean_q_finish),
                                        QREDUCER(TFL_INT16, sum_i16_q, mean_q_finish),
                                        REDUCERS_END};
static const reducer sum_reducers[] = {REDUCER(TFL_FLOAT32, float, sum_f32, NULL),
                                       REDUCER(TFL_INT32, int32_t, sum_i32, NULL),
                                       REDUCER(TFL_INT64, int64_t, sum_i64, NULL),
                                       QREDUCER(TFL_UINT8, sum_u8_q, sum_q_finish),
                                       QREDUCER(TFL_INT8, sum_i8_q, sum_q_finish),
                                       QREDUCER(TFL_INT16, sum_i16_q, sum_q_finish),
                                       REDUCERS_END};
static const reducer prod_reducers[] = {REDUCER(TFL_FLOAT32, float, prod_f32, NULL),
                                        REDUCER(TFL_INT32, int32_t, prod_i32, NULL),
                                        REDUCER(TFL_INT64, int64_t, prod_i64, NULL), REDUCERS_END};
static const reducer max_reducers[] = {
    REDUCER(TFL_FLOAT32, float, max_f32, NULL),   REDUCER(TFL_INT8, int8_t, max_i8, NULL),
    REDUCER(TFL_UINT8, uint8_t, max_u8, NULL),    REDUCER(TFL_INT16, int16_t, max_i16, NULL),
    REDUCER(TFL_INT32, int32_t, max_i32, NULL),   REDUCER(TFL_INT64, int64_t, max_i64, NULL),
    REDUCERS_END};
static const reducer min_reducers[] = {
    REDUCER(TFL_FLOAT32, float, min_f32, NULL),   REDUCER(TFL_INT8, int8_t, min_i8, NULL),
    REDUCER(TFL_UINT8, uint8_t, min_u8, NULL),    REDUCER(TFL_INT16, int16_t, min_i16, NULL),
    REDUCER(TFL_INT32, int32_t, min_i32, NULL),   REDUCER(TFL_INT64, int64_t, min_i64, NULL),
    REDUCERS_END};
static const reducer any_reducers[] = {REDUCER(TFL_BOOL, uint8_t, any_b, NULL), REDUCERS_END};
static const reducer all_reducers[] = {REDUCER(TFL_BOOL, uint8_t, all_b, NULL), REDUCERS_END};

/* The walk over the input: merged axes, each reduced or kept, with the output stride of
 * the kept ones. */
typedef struct reduce_plan {
  int ndim; /* at least 1 */
  size_t dims[TFL_MAX_DIMS];
  size_t out_stride[TFL_MAX_DIMS]; /* 0 for reduced axes */
  int last_reduced;                /* the innermost axis is reduced */
  size_t in_count, out_count;
  size_t reduce_count; /* inputs per output */
} reduce_plan;

typedef struct reduce_data {
  const reducer *r;
  void (*combine)(void *acc, const void *in, size_t n); /* r's, or a vector one */
  int keep_dims;
  int dynamic; /* the axis tensor is not constant: plan at eval */
  int scratch; /* accumulator buffer index, or -1 when the output accumulates */
  reduce_plan plan;
  reduce_quant q;
} reduce_data;

/* Marks the axes named by the axis tensor in reduced[]. */
static tfl_status read_axes(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                            const tfl_tensor *axis, int reduced[TFL_MAX_DIMS]) {
  memset(reduced, 0, TFL_MAX_DIMS * sizeof(reduced[0]));
  if (in->ndim == 0) return TFL_OK; /* TFLite ignores the axes of a scalar */
  const size_t n = tfl_tensor_count(axis);
  if (n > 0 && !axis->data)
    return tfl_context_error(ctx, node, "axis tensor '%s' has no data", axis->name);
  for (size_t i = 0; i < n; i++) {
    const int64_t a = tfl_index_at(axis, i);
    int k;
    if (!tfl_axis_normalize(a, in->ndim, &k))
      return tfl_context_error(ctx, node, "axis %lld is out of range for input '%s' of rank %d",
                               (long long)a, in->name, in->ndim);
    reduced[k] = 1;
  }
  return TFL_OK;
}

static void build_plan(const tfl_tensor *in, const int reduced[TFL_MAX_DIMS], reduce_plan *p) {
  int red[TFL_MAX_DIMS] = {0};
  p->ndim = 0;
  p->in_count = tfl_tensor_count(in);
  p->out_count = 1;
  p->reduce_count = 1;
  for (int i = 0; i < in->ndim; i++) {
    const size_t d = (size_t)in->dims[i];
    if (reduced[i]) p->reduce_count *= d;
    else p->out_count *= d;
    if (d == 1) continue;
    if (p->ndim > 0 && red[p->ndim - 1] == reduced[i]) {
      p->dims[p->ndim - 1] *= d;
      continue;
    }
    red[p->ndim] = reduced[i];
    p->dims[p->ndim++] = d;
  }
  if (p->ndim == 0) { /* a single element */
    red[0] = 0;
    p->dims[p->ndim++] = 1;
  }
  size_t stride = 1;
  for (int i = p->ndim - 1; i >= 0; i--) {
    p->out_stride[i] = red[i] ? 0 : stride;
    if (!red[i]) stride *= p->dims[i];
  }
  p->last_reduced = red[p->ndim - 1];
}

static void output_shape(const tfl_tensor *in, const int reduced[TFL_MAX_DIMS], int keep_dims,
                         int *ndim, int32_t dims[TFL_MAX_DIMS]) {
  *ndim = 0;
  for (int i = 0; i < in->ndim; i++) {
    if (!reduced[i]) dims[(*ndim)++] = in->dims[i];
    else if (keep_dims) dims[(*ndim)++] = 1;
  }
}

/* TFLite's optimized MEAN: uint8/int8, 4-D, keep_dims, reducing exactly axes 1 and 2. */
static int is_spatial_mean(const tfl_node *node, const reduce_data *d, const tfl_tensor *in,
                           const int reduced[TFL_MAX_DIMS]) {
  return node->builtin_code == TFL_OP_MEAN && d->keep_dims && in->ndim == 4 &&
         (in->type == TFL_UINT8 || in->type == TFL_INT8) && !reduced[0] && reduced[1] &&
         reduced[2] && !reduced[3];
}

/* The rescaling of quantized MEAN/SUM sums, for the planned reduction. */
static void quant_setup(const tfl_node *node, reduce_data *d, const tfl_tensor *in,
                        const tfl_tensor *out, const int reduced[TFL_MAX_DIMS]) {
  reduce_quant *q = &d->q;
  tfl_qmean *m = &q->mean;
  float in_scale, out_scale;
  int32_t in_zp;
  tfl_quant_params(in, &in_scale, &in_zp);
  tfl_quant_params(out, &out_scale, &q->out_zp);
  m->type = in->type;
  tfl_quantized_type_range(m->type, &m->lo, &m->hi);
  const size_t n = d->plan.reduce_count;
  if (node->builtin_code == TFL_OP_SUM) {
    q->scale = in_scale / out_scale;
    q->sum_bias = (float)-in_zp * q->scale * (float)n;
    return;
  }
  if (!is_spatial_mean(node, d, in, reduced)) {
    /* The reference form: (sum - n in_zp) rescaled, plus out_zp. TFLite's int32 temporary
     * n in_zp wraps, and so does the centred sum. */
    int32_t multiplier;
    int shift;
    tfl_quantize_multiplier((double)in_scale / (double)out_scale, &multiplier, &shift);
    if (n > 0) tfl_mean_multiplier(multiplier, shift, (int64_t)n, &m->multiplier, &m->shift);
    m->subtract = (uint32_t)((uint64_t)((int64_t)in_zp * (int64_t)n));
    m->add = q->out_zp;
    return;
  }
  /* The optimized form, all in float as TFLite's kernel: the raw sum rescaled, plus a bias
   * that rounds half away from zero. */
  const float count = (float)(in->dims[1] * in->dims[2]);
  float offset = (float)in_zp * in_scale / out_scale;
  offset = offset > 0 ? offset + 0.5f : offset - 0.5f;
  m->subtract = 0;
  m->add = (int32_t)((uint32_t)q->out_zp - (uint32_t)tfl_trunc_i32(offset));
  tfl_quantize_multiplier((double)(in_scale / (count * out_scale)), &m->multiplier, &m->shift);
}

/* Plans the walk and gives the output its shape (dynamically at eval). */
static tfl_status plan_and_resize(tfl_context *ctx, const tfl_node *node, reduce_data *d,
                                  int at_eval) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  int reduced[TFL_MAX_DIMS], ndim;
  int32_t dims[TFL_MAX_DIMS];
  tfl_status st = read_axes(ctx, node, in, axis, reduced);
  if (st != TFL_OK) return st;
  build_plan(in, reduced, &d->plan);
  if (d->r->quantized) quant_setup(node, d, in, out, reduced);
  output_shape(in, reduced, d->keep_dims, &ndim, dims);
  return at_eval ? tfl_context_resize_dynamic(ctx, out, ndim, dims)
                 : tfl_context_resize(ctx, out, ndim, dims);
}

static tfl_status check_types(tfl_context *ctx, const tfl_node *node, const reducer *r,
                              const tfl_tensor *in, const tfl_tensor *out) {
  if (!r) {
    const char *what = in->quant.count ? "quantized " : "";
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s%s input '%s' is not supported",
                            what, tfl_type_name(in->type), in->name);
  }
  tfl_status st = tfl_check_type(ctx, node, out, "output", in->type);
  if (st != TFL_OK) return st;
  if (in->type == TFL_INT16 && (tfl_q_zero_point(in) != 0 || tfl_q_zero_point(out) != 0))
    return tfl_context_error(ctx, node, "int16 input and output need zero points 0");
  /* Quantized sums are rescaled (MAX and MIN move raw values, as TFLite's do). */
  if (r->quantized) {
    float in_scale, out_scale;
    int32_t zp;
    tfl_quant_params(in, &in_scale, &zp);
    tfl_quant_params(out, &out_scale, &zp);
    if (!(in_scale > 0.0f) || !(out_scale > 0.0f))
      return tfl_context_error(ctx, node,
                               "quantized input and output need one positive scale each (have "
                               "%g and %g)",
                               (double)in_scale, (double)out_scale);
  }
  return TFL_OK;
}

static tfl_status reduce_prepare(tfl_context *ctx, tfl_node *node) {
  const reducer *table = node->registration->op_user_data;
  reduce_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->r = NULL;
  for (const reducer *r = table; r->init; r++)
    if (r->type == in->type) d->r = r;
  st = check_types(ctx, node, d->r, in, out);
  if (st == TFL_OK) st = tfl_check_index_type(ctx, node, axis, "axis");
  if (st != TFL_OK) return st;
  const int opt_type = tfl_opt_type(node);
  if (opt_type != TFL_OPTS_NONE && opt_type != TFL_OPTS_REDUCER)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "builtin options have union type %d, expected %d", opt_type,
                            TFL_OPTS_REDUCER);
  d->keep_dims = tfl_opt_bool(node, REDUCER_OPT_KEEP_DIMS, 0);
  d->combine = d->r->combine;
  /* 8-bit codes summed into int32 (quantized MEAN and SUM) */
  if (d->r->quantized && in->type != TFL_INT16) {
    const tfl_cpu_level level = tfl_context_cpu(ctx);
    const int u8 = in->type == TFL_UINT8;
#if TFL_HAVE_X86_KERNELS
    if (tfl_simd_avx2(level))
      d->combine = u8 ? tfl_qreduce_combine_u8_avx2 : tfl_qreduce_combine_i8_avx2;
#endif
    if (tfl_simd_neon(level))
      d->combine = u8 ? tfl_qreduce_combine_u8_neon : tfl_qreduce_combine_i8_neon;
  }
  if (d->r->quantized) d->q.rescale = tfl_qmean_kernel(tfl_context_cpu(ctx));

  d->dynamic = !tfl_tensor_is_constant(axis);
  st = d->dynamic ? tfl_context_set_dynamic(ctx, out) : plan_and_resize(ctx, node, d, 0);
  if (st != TFL_OK) return st;
  d->scratch = -1;
  if (d->r->acc_size == tfl_type_size(in->type)) return TFL_OK;
  /* A wider accumulator per output. When the axes come at eval, room for the most outputs
   * any axes can give: every dimension kept, a zero-size one as 1. */
  size_t n = d->plan.out_count;
  if (d->dynamic) {
    n = 1;
    for (int i = 0; i < in->ndim; i++) n *= in->dims[i] ? (size_t)in->dims[i] : 1;
  }
  return tfl_context_request_scratch(ctx, node, (n ? n : 1) * d->r->acc_size, &d->scratch);
}

/* Walks the input in memory order, folding or combining each innermost run into acc. */
static void reduce_walk(const reduce_data *d, const reduce_plan *p, const unsigned char *in,
                        size_t in_size, unsigned char *acc) {
  const reducer *r = d->r;
  const int last = p->ndim - 1;
  const size_t n = p->dims[last];
  void (*run)(void *, const void *, size_t) = p->last_reduced ? r->fold : d->combine;
  size_t idx[TFL_MAX_DIMS] = {0};
  size_t o = 0;
  for (;;) {
    run(acc + o * r->acc_size, in, n);
    in += n * in_size;
    int k = last - 1;
    for (; k >= 0; k--) {
      o += p->out_stride[k];
      if (++idx[k] < p->dims[k]) break;
      o -= p->out_stride[k] * p->dims[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

static tfl_status reduce_eval(tfl_context *ctx, tfl_node *node) {
  reduce_data *d = node->user_data;
  if (d->dynamic) {
    tfl_status st = plan_and_resize(ctx, node, d, 1);
    if (st != TFL_OK) return st;
  }
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const reduce_plan *p = &d->plan;
  void *acc = d->scratch >= 0 ? tfl_context_scratch(ctx, node, d->scratch) : out->data;
  d->r->init(acc, p->out_count);
  if (p->in_count > 0) reduce_walk(d, p, in->data, tfl_type_size(in->type), acc);
  if (d->r->finish) d->r->finish(out->data, acc, p->out_count, p->reduce_count, &d->q);
  return TFL_OK;
}

/* types_ repeats the types of the table's reducers. */
#define REDUCE_REGISTRATION(var, op_name, code, table, types_)                      \
  static const tfl_op_registration var = {.name = op_name,                          \
                                          .builtin_code = code,                     \
                                          .data_size = sizeof(reduce_data),         \
                                          .prepare = reduce_prepare,                \
                                          .eval = reduce_eval,                      \
                                          .op_user_data = (void *)table,            \
                                          .types = types_};

#define REDUCE_ALL_NUMERIC (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT)

REDUCE_REGISTRATION(reg_mean, "MEAN", TFL_OP_MEAN, mean_reducers, REDUCE_ALL_NUMERIC)
REDUCE_REGISTRATION(reg_sum, "SUM", TFL_OP_SUM, sum_reducers, REDUCE_ALL_NUMERIC)
REDUCE_REGISTRATION(reg_prod, "REDUCE_PROD", TFL_OP_REDUCE_PROD, prod_reducers,
                    TFL_TYPES_F32_I32_I64)
REDUCE_REGISTRATION(reg_max, "REDUCE_MAX", TFL_OP_REDUCE_MAX, max_reducers, REDUCE_ALL_NUMERIC)
REDUCE_REGISTRATION(reg_min, "REDUCE_MIN", TFL_OP_REDUCE_MIN, min_reducers, REDUCE_ALL_NUMERIC)
REDUCE_REGISTRATION(reg_any, "REDUCE_ANY", TFL_OP_REDUCE_ANY, any_reducers,
                    TFL_TYPE_BIT(TFL_BOOL))
REDUCE_REGISTRATION(reg_all, "REDUCE_ALL", TFL_OP_REDUCE_ALL, all_reducers,
                    TFL_TYPE_BIT(TFL_BOOL))

const tfl_op_registration *const tfl_kernels_reduce[] = {
    &reg_mean, &reg_sum, &reg_prod, &reg_max, &reg_min, &reg_any, &reg_all, NULL};
