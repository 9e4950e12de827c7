/**
 * The native addon itself: loading, OpenBLAS core-type choice, and its primitives (sgemm,
 * im2col/col2im) against plain JavaScript references; and that registration puts the native
 * kernels in place for `wasm`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getKernel } from "@tensorflow/tfjs-core";
import { loadNative, type NativeAddon } from "../../worker/engine/native-kernels/addon.js";
import { olderCoreTypeWarning, openBlasCoreTypeFor } from "../../worker/engine/native-kernels/openblas-core-type.js";
import { coreTypeWarningLine } from "../../worker/engine/core-type-warning.js";
import { isNativeKernelRegistered, NATIVE_KERNEL_NAMES, registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { Random } from "../../worker/engine/rng.js";
import { DENSE_RELU } from "../../worker/engine/native-kernels/dense-layer.js";
import { SPARSE_DENSE } from "../../worker/engine/native-kernels/sparse-dense.js";
import { MASKED_SGD_KERNEL } from "../../worker/engine/sgd.js";
import { RELU_GRAD_KERNEL } from "../../worker/engine/relu-gradient.js";
import { initBackends, randomValues, relativeError, TOLERANCE } from "./native-kernels-harness.js";

function addon(): NativeAddon {
  const loaded = loadNative();
  assert.ok(loaded.ok, `native addon not usable: ${loaded.ok ? "" : loaded.reason}`);
  return loaded.native.addon;
}

const cpuinfo = (vendor: string, flags: string, family = 6) =>
  `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: ${family}\nflags\t\t: ${flags}\n\nprocessor\t: 1\n`;

test("OpenBLAS core type follows the CPU's flags", () => {
  const base = "fpu sse sse2 ssse3 sse4_1 sse4_2";
  assert.equal(openBlasCoreTypeFor(cpuinfo("AuthenticAMD", `${base} avx avx2 fma`, 23), "x64"), "Zen");
  assert.equal(openBlasCoreTypeFor(cpuinfo("AuthenticAMD", `${base} avx avx2 fma`, 25), "x64"), "Haswell");
  assert.equal(openBlasCoreTypeFor(cpuinfo("GenuineIntel", `${base} avx avx2 fma`), "x64"), "Haswell");
  assert.equal(openBlasCoreTypeFor(cpuinfo("GenuineIntel", `${base} avx avx2 fma avx512f avx512bw avx512vl avx512dq`), "x64"), "SkylakeX");
  // AVX-512 without BW/VL/DQ (Knights Landing) must not get SkylakeX kernels.
  assert.equal(openBlasCoreTypeFor(cpuinfo("GenuineIntel", `${base} avx avx2 fma avx512f`), "x64"), "Haswell");
  assert.equal(openBlasCoreTypeFor(cpuinfo("GenuineIntel", `${base} avx`), "x64"), "Sandybridge");
  assert.equal(openBlasCoreTypeFor(cpuinfo("GenuineIntel", base), "x64"), "Nehalem");
  assert.equal(openBlasCoreTypeFor(cpuinfo("GenuineIntel", "fpu sse sse2"), "x64"), undefined);
  assert.equal(openBlasCoreTypeFor(cpuinfo("AuthenticAMD", `${base} avx avx2 fma`), "arm64"), undefined);
  assert.equal(openBlasCoreTypeFor("no flags here", "x64"), undefined);
});

test("a user's OPENBLAS_CORETYPE older than the CPU allows is warned about, and only then", () => {
  const warning = olderCoreTypeWarning({ OPENBLAS_CORETYPE: "Haswell" }, () => "SkylakeX");
  assert.match(warning ?? "", /OPENBLAS_CORETYPE=Haswell is set.*SkylakeX/);
  assert.ok(olderCoreTypeWarning({ OPENBLAS_CORETYPE: "sandybridge" }, () => "Haswell"), "case is OpenBLAS's: ignored");
  assert.equal(olderCoreTypeWarning({ OPENBLAS_CORETYPE: "SkylakeX" }, () => "SkylakeX"), undefined);
  assert.equal(olderCoreTypeWarning({ OPENBLAS_CORETYPE: "Cooperlake" }, () => "SkylakeX"), undefined, "as new is not older");
  assert.equal(olderCoreTypeWarning({ OPENBLAS_CORETYPE: "Haswell" }, () => "Zen"), undefined, "both AVX2");
  assert.equal(olderCoreTypeWarning({ OPENBLAS_CORETYPE: "SkylakeX" }, () => "Haswell"), undefined, "newer than the flags: the user's business");
  assert.equal(olderCoreTypeWarning({ OPENBLAS_CORETYPE: "Neoversen1" }, () => "Haswell"), undefined, "unknown names are not judged");
  assert.equal(olderCoreTypeWarning({}, () => "SkylakeX"), undefined, "nothing set: swamp chooses");
  assert.equal(olderCoreTypeWarning({ OPENBLAS_CORETYPE: "Haswell" }, () => undefined), undefined);
});

test("the core-type warning is printed only where the native kernels, the ones calling OpenBLAS, may run", () => {
  const skylake = () => "SkylakeX";
  const haswell = { OPENBLAS_CORETYPE: "Haswell" };
  assert.match(coreTypeWarningLine("swamp run", undefined, haswell, skylake) ?? "", /^swamp run: OPENBLAS_CORETYPE=Haswell is set/);
  assert.ok(coreTypeWarningLine("swamp run", "wasm", haswell, skylake));
  assert.equal(coreTypeWarningLine("swamp run", "cpu", haswell, skylake), undefined, "--backend cpu");
  assert.equal(coreTypeWarningLine("swamp worker", undefined, { ...haswell, SWAMP_BACKEND: "tensorflow" }, skylake), undefined, "SWAMP_BACKEND=tensorflow");
  assert.ok(coreTypeWarningLine("swamp worker", "wasm", { ...haswell, SWAMP_BACKEND: "cpu" }, skylake), "--backend outranks SWAMP_BACKEND");
  assert.equal(coreTypeWarningLine("swamp run", undefined, { ...haswell, SWAMP_NATIVE: "0" }, skylake), undefined, "native kernels off: OpenBLAS unused");
});

test("the addon loads with a BLAS and reports its core type", () => {
  const loaded = loadNative();
  assert.ok(loaded.ok, `native addon not usable: ${loaded.ok ? "" : loaded.reason}`);
  assert.ok(loaded.native.library.length > 0);
  if (process.platform === "linux" && process.arch === "x64") {
    assert.ok(loaded.native.coreType.length > 0, "OpenBLAS should name its core type");
    assert.notEqual(loaded.native.coreType.toLowerCase(), "prescott", "core type was misdetected");
  }
});

function naiveGemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, lda: number, b: Float32Array, ldb: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i]! : a[i * lda + p]!;
        const bv = transB ? b[j * ldb + p]! : b[p * ldb + j]!;
        sum += av * bv;
      }
      c[i * n + j] = sum;
    }
  }
  return c;
}

test("sgemm matches a naive product for every transpose combination, with padded leading dimensions and offsets", () => {
  const native = addon();
  const random = Random.derive(1, ["native-sgemm"]);
  for (const [m, n, k] of [[1, 1, 1], [7, 5, 3], [33, 17, 65], [128, 10, 100]] as const) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const lda = (transA ? m : k) + 3;
        const ldb = (transB ? k : n) + 1;
        const aOffset = 5;
        const bOffset = 2;
        const a = randomValues(random, [aOffset + (transA ? k : m) * lda]);
        const b = randomValues(random, [bOffset + (transB ? n : k) * ldb]);
        const c = new Float32Array(3 + m * n).fill(Number.NaN);
        native.sgemm(transA, transB, m, n, k, 1, a, aOffset, lda, b, bOffset, ldb, 0, c, 3, n);
        const expected = naiveGemm(transA, transB, m, n, k, a.subarray(aOffset), lda, b.subarray(bOffset), ldb);
        const error = relativeError(c.subarray(3), Float32Array.from(expected));
        assert.ok(error < TOLERANCE, `sgemm ${m}x${n}x${k} transA=${transA} transB=${transB}: relative error ${error}`);
      }
    }
  }
});

test("the addon refuses arrays too short for the shapes it is given, naming the argument", () => {
  const native = addon();
  const small = new Float32Array(4);
  assert.throws(() => native.sgemm(false, false, 2, 2, 3, 1, small, 0, 3, small, 0, 2, 0, small, 0, 2), /sgemm: a is too short/);
  assert.throws(() => native.sgemm(false, false, 2, 2, 2, 1, small, 1, 2, small, 0, 2, 0, small, 0, 2), /a is too short/);
  assert.throws(() => native.sgemm(false, false, 2, 2, 2, 1, small, 0, 1, small, 0, 2, 0, small, 0, 2), /lda/);
  assert.throws(() => native.im2col(new Int32Array(3), small, 0, 0, 1, small, 0), /geometry/);
  assert.throws(() => native.conv2d(Int32Array.from([1, 2, 2, 1, 2, 2, 1, 3, 3, 1, 1, 1, 1, 1, 1]), small, 0, small, 0, small, 0), /filter is too short/);
  // Sizes whose element counts would overflow are refused before any bounds check relies on them.
  const big = 2 ** 31 - 1;
  assert.throws(() => native.batchMatMul(false, false, big, big, 0, big, small, 0, 0, small, 0, 0, small, 0), /c is too large/);
  assert.throws(() => native.conv2d(Int32Array.from([big, big, big, 1, big, big, 1, 1, 1, 1, 1, 1, 1, 0, 0]), small, 0, small, 0, small, 0), /too large/);
});

/** [batch, inH, inW, inC, outH, outW, outC, fH, fW, sH, sW, dH, dW, padTop, padLeft] */
type Geometry = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

function naiveIm2col(g: Geometry, x: Float32Array): Float32Array {
  const [batch, inH, inW, inC, outH, outW, , fH, fW, sH, sW, dH, dW, padTop, padLeft] = g;
  const cols = fH * fW * inC;
  const col = new Float32Array(batch * outH * outW * cols);
  let row = 0;
  for (let n = 0; n < batch; n++)
    for (let oh = 0; oh < outH; oh++)
      for (let ow = 0; ow < outW; ow++, row++)
        for (let i = 0; i < fH; i++)
          for (let j = 0; j < fW; j++)
            for (let c = 0; c < inC; c++) {
              const ih = oh * sH - padTop + i * dH;
              const iw = ow * sW - padLeft + j * dW;
              const inside = ih >= 0 && ih < inH && iw >= 0 && iw < inW;
              col[row * cols + (i * fW + j) * inC + c] = inside ? x[((n * inH + ih) * inW + iw) * inC + c]! : 0;
            }
  return col;
}

test("im2col matches a naive gather and col2im is its adjoint, for strides, paddings and dilations", () => {
  const native = addon();
  const random = Random.derive(2, ["native-im2col"]);
  const geometries: Geometry[] = [
    [2, 5, 6, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1], // 3x3 same
    [1, 7, 7, 2, 4, 4, 1, 3, 3, 2, 2, 1, 1, 1, 1], // stride 2, padding 1
    [2, 8, 8, 3, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0], // stride 2 same in TF (pad only bottom/right)
    [1, 9, 9, 1, 5, 5, 1, 5, 5, 1, 1, 1, 1, 0, 0], // 5x5 valid
    [1, 9, 9, 2, 5, 5, 1, 3, 3, 1, 1, 2, 2, 0, 0], // dilation 2
    [1, 6, 6, 4, 3, 3, 8, 1, 1, 2, 2, 1, 1, 0, 0], // 1x1 stride 2
    [1, 4, 4, 1, 4, 4, 1, 7, 7, 1, 1, 1, 1, 3, 3], // filter larger than the input
  ];
  for (const g of geometries) {
    const [batch, inH, inW, inC, outH, outW, , fH, fW] = g;
    const geometry = Int32Array.from(g);
    const x = randomValues(random, [batch * inH * inW * inC]);
    const rows = batch * outH * outW;
    const cols = fH * fW * inC;
    const expected = naiveIm2col(g, x);
    // In two blocks, the second starting mid-image, as the convolutions use it.
    const split = Math.floor(rows / 2) + 1;
    const col = new Float32Array(rows * cols).fill(Number.NaN);
    native.im2col(geometry, x, 0, 0, split, col, 0);
    native.im2col(geometry, x, 0, split, rows - split, col, split * cols);
    assert.deepEqual(col, expected, `im2col ${g.join(",")}`);
    // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩
    const c = randomValues(random, [rows * cols]);
    const dx = new Float32Array(x.length);
    native.col2im(geometry, c, 0, 0, split, dx, 0);
    native.col2im(geometry, c, split * cols, split, rows - split, dx, 0);
    let left = 0;
    let right = 0;
    for (let i = 0; i < c.length; i++) left += expected[i]! * c[i]!;
    for (let i = 0; i < x.length; i++) right += x[i]! * dx[i]!;
    assert.ok(Math.abs(left - right) <= 1e-4 * Math.max(1, Math.abs(left)), `col2im ${g.join(",")}: ${left} vs ${right}`);
  }
});

test("registerNativeKernels replaces every product and convolution kernel for wasm, once", async () => {
  await initBackends();
  const first = registerNativeKernels();
  assert.equal(first.loaded, true, first.reason);
  assert.deepEqual(first.kernels, [...NATIVE_KERNEL_NAMES, MASKED_SGD_KERNEL, RELU_GRAD_KERNEL, `Dense+ReLU(${DENSE_RELU})`, `Dense(pruned, ${SPARSE_DENSE})`, "BatchNormalization(training)"]);
  const before = NATIVE_KERNEL_NAMES.map((name) => getKernel(name, "wasm")?.kernelFunc);
  const second = registerNativeKernels();
  assert.equal(second.loaded, true);
  for (const [i, name] of NATIVE_KERNEL_NAMES.entries()) {
    assert.ok(isNativeKernelRegistered(name), `${name} is not the native kernel`);
    assert.equal(getKernel(name, "wasm")?.kernelFunc, before[i], `${name} was wrapped twice`);
  }
});
