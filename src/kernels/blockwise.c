#include "kernels/blockwise.h"

#include <stdlib.h>
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

/* The dot products of the tile's rows [at, at + n) with w[first ...], unpacking each weight
 * once for all rows. */
static void block_dots(const tfl_blockwise_tile *t, size_t at, size_t first, size_t n,
                       int32_t *dots) {
  const int rounded = n > EXACT_BLOCK;
  for (size_t r = 0; r < t->rows; r++) dots[r] = 0;
  for (size_t i = 0; i < n; i++) {
    const int32_t v = int4_at(t->w, first + i);
    for (size_t r = 0; r < t->rows; r++) {
      const int32_t p = (int32_t)t->q[r * t->q_stride + at + i] * v;
      dots[r] = rounded ? (int32_t)((float)dots[r] + (float)p) : dots[r] + p;
    }
  }
}

static void tile_portable(const tfl_blockwise_tile *t, float *acc) {
  for (size_t i = 0; i < t->units; i++) {
    float *lanes = acc + i * t->rows;
    for (size_t r = 0; r < t->rows; r++) lanes[r] = 0.0f;
    for (size_t k = 0; k < t->blocks; k++) {
      int32_t dots[TFL_BLOCKWISE_LANES];
      block_dots(t, k * t->block, t->first + i * t->features + k * t->block, t->block, dots);
      const float s = tfl_half_to_float(t->scales[i * t->blocks + k]);
      for (size_t r = 0; r < t->rows; r++) {
        const float prod = (float)dots[r] * s;
        tfl_blockwise_add_products(&lanes[r], &prod, 1);
      }
    }
  }
}

/* The kernel for the level and block size, and what it takes. */
static void pick_kernel(tfl_cpu_level level, tfl_blockwise_fc *bw) {
  const int vector = bw->block_size % TFL_BLOCKWISE_STEP == 0 && bw->block_size <= EXACT_BLOCK;
  bw->kernel = tile_portable;
  bw->split = bw->need_sums = 0;
  if (!vector) return;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) {
    bw->kernel = tfl_blockwise_tile_avx2;
    bw->split = bw->need_sums = 1;
  }
#endif
#if TFL_HAVE_ARM_KERNELS
  if (tfl_simd_neon(level)) {
    bw->kernel =
        level >= TFL_CPU_NEON_DOT ? tfl_blockwise_tile_neon_dot : tfl_blockwise_tile_neon;
    bw->split = 1;
  }
#endif
  (void)level;
}

/* The sum of the n int4 values from element `first`: whole bytes at a time when both are
 * even. */
static int32_t weight_sum(const uint8_t *w, size_t first, size_t n) {
  int32_t sum = 0;
  if ((first | n) % 2 == 0) {
    const uint8_t *b = w + first / 2;
    for (size_t i = 0; i < n / 2; i++)
      sum += (int32_t)(((b[i] & 15u) ^ 8u) + ((b[i] >> 4) ^ 8u)) - 16;
    return sum;
  }
  for (size_t i = 0; i < n; i++) sum += int4_at(w, first + i);
  return sum;
}

/* Each unit's sum over blocks, in order, of s_k * float(sum of the block's weights): the
 * zero-point term of every output of the unit. */
static tfl_status sum_weights(tfl_context *ctx, const tfl_node *node, const uint8_t *w,
                              const uint16_t *scales, tfl_blockwise_fc *bw) {
  tfl_blockwise_fc_free(bw);
  bw->wsum_scaled = malloc((bw->units ? bw->units : 1) * sizeof(float));
  if (!bw->wsum_scaled)
    return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY,
                            "no memory for the weight sums of %zu units", bw->units);
  const size_t blocks = bw->in_features / bw->block_size;
  for (size_t u = 0; u < bw->units; u++) {
    float total = 0.0f;
    for (size_t k = 0; k < blocks; k++) {
      const int32_t sum =
          weight_sum(w, u * bw->in_features + k * bw->block_size, bw->block_size);
      total += tfl_half_to_float(scales[u * blocks + k]) * (float)sum;
    }
    bw->wsum_scaled[u] = total;
  }
  return TFL_OK;
}

/* Blocks of a row in the code sums' scratch: whole groups, so that kernels may read one. */
static size_t sums_stride(const tfl_blockwise_fc *bw) {
  const size_t blocks = bw->in_features / bw->block_size;
  return (blocks + TFL_BLOCKWISE_GROUP - 1) / TFL_BLOCKWISE_GROUP * TFL_BLOCKWISE_GROUP;
}

static tfl_status request_scratch(tfl_context *ctx, tfl_node *node, size_t batches,
                                  tfl_blockwise_fc *bw) {
  tfl_status st =
      tfl_hybrid_request_scratch(ctx, node, batches * bw->in_features, batches, &bw->input);
  bw->sums = -1;
  if (st != TFL_OK || !bw->need_sums) return st;
  return tfl_context_request_scratch(ctx, node, batches * sums_stride(bw) * sizeof(int32_t),
                                     &bw->sums);
}

tfl_status tfl_blockwise_fc_prepare(tfl_context *ctx, tfl_node *node, const tfl_tensor *weights,
                                    const tfl_quant_details *qd, size_t batches,
                                    tfl_blockwise_fc *bw) {
  bw->active = 0;
  bw->units = (size_t)weights->dims[0];
  bw->in_features = (size_t)weights->dims[1];
  tfl_status st = check_weights(ctx, node, weights, qd);
  if (st == TFL_OK) st = check_block(ctx, node, weights, qd->block_size, bw->in_features);
  if (st != TFL_OK) return st;
  bw->block_size = (size_t)qd->block_size;
  bw->scales = qd->scales;
  const tfl_tensor *scales = tfl_context_tensor(ctx, qd->scales);
  st = check_scales(ctx, node, weights, scales, bw);
  if (st == TFL_OK) st = sum_weights(ctx, node, weights->data, scales->data, bw);
  if (st != TFL_OK) return st;
  pick_kernel(tfl_context_cpu(ctx), bw);
  st = request_scratch(ctx, node, batches, bw);
  if (st != TFL_OK) return st;
  bw->active = 1;
  return TFL_OK;
}

void tfl_blockwise_fc_free(tfl_blockwise_fc *bw) {
  free(bw->wsum_scaled);
  bw->wsum_scaled = NULL;
}

/* Reorders a row's codes into the split layout (blockwise.h). */
static void split_row(int8_t *q, size_t n, size_t block) {
  const size_t segment = block == TFL_BLOCKWISE_STEP ? n : block;
  for (size_t start = 0; start < n; start += segment)
    for (size_t i = start; i < start + segment;) {
      const size_t chunk = start + segment - i >= 2 * TFL_BLOCKWISE_STEP ? 2 * TFL_BLOCKWISE_STEP
                                                                         : TFL_BLOCKWISE_STEP;
      int8_t codes[2 * TFL_BLOCKWISE_STEP];
      memcpy(codes, q + i, chunk);
      for (size_t j = 0; j < chunk / 2; j++) {
        q[i + j] = codes[2 * j];
        q[i + chunk / 2 + j] = codes[2 * j + 1];
      }
      i += chunk;
    }
}

/* The sums of each block's codes of a row, zeros after the last block up to `stride`. */
static void sum_blocks(const int8_t *q, size_t block, size_t blocks, size_t stride,
                       int32_t *sums) {
  for (size_t k = 0; k < stride; k++) {
    int32_t sum = 0;
    for (size_t i = 0; k < blocks && i < block; i++) sum += q[k * block + i];
    sums[k] = sum;
  }
}

typedef struct blockwise_job {
  const tfl_blockwise_fc *bw;
  size_t blocks, sums_stride;
  const int8_t *q;
  const tfl_hybrid_row *params;
  const int32_t *sums;
  size_t batches;
  const uint8_t *weights;
  const uint16_t *scales;
  const float *bias;
  float *out;
} blockwise_job;

/* An output from its kernel sum: the zero-point term, the row scale and the bias, in the file
 * comment's order. */
static float finish_output(float acc, const tfl_hybrid_row *row, float wsum_scaled,
                           const float *bias) {
  float v = acc;
  v -= (float)row->zero_point * wsum_scaled;
  v *= row->scale;
  return bias ? v + *bias : v;
}

/* The tile of units [u, u + units) and rows [b, b + rows). */
static void run_tile(const blockwise_job *j, size_t u, size_t units, size_t b, size_t rows) {
  const tfl_blockwise_fc *bw = j->bw;
  const size_t k = bw->in_features;
  const tfl_blockwise_tile t = {j->q + b * k,
                                k,
                                j->sums ? j->sums + b * j->sums_stride : NULL,
                                j->sums_stride,
                                rows,
                                j->weights,
                                u * k,
                                j->scales + u * j->blocks,
                                units,
                                k,
                                bw->block_size,
                                j->blocks};
  float acc[TFL_BLOCKWISE_LANES];
  bw->kernel(&t, acc);
  for (size_t l = 0; l < units * rows; l++) {
    const size_t i = u + l / rows, r = b + l % rows;
    j->out[r * bw->units + i] =
        finish_output(acc[l], &j->params[r], bw->wsum_scaled[i], j->bias ? j->bias + i : NULL);
  }
}

/* Units [u0, u1) of every batch in tiles: up to four rows of one unit, or with fewer rows up
 * to four units (blockwise.h). Each output's sums are its own, so any tiling and any split
 * over threads give the same bits. */
static void blockwise_units(const void *arg, int32_t u0, int32_t u1) {
  const blockwise_job *j = arg;
  const size_t rows = j->batches < TFL_BLOCKWISE_LANES ? j->batches : TFL_BLOCKWISE_LANES;
  const size_t units = TFL_BLOCKWISE_LANES / rows;
  for (size_t u = (size_t)u0; u < (size_t)u1; u += units) {
    const size_t nu = (size_t)u1 - u < units ? (size_t)u1 - u : units;
    for (size_t b = 0; b < j->batches; b += rows)
      run_tile(j, u, nu, b, j->batches - b < rows ? j->batches - b : rows);
  }
}

void tfl_blockwise_fc_eval(tfl_context *ctx, const tfl_node *node, const tfl_blockwise_fc *bw,
                           const float *x, size_t batches, const uint8_t *weights,
                           const float *bias, float *out) {
  if (batches == 0) return;
  int8_t *q = tfl_context_scratch(ctx, node, bw->input.values);
  tfl_hybrid_row *params = tfl_context_scratch(ctx, node, bw->input.rows);
  int32_t *sums = bw->need_sums ? tfl_context_scratch(ctx, node, bw->sums) : NULL;
  const size_t k = bw->in_features, blocks = k / bw->block_size, stride = sums_stride(bw);
  /* TFLite quantizes the rows asymmetrically whatever asymmetric_quantize_inputs says. */
  tfl_hybrid_quantize_rows_cpu(tfl_context_cpu(ctx), x, batches, k, 1, q, params);
  for (size_t b = 0; b < batches; b++) {
    if (sums) sum_blocks(q + b * k, bw->block_size, blocks, stride, sums + b * stride);
    if (bw->split) split_row(q + b * k, k, bw->block_size);
  }
  const blockwise_job job = {bw,      blocks,  stride,
                             q,       params,  sums,
                             batches, weights, tfl_context_tensor(ctx, bw->scales)->data,
                             bias,    out};
  tfl_split_rows(ctx, (int32_t)bw->units, blockwise_units, &job);
}
