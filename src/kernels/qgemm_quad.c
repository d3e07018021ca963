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

/* Unsafe quads are split into safe entries (below), which spares every tile the int16 copy
 * of A, when no more than this share of quads needs it. */
#define SPLIT_MAX_PERCENT 15

/* Which of a quad's 4 values an entry of a panel holds: all, or, for a split quad, those of
 * its even or its odd k, so that each int16 lane meets a single value, safe whenever it is
 * within int8. An s beyond int8 spreads over levels: level 0 holds s clamped to int8,
 * level 1 what remains, clamped again, level 2 the rest (|s| <= 255 needs no more). The
 * values of an s over all its entries sum to it. */
enum { PART_ALL = 0, PART_EVEN = 1, PART_ODD = 2, PART_LEVEL = 4, PART_LEVELS = 3 };

static int32_t clamp8(int32_t v) { return v < -128 ? -128 : v > 127 ? 127 : v; }

/* What level `level` of a split s holds. */
static int32_t level_value(int32_t s, int32_t level) {
  for (int32_t l = 0; l < level; l++) s -= clamp8(s);
  return clamp8(s);
}

typedef struct quad_entry {
  int32_t quad, part;
} quad_entry;

/* s = w + filter_offset at column col, k index i, as entry part `part` holds it (value t of
 * its quad); 0 past the filter. */
static int32_t quad_s(const tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t col,
                      int32_t i, int part) {
  if (col >= pw->n || i >= pw->k) return 0;
  const int parity = part % PART_LEVEL;
  if (parity != PART_ALL && (i & 1) != (parity == PART_ODD)) return 0;
  const size_t at = (size_t)col * (size_t)pw->k + (size_t)i;
  const int32_t w = filter->type == TFL_UINT8 ? ((const uint8_t *)filter->data)[at]
                                              : ((const int8_t *)filter->data)[at];
  return parity == PART_ALL ? w + pw->filter_offset
                            : level_value(w + pw->filter_offset, part / PART_LEVEL);
}

/* Per column and int16 lane of an entry (its 2 s there): the sum of the positive s and the
 * negated sum of the negative ones; an s outside int8 gives QUAD_OUT instead. */
typedef struct quad_sums {
  int16_t pos[TFL_QGEMM_NR][2], neg[TFL_QGEMM_NR][2];
} quad_sums;

/* Beyond any bound, and summable. */
#define QUAD_OUT 1024

/* The sums of entry e of the panel whose first column is col0. */
static void entry_sums(const tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t col0,
                       quad_entry e, quad_sums *sums) {
  for (int32_t c = 0; c < TFL_QGEMM_NR; c++)
    for (int32_t lane = 0; lane < 2; lane++) {
      int32_t pos = 0, neg = 0;
      for (int32_t t = 0; t < 2; t++) {
        const int32_t v =
            quad_s(pw, filter, col0 + c, TFL_QGEMM_QUAD * e.quad + 2 * lane + t, e.part);
        if (v < -128 || v > 127) pos = neg = QUAD_OUT;
        if (pos == QUAD_OUT) break;
        if (v > 0) pos += v;
        else neg -= v;
      }
      sums->pos[c][lane] = (int16_t)pos;
      sums->neg[c][lane] = (int16_t)neg;
    }
}

/* Whether vpmaddubsw cannot saturate on entry a, its pair sums adding in int16 to entry b's
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

/* Candidates a safe entry is tried against for a partner. */
#define PAIR_WINDOW 8

/* Reorders the n safe entries e (with their sums) so that entries that pair up come first,
 * two by two (greedily, each with the next one it fits among a few), through `tmp` (n
 * entries); returns how many are paired. */
static int32_t pair_entries(quad_entry *e, const quad_sums *sums, int32_t n, quad_entry *tmp,
                            unsigned char *taken) {
  int32_t paired = 0;
  memset(taken, 0, (size_t)n);
  for (int32_t i = 0; i < n; i++) {
    if (taken[i]) continue;
    for (int32_t j = i + 1; j < n && j <= i + PAIR_WINDOW; j++) {
      if (taken[j] || !quads_safe(&sums[i], &sums[j])) continue;
      tmp[paired++] = e[i];
      tmp[paired++] = e[j];
      taken[i] = taken[j] = 1;
      break;
    }
  }
  int32_t m = paired;
  for (int32_t i = 0; i < n; i++)
    if (!taken[i]) tmp[m++] = e[i];
  memcpy(e, tmp, (size_t)n * sizeof(quad_entry));
  return paired;
}

/* How many quads of the filter are safe as they are. */
static int64_t count_safe(const tfl_qgemm_weights *pw, const tfl_tensor *filter,
                          int32_t panels) {
  int64_t n = 0;
  quad_sums sums;
  for (int32_t p = 0; p < panels; p++)
    for (int32_t q = 0; q < pw->quads; q++) {
      entry_sums(pw, filter, p * TFL_QGEMM_NR, (quad_entry){q, PART_ALL}, &sums);
      n += quads_safe(&sums, NULL);
    }
  return n;
}

/* Whether entry sums hold nothing but zeros. */
static int sums_zero(const quad_sums *s) {
  for (int32_t c = 0; c < TFL_QGEMM_NR; c++)
    if (s->pos[c][0] || s->pos[c][1] || s->neg[c][0] || s->neg[c][1]) return 0;
  return 1;
}

/* Scratch of the panel planning, for `quads` quads. */
typedef struct quad_plan {
  quad_entry *e, *tmp;
  quad_sums *sums;
  unsigned char *taken;
} quad_plan;

/* Panel p's entries into plan->e: the safe ones (paired first, splitting
 * unsafe quads when `split`), then the unsafe ones. */
static void plan_panel(tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t p, int split,
                       quad_plan *plan) {
  const int32_t col0 = p * TFL_QGEMM_NR, cap = TFL_QGEMM_QUAD_ENTRIES * pw->quads;
  int32_t safe = 0, unsafe = cap;
  for (int32_t q = 0; q < pw->quads; q++) {
    entry_sums(pw, filter, col0, (quad_entry){q, PART_ALL}, &plan->sums[safe]);
    if (quads_safe(&plan->sums[safe], NULL)) {
      plan->e[safe++] = (quad_entry){q, PART_ALL};
    } else if (split) {
      for (int32_t level = 0; level < PART_LEVELS; level++)
        for (int parity = PART_EVEN; parity <= PART_ODD; parity++) {
          const quad_entry e = {q, parity + PART_LEVEL * level};
          entry_sums(pw, filter, col0, e, &plan->sums[safe]);
          if (!sums_zero(&plan->sums[safe])) plan->e[safe++] = e;
        }
    } else {
      plan->e[--unsafe] = (quad_entry){q, PART_ALL};
    }
  }
  pw->paired[p] = pair_entries(plan->e, plan->sums, safe, plan->tmp, plan->taken);
  pw->safe[p] = safe;
  pw->entries[p] = safe + cap - unsafe;
  for (int32_t i = unsafe; i < cap; i++) plan->e[safe + i - unsafe] = plan->e[i];
}

/* Panel p's entries plan->e (pw->entries[p] of them); adds to s_sum the correction each
 * column's bias takes, per unit of input offset: the sum of its safe s. */
static void fill_panel(tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t p,
                       const quad_entry *e, uint32_t *s_sum) {
  uint8_t *b = (uint8_t *)pw->panels + pw->panel_at[p];
  int32_t *order = pw->order + (size_t)p * (size_t)pw->order_stride;
  const int32_t col0 = p * TFL_QGEMM_NR;
  for (int32_t i = 0; i < pw->entries[p]; i++) {
    const int32_t k0 = TFL_QGEMM_QUAD * e[i].quad;
    const int safe = i < pw->safe[p];
    order[i] = e[i].quad;
    for (int32_t c = 0; c < TFL_QGEMM_NR; c++)
      for (int32_t t = 0; t < TFL_QGEMM_QUAD; t++) {
        const int32_t s = quad_s(pw, filter, col0 + c, k0 + t, e[i].part);
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
  free(pw->entries);
  pw->panel_at = NULL;
  pw->order = NULL;
  pw->safe = NULL;
  pw->paired = NULL;
  pw->entries = NULL;
}

static void free_plan(quad_plan *plan) {
  free(plan->e);
  free(plan->tmp);
  free(plan->sums);
  free(plan->taken);
}

/* Plans every panel and packs them; -1 when out of memory. */
static int pack_panels(tfl_qgemm_weights *pw, const tfl_tensor *filter, int32_t panels,
                       int split, uint32_t offset) {
  const size_t cap = TFL_QGEMM_QUAD_ENTRIES * (size_t)pw->quads;
  quad_plan plan = {malloc(cap * panels * sizeof(quad_entry) + 1),
                    malloc(cap * sizeof(quad_entry) + 1), malloc(cap * sizeof(quad_sums)),
                    malloc(cap + 1)};
  if (!plan.e || !plan.tmp || !plan.sums || !plan.taken) {
    free_plan(&plan);
    return -1;
  }
  pw->panel_at[0] = 0;
  pw->order_stride = 0;
  for (int32_t p = 0; p < panels; p++) {
    quad_plan at = plan;
    at.e = plan.e + cap * (size_t)p;
    plan_panel(pw, filter, p, split, &at);
    pw->panel_at[p + 1] = pw->panel_at[p] + (size_t)pw->safe[p] * SAFE_BYTES +
                          (size_t)(pw->entries[p] - pw->safe[p]) * UNSAFE_BYTES;
    if (pw->entries[p] > pw->order_stride) pw->order_stride = pw->entries[p];
  }
  /* (as short as it can be: the kernel reads every panel's entries for every tile) */
  pw->order = malloc((size_t)panels * (size_t)pw->order_stride * sizeof(int32_t) + 1);
  const size_t bytes = pw->panel_at[panels];
  pw->panels = aligned_alloc(64, bytes ? (bytes + 63) & ~(size_t)63 : 64);
  if (!pw->panels || !pw->order) {
    free_plan(&plan);
    return -1;
  }
  memset(pw->panels, 0, bytes);
  int wide = 0;
  for (int32_t p = 0; p < panels; p++) {
    uint32_t s_sum[TFL_QGEMM_NR] = {0};
    fill_panel(pw, filter, p, plan.e + cap * (size_t)p, s_sum);
    wide |= pw->entries[p] > pw->safe[p];
    for (int32_t c = 0; c < TFL_QGEMM_NR && p * TFL_QGEMM_NR + c < pw->n; c++) {
      int32_t *b = &pw->req.bias[p * TFL_QGEMM_NR + c];
      *b = (int32_t)((uint32_t)*b + offset * s_sum[c]);
    }
  }
  pw->wide = wide;
  free_plan(&plan);
  return 1;
}

int tfl_qgemm_pack_quads(tfl_qgemm_weights *pw, const tfl_window_quant *q,
                         const tfl_tensor *filter, tfl_type input_type) {
  const int32_t panels = div_up(pw->n, TFL_QGEMM_NR);
  pw->quads = div_up(pw->k, TFL_QGEMM_QUAD);
  const int64_t safe = count_safe(pw, filter, panels), total = (int64_t)panels * pw->quads;
  if (safe * 100 < total * QUAD_MIN_SAFE_PERCENT) return 0;
  /* Splitting at least doubles an unsafe quad's byte products; it pays when it spares every
   * tile the int16 copy of A and is rare. */
  const int split = (total - safe) * 100 <= total * SPLIT_MAX_PERCENT;
  pw->safe = malloc((size_t)panels * sizeof(int32_t) + 1);
  pw->paired = malloc((size_t)panels * sizeof(int32_t) + 1);
  pw->entries = malloc((size_t)panels * sizeof(int32_t) + 1);
  pw->panel_at = malloc(((size_t)panels + 1) * sizeof(size_t));
  if (!pw->safe || !pw->paired || !pw->entries || !pw->panel_at) {
    free_quads(pw);
    return -1;
  }
  /* The safe entries meet the codes as u8 (int8 ones + 128), so their products lack the
   * input offset (minus that 128) times s: the bias takes it, in wrapping arithmetic. */
  const uint32_t offset = (uint32_t)q->input_offset - (input_type == TFL_INT8 ? 128u : 0u);
  if (pack_panels(pw, filter, panels, split, offset) < 0) {
    free_quads(pw);
    return -1;
  }
  pw->stride = TFL_QGEMM_QUAD * pw->quads;
  pw->flip = input_type == TFL_INT8;
  return 1;
}
