/**
 * Where a training step's time goes, kernel by kernel:
 *   node dist/bench/step-profile.js [--model conv-4] [--no-batch-norm] [--kept F] [--batch 128]
 *     [--steps 20] [--json]
 * Trains the model on seeded random 28×28×1 data with the engine's own loop (SGD with momentum 0.9
 * and weight decay 1e-4; with --kept, a random mask keeping that fraction of every prunable layer)
 * on the wasm backend with whatever native kernels load, with every registered kernel wrapped in a
 * timer. After a few warm-up steps it prints each kernel (by name and input shape) in ms per step,
 * the totals by kind, and what ran outside TF.js's kernels (the gradient tape, JavaScript, the loop,
 * and the fused sparse step of a pruned chain of Dense layers, which calls the addon directly).
 * One thread; the timers themselves cost about a microsecond per kernel call.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, NamedTensorInfoMap } from "@tensorflow/tfjs-core";
import { initBackend } from "../worker/engine/backend.js";
import { registerNativeKernels } from "../worker/engine/native-kernels/index.js";
import { Random } from "../worker/engine/rng.js";
import { train } from "../worker/engine/train.js";
import { BENCH_SGD, maskedBenchSession, randomExamples } from "./training-setup.js";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "conv-4" },
    "no-batch-norm": { type: "boolean", default: false },
    kept: { type: "string", default: "1" },
    batch: { type: "string", default: "128" },
    steps: { type: "string", default: "20" },
    json: { type: "boolean", default: false },
  },
});

const WARMUP_STEPS = 4;

/** Kinds of kernel, first match wins; the rest are "other kernels". */
const KINDS: [string, RegExp][] = [
  ["convolutions", /Conv2D/],
  ["BatchNorm", /BatchNorm/],
  ["pooling", /Pool/],
  ["Dense layers", /MatMul|Dense|SparseMlp/],
  ["optimiser", /Sgd|Momentum/],
];

interface KernelTime {
  kernel: string;
  shape: string;
  milliseconds: number;
  calls: number;
}

function shapeOf(inputs: NamedTensorInfoMap): string {
  const first = inputs.x ?? Object.values(inputs)[0];
  return first ? first.shape.join("×") : "";
}

/** Replaces every kernel registered for wasm by a timed wrapper; returns the live totals. */
function timeKernels(): Map<string, KernelTime> {
  const times = new Map<string, KernelTime>();
  for (const config of tf.getKernelsForBackend("wasm")) {
    const inner: KernelFunc = config.kernelFunc;
    const timed: KernelFunc = (call) => {
      const started = performance.now();
      const result = inner(call);
      const elapsed = performance.now() - started;
      const shape = shapeOf(call.inputs);
      const key = `${config.kernelName} ${shape}`;
      const entry = times.get(key) ?? { kernel: config.kernelName, shape, milliseconds: 0, calls: 0 };
      entry.milliseconds += elapsed;
      entry.calls++;
      times.set(key, entry);
      return result;
    };
    tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel({ ...config, kernelFunc: timed });
  }
  return times;
}

async function main(): Promise<void> {
  const kept = Number(args.kept);
  const batchSize = Number(args.batch);
  const steps = Number(args.steps);
  if (!(kept > 0 && kept <= 1)) throw new Error(`--kept must be in (0, 1], got ${args.kept}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive integer, got ${args.batch}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${args.steps}`);
  await initBackend("wasm");
  const native = registerNativeKernels();
  const model = args.model!;
  const batchNorm = model !== "lenet-300-100" && !args["no-batch-norm"];
  const inputShape: [number, number, number] = [28, 28, 1];
  const { session, mask } = maskedBenchSession("bench-step-profile", model, batchNorm, batchSize, inputShape, kept);
  const data = randomExamples(batchSize * 8, inputShape, "bench-step-profile-data");
  const times = timeKernels();
  const stop = { aborted: false };
  let step = 0;
  let measuredFrom = 0;
  let measuredTo = 0;
  try {
    train({
      session,
      data,
      inputShape,
      epochs: Math.ceil((WARMUP_STEPS + steps) / 8) + 1,
      batchSize,
      ...BENCH_SGD,
      order: Random.derive(0, ["bench-step-profile-order"]),
      mask,
      signal: stop,
      onStep: () => {
        step++;
        if (step === WARMUP_STEPS) {
          times.clear();
          measuredFrom = performance.now();
        }
        if (step === WARMUP_STEPS + steps) {
          measuredTo = performance.now();
          stop.aborted = true;
        }
      },
    });
  } catch (error) {
    if (!stop.aborted) throw error;
  }
  const stepMs = (measuredTo - measuredFrom) / steps;
  const rows = [...times.values()].sort((a, b) => b.milliseconds - a.milliseconds).map((t) => ({ ...t, milliseconds: t.milliseconds / steps, calls: t.calls / steps }));
  const inKernels = rows.reduce((sum, row) => sum + row.milliseconds, 0);
  const byKind = new Map<string, number>();
  for (const row of rows) {
    const kind = KINDS.find(([, pattern]) => pattern.test(row.kernel))?.[0] ?? "other kernels";
    byKind.set(kind, (byKind.get(kind) ?? 0) + row.milliseconds);
  }
  byKind.set("outside TF.js kernels", stepMs - inKernels);
  if (args.json) {
    console.log(JSON.stringify({ bench: "step-profile", model, batchNorm, kept, batchSize, steps, stepMs, examplesPerSecond: (batchSize * 1000) / stepMs, kinds: Object.fromEntries(byKind), kernels: rows }));
    return;
  }
  const percent = (ms: number) => `${((100 * ms) / stepMs).toFixed(1)}%`;
  console.log(
    `${model}${batchNorm ? " + BatchNorm" : ""}, batch ${batchSize}, kept ${kept}, one thread, ${native.loaded ? `native kernels (${native.library}, ${native.coreType || "core type not reported"})` : `no native kernels: ${native.reason}`}`,
  );
  console.log(`${steps} steps after ${WARMUP_STEPS} warm-up: ${stepMs.toFixed(1)} ms a step, ${Math.round((batchSize * 1000) / stepMs).toLocaleString("en-US")} examples/s\n`);
  console.log("| kind | ms/step | share |\n|---|---|---|");
  for (const [kind, ms] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`| ${kind} | ${ms.toFixed(1)} | ${percent(ms)} |`);
  console.log("\n| kernel | first input | calls/step | ms/step | share |\n|---|---|---|---|---|");
  for (const row of rows.filter((r) => r.milliseconds >= 0.05)) console.log(`| ${row.kernel} | ${row.shape} | ${row.calls} | ${row.milliseconds.toFixed(2)} | ${percent(row.milliseconds)} |`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
