#include "runtime/registry.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/families.h"
#include "runtime/kernel.h"
#include "tfl/inspect.h"

#define TFL_FAMILY_ENTRY(name) tfl_kernels_##name,
static const tfl_op_registration *const *const builtin_families[] = {
    TFL_KERNEL_FAMILIES(TFL_FAMILY_ENTRY)};
#undef TFL_FAMILY_ENTRY

static int matches_op(const tfl_op_registration *r, int32_t code, const char *custom_name) {
  if (custom_name) return r->builtin_code == TFL_BUILTIN_CUSTOM && r->name &&
                          strcmp(r->name, custom_name) == 0;
  return r->builtin_code == code;
}

static int accepts_version(const tfl_op_registration *r, int32_t version) {
  if (r->version_min == 0 && r->version_max == 0) return 1;
  return version >= r->version_min && version <= r->version_max;
}

const tfl_op_registration *tfl_registry_find(const struct tfl_registry *reg, int32_t code,
                                             const char *custom_name, int32_t version,
                                             int *version_mismatch) {
  *version_mismatch = 0;
  for (int i = reg ? reg->n - 1 : -1; i >= 0; i--) {
    const tfl_op_registration *r = &reg->ops[i];
    if (!matches_op(r, code, custom_name)) continue;
    if (accepts_version(r, version)) return r;
    *version_mismatch = 1;
  }
  size_t n_families = sizeof(builtin_families) / sizeof(builtin_families[0]);
  for (size_t f = 0; f < n_families; f++) {
    for (const tfl_op_registration *const *p = builtin_families[f]; *p; p++) {
      if (!matches_op(*p, code, custom_name)) continue;
      if (accepts_version(*p, version)) return *p;
      *version_mismatch = 1;
    }
  }
  return NULL;
}

tfl_status tfl_registry_add(tfl_registry *reg, const tfl_op_registration *r) {
  if (!reg || !r || !r->eval) return TFL_INVALID_ARGUMENT;
  if (r->builtin_code == TFL_BUILTIN_CUSTOM && (!r->name || !r->name[0]))
    return TFL_INVALID_ARGUMENT;
  if (reg->n == reg->cap) {
    int cap = reg->cap ? reg->cap * 2 : 8;
    tfl_op_registration *ops = realloc(reg->ops, (size_t)cap * sizeof(*ops));
    if (!ops) return TFL_OUT_OF_MEMORY;
    reg->ops = ops;
    reg->cap = cap;
  }
  reg->ops[reg->n++] = *r;
  return TFL_OK;
}

void tfl_registry_clear(struct tfl_registry *reg) {
  free(reg->ops);
  memset(reg, 0, sizeof(*reg));
}

tfl_status tfl_registry_copy(struct tfl_registry *dst, const struct tfl_registry *src) {
  memset(dst, 0, sizeof(*dst));
  for (int i = 0; i < src->n; i++) {
    tfl_status st = tfl_registry_add(dst, &src->ops[i]);
    if (st != TFL_OK) {
      tfl_registry_clear(dst);
      return st;
    }
  }
  return TFL_OK;
}

int tfl_kernel_count(void) {
  int n = 0;
  size_t n_families = sizeof(builtin_families) / sizeof(builtin_families[0]);
  for (size_t f = 0; f < n_families; f++)
    for (const tfl_op_registration *const *p = builtin_families[f]; *p; p++) n++;
  return n;
}

const tfl_op_registration *tfl_kernel(int i) {
  size_t n_families = sizeof(builtin_families) / sizeof(builtin_families[0]);
  for (size_t f = 0; f < n_families && i >= 0; f++)
    for (const tfl_op_registration *const *p = builtin_families[f]; *p; p++)
      if (i-- == 0) return *p;
  return NULL;
}
