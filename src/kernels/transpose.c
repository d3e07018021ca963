/* TRANSPOSE, TILE and BROADCAST_TO: ops that rearrange or repeat whole elements by index
 * arithmetic, for any element type of fixed size.
 *
 * TRANSPOSE moves axes (kernels/permute.c). TILE and BROADCAST_TO both repeat the input along
 * each axis: TILE by its multiples, BROADCAST_TO by the target size of the axes where the
 * input has size 1 (after left-padding the input shape with ones), so both share one
 * "expand" routine. The shape-giving input (perm, multiples, shape) may be int32 or int64;
 * when it is not constant the output is dynamic and the geometry is computed in eval. */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/permute.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

/* Checks shared by the three ops: two inputs, one output of the input's type. */
/* strings: whether the op also moves strings (TFLite's TILE does; TRANSPOSE and BROADCAST_TO
 * do not). */
static tfl_status check_data_io(tfl_context *ctx, const tfl_node *node, const char *what,
                                int strings) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  if (!strings || in->type != TFL_STRING) st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st == TFL_OK)
    st = tfl_check_type(ctx, node, tfl_node_output(ctx, node, 0), "output", in->type);
  if (st == TFL_OK) st = tfl_check_index_type(ctx, node, tfl_node_input(ctx, node, 1), what);
  return st;
}

/* --- TRANSPOSE -------------------------------------------------------------------------- */

typedef struct transpose_data {
  int shape_at_eval; /* perm is not constant */
  int perm[TFL_MAX_DIMS];
} transpose_data;

/* Reads perm: a vector of one entry per input axis, each in [-rank, rank) (TFLite adds rank
 * to negative entries), no axis twice. */
static tfl_status transpose_read_perm(tfl_context *ctx, const tfl_node *node, int *perm,
                                      int32_t *out_dims) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *p = tfl_node_input(ctx, node, 1);
  if (p->ndim != 1 || p->dims[0] != in->ndim)
    return tfl_context_error(ctx, node, "perm must have shape [%d] for a %d-D input", in->ndim,
                             in->ndim);
  int64_t v[TFL_MAX_DIMS];
  int n;
  tfl_status st = tfl_read_index_tensor(ctx, node, p, "perm", v, TFL_MAX_DIMS, &n);
  if (st != TFL_OK) return st;
  unsigned seen = 0;
  for (int i = 0; i < n; i++) {
    int axis;
    if (!tfl_axis_normalize(v[i], in->ndim, &axis))
      return tfl_context_error(ctx, node, "perm[%d] = %lld is out of range for a %d-D input", i,
                               (long long)v[i], in->ndim);
    if (seen & (1u << axis))
      return tfl_context_error(ctx, node, "perm names axis %d twice", axis);
    seen |= 1u << axis;
    perm[i] = axis;
    out_dims[i] = in->dims[axis];
  }
  return TFL_OK;
}

static tfl_status transpose_prepare(tfl_context *ctx, tfl_node *node) {
  transpose_data *d = node->user_data;
  tfl_status st = check_data_io(ctx, node, "perm", 0);
  if (st != TFL_OK) return st;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->shape_at_eval = !tfl_tensor_is_constant(tfl_node_input(ctx, node, 1));
  if (d->shape_at_eval) return tfl_context_set_dynamic(ctx, out);
  int32_t dims[TFL_MAX_DIMS];
  st = transpose_read_perm(ctx, node, d->perm, dims);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, tfl_node_input(ctx, node, 0)->ndim, dims);
}

static tfl_status transpose_eval(tfl_context *ctx, tfl_node *node) {
  transpose_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (d->shape_at_eval) {
    int32_t dims[TFL_MAX_DIMS];
    tfl_status st = transpose_read_perm(ctx, node, d->perm, dims);
    if (st == TFL_OK) st = tfl_context_resize_dynamic(ctx, out, in->ndim, dims);
    if (st != TFL_OK) return st;
  }
  if (out->bytes)
    tfl_permute(in->ndim, in->dims, d->perm, tfl_type_size(in->type), in->data, out->data);
  return TFL_OK;
}

static const tfl_op_registration reg_transpose = {
    .name = "TRANSPOSE",
    .builtin_code = TFL_OP_TRANSPOSE,
    .data_size = sizeof(transpose_data),
    .prepare = transpose_prepare,
    .eval = transpose_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

/* --- expand: the repetition shared by TILE and BROADCAST_TO ------------------------------ */

/* The output is the input repeated reps[i] times along axis i (same rank). */
typedef struct expand_geom {
  int ndim;
  int32_t in_dims[TFL_MAX_DIMS];
  int32_t reps[TFL_MAX_DIMS];
  int32_t out_dims[TFL_MAX_DIMS];
} expand_geom;

typedef tfl_status (*expand_geom_fn)(tfl_context *ctx, const tfl_node *node, expand_geom *g);

typedef struct expand_data {
  int shape_at_eval; /* the shape-giving input is not constant */
  expand_geom geom;  /* valid after prepare unless shape_at_eval */
} expand_data;

typedef struct expand_plan {
  const expand_geom *g;
  size_t in_span[TFL_MAX_DIMS + 1];  /* bytes of the input block made of axes i.. */
  size_t out_span[TFL_MAX_DIMS + 1]; /* the same in the output */
  int plain_from; /* axes from here on are not repeated: their blocks copy as they are */
} expand_plan;

/* Fills buf[n .. copies * n) with copies of buf[0 .. n), doubling the filled prefix. */
static void repeat_prefix(uint8_t *buf, size_t n, int32_t copies) {
  const size_t total = n * (size_t)copies;
  size_t done = n;
  while (done < total) {
    const size_t chunk = done < total - done ? done : total - done;
    memcpy(buf + done, buf, chunk);
    done += chunk;
  }
}

static void expand_block(const expand_plan *p, int axis, const uint8_t *in, uint8_t *out) {
  if (axis >= p->plain_from) {
    memcpy(out, in, p->in_span[axis]);
    return;
  }
  const int32_t n = p->g->in_dims[axis];
  for (int32_t i = 0; i < n; i++)
    expand_block(p, axis + 1, in + (size_t)i * p->in_span[axis + 1],
                 out + (size_t)i * p->out_span[axis + 1]);
  repeat_prefix(out, (size_t)n * p->out_span[axis + 1], p->g->reps[axis]);
}

/* Writes the expanded input; the output must be non-empty (so no axis has size 0). */
static void expand(const expand_geom *g, size_t elem, const void *in, void *out) {
  expand_plan p = {.g = g, .plain_from = g->ndim};
  p.in_span[g->ndim] = p.out_span[g->ndim] = elem;
  for (int i = g->ndim - 1; i >= 0; i--) {
    p.in_span[i] = p.in_span[i + 1] * (size_t)g->in_dims[i];
    p.out_span[i] = p.out_span[i + 1] * (size_t)g->out_dims[i];
  }
  while (p.plain_from > 0 && g->reps[p.plain_from - 1] == 1) p.plain_from--;
  expand_block(&p, 0, in, out);
}

static tfl_status expand_prepare(tfl_context *ctx, tfl_node *node, expand_geom_fn fn) {
  expand_data *d = node->user_data;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->shape_at_eval = !tfl_tensor_is_constant(tfl_node_input(ctx, node, 1));
  if (d->shape_at_eval) return tfl_context_set_dynamic(ctx, out);
  tfl_status st = fn(ctx, node, &d->geom);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, d->geom.ndim, d->geom.out_dims);
}

/* Strings cannot be copied as fixed-size blocks: each output string is looked up by index. */
typedef struct expand_strings {
  const expand_geom *g;
  const tfl_tensor *in;
} expand_strings;

static tfl_string expand_string(const void *arg, size_t i) {
  const expand_strings *s = arg;
  size_t src = 0, stride = 1;
  for (int a = s->g->ndim - 1; a >= 0; a--) {
    const size_t out_dim = (size_t)s->g->out_dims[a], in_dim = (size_t)s->g->in_dims[a];
    src += i % out_dim % in_dim * stride;
    stride *= in_dim;
    i /= out_dim;
  }
  return tfl_string_at(s->in, src);
}

static tfl_status expand_eval(tfl_context *ctx, tfl_node *node, expand_geom_fn fn) {
  expand_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (d->shape_at_eval) {
    tfl_status st = fn(ctx, node, &d->geom);
    if (st == TFL_OK) st = tfl_context_resize_dynamic(ctx, out, d->geom.ndim, d->geom.out_dims);
    if (st != TFL_OK) return st;
  }
  if (in->type == TFL_STRING) {
    tfl_status st = tfl_check_strings(ctx, node, in);
    const expand_strings s = {&d->geom, in};
    if (st != TFL_OK) return st;
    return tfl_write_strings(ctx, out, tfl_tensor_count(out), expand_string, &s);
  }
  if (out->bytes) expand(&d->geom, tfl_type_size(in->type), in->data, out->data);
  return TFL_OK;
}

/* --- TILE ------------------------------------------------------------------------------- */

/* multiples: one non-negative count per input axis; output axes must fit in int32. */
static tfl_status tile_geometry(tfl_context *ctx, const tfl_node *node, expand_geom *g) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *m = tfl_node_input(ctx, node, 1);
  if (tfl_tensor_count(m) != (size_t)in->ndim)
    return tfl_context_error(ctx, node, "multiples has %zu elements, the input %d dimensions",
                             tfl_tensor_count(m), in->ndim);
  int64_t v[TFL_MAX_DIMS];
  int n;
  tfl_status st = tfl_read_index_tensor(ctx, node, m, "multiples", v, TFL_MAX_DIMS, &n);
  if (st != TFL_OK) return st;
  g->ndim = in->ndim;
  for (int i = 0; i < n; i++) {
    if (v[i] < 0)
      return tfl_context_error(ctx, node, "multiples[%d] = %lld is negative", i,
                               (long long)v[i]);
    if (in->dims[i] > 0 && v[i] > INT32_MAX / in->dims[i])
      return tfl_context_error(ctx, node, "tiling dimension %d of size %d by %lld overflows",
                               i, (int)in->dims[i], (long long)v[i]);
    g->in_dims[i] = in->dims[i];
    g->reps[i] = (int32_t)v[i];
    g->out_dims[i] = in->dims[i] * (int32_t)v[i];
  }
  return TFL_OK;
}

static tfl_status tile_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = check_data_io(ctx, node, "multiples", 1);
  if (st != TFL_OK) return st;
  return expand_prepare(ctx, node, tile_geometry);
}

static tfl_status tile_eval(tfl_context *ctx, tfl_node *node) {
  return expand_eval(ctx, node, tile_geometry);
}

static const tfl_op_registration reg_tile = {
    .name = "TILE",
    .builtin_code = TFL_OP_TILE,
    .data_size = sizeof(expand_data),
    .prepare = tile_prepare,
    .eval = tile_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

/* --- BROADCAST_TO ----------------------------------------------------------------------- */

/* shape: a vector of at least the input's rank; aligned at the last axis, each input axis
 * must be 1 or equal to the target (TensorFlow's broadcasting rule, one direction only). */
static tfl_status broadcast_to_geometry(tfl_context *ctx, const tfl_node *node,
                                        expand_geom *g) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *s = tfl_node_input(ctx, node, 1);
  if (s->ndim != 1) return tfl_context_error(ctx, node, "shape must be a vector");
  int64_t v[TFL_MAX_DIMS];
  int n;
  tfl_status st = tfl_read_index_tensor(ctx, node, s, "shape", v, TFL_MAX_DIMS, &n);
  if (st != TFL_OK) return st;
  if (n < in->ndim)
    return tfl_context_error(ctx, node, "cannot broadcast a %d-D input to %d dimensions",
                             in->ndim, n);
  const int lead = n - in->ndim;
  g->ndim = n;
  for (int i = 0; i < n; i++) {
    const int32_t from = i < lead ? 1 : in->dims[i - lead];
    if (v[i] < 0 || v[i] > INT32_MAX)
      return tfl_context_error(ctx, node, "shape[%d] = %lld is not a valid size", i,
                               (long long)v[i]);
    if (from != 1 && from != v[i])
      return tfl_context_error(ctx, node, "cannot broadcast dimension of size %d to %lld",
                               (int)from, (long long)v[i]);
    g->in_dims[i] = from;
    g->out_dims[i] = (int32_t)v[i];
    g->reps[i] = from == v[i] ? 1 : (int32_t)v[i];
  }
  return TFL_OK;
}

static tfl_status broadcast_to_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = check_data_io(ctx, node, "shape", 0);
  if (st != TFL_OK) return st;
  return expand_prepare(ctx, node, broadcast_to_geometry);
}

static tfl_status broadcast_to_eval(tfl_context *ctx, tfl_node *node) {
  return expand_eval(ctx, node, broadcast_to_geometry);
}

static const tfl_op_registration reg_broadcast_to = {
    .name = "BROADCAST_TO",
    .builtin_code = TFL_OP_BROADCAST_TO,
    .data_size = sizeof(expand_data),
    .prepare = broadcast_to_prepare,
    .eval = broadcast_to_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

const tfl_op_registration *const tfl_kernels_transpose[] = {&reg_transpose, &reg_tile,
                                                            &reg_broadcast_to, NULL};
