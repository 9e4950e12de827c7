/*
 * Batch normalisation over the rows of a [rows, channels] matrix (an NHWC tensor
 * with every axis but the last flattened). In training mode, forward and backward in two passes
 * each, where TF.js composes them from about twenty full-size operations; in inference, one pass.
 */
#ifndef SWAMP_BATCHNORM_H
#define SWAMP_BATCHNORM_H

#include <stddef.h>

/* mean and (biased) variance per channel, and y = gamma·(x − mean)/√(variance + epsilon) + beta.
 * Returns -1 when scratch memory could not be allocated. */
int swamp_batchnorm_forward(const float *x, size_t rows, size_t channels, const float *gamma,
                            const float *beta, float epsilon, float *y, float *mean, float *variance);

/* The gradient of the forward pass with respect to x, gamma and beta, given dy and, when they are
 * not NULL, gradients dmean and dvariance arriving at the mean and variance outputs. */
int swamp_batchnorm_backward(const float *dy, const float *x, size_t rows, size_t channels,
                             const float *gamma, const float *mean, const float *variance,
                             float epsilon, const float *dmean, const float *dvariance, float *dx,
                             float *dgamma, float *dbeta);

/* Inference: y = scale·(x − mean)/√(variance + epsilon) + offset with given per-channel
 * statistics; scale and offset may be NULL (1 and 0). One pass. Returns -1 when scratch memory
 * could not be allocated. */
int swamp_batchnorm_inference(const float *x, size_t rows, size_t channels, const float *mean,
                              const float *variance, const float *offset, const float *scale,
                              float epsilon, float *y);

#endif
