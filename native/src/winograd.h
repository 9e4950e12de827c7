/*
 * 3×3, stride-1 convolutions by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray, 2016):
 * each 4×4 output tile is computed from a 6×6 input tile with 36 multiplications per channel pair
 * instead of 144, as 36 GEMMs over blocks of tiles (the system BLAS) between cheap transforms.
 * Used for the forward pass (and so the stride-1 input gradient, a forward convolution) and the
 * filter gradient of layers wide enough for those GEMMs to run at full speed.
 */
#ifndef SWAMP_WINOGRAD_H
#define SWAMP_WINOGRAD_H

#include "blas.h"
#include "conv.h"
#include "epilogue.h"

/* Whether the Winograd kernels can and should compute this geometry (3×3 filter, stride and
 * dilation 1, enough channels). SWAMP_NATIVE_WINOGRAD=0 turns them off (read per call). */
int swamp_winograd_suits(const swamp_conv_geometry *g);

/* y = conv(x, filter), then the epilogue. Returns -1 when scratch memory could not be allocated. */
int swamp_winograd_conv2d(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm, swamp_scratch *scratch,
                          const float *x, const float *filter, float *y, const swamp_epilogue *epilogue);

/* dfilter = the filter gradient of the same convolution under dy. Returns -1 as above. */
int swamp_winograd_conv2d_filter(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm, swamp_scratch *scratch,
                                 const float *x, const float *dy, float *dfilter);

#endif
