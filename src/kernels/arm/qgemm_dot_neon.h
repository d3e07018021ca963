/* The dot-product (FEAT_DotProd, level TFL_CPU_NEON_DOT) kernel of the quantized GEMM
 * (qgemm.h), in qgemm_dot_neon.c. Like kernels/arm/neon.h, the names stand for nothing off
 * aarch64, so a dispatch point needs no #if. */
#ifndef TFL_KERNELS_ARM_QGEMM_DOT_NEON_H
#define TFL_KERNELS_ARM_QGEMM_DOT_NEON_H

#include <stdint.h>

#include "kernels/qgemm.h"

#if TFL_HAVE_ARM_KERNELS

/* Turns pw, packed by tfl_qgemm_pack into int16 pair panels, into the dot kernel's byte
 * panels (pw->quad = tfl_qgemm_dot_neon), for A tiles whose codes are of type
 * pw->req.out_type (tfl_qgemm_pack's type argument) with offset input_offset. Only at
 * TFL_CPU_NEON_DOT. TFL_OUT_OF_MEMORY leaves pw as it was. */
tfl_status tfl_qgemm_use_neon_dot(tfl_qgemm_weights *pw, int32_t input_offset);
/* The kernel (a tfl_qgemm_quad_fn: reads a8, not a16). */
void tfl_qgemm_dot_neon(const tfl_qgemm_weights *pw, int mr, const uint8_t *a8,
                        const int16_t *a16, int32_t panel0, int32_t panel1, uint8_t *c,
                        size_t ldc);

#else

#define tfl_qgemm_use_neon_dot(pw, input_offset) ((void)(pw), (void)(input_offset), TFL_OK)

#endif

#endif
