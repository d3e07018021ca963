/* Finding the kernel for an operator code: user-added ops first, then tfl's builtins. */
#ifndef TFL_RUNTIME_REGISTRY_H
#define TFL_RUNTIME_REGISTRY_H

#include "tfl/op.h"

struct tfl_registry {
  tfl_op_registration *ops; /* user-added, searched newest first */
  int n, cap;
};

/* The registration for a builtin code (custom_name NULL) or a custom op name, accepting
 * `version`; NULL if none. *version_mismatch is set when the op exists in other versions. */
const tfl_op_registration *tfl_registry_find(const struct tfl_registry *reg, int32_t code,
                                             const char *custom_name, int32_t version,
                                             int *version_mismatch);
void tfl_registry_clear(struct tfl_registry *reg);
tfl_status tfl_registry_copy(struct tfl_registry *dst, const struct tfl_registry *src);

#endif
