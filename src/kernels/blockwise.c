#include "kernels/blockwise.h"

#include <string.h>

#include "kernels/half.h"
#include "kernels/simd.h"

/* Blocks of at most this many values have exact partial sums (see blockwise.h). */
#define EXACT_BLOCK 16384
/* Beyond this a block's float partial sums could leave the int32 range TFLite stores them
 * in (|q * w| <= 1024 per value). */
#define MAX_BLOCK (1 << 21)

static tfl_status check_weights(tfl_context *ctx, const tfl_node *node, const tfl_tensor *w,
                                const tfl_quant_details *qd) {
  if (!qd->present)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "weights '%s' are marked blockwise-quantized but the model gives "
                            "no blockwise parameters (scales, block size)",
                            w->name);
  if (w->type != TFL_INT4)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "blockwise-quantized weights '%s' have type %s; only int4 is "
                            "supported",
                            w->name, tfl_type_name(w->type));
  if (!tfl_tensor_is_constant(w))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "blockwise-quantized weights '%s' must be constant", w->name);
  const size_t count = tfl_tensor_count(w);
  if (w->bytes < count / 2 + count % 2)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "weights '%s' hold %zu bytes, too few for %zu int4 values",
                            w->name, w->bytes, count);
  return TFL_OK;
}

static tfl_status check_block(tfl_context *ctx, const tfl_node *node, const tfl_tensor *w,
                              int32_t block, size_t in_features) {
  if (block <= 0 || block > MAX_BLOCK)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "block size %d of weights '%s' is not in [1, %d]", (int)block,
                            w->name, MAX_BLOCK);
  if (in_features % (size_t)block != 0)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "block size %d of weights '%s' does not divide their %zu input "
                            "features",
                            (int)block, w->name, in_features);
  return TFL_OK;
}

static tfl_status check_scales(tfl_context *ctx, const tfl_node *node, const tfl_tensor *w,
                               const tfl_tensor *s, const tfl_blockwise_fc *bw) {
  if (!s)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the blockwise scales tensor of weights '%s' is missing", w->name);
  if (s->type != TFL_FLOAT16 || !tfl_tensor_is_constant(s))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "blockwise scales '%s' of weights '%s' must be a constant float16 "
                            "tensor, not %s%s",
                            s->name, w->name, tfl_tensor_is_constant(s) ? "" : "non-constant ",
                            tfl_type_name(s->type));
  const size_t blocks = bw->in_features / bw->block_size;
  if (s->ndim != 2 || (size_t)s->dims[0] != bw->units || (size_t)s->dims[1] != blocks)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "blockwise scales '%s' of weights '%s' must have shape [%zu, %zu] "
                            "(units, input features / block size %zu)",
                            s->name, w->name, bw->units, blocks, bw->block_size);
  return TFL_OK;
}

/* Element i of packed int4 data, sign-extended. */
static int32_t int4_at(const uint8_t *w, size_t i) {
  const unsigned nibble = (i & 1) ? w[i >> 1] >> 4 : w[i >> 1] & 0xfu;
  return (int32_t)(nibble ^ 8u) - 8;
}

/* dot(q, w[first ...]) over n values, and the sum of those weights in *wsum. */
static int32_t block_dot(const int8_t *q, const uint8_t *w, size_t first, size_t n,
                         int32_t *wsum) {
  const int rounded = n > EXACT_BLOCK;
  int32_t dot = 0, sum = 0;
  for (size_t i = 0; i < n; i++) {
    const int32_t v = int4_at(w, first + i);
    const int32_t p = (int32_t)q[i] * v;
    sum += v;
    dot = rounded ? (int32_t)((float)dot + (float)p) : dot + p;
  }
  *wsum = sum;
  return dot;
}

static void group_portable(const int8_t *q, const uint8_t *w, size_t first, size_t block,
                           size_t n, const uint16_t *scales, float *prod, float *wprod) {
  for (size_t k = 0; k < n; k++) {
    int32_t wsum;
    const int32_t dot = block_dot(q + k * block, w, first + k * block, block, &wsum);
    const float s = tfl_half_to_float(scales[k]);
    prod[k] = (float)dot * s;
    wprod[k] = s * (float)wsum;
  }
}

static tfl_blockwise_group_fn pick_group(tfl_cpu_level level, size_t block) {
  const int vector = block % TFL_BLOCKWISE_STEP == 0 && block <= EXACT_BLOCK;
#if TFL_HAVE_X86_KERNELS
  if (vector && tfl_simd_avx2(level)) return tfl_blockwise_group_avx2;
#endif
#if TFL_HAVE_ARM_KERNELS
  if (vector && tfl_simd_neon(level)) return tfl_blockwise_group_neon;
#endif
  (void)level;
  (void)vector;
  return group_portable;
}

tfl_status tfl_blockwise_fc_prepare(tfl_context *ctx, const tfl_node *node,
                                    const tfl_tensor *weights, const tfl_quant_details *qd,
                                    tfl_blockwise_fc *bw) {
  bw->active = 0;
  bw->units = (size_t)weights->dims[0];
  bw->in_features = (size_t)weights->dims[1];
  tfl_status st = check_weights(ctx, node, weights, qd);
  if (st == TFL_OK) st = check_block(ctx, node, weights, qd->block_size, bw->in_features);
  if (st != TFL_OK) return st;
  bw->block_size = (size_t)qd->block_size;
  bw->scales = qd->scales;
  st = check_scales(ctx, node, weights, tfl_context_tensor(ctx, qd->scales), bw);
  if (st != TFL_OK) return st;
  bw->group = pick_group(tfl_context_cpu(ctx), bw->block_size);
  bw->active = 1;
  return TFL_OK;
}

/* The products of blocks [j, j + n) of unit u (n < TFL_BLOCKWISE_GROUP only at the end of
 * the row, where the scales are copied so that the kernel may read a whole group). */
static void group_products(const tfl_blockwise_fc *bw, const int8_t *q, const uint8_t *weights,
                           const uint16_t *unit_scales, size_t u, size_t j, size_t n,
                           float *prod, float *wprod) {
  uint16_t padded[TFL_BLOCKWISE_GROUP];
  const uint16_t *s = unit_scales + j;
  if (n < TFL_BLOCKWISE_GROUP) {
    memset(padded, 0, sizeof(padded));
    memcpy(padded, s, n * sizeof(*s));
    s = padded;
  }
  const size_t offset = j * bw->block_size;
  bw->group(q + offset, weights, u * bw->in_features + offset, bw->block_size, n, s, prod,
            wprod);
}

static float unit_output(const tfl_blockwise_fc *bw, const int8_t *q, const tfl_hybrid_row *row,
                         const uint8_t *weights, const uint16_t *scales, size_t u) {
  const size_t blocks = bw->in_features / bw->block_size;
  float out = 0.0f, wsum_scaled = 0.0f;
  for (size_t j = 0; j < blocks; j += TFL_BLOCKWISE_GROUP) {
    const size_t n = blocks - j < TFL_BLOCKWISE_GROUP ? blocks - j : TFL_BLOCKWISE_GROUP;
    float prod[TFL_BLOCKWISE_GROUP], wprod[TFL_BLOCKWISE_GROUP];
    group_products(bw, q, weights, scales + u * blocks, u, j, n, prod, wprod);
    for (size_t k = 0; k < n; k++) {
      out += prod[k];
      wsum_scaled += wprod[k];
    }
  }
  out -= (float)row->zero_point * wsum_scaled;
  return out * row->scale;
}

typedef struct blockwise_job {
  const tfl_blockwise_fc *bw;
  const int8_t *q;
  const tfl_hybrid_row *rows;
  size_t batches;
  const uint8_t *weights;
  const uint16_t *scales;
  const float *bias;
  float *out;
} blockwise_job;

/* Units [u0, u1) of every batch: each unit's sums are its own, so any split over threads
 * gives the same bits. Batches run inside so that a unit's weights stay in cache. */
static void blockwise_units(const void *arg, int32_t u0, int32_t u1) {
  const blockwise_job *j = arg;
  const size_t units = j->bw->units;
  for (size_t u = (size_t)u0; u < (size_t)u1; u++)
    for (size_t b = 0; b < j->batches; b++) {
      const int8_t *q = j->q + b * j->bw->in_features;
      const float v = unit_output(j->bw, q, &j->rows[b], j->weights, j->scales, u);
      j->out[b * units + u] = j->bias ? v + j->bias[u] : v;
    }
}

void tfl_blockwise_fc_run(tfl_context *ctx, const tfl_blockwise_fc *bw, const int8_t *q,
                          const tfl_hybrid_row *rows, size_t batches, const uint8_t *weights,
                          const float *bias, float *out) {
  const blockwise_job job = {bw,     q,   rows, batches, weights,
                             tfl_context_tensor(ctx, bw->scales)->data, bias, out};
  tfl_split_rows(ctx, (int32_t)bw->units, blockwise_units, &job);
}
