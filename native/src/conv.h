/* 2-D convolution on NHWC tensors with HWIO filters, by im2col/col2im and GEMM. */
#ifndef SWAMP_CONV_H
#define SWAMP_CONV_H

#include <stddef.h>

#include "blas.h"
#include "epilogue.h"

/* The order of these fields is the order of the Int32Array the JavaScript side passes. */
typedef struct {
  int batch, in_height, in_width, in_channels;
  int out_height, out_width, out_channels;
  int filter_height, filter_width;
  int stride_height, stride_width;
  int dilation_height, dilation_width;
  int pad_top, pad_left;
} swamp_conv_geometry;

enum { SWAMP_CONV_GEOMETRY_FIELDS = 15 };

/* Returns NULL when the geometry is consistent, else what is wrong with it. */
const char *swamp_conv_geometry_error(const swamp_conv_geometry *g);

size_t swamp_conv_input_size(const swamp_conv_geometry *g);
size_t swamp_conv_output_size(const swamp_conv_geometry *g);
size_t swamp_conv_filter_size(const swamp_conv_geometry *g);
/* Rows of the im2col matrix: one per output pixel. Columns: filter_height*filter_width*in_channels. */
size_t swamp_conv_rows(const swamp_conv_geometry *g);
size_t swamp_conv_columns(const swamp_conv_geometry *g);

/* Writes rows [row_start, row_start+row_count) of the im2col matrix of x into col (row-major). */
void swamp_im2col(const swamp_conv_geometry *g, const float *x, size_t row_start, size_t row_count,
                  float *col);
/* Adds rows [row_start, row_start+row_count) of an im2col-shaped matrix back into dx. */
void swamp_col2im(const swamp_conv_geometry *g, const float *col, size_t row_start,
                  size_t row_count, float *dx);

/* Scratch memory the convolutions may use; grown on demand, owned by the caller. */
typedef struct {
  float *data;
  size_t capacity;
} swamp_scratch;

/* Grows scratch to at least `floats`. Returns 0, or -1 when it could not be allocated. */
int swamp_scratch_reserve(swamp_scratch *scratch, size_t floats);

/* Returns 0, or -1 when scratch memory could not be allocated. */
int swamp_conv2d(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm, swamp_scratch *scratch,
                 const float *x, const float *filter, float *y, const swamp_epilogue *epilogue);
int swamp_conv2d_backprop_input(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm,
                                swamp_scratch *scratch, const float *dy, const float *filter,
                                float *dx);
int swamp_conv2d_backprop_filter(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm,
                                 swamp_scratch *scratch, const float *x, const float *dy,
                                 float *dfilter);

#endif
