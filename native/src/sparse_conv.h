/*
 * Convolutions with a pruned filter, in time proportional to the weights the mask keeps rather than
 * to the filter's size: what makes the later cycles of iterative pruning cheaper than the first.
 * Each kept weight adds a shifted input plane, scaled, into an output plane (the "direct sparse
 * convolution" of Park et al., ICLR 2017); planes are rows of one image's channel, padded so every
 * shift is a contiguous run. Stride 1 and dilation 1 only (every convolution of Conv-2/4/6 and all
 * but two of ResNet-20's); the caller keeps the dense path for the rest.
 */
#ifndef SWAMP_SPARSE_CONV_H
#define SWAMP_SPARSE_CONV_H

#include "conv.h"

#include <stddef.h>
#include <stdint.h>

/* Whether these kernels can compute this geometry. */
int swamp_sparse_conv_suits(const swamp_conv_geometry *g);

/* y = conv(x, filter) where only the `count` kept weights count, given by their flat filter
 * indices (HWIO), each below the filter's size, grouped by output channel (index mod out_channels)
 * and ascending within a group (the other weights must be zero in filter for the result to equal
 * the dense convolution). A Dense layer is the 1×1 convolution of one image one pixel row long, a
 * pixel per example. Each returns -1 when its buffers could not be allocated, -2 when the kept
 * list is not grouped as its kernel needs. */
int swamp_sparse_conv2d(const swamp_conv_geometry *g, swamp_scratch *scratch, const float *x, const float *filter,
                        const int32_t *kept, size_t count, float *y);
/* dx of the same convolution; `kept` grouped by input channel ((index / out_channels) mod
 * in_channels), ascending within a group. */
int swamp_sparse_conv2d_backprop_input(const swamp_conv_geometry *g, swamp_scratch *scratch, const float *dy, const float *filter,
                                       const int32_t *kept, size_t count, float *dx);
/* The filter gradient at the kept weights (grouped as for the forward pass); 0 elsewhere (the masked optimiser discards those
 * entries anyway). */
int swamp_sparse_conv2d_backprop_filter(const swamp_conv_geometry *g, swamp_scratch *scratch, const float *x, const float *dy,
                                        const int32_t *kept, size_t count, float *dfilter);

#endif
