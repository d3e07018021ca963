/* Graph fusion (see fuse.h). */
#include "runtime/fuse.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dwconv.h"
#include "kernels/families.h"
#include "model/ops.h"
#include "runtime/interpreter.h"
#include "runtime/kernel.h"

/* Conv2DOptions fields; AddOptions.fused_activation_function. */
enum {
  FUSE_CONV_STRIDE_W = 1,
  FUSE_CONV_STRIDE_H = 2,
  FUSE_CONV_ACTIVATION = 3,
  FUSE_ADD_ACTIVATION = 0
};
/* An expanded tensor smaller than this stays in the core's cache between the two ops anyway:
 * fusing them measured no faster there (slightly slower on MobileNet v2's 7x7 blocks). */
#define FUSE_EXPAND_MIN_BYTES ((size_t)1 << 20)

/* What a fused node points at instead of the model's arrays. */
typedef struct fuse_slot {
  tfl_fusion record;
  int32_t inputs[TFL_FUSED_INPUTS];
  int32_t output;
} fuse_slot;

/* A node fused into another: nothing to prepare or run. */
static const tfl_op_registration fused_away = {.name = "FUSED"};

const tfl_fusion *tfl_node_fusion(const tfl_node *node) {
  if (node->registration != &tfl_conv_2d_fused &&
      node->registration != &tfl_depthwise_conv_2d_fused)
    return NULL;
  return node->custom_options;
}

void tfl_fuse_free(struct tfl_context *ctx) {
  free(ctx->fused);
  ctx->fused = NULL;
}

/* What the pass knows of the subgraph's tensors. */
typedef struct fuse_graph {
  tfl_context *ctx;
  fuse_slot *slots;   /* per node */
  int32_t *producer;  /* per tensor: the node writing it, or -1 */
  int32_t *readers;   /* per tensor: how many times nodes read it */
  uint8_t *visible;   /* per tensor: a caller can name it */
} fuse_graph;

static int in_family(const tfl_node *node, const tfl_op_registration *const *family) {
  for (; *family; family++)
    if (node->registration == *family) return 1;
  return 0;
}

static const tfl_model_tensor *model_tensor(const fuse_graph *g, int32_t t) {
  return &g->ctx->msg->tensors[t];
}

static int is_float(const fuse_graph *g, int32_t t) {
  return t >= 0 && model_tensor(g, t)->type == TFL_FLOAT32 && model_tensor(g, t)->quant.count == 0;
}

/* Read once by some node, written by a node, and not a tensor the caller sees. */
static int is_private_link(const fuse_graph *g, int32_t t) {
  return t >= 0 && g->readers[t] == 1 && g->producer[t] >= 0 && !g->visible[t];
}

static void mark_visible(fuse_graph *g, const int32_t *tensors, int n) {
  for (int i = 0; i < n; i++) g->visible[tensors[i]] = 1;
}

static void scan_graph(fuse_graph *g) {
  tfl_context *ctx = g->ctx;
  for (int t = 0; t < ctx->n_tensors; t++) g->producer[t] = -1;
  for (int j = 0; j < ctx->n_nodes; j++) {
    const tfl_node *node = &ctx->nodes[j];
    for (int k = 0; k < node->num_outputs; k++) g->producer[node->outputs[k]] = j;
    for (int k = 0; k < node->num_inputs; k++)
      if (node->inputs[k] >= 0) g->readers[node->inputs[k]]++;
    for (int k = 0; k < node->num_intermediates; k++)
      if (node->intermediates[k] >= 0) g->readers[node->intermediates[k]]++;
  }
  mark_visible(g, ctx->msg->inputs, ctx->msg->n_inputs);
  mark_visible(g, ctx->msg->outputs, ctx->msg->n_outputs);
  const tfl_model *model = ctx->interp->model;
  for (int s = 0; s < model->n_signatures; s++) {
    const tfl_model_signature *sig = &model->signatures[s];
    if ((int)sig->subgraph != ctx->index) continue;
    for (int i = 0; i < sig->n_inputs; i++) g->visible[sig->inputs[i].tensor] = 1;
    for (int i = 0; i < sig->n_outputs; i++) g->visible[sig->outputs[i].tensor] = 1;
  }
}

/* Points node j at its slot (copying its convolution inputs the first time) and returns it. */
static fuse_slot *fused_conv(fuse_graph *g, int j, const tfl_op_registration *reg) {
  tfl_node *node = &g->ctx->nodes[j];
  fuse_slot *slot = &g->slots[j];
  if (node->registration != reg) {
    for (int k = 0; k < TFL_FUSED_INPUTS; k++)
      slot->inputs[k] = k < node->num_inputs ? node->inputs[k] : -1;
    slot->output = node->outputs[0];
    slot->record.residual = -1;
    node->registration = reg;
    node->inputs = slot->inputs;
    node->num_inputs = TFL_FUSED_INPUTS;
    node->outputs = &slot->output;
    node->custom_options = &slot->record;
    node->custom_options_size = sizeof(slot->record);
  }
  return slot;
}

static void remove_node(fuse_graph *g, int j) {
  tfl_node *node = &g->ctx->nodes[j];
  node->registration = &fused_away;
  node->num_inputs = node->num_outputs = node->num_intermediates = 0;
}

/* --- PAD into the convolution that reads it ------------------------------------------------ */

/* The constant paddings of a 4-D PAD, when they pad only the height and width: (top, bottom,
 * left, right). */
static int spatial_paddings(const fuse_graph *g, int32_t t, int32_t pads[4]) {
  const tfl_model_tensor *mt = model_tensor(g, t);
  if (!mt->data || mt->ndim != 2 || mt->shape[0] != 4 || mt->shape[1] != 2) return 0;
  int64_t v[8];
  for (int i = 0; i < 8; i++) {
    if (mt->type == TFL_INT32 && mt->data_size >= 32) {
      int32_t x;
      memcpy(&x, mt->data + 4 * i, 4);
      v[i] = x;
    } else if (mt->type == TFL_INT64 && mt->data_size >= 64) {
      memcpy(&v[i], mt->data + 8 * i, 8);
    } else {
      return 0;
    }
  }
  if (v[0] || v[1] || v[6] || v[7]) return 0;
  for (int i = 2; i < 6; i++) {
    if (v[i] < 0 || v[i] > 1024) return 0; /* far beyond any real window: leave it to PAD */
    pads[i - 2] = (int32_t)v[i];
  }
  return 1;
}

/* PADV2's constant is a float zero (PAD pads with zeros). */
static int pads_with_zero(const fuse_graph *g, const tfl_node *pad) {
  if (pad->num_inputs < 3 || pad->inputs[2] < 0) return 1;
  const tfl_model_tensor *mt = model_tensor(g, pad->inputs[2]);
  float v;
  if (mt->type != TFL_FLOAT32 || !mt->data || mt->data_size != sizeof(v)) return 0;
  memcpy(&v, mt->data, sizeof(v));
  return v == 0.0f;
}

static void fuse_pad(fuse_graph *g, int j) {
  tfl_context *ctx = g->ctx;
  const tfl_node *pad = &ctx->nodes[j];
  if (!in_family(pad, tfl_kernels_pad) || pad->num_inputs < 2 || pad->num_outputs != 1 ||
      (pad->builtin_code != TFL_OP_PAD && pad->builtin_code != TFL_OP_PADV2))
    return;
  const int32_t in = pad->inputs[0], out = pad->outputs[0];
  int32_t pads[4];
  if (!is_float(g, in) || model_tensor(g, in)->ndim != 4 || !is_private_link(g, out) ||
      !spatial_paddings(g, pad->inputs[1], pads) || !pads_with_zero(g, pad))
    return;
  for (int k = j + 1; k < ctx->n_nodes; k++) {
    const tfl_node *conv = &ctx->nodes[k];
    if (conv->num_inputs < 2 || conv->inputs[0] != out) continue;
    const tfl_op_registration *reg = NULL;
    if (conv->builtin_code == TFL_OP_CONV_2D && in_family(conv, tfl_kernels_conv))
      reg = &tfl_conv_2d_fused;
    else if (conv->builtin_code == TFL_OP_DEPTHWISE_CONV_2D &&
             in_family(conv, tfl_kernels_depthwise))
      reg = &tfl_depthwise_conv_2d_fused;
    if (!reg || conv->num_outputs != 1 || !is_float(g, conv->inputs[1])) return;
    fuse_slot *slot = fused_conv(g, k, reg);
    slot->inputs[0] = in;
    slot->record.pad_top = pads[0];
    slot->record.pad_bottom = pads[1];
    slot->record.pad_left = pads[2];
    slot->record.pad_right = pads[3];
    remove_node(g, j);
    return;
  }
}

/* --- a 1x1 expansion into the depthwise convolution that reads it -------------------------- */

/* Bytes of a float tensor of the model's shape. */
static size_t tensor_bytes(const tfl_model_tensor *mt) {
  size_t n = sizeof(float);
  for (int i = 0; i < mt->ndim; i++) n *= (size_t)mt->shape[i];
  return n;
}

static int is_constant(const fuse_graph *g, int32_t t) {
  return t < 0 || model_tensor(g, t)->data != NULL;
}

/* The clamp of a float activation as the float convolutions apply it (kernels/window.h):
 * NONE clamps to the finite range. 0 for activations a fused expansion does not take. */
static int expand_clamp(int act, float *lo, float *hi) {
  if (tfl_activation_range_f32(act, lo, hi) != TFL_OK) return 0;
  if (*lo < -FLT_MAX) *lo = -FLT_MAX;
  if (*hi > FLT_MAX) *hi = FLT_MAX;
  return 1;
}

static void fuse_expand(fuse_graph *g, int j) {
  tfl_context *ctx = g->ctx;
  const tfl_node *dw = &ctx->nodes[j];
  const int fused = dw->registration == &tfl_depthwise_conv_2d_fused;
  if ((!fused && !in_family(dw, tfl_kernels_depthwise)) ||
      !tfl_dwconv_available(ctx->interp->cpu) || dw->builtin_code != TFL_OP_DEPTHWISE_CONV_2D ||
      dw->num_inputs < 2 || dw->num_outputs != 1)
    return;
  const int32_t mid = dw->inputs[0];
  if (!is_private_link(g, mid) || !is_float(g, dw->inputs[1]) ||
      tensor_bytes(model_tensor(g, mid)) < FUSE_EXPAND_MIN_BYTES)
    return;
  const tfl_node *e = &ctx->nodes[g->producer[mid]];
  if (!in_family(e, tfl_kernels_conv) || e->builtin_code != TFL_OP_CONV_2D ||
      e->num_inputs < 2 || e->num_outputs != 1 || tfl_opt_type(e) != TFL_OPTS_CONV_2D)
    return;
  const int32_t x = e->inputs[0], w = e->inputs[1], b = e->num_inputs > 2 ? e->inputs[2] : -1;
  const tfl_model_tensor *wt = model_tensor(g, w), *dwt = model_tensor(g, dw->inputs[1]);
  float lo, hi;
  if (!is_float(g, x) || model_tensor(g, x)->ndim != 4 || !is_float(g, w) ||
      !is_constant(g, w) || (b >= 0 && (!is_float(g, b) || !is_constant(g, b))) ||
      wt->ndim != 4 || wt->shape[1] != 1 || wt->shape[2] != 1 || dwt->ndim != 4 ||
      dwt->shape[3] != wt->shape[0] ||
      tfl_opt_int(e, FUSE_CONV_STRIDE_W, 0) != 1 || tfl_opt_int(e, FUSE_CONV_STRIDE_H, 0) != 1 ||
      !expand_clamp(tfl_opt_int(e, FUSE_CONV_ACTIVATION, TFL_ACT_NONE), &lo, &hi))
    return;
  fuse_slot *slot = fused_conv(g, j, &tfl_depthwise_conv_2d_fused);
  slot->inputs[0] = x;
  slot->inputs[TFL_FUSED_EXPAND_FILTER] = w;
  slot->inputs[TFL_FUSED_EXPAND_BIAS] = b;
  slot->record.expand = 1;
  slot->record.expand_lo = lo;
  slot->record.expand_hi = hi;
  remove_node(g, g->producer[mid]);
}

/* --- ADD into the convolution that produces an operand ------------------------------------- */

/* Same static 4-D shape (no dimension unknown until run time). */
static int same_static_shape(const fuse_graph *g, int32_t a, int32_t b) {
  const tfl_model_tensor *x = model_tensor(g, a), *y = model_tensor(g, b);
  if (x->ndim != y->ndim) return 0;
  for (int i = 0; i < x->ndim; i++) {
    if (x->shape[i] != y->shape[i]) return 0;
    if (x->shape_signature && x->shape_signature[i] < 0) return 0;
    if (y->shape_signature && y->shape_signature[i] < 0) return 0;
  }
  return 1;
}

/* Node index that computes operand x of the ADD if the ADD can move into it: a float CONV_2D
 * without activation, x's only use, with `other` ready before it runs; else -1. */
static int add_producer(const fuse_graph *g, int32_t x, int32_t other) {
  if (!is_private_link(g, x) || x == other) return -1;
  const int p = g->producer[x];
  const tfl_node *conv = &g->ctx->nodes[p];
  const int builtin =
      in_family(conv, tfl_kernels_conv) || conv->registration == &tfl_conv_2d_fused;
  if (!builtin || conv->builtin_code != TFL_OP_CONV_2D || conv->num_outputs != 1 ||
      !is_float(g, conv->inputs[1]) || tfl_opt_type(conv) != TFL_OPTS_CONV_2D ||
      tfl_opt_int(conv, FUSE_CONV_ACTIVATION, TFL_ACT_NONE) != TFL_ACT_NONE)
    return -1;
  return g->producer[other] < p ? p : -1;
}

static void fuse_add(fuse_graph *g, int j) {
  const tfl_node *add = &g->ctx->nodes[j];
  if (!in_family(add, tfl_kernels_binary) || add->builtin_code != TFL_OP_ADD ||
      add->num_inputs != 2 || add->num_outputs != 1)
    return;
  const int32_t a = add->inputs[0], b = add->inputs[1], out = add->outputs[0];
  if (!is_float(g, a) || !is_float(g, b) || !is_float(g, out) || !same_static_shape(g, a, b) ||
      !same_static_shape(g, a, out))
    return;
  const int opts = tfl_opt_type(add);
  const int act = opts == TFL_OPTS_ADD ? tfl_opt_int(add, FUSE_ADD_ACTIVATION, TFL_ACT_NONE)
                                       : TFL_ACT_NONE;
  float lo, hi;
  if ((opts != TFL_OPTS_ADD && opts != TFL_OPTS_NONE) ||
      tfl_activation_range_f32(act, &lo, &hi) != TFL_OK)
    return;
  const int pa = add_producer(g, a, b), pb = add_producer(g, b, a);
  if (pa < 0 && pb < 0) return;
  const int p = pa > pb ? pa : pb;
  fuse_slot *slot = fused_conv(g, p, &tfl_conv_2d_fused);
  slot->inputs[TFL_FUSED_RESIDUAL] = p == pa ? b : a;
  slot->output = out;
  slot->record.residual = TFL_FUSED_RESIDUAL;
  slot->record.add_activation = act;
  remove_node(g, j);
}

static int fusion_disabled(void) {
  const char *v = getenv("TFL_FUSE");
  return v && strcmp(v, "0") == 0;
}

tfl_status tfl_fuse_subgraph(struct tfl_context *ctx) {
  if (fusion_disabled() || ctx->interp->options.preserve_all || ctx->n_nodes == 0) return TFL_OK;
  const size_t nt = (size_t)ctx->n_tensors + 1;
  fuse_graph g = {ctx, calloc((size_t)ctx->n_nodes, sizeof(fuse_slot)),
                  malloc(nt * sizeof(int32_t)), calloc(nt, sizeof(int32_t)), calloc(nt, 1)};
  tfl_status st = TFL_OK;
  if (g.slots && g.producer && g.readers && g.visible) {
    scan_graph(&g);
    for (int j = 0; j < ctx->n_nodes; j++) fuse_pad(&g, j);
    for (int j = 0; j < ctx->n_nodes; j++) fuse_expand(&g, j);
    for (int j = 0; j < ctx->n_nodes; j++) fuse_add(&g, j);
    ctx->fused = g.slots;
    g.slots = NULL;
  } else {
    st = tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
  }
  free(g.slots);
  free(g.producer);
  free(g.readers);
  free(g.visible);
  return st;
}
