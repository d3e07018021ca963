/* The builtin kernel families. Each src/kernels/<family>.c defines
 *   const tfl_op_registration *const tfl_kernels_<family>[];
 * a NULL-terminated list of its registrations. The interpreter searches them in this order. */
#ifndef TFL_KERNELS_FAMILIES_H
#define TFL_KERNELS_FAMILIES_H

#include "tfl/op.h"

#define TFL_KERNEL_FAMILIES(X) \
  X(conv)                      \
  X(depthwise)                 \
  X(fully_connected)           \
  X(pool)                      \
  X(binary)                    \
  X(activations)               \
  X(softmax)                   \
  X(reduce)                    \
  X(reshape)                   \
  X(concat)                    \
  X(pad)                       \
  X(slice)                     \
  X(transpose)                 \
  X(gather)                    \
  X(cast)                      \
  X(quantize)                  \
  X(resize)                    \
  X(space_depth)               \
  X(lstm)                      \
  X(svdf)                      \
  X(control_flow)              \
  X(variables)                 \
  X(compare)                   \
  X(index)                     \
  X(segment)                   \
  X(transpose_conv)            \
  X(batch_matmul)              \
  X(conv3d)                    \
  X(normalization)             \
  X(rnn)                       \
  TFL_CUSTOM_KERNEL_FAMILIES(X)

/* The custom ops tfl ships (TFLite_Detection_PostProcess, MediaPipe's), registered under their
 * custom names unless the build defines TFL_NO_CUSTOM_OPS (CMake: -DTFL_CUSTOM_OPS=OFF). */
#ifdef TFL_NO_CUSTOM_OPS
#define TFL_CUSTOM_KERNEL_FAMILIES(X)
#else
#define TFL_CUSTOM_KERNEL_FAMILIES(X) \
  X(detection)                        \
  X(mediapipe)
#endif

#define TFL_DECLARE_FAMILY(name) extern const tfl_op_registration *const tfl_kernels_##name[];
TFL_KERNEL_FAMILIES(TFL_DECLARE_FAMILY)
#undef TFL_DECLARE_FAMILY

#endif
