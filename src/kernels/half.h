/* IEEE 754 binary16 (float16) values, as DEQUANTIZE and the blockwise FULLY_CONNECTED's scales
 * hold them. */
#ifndef TFL_KERNELS_HALF_H
#define TFL_KERNELS_HALF_H

#include <stdint.h>
#include <string.h>

/* binary16 to binary32, exactly (every half value is a float); a NaN keeps its payload. */
static inline float tfl_half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) { /* infinity, or NaN with its payload */
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) { /* normal: rebias the exponent from 15 to 127 */
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) { /* signed zero */
    bits = sign;
  } else { /* subnormal mant * 2^-24: normalize into a float exponent */
    exp = 113;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      exp--;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

#endif
