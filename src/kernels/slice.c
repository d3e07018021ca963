/* STRIDED_SLICE and SLICE.
 *
 * Both reduce to a slice geometry: for each axis of the (possibly axis-extended) input, the
 * first index, the step and the number of elements taken. A strided gather then copies those
 * elements in order. Index tensors may be int32 or int64; the geometry is computed in
 * prepare when they are constant, else in eval for a dynamic output. Strings are sliced too,
 * as in TFLite. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

typedef struct slice_geom {
  int ndim;                   /* axes of the effective input (new axes included) */
  int32_t dims[TFL_MAX_DIMS]; /* effective input shape */
  int64_t start[TFL_MAX_DIMS], step[TFL_MAX_DIMS], count[TFL_MAX_DIMS];
  int out_ndim;
  int32_t out_dims[TFL_MAX_DIMS];
} slice_geom;

typedef struct slice_data {
  int shape_at_eval;
  slice_geom geom; /* valid after prepare unless shape_at_eval */
} slice_data;

/* --- gather ----------------------------------------------------------------------------- */

/* Copies n elements taken every src_step bytes; constant-size memcpy compiles to moves. */
static void copy_strided(uint8_t *dst, const uint8_t *src, int64_t n, ptrdiff_t src_step,
                         size_t elem) {
  switch (elem) {
    case 1:
      for (int64_t j = 0; j < n; j++) dst[j] = src[j * src_step];
      break;
    case 2:
      for (int64_t j = 0; j < n; j++) memcpy(dst + 2 * j, src + j * src_step, 2);
      break;
    case 4:
      for (int64_t j = 0; j < n; j++) memcpy(dst + 4 * j, src + j * src_step, 4);
      break;
    case 8:
      for (int64_t j = 0; j < n; j++) memcpy(dst + 8 * j, src + j * src_step, 8);
      break;
    default:
      for (int64_t j = 0; j < n; j++) memcpy(dst + elem * (size_t)j, src + j * src_step, elem);
  }
}

static void slice_gather(const slice_geom *g, const uint8_t *src, uint8_t *dst, size_t elem) {
  for (int d = 0; d < g->ndim; d++)
    if (g->count[d] == 0) return;
  if (g->ndim == 0) {
    memcpy(dst, src, elem);
    return;
  }
  ptrdiff_t in_step[TFL_MAX_DIMS]; /* bytes per index along each axis */
  ptrdiff_t s = (ptrdiff_t)elem;
  for (int d = g->ndim - 1; d >= 0; d--) {
    in_step[d] = s;
    s *= g->dims[d];
  }
  const int last = g->ndim - 1;
  const size_t run = (size_t)g->count[last] * elem;
  int64_t idx[TFL_MAX_DIMS] = {0};
  for (;;) {
    const uint8_t *p = src + g->start[last] * in_step[last];
    for (int d = 0; d < last; d++) p += (g->start[d] + idx[d] * g->step[d]) * in_step[d];
    if (g->step[last] == 1)
      memcpy(dst, p, run);
    else
      copy_strided(dst, p, g->count[last], g->step[last] * in_step[last], elem);
    dst += run;
    int d = last - 1; /* odometer over the outer axes */
    while (d >= 0 && ++idx[d] == g->count[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

/* Strings: output element j is the input element at the odometer position j of the slice. */
typedef struct slice_strings {
  const slice_geom *g;
  const tfl_tensor *in;
  size_t stride[TFL_MAX_DIMS]; /* elements per index along each effective axis */
} slice_strings;

static tfl_string slice_string(const void *arg, size_t j) {
  const slice_strings *s = arg;
  const slice_geom *g = s->g;
  size_t src = 0;
  for (int d = g->ndim - 1; d >= 0; d--) {
    const int64_t i = (int64_t)(j % (size_t)g->count[d]);
    j /= (size_t)g->count[d];
    src += (size_t)(g->start[d] + i * g->step[d]) * s->stride[d];
  }
  return tfl_string_at(s->in, src);
}

static tfl_status slice_write_strings(tfl_context *ctx, const tfl_node *node, const slice_geom *g,
                                      const tfl_tensor *in, tfl_tensor *out) {
  tfl_status st = tfl_check_strings(ctx, node, in);
  if (st != TFL_OK) return st;
  slice_strings s = {g, in, {0}};
  size_t stride = 1;
  for (int d = g->ndim - 1; d >= 0; d--) {
    s.stride[d] = stride;
    stride *= (size_t)g->dims[d];
  }
  return tfl_write_strings(ctx, out, tfl_tensor_count(out), slice_string, &s);
}

/* Shared prepare/eval: `geom_fn` computes the geometry from the node's tensors. */
typedef tfl_status (*geom_fn)(tfl_context *ctx, const tfl_node *node, slice_geom *g);

static tfl_status slice_finish_prepare(tfl_context *ctx, tfl_node *node, int shape_known,
                                       geom_fn fn) {
  slice_data *d = node->user_data;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  d->shape_at_eval = !shape_known;
  if (!shape_known) return tfl_context_set_dynamic(ctx, out);
  tfl_status st = fn(ctx, node, &d->geom);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, d->geom.out_ndim, d->geom.out_dims);
}

static tfl_status slice_eval_with(tfl_context *ctx, tfl_node *node, geom_fn fn) {
  slice_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (d->shape_at_eval) {
    tfl_status st = fn(ctx, node, &d->geom);
    if (st == TFL_OK) st = tfl_context_resize_dynamic(ctx, out, d->geom.out_ndim, d->geom.out_dims);
    if (st != TFL_OK) return st;
  }
  if (in->type == TFL_STRING) return slice_write_strings(ctx, node, &d->geom, in, out);
  if (out->bytes) slice_gather(&d->geom, in->data, out->data, tfl_type_size(in->type));
  return TFL_OK;
}

static tfl_status check_io_types(tfl_context *ctx, const tfl_node *node, int n_in) {
  tfl_status st = tfl_check_io(ctx, node, n_in, n_in, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  if (in->type != TFL_STRING) st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st == TFL_OK)
    st = tfl_check_type(ctx, node, tfl_node_output(ctx, node, 0), "output", in->type);
  return st;
}

/* Checks that inputs [1, n_in) are int32/int64 vectors of one length; returns it in *len. */
static tfl_status check_index_vectors(tfl_context *ctx, const tfl_node *node, int n_in,
                                      const char *const *names, int *len) {
  for (int i = 1; i < n_in; i++) {
    const tfl_tensor *t = tfl_node_input(ctx, node, i);
    tfl_status st = tfl_check_index_type(ctx, node, t, names[i - 1]);
    if (st != TFL_OK) return st;
    if (t->ndim != 1) return tfl_context_error(ctx, node, "%s must be a vector", names[i - 1]);
    if (i == 1) *len = t->dims[0];
    if (t->dims[0] != *len)
      return tfl_context_error(ctx, node, "%s has %d elements, %s %d", names[i - 1],
                               (int)t->dims[0], names[0], *len);
  }
  return TFL_OK;
}

static int all_constant(tfl_context *ctx, const tfl_node *node, int from, int to) {
  for (int i = from; i < to; i++)
    if (!tfl_tensor_is_constant(tfl_node_input(ctx, node, i))) return 0;
  return 1;
}

/* --- STRIDED_SLICE ---------------------------------------------------------------------- */

/* TFLite accepts at most 31 indices (the masks are 32-bit). */
#define SS_MAX_SPEC 31

typedef struct ss_spec {
  int n;
  int64_t begin[SS_MAX_SPEC], end[SS_MAX_SPEC], stride[SS_MAX_SPEC];
  uint32_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask;
  int offset; /* end values are sizes counted from begin */
} ss_spec;

/* One effective axis before clamping. */
typedef struct ss_axis {
  int64_t begin, end, stride;
  int begin_masked, end_masked, shrink;
} ss_axis;

static const ss_axis ss_full_axis = {0, 0, 1, 1, 1, 0};

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* int64 index values saturate to the int32 range TFLite works in; clamping to the axis makes
 * the result the same. */
static tfl_status ss_read_spec(tfl_context *ctx, const tfl_node *node, ss_spec *s) {
  static const char *const names[] = {"begin", "end", "strides"};
  int64_t *dst[] = {s->begin, s->end, s->stride};
  for (int i = 0; i < 3; i++) {
    int n;
    tfl_status st = tfl_read_index_tensor(ctx, node, tfl_node_input(ctx, node, i + 1), names[i],
                                          dst[i], SS_MAX_SPEC, &n);
    if (st != TFL_OK) return st;
    for (int j = 0; j < n; j++) dst[i][j] = clamp64(dst[i][j], INT32_MIN, INT32_MAX);
    s->n = n;
  }
  uint32_t used = (1u << s->n) - 1;
  s->begin_mask = (uint32_t)tfl_opt_int(node, 0, 0) & used;
  s->end_mask = (uint32_t)tfl_opt_int(node, 1, 0) & used;
  s->ellipsis_mask = (uint32_t)tfl_opt_int(node, 2, 0) & used;
  s->new_axis_mask = (uint32_t)tfl_opt_int(node, 3, 0) & used & ~s->ellipsis_mask;
  s->shrink_mask = (uint32_t)tfl_opt_int(node, 4, 0) & used;
  s->offset = tfl_opt_bool(node, 5, 0);
  return TFL_OK;
}

static int popcount32(uint32_t v) {
  int n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

/* Expands the spec into one ss_axis per effective axis and the effective input shape, the way
 * TFLite does: the ellipsis stands for the axes the other entries leave over (but always at
 * least one), new axes insert a dimension of 1, and axes past the spec are taken whole. Like
 * TFLite, entries beyond the effective rank (rank + new axes) are ignored. */
static tfl_status ss_expand(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                            const ss_spec *s, slice_geom *g, ss_axis *axes) {
  const int rank = in->ndim, n_new = popcount32(s->new_axis_mask);
  if (popcount32(s->ellipsis_mask) > 1)
    return tfl_context_error(ctx, node, "more than one ellipsis");
  g->ndim = rank + n_new;
  if (g->ndim > TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "slice would have %d dimensions, at most %d", g->ndim, TFL_MAX_DIMS);
  int ell_first = -1, ell_span = 0; /* effective axes of the ellipsis */
  for (int i = 0; i < g->ndim && ell_first < 0; i++) {
    if (!(s->ellipsis_mask >> i & 1)) continue;
    int end = i + 1 + n_new + rank - s->n;
    end = end > g->ndim ? g->ndim : end;
    ell_first = i;
    ell_span = (end > i + 1 ? end : i + 1) - i;
  }
  const int expanded = ell_span > 0 ? ell_span - 1 : 0;
  int added_axes = 0;
  for (int i = 0; i < g->ndim; i++) {
    const int in_ellipsis = ell_first >= 0 && i >= ell_first && i < ell_first + ell_span;
    const int j = i < ell_first || ell_first < 0 ? i : i - expanded; /* spec entry */
    if (!in_ellipsis && j < s->n && (s->new_axis_mask >> j & 1)) {
      axes[i] = (ss_axis){0, 1, 1, 0, 0, 0};
      g->dims[i] = 1;
      added_axes++;
      continue;
    }
    if (i - added_axes >= rank)
      return tfl_context_error(ctx, node, "slice spec does not fit an input of rank %d", rank);
    g->dims[i] = in->dims[i - added_axes];
    if (in_ellipsis || j >= s->n) {
      axes[i] = ss_full_axis;
      continue;
    }
    if (s->stride[j] == 0) return tfl_context_error(ctx, node, "stride %d is zero", j);
    axes[i] = (ss_axis){s->begin[j],
                        s->end[j],
                        s->stride[j],
                        (int)(s->begin_mask >> j & 1),
                        (int)(s->end_mask >> j & 1),
                        (int)(s->shrink_mask >> j & 1)};
  }
  return TFL_OK;
}

/* First index, step and count along one axis, with TFLite's clamping: negative indices count
 * from the end, then begin/end clamp to [0, size] going forward or [-1, size - 1] going
 * backward; masks select the whole axis in the stride's direction. A shrunk axis takes one
 * element, or none when its index is past the end or its stride negative (TFLite reads
 * nothing then). */
static void ss_resolve_axis(const ss_axis *a, int offset, int64_t size, int axis, slice_geom *g) {
  const int fwd = a->stride > 0;
  const int64_t lo = fwd ? 0 : -1, hi = fwd ? size : size - 1;
  int64_t start = a->begin < 0 ? a->begin + size : a->begin;
  start = a->begin_masked ? (fwd ? 0 : size - 1) : clamp64(start, lo, hi);
  g->start[axis] = start;
  g->step[axis] = a->stride;
  if (a->shrink) {
    g->count[axis] = fwd && start < size;
    return;
  }
  int64_t stop = a->end + (offset ? start : 0);
  stop = stop < 0 ? stop + size : stop;
  stop = a->end_masked ? (fwd ? size : -1) : clamp64(stop, lo, hi);
  const int64_t span = stop - start;
  if (span == 0 || (span < 0) != (a->stride < 0))
    g->count[axis] = 0;
  else
    g->count[axis] = fwd ? (span - 1) / a->stride + 1 : (span + 1) / a->stride + 1;
  g->out_dims[g->out_ndim++] = (int32_t)g->count[axis];
}

static tfl_status ss_geometry(tfl_context *ctx, const tfl_node *node, slice_geom *g) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  ss_spec s;
  ss_axis axes[TFL_MAX_DIMS];
  tfl_status st = ss_read_spec(ctx, node, &s);
  if (st == TFL_OK) st = ss_expand(ctx, node, in, &s, g, axes);
  if (st != TFL_OK) return st;
  g->out_ndim = 0;
  for (int i = 0; i < g->ndim; i++) ss_resolve_axis(&axes[i], s.offset, g->dims[i], i, g);
  /* An empty shrunk axis leaves a non-empty output unwritten in TFLite: refuse that. */
  const int empty_out = tfl_dims_product(g->out_dims, 0, g->out_ndim) == 0;
  for (int i = 0; i < g->ndim; i++)
    if (axes[i].shrink && g->count[i] == 0 && !empty_out)
      return tfl_context_error(ctx, node,
                               "index on axis %d is out of range or has a negative stride", i);
  return TFL_OK;
}

static tfl_status strided_slice_prepare(tfl_context *ctx, tfl_node *node) {
  static const char *const names[] = {"begin", "end", "strides"};
  int len = 0;
  tfl_status st = check_io_types(ctx, node, 4);
  if (st == TFL_OK) st = check_index_vectors(ctx, node, 4, names, &len);
  if (st != TFL_OK) return st;
  if (len > SS_MAX_SPEC)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%d indices, at most %d supported", len,
                            SS_MAX_SPEC);
  return slice_finish_prepare(ctx, node, all_constant(ctx, node, 1, 4), ss_geometry);
}

static tfl_status strided_slice_eval(tfl_context *ctx, tfl_node *node) {
  return slice_eval_with(ctx, node, ss_geometry);
}

static const tfl_op_registration reg_strided_slice = {
    .name = "STRIDED_SLICE",
    .builtin_code = TFL_OP_STRIDED_SLICE,
    .data_size = sizeof(slice_data),
    .prepare = strided_slice_prepare,
    .eval = strided_slice_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

/* --- SLICE ------------------------------------------------------------------------------ */

/* begin >= 0 and begin + size <= dim, where size -1 means "to the end". */
static tfl_status slice_geometry(tfl_context *ctx, const tfl_node *node, slice_geom *g) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *begin = tfl_node_input(ctx, node, 1);
  const tfl_tensor *size = tfl_node_input(ctx, node, 2);
  g->ndim = g->out_ndim = in->ndim;
  for (int d = 0; d < in->ndim; d++) {
    int64_t b = tfl_index_at(begin, (size_t)d), n = tfl_index_at(size, (size_t)d);
    const int64_t dim = in->dims[d];
    if (b < 0 || b > dim)
      return tfl_context_error(ctx, node, "begin %lld out of range for dimension %d of size %lld",
                               (long long)b, d, (long long)dim);
    if (n == -1) n = dim - b;
    if (n < 0 || n > dim - b)
      return tfl_context_error(ctx, node,
                               "size %lld invalid for begin %lld in dimension %d of size %lld",
                               (long long)n, (long long)b, d, (long long)dim);
    g->dims[d] = in->dims[d];
    g->start[d] = b;
    g->step[d] = 1;
    g->count[d] = n;
    g->out_dims[d] = (int32_t)n;
  }
  return TFL_OK;
}

static tfl_status slice_prepare(tfl_context *ctx, tfl_node *node) {
  static const char *const names[] = {"begin", "size"};
  int len = 0;
  tfl_status st = check_io_types(ctx, node, 3);
  if (st == TFL_OK) st = check_index_vectors(ctx, node, 3, names, &len);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  if (tfl_node_input(ctx, node, 1)->type != tfl_node_input(ctx, node, 2)->type)
    return tfl_context_error(ctx, node, "begin and size have different types");
  if (len != in->ndim)
    return tfl_context_error(ctx, node, "begin has %d elements for an input of rank %d", len,
                             in->ndim);
  return slice_finish_prepare(ctx, node, all_constant(ctx, node, 1, 3), slice_geometry);
}

static tfl_status slice_eval(tfl_context *ctx, tfl_node *node) {
  return slice_eval_with(ctx, node, slice_geometry);
}

static const tfl_op_registration reg_slice = {
    .name = "SLICE",
    .builtin_code = TFL_OP_SLICE,
    .data_size = sizeof(slice_data),
    .prepare = slice_prepare,
    .eval = slice_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

const tfl_op_registration *const tfl_kernels_slice[] = {&reg_strided_slice, &reg_slice, NULL};
