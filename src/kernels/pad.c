/* PAD, PADV2 and MIRROR_PAD.
 *
 * The paddings input is an int32/int64 [rank, 2] matrix of (before, after) counts. The output
 * is built one dimension at a time: each block's middle is the padded input block, and its
 * before/after parts are filled with the constant or copied, mirrored, from the middle. */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { PAD_CONSTANT = -1, PAD_SYMMETRIC = 0, PAD_REFLECT = 1 };

typedef struct pad_data {
  int shape_at_eval;   /* the paddings are not constant */
  int mode;            /* PAD_CONSTANT, or the mirror offset (1 REFLECT, 0 SYMMETRIC) */
  int fill_from_input; /* PADV2's constant_values tensor holds the fill value */
  uint8_t fill[16];    /* otherwise: the fill value's bytes (zero or the zero point) */
} pad_data;

typedef struct pad_geom {
  int32_t before[TFL_MAX_DIMS], after[TFL_MAX_DIMS], out_dims[TFL_MAX_DIMS];
} pad_geom;

/* Reads and checks the paddings: shape [rank, 2], non-negative, output dimensions that fit,
 * and for mirror modes at most (size - offset) on each side, as TensorFlow requires. */
static tfl_status pad_geometry(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               int mode, pad_geom *g) {
  const tfl_tensor *p = tfl_node_input(ctx, node, 1);
  if (p->ndim != 2 || p->dims[1] != 2 || p->dims[0] != in->ndim)
    return tfl_context_error(ctx, node, "paddings must have shape [%d, 2]", in->ndim);
  int64_t v[2 * TFL_MAX_DIMS];
  int n;
  tfl_status st = tfl_read_index_tensor(ctx, node, p, "paddings", v, 2 * TFL_MAX_DIMS, &n);
  if (st != TFL_OK) return st;
  for (int d = 0; d < in->ndim; d++) {
    int64_t before = v[2 * d], after = v[2 * d + 1], size = in->dims[d];
    if (before < 0 || after < 0)
      return tfl_context_error(ctx, node, "negative padding (%lld, %lld) in dimension %d",
                               (long long)before, (long long)after, d);
    if (before > INT32_MAX - size || after > INT32_MAX - size - before)
      return tfl_context_error(ctx, node, "padded dimension %d is too large", d);
    if (mode != PAD_CONSTANT && (before > size - mode || after > size - mode) && (before || after))
      return tfl_context_error(
          ctx, node, "padding (%lld, %lld) too large for a %s pad of dimension %d of size %lld",
          (long long)before, (long long)after, mode == PAD_REFLECT ? "REFLECT" : "SYMMETRIC", d,
          (long long)size);
    g->before[d] = (int32_t)before;
    g->after[d] = (int32_t)after;
    g->out_dims[d] = (int32_t)(size + before + after);
  }
  return TFL_OK;
}

/* Checks shared by the three ops; the output shape now, or a dynamic output. */
static tfl_status pad_prepare_common(tfl_context *ctx, tfl_node *node) {
  pad_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *paddings = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  tfl_status st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st == TFL_OK) st = tfl_check_type(ctx, node, out, "output", in->type);
  if (st == TFL_OK) st = tfl_check_index_type(ctx, node, paddings, "paddings");
  if (st != TFL_OK) return st;
  if (tfl_type_size(in->type) > sizeof(d->fill))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "type %s is not supported",
                            tfl_type_name(in->type));
  d->shape_at_eval = !tfl_tensor_is_constant(paddings);
  if (d->shape_at_eval) return tfl_context_set_dynamic(ctx, out);
  pad_geom g;
  st = pad_geometry(ctx, node, in, d->mode, &g);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, in->ndim, g.out_dims);
}

/* --- filling ---------------------------------------------------------------------------- */

/* Writes n copies of the elem-byte value. */
static void fill_pattern(uint8_t *dst, size_t n, size_t elem, const uint8_t *value) {
  if (n == 0) return;
  size_t total = n * elem, done = elem;
  memcpy(dst, value, elem);
  while (done < total) { /* doubles the filled prefix */
    size_t chunk = done < total - done ? done : total - done;
    memcpy(dst + done, dst, chunk);
    done += chunk;
  }
}

typedef struct pad_plan {
  const pad_geom *g;
  int ndim, mode;
  const int32_t *in_dims;
  size_t elem;
  size_t in_step[TFL_MAX_DIMS], out_step[TFL_MAX_DIMS]; /* bytes per index of each dimension */
  int flat_from; /* dimensions from here on are unpadded: a block there is one memcpy */
  const uint8_t *fill;
} pad_plan;

/* Builds the output block of dimension d (at out) from the input block at in. */
static void pad_block(const pad_plan *p, int d, const uint8_t *in, uint8_t *out) {
  const size_t step = p->out_step[d];
  const int32_t n = p->in_dims[d], before = p->g->before[d], after = p->g->after[d];
  uint8_t *mid = out + (size_t)before * step;
  uint8_t *end = mid + (size_t)n * step;
  if (d + 1 >= p->flat_from) {
    if (n > 0) memcpy(mid, in, (size_t)n * p->in_step[d]);
  } else {
    for (int32_t i = 0; i < n; i++) pad_block(p, d + 1, in + i * p->in_step[d], mid + i * step);
  }
  if (p->mode == PAD_CONSTANT) {
    fill_pattern(out, (size_t)before * (step / p->elem), p->elem, p->fill);
    fill_pattern(end, (size_t)after * (step / p->elem), p->elem, p->fill);
    return;
  }
  /* REFLECT leaves the edge element out of the mirror image (offset 1), SYMMETRIC repeats it. */
  for (int32_t j = 0; j < before; j++)
    memcpy(out + (size_t)j * step, mid + (size_t)(before - 1 - j + p->mode) * step, step);
  for (int32_t j = 0; j < after; j++)
    memcpy(end + (size_t)j * step, mid + (size_t)(n - 1 - p->mode - j) * step, step);
}

static tfl_status pad_eval(tfl_context *ctx, tfl_node *node) {
  const pad_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  pad_geom g;
  tfl_status st = pad_geometry(ctx, node, in, d->mode, &g);
  if (st == TFL_OK && d->shape_at_eval)
    st = tfl_context_resize_dynamic(ctx, out, in->ndim, g.out_dims);
  if (st != TFL_OK) return st;
  if (out->bytes == 0) return TFL_OK;
  pad_plan p = {.g = &g,
                .ndim = in->ndim,
                .mode = d->mode,
                .in_dims = in->dims,
                .elem = tfl_type_size(in->type),
                .fill = d->fill};
  if (d->fill_from_input) p.fill = tfl_node_input(ctx, node, 2)->data;
  if (in->ndim == 0) {
    memcpy(out->data, in->data, p.elem);
    return TFL_OK;
  }
  size_t in_step = p.elem, out_step = p.elem;
  for (int i = in->ndim - 1; i >= 0; i--) {
    p.in_step[i] = in_step;
    p.out_step[i] = out_step;
    in_step *= (size_t)in->dims[i];
    out_step *= (size_t)g.out_dims[i];
  }
  p.flat_from = in->ndim;
  while (p.flat_from > 1 && !g.before[p.flat_from - 1] && !g.after[p.flat_from - 1]) p.flat_from--;
  pad_block(&p, 0, in->data, out->data);
  return TFL_OK;
}

/* --- PAD and PADV2 ---------------------------------------------------------------------- */

/* TFLite pads quantized tensors (uint8 always, int8/int16 when quantized) with the output's
 * zero point, and requires PADV2's constant to share the output's quantization. */
static int pads_with_zero_point(const tfl_tensor *t) {
  return t->type == TFL_UINT8 ||
         ((t->type == TFL_INT8 || t->type == TFL_INT16) && t->quant.count > 0);
}

static tfl_status pad_zero_point_fill(tfl_context *ctx, const tfl_node *node, const tfl_tensor *out,
                                      pad_data *d) {
  float scale;
  int32_t zp;
  tfl_quant_params(out, &scale, &zp);
  int32_t lo = out->type == TFL_UINT8 ? 0 : out->type == TFL_INT8 ? INT8_MIN : INT16_MIN;
  int32_t hi = out->type == TFL_UINT8 ? UINT8_MAX : out->type == TFL_INT8 ? INT8_MAX : INT16_MAX;
  if (zp < lo || zp > hi)
    return tfl_context_error(ctx, node, "zero point %d does not fit in %s", (int)zp,
                             tfl_type_name(out->type));
  if (out->type == TFL_INT16) {
    int16_t v = (int16_t)zp;
    memcpy(d->fill, &v, sizeof(v));
  } else {
    d->fill[0] = (uint8_t)(out->type == TFL_INT8 ? (uint8_t)(int8_t)zp : (uint8_t)zp);
  }
  return TFL_OK;
}

static tfl_status pad_prepare(tfl_context *ctx, tfl_node *node) {
  pad_data *d = node->user_data;
  d->mode = PAD_CONSTANT;
  tfl_status st = tfl_check_io(ctx, node, 2, 3, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *value = tfl_node_input(ctx, node, 2);
  const tfl_tensor *out = tfl_node_output(ctx, node, 0);
  memset(d->fill, 0, sizeof(d->fill));
  d->fill_from_input = value != NULL;
  if (value) {
    if (value->type != in->type || tfl_tensor_count(value) != 1)
      return tfl_context_error(ctx, node, "constant_values must be one %s value",
                               tfl_type_name(in->type));
    if (pads_with_zero_point(in))
      st = tfl_check_same_quant(ctx, node, value, out, "constant_values and output");
  } else if (pads_with_zero_point(in)) {
    st = pad_zero_point_fill(ctx, node, out, d);
  }
  if (st != TFL_OK) return st;
  return pad_prepare_common(ctx, node);
}

static const tfl_op_registration reg_pad = {
    .name = "PAD",
    .builtin_code = TFL_OP_PAD,
    .data_size = sizeof(pad_data),
    .prepare = pad_prepare,
    .eval = pad_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

static const tfl_op_registration reg_padv2 = {
    .name = "PADV2",
    .builtin_code = TFL_OP_PADV2,
    .data_size = sizeof(pad_data),
    .prepare = pad_prepare,
    .eval = pad_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

/* --- MIRROR_PAD ------------------------------------------------------------------------- */

static tfl_status mirror_pad_prepare(tfl_context *ctx, tfl_node *node) {
  pad_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *out = tfl_node_output(ctx, node, 0);
  /* MirrorPadOptions.mode: 0 REFLECT, 1 SYMMETRIC. */
  int32_t mode = tfl_opt_int(node, 0, 0);
  if (mode != 0 && mode != 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "unknown mirror pad mode %d", (int)mode);
  d->mode = mode == 0 ? PAD_REFLECT : PAD_SYMMETRIC;
  d->fill_from_input = 0;
  if (in->type == TFL_UINT8 || in->type == TFL_INT8 || in->type == TFL_INT16) {
    st = tfl_check_same_quant(ctx, node, in, out, "input and output");
    if (st != TFL_OK) return st;
  }
  if (in->type == TFL_INT16) {
    float scale;
    int32_t zp;
    tfl_quant_params(in, &scale, &zp);
    if (zp != 0)
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "int16 zero point %d, expected 0",
                              (int)zp);
  }
  return pad_prepare_common(ctx, node);
}

static const tfl_op_registration reg_mirror_pad = {
    .name = "MIRROR_PAD",
    .builtin_code = TFL_OP_MIRROR_PAD,
    .data_size = sizeof(pad_data),
    .prepare = mirror_pad_prepare,
    .eval = pad_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

const tfl_op_registration *const tfl_kernels_pad[] = {&reg_pad, &reg_padv2, &reg_mirror_pad, NULL};
