/* Sparse constants (TFLite's SparsityParameters, a TACO-style format) expanded to dense. */
#ifndef TFL_MODEL_SPARSE_H
#define TFL_MODEL_SPARSE_H

#include <stddef.h>

#include "model/model.h"

/* Writes the dense row-major form of sparse constant `t` (whose sparsity the loader has fully
 * checked) into `dense`, which holds element_count * elem_size bytes; zeros elsewhere. */
void tfl_sparse_densify(const tfl_model_tensor *t, size_t elem_size, void *dense);

#endif
