#include "winograd.h"

#include "cpu_features.h"

#include <stdint.h>
#include <string.h>

/* Output tile side, input tile side, and transformed points per tile. */
enum { TILE = 4, ALPHA = 6, POINTS = ALPHA * ALPHA };

/* Channels on each side below which the 36 GEMMs are too thin to beat im2col + GEMM. */
enum { WINOGRAD_MIN_CHANNELS = 16 };

/* Transformed tiles (inputs and products) kept per block: small enough to stay in the last-level
 * cache between the transforms and the GEMMs, large enough for the GEMMs to run at full speed. */
static const size_t target_block_bytes = 2u << 20;

/* G (6×3): the filter transform U = G g Gᵀ. Its transpose is the filter gradient's last step. */
static const float G[ALPHA][3] = {
    {1.0f / 4, 0, 0},
    {-1.0f / 6, -1.0f / 6, -1.0f / 6},
    {-1.0f / 6, 1.0f / 6, -1.0f / 6},
    {1.0f / 24, 1.0f / 12, 1.0f / 6},
    {1.0f / 24, -1.0f / 12, 1.0f / 6},
    {0, 0, 1},
};

int swamp_winograd_suits(const swamp_conv_geometry *g) {
  if (swamp_native_switched_off("SWAMP_NATIVE_WINOGRAD")) return 0;
  return g->filter_height == 3 && g->filter_width == 3 && g->stride_height == 1 && g->stride_width == 1 &&
         g->dilation_height == 1 && g->dilation_width == 1 && g->in_channels >= WINOGRAD_MIN_CHANNELS &&
         g->out_channels >= WINOGRAD_MIN_CHANNELS && g->batch > 0 && g->out_height > 0 && g->out_width > 0;
}

/* Where the tiles lie: tile t of the batch is image t / per_image, tile row (t % per_image) /
 * across, tile column (t % per_image) % across. */
typedef struct {
  size_t across, per_image, total;
} tiling;

static tiling tiling_of(const swamp_conv_geometry *g) {
  tiling t;
  t.across = (size_t)(g->out_width + TILE - 1) / TILE;
  t.per_image = t.across * (size_t)((g->out_height + TILE - 1) / TILE);
  t.total = t.per_image * (size_t)g->batch;
  return t;
}

static size_t block_tiles(const tiling *t, size_t channels_in, size_t channels_out) {
  size_t tiles = target_block_bytes / (POINTS * (channels_in + channels_out) * sizeof(float));
  if (tiles < 16) tiles = 16;
  if (tiles > t->total) tiles = t->total;
  /* GEMM's dimensions are ints. */
  if (tiles > (size_t)INT32_MAX) tiles = (size_t)INT32_MAX;
  return tiles;
}

/* The 6×6 input pixels of tile `tile` (zero outside the image): pointers to their channels. */
static void input_tile_pixels(const swamp_conv_geometry *g, const tiling *t, size_t tile, const float *x,
                              const float *zeros, const float *pixels[POINTS]) {
  const size_t n = tile / t->per_image, within = tile % t->per_image;
  const int h0 = (int)(within / t->across) * TILE - g->pad_top;
  const int w0 = (int)(within % t->across) * TILE - g->pad_left;
  const size_t cin = (size_t)g->in_channels;
  for (int r = 0; r < ALPHA; r++) {
    const int h = h0 + r;
    for (int s = 0; s < ALPHA; s++) {
      const int w = w0 + s;
      const int inside = h >= 0 && h < g->in_height && w >= 0 && w < g->in_width;
      pixels[r * ALPHA + s] = inside ? x + ((n * g->in_height + h) * (size_t)g->in_width + w) * cin : zeros;
    }
  }
}

/* The output pixels of tile `tile`: pointers to their channels, or past the edge to their own slot
 * of `discard` (16 pixels' worth), so no two pointers handed to a transform share memory. */
static void output_tile_pixels(const swamp_conv_geometry *g, const tiling *t, size_t tile, float *y, float *discard,
                               float *pixels[TILE * TILE]) {
  const size_t n = tile / t->per_image, within = tile % t->per_image;
  const int h0 = (int)(within / t->across) * TILE;
  const int w0 = (int)(within % t->across) * TILE;
  const size_t cout = (size_t)g->out_channels;
  for (int i = 0; i < TILE; i++) {
    for (int j = 0; j < TILE; j++) {
      const int h = h0 + i, w = w0 + j;
      const int inside = h < g->out_height && w < g->out_width;
      pixels[i * TILE + j] = inside ? y + ((n * g->out_height + h) * (size_t)g->out_width + w) * cout
                                    : discard + (size_t)(i * TILE + j) * cout;
    }
  }
}

/* Bᵀ applied to six vectors of `count` floats (one axis of a 6×6 tile), written to o0..o5. Pointer
 * parameters, not arrays of them: GCC 12 does not vectorise loads through restrict pointers taken
 * from an array. */
VECTOR_CLONES static void input_transform_axis(const float *restrict x0, const float *restrict x1,
                                               const float *restrict x2, const float *restrict x3,
                                               const float *restrict x4, const float *restrict x5,
                                               float *restrict o0, float *restrict o1, float *restrict o2,
                                               float *restrict o3, float *restrict o4, float *restrict o5,
                                               size_t count) {
  for (size_t c = 0; c < count; c++) {
    const float d0 = x0[c], d1 = x1[c], d2 = x2[c], d3 = x3[c], d4 = x4[c], d5 = x5[c];
    o0[c] = 4.0f * d0 - 5.0f * d2 + d4;
    o1[c] = -4.0f * (d1 + d2) + d3 + d4;
    o2[c] = 4.0f * (d1 - d2) - d3 + d4;
    o3[c] = 2.0f * (d3 - d1) - d2 + d4;
    o4[c] = 2.0f * (d1 - d3) - d2 + d4;
    o5[c] = 4.0f * d1 - 5.0f * d3 + d5;
  }
}

/* The tile's 36 transformed points V[ξ] = Bᵀ d B of its pixels, per channel, side by side in v. */
static void transform_input_tile(const float *const pixels[POINTS], size_t channels, float *work, float *v) {
  for (int s = 0; s < ALPHA; s++) {
    const float *column[ALPHA];
    float *out[ALPHA];
    for (int r = 0; r < ALPHA; r++) {
      column[r] = pixels[r * ALPHA + s];
      out[r] = work + (size_t)(r * ALPHA + s) * channels;
    }
    input_transform_axis(column[0], column[1], column[2], column[3], column[4], column[5], out[0], out[1], out[2],
                         out[3], out[4], out[5], channels);
  }
  for (int r = 0; r < ALPHA; r++) {
    const float *row[ALPHA];
    float *out[ALPHA];
    for (int s = 0; s < ALPHA; s++) {
      row[s] = work + (size_t)(r * ALPHA + s) * channels;
      out[s] = v + (size_t)(r * ALPHA + s) * channels;
    }
    input_transform_axis(row[0], row[1], row[2], row[3], row[4], row[5], out[0], out[1], out[2], out[3], out[4],
                         out[5], channels);
  }
}

/* Aᵀ (4×6) applied to six vectors of `count` floats, written to o0..o3. */
VECTOR_CLONES static void output_transform_axis(const float *restrict x0, const float *restrict x1,
                                                const float *restrict x2, const float *restrict x3,
                                                const float *restrict x4, const float *restrict x5,
                                                float *restrict o0, float *restrict o1, float *restrict o2,
                                                float *restrict o3, size_t count) {
  for (size_t k = 0; k < count; k++) {
    const float m0 = x0[k], m1 = x1[k], m2 = x2[k], m3 = x3[k], m4 = x4[k], m5 = x5[k];
    const float sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4;
    o0[k] = m0 + sum12 + sum34;
    o1[k] = diff12 + 2.0f * diff34;
    o2[k] = sum12 + 4.0f * sum34;
    o3[k] = diff12 + 8.0f * diff34 + m5;
  }
}

/* The tile's output pixels = Aᵀ M A, from its 36 products M[ξ] side by side in m. */
static void transform_output_tile(const float *m, size_t channels, float *work,
                                  float *const pixels[TILE * TILE]) {
  for (int s = 0; s < ALPHA; s++) {
    const float *column[ALPHA];
    float *out[TILE];
    for (int r = 0; r < ALPHA; r++) column[r] = m + (size_t)(r * ALPHA + s) * channels;
    for (int i = 0; i < TILE; i++) out[i] = work + (size_t)(i * ALPHA + s) * channels;
    output_transform_axis(column[0], column[1], column[2], column[3], column[4], column[5], out[0], out[1], out[2],
                          out[3], channels);
  }
  for (int i = 0; i < TILE; i++) {
    const float *row[ALPHA];
    for (int s = 0; s < ALPHA; s++) row[s] = work + (size_t)(i * ALPHA + s) * channels;
    float *const *to = pixels + i * TILE;
    output_transform_axis(row[0], row[1], row[2], row[3], row[4], row[5], to[0], to[1], to[2], to[3], channels);
  }
}

/* A (6×4) applied to four vectors of `count` floats: the adjoint of the output transform. */
VECTOR_CLONES static void gradient_transform_axis(const float *restrict x0, const float *restrict x1,
                                                  const float *restrict x2, const float *restrict x3,
                                                  float *restrict o0, float *restrict o1, float *restrict o2,
                                                  float *restrict o3, float *restrict o4, float *restrict o5,
                                                  size_t count) {
  for (size_t k = 0; k < count; k++) {
    const float y0 = x0[k], y1 = x1[k], y2 = x2[k], y3 = x3[k];
    const float even = y0 + y2, odd = y1 + y3, even4 = y0 + 4.0f * y2, odd4 = 2.0f * y1 + 8.0f * y3;
    o0[k] = y0;
    o1[k] = even + odd;
    o2[k] = even - odd;
    o3[k] = even4 + odd4;
    o4[k] = even4 - odd4;
    o5[k] = y3;
  }
}

/* The tile's 36 points D[ξ] = A dy Aᵀ of its 4×4 output gradients (zero past the edge), side by
 * side in d. */
static void transform_gradient_tile(const float *const pixels[TILE * TILE], size_t channels, float *work, float *d) {
  for (int j = 0; j < TILE; j++) {
    const float *column[TILE];
    float *out[ALPHA];
    for (int i = 0; i < TILE; i++) column[i] = pixels[i * TILE + j];
    for (int a = 0; a < ALPHA; a++) out[a] = work + (size_t)(a * TILE + j) * channels;
    gradient_transform_axis(column[0], column[1], column[2], column[3], out[0], out[1], out[2], out[3], out[4],
                            out[5], channels);
  }
  for (int a = 0; a < ALPHA; a++) {
    const float *row[TILE];
    float *out[ALPHA];
    for (int j = 0; j < TILE; j++) row[j] = work + (size_t)(a * TILE + j) * channels;
    for (int b = 0; b < ALPHA; b++) out[b] = d + (size_t)(a * ALPHA + b) * channels;
    gradient_transform_axis(row[0], row[1], row[2], row[3], out[0], out[1], out[2], out[3], out[4], out[5],
                            channels);
  }
}

/* U[ξ] (C×K) = G g Gᵀ for every channel pair of an HWIO 3×3 filter. */
VECTOR_CLONES static void transform_filter(const float *filter, size_t cin, size_t cout, float *u) {
  const size_t plane = cin * cout;
  memset(u, 0, POINTS * plane * sizeof(float));
  for (int a = 0; a < ALPHA; a++) {
    for (int b = 0; b < ALPHA; b++) {
      float *to = u + (size_t)(a * ALPHA + b) * plane;
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          const float weight = G[a][i] * G[b][j];
          if (weight == 0.0f) continue;
          const float *from = filter + (size_t)(i * 3 + j) * plane;
          for (size_t e = 0; e < plane; e++) to[e] += weight * from[e];
        }
      }
    }
  }
}

/* dfilter (HWIO) = Gᵀ dU G: the adjoint of the filter transform. */
VECTOR_CLONES static void untransform_filter_gradient(const float *du, size_t cin, size_t cout, float *dfilter) {
  const size_t plane = cin * cout;
  memset(dfilter, 0, 9 * plane * sizeof(float));
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++) {
      float *to = dfilter + (size_t)(i * 3 + j) * plane;
      for (int a = 0; a < ALPHA; a++) {
        for (int b = 0; b < ALPHA; b++) {
          const float weight = G[a][i] * G[b][j];
          if (weight == 0.0f) continue;
          const float *from = du + (size_t)(a * ALPHA + b) * plane;
          for (size_t e = 0; e < plane; e++) to[e] += weight * from[e];
        }
      }
    }
  }
}

/* The scratch both passes lay out: the filter-domain matrices (36 × C × K), one block's transformed
 * inputs (T × 36 × C) and outputs or output gradients (T × 36 × K; each point's GEMM strides over
 * the tiles, so a transform writes or reads one run per tile), a transform's working rows, a
 * zero pixel for reads outside the image and a slot per tile pixel past the output's edge (zero;
 * the forward pass writes its discarded values there). */
typedef struct {
  tiling t;
  size_t block;
  float *filter_domain, *inputs, *outputs, *work, *zeros, *edge;
} workspace;

static int prepare_workspace(const swamp_conv_geometry *g, swamp_scratch *scratch, workspace *w) {
  const size_t cin = (size_t)g->in_channels, cout = (size_t)g->out_channels;
  const size_t wide = cin > cout ? cin : cout;
  w->t = tiling_of(g);
  w->block = block_tiles(&w->t, cin, cout);
  const size_t filter_size = POINTS * cin * cout, inputs_size = POINTS * w->block * cin, outputs_size = POINTS * w->block * cout;
  const size_t edge_size = (1 + TILE * TILE) * wide;
  if (swamp_scratch_reserve(scratch, filter_size + inputs_size + outputs_size + POINTS * wide + edge_size) != 0) return -1;
  w->filter_domain = scratch->data;
  w->inputs = w->filter_domain + filter_size;
  w->outputs = w->inputs + inputs_size;
  w->work = w->outputs + outputs_size;
  w->zeros = w->work + POINTS * wide;
  w->edge = w->zeros + wide;
  memset(w->zeros, 0, edge_size * sizeof(float));
  return 0;
}

/* Transforms tiles [first, first + count) of x into the block's inputs. */
static void transform_input_block(const swamp_conv_geometry *g, const workspace *w, const float *x, size_t first,
                                  size_t count) {
  const size_t cin = (size_t)g->in_channels;
  for (size_t tile = 0; tile < count; tile++) {
    const float *pixels[POINTS];
    input_tile_pixels(g, &w->t, first + tile, x, w->zeros, pixels);
    transform_input_tile(pixels, cin, w->work, w->inputs + tile * POINTS * cin);
  }
}

int swamp_winograd_conv2d(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm, swamp_scratch *scratch,
                          const float *x, const float *filter, float *y, const swamp_epilogue *epilogue) {
  const size_t cin = (size_t)g->in_channels, cout = (size_t)g->out_channels;
  workspace w;
  if (prepare_workspace(g, scratch, &w) != 0) return -1;
  transform_filter(filter, cin, cout, w.filter_domain);
  for (size_t first = 0; first < w.t.total; first += w.block) {
    const size_t count = w.t.total - first < w.block ? w.t.total - first : w.block;
    transform_input_block(g, &w, x, first, count);
    for (int p = 0; p < POINTS; p++) {
      sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_NO_TRANS, SWAMP_CBLAS_NO_TRANS, (int)count, (int)cout, (int)cin, 1.0f,
            w.inputs + p * cin, (int)(POINTS * cin), w.filter_domain + p * cin * cout, (int)cout, 0.0f,
            w.outputs + p * cout, (int)(POINTS * cout));
    }
    for (size_t tile = 0; tile < count; tile++) {
      float *pixels[TILE * TILE];
      output_tile_pixels(g, &w.t, first + tile, y, w.edge, pixels);
      transform_output_tile(w.outputs + tile * POINTS * cout, cout, w.work, pixels);
    }
  }
  swamp_epilogue_apply(epilogue, y, swamp_conv_rows(g), cout);
  return 0;
}

int swamp_winograd_conv2d_filter(const swamp_conv_geometry *g, swamp_sgemm_fn sgemm, swamp_scratch *scratch,
                                 const float *x, const float *dy, float *dfilter) {
  const size_t cin = (size_t)g->in_channels, cout = (size_t)g->out_channels;
  workspace w;
  if (prepare_workspace(g, scratch, &w) != 0) return -1;
  for (size_t first = 0; first < w.t.total; first += w.block) {
    const size_t count = w.t.total - first < w.block ? w.t.total - first : w.block;
    transform_input_block(g, &w, x, first, count);
    for (size_t tile = 0; tile < count; tile++) {
      float *outputs[TILE * TILE];
      /* The gradient tile reads dy where the forward pass wrote y; past the edge, the zero slots. */
      output_tile_pixels(g, &w.t, first + tile, (float *)dy, w.edge, outputs);
      transform_gradient_tile((const float *const *)outputs, cout, w.work, w.outputs + tile * POINTS * cout);
    }
    for (int p = 0; p < POINTS; p++) {
      sgemm(SWAMP_CBLAS_ROW_MAJOR, SWAMP_CBLAS_TRANS, SWAMP_CBLAS_NO_TRANS, (int)cin, (int)cout, (int)count, 1.0f,
            w.inputs + p * cin, (int)(POINTS * cin), w.outputs + p * cout, (int)(POINTS * cout), first == 0 ? 0.0f : 1.0f,
            w.filter_domain + p * cin * cout, (int)cout);
    }
  }
  untransform_filter_gradient(w.filter_domain, cin, cout, dfilter);
  return 0;
}
