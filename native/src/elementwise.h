/* Element-wise training kernels that replace chains of TF.js operations, one pass over memory
 * instead of one per operation. No FMA contraction (the addon is built for the baseline ISA), so
 * each result equals, bit for bit, what the composed float32 operations give. */
#ifndef SWAMP_ELEMENTWISE_H
#define SWAMP_ELEMENTWISE_H

#include <stddef.h>

/* One SGD step with momentum and coupled weight decay (PyTorch's formulation), masked:
 *   d = g + w·decay;  v' = v·momentum + d;  w' = w − v'·lr;  then v' ·= mask, w' ·= mask
 * (mask may be NULL for an unpruned variable). Outputs may alias their inputs. */
void swamp_masked_sgd(size_t n, const float *w, const float *g, const float *v, const float *mask,
                      float lr, float momentum, float decay, float *w_out, float *v_out);

/* The ReLU gradient as TF.js defines it: dy · step(x), where step is 1 for x > 0, NaN for NaN and
 * 0 otherwise. */
void swamp_relu_grad(size_t n, const float *dy, const float *x, float *dx);

#endif
