/* What the CPU can do, detected at run time, so one binary picks its kernels on any machine.
 * Levels are ordered: a kernel written for a level runs on every higher one. */
#ifndef TFL_RUNTIME_CPU_H
#define TFL_RUNTIME_CPU_H

typedef enum tfl_cpu_level {
  TFL_CPU_SCALAR = 0,     /* portable C only */
  TFL_CPU_AVX2 = 1,       /* x86-64: AVX2 + FMA + F16C */
  TFL_CPU_AVX512 = 2,     /* x86-64: AVX-512 F/BW/DQ/VL */
  TFL_CPU_AVX512VNNI = 3, /* x86-64: plus AVX-512 VNNI */
  TFL_CPU_NEON = 1 + 16,  /* aarch64: Advanced SIMD (always present) */
  TFL_CPU_NEON_DOT = 2 + 16 /* aarch64: plus the dot-product extension */
} tfl_cpu_level;

/* The best level this machine supports, lowered by the environment variable TFL_CPU
 * ("scalar", "avx2", "avx512", "avx512vnni", "neon", "neondot") when it names a level the
 * machine has. Detected once per call; cheap enough for prepare. */
tfl_cpu_level tfl_cpu_detect(void);
/* The machine's best level, ignoring TFL_CPU. */
tfl_cpu_level tfl_cpu_detect_hardware(void);
/* "scalar", "avx2", ... */
const char *tfl_cpu_level_name(tfl_cpu_level level);
/* Parses a level name; returns -1 if unknown. */
int tfl_cpu_level_parse(const char *name);

#endif
