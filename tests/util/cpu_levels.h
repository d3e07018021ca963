/* The CPU levels a test compares: "scalar" (the portable kernels) and every vector level this
 * machine has (avx2, avx512, avx512vnni on x86-64; neon, neondot on aarch64, under qemu too),
 * as names for TFL_CPU (ot_op.cpu, ot_cpu_set). */
#ifndef TFL_TEST_CPU_LEVELS_H
#define TFL_TEST_CPU_LEVELS_H

#include "runtime/cpu.h"

enum { CK_MAX_CPU_LEVELS = 4 };

/* Fills names[] (CK_MAX_CPU_LEVELS room), scalar first; returns how many. */
static inline int ck_cpu_levels(const char *names[CK_MAX_CPU_LEVELS]) {
  static const tfl_cpu_level vector[] = {TFL_CPU_AVX2, TFL_CPU_AVX512, TFL_CPU_AVX512VNNI,
                                         TFL_CPU_NEON, TFL_CPU_NEON_DOT};
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  int n = 0;
  names[n++] = "scalar";
  for (size_t i = 0; i < sizeof(vector) / sizeof(vector[0]); i++)
    /* a level of the machine's family, at most the machine's */
    if (vector[i] <= hw && (vector[i] >= TFL_CPU_NEON) == (hw >= TFL_CPU_NEON))
      names[n++] = tfl_cpu_level_name(vector[i]);
  return n;
}

#endif
