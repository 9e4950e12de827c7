/*
 * The inference forward pass of a pruned multilayer perceptron (a chain of Dense layers, each
 * with a bias and a ReLU or no activation) in one call, in time proportional to the kept weights:
 * what a pruned LeNet-300-100 costs to run once deployed. Unlike the training kernels
 * (sparse_conv.c, which see a Dense layer as a 1×1 convolution and move every activation to and
 * from planes), it reads the examples row-major as they come, a tile of them at a time, gathers
 * only the input columns some kept weight reads, and keeps every hidden activation of the tile in
 * cache until the logits are written back row-major.
 */
#ifndef SWAMP_SPARSE_MLP_H
#define SWAMP_SPARSE_MLP_H

#include "conv.h"

#include <stddef.h>
#include <stdint.h>

enum { SWAMP_SPARSE_MLP_MAX_LAYERS = 32 };

typedef struct {
  size_t outputs;
  int relu;
  /* Kept weights by output: output o's are [row_start[o], row_start[o + 1]), each reading the
   * previous layer's activation columns[e] (for the first layer: the e-th gathered input column). */
  const int32_t *row_start;
  const int32_t *columns;
  const float *weights;
  const float *bias;
} swamp_sparse_mlp_layer;

typedef struct {
  size_t input_width;
  /* The input columns the first layer reads, in the order its `columns` number them. */
  size_t gather_count;
  const int32_t *gather;
  size_t layer_count;
  swamp_sparse_mlp_layer layers[SWAMP_SPARSE_MLP_MAX_LAYERS];
} swamp_sparse_mlp;

/* y [batch, last layer's outputs] = the chain applied to x [batch, input_width], both row-major.
 * The plan must have been checked (addon.c does). Returns 0, or -1 when scratch memory could not
 * be allocated. */
int swamp_sparse_mlp_forward(const swamp_sparse_mlp *plan, swamp_scratch *scratch, const float *x, size_t batch, float *y);

#endif
