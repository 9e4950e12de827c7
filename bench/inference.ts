/**
 * What pruning buys at inference, measured by the inference profiler (worker/profile/) on one
 * thread: batch-1 latency and batch-256 throughput of LeNet-300-100 and Conv-4 + BatchNorm with the
 * dense kernels and with the sparse kernels, at the masks of the fast protocol's cycles, and the
 * crossover where the sparse kernels start to pay. LeNet-300-100's sparse column is its one-call
 * sparse MLP pass (worker/engine/native-kernels/sparse-mlp.ts), Conv-4's the per-layer kernels.
 *   node dist/bench/inference.js [--json] [--models lenet-300-100,conv-4] [--cycles 0,4,8,11,14,17,20,25]
 *     [--millis 300] [--rounds 3]
 * Masks: k cycles of global magnitude pruning (20% of the survivors a cycle) of the model's seeded
 * initial weights, as bench:sparse (trained weights prune somewhat differently, so per-layer kept
 * fractions of a real run differ; cycle 20 is 98.8% sparse overall either way). Inputs are random
 * normal (timing does not depend on the values). Each round profiles every cycle once; figures are
 * medians over rounds. The profile's own wall time at the default effort (what `swamp run` adds to
 * each cycle) is measured too.
 */
import { parseArgs } from "node:util";
import { requireExperimentConfig } from "../schema/config.js";
import type { InferenceProfile } from "../schema/inference-profile.js";
import { initBackend } from "../worker/engine/backend.js";
import { applyMask, denseMask, sparsityOf, type Mask } from "../worker/engine/mask.js";
import { ModelSession } from "../worker/engine/model-session.js";
import { pruneByMagnitude } from "../worker/engine/prune.js";
import { Random } from "../worker/engine/rng.js";
import { DEFAULT_PROFILE_EFFORT, hasSparseKernels, profileInference, THROUGHPUT_BATCH, type ProfileEffort } from "../worker/profile/inference-profile.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    models: { type: "string", default: "lenet-300-100,conv-4" },
    cycles: { type: "string", default: "0,4,8,11,14,17,20,25" },
    millis: { type: "string", default: "300" },
    rounds: { type: "string", default: "3" },
  },
});

const TARGET_CYCLE = 20;
const TARGETS: Record<string, number> = { "lenet-300-100": 5, "conv-4": 3 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Row {
  cycle: number;
  sparsity: number;
  sparseBytes: number;
  denseBytes: number;
  sparseFlops: number;
  denseFlops: number;
  latencyMs: { dense: number; sparse: number };
  latencyP95Ms: { dense: number; sparse: number };
  throughput: { dense: number; sparse: number };
  outliers: { dense: number; sparse: number };
}

async function main(): Promise<void> {
  const backend = await initBackend("wasm");
  if (!hasSparseKernels(backend)) throw new Error("the native kernels did not load: there are no sparse kernels to measure");
  const cycles = args.cycles.split(",").map(Number);
  const millis = Number(args.millis);
  const rounds = Number(args.rounds);
  if (cycles.some((c) => !Number.isInteger(c) || c < 0 || c > 60)) throw new Error(`--cycles must list cycle numbers from 0 to 60, got ${args.cycles}`);
  if (!(millis > 0)) throw new Error(`--millis must be positive, got ${args.millis}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${args.rounds}`);
  const effort: ProfileEffort = { ...DEFAULT_PROFILE_EFFORT, latencyMillis: millis, throughputMillis: millis, maxLatencyRuns: 100_000, maxThroughputBatches: 10_000 };
  for (const model of args.models.split(",").map((m) => m.trim()).filter(Boolean)) {
    const config = requireExperimentConfig({ name: "bench-inference", data: { name: "synthetic" }, model: { name: model, batchNorm: model !== "lenet-300-100" }, method: { name: "imp" } });
    const inputShape: [number, number, number] = [28, 28, 1];
    const session = ModelSession.build(config, inputShape, 10);
    const weights = session.initialWeights(0);
    const random = Random.derive(0, ["bench-inference"]);
    const examples = Float32Array.from({ length: THROUGHPUT_BATCH * 784 }, () => random.nextNormal());
    const masks = new Map<number, Mask>();
    let mask = denseMask(session.layout);
    for (let cycle = 0; cycle <= Math.max(...cycles); cycle++) {
      if (cycle > 0) mask = pruneByMagnitude(weights, mask, session.layout, { rate: 0.2, scope: "global", exclude: [] });
      if (cycles.includes(cycle)) masks.set(cycle, mask);
    }
    const samples = new Map<number, InferenceProfile[]>();
    for (let round = 0; round < rounds; round++) {
      for (const cycle of cycles) {
        const pruned = weights.map((w) => Float32Array.from(w));
        applyMask(pruned, masks.get(cycle)!, session.layout);
        const profile = profileInference({ session, weights: pruned, mask: masks.get(cycle)!, backend, examples, inputShape, configHash: "bench", cycle, effort });
        samples.set(cycle, [...(samples.get(cycle) ?? []), profile]);
      }
    }
    const rows: Row[] = cycles.map((cycle) => {
      const profiles = samples.get(cycle)!;
      const both = (pick: (p: InferenceProfile) => { dense: number; sparse: number }) => ({ dense: median(profiles.map((p) => pick(p).dense)), sparse: median(profiles.map((p) => pick(p).sparse)) });
      const first = profiles[0]!;
      return {
        cycle, sparsity: sparsityOf(masks.get(cycle)!), sparseBytes: first.sparseBytes, denseBytes: first.denseBytes, sparseFlops: first.sparseFlops, denseFlops: first.denseFlops,
        latencyMs: both((p) => p.latencyMs), latencyP95Ms: both((p) => p.latencyP95Ms), throughput: both((p) => p.throughput),
        outliers: { dense: profiles.reduce((n, p) => n + p.latencyOutliers.dense, 0), sparse: profiles.reduce((n, p) => n + p.latencyOutliers.sparse, 0) },
      };
    });
    // The cost `swamp run` adds per cycle: one profile at the default effort, at the target cycle.
    const costs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const pruned = weights.map((w) => Float32Array.from(w));
      const targetMask = masks.get(TARGET_CYCLE) ?? masks.get(cycles.at(-1)!)!;
      applyMask(pruned, targetMask, session.layout);
      costs.push(profileInference({ session, weights: pruned, mask: targetMask, backend, examples, inputShape, configHash: "bench", cycle: TARGET_CYCLE }).seconds);
    }
    session.dispose();
    const crossover = rows.find((row) => row.sparsity > 0 && row.throughput.sparse > row.throughput.dense);
    const latencyCrossover = rows.find((row) => row.sparsity > 0 && row.latencyMs.sparse < row.latencyMs.dense);
    const target = rows.find((row) => row.cycle === TARGET_CYCLE);
    const summary = {
      bench: "inference", model, cpu: samples.get(cycles[0]!)![0]!.cpu, backend: backend.name, kernels: backend.kernels, blas: backend.versions, rounds, millis, rows,
      sparseKernels: [...new Set(cycles.flatMap((cycle) => samples.get(cycle)![0]!.kernels))].filter((kernel) => !backend.kernels.includes(kernel)),
      throughputCrossoverSparsity: crossover?.sparsity ?? null, latencyCrossoverSparsity: latencyCrossover?.sparsity ?? null,
      targetCycle: target ? { cycle: TARGET_CYCLE, sparsity: target.sparsity, speedup: target.throughput.sparse / target.throughput.dense, target: TARGETS[model] ?? null } : null,
      profileSecondsPerCycle: median(costs),
    };
    if (args.json) {
      console.log(JSON.stringify(summary));
      continue;
    }
    const n = (v: number, d = 0) => v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    console.log(`\n${model}: one thread, ${summary.cpu}, ${backend.name} + ${backend.kernels.join(", ")}; medians over ${rounds} round(s) of ≥${millis} ms per figure`);
    console.log(`versions: ${Object.entries(backend.versions).map(([name, version]) => `${name} ${version}`).join(", ")}; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(unset)"}; sparse column: ${summary.sparseKernels.join(", ") || "none"}`);
    console.log("| cycle | sparsity | sparse file | dense file | MFLOPs dense / kept | latency ms dense / sparse (p95) | throughput ex/s dense / sparse | sparse ÷ dense |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const row of rows) {
      console.log(
        `| ${row.cycle} | ${n(100 * row.sparsity, 1)}% | ${n(row.sparseBytes / 1024, 0)} KiB | ${n(row.denseBytes / 1024, 0)} KiB | ${n(row.denseFlops / 1e6, 2)} / ${n(row.sparseFlops / 1e6, 3)} | ` +
          `${n(row.latencyMs.dense, 3)} (${n(row.latencyP95Ms.dense, 3)}) / ${n(row.latencyMs.sparse, 3)} (${n(row.latencyP95Ms.sparse, 3)}) | ${n(row.throughput.dense)} / ${n(row.throughput.sparse)} | ${n(row.throughput.sparse / row.throughput.dense, 2)}× |`,
      );
    }
    const pct = (v: number | null) => (v === null ? "not reached" : `${n(100 * v, 1)}%`);
    console.log(`sparse kernels pay from: throughput ${pct(summary.throughputCrossoverSparsity)}, batch-1 latency ${pct(summary.latencyCrossoverSparsity)} (first measured cycle where they win)`);
    if (summary.targetCycle) console.log(`cycle ${TARGET_CYCLE} (${pct(summary.targetCycle.sparsity)}): batch-256 sparse / dense throughput ${n(summary.targetCycle.speedup, 2)}× (target ≥ ${summary.targetCycle.target}×)`);
    console.log(`one profile at swamp run's default effort: ${n(summary.profileSecondsPerCycle, 3)} s`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
