/* tfl — a TensorFlow-Lite-compatible inference runtime. Include this for everything. */
#ifndef TFL_TFL_H
#define TFL_TFL_H

#include "tfl/status.h"
#include "tfl/tensor.h"
#include "tfl/string.h"
#include "tfl/model.h"
#include "tfl/op.h"
#include "tfl/interpreter.h"
#include "tfl/inspect.h"

#endif
