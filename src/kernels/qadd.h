/* Fast quantized ADD and SUB of int8/uint8 tensors: TFLite's general rescaling, bit for bit
 * (the formula binary.c documents), vectorized:
 *   a = MultiplyByQuantizedMultiplier((x + in1_offset) << left_shift, in1_multiplier, in1_shift)
 *   b = the same for y with the in2 parameters
 *   out = clamp(MultiplyByQuantizedMultiplier(a +- b, out_multiplier, out_shift) + out_offset,
 *               act_min, act_max)
 * with TFLite's default double rounding (quant.h) in every multiplication. Values stay far
 * from int32 overflow: |x + offset| <= 255 and left_shift <= 20, so a and b are below 2^28.
 *
 * The float form (tfl_qadd_plan). Written out, the three roundings give
 *   out - out_offset = floor(s k + d),  s = a +- b,  k = out_multiplier 2^(-31 - right_out),
 * d = 1/2 +- 2^(-right_out - 1) (1/2 when right_out is 0), and |a - A| <= 1 for the unrounded
 * A = (x + in1_offset) in1_multiplier 2^(left_shift - 31 - right_1) (the same for b). So
 *   w = x c1 + y c2 + g   (c1 = A's slope times k, c2 = +-B's, g the offsets' terms)
 * evaluated in float with two FMAs lies within a bound e of (floor's argument) - 1/2 +
 * out_offset, e covering the float roundings, 2k for a and b and 2^(-right_out - 1) for d.
 * Where w is farther than e from every half-integer, rounding w to the nearest integer gives
 * the exact output; the few lanes nearer (a fraction of about 2e) take the exact formula. */
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
  /* The float form (set by tfl_qadd_plan): w = x c1 + y c2 + g, exact where |w - round(w)|
   * stays below `limit` (1/2 - e). */
  int use_float;
  float c1, c2, g, limit;
};

/* Whether a vector kernel exists for `type` at `level` (never at TFL_CPU_SCALAR); when it
 * does, sets q->run. The caller fills the other fields. */
int tfl_qadd_setup(tfl_qadd *q, tfl_cpu_level level, tfl_type type);

/* Precomputes the float form once the caller filled the fields; leaves use_float 0 where
 * its bound is too loose to pay (or a multiplier is above 1). */
void tfl_qadd_plan(tfl_qadd *q);

/* The float form's pieces both vector kernels use: g with a fixed operand's term added
 * (rounded as the first FMA rounds it), for runs where one operand has step 0 (a_step says
 * which); and the exact outputs of the elements j < 32 whose bit j is set in `lanes`. */
float tfl_qadd_fixed_g(const tfl_qadd *q, const void *a, int a_step, const void *b);
void tfl_qadd_fix_lanes(const tfl_qadd *q, uint32_t lanes, const void *a, int a_step,
                        const void *b, int b_step, void *out);

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
