#include "pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int swamp_maxpool_backward(const swamp_conv_geometry *g, const float *x, const float *dy, float *dx) {
  const size_t channels = (size_t)g->in_channels;
  float *best = (float *)malloc(channels * sizeof(float));
  long *position = (long *)malloc(channels * sizeof(long));
  if (best == NULL || position == NULL) {
    free(best);
    free(position);
    return -1;
  }
  memset(dx, 0, swamp_conv_input_size(g) * sizeof(float));
  const size_t image = (size_t)g->in_height * g->in_width;
  for (int n = 0; n < g->batch; n++) {
    const float *xn = x + (size_t)n * image * channels;
    float *dxn = dx + (size_t)n * image * channels;
    for (int oh = 0; oh < g->out_height; oh++) {
      for (int ow = 0; ow < g->out_width; ow++) {
        for (size_t c = 0; c < channels; c++) {
          best[c] = -INFINITY;
          position[c] = -1;
        }
        for (int i = 0; i < g->filter_height; i++) {
          const int ih = oh * g->stride_height - g->pad_top + i * g->dilation_height;
          if (ih < 0 || ih >= g->in_height) continue;
          for (int j = 0; j < g->filter_width; j++) {
            const int iw = ow * g->stride_width - g->pad_left + j * g->dilation_width;
            if (iw < 0 || iw >= g->in_width) continue;
            const long pixel = (long)ih * g->in_width + iw;
            const float *px = xn + (size_t)pixel * channels;
            for (size_t c = 0; c < channels; c++) {
              if (px[c] > best[c]) {
                best[c] = px[c];
                position[c] = pixel;
              }
            }
          }
        }
        const float *g_out = dy + (((size_t)n * g->out_height + oh) * g->out_width + ow) * channels;
        for (size_t c = 0; c < channels; c++) {
          if (position[c] >= 0) dxn[(size_t)position[c] * channels + c] += g_out[c];
        }
      }
    }
  }
  free(best);
  free(position);
  return 0;
}
