/* Vector pieces of the quantized MEAN and SUM (reduce.c): one row of int8/uint8 codes added
 * into int32 sums (wrapping, as the reference's int32 accumulators), for the levels that have
 * them (the NEON ones are declared in arm/neon.h). */
#ifndef TFL_KERNELS_QREDUCE_H
#define TFL_KERNELS_QREDUCE_H

#include <stddef.h>
#include <stdint.h>

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

#endif
