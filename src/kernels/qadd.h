/* Fast quantized ADD and SUB of int8/uint8 tensors: TFLite's general rescaling, bit for bit
 * (the formula binary.c documents), vectorized:
 *   a = MultiplyByQuantizedMultiplier((x + in1_offset) << left_shift, in1_multiplier, in1_shift)
 *   b = the same for y with the in2 parameters
 *   out = clamp(MultiplyByQuantizedMultiplier(a +- b, out_multiplier, out_shift) + out_offset,
 *               act_min, act_max)
 * with TFLite's default double rounding (quant.h) in every multiplication. Values stay far
 * from int32 overflow: |x + offset| <= 255 and left_shift <= 20, so a and b are below 2^28. */
#ifndef TFL_KERNELS_QADD_H
#define TFL_KERNELS_QADD_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/simd.h"
#include "runtime/kernel.h"

typedef struct tfl_qadd tfl_qadd;

/* out[i] = f(a[i * a_step], b[i * b_step]) for i < n, steps 0 or 1 (tfl_bcast_fn's contract). */
typedef void (*tfl_qadd_run_fn)(const tfl_qadd *q, const void *a, int a_step, const void *b,
                                int b_step, void *out, size_t n);

struct tfl_qadd {
  tfl_type type; /* TFL_INT8 or TFL_UINT8, of both inputs and the output */
  int sub;       /* a - b instead of a + b */
  int32_t in1_offset, in2_offset, out_offset; /* -zp, -zp, +zp */
  int32_t in1_multiplier, in2_multiplier, out_multiplier;
  int in1_shift, in2_shift, out_shift; /* tfl_quantize_multiplier's shifts */
  int left_shift;                      /* 0 to 20 */
  int32_t act_min, act_max;
  tfl_qadd_run_fn run;
};

/* Whether a vector kernel exists for `type` at `level` (never at TFL_CPU_SCALAR); when it
 * does, sets q->run. The caller fills the other fields. */
int tfl_qadd_setup(tfl_qadd *q, tfl_cpu_level level, tfl_type type);

/* The portable kernel (also the reference the vector ones are tested against), and one
 * element of it. */
void tfl_qadd_run_portable(const tfl_qadd *q, const void *a, int a_step, const void *b,
                           int b_step, void *out, size_t n);
int32_t tfl_qadd_one(const tfl_qadd *q, int32_t x, int32_t y);
#if TFL_HAVE_X86_KERNELS
void tfl_qadd_run_avx2(const tfl_qadd *q, const void *a, int a_step, const void *b, int b_step,
                       void *out, size_t n);
#endif

#endif
