#include "sparse_mlp.h"

#include "cpu_features.h"

#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

/* Whether AVX-512 gathers move a tile's input columns (else scalar loads and stores). */
#ifndef MLP_HARDWARE_GATHER
#define MLP_HARDWARE_GATHER 1
#endif

#define MLP_LOOP(name) name##_baseline
#define MLP_TARGET
#define MLP_VEC_FLOATS 4
#include "sparse_mlp_loops.inc"
#undef MLP_LOOP
#undef MLP_TARGET
#undef MLP_VEC_FLOATS

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MLP_HAS_X86_COPIES 1
#define MLP_LOOP(name) name##_avx2
#define MLP_TARGET __attribute__((target("avx2,fma")))
#define MLP_VEC_FLOATS 8
#include "sparse_mlp_loops.inc"
#undef MLP_LOOP
#undef MLP_TARGET
#undef MLP_VEC_FLOATS
#define MLP_LOOP(name) name##_avx512
#define MLP_TARGET __attribute__((target("avx512f,fma")))
#define MLP_VEC_FLOATS 16
#include "sparse_mlp_loops.inc"
#undef MLP_LOOP
#undef MLP_TARGET
#undef MLP_VEC_FLOATS
#endif

int swamp_sparse_mlp_forward(const swamp_sparse_mlp *plan, swamp_scratch *scratch, const float *x, size_t batch, float *y) {
  if (batch == 0 || plan->layer_count == 0) return 0;
  size_t widest = plan->gather_count;
  for (size_t l = 0; l < plan->layer_count; l++) {
    if (plan->layers[l].outputs > widest) widest = plan->layers[l].outputs;
  }
  if (widest == 0) widest = 1;
  /* Two activation tiles of the widest layer, at the widest tile (AVX-512: 32 examples), 64-byte aligned. */
  const size_t tile_floats = widest * 32;
  if (swamp_scratch_reserve(scratch, 2 * tile_floats + 16) != 0) return -1;
  float *a = scratch->data + ((16 - ((uintptr_t)scratch->data / sizeof(float)) % 16) % 16);
  float *b = a + tile_floats;
#ifdef MLP_HAS_X86_COPIES
  const swamp_simd_level level = swamp_simd_level_in_use();
  if (level == SWAMP_SIMD_AVX512) {
    forward_avx512(plan, x, batch, y, a, b);
    return 0;
  }
  if (level == SWAMP_SIMD_AVX2) {
    forward_avx2(plan, x, batch, y, a, b);
    return 0;
  }
#endif
  forward_baseline(plan, x, batch, y, a, b);
  return 0;
}
