{
  "targets": [
    {
      "target_name": "swamp_native",
      "sources": ["src/addon.c", "src/batchnorm.c", "src/blas.c", "src/conv.c", "src/cpu_features.c", "src/direct_conv.c", "src/elementwise.c", "src/epilogue.c", "src/pool.c", "src/reduce.c", "src/sparse_conv.c", "src/sparse_mlp.c", "src/sparse_mlp_train.c", "src/sparse_convnet.c", "src/winograd.c"],
      # -Wno-psabi: the sparse kernels' 64-byte generic vectors never cross a call (always inlined),
      # so GCC's note about how such a call would pass them without AVX-512 does not apply.
      "cflags": ["-O3", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-psabi"],
      "cflags!": ["-O2"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='mac'", {
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_CFLAGS": ["-std=c11"],
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }]
      ]
    }
  ]
}
