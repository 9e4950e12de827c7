#include "reduce.h"

#include <stdlib.h>
#include <string.h>

/* Float partial sums over blocks of rows (vectorised across columns), added into double totals,
 * so long reductions keep about double precision as tfjs-backend-cpu's JavaScript sums do. */
enum { BLOCK_ROWS = 64 };

int swamp_column_sums(const float *x, size_t rows, size_t cols, float *out) {
  double *total = (double *)calloc(cols, sizeof(double));
  float *partial = (float *)malloc(cols * sizeof(float));
  if (total == NULL || partial == NULL) {
    free(total);
    free(partial);
    return -1;
  }
  for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
    const size_t r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
    memset(partial, 0, cols * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *restrict row = x + r * cols;
      float *restrict p = partial;
      for (size_t c = 0; c < cols; c++) p[c] += row[c];
    }
    for (size_t c = 0; c < cols; c++) total[c] += partial[c];
  }
  for (size_t c = 0; c < cols; c++) out[c] = (float)total[c];
  free(total);
  free(partial);
  return 0;
}
