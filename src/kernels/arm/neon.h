/* The aarch64 NEON kernel variants (src/kernels/arm/), each with the signature of the x86
 * variant it mirrors. Included by kernels/simd.h, so every dispatch point reaches them with one
 * line, `if (tfl_simd_neon(level)) ... = ..._neon;`: elsewhere the names stand for no kernel
 * and the line is dead (tfl_simd_neon is 0 there), with nothing left to link.
 *
 * The structs are named by their tags: their headers include this one before defining them. */
#ifndef TFL_KERNELS_ARM_NEON_H
#define TFL_KERNELS_ARM_NEON_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/simd.h"

#if TFL_HAVE_ARM_KERNELS

struct tfl_dwconv;
struct tfl_dwconv_io;
struct tfl_pool_fast;
struct tfl_qgemm_weights;
struct tfl_qdwconv;
struct tfl_qadd;
struct tfl_qpool;

/* gemm.h: the 6 x 16 float micro-kernel. */
void tfl_gemm_ukernel_neon(int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
                           const float *b, const float *bias, float *c, size_t ldc, float lo,
                           float hi);
/* dwconv.h: float depthwise rows. */
void tfl_dwconv_rows_neon(const struct tfl_dwconv *dw, const struct tfl_dwconv_io *io,
                          int32_t row0, int32_t row1);
/* pool_fast.h: float max and average pool rows. */
void tfl_pool_max_rows_neon(const struct tfl_pool_fast *pf, const float *in, float *out,
                            int32_t row0, int32_t row1);
void tfl_pool_average_rows_neon(const struct tfl_pool_fast *pf, const float *in, float *out,
                                int32_t row0, int32_t row1);
/* qgemm.h: sets pw's micro-kernel and widening to the NEON ones (for its int16 panels). */
void tfl_qgemm_use_neon(struct tfl_qgemm_weights *pw);
void tfl_qgemm_ukernel_neon(const struct tfl_qgemm_weights *pw, int mr, const int16_t *a,
                            int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc);
void tfl_qgemm_widen_neon(tfl_type type, const void *src, int32_t n, int32_t offset,
                          int16_t *dst);
/* qdwconv.h: int8/uint8 depthwise rows. */
void tfl_qdwconv_rows_neon(const struct tfl_qdwconv *dw, const uint8_t *in, uint8_t *out,
                           int32_t row0, int32_t row1);
/* qadd.h: int8/uint8 ADD and SUB. */
void tfl_qadd_run_neon(const struct tfl_qadd *q, const void *a, int a_step, const void *b,
                       int b_step, void *out, size_t n);
/* qpool.h: int8/uint8 max and average pool rows. */
void tfl_qpool_rows_neon(const struct tfl_qpool *p, const uint8_t *in, uint8_t *out,
                         int32_t row0, int32_t row1);
/* qreduce.h: 8-bit codes added into int32 sums (quantized MEAN and SUM). */
void tfl_qreduce_combine_u8_neon(void *acc, const void *in, size_t n);
void tfl_qreduce_combine_i8_neon(void *acc, const void *in, size_t n);

#else

#define tfl_gemm_ukernel_neon NULL
#define tfl_dwconv_rows_neon NULL
#define tfl_pool_max_rows_neon NULL
#define tfl_pool_average_rows_neon NULL
#define tfl_qgemm_use_neon(pw) ((void)(pw))
#define tfl_qdwconv_rows_neon NULL
#define tfl_qadd_run_neon NULL
#define tfl_qpool_rows_neon NULL
#define tfl_qreduce_combine_u8_neon NULL
#define tfl_qreduce_combine_i8_neon NULL

#endif

#endif
