#include "cpu_features.h"

#include <stdlib.h>

static swamp_simd_level cpu_level(void) {
  static int cached = -1;
  if (cached < 0) {
    cached = SWAMP_SIMD_BASELINE;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      cached = __builtin_cpu_supports("avx512f") ? SWAMP_SIMD_AVX512 : SWAMP_SIMD_AVX2;
    }
#endif
  }
  return (swamp_simd_level)cached;
}

int swamp_native_switched_off(const char *name) {
  const char *setting = getenv(name);
  return setting != NULL && setting[0] == '0';
}

swamp_simd_level swamp_simd_level_in_use(void) {
  swamp_simd_level level = cpu_level();
  if (level > SWAMP_SIMD_AVX2 && swamp_native_switched_off("SWAMP_NATIVE_AVX512")) level = SWAMP_SIMD_AVX2;
  if (level > SWAMP_SIMD_BASELINE && swamp_native_switched_off("SWAMP_NATIVE_AVX2")) level = SWAMP_SIMD_BASELINE;
  return level;
}
