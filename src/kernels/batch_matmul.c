/* BATCH_MATMUL: out[..., a, c] = sum_k lhs[..., a, k] * rhs[..., k, c], as TensorFlow Lite's
 * reference kernel computes it (the one its builtin resolver registers).
 *
 * Either operand may be stored transposed (adj_x: lhs is [..., K, A]; adj_y: rhs is
 * [..., C, K]). Operands have rank 2 to 5; the batch dimensions (all but the last two) are
 * broadcast against each other with the elementwise rules (broadcast.h), the shorter shape
 * padded with leading 1s. Like TFLite, the kernel works on the lhs as rows [A, K] and on the
 * rhs as [C, K] (rows of the transposed rhs): an lhs stored with adj_x is transposed into
 * scratch at every invoke, an rhs stored without adj_y too, except that a constant rhs is
 * transposed once in prepare (as TFLite does on its first invoke).
 *
 * Arithmetic per element type (k ascending in every sum):
 * - float32: a float sum from zero.
 * - int8 (int8 output): sum((rhs - rhs_zp) * (lhs - lhs_zp)) in wrapping int32, rescaled by
 *   lhs_scale * rhs_scale / out_scale (the two scales multiplied in float) with TFLite's
 *   MultiplyByQuantizedMultiplier, plus the output zero point, clamped to int8.
 * - int8 with an int32 output: the raw sum(rhs * lhs); zero points and scales are ignored.
 * - int16 x int16 and int16 x int8 (int16 output, zero points 0): the sum in int64 and the
 *   64-bit rescaling of TFLite's 16x8 kernels.
 *   As in TFLite the scales are the "legacy" per-tensor ones: a per-channel quantized rhs
 *   counts as scale 0, which makes every output the output zero point.
 * - hybrid (float lhs, int8 rhs): every lhs row of K values is quantized to int8
 *   (symmetrically, or asymmetrically with asymmetric_quantize_inputs; hybrid.h), its scale
 *   multiplied by the rhs scale (per-tensor rhs); then per element
 *   total = int32 sum(q * rhs); total = (int32)((float)total - (float)row_sum * zero_point)
 *   with row_sum the sum of the rhs column; out = scale * total, where a per-channel rhs
 *   (one scale per output column) multiplies the row scale by its column's scale.
 *
 * Float products have a fast path above TFL_CPU=scalar: the packed GEMM of gemm.h (FMA, so
 * within float tolerance of the reference, not bit for bit). It packs the rhs as stored
 * (no transposition): a constant one once in prepare, another at every invoke into scratch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/broadcast.h"
#include "kernels/families.h"
#include "kernels/gemm.h"
#include "kernels/hybrid.h"
#include "kernels/permute.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { BMM_OPT_ADJ_X = 0, BMM_OPT_ADJ_Y = 1, BMM_OPT_ASYMMETRIC = 2 };
enum { BMM_MIN_RANK = 2, BMM_MAX_RANK = 5 };

typedef enum bmm_kind {
  BMM_FLOAT,
  BMM_HYBRID,
  BMM_INT8,      /* int8 output */
  BMM_INT8_RAW,  /* int32 output */
  BMM_INT16,     /* int16 rhs */
  BMM_INT16_INT8 /* int8 rhs */
} bmm_kind;

typedef struct bmm_data {
  bmm_kind kind;
  int adj_x, adj_y, asymmetric;
  int32_t rows, depth, cols;  /* A, K, C of each product */
  int32_t lhs_mats, rhs_mats; /* matrices stored in each operand */
  tfl_bcast batch;            /* the broadcast of the batch dimensions */
  /* int8 / int16 */
  int32_t lhs_offset, rhs_offset, out_offset, multiplier;
  int shift;
  int32_t out_min, out_max;
  /* hybrid */
  float rhs_scale;             /* per-tensor rhs */
  const float *channel_scales; /* per-channel rhs: one per output column, else NULL */
  /* A constant rhs, prepared once: its [C, K] rows (without adj_y) and, for asymmetric
   * hybrid inputs, the sum of each row. One heap block. */
  void *block;
  const void *rhs_rows;
  const int32_t *row_sums;
  /* float fast path: one packed weights per rhs matrix, from prepare when the rhs is
   * constant (in `block`), else packed into scratch at every invoke */
  int fast;
  tfl_gemm_weights *packed;
  size_t packed_bytes; /* per matrix */
  /* One scratch buffer holding, at these byte offsets, the parts in use: the transposed lhs,
   * the transposed rhs, the quantized lhs, its row parameters, the row sums. */
  int scratch;
  size_t at_lhs, at_rhs, at_q, at_rows, at_sums, at_weights, at_packed;
} bmm_data;

/* ---- eval --------------------------------------------------------------------------- */

/* Everything one product needs, resolved for the current invoke. */
typedef struct bmm_run {
  const bmm_data *d;
  const void *lhs;            /* [lhs_mats][A][K]: float, int8 (hybrid: quantized), int16 */
  const void *rhs;            /* [rhs_mats][C][K] */
  const tfl_hybrid_row *rows; /* hybrid: one per lhs row */
  const int32_t *row_sums;    /* hybrid asymmetric: one per rhs row */
  void *out;                  /* [batches][A][C] */
} bmm_run;

static float bmm_dot_f32(const float *a, const float *b, int32_t n) {
  float total = 0.0f;
  for (int32_t k = 0; k < n; k++) total += a[k] * b[k];
  return total;
}

/* sum((a + a_off) * (b + b_off)) in wrapping int32, as TFLite's int32 accumulators. */
static int32_t bmm_dot_i8(const int8_t *a, int32_t a_off, const int8_t *b, int32_t b_off,
                          int32_t n) {
  uint32_t total = 0;
  for (int32_t k = 0; k < n; k++)
    total += (uint32_t)(((int32_t)a[k] + a_off) * ((int32_t)b[k] + b_off));
  return (int32_t)total;
}

/* int16 lhs row against an int16 or int8 rhs row, in int64 (zero points are 0). */
static int64_t bmm_dot_i16(const int16_t *a, const void *b, int b_is_int8, int32_t n) {
  int64_t total = 0;
  if (b_is_int8) {
    const int8_t *w = b;
    for (int32_t k = 0; k < n; k++) total += (int32_t)a[k] * (int32_t)w[k];
  } else {
    const int16_t *w = b;
    for (int32_t k = 0; k < n; k++) total += (int32_t)a[k] * (int32_t)w[k];
  }
  return total;
}

static int32_t bmm_clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Output element (a, c) of the hybrid product: see the file comment. */
static float bmm_hybrid_element(const bmm_run *r, size_t lhs_row, const int8_t *q, size_t rhs_row,
                                const int8_t *w, int32_t c) {
  const bmm_data *d = r->d;
  const tfl_hybrid_row *row = &r->rows[lhs_row];
  int32_t total = bmm_dot_i8(q, 0, w, 0, d->depth);
  const float row_sum = r->row_sums ? (float)r->row_sums[rhs_row] : 0.0f;
  total = tfl_trunc_i32((double)((float)total - row_sum * (float)row->zero_point));
  const float scale = d->channel_scales ? row->scale * d->channel_scales[c] : row->scale;
  /* TFLite adds the product to a zeroed output, which turns -0 into +0. */
  return 0.0f + scale * (float)total;
}

/* One product: lhs matrix li, rhs matrix ri, output matrix oi. */
static void bmm_product(const bmm_run *r, size_t li, size_t ri, size_t oi) {
  const bmm_data *d = r->d;
  const size_t A = (size_t)d->rows, K = (size_t)d->depth, C = (size_t)d->cols;
  const size_t in_size = d->kind == BMM_FLOAT                                  ? sizeof(float)
                         : (d->kind == BMM_INT16 || d->kind == BMM_INT16_INT8) ? sizeof(int16_t)
                                                                               : 1;
  const size_t w_size = d->kind == BMM_FLOAT   ? sizeof(float)
                        : d->kind == BMM_INT16 ? sizeof(int16_t)
                                               : 1;
  const unsigned char *lhs = (const unsigned char *)r->lhs + li * A * K * in_size;
  const unsigned char *rhs = (const unsigned char *)r->rhs + ri * C * K * w_size;
  const size_t o = oi * A * C;
  for (size_t a = 0; a < A; a++) {
    const void *x = lhs + a * K * in_size;
    for (size_t c = 0; c < C; c++) {
      const void *w = rhs + c * K * w_size;
      const size_t idx = o + a * C + c;
      switch (d->kind) {
        case BMM_FLOAT:
          ((float *)r->out)[idx] = bmm_dot_f32(x, w, d->depth);
          break;
        case BMM_HYBRID:
          ((float *)r->out)[idx] = bmm_hybrid_element(r, li * A + a, x, ri * C + c, w, (int32_t)c);
          break;
        case BMM_INT8_RAW:
          ((int32_t *)r->out)[idx] = bmm_dot_i8(w, 0, x, 0, d->depth);
          break;
        case BMM_INT8: {
          const int32_t acc = bmm_dot_i8(w, d->rhs_offset, x, d->lhs_offset, d->depth);
          const int32_t v = tfl_mul_by_quantized_multiplier(acc, d->multiplier, d->shift);
          ((int8_t *)r->out)[idx] = (int8_t)bmm_clamp(v + d->out_offset, d->out_min, d->out_max);
          break;
        }
        default: {
          const int64_t acc = bmm_dot_i16(x, w, d->kind == BMM_INT16_INT8, d->depth);
          const int32_t v = tfl_mul_by_quantized_multiplier64(acc, d->multiplier, d->shift);
          ((int16_t *)r->out)[idx] = (int16_t)bmm_clamp(v + d->out_offset, d->out_min, d->out_max);
          break;
        }
      }
    }
  }
}

/* The lhs and rhs matrices (li, ri) the batch broadcast pairs with output matrix oi. */
static void bmm_operands(const tfl_bcast *p, size_t oi, size_t *li, size_t *ri) {
  size_t rest = oi;
  *li = *ri = 0;
  for (int i = p->ndim - 1; i >= 0; i--) {
    const size_t idx = rest % p->dims[i];
    rest /= p->dims[i];
    *li += idx * p->a_stride[i];
    *ri += idx * p->b_stride[i];
  }
}

/* Runs every product of the output, in output order. */
static void bmm_products(const bmm_run *r) {
  for (size_t oi = 0; oi < r->d->batch.count; oi++) {
    size_t li, ri;
    bmm_operands(&r->d->batch, oi, &li, &ri);
    bmm_product(r, li, ri, oi);
  }
}

/* [mats][rows][cols] -> [mats][cols][rows]. */
static void bmm_transpose(const void *src, void *dst, int32_t mats, int32_t rows, int32_t cols,
                          size_t elem) {
  const int32_t dims[3] = {mats, rows, cols};
  static const int perm[3] = {0, 2, 1};
  tfl_permute(3, dims, perm, elem, src, dst);
}

/* The sum of each of n int8 rows of `depth` values (TFLite's ReductionSumVector). */
static void bmm_row_sums(const int8_t *rows, size_t n, int32_t depth, int32_t *sums) {
  for (size_t i = 0; i < n; i++, rows += depth) {
    int32_t s = 0;
    for (int32_t k = 0; k < depth; k++) s += rows[k];
    sums[i] = s;
  }
}

static void *bmm_part(unsigned char *scratch, size_t at) { return scratch + at; }

/* Packs rhs matrix i as stored ([K][C], or [C][K] with adj_y) into weights[i], its panels at
 * buffer + i * packed_bytes. */
static void bmm_pack(const bmm_data *d, tfl_cpu_level level, const float *rhs,
                     tfl_gemm_weights *weights, unsigned char *buffer) {
  const size_t mat = (size_t)d->depth * (size_t)d->cols;
  for (int32_t i = 0; i < d->rhs_mats; i++)
    tfl_gemm_pack_into(&weights[i], level, (float *)(void *)(buffer + (size_t)i * d->packed_bytes),
                       rhs + (size_t)i * mat, d->cols, d->depth, !d->adj_y);
}

/* Every product on the packed GEMM. No clamp:
 * BATCH_MATMUL has no activation (infinities and NaNs pass). */
static void bmm_products_fast(tfl_context *ctx, const bmm_data *d, const float *lhs,
                              const tfl_gemm_weights *weights, float *out) {
  const size_t A = (size_t)d->rows, K = (size_t)d->depth, C = (size_t)d->cols;
  for (size_t oi = 0; oi < d->batch.count; oi++) {
    size_t li, ri;
    bmm_operands(&d->batch, oi, &li, &ri);
    tfl_gemm_matrix(ctx, &weights[ri], lhs + li * A * K, K, d->rows, out + oi * A * C, C,
                    -INFINITY, INFINITY);
  }
}

static tfl_status bmm_eval(tfl_context *ctx, tfl_node *node) {
  const bmm_data *d = node->user_data;
  const tfl_tensor *lhs = tfl_node_input(ctx, node, 0);
  const tfl_tensor *rhs = tfl_node_input(ctx, node, 1);
  bmm_run r = {
      .d = d, .lhs = lhs->data, .rhs = rhs->data, .out = tfl_node_output(ctx, node, 0)->data};
  if (d->batch.count == 0 || d->rows == 0 || d->cols == 0) return TFL_OK;
  unsigned char *scratch = tfl_context_scratch(ctx, node, d->scratch);
  if (d->adj_x) {
    void *t = bmm_part(scratch, d->at_lhs);
    bmm_transpose(lhs->data, t, d->lhs_mats, d->depth, d->rows, tfl_type_size(lhs->type));
    r.lhs = t;
  }
  if (d->fast) {
    const tfl_gemm_weights *weights = d->packed;
    if (!weights) {
      tfl_gemm_weights *w = bmm_part(scratch, d->at_weights);
      bmm_pack(d, tfl_context_cpu(ctx), rhs->data, w, bmm_part(scratch, d->at_packed));
      weights = w;
    }
    bmm_products_fast(ctx, d, r.lhs, weights, r.out);
    return TFL_OK;
  }
  if (d->rhs_rows) {
    r.rhs = d->rhs_rows;
  } else if (!d->adj_y) {
    void *t = bmm_part(scratch, d->at_rhs);
    bmm_transpose(rhs->data, t, d->rhs_mats, d->depth, d->cols, tfl_type_size(rhs->type));
    r.rhs = t;
  }
  if (d->kind == BMM_HYBRID) {
    const size_t n_rows = (size_t)d->lhs_mats * (size_t)d->rows;
    int8_t *q = bmm_part(scratch, d->at_q);
    tfl_hybrid_row *rows = bmm_part(scratch, d->at_rows);
    tfl_hybrid_quantize_rows_cpu(tfl_context_cpu(ctx), r.lhs, n_rows, (size_t)d->depth,
                                 d->asymmetric, q, rows);
    if (!d->channel_scales)
      for (size_t i = 0; i < n_rows; i++) rows[i].scale *= d->rhs_scale;
    r.lhs = q;
    r.rows = rows;
    r.row_sums = d->row_sums;
    if (d->asymmetric && !r.row_sums) {
      int32_t *sums = bmm_part(scratch, d->at_sums);
      bmm_row_sums(r.rhs, (size_t)d->rhs_mats * (size_t)d->cols, d->depth, sums);
      r.row_sums = sums;
    }
  }
  bmm_products(&r);
  return TFL_OK;
}

/* ---- prepare ------------------------------------------------------------------------ */

static tfl_status bmm_kind_of(tfl_context *ctx, const tfl_node *node, const tfl_tensor *lhs,
                              const tfl_tensor *rhs, const tfl_tensor *out, bmm_data *d) {
  tfl_type want = lhs->type;
  if (lhs->type == TFL_FLOAT32 && rhs->type == TFL_FLOAT32) {
    d->kind = BMM_FLOAT;
  } else if (lhs->type == TFL_FLOAT32 && rhs->type == TFL_INT8) {
    d->kind = BMM_HYBRID;
  } else if (lhs->type == TFL_INT8 && rhs->type == TFL_INT8) {
    d->kind = out->type == TFL_INT32 ? BMM_INT8_RAW : BMM_INT8;
    if (out->type == TFL_INT32) want = TFL_INT32;
  } else if (lhs->type == TFL_INT16 && (rhs->type == TFL_INT16 || rhs->type == TFL_INT8)) {
    d->kind = rhs->type == TFL_INT16 ? BMM_INT16 : BMM_INT16_INT8;
  } else {
    return tfl_context_fail(
        ctx, node, TFL_UNSUPPORTED, "%s lhs '%s' with %s rhs '%s' is not supported",
        tfl_type_name(lhs->type), lhs->name, tfl_type_name(rhs->type), rhs->name);
  }
  if (out->type != want)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "output '%s' has type %s, expected %s%s",
                            out->name, tfl_type_name(out->type), tfl_type_name(want),
                            d->kind == BMM_INT8 ? " or int32" : "");
  return TFL_OK;
}

/* Product of dims[0..n), which must fit in int32. */
static tfl_status bmm_count(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t, int n,
                            int32_t *count) {
  int64_t c = 0;
  if (!tfl_shape_count_checked(n, t->dims, &c) || c > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "'%s' holds too many matrices", t->name);
  *count = (int32_t)c;
  return TFL_OK;
}

/* Ranks, the batch broadcast, the matrix sizes and the output shape. */
static tfl_status bmm_shapes(tfl_context *ctx, const tfl_node *node, const tfl_tensor *lhs,
                             const tfl_tensor *rhs, bmm_data *d, int *ndim, int32_t *dims) {
  const tfl_tensor *ops[2] = {lhs, rhs};
  for (int i = 0; i < 2; i++)
    if (ops[i]->ndim < BMM_MIN_RANK || ops[i]->ndim > BMM_MAX_RANK)
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                              "'%s' has rank %d; BATCH_MATMUL takes ranks %d to %d", ops[i]->name,
                              ops[i]->ndim, BMM_MIN_RANK, BMM_MAX_RANK);
  const int ln = lhs->ndim, rn = rhs->ndim;
  const int32_t lhs_depth = d->adj_x ? lhs->dims[ln - 2] : lhs->dims[ln - 1];
  const int32_t rhs_depth = d->adj_y ? rhs->dims[rn - 1] : rhs->dims[rn - 2];
  if (lhs_depth != rhs_depth)
    return tfl_context_error(ctx, node,
                             "'%s' contributes %d products per sum but '%s' %d (adj_x %d, "
                             "adj_y %d)",
                             lhs->name, (int)lhs_depth, rhs->name, (int)rhs_depth, d->adj_x,
                             d->adj_y);
  d->rows = d->adj_x ? lhs->dims[ln - 1] : lhs->dims[ln - 2];
  d->depth = lhs_depth;
  d->cols = d->adj_y ? rhs->dims[rn - 2] : rhs->dims[rn - 1];
  /* The batch dimensions alone, as tensors of their own for the broadcast helpers. */
  tfl_tensor lb = *lhs, rb = *rhs;
  lb.ndim -= 2;
  rb.ndim -= 2;
  tfl_status st = tfl_broadcast_shape(ctx, node, &lb, &rb, ndim, dims);
  if (st == TFL_OK) st = bmm_count(ctx, node, lhs, lb.ndim, &d->lhs_mats);
  if (st == TFL_OK) st = bmm_count(ctx, node, rhs, rb.ndim, &d->rhs_mats);
  if (st != TFL_OK) return st;
  tfl_broadcast_plan(&lb, &rb, &d->batch);
  dims[(*ndim)++] = d->rows;
  dims[(*ndim)++] = d->cols;
  return TFL_OK;
}

/* int8 / int16: the requantization, from the per-tensor ("legacy") parameters TFLite uses. */
static tfl_status bmm_quant_prepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *lhs,
                                    const tfl_tensor *rhs, const tfl_tensor *out, bmm_data *d) {
  float ls, rs, os;
  int32_t lz, rz, oz;
  tfl_quant_params(lhs, &ls, &lz);
  tfl_quant_params(rhs, &rs, &rz);
  tfl_quant_params(out, &os, &oz);
  const int wide = d->kind == BMM_INT16 || d->kind == BMM_INT16_INT8;
  if (wide && (lz != 0 || rz != 0 || oz != 0))
    return tfl_context_error(ctx, node,
                             "int16 BATCH_MATMUL needs zero points 0 (lhs %d, rhs %d, output %d)",
                             (int)lz, (int)rz, (int)oz);
  if (d->kind == BMM_INT8 && (lz < INT8_MIN || lz > INT8_MAX || rz < INT8_MIN || rz > INT8_MAX ||
                              oz < INT8_MIN || oz > INT8_MAX))
    return tfl_context_error(ctx, node,
                             "int8 zero points must lie in [-128, 127] (lhs %d, rhs %d, output %d)",
                             (int)lz, (int)rz, (int)oz);
  const double product = (double)(ls * rs); /* multiplied in float, as TFLite does */
  if (!(product >= 0.0) || !(os > 0.0f))
    return tfl_context_error(ctx, node,
                             "scales must be non-negative and the output's positive (lhs %g, "
                             "rhs %g, output %g)",
                             (double)ls, (double)rs, (double)os);
  tfl_quantize_multiplier(product / (double)os, &d->multiplier, &d->shift);
  if (wide && d->shift > 7)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "rescale factor %g is too large for the int16 kernel",
                            product / (double)os);
  d->lhs_offset = -lz;
  d->rhs_offset = -rz;
  d->out_offset = oz;
  tfl_quantized_type_range(out->type, &d->out_min, &d->out_max);
  return TFL_OK;
}

/* Hybrid: the rhs scale, per tensor or one per output column. */
static tfl_status bmm_hybrid_prepare(tfl_context *ctx, const tfl_node *node, const tfl_tensor *rhs,
                                     bmm_data *d) {
  if (rhs->quant.count <= 1) {
    int32_t unused;
    tfl_quant_params(rhs, &d->rhs_scale, &unused);
    return TFL_OK;
  }
  const int col_axis = d->adj_y ? rhs->ndim - 2 : rhs->ndim - 1;
  if (rhs->quant.axis != col_axis || rhs->quant.count != d->cols)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "per-channel rhs '%s' must have one scale per output column (axis "
                            "%d, %d scales); it has %d along axis %d",
                            rhs->name, col_axis, (int)d->cols, rhs->quant.count, rhs->quant.axis);
  d->channel_scales = rhs->quant.scale;
  return TFL_OK;
}

/* A constant rhs: its rows and row sums, computed once into d->block. */
static tfl_status bmm_prepare_constant_rhs(tfl_context *ctx, const tfl_node *node,
                                           const tfl_tensor *rhs, bmm_data *d) {
  if (!tfl_tensor_is_constant(rhs)) return TFL_OK;
  if (d->fast) {
    const size_t weights_bytes = (size_t)d->rhs_mats * sizeof(tfl_gemm_weights);
    const size_t at = (weights_bytes + 63) & ~(size_t)63;
    unsigned char *block = aligned_alloc(64, at + (size_t)d->rhs_mats * d->packed_bytes);
    if (!block) return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory");
    d->block = block;
    d->packed = (tfl_gemm_weights *)(void *)block;
    bmm_pack(d, tfl_context_cpu(ctx), rhs->data, d->packed, block + at);
    return TFL_OK;
  }
  const int need_rows = !d->adj_y;
  const int need_sums = d->kind == BMM_HYBRID && d->asymmetric;
  if (!need_rows && !need_sums) return TFL_OK;
  const size_t n_rows = (size_t)d->rhs_mats * (size_t)d->cols;
  const size_t sums_bytes = need_sums ? n_rows * sizeof(int32_t) : 0;
  const size_t bytes = sums_bytes + (need_rows ? rhs->bytes : 0);
  unsigned char *block = malloc(bytes ? bytes : 1);
  if (!block) return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory");
  d->block = block;
  const void *rows = rhs->data;
  if (need_rows) {
    bmm_transpose(rhs->data, block + sums_bytes, d->rhs_mats, d->depth, d->cols,
                  tfl_type_size(rhs->type));
    rows = d->rhs_rows = block + sums_bytes;
  }
  if (need_sums) {
    bmm_row_sums(rows, n_rows, d->depth, (int32_t *)(void *)block);
    d->row_sums = (const int32_t *)(void *)block;
  }
  return TFL_OK;
}

/* Appends a part of `bytes` to the scratch layout, 64-byte aligned (the scratch is: packed
 * panels want whole cache lines). */
static size_t bmm_layout(size_t *total, size_t bytes) {
  const size_t at = (*total + 63) & ~(size_t)63;
  *total = at + bytes;
  return at;
}

static tfl_status bmm_request_scratch(tfl_context *ctx, tfl_node *node, const tfl_tensor *lhs,
                                      const tfl_tensor *rhs, bmm_data *d) {
  size_t total = 0;
  if (d->adj_x) d->at_lhs = bmm_layout(&total, lhs->bytes);
  if (d->fast && !d->packed) {
    d->at_weights = bmm_layout(&total, (size_t)d->rhs_mats * sizeof(tfl_gemm_weights));
    d->at_packed = bmm_layout(&total, (size_t)d->rhs_mats * d->packed_bytes);
  }
  if (!d->fast && !d->adj_y && !d->rhs_rows) d->at_rhs = bmm_layout(&total, rhs->bytes);
  if (d->kind == BMM_HYBRID) {
    const size_t n_rows = (size_t)d->lhs_mats * (size_t)d->rows;
    d->at_q = bmm_layout(&total, tfl_tensor_count(lhs));
    d->at_rows = bmm_layout(&total, n_rows * sizeof(tfl_hybrid_row));
    if (d->asymmetric && !d->row_sums)
      d->at_sums = bmm_layout(&total, (size_t)d->rhs_mats * (size_t)d->cols * sizeof(int32_t));
  }
  return tfl_context_request_scratch(ctx, node, total, &d->scratch);
}

static void bmm_release(bmm_data *d) {
  free(d->block);
  d->block = NULL;
}

static tfl_status bmm_prepare(tfl_context *ctx, tfl_node *node) {
  bmm_data *d = node->user_data;
  bmm_release(d);
  memset(d, 0, sizeof(*d));
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st == TFL_OK) st = tfl_window_check_options(ctx, node, TFL_OPTS_BATCH_MATMUL);
  if (st != TFL_OK) return st;
  const tfl_tensor *lhs = tfl_node_input(ctx, node, 0);
  const tfl_tensor *rhs = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->adj_x = tfl_opt_bool(node, BMM_OPT_ADJ_X, 0);
  d->adj_y = tfl_opt_bool(node, BMM_OPT_ADJ_Y, 0);
  d->asymmetric = tfl_opt_bool(node, BMM_OPT_ASYMMETRIC, 0);
  int ndim = 0;
  int32_t dims[TFL_MAX_DIMS];
  st = bmm_kind_of(ctx, node, lhs, rhs, out, d);
  if (st == TFL_OK) st = bmm_shapes(ctx, node, lhs, rhs, d, &ndim, dims);
  if (st == TFL_OK && d->kind == BMM_HYBRID) st = bmm_hybrid_prepare(ctx, node, rhs, d);
  if (st == TFL_OK && d->kind != BMM_FLOAT && d->kind != BMM_HYBRID && d->kind != BMM_INT8_RAW)
    st = bmm_quant_prepare(ctx, node, lhs, rhs, out, d);
  if (st == TFL_OK) st = tfl_context_resize(ctx, out, ndim, dims);
  /* Panels are TFL_GEMM_NR columns wide: fewer columns would multiply the rhs's memory. */
  if (st == TFL_OK && d->kind == BMM_FLOAT && tfl_context_cpu(ctx) != TFL_CPU_SCALAR &&
      d->cols >= TFL_GEMM_NR / 2) {
    d->fast = 1;
    d->packed_bytes = tfl_gemm_packed_bytes(d->cols, d->depth);
  }
  if (st == TFL_OK) st = bmm_prepare_constant_rhs(ctx, node, rhs, d);
  if (st == TFL_OK) st = bmm_request_scratch(ctx, node, lhs, rhs, d);
  return st;
}

static void bmm_free(tfl_context *ctx, void *node_data, void *op_user_data) {
  if (node_data) bmm_release(node_data);
}

static const tfl_op_registration bmm_op = {
    .name = "BATCH_MATMUL",
    .builtin_code = TFL_OP_BATCH_MATMUL,
    .version_min = 1,
    .version_max = 4,
    .data_size = sizeof(bmm_data),
    .prepare = bmm_prepare,
    .eval = bmm_eval,
    .free = bmm_free,
    /* int32: the raw output of int8 x int8 */
    .types = TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT8) | TFL_TYPE_BIT(TFL_INT16) |
             TFL_TYPE_BIT(TFL_INT32),
};

const tfl_op_registration *const tfl_kernels_batch_matmul[] = {&bmm_op, NULL};
