#include "elementwise.h"

#include <math.h>
#include <string.h>

void swamp_masked_sgd(size_t n, const float *w, const float *g, const float *v, const float *mask,
                      float lr, float momentum, float decay, float *w_out, float *v_out) {
  if (mask == NULL) {
    for (size_t i = 0; i < n; i++) {
      const float velocity = v[i] * momentum + (g[i] + w[i] * decay);
      w_out[i] = w[i] - velocity * lr;
      v_out[i] = velocity;
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const float velocity = v[i] * momentum + (g[i] + w[i] * decay);
    w_out[i] = (w[i] - velocity * lr) * mask[i];
    v_out[i] = velocity * mask[i];
  }
}

void swamp_masked_sgd_kept(size_t n, const int32_t *kept, size_t count, const float *w, const float *g, const float *v,
                           float lr, float momentum, float decay, float *w_out, float *v_out) {
  memset(w_out, 0, n * sizeof(float));
  memset(v_out, 0, n * sizeof(float));
  for (size_t k = 0; k < count; k++) {
    const size_t i = (size_t)kept[k];
    const float velocity = v[i] * momentum + (g[i] + w[i] * decay);
    w_out[i] = w[i] - velocity * lr;
    v_out[i] = velocity;
  }
}

void swamp_relu_grad(size_t n, const float *dy, const float *x, float *dx) {
  for (size_t i = 0; i < n; i++) {
    const float step = swamp_relu_step(x[i]);
    dx[i] = dy[i] * step;
  }
}
