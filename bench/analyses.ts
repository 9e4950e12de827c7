/**
 * The analyses' targets (issue 16) on LeNet-300-100 with the fast protocol's data (20,000
 * Fashion-MNIST training images, the 10,000 test images):
 *   node dist/bench/analyses.js [--run DIR --cycle N] [--rounds R] [--json] [--data synthetic]
 * - interpolate: one pair, 21 points, train loss on all 20k images and test on 10k (target < 5 s, one core)
 * - plane: 25×25 grid, train loss on the default 2048-image subset, test accuracy on 10k (target < 60 s, two cores)
 * - flatness: Hutchinson trace with 100 probes on the default 1024 images (target < 30 s); power
 *   iteration and sharpness at one step each, so the figure is the trace's cost
 * Interpolation and flatness run in this one thread (the engine computes on one core); the plane
 * shares its grid rows between this thread and one task thread (two cores). Models: with --run,
 * particles 0 and 1 (the one interpolated pair) and the average of cycle N of that run directory;
 * otherwise two seeded initialisations and their average, dense (the slowest case: the sparse
 * kernels only help pruned models). Figures are medians over --rounds rounds.
 */
import { parseArgs } from "node:util";
import { requireExperimentConfig, type ExperimentConfig } from "../schema/config.js";
import { packMask } from "../schema/mask-bits.js";
import type { AnalysisKind } from "../schema/analyses.js";
import { openRunDirectory } from "../worker/analyses/run-directory-models.js";
import { runAnalysis } from "../worker/analyses/registry.js";
import type { StoredModels } from "../worker/analyses/stored-models.js";
import { uniformAverage } from "../worker/engine/average.js";
import { initBackend } from "../worker/engine/backend.js";
import { denseMask } from "../worker/engine/mask.js";
import { ModelSession } from "../worker/engine/model-session.js";
import { loadDataset } from "../worker/run/local-run.js";

const { values: args } = parseArgs({
  options: {
    run: { type: "string" },
    cycle: { type: "string", default: "0" },
    rounds: { type: "string", default: "3" },
    data: { type: "string", default: "fashion-mnist" },
    json: { type: "boolean", default: false },
    only: { type: "string" },
  },
});

const TARGETS: Array<{ kind: AnalysisKind; label: string; input: (cycle: number) => Record<string, unknown>; targetSeconds: number; threads: number }> = [
  { kind: "interpolate", label: "interpolation, 21 points, 20k train / 10k test", input: (cycle) => ({ cycle, pairs: "particles", points: 21 }), targetSeconds: 5, threads: 1 },
  { kind: "plane", label: "plane 25×25, 2048 train / 10k test", input: (cycle) => ({ cycle, grid: 25 }), targetSeconds: 60, threads: 2 },
  { kind: "flatness", label: "Hutchinson trace, 100 probes, 1024 images", input: (cycle) => ({ cycle, probes: 100, powerIterations: 1, sharpnessSamples: 1 }), targetSeconds: 30, threads: 1 },
];

/** Two seeded initialisations of the config's model and their average, all of cycle 0. */
async function initialisedModels(config: ExperimentConfig): Promise<StoredModels> {
  const dataset = await loadDataset(config);
  const session = ModelSession.build(config, dataset.inputShape, dataset.numClasses);
  const particles = [session.initialWeights(1), session.initialWeights(2)];
  const mask = packMask(denseMask(session.layout));
  session.dispose();
  return {
    label: "initialised",
    config: { ...config, method: { ...config.method, particles: 2 } },
    completedCycles: async () => [0],
    maskBits: async () => mask,
    particle: async (_cycle, particle) => particles[particle]!,
    average: async () => uniformAverage(particles),
  };
}

/** The run seen as if it had trained particles 0 and 1 only, so "every pair of particles" is one pair. */
function firstTwoParticles(run: StoredModels): StoredModels {
  return {
    label: run.label,
    config: { ...run.config, method: { ...run.config.method, particles: 2 } },
    completedCycles: () => run.completedCycles(),
    maskBits: (cycle) => run.maskBits(cycle),
    particle: (cycle, particle) => run.particle(cycle, particle),
    average: (cycle) => run.average(cycle),
  };
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const cycle = Number(args.cycle);
  const source = args.run
    ? firstTwoParticles(await openRunDirectory(args.run))
    : await initialisedModels(
        requireExperimentConfig({ name: "bench-analyses", data: { name: args.data, trainSubset: 20_000 }, model: { name: "lenet-300-100" }, method: { name: "swamp", particles: 2 } }),
      );
  const dataset = await loadDataset(source.config);
  const rounds = Number(args.rounds);
  for (const target of TARGETS) {
    if (args.only && args.only !== target.kind) continue;
    const seconds: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      await runAnalysis(target.kind, target.input(cycle), [source], { dataset, threads: target.threads });
      seconds.push((performance.now() - started) / 1000);
    }
    const median = [...seconds].sort((a, b) => a - b)[Math.floor(seconds.length / 2)]!;
    const row = { bench: "analyses", kind: target.kind, label: target.label, models: source.label, cycle, backend: backend.name, rounds, medianSeconds: median, seconds, targetSeconds: target.targetSeconds };
    process.stdout.write(
      args.json
        ? `${JSON.stringify(row)}\n`
        : `${target.label} (${source.label} cycle ${cycle}, ${backend.name}): median ${median.toFixed(2)} s over ${rounds} (target < ${target.targetSeconds} s) [${seconds.map((s) => s.toFixed(2)).join(", ")}]\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
