/* The vector kernels of QUANTIZE (float32 to int8/uint8/int16, per tensor and per channel) and
 * DEQUANTIZE (int8/uint8/int16 and float16 to float32), bit for bit the portable ones of
 * quantize.c:
 *
 * QUANTIZE per tensor: clamp(round(x / scale) + zero_point) with the quotient in double, ties away
 * from zero, NaN and quotients beyond int32 becoming INT32_MIN (x86's conversion) before the zero
 * point is added with wrap-around. The kernels divide in float: the float quotient f and the exact
 * one lie between the same two consecutive half-integers unless f is itself one (every half-integer
 * below 2^22 is a float and rounding is monotonic), and the double quotient rounds as the exact one
 * does below 2^22 (a quotient of two floats that is not a half-integer is more than 2^-27 away from
 * every one, where rounding to double moves it by less than 2^-30). So rounding f gives the output
 * unless f is a half-integer, |f| >= 2^22, infinite or NaN; groups of lanes with such an f are done
 * in double as the portable kernel does (NaN, infinities and quotients beyond int32 then give
 * INT32_MIN + zero_point, clamped, as on x86: the type's minimum for every zero point the loader
 * accepts).
 *
 * Per-channel QUANTIZE divides in float and rounds that quotient f, ties away from zero
 * (TFLite's reference PerChannelQuantize), then converts as x86 does: the kernels compute
 * exactly that, with no fallback. NEON's FRINTA is that rounding; AVX2 adds to trunc(f) the
 * truncation of twice f - trunc(f) (a float's fraction is exact), the step of -1, 0 or 1 that
 * rounding half away makes.
 *
 * DEQUANTIZE: (float)(scale * (double)(q - zero_point)). The double product of two floats is
 * exact, so this is the float product, rounded once, when q - zero_point is a float: the
 * kernels multiply in float and need |zero_point| <= TFL_DEQUANTIZE_VECTOR_ZP. The same
 * holds for the per-channel formula scale * (float)(q - zero_point).
 *
 * float16 DEQUANTIZE converts with the hardware's half to single conversion (F16C, which the
 * AVX2 level requires, and NEON's FCVTL): exact for zeros, subnormals, normals and
 * infinities. A signalling NaN comes out quieted (its quiet bit set) where tfl_half_to_float
 * keeps the payload as it is, so groups holding a NaN go through tfl_half_to_float. */
#ifndef TFL_KERNELS_QUANTIZE_H
#define TFL_KERNELS_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/half.h"
#include "kernels/simd.h"
#include "runtime/kernel.h"

/* Zero points the vector DEQUANTIZE takes: q - zero_point stays below 2^24 in magnitude. */
#define TFL_DEQUANTIZE_VECTOR_ZP (1 << 23)

/* out[i] = the code of x[i], i < n, for an int8, uint8 or int16 `type`. */
typedef void (*tfl_quantize_fn)(const float *x, size_t n, float scale, int32_t zero_point,
                                tfl_type type, void *out);
/* out[i] = scale * (q[i] - zero_point), i < n, for int8, uint8 or int16 codes q. */
typedef void (*tfl_dequantize_fn)(const void *q, size_t n, tfl_type type, float scale,
                                  int32_t zero_point, float *out);

/* Per channel, `rows` rows of n elements: out[r n + k] = the code of x[r n + k] for the
 * parameters of channel r (per_element 0: rows along the quantized axis) or of channel k
 * (per_element 1: the quantized axis is the innermost one, rows are its outer positions). */
typedef void (*tfl_quantize_channels_fn)(const float *x, size_t rows, size_t n,
                                         const float *scale, const int32_t *zero_point,
                                         int per_element, tfl_type type, void *out);
/* out[i] = the float32 value of the IEEE half h[i], i < n, bit for bit tfl_half_to_float. */
typedef void (*tfl_half_fn)(const uint16_t *h, size_t n, float *out);

/* The vector kernels `level` runs, NULL where there are none (the scalar level). */
tfl_quantize_fn tfl_quantize_kernel(tfl_cpu_level level);
tfl_quantize_channels_fn tfl_quantize_channels_kernel(tfl_cpu_level level);
tfl_dequantize_fn tfl_dequantize_kernel(tfl_cpu_level level);
tfl_half_fn tfl_half_kernel(tfl_cpu_level level);

/* --- the walk the QUANTIZE kernels share ------------------------------------------------ */

/* What a kernel's run over a row reads and writes: x, and the scales and zero points when
 * there is one per element; the codes go to out, `size` bytes each. */
typedef struct tfl_quantize_io {
  const float *x, *scale;
  const int32_t *zero_point;
  uint8_t *out;
  tfl_type type;
  size_t size;
} tfl_quantize_io;

static inline tfl_quantize_io tfl_quantize_io_of(const float *x, const float *scale,
                                                 const int32_t *zero_point, tfl_type type,
                                                 void *out) {
  return (tfl_quantize_io){.x = x,
                           .scale = scale,
                           .zero_point = zero_point,
                           .out = out,
                           .type = type,
                           .size = tfl_type_size(type)};
}

/* The next row of n elements (the per-element parameters stay). */
static inline void tfl_quantize_io_next(tfl_quantize_io *io, size_t n) {
  io->x += n;
  io->out += n * io->size;
}

/* A row of n < 8 elements in 8-lane buffers (scale 1 and zero point 0 past n), with room for
 * the codes. */
typedef struct tfl_quantize_tail {
  float x[8], scale[8];
  int32_t zero_point[8];
  uint8_t codes[16];
} tfl_quantize_tail;

/* io's row of n < 8 copied into t, and the io that reads and writes t. */
static inline tfl_quantize_io tfl_quantize_tail_io(tfl_quantize_tail *t, const tfl_quantize_io *io,
                                                   size_t n, int per_element) {
  for (size_t i = 0; i < 8; i++) {
    t->x[i] = i < n ? io->x[i] : 0.0f;
    t->scale[i] = per_element && i < n ? io->scale[i] : 1.0f;
    t->zero_point[i] = per_element && i < n ? io->zero_point[i] : 0;
  }
  tfl_quantize_io b = *io;
  b.x = t->x;
  b.scale = t->scale;
  b.zero_point = t->zero_point;
  b.out = t->codes;
  return b;
}

/* The row drivers, the same on every architecture: defines tfl_quantize_<arch> and
 * tfl_quantize_channels_<arch> over the file's own quantize_params (one scale and zero point
 * in every lane), params_of(scale, zero_point) and quantize_at(per_channel, per_element, io, p,
 * i), which does codes [i, i + 8) of io with p's parameters or (per_element) io's; those two
 * flags are constants in every expansion. */
#define TFL_QUANTIZE_KERNELS(arch)                                                             \
  static inline __attribute__((always_inline)) void quantize_run(                              \
      const int per_channel, const int per_element, const tfl_quantize_io *io,                 \
      const quantize_params *p, size_t n) {                                                    \
    if (n < 8) {                                                                               \
      tfl_quantize_tail t;                                                                     \
      const tfl_quantize_io b = tfl_quantize_tail_io(&t, io, n, per_element);                  \
      quantize_at(per_channel, per_element, &b, p, 0);                                         \
      memcpy(io->out, t.codes, n * io->size);                                                  \
      return;                                                                                  \
    }                                                                                          \
    size_t i = 0;                                                                              \
    for (; i + 8 <= n; i += 8) quantize_at(per_channel, per_element, io, p, i);                \
    /* a last partial vector: the last 8 again (each code depends on its own element only) */  \
    if (i < n) quantize_at(per_channel, per_element, io, p, n - 8);                            \
  }                                                                                            \
                                                                                               \
  void tfl_quantize_##arch(const float *x, size_t n, float scale, int32_t zero_point,          \
                           tfl_type type, void *out) {                                         \
    const tfl_quantize_io io = tfl_quantize_io_of(x, &scale, &zero_point, type, out);          \
    const quantize_params p = params_of(scale, zero_point);                                    \
    quantize_run(0, 0, &io, &p, n);                                                            \
  }                                                                                            \
                                                                                               \
  void tfl_quantize_channels_##arch(const float *x, size_t rows, size_t n, const float *scale, \
                                    const int32_t *zero_point, int per_element, tfl_type type, \
                                    void *out) {                                               \
    tfl_quantize_io io = tfl_quantize_io_of(x, scale, zero_point, type, out);                  \
    quantize_params p = params_of(scale[0], zero_point[0]);                                    \
    for (size_t r = 0; r < rows; r++, tfl_quantize_io_next(&io, n)) {                          \
      if (per_element) {                                                                       \
        quantize_run(1, 1, &io, &p, n);                                                        \
        continue;                                                                              \
      }                                                                                        \
      p = params_of(scale[r], zero_point[r]); /* row r is channel r */                         \
      quantize_run(1, 0, &io, &p, n);                                                          \
    }                                                                                          \
  }

/* out[k] = tfl_half_to_float(h[k]) for k in [i, n): the portable loop and the kernels'
 * tails. */
static inline void tfl_half_to_float_tail(const uint16_t *h, size_t i, size_t n, float *out) {
  for (; i < n; i++) out[i] = tfl_half_to_float(h[i]);
}

#if TFL_HAVE_X86_KERNELS
void tfl_quantize_avx2(const float *x, size_t n, float scale, int32_t zero_point, tfl_type type,
                       void *out);
void tfl_dequantize_avx2(const void *q, size_t n, tfl_type type, float scale,
                         int32_t zero_point, float *out);
void tfl_quantize_channels_avx2(const float *x, size_t rows, size_t n, const float *scale,
                                const int32_t *zero_point, int per_element, tfl_type type,
                                void *out);
void tfl_half_to_float_avx2(const uint16_t *h, size_t n, float *out);
#endif
#if TFL_HAVE_ARM_KERNELS
void tfl_quantize_neon(const float *x, size_t n, float scale, int32_t zero_point, tfl_type type,
                       void *out);
void tfl_dequantize_neon(const void *q, size_t n, tfl_type type, float scale,
                         int32_t zero_point, float *out);
void tfl_quantize_channels_neon(const float *x, size_t rows, size_t n, const float *scale,
                                const int32_t *zero_point, int per_element, tfl_type type,
                                void *out);
void tfl_half_to_float_neon(const uint16_t *h, size_t n, float *out);
#endif

#endif
