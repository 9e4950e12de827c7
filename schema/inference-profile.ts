/**
 * What running a cycle's averaged model costs at deployment, measured on the worker's CPU: sizes,
 * work per example and timings with the dense kernels and with the sparse ones. The shape of
 * `cycles.jsonl`'s `inference`, of fleet aggregate results and of GraphQL's `InferenceProfile`.
 */
import { z } from "zod";

const nonNegative = z.number().finite("must be a finite number").nonnegative();
const count = z.number().int().nonnegative();
/** One figure with the dense kernels and with the sparse kernels (equal where none applies). */
const denseSparse = z.object({ dense: nonNegative, sparse: nonNegative }).strict();

export const inferenceProfileSchema = z
  .object({
    /** Surviving parameters: kept prunable weights plus every unprunable one (biases, BatchNorm). */
    parameters: count,
    /** Bytes of the compact sparse file (average.swsp: bit masks, survivors, header, checksum). */
    sparseBytes: count,
    /** Bytes of every parameter as dense float32. */
    denseBytes: count,
    /** Multiply-adds ×2 per example of the dense and convolution layers, all weights / kept weights. */
    denseFlops: nonNegative,
    sparseFlops: nonNegative,
    /** Batch-1 forward pass: median and 95th percentile over `latencyRuns` runs after warm-up. */
    latencyMs: denseSparse,
    latencyP95Ms: denseSparse,
    /** The slowest batch-1 run and how many runs took over twice the median: reported, not dropped. */
    latencyMaxMs: denseSparse,
    latencyOutliers: z.object({ dense: count, sparse: count }).strict(),
    latencyRuns: count,
    /** Examples/s at batch `throughputBatch` (median batch time), one thread. */
    throughput: denseSparse,
    throughputBatch: count,
    /** Threads the forward passes ran on. */
    threads: z.number().int().positive(),
    /** The TF.js backend (`wasm`, `cpu`, ...). */
    backend: z.string().max(100),
    /** The kernel sets in use (e.g. `project-wasm`, `native`). */
    kernels: z.array(z.string().max(100)).max(20),
    /** Layers that ran on the sparse kernels in the sparse measurement (none: sparse equals dense). */
    sparseLayers: z.array(z.string().max(200)).max(1000),
    /** The CPU's model name. */
    cpu: z.string().max(300),
    /** Wall time of the profile itself. */
    seconds: nonNegative,
  })
  .strict();

export type InferenceProfile = z.output<typeof inferenceProfileSchema>;

/** The fields that are measured (times, and run counts that follow from them): they vary between runs of the same model. */
export const INFERENCE_TIMING_FIELDS = ["latencyMs", "latencyP95Ms", "latencyMaxMs", "latencyOutliers", "latencyRuns", "throughput", "seconds", "cpu"] as const;
