/**
 * Native kernels against pure wasm and against PyTorch, side by side in one run:
 *   node dist/bench/native.js [--json] [--models a,b] [--variants wasm,native,pytorch] [--seconds S] [--rounds R] [--python PATH]
 * For each model (default lenet-300-100, conv-4 with BatchNorm, resnet-20; 28×28×1 inputs, batch
 * 128, SGD with momentum 0.9 and weight decay 1e-4, one thread) it measures training examples/s of
 * the engine's loop on the pure-wasm kernels (SWAMP_NATIVE=0) and on the native kernels, and of
 * the same model in PyTorch (bench/native_torch.py) when a Python with torch is found, run with
 * one thread and the OpenBLAS core type the native kernels use. Rounds interleave the three so
 * that load from other processes hits them alike; each figure is the median over rounds of
 * median-step throughputs, and "best" the fastest step seen over all rounds (on a machine shared
 * with other work, the closest to its unloaded speed). With --json, one JSON object per model.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadNative } from "../worker/engine/native-kernels/addon.js";
import { chooseOpenBlasCoreType } from "../worker/engine/native-kernels/openblas-core-type.js";
import { warnAboutOlderCoreType } from "../worker/engine/core-type-warning.js";
import { measureInThread } from "./native-case.js";
import type { NativeBenchCase, NativeBenchResult } from "./native-thread.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    models: { type: "string", default: "lenet-300-100,conv-4,resnet-20" },
    variants: { type: "string", default: "wasm,native,pytorch" },
    seconds: { type: "string", default: "12" },
    rounds: { type: "string", default: "3" },
    python: { type: "string" },
  },
});

const BATCH = 128;
const MODEL_SETTINGS: Record<string, { batchNorm: boolean; warmupSteps: number; minSteps: number }> = {
  "lenet-300-100": { batchNorm: false, warmupSteps: 30, minSteps: 50 },
  "lenet-5": { batchNorm: false, warmupSteps: 10, minSteps: 20 },
  "conv-2": { batchNorm: true, warmupSteps: 2, minSteps: 5 },
  "conv-4": { batchNorm: true, warmupSteps: 2, minSteps: 5 },
  "conv-6": { batchNorm: true, warmupSteps: 2, minSteps: 5 },
  "resnet-20": { batchNorm: true, warmupSteps: 2, minSteps: 5 },
};

type Variant = "wasm" | "native" | "pytorch";

function measureTfjs(model: string, variant: "wasm" | "native", seconds: number): Promise<NativeBenchResult> {
  const settings = MODEL_SETTINGS[model]!;
  const c: NativeBenchCase = { model, batchNorm: settings.batchNorm, inputShape: [28, 28, 1], batchSize: BATCH, warmupSteps: settings.warmupSteps, minSteps: settings.minSteps, seconds };
  const env = { ...process.env, SWAMP_NATIVE: variant === "wasm" ? "0" : (process.env.SWAMP_NATIVE ?? "1") };
  return measureInThread(c, env);
}

/** The first Python that imports torch: --python, SWAMP_PYTHON, python3 on PATH, Debian's. */
function findTorchPython(): string | undefined {
  const candidates = [args.python, process.env.SWAMP_PYTHON, "python3", "/usr/bin/python3"].filter((p): p is string => Boolean(p));
  return candidates.find((python) => spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0);
}

interface Throughput {
  examplesPerSecond: number;
  bestExamplesPerSecond: number;
}

function measureTorch(python: string, model: string, seconds: number, coreType: string | undefined): Throughput {
  const settings = MODEL_SETTINGS[model]!;
  const script = join(__dirname, "..", "..", "bench", "native_torch.py");
  const flags = ["--model", model, "--batch", String(BATCH), "--seconds", String(seconds), "--warmup", String(settings.warmupSteps), ...(settings.batchNorm ? ["--batch-norm"] : [])];
  const env = {
    ...process.env,
    OMP_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
    OPENBLAS_NUM_THREADS: "1",
    ...(coreType ? { OPENBLAS_CORETYPE: coreType } : {}),
  };
  const result = spawnSync(python, [script, ...flags], { encoding: "utf8", env, timeout: (seconds + 300) * 1000 });
  if (result.status !== 0) throw new Error(`PyTorch run failed: ${(result.stderr || result.stdout || String(result.error)).trim().split("\n").at(-1)}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Throughput;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function fmt(value: number | undefined): string {
  return value === undefined ? "—" : Math.round(value).toLocaleString("en-US");
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a / b;
}

async function main(): Promise<void> {
  const models = args.models.split(",").map((m) => m.trim()).filter(Boolean);
  for (const model of models) if (!MODEL_SETTINGS[model]) throw new Error(`--models: unknown model ${JSON.stringify(model)}; known: ${Object.keys(MODEL_SETTINGS).join(", ")}`);
  const variants = args.variants.split(",").map((v) => v.trim()).filter(Boolean) as Variant[];
  for (const variant of variants) if (!["wasm", "native", "pytorch"].includes(variant)) throw new Error(`--variants: unknown variant ${JSON.stringify(variant)}; known: wasm, native, pytorch`);
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${args.seconds}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${args.rounds}`);
  warnAboutOlderCoreType("bench:native");
  const native = loadNative();
  const coreType = native.ok ? native.native.coreType || undefined : chooseOpenBlasCoreType();
  const python = findTorchPython();
  if (!args.json) {
    console.log(`training examples/s, batch ${BATCH}, 28x28x1, SGD momentum 0.9 + weight decay 1e-4, one thread; median of ${rounds} round(s) of ${seconds} s`);
    console.log(`native kernels: ${native.ok ? `${native.native.library} (core type ${native.native.coreType || "n/a"})` : `unavailable (${native.reason})`}`);
    console.log(`PyTorch: ${python ? `${python}, OPENBLAS_CORETYPE=${coreType ?? "(auto)"}, 1 thread` : "not found (set --python or SWAMP_PYTHON to a Python with torch)"}\n`);
    console.log(`${"model".padEnd(16)} ${"pure wasm".padStart(10)} ${"native".padStart(10)} ${"PyTorch".padStart(10)} ${"native/PyTorch".padStart(15)} ${"native/wasm".padStart(12)}   best: native/PyTorch`);
  }
  for (const model of models) {
    const samples: Record<Variant, number[]> = { wasm: [], native: [], pytorch: [] };
    const best: Record<Variant, number | undefined> = { wasm: undefined, native: undefined, pytorch: undefined };
    const record = (variant: Variant, result: Throughput) => {
      samples[variant].push(result.examplesPerSecond);
      best[variant] = Math.max(best[variant] ?? 0, result.bestExamplesPerSecond);
    };
    const errors: Partial<Record<Variant, string>> = {};
    for (let round = 0; round < rounds; round++) {
      for (const variant of variants) {
        if (errors[variant]) continue;
        try {
          if (variant === "pytorch") {
            if (!python) continue;
            record("pytorch", measureTorch(python, model, seconds, coreType));
          } else {
            if (variant === "native" && !native.ok) continue;
            const result = await measureTfjs(model, variant, seconds);
            if (variant === "native" && !result.native) throw new Error(`native kernels not loaded in the thread: ${result.reason}`);
            record(variant, result);
          }
        } catch (error) {
          errors[variant] = (error as Error).message.split("\n")[0]!;
        }
      }
    }
    const wasm = median(samples.wasm);
    const nat = median(samples.native);
    const torch = median(samples.pytorch);
    const summary = {
      bench: "native",
      model: `${model}${MODEL_SETTINGS[model]!.batchNorm ? "+bn" : ""}`,
      batchSize: BATCH,
      wasmExamplesPerSecond: wasm,
      nativeExamplesPerSecond: nat,
      pytorchExamplesPerSecond: torch,
      nativeOverPytorch: ratio(nat, torch),
      nativeOverWasm: ratio(nat, wasm),
      best: { wasmExamplesPerSecond: best.wasm, nativeExamplesPerSecond: best.native, pytorchExamplesPerSecond: best.pytorch, nativeOverPytorch: ratio(best.native, best.pytorch) },
      samples,
      coreType,
      errors,
    };
    if (args.json) {
      console.log(JSON.stringify(summary));
    } else {
      const r1 = ratio(nat, torch);
      const r2 = ratio(nat, wasm);
      const r3 = ratio(best.native, best.pytorch);
      const times = (r: number | undefined) => (r === undefined ? "—" : `${r.toFixed(2)}×`);
      console.log(
        `${summary.model.padEnd(16)} ${fmt(wasm).padStart(10)} ${fmt(nat).padStart(10)} ${fmt(torch).padStart(10)} ${times(r1).padStart(15)} ${times(r2).padStart(12)}   ${times(r3)} (${fmt(best.native)} vs ${fmt(best.pytorch)})`,
      );
      for (const [variant, message] of Object.entries(errors)) console.log(`  ${variant}: ${message}`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
