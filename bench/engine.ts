/**
 * Engine benchmarks: `npm run bench [-- --json] [-- --quality] [-- --seeds N]`.
 *   throughput  examples/s and achieved GFLOP/s of the training loop, per model and backend
 *   scaling     combined throughput of one training thread per core against one thread alone
 *   quality     (--quality) the fast Fashion-MNIST protocol for imp, imp-swa and swamp over seeds,
 *               as a sparsity → accuracy (mean ± std) table; runs resume from runs/bench-quality
 * Figures are medians over steps measured in one run; with --json each case is one JSON line.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { readFileSync } from "node:fs";
import { requireExperimentConfig } from "../schema/config.js";
import { LocalRun } from "../worker/run/local-run.js";
import type { CycleSummary } from "../worker/run/summaries.js";
import type { ThroughputCase, ThroughputResult } from "./throughput-thread.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    quality: { type: "boolean", default: false },
    "skip-throughput": { type: "boolean", default: false },
    seeds: { type: "string", default: "3" },
  },
});

function emit(record: Record<string, unknown>, line: string): void {
  process.stdout.write(args.json ? `${JSON.stringify(record)}\n` : `${line}\n`);
}

function measureInThread(c: ThroughputCase, env: NodeJS.ProcessEnv = {}): Promise<ThroughputResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, "throughput-thread.js"), { workerData: c, env: { ...process.env, ...env } });
    worker.once("message", (message: { ok: boolean; result?: ThroughputResult; error?: string }) => {
      void worker.terminate();
      if (message.ok) resolve(message.result!);
      else reject(new Error(message.error));
    });
    worker.once("error", reject);
  });
}

interface BackendVariant {
  label: string;
  backend: string;
  env: NodeJS.ProcessEnv;
}

const BACKENDS: BackendVariant[] = [
  { label: "wasm", backend: "wasm", env: {} },
  { label: "wasm (pure, no native kernels)", backend: "wasm", env: { SWAMP_NATIVE: "0" } },
  { label: "cpu", backend: "cpu", env: {} },
  { label: "tensorflow", backend: "tensorflow", env: {} },
];

const MODELS = [
  { model: "lenet-300-100", batchNorm: false, steps: 60, cpuSteps: 10 },
  { model: "lenet-5", batchNorm: false, steps: 20, cpuSteps: 3 },
  { model: "conv-4", batchNorm: true, steps: 8, cpuSteps: 2 },
  { model: "resnet-20", batchNorm: true, steps: 6, cpuSteps: 1 },
];

async function throughput(): Promise<void> {
  if (!args.json) console.log("training throughput, batch 128, 28x28x1 inputs, one thread (median step)");
  for (const m of MODELS) {
    for (const variant of BACKENDS) {
      const c: ThroughputCase = {
        model: m.model,
        batchNorm: m.batchNorm,
        backend: variant.backend,
        inputShape: [28, 28, 1],
        batchSize: 128,
        steps: variant.backend === "cpu" ? m.cpuSteps : m.steps,
        warmupSteps: 2,
      };
      try {
        const r = await measureInThread(c, variant.env);
        const name = `${m.model}${m.batchNorm ? "+bn" : ""}`;
        emit(
          { bench: "throughput", model: name, backend: variant.label, kernels: r.kernels, examplesPerSecond: r.examplesPerSecond, gflops: r.gflops },
          `  ${name.padEnd(16)} ${variant.label.padEnd(32)} ${Math.round(r.examplesPerSecond).toLocaleString("en-US").padStart(8)} ex/s  ${r.gflops.toFixed(1).padStart(6)} GFLOP/s  [${r.kernels.join(", ")}]`,
        );
      } catch (error) {
        if (!args.json) console.log(`  ${m.model.padEnd(16)} ${variant.label.padEnd(32)} unavailable: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  }
}

async function scaling(): Promise<void> {
  const cores = availableParallelism();
  const c: ThroughputCase = { model: "lenet-300-100", batchNorm: false, backend: "wasm", inputShape: [28, 28, 1], batchSize: 128, steps: 80, warmupSteps: 3 };
  const single = (await measureInThread(c)).examplesPerSecond;
  const parallel = await Promise.all(Array.from({ length: cores }, () => measureInThread(c)));
  const combined = parallel.reduce((sum, r) => sum + r.examplesPerSecond, 0);
  const ratio = combined / (cores * single);
  emit(
    { bench: "scaling", model: "lenet-300-100", cores, singleExamplesPerSecond: single, combinedExamplesPerSecond: combined, efficiency: ratio },
    `particle scaling on ${cores} cores (lenet-300-100, wasm): 1 thread ${Math.round(single).toLocaleString("en-US")} ex/s, ${cores} threads ${Math.round(combined).toLocaleString("en-US")} ex/s combined = ${ratio.toFixed(2)} × ${cores} × one`,
  );
}

function meanStd(xs: number[]): string {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return `${(mean * 100).toFixed(2)} ± ${(std * 100).toFixed(2)}`;
}

async function quality(): Promise<void> {
  const seeds = Number(args.seeds);
  const methods = ["imp", "imp-swa", "swamp"];
  const results: Record<string, CycleSummary[][]> = {};
  const seconds: Record<string, number[]> = {};
  for (const method of methods) {
    results[method] = [];
    seconds[method] = [];
  }
  const cores = availableParallelism();
  const runOne = async (method: string, seed: number, workers: number) => {
    const file = JSON.parse(readFileSync(join(__dirname, "../../configs", `fmnist-lenet-${method}-fast.json`), "utf8")) as Record<string, unknown>;
    const config = requireExperimentConfig({ ...file, seed });
    const outDir = join("runs", "bench-quality", `${method}-seed${seed}`);
    const result = await new LocalRun({ config, outDir, resume: true, workers }).execute();
    const wall = result.cycles.reduce((sum, c) => sum + c.seconds, 0);
    seconds[method]![seed] = wall;
    results[method]![seed] = result.cycles;
    const final = result.cycles.at(-1)!;
    emit(
      { bench: "quality-run", method, seed, seconds: wall, final },
      `  ${method} seed ${seed}: ${result.cycles.length} cycles in ${(wall / 60).toFixed(1)} min, final accuracy ${(final.accuracy * 100).toFixed(2)}% at sparsity ${(final.sparsity * 100).toFixed(1)}%`,
    );
  };
  for (let seed = 0; seed < seeds; seed++) {
    // The single-particle methods use one thread each, so they share the cores; swamp takes them all.
    await Promise.all(methods.filter((m) => m !== "swamp").map((m) => runOne(m, seed, 1)));
    await runOne("swamp", seed, cores);
  }
  const shown = [0, 3, 10, 15, 20, 25].filter((c) => c < results.imp![0]!.length);
  const header = `| cycle | sparsity | ${methods.join(" | ")} | swamp best particle |`;
  const rows = shown.map((cycle) => {
    const sparsity = results.imp![0]![cycle]!.sparsity;
    const cells = methods.map((m) => meanStd(results[m]!.map((run) => run[cycle]!.accuracy)));
    const best = meanStd(results.swamp!.map((run) => Math.max(...run[cycle]!.particleAccuracies)));
    if (args.json) {
      const accuracies = Object.fromEntries(methods.map((m) => [m, results[m]!.map((run) => run[cycle]!.accuracy)]));
      console.log(JSON.stringify({ bench: "quality", cycle, sparsity, ...accuracies, swampBestParticle: results.swamp!.map((run) => Math.max(...run[cycle]!.particleAccuracies)) }));
    }
    return `| ${cycle} | ${(sparsity * 100).toFixed(1)}% | ${cells.join(" | ")} | ${best} |`;
  });
  if (!args.json) {
    console.log(`\nfast Fashion-MNIST protocol, LeNet-300-100, ${seeds} seeds, test accuracy % (mean ± std)\n`);
    console.log([header, `|---|---|${methods.map(() => "---|").join("")}---|`, ...rows].join("\n"));
    for (const m of methods) console.log(`${m}: median run ${(seconds[m]!.sort((a, b) => a - b)[Math.floor(seconds[m]!.length / 2)]! / 60).toFixed(1)} min`);
  }
}

async function main(): Promise<void> {
  if (!args["skip-throughput"]) {
    await throughput();
    await scaling();
  }
  if (args.quality) await quality();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
