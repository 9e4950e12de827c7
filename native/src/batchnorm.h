/*
 * Batch normalisation over the rows of a [rows, channels] matrix (an NHWC tensor
 * with every axis but the last flattened). In training mode, forward and backward in two passes
 * each, where TF.js composes them from about twenty full-size operations; in inference, one pass.
 */
#ifndef SWAMP_BATCHNORM_H
#define SWAMP_BATCHNORM_H

#include <stddef.h>

/* mean and (biased) variance per channel, and y = gamma·(x − mean)/√(variance + epsilon) + beta,
 * or max(0, y) when relu is set (the ReLU that follows every BatchNorm in the Conv-N blocks, in
 * the same pass). Returns -1 when scratch memory could not be allocated. */
int swamp_batchnorm_forward(const float *x, size_t rows, size_t channels, const float *gamma,
                            const float *beta, float epsilon, int relu, float *y, float *mean, float *variance);

/* The gradient of the forward pass (with the same relu setting) with respect to x, gamma and beta,
 * given dy and, when they are not NULL, gradients dmean and dvariance arriving at the mean and
 * variance outputs. With relu, the ReLU's decisions are recomputed from x, mean, variance, gamma
 * and beta exactly as the forward pass made them. */
int swamp_batchnorm_backward(const float *dy, const float *x, size_t rows, size_t channels,
                             const float *gamma, const float *beta, const float *mean, const float *variance,
                             float epsilon, int relu, const float *dmean, const float *dvariance, float *dx,
                             float *dgamma, float *dbeta);

/* Inference: y = scale·(x − mean)/√(variance + epsilon) + offset with given per-channel
 * statistics; scale and offset may be NULL (1 and 0). One pass. Returns -1 when scratch memory
 * could not be allocated. */
int swamp_batchnorm_inference(const float *x, size_t rows, size_t channels, const float *mean,
                              const float *variance, const float *offset, const float *scale,
                              float epsilon, float *y);

#endif
