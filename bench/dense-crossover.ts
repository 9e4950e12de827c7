/**
 * Where the sparse Dense kernels start to beat the dense ones, per pass and per shape: times the
 * native addon's calls directly (one thread, batch 128 by default) for every model's wide Dense
 * shapes at a range of kept fractions and prints, per pass, the sparse/dense time ratio and the
 * largest kept fraction at which sparse was faster. sparse-routing.ts's dense thresholds come from
 * this:
 *   node dist/bench/dense-crossover.js [--batch 128] [--kept 0.5,0.4,0.3,0.2,0.1,0.05] [--repeats 30]
 */
import { parseArgs } from "node:util";
import { loadNative, type NativeAddon } from "../worker/engine/native-kernels/addon.js";
import { Random } from "../worker/engine/rng.js";

const { values: args } = parseArgs({
  options: {
    batch: { type: "string", default: "128" },
    kept: { type: "string", default: "0.5,0.4,0.3,0.2,0.1,0.05,0.02,0.01" },
    repeats: { type: "string", default: "30" },
  },
});

const SHAPES: Array<[string, number, number]> = [
  ["lenet-300-100 fc1", 784, 300],
  ["lenet-300-100 fc2", 300, 100],
  ["conv-4 fc1", 6272, 256],
  ["conv-n fc2", 256, 256],
];

type Pass = "forward" | "inputGradient" | "kernelGradient" | "optimizerStep";
const PASSES: Pass[] = ["forward", "inputGradient", "kernelGradient", "optimizerStep"];

function medianMilliseconds(repeats: number, run: () => void): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** The kept indices grouped by output (index mod outs) or input channel, ascending within one. */
function grouped(kept: Int32Array, outs: number, byOutput: boolean): Int32Array {
  const key = (e: number) => (byOutput ? e % outs : Math.floor(e / outs));
  return Int32Array.from(kept).sort((a, b) => key(a) - key(b) || a - b);
}

function timePass(native: NativeAddon, pass: Pass, batch: number, ins: number, outs: number, kept: Int32Array | undefined, repeats: number): number {
  const random = Random.derive(0, ["dense-crossover"]);
  const fill = (n: number) => Float32Array.from({ length: n }, () => random.next() - 0.5);
  const x = fill(batch * ins);
  const w = fill(ins * outs);
  const dy = fill(batch * outs);
  const out = new Float32Array(Math.max(batch * ins, ins * outs, batch * outs));
  const out2 = new Float32Array(ins * outs);
  const velocityOut = new Float32Array(ins * outs);
  const mask = new Float32Array(ins * outs).fill(1);
  const geometry = Int32Array.from([1, 1, batch, ins, 1, batch, outs, 1, 1, 1, 1, 1, 1, 0, 0]);
  const n = kept?.length ?? 0;
  const byOutput = kept ? grouped(kept, outs, true) : new Int32Array(0);
  const byInput = kept ? grouped(kept, outs, false) : new Int32Array(0);
  const calls: Record<Pass, () => void> = kept
    ? {
        forward: () => native.sparseConv2d(geometry, x, 0, w, 0, byOutput, n, out, 0),
        inputGradient: () => native.sparseConv2dBackpropInput(geometry, dy, 0, w, 0, byInput, n, out, 0),
        kernelGradient: () => native.sparseConv2dBackpropFilter(geometry, x, 0, dy, 0, byOutput, n, out, 0),
        optimizerStep: () => native.maskedSgdKept(ins * outs, kept, n, w, 0, out2, 0, mask, 0, 0.01, 0.9, 1e-4, out, 0, velocityOut, 0),
      }
    : {
        forward: () => native.batchMatMul(false, false, batch, outs, ins, 1, x, 0, 0, w, 0, 0, out, 0),
        inputGradient: () => native.batchMatMul(false, true, batch, ins, outs, 1, dy, 0, 0, w, 0, 0, out, 0),
        kernelGradient: () => native.batchMatMul(true, false, ins, outs, batch, 1, x, 0, 0, dy, 0, 0, out, 0),
        optimizerStep: () => native.maskedSgd(ins * outs, w, 0, out2, 0, mask, 0, mask, 0, 0.01, 0.9, 1e-4, out, 0, velocityOut, 0),
      };
  return medianMilliseconds(repeats, calls[pass]);
}

function main(): void {
  const loaded = loadNative();
  if (!loaded.ok) throw new Error(`native kernels not loaded: ${loaded.reason}`);
  const native = loaded.native.addon;
  const batch = Number(args.batch);
  const repeats = Number(args.repeats);
  const fractions = args.kept.split(",").map(Number);
  console.log(`sparse / dense time per pass, batch ${batch}, median of ${repeats} calls (below 1: sparse faster)`);
  for (const [label, ins, outs] of SHAPES) {
    const random = Random.derive(1, ["dense-crossover-mask", label]);
    const order = Float32Array.from({ length: ins * outs }, () => random.next());
    console.log(`${label} (${ins}×${outs})`);
    console.log(`  ${"pass".padEnd(15)} ${"dense ms".padStart(9)} ${fractions.map((k) => `${(k * 100).toFixed(0)}%`.padStart(6)).join(" ")}  crossover`);
    for (const pass of PASSES) {
      const dense = timePass(native, pass, batch, ins, outs, undefined, repeats);
      const ratios = fractions.map((k) => {
        const kept = Int32Array.from(Array.from(order.keys()).filter((i) => order[i]! < k));
        return timePass(native, pass, batch, ins, outs, kept, repeats) / dense;
      });
      const faster = fractions.filter((_, i) => ratios[i]! < 1);
      console.log(`  ${pass.padEnd(15)} ${dense.toFixed(3).padStart(9)} ${ratios.map((r) => r.toFixed(2).padStart(6)).join(" ")}  ${faster.length > 0 ? `< ${(Math.max(...faster) * 100).toFixed(0)}%` : "none"}`);
    }
  }
}

main();
