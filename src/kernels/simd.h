/* What the optimized kernel variants share: which CPU levels run the x86 variants (compiled
 * only on x86-64, from src/kernels/x86/), and splitting output rows over the threads. */
#ifndef TFL_KERNELS_SIMD_H
#define TFL_KERNELS_SIMD_H

#include <stdint.h>

#include "runtime/kernel.h"

#if defined(__x86_64__) || defined(_M_X64)
#define TFL_HAVE_X86_KERNELS 1
#else
#define TFL_HAVE_X86_KERNELS 0
#endif

/* The level runs the AVX2 + FMA variants (x86 levels are ordered; aarch64 ones are not x86). */
static inline int tfl_simd_avx2(tfl_cpu_level level) {
  return TFL_HAVE_X86_KERNELS && level >= TFL_CPU_AVX2 && level < TFL_CPU_NEON;
}

#if defined(__aarch64__)
#define TFL_HAVE_ARM_KERNELS 1
#else
#define TFL_HAVE_ARM_KERNELS 0
#endif

/* The level runs the NEON variants (compiled only on aarch64, from src/kernels/arm/). */
static inline int tfl_simd_neon(tfl_cpu_level level) {
  return TFL_HAVE_ARM_KERNELS && level >= TFL_CPU_NEON;
}

/* Computes rows [row0, row1). */
typedef void (*tfl_split_fn)(const void *arg, int32_t row0, int32_t row1);

/* Runs fn over rows [0, rows) in a few contiguous chunks per thread (one call in the caller
 * when ctx is NULL or has one thread). Allocates nothing. */
void tfl_split_rows(tfl_context *ctx, int32_t rows, tfl_split_fn fn, const void *arg);

/* The NEON variants' declarations, for the dispatch points that include this header. */
#include "kernels/arm/neon.h"

#endif
