#include "model/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_CHUNK ((size_t)64 * 1024)

/* The link sits in a 16-byte header so that chunk data stays 16-byte aligned. */
typedef union chunk_header {
  void *prev;
  unsigned char pad[ARENA_ALIGN];
} chunk_header;

static size_t round_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

void *tfl_arena_alloc(tfl_arena *a, size_t count, size_t size) {
  if (size && count > (SIZE_MAX - 2 * ARENA_CHUNK) / size) return NULL;
  size_t bytes = count * size;
  size_t n = round_up(bytes > 0 ? bytes : 1);
  if (!a->chunks || n > a->cap - a->used) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    chunk_header *c = malloc(sizeof(chunk_header) + cap);
    if (!c) return NULL;
    c->prev = a->chunks;
    a->chunks = c;
    a->used = 0;
    a->cap = cap;
  }
  unsigned char *p = (unsigned char *)a->chunks + sizeof(chunk_header) + a->used;
  a->used += n;
  memset(p, 0, n);
  return p;
}

void tfl_arena_free_chunks(void *chunks) {
  while (chunks) {
    void *prev = ((chunk_header *)chunks)->prev;
    free(chunks);
    chunks = prev;
  }
}
