#include "kernels/families.h"
#include "runtime/kernel.h"

const tfl_op_registration *const tfl_kernels_index[] = {NULL};
