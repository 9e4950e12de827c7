{
  "targets": [
    {
      "target_name": "swamp_native",
      "sources": ["src/addon.c", "src/batchnorm.c", "src/blas.c", "src/conv.c", "src/direct_conv.c", "src/elementwise.c", "src/epilogue.c", "src/pool.c", "src/reduce.c", "src/sparse_conv.c"],
      "cflags": ["-O3", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wno-unused-parameter"],
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
