/* Quantized ADD/SUB fast path: variant choice and the portable kernel (qadd.h). */
#include "kernels/qadd.h"

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
