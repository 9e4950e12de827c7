#include "sparse_convnet.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define CONV_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CONV_CLONES
#endif

/* Images per call of the MLP head: one of its tiles (AVX-512). */
enum { HEAD_TILE = 32 };

static size_t out_height(const swamp_sparse_conv_stage *s) { return s->kind == SWAMP_STAGE_MAXPOOL2X2 ? s->height / 2 : s->height; }
static size_t out_width(const swamp_sparse_conv_stage *s) { return s->kind == SWAMP_STAGE_MAXPOOL2X2 ? s->width / 2 : s->width; }
static size_t padded(size_t channels, size_t height, size_t width) { return channels * (height + 2) * (width + 2); }

size_t swamp_sparse_convnet_feature_count(const swamp_sparse_convnet *net) {
  const swamp_sparse_conv_stage *last = &net->stages[net->stage_count - 1];
  return last->out_channels * out_height(last) * out_width(last);
}

/* Output channel o of a convolution, rows (width + 2) apart like the planes, so each kept weight
 * adds one contiguous run (the two columns between rows are computed and never read): eight kept
 * weights at a time (one pass over the accumulator for eight; then four, two, one), over (height − 1)·(width + 2) + width floats, ending on the last one needed. */
CONV_CLONES static void convolve(const swamp_sparse_conv_stage *s, const float *in, float *out, float *acc) {
  const size_t H = s->height, W = s->width, row = W + 2, plane = (H + 2) * row, run = (H - 1) * row + W;
  for (size_t o = 0; o < s->out_channels; o++) {
    const float b = s->bias[o];
    for (size_t q = 0; q < run; q++) acc[q] = b;
    int32_t e = s->start[o];
    const int32_t last = s->start[o + 1];
    for (; e + 7 < last; e += 8) {
      const float *restrict p0 = in + s->offset[e], *restrict p1 = in + s->offset[e + 1];
      const float *restrict p2 = in + s->offset[e + 2], *restrict p3 = in + s->offset[e + 3];
      const float *restrict p4 = in + s->offset[e + 4], *restrict p5 = in + s->offset[e + 5];
      const float *restrict p6 = in + s->offset[e + 6], *restrict p7 = in + s->offset[e + 7];
      const float w0 = s->weights[e], w1 = s->weights[e + 1], w2 = s->weights[e + 2], w3 = s->weights[e + 3];
      const float w4 = s->weights[e + 4], w5 = s->weights[e + 5], w6 = s->weights[e + 6], w7 = s->weights[e + 7];
      for (size_t q = 0; q < run; q++)
        acc[q] += ((w0 * p0[q] + w1 * p1[q]) + (w2 * p2[q] + w3 * p3[q])) + ((w4 * p4[q] + w5 * p5[q]) + (w6 * p6[q] + w7 * p7[q]));
    }
    for (; e + 3 < last; e += 4) {
      const float *restrict p0 = in + s->offset[e], *restrict p1 = in + s->offset[e + 1];
      const float *restrict p2 = in + s->offset[e + 2], *restrict p3 = in + s->offset[e + 3];
      const float w0 = s->weights[e], w1 = s->weights[e + 1], w2 = s->weights[e + 2], w3 = s->weights[e + 3];
      for (size_t q = 0; q < run; q++) acc[q] += (w0 * p0[q] + w1 * p1[q]) + (w2 * p2[q] + w3 * p3[q]);
    }
    for (; e + 1 < last; e += 2) {
      const float *restrict p0 = in + s->offset[e], *restrict p1 = in + s->offset[e + 1];
      const float w0 = s->weights[e], w1 = s->weights[e + 1];
      for (size_t q = 0; q < run; q++) acc[q] += w0 * p0[q] + w1 * p1[q];
    }
    if (e < last) {
      const float *restrict p0 = in + s->offset[e];
      const float w0 = s->weights[e];
      for (size_t q = 0; q < run; q++) acc[q] += w0 * p0[q];
    }
    float *to = out + o * plane;
    memset(to, 0, row * sizeof(float));
    memset(to + (H + 1) * row, 0, row * sizeof(float));
    for (size_t h = 0; h < H; h++) {
      float *r = to + (h + 1) * row;
      r[0] = 0.0f;
      r[W + 1] = 0.0f;
      const float *a = acc + h * row;
      if (s->relu) {
        for (size_t x = 0; x < W; x++) r[x + 1] = a[x] > 0.0f ? a[x] : 0.0f;
      } else {
        memcpy(r + 1, a, W * sizeof(float));
      }
    }
  }
}

static void max_pool(const swamp_sparse_conv_stage *s, const float *in, float *out) {
  const size_t H = s->height, W = s->width, row = W + 2, plane = (H + 2) * row;
  const size_t h2 = H / 2, w2 = W / 2, row2 = w2 + 2, plane2 = (h2 + 2) * row2;
  memset(out, 0, s->in_channels * plane2 * sizeof(float));
  for (size_t c = 0; c < s->in_channels; c++) {
    for (size_t i = 0; i < h2; i++) {
      const float *top = in + c * plane + (2 * i + 1) * row + 1, *bottom = top + row;
      float *r = out + c * plane2 + (i + 1) * row2 + 1;
      for (size_t j = 0; j < w2; j++) {
        const float a = top[2 * j] > top[2 * j + 1] ? top[2 * j] : top[2 * j + 1];
        const float b = bottom[2 * j] > bottom[2 * j + 1] ? bottom[2 * j] : bottom[2 * j + 1];
        r[j] = a > b ? a : b;
      }
    }
  }
}

int swamp_sparse_convnet_forward(const swamp_sparse_convnet *net, const swamp_sparse_mlp *head, swamp_scratch *scratch, const float *x,
                                 size_t batch, float *y) {
  if (batch == 0) return 0;
  size_t widest = padded(net->channels, net->height, net->width), largest_plane = 1;
  for (size_t i = 0; i < net->stage_count; i++) {
    const swamp_sparse_conv_stage *s = &net->stages[i];
    const size_t out = padded(s->out_channels, out_height(s), out_width(s));
    if (out > widest) widest = out;
    if (s->height * (s->width + 2) > largest_plane) largest_plane = s->height * (s->width + 2);
  }
  const size_t features = swamp_sparse_convnet_feature_count(net);
  float *memory = (float *)malloc((2 * widest + largest_plane + HEAD_TILE * features) * sizeof(float));
  if (memory == NULL) return -1;
  float *a = memory, *b = a + widest, *acc = b + widest, *tile = acc + largest_plane;
  const size_t outputs = head->layers[head->layer_count - 1].outputs;
  int status = 0;
  for (size_t first = 0; first < batch && status == 0; first += HEAD_TILE) {
    const size_t count = batch - first < HEAD_TILE ? batch - first : HEAD_TILE;
    for (size_t n = 0; n < count; n++) {
      const float *image = x + (first + n) * net->height * net->width * net->channels;
      const size_t row = net->width + 2, plane = (net->height + 2) * row;
      memset(a, 0, padded(net->channels, net->height, net->width) * sizeof(float));
      for (size_t h = 0; h < net->height; h++)
        for (size_t w = 0; w < net->width; w++)
          for (size_t c = 0; c < net->channels; c++) a[c * plane + (h + 1) * row + w + 1] = image[(h * net->width + w) * net->channels + c];
      float *in = a, *out = b;
      for (size_t i = 0; i < net->stage_count; i++) {
        const swamp_sparse_conv_stage *s = &net->stages[i];
        if (s->kind == SWAMP_STAGE_CONV3X3) {
          convolve(s, in, out, acc);
        } else {
          max_pool(s, in, out);
        }
        float *swap = in;
        in = out;
        out = swap;
      }
      const swamp_sparse_conv_stage *last = &net->stages[net->stage_count - 1];
      const size_t H = out_height(last), W = out_width(last), C = last->out_channels, lrow = W + 2, lplane = (H + 2) * lrow;
      float *f = tile + n * features;
      for (size_t h = 0; h < H; h++)
        for (size_t w = 0; w < W; w++)
          for (size_t c = 0; c < C; c++) f[(h * W + w) * C + c] = in[c * lplane + (h + 1) * lrow + w + 1];
    }
    status = swamp_sparse_mlp_forward(head, scratch, tile, count, y + first * outputs);
  }
  free(memory);
  return status;
}
