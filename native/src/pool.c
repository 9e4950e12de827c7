#include "pool.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Windows that tile the input exactly (stride = window, no padding or dilation, nothing left
 * over), as every model here pools: each input element belongs to one window, so dx is written
 * once, without zeroing it first or accumulating. */
static int tiles_input(const swamp_conv_geometry *g) {
  return g->stride_height == g->filter_height && g->stride_width == g->filter_width &&
         g->dilation_height == 1 && g->dilation_width == 1 && g->pad_top == 0 && g->pad_left == 0 &&
         g->out_height * g->stride_height == g->in_height && g->out_width * g->stride_width == g->in_width;
}

/* For each channel, the first window tap (row-major) holding the window's maximum, or -1 when no
 * element compares greater than -infinity (all NaN or -infinity); written branch-free so the
 * channel loop vectorises. */
static void window_argmax(const swamp_conv_geometry *g, const float *xn, int oh, int ow, size_t channels,
                          float *restrict best, int32_t *restrict tap) {
  for (size_t c = 0; c < channels; c++) {
    best[c] = -INFINITY;
    tap[c] = -1;
  }
  for (int i = 0; i < g->filter_height; i++) {
    const int ih = oh * g->stride_height - g->pad_top + i * g->dilation_height;
    if (ih < 0 || ih >= g->in_height) continue;
    for (int j = 0; j < g->filter_width; j++) {
      const int iw = ow * g->stride_width - g->pad_left + j * g->dilation_width;
      if (iw < 0 || iw >= g->in_width) continue;
      const float *restrict px = xn + ((size_t)ih * g->in_width + iw) * channels;
      const int32_t k = i * g->filter_width + j;
      for (size_t c = 0; c < channels; c++) {
        const int greater = px[c] > best[c];
        best[c] = greater ? px[c] : best[c];
        tap[c] = greater ? k : tap[c];
      }
    }
  }
}

#if defined(__SSE2__)
/* The tiled case, four channels at a time in registers: every window's maximum and first tap
 * holding it, then each tap's gradient (dy where it is that tap, else 0) written in place. */
static void tiled_backward_sse2(const swamp_conv_geometry *g, const float *x, const float *dy, float *dx) {
  const size_t channels = (size_t)g->in_channels;
  const size_t row = (size_t)g->in_width * channels;
  const int taps = g->filter_height * g->filter_width;
  for (int n = 0; n < g->batch; n++) {
    const float *xn = x + (size_t)n * g->in_height * row;
    float *dxn = dx + (size_t)n * g->in_height * row;
    for (int oh = 0; oh < g->out_height; oh++) {
      for (int ow = 0; ow < g->out_width; ow++) {
        const size_t corner = (size_t)oh * g->filter_height * row + (size_t)ow * g->filter_width * channels;
        const float *dy_pixel = dy + (((size_t)n * g->out_height + oh) * g->out_width + ow) * channels;
        for (size_t c = 0; c < channels; c += 4) {
          __m128 best = _mm_set1_ps(-INFINITY);
          __m128i tap = _mm_set1_epi32(-1);
          for (int k = 0; k < taps; k++) {
            const size_t at = corner + (size_t)(k / g->filter_width) * row + (size_t)(k % g->filter_width) * channels + c;
            const __m128 value = _mm_loadu_ps(xn + at);
            const __m128 greater = _mm_cmpgt_ps(value, best);
            best = _mm_or_ps(_mm_and_ps(greater, value), _mm_andnot_ps(greater, best));
            const __m128i take = _mm_castps_si128(greater);
            tap = _mm_or_si128(_mm_and_si128(take, _mm_set1_epi32(k)), _mm_andnot_si128(take, tap));
          }
          const __m128 gradient = _mm_loadu_ps(dy_pixel + c);
          for (int k = 0; k < taps; k++) {
            const size_t at = corner + (size_t)(k / g->filter_width) * row + (size_t)(k % g->filter_width) * channels + c;
            const __m128 chosen = _mm_castsi128_ps(_mm_cmpeq_epi32(tap, _mm_set1_epi32(k)));
            _mm_storeu_ps(dxn + at, _mm_and_ps(chosen, gradient));
          }
        }
      }
    }
  }
}
#endif

int swamp_maxpool_backward(const swamp_conv_geometry *g, const float *x, const float *dy, float *dx) {
  const size_t channels = (size_t)g->in_channels;
#if defined(__SSE2__)
  if (tiles_input(g) && channels % 4 == 0) {
    tiled_backward_sse2(g, x, dy, dx);
    return 0;
  }
#endif
  float *best = (float *)malloc(channels * sizeof(float));
  int32_t *tap = (int32_t *)malloc(channels * sizeof(int32_t));
  if (best == NULL || tap == NULL) {
    free(best);
    free(tap);
    return -1;
  }
  const int tiled = tiles_input(g);
  if (!tiled) memset(dx, 0, swamp_conv_input_size(g) * sizeof(float));
  const size_t image = (size_t)g->in_height * g->in_width;
  for (int n = 0; n < g->batch; n++) {
    const float *xn = x + (size_t)n * image * channels;
    float *dxn = dx + (size_t)n * image * channels;
    for (int oh = 0; oh < g->out_height; oh++) {
      for (int ow = 0; ow < g->out_width; ow++) {
        window_argmax(g, xn, oh, ow, channels, best, tap);
        const float *restrict g_out = dy + (((size_t)n * g->out_height + oh) * g->out_width + ow) * channels;
        if (tiled) {
          for (int i = 0; i < g->filter_height; i++) {
            for (int j = 0; j < g->filter_width; j++) {
              const int32_t k = i * g->filter_width + j;
              const size_t pixel = (size_t)(oh * g->stride_height + i) * g->in_width + (size_t)(ow * g->stride_width + j);
              float *restrict out = dxn + pixel * channels;
              for (size_t c = 0; c < channels; c++) out[c] = tap[c] == k ? g_out[c] : 0.0f;
            }
          }
          continue;
        }
        for (size_t c = 0; c < channels; c++) {
          if (tap[c] < 0) continue;
          const int i = tap[c] / g->filter_width, j = tap[c] % g->filter_width;
          const size_t pixel = (size_t)(oh * g->stride_height - g->pad_top + i * g->dilation_height) * g->in_width +
                               (size_t)(ow * g->stride_width - g->pad_left + j * g->dilation_width);
          dxn[pixel * channels + c] += g_out[c];
        }
      }
    }
  }
  free(best);
  free(tap);
  return 0;
}
