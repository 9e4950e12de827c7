/**
 * What a cycle does to each model besides training, dense and given its mask: BatchNorm
 * recalibration (a forward pass in training mode) and test evaluation, on one thread, in examples
 * per second, at several kept fractions of the convolutions and the Dense kernels:
 *   node dist/bench/cycle-overhead.js [--model conv-4] [--examples 2560]
 *     [--kept 1/1,0.3/0.05,0.1/0.01,0.03/0.003]
 * Each --kept entry is "convolutions/Dense"; masks are seeded random at those fractions, images
 * seeded random 28×28×1.
 */
import { parseArgs } from "node:util";
import { requireExperimentConfig } from "../schema/config.js";
import { initBackend } from "../worker/engine/backend.js";
import { recalibrateBatchNorm } from "../worker/engine/batchnorm.js";
import { evaluate } from "../worker/engine/evaluate.js";
import { applyMask, type Mask } from "../worker/engine/mask.js";
import { ModelSession } from "../worker/engine/model-session.js";
import { Random } from "../worker/engine/rng.js";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "conv-4" },
    examples: { type: "string", default: "2560" },
    kept: { type: "string", default: "1/1,0.3/0.05,0.1/0.01,0.03/0.003" },
  },
});

function parseKept(text: string): Array<[number, number]> {
  return text.split(",").map((entry) => {
    const [conv, dense] = entry.split("/").map(Number);
    if (!(conv! > 0 && conv! <= 1 && dense! > 0 && dense! <= 1)) throw new Error(`--kept: "${entry}" is not two fractions in (0, 1] as convolutions/Dense`);
    return [conv!, dense!];
  });
}

async function main(): Promise<void> {
  const examples = Number(args.examples);
  if (!Number.isInteger(examples) || examples < 1) throw new Error(`--examples must be a positive integer, got ${args.examples}`);
  const settings = parseKept(args.kept!);
  await initBackend("wasm");
  const config = requireExperimentConfig({ name: "bench-cycle-overhead", data: { name: "synthetic" }, model: { name: args.model!, batchNorm: args.model !== "lenet-300-100" }, method: { name: "imp" } });
  const inputShape: [number, number, number] = [28, 28, 1];
  const session = ModelSession.build(config, inputShape, 10);
  const random = Random.derive(0, ["bench-cycle-overhead"]);
  const data = { images: Float32Array.from({ length: examples * 784 }, () => random.nextNormal()), labels: Int32Array.from({ length: examples }, () => random.nextInt(10)), count: examples };
  const perSecond = (started: number) => Math.round((examples * 1000) / (performance.now() - started)).toLocaleString("en-US");
  console.log(`${args.model}, ${examples} examples, one thread; examples/s\n`);
  console.log("| kept, convolutions / Dense | recalibration: dense / given the mask | evaluation: dense / given the mask |\n|---|---|---|");
  for (const [convKept, denseKept] of settings) {
    const mask: Mask = session.layout.prunable.map((position) => {
      const entry = session.layout.entries[position]!;
      const kept = entry.shape.length === 4 ? convKept : denseKept;
      return Uint8Array.from({ length: entry.size }, () => (random.next() < kept ? 1 : 0));
    });
    const weights = session.initialWeights(1);
    applyMask(weights, mask, session.layout);
    const figures: string[] = [];
    for (const given of [undefined, mask]) {
      session.writeWeights(weights);
      let started = performance.now();
      recalibrateBatchNorm({ session, data, inputShape, examples, batchSize: config.training.batchSize, order: Random.derive(1, ["order"]), mask: given });
      const recalibration = perSecond(started);
      started = performance.now();
      evaluate(session, data, inputShape, 10, given);
      figures.push(recalibration, perSecond(started));
    }
    console.log(`| ${convKept} / ${denseKept} | ${figures[0]} / ${figures[2]} | ${figures[1]} / ${figures[3]} |`);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
