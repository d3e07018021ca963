/* DEPTHWISE_CONV_2D's fast int8/uint8 path, for a channel multiplier of 1 (the only one real
 * models use) and any window of up to TFL_QDW_MAX_TAPS taps.
 *
 * Every output pixel reads all its taps through pointers; a tap in the padding points at a
 * row of input zero points, whose real value 0 adds nothing, as skipping it does in the
 * reference kernel. The taps go in pairs (an odd last tap is paired with the zero row and
 * zero weights) so that vpmaddwd multiplies and adds two taps at once. The input offset is
 * folded into the bias: sum_t (x_t - zp) * w_t = sum_t x_t * w_t - zp * sum_t w_t over all
 * taps, padding ones included (there x_t = zp). All of it in wrapping int32 arithmetic, so
 * the accumulators are the reference's exactly (see qgemm.h); requantization as the
 * reference's, per channel.
 *
 * Channels go in blocks of 16. Within a block, vector lanes hold channels in the order
 * interleaving two taps leaves them (0-3, 8-11 | 4-7, 12-15), and the packed weights and
 * requantization slots follow that order. */
#ifndef TFL_KERNELS_QDWCONV_H
#define TFL_KERNELS_QDWCONV_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/qgemm.h"

#define TFL_QDW_MAX_TAPS 64
#define TFL_QDW_BLOCK 16

typedef struct tfl_qdwconv tfl_qdwconv;

/* Computes output rows [row0, row1) (rows counted over the batch: n * out_h + oy). */
typedef void (*tfl_qdwconv_rows_fn)(const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out,
                                    int32_t row0, int32_t row1);

struct tfl_qdwconv {
  tfl_window win;
  int32_t batches, channels;
  int32_t taps, pairs, blocks; /* kh * kw; ceil(taps / 2); ceil(channels / 16) */
  tfl_type type;               /* of input and output */
  int16_t *weights;            /* [blocks][pairs][16 lanes][2 taps]: w + filter offset */
  tfl_qreq req;                /* slot = block * 16 + lane */
  uint8_t *zero_row;           /* blocks * 16 input zero points */
  /* Pixels whose taps all lie inside the input: output rows [oy0, oy1) x columns [ox0, ox1);
   * their tap t reads the input pixel of tap 0 plus tap_offset[t] bytes (the filler of an
   * odd tap count reads tap 0 again, with zero weights). */
  int32_t oy0, oy1, ox0, ox1;
  ptrdiff_t tap_offset[TFL_QDW_MAX_TAPS];
  tfl_qdwconv_rows_fn rows;
  int active; /* set up by tfl_qdwconv_setup: the node runs here */
};

/* For DEPTHWISE_CONV_2D's prepare, after tfl_window_quant_prepare: when this path reproduces
 * the op at the context's CPU level, prepares dw and sets dw->active; otherwise releases dw
 * (active 0). Fails only when out of memory. */
tfl_status tfl_qdwconv_setup(tfl_context *ctx, const tfl_node *node, tfl_qdwconv *dw,
                             const tfl_window *win, int32_t batches, int32_t channels,
                             int32_t multiplier,
                             const tfl_window_quant *q, const tfl_tensor *input,
                             const tfl_tensor *filter, const tfl_tensor *bias);

/* Whether this path reproduces the op (see tfl_qreq_supports) with this multiplier and window. */
int tfl_qdwconv_supports(tfl_cpu_level level, int32_t multiplier, const tfl_window *win,
                         const tfl_window_quant *q, const tfl_tensor *input,
                         const tfl_tensor *filter, const tfl_tensor *bias);
/* Packs filter [1][kh][kw][channels] and bias; replaces an earlier preparation. */
tfl_status tfl_qdwconv_prepare(tfl_qdwconv *dw, tfl_cpu_level level, const tfl_window *win,
                               int32_t batches, int32_t channels, const tfl_window_quant *q,
                               const tfl_tensor *input, const tfl_tensor *filter,
                               const tfl_tensor *bias);
/* out = the depthwise convolution of `in` (whole batch), split over the context's threads
 * (ctx may be NULL). */
void tfl_qdwconv_eval(tfl_context *ctx, const tfl_qdwconv *dw, const void *in, void *out);
void tfl_qdwconv_free(tfl_qdwconv *dw);

/* Helpers of the row kernels. */
/* Channel (within its block) that lane `lane` (0-15) holds. */
static inline int32_t tfl_qdw_lane_channel(int32_t lane) {
  return lane < 4 || lane >= 12 ? lane : lane < 8 ? lane + 4 : lane - 4;
}
/* The input pointer of every tap of output pixel (oy, ox) of `image` (the zero row for taps
 * in the padding), then the zero row up to an even count. */
void tfl_qdw_tap_pointers(const tfl_qdwconv *dw, const uint8_t *image, int32_t oy, int32_t ox,
                          const uint8_t **taps);

void tfl_qdwconv_rows_portable(const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out,
                               int32_t row0, int32_t row1);
#if TFL_HAVE_X86_KERNELS
void tfl_qdwconv_rows_avx2(const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out, int32_t row0,
                           int32_t row1);
#endif

#endif
