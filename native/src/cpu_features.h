/* Which x86 vector instructions the kernels may use: what the CPU has, capped by
 * SWAMP_NATIVE_AVX512=0 (AVX2 at most) and SWAMP_NATIVE_AVX2=0 (the baseline), so every variant
 * stays testable on one machine. The settings are read per call: a cheap lookup. */
#ifndef SWAMP_CPU_FEATURES_H
#define SWAMP_CPU_FEATURES_H

typedef enum { SWAMP_SIMD_BASELINE = 0, SWAMP_SIMD_AVX2 = 1, SWAMP_SIMD_AVX512 = 2 } swamp_simd_level;

/* AVX2 means AVX2 with FMA, AVX-512 means AVX-512F with FMA. */
swamp_simd_level swamp_simd_level_in_use(void);

/* Whether the environment switch `name` (one of the SWAMP_NATIVE_* settings) is set to 0. */
int swamp_native_switched_off(const char *name);

/* For loops over channels that the compiler vectorises: on x86 Linux they are also compiled for
 * AVX2, and the loader picks that copy when the CPU has it (not subject to the caps above). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

#endif
