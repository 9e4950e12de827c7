#include "epilogue.h"

#include <math.h>

int swamp_epilogue_is_identity(const swamp_epilogue *e) {
  return e == NULL || (e->bias == NULL && e->activation == SWAMP_ACTIVATION_LINEAR);
}

static float activate(const swamp_epilogue *e, float v, size_t col) {
  switch (e->activation) {
    case SWAMP_ACTIVATION_RELU: return v > 0.0f ? v : 0.0f;
    case SWAMP_ACTIVATION_RELU6: return v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f;
    case SWAMP_ACTIVATION_PRELU:
      return v >= 0.0f ? v : v * e->prelu[e->prelu_size == 1 ? 0 : col];
    case SWAMP_ACTIVATION_LEAKYRELU: return v >= 0.0f ? v : v * e->leakyrelu_alpha;
    case SWAMP_ACTIVATION_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case SWAMP_ACTIVATION_ELU: return v >= 0.0f ? v : expm1f(v);
    case SWAMP_ACTIVATION_LINEAR:
    default: return v;
  }
}

void swamp_epilogue_apply(const swamp_epilogue *e, float *c, size_t rows, size_t cols) {
  if (swamp_epilogue_is_identity(e)) return;
  const int only_relu = e->activation == SWAMP_ACTIVATION_RELU;
  for (size_t r = 0; r < rows; r++) {
    float *row = c + r * cols;
    if (e->bias != NULL) {
      if (e->bias_size == 1) {
        const float b = e->bias[0];
        for (size_t j = 0; j < cols; j++) row[j] += b;
      } else {
        for (size_t j = 0; j < cols; j++) row[j] += e->bias[j];
      }
    }
    if (e->activation == SWAMP_ACTIVATION_LINEAR) continue;
    if (only_relu) {
      /* The common case, kept branch-free so the compiler vectorises it. */
      for (size_t j = 0; j < cols; j++) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
    } else {
      for (size_t j = 0; j < cols; j++) row[j] = activate(e, row[j], j);
    }
  }
}
