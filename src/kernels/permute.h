/* Axis permutation of a row-major tensor, for the kernels that only reorder elements
 * (TRANSPOSE, DEPTH_TO_SPACE, SPACE_TO_DEPTH). Elements are moved as opaque bytes. */
#ifndef TFL_KERNELS_PERMUTE_H
#define TFL_KERNELS_PERMUTE_H

#include <stddef.h>
#include <stdint.h>

/* Writes to out the tensor whose axis i is axis perm[i] of in (so out's shape is
 * in_dims[perm[0]], in_dims[perm[1]], ...). perm must be a permutation of 0..ndim-1 and
 * ndim at most TFL_MAX_DIMS; in and out must not overlap. */
void tfl_permute(int ndim, const int32_t *in_dims, const int *perm, size_t elem, const void *in,
                 void *out);

#endif
