/**
 * Training throughput of a pruned network, dense kernels against the sparse convolutions, and what
 * it makes of a whole pruning run:
 *   node dist/bench/sparse.js [--json] [--models conv-4] [--kept 1,0.51,0.26,0.11,0.035,0.012] [--seconds S] [--rounds R]
 * For each kept fraction, every prunable weight is kept with that probability (the same in every
 * layer; global magnitude pruning spreads sparsity unevenly, so real runs differ), and the engine's
 * masked training loop runs on one thread, batch 128, 28×28×1 inputs, once with the sparse kernels
 * off (SWAMP_SPARSE_BELOW=0) and once as the engine chooses. Rounds alternate the two; figures are
 * medians over rounds of median-step throughputs. It then estimates the fast Fashion-MNIST
 * protocol (20,000 images, 4 particles × 5 epochs per cycle, 26 cycles at 0.8^k kept, one
 * rewinding epoch) on two cores, interpolating throughput between measured fractions: training
 * steps only (evaluation, BatchNorm recalibration and data handling come on top).
 */
import { parseArgs } from "node:util";
import { measureInThread } from "./native-case.js";
import type { NativeBenchCase, NativeBenchResult } from "./native-thread.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    models: { type: "string", default: "conv-4" },
    kept: { type: "string", default: "1,0.51,0.26,0.107,0.035,0.012" },
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "2" },
  },
});

const PROTOCOL = { trainImages: 20_000, particles: 4, epochs: 5, cycles: 26, rewindEpochs: 1, rate: 0.2, cores: 2 };

function measure(model: string, keptFraction: number, sparse: boolean, seconds: number): Promise<NativeBenchResult> {
  const c: NativeBenchCase = { model, batchNorm: model !== "lenet-300-100", inputShape: [28, 28, 1], batchSize: 128, warmupSteps: 2, minSteps: 5, seconds, keptFraction };
  const env = { ...process.env, SWAMP_SPARSE_BELOW: sparse ? (process.env.SWAMP_SPARSE_BELOW ?? "") : "0" };
  return measureInThread(c, env);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Throughput at a kept fraction, log-linear between the measured ones (clamped at the ends). */
function interpolate(points: Array<{ kept: number; rate: number }>, kept: number): number {
  const sorted = [...points].sort((a, b) => b.kept - a.kept);
  if (kept >= sorted[0]!.kept) return sorted[0]!.rate;
  for (let i = 1; i < sorted.length; i++) {
    const hi = sorted[i - 1]!;
    const lo = sorted[i]!;
    if (kept >= lo.kept) {
      const t = (Math.log(hi.kept) - Math.log(kept)) / (Math.log(hi.kept) - Math.log(lo.kept));
      return Math.exp(Math.log(hi.rate) + t * (Math.log(lo.rate) - Math.log(hi.rate)));
    }
  }
  return sorted.at(-1)!.rate;
}

/** Hours of training steps for the fast protocol at these throughputs (examples/s on one core). */
function protocolHours(points: Array<{ kept: number; rate: number }>): number {
  let seconds = (PROTOCOL.rewindEpochs * PROTOCOL.trainImages) / interpolate(points, 1);
  for (let cycle = 0; cycle < PROTOCOL.cycles; cycle++) {
    const examples = PROTOCOL.particles * PROTOCOL.epochs * PROTOCOL.trainImages;
    seconds += examples / (PROTOCOL.cores * interpolate(points, Math.pow(1 - PROTOCOL.rate, cycle)));
  }
  return seconds / 3600;
}

async function main(): Promise<void> {
  const kept = args.kept.split(",").map(Number);
  if (kept.some((k) => !(k > 0 && k <= 1))) throw new Error(`--kept must list fractions in (0, 1], got ${args.kept}`);
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${args.seconds}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${args.rounds}`);
  for (const model of args.models.split(",").map((m) => m.trim()).filter(Boolean)) {
    const samples = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const k of kept) {
        for (const sparse of [false, true]) {
          const result = await measure(model, k, sparse, seconds);
          if (!result.native) throw new Error(`native kernels not loaded: ${result.reason}`);
          const key = `${k}:${sparse}`;
          samples.set(key, [...(samples.get(key) ?? []), result.examplesPerSecond]);
        }
      }
    }
    const rows = kept.map((k) => ({ kept: k, dense: median(samples.get(`${k}:false`)!), sparse: median(samples.get(`${k}:true`)!) }));
    const denseHours = protocolHours(rows.map((r) => ({ kept: r.kept, rate: r.dense })));
    const sparseHours = protocolHours(rows.map((r) => ({ kept: r.kept, rate: r.sparse })));
    if (args.json) {
      console.log(JSON.stringify({ bench: "sparse", model, rows, protocolHours: { dense: denseHours, sparse: sparseHours }, protocol: PROTOCOL }));
      continue;
    }
    console.log(`${model}: training examples/s on one core, batch 128, uniform random masks; median of ${rounds} round(s) of ${seconds} s`);
    console.log(`${"kept".padStart(8)} ${"dense kernels".padStart(14)} ${"sparse kernels".padStart(15)} ${"speed-up".padStart(9)}`);
    for (const r of rows) console.log(`${(r.kept * 100).toFixed(1).padStart(7)}% ${r.dense.toFixed(0).padStart(14)} ${r.sparse.toFixed(0).padStart(15)} ${`${(r.sparse / r.dense).toFixed(2)}×`.padStart(9)}`);
    console.log(`fast protocol (training steps, 2 cores): ${denseHours.toFixed(2)} h with dense kernels, ${sparseHours.toFixed(2)} h with the sparse ones\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
