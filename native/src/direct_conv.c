#include "direct_conv.h"

#include "cpu_features.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SWAMP_HAVE_AVX2_PATH 1
#else
#define SWAMP_HAVE_AVX2_PATH 0
#endif

/* Output channels at or below which the direct kernel beats im2col + GEMM (measured on ResNet-20's
 * and Conv-4's layers: 16 and 32 channels gain, 64 and more do not). */
enum { DIRECT_MAX_OUT_CHANNELS = 32 };
/* With the AVX-512 blocks the forward kernel (and the input gradient through it) also beats
 * im2col + GEMM at 64 channels (ResNet-20's third stage: 7×7 and 8×8, 5-20% faster); the filter
 * gradient does not (its blocks restart their accumulators every output row, and those rows are
 * short there), so it keeps DIRECT_MAX_OUT_CHANNELS. */
enum { DIRECT_MAX_OUT_CHANNELS_AVX512 = 64 };

#if SWAMP_HAVE_AVX2_PATH

/* The input rows that one output row reads, one per filter row, copied with their padding (zero
 * columns) and enough zero columns after them for the last register block to run whole. Every
 * output pixel then reads its taps from the panel without bounds checks. */
struct row_panel {
  float *data;
  size_t row_floats;   /* floats per panel row */
  size_t channels;
  size_t tap_step;     /* floats between horizontal taps: dilation · channels */
  int filter_width;
  int i_begin, i_end;  /* filter rows that fall inside the input */
};

/* One register block: P output pixels (consecutive along the row) × V vectors of 8 output
 * channels. Written out per (P, V) with one variable per accumulator: as arrays, GCC spilled them
 * to the stack. x_offset is the block's first pixel's first tap within a panel row. */
__attribute__((target("avx2,fma"))) static void block_8_1(const struct row_panel *panel, size_t x_offset, size_t pixel_step,
                                                            const float *w, size_t w_row, float *y, size_t y_step) {
  __m256 a00 = _mm256_setzero_ps();
  __m256 a10 = _mm256_setzero_ps();
  __m256 a20 = _mm256_setzero_ps();
  __m256 a30 = _mm256_setzero_ps();
  __m256 a40 = _mm256_setzero_ps();
  __m256 a50 = _mm256_setzero_ps();
  __m256 a60 = _mm256_setzero_ps();
  __m256 a70 = _mm256_setzero_ps();
  const size_t cin = panel->channels;
  for (int i = panel->i_begin; i < panel->i_end; i++) {
    for (int j = 0; j < panel->filter_width; j++) {
      const float *xt = panel->data + (size_t)i * panel->row_floats + x_offset + (size_t)j * panel->tap_step;
      const float *wt = w + ((size_t)i * panel->filter_width + j) * cin * w_row;
      for (size_t c = 0; c < cin; c++, xt++, wt += w_row) {
        const __m256 w0 = _mm256_loadu_ps(wt + 0);
        { const __m256 x = _mm256_broadcast_ss(xt + 0 * pixel_step); a00 = _mm256_fmadd_ps(x, w0, a00); }
        { const __m256 x = _mm256_broadcast_ss(xt + 1 * pixel_step); a10 = _mm256_fmadd_ps(x, w0, a10); }
        { const __m256 x = _mm256_broadcast_ss(xt + 2 * pixel_step); a20 = _mm256_fmadd_ps(x, w0, a20); }
        { const __m256 x = _mm256_broadcast_ss(xt + 3 * pixel_step); a30 = _mm256_fmadd_ps(x, w0, a30); }
        { const __m256 x = _mm256_broadcast_ss(xt + 4 * pixel_step); a40 = _mm256_fmadd_ps(x, w0, a40); }
        { const __m256 x = _mm256_broadcast_ss(xt + 5 * pixel_step); a50 = _mm256_fmadd_ps(x, w0, a50); }
        { const __m256 x = _mm256_broadcast_ss(xt + 6 * pixel_step); a60 = _mm256_fmadd_ps(x, w0, a60); }
        { const __m256 x = _mm256_broadcast_ss(xt + 7 * pixel_step); a70 = _mm256_fmadd_ps(x, w0, a70); }
      }
    }
  }
  _mm256_storeu_ps(y + 0 * y_step + 0, a00);
  _mm256_storeu_ps(y + 1 * y_step + 0, a10);
  _mm256_storeu_ps(y + 2 * y_step + 0, a20);
  _mm256_storeu_ps(y + 3 * y_step + 0, a30);
  _mm256_storeu_ps(y + 4 * y_step + 0, a40);
  _mm256_storeu_ps(y + 5 * y_step + 0, a50);
  _mm256_storeu_ps(y + 6 * y_step + 0, a60);
  _mm256_storeu_ps(y + 7 * y_step + 0, a70);
}

__attribute__((target("avx2,fma"))) static void block_6_2(const struct row_panel *panel, size_t x_offset, size_t pixel_step,
                                                            const float *w, size_t w_row, float *y, size_t y_step) {
  __m256 a00 = _mm256_setzero_ps(); __m256 a01 = _mm256_setzero_ps();
  __m256 a10 = _mm256_setzero_ps(); __m256 a11 = _mm256_setzero_ps();
  __m256 a20 = _mm256_setzero_ps(); __m256 a21 = _mm256_setzero_ps();
  __m256 a30 = _mm256_setzero_ps(); __m256 a31 = _mm256_setzero_ps();
  __m256 a40 = _mm256_setzero_ps(); __m256 a41 = _mm256_setzero_ps();
  __m256 a50 = _mm256_setzero_ps(); __m256 a51 = _mm256_setzero_ps();
  const size_t cin = panel->channels;
  for (int i = panel->i_begin; i < panel->i_end; i++) {
    for (int j = 0; j < panel->filter_width; j++) {
      const float *xt = panel->data + (size_t)i * panel->row_floats + x_offset + (size_t)j * panel->tap_step;
      const float *wt = w + ((size_t)i * panel->filter_width + j) * cin * w_row;
      for (size_t c = 0; c < cin; c++, xt++, wt += w_row) {
        const __m256 w0 = _mm256_loadu_ps(wt + 0);
        const __m256 w1 = _mm256_loadu_ps(wt + 8);
        { const __m256 x = _mm256_broadcast_ss(xt + 0 * pixel_step); a00 = _mm256_fmadd_ps(x, w0, a00); a01 = _mm256_fmadd_ps(x, w1, a01); }
        { const __m256 x = _mm256_broadcast_ss(xt + 1 * pixel_step); a10 = _mm256_fmadd_ps(x, w0, a10); a11 = _mm256_fmadd_ps(x, w1, a11); }
        { const __m256 x = _mm256_broadcast_ss(xt + 2 * pixel_step); a20 = _mm256_fmadd_ps(x, w0, a20); a21 = _mm256_fmadd_ps(x, w1, a21); }
        { const __m256 x = _mm256_broadcast_ss(xt + 3 * pixel_step); a30 = _mm256_fmadd_ps(x, w0, a30); a31 = _mm256_fmadd_ps(x, w1, a31); }
        { const __m256 x = _mm256_broadcast_ss(xt + 4 * pixel_step); a40 = _mm256_fmadd_ps(x, w0, a40); a41 = _mm256_fmadd_ps(x, w1, a41); }
        { const __m256 x = _mm256_broadcast_ss(xt + 5 * pixel_step); a50 = _mm256_fmadd_ps(x, w0, a50); a51 = _mm256_fmadd_ps(x, w1, a51); }
      }
    }
  }
  _mm256_storeu_ps(y + 0 * y_step + 0, a00); _mm256_storeu_ps(y + 0 * y_step + 8, a01);
  _mm256_storeu_ps(y + 1 * y_step + 0, a10); _mm256_storeu_ps(y + 1 * y_step + 8, a11);
  _mm256_storeu_ps(y + 2 * y_step + 0, a20); _mm256_storeu_ps(y + 2 * y_step + 8, a21);
  _mm256_storeu_ps(y + 3 * y_step + 0, a30); _mm256_storeu_ps(y + 3 * y_step + 8, a31);
  _mm256_storeu_ps(y + 4 * y_step + 0, a40); _mm256_storeu_ps(y + 4 * y_step + 8, a41);
  _mm256_storeu_ps(y + 5 * y_step + 0, a50); _mm256_storeu_ps(y + 5 * y_step + 8, a51);
}

__attribute__((target("avx2,fma"))) static void block_4_3(const struct row_panel *panel, size_t x_offset, size_t pixel_step,
                                                            const float *w, size_t w_row, float *y, size_t y_step) {
  __m256 a00 = _mm256_setzero_ps(); __m256 a01 = _mm256_setzero_ps(); __m256 a02 = _mm256_setzero_ps();
  __m256 a10 = _mm256_setzero_ps(); __m256 a11 = _mm256_setzero_ps(); __m256 a12 = _mm256_setzero_ps();
  __m256 a20 = _mm256_setzero_ps(); __m256 a21 = _mm256_setzero_ps(); __m256 a22 = _mm256_setzero_ps();
  __m256 a30 = _mm256_setzero_ps(); __m256 a31 = _mm256_setzero_ps(); __m256 a32 = _mm256_setzero_ps();
  const size_t cin = panel->channels;
  for (int i = panel->i_begin; i < panel->i_end; i++) {
    for (int j = 0; j < panel->filter_width; j++) {
      const float *xt = panel->data + (size_t)i * panel->row_floats + x_offset + (size_t)j * panel->tap_step;
      const float *wt = w + ((size_t)i * panel->filter_width + j) * cin * w_row;
      for (size_t c = 0; c < cin; c++, xt++, wt += w_row) {
        const __m256 w0 = _mm256_loadu_ps(wt + 0);
        const __m256 w1 = _mm256_loadu_ps(wt + 8);
        const __m256 w2 = _mm256_loadu_ps(wt + 16);
        { const __m256 x = _mm256_broadcast_ss(xt + 0 * pixel_step); a00 = _mm256_fmadd_ps(x, w0, a00); a01 = _mm256_fmadd_ps(x, w1, a01); a02 = _mm256_fmadd_ps(x, w2, a02); }
        { const __m256 x = _mm256_broadcast_ss(xt + 1 * pixel_step); a10 = _mm256_fmadd_ps(x, w0, a10); a11 = _mm256_fmadd_ps(x, w1, a11); a12 = _mm256_fmadd_ps(x, w2, a12); }
        { const __m256 x = _mm256_broadcast_ss(xt + 2 * pixel_step); a20 = _mm256_fmadd_ps(x, w0, a20); a21 = _mm256_fmadd_ps(x, w1, a21); a22 = _mm256_fmadd_ps(x, w2, a22); }
        { const __m256 x = _mm256_broadcast_ss(xt + 3 * pixel_step); a30 = _mm256_fmadd_ps(x, w0, a30); a31 = _mm256_fmadd_ps(x, w1, a31); a32 = _mm256_fmadd_ps(x, w2, a32); }
      }
    }
  }
  _mm256_storeu_ps(y + 0 * y_step + 0, a00); _mm256_storeu_ps(y + 0 * y_step + 8, a01); _mm256_storeu_ps(y + 0 * y_step + 16, a02);
  _mm256_storeu_ps(y + 1 * y_step + 0, a10); _mm256_storeu_ps(y + 1 * y_step + 8, a11); _mm256_storeu_ps(y + 1 * y_step + 16, a12);
  _mm256_storeu_ps(y + 2 * y_step + 0, a20); _mm256_storeu_ps(y + 2 * y_step + 8, a21); _mm256_storeu_ps(y + 2 * y_step + 16, a22);
  _mm256_storeu_ps(y + 3 * y_step + 0, a30); _mm256_storeu_ps(y + 3 * y_step + 8, a31); _mm256_storeu_ps(y + 3 * y_step + 16, a32);
}

__attribute__((target("avx2,fma"))) static void block_3_4(const struct row_panel *panel, size_t x_offset, size_t pixel_step,
                                                            const float *w, size_t w_row, float *y, size_t y_step) {
  __m256 a00 = _mm256_setzero_ps(); __m256 a01 = _mm256_setzero_ps(); __m256 a02 = _mm256_setzero_ps(); __m256 a03 = _mm256_setzero_ps();
  __m256 a10 = _mm256_setzero_ps(); __m256 a11 = _mm256_setzero_ps(); __m256 a12 = _mm256_setzero_ps(); __m256 a13 = _mm256_setzero_ps();
  __m256 a20 = _mm256_setzero_ps(); __m256 a21 = _mm256_setzero_ps(); __m256 a22 = _mm256_setzero_ps(); __m256 a23 = _mm256_setzero_ps();
  const size_t cin = panel->channels;
  for (int i = panel->i_begin; i < panel->i_end; i++) {
    for (int j = 0; j < panel->filter_width; j++) {
      const float *xt = panel->data + (size_t)i * panel->row_floats + x_offset + (size_t)j * panel->tap_step;
      const float *wt = w + ((size_t)i * panel->filter_width + j) * cin * w_row;
      for (size_t c = 0; c < cin; c++, xt++, wt += w_row) {
        const __m256 w0 = _mm256_loadu_ps(wt + 0);
        const __m256 w1 = _mm256_loadu_ps(wt + 8);
        const __m256 w2 = _mm256_loadu_ps(wt + 16);
        const __m256 w3 = _mm256_loadu_ps(wt + 24);
        { const __m256 x = _mm256_broadcast_ss(xt + 0 * pixel_step); a00 = _mm256_fmadd_ps(x, w0, a00); a01 = _mm256_fmadd_ps(x, w1, a01); a02 = _mm256_fmadd_ps(x, w2, a02); a03 = _mm256_fmadd_ps(x, w3, a03); }
        { const __m256 x = _mm256_broadcast_ss(xt + 1 * pixel_step); a10 = _mm256_fmadd_ps(x, w0, a10); a11 = _mm256_fmadd_ps(x, w1, a11); a12 = _mm256_fmadd_ps(x, w2, a12); a13 = _mm256_fmadd_ps(x, w3, a13); }
        { const __m256 x = _mm256_broadcast_ss(xt + 2 * pixel_step); a20 = _mm256_fmadd_ps(x, w0, a20); a21 = _mm256_fmadd_ps(x, w1, a21); a22 = _mm256_fmadd_ps(x, w2, a22); a23 = _mm256_fmadd_ps(x, w3, a23); }
      }
    }
  }
  _mm256_storeu_ps(y + 0 * y_step + 0, a00); _mm256_storeu_ps(y + 0 * y_step + 8, a01); _mm256_storeu_ps(y + 0 * y_step + 16, a02); _mm256_storeu_ps(y + 0 * y_step + 24, a03);
  _mm256_storeu_ps(y + 1 * y_step + 0, a10); _mm256_storeu_ps(y + 1 * y_step + 8, a11); _mm256_storeu_ps(y + 1 * y_step + 16, a12); _mm256_storeu_ps(y + 1 * y_step + 24, a13);
  _mm256_storeu_ps(y + 2 * y_step + 0, a20); _mm256_storeu_ps(y + 2 * y_step + 8, a21); _mm256_storeu_ps(y + 2 * y_step + 16, a22); _mm256_storeu_ps(y + 2 * y_step + 24, a23);
}

/* Pixels per register block for V vectors: P·V accumulators out of AVX2's 16 registers. */
static int block_pixels(int vectors) {
  static const int pixels[5] = {0, 8, 6, 4, 3};
  return pixels[vectors];
}

static void fill_panel(const swamp_conv_geometry *g, const float *x_image, int oh, struct row_panel *panel) {
  const size_t cin = (size_t)g->in_channels;
  const int ih0 = oh * g->stride_height - g->pad_top;
  panel->i_begin = 0;
  while (panel->i_begin < g->filter_height && ih0 + panel->i_begin * g->dilation_height < 0) panel->i_begin++;
  panel->i_end = g->filter_height;
  while (panel->i_end > panel->i_begin && ih0 + (panel->i_end - 1) * g->dilation_height >= g->in_height) panel->i_end--;
  const size_t columns = panel->row_floats / cin;
  for (int i = panel->i_begin; i < panel->i_end; i++) {
    const float *source = x_image + (size_t)(ih0 + i * g->dilation_height) * g->in_width * cin;
    float *row = panel->data + (size_t)i * panel->row_floats;
    /* Panel column k holds input column k − pad_left. */
    const size_t left = (size_t)g->pad_left < columns ? (size_t)g->pad_left : columns;
    const size_t inside = g->in_width < 0 ? 0 : ((size_t)g->in_width < columns - left ? (size_t)g->in_width : columns - left);
    memset(row, 0, left * cin * sizeof(float));
    memcpy(row + left * cin, source, inside * cin * sizeof(float));
    memset(row + (left + inside) * cin, 0, (columns - left - inside) * cin * sizeof(float));
  }
}

/* One register block of the filter gradient: P input channels × V vectors of 8 output channels
 * of one filter tap, accumulated over `pixels` output pixels into dw (rows dw_row apart). */
__attribute__((target("avx2,fma"))) static void filter_block_8_1(const float *x_taps, size_t x_step, const float *dy, size_t dy_step,
                                                                   size_t pixels, float *dw, size_t dw_row) {
  __m256 a00 = _mm256_loadu_ps(dw + 0 * dw_row + 0);
  __m256 a10 = _mm256_loadu_ps(dw + 1 * dw_row + 0);
  __m256 a20 = _mm256_loadu_ps(dw + 2 * dw_row + 0);
  __m256 a30 = _mm256_loadu_ps(dw + 3 * dw_row + 0);
  __m256 a40 = _mm256_loadu_ps(dw + 4 * dw_row + 0);
  __m256 a50 = _mm256_loadu_ps(dw + 5 * dw_row + 0);
  __m256 a60 = _mm256_loadu_ps(dw + 6 * dw_row + 0);
  __m256 a70 = _mm256_loadu_ps(dw + 7 * dw_row + 0);
  for (size_t k = 0; k < pixels; k++, x_taps += x_step, dy += dy_step) {
    const __m256 g0 = _mm256_loadu_ps(dy + 0);
    { const __m256 x = _mm256_broadcast_ss(x_taps + 0); a00 = _mm256_fmadd_ps(x, g0, a00); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 1); a10 = _mm256_fmadd_ps(x, g0, a10); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 2); a20 = _mm256_fmadd_ps(x, g0, a20); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 3); a30 = _mm256_fmadd_ps(x, g0, a30); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 4); a40 = _mm256_fmadd_ps(x, g0, a40); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 5); a50 = _mm256_fmadd_ps(x, g0, a50); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 6); a60 = _mm256_fmadd_ps(x, g0, a60); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 7); a70 = _mm256_fmadd_ps(x, g0, a70); }
  }
  _mm256_storeu_ps(dw + 0 * dw_row + 0, a00);
  _mm256_storeu_ps(dw + 1 * dw_row + 0, a10);
  _mm256_storeu_ps(dw + 2 * dw_row + 0, a20);
  _mm256_storeu_ps(dw + 3 * dw_row + 0, a30);
  _mm256_storeu_ps(dw + 4 * dw_row + 0, a40);
  _mm256_storeu_ps(dw + 5 * dw_row + 0, a50);
  _mm256_storeu_ps(dw + 6 * dw_row + 0, a60);
  _mm256_storeu_ps(dw + 7 * dw_row + 0, a70);
}

__attribute__((target("avx2,fma"))) static void filter_block_6_2(const float *x_taps, size_t x_step, const float *dy, size_t dy_step,
                                                                   size_t pixels, float *dw, size_t dw_row) {
  __m256 a00 = _mm256_loadu_ps(dw + 0 * dw_row + 0); __m256 a01 = _mm256_loadu_ps(dw + 0 * dw_row + 8);
  __m256 a10 = _mm256_loadu_ps(dw + 1 * dw_row + 0); __m256 a11 = _mm256_loadu_ps(dw + 1 * dw_row + 8);
  __m256 a20 = _mm256_loadu_ps(dw + 2 * dw_row + 0); __m256 a21 = _mm256_loadu_ps(dw + 2 * dw_row + 8);
  __m256 a30 = _mm256_loadu_ps(dw + 3 * dw_row + 0); __m256 a31 = _mm256_loadu_ps(dw + 3 * dw_row + 8);
  __m256 a40 = _mm256_loadu_ps(dw + 4 * dw_row + 0); __m256 a41 = _mm256_loadu_ps(dw + 4 * dw_row + 8);
  __m256 a50 = _mm256_loadu_ps(dw + 5 * dw_row + 0); __m256 a51 = _mm256_loadu_ps(dw + 5 * dw_row + 8);
  for (size_t k = 0; k < pixels; k++, x_taps += x_step, dy += dy_step) {
    const __m256 g0 = _mm256_loadu_ps(dy + 0);
    const __m256 g1 = _mm256_loadu_ps(dy + 8);
    { const __m256 x = _mm256_broadcast_ss(x_taps + 0); a00 = _mm256_fmadd_ps(x, g0, a00); a01 = _mm256_fmadd_ps(x, g1, a01); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 1); a10 = _mm256_fmadd_ps(x, g0, a10); a11 = _mm256_fmadd_ps(x, g1, a11); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 2); a20 = _mm256_fmadd_ps(x, g0, a20); a21 = _mm256_fmadd_ps(x, g1, a21); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 3); a30 = _mm256_fmadd_ps(x, g0, a30); a31 = _mm256_fmadd_ps(x, g1, a31); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 4); a40 = _mm256_fmadd_ps(x, g0, a40); a41 = _mm256_fmadd_ps(x, g1, a41); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 5); a50 = _mm256_fmadd_ps(x, g0, a50); a51 = _mm256_fmadd_ps(x, g1, a51); }
  }
  _mm256_storeu_ps(dw + 0 * dw_row + 0, a00); _mm256_storeu_ps(dw + 0 * dw_row + 8, a01);
  _mm256_storeu_ps(dw + 1 * dw_row + 0, a10); _mm256_storeu_ps(dw + 1 * dw_row + 8, a11);
  _mm256_storeu_ps(dw + 2 * dw_row + 0, a20); _mm256_storeu_ps(dw + 2 * dw_row + 8, a21);
  _mm256_storeu_ps(dw + 3 * dw_row + 0, a30); _mm256_storeu_ps(dw + 3 * dw_row + 8, a31);
  _mm256_storeu_ps(dw + 4 * dw_row + 0, a40); _mm256_storeu_ps(dw + 4 * dw_row + 8, a41);
  _mm256_storeu_ps(dw + 5 * dw_row + 0, a50); _mm256_storeu_ps(dw + 5 * dw_row + 8, a51);
}

__attribute__((target("avx2,fma"))) static void filter_block_4_3(const float *x_taps, size_t x_step, const float *dy, size_t dy_step,
                                                                   size_t pixels, float *dw, size_t dw_row) {
  __m256 a00 = _mm256_loadu_ps(dw + 0 * dw_row + 0); __m256 a01 = _mm256_loadu_ps(dw + 0 * dw_row + 8); __m256 a02 = _mm256_loadu_ps(dw + 0 * dw_row + 16);
  __m256 a10 = _mm256_loadu_ps(dw + 1 * dw_row + 0); __m256 a11 = _mm256_loadu_ps(dw + 1 * dw_row + 8); __m256 a12 = _mm256_loadu_ps(dw + 1 * dw_row + 16);
  __m256 a20 = _mm256_loadu_ps(dw + 2 * dw_row + 0); __m256 a21 = _mm256_loadu_ps(dw + 2 * dw_row + 8); __m256 a22 = _mm256_loadu_ps(dw + 2 * dw_row + 16);
  __m256 a30 = _mm256_loadu_ps(dw + 3 * dw_row + 0); __m256 a31 = _mm256_loadu_ps(dw + 3 * dw_row + 8); __m256 a32 = _mm256_loadu_ps(dw + 3 * dw_row + 16);
  for (size_t k = 0; k < pixels; k++, x_taps += x_step, dy += dy_step) {
    const __m256 g0 = _mm256_loadu_ps(dy + 0);
    const __m256 g1 = _mm256_loadu_ps(dy + 8);
    const __m256 g2 = _mm256_loadu_ps(dy + 16);
    { const __m256 x = _mm256_broadcast_ss(x_taps + 0); a00 = _mm256_fmadd_ps(x, g0, a00); a01 = _mm256_fmadd_ps(x, g1, a01); a02 = _mm256_fmadd_ps(x, g2, a02); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 1); a10 = _mm256_fmadd_ps(x, g0, a10); a11 = _mm256_fmadd_ps(x, g1, a11); a12 = _mm256_fmadd_ps(x, g2, a12); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 2); a20 = _mm256_fmadd_ps(x, g0, a20); a21 = _mm256_fmadd_ps(x, g1, a21); a22 = _mm256_fmadd_ps(x, g2, a22); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 3); a30 = _mm256_fmadd_ps(x, g0, a30); a31 = _mm256_fmadd_ps(x, g1, a31); a32 = _mm256_fmadd_ps(x, g2, a32); }
  }
  _mm256_storeu_ps(dw + 0 * dw_row + 0, a00); _mm256_storeu_ps(dw + 0 * dw_row + 8, a01); _mm256_storeu_ps(dw + 0 * dw_row + 16, a02);
  _mm256_storeu_ps(dw + 1 * dw_row + 0, a10); _mm256_storeu_ps(dw + 1 * dw_row + 8, a11); _mm256_storeu_ps(dw + 1 * dw_row + 16, a12);
  _mm256_storeu_ps(dw + 2 * dw_row + 0, a20); _mm256_storeu_ps(dw + 2 * dw_row + 8, a21); _mm256_storeu_ps(dw + 2 * dw_row + 16, a22);
  _mm256_storeu_ps(dw + 3 * dw_row + 0, a30); _mm256_storeu_ps(dw + 3 * dw_row + 8, a31); _mm256_storeu_ps(dw + 3 * dw_row + 16, a32);
}

__attribute__((target("avx2,fma"))) static void filter_block_3_4(const float *x_taps, size_t x_step, const float *dy, size_t dy_step,
                                                                   size_t pixels, float *dw, size_t dw_row) {
  __m256 a00 = _mm256_loadu_ps(dw + 0 * dw_row + 0); __m256 a01 = _mm256_loadu_ps(dw + 0 * dw_row + 8); __m256 a02 = _mm256_loadu_ps(dw + 0 * dw_row + 16); __m256 a03 = _mm256_loadu_ps(dw + 0 * dw_row + 24);
  __m256 a10 = _mm256_loadu_ps(dw + 1 * dw_row + 0); __m256 a11 = _mm256_loadu_ps(dw + 1 * dw_row + 8); __m256 a12 = _mm256_loadu_ps(dw + 1 * dw_row + 16); __m256 a13 = _mm256_loadu_ps(dw + 1 * dw_row + 24);
  __m256 a20 = _mm256_loadu_ps(dw + 2 * dw_row + 0); __m256 a21 = _mm256_loadu_ps(dw + 2 * dw_row + 8); __m256 a22 = _mm256_loadu_ps(dw + 2 * dw_row + 16); __m256 a23 = _mm256_loadu_ps(dw + 2 * dw_row + 24);
  for (size_t k = 0; k < pixels; k++, x_taps += x_step, dy += dy_step) {
    const __m256 g0 = _mm256_loadu_ps(dy + 0);
    const __m256 g1 = _mm256_loadu_ps(dy + 8);
    const __m256 g2 = _mm256_loadu_ps(dy + 16);
    const __m256 g3 = _mm256_loadu_ps(dy + 24);
    { const __m256 x = _mm256_broadcast_ss(x_taps + 0); a00 = _mm256_fmadd_ps(x, g0, a00); a01 = _mm256_fmadd_ps(x, g1, a01); a02 = _mm256_fmadd_ps(x, g2, a02); a03 = _mm256_fmadd_ps(x, g3, a03); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 1); a10 = _mm256_fmadd_ps(x, g0, a10); a11 = _mm256_fmadd_ps(x, g1, a11); a12 = _mm256_fmadd_ps(x, g2, a12); a13 = _mm256_fmadd_ps(x, g3, a13); }
    { const __m256 x = _mm256_broadcast_ss(x_taps + 2); a20 = _mm256_fmadd_ps(x, g0, a20); a21 = _mm256_fmadd_ps(x, g1, a21); a22 = _mm256_fmadd_ps(x, g2, a22); a23 = _mm256_fmadd_ps(x, g3, a23); }
  }
  _mm256_storeu_ps(dw + 0 * dw_row + 0, a00); _mm256_storeu_ps(dw + 0 * dw_row + 8, a01); _mm256_storeu_ps(dw + 0 * dw_row + 16, a02); _mm256_storeu_ps(dw + 0 * dw_row + 24, a03);
  _mm256_storeu_ps(dw + 1 * dw_row + 0, a10); _mm256_storeu_ps(dw + 1 * dw_row + 8, a11); _mm256_storeu_ps(dw + 1 * dw_row + 16, a12); _mm256_storeu_ps(dw + 1 * dw_row + 24, a13);
  _mm256_storeu_ps(dw + 2 * dw_row + 0, a20); _mm256_storeu_ps(dw + 2 * dw_row + 8, a21); _mm256_storeu_ps(dw + 2 * dw_row + 16, a22); _mm256_storeu_ps(dw + 2 * dw_row + 24, a23);
}

/* AVX-512: the same register blocks with 16-float vectors and twice the registers, so a block
 * holds two to three times the accumulators of the AVX2 ones (a 16-channel layer's block is 28
 * pixels instead of 8). Output channels that are a multiple of 8 but not of 16 run their last
 * vector masked. */

static int use_avx512(void) {
  return swamp_simd_level_in_use() == SWAMP_SIMD_AVX512;
}

#define AVX512_TARGET __attribute__((target("avx512f,fma")))

/* One block's body for any P (≤ 28) and V (≤ 2) known at compile time: each instance is written
 * through always_inline with constant P and V, so the untaken accumulators vanish and the rest
 * stay named scalars in registers (arrays of them were spilled, see block_8_1). */
#define EACH_OF_28(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
  X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27)

#define ZERO_ACCUMULATORS(p) \
  __m512 a##p##_0 = _mm512_setzero_ps(), a##p##_1 = _mm512_setzero_ps();

/* Vector v of a row of 16·V floats whose last vector holds only the lanes in `last`. */
#define LOAD_VECTOR(address, v) \
  (V > (v) ? (V == (v) + 1 ? _mm512_maskz_loadu_ps(last, (address) + 16 * (v)) : _mm512_loadu_ps((address) + 16 * (v))) : _mm512_setzero_ps())
#define STORE_VECTOR(address, v, value) \
  if (V > (v)) { if (V == (v) + 1) _mm512_mask_storeu_ps((address) + 16 * (v), last, value); else _mm512_storeu_ps((address) + 16 * (v), value); }

#define MULTIPLY_ADD(p, x_value)                                  \
  if ((p) < P) {                                                 \
    const __m512 x = _mm512_set1_ps(x_value);                     \
    a##p##_0 = _mm512_fmadd_ps(x, v0, a##p##_0);                  \
    if (V > 1) a##p##_1 = _mm512_fmadd_ps(x, v1, a##p##_1);       \
  }

#define FORWARD_STEP(p) MULTIPLY_ADD(p, xt[(size_t)(p) * pixel_step])
#define FORWARD_STORE(p)                                \
  if ((p) < P && (p) < valid) {                          \
    float *yp = y + (size_t)(p) * y_step;                \
    STORE_VECTOR(yp, 0, a##p##_0) STORE_VECTOR(yp, 1, a##p##_1) \
  }

/* P output pixels × V vectors of 16 output channels; only the first `valid` pixels are stored. */
static inline __attribute__((always_inline)) AVX512_TARGET void forward_block_512(
    const struct row_panel *panel, size_t x_offset, size_t pixel_step, const float *w, size_t w_row, __mmask16 last,
    float *y, size_t y_step, int valid, const int P, const int V, const size_t FIXED_STEP) {
  EACH_OF_28(ZERO_ACCUMULATORS)
  const size_t cin = panel->channels;
  if (FIXED_STEP != 0) pixel_step = FIXED_STEP;
  for (int i = panel->i_begin; i < panel->i_end; i++) {
    for (int j = 0; j < panel->filter_width; j++) {
      const float *xt = panel->data + (size_t)i * panel->row_floats + x_offset + (size_t)j * panel->tap_step;
      const float *wt = w + ((size_t)i * panel->filter_width + j) * cin * w_row;
      for (size_t c = 0; c < cin; c++, xt++, wt += w_row) {
        const __m512 v0 = LOAD_VECTOR(wt, 0);
        const __m512 v1 = LOAD_VECTOR(wt, 1);
        EACH_OF_28(FORWARD_STEP)
      }
    }
  }
  EACH_OF_28(FORWARD_STORE)
}

#define FILTER_LOAD(p) \
  if ((p) < P) { a##p##_0 = LOAD_VECTOR(dw + (size_t)(p) * dw_row, 0); a##p##_1 = LOAD_VECTOR(dw + (size_t)(p) * dw_row, 1); }
#define FILTER_STEP(p) MULTIPLY_ADD(p, x_taps[p])
#define FILTER_STORE(p)                                 \
  if ((p) < P) {                                         \
    float *dwp = dw + (size_t)(p) * dw_row;              \
    STORE_VECTOR(dwp, 0, a##p##_0) STORE_VECTOR(dwp, 1, a##p##_1) \
  }

/* P input channels × V vectors of 16 output channels of one filter tap, over `pixels` pixels. */
static inline __attribute__((always_inline)) AVX512_TARGET void filter_block_512(
    const float *x_taps, size_t x_step, const float *dy, size_t dy_step, size_t pixels, __mmask16 last,
    float *dw, size_t dw_row, const int P, const int V) {
  EACH_OF_28(ZERO_ACCUMULATORS)
  EACH_OF_28(FILTER_LOAD)
  for (size_t k = 0; k < pixels; k++, x_taps += x_step, dy += dy_step) {
    const __m512 v0 = LOAD_VECTOR(dy, 0);
    const __m512 v1 = LOAD_VECTOR(dy, 1);
    EACH_OF_28(FILTER_STEP)
  }
  EACH_OF_28(FILTER_STORE)
}

typedef void (*forward_block_512_fn)(const struct row_panel *panel, size_t x_offset, size_t pixel_step, const float *w,
                                     size_t w_row, __mmask16 last, float *y, size_t y_step, int valid);
typedef void (*filter_block_512_fn)(const float *x_taps, size_t x_step, const float *dy, size_t dy_step, size_t pixels,
                                    __mmask16 last, float *dw, size_t dw_row);

/* Each forward block twice: for any pixel step, and for a pixel step of 16·V floats (input channels
 * equal to output channels at stride 1, or half of them at stride 2: most of ResNet-20's layers),
 * where the P pixels' taps are constant offsets from one pointer. With a variable step they need
 * P address registers, and for P > ~12 GCC spills them, adding a load per FMA. */
#define FORWARD_BLOCK_512(P, V)                                                                                           \
  AVX512_TARGET static void forward_block_512_##P##_##V(const struct row_panel *panel, size_t x_offset, size_t pixel_step, \
                                                        const float *w, size_t w_row, __mmask16 last, float *y,          \
                                                        size_t y_step, int valid) {                                      \
    forward_block_512(panel, x_offset, pixel_step, w, w_row, last, y, y_step, valid, P, V, 0);                          \
  }                                                                                                                       \
  AVX512_TARGET static void forward_block_512_##P##_##V##_fixed(const struct row_panel *panel, size_t x_offset,         \
                                                                size_t pixel_step, const float *w, size_t w_row,         \
                                                                __mmask16 last, float *y, size_t y_step, int valid) {    \
    forward_block_512(panel, x_offset, pixel_step, w, w_row, last, y, y_step, valid, P, V, 16 * (V));                   \
  }
#define FILTER_BLOCK_512(P, V)                                                                                             \
  AVX512_TARGET static void filter_block_512_##P##_##V(const float *x_taps, size_t x_step, const float *dy, size_t dy_step, \
                                                       size_t pixels, __mmask16 last, float *dw, size_t dw_row) {         \
    filter_block_512(x_taps, x_step, dy, dy_step, pixels, last, dw, dw_row, P, V);                                        \
  }

/* Block sizes: P·V accumulators + V weight vectors + one broadcast within AVX-512's 32 registers. */
FORWARD_BLOCK_512(28, 1) FORWARD_BLOCK_512(24, 1) FORWARD_BLOCK_512(16, 1) FORWARD_BLOCK_512(14, 1)
FORWARD_BLOCK_512(12, 1) FORWARD_BLOCK_512(10, 1) FORWARD_BLOCK_512(8, 1) FORWARD_BLOCK_512(7, 1)
FORWARD_BLOCK_512(14, 2) FORWARD_BLOCK_512(12, 2) FORWARD_BLOCK_512(10, 2) FORWARD_BLOCK_512(8, 2) FORWARD_BLOCK_512(7, 2)

FILTER_BLOCK_512(24, 1) FILTER_BLOCK_512(16, 1) FILTER_BLOCK_512(12, 1) FILTER_BLOCK_512(8, 1)
FILTER_BLOCK_512(12, 2) FILTER_BLOCK_512(8, 2)

/* Largest P first: among blocks of equal waste the larger one loads its weights less often. */
#define FORWARD_ENTRY_512(P, V) {P, V, forward_block_512_##P##_##V, forward_block_512_##P##_##V##_fixed}
static const struct { int pixels, vectors; forward_block_512_fn run, run_fixed_step; } forward_blocks_512[] = {
    FORWARD_ENTRY_512(28, 1), FORWARD_ENTRY_512(24, 1), FORWARD_ENTRY_512(16, 1), FORWARD_ENTRY_512(14, 1),
    FORWARD_ENTRY_512(12, 1), FORWARD_ENTRY_512(10, 1), FORWARD_ENTRY_512(8, 1),  FORWARD_ENTRY_512(7, 1),
    FORWARD_ENTRY_512(14, 2), FORWARD_ENTRY_512(12, 2), FORWARD_ENTRY_512(10, 2), FORWARD_ENTRY_512(8, 2),
    FORWARD_ENTRY_512(7, 2)};

static const struct { int channels, vectors; filter_block_512_fn run; } filter_blocks_512[] = {
    {24, 1, filter_block_512_24_1}, {16, 1, filter_block_512_16_1}, {12, 1, filter_block_512_12_1},
    {8, 1, filter_block_512_8_1},   {12, 2, filter_block_512_12_2}, {8, 2, filter_block_512_8_2}};

/* The forward block for V vectors that computes the fewest pixels past the row's end. */
static int choose_forward_block_512(int vectors, int out_width) {
  int best = -1;
  long best_pixels = 0;
  for (int b = 0; b < (int)(sizeof forward_blocks_512 / sizeof forward_blocks_512[0]); b++) {
    if (forward_blocks_512[b].vectors != vectors) continue;
    const long p = forward_blocks_512[b].pixels;
    const long computed = (out_width + p - 1) / p * p;
    if (best < 0 || computed < best_pixels) best = b, best_pixels = computed;
  }
  return best;
}

/* The filter-gradient block for V vectors that pads the input channels least. */
static int choose_filter_block_512(int vectors, int in_channels) {
  int best = -1;
  long best_padded = 0;
  for (int b = 0; b < (int)(sizeof filter_blocks_512 / sizeof filter_blocks_512[0]); b++) {
    if (filter_blocks_512[b].vectors != vectors) continue;
    const long p = filter_blocks_512[b].channels;
    const long padded = (in_channels + p - 1) / p * p;
    if (best < 0 || padded < best_padded) best = b, best_padded = padded;
  }
  return best;
}

static __mmask16 last_vector_mask(size_t channels) {
  const size_t rest = channels % 16;
  return rest == 0 ? (__mmask16)0xFFFF : (__mmask16)((1u << rest) - 1);
}

/* Forward chunks of up to 32 output channels (two vectors), so that 14-pixel blocks fit. */
enum { FORWARD_CHUNK_512 = 32 };

static int direct_conv_avx512(const swamp_conv_geometry *g, const float *x, const float *filter, float *y,
                              const swamp_epilogue *epilogue) {
  const size_t cin = (size_t)g->in_channels;
  const size_t cout = (size_t)g->out_channels;
  /* Blocks may run past the row: the panel has zero columns for them, and their pixels are not stored. */
  size_t pixels = (size_t)g->out_width;
  for (int co0 = 0; co0 < g->out_channels; co0 += FORWARD_CHUNK_512) {
    const int width = g->out_channels - co0 < FORWARD_CHUNK_512 ? g->out_channels - co0 : FORWARD_CHUNK_512;
    const size_t p = (size_t)forward_blocks_512[choose_forward_block_512((width + 15) / 16, g->out_width)].pixels;
    const size_t computed = ((size_t)g->out_width + p - 1) / p * p;
    if (computed > pixels) pixels = computed;
  }
  const size_t columns = (pixels - 1) * (size_t)g->stride_width + (size_t)(g->filter_width - 1) * g->dilation_width + 1;
  struct row_panel panel = {
      .row_floats = columns * cin, .channels = cin, .tap_step = (size_t)g->dilation_width * cin,
      .filter_width = g->filter_width, .i_begin = 0, .i_end = 0};
  panel.data = (float *)malloc((size_t)g->filter_height * panel.row_floats * sizeof(float));
  if (panel.data == NULL) return -1;
  const size_t pixel_step = (size_t)g->stride_width * cin;
  for (int n = 0; n < g->batch; n++) {
    const float *x_image = x + (size_t)n * g->in_height * g->in_width * cin;
    for (int oh = 0; oh < g->out_height; oh++) {
      fill_panel(g, x_image, oh, &panel);
      float *y_row = y + ((size_t)n * g->out_height + oh) * g->out_width * cout;
      for (int co0 = 0; co0 < g->out_channels; co0 += FORWARD_CHUNK_512) {
        const int width = g->out_channels - co0 < FORWARD_CHUNK_512 ? g->out_channels - co0 : FORWARD_CHUNK_512;
        const int b = choose_forward_block_512((width + 15) / 16, g->out_width);
        const int block = forward_blocks_512[b].pixels;
        const __mmask16 last = last_vector_mask((size_t)width);
        const int vectors = forward_blocks_512[b].vectors;
        const forward_block_512_fn run =
            pixel_step == (size_t)16 * vectors ? forward_blocks_512[b].run_fixed_step : forward_blocks_512[b].run;
        for (int ow = 0; ow < g->out_width; ow += block) {
          run(&panel, (size_t)ow * pixel_step, pixel_step, filter + co0, cout, last,
                                    y_row + (size_t)ow * cout + co0, cout, g->out_width - ow);
        }
      }
      swamp_epilogue_apply(epilogue, y_row, (size_t)g->out_width, cout);
    }
  }
  free(panel.data);
  return 0;
}

/* The filter gradient: dW[i, j, c, :] = Σ over output pixels of x[pixel's tap (i, j), c] · dy[pixel, :].
 * Input channels are zero-padded to a multiple of the block's P in the panels (and in a padded
 * copy of dW), so every block runs whole; few input channels would mostly compute padding, so
 * those layers (a network's first) stay on im2col + GEMM (see swamp_direct_conv_filter_suits). */
int swamp_direct_conv_filter(const swamp_conv_geometry *g, const float *x, const float *dy, float *dfilter) {
  const size_t cin = (size_t)g->in_channels;
  const size_t cout = (size_t)g->out_channels;
  const size_t taps = (size_t)g->filter_height * g->filter_width;
  /* swamp_direct_conv_filter_suits keeps cout ≤ 32: one chunk of output channels, one block height. */
  const int avx512 = use_avx512();
  const int vectors = avx512 ? (int)((cout + 15) / 16) : (int)(cout / 8);
  const int block_512 = avx512 ? choose_filter_block_512(vectors, g->in_channels) : -1;
  const size_t block = avx512 ? (size_t)filter_blocks_512[block_512].channels : (size_t)block_pixels(vectors);
  const __mmask16 last = last_vector_mask(cout);
  const size_t padded = (cin + block - 1) / block * block;
  const size_t columns = (size_t)(g->out_width - 1) * g->stride_width + (size_t)(g->filter_width - 1) * g->dilation_width + 1;
  const size_t row_floats = columns * padded;
  float *panel = (float *)malloc((size_t)g->filter_height * row_floats * sizeof(float));
  float *dw = (float *)calloc(taps * padded * cout, sizeof(float));
  if (panel == NULL || dw == NULL) {
    free(panel);
    free(dw);
    return -1;
  }
  const size_t x_step = (size_t)g->stride_width * padded;
  for (int n = 0; n < g->batch; n++) {
    const float *x_image = x + (size_t)n * g->in_height * g->in_width * cin;
    for (int oh = 0; oh < g->out_height; oh++) {
      const int ih0 = oh * g->stride_height - g->pad_top;
      int i_begin = 0;
      while (i_begin < g->filter_height && ih0 + i_begin * g->dilation_height < 0) i_begin++;
      int i_end = g->filter_height;
      while (i_end > i_begin && ih0 + (i_end - 1) * g->dilation_height >= g->in_height) i_end--;
      for (int i = i_begin; i < i_end; i++) {
        const float *source = x_image + (size_t)(ih0 + i * g->dilation_height) * g->in_width * cin;
        float *row = panel + (size_t)i * row_floats;
        for (size_t col = 0; col < columns; col++) {
          const long iw = (long)col - g->pad_left;
          float *cell = row + col * padded;
          if (iw >= 0 && iw < g->in_width) {
            memcpy(cell, source + (size_t)iw * cin, cin * sizeof(float));
            memset(cell + cin, 0, (padded - cin) * sizeof(float));
          } else {
            memset(cell, 0, padded * sizeof(float));
          }
        }
      }
      const float *dy_row = dy + ((size_t)n * g->out_height + oh) * g->out_width * cout;
      {
        const size_t co0 = 0;
        for (int i = i_begin; i < i_end; i++) {
          for (int j = 0; j < g->filter_width; j++) {
            const float *x_tap = panel + (size_t)i * row_floats + (size_t)j * g->dilation_width * padded;
            float *dw_tap = dw + ((size_t)i * g->filter_width + j) * padded * cout + co0;
            for (size_t c0 = 0; c0 < padded; c0 += block) {
              const float *xt = x_tap + c0;
              float *out = dw_tap + c0 * cout;
              if (avx512) {
                filter_blocks_512[block_512].run(xt, x_step, dy_row + co0, cout, (size_t)g->out_width, last, out, cout);
                continue;
              }
              switch (vectors) {
                case 1: filter_block_8_1(xt, x_step, dy_row + co0, cout, (size_t)g->out_width, out, cout); break;
                case 2: filter_block_6_2(xt, x_step, dy_row + co0, cout, (size_t)g->out_width, out, cout); break;
                case 3: filter_block_4_3(xt, x_step, dy_row + co0, cout, (size_t)g->out_width, out, cout); break;
                default: filter_block_3_4(xt, x_step, dy_row + co0, cout, (size_t)g->out_width, out, cout); break;
              }
            }
          }
        }
      }
    }
  }
  for (size_t t = 0; t < taps; t++)
    memcpy(dfilter + t * cin * cout, dw + t * padded * cout, cin * cout * sizeof(float));
  free(panel);
  free(dw);
  return 0;
}

int swamp_direct_conv_filter_suits(const swamp_conv_geometry *g) {
  return swamp_direct_conv_suits(g) && g->out_channels <= DIRECT_MAX_OUT_CHANNELS && g->in_channels >= 8;
}

int swamp_direct_conv_suits(const swamp_conv_geometry *g) {
  /* An escape hatch for comparing with the GEMM path (read per call: it is a cheap lookup). */
  if (swamp_native_switched_off("SWAMP_NATIVE_DIRECT_CONV")) return 0;
  const int max_out_channels = use_avx512() ? DIRECT_MAX_OUT_CHANNELS_AVX512 : DIRECT_MAX_OUT_CHANNELS;
  return swamp_simd_level_in_use() >= SWAMP_SIMD_AVX2 && g->out_channels % 8 == 0 && g->out_channels <= max_out_channels;
}

int swamp_direct_conv(const swamp_conv_geometry *g, const float *x, const float *filter, float *y,
                      const swamp_epilogue *epilogue) {
  if (use_avx512()) return direct_conv_avx512(g, x, filter, y, epilogue);
  const size_t cin = (size_t)g->in_channels;
  const size_t cout = (size_t)g->out_channels;
  const int widest_block = 8;
  /* The last block may run up to widest_block − 1 pixels past the row: their columns are zeros. */
  const size_t pixels = (size_t)g->out_width + widest_block - 1;
  const size_t columns = (pixels - 1) * (size_t)g->stride_width + (size_t)(g->filter_width - 1) * g->dilation_width + 1;
  struct row_panel panel = {
      .row_floats = columns * cin, .channels = cin, .tap_step = (size_t)g->dilation_width * cin,
      .filter_width = g->filter_width, .i_begin = 0, .i_end = 0};
  panel.data = (float *)malloc((size_t)g->filter_height * panel.row_floats * sizeof(float));
  float *tail = (float *)malloc((size_t)widest_block * cout * sizeof(float));
  if (panel.data == NULL || tail == NULL) {
    free(panel.data);
    free(tail);
    return -1;
  }
  const size_t pixel_step = (size_t)g->stride_width * cin;
  for (int n = 0; n < g->batch; n++) {
    const float *x_image = x + (size_t)n * g->in_height * g->in_width * cin;
    for (int oh = 0; oh < g->out_height; oh++) {
      fill_panel(g, x_image, oh, &panel);
      float *y_row = y + ((size_t)n * g->out_height + oh) * g->out_width * cout;
      for (int co0 = 0; co0 < g->out_channels; co0 += 32) {
        const int remaining = (g->out_channels - co0) / 8;
        const int vectors = remaining < 4 ? remaining : 4;
        const int block = block_pixels(vectors);
        const float *w = filter + co0;
        for (int ow = 0; ow < g->out_width; ow += block) {
          const int whole = ow + block <= g->out_width;
          float *out = whole ? y_row + (size_t)ow * cout + co0 : tail;
          const size_t step = whole ? cout : (size_t)vectors * 8;
          const size_t x_offset = (size_t)ow * pixel_step;
          switch (vectors) {
            case 1: block_8_1(&panel, x_offset, pixel_step, w, cout, out, step); break;
            case 2: block_6_2(&panel, x_offset, pixel_step, w, cout, out, step); break;
            case 3: block_4_3(&panel, x_offset, pixel_step, w, cout, out, step); break;
            default: block_3_4(&panel, x_offset, pixel_step, w, cout, out, step); break;
          }
          if (!whole) {
            for (int p = 0; p < g->out_width - ow; p++)
              memcpy(y_row + (size_t)(ow + p) * cout + co0, tail + (size_t)p * step, step * sizeof(float));
          }
        }
      }
      swamp_epilogue_apply(epilogue, y_row, (size_t)g->out_width, cout);
    }
  }
  free(panel.data);
  free(tail);
  return 0;
}

#else

int swamp_direct_conv_filter_suits(const swamp_conv_geometry *g) {
  (void)g;
  return 0;
}

int swamp_direct_conv_filter(const swamp_conv_geometry *g, const float *x, const float *dy, float *dfilter) {
  (void)g;
  (void)x;
  (void)dy;
  (void)dfilter;
  return -1;
}

int swamp_direct_conv_suits(const swamp_conv_geometry *g) {
  (void)g;
  return 0;
}

int swamp_direct_conv(const swamp_conv_geometry *g, const float *x, const float *filter, float *y,
                      const swamp_epilogue *epilogue) {
  (void)g;
  (void)x;
  (void)filter;
  (void)y;
  (void)epilogue;
  return -1;
}

#endif
