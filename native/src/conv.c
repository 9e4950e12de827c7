#include "conv.h"

#include "direct_conv.h"
#include "winograd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows of the im2col matrix handled at a time: small enough that the block stays in the
 * last-level cache between being written and being read by the GEMM, large enough that the
 * GEMM runs at full speed. Measured on an AVX2 EPYC; see bench/native.ts. */
static const size_t target_block_bytes = 1u << 20;

/* Winograd does a quarter of the multiplications, but its 36 GEMMs are thin for few channels: the
 * direct kernels win at 16 and 32 output channels (ResNet-20 stage 1 on AVX2: 49 against 84 ms),
 * Winograd from 64, where the AVX-512 direct kernel would otherwise take the layer. */
static const int winograd_before_direct_from = 64;

const char *swamp_conv_geometry_error(const swamp_conv_geometry *g) {
  if (g->batch < 0) return "batch must be >= 0";
  if (g->in_height <= 0 || g->in_width <= 0 || g->in_channels <= 0)
    return "input height, width and channels must be positive";
  if (g->out_height < 0 || g->out_width < 0 || g->out_channels <= 0)
    return "output height and width must be >= 0 and output channels positive";
  if (g->filter_height <= 0 || g->filter_width <= 0) return "filter height and width must be positive";
  if (g->stride_height <= 0 || g->stride_width <= 0) return "strides must be positive";
  if (g->dilation_height <= 0 || g->dilation_width <= 0) return "dilations must be positive";
  if (g->pad_top < 0 || g->pad_left < 0) return "paddings must be >= 0";
  /* No typed array holds more than 2^53 elements; larger sizes would overflow the bounds checks. */
  const double limit = 9007199254740992.0;
  if ((double)g->batch * g->in_height * g->in_width * g->in_channels > limit) return "input is too large";
  if ((double)g->batch * g->out_height * g->out_width * g->out_channels > limit) return "output is too large";
  const int64_t k = (int64_t)g->filter_height * g->filter_width * g->in_channels;
  if (k > INT32_MAX || (int64_t)g->out_channels * k > INT32_MAX) return "filter is too large for 32-bit BLAS";
  return NULL;
}

size_t swamp_conv_input_size(const swamp_conv_geometry *g) {
  return (size_t)g->batch * g->in_height * g->in_width * g->in_channels;
}
size_t swamp_conv_output_size(const swamp_conv_geometry *g) {
  return (size_t)g->batch * g->out_height * g->out_width * g->out_channels;
}
size_t swamp_conv_filter_size(const swamp_conv_geometry *g) {
  return (size_t)g->filter_height * g->filter_width * g->in_channels * g->out_channels;
}
size_t swamp_conv_rows(const swamp_conv_geometry *g) {
  return (size_t)g->batch * g->out_height * g->out_width;
}
size_t swamp_conv_columns(const swamp_conv_geometry *g) {
  return (size_t)g->filter_height * g->filter_width * g->in_channels;
}

/* A 1x1, stride-1, unpadded convolution's im2col matrix is its input: no copy needed. */
static int is_pointwise(const swamp_conv_geometry *g) {
  return g->filter_height == 1 && g->filter_width == 1 && g->stride_height == 1 &&
         g->stride_width == 1 && g->pad_top == 0 && g->pad_left == 0 &&
         g->out_height == g->in_height && g->out_width == g->in_width;
}

/* Runs BODY for every run of im2col columns of every row in the range, with run_col (the run's
 * first element in the block), run_len (elements), run_valid (whether it lies inside the input)
 * and run_in (where it starts in x when valid). The horizontal taps of one filter row form one
 * run when the dilation is 1 (NHWC keeps a pixel's neighbours' channels adjacent). */
#define FOR_EACH_RUN(g, row_start, row_count, BODY)                                               \
  do {                                                                                            \
    const size_t out_hw = (size_t)(g)->out_height * (g)->out_width;                               \
    const size_t cin = (size_t)(g)->in_channels;                                                  \
    const size_t ncols = swamp_conv_columns(g);                                                   \
    size_t n = (row_start) / out_hw;                                                              \
    size_t rem = (row_start) % out_hw;                                                            \
    int oh = (int)(rem / (g)->out_width);                                                         \
    int ow = (int)(rem % (g)->out_width);                                                         \
    for (size_t r = 0; r < (row_count); r++) {                                                    \
      const size_t row_offset = r * ncols;                                                        \
      const int ih0 = oh * (g)->stride_height - (g)->pad_top;                                     \
      const int iw0 = ow * (g)->stride_width - (g)->pad_left;                                     \
      const size_t image_offset = n * (size_t)(g)->in_height * (g)->in_width * cin;               \
      for (int i = 0; i < (g)->filter_height; i++) {                                              \
        const int ih = ih0 + i * (g)->dilation_height;                                            \
        const size_t tap_row_offset = row_offset + (size_t)i * (g)->filter_width * cin;           \
        if (ih < 0 || ih >= (g)->in_height) {                                                     \
          const size_t run_col = tap_row_offset;                                                  \
          const size_t run_len = (size_t)(g)->filter_width * cin;                                 \
          const int run_valid = 0;                                                                \
          const size_t run_in = 0;                                                                \
          BODY;                                                                                   \
          continue;                                                                               \
        }                                                                                         \
        const size_t in_row_offset = image_offset + (size_t)ih * (g)->in_width * cin;             \
        if ((g)->dilation_width == 1) {                                                           \
          int j_lo = iw0 < 0 ? -iw0 : 0;                                                          \
          int j_hi = (g)->filter_width;                                                           \
          if (iw0 + j_hi > (g)->in_width) j_hi = (g)->in_width - iw0;                             \
          if (j_hi < j_lo) j_hi = j_lo;                                                           \
          if (j_lo > (g)->filter_width) j_lo = j_hi = (g)->filter_width;                          \
          if (j_lo > 0) {                                                                         \
            const size_t run_col = tap_row_offset;                                                \
            const size_t run_len = (size_t)j_lo * cin;                                            \
            const int run_valid = 0;                                                              \
            const size_t run_in = 0;                                                              \
            BODY;                                                                                 \
          }                                                                                       \
          if (j_hi > j_lo) {                                                                      \
            const size_t run_col = tap_row_offset + (size_t)j_lo * cin;                           \
            const size_t run_len = (size_t)(j_hi - j_lo) * cin;                                   \
            const int run_valid = 1;                                                              \
            const size_t run_in = in_row_offset + (size_t)(iw0 + j_lo) * cin;                     \
            BODY;                                                                                 \
          }                                                                                       \
          if (j_hi < (g)->filter_width) {                                                         \
            const size_t run_col = tap_row_offset + (size_t)j_hi * cin;                           \
            const size_t run_len = (size_t)((g)->filter_width - j_hi) * cin;                      \
            const int run_valid = 0;                                                              \
            const size_t run_in = 0;                                                              \
            BODY;                                                                                 \
          }                                                                                       \
        } else {                                                                                  \
          for (int j = 0; j < (g)->filter_width; j++) {                                           \
            const int iw = iw0 + j * (g)->dilation_width;                                         \
            const size_t run_col = tap_row_offset + (size_t)j * cin;                              \
            const size_t run_len = cin;                                                           \
            const int run_valid = iw >= 0 && iw < (g)->in_width;                                  \
            const size_t run_in = run_valid ? in_row_offset + (size_t)iw * cin : 0;               \
            BODY;                                                                                 \
          }                                                                                       \
        }                                                                                         \
      }                                                                                           \
      if (++ow == (g)->out_width) {                                                               \
        ow = 0;                                                                                   \
        if (++oh == (g)->out_height) {                                                            \
          oh = 0;                                                                                 \
          n++;                                                                                    \
        }                                                                                         \
      }                                                                                           \
    }                                                                                             \
  } while (0)

void swamp_im2col(const swamp_conv_geometry *g, const float *x, size_t row_start, size_t row_count,
                  float *col) {
  if (row_count == 0) return;
  FOR_EACH_RUN(g, row_start, row_count, {
    if (run_valid) {
      memcpy(col + run_col, x + run_in, run_len * sizeof(float));
    } else {
      memset(col + run_col, 0, run_len * sizeof(float));
    }
  });
}

void swamp_col2im(const swamp_conv_geometry *g, const float *col, size_t row_start,
                  size_t row_count, float *dx) {
  if (row_count == 0) return;
  FOR_EACH_RUN(g, row_start, row_count, {
    if (run_valid) {
      float *restrict dst = dx + run_in;
      const float *restrict src = col + run_col;
      for (size_t t = 0; t < run_len; t++) dst[t] += src[t];
    }
  });
}

int swamp_scratch_reserve(swamp_scratch *scratch, size_t floats) {
  if (scratch->capacity >= floats) return 0;
  float *grown = (float *)realloc(scratch->data, floats * sizeof(float));
  if (grown == NULL) return -1;
  scratch->data = grown;
  scratch->capacity = floats;
  return 0;
}

static size_t block_rows(const swamp_conv_geometry *g) {
  const size_t row_bytes = swamp_conv_columns(g) * sizeof(float);
  size_t rows = target_block_bytes / row_bytes;
  if (rows < 16) rows = 16;
  /* GEMM's M is an int. */
  if (rows > (size_t)INT32_MAX) rows = (size_t)INT32_MAX;
  return rows;
}

int swamp_conv2d(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm, swamp_scratch *scratch,
                 const float *x, const float *filter, float *y, const swamp_epilogue *epilogue) {
  const size_t rows = swamp_conv_rows(g);
  const int k = (int)swamp_conv_columns(g);
  const int cout = g->out_channels;
  if (rows == 0) return 0;
  const int winograd = swamp_winograd_suits(g);
  if (winograd && g->out_channels >= winograd_before_direct_from) return swamp_winograd_conv2d(g, sgemm, scratch, x, filter, y, epilogue);
  if (swamp_direct_conv_suits(g)) return swamp_direct_conv(g, x, filter, y, epilogue);
  if (winograd) return swamp_winograd_conv2d(g, sgemm, scratch, x, filter, y, epilogue);
  const size_t step = block_rows(g);
  if (!is_pointwise(g) && swamp_scratch_reserve(scratch, (step < rows ? step : rows) * (size_t)k) != 0) return -1;
  for (size_t r0 = 0; r0 < rows; r0 += step) {
    const size_t count = rows - r0 < step ? rows - r0 : step;
    const float *a;
    if (is_pointwise(g)) {
      a = x + r0 * (size_t)k;
    } else {
      swamp_im2col(g, x, r0, count, scratch->data);
      a = scratch->data;
    }
    float *out = y + r0 * (size_t)cout;
    sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_NO_TRANS, SWAMP_CBLAS_NO_TRANS, (int)count, cout, k,
          1.0f, a, k, filter, cout, 0.0f, out, cout);
    swamp_epilogue_apply(epilogue, out, count, (size_t)cout);
  }
  return 0;
}

/* For stride 1 and dilation 1 the input gradient is a forward convolution of dy with the filter
 * flipped in space and with its channel axes swapped, padded by (filter − 1 − padding): geometry
 * of that convolution, or 0 when it does not apply. */
static int transposed_geometry(const swamp_conv_geometry *g, swamp_conv_geometry *t) {
  if (g->stride_height != 1 || g->stride_width != 1 || g->dilation_height != 1 || g->dilation_width != 1) return 0;
  const int pad_top = g->filter_height - 1 - g->pad_top;
  const int pad_left = g->filter_width - 1 - g->pad_left;
  if (pad_top < 0 || pad_left < 0) return 0;
  *t = (swamp_conv_geometry){
      .batch = g->batch, .in_height = g->out_height, .in_width = g->out_width, .in_channels = g->out_channels,
      .out_height = g->in_height, .out_width = g->in_width, .out_channels = g->in_channels,
      .filter_height = g->filter_height, .filter_width = g->filter_width,
      .stride_height = 1, .stride_width = 1, .dilation_height = 1, .dilation_width = 1,
      .pad_top = pad_top, .pad_left = pad_left};
  return 1;
}

/* The filter flipped in space with its channel axes swapped: the filter of the transposed
 * convolution (transposed_geometry). */
static void flip_filter(const swamp_conv_geometry *g, const float *filter, float *flipped) {
  const size_t kh = (size_t)g->filter_height, kw = (size_t)g->filter_width;
  const size_t cin = (size_t)g->in_channels, cout = (size_t)g->out_channels;
  for (size_t i = 0; i < kh; i++)
    for (size_t j = 0; j < kw; j++)
      for (size_t ci = 0; ci < cin; ci++)
        for (size_t co = 0; co < cout; co++)
          flipped[((i * kw + j) * cout + co) * cin + ci] = filter[(((kh - 1 - i) * kw + (kw - 1 - j)) * cin + ci) * cout + co];
}

int swamp_conv2d_backprop_input(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm,
                                swamp_scratch *scratch, const float *dy, const float *filter,
                                float *dx) {
  swamp_conv_geometry t;
  /* Stride 1: a forward convolution of dy, which gathers (im2col or the direct kernel) where the
   * general path below scatters every product back with col2im; measured faster for every layer
   * of Conv-4 and ResNet-20. Pointwise layers keep their single GEMM. */
  if (g->out_height > 0 && g->out_width > 0 && !is_pointwise(g) && transposed_geometry(g, &t)) {
    float *flipped = (float *)malloc(swamp_conv_filter_size(g) * sizeof(float));
    if (flipped == NULL) return -1;
    flip_filter(g, filter, flipped);
    const int status = swamp_conv2d(&t, sgemm, scratch, dy, flipped, dx, NULL);
    free(flipped);
    return status;
  }
  const size_t rows = swamp_conv_rows(g);
  const int k = (int)swamp_conv_columns(g);
  const int cout = g->out_channels;
  if (is_pointwise(g)) {
    /* dx = dy · filterᵀ directly, with no col2im. */
    if (rows > 0) {
      const size_t step = (size_t)INT32_MAX;
      for (size_t r0 = 0; r0 < rows; r0 += step) {
        const size_t count = rows - r0 < step ? rows - r0 : step;
        sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_NO_TRANS, SWAMP_CBLAS_TRANS, (int)count, k, cout,
              1.0f, dy + r0 * (size_t)cout, cout, filter, cout, 0.0f, dx + r0 * (size_t)k, k);
      }
    }
    return 0;
  }
  memset(dx, 0, swamp_conv_input_size(g) * sizeof(float));
  if (rows == 0) return 0;
  const size_t step = block_rows(g);
  if (swamp_scratch_reserve(scratch, (step < rows ? step : rows) * (size_t)k) != 0) return -1;
  for (size_t r0 = 0; r0 < rows; r0 += step) {
    const size_t count = rows - r0 < step ? rows - r0 : step;
    sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_NO_TRANS, SWAMP_CBLAS_TRANS, (int)count, k, cout,
          1.0f, dy + r0 * (size_t)cout, cout, filter, cout, 0.0f, scratch->data, k);
    swamp_col2im(g, scratch->data, r0, count, dx);
  }
  return 0;
}

int swamp_conv2d_backprop_filter(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm,
                                 swamp_scratch *scratch, const float *x, const float *dy,
                                 float *dfilter) {
  const size_t rows = swamp_conv_rows(g);
  const int k = (int)swamp_conv_columns(g);
  const int cout = g->out_channels;
  if (rows == 0) {
    memset(dfilter, 0, swamp_conv_filter_size(g) * sizeof(float));
    return 0;
  }
  if (swamp_direct_conv_filter_suits(g)) return swamp_direct_conv_filter(g, x, dy, dfilter);
  if (swamp_winograd_suits(g)) return swamp_winograd_conv2d_filter(g, sgemm, scratch, x, dy, dfilter);
  const size_t step = block_rows(g);
  if (!is_pointwise(g) && swamp_scratch_reserve(scratch, (step < rows ? step : rows) * (size_t)k) != 0) return -1;
  for (size_t r0 = 0; r0 < rows; r0 += step) {
    const size_t count = rows - r0 < step ? rows - r0 : step;
    const float *a;
    if (is_pointwise(g)) {
      a = x + r0 * (size_t)k;
    } else {
      swamp_im2col(g, x, r0, count, scratch->data);
      a = scratch->data;
    }
    sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_TRANS, SWAMP_CBLAS_NO_TRANS, k, cout, (int)count,
          1.0f, a, k, dy + r0 * (size_t)cout, cout, r0 == 0 ? 0.0f : 1.0f, dfilter, cout);
  }
  return 0;
}
