/**
 * Training throughput of a pruned network, dense kernels against the sparse convolutions, and what
 * it makes of a whole pruning run:
 *   node dist/bench/sparse.js [--json] [--models conv-4] [--masks global|uniform]
 *     [--cycles 0,4,8,11,14,17,20,25] [--kept 1,0.51,0.26,0.11,0.035,0.012] [--seconds S] [--rounds R]
 * --masks global (the default) follows the fast protocol's masks: each layer's kept fraction after
 * k cycles of global magnitude pruning (20% a cycle) of the model's initial weights, measured at
 * the listed cycles. Global pruning takes most weights from the widest layer (Conv-4's first dense
 * layer holds 83% of its weights), so the convolutions stay dense for many cycles; trained weights
 * prune somewhat differently, so real runs differ. --masks uniform keeps every layer at each of the
 * --kept fractions instead (with 1 among them, each row also gives its sparse step against the
 * unpruned dense step: `--models lenet-300-100 --masks uniform --kept 1,0.05,0.01` gives the 95%
 * and 99% sparsity figures). Masks are random at those per-layer fractions (throughput depends on
 * how many weights are kept, not which). The engine's masked training loop runs on one thread,
 * batch 128, 28×28×1 inputs, once with the sparse kernels off (SWAMP_SPARSE_BELOW=0) and once as
 * the engine chooses. Rounds alternate the two; figures are medians over rounds of median-step
 * throughputs. It then estimates the fast Fashion-MNIST protocol (20,000 images, 4 particles × 5
 * epochs per cycle, 26 cycles, one rewinding epoch) on two cores, interpolating throughput between
 * measured cycles: training steps only (evaluation, BatchNorm recalibration and data handling come
 * on top), and two particles on two cores counted as fast as one on one.
 */
import { parseArgs } from "node:util";
import { requireExperimentConfig } from "../schema/config.js";
import { initBackend } from "../worker/engine/backend.js";
import { aliveCount, denseMask, layerCounts, totalCount } from "../worker/engine/mask.js";
import { ModelSession } from "../worker/engine/model-session.js";
import { pruneByMagnitude } from "../worker/engine/prune.js";
import { measureInThread } from "./native-case.js";
import type { NativeBenchCase, NativeBenchResult } from "./native-thread.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    models: { type: "string", default: "conv-4" },
    masks: { type: "string", default: "global" },
    cycles: { type: "string", default: "0,4,8,11,14,17,20,25" },
    kept: { type: "string", default: "1,0.51,0.26,0.107,0.035,0.012" },
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "2" },
  },
});

const PROTOCOL = { trainImages: 20_000, particles: 4, epochs: 5, cycles: 26, rewindEpochs: 1, rate: 0.2, cores: 2 };

/** One measured setting: the masks after `cycle` pruning cycles (fractional for uniform masks). */
interface Setting {
  cycle: number;
  /** Kept fraction of all prunable weights, and per prunable layer. */
  overall: number;
  byLayer: number[];
}

function batchNormFor(model: string): boolean {
  return model !== "lenet-300-100";
}

/** Each layer's kept fraction after every cycle of global magnitude pruning of the initial weights. */
async function globalSettings(model: string, cycles: number[]): Promise<{ settings: Setting[]; layers: string[] }> {
  await initBackend("wasm");
  const config = requireExperimentConfig({ name: "bench-sparse", data: { name: "synthetic" }, model: { name: model, batchNorm: batchNormFor(model) }, method: { name: "imp" } });
  const session = ModelSession.build(config, [28, 28, 1], 10);
  const layout = session.layout;
  const weights = session.initialWeights(0);
  let mask = denseMask(layout);
  const settings: Setting[] = [];
  for (let cycle = 0; cycle <= Math.max(...cycles); cycle++) {
    if (cycle > 0) mask = pruneByMagnitude(weights, mask, layout, { rate: PROTOCOL.rate, scope: "global", exclude: [] });
    if (!cycles.includes(cycle)) continue;
    settings.push({ cycle, overall: aliveCount(mask) / totalCount(mask), byLayer: layerCounts(mask, layout).map((c) => c.alive / c.total) });
  }
  session.dispose();
  return { settings, layers: layerCounts(mask, layout).map((c) => c.layer) };
}

function uniformSettings(kept: number[]): Setting[] {
  return kept.map((k) => ({ cycle: Math.log(k) / Math.log(1 - PROTOCOL.rate), overall: k, byLayer: [] }));
}

function measure(model: string, setting: Setting, sparse: boolean, seconds: number): Promise<NativeBenchResult> {
  const kept = setting.byLayer.length > 0 ? setting.byLayer : setting.overall;
  const c: NativeBenchCase = { model, batchNorm: batchNormFor(model), inputShape: [28, 28, 1], batchSize: 128, warmupSteps: 2, minSteps: 5, seconds, kept };
  const env = { ...process.env, SWAMP_SPARSE_BELOW: sparse ? (process.env.SWAMP_SPARSE_BELOW ?? "") : "0" };
  return measureInThread(c, env);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Throughput after a number of cycles, log-linear between the measured ones (clamped at the ends). */
function interpolate(points: Array<{ cycle: number; rate: number }>, cycle: number): number {
  const sorted = [...points].sort((a, b) => a.cycle - b.cycle);
  if (cycle <= sorted[0]!.cycle) return sorted[0]!.rate;
  for (let i = 1; i < sorted.length; i++) {
    const lo = sorted[i - 1]!;
    const hi = sorted[i]!;
    if (cycle <= hi.cycle) {
      const t = (cycle - lo.cycle) / (hi.cycle - lo.cycle);
      return Math.exp(Math.log(lo.rate) + t * (Math.log(hi.rate) - Math.log(lo.rate)));
    }
  }
  return sorted.at(-1)!.rate;
}

/** Hours of training steps for the fast protocol at these throughputs (examples/s on one core). */
function protocolHours(points: Array<{ cycle: number; rate: number }>): number {
  let seconds = (PROTOCOL.rewindEpochs * PROTOCOL.trainImages) / interpolate(points, 0);
  for (let cycle = 0; cycle < PROTOCOL.cycles; cycle++) {
    const examples = PROTOCOL.particles * PROTOCOL.epochs * PROTOCOL.trainImages;
    seconds += examples / (PROTOCOL.cores * interpolate(points, cycle));
  }
  return seconds / 3600;
}

function parseList(name: string, text: string, valid: (value: number) => boolean, what: string): number[] {
  const values = text.split(",").map(Number);
  if (values.length === 0 || values.some((v) => !valid(v))) throw new Error(`--${name} must list ${what}, got ${text}`);
  return values;
}

async function main(): Promise<void> {
  if (args.masks !== "global" && args.masks !== "uniform") throw new Error(`--masks must be global or uniform, got ${args.masks}`);
  const kept = parseList("kept", args.kept, (k) => k > 0 && k <= 1, "fractions in (0, 1]");
  const cycles = parseList("cycles", args.cycles, (c) => Number.isInteger(c) && c >= 0 && c < PROTOCOL.cycles, `cycle numbers from 0 to ${PROTOCOL.cycles - 1}`);
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${args.seconds}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${args.rounds}`);
  for (const model of args.models.split(",").map((m) => m.trim()).filter(Boolean)) {
    const { settings, layers } = args.masks === "global" ? await globalSettings(model, cycles) : { settings: uniformSettings(kept), layers: [] };
    const samples = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const setting of settings) {
        for (const sparse of [false, true]) {
          const result = await measure(model, setting, sparse, seconds);
          if (!result.native) throw new Error(`native kernels not loaded: ${result.reason}`);
          const key = `${setting.cycle}:${sparse}`;
          samples.set(key, [...(samples.get(key) ?? []), result.examplesPerSecond]);
        }
      }
    }
    const rows = settings.map((setting) => ({ ...setting, dense: median(samples.get(`${setting.cycle}:false`)!), sparse: median(samples.get(`${setting.cycle}:true`)!) }));
    const denseHours = protocolHours(rows.map((r) => ({ cycle: r.cycle, rate: r.dense })));
    const sparseHours = protocolHours(rows.map((r) => ({ cycle: r.cycle, rate: r.sparse })));
    if (args.json) {
      console.log(JSON.stringify({ bench: "sparse", model, masks: args.masks, layers, rows, protocolHours: { dense: denseHours, sparse: sparseHours }, protocol: PROTOCOL }));
      continue;
    }
    const percent = (k: number) => `${(k * 100).toFixed(1)}%`;
    console.log(`${model}: training examples/s on one core, batch 128, ${args.masks} masks; median of ${rounds} round(s) of ${seconds} s`);
    if (layers.length > 0) console.log(`kept per layer: ${layers.join(", ")}`);
    console.log(`${"cycle".padStart(6)} ${"kept".padStart(7)} ${"dense kernels".padStart(14)} ${"sparse kernels".padStart(15)} ${"speed-up".padStart(9)}${layers.length > 0 ? "  kept per layer" : ""}`);
    const unpruned = rows.find((r) => r.overall === 1)?.dense;
    for (const r of rows) {
      const versusUnpruned = unpruned !== undefined ? `  ${(r.sparse / unpruned).toFixed(2)}× the unpruned dense step` : "";
      const cycle = Number.isInteger(r.cycle) ? String(r.cycle) : r.cycle.toFixed(1);
      const perLayer = r.byLayer.length > 0 ? `  ${r.byLayer.map(percent).join(" ")}` : "";
      console.log(`${cycle.padStart(6)} ${percent(r.overall).padStart(7)} ${r.dense.toFixed(0).padStart(14)} ${r.sparse.toFixed(0).padStart(15)} ${`${(r.sparse / r.dense).toFixed(2)}×`.padStart(9)}${perLayer}${versusUnpruned}`);
    }
    console.log(`fast protocol (training steps, 2 cores): ${denseHours.toFixed(2)} h with dense kernels, ${sparseHours.toFixed(2)} h with the sparse ones\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
