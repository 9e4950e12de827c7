/*
 * One whole training step of a pruned multilayer perceptron (a chain of Dense layers, each with a
 * bias and a ReLU or no activation, under mean softmax cross-entropy and SGD with momentum and
 * coupled weight decay) in one call, in time proportional to the kept weights: forward, loss and
 * its gradient, backward over the kept weights only, bias gradients, and the optimiser's update of
 * the kept weights, the biases and their momentum. TF.js runs the same step as some forty
 * operations, each with its own dispatch and a full pass over its tensor, which at 99% sparsity
 * cost far more than the arithmetic (see worker/engine/native-kernels/sparse-mlp-training.ts).
 *
 * Weights are updated in place, in their dense [inputs, outputs] storage (pruned entries are
 * never read or written), so the caller's tensors stay the one copy of them. Activations are held
 * example-minor ([feature][batch], the batch padded to a multiple of 32 with lanes that carry
 * zero gradient), so every kept weight's forward, gradient and input-gradient work is a few
 * vector operations over the batch.
 */
#ifndef SWAMP_SPARSE_MLP_TRAIN_H
#define SWAMP_SPARSE_MLP_TRAIN_H

#include "blas.h"
#include "conv.h"

#include <stddef.h>
#include <stdint.h>

enum { SWAMP_MLP_TRAIN_MAX_LAYERS = 32 };

typedef struct {
  /* The layer's input width as the kernel stores it, and its outputs: the kernel is [inputs, outputs]. */
  size_t inputs;
  size_t outputs;
  int relu;
  /* Whether the layer's products run as dense GEMMs (BLAS) over its whole kernel, whose pruned
   * weights must then be zero, instead of over the kept weights: worth it for layers that keep
   * many. Only the kept weights are updated either way. A dense first layer gathers every column. */
  int dense;
  /* Kept weights by output: output o's are [row_start[o], row_start[o + 1]), each reading input
   * column columns[e] (for the first layer: the e-th gathered input column), ascending. */
  const int32_t *row_start;
  const int32_t *columns;
  float *kernel;
  float *bias;
  /* Momentum of the kept weights in row order, then of the bias (row_start[outputs] + outputs). */
  float *velocity;
} swamp_mlp_train_layer;

typedef struct {
  size_t input_width;
  /* The input columns the first layer reads, in the order its `columns` number them. */
  size_t gather_count;
  const int32_t *gather;
  size_t layer_count;
  swamp_mlp_train_layer layers[SWAMP_MLP_TRAIN_MAX_LAYERS];
} swamp_mlp_train_plan;

typedef struct {
  float learning_rate;
  float momentum;
  float weight_decay;
} swamp_sgd_settings;

/* One step on a batch of `count` examples: example b is row rows[b] of x [rows, input_width]
 * (row-major), or row b when rows is NULL, and its label labels[b] lies in [0, last layer's
 * outputs); the caller has checked both, and the plan. *loss is the batch's mean loss. Returns 0,
 * or -1 when scratch memory could not be allocated (nothing is changed then). sgemm may be NULL
 * when no layer is dense. */
int swamp_sparse_mlp_train_step(const swamp_mlp_train_plan *plan, swamp_sgemm_fn sgemm, swamp_scratch *scratch, const float *x, const int32_t *rows,
                                const int32_t *labels, size_t count, swamp_sgd_settings sgd, double *loss);

#endif
