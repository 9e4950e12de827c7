/* Element-wise training kernels that replace chains of TF.js operations, one pass over memory
 * instead of one per operation. No FMA contraction (the addon is built for the baseline ISA), so
 * each result equals, bit for bit, what the composed float32 operations give. */
#ifndef SWAMP_ELEMENTWISE_H
#define SWAMP_ELEMENTWISE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* One SGD step with momentum and coupled weight decay (PyTorch's formulation), masked:
 *   d = g + w·decay;  v' = v·momentum + d;  w' = w − v'·lr;  then v' ·= mask, w' ·= mask
 * (mask may be NULL for an unpruned variable). Outputs may alias their inputs. */
void swamp_masked_sgd(size_t n, const float *w, const float *g, const float *v, const float *mask,
                      float lr, float momentum, float decay, float *w_out, float *v_out);

/* The same step over the `count` weights a mask keeps, given by their indices (each below n):
 * their results equal swamp_masked_sgd's, and every other entry of w_out and v_out is 0 (there the
 * masked step gives ±0). O(count) arithmetic, so a layer pruned to 1% steps in about 1% of the
 * time. Outputs must not alias the inputs. */
void swamp_masked_sgd_kept(size_t n, const int32_t *kept, size_t count, const float *w, const float *g, const float *v,
                           float lr, float momentum, float decay, float *w_out, float *v_out);

/* step(x) of TF.js's ReLU gradient dy · step(x): 1 for x > 0, NaN for NaN, 0 otherwise. Shared by
 * the ReLU gradient kernel and the BatchNorm gradient that takes its ReLU in. Take it into a named
 * local before multiplying: GCC 12 vectorises the loop then, but not with the call (or the same
 * conditional) inside the product. */
static inline float swamp_relu_step(float x) {
  const float otherwise = x != x ? NAN : 0.0f;
  return x > 0.0f ? 1.0f : otherwise;
}

/* The ReLU gradient as TF.js defines it: dy · step(x). */
void swamp_relu_grad(size_t n, const float *dy, const float *x, float *dx);

#endif
