/* Sums over the leading axes of a row-major tensor: the bias gradients of dense and conv layers. */
#ifndef SWAMP_REDUCE_H
#define SWAMP_REDUCE_H

#include <stddef.h>

/* out[c] = Σ_r x[r·cols + c]. Returns -1 when scratch memory could not be allocated. */
int swamp_column_sums(const float *x, size_t rows, size_t cols, float *out);

#endif
