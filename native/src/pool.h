/* The gradient of 2-D max pooling on NHWC tensors. */
#ifndef SWAMP_POOL_H
#define SWAMP_POOL_H

#include "conv.h"

/* dx (zeroed here) receives each dy at the position of its window's maximum in x; ties go to the
 * first maximum in row-major window order, as tfjs-backend-cpu chooses. The geometry's
 * out_channels equals in_channels. Returns -1 when scratch memory could not be allocated. */
int swamp_maxpool_backward(const swamp_conv_geometry *g, const float *x, const float *dy, float *dx);

#endif
