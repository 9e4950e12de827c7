/**
 * Finding and loading swamp's native addon (native/, built at install by scripts/build-native.mjs)
 * and the BLAS it runs on. Loading never throws: every way it can fail becomes a reason string, so
 * the engine can say which path it uses and carry on with the pure-wasm kernels.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { chooseOpenBlasCoreType } from "./openblas-core-type.js";

/** The addon's functions (native/src/addon.c). Arrays are Float32Arrays plus element offsets. */
export interface NativeAddon {
  abiVersion: number;
  initBlas(candidates: string[], coreType: string | null): { library: string; coreName: string; config: string };
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOffset: number, lda: number,
    b: Float32Array, bOffset: number, ldb: number,
    beta: number, c: Float32Array, cOffset: number, ldc: number,
  ): void;
  batchMatMul(
    transA: boolean, transB: boolean, m: number, n: number, k: number, batch: number,
    a: Float32Array, aOffset: number, aBatchStride: number,
    b: Float32Array, bOffset: number, bBatchStride: number,
    c: Float32Array, cOffset: number,
    ...epilogue: EpilogueArguments
  ): void;
  biasActivation(c: Float32Array, cOffset: number, rows: number, cols: number, ...epilogue: EpilogueArguments): void;
  im2col(geometry: Int32Array, x: Float32Array, xOffset: number, rowStart: number, rowCount: number, col: Float32Array, colOffset: number): void;
  col2im(geometry: Int32Array, col: Float32Array, colOffset: number, rowStart: number, rowCount: number, dx: Float32Array, dxOffset: number): void;
  conv2d(
    geometry: Int32Array, x: Float32Array, xOffset: number, filter: Float32Array, filterOffset: number,
    y: Float32Array, yOffset: number, ...epilogue: EpilogueArguments
  ): void;
  conv2dBackpropInput(geometry: Int32Array, dy: Float32Array, dyOffset: number, filter: Float32Array, filterOffset: number, dx: Float32Array, dxOffset: number): void;
  conv2dBackpropFilter(geometry: Int32Array, x: Float32Array, xOffset: number, dy: Float32Array, dyOffset: number, dfilter: Float32Array, dfilterOffset: number): void;
  columnSums(x: Float32Array, xOffset: number, rows: number, cols: number, out: Float32Array, outOffset: number): void;
  maxPoolGrad(geometry: Int32Array, x: Float32Array, xOffset: number, dy: Float32Array, dyOffset: number, dx: Float32Array, dxOffset: number): void;
  batchNormTraining(
    x: Float32Array, xOffset: number, rows: number, channels: number,
    gamma: Float32Array, gammaOffset: number, beta: Float32Array, betaOffset: number, epsilon: number,
    y: Float32Array, yOffset: number, mean: Float32Array, meanOffset: number, variance: Float32Array, varianceOffset: number,
    relu: 0 | 1,
  ): void;
  batchNormTrainingGrad(
    dy: Float32Array, dyOffset: number, x: Float32Array, xOffset: number, rows: number, channels: number,
    gamma: Float32Array, gammaOffset: number, mean: Float32Array, meanOffset: number,
    variance: Float32Array, varianceOffset: number, epsilon: number,
    dmean: Float32Array | null, dmeanOffset: number, dvariance: Float32Array | null, dvarianceOffset: number,
    dx: Float32Array, dxOffset: number, dgamma: Float32Array, dgammaOffset: number, dbeta: Float32Array, dbetaOffset: number,
    beta: Float32Array, betaOffset: number, relu: 0 | 1,
  ): void;
  batchNormInference(
    x: Float32Array, xOffset: number, rows: number, channels: number,
    mean: Float32Array, meanOffset: number, variance: Float32Array, varianceOffset: number,
    offset: Float32Array | null, offsetOffset: number, scale: Float32Array | null, scaleOffset: number, epsilon: number,
    y: Float32Array, yOffset: number,
  ): void;
  maskedSgd(
    n: number, w: Float32Array, wOffset: number, g: Float32Array, gOffset: number, v: Float32Array, vOffset: number,
    mask: Float32Array | null, maskOffset: number, lr: number, momentum: number, decay: number,
    wOut: Float32Array, wOutOffset: number, vOut: Float32Array, vOutOffset: number,
  ): void;
  sparseConv2d(
    geometry: Int32Array, x: Float32Array, xOffset: number, filter: Float32Array, filterOffset: number,
    kept: Int32Array, keptCount: number, y: Float32Array, yOffset: number, ...epilogue: EpilogueArguments
  ): void;
  sparseConv2dBackpropInput(
    geometry: Int32Array, dy: Float32Array, dyOffset: number, filter: Float32Array, filterOffset: number,
    kept: Int32Array, keptCount: number, dx: Float32Array, dxOffset: number,
  ): void;
  sparseConv2dBackpropFilter(
    geometry: Int32Array, x: Float32Array, xOffset: number, dy: Float32Array, dyOffset: number,
    kept: Int32Array, keptCount: number, dfilter: Float32Array, dfilterOffset: number,
  ): void;
  /** maskedSgd over the kept entries (flat indices) only; every other entry of the outputs becomes 0. */
  maskedSgdKept(
    n: number, kept: Int32Array, keptCount: number, w: Float32Array, wOffset: number, g: Float32Array, gOffset: number,
    v: Float32Array, vOffset: number, lr: number, momentum: number, decay: number,
    wOut: Float32Array, wOutOffset: number, vOut: Float32Array, vOutOffset: number,
  ): void;
  /**
   * y [batch, outputs] of a pruned chain of Dense layers on x [batch, inputWidth], both row-major
   * (native/src/sparse_mlp.c); the plan's three arrays are laid out by sparse-mlp.ts.
   */
  sparseMlpForward(
    structure: Int32Array, indices: Int32Array, floats: Float32Array,
    x: Float32Array, xOffset: number, batch: number, y: Float32Array, yOffset: number,
  ): void;
  /** y [batch, outputs] of a pruned Conv-n on x [batch, h, w, c] (native/src/sparse_convnet.c); plans from sparse-convnet.ts. */
  sparseConvNetForward(
    convStructure: Int32Array, convIndices: Int32Array, convFloats: Float32Array,
    headStructure: Int32Array, headIndices: Int32Array, headFloats: Float32Array,
    x: Float32Array, xOffset: number, batch: number, y: Float32Array, yOffset: number,
  ): void;
  /**
   * One training step of a pruned chain of Dense layers (native/src/sparse_mlp_train.c): updates
   * the kernels and biases at `offsets` in `heap` and the momentum in `velocities` in place and
   * returns the batch's mean loss. Example b of the batch is row rows[b] of x (row b when rows is
   * null), its label labels[b]; the plan's arrays are laid out by sparse-mlp-training.ts.
   */
  sparseMlpTrainStep(
    structure: Int32Array, indices: Int32Array, heap: Float32Array, offsets: Int32Array, velocities: Float32Array,
    x: Float32Array, xOffset: number, rows: Int32Array | null, labels: Int32Array, count: number,
    learningRate: number, momentum: number, weightDecay: number,
  ): number;
  reluGrad(n: number, dy: Float32Array, dyOffset: number, x: Float32Array, xOffset: number, dx: Float32Array, dxOffset: number): void;
}

/**
 * Bias and activation after a product: bias (or null), its offset and size (1 or the column
 * count), the activation's number (tfjs-backend-wasm's FusableActivation order), the leaky-ReLU
 * alpha, and PReLU weights (or null) with their offset and size.
 */
export type EpilogueArguments =
  | []
  | [bias: Float32Array | null, biasOffset: number, biasSize: number, activation: number, leakyreluAlpha: number, prelu: Float32Array | null, preluOffset: number, preluSize: number];

/** Bumped with any change to the addon's functions; an older build is refused, not misused. */
export const NATIVE_ABI_VERSION = 9;

export const ADDON_RELATIVE_PATH = join("native", "build", "Release", "swamp_native.node");

export interface LoadedNative {
  addon: NativeAddon;
  addonPath: string;
  /** The BLAS library opened, e.g. "libopenblas.so.0" or "Accelerate.framework". */
  library: string;
  /** OpenBLAS's kernel set in use (e.g. "Haswell"); "" for other BLAS. */
  coreType: string;
}

export type NativeLoadResult = { ok: true; native: LoadedNative } | { ok: false; reason: string };

export interface NativeLoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Where to look for the addon; by default the project root above this file. */
  addonPath?: string;
}

/** The project root is the nearest ancestor holding native/binding.gyp (works from src and dist). */
function defaultAddonPath(): string | undefined {
  let dir = __dirname;
  for (let depth = 0; depth < 8; depth++) {
    if (existsSync(join(dir, "native", "binding.gyp"))) return join(dir, ADDON_RELATIVE_PATH);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

function blasCandidates(env: NodeJS.ProcessEnv): string[] {
  if (env.SWAMP_BLAS_LIBRARY) return [env.SWAMP_BLAS_LIBRARY];
  // Only optimised BLAS: the reference BLAS would be slower than the wasm kernels it replaces.
  return ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"];
}

/** SWAMP_NATIVE=0 turns the native kernels, and with them every use of OpenBLAS, off. */
export function nativeKernelsDisabled(env: NodeJS.ProcessEnv): boolean {
  return env.SWAMP_NATIVE === "0";
}

const cache = new Map<string, NativeLoadResult>();

/**
 * Loads the addon and its BLAS, once per path per thread. OPENBLAS_CORETYPE (chosen from the
 * CPU's flags unless the user set it) and single-threaded BLAS are put into the process
 * environment by the addon itself just before it opens OpenBLAS: a worker thread's process.env is
 * a private copy that OpenBLAS would never see.
 */
export function loadNative(options: NativeLoadOptions = {}): NativeLoadResult {
  const env = options.env ?? process.env;
  if (nativeKernelsDisabled(env)) return { ok: false, reason: "disabled by SWAMP_NATIVE=0" };
  const addonPath = options.addonPath ? resolve(options.addonPath) : defaultAddonPath();
  if (!addonPath) return { ok: false, reason: "project root (native/binding.gyp) not found" };
  const cached = cache.get(addonPath);
  if (cached) return cached;
  const result = loadFrom(addonPath, env);
  cache.set(addonPath, result);
  return result;
}

function loadFrom(addonPath: string, env: NodeJS.ProcessEnv): NativeLoadResult {
  if (!existsSync(addonPath)) {
    return { ok: false, reason: `addon not built (${addonPath} missing; run: node scripts/build-native.mjs)` };
  }
  let addon: NativeAddon;
  try {
    // A runtime path: the addon is optional and resolved relative to the project, not bundled.
    addon = require(addonPath) as NativeAddon;
  } catch (error) {
    return { ok: false, reason: `addon failed to load (${error instanceof Error ? error.message : String(error)})` };
  }
  if (addon.abiVersion !== NATIVE_ABI_VERSION) {
    return { ok: false, reason: `addon is out of date (ABI ${String(addon.abiVersion)}, need ${NATIVE_ABI_VERSION}; run: node scripts/build-native.mjs)` };
  }
  try {
    const blas = addon.initBlas(blasCandidates(env), chooseOpenBlasCoreType(env) ?? null);
    return { ok: true, native: { addon, addonPath, library: blas.library, coreType: blas.coreName } };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
