/* What the NEON quantized GEMM kernels share (qgemm_neon.c's int16 one, qgemm_dot_neon.c's
 * dot-product one): a tile of up to TFL_QGEMM_MR rows x TFL_QGEMM_NR columns held as
 * acc[row][quad] int32x4 vectors (columns 4 * quad onwards), bias included, and its
 * requantization and store. */
#ifndef TFL_KERNELS_ARM_QGEMM_NEON_H
#define TFL_KERNELS_ARM_QGEMM_NEON_H

#include <string.h>

#include "kernels/arm/qreq_neon.h"

#define QGEMM_NEON_QUADS (TFL_QGEMM_NR / 4)

typedef int32x4_t qgemm_neon_tile[TFL_QGEMM_MR][QGEMM_NEON_QUADS];

static inline void qgemm_neon_store_codes(uint8_t *c, uint8x16_t codes, int nr) {
  if (nr == TFL_QGEMM_NR) {
    vst1q_u8(c, codes);
    return;
  }
  uint8_t tmp[TFL_QGEMM_NR];
  vst1q_u8(tmp, codes);
  memcpy(c, tmp, (size_t)nr);
}

/* Requantizes rows [0, mr) of the tile at column col and stores their nr codes. */
static inline __attribute__((always_inline)) void
qgemm_neon_tile_store(const int mr, const int ruy, const tfl_qreq *r, const qreq_clamp *clamp,
                      int32_t col, qgemm_neon_tile acc, int nr, uint8_t *c, size_t ldc) {
  for (int j = 0; j < QGEMM_NEON_QUADS; j++) {
    const qreq_vec p = qreq_params(r, col + 4 * j);
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) acc[i][j] = qreq_scale4(ruy, &p, acc[i][j]);
  }
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
    qgemm_neon_store_codes(c + (size_t)i * ldc,
                           qreq_narrow(clamp, acc[i][0], acc[i][1], acc[i][2], acc[i][3]), nr);
}

/* The columns of panel `panel` that exist: up to TFL_QGEMM_NR. */
static inline int qgemm_neon_panel_columns(const tfl_qgemm_weights *pw, int32_t panel) {
  const int32_t left = pw->n - panel * TFL_QGEMM_NR;
  return left < TFL_QGEMM_NR ? (int)left : TFL_QGEMM_NR;
}

#endif
