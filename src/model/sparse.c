#include "model/sparse.h"

#include <string.h>

typedef struct densify_walk {
  const tfl_model_tensor *t;
  const tfl_sparsity *sp;
  size_t elem_size;
  uint8_t *dense;
  int32_t coords[2 * TFL_MAX_DIMS]; /* per expanded dimension: tensor dims, then blocks */
} densify_walk;

/* Size of block j (its level is dense; the loader checked it is positive). */
static int32_t block_size(const tfl_sparsity *sp, int ndim, int j) {
  for (int k = 0; k < sp->n_traversal; k++)
    if (sp->traversal_order[k] == ndim + j) return sp->dims[k].dense_size;
  return 1;
}

static size_t dense_offset(const densify_walk *w) {
  const tfl_model_tensor *t = w->t;
  size_t offset = 0;
  for (int i = 0; i < t->ndim; i++) {
    int64_t c = w->coords[i];
    for (int j = 0; j < w->sp->n_block_map; j++)
      if (w->sp->block_map[j] == i) c = c * block_size(w->sp, t->ndim, j) + w->coords[t->ndim + j];
    offset = offset * (size_t)t->shape[i] + (size_t)c;
  }
  return offset;
}

/* Visits level `level` below position `pos` of the level above; at the bottom, `pos` is the
 * index of the stored value. */
static void walk(densify_walk *w, int level, uint64_t pos) {
  if (level == w->sp->n_traversal) {
    memcpy(w->dense + dense_offset(w) * w->elem_size, w->t->data + pos * w->elem_size,
           w->elem_size);
    return;
  }
  const tfl_sparse_dim *dim = &w->sp->dims[level];
  int32_t axis = w->sp->traversal_order[level];
  if (!dim->sparse) {
    for (int32_t i = 0; i < dim->dense_size; i++) {
      w->coords[axis] = i;
      walk(w, level + 1, pos * (uint64_t)dim->dense_size + (uint64_t)i);
    }
    return;
  }
  for (int32_t k = dim->segments[pos]; k < dim->segments[pos + 1]; k++) {
    w->coords[axis] = dim->indices[k];
    walk(w, level + 1, (uint64_t)k);
  }
}

void tfl_sparse_densify(const tfl_model_tensor *t, size_t elem_size, void *dense) {
  size_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
  memset(dense, 0, n * elem_size);
  densify_walk w = {.t = t, .sp = t->sparsity, .elem_size = elem_size, .dense = dense};
  memset(w.coords, 0, sizeof(w.coords));
  walk(&w, 0, 0);
}
