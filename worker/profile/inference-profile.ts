/**
 * The inference profile of one model (schema/inference-profile.ts): its sizes and work per
 * example, and forward passes timed on this thread with the dense kernels and with the sparse
 * kernels. Each prunable layer that lost weights gets its mask attached for the sparse
 * measurement and runs on the sparse kernels whatever its kept fraction (the training thresholds
 * of sparse-routing.ts are set aside), so the two columns show where the sparse kernels start to
 * pay. A model that is a chain of Dense layers (LeNet-300-100) or a Conv-n runs its sparse pass as
 * one native call over all its layers instead (sparse-mlp.ts, sparse-convnet.ts). Timings are wall-clock medians after warm-up; slow runs are counted, never dropped.
 */
import { cpus } from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import type { InferenceProfile } from "../../schema/inference-profile.js";
import { NATIVE_KERNEL_SET, type BackendInfo } from "../engine/backend.js";
import { forwardFlopsPerExample, keptFlopsPerExample } from "../engine/flops.js";
import type { Mask } from "../engine/mask.js";
import type { ModelSession } from "../engine/model-session.js";
import { loadNative } from "../engine/native-kernels/addon.js";
import { planSparseConvNet, runSparseConvNet } from "../engine/native-kernels/sparse-convnet.js";
import { planSparseMlp, runSparseMlp } from "../engine/native-kernels/sparse-mlp.js";
import { withSparseThreshold } from "../engine/native-kernels/sparse-routing.js";
import { attachMask } from "../engine/weight-masks.js";
import type { WeightValues } from "../engine/weights.js";
import { encodeSparse } from "../formats/sparse-file.js";

/**
 * How long each measurement runs: at least `runs` timed repetitions and at least `millis` of
 * them, at most `maxRuns`. The floors keep a LeNet-300-100 profile near 0.1–0.2 s (a few percent of
 * a fast-protocol cycle) and give larger models enough runs to be stable.
 */
export interface ProfileEffort {
  warmupRuns: number;
  latencyRuns: number;
  latencyMillis: number;
  maxLatencyRuns: number;
  throughputBatches: number;
  throughputMillis: number;
  maxThroughputBatches: number;
}

export const DEFAULT_PROFILE_EFFORT: ProfileEffort = {
  warmupRuns: 5,
  latencyRuns: 40,
  latencyMillis: 25,
  maxLatencyRuns: 1000,
  throughputBatches: 3,
  throughputMillis: 25,
  maxThroughputBatches: 50,
};

export const THROUGHPUT_BATCH = 256;

/** A run over `threshold` keeps any layer with a mask on the sparse kernels: kept fractions are ≤ 1. */
const ALWAYS_SPARSE = 2;
const NEVER_SPARSE = 0;
/** A run slower than this multiple of the median counts as an outlier. */
const OUTLIER_FACTOR = 2;

export interface ProfileInput {
  session: ModelSession;
  /** The averaged model, pruned values zero. */
  weights: WeightValues;
  mask: Mask;
  backend: BackendInfo;
  /** Some examples to run (normalised like training data), at least one; repeated to fill a batch. */
  examples: Float32Array;
  inputShape: [number, number, number];
  /** Only for the sparse file's size (its header). */
  configHash: string;
  cycle: number;
  effort?: ProfileEffort;
}

interface Timings {
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  outliers: number;
  runs: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summarise(samples: number[]): Timings {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  return { medianMs: median, p95Ms: quantile(sorted, 0.95), maxMs: sorted.at(-1)!, outliers: sorted.filter((t) => t > OUTLIER_FACTOR * median).length, runs: sorted.length };
}

/** Times `forward` after warm-up until both floors are met. */
function time(forward: () => void, warmup: number, minRuns: number, minMillis: number, maxRuns: number): Timings {
  for (let i = 0; i < warmup; i++) forward();
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < maxRuns && (samples.length < minRuns || performance.now() - started < minMillis)) {
    const before = performance.now();
    forward();
    samples.push(performance.now() - before);
  }
  return summarise(samples);
}

function batchOf(examples: Float32Array, exampleSize: number, batch: number): Float32Array {
  const available = Math.floor(examples.length / exampleSize);
  if (available < 1) throw new Error(`inference profile: needs at least one example of ${exampleSize} values, got ${examples.length}`);
  const out = new Float32Array(batch * exampleSize);
  for (let i = 0; i < batch; i++) out.set(examples.subarray((i % available) * exampleSize, ((i % available) + 1) * exampleSize), i * exampleSize);
  return out;
}

/** Whether this backend has the sparse kernels (the native addon over wasm). */
export function hasSparseKernels(backend: BackendInfo): boolean {
  return backend.name === "wasm" && backend.kernels.includes(NATIVE_KERNEL_SET) && tf.getBackend() === "wasm";
}

export function profileInference(input: ProfileInput): InferenceProfile {
  const started = performance.now();
  const { session, weights, mask, backend, inputShape } = input;
  const effort = input.effort ?? DEFAULT_PROFILE_EFFORT;
  const { layout } = session;
  const exampleSize = inputShape[0] * inputShape[1] * inputShape[2];
  session.writeWeights(weights);

  let pruned = 0;
  const prunedLayers: Array<{ position: number; index: number }> = [];
  layout.prunable.forEach((position, index) => {
    let kept = 0;
    for (const bit of mask[index]!) kept += bit;
    pruned += mask[index]!.length - kept;
    if (kept < mask[index]!.length) prunedLayers.push({ position, index });
  });
  const totalParameters = layout.entries.reduce((sum, entry) => sum + entry.size, 0);
  const sparseLayers = hasSparseKernels(backend) ? prunedLayers : [];

  const single = batchOf(input.examples, exampleSize, 1);
  const batch = batchOf(input.examples, exampleSize, THROUGHPUT_BATCH);
  const forward = (values: Float32Array, count: number) => () =>
    tf.tidy(() => {
      const logits = session.model.apply(tf.tensor(values, [count, ...inputShape], "float32"), { training: false }) as tf.Tensor;
      logits.dataSync();
    });
  const measure = () => ({
    latency: time(forward(single, 1), effort.warmupRuns, effort.latencyRuns, effort.latencyMillis, effort.maxLatencyRuns),
    throughput: time(forward(batch, THROUGHPUT_BATCH), 1, effort.throughputBatches, effort.throughputMillis, effort.maxThroughputBatches),
  });

  const dense = withSparseThreshold(NEVER_SPARSE, measure);
  let sparse = dense;
  // A chain of Dense layers or a Conv-n runs as one native call (sparse-mlp.ts, sparse-convnet.ts),
  // from the same input array to logits in a JavaScript array, as the dense pass.
  const loaded = sparseLayers.length > 0 ? loadNative() : undefined;
  const mlp = loaded?.ok ? planSparseMlp(session.model, layout, weights, mask) : undefined;
  const convNet = loaded?.ok && typeof mlp === "string" ? planSparseConvNet(session.model, layout, weights, mask) : undefined;
  const oneCall = loaded?.ok
    ? typeof mlp === "object"
      ? { kernel: "native-sparse-mlp", run: (values: Float32Array, count: number) => runSparseMlp(loaded.native.addon, mlp, values, count) }
      : typeof convNet === "object"
        ? { kernel: "native-sparse-convnet", run: (values: Float32Array, count: number) => runSparseConvNet(loaded.native.addon, convNet, values, count) }
        : undefined
    : undefined;
  if (oneCall) {
    const run = (values: Float32Array, count: number) => () => void oneCall.run(values, count);
    sparse = {
      latency: time(run(single, 1), effort.warmupRuns, effort.latencyRuns, effort.latencyMillis, effort.maxLatencyRuns),
      throughput: time(run(batch, THROUGHPUT_BATCH), 1, effort.throughputBatches, effort.throughputMillis, effort.maxThroughputBatches),
    };
  } else if (sparseLayers.length > 0) {
    const masks = sparseLayers.map(({ position, index }) => {
      const entry = layout.entries[position]!;
      const maskTensor = tf.tensor(Float32Array.from(mask[index]!), entry.shape, "float32");
      attachMask(session.variableAt(position), maskTensor);
      return maskTensor;
    });
    try {
      sparse = withSparseThreshold(ALWAYS_SPARSE, measure);
    } finally {
      // A disposed mask no longer counts (weight-masks.ts), so later passes run as before.
      for (const maskTensor of masks) maskTensor.dispose();
    }
  }
  const both = (pick: (m: ReturnType<typeof measure>) => number) => ({ dense: pick(dense), sparse: pick(sparse) });
  const perSecond = (timings: Timings) => (THROUGHPUT_BATCH * 1000) / timings.medianMs;
  return {
    parameters: totalParameters - pruned,
    sparseBytes: encodeSparse(weights, mask, layout, { configHash: input.configHash, cycle: input.cycle }).length,
    denseBytes: 4 * totalParameters,
    denseFlops: forwardFlopsPerExample(session.model),
    sparseFlops: keptFlopsPerExample(session, mask),
    latencyMs: both((m) => m.latency.medianMs),
    latencyP95Ms: both((m) => m.latency.p95Ms),
    latencyMaxMs: both((m) => m.latency.maxMs),
    latencyOutliers: both((m) => m.latency.outliers),
    latencyRuns: Math.min(dense.latency.runs, sparse.latency.runs),
    throughput: both((m) => perSecond(m.throughput)),
    throughputBatch: THROUGHPUT_BATCH,
    threads: Math.max(1, backend.threads),
    backend: backend.name,
    kernels: sparseLayers.length > 0 ? [...backend.kernels, "native-sparse", ...(oneCall ? [oneCall.kernel] : [])] : [...backend.kernels],
    sparseLayers: sparseLayers.map(({ position }) => layout.entries[position]!.layer),
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    seconds: (performance.now() - started) / 1000,
  };
}
