/* Vector pieces of the quantized MEAN and SUM (reduce.c): one row of int8/uint8 codes added
 * into int32 sums (wrapping, as the reference's int32 accumulators), and MEAN's final rescale
 * of those sums, for the levels that have them (the NEON combines are declared in
 * arm/neon.h). */
#ifndef TFL_KERNELS_QREDUCE_H
#define TFL_KERNELS_QREDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/quant.h"
#include "kernels/simd.h"

/* acc[i] += in[i] for i < n, acc int32 (reduce.c's combine signature). */
#if TFL_HAVE_X86_KERNELS
void tfl_qreduce_combine_u8_avx2(void *acc, const void *in, size_t n);
void tfl_qreduce_combine_i8_avx2(void *acc, const void *in, size_t n);
#endif

/* The same for the elements [i, n) the vectors leave, wrapping as the vector adds do. */
static inline void tfl_qreduce_combine_tail(const int u8, int32_t *acc, const uint8_t *in,
                                            size_t i, size_t n) {
  for (; i < n; i++)
    acc[i] = (int32_t)((uint32_t)acc[i] + (uint32_t)(u8 ? in[i] : (int8_t)in[i]));
}

/* Quantized MEAN's output code of a sum: (sum - subtract) times (multiplier, shift) with
 * TFLite's default rounding (tfl_mul_by_quantized_multiplier), plus add, clamped to the
 * output type. The subtraction and the addition wrap as the reference's int32 temporaries.
 * type and its range [lo, hi] also serve quantized SUM's stores. */
typedef struct tfl_qmean {
  uint32_t subtract;
  int32_t multiplier, add;
  int shift;
  tfl_type type; /* uint8, int8 or int16 */
  int32_t lo, hi;
} tfl_qmean;

/* Stores v clamped to m's type as element i of out. */
static inline void tfl_qmean_store(const tfl_qmean *m, void *out, size_t i, int32_t v) {
  v = v < m->lo ? m->lo : (v > m->hi ? m->hi : v);
  if (m->type == TFL_UINT8) ((uint8_t *)out)[i] = (uint8_t)v;
  else if (m->type == TFL_INT8) ((int8_t *)out)[i] = (int8_t)v;
  else ((int16_t *)out)[i] = (int16_t)v;
}

/* out[i] = the code of sum[i] for i in [i, n): the portable rescale, and the vector
 * kernels' tails. */
static inline void tfl_qmean_rescale_tail(const tfl_qmean *m, void *out, const int32_t *sum,
                                          size_t i, size_t n) {
  for (; i < n; i++) {
    const int32_t centred = (int32_t)((uint32_t)sum[i] - m->subtract);
    tfl_qmean_store(m, out, i,
                    tfl_wrap_add32(tfl_mul_by_quantized_multiplier(centred, m->multiplier,
                                                                   m->shift),
                                   m->add));
  }
}

/* out[i] = the code of sum[i] for i < n. */
typedef void (*tfl_qmean_fn)(const tfl_qmean *m, void *out, const int32_t *sum, size_t n);

/* The rescale `level` runs (the portable one at the scalar level). */
tfl_qmean_fn tfl_qmean_kernel(tfl_cpu_level level);

#if TFL_HAVE_X86_KERNELS
void tfl_qmean_rescale_avx2(const tfl_qmean *m, void *out, const int32_t *sum, size_t n);
#endif
#if TFL_HAVE_ARM_KERNELS
void tfl_qmean_rescale_neon(const tfl_qmean *m, void *out, const int32_t *sum, size_t n);
#endif

#endif
