#include "runtime/cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

tfl_cpu_level tfl_cpu_detect_hardware(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return TFL_CPU_SCALAR;
  int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
  if (!osxsave) return TFL_CPU_SCALAR;
  unsigned long long xcr0 = read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return TFL_CPU_SCALAR; /* the OS saves no YMM state */
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return TFL_CPU_SCALAR;
  int avx2 = (b >> 5) & 1;
  if (!(avx2 && fma && f16c)) return TFL_CPU_SCALAR;
  int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
  if (!avx512 || (xcr0 & 0xe6) != 0xe6) return TFL_CPU_AVX2;
  int vnni = (c >> 11) & 1;
  return vnni ? TFL_CPU_AVX512VNNI : TFL_CPU_AVX512;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

tfl_cpu_level tfl_cpu_detect_hardware(void) {
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? TFL_CPU_NEON_DOT : TFL_CPU_NEON;
}

#else
tfl_cpu_level tfl_cpu_detect_hardware(void) { return TFL_CPU_SCALAR; }
#endif

static const struct {
  const char *name;
  tfl_cpu_level level;
} levels[] = {{"scalar", TFL_CPU_SCALAR}, {"avx2", TFL_CPU_AVX2},
              {"avx512", TFL_CPU_AVX512}, {"avx512vnni", TFL_CPU_AVX512VNNI},
              {"neon", TFL_CPU_NEON},     {"neondot", TFL_CPU_NEON_DOT}};

const char *tfl_cpu_level_name(tfl_cpu_level level) {
  for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
    if (levels[i].level == level) return levels[i].name;
  return "unknown";
}

int tfl_cpu_level_parse(const char *name) {
  for (size_t i = 0; name && i < sizeof(levels) / sizeof(levels[0]); i++)
    if (strcmp(levels[i].name, name) == 0) return (int)levels[i].level;
  return -1;
}

/* Levels of one architecture share the bits above 15; only those compare. */
static int same_family(int a, int b) { return (a >> 4) == (b >> 4) || a == 0 || b == 0; }

tfl_cpu_level tfl_cpu_detect(void) {
  tfl_cpu_level hw = tfl_cpu_detect_hardware();
  int want = tfl_cpu_level_parse(getenv("TFL_CPU"));
  if (want < 0) return hw;
  if (want == TFL_CPU_SCALAR) return TFL_CPU_SCALAR;
  if (same_family(want, (int)hw) && want <= (int)hw) return (tfl_cpu_level)want;
  return hw;
}
