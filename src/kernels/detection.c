/* TFLite_Detection_PostProcess, the custom op at the end of TensorFlow's SSD detectors, with
 * TFLite's semantics (kernels/detection_postprocess.cc as of TFLite 2.19) step for step.
 *
 * Inputs: box encodings [1, boxes, >= 4] (y, x, h, w relative to the anchor, then ignored
 * extras such as keypoints), class predictions [1, boxes, classes (+1 background)], anchors
 * [boxes, 4] (y, x, h, w); each float32 or quantized uint8 (int8 too: tfl accepts it, TFLite
 * only uint8) and dequantized as (q - zero_point) * scale in float. Options come from a
 * FlexBuffers map in custom_options, read in prepare.
 *
 * 1. Decode (center-size, in double as TFLite): yc = y / y_scale * ah + ay,
 *    half_h = 0.5 * exp(h / h_scale) * ah (x, w likewise); box = (yc - half_h, xc - half_w,
 *    yc + half_h, xc + half_w). A decoded box with ymin > ymax or xmin > xmax fails the op.
 * 2. Non-maximum suppression on one score per box (the helper both modes use): keep scores
 *    >= nms_score_threshold, sort them decreasingly with a stable sort (ties keep box order),
 *    then greedily select, dropping later boxes whose IoU with a selected one exceeds
 *    nms_iou_threshold; IoU is 0 when either box has area <= 0. At most `limit` selections.
 * 3a. Fast (default): each box's classes are ranked with std::partial_sort's exact tie order
 *    (std::max_element-like first maximum when only one class is kept per box); NMS runs on
 *    each box's best score with limit max_detections; selected box k fills slots
 *    [k * max_classes_per_detection, ... + min(max_classes_per_detection, classes)).
 * 3b. Regular (use_regular_nms): NMS per class with limit min(detections_per_class,
 *    max_detections); each class's selections are merged into the running list with a stable
 *    merge by score (earlier classes first on ties), which is cut to max_detections.
 * Outputs (float32): boxes [1, N, 4], classes [1, N], scores [1, N] with
 * N = max_detections * max_classes_per_detection, and the detection count [1]. Slots past the
 * detections are zero (TFLite leaves the fast path's unwritten slots as they were).
 *
 * TFLite splits regular NMS over threads when it has more than one, which changes the order of
 * equal scores; tfl always computes the single-threaded order, the one of the conformance
 * suite's references. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "format/flexbuf.h"
#include "kernels/families.h"
#include "runtime/kernel.h"

/* Keeps its 100 per-class detections when the option is absent, as TFLite. */
#define DPP_DEFAULT_DETECTIONS_PER_CLASS 100

typedef struct dpp_options {
  int64_t max_detections, max_classes_per_detection, detections_per_class, num_classes;
  float score_threshold, iou_threshold;
  float y_scale, x_scale, h_scale, w_scale;
  int regular;
} dpp_options;

/* Where each scratch array lives inside the node's one scratch block (byte offsets). */
typedef struct dpp_layout {
  size_t boxes, scores, keep_index, keep_score, order, order_tmp, active, selected;
  size_t max_scores, class_rank, class_tmp; /* fast NMS */
  size_t class_scores, merged, merged_tmp;  /* regular NMS */
  size_t total;
} dpp_layout;

typedef struct dpp_data {
  dpp_options o;
  int32_t boxes;        /* anchors */
  int32_t box_stride;   /* values per box encoding (>= 4) */
  int32_t columns;      /* class predictions per box, background included */
  int32_t label_offset; /* 1 when column 0 is the background */
  int32_t per_box;      /* fast NMS: classes reported per selected box */
  int32_t per_class;    /* regular NMS: selections per class */
  int32_t slots;        /* output detections: max_detections * max_classes_per_detection */
  dpp_layout at;
  int scratch;
} dpp_data;

/* Box corners, in TFLite's order. */
typedef struct dpp_box {
  float ymin, xmin, ymax, xmax;
} dpp_box;

/* A regular-NMS candidate: its position in the score matrix (box * columns + column). */
typedef struct dpp_candidate {
  int32_t index;
  float score;
} dpp_candidate;

/* ---- options ----------------------------------------------------------------------------- */

static tfl_status dpp_read_options(tfl_context *ctx, const tfl_node *node, dpp_options *o) {
  flex_ref root = flex_root(node->custom_options, node->custom_options_size);
  if (flex_get_type(root) != FLEX_MAP)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "custom_options must be a FlexBuffers map of the op's options");
  flex_ref per_class = flex_map_get(root, "detections_per_class");
  o->max_detections = flex_as_int(flex_map_get(root, "max_detections"));
  o->max_classes_per_detection = flex_as_int(flex_map_get(root, "max_classes_per_detection"));
  o->detections_per_class =
      flex_is_null(per_class) ? DPP_DEFAULT_DETECTIONS_PER_CLASS : flex_as_int(per_class);
  o->num_classes = flex_as_int(flex_map_get(root, "num_classes"));
  o->regular = flex_as_bool(flex_map_get(root, "use_regular_nms"));
  o->score_threshold = (float)flex_as_float(flex_map_get(root, "nms_score_threshold"));
  o->iou_threshold = (float)flex_as_float(flex_map_get(root, "nms_iou_threshold"));
  o->y_scale = (float)flex_as_float(flex_map_get(root, "y_scale"));
  o->x_scale = (float)flex_as_float(flex_map_get(root, "x_scale"));
  o->h_scale = (float)flex_as_float(flex_map_get(root, "h_scale"));
  o->w_scale = (float)flex_as_float(flex_map_get(root, "w_scale"));
  return TFL_OK;
}

/* What TFLite checks (some only once it runs), plus the bounds that keep slot arithmetic in
 * int32. */
static tfl_status dpp_check_options(tfl_context *ctx, const tfl_node *node, const dpp_options *o) {
  if (o->max_detections < 0 || o->max_detections > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "max_detections is %lld",
                            (long long)o->max_detections);
  if (o->max_classes_per_detection < 1 || o->max_classes_per_detection > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "max_classes_per_detection is %lld, must be at least 1",
                            (long long)o->max_classes_per_detection);
  if (o->max_detections * o->max_classes_per_detection > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "max_detections x max_classes_per_detection is too large");
  if (o->num_classes < 1 || o->num_classes > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "num_classes is %lld",
                            (long long)o->num_classes);
  if (o->detections_per_class < 0 || o->detections_per_class > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "detections_per_class is %lld",
                            (long long)o->detections_per_class);
  if (o->regular && (o->detections_per_class < 1 || o->max_detections < 1))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "regular NMS needs detections_per_class and max_detections of at "
                            "least 1 (they are %lld and %lld)",
                            (long long)o->detections_per_class, (long long)o->max_detections);
  if (!(o->iou_threshold > 0.0f && o->iou_threshold <= 1.0f))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "nms_iou_threshold is %g, must be in (0, 1]", (double)o->iou_threshold);
  return TFL_OK;
}

/* ---- shapes, types and scratch ------------------------------------------------------------ */

static int dpp_type_ok(const tfl_tensor *t) {
  if (t->type == TFL_FLOAT32) return 1;
  return (t->type == TFL_UINT8 || t->type == TFL_INT8) && t->quant.count >= 1;
}

static tfl_status dpp_check_input(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                  const char *what, int ndim) {
  if (t->ndim != ndim)
    return tfl_context_error(ctx, node, "%s '%s' must have %d dimensions, has %d", what, t->name,
                             ndim, t->ndim);
  if (!dpp_type_ok(t))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "%s '%s' has type %s%s; expected float32, or uint8/int8 with "
                            "quantization parameters",
                            what, t->name, tfl_type_name(t->type),
                            t->type == TFL_FLOAT32 ? "" : " without scale");
  return TFL_OK;
}

static tfl_status dpp_check_shapes(tfl_context *ctx, const tfl_node *node, const tfl_tensor *enc,
                                   const tfl_tensor *cls, const tfl_tensor *anchors, dpp_data *d) {
  tfl_status st = dpp_check_input(ctx, node, enc, "box encodings", 3);
  if (st == TFL_OK) st = dpp_check_input(ctx, node, cls, "class predictions", 3);
  if (st == TFL_OK) st = dpp_check_input(ctx, node, anchors, "anchors", 2);
  if (st != TFL_OK) return st;
  d->boxes = enc->dims[1];
  d->box_stride = enc->dims[2];
  d->columns = cls->dims[2];
  if (enc->dims[0] != 1 || cls->dims[0] != 1)
    return tfl_context_error(ctx, node, "batch size must be 1 (box encodings %d, classes %d)",
                             (int)enc->dims[0], (int)cls->dims[0]);
  if (d->box_stride < 4)
    return tfl_context_error(ctx, node, "box encodings '%s' have %d values per box, need 4",
                             enc->name, (int)d->box_stride);
  if (cls->dims[1] != d->boxes)
    return tfl_context_error(ctx, node, "class predictions '%s' cover %d boxes, encodings %d",
                             cls->name, (int)cls->dims[1], (int)d->boxes);
  if (anchors->dims[0] != d->boxes || anchors->dims[1] != 4)
    return tfl_context_error(ctx, node, "anchors '%s' must be [%d, 4], are [%d, %d]", anchors->name,
                             (int)d->boxes, (int)anchors->dims[0], (int)anchors->dims[1]);
  if ((int64_t)d->boxes * d->columns > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "%d boxes x %d classes are too many",
                            (int)d->boxes, (int)d->columns);
  const int64_t background = (int64_t)d->columns - d->o.num_classes;
  if (background != 0 && background != 1)
    return tfl_context_error(ctx, node,
                             "class predictions '%s' have %d columns for %lld classes (expected "
                             "the classes, plus at most one background column)",
                             cls->name, (int)d->columns, (long long)d->o.num_classes);
  d->label_offset = (int32_t)background;
  return TFL_OK;
}

/* Reserves `count` elements of `size` bytes (8-byte aligned) in the layout; 0 on overflow. */
static int dpp_take(dpp_layout *l, size_t *at, size_t count, size_t size) {
  if (size && count > (SIZE_MAX / 2 - l->total) / size) return 0;
  *at = l->total;
  l->total += (count * size + 7) & ~(size_t)7;
  return 1;
}

static tfl_status dpp_plan_scratch(tfl_context *ctx, tfl_node *node, const tfl_tensor *cls,
                                   dpp_data *d) {
  dpp_layout *l = &d->at;
  const size_t n = (size_t)d->boxes;
  const size_t merged = (size_t)d->o.max_detections + (size_t)d->per_class;
  memset(l, 0, sizeof(*l));
  int ok = dpp_take(l, &l->boxes, n, sizeof(dpp_box)) &&
           dpp_take(l, &l->scores, cls->type == TFL_FLOAT32 ? 0 : n * (size_t)d->columns,
                    sizeof(float)) &&
           dpp_take(l, &l->keep_index, n, sizeof(int32_t)) &&
           dpp_take(l, &l->keep_score, n, sizeof(float)) &&
           dpp_take(l, &l->order, n, sizeof(int32_t)) &&
           dpp_take(l, &l->order_tmp, n, sizeof(int32_t)) && dpp_take(l, &l->active, n, 1) &&
           dpp_take(l, &l->selected, n, sizeof(int32_t));
  if (ok && d->o.regular)
    ok = dpp_take(l, &l->class_scores, n, sizeof(float)) &&
         dpp_take(l, &l->merged, merged, sizeof(dpp_candidate)) &&
         dpp_take(l, &l->merged_tmp, merged, sizeof(dpp_candidate));
  else if (ok)
    ok = dpp_take(l, &l->max_scores, n, sizeof(float)) &&
         dpp_take(l, &l->class_rank, n * (size_t)d->per_box, sizeof(int32_t)) &&
         dpp_take(l, &l->class_tmp, (size_t)d->o.num_classes, sizeof(int32_t));
  if (!ok)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "%d boxes need too much memory",
                            (int)d->boxes);
  return tfl_context_request_scratch(ctx, node, l->total ? l->total : 1, &d->scratch);
}

static tfl_status dpp_shape_outputs(tfl_context *ctx, const tfl_node *node, int32_t slots) {
  const int32_t box_dims[3] = {1, slots, 4}, row_dims[2] = {1, slots}, count_dims[1] = {1};
  for (int i = 0; i < 4; i++) {
    tfl_tensor *out = tfl_node_output(ctx, node, i);
    tfl_status st = tfl_context_set_type(ctx, out, TFL_FLOAT32);
    if (st == TFL_OK)
      st = i == 0   ? tfl_context_resize(ctx, out, 3, box_dims)
           : i == 3 ? tfl_context_resize(ctx, out, 1, count_dims)
                    : tfl_context_resize(ctx, out, 2, row_dims);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

static tfl_status dpp_prepare(tfl_context *ctx, tfl_node *node) {
  dpp_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 3, 3, 4);
  if (st == TFL_OK) st = dpp_read_options(ctx, node, &d->o);
  if (st == TFL_OK) st = dpp_check_options(ctx, node, &d->o);
  if (st != TFL_OK) return st;
  const tfl_tensor *enc = tfl_node_input(ctx, node, 0);
  const tfl_tensor *cls = tfl_node_input(ctx, node, 1);
  const tfl_tensor *anchors = tfl_node_input(ctx, node, 2);
  st = dpp_check_shapes(ctx, node, enc, cls, anchors, d);
  if (st != TFL_OK) return st;
  const dpp_options *o = &d->o;
  d->per_box =
      (int32_t)(o->max_classes_per_detection < o->num_classes ? o->max_classes_per_detection
                                                              : o->num_classes);
  d->per_class = (int32_t)(o->detections_per_class < o->max_detections ? o->detections_per_class
                                                                       : o->max_detections);
  d->slots = (int32_t)(o->max_detections * o->max_classes_per_detection);
  st = dpp_plan_scratch(ctx, node, cls, d);
  if (st != TFL_OK) return st;
  return dpp_shape_outputs(ctx, node, d->slots);
}

/* ---- decoding ----------------------------------------------------------------------------- */

/* Four consecutive values of a float or quantized tensor from element `at`, in float. */
static void dpp_read4(const tfl_tensor *t, size_t at, float v[4]) {
  if (t->type == TFL_FLOAT32) {
    memcpy(v, (const float *)t->data + at, 4 * sizeof(float));
    return;
  }
  const float scale = t->quant.scale[0];
  const float zero_point = (float)t->quant.zero_point[0];
  for (int k = 0; k < 4; k++) {
    const float q = t->type == TFL_UINT8 ? (float)((const uint8_t *)t->data)[at + (size_t)k]
                                         : (float)((const int8_t *)t->data)[at + (size_t)k];
    v[k] = (q - zero_point) * scale;
  }
}

/* Decodes every box; returns the first box with inverted corners, or -1. */
static int32_t dpp_decode(const dpp_data *d, const tfl_tensor *enc, const tfl_tensor *anchors,
                          dpp_box *boxes) {
  const dpp_options *o = &d->o;
  int32_t bad = -1;
  for (int32_t i = 0; i < d->boxes; i++) {
    float e[4], a[4]; /* y, x, h, w */
    dpp_read4(enc, (size_t)i * (size_t)d->box_stride, e);
    dpp_read4(anchors, (size_t)i * 4, a);
    const float yc = (float)((double)e[0] / (double)o->y_scale * (double)a[2] + (double)a[0]);
    const float xc = (float)((double)e[1] / (double)o->x_scale * (double)a[3] + (double)a[1]);
    const float half_h = (float)(0.5 * exp((double)e[2] / (double)o->h_scale) * (double)a[2]);
    const float half_w = (float)(0.5 * exp((double)e[3] / (double)o->w_scale) * (double)a[3]);
    dpp_box *b = &boxes[i];
    b->ymin = yc - half_h;
    b->xmin = xc - half_w;
    b->ymax = yc + half_h;
    b->xmax = xc + half_w;
    if (bad < 0 && (b->ymin > b->ymax || b->xmin > b->xmax)) bad = i;
  }
  return bad;
}

/* The class predictions in float: the input itself, or dequantized into `scratch`. */
static const float *dpp_scores(const dpp_data *d, const tfl_tensor *cls, float *scratch) {
  if (cls->type == TFL_FLOAT32) return cls->data;
  const size_t n = (size_t)d->boxes * (size_t)d->columns;
  const float scale = cls->quant.scale[0];
  const int32_t zero_point = cls->quant.zero_point[0];
  for (size_t i = 0; i < n; i++) {
    const int32_t q =
        cls->type == TFL_UINT8 ? ((const uint8_t *)cls->data)[i] : ((const int8_t *)cls->data)[i];
    scratch[i] = scale * (float)(q - zero_point);
  }
  return scratch;
}

/* ---- ordering --------------------------------------------------------------------------- */

/* std::max/std::min<float> exactly (NaN handling included). */
static float dpp_max(float a, float b) { return a < b ? b : a; }
static float dpp_min(float a, float b) { return b < a ? b : a; }

static float dpp_iou(const dpp_box *a, const dpp_box *b) {
  const float area_a = (a->ymax - a->ymin) * (a->xmax - a->xmin);
  const float area_b = (b->ymax - b->ymin) * (b->xmax - b->xmin);
  if (area_a <= 0 || area_b <= 0) return 0.0f;
  const float ymin = dpp_max(a->ymin, b->ymin), xmin = dpp_max(a->xmin, b->xmin);
  const float ymax = dpp_min(a->ymax, b->ymax), xmax = dpp_min(a->xmax, b->xmax);
  const float inter = dpp_max(ymax - ymin, 0.0f) * dpp_max(xmax - xmin, 0.0f);
  return inter / (area_a + area_b - inter);
}

/* Stable sort of idx[0, n) by decreasing key[idx] (bottom-up merge sort through tmp), the
 * order std::stable_sort gives. */
static void dpp_stable_sort(int32_t *idx, int32_t *tmp, int32_t n, const float *key) {
  int32_t *src = idx, *dst = tmp;
  for (int32_t width = 1; width < n; width *= 2) {
    for (int32_t lo = 0; lo < n; lo += 2 * width) {
      const int32_t mid = lo + width < n ? lo + width : n;
      const int32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      int32_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = key[src[j]] > key[src[i]] ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    int32_t *swap = src;
    src = dst;
    dst = swap;
  }
  if (src != idx) memcpy(idx, src, (size_t)n * sizeof(int32_t));
}

/* libstdc++'s heap primitives under the comparator "v[a] > v[b]" (so the heap's top is the
 * smallest value), step for step: std::partial_sort's result for equal values depends on
 * them. */
static int dpp_before(const float *v, int32_t a, int32_t b) { return v[a] > v[b]; }

static void dpp_push_heap(int32_t *h, int32_t hole, int32_t top, int32_t value, const float *v) {
  int32_t parent = (hole - 1) / 2;
  while (hole > top && dpp_before(v, h[parent], value)) {
    h[hole] = h[parent];
    hole = parent;
    parent = (hole - 1) / 2;
  }
  h[hole] = value;
}

static void dpp_adjust_heap(int32_t *h, int32_t hole, int32_t len, int32_t value, const float *v) {
  const int32_t top = hole;
  int32_t child = hole;
  while (child < (len - 1) / 2) {
    child = 2 * (child + 1);
    if (dpp_before(v, h[child], h[child - 1])) child--;
    h[hole] = h[child];
    hole = child;
  }
  if ((len & 1) == 0 && child == (len - 2) / 2) {
    child = 2 * (child + 1);
    h[hole] = h[child - 1];
    hole = child - 1;
  }
  dpp_push_heap(h, hole, top, value, v);
}

static void dpp_pop_heap(int32_t *h, int32_t len, int32_t *result, const float *v) {
  const int32_t value = *result;
  *result = h[0];
  dpp_adjust_heap(h, 0, len, value, v);
}

/* idx[0, k) = the k best of values[0, n) in decreasing order, as TFLite's
 * DecreasingPartialArgSort: the first maximum for k == 1, else std::partial_sort over
 * 0, 1, ..., n - 1 (idx needs room for n). */
static void dpp_partial_argsort(const float *v, int32_t n, int32_t k, int32_t *idx) {
  if (k == 1) {
    /* TFLite's float ArgMaxVector skips NaN and gives 0 when everything is NaN. */
    int32_t best = 0;
    float best_v = v[0];
    for (int32_t i = 1; i < n; i++)
      if (v[i] == v[i] && (best_v != best_v || v[i] > best_v)) {
        best_v = v[i];
        best = i;
      }
    idx[0] = best_v == best_v ? best : 0;
    return;
  }
  for (int32_t i = 0; i < n; i++) idx[i] = i;
  for (int32_t parent = (k - 2) / 2;; parent--) {
    dpp_adjust_heap(idx, parent, k, idx[parent], v);
    if (parent == 0) break;
  }
  for (int32_t i = k; i < n; i++)
    if (dpp_before(v, idx[i], idx[0])) dpp_pop_heap(idx, k, &idx[i], v);
  for (int32_t last = k; last > 1;) {
    last--;
    dpp_pop_heap(idx, last, &idx[last], v);
  }
}

/* ---- NMS ------------------------------------------------------------------------------------ */

typedef struct dpp_work {
  const dpp_data *d;
  const dpp_box *boxes;
  int32_t *keep_index, *order, *order_tmp, *selected;
  float *keep_score;
  uint8_t *active;
} dpp_work;

/* Greedy NMS over score[0, boxes) (TFLite's NonMaxSuppressionSingleClassHelper); the
 * selected box indices go to w->selected, their count is returned. */
static int32_t dpp_nms(const dpp_work *w, const float *score, int32_t limit) {
  const dpp_options *o = &w->d->o;
  int32_t kept = 0;
  for (int32_t i = 0; i < w->d->boxes; i++)
    if (score[i] >= o->score_threshold) {
      w->keep_index[kept] = i;
      w->keep_score[kept++] = score[i];
    }
  for (int32_t i = 0; i < kept; i++) w->order[i] = i;
  dpp_stable_sort(w->order, w->order_tmp, kept, w->keep_score);
  const int32_t output_size = kept < limit ? kept : limit;
  int32_t active = kept, n = 0;
  memset(w->active, 1, (size_t)kept);
  for (int32_t i = 0; i < kept && active > 0 && n < output_size; i++) {
    if (!w->active[i]) continue;
    const int32_t box = w->keep_index[w->order[i]];
    w->selected[n++] = box;
    w->active[i] = 0;
    active--;
    for (int32_t j = i + 1; j < kept; j++) {
      if (!w->active[j]) continue;
      if (dpp_iou(&w->boxes[box], &w->boxes[w->keep_index[w->order[j]]]) > o->iou_threshold) {
        w->active[j] = 0;
        active--;
      }
    }
  }
  return n;
}

typedef struct dpp_out {
  dpp_box *boxes;
  float *classes, *scores, *count;
} dpp_out;

static int32_t dpp_fast(const dpp_work *w, const float *scores, uint8_t *scratch,
                        const dpp_out *out) {
  const dpp_data *d = w->d;
  const int32_t classes = (int32_t)d->o.num_classes;
  float *max_scores = (float *)(scratch + d->at.max_scores);
  int32_t *rank = (int32_t *)(scratch + d->at.class_rank);
  int32_t *tmp = (int32_t *)(scratch + d->at.class_tmp);
  for (int32_t b = 0; b < d->boxes; b++) {
    const float *row = scores + (size_t)b * (size_t)d->columns + (size_t)d->label_offset;
    dpp_partial_argsort(row, classes, d->per_box, tmp);
    memcpy(rank + (size_t)b * (size_t)d->per_box, tmp, (size_t)d->per_box * sizeof(int32_t));
    max_scores[b] = row[tmp[0]];
  }
  const int32_t n = dpp_nms(w, max_scores, (int32_t)d->o.max_detections);
  for (int32_t k = 0; k < n; k++) {
    const int32_t b = w->selected[k];
    const float *row = scores + (size_t)b * (size_t)d->columns + (size_t)d->label_offset;
    const int32_t *r = rank + (size_t)b * (size_t)d->per_box;
    for (int32_t c = 0; c < d->per_box; c++) {
      const size_t slot = (size_t)k * (size_t)d->o.max_classes_per_detection + (size_t)c;
      out->boxes[slot] = w->boxes[b];
      out->classes[slot] = (float)r[c];
      out->scores[slot] = row[r[c]];
    }
  }
  return n;
}

/* Merges the sorted runs m[0, a) and m[a, a + b) by decreasing score, the first run first on
 * ties (std::inplace_merge). */
static void dpp_merge(dpp_candidate *m, int32_t a, int32_t b, dpp_candidate *tmp) {
  int32_t i = 0, j = a, k = 0;
  while (i < a && j < a + b) tmp[k++] = m[j].score > m[i].score ? m[j++] : m[i++];
  while (i < a) tmp[k++] = m[i++];
  while (j < a + b) tmp[k++] = m[j++];
  memcpy(m, tmp, (size_t)k * sizeof(*m));
}

static int32_t dpp_regular(const dpp_work *w, const float *scores, uint8_t *scratch,
                           const dpp_out *out) {
  const dpp_data *d = w->d;
  float *class_scores = (float *)(scratch + d->at.class_scores);
  dpp_candidate *merged = (dpp_candidate *)(scratch + d->at.merged);
  dpp_candidate *tmp = (dpp_candidate *)(scratch + d->at.merged_tmp);
  const int32_t max_detections = (int32_t)d->o.max_detections;
  int32_t size = 0;
  for (int32_t c = 0; c < (int32_t)d->o.num_classes; c++) {
    const int32_t column = c + d->label_offset;
    for (int32_t b = 0; b < d->boxes; b++)
      class_scores[b] = scores[(size_t)b * (size_t)d->columns + (size_t)column];
    const int32_t n = dpp_nms(w, class_scores, d->per_class);
    for (int32_t k = 0; k < n; k++) {
      merged[size + k].index = w->selected[k] * d->columns + column;
      merged[size + k].score = class_scores[w->selected[k]];
    }
    dpp_merge(merged, size, n, tmp);
    size = size + n < max_detections ? size + n : max_detections;
  }
  for (int32_t k = 0; k < size; k++) {
    const int32_t box = merged[k].index / d->columns;
    out->boxes[k] = w->boxes[box];
    out->classes[k] = (float)(merged[k].index - box * d->columns - d->label_offset);
    out->scores[k] = merged[k].score;
  }
  return size;
}

static tfl_status dpp_eval(tfl_context *ctx, tfl_node *node) {
  const dpp_data *d = node->user_data;
  uint8_t *scratch = tfl_context_scratch(ctx, node, d->scratch);
  dpp_box *boxes = (dpp_box *)(scratch + d->at.boxes);
  const int32_t bad =
      dpp_decode(d, tfl_node_input(ctx, node, 0), tfl_node_input(ctx, node, 2), boxes);
  if (bad >= 0)
    return tfl_context_error(ctx, node,
                             "decoded box %d has inverted corners (%g, %g, %g, %g): negative "
                             "anchor size?",
                             (int)bad, (double)boxes[bad].ymin, (double)boxes[bad].xmin,
                             (double)boxes[bad].ymax, (double)boxes[bad].xmax);
  const float *scores =
      dpp_scores(d, tfl_node_input(ctx, node, 1), (float *)(scratch + d->at.scores));
  dpp_out out = {tfl_node_output(ctx, node, 0)->data, tfl_node_output(ctx, node, 1)->data,
                 tfl_node_output(ctx, node, 2)->data, tfl_node_output(ctx, node, 3)->data};
  memset(out.boxes, 0, (size_t)d->slots * sizeof(dpp_box));
  memset(out.classes, 0, (size_t)d->slots * sizeof(float));
  memset(out.scores, 0, (size_t)d->slots * sizeof(float));
  dpp_work w = {d,
                boxes,
                (int32_t *)(scratch + d->at.keep_index),
                (int32_t *)(scratch + d->at.order),
                (int32_t *)(scratch + d->at.order_tmp),
                (int32_t *)(scratch + d->at.selected),
                (float *)(scratch + d->at.keep_score),
                scratch + d->at.active};
  const int32_t n =
      d->o.regular ? dpp_regular(&w, scores, scratch, &out) : dpp_fast(&w, scores, scratch, &out);
  out.count[0] = (float)n;
  return TFL_OK;
}

static const tfl_op_registration detection_postprocess = {
    .name = "TFLite_Detection_PostProcess",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .data_size = sizeof(dpp_data),
    .prepare = dpp_prepare,
    .eval = dpp_eval,
    .types = TFL_TYPE_BIT(TFL_FLOAT32) | TFL_TYPE_BIT(TFL_UINT8) | TFL_TYPE_BIT(TFL_INT8),
};

const tfl_op_registration *const tfl_kernels_detection[] = {&detection_postprocess, NULL};
