/* Tensor decoding: type, shape, constant data, quantization and sparsity.
 *
 * Decisions (several differ from TensorFlow Lite, which is stricter or looser):
 * - A buffer whose data is empty makes no constant unless the tensor has no elements.
 * - zero_point may be absent (all zeros); TFLite rejects that.
 * - A scale must be finite (TFLite does not check): kernels turn scales into fixed-point
 *   multipliers, for which NaN or inf has no meaning.
 * - quantized_dimension out of range: TFLite rejects it, TFLite Micro ignores it (and
 *   person_detect.tflite has 1-D bias tensors with quantized_dimension 3). tfl accepts it
 *   when there is one scale (per-tensor: the axis does not matter, it is reported as 0) or
 *   when exactly one axis has as many entries as there are scales (that axis is used).
 * - Constants of sub-byte types (int4, uint4, int2) hold packed values, as TFLite writes them.
 * - A variable tensor cannot have constant data (TFLite rejects it too).
 * - String constants must be a valid encoding (model/string_data.h) of exactly as many strings
 *   as the shape has elements; TFLite trusts them, so a hostile file could make it read out of
 *   bounds. Sparse strings are refused later, by the interpreter, as in TFLite.
 * - Sparse tensors are checked completely (traversal order, block map, every segment and
 *   index) so that densifying one cannot read or write out of bounds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format/tflite_schema.h"
#include "model/decode.h"
#include "model/string_data.h"

/* Bits per element of the packed sub-byte types, 0 for the others. */
static unsigned packed_bits(tfl_type type) {
  switch (type) {
    case TFL_INT4: case TFL_UINT4: return 4;
    case TFL_INT2: return 2;
    default: return 0;
  }
}

static tfl_status decode_shape(tfl_decoder *d, fb_table t, tfl_model_tensor *out,
                               uint64_t *elements) {
  tfl_status st = tfl_decode_ivec(d, fb_vec(t, TFLITE_TENSOR_SHAPE), &out->shape, &out->ndim);
  if (st) return st;
  if (out->ndim > TFL_MAX_DIMS)
    return tfl_decode_fail(d, TFL_UNSUPPORTED, "%d dimensions (at most %d are supported)",
                           out->ndim, TFL_MAX_DIMS);
  *elements = 1;
  for (int i = 0; i < out->ndim; i++) {
    int32_t dim = out->shape[i];
    if (dim < 0) return tfl_decode_fail(d, TFL_INVALID_MODEL, "dimension %d is %d", i, (int)dim);
    if (dim && *elements > SIZE_MAX / (uint64_t)dim)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "the shape has too many elements");
    *elements *= (uint64_t)dim;
  }
  fb_vector sig = fb_vec(t, TFLITE_TENSOR_SHAPE_SIGNATURE);
  if (sig.len == 0) return TFL_OK; /* converters write [] for "same as shape" */
  if (sig.len != (uint32_t)out->ndim)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "shape_signature has %u entries but the "
                           "shape has %d", sig.len, out->ndim);
  int n;
  if ((st = tfl_decode_ivec(d, sig, &out->shape_signature, &n))) return st;
  for (int i = 0; i < n; i++)
    if (out->shape_signature[i] < -1)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "shape_signature entry %d is %d", i,
                             (int)out->shape_signature[i]);
  out->has_shape_signature = 1;
  return TFL_OK;
}

/* --- quantization -------------------------------------------------------------------- */

static tfl_status check_tensor_ref(tfl_decoder *d, const char *what, int32_t index,
                                   int n_tensors, int allow_none) {
  if ((index == -1 && allow_none) || (index >= 0 && index < n_tensors)) return TFL_OK;
  return tfl_decode_fail(d, TFL_INVALID_MODEL, "quantization %s refer to tensor %d of %d",
                         what, (int)index, n_tensors);
}

/* The public kind of a QuantizationDetails union type (the verifier knows no others). */
static tfl_quant_kind details_kind(uint8_t type) {
  switch (type) {
    case TFLITE_QDETAILS_BLOCKWISE: return TFL_QUANT_BLOCKWISE;
    case TFLITE_QDETAILS_MULTI_AXIS: return TFL_QUANT_MULTI_AXIS;
    default: return TFL_QUANT_CUSTOM;
  }
}

/* Blockwise and multi-axis quantization name other tensors and axes. */
static tfl_status decode_quant_details(tfl_decoder *d, fb_table q, int n_tensors,
                                       tfl_model_tensor *out) {
  out->quant_details_type = fb_u8(q, TFLITE_QUANT_DETAILS_TYPE, 0);
  if (!out->quant_details_type) return TFL_OK;
  out->quant.kind = details_kind(out->quant_details_type);
  out->quant_details = fb_subtable(q, TFLITE_QUANT_DETAILS);
  fb_table t = out->quant_details;
  if (out->quant_details_type == TFLITE_QDETAILS_CUSTOM || !fb_table_present(t)) return TFL_OK;
  int32_t scales = fb_i32(t, TFLITE_QDETAILS_SCALES, 0);
  int32_t zero_points = fb_i32(t, TFLITE_QDETAILS_ZERO_POINTS, 0);
  tfl_status st;
  if ((st = check_tensor_ref(d, "scales", scales, n_tensors, 0)) ||
      (st = check_tensor_ref(d, "zero points", zero_points, n_tensors, 1)))
    return st;
  int32_t block = fb_i32(t, TFLITE_QDETAILS_BLOCK, 0);
  if (block < 0 || (block == 0 && out->quant_details_type == TFLITE_QDETAILS_BLOCKWISE))
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "quantization block size %d", (int)block);
  out->quant.block_size = block;
  out->quant.scales_tensor = scales;
  out->quant.zero_points_tensor = zero_points;
  if (out->quant_details_type != TFLITE_QDETAILS_MULTI_AXIS) return TFL_OK;
  fb_vector axes = fb_vec(t, TFLITE_QDETAILS_AXES);
  for (uint32_t i = 0; i < axes.len; i++) {
    int32_t a = fb_vec_i32(axes, i);
    if (a < 0 || a >= out->ndim)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "quantized dimension %d of a %d-D tensor",
                             (int)a, out->ndim);
  }
  return TFL_OK;
}

/* The axis that per-channel parameters run along (see the file comment). */
static tfl_status quant_axis(tfl_decoder *d, int32_t qdim, int count, tfl_model_tensor *out) {
  int valid = qdim >= 0 && qdim < out->ndim;
  if (count == 1) {
    out->quant.axis = valid ? qdim : 0;
    return TFL_OK;
  }
  if (valid) {
    if (out->shape[qdim] == count) {
      out->quant.axis = qdim;
      return TFL_OK;
    }
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "%d quantization scales for dimension %d of "
                           "size %d", count, (int)qdim, (int)out->shape[qdim]);
  }
  int axis = -1;
  for (int a = 0; a < out->ndim; a++) {
    if (out->shape[a] != count) continue;
    if (axis >= 0)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "quantized_dimension %d is out of range and "
                             "%d scales match several dimensions", (int)qdim, count);
    axis = a;
  }
  if (axis < 0)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "quantized_dimension %d is out of range for a "
                           "%d-D tensor and %d scales match no dimension", (int)qdim,
                           out->ndim, count);
  out->quant.axis = axis;
  return TFL_OK;
}

int tfl_zero_point_fits(tfl_type type, int64_t z) {
  switch (type) {
    case TFL_INT4: return z >= -8 && z <= 7;
    case TFL_INT8: return z >= INT8_MIN && z <= INT8_MAX;
    case TFL_UINT8: return z >= 0 && z <= UINT8_MAX;
    case TFL_INT16: return z >= INT16_MIN && z <= INT16_MAX;
    case TFL_UINT16: return z >= 0 && z <= UINT16_MAX;
    default: return z >= INT32_MIN && z <= INT32_MAX;
  }
}

static tfl_status decode_quant(tfl_decoder *d, fb_table t, int n_tensors, tfl_model_tensor *out) {
  out->quant.scales_tensor = out->quant.zero_points_tensor = -1;
  fb_table q = fb_subtable(t, TFLITE_TENSOR_QUANT);
  if (!fb_table_present(q)) return TFL_OK;
  fb_vector qmin = fb_vec(q, TFLITE_QUANT_MIN), qmax = fb_vec(q, TFLITE_QUANT_MAX);
  if (qmin.len) out->q_min = fb_vec_f32(qmin, 0);
  if (qmax.len) out->q_max = fb_vec_f32(qmax, 0);
  tfl_status st = decode_quant_details(d, q, n_tensors, out);
  if (st) return st;
  fb_vector scale = fb_vec(q, TFLITE_QUANT_SCALE), zp = fb_vec(q, TFLITE_QUANT_ZERO_POINT);
  if (scale.len == 0) return TFL_OK;
  if (zp.data && zp.len != scale.len)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "%u quantization scales but %u zero points",
                           scale.len, zp.len);
  int count = (int)scale.len;
  if ((st = tfl_decode_charge(d, scale.len))) return st;
  if (out->ndim == 0 && count != 1)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "%d quantization scales for a scalar", count);
  if ((st = quant_axis(d, fb_i32(q, TFLITE_QUANT_DIMENSION, 0), count, out))) return st;
  float *scales = tfl_decode_alloc(d, (size_t)count, sizeof(float));
  int32_t *zps = tfl_decode_alloc(d, (size_t)count, sizeof(int32_t));
  if (!scales || !zps) return TFL_OUT_OF_MEMORY;
  for (int i = 0; i < count; i++) {
    int64_t z = zp.data ? fb_vec_i64(zp, (uint32_t)i) : 0;
    if (!tfl_zero_point_fits(out->type, z))
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "zero point %lld is out of range for %s",
                             (long long)z, tfl_type_name(out->type));
    scales[i] = fb_vec_f32(scale, (uint32_t)i);
    /* kernels derive fixed-point multipliers from scales: NaN or inf has no meaning there */
    if (!isfinite(scales[i]))
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "quantization scale %d is %g", i,
                             (double)scales[i]);
    zps[i] = (int32_t)z;
  }
  out->quant.count = count;
  out->quant.scale = scales;
  out->quant.zero_point = zps;
  if (!out->quant_details_type) out->quant.kind = TFL_QUANT_AFFINE;
  return TFL_OK;
}

/* --- sparsity ------------------------------------------------------------------------ */

/* A SparseIndexVector (int32, uint16 or uint8 values) widened to int32. */
static tfl_status decode_index_vector(tfl_decoder *d, fb_table dim, int type_field, int level,
                                      int32_t **out, uint32_t *n) {
  const char *what = type_field == TFLITE_DIM_SEGMENTS_TYPE ? "array_segments" : "array_indices";
  uint8_t type = fb_u8(dim, type_field, 0);
  fb_vector v = fb_vec(fb_subtable(dim, type_field + 1), 0);
  if (!type || !v.data)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse level %d has no %s", level, what);
  tfl_status st = tfl_decode_charge(d, v.len);
  if (st) return st;
  *out = tfl_decode_alloc(d, v.len, sizeof(int32_t));
  if (!*out) return TFL_OUT_OF_MEMORY;
  *n = v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    int32_t x = type == TFLITE_SPARSE_INT32    ? fb_vec_i32(v, i)
                : type == TFLITE_SPARSE_UINT16 ? fb_vec_u16(v, i)
                                               : fb_vec_u8(v, i);
    if (x < 0)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse level %d: negative %s", level, what);
    (*out)[i] = x;
  }
  return TFL_OK;
}

/* traversal_order: a permutation of the tensor's dims, then one of the block dims;
 * block_map: distinct tensor dims. */
static tfl_status check_orders(tfl_decoder *d, const tfl_sparsity *sp, int ndim) {
  int seen[2 * TFL_MAX_DIMS] = {0};
  for (int i = 0; i < sp->n_traversal; i++) {
    int32_t t = sp->traversal_order[i];
    int lo = i < ndim ? 0 : ndim, hi = i < ndim ? ndim : sp->n_traversal;
    if (t < lo || t >= hi || seen[t]++)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse traversal_order is not a valid "
                             "permutation");
  }
  memset(seen, 0, sizeof(seen));
  for (int j = 0; j < sp->n_block_map; j++) {
    int32_t b = sp->block_map[j];
    if (b < 0 || b >= ndim || seen[b]++)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse block_map entry %d is %d", j, (int)b);
  }
  return TFL_OK;
}

static tfl_status decode_levels(tfl_decoder *d, fb_table sp_table, tfl_sparsity *sp) {
  fb_vector dims = fb_vec(sp_table, TFLITE_SPARSITY_DIMS);
  sp->dims = tfl_decode_alloc(d, dims.len, sizeof(tfl_sparse_dim));
  if (!sp->dims) return TFL_OUT_OF_MEMORY;
  sp->n_dims = (int)dims.len;
  for (int i = 0; i < sp->n_dims; i++) {
    fb_table t = fb_vec_table(sp_table, dims, (uint32_t)i);
    tfl_sparse_dim *dim = &sp->dims[i];
    int8_t format = fb_i8(t, TFLITE_DIM_FORMAT, 0);
    tfl_status st;
    if (format != 0 && format != 1)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse level %d has format %d", i, format);
    dim->sparse = format;
    dim->dense_size = fb_i32(t, TFLITE_DIM_DENSE_SIZE, 0);
    if (!dim->sparse) continue;
    if ((st = decode_index_vector(d, t, TFLITE_DIM_SEGMENTS_TYPE, i, &dim->segments,
                                  &dim->n_segments)) ||
        (st = decode_index_vector(d, t, TFLITE_DIM_INDICES_TYPE, i, &dim->indices,
                                  &dim->n_indices)))
      return st;
  }
  return TFL_OK;
}

/* Size of traversal level i in the blocked dense tensor. Block dims are dense and give the
 * block size; a blocked tensor dim is divided by its block size. */
static tfl_status level_size(tfl_decoder *d, const tfl_sparsity *sp, const tfl_model_tensor *t,
                             int i, int32_t *size) {
  int ndim = t->ndim;
  int32_t dim = sp->traversal_order[i];
  int block = -1;
  if (dim >= ndim) {
    block = dim - ndim;
  } else {
    for (int j = 0; j < sp->n_block_map; j++)
      if (sp->block_map[j] == dim) block = j;
    if (block < 0) {
      *size = t->shape[dim];
      return TFL_OK;
    }
  }
  int32_t block_size = 0;
  for (int k = 0; k < sp->n_traversal; k++)
    if (sp->traversal_order[k] == ndim + block && !sp->dims[k].sparse)
      block_size = sp->dims[k].dense_size;
  if (block_size <= 0)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse block %d has no positive dense size",
                           block);
  if (dim >= ndim) {
    *size = block_size;
    return TFL_OK;
  }
  if (t->shape[dim] % block_size)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "dimension %d (%d) is not a multiple of its "
                           "block size %d", (int)dim, (int)t->shape[dim], (int)block_size);
  *size = t->shape[dim] / block_size;
  return TFL_OK;
}

/* One CSR level: segments[0..positions] bound runs of strictly increasing indices. */
static tfl_status check_csr(tfl_decoder *d, const tfl_sparse_dim *dim, int level,
                            uint64_t positions, int32_t size) {
  if (dim->n_segments != positions + 1 || dim->segments[0] != 0 ||
      (uint32_t)dim->segments[positions] != dim->n_indices)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse level %d: %u segments for %llu "
                           "positions and %u indices", level, dim->n_segments,
                           (unsigned long long)positions, dim->n_indices);
  for (uint64_t p = 0; p < positions; p++) {
    int32_t begin = dim->segments[p], end = dim->segments[p + 1];
    if (end < begin)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse level %d: segments decrease", level);
    for (int32_t k = begin; k < end; k++) {
      if (dim->indices[k] >= size || (k > begin && dim->indices[k] <= dim->indices[k - 1]))
        return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse level %d: index %d out of order "
                               "or not below %d", level, (int)dim->indices[k], (int)size);
    }
  }
  return TFL_OK;
}

/* Walks the levels; *stored is the number of values the buffer must hold. */
static tfl_status check_levels(tfl_decoder *d, const tfl_sparsity *sp, const tfl_model_tensor *t,
                               uint64_t *stored) {
  uint64_t positions = 1;
  for (int i = 0; i < sp->n_dims; i++) {
    const tfl_sparse_dim *dim = &sp->dims[i];
    int32_t size = 0;
    tfl_status st = level_size(d, sp, t, i, &size);
    if (st) return st;
    if (dim->sparse) {
      if ((st = check_csr(d, dim, i, positions, size))) return st;
      positions = dim->n_indices;
    } else {
      if (dim->dense_size != size)
        return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparse level %d has dense size %d, the "
                               "shape gives %d", i, (int)dim->dense_size, (int)size);
      positions *= (uint64_t)size; /* at most the tensor's element count */
    }
  }
  *stored = positions;
  return TFL_OK;
}

static tfl_status decode_sparsity(tfl_decoder *d, fb_table t, tfl_model_tensor *out,
                                  uint64_t *stored) {
  fb_table s = fb_subtable(t, TFLITE_TENSOR_SPARSITY);
  if (!fb_table_present(s)) return TFL_OK;
  tfl_sparsity *sp = tfl_decode_alloc(d, 1, sizeof(*sp));
  if (!sp) return TFL_OUT_OF_MEMORY;
  out->sparsity = sp;
  fb_vector order = fb_vec(s, TFLITE_SPARSITY_TRAVERSAL);
  fb_vector dims = fb_vec(s, TFLITE_SPARSITY_DIMS);
  fb_vector block_map = fb_vec(s, TFLITE_SPARSITY_BLOCK_MAP);
  if (!order.data || !dims.data)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparsity without traversal_order or "
                           "dim_metadata");
  if (order.len != dims.len || block_map.len > (uint32_t)out->ndim ||
      order.len != (uint32_t)out->ndim + block_map.len)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "sparsity has %u levels and %u blocks for a "
                           "%d-D tensor", order.len, block_map.len, out->ndim);
  tfl_status st;
  if ((st = tfl_decode_ivec(d, order, &sp->traversal_order, &sp->n_traversal)) ||
      (st = tfl_decode_ivec(d, block_map, &sp->block_map, &sp->n_block_map)) ||
      (st = check_orders(d, sp, out->ndim)) || (st = decode_levels(d, s, sp)))
    return st;
  return check_levels(d, sp, out, stored);
}

/* --- data ---------------------------------------------------------------------------- */

static tfl_status decode_data(tfl_decoder *d, fb_table t, tfl_model_tensor *out,
                              uint64_t elements) {
  if (fb_u32(t, TFLITE_TENSOR_EXTERNAL_BUFFER, 0))
    return tfl_decode_fail(d, TFL_UNSUPPORTED, "data in an external buffer is not supported");
  out->buffer = fb_u32(t, TFLITE_TENSOR_BUFFER, 0);
  if (!out->buffer) return TFL_OK;
  if (out->buffer >= d->buffers.len)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "buffer %u out of range (%u buffers)",
                           out->buffer, d->buffers.len);
  tfl_status st = tfl_decode_buffer(d, out->buffer, &out->data, &out->data_size);
  if (st) return st;
  if (out->data && out->data_size == 0 && elements != 0) out->data = NULL;
  if (out->data && out->is_variable)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "a variable tensor cannot have constant data");
  return TFL_OK;
}

static tfl_status check_string_data(tfl_decoder *d, const tfl_model_tensor *out,
                                    uint64_t count) {
  const char *why = tfl_string_data_check(out->data, out->data_size, count);
  if (!why) return TFL_OK;
  return tfl_decode_fail(d, TFL_INVALID_MODEL, "string constant of %zu bytes for %llu strings: %s",
                         out->data_size, (unsigned long long)count, why);
}

/* A constant of a fixed-size type must hold exactly `count` values (packed for sub-byte
 * types), a string constant a valid encoding of `count` strings; resources and variants hold
 * whatever their encoding needs. */
static tfl_status check_data_size(tfl_decoder *d, const tfl_model_tensor *out, uint64_t count) {
  size_t size = tfl_type_size(out->type);
  unsigned bits = packed_bits(out->type);
  int opaque = out->type == TFL_RESOURCE || out->type == TFL_VARIANT;
  if (out->data && out->type == TFL_STRING && !out->sparsity)
    return check_string_data(d, out, count);
  if (!out->data || opaque || (!size && !bits)) return TFL_OK;
  uint64_t need = bits ? count / 8 * bits + ((count % 8) * bits + 7) / 8 : count * size;
  if (out->data_size != need)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "constant data has %zu bytes, but %llu %s%s "
                           "values need %llu", out->data_size, (unsigned long long)count,
                           out->sparsity ? "stored " : "", tfl_type_name(out->type),
                           (unsigned long long)need);
  return TFL_OK;
}

tfl_status tfl_decode_tensor(tfl_decoder *d, fb_table t, int n_tensors, tfl_model_tensor *out) {
  tfl_status st;
  out->name = fb_string(t, TFLITE_TENSOR_NAME, NULL);
  if (!out->name) out->name = "";
  int type = fb_i8(t, TFLITE_TENSOR_TYPE, 0);
  if (type < 0 || type >= TFL_TYPE_COUNT)
    return tfl_decode_fail(d, TFL_UNSUPPORTED, "unknown tensor type %d", type);
  out->type = (tfl_type)type;
  out->is_variable = fb_bool(t, TFLITE_TENSOR_IS_VARIABLE, 0);
  uint64_t elements = 0;
  if ((st = decode_shape(d, t, out, &elements))) return st;
  /* Element bytes must fit size_t too (strings and sub-byte types have no fixed size). */
  size_t elem = tfl_type_size(out->type);
  if (elem && elements > SIZE_MAX / elem)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "the tensor's byte size overflows");
  uint64_t stored = elements;
  if ((st = decode_data(d, t, out, elements)) || (st = decode_quant(d, t, n_tensors, out)) ||
      (st = decode_sparsity(d, t, out, &stored)))
    return st;
  return check_data_size(d, out, stored);
}
