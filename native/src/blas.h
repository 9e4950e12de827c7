/* Single-precision GEMM from the system's CBLAS, found at run time (Linux) or linked (macOS). */
#ifndef SWAMP_BLAS_H
#define SWAMP_BLAS_H

/* Values of the CBLAS enums, fixed by the CBLAS standard. */
enum { SWAMP_CBLAS_ROW_MAJOR = 101, SWAMP_CBLAS_NO_TRANS = 111, SWAMP_CBLAS_TRANS = 112 };

typedef void (*swamp_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k,
                               float alpha, const float *a, int lda, const float *b, int ldb,
                               float beta, float *c, int ldc);

typedef struct {
  char library[512];   /* the shared library (or framework) that provides cblas_sgemm */
  char core_name[64];  /* OpenBLAS's kernel set, e.g. "Haswell"; "" when unknown */
  char config[256];    /* OpenBLAS's build configuration; "" when unknown */
} swamp_blas_info;

/*
 * Loads the BLAS once per process. core_type (may be NULL) becomes OPENBLAS_CORETYPE unless the
 * environment already has one; it must be in the environment before OpenBLAS's constructor runs,
 * which is why the library is opened here rather than linked. BLAS is made single-threaded: the
 * project's parallelism comes from particles on worker threads. Returns 0 on success; otherwise
 * writes a reason into error. Thread-safe; later calls return the first call's outcome.
 */
int swamp_blas_load(const char *const *candidates, int candidate_count, const char *core_type,
                    swamp_blas_info *info, char *error, int error_size);

/* NULL until swamp_blas_load succeeded. */
swamp_sgemm_fn swamp_blas_sgemm(void);

#endif
