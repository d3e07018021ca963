/* A grow-only allocator for a model's decoded arrays: they all live exactly as long as the
 * model, so they are carved out of a few large chunks and freed together. */
#ifndef TFL_MODEL_ARENA_H
#define TFL_MODEL_ARENA_H

#include <stddef.h>

typedef struct tfl_arena {
  void *chunks; /* newest chunk first; each starts with a link to the previous one */
  size_t used;  /* bytes used in the newest chunk */
  size_t cap;   /* its capacity */
} tfl_arena;

/* count * size zeroed bytes, 16-byte aligned; never NULL for count 0. NULL on overflow or
 * out of memory. */
void *tfl_arena_alloc(tfl_arena *a, size_t count, size_t size);
/* Frees every chunk of a list (tfl_arena.chunks). */
void tfl_arena_free_chunks(void *chunks);

#endif
