/* Fused PAD and ADD support for the float convolutions (fused.h). */
#include "kernels/fused.h"

#include <math.h>
#include <stdint.h>

tfl_status tfl_fused_window_plan(tfl_context *ctx, const tfl_node *node,
                                 const tfl_window_fields *f, const tfl_tensor *input,
                                 int32_t kh, int32_t kw, const tfl_fusion *fusion,
                                 tfl_window *win) {
  if (!fusion) return tfl_window_plan(ctx, node, f, input, kh, kw, win);
  if (input->ndim != 4)
    return tfl_context_error(ctx, node, "input '%s' must be 4-D (NHWC), has %d dimensions",
                             input->name, input->ndim);
  const int64_t h = (int64_t)input->dims[1] + fusion->pad_top + fusion->pad_bottom;
  const int64_t w = (int64_t)input->dims[2] + fusion->pad_left + fusion->pad_right;
  if (h > INT32_MAX || w > INT32_MAX)
    return tfl_context_error(ctx, node, "padded input '%s' is too large", input->name);
  tfl_tensor padded = *input;
  padded.dims[1] = (int32_t)h;
  padded.dims[2] = (int32_t)w;
  tfl_status st = tfl_window_plan(ctx, node, f, &padded, kh, kw, win);
  if (st != TFL_OK) return st;
  win->h.in = input->dims[1];
  win->h.pad += fusion->pad_top;
  win->w.in = input->dims[2];
  win->w.pad += fusion->pad_left;
  return TFL_OK;
}

tfl_status tfl_fused_add_prepare(tfl_context *ctx, tfl_node *node, const tfl_fusion *fusion,
                                 const int32_t *dims, tfl_tensor *output,
                                 tfl_fused_add_plan *plan) {
  plan->apart = 0;
  if (!fusion || fusion->residual < 0) return tfl_context_resize(ctx, output, 4, dims);
  const tfl_tensor *r = tfl_node_input(ctx, node, fusion->residual);
  if (!r || r->type != TFL_FLOAT32)
    return tfl_context_error(ctx, node, "the fused ADD's operand must be float32");
  int same = r->ndim == 4;
  for (int i = 0; same && i < 4; i++) same = r->dims[i] == dims[i];
  if (same) return tfl_context_resize(ctx, output, 4, dims);
  tfl_tensor conv = {.type = TFL_FLOAT32, .ndim = 4, .name = output->name};
  for (int i = 0; i < 4; i++) conv.dims[i] = dims[i];
  int ndim = 0;
  int32_t out_dims[TFL_MAX_DIMS];
  tfl_status st = tfl_broadcast_shape(ctx, node, &conv, r, &ndim, out_dims);
  if (st != TFL_OK) return st;
  tfl_broadcast_plan(&conv, r, &plan->bcast);
  const size_t bytes = (size_t)dims[0] * (size_t)dims[1] * (size_t)dims[2] * (size_t)dims[3] *
                       sizeof(float);
  st = tfl_context_request_scratch(ctx, node, bytes ? bytes : sizeof(float), &plan->scratch);
  if (st != TFL_OK) return st;
  plan->apart = 1;
  return tfl_context_resize(ctx, output, ndim, out_dims);
}

const tfl_gemm_residual *tfl_fused_residual(tfl_context *ctx, const tfl_node *node,
                                            const tfl_fusion *fusion, int32_t channels,
                                            tfl_gemm_residual *res) {
  if (!fusion || fusion->residual < 0) return NULL;
  res->r = tfl_node_input(ctx, node, fusion->residual)->data;
  res->ld = (size_t)channels;
  /* ADD's float clamp: its checked activation, or none (as binary.c). */
  if (tfl_activation_range_f32(fusion->add_activation, &res->lo, &res->hi) != TFL_OK) {
    res->lo = -INFINITY;
    res->hi = INFINITY;
  }
  return res;
}

void tfl_fused_add(float *out, const tfl_gemm_residual *res, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = tfl_window_clamp(out[i] + res->r[i], res->lo, res->hi);
}

TFL_BCAST_FN_WITH2(add_clamp, float, float, float,
                   const tfl_gemm_residual *res = arg;
                   const float lo = res->lo;
                   const float hi = res->hi,
                   tfl_window_clamp(x + y, lo, hi))

void tfl_fused_add_apart(const tfl_fused_add_plan *plan, const float *conv,
                         const tfl_gemm_residual *res, float *out) {
  tfl_broadcast_run(&plan->bcast, conv, sizeof(float), res->r, sizeof(float), out,
                    sizeof(float), add_clamp, res);
}
