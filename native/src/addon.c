/*
 * Node-API surface of swamp's native kernels. Every array argument is a Float32Array plus an
 * element offset, so the JavaScript side can pass views of the wasm backend's heap and no tensor
 * is copied. Context-aware (NAPI_MODULE_INIT): each worker thread gets its own instance, with its
 * own scratch memory; BLAS itself is loaded once per process.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "blas.h"
#include "conv.h"
#include "elementwise.h"
#include "epilogue.h"
#include "pool.h"
#include "reduce.h"
#include "sparse_conv.h"
#include "sparse_mlp.h"
#include "sparse_mlp_train.h"
#include "sparse_convnet.h"

#define MAX_ARGS 26

typedef struct {
  swamp_scratch scratch;
} instance_state;

static void finalize_instance(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  instance_state *state = (instance_state *)data;
  free(state->scratch.data);
  free(state);
}

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  const char *function;
  int failed;
} call;

static int begin(napi_env env, napi_callback_info info, const char *function, size_t required, call *c) {
  c->env = env;
  c->function = function;
  c->failed = 0;
  c->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "swamp native: cannot read arguments");
    return -1;
  }
  if (c->argc > MAX_ARGS) {
    char message[160];
    snprintf(message, sizeof message, "swamp native %s: at most %d arguments, got %zu", function, MAX_ARGS, c->argc);
    napi_throw_type_error(env, NULL, message);
    return -1;
  }
  if (c->argc < required) {
    char message[160];
    snprintf(message, sizeof message, "swamp native %s: expected %zu arguments, got %zu", function,
             required, c->argc);
    napi_throw_type_error(env, NULL, message);
    return -1;
  }
  return 0;
}

static void fail(call *c, int range, const char *what, const char *why) {
  if (c->failed) return;
  c->failed = 1;
  char message[256];
  snprintf(message, sizeof message, "swamp native %s: %s %s", c->function, what, why);
  if (range) {
    napi_throw_range_error(c->env, NULL, message);
  } else {
    napi_throw_type_error(c->env, NULL, message);
  }
}

static int64_t arg_int(call *c, size_t index, const char *name, int64_t min, int64_t max) {
  if (c->failed) return 0;
  napi_valuetype type;
  napi_typeof(c->env, c->argv[index], &type);
  if (type != napi_number) {
    fail(c, 0, name, "must be a number");
    return 0;
  }
  double value;
  napi_get_value_double(c->env, c->argv[index], &value);
  if (value != (double)(int64_t)value) {
    fail(c, 1, name, "must be an integer");
    return 0;
  }
  if ((int64_t)value < min || (int64_t)value > max) {
    fail(c, 1, name, "is out of range");
    return 0;
  }
  return (int64_t)value;
}

/* The element count a·b·c, refused when no array could be that long (beyond 2^53 elements), so
 * the bounds checks that use it cannot be fooled by an overflow. */
static size_t element_count(call *c, const char *what, int64_t a, int64_t b, int64_t d) {
  if (c->failed) return 0;
  const double count = (double)a * (double)b * (double)d;
  if (count > 9007199254740992.0) {
    fail(c, 1, what, "is too large");
    return 0;
  }
  return (size_t)a * (size_t)b * (size_t)d;
}

static float arg_float(call *c, size_t index, const char *name) {
  if (c->failed) return 0.0f;
  double value;
  if (napi_get_value_double(c->env, c->argv[index], &value) != napi_ok) {
    fail(c, 0, name, "must be a number");
    return 0.0f;
  }
  return (float)value;
}

static int arg_bool(call *c, size_t index, const char *name) {
  if (c->failed) return 0;
  bool value;
  if (napi_get_value_bool(c->env, c->argv[index], &value) != napi_ok) {
    fail(c, 0, name, "must be a boolean");
    return 0;
  }
  return value ? 1 : 0;
}

static int arg_is_nullish(call *c, size_t index) {
  if (index >= c->argc) return 1;
  napi_valuetype type;
  napi_typeof(c->env, c->argv[index], &type);
  return type == napi_null || type == napi_undefined;
}

/* A Float32Array argument and an element offset into it, checked to hold `needed` elements. */
static float *arg_floats(call *c, size_t array_index, size_t offset_index, size_t needed, const char *name) {
  if (c->failed) return NULL;
  bool is_typed_array = false;
  napi_is_typedarray(c->env, c->argv[array_index], &is_typed_array);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (!is_typed_array ||
      napi_get_typedarray_info(c->env, c->argv[array_index], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    fail(c, 0, name, "must be a Float32Array");
    return NULL;
  }
  int64_t offset = arg_int(c, offset_index, name, 0, INT64_MAX);
  if (c->failed) return NULL;
  if ((size_t)offset > length || needed > length - (size_t)offset) {
    char why[160];
    snprintf(why, sizeof why, "is too short: %zu elements needed from offset %lld, array has %zu",
             needed, (long long)offset, length);
    fail(c, 1, name, why);
    return NULL;
  }
  return (float *)data + offset;
}

/* An Int32Array of kept-weight indices and the count of them to use, each index checked to lie
 * in [0, limit) so no kernel can be led outside its arrays. */
static const int32_t *arg_kept(call *c, size_t array_index, size_t count_index, size_t limit, size_t *count) {
  *count = 0;
  if (c->failed) return NULL;
  bool is_typed_array = false;
  napi_is_typedarray(c->env, c->argv[array_index], &is_typed_array);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (!is_typed_array ||
      napi_get_typedarray_info(c->env, c->argv[array_index], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    fail(c, 0, "kept", "must be an Int32Array");
    return NULL;
  }
  const int64_t n = arg_int(c, count_index, "keptCount", 0, (int64_t)length);
  if (c->failed) return NULL;
  const int32_t *kept = (const int32_t *)data;
  for (int64_t i = 0; i < n; i++) {
    if (kept[i] < 0 || (size_t)kept[i] >= limit) {
      fail(c, 1, "kept", "holds an index outside the weights");
      return NULL;
    }
  }
  *count = (size_t)n;
  return kept;
}

static void arg_geometry(call *c, size_t index, swamp_conv_geometry *g) {
  if (c->failed) return;
  bool is_typed_array = false;
  napi_is_typedarray(c->env, c->argv[index], &is_typed_array);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (!is_typed_array ||
      napi_get_typedarray_info(c->env, c->argv[index], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length != SWAMP_CONV_GEOMETRY_FIELDS) {
    fail(c, 0, "geometry", "must be an Int32Array of 15 fields");
    return;
  }
  memcpy(g, data, sizeof *g);
  const char *error = swamp_conv_geometry_error(g);
  if (error != NULL) fail(c, 1, "geometry:", error);
}

/* Optional trailing epilogue arguments: bias, biasOffset, biasSize, activation, leakyreluAlpha,
 * prelu, preluOffset, preluSize. */
static void arg_epilogue(call *c, size_t first, size_t cols, swamp_epilogue *e) {
  memset(e, 0, sizeof *e);
  e->activation = SWAMP_ACTIVATION_LINEAR;
  if (c->failed || c->argc <= first) return;
  if (!arg_is_nullish(c, first)) {
    e->bias_size = (size_t)arg_int(c, first + 2, "biasSize", 1, INT32_MAX);
    if (!c->failed && e->bias_size != 1 && e->bias_size != cols) fail(c, 1, "biasSize", "must be 1 or the column count");
    e->bias = arg_floats(c, first, first + 1, e->bias_size, "bias");
  }
  if (c->argc > first + 3) {
    e->activation = (swamp_activation)arg_int(c, first + 3, "activation", 0, 6);
    if (c->argc > first + 4) e->leakyrelu_alpha = arg_float(c, first + 4, "leakyreluAlpha");
  }
  if (e->activation == SWAMP_ACTIVATION_PRELU) {
    if (arg_is_nullish(c, first + 5)) {
      fail(c, 0, "prelu", "weights are required for the prelu activation");
      return;
    }
    e->prelu_size = (size_t)arg_int(c, first + 7, "preluSize", 1, INT32_MAX);
    if (!c->failed && e->prelu_size != 1 && e->prelu_size != cols) fail(c, 1, "preluSize", "must be 1 or the column count");
    e->prelu = arg_floats(c, first + 5, first + 6, e->prelu_size, "prelu");
  }
}

static swamp_sgemm_fn require_blas(call *c) {
  swamp_sgemm_fn sgemm = swamp_blas_sgemm();
  if (sgemm == NULL && !c->failed) {
    c->failed = 1;
    napi_throw_error(c->env, NULL, "swamp native: BLAS is not loaded (call initBlas first)");
  }
  return sgemm;
}

static instance_state *state_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return (instance_state *)data;
}

static napi_value string_value(napi_env env, const char *text) {
  napi_value value;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value);
  return value;
}

/* initBlas(candidates: string[], coreType: string | null) -> { library, coreName, config } */
static napi_value init_blas(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "initBlas", 1, &c) != 0) return NULL;
  bool is_array = false;
  napi_is_array(env, c.argv[0], &is_array);
  if (!is_array) {
    fail(&c, 0, "candidates", "must be an array of library names");
    return NULL;
  }
  uint32_t count = 0;
  napi_get_array_length(env, c.argv[0], &count);
  if (count > 16) count = 16;
  char names[16][512];
  const char *pointers[16];
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    napi_get_element(env, c.argv[0], i, &element);
    size_t written = 0;
    if (napi_get_value_string_utf8(env, element, names[i], sizeof names[i], &written) != napi_ok) {
      fail(&c, 0, "candidates", "must hold strings");
      return NULL;
    }
    pointers[i] = names[i];
  }
  char core_type[64] = "";
  if (!arg_is_nullish(&c, 1)) {
    size_t written = 0;
    if (napi_get_value_string_utf8(env, c.argv[1], core_type, sizeof core_type, &written) != napi_ok) {
      fail(&c, 0, "coreType", "must be a string");
      return NULL;
    }
  }
  swamp_blas_info blas;
  char error[512];
  if (swamp_blas_load(pointers, (int)count, core_type[0] ? core_type : NULL, &blas, error, sizeof error) != 0) {
    char message[600];
    snprintf(message, sizeof message, "no usable BLAS: %s", error);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "library", string_value(env, blas.library));
  napi_set_named_property(env, result, "coreName", string_value(env, blas.core_name));
  napi_set_named_property(env, result, "config", string_value(env, blas.config));
  return result;
}

static size_t matrix_extent(int64_t rows, int64_t cols, int64_t ld) {
  return rows == 0 || cols == 0 ? 0 : (size_t)((rows - 1) * ld + cols);
}

/* sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc):
 * row-major C = alpha·op(A)·op(B) + beta·C. */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "sgemm", 16, &c) != 0) return NULL;
  const int trans_a = arg_bool(&c, 0, "transA");
  const int trans_b = arg_bool(&c, 1, "transB");
  const int64_t m = arg_int(&c, 2, "m", 0, INT32_MAX);
  const int64_t n = arg_int(&c, 3, "n", 0, INT32_MAX);
  const int64_t k = arg_int(&c, 4, "k", 0, INT32_MAX);
  const float alpha = arg_float(&c, 5, "alpha");
  const int64_t lda = arg_int(&c, 8, "lda", 1, INT32_MAX);
  const int64_t ldb = arg_int(&c, 11, "ldb", 1, INT32_MAX);
  const float beta = arg_float(&c, 12, "beta");
  const int64_t ldc = arg_int(&c, 15, "ldc", 1, INT32_MAX);
  if (c.failed) return NULL;
  const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  if (lda < a_cols) fail(&c, 1, "lda", "is smaller than A's row length");
  if (ldb < b_cols) fail(&c, 1, "ldb", "is smaller than B's row length");
  if (ldc < n) fail(&c, 1, "ldc", "is smaller than n");
  const float *a = arg_floats(&c, 6, 7, matrix_extent(a_rows, a_cols, lda), "a");
  const float *b = arg_floats(&c, 9, 10, matrix_extent(b_rows, b_cols, ldb), "b");
  float *out = arg_floats(&c, 13, 14, matrix_extent(m, n, ldc), "c");
  swamp_sgemm_fn gemm = require_blas(&c);
  if (c.failed) return NULL;
  if (m > 0 && n > 0) {
    gemm(SWAMP_CBLAS_ROW_MAJOR, trans_a ? SWAMP_CBLAS_TRANS : SWAMP_CBLAS_NO_TRANS,
         trans_b ? SWAMP_CBLAS_TRANS : SWAMP_CBLAS_NO_TRANS, (int)m, (int)n, (int)k, alpha,
         a, (int)lda, b, (int)ldb, beta, out, (int)ldc);
  }
  return NULL;
}

/* batchMatMul(transA, transB, m, n, k, batch, a, aOffset, aBatchStride, b, bOffset, bBatchStride,
 *             c, cOffset, [epilogue...]): densely packed matrices, C[i] = op(A[i])·op(B[i]);
 * a batch stride of 0 broadcasts that operand. The epilogue applies bias/activation to C. */
static napi_value batch_mat_mul(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "batchMatMul", 14, &c) != 0) return NULL;
  const int trans_a = arg_bool(&c, 0, "transA");
  const int trans_b = arg_bool(&c, 1, "transB");
  const int64_t m = arg_int(&c, 2, "m", 0, INT32_MAX);
  const int64_t n = arg_int(&c, 3, "n", 0, INT32_MAX);
  const int64_t k = arg_int(&c, 4, "k", 0, INT32_MAX);
  const int64_t batch = arg_int(&c, 5, "batch", 0, INT32_MAX);
  const int64_t a_stride = arg_int(&c, 8, "aBatchStride", 0, INT64_MAX / 2);
  const int64_t b_stride = arg_int(&c, 11, "bBatchStride", 0, INT64_MAX / 2);
  if (c.failed) return NULL;
  if (a_stride != 0 && a_stride != m * k) fail(&c, 1, "aBatchStride", "must be 0 or m*k");
  if (b_stride != 0 && b_stride != k * n) fail(&c, 1, "bBatchStride", "must be 0 or k*n");
  /* The strides are 0 or one matrix, so an operand spans at most batch matrices. */
  const size_t a_need = batch == 0 ? 0 : element_count(&c, "a", a_stride == 0 ? 1 : batch, m, k);
  const size_t b_need = batch == 0 ? 0 : element_count(&c, "b", b_stride == 0 ? 1 : batch, k, n);
  const float *a = arg_floats(&c, 6, 7, a_need, "a");
  const float *b = arg_floats(&c, 9, 10, b_need, "b");
  float *out = arg_floats(&c, 12, 13, element_count(&c, "c", batch, m, n), "c");
  swamp_epilogue epilogue;
  arg_epilogue(&c, 14, (size_t)n, &epilogue);
  swamp_sgemm_fn gemm = require_blas(&c);
  if (c.failed) return NULL;
  const int lda = trans_a ? (int)m : (int)k;
  const int ldb = trans_b ? (int)k : (int)n;
  for (int64_t i = 0; i < batch; i++) {
    float *ci = out + (size_t)(i * m * n);
    if (m == 0 || n == 0) continue;
    if (k == 0) {
      memset(ci, 0, (size_t)(m * n) * sizeof(float));
    } else {
      gemm(SWAMP_CBLAS_ROW_MAJOR, trans_a ? SWAMP_CBLAS_TRANS : SWAMP_CBLAS_NO_TRANS,
           trans_b ? SWAMP_CBLAS_TRANS : SWAMP_CBLAS_NO_TRANS, (int)m, (int)n, (int)k, 1.0f,
           a + (size_t)(a_stride * i), lda, b + (size_t)(b_stride * i), ldb, 0.0f, ci, (int)n);
    }
    swamp_epilogue_apply(&epilogue, ci, (size_t)m, (size_t)n);
  }
  return NULL;
}

/* biasActivation(c, cOffset, rows, cols, [epilogue...]) in place. */
static napi_value bias_activation(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "biasActivation", 4, &c) != 0) return NULL;
  const int64_t rows = arg_int(&c, 2, "rows", 0, INT32_MAX);
  const int64_t cols = arg_int(&c, 3, "cols", 0, INT32_MAX);
  float *out = arg_floats(&c, 0, 1, element_count(&c, "c", rows, cols, 1), "c");
  swamp_epilogue epilogue;
  arg_epilogue(&c, 4, (size_t)cols, &epilogue);
  if (c.failed) return NULL;
  swamp_epilogue_apply(&epilogue, out, (size_t)rows, (size_t)cols);
  return NULL;
}

/* im2col(geometry, x, xOffset, rowStart, rowCount, col, colOffset) */
static napi_value im2col(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "im2col", 7, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const int64_t row_start = arg_int(&c, 3, "rowStart", 0, (int64_t)swamp_conv_rows(&g));
  const int64_t row_count = arg_int(&c, 4, "rowCount", 0, (int64_t)swamp_conv_rows(&g) - row_start);
  const float *x = arg_floats(&c, 1, 2, swamp_conv_input_size(&g), "x");
  float *col = arg_floats(&c, 5, 6, (size_t)row_count * swamp_conv_columns(&g), "col");
  if (c.failed) return NULL;
  swamp_im2col(&g, x, (size_t)row_start, (size_t)row_count, col);
  return NULL;
}

/* col2im(geometry, col, colOffset, rowStart, rowCount, dx, dxOffset): adds into dx. */
static napi_value col2im(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "col2im", 7, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const int64_t row_start = arg_int(&c, 3, "rowStart", 0, (int64_t)swamp_conv_rows(&g));
  const int64_t row_count = arg_int(&c, 4, "rowCount", 0, (int64_t)swamp_conv_rows(&g) - row_start);
  const float *col = arg_floats(&c, 1, 2, (size_t)row_count * swamp_conv_columns(&g), "col");
  float *dx = arg_floats(&c, 5, 6, swamp_conv_input_size(&g), "dx");
  if (c.failed) return NULL;
  swamp_col2im(&g, col, (size_t)row_start, (size_t)row_count, dx);
  return NULL;
}

static void out_of_memory(call *c) {
  c->failed = 1;
  napi_throw_error(c->env, NULL, "swamp native: out of memory for convolution scratch space");
}

/* conv2d(geometry, x, xOffset, filter, filterOffset, y, yOffset, [epilogue...]) */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "conv2d", 7, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const float *x = arg_floats(&c, 1, 2, swamp_conv_input_size(&g), "x");
  const float *filter = arg_floats(&c, 3, 4, swamp_conv_filter_size(&g), "filter");
  float *y = arg_floats(&c, 5, 6, swamp_conv_output_size(&g), "y");
  swamp_epilogue epilogue;
  arg_epilogue(&c, 7, (size_t)g.out_channels, &epilogue);
  swamp_sgemm_fn gemm = require_blas(&c);
  if (c.failed) return NULL;
  if (swamp_conv2d(&g, gemm, &state_of(env)->scratch, x, filter, y, &epilogue) != 0) out_of_memory(&c);
  return NULL;
}

/* conv2dBackpropInput(geometry, dy, dyOffset, filter, filterOffset, dx, dxOffset) */
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "conv2dBackpropInput", 7, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const float *dy = arg_floats(&c, 1, 2, swamp_conv_output_size(&g), "dy");
  const float *filter = arg_floats(&c, 3, 4, swamp_conv_filter_size(&g), "filter");
  float *dx = arg_floats(&c, 5, 6, swamp_conv_input_size(&g), "dx");
  swamp_sgemm_fn gemm = require_blas(&c);
  if (c.failed) return NULL;
  if (swamp_conv2d_backprop_input(&g, gemm, &state_of(env)->scratch, dy, filter, dx) != 0) out_of_memory(&c);
  return NULL;
}

/* conv2dBackpropFilter(geometry, x, xOffset, dy, dyOffset, dfilter, dfilterOffset) */
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "conv2dBackpropFilter", 7, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const float *x = arg_floats(&c, 1, 2, swamp_conv_input_size(&g), "x");
  const float *dy = arg_floats(&c, 3, 4, swamp_conv_output_size(&g), "dy");
  float *dfilter = arg_floats(&c, 5, 6, swamp_conv_filter_size(&g), "dfilter");
  swamp_sgemm_fn gemm = require_blas(&c);
  if (c.failed) return NULL;
  if (swamp_conv2d_backprop_filter(&g, gemm, &state_of(env)->scratch, x, dy, dfilter) != 0) out_of_memory(&c);
  return NULL;
}

/* The geometry, and a refusal naming why, when the sparse kernels cannot compute it. */
static void arg_sparse_geometry(call *c, size_t index, swamp_conv_geometry *g) {
  arg_geometry(c, index, g);
  if (!c->failed && !swamp_sparse_conv_suits(g))
    fail(c, 1, "geometry:", "the sparse kernels need stride 1, dilation 1 and padding within the filter");
}

/* Reports a sparse kernel's failure: -1 out of memory, -2 a kept list in the wrong order. */
static int sparse_failed(call *c, int status) {
  if (status == -1) out_of_memory(c);
  if (status == -2) fail(c, 1, "kept", "is not grouped by the channel this kernel needs, ascending within a group");
  return status != 0;
}

/* sparseConv2d(geometry, x, xOffset, filter, filterOffset, kept, keptCount, y, yOffset, [epilogue...]);
 * kept: the kept weights' flat filter indices, ascending (see sparse_conv.h). */
static napi_value sparse_conv2d(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "sparseConv2d", 9, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_sparse_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const float *x = arg_floats(&c, 1, 2, swamp_conv_input_size(&g), "x");
  const float *filter = arg_floats(&c, 3, 4, swamp_conv_filter_size(&g), "filter");
  size_t count;
  const int32_t *kept = arg_kept(&c, 5, 6, swamp_conv_filter_size(&g), &count);
  float *y = arg_floats(&c, 7, 8, swamp_conv_output_size(&g), "y");
  swamp_epilogue epilogue;
  arg_epilogue(&c, 9, (size_t)g.out_channels, &epilogue);
  if (c.failed) return NULL;
  if (sparse_failed(&c, swamp_sparse_conv2d(&g, &state_of(env)->scratch, x, filter, kept, count, y))) return NULL;
  swamp_epilogue_apply(&epilogue, y, swamp_conv_rows(&g), (size_t)g.out_channels);
  return NULL;
}

/* sparseConv2dBackpropInput(geometry, dy, dyOffset, filter, filterOffset, kept, keptCount, dx, dxOffset) */
static napi_value sparse_conv2d_backprop_input(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "sparseConv2dBackpropInput", 9, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_sparse_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const float *dy = arg_floats(&c, 1, 2, swamp_conv_output_size(&g), "dy");
  const float *filter = arg_floats(&c, 3, 4, swamp_conv_filter_size(&g), "filter");
  size_t count;
  const int32_t *kept = arg_kept(&c, 5, 6, swamp_conv_filter_size(&g), &count);
  float *dx = arg_floats(&c, 7, 8, swamp_conv_input_size(&g), "dx");
  if (c.failed) return NULL;
  sparse_failed(&c, swamp_sparse_conv2d_backprop_input(&g, &state_of(env)->scratch, dy, filter, kept, count, dx));
  return NULL;
}

/* sparseConv2dBackpropFilter(geometry, x, xOffset, dy, dyOffset, kept, keptCount, dfilter, dfilterOffset) */
static napi_value sparse_conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "sparseConv2dBackpropFilter", 9, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_sparse_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  const float *x = arg_floats(&c, 1, 2, swamp_conv_input_size(&g), "x");
  const float *dy = arg_floats(&c, 3, 4, swamp_conv_output_size(&g), "dy");
  size_t count;
  const int32_t *kept = arg_kept(&c, 5, 6, swamp_conv_filter_size(&g), &count);
  float *dfilter = arg_floats(&c, 7, 8, swamp_conv_filter_size(&g), "dfilter");
  if (c.failed) return NULL;
  sparse_failed(&c, swamp_sparse_conv2d_backprop_filter(&g, &state_of(env)->scratch, x, dy, kept, count, dfilter));
  return NULL;
}

/* A typed array argument of the given type, whole. */
static void *arg_typed(call *c, size_t index, napi_typedarray_type want, const char *name, const char *what, size_t *length) {
  *length = 0;
  if (c->failed) return NULL;
  bool is_typed_array = false;
  napi_is_typedarray(c->env, c->argv[index], &is_typed_array);
  napi_typedarray_type type;
  void *data = NULL;
  if (!is_typed_array || napi_get_typedarray_info(c->env, c->argv[index], &type, length, &data, NULL, NULL) != napi_ok || type != want) {
    fail(c, 0, name, what);
    return NULL;
  }
  return data;
}

/* A layer's kept weights at the read positions: its row starts and kept indices (outputs + 1 + kept
 * Int32s) and its kept weights and bias (kept + outputs floats) must remain, and the row starts must
 * span the kept weights in order. Returns the error, or NULL. */
static const char *check_kept_rows(const int32_t *indices, size_t index_count, size_t at_index, size_t float_count, size_t at_float,
                                   int32_t outputs, int32_t kept) {
  if (at_index > index_count || index_count - at_index < (size_t)outputs + 1 + (size_t)kept) return "indices are shorter than the structure needs";
  if (at_float > float_count || float_count - at_float < (size_t)kept + (size_t)outputs) return "floats are shorter than the structure needs";
  const int32_t *start = indices + at_index;
  if (start[0] != 0 || start[outputs] != kept) return "indices hold row starts that do not span the kept weights";
  for (int32_t o = 0; o < outputs; o++) {
    if (start[o + 1] < start[o]) return "indices hold decreasing row starts";
  }
  return NULL;
}

/* Reads and checks a sparse MLP plan (layout in sparseMlpForward's comment); returns the error, or NULL. */
static const char *read_sparse_mlp(const int32_t *structure, size_t structure_length, const int32_t *indices, size_t index_count,
                                   const float *floats, size_t float_count, swamp_sparse_mlp *plan) {
  if (structure_length < 3) return "structure is shorter than its header";
  const int32_t input_width = structure[0], gather_count = structure[1], layer_count = structure[2];
  /* A tile's gather addresses its examples by 32-bit offsets. */
  if (input_width < 0 || input_width > INT32_MAX / 32 || gather_count < 0 || layer_count < 1 || layer_count > SWAMP_SPARSE_MLP_MAX_LAYERS)
    return "structure's header is out of range (1 to 32 layers)";
  if (structure_length != 3 + 3 * (size_t)layer_count + (size_t)gather_count) return "structure's length does not match its header";
  plan->input_width = (size_t)input_width;
  plan->gather_count = (size_t)gather_count;
  plan->layer_count = (size_t)layer_count;
  plan->gather = structure + 3 + 3 * layer_count;
  for (int32_t j = 0; j < gather_count; j++) {
    if (plan->gather[j] < 0 || plan->gather[j] >= input_width) return "structure gathers an input column outside the input";
  }
  size_t at_index = 0, at_float = 0, inputs = (size_t)gather_count;
  for (int32_t l = 0; l < layer_count; l++) {
    const int32_t outputs = structure[3 + 3 * l], relu = structure[4 + 3 * l], kept = structure[5 + 3 * l];
    if (outputs < 1 || kept < 0 || (relu != 0 && relu != 1)) return "structure holds a layer out of range";
    const char *rows = check_kept_rows(indices, index_count, at_index, float_count, at_float, outputs, kept);
    if (rows != NULL) return rows;
    swamp_sparse_mlp_layer *layer = &plan->layers[l];
    layer->outputs = (size_t)outputs;
    layer->relu = relu;
    layer->row_start = indices + at_index;
    layer->columns = indices + at_index + outputs + 1;
    layer->weights = floats + at_float;
    layer->bias = floats + at_float + kept;
    for (int32_t e = 0; e < kept; e++) {
      if (layer->columns[e] < 0 || (size_t)layer->columns[e] >= inputs) return "indices hold a column outside the layer's inputs";
    }
    at_index += (size_t)outputs + 1 + (size_t)kept;
    at_float += (size_t)kept + (size_t)outputs;
    inputs = (size_t)outputs;
  }
  if (at_index != index_count || at_float != float_count) return "indices or floats are longer than the structure describes";
  return NULL;
}

/* sparseMlpForward(structure, indices, floats, x, xOffset, batch, y, yOffset): y [batch, outputs] of
 * a pruned chain of Dense layers on x [batch, inputWidth]. structure (Int32Array): inputWidth,
 * gatherCount, layerCount, then per layer outputs, relu 0 | 1, keptCount, then the gathered input
 * columns; indices (Int32Array): per layer its row starts (outputs + 1) then its kept weights'
 * columns; floats (Float32Array): per layer its kept weights then its bias. */
static napi_value sparse_mlp_forward(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "sparseMlpForward", 8, &c) != 0) return NULL;
  size_t structure_length, index_count, float_count;
  const int32_t *structure = arg_typed(&c, 0, napi_int32_array, "structure", "must be an Int32Array", &structure_length);
  const int32_t *indices = arg_typed(&c, 1, napi_int32_array, "indices", "must be an Int32Array", &index_count);
  const float *floats = arg_typed(&c, 2, napi_float32_array, "floats", "must be a Float32Array", &float_count);
  if (c.failed) return NULL;
  swamp_sparse_mlp plan;
  const char *error = read_sparse_mlp(structure, structure_length, indices, index_count, floats, float_count, &plan);
  if (error != NULL) {
    fail(&c, 1, "plan:", error);
    return NULL;
  }
  const int64_t batch = arg_int(&c, 5, "batch", 0, INT32_MAX);
  const float *x = arg_floats(&c, 3, 4, element_count(&c, "x", batch, (int64_t)plan.input_width, 1), "x");
  float *y = arg_floats(&c, 6, 7, element_count(&c, "y", batch, (int64_t)plan.layers[plan.layer_count - 1].outputs, 1), "y");
  if (c.failed) return NULL;
  if (swamp_sparse_mlp_forward(&plan, &state_of(env)->scratch, x, (size_t)batch, y) != 0) out_of_memory(&c);
  return NULL;
}

static void out_of_memory_in(call *c, const char *function);

/* Reads and checks a sparse MLP training plan (layout in sparseMlpTrainStep's comment) over the
 * weights in `heap`; returns the error, or NULL. */
static const char *read_mlp_train_plan(const int32_t *structure, size_t structure_length, const int32_t *indices, size_t index_count,
                                       float *heap, size_t heap_length, const int32_t *offsets, size_t offset_count, float *velocities,
                                       size_t velocity_count, swamp_mlp_train_plan *plan) {
  if (structure_length < 3) return "structure is shorter than its header";
  const int32_t input_width = structure[0], gather_count = structure[1], layer_count = structure[2];
  if (input_width < 1 || gather_count < 0 || gather_count > input_width || layer_count < 1 || layer_count > SWAMP_MLP_TRAIN_MAX_LAYERS)
    return "structure's header is out of range (1 to 32 layers)";
  if (structure_length != 3 + 5 * (size_t)layer_count + (size_t)gather_count) return "structure's length does not match its header";
  if (offset_count != 2 * (size_t)layer_count) return "offsets must hold a kernel and a bias offset per layer";
  plan->input_width = (size_t)input_width;
  plan->gather_count = (size_t)gather_count;
  plan->layer_count = (size_t)layer_count;
  plan->gather = structure + 3 + 5 * layer_count;
  for (int32_t j = 0; j < gather_count; j++) {
    if (plan->gather[j] < 0 || plan->gather[j] >= input_width || (j > 0 && plan->gather[j] <= plan->gather[j - 1]))
      return "structure gathers input columns that are not ascending within the input";
  }
  size_t at_index = 0, at_velocity = 0, width = (size_t)input_width;
  for (int32_t l = 0; l < layer_count; l++) {
    const int32_t *fields = structure + 3 + 5 * l;
    const int32_t inputs = fields[0], outputs = fields[1], relu = fields[2], kept = fields[3], dense = fields[4];
    if (inputs < 1 || outputs < 1 || kept < 0 || (relu != 0 && relu != 1) || (dense != 0 && dense != 1)) return "structure holds a layer out of range";
    if (l == 0 && dense && gather_count != input_width) return "structure holds a dense first layer that does not gather every input column";
    if ((size_t)inputs != width) return "structure holds a layer whose inputs are not the previous layer's outputs";
    if (at_index > index_count || index_count - at_index < (size_t)outputs + 1 + (size_t)kept) return "indices are shorter than the structure needs";
    const int32_t *start = indices + at_index;
    if (start[0] != 0 || start[outputs] != kept) return "indices hold row starts that do not span the kept weights";
    const size_t readable = l == 0 ? (size_t)gather_count : (size_t)inputs;
    const int32_t *columns = indices + at_index + outputs + 1;
    for (int32_t o = 0; o < outputs; o++) {
      if (start[o + 1] < start[o]) return "indices hold decreasing row starts";
      for (int32_t e = start[o]; e < start[o + 1]; e++) {
        if (columns[e] < 0 || (size_t)columns[e] >= readable || (e > start[o] && columns[e] <= columns[e - 1]))
          return "indices hold a row whose columns are not ascending within the layer's inputs";
      }
    }
    const int64_t kernel_at = offsets[2 * l], bias_at = offsets[2 * l + 1];
    const size_t kernel_size = (size_t)inputs * (size_t)outputs;
    if (kernel_at < 0 || (size_t)kernel_at > heap_length || heap_length - (size_t)kernel_at < kernel_size) return "offsets place a kernel outside the heap";
    if (bias_at < 0 || (size_t)bias_at > heap_length || heap_length - (size_t)bias_at < (size_t)outputs) return "offsets place a bias outside the heap";
    if (at_velocity > velocity_count || velocity_count - at_velocity < (size_t)kept + (size_t)outputs) return "velocities are shorter than the structure needs";
    swamp_mlp_train_layer *layer = &plan->layers[l];
    layer->inputs = (size_t)inputs;
    layer->outputs = (size_t)outputs;
    layer->relu = relu;
    layer->dense = dense;
    layer->row_start = start;
    layer->columns = columns;
    layer->kernel = heap + kernel_at;
    layer->bias = heap + bias_at;
    layer->velocity = velocities + at_velocity;
    at_index += (size_t)outputs + 1 + (size_t)kept;
    at_velocity += (size_t)kept + (size_t)outputs;
    width = (size_t)outputs;
  }
  if (at_index != index_count || at_velocity != velocity_count) return "indices or velocities are longer than the structure describes";
  return NULL;
}

/* sparseMlpTrainStep(structure, indices, heap, offsets, velocities, x, xOffset, rows, labels, count,
 * learningRate, momentum, weightDecay) → the batch's mean loss: one training step of a pruned
 * chain of Dense layers (native/src/sparse_mlp_train.h) on `count` examples, example b being row
 * rows[b] of x [·, inputWidth] from xOffset (rows: an Int32Array, or null for rows 0 to count − 1)
 * with label labels[b], updating the kernels and biases in `heap` and the momentum in `velocities`
 * in place. structure (Int32Array): inputWidth, gatherCount, layerCount, then per layer inputs,
 * outputs, relu 0 | 1, keptCount, dense 0 | 1 (products by BLAS over the whole kernel, whose
 * pruned weights must be zero), then the gathered input columns (ascending); indices
 * (Int32Array): per layer its row starts (outputs + 1) then its kept weights' columns (ascending
 * within a row); offsets (Int32Array): per layer its kernel's [inputs, outputs] and its bias's
 * element offsets in heap (Float32Array); velocities (Float32Array): per layer keptCount then
 * outputs floats. */
static napi_value sparse_mlp_train_step(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "sparseMlpTrainStep", 13, &c) != 0) return NULL;
  size_t structure_length, index_count, heap_length, offset_count, velocity_count, label_count, row_count = 0;
  const int32_t *structure = arg_typed(&c, 0, napi_int32_array, "structure", "must be an Int32Array", &structure_length);
  const int32_t *indices = arg_typed(&c, 1, napi_int32_array, "indices", "must be an Int32Array", &index_count);
  float *heap = arg_typed(&c, 2, napi_float32_array, "heap", "must be a Float32Array", &heap_length);
  const int32_t *offsets = arg_typed(&c, 3, napi_int32_array, "offsets", "must be an Int32Array", &offset_count);
  float *velocities = arg_typed(&c, 4, napi_float32_array, "velocities", "must be a Float32Array", &velocity_count);
  const int32_t *rows = arg_is_nullish(&c, 7) ? NULL : arg_typed(&c, 7, napi_int32_array, "rows", "must be an Int32Array or null", &row_count);
  const int32_t *labels = arg_typed(&c, 8, napi_int32_array, "labels", "must be an Int32Array", &label_count);
  if (c.failed) return NULL;
  swamp_mlp_train_plan plan;
  const char *error = read_mlp_train_plan(structure, structure_length, indices, index_count, heap, heap_length, offsets, offset_count,
                                          velocities, velocity_count, &plan);
  if (error != NULL) {
    fail(&c, 1, "plan:", error);
    return NULL;
  }
  const int64_t count = arg_int(&c, 9, "count", 0, (int64_t)label_count);
  if (c.failed) return NULL;
  if (rows != NULL && (size_t)count > row_count) {
    fail(&c, 1, "rows", "is shorter than count");
    return NULL;
  }
  int64_t needed_rows = count;
  if (rows != NULL) {
    needed_rows = 0;
    for (int64_t b = 0; b < count; b++) {
      if (rows[b] < 0) {
        fail(&c, 1, "rows", "hold a negative row");
        return NULL;
      }
      if (rows[b] + (int64_t)1 > needed_rows) needed_rows = rows[b] + (int64_t)1;
    }
  }
  const float *x = arg_floats(&c, 5, 6, element_count(&c, "x", needed_rows, (int64_t)plan.input_width, 1), "x");
  swamp_sgd_settings sgd;
  sgd.learning_rate = arg_float(&c, 10, "learningRate");
  sgd.momentum = arg_float(&c, 11, "momentum");
  sgd.weight_decay = arg_float(&c, 12, "weightDecay");
  if (c.failed) return NULL;
  const int32_t classes = (int32_t)plan.layers[plan.layer_count - 1].outputs;
  for (int64_t b = 0; b < count; b++) {
    if (labels[b] < 0 || labels[b] >= classes) {
      fail(&c, 1, "labels", "hold a label outside the last layer's outputs");
      return NULL;
    }
  }
  int any_dense = 0;
  for (size_t l = 0; l < plan.layer_count; l++) any_dense |= plan.layers[l].dense;
  const swamp_sgemm_fn gemm = any_dense ? require_blas(&c) : NULL;
  if (c.failed) return NULL;
  double loss;
  if (swamp_sparse_mlp_train_step(&plan, gemm, &state_of(env)->scratch, x, rows, labels, (size_t)count, sgd, &loss) != 0) {
    out_of_memory_in(&c, "sparseMlpTrainStep");
    return NULL;
  }
  napi_value result;
  napi_create_double(env, loss, &result);
  return result;
}

/* Reads and checks a sparse Conv-n plan (layout in sparseConvNetForward's comment); returns the error, or NULL. */
static const char *read_sparse_convnet(const int32_t *structure, size_t structure_length, const int32_t *indices, size_t index_count,
                                       const float *floats, size_t float_count, swamp_sparse_convnet *net) {
  if (structure_length < 4) return "structure is shorter than its header";
  const int32_t height = structure[0], width = structure[1], channels = structure[2], stages = structure[3];
  if (height < 1 || width < 1 || channels < 1 || height > 4096 || width > 4096 || channels > 65536 || stages < 1 ||
      stages > SWAMP_SPARSE_CONVNET_MAX_STAGES)
    return "structure's header is out of range";
  if (structure_length != 4 + 4 * (size_t)stages) return "structure's length does not match its header";
  net->height = (size_t)height;
  net->width = (size_t)width;
  net->channels = (size_t)channels;
  net->stage_count = (size_t)stages;
  size_t at_index = 0, at_float = 0, c = (size_t)channels, h = (size_t)height, w = (size_t)width;
  for (int32_t i = 0; i < stages; i++) {
    const int32_t kind = structure[4 + 4 * i], outputs = structure[5 + 4 * i], relu = structure[6 + 4 * i], kept = structure[7 + 4 * i];
    swamp_sparse_conv_stage *s = &net->stages[i];
    memset(s, 0, sizeof *s);
    if ((kind != 0 && kind != 1) || outputs < 1 || outputs > 65536 || kept < 0 || (relu != 0 && relu != 1)) return "structure holds a stage out of range";
    s->kind = (swamp_stage_kind)kind;
    s->in_channels = c;
    s->out_channels = (size_t)outputs;
    s->height = h;
    s->width = w;
    s->relu = relu;
    if (kind == SWAMP_STAGE_MAXPOOL2X2) {
      if ((size_t)outputs != c || kept != 0 || h < 2 || w < 2) return "structure pools an image under 2×2 or changes channels";
      h /= 2;
      w /= 2;
      continue;
    }
    const char *rows = check_kept_rows(indices, index_count, at_index, float_count, at_float, outputs, kept);
    if (rows != NULL) return rows;
    s->start = indices + at_index;
    s->offset = indices + at_index + outputs + 1;
    s->weights = floats + at_float;
    s->bias = floats + at_float + kept;
    /* A kept weight's run, (h − 1) rows of (w + 2) and w values, must lie inside the input planes. */
    const size_t span = (h - 1) * (w + 2) + w, planes = c * (h + 2) * (w + 2);
    for (int32_t e = 0; e < kept; e++) {
      if (s->offset[e] < 0 || (size_t)s->offset[e] + span > planes) return "indices hold an offset outside the input planes";
    }
    at_index += (size_t)outputs + 1 + (size_t)kept;
    at_float += (size_t)kept + (size_t)outputs;
    c = (size_t)outputs;
  }
  if (at_index != index_count || at_float != float_count) return "indices or floats are longer than the structure describes";
  return NULL;
}

/* sparseConvNetForward(convStructure, convIndices, convFloats, headStructure, headIndices, headFloats,
 * x, xOffset, batch, y, yOffset): y [batch, outputs] of a pruned Conv-n on x [batch, height, width,
 * channels]. convStructure (Int32Array): height, width, channels, stageCount, then per stage kind
 * (0 3×3 same convolution, 1 2×2 max pooling), outChannels, relu 0 | 1, keptCount; convIndices: per
 * convolution its starts (outChannels + 1) then its kept weights' plane offsets; convFloats: per
 * convolution its kept weights then its bias; the head as sparseMlpForward's plan, over the
 * features in NHWC order. */
static napi_value sparse_convnet_forward(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "sparseConvNetForward", 11, &c) != 0) return NULL;
  size_t lengths[6];
  const int32_t *conv_structure = arg_typed(&c, 0, napi_int32_array, "convStructure", "must be an Int32Array", &lengths[0]);
  const int32_t *conv_indices = arg_typed(&c, 1, napi_int32_array, "convIndices", "must be an Int32Array", &lengths[1]);
  const float *conv_floats = arg_typed(&c, 2, napi_float32_array, "convFloats", "must be a Float32Array", &lengths[2]);
  const int32_t *head_structure = arg_typed(&c, 3, napi_int32_array, "headStructure", "must be an Int32Array", &lengths[3]);
  const int32_t *head_indices = arg_typed(&c, 4, napi_int32_array, "headIndices", "must be an Int32Array", &lengths[4]);
  const float *head_floats = arg_typed(&c, 5, napi_float32_array, "headFloats", "must be a Float32Array", &lengths[5]);
  if (c.failed) return NULL;
  swamp_sparse_convnet net;
  const char *error = read_sparse_convnet(conv_structure, lengths[0], conv_indices, lengths[1], conv_floats, lengths[2], &net);
  if (error != NULL) {
    fail(&c, 1, "convolution plan:", error);
    return NULL;
  }
  swamp_sparse_mlp head;
  error = read_sparse_mlp(head_structure, lengths[3], head_indices, lengths[4], head_floats, lengths[5], &head);
  if (error == NULL && head.input_width != swamp_sparse_convnet_feature_count(&net)) error = "takes another number of features than the convolutions give";
  if (error != NULL) {
    fail(&c, 1, "head plan:", error);
    return NULL;
  }
  const int64_t batch = arg_int(&c, 8, "batch", 0, INT32_MAX);
  const float *x = arg_floats(&c, 6, 7, element_count(&c, "x", batch, (int64_t)(net.height * net.width), (int64_t)net.channels), "x");
  float *y = arg_floats(&c, 9, 10, element_count(&c, "y", batch, (int64_t)head.layers[head.layer_count - 1].outputs, 1), "y");
  if (c.failed) return NULL;
  if (swamp_sparse_convnet_forward(&net, &head, &state_of(env)->scratch, x, (size_t)batch, y) != 0) out_of_memory(&c);
  return NULL;
}

/* columnSums(x, xOffset, rows, cols, out, outOffset): out[c] = Σ_r x[r, c] */
static napi_value column_sums(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "columnSums", 6, &c) != 0) return NULL;
  const int64_t rows = arg_int(&c, 2, "rows", 0, INT64_MAX / 2);
  const int64_t cols = arg_int(&c, 3, "cols", 0, INT32_MAX);
  if (c.failed) return NULL;
  const float *x = arg_floats(&c, 0, 1, element_count(&c, "x", rows, cols, 1), "x");
  float *out = arg_floats(&c, 4, 5, (size_t)cols, "out");
  if (c.failed) return NULL;
  if (swamp_column_sums(x, (size_t)rows, (size_t)cols, out) != 0) out_of_memory(&c);
  return NULL;
}

/* maxPoolGrad(geometry, x, xOffset, dy, dyOffset, dx, dxOffset); geometry's outChannels = inChannels */
static napi_value max_pool_grad(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "maxPoolGrad", 7, &c) != 0) return NULL;
  swamp_conv_geometry g;
  arg_geometry(&c, 0, &g);
  if (c.failed) return NULL;
  if (g.out_channels != g.in_channels) fail(&c, 1, "geometry:", "pooling needs as many output channels as input channels");
  const float *x = arg_floats(&c, 1, 2, swamp_conv_input_size(&g), "x");
  const float *dy = arg_floats(&c, 3, 4, swamp_conv_output_size(&g), "dy");
  float *dx = arg_floats(&c, 5, 6, swamp_conv_input_size(&g), "dx");
  if (c.failed) return NULL;
  if (swamp_maxpool_backward(&g, x, dy, dx) != 0) out_of_memory(&c);
  return NULL;
}

/* The [rows, channels] shape every batch-norm binding takes (rows at `at`, channels after it),
 * with the element count of its full-size operands. */
typedef struct {
  size_t rows, channels, size;
} matrix_shape;

static matrix_shape arg_matrix_shape(call *c, size_t at) {
  matrix_shape m = {0, 0, 0};
  const int64_t rows = arg_int(c, at, "rows", 0, INT64_MAX / 2);
  const int64_t channels = arg_int(c, at + 1, "channels", 1, INT32_MAX);
  if (c->failed) return m;
  m.rows = (size_t)rows;
  m.channels = (size_t)channels;
  m.size = element_count(c, "x", rows, channels, 1);
  return m;
}

static void out_of_memory_in(call *c, const char *function) {
  char message[128];
  snprintf(message, sizeof message, "swamp native: out of memory in %s", function);
  napi_throw_error(c->env, NULL, message);
}

/* batchNormTraining(x, xOffset, rows, channels, gamma, gammaOffset, beta, betaOffset, epsilon,
 *                   y, yOffset, mean, meanOffset, variance, varianceOffset, relu 0 | 1) */
static napi_value batch_norm_training(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "batchNormTraining", 16, &c) != 0) return NULL;
  const matrix_shape m = arg_matrix_shape(&c, 2);
  const float epsilon = arg_float(&c, 8, "epsilon");
  const int relu = (int)arg_int(&c, 15, "relu", 0, 1);
  const float *x = arg_floats(&c, 0, 1, m.size, "x");
  const float *gamma = arg_floats(&c, 4, 5, m.channels, "gamma");
  const float *beta = arg_floats(&c, 6, 7, m.channels, "beta");
  float *y = arg_floats(&c, 9, 10, m.size, "y");
  float *mean = arg_floats(&c, 11, 12, m.channels, "mean");
  float *variance = arg_floats(&c, 13, 14, m.channels, "variance");
  if (c.failed) return NULL;
  if (swamp_batchnorm_forward(x, m.rows, m.channels, gamma, beta, epsilon, relu, y, mean, variance) != 0) {
    out_of_memory_in(&c, "batchNormTraining");
  }
  return NULL;
}

/* batchNormTrainingGrad(dy, dyOffset, x, xOffset, rows, channels, gamma, gammaOffset, mean,
 *   meanOffset, variance, varianceOffset, epsilon, dmean | null, dmeanOffset, dvariance | null,
 *   dvarianceOffset, dx, dxOffset, dgamma, dgammaOffset, dbeta, dbetaOffset, beta, betaOffset,
 *   relu 0 | 1) */
static napi_value batch_norm_training_grad(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "batchNormTrainingGrad", 26, &c) != 0) return NULL;
  const matrix_shape m = arg_matrix_shape(&c, 4);
  const float epsilon = arg_float(&c, 12, "epsilon");
  const int relu = (int)arg_int(&c, 25, "relu", 0, 1);
  const size_t n = m.channels;
  const float *dy = arg_floats(&c, 0, 1, m.size, "dy");
  const float *x = arg_floats(&c, 2, 3, m.size, "x");
  const float *gamma = arg_floats(&c, 6, 7, n, "gamma");
  const float *mean = arg_floats(&c, 8, 9, n, "mean");
  const float *variance = arg_floats(&c, 10, 11, n, "variance");
  const float *dmean = arg_is_nullish(&c, 13) ? NULL : arg_floats(&c, 13, 14, n, "dmean");
  const float *dvariance = arg_is_nullish(&c, 15) ? NULL : arg_floats(&c, 15, 16, n, "dvariance");
  float *dx = arg_floats(&c, 17, 18, m.size, "dx");
  float *dgamma = arg_floats(&c, 19, 20, n, "dgamma");
  float *dbeta = arg_floats(&c, 21, 22, n, "dbeta");
  const float *beta = arg_floats(&c, 23, 24, n, "beta");
  if (c.failed) return NULL;
  if (swamp_batchnorm_backward(dy, x, m.rows, n, gamma, beta, mean, variance, epsilon, relu, dmean, dvariance, dx, dgamma, dbeta) != 0) {
    out_of_memory_in(&c, "batchNormTrainingGrad");
  }
  return NULL;
}

/* batchNormInference(x, xOffset, rows, channels, mean, meanOffset, variance, varianceOffset,
 *                    offset | null, offsetOffset, scale | null, scaleOffset, epsilon, y, yOffset) */
static napi_value batch_norm_inference(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "batchNormInference", 15, &c) != 0) return NULL;
  const matrix_shape m = arg_matrix_shape(&c, 2);
  const float epsilon = arg_float(&c, 12, "epsilon");
  const size_t n = m.channels;
  const float *x = arg_floats(&c, 0, 1, m.size, "x");
  const float *mean = arg_floats(&c, 4, 5, n, "mean");
  const float *variance = arg_floats(&c, 6, 7, n, "variance");
  const float *offset = arg_is_nullish(&c, 8) ? NULL : arg_floats(&c, 8, 9, n, "offset");
  const float *scale = arg_is_nullish(&c, 10) ? NULL : arg_floats(&c, 10, 11, n, "scale");
  float *y = arg_floats(&c, 13, 14, m.size, "y");
  if (c.failed) return NULL;
  if (swamp_batchnorm_inference(x, m.rows, n, mean, variance, offset, scale, epsilon, y) != 0) {
    out_of_memory_in(&c, "batchNormInference");
  }
  return NULL;
}

/* maskedSgd(n, w, wOffset, g, gOffset, v, vOffset, mask | null, maskOffset, lr, momentum, decay,
 *           wOut, wOutOffset, vOut, vOutOffset) */
static napi_value masked_sgd(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "maskedSgd", 16, &c) != 0) return NULL;
  const int64_t n = arg_int(&c, 0, "n", 0, INT64_MAX / 2);
  const float lr = arg_float(&c, 9, "lr");
  const float momentum = arg_float(&c, 10, "momentum");
  const float decay = arg_float(&c, 11, "decay");
  if (c.failed) return NULL;
  const float *w = arg_floats(&c, 1, 2, (size_t)n, "w");
  const float *g = arg_floats(&c, 3, 4, (size_t)n, "g");
  const float *v = arg_floats(&c, 5, 6, (size_t)n, "v");
  const float *mask = arg_is_nullish(&c, 7) ? NULL : arg_floats(&c, 7, 8, (size_t)n, "mask");
  float *w_out = arg_floats(&c, 12, 13, (size_t)n, "wOut");
  float *v_out = arg_floats(&c, 14, 15, (size_t)n, "vOut");
  if (c.failed) return NULL;
  swamp_masked_sgd((size_t)n, w, g, v, mask, lr, momentum, decay, w_out, v_out);
  return NULL;
}

/* maskedSgdKept(n, kept, keptCount, w, wOffset, g, gOffset, v, vOffset, lr, momentum, decay,
 * wOut, wOutOffset, vOut, vOutOffset): maskedSgd over the kept entries only, 0 elsewhere. */
static napi_value masked_sgd_kept(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "maskedSgdKept", 16, &c) != 0) return NULL;
  const int64_t n = arg_int(&c, 0, "n", 0, INT64_MAX / 2);
  if (c.failed) return NULL;
  size_t count;
  const int32_t *kept = arg_kept(&c, 1, 2, (size_t)n, &count);
  const float *w = arg_floats(&c, 3, 4, (size_t)n, "w");
  const float *g = arg_floats(&c, 5, 6, (size_t)n, "g");
  const float *v = arg_floats(&c, 7, 8, (size_t)n, "v");
  const float lr = arg_float(&c, 9, "lr");
  const float momentum = arg_float(&c, 10, "momentum");
  const float decay = arg_float(&c, 11, "decay");
  float *w_out = arg_floats(&c, 12, 13, (size_t)n, "wOut");
  float *v_out = arg_floats(&c, 14, 15, (size_t)n, "vOut");
  if (c.failed) return NULL;
  swamp_masked_sgd_kept((size_t)n, kept, count, w, g, v, lr, momentum, decay, w_out, v_out);
  return NULL;
}

/* reluGrad(n, dy, dyOffset, x, xOffset, dx, dxOffset) */
static napi_value relu_grad(napi_env env, napi_callback_info info) {
  call c;
  if (begin(env, info, "reluGrad", 7, &c) != 0) return NULL;
  const int64_t n = arg_int(&c, 0, "n", 0, INT64_MAX / 2);
  if (c.failed) return NULL;
  const float *dy = arg_floats(&c, 1, 2, (size_t)n, "dy");
  const float *x = arg_floats(&c, 3, 4, (size_t)n, "x");
  float *dx = arg_floats(&c, 5, 6, (size_t)n, "dx");
  if (c.failed) return NULL;
  swamp_relu_grad((size_t)n, dy, x, dx);
  return NULL;
}

NAPI_MODULE_INIT() {
  instance_state *state = (instance_state *)calloc(1, sizeof(instance_state));
  if (state == NULL || napi_set_instance_data(env, state, finalize_instance, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, NULL, "swamp native: cannot allocate per-thread state");
    return NULL;
  }
  const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {
      {"initBlas", init_blas},
      {"sgemm", sgemm},
      {"batchMatMul", batch_mat_mul},
      {"biasActivation", bias_activation},
      {"im2col", im2col},
      {"col2im", col2im},
      {"conv2d", conv2d},
      {"conv2dBackpropInput", conv2d_backprop_input},
      {"conv2dBackpropFilter", conv2d_backprop_filter},
      {"columnSums", column_sums},
      {"maxPoolGrad", max_pool_grad},
      {"batchNormTraining", batch_norm_training},
      {"batchNormTrainingGrad", batch_norm_training_grad},
      {"batchNormInference", batch_norm_inference},
      {"maskedSgd", masked_sgd},
      {"maskedSgdKept", masked_sgd_kept},
      {"reluGrad", relu_grad},
      {"sparseConv2d", sparse_conv2d},
      {"sparseConv2dBackpropInput", sparse_conv2d_backprop_input},
      {"sparseConv2dBackpropFilter", sparse_conv2d_backprop_filter},
      {"sparseMlpForward", sparse_mlp_forward},
      {"sparseConvNetForward", sparse_convnet_forward},
      {"sparseMlpTrainStep", sparse_mlp_train_step},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  napi_value version;
  napi_create_uint32(env, 9, &version);
  napi_set_named_property(env, exports, "abiVersion", version);
  return exports;
}
