#include "sparse_mlp_train.h"

#include "cpu_features.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

/* The batch is padded to a multiple of this many lanes: two registers of the widest instruction set. */
#define SWAMP_MLPT_LANES 32

#define MLPT_LOOP(name) name##_baseline
#define MLPT_TARGET
#define MLPT_VEC_FLOATS 4
#include "sparse_mlp_train_loops.inc"
#undef MLPT_LOOP
#undef MLPT_TARGET
#undef MLPT_VEC_FLOATS

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MLPT_HAS_X86_COPIES 1
#define MLPT_LOOP(name) name##_avx2
#define MLPT_TARGET __attribute__((target("avx2,fma")))
#define MLPT_VEC_FLOATS 8
#include "sparse_mlp_train_loops.inc"
#undef MLPT_LOOP
#undef MLPT_TARGET
#undef MLPT_VEC_FLOATS
#define MLPT_LOOP(name) name##_avx512
#define MLPT_TARGET __attribute__((target("avx512f,fma")))
#define MLPT_VEC_FLOATS 16
#include "sparse_mlp_train_loops.inc"
#undef MLPT_LOOP
#undef MLPT_TARGET
#undef MLPT_VEC_FLOATS
#endif

typedef struct {
  void (*gather_columns)(const swamp_mlp_train_plan *, const float *, const int32_t *, size_t, size_t, float *);
  void (*forward_layer)(const swamp_mlp_train_layer *, const int32_t *, const float *, float *, size_t, float *);
  void (*backward_layer)(const swamp_mlp_train_layer *, const int32_t *, const float *, const float *, float *, size_t, swamp_sgd_settings);
  void (*relu_gradient)(float *, const float *, size_t);
  void (*bias_activation)(const swamp_mlp_train_layer *, float *, size_t);
  void (*dense_update)(const swamp_mlp_train_layer *, const float *, const float *, size_t, swamp_sgd_settings);
} loops;

static loops loops_in_use(void) {
#ifdef MLPT_HAS_X86_COPIES
  const swamp_simd_level level = swamp_simd_level_in_use();
  if (level == SWAMP_SIMD_AVX512) return (loops){gather_columns_avx512, forward_layer_avx512, backward_layer_avx512, relu_gradient_avx512, bias_activation_avx512, dense_update_avx512};
  if (level == SWAMP_SIMD_AVX2) return (loops){gather_columns_avx2, forward_layer_avx2, backward_layer_avx2, relu_gradient_avx2, bias_activation_avx2, dense_update_avx2};
#endif
  return (loops){gather_columns_baseline, forward_layer_baseline, backward_layer_baseline, relu_gradient_baseline, bias_activation_baseline, dense_update_baseline};
}

/* The mean softmax cross-entropy of the logits [classes][lanes] and its gradient, as the wasm
 * kernel (worker/engine/wasm-kernels/softmax-cross-entropy.ts) computes it: sums in double, the
 * gradient (softmax − one-hot) / count rounded once to float; 0 in the padding lanes. */
static double softmax_cross_entropy(const float *logits, const int32_t *labels, size_t count, size_t lanes, size_t classes, double *exps, float *dz) {
  double total = 0.0;
  for (size_t b = 0; b < count; b++) {
    double max = -INFINITY;
    for (size_t c = 0; c < classes; c++) max = fmax(max, (double)logits[c * lanes + b]);
    double sum = 0.0;
    for (size_t c = 0; c < classes; c++) sum += (exps[c] = exp((double)logits[c * lanes + b] - max));
    const size_t label = (size_t)labels[b];
    total += max + log(sum) - (double)logits[label * lanes + b];
    /* exp(z − max) / sum is exp(z − log-sum-exp) to double rounding, with one exp a logit. */
    for (size_t c = 0; c < classes; c++) dz[c * lanes + b] = (float)((exps[c] / sum - (c == label ? 1.0 : 0.0)) / (double)count);
  }
  for (size_t c = 0; c < classes && count < lanes; c++) memset(dz + c * lanes + count, 0, (lanes - count) * sizeof(float));
  return count > 0 ? total / (double)count : 0.0;
}

int swamp_sparse_mlp_train_step(const swamp_mlp_train_plan *p, swamp_sgemm_fn sgemm, swamp_scratch *scratch, const float *x, const int32_t *rows,
                                const int32_t *labels, size_t count, swamp_sgd_settings sgd, double *loss) {
  *loss = 0.0;
  if (count == 0 || p->layer_count == 0) return 0;
  const size_t lanes = (count + SWAMP_MLPT_LANES - 1) / SWAMP_MLPT_LANES * SWAMP_MLPT_LANES;
  /* Scratch: the gathered input, every layer's output, two gradient planes of the widest layer,
   * and one row's kept weights; each part a multiple of 16 floats so all stay 64-byte aligned. */
  size_t widest = 1, longest_row = 2 * p->layers[p->layer_count - 1].outputs, activations = p->gather_count * lanes, largest_dense = 0;
  for (size_t l = 0; l < p->layer_count; l++) {
    const swamp_mlp_train_layer *layer = &p->layers[l];
    if (layer->outputs > widest) widest = layer->outputs;
    if (layer->dense && layer->inputs * layer->outputs > largest_dense) largest_dense = layer->inputs * layer->outputs;
    activations += layer->outputs * lanes;
    for (size_t o = 0; o < layer->outputs; o++) {
      const size_t row = (size_t)(layer->row_start[o + 1] - layer->row_start[o]);
      if (row > longest_row) longest_row = row;
    }
  }
  /* (The row's scratch also holds the loss's exponentials of one example, in double.) */
  const size_t row_floats = (longest_row + 15) / 16 * 16;
  if (swamp_scratch_reserve(scratch, activations + 2 * widest * lanes + row_floats + largest_dense + 16) != 0) return -1;
  float *base = scratch->data + ((16 - ((uintptr_t)scratch->data / sizeof(float)) % 16) % 16);
  float *outputs[SWAMP_MLP_TRAIN_MAX_LAYERS + 1];
  outputs[0] = base;
  size_t width = p->gather_count;
  for (size_t l = 0; l < p->layer_count; l++) {
    outputs[l + 1] = outputs[l] + width * lanes;
    width = p->layers[l].outputs;
  }
  float *gradient = outputs[p->layer_count] + width * lanes;
  float *spare = gradient + widest * lanes;
  float *row_weights = spare + widest * lanes;
  /* A dense layer's whole kernel gradient. */
  float *kernel_gradient = row_weights + row_floats;

  const loops k = loops_in_use();
  k.gather_columns(p, x, rows, count, lanes, outputs[0]);
  for (size_t l = 0; l < p->layer_count; l++) {
    const swamp_mlp_train_layer *layer = &p->layers[l];
    if (layer->dense) {
      /* out [outputs, lanes] = kernelᵀ · in, in [inputs, lanes] (a dense first layer gathers every column). */
      sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_TRANS, SWAMP_CBLAS_NO_TRANS, (int)layer->outputs, (int)lanes, (int)layer->inputs, 1.0f, layer->kernel,
            (int)layer->outputs, outputs[l], (int)lanes, 0.0f, outputs[l + 1], (int)lanes);
      k.bias_activation(layer, outputs[l + 1], lanes);
    } else {
      k.forward_layer(layer, l == 0 ? p->gather : NULL, outputs[l], outputs[l + 1], lanes, row_weights);
    }
  }

  const swamp_mlp_train_layer *top = &p->layers[p->layer_count - 1];
  *loss = softmax_cross_entropy(outputs[p->layer_count], labels, count, lanes, top->outputs, (double *)row_weights, gradient);
  if (top->relu) k.relu_gradient(gradient, outputs[p->layer_count], top->outputs * lanes);
  for (size_t l = p->layer_count; l-- > 0;) {
    const swamp_mlp_train_layer *layer = &p->layers[l];
    /* The first layer's input gradient (of the data) is not needed. */
    float *input_gradient = NULL;
    if (l > 0) {
      input_gradient = spare;
      memset(input_gradient, 0, p->layers[l - 1].outputs * lanes * sizeof(float));
    }
    if (layer->dense) {
      /* dkernel [inputs, outputs] = in · dzᵀ; din [inputs, lanes] = kernel · dz, with the kernel before its update. */
      sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_NO_TRANS, SWAMP_CBLAS_TRANS, (int)layer->inputs, (int)layer->outputs, (int)lanes, 1.0f, outputs[l], (int)lanes,
            gradient, (int)lanes, 0.0f, kernel_gradient, (int)layer->outputs);
      if (input_gradient != NULL) {
        sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_NO_TRANS, SWAMP_CBLAS_NO_TRANS, (int)layer->inputs, (int)lanes, (int)layer->outputs, 1.0f, layer->kernel,
              (int)layer->outputs, gradient, (int)lanes, 0.0f, input_gradient, (int)lanes);
      }
      k.dense_update(layer, kernel_gradient, gradient, lanes, sgd);
    } else {
      k.backward_layer(layer, l == 0 ? p->gather : NULL, outputs[l], gradient, input_gradient, lanes, sgd);
    }
    if (l > 0) {
      if (p->layers[l - 1].relu) k.relu_gradient(input_gradient, outputs[l], p->layers[l - 1].outputs * lanes);
      spare = gradient;
      gradient = input_gradient;
    }
  }
  return 0;
}
