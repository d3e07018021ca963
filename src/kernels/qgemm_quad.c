/* Quad panels of the quantized GEMM (qgemm.h): which quads vpmaddubsw takes exactly, their
 * layout, and the bias correction. Packing only: the kernel is x86/qgemm_avx2.c's. */
#include <stdlib.h>
#include <string.h>

#include "kernels/qgemm.h"

/* Quad panels pay per tile for a copy of A as bytes (int8: + 128) and its widening when
 * some quads are unsafe, and per quad for a lookup; measured on MobileNet v2's layers, they
 * win 9-23% where nearly all quads are safe (uint8 filters), about 10% at 77% (int8
 * per-channel filters), but nothing at 65% and lose up to 18% at 50%, so they serve only
 * from this share of safe quads on. */
#define QUAD_MIN_SAFE_PERCENT 75
/* Bytes of a safe and of an unsafe quad in a panel. */
#define SAFE_BYTES (TFL_QGEMM_NR * TFL_QGEMM_QUAD)
#define UNSAFE_BYTES (TFL_QGEMM_NR * TFL_QGEMM_QUAD * (int)sizeof(int16_t))

static int32_t div_up(int32_t a, int32_t b) { return (a + b - 1) / b; }

/* s = w + filter_offset at column col, k index i; 0 past the filter. */
static int32_t quad_s(const tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t col,
                      int32_t i) {
  if (col >= pw->n || i >= pw->k) return 0;
  const size_t at = (size_t)col * (size_t)pw->k + (size_t)i;
  const int32_t w = filter->type == TFL_UINT8 ? ((const uint8_t *)filter->data)[at]
                                              : ((const int8_t *)filter->data)[at];
  return w + pw->filter_offset;
}

/* Per column and int16 lane of a quad (its 2 s there): the sum of the positive s and the
 * negated sum of the negative ones; a quad with an s outside int8 gets QUAD_OUT instead. */
typedef struct quad_sums {
  int16_t pos[TFL_QGEMM_NR][2], neg[TFL_QGEMM_NR][2];
} quad_sums;

/* Beyond any bound, and summable. */
#define QUAD_OUT 1024

/* The sums of every quad of the panel whose first column is col0. */
static void panel_sums(const tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t col0,
                       quad_sums *sums) {
  for (int32_t q = 0; q < pw->quads; q++)
    for (int32_t c = 0; c < TFL_QGEMM_NR; c++)
      for (int32_t lane = 0; lane < 2; lane++) {
        int32_t pos = 0, neg = 0;
        for (int32_t t = 0; t < 2; t++) {
          const int32_t v = quad_s(pw, filter, col0 + c, TFL_QGEMM_QUAD * q + 2 * lane + t);
          if (v < -128 || v > 127) pos = neg = QUAD_OUT;
          if (pos == QUAD_OUT) break;
          if (v > 0) pos += v;
          else neg -= v;
        }
        sums[q].pos[c][lane] = (int16_t)pos;
        sums[q].neg[c][lane] = (int16_t)neg;
      }
}

/* Whether vpmaddubsw cannot saturate on quad a, its pair sums adding in int16 to quad b's
 * when b is given: per column and lane, the positive and the negative s sum to at most 128
 * in magnitude. */
static int quads_safe(const quad_sums *a, const quad_sums *b) {
  for (int32_t c = 0; c < TFL_QGEMM_NR; c++)
    for (int32_t lane = 0; lane < 2; lane++) {
      const int32_t pos = a->pos[c][lane] + (b ? b->pos[c][lane] : 0);
      const int32_t neg = a->neg[c][lane] + (b ? b->neg[c][lane] : 0);
      if (pos > 128 || neg > 128) return 0;
    }
  return 1;
}

/* Candidates a safe quad is tried against for a partner. */
#define PAIR_WINDOW 8

/* Reorders the first `safe` entries of order so that quads that pair up come first, two by
 * two (greedily, each with the next one it fits among a few), through `tmp` (as many
 * entries); returns how many are paired. */
static int32_t pair_quads(const quad_sums *sums, int32_t *order, int32_t safe, int32_t *tmp) {
  int32_t paired = 0;
  for (int32_t i = 0; i < safe; i++) {
    if (order[i] < 0) continue; /* taken as a partner */
    for (int32_t j = i + 1; j < safe && j <= i + PAIR_WINDOW; j++) {
      if (order[j] < 0 || !quads_safe(&sums[order[i]], &sums[order[j]])) continue;
      tmp[paired++] = order[i];
      tmp[paired++] = order[j];
      order[i] = order[j] = -1;
      break;
    }
  }
  int32_t n = paired;
  for (int32_t i = 0; i < safe; i++)
    if (order[i] >= 0) tmp[n++] = order[i];
  memcpy(order, tmp, (size_t)safe * sizeof(int32_t));
  return paired;
}

/* Each panel's quad order, safe ones first, through sums (quads entries); returns how many
 * quads are safe in all. */
static int64_t classify(tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t panels,
                        quad_sums *sums) {
  int64_t total = 0;
  for (int32_t p = 0; p < panels; p++) {
    int32_t *order = pw->order + (size_t)p * (size_t)pw->quads;
    int32_t safe = 0, unsafe = pw->quads;
    panel_sums(pw, filter, p * TFL_QGEMM_NR, sums);
    for (int32_t q = 0; q < pw->quads; q++) {
      if (quads_safe(&sums[q], NULL))
        order[safe++] = q;
      else
        order[--unsafe] = q;
    }
    pw->safe[p] = safe;
    total += safe;
  }
  return total;
}

/* Pairs up each panel's safe quads, through sums and tmp (quads entries each). */
static void pair_panels(tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t panels,
                        quad_sums *sums, int32_t *tmp) {
  for (int32_t p = 0; p < panels; p++) {
    panel_sums(pw, filter, p * TFL_QGEMM_NR, sums);
    pw->paired[p] = pair_quads(sums, pw->order + (size_t)p * (size_t)pw->quads, pw->safe[p], tmp);
  }
}

/* Panel p's quads; returns the correction each column's bias takes, per unit of input
 * offset: the sum of its safe s. */
static void fill_panel(const tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t p,
                       uint32_t *s_sum) {
  uint8_t *b = (uint8_t *)pw->panels + pw->panel_at[p];
  const int32_t *order = pw->order + (size_t)p * (size_t)pw->quads;
  const int32_t col0 = p * TFL_QGEMM_NR;
  for (int32_t i = 0; i < pw->quads; i++) {
    const int32_t k0 = TFL_QGEMM_QUAD * order[i];
    const int safe = i < pw->safe[p];
    for (int32_t c = 0; c < TFL_QGEMM_NR; c++)
      for (int32_t t = 0; t < TFL_QGEMM_QUAD; t++) {
        const int32_t s = quad_s(pw, filter, col0 + c, k0 + t);
        if (safe) {
          b[c * TFL_QGEMM_QUAD + t] = (uint8_t)(int8_t)s;
          s_sum[c] += (uint32_t)s;
        } else { /* pair t / 2 of the quad, NR columns x 2 values each */
          int16_t *pair = (int16_t *)(void *)(b + (t / 2) * (UNSAFE_BYTES / 2));
          pair[c * 2 + (t & 1)] = (int16_t)s;
        }
      }
    b += safe ? SAFE_BYTES : UNSAFE_BYTES;
  }
}

static void free_quads(tfl_qgemm_weights *pw) {
  free(pw->panel_at);
  free(pw->order);
  free(pw->safe);
  free(pw->paired);
  pw->panel_at = NULL;
  pw->order = NULL;
  pw->safe = NULL;
  pw->paired = NULL;
}

int tfl_qgemm_pack_quads(tfl_qgemm_weights *pw, const tfl_window_quant *q,
                         const tfl_tensor *filter, tfl_type input_type) {
  const int32_t panels = div_up(pw->n, TFL_QGEMM_NR);
  pw->quads = div_up(pw->k, TFL_QGEMM_QUAD);
  pw->order = malloc((size_t)panels * (size_t)pw->quads * sizeof(int32_t) + 1);
  pw->safe = malloc((size_t)panels * sizeof(int32_t) + 1);
  pw->paired = malloc((size_t)panels * sizeof(int32_t) + 1);
  pw->panel_at = malloc(((size_t)panels + 1) * sizeof(size_t));
  if (!pw->order || !pw->safe || !pw->paired || !pw->panel_at) {
    free_quads(pw);
    return -1;
  }
  quad_sums *sums = malloc((size_t)pw->quads * sizeof(quad_sums));
  int32_t *tmp = malloc((size_t)pw->quads * sizeof(int32_t));
  if (!sums || !tmp) {
    free(sums);
    free(tmp);
    free_quads(pw);
    return -1;
  }
  const int64_t safe = classify(pw, filter, panels, sums);
  const int enough = safe * 100 >= (int64_t)panels * pw->quads * QUAD_MIN_SAFE_PERCENT;
  if (enough) pair_panels(pw, filter, panels, sums, tmp);
  free(sums);
  free(tmp);
  if (!enough) {
    free_quads(pw);
    return 0;
  }
  pw->panel_at[0] = 0;
  for (int32_t p = 0; p < panels; p++)
    pw->panel_at[p + 1] = pw->panel_at[p] + (size_t)pw->safe[p] * SAFE_BYTES +
                          (size_t)(pw->quads - pw->safe[p]) * UNSAFE_BYTES;
  const size_t bytes = pw->panel_at[panels];
  pw->panels = aligned_alloc(64, bytes ? bytes : 64);
  if (!pw->panels) {
    free_quads(pw);
    return -1;
  }
  memset(pw->panels, 0, bytes);
  /* The safe quads meet the codes as u8 (int8 ones + 128), so their products lack the input
   * offset (minus that 128) times s: the bias takes it, in wrapping arithmetic. */
  const uint32_t offset = (uint32_t)q->input_offset - (input_type == TFL_INT8 ? 128u : 0u);
  for (int32_t p = 0; p < panels; p++) {
    uint32_t s_sum[TFL_QGEMM_NR] = {0};
    fill_panel(pw, filter, p, s_sum);
    for (int32_t c = 0; c < TFL_QGEMM_NR && p * TFL_QGEMM_NR + c < pw->n; c++) {
      int32_t *b = &pw->req.bias[p * TFL_QGEMM_NR + c];
      *b = (int32_t)((uint32_t)*b + offset * s_sum[c]);
    }
  }
  pw->stride = TFL_QGEMM_QUAD * pw->quads;
  pw->wide = safe < (int64_t)panels * pw->quads;
  pw->flip = input_type == TFL_INT8;
  return 1;
}
