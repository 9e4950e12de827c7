#include "batchnorm.h"

#include "cpu_features.h"
#include "elementwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per-channel sums in double precision, accumulated over rows in blocks so the inner loop runs
 * over contiguous channels in float (vectorised) and each block's partial sum is exact enough. */
enum { BLOCK_ROWS = 64 };

/* γ/√(variance + ε) per channel, from the stored (float) variance, so that the backward pass
 * recomputes exactly the forward pass's normalised values (and so the same ReLU decisions). */
static void normalising_scale(const float *gamma, const float *variance, size_t channels, float epsilon,
                              float *scale) {
  for (size_t c = 0; c < channels; c++) scale[c] = (float)((double)gamma[c] / sqrt((double)variance[c] + (double)epsilon));
}

VECTOR_CLONES int swamp_batchnorm_forward(const float *x, size_t rows, size_t channels, const float *gamma,
                            const float *beta, float epsilon, int relu, float *y, float *mean, float *variance) {
  double *sums = (double *)calloc(2 * channels, sizeof(double));
  float *block = (float *)malloc(2 * channels * sizeof(float));
  if (sums == NULL || block == NULL) {
    free(sums);
    free(block);
    return -1;
  }
  double *sum = sums, *sum_sq = sums + channels;
  float *block_sum = block, *block_sq = block + channels;
  /* Sums of (x − shift) with shift = the first row, so E[x²] − E[x]² does not cancel badly. */
  const float *shift = x;
  for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
    const size_t r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
    memset(block, 0, 2 * channels * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *row = x + r * channels;
      for (size_t c = 0; c < channels; c++) {
        const float d = row[c] - shift[c];
        block_sum[c] += d;
        block_sq[c] += d * d;
      }
    }
    for (size_t c = 0; c < channels; c++) {
      sum[c] += block_sum[c];
      sum_sq[c] += block_sq[c];
    }
  }
  float *scale = block;
  for (size_t c = 0; c < channels; c++) {
    const double m = rows > 0 ? sum[c] / (double)rows : 0.0;
    double v = rows > 0 ? sum_sq[c] / (double)rows - m * m : 0.0;
    if (v < 0.0) v = 0.0;
    mean[c] = (float)(m + (rows > 0 ? shift[c] : 0.0f));
    variance[c] = (float)v;
  }
  normalising_scale(gamma, variance, channels, epsilon, scale);
  for (size_t r = 0; r < rows; r++) {
    const float *restrict row = x + r * channels;
    float *restrict out = y + r * channels;
    if (relu) {
      for (size_t c = 0; c < channels; c++) {
        const float normalised = (row[c] - mean[c]) * scale[c] + beta[c];
        out[c] = normalised < 0.0f ? 0.0f : normalised; /* NaN passes, as TF.js's Relu lets it */
      }
    } else {
      for (size_t c = 0; c < channels; c++) out[c] = (row[c] - mean[c]) * scale[c] + beta[c];
    }
  }
  free(sums);
  free(block);
  return 0;
}

VECTOR_CLONES int swamp_batchnorm_backward(const float *dy, const float *x, size_t rows, size_t channels,
                             const float *gamma, const float *beta, const float *mean, const float *variance,
                             float epsilon, int relu, const float *dmean, const float *dvariance, float *dx,
                             float *dgamma, float *dbeta) {
  double *sums = (double *)calloc(2 * channels, sizeof(double));
  float *block = (float *)malloc(4 * channels * sizeof(float));
  if (sums == NULL || block == NULL) {
    free(sums);
    free(block);
    return -1;
  }
  double *sum_dy = sums, *sum_dy_xc = sums + channels;
  float *block_dy = block, *block_dy_xc = block + channels;
  /* With the ReLU, dy reaches the normalisation only where its output was positive. */
  float *scale = block + 3 * channels;
  if (relu) normalising_scale(gamma, variance, channels, epsilon, scale);
  for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
    const size_t r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
    memset(block, 0, 2 * channels * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *g = dy + r * channels;
      const float *row = x + r * channels;
      if (relu) {
        for (size_t c = 0; c < channels; c++) {
          const float xc = row[c] - mean[c];
          const float step = swamp_relu_step(xc * scale[c] + beta[c]);
          const float passed = g[c] * step;
          block_dy[c] += passed;
          block_dy_xc[c] += passed * xc;
        }
      } else {
        for (size_t c = 0; c < channels; c++) {
          block_dy[c] += g[c];
          block_dy_xc[c] += g[c] * (row[c] - mean[c]);
        }
      }
    }
    for (size_t c = 0; c < channels; c++) {
      sum_dy[c] += block_dy[c];
      sum_dy_xc[c] += block_dy_xc[c];
    }
  }
  /* dx = k_dy·dy + k_x·(x − mean) + k_1 per channel, from
   *   dx = γ·σ⁻¹/m · (m·dy − Σdy − x̂·Σ(dy·x̂)) + dmean/m + dvariance·2(x − mean)/m. */
  float *k_dy = block, *k_x = block + channels, *k_1 = block + 2 * channels;
  const double m = rows > 0 ? (double)rows : 1.0;
  for (size_t c = 0; c < channels; c++) {
    const double inv_std = 1.0 / sqrt((double)variance[c] + (double)epsilon);
    const double g = gamma[c];
    dbeta[c] = (float)sum_dy[c];
    dgamma[c] = (float)(sum_dy_xc[c] * inv_std);
    double kdy = g * inv_std;
    double kx = -g * inv_std * inv_std * inv_std * sum_dy_xc[c] / m;
    double k1 = -kdy * sum_dy[c] / m;
    if (dmean != NULL) k1 += (double)dmean[c] / m;
    if (dvariance != NULL) kx += 2.0 * (double)dvariance[c] / m;
    k_dy[c] = (float)kdy;
    k_x[c] = (float)kx;
    k_1[c] = (float)k1;
  }
  for (size_t r = 0; r < rows; r++) {
    const float *restrict g = dy + r * channels;
    const float *restrict row = x + r * channels;
    float *restrict out = dx + r * channels;
    if (relu) {
      for (size_t c = 0; c < channels; c++) {
        const float xc = row[c] - mean[c];
        const float step = swamp_relu_step(xc * scale[c] + beta[c]);
        const float passed = g[c] * step;
        out[c] = k_dy[c] * passed + k_x[c] * xc + k_1[c];
      }
    } else {
      for (size_t c = 0; c < channels; c++) out[c] = k_dy[c] * g[c] + k_x[c] * (row[c] - mean[c]) + k_1[c];
    }
  }
  free(sums);
  free(block);
  return 0;
}

VECTOR_CLONES int swamp_batchnorm_inference(const float *x, size_t rows, size_t channels, const float *mean,
                              const float *variance, const float *offset, const float *scale,
                              float epsilon, float *y) {
  float *factor = (float *)malloc(2 * channels * sizeof(float));
  if (factor == NULL) return -1;
  /* y = x·factor + shift per channel: one multiply-add per element. */
  float *shift = factor + channels;
  for (size_t c = 0; c < channels; c++) {
    const double f = (scale != NULL ? (double)scale[c] : 1.0) / sqrt((double)variance[c] + (double)epsilon);
    factor[c] = (float)f;
    shift[c] = (float)((offset != NULL ? (double)offset[c] : 0.0) - (double)mean[c] * f);
  }
  for (size_t r = 0; r < rows; r++) {
    const float *restrict row = x + r * channels;
    float *restrict out = y + r * channels;
    for (size_t c = 0; c < channels; c++) out[c] = row[c] * factor[c] + shift[c];
  }
  free(factor);
  return 0;
}
