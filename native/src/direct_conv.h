/*
 * Direct 2-D convolution for layers with few output channels (ResNet-20's 16 and 32), where an
 * im2col matrix times a 16-column filter keeps the GEMM far from the machine's peak. Output
 * pixels are computed in register blocks with AVX2 FMAs straight from the NHWC input, no im2col.
 */
#ifndef SWAMP_DIRECT_CONV_H
#define SWAMP_DIRECT_CONV_H

#include "conv.h"
#include "epilogue.h"

/* Whether the direct kernel can and should compute this geometry on this CPU. */
int swamp_direct_conv_suits(const swamp_conv_geometry *g);

/* y = conv(x, filter) for a geometry swamp_direct_conv_suits accepted, then the epilogue.
 * Returns -1 when its small buffers could not be allocated. */
int swamp_direct_conv(const swamp_conv_geometry *g, const float *x, const float *filter, float *y,
                       const swamp_epilogue *epilogue);

/* Whether swamp_direct_conv_filter can and should compute this geometry's filter gradient. */
int swamp_direct_conv_filter_suits(const swamp_conv_geometry *g);

/* The filter gradient of the same convolutions (any stride, padding and dilation), for a
 * geometry swamp_direct_conv_filter_suits accepted. Returns -1 when its buffers could not be allocated. */
int swamp_direct_conv_filter(const swamp_conv_geometry *g, const float *x, const float *dy, float *dfilter);

#endif
