/* tfl — status codes shared by every public call. */
#ifndef TFL_STATUS_H
#define TFL_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tfl_status {
  TFL_OK = 0,
  TFL_ERROR = 1,            /* generic failure; the message says what */
  TFL_INVALID_ARGUMENT = 2, /* the caller passed something unusable */
  TFL_INVALID_MODEL = 3,    /* the model file is malformed or inconsistent */
  TFL_UNSUPPORTED = 4,      /* an op, type or feature tfl does not implement */
  TFL_OUT_OF_MEMORY = 5,
  TFL_IO_ERROR = 6,
  TFL_LIMIT_EXCEEDED = 7,   /* a configured size limit would be exceeded */
  TFL_CANCELLED = 8,        /* tfl_interpreter_cancel() stopped an invoke */
  TFL_NOT_READY = 9,        /* tfl_interpreter_allocate_tensors() is needed first */
  TFL_STATUS_COUNT
} tfl_status;

/* A short static name such as "invalid model". Never NULL. */
const char *tfl_status_string(tfl_status status);

#ifdef __cplusplus
}
#endif
#endif
