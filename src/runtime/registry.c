#include "runtime/registry.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/families.h"
#include "model/ops.h"
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

/* The highest version of each builtin op that TensorFlow Lite's builtin op resolver accepts
 * (tensorflow/lite/core/kernels/register.cc as of 2.19; a few later bumps included, which
 * only widen it); every op not listed has version 1 only. A version says which semantics the
 * converter meant (new types, options, broadcasting rules), so a version beyond these is one
 * tfl cannot know it implements. */
typedef struct op_max_version {
  int32_t code, max;
} op_max_version;

static const op_max_version builtin_max_versions[] = {
    {TFL_OP_ABS, 5}, {TFL_OP_RELU, 3}, {TFL_OP_RELU6, 3}, {TFL_OP_TANH, 3}, {TFL_OP_LOGISTIC, 3},
    {TFL_OP_AVERAGE_POOL_2D, 3}, {TFL_OP_MAX_POOL_2D, 3}, {TFL_OP_CONV_2D, 8},
    {TFL_OP_DEPTHWISE_CONV_2D, 7}, {TFL_OP_SVDF, 4}, {TFL_OP_RNN, 3},
    {TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN, 3}, {TFL_OP_UNIDIRECTIONAL_SEQUENCE_RNN, 3},
    {TFL_OP_EMBEDDING_LOOKUP, 4}, {TFL_OP_FULLY_CONNECTED, 13}, {TFL_OP_SOFTMAX, 3},
    {TFL_OP_CONCATENATION, 4}, {TFL_OP_ADD, 5}, {TFL_OP_SPACE_TO_BATCH_ND, 4},
    {TFL_OP_BATCH_TO_SPACE_ND, 4}, {TFL_OP_MUL, 7}, {TFL_OP_L2_NORMALIZATION, 2}, {TFL_OP_LSTM, 4},
    {TFL_OP_BIDIRECTIONAL_SEQUENCE_LSTM, 3}, {TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM, 4},
    {TFL_OP_PAD, 5}, {TFL_OP_PADV2, 5}, {TFL_OP_RESIZE_BILINEAR, 4},
    {TFL_OP_RESIZE_NEAREST_NEIGHBOR, 4}, {TFL_OP_SPACE_TO_DEPTH, 2}, {TFL_OP_DEPTH_TO_SPACE, 2},
    {TFL_OP_GATHER, 7}, {TFL_OP_TRANSPOSE, 7}, {TFL_OP_MEAN, 3}, {TFL_OP_DIV, 2}, {TFL_OP_SUB, 5},
    {TFL_OP_SPLIT, 4}, {TFL_OP_SPLIT_V, 2}, {TFL_OP_SQUEEZE, 2}, {TFL_OP_STRIDED_SLICE, 8},
    {TFL_OP_EXP, 2}, {TFL_OP_TOPK_V2, 3}, {TFL_OP_LOG, 2}, {TFL_OP_LOG_SOFTMAX, 2},
    {TFL_OP_CAST, 7}, {TFL_OP_DEQUANTIZE, 6}, {TFL_OP_MAXIMUM, 4}, {TFL_OP_MINIMUM, 4},
    {TFL_OP_ARG_MAX, 3}, {TFL_OP_ARG_MIN, 3}, {TFL_OP_GREATER, 2}, {TFL_OP_GREATER_EQUAL, 3},
    {TFL_OP_LESS, 3}, {TFL_OP_LESS_EQUAL, 2}, {TFL_OP_SELECT, 4}, {TFL_OP_SELECT_V2, 2},
    {TFL_OP_SLICE, 6}, {TFL_OP_TRANSPOSE_CONV, 5}, {TFL_OP_TILE, 3}, {TFL_OP_SUM, 2},
    {TFL_OP_REDUCE_PROD, 2}, {TFL_OP_REDUCE_MAX, 3}, {TFL_OP_REDUCE_MIN, 3},
    {TFL_OP_SPARSE_TO_DENSE, 3}, {TFL_OP_EQUAL, 5}, {TFL_OP_NOT_EQUAL, 4}, {TFL_OP_SQRT, 2},
    {TFL_OP_RSQRT, 3}, {TFL_OP_FAKE_QUANT, 2}, {TFL_OP_PACK, 4}, {TFL_OP_UNPACK, 4},
    {TFL_OP_FLOOR_DIV, 3}, {TFL_OP_FLOOR_MOD, 2}, {TFL_OP_RANGE, 2}, {TFL_OP_LEAKY_RELU, 2},
    {TFL_OP_SQUARED_DIFFERENCE, 2}, {TFL_OP_FILL, 4}, {TFL_OP_MIRROR_PAD, 3},
    {TFL_OP_REVERSE_V2, 3}, {TFL_OP_GATHER_ND, 5}, {TFL_OP_WHERE, 2}, {TFL_OP_QUANTIZE, 4},
    {TFL_OP_BATCH_MATMUL, 4}, {TFL_OP_BROADCAST_TO, 3}, {TFL_OP_GELU, 2},
    {TFL_OP_DYNAMIC_UPDATE_SLICE, 4}, {TFL_OP_SIGN, 2},
};

static int32_t builtin_max_version(int32_t code) {
  const size_t n = sizeof(builtin_max_versions) / sizeof(builtin_max_versions[0]);
  for (size_t i = 0; i < n; i++)
    if (builtin_max_versions[i].code == code) return builtin_max_versions[i].max;
  return 1;
}

void tfl_kernel_versions(int i, int32_t *min, int32_t *max) {
  const tfl_op_registration *r = tfl_kernel(i);
  *min = r ? r->version_min : 0;
  *max = r ? r->version_max : 0;
  if (r && *min == 0 && *max == 0 && r->builtin_code != TFL_BUILTIN_CUSTOM) {
    *min = 1;
    *max = builtin_max_version(r->builtin_code);
  }
}

/* A registration's own range, or for one of tfl's builtin kernels declaring none (0/0), the
 * versions TFLite defines for its op. A user's 0/0 registration accepts any version. */
static int accepts_version(const tfl_op_registration *r, int32_t version, int builtin_kernel) {
  if (r->version_min == 0 && r->version_max == 0) {
    if (!builtin_kernel || r->builtin_code == TFL_BUILTIN_CUSTOM) return 1;
    return version >= 1 && version <= builtin_max_version(r->builtin_code);
  }
  return version >= r->version_min && version <= r->version_max;
}

const tfl_op_registration *tfl_registry_find(const struct tfl_registry *reg, int32_t code,
                                             const char *custom_name, int32_t version,
                                             int *version_mismatch) {
  *version_mismatch = 0;
  for (int i = reg ? reg->n - 1 : -1; i >= 0; i--) {
    const tfl_op_registration *r = &reg->ops[i];
    if (!matches_op(r, code, custom_name)) continue;
    if (accepts_version(r, version, 0)) return r;
    *version_mismatch = 1;
  }
  size_t n_families = sizeof(builtin_families) / sizeof(builtin_families[0]);
  for (size_t f = 0; f < n_families; f++) {
    for (const tfl_op_registration *const *p = builtin_families[f]; *p; p++) {
      if (!matches_op(*p, code, custom_name)) continue;
      if (accepts_version(*p, version, 1)) return *p;
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
