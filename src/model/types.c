/* Names and sizes of status codes and tensor types. */
#include "tfl/status.h"
#include "tfl/tensor.h"

static const char *const status_names[] = {
    "ok",          "error",          "invalid argument", "invalid model", "unsupported",
    "out of memory", "I/O error",    "limit exceeded",   "cancelled",     "not ready",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == TFL_STATUS_COUNT,
               "one name per status");

const char *tfl_status_string(tfl_status status) {
  if ((unsigned)status >= TFL_STATUS_COUNT) return "unknown status";
  return status_names[status];
}

static const struct {
  const char *name;
  size_t size; /* 0: no fixed element size; a resource holds an int32 variable id */
} types[] = {
    {"float32", 4},  {"float16", 2},     {"int32", 4},       {"uint8", 1},
    {"int64", 8},    {"string", 0},      {"bool", 1},        {"int16", 2},
    {"complex64", 8}, {"int8", 1},       {"float64", 8},     {"complex128", 16},
    {"uint64", 8},   {"resource", 4},    {"variant", 0},     {"uint32", 4},
    {"uint16", 2},   {"int4", 0},        {"bfloat16", 2},    {"int2", 0},
    {"uint4", 0},    {"float8_e4m3fn", 1}, {"float8_e5m2", 1},
};
_Static_assert(sizeof(types) / sizeof(types[0]) == TFL_TYPE_COUNT, "one entry per type");

const char *tfl_type_name(tfl_type type) {
  if ((unsigned)type >= TFL_TYPE_COUNT) return "unknown";
  return types[type].name;
}

size_t tfl_type_size(tfl_type type) {
  if ((unsigned)type >= TFL_TYPE_COUNT) return 0;
  return types[type].size;
}
