/**
 * Kernel benchmark: the project's wasm training kernels against tfjs-backend-wasm's own and the
 * cpu backend, at the shapes of the project's models.
 *
 *   node dist/bench/kernels.js [--json] [--quick]
 *
 * Cases: GFLOP/s of MatMul in each transpose combination (LeNet-300-100's first layer), of Conv2D
 * and its two backprops at model layer shapes (batch 128), each call with fresh operands as in
 * training, and examples/s of a plain training step (tf.variableGrads + SGD update) at batch 128. Each backend variant lives in its own worker thread
 * (kernel registries are per thread) and the variants take turns case by case, so that load from
 * other processes falls on all of them alike. Times are medians. A table goes to stdout; with
 * --json, one JSON object per case and variant instead, and nothing else on stdout.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";

type Variant = "cpu" | "wasm-stock" | "wasm-project";
const VARIANTS: Variant[] = ["cpu", "wasm-stock", "wasm-project"];

type Case =
  | { kind: "matmul"; label: string; m: number; k: number; n: number; transposeA: boolean; transposeB: boolean }
  | { kind: "conv"; label: string; op: "Conv2D" | "Conv2DBackpropInput" | "Conv2DBackpropFilter"; input: [number, number, number, number]; filter: [number, number, number, number]; strides: number; pad: "same" | "valid" }
  | { kind: "train"; label: string; model: string; inputShape: [number, number, number]; batchNorm: boolean; batch: number };

interface Result {
  bench: Case["kind"];
  case: string;
  variant: Variant;
  /** Median milliseconds per kernel call or training step. */
  milliseconds?: number;
  gflops?: number;
  examplesPerSecond?: number;
  /** Why the variant has no number for this case. */
  skipped?: string;
}

const BATCH = 128;

function cases(quick: boolean): Case[] {
  const list: Case[] = [];
  for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    list.push({ kind: "matmul", label: `128x784x300 ${transposeA ? "Aᵀ" : "A"}·${transposeB ? "Bᵀ" : "B"}`, m: 128, k: 784, n: 300, transposeA, transposeB });
  }
  const layers: Array<[string, [number, number, number, number], [number, number, number, number], number, "same" | "valid"]> = [
    ["lenet-5 conv1 28x28x1→6 5x5", [BATCH, 28, 28, 1], [5, 5, 1, 6], 1, "same"],
    ["lenet-5 conv2 14x14x6→16 5x5", [BATCH, 14, 14, 6], [5, 5, 6, 16], 1, "valid"],
    ["conv-N 32x32x3→64 3x3", [BATCH, 32, 32, 3], [3, 3, 3, 64], 1, "same"],
    ["conv-N 32x32x64→64 3x3", [BATCH, 32, 32, 64], [3, 3, 64, 64], 1, "same"],
    ["conv-N 16x16x128→128 3x3", [BATCH, 16, 16, 128], [3, 3, 128, 128], 1, "same"],
    ["conv-N 8x8x256→256 3x3", [BATCH, 8, 8, 256], [3, 3, 256, 256], 1, "same"],
    ["resnet-20 32x32x16→16 3x3", [BATCH, 32, 32, 16], [3, 3, 16, 16], 1, "same"],
    ["resnet-20 32x32x16→32 3x3/2", [BATCH, 32, 32, 16], [3, 3, 16, 32], 2, "same"],
    ["resnet-20 32x32x16→32 1x1/2", [BATCH, 32, 32, 16], [1, 1, 16, 32], 2, "same"],
    ["resnet-20 8x8x64→64 3x3", [BATCH, 8, 8, 64], [3, 3, 64, 64], 1, "same"],
  ];
  for (const [label, input, filter, strides, pad] of quick ? layers.slice(0, 2) : layers) {
    for (const op of ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"] as const) {
      list.push({ kind: "conv", label: `${op} ${label}`, op, input, filter, strides, pad });
    }
  }
  const models: Array<[string, [number, number, number], boolean]> = [
    ["lenet-300-100", [28, 28, 1], false],
    ["lenet-5", [28, 28, 1], false],
    ["conv-2", [32, 32, 3], true],
    ["resnet-20", [32, 32, 3], true],
  ];
  for (const [model, inputShape, batchNorm] of quick ? models.slice(0, 2) : models) {
    list.push({ kind: "train", label: `${model}${batchNorm ? " +BN" : ""} ${inputShape.join("x")} batch ${BATCH}`, model, inputShape, batchNorm, batch: BATCH });
  }
  return list;
}

function caseFlops(c: Case): number {
  if (c.kind === "matmul") return 2 * c.m * c.k * c.n;
  if (c.kind === "conv") {
    const info = tf.backend_util.computeConv2DInfo(c.input, c.filter, c.strides, 1, c.pad);
    return 2 * info.batchSize * info.outHeight * info.outWidth * info.outChannels * info.filterHeight * info.filterWidth * info.inChannels;
  }
  return 0;
}

/** Cases a variant cannot run, or would take minutes to: the reason, or undefined to run it. */
function skipReason(variant: Variant, c: Case): string | undefined {
  if (c.kind === "conv" && c.op === "Conv2DBackpropFilter" && variant === "wasm-stock") return "no Conv2DBackpropFilter kernel";
  if (c.kind === "train" && variant === "wasm-stock" && c.model !== "lenet-300-100") return "cannot train convolutions (no Conv2DBackpropFilter)";
  // cpu's Conv2DBackpropFilter runs at a few MFLOP/s.
  if (variant === "cpu" && c.kind === "conv" && caseFlops(c) > (c.op === "Conv2DBackpropFilter" ? 5e7 : 1e9)) return "too slow to measure";
  if (variant === "cpu" && c.kind === "train" && c.model !== "lenet-300-100") return "too slow to measure";
  return undefined;
}

// ---------------------------------------------------------------- worker side

/** Median of `f`'s wall time over at least `minRuns` runs and about `budgetMs`, after warm-ups. */
async function medianMilliseconds(f: () => Promise<void> | void, warmups: number, minRuns: number, budgetMs: number): Promise<number> {
  for (let i = 0; i < warmups; i++) await f();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (performance.now() - start < budgetMs && times.length < 200)) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function seededValues(size: number, seed: number): Float32Array {
  const values = new Float32Array(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = (state >>> 0) / 4294967296 - 0.5;
  }
  return values;
}

function seededTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/**
 * Median milliseconds of one kernel call. Every call gets freshly uploaded operands (made outside
 * the timing), as in training, where the weights change every step: XNNPACK's cache of packed
 * weights, keyed by tensor, never hits there, so it must not here either.
 */
async function runKernelCase(c: Extract<Case, { kind: "matmul" | "conv" }>, budgetMs: number, slow: boolean): Promise<number> {
  let shapes: Record<string, number[]>;
  let attrs: tf.NamedAttrMap;
  if (c.kind === "matmul") {
    shapes = { a: c.transposeA ? [c.k, c.m] : [c.m, c.k], b: c.transposeB ? [c.n, c.k] : [c.k, c.n] };
    attrs = { transposeA: c.transposeA, transposeB: c.transposeB };
  } else {
    const info = tf.backend_util.computeConv2DInfo(c.input, c.filter, c.strides, 1, c.pad);
    if (c.op === "Conv2D") shapes = { x: c.input, filter: c.filter };
    else if (c.op === "Conv2DBackpropInput") shapes = { dy: info.outShape, filter: c.filter };
    else shapes = { x: c.input, dy: info.outShape };
    attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dilations: 1, inputShape: c.input, filterShape: c.filter } as unknown as tf.NamedAttrMap;
  }
  const values = Object.fromEntries(Object.entries(shapes).map(([name, shape], i) => [name, seededValues(shape.reduce((a, b) => a * b, 1), i + 1)]));
  const kernel = c.kind === "matmul" ? "BatchMatMul" : c.op;
  const heavy = slow || caseFlops(c) > 2e9;
  const [warmups, minRuns] = heavy ? [1, 2] : [3, 5];
  const times: number[] = [];
  const start = performance.now();
  for (let run = 0; run < warmups + minRuns || (performance.now() - start < budgetMs && times.length < 200); run++) {
    const inputs = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, tf.tensor(values[name]!, shape)]));
    const t = performance.now();
    const out = tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor;
    out.dataSync();
    if (run >= warmups) times.push(performance.now() - t);
    out.dispose();
    tf.dispose(Object.values(inputs));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function runTrainCase(c: Extract<Case, { kind: "train" }>, budgetMs: number): Promise<number> {
  const { MODELS } = await import("../worker/models/registry.js");
  const definition = MODELS[c.model as keyof typeof MODELS];
  const model: tfl.LayersModel = definition.build({ inputShape: c.inputShape, numClasses: 10, batchNorm: c.batchNorm });
  const variables = model.trainableWeights.map((w) => (w as unknown as { read(): tf.Variable }).read());
  const x = seededTensor([c.batch, ...c.inputShape], 3);
  const labels = tf.tensor1d(Int32Array.from({ length: c.batch }, (_, i) => (i * 7) % 10), "int32");
  const y = tf.oneHot(labels, 10);
  const learningRate = tf.scalar(0.01);
  const step = (): void => {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, variables);
      for (const v of variables) v.assign(tf.sub(v, tf.mul(grads[v.name]!, learningRate)));
      value.dataSync();
    });
  };
  const ms = await medianMilliseconds(step, 3, 5, budgetMs);
  tf.dispose([x, labels, y, learningRate]);
  model.dispose();
  return ms;
}

async function initVariant(variant: Variant): Promise<void> {
  if (variant === "cpu") {
    await import("@tensorflow/tfjs-backend-cpu");
    await import("@tensorflow/tfjs-layers");
    if (!(await tf.setBackend("cpu"))) throw new Error("cpu backend failed to initialise");
  } else if (variant === "wasm-stock") {
    await import("@tensorflow/tfjs-layers");
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))}/`);
    if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend failed to initialise");
  } else {
    // The worker's environment has SWAMP_NATIVE=0: the project's kernels and nothing over them.
    const { initBackend } = await import("../worker/engine/backend.js");
    const info = await initBackend("wasm");
    if (info.kernels.join() !== "project-wasm") throw new Error(`wasm-project variant got kernel sets [${info.kernels}]`);
  }
}

async function workerMain(): Promise<void> {
  const { variant, budgetMs } = workerData as { variant: Variant; budgetMs: number };
  await initVariant(variant);
  parentPort!.on("message", (c: Case) => {
    void (async () => {
      const result: Result = { bench: c.kind, case: c.label, variant };
      const skipped = skipReason(variant, c);
      try {
        if (skipped) {
          result.skipped = skipped;
        } else if (c.kind === "train") {
          result.milliseconds = await runTrainCase(c, budgetMs * 2);
          result.examplesPerSecond = (c.batch * 1000) / result.milliseconds;
        } else {
          result.milliseconds = await runKernelCase(c, budgetMs, variant === "cpu");
          result.gflops = caseFlops(c) / result.milliseconds / 1e6;
        }
      } catch (error) {
        result.skipped = `failed: ${(error as Error).message.split("\n")[0]}`;
      }
      parentPort!.postMessage(result);
    })();
  });
  parentPort!.postMessage("ready");
}

// ---------------------------------------------------------------- main side

class VariantThread {
  private readonly worker: Worker;
  private pending?: (result: Result) => void;
  readonly ready: Promise<void>;

  constructor(readonly variant: Variant, budgetMs: number) {
    this.worker = new Worker(__filename, { workerData: { variant, budgetMs }, env: { ...process.env, SWAMP_NATIVE: "0", SWAMP_BACKEND: "" }, stdout: true });
    // Anything the libraries print goes to stderr, so that --json output stays clean.
    this.worker.stdout.pipe(process.stderr);
    this.ready = new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.once("message", () => resolve());
    });
    this.worker.on("message", (message: Result | "ready") => {
      if (message !== "ready") this.pending?.(message);
    });
  }

  run(c: Case): Promise<Result> {
    return new Promise((resolve) => {
      this.pending = resolve;
      this.worker.postMessage(c);
    });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

function format(result: Result | undefined): string {
  if (!result) return "";
  if (result.skipped) return "—";
  if (result.examplesPerSecond !== undefined) return `${result.examplesPerSecond.toFixed(0)} ex/s`;
  return `${result.gflops!.toFixed(2)} GFLOP/s`;
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const quick = process.argv.includes("--quick");
  const budgetMs = quick ? 400 : 1500;
  const threads = VARIANTS.map((v) => new VariantThread(v, budgetMs));
  await Promise.all(threads.map((t) => t.ready));
  const rows: Array<{ c: Case; results: Map<Variant, Result> }> = [];
  try {
    for (const c of cases(quick)) {
      const results = new Map<Variant, Result>();
      for (const thread of threads) {
        const result = await thread.run(c);
        results.set(thread.variant, result);
        if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
      }
      rows.push({ c, results });
      if (!json) process.stderr.write(".");
    }
  } finally {
    await Promise.all(threads.map((t) => t.stop()));
  }
  if (json) return;
  process.stderr.write("\n");
  const header = ["case", ...VARIANTS, "project/stock", "project/cpu"];
  const table = rows.map(({ c, results }) => {
    const number = (v: Variant) => results.get(v)?.gflops ?? results.get(v)?.examplesPerSecond;
    const ratio = (v: Variant) => (number("wasm-project") && number(v) ? `${(number("wasm-project")! / number(v)!).toFixed(1)}x` : "—");
    return [c.label, ...VARIANTS.map((v) => format(results.get(v))), ratio("wasm-stock"), ratio("cpu")];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of table) console.log(line(row));
  const notes = new Set(rows.flatMap(({ results }) => [...results.values()].filter((r) => r.skipped).map((r) => `${r.variant}: ${r.skipped}`)));
  if (notes.size > 0) console.log(`\n— ${[...notes].join("; ")}`);
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  workerMain().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
