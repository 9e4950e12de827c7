#include "blas.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __APPLE__
/* Accelerate's CBLAS, declared with plain ints (the enums are int-sized) to stay independent of
 * the header's evolving LAPACK-integer macros. */
extern void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c,
                        int ldc);
#else
#include <dlfcn.h>
#endif

static pthread_mutex_t load_mutex = PTHREAD_MUTEX_INITIALIZER;
static int load_attempted = 0;
static int load_status = -1;
static char load_error[512];
static swamp_blas_info loaded_info;
static swamp_sgemm_fn sgemm_fn = NULL;

swamp_sgemm_fn swamp_blas_sgemm(void) { return sgemm_fn; }

static void copy_text(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src == NULL ? "" : src);
}

#ifdef __APPLE__
static int load_locked(const char *const *candidates, int candidate_count, const char *core_type) {
  (void)candidates;
  (void)candidate_count;
  (void)core_type;
  /* Accelerate reads this once, on first use: one thread per particle. */
  setenv("VECLIB_MAXIMUM_THREADS", "1", 1);
  sgemm_fn = (swamp_sgemm_fn)cblas_sgemm;
  copy_text(loaded_info.library, sizeof loaded_info.library, "Accelerate.framework");
  copy_text(loaded_info.core_name, sizeof loaded_info.core_name, "");
  copy_text(loaded_info.config, sizeof loaded_info.config, "Accelerate");
  return 0;
}
#else
static int load_locked(const char *const *candidates, int candidate_count, const char *core_type) {
  if (core_type != NULL && core_type[0] != '\0' && getenv("OPENBLAS_CORETYPE") == NULL) {
    setenv("OPENBLAS_CORETYPE", core_type, 0);
  }
  /* Overrides a user setting on purpose: a multi-threaded BLAS inside each particle's thread
   * would oversubscribe the cores that the particles already fill. */
  setenv("OPENBLAS_NUM_THREADS", "1", 1);

  size_t used = 0;
  load_error[0] = '\0';
  for (int i = 0; i < candidate_count; i++) {
    void *handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
      const char *why = dlerror();
      used += (size_t)snprintf(load_error + used, used < sizeof load_error ? sizeof load_error - used : 0,
                               "%s%s", used == 0 ? "" : "; ", why == NULL ? candidates[i] : why);
      if (used >= sizeof load_error) used = sizeof load_error - 1;
      continue;
    }
    void *sgemm = dlsym(handle, "cblas_sgemm");
    if (sgemm == NULL) {
      used += (size_t)snprintf(load_error + used, used < sizeof load_error ? sizeof load_error - used : 0,
                               "%s%s has no cblas_sgemm", used == 0 ? "" : "; ", candidates[i]);
      if (used >= sizeof load_error) used = sizeof load_error - 1;
      dlclose(handle);
      continue;
    }
    void (*set_threads)(int) = (void (*)(int))dlsym(handle, "openblas_set_num_threads");
    if (set_threads != NULL) set_threads(1);
    char *(*core_name)(void) = (char *(*)(void))dlsym(handle, "openblas_get_corename");
    char *(*config)(void) = (char *(*)(void))dlsym(handle, "openblas_get_config");
    sgemm_fn = (swamp_sgemm_fn)sgemm;
    copy_text(loaded_info.library, sizeof loaded_info.library, candidates[i]);
    copy_text(loaded_info.core_name, sizeof loaded_info.core_name, core_name ? core_name() : "");
    copy_text(loaded_info.config, sizeof loaded_info.config, config ? config() : "");
    return 0;
  }
  if (candidate_count == 0) copy_text(load_error, sizeof load_error, "no BLAS library names given");
  return -1;
}
#endif

int swamp_blas_load(const char *const *candidates, int candidate_count, const char *core_type,
                    swamp_blas_info *info, char *error, int error_size) {
  pthread_mutex_lock(&load_mutex);
  if (!load_attempted) {
    load_attempted = 1;
    load_status = load_locked(candidates, candidate_count, core_type);
  }
  int status = load_status;
  if (status == 0) {
    *info = loaded_info;
  } else if (error_size > 0) {
    snprintf(error, (size_t)error_size, "%s", load_error);
  }
  pthread_mutex_unlock(&load_mutex);
  return status;
}
