/*
 * The inference forward pass of a pruned Conv-n (3×3 "same" convolutions with BatchNorm folded
 * into their kept weights and a bias, ReLU, 2×2 max pooling, then a chain of Dense layers) in one
 * call: each image goes through every convolution on zero-bordered planes that stay in cache, its
 * features are written row-major (NHWC, as Flatten orders them), and each tile of images goes
 * through the sparse MLP head (sparse_mlp.c). The per-layer training kernels instead cross whole
 * batches of 28×28×64 activations in memory once per BatchNorm, ReLU, pooling and transposition.
 */
#ifndef SWAMP_SPARSE_CONVNET_H
#define SWAMP_SPARSE_CONVNET_H

#include "conv.h"
#include "sparse_mlp.h"

#include <stddef.h>
#include <stdint.h>

enum { SWAMP_SPARSE_CONVNET_MAX_STAGES = 16 };
/* Pooling is "valid": an odd side drops its last row or column. */
typedef enum { SWAMP_STAGE_CONV3X3 = 0, SWAMP_STAGE_MAXPOOL2X2 = 1 } swamp_stage_kind;

typedef struct {
  swamp_stage_kind kind;
  /* Input planes: channels × (height + 2) × (width + 2), a zero border around each. */
  size_t in_channels, out_channels, height, width;
  int relu;
  /* Convolutions: output o's kept weights are [start[o], start[o + 1]); each reads the input
   * planes from offset[e] = c·(height + 2)·(width + 2) + kh·(width + 2) + kw. */
  const int32_t *start;
  const int32_t *offset;
  const float *weights;
  const float *bias;
} swamp_sparse_conv_stage;

typedef struct {
  size_t height, width, channels;
  size_t stage_count;
  swamp_sparse_conv_stage stages[SWAMP_SPARSE_CONVNET_MAX_STAGES];
} swamp_sparse_convnet;

/* Values per image of the features the last stage gives (its output channels × spatial size). */
size_t swamp_sparse_convnet_feature_count(const swamp_sparse_convnet *net);

/* y [batch, head outputs] of x [batch, height, width, channels]; the plans checked (addon.c).
 * Returns 0, or -1 when memory could not be allocated. */
int swamp_sparse_convnet_forward(const swamp_sparse_convnet *net, const swamp_sparse_mlp *head, swamp_scratch *scratch, const float *x,
                                 size_t batch, float *y);

#endif
