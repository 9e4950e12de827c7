#include "sparse_conv.h"

#include "cpu_features.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

/* Output floats per plane the loops' steps tile: four AVX-512 steps (16 floats × 4) or more of narrower ones. */
enum { CHUNK = 64 };
/* Channels moved together between NHWC and planes: one cache line of a pixel. */
enum { TRANSPOSE_BAND = 16 };


static int pad_bottom(const swamp_conv_geometry *g) {
  return g->out_height - 1 + g->filter_height - g->pad_top - g->in_height;
}
static int pad_right(const swamp_conv_geometry *g) {
  return g->out_width - 1 + g->filter_width - g->pad_left - g->in_width;
}

int swamp_sparse_conv_suits(const swamp_conv_geometry *g) {
  if (g->stride_height != 1 || g->stride_width != 1 || g->dilation_height != 1 || g->dilation_width != 1) return 0;
  if (g->out_height <= 0 || g->out_width <= 0 || g->batch <= 0) return 0;
  /* Both this convolution and its transpose must pad by between 0 and filter − 1 on every side. */
  const int ph = g->filter_height - 1, pw = g->filter_width - 1;
  return g->pad_top <= ph && g->pad_left <= pw && pad_bottom(g) >= 0 && pad_bottom(g) <= ph && pad_right(g) >= 0 &&
         pad_right(g) <= pw;
}

/* Planes of one image: channel c's padded row r, column k at planes[c·plane_stride + r·row_stride + k]. */
typedef struct {
  size_t row_stride, plane_stride;
} plane_layout;

#if defined(__SSE2__)
/* Four rows of four floats, src_stride apart, stored transposed as four rows dst_stride apart. */
static void transpose4(const float *src, size_t src_stride, float *dst, size_t dst_stride) {
  __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + src_stride);
  __m128 r2 = _mm_loadu_ps(src + 2 * src_stride), r3 = _mm_loadu_ps(src + 3 * src_stride);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(dst, r0);
  _mm_storeu_ps(dst + dst_stride, r1);
  _mm_storeu_ps(dst + 2 * dst_stride, r2);
  _mm_storeu_ps(dst + 3 * dst_stride, r3);
}
#endif

/* Moves a height × width × channels NHWC image to and from planes. to_planes: planes (zeroed
 * first) get pixel (h, w) at row h + pad_top, column w + pad_left; from_planes reads row h,
 * column w. Blocks of 4 pixels × 4 channels are transposed in SSE registers; a scalar loop takes
 * the edges. With `used` (to_planes only), channels no kept weight reads are neither zeroed nor
 * moved: a heavily pruned layer's unread input planes cost nothing (their contents are left as
 * they were, and never read). */
static void move_image(float *image, int height, int width, size_t channels, int pad_top, int pad_left,
                       plane_layout layout, float *planes, int to_planes, const uint8_t *used) {
  if (to_planes && !used) memset(planes, 0, channels * layout.plane_stride * sizeof(float));
  if (to_planes && used) {
    /* One memset per run of consecutive used channels. */
    for (size_t c = 0; c < channels;) {
      if (!used[c]) {
        c++;
        continue;
      }
      size_t end = c + 1;
      while (end < channels && used[end]) end++;
      memset(planes + c * layout.plane_stride, 0, (end - c) * layout.plane_stride * sizeof(float));
      c = end;
    }
  }
  const size_t ps = layout.plane_stride;
  for (int h = 0; h < height; h++) {
    float *row = image + (size_t)h * width * channels;
    float *first = planes + (size_t)(h + pad_top) * layout.row_stride + (size_t)pad_left;
    size_t w = 0;
#if defined(__SSE2__)
    const size_t blocked_channels = channels & ~(size_t)3;
    for (; w + 4 <= (size_t)width; w += 4) {
      for (size_t c = 0; c < blocked_channels; c += 4) {
        if (used && !(used[c] | used[c + 1] | used[c + 2] | used[c + 3])) continue;
        float *pixels = row + w * channels + c;
        float *plane = first + c * ps + w;
        if (to_planes) transpose4(pixels, channels, plane, ps);
        else transpose4(plane, ps, pixels, channels);
      }
      for (size_t c = blocked_channels; c < channels; c++) {
        for (size_t v = w; v < w + 4; v++) {
          if (to_planes) first[c * ps + v] = row[v * channels + c];
          else row[v * channels + c] = first[c * ps + v];
        }
      }
    }
#endif
    for (; w < (size_t)width; w++) {
      for (size_t c = 0; c < channels; c++) {
        if (used && !used[c]) continue;
        if (to_planes) first[c * ps + w] = row[w * channels + c];
        else row[w * channels + c] = first[c * ps + w];
      }
    }
  }
}

static void to_planes(const float *image, int height, int width, size_t channels, int pad_top, int pad_left,
                      plane_layout layout, float *planes) {
  move_image((float *)image, height, width, channels, pad_top, pad_left, layout, planes, 1, NULL);
}

/* to_planes of only the channels marked in `used`. */
static void used_to_planes(const float *image, int height, int width, size_t channels, int pad_top, int pad_left,
                           plane_layout layout, float *planes, const uint8_t *used) {
  move_image((float *)image, height, width, channels, pad_top, pad_left, layout, planes, 1, used);
}

static void from_planes(const float *planes, size_t channels, int height, int width, plane_layout layout, float *image) {
  move_image(image, height, width, channels, 0, 0, layout, (float *)planes, 0, NULL);
}

/* The kept weights grouped by output plane: entries [start[o], start[o+1]) feed plane o, each a
 * weight and where its shifted source run begins (plane · stride + shift). */
typedef struct {
  size_t *start;
  size_t *source;
  float *weight;
  size_t *filter_index;
} kept_weights;

/* Carves a pass's buffers out of scratch, which is kept between calls (a fresh allocation of these
 * sizes, at every call, cost page faults that outweighed a 99%-pruned layer's arithmetic): the kept
 * weights' arrays for `groups` groups and `count` weights and two plane buffers. Returns -1 when
 * scratch could not grow. */
static size_t aligned_bytes(size_t bytes) {
  return (bytes + 63) & ~(size_t)63;
}

static int reserve_pass(swamp_scratch *scratch, size_t groups, size_t count, size_t first_floats, size_t second_floats,
                        kept_weights *k, float **first, float **second) {
  const size_t first_bytes = aligned_bytes(first_floats * sizeof(float));
  const size_t second_bytes = aligned_bytes(second_floats * sizeof(float));
  const size_t start_bytes = aligned_bytes((groups + 1) * sizeof(size_t));
  const size_t index_bytes = aligned_bytes(count * sizeof(size_t));
  const size_t weight_bytes = aligned_bytes(count * sizeof(float));
  const size_t total = first_bytes + second_bytes + start_bytes + 2 * index_bytes + weight_bytes;
  if (swamp_scratch_reserve(scratch, total / sizeof(float)) != 0) return -1;
  char *at = (char *)scratch->data;
  *first = (float *)at;
  at += first_bytes;
  *second = (float *)at;
  at += second_bytes;
  k->start = (size_t *)at;
  at += start_bytes;
  k->source = (size_t *)at;
  at += index_bytes;
  k->filter_index = (size_t *)at;
  at += index_bytes;
  k->weight = (float *)at;
  return 0;
}

/* by_output: group by output channel (forward, filter gradient) or by input channel (input
 * gradient, whose shifts are mirrored). `kept` lists the kept weights' flat filter indices
 * (HWIO), each below the filter's size, already grouped: by output channel (e mod cout) or by
 * input channel, ascending within a group, the order the sums run in. The caller keeps both
 * orders for as long as its mask lives, so this is one sequential pass over the kept weights, not
 * a scan of the whole mask or a scatter into groups. Returns -2 when the list is not grouped. */
static int collect_kept(const swamp_conv_geometry *g, const float *filter, const int32_t *kept, size_t count,
                        int by_output, size_t row_stride, size_t plane_stride, kept_weights *k, uint8_t *used) {
  const size_t fh = (size_t)g->filter_height, fw = (size_t)g->filter_width;
  const size_t cin = (size_t)g->in_channels, cout = (size_t)g->out_channels;
  const size_t groups = by_output ? cout : cin;
  memset(k->start, 0, (groups + 1) * sizeof(size_t));
  /* 32-bit divisions (indices are int32): several times faster than 64-bit ones. */
  const uint32_t cout32 = (uint32_t)cout, cin32 = (uint32_t)cin, fw32 = (uint32_t)fw;
  size_t previous = 0;
  for (size_t n = 0; n < count; n++) {
    const uint32_t e = (uint32_t)kept[n];
    const uint32_t pixel = e / cout32, tap = pixel / cin32;
    const size_t co = e - pixel * cout32, ci = pixel - tap * cin32, j = tap % fw32, i = tap / fw32;
    const size_t group = by_output ? co : ci;
    if (group < previous) return -2;
    previous = group;
    k->start[group + 1] = n + 1;
    const size_t plane = by_output ? ci : co;
    if (used) used[plane] = 1;
    const size_t shift = by_output ? i * row_stride + j : (fh - 1 - i) * row_stride + (fw - 1 - j);
    k->source[n] = plane * plane_stride + shift;
    k->weight[n] = filter ? filter[e] : 0.0f;
    k->filter_index[n] = e;
  }
  /* Groups without weights end where the one before them does. */
  for (size_t o = 0; o < groups; o++) {
    if (k->start[o + 1] < k->start[o]) k->start[o + 1] = k->start[o];
  }
  return 0;
}

/* The two inner loops, compiled once per instruction set (sparse_conv_loops.inc) and chosen at run
 * time: AVX-512 or AVX2 with FMA where the CPU has them, the baseline otherwise. */
#define SPARSE_LOOP(name) name##_baseline
#define SPARSE_LOOP_TARGET
#define SPARSE_VEC_FLOATS 4
#include "sparse_conv_loops.inc"
#undef SPARSE_LOOP
#undef SPARSE_LOOP_TARGET
#undef SPARSE_VEC_FLOATS

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SPARSE_HAVE_X86_CLONES 1
/* ISO C mode (-std=c11) keeps a * b + c as two roundings; these sums have no bit-exact twin to
 * match, so the clones may fuse them into one FMA instruction. */
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
#define SPARSE_LOOP(name) name##_avx2
#define SPARSE_LOOP_TARGET __attribute__((target("avx2,fma")))
#define SPARSE_VEC_FLOATS 8
#include "sparse_conv_loops.inc"
#undef SPARSE_LOOP
#undef SPARSE_LOOP_TARGET
#undef SPARSE_VEC_FLOATS
#define SPARSE_LOOP(name) name##_avx512
#define SPARSE_LOOP_TARGET __attribute__((target("avx512f,fma")))
#define SPARSE_VEC_FLOATS 16
#include "sparse_conv_loops.inc"
#undef SPARSE_LOOP
#undef SPARSE_LOOP_TARGET
#undef SPARSE_VEC_FLOATS
#pragma GCC pop_options
#else
#define SPARSE_HAVE_X86_CLONES 0
#endif

typedef void (*planes_loop)(const kept_weights *, size_t, size_t, const float *, float *, size_t);
typedef void (*filter_loop)(const kept_weights *, size_t, size_t, const float *, const float *, size_t, float *);

static void accumulate_planes(const kept_weights *k, size_t groups, size_t chunks, const float *planes, float *out,
                              size_t out_stride) {
  planes_loop loop = accumulate_planes_baseline;
#if SPARSE_HAVE_X86_CLONES
  const swamp_simd_level level = swamp_simd_level_in_use();
  if (level == SWAMP_SIMD_AVX512) loop = accumulate_planes_avx512;
  else if (level == SWAMP_SIMD_AVX2) loop = accumulate_planes_avx2;
#endif
  loop(k, groups, chunks, planes, out, out_stride);
}

static void accumulate_filter(const kept_weights *k, size_t groups, size_t chunks, const float *sources,
                              const float *gradients, size_t gradient_stride, float *dfilter) {
  filter_loop loop = accumulate_filter_baseline;
#if SPARSE_HAVE_X86_CLONES
  const swamp_simd_level level = swamp_simd_level_in_use();
  if (level == SWAMP_SIMD_AVX512) loop = accumulate_filter_avx512;
  else if (level == SWAMP_SIMD_AVX2) loop = accumulate_filter_avx2;
#endif
  loop(k, groups, chunks, sources, gradients, gradient_stride, dfilter);
}

static size_t chunks_for(size_t floats) {
  return (floats + CHUNK - 1) / CHUNK;
}

/* A plane long enough for rows × row_stride floats, the computed tail up to a whole chunk and the
 * longest shift read past it. */
static plane_layout layout_for(size_t rows, size_t row_stride, size_t outputs, size_t max_shift) {
  plane_layout layout = {row_stride, 0};
  const size_t computed = chunks_for(outputs) * CHUNK + max_shift;
  layout.plane_stride = rows * row_stride > computed ? rows * row_stride : computed;
  return layout;
}

/* The forward pass's input planes (padded as the convolution pads), whose row stride the output and
 * the filter gradient's dy planes share. */
static plane_layout forward_input_layout(const swamp_conv_geometry *g) {
  const size_t row_stride = (size_t)g->out_width + g->filter_width - 1;
  const size_t rows = (size_t)g->out_height + g->filter_height - 1;
  const size_t max_shift = (size_t)(g->filter_height - 1) * row_stride + (size_t)(g->filter_width - 1);
  return layout_for(rows, row_stride, (size_t)g->out_height * row_stride, max_shift);
}

/* The forward pass (by_output) or the input gradient: one image at a time, the source (NHWC,
 * src_h × src_w × src_c) into planes padded by pad_top/pad_left with the given row stride, every
 * destination plane accumulated from its kept weights, and the planes back out as NHWC
 * (dst_h × dst_w × dst_c). */
static int planar_convolution(const swamp_conv_geometry *g, swamp_scratch *scratch, const float *filter, const int32_t *kept, size_t count, int by_output,
                              const float *src, int src_h, int src_w, size_t src_c, int pad_top, int pad_left,
                              float *dst, int dst_h, int dst_w, size_t dst_c, size_t row_stride) {
  const size_t rows = (size_t)dst_h + g->filter_height - 1;
  const size_t outputs = (size_t)dst_h * row_stride;
  const size_t max_shift = (size_t)(g->filter_height - 1) * row_stride + (size_t)(g->filter_width - 1);
  const plane_layout in = layout_for(rows, row_stride, outputs, max_shift);
  const plane_layout out = {row_stride, chunks_for(outputs) * CHUNK};
  kept_weights k;
  float *planes, *result;
  if (reserve_pass(scratch, by_output ? (size_t)g->out_channels : (size_t)g->in_channels, count, src_c * in.plane_stride,
                   dst_c * out.plane_stride, &k, &planes, &result) != 0)
    return -1;
  /* The source planes some kept weight reads. */
  uint8_t *used = calloc(src_c, 1);
  if (!used) return -1;
  const int collected = collect_kept(g, filter, kept, count, by_output, in.row_stride, in.plane_stride, &k, used);
  if (collected != 0) {
    free(used);
    return collected;
  }
  const size_t src_image = (size_t)src_h * src_w * src_c;
  const size_t dst_image = (size_t)dst_h * dst_w * dst_c;
  for (int n = 0; n < g->batch; n++) {
    used_to_planes(src + n * src_image, src_h, src_w, src_c, pad_top, pad_left, in, planes, used);
    accumulate_planes(&k, dst_c, chunks_for(outputs), planes, result, out.plane_stride);
    from_planes(result, dst_c, dst_h, dst_w, out, dst + n * dst_image);
  }
  free(used);
  return 0;
}

int swamp_sparse_conv2d(const swamp_conv_geometry *g, swamp_scratch *scratch, const float *x, const float *filter, const int32_t *kept,
                        size_t count, float *y) {
  return planar_convolution(g, scratch, filter, kept, count, 1, x, g->in_height, g->in_width, (size_t)g->in_channels, g->pad_top,
                            g->pad_left, y, g->out_height, g->out_width, (size_t)g->out_channels,
                            (size_t)g->out_width + g->filter_width - 1);
}

int swamp_sparse_conv2d_backprop_input(const swamp_conv_geometry *g, swamp_scratch *scratch, const float *dy, const float *filter,
                                       const int32_t *kept, size_t count, float *dx) {
  /* The transposed convolution: dy padded by filter − 1 − padding, the filter mirrored. */
  return planar_convolution(g, scratch, filter, kept, count, 0, dy, g->out_height, g->out_width, (size_t)g->out_channels,
                            g->filter_height - 1 - g->pad_top, g->filter_width - 1 - g->pad_left, dx, g->in_height,
                            g->in_width, (size_t)g->in_channels, (size_t)g->in_width + g->filter_width - 1);
}

int swamp_sparse_conv2d_backprop_filter(const swamp_conv_geometry *g, swamp_scratch *scratch, const float *x, const float *dy,
                                        const int32_t *kept, size_t count, float *dfilter) {
  const size_t cin = (size_t)g->in_channels, cout = (size_t)g->out_channels;
  const plane_layout in = forward_input_layout(g);
  const size_t outputs = (size_t)g->out_height * in.row_stride;
  /* dy on the forward output's row stride, zero in the columns past out_width and up to a whole chunk. */
  const plane_layout grad = {in.row_stride, chunks_for(outputs) * CHUNK};
  kept_weights k;
  float *planes, *gradients;
  /* The kept weights' values are not needed here, only where they are. */
  if (reserve_pass(scratch, cout, count, cin * in.plane_stride, cout * grad.plane_stride, &k, &planes, &gradients) != 0)
    return -1;
  const int collected = collect_kept(g, NULL, kept, count, 1, in.row_stride, in.plane_stride, &k, NULL);
  if (collected != 0) return collected;
  memset(dfilter, 0, swamp_conv_filter_size(g) * sizeof(float));
  const size_t x_image = (size_t)g->in_height * g->in_width * cin;
  const size_t dy_image = (size_t)g->out_height * g->out_width * cout;
  for (int n = 0; n < g->batch; n++) {
    to_planes(x + n * x_image, g->in_height, g->in_width, cin, g->pad_top, g->pad_left, in, planes);
    to_planes(dy + n * dy_image, g->out_height, g->out_width, cout, 0, 0, grad, gradients);
    accumulate_filter(&k, cout, chunks_for(outputs), planes, gradients, grad.plane_stride, dfilter);
  }
  return 0;
}
