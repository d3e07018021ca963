/* Quantized depthwise convolution, fast path: packing, tap pointers, the split over threads
 * and the portable row kernel (see qdwconv.h). */
#include "kernels/qdwconv.h"

#include <stdlib.h>
#include <string.h>

int tfl_qdwconv_supports(tfl_cpu_level level, int32_t multiplier, const tfl_window *win,
                         const tfl_window_quant *q, const tfl_tensor *input,
                         const tfl_tensor *filter, const tfl_tensor *bias) {
  return multiplier == 1 && (int64_t)win->h.filter * win->w.filter <= TFL_QDW_MAX_TAPS &&
         tfl_qreq_supports(level, q, input, filter, bias);
}

void tfl_qdwconv_free(tfl_qdwconv *dw) {
  free(dw->weights);
  free(dw->zero_row);
  tfl_qreq_free(&dw->req);
  memset(dw, 0, sizeof(*dw));
}

static int32_t filter_at(const tfl_tensor *filter, size_t i) {
  return filter->type == TFL_UINT8 ? ((const uint8_t *)filter->data)[i]
                                   : ((const int8_t *)filter->data)[i];
}

/* Weights of every block, pair and lane, and each channel's requantization slot with the
 * input offset times its weight sum folded into the bias. */
static void qdw_pack(tfl_qdwconv *dw, const tfl_window_quant *q, const tfl_tensor *filter,
                     const tfl_tensor *bias) {
  const int32_t C = dw->channels;
  for (int32_t b = 0; b < dw->blocks; b++)
    for (int32_t lane = 0; lane < TFL_QDW_BLOCK; lane++) {
      const int32_t c = b * TFL_QDW_BLOCK + tfl_qdw_lane_channel(lane);
      if (c >= C) continue;
      uint32_t wsum = 0;
      for (int32_t t = 0; t < dw->taps; t++) {
        const int32_t w = filter_at(filter, (size_t)t * (size_t)C + (size_t)c) + q->filter_offset;
        dw->weights[(((size_t)b * (size_t)dw->pairs + (size_t)(t / 2)) * TFL_QDW_BLOCK +
                     (size_t)lane) * 2 + (size_t)(t & 1)] = (int16_t)w;
        wsum += (uint32_t)w;
      }
      const uint32_t b0 = bias ? (uint32_t)((const int32_t *)bias->data)[c] : 0u;
      tfl_qreq_set(&dw->req, b * TFL_QDW_BLOCK + lane, q, c,
                   (int32_t)(b0 + (uint32_t)q->input_offset * wsum));
    }
}

/* The outputs along one axis whose taps all land inside the input: [*first, *end). */
static void qdw_interior(const tfl_window_axis *a, int32_t *first, int32_t *end) {
  const int32_t span = (a->filter - 1) * a->dilation;
  int32_t lo = a->pad > 0 ? (a->pad + a->stride - 1) / a->stride : 0;
  int32_t hi = a->in - span + a->pad > 0 ? (a->in - span + a->pad - 1) / a->stride + 1 : 0;
  if (hi > a->out) hi = a->out;
  if (lo > hi) lo = hi;
  *first = lo;
  *end = hi;
}

static void qdw_plan_interior(tfl_qdwconv *dw) {
  const tfl_window *win = &dw->win;
  qdw_interior(&win->h, &dw->oy0, &dw->oy1);
  qdw_interior(&win->w, &dw->ox0, &dw->ox1);
  for (int32_t t = 0; t < 2 * dw->pairs; t++) {
    const int32_t ky = t < dw->taps ? t / win->w.filter : 0;
    const int32_t kx = t < dw->taps ? t % win->w.filter : 0;
    const ptrdiff_t pixels =
        (ptrdiff_t)ky * win->h.dilation * win->w.in + (ptrdiff_t)kx * win->w.dilation;
    dw->tap_offset[t] = pixels * dw->channels;
  }
}

tfl_status tfl_qdwconv_prepare(tfl_qdwconv *dw, tfl_cpu_level level, const tfl_window *win,
                               int32_t batches, int32_t channels, const tfl_window_quant *q,
                               const tfl_tensor *input, const tfl_tensor *filter,
                               const tfl_tensor *bias) {
  tfl_qdwconv_free(dw);
  dw->win = *win;
  dw->batches = batches;
  dw->channels = channels;
  dw->type = input->type;
  dw->taps = win->h.filter * win->w.filter;
  dw->pairs = (dw->taps + 1) / 2;
  dw->blocks = (channels + TFL_QDW_BLOCK - 1) / TFL_QDW_BLOCK;
  const size_t lanes = (size_t)(dw->blocks > 0 ? dw->blocks : 1) * TFL_QDW_BLOCK;
  dw->weights = aligned_alloc(64, (lanes * (size_t)(dw->pairs > 0 ? dw->pairs : 1) * 2 *
                                       sizeof(int16_t) + 63) & ~(size_t)63);
  dw->zero_row = malloc(lanes);
  if (!dw->weights || !dw->zero_row ||
      tfl_qreq_init(&dw->req, (int32_t)lanes, q, input->type) != TFL_OK) {
    tfl_qdwconv_free(dw);
    return TFL_OUT_OF_MEMORY;
  }
  memset(dw->weights, 0, lanes * (size_t)dw->pairs * 2 * sizeof(int16_t));
  memset(dw->zero_row, (uint8_t)-q->input_offset, lanes);
  qdw_pack(dw, q, filter, bias);
  qdw_plan_interior(dw);
  dw->rows = tfl_qdwconv_rows_portable;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) dw->rows = tfl_qdwconv_rows_avx2;
#endif
  if (tfl_simd_neon(level)) dw->rows = tfl_qdwconv_rows_neon;
  return TFL_OK;
}

tfl_status tfl_qdwconv_setup(tfl_context *ctx, const tfl_node *node, tfl_qdwconv *dw,
                             const tfl_window *win, int32_t batches, int32_t channels,
                             int32_t multiplier,
                             const tfl_window_quant *q, const tfl_tensor *input,
                             const tfl_tensor *filter, const tfl_tensor *bias) {
  const tfl_cpu_level level = tfl_context_cpu(ctx);
  /* Output rows of the whole batch are counted in int32. */
  const int64_t rows = (int64_t)batches * win->h.out;
  if (!tfl_qdwconv_supports(level, multiplier, win, q, input, filter, bias) || rows > INT32_MAX) {
    tfl_qdwconv_free(dw);
    return TFL_OK;
  }
  if (tfl_qdwconv_prepare(dw, level, win, batches, channels, q, input, filter, bias) != TFL_OK)
    return tfl_qgemm_out_of_memory(ctx, node, filter);
  dw->active = 1;
  return TFL_OK;
}

void tfl_qdw_tap_pointers(const tfl_qdwconv *dw, const uint8_t *image, int32_t oy, int32_t ox,
                          const uint8_t **taps) {
  const tfl_window *win = &dw->win;
  const int32_t y0 = oy * win->h.stride - win->h.pad, x0 = ox * win->w.stride - win->w.pad;
  int32_t t = 0;
  for (int32_t ky = 0; ky < win->h.filter; ky++) {
    const int32_t iy = y0 + ky * win->h.dilation;
    for (int32_t kx = 0; kx < win->w.filter; kx++, t++) {
      const int32_t ix = x0 + kx * win->w.dilation;
      taps[t] = iy < 0 || iy >= win->h.in || ix < 0 || ix >= win->w.in
                    ? dw->zero_row
                    : image + ((size_t)iy * (size_t)win->w.in + (size_t)ix) * (size_t)dw->channels;
    }
  }
  for (; t < 2 * dw->pairs; t++) taps[t] = dw->zero_row;
}

/* Channel c of a tap's pixel. */
static int32_t qdw_input(const tfl_qdwconv *dw, const uint8_t *p, int32_t c) {
  return dw->type == TFL_UINT8 ? p[c] : (int8_t)p[c];
}

void tfl_qdwconv_rows_portable(const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out,
                               int32_t row0, int32_t row1) {
  const size_t image_bytes = (size_t)dw->win.h.in * (size_t)dw->win.w.in * (size_t)dw->channels;
  const uint8_t *taps[TFL_QDW_MAX_TAPS + 1];
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / dw->win.h.out, oy = row % dw->win.h.out;
    const uint8_t *image = in + (size_t)n * image_bytes;
    uint8_t *o = out + (size_t)row * (size_t)dw->win.w.out * (size_t)dw->channels;
    for (int32_t ox = 0; ox < dw->win.w.out; ox++, o += dw->channels) {
      tfl_qdw_tap_pointers(dw, image, oy, ox, taps);
      for (int32_t slot = 0; slot < dw->blocks * TFL_QDW_BLOCK; slot++) {
        const int32_t b = slot / TFL_QDW_BLOCK, lane = slot % TFL_QDW_BLOCK;
        const int32_t c = b * TFL_QDW_BLOCK + tfl_qdw_lane_channel(lane);
        if (c >= dw->channels) continue;
        const int16_t *w = dw->weights + ((size_t)b * (size_t)dw->pairs * TFL_QDW_BLOCK +
                                          (size_t)lane) * 2;
        uint32_t acc = 0;
        for (int32_t t = 0; t < 2 * dw->pairs; t++)
          acc += (uint32_t)(qdw_input(dw, taps[t], c) *
                            w[(size_t)(t / 2) * TFL_QDW_BLOCK * 2 + (size_t)(t & 1)]);
        tfl_window_store(dw->type, o, (size_t)c, tfl_qreq_apply(&dw->req, slot, (int32_t)acc));
      }
    }
  }
}

typedef struct qdw_job {
  const tfl_qdwconv *dw;
  const uint8_t *in;
  uint8_t *out;
} qdw_job;

static void qdw_rows(const void *arg, int32_t row0, int32_t row1) {
  const qdw_job *job = arg;
  job->dw->rows(job->dw, job->in, job->out, row0, row1);
}

void tfl_qdwconv_eval(tfl_context *ctx, const tfl_qdwconv *dw, const void *in, void *out) {
  if (dw->win.w.out <= 0 || dw->channels <= 0) return;
  const qdw_job job = {dw, in, out};
  tfl_split_rows(ctx, dw->batches * dw->win.h.out, qdw_rows, &job);
}
