/* The vector kernels of per-tensor QUANTIZE (float32 to int8/uint8/int16) and DEQUANTIZE
 * (int8/uint8/int16 to float32), bit for bit the portable ones of quantize.c:
 *
 * QUANTIZE: clamp(round(x / scale) + zero_point) with the quotient in double, ties away from
 * zero, NaN and quotients beyond int32 becoming INT32_MIN (x86's conversion) before the zero
 * point is added with wrap-around. The kernels divide in float: the float quotient f and the
 * exact one lie between the same two consecutive half-integers unless f is itself one (every
 * half-integer below 2^22 is a float and rounding is monotonic), and the double quotient
 * rounds as the exact one does below 2^22 (a quotient of two floats that is not a
 * half-integer is more than 2^-27 away from every one, where rounding to double moves it by
 * less than 2^-30). So rounding f gives the output unless f is a half-integer, |f| >= 2^22,
 * infinite or NaN; groups of lanes with such an f are done in double as the portable kernel
 * does (NaN, infinities and quotients beyond int32 then give INT32_MIN + zero_point, clamped,
 * as on x86: the type's minimum for every zero point the loader accepts).
 *
 * DEQUANTIZE: (float)(scale * (double)(q - zero_point)). The double product of two floats is
 * exact, so this is the float product, rounded once, when q - zero_point is a float: the
 * kernels multiply in float and need |zero_point| <= TFL_DEQUANTIZE_VECTOR_ZP. The same
 * holds for the per-channel formula scale * (float)(q - zero_point). */
#ifndef TFL_KERNELS_QUANTIZE_H
#define TFL_KERNELS_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

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

/* The vector kernels `level` runs, NULL where there are none (the scalar level). */
tfl_quantize_fn tfl_quantize_kernel(tfl_cpu_level level);
tfl_dequantize_fn tfl_dequantize_kernel(tfl_cpu_level level);

#if TFL_HAVE_X86_KERNELS
void tfl_quantize_avx2(const float *x, size_t n, float scale, int32_t zero_point, tfl_type type,
                       void *out);
void tfl_dequantize_avx2(const void *q, size_t n, tfl_type type, float scale,
                         int32_t zero_point, float *out);
#endif
#if TFL_HAVE_ARM_KERNELS
void tfl_quantize_neon(const float *x, size_t n, float scale, int32_t zero_point, tfl_type type,
                       void *out);
void tfl_dequantize_neon(const void *q, size_t n, tfl_type type, float scale,
                         int32_t zero_point, float *out);
#endif

#endif
