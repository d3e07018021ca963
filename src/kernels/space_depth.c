/* DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND, for any element
 * type of fixed size.
 *
 * DEPTH_TO_SPACE and SPACE_TO_DEPTH are axis permutations of a 6-D view of the NHWC tensor
 * (kernels/permute.c). The *_TO_BATCH_ND pair moves pixels between a "space side" tensor
 * [B, S1..Sm, C] and a "batch side" tensor [B * prod(block), s1..sm, C]: batch entry
 * k * B + b holds, at spatial position o, the space pixel o * block + shift(k) - before of image
 * b, where shift(k) enumerates the block offsets in row-major order. SPACE_TO_BATCH_ND writes
 * the batch side (padding with zero, or the zero point for 8-bit types), BATCH_TO_SPACE_ND
 * writes the space side (cropping). TFLite accepts 3-D (NHC) and 4-D (NHWC) inputs; this
 * implementation handles any rank >= 3 with rank - 2 spatial axes. */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/permute.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* Input 0 of a fixed-size type and output 0 of the same type. */
static tfl_status check_data_types(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_status st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st == TFL_OK)
    st = tfl_check_type(ctx, node, tfl_node_output(ctx, node, 0), "output", in->type);
  return st;
}

/* --- DEPTH_TO_SPACE and SPACE_TO_DEPTH -------------------------------------------------- */

typedef struct block_data {
  int32_t view[6]; /* the input seen as a 6-D tensor */
} block_data;

/* Both ops move the same two axes of their 6-D views:
 *   DEPTH_TO_SPACE [N, H, W, b, b, C/b^2] -> [N, H, b, W, b, C/b^2]
 *   SPACE_TO_DEPTH [N, H/b, b, W/b, b, C] -> [N, H/b, W/b, b, b, C] */
static const int block_perm[6] = {0, 1, 3, 2, 4, 5};

/* Common checks; the block size (SpaceToDepthOptions / DepthToSpaceOptions field 0). */
static tfl_status block_prepare_common(tfl_context *ctx, tfl_node *node, int32_t *block) {
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st == TFL_OK) st = check_data_types(ctx, node);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  if (in->ndim != 4)
    return tfl_context_error(ctx, node, "input must be 4-D (NHWC), it has %d dimensions",
                             in->ndim);
  *block = tfl_opt_int(node, 0, 0);
  if (*block < 1) return tfl_context_error(ctx, node, "block_size %d must be >= 1", (int)*block);
  return TFL_OK;
}

static tfl_status depth_to_space_prepare(tfl_context *ctx, tfl_node *node) {
  block_data *d = node->user_data;
  int32_t b = 0;
  tfl_status st = block_prepare_common(ctx, node, &b);
  if (st != TFL_OK) return st;
  const int32_t *in = tfl_node_input(ctx, node, 0)->dims;
  const int64_t b2 = (int64_t)b * b;
  if (in[3] % b2 != 0)
    return tfl_context_error(ctx, node, "depth %d is not a multiple of block_size^2 = %lld",
                             (int)in[3], (long long)b2);
  if ((int64_t)in[1] * b > INT32_MAX || (int64_t)in[2] * b > INT32_MAX)
    return tfl_context_error(ctx, node, "output is too large");
  const int32_t c = (int32_t)(in[3] / b2);
  const int32_t view[6] = {in[0], in[1], in[2], b, b, c};
  memcpy(d->view, view, sizeof(view));
  const int32_t out[4] = {in[0], in[1] * b, in[2] * b, c};
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 4, out);
}

static tfl_status space_to_depth_prepare(tfl_context *ctx, tfl_node *node) {
  block_data *d = node->user_data;
  int32_t b = 0;
  tfl_status st = block_prepare_common(ctx, node, &b);
  if (st != TFL_OK) return st;
  const int32_t *in = tfl_node_input(ctx, node, 0)->dims;
  if (in[1] % b != 0 || in[2] % b != 0)
    return tfl_context_error(ctx, node, "height %d and width %d must be multiples of "
                             "block_size %d", (int)in[1], (int)in[2], (int)b);
  if ((int64_t)in[3] * b * b > INT32_MAX)
    return tfl_context_error(ctx, node, "output depth is too large");
  const int32_t view[6] = {in[0], in[1] / b, b, in[2] / b, b, in[3]};
  memcpy(d->view, view, sizeof(view));
  const int32_t out[4] = {in[0], in[1] / b, in[2] / b, in[3] * b * b};
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 4, out);
}

static tfl_status block_eval(tfl_context *ctx, tfl_node *node) {
  const block_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (out->bytes)
    tfl_permute(6, d->view, block_perm, tfl_type_size(in->type), in->data, out->data);
  return TFL_OK;
}

static const tfl_op_registration reg_depth_to_space = {
    .name = "DEPTH_TO_SPACE",
    .builtin_code = TFL_OP_DEPTH_TO_SPACE,
    .data_size = sizeof(block_data),
    .prepare = depth_to_space_prepare,
    .eval = block_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

static const tfl_op_registration reg_space_to_depth = {
    .name = "SPACE_TO_DEPTH",
    .builtin_code = TFL_OP_SPACE_TO_DEPTH,
    .data_size = sizeof(block_data),
    .prepare = space_to_depth_prepare,
    .eval = block_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

/* --- SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND -------------------------------------------- */

typedef struct space_batch_geom {
  int m; /* spatial axes: 1..m of both tensors */
  int32_t block[TFL_MAX_DIMS];
  int32_t before[TFL_MAX_DIMS]; /* padding (to batch) or crop (to space) before each axis */
  int32_t out_dims[TFL_MAX_DIMS];
} space_batch_geom;

typedef struct space_batch_data {
  int to_batch;      /* SPACE_TO_BATCH_ND */
  int shape_at_eval; /* block_shape or paddings/crops are not constant */
  uint8_t fill;      /* the padding byte */
  space_batch_geom geom;
} space_batch_data;

/* Reads block_shape [m] and the paddings or crops [m, 2], and computes the output shape. */
static tfl_status space_batch_geometry(tfl_context *ctx, const tfl_node *node, int to_batch,
                                       space_batch_geom *g) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *bs = tfl_node_input(ctx, node, 1);
  const tfl_tensor *pc = tfl_node_input(ctx, node, 2);
  const char *what = to_batch ? "paddings" : "crops";
  const int m = in->ndim - 2;
  if (bs->ndim != 1 || bs->dims[0] != m)
    return tfl_context_error(ctx, node, "block_shape must have shape [%d]", m);
  if (pc->ndim != 2 || pc->dims[0] != m || pc->dims[1] != 2)
    return tfl_context_error(ctx, node, "%s must have shape [%d, 2]", what, m);
  int64_t block[TFL_MAX_DIMS], pad[2 * TFL_MAX_DIMS];
  int n;
  tfl_status st = tfl_read_index_tensor(ctx, node, bs, "block_shape", block, TFL_MAX_DIMS, &n);
  if (st == TFL_OK) st = tfl_read_index_tensor(ctx, node, pc, what, pad, 2 * TFL_MAX_DIMS, &n);
  if (st != TFL_OK) return st;
  int64_t batch = in->dims[0], blocks = 1;
  g->m = m;
  for (int i = 0; i < m; i++) {
    const int64_t size = in->dims[i + 1], before = pad[2 * i], after = pad[2 * i + 1];
    if (block[i] < 1 || block[i] > INT32_MAX)
      return tfl_context_error(ctx, node, "block_shape[%d] = %lld must be >= 1", i,
                               (long long)block[i]);
    if (before < 0 || after < 0 || before > INT32_MAX || after > INT32_MAX)
      return tfl_context_error(ctx, node, "%s (%lld, %lld) of dimension %d are invalid", what,
                               (long long)before, (long long)after, i + 1);
    int64_t out;
    if (to_batch) {
      const int64_t padded = size + before + after;
      if (padded % block[i] != 0)
        return tfl_context_error(ctx, node, "padded size %lld of dimension %d is not a "
                                 "multiple of block size %lld", (long long)padded, i + 1,
                                 (long long)block[i]);
      out = padded / block[i];
    } else {
      out = size * block[i] - before - after;
      if (out < 0)
        return tfl_context_error(ctx, node, "crops (%lld, %lld) exceed dimension %d of size "
                                 "%lld", (long long)before, (long long)after, i + 1,
                                 (long long)(size * block[i]));
    }
    if (out > INT32_MAX || blocks > INT32_MAX / block[i])
      return tfl_context_error(ctx, node, "output is too large");
    blocks *= block[i];
    g->block[i] = (int32_t)block[i];
    g->before[i] = (int32_t)before;
    g->out_dims[i + 1] = (int32_t)out;
  }
  if (to_batch) {
    batch *= blocks;
    if (batch > INT32_MAX) return tfl_context_error(ctx, node, "output batch is too large");
  } else {
    if (batch % blocks != 0)
      return tfl_context_error(ctx, node, "batch %lld is not a multiple of the block count "
                               "%lld", (long long)batch, (long long)blocks);
    batch /= blocks;
  }
  g->out_dims[0] = (int32_t)batch;
  g->out_dims[m + 1] = in->dims[m + 1];
  return TFL_OK;
}

/* Quantized 8/16-bit data must keep its parameters (TFLite's rule); int16 needs zero point 0
 * because the padding is written as zero. */
static tfl_status space_batch_check_quant(tfl_context *ctx, const tfl_node *node,
                                          space_batch_data *d) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *out = tfl_node_output(ctx, node, 0);
  float scale;
  int32_t zp;
  tfl_quant_params(out, &scale, &zp);
  d->fill = tfl_type_size(in->type) == 1 ? (uint8_t)zp : 0;
  if (in->type != TFL_UINT8 && in->type != TFL_INT8 && in->type != TFL_INT16) return TFL_OK;
  tfl_status st = tfl_check_same_quant(ctx, node, in, out, "input and output");
  if (st == TFL_OK && in->type == TFL_INT16 && zp != 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "int16 zero point %d, expected 0",
                            (int)zp);
  return st;
}

static tfl_status space_batch_prepare(tfl_context *ctx, tfl_node *node, int to_batch) {
  space_batch_data *d = node->user_data;
  d->to_batch = to_batch;
  tfl_status st = tfl_check_io(ctx, node, 3, 3, 1);
  if (st == TFL_OK) st = check_data_types(ctx, node);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *bs = tfl_node_input(ctx, node, 1);
  const tfl_tensor *pc = tfl_node_input(ctx, node, 2);
  st = tfl_check_index_type(ctx, node, bs, "block_shape");
  if (st == TFL_OK) st = tfl_check_index_type(ctx, node, pc, to_batch ? "paddings" : "crops");
  if (st == TFL_OK) st = space_batch_check_quant(ctx, node, d);
  if (st != TFL_OK) return st;
  if (in->ndim < 3)
    return tfl_context_error(ctx, node, "input must have at least 3 dimensions, it has %d",
                             in->ndim);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->shape_at_eval = !tfl_tensor_is_constant(bs) || !tfl_tensor_is_constant(pc);
  if (d->shape_at_eval) return tfl_context_set_dynamic(ctx, out);
  st = space_batch_geometry(ctx, node, to_batch, &d->geom);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, in->ndim, d->geom.out_dims);
}

static tfl_status space_to_batch_prepare(tfl_context *ctx, tfl_node *node) {
  return space_batch_prepare(ctx, node, 1);
}

static tfl_status batch_to_space_prepare(tfl_context *ctx, tfl_node *node) {
  return space_batch_prepare(ctx, node, 0);
}

/* One pass over the batch side; the space side pointer is NULL where the position falls in
 * the padding (to batch: fill) or the crop (to space: nothing to write). */
typedef struct space_batch_walk {
  const space_batch_geom *g;
  const int32_t *batch_dims, *space_dims;
  size_t batch_step[TFL_MAX_DIMS], space_step[TFL_MAX_DIMS]; /* bytes per index */
  size_t pixel;                                              /* bytes of the last axis */
  int to_batch;
  uint8_t fill;
  int32_t shift[TFL_MAX_DIMS]; /* block offsets of the current batch entry */
} space_batch_walk;

static void space_batch_walk_axis(const space_batch_walk *w, int axis, uint8_t *b, uint8_t *s) {
  if (axis > w->g->m) {
    if (s && w->to_batch)
      memcpy(b, s, w->pixel);
    else if (s)
      memcpy(s, b, w->pixel);
    else
      memset(b, w->fill, w->pixel);
    return;
  }
  const int i = axis - 1;
  for (int32_t o = 0; o < w->batch_dims[axis]; o++) {
    const int64_t pos = (int64_t)o * w->g->block[i] + w->shift[i] - w->g->before[i];
    uint8_t *sp = s && pos >= 0 && pos < w->space_dims[axis]
                      ? s + (size_t)pos * w->space_step[axis] : NULL;
    if (sp || w->to_batch)
      space_batch_walk_axis(w, axis + 1, b + (size_t)o * w->batch_step[axis], sp);
  }
}

static void strides_of(const tfl_tensor *t, size_t elem, size_t *step) {
  size_t s = elem;
  for (int i = t->ndim - 1; i >= 0; i--) {
    step[i] = s;
    s *= (size_t)t->dims[i];
  }
}

static tfl_status space_batch_eval(tfl_context *ctx, tfl_node *node) {
  space_batch_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (d->shape_at_eval) {
    tfl_status st = space_batch_geometry(ctx, node, d->to_batch, &d->geom);
    if (st == TFL_OK) st = tfl_context_resize_dynamic(ctx, out, in->ndim, d->geom.out_dims);
    if (st != TFL_OK) return st;
  }
  if (out->bytes == 0) return TFL_OK; /* an empty input gives an empty output, except padding */
  const size_t elem = tfl_type_size(in->type);
  const tfl_tensor *batch_t = d->to_batch ? out : in, *space_t = d->to_batch ? in : out;
  uint8_t *space = space_t->bytes ? space_t->data : NULL; /* NULL: all padding */
  space_batch_walk w = {.g = &d->geom, .batch_dims = batch_t->dims,
                        .space_dims = space_t->dims, .to_batch = d->to_batch, .fill = d->fill};
  strides_of(batch_t, elem, w.batch_step);
  strides_of(space_t, elem, w.space_step);
  w.pixel = w.batch_step[d->geom.m];
  const int32_t images = space_t->dims[0];
  for (int32_t k = 0; k < batch_t->dims[0]; k++) {
    int32_t rest = k / images;
    for (int i = d->geom.m - 1; i >= 0; i--) {
      w.shift[i] = rest % d->geom.block[i];
      rest /= d->geom.block[i];
    }
    space_batch_walk_axis(&w, 1, (uint8_t *)batch_t->data + (size_t)k * w.batch_step[0],
                          space ? space + (size_t)(k % images) * w.space_step[0] : NULL);
  }
  return TFL_OK;
}

static const tfl_op_registration reg_space_to_batch_nd = {
    .name = "SPACE_TO_BATCH_ND",
    .builtin_code = TFL_OP_SPACE_TO_BATCH_ND,
    .data_size = sizeof(space_batch_data),
    .prepare = space_to_batch_prepare,
    .eval = space_batch_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

static const tfl_op_registration reg_batch_to_space_nd = {
    .name = "BATCH_TO_SPACE_ND",
    .builtin_code = TFL_OP_BATCH_TO_SPACE_ND,
    .data_size = sizeof(space_batch_data),
    .prepare = batch_to_space_prepare,
    .eval = space_batch_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

const tfl_op_registration *const tfl_kernels_space_depth[] = {
    &reg_depth_to_space, &reg_space_to_depth, &reg_space_to_batch_nd, &reg_batch_to_space_nd,
    NULL};
