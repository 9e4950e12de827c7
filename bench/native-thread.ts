/**
 * One measurement of bench/native.ts in its own worker thread (so each gets a fresh wasm backend
 * and kernel registry): trains a model on seeded random data with the engine's own training loop
 * (SGD with momentum 0.9 and weight decay 1e-4) and reports the median step's examples/s. With
 * SWAMP_NATIVE=0 in its environment it measures the pure-wasm kernels.
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../worker/engine/backend.js";
import { registerNativeKernels } from "../worker/engine/native-kernels/index.js";
import { Random } from "../worker/engine/rng.js";
import { train } from "../worker/engine/train.js";
import { BENCH_SGD, maskedBenchSession, randomExamples } from "./training-setup.js";

export interface NativeBenchCase {
  model: string;
  batchNorm: boolean;
  inputShape: [number, number, number];
  batchSize: number;
  warmupSteps: number;
  /**
   * Masked training: every prunable weight is kept with this probability (seeded), one for all
   * layers or one per prunable layer in layout order. Absent (or all 1): dense training.
   */
  kept?: number | readonly number[];
  /** Steps are measured until this many seconds have passed (and at least minSteps). */
  seconds: number;
  minSteps: number;
}

export interface NativeBenchResult {
  native: boolean;
  reason?: string;
  coreType?: string;
  /** From the median step. */
  examplesPerSecond: number;
  /** From the fastest step: on a machine shared with other work, the closest to its unloaded speed. */
  bestExamplesPerSecond: number;
  steps: number;
}

async function initWasm(): Promise<{ native: boolean; reason?: string; coreType?: string }> {
  await initBackend("wasm");
  // Already registered by initBackend (idempotent); asked again for the reason when it did not load.
  const status = registerNativeKernels();
  return { native: status.loaded, reason: status.reason, coreType: status.coreType };
}

async function measure(c: NativeBenchCase): Promise<NativeBenchResult> {
  const backend = await initWasm();
  const { session, mask } = maskedBenchSession("bench-native", c.model, c.batchNorm, c.batchSize, c.inputShape, c.kept);
  // Enough distinct batches for the warm-up and a generous number of measured steps; the loop
  // stops itself once the time budget is spent.
  const batches = c.warmupSteps + Math.max(c.minSteps, 400);
  const data = randomExamples(Math.min(batches, 64) * c.batchSize, c.inputShape, "bench-native-data");
  const stepMilliseconds: number[] = [];
  let last = performance.now();
  let measuredFrom = 0;
  const stop = { aborted: false };
  const epochs = Math.ceil(batches / (data.count / c.batchSize));
  try {
    train({
      session,
      data,
      inputShape: c.inputShape,
      epochs,
      batchSize: c.batchSize,
      ...BENCH_SGD,
      order: Random.derive(0, ["bench-native-order"]),
      mask,
      signal: stop,
      onStep: () => {
        const now = performance.now();
        stepMilliseconds.push(now - last);
        last = now;
        if (stepMilliseconds.length === c.warmupSteps) measuredFrom = now;
        const measured = stepMilliseconds.length - c.warmupSteps;
        if (measured >= c.minSteps && now - measuredFrom >= c.seconds * 1000) stop.aborted = true;
      },
    });
  } catch (error) {
    if (!stop.aborted) throw error;
  }
  const measured = stepMilliseconds.slice(c.warmupSteps).sort((a, b) => a - b);
  const median = measured[Math.floor(measured.length / 2)]!;
  return { ...backend, examplesPerSecond: (c.batchSize * 1000) / median, bestExamplesPerSecond: (c.batchSize * 1000) / measured[0]!, steps: measured.length };
}

measure(workerData as NativeBenchCase).then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (error: Error) => parentPort!.postMessage({ ok: false, error: error.stack ?? error.message }),
);
