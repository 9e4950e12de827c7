/* Bias and activation applied to a row-major matrix after a GEMM, as TF.js's fused kernels do. */
#ifndef SWAMP_EPILOGUE_H
#define SWAMP_EPILOGUE_H

#include <stddef.h>

/* Same numbering as tfjs-backend-wasm's FusableActivation. */
typedef enum {
  SWAMP_ACTIVATION_LINEAR = 0,
  SWAMP_ACTIVATION_RELU = 1,
  SWAMP_ACTIVATION_RELU6 = 2,
  SWAMP_ACTIVATION_PRELU = 3,
  SWAMP_ACTIVATION_LEAKYRELU = 4,
  SWAMP_ACTIVATION_SIGMOID = 5,
  SWAMP_ACTIVATION_ELU = 6
} swamp_activation;

typedef struct {
  const float *bias;        /* per column, or NULL */
  size_t bias_size;         /* 1 (broadcast) or the column count */
  swamp_activation activation;
  float leakyrelu_alpha;
  const float *prelu;       /* per column, for SWAMP_ACTIVATION_PRELU */
  size_t prelu_size;        /* 1 (broadcast) or the column count */
} swamp_epilogue;

int swamp_epilogue_is_identity(const swamp_epilogue *e);
void swamp_epilogue_apply(const swamp_epilogue *e, float *c, size_t rows, size_t cols);

#endif
