/* Quantized ADD/SUB fast path: variant choice and the portable kernel (qadd.h). */
#include "kernels/qadd.h"

#include <math.h>

#include "kernels/quant.h"

int tfl_qadd_setup(tfl_qadd *q, tfl_cpu_level level, tfl_type type) {
  q->type = type;
  q->run = NULL;
  if (type != TFL_INT8 && type != TFL_UINT8) return 0;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) q->run = tfl_qadd_run_avx2;
#endif
  if (tfl_simd_neon(level)) q->run = tfl_qadd_run_neon;
  (void)level;
  return q->run != NULL;
}

/* The right shift tfl_mul_by_quantized_multiplier applies for `shift` (<= 0). */
static int right_of(int shift) { return -shift > 31 ? 31 : -shift; }

void tfl_qadd_plan(tfl_qadd *q) {
  q->use_float = 0;
  if (q->in1_shift > 0 || q->in2_shift > 0 || q->out_shift > 0 || q->left_shift < 0 ||
      q->left_shift > 20)
    return;
  const int right_out = right_of(q->out_shift);
  const double k = ldexp((double)q->out_multiplier, -31 - right_out);
  const int l = q->left_shift;
  const double c1 = k * ldexp((double)q->in1_multiplier, l - 31 - right_of(q->in1_shift));
  double c2 = k * ldexp((double)q->in2_multiplier, l - 31 - right_of(q->in2_shift));
  if (q->sub) c2 = -c2;
  const double g = q->in1_offset * c1 + q->in2_offset * c2 + q->out_offset;
  /* Every term and partial sum of the float evaluation is at most `m` in magnitude; each of
   * the roundings (constants, two FMAs) errs by at most m 2^-24. The double arithmetic above
   * adds far less than the last term's margin. */
  const double m = 255.0 * (fabs(c1) + fabs(c2)) + fabs(g);
  const double e = 4.0 * ldexp(m, -24) + 2.0 * k + (right_out ? ldexp(1.0, -right_out - 1) : 0.0) +
                   ldexp(m + 1.0, -30);
  if (m > 1048576.0 || e > 1.0 / 32.0) return;
  float limit = (float)(0.5 - e);
  if ((double)limit > 0.5 - e) limit = nextafterf(limit, 0.0f);
  q->c1 = (float)c1;
  q->c2 = (float)c2;
  q->g = (float)g;
  q->limit = limit;
  q->use_float = 1;
}

int32_t tfl_qadd_one(const tfl_qadd *q, int32_t x, int32_t y) {
  const int32_t a = tfl_mul_by_quantized_multiplier((x + q->in1_offset) * (1 << q->left_shift),
                                                    q->in1_multiplier, q->in1_shift);
  const int32_t b = tfl_mul_by_quantized_multiplier((y + q->in2_offset) * (1 << q->left_shift),
                                                    q->in2_multiplier, q->in2_shift);
  const int32_t v = tfl_mul_by_quantized_multiplier(q->sub ? a - b : a + b, q->out_multiplier,
                                                    q->out_shift) +
                    q->out_offset;
  return v < q->act_min ? q->act_min : v > q->act_max ? q->act_max : v;
}

static int32_t code_at(tfl_type type, const void *p, size_t i) {
  return type == TFL_UINT8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}

void tfl_qadd_run_portable(const tfl_qadd *q, const void *a, int a_step, const void *b,
                           int b_step, void *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const int32_t v = tfl_qadd_one(q, code_at(q->type, a, i * (size_t)a_step),
                                   code_at(q->type, b, i * (size_t)b_step));
    if (q->type == TFL_UINT8)
      ((uint8_t *)out)[i] = (uint8_t)v;
    else
      ((int8_t *)out)[i] = (int8_t)v;
  }
}

float tfl_qadd_fixed_g(const tfl_qadd *q, const void *a, int a_step, const void *b) {
  const int32_t fixed = a_step ? code_at(q->type, b, 0) : code_at(q->type, a, 0);
  return fmaf((float)fixed, a_step ? q->c2 : q->c1, q->g);
}

void tfl_qadd_fix_lanes(const tfl_qadd *q, uint32_t lanes, const void *a, int a_step,
                        const void *b, int b_step, void *out) {
  for (; lanes; lanes &= lanes - 1) {
    const size_t j = (size_t)__builtin_ctz(lanes);
    tfl_qadd_run_portable(q, (const uint8_t *)a + j * (size_t)a_step, a_step,
                          (const uint8_t *)b + j * (size_t)b_step, b_step, (uint8_t *)out + j, 1);
  }
}
