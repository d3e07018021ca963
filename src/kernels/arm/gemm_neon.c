/* The NEON GEMM micro-kernel: gemm.h's 6 x 16 tile in 24 accumulators of 4 floats (of the 32
 * vector registers), each step loading one panel row of 16 floats and multiplying it by one A
 * value per row with by-element fused multiply-adds. Every output sums its products in order
 * in one accumulator, as the portable kernel does with fmaf: the results are the same bits.
 * One instance per row count keeps the edge tiles in registers too. */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/neon_clamp.h"
#include "kernels/gemm.h"

#define QUADS (TFL_GEMM_NR / 4)

/* The first nr of the 16 floats y, stored at c. */
static inline void store_row(float *c, int nr, const float32x4_t y[QUADS]) {
  if (nr == TFL_GEMM_NR) {
    for (int j = 0; j < QUADS; j++) vst1q_f32(c + 4 * j, y[j]);
    return;
  }
  float tmp[TFL_GEMM_NR];
  for (int j = 0; j < QUADS; j++) vst1q_f32(tmp + 4 * j, y[j]);
  memcpy(c, tmp, (size_t)nr * sizeof(float));
}

static inline __attribute__((always_inline)) void
ukernel_rows(const int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
             const float *b, const float *bias, float *c, size_t ldc, float lo, float hi) {
  float32x4_t acc[TFL_GEMM_MR][QUADS];
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < QUADS; j++) acc[i][j] = vdupq_n_f32(0.0f);
  for (int32_t t = 0; t < taps; t++, a += TFL_GEMM_MR) {
    const float *row[TFL_GEMM_MR];
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) row[i] = a[i];
    for (int32_t q = 0; q < kc; q++, b += TFL_GEMM_NR) {
      float32x4_t w[QUADS];
      for (int j = 0; j < QUADS; j++) w[j] = vld1q_f32(b + 4 * j);
#pragma GCC unroll 6
      for (int i = 0; i < mr; i++) {
        const float v = row[i][q];
        for (int j = 0; j < QUADS; j++) acc[i][j] = vfmaq_n_f32(acc[i][j], w[j], v);
      }
    }
  }
  const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
  float32x4_t vbias[QUADS];
  for (int j = 0; j < QUADS; j++) vbias[j] = vld1q_f32(bias + 4 * j);
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
    float32x4_t y[QUADS];
    for (int j = 0; j < QUADS; j++)
      y[j] = tfl_neon_clamp(vaddq_f32(acc[i][j], vbias[j]), vlo, vhi);
    store_row(c + (size_t)i * ldc, nr, y);
  }
}

#define GEMM_NEON_ROWS(MR)                                                                  \
  static void ukernel_##MR(int nr, int32_t kc, int32_t taps, const float *const *a,        \
                           const float *b, const float *bias, float *c, size_t ldc, float lo, \
                           float hi) {                                                       \
    ukernel_rows(MR, nr, kc, taps, a, b, bias, c, ldc, lo, hi);                             \
  }
GEMM_NEON_ROWS(1)
GEMM_NEON_ROWS(2)
GEMM_NEON_ROWS(3)
GEMM_NEON_ROWS(4)
GEMM_NEON_ROWS(5)
GEMM_NEON_ROWS(6)

void tfl_gemm_ukernel_neon(int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
                           const float *b, const float *bias, float *c, size_t ldc, float lo,
                           float hi) {
  switch (mr) {
    case 6: ukernel_6(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 5: ukernel_5(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 4: ukernel_4(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 3: ukernel_3(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 2: ukernel_2(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    default: ukernel_1(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
  }
}
